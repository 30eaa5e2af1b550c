// SPDX-License-Identifier: GPL-2.0

//! gpid: process IDs that stay meaningful across PID namespaces.
//!
//! A gpid is a value below `2^30` (the futex TID mask): a plain PID keeps meaning "in my own
//! namespace", and above the plain range the values are divided into slots of two widths,
//! each slot naming one PID namespace and holding its PIDs (`gpid_core::layout`). See
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

use gpid_core::layout::{Class, Layout};
use gpids::Gpids;
use kernel_ext::miscdevice::{MiscDeviceOptions, Registration};
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

/// The layout the parameters select, if every PID the kernel can hand out now fits it.
fn layout() -> Result<Layout> {
    let pid_bits = params::pid_bits();
    if !(MIN_PID_BITS..=Layout::MAX_PID_BITS).contains(&pid_bits) {
        pr_err!("pid_bits={} out of range {}..={}\n", pid_bits, MIN_PID_BITS, Layout::MAX_PID_BITS);
        return Err(EINVAL);
    }
    let narrow_bits = params::narrow_bits();
    if !(Layout::MIN_PID_BITS..=pid_bits).contains(&narrow_bits) {
        pr_err!("narrow_bits={} out of range {}..={}\n", narrow_bits, Layout::MIN_PID_BITS, pid_bits);
        return Err(EINVAL);
    }
    // Every wide slot must fit below 2^30, above the plain range.
    let max_wide = (1u32 << (gpid_core::encoding::GPID_BITS - pid_bits)) - 1;
    let wide_slots = match params::wide_slots() {
        0 => Layout::DEFAULT_WIDE_SLOTS.min(max_wide),
        n if n <= max_wide => n,
        n => {
            pr_err!("wide_slots={} out of range 1..={} for pid_bits={}\n", n, max_wide, pid_bits);
            return Err(EINVAL);
        }
    };
    // Every narrow slot that fits above the wide ones, up to `MAX_NARROW_SLOTS`.
    let layout = Layout::fitted(pid_bits, narrow_bits, wide_slots, MAX_NARROW_SLOTS)
        .map_err(|_| EINVAL)?;
    let max_pid = max_pid().inspect_err(|e| {
        pr_err!("cannot read /proc/sys/kernel/pid_max ({:?})\n", e);
    })?;
    if max_pid > layout.max_nr(Class::Wide) {
        pr_err!(
            "pid_max {} does not fit pid_bits={} (largest PID {}): raise pid_bits\n",
            u64::from(max_pid) + 1,
            pid_bits,
            layout.max_nr(Class::Wide)
        );
        return Err(EINVAL);
    }
    Ok(layout)
}

/// The most narrow slots a layout gets. Each slot's table, index and quota entries are
/// preallocated (about 100 bytes a slot), so small `narrow_bits` (8 would fit 3.1 million
/// slots, over 300 MB) are capped: 65536 is five times the default layout's 12160.
const MAX_NARROW_SLOTS: u32 = 1 << 16;

/// Below this, a wide slot cannot hold the kernel's default `pid_max` (32768).
const MIN_PID_BITS: u32 = 16;

impl kernel::Module for Gpid {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let layout = layout()?;
        let gpids = Arc::pin_init(Gpids::new(layout)?, GFP_KERNEL)?;
        gpids.bind_init()?;
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
            "loaded: ABI {}, {} wide slots of {} bits, {} narrow slots of {} bits\n",
            kernel_ext::uapi::GPID_ABI_VERSION,
            layout.slots(Class::Wide),
            layout.pid_bits(),
            layout.slots(Class::Narrow),
            layout.narrow_bits()
        );
        Ok(Self {
            _device: device,
            _proc: proc,
        })
    }
}
