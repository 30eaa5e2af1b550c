// SPDX-License-Identifier: GPL-2.0

//! The thin layer between gpid and the C kernel: everything 6.12's `kernel` crate lacks.
//!
//! Each file mirrors the shape of an upstream Rust-for-Linux abstraction (or of the one
//! upstream would write), so the driver code reads like upstream driver code and a file can be
//! dropped when the base kernel gains the real thing. All `unsafe` in gpid lives here.

pub(crate) mod bindings;
pub(crate) mod deferred;
pub(crate) mod ipc;
pub(crate) mod kprobes;
pub(crate) mod kretprobes;
pub(crate) mod miscdevice;
pub(crate) mod mm;
pub(crate) mod params;
pub(crate) mod pid;
pub(crate) mod pid_namespace;
pub(crate) mod proc_fs;
pub(crate) mod rcu;
pub(crate) mod socket;
pub(crate) mod signal;
pub(crate) mod sysctl;
pub(crate) mod task;
pub(crate) mod task_exit;
pub(crate) mod thread_table;
pub(crate) mod tracepoint;
pub(crate) mod uaccess_nofault;
pub(crate) mod uapi;
pub(crate) mod user_namespace;
