// SPDX-License-Identifier: GPL-2.0

//! gpid: process IDs that stay meaningful across PID namespaces.
//!
//! A gpid is `(nsid << pid_bits) | nr`: the high bits name a PID namespace, the low bits are
//! the PID local to it, and a value with `nsid == 0` keeps meaning "in my own namespace". See
//! `Documentation/gpid.rst` for the design and `include/uapi/linux/gpid.h` for the ABI.

use kernel::{c_str, prelude::*};

mod device;
mod features;
#[path = "gpid_core/src/lib.rs"]
pub mod gpid_core;
mod kernel_ext;
mod procfs;

use kernel_ext::miscdevice::{MiscDeviceOptions, MiscDeviceRegistration};
use kernel_ext::proc_fs::ProcDir;

module! {
    type: Gpid,
    name: "gpid",
    author: "gpid developers",
    description: "Global PIDs across PID namespaces",
    license: "GPL",
}

struct Gpid {
    // Dropped in declaration order: the device goes first so no new ioctl starts while the
    // rest is torn down.
    _device: MiscDeviceRegistration<device::GpidDevice>,
    _proc: ProcDir,
}

impl kernel::Module for Gpid {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let proc = procfs::create()?;
        let device = MiscDeviceRegistration::register(
            MiscDeviceOptions {
                name: c_str!("gpid"),
            },
            module,
        )?;
        pr_info!("loaded, ABI {}\n", kernel_ext::uapi::GPID_ABI_VERSION);
        Ok(Self {
            _device: device,
            _proc: proc,
        })
    }
}
