// SPDX-License-Identifier: GPL-2.0

//! SysV IPC namespaces and message queue permissions, through C accessors: `struct
//! msg_queue` is private to ipc/msg.c and `struct kern_ipc_perm` is `__randomize_layout`.

use super::{bindings, rcu};
use crate::gpid_core::ipcperm::IpcPerm;

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

/// The ownership and mode of the message queue `msqid` in the caller's IPC namespace, and
/// whether the caller has `CAP_IPC_OWNER` over the namespace, or `None` when there is no
/// such live queue. The answer is a snapshot: the queue may change right after.
pub(crate) fn current_msq_perm(msqid: i32) -> Option<(IpcPerm, bool)> {
    let ns = IpcNsKey::current().0 as *mut bindings::ipc_namespace;
    let perm = {
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
        IpcPerm {
            uid: f[0],
            gid: f[1],
            cuid: f[2],
            cgid: f[3],
            mode: f[4],
        }
    };
    // SAFETY: `ns` is live; `ns_capable` may sleep, which is fine here (process context, no
    // lock held).
    let owner_cap = unsafe {
        bindings::ns_capable(bindings::gpid_ipc_ns_user_ns(ns), bindings::CAP_IPC_OWNER as i32)
    };
    Some((perm, owner_cap))
}

/// `MSG_COPY` (msgrcv flag).
pub(crate) const MSG_COPY: u32 = bindings::MSG_COPY;

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
