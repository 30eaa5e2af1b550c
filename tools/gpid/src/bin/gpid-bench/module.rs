// SPDX-License-Identifier: GPL-2.0

//! Unloading and loading gpid.ko between the rounds of a "module loaded vs not" row.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

const PATH: &str = "/lib/modules/gpid.ko";

/// Removes gpid.ko; done when it is not loaded. Retries for up to 2 s while something still
/// holds it (a `/dev/gpid` being closed).
pub(super) fn unload() -> io::Result<()> {
    for _ in 0..100 {
        // SAFETY: a NUL-terminated module name.
        let r = unsafe { libc::syscall(libc::SYS_delete_module, c"gpid".as_ptr(), libc::O_NONBLOCK) };
        match (r, io::Error::last_os_error().raw_os_error()) {
            (0, _) | (_, Some(libc::ENOENT)) => return settle(),
            (_, Some(libc::EWOULDBLOCK)) => std::thread::sleep(Duration::from_millis(20)),
            _ => return Err(io::Error::last_os_error()),
        }
    }
    Err(io::Error::last_os_error())
}

/// Loads gpid.ko from /lib/modules with no parameters; done when it is loaded.
pub(super) fn load() -> io::Result<()> {
    let file = std::fs::File::open(PATH)?;
    // SAFETY: an open fd and an empty, NUL-terminated parameter string.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
    if r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST) {
        settle()
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `measure` in `rounds` alternating rounds, gpid.ko unloaded then loaded each time: what it
/// returned in each state, in order. Leaves the module loaded.
pub(super) fn unloaded_vs_loaded<T>(
    rounds: usize,
    mut measure: impl FnMut() -> T,
) -> io::Result<(Vec<T>, Vec<T>)> {
    let (mut unloaded, mut loaded) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        unload()?;
        unloaded.push(measure());
        load()?;
        loaded.push(measure());
    }
    Ok((unloaded, loaded))
}

/// Loading and unloading leave deferred work behind (RCU callbacks, the kprobe optimizer,
/// devtmpfs, TCG retranslating patched code): it finishes before anything is timed.
fn settle() -> io::Result<()> {
    std::thread::sleep(Duration::from_millis(300));
    Ok(())
}
