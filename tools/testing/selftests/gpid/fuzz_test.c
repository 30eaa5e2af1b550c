// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded-time stress and fuzz of gpid, run in the guest as the last program of the suite.
 *
 * Workers, each a process with its own seeded PRNG, run side by side for GPID_FUZZ_SECONDS
 * (default 20; run_tests passes 60 on the debug kernel):
 *   ioctl-init   two threads in the initial PID namespace (a new IPC namespace) calling every
 *                ioctl with random and hostile arguments: real commands with random field
 *                values (huge, negative, boundary), argument pointers NULL, low, kernel,
 *                non-canonical, unmapped, PROT_NONE, read-only, straddling a page boundary
 *                into an unmapped or read-only page, a page another thread keeps flipping;
 *                the real command numbers with other sizes/directions and random numbers
 *                near them. Actions that could hurt the rest of the guest are kept inside the
 *                worker (GPID_IOC_NS_SET only with invalid arguments, signals only to itself
 *                and its own children, signal 0 elsewhere).
 *   ioctl-ns     the same as PID 1 of a new PID namespace (re-created every few seconds),
 *                unrestricted there: NS_SET binds and sets policies, signals hit its children.
 *   robust       owner processes (in the initial namespace, PID 1 or PID 2 of a new one) whose
 *                threads register (GPID_IOC_ROBUST_REGISTER) and hold gpid-owned futex words
 *                on hostile robust lists (circular, 4000 entries, entries, words, the head and
 *                list_op_pending on read-only, unmapped, PROT_NONE and MADV_DONTNEED'd pages,
 *                the PI bit, misaligned and huge futex_offset), with a waiter in another
 *                process, and die by pthread_exit, exit_group, SIGKILL from another process,
 *                execve, or their namespace's init being killed.
 *   pidns        PID-namespace churn: chains of 1-3 nested namespaces, privileged or as uid
 *                65534 in its own user+PID namespaces (unshare(CLONE_NEWUSER|CLONE_NEWPID),
 *                fork), whose leaf calls SELF / NS_INFO / ENCODE / DECODE / LEVELS / NS_SET,
 *                is checked from the initial namespace too, and dies.
 *   unload       holds /dev/gpid open and tries delete_module("gpid", O_NONBLOCK), which must
 *                fail with EWOULDBLOCK (== EAGAIN) or EBUSY; should it ever succeed, the
 *                module is loaded again from GPID_MODULE_PATH (as module_test does). Also
 *                reads every /proc/gpid file and opens and closes /dev/gpid.
 *
 * Oracles while running (each miss is printed with the worker, seed, generation and
 * iteration, and fails that worker's test): errnos outside what the header documents; an
 * unknown command not ENOTTY; an unreadable argument not EFAULT; a destination reaching into a
 * read-only page not EFAULT with every byte as it was, and no registration left by a failed
 * GPID_IOC_ROBUST_REGISTER; DECODE_BATCH's output array written partly; SELF/ENCODE/DECODE
 * answers inconsistent; a registered owner value other than the thread's canonical gpid; a
 * dying owner's well-formed first word not FUTEX_OWNER_DIED (within a bound) or a canary word
 * changed; a PID-namespace leaf's identities inconsistent across levels; any process that does
 * not finish in time.
 * At the end, once every child is reaped: the kernel log from where it was at the start holds
 * no BUG:/WARNING:/KASAN/Oops/lockdep/possible circular locking/INFO: task/kmemleak line (and,
 * where kmemleak exists, one scan at the end finds nothing); /sys/module/gpid/refcnt returns
 * to its value at the start within 5 s; /proc/gpid/robust's fallbacks_lost and any other
 * counter named *_lost or *_dropped did not grow (every registration owns its fallback
 * place, so a death's leftover work is never dropped); the module is loaded.
 *
 * Bounded: every child has a watchdog (alarm, with a handler so that a namespace's init obeys
 * it too), the parent kills whatever is left at the deadline plus a grace period, and every
 * wait is bounded.
 *
 * Environment: GPID_FUZZ_SECONDS (default 20), GPID_FUZZ_SEED (default: from the time;
 * printed either way), GPID_FUZZ_ONLY (comma-separated worker names: run only those, the
 * others' tests are skipped). Each worker thread draws from its own PRNG, seeded from the seed,
 * the worker, the thread and the generation (a new process every 4 s for the ioctl workers)
 * and never from results, so the same seed replays each ioctl thread's sequence of commands
 * and arguments (addresses and PIDs aside), and the robust and pidns workers' plans (list
 * shapes, page kinds, deaths); GPID_FUZZ_ONLY=NAME replays one worker without the others'
 * interference. A miss names seed, worker, thread, generation and iteration.
 * `-l` lists the tests and exits with KSFT_SKIP (4), as the harness does.
 *
 * run_tests sets GPID_FUZZ_SECONDS=60 on the debug kernel, which it tells by /proc/lockdep
 * (CONFIG_LOCKDEP) or /sys/kernel/debug/kmemleak (CONFIG_DEBUG_KMEMLEAK; scripts/vm mounts
 * debugfs): both exist only on slow debug builds, and neither needs /proc/config.gz (which
 * neither kernel here has) or a naming convention in `uname -r` (the debug build's is a bare
 * 7.3.4).
 */
#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/un.h>
#include "gpid_test.h"
#include "kselftest.h"

#define PAGE		4096UL
#define SEC_NS		1000000000LL
#define MAX_REPORTS	60	/* printed misses, all workers together */
#define PER_KIND	3	/* printed misses of one kind (one message format) */
#define NKINDS		64

/* ------------------------------------------------------------------------------------------
 * Workers, tests, counters
 */

enum wkind { W_IOCTL_INIT, W_IOCTL_NS, W_ROBUST, W_PIDNS, W_UNLOAD, NWORKERS };

static const char *const wname[NWORKERS] = {
	"ioctl-init", "ioctl-ns", "robust", "pidns", "unload",
};

/* The KTAP test each worker's misses fail. */
static const char *const wtest[NWORKERS] = {
	"ioctl_fuzz_initial_namespace", "ioctl_fuzz_child_namespace", "robust_hostile_deaths",
	"pidns_churn", "unload_refused_while_open",
};

enum { T_WORKERS_FINISHED = NWORKERS, T_KERNEL_LOG, T_REFCNT, T_ROBUST_DROPS, T_LOADED, NTESTS };

static const char *const final_test[NTESTS - NWORKERS] = {
	"workers_finished_in_time", "kernel_log_clean", "module_refcnt_restored",
	"robust_drop_counters_unchanged", "module_loaded_at_end",
};

#define NCOUNTERS 16

/* Counter names per worker (NULL: unused). */
static const char *const cname[NWORKERS][NCOUNTERS] = {
	[W_IOCTL_INIT] = { "iterations", "calls", "ok", "efault", "einval", "enotty",
			   "other_errno", "hostile_ptr", "ro_checks", "registers", "generations" },
	[W_IOCTL_NS] = { "iterations", "calls", "ok", "efault", "einval", "enotty",
			 "other_errno", "hostile_ptr", "ro_checks", "registers", "generations" },
	[W_ROBUST] = { "iterations", "owner_threads", "registered", "entries", "deaths_exit",
		       "deaths_exit_group", "deaths_sigkill", "deaths_exec", "deaths_nskill",
		       "sentinels_checked", "sentinels_marked", "canaries_checked",
		       "waiter_woken", "waiter_slices", "fallback_waits" },
	[W_PIDNS] = { "iterations", "unprivileged", "privileged", "userns_refused", "leaf_checks",
		      "cross_checks", "dead_ns_checks", "max_depth" },
	[W_UNLOAD] = { "iterations", "delete_module_busy", "delete_module_succeeded", "reloads",
		       "proc_reads", "opens" },
};

/* Indexes shared by both ioctl workers. */
enum { C_ITER, C_CALLS, C_OK, C_EFAULT, C_EINVAL, C_ENOTTY, C_OTHER, C_HOSTILE, C_RO, C_REG,
       C_GEN };

struct wstat {
	atomic_ulong c[NCOUNTERS];
	atomic_ulong misses;
};

struct miss_kind {
	_Atomic(const char *) fmt;	/* the same in every process: one static binary, forked */
	atomic_ulong n;
	int w;
};

struct shared {
	struct miss_kind kinds[NKINDS];
	atomic_int stop;
	atomic_int reports;
	atomic_int reloads;		/* module reloads seen (registrations were dropped) */
	long long deadline_ns;		/* CLOCK_MONOTONIC */
	unsigned long long seed;
	unsigned int pid_bits;
	struct wstat w[NWORKERS];
};

static struct shared *sh;
static int fuzz_seconds = 20;

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * SEC_NS + t.tv_nsec;
}

static bool stopping(void)
{
	return atomic_load(&sh->stop) || now_ns() >= sh->deadline_ns;
}

static void count(int w, int c, unsigned long n)
{
	atomic_fetch_add(&sh->w[w].c[c], n);
}

static void count_max(int w, int c, unsigned long v)
{
	unsigned long old = atomic_load(&sh->w[w].c[c]);

	while (old < v && !atomic_compare_exchange_weak(&sh->w[w].c[c], &old, v))
		;
}

/* One line on stdout, written at once (several processes share the pipe). */
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(1, buf, n) < 0)
		return;
}

/* Where a worker is, for its reports: enough to replay it (seed, generation, iteration). */
struct where {
	int w;			/* worker */
	int thread;
	unsigned long gen, iter;
};

static __thread struct where here;

/* How many misses of this kind (message format) so far, this one included. */
static unsigned long miss_kind(const char *fmt)
{
	for (int i = 0; i < NKINDS; i++) {
		const char *cur = atomic_load(&sh->kinds[i].fmt);

		if (!cur && atomic_compare_exchange_strong(&sh->kinds[i].fmt, &cur, fmt))
			sh->kinds[i].w = here.w;
		if (cur == NULL || cur == fmt)
			return atomic_fetch_add(&sh->kinds[i].n, 1) + 1;
	}
	return 1;
}

/*
 * A miss: counted against the worker's test, printed (the first PER_KIND of each kind, up to
 * MAX_REPORTS in all); the parent sums them up by kind at the end.
 */
static void __attribute__((format(printf, 1, 2))) miss(const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	atomic_fetch_add(&sh->w[here.w].misses, 1);
	if (miss_kind(fmt) > PER_KIND || atomic_fetch_add(&sh->reports, 1) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("# MISS %s seed=%llu thread=%d gen=%lu iter=%lu: %s", wname[here.w], sh->seed,
	    here.thread, here.gen, here.iter, msg);
}

/* ------------------------------------------------------------------------------------------
 * PRNG: xorshift64*, seeded per worker, thread and generation through splitmix64.
 */

struct rng {
	uint64_t s;
};

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void rng_seed(struct rng *r, int w, int thread, unsigned long gen)
{
	r->s = splitmix(sh->seed ^ splitmix(((uint64_t)w << 48) ^ ((uint64_t)thread << 32) ^ gen));
	if (!r->s)
		r->s = 1;
}

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, int percent)
{
	return below(r, 100) < (uint32_t)percent;
}

/* A slot id: small ones, the class boundaries (W, W + 1, W + N), past the last, random. */
static __u32 hslot(struct rng *r)
{
	const struct gpid_layout *l = gpid_layout();
	__u32 w = l ? l->wide_slots : 64, max = l ? l->max_slot : 255;

	switch (below(r, 8)) {
	case 0: return w;
	case 1: return w + 1;
	case 2: return max;
	case 3: return max + 1;
	case 4: return 1 + below(r, max);
	default: return below(r, 300);
	}
}

/* A hostile 32-bit value: boundaries, PIDs and gpids of the caller, random. */
static uint32_t hv32(struct rng *r, uint32_t self_gpid)
{
	const struct gpid_layout *l = gpid_layout();
	uint32_t pb = sh->pid_bits;

	switch (below(r, 21)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return ~0U;
	case 3: return 0x7fffffff;
	case 4: return 0x80000000;
	case 5: return GPID_MASK;
	case 6: return GPID_MASK + 1;
	case 7: return (1U << pb) - 1;
	case 8: return 1U << pb;
	case 9: return getpid();
	case 10: return gettid();
	case 11: return self_gpid;
	case 12: return gpid_make(hslot(r), below(r, 64));
	case 13: return (uint32_t)rnd(r) & GPID_MASK;
	case 14: return below(r, 64);
	case 15: return 4194304;	/* PID_MAX_LIMIT */
	case 16: return -(int32_t)below(r, 64);
	case 17: return l ? l->narrow_start - 1 + below(r, 3) : 0;
	case 18: return l ? l->narrow_end - 1 + below(r, 3) : 0;
	case 19: return gpid_make(hslot(r), gpid_slot_max_nr(l ? l->max_slot : 0) + below(r, 2));
	default: return (uint32_t)rnd(r);
	}
}

static void fill_random(struct rng *r, void *p, size_t n)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)rnd(r);
}

/* ------------------------------------------------------------------------------------------
 * Watchdogs. A handler rather than SIG_DFL: a PID namespace's init ignores SIG_DFL signals
 * (even the kernel's own SIGALRM), and many of these processes are inits.
 */

static void watchdog_fired(int sig)
{
	static const char m[] = "# watchdog: a fuzz process overran its time; exiting\n";

	(void)sig;
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(124);
	_exit(124);
}

static void watchdog(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = watchdog_fired };

	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

/* A new child's first steps: die with the parent, bounded life. */
static void child_setup(unsigned int seconds)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	watchdog(seconds);
}

/* Reaps whatever children have finished (orphans handed to a subreaper included). */
static void reap_finished(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int gpid_open(void)
{
	return open(GPID_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

/* A worker's first steps: who it is, its PRNG, its /dev/gpid (-1 and a miss if none). */
static int worker_start(int w, struct rng *r)
{
	int fd;

	here = (struct where){ .w = w };
	rng_seed(r, w, 0, 0);
	fd = gpid_open();
	if (fd < 0)
		miss("open /dev/gpid: errno %d", errno);
	return fd;
}

/* ------------------------------------------------------------------------------------------
 * The ioctl fuzzer
 */

enum { I_VERSION, I_SELF, I_ENCODE, I_DECODE, I_BATCH, I_LEVELS, I_NS_INFO, I_NS_SET, I_PEER,
       I_PIDFD, I_REG, I_UNREG, I_MSQ, I_SIGQUEUE, I_SIGSENDER, I_VERSION_V1, NCMDS };

static const struct cmdinfo {
	const char *name;
	unsigned long cmd;
	unsigned int size;
	bool writes;		/* writes an answer into its argument struct */
} cmds[NCMDS] = {
	[I_VERSION] = { "VERSION", GPID_IOC_VERSION, sizeof(struct gpid_version), true },
	[I_SELF] = { "SELF", GPID_IOC_SELF, sizeof(struct gpid_self), true },
	[I_ENCODE] = { "ENCODE", GPID_IOC_ENCODE, sizeof(struct gpid_encode), true },
	[I_DECODE] = { "DECODE", GPID_IOC_DECODE, sizeof(struct gpid_decode), true },
	[I_BATCH] = { "DECODE_BATCH", GPID_IOC_DECODE_BATCH, sizeof(struct gpid_decode_batch),
		      false },
	[I_LEVELS] = { "LEVELS", GPID_IOC_LEVELS, sizeof(struct gpid_levels), true },
	[I_NS_INFO] = { "NS_INFO", GPID_IOC_NS_INFO, sizeof(struct gpid_ns_info), true },
	[I_NS_SET] = { "NS_SET", GPID_IOC_NS_SET, sizeof(struct gpid_ns_set), true },
	[I_PEER] = { "PEER", GPID_IOC_PEER, sizeof(struct gpid_peer), true },
	[I_PIDFD] = { "PIDFD", GPID_IOC_PIDFD, sizeof(struct gpid_pidfd), true },
	[I_REG] = { "ROBUST_REGISTER", GPID_IOC_ROBUST_REGISTER,
		    sizeof(struct gpid_robust_register), true },
	[I_UNREG] = { "ROBUST_UNREGISTER", GPID_IOC_ROBUST_UNREGISTER, 0, false },
	[I_MSQ] = { "MSQ", GPID_IOC_MSQ, sizeof(struct gpid_msq), true },
	[I_SIGQUEUE] = { "SIGQUEUE", GPID_IOC_SIGQUEUE, sizeof(struct gpid_sigqueue), false },
	[I_SIGSENDER] = { "SIGSENDER", GPID_IOC_SIGSENDER, sizeof(struct gpid_sigsender), true },
	[I_VERSION_V1] = { "VERSION_V1", GPID_IOC_VERSION_V1, sizeof(struct gpid_version_v1),
			   true },
};

/* The errnos the header documents for each command (EFAULT and ENOMEM always allowed). */
static bool errno_allowed(int ci, int e)
{
	if (e == EFAULT || e == ENOMEM)
		return true;
	switch (ci) {
	case I_VERSION:
	case I_VERSION_V1:
		return false;
	case I_SELF:
		return e == ENOSPC || e == EOVERFLOW || e == ESRCH;
	case I_ENCODE:
	case I_LEVELS:
		return e == EINVAL || e == ESRCH || e == ENOSPC || e == EOVERFLOW;
	case I_DECODE:
		return e == EINVAL || e == ESRCH || e == ENOSPC;
	case I_BATCH:
		return e == EINVAL;
	case I_NS_INFO:
		return e == EINVAL || e == ENOENT || e == ENOSPC;
	case I_NS_SET:
		return e == EINVAL || e == ESRCH || e == EPERM || e == EEXIST || e == EBUSY ||
		       e == ENOSPC;
	case I_PEER:
		return e == EINVAL || e == EBADF || e == ENOTSOCK || e == ENOSPC;
	case I_PIDFD:
		return e == EINVAL || e == EBADF || e == ESRCH || e == ENOSPC;
	case I_REG:
		return e == EINVAL || e == ENOSPC || e == EOVERFLOW || e == ESRCH;
	case I_UNREG:
		return e == ENOENT;
	case I_MSQ:
		return e == EINVAL || e == EACCES || e == ENOSPC;
	case I_SIGQUEUE:
		return e == EINVAL || e == ESRCH || e == EPERM || e == EAGAIN || e == EOVERFLOW ||
		       e == EOPNOTSUPP || e == ENOSPC;
	case I_SIGSENDER:
		return e == EINVAL || e == ENOENT;
	}
	return false;
}

/*
 * A thread's arena, 20 private pages:
 *   0-3 RW gpids arrays, 4-7 RW pids arrays, 8 RW | 9 RO (straddle into read-only),
 *   10 RW | 11 unmapped (straddle into a hole), 12 PROT_NONE, 13-14 RW (structs),
 *   15-18 RO (read-only structs and arrays), 19 PROT_NONE (guard).
 */
#define A_GPIDS		0
#define A_PIDS		4
#define A_RW_RO		8
#define A_RO_EDGE	9
#define A_RW_HOLE	10
#define A_HOLE		11
#define A_NONE		12
#define A_RW		13
#define A_RO		15
#define A_PAGES		20

enum ptr { P_OK, P_MISALIGNED, P_NULL, P_LOW, P_KERNEL, P_NONCANON, P_MINUS, P_NONE, P_HOLE,
	   P_STR_HOLE, P_RO, P_STR_RO, P_FLIP, NPTR };

static const char *const ptr_name[NPTR] = {
	"ok", "misaligned", "NULL", "low", "kernel", "non-canonical", "minus", "PROT_NONE",
	"unmapped", "straddling into unmapped", "read-only", "straddling into read-only",
	"flipping page",
};

static bool ptr_unreadable(int k)
{
	return k >= P_NULL && k <= P_STR_HOLE;
}

static bool ptr_read_only(int k)
{
	return k == P_RO || k == P_STR_RO;
}

#define NKIDS 3
#define NFDS 16
#define NMSQ 4
#define NFUZZ_THREADS 2

struct proc_state {		/* one fuzz process (a generation) */
	int w;
	bool restricted;	/* in the initial namespace: nothing that can hurt others */
	unsigned long gen;
	long long end_ns;
	int gfd;
	char *flip;		/* a page the flipper thread keeps changing */
	atomic_int quit;
	pid_t kids[NKIDS];
	__u32 kid_gpid[NKIDS];
	int fds[NFDS];
	int msq[NMSQ];
	pid_t tids[NFUZZ_THREADS];
};

struct fz {
	struct proc_state *ps;
	struct rng r;
	int t;
	char *a;		/* arena */
	struct gpid_self self;
	bool self_ok;
	int reg;		/* 1 registered, 0 not, -1 unknown */
	int reloads;
	unsigned char snap[16384];
};

static char *page(struct fz *f, int n)
{
	return f->a + n * PAGE;
}

/* Where an argument of `size` bytes goes for pointer kind k; *wlen: its writable prefix. */
static char *place(struct fz *f, int k, size_t size, size_t *wlen)
{
	struct rng *r = &f->r;
	size_t slots = (2 * PAGE - size) / 8;
	size_t edge = size > 1 ? 1 + below(r, size - 1) : 0;

	*wlen = 0;
	switch (k) {
	case P_OK:
		*wlen = size;
		return page(f, A_RW) + 8 * below(r, slots);
	case P_MISALIGNED:
		*wlen = size;
		return page(f, A_RW) + 1 + below(r, 2 * PAGE - size - 1);
	case P_NULL:
		return NULL;
	case P_LOW:
		return (char *)(uintptr_t)(8 * below(r, 8192));
	case P_KERNEL:
		return (char *)(uintptr_t)(0xffffffff81000000ULL + 8 * below(r, 1 << 20));
	case P_NONCANON:
		return (char *)(uintptr_t)(chance(r, 50) ? 0x0000800000000000ULL :
					   0xdead000000000000ULL + 8 * below(r, 4096));
	case P_MINUS:
		return (char *)(uintptr_t)(-(uint64_t)(1 + below(r, 2 * size + 1)));
	case P_NONE:
		return page(f, A_NONE) + 8 * below(r, (PAGE - size) / 8);
	case P_HOLE:
		return page(f, A_HOLE) + 8 * below(r, (PAGE - size) / 8);
	case P_STR_HOLE:
		*wlen = edge;
		return page(f, A_HOLE) - edge;
	case P_RO:
		return page(f, A_RO) + 8 * below(r, slots);
	case P_STR_RO:
		*wlen = edge;
		return page(f, A_RO_EDGE) - edge;
	case P_FLIP:
		return f->ps->flip + 8 * below(r, (PAGE - size) / 8);
	}
	return NULL;
}

/* Writes what can be written of an argument (through mprotect for read-only pages). */
static void put(struct fz *f, int k, char *dst, const void *src, size_t size, size_t wlen)
{
	if (k == P_RO || k == P_STR_RO) {
		char *p = k == P_RO ? page(f, A_RO) : page(f, A_RO_EDGE);
		size_t len = k == P_RO ? 4 * PAGE : PAGE;

		mprotect(p, len, PROT_READ | PROT_WRITE);
		memcpy(dst, src, size);
		mprotect(p, len, PROT_READ);
		return;
	}
	if (wlen)
		memcpy(dst, src, wlen);
}

static int pick_ptr(struct rng *r)
{
	/* Two thirds well placed, so that the commands' own checks get exercised. */
	if (chance(r, 60))
		return chance(r, 90) ? P_OK : P_MISALIGNED;
	return P_NULL + below(r, NPTR - P_NULL);
}

static __s32 hpid(struct fz *f)
{
	struct rng *r = &f->r;
	struct proc_state *ps = f->ps;

	switch (below(r, 12)) {
	case 0: return 0;
	case 1: return getpid();
	case 2: return gettid();
	case 3: return ps->kids[below(r, NKIDS)];
	case 4: return 1;
	case 5: return -1;
	case 6: return INT32_MIN;
	case 7: return INT32_MAX;
	case 8: return below(r, 200);
	case 9: return ps->tids[below(r, NFUZZ_THREADS)];
	case 10: return 4194304;
	default: return hv32(r, f->self.tid);
	}
}

static __u32 hgpid(struct fz *f)
{
	struct rng *r = &f->r;

	switch (below(r, 6)) {
	case 0: return f->self.tid;
	case 1: return f->self.tgid;
	case 2: return f->ps->kid_gpid[below(r, NKIDS)];
	case 3: return gpid_make(f->self.slot, below(r, 300));
	default: return hv32(r, f->self.tid);
	}
}

/* Zero most of the time, so that the deeper checks are reached. */
static __u32 mostly0(struct rng *r)
{
	return chance(r, 80) ? 0 : hv32(r, 0) | (chance(r, 50) ? 1 : 0);
}

static const int self_sigs[] = { 0, SIGUSR1, SIGUSR2, 34, 35, 36, 37, 38, 39 };
#define SIG_QUEUED 39	/* SIGRTMIN + 5 on glibc: blocked, queued, drained */

static void fill_sigqueue(struct fz *f, struct gpid_sigqueue *s)
{
	struct rng *r = &f->r;
	struct proc_state *ps = f->ps;
	int tk = below(r, 4), i = below(r, NKIDS);
	pid_t pid;

	memset(s, 0, sizeof(*s));
	s->value = rnd(r);
	if (chance(r, 30))
		s->flags |= GPID_SIGQUEUE_THREAD;
	switch (tk) {
	case 0:
		pid = getpid();
		s->sig = self_sigs[below(r, sizeof(self_sigs) / sizeof(self_sigs[0]))];
		if (chance(r, 40)) {
			s->flags |= GPID_SIGQUEUE_GPID;
			s->target = chance(r, 50) ? f->self.tgid : (__u32)pid;
		} else {
			s->target = pid;
		}
		break;
	case 1:
		s->sig = self_sigs[below(r, sizeof(self_sigs) / sizeof(self_sigs[0]))];
		s->target = ps->tids[below(r, NFUZZ_THREADS)];
		if (chance(r, 40))
			s->flags |= GPID_SIGQUEUE_GPID;	/* an unqualified gpid is the PID */
		break;
	case 2:
		/* Kids in the initial namespace only ever get harmless signals (see run_kids). */
		s->sig = ps->restricted ? self_sigs[below(r, 9)] : (int)below(r, 65);
		if (chance(r, 40)) {
			s->flags |= GPID_SIGQUEUE_GPID;
			s->target = ps->kid_gpid[i];
		} else {
			s->target = ps->kids[i];
		}
		break;
	default:
		s->sig = ps->restricted ? 0 : (int)below(r, 65);
		if (chance(r, 50)) {
			s->flags |= GPID_SIGQUEUE_GPID;
			s->target = hgpid(f);
		} else {
			s->target = hpid(f);
		}
		break;
	}
	if (s->sig == SIGALRM)	/* the watchdog's */
		s->sig = 0;
	/* Invalid inputs, each alone enough for EINVAL. */
	switch (below(r, 12)) {
	case 0: s->sig = chance(r, 50) ? 65 + (int)below(r, 100000) : -1 - (int)below(r, 100); break;
	case 1: s->flags |= 4U << below(r, 30); break;
	case 2: s->reserved = hv32(r, 0) | 1; break;
	case 3: s->reserved2 = rnd(r) | 1; break;
	}
}

/* Fills the argument of command ci for this call. */
static void fill_arg(struct fz *f, int ci, void *u)
{
	struct rng *r = &f->r;
	struct proc_state *ps = f->ps;

	fill_random(r, u, 160);
	switch (ci) {
	case I_ENCODE: {
		struct gpid_encode *a = u;

		a->pid = hpid(f);
		a->flags = chance(r, 80) ? (chance(r, 50) ? GPID_ENCODE_TGID : 0) : hv32(r, 0);
		a->reserved = mostly0(r);
		break;
	}
	case I_DECODE: {
		struct gpid_decode *a = u;

		a->gpid = hgpid(f);
		a->flags = mostly0(r);
		a->reserved = mostly0(r);
		break;
	}
	case I_LEVELS: {
		struct gpid_levels *a = u;

		a->pid = hpid(f);
		a->flags = chance(r, 80) ? (chance(r, 50) ? GPID_ENCODE_TGID : 0) : hv32(r, 0);
		a->reserved = mostly0(r);
		a->reserved2 = mostly0(r);
		break;
	}
	case I_NS_INFO: {
		struct gpid_ns_info *a = u;

		a->slot = chance(r, 30) ? 0 : chance(r, 50) ? hslot(r) : hv32(r, 0);
		if (chance(r, 20))
			a->slot = f->self.slot;
		a->flags = mostly0(r);
		a->reserved = mostly0(r);
		break;
	}
	case I_NS_SET: {
		struct gpid_ns_set *a = u;
		static const __u32 fl[] = { GPID_NS_SET_SLOT, GPID_NS_SET_POLICY,
					    GPID_NS_SET_SLOT | GPID_NS_SET_POLICY, 0 };

		a->pid = hpid(f);
		a->flags = chance(r, 90) ? fl[below(r, 4)] : hv32(r, 0);
		a->slot = chance(r, 20) ? f->self.slot : chance(r, 60) ? hslot(r) : hv32(r, 0);
		a->policy = chance(r, 90) ? below(r, 2) : hv32(r, 0);
		a->reserved = mostly0(r);
		/* In the initial namespace: never a valid request (EINVAL before anything). */
		if (ps->restricted)
			a->reserved = hv32(r, 0) | 1;
		break;
	}
	case I_PEER:
	case I_PIDFD: {
		/* Both are { fd, flags, answers..., reserved }. */
		struct gpid_pidfd *a = u;

		a->pidfd = chance(r, 80) ? ps->fds[below(r, NFDS)] : hpid(f);
		a->flags = mostly0(r);
		*(__u32 *)((char *)u + cmds[ci].size - 4) = mostly0(r);
		break;
	}
	case I_REG: {
		struct gpid_robust_register *a = u;

		a->flags = mostly0(r);
		break;
	}
	case I_MSQ: {
		struct gpid_msq *a = u;

		a->msqid = chance(r, 75) ? ps->msq[below(r, NMSQ)] : hpid(f);
		a->flags = mostly0(r);
		a->reserved = mostly0(r);
		a->reserved2 = mostly0(r);
		break;
	}
	case I_SIGQUEUE:
		fill_sigqueue(f, u);
		break;
	case I_SIGSENDER: {
		struct gpid_sigsender *a = u;

		a->sig = chance(r, 70) ? (int)below(r, 66) : (int)hv32(r, 0);
		a->flags = mostly0(r);
		a->value = chance(r, 50) ? below(r, 4) : rnd(r);
		a->reserved = mostly0(r);
		break;
	}
	}
}

static void tally(struct fz *f, int ret, int err)
{
	int w = f->ps->w;

	count(w, C_CALLS, 1);
	if (ret == 0)
		count(w, C_OK, 1);
	else if (err == EFAULT)
		count(w, C_EFAULT, 1);
	else if (err == EINVAL)
		count(w, C_EINVAL, 1);
	else if (err == ENOTTY)
		count(w, C_ENOTTY, 1);
	else
		count(w, C_OTHER, 1);
}

static void note_reloads(struct fz *f)
{
	int n = atomic_load(&sh->reloads);

	if (n != f->reloads) {
		f->reloads = n;
		f->reg = -1;
	}
}

/* Checks a successful answer against what the caller knows about itself. */
static void check_answer(struct fz *f, int ci, const void *in, const void *out)
{
	switch (ci) {
	case I_VERSION: {
		const struct gpid_version *v = out;
		const struct gpid_layout *l = gpid_layout();

		if (v->abi_version != GPID_ABI_VERSION || v->pid_bits != sh->pid_bits ||
		    !(v->features & GPID_FEATURE_GLOBAL_PIDS) || !l ||
		    v->narrow_bits != l->narrow_bits || v->wide_slots != l->wide_slots ||
		    v->narrow_slots != l->narrow_slots || v->narrow_start != l->narrow_start)
			miss("VERSION answered abi %u pid_bits %u features %#llx layout %u/%u/%u/%#x",
			     v->abi_version, v->pid_bits, (unsigned long long)v->features,
			     v->narrow_bits, v->wide_slots, v->narrow_slots, v->narrow_start);
		break;
	}
	case I_VERSION_V1: {
		const struct gpid_version_v1 *v = out;

		if (v->abi_version != GPID_ABI_VERSION || v->pid_bits != sh->pid_bits ||
		    !(v->features & GPID_FEATURE_GLOBAL_PIDS))
			miss("VERSION (ABI 1's form) answered abi %u pid_bits %u features %#llx",
			     v->abi_version, v->pid_bits, (unsigned long long)v->features);
		break;
	}
	case I_SELF: {
		const struct gpid_self *s = out;

		if (!gpid_is_canonical(s->tid, s->slot, gettid()) ||
		    !gpid_is_canonical(s->tgid, s->slot, getpid()) ||
		    s->level != 0 || (f->self_ok && s->slot != f->self.slot))
			miss("SELF answered tid %#x tgid %#x slot %u level %u (tid %d pid %d)",
			     s->tid, s->tgid, s->slot, s->level, gettid(), getpid());
		break;
	}
	case I_ENCODE: {
		const struct gpid_encode *a = in, *b = out;

		if (f->self_ok && a->pid == 0 && a->reserved == 0 &&
		    b->gpid != (a->flags ? f->self.tgid : f->self.tid))
			miss("ENCODE of the caller (flags %#x) answered %#x, SELF says %#x/%#x",
			     a->flags, b->gpid, f->self.tid, f->self.tgid);
		break;
	}
	case I_DECODE: {
		const struct gpid_decode *a = in, *b = out;

		if (f->self_ok && a->gpid == f->self.tid && b->pid != gettid())
			miss("DECODE of the caller's own gpid %#x answered %d, tid %d", a->gpid,
			     b->pid, gettid());
		break;
	}
	case I_REG: {
		const struct gpid_robust_register *b = out;

		if (f->self_ok && b->owner != f->self.tid)
			miss("ROBUST_REGISTER gave owner %#x, the thread's gpid is %#x", b->owner,
			     f->self.tid);
		break;
	}
	}
}

/* After a failed REGISTER that must not have acted: the thread is still unregistered. */
static void check_not_registered(struct fz *f, const char *why)
{
	note_reloads(f);
	if (f->reg != 0)
		return;
	if (ioctl(f->ps->gfd, GPID_IOC_ROBUST_UNREGISTER) == 0)
		miss("ROBUST_REGISTER failing with %s left the thread registered", why);
	else if (errno != ENOENT)
		miss("ROBUST_UNREGISTER of an unregistered thread: errno %d", errno);
}

static void track_registration(struct fz *f, int ci, int k, int ret, int err)
{
	note_reloads(f);
	if (ci == I_REG) {
		count(f->ps->w, C_REG, 1);
		if (ret == 0)
			f->reg = 1;
		else if (k == P_FLIP)
			f->reg = -1;	/* may have registered before the answer faulted */
		else if (err == EFAULT)
			check_not_registered(f, ptr_name[k]);
		return;
	}
	/* I_UNREG */
	if (ret == 0 && f->reg == 0)
		miss("ROBUST_UNREGISTER succeeded for a thread that was not registered");
	if (ret != 0 && err == ENOENT && f->reg == 1)
		miss("ROBUST_UNREGISTER: the thread's registration was lost (ENOENT)");
	f->reg = 0;
}

static void fuzz_batch(struct fz *f, char *sp, int sk, size_t wlen);

/* One call of a real command with a fuzzed argument. */
static void fuzz_real(struct fz *f, int ci)
{
	const struct cmdinfo *c = &cmds[ci];
	unsigned char u[256], before[256];
	int k = pick_ptr(&f->r), ret, err;
	size_t wlen;
	char *p;

	if (ci == I_UNREG) {
		ret = ioctl(f->ps->gfd, c->cmd, (unsigned long)rnd(&f->r));
		err = errno;
		tally(f, ret, err);
		if (ret && !errno_allowed(ci, err))
			miss("ROBUST_UNREGISTER: errno %d", err);
		track_registration(f, ci, P_OK, ret, err);
		return;
	}
	fill_arg(f, ci, u);
	p = place(f, k, c->size, &wlen);
	if (ci == I_BATCH) {
		fuzz_batch(f, p, k, wlen);
		return;
	}
	put(f, k, p, u, c->size, wlen);
	if (k != P_OK && k != P_MISALIGNED)
		count(f->ps->w, C_HOSTILE, 1);
	ret = ioctl(f->ps->gfd, c->cmd, p);
	err = errno;
	tally(f, ret, err);
	if (ptr_unreadable(k)) {
		if (ret == 0 || err != EFAULT)
			miss("%s with a %s argument (%p): ret %d errno %d, want EFAULT", c->name,
			     ptr_name[k], p, ret, ret ? err : 0);
		if (wlen && memcmp(p, u, wlen))
			miss("%s with a %s argument wrote into its readable part", c->name,
			     ptr_name[k]);
	} else if (ptr_read_only(k) && c->writes) {
		count(f->ps->w, C_RO, 1);
		memcpy(before, p, c->size);
		if (ret == 0 || (err != EFAULT && !(ci == I_SELF && errno_allowed(ci, err))))
			miss("%s with a %s argument: ret %d errno %d, want EFAULT", c->name,
			     ptr_name[k], ret, ret ? err : 0);
		if (memcmp(before, u, c->size))
			miss("%s with a %s argument changed its bytes", c->name, ptr_name[k]);
	} else if (ret != 0 && !errno_allowed(ci, err)) {
		miss("%s (%s argument): errno %d not documented", c->name, ptr_name[k], err);
	} else if (ret == 0 && k != P_FLIP) {
		check_answer(f, ci, u, p);
	}
	if (f->ps->restricted && ci == I_NS_SET && !ptr_unreadable(k) && k != P_FLIP &&
	    !(ptr_read_only(k)) && (ret == 0 || err != EINVAL))
		miss("NS_SET with reserved != 0: ret %d errno %d, want EINVAL", ret, err);
	if (ci == I_REG)
		track_registration(f, ci, k, ret, err);
}

/* An array argument of DECODE_BATCH: where it goes, its writable/readable length. */
static char *place_array(struct fz *f, bool out, __u32 count, int *kind, size_t *good)
{
	struct rng *r = &f->r;
	size_t bytes = (size_t)count * 4;
	size_t j = count > 1 ? 1 + below(r, count - 1 < 1024 ? count - 1 : 1024) : 0;
	int k = below(r, 10);

	*good = bytes;
	if (count > GPID_BATCH_MAX)
		k = k < 5 ? 0 : k;
	switch (k) {
	case 0: case 1: case 2: case 3: case 4:
		*kind = P_OK;
		return page(f, out ? A_PIDS : A_GPIDS);
	case 5:
		*kind = P_RO;
		return page(f, A_RO);
	case 6:
		*kind = P_STR_RO;
		if (!j)
			return *kind = P_RO, page(f, A_RO);
		*good = j * 4;
		return page(f, A_RO_EDGE) - j * 4;
	case 7:
		*kind = P_STR_HOLE;
		*good = j * 4;
		return page(f, A_HOLE) - j * 4;
	case 8:
		*kind = P_NONE;
		*good = 0;
		return page(f, A_NONE);
	default:
		*kind = P_NULL;
		*good = 0;
		return place(f, P_NULL + below(r, 5), 8, good);
	}
}

static void fuzz_batch(struct fz *f, char *sp, int sk, size_t wlen)
{
	struct rng *r = &f->r;
	struct gpid_decode_batch b;
	static const __u32 counts[] = { 0, 1, 2, 3, 64, 1024, 1025, GPID_BATCH_MAX,
					GPID_BATCH_MAX + 1 };
	int gk, pk, ret, err;
	size_t glen, plen, snap = 0;
	char *g, *p;
	bool pids_ok, gpids_ok, invalid;

	b.count = chance(r, 70) ? 1 + below(r, 64) :
		  chance(r, 80) ? counts[below(r, 9)] : hv32(r, 0);
	b.flags = mostly0(r);
	g = place_array(f, false, b.count, &gk, &glen);
	p = place_array(f, true, b.count, &pk, &plen);
	if (gk == P_OK)
		for (__u32 i = 0; i < b.count && i < GPID_BATCH_MAX; i++)
			((__u32 *)g)[i] = hgpid(f);
	if (pk == P_OK && gk == P_OK && chance(r, 10))
		p = g;	/* in place */
	b.gpids = (uintptr_t)g;
	b.pids = (uintptr_t)p;
	if (chance(r, 3))
		b.gpids = rnd(r), gk = NPTR;
	if (chance(r, 3))
		b.pids = rnd(r), pk = NPTR;
	/* gpids may be read-only; pids must be writable in whole. */
	gpids_ok = gk == P_OK || gk == P_RO ||
		   /* pages 9 (read-only) and 10 are readable, 11 is the hole */
		   (gk == P_STR_RO && (size_t)b.count * 4 <= glen + 2 * PAGE);
	pids_ok = pk == P_OK;
	invalid = b.flags != 0 || b.count == 0 || b.count > GPID_BATCH_MAX;
	put(f, sk, sp, &b, sizeof(b), wlen);
	/* (After the struct is written: it may sit right before a straddling array.) */
	if (pk == P_OK || pk == P_STR_RO || pk == P_STR_HOLE) {
		snap = plen < sizeof(f->snap) ? plen : sizeof(f->snap);
		memcpy(f->snap, p, snap);
	}
	if (sk != P_OK && sk != P_MISALIGNED)
		count(f->ps->w, C_HOSTILE, 1);
	ret = ioctl(f->ps->gfd, GPID_IOC_DECODE_BATCH, sp);
	err = errno;
	tally(f, ret, err);
	if (ptr_unreadable(sk)) {
		if (ret == 0 || err != EFAULT)
			miss("DECODE_BATCH with a %s argument: ret %d errno %d, want EFAULT",
			     ptr_name[sk], ret, ret ? err : 0);
		return;
	}
	if (sk == P_FLIP)
		return;
	if (invalid) {
		if (ret == 0 || err != EINVAL)
			miss("DECODE_BATCH count %u flags %#x: ret %d errno %d, want EINVAL",
			     b.count, b.flags, ret, ret ? err : 0);
		return;
	}
	if (!pids_ok || !gpids_ok) {
		if (ret == 0 || err != EFAULT)
			miss("DECODE_BATCH gpids %s pids %s count %u: ret %d errno %d, want EFAULT",
			     gk < NPTR ? ptr_name[gk] : "random", pk < NPTR ? ptr_name[pk] : "random",
			     b.count, ret, ret ? err : 0);
		/* Written whole or not at all: the writable part of pids is as it was. */
		if (snap && memcmp(f->snap, p, snap))
			miss("DECODE_BATCH failing (gpids %s, pids %s, count %u) wrote into pids",
			     gk < NPTR ? ptr_name[gk] : "random", pk < NPTR ? ptr_name[pk] : "random",
			     b.count);
		return;
	}
	if (ret) {
		if (err != ENOMEM)
			miss("DECODE_BATCH of %u well-placed gpids: errno %d", b.count, err);
		return;
	}
	for (__u32 i = 0; i < b.count; i++) {
		__s32 v = ((__s32 *)p)[i];

		if (v < 0 && v != -EINVAL && v != -ESRCH && v != -ENOSPC && v != -EOVERFLOW) {
			miss("DECODE_BATCH result %u is %d", i, v);
			break;
		}
	}
}

static int real_index(unsigned long cmd)
{
	for (int i = 0; i < NCMDS; i++)
		if (cmds[i].cmd == cmd)
			return i;
	return -1;
}

/* Command numbers near the real ones: every one that is not real must be ENOTTY. */
static void fuzz_cmdnum(struct fz *f)
{
	struct rng *r = &f->r;
	const struct cmdinfo *c = &cmds[below(r, NCMDS)];
	unsigned int dir = _IOC_DIR(c->cmd), size = _IOC_SIZE(c->cmd), nr = _IOC_NR(c->cmd);
	unsigned int type = GPID_IOC_MAGIC;
	unsigned long cmd;
	size_t wlen;
	char *p;
	int ret, err, k;

	switch (below(r, 5)) {
	case 0:		/* the real number with another direction */
		dir = below(r, 4);
		break;
	case 1:		/* ... or another size: off by a little, or anything */
		size = chance(r, 50) ? size + (int)below(r, 17) - 8 : below(r, 1 << 14);
		size &= (1 << 14) - 1;
		break;
	case 2:		/* numbers around the real ones */
		nr = below(r, 0x40);
		dir = below(r, 4);
		size = chance(r, 50) ? size : below(r, 1 << 14);
		break;
	case 3:		/* neighbouring magic numbers */
		type = GPID_IOC_MAGIC - 1 + 2 * below(r, 2);
		break;
	default:	/* anything with gpid's magic */
		nr = below(r, 256);
		dir = below(r, 4);
		size = below(r, 1 << 14);
		break;
	}
	cmd = _IOC(dir, type, nr, size);
	if (real_index(cmd) >= 0) {
		fuzz_real(f, real_index(cmd));
		return;
	}
	k = pick_ptr(r);
	p = place(f, k, 64, &wlen);
	ret = ioctl(f->ps->gfd, cmd, p);
	err = errno;
	tally(f, ret, err);
	if (ret == 0 || err != ENOTTY)
		miss("unknown command %#lx (dir %u type %#x nr %#x size %u, %s argument): "
		     "ret %d errno %d, want ENOTTY", cmd, dir, type, nr, size, ptr_name[k], ret,
		     ret ? err : 0);
}

static void drain_signals(void)
{
	struct timespec zero = { 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_QUEUED);
	for (int i = 0; i < 64 && sigtimedwait(&set, NULL, &zero) > 0; i++)
		;
}

static pid_t start_kid(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		child_setup(fuzz_seconds + 60);
		for (;;)
			pause();
	}
	return pid;
}

/* Thread 0 keeps the kids going: the child-namespace worker's kids get killed and stopped. */
static void tend_kids(struct fz *f)
{
	struct proc_state *ps = f->ps;

	for (int i = 0; i < NKIDS; i++) {
		int st;

		if (ps->kids[i] <= 0 || waitpid(ps->kids[i], &st, WNOHANG | WUNTRACED) == 0)
			continue;
		if (ps->restricted) {
			miss("a kid in the initial namespace ended (status %#x)", st);
			ps->kids[i] = 0;
			continue;
		}
		if (WIFSTOPPED(st)) {
			kill(ps->kids[i], SIGCONT);
			continue;
		}
		ps->kids[i] = start_kid();
		ps->kid_gpid[i] = 0;
		if (ps->kids[i] > 0) {
			struct gpid_encode e = { .pid = ps->kids[i], .flags = GPID_ENCODE_TGID };

			if (!ioctl(ps->gfd, GPID_IOC_ENCODE, &e))
				ps->kid_gpid[i] = e.gpid;
		}
	}
}

static void *fuzz_thread(void *p)
{
	struct fz *f = p;
	struct proc_state *ps = f->ps;

	here = (struct where){ .w = ps->w, .thread = f->t, .gen = ps->gen };
	ps->tids[f->t] = gettid();
	f->reloads = atomic_load(&sh->reloads);
	f->self_ok = ioctl(ps->gfd, GPID_IOC_SELF, &f->self) == 0;
	while (!stopping() && now_ns() < ps->end_ns) {
		int c = below(&f->r, 100);

		here.iter++;
		count(ps->w, C_ITER, 1);
		if (c < 75)
			fuzz_real(f, below(&f->r, NCMDS));
		else if (c < 97)
			fuzz_cmdnum(f);
		else if (f->t == 0)
			tend_kids(f);
		else
			drain_signals();
	}
	return NULL;
}

/* Keeps one page changing under the fuzz threads' feet. */
static void *flipper(void *p)
{
	struct proc_state *ps = p;
	struct rng r;

	rng_seed(&r, ps->w, 99, ps->gen);
	while (!atomic_load(&ps->quit) && !stopping()) {
		switch (below(&r, 5)) {
		case 0:
			mprotect(ps->flip, PAGE, PROT_READ | PROT_WRITE);
			fill_random(&r, ps->flip, 256);
			break;
		case 1:
			mprotect(ps->flip, PAGE, PROT_READ);
			break;
		case 2:
			mprotect(ps->flip, PAGE, PROT_NONE);
			break;
		case 3:
			madvise(ps->flip, PAGE, MADV_DONTNEED);
			break;
		default:
			mprotect(ps->flip, PAGE, PROT_READ | PROT_WRITE);
			memset(ps->flip, 0, PAGE);
			break;
		}
		usleep(below(&r, 300));
	}
	return NULL;
}

static char *make_arena(void)
{
	char *a = mmap(NULL, A_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (a == MAP_FAILED)
		return NULL;
	if (mprotect(a + A_RO_EDGE * PAGE, PAGE, PROT_READ) ||
	    munmap(a + A_HOLE * PAGE, PAGE) ||
	    mprotect(a + A_NONE * PAGE, PAGE, PROT_NONE) ||
	    mprotect(a + A_RO * PAGE, 4 * PAGE, PROT_READ) ||
	    mprotect(a + (A_PAGES - 1) * PAGE, PAGE, PROT_NONE))
		return NULL;
	return a;
}

static void make_fds(struct proc_state *ps)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sv[2];
	pid_t z;

	for (int i = 0; i < NFDS; i++)
		ps->fds[i] = -1;
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		ps->fds[0] = sv[0], ps->fds[1] = sv[1];
	ps->fds[2] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ps->fds[3] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "gpid-fuzz-%d-%d-%lu", getpid(),
		 ps->w, ps->gen);
	if (ps->fds[3] >= 0 && !bind(ps->fds[3], (void *)&sa, sizeof(sa)))
		listen(ps->fds[3], 4);
	ps->fds[4] = syscall(SYS_pidfd_open, getpid(), 0);
	for (int i = 0; i < NKIDS; i++)
		ps->fds[5 + i] = syscall(SYS_pidfd_open, ps->kids[i], 0);
	z = fork();
	if (z == 0)
		_exit(0);
	if (z > 0) {
		ps->fds[8] = syscall(SYS_pidfd_open, z, 0);
		waitpid(z, NULL, 0);	/* a pidfd of a reaped process */
	}
	ps->fds[9] = ps->gfd;
	ps->fds[10] = memfd_create("gpid-fuzz", MFD_CLOEXEC);
	ps->fds[11] = -1;
	ps->fds[12] = 0;
	ps->fds[13] = 100000;
	ps->fds[14] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ps->fds[15] = sv[0];
		close(sv[1]);	/* a peer that is gone */
	}
}

static void make_queues(struct proc_state *ps)
{
	struct { long type; char text[8]; } m = { 1, "fuzz" };

	for (int i = 0; i < NMSQ; i++)
		ps->msq[i] = msgget(IPC_PRIVATE, IPC_CREAT | (i == 3 ? 0 : 0600));
	if (ps->msq[0] >= 0)
		msgsnd(ps->msq[0], &m, sizeof(m.text), IPC_NOWAIT);
	if (ps->msq[1] >= 0 && !msgsnd(ps->msq[1], &m, sizeof(m.text), IPC_NOWAIT))
		msgrcv(ps->msq[1], &m, sizeof(m.text), 0, IPC_NOWAIT);
	if (ps->msq[2] >= 0)
		msgctl(ps->msq[2], IPC_RMID, NULL);	/* a stale id */
}

#define GEN_SECONDS 4

/* One generation of an ioctl worker: a process with two fuzz threads and a flipper. */
static int fuzz_generation(int w, unsigned long gen, bool restricted)
{
	static struct proc_state ps;
	static struct fz fz[NFUZZ_THREADS];
	struct sigaction ign = { .sa_handler = SIG_IGN };
	pthread_t th[NFUZZ_THREADS], fl;
	sigset_t set;

	ps = (struct proc_state){ .w = w, .restricted = restricted, .gen = gen };
	here = (struct where){ .w = w, .thread = -1, .gen = gen };
	ps.end_ns = now_ns() + GEN_SECONDS * SEC_NS;
	for (int s = 0; s < 9; s++)
		if (self_sigs[s] && self_sigs[s] != SIG_QUEUED)
			sigaction(self_sigs[s], &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIG_QUEUED);
	sigprocmask(SIG_BLOCK, &set, NULL);
	ps.gfd = gpid_open();
	if (ps.gfd < 0) {
		miss("open /dev/gpid: errno %d", errno);
		return 3;
	}
	ps.flip = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ps.flip == MAP_FAILED)
		return 4;
	for (int i = 0; i < NKIDS; i++) {
		struct gpid_encode e = { .flags = GPID_ENCODE_TGID };

		ps.kids[i] = start_kid();
		e.pid = ps.kids[i];
		if (ps.kids[i] > 0 && !ioctl(ps.gfd, GPID_IOC_ENCODE, &e))
			ps.kid_gpid[i] = e.gpid;
	}
	make_fds(&ps);
	make_queues(&ps);
	for (int t = 0; t < NFUZZ_THREADS; t++) {
		fz[t] = (struct fz){ .ps = &ps, .t = t, .a = make_arena() };
		if (!fz[t].a)
			return 5;
		rng_seed(&fz[t].r, w, t, gen);
		/* The read-only pages hold hostile gpids for DECODE_BATCH to read. */
		mprotect(fz[t].a + A_RO * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE);
		for (unsigned int i = 0; i < 4 * PAGE / 4; i++)
			((__u32 *)(fz[t].a + A_RO * PAGE))[i] = hv32(&fz[t].r, 0);
		mprotect(fz[t].a + A_RO * PAGE, 4 * PAGE, PROT_READ);
	}
	ps.tids[0] = ps.tids[1] = gettid();
	if (pthread_create(&fl, NULL, flipper, &ps))
		return 6;
	for (int t = 1; t < NFUZZ_THREADS; t++)
		if (pthread_create(&th[t], NULL, fuzz_thread, &fz[t]))
			return 6;
	fuzz_thread(&fz[0]);
	for (int t = 1; t < NFUZZ_THREADS; t++)
		pthread_join(th[t], NULL);
	atomic_store(&ps.quit, 1);
	pthread_join(fl, NULL);
	for (int i = 0; i < NKIDS; i++)
		if (ps.kids[i] > 0)
			kill(ps.kids[i], SIGKILL);
	for (int i = 0; i < NKIDS; i++)
		if (ps.kids[i] > 0)
			gpid_reap_timeout(ps.kids[i], 2000);
	for (int i = 0; i < NMSQ; i++)
		if (ps.msq[i] >= 0)
			msgctl(ps.msq[i], IPC_RMID, NULL);
	return 0;
}

static void ioctl_worker(int w)
{
	bool newns = w == W_IOCTL_NS;

	for (unsigned long gen = 0; !stopping(); gen++) {
		pid_t pid;
		int code;

		here = (struct where){ .w = w, .thread = -1, .gen = gen };
		count(w, C_GEN, 1);
		fflush(NULL);
		pid = newns ? (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD, 0,
					     NULL, NULL, 0) : fork();
		if (pid < 0) {
			miss("fork: errno %d", errno);
			usleep(100000);
			continue;
		}
		if (pid == 0) {
			child_setup(GEN_SECONDS + 30);
			if (!newns && unshare(CLONE_NEWIPC))
				_exit(7);
			_exit(fuzz_generation(w, gen, !newns));
		}
		code = gpid_reap_timeout(pid, (GEN_SECONDS + 20) * 1000);
		if (code != 0)
			miss("generation process ended with code %d", code);
	}
}

/* ------------------------------------------------------------------------------------------
 * Robust futexes: owners with hostile robust lists, dying in every way
 */

#define R_THREADS	4
#define R_PAGES		24	/* per owner thread, in one shared memfd */
#define R_LONG		4000	/* entries of a list longer than ROBUST_LIST_LIMIT (2048) */
#define R_FIRST_HOSTILE	17	/* pages 17..23 get hostile kinds; 0..16 stay writable */
#define R_ENTRY		16	/* entry: next at 0, word at 8 (futex_offset 8) */

enum pkind { PK_RW, PK_RO, PK_DONTNEED, PK_UNMAPPED, PK_NONE, NPK };
static const char *const pk_name[NPK] = { "rw", "ro", "dontneed", "unmapped", "none" };

enum shape { SH_SIMPLE, SH_CIRCULAR, SH_LONG, SH_HOSTILE_NEXT, SH_SELF, NSHAPES };
static const char *const shape_name[NSHAPES] = {
	"simple", "circular", "4000 entries", "next into a hostile page", "self-loop",
};

enum death { D_PTHREAD_EXIT, D_EXIT_GROUP, D_SIGKILL, D_EXEC, D_NSKILL, NDEATHS };
static const char *const death_name[NDEATHS] = {
	"pthread_exit", "exit_group", "SIGKILL from another process", "execve",
	"namespace init killed",
};

enum place { PL_SAME, PL_PID1, PL_PID2 };
static const char *const place_name[] = { "initial namespace", "PID 1 of a new namespace",
					  "PID 2 of a new namespace" };

struct rthread {		/* one owner thread's plan, chosen by the robust worker */
	int shape, pending;	/* pending: 0 none, 1 the sentinel, 2 its own entry P, 3 hostile */
	long offset;
	bool s_pi, p_pi, s_waiters, head_hostile;
	int nentries;
	int pk[R_PAGES];	/* page kinds */
	uint32_t canv[24];	/* canary value of list entry i, 0 for an owned word */
	/* filled in by the owner thread */
	int reg_ret;
	__u32 owner;
	pid_t tid;
};

struct rctl {
	atomic_int built, go, exec_go;
	int nthreads, death;
	struct rthread t[R_THREADS];
	char exe[64];
};

struct rworld {
	char *mem;		/* R_THREADS * R_PAGES pages, shared memfd */
	struct rctl *ctl;	/* shared */
	char *hole;		/* an unmapped address */
	int gfd;
};

static char *tpage(struct rworld *rw, int t, int p)
{
	return rw->mem + ((size_t)t * R_PAGES + p) * PAGE;
}

/* Sentinel S and pending entry P of a thread: page 0, offsets 256 and 512; head at 0. */
#define S_OFF	256
#define P_OFF	512

static uint32_t *word_of(char *entry)
{
	return (uint32_t *)(entry + 8);
}

/* A word that neither the gpid walk nor the kernel's would touch (never an owner or a TID). */
static uint32_t canary(struct rng *r, __u32 owner)
{
	uint32_t c;

	do
		c = 0x20000000 | (uint32_t)(rnd(r) & 0x0fffffff);
	while (c == (owner & FUTEX_TID_MASK));
	return c;
}

/* An address in a hostile page of thread t (or elsewhere hostile). */
static char *hostile_addr(struct rworld *rw, struct rng *r, int t)
{
	switch (below(r, 4)) {
	case 0:
		return (char *)(uintptr_t)0xffffffff81000000ULL;
	case 1:
		return rw->hole + 8 * below(r, 256);
	default:
		return tpage(rw, t, R_FIRST_HOSTILE + below(r, R_PAGES - R_FIRST_HOSTILE)) +
		       R_ENTRY * below(r, PAGE / R_ENTRY);
	}
}

struct robust_head {
	uintptr_t list;
	long futex_offset;
	uintptr_t pending;
};

struct owner_arg {
	struct rworld *rw;
	int t;
	uint64_t seed;
};

/* Builds thread t's list; runs in the owner thread after it registered. */
static void build_list(struct rworld *rw, int t, struct rng *r)
{
	struct rthread *th = &rw->ctl->t[t];
	char *p0 = tpage(rw, t, 0);
	struct robust_head *h = (struct robust_head *)p0;
	char *s = p0 + S_OFF, *pe = p0 + P_OFF, *prev = s;
	__u32 own = th->reg_ret ? (__u32)th->tid : th->owner;
	int n = 0;

	/* Every slot of pages 1..23 looks like an owned entry pointing back to the head. */
	for (int p = 1; p < R_PAGES; p++)
		for (char *e = tpage(rw, t, p); e < tpage(rw, t, p) + PAGE; e += R_ENTRY) {
			*(uintptr_t *)e = (uintptr_t)h;
			*word_of(e) = own;
		}
	h->futex_offset = th->offset;
	h->list = (uintptr_t)s | th->s_pi;
	*word_of(s) = own | (th->s_waiters ? FUTEX_WAITERS : 0);
	*word_of(pe) = own;
	switch (th->shape) {
	case SH_SIMPLE:
	case SH_HOSTILE_NEXT:
	case SH_LONG:
		n = th->shape == SH_LONG ? R_LONG - 1 : th->nentries;
		for (int i = 0; i < n; i++) {
			char *e = tpage(rw, t, 1) + (size_t)i * R_ENTRY;

			/* Some canaries, which must come out unchanged; some PI entries. */
			if (th->shape != SH_LONG && chance(r, 30))
				*word_of(e) = th->canv[i] = canary(r, own);
			*(uintptr_t *)prev = (uintptr_t)e | (th->shape != SH_LONG && chance(r, 10));
			prev = e;
		}
		*(uintptr_t *)prev = th->shape == SH_HOSTILE_NEXT ? (uintptr_t)hostile_addr(rw, r, t)
								  : (uintptr_t)h;
		break;
	case SH_CIRCULAR: {
		char *e1 = tpage(rw, t, 1), *e2 = e1 + R_ENTRY;

		*(uintptr_t *)s = (uintptr_t)e1;
		*(uintptr_t *)e1 = (uintptr_t)e2;
		*(uintptr_t *)e2 = (uintptr_t)e1;
		break;
	}
	case SH_SELF:
		*(uintptr_t *)s = (uintptr_t)s;
		break;
	}
	switch (th->pending) {
	case 0: h->pending = 0; break;
	case 1: h->pending = (uintptr_t)s; break;
	case 2: h->pending = (uintptr_t)pe | th->p_pi; break;
	default: h->pending = (uintptr_t)hostile_addr(rw, r, t) | below(r, 2); break;
	}
	if (th->head_hostile)
		h = (struct robust_head *)hostile_addr(rw, r, t);
	syscall(SYS_set_robust_list, h, sizeof(*h));
}

static void *owner_thread(void *p)
{
	struct owner_arg *a = p;
	struct rworld *rw = a->rw;
	struct rctl *c = rw->ctl;
	struct rthread *th = &c->t[a->t];
	struct gpid_robust_register reg = { 0 };
	struct rng r = { a->seed | 1 };

	th->tid = gettid();
	th->reg_ret = ioctl(rw->gfd, GPID_IOC_ROBUST_REGISTER, &reg) ? errno : 0;
	th->owner = reg.owner;
	build_list(rw, a->t, &r);
	atomic_fetch_add(&c->built, 1);
	while (!atomic_load(&c->go))
		usleep(200);
	if (c->death == D_EXIT_GROUP && a->t == 0)
		syscall(SYS_exit_group, 0);
	if (c->death == D_EXEC && a->t == c->nthreads - 1) {
		char *argv[] = { c->exe, "--exec-child", NULL };

		execve("/proc/self/exe", argv, (char *[]){ NULL });
		_exit(9);
	}
	if (c->death == D_PTHREAD_EXIT)
		pthread_exit(NULL);
	for (;;)
		pause();
	return NULL;
}

/* The owner process: its threads build, then the pages get their kinds, then death. */
static int owner_main(struct rworld *rw, uint64_t seed)
{
	struct rctl *c = rw->ctl;
	struct owner_arg args[R_THREADS];
	pthread_t th[R_THREADS];

	for (int t = 0; t < c->nthreads; t++) {
		args[t] = (struct owner_arg){ rw, t, splitmix(seed + t) };
		if (pthread_create(&th[t], NULL, owner_thread, &args[t]))
			return 20;
	}
	while (atomic_load(&c->built) < c->nthreads)
		usleep(200);
	for (int t = 0; t < c->nthreads; t++)
		for (int p = 0; p < R_PAGES; p++) {
			char *pg = tpage(rw, t, p);

			switch (c->t[t].pk[p]) {
			case PK_RO: mprotect(pg, PAGE, PROT_READ); break;
			case PK_DONTNEED: madvise(pg, PAGE, MADV_DONTNEED); break;
			case PK_UNMAPPED: munmap(pg, PAGE); break;
			case PK_NONE: mprotect(pg, PAGE, PROT_NONE); break;
			}
		}
	atomic_fetch_add(&c->built, 1);	/* == nthreads + 1: ready */
	for (;;) {
		if (c->death == D_PTHREAD_EXIT && atomic_load(&c->go)) {
			for (int t = 0; t < c->nthreads; t++)
				pthread_join(th[t], NULL);
			return 0;
		}
		usleep(1000);
	}
}

/* Runs the owner at its place; returns the pid to reap, *kill_target the one to SIGKILL. */
static pid_t spawn_owner(struct rworld *rw, int where, uint64_t seed, pid_t *kill_target)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = where == PL_SAME ? fork() :
	      (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
	if (pid == 0) {
		child_setup(20);
		close(pfd[0]);
		if (where == PL_PID2) {
			pid_t o = fork(), me;
			int st;

			if (o == 0) {
				child_setup(20);
				close(pfd[1]);
				_exit(owner_main(rw, seed));
			}
			me = o;	/* the owner, seen from this init */
			if (write(pfd[1], &me, sizeof(me)) != sizeof(me))
				_exit(21);
			close(pfd[1]);
			if (waitpid(o, &st, 0) != o)
				_exit(22);
			_exit(gpid_exit_code(st));
		}
		close(pfd[1]);
		_exit(owner_main(rw, seed));
	}
	close(pfd[1]);
	*kill_target = pid;
	if (pid > 0 && where == PL_PID2) {
		pid_t inner;

		if (gpid_wait_readable(pfd[0], 10000) || read(pfd[0], &inner, sizeof(inner)) !=
							     sizeof(inner))
			miss("the PID-2 owner's init did not report");
	}
	close(pfd[0]);
	return pid;
}

static bool must_mark(struct rthread *th, bool pending);

/*
 * A waiter in another process: FUTEX_WAIT in bounded slices on each thread's sentinel that
 * must be marked (the others may stay owned for ever).
 */
static void waiter_main(struct rworld *rw, int nthreads, int w)
{
	long long until = now_ns() + 2 * SEC_NS;

	for (int t = 0; t < nthreads; t++) {
		uint32_t *word = word_of(tpage(rw, t, 0) + S_OFF);

		if (!must_mark(&rw->ctl->t[t], false))
			continue;

		while (now_ns() < until) {
			uint32_t v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
			struct timespec slice = { 0, 100 * 1000 * 1000 };

			if (v & FUTEX_OWNER_DIED || !(v & FUTEX_TID_MASK))
				break;
			if (!(v & FUTEX_WAITERS) &&
			    !__atomic_compare_exchange_n(word, &v, v | FUTEX_WAITERS, false,
							 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				continue;
			count(w, 13, 1);
			if (syscall(SYS_futex, word, FUTEX_WAIT, v | FUTEX_WAITERS, &slice, NULL,
				    0) == 0)
				count(w, 12, 1);
		}
	}
}

static void plan_round(struct rworld *rw, struct rng *r, int *where)
{
	struct rctl *c = rw->ctl;
	static const long offsets[] = { 9, 10, 11, -1, 4096 + 8, 1L << 46, LONG_MIN, -(1L << 40) };

	memset(c, 0, sizeof(*c));
	snprintf(c->exe, sizeof(c->exe), "fuzz_test");
	c->nthreads = 1 + below(r, R_THREADS);
	c->death = below(r, NDEATHS);
	*where = c->death == D_NSKILL ? PL_PID2 : below(r, 3);
	for (int t = 0; t < c->nthreads; t++) {
		struct rthread *th = &c->t[t];

		th->shape = below(r, NSHAPES);
		th->nentries = below(r, 24);
		th->offset = chance(r, 80) ? 8 : offsets[below(r, 8)];
		th->s_pi = chance(r, 8);
		th->p_pi = chance(r, 15);
		th->s_waiters = chance(r, 30);
		th->pending = below(r, 4);
		th->head_hostile = chance(r, 8);
		/* Page 0 (head, S, P): writable, dropped from the page tables, or read-only. */
		th->pk[0] = chance(r, 60) ? PK_RW : chance(r, 60) ? PK_DONTNEED : PK_RO;
		for (int p = 1; p < R_PAGES; p++)
			th->pk[p] = p < R_FIRST_HOSTILE ? (chance(r, 10) ? PK_DONTNEED : PK_RW)
							: (int)below(r, NPK);
	}
}

/*
 * Whether the sentinel (pending: the P entry) must end FUTEX_OWNER_DIED. The walks skip
 * list_op_pending in the list and handle it once the walk ends without a fault (at the
 * list's end or its cut at ROBUST_LIST_LIMIT), never after a faulting next pointer; the
 * list's pages 1-16 are always writable or merely dropped (MADV_DONTNEED), which the
 * kernel's walk faults in and gpid's fallback reads.
 */
static bool must_mark(struct rthread *th, bool pending)
{
	bool completes = th->shape != SH_HOSTILE_NEXT;

	if (th->reg_ret || th->offset != 8 || th->head_hostile || th->pk[0] == PK_RO)
		return false;
	if (!pending)
		return th->pending == 1 ? completes : !th->s_pi;
	return th->pending == 2 && !th->p_pi && completes;
}

static void describe(struct rctl *c, int t, int where, char *buf, size_t n)
{
	struct rthread *th = &c->t[t];

	snprintf(buf, n, "thread %d/%d owner %#x tid %d, %s, list %s (%d), offset %ld, S pi %d, "
		 "pending %d (pi %d), head %s, page0 %s, died by %s", t, c->nthreads, th->owner,
		 th->tid, place_name[where], shape_name[th->shape], th->nentries, th->offset,
		 th->s_pi, th->pending, th->p_pi, th->head_hostile ? "hostile" : "page 0",
		 pk_name[th->pk[0]], death_name[c->death]);
}

static void robust_round(struct rworld *rw, struct rng *r, unsigned long iter, int w)
{
	struct rctl *c = rw->ctl;
	size_t len = (size_t)R_THREADS * R_PAGES * PAGE;
	pid_t owner, target, waiter = -1;
	int where, code;
	long long t0;
	char why[400];

	memset(rw->mem, 0, len);
	plan_round(rw, r, &where);
	owner = spawn_owner(rw, where, splitmix(sh->seed ^ iter), &target);
	if (owner < 0) {
		miss("fork of an owner: errno %d", errno);
		usleep(100000);
		return;
	}
	for (t0 = now_ns(); atomic_load(&c->built) < c->nthreads + 1; usleep(500)) {
		if (now_ns() - t0 > 10 * SEC_NS) {
			miss("owner (%s) not ready in 10 s", place_name[where]);
			gpid_reap_timeout(owner, 0);
			return;
		}
	}
	count(w, 1, c->nthreads);
	for (int t = 0; t < c->nthreads; t++) {
		count(w, 2, !c->t[t].reg_ret);
		count(w, 3, c->t[t].shape == SH_LONG ? R_LONG : 3 + c->t[t].nentries);
		if (c->t[t].reg_ret)
			miss("ROBUST_REGISTER in an owner thread: errno %d", c->t[t].reg_ret);
	}
	if (chance(r, 50)) {
		fflush(NULL);
		waiter = chance(r, 50) ? fork() :
			 (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
		if (waiter == 0) {
			child_setup(10);
			waiter_main(rw, c->nthreads, w);
			_exit(0);
		}
		usleep(1000);
	}
	count(w, 4 + c->death, 1);
	if (c->death == D_SIGKILL || c->death == D_NSKILL)
		kill(target, SIGKILL);
	else
		atomic_store(&c->go, 1);
	code = gpid_reap_timeout(owner, 10000);
	if (code < 0 || (code != 0 && code != 128 + SIGKILL)) {
		describe(c, 0, where, why, sizeof(why));
		miss("owner process ended with code %d (%s)", code, why);
	}
	for (int t = 0; t < c->nthreads; t++) {
		struct rthread *th = &c->t[t];
		char *p0 = tpage(rw, t, 0);

		for (int which = 0; which < 2; which++) {
			uint32_t *word = word_of(p0 + (which ? P_OFF : S_OFF));
			int polls = 0;

			if (!must_mark(th, which))
				continue;
			count(w, 9, 1);
			/* The fallback walk runs in process context soon after the death. */
			while (!(__atomic_load_n(word, __ATOMIC_SEQ_CST) & FUTEX_OWNER_DIED) &&
			       polls++ < 500)
				usleep(10000);
			if (polls)
				count(w, 14, 1);
			if (*word & FUTEX_OWNER_DIED) {
				count(w, 10, 1);
				continue;
			}
			describe(c, t, where, why, sizeof(why));
			miss("%s word %#x not FUTEX_OWNER_DIED 5 s after the death: %s",
			     which ? "list_op_pending" : "first", *word, why);
		}
		/* Canaries on the list's writable pages never change. */
		if (th->offset == 8 && (th->shape == SH_SIMPLE || th->shape == SH_HOSTILE_NEXT)) {
			for (int i = 0; i < th->nentries; i++) {
				uint32_t v = *word_of(tpage(rw, t, 1) + (size_t)i * R_ENTRY);

				if (!th->canv[i])
					continue;
				count(w, 11, 1);
				if (v != th->canv[i]) {
					describe(c, t, where, why, sizeof(why));
					miss("canary word %d changed to %#x: %s", i, v, why);
				}
			}
		}
	}
	if (waiter > 0 && gpid_reap_timeout(waiter, 5000) != 0)
		miss("the waiter did not finish");
}

static void robust_worker(int w)
{
	struct rworld rw = { 0 };
	size_t len = (size_t)R_THREADS * R_PAGES * PAGE;
	int fd = memfd_create("gpid-fuzz-robust", MFD_CLOEXEC);
	struct rng r;

	rw.gfd = worker_start(w, &r);
	rw.ctl = mmap(NULL, sizeof(struct rctl), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	rw.hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || ftruncate(fd, len) || rw.gfd < 0 || rw.ctl == MAP_FAILED ||
	    rw.hole == MAP_FAILED) {
		miss("robust worker setup failed: errno %d", errno);
		return;
	}
	munmap(rw.hole, PAGE);
	rw.mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw.mem == MAP_FAILED) {
		miss("mmap: errno %d", errno);
		return;
	}
	for (unsigned long i = 0; !stopping(); i++) {
		here.iter = i;
		count(w, 0, 1);
		robust_round(&rw, &r, i, w);
		reap_finished();
	}
}

/* ------------------------------------------------------------------------------------------
 * PID-namespace churn
 */

struct leaf_report {
	int depth, unpriv;
	int ret_self, ret_info, ret_enc, ret_dec, ret_lev, ret_set_slot, ret_set_pol;
	__u32 set_slot;
	struct gpid_self self;
	struct gpid_ns_info info;
	__u32 enc, lev_count, lev0;
	__s32 dec;
	struct gpid_task_id id;
};

static int ioc(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

/* In the leaf: its own identities, through an inherited or a fresh /dev/gpid. */
static void leaf_calls(struct leaf_report *rep, int gfd, struct rng *r)
{
	struct gpid_encode e = { 0 };
	struct gpid_decode d = { 0 };
	struct gpid_levels l = { 0 };
	struct gpid_ns_set set = { .flags = GPID_NS_SET_SLOT };
	struct gpid_ns_set pol = { .flags = GPID_NS_SET_POLICY, .policy = below(r, 2) };

	rep->ret_self = ioc(gfd, GPID_IOC_SELF, &rep->self);
	rep->ret_info = ioc(gfd, GPID_IOC_NS_INFO, &rep->info);
	rep->ret_enc = ioc(gfd, GPID_IOC_ENCODE, &e);
	rep->enc = e.gpid;
	d.gpid = rep->self.tid;
	rep->ret_dec = ioc(gfd, GPID_IOC_DECODE, &d);
	rep->dec = d.pid;
	rep->ret_lev = ioc(gfd, GPID_IOC_LEVELS, &l);
	rep->lev_count = l.count;
	rep->lev0 = l.gpids[0];
	/* Another slot than its own: EPERM without CAP_CHECKPOINT_RESTORE in the initial userns. */
	do
		set.slot = 1 + below(r, gpid_max_slot());
	while (set.slot == rep->self.slot);
	rep->set_slot = set.slot;
	rep->ret_set_slot = rep->unpriv ? ioc(gfd, GPID_IOC_NS_SET, &set) : 0;
	rep->ret_set_pol = ioc(gfd, GPID_IOC_NS_SET, &pol);
	gpid_task_id(&rep->id);
}

static void *exit_group_thread(void *p)
{
	(void)p;
	syscall(SYS_exit_group, 0);
	return NULL;
}

/* In a new user namespace: uid and gid 0 there, the ids the process had outside. */
static int map_self(uid_t uid, gid_t gid)
{
	char u[32], g[32];

	snprintf(u, sizeof(u), "0 %u 1", uid);
	snprintf(g, sizeof(g), "0 %u 1", gid);
	return gpid_write_file("/proc/self/setgroups", "deny") ||
	       gpid_write_file("/proc/self/uid_map", u) ||
	       gpid_write_file("/proc/self/gid_map", g);
}

/* The chain's top process (in the initial namespace): never returns. */
static void pidns_chain(struct leaf_report *rep, int gfd, int rp, int cp, bool fresh_fd,
			struct rng *r)
{
	char death;
	pthread_t t;

	if (rep->unpriv && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534)))
		_exit(53);
	/* Credential changes clear these: /proc/self/uid_map must stay the process's own. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 1);
	for (int d = 0; d < rep->depth; d++) {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		pid_t pid;
		int st;

		if (unshare(rep->unpriv ? CLONE_NEWUSER | CLONE_NEWPID : CLONE_NEWPID))
			_exit(d == 0 && rep->unpriv ? 50 : 51);
		if (rep->unpriv && map_self(uid, gid))
			_exit(54);
		pid = fork();
		if (pid < 0)
			_exit(52);
		if (pid > 0) {
			close(rp);
			close(cp);
			if (waitpid(pid, &st, 0) != pid)
				_exit(55);
			_exit(gpid_exit_code(st));
		}
		child_setup(15);
	}
	if (fresh_fd) {
		close(gfd);
		gfd = gpid_open();
	}
	leaf_calls(rep, gfd, r);
	if (write(rp, rep, sizeof(*rep)) != sizeof(*rep))
		_exit(56);
	if (read(cp, &death, 1) != 1)
		_exit(57);
	switch (death) {
	case 1:
		if (pthread_create(&t, NULL, exit_group_thread, NULL) == 0)
			for (;;)
				pause();
		_exit(58);
	case 2: {
		char *argv[] = { "fuzz_test", "--exec-child", NULL };

		execve("/proc/self/exe", argv, (char *[]){ NULL });
		_exit(59);
	}
	default:
		_exit(0);
	}
}

static void pidns_check(int w, int gfd, const struct leaf_report *rep)
{
	const char *who = rep->unpriv ? "unprivileged" : "privileged";
	struct gpid_decode d = { .gpid = rep->self.tid };
	struct gpid_levels l = { .pid = rep->id.nspid[0] };
	struct gpid_ns_info info = { .slot = rep->self.slot };
	int ret;

	count(w, 4, 1);
	if (rep->ret_self || !gpid_is_canonical(rep->self.tid, rep->self.slot, rep->id.tid) ||
	    !gpid_is_canonical(rep->self.tgid, rep->self.slot, rep->id.pid) || rep->self.level)
		miss("%s leaf at depth %d: SELF ret %d tid %#x tgid %#x level %u (tid %d pid %d)",
		     who, rep->depth, rep->ret_self, rep->self.tid, rep->self.tgid,
		     rep->self.level, rep->id.tid, rep->id.pid);
	if (rep->ret_info || rep->info.slot != rep->self.slot || rep->info.level ||
	    !(rep->info.state & GPID_NS_LIVE) || rep->info.ino != rep->id.ns_ino)
		miss("%s leaf at depth %d: NS_INFO(0) ret %d slot %u level %u state %u ino %llu "
		     "(SELF slot %u, ino %llu)", who, rep->depth, rep->ret_info, rep->info.slot,
		     rep->info.level, rep->info.state, (unsigned long long)rep->info.ino,
		     rep->self.slot, rep->id.ns_ino);
	if (rep->ret_enc || rep->enc != rep->self.tid)
		miss("%s leaf: ENCODE(0) ret %d gpid %#x, SELF tid %#x", who, rep->ret_enc,
		     rep->enc, rep->self.tid);
	if (rep->ret_dec || rep->dec != rep->id.tid)
		miss("%s leaf: DECODE(own gpid) ret %d pid %d, tid %d", who, rep->ret_dec,
		     rep->dec, rep->id.tid);
	if (rep->ret_lev || rep->lev_count != 1 || rep->lev0 != rep->self.tid)
		miss("%s leaf: LEVELS(0) ret %d count %u [0] %#x", who, rep->ret_lev,
		     rep->lev_count, rep->lev0);
	if (rep->unpriv && rep->ret_set_slot != EPERM)
		miss("unprivileged leaf: NS_SET slot %u: errno %d, want EPERM", rep->set_slot,
		     rep->ret_set_slot);
	if (rep->ret_set_pol)
		miss("%s leaf: NS_SET policy of its own namespace: errno %d", who,
		     rep->ret_set_pol);
	/* From the initial namespace: the same task at every level. */
	count(w, 5, 1);
	if (rep->id.level != rep->depth)
		miss("%s leaf: NSpid has level %d, depth %d", who, rep->id.level, rep->depth);
	ret = ioc(gfd, GPID_IOC_DECODE, &d);
	if (ret || d.pid != rep->id.nspid[0])
		miss("DECODE of a depth-%d leaf's gpid %#x: ret %d pid %d, want %d", rep->depth,
		     rep->self.tid, ret, d.pid, rep->id.nspid[0]);
	ret = ioc(gfd, GPID_IOC_LEVELS, &l);
	if (ret || l.count != (__u32)rep->depth + 1 || l.gpids[0] != rep->self.tid)
		miss("LEVELS of a depth-%d leaf (pid %d): ret %d count %u [0] %#x, want %#x",
		     rep->depth, rep->id.nspid[0], ret, l.count, l.gpids[0], rep->self.tid);
	ret = ioc(gfd, GPID_IOC_NS_INFO, &info);
	if (ret || info.level != (__u32)rep->depth || !(info.state & GPID_NS_LIVE) ||
	    info.ino != rep->id.ns_ino)
		miss("NS_INFO(%u) of a live depth-%d namespace: ret %d level %u state %u",
		     rep->self.slot, rep->depth, ret, info.level, info.state);
}

/* Once every task of the leaf's namespace is reaped, its slot no longer reports it live. */
static void pidns_check_dead(int w, int gfd, const struct leaf_report *rep)
{
	for (int i = 0; i < 200; i++) {
		struct gpid_ns_info info = { .slot = rep->self.slot };
		int ret = ioc(gfd, GPID_IOC_NS_INFO, &info);

		if (ret == ENOENT || (!ret && (!(info.state & GPID_NS_LIVE) ||
					       info.ino != rep->id.ns_ino))) {
			count(w, 6, 1);
			return;
		}
		if (ret) {
			miss("NS_INFO(%u) of a dead namespace: errno %d", rep->self.slot, ret);
			return;
		}
		usleep(10000);
	}
	miss("namespace slot %u (depth %d) still GPID_NS_LIVE 2 s after its tasks were reaped",
	     rep->self.slot, rep->depth);
}

static void pidns_worker(int w)
{
	struct rng r;
	int gfd = worker_start(w, &r);

	if (gfd < 0)
		return;
	for (unsigned long i = 0; !stopping(); i++) {
		struct leaf_report rep = { .depth = 1 + below(&r, 3), .unpriv = chance(&r, 50) };
		char death = below(&r, 4);	/* 0 exit, 1 exit_group, 2 execve, 3 SIGKILL */
		int rp[2], cp[2], code, want;
		bool fresh = chance(&r, 50);
		pid_t pid;

		here.iter = i;
		count(w, 0, 1);
		count(w, rep.unpriv ? 1 : 2, 1);
		count_max(w, 7, rep.depth);
		if (pipe2(rp, O_CLOEXEC) || pipe2(cp, O_CLOEXEC)) {
			miss("pipe: errno %d", errno);
			return;
		}
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			child_setup(15);
			close(rp[0]);
			close(cp[1]);
			pidns_chain(&rep, gfd, rp[1], cp[0], fresh, &r);
		}
		close(rp[1]);
		close(cp[0]);
		if (pid < 0) {
			miss("fork: errno %d", errno);
			close(rp[0]);
			close(cp[1]);
			continue;
		}
		if (gpid_wait_readable(rp[0], 10000) == 0 &&
		    read(rp[0], &rep, sizeof(rep)) == sizeof(rep)) {
			pidns_check(w, gfd, &rep);
			if (death == 3)
				kill(pid, SIGKILL);
			else if (write(cp[1], &death, 1) != 1)
				miss("cannot tell the leaf how to die");
			want = death == 3 ? 128 + SIGKILL : 0;
		} else {
			want = -3;	/* no report: see the exit code */
		}
		close(rp[0]);
		close(cp[1]);
		code = gpid_reap_timeout(pid, 10000);
		if (code == 50) {
			count(w, 3, 1);	/* unprivileged user namespaces refused here */
			continue;
		}
		if (code != want)
			miss("%s chain of depth %d (death %d): exit code %d, want %d",
			     rep.unpriv ? "unprivileged" : "privileged", rep.depth, death, code,
			     want);
		else
			pidns_check_dead(w, gfd, &rep);
		reap_finished();
	}
	close(gfd);
}

/* ------------------------------------------------------------------------------------------
 * Unloading while open
 */

static void read_proc_files(void)
{
	static char buf[65536];
	DIR *d = opendir("/proc/gpid");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/gpid/%s", e->d_name);
		gpid_read_all(path, buf, sizeof(buf));
	}
	closedir(d);
}

static void unload_worker(int w)
{
	struct rng r;
	int fd = worker_start(w, &r);

	if (fd < 0)
		return;
	for (unsigned long i = 0; !stopping(); i++) {
		here.iter = i;
		count(w, 0, 1);
		if (syscall(SYS_delete_module, "gpid", O_NONBLOCK) == 0) {
			count(w, 2, 1);
			miss("delete_module(\"gpid\") succeeded while /dev/gpid was open");
			atomic_fetch_add(&sh->reloads, 1);
			close(fd);
			if (gpid_load_module() == 0) {
				count(w, 3, 1);
				gpid_wait_path(GPID_DEVICE_PATH, 1);
			}
			fd = gpid_open();
		} else if (errno == EWOULDBLOCK || errno == EBUSY) {
			count(w, 1, 1);
		} else {
			miss("delete_module(\"gpid\"): errno %d, want EWOULDBLOCK or EBUSY", errno);
		}
		read_proc_files();
		count(w, 4, 1);
		for (int j = 0; j < 4; j++) {
			int f2 = gpid_open();

			if (f2 >= 0) {
				count(w, 5, 1);
				close(f2);
			}
		}
		usleep(10000 + below(&r, 50000));
	}
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------------------------------------------------
 * The parent: start, deadline, reaping, final checks
 */

#define GRACE_SECONDS	40	/* after the deadline, for a round in progress to finish */

/* The counters of /proc/gpid/robust. */
struct drops {
	int n;
	char name[32][64];
	long long v[32];
};

/* Those that count lost work: any *_lost or *_dropped. */
static bool is_drop(const char *name)
{
	size_t len = strlen(name);

	return (len > 8 && !strcmp(name + len - 8, "_dropped")) ||
	       (len > 5 && !strcmp(name + len - 5, "_lost"));
}

static void read_drops(struct drops *d)
{
	char buf[4096], *line, *save;

	d->n = 0;
	if (gpid_read_file("/proc/gpid/robust", buf, sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line && d->n < 32;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		long long v;

		if (sscanf(line, "%63s %lld", name, &v) != 2)
			continue;
		snprintf(d->name[d->n], sizeof(d->name[0]), "%s", name);
		d->v[d->n++] = v;
	}
}

static int module_refcnt(void)
{
	char buf[32];

	if (gpid_read_file("/sys/module/gpid/refcnt", buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

static bool kmsg_bad(const char *text)
{
	static const char *const bad[] = { "BUG:", "WARNING:", "KASAN", "Oops", "lockdep",
					   "possible circular locking", "INFO: task", "kmemleak" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(text, bad[i]))
			return true;
	return false;
}

/* Reads the kernel log from where fd stands; prints and counts the report lines. */
static int kmsg_reports(int fd)
{
	char rec[8192];
	int bad = 0;

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *text;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on with the next one */
		if (n <= 0)
			break;
		rec[n] = '\0';
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		if (kmsg_bad(text)) {
			if (bad++ < 30)
				say("# kernel: %.*s", (int)strcspn(text, "\n"), text);
		}
	}
	return bad;
}

/* Where kmemleak exists: one scan now; its report, if any, is printed and counted. */
static int kmemleak_reports(void)
{
	static char buf[65536];
	int n, lines = 0;

	if (access("/sys/kernel/debug/kmemleak", W_OK))
		return 0;
	if (gpid_write_file("/sys/kernel/debug/kmemleak", "scan"))
		return 0;
	n = gpid_read_all("/sys/kernel/debug/kmemleak", buf, sizeof(buf));
	if (n <= 0)
		return 0;
	for (char *l = buf, *nl; *l && lines < 40; l = nl + 1, lines++) {
		nl = strchr(l, '\n');
		if (!nl)
			break;
		say("# kmemleak: %.*s", (int)(nl - l), l);
	}
	return 1;
}

/* SIGKILLs every child (orphans handed to this subreaper included); how many were left. */
static int kill_children(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], buf[4096], *p, *end;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
		if (gpid_read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		for (p = buf;; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0 && !kill(pid, SIGKILL))
				n++;
		}
	}
	closedir(d);
	return n;
}

static int only_mask(void)
{
	const char *only = getenv("GPID_FUZZ_ONLY");
	int mask = 0;

	if (!only || !*only)
		return (1 << NWORKERS) - 1;
	for (int w = 0; w < NWORKERS; w++) {
		const char *p = strstr(only, wname[w]);
		size_t len = strlen(wname[w]);

		if (p && (p == only || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			mask |= 1 << w;
	}
	return mask;
}

static void run_worker(int w)
{
	switch (w) {
	case W_IOCTL_INIT:
	case W_IOCTL_NS:
		ioctl_worker(w);
		break;
	case W_ROBUST:
		robust_worker(w);
		break;
	case W_PIDNS:
		pidns_worker(w);
		break;
	case W_UNLOAD:
		unload_worker(w);
		break;
	}
}

static void print_counters(int w)
{
	char line[900];
	int n = snprintf(line, sizeof(line), "# %s:", wname[w]);

	for (int c = 0; c < NCOUNTERS && cname[w][c] && n < (int)sizeof(line) - 40; c++)
		n += snprintf(line + n, sizeof(line) - n, " %s=%lu", cname[w][c],
			      atomic_load(&sh->w[w].c[c]));
	snprintf(line + n, sizeof(line) - n, " misses=%lu", atomic_load(&sh->w[w].misses));
	say("%s", line);
}

static void result(int n, bool ok, const char *name)
{
	if (ok)
		ksft_test_result_pass("%s\n", name);
	else
		ksft_test_result_fail("%s\n", name);
	(void)n;
}

int main(int argc, char **argv)
{
	const char *env;
	int mask, refcnt0, kmsg = -1, fd, status[NWORKERS] = { 0 }, stragglers = 0;
	pid_t pids[NWORKERS] = { 0 };
	bool done[NWORKERS] = { false }, loaded;
	struct gpid_version v;
	struct drops d0, d1;

	if (argc > 1 && !strcmp(argv[1], "--exec-child"))
		_exit(0);	/* what the owners and leaves that die by execve run */
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (int i = 0; i < NWORKERS; i++)
			printf("%s\n", wtest[i]);
		for (int i = NWORKERS; i < NTESTS; i++)
			printf("%s\n", final_test[i - NWORKERS]);
		return KSFT_SKIP;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: %s [-l]   (env: GPID_FUZZ_SECONDS, GPID_FUZZ_SEED, "
			"GPID_FUZZ_ONLY=ioctl-init,ioctl-ns,robust,pidns,unload)\n", argv[0]);
		return KSFT_FAIL;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return KSFT_FAIL;
	env = getenv("GPID_FUZZ_SECONDS");
	if (env && atoi(env) > 0)
		fuzz_seconds = atoi(env);
	env = getenv("GPID_FUZZ_SEED");
	sh->seed = env && *env ? strtoull(env, NULL, 0) : (unsigned long long)time(NULL) ^
							    ((unsigned long long)getpid() << 32);
	mask = only_mask();
	ksft_print_header();
	ksft_set_plan(NTESTS);
	ksft_print_msg("seed %llu, %d s (replay: GPID_FUZZ_SEED=%llu GPID_FUZZ_SECONDS=%d)\n",
		       sh->seed, fuzz_seconds, sh->seed, fuzz_seconds);
	if (!gpid_module_loaded() && gpid_load_module() == 0)
		gpid_wait_path(GPID_DEVICE_PATH, 1);
	fd = gpid_open();
	if (fd < 0 || ioctl(fd, GPID_IOC_VERSION, &v)) {
		ksft_print_msg("/dev/gpid: %s\n", strerror(errno));
		for (int i = 0; i < NTESTS; i++)
			ksft_test_result_skip("%s\n", i < NWORKERS ? wtest[i]
								 : final_test[i - NWORKERS]);
		ksft_finished();
	}
	sh->pid_bits = v.pid_bits;
	/* Every worker inherits the layout (gpid_make(), gpid_split()) from here. */
	if (gpid_layout_refresh())
		ksft_print_msg("the layout is unknown: gpids are not checked against it\n");
	close(fd);
	refcnt0 = module_refcnt();
	read_drops(&d0);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	else
		ksft_print_msg("/dev/kmsg: %s: the kernel log is not checked\n", strerror(errno));
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	fflush(NULL);
	sh->deadline_ns = now_ns() + fuzz_seconds * SEC_NS;
	for (int w = 0; w < NWORKERS; w++) {
		if (!(mask & (1 << w)))
			continue;
		pids[w] = fork();
		if (pids[w] == 0) {
			child_setup(fuzz_seconds + GRACE_SECONDS + 20);
			here = (struct where){ .w = w };
			run_worker(w);
			_exit(0);
		}
		if (pids[w] < 0) {
			ksft_print_msg("fork: %s\n", strerror(errno));
			done[w] = true;
			status[w] = -1;
		}
	}
	/* Until the deadline plus the grace period: reap whatever ends. */
	for (;;) {
		bool all = true;
		int st;
		pid_t r;

		while ((r = waitpid(-1, &st, WNOHANG)) > 0)
			for (int w = 0; w < NWORKERS; w++)
				if (pids[w] == r) {
					done[w] = true;
					status[w] = gpid_exit_code(st);
				}
		for (int w = 0; w < NWORKERS; w++)
			all &= !pids[w] || done[w];
		if (all || now_ns() > sh->deadline_ns + GRACE_SECONDS * SEC_NS)
			break;
		if (now_ns() >= sh->deadline_ns)
			atomic_store(&sh->stop, 1);
		usleep(50000);
	}
	atomic_store(&sh->stop, 1);
	for (int w = 0; w < NWORKERS; w++)
		if (pids[w] > 0 && !done[w])
			ksft_print_msg("worker %s did not finish %d s after the deadline\n", wname[w],
				       GRACE_SECONDS);
	/* Everything left is killed and reaped, boundedly. */
	for (int i = 0; i < 100; i++) {
		int n = kill_children(), st;
		pid_t r;

		if (i == 0)
			stragglers = n;
		while ((r = waitpid(-1, &st, WNOHANG)) > 0)
			for (int w = 0; w < NWORKERS; w++)
				if (pids[w] == r && !done[w])
					status[w] = -1;
		if (r < 0 && errno == ECHILD)
			break;
		if (i == 99)
			ksft_print_msg("children left that could not be reaped in 10 s\n");
		usleep(100000);
	}
	if (stragglers)
		ksft_print_msg("%d processes were left at the end and killed\n", stragglers);
	for (int w = 0; w < NWORKERS; w++)
		if (mask & (1 << w))
			print_counters(w);
	for (int i = 0; i < NKINDS && atomic_load(&sh->kinds[i].fmt); i++)
		ksft_print_msg("misses of %s: %lu x \"%s\"\n", wname[sh->kinds[i].w],
			       atomic_load(&sh->kinds[i].n), atomic_load(&sh->kinds[i].fmt));

	for (int w = 0; w < NWORKERS; w++) {
		if (!(mask & (1 << w))) {
			ksft_test_result_skip("%s (not in GPID_FUZZ_ONLY)\n", wtest[w]);
			continue;
		}
		if (status[w])
			ksft_print_msg("worker %s ended with code %d\n", wname[w], status[w]);
		result(w, !status[w] && !atomic_load(&sh->w[w].misses), wtest[w]);
	}
	{
		bool finished = true;

		for (int w = 0; w < NWORKERS; w++)
			finished &= !pids[w] || (done[w] && status[w] >= 0 && status[w] != 124 &&
						 status[w] != 128 + SIGKILL);
		result(T_WORKERS_FINISHED, finished, final_test[0]);
	}
	{
		int leaks = kmemleak_reports(), bad = kmsg_reports(kmsg);

		if (leaks)
			ksft_print_msg("kmemleak reports suspected leaks (above)\n");
		result(T_KERNEL_LOG, kmsg >= 0 && !bad && !leaks, final_test[1]);
	}
	{
		int now = module_refcnt();

		for (int i = 0; i < 50 && now != refcnt0; i++) {
			usleep(100000);
			now = module_refcnt();
		}
		if (now != refcnt0)
			ksft_print_msg("/sys/module/gpid/refcnt %d at the start, %d at the end\n",
				       refcnt0, now);
		result(T_REFCNT, now == refcnt0, final_test[2]);
	}
	{
		bool found = false, grew = false;
		char line[1024];
		int n = snprintf(line, sizeof(line), "/proc/gpid/robust during the run:");

		read_drops(&d1);
		for (int i = 0; i < d0.n; i++)
			for (int j = 0; j < d1.n; j++) {
				if (strcmp(d0.name[i], d1.name[j]))
					continue;
				if (n < (int)sizeof(line) - 80)
					n += snprintf(line + n, sizeof(line) - n, " %s %+lld",
						      d0.name[i], d1.v[j] - d0.v[i]);
				if (!is_drop(d0.name[i]))
					continue;
				found |= !strcmp(d0.name[i], "fallbacks_lost");
				if (d1.v[j] != d0.v[i]) {
					ksft_print_msg("%s grew: %lld -> %lld\n", d0.name[i],
						       d0.v[i], d1.v[j]);
					grew = true;
				}
			}
		ksft_print_msg("%s\n", line);
		if (!found)
			ksft_print_msg("/proc/gpid/robust has no fallbacks_lost counter\n");
		result(T_ROBUST_DROPS, found && !grew, final_test[3]);
	}
	loaded = gpid_module_loaded();
	if (!loaded) {
		ksft_print_msg("gpid was unloaded: loading it again\n");
		gpid_load_module();
	}
	result(T_LOADED, loaded && gpid_wait_path(GPID_DEVICE_PATH, 1), final_test[4]);
	ksft_finished();
}
