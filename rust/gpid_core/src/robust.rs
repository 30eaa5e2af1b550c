// SPDX-License-Identifier: GPL-2.0

//! Walker for a thread's robust-futex list, and the policies gpid applies to the futex words it
//! reaches.
//!
//! When a thread dies (or execs) the kernel walks the list the thread registered with
//! `set_robust_list()` and, for every futex word whose owner field holds the thread's TID, sets
//! `FUTEX_OWNER_DIED` and wakes a waiter. Under gpid, userspace writes the *gpid* into that field,
//! which the kernel does not recognise as the dying thread's TID. gpid therefore walks the same
//! list first, with the same rules, and rewrites the owner field from the gpid to the plain TID
//! ([`translate_owner`], [`translate_robust_list`]), so that the kernel's own walk, which runs
//! right after, finds its TID and does the rest. [`mark_owner_died`] and
//! [`mark_robust_list_dead`] do the kernel's own word update instead, for a path that cannot
//! count on the kernel's walk.
//!
//! The walk reproduces Linux 6.12 `kernel/futex/core.c` exactly (line numbers from 6.12.117),
//! because a translating walk that reaches other words than the kernel's would leave gpid-owned
//! words behind (lost `FUTEX_OWNER_DIED`) or rewrite words the kernel never looks at:
//!
//! | here | 6.12 `kernel/futex/core.c` |
//! |---|---|
//! | [`split_entry`] | `fetch_robust_entry()`, l. 811-823: bit 0 is the PI flag |
//! | head reads, [`WalkEnd::HeadFault`] | `exit_robust_list()`, l. 845-857 |
//! | loop test `entry != head` | l. 860 (`&head->list` is `head`, `list` is at offset 0) |
//! | next fetched *before* the entry is handled | l. 865 |
//! | entry equal to `list_op_pending` skipped | l. 870 |
//! | [`WordOutcome::stops_walk`], [`WalkEnd::WordStop`] | l. 871-873: a failing `handle_futex_death()` ends the walk; pending is then *not* handled |
//! | [`WalkEnd::NextFault`] | l. 875-876: the entry is still handled, then the walk ends; pending is *not* handled |
//! | [`ROBUST_LIST_LIMIT`], [`WalkEnd::Limit`] | l. 882-883: `break`, so pending is still handled |
//! | pending handled last, once | l. 888-891 |
//! | word address `entry + futex_offset`, wrapping | l. 871, 889: `futex_offset` is an `unsigned long` (l. 838) added to a pointer |
//! | [`WordOutcome::Unaligned`] | `handle_futex_death()`, l. 669-671 |
//! | [`WordOutcome::Fault`] on read | l. 674-675 |
//! | owner test, pending special case ([`WordOutcome::PendingWake`]) | l. 745-753 |
//! | `(uval & FUTEX_WAITERS) \| FUTEX_OWNER_DIED` | l. 765 |
//! | cmpxchg, fault-in and retry | l. 776-794 |
//! | wake only if `!pi && FUTEX_WAITERS` | l. 800-803 |
//!
//! Only the native (64-bit on x86_64) list layout is handled; a compat task's list
//! (`compat_exit_robust_list()`, 32-bit pointers) needs its own walk.
//!
//! All work is bounded: at most 3 head reads, [`ROBUST_LIST_LIMIT`] list steps, one pending word,
//! and [`CMPXCHG_MAX_ATTEMPTS`] compare-and-exchange attempts per word.

/// Bit of a futex word telling that the kernel has waiters queued (`FUTEX_WAITERS`).
pub const FUTEX_WAITERS: u32 = 0x8000_0000;

/// Bit of a futex word telling that its owner died holding it (`FUTEX_OWNER_DIED`).
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;

/// The owner (TID, or under gpid the gpid) field of a futex word (`FUTEX_TID_MASK`).
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Most list entries one walk looks at (`ROBUST_LIST_LIMIT`, `include/uapi/linux/futex.h`).
pub const ROBUST_LIST_LIMIT: u32 = 2048;

/// Size of a user pointer or `long`: the unit of `struct robust_list_head`'s layout.
const WORD: usize = core::mem::size_of::<usize>();

/// Offset of `list.next` in `struct robust_list_head`.
pub const HEAD_NEXT_OFFSET: usize = 0;

/// Offset of `futex_offset` in `struct robust_list_head`.
pub const HEAD_FUTEX_OFFSET_OFFSET: usize = WORD;

/// Offset of `list_op_pending` in `struct robust_list_head`.
pub const HEAD_LIST_OP_PENDING_OFFSET: usize = 2 * WORD;

/// Size of `struct robust_list_head`, the only `len` that `set_robust_list()` accepts.
pub const ROBUST_LIST_HEAD_SIZE: usize = 3 * WORD;

/// Compare-and-exchange attempts on one word before giving up.
///
/// The kernel retries without bound, but only other threads setting `FUTEX_WAITERS` (or a
/// misbehaving program) can make an attempt fail, so a handful always suffices in practice, and
/// a cap keeps a hostile program from holding the exiting thread here.
pub const CMPXCHG_MAX_ATTEMPTS: u32 = 32;

/// How much work one walk may do: list entries, and compare-and-exchange attempts per word.
///
/// The kernel's walk has [`Budget::KERNEL`]. A walk that must stay short (the exit hook, which
/// runs with interrupts off) takes less and leaves the rest to a walk that may take longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// List entries looked at, at most [`ROBUST_LIST_LIMIT`].
    pub entries: u32,
    /// Compare-and-exchange attempts per word, at least 1.
    pub attempts: u32,
}

impl Budget {
    /// The kernel's own bounds.
    pub const KERNEL: Self = Self {
        entries: ROBUST_LIST_LIMIT,
        attempts: CMPXCHG_MAX_ATTEMPTS,
    };
}

/// A user-memory access failed (the address is not mapped, not accessible, or, for the
/// no-fault accessors, not resident).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault;

/// Access to the dying thread's user memory.
///
/// In the kernel this is `copy_from_user()` (or `copy_from_user_nofault()`) and
/// `futex_atomic_cmpxchg_inatomic()` under `pagefault_disable()`; the tests use a fake address
/// space. Every address comes from userspace, so an implementation must refuse any address that
/// is not a user address (`access_ok()`), and must not assume alignment for [`Self::read_usize`]:
/// the kernel reads list pointers wherever userspace put them.
pub trait UserMem {
    /// Reads the native-endian `usize` at `addr` (a list pointer or `futex_offset`).
    fn read_usize(&mut self, addr: usize) -> Result<usize, Fault>;

    /// Reads the native-endian `u32` at `addr`, which the walker has checked is 4-byte aligned.
    fn read_u32(&mut self, addr: usize) -> Result<u32, Fault>;

    /// Atomically replaces the `u32` at `addr` with `new` if it holds `old`, and returns the value
    /// found there (equal to `old` exactly when the exchange happened).
    fn cmpxchg_u32(&mut self, addr: usize, old: u32, new: u32) -> Result<u32, Fault>;

    /// Makes `addr` writable after [`Self::cmpxchg_u32`] faulted, like the kernel's
    /// `fault_in_user_writeable()`; on success the exchange is tried again.
    ///
    /// The default fails, which is what a context that may not sleep must do; a word that
    /// cannot be written is then given up, as the kernel does when fault-in fails.
    fn fault_in_writeable(&mut self, addr: usize) -> Result<(), Fault> {
        let _ = addr;
        Err(Fault)
    }
}

/// Splits a raw list pointer into the entry address and the PI flag, like
/// `fetch_robust_entry()`.
#[must_use]
pub const fn split_entry(raw: usize) -> (usize, bool) {
    (raw & !1, raw & 1 != 0)
}

/// One futex word reached by the walk, as handed to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordRef {
    /// Address of the list entry (`struct robust_list`) the word belongs to, PI bit cleared.
    pub entry: usize,
    /// Address of the futex word: `entry + futex_offset`, wrapping like the kernel's pointer
    /// arithmetic. Not checked for alignment.
    pub addr: usize,
    /// The entry was reached through a pointer with bit 0 set: a PI futex.
    pub pi: bool,
    /// The word is the head's `list_op_pending`, handled after the list.
    pub pending: bool,
}

/// What a policy did with one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordOutcome {
    /// The address is not 4-byte aligned; nothing was read. The kernel's walk ends here.
    Unaligned,
    /// The word could not be read, or ([`mark_owner_died`]) could not be written. The kernel's
    /// walk ends here when its own access fails too (see [`WordFaultPolicy`]).
    Fault,
    /// The owner field holds someone else (another thread, a plain TID, or nobody); the word was
    /// left alone.
    NotOwned,
    /// The word is owned by the thread but is a PI futex, which gpid does not translate.
    PiSkipped,
    /// The word is owned by the thread, whose gpid equals its plain TID: nothing to rewrite.
    AlreadyPlain,
    /// The owner field was rewritten from the gpid to the plain TID.
    Rewritten {
        /// The word before.
        old: u32,
        /// The word after.
        new: u32,
    },
    /// The word is owned by the thread but could not be written. The kernel's walk does not end
    /// here: it does not see its own TID, so it never tries to write.
    RewriteFault,
    /// The word kept changing under every compare-and-exchange attempt; it was left as it was.
    RetriesExhausted,
    /// The word was owned by the thread and is now `FUTEX_OWNER_DIED`, keeping `FUTEX_WAITERS`.
    MarkedDied {
        /// The word before.
        old: u32,
        /// The word after.
        new: u32,
        /// One waiter must be woken (`futex_wake(addr, FLAGS_SIZE_32 | FLAGS_SHARED, 1,
        /// FUTEX_BITSET_MATCH_ANY)`).
        wake: bool,
    },
    /// The pending word is not owned by the thread, which may have died between releasing it
    /// and waking a waiter, or as a woken waiter before taking it: one waiter must be woken,
    /// and the word is left alone (it must *not* be marked, the thread is not its owner).
    PendingWake,
    /// The identities given to the policy are not TIDs (0, or wider than [`FUTEX_TID_MASK`]);
    /// the word was left alone.
    Refused,
}

impl WordOutcome {
    /// Whether the kernel's `exit_robust_list()` stops at a list entry with this outcome
    /// (`handle_futex_death()` returning non-zero, `core.c` l. 871-873).
    #[must_use]
    pub fn stops_walk(self, policy: WordFaultPolicy) -> bool {
        match self {
            Self::Unaligned => true,
            Self::Fault => policy == WordFaultPolicy::StopLikeKernel,
            _ => false,
        }
    }

    /// Whether a waiter must be woken at the word's address.
    #[must_use]
    pub fn needs_wake(self) -> bool {
        matches!(
            self,
            Self::MarkedDied { wake: true, .. } | Self::PendingWake
        )
    }
}

/// What the walk does after a [`WordOutcome::Fault`] on a list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordFaultPolicy {
    /// End the walk, without handling the pending word, as the kernel does. Exact when the
    /// accessor faults exactly where the kernel's `get_user()` would.
    StopLikeKernel,
    /// Go on with the next entry. For the translating walk: a no-fault accessor also fails on
    /// pages that are merely not resident, where the kernel's walk, which can fault pages in,
    /// goes on; stopping there would leave all later gpid-owned words untranslated, whereas
    /// going on only ever translates words that the kernel's walk would not reach anyway.
    SkipWord,
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkEnd {
    /// A field of the head could not be read; nothing was done.
    HeadFault,
    /// The list led back to the head.
    ListEnd,
    /// An entry's `next` could not be read; that entry was handled, the pending word was not.
    NextFault,
    /// The policy's outcome for a list entry ended the walk ([`WordOutcome::stops_walk`]); the
    /// pending word was not handled.
    WordStop,
    /// [`ROBUST_LIST_LIMIT`] entries were looked at and the list went on (too long, or
    /// circular); the pending word was still handled.
    Limit,
    /// The walk's [`Budget`] of entries, smaller than the kernel's limit, ran out while the
    /// kernel's walk would go on; the pending word was still handled.
    Budget,
}

/// Counters of one walk, for `/proc/gpid/robust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkStats {
    /// List entries looked at (including one equal to the pending entry, which is not handled
    /// there); at most [`ROBUST_LIST_LIMIT`].
    pub entries: u32,
    /// Words handed to the policy, list entries and pending together.
    pub words_visited: u32,
    /// Words owned by the thread (whatever was then done with them).
    pub words_matched: u32,
    /// Words written: [`WordOutcome::Rewritten`] and [`WordOutcome::MarkedDied`].
    pub words_rewritten: u32,
    /// Waiters to wake: [`WordOutcome::needs_wake`].
    pub wakes: u32,
    /// Words that could not be read or written.
    pub faults: u32,
    /// Words at unaligned addresses.
    pub unaligned: u32,
    /// Owned PI words left alone.
    pub pi_skipped: u32,
    /// Words given up after [`CMPXCHG_MAX_ATTEMPTS`].
    pub retries_exhausted: u32,
    /// Words left alone because the policy was given identities that are not TIDs.
    pub refused: u32,
    /// The walk stopped at [`ROBUST_LIST_LIMIT`] with entries left.
    pub cut_at_limit: bool,
    /// The head had a non-null `list_op_pending` and it was handed to the policy.
    pub pending_handled: bool,
    /// How the walk ended.
    pub end: WalkEnd,
}

impl WalkStats {
    const fn new() -> Self {
        Self {
            entries: 0,
            words_visited: 0,
            words_matched: 0,
            words_rewritten: 0,
            wakes: 0,
            faults: 0,
            unaligned: 0,
            pi_skipped: 0,
            retries_exhausted: 0,
            refused: 0,
            cut_at_limit: false,
            pending_handled: false,
            end: WalkEnd::ListEnd,
        }
    }

    fn record(&mut self, outcome: WordOutcome) {
        fn bump(counter: &mut u32) {
            *counter = counter.saturating_add(1);
        }
        bump(&mut self.words_visited);
        match outcome {
            WordOutcome::Unaligned => bump(&mut self.unaligned),
            WordOutcome::Fault => bump(&mut self.faults),
            WordOutcome::NotOwned => {}
            WordOutcome::PiSkipped => {
                bump(&mut self.words_matched);
                bump(&mut self.pi_skipped);
            }
            WordOutcome::AlreadyPlain => bump(&mut self.words_matched),
            WordOutcome::Rewritten { .. } | WordOutcome::MarkedDied { .. } => {
                bump(&mut self.words_matched);
                bump(&mut self.words_rewritten);
            }
            WordOutcome::RewriteFault => {
                bump(&mut self.words_matched);
                bump(&mut self.faults);
            }
            WordOutcome::RetriesExhausted => {
                bump(&mut self.words_matched);
                bump(&mut self.retries_exhausted);
            }
            WordOutcome::PendingWake => {}
            WordOutcome::Refused => bump(&mut self.refused),
        }
        if outcome.needs_wake() {
            bump(&mut self.wakes);
        }
    }
}

/// Walks the robust list whose head is at `head` (the pointer the thread gave
/// `set_robust_list()`), handing every futex word the kernel's `exit_robust_list()` would reach
/// to `visit`, in the same order: the list entries, then the pending word.
///
/// `visit` gets the memory back so that it can read and write the word. `on_fault` says whether
/// a [`WordOutcome::Fault`] ends the walk as in the kernel.
pub fn walk_robust_list<M, V>(
    mem: &mut M,
    head: usize,
    on_fault: WordFaultPolicy,
    visit: V,
) -> WalkStats
where
    M: UserMem + ?Sized,
    V: FnMut(&mut M, WordRef) -> WordOutcome,
{
    walk_robust_list_within(mem, head, on_fault, ROBUST_LIST_LIMIT, visit)
}

/// [`walk_robust_list`] looking at no more than `entries` list entries (and never more than
/// [`ROBUST_LIST_LIMIT`]); a walk cut short by a smaller `entries` ends with
/// [`WalkEnd::Budget`] and still handles the pending word.
pub fn walk_robust_list_within<M, V>(
    mem: &mut M,
    head: usize,
    on_fault: WordFaultPolicy,
    entries: u32,
    mut visit: V,
) -> WalkStats
where
    M: UserMem + ?Sized,
    V: FnMut(&mut M, WordRef) -> WordOutcome,
{
    let mut stats = WalkStats::new();
    let budget = entries.min(ROBUST_LIST_LIMIT);

    let Ok(first) = mem.read_usize(head.wrapping_add(HEAD_NEXT_OFFSET)) else {
        stats.end = WalkEnd::HeadFault;
        return stats;
    };
    let Ok(futex_offset) = mem.read_usize(head.wrapping_add(HEAD_FUTEX_OFFSET_OFFSET)) else {
        stats.end = WalkEnd::HeadFault;
        return stats;
    };
    let Ok(raw_pending) = mem.read_usize(head.wrapping_add(HEAD_LIST_OP_PENDING_OFFSET)) else {
        stats.end = WalkEnd::HeadFault;
        return stats;
    };
    let (mut entry, mut pi) = split_entry(first);
    let (pending, pending_pi) = split_entry(raw_pending);

    let mut limit = budget;
    // `head` is compared as given, PI bit and all: an odd head is never reached again, and the
    // kernel then runs to the limit too.
    while entry != head {
        // `next` is read before the word is handled: handling may rewrite memory the entry
        // shares with its word.
        let next = mem.read_usize(entry);
        stats.entries = stats.entries.saturating_add(1);
        // A pending lock may already be on the list; it is handled once, at the end. This also
        // compares two null pointers equal, as the kernel does.
        if entry != pending {
            let word = WordRef {
                entry,
                addr: entry.wrapping_add(futex_offset),
                pi,
                pending: false,
            };
            let outcome = visit(mem, word);
            stats.record(outcome);
            if outcome.stops_walk(on_fault) {
                stats.end = WalkEnd::WordStop;
                return stats;
            }
        }
        let Ok(next) = next else {
            stats.end = WalkEnd::NextFault;
            return stats;
        };
        (entry, pi) = split_entry(next);
        limit = limit.saturating_sub(1);
        if limit == 0 {
            if entry != head {
                if budget < ROBUST_LIST_LIMIT {
                    stats.end = WalkEnd::Budget;
                } else {
                    stats.cut_at_limit = true;
                    stats.end = WalkEnd::Limit;
                }
            }
            break;
        }
    }

    if pending != 0 {
        let word = WordRef {
            entry: pending,
            addr: pending.wrapping_add(futex_offset),
            pi: pending_pi,
            pending: true,
        };
        let outcome = visit(mem, word);
        stats.record(outcome);
        stats.pending_handled = true;
    }
    stats
}

/// Whether `id` can be the owner field of a futex word held by a live thread.
const fn is_tid(id: u32) -> bool {
    id != 0 && id <= FUTEX_TID_MASK
}

/// gpid's policy: if `word` is owned by `owner_gpid`, atomically rewrites its owner field to
/// `plain_tid`, keeping `FUTEX_WAITERS` and `FUTEX_OWNER_DIED`, so that the kernel's walk, run
/// with `plain_tid` as `task_pid_vnr()`, recognises the word as the thread's.
///
/// Words owned by anyone else are not touched; PI words are not translated
/// ([`WordOutcome::PiSkipped`]). The alignment check and the read come first, as in
/// `handle_futex_death()`, so that the outcome tells whether the kernel's walk stops here.
#[must_use]
pub fn translate_owner<M>(
    mem: &mut M,
    word: WordRef,
    owner_gpid: u32,
    plain_tid: u32,
) -> WordOutcome
where
    M: UserMem + ?Sized,
{
    translate_owner_within(mem, word, owner_gpid, plain_tid, CMPXCHG_MAX_ATTEMPTS)
}

/// [`translate_owner`] with at most `max_attempts` compare-and-exchange attempts (at least 1).
#[must_use]
pub fn translate_owner_within<M>(
    mem: &mut M,
    word: WordRef,
    owner_gpid: u32,
    plain_tid: u32,
    max_attempts: u32,
) -> WordOutcome
where
    M: UserMem + ?Sized,
{
    // Same test as `% sizeof(u32)`, written so that it needs no recent `is_multiple_of()`.
    if word.addr & 3 != 0 {
        return WordOutcome::Unaligned;
    }
    let mut attempts = 0;
    loop {
        let Ok(uval) = mem.read_u32(word.addr) else {
            // A failure on a retry is reported as the kernel would see it: it re-reads too.
            return WordOutcome::Fault;
        };
        if !is_tid(owner_gpid) || !is_tid(plain_tid) {
            return WordOutcome::Refused;
        }
        if uval & FUTEX_TID_MASK != owner_gpid {
            return WordOutcome::NotOwned;
        }
        if word.pi {
            return WordOutcome::PiSkipped;
        }
        if owner_gpid == plain_tid {
            return WordOutcome::AlreadyPlain;
        }
        let new = (uval & !FUTEX_TID_MASK) | plain_tid;
        match mem.cmpxchg_u32(word.addr, uval, new) {
            Ok(found) if found == uval => return WordOutcome::Rewritten { old: uval, new },
            // Someone changed the word (normally a waiter setting FUTEX_WAITERS): look again.
            Ok(_) => {}
            Err(Fault) => {
                if mem.fault_in_writeable(word.addr).is_err() {
                    return WordOutcome::RewriteFault;
                }
            }
        }
        attempts += 1;
        if attempts >= max_attempts.max(1) {
            return WordOutcome::RetriesExhausted;
        }
    }
}

/// The kernel's own handling of one word (`handle_futex_death()`), with `owner_tid` standing for
/// `task_pid_vnr(curr)`: for gpid, the thread's gpid.
///
/// An owned word becomes `(uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED`, and a waiter must be woken
/// if `FUTEX_WAITERS` was set and the word is not PI (PI words are marked too, but their waiters
/// are the business of `exit_pi_state_list()`). A pending word that is not owned, not PI, and
/// either free or without `FUTEX_WAITERS` needs a wake and no write
/// ([`WordOutcome::PendingWake`]). The caller issues the wakes; see
/// [`WordOutcome::needs_wake`].
#[must_use]
pub fn mark_owner_died<M>(mem: &mut M, word: WordRef, owner_tid: u32) -> WordOutcome
where
    M: UserMem + ?Sized,
{
    mark_owner_died_within(mem, word, owner_tid, CMPXCHG_MAX_ATTEMPTS)
}

/// [`mark_owner_died`] with at most `max_attempts` compare-and-exchange attempts (at least 1).
#[must_use]
pub fn mark_owner_died_within<M>(
    mem: &mut M,
    word: WordRef,
    owner_tid: u32,
    max_attempts: u32,
) -> WordOutcome
where
    M: UserMem + ?Sized,
{
    if word.addr & 3 != 0 {
        return WordOutcome::Unaligned;
    }
    let mut attempts = 0;
    loop {
        let Ok(uval) = mem.read_u32(word.addr) else {
            return WordOutcome::Fault;
        };
        let owner = uval & FUTEX_TID_MASK;
        // An `owner_tid` that is no TID owns nothing, as no live thread has such a TID; in
        // particular 0 must not make every free word "owned".
        if !is_tid(owner_tid) || owner != owner_tid {
            if word.pending && !word.pi && (owner == 0 || uval & FUTEX_WAITERS == 0) {
                return WordOutcome::PendingWake;
            }
            return WordOutcome::NotOwned;
        }
        let new = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        match mem.cmpxchg_u32(word.addr, uval, new) {
            Ok(found) if found == uval => {
                return WordOutcome::MarkedDied {
                    old: uval,
                    new,
                    wake: !word.pi && uval & FUTEX_WAITERS != 0,
                };
            }
            Ok(_) => {}
            Err(Fault) => {
                if mem.fault_in_writeable(word.addr).is_err() {
                    return WordOutcome::Fault;
                }
            }
        }
        attempts += 1;
        if attempts >= max_attempts.max(1) {
            return WordOutcome::RetriesExhausted;
        }
    }
}

/// The translating walk: [`translate_owner`] over the whole list, going on past words that
/// cannot be read ([`WordFaultPolicy::SkipWord`]).
///
/// Must run in the dying thread, right before the kernel's `futex_cleanup()` walk, with
/// `plain_tid` equal to what `task_pid_vnr(current)` returns there.
pub fn translate_robust_list<M>(
    mem: &mut M,
    head: usize,
    owner_gpid: u32,
    plain_tid: u32,
) -> WalkStats
where
    M: UserMem + ?Sized,
{
    translate_robust_list_within(mem, head, owner_gpid, plain_tid, Budget::KERNEL)
}

/// [`translate_robust_list`] within `budget`. A walk that ends with [`WalkEnd::Budget`], or
/// gives a word up ([`WalkStats::retries_exhausted`]), has left gpid-owned words that the
/// kernel's walk will not see: the caller hands them to [`mark_gpid_list_dead`].
pub fn translate_robust_list_within<M>(
    mem: &mut M,
    head: usize,
    owner_gpid: u32,
    plain_tid: u32,
    budget: Budget,
) -> WalkStats
where
    M: UserMem + ?Sized,
{
    walk_robust_list_within(mem, head, WordFaultPolicy::SkipWord, budget.entries, |mem, word| {
        translate_owner_within(mem, word, owner_gpid, plain_tid, budget.attempts)
    })
}

/// The kernel's `exit_robust_list()` for a thread whose words hold `owner_tid`: every owned word
/// is marked with `FUTEX_OWNER_DIED`, and `wake(mem, addr)` is called, in the kernel's order,
/// for every word where a waiter must be woken. Stops where the kernel stops
/// ([`WordFaultPolicy::StopLikeKernel`]).
pub fn mark_robust_list_dead<M, W>(
    mem: &mut M,
    head: usize,
    owner_tid: u32,
    mut wake: W,
) -> WalkStats
where
    M: UserMem + ?Sized,
    W: FnMut(&mut M, usize),
{
    walk_robust_list(mem, head, WordFaultPolicy::StopLikeKernel, |mem, word| {
        let outcome = mark_owner_died(mem, word, owner_tid);
        if outcome.needs_wake() {
            wake(mem, word.addr);
        }
        outcome
    })
}

/// What the kernel's walk would have done for words holding the dead thread's gpid rather than
/// its TID, for the words the translating walk could not finish: every owned word that is not
/// PI is marked `FUTEX_OWNER_DIED` (waiters kept), in the kernel's order and with its stops;
/// owned PI words are left alone, as the translating walk leaves them (a gpid is no owner the
/// kernel's PI code can find), and counted in [`WalkStats::pi_skipped`]. `wake` as for
/// [`mark_robust_list_dead`]. Process context: up to `attempts` compare-and-exchange
/// attempts per word.
pub fn mark_gpid_list_dead<M, W>(
    mem: &mut M,
    head: usize,
    owner_gpid: u32,
    attempts: u32,
    mut wake: W,
) -> WalkStats
where
    M: UserMem + ?Sized,
    W: FnMut(&mut M, usize),
{
    walk_robust_list(mem, head, WordFaultPolicy::StopLikeKernel, |mem, word| {
        let outcome = if word.pi {
            pi_word_left_alone(mem, word, owner_gpid)
        } else {
            mark_owner_died_within(mem, word, owner_gpid, attempts)
        };
        if outcome.needs_wake() {
            wake(mem, word.addr);
        }
        outcome
    })
}

/// A PI word's outcome when it is read as the kernel's walk reads it (so that the walk stops
/// where the kernel's would) and then left alone.
fn pi_word_left_alone<M: UserMem + ?Sized>(mem: &mut M, word: WordRef, owner: u32) -> WordOutcome {
    if word.addr & 3 != 0 {
        return WordOutcome::Unaligned;
    }
    match mem.read_u32(word.addr) {
        Err(Fault) => WordOutcome::Fault,
        Ok(v) if is_tid(owner) && v & FUTEX_TID_MASK == owner => WordOutcome::PiSkipped,
        Ok(_) => WordOutcome::NotOwned,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};
    use std::vec::Vec;

    const GPID: u32 = (5 << 22) | 1234;
    const TID: u32 = 1234;
    const OTHER: u32 = (7 << 22) | 99;

    /// A byte-addressed fake address space with fault injection.
    #[derive(Debug, Clone, Default)]
    struct FakeMem {
        bytes: HashMap<usize, u8>,
        /// Word addresses whose compare-and-exchange faults.
        readonly: HashSet<usize>,
        /// Whether `fault_in_writeable` makes a read-only word writable.
        fault_in_works: bool,
        /// Word address, how many more exchanges to disturb, and the bits then flipped, as
        /// another thread would just before our exchange.
        interfere: Option<(usize, u32, u32)>,
        /// Every access, to check that work is bounded.
        ops: u64,
        cmpxchgs: u32,
    }

    impl FakeMem {
        fn map(&mut self, addr: usize, len: usize) {
            for i in 0..len {
                self.bytes.entry(addr + i).or_insert(0);
            }
        }
        fn unmap(&mut self, addr: usize, len: usize) {
            for i in 0..len {
                self.bytes.remove(&(addr + i));
            }
        }
        fn put(&mut self, addr: usize, data: &[u8]) {
            for (i, b) in data.iter().enumerate() {
                self.bytes.insert(addr + i, *b);
            }
        }
        fn put_usize(&mut self, addr: usize, v: usize) {
            self.put(addr, &v.to_ne_bytes());
        }
        fn put_u32(&mut self, addr: usize, v: u32) {
            self.put(addr, &v.to_ne_bytes());
        }
        fn get<const N: usize>(&self, addr: usize) -> Result<[u8; N], Fault> {
            let mut out = [0u8; N];
            for (i, b) in out.iter_mut().enumerate() {
                let a = addr.checked_add(i).ok_or(Fault)?;
                *b = *self.bytes.get(&a).ok_or(Fault)?;
            }
            Ok(out)
        }
        fn word(&self, addr: usize) -> u32 {
            u32::from_ne_bytes(self.get(addr).unwrap())
        }
        /// Writes a robust list: head at `head`, entries at `entries` (raw pointers, PI bit
        /// included), the last one pointing back to the head.
        fn list(&mut self, head: usize, offset: isize, entries: &[usize], pending: usize) {
            self.map(head, ROBUST_LIST_HEAD_SIZE);
            self.put_usize(head, *entries.first().unwrap_or(&head));
            self.put_usize(head + WORD, offset as usize);
            self.put_usize(head + 2 * WORD, pending);
            for (i, &raw) in entries.iter().enumerate() {
                let e = raw & !1;
                self.map(e, WORD);
                self.put_usize(e, *entries.get(i + 1).unwrap_or(&head));
            }
        }
    }

    impl UserMem for FakeMem {
        fn read_usize(&mut self, addr: usize) -> Result<usize, Fault> {
            self.ops += 1;
            self.get(addr).map(usize::from_ne_bytes)
        }
        fn read_u32(&mut self, addr: usize) -> Result<u32, Fault> {
            self.ops += 1;
            assert_eq!(addr % 4, 0, "walker read an unaligned word");
            self.get(addr).map(u32::from_ne_bytes)
        }
        fn cmpxchg_u32(&mut self, addr: usize, old: u32, new: u32) -> Result<u32, Fault> {
            self.ops += 1;
            self.cmpxchgs += 1;
            let mut cur = u32::from_ne_bytes(self.get(addr)?);
            if self.readonly.contains(&addr) {
                return Err(Fault);
            }
            if let Some((a, n, bits)) = self.interfere {
                if a == addr && n > 0 {
                    cur ^= bits;
                    self.put_u32(addr, cur);
                    self.interfere = Some((a, n - 1, bits));
                }
            }
            if cur == old {
                self.put_u32(addr, new);
            }
            Ok(cur)
        }
        fn fault_in_writeable(&mut self, addr: usize) -> Result<(), Fault> {
            self.ops += 1;
            if self.fault_in_works && self.readonly.remove(&addr) {
                Ok(())
            } else {
                Err(Fault)
            }
        }
    }

    /// Literal transcription of 6.12 `handle_futex_death()`, for differential tests.
    fn k_handle_futex_death(
        mem: &mut FakeMem,
        uaddr: usize,
        tid: u32,
        pi: bool,
        pending_op: bool,
        wakes: &mut Vec<usize>,
    ) -> i32 {
        if uaddr & 3 != 0 {
            return -1;
        }
        loop {
            let Ok(uval) = mem.read_u32(uaddr) else {
                return -1;
            };
            let owner = uval & FUTEX_TID_MASK;
            if owner != tid {
                if pending_op && !pi && (owner == 0 || uval & FUTEX_WAITERS == 0) {
                    wakes.push(uaddr);
                }
                return 0;
            }
            let mval = (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            match mem.cmpxchg_u32(uaddr, uval, mval) {
                Err(_) => {
                    if mem.fault_in_writeable(uaddr).is_err() {
                        return -1;
                    }
                    continue;
                }
                Ok(nval) if nval != uval => continue,
                Ok(_) => {}
            }
            if !pi && uval & FUTEX_WAITERS != 0 {
                wakes.push(uaddr);
            }
            return 0;
        }
    }

    /// Literal transcription of 6.12 `exit_robust_list()`.
    fn k_exit_robust_list(mem: &mut FakeMem, head: usize, tid: u32) -> Vec<usize> {
        let mut wakes = Vec::new();
        let fetch = |mem: &mut FakeMem, a: usize| mem.read_usize(a).map(|u| (u & !1, u & 1 != 0));
        let Ok((mut entry, mut pi)) = fetch(mem, head) else {
            return wakes;
        };
        let Ok(futex_offset) = mem.read_usize(head.wrapping_add(8)) else {
            return wakes;
        };
        let Ok((pending, pip)) = fetch(mem, head.wrapping_add(16)) else {
            return wakes;
        };
        let mut limit: u32 = 2048;
        while entry != head {
            let rc = fetch(mem, entry);
            if entry != pending
                && k_handle_futex_death(
                    mem,
                    entry.wrapping_add(futex_offset),
                    tid,
                    pi,
                    false,
                    &mut wakes,
                ) != 0
            {
                return wakes;
            }
            let Ok((n, npi)) = rc else { return wakes };
            entry = n;
            pi = npi;
            limit -= 1;
            if limit == 0 {
                break;
            }
        }
        if pending != 0 {
            k_handle_futex_death(
                mem,
                pending.wrapping_add(futex_offset),
                tid,
                pip,
                true,
                &mut wakes,
            );
        }
        wakes
    }

    fn translate(mem: &mut FakeMem, head: usize) -> WalkStats {
        translate_robust_list(mem, head, GPID, TID)
    }

    fn mark(mem: &mut FakeMem, head: usize, tid: u32) -> (WalkStats, Vec<usize>) {
        let mut wakes = Vec::new();
        let st = mark_robust_list_dead(mem, head, tid, |_, a| wakes.push(a));
        (st, wakes)
    }

    /// Futex word right after the list node's `next`.
    const OFF: isize = 8;
    const HEAD: usize = 0x1000;

    fn node(i: usize) -> usize {
        0x2000 + 0x20 * i
    }

    /// A list of `words.len()` entries at `node(i)`, word at `node(i) + OFF`.
    fn setup(words: &[u32], pending: usize) -> FakeMem {
        let mut m = FakeMem::default();
        let entries: Vec<usize> = (0..words.len()).map(node).collect();
        m.list(HEAD, OFF, &entries, pending);
        for (i, &w) in words.iter().enumerate() {
            let a = node(i).wrapping_add_signed(OFF);
            m.map(a, 4);
            m.put_u32(a, w);
        }
        m
    }

    fn waddr(i: usize) -> usize {
        node(i).wrapping_add_signed(OFF)
    }

    #[test]
    fn tid_mask_matches_encoding() {
        assert_eq!(FUTEX_TID_MASK, crate::encoding::FUTEX_TID_MASK);
        assert_eq!(FUTEX_TID_MASK & (FUTEX_WAITERS | FUTEX_OWNER_DIED), 0);
        assert_eq!(FUTEX_TID_MASK | FUTEX_WAITERS | FUTEX_OWNER_DIED, u32::MAX);
    }

    #[test]
    fn head_layout_is_x86_64_robust_list_head() {
        assert_eq!(HEAD_NEXT_OFFSET, 0);
        assert_eq!(HEAD_FUTEX_OFFSET_OFFSET, 8);
        assert_eq!(HEAD_LIST_OP_PENDING_OFFSET, 16);
        assert_eq!(ROBUST_LIST_HEAD_SIZE, 24);
    }

    #[test]
    fn split_entry_takes_bit_0_as_pi() {
        assert_eq!(split_entry(0x1001), (0x1000, true));
        assert_eq!(split_entry(0x1000), (0x1000, false));
        assert_eq!(split_entry(usize::MAX), (usize::MAX - 1, true));
    }

    #[test]
    fn empty_list_does_nothing() {
        let mut m = setup(&[], 0);
        let st = translate(&mut m, HEAD);
        assert_eq!(st.end, WalkEnd::ListEnd);
        assert_eq!(
            (st.entries, st.words_visited, st.pending_handled),
            (0, 0, false)
        );
    }

    #[test]
    fn single_owned_entry_rewritten() {
        let mut m = setup(&[GPID], 0);
        let st = translate(&mut m, HEAD);
        assert_eq!(m.word(waddr(0)), TID);
        assert_eq!(
            (st.entries, st.words_matched, st.words_rewritten),
            (1, 1, 1)
        );
        assert_eq!(st.end, WalkEnd::ListEnd);
    }

    #[test]
    fn multiple_entries_keep_flag_bits() {
        let words = [
            GPID,
            GPID | FUTEX_WAITERS,
            GPID | FUTEX_OWNER_DIED,
            GPID | FUTEX_WAITERS | FUTEX_OWNER_DIED,
        ];
        let mut m = setup(&words, 0);
        let st = translate(&mut m, HEAD);
        for (i, w) in words.iter().enumerate() {
            assert_eq!(m.word(waddr(i)), (w & !FUTEX_TID_MASK) | TID);
        }
        assert_eq!(st.words_rewritten, 4);
    }

    #[test]
    fn foreign_words_untouched() {
        let words = [
            TID,
            TID | FUTEX_WAITERS,
            OTHER,
            OTHER | FUTEX_WAITERS,
            0,
            FUTEX_OWNER_DIED,
        ];
        let mut m = setup(&words, 0);
        let before = m.bytes.clone();
        let st = translate(&mut m, HEAD);
        assert_eq!(m.bytes, before);
        assert_eq!(m.cmpxchgs, 0);
        assert_eq!((st.entries, st.words_visited, st.words_matched), (6, 6, 0));
    }

    #[test]
    fn gpid_equal_to_tid_needs_no_rewrite() {
        let mut m = setup(&[TID | FUTEX_WAITERS], 0);
        let st = translate_robust_list(&mut m, HEAD, TID, TID);
        assert_eq!(m.word(waddr(0)), TID | FUTEX_WAITERS);
        assert_eq!(
            (st.words_matched, st.words_rewritten, m.cmpxchgs),
            (1, 0, 0)
        );
    }

    #[test]
    fn non_tid_identities_refused() {
        for (g, t) in [
            (0, TID),
            (GPID, 0),
            (GPID, FUTEX_OWNER_DIED | 1),
            (u32::MAX, TID),
        ] {
            let mut m = setup(&[0, GPID], 0);
            let st = translate_robust_list(&mut m, HEAD, g, t);
            assert_eq!(st.refused, 2);
            assert_eq!(m.cmpxchgs, 0);
        }
        // An owner of 0 must not claim free words.
        let mut m = setup(&[0, FUTEX_WAITERS], 0);
        let (st, wakes) = mark(&mut m, HEAD, 0);
        assert_eq!((st.words_matched, wakes.len(), m.cmpxchgs), (0, 0, 0));
    }

    #[test]
    fn pending_only_is_handled() {
        // Upstream selftest test_set_list_op_pending: lock taken, not yet on the list.
        let mut m = setup(&[], 0);
        let lock = node(3);
        m.map(lock, WORD);
        m.map(waddr(3), 4);
        m.put_u32(waddr(3), GPID | FUTEX_WAITERS);
        m.put_usize(HEAD + 2 * WORD, lock);
        let st = translate(&mut m, HEAD);
        assert!(st.pending_handled);
        assert_eq!(m.word(waddr(3)), TID | FUTEX_WAITERS);
        // The kernel then marks it and wakes the waiter.
        assert_eq!(k_exit_robust_list(&mut m, HEAD, TID), [waddr(3)]);
        assert_eq!(m.word(waddr(3)), FUTEX_WAITERS | FUTEX_OWNER_DIED);
    }

    #[test]
    fn pending_on_list_handled_once_at_the_end() {
        let mut m = setup(&[GPID, GPID, GPID], node(1));
        let mut seen = Vec::new();
        let st = walk_robust_list(&mut m, HEAD, WordFaultPolicy::StopLikeKernel, |_, w| {
            seen.push((w.entry, w.pending));
            WordOutcome::NotOwned
        });
        assert_eq!(seen, [(node(0), false), (node(2), false), (node(1), true)]);
        assert_eq!((st.entries, st.words_visited), (3, 3));
    }

    #[test]
    fn pending_pi_bit_and_list_pi_bit_are_separate() {
        // The entry is on the list as PI, pending without the bit: masked pointers compare
        // equal, and pending uses its own bit.
        let mut m = FakeMem::default();
        m.list(HEAD, OFF, &[node(0) | 1], node(0));
        let mut seen = Vec::new();
        let _ = walk_robust_list(&mut m, HEAD, WordFaultPolicy::StopLikeKernel, |_, w| {
            seen.push((w.entry, w.pi, w.pending));
            WordOutcome::NotOwned
        });
        assert_eq!(seen, [(node(0), false, true)]);
    }

    #[test]
    fn null_next_equals_null_pending() {
        // entry == pending == NULL: the kernel skips the word at NULL + offset, and stops
        // because NULL->next faults.
        let mut m = FakeMem::default();
        m.list(HEAD, OFF, &[node(0)], 0);
        m.put_usize(node(0), 0);
        m.map(0, 16);
        m.put_u32(OFF as usize, GPID);
        let mut seen = Vec::new();
        m.unmap(0, WORD);
        let st = walk_robust_list(&mut m, HEAD, WordFaultPolicy::StopLikeKernel, |_, w| {
            seen.push(w.entry);
            WordOutcome::NotOwned
        });
        assert_eq!(seen, [node(0)]);
        assert_eq!((st.entries, st.end), (2, WalkEnd::NextFault));
    }

    #[test]
    fn circular_list_stops_at_limit() {
        // Upstream selftest test_circular_list: a -> b -> c -> a.
        let mut m = setup(&[GPID, OTHER, GPID | FUTEX_WAITERS], 0);
        m.put_usize(node(2), node(0));
        let st = translate(&mut m, HEAD);
        assert_eq!(st.entries, ROBUST_LIST_LIMIT);
        assert!(st.cut_at_limit);
        assert_eq!(st.end, WalkEnd::Limit);
        // Each word is rewritten once; later visits see the plain TID and leave it.
        assert_eq!(st.words_rewritten, 2);
        assert_eq!(m.word(waddr(0)), TID);
        assert_eq!(m.word(waddr(2)), TID | FUTEX_WAITERS);
    }

    #[test]
    fn circular_into_middle_still_handles_pending() {
        let mut m = setup(&[OTHER, OTHER, OTHER, OTHER], node(7));
        m.put_usize(node(3), node(1));
        m.map(node(7), WORD);
        m.map(waddr(7), 4);
        m.put_u32(waddr(7), GPID);
        let st = translate(&mut m, HEAD);
        assert!(st.cut_at_limit && st.pending_handled);
        assert_eq!(m.word(waddr(7)), TID);
        assert_eq!(st.words_visited, ROBUST_LIST_LIMIT + 1);
    }

    #[test]
    fn long_list_cut_at_limit() {
        let n = ROBUST_LIST_LIMIT as usize + 5;
        let mut m = setup(&std::vec![GPID; n], 0);
        let st = translate(&mut m, HEAD);
        assert_eq!(
            (st.entries, st.words_rewritten),
            (ROBUST_LIST_LIMIT, ROBUST_LIST_LIMIT)
        );
        assert!(st.cut_at_limit);
        assert_eq!(m.word(waddr(n - 6)), TID);
        assert_eq!(m.word(waddr(n - 5)), GPID);
    }

    #[test]
    fn list_of_exactly_limit_entries_is_not_cut() {
        let n = ROBUST_LIST_LIMIT as usize;
        let mut m = setup(&std::vec![GPID; n], 0);
        let st = translate(&mut m, HEAD);
        assert_eq!(
            (st.entries, st.cut_at_limit, st.end),
            (ROBUST_LIST_LIMIT, false, WalkEnd::ListEnd)
        );
    }

    #[test]
    fn odd_head_is_never_reached_again() {
        // The loop compares masked entries with the head as registered, so a list closed by
        // an odd head pointer goes on at `head - 1`: here that reads back a pointer to a node
        // that leads to the head again, and the walk only ends at the limit, as the kernel's.
        let head = HEAD + 1;
        let mut m = FakeMem::default();
        m.list(head, OFF, &[node(0)], 0);
        m.map(HEAD, 1);
        // Bytes HEAD..HEAD+8 are 0 then the first 7 bytes of head.next (node(0)).
        let back = node(0) << 8;
        m.map(back, WORD);
        m.put_usize(back, head);
        let st = translate(&mut m, head);
        assert!(st.cut_at_limit);
        assert_eq!(st.entries, ROBUST_LIST_LIMIT);
    }

    #[test]
    fn unmapped_head_does_nothing() {
        for unmapped in [0, WORD, 2 * WORD] {
            let mut m = setup(&[GPID], 0);
            m.unmap(HEAD + unmapped, 1);
            let st = translate(&mut m, HEAD);
            assert_eq!(st.end, WalkEnd::HeadFault);
            assert_eq!(st.words_visited, 0);
            assert_eq!(m.word(waddr(0)), GPID);
        }
        let mut m = FakeMem::default();
        assert_eq!(translate(&mut m, usize::MAX - 3).end, WalkEnd::HeadFault);
    }

    #[test]
    fn entry_into_unmapped_memory_stops_there() {
        // node(1) -> node(9), unmapped: node(9)'s word is still handled (next is fetched
        // first, the entry handled, then the failure ends the walk), pending is not.
        let mut m = setup(&[GPID, GPID, GPID], node(2));
        m.put_usize(node(1), node(9));
        m.map(waddr(9), 4);
        m.put_u32(waddr(9), GPID);
        let st = translate(&mut m, HEAD);
        assert_eq!(st.end, WalkEnd::NextFault);
        assert!(!st.pending_handled);
        assert_eq!(
            (m.word(waddr(0)), m.word(waddr(1)), m.word(waddr(9))),
            (TID, TID, TID)
        );
        assert_eq!(m.word(waddr(2)), GPID);
        // The kernel agrees.
        let mut k = setup(&[GPID, GPID, GPID], node(2));
        k.put_usize(node(1), node(9));
        k.map(waddr(9), 4);
        k.put_u32(waddr(9), GPID);
        k_exit_robust_list(&mut k, HEAD, GPID);
        assert_eq!(k.word(waddr(2)), GPID);
        assert_eq!(k.word(waddr(9)), FUTEX_OWNER_DIED);
    }

    #[test]
    fn unaligned_word_stops_the_walk_like_the_kernel() {
        // 6.12 returns from exit_robust_list() when handle_futex_death() fails, so the entries
        // after it and the pending word are not handled.
        let mut m = FakeMem::default();
        let e = [node(0), node(1) + 2, node(2)];
        m.list(HEAD, OFF, &e, node(3));
        for a in [waddr(0), waddr(1), waddr(2), waddr(3)] {
            m.map(a, 4);
            m.put_u32(a, GPID);
        }
        m.map(node(1) + 2 + 8, 4);
        m.put_u32(node(1) + 2 + 8, GPID);
        m.map(node(3), WORD);
        let mut k = m.clone();
        let st = translate(&mut m, HEAD);
        assert_eq!(
            (st.end, st.unaligned, st.words_rewritten),
            (WalkEnd::WordStop, 1, 1)
        );
        assert!(!st.pending_handled);
        assert_eq!(m.word(waddr(2)), GPID);
        assert_eq!(m.word(waddr(3)), GPID);
        k_exit_robust_list(&mut k, HEAD, GPID);
        assert_eq!(k.word(waddr(0)), FUTEX_OWNER_DIED);
        assert_eq!(k.word(waddr(2)), GPID);
        assert_eq!(k.word(waddr(3)), GPID);
    }

    #[test]
    fn unreadable_word_policy() {
        let make = || {
            let mut m = setup(&[GPID, GPID, GPID], 0);
            m.unmap(waddr(1), 4);
            m
        };
        // Translating: skip the word, go on.
        let mut m = make();
        let st = translate(&mut m, HEAD);
        assert_eq!(
            (st.faults, st.words_rewritten, st.end),
            (1, 2, WalkEnd::ListEnd)
        );
        assert_eq!(m.word(waddr(2)), TID);
        // Like the kernel: stop.
        let mut m = make();
        let st = walk_robust_list(&mut m, HEAD, WordFaultPolicy::StopLikeKernel, |m, w| {
            translate_owner(m, w, GPID, TID)
        });
        assert_eq!(
            (st.faults, st.words_rewritten, st.end),
            (1, 1, WalkEnd::WordStop)
        );
        assert_eq!(m.word(waddr(2)), GPID);
    }

    #[test]
    fn unwritable_owned_word_is_skipped_not_fatal() {
        let mut m = setup(&[GPID, GPID], 0);
        m.readonly.insert(waddr(0));
        let st = translate(&mut m, HEAD);
        assert_eq!((st.faults, st.words_matched, st.words_rewritten), (1, 2, 1));
        assert_eq!(st.end, WalkEnd::ListEnd);
        assert_eq!(m.word(waddr(0)), GPID);
        // With a working fault-in the word is written on the second attempt.
        let mut m = setup(&[GPID, GPID], 0);
        m.readonly.insert(waddr(0));
        m.fault_in_works = true;
        let st = translate(&mut m, HEAD);
        assert_eq!((st.faults, st.words_rewritten), (0, 2));
        assert_eq!(m.word(waddr(0)), TID);
    }

    #[test]
    fn huge_and_negative_offsets_do_not_panic() {
        for off in [
            isize::MIN,
            isize::MAX,
            -1,
            -4,
            -(node(0) as isize) - 4,
            1 << 62,
            -0x10,
        ] {
            let mut m = setup(&[GPID, GPID], node(5));
            m.put_usize(HEAD + WORD, off as usize);
            let st = translate(&mut m, HEAD);
            assert!(st.words_rewritten == 0 || off == -0x10, "{off}");
            let (_st, _w) = mark(&mut m, HEAD, GPID);
        }
        // An entry at the top of the address space, whose `next` cannot be read: its word is
        // still handled, at an address that wraps, as in the kernel.
        let mut m = FakeMem::default();
        m.list(HEAD, 0x20, &[usize::MAX - 0xf], 0);
        m.unmap(usize::MAX - 0xf, WORD);
        m.map(0x10, 4);
        m.put_u32(0x10, GPID);
        let st = translate(&mut m, HEAD);
        assert_eq!(st.end, WalkEnd::NextFault);
        assert_eq!(m.word(0x10), TID);
    }

    #[test]
    fn negative_offset_like_the_upstream_selftest() {
        // Upstream robust_list.c: struct lock_struct { futex; robust_list list; }, so
        // futex_offset = -8.
        let mut m = FakeMem::default();
        let e: Vec<usize> = (0..10).map(|i| node(i) + 8).collect();
        m.list(HEAD, -8, &e, 0);
        for i in 0..10 {
            m.map(node(i), 4);
            m.put_u32(node(i), GPID | FUTEX_WAITERS);
        }
        let st = translate(&mut m, HEAD);
        assert_eq!(st.words_rewritten, 10);
        // test_robust_list_multiple_elements: every waiter is woken, every word OWNER_DIED.
        let wakes = k_exit_robust_list(&mut m, HEAD, TID);
        assert_eq!(wakes.len(), 10);
        for i in 0..10 {
            assert_eq!(m.word(node(i)), FUTEX_WAITERS | FUTEX_OWNER_DIED);
        }
    }

    #[test]
    fn pi_entries_not_translated() {
        let mut m = FakeMem::default();
        m.list(HEAD, OFF, &[node(0) | 1, node(1), node(2) | 1], node(3) | 1);
        for i in 0..4 {
            m.map(waddr(i), 4);
            m.put_u32(waddr(i), GPID);
        }
        m.put_u32(waddr(2), OTHER);
        m.map(node(3), WORD);
        let st = translate(&mut m, HEAD);
        assert_eq!((st.pi_skipped, st.words_rewritten), (2, 1));
        assert_eq!(
            [m.word(waddr(0)), m.word(waddr(1)), m.word(waddr(3))],
            [GPID, TID, GPID]
        );
    }

    #[test]
    fn contention_is_retried() {
        let mut m = setup(&[GPID], 0);
        m.interfere = Some((waddr(0), 1, FUTEX_WAITERS));
        let st = translate(&mut m, HEAD);
        assert_eq!(m.word(waddr(0)), TID | FUTEX_WAITERS);
        assert_eq!((st.words_rewritten, m.cmpxchgs), (1, 2));
    }

    #[test]
    fn endless_contention_gives_up() {
        let mut m = setup(&[GPID, GPID], 0);
        m.interfere = Some((waddr(0), u32::MAX, FUTEX_WAITERS));
        let st = translate(&mut m, HEAD);
        assert_eq!((st.retries_exhausted, st.words_rewritten), (1, 1));
        assert_eq!(m.cmpxchgs, CMPXCHG_MAX_ATTEMPTS + 1);
        // Flipped an even number of times.
        assert_eq!(m.word(waddr(0)), GPID);
    }

    /// The hook's bounded walk, then the kernel's walk, then the fallback's gpid pass: every
    /// word ends up exactly as the kernel's walk of a TID-owned list leaves it, the PI word
    /// untouched, whatever the budget.
    #[test]
    fn a_walk_cut_by_its_budget_is_finished_by_the_gpid_pass() {
        let n = 300;
        let mut words = std::vec![GPID; n];
        words[7] = GPID | FUTEX_WAITERS;
        words[250] = GPID | FUTEX_WAITERS;
        let mut m = setup(&words, node(n - 1));
        // An extra PI entry at the head of the list, owned by the gpid.
        let pi = node(n + 1);
        m.map(pi, WORD);
        m.put_usize(pi, node(0));
        m.put_usize(HEAD, pi | 1);
        m.map(pi.wrapping_add_signed(OFF), 4);
        m.put_u32(pi.wrapping_add_signed(OFF), GPID);
        for entries in [1, 100, 299, 2048] {
            let mut m = m.clone();
            let budget = Budget { entries, attempts: 2 };
            let st = translate_robust_list_within(&mut m, HEAD, GPID, TID, budget);
            let cut = (entries as usize) < n + 1;
            assert_eq!(st.end, if cut { WalkEnd::Budget } else { WalkEnd::ListEnd });
            assert!(st.pending_handled, "the pending word is handled even when cut");
            assert!(!st.cut_at_limit);
            let _ = mark_robust_list_dead(&mut m, HEAD, TID, |_, _| {});
            let mut wakes = Vec::new();
            let g = mark_gpid_list_dead(&mut m, HEAD, GPID, CMPXCHG_MAX_ATTEMPTS, |_, a| wakes.push(a));
            assert_eq!(g.pi_skipped, 1);
            assert_eq!(m.word(pi.wrapping_add_signed(OFF)), GPID, "PI word left alone");
            for i in 0..n {
                let waiters = if i == 7 || i == 250 { FUTEX_WAITERS } else { 0 };
                assert_eq!(m.word(waddr(i)), waiters | FUTEX_OWNER_DIED, "word {i}, budget {entries}");
            }
            // The gpid pass wakes the waiters of the words it marked itself, and, by the
            // kernel's rule for a pending word it does not own that is free, the pending one.
            let mut expect: Vec<usize> = [7, 250]
                .into_iter()
                .filter(|&i| i + 1 >= entries as usize)
                .map(waddr)
                .collect();
            expect.push(waddr(n - 1));
            assert_eq!(wakes, expect, "budget {entries}");
        }
    }

    #[test]
    fn the_attempt_budget_gives_a_contended_word_up_early() {
        let mut m = setup(&[GPID], 0);
        m.interfere = Some((waddr(0), u32::MAX, FUTEX_WAITERS));
        let st = translate_robust_list_within(&mut m, HEAD, GPID, TID, Budget { entries: 8, attempts: 3 });
        assert_eq!((st.retries_exhausted, m.cmpxchgs), (1, 3));
        // Given up under contention, the word is finished by the gpid pass once it settles.
        m.interfere = None;
        let g = mark_gpid_list_dead(&mut m, HEAD, GPID, CMPXCHG_MAX_ATTEMPTS, |_, _| {});
        assert_eq!(g.words_rewritten, 1);
        assert_eq!(m.word(waddr(0)) & FUTEX_OWNER_DIED, FUTEX_OWNER_DIED);
    }

    #[test]
    fn contention_that_steals_the_word_is_respected() {
        // If the owner field itself changes under us (a broken program), the word is no longer
        // ours and must be left alone.
        let mut m = setup(&[GPID], 0);
        m.interfere = Some((waddr(0), 1, 1 << 29));
        let st = translate(&mut m, HEAD);
        assert_eq!(m.word(waddr(0)), GPID | 1 << 29);
        assert_eq!(st.words_rewritten, 0);
    }

    #[test]
    fn mark_owned_word_and_wake_if_waiters() {
        // Upstream selftest test_robustness: the waiter set FUTEX_WAITERS, the owner died.
        let mut m = setup(
            &[
                GPID | FUTEX_WAITERS,
                GPID,
                GPID | FUTEX_OWNER_DIED | FUTEX_WAITERS,
            ],
            0,
        );
        let (st, wakes) = mark(&mut m, HEAD, GPID);
        assert_eq!(m.word(waddr(0)), FUTEX_WAITERS | FUTEX_OWNER_DIED);
        assert_eq!(m.word(waddr(1)), FUTEX_OWNER_DIED);
        assert_eq!(m.word(waddr(2)), FUTEX_WAITERS | FUTEX_OWNER_DIED);
        assert_eq!(wakes, [waddr(0), waddr(2)]);
        assert_eq!((st.words_rewritten, st.wakes), (3, 2));
    }

    #[test]
    fn mark_pi_word_without_wake() {
        let mut m = FakeMem::default();
        m.list(HEAD, OFF, &[node(0) | 1], 0);
        m.map(waddr(0), 4);
        m.put_u32(waddr(0), GPID | FUTEX_WAITERS);
        let (_, wakes) = mark(&mut m, HEAD, GPID);
        assert_eq!(m.word(waddr(0)), FUTEX_WAITERS | FUTEX_OWNER_DIED);
        assert!(wakes.is_empty());
    }

    #[test]
    fn pending_special_case() {
        // (word, pi, wake expected): states A, B, D wake; C (waiters set) does not; PI never;
        // and the word is never written.
        let cases = [
            (0, false, true),
            (OTHER, false, true),
            (FUTEX_OWNER_DIED, false, true),
            (OTHER | FUTEX_WAITERS, false, false),
            (FUTEX_WAITERS, false, true),
            (0, true, false),
            (OTHER, true, false),
        ];
        for (w, pi, wake) in cases {
            let mut m = setup(&[], 0);
            m.map(node(0), WORD);
            m.map(waddr(0), 4);
            m.put_u32(waddr(0), w);
            m.put_usize(HEAD + 2 * WORD, node(0) | usize::from(pi));
            let (st, wakes) = mark(&mut m, HEAD, GPID);
            assert_eq!(!wakes.is_empty(), wake, "{w:#x} {pi}");
            assert_eq!(m.word(waddr(0)), w);
            assert_eq!(m.cmpxchgs, 0);
            assert_eq!(st.words_rewritten, 0);
        }
        // On the list (not pending) the special case does not apply.
        let mut m = setup(&[0, OTHER], 0);
        let (_, wakes) = mark(&mut m, HEAD, GPID);
        assert!(wakes.is_empty());
        // A pending word the thread owns is marked as usual.
        let mut m = setup(&[], node(0));
        m.map(node(0), WORD);
        m.map(waddr(0), 4);
        m.put_u32(waddr(0), GPID);
        let (st, wakes) = mark(&mut m, HEAD, GPID);
        assert_eq!(
            (m.word(waddr(0)), wakes.len(), st.words_rewritten),
            (FUTEX_OWNER_DIED, 0, 1)
        );
    }

    #[test]
    fn mark_write_fault_stops_like_kernel() {
        let mut m = setup(&[GPID, GPID], node(5));
        m.map(node(5), WORD);
        m.map(waddr(5), 4);
        m.put_u32(waddr(5), GPID);
        m.readonly.insert(waddr(0));
        let mut k = m.clone();
        let (st, _) = mark(&mut m, HEAD, GPID);
        assert_eq!((st.end, st.faults), (WalkEnd::WordStop, 1));
        k_exit_robust_list(&mut k, HEAD, GPID);
        assert_eq!(m.bytes, k.bytes);
    }

    #[test]
    fn translate_then_kernel_equals_kernel_on_gpid() {
        let words = [GPID | FUTEX_WAITERS, OTHER, 0, GPID, OTHER | FUTEX_WAITERS];
        let mut a = setup(&words, node(2));
        let mut b = a.clone();
        let _ = translate(&mut a, HEAD);
        let wa = k_exit_robust_list(&mut a, HEAD, TID);
        let wb = k_exit_robust_list(&mut b, HEAD, GPID);
        assert_eq!(wa, wb);
        assert_eq!(a.bytes, b.bytes);
    }

    #[test]
    fn the_plain_kernel_walk_misses_gpid_words() {
        // Why gpid translates at all.
        let mut m = setup(&[GPID | FUTEX_WAITERS], 0);
        assert!(k_exit_robust_list(&mut m, HEAD, TID).is_empty());
        assert_eq!(m.word(waddr(0)), GPID | FUTEX_WAITERS);
    }

    // ---- property tests ----

    /// Upper bound on accesses: 3 head reads, then per list step one `next` read and one word,
    /// then the pending word; a word costs a read and up to `CMPXCHG_MAX_ATTEMPTS` rounds of
    /// read, exchange and fault-in.
    const MAX_OPS: u64 = 3 + (ROBUST_LIST_LIMIT as u64 + 1) * (2 + 3 * CMPXCHG_MAX_ATTEMPTS as u64);

    #[derive(Debug, Clone)]
    struct Space {
        mem: FakeMem,
        head: usize,
        words: Vec<usize>,
    }

    /// Random robust lists in a small address space: nodes 32 bytes apart, next pointers to
    /// nodes, the head, random or unmapped places, with random PI bits; words of every kind.
    fn space(safe_offsets: bool, allow_pi: bool) -> impl Strategy<Value = Space> {
        let nodes = 1usize..24;
        nodes
            .prop_flat_map(move |n| {
                let link = prop_oneof![
                    6 => (0..n).prop_map(node),
                    2 => Just(HEAD),
                    1 => Just(0usize),
                    1 => any::<usize>(),
                    if safe_offsets { 0 } else { 1 } => 0x2000usize..0x2000 + 0x20 * 24,
                ];
                let link = (link, prop::bool::weighted(if allow_pi { 0.2 } else { 0.0 }))
                    .prop_map(|(p, pi)| p | usize::from(pi));
                let word = prop_oneof![
                    4 => (0u32..4).prop_map(|f| GPID | f << 30),
                    1 => (0u32..4).prop_map(|f| TID | f << 30),
                    1 => (0u32..4).prop_map(|f| OTHER | f << 30),
                    1 => (0u32..4).prop_map(|f| f << 30),
                    1 => any::<u32>(),
                ];
                let offset: BoxedStrategy<isize> = if safe_offsets {
                    prop_oneof![
                        Just(8isize),
                        Just(12),
                        Just(16),
                        Just(20),
                        Just(-8),
                        Just(-4)
                    ]
                    .boxed()
                } else {
                    prop_oneof![
                        4 => (-10isize..10).prop_map(|x| x * 4),
                        1 => -40isize..40,
                        1 => any::<isize>(),
                    ]
                    .boxed()
                };
                (
                    prop::collection::vec(link, n + 1),
                    prop::collection::vec(word, n),
                    offset,
                    prop_oneof![3 => Just(0usize), 2 => (0..n).prop_map(node), 1 => any::<usize>()],
                    prop::bool::weighted(if allow_pi { 0.2 } else { 0.0 }),
                    prop::collection::vec(0..n, 0..3),
                    prop::collection::vec(0..n, 0..3),
                )
            })
            .prop_map(
                move |(links, words, offset, pending, pending_pi, unmapped, unmapped_words)| {
                    let mut mem = FakeMem::default();
                    mem.map(HEAD, ROBUST_LIST_HEAD_SIZE);
                    mem.put_usize(HEAD, links.first().copied().unwrap_or(HEAD));
                    mem.put_usize(HEAD + WORD, offset as usize);
                    mem.put_usize(HEAD + 2 * WORD, pending | usize::from(pending_pi));
                    let mut addrs = Vec::new();
                    for (i, &w) in words.iter().enumerate() {
                        let a = node(i).wrapping_add_signed(offset);
                        if !safe_offsets && a.checked_add(4).is_none() {
                            continue;
                        }
                        mem.map(a, 4);
                        mem.put_u32(a, w);
                        addrs.push(a);
                    }
                    // Links last: with unsafe offsets a word may overlap a link, and both
                    // then coexist like in real memory.
                    for (i, &l) in links.iter().skip(1).enumerate() {
                        mem.map(node(i), WORD);
                        mem.put_usize(node(i), l);
                    }
                    for i in unmapped {
                        mem.unmap(node(i), 1);
                    }
                    for i in unmapped_words {
                        mem.unmap(node(i).wrapping_add_signed(offset), 1);
                    }
                    Space {
                        mem,
                        head: HEAD,
                        words: addrs,
                    }
                },
            )
    }

    fn policies() -> impl Strategy<Value = WordFaultPolicy> {
        prop_oneof![
            Just(WordFaultPolicy::SkipWord),
            Just(WordFaultPolicy::StopLikeKernel)
        ]
    }

    fn word_at(m: &FakeMem, a: usize) -> Option<u32> {
        m.get::<4>(a).ok().map(u32::from_ne_bytes)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// (a) bounded work, (b) only words owned by the gpid change, and only in their owner
        /// field, (c) no panic; no other byte changes.
        #[test]
        fn translate_only_touches_gpid_words(
            s in space(false, true),
            contention in prop::option::of((0usize..24, 0u32..40)),
            policy in policies(),
        ) {
            let mut m = s.mem.clone();
            if let Some((i, n)) = contention {
                let a = s.words.get(i).copied().unwrap_or(0);
                m.interfere = Some((a, n, FUTEX_WAITERS));
            }
            let before = m.clone();
            let st = walk_robust_list(&mut m, s.head, policy, |m, w| {
                translate_owner(m, w, GPID, TID)
            });
            prop_assert!(m.ops <= MAX_OPS, "ops {}", m.ops);
            prop_assert!(st.entries <= ROBUST_LIST_LIMIT);
            prop_assert!(st.words_visited <= ROBUST_LIST_LIMIT + 1);
            for (a, b) in &m.bytes {
                let old = before.bytes.get(a);
                if old != Some(b) {
                    // Find the word this byte belongs to.
                    let w = s.words.iter().copied().find(|w| (*w..w + 4).contains(a));
                    let w = w.expect("a byte outside every word changed");
                    let old = word_at(&before, w).unwrap();
                    let new = word_at(&m, w).unwrap();
                    prop_assert_eq!(old & FUTEX_TID_MASK, GPID, "non-gpid word {:#x} changed", w);
                    prop_assert_eq!(new & FUTEX_OWNER_DIED, old & FUTEX_OWNER_DIED);
                    if contention.is_some() {
                        // The interfering "thread" may flip FUTEX_WAITERS on its own.
                        prop_assert!([GPID, TID].contains(&(new & FUTEX_TID_MASK)),
                            "{:#x}: {:#x} -> {:#x}", w, old, new);
                    } else {
                        prop_assert_eq!(new, (old & !FUTEX_TID_MASK) | TID);
                    }
                }
            }
            prop_assert_eq!(m.bytes.len(), before.bytes.len());
        }

        /// The walker with `mark_owner_died` behaves exactly like the transcribed kernel
        /// walk: same final memory, same wakes in the same order.
        #[test]
        fn mark_equals_kernel(
            s in space(false, true),
            readonly in prop::collection::vec(0usize..24, 0..2),
            fault_in in any::<bool>(),
        ) {
            let mut a = s.mem.clone();
            for i in readonly {
                if let Some(&w) = s.words.get(i) { a.readonly.insert(w); }
            }
            a.fault_in_works = fault_in;
            let mut b = a.clone();
            let (_, wa) = mark(&mut a, s.head, GPID);
            let wb = k_exit_robust_list(&mut b, s.head, GPID);
            prop_assert_eq!(wa, wb);
            prop_assert!(a.bytes == b.bytes);
            prop_assert!(a.ops <= MAX_OPS);
        }

        /// Translating, then the kernel's walk with the plain TID, ends exactly as if the
        /// kernel had known the gpid, as long as the lists are sane (words do not overlap
        /// links), there are no PI words, and no plain-TID words (which the kernel with the
        /// plain TID owns, and with the gpid does not).
        #[test]
        fn translate_then_kernel_equals_gpid_aware_kernel(s in space(true, false)) {
            let mut a = s.mem.clone();
            for &w in &s.words {
                if word_at(&a, w).is_some_and(|v| v & FUTEX_TID_MASK == TID) {
                    a.put_u32(w, 0);
                }
            }
            let mut b = a.clone();
            let _ = walk_robust_list(&mut a, s.head, WordFaultPolicy::StopLikeKernel,
                                     |m, w| translate_owner(m, w, GPID, TID));
            let wa = k_exit_robust_list(&mut a, s.head, TID);
            let wb = k_exit_robust_list(&mut b, s.head, GPID);
            prop_assert_eq!(wa, wb);
            prop_assert!(a.bytes == b.bytes);
        }

        /// Any bytes at all as head and memory: no panic, bounded work.
        #[test]
        fn arbitrary_memory_never_panics(
            cells in prop::collection::vec((0usize..64, any::<usize>()), 0..64),
            head_slot in 0usize..64,
            policy in policies(),
        ) {
            let base = 0x4000usize;
            let mut m = FakeMem::default();
            for (slot, v) in cells {
                // Pointers into the region half of the time, to get long walks.
                let v = if v & 2 == 0 { base + (v >> 8) % 64 * 8 + (v & 1) } else { v };
                m.map(base + slot * 8, 8);
                m.put_usize(base + slot * 8, v);
            }
            let head = base + head_slot * 8;
            let mut k = m.clone();
            let st = walk_robust_list(&mut m, head, policy, |m, w| {
                translate_owner(m, w, GPID, TID)
            });
            prop_assert!(m.ops <= MAX_OPS);
            prop_assert!(st.entries <= ROBUST_LIST_LIMIT);
            let _ = mark_robust_list_dead(&mut k, head, GPID, |_, _| {});
            prop_assert!(k.ops <= MAX_OPS);
        }
    }
}
