// SPDX-License-Identifier: GPL-2.0

//! Address spaces kept after their task is gone, and user memory accessed through them with
//! page faults allowed (process context only).

use super::bindings;
use crate::gpid_core::robust::{Fault, UserMem};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicU32, Ordering},
};

/// A counted reference (`mm_users`) to an address space.
///
/// # Invariants
///
/// `mm` holds one `mm_users` reference, dropped (with `mmput`, which may sleep) on drop.
pub(crate) struct MmRef {
    mm: NonNull<bindings::mm_struct>,
}

// SAFETY: an mm reference may be released from any process-context thread.
unsafe impl Send for MmRef {}

impl MmRef {
    /// The current task's address space. Safe in NMI-like context (an atomic increment); the
    /// value must be dropped in process context.
    pub(crate) fn current() -> Option<Self> {
        // SAFETY: no preconditions.
        let mm = unsafe { bindings::gpid_current_mm_get() };
        NonNull::new(mm).map(|mm| Self { mm })
    }

    /// Runs `f` on the kernel mapping of the page holding `addr` (faulted in for writing only
    /// when `write`), with `addr`'s offset in it; `f` returns whether it wrote, which it may
    /// only do when `write`. Sleeps.
    fn with_page<R>(
        &self,
        addr: usize,
        write: bool,
        f: impl FnOnce(*mut u8, usize) -> (R, bool),
    ) -> Result<R, Fault> {
        let mut page: *mut bindings::page = core::ptr::null_mut();
        // SAFETY: `mm` is a live reference (type invariant); `page` is a valid out pointer.
        let kaddr = unsafe { bindings::gpid_user_page_map(self.mm.as_ptr(), addr as kernel::ffi::c_ulong, write, &mut page) };
        if kaddr.is_null() {
            return Err(Fault);
        }
        let room = PAGE_SIZE - (addr & (PAGE_SIZE - 1));
        let (result, dirty) = f(kaddr.cast(), room);
        let dirty = dirty && write;
        // SAFETY: `kaddr`/`page` came from `gpid_user_page_map` above and are released once.
        unsafe { bindings::gpid_user_page_unmap(kaddr, page, dirty) };
        Ok(result)
    }

    fn read_bytes<const N: usize>(&self, addr: usize) -> Result<[u8; N], Fault> {
        let mut out = [0u8; N];
        let mut done = 0;
        while done < N {
            let at = addr.checked_add(done).ok_or(Fault)?;
            let n = self.with_page(at, false, |src, room| {
                let n = room.min(N - done);
                // SAFETY: `src` maps at least `room` readable bytes of the page, `n <= room`,
                // and `out[done..done + n]` is in bounds.
                unsafe { core::ptr::copy_nonoverlapping(src, out.as_mut_ptr().add(done), n) };
                (n, false)
            })?;
            done += n;
        }
        Ok(out)
    }
}

const PAGE_SIZE: usize = 4096;

impl UserMem for MmRef {
    fn read_usize(&mut self, addr: usize) -> Result<usize, Fault> {
        self.read_bytes::<{ core::mem::size_of::<usize>() }>(addr).map(usize::from_ne_bytes)
    }

    fn read_u32(&mut self, addr: usize) -> Result<u32, Fault> {
        self.read_bytes::<4>(addr).map(u32::from_ne_bytes)
    }

    fn cmpxchg_u32(&mut self, addr: usize, old: u32, new: u32) -> Result<u32, Fault> {
        if addr % 4 != 0 {
            return Err(Fault);
        }
        self.with_page(addr, true, |word, _| {
            // SAFETY: `word` is 4-byte aligned and maps 4 bytes of the pinned page, which user
            // space accesses atomically too: an atomic access is the right one.
            let atomic = unsafe { AtomicU32::from_ptr(word.cast()) };
            match atomic.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(found) => (found, true),
                Err(found) => (found, false),
            }
        })
    }
}

impl Drop for MmRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference (type invariant), released exactly once here.
        unsafe { bindings::mmput(self.mm.as_ptr()) };
    }
}
