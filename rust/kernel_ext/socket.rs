// SPDX-License-Identifier: GPL-2.0

//! Sockets named by a file descriptor of the calling task, in the shape upstream
//! Rust-for-Linux would give `sockfd_lookup`/`sockfd_put` (6.12 has no socket abstraction).
//!
//! Fields of `struct sock` are read through C accessors (`rust/helpers.c`), never through
//! bindgen's layout.

use super::{bindings, pid::Pid};
use core::ptr::NonNull;
use kernel::{prelude::*, sync::aref::ARef};

/// A socket of the calling task, pinned by a reference to its file.
///
/// # Invariants
///
/// `ptr` is a live `struct socket` returned by `sockfd_lookup`, whose file reference this
/// value owns and gives back (`sockfd_put`) exactly once, when dropped.
pub(crate) struct Socket {
    ptr: NonNull<bindings::socket>,
}

/// A socket's peer identity as the kernel captured it (what `SO_PEERCRED` reports).
pub(crate) struct PeerCred {
    /// The peer's thread-group `struct pid`, `None` when the socket holds no peer identity.
    pub(crate) pid: Option<ARef<Pid>>,
    /// The peer's effective uid in the caller's user namespace (`u32::MAX` without creds).
    pub(crate) uid: u32,
    /// The peer's effective gid in the caller's user namespace (`u32::MAX` without creds).
    pub(crate) gid: u32,
}

impl Socket {
    /// The socket behind the caller's file descriptor `fd`: `EBADF` when `fd` is not open,
    /// `ENOTSOCK` when it is not a socket (the errors of `sockfd_lookup`).
    pub(crate) fn from_fd(fd: i32) -> Result<Self> {
        let mut err: i32 = 0;
        // SAFETY: `sockfd_lookup` may be called in process context with any fd number; `err`
        // is valid for writes.
        let sock = unsafe { bindings::sockfd_lookup(fd, &mut err) };
        match NonNull::new(sock) {
            // INVARIANT: a non-NULL result comes with a file reference, now owned by `Self`.
            Some(ptr) => Ok(Self { ptr }),
            None => Err(Error::from_errno(err)),
        }
    }

    /// The peer identity, read as `SO_PEERCRED` reads it (under `sk_peer_lock`), with the
    /// ids mapped into the calling task's user namespace.
    pub(crate) fn peer_cred(&self) -> PeerCred {
        let (mut uid, mut gid) = (u32::MAX, u32::MAX);
        // SAFETY: the socket is live (type invariant); `uid` and `gid` are valid for writes.
        let pid = unsafe { bindings::gpid_sock_peer(self.ptr.as_ptr(), &mut uid, &mut gid) };
        PeerCred {
            pid: NonNull::new(pid).map(|p| {
                // SAFETY: `gpid_sock_peer` returns a counted reference (or NULL), which the
                // `ARef` takes over.
                unsafe { ARef::from_raw(p.cast::<Pid>()) }
            }),
            uid,
            gid,
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: this value owns the file reference taken by `sockfd_lookup` (type
        // invariant), given back exactly once, here.
        unsafe { bindings::gpid_sockfd_put(self.ptr.as_ptr()) };
    }
}
