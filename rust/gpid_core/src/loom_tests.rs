//! Loom models of the lock-free structures: every interleaving of a few threads, and every
//! value a weakly ordered load may return, up to a bounded number of preemptions.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release` (only these run then). The
//! environment variables of `loom::model::Builder` apply (`LOOM_MAX_PREEMPTIONS`, `LOOM_LOG`,
//! ...); without `LOOM_MAX_PREEMPTIONS` the bound is [`PREEMPTIONS`].

mod quota;
mod threads;

/// The default preemption bound: enough for the races these models are about (two or three
/// threads, one contended slot), small enough that the whole run takes seconds.
const PREEMPTIONS: usize = 3;

/// Runs `f` under loom with this crate's bounds.
fn model(f: impl Fn() + Send + Sync + 'static) {
    model_bounded(PREEMPTIONS, f);
}

/// Runs `f` under loom with at most `preemptions` preemptions (unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise): for models of more threads, whose executions grow
/// too fast with the bound.
fn model_bounded(preemptions: usize, f: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    // Filling a table before the threads start is a thousand atomic operations of one thread:
    // loom counts each as a branch, and its default limit is 1,000.
    builder.max_branches = builder.max_branches.max(20_000);
    // How many executions loom explored: shown with `-- --nocapture`.
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&runs);
    builder.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    std::eprintln!("{} executions", runs.load(std::sync::atomic::Ordering::Relaxed));
}
