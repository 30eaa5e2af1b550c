// SPDX-License-Identifier: GPL-2.0

//! SysV message queues: the last sender and receiver of every queue, as counted `struct pid`
//! references, observed from outside (`struct msg_queue` is private to ipc/msg.c).
//!
//! Kretprobes watch the syscalls' results: `ksys_msgsnd` (success: the caller's thread group
//! is the last sender), `ksys_msgrcv` (success without `MSG_COPY`: the last receiver, always
//! the thread group, also when the kernel's direct hand-off recorded the receiving thread),
//! `newque` (a new queue: nothing sent or received yet) and `freeque` (`IPC_RMID` and IPC
//! namespace teardown: the record is dropped). Records are keyed by (IPC namespace, msqid);
//! a msqid carries a sequence number, so a queue removed and re-created does not reuse it, and
//! `newque` replaces any stale record anyway.
//!
//! Limits: a record is updated when the syscall returns, not under the queue lock, so
//! concurrent operations may be recorded in a different order than the kernel applied them;
//! a receive completes (and is recorded) when the receiver returns from `msgrcv`, slightly
//! after a direct hand-off. Queues that existed before the module was loaded report
//! `GPID_MSQ_UNKNOWN` until their next operation.

use crate::{
    gpid_core::ipcperm,
    gpids::Gpids,
    kernel_ext::{
        ipc::{current_euid, current_in_group, current_msq_perm, perm_id, IpcNsKey, MSG_COPY},
        kretprobes::{KretprobeHandler, KretprobeRegistration, Regs},
        pid::{Pid, PidType},
        pid_namespace::PidNamespace,
        task::Current,
        uapi,
    },
};
use core::{
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    alloc::{flags::GFP_ATOMIC, KBox, KVec},
    c_str, new_spinlock,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{Arc, SpinLock},
    types::ARef,
};

/// What is known about one side of a queue.
#[derive(Clone)]
pub(crate) enum Party {
    /// Nothing observed since load.
    Unknown,
    /// Observed: no such operation yet.
    None,
    /// The last party's thread group.
    Known(ARef<Pid>),
}

#[derive(Clone)]
struct Record {
    sender: Party,
    receiver: Party,
}

type Key = (IpcNsKey, i32);

/// Counters shown by `/proc/gpid/msq`.
#[derive(Default)]
struct MsqStats {
    sends: AtomicU64,
    receives: AtomicU64,
    created: AtomicU64,
    removed: AtomicU64,
    /// Records that could not be stored (no memory in atomic context).
    dropped: AtomicU64,
    /// Times missed probe calls made records unknown.
    forgotten: AtomicU64,
}

/// The records, shared by the probes and the ioctl.
#[pin_data]
pub(crate) struct MsqState {
    /// Protected by its spinlock; nothing is dropped or allocated under it.
    #[pin]
    records: SpinLock<RBTree<Key, Record>>,
    stats: MsqStats,
}

impl MsqState {
    /// Makes the calling task's thread group one side of `key`'s record
    /// (`Party::Unknown` for the other side when new).
    fn set_current(&self, key: Key, sender_side: bool) {
        Current::with(|current| {
            let me = current.pid_ref(PidType::Tgid);
            let old = {
                let mut records = self.records.lock();
                match records.get_mut(&key) {
                    Some(rec) => {
                        let slot = if sender_side { &mut rec.sender } else { &mut rec.receiver };
                        if matches!(slot, Party::Known(p) if core::ptr::eq(&**p, me)) {
                            // The same party again (a ping-pong): no reference traffic.
                            return;
                        }
                        Some(core::mem::replace(slot, Party::Known(ARef::from(me))))
                    }
                    None => {
                        drop(records);
                        let party = Party::Known(ARef::from(me));
                        let rec = if sender_side {
                            Record { sender: party, receiver: Party::Unknown }
                        } else {
                            Record { sender: Party::Unknown, receiver: party }
                        };
                        self.insert(key, rec);
                        None
                    }
                }
            };
            // Released outside the lock: the last `put_pid` may free a namespace.
            drop(old);
        })
    }

    /// Inserts `rec` for `key`, replacing any record (a stale one for a reused id).
    fn insert(&self, key: Key, rec: Record) {
        let Ok(node) = RBTreeNode::new(key, rec, GFP_ATOMIC) else {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let old = self.records.lock().insert(node);
        drop(old);
    }

    fn remove(&self, key: Key) {
        let old = self.records.lock().remove(&key);
        if old.is_some() {
            self.stats.removed.fetch_add(1, Ordering::Relaxed);
        }
        drop(old);
    }

    fn get(&self, key: Key) -> Option<Record> {
        self.records.lock().get(&key).cloned()
    }
}

struct SendHook(Arc<MsqState>);

impl KretprobeHandler for SendHook {
    type Data = i32;

    fn entry(regs: &Regs) -> Option<i32> {
        Some(regs.arg(0) as i32)
    }

    fn ret(&self, msqid: i32, regs: &Regs) {
        if regs.ret() == 0 {
            self.0.stats.sends.fetch_add(1, Ordering::Relaxed);
            self.0.set_current((IpcNsKey::current(), msqid), true);
        }
    }
}

struct ReceiveHook(Arc<MsqState>);

impl KretprobeHandler for ReceiveHook {
    type Data = i32;

    fn entry(regs: &Regs) -> Option<i32> {
        // MSG_COPY peeks without receiving: the kernel does not update msg_lrpid for it.
        (regs.arg(4) & u64::from(MSG_COPY) == 0).then_some(regs.arg(0) as i32)
    }

    fn ret(&self, msqid: i32, regs: &Regs) {
        // Without MSG_COPY the only EFAULT comes from copying the message out, after the
        // kernel took it off the queue and recorded the receiver: it counts as a receive.
        let ret = regs.ret();
        if ret >= 0 || ret == -i64::from(kernel::bindings::EFAULT) {
            self.0.stats.receives.fetch_add(1, Ordering::Relaxed);
            self.0.set_current((IpcNsKey::current(), msqid), false);
        }
    }
}

/// `newque(ns, params)` returns the new queue's id.
struct CreateHook(Arc<MsqState>);

impl KretprobeHandler for CreateHook {
    type Data = u64;

    fn entry(regs: &Regs) -> Option<u64> {
        Some(regs.arg(0))
    }

    fn ret(&self, ns: u64, regs: &Regs) {
        if let Ok(id) = i32::try_from(regs.ret()) {
            if id >= 0 {
                self.0.stats.created.fetch_add(1, Ordering::Relaxed);
                self.0.insert(
                    (IpcNsKey::from_raw(ns), id),
                    Record { sender: Party::None, receiver: Party::None },
                );
            }
        }
    }
}

/// `freeque(ns, ipcp)`: the queue is gone (IPC_RMID or namespace teardown).
struct FreeHook(Arc<MsqState>);

impl KretprobeHandler for FreeHook {
    type Data = (u64, i32);

    fn entry(regs: &Regs) -> Option<(u64, i32)> {
        Some((regs.arg(0), perm_id(regs.arg(1))))
    }

    fn ret(&self, (ns, id): (u64, i32), _regs: &Regs) {
        self.0.remove((IpcNsKey::from_raw(ns), id));
    }
}

/// How many calls of one probed function may be in flight at once (blocked msgrcv callers
/// count); beyond that a call is missed, and its record stays as it was.
const MAX_ACTIVE: i32 = 256;

type Probe<H> = Pin<KBox<KretprobeRegistration<H>>>;

/// Which recorded facts a missed call of one probe makes stale.
#[derive(Copy, Clone)]
enum Stale {
    Senders,
    Receivers,
    Everything,
}

/// The probes and the records.
pub(crate) struct Msq {
    // Probes first: they are unregistered before the records go away.
    _probes: (Probe<SendHook>, Probe<ReceiveHook>, Probe<CreateHook>, Probe<FreeHook>),
    state: Arc<MsqState>,
    /// Missed calls of each probe already accounted for (send, receive, create, free).
    seen_missed: [AtomicU64; 4],
}

impl Msq {
    /// A probe that missed calls (all its instances busy: more callers blocked in the probed
    /// function than `MAX_ACTIVE`, or a probe already running on the CPU) may have missed an
    /// operation, so the facts it maintains can no longer be reported as facts: they become
    /// `Party::Unknown` (or are dropped), until the next observed operation.
    fn forget_after_misses(&self) {
        let (send, receive, create, free) = &self._probes;
        let missed = [send.missed(), receive.missed(), create.missed(), free.missed()];
        let stale = [Stale::Senders, Stale::Receivers, Stale::Everything, Stale::Everything];
        for ((now, seen), stale) in missed.iter().zip(self.seen_missed.iter()).zip(stale) {
            if seen.swap(*now, Ordering::Relaxed) == *now {
                continue;
            }
            self.state.stats.forgotten.fetch_add(1, Ordering::Relaxed);
            // References are released after the lock (the last `put_pid` may free a
            // namespace); one that cannot be queued for that is released in place.
            let mut released: KVec<Party> = KVec::new();
            let old_tree = {
                let mut records = self.state.records.lock();
                match stale {
                    Stale::Everything => Some(core::mem::take(&mut *records)),
                    Stale::Senders | Stale::Receivers => {
                        for (_, rec) in records.iter_mut() {
                            let side = match stale {
                                Stale::Senders => &mut rec.sender,
                                _ => &mut rec.receiver,
                            };
                            let old = core::mem::replace(side, Party::Unknown);
                            // On failure `push` releases `old` itself, under the lock.
                            let _ = released.push(old, GFP_ATOMIC);
                        }
                        None
                    }
                }
            };
            drop(old_tree);
            drop(released);
        }
    }

    pub(crate) fn new() -> Result<Self> {
        let state = Arc::pin_init(
            pin_init!(MsqState {
                records <- new_spinlock!(RBTree::new(), "gpid_msq_records"),
                stats: MsqStats::default(),
            }),
            kernel::alloc::flags::GFP_KERNEL,
        )?;
        // Lifetime probes first, so no queue is created or removed unseen once the operation
        // probes record anything.
        let create = KretprobeRegistration::new(c_str!("newque"), MAX_ACTIVE, CreateHook(state.clone()))?;
        let free = KretprobeRegistration::new(c_str!("freeque"), MAX_ACTIVE, FreeHook(state.clone()))?;
        let send = KretprobeRegistration::new(c_str!("ksys_msgsnd"), MAX_ACTIVE, SendHook(state.clone()))?;
        let receive =
            KretprobeRegistration::new(c_str!("ksys_msgrcv"), MAX_ACTIVE, ReceiveHook(state.clone()))?;
        Ok(Self {
            _probes: (send, receive, create, free),
            state,
            seen_missed: Default::default(),
        })
    }

    /// What `GPID_IOC_MSQ` reports for `msqid` to the caller.
    pub(crate) fn query(&self, gpids: &Gpids, a: &mut uapi::gpid_msq) -> Result {
        if a.flags != 0 || a.reserved != 0 || a.reserved2 != 0 {
            return Err(EINVAL);
        }
        self.forget_after_misses();
        let (perm, cap) = current_msq_perm(a.msqid).ok_or(EINVAL)?;
        if !ipcperm::allowed(&perm, ipcperm::READ, current_euid(), current_in_group, cap) {
            return Err(EACCES);
        }
        let rec = self.state.get((IpcNsKey::current(), a.msqid));
        let (sender, receiver) = match &rec {
            Some(r) => (&r.sender, &r.receiver),
            None => (&Party::Unknown, &Party::Unknown),
        };
        Current::with(|current| {
            let viewer = current.pid_ns();
            (a.sender_state, a.sender_pid, a.sender_gpid) = describe(gpids, viewer, sender)?;
            (a.receiver_state, a.receiver_pid, a.receiver_gpid) = describe(gpids, viewer, receiver)?;
            Ok(())
        })
    }

    /// Calls `f(msqid, sender, receiver)` for every recorded queue of the caller's IPC
    /// namespace that the caller may read.
    pub(crate) fn for_each_readable(&self, mut f: impl FnMut(i32, &Party, &Party)) -> Result {
        self.forget_after_misses();
        let ns = IpcNsKey::current();
        let mut mine: KVec<(i32, Record)> = KVec::new();
        {
            let records = self.state.records.lock();
            for (&(key_ns, msqid), rec) in records.iter() {
                if key_ns == ns {
                    mine.push((msqid, rec.clone()), GFP_ATOMIC)?;
                }
            }
        }
        for (msqid, rec) in mine.iter() {
            let Some((perm, cap)) = current_msq_perm(*msqid) else {
                continue;
            };
            if ipcperm::allowed(&perm, ipcperm::READ, current_euid(), current_in_group, cap) {
                f(*msqid, &rec.sender, &rec.receiver);
            }
        }
        Ok(())
    }

    pub(crate) fn stats(&self) -> [(&'static str, u64); 6] {
        let s = &self.state.stats;
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        [
            ("sends", l(&s.sends)),
            ("receives", l(&s.receives)),
            ("created", l(&s.created)),
            ("removed", l(&s.removed)),
            ("dropped", l(&s.dropped)),
            ("forgotten", l(&s.forgotten)),
        ]
    }
}

/// `(state, pid in the viewer's namespace, gpid the viewer may learn)` for one side.
pub(crate) fn describe(gpids: &Gpids, viewer: &PidNamespace, party: &Party) -> Result<(u32, i32, u32)> {
    Ok(match party {
        Party::Unknown => (uapi::GPID_MSQ_UNKNOWN, 0, 0),
        Party::None => (uapi::GPID_MSQ_NONE, 0, 0),
        Party::Known(pid) => (
            uapi::GPID_MSQ_PARTY,
            pid.nr_in(viewer),
            gpids.gpid_for_observer(viewer, pid)?,
        ),
    })
}
