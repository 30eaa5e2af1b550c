// SPDX-License-Identifier: GPL-2.0

//! A spinlock taken with interrupts disabled (`spin_lock_irqsave`), in the shape of upstream's
//! `SpinLockIrq` (6.14+), as a backend of 6.12's `kernel::sync::Lock`.
//!
//! Needed for state shared with code that runs under another irq-safe lock (a tracepoint
//! probe under a task's siglock): a plain spinlock there could deadlock against an interrupt
//! that takes the outer lock while process context holds this one.

use super::bindings;
use kernel::sync::lock::{Backend, Lock};

/// A `spinlock_t` always taken with interrupts off.
pub(crate) type IrqSpinLock<T> = Lock<T, IrqSpinLockBackend>;

/// The backend of [`IrqSpinLock`].
pub(crate) struct IrqSpinLockBackend;

// SAFETY: `spinlock_t` ensures mutual exclusion; `lock` saves the interrupt state that `unlock`
// restores, and `relock` uses the default implementation, which calls `lock` again.
unsafe impl Backend for IrqSpinLockBackend {
    type State = kernel::bindings::spinlock_t;
    type GuardState = kernel::ffi::c_ulong;

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: the caller passes a writable `ptr` and `name`/`key` that live forever.
        unsafe { kernel::bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` was initialised by `init` (caller's guarantee); the two bindings name
        // the same C type.
        unsafe { bindings::gpid_spin_lock_irqsave(ptr.cast()) }
    }

    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: the caller owns the lock, taken by `lock`, which returned `guard_state`.
        unsafe { bindings::gpid_spin_unlock_irqrestore(ptr.cast(), *guard_state) }
    }
}
