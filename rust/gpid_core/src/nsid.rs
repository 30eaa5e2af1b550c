// SPDX-License-Identifier: GPL-2.0

//! The namespace-id allocator.
//!
//! [`NsidTable`] hands out the ids that name PID namespaces in gpids and keeps one payload per id
//! (in the kernel, a reference to the namespace). It owns its storage, a slice of [`Slot`]s of
//! any container type that derefs to one (`KVec` in the kernel, `Vec` in tests), so the kernel
//! can keep the whole table in one struct behind its mutex. It never allocates.
//!
//! Ids are handed out cyclically, like `idr_alloc_cyclic()`: the search for a free id starts
//! right after the last id handed out and wraps around, so a freed id is reused as late as
//! possible and a stale gpid is unlikely to name a new namespace. Each slot also carries a
//! generation that changes whenever the slot is allocated, so that `(nsid, generation)` does not
//! repeat for different namespaces until the 32-bit generation wraps.

use core::ops::DerefMut;

/// One namespace id's place in an [`NsidTable`].
///
/// Storage is made of `max_nsid + 1` of these, all [`Slot::new`]; slot 0 stays unused, since
/// nsid 0 means "unqualified".
#[derive(Clone, Debug)]
pub struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

impl<T> Slot<T> {
    /// An empty slot, for filling new storage.
    pub const fn new() -> Self {
        Self {
            generation: 0,
            value: None,
        }
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an allocation failed.
///
/// The kernel reports these as `ENOSPC`, `EEXIST` and `EINVAL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// Every namespace id is in use.
    NoSpace,
    /// The namespace id asked for is in use.
    Exists,
    /// The namespace id asked for is 0 or above the largest one; or, from [`NsidTable::new`],
    /// the storage is too small or too large.
    Invalid,
}

/// The allocator state together with its storage.
///
/// `S` is the storage: anything that derefs mutably to `[Slot<T>]`.
#[derive(Debug)]
pub struct NsidTable<S> {
    slots: S,
    max_nsid: u32,
    /// The id handed out last by [`alloc`](Self::alloc) (0 before the first), where the next
    /// search starts.
    cursor: u32,
    in_use: u32,
}

/// The generation following `generation`. It skips 0 so that a live slot never has generation 0,
/// leaving 0 free to mean "no generation" to users of the table.
const fn next_gen(generation: u32) -> u32 {
    match generation.wrapping_add(1) {
        0 => 1,
        g => g,
    }
}

impl<T, S> NsidTable<S>
where
    S: DerefMut<Target = [Slot<T>]>,
{
    /// Makes an empty table over `slots`, handing out ids `1..slots.len()`; allocate
    /// `max_nsid + 1` slots to use ids up to `max_nsid`.
    ///
    /// Every slot is emptied (dropping any payload left in it). Fails with
    /// [`AllocError::Invalid`] if there are fewer than 2 slots (no id to hand out) or more than
    /// `u32::MAX` (ids are `u32` and the cyclic search must not overflow).
    pub fn new(mut slots: S) -> Result<Self, AllocError> {
        let max_nsid = slots
            .len()
            .checked_sub(1)
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| (1..u32::MAX).contains(m))
            .ok_or(AllocError::Invalid)?;
        for slot in slots.iter_mut() {
            slot.value = None;
        }
        Ok(Self {
            slots,
            max_nsid,
            cursor: 0,
            in_use: 0,
        })
    }

    /// The largest id this table hands out.
    pub fn max_nsid(&self) -> u32 {
        self.max_nsid
    }

    /// How many ids are in use.
    pub fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Whether every id is in use.
    pub fn is_full(&self) -> bool {
        self.in_use >= self.max_nsid
    }

    /// Hands out the next free id for `value`, cyclically, and returns `(nsid, generation)`.
    ///
    /// If all ids are in use, fails with [`AllocError::NoSpace`] and gives `value` back, so that
    /// the caller can drop it where it chooses (the kernel: outside its lock).
    ///
    /// Takes time linear in the number of ids in the worst case (a nearly full table).
    pub fn alloc(&mut self, value: T) -> Result<(u32, u32), (AllocError, T)> {
        if self.is_full() {
            return Err((AllocError::NoSpace, value));
        }
        // `cursor < max_nsid < u32::MAX`, so `cursor + 1` cannot overflow, and an empty first
        // range (cursor == max_nsid) just means starting over at 1.
        let after = self.cursor.saturating_add(1)..=self.max_nsid;
        let before = 1..=self.cursor;
        for nsid in after.chain(before) {
            let Some(slot) = self.slots.get_mut(nsid as usize) else {
                break;
            };
            if slot.value.is_none() {
                let generation = next_gen(slot.generation);
                slot.generation = generation;
                slot.value = Some(value);
                self.in_use = self.in_use.saturating_add(1);
                self.cursor = nsid;
                return Ok((nsid, generation));
            }
        }
        // Not reached while `in_use` counts the live slots; kept as a safe answer.
        Err((AllocError::NoSpace, value))
    }

    /// Takes the id `nsid` for `value` (for restoring a checkpoint) and returns its generation.
    ///
    /// Fails with [`AllocError::Invalid`] if `nsid` is 0 or above [`max_nsid`](Self::max_nsid),
    /// and with [`AllocError::Exists`] if it is in use, giving `value` back in both cases.
    ///
    /// The cyclic cursor is left where it is, as `idr_alloc()` leaves the one of
    /// `idr_alloc_cyclic()`: [`alloc`](Self::alloc) goes on from the id it handed out last and
    /// simply skips this one while it is taken, so restoring a namespace does not make later
    /// allocations jump ahead, nor make freed ids come back sooner.
    pub fn alloc_at(&mut self, nsid: u32, value: T) -> Result<u32, (AllocError, T)> {
        if nsid == 0 || nsid > self.max_nsid {
            return Err((AllocError::Invalid, value));
        }
        let Some(slot) = self.slots.get_mut(nsid as usize) else {
            return Err((AllocError::Invalid, value));
        };
        if slot.value.is_some() {
            return Err((AllocError::Exists, value));
        }
        let generation = next_gen(slot.generation);
        slot.generation = generation;
        slot.value = Some(value);
        self.in_use = self.in_use.saturating_add(1);
        Ok(generation)
    }

    /// Frees `nsid` and returns its payload, or `None` if it was not in use (or out of range).
    ///
    /// The generation stays until the slot is allocated again.
    pub fn free(&mut self, nsid: u32) -> Option<T> {
        let value = self.live_slot_mut(nsid)?.value.take();
        self.in_use = self.in_use.saturating_sub(1);
        value
    }

    /// Frees `nsid` only if it is in use with generation `generation`, returning its payload.
    ///
    /// For callers that remembered `(nsid, generation)` and must not free an id that has since
    /// been freed and handed to another namespace.
    pub fn free_if_gen(&mut self, nsid: u32, generation: u32) -> Option<T> {
        let slot = self.live_slot_mut(nsid)?;
        if slot.generation != generation {
            return None;
        }
        let value = slot.value.take();
        self.in_use = self.in_use.saturating_sub(1);
        value
    }

    /// The payload and generation of `nsid`, if it is in use.
    pub fn get(&self, nsid: u32) -> Option<(&T, u32)> {
        if nsid == 0 || nsid > self.max_nsid {
            return None;
        }
        let slot = self.slots.get(nsid as usize)?;
        slot.value.as_ref().map(|v| (v, slot.generation))
    }

    /// Mutable access to the payload of `nsid`, if it is in use.
    pub fn get_mut(&mut self, nsid: u32) -> Option<&mut T> {
        if nsid == 0 || nsid > self.max_nsid {
            return None;
        }
        self.slots.get_mut(nsid as usize)?.value.as_mut()
    }

    /// The ids in use, in increasing order, as `(nsid, generation, payload)`.
    pub fn iter<'a>(&'a self) -> impl Iterator<Item = (u32, u32, &'a T)> + 'a
    where
        T: 'a,
    {
        let end = (self.max_nsid as usize).saturating_add(1);
        self.slots
            .get(1..end)
            .unwrap_or(&[])
            .iter()
            .zip(1..=self.max_nsid)
            .filter_map(|(slot, nsid)| slot.value.as_ref().map(|v| (nsid, slot.generation, v)))
    }

    fn live_slot_mut(&mut self, nsid: u32) -> Option<&mut Slot<T>> {
        if nsid == 0 || nsid > self.max_nsid {
            return None;
        }
        self.slots
            .get_mut(nsid as usize)
            .filter(|s| s.value.is_some())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    type Table = NsidTable<Vec<Slot<u64>>>;

    fn table(max_nsid: usize) -> Table {
        NsidTable::new((0..=max_nsid).map(|_| Slot::new()).collect()).unwrap()
    }

    fn nsids(t: &Table) -> Vec<u32> {
        t.iter().map(|(n, _, _)| n).collect()
    }

    #[test]
    fn storage_size() {
        let none: Vec<Slot<u64>> = Vec::new();
        assert_eq!(NsidTable::new(none).unwrap_err(), AllocError::Invalid);
        assert_eq!(
            NsidTable::new(std::vec![Slot::<u64>::new()]).unwrap_err(),
            AllocError::Invalid
        );
        let t = table(1);
        assert_eq!(t.max_nsid(), 1);
        let t = table(255);
        assert_eq!(t.max_nsid(), 255);
        assert_eq!(t.in_use(), 0);
    }

    #[test]
    fn new_empties_storage() {
        let mut slots: Vec<Slot<u64>> = (0..4).map(|_| Slot::new()).collect();
        slots[2].value = Some(9);
        let t = NsidTable::new(slots).unwrap();
        assert_eq!(t.in_use(), 0);
        assert_eq!(t.get(2), None);
    }

    #[test]
    fn borrowed_storage() {
        let mut storage: [Slot<u8>; 4] = Default::default();
        let mut t = NsidTable::new(&mut storage[..]).unwrap();
        assert_eq!(t.alloc(7), Ok((1, 1)));
        assert_eq!(t.get(1), Some((&7, 1)));
    }

    #[test]
    fn fill_then_no_space() {
        let mut t = table(255);
        for i in 1..=255u32 {
            let (nsid, generation) = t.alloc(u64::from(i) * 10).unwrap();
            assert_eq!(nsid, i);
            assert_eq!(generation, 1);
        }
        assert!(t.is_full());
        assert_eq!(t.alloc(1), Err((AllocError::NoSpace, 1)));
        assert_eq!(t.in_use(), 255);
        assert_eq!(t.free(100), Some(1000));
        assert_eq!(t.alloc(5), Ok((100, 2)));
        assert_eq!(t.alloc(6), Err((AllocError::NoSpace, 6)));
    }

    #[test]
    fn cyclic_order() {
        let mut t = table(5);
        assert_eq!(t.alloc(1).unwrap().0, 1);
        assert_eq!(t.alloc(2).unwrap().0, 2);
        assert_eq!(t.alloc(3).unwrap().0, 3);
        assert_eq!(t.free(2), Some(2));
        // 2 is free but the search goes on after 3.
        assert_eq!(t.alloc(4).unwrap().0, 4);
        assert_eq!(t.alloc(5).unwrap().0, 5);
        // Wrapped: the lowest free id comes back.
        assert_eq!(t.alloc(6).unwrap().0, 2);
        assert_eq!(t.free(1), Some(1));
        assert_eq!(t.free(4), Some(4));
        // After 2 the search finds 4 before wrapping to 1.
        assert_eq!(t.alloc(7).unwrap().0, 4);
        assert_eq!(t.alloc(8).unwrap().0, 1);
        assert_eq!(nsids(&t), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn generation_changes_on_reuse() {
        let mut t = table(2);
        let (n, g1) = t.alloc(1).unwrap();
        assert_eq!(t.free(n), Some(1));
        assert_eq!(t.alloc(2).unwrap().0, 2);
        let (n2, g2) = t.alloc(3).unwrap();
        assert_eq!(n2, n);
        assert_ne!(g1, g2);
        assert_eq!(t.get(n), Some((&3, g2)));
        // Freeing with the old generation leaves the new owner alone.
        assert_eq!(t.free_if_gen(n, g1), None);
        assert_eq!(t.free_if_gen(n, g2), Some(3));
        assert_eq!(t.free_if_gen(n, g2), None);
        assert_eq!(t.alloc_at(n, 4), Ok(next_gen(g2)));
    }

    #[test]
    fn generation_skips_zero() {
        assert_eq!(next_gen(0), 1);
        assert_eq!(next_gen(u32::MAX), 1);
        assert_eq!(next_gen(u32::MAX - 1), u32::MAX);
        let mut t = table(1);
        t.slots[1].generation = u32::MAX;
        assert_eq!(t.alloc(0), Ok((1, 1)));
    }

    #[test]
    fn alloc_at() {
        let mut t = table(10);
        assert_eq!(t.alloc_at(0, 1), Err((AllocError::Invalid, 1)));
        assert_eq!(t.alloc_at(11, 1), Err((AllocError::Invalid, 1)));
        assert_eq!(t.alloc_at(u32::MAX, 1), Err((AllocError::Invalid, 1)));
        assert_eq!(t.alloc_at(5, 50), Ok(1));
        assert_eq!(t.alloc_at(5, 51), Err((AllocError::Exists, 51)));
        assert_eq!(t.get(5), Some((&50, 1)));
        // The cursor did not move: allocation starts at 1 and skips the taken 5.
        assert_eq!(t.alloc(1).unwrap().0, 1);
        assert_eq!(t.alloc_at(3, 30), Ok(1));
        assert_eq!(t.alloc(2).unwrap().0, 2);
        assert_eq!(t.alloc(4).unwrap().0, 4);
        assert_eq!(t.alloc(6).unwrap().0, 6);
        assert_eq!(nsids(&t), [1, 2, 3, 4, 5, 6]);
        assert_eq!(t.in_use(), 6);
    }

    #[test]
    fn free_returns_payload() {
        let mut t = table(3);
        let (n, _) = t.alloc(77).unwrap();
        assert_eq!(t.free(0), None);
        assert_eq!(t.free(4), None);
        assert_eq!(t.free(u32::MAX), None);
        assert_eq!(t.free(2), None);
        assert_eq!(t.free(n), Some(77));
        assert_eq!(t.free(n), None);
        assert_eq!(t.in_use(), 0);
        assert_eq!(t.get(n), None);
        assert_eq!(t.get(0), None);
    }

    #[test]
    fn iter_in_order() {
        let mut t = table(6);
        for v in 0..6 {
            t.alloc(v).unwrap();
        }
        t.free(1);
        t.free(4);
        let all: Vec<_> = t.iter().map(|(n, g, v)| (n, g, *v)).collect();
        assert_eq!(all, [(2, 1, 1), (3, 1, 2), (5, 1, 4), (6, 1, 5)]);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Alloc,
        AllocAt(u32),
        Free(u32),
        FreeIfGen(u32, bool),
        Get(u32),
    }

    fn op(max_nsid: u32) -> impl Strategy<Value = Op> {
        // Ids slightly past the range exercise the Invalid paths.
        let id = 0..=max_nsid + 2;
        prop_oneof![
            4 => Just(Op::Alloc),
            1 => id.clone().prop_map(Op::AllocAt),
            3 => id.clone().prop_map(Op::Free),
            1 => (id.clone(), any::<bool>()).prop_map(|(n, b)| Op::FreeIfGen(n, b)),
            1 => id.prop_map(Op::Get),
        ]
    }

    /// The obvious implementation: a map of live ids, a generation per id and the cursor.
    struct Model {
        max: u32,
        live: BTreeMap<u32, u64>,
        gens: BTreeMap<u32, u32>,
        cursor: u32,
    }

    impl Model {
        fn take(&mut self, nsid: u32, v: u64) -> u32 {
            let generation = self.gens.entry(nsid).or_insert(0);
            *generation += 1;
            self.live.insert(nsid, v);
            *generation
        }

        fn alloc(&mut self, v: u64) -> Option<(u32, u32)> {
            let nsid = (self.cursor + 1..=self.max)
                .chain(1..=self.cursor)
                .find(|n| !self.live.contains_key(n))?;
            self.cursor = nsid;
            Some((nsid, self.take(nsid, v)))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn matches_model(max in 1u32..12, ops in proptest::collection::vec(op(12), 0..200)) {
            let mut t = table(max as usize);
            let mut m = Model { max, live: BTreeMap::new(), gens: BTreeMap::new(), cursor: 0 };
            // Every (nsid, generation) handed out, to check none repeats.
            let mut seen = std::collections::BTreeSet::new();
            for (v, op) in (1u64..).zip(ops) {
                match op {
                    Op::Alloc => {
                        let got = t.alloc(v);
                        match m.alloc(v) {
                            Some(want) => {
                                prop_assert_eq!(got, Ok(want));
                                prop_assert!(seen.insert(want));
                            }
                            None => prop_assert_eq!(got, Err((AllocError::NoSpace, v))),
                        }
                    }
                    Op::AllocAt(n) => {
                        let got = t.alloc_at(n, v);
                        if n == 0 || n > max {
                            prop_assert_eq!(got, Err((AllocError::Invalid, v)));
                        } else if m.live.contains_key(&n) {
                            prop_assert_eq!(got, Err((AllocError::Exists, v)));
                        } else {
                            let generation = m.take(n, v);
                            prop_assert_eq!(got, Ok(generation));
                            prop_assert!(seen.insert((n, generation)));
                        }
                    }
                    Op::Free(n) => prop_assert_eq!(t.free(n), m.live.remove(&n)),
                    Op::FreeIfGen(n, right) => {
                        let generation = m.gens.get(&n).copied().unwrap_or(0);
                        let generation = if right { generation } else { generation.wrapping_add(7) };
                        let want = if right { m.live.remove(&n) } else { None };
                        prop_assert_eq!(t.free_if_gen(n, generation), want);
                    }
                    Op::Get(n) => {
                        let want = m.live.get(&n).map(|v| (v, m.gens[&n]));
                        prop_assert_eq!(t.get(n), want);
                    }
                }
                prop_assert_eq!(t.in_use() as usize, m.live.len());
                prop_assert_eq!(t.is_full(), m.live.len() == max as usize);
                let live: Vec<_> = t.iter().map(|(n, g, v)| (n, g, *v)).collect();
                let want: Vec<_> = m.live.iter().map(|(&n, &v)| (n, m.gens[&n], v)).collect();
                prop_assert_eq!(live, want);
            }
        }
    }
}
