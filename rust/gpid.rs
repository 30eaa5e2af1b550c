// SPDX-License-Identifier: GPL-2.0

//! gpid: process IDs that stay meaningful across PID namespaces.
//!
//! A gpid is `(nsid << pid_bits) | nr`: the high bits name a PID namespace, the low bits are
//! the PID local to it, and a value with `nsid == 0` keeps meaning "in my own namespace". See
//! `Documentation/gpid.rst` for the design and `include/uapi/linux/gpid.h` for the ABI.

use kernel::{c_str, prelude::*, sync::Arc};

mod creds;
mod device;
mod features;
#[path = "gpid_core/src/lib.rs"]
pub mod gpid_core;
mod gpids;
mod kernel_ext;
mod msq;
mod procfs;
mod quota;
mod registry;
mod robust;
mod signals;

use gpid_core::encoding::Encoding;
use gpids::Gpids;
use kernel_ext::miscdevice::{MiscDeviceOptions, Registration};
use kernel_ext::pid_namespace::PidNamespace;
use kernel_ext::proc_fs::ProcDir;
use kernel_ext::{params, sysctl};

module! {
    type: Gpid,
    name: "gpid",
    authors: ["gpid developers"],
    description: "Global PIDs across PID namespaces",
    license: "GPL",
}

struct Gpid {
    // Dropped in declaration order: the device goes first so no new ioctl starts while the
    // rest is torn down (open files pin the module, so none is running either).
    _device: Pin<KBox<Registration<device::GpidDevice>>>,
    _proc: ProcDir<Gpids>,
}

/// The largest PID the kernel may hand out now: `pid_max - 1`. pid_max is not exported to
/// modules, so it is read from its sysctl file.
fn max_pid() -> Result<u32> {
    let pid_max = sysctl::read_int(c_str!("/proc/sys/kernel/pid_max"))?;
    u32::try_from(pid_max.saturating_sub(1)).map_err(|_| EINVAL)
}

/// The encoding selected by `pid_bits=`, if every PID the kernel can hand out now fits it.
fn encoding() -> Result<Encoding> {
    let pid_bits = params::pid_bits();
    let encoding = match Encoding::new(pid_bits) {
        Ok(e) if pid_bits >= MIN_PID_BITS => e,
        _ => {
            pr_err!("pid_bits={} out of range {}..={}\n", pid_bits, MIN_PID_BITS, Encoding::MAX_PID_BITS);
            return Err(EINVAL);
        }
    };
    let max_pid = max_pid().inspect_err(|e| {
        pr_err!("cannot read /proc/sys/kernel/pid_max ({:?})\n", e);
    })?;
    if max_pid > encoding.max_nr() {
        pr_err!(
            "pid_max {} does not fit pid_bits={} (largest PID {}): raise pid_bits\n",
            u64::from(max_pid) + 1,
            pid_bits,
            encoding.max_nr()
        );
        return Err(EINVAL);
    }
    Ok(encoding)
}

/// Below this, the namespace table (one slot per nsid) grows past a few hundred KiB.
const MIN_PID_BITS: u32 = 16;

impl kernel::Module for Gpid {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let encoding = encoding()?;
        let gpids = Arc::pin_init(Gpids::new(encoding)?, GFP_KERNEL)?;
        // The initial namespace is always nsid 1, whoever asks first.
        gpids.nsid(PidNamespace::init_ns())?;
        let proc = procfs::create(gpids.clone())?;
        let device = KBox::try_pin_init(
            Registration::register(
                MiscDeviceOptions {
                    name: c_str!("gpid"),
                    // Any task may use gpid: every command checks what its caller may see or do.
                    mode: 0o666,
                },
                gpids,
            ),
            GFP_KERNEL,
        )?;
        pr_info!(
            "loaded: ABI {}, pid_bits {}, {} namespaces\n",
            kernel_ext::uapi::GPID_ABI_VERSION,
            encoding.pid_bits(),
            encoding.max_nsid()
        );
        Ok(Self {
            _device: device,
            _proc: proc,
        })
    }
}
