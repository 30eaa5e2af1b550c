// SPDX-License-Identifier: GPL-2.0

//! A fixed-capacity hash map from a 64-bit key to a 32-bit value, over storage the caller hands
//! in.
//!
//! gpid uses it as the reverse of the namespace-id table: from a key naming a PID namespace
//! (its inode number or address) to the nsid it was given, which turning a PID into a gpid needs
//! to find quickly.
//!
//! It is open addressing with linear probing, and deletion shifts the following entries back
//! instead of leaving tombstones, so a long-lived table with many inserts and removals does not
//! slow down. At least one entry is always kept empty, which is what ends every probe. With the
//! capacity at least twice the number of entries, every operation takes expected O(1).

use core::ops::DerefMut;

/// One place in an [`NsIndex`]'s storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    key: u64,
    value: u32,
    used: bool,
}

impl IndexEntry {
    /// An empty entry, for filling new storage.
    pub const EMPTY: Self = Self {
        key: 0,
        value: 0,
        used: false,
    };

    /// An empty entry; the same as [`IndexEntry::EMPTY`].
    pub const fn new() -> Self {
        Self::EMPTY
    }
}

impl Default for IndexEntry {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Why an index operation failed.
///
/// The kernel reports these as `EEXIST`, `ENOSPC` and `EINVAL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexError {
    /// The key is already in the index.
    Exists,
    /// The index holds [`NsIndex::max_len`] entries already.
    Full,
    /// The storage handed to [`NsIndex::new`] is not a power of two of at least 2 entries.
    BadCapacity,
}

/// The storage size, in entries, for an index that must hold up to `max_entries` keys: the
/// smallest power of two that is at least `2 * max_entries` (and at least 2), or `None` if that
/// does not fit in `usize`.
///
/// For the namespace index, `max_entries` is `max_nsid + 1`: 512 entries for the default 255
/// namespace ids.
pub const fn capacity_for(max_entries: usize) -> Option<usize> {
    let Some(twice) = max_entries.checked_mul(2) else {
        return None;
    };
    let at_least = if twice < 2 { 2 } else { twice };
    at_least.checked_next_power_of_two()
}

/// Multiplier of Fibonacci hashing: 2^64 divided by the golden ratio, made odd.
const FIB_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// The index itself; `S` is its storage, anything that derefs mutably to `[IndexEntry]`.
#[derive(Debug)]
pub struct NsIndex<S> {
    entries: S,
    /// `capacity - 1`; the capacity is a power of two.
    mask: usize,
    /// `64 - log2(capacity)`: the home slot is the top `log2(capacity)` bits of the product.
    shift: u32,
    len: usize,
}

impl<S> NsIndex<S>
where
    S: DerefMut<Target = [IndexEntry]>,
{
    /// Makes an empty index over `entries`, whose length must be a power of two, at least 2
    /// (see [`capacity_for`]); fails with [`IndexError::BadCapacity`] otherwise.
    ///
    /// Every entry is emptied.
    pub fn new(mut entries: S) -> Result<Self, IndexError> {
        let cap = entries.len();
        if cap < 2 || !cap.is_power_of_two() {
            return Err(IndexError::BadCapacity);
        }
        entries.fill(IndexEntry::EMPTY);
        Ok(Self {
            mask: cap.wrapping_sub(1),
            shift: 64u32.wrapping_sub(cap.trailing_zeros()),
            entries,
            len: 0,
        })
    }

    /// How many entries the storage has.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// The most keys the index takes: one less than the capacity, since an empty entry must
    /// remain to end the probes.
    pub fn max_len(&self) -> usize {
        self.capacity().saturating_sub(1)
    }

    /// How many keys the index holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index holds no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the probe for `key` starts.
    ///
    /// Fibonacci hashing: the high bits of the product depend on every bit of the key, so keys
    /// that differ only in their low bits (aligned addresses) or only in their high bits still
    /// spread. `shift` is at most 63, and wrapping shifts keep any panic path out.
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(FIB_MUL).wrapping_shr(self.shift) as usize) & self.mask
    }

    /// The position of `key` if present, else `Err` with the first empty position of its probe.
    fn find(&self, key: u64) -> Result<usize, Option<usize>> {
        let mut i = self.home(key);
        // Bounded by the capacity rather than trusting that an empty entry exists.
        for _ in 0..self.entries.len() {
            let Some(e) = self.entries.get(i) else {
                break;
            };
            if !e.used {
                return Err(Some(i));
            }
            if e.key == key {
                return Ok(i);
            }
            i = i.wrapping_add(1) & self.mask;
        }
        Err(None)
    }

    /// Adds `key` with `value`.
    ///
    /// Fails with [`IndexError::Exists`] if `key` is present (its value is left alone) and with
    /// [`IndexError::Full`] if the index holds [`max_len`](Self::max_len) keys.
    pub fn insert(&mut self, key: u64, value: u32) -> Result<(), IndexError> {
        let pos = match self.find(key) {
            Ok(_) => return Err(IndexError::Exists),
            Err(pos) => pos,
        };
        if self.len >= self.max_len() {
            return Err(IndexError::Full);
        }
        let Some(e) = pos.and_then(|p| self.entries.get_mut(p)) else {
            return Err(IndexError::Full);
        };
        *e = IndexEntry {
            key,
            value,
            used: true,
        };
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: u64) -> Option<u32> {
        let pos = self.find(key).ok()?;
        self.entries.get(pos).map(|e| e.value)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: u64) -> bool {
        self.find(key).is_ok()
    }

    /// Removes `key` and returns its value, if present.
    pub fn remove(&mut self, key: u64) -> Option<u32> {
        let mut hole = self.find(key).ok()?;
        let value = self.entries.get(hole)?.value;
        // Backward-shift deletion: walk the rest of the cluster and move back into the hole
        // every entry whose probe passed over it, i.e. whose home is not cyclically in
        // (hole, j]. Then no probe for a remaining key meets an empty entry before its key.
        let mut j = hole;
        for _ in 0..self.entries.len() {
            j = j.wrapping_add(1) & self.mask;
            let Some(&e) = self.entries.get(j) else {
                break;
            };
            if !e.used {
                break;
            }
            let from_home = j.wrapping_sub(self.home(e.key)) & self.mask;
            let from_hole = j.wrapping_sub(hole) & self.mask;
            if from_home >= from_hole {
                if let Some(h) = self.entries.get_mut(hole) {
                    *h = e;
                }
                hole = j;
            }
        }
        if let Some(h) = self.entries.get_mut(hole) {
            *h = IndexEntry::EMPTY;
        }
        self.len = self.len.saturating_sub(1);
        Some(value)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::vec::Vec;

    type Index = NsIndex<Vec<IndexEntry>>;

    fn index(cap: usize) -> Index {
        NsIndex::new(std::vec![IndexEntry::EMPTY; cap]).unwrap()
    }

    /// Every key can be reached from its home without crossing an empty entry, and `len` counts
    /// the used entries.
    fn check_invariants(ix: &Index) {
        let cap = ix.capacity();
        let mut used = 0;
        for (pos, e) in ix.entries.iter().enumerate() {
            if !e.used {
                continue;
            }
            used += 1;
            let mut i = ix.home(e.key);
            while i != pos {
                assert!(
                    ix.entries[i].used,
                    "gap at {i} before key {:#x} at {pos}",
                    e.key
                );
                i = (i + 1) % cap;
            }
        }
        assert_eq!(used, ix.len());
        assert!(ix.len() < cap);
    }

    #[test]
    fn capacity_rules() {
        for bad in [0, 1, 3, 6, 100] {
            let r = NsIndex::new(std::vec![IndexEntry::EMPTY; bad]);
            assert_eq!(r.unwrap_err(), IndexError::BadCapacity);
        }
        assert_eq!(capacity_for(0), Some(2));
        assert_eq!(capacity_for(1), Some(2));
        assert_eq!(capacity_for(2), Some(4));
        assert_eq!(capacity_for(3), Some(8));
        assert_eq!(capacity_for(256), Some(512));
        assert_eq!(capacity_for(1 << 22), Some(1 << 23));
        assert_eq!(capacity_for(usize::MAX), None);
        assert_eq!(capacity_for(usize::MAX / 2 + 1), None);
        let ix = index(512);
        assert_eq!((ix.capacity(), ix.max_len(), ix.len()), (512, 511, 0));
        assert!(ix.is_empty());
    }

    #[test]
    fn new_empties_storage() {
        let mut storage = [IndexEntry::EMPTY; 4];
        storage[1] = IndexEntry {
            key: 5,
            value: 5,
            used: true,
        };
        let ix = NsIndex::new(&mut storage[..]).unwrap();
        assert_eq!(ix.get(5), None);
        assert!(ix.is_empty());
    }

    #[test]
    fn basic() {
        let mut ix = index(8);
        assert_eq!(ix.insert(0xffff_8880_1234_5000, 1), Ok(()));
        assert_eq!(ix.insert(0xffff_8880_1234_6000, 2), Ok(()));
        assert_eq!(ix.insert(0xffff_8880_1234_5000, 3), Err(IndexError::Exists));
        assert_eq!(ix.get(0xffff_8880_1234_5000), Some(1));
        assert!(ix.contains_key(0xffff_8880_1234_6000));
        assert_eq!(ix.get(0), None);
        assert_eq!(ix.remove(0xffff_8880_1234_5000), Some(1));
        assert_eq!(ix.remove(0xffff_8880_1234_5000), None);
        assert_eq!(ix.get(0xffff_8880_1234_6000), Some(2));
        assert_eq!(ix.len(), 1);
        // Key 0 and value 0 are ordinary.
        assert_eq!(ix.insert(0, 0), Ok(()));
        assert_eq!(ix.get(0), Some(0));
        check_invariants(&ix);
    }

    #[test]
    fn full_table() {
        for cap in [2usize, 4, 16] {
            let mut ix = index(cap);
            for k in 0..cap as u64 - 1 {
                assert_eq!(ix.insert(k * 4096, k as u32), Ok(()));
            }
            assert_eq!(ix.len(), ix.max_len());
            assert_eq!(ix.insert(u64::MAX, 9), Err(IndexError::Full));
            // A present key is still reported as such.
            assert_eq!(ix.insert(0, 9), Err(IndexError::Exists));
            // Misses end at the one empty entry.
            assert_eq!(ix.get(u64::MAX), None);
            assert_eq!(ix.remove(u64::MAX), None);
            for k in 0..cap as u64 - 1 {
                assert_eq!(ix.get(k * 4096), Some(k as u32));
            }
            check_invariants(&ix);
            assert_eq!(ix.remove(0), Some(0));
            assert_eq!(ix.insert(u64::MAX, 9), Ok(()));
            check_invariants(&ix);
            for k in 1..cap as u64 - 1 {
                assert_eq!(ix.remove(k * 4096), Some(k as u32));
                check_invariants(&ix);
            }
            assert_eq!(ix.remove(u64::MAX), Some(9));
            assert!(ix.is_empty());
        }
    }

    #[test]
    fn spreads_aligned_keys() {
        // Page-aligned addresses, and sequential inode numbers, should not pile up.
        for (base, step) in [(0xffff_8880_0000_0000u64, 4096u64), (4_026_531_836, 1)] {
            let mut ix = index(512);
            for i in 0..256 {
                ix.insert(base + i * step, i as u32).unwrap();
            }
            let mut longest = 0;
            for i in 0..256 {
                let key = base + i * step;
                let pos = ix.find(key).unwrap();
                longest = longest.max((pos + 512 - ix.home(key)) % 512);
            }
            assert!(longest < 16, "probe of {longest} for step {step}");
        }
    }

    /// Keys whose home is one of the last two or the first entry of a table of capacity `cap`,
    /// so that clusters form and wrap around the end of the storage.
    fn colliding_keys(cap: usize, n: usize) -> Vec<u64> {
        let ix = index(cap);
        (0u64..)
            .map(|k| k.wrapping_mul(0x1000).wrapping_add(0xffff_8880_0000_0000))
            .filter(|&k| {
                let h = ix.home(k);
                h == 0 || h + 2 >= cap
            })
            .take(n)
            .collect()
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(usize, u32),
        Remove(usize),
        Get(usize),
    }

    fn ops(pool: usize) -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![
            3 => (0..pool, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0..pool).prop_map(Op::Remove),
            2 => (0..pool).prop_map(Op::Get),
        ];
        proptest::collection::vec(op, 0..300)
    }

    fn run_model(cap: usize, keys: &[u64], ops: Vec<Op>) -> Result<(), TestCaseError> {
        let mut ix = index(cap);
        let mut model: HashMap<u64, u32> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v) => {
                    let key = keys[k];
                    let want = if model.contains_key(&key) {
                        Err(IndexError::Exists)
                    } else if model.len() == cap - 1 {
                        Err(IndexError::Full)
                    } else {
                        model.insert(key, v);
                        Ok(())
                    };
                    prop_assert_eq!(ix.insert(key, v), want);
                }
                Op::Remove(k) => prop_assert_eq!(ix.remove(keys[k]), model.remove(&keys[k])),
                Op::Get(k) => prop_assert_eq!(ix.get(keys[k]), model.get(&keys[k]).copied()),
            }
            prop_assert_eq!(ix.len(), model.len());
            check_invariants(&ix);
        }
        for (&k, &v) in &model {
            prop_assert_eq!(ix.get(k), Some(v));
        }
        for &k in keys {
            prop_assert_eq!(ix.get(k), model.get(&k).copied());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn matches_model_random_keys(
            cap_log in 1u32..7,
            keys in proptest::collection::vec(any::<u64>(), 1..100),
            ops in ops(100),
        ) {
            let ops = ops.into_iter().map(|op| match op {
                Op::Insert(k, v) => Op::Insert(k % keys.len(), v),
                Op::Remove(k) => Op::Remove(k % keys.len()),
                Op::Get(k) => Op::Get(k % keys.len()),
            }).collect();
            run_model(1 << cap_log, &keys, ops)?;
        }

        #[test]
        fn matches_model_colliding_keys(cap_log in 1u32..6, ops in ops(40)) {
            let cap = 1usize << cap_log;
            run_model(cap, &colliding_keys(cap, 40), ops)?;
        }
    }
}
