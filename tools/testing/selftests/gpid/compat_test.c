// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit callers (built with -m32, run as an IA32 task on the x86_64 kernel): every ioctl
 * reaches gpid through compat_ptr_ioctl (the UAPI structs have one layout for both ABIs),
 * answers are the same as a 64-bit caller's, SysV queues operated by a compat task are
 * reported, and robust registration is refused (gpid walks only the native robust list).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/gpid.h>
#include "kselftest_harness.h"

#ifndef __i386__
#error "compat_test must be built for i386 (-m32)"
#endif

static int read_counter(const char *path, const char *name)
{
	char buf[2048], *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, strlen(name)) && p[strlen(name)] == ' ')
			return atoi(p + strlen(name) + 1);
	return -1;
}

FIXTURE(compat) {
	int fd;
};

FIXTURE_SETUP(compat)
{
	self->fd = open("/dev/gpid", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/gpid: %s", strerror(errno));
}

FIXTURE_TEARDOWN(compat)
{
	close(self->fd);
}

TEST_F(compat, version_and_self)
{
	struct gpid_version v;
	struct gpid_self me;

	ASSERT_EQ(4, sizeof(long)) TH_LOG("not a 32-bit build");
	memset(&v, 0xa5, sizeof(v));
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_VERSION, &v));
	EXPECT_EQ(GPID_ABI_VERSION, v.abi_version);
	EXPECT_EQ(22, v.pid_bits);
	EXPECT_NE(0, v.features & GPID_FEATURE_GLOBAL_PIDS);
	/*
	 * The layout fields, after the 64-bit features: as /proc/gpid/version (the 64-bit side's
	 * numbers) says, and consistent.
	 */
	EXPECT_EQ(16, v.narrow_bits);
	EXPECT_EQ((__u32)read_counter("/proc/gpid/version", "wide_slots"), v.wide_slots);
	EXPECT_EQ((__u32)read_counter("/proc/gpid/version", "narrow_slots"), v.narrow_slots);
	EXPECT_EQ((__u32)read_counter("/proc/gpid/version", "narrow_start"), v.narrow_start);
	EXPECT_EQ((v.wide_slots + 1) << v.pid_bits, v.narrow_start);
	EXPECT_EQ(1U << 30, v.narrow_start + (v.narrow_slots << v.narrow_bits));
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_SELF, &me));
	/* The initial namespace holds wide slot 1: (1 << pid_bits) | nr. */
	EXPECT_EQ((1U << v.pid_bits) | (__u32)syscall(SYS_gettid), me.tid);
	EXPECT_EQ((1U << v.pid_bits) | (__u32)getpid(), me.tgid);
	EXPECT_EQ(1, me.slot);
	EXPECT_EQ(0, me.level);
}

TEST_F(compat, encode_decode_batch)
{
	struct gpid_encode e = { .pid = getpid(), .flags = GPID_ENCODE_TGID };
	struct gpid_decode d = { 0 };
	__u32 gpids[3];
	__s32 pids[3] = { -7, -7, -7 };
	struct gpid_decode_batch b;

	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_ENCODE, &e));
	d.gpid = e.gpid;
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_DECODE, &d));
	EXPECT_EQ(getpid(), d.pid);
	/* The batch's two user pointers are 32-bit addresses in 64-bit fields. */
	gpids[0] = e.gpid;
	gpids[1] = getpid();
	gpids[2] = e.gpid;
	b = (struct gpid_decode_batch){ .gpids = (uintptr_t)gpids, .pids = (uintptr_t)pids,
					.count = 3 };
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_DECODE_BATCH, &b)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(getpid(), pids[0]);
	EXPECT_EQ(getpid(), pids[1]);
	EXPECT_EQ(getpid(), pids[2]);
	/* A bad pointer is EFAULT, as for a 64-bit caller. */
	b.pids = 8;
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_DECODE_BATCH, &b));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(compat, robust_register_refused)
{
	struct gpid_robust_register r = { 0 };
	int before = read_counter("/proc/gpid/robust", "registrations");

	ASSERT_LE(0, before);
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_ROBUST_REGISTER, &r));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, r.owner);
	EXPECT_EQ(before, read_counter("/proc/gpid/robust", "registrations"));
	/* Nothing was registered, so there is nothing to end. */
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_ROBUST_UNREGISTER));
	EXPECT_EQ(ENOENT, errno);
}

/* A queue sent to and received from by this 32-bit task (the compat msgsnd/msgrcv paths). */
TEST_F(compat, sysv_queue)
{
	struct { long type; char text[8]; } m = { 1, "compat" };
	struct gpid_msq q = { 0 };
	struct msqid_ds ds;
	int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);

	ASSERT_LE(0, id);
	ASSERT_EQ(0, msgsnd(id, &m, sizeof(m.text), 0));
	ASSERT_EQ(sizeof(m.text), msgrcv(id, &m, sizeof(m.text), 0, 0));
	ASSERT_EQ(0, msgctl(id, IPC_STAT, &ds));
	q.msqid = id;
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_MSQ, &q)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(GPID_MSQ_PARTY, q.sender_state);
	EXPECT_EQ(GPID_MSQ_PARTY, q.receiver_state);
	EXPECT_EQ(getpid(), q.sender_pid);
	EXPECT_EQ(getpid(), q.receiver_pid);
	EXPECT_EQ(ds.msg_lspid, q.sender_pid);
	EXPECT_EQ(ds.msg_lrpid, q.receiver_pid);
	EXPECT_EQ(0, msgctl(id, IPC_RMID, NULL));
}

TEST_F(compat, peer_and_sigqueue)
{
	struct gpid_sigqueue s = { .target = getpid(), .sig = SIGRTMIN, .value = 0x12345678 };
	struct signalfd_siginfo ssi;
	struct gpid_peer p = { 0 };
	int sv[2], sfd;
	sigset_t set;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	p.fd = sv[0];
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_PEER, &p));
	EXPECT_EQ(getpid(), p.pid);
	EXPECT_EQ(GPID_PEER_KNOWN | GPID_PEER_ALIVE, p.state);
	close(sv[0]);
	close(sv[1]);
	/* The kernel converts the queued siginfo to the compat layout for this receiver. */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_SIGQUEUE, &s)) TH_LOG("%s", strerror(errno));
	/*
	 * Read through a signalfd: glibc's 32-bit sigtimedwait needs the time64 or 32-bit-time
	 * compat syscalls, which a small kernel may lack (the debug kernel: ENOSYS).
	 */
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(sizeof(ssi), read(sfd, &ssi, sizeof(ssi))) TH_LOG("%s", strerror(errno));
	close(sfd);
	EXPECT_EQ(SIGRTMIN, ssi.ssi_signo);
	EXPECT_EQ(SI_QUEUE, ssi.ssi_code);
	EXPECT_EQ(getpid(), ssi.ssi_pid);
	EXPECT_EQ(0x12345678, ssi.ssi_int);
}

TEST_HARNESS_MAIN
