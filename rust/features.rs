// SPDX-License-Identifier: GPL-2.0

//! The feature bits reported by `GPID_IOC_VERSION` and `/proc/gpid/features`.
//!
//! A bit is reported only while its feature is built and active: user space tests the bits,
//! never the ABI version, to know what it may call.

use crate::{gpids::Gpids, kernel_ext::uapi};

/// Every feature gpid knows, with the name `/proc/gpid/features` shows.
pub(crate) const ALL: &[(u64, &str)] = &[
    (uapi::GPID_FEATURE_GLOBAL_PIDS, "global_pids"),
    (uapi::GPID_FEATURE_ROBUST_FUTEX, "robust_futex"),
    (uapi::GPID_FEATURE_SIGQUEUE, "sigqueue"),
    (uapi::GPID_FEATURE_MSQ, "msq"),
    (uapi::GPID_FEATURE_PEERCRED, "peercred"),
    (uapi::GPID_FEATURE_SIGQUEUE_THREAD, "sigqueue_thread"),
];

/// The features active in this module instance.
pub(crate) fn active(gpids: &Gpids) -> u64 {
    uapi::GPID_FEATURE_GLOBAL_PIDS
        | uapi::GPID_FEATURE_ROBUST_FUTEX
        | uapi::GPID_FEATURE_MSQ
        | uapi::GPID_FEATURE_PEERCRED
        | gpids.signals.features()
}
