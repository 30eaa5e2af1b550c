// SPDX-License-Identifier: GPL-2.0

//! `/dev/gpid`: the ioctl entry points. Each command reads its argument struct, checks every
//! input field (reserved fields and unknown flags must be zero), acts, and writes the answer
//! back; see `include/uapi/linux/gpid.h`.

use crate::gpid_core::layout::Class;
use crate::{
    creds, features, signals,
    gpids::Gpids,
    kernel_ext::{
        miscdevice::MiscDeviceWithData,
        pid::PidType,
        pid_namespace::PidNamespace,
        task::Current,
        uapi,
    },
};
use kernel::{
    alloc::{flags::GFP_KERNEL, KVec},
    fs::File,
    prelude::*,
    sync::{Arc, ArcBorrow},
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

/// The misc device; each open file holds a reference to the module state.
pub(crate) struct GpidDevice;

impl MiscDeviceWithData for GpidDevice {
    type Ptr = Arc<Gpids>;
    type Data = Arc<Gpids>;

    fn open(data: &Arc<Gpids>, _file: &File) -> Result<Arc<Gpids>> {
        Ok(data.clone())
    }

    fn ioctl(gpids: ArcBorrow<'_, Gpids>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let gpids: &Gpids = &gpids;
        match cmd {
            uapi::GPID_IOC_VERSION => version(gpids, arg),
            uapi::GPID_IOC_VERSION_V1 => version_v1(gpids, arg),
            uapi::GPID_IOC_SELF => write_out(arg, &self_ids(gpids)?),
            uapi::GPID_IOC_ENCODE => update(arg, |a: &mut uapi::gpid_encode| encode(gpids, a)),
            uapi::GPID_IOC_DECODE => update(arg, |a: &mut uapi::gpid_decode| decode(gpids, a)),
            uapi::GPID_IOC_DECODE_BATCH => decode_batch(gpids, arg),
            uapi::GPID_IOC_LEVELS => update(arg, |a: &mut uapi::gpid_levels| levels(gpids, a)),
            uapi::GPID_IOC_NS_INFO => update(arg, |a: &mut uapi::gpid_ns_info| ns_info(gpids, a)),
            uapi::GPID_IOC_NS_SET => update(arg, |a: &mut uapi::gpid_ns_set| ns_set(gpids, a)),
            uapi::GPID_IOC_ROBUST_REGISTER => {
                update(arg, |a: &mut uapi::gpid_robust_register| robust_register(gpids, a))
            }
            uapi::GPID_IOC_MSQ => update(arg, |a: &mut uapi::gpid_msq| gpids.msq.query(gpids, a)),
            uapi::GPID_IOC_SIGQUEUE => sigqueue(gpids, arg),
            uapi::GPID_IOC_SIGSENDER => {
                update(arg, |a: &mut uapi::gpid_sigsender| signals::sigsender(gpids, a))
            }
            uapi::GPID_IOC_ROBUST_UNREGISTER => {
                gpids.robust.unregister_current()?;
                Ok(0)
            }
            uapi::GPID_IOC_PEER => update(arg, |a: &mut uapi::gpid_peer| creds::peer(gpids, a)),
            uapi::GPID_IOC_PIDFD => update(arg, |a: &mut uapi::gpid_pidfd| creds::pidfd(gpids, a)),
            _ => Err(ENOTTY),
        }
    }
}

/// The user struct `T` at `arg`.
fn user_struct<T>(arg: usize) -> UserSlice {
    UserSlice::new(UserPtr::from_addr(arg), core::mem::size_of::<T>())
}

/// Writes `value` to the user struct at `arg`, whole or not at all (see [`update`]).
fn write_out<T: AsBytes + FromBytes>(arg: usize, value: &T) -> Result<isize> {
    let before: T = user_struct::<T>(arg).reader().read()?;
    user_struct::<T>(arg).writer().write(&before)?;
    user_struct::<T>(arg).writer().write(value)?;
    Ok(0)
}

/// Reads the user struct at `arg`, lets `f` turn it into the answer, and writes it back.
///
/// The answer is written whole or not at all, and `f` (which may act: bind, register) runs
/// only once the whole destination is known to be writable: the struct as read is first
/// written back unchanged, so a struct straddling into a read-only or unmapped page fails
/// with `EFAULT` before anything happened and with every byte as it was. (A mapping changed
/// by another thread between that check and the answer is the caller's own race.)
fn update<T: AsBytes + FromBytes>(arg: usize, f: impl FnOnce(&mut T) -> Result) -> Result<isize> {
    let mut value: T = user_struct::<T>(arg).reader().read()?;
    user_struct::<T>(arg).writer().write(&value)?;
    f(&mut value)?;
    user_struct::<T>(arg).writer().write(&value)?;
    Ok(0)
}

fn version(gpids: &Gpids, arg: usize) -> Result<isize> {
    write_out(
        arg,
        &uapi::gpid_version {
            abi_version: uapi::GPID_ABI_VERSION,
            pid_bits: gpids.layout.pid_bits(),
            features: features::active(gpids),
            narrow_bits: gpids.layout.narrow_bits(),
            wide_slots: gpids.layout.slots(Class::Wide),
            narrow_slots: gpids.layout.slots(Class::Narrow),
            narrow_start: gpids.layout.narrow_start(),
        },
    )
}

/// ABI 1's form of `GPID_IOC_VERSION`: its first three fields, so that a client built for
/// ABI 1 learns the ABI version and stops, rather than getting `ENOTTY`.
fn version_v1(gpids: &Gpids, arg: usize) -> Result<isize> {
    write_out(
        arg,
        &uapi::gpid_version_v1 {
            abi_version: uapi::GPID_ABI_VERSION,
            pid_bits: gpids.layout.pid_bits(),
            features: features::active(gpids),
        },
    )
}

fn self_ids(gpids: &Gpids) -> Result<uapi::gpid_self> {
    // A thread's own namespace is its group's too (CLONE_THREAD excludes CLONE_NEWPID), so
    // both canonical gpids are qualified with the caller's namespace.
    Current::with(|current| {
        let ns = current.pid_ns();
        let nr = |kind| u32::try_from(current.nr_in(kind, ns)).map_err(|_| ESRCH);
        let (tid, tgid, slot) = gpids.self_ids(ns, nr(PidType::Pid)?, nr(PidType::Tgid)?)?;
        Ok(uapi::gpid_self {
            tid,
            tgid,
            slot,
            // Relative to the caller's own namespace (`PidNamespace::level_from`).
            level: 0,
        })
    })
}

fn kind(flags: u32) -> Result<PidType> {
    match flags {
        0 => Ok(PidType::Pid),
        uapi::GPID_ENCODE_TGID => Ok(PidType::Tgid),
        _ => Err(EINVAL),
    }
}

fn encode(gpids: &Gpids, a: &mut uapi::gpid_encode) -> Result {
    if a.reserved != 0 {
        return Err(EINVAL);
    }
    let kind = kind(a.flags)?;
    a.gpid = Current::with(|current| {
        let pid = gpids.lookup_in_view(current.pid_ns(), a.pid, kind, |k| current.pid(k))?;
        gpids.canonical(&pid)
    })?;
    Ok(())
}

fn decode(gpids: &Gpids, a: &mut uapi::gpid_decode) -> Result {
    if a.flags != 0 || a.reserved != 0 {
        return Err(EINVAL);
    }
    a.pid = Current::with(|current| gpids.decode(current.pid_ns(), a.gpid))?;
    Ok(())
}

fn decode_batch(gpids: &Gpids, arg: usize) -> Result<isize> {
    let a: uapi::gpid_decode_batch = user_struct::<uapi::gpid_decode_batch>(arg).reader().read()?;
    if a.flags != 0 || a.count == 0 || a.count > uapi::GPID_BATCH_MAX {
        return Err(EINVAL);
    }
    let count = a.count as usize;
    let bytes = count * core::mem::size_of::<u32>();
    let gpids_ptr = usize::try_from(a.gpids).map_err(|_| EFAULT)?;
    let pids_ptr = usize::try_from(a.pids).map_err(|_| EFAULT)?;
    // The answers are written whole or not at all: the whole output array is first proven
    // writable by writing its own bytes back (see `update`).
    let mut old = KVec::<u8>::with_capacity(bytes, GFP_KERNEL)?;
    UserSlice::new(UserPtr::from_addr(pids_ptr), bytes).read_all(&mut old, GFP_KERNEL)?;
    UserSlice::new(UserPtr::from_addr(pids_ptr), bytes).writer().write_slice(&old)?;
    let mut buf = KVec::<u8>::with_capacity(bytes, GFP_KERNEL)?;
    UserSlice::new(UserPtr::from_addr(gpids_ptr), bytes).read_all(&mut buf, GFP_KERNEL)?;
    Current::with(|current| {
        let viewer = current.pid_ns();
        for chunk in buf.chunks_exact_mut(4) {
            let gpid = u32::from_ne_bytes((&*chunk).try_into().unwrap_or([0xff; 4]));
            let result = gpids.decode(viewer, gpid).unwrap_or_else(|e| e.to_errno());
            chunk.copy_from_slice(&result.to_ne_bytes());
        }
    });
    UserSlice::new(UserPtr::from_addr(pids_ptr), bytes).writer().write_slice(&buf)?;
    Ok(0)
}

fn levels(gpids: &Gpids, a: &mut uapi::gpid_levels) -> Result {
    if a.reserved != 0 || a.reserved2 != 0 {
        return Err(EINVAL);
    }
    let kind = kind(a.flags)?;
    a.gpids = [0; uapi::GPID_MAX_LEVELS as usize];
    let count = Current::with(|current| {
        let viewer = current.pid_ns();
        let pid = gpids.lookup_in_view(viewer, a.pid, kind, |k| current.pid(k))?;
        gpids.levels(viewer, &pid, &mut a.gpids)
    })?;
    a.count = u32::try_from(count).map_err(|_| EINVAL)?;
    Ok(())
}

fn ns_info(gpids: &Gpids, a: &mut uapi::gpid_ns_info) -> Result {
    if a.flags != 0 || a.reserved != 0 {
        return Err(EINVAL);
    }
    let info = Current::with(|current| gpids.ns_info(current.pid_ns(), a.slot))?;
    *a = uapi::gpid_ns_info {
        slot: info.slots.slot,
        flags: 0,
        level: info.level,
        parent_slot: info.parent_slot,
        ino: u64::from(info.ino),
        generation: info.slots.generation,
        policy: if info.export { uapi::GPID_POLICY_EXPORT } else { 0 },
        state: if info.live { uapi::GPID_NS_LIVE } else { 0 },
        wide_slot: info.slots.wide_slot,
        wide_generation: info.slots.wide_generation,
        reserved: 0,
    };
    Ok(())
}

fn ns_set(gpids: &Gpids, a: &mut uapi::gpid_ns_set) -> Result {
    const KNOWN: u32 = uapi::GPID_NS_SET_SLOT | uapi::GPID_NS_SET_POLICY;
    if a.reserved != 0 || a.flags == 0 || a.flags & !KNOWN != 0 {
        return Err(EINVAL);
    }
    if a.policy & !uapi::GPID_POLICY_EXPORT != 0 {
        return Err(EINVAL);
    }
    let set = crate::gpids::NsSet {
        slot: (a.flags & uapi::GPID_NS_SET_SLOT != 0).then_some(a.slot),
        export: (a.flags & uapi::GPID_NS_SET_POLICY != 0)
            .then_some(a.policy & uapi::GPID_POLICY_EXPORT != 0),
    };
    let (slot, generation) = Current::with(|current| {
        let viewer = current.pid_ns();
        let pid = gpids.lookup_in_view(viewer, a.pid, PidType::Pid, |k| current.pid(k))?;
        let target: &PidNamespace = pid.ns();
        gpids.ns_set(target, set)
    })?;
    a.slot = slot;
    a.generation = generation;
    Ok(())
}

fn robust_register(gpids: &Gpids, a: &mut uapi::gpid_robust_register) -> Result {
    if a.flags != 0 {
        return Err(EINVAL);
    }
    let owner = Current::with(|current| {
        // A 32-bit task's robust list is the compat one (`compat_robust_list`, 32-bit
        // entries), which the exit hook does not walk: refuse rather than register a thread
        // whose words would never be recovered.
        if current.in_compat_syscall() {
            return Err(EOPNOTSUPP);
        }
        let tid = current.pid(PidType::Pid).ok_or(ESRCH)?;
        gpids.canonical(&tid)
    })?;
    gpids.robust.register_current(owner)?;
    a.owner = owner;
    Ok(())
}

fn sigqueue(gpids: &Gpids, arg: usize) -> Result<isize> {
    let a: uapi::gpid_sigqueue = user_struct::<uapi::gpid_sigqueue>(arg).reader().read()?;
    signals::sigqueue(gpids, &a)?;
    Ok(0)
}
