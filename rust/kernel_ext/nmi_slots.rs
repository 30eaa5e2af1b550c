// SPDX-License-Identifier: GPL-2.0

//! A fixed set of slots that an NMI-like context fills and process context drains: no locks,
//! no allocation. A producer claims a free slot with a compare-and-swap, so a value is only
//! produced when there is room for it.
//!
//! The state machine, and the proof that each value has one party at a time, is
//! `gpid_core::nmi_slots::SlotStates` (host-tested, with loom models); this wrapper only adds
//! the values, which need `unsafe` to reach.

use crate::gpid_core::nmi_slots::SlotStates;
use core::cell::UnsafeCell;

/// `N` slots of `T`.
///
/// # Invariants
///
/// `values[i]` is accessed only inside a callback that `states` called with `i`, which has
/// slot `i` to itself until it returns (`SlotStates`'s contract).
pub(crate) struct NmiSlots<T, const N: usize> {
    states: SlotStates<N>,
    values: [UnsafeCell<Option<T>>; N],
}

// SAFETY: each value is accessed by one party at a time (type invariant); `T: Send` lets it
// be produced on one thread and consumed on another.
unsafe impl<T: Send, const N: usize> Sync for NmiSlots<T, N> {}

impl<T, const N: usize> NmiSlots<T, N> {
    pub(crate) fn new() -> Self {
        Self {
            states: SlotStates::new(),
            values: core::array::from_fn(|_| UnsafeCell::new(None)),
        }
    }

    /// Stores `make()` in a free slot. `false` when every slot is taken (then `make` is not
    /// called) or `make` returned `None`.
    pub(crate) fn put(&self, make: impl FnOnce() -> Option<T>) -> bool {
        self.states.put(|i| {
            // Looked up before `make`, so that a value is never made only to be dropped here.
            let Some(value) = self.values.get(i) else {
                return false;
            };
            let Some(v) = make() else {
                return false;
            };
            // SAFETY: `states` gave us `i`, so we alone access its value (type invariant).
            unsafe { *value.get() = Some(v) };
            true
        })
    }

    /// Hands every ready value to `f`, each after its slot is free again.
    pub(crate) fn drain(&self, mut f: impl FnMut(T)) {
        self.states.drain(
            |i| {
                let value = self.values.get(i)?;
                // SAFETY: `states` gave us `i`, so we alone access its value (type invariant).
                unsafe { (*value.get()).take() }
            },
            |v| {
                if let Some(v) = v {
                    f(v);
                }
            },
        );
    }
}
