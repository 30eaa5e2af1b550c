// SPDX-License-Identifier: GPL-2.0

//! `/proc/gpid/`: read-only debug files. Each shows only what the reading task may see.

use crate::{
    features,
    gpids::Gpids,
    kernel_ext::{
        proc_fs::{ProcDir, ProcShow},
        seq_file::{seq_print, SeqFile},
        task::Current,
        uapi,
    },
};
use kernel::{c_str, prelude::*, sync::Arc};

/// Creates `/proc/gpid` and its files; they disappear when the returned directory is dropped.
pub(crate) fn create(gpids: Arc<Gpids>) -> Result<ProcDir<Gpids>> {
    let dir = ProcDir::new(c_str!("gpid"), gpids)?;
    dir.add_single::<Version>(c_str!("version"))?;
    dir.add_single::<Features>(c_str!("features"))?;
    dir.add_single::<Namespaces>(c_str!("namespaces"))?;
    Ok(dir)
}

/// `/proc/gpid/version`: `abi N` and `pid_bits N`, one per line.
struct Version;

impl ProcShow for Version {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        seq_print!(m, "abi {}\n", uapi::GPID_ABI_VERSION);
        seq_print!(m, "pid_bits {}\n", gpids.encoding.pid_bits());
        Ok(())
    }
}

/// `/proc/gpid/features`: one line per known feature, `NAME on|off`.
struct Features;

impl ProcShow for Features {
    type Data = Gpids;

    fn show(m: &SeqFile, _gpids: &Gpids) -> Result {
        let active = features::active();
        for &(bit, name) in features::ALL {
            seq_print!(m, "{} {}\n", name, if active & bit != 0 { "on" } else { "off" });
        }
        Ok(())
    }
}

/// `/proc/gpid/namespaces`: the bound namespaces the reader's PID namespace can see (its own
/// and its descendants), one per line; `parent` is 0 where the reader cannot see the parent.
struct Namespaces;

impl ProcShow for Namespaces {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        seq_print!(m, "nsid generation level parent ino live policy\n");
        Current::with(|current| {
            gpids.for_each_visible(current.pid_ns(), |nsid, generation, entry, parent| {
                seq_print!(
                    m,
                    "{} {} {} {} {} {} {}\n",
                    nsid,
                    generation,
                    entry.ns.level(),
                    parent,
                    entry.ns.inum(),
                    u8::from(entry.ns.is_live()),
                    if entry.export { uapi::GPID_POLICY_EXPORT } else { 0 }
                );
            })
        });
        Ok(())
    }
}
