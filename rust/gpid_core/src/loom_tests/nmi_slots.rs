//! `SlotStates` under loom, with the values a caller would keep beside it modelled by
//! relaxed atomics: loom then shows whether the states order every value access after the
//! previous one (a stale read comes back as 0 or an old value), and a per-slot flag, swapped
//! on entry, shows whether two parties ever hold one slot at once.

use super::model;
use crate::nmi_slots::SlotStates;
use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use loom::sync::Arc;
use loom::thread;
use std::vec::Vec;

/// `SlotStates` with its values, as the kernel's `NmiSlots` keeps them (0: no value).
struct Slots<const N: usize> {
    states: SlotStates<N>,
    values: [AtomicU32; N],
    inside: [AtomicBool; N],
    fills: AtomicUsize,
}

impl<const N: usize> Slots<N> {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            states: SlotStates::new(),
            values: core::array::from_fn(|_| AtomicU32::new(0)),
            inside: core::array::from_fn(|_| AtomicBool::new(false)),
            fills: AtomicUsize::new(0),
        })
    }

    /// Runs `f` as the holder of slot `i`, checking that nobody else holds it meanwhile.
    fn hold<R>(&self, i: usize, f: impl FnOnce(&AtomicU32) -> R) -> R {
        assert!(!self.inside[i].swap(true, Relaxed), "two parties hold slot {i}");
        let r = f(&self.values[i]);
        assert!(self.inside[i].swap(false, Relaxed), "slot {i} released twice");
        r
    }

    /// The producer: stores `value` if a slot is free (`None`: has nothing to store).
    fn put(&self, value: Option<u32>) -> bool {
        self.states.put(|i| {
            self.fills.fetch_add(1, Relaxed);
            self.hold(i, |v| {
                assert_eq!(v.load(Relaxed), 0, "slot {i} still holds a value");
                match value {
                    Some(x) => {
                        v.store(x, Relaxed);
                        true
                    }
                    None => false,
                }
            })
        })
    }

    /// The consumer: every ready value, in slot order.
    fn drain(&self) -> Vec<u32> {
        let mut out = Vec::new();
        self.states.drain(
            // A load and a store, not a swap: a read-modify-write always reads the latest
            // value, and would hide a missing Acquire/Release pair.
            |i| {
                self.hold(i, |v| {
                    let x = v.load(Relaxed);
                    v.store(0, Relaxed);
                    x
                })
            },
            |x| {
                assert_ne!(x, 0, "a ready slot without its value");
                out.push(x);
            },
        );
        out
    }
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

/// One slot, reused: a producer stores twice while the consumer drains. Every stored value
/// comes out exactly once and intact; the second store fails only while the slot is taken.
#[test]
fn producer_and_consumer_share_one_slot() {
    model(|| {
        let s = Slots::<1>::new();
        let producer = {
            let s = Arc::clone(&s);
            thread::spawn(move || [1, 2].map(|x| s.put(Some(x)).then_some(x)))
        };
        let mut drained = s.drain();
        let stored = producer.join().unwrap();
        assert!(stored[0].is_some(), "the slot was free for the first value");
        drained.extend(s.drain());
        let stored: Vec<u32> = stored.into_iter().flatten().collect();
        assert_eq!(sorted(drained), stored);
    });
}

/// Two producers, one free slot: exactly one stores, and the other's value is never even
/// made (its `fill` is not called). A producer with nothing to store frees the slot again.
#[test]
fn producers_race_for_the_last_slot() {
    model(|| {
        let s = Slots::<1>::new();
        let producers = [Some(1), None].map(|x| {
            let s = Arc::clone(&s);
            thread::spawn(move || s.put(x))
        });
        let [stored, empty] = producers.map(|h| h.join().unwrap());
        assert!(!empty);
        let fills = s.fills.load(Relaxed);
        // The empty producer took the slot first and gave it back (2 fills), or the other
        // stored first (the empty one found no free slot, or came after: 1 or 2 fills).
        assert!((1..=2).contains(&fills), "{fills}");
        let drained = s.drain();
        assert_eq!(drained, if stored { Vec::from([1]) } else { Vec::new() });
        // Whatever happened, the slot is free now.
        assert!(s.put(Some(3)));
        assert_eq!(s.drain(), [3]);
    });
}

/// Full slots: a producer that finds every slot taken fails without making its value,
/// while a consumer frees them; afterwards, exactly the stored values come out.
#[test]
fn full_slots_while_a_consumer_drains() {
    model(|| {
        let s = Slots::<2>::new();
        assert!(s.put(Some(1)));
        assert!(s.put(Some(2)));
        let fills_before = s.fills.load(Relaxed);
        let producer = {
            let s = Arc::clone(&s);
            thread::spawn(move || s.put(Some(3)))
        };
        let mut drained = s.drain();
        let stored = producer.join().unwrap();
        assert_eq!(s.fills.load(Relaxed) - fills_before, usize::from(stored));
        drained.extend(s.drain());
        let mut expected = Vec::from([1, 2]);
        if stored {
            expected.push(3);
        }
        assert_eq!(sorted(drained), expected);
    });
}

/// Two consumers at once (two work items, or a drain interrupted by nothing but another
/// CPU): each ready value goes to exactly one of them.
#[test]
fn consumers_split_the_ready_values() {
    model(|| {
        let s = Slots::<2>::new();
        assert!(s.put(Some(1)));
        assert!(s.put(Some(2)));
        let other = {
            let s = Arc::clone(&s);
            thread::spawn(move || s.drain())
        };
        let mut drained = s.drain();
        drained.extend(other.join().unwrap());
        assert_eq!(sorted(drained), [1, 2]);
        assert!(s.drain().is_empty());
    });
}
