// SPDX-License-Identifier: GPL-2.0

//! Seq file bindings, in the shape of upstream `rust/kernel/seq_file.rs` (6.13+).

use super::bindings;
use core::{ffi::c_void, fmt};
use kernel::types::Opaque;

/// A utility for generating the contents of a seq file.
#[repr(transparent)]
pub(crate) struct SeqFile {
    inner: Opaque<bindings::seq_file>,
}

impl SeqFile {
    /// Creates a new [`SeqFile`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// The caller must ensure that for the duration of `'a` the following is satisfied:
    /// * The pointer points at a valid `struct seq_file`.
    /// * The `struct seq_file` is not accessed from any other thread.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::seq_file) -> &'a SeqFile {
        // SAFETY: The caller ensures that the reference is valid for 'a. There's no way to
        // trigger data races by using the `&SeqFile` since this is the only thread accessing the
        // seq_file.
        //
        // CAST: The layout of `struct seq_file` and `SeqFile` is compatible.
        unsafe { &*ptr.cast() }
    }

    /// Used by the [`seq_print`] macro.
    pub(crate) fn call_printf(&self, args: fmt::Arguments<'_>) {
        // SAFETY: Passing a `fmt::Arguments` with the `%pA` specifier is how the kernel's
        // vsprintf formats Rust values; `self.inner` is a valid seq_file.
        unsafe {
            bindings::seq_printf(
                self.inner.get(),
                kernel::c_str!("%pA").as_char_ptr(),
                &args as *const _ as *const c_void,
            );
        }
    }
}

/// Write to a [`SeqFile`] with the ordinary Rust formatting syntax.
macro_rules! seq_print {
    ($m:expr, $($arg:tt)+) => (
        $m.call_printf(format_args!($($arg)+))
    );
}
pub(crate) use seq_print;
