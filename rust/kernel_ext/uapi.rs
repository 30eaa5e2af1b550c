// SPDX-License-Identifier: GPL-2.0

//! The ABI of `/dev/gpid`, as bindgen generated it from `include/uapi/linux/gpid.h`.
//!
//! The header is the single definition; this file only marks its structs as plain old data so
//! they can cross the user boundary with `UserSlice` (that needs `unsafe impl`, hence here).

pub(crate) use super::bindings::{
    gpid_version, GPID_ABI_VERSION, GPID_FEATURE_GLOBAL_PIDS, GPID_FEATURE_MSQ,
    GPID_FEATURE_PEERCRED, GPID_FEATURE_ROBUST_FUTEX, GPID_FEATURE_SIGNAL_FIXUP,
    GPID_FEATURE_SIGQUEUE, GPID_IOC_VERSION,
};
use kernel::types::{AsBytes, FromBytes};

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

const fn field_size<S, F>(_: fn(&S) -> &F) -> usize {
    core::mem::size_of::<F>()
}

uapi_pod!(gpid_version, abi_version, pid_bits, features);
