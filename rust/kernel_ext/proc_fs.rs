// SPDX-License-Identifier: GPL-2.0

//! `/proc` directories and read-only seq files (upstream Rust has no procfs abstraction yet;
//! this follows the shape of its `miscdevice` and `seq_file` modules).

use super::bindings;
use kernel::seq_file::SeqFile;
use kernel::str::CStrExt as _;
use core::ptr::NonNull;
use kernel::{
    error::{code::ENOMEM, from_result, Result},
    ffi::{c_int, c_void},
    str::CStr,
    sync::Arc,
};

/// A read-only `/proc` file whose whole content is produced in one go by [`ProcShow::show`]
/// (`single_open` semantics), in the context of the reading task.
pub(crate) trait ProcShow {
    /// The data of the directory the file is in.
    type Data: Send + Sync + 'static;

    /// Writes the file's content.
    fn show(m: &SeqFile, data: &Self::Data) -> Result;
}

/// A directory in `/proc` whose files all see `data`; removed with everything below it on
/// drop.
///
/// # Invariants
///
/// `entry` is a live proc entry created by `proc_mkdir` and removed only by `drop`; every file
/// in it points at `data`, which outlives them.
pub(crate) struct ProcDir<D: Send + Sync + 'static> {
    entry: NonNull<bindings::proc_dir_entry>,
    data: Arc<D>,
}

// SAFETY: the proc core serialises creation and removal of entries internally; `D` is
// `Send + Sync`.
unsafe impl<D: Send + Sync> Send for ProcDir<D> {}
// SAFETY: `&ProcDir` only allows adding entries, which the proc core serialises.
unsafe impl<D: Send + Sync> Sync for ProcDir<D> {}

impl<D: Send + Sync + 'static> ProcDir<D> {
    /// Creates `/proc/NAME`.
    pub(crate) fn new(name: &'static CStr, data: Arc<D>) -> Result<Self> {
        // SAFETY: `name` is a NUL-terminated string that outlives the entry.
        let entry = unsafe { bindings::proc_mkdir(name.as_char_ptr(), core::ptr::null_mut()) };
        Ok(Self {
            entry: NonNull::new(entry).ok_or(ENOMEM)?,
            data,
        })
    }

    /// Creates the read-only file `NAME` in this directory, backed by `T`.
    pub(crate) fn add_single<T: ProcShow<Data = D>>(&self, name: &'static CStr) -> Result {
        let data: *const D = &*self.data;
        // SAFETY: `name` outlives the entry; the parent is live (type invariant); the show
        // function is valid for as long as the module is loaded; `data` outlives the entry,
        // which `drop` removes (waiting for readers) before releasing `data`.
        let entry = unsafe {
            bindings::proc_create_single_data(
                name.as_char_ptr(),
                0o444,
                self.entry.as_ptr(),
                Some(show_trampoline::<T>),
                data.cast_mut().cast(),
            )
        };
        if entry.is_null() {
            return Err(ENOMEM);
        }
        Ok(())
    }
}

impl<D: Send + Sync + 'static> Drop for ProcDir<D> {
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
    // SAFETY: `single_open` set `private` to the entry's data, a `T::Data` that outlives the
    // entry (`ProcDir` invariant), and the entry cannot be removed while `show` runs.
    let data = unsafe { &*((*m).private as *const T::Data) };
    // SAFETY: `seq_read` holds the seq file's lock for the duration of the call.
    let m = unsafe { SeqFile::from_raw(m.cast()) };
    from_result(|| T::show(m, data).map(|()| 0))
}
