//! gpidctl: command-line access to /dev/gpid.

use std::process::ExitCode;

const USAGE: &str = "\
usage: gpidctl [--json] COMMAND

commands:
  version     ABI version, pid_bits and active features of the loaded module
  help        this text

options:
  --json      machine-readable output
";

fn main() -> ExitCode {
    let mut json = false;
    let mut rest = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "-h" | "--help" | "help" => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => rest.push(arg),
        }
    }
    let result = match rest.first().map(String::as_str) {
        Some("version") if rest.len() == 1 => version(json),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpidctl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn version(json: bool) -> std::io::Result<()> {
    let v = gpid::Device::open()?.version()?;
    let names = gpid::feature_names(v.features);
    if json {
        let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        println!(
            "{{\"abi_version\":{},\"pid_bits\":{},\"features\":{},\"feature_names\":[{}]}}",
            v.abi_version,
            v.pid_bits,
            v.features,
            list.join(",")
        );
    } else {
        println!("abi_version {}", v.abi_version);
        println!("pid_bits    {}", v.pid_bits);
        println!(
            "features    {:#x} ({})",
            v.features,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(" ")
            }
        );
    }
    Ok(())
}
