// SPDX-License-Identifier: GPL-2.0

//! Peer identities (`GPID_FEATURE_PEERCRED`): the peer a unix socket's kernel side captured at
//! connect/accept/socketpair/listen time (`GPID_IOC_PEER`, the identity `SO_PEERCRED` reports),
//! and the process behind a pidfd (`GPID_IOC_PIDFD`; with `SO_PASSPIDFD` the kernel hands the
//! receiver one pidfd per message, the per-message identity). Each is shown in the caller's
//! view, plus the peer's gpid under `Gpids::gpid_for_observer`.

use crate::{
    gpids::Gpids,
    kernel_ext::{
        pid::{Pid, PidType},
        rcu,
        socket::Socket,
        task::Current,
        uapi,
    },
};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;

/// `/proc/gpid/creds`: how the answers went, summed over the whole system. Every successful
/// `GPID_IOC_PEER` / `GPID_IOC_PIDFD` counts in exactly one of these (one atomic add per
/// answer); `queries` is their sum, computed when shown.
pub(crate) struct Stats {
    /// Answers in which the caller could see the peer.
    pub(crate) visible: AtomicU64,
    /// ... of which the peer was invisible but its namespace exports gpids.
    pub(crate) exported: AtomicU64,
    /// ... of which the peer was invisible and its gpid withheld (0).
    pub(crate) hidden: AtomicU64,
    /// ... of which the socket held no peer identity.
    pub(crate) none: AtomicU64,
}

pub(crate) static STATS: Stats = Stats {
    visible: AtomicU64::new(0),
    exported: AtomicU64::new(0),
    hidden: AtomicU64::new(0),
    none: AtomicU64::new(0),
};

/// A peer as the caller may see it.
struct Seen {
    pid: i32,
    gpid: u32,
    state: u32,
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    /// `(name, value)` for each line of `/proc/gpid/creds`.
    pub(crate) fn lines(&self) -> [(&'static str, u64); 5] {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (visible, exported, hidden, none) =
            (load(&self.visible), load(&self.exported), load(&self.hidden), load(&self.none));
        [
            ("queries", visible + exported + hidden + none),
            ("visible", visible),
            ("exported", exported),
            ("hidden", hidden),
            ("none", none),
        ]
    }
}

/// `peer` (`None`: no identity known) in the calling task's view.
fn see(gpids: &Gpids, peer: Option<&Pid>) -> Result<Seen> {
    let Some(peer) = peer else {
        count(&STATS.none);
        return Ok(Seen { pid: 0, gpid: 0, state: 0 });
    };
    let (pid, gpid) = Current::with(|current| {
        let viewer = current.pid_ns();
        Ok::<_, Error>((peer.nr_in(viewer), gpids.gpid_for_observer(viewer, peer)?))
    })?;
    let alive = peer.has_task(PidType::Tgid, &rcu::read_lock());
    count(match (pid, gpid) {
        (1.., _) => &STATS.visible,
        (_, 1..) => &STATS.exported,
        _ => &STATS.hidden,
    });
    let mut state = uapi::GPID_PEER_KNOWN;
    if alive {
        state |= uapi::GPID_PEER_ALIVE;
    }
    Ok(Seen { pid, gpid, state })
}

/// `GPID_IOC_PEER`.
pub(crate) fn peer(gpids: &Gpids, a: &mut uapi::gpid_peer) -> Result {
    if a.flags != 0 || a.reserved != 0 {
        return Err(EINVAL);
    }
    let cred = Socket::from_fd(a.fd)?.peer_cred();
    let seen = see(gpids, cred.pid.as_deref())?;
    a.pid = seen.pid;
    a.gpid = seen.gpid;
    a.uid = cred.uid;
    a.gid = cred.gid;
    a.state = seen.state;
    Ok(())
}

/// `GPID_IOC_PIDFD`.
pub(crate) fn pidfd(gpids: &Gpids, a: &mut uapi::gpid_pidfd) -> Result {
    if a.flags != 0 || a.reserved != 0 {
        return Err(EINVAL);
    }
    let pid = Pid::from_pidfd(a.pidfd)?;
    let seen = see(gpids, Some(&pid))?;
    a.pid = seen.pid;
    a.gpid = seen.gpid;
    a.state = seen.state;
    Ok(())
}
