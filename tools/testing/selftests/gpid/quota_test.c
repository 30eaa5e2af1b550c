// SPDX-License-Identifier: GPL-2.0
/*
 * Quotas: no user, with all the user and PID namespaces it creates, holds more than
 * quota_percent of gpid's machine-wide pools (narrow slots, wide slots, robust-thread slots,
 * each counted on its own), so that one user
 * cannot leave every other container with ENOSPC. Past its share a user gets EDQUOT; others,
 * and the initial namespace's root, are not affected.
 *
 * The attacker is what Debian allows any local user: an unprivileged uid in a user + PID
 * namespace of its own (unshare -r -p -f). The tests lower quota_percent to 2 so that the
 * shares are small, and put the old value back.
 */
#include <grp.h>
#include <pthread.h>
#include <semaphore.h>
#include "gpid_test.h"
#include "kselftest_harness.h"

#define PARAM	"/sys/module/gpid/parameters/quota_percent"
#define PERCENT	2
#define NOBODY	65534
#define OTHER	65533

static int share(long pool)
{
	long n = pool * PERCENT / 100;

	return n < 1 ? 1 : n;
}

/* The calling process becomes `uid` (no groups, no capabilities); 0 stays root. */
static int become(uid_t uid)
{
	if (!uid)
		return 0;
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -1;
	/* A credential change clears the parent-death signal. */
	return prctl(PR_SET_PDEATHSIG, SIGKILL);
}

struct result {
	int ret;		/* 0 or -errno */
	int count;		/* what succeeded before it */
	struct gpid_self self;
	int big_ret;		/* a container's task with PID BIG_PID: its SELF, 0 or -errno */
	struct gpid_self big;
};

/* A PID no narrow slot holds (narrow_bits 16): its namespace needs a wide slot for it. */
#define BIG_PID	70000
#define NS_LAST_PID	"/proc/sys/kernel/ns_last_pid"

static void send_result(int fd, const struct result *r)
{
	if (write(fd, r, sizeof(*r)) != sizeof(*r))
		_exit(1);
}

static int recv_result(int fd, struct result *r)
{
	if (gpid_wait_readable(fd, 20000))
		return -1;
	return read(fd, r, sizeof(*r)) == sizeof(*r) ? 0 : -1;
}

/* Blocks until the test closes the release pipe. */
static void wait_release(int rel_r)
{
	char c;

	while (read(rel_r, &c, 1) < 0 && errno == EINTR)
		;
}

/*
 * In a container's init, once it has its gpid: a child with PID BIG_PID (ns_last_pid, which
 * the container's root may set) asks for its own, reports, and waits for the release.
 */
static void big_child(struct result *r, int res_w, int rel_r)
{
	pid_t c;

	r->big_ret = gpid_write_int(NS_LAST_PID, BIG_PID - 1);
	c = r->big_ret ? -1 : fork();
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		r->big_ret = getpid() == BIG_PID ? gp_self(NULL, &r->big) : -EAGAIN;
		send_result(res_w, r);
		wait_release(rel_r);
		_exit(0);
	}
	if (c < 0) {
		r->big_ret = r->big_ret ? r->big_ret : -errno;
		send_result(res_w, r);
	}
	wait_release(rel_r);
	_exit(0);
}

/*
 * A container: `uid` unshares a PID namespace (with a user namespace of its own unless root)
 * and its PID 1 asks for its gpid, reports (with big, through a child with a PID that needs
 * a wide slot), and waits for the release.
 */
static pid_t container(uid_t uid, int big, int res_w, int rel_r, int rel_w)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct result r = { 0 };
		pid_t init;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(rel_w);
		if (become(uid) || unshare((uid ? CLONE_NEWUSER : 0) | CLONE_NEWPID)) {
			r.ret = -errno;
			send_result(res_w, &r);
			_exit(1);
		}
		init = fork();
		if (init == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			r.ret = gp_self(NULL, &r.self);
			if (big && !r.ret)
				big_child(&r, res_w, rel_r);
			send_result(res_w, &r);
			wait_release(rel_r);
			_exit(0);
		}
		_exit(init > 0 && gpid_reap(init) == 0 ? 0 : 1);
	}
	if (pid > 0)
		gpid_track(pid);
	return pid;
}

FIXTURE(quota) {
	char saved[32];
};

FIXTURE_SETUP(quota)
{
	ASSERT_LT(0, gpid_read_file(PARAM, self->saved, sizeof(self->saved)))
		TH_LOG("no %s", PARAM);
	ASSERT_EQ(0, gpid_write_int(PARAM, PERCENT));
}

FIXTURE_TEARDOWN(quota)
{
	gpid_reap_all();
	gpid_write_file(PARAM, self->saved);
}

/* What a container reports for the class under test: its init's SELF, or its BIG_PID's. */
static int outcome(const struct result *r, int big)
{
	return big ? r->big_ret : r->ret;
}

/*
 * nobody fills its share of a class of slots with containers: the next one gets EDQUOT, while
 * root's new container and another user's still get a gpid. Once nobody's containers are
 * gone, their slots count no more. With big, each container's BIG_PID promotes it to a wide
 * slot beside its narrow one; else all its PIDs fit its narrow slot.
 */
static void slots_per_user(struct __test_metadata *_metadata, int big)
{
	const struct gpid_layout *l = gpid_layout();
	int limit, res[2], rel[2];
	struct result r;
	__u32 slot, nr;

	ASSERT_NE(NULL, l);
	ASSERT_GT(BIG_PID, gpid_slot_max_nr(gpid_first_narrow())) TH_LOG("narrow_bits too wide");
	limit = share(big ? l->wide_slots : l->narrow_slots);
	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rel, O_CLOEXEC));
	for (int i = 0; i <= limit; i++) {
		ASSERT_LT(0, container(NOBODY, big, res[1], rel[0], rel[1]));
		ASSERT_EQ(0, recv_result(res[0], &r)) TH_LOG("container %d", i);
		if (big)
			ASSERT_EQ(0, r.ret) TH_LOG("container %d: its init", i);
		if (i == limit) {
			EXPECT_EQ(-EDQUOT, outcome(&r, big)) TH_LOG("past the share of %d", limit);
			continue;
		}
		ASSERT_EQ(0, outcome(&r, big)) TH_LOG("container %d of a share of %d", i, limit);
		EXPECT_EQ(0, r.self.level);
		EXPECT_FALSE(gpid_slot_is_wide(r.self.slot)) TH_LOG("slot %u", r.self.slot);
		if (big) {
			EXPECT_EQ(r.self.slot, r.big.slot) TH_LOG("the owner slot stays the narrow one");
			ASSERT_EQ(0, gpid_split(r.big.tid, &slot, &nr)) TH_LOG("%#x", r.big.tid);
			EXPECT_TRUE(gpid_slot_is_wide(slot)) TH_LOG("%#x", r.big.tid);
			EXPECT_EQ(BIG_PID, nr);
		}
	}
	ASSERT_LT(0, container(0, big, res[1], rel[0], rel[1]));
	ASSERT_EQ(0, recv_result(res[0], &r));
	EXPECT_EQ(0, outcome(&r, big)) TH_LOG("root's container while nobody sits at its share");
	ASSERT_LT(0, container(OTHER, big, res[1], rel[0], rel[1]));
	ASSERT_EQ(0, recv_result(res[0], &r));
	EXPECT_EQ(0, outcome(&r, big)) TH_LOG("another user's container");

	close(rel[1]);
	gpid_reap_all();
	ASSERT_EQ(0, pipe2(rel, O_CLOEXEC));
	ASSERT_LT(0, container(NOBODY, big, res[1], rel[0], rel[1]));
	ASSERT_EQ(0, recv_result(res[0], &r));
	EXPECT_EQ(0, outcome(&r, big)) TH_LOG("nobody's dead containers still count");
	close(rel[1]);
	close(rel[0]);
	close(res[0]);
	close(res[1]);
}

/*
 * Narrow slots: past its share, nobody's next container gets EDQUOT, not a wide slot (the
 * narrow class is not full).
 */
TEST_F_TIMEOUT(quota, narrow_slots_per_user, 120)
{
	slots_per_user(_metadata, 0);
}

/*
 * The wide slots are a pool of their own: past its share of them, the large PID gets EDQUOT
 * while the container's small PIDs keep their gpids.
 */
TEST_F_TIMEOUT(quota, wide_slots_per_user, 60)
{
	slots_per_user(_metadata, 1);
}

static sem_t registered;
static int rel_fd;

static void *register_and_hold(void *p)
{
	struct gpid_robust_register reg = { 0 };
	int *ret = p;

	*ret = gpid_ioctl(GPID_IOC_ROBUST_REGISTER, &reg);
	sem_post(&registered);
	if (*ret == 0)
		wait_release(rel_fd);
	return NULL;
}

/*
 * `uid`, in a user + PID namespace of its own (or as itself, for root), registers up to `n`
 * threads, each holding its registration until the release; reports how many got in and the
 * first error.
 */
static pid_t registrar(uid_t uid, int n, int res_w, int rel_r, int rel_w)
{
	pid_t pid = fork();

	if (pid == 0) {
		static int rets[4096];
		struct result r = { 0 };
		pthread_t t;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(rel_w);
		rel_fd = rel_r;
		if (become(uid) || (uid && unshare(CLONE_NEWUSER | CLONE_NEWPID))) {
			r.ret = -errno;
			send_result(res_w, &r);
			_exit(1);
		}
		/* Threads cannot be made beside an unshared PID namespace: its PID 1 makes them. */
		if (uid) {
			pid_t init = fork();

			if (init != 0)
				_exit(init > 0 && gpid_reap(init) == 0 ? 0 : 1);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		}
		sem_init(&registered, 0, 0);
		for (int i = 0; i < n && i < 4096; i++) {
			int err = pthread_create(&t, NULL, register_and_hold, &rets[i]);

			if (err) {
				r.ret = -err;
				break;
			}
			pthread_detach(t);
			while (sem_wait(&registered) && errno == EINTR)
				;
			if (rets[i]) {
				r.ret = rets[i];
				break;
			}
			r.count++;
		}
		send_result(res_w, &r);
		wait_release(rel_r);
		_exit(0);
	}
	if (pid > 0)
		gpid_track(pid);
	return pid;
}

/*
 * nobody fills its share of robust-thread slots: the next registration gets EDQUOT, while
 * root and another user still register. The slots come back when the threads exit (the exit
 * hook gives the share back), so a second round gets the whole share again.
 */
TEST_F_TIMEOUT(quota, thread_slots_per_user, 120)
{
	int limit = share(4096);
	int res[2], rel[2];
	struct result r;

	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	for (int round = 0; round < 2; round++) {
		ASSERT_EQ(0, pipe2(rel, O_CLOEXEC));
		ASSERT_LT(0, registrar(NOBODY, limit + 5, res[1], rel[0], rel[1]));
		ASSERT_EQ(0, recv_result(res[0], &r));
		EXPECT_EQ(limit, r.count) TH_LOG("round %d: share %d", round, limit);
		EXPECT_EQ(-EDQUOT, r.ret) TH_LOG("round %d", round);
		ASSERT_LT(0, registrar(0, 3, res[1], rel[0], rel[1]));
		ASSERT_EQ(0, recv_result(res[0], &r));
		EXPECT_EQ(3, r.count) TH_LOG("root, while nobody sits at its share: %d", r.ret);
		ASSERT_LT(0, registrar(OTHER, 3, res[1], rel[0], rel[1]));
		ASSERT_EQ(0, recv_result(res[0], &r));
		EXPECT_EQ(3, r.count) TH_LOG("another user: %d", r.ret);
		close(rel[1]);
		gpid_reap_all();
		close(rel[0]);
	}
	close(res[0]);
	close(res[1]);
}

#define SIG		(SIGRTMIN + 3)
#define FLOOD		300	/* more than the 256 records the module keeps */

/*
 * A receiver: PID 1 of a PID namespace of its own (so that it cannot see the senders), uid
 * `uid`, SIG blocked. Once told (a byte on `go`), it takes `n` signals and asks for each one's
 * sender record; reports a bitmap of the values whose record it found.
 */
static pid_t record_receiver(uid_t uid, int n, int ready_w, int go_r, int res_w)
{
	pid_t pid = gpid_fork(1);

	if (pid == 0) {
		unsigned char found[FLOOD / 8 + 1] = { 0 };
		struct timespec ts = { .tv_sec = 10 };
		sigset_t set;
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&set);
		sigaddset(&set, SIG);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (become(uid) || write(ready_w, "r", 1) != 1 || read(go_r, &c, 1) != 1)
			_exit(1);
		for (int i = 0; i < n; i++) {
			struct gpid_sigsender q = { .sig = SIG };
			siginfo_t si;

			if (sigtimedwait(&set, &si, &ts) != SIG)
				_exit(2);
			q.value = (__u64)si.si_value.sival_ptr;
			if (gpid_ioctl(GPID_IOC_SIGSENDER, &q) == 0 && q.value < FLOOD)
				found[q.value / 8] |= 1 << (q.value % 8);
		}
		_exit(write(res_w, found, sizeof(found)) == sizeof(found) ? 0 : 3);
	}
	if (pid > 0)
		gpid_track(pid);
	return pid;
}

/* `uid` sends `n` signals with values first..first+n-1 to `target` (a pid seen from here). */
static int send_as(uid_t uid, pid_t target, int first, int n)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (become(uid))
			_exit(1);
		for (int i = 0; i < n; i++) {
			struct gpid_sigqueue q = { .target = target, .sig = SIG, .value = first + i };

			if (gpid_ioctl(GPID_IOC_SIGQUEUE, &q))
				_exit(2);
		}
		_exit(0);
	}
	return pid < 0 ? -1 : gpid_reap(pid);
}

static int count_bits(const unsigned char *b, int from, int to)
{
	int n = 0;

	for (int i = from; i < to; i++)
		n += !!(b[i / 8] & (1 << (i % 8)));
	return n;
}

/*
 * Sender records (kept for a receiver that cannot see the sender, under the sender's
 * namespace's export policy) are a pool of 256: nobody flooding 300 records evicts only its
 * own oldest, so another user's record, older than the flood, survives; and nobody keeps no
 * more than its share.
 */
TEST_F_TIMEOUT(quota, sender_records_per_user, 120)
{
	struct gpid_ns_set ns = { .flags = GPID_NS_SET_POLICY, .policy = GPID_POLICY_EXPORT };
	unsigned char found1[FLOOD / 8 + 1], found2[FLOOD / 8 + 1];
	int ready[2], go1[2], go2[2], res[2], limit = share(256);
	pid_t r1, r2;
	char c;

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go1, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go2, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	ASSERT_EQ(0, gpid_ioctl(GPID_IOC_NS_SET, &ns));
	/* A go pipe each: which one a single pipe wakes first is not the test's to choose. */
	r2 = record_receiver(OTHER, 1, ready[1], go2[0], res[1]);
	r1 = record_receiver(NOBODY, FLOOD, ready[1], go1[0], res[1]);
	ASSERT_LT(0, r1);
	ASSERT_LT(0, r2);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, gpid_wait_readable(ready[0], 10000));
		ASSERT_EQ(1, read(ready[0], &c, 1));
	}
	ASSERT_EQ(0, send_as(OTHER, r2, 0, 1));
	ASSERT_EQ(0, send_as(NOBODY, r1, 0, FLOOD));
	/* One receiver at a time, so that each result is known to be its own. */
	ASSERT_EQ(1, write(go2[1], "g", 1));
	ASSERT_EQ(0, gpid_wait_readable(res[0], 20000));
	ASSERT_EQ(sizeof(found2), read(res[0], found2, sizeof(found2)));
	ASSERT_EQ(1, write(go1[1], "g", 1));
	ASSERT_EQ(0, gpid_wait_readable(res[0], 20000));
	ASSERT_EQ(sizeof(found1), read(res[0], found1, sizeof(found1)));
	ns.policy = 0;
	EXPECT_EQ(0, gpid_ioctl(GPID_IOC_NS_SET, &ns));
	EXPECT_EQ(1, count_bits(found2, 0, 1)) TH_LOG("the other user's record was evicted");
	EXPECT_EQ(limit, count_bits(found1, 0, FLOOD)) TH_LOG("nobody kept more than its share");
	EXPECT_EQ(limit, count_bits(found1, FLOOD - limit, FLOOD)) TH_LOG("not its newest");
	close(ready[0]); close(ready[1]); close(go1[0]); close(go1[1]); close(go2[0]); close(go2[1]);
	close(res[0]); close(res[1]);
}

/* The share follows the parameter at run time; 100 gives a user the whole pool. */
TEST_F(quota, share_is_tunable_at_run_time)
{
	int res[2], rel[2];
	struct result r;

	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rel, O_CLOEXEC));
	ASSERT_EQ(0, gpid_write_int(PARAM, 100));
	ASSERT_LT(0, registrar(NOBODY, share(4096) + 5, res[1], rel[0], rel[1]));
	ASSERT_EQ(0, recv_result(res[0], &r));
	EXPECT_EQ(share(4096) + 5, r.count) TH_LOG("first error %d", r.ret);
	close(rel[1]);
	gpid_reap_all();
	close(rel[0]);
	close(res[0]);
	close(res[1]);
}

TEST_HARNESS_MAIN
