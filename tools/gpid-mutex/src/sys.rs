//! The system calls the mutex needs, as thin wrappers that return the kernel's errno.

use core::sync::atomic::AtomicU32;
use libc::{c_int, c_long, timespec};

/// An errno value, as pthread functions return them.
pub type Errno = c_int;

fn last_errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `FUTEX_WAIT` on a shared (not `_PRIVATE`) word: the waiter and the owner are usually in
/// different processes. `timeout` is relative. EAGAIN, ETIMEDOUT and EINTR are all "look at the
/// word again" to the caller, so the result is not returned.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: &timespec) {
    // SAFETY: the word is a live, aligned u32; the kernel only reads it and `timeout`.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            timeout as *const timespec,
        );
    }
}

/// `FUTEX_WAKE` of up to `n` waiters on a shared word.
pub fn futex_wake(word: &AtomicU32, n: c_int) {
    // SAFETY: FUTEX_WAKE does not access the word's contents beyond hashing its address.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
    }
}

/// `FUTEX_ROBUST_UNLOCK` (Linux 7.x, include/uapi/linux/futex.h), a flag to OR into
/// `FUTEX_WAKE`: the kernel frees the word and clears the pending-op pointer given as `uaddr2`
/// before waking. Older kernels refuse the combination with `ENOSYS` before touching anything.
pub const FUTEX_ROBUST_UNLOCK: c_int = 512;

/// `FUTEX_WAKE | FUTEX_ROBUST_UNLOCK` on a shared word: the kernel stores 0 to the word (a
/// release store, whatever it held: it does not compare the owner), then 0 to `*pending`, then
/// wakes up to `n` waiters (kernel/futex/waitwake.c, `futex_robust_unlock()`, `futex_wake()`).
/// Returns the number woken. An error may come before the word was touched (`ENOSYS`, or
/// `EFAULT` while hashing the address) or after it was freed (`EFAULT` clearing `*pending`,
/// `EINVAL` for a PI waiter on the word): the caller tells them apart by looking at the word.
///
/// # Safety
///
/// `pending` is the calling thread's robust-list head's `list_op_pending` field, and the
/// caller owns `word`, which the kernel frees.
pub unsafe fn futex_unlock_wake(
    word: &AtomicU32,
    n: c_int,
    pending: *mut u64,
) -> Result<c_int, Errno> {
    // SAFETY: the word is a live, aligned u32 and `pending` a live, aligned u64 of this
    // thread (per the caller); the kernel writes 0 to both, which is what the caller wants.
    // The timeout slot is unused by FUTEX_WAKE; uaddr2 carries the pending-op pointer
    // (kernel/futex/syscalls.c, do_futex(): futex_wake(uaddr, flags, uaddr2, val, val3)).
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | FUTEX_ROBUST_UNLOCK,
            n,
            core::ptr::null::<timespec>(),
            pending,
            0 as c_int,
        )
    };
    if r < 0 {
        return Err(last_errno());
    }
    Ok(r as c_int)
}

/// `get_robust_list(0, ...)`: the head the calling thread registered (0 when none) and its
/// registered length.
pub fn get_robust_list() -> Result<(usize, usize), Errno> {
    let mut head: usize = 0;
    let mut len: libc::size_t = 0;
    // SAFETY: both out-pointers are live locals of the sizes the kernel writes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_get_robust_list,
            0 as c_long,
            &mut head as *mut usize,
            &mut len as *mut libc::size_t,
        )
    };
    if r < 0 {
        return Err(last_errno());
    }
    Ok((head, len))
}

/// `set_robust_list(head, len)` for the calling thread.
pub fn set_robust_list(head: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: the kernel only stores the pointer; it reads it at exit, from the thread's
    // own memory, and copes with any value.
    let r = unsafe { libc::syscall(libc::SYS_set_robust_list, head, len) };
    if r < 0 {
        return Err(last_errno());
    }
    Ok(())
}

/// The calling thread's TID in its own PID namespace.
pub fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    // TIDs are positive and below PID_MAX_LIMIT.
    u32::try_from(tid).unwrap_or(0)
}

/// `clock_gettime(clock)`.
pub fn clock_now(clock: libc::clockid_t) -> Result<timespec, Errno> {
    let mut ts = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live timespec.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(last_errno());
    }
    Ok(ts)
}

/// Opens `path` read-write, close-on-exec.
pub fn open_rw(path: &core::ffi::CStr) -> Result<c_int, Errno> {
    // SAFETY: `path` is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(last_errno());
    }
    Ok(fd)
}

/// `ioctl(fd, cmd, arg)` with a pointer argument.
///
/// # Safety
///
/// `arg` must be valid for everything `cmd` reads and writes.
pub unsafe fn ioctl(fd: c_int, cmd: u32, arg: *mut libc::c_void) -> Result<c_int, Errno> {
    // SAFETY: the caller vouches for `arg`.
    let r = unsafe { libc::ioctl(fd, cmd as _, arg) };
    if r < 0 {
        return Err(last_errno());
    }
    Ok(r)
}

/// `fstat(fd)`'s device number of the file, or None when `fd` is not open.
pub fn fd_rdev(fd: c_int) -> Option<u64> {
    // SAFETY: all-zero is a valid `struct stat`.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is a live struct stat.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    Some(st.st_rdev)
}
