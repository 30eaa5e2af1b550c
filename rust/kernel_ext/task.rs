// SPDX-License-Identifier: GPL-2.0

//! The calling task, in the shape of upstream's `CurrentTask` (6.13+): references it hands
//! out cannot outlive the call they were obtained in.

use super::{bindings, pid::{Pid, PidType}, pid_namespace::PidNamespace};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::sync::aref::ARef;

/// The task running this system call.
///
/// # Invariants
///
/// Only exists inside [`Current::with`], on the calling thread (neither `Send` nor `Sync`),
/// so the current task is alive and unchanged for as long as any `&Current` exists.
pub(crate) struct Current(PhantomData<*mut ()>);

impl Current {
    /// Runs `f` with the calling task.
    pub(crate) fn with<R>(f: impl FnOnce(&Current) -> R) -> R {
        f(&Current(PhantomData))
    }

    /// The task's active PID namespace (the one its PIDs are seen in).
    pub(crate) fn pid_ns(&self) -> &PidNamespace {
        // SAFETY: the task is alive for the lifetime of `&self` (type invariant), and its
        // active namespace is pinned by its own `struct pid` for the task's whole life.
        unsafe { PidNamespace::from_ptr(bindings::task_active_pid_ns(bindings::gpid_current())) }
    }

    /// The task's `kind` number in `ns` (0 when not visible there), without taking a
    /// reference (`__task_pid_nr_ns`).
    pub(crate) fn nr_in(&self, kind: PidType, ns: &PidNamespace) -> i32 {
        // SAFETY: `current` and `ns` are alive; the function takes RCU itself.
        unsafe { bindings::__task_pid_nr_ns(bindings::gpid_current(), kind.raw(), ns.as_ptr()) }
    }

    /// The task's `kind` pid, borrowed: it lives at least as long as the task (its own
    /// `struct pid`, and the group's, which the task's signal struct holds).
    pub(crate) fn pid_ref(&self, kind: PidType) -> &Pid {
        // SAFETY: `current` is alive for the lifetime of `&self` (type invariant); both
        // `task_pid()` and `task_tgid()` of a running task are non-NULL and pinned by it.
        unsafe { Pid::from_ptr(bindings::gpid_current_pid_ref(kind.raw())) }
    }

    /// Whether the running syscall comes from a 32-bit (compat) task.
    pub(crate) fn in_compat_syscall(&self) -> bool {
        // SAFETY: reads the current task's syscall state; no argument.
        unsafe { bindings::gpid_in_compat_syscall() }
    }

    /// A counted reference to the task's `kind` pid.
    pub(crate) fn pid(&self, kind: PidType) -> Option<ARef<Pid>> {
        // SAFETY: `current` is alive; `get_task_pid` returns a counted reference or NULL.
        let pid = unsafe { bindings::get_task_pid(bindings::gpid_current(), kind.raw()) };
        // SAFETY: we own the reference returned above.
        NonNull::new(pid).map(|p| unsafe { ARef::from_raw(p.cast()) })
    }
}
