//! The Rust mirror of the UAPI header must agree with the header itself, value by value.
//!
//! Three sets of names must be equal, so that nothing can be forgotten on either side:
//! what the header declares (every `#define` and every struct field, parsed from the header),
//! what `tests/uapi_layout.c` prints, and what the table below checks.

use gpid::uapi::*;
use std::collections::{BTreeMap, BTreeSet};
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../include/uapi")
}

/// What `tests/uapi_layout.c` prints; built and run once, as the tests run in parallel and
/// would otherwise race on the executable.
fn c_values() -> &'static BTreeMap<String, String> {
    static VALUES: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    VALUES.get_or_init(build_and_run_c)
}

fn build_and_run_c() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("uapi_layout");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(include_dir())
        .arg(dir.join("tests/uapi_layout.c"))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling tests/uapi_layout.c failed");
    let out = Command::new(&exe).output().expect("run uapi_layout");
    assert!(out.status.success(), "uapi_layout failed");
    let mut map = BTreeMap::new();
    for line in String::from_utf8(out.stdout).expect("utf-8").lines() {
        let (k, v) = line.rsplit_once(' ').expect("a \"name value\" line");
        assert!(
            map.insert(k.to_string(), v.to_string()).is_none(),
            "{k} printed twice"
        );
    }
    map
}

/// The names the C program must print, read off the header: every `#define` (but the include
/// guard), and for every struct its size and each field's offset, size and signedness.
fn header_names() -> BTreeSet<String> {
    let text = std::fs::read_to_string(include_dir().join("linux/gpid.h")).expect("read gpid.h");
    let mut names = BTreeSet::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("#define") {
            let name = rest.split_whitespace().next().expect("#define NAME");
            if name != "_UAPI_LINUX_GPID_H" {
                names.insert(name.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("struct ") {
            if let Some(s) = rest.strip_suffix('{') {
                let s = s.trim().to_string();
                names.insert(format!("sizeof({s})"));
                current = Some(s);
            }
        } else if line.starts_with("};") {
            current = None;
        } else if let (Some(s), true) = (&current, line.starts_with("__")) {
            let decl = line.split(';').next().expect("a field declaration");
            let field = decl.split_whitespace().last().expect("a field name");
            let field = field.split('[').next().expect("a field name");
            for what in ["offsetof", "sizeof", "signed"] {
                names.insert(format!("{what}({s}.{field})"));
            }
        }
    }
    assert!(current.is_none(), "unterminated struct in gpid.h");
    names
}

/// A field type whose signedness can be compared with C's.
trait Scalar {
    const SIGNED: bool;
}
impl Scalar for u32 {
    const SIGNED: bool = false;
}
impl Scalar for i32 {
    const SIGNED: bool = true;
}
impl Scalar for u64 {
    const SIGNED: bool = false;
}
impl<T: Scalar, const N: usize> Scalar for [T; N] {
    const SIGNED: bool = T::SIGNED;
}

fn field_size<S, F>(_: fn(&S) -> &F) -> usize {
    size_of::<F>()
}

fn field_signed<S, F: Scalar>(_: fn(&S) -> &F) -> bool {
    F::SIGNED
}

macro_rules! consts {
    ($($c:ident),* $(,)?) => {
        vec![$((stringify!($c).to_string(), $c.to_string())),*]
    };
}

macro_rules! layout {
    ($t:ty, $s:literal, [$($f:ident),* $(,)?]) => {{
        let mut v = vec![(format!("sizeof({})", $s), size_of::<$t>().to_string())];
        $(
            let f = concat!($s, ".", stringify!($f));
            v.push((format!("offsetof({f})"), offset_of!($t, $f).to_string()));
            v.push((format!("sizeof({f})"), field_size(|x: &$t| &x.$f).to_string()));
            v.push((format!("signed({f})"), u8::from(field_signed(|x: &$t| &x.$f)).to_string()));
        )*
        v
    }};
}

fn rust_values() -> Vec<(String, String)> {
    let mut v = consts![
        GPID_ABI_VERSION,
        GPID_DEVICE_PATH,
        GPID_IOC_MAGIC,
        GPID_FEATURE_GLOBAL_PIDS,
        GPID_FEATURE_ROBUST_FUTEX,
        GPID_FEATURE_SIGQUEUE,
        GPID_FEATURE_MSQ,
        GPID_FEATURE_PEERCRED,
        GPID_FEATURE_SIGQUEUE_THREAD,
        GPID_IOC_VERSION,
        GPID_MASK,
        GPID_MAX_LEVELS,
        GPID_BATCH_MAX,
        GPID_ENCODE_TGID,
        GPID_POLICY_EXPORT,
        GPID_NS_LIVE,
        GPID_NS_SET_SLOT,
        GPID_NS_SET_POLICY,
        GPID_IOC_SELF,
        GPID_IOC_ENCODE,
        GPID_IOC_DECODE,
        GPID_IOC_DECODE_BATCH,
        GPID_IOC_LEVELS,
        GPID_IOC_NS_INFO,
        GPID_IOC_NS_SET,
        GPID_IOC_ROBUST_REGISTER,
        GPID_IOC_ROBUST_UNREGISTER,
        GPID_MSQ_UNKNOWN,
        GPID_MSQ_NONE,
        GPID_MSQ_PARTY,
        GPID_IOC_MSQ,
        GPID_PEER_KNOWN,
        GPID_PEER_ALIVE,
        GPID_IOC_PEER,
        GPID_IOC_PIDFD,
        GPID_SIGQUEUE_GPID,
        GPID_SIGQUEUE_THREAD,
        GPID_IOC_SIGQUEUE,
        GPID_IOC_SIGSENDER,
    ];
    v.extend(layout!(
        GpidVersion,
        "gpid_version",
        [
            abi_version,
            pid_bits,
            features,
            narrow_bits,
            wide_slots,
            narrow_slots,
            narrow_start
        ]
    ));
    v.extend(layout!(GpidSelf, "gpid_self", [tid, tgid, slot, level]));
    v.extend(layout!(
        GpidEncode,
        "gpid_encode",
        [pid, flags, gpid, reserved]
    ));
    v.extend(layout!(
        GpidDecode,
        "gpid_decode",
        [gpid, flags, pid, reserved]
    ));
    v.extend(layout!(
        GpidDecodeBatch,
        "gpid_decode_batch",
        [gpids, pids, count, flags]
    ));
    v.extend(layout!(
        GpidLevels,
        "gpid_levels",
        [pid, flags, count, reserved, gpids, reserved2]
    ));
    v.extend(layout!(
        GpidNsInfo,
        "gpid_ns_info",
        [
            slot,
            flags,
            level,
            parent_slot,
            ino,
            generation,
            policy,
            state,
            wide_slot,
            wide_generation,
            reserved
        ]
    ));
    v.extend(layout!(
        GpidNsSet,
        "gpid_ns_set",
        [pid, flags, slot, policy, generation, reserved]
    ));
    v.extend(layout!(
        GpidRobustRegister,
        "gpid_robust_register",
        [flags, owner]
    ));
    v.extend(layout!(
        GpidMsq,
        "gpid_msq",
        [
            msqid,
            flags,
            sender_state,
            sender_pid,
            sender_gpid,
            receiver_state,
            receiver_pid,
            receiver_gpid,
            reserved,
            reserved2
        ]
    ));
    v.extend(layout!(
        GpidPeer,
        "gpid_peer",
        [fd, flags, pid, gpid, uid, gid, state, reserved]
    ));
    v.extend(layout!(
        GpidPidfd,
        "gpid_pidfd",
        [pidfd, flags, pid, gpid, state, reserved]
    ));
    v.extend(layout!(
        GpidSigqueue,
        "gpid_sigqueue",
        [target, flags, sig, reserved, value, reserved2]
    ));
    v.extend(layout!(
        GpidSigsender,
        "gpid_sigsender",
        [sig, flags, value, gpid, reserved, seq]
    ));
    v
}

#[test]
fn rust_mirror_matches_the_c_header() {
    let c = c_values();
    let rust = rust_values();
    let mut checked = BTreeSet::new();
    for (name, value) in &rust {
        assert!(checked.insert(name.clone()), "{name} checked twice");
        assert_eq!(c.get(name), Some(value), "{name}: C header vs Rust mirror");
    }
    let printed: BTreeSet<String> = c.keys().cloned().collect();
    let unchecked: Vec<_> = printed.difference(&checked).collect();
    assert!(
        unchecked.is_empty(),
        "printed by uapi_layout.c but not checked in Rust: {unchecked:?}"
    );
}

#[test]
fn c_program_covers_the_whole_header() {
    let printed: BTreeSet<String> = c_values().keys().cloned().collect();
    let declared = header_names();
    let missing: Vec<_> = declared.difference(&printed).collect();
    assert!(
        missing.is_empty(),
        "declared in gpid.h but not printed by uapi_layout.c: {missing:?}"
    );
    let extra: Vec<_> = printed.difference(&declared).collect();
    assert!(
        extra.is_empty(),
        "printed by uapi_layout.c but not in gpid.h: {extra:?}"
    );
}

#[test]
fn feature_names_match_the_c_constants() {
    let c = c_values();
    for (bit, name) in GPID_FEATURES {
        let key = format!("GPID_FEATURE_{}", name.to_uppercase());
        assert_eq!(c.get(&key), Some(&bit.to_string()), "{key}");
    }
    let c_features = c.keys().filter(|k| k.starts_with("GPID_FEATURE_")).count();
    assert_eq!(
        c_features,
        GPID_FEATURES.len(),
        "every C feature bit is named"
    );
}
