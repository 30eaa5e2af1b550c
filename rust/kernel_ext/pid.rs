// SPDX-License-Identifier: GPL-2.0

//! `struct pid`: a task's identity across all PID namespaces it is visible in (shape of
//! upstream `rust/kernel/pid.rs` proposals; 6.12 has no such abstraction).
//!
//! Fields are read through C accessors (`rust/helpers.c`), never through bindgen's layout.

use super::{bindings, pid_namespace::PidNamespace, rcu};
use core::ptr::NonNull;
use kernel::{
    error::{code::EBADF, Result},
    {sync::aref::AlwaysRefCounted, types::Opaque},
};

/// Which ID of a task a [`Pid`] stands for.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum PidType {
    /// The thread ID.
    Pid,
    /// The thread-group (process) ID.
    Tgid,
}

impl PidType {
    pub(crate) fn raw(self) -> bindings::pid_type {
        match self {
            PidType::Pid => bindings::pid_type_PIDTYPE_PID,
            PidType::Tgid => bindings::pid_type_PIDTYPE_TGID,
        }
    }
}

/// Wraps the kernel's `struct pid`.
///
/// # Invariants
///
/// Instances are only created through references to live `struct pid`s: counted ([`ARef`])
/// or borrowed for an RCU read-side section ([`rcu::Guard`]) or another scope that pins them.
///
/// [`ARef`]: kernel::sync::aref::ARef
#[repr(transparent)]
pub(crate) struct Pid {
    inner: Opaque<bindings::pid>,
}

impl Pid {
    pub(super) fn as_ptr(&self) -> *mut bindings::pid {
        self.inner.get()
    }

    /// # Safety
    ///
    /// `ptr` must point to a live `struct pid` that stays alive for `'a`.
    pub(crate) unsafe fn from_ptr<'a>(ptr: *const bindings::pid) -> &'a Self {
        // SAFETY: `Pid` is `repr(transparent)` over the C struct; liveness is the caller's.
        unsafe { &*ptr.cast() }
    }

    /// The `struct pid` a pidfd of the calling task refers to: `EBADF` when `fd` is not open
    /// or not a pidfd (as `pidfd_get_pid`).
    pub(crate) fn from_pidfd(fd: i32) -> Result<kernel::sync::aref::ARef<Pid>> {
        // SAFETY: callable in process context with any fd number; returns a counted
        // reference or an `ERR_PTR`.
        let pid = kernel::error::from_err_ptr(unsafe { bindings::gpid_pidfd_get_pid(fd) })?;
        // SAFETY: `pid` is a counted reference we own (non-NULL: `from_err_ptr` passed it,
        // and the helper never returns NULL).
        NonNull::new(pid).map(|p| unsafe { kernel::sync::aref::ARef::from_raw(p.cast()) }).ok_or(EBADF)
    }

    /// Looks up the `struct pid` whose number in `ns` is `nr` (`find_pid_ns`).
    pub(crate) fn find<'a>(nr: i32, ns: &PidNamespace, _rcu: &'a rcu::Guard) -> Option<&'a Pid> {
        // SAFETY: `ns` is live; the RCU read lock is held (`_rcu`), as `find_pid_ns` requires.
        let pid = unsafe { bindings::find_pid_ns(nr, ns.as_ptr()) };
        // SAFETY: a `struct pid` found under RCU stays allocated until the guard is dropped.
        (!pid.is_null()).then(|| unsafe { Pid::from_ptr(pid) })
    }

    /// The number of this pid in `ns`, 0 when it is not visible there (`pid_nr_ns`).
    pub(crate) fn nr_in(&self, ns: &PidNamespace) -> i32 {
        // SAFETY: both are live (type invariants).
        unsafe { bindings::pid_nr_ns(self.as_ptr(), ns.as_ptr()) }
    }

    /// The level of the innermost namespace this pid was allocated in.
    pub(crate) fn level(&self) -> u32 {
        // SAFETY: `self` is live (type invariant).
        unsafe { bindings::gpid_pid_level(self.as_ptr()) }
    }

    /// The innermost namespace this pid was allocated in (`ns_of_pid`).
    pub(crate) fn ns(&self) -> &PidNamespace {
        // SAFETY: `self` is live; a `struct pid` holds a reference on every namespace it has a
        // number in, so the namespace lives at least as long as `&self`.
        unsafe { PidNamespace::from_ptr(bindings::gpid_ns_of_pid(self.as_ptr())) }
    }

    /// Whether a task is attached to this pid as `kind`.
    pub(crate) fn has_task(&self, kind: PidType, _rcu: &rcu::Guard) -> bool {
        // SAFETY: `self` is live and the RCU read lock is held, as `pid_has_task` requires.
        unsafe { bindings::gpid_pid_has_task(self.as_ptr(), kind.raw()) }
    }

    /// The `kind` pid of the task attached to this pid as a thread, if any: for
    /// [`PidType::Tgid`], the pid of the thread's group leader.
    pub(crate) fn task_pid(&self, kind: PidType, _rcu: &rcu::Guard) -> Option<kernel::sync::aref::ARef<Pid>> {
        // SAFETY: `self` is live and RCU is held, as `pid_task` requires.
        let task = unsafe { bindings::pid_task(self.as_ptr(), bindings::pid_type_PIDTYPE_PID) };
        if task.is_null() {
            return None;
        }
        // SAFETY: `task` stays valid under RCU; `get_task_pid` returns a new reference (or
        // NULL when the task is past releasing its pids), which the ARef takes over.
        let pid = unsafe { bindings::get_task_pid(task, kind.raw()) };
        // SAFETY: `pid` is a counted reference we own.
        NonNull::new(pid).map(|p| unsafe { kernel::sync::aref::ARef::from_raw(p.cast()) })
    }
}

// SAFETY: `get_pid`/`put_pid` manage the reference count; `put_pid` frees the `struct pid`
// at once when the count drops to zero (no RCU delay: RCU readers reach a pid through
// `find_pid_ns` only while it is still hashed, which a counted reference does not need).
unsafe impl AlwaysRefCounted for Pid {
    fn inc_ref(&self) {
        // SAFETY: the existence of `&self` means the refcount is non-zero.
        unsafe { bindings::gpid_get_pid(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller owns one reference, which is given up here.
        unsafe { bindings::put_pid(obj.cast().as_ptr()) };
    }
}

// SAFETY: a `struct pid` may be referenced and released from any thread.
unsafe impl Send for Pid {}
// SAFETY: all methods only read immutable fields or use RCU-safe C functions.
unsafe impl Sync for Pid {}
