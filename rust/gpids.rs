// SPDX-License-Identifier: GPL-2.0

//! Global PIDs: canonical gpids, decoding in a viewer's namespace, and the visibility rule.
//!
//! The rule that keeps PID namespaces isolating: a gpid names a task only for a viewer that
//! can see both the task and the namespace the gpid is qualified with (the viewer's own
//! namespace or a descendant of it). For any other viewer it resolves exactly like a gpid of
//! no task: `ESRCH`, through the same lookups, so the answer is no oracle.

use crate::gpid_core::{
    binding::{Binding, Canonical},
    encoding::EncodingError,
    layout::{Class, Decoded, Layout, SlotId},
};
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

/// The slots of a bound namespace, in their UAPI form (compact slot ids, 0 for none).
#[derive(Clone, Copy)]
pub(crate) struct Slots {
    /// The owner slot: the one the namespace took first.
    pub(crate) slot: u32,
    pub(crate) generation: u32,
    /// The owner slot's class.
    pub(crate) class: Class,
    /// The wide slot a promotion added, or 0.
    pub(crate) wide_slot: u32,
    pub(crate) wide_generation: u32,
}

impl Slots {
    fn of(layout: Layout, binding: Binding) -> Option<Self> {
        let owner = binding.owner()?;
        let held = match owner.class {
            Class::Narrow => binding.narrow?,
            Class::Wide => binding.wide?,
        };
        let promoted = match owner.class {
            Class::Narrow => binding.wide,
            Class::Wide => None,
        };
        Some(Self {
            slot: layout.id(owner)?,
            generation: held.generation,
            class: owner.class,
            wide_slot: promoted.and_then(|w| layout.id(SlotId::wide(w.index))).unwrap_or(0),
            wide_generation: promoted.map_or(0, |w| w.generation),
        })
    }
}

/// What `GPID_IOC_NS_INFO` reports.
pub(crate) struct NsInfo {
    pub(crate) slots: Slots,
    pub(crate) level: u32,
    pub(crate) parent_slot: u32,
    pub(crate) ino: u32,
    pub(crate) export: bool,
    pub(crate) live: bool,
}

/// What `GPID_IOC_NS_SET` changes.
pub(crate) struct NsSet {
    /// A compact slot id to bind (or promote) the namespace to.
    pub(crate) slot: Option<u32>,
    pub(crate) export: Option<bool>,
}

/// The global-PID state of the module.
#[pin_data]
pub(crate) struct Gpids {
    /// The division of the gpid space into the plain range and the slot classes. Immutable
    /// after init.
    pub(crate) layout: Layout,
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
    /// Per-user shares of the slots of each class and of the thread slots; shared with the
    /// registry and the exit hook.
    pub(crate) quotas: Arc<Quotas>,
}

pub(crate) fn encoding_errno(e: EncodingError) -> Error {
    match e {
        EncodingError::Overflow => EOVERFLOW,
        EncodingError::Invalid | EncodingError::BadPidBits => EINVAL,
    }
}

fn slots_of(class: Class, layout: Layout) -> Result<usize> {
    usize::try_from(layout.slots(class)).map_err(|_| EINVAL)
}

impl Gpids {
    /// The state for `layout`, with an empty registry.
    pub(crate) fn new(layout: Layout) -> Result<impl PinInit<Self>> {
        let quotas = Arc::pin_init(
            Quotas::new(slots_of(Class::Narrow, layout)?, slots_of(Class::Wide, layout)?, MAX_THREADS)?,
            GFP_KERNEL,
        )?;
        let registry = Registry::new(layout, quotas.clone())?;
        let robust = Robust::new(quotas.clone())?;
        let msq = Msq::new()?;
        let signals = Signals::new()?;
        Ok(pin_init!(Self {
            layout,
            registry <- new_spinlock!(registry, "gpid_registry"),
            robust <- robust,
            msq,
            signals <- signals,
            quotas,
        }))
    }

    /// Binds the initial namespace to wide slot 1. Every task of the machine has a PID there,
    /// so its PIDs are the likeliest to pass a narrow slot; and its gpids stay those of ABI 1.
    pub(crate) fn bind_init(&self) -> Result {
        self.bind_at(PidNamespace::init_ns(), 1).map(|_| ())
    }

    /// The canonical gpid of PID `nr` of `ns`, taking the slot it needs if `ns` has none for it
    /// yet: a narrow slot for a PID that fits one (a wide slot if no narrow one is free), else
    /// a wide slot, beside the narrow one if `ns` holds one (a promotion).
    ///
    /// Dead namespaces are reclaimed when the class is full or the namespace's owner holds its
    /// share of it; then `ENOSPC` or `EDQUOT`, when that finds none.
    pub(crate) fn gpid_of_nr(&self, ns: &PidNamespace, nr: u32) -> Result<u32> {
        let mut wide_fallback = false;
        loop {
            let mut registry = self.registry.lock();
            let needed = match registry.canonical(ns, nr)? {
                Canonical::Gpid { gpid, .. } => return Ok(gpid),
                Canonical::Needs(class) => class,
            };
            let taken = match registry.binding_of(ns) {
                Some((owner, _)) => registry.promote(owner, None, &mut None).map(|_| ()),
                None if wide_fallback => registry.bind(ns, Class::Wide).map(|_| ()),
                None => registry.bind(ns, needed).map(|_| ()),
            };
            drop(registry);
            match taken {
                Ok(()) => continue,
                // Freed slots may be narrow ones: try the class needed again.
                Err(e) if (e == ENOSPC || e == EDQUOT) && self.reclaim_all_dead() => {
                    wide_fallback = false;
                }
                // Every narrow slot is taken by a live namespace: a wide slot holds small PIDs
                // too, and a namespace bound wide keeps that one slot for good.
                Err(e) if e == ENOSPC && needed == Class::Narrow && !wide_fallback => {
                    wide_fallback = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The canonical gpids of the thread `tid` and thread group `tgid` of `ns` and the owner
    /// slot id of `ns`: under one lock when `ns` holds the slots for both (the common case),
    /// else through [`gpid_of_nr`](Self::gpid_of_nr).
    pub(crate) fn self_ids(&self, ns: &PidNamespace, tid: u32, tgid: u32) -> Result<(u32, u32, u32)> {
        {
            let registry = self.registry.lock();
            if let Some((owner, binding)) = registry.binding_of(ns) {
                let canonical = |nr| registry.canonical_in(binding, nr);
                if let (Canonical::Gpid { gpid: t, .. }, Canonical::Gpid { gpid: g, .. }) =
                    (canonical(tid)?, canonical(tgid)?)
                {
                    return Ok((t, g, self.layout.id(owner).ok_or(EINVAL)?));
                }
            }
        }
        let t = self.gpid_of_nr(ns, tid)?;
        let g = self.gpid_of_nr(ns, tgid)?;
        Ok((t, g, self.owner(ns)?.0))
    }

    /// The owner slot of `ns` and its generation, binding one if it has none yet (as for its
    /// PID 1, which fits every class).
    pub(crate) fn owner(&self, ns: &PidNamespace) -> Result<(u32, u32)> {
        if let Some(bound) = self.registry.lock().owner_of(ns) {
            return Ok(bound);
        }
        self.gpid_of_nr(ns, 1)?;
        self.registry.lock().owner_of(ns).ok_or(ENOENT)
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
        self.gpid_of_nr(ns, nr)
    }

    /// The canonical gpid of `pid`: qualified with its own, innermost namespace.
    pub(crate) fn canonical(&self, pid: &Pid) -> Result<u32> {
        self.gpid_in(pid, pid.ns())
    }

    /// The canonical gpid of `pid` as `viewer` may learn it: when `viewer` can see the task,
    /// or when the task's own namespace exports its gpids (export policy); `Ok(0)` otherwise.
    /// The escape-point features (credentials, signals, message queues) report through this.
    ///
    /// A lookup never binds (or promotes) a dead namespace: a peer whose namespace is dead
    /// reports the gpid its namespace still holds (stable until the slots are reclaimed), or 0
    /// once reclaimed, never a new slot that lookups would consume.
    pub(crate) fn gpid_for_observer(&self, viewer: &PidNamespace, pid: &Pid) -> Result<u32> {
        let own = pid.ns();
        let nr = u32::try_from(pid.nr_in(own)).map_err(|_| ESRCH)?;
        if nr == 0 {
            return Err(ESRCH);
        }
        // The PID's gpid, if its namespace holds the slot for it, and the policy: one lookup.
        let (known, export) = {
            let registry = self.registry.lock();
            let bound = registry.bound(own);
            let binding = bound.map_or(Binding::UNBOUND, |(_, binding, _)| binding);
            (registry.canonical_in(binding, nr)?, bound.is_some_and(|(_, _, e)| e.export))
        };
        if pid.nr_in(viewer) == 0 && !export {
            return Ok(0);
        }
        match known {
            Canonical::Gpid { gpid, .. } => Ok(gpid),
            // Only a live namespace is bound or promoted by a lookup.
            Canonical::Needs(_) if own.is_live() => self.gpid_of_nr(own, nr),
            Canonical::Needs(_) => Ok(0),
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
        let decoded = self.layout.decode(gpid).map_err(encoding_errno)?;
        let rcu = rcu::read_lock();
        let registry = self.registry.lock();
        let (ns, nr, bound): (&PidNamespace, u32, bool) = match decoded {
            Decoded::Unqualified(nr) => (viewer, nr, true),
            Decoded::Qualified { slot, nr } => match registry.lookup(slot, nr) {
                Some(entry) => (&entry.ns, nr, true),
                // A free slot, or a value that is not its namespace's canonical gpid of `nr`,
                // takes the same path too, looking the number up in the viewer's namespace,
                // so that no answer is faster for nothing.
                None => (viewer, nr, false),
            },
        };
        // `decode` bounds `nr` by the wide class's `max_nr`, which is below 2^29.
        let nr = i32::try_from(nr).map_err(|_| EINVAL)?;
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

    /// The namespace holding slot `id` for `viewer` (`0`: the viewer's own), and what to
    /// report.
    pub(crate) fn ns_info(&self, viewer: &PidNamespace, id: u32) -> Result<NsInfo> {
        if id > self.layout.max_id() {
            return Err(EINVAL);
        }
        let ns: ARef<PidNamespace> = match self.layout.slot(id) {
            None => ARef::from(viewer),
            Some(slot) => {
                let registry = self.registry.lock();
                let (entry, _) = registry.get(slot).ok_or(ENOENT)?;
                if !viewer.is_same_or_ancestor_of(&entry.ns) {
                    return Err(ENOENT);
                }
                entry.ns.clone()
            }
        };
        self.owner(&ns)?;
        let parent_slot = match ns.parent() {
            Some(parent) if !core::ptr::eq(&*ns, viewer) => self.owner(parent)?.0,
            _ => 0,
        };
        let registry = self.registry.lock();
        // The namespace was bound just above, and bound live namespaces stay bound; a racing
        // reclaim can only remove it once it is dead, which reads as "gone".
        let (owner, binding) = registry.binding_of(&ns).ok_or(ENOENT)?;
        let (entry, _) = registry.get(owner).ok_or(ENOENT)?;
        Ok(NsInfo {
            slots: Slots::of(self.layout, binding).ok_or(ENOENT)?,
            level: ns.level_from(viewer),
            parent_slot,
            ino: ns.inum(),
            export: entry.export,
            live: ns.is_live(),
        })
    }

    /// Binds `ns` to a requested slot (or promotes it to one) and/or sets its export policy,
    /// for a caller with the capabilities the change needs; returns its owner slot and
    /// generation.
    ///
    /// A requested slot needs `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN` in the initial user
    /// namespace: binding a slot makes every gpid that names it (a dead namespace's, kept in
    /// futex words, lock files and logs) mean the new namespace, which is power over whoever
    /// held it before, and only the initial namespace's admin has power over every namespace.
    /// Anyone else gets `EPERM` for every slot, after the same lookup, whether the slot is
    /// free, dead or held by a namespace it cannot see, so the answer tells it nothing; asking
    /// for a slot its namespace already holds is the one exception (it knows those).
    pub(crate) fn ns_set(&self, ns: &PidNamespace, mut set: NsSet) -> Result<(u32, u32)> {
        if let Some(wanted) = set.slot {
            let init = PidNamespace::init_ns();
            if !init.current_capable(Capability::CheckpointRestore)
                && !init.current_capable(Capability::SysAdmin)
            {
                if !self.holds(ns, wanted) {
                    return Err(EPERM);
                }
                set.slot = None;
            }
        }
        if set.export.is_some() && !ns.current_capable(Capability::SysAdmin) {
            return Err(EPERM);
        }
        let bound = match set.slot {
            Some(wanted) => self.bind_at(ns, wanted)?,
            None => self.owner(ns)?,
        };
        if let Some(export) = set.export {
            let mut registry = self.registry.lock();
            let slot = self.layout.slot(bound.0).ok_or(ENOENT)?;
            let entry = registry.get_mut(slot).ok_or(ENOENT)?;
            if !core::ptr::eq(&*entry.ns, ns) {
                return Err(ENOENT);
            }
            entry.export = export;
        }
        Ok(bound)
    }

    /// Whether `ns` holds the slot with compact id `id` (either of its slots).
    fn holds(&self, ns: &PidNamespace, id: u32) -> bool {
        let registry = self.registry.lock();
        match (registry.binding_of(ns), self.layout.slot(id)) {
            (Some((_, binding)), Some(slot)) => binding.slot(slot.class) == Some(slot),
            _ => false,
        }
    }

    /// Binds `ns` to exactly the slot `id`, or promotes it to it (a wide slot, for a namespace
    /// bound narrow without one); a slot it holds already is accepted.
    fn bind_at(&self, ns: &PidNamespace, id: u32) -> Result<(u32, u32)> {
        let slot = self.layout.slot(id).ok_or(EINVAL)?;
        let mut dropped: Option<NsEntry> = None;
        let mut registry = self.registry.lock();
        let result = match registry.binding_of(ns) {
            Some((_, binding)) if binding.slot(slot.class) == Some(slot) => Ok(()),
            Some((owner, binding)) if slot.class == Class::Wide && binding.may_take(Class::Wide) => {
                registry.promote(owner, Some(slot), &mut dropped).map(|_| ())
            }
            Some(_) => Err(EBUSY),
            None => registry.bind_at(ns, slot, &mut dropped).map(|_| ()),
        }
        .and_then(|()| registry.owner_of(ns).ok_or(ENOENT));
        drop(registry);
        drop(dropped);
        result
    }

    /// Calls `f` for every bound namespace `viewer` can see, under the registry lock (`f`
    /// must not sleep): `(slots, entry, parent's owner slot or 0)`.
    pub(crate) fn for_each_visible(
        &self,
        viewer: &PidNamespace,
        mut f: impl FnMut(Slots, &NsEntry, u32),
    ) {
        let registry = self.registry.lock();
        for (_, binding, entry) in registry.iter() {
            if !viewer.is_same_or_ancestor_of(&entry.ns) {
                continue;
            }
            let parent = match entry.ns.parent() {
                Some(parent) if !core::ptr::eq(&*entry.ns, viewer) => {
                    registry.owner_of(parent).map_or(0, |(p, _)| p)
                }
                _ => 0,
            };
            if let Some(slots) = Slots::of(self.layout, binding) {
                f(slots, entry, parent);
            }
        }
    }
}
