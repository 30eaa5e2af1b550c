// SPDX-License-Identifier: GPL-2.0

//! gpid's own bindgen output (see `Kbuild`) and the guard that keeps it honest.
//!
//! bindgen runs with `--no-layout-tests`, as the kernel's does, and it is known to get some
//! layouts wrong (it drops the alignment of empty cache-line aligned structs, which shifts
//! every later `task_struct` field). So every field and struct size the Rust code relies on is
//! asserted here against C's own `offsetof`/`sizeof` (`rust/layout.c`): a mismatch is a build
//! error, never a wrong read at run time.

#![allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    improper_ctypes,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    // The kernel's own bindings crate allows the same pedantic lints for generated code.
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr
)]

// The kernel's bindgen parameters blocklist these; its own `bindings` crate defines them the
// same way (rust/bindings/lib.rs).
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;

include!("../bindings_generated.rs");

/// C's layout, generated from `rust/layout.c` by Kbuild.
mod c_layout {
    include!("../layout_generated.rs");
}

/// Asserts that bindgen's size of `struct $s` is C's.
macro_rules! assert_c_size {
    ($s:ident, $c:ident) => {
        const _: () = assert!(core::mem::size_of::<$s>() == c_layout::$c);
    };
}

/// Asserts that bindgen's offset of `$s.$f` is C's.
macro_rules! assert_c_offset {
    ($s:ident, $f:ident, $c:ident) => {
        const _: () = assert!(core::mem::offset_of!($s, $f) == c_layout::$c);
    };
}

assert_c_size!(miscdevice, SIZE_miscdevice);
assert_c_offset!(miscdevice, minor, OFFSET_miscdevice__minor);
assert_c_offset!(miscdevice, name, OFFSET_miscdevice__name);
assert_c_offset!(miscdevice, fops, OFFSET_miscdevice__fops);
assert_c_offset!(miscdevice, mode, OFFSET_miscdevice__mode);
assert_c_size!(file_operations, SIZE_file_operations);
assert_c_offset!(file_operations, owner, OFFSET_file_operations__owner);
assert_c_offset!(file_operations, open, OFFSET_file_operations__open);
assert_c_offset!(file_operations, release, OFFSET_file_operations__release);
assert_c_offset!(file_operations, unlocked_ioctl, OFFSET_file_operations__unlocked_ioctl);
assert_c_offset!(file_operations, llseek, OFFSET_file_operations__llseek);
assert_c_offset!(file, private_data, OFFSET_file__private_data);
assert_c_offset!(seq_file, private, OFFSET_seq_file__private);
assert_c_size!(kprobe, SIZE_kprobe);
assert_c_size!(kretprobe, SIZE_kretprobe);
assert_c_offset!(kretprobe, kp, OFFSET_kretprobe__kp);
assert_c_offset!(kretprobe, handler, OFFSET_kretprobe__handler);
assert_c_offset!(kretprobe, entry_handler, OFFSET_kretprobe__entry_handler);
assert_c_offset!(kretprobe, maxactive, OFFSET_kretprobe__maxactive);
assert_c_offset!(kretprobe, data_size, OFFSET_kretprobe__data_size);
assert_c_offset!(kretprobe, nmissed, OFFSET_kretprobe__nmissed);
assert_c_offset!(kprobe, nmissed, OFFSET_kprobe__nmissed);
assert_c_offset!(kretprobe_instance, data, OFFSET_kretprobe_instance__data);
assert_c_offset!(pt_regs, di, OFFSET_pt_regs__di);
assert_c_offset!(pt_regs, si, OFFSET_pt_regs__si);
assert_c_offset!(pt_regs, dx, OFFSET_pt_regs__dx);
assert_c_offset!(pt_regs, r8, OFFSET_pt_regs__r8);
assert_c_offset!(pt_regs, ax, OFFSET_pt_regs__ax);
assert_c_offset!(kprobe, symbol_name, OFFSET_kprobe__symbol_name);
assert_c_offset!(kprobe, pre_handler, OFFSET_kprobe__pre_handler);
assert_c_offset!(kprobe, post_handler, OFFSET_kprobe__post_handler);
assert_c_size!(gpid_send_slot, SIZE_gpid_send_slot);
assert_c_offset!(gpid_send_slot, tag, OFFSET_gpid_send_slot__tag);
assert_c_offset!(gpid_send_slot, cookie, OFFSET_gpid_send_slot__cookie);
assert_c_offset!(gpid_send_slot, token, OFFSET_gpid_send_slot__token);
assert_c_offset!(gpid_send_slot, sig, OFFSET_gpid_send_slot__sig);
assert_c_offset!(gpid_send_slot, group, OFFSET_gpid_send_slot__group);
