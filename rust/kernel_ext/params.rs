// SPDX-License-Identifier: GPL-2.0

//! Module parameters. 6.12's `module!` macro cannot declare them, so `rust/helpers.c` does
//! with `module_param()` and this file reads them (they are read-only after load: 0444).

use super::bindings;

/// `pid_bits=N`: how many low bits of a gpid hold the namespace-local PID.
pub(crate) fn pid_bits() -> u32 {
    // SAFETY: reads a plain integer that is written only while the module is being loaded.
    unsafe { bindings::gpid_param_pid_bits() }
}
