// SPDX-License-Identifier: GPL-2.0

//! Signals: the `signal_generate` tracepoint, the queued siginfo its probe may amend, and the
//! exported paths that queue a signal (6.12 has no Rust abstraction for any of it).
//!
//! `signal_generate` fires at the end of `__send_signal_locked()`, in the sender's context,
//! with the target's siglock held (interrupts off), after the signal was queued. A probe that
//! changes the queued entry there does so before any receiver can dequeue it: dequeueing takes
//! the same lock. The probe runs for every signal in the system: it must not sleep, allocate,
//! or take a lock that process context takes with interrupts on.
//!
//! All siginfo and task fields are read through `rust/helpers.c`.

use super::{
    bindings,
    pid::Pid,
    tracepoint::{self, TracepointProbe},
};
use core::{ffi::c_void, marker::PhantomData};
use kernel::{
    c_str,
    error::to_result,
    ffi::c_int,
    prelude::*,
};

/// `SIGKILL`, `SIGSTOP`, and `_NSIG` (the largest signal number).
pub(crate) const SIGKILL: i32 = bindings::SIGKILL as i32;
pub(crate) const SIGSTOP: i32 = bindings::SIGSTOP as i32;
pub(crate) const NSIG: i32 = bindings::_NSIG as i32;

/// What a `signal_generate` probe does.
pub(crate) trait SignalHandler: Send + Sync + 'static {
    /// The state of one send made with [`send_group`] or [`send_thread`] for this handler.
    type Request;

    /// Called for every signal generated in task context (not by an interrupt). `req` is the
    /// request of the send the event belongs to, when it was made with [`send_group`] or
    /// [`send_thread`] for `Self`.
    fn generated(&self, ev: &Generated<'_>, req: Option<&Self::Request>);
}

/// One `signal_generate` event, valid for the duration of the probe call.
///
/// # Invariants
///
/// `t` is the target task, whose siglock is held; `info` is the siginfo that was sent (possibly
/// `SEND_SIG_NOINFO` or `SEND_SIG_PRIV`); the current task is the sender.
pub(crate) struct Generated<'a> {
    sig: c_int,
    info: *mut bindings::kernel_siginfo,
    t: *mut bindings::task_struct,
    group: bool,
    result: c_int,
    _event: PhantomData<&'a ()>,
}

/// `TRACE_SIGNAL_DELIVERED` (include/trace/events/signal.h): the signal was queued.
const TRACE_SIGNAL_DELIVERED: c_int = 0;

impl Generated<'_> {
    pub(crate) fn sig(&self) -> i32 {
        self.sig
    }

    /// Whether the signal was queued or otherwise took effect (not ignored, not already
    /// pending, not refused for a full queue, not delivered without its info).
    pub(crate) fn delivered(&self) -> bool {
        self.result == TRACE_SIGNAL_DELIVERED
    }

    /// The entry this event queued, while it is still an unchanged copy of what was sent.
    pub(crate) fn queued(&self) -> Option<Queued<'_>> {
        // SAFETY: `info` is what the kernel sent (type invariant).
        if !self.delivered() || unsafe { bindings::gpid_siginfo_is_special(self.info) } {
            return None;
        }
        // SIGKILL and signals to kernel threads are never queued with their info.
        // SAFETY: `t` is alive (type invariant).
        if self.sig == SIGKILL || unsafe { bindings::gpid_task_is_kthread(self.t) }
        {
            return None;
        }
        // SAFETY: the target's siglock is held and `info` is a real siginfo (checked above).
        let q = unsafe { bindings::gpid_queued_siginfo(self.t, self.group, self.info) };
        (!q.is_null()).then_some(Queued {
            info: q,
            t: self.t,
            _event: PhantomData,
        })
    }
}

/// A queued siginfo, changeable until the probe returns.
///
/// # Invariants
///
/// `info` is the siginfo of an entry on `t`'s pending queue, and `t`'s siglock is held.
pub(crate) struct Queued<'a> {
    info: *mut bindings::kernel_siginfo,
    t: *mut bindings::task_struct,
    _event: PhantomData<&'a ()>,
}

impl Queued<'_> {
    /// Makes the entry what `sigqueue(3)` from the current task would have queued, with
    /// `value`: `SI_QUEUE`, `si_pid` the sender's TGID in the target's namespace (0 when
    /// invisible), `si_uid` its real UID in the target's user namespace.
    pub(crate) fn make_sigqueue(&mut self, value: u64) {
        // SAFETY: as in `set_pid`; `t` is alive.
        unsafe { bindings::gpid_siginfo_make_queue(self.info, self.t, value) }
    }
}

/// Whether the kernel has the `signal_generate` tracepoint (`CONFIG_TRACEPOINTS`).
pub(crate) fn tracepoint_available() -> bool {
    tracepoint::exists(c_str!("signal_generate"))
}

/// A probe on the `signal_generate` tracepoint, registered for as long as this value lives.
pub(crate) struct SignalGenerateProbe<H: SignalHandler> {
    _probe: TracepointProbe<H>,
}

impl<H: SignalHandler> SignalGenerateProbe<H> {
    /// Registers `handler`. Sleeps.
    pub(crate) fn new(handler: H) -> Result<Self> {
        // SAFETY: `probe::<H>` takes the handler, then `TP_PROTO` of signal_generate: `int sig,
        // struct kernel_siginfo *info, struct task_struct *task, int group, int result`.
        let p = unsafe { TracepointProbe::new(c_str!("signal_generate"), handler, probe::<H> as *mut c_void) };
        Ok(Self { _probe: p? })
    }
}

/// The tag that ties a send slot to `H`'s request type.
fn tag<H: SignalHandler>() -> *const c_void {
    probe::<H> as *const c_void
}

/// # Safety
///
/// Called by the tracepoint core with the data of a live `SignalGenerateProbe<H>`, in the
/// sender's context with `t`'s siglock held.
unsafe extern "C" fn probe<H: SignalHandler>(
    data: *mut c_void,
    sig: c_int,
    info: *mut bindings::kernel_siginfo,
    t: *mut bindings::task_struct,
    group: c_int,
    result: c_int,
) {
    // SAFETY: `data` is the handler of a live `SignalGenerateProbe<H>`, which is not dropped
    // before the tracepoint core stops calling this (type invariant).
    let handler = unsafe { &*(data as *const H) };
    // SAFETY: reads the preempt count of this CPU.
    if !unsafe { bindings::gpid_in_task() } {
        return;
    }
    // INVARIANT: the tracepoint's contract.
    let ev = Generated {
        sig,
        info,
        t,
        group: group != 0,
        result,
        _event: PhantomData,
    };
    // SAFETY: the slot, if any, was set by `send_group`/`send_thread` on this CPU with
    // preemption disabled, and we run in task context: we are inside that send, in the
    // sending task, and the slot and its request outlive this call.
    let slot = unsafe { bindings::gpid_current_send_slot().as_ref() };
    let req = slot.filter(|s| s.tag == tag::<H>() && s.sig == sig).filter(|s| {
        // The event is the send's own: the group path queues SI_ASYNCIO carrying the
        // send's token, the thread path SI_QUEUE to one thread.
        // SAFETY: `info` is a real siginfo when not special.
        unsafe {
            !bindings::gpid_siginfo_is_special(info)
                && if s.group != 0 {
                    group != 0
                        && bindings::gpid_siginfo_code(info) == bindings::SI_ASYNCIO
                        && bindings::gpid_siginfo_token(info) == s.token
                } else {
                    group == 0 && bindings::gpid_siginfo_code(info) == bindings::SI_QUEUE
                }
        }
    });
    // SAFETY: `cookie` is the `&H::Request` the send was made with (same `H`: the tag
    // matches), alive for the whole send.
    let req = req.map(|s| unsafe { &*s.cookie.cast::<H::Request>() });
    handler.generated(&ev, req);
}

/// How [`kill_permission`] allowed a send.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillPermission {
    /// The sender's UIDs match the target's (what `kill_pid_usb_asyncio` checks).
    ByUid,
    /// Another rule of kill(2): same thread group, `CAP_KILL`, `SIGCONT` in the session.
    ByPrivilege,
}

/// kill(2)'s permission rules (`check_kill_permission` without audit and LSM) for the task
/// `pid` names: `ESRCH` without one, `EPERM` when denied.
pub(crate) fn kill_permission(pid: &Pid, sig: i32) -> Result<KillPermission> {
    // SAFETY: `pid` is live; the helper looks its task up under RCU.
    let r = unsafe { bindings::gpid_kill_permission(pid.as_ptr(), sig) };
    match r {
        r if r == bindings::GPID_KILL_BY_UID as c_int => Ok(KillPermission::ByUid),
        r if r == bindings::GPID_KILL_BY_PRIVILEGE as c_int => Ok(KillPermission::ByPrivilege),
        r => Err(Error::from_errno(r)),
    }
}

/// kill(2)'s own path (`kill_pid`): permission with audit and LSM, namespace-init protection,
/// `SI_USER` with the sender's TGID in the receiver's namespace.
pub(crate) fn kill_pid(pid: &Pid, sig: i32) -> Result {
    // SAFETY: `pid` is live.
    to_result(unsafe { bindings::gpid_kill_pid(pid.as_ptr(), sig) })
}

/// Whether the kernel is built with LSM support (a hook gpid cannot call might deny signals).
pub(crate) fn security_enabled() -> bool {
    // SAFETY: a constant.
    unsafe { bindings::gpid_security_enabled() }
}

/// Queues `sig` to the process of the task `pid` names, as `sigqueue(3)`, after the caller
/// checked [`kill_permission`] (`by`). The queued entry reaches `H`'s probe as its own send
/// (`req`), with the kernel's own `si_pid`/`si_uid` not yet filled in: the probe must call
/// [`Queued::make_sigqueue`] on it. `token` must be unique among sends in flight.
pub(crate) fn send_group<H: SignalHandler>(
    sig: i32,
    pid: &Pid,
    by: KillPermission,
    token: u64,
    req: &H::Request,
) -> Result {
    let cred = match by {
        KillPermission::ByUid => core::ptr::null(),
        KillPermission::ByPrivilege => {
            // SAFETY: `pid` is live.
            let cred = unsafe { bindings::gpid_cred_with_uid_of(pid.as_ptr()) };
            if cred.is_null() {
                return Err(ESRCH);
            }
            cred
        }
    };
    let slot = bindings::gpid_send_slot {
        tag: tag::<H>(),
        cookie: core::ptr::from_ref::<H::Request>(req).cast(),
        token,
        sig,
        group: 1,
    };
    // SAFETY: `pid` is live; `cred` is null or ours; `slot` and `req` outlive the call.
    let r = unsafe { bindings::gpid_send_group(sig, pid.as_ptr(), cred, token, &slot) };
    if !cred.is_null() {
        // SAFETY: the reference `gpid_cred_with_uid_of` gave us.
        unsafe { bindings::gpid_put_cred(cred) };
    }
    to_result(r)
}

/// Queues `sig` with `value` to the thread `pid` names, as `rt_tgsigqueueinfo(2)` after its
/// permission check (which the caller made). `H`'s probe sees it as its own send (`req`).
pub(crate) fn send_thread<H: SignalHandler>(
    sig: i32,
    pid: &Pid,
    value: u64,
    req: &H::Request,
) -> Result {
    let slot = bindings::gpid_send_slot {
        tag: tag::<H>(),
        cookie: core::ptr::from_ref::<H::Request>(req).cast(),
        token: 0,
        sig,
        group: 0,
    };
    // SAFETY: `pid` is live; `slot` and `req` outlive the call.
    to_result(unsafe { bindings::gpid_send_thread(sig, pid.as_ptr(), value, &slot) })
}
