// SPDX-License-Identifier: GPL-2.0

//! Per-user quotas of the machine-wide pools: no user (with every namespace it created) may
//! hold more than `quota_percent` percent of the narrow slots, of the wide slots, or of the
//! robust-thread slots; the
//! sender records follow the same share (`signals.rs`). Counted like the kernel's ucounts:
//! charges go to the uid that owns the outermost user namespace (`kernel_ext::user_namespace`).
//!
//! The initial namespace's root (kuid 0 with credentials in the initial user namespace, and
//! every namespace it owns) is not limited, as `RLIMIT_NPROC` does not limit it: it runs the
//! machine's own services and containers, and could raise the limit anyway.

use crate::gpid_core::layout::Class;
use crate::gpid_core::quota::{limit_of, Charge, QuotaEntry, QuotaError, QuotaTable};
use crate::kernel_ext::{params, pid_namespace::PidNamespace, user_namespace};
use kernel::{alloc::KVVec, new_spinlock, prelude::*, sync::SpinLock};

/// The pools a user's share is counted in.
#[derive(Clone, Copy)]
pub(crate) enum Pool {
    NarrowSlots = 0,
    WideSlots = 1,
    Threads = 2,
}

const POOLS: usize = 3;

impl Pool {
    /// The pool of the namespace slots of `class`.
    pub(crate) const fn of(class: Class) -> Self {
        match class {
            Class::Narrow => Self::NarrowSlots,
            Class::Wide => Self::WideSlots,
        }
    }
}

/// Who a charge goes to; `None` for the exempt (see the module doc).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key(Option<u32>);

impl Key {
    /// The caller, for what it holds itself (a thread slot, a sender record).
    pub(crate) fn current() -> Self {
        Self::exempt_root(Some(user_namespace::current_quota_key()))
    }

    /// The owner of `ns`, for its slots (whoever asks for them first).
    pub(crate) fn of_pid_ns(ns: &PidNamespace) -> Self {
        Self::exempt_root(user_namespace::pid_ns_quota_key(ns))
    }

    fn exempt_root(uid: Option<u32>) -> Self {
        Self(uid.filter(|&uid| uid != 0))
    }

    /// The uid charged, if any.
    pub(crate) fn uid(self) -> Option<u32> {
        self.0
    }
}

/// The limit of one user in a pool of `pool` units, at the current `quota_percent`.
pub(crate) fn limit(pool: usize) -> u32 {
    limit_of(u32::try_from(pool).unwrap_or(u32::MAX), params::quota_percent())
}

#[pin_data]
pub(crate) struct Quotas {
    table: QuotaTable<KVVec<QuotaEntry<POOLS>>>,
    /// Sizes of the pools, by [`Pool`]. Immutable after init.
    pools: [usize; POOLS],
    /// Serialises charges (`QuotaTable::charge_locked`); releases take no lock. Irq-safe is not
    /// needed: charges run in process context only.
    #[pin]
    lock: SpinLock<()>,
}

impl Quotas {
    /// Quotas for `narrow` and `wide` namespace slots and `threads` thread slots.
    pub(crate) fn new(narrow: usize, wide: usize, threads: usize) -> Result<impl PinInit<Self>> {
        // Every unit charged may belong to a different user: one entry per unit.
        let n = narrow.checked_add(wide).and_then(|n| n.checked_add(threads)).ok_or(EINVAL)?;
        let mut entries = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            entries.push(QuotaEntry::new(), GFP_KERNEL)?;
        }
        Ok(pin_init!(Self {
            table: QuotaTable::new(entries),
            pools: [narrow, wide, threads],
            lock <- new_spinlock!((), "gpid_quotas"),
        }))
    }

    /// Charges one unit of `pool` to `key`: `EDQUOT` once it holds its share.
    pub(crate) fn charge(&self, key: Key, pool: Pool) -> Result<Charge> {
        let Some(uid) = key.uid() else {
            return Ok(Charge::NONE);
        };
        let size = self.pools.get(pool as usize).copied().ok_or(EINVAL)?;
        let _guard = self.lock.lock();
        self.table
            .charge_locked(uid, pool as usize, limit(size))
            .map_err(|e| match e {
                QuotaError::Exceeded => EDQUOT,
                QuotaError::NoEntry => ENOSPC,
                QuotaError::Invalid => EINVAL,
            })
    }

    /// Gives back what `charge` took of `pool`. Any context: no lock.
    pub(crate) fn release(&self, charge: Charge, pool: Pool) {
        self.table.release(charge, pool as usize);
    }
}
