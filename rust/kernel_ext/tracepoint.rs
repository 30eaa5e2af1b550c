// SPDX-License-Identifier: GPL-2.0

//! Core-kernel tracepoints by name: modules cannot link to a `__tracepoint_*` symbol the kernel
//! does not export, so the tracepoint is found with `for_each_kernel_tracepoint`. Typed probes
//! (`signal::SignalGenerateProbe`, `task_exit::TaskExitProbe`) are built on this.

use super::bindings;
use kernel::str::CStrExt as _;
use core::{ffi::c_void, pin::Pin};
use kernel::{
    alloc::{flags::GFP_KERNEL, KBox},
    error::to_result,
    prelude::*,
    str::CStr,
};

/// Whether the kernel has the tracepoint `name`.
pub(crate) fn exists(name: &CStr) -> bool {
    // SAFETY: walks the kernel's tracepoint table.
    !unsafe { bindings::gpid_find_tracepoint(name.as_char_ptr()) }.is_null()
}

/// A probe registered on a tracepoint with its data, for as long as this value lives.
///
/// # Invariants
///
/// `probe` is registered on `tp` with `data` until `drop`, which waits until no CPU runs it.
pub(crate) struct TracepointRegistration {
    tp: *mut bindings::tracepoint,
    probe: *mut c_void,
    data: *mut c_void,
}

// SAFETY: `tp` is a static kernel object; registration and unregistration may run on any thread.
unsafe impl Send for TracepointRegistration {}
// SAFETY: `&TracepointRegistration` gives access to nothing.
unsafe impl Sync for TracepointRegistration {}

impl TracepointRegistration {
    /// Registers `probe` with `data` on the tracepoint `name`. Sleeps.
    ///
    /// # Safety
    ///
    /// `probe` is an `extern "C"` function taking `data` followed by the tracepoint's
    /// `TP_PROTO` arguments; `data` stays valid until this value is dropped.
    pub(crate) unsafe fn new(name: &CStr, probe: *mut c_void, data: *mut c_void) -> Result<Self> {
        // SAFETY: walks the kernel's tracepoint table.
        let tp = unsafe { bindings::gpid_find_tracepoint(name.as_char_ptr()) };
        if tp.is_null() {
            return Err(ENOENT);
        }
        // SAFETY: `probe` matches the tracepoint's prototype and `data` outlives the
        // registration (the caller's contract); it is unregistered in `drop`.
        to_result(unsafe { bindings::tracepoint_probe_register(tp, probe, data) })?;
        Ok(Self { tp, probe, data })
    }
}

impl Drop for TracepointRegistration {
    fn drop(&mut self) {
        // SAFETY: registered with exactly these arguments (type invariant).
        unsafe { bindings::tracepoint_probe_unregister(self.tp, self.probe, self.data) };
        // SAFETY: waits until no CPU runs the probe any more, so `data` may go.
        unsafe { bindings::gpid_tracepoint_synchronize_unregister() };
    }
}

/// A handler registered on a tracepoint through a probe function that receives it as its data.
///
/// # Invariants
///
/// `_reg` registers a probe with the address of `*_handler` as its data; it is declared first,
/// so it is unregistered before `_handler` goes.
pub(crate) struct TracepointProbe<H: Send + Sync + 'static> {
    _reg: TracepointRegistration,
    _handler: Pin<KBox<H>>,
}

impl<H: Send + Sync + 'static> TracepointProbe<H> {
    /// Registers `probe` on the tracepoint `name` with `handler` as its data. Sleeps.
    ///
    /// # Safety
    ///
    /// `probe` is an `extern "C"` function taking a `*const H` followed by the tracepoint's
    /// `TP_PROTO` arguments.
    pub(crate) unsafe fn new(name: &CStr, handler: H, probe: *mut c_void) -> Result<Self> {
        let handler = KBox::pin(handler, GFP_KERNEL)?;
        let data: *const H = &*handler;
        // SAFETY: `probe` fits the tracepoint (the caller's contract); `data` is pinned and
        // outlives the registration (type invariant).
        let reg = unsafe { TracepointRegistration::new(name, probe, data as *mut c_void) }?;
        Ok(Self { _reg: reg, _handler: handler })
    }
}
