// SPDX-License-Identifier: GPL-2.0

//! The namespace registry: which slots of the [`Layout`] name which real PID namespace.
//!
//! Each bound namespace is held by a counted reference, so its address (the index key) cannot
//! be reused while it is bound. Slots of each class are allocated cyclically
//! (`gpid_core::slots`), so a freed slot is reused as late as possible, and each reuse changes
//! the slot's generation. A namespace is known by its owner slot (the one it took first); a
//! narrow namespace may be promoted once, to a wide slot beside it.
//!
//! Lifetime: a namespace keeps its slots while it has tasks. A dead namespace (its init died
//! and every PID in it is gone; this is final) keeps them too, until a class is full: then the
//! dead ones are reclaimed. So gpids of dead tasks keep failing with ESRCH rather than naming a
//! new namespace for as long as there is room.

use crate::gpid_core::{
    binding::{Binding, Canonical},
    index::{capacity_for, IndexEntry, IndexError, NsIndex},
    layout::{Class, Layout, SlotId},
    nsid::Slot,
    quota::Charge,
    slots::{BindError, Entry, SlotTable},
};
use crate::kernel_ext::pid_namespace::PidNamespace;
use crate::quota::{Key, Pool, Quotas};
use kernel::{
    alloc::{flags::GFP_KERNEL, KVVec},
    prelude::*,
    sync::{aref::ARef, Arc},
};

/// A bound namespace.
pub(crate) struct NsEntry {
    pub(crate) ns: ARef<PidNamespace>,
    /// Export policy: gpids of its tasks may be shown to observers that cannot see them.
    pub(crate) export: bool,
    /// The namespace owner's quota unit for the owner slot (in the pool of its class), given
    /// back when the namespace is unbound.
    charge: Charge,
    /// The same for the wide slot a promotion added ([`Charge::NONE`] until then).
    wide_charge: Charge,
}

/// How many dead entries one reclaim pass frees before it drops their references unlocked.
const RECLAIM_BATCH: usize = 16;

/// Namespaces reclaimed by one pass; dropped (releasing the namespaces) only after the lock
/// that protected the registry is released, since `put_pid_ns` may free a whole namespace.
pub(crate) type Reclaimed = [Option<NsEntry>; RECLAIM_BATCH];

type Storage = KVVec<Slot<Entry<NsEntry>>>;

/// The registry proper. Callers hold the lock that protects it (`Gpids::registry`).
pub(crate) struct Registry {
    table: SlotTable<Storage>,
    /// Namespace address -> compact id of its owner slot, for the namespaces in `table`.
    index: NsIndex<KVVec<IndexEntry>>,
    /// Every bound slot is charged to its namespace's owner (`Pool::of(class)`).
    quotas: Arc<Quotas>,
}

fn key(ns: &PidNamespace) -> u64 {
    ns.as_ptr() as usize as u64
}

pub(crate) fn bind_errno(e: BindError) -> Error {
    match e {
        BindError::NoSpace(_) => ENOSPC,
        BindError::Exists => EEXIST,
        BindError::Invalid => EINVAL,
        BindError::HasWide => EBUSY,
    }
}

fn index_errno(e: IndexError) -> Error {
    match e {
        IndexError::Exists => EEXIST,
        IndexError::Full => ENOSPC,
        IndexError::BadCapacity => EINVAL,
    }
}

fn class_storage(slots: u32) -> Result<Storage> {
    let len = usize::try_from(slots).map_err(|_| EINVAL)?.checked_add(1).ok_or(EINVAL)?;
    let mut storage = KVVec::with_capacity(len, GFP_KERNEL)?;
    for _ in 0..len {
        storage.push(Slot::new(), GFP_KERNEL)?;
    }
    Ok(storage)
}

impl Registry {
    /// An empty registry for the slots of `layout`.
    pub(crate) fn new(layout: Layout, quotas: Arc<Quotas>) -> Result<Self> {
        let wide = class_storage(layout.slots(Class::Wide))?;
        let narrow = class_storage(layout.slots(Class::Narrow))?;
        let slots = usize::try_from(layout.max_id()).map_err(|_| EINVAL)?;
        let capacity = capacity_for(slots.checked_add(1).ok_or(EINVAL)?).ok_or(EINVAL)?;
        let index_storage = KVVec::from_elem(IndexEntry::EMPTY, capacity, GFP_KERNEL)?;
        Ok(Self {
            table: SlotTable::new(layout, wide, narrow).map_err(bind_errno)?,
            index: NsIndex::new(index_storage).map_err(index_errno)?,
            quotas,
        })
    }

    pub(crate) fn layout(&self) -> Layout {
        self.table.layout()
    }

    /// The owner slot, the binding and the entry of `ns`, if it is bound: one index lookup and
    /// one or two table lookups.
    pub(crate) fn bound(&self, ns: &PidNamespace) -> Option<(SlotId, Binding, &NsEntry)> {
        let owner = self.layout().slot(self.index.get(key(ns))?)?;
        let (entry, binding) = self.table.get(owner)?;
        Some((owner, binding, entry))
    }

    /// The owner slot and the binding of `ns`, if it is bound.
    pub(crate) fn binding_of(&self, ns: &PidNamespace) -> Option<(SlotId, Binding)> {
        self.bound(ns).map(|(owner, binding, _)| (owner, binding))
    }

    /// The compact owner slot id and its generation of `ns`, if it is bound.
    pub(crate) fn owner_of(&self, ns: &PidNamespace) -> Option<(u32, u32)> {
        let (owner, binding) = self.binding_of(ns)?;
        let held = binding.narrow.or(binding.wide)?;
        Some((self.layout().id(owner)?, held.generation))
    }

    /// The canonical gpid of PID `nr` of `ns`, or the class of slot it needs first (`ns`
    /// unbound, or bound narrow and `nr` too large for that slot).
    pub(crate) fn canonical(&self, ns: &PidNamespace, nr: u32) -> Result<Canonical> {
        let binding = self.binding_of(ns).map_or(Binding::UNBOUND, |(_, b)| b);
        self.canonical_in(binding, nr)
    }

    /// As [`canonical`](Self::canonical), for a binding the caller looked up.
    pub(crate) fn canonical_in(&self, binding: Binding, nr: u32) -> Result<Canonical> {
        binding.canonical(self.layout(), nr).map_err(crate::gpids::encoding_errno)
    }

    /// The namespace holding `slot` (either of its slots) and its binding.
    pub(crate) fn get(&self, slot: SlotId) -> Option<(&NsEntry, Binding)> {
        self.table.get(slot)
    }

    /// Mutable access to the entry of the namespace holding `slot`.
    pub(crate) fn get_mut(&mut self, slot: SlotId) -> Option<&mut NsEntry> {
        self.table.get_mut(slot)
    }

    /// The namespace that PID `nr` in `slot` (as `Layout::decode` found it) names: the one
    /// holding `slot`, if this is its canonical gpid of `nr`. Constant time.
    pub(crate) fn lookup(&self, slot: SlotId, nr: u32) -> Option<&NsEntry> {
        self.table.lookup(slot, nr).map(|(entry, _)| entry)
    }

    /// Binds `ns` to the next free slot of `class`. `Err(ENOSPC)` when the class is full,
    /// `Err(EDQUOT)` when the namespace's owner holds its share of it: the caller then
    /// reclaims dead namespaces (unlocked drop) and tries again.
    pub(crate) fn bind(&mut self, ns: &PidNamespace, class: Class) -> Result<(SlotId, u32)> {
        let entry = self.charged_entry(ns, class)?;
        let (slot, generation) = self.table.bind(class, entry).map_err(|(e, entry)| {
            self.quotas.release(entry.charge, Pool::of(class));
            bind_errno(e)
        })?;
        self.index_insert(ns, slot)?;
        Ok((slot, generation))
    }

    /// Binds `ns` to exactly `slot` (checkpoint/restore). A dead namespace holding `slot` is
    /// reclaimed into `dropped` first.
    pub(crate) fn bind_at(
        &mut self,
        ns: &PidNamespace,
        slot: SlotId,
        dropped: &mut Option<NsEntry>,
    ) -> Result<u32> {
        self.reclaim_holder(slot, dropped)?;
        let entry = self.charged_entry(ns, slot.class)?;
        let generation = self.table.bind_at(slot, entry).map_err(|(e, entry)| {
            self.quotas.release(entry.charge, Pool::of(slot.class));
            bind_errno(e)
        })?;
        self.index_insert(ns, slot)?;
        Ok(generation)
    }

    /// Adds a wide slot to `owner`'s namespace (bound narrow): the next free one, or exactly
    /// `at`, whose dead holder is then reclaimed into `dropped` first. Errors as for
    /// [`bind`](Self::bind), and `EBUSY` if the namespace holds a wide slot already.
    pub(crate) fn promote(
        &mut self,
        owner: SlotId,
        at: Option<SlotId>,
        dropped: &mut Option<NsEntry>,
    ) -> Result<(SlotId, u32)> {
        let entry = self.table.get(owner).ok_or(EINVAL)?.0;
        let charge = self.quotas.charge(Key::of_pid_ns(&entry.ns), Pool::of(Class::Wide))?;
        let promoted = match at {
            None => self.table.promote(owner),
            Some(wide) => self
                .reclaim_holder(wide, dropped)
                .map_err(|_| BindError::Exists)
                .and_then(|()| self.table.promote_at(owner, wide).map(|generation| (wide, generation))),
        };
        match (promoted, self.table.get_mut(owner)) {
            (Ok(promoted), Some(entry)) => {
                entry.wide_charge = charge;
                Ok(promoted)
            }
            (Ok(_), None) => {
                // Not reached: the owner was found above, under the same lock.
                self.quotas.release(charge, Pool::of(Class::Wide));
                Err(EINVAL)
            }
            (Err(e), _) => {
                self.quotas.release(charge, Pool::of(Class::Wide));
                Err(bind_errno(e))
            }
        }
    }

    /// Frees `slot` if a dead namespace holds it (into `dropped`); `EEXIST` if a live one does.
    fn reclaim_holder(&mut self, slot: SlotId, dropped: &mut Option<NsEntry>) -> Result {
        if let Some((holder, _)) = self.table.get(slot) {
            if holder.ns.is_live() {
                return Err(EEXIST);
            }
            *dropped = self.unbind(slot);
        }
        Ok(())
    }

    /// A new entry for `ns`, its slot of `class` charged to the namespace's owner.
    fn charged_entry(&self, ns: &PidNamespace, class: Class) -> Result<NsEntry> {
        Ok(NsEntry {
            ns: ARef::from(ns),
            export: false,
            charge: self.quotas.charge(Key::of_pid_ns(ns), Pool::of(class))?,
            wide_charge: Charge::NONE,
        })
    }

    fn index_insert(&mut self, ns: &PidNamespace, slot: SlotId) -> Result {
        // The index has room for every slot, so this fails only on a broken invariant; undo
        // the allocation rather than leave a slot the index cannot find.
        let id = self.layout().id(slot).ok_or(EINVAL)?;
        self.index.insert(key(ns), id).map_err(|e| {
            if let Some(entry) = self.table.free(slot) {
                self.release(&entry, slot.class);
            }
            index_errno(e)
        })
    }

    fn release(&self, entry: &NsEntry, owner_class: Class) {
        self.quotas.release(entry.charge, Pool::of(owner_class));
        self.quotas.release(entry.wide_charge, Pool::of(Class::Wide));
    }

    /// Unbinds the namespace holding `slot` (both its slots), giving its quota units back; the
    /// caller drops the entry unlocked.
    fn unbind(&mut self, slot: SlotId) -> Option<NsEntry> {
        let owner = self.table.binding(slot)?.owner()?;
        let entry = self.table.free(owner)?;
        self.index.remove(key(&entry.ns));
        self.release(&entry, owner.class);
        Some(entry)
    }

    /// Moves up to a batch of dead namespaces out of the registry into `out`; returns how many.
    pub(crate) fn reclaim_dead(&mut self, out: &mut Reclaimed) -> usize {
        let mut dead = [None::<SlotId>; RECLAIM_BATCH];
        let mut n = 0;
        for (owner, _, entry) in self.table.iter() {
            if n == RECLAIM_BATCH {
                break;
            }
            if !entry.ns.is_live() {
                if let Some(place) = dead.get_mut(n) {
                    *place = Some(owner);
                    n += 1;
                }
            }
        }
        for (place, owner) in out.iter_mut().zip(dead.iter().flatten()) {
            *place = self.unbind(*owner);
        }
        n
    }

    /// Every bound namespace, in owner-slot-id order: `(owner, binding, entry)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (SlotId, Binding, &NsEntry)> + '_ {
        self.table.iter()
    }
}
