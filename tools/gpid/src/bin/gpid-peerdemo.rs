//! gpid-peerdemo: the two ends of the `make demo` peer-credentials scenario.
//!
//!   gpid-peerdemo serve PATH     accept one connection on a unix stream socket at PATH and
//!                                show who the peer is: stock SO_PEERCRED and SCM_CREDENTIALS
//!                                beside gpid's GPID_IOC_PEER and GPID_IOC_PIDFD
//!   gpid-peerdemo connect PATH   connect, send one message, wait for the server to close

use gpid::{uapi, Device, Layout};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::ExitCode;
use std::time::Duration;

const SO_PASSPIDFD: libc::c_int = 76;
const SCM_PIDFD: libc::c_int = 4;

use gpid::sockopt::set_flag;

/// Receives one message; returns its SCM_CREDENTIALS and SCM_PIDFD (an fd or -errno).
fn recv_creds(fd: libc::c_int) -> io::Result<(Option<libc::ucred>, Option<libc::c_int>)> {
    #[repr(C, align(8))]
    struct Cmsg([u8; 128]);
    let mut cbuf = Cmsg([0; 128]);
    let mut data = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len() as _;
    // SAFETY: `msg` describes live buffers.
    if unsafe { libc::recvmsg(fd, &mut msg, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let (mut cred, mut pidfd) = (None, None);
    // SAFETY: walking the cmsgs the kernel wrote, bounded by CMSG_FIRSTHDR/NXTHDR.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_type == libc::SCM_CREDENTIALS {
                cred = Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(c).cast::<libc::ucred>(),
                ));
            } else if (*c).cmsg_type == SCM_PIDFD {
                pidfd = Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(c).cast::<libc::c_int>(),
                ));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((cred, pidfd))
}

fn gpid_text(gpid: u32, layout: &Layout) -> String {
    if gpid == 0 {
        "0 (not given: the peer is invisible here and its namespace does not export)".into()
    } else {
        layout.display(gpid)
    }
}

fn serve(path: &str) -> io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let (conn, _) = listener.accept()?;
    let fd = conn.as_raw_fd();
    set_flag(fd, libc::SO_PASSCRED)?;
    set_flag(fd, SO_PASSPIDFD)?;
    let dev = Device::open()?;
    let layout = dev.layout()?;

    let u = gpid::sockopt::peercred(fd)?;
    println!(
        "[server] stock SO_PEERCRED:        pid {} uid {} gid {}",
        u.pid, u.uid, u.gid
    );
    let p = dev.peer(fd)?;
    println!(
        "[server] gpid GPID_IOC_PEER:       pid {} gpid {} uid {} gid {} alive {}",
        p.pid,
        gpid_text(p.gpid, &layout),
        p.uid,
        p.gid,
        p.state & uapi::GPID_PEER_ALIVE != 0
    );
    let (cred, pidfd) = recv_creds(fd)?;
    if let Some(c) = cred {
        println!(
            "[server] message SCM_CREDENTIALS:  pid {} uid {} gid {}",
            c.pid, c.uid, c.gid
        );
    }
    if let Some(pfd) = pidfd.filter(|&f| f >= 0) {
        let q = dev.pidfd(pfd)?;
        println!(
            "[server] message SCM_PIDFD + GPID_IOC_PIDFD: pid {} gpid {}",
            q.pid,
            gpid_text(q.gpid, &layout)
        );
        // SAFETY: the pidfd was installed for us; closed once.
        unsafe { libc::close(pfd) };
    }
    Ok(())
}

fn connect(path: &str) -> io::Result<()> {
    let mut conn = loop {
        match UnixStream::connect(path) {
            Ok(c) => break c,
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    set_flag(conn.as_raw_fd(), libc::SO_PASSCRED)?;
    conn.write_all(b"hello")?;
    // Live until the server is done with us.
    let mut buf = [0u8; 1];
    let _ = conn.read(&mut buf);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.as_slice() {
        [cmd, path] if cmd == "serve" => serve(path),
        [cmd, path] if cmd == "connect" => connect(path),
        _ => {
            eprintln!("usage: gpid-peerdemo serve|connect PATH");
            return ExitCode::from(2);
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpid-peerdemo: {e}");
            ExitCode::FAILURE
        }
    }
}
