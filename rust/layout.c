// SPDX-License-Identifier: GPL-2.0
/*
 * C's offsetof/sizeof for every struct field and struct the Rust code touches. Kbuild turns
 * this into rust/layout_generated.rs; rust/kernel_ext/layout.rs asserts bindgen's layout
 * against it, so a mismatch fails the build instead of corrupting memory.
 */
#include <linux/kbuild.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/seq_file.h>
#include <linux/kprobes.h>
#include "helpers.h"

#define GPID_SIZE(s) DEFINE(SIZE_##s, sizeof(struct s))
#define GPID_OFFSET(s, m) OFFSET(OFFSET_##s##__##m, s, m)

void gpid_layout(void);
void gpid_layout(void)
{
	GPID_SIZE(miscdevice);
	GPID_OFFSET(miscdevice, minor);
	GPID_OFFSET(miscdevice, name);
	GPID_OFFSET(miscdevice, fops);
	GPID_OFFSET(miscdevice, mode);
	GPID_SIZE(file_operations);
	GPID_OFFSET(file_operations, owner);
	GPID_OFFSET(file_operations, open);
	GPID_OFFSET(file_operations, release);
	GPID_OFFSET(file_operations, unlocked_ioctl);
	GPID_OFFSET(file_operations, llseek);
	GPID_OFFSET(file, private_data);
	GPID_OFFSET(seq_file, private);
	GPID_SIZE(kprobe);
	GPID_SIZE(kretprobe);
	GPID_OFFSET(kretprobe, kp);
	GPID_OFFSET(kretprobe, handler);
	GPID_OFFSET(kretprobe, entry_handler);
	GPID_OFFSET(kretprobe, maxactive);
	GPID_OFFSET(kretprobe, data_size);
	GPID_OFFSET(kretprobe, nmissed);
	GPID_OFFSET(kprobe, nmissed);
	GPID_OFFSET(kretprobe_instance, data);
	GPID_OFFSET(pt_regs, di);
	GPID_OFFSET(pt_regs, si);
	GPID_OFFSET(pt_regs, dx);
	GPID_OFFSET(pt_regs, r8);
	GPID_OFFSET(pt_regs, ax);
	GPID_OFFSET(kprobe, symbol_name);
	GPID_OFFSET(kprobe, pre_handler);
	GPID_OFFSET(kprobe, post_handler);
	GPID_SIZE(gpid_send_slot);
	GPID_OFFSET(gpid_send_slot, tag);
	GPID_OFFSET(gpid_send_slot, cookie);
	GPID_OFFSET(gpid_send_slot, token);
	GPID_OFFSET(gpid_send_slot, sig);
	GPID_OFFSET(gpid_send_slot, group);
}
