// SPDX-License-Identifier: GPL-2.0

//! `/dev/gpid`: the ioctl entry points.

use crate::{features, gpid_core::encoding::Encoding, kernel_ext::miscdevice::MiscDevice};
use crate::kernel_ext::uapi;
use kernel::{prelude::*, uaccess::UserSlice};

/// The misc device; open files carry no state of their own yet.
pub(crate) struct GpidDevice;

#[vtable]
impl MiscDevice for GpidDevice {
    type Ptr = ();

    fn open() -> Result<()> {
        Ok(())
    }

    fn ioctl(_device: (), cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::GPID_IOC_VERSION => version(arg),
            _ => Err(ENOTTY),
        }
    }
}

fn version(arg: usize) -> Result<isize> {
    let answer = uapi::gpid_version {
        abi_version: uapi::GPID_ABI_VERSION,
        pid_bits: Encoding::DEFAULT_PID_BITS,
        features: features::active(),
    };
    UserSlice::new(arg, core::mem::size_of::<uapi::gpid_version>())
        .writer()
        .write(&answer)?;
    Ok(0)
}
