//! `QuotaTable` under loom: charges under a lock, releases from a thread that takes none (the
//! exit hook), racing for one entry and for one key's last unit.

use super::model;
use crate::quota::{Charge, QuotaEntry, QuotaError, QuotaTable};
use loom::sync::{Arc, Mutex};
use loom::thread;
use std::vec::Vec;

struct Shared {
    table: QuotaTable<Vec<QuotaEntry<2>>>,
    /// The lock the kernel holds around charges.
    lock: Mutex<()>,
}

fn shared(entries: usize) -> Arc<Shared> {
    Arc::new(Shared {
        table: QuotaTable::new((0..entries).map(|_| QuotaEntry::new()).collect()),
        lock: Mutex::new(()),
    })
}

impl Shared {
    fn charge(&self, key: u32, resource: usize, limit: u32) -> Result<Charge, QuotaError> {
        let _guard = self.lock.lock().unwrap();
        self.table.charge_locked(key, resource, limit)
    }
}

/// A lock-free release races a charge of another key for the only entry: the entry changes
/// hands only after the release, and the new key's count is exactly its one charge.
#[test]
fn release_races_reuse_of_the_entry() {
    model(|| {
        let s = shared(1);
        let held = s.charge(1, 0, 4).unwrap();
        let releaser = {
            let s = s.clone();
            thread::spawn(move || s.table.release(held, 0))
        };
        let got = s.charge(2, 1, 4);
        releaser.join().unwrap();
        let _guard = s.lock.lock().unwrap();
        assert_eq!(s.table.used(1, 0), 0);
        match got {
            Ok(c) => {
                assert_eq!((s.table.used(2, 1), s.table.used(2, 0)), (1, 0));
                s.table.release(c, 1);
                assert_eq!(s.table.used(2, 1), 0);
            }
            Err(e) => {
                assert_eq!(e, QuotaError::NoEntry);
                assert_eq!(s.table.used(2, 1), 0);
            }
        }
    });
}

/// A key at its limit: a release races two charges of the same key. At most one of them gets
/// the freed unit, and the count never passes the limit.
#[test]
fn the_limit_holds_against_racing_charges_and_releases() {
    model(|| {
        let s = shared(2);
        let held = s.charge(7, 0, 1).unwrap();
        let releaser = {
            let s = s.clone();
            thread::spawn(move || s.table.release(held, 0))
        };
        let charger = {
            let s = s.clone();
            thread::spawn(move || s.charge(7, 0, 1).is_ok())
        };
        let mine = s.charge(7, 0, 1).is_ok();
        let theirs = charger.join().unwrap();
        releaser.join().unwrap();
        assert!(!(mine && theirs), "two charges past a limit of 1");
        let _guard = s.lock.lock().unwrap();
        assert_eq!(s.table.used(7, 0), u32::from(mine || theirs));
    });
}
