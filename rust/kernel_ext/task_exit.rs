// SPDX-License-Identifier: GPL-2.0

//! The `sched_process_exit` tracepoint: `do_exit()` fires it in the exiting task itself, after
//! `exit_mm()` and before the task leaves its namespaces or releases its pids, with preemption
//! disabled. It fires for every exiting thread in the system, so a probe must be cheap in the
//! common case and must not sleep.

use super::{bindings, pid::Pid, tracepoint::TracepointProbe};
use core::{ffi::c_void, marker::PhantomData};
use kernel::{c_str, prelude::*};

/// What a `sched_process_exit` probe does.
pub(crate) trait TaskExitHandler: Send + Sync + 'static {
    /// Called in every exiting thread.
    fn exiting(&self, task: &ExitingTask<'_>);
}

/// The exiting thread, inside a `sched_process_exit` probe.
///
/// # Invariants
///
/// Only exists during the probe, in the exiting task, which is `current`.
pub(crate) struct ExitingTask<'a>(PhantomData<&'a *mut ()>);

impl ExitingTask<'_> {
    /// The thread's own pid when the thread is not its group's leader and something besides
    /// the thread holds a reference to that pid; `None` otherwise (the common case).
    pub(crate) fn held_thread_pid(&self) -> Option<&Pid> {
        // SAFETY: `current` is the exiting task (type invariant); its pid stays attached to it
        // until `release_task()`, long after this probe returns.
        let pid = unsafe { bindings::gpid_exiting_thread_held_pid() };
        // SAFETY: as above, the pid outlives `&self`.
        (!pid.is_null()).then(|| unsafe { Pid::from_ptr(pid) })
    }
}

/// A probe on `sched_process_exit`, registered for as long as this value lives.
pub(crate) struct TaskExitProbe<H: TaskExitHandler> {
    _probe: TracepointProbe<H>,
}

impl<H: TaskExitHandler> TaskExitProbe<H> {
    /// Registers `handler`. Sleeps.
    pub(crate) fn new(handler: H) -> Result<Self> {
        // SAFETY: `probe::<H>` takes the handler, then `TP_PROTO` of sched_process_exit:
        // `struct task_struct *p`.
        let p = unsafe { TracepointProbe::new(c_str!("sched_process_exit"), handler, probe::<H> as *mut c_void) };
        Ok(Self { _probe: p? })
    }
}

/// # Safety
///
/// Called by the tracepoint core with the handler of a live `TaskExitProbe<H>`, in `do_exit()`
/// of the exiting task.
unsafe extern "C" fn probe<H: TaskExitHandler>(data: *mut c_void, _task: *mut bindings::task_struct) {
    // SAFETY: `data` is the handler of a live `TracepointProbe<H>`, which is not dropped
    // before the tracepoint core stops calling this (its type invariant).
    let handler = unsafe { &*(data as *const H) };
    // INVARIANT: `sched_process_exit` fires in the exiting task (`_task == current`).
    handler.exiting(&ExitingTask(PhantomData));
}
