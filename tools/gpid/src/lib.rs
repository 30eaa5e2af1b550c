//! Safe wrappers for the `/dev/gpid` ioctls.
//!
//! ```no_run
//! let dev = gpid::Device::open()?;
//! let v = dev.version()?;
//! println!("ABI {} pid_bits {}", v.abi_version, v.pid_bits);
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod uapi;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;

pub use uapi::GpidVersion;

/// An open `/dev/gpid`.
pub struct Device {
    file: File,
}

impl Device {
    /// Opens `/dev/gpid`.
    pub fn open() -> io::Result<Self> {
        Self::open_path(uapi::GPID_DEVICE_PATH)
    }

    /// Opens the gpid device at `path`.
    pub fn open_path(path: &str) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).open(path)?;
        Ok(Self { file })
    }

    /// Issues `cmd` with a pointer argument; returns the ioctl's non-negative result.
    ///
    /// # Safety
    ///
    /// `arg` must be valid for what `cmd` reads and writes.
    pub unsafe fn ioctl_raw(&self, cmd: u32, arg: *mut libc::c_void) -> io::Result<i32> {
        // SAFETY: the caller vouches for `arg`; the fd is open for the lifetime of `self`.
        let r = unsafe { libc::ioctl(self.file.as_raw_fd(), cmd as _, arg) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    /// `GPID_IOC_VERSION`: ABI version, encoding and active features of the running module.
    pub fn version(&self) -> io::Result<GpidVersion> {
        let mut v = GpidVersion::default();
        // SAFETY: `v` is a live `struct gpid_version`, exactly what the command writes.
        unsafe { self.ioctl_raw(uapi::GPID_IOC_VERSION, (&mut v as *mut GpidVersion).cast())? };
        Ok(v)
    }
}

/// Names of the feature bits set in `features`, in bit order.
pub fn feature_names(features: u64) -> Vec<&'static str> {
    uapi::GPID_FEATURES
        .iter()
        .filter(|(bit, _)| features & bit != 0)
        .map(|&(_, name)| name)
        .collect()
}
