//! A lock-free table of registered threads: thread key -> owner value.
//!
//! gpid's exit hook looks the dying thread up here from a kprobe handler, which runs in
//! NMI-like context: no locks, no allocation, bounded work. So the table is a fixed array of
//! atomic slots with open addressing over a bounded probe window.
//!
//! Why it needs no lock: every key is inserted and removed only by the thread it names (a
//! thread registers itself; its own exit removes it), so no two parties ever race on one key.
//! Threads race only for free slots. Removal leaves a tombstone that later inserts reuse, so
//! the table never needs rebuilding, and lookups stop after [`PROBE_WINDOW`] slots whatever
//! state the table is in.
//!
//! A slot's key word goes through
//!
//! ```text
//!   EMPTY or TOMBSTONE --CAS--> BUSY --store value, then store key (Release)--> key
//!   key --CAS (Release)--> TOMBSTONE                                  removed
//!   key --CAS (Release)--> RETIRED --CAS (Acquire)--> TAKING --store (Release)--> TOMBSTONE
//! ```
//!
//! The last line is a registration that ended with work left for process context (the exit
//! hook's fallback): the slot stays taken, and its index names the work, until the drain
//! has taken it. So every registration owns the place its leftover work goes to, and there is
//! always room for it: the work of a death is never dropped for lack of a slot.
//!
//! The claim comes first and the value second: a free slot is taken by exactly one inserter,
//! which then alone writes the value, so a slot never pairs one thread's key with another
//! thread's value. (Writing the value first and claiming after lets a losing inserter's write
//! land in the winner's slot.) `BUSY` is never a key, so lookups skip a slot being filled, and
//! no other inserter claims it; it lasts two stores, and every claim ends in a key.

use super::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Slots a key may live in, starting at its hash: bounds every operation.
pub const PROBE_WINDOW: usize = 32;

const EMPTY: usize = 0;
const TOMBSTONE: usize = 1;
/// Claimed by an insert that has not published its key yet.
const BUSY: usize = 2;
/// A registration ended with work left: the slot is held for [`ThreadTable::drain_retired`].
const RETIRED: usize = 3;
/// Being drained.
const TAKING: usize = 4;
/// The largest reserved key word; real keys are above it.
const RESERVED: usize = TAKING;

/// One slot: a thread key (or one of the reserved words above) and its value.
#[derive(Debug, Default)]
pub struct ThreadSlot {
    key: AtomicUsize,
    value: AtomicU64,
}

impl ThreadSlot {
    /// An empty slot, for filling new storage.
    #[cfg(not(all(test, loom)))]
    pub const fn new() -> Self {
        Self {
            key: AtomicUsize::new(EMPTY),
            value: AtomicU64::new(0),
        }
    }

    /// An empty slot (loom's atomics have no `const fn new`).
    #[cfg(all(test, loom))]
    pub fn new() -> Self {
        Self {
            key: AtomicUsize::new(EMPTY),
            value: AtomicU64::new(0),
        }
    }
}

/// Why a registration failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadTableError {
    /// The key is 0 to 4 (reserved), or the storage size is not a power of two.
    Invalid,
    /// No free slot in the key's probe window, or the table holds its maximum.
    Full,
}

/// The table over caller-provided storage (a power-of-two number of slots).
#[derive(Debug)]
pub struct ThreadTable<S> {
    slots: S,
    /// Registered keys, retired slots not yet drained, and inserts under way (each reserves
    /// its place before it claims a slot), so the slots not free never outnumber
    /// [`ThreadTable::max_len`].
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
        // Relaxed: the table is not shared yet; whatever shares it (an `Arc`, a spawn, a
        // lock) orders these stores before every use.
        for slot in slots.iter() {
            slot.key.store(EMPTY, Ordering::Relaxed);
        }
        Ok(Self {
            slots,
            live: AtomicUsize::new(0),
        })
    }

    /// How many keys are registered. An insert under way counts from just before it claims
    /// a slot, and stops counting if it fails with [`ThreadTableError::Full`].
    pub fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Whether no key is registered: the exit hook's fast path. Exact for a thread asking
    /// about itself, whose own registration precedes the question in program order.
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

    /// The slot holding `key`, if any. The whole window is always scanned (no stop at an
    /// `EMPTY` slot), so a key is found wherever its insert put it.
    fn find(&self, key: usize) -> Option<&ThreadSlot> {
        // Acquire pairs with the Release that published the key in `insert`: whoever sees
        // the key sees the value written before it.
        self.window(key).find(|s| s.key.load(Ordering::Acquire) == key)
    }

    /// Registers `key` with `value`, or updates its value if it is registered already (a
    /// thread that registers twice keeps one slot, with the latest value). Only the thread
    /// `key` names may call this for `key`.
    pub fn insert(&self, key: usize, value: u64) -> Result<Inserted, ThreadTableError> {
        if key <= RESERVED {
            return Err(ThreadTableError::Invalid);
        }
        // Only this thread inserts or removes `key`, so what this scan finds cannot change
        // under it: if the key is absent now it stays absent until this call adds it, and
        // the table never holds it twice.
        if let Some(slot) = self.find(key) {
            // Relaxed: the slot is published already, and the value's only exact reader is
            // this same thread (see `get`).
            slot.value.store(value, Ordering::Relaxed);
            return Ok(Inserted::Updated);
        }
        // Reserve a place first, so concurrent inserts can never fill more than half the
        // slots. Relaxed: the counter only bounds occupancy (its read-modify-writes are
        // totally ordered whatever the ordering); it publishes nothing.
        if self.live.fetch_add(1, Ordering::Relaxed) >= self.max_len() {
            self.live.fetch_sub(1, Ordering::Relaxed);
            return Err(ThreadTableError::Full);
        }
        for slot in self.window(key) {
            let seen = slot.key.load(Ordering::Relaxed);
            if seen != EMPTY && seen != TOMBSTONE {
                continue;
            }
            // One attempt per slot keeps the work bounded; losing the slot to another
            // inserter just moves on. Acquire pairs with the Release of the `remove` that
            // left a tombstone: its read of the old value happens before our write below,
            // so it returns its own value, never ours.
            if slot
                .key
                .compare_exchange(seen, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // The slot is ours alone: no insert claims a `BUSY` slot, no lookup or remove
            // matches it. Relaxed, because the Release below publishes it.
            slot.value.store(value, Ordering::Relaxed);
            slot.key.store(key, Ordering::Release);
            return Ok(Inserted::New);
        }
        self.live.fetch_sub(1, Ordering::Relaxed);
        Err(ThreadTableError::Full)
    }

    /// The value registered for `key`. Bounded (one probe window) and lock-free: callable
    /// from NMI-like context.
    ///
    /// Exact when no insert or remove of `key` runs at the same time, which is always the
    /// case for the thread `key` names (the kernel's only caller). Another thread that races
    /// with `key`'s own insert sees it registered or not, and one that races with its remove
    /// may see a value of whichever key reuses the slot next.
    pub fn get(&self, key: usize) -> Option<u64> {
        if key <= RESERVED {
            return None;
        }
        // Relaxed: `find`'s Acquire already orders the value's write before this read.
        self.find(key).map(|s| s.value.load(Ordering::Relaxed))
    }

    /// Unregisters `key`; returns its value if it was registered. Only the thread `key` names
    /// (or its exit hook) may call this for `key`.
    pub fn remove(&self, key: usize) -> Option<u64> {
        if key <= RESERVED {
            return None;
        }
        let slot = self.find(key)?;
        let value = slot.value.load(Ordering::Relaxed);
        // Release pairs with the Acquire of the insert that claims this tombstone next: our
        // read of the value above happens before its write. A compare-and-swap rather than a
        // store, although only this thread moves the slot away from `key`: a broken caller
        // removing one key twice at once then removes it once and counts it once.
        slot.key
            .compare_exchange(key, TOMBSTONE, Ordering::Release, Ordering::Relaxed)
            .ok()?;
        self.live.fetch_sub(1, Ordering::Relaxed);
        Some(value)
    }

    /// Ends `key`'s registration like [`ThreadTable::remove`], but first calls
    /// `leave(slot, value)`: if it returns `true` (it left work for process context under
    /// index `slot`), the slot stays taken until [`ThreadTable::drain_retired`] hands `slot`
    /// over. Returns the value and what `leave` returned, or `None` if `key` was not
    /// registered. Bounded and lock-free; only the thread `key` names (or its exit hook) may
    /// call this for `key`.
    ///
    /// While `leave` runs, the slot still holds `key`, so nobody else touches index `slot`:
    /// a caller keeping per-slot data beside the table may write it there.
    pub fn retire(&self, key: usize, leave: impl FnOnce(usize, u64) -> bool) -> Option<(u64, bool)> {
        if key <= RESERVED {
            return None;
        }
        let mask = self.slots.len().wrapping_sub(1);
        let start = hash(key, mask);
        let (index, slot) = (0..PROBE_WINDOW)
            .map(|i| start.wrapping_add(i) & mask)
            .filter_map(|i| self.slots.get(i).map(|s| (i, s)))
            .find(|(_, s)| s.key.load(Ordering::Acquire) == key)?;
        let value = slot.value.load(Ordering::Relaxed);
        let left = leave(index, value);
        // Release: for `RETIRED`, the drain's Acquire claim sees what `leave` wrote; for
        // `TOMBSTONE`, as in `remove`.
        let to = if left { RETIRED } else { TOMBSTONE };
        slot.key
            .compare_exchange(key, to, Ordering::Release, Ordering::Relaxed)
            .ok()?;
        if !left {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        Some((value, left))
    }

    /// Claims every retired slot in turn: `take(slot)` moves its work out (the slot is the
    /// caller's alone meanwhile); then the slot is free again, and only after that `then` gets
    /// what `take` returned. Process context: it scans the whole table.
    pub fn drain_retired<R>(&self, mut take: impl FnMut(usize) -> R, mut then: impl FnMut(R)) {
        for (index, slot) in self.slots.iter().enumerate() {
            // Acquire pairs with `retire`'s Release: what `leave` wrote happens before `take`.
            if slot
                .key
                .compare_exchange(RETIRED, TAKING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            let taken = take(index);
            // Release pairs with the next insert's claim, as `remove`'s tombstone does.
            slot.key.store(TOMBSTONE, Ordering::Release);
            self.live.fetch_sub(1, Ordering::Relaxed);
            then(taken);
        }
    }

    /// How many slots [`ThreadTable::drain_retired`] would hand over now (a snapshot).
    pub fn retired(&self) -> usize {
        self.slots.iter().filter(|s| s.key.load(Ordering::Relaxed) == RETIRED).count()
    }
}

/// What [`ThreadTable::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The key was registered anew.
    New,
    /// The key was registered already; only its value changed.
    Updated,
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
        assert_eq!(t.insert(2, 1), Err(ThreadTableError::Invalid));
        assert_eq!(t.remove(1), None);
        // Reserved keys never match a free, dead or half-filled slot.
        for reserved in [0, 1, 2, 3, 4] {
            assert_eq!(t.get(reserved), None);
        }
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
            t.insert(k, i as u64).unwrap();
        }
        assert_eq!(t.insert(0xdead_0000, 1), Err(ThreadTableError::Full));
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k), Some(i as u64));
        }
        // Churn far beyond the capacity: tombstones never block registration.
        for round in 0..1000usize {
            let k = keys[round % keys.len()];
            assert!(t.remove(k).is_some());
            t.insert(k, round as u64).unwrap();
            assert_eq!(t.get(k), Some(round as u64));
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
        let mut model: HashMap<usize, u64> = HashMap::new();
        for _ in 0..20_000 {
            let key = 0x1000 + (next() % 300) as usize * 0x40;
            let value = next() as u32 as u64;
            match next() % 3 {
                0 => match t.insert(key, value) {
                    Ok(_) => {
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
                    for round in 0..5000u64 {
                        t.insert(key, round).unwrap();
                        assert_eq!(t.get(key), Some(round));
                        assert_eq!(t.remove(key), Some(round));
                        assert_eq!(t.get(key), None);
                    }
                    t.insert(key, id as u64).unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(t.len(), 8);
        for id in 0..8usize {
            assert_eq!(t.get(0x10_0000 + id * 0x40), Some(id as u64));
        }
    }

    #[test]
    fn retired_slots_stay_taken_until_drained() {
        let t = table(64);
        let mut jobs = [0u64; 64];
        t.insert(0x1000, 7).unwrap();
        t.insert(0x2000, 8).unwrap();
        assert_eq!(t.retire(0x2000, |_, _| false), Some((8, false)));
        assert_eq!(t.len(), 1);
        let mut where_ = None;
        let got = t.retire(0x1000, |slot, value| {
            jobs[slot] = value * 10;
            where_ = Some(slot);
            true
        });
        assert_eq!(got, Some((7, true)));
        assert_eq!(t.get(0x1000), None, "a retired slot names no key");
        assert_eq!(t.retire(0x1000, |_, _| true), None);
        assert_eq!((t.len(), t.retired()), (1, 1));
        // The key registers again: the retired slot is not reused.
        t.insert(0x1000, 9).unwrap();
        assert_eq!(t.len(), 2);
        let mut drained = Vec::new();
        t.drain_retired(|slot| (slot, jobs[slot]), |job| drained.push(job));
        assert_eq!(drained, [(where_.unwrap(), 70)]);
        assert_eq!((t.len(), t.retired()), (1, 0));
        t.drain_retired(|_| panic!("nothing is retired"), |()| {});
        assert_eq!(t.get(0x1000), Some(9));
    }

    #[test]
    fn retired_slots_count_against_the_limit() {
        let t = table(64);
        for i in 0..32usize {
            t.insert(0x1000 + i * 0x40, i as u64).unwrap();
        }
        for i in 0..32usize {
            assert!(t.retire(0x1000 + i * 0x40, |_, _| true).is_some());
        }
        assert_eq!(t.insert(0xdead_0000, 1), Err(ThreadTableError::Full));
        let mut n = 0;
        t.drain_retired(|_| (), |()| n += 1);
        assert_eq!(n, 32);
        assert!(t.insert(0xdead_0000, 1).is_ok());
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
                            let value = ((id as u64) << 24) | (rounds & 0xff_ffff);
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
