/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers gpid binds with its own bindgen run (see Kbuild). Function-like macros that bindgen
 * cannot evaluate become GPID_CONST_* constants, renamed by Kbuild (as the kernel's
 * RUST_CONST_HELPER_* are).
 */
#include <linux/timekeeping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <uapi/linux/gpid.h>

const unsigned int GPID_CONST_GPID_IOC_VERSION = GPID_IOC_VERSION;
/* ABI 1's GPID_IOC_VERSION, answered so that a client built for ABI 1 learns the version. */
struct gpid_version_v1 {
	__u32 abi_version;
	__u32 pid_bits;
	__u64 features;
};
const unsigned int GPID_CONST_GPID_IOC_VERSION_V1 =
	_IOR(GPID_IOC_MAGIC, 0x00, struct gpid_version_v1);
const unsigned int GPID_CONST_GPID_IOC_SELF = GPID_IOC_SELF;
const unsigned int GPID_CONST_GPID_IOC_ENCODE = GPID_IOC_ENCODE;
const unsigned int GPID_CONST_GPID_IOC_DECODE = GPID_IOC_DECODE;
const unsigned int GPID_CONST_GPID_IOC_DECODE_BATCH = GPID_IOC_DECODE_BATCH;
const unsigned int GPID_CONST_GPID_IOC_LEVELS = GPID_IOC_LEVELS;
const unsigned int GPID_CONST_GPID_IOC_NS_INFO = GPID_IOC_NS_INFO;
const unsigned int GPID_CONST_GPID_IOC_NS_SET = GPID_IOC_NS_SET;
const unsigned int GPID_CONST_GPID_IOC_ROBUST_REGISTER = GPID_IOC_ROBUST_REGISTER;
const unsigned int GPID_CONST_GPID_IOC_ROBUST_UNREGISTER = GPID_IOC_ROBUST_UNREGISTER;
const unsigned int GPID_CONST_GPID_IOC_MSQ = GPID_IOC_MSQ;
const unsigned int GPID_CONST_GPID_IOC_PEER = GPID_IOC_PEER;
const unsigned int GPID_CONST_GPID_IOC_PIDFD = GPID_IOC_PIDFD;
const unsigned int GPID_CONST_GPID_IOC_SIGQUEUE = GPID_IOC_SIGQUEUE;
const unsigned int GPID_CONST_GPID_IOC_SIGSENDER = GPID_IOC_SIGSENDER;
const unsigned long long GPID_CONST_GPID_FEATURE_GLOBAL_PIDS = GPID_FEATURE_GLOBAL_PIDS;
const unsigned long long GPID_CONST_GPID_FEATURE_ROBUST_FUTEX = GPID_FEATURE_ROBUST_FUTEX;
const unsigned long long GPID_CONST_GPID_FEATURE_SIGQUEUE = GPID_FEATURE_SIGQUEUE;
const unsigned long long GPID_CONST_GPID_FEATURE_MSQ = GPID_FEATURE_MSQ;
const unsigned long long GPID_CONST_GPID_FEATURE_PEERCRED = GPID_FEATURE_PEERCRED;
const unsigned long long GPID_CONST_GPID_FEATURE_SIGQUEUE_THREAD = GPID_FEATURE_SIGQUEUE_THREAD;

#include <linux/capability.h>
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/uaccess.h>
#include <linux/irq_work.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/net.h>
#include <linux/signal.h>
#include <linux/tracepoint.h>
#include "helpers.h"
