//! The C API (`include/gpid_mutex.h`): pthread-style functions returning 0 or an errno.
//!
//! Every function takes a `gpid_mutex_t *`; a null pointer gives `EINVAL` rather than a crash,
//! since C callers cannot be held to Rust's reference rules.

use crate::{Acquired, Deadline, RawMutex};
use libc::{c_int, c_void, clockid_t, timespec};

fn code(r: Result<Acquired, c_int>) -> c_int {
    match r {
        Ok(Acquired::Locked) => 0,
        Ok(Acquired::OwnerDied) => libc::EOWNERDEAD,
        Err(e) => e,
    }
}

fn unit(r: Result<(), c_int>) -> c_int {
    r.err().unwrap_or(0)
}

/// # Safety
///
/// `m` is null or points to a live `gpid_mutex_t`.
unsafe fn mutex<'a>(m: *mut RawMutex) -> Option<&'a RawMutex> {
    // SAFETY: per the caller; all fields are atomics, so shared access is sound.
    unsafe { m.as_ref() }
}

/// # Safety
///
/// `m` is null or points to a live `gpid_mutex_t` that stays mapped while locked.
unsafe fn lock_with(m: *mut RawMutex, d: Deadline) -> c_int {
    // SAFETY: per the caller.
    match unsafe { mutex(m) } {
        // SAFETY: per the caller.
        Some(m) => code(unsafe { m.lock(d) }),
        None => libc::EINVAL,
    }
}

/// `gpid_mutex_init(m, kind)`.
///
/// # Safety
///
/// `m` is null or points to writable memory for a `gpid_mutex_t`.
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_init(m: *mut RawMutex, kind: u32) -> c_int {
    // SAFETY: per the caller.
    unsafe { mutex(m) }.map_or(libc::EINVAL, |m| unit(m.init(kind)))
}

/// `gpid_mutex_destroy(m)`.
///
/// # Safety
///
/// As [`gpid_mutex_init`].
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_destroy(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    unsafe { mutex(m) }.map_or(libc::EINVAL, |m| unit(m.destroy()))
}

/// `gpid_mutex_lock(m)`.
///
/// # Safety
///
/// `m` is null or a live mutex that stays mapped while locked.
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_lock(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    unsafe { lock_with(m, Deadline::Never) }
}

/// `gpid_mutex_trylock(m)`.
///
/// # Safety
///
/// As [`gpid_mutex_lock`].
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_trylock(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    unsafe { lock_with(m, Deadline::NoWait) }
}

/// `gpid_mutex_clocklock(m, clock, abstime)`: `CLOCK_REALTIME` or `CLOCK_MONOTONIC`.
///
/// # Safety
///
/// As [`gpid_mutex_lock`]; `abstime` is null or a live timespec.
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_clocklock(
    m: *mut RawMutex,
    clock: clockid_t,
    abstime: *const timespec,
) -> c_int {
    if clock != libc::CLOCK_REALTIME && clock != libc::CLOCK_MONOTONIC {
        return libc::EINVAL;
    }
    // SAFETY: per the caller.
    let Some(abs) = (unsafe { abstime.as_ref() }) else {
        return libc::EINVAL;
    };
    // SAFETY: per the caller.
    unsafe { lock_with(m, Deadline::At(clock, *abs)) }
}

/// `gpid_mutex_timedlock(m, abstime)`: absolute `CLOCK_REALTIME`, as
/// `pthread_mutex_timedlock`.
///
/// # Safety
///
/// As [`gpid_mutex_clocklock`].
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_timedlock(m: *mut RawMutex, abstime: *const timespec) -> c_int {
    // SAFETY: per the caller.
    unsafe { gpid_mutex_clocklock(m, libc::CLOCK_REALTIME, abstime) }
}

/// `gpid_mutex_unlock(m)`.
///
/// # Safety
///
/// As [`gpid_mutex_init`].
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_unlock(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    unsafe { mutex(m) }.map_or(libc::EINVAL, |m| unit(m.unlock()))
}

/// `gpid_mutex_consistent(m)`.
///
/// # Safety
///
/// As [`gpid_mutex_init`].
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_consistent(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    unsafe { mutex(m) }.map_or(libc::EINVAL, |m| unit(m.consistent()))
}

/// `gpid_mutex_owner_value(&owner)`: the value this thread writes as owner (its gpid).
///
/// # Safety
///
/// `owner` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex_owner_value(owner: *mut u32) -> c_int {
    // SAFETY: per the caller.
    let Some(out) = (unsafe { owner.as_mut() }) else {
        return libc::EINVAL;
    };
    match crate::owner_value() {
        Ok(v) => {
            *out = v;
            0
        }
        Err(e) => e,
    }
}

/// `gpid_mutex_vdso_unlock()`: 1 if unlock uses the kernel's robust-unlock support (the vDSO
/// exports `__vdso_futex_robust_list64_try_unlock`), else 0.
#[no_mangle]
pub extern "C" fn gpid_mutex_vdso_unlock() -> c_int {
    c_int::from(crate::robust_unlock_vdso())
}

/// `gpid_mutex_fork_child()`: forget the thread's identity after a raw `clone()`.
#[no_mangle]
pub extern "C" fn gpid_mutex_fork_child() {
    crate::forget_thread();
}

/// Test hook: `gpid_mutex__robust_head(&head)`.
///
/// # Safety
///
/// `head` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex__robust_head(head: *mut *mut c_void) -> c_int {
    // SAFETY: per the caller.
    let Some(out) = (unsafe { head.as_mut() }) else {
        return libc::EINVAL;
    };
    match crate::raw::robust_head() {
        Ok(h) => {
            *out = h as *mut c_void;
            0
        }
        Err(e) => e,
    }
}

/// Test hook: `list_op_pending = m` (null clears it).
///
/// # Safety
///
/// As [`gpid_mutex_init`].
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex__set_pending(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    unit(crate::raw::set_pending(unsafe { mutex(m) }))
}

/// Test hook: link `m` into this thread's robust list.
///
/// # Safety
///
/// `m` is live, not linked, and stays mapped while linked.
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex__enqueue(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    match unsafe { mutex(m) } {
        // SAFETY: per the caller.
        Some(m) => unit(unsafe { crate::raw::enqueue(m) }),
        None => libc::EINVAL,
    }
}

/// Test hook: unlink `m` from this thread's robust list.
///
/// # Safety
///
/// `m` is linked in this thread's list.
#[no_mangle]
pub unsafe extern "C" fn gpid_mutex__dequeue(m: *mut RawMutex) -> c_int {
    // SAFETY: per the caller.
    match unsafe { mutex(m) } {
        Some(m) => {
            // SAFETY: per the caller.
            unsafe { crate::raw::dequeue(m) };
            0
        }
        None => libc::EINVAL,
    }
}

/// Test hook: how this thread's last unlock freed the word (`GPID_MUTEX__UNLOCK_*`, the
/// values of [`crate::UnlockPath`]).
#[no_mangle]
pub extern "C" fn gpid_mutex__last_unlock_path() -> c_int {
    c_int::from(crate::raw::last_unlock_path() as u8)
}

/// Test hook: close the library's `/dev/gpid` (it pins the module); reopened when needed.
#[no_mangle]
pub extern "C" fn gpid_mutex__release_device() {
    crate::raw::release_device();
}
