// SPDX-License-Identifier: GPL-2.0

//! Signals across PID namespaces (see `Documentation/gpid.rst`, "Signals").
//!
//! - `GPID_IOC_SIGQUEUE`: `sigqueue(3)` to a target named by a gpid or a PID, with `si_pid`
//!   the sender's TGID in the receiver's namespace. Process targets go through the kernel's
//!   `kill_pid_usb_asyncio()` (group-wide queueing, LSM hook, `EAGAIN`), whose `SI_ASYNCIO`
//!   entry the `signal_generate` probe turns into `SI_QUEUE` before anyone can dequeue it;
//!   thread targets through `send_sig_info()`.
//! - Sender records: for a receiver that cannot see the sender, when the sender's namespace
//!   exports its gpids, a record the receiver takes with `GPID_IOC_SIGSENDER`.
//!
//! There is no transparent `si_pid` rewrite of other signals: on 7.x stock fills kill(2)'s
//! `si_pid` per receiver (`SEND_SIG_NOINFO`), and no other user-originated path can cross
//! upwards (`pidfd_send_signal()` refuses targets outside the caller's namespace, tkill and
//! sigqueue name only visible targets, which stock zeroes `si_pid` for): stock is right on
//! every path, so gpid leaves them all alone and the probe is armed only by `GPID_IOC_SIGQUEUE`.

use crate::{
    gpids::Gpids,
    quota::{self, Key},
    kernel_ext::{
        pid::{Pid, PidType},
        signal::{
            self, Generated, SignalGenerateProbe, SignalHandler, NSIG, SIGKILL, SIGSTOP,
        },
        task::Current,
        uapi,
    },
};
use core::{
    cell::Cell,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};
use kernel::{
    alloc::{flags::GFP_KERNEL, KVec},
    new_mutex, new_spinlock_irq,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex, SpinLockIrq},
};

/// How many sender records are kept at once (the oldest is dropped for a new one). One user
/// keeps at most its share (`quota_percent`) of them: past it, its own oldest goes.
const MAX_RECORDS: usize = 256;

/// Counters shown by `/proc/gpid/signals`. Updated from the probe: atomics only.
#[derive(Default)]
pub(crate) struct SignalStats {
    /// Signals queued through `GPID_IOC_SIGQUEUE`.
    pub(crate) sigqueued: AtomicU64,
    /// Sender records kept, taken by receivers, and dropped unread for newer ones.
    pub(crate) records: AtomicU64,
    pub(crate) records_taken: AtomicU64,
    pub(crate) records_dropped: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The sender of one signal, kept for a receiver that cannot see it.
struct Record {
    /// The receiving process (its thread-group pid).
    receiver: ARef<Pid>,
    sig: i32,
    value: u64,
    gpid: u32,
    seq: u64,
    /// Who sent it, for the share of records each user may keep (`quota::Key`).
    sender: Key,
}

/// State shared by the ioctls and the probe.
#[pin_data]
pub(crate) struct SignalState {
    pub(crate) stats: SignalStats,
    /// Sender records. Taken by the probe under a task's siglock, hence irq-safe.
    #[pin]
    records: SpinLockIrq<KVec<Option<Record>>>,
    next_seq: AtomicU64,
    next_token: AtomicU64,
}

/// One `GPID_IOC_SIGQUEUE` send, seen by the probe as its own event (same task, synchronously).
pub(crate) struct Request {
    value: u64,
    group: bool,
    /// The receiver, the sender's gpid and the sending user, when a record is to be kept.
    record: Cell<Option<(ARef<Pid>, u32, Key)>>,
    /// A record dropped to make room; released after the send, outside the probe.
    dropped: Cell<Option<Record>>,
}

/// The `signal_generate` probe.
struct Hook(Arc<SignalState>);

impl SignalHandler for Hook {
    type Request = Request;

    fn generated(&self, ev: &Generated<'_>, req: Option<&Request>) {
        let s = &*self.0;
        // Only our own sends; nothing to do when the signal was not queued (ignored, already
        // pending, queue full).
        let Some(req) = req else { return };
        let Some(mut q) = ev.queued() else { return };
        if req.group {
            q.make_sigqueue(req.value);
        }
        bump(&s.stats.sigqueued);
        if let Some((receiver, gpid, sender)) = req.record.take() {
            let record = Record {
                receiver,
                sig: ev.sig(),
                value: req.value,
                gpid,
                seq: s.next_seq.fetch_add(1, Ordering::Relaxed),
                sender,
            };
            req.dropped.set(s.keep(record));
        }
    }
}

impl SignalState {
    /// Keeps `record`; returns the one it replaced: the sender's own oldest when the sender
    /// holds its share, else the oldest of all when the table is full. So a user flooding
    /// records only ever drops its own once others hold the rest. Bounded: two passes over
    /// the table, under its lock.
    fn keep(&self, record: Record) -> Option<Record> {
        let share = quota::limit(MAX_RECORDS) as usize;
        let mut records = self.records.lock();
        bump(&self.stats.records);
        let sender = record.sender;
        let own = |r: &Option<Record>| r.as_ref().is_some_and(|r| r.sender == sender);
        let held = if sender.uid().is_none() { 0 } else { records.iter().filter(|r| own(r)).count() };
        let seq = |r: &Option<Record>| r.as_ref().map_or(0, |r| r.seq);
        let victim = if held >= share {
            records.iter_mut().filter(|r| own(r)).min_by_key(|r| seq(r))
        } else if let Some(free) = records.iter_mut().find(|r| r.is_none()) {
            *free = Some(record);
            return None;
        } else {
            records.iter_mut().min_by_key(|r| seq(r))
        }?;
        bump(&self.stats.records_dropped);
        victim.replace(record)
    }

    /// Takes the oldest record of `receiver` for `(sig, value)`.
    fn take(&self, receiver: &Pid, sig: i32, value: u64) -> Option<Record> {
        let mut records = self.records.lock();
        let slot = records
            .iter_mut()
            .filter(|r| {
                r.as_ref().is_some_and(|r| {
                    core::ptr::eq(&*r.receiver, receiver) && r.sig == sig && r.value == value
                })
            })
            .min_by_key(|r| r.as_ref().map_or(u64::MAX, |r| r.seq))?;
        bump(&self.stats.records_taken);
        slot.take()
    }
}

type Probe = SignalGenerateProbe<Hook>;

/// The signal features of the module.
#[pin_data]
pub(crate) struct Signals {
    /// The probe; `None` until the first `GPID_IOC_SIGQUEUE` arms it. First, so it goes before
    /// what it uses.
    #[pin]
    probe: Mutex<Option<Probe>>,
    armed: AtomicBool,
    available: bool,
    pub(crate) state: Arc<SignalState>,
}

impl Signals {
    pub(crate) fn new() -> Result<impl PinInit<Self>> {
        let mut records = KVec::with_capacity(MAX_RECORDS, GFP_KERNEL)?;
        for _ in 0..MAX_RECORDS {
            records.push(None, GFP_KERNEL)?;
        }
        let state = Arc::pin_init(
            pin_init!(SignalState {
                stats: SignalStats::default(),
                records <- new_spinlock_irq!(records, "gpid_signal_records"),
                next_seq: AtomicU64::new(1),
                next_token: AtomicU64::new(1),
            }),
            GFP_KERNEL,
        )?;
        Ok(pin_init!(Self {
            probe <- new_mutex!(None, "gpid_signal_probe"),
            armed: AtomicBool::new(false),
            available: signal::tracepoint_available(),
            state,
        }))
    }

    fn arm(&self) -> Result {
        if self.armed.load(Ordering::Acquire) {
            return Ok(());
        }
        if !self.available {
            return Err(EOPNOTSUPP);
        }
        let mut probe = self.probe.lock();
        if probe.is_none() {
            *probe = Some(SignalGenerateProbe::new(Hook(self.state.clone()))?);
            self.armed.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The `GPID_FEATURE_*` bits of this part.
    pub(crate) fn features(&self) -> u64 {
        let mut f = 0;
        if self.available {
            f |= uapi::GPID_FEATURE_SIGQUEUE;
            if !signal::security_enabled() {
                f |= uapi::GPID_FEATURE_SIGQUEUE_THREAD;
            }
        }
        f
    }

    /// Whether the probe is registered (for `/proc/gpid/signals`).
    pub(crate) fn armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }
}

/// `GPID_IOC_SIGQUEUE`.
pub(crate) fn sigqueue(gpids: &Gpids, a: &uapi::gpid_sigqueue) -> Result {
    const KNOWN: u32 = uapi::GPID_SIGQUEUE_GPID | uapi::GPID_SIGQUEUE_THREAD;
    if a.reserved != 0 || a.reserved2 != 0 || a.flags & !KNOWN != 0 {
        return Err(EINVAL);
    }
    if !(0..=NSIG).contains(&a.sig) {
        return Err(EINVAL);
    }
    let thread = a.flags & uapi::GPID_SIGQUEUE_THREAD != 0;
    let signals = &gpids.signals;
    // The target, the receiving process, and the record to keep for it.
    let (target, receiver, record_gpid) = Current::with(|cur| -> Result<_> {
        let viewer = cur.pid_ns();
        let nr = if a.flags & uapi::GPID_SIGQUEUE_GPID != 0 {
            gpids.decode(viewer, a.target)?
        } else {
            i32::try_from(a.target).ok().filter(|&n| n > 0).ok_or(EINVAL)?
        };
        let target = gpids.lookup_in_view(viewer, nr, PidType::Pid, |k| cur.pid(k))?;
        let receiver = gpids.lookup_in_view(viewer, nr, PidType::Tgid, |k| cur.pid(k))?;
        let sender = cur.pid(PidType::Tgid).ok_or(ESRCH)?;
        let receiver_ns = target.ns();
        // A receiver that can see the sender gets it in si_pid; one that cannot may learn its
        // gpid only where the sender's namespace exports it (gpid_for_observer).
        let record_gpid = if sender.nr_in(receiver_ns) == 0 {
            gpids.gpid_for_observer(receiver_ns, &sender)?
        } else {
            0
        };
        Ok((target, receiver, record_gpid))
    })?;
    let sig = a.sig;
    if sig == 0 || sig == SIGKILL || sig == SIGSTOP {
        // Nothing to carry a value to: kill(2)'s own path, with its exact rules.
        return signal::kill_pid(&target, sig);
    }
    signals.arm()?;
    let req = Request {
        value: a.value,
        group: !thread,
        // The sender's quota key is looked up only for a send that keeps a record.
        record: Cell::new((record_gpid != 0).then(|| (receiver, record_gpid, Key::current()))),
        dropped: Cell::new(None),
    };
    let by = signal::kill_permission(&target, sig)?;
    let result = if thread {
        // send_sig_info() asks no LSM: where one may be active, refuse rather than bypass it.
        if signal::security_enabled() {
            return Err(EOPNOTSUPP);
        }
        signal::send_thread::<Hook>(sig, &target, a.value, &req)
    } else {
        let token = signals.state.next_token.fetch_add(1, Ordering::Relaxed);
        signal::send_group::<Hook>(sig, &target, by, token, &req)
    };
    // Records the probe replaced, and the receiver reference when nothing was kept, are
    // released here, in process context.
    drop(req);
    result
}

/// `GPID_IOC_SIGSENDER`.
pub(crate) fn sigsender(gpids: &Gpids, a: &mut uapi::gpid_sigsender) -> Result {
    if a.flags != 0 || a.reserved != 0 || !(1..=NSIG).contains(&a.sig) {
        return Err(EINVAL);
    }
    let me = Current::with(|cur| cur.pid(PidType::Tgid)).ok_or(ESRCH)?;
    let record = gpids.signals.state.take(&me, a.sig, a.value).ok_or(ENOENT)?;
    a.gpid = record.gpid;
    a.seq = record.seq;
    Ok(())
}
