// SPDX-License-Identifier: GPL-2.0

//! The namespace registry: which nsid names which real PID namespace.
//!
//! Each bound namespace is held by a counted reference, so its address (the index key) cannot
//! be reused while it is bound. nsids are allocated cyclically (`gpid_core::nsid`), so a freed
//! nsid is reused as late as possible, and each reuse changes the slot's generation.
//!
//! Lifetime: a namespace keeps its nsid while it has tasks. A dead namespace (its init died
//! and every PID in it is gone; this is final) keeps its nsid too, until the table is full:
//! then the dead ones are reclaimed. So gpids of dead tasks keep failing with ESRCH rather
//! than naming a new namespace for as long as there is room.

use crate::gpid_core::{
    index::{capacity_for, IndexEntry, IndexError, NsIndex},
    nsid::{AllocError, NsidTable, Slot},
};
use crate::gpid_core::quota::Charge;
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
    /// The namespace owner's quota unit for this nsid, given back when it is unbound.
    charge: Charge,
}

/// How many dead entries one reclaim pass frees before it drops their references unlocked.
const RECLAIM_BATCH: usize = 16;

/// Namespaces reclaimed by one pass; dropped (releasing the namespaces) only after the lock
/// that protected the registry is released, since `put_pid_ns` may free a whole namespace.
pub(crate) type Reclaimed = [Option<NsEntry>; RECLAIM_BATCH];

/// The registry proper. Callers hold the lock that protects it (`Gpids::registry`).
pub(crate) struct Registry {
    table: NsidTable<KVVec<Slot<NsEntry>>>,
    /// Namespace address -> nsid, for the namespaces in `table`.
    index: NsIndex<KVVec<IndexEntry>>,
    /// Every bound nsid is charged to its namespace's owner (`Pool::Nsids`).
    quotas: Arc<Quotas>,
}

fn key(ns: &PidNamespace) -> u64 {
    ns.as_ptr() as usize as u64
}

fn alloc_errno(e: AllocError) -> Error {
    match e {
        AllocError::NoSpace => ENOSPC,
        AllocError::Exists => EEXIST,
        AllocError::Invalid => EINVAL,
    }
}

fn index_errno(e: IndexError) -> Error {
    match e {
        IndexError::Exists => EEXIST,
        IndexError::Full => ENOSPC,
        IndexError::BadCapacity => EINVAL,
    }
}

impl Registry {
    /// An empty registry for nsids `1..=max_nsid`.
    pub(crate) fn new(max_nsid: u32, quotas: Arc<Quotas>) -> Result<Self> {
        let slots = usize::try_from(max_nsid).map_err(|_| EINVAL)?.checked_add(1).ok_or(EINVAL)?;
        let mut table_storage = KVVec::with_capacity(slots, GFP_KERNEL)?;
        for _ in 0..slots {
            table_storage.push(Slot::new(), GFP_KERNEL)?;
        }
        let capacity = capacity_for(slots).ok_or(EINVAL)?;
        let index_storage = KVVec::from_elem(IndexEntry::EMPTY, capacity, GFP_KERNEL)?;
        Ok(Self {
            table: NsidTable::new(table_storage).map_err(alloc_errno)?,
            index: NsIndex::new(index_storage).map_err(index_errno)?,
            quotas,
        })
    }

    /// The nsid and generation of `ns`, if it is bound.
    pub(crate) fn nsid_of(&self, ns: &PidNamespace) -> Option<(u32, u32)> {
        let nsid = self.index.get(key(ns))?;
        self.table.get(nsid).map(|(_, generation)| (nsid, generation))
    }

    /// The entry bound to `nsid`, with its generation.
    pub(crate) fn get(&self, nsid: u32) -> Option<(&NsEntry, u32)> {
        self.table.get(nsid)
    }

    /// Mutable access to the entry bound to `nsid`.
    pub(crate) fn get_mut(&mut self, nsid: u32) -> Option<&mut NsEntry> {
        self.table.get_mut(nsid)
    }

    /// Binds `ns` to the next free nsid. `Err(ENOSPC)` when the table is full, `Err(EDQUOT)`
    /// when the namespace's owner holds its share: the caller then reclaims dead namespaces
    /// (unlocked drop) and tries again.
    pub(crate) fn bind(&mut self, ns: &PidNamespace) -> Result<(u32, u32)> {
        let entry = self.charged_entry(ns)?;
        let (nsid, generation) = self.table.alloc(entry).map_err(|(e, entry)| {
            self.quotas.release(entry.charge, Pool::Nsids);
            alloc_errno(e)
        })?;
        self.index_insert(ns, nsid)?;
        Ok((nsid, generation))
    }

    /// A new entry for `ns`, its nsid charged to the namespace's owner.
    fn charged_entry(&self, ns: &PidNamespace) -> Result<NsEntry> {
        Ok(NsEntry {
            ns: ARef::from(ns),
            export: false,
            charge: self.quotas.charge(Key::of_pid_ns(ns), Pool::Nsids)?,
        })
    }

    /// Binds `ns` to exactly `nsid` (checkpoint/restore). A dead namespace holding `nsid` is
    /// reclaimed into `dropped` first.
    pub(crate) fn bind_at(
        &mut self,
        ns: &PidNamespace,
        nsid: u32,
        dropped: &mut Option<NsEntry>,
    ) -> Result<u32> {
        if let Some((holder, _)) = self.table.get(nsid) {
            if holder.ns.is_live() {
                return Err(EEXIST);
            }
            *dropped = self.unbind(nsid);
        }
        let entry = self.charged_entry(ns)?;
        let generation = self.table.alloc_at(nsid, entry).map_err(|(e, entry)| {
            self.quotas.release(entry.charge, Pool::Nsids);
            alloc_errno(e)
        })?;
        self.index_insert(ns, nsid)?;
        Ok(generation)
    }

    fn index_insert(&mut self, ns: &PidNamespace, nsid: u32) -> Result {
        // The index has room for every slot, so this fails only on a broken invariant; undo
        // the allocation rather than leave a slot the index cannot find.
        self.index.insert(key(ns), nsid).map_err(|e| {
            if let Some(entry) = self.table.free(nsid) {
                self.quotas.release(entry.charge, Pool::Nsids);
            }
            index_errno(e)
        })
    }

    /// Unbinds `nsid`, giving its quota unit back; the caller drops the entry unlocked.
    fn unbind(&mut self, nsid: u32) -> Option<NsEntry> {
        let entry = self.table.free(nsid)?;
        self.index.remove(key(&entry.ns));
        self.quotas.release(entry.charge, Pool::Nsids);
        Some(entry)
    }

    /// Moves up to a batch of dead namespaces out of the registry into `out`; returns how many.
    pub(crate) fn reclaim_dead(&mut self, out: &mut Reclaimed) -> usize {
        let mut dead = [0u32; RECLAIM_BATCH];
        let mut n = 0;
        for (nsid, _, entry) in self.table.iter() {
            if n == RECLAIM_BATCH {
                break;
            }
            if !entry.ns.is_live() {
                if let Some(slot) = dead.get_mut(n) {
                    *slot = nsid;
                    n += 1;
                }
            }
        }
        for (slot, &nsid) in out.iter_mut().zip(dead.iter().take(n)) {
            *slot = self.unbind(nsid);
        }
        n
    }

    /// Every bound namespace, in nsid order: `(nsid, generation, entry)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32, &NsEntry)> + '_ {
        self.table.iter()
    }
}
