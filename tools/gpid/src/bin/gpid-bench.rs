//! gpid-bench: micro-benchmarks run inside the guest, each against the stock kernel's nearest
//! equivalent measured in the same boot. Prints `benchmark  stock  gpid  ratio` rows
//! (nanoseconds per operation, lower quartile of 7 rounds (see `typical`), stock and gpid
//! rounds alternating; ratio =
//! gpid / stock, so 0.1 means gpid is 10x faster), then a scaling table (`base  scaled
//! ratio`) of decode with 1 to 8192 bound namespaces and many tasks, whose ratio compares the
//! two as multiples of getppid timed alongside each, since they are measured at different
//! times, and what the layout holds at once (namespaces, promotions, memory).
//!
//! usage: gpid-bench [ITERS] [--namespaces N] [--tasks N] [--only TABLE]
//!   ITERS           calls per round (default: calibrated to about 20 ms per round)
//!   --only TABLE    run one table: core (with peer identities), scaling, signals, robust
//!                   or msq
//!   --namespaces N  PID namespaces besides the initial one for the scaling table (default
//!                   8192, capped at the narrow slots); the decode rows are measured at 255,
//!                   1024, 4096 and 8192 bound namespaces, as far as N goes
//!   --tasks N       tasks for the scaling row (default 30000, capped by free memory)
//!
//! Needs root (it creates PID namespaces and raises threads-max, max_pid_namespaces and
//! max_map_count for the duration). Every child it creates is killed and reaped before it
//! exits, and every child dies with it if it is killed (PR_SET_PDEATHSIG).

use gpid::{describe, Class, Device, Split};
use std::ffi::CString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[path = "gpid-bench/module.rs"]
mod module;
#[path = "gpid-bench/nsinit.rs"]
mod nsinit;
#[path = "gpid-bench/peercred.rs"]
mod peercred;
#[path = "gpid-bench/scaling.rs"]
mod scaling;

const ROUNDS: usize = 7;
/// Per-round time when ITERS is not given: long enough to dwarf the clock, short enough that
/// the slow /proc routes under TCG keep the whole run within a minute or two.
const ROUND_TARGET: Duration = Duration::from_millis(20);
const BATCH: usize = 1024;

/// `NS_GET_PID_FROM_PIDNS` (`_IOR(NSIO, 0x6, int)`, NSIO 0xb7; Linux 6.11): on an nsfs fd of a
/// PID namespace, takes a PID *in that namespace* as the argument value and returns the
/// task's PID in the caller's namespace.
const NS_GET_PID_FROM_PIDNS: libc::c_ulong = (2 << 30) | (4 << 16) | (0xb7 << 8) | 0x6;

struct Timer {
    iters: Option<u32>,
}

impl Timer {
    /// Typical nanoseconds per call of `op` over `ROUNDS` rounds, after one discarded round
    /// (caches, page faults and the first binding of a slot are not what is measured).
    fn ns_per_op(&self, mut op: impl FnMut()) -> f64 {
        let iters = self.iters.unwrap_or_else(|| calibrate(&mut op));
        round(&mut op, iters);
        typical((0..ROUNDS).map(|_| round(&mut op, iters)).collect())
    }

    /// `stock` and `gpid` timed in alternating rounds, so that a change in the machine's load
    /// (TCG on shared cores) hits both sides of a row alike. Returns (stock, gpid) typical rounds;
    /// the gpid side is called once first, so that a failing ioctl is reported as such
    /// instead of being timed.
    fn compare<T>(
        &self,
        mut stock: impl FnMut(),
        mut gpid: impl FnMut() -> io::Result<T>,
    ) -> (io::Result<f64>, io::Result<f64>) {
        if let Err(e) = gpid() {
            return (Ok(self.ns_per_op(stock)), Err(e));
        }
        let mut gpid = || {
            std::hint::black_box(gpid().ok());
        };
        let is = self.iters.unwrap_or_else(|| calibrate(&mut stock));
        let ig = self.iters.unwrap_or_else(|| calibrate(&mut gpid));
        round(&mut stock, is);
        round(&mut gpid, ig);
        let (mut s, mut g) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            s.push(round(&mut stock, is));
            g.push(round(&mut gpid, ig));
        }
        (Ok(typical(s)), Ok(typical(g)))
    }

    /// `op` and getppid in alternating rounds: (op, getppid) typical rounds. The scaling rows are
    /// measured minutes apart, so each carries its own reference to cancel drift in machine
    /// speed (TCG, cores shared with other work).
    fn against_getppid<T>(&self, op: impl FnMut() -> io::Result<T>) -> io::Result<Sample> {
        let (reference, op) = self.compare(getppid, op);
        Ok(Sample {
            op: op?,
            reference: reference?,
        })
    }
}

/// A scaling measurement with its interleaved getppid reference.
struct Sample {
    op: f64,
    reference: f64,
}

/// A scaling row: raw base and scaled ns/op; the ratio compares them as multiples of getppid.
fn scaling_row(name: &str, base: &io::Result<Sample>, scaled: &io::Result<Sample>) {
    match (base, scaled) {
        (Ok(b), Ok(s)) => {
            let ratio = (s.op / s.reference) / (b.op / b.reference);
            println!(
                "{name:<54} {:>10.1} {:>10.1} {:>8}",
                b.op,
                s.op,
                fmt_ratio(ratio)
            );
        }
        _ => row(
            name,
            base.as_ref().map(|b| b.op).map_err(clone_err),
            scaled.as_ref().map(|s| s.op).map_err(clone_err),
        ),
    }
}

/// Nanoseconds per call of one round of `iters` calls.
fn round(op: &mut impl FnMut(), iters: u32) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        op();
    }
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

/// The typical fast round: the lower quartile. Under TCG on this host's two shared cores a
/// round runs in one of two regimes, about 1.8x apart, switching at random every few rounds
/// whether gpid is loaded or not; a median then lands in either regime and a ratio of two
/// medians can be off by the same 1.8x. The lower quartile compares both sides in the fast
/// regime, as long as a quarter of each side's rounds ran in it.
fn typical(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 4]
}

/// Iterations that take about `ROUND_TARGET`.
fn calibrate(op: &mut impl FnMut()) -> u32 {
    let mut n: u32 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            op();
        }
        let el = t.elapsed();
        if el >= ROUND_TARGET / 8 || n >= 1 << 24 {
            let per = el.as_nanos().max(1) as f64 / f64::from(n);
            return (ROUND_TARGET.as_nanos() as f64 / per).clamp(1.0, 1e8) as u32;
        }
        n *= 4;
    }
}

fn fmt_ratio(r: f64) -> String {
    // Three decimals below 0.1, so "10x faster" is readable off the column.
    if r < 0.1 {
        format!("{r:.3}")
    } else {
        format!("{r:.2}")
    }
}

fn header(what: &str, a: &str, b: &str) {
    println!("{what:<54} {a:>10} {b:>10} {:>8}", "ratio");
}

/// One row; an unavailable side shows `n/a` and the reason at the end of the line.
fn row(name: &str, a: io::Result<f64>, b: io::Result<f64>) {
    let cell = |r: &io::Result<f64>| match r {
        Ok(v) => format!("{v:.1}"),
        Err(_) => "n/a".to_string(),
    };
    let ratio = match (&a, &b) {
        (Ok(a), Ok(b)) => fmt_ratio(b / a),
        _ => String::new(),
    };
    let why = match (&a, &b) {
        // The errno name alone keeps the row on one line.
        (Err(e), _) | (_, Err(e)) => match gpid::Errno::of(e).and_then(gpid::Errno::name) {
            Some(name) => format!("  ({name})"),
            None => format!("  ({})", describe(e)),
        },
        _ => String::new(),
    };
    println!(
        "{name:<54} {:>10} {:>10} {ratio:>8}{why}",
        cell(&a),
        cell(&b)
    );
}

fn getppid() {
    // SAFETY: getppid has no preconditions.
    std::hint::black_box(unsafe { libc::getppid() });
}

fn last_err<T>() -> io::Result<T> {
    Err(io::Error::last_os_error())
}

/// The stock route to "PID `nr` of the namespace `/proc/HOST/ns/pid` names, in my namespace":
/// open the nsfs file, NS_GET_PID_FROM_PIDNS, close.
fn nsfs_translate(ns_path: &CString, nr: i32) -> io::Result<i32> {
    // SAFETY: a NUL-terminated path; the fd is closed below on every path.
    let fd = unsafe { libc::open(ns_path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return last_err();
    }
    let r = nsfs_ioctl(fd, nr);
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    r
}

fn nsfs_ioctl(fd: libc::c_int, nr: i32) -> io::Result<i32> {
    // SAFETY: NS_GET_PID_FROM_PIDNS takes its argument by value, no memory is touched.
    let r = unsafe { libc::ioctl(fd, NS_GET_PID_FROM_PIDNS as _, nr as libc::c_ulong) };
    if r < 0 {
        last_err()
    } else {
        Ok(r)
    }
}

/// Reads a small /proc file into `buf` with raw syscalls (no allocation, so the stock route is
/// timed at its cheapest); returns the bytes read.
fn read_small(path: &CString, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: a NUL-terminated path; the fd is closed below on every path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return last_err();
    }
    let mut len = 0;
    let r = loop {
        // SAFETY: writes at most `buf.len() - len` bytes into `buf[len..]`.
        let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        match n {
            0 => break Ok(len),
            n if n < 0 => break last_err(),
            n => len += n as usize,
        }
        if len == buf.len() {
            break Ok(len);
        }
    };
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    r
}

/// The `NSpid:` line of a /proc/PID/status as (first, last): the PID in the reader's
/// namespace and in the task's own.
fn parse_nspid(status: &[u8]) -> Option<(i32, i32)> {
    let text = std::str::from_utf8(status).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    let mut nums = line.split_whitespace().map(|n| n.parse::<i32>().ok());
    let first = nums.next()??;
    let last = nums.next_back().unwrap_or(Some(first))?;
    Some((first, last))
}

fn cpath(s: String) -> CString {
    CString::new(s).expect("a path without NUL")
}

/// The stock route when only (namespace, PID in it) is known: walk /proc for a process of
/// that namespace whose innermost NSpid is `nr`.
fn proc_scan(ns_ino: u64, nr: i32, buf: &mut [u8]) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        match std::fs::metadata(format!("/proc/{pid}/ns/pid")) {
            Ok(m) if m.ino() == ns_ino => {}
            _ => continue,
        }
        let n = read_small(&cpath(format!("/proc/{pid}/status")), buf).ok()?;
        if parse_nspid(&buf[..n]).is_some_and(|(_, last)| last == nr) {
            return Some(pid);
        }
    }
    None
}

/// Threads of this process asleep in park(), to load the kernel's PID tables.
struct Sleepers {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
    newest_tid: libc::pid_t,
}

impl Sleepers {
    fn new() -> Self {
        Self {
            stop: Arc::new(AtomicBool::new(false)),
            handles: Vec::new(),
            newest_tid: 0,
        }
    }

    /// Adds threads until the system has `target` tasks, memory runs low or the kernel says
    /// no; returns the system's task count reached.
    fn grow_to(&mut self, target: usize) -> usize {
        let (tx, rx) = mpsc::channel();
        loop {
            let now = system_tasks().unwrap_or(0);
            if now >= target || low_memory() {
                return now;
            }
            let chunk = (target - now).min(256);
            let mut started = 0;
            for _ in 0..chunk {
                let stop = Arc::clone(&self.stop);
                let tx = tx.clone();
                let spawned = std::thread::Builder::new()
                    .stack_size(16 * 1024)
                    .spawn(move || {
                        // SAFETY: gettid has no preconditions.
                        let _ = tx.send(unsafe { libc::gettid() });
                        drop(tx);
                        while !stop.load(Ordering::Acquire) {
                            std::thread::park();
                        }
                    });
                match spawned {
                    Ok(h) => {
                        self.handles.push(h);
                        started += 1;
                    }
                    Err(_) => break,
                }
            }
            // Wait until every new thread runs, so that it is counted and has its TID.
            for tid in rx.iter().take(started) {
                self.newest_tid = self.newest_tid.max(tid);
            }
            if started < chunk {
                return system_tasks().unwrap_or(0);
            }
        }
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for h in &self.handles {
            h.thread().unpark();
        }
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// All tasks (threads) in the system: the denominator of /proc/loadavg's fourth field.
fn system_tasks() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    s.split_whitespace().nth(3)?.split_once('/')?.1.parse().ok()
}

fn meminfo_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Below a reserve of 1/8 of RAM the next threads could wake the OOM killer instead.
fn low_memory() -> bool {
    match (meminfo_kb("MemAvailable"), meminfo_kb("MemTotal")) {
        (Some(avail), Some(total)) => avail < (total / 8).max(64 * 1024),
        _ => true,
    }
}

/// A sysctl raised for the run and put back afterwards.
struct Sysctl {
    path: &'static str,
    old: Option<String>,
}

impl Sysctl {
    fn at_least(path: &'static str, want: u64) -> Self {
        let old = std::fs::read_to_string(path).ok();
        let cur: u64 = old
            .as_deref()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if cur < want && std::fs::write(path, want.to_string()).is_ok() {
            return Self { path, old };
        }
        Self { path, old: None }
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        if let Some(old) = &self.old {
            let _ = std::fs::write(self.path, old.trim());
        }
    }
}

fn count_or_q(n: Option<usize>) -> String {
    n.map_or_else(|| "?".into(), |n| n.to_string())
}

struct Args {
    iters: Option<u32>,
    namespaces: usize,
    tasks: usize,
    /// `--only`: the one table to run (`core` is the first table, peer identities with it).
    only: Option<String>,
}

const TABLES: [&str; 5] = ["core", "scaling", "signals", "robust", "msq"];

impl Args {
    fn runs(&self, table: &str) -> bool {
        self.only.as_deref().is_none_or(|t| t == table)
    }
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        iters: None,
        namespaces: 8192,
        tasks: 30_000,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |what: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{what} needs a number"))
        };
        match arg.as_str() {
            "--namespaces" => a.namespaces = num("--namespaces")?,
            "--tasks" => a.tasks = num("--tasks")?,
            "--only" => {
                let t = it.next().unwrap_or_default();
                if !TABLES.contains(&t.as_str()) {
                    return Err(format!("--only takes one of {}", TABLES.join(", ")));
                }
                a.only = Some(t);
            }
            "-h" | "--help" => return Err(String::new()),
            s => {
                a.iters = Some(
                    s.parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or(format!("bad ITERS '{s}'"))?,
                )
            }
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("gpid-bench: {msg}");
            }
            eprintln!(
                "usage: gpid-bench [ITERS] [--namespaces N] [--tasks N] [--only {}]",
                TABLES.join("|")
            );
            return ExitCode::from(2);
        }
    };
    // In this order: run()'s /dev/gpid would pin the module that the later tables unload.
    let mut result = Ok(true);
    if args.runs("core") {
        result = run(&args);
    }
    if args.runs("scaling") {
        result = result.and_then(|ok| {
            let mut agree = true;
            scaling::table(&args, &mut |what: &str, good: bool| {
                if !good {
                    eprintln!("gpid-bench: MISMATCH: {what}");
                    agree = false;
                }
            })?;
            Ok(agree && ok)
        });
    }
    if args.runs("signals") {
        result = result.and_then(|ok| Ok(signal_bench(&args)? && ok));
    }
    if args.runs("robust") {
        robust_bench::rows(&Timer { iters: args.iters });
    }
    let msq_ok = !args.runs("msq") || msq_pingpong(args.iters);
    match result.map(|ok| ok && msq_ok) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gpid-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every benchmark; Ok(false) when a gpid answer disagreed with the stock one.
fn run(args: &Args) -> Result<bool, String> {
    let t = Timer { iters: args.iters };
    let dev = Device::open().map_err(|e| format!("/dev/gpid: {}", describe(&e)))?;
    let v = dev
        .version()
        .map_err(|e| format!("version: {}", describe(&e)))?;
    let layout = gpid::Layout::from_version(&v).map_err(|e| describe(&e))?;
    let mut agree = true;
    let mut check = |what: &str, ok: bool| {
        if !ok {
            eprintln!("gpid-bench: MISMATCH: {what}");
            agree = false;
        }
    };
    let global = v.features & gpid::uapi::GPID_FEATURE_GLOBAL_PIDS != 0;
    if !global {
        println!("note: global_pids is not active in this module; gpid rows show n/a");
    }

    let me = dev.self_ids();

    header("benchmark (ns/op)", "stock", "gpid");
    let (a, b) = t.compare(getppid, || dev.version());
    row("version ioctl vs getppid", a, b);
    let getpid = || {
        // SAFETY: getpid has no preconditions.
        std::hint::black_box(unsafe { libc::getpid() });
    };
    let (a, b) = t.compare(getpid, || dev.self_ids());
    row("self vs getpid", a, b);
    let (a, b) = t.compare(getppid, || dev.encode(0, false));
    row("encode (self) vs getppid", a, b);
    let my_pid = std::process::id() as i32;
    let my_gpid = me.as_ref().map(|s| s.tgid).unwrap_or(0);
    if me.is_ok() {
        check(
            "decode(self tgid) == getpid()",
            dev.decode(my_gpid).ok() == Some(my_pid),
        );
    }
    let (a, b) = t.compare(getppid, || {
        me.as_ref()
            .map_err(clone_err)
            .and_then(|_| dev.decode(my_gpid))
    });
    row("decode (own namespace) vs getppid", a, b);

    // A task in a child namespace: PID 1 there, `child` here. Every route below must answer
    // `child` from (its namespace, 1).
    let mut inits = nsinit::Inits::new(1).map_err(|e| format!("mmap: {}", describe(&e)))?;
    let child = inits
        .spawn()
        .map_err(|e| format!("clone(CLONE_NEWPID): {}", describe(&e)))?;
    let ns_path = cpath(format!("/proc/{child}/ns/pid"));
    let status_path = cpath(format!("/proc/{child}/status"));
    let ns_ino = std::fs::metadata(format!("/proc/{child}/ns/pid"))
        .map_err(|e| e.to_string())?
        .ino();
    let child_gpid = dev.encode(child, false);
    if let Ok(g) = child_gpid {
        check(
            "child gpid is (narrow slot, 1)",
            matches!(
                layout.split(g),
                Split::Slot {
                    class: Class::Narrow,
                    nr: 1,
                    ..
                }
            ),
        );
        check(
            "decode(child gpid) == child",
            dev.decode(g).ok() == Some(child),
        );
    }
    let decode_child = || {
        child_gpid
            .as_ref()
            .map_err(clone_err)
            .and_then(|&g| dev.decode(g))
    };

    check(
        "NS_GET_PID_FROM_PIDNS(1) == child",
        nsfs_translate(&ns_path, 1).ok() == Some(child),
    );
    let (a, b) = t.compare(
        || {
            std::hint::black_box(nsfs_translate(&ns_path, 1).ok());
        },
        decode_child,
    );
    row("decode vs open ns/pid+NS_GET_PID_FROM_PIDNS+close", a, b);
    // SAFETY: a NUL-terminated path; closed below.
    let ns_fd = unsafe { libc::open(ns_path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if ns_fd >= 0 {
        let (a, b) = t.compare(
            || {
                std::hint::black_box(nsfs_ioctl(ns_fd, 1).ok());
            },
            decode_child,
        );
        // SAFETY: our fd.
        unsafe { libc::close(ns_fd) };
        row("decode vs NS_GET_PID_FROM_PIDNS (fd kept open)", a, b);
    }

    let mut buf = vec![0u8; 4096];
    let n = read_small(&status_path, &mut buf).map_err(|e| describe(&e))?;
    check(
        "/proc/child/status NSpid == child 1",
        parse_nspid(&buf[..n]) == Some((child, 1)),
    );
    let nspid = |buf: &mut [u8]| {
        let n = read_small(&status_path, buf).unwrap_or(0);
        std::hint::black_box(parse_nspid(&buf[..n]));
    };
    let (a, b) = t.compare(|| nspid(&mut buf), decode_child);
    row("decode vs read+parse /proc/PID/status NSpid", a, b);
    check(
        "/proc scan finds child",
        proc_scan(ns_ino, 1, &mut buf) == Some(child),
    );
    let procs = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|s| s.parse::<u32>().is_ok())
                })
                .count()
        })
        .ok();
    let (a, b) = t.compare(
        || {
            std::hint::black_box(proc_scan(ns_ino, 1, &mut buf));
        },
        decode_child,
    );
    row(
        &format!(
            "decode vs /proc scan for (ns ino, NSpid) ({} procs)",
            count_or_q(procs)
        ),
        a,
        b,
    );
    // LEVELS is NSpid's exact counterpart: the task's PID at every level the caller sees.
    if let Ok(l) = dev.levels(child, false) {
        check(
            "levels(child) has 2 entries ending in child",
            l.len() == 2 && layout.split(l[1]).nr() == Some(child as u32),
        );
    }
    let (a, b) = t.compare(|| nspid(&mut buf), || dev.levels(child, false));
    row("levels vs read+parse /proc/PID/status NSpid", a, b);

    // Batch: the same values as single decodes, per value.
    if let (Ok(s), Ok(c)) = (&me, &child_gpid) {
        let values: Vec<u32> = (0..BATCH)
            .map(|i| if i.is_multiple_of(2) { s.tgid } else { *c })
            .collect();
        let mut pids = vec![0i32; BATCH];
        if dev.decode_batch_into(&values, &mut pids).is_ok() {
            let want = |i: usize| if i.is_multiple_of(2) { my_pid } else { child };
            check(
                "batch decode == single decodes",
                pids.iter().enumerate().all(|(i, &p)| p == want(i)),
            );
        }
        let mut i = 0;
        let (a, b) = t.compare(
            || {
                i = (i + 1) % BATCH;
                std::hint::black_box(dev.decode(values[i]).ok());
            },
            || dev.decode_batch_into(&values, &mut pids),
        );
        row(
            &format!("batch decode of {BATCH}, per value vs decode"),
            a,
            b.map(|ns| ns / BATCH as f64),
        );
    } else if let Err(e) = me.as_ref().and(child_gpid.as_ref()) {
        row(
            &format!("batch decode of {BATCH}, per value vs decode"),
            Err(clone_err(e)),
            Err(clone_err(e)),
        );
    }

    inits.kill_all();
    println!();
    peercred::rows(&t, dev, &mut check);
    Ok(agree)
}

/// SysV message queues: a msgsnd/msgrcv ping-pong between two processes, with gpid.ko
/// unloaded (the stock kernel) and loaded, in alternating rounds of one boot: the module is
/// removed with delete_module and loaded again from /lib/modules/gpid.ko before each gpid
/// round, and left loaded (gpid probes neither msgsnd nor msgrcv: it reads the kernel's record
/// when asked). Both processes run on CPU 0; typical of 29 rounds. Returns false when the
/// ping-pong itself went wrong.
fn msq_pingpong(iters: Option<u32>) -> bool {
    #[repr(C)]
    struct Msg {
        mtype: libc::c_long,
        text: [u8; 8],
    }
    let send = |q: i32, mtype: libc::c_long, c: u8| -> io::Result<()> {
        let m = Msg {
            mtype,
            text: [c; 8],
        };
        // SAFETY: `m` is a msgbuf with 8 bytes of text.
        if unsafe { libc::msgsnd(q, (&m as *const Msg).cast(), 8, 0) } < 0 {
            return last_err();
        }
        Ok(())
    };
    let recv = |q: i32, mtype: libc::c_long| -> io::Result<u8> {
        let mut m = Msg {
            mtype: 0,
            text: [0; 8],
        };
        // SAFETY: `m` has room for 8 bytes of text.
        if unsafe { libc::msgrcv(q, (&mut m as *mut Msg).cast(), 8, mtype, 0) } != 8 {
            return last_err();
        }
        Ok(m.text[0])
    };

    // The robust rows' library keeps a /dev/gpid in this process, which would pin the module
    // (and be inherited by the child below).
    gpid_mutex::raw::release_device();
    println!();
    header("SysV msq (ns/op)", "unloaded", "loaded");
    let name = "msgsnd+msgrcv ping-pong round trip, 2 processes";
    // SAFETY: plain syscall.
    let q = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
    if q < 0 {
        let e = io::Error::last_os_error();
        row(name, Err(clone_err(&e)), Err(e));
        return false;
    }
    // Both processes on one CPU: a same-CPU hand-over each way, without the cross-vCPU wakeup
    // latency that makes TCG's timings swing by tens of percent. Restored afterwards.
    // SAFETY: cpu_set_t is plain data; the calls get valid pointers to it.
    let saved = unsafe {
        let mut saved: libc::cpu_set_t = std::mem::zeroed();
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        let have =
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut saved) == 0;
        libc::CPU_SET(0, &mut one);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one);
        have.then_some(saved)
    };
    // SAFETY: the child only makes syscalls and leaves with _exit.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: plain syscalls in the child.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        loop {
            match recv(q, 1) {
                Ok(b'q') | Err(_) => unsafe { libc::_exit(0) },
                Ok(c) => {
                    if send(q, 2, c).is_err() {
                        // SAFETY: leaving the child.
                        unsafe { libc::_exit(1) };
                    }
                }
            }
        }
    }
    let ok = std::cell::Cell::new(child > 0);
    let mut n = 0u8;
    let mut pingpong = || {
        n = n.wrapping_add(1) % 26;
        let c = b'A' + n;
        if send(q, 1, c).is_err() || recv(q, 2).ok() != Some(c) {
            ok.set(false);
        }
    };
    // The same two calls in one process, never blocking (type 3: the child only takes type
    // 1): the probes' cost without the scheduler's wakeups around it.
    let mut solo = || {
        if send(q, 3, b'S').is_err() || recv(q, 3).ok() != Some(b'S') {
            ok.set(false);
        }
    };
    type Typical = [(f64, f64); 2];
    let result = if child < 0 {
        last_err()
    } else {
        (|| -> io::Result<Typical> {
            module::load()?;
            let it = iters
                .unwrap_or_else(|| calibrate(&mut pingpong))
                .saturating_mul(4);
            let its = iters
                .unwrap_or_else(|| calibrate(&mut solo))
                .saturating_mul(4);
            round(&mut pingpong, it);
            let (unloaded, loaded) = module::unloaded_vs_loaded(4 * ROUNDS + 1, || {
                round(&mut pingpong, it / 8 + 1);
                (round(&mut pingpong, it), round(&mut solo, its))
            })?;
            let side = |v: &[(f64, f64)], solo: bool| {
                typical(v.iter().map(|&(p, s)| if solo { s } else { p }).collect())
            };
            Ok([
                (side(&unloaded, false), side(&loaded, false)),
                (side(&unloaded, true), side(&loaded, true)),
            ])
        })()
    };
    let mut ok = ok.get();
    if module::load().is_err() {
        eprintln!("gpid-bench: could not load gpid.ko again");
        ok = false;
    }
    if child > 0 {
        let _ = send(q, 1, b'q');
        // SAFETY: our child.
        unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
    }
    // SAFETY: IPC_RMID takes no buffer.
    unsafe { libc::msgctl(q, libc::IPC_RMID, std::ptr::null_mut()) };
    if let Some(saved) = saved {
        // SAFETY: a valid cpu_set_t.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &saved) };
    }
    let names = [name, "msgsnd+msgrcv, one process, no wakeups"];
    match result {
        Ok(typical) => {
            for (name, (a, b)) in names.iter().zip(typical) {
                row(name, Ok(a), Ok(b));
            }
        }
        Err(e) => {
            for name in names {
                row(name, Err(clone_err(&e)), Err(clone_err(&e)));
            }
        }
    }
    if !ok {
        eprintln!("gpid-bench: MISMATCH: the msq ping-pong lost or garbled a message");
    }
    println!("(loaded: gpid.ko in place; msgsnd/msgrcv are not probed)");
    ok
}

fn clone_err(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(n) => io::Error::from_raw_os_error(n),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Robust mutexes: gpid's cross-namespace mutex against the stock pthread robust mutex (musl's:
/// this binary is static musl), thread exit with the module loaded and not, and the wake
/// latency after an owner's death.
///
/// Each side runs in threads of its own: musl registers its own robust-list head at a thread's
/// first robust mutex, which would hide gpid-mutex's head in the same thread (documented).
mod robust_bench {
    use super::{header, row, Timer, ROUNDS};
    use gpid_mutex::{Acquired, Deadline, RawMutex};
    use std::io;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Instant;

    const DEATHS: usize = 50;

    /// Mutexes of both kinds in one MAP_SHARED mapping (process-shared, like real users).
    struct Shared {
        base: *mut u8,
        len: usize,
    }

    // SAFETY: the mapping is plain shared memory; every access is through atomics or the
    // mutex APIs, which are made for concurrent use.
    unsafe impl Send for Shared {}
    // SAFETY: as above.
    unsafe impl Sync for Shared {}

    impl Shared {
        /// `n` gpid mutexes, `n` pthread robust mutexes, and a few shared words.
        fn new(n: usize) -> io::Result<Self> {
            let len = 2 * n * 64 + 4096;
            let s = Self {
                base: shared_anon(len)?,
                len,
            };
            for i in 0..n {
                s.reset(i);
            }
            Ok(s)
        }

        fn gpid(&self, i: usize) -> &RawMutex {
            // SAFETY: slot i of the first half, 64-byte spaced, zero-filled or initialized.
            unsafe { &*self.base.add(i * 64).cast::<RawMutex>() }
        }

        fn pthread(&self, i: usize) -> *mut libc::pthread_mutex_t {
            // SAFETY: slot i of the second half; pthread_mutex_t (40 bytes) fits 64.
            unsafe { self.base.add((self.len - 4096) / 2 + i * 64).cast() }
        }

        fn word(&self, i: usize) -> &AtomicI64 {
            // SAFETY: the last page holds shared words.
            unsafe { &*self.base.add(self.len - 4096 + i * 8).cast::<AtomicI64>() }
        }

        /// Both mutexes of slot i free and consistent again.
        fn reset(&self, i: usize) {
            let _ = self.gpid(i).init(0);
            // SAFETY: attr and mutex memory are live; the mutex is not in use.
            unsafe {
                let mut a: libc::pthread_mutexattr_t = std::mem::zeroed();
                libc::pthread_mutexattr_init(&mut a);
                libc::pthread_mutexattr_setpshared(&mut a, libc::PTHREAD_PROCESS_SHARED);
                libc::pthread_mutexattr_setrobust(&mut a, libc::PTHREAD_MUTEX_ROBUST);
                libc::pthread_mutex_init(self.pthread(i), &a);
                libc::pthread_mutexattr_destroy(&mut a);
            }
        }
    }

    /// A fresh `MAP_SHARED` anonymous mapping of `len` bytes (process-shared, like real users).
    fn shared_anon(len: usize) -> io::Result<*mut u8> {
        // SAFETY: a fresh anonymous mapping; the caller unmaps it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(p.cast())
    }

    impl Drop for Shared {
        fn drop(&mut self) {
            // SAFETY: our mapping.
            unsafe { libc::munmap(self.base.cast(), self.len) };
        }
    }

    fn gpid_lock(m: &RawMutex) -> io::Result<Acquired> {
        // SAFETY: the mapping outlives every lock.
        unsafe { m.lock(Deadline::Never) }.map_err(io::Error::from_raw_os_error)
    }

    fn pthread_lock(m: *mut libc::pthread_mutex_t) -> io::Result<()> {
        // SAFETY: an initialized robust mutex in the live mapping.
        match unsafe { libc::pthread_mutex_lock(m) } {
            0 | libc::EOWNERDEAD => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    fn pthread_unlock(m: *mut libc::pthread_mutex_t) {
        // SAFETY: held by this thread.
        unsafe { libc::pthread_mutex_unlock(m) };
    }

    /// Runs `f` in a new thread and returns its result.
    fn in_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|_| std::process::abort()))
    }

    /// `ROUNDS` rounds of each side, alternating, each round in a fresh thread where `prep`
    /// runs once untimed (registration, first touch) before `iters` timed calls of `op`.
    fn alternate(
        t: &Timer,
        stock: &(impl Fn() + Sync),
        gpid: &(impl Fn() -> io::Result<()> + Sync),
    ) -> (io::Result<f64>, io::Result<f64>) {
        let iters = t.iters.unwrap_or(2000);
        let time = |op: &dyn Fn()| {
            let s = Instant::now();
            for _ in 0..iters {
                op();
            }
            s.elapsed().as_nanos() as f64 / f64::from(iters)
        };
        if let Err(e) = in_thread(gpid) {
            return (Err(io::Error::from_raw_os_error(libc::ENOTSUP)), Err(e));
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            a.push(in_thread(|| {
                stock();
                time(&|| stock())
            }));
            b.push(in_thread(|| {
                let _ = gpid();
                time(&|| {
                    let _ = gpid();
                })
            }));
        }
        (Ok(super::typical(a)), Ok(super::typical(b)))
    }

    fn uncontended(t: &Timer, s: &Shared) {
        let g = s.gpid(0);
        let (a, b) = alternate(
            t,
            &|| {
                let _ = pthread_lock(s.pthread(0));
                pthread_unlock(s.pthread(0));
            },
            &|| {
                gpid_lock(g)?;
                g.unlock().map_err(io::Error::from_raw_os_error)
            },
        );
        row("uncontended lock+unlock: pthread robust vs gpid", a, b);
    }

    /// One thread that locks `k` mutexes (or, for 0, locks and unlocks one, so that it is a
    /// robust-mutex user with an empty list) and exits holding them: spawn to join, each
    /// thread timed alone, the two sides alternating thread by thread (typical threads), so that the
    /// load of a shared TCG host hits both alike. On musl the stock side's exit marks its
    /// mutexes in user space (pthread_exit) before the kernel's walk.
    fn exit_holding(t: &Timer, s: &Shared, k: usize) {
        let n = t.iters.unwrap_or(400).min(400) as usize;
        let held = k.max(1);
        let one = |gpid: bool| -> io::Result<f64> {
            (0..held).for_each(|i| s.reset(i));
            let start = Instant::now();
            in_thread(|| -> io::Result<()> {
                for i in 0..held {
                    if gpid {
                        gpid_lock(s.gpid(i))?;
                    } else {
                        pthread_lock(s.pthread(i))?;
                    }
                }
                if k == 0 {
                    if gpid {
                        s.gpid(0).unlock().map_err(io::Error::from_raw_os_error)?;
                    } else {
                        pthread_unlock(s.pthread(0));
                    }
                }
                Ok(())
            })?;
            Ok(start.elapsed().as_nanos() as f64)
        };
        let name = format!("thread exit holding {k}: pthread robust vs gpid");
        if let Err(e) = one(true) {
            row(&name, Ok(0.0), Err(e));
            return;
        }
        let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            a.push(one(false).unwrap_or(f64::NAN));
            b.push(one(true).unwrap_or(f64::NAN));
        }
        row(&name, Ok(super::typical(a)), Ok(super::typical(b)));
    }

    fn unload() -> io::Result<()> {
        // The library's /dev/gpid pins the module.
        gpid_mutex::raw::release_device();
        super::module::unload()
    }

    fn load_and_arm() -> io::Result<()> {
        super::module::load()?;
        // The exit probes are armed by the first registration: make one, as a real user
        // would, so that "loaded" measures the armed path.
        for _ in 0..200 {
            if in_thread(gpid_mutex::owner_value).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(())
    }

    /// Threads that never touch gpid: spawn to join, module unloaded vs loaded (and armed).
    /// Every thread is timed alone and the typical threads of each state compared: the states
    /// alternate round by round, but a round is long (a module load apart), so per-thread
    /// samples keep bursts of host load out of the ratio.
    fn plain_exit(t: &Timer) {
        let name = "exit of non-gpid threads: unloaded vs loaded";
        let per_round = t.iters.unwrap_or(100).min(100) as usize;
        let sample = |out: &mut Vec<f64>| {
            for _ in 0..per_round {
                let start = Instant::now();
                in_thread(|| ());
                out.push(start.elapsed().as_nanos() as f64);
            }
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            if let Err(e) = unload() {
                row(name, Err(e), Ok(0.0));
                return;
            }
            sample(&mut a);
            if let Err(e) = load_and_arm() {
                eprintln!("gpid-bench: reloading gpid.ko: {e}");
                row(name, Ok(0.0), Err(e));
                return;
            }
            sample(&mut b);
        }
        row(name, Ok(super::typical(a)), Ok(super::typical(b)));
    }

    fn now_ns() -> i64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a live timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }

    /// Wake latency after the owner's death: a forked owner takes the mutex, waits until the
    /// parent sleeps in it, notes the time and SIGKILLs itself; the parent's lock returns.
    fn wake_latency(s: &Shared, gpid: bool) -> io::Result<Vec<f64>> {
        let mut out = Vec::new();
        for _ in 0..DEATHS {
            s.reset(0);
            s.word(0).store(0, Ordering::SeqCst);
            s.word(1).store(0, Ordering::SeqCst);
            // SAFETY: the child only locks, waits and kills itself.
            let pid = unsafe { libc::fork() };
            if pid < 0 {
                return Err(io::Error::last_os_error());
            }
            if pid == 0 {
                let ok = if gpid {
                    gpid_lock(s.gpid(0)).is_ok()
                } else {
                    pthread_lock(s.pthread(0)).is_ok()
                };
                s.word(0).store(if ok { 1 } else { -1 }, Ordering::SeqCst);
                while s.word(0).load(Ordering::SeqCst) != 2 {
                    std::thread::yield_now();
                }
                // Enough for the parent to be asleep in the futex even under TCG.
                std::thread::sleep(std::time::Duration::from_millis(10));
                s.word(1).store(now_ns(), Ordering::SeqCst);
                // SAFETY: ends this child.
                unsafe { libc::raise(libc::SIGKILL) };
                // SAFETY: not reached.
                unsafe { libc::_exit(1) };
            }
            while s.word(0).load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            let held = s.word(0).load(Ordering::SeqCst) == 1;
            s.word(0).store(2, Ordering::SeqCst);
            let r = if !held {
                Err(io::Error::from_raw_os_error(libc::EIO))
            } else if gpid {
                gpid_lock(s.gpid(0)).map(|_| {
                    let _ = s.gpid(0).consistent();
                    let _ = s.gpid(0).unlock();
                })
            } else {
                pthread_lock(s.pthread(0)).map(|_| {
                    // SAFETY: held by this thread.
                    unsafe { libc::pthread_mutex_consistent(s.pthread(0)) };
                    pthread_unlock(s.pthread(0));
                })
            };
            let done = now_ns();
            // SAFETY: our child.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
            r?;
            out.push((done - s.word(1).load(Ordering::SeqCst)) as f64);
        }
        out.sort_by(f64::total_cmp);
        Ok(out)
    }

    /// A counter of `/proc/gpid/robust` ("name value" lines).
    fn robust_counter(name: &str) -> Option<u64> {
        let text = std::fs::read_to_string("/proc/gpid/robust").ok()?;
        text.lines().find_map(|l| {
            let mut f = l
                .split(|c: char| c == ':' || c.is_whitespace())
                .filter(|w| !w.is_empty());
            (f.next()? == name).then(|| f.next()?.parse().ok())?
        })
    }

    fn latency_rows(s: &Shared) {
        let stock = in_thread(|| wake_latency(s, false));
        let fallbacks = robust_counter("fallbacks");
        let gpid = in_thread(|| wake_latency(s, true));
        // A death handled by the fallback wakes nobody: its waiter notices within a 50 ms
        // slice, which shows in the tail; say how many there were.
        if let (Some(a), Some(b)) = (fallbacks, robust_counter("fallbacks")) {
            println!(
                "(gpid wakes through the fallback during the latency rows: {})",
                b - a
            );
        }
        let pick = |r: &io::Result<Vec<f64>>, q: f64| match r {
            Ok(v) if !v.is_empty() => Ok(v[((v.len() - 1) as f64 * q).round() as usize]),
            Ok(_) => Err(io::Error::from_raw_os_error(libc::ENODATA)),
            Err(e) => Err(super::clone_err(e)),
        };
        row(
            &format!("wake after owner death, median of {DEATHS}"),
            pick(&stock, 0.5),
            pick(&gpid, 0.5),
        );
        row(
            &format!("wake after owner death, p99 of {DEATHS}"),
            pick(&stock, 0.99),
            pick(&gpid, 0.99),
        );
    }

    /// Entries of the hostile list: the kernel's `ROBUST_LIST_LIMIT`.
    const HOSTILE: usize = 2048;

    /// A thread that registers a robust list of `HOSTILE` entries, every word held by it
    /// (its TID for the stock side, its gpid for gpid's), and exits: spawn to join. Word at 0
    /// of each 64-byte node, `next` at 32 (`futex_offset` -32).
    fn hostile_exit(nodes: *mut u8, gpid: bool) -> io::Result<f64> {
        let base = nodes as usize;
        let start = Instant::now();
        in_thread(|| -> io::Result<()> {
            let owner = if gpid {
                gpid_mutex::owner_value().map_err(io::Error::from_raw_os_error)?
            } else {
                // SAFETY: gettid has no preconditions.
                unsafe { libc::syscall(libc::SYS_gettid) as u32 }
            };
            // The head lives in the last node's place; entries point at their `next` fields.
            let head = base + HOSTILE * 64;
            for i in 0..HOSTILE {
                let node = base + i * 64;
                let next = if i + 1 < HOSTILE { base + (i + 1) * 64 + 32 } else { head };
                // SAFETY: inside the mapping, aligned.
                unsafe {
                    *(node as *mut u32) = owner;
                    *((node + 32) as *mut usize) = next;
                }
            }
            // SAFETY: the head's three words, inside the mapping.
            unsafe {
                *(head as *mut usize) = base + 32;
                *((head + 8) as *mut isize) = -32;
                *((head + 16) as *mut usize) = 0;
                if libc::syscall(libc::SYS_set_robust_list, head, 24usize) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        })?;
        Ok(start.elapsed().as_nanos() as f64)
    }

    /// The exit hook's time (interrupts off) for a hostile list of 2048 words it owns, median
    /// and longest of the runs, next to the kernel's own walk of the same list (interrupts
    /// on): the latter as the typical exit of a thread with the list minus one with an empty
    /// list.
    fn hostile_list(t: &Timer) {
        let name = format!("hostile {HOSTILE}-entry list: kernel walk vs hook");
        let len = (HOSTILE + 1) * 64;
        let nodes = match shared_anon(len) {
            Ok(p) => p,
            Err(e) => {
                row(&name, Err(e), Ok(0.0));
                return;
            }
        };
        let n = t.iters.unwrap_or(100).min(100) as usize;
        let empty = || -> io::Result<f64> {
            let start = Instant::now();
            in_thread(|| ());
            Ok(start.elapsed().as_nanos() as f64)
        };
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..n {
            with.push(hostile_exit(nodes, false).unwrap_or(f64::NAN));
            without.push(empty().unwrap_or(f64::NAN));
        }
        let kernel = super::typical(with) - super::typical(without);
        let mut hook = Vec::new();
        let mut failed = None;
        for _ in 0..n {
            if let Err(e) = hostile_exit(nodes, true) {
                failed = Some(e);
                break;
            }
            // The thread's exit hook is the latest one: this bench runs alone.
            if let Some(ns) = robust_counter("hook_last_ns") {
                hook.push(ns as f64);
            }
            // Its leftover words are the fallback's; let it finish before the next run.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        hook.sort_by(f64::total_cmp);
        let pick = |q: f64| match (&failed, hook.is_empty()) {
            (Some(e), _) => Err(super::clone_err(e)),
            (None, true) => Err(io::Error::from_raw_os_error(libc::ENODATA)),
            (None, false) => Ok(hook[((hook.len() - 1) as f64 * q).round() as usize]),
        };
        row(&format!("{name}, median"), Ok(kernel.max(1.0)), pick(0.5));
        row(&format!("{name}, max"), Ok(kernel.max(1.0)), pick(1.0));
        // SAFETY: our mapping; no thread uses it any more.
        unsafe { libc::munmap(nodes.cast(), len) };
    }

    /// The robust-mutex rows, in a table of their own.
    pub fn rows(t: &Timer) {
        println!();
        header("robust mutexes (ns/op)", "stock", "gpid");
        let s = match Shared::new(64) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("gpid-bench: robust mutexes: {e}");
                return;
            }
        };
        uncontended(t, &s);
        for k in [0, 1, 64] {
            exit_holding(t, &s, k);
        }
        latency_rows(&s);
        hostile_list(t);
        plain_exit(t);
    }
}


/// The realtime signal the signal rows use (blocked, taken with sigwaitinfo).
fn bench_sig() -> libc::c_int {
    libc::SIGRTMIN() + 2
}

fn sigset_of(sig: libc::c_int) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        set
    }
}

/// Waits for `sig` (blocked); returns its `si_value` bits.
fn wait_sig(set: &libc::sigset_t) -> u64 {
    // SAFETY: `info` is written by the kernel; `set` is initialised.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::sigwaitinfo(set, &mut info);
        info.si_value().sival_ptr as u64
    }
}

fn sigqueue_stock(pid: libc::pid_t, sig: libc::c_int, value: u64) -> io::Result<()> {
    let v = libc::sigval {
        sival_ptr: value as usize as *mut libc::c_void,
    };
    // SAFETY: plain system call.
    if unsafe { libc::sigqueue(pid, sig, v) } == 0 {
        Ok(())
    } else {
        last_err()
    }
}

/// Signal rows: a sigqueue ping-pong between two processes (stock sigqueue(3) vs
/// GPID_IOC_SIGQUEUE), and kill(2) to self + sigwaitinfo with the module not loaded vs
/// loaded with the transparent fix on (the module is unloaded and reloaded between rounds).
fn signal_bench(args: &Args) -> Result<bool, String> {
    let t = Timer { iters: args.iters };
    let sig = bench_sig();
    let set = sigset_of(sig);
    // SAFETY: blocks one signal in this (single-threaded by now) process; the child inherits it.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    // Both ends on one CPU: each signal is then a direct switch to the other process, not a
    // cross-CPU wakeup whose latency (milliseconds under TCG) would swamp what is measured.
    let pinned = peercred::pin_to_one_cpu();
    header("signals (ns/op)", "stock", "gpid");
    {
        let dev = Device::open().map_err(|e| format!("/dev/gpid: {}", describe(&e)))?;
        // SAFETY: plain system calls.
        let me = unsafe { libc::getpid() };
        // SAFETY: fork in a process whose other threads (sleepers) have ended.
        let child = unsafe { libc::fork() };
        if child == 0 {
            // The echo: answers each signal with the same route; value 2 ends it.
            loop {
                match wait_sig(&set) {
                    0 => drop(sigqueue_stock(me, sig, 0)),
                    1 => drop(dev.sigqueue(me as u32, false, sig, 1)),
                    _ => std::process::exit(0),
                }
            }
        }
        let (a, b) = t.compare(
            || {
                drop(sigqueue_stock(child, sig, 0));
                wait_sig(&set);
            },
            || -> io::Result<()> {
                dev.sigqueue(child as u32, false, sig, 1)?;
                wait_sig(&set);
                Ok(())
            },
        );
        row("sigqueue ping-pong: sigqueue(3) vs gpid ioctl", a, b);
        drop(sigqueue_stock(child, sig, 2));
        // SAFETY: reaps our child.
        unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
    }
    // SAFETY: plain system call.
    let me = unsafe { libc::getpid() };
    let mut op = || {
        // SAFETY: plain system call.
        unsafe { libc::kill(me, sig) };
        wait_sig(&set);
    };
    let kill_row = (|| -> io::Result<(f64, f64)> {
        let iters = t.iters.unwrap_or_else(|| calibrate(&mut op));
        // Each measured round follows a discarded one: loading and unloading disturb the
        // machine for a moment (RCU grace periods, TLB flushes).
        let (s, g) = module::unloaded_vs_loaded(ROUNDS, || {
            round(&mut op, iters);
            round(&mut op, iters)
        })?;
        Ok((typical(s), typical(g)))
    })();
    match kill_row {
        Ok((s, g)) => row(
            "kill(2)+sigwaitinfo: module not loaded vs loaded",
            Ok(s),
            Ok(g),
        ),
        Err(e) => row(
            "kill(2)+sigwaitinfo: module not loaded vs loaded",
            Err(clone_err(&e)),
            Err(e),
        ),
    }
    if let Some(mask) = pinned {
        // SAFETY: restores this process's CPU mask.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mask) };
    }
    if std::path::Path::new("/sys/module/gpid").exists() {
        Ok(true)
    } else {
        module::load()
            .map(|()| true)
            .map_err(|e| format!("reload: {}", describe(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nspid_first_and_last() {
        let status = b"Name:\tsleep\nPid:\t93\nNSpid:\t93\t7\t1\nNSpgid:\t93\n";
        assert_eq!(parse_nspid(status), Some((93, 1)));
        assert_eq!(parse_nspid(b"NSpid:\t42\n"), Some((42, 42)));
        assert_eq!(parse_nspid(b"Pid:\t42\n"), None);
        assert_eq!(parse_nspid(b"NSpid:\tx\n"), None);
    }

    #[test]
    fn ratio_shows_tenfold_speedups() {
        assert_eq!(fmt_ratio(0.0612), "0.061");
        assert_eq!(fmt_ratio(2.104), "2.10");
    }

    #[test]
    fn nsfs_ioctl_number_matches_the_kernel_header() {
        // _IOR(0xb7, 0x6, int) from include/uapi/linux/nsfs.h (Linux 6.11+).
        assert_eq!(NS_GET_PID_FROM_PIDNS, 0x8004_b706);
    }
}
