//! A process-shared robust mutex that stays correct across PID namespaces.
//!
//! A glibc robust mutex records its owner's TID in the futex word. TIDs are unique only inside
//! one PID namespace, so two PID-1 processes in sibling namespaces both "own" such a mutex.
//! This mutex records the owner's *gpid* instead (from `GPID_IOC_ROBUST_REGISTER`), which is
//! unique system-wide; the gpid module makes the kernel's exit-time robust-list walk handle
//! those words, so a dead owner's mutex ends `FUTEX_OWNER_DIED` and the next locker gets
//! `EOWNERDEAD`, exactly as with pthread robust mutexes.
//!
//! The word protocol is the kernel's: 0 free; the owner in the low 30 bits; `FUTEX_WAITERS`
//! (bit 31) when someone may sleep on it; `FUTEX_OWNER_DIED` (bit 30) when the owner died.
//! The layout (40 bytes, futex word at 0, list links at 24/32) is glibc's `pthread_mutex_t`'s,
//! so the mutex can sit on glibc's per-thread robust list. See `Documentation/gpid.rst` and
//! `include/gpid_mutex.h` for the full contract; the C API is in [`capi`].

#[cfg(not(all(target_arch = "x86_64", target_pointer_width = "64")))]
compile_error!("gpid-mutex supports x86_64 only: gpid walks only the native robust-list layout");

pub mod capi;
mod sys;
mod thread;
mod vdso;

use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicUsize, Ordering};
use libc::{c_int, timespec};
pub use sys::Errno;
pub use thread::{FUTEX_OFFSET, FUTEX_TID_MASK, GPID_IOC_ROBUST_REGISTER};

/// `FUTEX_WAITERS`.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
/// `FUTEX_OWNER_DIED`.
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;

/// How long one `FUTEX_WAIT` lasts before the word is looked at again. When the owner's page
/// was not present at its death, gpid marks the word later and wakes nobody; this bounds how
/// late a waiter notices (the module's fallback delay plus one slice).
pub const WAIT_SLICE_NS: i64 = 50_000_000;

/// What kind of mutex, as pthread's mutex types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Kind {
    /// Relocking by the owner deadlocks (`trylock` gives `EBUSY`).
    Normal = 0,
    /// Relocking by the owner gives `EDEADLK`.
    ErrorCheck = 1,
    /// The owner may relock; it must unlock as many times.
    Recursive = 2,
}

/// `GPID_MUTEX_PRIO_INHERIT`: refused (see [`RawMutex::init`]).
pub const PRIO_INHERIT: u32 = 0x10;

/// Values of [`RawMutex`]'s state field (glibc keeps the same in `__owner`).
const CONSISTENT: u32 = 0;
const INCONSISTENT: u32 = 1;
const NOT_RECOVERABLE: u32 = 2;

const NSEC_PER_SEC: i64 = 1_000_000_000;

/// How a successful lock ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// The mutex is held and consistent.
    Locked,
    /// The mutex is held, but its previous owner died holding it (`EOWNERDEAD`): make the
    /// protected state consistent and call [`RawMutex::consistent`], or the next unlock makes
    /// the mutex unrecoverable.
    OwnerDied,
}

/// How an unlock freed the futex word and cleared the thread's `list_op_pending`
/// ([`raw::last_unlock_path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum UnlockPath {
    /// No unlock has freed a word in this thread yet.
    None = 0,
    /// In user space: exchange the word to 0, `FUTEX_WAKE` if there were waiters, then clear
    /// `list_op_pending`. A death between the exchange and the clear leaves the kernel a
    /// pending pointer to a mutex that may be gone by then: the race Linux 7.x closes.
    Legacy = 1,
    /// The vDSO's `__vdso_futex_robust_list64_try_unlock` freed the (uncontended) word and
    /// cleared `list_op_pending`, which the kernel completes if the thread is interrupted.
    Vdso = 2,
    /// Contended: `FUTEX_WAKE | FUTEX_ROBUST_UNLOCK` freed the word, cleared
    /// `list_op_pending` and woke, in the kernel.
    RobustWake = 3,
}

impl UnlockPath {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Legacy,
            2 => Self::Vdso,
            3 => Self::RobustWake,
            _ => Self::None,
        }
    }
}

/// Set when the kernel refused `FUTEX_WAKE | FUTEX_ROBUST_UNLOCK` without freeing the word
/// (`ENOSYS` from a kernel without the flag, or a seccomp filter's errno), so later contended
/// unlocks go straight to the user-space release. A kernel whose vDSO has the try-unlock has
/// the flag too (it came with it, kernel/futex/syscalls.c), so without a filter this only
/// trips when tests substitute the vDSO function on an older kernel.
static ROBUST_WAKE_REFUSED: AtomicBool = AtomicBool::new(false);

/// When to give up waiting.
#[derive(Debug, Clone, Copy)]
pub enum Deadline {
    /// Never (`lock`).
    Never,
    /// Do not wait at all (`trylock`).
    NoWait,
    /// At `abstime` on `clock` (`CLOCK_REALTIME` or `CLOCK_MONOTONIC`), as
    /// `pthread_mutex_clocklock`.
    At(libc::clockid_t, timespec),
}

/// The mutex itself: 40 bytes, 8-aligned, valid when all-zero (a normal mutex), meant to live
/// in memory shared between processes (`MAP_SHARED`).
#[repr(C, align(8))]
pub struct RawMutex {
    /// The futex word (glibc `__lock`).
    lock: AtomicU32,
    /// Recursion depth, owner only (glibc `__count`).
    count: AtomicU32,
    /// CONSISTENT, INCONSISTENT or NOT_RECOVERABLE (glibc `__owner` holds the same).
    state: AtomicU32,
    /// [`Kind`].
    kind: AtomicU32,
    reserved: [AtomicU32; 2],
    /// Robust-list links, at glibc's `__list.__prev` / `__list.__next` offsets.
    prev: AtomicUsize,
    next: AtomicUsize,
}

const _: () = {
    assert!(core::mem::size_of::<RawMutex>() == 40);
    assert!(core::mem::align_of::<RawMutex>() == 8);
    assert!(core::mem::offset_of!(RawMutex, prev) == 24);
    assert!(core::mem::offset_of!(RawMutex, next) == 32);
    assert!(-(core::mem::offset_of!(RawMutex, next) as isize) == thread::FUTEX_OFFSET);
};

impl Default for RawMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl RawMutex {
    /// A free, normal mutex.
    pub const fn new() -> Self {
        Self {
            lock: AtomicU32::new(0),
            count: AtomicU32::new(0),
            state: AtomicU32::new(CONSISTENT),
            kind: AtomicU32::new(Kind::Normal as u32),
            reserved: [AtomicU32::new(0), AtomicU32::new(0)],
            prev: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
        }
    }

    /// (Re)initializes the mutex as free and consistent, of `kind` (a [`Kind`] value, optionally
    /// with [`PRIO_INHERIT`]). `EINVAL` for an unknown kind; `ENOTSUP` with
    /// [`PRIO_INHERIT`]: Linux 6.12 looks the owner of a PI futex up by TID *in the waiter's PID
    /// namespace*, so a gpid (or a TID from another namespace) names the wrong task or none.
    /// Like `pthread_mutex_init`, must not be called on a mutex in use.
    pub fn init(&self, kind: u32) -> Result<(), Errno> {
        if kind & PRIO_INHERIT != 0 {
            return Err(libc::ENOTSUP);
        }
        let kind = decode_kind(kind)?;
        for w in [
            &self.lock,
            &self.count,
            &self.state,
            &self.reserved[0],
            &self.reserved[1],
        ] {
            w.store(0, Ordering::Relaxed);
        }
        self.prev.store(0, Ordering::Relaxed);
        self.next.store(0, Ordering::Relaxed);
        self.kind.store(kind as u32, Ordering::Release);
        Ok(())
    }

    /// The futex word, for tests and diagnostics.
    pub fn word(&self) -> &AtomicU32 {
        &self.lock
    }

    /// Address of the `next` field: what the robust list and `list_op_pending` point at.
    fn entry(&self) -> usize {
        &self.next as *const AtomicUsize as usize
    }

    /// Locks the mutex, waiting until `deadline`.
    ///
    /// Errors as `pthread_mutex_lock`: `EDEADLK` (error-checking, already the owner), `EAGAIN`
    /// (recursion count overflow), `EBUSY` (`NoWait`), `ETIMEDOUT`, `EINVAL` (bad deadline or
    /// kind), `ENOTRECOVERABLE`; and from registration: `ENODEV` (no `/dev/gpid`), `ENOTSUP`
    /// (module without robust-futex support), `EPROTO` (the thread's robust list is not
    /// glibc's nor ours, see the documentation).
    ///
    /// # Safety
    ///
    /// While locked, the mutex is linked into the thread's robust list, which the kernel and
    /// later list operations follow: it must not be moved or unmapped until unlocked.
    pub unsafe fn lock(&self, deadline: Deadline) -> Result<Acquired, Errno> {
        let kind = decode_kind(self.kind.load(Ordering::Relaxed))?;
        let (me, head) = thread::current()?;
        if self.state.load(Ordering::Relaxed) == NOT_RECOVERABLE {
            return Err(libc::ENOTRECOVERABLE);
        }
        let entry = self.entry();
        // SAFETY: `head` is this thread's head. Pending before the attempt, so that a death
        // between taking the word and linking the mutex is still seen by the kernel.
        unsafe { thread::set_pending(head, entry) };
        let r = self.acquire(me, kind, deadline);
        let r = match r {
            Ok(died) => self.finish_acquire(me, head, died),
            Err(e) => Err(e),
        };
        // SAFETY: as above; cleared after the mutex is linked (or on failure).
        unsafe { thread::set_pending(head, 0) };
        r
    }

    /// The word protocol, up to the moment the word holds `me` (or the recursion count grew).
    fn acquire(&self, me: u32, kind: Kind, deadline: Deadline) -> Result<Step, Errno> {
        // Once we may have shared FUTEX_WAITERS with other sleepers we must keep it set when
        // we take the word, or an unlock would skip waking them (glibc's
        // `assume_other_futex_waiters`).
        let mut assume = 0;
        let mut old = self.lock.load(Ordering::Relaxed);
        loop {
            if old == 0 {
                match self.cas(0, me | assume) {
                    Ok(()) => return Ok(Step::Fresh),
                    Err(v) => {
                        old = v;
                        continue;
                    }
                }
            }
            if old & FUTEX_OWNER_DIED != 0 {
                match self.cas(old, me | (old & FUTEX_WAITERS) | assume) {
                    Ok(()) => return Ok(Step::OwnerDied),
                    Err(v) => {
                        old = v;
                        continue;
                    }
                }
            }
            // The full gpid is compared: a thread with the same TID in another namespace has
            // another gpid and is not the owner.
            if old & FUTEX_TID_MASK == me {
                match kind {
                    Kind::ErrorCheck => return Err(libc::EDEADLK),
                    Kind::Recursive => {
                        let c = self.count.load(Ordering::Relaxed);
                        let c = c.checked_add(1).ok_or(libc::EAGAIN)?;
                        self.count.store(c, Ordering::Relaxed);
                        return Ok(Step::Recursed);
                    }
                    // POSIX: relocking a normal mutex deadlocks; it waits like anyone else.
                    Kind::Normal => {}
                }
            }
            let slice = match deadline {
                Deadline::NoWait => return Err(libc::EBUSY),
                d => wait_slice(d)?,
            };
            if old & FUTEX_WAITERS == 0 {
                if let Err(v) = self.cas(old, old | FUTEX_WAITERS) {
                    old = v;
                    continue;
                }
                old |= FUTEX_WAITERS;
            }
            assume = FUTEX_WAITERS;
            sys::futex_wait(&self.lock, old, &slice);
            if self.state.load(Ordering::Relaxed) == NOT_RECOVERABLE {
                return Err(libc::ENOTRECOVERABLE);
            }
            old = self.lock.load(Ordering::Relaxed);
        }
    }

    fn finish_acquire(&self, me: u32, head: usize, step: Step) -> Result<Acquired, Errno> {
        if step == Step::Recursed {
            return Ok(Acquired::Locked);
        }
        if self.state.load(Ordering::Relaxed) == NOT_RECOVERABLE {
            // The last owner gave up on it just before releasing the word to us. Pending
            // still names the mutex (set by `lock`), so this is a robust release like unlock's.
            self.release(me, head, NOT_RECOVERABLE);
            return Err(libc::ENOTRECOVERABLE);
        }
        self.count.store(1, Ordering::Relaxed);
        if step == Step::OwnerDied {
            self.state.store(INCONSISTENT, Ordering::Relaxed);
        }
        // SAFETY: we hold the mutex, so its links are ours; `head` is this thread's head.
        unsafe { thread::enqueue(head, self.entry()) };
        Ok(match step {
            Step::OwnerDied => Acquired::OwnerDied,
            _ => Acquired::Locked,
        })
    }

    fn cas(&self, old: u32, new: u32) -> Result<(), u32> {
        self.lock
            .compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed)
            .map(|_| ())
    }

    /// Frees the word held by `me`, wakes (everyone when the mutex is now unrecoverable: they
    /// all fail alike; else one waiter if any may sleep), and clears `list_op_pending` of the
    /// thread's head `head`, which names this mutex.
    ///
    /// With the kernel's robust-unlock support (Linux 7.x, `CONFIG_FUTEX_ROBUST_UNLOCK`) the
    /// word is freed and pending cleared as one step, so a thread killed in between cannot
    /// leave the kernel a pending pointer to a mutex another process has unmapped since:
    /// uncontended through the vDSO's try-unlock, contended through `FUTEX_WAKE |
    /// FUTEX_ROBUST_UNLOCK`. Both work with a gpid owner: the vDSO compares the word with the
    /// value it is given, and the syscall stores 0 without looking at the owner.
    fn release(&self, me: u32, head: usize, state: u32) -> UnlockPath {
        let wake = if state == NOT_RECOVERABLE {
            c_int::MAX
        } else {
            1
        };
        if let Some(try_unlock) = vdso::try_unlock() {
            // The state and list stores above must be visible to the next owner: the vDSO's
            // `lock cmpxchg` is the releasing store, which the compiler does not see.
            fence(Ordering::Release);
            // SAFETY: the word is a live, aligned u32 we own (an AtomicU32, and the vDSO
            // accesses it atomically); `pop` is this thread's list_op_pending, a live,
            // aligned u64 that only this thread and the kernel write; `try_unlock` has the
            // vDSO's ABI (vdso::TryUnlock).
            let found = unsafe { try_unlock(self.lock.as_ptr(), me, thread::pending_ptr(head)) };
            if found == me {
                if state == NOT_RECOVERABLE {
                    // As the legacy path: waiters re-read the state (none should be asleep
                    // without FUTEX_WAITERS, but a spare wake costs nothing here).
                    sys::futex_wake(&self.lock, wake);
                }
                return UnlockPath::Vdso;
            }
            // The word is `me | FUTEX_WAITERS`: others may only add that bit to a held word.
            if let Some(path) = self.robust_wake(me, head, wake) {
                return path;
            }
        }
        let old = self.lock.swap(0, Ordering::Release);
        if state == NOT_RECOVERABLE || old & FUTEX_WAITERS != 0 {
            sys::futex_wake(&self.lock, wake);
        }
        // SAFETY: `head` is this thread's head.
        unsafe { thread::set_pending(head, 0) };
        UnlockPath::Legacy
    }

    /// The contended robust unlock: `None` if the kernel did not free the word (the caller
    /// then does it in user space).
    fn robust_wake(&self, me: u32, head: usize, wake: c_int) -> Option<UnlockPath> {
        if ROBUST_WAKE_REFUSED.load(Ordering::Relaxed) {
            return None;
        }
        // As for the vDSO call: the kernel's store of 0 is the releasing one.
        fence(Ordering::Release);
        // SAFETY: `head` is this thread's head and we own the word.
        match unsafe { sys::futex_unlock_wake(&self.lock, wake, thread::pending_ptr(head)) } {
            Ok(_) => Some(UnlockPath::RobustWake),
            Err(_) => {
                // Only the owner changes a held word's owner bits (the kernel too, but only
                // at the owner's death), so the kernel freed the word iff they no longer say
                // `me` (someone may have taken it since).
                if self.lock.load(Ordering::Relaxed) & FUTEX_TID_MASK == me {
                    ROBUST_WAKE_REFUSED.store(true, Ordering::Relaxed);
                    return None;
                }
                // Freed, but the error may be from clearing pending: make sure it is clear.
                // SAFETY: `head` is this thread's head.
                unsafe { thread::set_pending(head, 0) };
                Some(UnlockPath::RobustWake)
            }
        }
    }

    /// Unlocks. `EPERM` when the calling thread is not the owner (any kind: POSIX requires it
    /// for robust mutexes). Unlocking after `EOWNERDEAD` without [`Self::consistent`] makes the
    /// mutex unrecoverable: every waiter and later locker gets `ENOTRECOVERABLE`.
    pub fn unlock(&self) -> Result<(), Errno> {
        let Some((me, head)) = thread::current_if_set_up() else {
            return Err(libc::EPERM);
        };
        if self.lock.load(Ordering::Relaxed) & FUTEX_TID_MASK != me {
            return Err(libc::EPERM);
        }
        if self.kind.load(Ordering::Relaxed) == Kind::Recursive as u32 {
            let c = self.count.load(Ordering::Relaxed);
            if c > 1 {
                self.count.store(c - 1, Ordering::Relaxed);
                return Ok(());
            }
        }
        let state = match self.state.load(Ordering::Relaxed) {
            INCONSISTENT => NOT_RECOVERABLE,
            s => s,
        };
        let entry = self.entry();
        // SAFETY: we own the mutex, so it is linked in this thread's list headed at `head`.
        // Pending covers a death after the unlink but before the word is freed; `release`
        // clears it.
        unsafe {
            thread::set_pending(head, entry);
            thread::dequeue(entry);
        }
        self.count.store(0, Ordering::Relaxed);
        self.state.store(state, Ordering::Relaxed);
        let path = self.release(me, head, state);
        thread::set_last_unlock(path as u8);
        Ok(())
    }

    /// Marks the state protected by a mutex acquired with `EOWNERDEAD` consistent again.
    /// `EPERM` if the caller is not the owner, `EINVAL` if the mutex is not inconsistent.
    pub fn consistent(&self) -> Result<(), Errno> {
        let Some((me, _)) = thread::current_if_set_up() else {
            return Err(libc::EPERM);
        };
        if self.lock.load(Ordering::Relaxed) & FUTEX_TID_MASK != me {
            return Err(libc::EPERM);
        }
        if self.state.load(Ordering::Relaxed) != INCONSISTENT {
            return Err(libc::EINVAL);
        }
        self.state.store(CONSISTENT, Ordering::Relaxed);
        Ok(())
    }

    /// `EBUSY` while held (by anyone, dead owners included), else 0; nothing to free.
    pub fn destroy(&self) -> Result<(), Errno> {
        let w = self.lock.load(Ordering::Relaxed);
        if w & FUTEX_TID_MASK != 0 {
            return Err(libc::EBUSY);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Fresh,
    OwnerDied,
    Recursed,
}

fn decode_kind(kind: u32) -> Result<Kind, Errno> {
    match kind {
        0 => Ok(Kind::Normal),
        1 => Ok(Kind::ErrorCheck),
        2 => Ok(Kind::Recursive),
        _ => Err(libc::EINVAL),
    }
}

/// The next `FUTEX_WAIT` timeout: the time left to `deadline`, at most [`WAIT_SLICE_NS`].
fn wait_slice(deadline: Deadline) -> Result<timespec, Errno> {
    let slice = timespec {
        tv_sec: 0,
        tv_nsec: WAIT_SLICE_NS,
    };
    let Deadline::At(clock, abs) = deadline else {
        return Ok(slice);
    };
    if !(0..NSEC_PER_SEC).contains(&abs.tv_nsec) {
        return Err(libc::EINVAL);
    }
    let now = sys::clock_now(clock)?;
    let left = (i128::from(abs.tv_sec) - i128::from(now.tv_sec)) * i128::from(NSEC_PER_SEC)
        + i128::from(abs.tv_nsec - now.tv_nsec);
    if left <= 0 {
        return Err(libc::ETIMEDOUT);
    }
    let left = left.min(i128::from(WAIT_SLICE_NS)) as i64;
    Ok(timespec {
        tv_sec: 0,
        tv_nsec: left,
    })
}

/// This thread's owner value (its gpid), registering on first use.
pub fn owner_value() -> Result<u32, Errno> {
    thread::current().map(|(owner, _)| owner)
}

/// Whether unlock uses the kernel's robust-unlock support: the running kernel's vDSO exports
/// `__vdso_futex_robust_list64_try_unlock` (Linux 7.x with `CONFIG_FUTEX_ROBUST_UNLOCK`), so
/// the word is freed and `list_op_pending` cleared as one step (see [`UnlockPath`]). Looked up
/// once per process.
pub fn robust_unlock_vdso() -> bool {
    vdso::live_try_unlock().is_some()
}

/// Forgets this thread's identity and list head: for the child of a raw `clone()` that did not
/// go through `fork()` (whose handler does this).
pub fn forget_thread() {
    thread::forget_thread();
}

/// Test hooks: the raw steps of lock and unlock, so a test can die between any two of them.
pub mod raw {
    use super::*;

    /// The head this thread's mutexes are linked into (registering on first use).
    pub fn robust_head() -> Result<usize, Errno> {
        thread::current().map(|(_, head)| head)
    }

    /// `list_op_pending = m` (or 0 when `m` is None).
    pub fn set_pending(m: Option<&RawMutex>) -> Result<(), Errno> {
        let head = robust_head()?;
        // SAFETY: `head` is this thread's head.
        unsafe { thread::set_pending(head, m.map_or(0, RawMutex::entry)) };
        Ok(())
    }

    /// Links `m` into this thread's list.
    ///
    /// # Safety
    ///
    /// `m` must not already be linked, and must stay mapped while linked.
    pub unsafe fn enqueue(m: &RawMutex) -> Result<(), Errno> {
        let head = robust_head()?;
        // SAFETY: per the caller.
        unsafe { thread::enqueue(head, m.entry()) };
        Ok(())
    }

    /// Closes the process's `/dev/gpid`, which otherwise pins the module; registrations stay,
    /// and the device is reopened when a new thread needs one. For tests and benchmarks that
    /// unload the module.
    pub fn release_device() {
        thread::release_device();
    }

    /// How this thread's last [`RawMutex::unlock`] that freed a word did it.
    pub fn last_unlock_path() -> UnlockPath {
        UnlockPath::from_u8(thread::last_unlock())
    }

    /// Unlinks `m` from this thread's list.
    ///
    /// # Safety
    ///
    /// `m` must be linked in this thread's list.
    pub unsafe fn dequeue(m: &RawMutex) {
        // SAFETY: per the caller.
        unsafe { thread::dequeue(m.entry()) };
    }
}

#[cfg(test)]
mod tests;
