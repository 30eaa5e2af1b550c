// SPDX-License-Identifier: GPL-2.0

//! Kprobes (6.12 has no Rust abstraction; this follows the shape of the misc device one).
//!
//! A handler runs in the probed task, in an atomic context that is NMI-like for int3 probes:
//! it must not sleep, take locks shared with process context, or allocate. The trait method
//! is safe to implement, but implementations must keep to that.

use super::bindings;
use kernel::str::CStrExt as _;
use core::pin::Pin;
use kernel::{
    alloc::{flags::GFP_KERNEL, KBox},
    error::to_result,
    ffi::c_int,
    prelude::*,
    str::CStr,
    types::Opaque,
};

/// What a probe does when it fires.
pub(crate) trait KprobeHandler: Send + Sync + 'static {
    /// Called in the probed task before the probed instruction runs.
    fn pre_handler(&self);
}

/// A kprobe on a kernel symbol, registered for as long as this value lives.
///
/// # Invariants
///
/// `kp` is registered with the kprobes core, with `pre_handler` = `pre_handler::<H>`, until
/// `drop`; `kp` is the first field, so the `struct kprobe *` the core hands to the handler
/// points to the whole registration.
#[repr(C)]
pub(crate) struct KprobeRegistration<H: KprobeHandler> {
    kp: Opaque<bindings::kprobe>,
    handler: H,
}

// SAFETY: the kprobes core serialises (un)registration; `H` is `Send + Sync`.
unsafe impl<H: KprobeHandler> Send for KprobeRegistration<H> {}
// SAFETY: `&KprobeRegistration` gives no access to the C state.
unsafe impl<H: KprobeHandler> Sync for KprobeRegistration<H> {}

impl<H: KprobeHandler> KprobeRegistration<H> {
    /// Probes `symbol` with `handler`. Sleeps (process context only).
    pub(crate) fn new(symbol: &'static CStr, handler: H) -> Result<Pin<KBox<Self>>> {
        let reg = KBox::pin(
            Self {
                kp: Opaque::uninit(),
                handler,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `kp` is in the pinned allocation above, not yet shared; an all-zero
        // `struct kprobe` plus the fields set here is what `register_kprobe` expects.
        unsafe {
            let mut kp: bindings::kprobe = core::mem::zeroed();
            kp.symbol_name = symbol.as_char_ptr();
            kp.pre_handler = Some(pre_handler::<H>);
            reg.kp.get().write(kp);
        }
        // SAFETY: `kp` is initialised and pinned; on success it stays registered until `drop`
        // (type invariant), and `handler` lives as long.
        to_result(unsafe { bindings::register_kprobe(reg.kp.get()) })?;
        Ok(reg)
    }
}

impl<H: KprobeHandler> Drop for KprobeRegistration<H> {
    fn drop(&mut self) {
        // SAFETY: `kp` is registered (type invariant). `unregister_kprobe` waits until no
        // handler runs any more, so `handler` may be dropped afterwards.
        unsafe { bindings::unregister_kprobe(self.kp.get()) };
    }
}

/// # Safety
///
/// Called by the kprobes core with the `struct kprobe` of a live `KprobeRegistration<H>`.
unsafe extern "C" fn pre_handler<H: KprobeHandler>(
    kp: *mut bindings::kprobe,
    _regs: *mut bindings::pt_regs,
) -> c_int {
    // SAFETY: `kp` is the first field of a registered `KprobeRegistration<H>` (type
    // invariant), which cannot be dropped while a handler runs.
    let reg = unsafe { &*(kp as *const KprobeRegistration<H>) };
    reg.handler.pre_handler();
    // 0: let the probed instruction run as usual.
    0
}

/// Monotonic nanoseconds, readable in a probe handler: `ktime_get_mono_fast_ns()`, the
/// NMI-safe clock (`ktime_get()` takes the timekeeper's seqcount, which a handler that
/// interrupted its writer would wait on forever; lockdep says so).
pub(crate) fn handler_clock_ns() -> u64 {
    // SAFETY: callable from any context, NMI included.
    unsafe { bindings::ktime_get_mono_fast_ns() }
}
