// SPDX-License-Identifier: GPL-2.0

//! PID namespaces, in the shape of upstream `rust/kernel/pid_namespace.rs` (6.13+), plus the
//! few queries gpid needs (level, parent, inode, liveness).
//!
//! Fields are read through C accessors (`rust/helpers.c`): `struct pid_namespace` is
//! `__randomize_layout`, so bindgen's offsets are not to be trusted for it.

use super::bindings;
use core::ptr::NonNull;
use kernel::{sync::aref::AlwaysRefCounted, types::Opaque};

/// Capabilities gpid checks.
#[derive(Copy, Clone)]
#[repr(u32)]
pub(crate) enum Capability {
    /// `CAP_SYS_ADMIN`.
    SysAdmin = bindings::CAP_SYS_ADMIN,
    /// `CAP_CHECKPOINT_RESTORE`.
    CheckpointRestore = bindings::CAP_CHECKPOINT_RESTORE,
}

/// Wraps the kernel's `struct pid_namespace`.
///
/// # Invariants
///
/// Instances are only created through references to live `struct pid_namespace`s: either
/// counted ([`ARef`]) or borrowed for a scope in which the namespace is known to be alive.
#[repr(transparent)]
pub(crate) struct PidNamespace {
    inner: Opaque<bindings::pid_namespace>,
}

impl PidNamespace {
    /// Returns a raw pointer to the inner C struct.
    pub(crate) fn as_ptr(&self) -> *mut bindings::pid_namespace {
        self.inner.get()
    }

    /// Creates a reference to a [`PidNamespace`] from a valid pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live `struct pid_namespace` that stays alive for `'a`.
    pub(crate) unsafe fn from_ptr<'a>(ptr: *const bindings::pid_namespace) -> &'a Self {
        // SAFETY: `PidNamespace` is `repr(transparent)` over the C struct, and the caller
        // guarantees it is alive for 'a.
        unsafe { &*ptr.cast() }
    }

    /// The initial PID namespace, which lives forever.
    pub(crate) fn init_ns() -> &'static Self {
        // SAFETY: `init_pid_ns` is a static object that is never freed.
        unsafe { Self::from_ptr(core::ptr::addr_of!(bindings::init_pid_ns)) }
    }

    /// Nesting level: the initial namespace is 0.
    pub(crate) fn level(&self) -> u32 {
        // SAFETY: `self` is live (type invariant).
        unsafe { bindings::gpid_pid_ns_level(self.as_ptr()) }
    }

    /// Nesting level as `viewer` may know it: `viewer`'s own namespace is 0. Stock Linux hides
    /// a namespace's ancestry from inside (`NS_GET_PARENT` stops at the owning user
    /// namespace), so gpid never reports absolute levels. `self` is one `viewer` can see.
    pub(crate) fn level_from(&self, viewer: &PidNamespace) -> u32 {
        self.level().saturating_sub(viewer.level())
    }

    /// The parent namespace, `None` for the initial namespace.
    pub(crate) fn parent(&self) -> Option<&PidNamespace> {
        // SAFETY: `self` is live (type invariant).
        let parent = unsafe { bindings::gpid_pid_ns_parent(self.as_ptr()) };
        // SAFETY: a namespace holds a reference on its parent for its whole life, so the
        // parent lives at least as long as `&self`.
        (!parent.is_null()).then(|| unsafe { Self::from_ptr(parent) })
    }

    /// The nsfs inode number (as `stat /proc/PID/ns/pid` shows it).
    pub(crate) fn inum(&self) -> u32 {
        // SAFETY: `self` is live (type invariant).
        unsafe { bindings::gpid_pid_ns_inum(self.as_ptr()) }
    }

    /// Whether the current task has `cap` over the user namespace that owns this PID
    /// namespace (`ns_capable`, which also records the use of the privilege).
    pub(crate) fn current_capable(&self, cap: Capability) -> bool {
        // SAFETY: `self` is live (type invariant); its owner is fixed for its lifetime and kept
        // alive by it. `ns_capable` may sleep: callers run in process context, unlocked.
        unsafe { bindings::ns_capable(bindings::gpid_pid_ns_user_ns(self.as_ptr()), cap as i32) }
    }

    /// Whether the current task has `cap` over this namespace's owning user namespace, asked
    /// without an audit record or a denial logged (`ns_capable_noaudit`): for deciding what a
    /// reader is shown, where asking must leave no trace.
    pub(crate) fn current_capable_noaudit(&self, cap: Capability) -> bool {
        // SAFETY: as `current_capable`.
        unsafe {
            bindings::ns_capable_noaudit(bindings::gpid_pid_ns_user_ns(self.as_ptr()), cap as i32)
        }
    }

    /// Whether tasks can still live in the namespace. `false` is final: its init died and all
    /// its PIDs were freed.
    pub(crate) fn is_live(&self) -> bool {
        // SAFETY: `self` is live (type invariant).
        unsafe { bindings::gpid_pid_ns_is_live(self.as_ptr()) }
    }

    /// Whether `self` is `other` or one of its ancestors, i.e. whether every task of `other`
    /// is visible from `self`.
    pub(crate) fn is_same_or_ancestor_of(&self, other: &PidNamespace) -> bool {
        let mut ns = other;
        let level = self.level();
        while ns.level() > level {
            match ns.parent() {
                Some(parent) => ns = parent,
                None => return false,
            }
        }
        core::ptr::eq(ns, self)
    }

    /// The ancestor of `self` at `level` (`self` itself at its own level).
    pub(crate) fn ancestor_at(&self, level: u32) -> Option<&PidNamespace> {
        let mut ns = self;
        while ns.level() > level {
            ns = ns.parent()?;
        }
        (ns.level() == level).then_some(ns)
    }
}

// SAFETY: `get_pid_ns`/`put_pid_ns` manage the reference count, and the namespace is freed
// only when it drops to zero (the initial namespace is never freed).
unsafe impl AlwaysRefCounted for PidNamespace {
    fn inc_ref(&self) {
        // SAFETY: the existence of `&self` means the refcount is non-zero.
        unsafe { bindings::gpid_get_pid_ns(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller owns one reference, which is given up here.
        unsafe { bindings::put_pid_ns(obj.cast().as_ptr()) };
    }
}

// SAFETY: a `struct pid_namespace` may be referenced and released from any thread.
unsafe impl Send for PidNamespace {}
// SAFETY: all methods only read immutable fields or use atomic/locked C functions.
unsafe impl Sync for PidNamespace {}
