//! `ThreadTable` under loom: owners of colliding keys, tombstone reuse, a full table.

use super::{model, model_bounded};
use crate::threads::{hash, ThreadSlot, ThreadTable, ThreadTableError, PROBE_WINDOW};
use loom::sync::atomic::{AtomicU64, Ordering::Relaxed};
use loom::sync::Arc;
use loom::thread;
use std::vec::Vec;

/// The smallest table: one probe window, so every key's window is the whole table.
const SLOTS: usize = PROBE_WINDOW;

type Table = ThreadTable<Vec<ThreadSlot>>;

fn table() -> Arc<Table> {
    Arc::new(ThreadTable::new((0..SLOTS).map(|_| ThreadSlot::new()).collect()).unwrap())
}

fn key(i: usize) -> usize {
    0xffff_8880_0100_0000 + i * 0x2c40
}

/// `count` keys whose probe windows start at the same slot: their owners race for it.
fn colliding(count: usize) -> Vec<usize> {
    let start = hash(key(0), SLOTS - 1);
    let keys: Vec<usize> = (0..)
        .map(key)
        .filter(|&k| hash(k, SLOTS - 1) == start)
        .take(count)
        .collect();
    assert_eq!(keys.len(), count);
    keys
}

/// What the owner of `key` does in the kernel: register, look itself up (the exit hook),
/// unregister.
fn owner_round(t: &Table, key: usize, value: u64) {
    t.insert(key, value).unwrap();
    assert_eq!(t.get(key), Some(value), "get({key:#x}) after insert");
    assert_eq!(t.remove(key), Some(value), "remove({key:#x})");
    assert_eq!(t.get(key), None, "get({key:#x}) after remove");
}

/// Two owners whose keys start at the same slot, each registering, reading back and
/// unregistering: each reads back its own value, never the other's.
#[test]
fn colliding_owners_read_back_their_own_values() {
    model(|| {
        let keys = colliding(2);
        let t = table();
        let other = {
            let (t, k) = (Arc::clone(&t), keys[1]);
            thread::spawn(move || owner_round(&t, k, 20))
        };
        owner_round(&t, keys[0], 10);
        other.join().unwrap();
        assert!(t.is_empty());
    });
}

/// One owner re-registers (an update, then a second value) while another owner of a
/// colliding key churns: the key is never held twice, and reads back the latest value.
#[test]
fn re_registration_updates_in_place() {
    model(|| {
        let keys = colliding(2);
        let t = table();
        let other = {
            let (t, k) = (Arc::clone(&t), keys[1]);
            thread::spawn(move || owner_round(&t, k, 20))
        };
        let k = keys[0];
        t.insert(k, 1).unwrap();
        t.insert(k, 2).unwrap();
        assert_eq!(t.get(k), Some(2));
        assert_eq!(t.remove(k), Some(2));
        // A second slot holding `k` would show up here.
        assert_eq!(t.get(k), None);
        assert_eq!(t.remove(k), None);
        other.join().unwrap();
        assert!(t.is_empty());
    });
}

/// A tombstone at the head of the window, which two owners race to reuse: one of them
/// re-registers the key that left it. A third thread reads a registered key further along
/// the window throughout, and must always find it with its value.
#[test]
fn tombstone_reuse_with_a_reader() {
    // Four threads: bound 3 means 840,000 executions and two minutes; 2 takes seconds.
    model_bounded(2, || {
        let keys = colliding(4);
        let (gone, resident, a) = (keys[0], keys[1], keys[2]);
        let t = table();
        t.insert(gone, 5).unwrap();
        t.insert(resident, 7).unwrap();
        assert_eq!(t.remove(gone), Some(5));
        let owners = [(a, 10), (gone, 20)].map(|(k, v)| {
            let t = Arc::clone(&t);
            thread::spawn(move || owner_round(&t, k, v))
        });
        // Spawned last, see `lookup_from_another_thread_sees_all_or_nothing`.
        let reader = {
            let t = Arc::clone(&t);
            thread::spawn(move || assert_eq!(t.get(resident), Some(7)))
        };
        for h in owners {
            h.join().unwrap();
        }
        reader.join().unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(resident), Some(7));
    });
}

/// A thread looking up another thread's key while that owner registers it into a reused
/// tombstone (which still holds its previous owner's value) and leaves again: the lookup
/// finds the key with its value, or not at all, and never the key with a stale value.
#[test]
fn lookup_from_another_thread_sees_all_or_nothing() {
    model(|| {
        let keys = colliding(2);
        let (gone, a) = (keys[0], keys[1]);
        let t = table();
        t.insert(gone, 5).unwrap();
        assert_eq!(t.remove(gone), Some(5));
        let owner = {
            let t = Arc::clone(&t);
            thread::spawn(move || owner_round(&t, a, 10))
        };
        // The lookup runs on a thread spawned after the owner, not on this one right after
        // the spawn: loom's DPOR remembers only an object's last access, so a lookup that
        // first runs before the owner's accesses (which then overwrite it) would never be
        // replayed between them; one that first runs after them is.
        let reader = {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let seen = t.get(a);
                assert!(matches!(seen, None | Some(10)), "{seen:?}");
            })
        };
        owner.join().unwrap();
        reader.join().unwrap();
        assert_eq!(t.get(a), None);
    });
}

/// A table one key short of its maximum: of two owners registering at once, exactly one
/// gets in and the other gets `Full`, whichever order their steps interleave in. Once the
/// winner leaves, the loser's key fits in the tombstone.
#[test]
fn full_table_admits_exactly_one() {
    model(|| {
        let keys = colliding(2);
        let t = table();
        let max = t.max_len();
        for i in 0..max - 1 {
            t.insert(key(1000 + i), i as u64).unwrap();
        }
        let racers = [(keys[0], 10), (keys[1], 20)].map(|(k, v)| {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let r = t.insert(k, v);
                match r {
                    Ok(_) => assert_eq!(t.get(k), Some(v)),
                    Err(e) => {
                        assert_eq!(e, ThreadTableError::Full);
                        assert_eq!(t.get(k), None);
                    }
                }
                r.is_ok()
            })
        });
        let won = racers.map(|h| h.join().unwrap());
        assert_eq!(won.iter().filter(|&&w| w).count(), 1, "{won:?}");
        assert_eq!(t.len(), max);
        let (winner, loser) = if won[0] { (keys[0], keys[1]) } else { (keys[1], keys[0]) };
        assert_eq!(t.insert(loser, 30), Err(ThreadTableError::Full));
        assert!(t.remove(winner).is_some());
        t.insert(loser, 30).unwrap();
        assert_eq!(t.get(loser), Some(30));
        assert_eq!(t.len(), max);
    });
}

/// A full table while one owner leaves and another registers: the registration either
/// fails with `Full` (it ran first) or succeeds, never both, and the count stays exact.
#[test]
fn full_table_while_an_owner_leaves() {
    model(|| {
        let keys = colliding(2);
        let t = table();
        let max = t.max_len();
        for i in 0..max - 1 {
            t.insert(key(1000 + i), i as u64).unwrap();
        }
        t.insert(keys[0], 10).unwrap();
        let leaver = {
            let (t, k) = (Arc::clone(&t), keys[0]);
            thread::spawn(move || assert_eq!(t.remove(k), Some(10)))
        };
        let joined = match t.insert(keys[1], 20) {
            Ok(_) => {
                assert_eq!(t.get(keys[1]), Some(20));
                true
            }
            Err(e) => {
                assert_eq!(e, ThreadTableError::Full);
                false
            }
        };
        leaver.join().unwrap();
        assert_eq!(t.len(), max - 1 + usize::from(joined));
        assert_eq!(t.get(keys[0]), None);
    });
}

/// The dying owner's side of a registration that ends with work left (the exit hook's
/// fallback): it writes the work beside its slot (a relaxed store, ordered only by the table)
/// and retires the slot.
fn retire_with_work(t: &Table, jobs: &[AtomicU64], key: usize, value: u64) {
    let got = t.retire(key, |slot, value| {
        jobs[slot].store(value + 1, Relaxed);
        true
    });
    assert_eq!(got, Some((value, true)));
}

fn drain(t: &Table, jobs: &[AtomicU64], seen: &mut Vec<u64>) {
    // A load and a store, not a swap: a read-modify-write always reads the latest value,
    // which would hide a missing Acquire.
    t.drain_retired(
        |slot| {
            let job = jobs[slot].load(Relaxed);
            jobs[slot].store(0, Relaxed);
            job
        },
        |job| seen.push(job),
    );
}

fn jobs() -> Arc<Vec<AtomicU64>> {
    Arc::new((0..SLOTS).map(|_| AtomicU64::new(0)).collect())
}

/// A retire races the drain: the drain takes the work exactly once (now or in a later pass),
/// and sees what the dying owner wrote.
#[test]
fn retired_work_is_taken_once_as_written() {
    model(|| {
        let (t, jobs) = (table(), jobs());
        let k = key(0);
        t.insert(k, 10).unwrap();
        let dying = {
            let (t, jobs) = (Arc::clone(&t), Arc::clone(&jobs));
            thread::spawn(move || retire_with_work(&t, &jobs, k, 10))
        };
        // The drain runs on a thread spawned after the dying one (see
        // `lookup_from_another_thread_sees_all_or_nothing` for why).
        let drainer = {
            let (t, jobs) = (Arc::clone(&t), Arc::clone(&jobs));
            thread::spawn(move || {
                let mut seen = Vec::new();
                drain(&t, &jobs, &mut seen);
                seen
            })
        };
        let mut seen = drainer.join().unwrap();
        dying.join().unwrap();
        drain(&t, &jobs, &mut seen);
        assert_eq!(seen, [11]);
        assert!(t.is_empty());
    });
}

/// A retire races the owner of a colliding key registering: that owner never claims the
/// retired slot, so it reads back its own value, and the work is still there for the drain.
#[test]
fn a_retired_slot_is_not_reused_before_the_drain() {
    model(|| {
        let keys = colliding(2);
        let (t, jobs) = (table(), jobs());
        t.insert(keys[0], 10).unwrap();
        let dying = {
            let (t, jobs, k) = (Arc::clone(&t), Arc::clone(&jobs), keys[0]);
            thread::spawn(move || retire_with_work(&t, &jobs, k, 10))
        };
        let other = {
            let (t, k) = (Arc::clone(&t), keys[1]);
            thread::spawn(move || owner_round(&t, k, 20))
        };
        other.join().unwrap();
        dying.join().unwrap();
        let mut seen = Vec::new();
        drain(&t, &jobs, &mut seen);
        assert_eq!(seen, [11]);
        assert!(t.is_empty());
    });
}
