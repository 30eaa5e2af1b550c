//! The ABI of `/dev/gpid`, mirrored from `include/uapi/linux/gpid.h`.
//!
//! `tests/uapi.rs` compiles a C program against the header and checks every constant, size,
//! offset and field signedness here against it, and checks that the C program covers every
//! `#define` and struct field of the header, so the two cannot drift.

/// `GPID_ABI_VERSION`.
pub const GPID_ABI_VERSION: u32 = 2;
/// `GPID_DEVICE_PATH`.
pub const GPID_DEVICE_PATH: &str = "/dev/gpid";
/// `GPID_IOC_MAGIC`.
pub const GPID_IOC_MAGIC: u32 = 0xB9;

/// `GPID_FEATURE_GLOBAL_PIDS`: encode/decode, namespace registry.
pub const GPID_FEATURE_GLOBAL_PIDS: u64 = 1 << 0;
/// `GPID_FEATURE_ROBUST_FUTEX`: translating robust-list walker.
pub const GPID_FEATURE_ROBUST_FUTEX: u64 = 1 << 1;
/// `GPID_FEATURE_SIGQUEUE`: explicit signal queueing ioctl.
pub const GPID_FEATURE_SIGQUEUE: u64 = 1 << 2;
/// `GPID_FEATURE_MSQ`: SysV message queue identities.
pub const GPID_FEATURE_MSQ: u64 = 1 << 4;
/// `GPID_FEATURE_PEERCRED`: unix socket peer identities.
pub const GPID_FEATURE_PEERCRED: u64 = 1 << 5;
/// `GPID_FEATURE_SIGQUEUE_THREAD`: thread-directed `GPID_IOC_SIGQUEUE` (refused under an LSM).
pub const GPID_FEATURE_SIGQUEUE_THREAD: u64 = 1 << 6;

/// `GPID_FEATURE_*` bits with the names `/proc/gpid/features` uses.
pub const GPID_FEATURES: &[(u64, &str)] = &[
    (GPID_FEATURE_GLOBAL_PIDS, "global_pids"),
    (GPID_FEATURE_ROBUST_FUTEX, "robust_futex"),
    (GPID_FEATURE_SIGQUEUE, "sigqueue"),
    (GPID_FEATURE_MSQ, "msq"),
    (GPID_FEATURE_PEERCRED, "peercred"),
    (GPID_FEATURE_SIGQUEUE_THREAD, "sigqueue_thread"),
];

/// `struct gpid_version`: the ABI and the layout of gpid values (see [`crate::Layout`]).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidVersion {
    /// `abi_version`.
    pub abi_version: u32,
    /// `pid_bits`: width of a wide slot and of the plain range.
    pub pid_bits: u32,
    /// `features`.
    pub features: u64,
    /// `narrow_bits`: width of a narrow slot (at most `pid_bits`).
    pub narrow_bits: u32,
    /// `wide_slots`: W, slot ids 1..=W.
    pub wide_slots: u32,
    /// `narrow_slots`: N, slot ids W+1..=W+N.
    pub narrow_slots: u32,
    /// `narrow_start`: the value where narrow slot W+1 starts, `(W + 1) << pid_bits`.
    pub narrow_start: u32,
}

/// `GPID_MASK`: every gpid fits the futex TID mask.
pub const GPID_MASK: u32 = 0x3fff_ffff;
/// `GPID_MAX_LEVELS` (levels 0..=`MAX_PID_NS_LEVEL`).
pub const GPID_MAX_LEVELS: u32 = 33;
/// `GPID_BATCH_MAX`: most values one `GPID_IOC_DECODE_BATCH` takes.
pub const GPID_BATCH_MAX: u32 = 4096;

/// `struct gpid_self`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidSelf {
    /// `tid`: canonical gpid of the calling thread.
    pub tid: u32,
    /// `tgid`: canonical gpid of its thread group.
    pub tgid: u32,
    /// `slot`: owner slot id of the caller's PID namespace.
    pub slot: u32,
    /// `level`: always 0 (levels are relative to the caller).
    pub level: u32,
}

/// `GPID_ENCODE_TGID`.
pub const GPID_ENCODE_TGID: u32 = 1 << 0;

/// `struct gpid_encode`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidEncode {
    /// `pid` (in).
    pub pid: i32,
    /// `flags` (in): `GPID_ENCODE_*`.
    pub flags: u32,
    /// `gpid` (out).
    pub gpid: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
}

/// `struct gpid_decode`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidDecode {
    /// `gpid` (in).
    pub gpid: u32,
    /// `flags` (in): must be 0.
    pub flags: u32,
    /// `pid` (out).
    pub pid: i32,
    /// `reserved`: must be 0.
    pub reserved: u32,
}

/// `struct gpid_decode_batch`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidDecodeBatch {
    /// `gpids`: user pointer to `count` `u32`.
    pub gpids: u64,
    /// `pids`: user pointer to `count` `i32` results.
    pub pids: u64,
    /// `count`: 1..=`GPID_BATCH_MAX`.
    pub count: u32,
    /// `flags`: must be 0.
    pub flags: u32,
}

/// `struct gpid_levels`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpidLevels {
    /// `pid` (in).
    pub pid: i32,
    /// `flags` (in): `GPID_ENCODE_*`.
    pub flags: u32,
    /// `count` (out).
    pub count: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
    /// `gpids` (out).
    pub gpids: [u32; GPID_MAX_LEVELS as usize],
    /// `reserved2`: must be 0.
    pub reserved2: u32,
}

impl Default for GpidLevels {
    fn default() -> Self {
        Self {
            pid: 0,
            flags: 0,
            count: 0,
            reserved: 0,
            gpids: [0; GPID_MAX_LEVELS as usize],
            reserved2: 0,
        }
    }
}

/// `GPID_POLICY_EXPORT`.
pub const GPID_POLICY_EXPORT: u32 = 1 << 0;
/// `GPID_NS_LIVE`.
pub const GPID_NS_LIVE: u32 = 1 << 0;

/// `struct gpid_ns_info`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidNsInfo {
    /// `slot` (in: a slot id of either class, 0: the caller's namespace; out: the owner slot).
    pub slot: u32,
    /// `flags`: must be 0.
    pub flags: u32,
    /// `level` (out).
    pub level: u32,
    /// `parent_slot` (out): the parent's owner slot, 0 when not visible.
    pub parent_slot: u32,
    /// `ino` (out).
    pub ino: u64,
    /// `generation` (out): of the owner slot.
    pub generation: u32,
    /// `policy` (out): `GPID_POLICY_*`.
    pub policy: u32,
    /// `state` (out): `GPID_NS_*`.
    pub state: u32,
    /// `wide_slot` (out): the wide slot a narrow namespace was promoted to, 0 if none.
    pub wide_slot: u32,
    /// `wide_generation` (out): generation of `wide_slot`, 0 if none.
    pub wide_generation: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
}

/// `GPID_NS_SET_SLOT`: bind the namespace to slot `slot` (either class).
pub const GPID_NS_SET_SLOT: u32 = 1 << 0;
/// `GPID_NS_SET_POLICY`.
pub const GPID_NS_SET_POLICY: u32 = 1 << 1;

/// `struct gpid_ns_set`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidNsSet {
    /// `pid` (in; 0: the caller).
    pub pid: i32,
    /// `flags` (in): `GPID_NS_SET_*`.
    pub flags: u32,
    /// `slot` (in: with `GPID_NS_SET_SLOT`, the slot id wanted; out: the owner slot).
    pub slot: u32,
    /// `policy` (in).
    pub policy: u32,
    /// `generation` (out): of the owner slot.
    pub generation: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
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

/// `_IOW(GPID_IOC_MAGIC, nr, T)`.
pub const fn iow<T>(nr: u32) -> u32 {
    ioc(IOC_WRITE, nr, core::mem::size_of::<T>())
}

/// `_IOWR(GPID_IOC_MAGIC, nr, T)`.
pub const fn iowr<T>(nr: u32) -> u32 {
    ioc(IOC_READ | IOC_WRITE, nr, core::mem::size_of::<T>())
}

/// `GPID_IOC_VERSION`.
pub const GPID_IOC_VERSION: u32 = ior::<GpidVersion>(0x00);
/// `GPID_IOC_SELF`.
pub const GPID_IOC_SELF: u32 = ior::<GpidSelf>(0x01);
/// `GPID_IOC_ENCODE`.
pub const GPID_IOC_ENCODE: u32 = iowr::<GpidEncode>(0x02);
/// `GPID_IOC_DECODE`.
pub const GPID_IOC_DECODE: u32 = iowr::<GpidDecode>(0x03);
/// `GPID_IOC_DECODE_BATCH`.
pub const GPID_IOC_DECODE_BATCH: u32 = iow::<GpidDecodeBatch>(0x04);
/// `GPID_IOC_LEVELS`.
pub const GPID_IOC_LEVELS: u32 = iowr::<GpidLevels>(0x05);
/// `GPID_IOC_NS_INFO`.
pub const GPID_IOC_NS_INFO: u32 = iowr::<GpidNsInfo>(0x06);
/// `GPID_IOC_NS_SET`.
pub const GPID_IOC_NS_SET: u32 = iowr::<GpidNsSet>(0x07);

/// `struct gpid_robust_register`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidRobustRegister {
    /// `flags` (in): must be 0.
    pub flags: u32,
    /// `owner` (out): the owner value the thread writes into futex words.
    pub owner: u32,
}

/// `_IO(GPID_IOC_MAGIC, nr)`.
pub const fn io(nr: u32) -> u32 {
    ioc(0, nr, 0)
}

/// `GPID_IOC_ROBUST_REGISTER`.
pub const GPID_IOC_ROBUST_REGISTER: u32 = iowr::<GpidRobustRegister>(0x10);
/// `GPID_IOC_ROBUST_UNREGISTER`.
pub const GPID_IOC_ROBUST_UNREGISTER: u32 = io(0x11);

/// `GPID_MSQ_UNKNOWN`: a queue older than the module, this side not operated since.
pub const GPID_MSQ_UNKNOWN: u32 = 0;
/// `GPID_MSQ_NONE`: observed, no such operation yet.
pub const GPID_MSQ_NONE: u32 = 1;
/// `GPID_MSQ_PARTY`: the fields name the last party.
pub const GPID_MSQ_PARTY: u32 = 2;

/// `struct gpid_msq`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidMsq {
    /// `msqid` (in).
    pub msqid: i32,
    /// `flags` (in): must be 0.
    pub flags: u32,
    /// `sender_state` (out): `GPID_MSQ_*`.
    pub sender_state: u32,
    /// `sender_pid` (out).
    pub sender_pid: i32,
    /// `sender_gpid` (out).
    pub sender_gpid: u32,
    /// `receiver_state` (out): `GPID_MSQ_*`.
    pub receiver_state: u32,
    /// `receiver_pid` (out).
    pub receiver_pid: i32,
    /// `receiver_gpid` (out).
    pub receiver_gpid: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
    /// `reserved2`: must be 0.
    pub reserved2: u32,
}

/// `GPID_IOC_MSQ`.
pub const GPID_IOC_MSQ: u32 = iowr::<GpidMsq>(0x30);

/// `GPID_PEER_KNOWN`: the kernel holds an identity for the peer.
pub const GPID_PEER_KNOWN: u32 = 1 << 0;
/// `GPID_PEER_ALIVE`: the peer's process is not yet reaped.
pub const GPID_PEER_ALIVE: u32 = 1 << 1;

/// `struct gpid_peer`: a socket's peer as `SO_PEERCRED` reports it, plus its gpid.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidPeer {
    /// `fd` (in): a socket of the caller.
    pub fd: i32,
    /// `flags` (in): must be 0.
    pub flags: u32,
    /// `pid` (out): in the caller's namespace, 0 when invisible or unknown.
    pub pid: i32,
    /// `gpid` (out): canonical gpid when visible or exported, else 0.
    pub gpid: u32,
    /// `uid` (out): effective uid in the caller's user namespace.
    pub uid: u32,
    /// `gid` (out): effective gid in the caller's user namespace.
    pub gid: u32,
    /// `state` (out): `GPID_PEER_*`.
    pub state: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
}

/// `struct gpid_pidfd`: the process behind a pidfd, in the caller's view.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidPidfd {
    /// `pidfd` (in): a pidfd of the caller.
    pub pidfd: i32,
    /// `flags` (in): must be 0.
    pub flags: u32,
    /// `pid` (out): in the caller's namespace, 0 when invisible.
    pub pid: i32,
    /// `gpid` (out): canonical gpid when visible or exported, else 0.
    pub gpid: u32,
    /// `state` (out): `GPID_PEER_*`.
    pub state: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
}

/// `GPID_IOC_PEER`.
pub const GPID_IOC_PEER: u32 = iowr::<GpidPeer>(0x08);
/// `GPID_IOC_PIDFD`.
pub const GPID_IOC_PIDFD: u32 = iowr::<GpidPidfd>(0x09);

/// `GPID_SIGQUEUE_GPID`: `target` is a gpid, not a PID in the caller's namespace.
pub const GPID_SIGQUEUE_GPID: u32 = 1 << 0;
/// `GPID_SIGQUEUE_THREAD`: to that thread only, not its process.
pub const GPID_SIGQUEUE_THREAD: u32 = 1 << 1;

/// `struct gpid_sigqueue`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidSigqueue {
    /// `target` (in): a gpid (`GPID_SIGQUEUE_GPID`) or a PID > 0 in the caller's namespace.
    pub target: u32,
    /// `flags` (in): `GPID_SIGQUEUE_*`.
    pub flags: u32,
    /// `sig` (in): 0 (check only) or 1..=64.
    pub sig: i32,
    /// `reserved`: must be 0.
    pub reserved: u32,
    /// `value` (in): the bits of `union sigval`.
    pub value: u64,
    /// `reserved2`: must be 0.
    pub reserved2: u64,
}

/// `struct gpid_sigsender`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GpidSigsender {
    /// `sig` (in): `si_signo` of the received signal.
    pub sig: i32,
    /// `flags` (in): must be 0.
    pub flags: u32,
    /// `value` (in): `si_value` of the received signal.
    pub value: u64,
    /// `gpid` (out): the sender's canonical thread-group gpid.
    pub gpid: u32,
    /// `reserved`: must be 0.
    pub reserved: u32,
    /// `seq` (out): the record's sequence number.
    pub seq: u64,
}

/// `GPID_IOC_SIGQUEUE`.
pub const GPID_IOC_SIGQUEUE: u32 = iow::<GpidSigqueue>(0x20);
/// `GPID_IOC_SIGSENDER`.
pub const GPID_IOC_SIGSENDER: u32 = iowr::<GpidSigsender>(0x21);
