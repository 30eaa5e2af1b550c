// SPDX-License-Identifier: GPL-2.0

//! Miscdevice support, in the shape of upstream `rust/kernel/miscdevice.rs` (6.13+).
//!
//! One deliberate difference: the file operations carry the owning module, so the VFS pins the
//! module while a file is open and `rmmod` fails with `EBUSY` instead of unloading code that an
//! open file still points to (upstream leaves `fops.owner` NULL).

use super::bindings;
use core::{marker::PhantomData, pin::Pin};
use kernel::{
    alloc::{flags::GFP_KERNEL, KBox},
    error::{from_result, to_result, Error, Result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_long, c_uint, c_ulong},
    prelude::*,
    str::CStr,
    types::{ForeignOwnable, Opaque},
    ThisModule,
};

/// Options for creating a misc device.
#[derive(Copy, Clone)]
pub(crate) struct MiscDeviceOptions {
    /// The name of the device (`/dev/NAME`).
    pub(crate) name: &'static CStr,
    /// The mode of the device node (upstream later gained the same option).
    pub(crate) mode: u16,
}

/// The state of one registered device: pinned because the misc core keeps pointers to the C
/// parts for as long as the device is registered.
#[repr(C)]
struct RawRegistration<T: MiscDevice> {
    /// First, so that the `struct miscdevice *` the misc core hands to `open` is also a
    /// pointer to the whole registration.
    misc: Opaque<bindings::miscdevice>,
    fops: Opaque<bindings::file_operations>,
    data: T::RegistrationData,
}

/// A registered misc device; deregistered on drop.
///
/// # Invariants
///
/// `inner.misc` is registered with the misc core, and `inner.fops` is the operations table it
/// points to, until this value is dropped.
pub(crate) struct MiscDeviceRegistration<T: MiscDevice> {
    inner: Pin<KBox<RawRegistration<T>>>,
    _t: PhantomData<T>,
}

// SAFETY: the C parts are accessed by the misc core under its own lock, and the data is
// `Send + Sync` (trait bound); moving or sharing the handle does not touch either.
unsafe impl<T: MiscDevice> Send for MiscDeviceRegistration<T> {}
// SAFETY: see `Send`; `&MiscDeviceRegistration` offers no access at all.
unsafe impl<T: MiscDevice> Sync for MiscDeviceRegistration<T> {}

impl<T: MiscDevice> MiscDeviceRegistration<T> {
    /// Registers a misc device with a dynamic minor, owned by `module`; every `open` gets
    /// `data`.
    pub(crate) fn register(
        opts: MiscDeviceOptions,
        module: &'static ThisModule,
        data: T::RegistrationData,
    ) -> Result<Self> {
        let inner = KBox::pin(
            RawRegistration {
                misc: Opaque::uninit(),
                fops: Opaque::uninit(),
                data,
            },
            GFP_KERNEL,
        )?;
        let fops = inner.fops.get();
        // SAFETY: `fops` and `misc` point into the pinned allocation above, which nothing else
        // references yet, and both are plain C structs for which all-zero is a valid value.
        unsafe {
            fops.write(create_vtable::<T>(module));
            let mut misc: bindings::miscdevice = core::mem::zeroed();
            misc.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
            misc.name = opts.name.as_char_ptr();
            misc.mode = opts.mode;
            misc.fops = fops;
            inner.misc.get().write(misc);
        }
        // SAFETY: `misc` is fully initialised and pinned; on success it stays registered until
        // `drop` deregisters it (type invariant).
        to_result(unsafe { bindings::misc_register(inner.misc.get()) })?;
        Ok(Self {
            inner,
            _t: PhantomData,
        })
    }
}

impl<T: MiscDevice> Drop for MiscDeviceRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: the device is registered (type invariant) and is deregistered only here.
        unsafe { bindings::misc_deregister(self.inner.misc.get()) };
    }
}

/// Trait implemented by the private data of an open misc device.
#[vtable]
pub(crate) trait MiscDevice: Sized {
    /// What the file's `private_data` holds while the file is open.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Data given at registration and passed to every `open`.
    type RegistrationData: Send + Sync;

    /// Called when the misc device is opened.
    fn open(data: &Self::RegistrationData) -> Result<Self::Ptr>;

    /// Called when the last reference to the file is dropped.
    fn release(device: Self::Ptr) {
        drop(device);
    }

    /// Handler for ioctls; `cmd` is the full ioctl number, `arg` the raw argument.
    fn ioctl(
        _device: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
}

fn create_vtable<T: MiscDevice>(module: &'static ThisModule) -> bindings::file_operations {
    bindings::file_operations {
        owner: module.as_ptr().cast(),
        open: Some(fops_open::<T>),
        release: Some(fops_release::<T>),
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(fops_ioctl::<T>)
        } else {
            None
        },
        llseek: Some(bindings::noop_llseek),
        ..Default::default()
    }
}

/// # Safety
///
/// Called by the VFS as `open` of a file whose `f_op` is this vtable.
unsafe extern "C" fn fops_open<T: MiscDevice>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    from_result(|| {
        // SAFETY: the misc core stores the `struct miscdevice *` of the opened device in
        // `private_data` before calling `open`; it is the first field of a live, pinned
        // `RawRegistration<T>` (`repr(C)`), which stays registered while this file op runs.
        let raw = unsafe { &*((*file).private_data as *const RawRegistration<T>) };
        let ptr = T::open(&raw.data)?;
        // SAFETY: `file` is valid for the duration of `open`; the miscdevice pointer is no
        // longer needed, so it is replaced by the device's own data.
        unsafe { (*file).private_data = ptr.into_foreign().cast_mut() };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS as `release` of a file opened by `fops_open::<T>`.
unsafe extern "C" fn fops_release<T: MiscDevice>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `private_data` was set by `fops_open` from `into_foreign`, and release runs once,
    // after every other file operation has returned.
    let ptr = unsafe { T::Ptr::from_foreign((*file).private_data) };
    T::release(ptr);
    0
}

/// # Safety
///
/// Called by the VFS as `unlocked_ioctl` of a file opened by `fops_open::<T>`.
unsafe extern "C" fn fops_ioctl<T: MiscDevice>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: `private_data` came from `into_foreign` in `fops_open`, and `release` (which
    // reclaims it) cannot run while this ioctl holds a reference to the file.
    let device = unsafe { T::Ptr::borrow((*file).private_data) };
    match T::ioctl(device, cmd, arg) {
        Ok(ret) => ret as c_long,
        Err(err) => Error::to_errno(err) as c_long,
    }
}
