// SPDX-License-Identifier: GPL-2.0

//! `/proc/gpid/`: read-only debug files. Each shows only what the reading task may see.

use crate::gpid_core::layout::Class;
use crate::{
    creds, features,
    gpids::Gpids,
    kernel_ext::{
        proc_fs::{ProcDir, ProcShow},
        pid_namespace::{Capability, PidNamespace},
        task::Current,
        uapi,
    },
};
use kernel::{c_str, prelude::*, seq_file::SeqFile, seq_print, sync::Arc};

/// Whether the reader may see system-wide activity counters: the initial namespace's admin
/// (its PID namespace, `CAP_SYS_ADMIN` in the initial user namespace). A counter moved by
/// every namespace's signals, mutexes and sockets would let a container watch the host's and
/// its siblings' activity, which stock Linux hides; everyone else reads the state lines only.
fn reader_sees_counters() -> bool {
    Current::with(|current| {
        let init = PidNamespace::init_ns();
        core::ptr::eq(current.pid_ns(), init) && init.current_capable_noaudit(Capability::SysAdmin)
    })
}

/// Creates `/proc/gpid` and its files; they disappear when the returned directory is dropped.
pub(crate) fn create(gpids: Arc<Gpids>) -> Result<ProcDir<Gpids>> {
    let dir = ProcDir::new(c_str!("gpid"), gpids)?;
    dir.add_single::<Version>(c_str!("version"))?;
    dir.add_single::<Features>(c_str!("features"))?;
    dir.add_single::<Namespaces>(c_str!("namespaces"))?;
    dir.add_single::<Robust>(c_str!("robust"))?;
    dir.add_single::<Msq>(c_str!("msq"))?;
    dir.add_single::<Creds>(c_str!("creds"))?;
    dir.add_single::<Signals>(c_str!("signals"))?;
    Ok(dir)
}

/// `/proc/gpid/version`: the ABI and the layout, `NAME N` lines (the fields of
/// `GPID_IOC_VERSION`).
struct Version;

impl ProcShow for Version {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        seq_print!(m, "abi {}\n", uapi::GPID_ABI_VERSION);
        let layout = gpids.layout;
        seq_print!(m, "pid_bits {}\n", layout.pid_bits());
        seq_print!(m, "narrow_bits {}\n", layout.narrow_bits());
        seq_print!(m, "wide_slots {}\n", layout.slots(Class::Wide));
        seq_print!(m, "narrow_slots {}\n", layout.slots(Class::Narrow));
        seq_print!(m, "narrow_start {}\n", layout.narrow_start());
        Ok(())
    }
}

/// `/proc/gpid/features`: one line per known feature, `NAME on|off`.
struct Features;

impl ProcShow for Features {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        let active = features::active(gpids);
        for &(bit, name) in features::ALL {
            let state = if active & bit != 0 { "on" } else { "off" };
            seq_print!(m, "{} {}\n", name, state);
        }
        Ok(())
    }
}

/// `/proc/gpid/namespaces`: the bound namespaces the reader's PID namespace can see (its own
/// and its descendants), one per line, by owner slot id: `parent` is the parent's owner slot,
/// 0 where the reader cannot see the parent; `class` is the owner slot's; `wide` is the wide
/// slot a promotion added, or 0.
struct Namespaces;

impl ProcShow for Namespaces {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        seq_print!(m, "slot generation level parent ino live policy class wide wide_generation\n");
        Current::with(|current| {
            gpids.for_each_visible(current.pid_ns(), |slots, entry, parent| {
                seq_print!(
                    m,
                    "{} {} {} {} {} {} {} {} {} {}\n",
                    slots.slot,
                    slots.generation,
                    entry.ns.level_from(current.pid_ns()),
                    parent,
                    entry.ns.inum(),
                    u8::from(entry.ns.is_live()),
                    if entry.export { uapi::GPID_POLICY_EXPORT } else { 0 },
                    match slots.class {
                        Class::Narrow => "narrow",
                        Class::Wide => "wide",
                    },
                    slots.wide_slot,
                    slots.wide_generation
                );
            })
        });
        Ok(())
    }
}

/// `/proc/gpid/robust`: robust-futex registrations and exit-time walks, `NAME VALUE` lines.
struct Robust;

impl ProcShow for Robust {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        let robust = &gpids.robust;
        let s = &robust.state.stats;
        let load = |c: &core::sync::atomic::AtomicU64| c.load(core::sync::atomic::Ordering::Relaxed);
        seq_print!(m, "armed {}\n", u8::from(robust.armed()));
        if !reader_sees_counters() {
            return Ok(());
        }
        seq_print!(m, "registered {}\n", robust.registered());
        seq_print!(m, "registrations {}\n", load(&s.registrations));
        seq_print!(m, "walks {}\n", load(&s.walks));
        seq_print!(m, "entries {}\n", load(&s.entries));
        seq_print!(m, "words_translated {}\n", load(&s.words_translated));
        seq_print!(m, "word_faults {}\n", load(&s.word_faults));
        seq_print!(m, "list_faults {}\n", load(&s.list_faults));
        seq_print!(m, "cut_at_limit {}\n", load(&s.cut_at_limit));
        seq_print!(m, "cut_at_budget {}\n", load(&s.cut_at_budget));
        seq_print!(m, "pi_skipped {}\n", load(&s.pi_skipped));
        seq_print!(m, "unaligned {}\n", load(&s.unaligned));
        seq_print!(m, "retries_exhausted {}\n", load(&s.retries_exhausted));
        seq_print!(m, "fallbacks_queued {}\n", load(&s.fallbacks_queued));
        seq_print!(m, "fallbacks_pending {}\n", robust.pending_fallbacks());
        seq_print!(m, "fallbacks {}\n", load(&s.fallbacks));
        seq_print!(m, "fallbacks_lost {}\n", load(&s.fallbacks_lost));
        seq_print!(m, "fallback_words_marked {}\n", load(&s.fallback_words_marked));
        seq_print!(m, "fallback_words_given_up {}\n", load(&s.fallback_words_given_up));
        seq_print!(m, "hook_max_ns {}\n", load(&s.hook_max_ns));
        seq_print!(m, "hook_last_ns {}\n", load(&s.hook_last_ns));
        Ok(())
    }
}

/// `/proc/gpid/msq`: counters, then one line per queue of the reader's IPC namespace that the
/// reader may read: `msqid`, then state/pid/gpid of the last sender and receiver, with the
/// ioctl's visibility rules (state 0 unknown, 1 none, 2 a party). The rows are read first, so
/// the counters include what reading them found.
struct Msq;

impl ProcShow for Msq {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        type Side = (u32, i32, u32);
        let mut rows: KVec<(i32, Side, Side)> = KVec::new();
        let mut pushed = Ok(());
        Current::with(|current| {
            let viewer = current.pid_ns();
            gpids.msq.for_each_readable(|msqid, sender, receiver| {
                let s = crate::msq::describe(gpids, viewer, sender).unwrap_or((0, 0, 0));
                let r = crate::msq::describe(gpids, viewer, receiver).unwrap_or((0, 0, 0));
                if pushed.is_ok() {
                    pushed = rows.push((msqid, s, r), GFP_KERNEL);
                }
            })
        })?;
        pushed?;
        if reader_sees_counters() {
            for (name, value) in gpids.msq.stats() {
                seq_print!(m, "# {} {}\n", name, value);
            }
        }
        seq_print!(m, "msqid sender_state sender_pid sender_gpid receiver_state receiver_pid receiver_gpid\n");
        for (msqid, s, r) in rows.iter() {
            seq_print!(m, "{} {} {} {} {} {} {}\n", msqid, s.0, s.1, s.2, r.0, r.1, r.2);
        }
        Ok(())
    }
}

/// `/proc/gpid/creds`: `NAME N` lines, the peer-identity answers given so far, system-wide.
struct Creds;

impl ProcShow for Creds {
    type Data = Gpids;

    fn show(m: &SeqFile, _gpids: &Gpids) -> Result {
        if !reader_sees_counters() {
            return Ok(());
        }
        for (name, value) in creds::STATS.lines() {
            seq_print!(m, "{} {}\n", name, value);
        }
        Ok(())
    }
}

/// `/proc/gpid/signals`: the signal features' state and counters, `NAME VALUE` lines.
struct Signals;

impl ProcShow for Signals {
    type Data = Gpids;

    fn show(m: &SeqFile, gpids: &Gpids) -> Result {
        let signals = &gpids.signals;
        let s = &signals.state.stats;
        let load = |c: &core::sync::atomic::AtomicU64| c.load(core::sync::atomic::Ordering::Relaxed);
        seq_print!(m, "armed {}\n", u8::from(signals.armed()));
        if !reader_sees_counters() {
            return Ok(());
        }
        seq_print!(m, "sigqueued {}\n", load(&s.sigqueued));
        seq_print!(m, "records {}\n", load(&s.records));
        seq_print!(m, "records_taken {}\n", load(&s.records_taken));
        seq_print!(m, "records_dropped {}\n", load(&s.records_dropped));
        Ok(())
    }
}
