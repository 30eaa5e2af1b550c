// SPDX-License-Identifier: GPL-2.0

//! A misc device whose node has a mode and whose every `open` sees data given at registration:
//! the two things upstream's `kernel::miscdevice` (7.3) does not offer yet.
//!
//! Everything else is upstream's: the file operations table (with `fops.owner`, so an open file
//! pins the module, and `compat_ptr_ioctl` for 32-bit callers), `open`/`release`/`ioctl`
//! dispatch and `File`. The driver implements [`MiscDeviceWithData`]; a private adapter type
//! implements upstream's [`MiscDevice`] on top of it. Only this file can name the adapter, so
//! every `MiscDeviceRegistration<Adapter<T>>` upstream's `open` hands out lies inside a
//! [`Registration<T>`], which is what makes reaching the data from it sound.

use core::marker::PhantomData;
use kernel::{
    bindings,
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceOptions as UpstreamOptions, MiscDeviceRegistration},
    prelude::*,
    types::{ForeignOwnable, Opaque},
};

/// Options for creating a misc device.
#[derive(Copy, Clone)]
pub(crate) struct MiscDeviceOptions {
    /// The name of the device (`/dev/NAME`).
    pub(crate) name: &'static CStr,
    /// The mode of the device node.
    pub(crate) mode: u16,
}

/// A misc device driver whose `open` gets the data its registration was given.
pub(crate) trait MiscDeviceWithData: Sized + 'static {
    /// What the file's `private_data` holds while the file is open.
    type Ptr: ForeignOwnable + Send + Sync;
    /// Given at registration, shared by every open file.
    type Data: Send + Sync;

    /// Called when the device is opened.
    fn open(data: &Self::Data, file: &File) -> Result<Self::Ptr>;

    /// Handler for ioctls; `cmd` is the full ioctl number, `arg` the raw argument (32-bit
    /// callers come through upstream's `compat_ptr_ioctl`, so `arg` is a user address for them
    /// too).
    fn ioctl(
        device: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        file: &File,
        cmd: u32,
        arg: usize,
    ) -> Result<isize>;
}

/// Upstream's view of a [`MiscDeviceWithData`] driver. Private: nothing outside this file can
/// register it, so every registration of it is the `misc` field of a [`Registration`].
struct Adapter<T>(PhantomData<T>);

#[vtable]
impl<T: MiscDeviceWithData> MiscDevice for Adapter<T> {
    type Ptr = T::Ptr;

    fn open(file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<T::Ptr> {
        let reg: *const Registration<T> = misc.as_raw().cast();
        // SAFETY: `Adapter<T>` is registered only by `Registration::<T>::register`, as the
        // first field of a `repr(C)` `Registration<T>` (type comment), and the misc core keeps
        // the device registered, hence the registration alive, while `open` runs.
        let data = unsafe { &(*reg).data };
        T::open(data, file)
    }

    fn ioctl(
        device: <T::Ptr as ForeignOwnable>::Borrowed<'_>,
        file: &File,
        cmd: u32,
        arg: usize,
    ) -> Result<isize> {
        T::ioctl(device, file, cmd, arg)
    }
}

/// A registered misc device; deregistered on drop.
///
/// # Invariants
///
/// `misc` holds a `struct miscdevice` built by upstream's `MiscDeviceOptions::into_raw` for
/// `Adapter<T>` (plus the mode) and registered with the misc core until `drop`; `data` lives as
/// long as it is registered.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: MiscDeviceWithData> {
    /// First: upstream's `open` sees a pointer to it as a `MiscDeviceRegistration`, which is
    /// `repr(transparent)` over the same `Opaque<miscdevice>`.
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    data: T::Data,
}

// SAFETY: the misc core serialises registration and deregistration, which may happen on any
// thread; the data is `Send + Sync` (trait bound).
unsafe impl<T: MiscDeviceWithData> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to the C part; the data is `Sync`.
unsafe impl<T: MiscDeviceWithData> Sync for Registration<T> {}

impl<T: MiscDeviceWithData> Registration<T> {
    /// Registers `/dev/NAME` with a dynamic minor and the given mode; every `open` gets `data`.
    pub(crate) fn register(opts: MiscDeviceOptions, data: T::Data) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            data,
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut raw = UpstreamOptions { name: opts.name }.into_raw::<Adapter<T>>();
                // Upstream's options have no mode yet; devtmpfs reads it at registration.
                raw.mode = opts.mode;
                // SAFETY: `slot` is valid for writes (`try_ffi_init`), and once written holds a
                // complete `struct miscdevice`, pinned for as long as `Self` lives; `drop`
                // deregisters it before the memory goes. `data` is initialised before `misc`
                // (field order above), so `open` never sees it uninitialised.
                unsafe {
                    slot.write(raw);
                    kernel::error::to_result(bindings::misc_register(slot))
                }
            }),
        })
    }
}

#[pinned_drop]
impl<T: MiscDeviceWithData> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: the device is registered (type invariant) and is deregistered only here.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}
