// SPDX-License-Identifier: GPL-2.0

//! Robust futexes across PID namespaces.
//!
//! A registered thread writes its canonical gpid as the owner of robust futex words. The
//! kernel's exit-time walk (`futex_cleanup()`, run by `futex_exit_exec_release()` at exit and
//! at exec) only recognises words holding the dying thread's plain TID, so a kprobe on that
//! function walks the thread's robust list first, with the kernel's own rules
//! (`gpid_core::robust`), and rewrites the owner field of every word that holds the thread's
//! gpid to its plain TID. The kernel's walk, which runs right after, then sets
//! `FUTEX_OWNER_DIED`, keeps `FUTEX_WAITERS` and wakes one waiter, exactly as for a native
//! robust futex.
//!
//! The probe handler runs in NMI-like atomic context: it looks the thread up in a lock-free
//! table, touches user memory only without faulting, and never allocates. A word on a page
//! that is not present in the thread's page tables cannot be rewritten there. Then the
//! handler keeps a reference to the thread's address space and hands the walk to process
//! context (irq_work, then a work item), which walks the list again with page faults allowed
//! and marks the remaining words `FUTEX_OWNER_DIED` itself, like the kernel would. It cannot
//! wake a waiter (6.12 exports no futex wake), so waiters must wait in bounded slices and
//! re-check the word: gpid's mutex library waits in 50 ms slices, so recovery takes one slice.
//!
//! Cost for everyone else: the probes are armed at the first registration; until then no
//! thread pays anything. Once armed, an exiting thread that never registered pays the probe
//! trap, an atomic load (table empty) or one bounded probe-window scan.

use crate::gpid_core::{
    quota::Charge,
    robust::{
        mark_gpid_list_dead, mark_robust_list_dead, translate_robust_list_within, Budget, WalkEnd,
        WalkStats, CMPXCHG_MAX_ATTEMPTS,
    },
    threads::{Inserted, ThreadTableError},
};
use crate::kernel_ext::{
    deferred::{DeferredHandler, DeferredWork},
    kprobes::{handler_clock_ns, KprobeHandler, KprobeRegistration},
    mm::MmRef,
    thread_table::ThreadTableWithWork,
    uaccess_nofault::{current_robust_list, current_task_key, current_vtid, CurrentMemNofault},
};
use crate::quota::{Key, Pool, Quotas};
use core::{
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    alloc::KBox,
    c_str, new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

/// The most threads registered at once, deaths whose walk is still to be finished included
/// (the table has twice as many slots).
pub(crate) const MAX_THREADS: usize = 4096;

/// What the exit hook may do, with interrupts off: this many list entries, this many
/// compare-and-exchange attempts per word. The rest of a longer or contended list is finished
/// by the fallback, in process context. Measured in `make bench` (`hostile list`).
pub(crate) const HOOK_BUDGET: Budget = Budget {
    entries: 64,
    attempts: 4,
};

/// Compare-and-exchange attempts per word in the fallback (process context): a word still
/// contended after these is counted in `fallback_words_given_up`.
const FALLBACK_ATTEMPTS: u32 = 32 * CMPXCHG_MAX_ATTEMPTS;

/// Counters shown by `/proc/gpid/robust`. Updated from the probe handler: atomics only.
#[derive(Default)]
pub(crate) struct RobustStats {
    pub(crate) registrations: AtomicU64,
    pub(crate) walks: AtomicU64,
    pub(crate) entries: AtomicU64,
    pub(crate) words_translated: AtomicU64,
    pub(crate) word_faults: AtomicU64,
    pub(crate) list_faults: AtomicU64,
    pub(crate) cut_at_limit: AtomicU64,
    pub(crate) cut_at_budget: AtomicU64,
    pub(crate) pi_skipped: AtomicU64,
    pub(crate) unaligned: AtomicU64,
    pub(crate) retries_exhausted: AtomicU64,
    pub(crate) fallbacks_queued: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) fallbacks_lost: AtomicU64,
    pub(crate) fallback_words_marked: AtomicU64,
    pub(crate) fallback_words_given_up: AtomicU64,
    /// The longest time one exit hook ran, in nanoseconds (interrupts off throughout).
    pub(crate) hook_max_ns: AtomicU64,
    /// How long the latest exit hook of a registered thread ran, in nanoseconds.
    pub(crate) hook_last_ns: AtomicU64,
}

impl RobustStats {
    fn record(&self, walk: &WalkStats) {
        let add = |c: &AtomicU64, n: u32| {
            if n != 0 {
                c.fetch_add(u64::from(n), Ordering::Relaxed);
            }
        };
        add(&self.walks, 1);
        add(&self.entries, walk.entries);
        add(&self.words_translated, walk.words_rewritten);
        add(&self.word_faults, walk.faults);
        add(&self.pi_skipped, walk.pi_skipped);
        add(&self.unaligned, walk.unaligned);
        add(&self.retries_exhausted, walk.retries_exhausted);
        add(&self.cut_at_limit, u32::from(walk.cut_at_limit));
        add(&self.cut_at_budget, u32::from(walk.end == WalkEnd::Budget));
        add(
            &self.list_faults,
            u32::from(matches!(walk.end, WalkEnd::HeadFault | WalkEnd::NextFault)),
        );
    }
}

/// Whether the hook's walk left gpid-owned words that the kernel's walk will not finish.
fn walk_unfinished(walk: &WalkStats) -> bool {
    walk.faults != 0
        || walk.retries_exhausted != 0
        || matches!(walk.end, WalkEnd::HeadFault | WalkEnd::NextFault | WalkEnd::Budget)
}

/// Walks the exit path could not finish: redone in process context.
struct FallbackJob {
    mm: MmRef,
    head: usize,
    owner: u32,
    tid: u32,
    /// The registration's quota unit, given back once the walk is done.
    charge: Charge,
}

/// A registration's value in the thread table: the owner gpid and the quota unit it holds.
fn pack(owner: u32, charge: Charge) -> u64 {
    u64::from(owner) | (u64::from(charge.into_raw()) << 32)
}

fn unpack(value: u64) -> (u32, Charge) {
    (value as u32, Charge::from_raw((value >> 32) as u32))
}

/// What the exit hook needs: shared by the probes and the ioctls.
pub(crate) struct RobustState {
    /// Registered threads: task address -> owner gpid and quota unit, and beside each the
    /// fallback job its death may leave. Lock-free (see `gpid_core::threads`).
    threads: ThreadTableWithWork<FallbackJob>,
    /// Thread slots are charged to the registering user (`Pool::Threads`).
    quotas: Arc<Quotas>,
    pub(crate) stats: RobustStats,
}

impl RobustState {
    /// Finishes the walks the exit path left: every word on the dead thread's list still
    /// owned by its gpid (PI words excepted, as in the hook), or by its TID where the kernel's
    /// own walk stopped early, is marked `FUTEX_OWNER_DIED` (waiters kept). Process context:
    /// faults allowed.
    fn run_fallbacks(&self) {
        self.threads.drain(|mut job| {
            let gpid = mark_gpid_list_dead(&mut job.mm, job.head, job.owner, FALLBACK_ATTEMPTS, |_, _| {});
            let tid = mark_robust_list_dead(&mut job.mm, job.head, job.tid, |_, _| {});
            for walk in [gpid, tid] {
                self.stats
                    .fallback_words_marked
                    .fetch_add(u64::from(walk.words_rewritten), Ordering::Relaxed);
                self.stats
                    .fallback_words_given_up
                    .fetch_add(u64::from(walk.retries_exhausted), Ordering::Relaxed);
            }
            self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
            self.quotas.release(job.charge, Pool::Threads);
            // `job.mm` is released here, in process context.
        });
    }

    /// The dying (or exec'ing) thread's hook: runs right before the kernel's robust walk.
    /// Returns whether a fallback walk was left, or `None` for a thread that was not
    /// registered. Bounded by [`HOOK_BUDGET`].
    fn release_current(&self) -> Option<bool> {
        if self.threads.is_empty() {
            return None;
        }
        let key = current_task_key();
        let left = self.threads.retire(key, |value| {
            let (owner, charge) = unpack(value);
            // Read only for a registered thread: other exiting threads pay the lookup alone.
            let head = current_robust_list();
            if head == 0 {
                return None;
            }
            let tid = u32::try_from(current_vtid()).unwrap_or(0);
            let walk = translate_robust_list_within(&mut CurrentMemNofault, head, owner, tid, HOOK_BUDGET);
            self.stats.record(&walk);
            if !walk_unfinished(&walk) {
                return None;
            }
            let job = MmRef::current().map(|mm| FallbackJob {
                mm,
                head,
                owner,
                tid,
                charge,
            });
            let counter = if job.is_some() { &self.stats.fallbacks_queued } else { &self.stats.fallbacks_lost };
            counter.fetch_add(1, Ordering::Relaxed);
            job
        });
        // Exit ends the thread; exec ends the program that registered. Either way the
        // registration is over; without work left, so is its quota unit.
        let (value, left) = left?;
        if !left {
            self.quotas.release(unpack(value).1, Pool::Threads);
        }
        Some(left)
    }
}

/// The process-context half of the fallback.
struct Fallback(Arc<RobustState>);

impl DeferredHandler for Fallback {
    fn run(&self) {
        self.0.run_fallbacks();
    }
}

/// The probe on `futex_exit_exec_release` (thread exit and exec).
struct ReleaseHook {
    state: Arc<RobustState>,
    fallback: Arc<DeferredWork<Fallback>>,
}

impl KprobeHandler for ReleaseHook {
    fn pre_handler(&self) {
        let start = handler_clock_ns();
        let Some(left) = self.state.release_current() else {
            return;
        };
        if left {
            self.fallback.kick();
        }
        let ns = handler_clock_ns().saturating_sub(start);
        self.state.stats.hook_max_ns.fetch_max(ns, Ordering::Relaxed);
        self.state.stats.hook_last_ns.store(ns, Ordering::Relaxed);
    }
}

type Probe = Pin<KBox<KprobeRegistration<ReleaseHook>>>;

/// Registration and the probes, armed on first use.
#[pin_data]
pub(crate) struct Robust {
    /// The armed probe; `None` until the first registration. First, so it is unregistered
    /// before anything it uses goes away.
    #[pin]
    probes: Mutex<Option<Probe>>,
    pub(crate) state: Arc<RobustState>,
    fallback: Arc<DeferredWork<Fallback>>,
}

impl Robust {
    pub(crate) fn new(quotas: Arc<Quotas>) -> Result<impl PinInit<Self>> {
        let state = Arc::new(
            RobustState {
                threads: ThreadTableWithWork::new(2 * MAX_THREADS)?,
                quotas,
                stats: RobustStats::default(),
            },
            GFP_KERNEL,
        )?;
        let fallback = DeferredWork::new(Fallback(state.clone()))?;
        Ok(pin_init!(Self {
            probes <- new_mutex!(None, "gpid_robust_probes"),
            state,
            fallback,
        }))
    }

    /// Whether the probe is armed.
    pub(crate) fn armed(&self) -> bool {
        self.probes.lock().is_some()
    }

    fn arm(&self) -> Result {
        let mut probes = self.probes.lock();
        if probes.is_none() {
            let hook = ReleaseHook {
                state: self.state.clone(),
                fallback: self.fallback.clone(),
            };
            *probes = Some(KprobeRegistration::new(c_str!("futex_exit_exec_release"), hook)?);
        }
        Ok(())
    }

    /// Registers the calling thread with `owner`, its canonical gpid, charging a thread slot
    /// to its user (`EDQUOT` past its share, `ENOSPC` when the table is full). A thread that
    /// registers again keeps its slot and its charge, with the new owner.
    pub(crate) fn register_current(&self, owner: u32) -> Result {
        self.arm()?;
        let state = &self.state;
        let key = current_task_key();
        if let Some(value) = state.threads.get(key) {
            // Only this thread changes its own entry, so it is still there.
            let (_, charge) = unpack(value);
            state.threads.insert(key, pack(owner, charge)).map_err(table_errno)?;
        } else {
            let charge = state.quotas.charge(Key::current(), Pool::Threads)?;
            match state.threads.insert(key, pack(owner, charge)) {
                Ok(Inserted::New) => {}
                Ok(Inserted::Updated) => state.quotas.release(charge, Pool::Threads),
                Err(e) => {
                    state.quotas.release(charge, Pool::Threads);
                    return Err(table_errno(e));
                }
            }
        }
        state.stats.registrations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Ends the calling thread's registration; `ENOENT` when it had none.
    pub(crate) fn unregister_current(&self) -> Result {
        let value = self.state.threads.remove(current_task_key()).ok_or(ENOENT)?;
        self.state.quotas.release(unpack(value).1, Pool::Threads);
        Ok(())
    }

    /// How many threads are registered now, deaths whose walk is still to be finished
    /// included.
    pub(crate) fn registered(&self) -> usize {
        self.state.threads.len()
    }

    /// How many deaths wait for the fallback now.
    pub(crate) fn pending_fallbacks(&self) -> usize {
        self.state.threads.retired()
    }
}

fn table_errno(e: ThreadTableError) -> Error {
    match e {
        ThreadTableError::Full => ENOSPC,
        ThreadTableError::Invalid => EINVAL,
    }
}
