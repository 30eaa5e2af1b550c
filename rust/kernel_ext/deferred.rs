// SPDX-License-Identifier: GPL-2.0

//! Work that an NMI-like context (a kprobe handler) hands to process context: `kick()` queues
//! an irq_work (NMI-safe), whose handler schedules a work item on the system workqueue, which
//! runs [`DeferredHandler::run`] where sleeping is allowed.

use super::bindings;
use kernel::{alloc::flags::GFP_KERNEL, prelude::*, sync::Arc, types::Opaque};

/// What runs in process context.
pub(crate) trait DeferredHandler: Send + Sync + 'static {
    /// Runs on the system workqueue, or once more when the [`DeferredWork`] is dropped (in
    /// the dropping task, which must be process context); may sleep. Must do nothing harmful
    /// when there is nothing to do.
    fn run(&self);
}

/// An NMI-safe trigger for process-context work. On drop it waits until neither stage runs,
/// then runs the handler once more in the dropping context, so that work asked for and not
/// yet done (a work item cancelled while pending) is not lost.
///
/// # Invariants
///
/// `irq_work` and `work` are initialised with `irq_trampoline::<H>`/`work_trampoline::<H>`
/// and live in an `Arc` allocation until `drop` has synchronised both. The last reference
/// must not be dropped from `run` itself.
#[repr(C)]
pub(crate) struct DeferredWork<H: DeferredHandler> {
    irq_work: Opaque<bindings::irq_work>,
    work: Opaque<bindings::work_struct>,
    handler: H,
}

// SAFETY: the C parts are used only through their own synchronised APIs; `H: Send + Sync`.
unsafe impl<H: DeferredHandler> Send for DeferredWork<H> {}
// SAFETY: `kick` may be called from any context concurrently (irq_work_queue is).
unsafe impl<H: DeferredHandler> Sync for DeferredWork<H> {}

impl<H: DeferredHandler> DeferredWork<H> {
    pub(crate) fn new(handler: H) -> Result<Arc<Self>> {
        let this = Arc::new(
            Self {
                irq_work: Opaque::uninit(),
                work: Opaque::uninit(),
                handler,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: both structs are in the `Arc` allocation, which never moves, and not yet
        // shared with anyone.
        unsafe {
            bindings::gpid_init_irq_work(this.irq_work.get(), Some(irq_trampoline::<H>));
            bindings::gpid_init_work(this.work.get(), Some(work_trampoline::<H>));
        }
        Ok(this)
    }

    /// Asks for `run` soon. Safe in any context, NMI included; coalesces.
    pub(crate) fn kick(&self) {
        // SAFETY: `irq_work` is initialised and lives until `drop` syncs it.
        unsafe { bindings::irq_work_queue(self.irq_work.get()) };
    }

}

impl<H: DeferredHandler> Drop for DeferredWork<H> {
    fn drop(&mut self) {
        // SAFETY: both are initialised (type invariant). After `irq_work_sync` the irq stage
        // cannot run (the caller no longer kicks), so it cannot schedule the work again, and
        // `cancel_work_sync` waits for a running work item.
        unsafe {
            bindings::irq_work_sync(self.irq_work.get());
            bindings::cancel_work_sync(self.work.get());
        }
        // Neither stage can run any more: a cancelled pending item's work is done here.
        self.handler.run();
    }
}

/// # Safety
///
/// Called by the irq_work core with the `irq_work` of a live `DeferredWork<H>`.
unsafe extern "C" fn irq_trampoline<H: DeferredHandler>(irq_work: *mut bindings::irq_work) {
    // SAFETY: `irq_work` is the first field of a live `DeferredWork<H>` (`repr(C)`).
    let this = unsafe { &*(irq_work as *const DeferredWork<H>) };
    // SAFETY: `work` is initialised; scheduling from hardirq context is allowed.
    unsafe { bindings::gpid_schedule_work(this.work.get()) };
}

/// # Safety
///
/// Called by the workqueue with the `work_struct` of a live `DeferredWork<H>`.
unsafe extern "C" fn work_trampoline<H: DeferredHandler>(work: *mut bindings::work_struct) {
    let offset = core::mem::offset_of!(DeferredWork<H>, work);
    // SAFETY: `work` is the `work` field of a live `DeferredWork<H>`, `offset` bytes in.
    let this = unsafe { &*(work.cast::<u8>().sub(offset) as *const DeferredWork<H>) };
    this.handler.run();
}
