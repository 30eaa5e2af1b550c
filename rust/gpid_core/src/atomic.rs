//! The atomics the lock-free structures use: `core`'s, except in the loom model-checking run
//! (`RUSTFLAGS="--cfg loom" cargo test`), where they are loom's, so that loom can explore every
//! interleaving and every value a weak load may return. Only the unit-test build of this crate
//! sees loom (a dev-dependency); the kernel build never passes `--cfg loom` and never has
//! `cfg(test)`, so it always gets `core`'s.

#[cfg(not(all(test, loom)))]
pub(crate) use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
