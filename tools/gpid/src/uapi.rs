//! The ABI of `/dev/gpid`, mirrored from `include/uapi/linux/gpid.h`.
//!
//! `tests/uapi.rs` compiles a C program against the header and checks every constant, size
//! and offset here against it, so the two cannot drift.

/// `GPID_ABI_VERSION`.
pub const GPID_ABI_VERSION: u32 = 1;
/// `GPID_DEVICE_PATH`.
pub const GPID_DEVICE_PATH: &str = "/dev/gpid";
/// `GPID_IOC_MAGIC`.
pub const GPID_IOC_MAGIC: u32 = 0xB9;

/// `GPID_FEATURE_*` bits with the names `/proc/gpid/features` uses.
pub const GPID_FEATURES: &[(u64, &str)] = &[
    (1 << 0, "global_pids"),
    (1 << 1, "robust_futex"),
    (1 << 2, "sigqueue"),
    (1 << 3, "signal_fixup"),
    (1 << 4, "msq"),
    (1 << 5, "peercred"),
];

/// `struct gpid_version`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidVersion {
    /// `abi_version`.
    pub abi_version: u32,
    /// `pid_bits`.
    pub pid_bits: u32,
    /// `features`.
    pub features: u64,
}

const IOC_NRBITS: u32 = 8;
const IOC_TYPEBITS: u32 = 8;
const IOC_SIZEBITS: u32 = 14;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | (GPID_IOC_MAGIC << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
}

/// `_IOR(GPID_IOC_MAGIC, nr, T)`.
pub const fn ior<T>(nr: u32) -> u32 {
    ioc(IOC_READ, nr, core::mem::size_of::<T>())
}

/// `_IOWR(GPID_IOC_MAGIC, nr, T)`.
pub const fn iowr<T>(nr: u32) -> u32 {
    ioc(IOC_READ | IOC_WRITE, nr, core::mem::size_of::<T>())
}

/// `GPID_IOC_VERSION`.
pub const GPID_IOC_VERSION: u32 = ior::<GpidVersion>(0x00);
