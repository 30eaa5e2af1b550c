//! The Rust mirror of the UAPI header must agree with the header itself, value by value.

use gpid::uapi::*;
use std::collections::HashMap;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;

fn c_values() -> HashMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let include = dir.join("../../include/uapi");
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("uapi_layout");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(&include)
        .arg(dir.join("tests/uapi_layout.c"))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling tests/uapi_layout.c failed");
    let out = Command::new(&exe).output().expect("run uapi_layout");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn rust_mirror_matches_the_c_header() {
    let c = c_values();
    let rust: Vec<(&str, String)> = vec![
        ("GPID_ABI_VERSION", GPID_ABI_VERSION.to_string()),
        ("GPID_IOC_MAGIC", GPID_IOC_MAGIC.to_string()),
        ("GPID_IOC_VERSION", GPID_IOC_VERSION.to_string()),
        ("sizeof(struct gpid_version)", size_of::<GpidVersion>().to_string()),
        ("offsetof(gpid_version.abi_version)", offset_of!(GpidVersion, abi_version).to_string()),
        ("offsetof(gpid_version.pid_bits)", offset_of!(GpidVersion, pid_bits).to_string()),
        ("offsetof(gpid_version.features)", offset_of!(GpidVersion, features).to_string()),
        ("GPID_DEVICE_PATH", GPID_DEVICE_PATH.to_string()),
    ];
    for (name, value) in rust {
        assert_eq!(c.get(name), Some(&value), "{name}: C header vs Rust mirror");
    }
    for (bit, name) in GPID_FEATURES {
        let key = format!("GPID_FEATURE_{}", name.to_uppercase());
        assert_eq!(c.get(&key), Some(&bit.to_string()), "{key}");
    }
    let c_features = c.keys().filter(|k| k.starts_with("GPID_FEATURE_")).count();
    assert_eq!(c_features, GPID_FEATURES.len(), "every C feature bit is mirrored");
}
