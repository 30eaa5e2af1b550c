//! Safe wrappers for the `/dev/gpid` ioctls.
//!
//! ```no_run
//! let dev = gpid::Device::open()?;
//! let layout = dev.layout()?;
//! println!("{} wide slots, {} narrow slots", layout.slots(gpid::Class::Wide),
//!          layout.slots(gpid::Class::Narrow));
//! let me = dev.self_ids()?;
//! println!("my gpid {}: {}", layout.display(me.tgid), layout.split(me.tgid));
//! assert_eq!(dev.decode(me.tgid)?, std::process::id() as i32);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Every failing ioctl is an [`io::Error`] carrying the kernel's errno
//! ([`io::Error::raw_os_error`]); [`Errno`] names it the way `errno(3)` does.

mod layout;
pub mod uapi;

pub use layout::{Class, Layout, Split};

use std::ffi::CStr;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;

pub use uapi::{GpidNsInfo, GpidSelf, GpidVersion};

/// An open `/dev/gpid`.
pub struct Device {
    file: File,
}

/// What [`Device::ns_set`] reports back: the namespace's owner slot and its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsSetResult {
    /// The namespace's owner slot id (the slot it took first; a promotion adds a wide slot
    /// beside it, which [`Device::ns_info`] shows).
    pub slot: u32,
    /// The generation of the owner slot.
    pub generation: u32,
}

/// ABI 1's `struct gpid_version`, the 16 bytes before the layout, whose command an ABI 2
/// module still answers (with `abi_version` 2) and an ABI 1 module answers alone.
#[repr(C)]
#[derive(Default)]
struct GpidVersionV1 {
    abi_version: u32,
    pid_bits: u32,
    features: u64,
}

const GPID_IOC_VERSION_V1: u32 = uapi::ior::<GpidVersionV1>(0x00);

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

    /// Issues `cmd` on `arg`, the one struct type the command is defined with.
    ///
    /// # Safety
    ///
    /// `T` must be the argument type of `cmd` and hold no pointers the kernel follows.
    unsafe fn ioctl<T>(&self, cmd: u32, arg: &mut T) -> io::Result<()> {
        // SAFETY: `arg` is a live, exclusively borrowed `T`, which the caller vouches is what
        // `cmd` reads and writes.
        unsafe { self.ioctl_raw(cmd, (arg as *mut T).cast()) }.map(drop)
    }

    /// `GPID_IOC_VERSION`: ABI version, layout and active features of the running module.
    ///
    /// A module older than ABI 2 does not know this command's size (`ENOTTY`); its answer to
    /// the 16-byte form is returned instead, with the layout fields 0, so that the caller can
    /// say which ABI it met ([`Layout::from_version`] refuses it).
    pub fn version(&self) -> io::Result<GpidVersion> {
        let mut v = GpidVersion::default();
        // SAFETY: GPID_IOC_VERSION takes a `struct gpid_version`.
        match unsafe { self.ioctl(uapi::GPID_IOC_VERSION, &mut v) } {
            Ok(()) => Ok(v),
            Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => {
                let mut old = GpidVersionV1::default();
                // SAFETY: the 16-byte form of GPID_IOC_VERSION takes a `GpidVersionV1`.
                unsafe { self.ioctl(GPID_IOC_VERSION_V1, &mut old) }.map_err(|_| e)?;
                Ok(GpidVersion {
                    abi_version: old.abi_version,
                    pid_bits: old.pid_bits,
                    features: old.features,
                    ..Default::default()
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The running module's [`Layout`], from [`version`](Self::version): fails for a module
    /// of another ABI.
    pub fn layout(&self) -> io::Result<Layout> {
        Layout::from_version(&self.version()?)
    }

    /// `GPID_IOC_SELF`: the caller's canonical gpids and its namespace's owner slot.
    pub fn self_ids(&self) -> io::Result<GpidSelf> {
        let mut s = GpidSelf::default();
        // SAFETY: GPID_IOC_SELF takes a `struct gpid_self`.
        unsafe { self.ioctl(uapi::GPID_IOC_SELF, &mut s)? };
        Ok(s)
    }

    /// `GPID_IOC_ENCODE`: the canonical gpid of `pid` (a PID or TID in the caller's namespace;
    /// 0 is the caller), or of its thread group leader with `tgid`.
    pub fn encode(&self, pid: i32, tgid: bool) -> io::Result<u32> {
        let mut e = uapi::GpidEncode {
            pid,
            flags: tgid_flag(tgid),
            ..Default::default()
        };
        // SAFETY: GPID_IOC_ENCODE takes a `struct gpid_encode`.
        unsafe { self.ioctl(uapi::GPID_IOC_ENCODE, &mut e)? };
        Ok(e.gpid)
    }

    /// `GPID_IOC_DECODE`: the PID, in the caller's namespace, of the task `gpid` names.
    pub fn decode(&self, gpid: u32) -> io::Result<i32> {
        let mut d = uapi::GpidDecode {
            gpid,
            ..Default::default()
        };
        // SAFETY: GPID_IOC_DECODE takes a `struct gpid_decode`.
        unsafe { self.ioctl(uapi::GPID_IOC_DECODE, &mut d)? };
        Ok(d.pid)
    }

    /// `GPID_IOC_DECODE_BATCH` into a caller-provided buffer, without allocating: `pids[i]` is
    /// the PID `gpids[i]` names or a negative errno for that value alone. Takes 1 to
    /// [`uapi::GPID_BATCH_MAX`] values; the ioctl itself fails only for a bad argument.
    pub fn decode_batch_into(&self, gpids: &[u32], pids: &mut [i32]) -> io::Result<()> {
        if gpids.len() != pids.len() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let count =
            u32::try_from(gpids.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut b = uapi::GpidDecodeBatch {
            gpids: gpids.as_ptr() as u64,
            pids: pids.as_mut_ptr() as u64,
            count,
            flags: 0,
        };
        // SAFETY: GPID_IOC_DECODE_BATCH takes a `struct gpid_decode_batch`, whose two pointers
        // name `count` readable u32s and `count` writable i32s, borrowed for the call.
        unsafe { self.ioctl(uapi::GPID_IOC_DECODE_BATCH, &mut b) }
    }

    /// Decodes any number of gpids (in chunks of [`uapi::GPID_BATCH_MAX`]), each to its PID in
    /// the caller's namespace or to the errno for that value alone.
    pub fn decode_batch(&self, gpids: &[u32]) -> io::Result<Vec<Result<i32, Errno>>> {
        let mut pids = vec![0i32; gpids.len()];
        for (g, p) in gpids
            .chunks(uapi::GPID_BATCH_MAX as usize)
            .zip(pids.chunks_mut(uapi::GPID_BATCH_MAX as usize))
        {
            self.decode_batch_into(g, p)?;
        }
        Ok(pids
            .into_iter()
            .map(|p| if p < 0 { Err(Errno(-p)) } else { Ok(p) })
            .collect())
    }

    /// `GPID_IOC_LEVELS`: the gpids of `pid` (0: the caller; with `tgid`, its thread group
    /// leader) from its own namespace (`[0]`, the canonical one) up to the caller's (last).
    pub fn levels(&self, pid: i32, tgid: bool) -> io::Result<Vec<u32>> {
        let mut l = uapi::GpidLevels {
            pid,
            flags: tgid_flag(tgid),
            ..Default::default()
        };
        // SAFETY: GPID_IOC_LEVELS takes a `struct gpid_levels`.
        unsafe { self.ioctl(uapi::GPID_IOC_LEVELS, &mut l)? };
        // Never trust a count to index with: a kernel bug must not become a panic here.
        let n = (l.count as usize).min(l.gpids.len());
        Ok(l.gpids[..n].to_vec())
    }

    /// `GPID_IOC_NS_INFO`: what the registry knows of the namespace holding slot `slot`
    /// (either of its slots; 0: the caller's namespace).
    pub fn ns_info(&self, slot: u32) -> io::Result<GpidNsInfo> {
        let mut i = GpidNsInfo {
            slot,
            ..Default::default()
        };
        // SAFETY: GPID_IOC_NS_INFO takes a `struct gpid_ns_info`.
        unsafe { self.ioctl(uapi::GPID_IOC_NS_INFO, &mut i)? };
        Ok(i)
    }

    /// `GPID_IOC_NS_SET` on the PID namespace of `pid` (0: the caller's): binds it to slot
    /// `slot` of either class (an unbound namespace to exactly that slot, a narrow one
    /// without a wide slot is promoted to that wide slot) and/or sets its export `policy`
    /// (`GPID_POLICY_*` bits). At least one must be given (else `EINVAL`, as from the kernel).
    pub fn ns_set(
        &self,
        pid: i32,
        slot: Option<u32>,
        policy: Option<u32>,
    ) -> io::Result<NsSetResult> {
        let mut s = uapi::GpidNsSet {
            pid,
            ..Default::default()
        };
        if let Some(n) = slot {
            s.flags |= uapi::GPID_NS_SET_SLOT;
            s.slot = n;
        }
        if let Some(p) = policy {
            s.flags |= uapi::GPID_NS_SET_POLICY;
            s.policy = p;
        }
        // SAFETY: GPID_IOC_NS_SET takes a `struct gpid_ns_set`.
        unsafe { self.ioctl(uapi::GPID_IOC_NS_SET, &mut s)? };
        Ok(NsSetResult {
            slot: s.slot,
            generation: s.generation,
        })
    }
}

/// Peer identities (`GPID_FEATURE_PEERCRED`).
impl Device {
    /// `GPID_IOC_PEER`: the peer of the caller's socket `fd` as `SO_PEERCRED` reports it
    /// (captured at connect/accept/socketpair/listen time), plus its gpid and liveness.
    pub fn peer(&self, fd: i32) -> io::Result<uapi::GpidPeer> {
        let mut p = uapi::GpidPeer {
            fd,
            ..Default::default()
        };
        // SAFETY: GPID_IOC_PEER takes a `struct gpid_peer`.
        unsafe { self.ioctl(uapi::GPID_IOC_PEER, &mut p)? };
        Ok(p)
    }

    /// `GPID_IOC_PIDFD`: the process behind the caller's pidfd `pidfd` (for example an
    /// `SCM_PIDFD` received with a message), in the caller's view.
    pub fn pidfd(&self, pidfd: i32) -> io::Result<uapi::GpidPidfd> {
        let mut p = uapi::GpidPidfd {
            pidfd,
            ..Default::default()
        };
        // SAFETY: GPID_IOC_PIDFD takes a `struct gpid_pidfd`.
        unsafe { self.ioctl(uapi::GPID_IOC_PIDFD, &mut p)? };
        Ok(p)
    }
}

/// SysV message queues (`GPID_FEATURE_MSQ`).
impl Device {
    /// `GPID_IOC_MSQ`: the last sender and receiver of SysV message queue `msqid` of the
    /// caller's IPC namespace (read permission needed, as for `IPC_STAT`): `EINVAL` for no
    /// such queue, `EACCES` without permission.
    pub fn msq(&self, msqid: i32) -> io::Result<uapi::GpidMsq> {
        let mut q = uapi::GpidMsq {
            msqid,
            ..Default::default()
        };
        // SAFETY: GPID_IOC_MSQ takes a `struct gpid_msq`.
        unsafe { self.ioctl(uapi::GPID_IOC_MSQ, &mut q)? };
        Ok(q)
    }
}

fn tgid_flag(tgid: bool) -> u32 {
    if tgid {
        uapi::GPID_ENCODE_TGID
    } else {
        0
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

/// One line of `/proc/gpid/namespaces`: a bound namespace the reader can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsEntry {
    /// Owner slot id.
    pub slot: u32,
    /// Generation of the owner slot.
    pub generation: u32,
    /// Nesting level below the reader's namespace.
    pub level: u32,
    /// The parent's owner slot id, 0 when the reader cannot see it.
    pub parent: u32,
    /// Inode number of the namespace.
    pub ino: u64,
    /// The namespace still has tasks.
    pub live: bool,
    /// `GPID_POLICY_*`.
    pub policy: u32,
    /// The owner slot's class.
    pub class: Class,
    /// The wide slot a promotion added, 0 if none.
    pub wide: u32,
    /// Its generation, 0 if none.
    pub wide_generation: u32,
}

/// Parses `/proc/gpid/namespaces` text by the names in its header line, so that a column
/// added later does not shift the others. `InvalidData` for a missing column or a bad line.
pub fn parse_namespaces(text: &str) -> io::Result<Vec<NsEntry>> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|&h| h == name)
            .ok_or_else(|| bad(format!("/proc/gpid/namespaces: no column '{name}'")))
    };
    let cols = [
        col("slot")?,
        col("generation")?,
        col("level")?,
        col("parent")?,
        col("ino")?,
        col("live")?,
        col("policy")?,
        col("class")?,
        col("wide")?,
        col("wide_generation")?,
    ];
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let bad_line = || bad(format!("/proc/gpid/namespaces: bad line '{line}'"));
            let field = |i: usize| fields.get(cols[i]).copied().ok_or_else(bad_line);
            let num = |i: usize| field(i)?.parse::<u64>().map_err(|_| bad_line());
            let num32 = |i: usize| u32::try_from(num(i)?).map_err(|_| bad_line());
            Ok(NsEntry {
                slot: num32(0)?,
                generation: num32(1)?,
                level: num32(2)?,
                parent: num32(3)?,
                ino: num(4)?,
                live: num(5)? != 0,
                policy: num32(6)?,
                class: Class::from_name(field(7)?).ok_or_else(bad_line)?,
                wide: num32(8)?,
                wide_generation: num32(9)?,
            })
        })
        .collect()
}

/// `/proc/gpid/namespaces`, parsed.
pub fn read_namespaces() -> io::Result<Vec<NsEntry>> {
    parse_namespaces(&std::fs::read_to_string("/proc/gpid/namespaces")?)
}

/// An errno value, shown as `errno(3)` text plus its symbolic name:
/// `No such process (ESRCH)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The errno of `e`, if it came from the OS.
    pub fn of(e: &io::Error) -> Option<Self> {
        e.raw_os_error().map(Errno)
    }

    /// The symbolic name (`ESRCH`), for the errnos this ABI and its callers meet.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::ENXIO => "ENXIO",
            libc::EBADF => "EBADF",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::EINVAL => "EINVAL",
            libc::EMFILE => "EMFILE",
            libc::ENOTTY => "ENOTTY",
            libc::ENOSPC => "ENOSPC",
            libc::ERANGE => "ERANGE",
            libc::ENOSYS => "ENOSYS",
            libc::EOVERFLOW => "EOVERFLOW",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EDQUOT => "EDQUOT",
            _ => return None,
        })
    }

    /// The `strerror(3)` text.
    pub fn description(self) -> String {
        let mut buf = [0 as libc::c_char; 128];
        // SAFETY: `buf` is writable for its length; the XSI strerror_r (which the libc crate
        // binds on both glibc and musl) NUL-terminates on success.
        let r = unsafe { libc::strerror_r(self.0, buf.as_mut_ptr(), buf.len()) };
        if r != 0 {
            return format!("Unknown error {}", self.0);
        }
        // SAFETY: NUL-terminated within `buf`, see above.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.description()),
            None => write!(f, "{} (errno {})", self.description(), self.0),
        }
    }
}

impl From<Errno> for io::Error {
    fn from(e: Errno) -> Self {
        io::Error::from_raw_os_error(e.0)
    }
}

/// `e` as `No such process (ESRCH)` when it carries an errno, else as io::Error shows it.
pub fn describe(e: &io::Error) -> String {
    match Errno::of(e) {
        Some(errno) => errno.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_by_header() {
        let text = "slot generation level parent ino live policy class wide wide_generation\n\
                    1 1 0 0 4026531836 1 0 wide 0 0\n\
                    65 3 1 1 4026532290 0 1 narrow 2 7\n";
        let ns = parse_namespaces(text).unwrap();
        assert_eq!(ns.len(), 2);
        assert_eq!(
            ns[1],
            NsEntry {
                slot: 65,
                generation: 3,
                level: 1,
                parent: 1,
                ino: 4026532290,
                live: false,
                policy: 1,
                class: Class::Narrow,
                wide: 2,
                wide_generation: 7,
            }
        );
        assert_eq!(ns[0].class, Class::Wide);
        // Columns found by name: reordered or added to, the same entries.
        let moved =
            "extra class slot generation level parent ino live policy wide wide_generation\n\
                     x narrow 65 3 1 1 4026532290 0 1 2 7\n";
        assert_eq!(parse_namespaces(moved).unwrap(), ns[1..]);
        let kind = |t: &str| parse_namespaces(t).unwrap_err().kind();
        // ABI 1's header has no slot column.
        assert_eq!(
            kind("nsid generation level parent ino live policy\n"),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            kind("slot generation level parent ino live policy class wide wide_generation\n1 1 0 0 1 1 0 odd 0 0\n"),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            parse_namespaces(
                "slot generation level parent ino live policy class wide wide_generation\n"
            )
            .unwrap(),
            vec![]
        );
    }

    #[test]
    fn errno_text() {
        assert_eq!(Errno(libc::ESRCH).to_string(), "No such process (ESRCH)");
        assert_eq!(Errno(libc::ENOTTY).name(), Some("ENOTTY"));
        assert_eq!(
            describe(&io::Error::from_raw_os_error(libc::EINVAL)),
            "Invalid argument (EINVAL)"
        );
        assert!(Errno(4000).to_string().contains("errno 4000"));
    }

    #[test]
    fn feature_names_in_bit_order() {
        assert_eq!(feature_names(0), Vec::<&str>::new());
        assert_eq!(feature_names(0b100001), vec!["global_pids", "peercred"]);
    }
}

/// Signals (`GPID_FEATURE_SIGQUEUE`).
impl Device {
    /// `GPID_IOC_SIGQUEUE`: queues `sig` with `value` (the bits of `union sigval`) to the
    /// process named by `gpid` (any gpid; an unqualified one is a PID in the caller's
    /// namespace), or to that thread only with `thread`. The receiver reads `SI_QUEUE` and
    /// `si_pid` = the caller's PID in the receiver's namespace (0 when it cannot see it).
    /// Errors as `sigqueue(3)`: `EINVAL`, `ESRCH`, `EPERM`, `EAGAIN`.
    pub fn sigqueue(&self, gpid: u32, thread: bool, sig: i32, value: u64) -> io::Result<()> {
        let mut q = uapi::GpidSigqueue {
            target: gpid,
            flags: uapi::GPID_SIGQUEUE_GPID
                | if thread {
                    uapi::GPID_SIGQUEUE_THREAD
                } else {
                    0
                },
            sig,
            value,
            ..Default::default()
        };
        // SAFETY: GPID_IOC_SIGQUEUE takes a `struct gpid_sigqueue`.
        unsafe { self.ioctl(uapi::GPID_IOC_SIGQUEUE, &mut q) }
    }

    /// `GPID_IOC_SIGSENDER`: the gpid (and record sequence number) of the sender of a signal
    /// `(sig, value)` this process received with `si_pid` 0, when the sender's namespace
    /// exports its gpids; `ENOENT` otherwise. Takes the record.
    pub fn sigsender(&self, sig: i32, value: u64) -> io::Result<(u32, u64)> {
        let mut s = uapi::GpidSigsender {
            sig,
            value,
            ..Default::default()
        };
        // SAFETY: GPID_IOC_SIGSENDER takes a `struct gpid_sigsender`.
        unsafe { self.ioctl(uapi::GPID_IOC_SIGSENDER, &mut s)? };
        Ok((s.gpid, s.seq))
    }
}

/// A signal number from `N`, `NAME`, `SIGNAME`, `RTMIN+N` or `RTMAX-N` (libc's numbering).
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (0..=64).contains(&n).then_some(n);
    }
    let name = s.strip_prefix("SIG").unwrap_or(s).to_ascii_uppercase();
    let rt = |base: i32, rest: &str, sign: i32| -> Option<i32> {
        let n = if rest.is_empty() {
            0
        } else {
            rest.parse::<i32>().ok()?
        };
        let sig = base + sign * n;
        (libc::SIGRTMIN()..=libc::SIGRTMAX())
            .contains(&sig)
            .then_some(sig)
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt(libc::SIGRTMIN(), rest.strip_prefix('+').unwrap_or(rest), 1);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return rt(libc::SIGRTMAX(), rest.strip_prefix('-').unwrap_or(rest), -1);
    }
    const NAMES: &[(&str, i32)] = &[
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("QUIT", libc::SIGQUIT),
        ("KILL", libc::SIGKILL),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
        ("PIPE", libc::SIGPIPE),
        ("ALRM", libc::SIGALRM),
        ("TERM", libc::SIGTERM),
        ("CHLD", libc::SIGCHLD),
        ("CONT", libc::SIGCONT),
        ("STOP", libc::SIGSTOP),
        ("TSTP", libc::SIGTSTP),
        ("WINCH", libc::SIGWINCH),
    ];
    NAMES.iter().find(|(n, _)| *n == name).map(|&(_, sig)| sig)
}

/// The stock socket calls gpid's peer-identity features are compared with.
pub mod sockopt {
    use std::io;

    /// `setsockopt(fd, SOL_SOCKET, opt, 1)`.
    pub fn set_flag(fd: libc::c_int, opt: libc::c_int) -> io::Result<()> {
        let one: libc::c_int = 1;
        // SAFETY: `one` is a valid int option value for the call's duration.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&one as *const libc::c_int).cast(),
                4,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// `getsockopt(fd, SOL_SOCKET, SO_PEERCRED)`.
    pub fn peercred(fd: libc::c_int) -> io::Result<libc::ucred> {
        let mut u = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: `u` and `len` are valid for the kernel's writes.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut u as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(u)
    }
}
