// SPDX-License-Identifier: GPL-2.0

//! The slot allocator of a [`Layout`]: which namespace holds which slot of each class.
//!
//! [`SlotTable`] is two [`NsidTable`]s, one per [`Class`], so each class keeps what the nsid
//! allocator gives: cyclic allocation (a freed slot is reused as late as possible), a generation
//! per slot that changes at every reuse, exact allocation for checkpoint/restore, and storage
//! handed in by the caller. A namespace is known by its *owner* slot, the one it took first
//! ([`Binding::owner`]); the owner's entry holds the caller's payload (in the kernel, the
//! namespace reference) and, after a promotion, the wide slot that was added. That wide slot's
//! entry points back at the owner, so any slot of a namespace leads to its payload and its
//! [`Binding`] in two table lookups, whatever the number of namespaces bound.
//!
//! The rules of [`crate::binding`] are enforced here: a namespace is bound by its first slot
//! ([`bind`](SlotTable::bind)), and can then only be promoted, once, to a wide slot
//! ([`promote`](SlotTable::promote)), never given a narrow one. Freeing a namespace frees both
//! of its slots.

use core::ops::DerefMut;

use super::binding::{Binding, Held};
use super::encoding::EncodingError;
use super::layout::{Class, Decoded, Layout, SlotId};
use super::nsid::{AllocError, NsidTable, Slot};

/// What one slot of a [`SlotTable`] holds; storage is made of [`Slot::new`]s of these.
#[derive(Clone, Debug)]
pub struct Entry<T>(Kind<T>);

#[derive(Clone, Debug)]
enum Kind<T> {
    /// Allocated and not filled yet: exists only inside one call of `bind_owner`, which takes
    /// the slot before it moves the payload in, so that a failed allocation can give the
    /// payload back.
    Reserved,
    /// The namespace's owner slot: the payload and, for a narrow owner that was promoted, its
    /// wide slot.
    Owner { value: T, wide: Option<Held> },
    /// A wide slot added by promotion: the narrow owner slot of its namespace.
    Promoted { narrow: Held },
}

/// Why binding a slot failed.
///
/// The kernel would report these as `ENOSPC`, `EEXIST`, `EINVAL` and `EBUSY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindError {
    /// Every slot of this class is in use (or the layout has none).
    NoSpace(Class),
    /// The slot asked for is in use.
    Exists,
    /// The slot asked for is not in the layout, or the namespace named is not bound; or, from
    /// [`SlotTable::new`], the storage does not match the layout.
    Invalid,
    /// The namespace holds a wide slot already (it was bound wide, or promoted): it can take no
    /// other slot.
    HasWide,
}

/// A gpid resolved by [`SlotTable::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved<'a, T> {
    /// A plain PID, read in the caller's own namespace.
    Unqualified(u32),
    /// The canonical gpid of PID `nr` of a bound namespace.
    Qualified {
        /// The namespace's payload.
        value: &'a T,
        /// The slots the namespace holds.
        binding: Binding,
        /// The slot the gpid lies in.
        slot: SlotId,
        /// The PID inside the namespace.
        nr: u32,
    },
}

/// The id of `slot` in its class's [`NsidTable`], whose ids start at 1.
const fn table_id(slot: SlotId) -> Option<u32> {
    match slot.class {
        Class::Wide => Some(slot.index),
        Class::Narrow => slot.index.checked_add(1),
    }
}

/// The slot of `class` with table id `id` (at least 1, as the table hands out).
const fn slot_of(class: Class, id: u32) -> SlotId {
    SlotId {
        class,
        index: match class {
            Class::Wide => id,
            Class::Narrow => id.saturating_sub(1),
        },
    }
}

const fn bind_error(e: AllocError, class: Class) -> BindError {
    match e {
        AllocError::NoSpace => BindError::NoSpace(class),
        AllocError::Exists => BindError::Exists,
        AllocError::Invalid => BindError::Invalid,
    }
}

/// The table of one class over `storage`, which must have `slots + 1` entries as
/// [`NsidTable::new`] wants; `None` for a class the layout has no slots of.
fn class_table<T, S>(slots: u32, storage: S) -> Result<Option<NsidTable<S>>, BindError>
where
    S: DerefMut<Target = [Slot<T>]>,
{
    let len = usize::try_from(slots)
        .ok()
        .and_then(|s| s.checked_add(1))
        .ok_or(BindError::Invalid)?;
    if storage.len() != len {
        return Err(BindError::Invalid);
    }
    if slots == 0 {
        return Ok(None);
    }
    NsidTable::new(storage)
        .map(Some)
        .map_err(|_| BindError::Invalid)
}

/// The slots of both classes of a [`Layout`], with one payload per bound namespace.
///
/// `S` is the storage of each class: anything that derefs mutably to `[Slot<Entry<T>>]`.
#[derive(Debug)]
pub struct SlotTable<S> {
    layout: Layout,
    wide: Option<NsidTable<S>>,
    narrow: Option<NsidTable<S>>,
}

impl<T, S> SlotTable<S>
where
    S: DerefMut<Target = [Slot<Entry<T>>]>,
{
    /// Makes an empty table for `layout` over `wide` and `narrow`, which must have
    /// `layout.slots(class) + 1` entries each (entry 0 stays unused, as in [`NsidTable`]).
    ///
    /// Every entry is emptied. Fails with [`BindError::Invalid`] if a storage has another
    /// length.
    pub fn new(layout: Layout, wide: S, narrow: S) -> Result<Self, BindError> {
        Ok(Self {
            layout,
            wide: class_table(layout.slots(Class::Wide), wide)?,
            narrow: class_table(layout.slots(Class::Narrow), narrow)?,
        })
    }

    /// The layout the table allocates slots of.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// How many slots of `class` are in use.
    pub fn in_use(&self, class: Class) -> u32 {
        self.table(class).map_or(0, |t| t.in_use())
    }

    /// Whether every slot of `class` is in use.
    pub fn is_full(&self, class: Class) -> bool {
        match self.table(class) {
            Some(t) => t.is_full(),
            None => true,
        }
    }

    /// Binds a new namespace to the next free slot of `class`, cyclically, and returns the slot
    /// and its generation.
    ///
    /// [`Class::Narrow`] is the class for a namespace's first PID below `2^narrow_bits`, and
    /// [`Class::Wide`] for a larger one; a caller may also bind [`Class::Wide`] when the narrow
    /// slots have run out, since a namespace bound wide keeps that one slot for good.
    ///
    /// Fails with [`BindError::NoSpace`] and gives `value` back.
    pub fn bind(&mut self, class: Class, value: T) -> Result<(SlotId, u32), (BindError, T)> {
        self.bind_owner(class, None, value)
    }

    /// Binds a new namespace to exactly `slot`, for restoring a checkpoint, and returns the
    /// slot's generation. The class's cyclic cursor stays where it is, as in
    /// [`NsidTable::alloc_at`].
    ///
    /// A restored namespace that held both a narrow and a wide slot is bound by its narrow slot
    /// first, then [`promote_at`](Self::promote_at).
    ///
    /// Fails with [`BindError::Invalid`] if the layout has no such slot and with
    /// [`BindError::Exists`] if it is in use, giving `value` back.
    pub fn bind_at(&mut self, slot: SlotId, value: T) -> Result<u32, (BindError, T)> {
        self.bind_owner(slot.class, Some(slot.index), value)
            .map(|(_, generation)| generation)
    }

    /// Adds the next free wide slot to the namespace that holds `slot`, a narrow one (a
    /// promotion, for its first PID the narrow slot cannot hold), and returns the wide slot
    /// and its generation.
    ///
    /// Fails with [`BindError::Invalid`] if no namespace holds `slot`, with
    /// [`BindError::HasWide`] if that namespace holds a wide slot already, and with
    /// [`BindError::NoSpace`] if every wide slot is in use.
    pub fn promote(&mut self, slot: SlotId) -> Result<(SlotId, u32), BindError> {
        self.add_wide(slot, None)
    }

    /// As [`promote`](Self::promote), but to exactly the wide slot `wide` (checkpoint/restore);
    /// returns its generation.
    ///
    /// Fails as `promote` does about the namespace, then with [`BindError::Invalid`] if `wide`
    /// is not a wide slot of the layout and with [`BindError::Exists`] if it is in use.
    pub fn promote_at(&mut self, slot: SlotId, wide: SlotId) -> Result<u32, BindError> {
        if wide.class != Class::Wide {
            return Err(BindError::Invalid);
        }
        self.add_wide(slot, Some(wide.index))
            .map(|(_, generation)| generation)
    }

    /// The payload and the binding of the namespace that holds `slot`, if one does.
    pub fn get(&self, slot: SlotId) -> Option<(&T, Binding)> {
        let (kind, this) = self.entry(slot)?;
        match (slot.class, kind) {
            (Class::Narrow, Kind::Owner { value, wide }) => Some((
                value,
                Binding {
                    narrow: Some(this),
                    wide: *wide,
                },
            )),
            (Class::Wide, Kind::Owner { value, wide: None }) => Some((
                value,
                Binding {
                    narrow: None,
                    wide: Some(this),
                },
            )),
            (Class::Wide, Kind::Promoted { narrow }) => {
                let (kind, owner) = self.entry(SlotId::narrow(narrow.index))?;
                match kind {
                    // Both links must agree, generations included: a broken invariant then
                    // reads as an unbound slot rather than as another namespace.
                    Kind::Owner {
                        value,
                        wide: Some(w),
                    } if owner == *narrow && *w == this => Some((
                        value,
                        Binding {
                            narrow: Some(owner),
                            wide: Some(this),
                        },
                    )),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The binding of the namespace that holds `slot`, if one does.
    pub fn binding(&self, slot: SlotId) -> Option<Binding> {
        self.get(slot).map(|(_, binding)| binding)
    }

    /// Mutable access to the payload of the namespace that holds `slot`.
    pub fn get_mut(&mut self, slot: SlotId) -> Option<&mut T> {
        let owner = self.binding(slot)?.owner()?;
        match self.entry_mut(owner)? {
            Entry(Kind::Owner { value, .. }) => Some(value),
            _ => None,
        }
    }

    /// The namespace that PID `nr` in `slot` (as [`Layout::decode`] found it) names: the one
    /// holding `slot`, if this is its canonical gpid of `nr`. Constant time.
    pub fn lookup(&self, slot: SlotId, nr: u32) -> Option<(&T, Binding)> {
        let (value, binding) = self.get(slot)?;
        binding
            .names(self.layout, slot, nr)
            .then_some((value, binding))
    }

    /// Resolves `gpid`: a plain PID, the canonical gpid of a bound namespace's PID, or
    /// (`Ok(None)`) a well-formed value that names nothing: its slot is free, or it is not
    /// its namespace's canonical gpid for that PID. Constant time.
    ///
    /// Fails with [`EncodingError::Invalid`] where [`Layout::decode`] does.
    pub fn resolve(&self, gpid: u32) -> Result<Option<Resolved<'_, T>>, EncodingError> {
        Ok(match self.layout.decode(gpid)? {
            Decoded::Unqualified(nr) => Some(Resolved::Unqualified(nr)),
            Decoded::Qualified { slot, nr } => {
                self.lookup(slot, nr)
                    .map(|(value, binding)| Resolved::Qualified {
                        value,
                        binding,
                        slot,
                        nr,
                    })
            }
        })
    }

    /// Frees the namespace that holds `slot`, both of its slots, and returns its payload; `None`
    /// if no namespace holds `slot`. Generations stay until the slots are allocated again.
    pub fn free(&mut self, slot: SlotId) -> Option<T> {
        let binding = self.binding(slot)?;
        let owner = binding.owner()?;
        if let (Some(_), Some(wide)) = (binding.narrow, binding.wide) {
            drop(self.free_slot(SlotId::wide(wide.index)));
        }
        match self.free_slot(owner)? {
            Entry(Kind::Owner { value, .. }) => Some(value),
            _ => None,
        }
    }

    /// Frees the namespace that holds `slot` as [`free`](Self::free) does, but only if `slot`
    /// has generation `generation`: for callers that remembered a slot and its generation and
    /// must not free a namespace that has since taken the slot.
    pub fn free_if_gen(&mut self, slot: SlotId, generation: u32) -> Option<T> {
        let (_, held) = self.entry(slot)?;
        if held.generation != generation {
            return None;
        }
        self.free(slot)
    }

    /// Frees the namespaces whose payload `dead` accepts, in the order of their owners'
    /// compact ids ([`Layout::id`]), until `out` is full; moves their payloads into `out` and
    /// returns how many, so that the caller can drop them where it chooses (the kernel: after
    /// releasing its lock).
    ///
    /// Takes time linear in the number of slots.
    pub fn reclaim(&mut self, mut dead: impl FnMut(&T) -> bool, out: &mut [Option<T>]) -> usize {
        let mut n = 0;
        for id in 1..=self.layout.max_id() {
            let Some(place) = out.get_mut(n) else {
                break;
            };
            let Some(slot) = self.layout.slot(id) else {
                continue;
            };
            let is_dead = self
                .get(slot)
                .is_some_and(|(value, binding)| binding.owner() == Some(slot) && dead(value));
            if is_dead {
                *place = self.free(slot);
                n = n.saturating_add(1);
            }
        }
        n
    }

    /// The bound namespaces in the order of their owners' compact ids, as
    /// `(owner, binding, payload)`.
    pub fn iter<'a>(&'a self) -> impl Iterator<Item = (SlotId, Binding, &'a T)> + 'a
    where
        T: 'a,
    {
        (1..=self.layout.max_id()).filter_map(move |id| {
            let slot = self.layout.slot(id)?;
            let (value, binding) = self.get(slot)?;
            (binding.owner() == Some(slot)).then_some((slot, binding, value))
        })
    }

    fn table(&self, class: Class) -> Option<&NsidTable<S>> {
        match class {
            Class::Wide => self.wide.as_ref(),
            Class::Narrow => self.narrow.as_ref(),
        }
    }

    fn table_mut(&mut self, class: Class) -> Option<&mut NsidTable<S>> {
        match class {
            Class::Wide => self.wide.as_mut(),
            Class::Narrow => self.narrow.as_mut(),
        }
    }

    /// The entry of `slot`, with the slot as its namespace's binding records it.
    fn entry(&self, slot: SlotId) -> Option<(&Kind<T>, Held)> {
        let (entry, generation) = self.table(slot.class)?.get(table_id(slot)?)?;
        Some((
            &entry.0,
            Held {
                index: slot.index,
                generation,
            },
        ))
    }

    fn entry_mut(&mut self, slot: SlotId) -> Option<&mut Entry<T>> {
        self.table_mut(slot.class)?.get_mut(table_id(slot)?)
    }

    fn free_slot(&mut self, slot: SlotId) -> Option<Entry<T>> {
        self.table_mut(slot.class)?.free(table_id(slot)?)
    }

    /// Allocates a slot of `class` for `entry`: the next free one, or index `at`.
    fn take(
        &mut self,
        class: Class,
        at: Option<u32>,
        entry: Entry<T>,
    ) -> Result<(SlotId, u32), BindError> {
        let Some(table) = self.table_mut(class) else {
            return Err(match at {
                None => BindError::NoSpace(class),
                Some(_) => BindError::Invalid,
            });
        };
        let taken = match at {
            None => table
                .alloc(entry)
                .map(|(id, generation)| (slot_of(class, id), generation)),
            Some(index) => {
                let slot = SlotId { class, index };
                let id = table_id(slot).ok_or(BindError::Invalid)?;
                table
                    .alloc_at(id, entry)
                    .map(|generation| (slot, generation))
            }
        };
        taken.map_err(|(e, _)| bind_error(e, class))
    }

    fn bind_owner(
        &mut self,
        class: Class,
        at: Option<u32>,
        value: T,
    ) -> Result<(SlotId, u32), (BindError, T)> {
        let (slot, generation) = match self.take(class, at, Entry(Kind::Reserved)) {
            Ok(taken) => taken,
            Err(e) => return Err((e, value)),
        };
        match self.entry_mut(slot) {
            Some(entry) => {
                *entry = Entry(Kind::Owner { value, wide: None });
                Ok((slot, generation))
            }
            // Not reached: the slot was allocated just above. Kept as a safe answer.
            None => {
                drop(self.free_slot(slot));
                Err((BindError::Invalid, value))
            }
        }
    }

    fn add_wide(&mut self, slot: SlotId, at: Option<u32>) -> Result<(SlotId, u32), BindError> {
        let binding = self.binding(slot).ok_or(BindError::Invalid)?;
        if binding.wide.is_some() {
            return Err(BindError::HasWide);
        }
        // A binding without a wide slot has its narrow one.
        let narrow = binding.narrow.ok_or(BindError::Invalid)?;
        let (wide, generation) = self.take(Class::Wide, at, Entry(Kind::Promoted { narrow }))?;
        let link = Held {
            index: wide.index,
            generation,
        };
        match self.entry_mut(SlotId::narrow(narrow.index)) {
            Some(Entry(Kind::Owner { wide: w, .. })) => {
                *w = Some(link);
                Ok((wide, generation))
            }
            // Not reached: the owner was found just above. Undo rather than leave a wide slot
            // that points at nothing.
            _ => {
                drop(self.free_slot(wide));
                Err(BindError::Invalid)
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::binding::tests::{nr, pick_nr};
    use crate::binding::Canonical;
    use crate::encoding::FUTEX_TID_MASK;
    use crate::layout::tests::{edges, layouts, model_decode, slot_ranges};
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::vec::Vec;

    type Table = SlotTable<Vec<Slot<Entry<u64>>>>;

    fn storage(slots: u32) -> Vec<Slot<Entry<u64>>> {
        (0..=slots).map(|_| Slot::new()).collect()
    }

    fn table(l: Layout) -> Table {
        SlotTable::new(
            l,
            storage(l.slots(Class::Wide)),
            storage(l.slots(Class::Narrow)),
        )
        .unwrap()
    }

    /// The canonical gpid of `nr` in the namespace holding `slot`, taking the slot its binding
    /// needs first, as the kernel's "gpid of this PID" path would.
    fn gpid(t: &mut Table, slot: SlotId, nr: u32) -> Result<u32, BindError> {
        let binding = t.binding(slot).ok_or(BindError::Invalid)?;
        match binding.canonical(t.layout(), nr) {
            Ok(Canonical::Gpid { gpid, .. }) => Ok(gpid),
            Ok(Canonical::Needs(_)) => {
                t.promote(slot)?;
                gpid(t, slot, nr)
            }
            Err(_) => Err(BindError::Invalid),
        }
    }

    fn resolved(t: &Table, v: u32) -> Option<(u64, u32)> {
        match t.resolve(v) {
            Ok(Some(Resolved::Qualified { value, nr, .. })) => Some((*value, nr)),
            _ => None,
        }
    }

    #[test]
    fn storage_must_match_the_layout() {
        let l = Layout::new(22, 16, 3, 4).unwrap();
        assert_eq!(
            SlotTable::new(l, storage(3), storage(3)).unwrap_err(),
            BindError::Invalid
        );
        assert_eq!(
            SlotTable::new(l, storage(2), storage(4)).unwrap_err(),
            BindError::Invalid
        );
        assert_eq!(
            SlotTable::new(l, Vec::new(), storage(4)).unwrap_err(),
            BindError::Invalid
        );
        assert!(SlotTable::new(l, storage(3), storage(4)).is_ok());
        // A class without slots takes the one unused entry, and is always full.
        let l = Layout::new(22, 16, 0, 2).unwrap();
        let mut t: Table = SlotTable::new(l, storage(0), storage(2)).unwrap();
        assert!(t.is_full(Class::Wide));
        assert_eq!(t.in_use(Class::Wide), 0);
        assert_eq!(
            t.bind(Class::Wide, 1),
            Err((BindError::NoSpace(Class::Wide), 1))
        );
        assert_eq!(t.bind_at(SlotId::wide(1), 1), Err((BindError::Invalid, 1)));
        let (n, _) = t.bind(Class::Narrow, 2).unwrap();
        assert_eq!(t.promote(n), Err(BindError::NoSpace(Class::Wide)));
        assert_eq!(t.promote_at(n, SlotId::wide(1)), Err(BindError::Invalid));
        assert_eq!(gpid(&mut t, n, 65535), Ok(l.encode(n, 65535).unwrap()));
        assert_eq!(gpid(&mut t, n, 65536), Err(BindError::NoSpace(Class::Wide)));
    }

    #[test]
    fn exhaustion_per_class() {
        let l = Layout::new(22, 16, 2, 3).unwrap();
        let mut t = table(l);
        for i in 0..3 {
            assert_eq!(t.bind(Class::Narrow, i), Ok((SlotId::narrow(i as u32), 1)));
        }
        assert!(t.is_full(Class::Narrow));
        assert_eq!(
            t.bind(Class::Narrow, 9),
            Err((BindError::NoSpace(Class::Narrow), 9))
        );
        // The other class is untouched: a namespace may still be bound wide.
        assert_eq!(t.bind(Class::Wide, 10), Ok((SlotId::wide(1), 1)));
        assert_eq!(t.promote(SlotId::narrow(0)), Ok((SlotId::wide(2), 1)));
        assert!(t.is_full(Class::Wide));
        assert_eq!(
            t.bind(Class::Wide, 11),
            Err((BindError::NoSpace(Class::Wide), 11))
        );
        assert_eq!(
            t.promote(SlotId::narrow(1)),
            Err(BindError::NoSpace(Class::Wide))
        );
        assert_eq!(t.in_use(Class::Narrow), 3);
        assert_eq!(t.in_use(Class::Wide), 2);
        // Freeing a promoted namespace gives back both classes.
        assert_eq!(t.free(SlotId::wide(2)), Some(0));
        assert_eq!((t.in_use(Class::Narrow), t.in_use(Class::Wide)), (2, 1));
        assert_eq!(t.promote(SlotId::narrow(1)), Ok((SlotId::wide(2), 2)));
        assert_eq!(t.bind(Class::Narrow, 12), Ok((SlotId::narrow(0), 2)));
    }

    #[test]
    fn defaults_hold_the_targets_at_once() {
        let l = Layout::DEFAULT;
        let mut t = table(l);
        let mut seen = BTreeSet::new();
        let mut owners = Vec::new();
        for key in 0..8192u64 {
            let (slot, _) = t.bind(Class::Narrow, key).unwrap();
            owners.push(slot);
            for nr in [1, 65535] {
                assert!(seen.insert(gpid(&mut t, slot, nr).unwrap()));
            }
        }
        // Every wide slot: 64 for the target, one more that the module gives the initial
        // namespace.
        for &slot in &owners[..65] {
            for nr in [65536, 4_194_303] {
                assert!(seen.insert(gpid(&mut t, slot, nr).unwrap()));
            }
        }
        assert_eq!(
            gpid(&mut t, owners[65], 65536),
            Err(BindError::NoSpace(Class::Wide))
        );
        for &v in &seen {
            let (key, nr) = resolved(&t, v).unwrap();
            assert_eq!(gpid(&mut t, owners[key as usize], nr), Ok(v));
        }
        // What is left: the rest of the narrow slots.
        assert_eq!(
            l.slots(Class::Narrow) - t.in_use(Class::Narrow),
            12160 - 8192
        );
    }

    #[test]
    fn promotion_when_pids_pass_65535_and_wrap() {
        let l = Layout::DEFAULT;
        let mut t = table(l);
        let (n, _) = t.bind(Class::Narrow, 7).unwrap();
        let small: Vec<_> = [1, 300, 65535]
            .iter()
            .map(|&nr| (nr, gpid(&mut t, n, nr).unwrap()))
            .collect();
        assert_eq!(t.binding(n).unwrap().wide, None);
        // PIDs pass 65535: the namespace is promoted, its earlier gpids stay.
        let big = gpid(&mut t, n, 65536).unwrap();
        let w = t.binding(n).unwrap().slot(Class::Wide).unwrap();
        assert_eq!(big, l.encode(w, 65536).unwrap());
        assert_eq!(resolved(&t, big), Some((7, 65536)));
        assert_eq!(
            gpid(&mut t, n, 4_194_303),
            Ok(l.encode(w, 4_194_303).unwrap())
        );
        // PIDs wrap around to small numbers: back in the narrow slot, as before.
        for &(nr, v) in &small {
            assert_eq!(gpid(&mut t, n, nr), Ok(v));
            assert_eq!(resolved(&t, v), Some((7, nr)));
            // The same PID in the wide slot is no gpid.
            assert_eq!(t.resolve(l.encode(w, nr).unwrap()), Ok(None));
        }
        assert_eq!(gpid(&mut t, n, 2), Ok(l.encode(n, 2).unwrap()));
        assert_eq!(t.promote(n), Err(BindError::HasWide));
        assert_eq!(t.promote(w), Err(BindError::HasWide));
    }

    #[test]
    fn wide_first_never_gets_narrow() {
        let l = Layout::DEFAULT;
        let mut t = table(l);
        let (w, _) = t.bind(Class::Wide, 1).unwrap();
        assert_eq!(w, SlotId::wide(1));
        assert_eq!(gpid(&mut t, w, 5), Ok((1 << 22) + 5));
        assert_eq!(gpid(&mut t, w, 70000), Ok((1 << 22) + 70000));
        assert_eq!(t.promote(w), Err(BindError::HasWide));
        assert_eq!(
            t.binding(w),
            Some(Binding {
                narrow: None,
                wide: Some(Held {
                    index: 1,
                    generation: 1
                })
            })
        );
    }

    #[test]
    fn restore_exact_slots() {
        let l = Layout::new(22, 16, 4, 8).unwrap();
        let mut t = table(l);
        assert_eq!(t.bind_at(SlotId::narrow(5), 1), Ok(1));
        assert_eq!(t.bind_at(SlotId::narrow(5), 2), Err((BindError::Exists, 2)));
        assert_eq!(
            t.bind_at(SlotId::narrow(8), 2),
            Err((BindError::Invalid, 2))
        );
        assert_eq!(
            t.bind_at(SlotId::narrow(u32::MAX), 2),
            Err((BindError::Invalid, 2))
        );
        assert_eq!(t.bind_at(SlotId::wide(0), 2), Err((BindError::Invalid, 2)));
        assert_eq!(t.bind_at(SlotId::wide(5), 2), Err((BindError::Invalid, 2)));
        assert_eq!(
            t.promote_at(SlotId::narrow(5), SlotId::narrow(1)),
            Err(BindError::Invalid)
        );
        assert_eq!(
            t.promote_at(SlotId::narrow(5), SlotId::wide(0)),
            Err(BindError::Invalid)
        );
        assert_eq!(
            t.promote_at(SlotId::narrow(4), SlotId::wide(3)),
            Err(BindError::Invalid)
        );
        assert_eq!(t.promote_at(SlotId::narrow(5), SlotId::wide(3)), Ok(1));
        assert_eq!(
            t.promote_at(SlotId::narrow(5), SlotId::wide(2)),
            Err(BindError::HasWide)
        );
        assert_eq!(t.bind_at(SlotId::wide(2), 3), Ok(1));
        assert_eq!(
            t.promote_at(SlotId::wide(2), SlotId::wide(4)),
            Err(BindError::HasWide)
        );
        assert_eq!(t.bind_at(SlotId::wide(3), 4), Err((BindError::Exists, 4)));
        // The restored namespace has the gpids it had, in both classes.
        assert_eq!(
            resolved(&t, l.encode(SlotId::narrow(5), 42).unwrap()),
            Some((1, 42))
        );
        assert_eq!(
            resolved(&t, l.encode(SlotId::wide(3), 1 << 20).unwrap()),
            Some((1, 1 << 20))
        );
        // The cursors did not move: allocation starts at the first slot and skips taken ones.
        assert_eq!(t.bind(Class::Narrow, 5), Ok((SlotId::narrow(0), 1)));
        assert_eq!(t.bind(Class::Wide, 6), Ok((SlotId::wide(1), 1)));
        assert_eq!(t.bind(Class::Wide, 7), Ok((SlotId::wide(4), 1)));
        let owners: Vec<_> = t.iter().map(|(s, _, &v)| (s, v)).collect();
        assert_eq!(
            owners,
            [
                (SlotId::wide(1), 6),
                (SlotId::wide(2), 3),
                (SlotId::wide(4), 7),
                (SlotId::narrow(0), 5),
                (SlotId::narrow(5), 1)
            ]
        );
    }

    #[test]
    fn generations_free_and_reclaim() {
        let l = Layout::new(22, 16, 2, 2).unwrap();
        let mut t = table(l);
        let (a, ga) = t.bind(Class::Narrow, 10).unwrap();
        let (wa, gwa) = t.promote(a).unwrap();
        assert_eq!(t.free_if_gen(a, ga + 1), None);
        assert_eq!(t.free_if_gen(wa, gwa + 1), None);
        assert_eq!(t.free_if_gen(wa, gwa), Some(10));
        assert_eq!(t.free_if_gen(a, ga), None);
        assert_eq!(t.free(a), None);
        assert_eq!(t.get_mut(a), None);
        // Reuse gives a new generation to both slots.
        assert_eq!(t.bind_at(a, 11), Ok(ga + 1));
        assert_eq!(t.promote_at(a, wa), Ok(gwa + 1));
        *t.get_mut(wa).unwrap() += 100;
        assert_eq!(t.get(a).map(|(v, _)| *v), Some(111));
        let (b, _) = t.bind(Class::Narrow, 20).unwrap();
        let (c, _) = t.bind(Class::Wide, 30).unwrap();
        assert_eq!((b, c), (SlotId::narrow(1), SlotId::wide(2)));
        // Dead: 111 and 30; one at a time, in the order of the owners' ids (c is wide).
        let mut out = [None];
        assert_eq!(t.reclaim(|v| *v != 20, &mut out), 1);
        assert_eq!(out, [Some(30)]);
        let mut out = [None, None];
        assert_eq!(t.reclaim(|v| *v != 20, &mut out), 1);
        assert_eq!(out, [Some(111), None]);
        assert_eq!(t.reclaim(|_| true, &mut []), 0);
        assert_eq!((t.in_use(Class::Narrow), t.in_use(Class::Wide)), (1, 0));
        assert_eq!(t.get(b).map(|(v, _)| *v), Some(20));
    }

    /// One class as [`NsidTable`]'s own model has it: live ids, generations, cursor.
    #[derive(Default)]
    struct ClassModel {
        max: u32,
        live: BTreeSet<u32>,
        gens: BTreeMap<u32, u32>,
        cursor: u32,
    }

    impl ClassModel {
        fn take(&mut self, id: u32) -> u32 {
            let generation = self.gens.entry(id).or_insert(0);
            *generation += 1;
            self.live.insert(id);
            *generation
        }

        fn alloc(&mut self) -> Option<(u32, u32)> {
            let id = (self.cursor + 1..=self.max)
                .chain(1..=self.cursor)
                .find(|n| !self.live.contains(n))?;
            self.cursor = id;
            Some((id, self.take(id)))
        }
    }

    const fn id_of(slot: SlotId) -> u32 {
        match slot.class {
            Class::Wide => slot.index,
            Class::Narrow => slot.index + 1,
        }
    }

    struct NsModel {
        key: u64,
        binding: Binding,
        dead: bool,
        /// PID -> the gpid it got first.
        threads: BTreeMap<u32, u32>,
    }

    struct Model {
        l: Layout,
        wide: ClassModel,
        narrow: ClassModel,
        ns: Vec<NsModel>,
        next_key: u64,
    }

    /// What a value should resolve to.
    #[derive(Debug, PartialEq, Eq)]
    enum Want {
        Invalid,
        Plain(u32),
        Ns(u64, u32),
        Nothing,
    }

    /// The rule of issue #13 spelled out in `u64`: `Some(Ok(gpid))`, `Some(Err(class needed))`,
    /// or `None` where no gpid can exist.
    fn model_canonical(l: Layout, b: &Binding, nr: u32) -> Option<Result<u32, Class>> {
        let (p, nb) = (l.pid_bits(), l.narrow_bits());
        let nr64 = u64::from(nr);
        if nr == 0 || nr64 >= 1 << p {
            return None;
        }
        let start = (u64::from(l.slots(Class::Wide)) + 1) << p;
        let v = match (nr64 < 1 << nb, b.narrow, b.wide) {
            (true, Some(n), _) => start + (u64::from(n.index) << nb) + nr64,
            (_, _, Some(w)) => (u64::from(w.index) << p) + nr64,
            (true, None, None) => return Some(Err(Class::Narrow)),
            (false, _, None) => return Some(Err(Class::Wide)),
        };
        Some(Ok(u32::try_from(v).unwrap()))
    }

    impl Model {
        fn class(&mut self, class: Class) -> &mut ClassModel {
            match class {
                Class::Wide => &mut self.wide,
                Class::Narrow => &mut self.narrow,
            }
        }

        fn holder(&self, slot: SlotId) -> Option<&NsModel> {
            self.ns
                .iter()
                .find(|n| n.binding.slot(slot.class) == Some(slot))
        }

        fn is_free(&self, slot: SlotId) -> bool {
            self.l.contains(slot) && self.holder(slot).is_none()
        }

        fn want(&self, ranges: &BTreeMap<u64, (SlotId, u32)>, v: u32) -> Want {
            match model_decode(self.l, ranges, v) {
                None => Want::Invalid,
                Some(Decoded::Unqualified(nr)) => Want::Plain(nr),
                Some(Decoded::Qualified { slot, nr }) => match self.holder(slot) {
                    Some(n) if model_canonical(self.l, &n.binding, nr) == Some(Ok(v)) => {
                        Want::Ns(n.key, nr)
                    }
                    _ => Want::Nothing,
                },
            }
        }

        /// Removes namespace `i`, freeing its slots.
        fn remove(&mut self, i: usize) -> u64 {
            let n = self.ns.remove(i);
            for class in [Class::Narrow, Class::Wide] {
                if let Some(slot) = n.binding.slot(class) {
                    self.class(class).live.remove(&id_of(slot));
                }
            }
            n.key
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// The gpid of a PID of namespace `ns` (one past the last: a new namespace), binding or
        /// promoting as needed; a new namespace falls back to a wide slot when the narrow ones
        /// have run out.
        Encode(usize, (u8, u32)),
        WideFirst,
        BindAt(bool, u32),
        PromoteAt(usize, u32),
        Kill(usize),
        Reclaim(usize),
        Free(usize),
        FreeIfGen(usize, bool),
        Probe(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (any::<usize>(), nr()).prop_map(|(n, nr)| Op::Encode(n, nr)),
            1 => Just(Op::WideFirst),
            1 => (any::<bool>(), 0u32..60).prop_map(|(c, i)| Op::BindAt(c, i)),
            1 => (any::<usize>(), 0u32..7).prop_map(|(n, i)| Op::PromoteAt(n, i)),
            2 => any::<usize>().prop_map(Op::Kill),
            1 => (0usize..4).prop_map(Op::Reclaim),
            1 => any::<usize>().prop_map(Op::Free),
            1 => (any::<usize>(), any::<bool>()).prop_map(|(n, b)| Op::FreeIfGen(n, b)),
            1 => any::<u32>().prop_map(Op::Probe),
        ]
    }

    /// Binds a new namespace to a slot of `class` in both, checking they agree.
    fn bind_new(
        t: &mut Table,
        m: &mut Model,
        class: Class,
    ) -> Result<Option<usize>, TestCaseError> {
        let key = m.next_key;
        m.next_key += 1;
        let got = t.bind(class, key);
        match m.class(class).alloc() {
            Some((id, generation)) => {
                let slot = slot_of(class, id);
                prop_assert_eq!(got, Ok((slot, generation)));
                let held = Some(Held {
                    index: slot.index,
                    generation,
                });
                let binding = match class {
                    Class::Narrow => Binding {
                        narrow: held,
                        wide: None,
                    },
                    Class::Wide => Binding {
                        narrow: None,
                        wide: held,
                    },
                };
                m.ns.push(NsModel {
                    key,
                    binding,
                    dead: false,
                    threads: BTreeMap::new(),
                });
                Ok(Some(m.ns.len() - 1))
            }
            None => {
                prop_assert_eq!(got, Err((BindError::NoSpace(class), key)));
                Ok(None)
            }
        }
    }

    /// Adds a wide slot to namespace `i` in both: the next free one, or `at`.
    fn promote(
        t: &mut Table,
        m: &mut Model,
        i: usize,
        at: Option<u32>,
    ) -> Result<bool, TestCaseError> {
        let owner = m.ns[i].binding.owner().unwrap();
        let got = match at {
            None => t.promote(owner),
            Some(index) => t
                .promote_at(owner, SlotId::wide(index))
                .map(|g| (SlotId::wide(index), g)),
        };
        let want = if m.ns[i].binding.wide.is_some() {
            Err(BindError::HasWide)
        } else {
            match at {
                None => m
                    .wide
                    .alloc()
                    .map(|(id, g)| (SlotId::wide(id), g))
                    .ok_or(BindError::NoSpace(Class::Wide)),
                Some(index) if !m.l.contains(SlotId::wide(index)) => Err(BindError::Invalid),
                Some(index) if !m.is_free(SlotId::wide(index)) => Err(BindError::Exists),
                Some(index) => Ok((SlotId::wide(index), m.wide.take(index))),
            }
        };
        prop_assert_eq!(got, want);
        if let Ok((slot, generation)) = want {
            m.ns[i].binding.wide = Some(Held {
                index: slot.index,
                generation,
            });
        }
        Ok(want.is_ok())
    }

    fn encode(t: &mut Table, m: &mut Model, pick: usize, nr: u32) -> Result<(), TestCaseError> {
        let l = m.l;
        let i = pick % (m.ns.len() + 1);
        if m.ns.get(i).is_some_and(|n| n.dead) {
            return Ok(());
        }
        let binding = m.ns.get(i).map_or(Binding::UNBOUND, |n| n.binding);
        let want = model_canonical(l, &binding, nr);
        let got = binding.canonical(l, nr);
        let i = match (want, got) {
            (None, Err(_)) => return Ok(()),
            (Some(Ok(v)), Ok(Canonical::Gpid { gpid, .. })) => {
                prop_assert_eq!(gpid, v);
                i
            }
            (Some(Err(class)), Ok(Canonical::Needs(c))) => {
                prop_assert_eq!(class, c);
                if i < m.ns.len() {
                    prop_assert_eq!(class, Class::Wide);
                    if !promote(t, m, i, None)? {
                        return Ok(());
                    }
                    i
                } else {
                    let mut bound = bind_new(t, m, class)?;
                    if bound.is_none() && class == Class::Narrow {
                        bound = bind_new(t, m, Class::Wide)?;
                    }
                    let Some(i) = bound else { return Ok(()) };
                    i
                }
            }
            (want, got) => {
                return Err(TestCaseError::fail(std::format!(
                    "want {want:?}, got {got:?}"
                )))
            }
        };
        let n = &mut m.ns[i];
        let Some(Ok(v)) = model_canonical(l, &n.binding, nr) else {
            return Err(TestCaseError::fail("no gpid after binding"));
        };
        let owner = n.binding.owner().unwrap();
        let now = t.binding(owner).unwrap().canonical(l, nr);
        prop_assert!(
            matches!(now, Ok(Canonical::Gpid { gpid, .. }) if gpid == v),
            "{:?}",
            now
        );
        // Stable: a PID that had a gpid has the same one.
        prop_assert_eq!(*n.threads.entry(nr).or_insert(v), v);
        Ok(())
    }

    fn check(
        t: &Table,
        m: &Model,
        history: &BTreeSet<u32>,
        probe: Option<u32>,
    ) -> Result<(), TestCaseError> {
        let l = m.l;
        prop_assert_eq!(t.in_use(Class::Wide) as usize, m.wide.live.len());
        prop_assert_eq!(t.in_use(Class::Narrow) as usize, m.narrow.live.len());
        let mut owners: Vec<_> =
            m.ns.iter()
                .map(|n| (l.id(n.binding.owner().unwrap()).unwrap(), n))
                .collect();
        owners.sort_by_key(|&(id, _)| id);
        let got: Vec<_> = t.iter().map(|(s, b, &k)| (s, b, k)).collect();
        let want: Vec<_> = owners
            .iter()
            .map(|(_, n)| (n.binding.owner().unwrap(), n.binding, n.key))
            .collect();
        prop_assert_eq!(got, want);
        // No two live (namespace, PID) pairs share a gpid, and each gpid resolves back.
        let mut owner_of = BTreeMap::new();
        for n in &m.ns {
            for class in [Class::Narrow, Class::Wide] {
                if let Some(slot) = n.binding.slot(class) {
                    prop_assert_eq!(t.get(slot), Some((&n.key, n.binding)));
                }
            }
            for (&nr, &v) in &n.threads {
                prop_assert!(v <= FUTEX_TID_MASK && v > l.max_unqualified());
                prop_assert_eq!(model_canonical(l, &n.binding, nr), Some(Ok(v)));
                prop_assert_eq!(owner_of.insert(v, (n.key, nr)), None);
                prop_assert_eq!(resolved(t, v), Some((n.key, nr)));
            }
        }
        let ranges = slot_ranges(l);
        let values = edges(l, &ranges)
            .into_iter()
            .chain(history.iter().copied())
            .chain(probe);
        for v in values {
            let want = m.want(&ranges, v);
            let got = match t.resolve(v) {
                Err(_) => Want::Invalid,
                Ok(None) => Want::Nothing,
                Ok(Some(Resolved::Unqualified(nr))) => Want::Plain(nr),
                Ok(Some(Resolved::Qualified {
                    value,
                    nr,
                    slot,
                    binding,
                })) => {
                    prop_assert_eq!(l.encode(slot, nr), Ok(v));
                    prop_assert_eq!(t.binding(slot), Some(binding));
                    Want::Ns(*value, nr)
                }
            };
            prop_assert_eq!(&got, &want, "value {:#x}", v);
            // A value in a free slot: the table reports the slot unbound.
            if let Ok(Decoded::Qualified { slot, .. }) = l.decode(v) {
                prop_assert_eq!(t.get(slot).is_none(), m.holder(slot).is_none());
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn matches_model(l in layouts(), ops in proptest::collection::vec(op(), 0..120)) {
            let mut t = table(l);
            let mut m = Model {
                l,
                wide: ClassModel { max: l.slots(Class::Wide), ..ClassModel::default() },
                narrow: ClassModel { max: l.slots(Class::Narrow), ..ClassModel::default() },
                ns: Vec::new(),
                next_key: 1,
            };
            // Every gpid handed out, to see what each names once its namespace is gone.
            let mut history = BTreeSet::new();
            for op in ops {
                let mut probe = None;
                match op {
                    Op::Encode(pick, n) => encode(&mut t, &mut m, pick, pick_nr(l, n))?,
                    Op::WideFirst => drop(bind_new(&mut t, &mut m, Class::Wide)?),
                    Op::BindAt(narrow, index) => {
                        let slot = if narrow { SlotId::narrow(index) } else { SlotId::wide(index) };
                        let key = m.next_key;
                        m.next_key += 1;
                        let got = t.bind_at(slot, key);
                        if !l.contains(slot) {
                            prop_assert_eq!(got, Err((BindError::Invalid, key)));
                        } else if !m.is_free(slot) {
                            prop_assert_eq!(got, Err((BindError::Exists, key)));
                        } else {
                            let generation = m.class(slot.class).take(id_of(slot));
                            prop_assert_eq!(got, Ok(generation));
                            let held = Some(Held { index: slot.index, generation });
                            let binding = if narrow { Binding { narrow: held, wide: None } } else { Binding { narrow: None, wide: held } };
                            m.ns.push(NsModel { key, binding, dead: false, threads: BTreeMap::new() });
                        }
                    }
                    Op::PromoteAt(pick, index) if !m.ns.is_empty() => {
                        let i = pick % m.ns.len();
                        promote(&mut t, &mut m, i, Some(index))?;
                    }
                    Op::Kill(pick) if !m.ns.is_empty() => {
                        let i = pick % m.ns.len();
                        m.ns[i].dead = true;
                    }
                    Op::Reclaim(limit) => {
                        let mut out = std::vec![None; limit];
                        let dead: BTreeSet<u64> = m.ns.iter().filter(|n| n.dead).map(|n| n.key).collect();
                        let n = t.reclaim(|k| dead.contains(k), &mut out);
                        let mut order: Vec<_> = m.ns.iter().enumerate().filter(|(_, n)| n.dead)
                            .map(|(i, n)| (l.id(n.binding.owner().unwrap()).unwrap(), i)).collect();
                        order.sort();
                        order.truncate(limit);
                        let mut victims: Vec<usize> = order.iter().map(|&(_, i)| i).collect();
                        let want: Vec<_> = victims.iter().map(|&i| Some(m.ns[i].key)).collect();
                        prop_assert_eq!(n, want.len());
                        prop_assert_eq!(&out[..n], &want[..]);
                        victims.sort_unstable_by(|a, b| b.cmp(a));
                        for i in victims {
                            m.remove(i);
                        }
                    }
                    Op::Free(pick) if !m.ns.is_empty() => {
                        let i = pick % m.ns.len();
                        // Any slot of the namespace frees all of it.
                        let slot = m.ns[i].binding.slot(Class::Wide).filter(|_| pick % 2 == 0).or(m.ns[i].binding.owner()).unwrap();
                        let key = m.remove(i);
                        prop_assert_eq!(t.free(slot), Some(key));
                        prop_assert_eq!(t.free(slot), None);
                    }
                    Op::FreeIfGen(pick, right) if !m.ns.is_empty() => {
                        let i = pick % m.ns.len();
                        let owner = m.ns[i].binding.owner().unwrap();
                        let generation = m.ns[i].binding.narrow.or(m.ns[i].binding.wide).unwrap().generation;
                        if right {
                            let key = m.remove(i);
                            prop_assert_eq!(t.free_if_gen(owner, generation), Some(key));
                        } else {
                            prop_assert_eq!(t.free_if_gen(owner, generation.wrapping_add(7)), None);
                        }
                    }
                    Op::Probe(v) => probe = Some(v),
                    _ => {}
                }
                history.extend(m.ns.iter().flat_map(|n| n.threads.values().copied()));
                check(&t, &m, &history, probe)?;
            }
        }
    }
}
