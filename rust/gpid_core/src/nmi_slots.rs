//! The state machine of a fixed set of slots that an NMI-like context fills and process
//! context drains: no locks, no allocation, bounded work. A producer claims a free slot with
//! a compare-and-swap, so a value is only produced when there is room for it.
//!
//! Only the states live here. The values live with the caller (the kernel keeps them in
//! `UnsafeCell`s, which take `unsafe` to touch, and this crate has none); [`SlotStates`]
//! decides who may touch slot `i`'s value and when, and hands out `i` only to the one party
//! that may. Each slot goes
//!
//! ```text
//!   FREE --CAS (producer)--> FILLING --store (Release)--> READY     value stored
//!                            FILLING --store (Release)--> FREE      nothing to store
//!   READY --CAS (consumer)--> TAKING --store (Release)--> FREE      value taken
//! ```
//!
//! Both claims are Acquire and both hand-backs Release, so every access to a value happens
//! after the previous party's last access to it: the producer's write before the consumer's
//! read, the consumer's take before the next producer's write.

use super::atomic::{AtomicU8, Ordering};

const FREE: u8 = 0;
const FILLING: u8 = 1;
const READY: u8 = 2;
const TAKING: u8 = 3;

/// The states of `N` slots.
///
/// A caller keeps the `N` values beside it and touches value `i` only inside a callback of
/// [`SlotStates::put`] or [`SlotStates::drain`] that was given `i`: then, and until the
/// callback returns, no other party touches it.
#[derive(Debug)]
pub struct SlotStates<const N: usize> {
    states: [AtomicU8; N],
}

impl<const N: usize> Default for SlotStates<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> SlotStates<N> {
    /// `N` free slots.
    pub fn new() -> Self {
        Self {
            states: core::array::from_fn(|_| AtomicU8::new(FREE)),
        }
    }

    /// Claims a free slot `i` and calls `fill(i)`, which has value `i` to itself: it returns
    /// `true` if it stored a value (the slot becomes ready for [`SlotStates::drain`]) or
    /// `false` if it had none to store (the slot is free again). Returns what `fill`
    /// returned, or `false` without calling `fill` when no slot is free. Bounded: one
    /// attempt per slot.
    pub fn put(&self, fill: impl FnOnce(usize) -> bool) -> bool {
        for (i, state) in self.states.iter().enumerate() {
            // Acquire pairs with the Release that freed the slot: the last consumer's take
            // happens before our write.
            if state
                .compare_exchange(FREE, FILLING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            let stored = fill(i);
            // Release: the consumer that claims the slot (Acquire) sees the value; a slot
            // handed back unfilled is ordered like a taken one.
            state.store(if stored { READY } else { FREE }, Ordering::Release);
            return stored;
        }
        false
    }

    /// Claims every ready slot `i` in turn: `take(i)`, which has value `i` to itself, moves
    /// the value out; then the slot is free again, and only after that `then` gets what
    /// `take` returned (so a long `then` does not hold the slot).
    pub fn drain<R>(&self, mut take: impl FnMut(usize) -> R, mut then: impl FnMut(R)) {
        for (i, state) in self.states.iter().enumerate() {
            // Acquire pairs with the producer's Release of `READY`: its write happens before
            // our take.
            if state
                .compare_exchange(READY, TAKING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            let taken = take(i);
            // Release pairs with the next producer's claim.
            state.store(FREE, Ordering::Release);
            then(taken);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::vec::Vec;

    #[test]
    fn fills_until_full_then_refuses_without_calling_fill() {
        let s = SlotStates::<2>::new();
        let mut got = Vec::new();
        assert!(s.put(|i| {
            got.push(i);
            true
        }));
        assert!(s.put(|i| {
            got.push(i);
            true
        }));
        assert_eq!(got, [0, 1]);
        assert!(!s.put(|_| panic!("no slot is free")));
    }

    #[test]
    fn drain_frees_before_then_and_takes_only_ready_slots() {
        let s = SlotStates::<3>::new();
        assert!(s.put(|_| true));
        assert!(!s.put(|_| false), "nothing stored: the slot is free again");
        assert!(s.put(|i| i == 1), "slot 1 was handed back, so it is reused");
        let drained = Cell::new(0);
        s.drain(
            |i| i,
            |i| {
                // The slot is free again while `then` runs: a producer may refill it.
                assert!(s.put(|j| j == i));
                drained.set(drained.get() + 1);
            },
        );
        assert_eq!(drained.get(), 2);
        // The two refills are ready; the third slot was never filled.
        let mut again = Vec::new();
        s.drain(|i| i, |i| again.push(i));
        assert_eq!(again, [0, 1]);
        s.drain(|_| panic!("nothing is ready"), |()| {});
    }
}
