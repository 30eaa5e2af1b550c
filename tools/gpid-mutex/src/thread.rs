//! Per-thread state: the owner value (the thread's gpid, from `GPID_IOC_ROBUST_REGISTER`) and
//! the robust-list head the thread's mutexes are linked into.
//!
//! The kernel walks one robust list per thread, the one given to `set_robust_list()`. glibc
//! registers its own head for every thread, so gpid mutexes join that list with glibc's exact
//! conventions (see [`enqueue`]); only a thread with no head at all (musl before its first
//! robust mutex) gets the library's own.

use crate::sys::{self, Errno};
use core::cell::Cell;
use core::sync::atomic::{
    compiler_fence, AtomicI32, AtomicIsize, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use std::sync::Once;

/// `FUTEX_TID_MASK`: a valid owner value is non-zero and fits it.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Offset of the futex word from a mutex's `next` field: the lock is at 0 and `next` at 32,
/// as in glibc's x86_64 `pthread_mutex_t`, whose value every glibc thread's head carries.
pub const FUTEX_OFFSET: isize = -32;

/// `sizeof(struct robust_list_head)`, the only length `set_robust_list()` accepts.
const HEAD_SIZE: usize = 24;

/// Offset of `list_op_pending` in `struct robust_list_head` (after `list` and `futex_offset`).
const PENDING_OFFSET: usize = 16;

/// glibc's `QUEUE_PTR_ADJUST`: list pointers point at the `next` field of a
/// `__pthread_list_t {prev, next}`, one word after its start.
const QUEUE_PTR_ADJUST: usize = 8;

/// How far past the thread pointer glibc's `struct pthread` may hold its robust head (it is
/// a few hundred bytes in; the descriptor is about 2.3 KiB).
const TCB_SPAN: usize = 4096;

/// `struct gpid_robust_register`.
#[repr(C)]
struct RobustRegister {
    flags: u32,
    owner: u32,
}

/// `GPID_IOC_ROBUST_REGISTER`: `_IOWR(0xB9, 0x10, struct gpid_robust_register)`.
pub const GPID_IOC_ROBUST_REGISTER: u32 =
    (3 << 30) | ((core::mem::size_of::<RobustRegister>() as u32) << 16) | (0xB9 << 8) | 0x10;

/// The library's own head, for threads that have none: glibc's `robust_prev` slot followed
/// by `struct robust_list_head`, so that the list code needs no special case for it.
#[repr(C)]
struct OwnHead {
    prev: AtomicUsize,
    next: AtomicUsize,
    futex_offset: AtomicIsize,
    pending: AtomicUsize,
}

struct Thread {
    /// 0 until registered.
    owner: Cell<u32>,
    /// Address of the head's `next` field (the pointer `set_robust_list()` got); 0 until set.
    head: Cell<usize>,
    /// How the thread's last unlock freed the word (`UnlockPath as u8`), for the test hook.
    last_unlock: Cell<u8>,
}

/// `GPID_IOC_ROBUST_UNREGISTER`: `_IO(0xB9, 0x11)`.
const GPID_IOC_ROBUST_UNREGISTER: u32 = (0xB9 << 8) | 0x11;

/// The most list entries the exit-time release looks at, as the kernel's walk
/// (`ROBUST_LIST_LIMIT`).
const ROBUST_LIST_LIMIT: usize = 2048;

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;

/// Its destructor runs when the thread exits voluntarily (returns, `pthread_exit`), before the
/// kernel sees the exit; a thread killed by a signal never runs it, and the kernel's walk
/// (with gpid's translation before it) does the work instead.
struct ExitRelease;

impl Drop for ExitRelease {
    fn drop(&mut self) {
        release_held_at_exit();
    }
}

thread_local! {
    static EXIT_RELEASE: ExitRelease = const { ExitRelease };
    static THREAD: Thread = const {
        Thread { owner: Cell::new(0), head: Cell::new(0), last_unlock: Cell::new(0) }
    };
    static OWN_HEAD: OwnHead = const {
        OwnHead {
            prev: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            futex_offset: AtomicIsize::new(0),
            pending: AtomicUsize::new(0),
        }
    };
}

/// The process's `/dev/gpid`, kept open: an open file pins the module, so it cannot be
/// unloaded (which would drop every registration) under live mutex users.
static DEV_FD: AtomicI32 = AtomicI32::new(-1);
static DEV_RDEV: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

/// The thread's owner value and head address, registering on first use.
#[inline]
pub fn current() -> Result<(u32, usize), Errno> {
    let (owner, head) = THREAD.with(|t| (t.owner.get(), t.head.get()));
    if owner != 0 && head != 0 {
        return Ok((owner, head));
    }
    setup()
}

/// The owner value if the thread is already set up; a thread that is not cannot own anything.
#[inline]
pub fn current_if_set_up() -> Option<(u32, usize)> {
    let (owner, head) = THREAD.with(|t| (t.owner.get(), t.head.get()));
    (owner != 0 && head != 0).then_some((owner, head))
}

#[cold]
fn setup() -> Result<(u32, usize), Errno> {
    ATFORK.call_once(|| {
        // SAFETY: `forget_thread` is a plain function that only touches this thread's TLS.
        // Failure (ENOMEM) leaves a fork child with its parent's identity; nothing to do
        // about it here but document it.
        unsafe { libc::pthread_atfork(None, None, Some(fork_child)) };
    });
    let owner = THREAD.with(|t| t.owner.get());
    let owner = if owner != 0 { owner } else { register()? };
    let head = find_or_install_head()?;
    THREAD.with(|t| {
        t.owner.set(owner);
        t.head.set(head);
    });
    // The first access registers the destructor. During thread teardown, when TLS is gone
    // already, there is nothing to register: the kernel's walk covers that thread.
    let _ = EXIT_RELEASE.try_with(|_| ());
    Ok((owner, head))
}

/// At a voluntary thread exit: every gpid mutex the thread still holds is marked
/// `FUTEX_OWNER_DIED` (keeping `FUTEX_WAITERS`, waking one waiter if it was set) and unlinked,
/// as musl's `pthread_exit` does for its robust mutexes and as the kernel would at the death.
/// When any was, the thread's registration ends too, so that the exit hook has nothing to walk
/// (the work is not done twice); a mutex locked after this (by a later TLS destructor)
/// registers the thread again. Words owned by anyone else on a shared glibc list (glibc's own
/// mutexes hold the plain TID, never equal to a gpid) are left for the kernel.
fn release_held_at_exit() {
    let Some((owner, head)) = current_if_set_up() else {
        return;
    };
    let mut released = 0;
    // SAFETY: `head` and every entry reached from it are this thread's own robust list, which
    // only this thread changes; each word is at `entry + FUTEX_OFFSET` in a live mutex the
    // thread linked.
    unsafe {
        let mut entry = slot(head).load(Ordering::Relaxed);
        for _ in 0..ROBUST_LIST_LIMIT {
            let e = entry & !1;
            if e == head || e == 0 {
                break;
            }
            let next = slot(e).load(Ordering::Relaxed);
            let word = AtomicU32::from_ptr(e.wrapping_add_signed(FUTEX_OFFSET) as *mut u32);
            let mut v = word.load(Ordering::Relaxed);
            while v & FUTEX_TID_MASK == owner {
                let died = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
                match word.compare_exchange(v, died, Ordering::Release, Ordering::Relaxed) {
                    Ok(_) => {
                        dequeue(e);
                        released += 1;
                        if v & FUTEX_WAITERS != 0 {
                            sys::futex_wake(word, 1);
                        }
                        break;
                    }
                    Err(now) => v = now,
                }
            }
            entry = next;
        }
    }
    if released == 0 {
        return;
    }
    if let Ok(fd) = device() {
        // SAFETY: the command takes no argument.
        let _ = unsafe { sys::ioctl(fd, GPID_IOC_ROBUST_UNREGISTER, core::ptr::null_mut()) };
    }
    forget_thread();
}

extern "C" fn fork_child() {
    forget_thread();
}

/// Forgets the calling thread's identity and head. Runs in the child of `fork()` (whose
/// thread has a new TID, hence a new gpid, and an empty robust list); programs that create
/// processes with a raw `clone()` call it in the child themselves.
pub fn forget_thread() {
    THREAD.with(|t| {
        t.owner.set(0);
        t.head.set(0);
    });
}

fn register() -> Result<u32, Errno> {
    // Host unit tests run without the module: the plain TID is the owner, which the stock
    // kernel's robust walk handles, so the whole protocol can be exercised there.
    if cfg!(test) {
        return Ok(sys::gettid());
    }
    let fd = device()?;
    let mut arg = RobustRegister { flags: 0, owner: 0 };
    // SAFETY: `arg` is a live `struct gpid_robust_register`, what the command reads and writes.
    unsafe {
        sys::ioctl(
            fd,
            GPID_IOC_ROBUST_REGISTER,
            (&mut arg as *mut RobustRegister).cast(),
        )
    }
    .map_err(|e| if e == libc::ENOTTY { libc::ENOTSUP } else { e })?;
    if arg.owner == 0 || arg.owner > FUTEX_TID_MASK {
        return Err(libc::EPROTO);
    }
    Ok(arg.owner)
}

fn device() -> Result<i32, Errno> {
    let fd = DEV_FD.load(Ordering::Acquire);
    if fd >= 0 && sys::fd_rdev(fd) == Some(DEV_RDEV.load(Ordering::Relaxed)) {
        return Ok(fd);
    }
    // Not opened yet, or closed behind the library's back (a daemon closing every fd); in
    // the latter case the number is no longer ours and is left alone.
    let new = sys::open_rw(c"/dev/gpid").map_err(|e| match e {
        libc::ENOENT | libc::ENXIO => libc::ENODEV,
        e => e,
    })?;
    let rdev = sys::fd_rdev(new).ok_or(libc::EBADF)?;
    DEV_RDEV.store(rdev, Ordering::Relaxed);
    match DEV_FD.compare_exchange(fd, new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Ok(new),
        Err(winner) => {
            // SAFETY: `new` is our own fd, not shared with anyone.
            unsafe { libc::close(new) };
            Ok(winner)
        }
    }
}

pub fn release_device() {
    let fd = DEV_FD.swap(-1, Ordering::AcqRel);
    if fd >= 0 && sys::fd_rdev(fd) == Some(DEV_RDEV.load(Ordering::Relaxed)) {
        // SAFETY: the fd is the library's own (same device as opened).
        unsafe { libc::close(fd) };
    }
}

/// The thread pointer: on x86_64 both glibc and musl keep the TCB's self-pointer at `%fs:0`.
fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: reading %fs:0 is valid in every thread of a TLS-using process.
    unsafe {
        core::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags))
    };
    tp
}

#[cfg(test)]
pub fn own_head_for_tests() -> usize {
    own_head_addr()
}

fn own_head_addr() -> usize {
    OWN_HEAD.with(|h| &h.next as *const AtomicUsize as usize)
}

/// The head to link into: the registered one if it is glibc's (in the thread descriptor,
/// with glibc's `futex_offset`) or ours; else ours, registered now when the thread has none.
fn find_or_install_head() -> Result<usize, Errno> {
    let (head, len) = sys::get_robust_list()?;
    let own = own_head_addr();
    if head != 0 && head == own {
        return Ok(own);
    }
    if head != 0 {
        let tp = thread_pointer();
        // A foreign head we cannot vouch for would be written through (its prev slot, its
        // list): refuse rather than corrupt someone else's memory.
        if len != HEAD_SIZE || head < tp || head >= tp.saturating_add(TCB_SPAN) {
            return Err(libc::EPROTO);
        }
        // SAFETY: `head` is the live robust_list_head in this thread's descriptor.
        let off =
            unsafe { AtomicIsize::from_ptr((head + 8) as *mut isize) }.load(Ordering::Relaxed);
        if off != FUTEX_OFFSET {
            // musl's head (futex_offset -28) or another runtime's layout.
            return Err(libc::EPROTO);
        }
        return Ok(head);
    }
    OWN_HEAD.with(|h| {
        h.next.store(own, Ordering::Relaxed);
        h.prev.store(own, Ordering::Relaxed);
        h.futex_offset.store(FUTEX_OFFSET, Ordering::Relaxed);
        h.pending.store(0, Ordering::Relaxed);
    });
    compiler_fence(Ordering::SeqCst);
    sys::set_robust_list(own, HEAD_SIZE)?;
    Ok(own)
}

/// The word at `addr` (a list pointer field), for list surgery in this thread's own list.
///
/// # Safety
///
/// `addr` must be a live, aligned pointer-sized field of the calling thread's robust list.
unsafe fn slot<'a>(addr: usize) -> &'a AtomicUsize {
    // SAFETY: per the caller.
    unsafe { AtomicUsize::from_ptr(addr as *mut usize) }
}

/// How the calling thread's last unlock freed the word.
pub fn last_unlock() -> u8 {
    THREAD.with(|t| t.last_unlock.get())
}

pub fn set_last_unlock(path: u8) {
    THREAD.with(|t| t.last_unlock.set(path));
}

/// The address of `head->list_op_pending`, for the kernel to clear (`pop` of the vDSO's
/// try-unlock, `uaddr2` of `FUTEX_ROBUST_UNLOCK`).
pub fn pending_ptr(head: usize) -> *mut u64 {
    (head + PENDING_OFFSET) as *mut u64
}

/// `head->list_op_pending = entry` (the address of a mutex's `next` field, or 0).
///
/// # Safety
///
/// `head` is the calling thread's head (from [`current`]).
#[inline]
pub unsafe fn set_pending(head: usize, entry: usize) {
    // The kernel reads the list at this thread's death, i.e. "concurrently" in program order
    // only: compiler fences give the ordering, as glibc's `asm ("" ::: "memory")`.
    compiler_fence(Ordering::SeqCst);
    // SAFETY: per the caller.
    unsafe { slot(head + PENDING_OFFSET) }.store(entry, Ordering::Relaxed);
    compiler_fence(Ordering::SeqCst);
}

/// glibc's `ENQUEUE_MUTEX`: links the entry whose `next` field is at `entry` first in the list.
///
/// # Safety
///
/// `head` is the calling thread's head; `entry` is the `next` field of a mutex the thread has
/// just acquired, with its `prev` field one word before it.
#[inline]
pub unsafe fn enqueue(head: usize, entry: usize) {
    // SAFETY: all addresses are fields of this thread's own list (the head, its prev slot,
    // and list entries it links), per the caller.
    unsafe {
        let first = slot(head).load(Ordering::Relaxed);
        let first_node = (first & !1).wrapping_sub(QUEUE_PTR_ADJUST);
        slot(first_node).store(entry, Ordering::Relaxed);
        slot(entry).store(first, Ordering::Relaxed);
        slot(entry - QUEUE_PTR_ADJUST).store(head, Ordering::Relaxed);
        // The entry must be complete before the kernel can reach it from the head.
        compiler_fence(Ordering::SeqCst);
        slot(head).store(entry, Ordering::Relaxed);
    }
}

/// glibc's `DEQUEUE_MUTEX`: unlinks the entry whose `next` field is at `entry`.
///
/// # Safety
///
/// `entry` is linked in the calling thread's list.
#[inline]
pub unsafe fn dequeue(entry: usize) {
    // SAFETY: `entry` and its neighbours are in this thread's own list, per the caller.
    unsafe {
        let next = slot(entry).load(Ordering::Relaxed);
        let prev = slot(entry - QUEUE_PTR_ADJUST).load(Ordering::Relaxed);
        if next == 0 || prev == 0 {
            // Not linked (it was taken by a test hook, or state is corrupt): following the
            // null links would write near address 0.
            return;
        }
        let next_node = (next & !1).wrapping_sub(QUEUE_PTR_ADJUST);
        slot(next_node).store(prev, Ordering::Relaxed);
        let prev_node = (prev & !1).wrapping_sub(QUEUE_PTR_ADJUST);
        slot(prev_node + QUEUE_PTR_ADJUST).store(next, Ordering::Relaxed);
        // Out of the list before the entry's own `next`, which the kernel follows, changes.
        compiler_fence(Ordering::SeqCst);
        slot(entry - QUEUE_PTR_ADJUST).store(0, Ordering::Relaxed);
        slot(entry).store(0, Ordering::Relaxed);
    }
}
