// SPDX-License-Identifier: GPL-2.0

//! SysV message queues: who last sent to and received from each queue.
//!
//! The kernel keeps the answer already: every `struct msg_queue` holds counted `struct pid`
//! references to its last sender (`q_lspid`) and receiver (`q_lrpid`), updated under the queue
//! lock, and `msgctl(IPC_STAT)` translates them with `pid_vnr` (0 when invisible). gpid reads
//! the same two references under the same lock when asked (`struct msg_queue` is private to
//! ipc/msg.c: helpers.c reads it through the definition Kbuild copies from that file). So
//! `msgsnd` and `msgrcv` run unprobed, and the answer is the kernel's own, in its own order.
//!
//! Two things the kernel's record does not say, gpid notes itself:
//!
//! - The direct hand-off (a receiver already asleep in `msgrcv` when a message arrives) records
//!   the receiving thread; every other path records the thread group. While the thread lives,
//!   its group is one lookup away. For when it has exited, a `sched_process_exit` probe notes,
//!   for an exiting non-leader thread that some queue of its IPC namespace still names as last
//!   receiver, the thread group it belonged to.
//! - Queues older than the module report `GPID_MSQ_UNKNOWN` on each side until that side's
//!   next operation: nothing that happened before gpid was there is presented as a fact. At
//!   load the kernel's record of every queue of every IPC namespace is kept (the pids counted,
//!   so their addresses stay unique); a side is known from the moment its record differs, in
//!   party or in time, from what was kept. No operation is probed for that either.
//!
//! Notes are keyed by (IPC namespace, msqid). A msqid carries a sequence number, so a queue
//! removed and re-created does not reuse it; a kretprobe on `freeque` (`IPC_RMID` and IPC
//! namespace teardown) drops a removed queue's notes.

use crate::{
    gpid_core::ipcperm,
    gpids::Gpids,
    kernel_ext::{
        ipc::{
            current_euid, current_in_group, current_ipc_owner_capable, current_msq, current_msqids,
            current_msqs_received_by, for_each_msq_everywhere, perm_id, IpcNsKey, MsqRecord,
        },
        kretprobes::{KretprobeHandler, KretprobeRegistration, Regs},
        pid::{Pid, PidType},
        pid_namespace::PidNamespace,
        rcu,
        task::Current,
        task_exit::{ExitingTask, TaskExitHandler, TaskExitProbe},
        uapi,
    },
};
use core::{
    pin::Pin,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};
use kernel::{
    alloc::{
        flags::{GFP_ATOMIC, GFP_KERNEL},
        Flags, KBox, KVVec,
    },
    c_str, new_spinlock,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{Arc, SpinLock},
    sync::aref::ARef,
};

/// What is known about one side of a queue.
pub(crate) enum Party {
    /// The queue is older than the module and this side has not operated since.
    Unknown,
    /// No such operation yet.
    None,
    /// The last party's thread group.
    Known(ARef<Pid>),
}

/// An exited hand-off receiver thread, and the thread group it belonged to.
#[derive(Clone)]
struct Handoff {
    thread: ARef<Pid>,
    group: ARef<Pid>,
}

/// One side of a queue older than the module, as the kernel's record stood at load.
struct AtLoad {
    /// Counted, so that no other `struct pid` can take its address while this is kept.
    party: Option<ARef<Pid>>,
    time: i64,
}

impl AtLoad {
    /// Whether `party` and `time`, the side's record now, show an operation since load. One by
    /// the same party within the same second as the last one before the load does not show.
    fn changed(&self, party: Option<&ARef<Pid>>, time: i64) -> bool {
        let addr = |p: Option<&ARef<Pid>>| p.map_or(core::ptr::null(), |p| core::ptr::from_ref::<Pid>(p));
        addr(self.party.as_ref()) != addr(party) || self.time != time
    }
}

/// What gpid knows about one queue beyond the kernel's record.
#[derive(Default)]
struct Note {
    /// Older than the module, and no send shows since: the sender side at load.
    older_sender: Option<AtLoad>,
    /// Older than the module, and no receive shows since: the receiver side at load.
    older_receiver: Option<AtLoad>,
    /// Set when a thread the queue names as last receiver exits.
    handoff: Option<Handoff>,
    /// The queue was found live after the load had put every note in.
    live_after_load: bool,
}

impl Note {
    fn is_empty(&self) -> bool {
        self.older_sender.is_none() && self.older_receiver.is_none() && self.handoff.is_none()
    }
}

/// A queue's sides as gpid reports them: unknown, or the kernel's record (plus the hand-off
/// note that goes with it).
struct Settled {
    unknown_sender: bool,
    unknown_receiver: bool,
    handoff: Option<Handoff>,
}

type Key = (IpcNsKey, i32);

/// Counters shown by `/proc/gpid/msq`.
#[derive(Default)]
struct MsqStats {
    /// Queues that existed when the module was loaded.
    older_queues: AtomicU64,
    /// Their sides found operated since (when read).
    older_sides_known: AtomicU64,
    /// Queue removals seen (`freeque`).
    removed: AtomicU64,
    /// Exiting threads whose IPC namespace's queues were searched for their pid.
    exit_scans: AtomicU64,
    /// Hand-off receivers noted at their exit.
    handoffs: AtomicU64,
    /// Notes that could not be stored (no memory in atomic context).
    dropped: AtomicU64,
    /// Queues older than the module that were removed while it loaded, between the walk that
    /// found them and their notes going in: their notes are taken out again.
    removed_during_load: AtomicU64,
}

/// The notes, shared by the probes and the readers.
#[pin_data]
pub(crate) struct MsqState {
    /// Protected by its spinlock; no pid reference is released under it (the last `put_pid`
    /// may free a namespace).
    #[pin]
    notes: SpinLock<RBTree<Key, Note>>,
    /// A hand-off note could not be stored, so a dead receiver without one may be a thread.
    lost_handoff: AtomicBool,
    stats: MsqStats,
}

impl MsqState {
    /// Applies `update` to `key`'s note, made from the default when there is none; `update`
    /// returns what it replaced, released here after the lock.
    fn upsert<T>(&self, key: Key, gfp: Flags, update: impl Fn(&mut Note) -> T) -> Result {
        let mut fresh = Note::default();
        update(&mut fresh);
        // Allocated before the lock; unused when the note exists.
        let node = RBTreeNode::new(key, fresh, gfp)?;
        let (spare, replaced) = {
            let mut notes = self.notes.lock();
            match notes.get_mut(&key) {
                Some(note) => (Some(node), Some(update(note))),
                None => (notes.insert(node), None),
            }
        };
        drop((spare, replaced));
        Ok(())
    }

    /// What the kernel's `record` of `key` shows: a side older than the module stays unknown
    /// until its record changes, and from then on is known for good.
    fn settle(&self, key: Key, record: &MsqRecord) -> Settled {
        let mut known: [Option<AtLoad>; 2] = [None, None];
        let (settled, emptied) = {
            let mut notes = self.notes.lock();
            let Some(note) = notes.get_mut(&key) else {
                return Settled { unknown_sender: false, unknown_receiver: false, handoff: None };
            };
            let sides = [
                (&mut note.older_sender, record.sender.as_ref(), record.send_time),
                (&mut note.older_receiver, record.receiver.as_ref(), record.receive_time),
            ];
            for ((side, party, time), slot) in sides.into_iter().zip(known.iter_mut()) {
                if side.as_ref().is_some_and(|at_load| at_load.changed(party, time)) {
                    *slot = side.take();
                    self.stats.older_sides_known.fetch_add(1, Ordering::Relaxed);
                }
            }
            let settled = Settled {
                unknown_sender: note.older_sender.is_some(),
                unknown_receiver: note.older_receiver.is_some(),
                handoff: note.handoff.clone(),
            };
            let emptied = if note.is_empty() { notes.remove(&key) } else { None };
            (settled, emptied)
        };
        drop((known, emptied));
        settled
    }

    /// The queue `key` is gone.
    fn forget(&self, key: Key) {
        self.stats.removed.fetch_add(1, Ordering::Relaxed);
        let old = self.notes.lock().remove(&key);
        drop(old);
    }

    /// The thread group of `pid`, the kernel's last receiver, with the queue's hand-off note:
    /// `pid` is a thread group on every path but the hand-off, which records the thread.
    fn receiver_group(&self, pid: ARef<Pid>, handoff: Option<&Handoff>) -> Party {
        {
            let rcu = rcu::read_lock();
            if let Some(group) = pid.task_pid(PidType::Tgid, &rcu) {
                return Party::Known(group);
            }
        }
        match handoff {
            Some(h) if core::ptr::eq(&*h.thread, &*pid) => Party::Known(h.group.clone()),
            // A dead pid without a note is a thread group that is gone, unless a note was lost.
            _ if self.lost_handoff.load(Ordering::Relaxed) => Party::Unknown,
            _ => Party::Known(pid),
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
        self.0.forget((IpcNsKey::from_raw(ns), id));
    }
}

/// At a thread's exit: the queues that name it as their last receiver (a hand-off) learn its
/// thread group, which they could not find once it is gone.
struct ExitScan(Arc<MsqState>);

impl TaskExitHandler for ExitScan {
    fn exiting(&self, task: &ExitingTask<'_>) {
        // Only a non-leader thread's pid differs from its group's, and a queue naming it holds
        // a reference to it: anything else returns here.
        let Some(thread) = task.held_thread_pid() else {
            return;
        };
        self.0.stats.exit_scans.fetch_add(1, Ordering::Relaxed);
        let ns = IpcNsKey::current();
        Current::with(|current| {
            let group = current.pid_ref(PidType::Tgid);
            // Under the queue's lock: the note is in before the queue can be removed, so the
            // removal's `forget` finds it.
            current_msqs_received_by(thread, |msqid| {
                let noted = self.0.upsert((ns, msqid), GFP_ATOMIC, |note| {
                    let h = Handoff { thread: ARef::from(thread), group: ARef::from(group) };
                    note.handoff.replace(h)
                });
                let counter = match noted {
                    Ok(()) => &self.0.stats.handoffs,
                    Err(_) => {
                        self.0.lost_handoff.store(true, Ordering::Relaxed);
                        &self.0.stats.dropped
                    }
                };
                counter.fetch_add(1, Ordering::Relaxed);
            });
        });
    }
}

/// How many `freeque` calls may be in flight at once; beyond that one is missed and its
/// notes stay until unload.
const MAX_ACTIVE: i32 = 64;

/// The probes and the notes.
pub(crate) struct Msq {
    /// `None` without the `sched_process_exit` tracepoint: then no hand-off note is ever
    /// kept, and a dead receiver reads as unknown (`lost_handoff`).
    _exit: Option<TaskExitProbe<ExitScan>>,
    _free: Pin<KBox<KretprobeRegistration<FreeHook>>>,
    state: Arc<MsqState>,
}

impl Msq {
    pub(crate) fn new() -> Result<Self> {
        let state = Arc::pin_init(
            pin_init!(MsqState {
                notes <- new_spinlock!(RBTree::new(), "gpid_msq_notes"),
                lost_handoff: AtomicBool::new(false),
                stats: MsqStats::default(),
            }),
            GFP_KERNEL,
        )?;
        let free = KretprobeRegistration::new(c_str!("freeque"), MAX_ACTIVE, FreeHook(state.clone()))?;
        let exit = match TaskExitProbe::new(ExitScan(state.clone())) {
            Ok(probe) => Some(probe),
            Err(e) if e == ENOENT => {
                state.lost_handoff.store(true, Ordering::Relaxed);
                None
            }
            Err(e) => return Err(e),
        };
        let this = Self { _exit: exit, _free: free, state };
        this.note_older_queues()?;
        Ok(this)
    }

    /// Keeps the kernel's record of every existing queue: both its sides are unknown until
    /// the record changes.
    fn note_older_queues(&self) -> Result {
        // The walk runs under RCU, where nothing large can be allocated: count, reserve
        // (vmalloc if need be), then fill; again if queues were created in between.
        let mut older: KVVec<(Key, MsqRecord)> = KVVec::new();
        loop {
            let mut count = 0usize;
            for_each_msq_everywhere(|_, _, _| count += 1)?;
            older.reserve(count.saturating_add(16), GFP_KERNEL)?;
            let mut overflow = false;
            for_each_msq_everywhere(|ns, msqid, record| {
                if older.len() < older.capacity() {
                    // Within capacity: `push` does not allocate.
                    overflow |= older.push(((ns, msqid), record), GFP_ATOMIC).is_err();
                } else {
                    overflow = true;
                }
            })?;
            if !overflow {
                break;
            }
            older = KVVec::new();
        }
        self.state.stats.older_queues.store(older.len() as u64, Ordering::Relaxed);
        for (key, record) in older.into_iter() {
            let (sender, receiver) = (record.sender, record.receiver);
            self.state.upsert(key, GFP_KERNEL, |note| {
                note.older_sender = Some(AtLoad { party: sender.clone(), time: record.send_time });
                note.older_receiver =
                    Some(AtLoad { party: receiver.clone(), time: record.receive_time });
            })?;
        }
        self.forget_removed_during_load()
    }

    /// A queue removed after the walk above found it and before its note went in was
    /// forgotten (`freeque`) before there was anything to forget: its note would keep its
    /// `struct pid` references until unload. Every note is in now, so a queue removed from
    /// here on finds its note. A second walk marks the notes of the queues it finds live
    /// (under each queue's lock, `deleted` checked, after the note went in); the unmarked
    /// notes of the load are of queues removed already, and go.
    fn forget_removed_during_load(&self) -> Result {
        let notes = &self.state.notes;
        for_each_msq_everywhere(|ns, msqid, _record| {
            if let Some(note) = notes.lock().get_mut(&(ns, msqid)) {
                note.live_after_load = true;
            }
        })?;
        const BATCH: usize = 16;
        loop {
            let mut gone: [Option<Note>; BATCH] = Default::default();
            let mut n = 0;
            {
                let mut notes = notes.lock();
                let mut keys: [Option<Key>; BATCH] = [None; BATCH];
                let stale = notes.iter().filter(|(_, note)| {
                    !note.live_after_load && (note.older_sender.is_some() || note.older_receiver.is_some())
                });
                for ((key, _), slot) in stale.zip(keys.iter_mut()) {
                    *slot = Some(*key);
                    n += 1;
                }
                for (key, out) in keys.iter().flatten().zip(gone.iter_mut()) {
                    *out = notes.remove(key);
                }
            }
            self.state.stats.removed_during_load.fetch_add(n as u64, Ordering::Relaxed);
            // The notes' pid references are released here, with the lock dropped.
            drop(gone);
            if n < BATCH {
                return Ok(());
            }
        }
    }

    /// The last sender and receiver of the queue `msqid` of the caller's IPC namespace, for a
    /// caller that may read it: EINVAL without such a queue, EACCES without read permission,
    /// as `msgctl(IPC_STAT)`.
    fn parties(&self, msqid: i32) -> Result<(Party, Party)> {
        let msq = current_msq(msqid).ok_or(EINVAL)?;
        if !ipcperm::allowed(&msq.perm, ipcperm::READ, current_euid(), current_in_group, current_ipc_owner_capable) {
            return Err(EACCES);
        }
        let record = msq.record;
        let settled = self.state.settle((IpcNsKey::current(), msqid), &record);
        let sender = match record.sender {
            _ if settled.unknown_sender => Party::Unknown,
            None => Party::None,
            Some(pid) => Party::Known(pid),
        };
        let receiver = match record.receiver {
            _ if settled.unknown_receiver => Party::Unknown,
            None => Party::None,
            Some(pid) => self.state.receiver_group(pid, settled.handoff.as_ref()),
        };
        Ok((sender, receiver))
    }

    /// What `GPID_IOC_MSQ` reports for `msqid` to the caller.
    pub(crate) fn query(&self, gpids: &Gpids, a: &mut uapi::gpid_msq) -> Result {
        if a.flags != 0 || a.reserved != 0 || a.reserved2 != 0 {
            return Err(EINVAL);
        }
        let (sender, receiver) = self.parties(a.msqid)?;
        Current::with(|current| {
            let viewer = current.pid_ns();
            (a.sender_state, a.sender_pid, a.sender_gpid) = describe(gpids, viewer, &sender)?;
            (a.receiver_state, a.receiver_pid, a.receiver_gpid) = describe(gpids, viewer, &receiver)?;
            Ok(())
        })
    }

    /// Calls `f(msqid, sender, receiver)` for every queue of the caller's IPC namespace that
    /// the caller may read.
    pub(crate) fn for_each_readable(&self, mut f: impl FnMut(i32, &Party, &Party)) -> Result {
        for &msqid in current_msqids()?.iter() {
            if let Ok((sender, receiver)) = self.parties(msqid) {
                f(msqid, &sender, &receiver);
            }
        }
        Ok(())
    }

    pub(crate) fn stats(&self) -> [(&'static str, u64); 8] {
        let s = &self.state.stats;
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let notes = self.state.notes.lock().iter().count() as u64;
        [
            ("older_queues", l(&s.older_queues)),
            ("older_sides_known", l(&s.older_sides_known)),
            ("removed", l(&s.removed)),
            ("exit_scans", l(&s.exit_scans)),
            ("handoffs", l(&s.handoffs)),
            ("dropped", l(&s.dropped)),
            ("removed_during_load", l(&s.removed_during_load)),
            ("notes", notes),
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
