// SPDX-License-Identifier: GPL-2.0

//! The calling task's user memory, accessed without faulting: what a probe handler in atomic
//! context may do. A page that is not present in the task's page tables reads as a fault.

use super::bindings;
use crate::gpid_core::robust::{Fault, UserMem};

/// The current task's address space, without page faults.
pub(crate) struct CurrentMemNofault;

impl CurrentMemNofault {
    fn read<const N: usize>(addr: usize) -> Result<[u8; N], Fault> {
        let mut buf = [0u8; N];
        // SAFETY: `buf` is valid for `N` bytes; `copy_from_user_nofault` checks that `addr`
        // is a user address and never faults (it returns non-zero instead).
        let ret = unsafe {
            bindings::copy_from_user_nofault(buf.as_mut_ptr().cast(), addr as *const _, N)
        };
        if ret == 0 {
            Ok(buf)
        } else {
            Err(Fault)
        }
    }
}

impl UserMem for CurrentMemNofault {
    fn read_usize(&mut self, addr: usize) -> Result<usize, Fault> {
        Self::read::<{ core::mem::size_of::<usize>() }>(addr).map(usize::from_ne_bytes)
    }

    fn read_u32(&mut self, addr: usize) -> Result<u32, Fault> {
        Self::read::<4>(addr).map(u32::from_ne_bytes)
    }

    fn cmpxchg_u32(&mut self, addr: usize, old: u32, new: u32) -> Result<u32, Fault> {
        let mut found = 0u32;
        // SAFETY: `found` is a valid out pointer; the helper checks the user address and runs
        // the futex cmpxchg with page faults disabled.
        let ret = unsafe { bindings::gpid_futex_cmpxchg_nofault(addr as *mut u32, old, new, &mut found) };
        if ret == 0 {
            Ok(found)
        } else {
            Err(Fault)
        }
    }
}

/// The calling thread's registered robust list head (`set_robust_list`), 0 when none.
pub(crate) fn current_robust_list() -> usize {
    // SAFETY: reads a field of the current task, which is alive.
    unsafe { bindings::gpid_current_robust_list() as usize }
}

/// The calling thread's TID in its own namespace (`task_pid_vnr(current)`).
pub(crate) fn current_vtid() -> i32 {
    // SAFETY: no preconditions; safe in atomic context.
    unsafe { bindings::gpid_current_vtid() }
}

/// The address of the calling task's `task_struct`: a key for per-thread records.
pub(crate) fn current_task_key() -> usize {
    // SAFETY: `current` is always valid.
    unsafe { bindings::gpid_current() as usize }
}
