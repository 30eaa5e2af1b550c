// SPDX-License-Identifier: GPL-2.0

//! `/proc` directories and read-only seq files (upstream Rust has no procfs abstraction yet;
//! this follows the shape of its `miscdevice` and `seq_file` modules).

use super::{bindings, seq_file::SeqFile};
use core::ptr::NonNull;
use kernel::{
    error::{from_result, code::ENOMEM, Result},
    ffi::{c_int, c_void},
    str::CStr,
};

/// A read-only `/proc` file whose whole content is produced in one go by [`ProcShow::show`]
/// (`single_open` semantics).
pub(crate) trait ProcShow {
    /// Writes the file's content.
    fn show(m: &SeqFile) -> Result;
}

/// A directory in `/proc`, removed with everything below it on drop.
///
/// # Invariants
///
/// `entry` is a live proc entry created by `proc_mkdir` and removed only by `drop`.
pub(crate) struct ProcDir {
    entry: NonNull<bindings::proc_dir_entry>,
}

// SAFETY: the proc core serialises creation and removal of entries internally; the handle
// itself is just a pointer.
unsafe impl Send for ProcDir {}
// SAFETY: `&ProcDir` only allows adding entries, which the proc core serialises.
unsafe impl Sync for ProcDir {}

impl ProcDir {
    /// Creates `/proc/NAME`.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is a NUL-terminated string that outlives the entry.
        let entry = unsafe { bindings::proc_mkdir(name.as_char_ptr(), core::ptr::null_mut()) };
        Ok(Self {
            entry: NonNull::new(entry).ok_or(ENOMEM)?,
        })
    }

    /// Creates the read-only file `NAME` in this directory, backed by `T`.
    pub(crate) fn add_single<T: ProcShow>(&self, name: &'static CStr) -> Result {
        // SAFETY: `name` outlives the entry; the parent is live (type invariant); the show
        // function is valid for as long as the module is loaded, and the entry is removed
        // (waiting for open readers) before the module's code goes away.
        let entry = unsafe {
            bindings::proc_create_single_data(
                name.as_char_ptr(),
                0o444,
                self.entry.as_ptr(),
                Some(show_trampoline::<T>),
                core::ptr::null_mut(),
            )
        };
        if entry.is_null() {
            return Err(ENOMEM);
        }
        Ok(())
    }
}

impl Drop for ProcDir {
    fn drop(&mut self) {
        // SAFETY: `entry` is live (type invariant); `proc_remove` removes the whole subtree and
        // waits until no reader is inside a show function.
        unsafe { bindings::proc_remove(self.entry.as_ptr()) };
    }
}

/// # Safety
///
/// Called by `seq_read` with a valid, exclusively held seq file.
unsafe extern "C" fn show_trampoline<T: ProcShow>(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: `seq_read` holds the seq file's lock for the duration of the call.
    let m = unsafe { SeqFile::from_raw(m) };
    from_result(|| T::show(m).map(|()| 0))
}
