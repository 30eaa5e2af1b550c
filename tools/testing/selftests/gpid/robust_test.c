// SPDX-License-Identifier: GPL-2.0
/*
 * Robust futexes across PID namespaces: the stock flaw, and gpid's mutex (tools/gpid-mutex)
 * recovering from every kind of owner death, wherever the waiter sits, plus hostile robust
 * lists, a page not present at exit, plain glibc mutexes, and module unload.
 *
 * Topology words: "T" is the test process. A party runs either in T's PID namespace or as
 * PID 1 (or PID 2, under a PID-1 that waits) of a PID namespace of its own, a child of T's:
 *   same:    owner and waiter both in T's namespace
 *   parent:  owner in a new namespace, waiter in its parent (T's)
 *   child:   owner in T's namespace, waiter in a new namespace below it
 *   sibling: owner and waiter each PID 1 of its own namespace: their TIDs collide
 *
 * Runs with the module loaded; leaves it loaded.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "gpid_test.h"
#include "gpid_mutex.h"
#include "kselftest_harness.h"

#define NMAX 64
#define SEC 1000000000LL
/* The documented recovery bound (Documentation/gpid.rst). */
#define RECOVERY_BOUND_NS SEC

enum rel { SAME, PARENT, CHILD, SIBLING };
static const char *const rel_name[] = { "same", "parent", "child", "sibling" };

enum death {
	D_KILL,			/* SIGKILL */
	D_EXIT,			/* _exit() */
	D_EXEC,			/* execve() of a program that outlives the check */
	D_THREAD,		/* a non-main thread returns; the process lives on */
	D_NSKILL,		/* the owner is PID 2; its namespace's init is SIGKILLed */
	D_PENDING_LOCK,		/* word taken, mutex only in list_op_pending, SIGKILL */
	D_PENDING_UNLOCK,	/* unlinked, pending set, word still held, SIGKILL */
	D_PAGE_GONE,		/* MADV_DONTNEED on the mutex page, then SIGKILL */
};

struct shm {
	gpid_mutex_t m[NMAX];
	pthread_mutex_t pm[2];
	atomic_int ready, go, waiting;
	atomic_llong death_ns;
	uint32_t owner_value;
	int use_gpid;
	/* the waiter's results */
	int trylock, trylock_rec, unlock_other, consistent_other, lock, others_bad, relock;
	long long latency_ns;
	/* unlock_reporter's results */
	int contended, unlock_path;
	pid_t owner_tid;
	uint32_t word_after;
	uintptr_t pending_after;
};

struct party {
	struct shm *s;
	enum death how;
	int n;
};

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * SEC + t.tv_nsec;
}

static struct timespec realtime_in(long long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	ns += t.tv_nsec;
	t.tv_sec += ns / SEC;
	t.tv_nsec = ns % SEC;
	return t;
}

static void *shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The futex word of a gpid or glibc mutex (both at offset 0). */
static uint32_t word(void *m)
{
	return __atomic_load_n((uint32_t *)m, __ATOMIC_SEQ_CST);
}

/* Polls until *flag is set or `ms` pass; returns whether it was set. */
static int wait_flag(atomic_int *flag, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (atomic_load(flag))
			return 1;
		usleep(1000);
	}
	return atomic_load(flag);
}

static int wait_word_bits(void *m, uint32_t bits, int ms)
{
	for (int i = 0; i < ms; i++) {
		if ((word(m) & bits) == bits)
			return 1;
		usleep(1000);
	}
	return 0;
}

/*
 * Runs fn(arg) in a new process. newns 0: in T's namespace; 1: as PID 1 of a new namespace;
 * 2: as PID 2 under a new namespace's PID 1, which waits for it. *target gets the pid (in
 * T's namespace) to signal: the process, or for newns 2 the namespace's init. Returns the pid
 * to reap; its exit code is fn's (128 + signal when killed).
 */
static pid_t spawn(int newns, int (*fn)(void *), void *arg, pid_t *target)
{
	int pfd[2];
	pid_t h, c;

	if (pipe(pfd))
		return -1;
	h = fork();
	if (h < 0)
		return -1;
	if (h == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		if (newns && unshare(CLONE_NEWPID))
			_exit(120);
		c = newns ? fork() : 0;
		if (c < 0)
			_exit(121);
		if (c == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (newns == 2) {
				pid_t o = fork();
				int st;

				if (o == 0) {
					prctl(PR_SET_PDEATHSIG, SIGKILL);
					_exit(fn(arg));
				}
				waitpid(o, &st, 0);
				_exit(gpid_exit_code(st));
			}
			if (!newns) {
				c = getpid();
				if (write(pfd[1], &c, sizeof(c)) != sizeof(c))
					_exit(122);
			}
			close(pfd[1]);
			_exit(fn(arg));
		}
		if (write(pfd[1], &c, sizeof(c)) != sizeof(c))
			_exit(122);
		int st;

		waitpid(c, &st, 0);
		_exit(gpid_exit_code(st));
	}
	close(pfd[1]);
	if (read(pfd[0], target, sizeof(*target)) != sizeof(*target))
		*target = -1;
	close(pfd[0]);
	return h;
}

static int lock_all(struct shm *s, int n)
{
	for (int i = 0; i < n; i++)
		if (gpid_mutex_lock(&s->m[i]))
			return 10;
	return 0;
}

static void wait_go(struct shm *s)
{
	while (!atomic_load(&s->go))
		usleep(1000);
}

static void *owner_thread(void *p)
{
	struct party *a = p;

	if (lock_all(a->s, a->n))
		return NULL;
	gpid_mutex_owner_value(&a->s->owner_value);
	atomic_store(&a->s->ready, 1);
	wait_go(a->s);
	return NULL;	/* the thread dies holding every mutex */
}

static int owner_main(void *p)
{
	struct party *a = p;
	struct shm *s = a->s;
	pthread_t t;

	if (a->how == D_THREAD) {
		if (pthread_create(&t, NULL, owner_thread, a))
			return 11;
		for (;;)
			pause();
	}
	if (a->how == D_PENDING_LOCK) {
		/* The first half of a lock: pending set, word taken, not linked yet. */
		if (gpid_mutex_owner_value(&s->owner_value) || gpid_mutex__set_pending(&s->m[0]))
			return 12;
		__atomic_store_n((uint32_t *)&s->m[0], s->owner_value, __ATOMIC_SEQ_CST);
	} else {
		if (lock_all(s, a->n))
			return 10;
		gpid_mutex_owner_value(&s->owner_value);
	}
	if (a->how == D_PENDING_UNLOCK) {
		/* The first half of an unlock: pending set, unlinked, word still held. */
		if (gpid_mutex__set_pending(&s->m[0]) || gpid_mutex__dequeue(&s->m[0]))
			return 13;
	}
	atomic_store(&s->ready, 1);
	wait_go(s);
	switch (a->how) {
	case D_EXIT:
		_exit(0);
	case D_EXEC:
		/* Outlives the waiter's check: recovery must come from the exec, not the exit. */
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		return 14;
	case D_PAGE_GONE:
		/*
		 * Drop this process's page-table entry for the mutex page (the shmem page stays):
		 * the no-fault access at exit fails, only the fallback can recover the word.
		 */
		madvise((void *)((uintptr_t)s & ~4095UL), 4096, MADV_DONTNEED);
		raise(SIGKILL);
		return 15;
	default:
		for (;;)
			pause();
	}
}

/*
 * What every gpid waiter does first: while the owner lives, m[0] is not the waiter's to take,
 * unlock or make consistent; then it sleeps in m[0] until the owner's death. Returns whether
 * the lock gave EOWNERDEAD.
 */
static int check_then_wait(struct shm *s)
{
	struct timespec abs;

	s->trylock = gpid_mutex_trylock(&s->m[0]);
	s->unlock_other = gpid_mutex_unlock(&s->m[0]);
	s->consistent_other = gpid_mutex_consistent(&s->m[0]);
	atomic_store(&s->waiting, 1);
	abs = realtime_in(5 * SEC);
	s->lock = gpid_mutex_timedlock(&s->m[0], &abs);
	s->latency_ns = now_ns() - atomic_load(&s->death_ns);
	return s->lock == EOWNERDEAD;
}

static int waiter_main(void *p)
{
	struct party *a = p;
	struct shm *s = a->s;
	int bad = 0;

	if (!check_then_wait(s))
		return 1;
	for (int i = 1; i < a->n; i++) {
		bad += gpid_mutex_trylock(&s->m[i]) != EOWNERDEAD;
		bad += gpid_mutex_consistent(&s->m[i]) != 0;
		bad += gpid_mutex_unlock(&s->m[i]) != 0;
	}
	s->others_bad = bad;
	if (gpid_mutex_consistent(&s->m[0]) || gpid_mutex_unlock(&s->m[0]))
		return 2;
	s->relock = gpid_mutex_lock(&s->m[0]);
	gpid_mutex_unlock(&s->m[0]);
	return 0;
}

static int robust_feature(void)
{
	struct gpid_version v;
	int fd = open(GPID_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return 0;
	ok = ioctl(fd, GPID_IOC_VERSION, &v) == 0 && (v.features & GPID_FEATURE_ROBUST_FUTEX);
	close(fd);
	return ok;
}

/* The /proc/gpid/robust counter `key` ("name value" or "name: value"); -1 if absent. */
static long long robust_counter(const char *key)
{
	char buf[4096], *line, *save;
	long long val = -1;

	if (gpid_read_file("/proc/gpid/robust", buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];
		long long v;

		if (sscanf(line, "%127[^: ]%*[: ]%lld", name, &v) == 2 && !strcmp(name, key))
			val = v;
	}
	return val;
}

/*
 * Waits (up to 2 s) until every fallback walk queued so far has run: the exit hook hands what it
 * cannot finish with interrupts off to process context. Returns whether they all ran.
 */
static int fallbacks_settle(void)
{
	for (int i = 0; i < 200; i++) {
		if (robust_counter("fallbacks_pending") == 0 &&
		    robust_counter("fallbacks") == robust_counter("fallbacks_queued"))
			return 1;
		usleep(10000);
	}
	return 0;
}

/*
 * The choreography every death test shares: start the owner and wait until it holds; start
 * the waiter and wait until it sleeps on `w` (FUTEX_WAITERS); note the time and kill the owner
 * (pid `kill_owner`) or tell it to die (s->go); reap both. Returns the waiter's exit code.
 */
static int owner_then_waiter(struct __test_metadata *_metadata, struct shm *s,
			     int (*owner)(void *), int owner_ns, int (*waiter)(void *),
			     int waiter_ns, void *arg, void *w, int kill_owner)
{
	pid_t otarget, wtarget, oreap, wreap;
	int wcode, ocode;

	oreap = spawn(owner_ns, owner, arg, &otarget);
	EXPECT_LT(0, oreap);
	EXPECT_TRUE(wait_flag(&s->ready, 5000)) TH_LOG("owner not ready");
	wreap = spawn(waiter_ns, waiter, arg, &wtarget);
	EXPECT_LT(0, wreap);
	EXPECT_TRUE(wait_flag(&s->waiting, 5000)) TH_LOG("waiter not started");
	EXPECT_TRUE(wait_word_bits(w, FUTEX_WAITERS, 3000)) TH_LOG("waiter never slept");
	atomic_store(&s->death_ns, now_ns());
	if (kill_owner)
		kill(otarget, SIGKILL);
	else
		atomic_store(&s->go, 1);
	wcode = gpid_reap_timeout(wreap, 10000);
	kill(otarget, SIGKILL);
	ocode = gpid_reap_timeout(oreap, 5000);
	if (wcode)
		TH_LOG("waiter exit %d, lock %d, owner exit %d, word %#x", wcode, s->lock, ocode,
		       word(w));
	return wcode;
}

/*
 * One owner death: the owner (placed by `rel`) locks n error-checking mutexes, the waiter
 * checks it is not taken for the owner, blocks, and must get EOWNERDEAD for every mutex once
 * the owner dies `how`, within RECOVERY_BOUND_NS.
 */
static void run_death(struct __test_metadata *_metadata, struct shm *s, enum rel rel,
		      enum death how, int n)
{
	struct party a = { .s = s, .how = how, .n = n };
	int owner_ns = how == D_NSKILL ? 2 : rel == PARENT || rel == SIBLING;
	int waiter_ns = rel == CHILD || rel == SIBLING;
	int by_kill = how == D_KILL || how == D_NSKILL || how == D_PENDING_LOCK ||
		      how == D_PENDING_UNLOCK;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++)
		ASSERT_EQ(0, gpid_mutex_init(&s->m[i], GPID_MUTEX_ERRORCHECK));
	EXPECT_EQ(0, owner_then_waiter(_metadata, s, owner_main, owner_ns, waiter_main, waiter_ns,
				       &a, &s->m[0], by_kill)) TH_LOG("%s", rel_name[rel]);
	EXPECT_EQ(EBUSY, s->trylock) TH_LOG("%s", rel_name[rel]);
	EXPECT_EQ(EPERM, s->unlock_other) TH_LOG("%s", rel_name[rel]);
	EXPECT_EQ(EPERM, s->consistent_other) TH_LOG("%s", rel_name[rel]);
	EXPECT_EQ(EOWNERDEAD, s->lock) TH_LOG("%s", rel_name[rel]);
	EXPECT_LT(s->latency_ns, RECOVERY_BOUND_NS) TH_LOG("%s", rel_name[rel]);
	EXPECT_EQ(0, s->others_bad) TH_LOG("%s", rel_name[rel]);
	EXPECT_EQ(0, s->relock) TH_LOG("%s", rel_name[rel]);
	TH_LOG("%s: recovered in %lld us", rel_name[rel], s->latency_ns / 1000);
}

FIXTURE(robust) {
	struct shm *s;
};

FIXTURE_SETUP(robust)
{
	if (!robust_feature())
		SKIP(return, "gpid has no robust_futex feature");
	self->s = shared(sizeof(struct shm));
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(robust)
{
}

/* ---- the stock flaw ------------------------------------------------------------------- */

/* Locks two mutexes, glibc's pm[] or (s->use_gpid) gpid's m[], and waits to be killed. */
static int hold_two(void *p)
{
	struct shm *s = p;
	int r = s->use_gpid ? gpid_mutex_lock(&s->m[0]) || gpid_mutex_lock(&s->m[1])
			    : pthread_mutex_lock(&s->pm[0]) || pthread_mutex_lock(&s->pm[1]);

	if (r)
		return 10;
	atomic_store(&s->ready, 1);
	for (;;)
		pause();
}

static int stock_other(void *p)
{
	struct shm *s = p;

	s->trylock = pthread_mutex_trylock(&s->pm[0]);
	s->trylock_rec = pthread_mutex_trylock(&s->pm[1]);
	return 0;
}

static void robust_pthread_init(pthread_mutex_t *m, int type)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, type);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

/*
 * The kernel's documented flaw (kernel/futex/core.c, handle_futex_death(): owners are TIDs
 * compared in one namespace): a glibc robust mutex shared by two PID-1 processes of sibling
 * namespaces has two owners. This asserts the WRONG behaviour, which gpid does not change for
 * glibc's own mutexes (their words hold TIDs), and which gpid's mutex fixes (next tests).
 */
TEST(stock_glibc_robust_mutex_confused_across_namespaces)
{
	struct shm *s = shared(sizeof(*s));
	pid_t a, b, ta, tb;

	ASSERT_NE(NULL, s);
	robust_pthread_init(&s->pm[0], PTHREAD_MUTEX_ERRORCHECK);
	robust_pthread_init(&s->pm[1], PTHREAD_MUTEX_RECURSIVE);
	a = spawn(1, hold_two, s, &ta);
	ASSERT_TRUE(wait_flag(&s->ready, 5000));
	b = spawn(1, stock_other, s, &tb);
	ASSERT_EQ(0, gpid_reap_timeout(b, 5000));
	/* B is PID 1 like A, so the word's owner "is" B. */
	EXPECT_EQ(EDEADLK, s->trylock) TH_LOG("flaw no longer reproduces: %d", s->trylock);
	EXPECT_EQ(0, s->trylock_rec) TH_LOG("flaw no longer reproduces: %d", s->trylock_rec);
	kill(ta, SIGKILL);
	gpid_reap_timeout(a, 5000);
}

/* ---- gpid's mutex, the same setup ------------------------------------------------------ */

static int gpid_other(void *p)
{
	struct shm *s = p;

	s->trylock_rec = gpid_mutex_trylock(&s->m[1]);
	if (!check_then_wait(s))
		return 1;
	if (atomic_load(&s->go)) {
		/* Give up without consistent(): unrecoverable for everyone. */
		if (gpid_mutex_unlock(&s->m[0]))
			return 2;
		s->relock = gpid_mutex_lock(&s->m[0]);
		return 0;
	}
	if (gpid_mutex_consistent(&s->m[0]) || gpid_mutex_unlock(&s->m[0]))
		return 3;
	s->relock = gpid_mutex_lock(&s->m[0]);
	if (gpid_mutex_unlock(&s->m[0]))
		return 4;
	/* The recursive one was held too. */
	if (gpid_mutex_lock(&s->m[1]) != EOWNERDEAD || gpid_mutex_consistent(&s->m[1]) ||
	    gpid_mutex_lock(&s->m[1]) || gpid_mutex_unlock(&s->m[1]) ||
	    gpid_mutex_unlock(&s->m[1]))
		return 5;
	return 0;
}

static void sibling_round(struct __test_metadata *_metadata, struct shm *s, int give_up)
{
	memset(s, 0, sizeof(*s));
	ASSERT_EQ(0, gpid_mutex_init(&s->m[0], GPID_MUTEX_ERRORCHECK));
	ASSERT_EQ(0, gpid_mutex_init(&s->m[1], GPID_MUTEX_RECURSIVE));
	s->use_gpid = 1;
	atomic_store(&s->go, give_up);
	EXPECT_EQ(0, owner_then_waiter(_metadata, s, hold_two, 1, gpid_other, 1, s, &s->m[0], 1));
	/* Both are PID 1, yet B is not the owner: full gpids are compared. */
	EXPECT_EQ(EBUSY, s->trylock);
	EXPECT_EQ(EBUSY, s->trylock_rec);
	EXPECT_EQ(EPERM, s->unlock_other);
	EXPECT_EQ(EPERM, s->consistent_other);
	EXPECT_EQ(EOWNERDEAD, s->lock);
	EXPECT_LT(s->latency_ns, RECOVERY_BOUND_NS);
	EXPECT_EQ(give_up ? ENOTRECOVERABLE : 0, s->relock);
	TH_LOG("B got EOWNERDEAD %lld us after A was killed", s->latency_ns / 1000);
}

TEST_F_TIMEOUT(robust, gpid_mutex_sibling_pid1_owners, 60)
{
	sibling_round(_metadata, self->s, 0);
}

TEST_F_TIMEOUT(robust, gpid_mutex_unrecoverable_without_consistent, 60)
{
	sibling_round(_metadata, self->s, 1);
	/* Unrecoverable for everyone, T too, until re-initialized. */
	EXPECT_EQ(ENOTRECOVERABLE, gpid_mutex_trylock(&self->s->m[0]));
	EXPECT_EQ(0, gpid_mutex_init(&self->s->m[0], GPID_MUTEX_ERRORCHECK));
	EXPECT_EQ(0, gpid_mutex_trylock(&self->s->m[0]));
	EXPECT_EQ(0, gpid_mutex_unlock(&self->s->m[0]));
}

/* ---- every death, every placement ------------------------------------------------------ */

static void all_placements(struct __test_metadata *_metadata, struct shm *s, enum death how,
			   int n)
{
	for (enum rel r = SAME; r <= SIBLING; r++) {
		if (how == D_NSKILL && (r == SAME || r == CHILD))
			continue;	/* the waiter would die with the namespace */
		run_death(_metadata, s, r, how, n);
	}
}

TEST_F_TIMEOUT(robust, owner_sigkilled, 120)
{
	all_placements(_metadata, self->s, D_KILL, 2);
}

TEST_F_TIMEOUT(robust, owner_exits, 120)
{
	all_placements(_metadata, self->s, D_EXIT, 2);
}

TEST_F_TIMEOUT(robust, owner_execs, 120)
{
	all_placements(_metadata, self->s, D_EXEC, 2);
}

TEST_F_TIMEOUT(robust, owner_is_a_dying_non_main_thread, 120)
{
	all_placements(_metadata, self->s, D_THREAD, 2);
}

TEST_F_TIMEOUT(robust, owner_dies_with_its_namespace, 120)
{
	all_placements(_metadata, self->s, D_NSKILL, 2);
}

TEST_F_TIMEOUT(robust, owner_holds_64_mutexes, 120)
{
	all_placements(_metadata, self->s, D_KILL, NMAX);
}

static void *lock_three_and_return(void *p)
{
	struct shm *s = p;

	for (int i = 0; i < 3; i++)
		if (gpid_mutex_lock(&s->m[i]))
			return (void *)1;
	return NULL;
}

/*
 * A thread that returns holding gpid mutexes: the library marks them FUTEX_OWNER_DIED in user
 * space at the exit, as musl's pthread_exit does, and ends the registration, so that the exit
 * hook has no walk to do (the exit-64 cost); the next locker gets EOWNERDEAD at once.
 */
TEST_F(robust, voluntary_thread_exit_releases_in_user_space)
{
	struct shm *s = self->s;
	long long walks, registered;
	pthread_t t;
	void *ret;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, gpid_mutex_init(&s->m[i], GPID_MUTEX_ERRORCHECK));
	walks = robust_counter("walks");
	registered = robust_counter("registered");
	ASSERT_LE(0, walks);
	ASSERT_EQ(0, pthread_create(&t, NULL, lock_three_and_return, s));
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(NULL, ret);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(FUTEX_OWNER_DIED, word(&s->m[i])) TH_LOG("mutex %d", i);
	}
	EXPECT_EQ(walks, robust_counter("walks")) TH_LOG("the exit hook walked the list again");
	EXPECT_EQ(registered, robust_counter("registered"));
	EXPECT_EQ(EOWNERDEAD, gpid_mutex_lock(&s->m[0]));
	EXPECT_EQ(0, gpid_mutex_consistent(&s->m[0]));
	EXPECT_EQ(0, gpid_mutex_unlock(&s->m[0]));
}

TEST_F_TIMEOUT(robust, death_between_pending_and_linked, 60)
{
	run_death(_metadata, self->s, SIBLING, D_PENDING_LOCK, 1);
	run_death(_metadata, self->s, PARENT, D_PENDING_LOCK, 1);
}

TEST_F_TIMEOUT(robust, death_during_unlock, 60)
{
	run_death(_metadata, self->s, SIBLING, D_PENDING_UNLOCK, 1);
	run_death(_metadata, self->s, CHILD, D_PENDING_UNLOCK, 1);
}

/* ---- page not present at exit: the fallback ---------------------------------------------- */

TEST_F_TIMEOUT(robust, page_not_present_at_exit_recovers_via_fallback, 60)
{
	int fd = memfd_create("gpid-robust", MFD_CLOEXEC);
	long long before, after;
	struct shm *s;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4096));
	s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, s);
	ASSERT_LE(sizeof(*s), 4096);
	before = robust_counter("fallbacks");
	run_death(_metadata, s, SIBLING, D_PAGE_GONE, 1);
	after = robust_counter("fallbacks");
	ASSERT_LE(0, before) TH_LOG("/proc/gpid/robust has no fallback counter");
	EXPECT_LT(before, after) TH_LOG("fallback counter %lld -> %lld", before, after);
	munmap(s, 4096);
	close(fd);
}

#define DEATHS_AT_ONCE 48	/* more than the 32 fallback slots gpid once had */
/* Mutexes this far apart: a fallback faulting one page in maps no other (fault-around). */
#define CROWD_STRIDE (128 * 1024)

struct crowd {
	gpid_mutex_t *m;	/* DEATHS_AT_ONCE mutexes, CROWD_STRIDE apart, in a shared memfd */
	atomic_int *held;
};

static void *hold_one(void *p)
{
	struct crowd *c = p;
	int i = atomic_fetch_add(c->held + 1, 1);
	gpid_mutex_t *m = (gpid_mutex_t *)((char *)c->m + (size_t)i * CROWD_STRIDE);

	if (gpid_mutex_lock(m) == 0)
		atomic_fetch_add(c->held, 1);
	for (;;)
		pause();
	return NULL;
}

/*
 * DEATHS_AT_ONCE threads of one process each hold a gpid mutex on a page the process then
 * drops from its page tables (MADV_DONTNEED; the shmem page stays), and the process exits
 * at once: every death needs the fallback, all at the same time. Each registration owns its
 * fallback place, so none is lost: every word ends FUTEX_OWNER_DIED, and fallbacks_lost
 * does not move.
 */
TEST_F_TIMEOUT(robust, deaths_at_once_on_dropped_pages_all_recover, 60)
{
	size_t len = (size_t)DEATHS_AT_ONCE * CROWD_STRIDE;
	int fd = memfd_create("gpid-crowd", MFD_CLOEXEC);
	long long lost = robust_counter("fallbacks_lost");
	long long queued = robust_counter("fallbacks_queued");
	atomic_int *held = shared(4096);
	struct crowd c;
	char *pages;
	pid_t pid;
	int code;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, lost);
	ASSERT_NE(NULL, held);
	ASSERT_EQ(0, ftruncate(fd, len));
	pages = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, pages);
	for (int i = 0; i < DEATHS_AT_ONCE; i++)
		ASSERT_EQ(0, gpid_mutex_init((gpid_mutex_t *)(pages + (size_t)i * CROWD_STRIDE),
					     GPID_MUTEX_ERRORCHECK));
	c = (struct crowd){ .m = (gpid_mutex_t *)pages, .held = held };
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pthread_t t;

		for (int i = 0; i < DEATHS_AT_ONCE; i++)
			if (pthread_create(&t, NULL, hold_one, &c))
				_exit(10);
		for (int i = 0; i < 5000 && atomic_load(held) < DEATHS_AT_ONCE; i++)
			usleep(1000);
		if (atomic_load(held) < DEATHS_AT_ONCE)
			_exit(11);
		madvise(pages, len, MADV_DONTNEED);
		_exit(0);	/* exit_group: every thread dies now */
	}
	code = gpid_reap(pid);
	ASSERT_EQ(0, code) TH_LOG("the owner process failed (%d), %d held", code, atomic_load(held));
	EXPECT_TRUE(fallbacks_settle());
	for (int i = 0; i < DEATHS_AT_ONCE; i++) {
		uint32_t w = word(pages + (size_t)i * CROWD_STRIDE);

		EXPECT_EQ(FUTEX_OWNER_DIED, w & ~FUTEX_WAITERS) TH_LOG("mutex %d: word %#x", i, w);
	}
	EXPECT_EQ(lost, robust_counter("fallbacks_lost"));
	EXPECT_LE(queued + DEATHS_AT_ONCE, robust_counter("fallbacks_queued"));
	munmap(pages, len);
	close(fd);
}

/* ---- hostile robust lists ------------------------------------------------------------------ */

/* A list entry laid out like a mutex: word at 0, next at 32 (futex_offset -32). */
struct entry {
	uint32_t word;
	uint32_t pad[7];
	uintptr_t next;
};

#define NENT 3000
#define CANARY 0x12345u

enum hostile { H_CIRCULAR, H_LONG, H_UNMAPPED, H_KERNEL, H_UNALIGNED, H_HUGE_OFFSET,
	       H_NEG_OFFSET, H_MIN_OFFSET, H_UNMAPPED_HEAD };

struct hostile_arg {
	struct entry *e;	/* NENT entries, shared with T */
	uint32_t *owner;	/* out: the child's owner value */
	enum hostile kind;
	void *unmapped;
};

struct robust_head {
	uintptr_t list;
	long futex_offset;
	uintptr_t pending;
};

static int hostile_child(void *p)
{
	struct hostile_arg *a = p;
	static struct robust_head h;
	uint32_t me;
	int n = 2;

	if (gpid_mutex_owner_value(&me))
		return 10;
	*a->owner = me;
	for (int i = 0; i < NENT; i++)
		a->e[i].word = i % 2 ? CANARY : me;
	h.futex_offset = -32;
	h.list = (uintptr_t)&h;
	switch (a->kind) {
	case H_CIRCULAR:
		a->e[0].next = (uintptr_t)&a->e[1].next;
		a->e[1].next = (uintptr_t)&a->e[0].next;
		h.list = (uintptr_t)&a->e[0].next;
		break;
	case H_LONG:
		for (int i = 0; i < NENT; i++) {
			a->e[i].word = me;
			a->e[i].next = i + 1 < NENT ? (uintptr_t)&a->e[i + 1].next : (uintptr_t)&h;
		}
		h.list = (uintptr_t)&a->e[0].next;
		break;
	case H_UNMAPPED:
	case H_KERNEL:
		a->e[0].next = (uintptr_t)&a->e[1].next;
		a->e[1].next = a->kind == H_KERNEL ? 0xffffffff81000000UL
						    : (uintptr_t)a->unmapped + 64;
		h.list = (uintptr_t)&a->e[0].next;
		break;
	case H_UNALIGNED:
	case H_HUGE_OFFSET:
	case H_NEG_OFFSET:
	case H_MIN_OFFSET:
		for (int i = 0; i < n; i++)
			a->e[i].next = i + 1 < n ? (uintptr_t)&a->e[i + 1].next : (uintptr_t)&h;
		h.list = (uintptr_t)&a->e[0].next;
		h.futex_offset = a->kind == H_UNALIGNED ? -31 :
				 a->kind == H_HUGE_OFFSET ? (1L << 46) :
				 a->kind == H_NEG_OFFSET ? -(1L << 40) : (long)(1UL << 63);
		break;
	case H_UNMAPPED_HEAD:
		if (syscall(SYS_set_robust_list, a->unmapped, sizeof(h)))
			return 11;
		return 0;
	}
	if (syscall(SYS_set_robust_list, &h, sizeof(h)))
		return 11;
	return 0;
}

/* Which entries must end FUTEX_OWNER_DIED; every other word must be unchanged. */
static int hostile_marked(enum hostile kind, int i)
{
	switch (kind) {
	case H_CIRCULAR:
		return i == 0;
	case H_LONG:
		return i < 2048;	/* ROBUST_LIST_LIMIT entries are handled */
	case H_UNMAPPED:
	case H_KERNEL:
		return i == 0;	/* e[1]'s word is a canary */
	default:
		return 0;
	}
}

static const char *const hostile_name[] = { "circular", "longer than ROBUST_LIST_LIMIT",
	"entry in unmapped memory", "entry at a kernel address", "unaligned words",
	"huge futex_offset", "negative futex_offset", "LONG_MIN futex_offset",
	"unmapped list head" };

TEST_F_TIMEOUT(robust, hostile_lists, 120)
{
	size_t len = NENT * sizeof(struct entry);
	struct entry *e = shared(len);
	uint32_t *owner = shared(4096);
	void *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(NULL, e);
	ASSERT_NE(NULL, owner);
	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, munmap(hole, 4096));
	for (enum hostile k = H_CIRCULAR; k <= H_UNMAPPED_HEAD; k++) {
		struct hostile_arg a = { .e = e, .owner = owner, .kind = k, .unmapped = hole };
		long long t;
		long long cut = robust_counter("cut_at_limit");
		long long budget = robust_counter("cut_at_budget");
		long long queued = robust_counter("fallbacks_queued");
		long long unaligned = robust_counter("unaligned");
		long long list_faults = robust_counter("list_faults");
		pid_t c, tc;
		int code, changed = 0, missed = 0;

		ASSERT_LE(0, cut);
		ASSERT_LE(0, unaligned);
		ASSERT_LE(0, list_faults);
		memset(e, 0, len);
		c = spawn(0, hostile_child, &a, &tc);
		ASSERT_LT(0, c);
		t = now_ns();
		code = gpid_reap_timeout(c, 5000);
		t = now_ns() - t;
		EXPECT_EQ(0, code) TH_LOG("%s: child exit %d", hostile_name[k], code);
		EXPECT_LT(t, SEC) TH_LOG("%s: death took %lld us", hostile_name[k], t / 1000);
		EXPECT_TRUE(fallbacks_settle()) TH_LOG("%s: fallback did not finish", hostile_name[k]);
		for (int i = 0; i < NENT; i++) {
			uint32_t before = k == H_LONG || i % 2 == 0 ? *owner : CANARY;
			uint32_t want = hostile_marked(k, i) ? FUTEX_OWNER_DIED : before;

			if (k == H_UNMAPPED_HEAD && i > 0)
				break;
			if (e[i].word != want) {
				if (want == before)
					changed++;
				else
					missed++;
				if (changed + missed < 4)
					TH_LOG("%s: entry %d word %#x, want %#x", hostile_name[k], i,
					       e[i].word, want);
			}
		}
		EXPECT_EQ(0, changed) TH_LOG("%s: words changed that must not", hostile_name[k]);
		EXPECT_EQ(0, missed) TH_LOG("%s: owned words not marked", hostile_name[k]);
		/* /proc/gpid/robust says what the exit-time walk ran into. */
		switch (k) {
		case H_CIRCULAR:
		case H_LONG:
			/*
			 * The hook stops at its budget (interrupts are off); the fallback, in process
			 * context, walks to the kernel's limit and marks the rest.
			 */
			EXPECT_EQ(budget + 1, robust_counter("cut_at_budget")) TH_LOG("%s", hostile_name[k]);
			EXPECT_EQ(queued + 1, robust_counter("fallbacks_queued")) TH_LOG("%s", hostile_name[k]);
			EXPECT_EQ(cut, robust_counter("cut_at_limit")) TH_LOG("%s", hostile_name[k]);
			break;
		case H_UNALIGNED:
			EXPECT_LT(unaligned, robust_counter("unaligned"));
			break;
		case H_UNMAPPED:
		case H_KERNEL:
		case H_UNMAPPED_HEAD:
			EXPECT_EQ(list_faults + 1, robust_counter("list_faults"))
				TH_LOG("%s", hostile_name[k]);
			break;
		default:
			EXPECT_EQ(cut, robust_counter("cut_at_limit")) TH_LOG("%s", hostile_name[k]);
			EXPECT_EQ(list_faults, robust_counter("list_faults")) TH_LOG("%s", hostile_name[k]);
			break;
		}
	}
}

/*
 * A list whose entries sit on a read-only page and whose words sit on a writable one, both
 * pages dropped from the page tables before the owner dies (a shared memfd keeps their
 * contents): the exit hook cannot read them without faulting, so the fallback walks the list
 * in process context. It must read the read-only entries as the kernel's own walk does (not
 * map them for writing, which fails on a read-only mapping) and mark the owned words.
 */
struct ro_arg {
	char *pages;		/* page 0: entries (read-only in the child), page 1: words */
	uint32_t *owner;
};

static int ro_list_child(void *p)
{
	struct ro_arg *a = p;
	static struct robust_head h;
	uintptr_t *next = (uintptr_t *)a->pages;
	uint32_t *words = (uint32_t *)(a->pages + 4096);
	uint32_t me;

	if (gpid_mutex_owner_value(&me))
		return 10;
	*a->owner = me;
	/* Two entries: next fields 64 bytes apart on page 0, each word 4096 bytes further on. */
	next[0] = (uintptr_t)&next[8];
	next[8] = (uintptr_t)&h;
	words[0] = me;
	words[8 * 2] = me;	/* &next[8] + 4096 == &words[16] */
	h.futex_offset = 4096;
	h.list = (uintptr_t)&next[0];
	if (mprotect(a->pages, 4096, PROT_READ))
		return 12;
	if (syscall(SYS_set_robust_list, &h, sizeof(h)))
		return 11;
	madvise(a->pages, 8192, MADV_DONTNEED);
	return 0;
}

TEST_F_TIMEOUT(robust, fallback_reads_read_only_list_pages, 60)
{
	int fd = memfd_create("gpid-ro-list", MFD_CLOEXEC);
	uint32_t *owner = shared(4096);
	struct ro_arg a = { .owner = owner };
	uint32_t *words;
	long long fallbacks = robust_counter("fallbacks");
	pid_t c, tc;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, owner);
	ASSERT_EQ(0, ftruncate(fd, 8192));
	a.pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, a.pages);
	words = (uint32_t *)(a.pages + 4096);
	c = spawn(0, ro_list_child, &a, &tc);
	ASSERT_LT(0, c);
	ASSERT_EQ(0, gpid_reap_timeout(c, 5000));
	/* The fallback runs in process context shortly after the death. */
	for (int i = 0; i < 200 && !(words[16] & FUTEX_OWNER_DIED); i++)
		usleep(10000);
	EXPECT_LT(fallbacks, robust_counter("fallbacks")) TH_LOG("the fallback did not run");
	EXPECT_EQ(FUTEX_OWNER_DIED, words[0]) TH_LOG("first word %#x, owner %#x", words[0], *owner);
	EXPECT_EQ(FUTEX_OWNER_DIED, words[16])
		TH_LOG("word behind the read-only entry %#x, owner %#x", words[16], *owner);
	munmap(a.pages, 8192);
	close(fd);
}

/* ---- plain glibc robust mutexes are unaffected ---------------------------------------------- */

static int pthread_waiter(void *p)
{
	struct shm *s = p;
	struct timespec abs = realtime_in(5 * SEC);

	atomic_store(&s->waiting, 1);
	s->lock = pthread_mutex_timedlock(&s->pm[0], &abs);
	s->latency_ns = now_ns() - atomic_load(&s->death_ns);
	if (s->lock == EOWNERDEAD) {
		pthread_mutex_consistent(&s->pm[0]);
		pthread_mutex_unlock(&s->pm[0]);
	}
	return 0;
}

TEST(glibc_robust_mutex_unchanged_with_gpid_loaded)
{
	struct shm *s = shared(sizeof(*s));

	ASSERT_NE(NULL, s);
	/* Same namespace, then the owner as PID 1 of a child namespace (TIDs do not collide). */
	for (int owner_ns = 0; owner_ns <= 1; owner_ns++) {
		memset(s, 0, sizeof(*s));
		robust_pthread_init(&s->pm[0], PTHREAD_MUTEX_ERRORCHECK);
		robust_pthread_init(&s->pm[1], PTHREAD_MUTEX_ERRORCHECK);
		EXPECT_EQ(0, owner_then_waiter(_metadata, s, hold_two, owner_ns, pthread_waiter, 0,
					       s, &s->pm[0], 1));
		EXPECT_EQ(EOWNERDEAD, s->lock) TH_LOG("owner namespace %s", owner_ns ? "new" : "same");
		EXPECT_LT(s->latency_ns, RECOVERY_BOUND_NS);
	}
}

/* ---- unlock on Linux 7.x: the kernel frees the word and clears list_op_pending ---------- */

#define TRY_UNLOCK "__vdso_futex_robust_list64_try_unlock"

/*
 * Whether the running kernel's vDSO exports the try-unlock (CONFIG_FUTEX_ROBUST_UNLOCK, which
 * Debian's 7.3 has and the debug kernel, without CONFIG_RSEQ, has not), found without the
 * library's ELF parser: the NUL-terminated name among the [vdso] mapping's bytes.
 */
static int vdso_has_try_unlock(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			found = memmem((void *)lo, hi - lo, TRY_UNLOCK, sizeof(TRY_UNLOCK)) != NULL;
	}
	fclose(f);
	return found;
}

/* This thread's robust-list head's list_op_pending (1: no head, never a valid pointer). */
static uintptr_t pending_now(void)
{
	void *head;

	if (gpid_mutex__robust_head(&head))
		return 1;
	return __atomic_load_n((uintptr_t *)head + 2, __ATOMIC_RELAXED);
}

/*
 * Run as PID 1 of its own namespace, so that its TID (1) is not its owner value (a gpid):
 * locks m[0], waits for s->go if s->contended (a waiter then sleeps on the word), unlocks,
 * and reports how the word was freed and what was left in the word and list_op_pending.
 */
static int unlock_reporter(void *p)
{
	struct shm *s = p;

	if (gpid_mutex_lock(&s->m[0]) || gpid_mutex_owner_value(&s->owner_value))
		return 10;
	s->owner_tid = syscall(SYS_gettid);
	atomic_store(&s->ready, 1);
	if (s->contended)
		wait_go(s);
	if (gpid_mutex_unlock(&s->m[0]))
		return 11;
	s->unlock_path = gpid_mutex__last_unlock_path();
	s->word_after = word(&s->m[0]);
	s->pending_after = pending_now();
	return 0;
}

static int unlock_waiter(void *p)
{
	struct shm *s = p;
	struct timespec abs = realtime_in(5 * SEC);

	atomic_store(&s->waiting, 1);
	s->lock = gpid_mutex_timedlock(&s->m[0], &abs);
	if (s->lock == 0 && gpid_mutex_unlock(&s->m[0]))
		return 1;
	return 0;
}

/*
 * Where the kernel has robust-unlock support (Linux 7.x, CONFIG_FUTEX_ROBUST_UNLOCK) the
 * library uses it with gpid owner values: uncontended, the vDSO's try-unlock frees the word
 * and clears list_op_pending in one step; contended, FUTEX_WAKE|FUTEX_ROBUST_UNLOCK does
 * (the kernel stores 0 without comparing the owner with the caller's TID). Elsewhere the
 * user-space release. Either way the word ends free and list_op_pending clear.
 */
TEST_F_TIMEOUT(robust, unlock_uses_the_kernels_robust_unlock, 60)
{
	struct shm *s = self->s;
	int has = vdso_has_try_unlock();
	struct utsname u;
	pid_t o, w, t;

	ASSERT_LE(0, has) TH_LOG("no [vdso] in /proc/self/maps");
	ASSERT_EQ(0, uname(&u));
	TH_LOG("%s: the vDSO %s " TRY_UNLOCK, u.release, has ? "exports" : "lacks");
	if (strstr(u.release, "+deb"))
		EXPECT_TRUE(has) TH_LOG("Debian's kernel has CONFIG_FUTEX_ROBUST_UNLOCK=y");
	EXPECT_EQ(has, gpid_mutex_vdso_unlock());

	memset(s, 0, sizeof(*s));
	o = spawn(1, unlock_reporter, s, &t);
	ASSERT_LT(0, o);
	EXPECT_EQ(0, gpid_reap_timeout(o, 5000));
	EXPECT_EQ(1, s->owner_tid);
	EXPECT_NE(1, s->owner_value);
	EXPECT_EQ(has ? GPID_MUTEX__UNLOCK_VDSO : GPID_MUTEX__UNLOCK_LEGACY, s->unlock_path);
	EXPECT_EQ(0, s->word_after);
	EXPECT_EQ(0, s->pending_after);

	memset(s, 0, sizeof(*s));
	s->contended = 1;
	o = spawn(1, unlock_reporter, s, &t);
	ASSERT_LT(0, o);
	ASSERT_TRUE(wait_flag(&s->ready, 5000)) TH_LOG("owner not ready");
	w = spawn(1, unlock_waiter, s, &t);
	ASSERT_LT(0, w);
	EXPECT_TRUE(wait_flag(&s->waiting, 5000)) TH_LOG("waiter not started");
	EXPECT_TRUE(wait_word_bits(&s->m[0], FUTEX_WAITERS, 3000)) TH_LOG("waiter never slept");
	atomic_store(&s->go, 1);
	EXPECT_EQ(0, gpid_reap_timeout(o, 5000));
	EXPECT_EQ(0, gpid_reap_timeout(w, 10000));
	EXPECT_EQ(has ? GPID_MUTEX__UNLOCK_ROBUST_WAKE : GPID_MUTEX__UNLOCK_LEGACY, s->unlock_path);
	EXPECT_EQ(0, s->pending_after);
	EXPECT_EQ(0, s->lock);
	EXPECT_EQ(0, word(&s->m[0]));
}

/* ---- module unload ----------------------------------------------------------------------- */

static int user_holds_device(void *p)
{
	struct shm *s = p;

	if (gpid_mutex_lock(&s->m[0]))
		return 10;
	atomic_store(&s->ready, 1);
	wait_go(s);
	/* Still works after the refused unload. */
	if (gpid_mutex_unlock(&s->m[0]) || gpid_mutex_lock(&s->m[0]) || gpid_mutex_unlock(&s->m[0]))
		return 11;
	return 0;
}

/* A user that let go of the device (gpid_mutex__release_device), so it does not pin the module. */
static int unpinned_owner(void *p)
{
	struct shm *s = p;

	if (gpid_mutex_lock(&s->m[0]) || gpid_mutex_owner_value(&s->owner_value))
		return 10;
	gpid_mutex__release_device();
	atomic_store(&s->ready, 1);
	wait_go(s);
	return 0;	/* dies holding m[0] */
}

/*
 * Documented behaviour: a process that uses the library keeps /dev/gpid open, which pins the
 * module (delete_module: EWOULDBLOCK), so its registrations cannot vanish under it. A thread
 * that registered and then closed the device loses its registration when the module is unloaded:
 * after a reload its words are no longer recognised at its death (nothing is marked, no
 * crash); it must register again.
 */
TEST_F_TIMEOUT(robust, module_unload_with_live_users, 60)
{
	struct shm *s = self->s;
	pid_t c, tc;

	memset(s, 0, sizeof(*s));
	c = spawn(0, user_holds_device, s, &tc);
	ASSERT_TRUE(wait_flag(&s->ready, 5000));
	EXPECT_EQ(-EWOULDBLOCK, gpid_unload_module());
	atomic_store(&s->go, 1);
	EXPECT_EQ(0, gpid_reap_timeout(c, 5000));

	memset(s, 0, sizeof(*s));
	c = spawn(0, unpinned_owner, s, &tc);
	ASSERT_TRUE(wait_flag(&s->ready, 5000));
	ASSERT_EQ(0, gpid_unload_module());
	ASSERT_EQ(0, gpid_load_module());
	for (int i = 0; i < 200 && access(GPID_DEVICE_PATH, F_OK); i++)
		usleep(10000);
	atomic_store(&s->go, 1);
	EXPECT_EQ(0, gpid_reap_timeout(c, 5000));
	/* The registration was dropped with the module: the word is left as it was. */
	EXPECT_EQ(s->owner_value, word(&s->m[0]));
	/* Registering again works. */
	memset(s, 0, sizeof(*s));
	run_death(_metadata, s, SIBLING, D_KILL, 1);
}

TEST_HARNESS_MAIN
