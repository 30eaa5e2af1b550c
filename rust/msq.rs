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
//!   next operation: nothing gpid did not see happen is presented as a fact. At load the queues
//!   of every IPC namespace are listed; if there are any, kretprobes on `ksys_msgsnd` and
//!   `ksys_msgrcv` watch for their next operations, and are removed once no side is unknown.
//!
//! Notes are keyed by (IPC namespace, msqid). A msqid carries a sequence number, so a queue
//! removed and re-created does not reuse it; a kretprobe on `freeque` (`IPC_RMID` and IPC
//! namespace teardown) drops a removed queue's notes.

use crate::{
    gpid_core::ipcperm,
    gpids::Gpids,
    kernel_ext::{
        deferred::{DeferredHandler, DeferredWork},
        ipc::{
            current_euid, current_in_group, current_msq_parties, current_msq_perm, current_msqids,
            current_msqs_received_by, for_each_msq_everywhere, perm_id, IpcNsKey, MSG_COPY,
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
    sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
};
use kernel::{
    alloc::{
        flags::{GFP_ATOMIC, GFP_KERNEL},
        Flags, KBox, KVec,
    },
    c_str, new_mutex, new_spinlock,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{Arc, Mutex, SpinLock},
    types::ARef,
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

/// What gpid knows about one queue beyond the kernel's record.
#[derive(Clone, Default)]
struct Note {
    /// Older than the module, no send seen since.
    unknown_sender: bool,
    /// Older than the module, no receive seen since.
    unknown_receiver: bool,
    /// Set when a thread the queue names as last receiver exits.
    handoff: Option<Handoff>,
}

impl Note {
    fn unknown_sides(&self) -> usize {
        usize::from(self.unknown_sender) + usize::from(self.unknown_receiver)
    }

    fn is_empty(&self) -> bool {
        self.unknown_sides() == 0 && self.handoff.is_none()
    }
}

type Key = (IpcNsKey, i32);

/// Counters shown by `/proc/gpid/msq`.
#[derive(Default)]
struct MsqStats {
    /// Queues that existed when the module was loaded.
    older_queues: AtomicU64,
    /// Operations seen on their unknown sides.
    older_ops: AtomicU64,
    /// Queue removals seen (`freeque`).
    removed: AtomicU64,
    /// Exiting threads whose IPC namespace's queues were searched for their pid.
    exit_scans: AtomicU64,
    /// Hand-off receivers noted at their exit.
    handoffs: AtomicU64,
    /// Notes that could not be stored (no memory in atomic context).
    dropped: AtomicU64,
}

/// The notes, shared by the probes and the readers.
#[pin_data]
pub(crate) struct MsqState {
    /// Protected by its spinlock; no pid reference is released under it (the last `put_pid`
    /// may free a namespace).
    #[pin]
    notes: SpinLock<RBTree<Key, Note>>,
    /// How many sides the notes hold as unknown: written under the `notes` lock, read without.
    unknown_sides: AtomicUsize,
    /// A hand-off note could not be stored, so a dead receiver without one may be a thread.
    lost_handoff: AtomicBool,
    stats: MsqStats,
}

impl MsqState {
    /// Applies `update` to `key`'s note, made from the default when there is none; `update`
    /// returns what it replaced, released here after the lock.
    fn upsert(&self, key: Key, gfp: Flags, update: impl Fn(&mut Note) -> Option<Handoff>) -> Result {
        let mut fresh = Note::default();
        update(&mut fresh);
        let fresh_unknown = fresh.unknown_sides();
        // Allocated before the lock; unused when the note exists.
        let node = RBTreeNode::new(key, fresh, gfp)?;
        let (spare, replaced) = {
            let mut notes = self.notes.lock();
            match notes.get_mut(&key) {
                Some(note) => {
                    let before = note.unknown_sides();
                    let replaced = update(note);
                    self.unknown_sides.fetch_add(note.unknown_sides(), Ordering::Relaxed);
                    self.unknown_sides.fetch_sub(before, Ordering::Relaxed);
                    (Some(node), replaced)
                }
                None => {
                    self.unknown_sides.fetch_add(fresh_unknown, Ordering::Relaxed);
                    (notes.insert(node), None)
                }
            }
        };
        drop((spare, replaced));
        Ok(())
    }

    /// A `side` operation on `key` completed: that side is no longer unknown. Returns whether
    /// it was the last unknown side of all.
    fn observed(&self, key: Key, sender_side: bool) -> bool {
        if self.unknown_sides.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let (emptied, last) = {
            let mut notes = self.notes.lock();
            let Some(note) = notes.get_mut(&key) else {
                return false;
            };
            let flag = if sender_side { &mut note.unknown_sender } else { &mut note.unknown_receiver };
            if !core::mem::replace(flag, false) {
                return false;
            }
            self.stats.older_ops.fetch_add(1, Ordering::Relaxed);
            let empty = note.is_empty();
            let left = self.unknown_sides.fetch_sub(1, Ordering::Relaxed) - 1;
            (if empty { notes.remove(&key) } else { None }, left == 0)
        };
        drop(emptied);
        last
    }

    /// The queue `key` is gone. Returns whether that left no side unknown.
    fn forget(&self, key: Key) -> bool {
        self.stats.removed.fetch_add(1, Ordering::Relaxed);
        let (old, last) = {
            let mut notes = self.notes.lock();
            let old = notes.remove(&key);
            let n = old.as_ref().map_or(0, Note::unknown_sides);
            let last = n > 0 && self.unknown_sides.fetch_sub(n, Ordering::Relaxed) == n;
            (old, last)
        };
        drop(old);
        last
    }

    fn note(&self, key: Key) -> Note {
        self.notes.lock().get(&key).cloned().unwrap_or_default()
    }

    /// The thread group of `pid`, the kernel's last receiver of the queue whose note is `note`:
    /// `pid` is a thread group on every path but the hand-off, which records the thread.
    fn receiver_group(&self, pid: ARef<Pid>, note: &Note) -> Party {
        {
            let rcu = rcu::read_lock();
            if let Some(group) = pid.task_pid(PidType::Tgid, &rcu) {
                return Party::Known(group);
            }
        }
        match &note.handoff {
            Some(h) if core::ptr::eq(&*h.thread, &*pid) => Party::Known(h.group.clone()),
            // A dead pid without a note is a thread group that is gone, unless a note was lost.
            _ if self.lost_handoff.load(Ordering::Relaxed) => Party::Unknown,
            _ => Party::Known(pid),
        }
    }
}

/// What the probes share: the notes, and the work that removes the operation probes.
#[derive(Clone)]
struct Hooks {
    state: Arc<MsqState>,
    disarm: Arc<DeferredWork<Disarm>>,
}

impl Hooks {
    fn observed(&self, key: Key, sender_side: bool) {
        if self.state.observed(key, sender_side) {
            self.disarm.kick();
        }
    }
}

/// `ksys_msgsnd(msqid, ...)`, watched while older queues have unknown sides.
struct SendHook(Hooks);

impl KretprobeHandler for SendHook {
    type Data = i32;

    fn entry(regs: &Regs) -> Option<i32> {
        Some(regs.arg(0) as i32)
    }

    fn ret(&self, msqid: i32, regs: &Regs) {
        if regs.ret() == 0 {
            self.0.observed((IpcNsKey::current(), msqid), true);
        }
    }
}

/// `ksys_msgrcv(msqid, ..., msgflg)`, watched while older queues have unknown sides.
struct ReceiveHook(Hooks);

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
            self.0.observed((IpcNsKey::current(), msqid), false);
        }
    }
}

/// `freeque(ns, ipcp)`: the queue is gone (IPC_RMID or namespace teardown).
struct FreeHook(Hooks);

impl KretprobeHandler for FreeHook {
    type Data = (u64, i32);

    fn entry(regs: &Regs) -> Option<(u64, i32)> {
        Some((regs.arg(0), perm_id(regs.arg(1))))
    }

    fn ret(&self, (ns, id): (u64, i32), _regs: &Regs) {
        if self.0.state.forget((IpcNsKey::from_raw(ns), id)) {
            self.0.disarm.kick();
        }
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

/// How many calls of one probed function may be in flight at once (blocked msgrcv callers
/// count); beyond that a call is missed, and a side it would have made known stays unknown.
const MAX_ACTIVE: i32 = 256;

type Probe<H> = Pin<KBox<KretprobeRegistration<H>>>;

/// The operation probes, present while older queues have unknown sides.
#[pin_data]
struct OpProbes {
    #[pin]
    slot: Mutex<Option<(Probe<SendHook>, Probe<ReceiveHook>)>>,
}

/// Removes the operation probes once no side is unknown (unregistering sleeps, and the last
/// unknown side becomes known in a probe).
struct Disarm {
    state: Arc<MsqState>,
    ops: Arc<OpProbes>,
}

impl DeferredHandler for Disarm {
    fn run(&self) {
        let mut slot = self.ops.slot.lock();
        if self.state.unknown_sides.load(Ordering::Relaxed) == 0 {
            // Unregistered under the mutex, which `Msq::drop` takes: the probes' references to
            // this work are gone before the module's teardown can drop the last one.
            drop(slot.take());
        }
    }
}

/// The probes and the notes.
pub(crate) struct Msq {
    /// `None` without the `sched_process_exit` tracepoint: then no hand-off note is ever
    /// kept, and a dead receiver reads as unknown (`lost_handoff`).
    _exit: Option<TaskExitProbe<ExitScan>>,
    _free: Probe<FreeHook>,
    /// Its probes hold `Hooks`, whose `Disarm` holds it back: `drop` breaks the cycle.
    ops: Arc<OpProbes>,
    state: Arc<MsqState>,
}

impl Drop for Msq {
    fn drop(&mut self) {
        drop(self.ops.slot.lock().take());
    }
}

impl Msq {
    pub(crate) fn new() -> Result<Self> {
        let state = Arc::pin_init(
            pin_init!(MsqState {
                notes <- new_spinlock!(RBTree::new(), "gpid_msq_notes"),
                unknown_sides: AtomicUsize::new(0),
                lost_handoff: AtomicBool::new(false),
                stats: MsqStats::default(),
            }),
            GFP_KERNEL,
        )?;
        let ops = Arc::pin_init(pin_init!(OpProbes { slot <- new_mutex!(None, "gpid_msq_ops") }), GFP_KERNEL)?;
        let disarm = DeferredWork::new(Disarm { state: state.clone(), ops: ops.clone() })?;
        let hooks = Hooks { state: state.clone(), disarm };
        let free = KretprobeRegistration::new(c_str!("freeque"), MAX_ACTIVE, FreeHook(hooks.clone()))?;
        let exit = match TaskExitProbe::new(ExitScan(state.clone())) {
            Ok(probe) => Some(probe),
            Err(e) if e == ENOENT => {
                state.lost_handoff.store(true, Ordering::Relaxed);
                None
            }
            Err(e) => return Err(e),
        };
        // From here on, dropping `this` unregisters everything.
        let this = Self { _exit: exit, _free: free, ops, state };
        // Operations are watched before the queues are listed: one in between is not seen,
        // and its side stays unknown until the next.
        let send = KretprobeRegistration::new(c_str!("ksys_msgsnd"), MAX_ACTIVE, SendHook(hooks.clone()))?;
        let receive = KretprobeRegistration::new(c_str!("ksys_msgrcv"), MAX_ACTIVE, ReceiveHook(hooks))?;
        *this.ops.slot.lock() = Some((send, receive));
        this.note_older_queues()?;
        if this.state.unknown_sides.load(Ordering::Relaxed) == 0 {
            drop(this.ops.slot.lock().take());
        }
        Ok(this)
    }

    /// Marks both sides of every existing queue unknown.
    fn note_older_queues(&self) -> Result {
        let mut older: KVec<Key> = KVec::new();
        let mut listed = Ok(());
        for_each_msq_everywhere(|ns, msqid| {
            if listed.is_ok() {
                listed = older.push((ns, msqid), GFP_ATOMIC).map_err(Error::from);
            }
        })?;
        listed?;
        for &key in older.iter() {
            self.state.upsert(key, GFP_KERNEL, |note| {
                note.unknown_sender = true;
                note.unknown_receiver = true;
                None
            })?;
        }
        self.state.stats.older_queues.store(older.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// The last sender and receiver of the queue `msqid` of the caller's IPC namespace, for a
    /// caller that may read it: EINVAL without such a queue, EACCES without read permission,
    /// as `msgctl(IPC_STAT)`.
    fn parties(&self, msqid: i32) -> Result<(Party, Party)> {
        let (perm, cap) = current_msq_perm(msqid).ok_or(EINVAL)?;
        if !ipcperm::allowed(&perm, ipcperm::READ, current_euid(), current_in_group, cap) {
            return Err(EACCES);
        }
        let (sender, receiver) = current_msq_parties(msqid).ok_or(EINVAL)?;
        let note = self.state.note((IpcNsKey::current(), msqid));
        let sender = match sender {
            _ if note.unknown_sender => Party::Unknown,
            None => Party::None,
            Some(pid) => Party::Known(pid),
        };
        let receiver = match receiver {
            _ if note.unknown_receiver => Party::Unknown,
            None => Party::None,
            Some(pid) => self.state.receiver_group(pid, &note),
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
        [
            ("older_queues", l(&s.older_queues)),
            ("unknown_sides", self.state.unknown_sides.load(Ordering::Relaxed) as u64),
            ("watching", u64::from(self.ops.slot.lock().is_some())),
            ("older_ops", l(&s.older_ops)),
            ("removed", l(&s.removed)),
            ("exit_scans", l(&s.exit_scans)),
            ("handoffs", l(&s.handoffs)),
            ("dropped", l(&s.dropped)),
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
