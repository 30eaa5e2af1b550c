//! SysV IPC permission checks, as `ipcperms()` in ipc/util.c decides them.

/// The ownership and mode of an IPC object (global kuid/kgid values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpcPerm {
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Creator uid.
    pub cuid: u32,
    /// Creator gid.
    pub cgid: u32,
    /// Permission bits (`rwxrwxrwx`, only the `r` and `w` bits matter).
    pub mode: u32,
}

/// Read permission (`S_IRUGO`), what `IPC_STAT` asks for.
pub const READ: u32 = 0o444;
/// Write permission (`S_IWUGO`).
pub const WRITE: u32 = 0o222;

/// Whether a caller with effective uid `euid`, group membership `in_group` and
/// `CAP_IPC_OWNER` (or not) may access `perm` for `flag` (`READ` or `WRITE`): `ipcperms()`
/// without the LSM hook.
pub fn allowed(
    perm: &IpcPerm,
    flag: u32,
    euid: u32,
    in_group: impl Fn(u32) -> bool,
    cap_ipc_owner: impl FnOnce() -> bool,
) -> bool {
    let requested = (flag >> 6) | (flag >> 3) | flag;
    let mut granted = perm.mode;
    if euid == perm.cuid || euid == perm.uid {
        granted >>= 6;
    } else if in_group(perm.cgid) || in_group(perm.gid) {
        granted >>= 3;
    }
    // The capability is asked last, and only when the mode bits deny (ipcperms()).
    requested & !granted & 0o7 == 0 || cap_ipc_owner()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const P: IpcPerm = IpcPerm { uid: 1000, gid: 100, cuid: 1001, cgid: 101, mode: 0o640 };

    #[test]
    fn capability_asked_only_when_the_mode_bits_deny() {
        let asked = core::cell::Cell::new(0);
        let cap = || {
            asked.set(asked.get() + 1);
            true
        };
        assert!(allowed(&P, READ, 1000, |_| false, cap));
        assert_eq!(asked.get(), 0, "the owner may read: no capability check");
        assert!(allowed(&P, WRITE, 5, |_| false, || {
            asked.set(asked.get() + 1);
            true
        }));
        assert_eq!(asked.get(), 1, "others may not write: the capability decides");
    }

    #[test]
    fn owner_group_other() {
        let none = |_| false;
        assert!(allowed(&P, READ, 1000, none, || false));
        assert!(allowed(&P, WRITE, 1000, none, || false));
        assert!(allowed(&P, READ, 1001, none, || false), "creator counts as owner");
        assert!(allowed(&P, READ, 5, |g| g == 100, || false));
        assert!(!allowed(&P, WRITE, 5, |g| g == 100, || false));
        assert!(allowed(&P, READ, 5, |g| g == 101, || false), "creator group counts");
        assert!(!allowed(&P, READ, 5, none, || false));
        assert!(allowed(&P, READ, 5, none, || true), "CAP_IPC_OWNER overrides");
    }

    #[test]
    fn owner_bits_win_even_when_group_bits_would_allow() {
        let p = IpcPerm { mode: 0o040, ..P };
        assert!(!allowed(&p, READ, 1000, |_| true, || false));
        assert!(allowed(&p, READ, 7, |g| g == 100, || false));
        let open = IpcPerm { mode: 0o666, ..P };
        assert!(allowed(&open, WRITE, 12345, |_| false, || false));
    }
}
