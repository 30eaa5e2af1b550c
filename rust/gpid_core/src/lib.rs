// SPDX-License-Identifier: GPL-2.0

//! Kernel-independent logic of gpid: the pure parts of the module, kept apart so that they can be
//! tested in userspace with `cargo test`.
//!
//! - [`layout`]: the gpid space: the plain range and slots of two widths, and how a value is
//!   built from a slot and a namespace-local PID and taken apart again.
//! - [`binding`]: which of a namespace's slots names each of its PIDs.
//! - [`slots`]: the allocator of the slots of both classes, with promotion.
//! - [`encoding`]: the fixed split of ABI 1 (one class), the model a layout of one width
//!   reproduces, and the bounds every layout keeps.
//! - [`nsid`]: the cyclic allocator with generations that each slot class uses.
//! - [`index`]: a fixed-capacity hash map from a namespace key to its owner slot.
//! - [`robust`]: the robust-futex list walker and the owner-word policies.
//! - [`threads`]: the lock-free table of registered threads the exit hook looks up, whose
//!   slots also hold the work a death leaves for process context.
//! - [`quota`]: per-user counts of the shared pools, charged under a lock, released anywhere.
//!
//! The same files are compiled twice: as this crate by Cargo, and as a module of the kernel
//! module (`#[path = "gpid_core/src/lib.rs"] pub mod gpid_core;`) with the kernel's rustc flags.
//! Hence the rules every file here follows:
//! - `core` only: no `std`, no `alloc`; storage is always handed in by the caller, who allocates
//!   it once (the kernel with `KVec`, tests with `Vec`);
//! - no `unsafe`;
//! - no panic reachable from any input: no `unwrap`, no slice indexing, no unchecked arithmetic
//!   that could overflow;
//! - every public item documented, since the kernel warns about missing docs.

// Only as the crate root: inside the kernel module this file is a plain module, where
// `#![no_std]` would draw an "only at the crate root" warning, and the kernel builds with
// `--cfg MODULE` and `-Zcrate-attr=no_std` already.
#![cfg_attr(not(MODULE), no_std)]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod atomic;
pub mod binding;
pub mod encoding;
pub mod index;
pub mod ipcperm;
pub mod layout;
pub mod nsid;
pub mod quota;
pub mod robust;
pub mod slots;
pub mod threads;

// The loom models of the lock-free structures, run only by `RUSTFLAGS="--cfg loom" cargo test`
// (which in turn runs nothing else).
#[cfg(all(test, loom))]
mod loom_tests;
