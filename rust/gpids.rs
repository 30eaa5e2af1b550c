// SPDX-License-Identifier: GPL-2.0

//! Global PIDs: canonical gpids, decoding in a viewer's namespace, and the visibility rule.
//!
//! The rule that keeps PID namespaces isolating: a gpid names a task only for a viewer that
//! can see both the task and the namespace the gpid is qualified with (the viewer's own
//! namespace or a descendant of it). For any other viewer it resolves exactly like a gpid of
//! no task: `ESRCH`, through the same lookups, so the answer is no oracle.

use crate::gpid_core::encoding::{Encoding, EncodingError};
use crate::kernel_ext::{
    pid::{Pid, PidType},
    pid_namespace::{Capability, PidNamespace},
    rcu,
};
use crate::registry::{NsEntry, Reclaimed, Registry};
use crate::msq::Msq;
use crate::quota::Quotas;
use crate::robust::{Robust, MAX_THREADS};
use crate::signals::Signals;
use kernel::{new_spinlock, prelude::*, sync::aref::ARef, sync::Arc, sync::SpinLock};

fn reclaimed_batch() -> usize {
    core::mem::size_of::<Reclaimed>() / core::mem::size_of::<Option<NsEntry>>()
}

/// What `GPID_IOC_NS_INFO` reports.
pub(crate) struct NsInfo {
    pub(crate) nsid: u32,
    pub(crate) level: u32,
    pub(crate) parent_nsid: u32,
    pub(crate) ino: u32,
    pub(crate) generation: u32,
    pub(crate) export: bool,
    pub(crate) live: bool,
}

/// What `GPID_IOC_NS_SET` changes.
pub(crate) struct NsSet {
    pub(crate) nsid: Option<u32>,
    pub(crate) export: Option<bool>,
}

/// The global-PID state of the module.
#[pin_data]
pub(crate) struct Gpids {
    /// The split of a gpid into nsid and PID bits. Immutable after init.
    pub(crate) encoding: Encoding,
    /// The namespace registry. A spinlock, not a mutex: lookups must also work in the atomic
    /// contexts of later hooks. Nothing that can sleep or free a namespace runs under it.
    #[pin]
    registry: SpinLock<Registry>,
    /// Robust futexes: registered threads and the exit-time probes.
    #[pin]
    pub(crate) robust: Robust,
    /// SysV message queue parties.
    pub(crate) msq: Msq,
    /// Signals: the sigqueue ioctl, sender records, the transparent si_pid fix.
    #[pin]
    pub(crate) signals: Signals,
    /// Per-user shares of the nsids and thread slots; shared with the registry and the exit
    /// hook.
    pub(crate) quotas: Arc<Quotas>,
}

pub(crate) fn encoding_errno(e: EncodingError) -> Error {
    match e {
        EncodingError::Overflow => EOVERFLOW,
        EncodingError::Invalid | EncodingError::BadPidBits => EINVAL,
    }
}

impl Gpids {
    /// The state for `encoding`, with an empty registry.
    pub(crate) fn new(encoding: Encoding) -> Result<impl PinInit<Self>> {
        let nsids = usize::try_from(encoding.max_nsid()).map_err(|_| EINVAL)?;
        let quotas = Arc::pin_init(Quotas::new(nsids, MAX_THREADS)?, GFP_KERNEL)?;
        let registry = Registry::new(encoding.max_nsid(), quotas.clone())?;
        let robust = Robust::new(quotas.clone())?;
        let msq = Msq::new()?;
        let signals = Signals::new()?;
        Ok(pin_init!(Self {
            encoding,
            registry <- new_spinlock!(registry, "gpid_registry"),
            robust <- robust,
            msq,
            signals <- signals,
            quotas,
        }))
    }

    /// The nsid of `ns`, binding one if it has none yet (reclaiming dead namespaces when the
    /// table is full or the namespace's owner holds its share: `ENOSPC`, `EDQUOT` when that
    /// finds none).
    pub(crate) fn nsid(&self, ns: &PidNamespace) -> Result<(u32, u32)> {
        loop {
            let mut registry = self.registry.lock();
            if let Some(bound) = registry.nsid_of(ns) {
                return Ok(bound);
            }
            match registry.bind(ns) {
                Err(e) if e == ENOSPC || e == EDQUOT => {
                    drop(registry);
                    if !self.reclaim_all_dead() {
                        return Err(e);
                    }
                }
                bound => return bound,
            }
        }
    }

    /// Unbinds every dead namespace, a batch at a time, dropping their references with the
    /// lock released (the last `put_pid_ns` may free a namespace). Whether any was found.
    fn reclaim_all_dead(&self) -> bool {
        let mut any = false;
        loop {
            let mut reclaimed: Reclaimed = Default::default();
            let n = self.registry.lock().reclaim_dead(&mut reclaimed);
            drop(reclaimed);
            any |= n > 0;
            if n < reclaimed_batch() {
                return any;
            }
        }
    }

    /// The gpid of `pid` in namespace `ns` (one of the namespaces it is visible in).
    pub(crate) fn gpid_in(&self, pid: &Pid, ns: &PidNamespace) -> Result<u32> {
        let nr = u32::try_from(pid.nr_in(ns)).map_err(|_| ESRCH)?;
        if nr == 0 {
            return Err(ESRCH);
        }
        let (nsid, _) = self.nsid(ns)?;
        self.encoding.encode(nsid, nr).map_err(encoding_errno)
    }

    /// The canonical gpid of `pid`: qualified with its own, innermost namespace.
    pub(crate) fn canonical(&self, pid: &Pid) -> Result<u32> {
        self.gpid_in(pid, pid.ns())
    }

    /// The canonical gpid of `pid` as `viewer` may learn it: when `viewer` can see the task,
    /// or when the task's own namespace exports its gpids (export policy); `Ok(0)` otherwise.
    /// The escape-point features (credentials, signals, message queues) report through this.
    ///
    /// A lookup never binds a dead namespace: a peer whose namespace is dead reports the gpid
    /// its namespace still holds (stable until the slot is reclaimed), or 0 once reclaimed,
    /// never a new nsid that lookups would consume.
    pub(crate) fn gpid_for_observer(&self, viewer: &PidNamespace, pid: &Pid) -> Result<u32> {
        let own = pid.ns();
        // The namespace's slot and policy, in one lookup: `(nsid, export)` when bound.
        let bound = {
            let registry = self.registry.lock();
            registry
                .nsid_of(own)
                .map(|(nsid, _)| (nsid, registry.get(nsid).is_some_and(|(entry, _)| entry.export)))
        };
        if pid.nr_in(viewer) == 0 && !bound.is_some_and(|(_, export)| export) {
            return Ok(0);
        }
        match bound {
            Some((nsid, _)) => {
                let nr = u32::try_from(pid.nr_in(own)).map_err(|_| ESRCH)?;
                if nr == 0 {
                    return Err(ESRCH);
                }
                self.encoding.encode(nsid, nr).map_err(encoding_errno)
            }
            // Only a live namespace is bound by a lookup.
            None if own.is_live() => self.canonical(pid),
            None => Ok(0),
        }
    }

    /// The task `pid` names in `viewer`'s namespace (`0` means the viewer itself, `self_pid`),
    /// as a counted `kind` pid.
    pub(crate) fn lookup_in_view(
        &self,
        viewer: &PidNamespace,
        nr: i32,
        kind: PidType,
        self_pid: impl FnOnce(PidType) -> Option<ARef<Pid>>,
    ) -> Result<ARef<Pid>> {
        if nr < 0 {
            return Err(EINVAL);
        }
        if nr == 0 {
            return self_pid(kind).ok_or(ESRCH);
        }
        let rcu = rcu::read_lock();
        let pid = Pid::find(nr, viewer, &rcu).ok_or(ESRCH)?;
        pid.task_pid(kind, &rcu).ok_or(ESRCH)
    }

    /// Decodes `gpid` into a PID in `viewer`'s namespace.
    pub(crate) fn decode(&self, viewer: &PidNamespace, gpid: u32) -> Result<i32> {
        let g = self.encoding.decode(gpid).map_err(encoding_errno)?;
        // `decode` bounds `nr` by `max_nr`, which is below 2^29.
        let nr = i32::try_from(g.nr).map_err(|_| EINVAL)?;
        let rcu = rcu::read_lock();
        let registry = self.registry.lock();
        let (ns, bound): (&PidNamespace, bool) = if g.is_unqualified() {
            (viewer, true)
        } else {
            match registry.get(g.nsid) {
                Some((entry, _)) => (&entry.ns, true),
                // An unbound nsid takes the same path too, looking the number up in the
                // viewer's namespace, so that no answer is faster for nothing.
                None => (viewer, false),
            }
        };
        // Look the task up even when the namespace is invisible or unbound, so that every
        // answer takes the same path.
        let visible_ns = bound && viewer.is_same_or_ancestor_of(ns);
        let found = match Pid::find(nr, ns, &rcu) {
            Some(pid) if pid.has_task(PidType::Pid, &rcu) => pid.nr_in(viewer),
            _ => 0,
        };
        if visible_ns && found > 0 {
            Ok(found)
        } else {
            Err(ESRCH)
        }
    }

    /// `pid`'s gpid in every namespace from its own up to `viewer`'s (innermost first).
    pub(crate) fn levels(
        &self,
        viewer: &PidNamespace,
        pid: &Pid,
        out: &mut [u32],
    ) -> Result<usize> {
        let own = pid.ns();
        let top = viewer.level();
        let mut count = 0;
        let mut level = pid.level();
        loop {
            let ns = own.ancestor_at(level).ok_or(ESRCH)?;
            let slot = out.get_mut(count).ok_or(EINVAL)?;
            *slot = self.gpid_in(pid, ns)?;
            count += 1;
            if level <= top {
                break;
            }
            level -= 1;
        }
        Ok(count)
    }

    /// The namespace `nsid` names for `viewer` (`0`: the viewer's own), and what to report.
    pub(crate) fn ns_info(&self, viewer: &PidNamespace, nsid: u32) -> Result<NsInfo> {
        if nsid > self.encoding.max_nsid() {
            return Err(EINVAL);
        }
        let ns: ARef<PidNamespace> = if nsid == 0 {
            ARef::from(viewer)
        } else {
            let registry = self.registry.lock();
            let (entry, _) = registry.get(nsid).ok_or(ENOENT)?;
            if !viewer.is_same_or_ancestor_of(&entry.ns) {
                return Err(ENOENT);
            }
            entry.ns.clone()
        };
        let (nsid, _) = self.nsid(&ns)?;
        let parent_nsid = match ns.parent() {
            Some(parent) if !core::ptr::eq(&*ns, viewer) => self.nsid(parent)?.0,
            _ => 0,
        };
        let registry = self.registry.lock();
        // The namespace was bound just above, and bound live namespaces stay bound; a racing
        // reclaim can only remove it once it is dead, which reads as "gone".
        let (entry, generation) = registry.get(nsid).ok_or(ENOENT)?;
        if !core::ptr::eq(&*entry.ns, &*ns) {
            return Err(ENOENT);
        }
        Ok(NsInfo {
            nsid,
            level: ns.level_from(viewer),
            parent_nsid,
            ino: ns.inum(),
            generation,
            export: entry.export,
            live: ns.is_live(),
        })
    }

    /// Binds `ns` to a requested nsid and/or sets its export policy, for a caller with the
    /// capabilities the change needs.
    ///
    /// A requested nsid needs `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN` in the initial user
    /// namespace: binding a slot makes every gpid that names it (a dead namespace's, kept in
    /// futex words, lock files and logs) mean the new namespace, which is power over whoever
    /// held it before, and only the initial namespace's admin has power over every namespace.
    /// Anyone else gets `EPERM` for every nsid, after the same lookup, whether the slot is free,
    /// dead or held by a namespace it cannot see, so the answer tells it nothing; asking for
    /// the nsid its namespace already holds is the one exception (it knows that one).
    pub(crate) fn ns_set(&self, ns: &PidNamespace, mut set: NsSet) -> Result<(u32, u32)> {
        if let Some(wanted) = set.nsid {
            let init = PidNamespace::init_ns();
            if !init.current_capable(Capability::CheckpointRestore)
                && !init.current_capable(Capability::SysAdmin)
            {
                let holds = self.registry.lock().nsid_of(ns);
                if holds.map(|(bound, _)| bound) != Some(wanted) {
                    return Err(EPERM);
                }
                set.nsid = None;
            }
        }
        if set.export.is_some() && !ns.current_capable(Capability::SysAdmin) {
            return Err(EPERM);
        }
        let bound = match set.nsid {
            Some(wanted) => self.bind_at(ns, wanted)?,
            None => self.nsid(ns)?,
        };
        if let Some(export) = set.export {
            let mut registry = self.registry.lock();
            let entry = registry.get_mut(bound.0).ok_or(ENOENT)?;
            if !core::ptr::eq(&*entry.ns, ns) {
                return Err(ENOENT);
            }
            entry.export = export;
        }
        Ok(bound)
    }

    fn bind_at(&self, ns: &PidNamespace, nsid: u32) -> Result<(u32, u32)> {
        if nsid == 0 || nsid > self.encoding.max_nsid() {
            return Err(EINVAL);
        }
        let mut dropped: Option<NsEntry> = None;
        let mut registry = self.registry.lock();
        let result = match registry.nsid_of(ns) {
            Some((bound, generation)) if bound == nsid => Ok((bound, generation)),
            Some(_) => Err(EBUSY),
            None => registry.bind_at(ns, nsid, &mut dropped).map(|generation| (nsid, generation)),
        };
        drop(registry);
        drop(dropped);
        result
    }

    /// Calls `f` for every bound namespace `viewer` can see, under the registry lock (`f`
    /// must not sleep): `(nsid, generation, entry, parent nsid or 0)`.
    pub(crate) fn for_each_visible(
        &self,
        viewer: &PidNamespace,
        mut f: impl FnMut(u32, u32, &NsEntry, u32),
    ) {
        let registry = self.registry.lock();
        for (nsid, generation, entry) in registry.iter() {
            if !viewer.is_same_or_ancestor_of(&entry.ns) {
                continue;
            }
            let parent = match entry.ns.parent() {
                Some(parent) if !core::ptr::eq(&*entry.ns, viewer) => {
                    registry.nsid_of(parent).map_or(0, |(p, _)| p)
                }
                _ => 0,
            };
            f(nsid, generation, entry, parent);
        }
    }
}
