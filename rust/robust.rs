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
    robust::{mark_robust_list_dead, translate_robust_list, WalkEnd, WalkStats},
    threads::{ThreadSlot, ThreadTable, ThreadTableError},
};
use crate::kernel_ext::{
    deferred::{DeferredHandler, DeferredWork},
    kprobes::{KprobeHandler, KprobeRegistration},
    mm::MmRef,
    nmi_slots::NmiSlots,
    uaccess_nofault::{current_robust_list, current_task_key, current_vtid, CurrentMemNofault},
};
use core::{
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    alloc::{flags::GFP_KERNEL, KBox, KVVec},
    c_str, new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

/// The most threads registered at once (the table has twice as many slots).
pub(crate) const MAX_THREADS: usize = 4096;

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
    pub(crate) pi_skipped: AtomicU64,
    pub(crate) unaligned: AtomicU64,
    pub(crate) retries_exhausted: AtomicU64,
    pub(crate) fallbacks: AtomicU64,
    pub(crate) fallbacks_dropped: AtomicU64,
    pub(crate) fallback_words_marked: AtomicU64,
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
        add(
            &self.list_faults,
            u32::from(matches!(walk.end, WalkEnd::HeadFault | WalkEnd::NextFault)),
        );
    }
}

/// Walks the exit path could not finish: redone in process context.
struct FallbackJob {
    mm: MmRef,
    head: usize,
    owner: u32,
    tid: u32,
}

/// How many fallback walks can wait at once; more are counted as dropped.
const FALLBACK_SLOTS: usize = 32;

/// What the exit hook needs: shared by the probes and the ioctls.
pub(crate) struct RobustState {
    /// Registered threads: task address -> owner gpid. Lock-free (see `gpid_core::threads`).
    threads: ThreadTable<KVVec<ThreadSlot>>,
    /// Fallback walks, filled by the exit hook, drained by `Fallback::run`.
    jobs: NmiSlots<FallbackJob, FALLBACK_SLOTS>,
    pub(crate) stats: RobustStats,
}

impl RobustState {
    /// Finishes the walks the exit path left: every word on the dead thread's list still
    /// owned by its gpid, or by its TID where the kernel's own walk stopped early, is marked
    /// `FUTEX_OWNER_DIED` (waiters kept). Process context: faults allowed.
    fn run_fallbacks(&self) {
        self.jobs.drain(|mut job| {
            for owner in [job.owner, job.tid] {
                let walk = mark_robust_list_dead(&mut job.mm, job.head, owner, |_, _| {});
                self.stats
                    .fallback_words_marked
                    .fetch_add(u64::from(walk.words_rewritten), Ordering::Relaxed);
            }
            self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
            // `job.mm` is released here, in process context.
        });
    }

    /// The dying (or exec'ing) thread's hook: runs right before the kernel's robust walk.
    /// Returns whether a fallback walk was queued.
    fn release_current(&self) -> bool {
        if self.threads.is_empty() {
            return false;
        }
        let key = current_task_key();
        let Some(owner) = self.threads.get(key) else {
            return false;
        };
        let mut queued = false;
        let head = current_robust_list();
        if head != 0 {
            let tid = u32::try_from(current_vtid()).unwrap_or(0);
            let walk = translate_robust_list(&mut CurrentMemNofault, head, owner, tid);
            self.stats.record(&walk);
            if walk.faults != 0 || matches!(walk.end, WalkEnd::HeadFault | WalkEnd::NextFault) {
                queued = self.jobs.put(|| {
                    MmRef::current().map(|mm| FallbackJob {
                        mm,
                        head,
                        owner,
                        tid,
                    })
                });
                if !queued {
                    self.stats.fallbacks_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // Exit ends the thread; exec ends the program that registered. Either way the
        // registration is over.
        self.threads.remove(key);
        queued
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
        if self.state.release_current() {
            self.fallback.kick();
        }
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
    pub(crate) fn new() -> Result<impl PinInit<Self>> {
        let mut slots = KVVec::with_capacity(2 * MAX_THREADS, GFP_KERNEL)?;
        for _ in 0..2 * MAX_THREADS {
            slots.push(ThreadSlot::new(), GFP_KERNEL)?;
        }
        let threads = ThreadTable::new(slots).map_err(|_| EINVAL)?;
        let state = Arc::new(
            RobustState {
                threads,
                jobs: NmiSlots::new(),
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

    /// Registers the calling thread with `owner`, its canonical gpid.
    pub(crate) fn register_current(&self, owner: u32) -> Result {
        self.arm()?;
        self.state
            .threads
            .insert(current_task_key(), owner)
            .map_err(|e| match e {
                ThreadTableError::Full => ENOSPC,
                ThreadTableError::Invalid => EINVAL,
            })?;
        self.state.stats.registrations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Ends the calling thread's registration; `ENOENT` when it had none.
    pub(crate) fn unregister_current(&self) -> Result {
        self.state.threads.remove(current_task_key()).map(|_| ()).ok_or(ENOENT)
    }

    /// How many threads are registered now.
    pub(crate) fn registered(&self) -> usize {
        self.state.threads.len()
    }
}
