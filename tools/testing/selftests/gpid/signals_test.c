// SPDX-License-Identifier: GPL-2.0
/*
 * Signals across PID namespaces: GPID_IOC_SIGQUEUE, sender records, and the transparent si_pid
 * fix, against the stock kernel's behaviour.
 *
 * The matrix: sender/receiver placement x send method x module state, each asserting the exact
 * si_pid (and si_code, si_value) the receiver reads, once with sigtimedwait and once with a
 * signalfd. Processes sit in chains of fresh PID namespaces below the test process; every one
 * reports its PIDs at every level (NSpid) through a pipe, so the expected values are exact.
 */
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <mqueue.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include "gpid_test.h"
#include "kselftest_harness.h"

#define SIG		(SIGRTMIN + 1)
#define CHOSEN_PID	4242
#define MAXLV		8
#define WAIT_MS		5000

enum method { M_KILL, M_SIGQUEUE, M_RT_HONEST, M_RT_CHOSEN, M_PIDFD, M_IOCTL_PID, M_IOCTL_GPID,
	      M_KILL0, M_COUNT };
static const char *const method_name[] = { "kill", "sigqueue", "rt_sigqueueinfo(honest)",
	"rt_sigqueueinfo(chosen)", "pidfd_send_signal", "ioctl(pid)", "ioctl(gpid)", "kill(0)" };

struct got {
	int signo, code, pid, uid;
	uint64_t value;
};

struct msg {
	int kind;		/* MSG_* */
	int n;			/* entries in nspid */
	int nspid[MAXLV];	/* PIDs from the initial namespace down to the process's own */
	int err[2];		/* sender: 0 or errno of each send */
	struct got got[2];	/* receiver: what it read (signo 0: nothing) */
};
enum { MSG_READY_R = 1, MSG_READY_S, MSG_RESULT_R, MSG_RESULT_S };

struct order {
	int method;
	int pid;		/* target in the sender's namespace */
	__u32 gpid;		/* target's gpid */
	uint64_t value;
};

static int gpid_fd = -1;

static int read_nspid(int *out)
{
	char buf[4096], *p;
	int n = 0;

	if (gpid_read_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "NSpid:");
	if (!p)
		return 0;
	p += 6;
	while (n < MAXLV && *p && *p != '\n') {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		out[n++] = v;
		p = end;
	}
	return n;
}

static int wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static int read_msg(int fd, struct msg *m)
{
	if (!wait_readable(fd, WAIT_MS))
		return -1;
	return read(fd, m, sizeof(*m)) == sizeof(*m) ? 0 : -1;
}

/*
 * Forks a process @levels PID namespaces below the caller (each level's first process is that
 * namespace's init and waits for the next); the last one runs fn(arg) and every process of the
 * chain exits with its result. Returns the chain's first process, for the caller to reap.
 */
static pid_t spawn_chain(int levels, int (*fn)(void *), void *arg)
{
	pid_t p = fork();

	if (p)
		return p;
	for (int i = 0; i < levels; i++) {
		int st;
		pid_t c;

		if (unshare(CLONE_NEWPID))
			_exit(90);
		c = fork();
		if (c < 0)
			_exit(91);
		if (c > 0) {
			if (waitpid(c, &st, 0) != c)
				_exit(92);
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 93);
		}
	}
	_exit(fn(arg));
}

static int reap(pid_t p)
{
	int st;

	for (int i = 0; i < 2 * WAIT_MS / 10; i++) {
		pid_t r = waitpid(p, &st, WNOHANG);

		if (r == p)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return -1;
}

struct role {
	int report;		/* write end of the test's pipe */
	int orders;		/* sender: read end of its order pipe */
};

static void report(const struct role *r, struct msg *m)
{
	m->n = read_nspid(m->nspid);
	if (write(r->report, m, sizeof(*m)) != sizeof(*m))
		_exit(80);
}

/* The receiver: reads one signal with sigtimedwait, then one through a signalfd. */
static int receiver(void *arg)
{
	const struct role *r = arg;
	struct msg m = { .kind = MSG_READY_R };
	struct timespec ts = { .tv_sec = WAIT_MS / 1000 };
	struct signalfd_siginfo ssi;
	siginfo_t si;
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIG);
	report(r, &m);
	memset(&m, 0, sizeof(m));
	m.kind = MSG_RESULT_R;
	if (sigtimedwait(&set, &si, &ts) == SIG)
		m.got[0] = (struct got){ si.si_signo, si.si_code, si.si_pid, si.si_uid,
					 (uint64_t)(uintptr_t)si.si_value.sival_ptr };
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd >= 0 && wait_readable(sfd, WAIT_MS) && read(sfd, &ssi, sizeof(ssi)) == sizeof(ssi))
		m.got[1] = (struct got){ ssi.ssi_signo, ssi.ssi_code, ssi.ssi_pid, ssi.ssi_uid,
					 ssi.ssi_ptr };
	report(r, &m);
	return 0;
}

static int gpid_sigqueue(__u32 target, __u32 flags, int sig, uint64_t value)
{
	struct gpid_sigqueue q = { .target = target, .flags = flags, .sig = sig, .value = value };

	return ioctl(gpid_fd, GPID_IOC_SIGQUEUE, &q) ? errno : 0;
}

static int send_one(const struct order *o)
{
	siginfo_t si;
	int fd, ret;

	switch (o->method) {
	case M_KILL:
		return kill(o->pid, SIG) ? errno : 0;
	case M_KILL0:
		return kill(0, SIG) ? errno : 0;
	case M_SIGQUEUE:
		return sigqueue(o->pid, SIG, (union sigval){ .sival_ptr = (void *)(uintptr_t)o->value })
			? errno : 0;
	case M_RT_HONEST:
	case M_RT_CHOSEN:
		memset(&si, 0, sizeof(si));
		si.si_signo = SIG;
		si.si_code = SI_QUEUE;
		si.si_pid = o->method == M_RT_HONEST ? getpid() : CHOSEN_PID;
		si.si_uid = getuid();
		si.si_value.sival_ptr = (void *)(uintptr_t)o->value;
		return syscall(SYS_rt_sigqueueinfo, o->pid, SIG, &si) ? errno : 0;
	case M_PIDFD:
		fd = syscall(SYS_pidfd_open, o->pid, 0);
		if (fd < 0)
			return errno;
		ret = syscall(SYS_pidfd_send_signal, fd, SIG, NULL, 0) ? errno : 0;
		close(fd);
		return ret;
	case M_IOCTL_PID:
		return gpid_sigqueue(o->pid, 0, SIG, o->value);
	case M_IOCTL_GPID:
		return gpid_sigqueue(o->gpid, GPID_SIGQUEUE_GPID, SIG, o->value);
	}
	return EINVAL;
}

/* The sender: reports, waits for its order, sends twice. */
static int sender(void *arg)
{
	const struct role *r = arg;
	struct msg m = { .kind = MSG_READY_S };
	struct order o;

	report(r, &m);
	if (!wait_readable(r->orders, WAIT_MS) || read(r->orders, &o, sizeof(o)) != sizeof(o))
		return 81;
	memset(&m, 0, sizeof(m));
	m.kind = MSG_RESULT_S;
	for (int i = 0; i < 2; i++)
		m.err[i] = send_one(&o);
	report(r, &m);
	return 0;
}

/* Module states of the matrix. */
static int set_module(int loaded)
{
	if (gpid_fd >= 0)
		close(gpid_fd);
	gpid_fd = -1;
	if (gpid_unload_module_wait())
		return -1;
	if (!loaded)
		return 0;
	if (gpid_load_module_params("") ||
	    !gpid_wait_path(GPID_DEVICE_PATH, 1))
		return -1;
	gpid_fd = open("/dev/gpid", O_RDWR | O_CLOEXEC);
	return gpid_fd < 0 ? -1 : 0;
}

static void restore_module(void)
{
	set_module(1);
}

/*
 * Placements: where the sender and receiver sit, as numbers of PID namespaces below the test
 * process, and whether they share a chain (ancestor/descendant) or not (siblings).
 */
enum placement { SAME, DOWN, UP, SIBLINGS, DOWN3, UP3 };
static const char *const placement_name[] = { "same namespace", "ancestor->descendant",
	"descendant->ancestor", "siblings", "three levels down", "three levels up" };

struct outcome {
	int skipped;
	struct msg r, s;
	int s_top;		/* sender's PID in the test's (initial) namespace */
	int s_own;		/* sender's PID in its own namespace */
};

/*
 * Runs one cell: the receiver and the sender in their chains, the sender ordered to use
 * @method on the receiver. Returns 0 when it ran (results in @out).
 */
static int run_cell(enum placement pl, int method, struct outcome *out)
{
	int rlv = 0, slv = 0, down = 0, nested = 0;
	int rep[2], ord[2];
	struct role rr, sr;
	struct msg m, ready_r = { 0 }, ready_s = { 0 };
	struct order o = { .method = method, .value = 0x1234 + method };
	pid_t rp = -1, sp;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	switch (pl) {
	case SAME: break;
	case DOWN: rlv = 1; down = 1; break;
	case UP: slv = 1; break;
	case SIBLINGS: rlv = 1; slv = 1; break;
	case DOWN3: rlv = 3; down = 1; break;
	case UP3: slv = 3; break;
	}
	(void)nested;
	if (pipe2(rep, O_CLOEXEC) || pipe2(ord, O_CLOEXEC))
		return -1;
	rr = (struct role){ .report = rep[1] };
	sr = (struct role){ .report = rep[1], .orders = ord[0] };
	rp = spawn_chain(rlv, receiver, &rr);
	sp = spawn_chain(slv, sender, &sr);
	for (int i = 0; i < 2; i++) {
		if (read_msg(rep[0], &m))
			goto out;
		if (m.kind == MSG_READY_R)
			ready_r = m;
		else
			ready_s = m;
	}
	if (!ready_r.n || !ready_s.n)
		goto out;
	out->s_top = ready_s.nspid[0];
	out->s_own = ready_s.nspid[ready_s.n - 1];
	/* The receiver in the sender's namespace: only when the sender is at the top. */
	o.pid = slv == 0 ? ready_r.nspid[0] : 0;
	if (gpid_fd >= 0) {
		struct gpid_encode e = { .pid = ready_r.nspid[0], .flags = GPID_ENCODE_TGID };

		if (ioctl(gpid_fd, GPID_IOC_ENCODE, &e) == 0)
			o.gpid = e.gpid;
	}
	(void)down;
	if (write(ord[1], &o, sizeof(o)) != sizeof(o))
		goto out;
	for (int i = 0; i < 2; i++) {
		if (read_msg(rep[0], &m))
			goto out;
		if (m.kind == MSG_RESULT_R)
			out->r = m;
		else
			out->s = m;
	}
	rc = 0;
out:
	if (reap(sp) != 0)
		rc = -1;
	if (reap(rp) != 0)
		rc = -1;
	close(rep[0]); close(rep[1]); close(ord[0]); close(ord[1]);
	return rc;
}

/* Every cell must give the same answer with gpid loaded and not: it changes no stock signal. */
FIXTURE(matrix) {
	int unused;
};

FIXTURE_VARIANT(matrix) {
	int loaded;
};

FIXTURE_VARIANT_ADD(matrix, loaded) { .loaded = 1 };
FIXTURE_VARIANT_ADD(matrix, not_loaded) { .loaded = 0 };

FIXTURE_SETUP(matrix)
{
	sigset_t set;

	ASSERT_EQ(0, set_module(variant->loaded));
	/* Every process below inherits the blocked signal; kill(0) reaches only this group. */
	sigemptyset(&set);
	sigaddset(&set, SIG);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
	ASSERT_EQ(0, setpgid(0, 0));
}

FIXTURE_TEARDOWN(matrix)
{
	restore_module();
}

static const int methods_down[] = { M_KILL, M_SIGQUEUE, M_RT_HONEST, M_RT_CHOSEN, M_PIDFD,
				    M_IOCTL_PID, M_IOCTL_GPID };

/* si_code the receiver reads for each method. */
static int expect_code(int method)
{
	return (method == M_KILL || method == M_KILL0 || method == M_PIDFD) ? SI_USER : SI_QUEUE;
}

static void check_cell(struct __test_metadata *_metadata, enum placement pl, int method,
		       int want_pid, const struct outcome *o)
{
	for (int i = 0; i < 2; i++) {
		const struct got *g = &o->r.got[i];

		EXPECT_EQ(0, o->s.err[i]) TH_LOG("%s, %s: send %d", placement_name[pl],
						 method_name[method], i);
		EXPECT_EQ(SIG, g->signo) TH_LOG("%s, %s: read %d", placement_name[pl],
						method_name[method], i);
		EXPECT_EQ(expect_code(method), g->code) TH_LOG("%s, %s", placement_name[pl],
							       method_name[method]);
		EXPECT_EQ(want_pid, g->pid) TH_LOG("%s, %s, read by %s", placement_name[pl],
						   method_name[method],
						   i ? "signalfd" : "sigtimedwait");
		EXPECT_EQ(0, g->uid);
		if (expect_code(method) == SI_QUEUE)
			EXPECT_EQ(0x1234 + method, g->value) TH_LOG("%s, %s", placement_name[pl],
								     method_name[method]);
	}
}

/* Signals sent downwards or within a namespace: the sender names the receiver. */
static void run_down(struct __test_metadata *_metadata, enum placement pl)
{
	for (size_t i = 0; i < sizeof(methods_down) / sizeof(methods_down[0]); i++) {
		int method = methods_down[i], want;
		struct outcome o;

		if ((method == M_IOCTL_PID || method == M_IOCTL_GPID) && gpid_fd < 0)
			continue;
		ASSERT_EQ(0, run_cell(pl, method, &o)) TH_LOG("%s, %s", placement_name[pl],
							      method_name[method]);
		if (pl == SAME)
			want = method == M_RT_CHOSEN ? CHOSEN_PID : o.s_top;
		else
			want = 0;	/* the receiver cannot see the sender */
		check_cell(_metadata, pl, method, want, &o);
	}
}

/*
 * Signals sent upwards or across: the sender cannot name the receiver by PID, only reach it
 * through a process group the two share (kill(0)). Stock 7.x fills kill(2)'s si_pid per
 * receiver (SEND_SIG_NOINFO), so the receiver gets the sender in its own namespace, or 0 when
 * it cannot see it (6.12 gave the sender's own-namespace number, which gpid used to rewrite).
 */
static void run_pgrp(struct __test_metadata *_metadata, enum placement pl)
{
	struct outcome o;

	ASSERT_EQ(0, run_cell(pl, M_KILL0, &o)) TH_LOG("%s", placement_name[pl]);
	check_cell(_metadata, pl, M_KILL0, pl == SIBLINGS ? 0 : o.s_top, &o);
}

/*
 * The one other way up, a pidfd of an ancestor-namespace process (inherited, or passed over a
 * socket), is refused by stock: pidfd_send_signal() takes only targets in the caller's
 * namespace or below (EINVAL). So no user-originated signal reaches upwards with a wrong
 * si_pid, and gpid need not rewrite any.
 */
TEST(pidfd_upwards_refused_by_stock)
{
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	int st;
	pid_t child;

	ASSERT_LE(0, pidfd);
	ASSERT_EQ(0, unshare(CLONE_NEWPID));
	child = fork();
	if (child == 0) {
		int r = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);

		_exit(r == -1 && errno == EINVAL ? 0 : 1);
	}
	ASSERT_LT(0, child);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The same pidfd works from the caller's own namespace. */
	EXPECT_EQ(0, syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0));
	close(pidfd);
}

TEST_F(matrix, same_namespace)
{
	run_down(_metadata, SAME);
	run_pgrp(_metadata, SAME);
}

TEST_F(matrix, ancestor_to_descendant)
{
	run_down(_metadata, DOWN);
}

TEST_F(matrix, descendant_to_ancestor)
{
	run_pgrp(_metadata, UP);
}

TEST_F(matrix, siblings)
{
	run_pgrp(_metadata, SIBLINGS);
}

TEST_F(matrix, three_levels_down)
{
	run_down(_metadata, DOWN3);
}

TEST_F(matrix, three_levels_up)
{
	run_pgrp(_metadata, UP3);
}

/* ---- the ioctl on its own (module loaded) --------------------------------------------- */

FIXTURE(sq) {
	int fd;
};

FIXTURE_SETUP(sq)
{
	sigset_t set;

	ASSERT_EQ(0, set_module(1));
	self->fd = gpid_fd;
	sigemptyset(&set);
	sigaddset(&set, SIG);
	sigaddset(&set, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &set, NULL));
}

FIXTURE_TEARDOWN(sq)
{
}

static int sq_ioctl(int fd, struct gpid_sigqueue *q)
{
	return ioctl(fd, GPID_IOC_SIGQUEUE, q) ? errno : 0;
}

/* The probe is armed by the first GPID_IOC_SIGQUEUE only: loading gpid adds nothing to any
 * other signal. */
TEST_F(sq, features)
{
	struct gpid_version v;
	char buf[512];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG);

	ASSERT_EQ(0, set_module(1));
	ASSERT_EQ(0, ioctl(gpid_fd, GPID_IOC_VERSION, &v));
	EXPECT_EQ(GPID_FEATURE_SIGQUEUE, v.features & GPID_FEATURE_SIGQUEUE);
	EXPECT_EQ(0, v.features & (1ULL << 3)) TH_LOG("the retired signal-fixup bit is reported");
	ASSERT_LT(0, gpid_read_file("/proc/gpid/signals", buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "armed 0\nsigqueued 0\n", 20)) TH_LOG("%s", buf);
	ASSERT_LT(0, gpid_read_file("/proc/gpid/features", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "sigqueue on\n"));
	EXPECT_EQ(NULL, strstr(buf, "signal_fixup"));
	/* Signal 0 queues nothing and arms nothing; a real one arms the probe. */
	ASSERT_EQ(0, sq_ioctl(gpid_fd, &(struct gpid_sigqueue){ .target = getpid(), .sig = 0 }));
	ASSERT_LT(0, gpid_read_file("/proc/gpid/signals", buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "armed 0\n", 8)) TH_LOG("%s", buf);
	ASSERT_EQ(0, sq_ioctl(gpid_fd, &(struct gpid_sigqueue){ .target = getpid(), .sig = SIG }));
	ASSERT_EQ(SIG, sigtimedwait(&set, NULL, &(struct timespec){ 1 }));
	ASSERT_LT(0, gpid_read_file("/proc/gpid/signals", buf, sizeof(buf)));
	EXPECT_EQ(0, strncmp(buf, "armed 1\nsigqueued 1\n", 20)) TH_LOG("%s", buf);
	self->fd = gpid_fd;
}

TEST_F(sq, bad_input)
{
	struct gpid_sigqueue q;
	struct gpid_sigsender s;
	sigset_t pending;
	const struct { __u32 target, flags; int sig; __u32 reserved; __u64 reserved2; } bad[] = {
		{ getpid(), 0, -1, 0, 0 },
		{ getpid(), 0, 65, 0, 0 },
		{ getpid(), 0, SIGUSR1, 1, 0 },
		{ getpid(), 0, SIGUSR1, 0, 1 },
		{ getpid(), 1U << 2, SIGUSR1, 0, 0 },
		{ getpid(), 1U << 31, SIGUSR1, 0, 0 },
		{ 0, 0, SIGUSR1, 0, 0 },		/* no process groups */
		{ (__u32)-5, 0, SIGUSR1, 0, 0 },
		{ 0, GPID_SIGQUEUE_GPID, SIGUSR1, 0, 0 },	/* no gpid */
		{ GPID_MASK + 1, GPID_SIGQUEUE_GPID, SIGUSR1, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = (struct gpid_sigqueue){ .target = bad[i].target, .flags = bad[i].flags,
					    .sig = bad[i].sig, .reserved = bad[i].reserved,
					    .reserved2 = bad[i].reserved2 };
		EXPECT_EQ(EINVAL, sq_ioctl(self->fd, &q)) TH_LOG("case %zu", i);
	}
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_SIGQUEUE, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_SIGSENDER, (void *)1));
	EXPECT_EQ(EFAULT, errno);
	s = (struct gpid_sigsender){ .sig = SIG, .flags = 1 };
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_SIGSENDER, &s));
	EXPECT_EQ(EINVAL, errno);
	s = (struct gpid_sigsender){ .sig = 0 };
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_SIGSENDER, &s));
	EXPECT_EQ(EINVAL, errno);
	s = (struct gpid_sigsender){ .sig = SIG, .reserved = 1 };
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_SIGSENDER, &s));
	EXPECT_EQ(EINVAL, errno);
	s = (struct gpid_sigsender){ .sig = SIG };
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_SIGSENDER, &s));
	EXPECT_EQ(ENOENT, errno);
	/* Nothing was queued by any of it. */
	sigpending(&pending);
	EXPECT_FALSE(sigismember(&pending, SIGUSR1));
}

/* To itself: every field, signal 0, and a thread-directed send. */
TEST_F(sq, self_fields)
{
	struct gpid_sigqueue q = { .target = getpid(), .sig = SIG, .value = 0xdeadbeefcafeULL };
	struct timespec ts = { .tv_sec = 1 };
	struct gpid_version v;
	struct gpid_self me;
	siginfo_t si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG);
	ASSERT_EQ(0, sq_ioctl(self->fd, &q));
	ASSERT_EQ(SIG, sigtimedwait(&set, &si, &ts));
	EXPECT_EQ(SI_QUEUE, si.si_code);
	EXPECT_EQ(getpid(), si.si_pid);
	EXPECT_EQ(getuid(), si.si_uid);
	EXPECT_EQ(0, si.si_errno);
	EXPECT_EQ(0xdeadbeefcafeULL, (uint64_t)(uintptr_t)si.si_value.sival_ptr);
	/*
	 * By gpid, thread-directed: only where no LSM may want a say (send_sig_info asks none, and
	 * no exported call queues to one thread and asks the LSM); refused with EOPNOTSUPP, with
	 * nothing queued, on kernels with CONFIG_SECURITY (every distribution's).
	 */
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_SELF, &me));
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_VERSION, &v));
	q = (struct gpid_sigqueue){ .target = me.tid, .flags = GPID_SIGQUEUE_GPID | GPID_SIGQUEUE_THREAD,
				    .sig = SIG, .value = 7 };
	if (v.features & GPID_FEATURE_SIGQUEUE_THREAD) {
		ASSERT_EQ(0, sq_ioctl(self->fd, &q));
		ASSERT_EQ(SIG, sigtimedwait(&set, &si, &ts));
		EXPECT_EQ(SI_QUEUE, si.si_code);
		EXPECT_EQ(getpid(), si.si_pid);
		EXPECT_EQ(7, si.si_value.sival_int);
	} else {
		EXPECT_EQ(0, access("/sys/kernel/security/lsm", F_OK) && errno == ENOENT)
			TH_LOG("no sigqueue_thread feature, yet securityfs shows no LSM list");
		EXPECT_EQ(EOPNOTSUPP, sq_ioctl(self->fd, &q));
		EXPECT_EQ(-1, sigtimedwait(&set, &si, &(struct timespec){ 0 }));
	}
	/* Signal 0: existence only, nothing queued. */
	q = (struct gpid_sigqueue){ .target = getpid(), .sig = 0 };
	EXPECT_EQ(0, sq_ioctl(self->fd, &q));
	EXPECT_EQ(-1, sigtimedwait(&set, &si, &(struct timespec){ 0 }));
	EXPECT_EQ(EAGAIN, errno);
}

/* A child that sleeps under @uid (65534 or 0) with SIG blocked; reports when ready. */
static pid_t sleeper(uid_t uid, int rlimit_sigpending)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		if (rlimit_sigpending >= 0) {
			struct rlimit rl = { rlimit_sigpending, rlimit_sigpending };

			if (setrlimit(RLIMIT_SIGPENDING, &rl))
				_exit(1);
		}
		if (uid && setresuid(uid, uid, uid))
			_exit(1);
		c = 'r';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		sleep(20);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

static void stop_sleeper(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The answer of sigqueue(3) and of the ioctl, from a child running as @uid with @caps. */
static void both_from(uid_t uid, __u32 caps, pid_t target, int sig, int *stock, int *ours)
{
	int p[2], res[2] = { -1, -1 };
	pid_t pid;

	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2] = { { 0 } };
		struct gpid_sigqueue q = { .target = target, .sig = sig };
		int r[2];

		if (uid) {
			if (prctl(PR_SET_KEEPCAPS, 1) || setresuid(uid, uid, uid))
				_exit(1);
			d[0].effective = d[0].permitted = caps;
			if (syscall(SYS_capset, &h, d))
				_exit(1);
		}
		r[0] = sigqueue(target, sig, (union sigval){ 0 }) ? errno : 0;
		r[1] = ioctl(gpid_fd, GPID_IOC_SIGQUEUE, &q) ? errno : 0;
		_exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], res, sizeof(res)) != sizeof(res))
		res[0] = res[1] = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	*stock = res[0];
	*ours = res[1];
}

TEST_F(sq, permissions)
{
	pid_t root_t = sleeper(0, -1), nobody_t = sleeper(65534, -1);
	int stock, ours;

	ASSERT_LT(0, root_t);
	ASSERT_LT(0, nobody_t);
	/* An unprivileged user cannot signal root's process. */
	both_from(65534, 0, root_t, SIG, &stock, &ours);
	EXPECT_EQ(EPERM, stock);
	EXPECT_EQ(EPERM, ours);
	/* Signal 0 answers the same. */
	both_from(65534, 0, root_t, 0, &stock, &ours);
	EXPECT_EQ(EPERM, stock);
	EXPECT_EQ(EPERM, ours);
	/* ... nor with SIGUSR1, but SIGCONT is allowed within the session. */
	both_from(65534, 0, root_t, SIGCONT, &stock, &ours);
	EXPECT_EQ(0, stock);
	EXPECT_EQ(0, ours);
	/* The same user may. */
	both_from(65534, 0, nobody_t, SIG, &stock, &ours);
	EXPECT_EQ(0, stock);
	EXPECT_EQ(0, ours);
	/* CAP_KILL grants it to an unprivileged user. */
	both_from(65534, 1U << CAP_KILL, root_t, SIG, &stock, &ours);
	EXPECT_EQ(0, stock);
	EXPECT_EQ(0, ours);
	/* Root (CAP_KILL) signals the other user's process. */
	both_from(0, 0, nobody_t, SIG, &stock, &ours);
	EXPECT_EQ(0, stock);
	EXPECT_EQ(0, ours);
	stop_sleeper(root_t);
	stop_sleeper(nobody_t);
}

/* The receiver's queue full (RLIMIT_SIGPENDING): EAGAIN, as sigqueue(3). */
TEST_F(sq, queue_overflow)
{
	pid_t t = sleeper(65534, 3);
	struct gpid_sigqueue q = { .sig = SIG };
	int n = 0;

	ASSERT_LT(0, t);
	q.target = t;
	for (n = 0; n < 3; n++)
		ASSERT_EQ(0, sq_ioctl(self->fd, &q)) TH_LOG("send %d", n);
	EXPECT_EQ(EAGAIN, sq_ioctl(self->fd, &q));
	EXPECT_EQ(-1, sigqueue(t, SIG, (union sigval){ 0 }));
	EXPECT_EQ(EAGAIN, errno);
	stop_sleeper(t);
}

/* A zombie takes signals (and drops them) as with sigqueue(3); a reaped one is gone. */
TEST_F(sq, zombie_and_gone)
{
	struct gpid_sigqueue q = { .sig = SIG };
	struct gpid_encode e = { .flags = GPID_ENCODE_TGID };
	pid_t z = fork();

	if (z == 0)
		_exit(0);
	ASSERT_LT(0, z);
	e.pid = z;
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_ENCODE, &e));
	/* Wait until it is a zombie. */
	ASSERT_EQ(0, waitid(P_PID, z, &(siginfo_t){ 0 }, WEXITED | WNOWAIT));
	q.target = z;
	EXPECT_EQ(0, sigqueue(z, SIG, (union sigval){ 0 }));
	EXPECT_EQ(0, sq_ioctl(self->fd, &q));
	ASSERT_EQ(z, waitpid(z, NULL, 0));
	EXPECT_EQ(ESRCH, sq_ioctl(self->fd, &q));
	q = (struct gpid_sigqueue){ .target = e.gpid, .flags = GPID_SIGQUEUE_GPID, .sig = SIG };
	EXPECT_EQ(ESRCH, sq_ioctl(self->fd, &q));
}

/* A namespace's init: protected from inside, killable from outside. */
static int inside_kills_init(void *arg)
{
	int fd = open("/dev/gpid", O_RDWR | O_CLOEXEC);
	struct gpid_sigqueue q = { .target = 1, .sig = SIGKILL };
	int r1, r2;

	(void)arg;
	if (fd < 0)
		return 10;
	r1 = ioctl(fd, GPID_IOC_SIGQUEUE, &q) ? errno : 0;
	q.sig = SIGUSR1;
	r2 = ioctl(fd, GPID_IOC_SIGQUEUE, &q) ? errno : 0;
	return (r1 == 0 && r2 == 0) ? 0 : 11;
}

static int init_body(void *arg)
{
	pid_t c = fork();
	int st;

	(void)arg;
	if (c == 0)
		_exit(inside_kills_init(NULL));
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
		return 20;
	/* Still alive after SIGKILL and SIGUSR1 (default: terminate) from inside. */
	sleep(20);
	return 0;
}

TEST_F(sq, namespace_init)
{
	struct gpid_sigqueue q;
	int p[2], st;
	pid_t chain, init;

	/* Chain: this -> (unshare) init, which forks a child that signals it. */
	ASSERT_EQ(0, pipe(p));
	chain = fork();
	if (chain == 0) {
		if (unshare(CLONE_NEWPID))
			_exit(1);
		init = fork();
		if (init == 0) {
			sigset_t set;

			sigemptyset(&set);
			sigprocmask(SIG_SETMASK, &set, NULL);
			_exit(init_body(NULL));
		}
		if (write(p[1], &init, sizeof(init)) != sizeof(init))
			_exit(1);
		waitpid(init, &st, 0);
		_exit(WIFSIGNALED(st) ? 100 + WTERMSIG(st) : WEXITSTATUS(st));
	}
	ASSERT_EQ(sizeof(init), read(p[0], &init, sizeof(init)));
	/* Give the inside sender time to act; the init must be alive afterwards. */
	usleep(300000);
	ASSERT_EQ(0, waitpid(chain, &st, WNOHANG));
	/* SIGUSR1 from the ancestor is not forced either (sigqueue would not force it). */
	q = (struct gpid_sigqueue){ .target = init, .sig = SIGUSR1 };
	EXPECT_EQ(0, sq_ioctl(self->fd, &q));
	usleep(100000);
	EXPECT_EQ(0, waitpid(chain, &st, WNOHANG));
	/* SIGKILL from the ancestor kills it. */
	q.sig = SIGKILL;
	EXPECT_EQ(0, sq_ioctl(self->fd, &q));
	ASSERT_EQ(chain, waitpid(chain, &st, 0));
	EXPECT_EQ(100 + SIGKILL, WEXITSTATUS(st));
	close(p[0]);
	close(p[1]);
}

/* Invisible targets: a sibling namespace's process by its gpid. */
static int try_gpid(void *arg)
{
	__u32 g = *(__u32 *)arg;
	int fd = open("/dev/gpid", O_RDWR | O_CLOEXEC);
	struct gpid_sigqueue q = { .target = g, .flags = GPID_SIGQUEUE_GPID, .sig = SIG };

	if (fd < 0)
		return 10;
	return ioctl(fd, GPID_IOC_SIGQUEUE, &q) ? (errno == ESRCH ? 0 : 11) : 12;
}

TEST_F(sq, invisible_target)
{
	struct gpid_encode e = { .pid = getpid(), .flags = GPID_ENCODE_TGID };
	pid_t c;

	/* From a child namespace, the parent's gpid names nothing. */
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_ENCODE, &e));
	c = spawn_chain(1, try_gpid, &e.gpid);
	EXPECT_EQ(0, reap(c));
}

/* Sender records: only with the sender's namespace exporting. */
static int record_receiver(void *arg)
{
	const struct role *r = arg;
	struct msg m = { .kind = MSG_READY_R };
	struct timespec ts = { .tv_sec = WAIT_MS / 1000 };
	struct gpid_sigsender s;
	siginfo_t si;
	sigset_t set;
	int fd = open("/dev/gpid", O_RDWR | O_CLOEXEC);

	sigemptyset(&set);
	sigaddset(&set, SIG);
	report(r, &m);
	memset(&m, 0, sizeof(m));
	m.kind = MSG_RESULT_R;
	for (int i = 0; i < 2; i++) {
		if (sigtimedwait(&set, &si, &ts) != SIG)
			break;
		m.got[i] = (struct got){ si.si_signo, si.si_code, si.si_pid, 0,
					 (uint64_t)(uintptr_t)si.si_value.sival_ptr };
		s = (struct gpid_sigsender){ .sig = SIG, .value = m.got[i].value };
		m.err[i] = ioctl(fd, GPID_IOC_SIGSENDER, &s) ? errno : 0;
		m.got[i].uid = s.gpid;	/* the gpid learnt, or 0 */
	}
	report(r, &m);
	return 0;
}

static void records_round(struct __test_metadata *_metadata, int fd, int export)
{
	struct gpid_ns_set ns = { .flags = GPID_NS_SET_POLICY, .policy = export ? GPID_POLICY_EXPORT : 0 };
	struct gpid_self me;
	struct role rr;
	struct msg m, res = { 0 };
	int rep[2];
	pid_t rp;

	ASSERT_EQ(0, ioctl(fd, GPID_IOC_NS_SET, &ns));
	ASSERT_EQ(0, ioctl(fd, GPID_IOC_SELF, &me));
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	rr = (struct role){ .report = rep[1] };
	rp = spawn_chain(1, record_receiver, &rr);
	ASSERT_EQ(0, read_msg(rep[0], &m));
	ASSERT_EQ(MSG_READY_R, m.kind);
	for (int i = 0; i < 2; i++) {
		struct gpid_sigqueue q = { .target = m.nspid[0], .sig = SIG, .value = 77 + i };

		EXPECT_EQ(0, sq_ioctl(fd, &q));
	}
	ASSERT_EQ(0, read_msg(rep[0], &res));
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(SIG, res.got[i].signo);
		EXPECT_EQ(0, res.got[i].pid);	/* si_pid stays what the stock kernel gives */
		EXPECT_EQ(77 + i, res.got[i].value);
		EXPECT_EQ(export ? 0 : ENOENT, res.err[i]);
		EXPECT_EQ(export ? me.tgid : 0, res.got[i].uid);
	}
	EXPECT_EQ(0, reap(rp));
	close(rep[0]);
	close(rep[1]);
	ns.policy = 0;
	ASSERT_EQ(0, ioctl(fd, GPID_IOC_NS_SET, &ns));
}

TEST_F(sq, sender_records)
{
	records_round(_metadata, self->fd, 0);
	records_round(_metadata, self->fd, 1);
}

/*
 * LTP pidns30/pidns31: a POSIX message queue notification to a receiver that cannot see the
 * sender carries si_pid 0; to one that can, the sender's PID in the receiver's namespace.
 */
struct mq_sender {
	const char *name;
	int report;
};

static int mq_child_sends(void *arg)
{
	const struct mq_sender *s = arg;
	mqd_t q = mq_open(s->name, O_WRONLY);
	int nspid[MAXLV];

	if (q == (mqd_t)-1 || !read_nspid(nspid))
		return 10;
	if (write(s->report, &nspid[0], sizeof(int)) != sizeof(int))
		return 11;
	return mq_send(q, "x", 1, 0) ? 12 : 0;
}

static int mq_child_receives(void *arg)
{
	const char *name = arg;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIG };
	struct timespec ts = { .tv_sec = WAIT_MS / 1000 };
	mqd_t q = mq_open(name, O_RDONLY);
	siginfo_t si;
	sigset_t set;
	int fd;

	if (q == (mqd_t)-1 || mq_notify(q, &ev))
		return 10;
	/* Tell the parent (through the queue's attribute file would be overkill): a flag file. */
	fd = open("/tmp/gpid-mq-ready", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return 11;
	close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIG);
	if (sigtimedwait(&set, &si, &ts) != SIG)
		return 12;
	return si.si_pid == 0 && si.si_code == SI_MESGQ ? 0 : 13;
}

TEST_F(sq, ltp_pidns30_31)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 8 };
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIG };
	struct timespec ts = { .tv_sec = WAIT_MS / 1000 };
	const char *name = "/gpid-signals-test";
	siginfo_t si;
	sigset_t set;
	mqd_t q;
	pid_t c;
	char buf[8];
	int p[2], top = -1;
	struct mq_sender snd = { .name = name };

	mq_unlink(name);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	ASSERT_NE((mqd_t)-1, q);
	sigemptyset(&set);
	sigaddset(&set, SIG);
	/* pidns31: the parent is notified of the child's message: the child's PID here. */
	ASSERT_EQ(0, mq_notify(q, &ev));
	ASSERT_EQ(0, pipe(p));
	snd.report = p[1];
	c = spawn_chain(1, mq_child_sends, &snd);
	ASSERT_EQ(SIG, sigtimedwait(&set, &si, &ts));
	EXPECT_EQ(sizeof(int), read(p[0], &top, sizeof(int)));
	EXPECT_EQ(SI_MESGQ, si.si_code);
	EXPECT_EQ(top, si.si_pid);	/* the sender (PID 1 in its namespace) as seen here */
	EXPECT_EQ(0, reap(c));
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(1, mq_receive(q, buf, sizeof(buf), NULL));
	/* pidns30: the child is notified of the parent's message: si_pid 0. */
	unlink("/tmp/gpid-mq-ready");
	c = spawn_chain(1, mq_child_receives, (void *)name);
	for (int i = 0; i < 500 && access("/tmp/gpid-mq-ready", F_OK); i++)
		usleep(10000);
	EXPECT_EQ(0, mq_send(q, "y", 1, 0));
	EXPECT_EQ(0, reap(c));
	unlink("/tmp/gpid-mq-ready");
	mq_close(q);
	mq_unlink(name);
}

TEST_HARNESS_MAIN
