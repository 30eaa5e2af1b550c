//! gpidctl: command-line access to /dev/gpid.

use gpid::{describe, Class, Device, Errno, Layout, Split};
use std::process::ExitCode;

const USAGE: &str = "\
usage: gpidctl [--json] COMMAND [ARGS]

commands:
  self                      gpids of gpidctl itself (thread and thread group), owner slot
                            and level of its PID namespace
  encode [--tgid] PID       the canonical gpid of PID (a PID or TID in this namespace;
                            0: gpidctl itself); --tgid: of its thread group instead
  decode GPID...            the PID in this namespace of each GPID; fails (1) if any
                            does not name a task visible here
  split GPID...             each GPID taken apart by the module's layout: slot, class
                            (wide or narrow) and PID part, or plain or unused
  levels [--tgid] PID       PID's gpid in every namespace from its own up to this one
  ns [SLOT]                 what the registry knows of the namespace holding SLOT (either
                            of its slots; default: this namespace)
  namespaces                the bound namespaces visible here (/proc/gpid/namespaces):
                            owner slot and class, wide slot of a promoted one, and more
  ns-set [--slot N] [--export on|off] PID
                            bind the PID namespace of PID to slot N of either class (an
                            unbound namespace; or a wide N for a narrow one not yet
                            promoted; checkpoint/restore; needs CAP_CHECKPOINT_RESTORE or
                            CAP_SYS_ADMIN) and/or set its export policy (needs
                            CAP_SYS_ADMIN); at least one option
  peer FD                   the peer of socket FD (an fd gpidctl inherited) as SO_PEERCRED
                            reports it, plus its gpid (when visible or exported) and
                            whether it is still alive
  msq MSQID                 last sender and receiver of SysV message queue MSQID (this
                            IPC namespace; needs read permission, as msgctl IPC_STAT)
  version                   ABI version, layout (the two slot classes) and active
                            features of the module
  kill [-q VALUE] [--thread] SIG TARGET
                            sigqueue(3) through gpid: SIG (number, NAME, RTMIN+N) with
                            VALUE (default 0) to the process TARGET (a GPID; a plain
                            number is a PID here), or to that thread with --thread; the
                            receiver's si_pid is gpidctl's PID in its namespace
  sigwait [--count N] SIG   block SIG, wait for N (default 1) of them (30 s at most) and
                            print what each carried; for si_pid 0, the sender's gpid if
                            its namespace exports it (GPID_IOC_SIGSENDER)
  help                      this text

A GPID is decimal, 0x hex, or SLOT:NR. SLOT and PID are decimal or 0x hex.
gpids are shown as slot:nr (0xHEX, class); slot 0 means \"in the reader's own
namespace\". Slot ids 1..W are wide, W+1..W+N narrow (see gpidctl version).

options:
  --json      one JSON object on stdout instead of text
  -h, --help  this text

exit status: 0 success, 1 an operation failed, 2 usage error
";

/// Why a command did not succeed; decides the exit status.
enum Failure {
    /// Bad command line: exit 2 with the usage text.
    Usage(String),
    /// The operation failed: exit 1, the message already says what failed and why.
    Failed(String),
}

type Outcome = Result<(), Failure>;

fn usage(msg: impl Into<String>) -> Failure {
    Failure::Usage(msg.into())
}

/// `gpidctl: WHAT: No such process (ESRCH)`.
fn failed(what: impl std::fmt::Display, e: &std::io::Error) -> Failure {
    Failure::Failed(format!("{what}: {}", describe(e)))
}

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
    let Some((cmd, args)) = rest.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let out = Out { json };
    let result = match cmd.as_str() {
        "self" => no_args(args).and_then(|()| cmd_self(out)),
        "encode" => cmd_encode(out, args),
        "decode" => cmd_decode(out, args),
        "split" => cmd_split(out, args),
        "levels" => cmd_levels(out, args),
        "ns" => cmd_ns(out, args),
        "namespaces" => no_args(args).and_then(|()| cmd_namespaces(out)),
        "ns-set" => cmd_ns_set(out, args),
        "peer" => cmd_peer(out, args),
        "msq" => cmd_msq(out, args),
        "version" => no_args(args).and_then(|()| cmd_version(out)),
        "kill" => cmd_kill(out, args),
        "sigwait" => cmd_sigwait(out, args),
        other => Err(usage(format!("unknown command '{other}'"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Failed(msg)) => {
            eprintln!("gpidctl: {msg}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("gpidctl: {msg}");
            eprintln!("try 'gpidctl --help'");
            ExitCode::from(2)
        }
    }
}

/// Output mode, and the JSON shapes shared by the commands.
#[derive(Clone, Copy)]
struct Out {
    json: bool,
}

/// A gpid as a JSON object: value, hex, and its parts (`class` is `wide`, `narrow`, `plain`
/// with slot 0, or `unused` with slot and nr null).
fn json_gpid(gpid: u32, layout: &Layout) -> String {
    let (class, slot, nr) = match layout.split(gpid) {
        Split::Plain(nr) => ("plain", "0".to_string(), nr.to_string()),
        Split::Slot { class, slot_id, nr } => (class.name(), slot_id.to_string(), nr.to_string()),
        Split::Unused => ("unused", "null".to_string(), "null".to_string()),
    };
    format!(
        "{{\"gpid\":{gpid},\"hex\":\"{gpid:#x}\",\"class\":\"{class}\",\"slot\":{slot},\"nr\":{nr}}}"
    )
}

/// A slot id with its class: `65 (narrow)`; `0 (-)` and `N (no such slot)` for the others.
fn slot_text(layout: &Layout, slot: u32) -> String {
    match layout.class(slot) {
        Some(class) => format!("{slot} ({class})"),
        None if slot == 0 => "0 (-)".to_string(),
        None => format!("{slot} (no such slot)"),
    }
}

/// A slot id's class as a JSON value: `"wide"`, `"narrow"` or null.
fn json_class(layout: &Layout, slot: u32) -> String {
    layout
        .class(slot)
        .map_or_else(|| "null".to_string(), |c| json_str(c.name()))
}

/// A JSON string literal: user input is echoed back, so it is escaped.
fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// An errno as JSON members: `"errno":3,"error":"ESRCH","message":"No such process"`.
fn json_errno(e: &std::io::Error) -> String {
    match Errno::of(e) {
        Some(errno) => format!(
            "\"errno\":{},\"error\":{},\"message\":{}",
            errno.0,
            json_str(errno.name().unwrap_or("")),
            json_str(&errno.description())
        ),
        None => format!("\"message\":{}", json_str(&e.to_string())),
    }
}

fn no_args(args: &[String]) -> Outcome {
    match args.first() {
        None => Ok(()),
        Some(a) => Err(usage(format!("unexpected argument '{a}'"))),
    }
}

/// Parses a decimal or `0x` hex number.
fn parse_num<T: TryFrom<u64>>(s: &str) -> Option<T> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => s.parse::<u64>().ok()?,
    };
    T::try_from(v).ok()
}

fn parse_pid(s: &str) -> Result<i32, Failure> {
    parse_num(s).ok_or_else(|| usage(format!("'{s}' is not a PID")))
}

fn parse_slot(s: &str) -> Result<u32, Failure> {
    parse_num(s).ok_or_else(|| usage(format!("'{s}' is not a slot id")))
}

/// A GPID argument, parsed before the device is opened so that a typo is a usage error even
/// without the module; `SLOT:NR` needs the module's layout to become a value.
enum GpidArg {
    Value(u32),
    Qualified(u32, u32),
}

impl GpidArg {
    /// The value, made with `layout` for `SLOT:NR` (`what` names the argument in an error).
    fn value(&self, layout: &Layout, what: &str) -> Result<u32, Failure> {
        match *self {
            GpidArg::Value(g) => Ok(g),
            GpidArg::Qualified(slot, nr) => layout.make(slot, nr).map_err(|e| failed(what, &e)),
        }
    }
}

fn parse_gpid(s: &str) -> Result<GpidArg, Failure> {
    let bad = || usage(format!("'{s}' is not a gpid (decimal, 0x hex or SLOT:NR)"));
    match s.split_once(':') {
        Some((slot, nr)) => Ok(GpidArg::Qualified(
            parse_num(slot).ok_or_else(bad)?,
            parse_num(nr).ok_or_else(bad)?,
        )),
        None => parse_num(s).map(GpidArg::Value).ok_or_else(bad),
    }
}

/// Parses every GPID argument (all of them first: a typo in the last one should not leave
/// half the output).
fn parse_gpids(args: &[String]) -> Result<Vec<GpidArg>, Failure> {
    if let Some(opt) = args.iter().find(|a| a.starts_with("--")) {
        return Err(usage(format!("unknown option '{opt}'")));
    }
    if args.is_empty() {
        return Err(usage("missing GPID"));
    }
    args.iter().map(|a| parse_gpid(a)).collect()
}

/// Splits `--tgid` off the arguments of `encode` and `levels`, which take exactly one PID.
fn tgid_and_pid(args: &[String]) -> Result<(bool, i32), Failure> {
    let mut tgid = false;
    let mut pid = None;
    for a in args {
        match a.as_str() {
            "--tgid" => tgid = true,
            s if s.starts_with("--") => return Err(usage(format!("unknown option '{s}'"))),
            s if pid.is_none() => pid = Some(parse_pid(s)?),
            s => return Err(usage(format!("unexpected argument '{s}'"))),
        }
    }
    Ok((tgid, pid.ok_or_else(|| usage("missing PID"))?))
}

fn open() -> Result<Device, Failure> {
    Device::open().map_err(|e| failed(gpid::uapi::GPID_DEVICE_PATH, &e))
}

/// Opens the device and learns its layout, which every gpid display needs.
fn open_with_layout() -> Result<(Device, Layout), Failure> {
    let dev = open()?;
    let layout = dev.layout().map_err(|e| failed("version", &e))?;
    Ok((dev, layout))
}

fn cmd_self(out: Out) -> Outcome {
    let (dev, layout) = open_with_layout()?;
    let s = dev.self_ids().map_err(|e| failed("self", &e))?;
    if out.json {
        println!(
            "{{\"tid\":{},\"tgid\":{},\"slot\":{},\"class\":{},\"level\":{}}}",
            json_gpid(s.tid, &layout),
            json_gpid(s.tgid, &layout),
            s.slot,
            json_class(&layout, s.slot),
            s.level
        );
    } else {
        println!("tid    {}", layout.display(s.tid));
        println!("tgid   {}", layout.display(s.tgid));
        println!("slot   {}", slot_text(&layout, s.slot));
        println!("level  {}", s.level);
    }
    Ok(())
}

fn cmd_encode(out: Out, args: &[String]) -> Outcome {
    let (tgid, pid) = tgid_and_pid(args)?;
    let (dev, layout) = open_with_layout()?;
    let what = if tgid { "encode --tgid" } else { "encode" };
    let g = dev
        .encode(pid, tgid)
        .map_err(|e| failed(format!("{what} {pid}"), &e))?;
    if out.json {
        println!(
            "{{\"pid\":{pid},\"tgid\":{tgid},\"gpid\":{}}}",
            json_gpid(g, &layout)
        );
    } else {
        println!("{pid} -> {}", layout.display(g));
    }
    Ok(())
}

fn cmd_decode(out: Out, args: &[String]) -> Outcome {
    let parsed = parse_gpids(args)?;
    let (dev, layout) = open_with_layout()?;
    let gpids = args
        .iter()
        .zip(&parsed)
        .map(|(arg, p)| p.value(&layout, &format!("decode {arg}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (arg, &g) in args.iter().zip(&gpids) {
        match dev.decode(g) {
            Ok(pid) if out.json => entries.push(format!(
                "{{\"input\":{},\"gpid\":{},\"pid\":{pid}}}",
                json_str(arg),
                json_gpid(g, &layout)
            )),
            Ok(pid) => println!("{} -> {pid}", layout.display(g)),
            Err(e) => {
                if out.json {
                    entries.push(format!(
                        "{{\"input\":{},\"gpid\":{},{}}}",
                        json_str(arg),
                        json_gpid(g, &layout),
                        json_errno(&e)
                    ));
                }
                errors.push(format!("decode {arg}: {}", describe(&e)));
            }
        }
    }
    if out.json {
        println!("{{\"results\":[{}]}}", entries.join(","));
    }
    match errors.split_last() {
        None => Ok(()),
        Some((last, earlier)) => {
            for e in earlier {
                eprintln!("gpidctl: {e}");
            }
            Err(Failure::Failed(last.clone()))
        }
    }
}

/// `gpidctl split GPID...`: arithmetic only, no lookup; `SLOT:NR` is checked as decode checks
/// it (`EINVAL`, `EOVERFLOW`).
fn cmd_split(out: Out, args: &[String]) -> Outcome {
    let parsed = parse_gpids(args)?;
    let (_dev, layout) = open_with_layout()?;
    let mut entries = Vec::new();
    for (arg, p) in args.iter().zip(&parsed) {
        let g = p.value(&layout, &format!("split {arg}"))?;
        if out.json {
            entries.push(format!(
                "{{\"input\":{},\"gpid\":{}}}",
                json_str(arg),
                json_gpid(g, &layout)
            ));
            continue;
        }
        let note = match layout.split(g) {
            Split::Plain(0) | Split::Slot { nr: 0, .. } => "  (PID part 0: names nothing)",
            Split::Plain(_) => "  (a PID in the reader's own namespace)",
            Split::Unused if g > gpid::uapi::GPID_MASK => "  (above GPID_MASK: EINVAL)",
            Split::Unused => "  (past the last narrow slot: names nothing)",
            Split::Slot { .. } => "",
        };
        println!("{g:#x}  {}{note}", layout.split(g));
    }
    if out.json {
        println!("{{\"results\":[{}]}}", entries.join(","));
    }
    Ok(())
}

fn cmd_levels(out: Out, args: &[String]) -> Outcome {
    let (tgid, pid) = tgid_and_pid(args)?;
    let (dev, layout) = open_with_layout()?;
    let what = if tgid { "levels --tgid" } else { "levels" };
    let levels = dev
        .levels(pid, tgid)
        .map_err(|e| failed(format!("{what} {pid}"), &e))?;
    if out.json {
        let list: Vec<String> = levels.iter().map(|&g| json_gpid(g, &layout)).collect();
        println!(
            "{{\"pid\":{pid},\"tgid\":{tgid},\"levels\":[{}]}}",
            list.join(",")
        );
        return Ok(());
    }
    let last = levels.len().saturating_sub(1);
    for (i, &g) in levels.iter().enumerate() {
        let note = match (i == 0, i == last) {
            (true, true) => "  (own namespace = this one)",
            (true, false) => "  (own namespace: canonical)",
            (false, true) => "  (this namespace)",
            (false, false) => "",
        };
        println!("[{i}] {}{note}", layout.display(g));
    }
    Ok(())
}

fn cmd_ns(out: Out, args: &[String]) -> Outcome {
    let slot = match args {
        [] => 0,
        [n] => parse_slot(n)?,
        [_, extra, ..] => return Err(usage(format!("unexpected argument '{extra}'"))),
    };
    let (dev, layout) = open_with_layout()?;
    let i = dev
        .ns_info(slot)
        .map_err(|e| failed(format!("ns {slot}"), &e))?;
    let live = i.state & gpid::uapi::GPID_NS_LIVE != 0;
    let export = i.policy & gpid::uapi::GPID_POLICY_EXPORT != 0;
    if out.json {
        println!(
            "{{\"slot\":{},\"class\":{},\"generation\":{},\"wide_slot\":{},\"wide_generation\":{},\"level\":{},\"parent_slot\":{},\"ino\":{},\"state\":{},\"live\":{live},\"policy\":{},\"export\":{export}}}",
            i.slot,
            json_class(&layout, i.slot),
            i.generation,
            i.wide_slot,
            i.wide_generation,
            i.level,
            i.parent_slot,
            i.ino,
            i.state,
            i.policy
        );
    } else {
        let parent = if i.parent_slot == 0 {
            "- (root, or not visible)".to_string()
        } else {
            slot_text(&layout, i.parent_slot)
        };
        let owner = match layout.class(i.slot) {
            Some(class) => format!("{} ({class}; the owner slot)", i.slot),
            None => slot_text(&layout, i.slot),
        };
        println!("slot        {owner}");
        println!("generation  {}", i.generation);
        println!("wide slot   {}", wide_slot_text(&layout, &i));
        println!("level       {}", i.level);
        println!("parent      {parent}");
        println!("ino         {}", i.ino);
        println!(
            "state       {}",
            if live { "live" } else { "dead (no tasks left)" }
        );
        println!(
            "policy      {:#x} (export {})",
            i.policy,
            if export { "on" } else { "off" }
        );
    }
    Ok(())
}

/// The promoted wide slot of a namespace as `gpidctl ns` shows it.
fn wide_slot_text(layout: &Layout, i: &gpid::GpidNsInfo) -> String {
    match (i.wide_slot, layout.class(i.slot)) {
        (0, Some(Class::Wide)) => "- (bound wide: one slot for every PID)".to_string(),
        (0, _) => format!(
            "- (not promoted: PIDs up to {} only so far)",
            layout.max_nr(Class::Narrow)
        ),
        (w, _) => format!(
            "{w} (generation {}; for PIDs above {})",
            i.wide_generation,
            layout.max_nr(Class::Narrow)
        ),
    }
}

/// `gpidctl namespaces`: /proc/gpid/namespaces as a table, one line per bound namespace.
fn cmd_namespaces(out: Out) -> Outcome {
    let list = gpid::read_namespaces().map_err(|e| failed("/proc/gpid/namespaces", &e))?;
    if out.json {
        let entries: Vec<String> = list
            .iter()
            .map(|n| {
                format!(
                    "{{\"slot\":{},\"class\":\"{}\",\"generation\":{},\"wide_slot\":{},\"wide_generation\":{},\"level\":{},\"parent_slot\":{},\"ino\":{},\"live\":{},\"policy\":{}}}",
                    n.slot, n.class, n.generation, n.wide, n.wide_generation, n.level, n.parent,
                    n.ino, n.live, n.policy
                )
            })
            .collect();
        println!("{{\"namespaces\":[{}]}}", entries.join(","));
        return Ok(());
    }
    println!(
        "{:>6} {:<6} {:>10} {:>6} {:>10} {:>5} {:>6} {:>12} {:<4} export",
        "slot", "class", "generation", "wide", "wide_gen", "level", "parent", "ino", "live"
    );
    let dash = |v: u32| {
        if v == 0 {
            "-".to_string()
        } else {
            v.to_string()
        }
    };
    for n in &list {
        println!(
            "{:>6} {:<6} {:>10} {:>6} {:>10} {:>5} {:>6} {:>12} {:<4} {}",
            n.slot,
            n.class.name(),
            n.generation,
            dash(n.wide),
            dash(n.wide_generation),
            n.level,
            dash(n.parent),
            n.ino,
            if n.live { "yes" } else { "no" },
            if n.policy & gpid::uapi::GPID_POLICY_EXPORT != 0 {
                "on"
            } else {
                "off"
            }
        );
    }
    let count = |class| list.iter().filter(|n| n.class == class).count();
    println!(
        "{} namespaces: {} narrow ({} promoted), {} wide",
        list.len(),
        count(Class::Narrow),
        list.iter().filter(|n| n.wide != 0).count(),
        count(Class::Wide)
    );
    Ok(())
}

fn cmd_ns_set(out: Out, args: &[String]) -> Outcome {
    let mut slot = None;
    let mut policy = None;
    let mut pid = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        // Both `--opt VALUE` and `--opt=VALUE`.
        let (opt, inline) = match a.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| usage(format!("{opt} needs a value")))
        };
        match opt {
            "--slot" => slot = Some(parse_slot(&value()?)?),
            "--export" => {
                policy = Some(match value()?.as_str() {
                    "on" => gpid::uapi::GPID_POLICY_EXPORT,
                    "off" => 0,
                    v => return Err(usage(format!("--export takes on or off, not '{v}'"))),
                })
            }
            s if s.starts_with("--") => return Err(usage(format!("unknown option '{s}'"))),
            s if pid.is_none() => pid = Some(parse_pid(s)?),
            s => return Err(usage(format!("unexpected argument '{s}'"))),
        }
    }
    let pid = pid.ok_or_else(|| usage("missing PID"))?;
    if slot.is_none() && policy.is_none() {
        return Err(usage("ns-set needs --slot or --export"));
    }
    let (dev, layout) = open_with_layout()?;
    let r = dev
        .ns_set(pid, slot, policy)
        .map_err(|e| failed(format!("ns-set {pid}"), &e))?;
    // The answer names the owner slot only; a promotion shows in NS_INFO.
    let wide = dev.ns_info(r.slot).map_or(0, |i| i.wide_slot);
    if out.json {
        println!(
            "{{\"pid\":{pid},\"slot\":{},\"class\":{},\"generation\":{},\"wide_slot\":{wide}}}",
            r.slot,
            json_class(&layout, r.slot),
            r.generation
        );
    } else {
        let export = match policy {
            Some(p) if p != 0 => ", export on",
            Some(_) => ", export off",
            None => "",
        };
        let wide = if wide == 0 {
            String::new()
        } else {
            format!(", wide slot {wide}")
        };
        let class = layout.class(r.slot).map_or("-", Class::name);
        println!(
            "namespace of pid {pid}: slot {} ({class}, generation {}){wide}{export}",
            r.slot, r.generation
        );
    }
    Ok(())
}

/// One side of a queue (`GPID_MSQ_*` state, pid here, gpid), as text and as JSON.
fn msq_side(state: u32, pid: i32, g: u32, layout: &Layout) -> (String, String) {
    use gpid::uapi::{GPID_MSQ_NONE, GPID_MSQ_PARTY, GPID_MSQ_UNKNOWN};
    let name = match state {
        GPID_MSQ_UNKNOWN => "unknown",
        GPID_MSQ_NONE => "none",
        GPID_MSQ_PARTY => "party",
        _ => "invalid",
    };
    let gpid_json = if g == 0 {
        "null".to_string()
    } else {
        json_gpid(g, layout)
    };
    let json = format!(
        "{{\"state\":{},\"state_value\":{state},\"pid\":{pid},\"gpid\":{gpid_json}}}",
        json_str(name)
    );
    let text = match state {
        GPID_MSQ_UNKNOWN => "unknown (queue older than gpid.ko, not operated since)".to_string(),
        GPID_MSQ_NONE => "none yet".to_string(),
        GPID_MSQ_PARTY => {
            let pid = if pid == 0 {
                "0 (not visible here)".to_string()
            } else {
                pid.to_string()
            };
            let g = if g == 0 {
                "- (not exported)".to_string()
            } else {
                layout.display(g)
            };
            format!("pid {pid}, gpid {g}")
        }
        s => format!("invalid state {s}"),
    };
    (text, json)
}

fn cmd_msq(out: Out, args: &[String]) -> Outcome {
    let msqid: i32 = match args {
        [] => return Err(usage("missing MSQID")),
        [s] if s.starts_with("--") => return Err(usage(format!("unknown option '{s}'"))),
        [s] => parse_num(s).ok_or_else(|| usage(format!("'{s}' is not a msqid")))?,
        [_, extra, ..] => return Err(usage(format!("unexpected argument '{extra}'"))),
    };
    let (dev, layout) = open_with_layout()?;
    let q = dev
        .msq(msqid)
        .map_err(|e| failed(format!("msq {msqid}"), &e))?;
    let (st, sj) = msq_side(q.sender_state, q.sender_pid, q.sender_gpid, &layout);
    let (rt, rj) = msq_side(q.receiver_state, q.receiver_pid, q.receiver_gpid, &layout);
    if out.json {
        println!("{{\"msqid\":{msqid},\"sender\":{sj},\"receiver\":{rj}}}");
    } else {
        println!("msqid     {msqid}");
        println!("sender    {st}");
        println!("receiver  {rt}");
    }
    Ok(())
}

fn cmd_version(out: Out) -> Outcome {
    let v = open()?.version().map_err(|e| failed("version", &e))?;
    let names = gpid::feature_names(v.features);
    // An ABI 1 module answers too (its 16-byte form): shown, then refused below.
    let layout = Layout::from_version(&v);
    if out.json {
        let list: Vec<String> = names.iter().map(|n| json_str(n)).collect();
        let classes = match &layout {
            Ok(l) => format!(
                ",\"narrow_bits\":{},\"wide_slots\":{},\"narrow_slots\":{},\"narrow_start\":{},\"narrow_end\":{},\"max_slot\":{}",
                v.narrow_bits,
                v.wide_slots,
                v.narrow_slots,
                v.narrow_start,
                l.narrow_end(),
                l.max_slot()
            ),
            Err(_) => String::new(),
        };
        println!(
            "{{\"abi_version\":{},\"pid_bits\":{}{classes},\"features\":{},\"feature_names\":[{}]}}",
            v.abi_version,
            v.pid_bits,
            v.features,
            list.join(",")
        );
    } else {
        println!("abi_version  {}", v.abi_version);
        println!("pid_bits     {}", v.pid_bits);
        if let Ok(l) = &layout {
            println!("narrow_bits  {}", l.narrow_bits());
            let class = |class: Class| {
                let n = l.slots(class);
                let first = if class == Class::Wide {
                    1
                } else {
                    l.slots(Class::Wide) + 1
                };
                if n == 0 {
                    return "none".to_string();
                }
                let last = first + n - 1;
                let (lo, _) = l.base(first).expect("a slot of the layout");
                let (hi, _) = l.base(last).expect("a slot of the layout");
                format!(
                    "{n}: slot ids {first}..={last}, PIDs 1..={}, values {lo:#x}..={:#x}",
                    l.max_nr(class),
                    hi + l.max_nr(class)
                )
            };
            println!("wide slots   {}", class(Class::Wide));
            println!("narrow slots {}", class(Class::Narrow));
            println!(
                "plain        PIDs 1..={} (values below {:#x})",
                l.max_nr(Class::Wide),
                1u32 << l.pid_bits()
            );
            if l.narrow_end() <= gpid::uapi::GPID_MASK {
                println!(
                    "unused       values {:#x}..={:#x}",
                    l.narrow_end(),
                    gpid::uapi::GPID_MASK
                );
            }
        }
        println!(
            "features     {:#x} ({})",
            v.features,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(" ")
            }
        );
    }
    layout.map(drop).map_err(|e| failed("version", &e))
}

fn cmd_peer(out: Out, args: &[String]) -> Outcome {
    let [fd] = args else {
        return Err(usage("peer takes one FD"));
    };
    let fd = parse_pid(fd)?;
    let (dev, layout) = open_with_layout()?;
    let p = dev.peer(fd).map_err(|e| failed(format!("peer {fd}"), &e))?;
    let known = p.state & gpid::uapi::GPID_PEER_KNOWN != 0;
    let alive = p.state & gpid::uapi::GPID_PEER_ALIVE != 0;
    if out.json {
        println!(
            "{{\"fd\":{fd},\"known\":{known},\"alive\":{alive},\"pid\":{},\"gpid\":{},\"uid\":{},\"gid\":{}}}",
            p.pid,
            json_gpid(p.gpid, &layout),
            p.uid,
            p.gid
        );
    } else if !known {
        println!("fd {fd}: no peer identity (as SO_PEERCRED: pid 0)");
    } else {
        let gpid = if p.gpid == 0 {
            "- (hidden)".to_string()
        } else {
            layout.display(p.gpid)
        };
        println!("pid    {}", p.pid);
        println!("gpid   {gpid}");
        println!("uid    {}", p.uid);
        println!("gid    {}", p.gid);
        println!("alive  {}", if alive { "yes" } else { "no" });
    }
    Ok(())
}

/// `gpidctl kill [-q VALUE] [--thread] SIG TARGET`: GPID_IOC_SIGQUEUE.
fn cmd_kill(out: Out, args: &[String]) -> Outcome {
    let (mut value, mut thread, mut pos) = (0u64, false, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-q" => {
                let v = it.next().ok_or_else(|| usage("-q needs a VALUE"))?;
                value = parse_num(v).ok_or_else(|| usage(format!("'{v}' is not a value")))?;
            }
            "--thread" => thread = true,
            s if s.starts_with('-') && pos.is_empty() && gpid::parse_signal(&s[1..]).is_some() => {
                pos.push(&s[1..]);
            }
            s if s.starts_with("--") => return Err(usage(format!("unknown option '{s}'"))),
            s => pos.push(s),
        }
    }
    let [sig, target] = pos[..] else {
        return Err(usage("kill takes SIG and TARGET"));
    };
    let sig = gpid::parse_signal(sig).ok_or_else(|| usage(format!("'{sig}' is not a signal")))?;
    let target_arg = parse_gpid(target)?;
    let (dev, layout) = open_with_layout()?;
    let gpid = target_arg.value(&layout, &format!("kill {target}"))?;
    dev.sigqueue(gpid, thread, sig, value)
        .map_err(|e| failed(format!("kill {sig} {target}"), &e))?;
    if out.json {
        println!(
            "{{\"sig\":{sig},\"target\":{},\"value\":{value},\"thread\":{thread}}}",
            json_gpid(gpid, &layout)
        );
    } else {
        println!(
            "queued signal {sig} (value {value}) to {}",
            layout.display(gpid)
        );
    }
    Ok(())
}

/// `gpidctl sigwait [--count N] SIG`: prints si_code, si_pid, si_uid and si_value of each.
fn cmd_sigwait(out: Out, args: &[String]) -> Outcome {
    let (mut count, mut sig) = (1u32, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--count" => {
                let v = it.next().ok_or_else(|| usage("--count needs N"))?;
                count = parse_num(v).ok_or_else(|| usage(format!("'{v}' is not a count")))?;
            }
            s if sig.is_none() => {
                sig = Some(
                    gpid::parse_signal(s).ok_or_else(|| usage(format!("'{s}' is not a signal")))?,
                )
            }
            s => return Err(usage(format!("unexpected argument '{s}'"))),
        }
    }
    let sig = sig.ok_or_else(|| usage("missing SIG"))?;
    // The device is optional: without the module, si_pid is all there is.
    let dev = Device::open().ok();
    let layout = dev
        .as_ref()
        .and_then(|d| d.layout().ok())
        .unwrap_or_default();
    // SAFETY: sigset operations on a local set; blocking one signal for this process.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    if !out.json {
        println!("waiting for signal {sig} (pid {})", std::process::id());
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    for _ in 0..count {
        let ts = libc::timespec {
            tv_sec: 30,
            tv_nsec: 0,
        };
        // SAFETY: `info` is written by the kernel.
        let info = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            if libc::sigtimedwait(&set, &mut info, &ts) < 0 {
                return Err(failed("sigwait", &std::io::Error::last_os_error()));
            }
            info
        };
        // SAFETY: the kill/rt layouts share si_pid, si_uid and si_value.
        let (pid, uid, value) = unsafe {
            (
                info.si_pid(),
                info.si_uid(),
                info.si_value().sival_ptr as u64,
            )
        };
        let code = match info.si_code {
            0 => "SI_USER".to_string(),
            -1 => "SI_QUEUE".to_string(),
            -6 => "SI_TKILL".to_string(),
            c => c.to_string(),
        };
        let sender = match (&dev, pid) {
            (Some(d), 0) => d.sigsender(sig, value).ok().map(|(g, _)| g),
            _ => None,
        };
        if out.json {
            let sender = sender.map_or("null".to_string(), |g| json_gpid(g, &layout));
            println!(
                "{{\"sig\":{sig},\"code\":{},\"si_pid\":{pid},\"si_uid\":{uid},\"value\":{value},\"sender\":{sender}}}",
                info.si_code
            );
        } else {
            let sender = sender.map_or(String::new(), |g| {
                format!(" sender gpid {}", layout.display(g))
            });
            println!("signal {sig} code {code} si_pid {pid} si_uid {uid} value {value}{sender}");
        }
        let _ = std::io::stdout().flush();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_decimal_and_hex() {
        assert_eq!(parse_num::<u32>("4194309"), Some(0x400005));
        assert_eq!(parse_num::<u32>("0x400005"), Some(0x400005));
        assert_eq!(parse_num::<u32>("0X400005"), Some(0x400005));
        assert_eq!(parse_num::<u32>("0x100000000"), None);
        assert_eq!(parse_num::<i32>("2147483648"), None);
        assert_eq!(parse_num::<u32>("-1"), None);
        assert_eq!(parse_num::<u32>(""), None);
        assert_eq!(parse_num::<u32>("0x"), None);
    }

    #[test]
    fn gpid_arguments() {
        assert!(matches!(parse_gpid("3:1"), Ok(GpidArg::Qualified(3, 1))));
        assert!(matches!(
            parse_gpid("0x3:0x10"),
            Ok(GpidArg::Qualified(3, 16))
        ));
        assert!(matches!(
            parse_gpid("0xc00001"),
            Ok(GpidArg::Value(0xc00001))
        ));
        assert!(matches!(parse_gpid("3:"), Err(Failure::Usage(_))));
        assert!(matches!(parse_gpid("a:1"), Err(Failure::Usage(_))));
    }

    /// A layout of 64 wide and 12224 narrow slots (not the module's default of 65), which the
    /// formatting tests below were written against.
    fn layout64() -> Layout {
        Layout::new(22, 16, 64, 12224).unwrap()
    }

    #[test]
    fn msq_sides() {
        use gpid::uapi::{GPID_MSQ_NONE, GPID_MSQ_PARTY, GPID_MSQ_UNKNOWN};
        let l = layout64();
        let (t, j) = msq_side(GPID_MSQ_PARTY, 0, 0x1040_0001, &l);
        assert_eq!(
            t,
            "pid 0 (not visible here), gpid 65:1 (0x10400001, narrow)"
        );
        assert_eq!(
            j,
            "{\"state\":\"party\",\"state_value\":2,\"pid\":0,\"gpid\":{\"gpid\":272629761,\"hex\":\"0x10400001\",\"class\":\"narrow\",\"slot\":65,\"nr\":1}}"
        );
        let (t, j) = msq_side(GPID_MSQ_PARTY, 42, 0, &l);
        assert_eq!(t, "pid 42, gpid - (not exported)");
        assert!(j.ends_with("\"pid\":42,\"gpid\":null}"));
        assert!(msq_side(GPID_MSQ_NONE, 0, 0, &l).0.starts_with("none"));
        assert!(msq_side(GPID_MSQ_UNKNOWN, 0, 0, &l)
            .1
            .contains("\"unknown\""));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        let l = layout64();
        assert_eq!(
            json_gpid(0xc00001, &l),
            "{\"gpid\":12582913,\"hex\":\"0xc00001\",\"class\":\"wide\",\"slot\":3,\"nr\":1}"
        );
        assert_eq!(
            json_gpid(7, &l),
            "{\"gpid\":7,\"hex\":\"0x7\",\"class\":\"plain\",\"slot\":0,\"nr\":7}"
        );
        assert_eq!(
            json_gpid(1 << 30, &l),
            "{\"gpid\":1073741824,\"hex\":\"0x40000000\",\"class\":\"unused\",\"slot\":null,\"nr\":null}"
        );
    }

    #[test]
    fn slots_with_their_class() {
        let l = layout64();
        assert_eq!(slot_text(&l, 1), "1 (wide)");
        assert_eq!(slot_text(&l, 65), "65 (narrow)");
        assert_eq!(slot_text(&l, 0), "0 (-)");
        assert_eq!(slot_text(&l, 12289), "12289 (no such slot)");
        assert_eq!(json_class(&l, 64), "\"wide\"");
        assert_eq!(json_class(&l, 0), "null");
        // SLOT:NR arguments become values through the layout, narrow or wide.
        let v = |s: &str| parse_gpid(s).ok().unwrap().value(&l, s).ok();
        assert_eq!(v("65:7"), Some(0x1040_0007));
        assert_eq!(v("1:5"), Some(0x40_0005));
        assert_eq!(v("0:5"), Some(5));
        assert_eq!(v("65:65536"), None);
        assert_eq!(v("12289:1"), None);
        let mut i = gpid::GpidNsInfo {
            slot: 65,
            ..Default::default()
        };
        assert!(wide_slot_text(&l, &i).starts_with("- (not promoted"));
        i.wide_slot = 2;
        i.wide_generation = 5;
        assert_eq!(
            wide_slot_text(&l, &i),
            "2 (generation 5; for PIDs above 65535)"
        );
        i.slot = 3;
        i.wide_slot = 0;
        assert!(wide_slot_text(&l, &i).starts_with("- (bound wide"));
    }
}
