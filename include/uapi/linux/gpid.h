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
 *  - a bad user pointer gives EFAULT; an unknown command gives ENOTTY;
 *  - an answer is written whole or not at all, and nothing is done before the whole
 *    destination (the argument struct; DECODE_BATCH's output array) is known writable: a
 *    destination reaching into a read-only or unmapped page gives EFAULT with every byte as
 *    it was and no action taken (no registration, no binding, no signal);
 *  - 32-bit (compat) callers use the same structs and numbers (compat_ptr_ioctl), except
 *    GPID_IOC_ROBUST_REGISTER, which they get EOPNOTSUPP from;
 *  - a command that needs a gpid of a PID its namespace has no slot for yet (SELF, ENCODE,
 *    LEVELS, NS_INFO, NS_SET, ROBUST_REGISTER, MSQ, and the gpids of PEER, PIDFD, SIGSENDER)
 *    binds the namespace to a slot, or adds a wide slot to a narrow one (a promotion), and
 *    fails with ENOSPC when every slot of the class needed is taken, or EDQUOT when the
 *    namespace's owner (the uid owning its outermost user namespace) holds its share of that
 *    class (quota_percent of its slots, module parameter); ROBUST_REGISTER also gives EDQUOT
 *    when the caller's user holds its share of thread slots. The initial namespace's root is
 *    not limited.
 */
#ifndef _UAPI_LINUX_GPID_H
#define _UAPI_LINUX_GPID_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Bumped on any incompatible change; compatible additions add a feature bit instead. */
#define GPID_ABI_VERSION	2

#define GPID_DEVICE_PATH	"/dev/gpid"
#define GPID_IOC_MAGIC		0xB9

/*
 * Feature bits, reported by GPID_IOC_VERSION and listed by name in /proc/gpid/features.
 * A bit is set only while the feature is built in and active in the running module.
 */
#define GPID_FEATURE_GLOBAL_PIDS	(1ULL << 0)	/* encode/decode, namespace registry */
#define GPID_FEATURE_ROBUST_FUTEX	(1ULL << 1)	/* translating robust-list walker */
#define GPID_FEATURE_SIGQUEUE		(1ULL << 2)	/* explicit signal queueing ioctl */
/* (1ULL << 3) was GPID_FEATURE_SIGNAL_FIXUP, a transparent si_pid rewrite that stock 7.x
 * makes unneeded (Documentation/gpid.rst, "Signals"); never reported, never reused. */
#define GPID_FEATURE_MSQ		(1ULL << 4)	/* SysV message queue identities */
#define GPID_FEATURE_PEERCRED		(1ULL << 5)	/* unix socket peer identities */
#define GPID_FEATURE_SIGQUEUE_THREAD	(1ULL << 6)	/* GPID_SIGQUEUE_THREAD (not under an LSM) */

/**
 * struct gpid_version - answer of GPID_IOC_VERSION: the ABI and the layout of gpid values
 * @abi_version: GPID_ABI_VERSION of the running module
 * @pid_bits: width of a wide slot and of the plain range: PIDs up to 2^pid_bits - 1
 * @features: GPID_FEATURE_* bits active in the running module
 * @narrow_bits: width of a narrow slot: PIDs up to 2^narrow_bits - 1 (<= pid_bits)
 * @wide_slots: W, the number of wide slots: slot ids 1..W
 * @narrow_slots: N, the number of narrow slots: slot ids W+1..W+N (every narrow slot that
 *                fits above the wide ones, at most 65536)
 * @narrow_start: the value where narrow slot W+1 starts, (W + 1) << pid_bits
 *
 * The layout is fixed at module load (module parameters pid_bits, narrow_bits, wide_slots).
 * ABI 1's 16-byte form of this command (the first three fields) still answers, with
 * abi_version 2, so that a client built for ABI 1 can tell it must not go on.
 */
struct gpid_version {
	__u32 abi_version;
	__u32 pid_bits;
	__u64 features;
	__u32 narrow_bits;
	__u32 wide_slots;
	__u32 narrow_slots;
	__u32 narrow_start;
};

#define GPID_IOC_VERSION	_IOR(GPID_IOC_MAGIC, 0x00, struct gpid_version)

/*
 * Global PIDs (GPID_FEATURE_GLOBAL_PIDS).
 *
 * A gpid is at most GPID_MASK (the futex TID mask). The values are divided into the plain
 * range and slots of two classes (widths from GPID_IOC_VERSION):
 *
 *   value < 2^pid_bits          unqualified: nr is a PID in the caller's own namespace, so
 *                               every plain PID is a gpid
 *   wide slot s, 1..W           (s << pid_bits) | nr, 0 < nr < 2^pid_bits
 *   narrow slot s, W+1..W+N     narrow_start + ((s - W - 1) << narrow_bits) + nr,
 *                               0 < nr < 2^narrow_bits
 *
 * A slot id is one __u32 for both classes; 0 means "unqualified". A namespace is bound to a
 * narrow slot first (to a wide one if its first PID needs it or no narrow slot is free), and
 * a narrow namespace gets a wide slot beside it for its first PID above 2^narrow_bits - 1 (a
 * promotion). A PID's canonical gpid is in the narrow slot when the PID fits it, else in the
 * wide slot, and it does not change while the namespace is bound: a thread's gpid never
 * changes while it lives. A namespace is known by its owner slot, the one it took first.
 * A value of a free slot, or the wide-slot value of a PID whose canonical gpid is narrow,
 * names no task (ESRCH, as a gpid of no task). Values that are no gpid in any layout state
 * give EINVAL: PID part 0, the values above the last narrow slot, and above GPID_MASK.
 *
 * A task's canonical gpid names its own (innermost) namespace. A gpid names a task only for
 * callers that can see the task: for any other caller it resolves exactly as a gpid of no
 * task does (ESRCH).
 */
#define GPID_MASK		0x3fffffffU
#define GPID_MAX_LEVELS		33	/* levels 0..MAX_PID_NS_LEVEL (32) */
#define GPID_BATCH_MAX		4096

/**
 * struct gpid_self - answer of GPID_IOC_SELF: the caller's own identity
 * @tid: canonical gpid of the calling thread
 * @tgid: canonical gpid of its thread group
 * @slot: owner slot id of the caller's PID namespace
 * @level: always 0: levels are relative to the caller, whose own namespace is level 0
 *         (stock Linux hides a namespace's ancestry from inside)
 */
struct gpid_self {
	__u32 tid;
	__u32 tgid;
	__u32 slot;
	__u32 level;
};

/* gpid_encode.flags, gpid_levels.flags: name the thread group of the task, not the thread. */
#define GPID_ENCODE_TGID	(1U << 0)

/**
 * struct gpid_encode - argument of GPID_IOC_ENCODE
 * @pid: in: a PID (or TID) in the caller's namespace; 0 means the caller
 * @flags: in: GPID_ENCODE_*
 * @gpid: out: the task's canonical gpid
 * @reserved: must be 0
 */
struct gpid_encode {
	__s32 pid;
	__u32 flags;
	__u32 gpid;
	__u32 reserved;
};

/**
 * struct gpid_decode - argument of GPID_IOC_DECODE
 * @gpid: in: any gpid (qualified or not)
 * @flags: in: must be 0
 * @pid: out: the task's PID in the caller's namespace
 * @reserved: must be 0
 */
struct gpid_decode {
	__u32 gpid;
	__u32 flags;
	__s32 pid;
	__u32 reserved;
};

/**
 * struct gpid_decode_batch - argument of GPID_IOC_DECODE_BATCH
 * @gpids: in: user pointer to @count __u32 gpids
 * @pids: in: user pointer to @count __s32 results: the PID in the caller's namespace, or a
 *        negative errno for that value alone (-EINVAL, -ESRCH, ...)
 * @count: in: 1..GPID_BATCH_MAX
 * @flags: in: must be 0
 */
struct gpid_decode_batch {
	__u64 gpids;
	__u64 pids;
	__u32 count;
	__u32 flags;
};

/**
 * struct gpid_levels - argument of GPID_IOC_LEVELS: a task's gpid at every level the caller
 * can see, from the task's own namespace up to the caller's
 * @pid: in: a PID in the caller's namespace; 0 means the caller
 * @flags: in: GPID_ENCODE_*
 * @count: out: number of entries filled in @gpids
 * @reserved: must be 0
 * @gpids: out: @gpids[0] is the canonical gpid, @gpids[i] the gpid in the namespace i levels
 *         above the task's own; the last one is in the caller's namespace
 * @reserved2: must be 0
 */
struct gpid_levels {
	__s32 pid;
	__u32 flags;
	__u32 count;
	__u32 reserved;
	__u32 gpids[GPID_MAX_LEVELS];
	__u32 reserved2;
};

/* Export policy of a namespace (gpid_ns_info.policy, gpid_ns_set.policy). */
#define GPID_POLICY_EXPORT	(1U << 0)	/* gpids of its tasks may be shown to observers
						 * that cannot see those tasks */

/* gpid_ns_info.state */
#define GPID_NS_LIVE		(1U << 0)	/* the namespace still has tasks */

/**
 * struct gpid_ns_info - argument of GPID_IOC_NS_INFO
 * @slot: in: a slot id (either class) of a namespace visible to the caller; 0 means the
 *        caller's namespace; out: the namespace's owner slot id
 * @flags: in: must be 0
 * @level: out: nesting level below the caller's own namespace (which is 0)
 * @parent_slot: out: owner slot id of the parent namespace, 0 when the caller cannot see it
 * @ino: out: inode number of the namespace (as in /proc/PID/ns/pid)
 * @generation: out: generation of the owner slot; changes each time the slot is reused
 * @policy: out: GPID_POLICY_*
 * @state: out: GPID_NS_*
 * @wide_slot: out: the wide slot a narrow namespace was promoted to, 0 if none (a namespace
 *             bound wide holds only its owner slot)
 * @wide_generation: out: generation of @wide_slot, 0 if none
 * @reserved: must be 0
 *
 * Errors: EINVAL (flags, reserved, slot above the maximum), ENOENT (no namespace holds the
 * slot, or one the caller cannot see), ENOSPC or EDQUOT (the caller's own namespace, asked for
 * by slot 0, has no slot yet and none is free).
 */
struct gpid_ns_info {
	__u32 slot;
	__u32 flags;
	__u32 level;
	__u32 parent_slot;
	__u64 ino;
	__u32 generation;
	__u32 policy;
	__u32 state;
	__u32 wide_slot;
	__u32 wide_generation;
	__u32 reserved;
};

/* gpid_ns_set.flags */
#define GPID_NS_SET_SLOT	(1U << 0)	/* bind the namespace to slot @slot */
#define GPID_NS_SET_POLICY	(1U << 1)	/* set the export policy to @policy */

/**
 * struct gpid_ns_set - argument of GPID_IOC_NS_SET
 * @pid: in: a task in the caller's namespace whose PID namespace is the target; 0: the caller
 * @flags: in: GPID_NS_SET_*, at least one
 * @slot: in: with GPID_NS_SET_SLOT, the slot id wanted (checkpoint/restore), of either class;
 *        out: the namespace's owner slot id
 * @policy: in: with GPID_NS_SET_POLICY, GPID_POLICY_* bits
 * @generation: out: generation of the owner slot
 * @reserved: must be 0
 *
 * GPID_NS_SET_SLOT binds an unbound target to exactly @slot. A target holding a narrow slot
 * and no wide one is promoted to exactly @slot when @slot is wide (so a namespace that held
 * both is restored by its narrow slot first, then its wide one). A slot the target holds
 * already is accepted as it is.
 * GPID_NS_SET_SLOT needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN in the initial user
 * namespace (binding a slot gives its meaning to every gpid that names it); anyone else gets
 * EPERM whatever the slot holds, except for a slot the target already holds.
 * GPID_NS_SET_POLICY needs CAP_SYS_ADMIN over the target namespace's owning user namespace.
 * Errors: EINVAL (flags, policy bits, reserved, slot 0 or above the maximum), ESRCH (no such
 * task), EPERM, EEXIST (a live namespace holds the slot), EBUSY (the target holds another
 * slot of that class, or a wide one and asks for a narrow one), ENOSPC, EDQUOT.
 */
struct gpid_ns_set {
	__s32 pid;
	__u32 flags;
	__u32 slot;
	__u32 policy;
	__u32 generation;
	__u32 reserved;
};

/*
 * Peer identities of sockets and pidfds (GPID_FEATURE_PEERCRED).
 *
 * The identity the kernel captured (a struct pid and, for sockets, the credentials), shown in
 * the caller's view: pid as the stock kernel shows it (0 when the peer is invisible to the
 * caller), plus its canonical gpid when the caller can see the peer or the peer's namespace
 * exports its gpids (GPID_POLICY_EXPORT); 0 otherwise.
 */

/* gpid_peer.state, gpid_pidfd.state */
#define GPID_PEER_KNOWN		(1U << 0)	/* the kernel holds an identity for the peer */
#define GPID_PEER_ALIVE		(1U << 1)	/* the peer's process is not yet reaped */

/**
 * struct gpid_peer - argument of GPID_IOC_PEER: the peer of a socket, exactly as SO_PEERCRED
 * reports it (captured at connect(), accept(), socketpair() or listen() time), plus its gpid
 * @fd: in: a socket file descriptor of the caller
 * @flags: in: must be 0
 * @pid: out: the peer's PID in the caller's namespace, as SO_PEERCRED: 0 when the peer is
 *       invisible to the caller or the socket holds no peer identity
 * @gpid: out: the peer's canonical gpid when the caller can see the peer or the peer's
 *        namespace exports its gpids; 0 otherwise
 * @uid: out: the peer's effective uid in the caller's user namespace, as SO_PEERCRED
 *       (the overflow uid when unmapped, (__u32)-1 when the socket holds no credentials)
 * @gid: out: the same for the effective gid
 * @state: out: GPID_PEER_*
 * @reserved: must be 0
 */
struct gpid_peer {
	__s32 fd;
	__u32 flags;
	__s32 pid;
	__u32 gpid;
	__u32 uid;
	__u32 gid;
	__u32 state;
	__u32 reserved;
};

/**
 * struct gpid_pidfd - argument of GPID_IOC_PIDFD: the process a pidfd refers to, for example
 * the pidfd SCM_PIDFD delivers with each unix socket message (SO_PASSPIDFD) or SO_PEERPIDFD
 * @pidfd: in: a pidfd of the caller
 * @flags: in: must be 0
 * @pid: out: its PID in the caller's namespace, 0 when invisible
 * @gpid: out: its canonical gpid, under the same rule as gpid_peer.gpid
 * @state: out: GPID_PEER_* (GPID_PEER_KNOWN is always set)
 * @reserved: must be 0
 */
struct gpid_pidfd {
	__s32 pidfd;
	__u32 flags;
	__s32 pid;
	__u32 gpid;
	__u32 state;
	__u32 reserved;
};

#define GPID_IOC_SELF		_IOR(GPID_IOC_MAGIC, 0x01, struct gpid_self)
#define GPID_IOC_ENCODE		_IOWR(GPID_IOC_MAGIC, 0x02, struct gpid_encode)
#define GPID_IOC_DECODE		_IOWR(GPID_IOC_MAGIC, 0x03, struct gpid_decode)
#define GPID_IOC_DECODE_BATCH	_IOW(GPID_IOC_MAGIC, 0x04, struct gpid_decode_batch)
#define GPID_IOC_LEVELS		_IOWR(GPID_IOC_MAGIC, 0x05, struct gpid_levels)
#define GPID_IOC_NS_INFO	_IOWR(GPID_IOC_MAGIC, 0x06, struct gpid_ns_info)
#define GPID_IOC_NS_SET		_IOWR(GPID_IOC_MAGIC, 0x07, struct gpid_ns_set)
#define GPID_IOC_PEER		_IOWR(GPID_IOC_MAGIC, 0x08, struct gpid_peer)
#define GPID_IOC_PIDFD		_IOWR(GPID_IOC_MAGIC, 0x09, struct gpid_pidfd)

/*
 * Robust futexes across PID namespaces (GPID_FEATURE_ROBUST_FUTEX).
 *
 * A thread that registers writes its canonical gpid (thread form, GPID_IOC_SELF.tid) instead
 * of its TID as the owner of robust futex words. gpid then makes the kernel's exit-time
 * robust-list walk treat those words as the thread's own: when the thread dies (exit, signal,
 * exec, its namespace killed), every word on its robust list whose owner is its gpid ends
 * with FUTEX_OWNER_DIED set and FUTEX_WAITERS kept, and one waiter is woken, exactly as for
 * a native robust futex. Words holding plain TIDs are left to the kernel untouched.
 *
 * Registration is per thread and lasts until the thread exits or execs, calls
 * GPID_IOC_ROBUST_UNREGISTER, or the module is unloaded. PI futexes are not supported.
 * Errors: EINVAL (flags), ENOSPC (no free thread slot, or no slot of the class the thread's
 * PID needs), EDQUOT (the caller's user holds its share of thread slots, or the namespace's
 * owner its share of that class), EOVERFLOW (the thread's PID does not fit pid_bits),
 * EOPNOTSUPP from a 32-bit (compat) task, whose compat robust list gpid does not walk. GPID_IOC_ROBUST_UNREGISTER: ENOENT when the thread is not
 * registered.
 */

/**
 * struct gpid_robust_register - argument of GPID_IOC_ROBUST_REGISTER
 * @flags: in: must be 0
 * @owner: out: the owner value the calling thread must write into futex words
 */
struct gpid_robust_register {
	__u32 flags;
	__u32 owner;
};

#define GPID_IOC_ROBUST_REGISTER	_IOWR(GPID_IOC_MAGIC, 0x10, struct gpid_robust_register)
#define GPID_IOC_ROBUST_UNREGISTER	_IO(GPID_IOC_MAGIC, 0x11)

/*
 * SysV message queues (GPID_FEATURE_MSQ): who last sent to and received from a queue, as
 * msgctl(IPC_STAT)'s msg_lspid/msg_lrpid (the kernel's own record), but with global
 * identities and the thread-group ID on every path. A side of a queue older than the module
 * stays UNKNOWN until its next operation: gpid reports only what happened while it watched.
 */
#define GPID_MSQ_UNKNOWN	0	/* older than the module, not operated since: no fact */
#define GPID_MSQ_NONE		1	/* no such operation yet on this queue */
#define GPID_MSQ_PARTY		2	/* the fields name the last party */

/**
 * struct gpid_msq - argument of GPID_IOC_MSQ
 * @msqid: in: a queue of the caller's IPC namespace, readable by the caller (as IPC_STAT)
 * @flags: in: must be 0
 * @sender_state: out: GPID_MSQ_* for the last successful msgsnd
 * @sender_pid: out: its thread-group ID in the caller's namespace, 0 when invisible
 * @sender_gpid: out: its canonical gpid when visible or exported by its namespace, else 0
 * @receiver_state: out: GPID_MSQ_* for the last successful msgrcv (MSG_COPY excluded)
 * @receiver_pid: out: as @sender_pid
 * @receiver_gpid: out: as @sender_gpid
 * @reserved: must be 0
 *
 * Errors: EINVAL (flags, reserved, no such queue in the caller's IPC namespace), EACCES (no
 * read permission, decided as msgctl(IPC_STAT) decides it), ENOSPC (a party's namespace needs
 * a slot and none of its class is free).
 */
struct gpid_msq {
	__s32 msqid;
	__u32 flags;
	__u32 sender_state;
	__s32 sender_pid;
	__u32 sender_gpid;
	__u32 receiver_state;
	__s32 receiver_pid;
	__u32 receiver_gpid;
	__u32 reserved;
	__u32 reserved2;
};

#define GPID_IOC_MSQ		_IOWR(GPID_IOC_MAGIC, 0x30, struct gpid_msq)

/*
 * Signals (GPID_FEATURE_SIGQUEUE, GPID_FEATURE_SIGQUEUE_THREAD).
 *
 * GPID_IOC_SIGQUEUE queues a signal with a value, as sigqueue(3) / rt_tgsigqueueinfo(2) do, to a
 * target named by a gpid or by a PID in the caller's namespace. The receiver gets
 * si_code = SI_QUEUE, si_pid = the sender's thread-group ID in the receiver's namespace (0 when
 * the receiver cannot see the sender), si_uid = the sender's real UID mapped into the
 * receiver's user namespace, si_value = @value. Permission, namespace-init protection and
 * errors are those of sigqueue(3): EINVAL bad signal, ESRCH no such (or no visible) target,
 * EPERM, EAGAIN when the receiver's queue is full (RLIMIT_SIGPENDING); also EOVERFLOW (the
 * sender's PID does not fit pid_bits, for a sender record), EOPNOTSUPP (GPID_SIGQUEUE_THREAD
 * where GPID_FEATURE_SIGQUEUE_THREAD is not reported). Signal 0 checks existence and
 * permission only. See Documentation/gpid.rst, "Signals".
 */

/* gpid_sigqueue.flags */
#define GPID_SIGQUEUE_GPID	(1U << 0)	/* @target is a gpid; else a PID in the caller's
						 * namespace */
#define GPID_SIGQUEUE_THREAD	(1U << 1)	/* to that thread only (rt_tgsigqueueinfo);
						 * else to its process (sigqueue) */

/**
 * struct gpid_sigqueue - argument of GPID_IOC_SIGQUEUE
 * @target: in: a gpid (GPID_SIGQUEUE_GPID) or a PID > 0 in the caller's namespace
 * @flags: in: GPID_SIGQUEUE_*
 * @sig: in: 0 (check only) or a signal number 1.._NSIG
 * @reserved: must be 0
 * @value: in: the bits of union sigval (sival_ptr; sival_int is its low 32 bits on
 *         little-endian machines)
 * @reserved2: must be 0
 */
struct gpid_sigqueue {
	__u32 target;
	__u32 flags;
	__s32 sig;
	__u32 reserved;
	__u64 value;
	__u64 reserved2;
};

/**
 * struct gpid_sigsender - argument of GPID_IOC_SIGSENDER: who sent a signal whose si_pid is 0
 *
 * A signal queued with GPID_IOC_SIGQUEUE by a sender the receiver cannot see arrives with
 * si_pid 0, as from the stock kernel. When the sender's namespace exports its gpids
 * (GPID_POLICY_EXPORT), gpid also keeps a record for the receiving process; the receiver takes
 * it with this command, passing the signal and value it received. Records are taken in the
 * order the signals were queued (the order a receiver dequeues a realtime signal's instances).
 *
 * @sig: in: si_signo of the received signal
 * @flags: in: must be 0
 * @value: in: si_value of the received signal (the bits of union sigval)
 * @gpid: out: the sender's canonical thread-group gpid
 * @reserved: must be 0
 * @seq: out: the record's sequence number (increasing in queueing order)
 *
 * ENOENT when the calling process holds no record for (@sig, @value).
 */
struct gpid_sigsender {
	__s32 sig;
	__u32 flags;
	__u64 value;
	__u32 gpid;
	__u32 reserved;
	__u64 seq;
};

#define GPID_IOC_SIGQUEUE	_IOW(GPID_IOC_MAGIC, 0x20, struct gpid_sigqueue)
#define GPID_IOC_SIGSENDER	_IOWR(GPID_IOC_MAGIC, 0x21, struct gpid_sigsender)

#endif /* _UAPI_LINUX_GPID_H */
