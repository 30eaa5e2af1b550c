// SPDX-License-Identifier: GPL-2.0

//! The scaling table: decode with 1 to 8192 bound namespaces and with many tasks, then what
//! the layout holds at once (issue #13: with the default parameters, 8192 namespaces whose
//! gpids reach PID 65535, 64 of them with gpids up to PID 4194303).
//!
//! The namespaces are [`Inits`]: PID 1 of each, bound by encoding it from here. For the
//! capacity rows every init makes a thread at TID 65535 (the last narrow PID) and the first
//! ones a thread at TID 4194303 (the last wide one), through `ns_last_pid` in their own
//! namespace, which promotes them to a wide slot.

use super::nsinit::Inits;
use super::{
    clone_err, count_or_q, cpath, header, meminfo_kb, nsfs_translate, scaling_row, Args, Sample,
    Sleepers, Sysctl, Timer,
};
use gpid::{describe, Class, Device, Layout, Split};
use std::io;
use std::time::Instant;

/// Bound namespaces (the initial one included) the decode rows are measured at, up to
/// `--namespaces`.
const POINTS: [usize; 5] = [1, 255, 1024, 4096, 8192];

/// Live and bound namespaces in /proc/gpid/namespaces (bound: dead ones not yet reclaimed
/// too), and of the live ones: narrow, wide, promoted.
#[derive(Default)]
struct Census {
    live: usize,
    bound: usize,
    narrow: usize,
    wide: usize,
    promoted: usize,
}

fn census() -> Option<Census> {
    let list = gpid::read_namespaces().ok()?;
    let live = || list.iter().filter(|n| n.live);
    Some(Census {
        live: live().count(),
        bound: list.len(),
        narrow: live().filter(|n| n.class == Class::Narrow).count(),
        wide: live().filter(|n| n.class == Class::Wide).count(),
        promoted: live().filter(|n| n.wide != 0).count(),
    })
}

/// The memory counters that namespaces and tasks move, in KiB.
#[derive(Clone, Copy)]
struct Mem {
    available: i64,
    kernel_stack: i64,
    slab: i64,
    page_tables: i64,
}

impl Mem {
    fn now() -> Self {
        let kb = |k: &str| meminfo_kb(k).map_or(0, |v| v as i64);
        Self {
            available: kb("MemAvailable"),
            kernel_stack: kb("KernelStack"),
            slab: kb("Slab"),
            page_tables: kb("PageTables"),
        }
    }

    /// `what` took the memory from `self` to `after`, for `n` of them.
    fn report(self, after: Mem, what: &str, n: usize) {
        let mib = |kb: i64| kb as f64 / 1024.0;
        let used = self.available - after.available;
        println!(
            "{:<54} {:.1} MiB, {:.1} KiB each (kernel stacks {:+.1} MiB, slab {:+.1}, page tables {:+.1})",
            format!("memory: {what}"),
            mib(used),
            used as f64 / n.max(1) as f64,
            mib(after.kernel_stack - self.kernel_stack),
            mib(after.slab - self.slab),
            mib(after.page_tables - self.page_tables),
        );
    }
}

/// The namespaces made so far: their inits and the gpid of each one's PID 1.
struct Namespaces {
    inits: Inits,
    gpids: Vec<u32>,
    /// Every PID 1 encoded narrow, PID part 1.
    all_narrow: bool,
}

impl Namespaces {
    /// More namespaces until there are `n`, each bound by encoding its PID 1 from here.
    fn grow_to(&mut self, dev: &Device, layout: &Layout, n: usize) -> io::Result<()> {
        while self.gpids.len() < n {
            if super::low_memory() {
                return Err(io::Error::from_raw_os_error(libc::ENOMEM));
            }
            let pid = self.inits.spawn()?;
            let g = dev.encode(pid, false)?;
            self.all_narrow &= matches!(
                layout.split(g),
                Split::Slot {
                    class: Class::Narrow,
                    nr: 1,
                    ..
                }
            );
            self.gpids.push(g);
        }
        Ok(())
    }
}

/// Runs the table; `check` records an answer that is not what it must be.
pub(super) fn table(args: &Args, check: &mut impl FnMut(&str, bool)) -> Result<(), String> {
    let t = Timer { iters: args.iters };
    let dev = Device::open().map_err(|e| format!("/dev/gpid: {}", describe(&e)))?;
    let layout = dev
        .layout()
        .map_err(|e| format!("version: {}", describe(&e)))?;
    let narrow_slots = layout.slots(Class::Narrow) as usize;
    let want = args.namespaces.min(narrow_slots);
    if want < args.namespaces {
        eprintln!(
            "gpid-bench: --namespaces {} capped at the {narrow_slots} narrow slots",
            args.namespaces
        );
    }
    // Raised for the run only: the defaults of a 2 GiB guest allow about 8k of each.
    let _ns_max = Sysctl::at_least("/proc/sys/user/max_pid_namespaces", want as u64 + 1024);
    let _threads_max = Sysctl::at_least(
        "/proc/sys/kernel/threads-max",
        (2 * want).max(args.tasks) as u64 + 4096,
    );
    // Each sleeper thread takes a few mappings (stack, guard, signal stack).
    let _map_count = Sysctl::at_least("/proc/sys/vm/max_map_count", 5 * args.tasks as u64 + 16384);

    println!();
    header("scaling: decode (ns/op)", "base", "scaled");
    let me = dev.self_ids();
    let decode_me = || {
        me.as_ref()
            .map_err(clone_err)
            .and_then(|s| dev.decode(s.tgid))
    };
    let start = census();
    let base_own = t.against_getppid(decode_me);
    let start_live = start.as_ref().map(|c| c.live);

    let mut ns = Namespaces {
        inits: Inits::new(want).map_err(|e| format!("mmap: {}", describe(&e)))?,
        gpids: Vec::with_capacity(want),
        all_narrow: true,
    };
    let mem_before = Mem::now();
    let created = Instant::now();
    let mut stopped = ns.grow_to(&dev, &layout, 1.min(want)).err();
    let first_live = census().map(|c| c.live);
    let base_child = match ns.gpids.first() {
        Some(&g) => t.against_getppid(|| dev.decode(g)),
        None => Err(stopped
            .as_ref()
            .map_or_else(|| io::Error::from_raw_os_error(libc::ENOENT), clone_err)),
    };
    let live0 = start_live.unwrap_or(1);
    for p in POINTS.into_iter().filter(|&p| p > live0 + 1) {
        // The initial namespace (and any other live one) counts; the rest are ours.
        let children = (p - live0).min(want);
        if stopped.is_some() || children <= ns.gpids.len() {
            break;
        }
        stopped = ns.grow_to(&dev, &layout, children).err();
        let live = census().map(|c| c.live);
        let own = t.against_getppid(decode_me);
        scaling_row(
            &format!(
                "own-ns gpid (wide), {} vs {} namespaces",
                count_or_q(start_live),
                count_or_q(live)
            ),
            &base_own,
            &own,
        );
        let newest = *ns.gpids.last().expect("at least one namespace");
        let child = t.against_getppid(|| dev.decode(newest));
        scaling_row(
            &format!(
                "newest ns's gpid (narrow), {} vs {} namespaces",
                count_or_q(first_live),
                count_or_q(live)
            ),
            &base_child,
            &child,
        );
    }
    if stopped.is_none() {
        stopped = ns.grow_to(&dev, &layout, want).err();
    }
    let created = created.elapsed();
    if let Some(e) = &stopped {
        eprintln!(
            "gpid-bench: stopped adding namespaces at {}: {} (MemAvailable {} kB)",
            ns.gpids.len(),
            describe(e),
            meminfo_kb("MemAvailable").unwrap_or(0)
        );
    }
    check(
        "every namespace's PID 1 encodes to a narrow slot, nr 1",
        ns.all_narrow,
    );
    let capacity = capacity(&t, &dev, &layout, &ns, (&base_own, start_live), check);

    let killed = Instant::now();
    let n = ns.gpids.len();
    ns.inits.kill_all();
    let killed = killed.elapsed();
    let end = census();

    tasks_row(&t, &dev, args);
    println!("(scaling ratio: scaled/base, each as a multiple of getppid timed alongside it)");

    println!();
    println!(
        "capacity (layout: {} wide slots of {} bits, {} narrow slots of {} bits)",
        layout.slots(Class::Wide),
        layout.pid_bits(),
        layout.slots(Class::Narrow),
        layout.narrow_bits()
    );
    let line = |what: &str, value: String| println!("{what:<54} {value}");
    if let Some(c) = &capacity.census {
        line(
            "namespaces holding a gpid at once (live)",
            format!(
                "{} ({} narrow, {} wide; {} bound)",
                c.live, c.narrow, c.wide, c.bound
            ),
        );
    }
    line(
        &format!(
            "  narrow: PID 1 and TID {} encoded, decoded back",
            layout.max_nr(Class::Narrow)
        ),
        format!("{}/{n}", capacity.narrow_ok),
    );
    line(
        &format!(
            "  promoted: TID {} encoded wide, decoded back",
            layout.max_nr(Class::Wide)
        ),
        format!(
            "{}/{}{}",
            capacity.promoted_ok,
            capacity.promotions,
            capacity
                .promote_err
                .as_ref()
                .map_or(String::new(), |e| format!(" (then {})", describe(e)))
        ),
    );
    if let Some(c) = &capacity.census {
        line(
            &format!(
                "  namespaces with PIDs up to {} (wide slots)",
                layout.max_nr(Class::Wide)
            ),
            format!(
                "{} ({} bound wide, {} promoted)",
                c.wide + c.promoted,
                c.wide,
                c.promoted
            ),
        );
    }
    line(
        &format!("  {n} namespaces made and bound"),
        format!("{:.2} s", created.as_secs_f64()),
    );
    line(
        &format!("  {n} inits killed and reaped"),
        format!(
            "{:.2} s; live namespaces after: {}",
            killed.as_secs_f64(),
            count_or_q(end.map(|c| c.live))
        ),
    );
    mem_before.report(
        capacity.mem_bound,
        &format!("{n} namespaces (an init each)"),
        n,
    );
    capacity.mem_bound.report(
        capacity.mem_narrow,
        &format!("{n} threads at TID {}", layout.max_nr(Class::Narrow)),
        n,
    );
    capacity.mem_narrow.report(
        capacity.mem_promoted,
        &format!(
            "{} threads at TID {}",
            capacity.promotions,
            layout.max_nr(Class::Wide)
        ),
        capacity.promotions,
    );
    Ok(())
}

/// What the capacity rows found.
struct Capacity {
    census: Option<Census>,
    narrow_ok: usize,
    promotions: usize,
    promoted_ok: usize,
    promote_err: Option<io::Error>,
    mem_bound: Mem,
    mem_narrow: Mem,
    mem_promoted: Mem,
}

/// The host TID of the thread an init made at TID `nr` of its namespace.
fn host_tid(init: libc::pid_t, nr: u32) -> io::Result<libc::pid_t> {
    nsfs_translate(&cpath(format!("/proc/{init}/ns/pid")), nr as i32)
}

/// Decodes `gpids` in batches: how many give the PIDs `want`.
fn decoded_back(dev: &Device, gpids: &[u32], want: &[libc::pid_t]) -> usize {
    match dev.decode_batch(gpids) {
        Ok(pids) => pids
            .iter()
            .zip(want)
            .filter(|(p, w)| p.as_ref().ok() == Some(w))
            .count(),
        Err(_) => 0,
    }
}

/// Every namespace gets a thread at the last narrow TID, the first ones one at the last wide
/// TID (as many as there are wide slots: the initial namespace holds one, so the last try
/// finds none free); each is encoded and decoded back.
fn capacity(
    t: &Timer,
    dev: &Device,
    layout: &Layout,
    ns: &Namespaces,
    (base_own, base_live): (&io::Result<Sample>, Option<usize>),
    check: &mut impl FnMut(&str, bool),
) -> Capacity {
    let pids = ns.inits.pids();
    let n = pids.len();
    let mem_bound = Mem::now();
    check(
        "every namespace's PID 1 decodes back",
        decoded_back(dev, &ns.gpids, pids) == n,
    );

    let top_narrow = layout.max_nr(Class::Narrow);
    for i in 0..n {
        ns.inits.post_thread(i, top_narrow);
    }
    let (mut hosts, mut gpids) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut narrow_err = None;
    for (i, &g1) in ns.gpids.iter().enumerate() {
        let made = ns.inits.wait(i).and_then(|tid| {
            if tid != top_narrow {
                return Err(io::Error::from_raw_os_error(libc::EADDRINUSE));
            }
            let host = host_tid(pids[i], tid)?;
            Ok((host, dev.encode(host, false)?))
        });
        match made {
            Ok((host, g)) => {
                // Same slot as PID 1's gpid, PID part 65535.
                let same_slot = match (layout.split(g1), layout.split(g)) {
                    (
                        Split::Slot { slot_id: a, .. },
                        Split::Slot {
                            class: Class::Narrow,
                            slot_id: b,
                            nr,
                        },
                    ) => a == b && nr == top_narrow,
                    _ => false,
                };
                if same_slot {
                    hosts.push(host);
                    gpids.push(g);
                }
            }
            Err(e) => {
                narrow_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = &narrow_err {
        eprintln!("gpid-bench: thread at TID {top_narrow}: {}", describe(e));
    }
    let narrow_ok = decoded_back(dev, &gpids, &hosts);
    check(
        "every namespace's TID 65535 encodes narrow in its slot and decodes back",
        narrow_ok == n,
    );
    let mem_narrow = Mem::now();

    let top_wide = layout.max_nr(Class::Wide);
    let promotions = (layout.slots(Class::Wide) as usize).min(n);
    for i in 0..promotions {
        ns.inits.post_thread(i, top_wide);
    }
    let (mut promoted_ok, mut promote_err, mut wide_gpid) = (0, None, None);
    for (i, &pid) in pids.iter().enumerate().take(promotions) {
        let promoted = ns.inits.wait(i).and_then(|tid| {
            if tid != top_wide {
                return Err(io::Error::from_raw_os_error(libc::EADDRINUSE));
            }
            let host = host_tid(pid, tid)?;
            let g = dev.encode(host, false)?;
            let Split::Slot {
                class: Class::Wide,
                slot_id,
                nr,
            } = layout.split(g)
            else {
                return Err(io::Error::from_raw_os_error(libc::EBADSLT));
            };
            // The namespace (known by its owner slot) now shows the wide slot; its narrow
            // gpids are as they were.
            let Split::Slot { slot_id: owner, .. } = layout.split(ns.gpids[i]) else {
                return Err(io::Error::from_raw_os_error(libc::EBADSLT));
            };
            let info = dev.ns_info(owner)?;
            let narrow_kept = dev.encode(pid, false)? == ns.gpids[i];
            let ok = nr == top_wide
                && info.wide_slot == slot_id
                && narrow_kept
                && dev.decode(g)? == host;
            Ok((ok, g))
        });
        match promoted {
            Ok((ok, g)) => {
                promoted_ok += usize::from(ok);
                wide_gpid.get_or_insert(g);
            }
            Err(e) => {
                promote_err.get_or_insert(e);
            }
        }
    }
    let mem_promoted = Mem::now();
    let census = census();
    // The wide slots are the initial namespace's and the promoted ones: every one in use.
    check(
        "promotions fill every wide slot but the initial namespace's",
        promoted_ok + 1 >= promotions.min(layout.slots(Class::Wide) as usize),
    );
    // Decode of a wide gpid at full load, against the own-ns one before any namespace.
    if let Some(g) = wide_gpid {
        let live = census.as_ref().map(|c| c.live);
        let wide = t.against_getppid(|| dev.decode(g));
        scaling_row(
            &format!(
                "own-ns gpid at {} vs a promoted ns's (wide) at {}",
                count_or_q(base_live),
                count_or_q(live)
            ),
            base_own,
            &wide,
        );
    }
    Capacity {
        census,
        narrow_ok,
        promotions,
        promoted_ok,
        promote_err,
        mem_bound,
        mem_narrow,
        mem_promoted,
    }
}

/// Decode of the newest thread's gpid with 1000 tasks and with `--tasks` (30000) of them.
fn tasks_row(t: &Timer, dev: &Device, args: &Args) {
    let mut sleepers = Sleepers::new();
    let small_target = 1000.min(args.tasks);
    let small = sleepers.grow_to(small_target);
    let decode_newest = |tid: libc::pid_t| -> io::Result<Sample> {
        let g = dev.encode(tid, false)?;
        t.against_getppid(|| dev.decode(g))
    };
    let small_ns = decode_newest(sleepers.newest_tid);
    let big = sleepers.grow_to(args.tasks);
    if big < args.tasks {
        eprintln!(
            "gpid-bench: stopped at {big} tasks of {} (memory or kernel limit; MemAvailable {} kB)",
            args.tasks,
            meminfo_kb("MemAvailable").unwrap_or(0)
        );
    }
    let big_ns = decode_newest(sleepers.newest_tid);
    scaling_row(
        &format!("newest thread's gpid, {small} vs {big} tasks"),
        &small_ns,
        &big_ns,
    );
}
