/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gpid: PIDs that stay meaningful across PID namespaces.
 *
 * The one definition of the ABI of /dev/gpid. The module's Rust code is generated from this
 * header by bindgen at build time, and the userspace crate in tools/gpid is checked against it
 * by a test, so the three cannot drift. See Documentation/gpid.rst.
 *
 * Rules every ioctl argument follows:
 *  - sizes are explicit (__u32/__u64), no implicit padding, 64-bit aligned;
 *  - reserved fields and unknown flag bits must be zero (EINVAL otherwise);
 *  - a bad user pointer gives EFAULT; an unknown command gives ENOTTY.
 */
#ifndef _UAPI_LINUX_GPID_H
#define _UAPI_LINUX_GPID_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on any incompatible change; compatible additions add a feature bit instead. */
#define GPID_ABI_VERSION	1

#define GPID_DEVICE_PATH	"/dev/gpid"
#define GPID_IOC_MAGIC		0xB9

/*
 * Feature bits, reported by GPID_IOC_VERSION and listed by name in /proc/gpid/features.
 * A bit is set only while the feature is built in and active in the running module.
 */
#define GPID_FEATURE_GLOBAL_PIDS	(1ULL << 0)	/* encode/decode, namespace registry */
#define GPID_FEATURE_ROBUST_FUTEX	(1ULL << 1)	/* translating robust-list walker */
#define GPID_FEATURE_SIGQUEUE		(1ULL << 2)	/* explicit signal queueing ioctl */
#define GPID_FEATURE_SIGNAL_FIXUP	(1ULL << 3)	/* transparent si_pid translation */
#define GPID_FEATURE_MSQ		(1ULL << 4)	/* SysV message queue identities */
#define GPID_FEATURE_PEERCRED		(1ULL << 5)	/* unix socket peer identities */

/**
 * struct gpid_version - answer of GPID_IOC_VERSION
 * @abi_version: GPID_ABI_VERSION of the running module
 * @pid_bits: how many low bits of a gpid hold the namespace-local PID
 * @features: GPID_FEATURE_* bits active in the running module
 */
struct gpid_version {
	__u32 abi_version;
	__u32 pid_bits;
	__u64 features;
};

#define GPID_IOC_VERSION	_IOR(GPID_IOC_MAGIC, 0x00, struct gpid_version)

#endif /* _UAPI_LINUX_GPID_H */
