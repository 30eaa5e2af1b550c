// SPDX-License-Identifier: GPL-2.0

//! `/proc/gpid/`: read-only debug files.

use crate::{
    features,
    gpid_core::encoding::Encoding,
    kernel_ext::{
        proc_fs::{ProcDir, ProcShow},
        seq_file::{seq_print, SeqFile},
        uapi,
    },
};
use kernel::{c_str, prelude::*};

/// Creates `/proc/gpid` and its files; they disappear when the returned directory is dropped.
pub(crate) fn create() -> Result<ProcDir> {
    let dir = ProcDir::new(c_str!("gpid"))?;
    dir.add_single::<Version>(c_str!("version"))?;
    dir.add_single::<Features>(c_str!("features"))?;
    Ok(dir)
}

/// `/proc/gpid/version`: `abi N` and `pid_bits N`, one per line.
struct Version;

impl ProcShow for Version {
    fn show(m: &SeqFile) -> Result {
        seq_print!(m, "abi {}\n", uapi::GPID_ABI_VERSION);
        seq_print!(m, "pid_bits {}\n", Encoding::DEFAULT_PID_BITS);
        Ok(())
    }
}

/// `/proc/gpid/features`: one line per known feature, `NAME on|off`.
struct Features;

impl ProcShow for Features {
    fn show(m: &SeqFile) -> Result {
        let active = features::active();
        for &(bit, name) in features::ALL {
            seq_print!(m, "{} {}\n", name, if active & bit != 0 { "on" } else { "off" });
        }
        Ok(())
    }
}
