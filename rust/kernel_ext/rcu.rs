// SPDX-License-Identifier: GPL-2.0

//! RCU read-side critical sections, in the shape of upstream `kernel::sync::rcu` (6.13+).

use super::bindings;
use core::marker::PhantomData;

/// Evidence that the RCU read-side lock is held; dropping it unlocks.
///
/// Values borrowed for the guard's lifetime (for example a [`super::pid::Pid`] found by
/// number) stay valid until it is dropped.
///
/// # Invariants
///
/// The RCU read-side lock is held for the lifetime of this value, on this CPU's thread (the
/// guard is neither `Send` nor `Sync`).
pub(crate) struct Guard(PhantomData<*mut ()>);

impl Guard {
    /// Acquires the RCU read-side lock.
    pub(crate) fn new() -> Self {
        // SAFETY: `rcu_read_lock` can be called from any context; the matching unlock is in
        // `drop`.
        unsafe { bindings::gpid_rcu_read_lock() };
        Self(PhantomData)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: the lock is held (type invariant) and released exactly once, here.
        unsafe { bindings::gpid_rcu_read_unlock() };
    }
}

/// Acquires the RCU read-side lock.
pub(crate) fn read_lock() -> Guard {
    Guard::new()
}
