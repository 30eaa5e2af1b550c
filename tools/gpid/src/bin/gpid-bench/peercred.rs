//! Peer identities (`GPID_FEATURE_PEERCRED`): the ioctls next to the stock socket options, and
//! what the module costs unix-socket traffic that carries `SCM_CREDENTIALS`.

use super::{calibrate, round, row, typical, Timer, ROUNDS};
use gpid::Device;
use std::io;
use std::thread::JoinHandle;

const SO_PASSPIDFD: libc::c_int = 76;
const SCM_PIDFD: libc::c_int = 4;

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn socketpair(kind: libc::c_int) -> io::Result<[libc::c_int; 2]> {
    let mut sv = [-1; 2];
    // SAFETY: `sv` has room for the two fds.
    check(unsafe {
        libc::socketpair(libc::AF_UNIX, kind | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr())
    })?;
    Ok(sv)
}

use gpid::sockopt::{peercred as so_peercred, set_flag};

/// A cmsg buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct Cmsg([u8; 128]);

/// One SEQPACKET socketpair with an echo thread on the far end: each `once` sends one byte
/// with explicit `SCM_CREDENTIALS` and waits for the echo. With `per_message_gpid`, the echo
/// side also receives `SCM_PIDFD` and asks gpid for the sender's identity (then closes it).
struct PingPong {
    fd: libc::c_int,
    echo: Option<JoinHandle<()>>,
}

impl PingPong {
    fn new(per_message_gpid: bool) -> io::Result<Self> {
        let [a, b] = socketpair(libc::SOCK_SEQPACKET)?;
        set_flag(b, libc::SO_PASSCRED)?;
        let dev = if per_message_gpid {
            set_flag(b, SO_PASSPIDFD)?;
            Some(Device::open()?)
        } else {
            None
        };
        let echo = std::thread::spawn(move || echo(b, dev));
        Ok(Self {
            fd: a,
            echo: Some(echo),
        })
    }

    fn once(&self) -> io::Result<()> {
        // SAFETY: plain id getters.
        let creds = unsafe {
            libc::ucred {
                pid: libc::getpid(),
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        };
        let mut cbuf = Cmsg([0; 128]);
        let mut byte = [b'p'];
        let mut iov = byte_iov(&mut byte);
        // SAFETY: CMSG_SPACE is a pure computation.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::ucred>() as u32) };
        let msg = one_byte_msg(&mut iov, &mut cbuf, space as usize);
        // SAFETY: `msg` describes `cbuf`, which has room for one ucred cmsg.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_CREDENTIALS;
            (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::ucred>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::ucred>(), creds);
        }
        // SAFETY: `msg` and what it points to are live for the call.
        if unsafe { libc::sendmsg(self.fd, &msg, 0) } != 1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `byte` is valid for one byte.
        if unsafe { libc::recv(self.fd, byte.as_mut_ptr().cast(), 1, 0) } != 1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for PingPong {
    fn drop(&mut self) {
        // SAFETY: `fd` is ours; shutting it down ends the echo thread's recvmsg with 0.
        unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
        if let Some(h) = self.echo.take() {
            let _ = h.join();
        }
        // SAFETY: `fd` is ours and closed once.
        unsafe { libc::close(self.fd) };
    }
}

/// An iovec for the one byte the ping-pong carries.
fn byte_iov(byte: &mut [u8; 1]) -> libc::iovec {
    libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    }
}

/// A msghdr for one byte (`iov`) with the first `controllen` bytes of `cbuf` as control data.
fn one_byte_msg(iov: &mut libc::iovec, cbuf: &mut Cmsg, controllen: usize) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = controllen as _;
    msg
}

fn echo(fd: libc::c_int, dev: Option<Device>) {
    loop {
        let mut cbuf = Cmsg([0; 128]);
        let mut byte = [0u8];
        let mut iov = byte_iov(&mut byte);
        let len = cbuf.0.len();
        let mut msg = one_byte_msg(&mut iov, &mut cbuf, len);
        // SAFETY: `msg` describes live buffers.
        if unsafe { libc::recvmsg(fd, &mut msg, 0) } != 1 {
            break;
        }
        // SAFETY: walking the cmsgs the kernel wrote into `cbuf`, as described by `msg`.
        let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !c.is_null() {
            // SAFETY: `c` points into `cbuf` (CMSG_FIRSTHDR/NXTHDR bound it).
            unsafe {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == SCM_PIDFD {
                    let pidfd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                    if let Some(dev) = &dev {
                        std::hint::black_box(dev.pidfd(pidfd).ok());
                    }
                    if pidfd >= 0 {
                        libc::close(pidfd);
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        // SAFETY: `byte` is valid for one byte.
        if unsafe { libc::send(fd, byte.as_ptr().cast(), 1, 0) } != 1 {
            break;
        }
    }
    // SAFETY: `fd` belongs to this thread now; closed once.
    unsafe { libc::close(fd) };
}

/// The rows of this feature. Takes the device by value: the last row unloads and reloads the
/// module, which needs every `/dev/gpid` of this process closed (the module is left loaded).
pub(super) fn rows(t: &Timer, dev: Device, check_ok: &mut impl FnMut(&str, bool)) {
    super::header("peer identities (ns/op)", "stock", "gpid");
    let sv = socketpair(libc::SOCK_STREAM);
    match sv {
        Ok([a, b]) => {
            // Same answer as the stock option (the peer is this process: visible).
            let stock = so_peercred(a);
            let ours = dev.peer(a);
            if let (Ok(s), Ok(o)) = (&stock, &ours) {
                check_ok(
                    "peer ioctl == SO_PEERCRED",
                    s.pid == o.pid && s.uid == o.uid && s.gid == o.gid,
                );
            }
            let (x, y) = t.compare(
                || {
                    std::hint::black_box(so_peercred(a).ok());
                },
                || dev.peer(a),
            );
            row("peer ioctl vs getsockopt(SO_PEERCRED)", x, y);
            // SAFETY: both fds are ours, closed once.
            unsafe {
                libc::close(a);
                libc::close(b);
            }
        }
        Err(e) => row(
            "peer ioctl vs getsockopt(SO_PEERCRED)",
            Err(e),
            Err(io::Error::other("socketpair")),
        ),
    }

    // The per-message route: SCM_PIDFD with every message plus one ioctl, against plain
    // SCM_CREDENTIALS. Both ends on one CPU (the echo threads inherit the mask), so that a
    // round trip is two context switches rather than cross-CPU wakeups, which TCG makes noisy.
    let saved = pin_to_one_cpu();
    let plain = PingPong::new(false);
    let with_gpid = PingPong::new(true);
    match (&plain, &with_gpid) {
        (Ok(p), Ok(g)) => {
            let (x, y) = t.compare(
                || {
                    std::hint::black_box(p.once().ok());
                },
                || g.once(),
            );
            row("SCM_CREDS ping-pong: +SCM_PIDFD+pidfd ioctl vs plain", x, y);
        }
        (Err(e), _) | (_, Err(e)) => row(
            "SCM_CREDS ping-pong: +SCM_PIDFD+pidfd ioctl vs plain",
            Err(io::Error::other(e.to_string())),
            Err(io::Error::other("setup")),
        ),
    }
    drop(with_gpid);
    drop(dev);

    // The same traffic with the module unloaded and loaded, rounds alternating.
    let r = plain.and_then(|p| {
        let mut op = || {
            std::hint::black_box(p.once().ok());
        };
        let iters = t.iters.unwrap_or_else(|| calibrate(&mut op));
        round(&mut op, iters);
        let (stock, loaded) = super::module::unloaded_vs_loaded(ROUNDS, || round(&mut op, iters))?;
        Ok((typical(stock), typical(loaded)))
    });
    match r {
        Ok((s, l)) => row(
            "SCM_CREDS ping-pong: module loaded vs unloaded",
            Ok(s),
            Ok(l),
        ),
        Err(e) => row(
            "SCM_CREDS ping-pong: module loaded vs unloaded",
            Err(e),
            Err(io::Error::other("unload")),
        ),
    }
    if let Some(mask) = saved {
        // SAFETY: `mask` is a valid cpu set for the calling thread.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mask) };
    }
}

/// Pins the calling thread to the first CPU it may run on; returns the previous mask.
pub(super) fn pin_to_one_cpu() -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is an empty set; the calls only read/write `old`/`one`.
    unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut old) != 0 {
            return None;
        }
        let cpu = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &old))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one);
        Some(old)
    }
}
