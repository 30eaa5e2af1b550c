//! Per-user quotas of gpid's shared pools, counted like the kernel's ucounts.
//!
//! gpid's pools (namespace ids, thread slots) are machine-wide; without a quota one user could
//! take them all and leave every other container with `ENOSPC`. Each charge goes to a key (in
//! the kernel: the uid that owns the charged object as seen from the initial user namespace,
//! which is where `inc_ucount()` ends its walk up the user-namespace tree) and fails once that
//! key holds its limit of a resource.
//!
//! Locking: charges are taken with the table's lock held (the caller's, hence the `_locked`
//! suffix), releases are lock-free. That is what the kernel needs: a thread's registration is
//! charged in an ioctl, but the exit hook, which runs where no lock may be taken, releases it.
//! It is sound because only a charge (under the lock) ever raises a count and gives an entry a
//! key: an entry whose counts are all zero has no outstanding charge, so no later release can
//! name it, and the lock holder may hand it to another key.

use super::atomic::{AtomicU32, Ordering};

/// One key's counts, one per resource.
#[derive(Debug)]
pub struct QuotaEntry<const R: usize> {
    /// The key; meaningful only while some count is non-zero. Written under the table's lock.
    key: AtomicU32,
    /// Outstanding charges per resource. Raised under the lock, lowered by any context.
    used: [AtomicU32; R],
}

impl<const R: usize> QuotaEntry<R> {
    /// An unused entry, for filling new storage.
    pub fn new() -> Self {
        Self {
            key: AtomicU32::new(0),
            used: core::array::from_fn(|_| AtomicU32::new(0)),
        }
    }

    fn is_unused(&self) -> bool {
        // Acquire pairs with the Release of `release`: the last holder is done with the entry.
        self.used.iter().all(|u| u.load(Ordering::Acquire) == 0)
    }
}

impl<const R: usize> Default for QuotaEntry<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a charge failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaError {
    /// The key holds its limit of the resource (the kernel reports `EDQUOT`).
    Exceeded,
    /// Every entry belongs to another key: the table is smaller than the number of keys that
    /// can hold charges at once (a sizing bug; the kernel reports `ENOSPC`).
    NoEntry,
    /// The resource index is out of range.
    Invalid,
}

/// What a charge took: handed back to [`QuotaTable::release`] exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge(u32);

impl Charge {
    /// Nothing charged: for exempt keys. Releasing it does nothing.
    pub const NONE: Self = Self(u32::MAX);

    /// The charge as a number, for storing in an atomic word; [`Charge::from_raw`] undoes it.
    pub const fn into_raw(self) -> u32 {
        self.0
    }

    /// The charge [`Charge::into_raw`] gave.
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }
}

/// The counts of every key that holds a charge, over caller-provided storage.
#[derive(Debug)]
pub struct QuotaTable<S> {
    entries: S,
}

impl<const R: usize, S: core::ops::Deref<Target = [QuotaEntry<R>]>> QuotaTable<S> {
    /// A table over `entries`: at least one per key that may hold charges at once (at most
    /// the sum of the pools' sizes).
    pub fn new(entries: S) -> Self {
        Self { entries }
    }

    /// Charges one unit of `resource` to `key`, unless `key` holds `limit` already. The caller
    /// holds the table's lock: no other charge runs at the same time.
    pub fn charge_locked(&self, key: u32, resource: usize, limit: u32) -> Result<Charge, QuotaError> {
        if resource >= R {
            return Err(QuotaError::Invalid);
        }
        let mut free = None;
        let mut found = None;
        for (i, e) in self.entries.iter().enumerate() {
            if e.is_unused() {
                free = free.or(Some(i));
            } else if e.key.load(Ordering::Relaxed) == key {
                found = Some(i);
                break;
            }
        }
        let i = found.or(free).ok_or(QuotaError::NoEntry)?;
        let index = u32::try_from(i).map_err(|_| QuotaError::NoEntry)?;
        let entry = self.entries.get(i).ok_or(QuotaError::NoEntry)?;
        let used = entry.used.get(resource).ok_or(QuotaError::Invalid)?;
        // Releases only lower the count, so a count below the limit here stays below it.
        if used.load(Ordering::Relaxed) >= limit {
            return Err(QuotaError::Exceeded);
        }
        if found.is_none() {
            // Relaxed: `key` is read only under the lock this caller holds.
            entry.key.store(key, Ordering::Relaxed);
        }
        used.fetch_add(1, Ordering::Relaxed);
        Ok(Charge(index))
    }

    /// Gives back one unit of `resource` that `charge` took. Any context, no lock. A charge
    /// must be released once, for the resource it was taken for.
    pub fn release(&self, charge: Charge, resource: usize) {
        let Some(entry) = self.entries.get(charge.0 as usize) else {
            return;
        };
        if let Some(used) = entry.used.get(resource) {
            // Release pairs with the Acquire of `is_unused`: whoever reuses the entry does so
            // after this holder is done with it. Never below zero, even if misused.
            let _ = used.fetch_update(Ordering::Release, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    /// How much of `resource` `key` holds. Under the lock, exact; otherwise a snapshot.
    pub fn used(&self, key: u32, resource: usize) -> u32 {
        self.entries
            .iter()
            .find(|e| !e.is_unused() && e.key.load(Ordering::Relaxed) == key)
            .and_then(|e| e.used.get(resource))
            .map_or(0, |u| u.load(Ordering::Relaxed))
    }
}

/// The limit a key may hold of a pool of `pool` units: `percent` percent, rounded down, but at
/// least one unit (a quota of nothing would lock a user out), and the whole pool at 100 or
/// more.
pub fn limit_of(pool: u32, percent: u32) -> u32 {
    let share = u64::from(pool) * u64::from(percent.min(100)) / 100;
    u32::try_from(share).unwrap_or(pool).max(1)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    type Table = QuotaTable<Vec<QuotaEntry<2>>>;

    fn table(n: usize) -> Table {
        QuotaTable::new((0..n).map(|_| QuotaEntry::new()).collect())
    }

    #[test]
    fn limit_is_per_key_and_per_resource() {
        let t = table(4);
        let a: Vec<_> = (0..3).map(|_| t.charge_locked(1000, 0, 3).unwrap()).collect();
        assert_eq!(t.charge_locked(1000, 0, 3), Err(QuotaError::Exceeded));
        // Another resource of the same key, and another key, are not affected.
        let b = t.charge_locked(1000, 1, 3).unwrap();
        let c = t.charge_locked(65534, 0, 3).unwrap();
        assert_eq!((t.used(1000, 0), t.used(1000, 1), t.used(65534, 0)), (3, 1, 1));
        t.release(a[0], 0);
        assert!(t.charge_locked(1000, 0, 3).is_ok());
        t.release(b, 1);
        t.release(c, 0);
        assert_eq!(t.used(65534, 0), 0);
    }

    #[test]
    fn an_entry_is_reused_only_once_every_count_is_zero() {
        let t = table(1);
        let a = t.charge_locked(1, 0, 9).unwrap();
        let b = t.charge_locked(1, 1, 9).unwrap();
        assert_eq!(t.charge_locked(2, 0, 9), Err(QuotaError::NoEntry));
        t.release(a, 0);
        assert_eq!(t.charge_locked(2, 0, 9), Err(QuotaError::NoEntry));
        t.release(b, 1);
        let c = t.charge_locked(2, 0, 9).unwrap();
        assert_eq!((t.used(1, 0), t.used(2, 0)), (0, 1));
        t.release(c, 0);
    }

    #[test]
    fn none_and_bad_charges_release_nothing() {
        let t = table(2);
        let a = t.charge_locked(7, 0, 9).unwrap();
        t.release(Charge::NONE, 0);
        t.release(a, 5);
        assert_eq!(t.used(7, 0), 1);
        t.release(a, 0);
        t.release(a, 0);
        assert_eq!(t.used(7, 0), 0);
        assert_eq!(t.charge_locked(7, 2, 9), Err(QuotaError::Invalid));
    }

    #[test]
    fn limits() {
        assert_eq!(limit_of(255, 25), 63);
        assert_eq!(limit_of(4096, 25), 1024);
        assert_eq!(limit_of(10, 1), 1);
        assert_eq!(limit_of(10, 0), 1);
        assert_eq!(limit_of(10, 250), 10);
        assert_eq!(limit_of(u32::MAX, 100), u32::MAX);
    }

    proptest! {
        /// Against a map of counts: a charge succeeds exactly when the key is below its limit
        /// (the table has an entry per key), and `used` always agrees with the map.
        #[test]
        fn agrees_with_a_model(ops in proptest::collection::vec((0u32..4, 0usize..2, any::<bool>()), 0..200)) {
            let t = table(4);
            let limit = 3;
            let mut model: BTreeMap<(u32, usize), Vec<Charge>> = BTreeMap::new();
            for (key, res, charge) in ops {
                let held = model.entry((key, res)).or_default();
                if charge {
                    let got = t.charge_locked(key, res, limit);
                    if held.len() < limit as usize {
                        held.push(got.unwrap());
                    } else {
                        prop_assert_eq!(got, Err(QuotaError::Exceeded));
                    }
                } else if let Some(c) = held.pop() {
                    t.release(c, res);
                }
                for k in 0..4 {
                    for r in 0..2 {
                        let n = model.get(&(k, r)).map_or(0, Vec::len);
                        prop_assert_eq!(t.used(k, r) as usize, n);
                    }
                }
            }
        }
    }
}
