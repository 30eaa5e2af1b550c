// SPDX-License-Identifier: GPL-2.0

//! Who is charged for what a task or a PID namespace holds, found the way the kernel's ucounts
//! find it: up the user-namespace tree to the initial namespace.

use super::{bindings, ipc, pid_namespace::PidNamespace};

/// The uid (as the initial user namespace sees it) that owns the outermost user namespace
/// between `ns` and the initial one; `None` for the initial namespace itself.
///
/// This is where `inc_ucount()`'s walk ends: every user namespace an unprivileged user
/// creates, and everything created inside them, is charged to that user there.
///
/// # Safety
///
/// `ns` must point to a live `struct user_namespace`.
unsafe fn outermost_owner(mut ns: *const bindings::user_namespace) -> Option<u32> {
    // SAFETY: `init_user_ns` is a static object.
    let init = unsafe { bindings::gpid_init_user_ns() }.cast_const();
    if ns == init {
        return None;
    }
    loop {
        // SAFETY: `ns` is live (caller), and a live namespace keeps its parents alive.
        let parent = unsafe { bindings::gpid_user_ns_parent(ns) }.cast_const();
        if parent == init || parent.is_null() {
            // SAFETY: as above.
            return Some(unsafe { bindings::gpid_user_ns_owner(ns) });
        }
        ns = parent;
    }
}

/// The key the caller's own charges go to: its effective uid when its credentials are in the
/// initial user namespace, else the owner of its outermost user namespace.
pub(crate) fn current_quota_key() -> u32 {
    // SAFETY: the caller's credentials, and so their user namespace, live while it runs.
    let ns = unsafe { bindings::gpid_current_user_ns() };
    // SAFETY: as above.
    unsafe { outermost_owner(ns) }.unwrap_or_else(ipc::current_euid)
}

/// The key a PID namespace's slots are charged to: the owner of the outermost user namespace
/// its own user namespace descends from; `None` for a namespace the initial user namespace
/// owns, which only the initial namespace's admin can create.
pub(crate) fn pid_ns_quota_key(ns: &PidNamespace) -> Option<u32> {
    // SAFETY: `ns` is live, and holds a reference to its user namespace.
    let user_ns = unsafe { bindings::gpid_pid_ns_user_ns(ns.as_ptr()) };
    // SAFETY: as above.
    unsafe { outermost_owner(user_ns) }
}
