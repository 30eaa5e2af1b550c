//! A lock-free table of registered threads: thread key -> owner value.
//!
//! gpid's exit hook looks the dying thread up here from a kprobe handler, which runs in
//! NMI-like context: no locks, no allocation, bounded work. So the table is a fixed array of
//! atomic slots with open addressing over a bounded probe window.
//!
//! Why it needs no lock: every key is inserted and removed only by the thread it names (a
//! thread registers itself; its own exit removes it), so no two parties ever race on one key.
//! Threads race only for free slots, which they claim with a compare-and-swap. Removal leaves
//! a tombstone that later inserts reuse, so the table never needs rebuilding, and lookups stop
//! after [`PROBE_WINDOW`] slots whatever state the table is in.

use crate::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Slots a key may live in, starting at its hash: bounds every operation.
pub const PROBE_WINDOW: usize = 32;

const EMPTY: usize = 0;
const TOMBSTONE: usize = 1;

/// One slot: a thread key (`EMPTY`, `TOMBSTONE` or a real key) and its owner value.
#[derive(Debug, Default)]
pub struct ThreadSlot {
    key: AtomicUsize,
    value: AtomicU32,
}

impl ThreadSlot {
    /// An empty slot, for filling new storage.
    #[cfg(not(all(test, loom)))]
    pub const fn new() -> Self {
        Self {
            key: AtomicUsize::new(EMPTY),
            value: AtomicU32::new(0),
        }
    }

    /// An empty slot (loom's atomics have no `const fn new`).
    #[cfg(all(test, loom))]
    pub fn new() -> Self {
        Self {
            key: AtomicUsize::new(EMPTY),
            value: AtomicU32::new(0),
        }
    }
}

/// Why a registration failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadTableError {
    /// The key is 0 or 1 (reserved), or the storage size is not a power of two.
    Invalid,
    /// No free slot in the key's probe window, or the table holds its maximum.
    Full,
}

/// The table over caller-provided storage (a power-of-two number of slots).
#[derive(Debug)]
pub struct ThreadTable<S> {
    slots: S,
    live: AtomicUsize,
}

/// Where `key`'s probe window starts in a table of `mask + 1` slots.
pub(crate) fn hash(key: usize, mask: usize) -> usize {
    // Keys are task_struct addresses: the low bits are alignment, the high bits constant.
    let h = (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 32) as usize) & mask
}

impl<S: core::ops::Deref<Target = [ThreadSlot]>> ThreadTable<S> {
    /// A table over `slots`, whose length must be a power of two of at least
    /// [`PROBE_WINDOW`]; at most half of it is ever used, so probe windows stay short.
    pub fn new(slots: S) -> Result<Self, ThreadTableError> {
        let n = slots.len();
        if n < PROBE_WINDOW || !n.is_power_of_two() {
            return Err(ThreadTableError::Invalid);
        }
        for slot in slots.iter() {
            slot.key.store(EMPTY, Ordering::Relaxed);
        }
        Ok(Self {
            slots,
            live: AtomicUsize::new(0),
        })
    }

    /// How many keys are registered.
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Whether no key is registered: the exit hook's fast path.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys the table accepts.
    pub fn max_len(&self) -> usize {
        self.slots.len() / 2
    }

    fn window(&self, key: usize) -> impl Iterator<Item = &ThreadSlot> {
        let mask = self.slots.len().wrapping_sub(1);
        let start = hash(key, mask);
        (0..PROBE_WINDOW).filter_map(move |i| self.slots.get(start.wrapping_add(i) & mask))
    }

    /// Registers `key` with `value`, or updates its value. Only the thread `key` names may
    /// call this for `key`.
    pub fn insert(&self, key: usize, value: u32) -> Result<(), ThreadTableError> {
        if key == EMPTY || key == TOMBSTONE {
            return Err(ThreadTableError::Invalid);
        }
        if let Some(slot) = self.window(key).find(|s| s.key.load(Ordering::Acquire) == key) {
            slot.value.store(value, Ordering::Release);
            return Ok(());
        }
        if self.live.fetch_add(1, Ordering::AcqRel) >= self.max_len() {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return Err(ThreadTableError::Full);
        }
        for slot in self.window(key) {
            // The value is written before the key is published, and only this thread reads it
            // back for this key, so readers of other keys never depend on it.
            for free in [EMPTY, TOMBSTONE] {
                if slot.key.load(Ordering::Relaxed) != free {
                    continue;
                }
                slot.value.store(value, Ordering::Relaxed);
                if slot
                    .key
                    .compare_exchange(free, key, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(());
                }
            }
        }
        self.live.fetch_sub(1, Ordering::AcqRel);
        Err(ThreadTableError::Full)
    }

    /// The value registered for `key`.
    pub fn get(&self, key: usize) -> Option<u32> {
        self.window(key)
            .find(|s| s.key.load(Ordering::Acquire) == key)
            .map(|s| s.value.load(Ordering::Acquire))
    }

    /// Unregisters `key`; returns its value if it was registered. Only the thread `key` names
    /// (or its exit hook) may call this for `key`.
    pub fn remove(&self, key: usize) -> Option<u32> {
        if key == EMPTY || key == TOMBSTONE {
            return None;
        }
        let slot = self.window(key).find(|s| s.key.load(Ordering::Acquire) == key)?;
        let value = slot.value.load(Ordering::Acquire);
        slot.key
            .compare_exchange(key, TOMBSTONE, Ordering::AcqRel, Ordering::Relaxed)
            .ok()?;
        self.live.fetch_sub(1, Ordering::AcqRel);
        Some(value)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};
    use std::vec::Vec;

    fn table(n: usize) -> ThreadTable<Vec<ThreadSlot>> {
        ThreadTable::new((0..n).map(|_| ThreadSlot::new()).collect()).unwrap()
    }

    #[test]
    fn insert_get_remove() {
        let t = table(64);
        assert_eq!(t.get(0x1000), None);
        t.insert(0x1000, 7).unwrap();
        assert_eq!(t.get(0x1000), Some(7));
        t.insert(0x1000, 9).unwrap();
        assert_eq!(t.get(0x1000), Some(9));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(0x1000), Some(9));
        assert_eq!(t.get(0x1000), None);
        assert_eq!(t.remove(0x1000), None);
        assert!(t.is_empty());
    }

    #[test]
    fn reserved_keys_and_bad_sizes() {
        let t = table(64);
        assert_eq!(t.insert(0, 1), Err(ThreadTableError::Invalid));
        assert_eq!(t.insert(1, 1), Err(ThreadTableError::Invalid));
        assert_eq!(t.remove(1), None);
        let bad: Vec<ThreadSlot> = (0..48).map(|_| ThreadSlot::new()).collect();
        assert!(ThreadTable::new(bad).is_err());
        let small: Vec<ThreadSlot> = (0..16).map(|_| ThreadSlot::new()).collect();
        assert!(ThreadTable::new(small).is_err());
    }

    #[test]
    fn fills_to_half_then_full_and_tombstones_are_reused() {
        let t = table(64);
        let keys: Vec<usize> = (0..32).map(|i| 0xffff_8880_0000_0000 + i * 0x2c40).collect();
        for (i, &k) in keys.iter().enumerate() {
            t.insert(k, i as u32).unwrap();
        }
        assert_eq!(t.insert(0xdead_0000, 1), Err(ThreadTableError::Full));
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k), Some(i as u32));
        }
        // Churn far beyond the capacity: tombstones never block registration.
        for round in 0..1000usize {
            let k = keys[round % keys.len()];
            assert!(t.remove(k).is_some());
            t.insert(k, round as u32).unwrap();
            assert_eq!(t.get(k), Some(round as u32));
        }
        assert_eq!(t.len(), 32);
    }

    #[test]
    fn matches_a_model_under_random_operations() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let t = table(256);
        let mut model: HashMap<usize, u32> = HashMap::new();
        for _ in 0..20_000 {
            let key = 0x1000 + (next() % 300) as usize * 0x40;
            let value = next() as u32;
            match next() % 3 {
                0 => match t.insert(key, value) {
                    Ok(()) => {
                        model.insert(key, value);
                    }
                    Err(e) => {
                        assert_eq!(e, ThreadTableError::Full);
                        assert!(!model.contains_key(&key));
                    }
                },
                1 => assert_eq!(t.remove(key), model.remove(&key)),
                _ => assert_eq!(t.get(key), model.get(&key).copied()),
            }
            assert_eq!(t.len(), model.len());
        }
    }

    #[test]
    fn threads_register_and_unregister_concurrently() {
        let t = Arc::new(table(1024));
        let handles: Vec<_> = (0..8usize)
            .map(|id| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    let key = 0x10_0000 + id * 0x40;
                    for round in 0..5000u32 {
                        t.insert(key, round).unwrap();
                        assert_eq!(t.get(key), Some(round));
                        assert_eq!(t.remove(key), Some(round));
                        assert_eq!(t.get(key), None);
                    }
                    t.insert(key, id as u32).unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(t.len(), 8);
        for id in 0..8usize {
            assert_eq!(t.get(0x10_0000 + id * 0x40), Some(id as u32));
        }
    }

    /// `count` task-like keys whose probe windows all start at the same slot of a table of
    /// `slots` slots, so that their owners race for the same free slot.
    fn colliding_keys(slots: usize, count: usize) -> Vec<usize> {
        let key = |i: usize| 0xffff_8880_0100_0000 + i * 0x2c40;
        let start = hash(key(0), slots - 1);
        let keys: Vec<usize> = (0..)
            .map(key)
            .filter(|&k| hash(k, slots - 1) == start)
            .take(count)
            .collect();
        assert_eq!(keys.len(), count);
        keys
    }

    /// Owners of colliding keys register, read back and unregister as fast as they can: each
    /// must always read back exactly the value it registered. Bounded in time, not rounds.
    #[test]
    fn colliding_owners_always_read_back_their_own_value() {
        // The module's size: `MAX_THREADS` = 4096 registrations, twice as many slots.
        const SLOTS: usize = 8192;
        const RUN: Duration = Duration::from_millis(1500);
        let t = Arc::new(table(SLOTS));
        let keys = colliding_keys(SLOTS, 2);
        let go = Arc::new(Barrier::new(keys.len()));
        let handles: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(id, &key)| {
                let (t, go) = (Arc::clone(&t), Arc::clone(&go));
                std::thread::spawn(move || {
                    go.wait();
                    let start = Instant::now();
                    let (mut rounds, mut wrong) = (0u64, 0u64);
                    while start.elapsed() < RUN {
                        for _ in 0..1024 {
                            // Distinct per owner and per round.
                            let value = ((id as u32) << 24) | (rounds as u32 & 0xff_ffff);
                            t.insert(key, value).unwrap();
                            wrong += u64::from(t.get(key) != Some(value));
                            wrong += u64::from(t.remove(key) != Some(value));
                            wrong += u64::from(t.get(key).is_some());
                            rounds += 1;
                        }
                    }
                    (rounds, wrong)
                })
            })
            .collect();
        let (mut rounds, mut wrong) = (0, 0);
        for h in handles {
            let (r, w) = h.join().unwrap();
            rounds += r;
            wrong += w;
        }
        std::eprintln!("colliding owners: {wrong} wrong results in {rounds} rounds");
        assert_eq!(wrong, 0, "{wrong} wrong results in {rounds} rounds");
        assert!(t.is_empty());
    }
}
