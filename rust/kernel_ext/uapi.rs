// SPDX-License-Identifier: GPL-2.0

//! The ABI of `/dev/gpid`, as bindgen generated it from `include/uapi/linux/gpid.h`.
//!
//! The header is the single definition; this file only marks its structs as plain old data so
//! they can cross the user boundary with `UserSlice` (that needs `unsafe impl`, hence here).

pub(crate) use super::bindings::{
    gpid_decode, gpid_decode_batch, gpid_encode, gpid_levels, gpid_ns_info, gpid_ns_set,
    gpid_self, gpid_version, gpid_version_v1, GPID_ABI_VERSION, GPID_BATCH_MAX, GPID_ENCODE_TGID,
    GPID_FEATURE_GLOBAL_PIDS, GPID_FEATURE_MSQ, GPID_FEATURE_PEERCRED,
    GPID_FEATURE_ROBUST_FUTEX, GPID_FEATURE_SIGQUEUE, GPID_FEATURE_SIGQUEUE_THREAD,
    GPID_IOC_DECODE, GPID_IOC_DECODE_BATCH, GPID_IOC_ENCODE, GPID_IOC_LEVELS, GPID_IOC_NS_INFO,
    GPID_IOC_NS_SET, GPID_IOC_ROBUST_REGISTER, GPID_IOC_ROBUST_UNREGISTER, GPID_IOC_SELF,
    GPID_IOC_VERSION, GPID_IOC_VERSION_V1, gpid_robust_register, gpid_msq, GPID_IOC_MSQ, GPID_MSQ_NONE, GPID_MSQ_PARTY,
    GPID_MSQ_UNKNOWN, GPID_MAX_LEVELS, GPID_NS_LIVE,
    GPID_NS_SET_SLOT, GPID_NS_SET_POLICY, GPID_POLICY_EXPORT,
};
pub(crate) use super::bindings::{
    gpid_peer, gpid_pidfd, GPID_IOC_PEER, GPID_IOC_PIDFD, GPID_PEER_ALIVE, GPID_PEER_KNOWN,
    gpid_sigqueue, gpid_sigsender, GPID_IOC_SIGQUEUE, GPID_IOC_SIGSENDER, GPID_SIGQUEUE_GPID,
    GPID_SIGQUEUE_THREAD,
};
use kernel::transmute::{AsBytes, FromBytes};

/// Marks UAPI structs as plain old data, after checking at build time that they have no
/// padding (which would leak kernel stack bytes to user space or be read uninitialised).
macro_rules! uapi_pod {
    ($t:ty, $($field:ident),+) => {
        const _: () = assert!(
            core::mem::size_of::<$t>() == 0 $(+ field_size(|s: &$t| &s.$field))+
        );
        // SAFETY: the struct is `repr(C)` (bindgen), made only of integers, and has no padding
        // (asserted above), so every byte pattern is valid and all its bytes are initialised.
        unsafe impl AsBytes for $t {}
        // SAFETY: as above.
        unsafe impl FromBytes for $t {}
    };
}

// Used only inside the `const _` assertions, which rustc 1.85's dead-code pass does not count.
#[allow(dead_code)]
const fn field_size<S, F>(_: fn(&S) -> &F) -> usize {
    core::mem::size_of::<F>()
}

uapi_pod!(
    gpid_version,
    abi_version,
    pid_bits,
    features,
    narrow_bits,
    wide_slots,
    narrow_slots,
    narrow_start
);
uapi_pod!(gpid_version_v1, abi_version, pid_bits, features);
uapi_pod!(gpid_self, tid, tgid, slot, level);
uapi_pod!(gpid_encode, pid, flags, gpid, reserved);
uapi_pod!(gpid_decode, gpid, flags, pid, reserved);
uapi_pod!(gpid_decode_batch, gpids, pids, count, flags);
uapi_pod!(gpid_levels, pid, flags, count, reserved, gpids, reserved2);
uapi_pod!(
    gpid_ns_info,
    slot,
    flags,
    level,
    parent_slot,
    ino,
    generation,
    policy,
    state,
    wide_slot,
    wide_generation,
    reserved
);
uapi_pod!(gpid_ns_set, pid, flags, slot, policy, generation, reserved);
uapi_pod!(gpid_robust_register, flags, owner);
uapi_pod!(
    gpid_msq,
    msqid,
    flags,
    sender_state,
    sender_pid,
    sender_gpid,
    receiver_state,
    receiver_pid,
    receiver_gpid,
    reserved,
    reserved2
);
uapi_pod!(gpid_peer, fd, flags, pid, gpid, uid, gid, state, reserved);
uapi_pod!(gpid_pidfd, pidfd, flags, pid, gpid, state, reserved);
uapi_pod!(gpid_sigqueue, target, flags, sig, reserved, value, reserved2);
uapi_pod!(gpid_sigsender, sig, flags, value, gpid, reserved, seq);
