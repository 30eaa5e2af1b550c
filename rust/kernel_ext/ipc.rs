// SPDX-License-Identifier: GPL-2.0

//! SysV IPC namespaces and message queues, through C accessors: `struct msg_queue` is private
//! to ipc/msg.c (helpers.c reads it through a definition Kbuild copies from that file) and
//! `struct kern_ipc_perm` is `__randomize_layout`.

use super::{bindings, pid::Pid, rcu};
use crate::gpid_core::ipcperm::IpcPerm;
use core::{ffi::c_void, ptr::NonNull};
use kernel::{
    alloc::{flags::GFP_ATOMIC, KVec},
    error::to_result,
    prelude::*,
    sync::aref::ARef,
};

/// An IPC namespace, used only as an identity (never dereferenced from Rust).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IpcNsKey(usize);

impl IpcNsKey {
    /// The calling task's IPC namespace.
    pub(crate) fn current() -> Self {
        // SAFETY: `current->nsproxy` is stable for the calling task while it runs a system
        // call; only its address is kept.
        Self(unsafe { bindings::gpid_current_ipc_ns() } as usize)
    }

    /// From a raw `struct ipc_namespace *` seen by a probe.
    pub(crate) fn from_raw(ns: u64) -> Self {
        Self(ns as usize)
    }
}

/// The kernel's record of a message queue's last operations, what `msgctl(IPC_STAT)` reads.
pub(crate) struct MsqRecord {
    /// The last sender (a thread group), `None` for none yet.
    pub(crate) sender: Option<ARef<Pid>>,
    /// The last receiver (a thread group, or the receiving thread after a direct hand-off).
    pub(crate) receiver: Option<ARef<Pid>>,
    /// When the last send and receive happened (wall clock, seconds).
    pub(crate) send_time: i64,
    pub(crate) receive_time: i64,
}

/// `perm`'s queue's record, or `None` when it has been removed. Does not sleep.
///
/// # Safety
///
/// `perm` is a message queue's, valid for the duration of the call (RCU held).
unsafe fn record_of(perm: *mut bindings::kern_ipc_perm) -> Option<MsqRecord> {
    let (mut sender, mut receiver) = (core::ptr::null_mut(), core::ptr::null_mut());
    let (mut send_time, mut receive_time) = (0, 0);
    // SAFETY: `perm` is valid (the caller's contract); the out pointers are valid.
    let live = unsafe {
        bindings::gpid_msq_record(perm, &mut sender, &mut receiver, &mut send_time, &mut receive_time)
    };
    // SAFETY: `gpid_msq_record` gave us a reference to each non-NULL pid.
    let own = |p: *mut bindings::pid| NonNull::new(p).map(|p| unsafe { ARef::from_raw(p.cast()) });
    live.then(|| MsqRecord {
        sender: own(sender),
        receiver: own(receiver),
        send_time,
        receive_time,
    })
}

/// What the caller may learn of a message queue, and what decides whether it may.
pub(crate) struct MsqSnapshot {
    /// Ownership and mode.
    pub(crate) perm: IpcPerm,
    pub(crate) record: MsqRecord,
}

/// The message queue `msqid` of the caller's IPC namespace, or `None` when there is no such
/// live queue. A snapshot: the queue may change right after.
pub(crate) fn current_msq(msqid: i32) -> Option<MsqSnapshot> {
    let ns = IpcNsKey::current().0 as *mut bindings::ipc_namespace;
    let (perm, record) = {
        let _rcu = rcu::read_lock();
        // SAFETY: `ns` is the caller's live IPC namespace; RCU is held as the lookup requires.
        let perm = unsafe { bindings::gpid_msq_find(ns, msqid) };
        if perm.is_null() {
            return None;
        }
        let mut f = [0u32; 5];
        // SAFETY: `perm` stays valid under RCU; the out pointers are valid.
        unsafe {
            bindings::gpid_ipc_perm_fields(perm, &mut f[0], &mut f[1], &mut f[2], &mut f[3], &mut f[4])
        };
        let fields = IpcPerm {
            uid: f[0],
            gid: f[1],
            cuid: f[2],
            cgid: f[3],
            mode: f[4],
        };
        // SAFETY: `perm` is a message queue's and stays valid under RCU.
        (fields, unsafe { record_of(perm) }?)
    };
    Some(MsqSnapshot { perm, record })
}

/// Whether the caller has `CAP_IPC_OWNER` over its IPC namespace's user namespace. Asked only
/// when the mode bits deny, as `ipcperms()` does: a capability check sets `PF_SUPERPRIV` and
/// may write an audit record, which a reader the mode bits admit must not cause.
pub(crate) fn current_ipc_owner_capable() -> bool {
    let ns = IpcNsKey::current().0 as *mut bindings::ipc_namespace;
    // SAFETY: the caller's IPC namespace lives as long as its nsproxy, which the running task
    // pins; `ns_capable` may sleep, which is fine in process context with no lock held.
    unsafe { bindings::ns_capable(bindings::gpid_ipc_ns_user_ns(ns), bindings::CAP_IPC_OWNER as i32) }
}

/// Calls `f` with each live message queue of `ns`.
///
/// # Safety
///
/// `ns` is a live IPC namespace for as long as the RCU read lock is held.
unsafe fn each_msq(ns: *mut bindings::ipc_namespace, _rcu: &rcu::Guard, mut f: impl FnMut(*mut bindings::kern_ipc_perm)) {
    let mut idx: i32 = 0;
    loop {
        // SAFETY: `ns` is live and RCU is held (the caller's contract).
        let perm = unsafe { bindings::gpid_msq_next(ns, &mut idx) };
        if perm.is_null() {
            return;
        }
        f(perm);
        let Some(next) = idx.checked_add(1) else {
            return;
        };
        idx = next;
    }
}

/// The msqids of the caller's IPC namespace, a snapshot.
pub(crate) fn current_msqids() -> Result<KVec<i32>> {
    let ns = IpcNsKey::current().0 as *mut bindings::ipc_namespace;
    let mut ids = KVec::new();
    let mut result = Ok(());
    let rcu = rcu::read_lock();
    // SAFETY: the caller's IPC namespace is live while it runs.
    unsafe {
        each_msq(ns, &rcu, |perm| {
            if result.is_ok() {
                // SAFETY: `perm` is valid under RCU.
                result = ids.push(bindings::gpid_ipc_perm_id(perm), GFP_ATOMIC).map_err(Error::from);
            }
        })
    };
    drop(rcu);
    result.map(|()| ids)
}

/// Calls `f(msqid)` for each message queue of the caller's IPC namespace whose last receiver
/// (the kernel's record) is `pid`, with that queue's lock held: the queue cannot be removed,
/// nor its receiver change, while `f` runs. Does not sleep.
pub(crate) fn current_msqs_received_by(pid: &Pid, mut f: impl FnMut(i32)) {
    let ns = IpcNsKey::current().0 as *mut bindings::ipc_namespace;
    // SAFETY: `ns` is the caller's live IPC namespace.
    if !unsafe { bindings::gpid_ipc_ns_has_msq(ns) } {
        return;
    }
    let rcu = rcu::read_lock();
    // SAFETY: the caller's IPC namespace is live while it runs; `perm` is valid under RCU and
    // `pid` is live.
    unsafe {
        each_msq(ns, &rcu, |perm| {
            // A lockless look first: most queues do not name `pid`.
            if bindings::gpid_msq_last_receiver_is(perm, pid.as_ptr(), false)
                && bindings::gpid_msq_last_receiver_is(perm, pid.as_ptr(), true)
            {
                f(bindings::gpid_ipc_perm_id(perm));
                bindings::gpid_msq_unlock(perm);
            }
        })
    };
}

/// Calls `f(ns, msqid, record)` for every live message queue of every IPC namespace. `f` runs
/// in atomic context (RCU held). Sleeps between namespaces.
pub(crate) fn for_each_msq_everywhere(mut f: impl FnMut(IpcNsKey, i32, MsqRecord)) -> Result {
    let mut f: &mut dyn FnMut(IpcNsKey, i32, MsqRecord) = &mut f;
    /// # Safety
    ///
    /// `ns` is live under the RCU read lock the caller holds; `arg` is the `&mut dyn FnMut`
    /// passed to `gpid_for_each_ipc_ns` below.
    unsafe extern "C" fn visit(ns: *mut bindings::ipc_namespace, arg: *mut c_void) {
        // SAFETY: see above.
        let f = unsafe { &mut *arg.cast::<&mut dyn FnMut(IpcNsKey, i32, MsqRecord)>() };
        let rcu = rcu::read_lock();
        // SAFETY: `ns` is live under RCU; `perm` is a message queue's, valid under RCU.
        unsafe {
            each_msq(ns, &rcu, |perm| {
                if let Some(record) = record_of(perm) {
                    f(IpcNsKey(ns as usize), bindings::gpid_ipc_perm_id(perm), record);
                }
            })
        };
    }
    // SAFETY: `visit` has the callback's prototype; `f` outlives the call.
    to_result(unsafe { bindings::gpid_for_each_ipc_ns(Some(visit), core::ptr::from_mut(&mut f).cast::<c_void>()) })
}

/// The `id` of a `struct kern_ipc_perm *` seen as a probed function's argument (NMI-safe:
/// one load).
pub(crate) fn perm_id(perm: u64) -> i32 {
    // SAFETY: the probed function (`freeque`) holds the queue alive while it runs, and its
    // entry is where this is called.
    unsafe { bindings::gpid_ipc_perm_id(perm as *const bindings::kern_ipc_perm) }
}

/// The caller's effective uid (global kuid value).
pub(crate) fn current_euid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { bindings::gpid_current_euid() }
}

/// Whether the caller is in group `gid` (global kgid value), as `in_group_p`.
pub(crate) fn current_in_group(gid: u32) -> bool {
    // SAFETY: no preconditions.
    unsafe { bindings::gpid_current_in_group(gid) }
}
