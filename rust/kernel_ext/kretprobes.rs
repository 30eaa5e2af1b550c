// SPDX-License-Identifier: GPL-2.0

//! Kretprobes: observe a kernel function's arguments at entry and its result at return.
//!
//! The entry handler runs in the NMI-like context of a kprobe and may only copy what it needs
//! (the `Data` it returns is stored in the per-call instance). The return handler runs when
//! the function returns, in the caller's context with preemption disabled: it may take
//! spinlocks and allocate with `GFP_ATOMIC`, but not sleep.

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

/// The registers of a probed call (x86_64 calling convention).
#[repr(transparent)]
pub(crate) struct Regs(bindings::pt_regs);

impl Regs {
    /// Integer argument `n` (0-based, at most 4).
    pub(crate) fn arg(&self, n: usize) -> u64 {
        let raw: usize = match n {
            0 => self.0.di,
            1 => self.0.si,
            2 => self.0.dx,
            3 => self.0.cx,
            4 => self.0.r8,
            _ => 0,
        };
        raw as u64
    }
}

/// What a kretprobe does.
pub(crate) trait KretprobeHandler: Send + Sync + 'static {
    /// Saved from entry to return; plain data.
    type Data: Copy + Send;

    /// At entry (NMI-like context): what to keep for the return, or `None` to ignore this call.
    fn entry(regs: &Regs) -> Option<Self::Data>;

    /// At return, with the data `entry` kept.
    fn ret(&self, data: Self::Data, regs: &Regs);
}

/// A kretprobe on a kernel symbol, registered for as long as this value lives.
///
/// # Invariants
///
/// `rp` is registered with `handler`/`entry_handler` = the trampolines for `H` and a
/// `data_size` of `size_of::<H::Data>()`, until `drop`; `rp` is the first field.
#[repr(C)]
pub(crate) struct KretprobeRegistration<H: KretprobeHandler> {
    rp: Opaque<bindings::kretprobe>,
    handler: H,
}

// SAFETY: the kprobes core serialises (un)registration; `H` is `Send + Sync`.
unsafe impl<H: KretprobeHandler> Send for KretprobeRegistration<H> {}
// SAFETY: `&KretprobeRegistration` gives no access to the C state.
unsafe impl<H: KretprobeHandler> Sync for KretprobeRegistration<H> {}

impl<H: KretprobeHandler> KretprobeRegistration<H> {
    /// Probes `symbol`, with up to `maxactive` calls in flight. Sleeps.
    pub(crate) fn new(symbol: &'static CStr, maxactive: i32, handler: H) -> Result<Pin<KBox<Self>>> {
        let reg = KBox::pin(
            Self {
                rp: Opaque::uninit(),
                handler,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `rp` is in the pinned allocation and not yet shared; zero plus these fields is
        // what `register_kretprobe` expects.
        unsafe {
            let mut rp: bindings::kretprobe = core::mem::zeroed();
            rp.kp.symbol_name = symbol.as_char_ptr();
            rp.handler = Some(ret_trampoline::<H>);
            rp.entry_handler = Some(entry_trampoline::<H>);
            rp.maxactive = maxactive;
            rp.data_size = core::mem::size_of::<H::Data>();
            reg.rp.get().write(rp);
        }
        // SAFETY: initialised and pinned; stays registered until `drop` (type invariant).
        to_result(unsafe { bindings::register_kretprobe(reg.rp.get()) })?;
        Ok(reg)
    }
}

impl<H: KretprobeHandler> Drop for KretprobeRegistration<H> {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); `unregister_kretprobe` waits for handlers and
        // pending instances.
        unsafe { bindings::unregister_kretprobe(self.rp.get()) };
    }
}

/// The instance's `data` area, sized and aligned for `H::Data` by the core (`data_size`).
///
/// # Safety
///
/// `ri` is a live instance of a kretprobe registered by `KretprobeRegistration<H>`.
unsafe fn instance_data<H: KretprobeHandler>(ri: *mut bindings::kretprobe_instance) -> *mut H::Data {
    // SAFETY: `data` is the flexible array at the end of the instance, `data_size` bytes long.
    unsafe { core::ptr::addr_of_mut!((*ri).data).cast() }
}

/// # Safety
///
/// Called by the kprobes core for a kretprobe of a live `KretprobeRegistration<H>`.
unsafe extern "C" fn entry_trampoline<H: KretprobeHandler>(
    ri: *mut bindings::kretprobe_instance,
    regs: *mut bindings::pt_regs,
) -> c_int {
    // SAFETY: `regs` is valid for the duration of the call.
    let regs = unsafe { &*(regs as *const Regs) };
    match H::entry(regs) {
        Some(data) => {
            // SAFETY: the instance has `size_of::<H::Data>()` bytes of data (invariant); the
            // flexible array is 8-aligned on x86_64 and `H::Data` is plain data.
            unsafe { instance_data::<H>(ri).write_unaligned(data) };
            0
        }
        // Non-zero: the core drops this instance and skips the return handler.
        None => 1,
    }
}

/// # Safety
///
/// Called by the kprobes core for a kretprobe of a live `KretprobeRegistration<H>`, for an
/// instance whose entry handler returned 0.
unsafe extern "C" fn ret_trampoline<H: KretprobeHandler>(
    ri: *mut bindings::kretprobe_instance,
    regs: *mut bindings::pt_regs,
) -> c_int {
    // SAFETY: `ri` is a live instance of our kretprobe; `get_kretprobe` (a static inline,
    // hence the helper) leads back to its `struct kretprobe`.
    let rp = unsafe { bindings::gpid_kretprobe_of(ri) };
    // SAFETY: `rp` is the first field of a live `KretprobeRegistration<H>` (invariant).
    let reg = unsafe { &*(rp as *const KretprobeRegistration<H>) };
    // SAFETY: the entry handler stored an `H::Data` there (it returned 0).
    let data = unsafe { instance_data::<H>(ri).read_unaligned() };
    // SAFETY: `regs` is valid for the duration of the call.
    let regs = unsafe { &*(regs as *const Regs) };
    reg.handler.ret(data, regs);
    0
}
