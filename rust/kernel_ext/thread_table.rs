// SPDX-License-Identifier: GPL-2.0

//! The registered-thread table (`gpid_core::threads`) with a place beside every slot for the
//! work a registration leaves to process context when it ends: an NMI-like producer (the exit
//! hook) and a process-context consumer, no locks, no allocation, and never full, since every
//! registration brings its own place.
//!
//! Who may touch a place, and when, is the table's business (host-tested, with loom models);
//! this wrapper only adds the values, which need `unsafe` to reach.

use crate::gpid_core::threads::{ThreadSlot, ThreadTable};
use core::{cell::UnsafeCell, ops::Deref};
use kernel::{alloc::KVVec, prelude::*};

/// A [`ThreadTable`] of `n` slots, and `n` places of `T`.
///
/// # Invariants
///
/// `work[i]` is accessed only inside a callback that `table` called with `i`: `retire`'s
/// `leave` (while slot `i` still holds the caller's own key) or `drain_retired`'s `take`
/// (after claiming the retired slot `i`). Each has the place to itself until it returns.
pub(crate) struct ThreadTableWithWork<T> {
    table: ThreadTable<KVVec<ThreadSlot>>,
    work: KVVec<UnsafeCell<Option<T>>>,
}

// SAFETY: each place is accessed by one party at a time (type invariant); `T: Send` lets work
// be left on one CPU and taken on another.
unsafe impl<T: Send> Sync for ThreadTableWithWork<T> {}
// SAFETY: the table is atomics, and the places hold `T: Send`.
unsafe impl<T: Send> Send for ThreadTableWithWork<T> {}

impl<T> ThreadTableWithWork<T> {
    /// A table of `slots` slots (a power of two, at least one probe window).
    pub(crate) fn new(slots: usize) -> Result<Self> {
        let mut storage = KVVec::with_capacity(slots, GFP_KERNEL)?;
        let mut work = KVVec::with_capacity(slots, GFP_KERNEL)?;
        for _ in 0..slots {
            storage.push(ThreadSlot::new(), GFP_KERNEL)?;
            work.push(UnsafeCell::new(None), GFP_KERNEL)?;
        }
        Ok(Self {
            table: ThreadTable::new(storage).map_err(|_| EINVAL)?,
            work,
        })
    }

    /// Ends `key`'s registration (only its own thread, or its exit hook, may): `make(value)`
    /// may return work for process context, which then waits in the registration's own place
    /// for [`ThreadTableWithWork::drain`]. Returns the value and whether work was left, or
    /// `None` if `key` was not registered. Bounded and lock-free.
    pub(crate) fn retire(&self, key: usize, make: impl FnOnce(u64) -> Option<T>) -> Option<(u64, bool)> {
        self.table.retire(key, |i, value| {
            let Some(place) = self.work.get(i) else {
                return false;
            };
            let Some(work) = make(value) else {
                return false;
            };
            // SAFETY: `table` gave us `i` inside `leave`, so we alone access its place (type
            // invariant).
            unsafe { *place.get() = Some(work) };
            true
        })
    }

    /// Hands every piece of work left to `f`, each after its slot is free again.
    pub(crate) fn drain(&self, mut f: impl FnMut(T)) {
        self.table.drain_retired(
            |i| {
                let place = self.work.get(i)?;
                // SAFETY: `table` gave us `i` inside `take`, so we alone access its place
                // (type invariant).
                unsafe { (*place.get()).take() }
            },
            |work| {
                if let Some(work) = work {
                    f(work);
                }
            },
        );
    }
}

impl<T> Deref for ThreadTableWithWork<T> {
    type Target = ThreadTable<KVVec<ThreadSlot>>;

    fn deref(&self) -> &Self::Target {
        &self.table
    }
}
