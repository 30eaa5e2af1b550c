// SPDX-License-Identifier: GPL-2.0

//! A fixed set of slots that an NMI-like context fills and process context drains: no locks,
//! no allocation. A producer claims a free slot with a compare-and-swap, so a value is only
//! produced when there is room for it.

use core::{
    cell::UnsafeCell,
    sync::atomic::{AtomicU8, Ordering},
};

const FREE: u8 = 0;
const FILLING: u8 = 1;
const READY: u8 = 2;
const TAKING: u8 = 3;

/// `N` slots of `T`.
///
/// # Invariants
///
/// `values[i]` is accessed only by the party that moved `states[i]` out of `FREE` (producer,
/// until it stores `READY` or `FREE`) or out of `READY` (consumer, until it stores `FREE`).
pub(crate) struct NmiSlots<T, const N: usize> {
    states: [AtomicU8; N],
    values: [UnsafeCell<Option<T>>; N],
}

// SAFETY: each value is accessed by one party at a time (type invariant); `T: Send` lets it
// be produced on one thread and consumed on another.
unsafe impl<T: Send, const N: usize> Sync for NmiSlots<T, N> {}

impl<T, const N: usize> NmiSlots<T, N> {
    pub(crate) fn new() -> Self {
        Self {
            states: core::array::from_fn(|_| AtomicU8::new(FREE)),
            values: core::array::from_fn(|_| UnsafeCell::new(None)),
        }
    }

    /// Stores `make()` in a free slot. `false` when every slot is taken (then `make` is not
    /// called) or `make` returned `None`.
    pub(crate) fn put(&self, make: impl FnOnce() -> Option<T>) -> bool {
        for (state, value) in self.states.iter().zip(self.values.iter()) {
            if state
                .compare_exchange(FREE, FILLING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            let Some(v) = make() else {
                state.store(FREE, Ordering::Release);
                return false;
            };
            // SAFETY: we moved this slot out of `FREE`, so we alone access its value.
            unsafe { *value.get() = Some(v) };
            state.store(READY, Ordering::Release);
            return true;
        }
        false
    }

    /// Hands every ready value to `f`.
    pub(crate) fn drain(&self, mut f: impl FnMut(T)) {
        for (state, value) in self.states.iter().zip(self.values.iter()) {
            if state
                .compare_exchange(READY, TAKING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // SAFETY: we moved this slot out of `READY`, so we alone access its value.
            let v = unsafe { (*value.get()).take() };
            state.store(FREE, Ordering::Release);
            if let Some(v) = v {
                f(v);
            }
        }
    }
}
