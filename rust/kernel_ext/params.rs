// SPDX-License-Identifier: GPL-2.0

//! Module parameters. 6.12's `module!` macro cannot declare them, so `rust/helpers.c` does
//! with `module_param()` and this file reads them. The layout parameters (`pid_bits`,
//! `narrow_bits`, `wide_slots`) are read-only after load (0444); `quota_percent` may be
//! changed at run time (0644).

use super::bindings;

/// `pid_bits=N`: the width of a wide slot (and of the plain range).
pub(crate) fn pid_bits() -> u32 {
    // SAFETY: reads a plain integer that is written only while the module is being loaded.
    unsafe { bindings::gpid_param_pid_bits() }
}

/// `narrow_bits=N`: the width of a narrow slot.
pub(crate) fn narrow_bits() -> u32 {
    // SAFETY: as for `pid_bits`.
    unsafe { bindings::gpid_param_narrow_bits() }
}

/// `wide_slots=N`: how many wide slots; 0 for the default.
pub(crate) fn wide_slots() -> u32 {
    // SAFETY: as for `pid_bits`.
    unsafe { bindings::gpid_param_wide_slots() }
}

/// `quota_percent=N`: the share of each pool one user may hold. Writable at run time, so read
/// afresh at every charge.
pub(crate) fn quota_percent() -> u32 {
    // SAFETY: reads a plain integer with `READ_ONCE`; sysfs writes it whole.
    unsafe { bindings::gpid_param_quota_percent() }
}
