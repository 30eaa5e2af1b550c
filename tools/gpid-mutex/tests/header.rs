//! The C header and the Rust implementation must agree: sizes, kinds, the ioctl number from
//! the UAPI header, the futex bits, and glibc's `pthread_mutex_t` layout that the robust-list
//! interop relies on.

use gpid_mutex::{Kind, RawMutex, UnlockPath, FUTEX_OWNER_DIED, FUTEX_WAITERS, PRIO_INHERIT};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn c_values() -> HashMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gpid_mutex_header");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-Wall", "-Werror", "-I"])
        .arg(dir.join("include"))
        .arg("-I")
        .arg(dir.join("../../include/uapi"))
        .arg(dir.join("tests/header.c"))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling tests/header.c failed");
    let out = Command::new(&exe).output().expect("run the header probe");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn header_matches_rust() {
    let c = c_values();
    let rust: Vec<(&str, String)> = vec![
        ("sizeof(gpid_mutex_t)", size_of::<RawMutex>().to_string()),
        ("alignof(gpid_mutex_t)", align_of::<RawMutex>().to_string()),
        ("GPID_MUTEX_NORMAL", (Kind::Normal as u32).to_string()),
        (
            "GPID_MUTEX_ERRORCHECK",
            (Kind::ErrorCheck as u32).to_string(),
        ),
        ("GPID_MUTEX_RECURSIVE", (Kind::Recursive as u32).to_string()),
        ("GPID_MUTEX_PRIO_INHERIT", PRIO_INHERIT.to_string()),
        (
            "GPID_IOC_ROBUST_REGISTER",
            gpid_mutex::GPID_IOC_ROBUST_REGISTER.to_string(),
        ),
        (
            "GPID_MUTEX__UNLOCK_NONE",
            (UnlockPath::None as u8).to_string(),
        ),
        (
            "GPID_MUTEX__UNLOCK_LEGACY",
            (UnlockPath::Legacy as u8).to_string(),
        ),
        (
            "GPID_MUTEX__UNLOCK_VDSO",
            (UnlockPath::Vdso as u8).to_string(),
        ),
        (
            "GPID_MUTEX__UNLOCK_ROBUST_WAKE",
            (UnlockPath::RobustWake as u8).to_string(),
        ),
        ("FUTEX_WAITERS", FUTEX_WAITERS.to_string()),
        ("FUTEX_OWNER_DIED", FUTEX_OWNER_DIED.to_string()),
        ("FUTEX_TID_MASK", gpid_mutex::FUTEX_TID_MASK.to_string()),
        ("glibc_futex_offset", gpid_mutex::FUTEX_OFFSET.to_string()),
        ("sizeof(pthread_mutex_t)", size_of::<RawMutex>().to_string()),
    ];
    for (name, value) in rust {
        assert_eq!(c.get(name), Some(&value), "{name}: C vs Rust");
    }
}
