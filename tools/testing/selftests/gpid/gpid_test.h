/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the gpid selftests. */
#ifndef GPID_TEST_H
#define GPID_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/gpid.h>

#define GPID_MODULE_PATH "/lib/modules/gpid.ko"

/* Set while gpid_lay (below) describes the loaded module; every load and unload clears it. */
static int gpid_lay_valid __attribute__((unused));

/* Reads a whole small file into buf (NUL-terminated); returns its length or -errno. */
static inline int gpid_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	buf[n] = '\0';
	close(fd);
	return n;
}

/* Returns 0 on success or -errno: the raw syscalls, so errnos are the kernel's own. */
static inline int gpid_load_module(void)
{
	int fd = open(GPID_MODULE_PATH, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	gpid_lay_valid = 0;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static inline int gpid_unload_module(void)
{
	gpid_lay_valid = 0;
	return syscall(SYS_delete_module, "gpid", O_NONBLOCK) ? -errno : 0;
}

static inline int gpid_module_loaded(void)
{
	return access("/sys/module/gpid", F_OK) == 0;
}

/* ------------------------------------------------------------------------------------------
 * Module parameters
 */

/*
 * The defaults of the layout parameters pid_bits, narrow_bits and wide_slots (0: as many as
 * the module chooses, capped to the room). The counts of slots (W, N) and narrow_start are
 * never assumed: tests read them from GPID_IOC_VERSION.
 */
#define GPID_DEFAULT_PID_BITS	22
#define GPID_DEFAULT_NARROW_BITS	16
#define GPID_DEFAULT_WIDE_SLOTS	0
#define GPID_HELPER		static __attribute__((unused))

GPID_HELPER int gpid_layout_refresh(void);

/* finit_module() with a parameter string ("pid_bits=16"): 0 or -errno. */
GPID_HELPER int gpid_load_module_params(const char *params)
{
	int fd = open(GPID_MODULE_PATH, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	gpid_lay_valid = 0;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * In a test's tree of namespaces given as parent indexes (-1 for the root), whether a task
 * of namespace o sees namespace n: o is n or one of its ancestors.
 */
GPID_HELPER int gpid_ns_sees(const int *parent, int o, int n)
{
	for (; n >= 0; n = parent[n])
		if (n == o)
			return 1;
	return 0;
}

/* Waits (up to 2 s) for a path to appear or disappear: devtmpfs works asynchronously. */
GPID_HELPER int gpid_wait_path(const char *path, int present)
{
	for (int i = 0; i < 200; i++) {
		if ((access(path, F_OK) == 0) == present)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* Unloads (if loaded; retrying while a dying process still holds /dev/gpid), then waits. */
GPID_HELPER int gpid_unload_module_wait(void)
{
	int ret = 0;

	if (!gpid_module_loaded())
		return 0;
	for (int i = 0; i < 100; i++) {
		ret = gpid_unload_module();
		if (ret != -EWOULDBLOCK)
			break;
		usleep(20000);
	}
	if (!ret)
		gpid_wait_path(GPID_DEVICE_PATH, 0);
	return ret;
}

/*
 * Unload if loaded, load with params, wait for /dev/gpid: a fresh module, whose layout
 * gpid_make() and gpid_split() then use. 0 or -errno.
 */
GPID_HELPER int gpid_reload_module(const char *params)
{
	int ret = gpid_unload_module_wait();

	if (ret)
		return ret;
	ret = gpid_load_module_params(params);
	if (ret)
		return ret;
	if (!gpid_wait_path(GPID_DEVICE_PATH, 1))
		return -ENODEV;
	return gpid_layout_refresh();
}

/* pid_bits of the loaded module, from /proc/gpid/version; -1 when unknown. */
GPID_HELPER int gpid_current_pid_bits(void)
{
	char buf[256], *p;
	int n = gpid_read_file("/proc/gpid/version", buf, sizeof(buf));

	if (n < 0)
		return -1;
	p = strstr(buf, "pid_bits ");
	return p ? atoi(p + 9) : -1;
}

GPID_HELPER int gpid_read_int(const char *path)
{
	char buf[64];

	if (gpid_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

/* Writes a whole string to a file: 0 or -errno. */
GPID_HELPER int gpid_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : (n == (ssize_t)strlen(s) ? 0 : -EIO);
	close(fd);
	return n;
}

GPID_HELPER int gpid_write_int(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return gpid_write_file(path, buf);
}

/* Reads a whole file (any size up to size - 1) into buf: its length or -errno. */
GPID_HELPER int gpid_read_all(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return len;
}

/* ------------------------------------------------------------------------------------------
 * Global-PID ioctls, each on a fresh fd so that no fd stays open across module reloads.
 * They return 0 or -errno.
 */

GPID_HELPER int gpid_ioctl(unsigned long cmd, void *arg)
{
	int fd = open(GPID_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, cmd, arg) ? -errno : 0;
	close(fd);
	return ret;
}

/* ------------------------------------------------------------------------------------------
 * The layout of gpid values, as GPID_IOC_VERSION reports it (include/uapi/linux/gpid.h):
 *
 *   value < 2^pid_bits           plain: a PID in the caller's own namespace (slot id 0)
 *   wide slot s, 1..W            (s << pid_bits) | nr
 *   narrow slot s, W+1..W+N      narrow_start + ((s - W - 1) << narrow_bits) + nr
 *   narrow_end..GPID_MASK        nothing
 *
 * Read once per module load (gpid_reload_module() reads it again; any load or unload makes
 * the next use read it), in the process that uses it.
 */

/*
 * ABI 1's form of GPID_IOC_VERSION (the first three fields, 16 bytes): ABI 2 still answers it,
 * with its own abi_version, so that an ABI 1 client learns it must stop.
 */
struct gpid_version_v1 {
	__u32 abi_version;
	__u32 pid_bits;
	__u64 features;
};

#define GPID_IOC_VERSION_V1	_IOR(GPID_IOC_MAGIC, 0x00, struct gpid_version_v1)

/*
 * What DECODE answers for a value whose PID part is 0 (0 itself, the first value of each
 * slot): EINVAL, as for every value that is no gpid in any state of the registry (the header's
 * rule; ABI 1 answered the same), whichever slot, free or bound, it lies in.
 */
#define GPID_PART0_ERR	EINVAL

struct gpid_layout {
	__u32 pid_bits, narrow_bits;
	__u32 wide_slots, narrow_slots;	/* W and N */
	__u32 narrow_start;		/* the first value of narrow slot W + 1 */
	__u32 narrow_end;		/* the first value past narrow slot W + N */
	__u32 max_slot;			/* W + N, the largest slot id */
};

static struct gpid_layout gpid_lay __attribute__((unused));

/* Reads the layout of the loaded module: 0 or -errno (then it stays unknown). */
GPID_HELPER int gpid_layout_refresh(void)
{
	struct gpid_version v;
	int ret;

	gpid_lay_valid = 0;
	memset(&v, 0, sizeof(v));
	ret = gpid_ioctl(GPID_IOC_VERSION, &v);
	if (ret) {
		fprintf(stderr, "# gpid layout: GPID_IOC_VERSION: %s\n", strerror(-ret));
		return ret;
	}
	gpid_lay = (struct gpid_layout){
		.pid_bits = v.pid_bits, .narrow_bits = v.narrow_bits,
		.wide_slots = v.wide_slots, .narrow_slots = v.narrow_slots,
		.narrow_start = v.narrow_start,
		.narrow_end = v.narrow_start + (v.narrow_slots << v.narrow_bits),
		.max_slot = v.wide_slots + v.narrow_slots,
	};
	gpid_lay_valid = 1;
	return 0;
}

/* The layout of the loaded module (read now if not known yet), or NULL. */
GPID_HELPER const struct gpid_layout *gpid_layout(void)
{
	if (!gpid_lay_valid && gpid_layout_refresh())
		return NULL;
	return &gpid_lay;
}

/* Whether slot id s is a wide slot (1..W); ids W+1..W+N are narrow. */
GPID_HELPER int gpid_slot_is_wide(__u32 s)
{
	const struct gpid_layout *l = gpid_layout();

	return l && s >= 1 && s <= l->wide_slots;
}

/* The first narrow slot id, W + 1: the one a fresh module binds a new namespace to first. */
GPID_HELPER __u32 gpid_first_narrow(void)
{
	const struct gpid_layout *l = gpid_layout();

	return l ? l->wide_slots + 1 : 0;
}

/* The largest slot id, W + N. */
GPID_HELPER __u32 gpid_max_slot(void)
{
	const struct gpid_layout *l = gpid_layout();

	return l ? l->max_slot : 0;
}

/* The largest PID slot id s holds (0: the plain range). */
GPID_HELPER __u32 gpid_slot_max_nr(__u32 s)
{
	const struct gpid_layout *l = gpid_layout();

	if (!l)
		return 0;
	return (1U << (s > l->wide_slots ? l->narrow_bits : l->pid_bits)) - 1;
}

/*
 * The value of PID nr in slot id s (0: the plain value nr); nr 0 gives the slot's first value,
 * which names nothing. A slot id the layout does not have, or an nr the slot cannot hold,
 * gives GPID_MASK + 1, which every command refuses (EINVAL).
 */
GPID_HELPER __u32 gpid_make(__u32 s, __u32 nr)
{
	const struct gpid_layout *l = gpid_layout();

	if (!l || s > l->max_slot || nr > gpid_slot_max_nr(s))
		return GPID_MASK + 1;
	if (s <= l->wide_slots)
		return (s << l->pid_bits) | nr;
	return l->narrow_start + ((s - l->wide_slots - 1) << l->narrow_bits) + nr;
}

/*
 * Takes value v apart into its slot id (0: plain) and PID. 0 for a value of that form with a
 * PID part other than 0; -ESRCH for one that names nothing by its form alone (PID part 0, or
 * past the last narrow slot: *s and *nr are then 0 there); -EINVAL above GPID_MASK.
 */
GPID_HELPER int gpid_split(__u32 v, __u32 *s, __u32 *nr)
{
	const struct gpid_layout *l = gpid_layout();

	*s = *nr = 0;
	if (!l || v > GPID_MASK)
		return -EINVAL;
	if (v < l->narrow_start) {
		*s = v >> l->pid_bits;
		*nr = v & ((1U << l->pid_bits) - 1);
	} else if (v < l->narrow_end) {
		*s = l->wide_slots + 1 + ((v - l->narrow_start) >> l->narrow_bits);
		*nr = (v - l->narrow_start) & ((1U << l->narrow_bits) - 1);
	}
	return *nr ? 0 : -ESRCH;
}

/*
 * Whether v is the canonical form of PID nr of a namespace whose owner slot is owner: in the
 * owner slot when that one holds nr (a wide owner holds every PID), else in a wide slot (the
 * one a promotion added beside the narrow owner).
 */
GPID_HELPER int gpid_is_canonical(__u32 v, __u32 owner, __u32 nr)
{
	__u32 s, n;

	if (gpid_split(v, &s, &n) || n != nr || !owner)
		return 0;
	if (nr <= gpid_slot_max_nr(owner))
		return s == owner;
	return s != owner && gpid_slot_is_wide(s);
}

/*
 * The canonical gpid of PID nr of a namespace with owner slot owner and promoted wide slot
 * wide (0: none), as NS_INFO reports them: in the owner slot if it holds nr, else in wide.
 */
GPID_HELPER __u32 gpid_canonical(__u32 owner, __u32 wide, __u32 nr)
{
	if (nr <= gpid_slot_max_nr(owner))
		return gpid_make(owner, nr);
	return wide ? gpid_make(wide, nr) : GPID_MASK + 1;
}

/* Whether the loaded module has the default layout: its layout parameters are the defaults. */
GPID_HELPER int gpid_layout_is_default(void)
{
	return gpid_module_loaded() &&
	       gpid_read_int("/sys/module/gpid/parameters/pid_bits") == GPID_DEFAULT_PID_BITS &&
	       gpid_read_int("/sys/module/gpid/parameters/narrow_bits") ==
		       GPID_DEFAULT_NARROW_BITS &&
	       gpid_read_int("/sys/module/gpid/parameters/wide_slots") == GPID_DEFAULT_WIDE_SLOTS;
}

/*
 * How many wide slots of pid_bits fit above the plain range, and how many narrow slots of
 * narrow_bits then fit above w wide ones (N is always all of them).
 */
GPID_HELPER __u32 gpid_wide_room(__u32 pid_bits)
{
	return (1U << (30 - pid_bits)) - 1;
}

/* The most narrow slots the module gives a layout (their tables are preallocated). */
#define GPID_MAX_NARROW_SLOTS	65536U

/* N for W wide slots: every narrow slot that fits above them, at most GPID_MAX_NARROW_SLOTS. */
GPID_HELPER __u32 gpid_narrow_room(__u32 pid_bits, __u32 narrow_bits, __u32 w)
{
	__u32 room = ((1U << 30) - ((w + 1) << pid_bits)) >> narrow_bits;

	return room < GPID_MAX_NARROW_SLOTS ? room : GPID_MAX_NARROW_SLOTS;
}

/* The slot id of value v (0 for a plain value and for one gpid_split() refuses). */
GPID_HELPER __u32 gpid_slot_of(__u32 v)
{
	__u32 s, nr;

	return gpid_split(v, &s, &nr) ? 0 : s;
}

GPID_HELPER int gpid_decode_batch_local(const __u32 *gpids, __s32 *pids, __u32 count)
{
	struct gpid_decode_batch b = {
		.gpids = (uintptr_t)gpids, .pids = (uintptr_t)pids, .count = count,
	};

	return gpid_ioctl(GPID_IOC_DECODE_BATCH, &b);
}

/* ------------------------------------------------------------------------------------------
 * Who a task is: its PID at every level (NSpid) and its PID namespace.
 */

struct gpid_task_id {
	int level;			/* level of its PID namespace */
	int pid, tid;			/* getpid(), gettid(): in its own namespace */
	int nspid[GPID_MAX_LEVELS + 1];	/* NSpid of /proc/thread-self/status: [0] in the
					 * initial namespace (the guest's /proc), [level] own */
	unsigned long long ns_ino;	/* st_ino of /proc/thread-self/ns/pid */
};

GPID_HELPER int gpid_task_id(struct gpid_task_id *id)
{
	char buf[4096], *p;
	struct stat st;
	int n = 0;

	memset(id, 0, sizeof(*id));
	id->pid = getpid();
	id->tid = gettid();
	if (gpid_read_file("/proc/thread-self/status", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return -1;
	p += strlen("\nNSpid:");
	while (n <= GPID_MAX_LEVELS) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		id->nspid[n++] = v;
		p = end;
	}
	if (n == 0 || stat("/proc/thread-self/ns/pid", &st))
		return -1;
	id->level = n - 1;
	id->ns_ino = st.st_ino;
	return 0;
}

/* ------------------------------------------------------------------------------------------
 * Children of the test process: every one is tracked, killed and reaped by gpid_reap_all()
 * (call it from a fixture teardown). The test process should be a child subreaper
 * (PR_SET_CHILD_SUBREAPER) so that orphans of its children come back to it to be reaped.
 */

#define GPID_MAX_CHILDREN	1024
static pid_t gpid_children[GPID_MAX_CHILDREN] __attribute__((unused));
static int gpid_nchildren __attribute__((unused));

GPID_HELPER void gpid_track(pid_t pid)
{
	if (pid > 0 && gpid_nchildren < GPID_MAX_CHILDREN)
		gpid_children[gpid_nchildren++] = pid;
}

GPID_HELPER void gpid_untrack(pid_t pid)
{
	for (int i = 0; i < gpid_nchildren; i++) {
		if (gpid_children[i] == pid) {
			gpid_children[i] = gpid_children[--gpid_nchildren];
			return;
		}
	}
}

/* waitpid() for a tracked child: its status, or -1. */
GPID_HELPER int gpid_reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	gpid_untrack(pid);
	return status;
}

/* Kills every tracked child and reaps every child, orphans handed to us included. */
GPID_HELPER void gpid_reap_all(void)
{
	for (int i = 0; i < gpid_nchildren; i++)
		kill(gpid_children[i], SIGKILL);
	gpid_nchildren = 0;
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

/* A wait status as the shell shows it: the exit code, or 128 + the signal that killed it. */
GPID_HELPER int gpid_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * Waits up to ms for pid: its gpid_exit_code(); -1 when it did not end in time (it is then
 * SIGKILLed and reaped, waiting at most another 2 s); -2 when it cannot be waited for.
 */
GPID_HELPER int gpid_reap_timeout(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return gpid_exit_code(st);
		if (r < 0 && errno != EINTR)
			return -2;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	for (int i = 0; i < 2000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(1000);
	}
	return -1;
}

/* fork(), or with newns a fork into a new PID namespace (the child is its PID 1). */
GPID_HELPER pid_t gpid_fork(int newns)
{
	if (!newns)
		return fork();
	return syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
}

/* In a new child: die with the parent, keep only fds 0-2 and keep_fd. */
GPID_HELPER void gpid_child_init(int keep_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (keep_fd > 3)
		syscall(SYS_close_range, 3, keep_fd - 1, 0);
	syscall(SYS_close_range, keep_fd + 1, ~0U, 0);
}

GPID_HELPER int gpid_wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : (n == 0 ? -ETIMEDOUT : -errno);
}

/*
 * A sleeper: a child (in a new PID namespace with newns) that reports its gpid_task_id and
 * then sleeps until killed. With want > 0 it gets that PID in the caller's namespace
 * (ns_last_pid = want - 1: meant for a namespace where nothing else forks). Returns its PID
 * in the caller's view, or -errno.
 */
GPID_HELPER pid_t gpid_sleeper(int newns, int want, struct gpid_task_id *id)
{
	int p[2], ret;
	pid_t pid;

	memset(id, 0, sizeof(*id));
	if (want > 0) {
		ret = gpid_write_int("/proc/sys/kernel/ns_last_pid", want - 1);
		if (ret)
			return ret;
	}
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = gpid_fork(newns);
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		struct gpid_task_id me;

		gpid_child_init(p[1]);
		if (gpid_task_id(&me))
			_exit(1);
		if (write(p[1], &me, sizeof(me)) != sizeof(me))
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	ret = gpid_wait_readable(p[0], 20000);
	if (!ret && read(p[0], id, sizeof(*id)) != sizeof(*id))
		ret = -EIO;
	close(p[0]);
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return ret;
	}
	return pid;
}

/* ------------------------------------------------------------------------------------------
 * Agents: processes (usually the PID 1 of a new PID namespace) that run requests for the test
 * over a SOCK_SEQPACKET socket, so that the test process asserts on everything itself.
 * An agent exits on EOF, dies with its parent (PDEATHSIG) and, as a PID 1, takes its whole
 * namespace with it. Agents never assert; they only report.
 */

enum gpid_agent_op {
	GPID_AG_ID = 1,		/* -> data: struct gpid_task_id */
	GPID_AG_IOCTL,		/* cmd, data: arg -> ret, data: arg after */
	GPID_AG_BATCH,		/* a: count, data: gpids -> ret, data: pids */
	GPID_AG_SPAWN,		/* a: newns -> ret: PID (agent's view), SCM_RIGHTS: socket */
	GPID_AG_WAIT,		/* a: PID -> ret: PID or -errno, a: status */
	GPID_AG_EXIT,		/* -> 0, then _exit(0) */
	GPID_AG_READ,		/* data: path -> ret: length or -errno, data: contents */
	GPID_AG_WRITE,		/* data: "path\0contents" -> 0 or -errno */
	GPID_AG_SLEEPER,	/* a: wanted PID or 0, b: newns -> ret: PID, data: its id */
	GPID_AG_KILL,		/* a: PID, b: signal */
	GPID_AG_WAIT_ZOMBIE,	/* a: PID: waits until it is a zombie, without reaping it */
	GPID_AG_DROP_PRIVS,	/* setresuid/gid 65534, no groups, no capabilities left */
	GPID_AG_UNSHARE,	/* a: unshare() flags */
	GPID_AG_THREAD,		/* start a thread that sleeps -> ret: its TID, data: its id */
	GPID_AG_THREADS_SELF,	/* a: n threads call GPID_IOC_SELF at once -> data: results */
	GPID_AG_CAPS,		/* effective caps &= (b << 32 | a) */
	GPID_AG_SETPGID,	/* setpgid(a, b) */
};

#define GPID_AGENT_DATA		32768
#define GPID_AGENT_TIMEOUT_MS	20000
/* What a helper returns when the agent itself failed (died, hung): no ioctl returns it. */
#define GPID_AGENT_BROKEN	(-ECOMM)

struct gpid_agent_msg {
	__u32 op;
	__s32 a, b;
	__s32 ret;
	__u32 len;
	__u32 pad;
	__u64 cmd;
	char data[GPID_AGENT_DATA];
};

#define GPID_AGENT_HDR	offsetof(struct gpid_agent_msg, data)

struct gpid_agent {
	int sock;		/* the test's end */
	pid_t pid;		/* PID in its spawner's namespace */
	struct gpid_task_id id;	/* who it is */
};

/* What GPID_AG_THREADS_SELF reports per thread. */
struct gpid_thread_self {
	int ret;
	int tid;
	struct gpid_self self;
};

GPID_HELPER int gpid_send_msg(int sock, const struct gpid_agent_msg *m, int fd)
{
	struct iovec iov = { .iov_base = (void *)m, .iov_len = GPID_AGENT_HDR + m->len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len ? 0 : -1;
}

/* Receives one message (and an fd if one came along): 0, or -1 on EOF, error or timeout. */
GPID_HELPER int gpid_recv_msg(int sock, struct gpid_agent_msg *m, int *fd, int timeout_ms)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	if (fd)
		*fd = -1;
	if (timeout_ms >= 0 && gpid_wait_readable(sock, timeout_ms))
		return -1;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < (ssize_t)GPID_AGENT_HDR)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (fd)
				*fd = got;
			else
				close(got);
		}
	}
	return 0;
}

static void gpid_agent_main(int sock) __attribute__((noreturn, unused));

/*
 * Requests numbered from GPID_AG_EXT on belong to one test file: it handles them by setting
 * gpid_agent_ext before it starts agents (they inherit it across fork). The handler sets
 * m->ret and m->len like the built-in requests.
 */
#define GPID_AG_EXT	1000
static void (*gpid_agent_ext)(struct gpid_agent_msg *m) __attribute__((unused));

struct gpid_threads_arg {
	pthread_barrier_t *barrier;
	struct gpid_thread_self *out;
};

GPID_HELPER void *gpid_threads_self_fn(void *p)
{
	struct gpid_threads_arg *a = p;

	pthread_barrier_wait(a->barrier);
	a->out->tid = gettid();
	a->out->ret = gpid_ioctl(GPID_IOC_SELF, &a->out->self);
	return NULL;
}

/* n threads that call GPID_IOC_SELF at the same moment: 0 or -errno. */
GPID_HELPER int gpid_threads_self(int n, struct gpid_thread_self *out)
{
	pthread_t th[64];
	struct gpid_threads_arg args[64];
	pthread_barrier_t barrier;
	int started = 0, ret = 0;

	if (n < 1 || n > 64)
		return -EINVAL;
	memset(out, 0, n * sizeof(*out));
	pthread_barrier_init(&barrier, NULL, n);
	for (; started < n; started++) {
		args[started] = (struct gpid_threads_arg){ &barrier, &out[started] };
		if (pthread_create(&th[started], NULL, gpid_threads_self_fn, &args[started])) {
			ret = -EAGAIN;
			break;
		}
	}
	if (ret) {
		/* The barrier cannot be passed: not reached in practice; do not hang on it. */
		_exit(3);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	return ret;
}

GPID_HELPER void *gpid_sleeping_thread_fn(void *p)
{
	int fd = *(int *)p;
	struct gpid_task_id me;

	gpid_task_id(&me);
	if (write(fd, &me, sizeof(me)) != sizeof(me))
		return NULL;
	for (;;)
		pause();
	return NULL;
}

/* Starts a thread that sleeps until the process dies: its TID, or -errno. */
GPID_HELPER int gpid_sleeping_thread(struct gpid_task_id *id)
{
	static int p[2];
	pthread_t th;
	int ret;

	memset(id, 0, sizeof(*id));
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	if (pthread_create(&th, NULL, gpid_sleeping_thread_fn, &p[1])) {
		close(p[0]);
		close(p[1]);
		return -EAGAIN;
	}
	pthread_detach(th);
	ret = gpid_wait_readable(p[0], 20000);
	if (!ret && read(p[0], id, sizeof(*id)) != sizeof(*id))
		ret = -EIO;
	close(p[0]);
	close(p[1]);
	return ret ? ret : id->tid;
}

/* Restricts the effective capabilities to those in mask (bit n: capability n): 0 or -errno. */
GPID_HELPER int gpid_limit_caps(__u64 mask)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[0].effective &= (__u32)mask;
	d[1].effective &= (__u32)(mask >> 32);
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* Checks /proc/self/status: no capability left in any set that matters. */
GPID_HELPER int gpid_no_caps(void)
{
	char buf[4096];
	const char *keys[] = { "\nCapPrm:\t", "\nCapEff:\t", "\nCapAmb:\t" };

	if (gpid_read_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *p = strstr(buf, keys[i]);

		if (!p || strtoull(p + strlen(keys[i]), NULL, 16) != 0)
			return 0;
	}
	return 1;
}

GPID_HELPER void gpid_agent_child(int sock)
{
	static struct gpid_agent_msg hello;

	gpid_child_init(sock);
	memset(&hello, 0, GPID_AGENT_HDR);
	hello.op = GPID_AG_ID;
	hello.ret = gpid_task_id((struct gpid_task_id *)hello.data);
	hello.len = sizeof(struct gpid_task_id);
	if (gpid_send_msg(sock, &hello, -1))
		_exit(1);
	gpid_agent_main(sock);
}

static void gpid_agent_main(int sock)
{
	static struct gpid_agent_msg m;

	for (;;) {
		int fd = -1, sv[2];
		pid_t pid;

		if (gpid_recv_msg(sock, &m, NULL, -1))
			_exit(0);
		m.ret = 0;
		switch (m.op) {
		case GPID_AG_ID:
			m.ret = gpid_task_id((struct gpid_task_id *)m.data) ? -EIO : 0;
			m.len = sizeof(struct gpid_task_id);
			break;
		case GPID_AG_IOCTL:
			m.ret = gpid_ioctl(m.cmd, m.data);
			break;
		case GPID_AG_BATCH: {
			static __u32 gpids[GPID_AGENT_DATA / 4];

			if (m.a < 0 || (size_t)m.a > sizeof(gpids) / 4) {
				m.ret = -E2BIG;
				m.len = 0;
				break;
			}
			memcpy(gpids, m.data, m.a * 4);
			m.ret = gpid_decode_batch_local(gpids, (__s32 *)m.data, m.a);
			m.len = m.a * 4;
			break;
		}
		case GPID_AG_SPAWN:
			m.len = 0;
			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
				m.ret = -errno;
				break;
			}
			pid = gpid_fork(m.a);
			if (pid == 0) {
				close(sock);
				close(sv[0]);
				gpid_agent_child(sv[1]);
			}
			m.ret = pid < 0 ? -errno : pid;
			close(sv[1]);
			fd = sv[0];
			break;
		case GPID_AG_WAIT: {
			int status = 0;

			pid = waitpid(m.a, &status, 0);
			m.ret = pid < 0 ? -errno : pid;
			m.a = status;
			m.len = 0;
			break;
		}
		case GPID_AG_EXIT:
			m.len = 0;
			gpid_send_msg(sock, &m, -1);
			_exit(0);
		case GPID_AG_READ: {
			static char path[256];

			snprintf(path, sizeof(path), "%.*s", (int)m.len, m.data);
			m.ret = gpid_read_all(path, m.data, sizeof(m.data));
			m.len = m.ret > 0 ? m.ret + 1 : 0;
			break;
		}
		case GPID_AG_WRITE:
			m.data[sizeof(m.data) - 1] = '\0';
			m.ret = gpid_write_file(m.data, m.data + strlen(m.data) + 1);
			m.len = 0;
			break;
		case GPID_AG_SLEEPER:
			m.ret = gpid_sleeper(m.b, m.a, (struct gpid_task_id *)m.data);
			m.len = sizeof(struct gpid_task_id);
			break;
		case GPID_AG_KILL:
			m.ret = kill(m.a, m.b) ? -errno : 0;
			m.len = 0;
			break;
		case GPID_AG_WAIT_ZOMBIE: {
			siginfo_t si;

			m.ret = waitid(P_PID, m.a, &si, WEXITED | WNOWAIT) ? -errno : 0;
			m.len = 0;
			break;
		}
		case GPID_AG_DROP_PRIVS:
			m.len = 0;
			if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534))
				m.ret = -errno;
			else if (!gpid_no_caps())
				m.ret = -EPERM;
			/* Credential changes clear the parent-death signal. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			break;
		case GPID_AG_UNSHARE:
			m.ret = unshare(m.a) ? -errno : 0;
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			m.len = 0;
			break;
		case GPID_AG_THREAD:
			m.ret = gpid_sleeping_thread((struct gpid_task_id *)m.data);
			m.len = sizeof(struct gpid_task_id);
			break;
		case GPID_AG_THREADS_SELF:
			if (m.a < 1 || m.a > 64) {
				m.ret = -EINVAL;
				m.len = 0;
				break;
			}
			m.ret = gpid_threads_self(m.a, (struct gpid_thread_self *)m.data);
			m.len = m.a * sizeof(struct gpid_thread_self);
			break;
		case GPID_AG_SETPGID:
			m.ret = setpgid(m.a, m.b) ? -errno : 0;
			m.len = 0;
			break;
		case GPID_AG_CAPS:
			m.ret = gpid_limit_caps((__u64)(__u32)m.b << 32 | (__u32)m.a);
			m.len = 0;
			break;
		default:
			if (m.op >= GPID_AG_EXT && gpid_agent_ext) {
				gpid_agent_ext(&m);
				break;
			}
			m.ret = -EOPNOTSUPP;
			m.len = 0;
		}
		if (gpid_send_msg(sock, &m, fd))
			_exit(1);
		if (fd >= 0)
			close(fd);
	}
}

static struct gpid_agent_msg gpid_msg __attribute__((unused));	/* the test side's buffer */

/* Sends gpid_msg to an agent and waits for its answer in gpid_msg: 0 or GPID_AGENT_BROKEN. */
GPID_HELPER int gpid_agent_xfer(struct gpid_agent *ag, int *fd)
{
	__u32 op = gpid_msg.op;

	if (gpid_send_msg(ag->sock, &gpid_msg, -1) ||
	    gpid_recv_msg(ag->sock, &gpid_msg, fd, GPID_AGENT_TIMEOUT_MS) ||
	    gpid_msg.op != op) {
		fprintf(stderr, "# agent %d: no answer to request %u\n", ag->pid, op);
		return GPID_AGENT_BROKEN;
	}
	return 0;
}

static inline void gpid_msg_init(__u32 op, int a, int b)
{
	memset(&gpid_msg, 0, GPID_AGENT_HDR);
	gpid_msg.op = op;
	gpid_msg.a = a;
	gpid_msg.b = b;
}

/* Reads an agent's hello (its id) from a fresh socket. */
GPID_HELPER int gpid_agent_hello(struct gpid_agent *ag)
{
	if (gpid_recv_msg(ag->sock, &gpid_msg, NULL, GPID_AGENT_TIMEOUT_MS) ||
	    gpid_msg.op != GPID_AG_ID || gpid_msg.ret != 0)
		return GPID_AGENT_BROKEN;
	memcpy(&ag->id, gpid_msg.data, sizeof(ag->id));
	return 0;
}

/* Starts an agent as a child of the test process (PID 1 of a new namespace with newns). */
GPID_HELPER int gpid_agent_start(struct gpid_agent *ag, int newns)
{
	int sv[2];
	pid_t pid;

	memset(ag, 0, sizeof(*ag));
	ag->sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL);
	pid = gpid_fork(newns);
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		close(sv[0]);
		gpid_agent_child(sv[1]);
	}
	close(sv[1]);
	gpid_track(pid);
	ag->sock = sv[0];
	ag->pid = pid;
	return gpid_agent_hello(ag);
}

/* Has agent parent start agent child (PID 1 of a new namespace with newns). */
GPID_HELPER int gpid_agent_spawn(struct gpid_agent *parent, struct gpid_agent *child, int newns)
{
	int fd, ret;

	memset(child, 0, sizeof(*child));
	child->sock = -1;
	gpid_msg_init(GPID_AG_SPAWN, newns, 0);
	ret = gpid_agent_xfer(parent, &fd);
	if (ret)
		return ret;
	if (gpid_msg.ret < 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return gpid_msg.ret < 0 ? gpid_msg.ret : GPID_AGENT_BROKEN;
	}
	child->sock = fd;
	child->pid = gpid_msg.ret;
	return gpid_agent_hello(child);
}

/* A simple request without payload: the agent's ret. */
GPID_HELPER int gpid_agent_simple(struct gpid_agent *ag, __u32 op, int a, int b)
{
	int ret;

	gpid_msg_init(op, a, b);
	ret = gpid_agent_xfer(ag, NULL);
	return ret ? ret : gpid_msg.ret;
}

/*
 * Stops an agent: asks it to exit, then reaps it, from the test process (parent == NULL) or
 * from its parent agent. Returns its wait status or a negative value.
 */
GPID_HELPER int gpid_agent_stop(struct gpid_agent *parent, struct gpid_agent *ag)
{
	int ret;

	if (ag->sock < 0)
		return -EBADF;
	gpid_msg_init(GPID_AG_EXIT, 0, 0);
	ret = gpid_agent_xfer(ag, NULL);
	close(ag->sock);
	ag->sock = -1;
	if (ret)
		return ret;
	if (!parent)
		return gpid_reap(ag->pid);
	gpid_msg_init(GPID_AG_WAIT, ag->pid, 0);
	ret = gpid_agent_xfer(parent, NULL);
	if (ret)
		return ret;
	return gpid_msg.ret == ag->pid ? gpid_msg.a : gpid_msg.ret;
}

GPID_HELPER void gpid_agent_close(struct gpid_agent *ag)
{
	if (ag->sock >= 0)
		close(ag->sock);
	ag->sock = -1;
}

/* A sleeper started by an agent (ag == NULL: by the test process, which tracks it). */
GPID_HELPER pid_t gpid_agent_sleeper(struct gpid_agent *ag, int want, int newns,
				     struct gpid_task_id *id)
{
	int ret;

	memset(id, 0, sizeof(*id));
	if (!ag) {
		pid_t pid = gpid_sleeper(newns, want, id);

		gpid_track(pid);
		return pid;
	}
	gpid_msg_init(GPID_AG_SLEEPER, want, newns);
	ret = gpid_agent_xfer(ag, NULL);
	if (ret)
		return ret;
	memcpy(id, gpid_msg.data, sizeof(*id));
	return gpid_msg.ret;
}

GPID_HELPER int gpid_agent_thread(struct gpid_agent *ag, struct gpid_task_id *id)
{
	int ret;

	memset(id, 0, sizeof(*id));
	if (!ag)
		return gpid_sleeping_thread(id);
	gpid_msg_init(GPID_AG_THREAD, 0, 0);
	ret = gpid_agent_xfer(ag, NULL);
	if (ret)
		return ret;
	memcpy(id, gpid_msg.data, sizeof(*id));
	return gpid_msg.ret;
}

GPID_HELPER int gpid_agent_threads_self(struct gpid_agent *ag, int n,
					struct gpid_thread_self *out)
{
	int ret;

	if (!ag)
		return gpid_threads_self(n, out);
	gpid_msg_init(GPID_AG_THREADS_SELF, n, 0);
	ret = gpid_agent_xfer(ag, NULL);
	if (ret)
		return ret;
	if (gpid_msg.ret == 0)
		memcpy(out, gpid_msg.data, n * sizeof(*out));
	return gpid_msg.ret;
}

/* ------------------------------------------------------------------------------------------
 * The ioctls, run by an agent or (ag == NULL) by the test process itself: 0 or -errno.
 */

GPID_HELPER int gp_ioctl(struct gpid_agent *ag, unsigned long cmd, void *arg, size_t size)
{
	int ret;

	if (!ag)
		return gpid_ioctl(cmd, arg);
	gpid_msg_init(GPID_AG_IOCTL, 0, 0);
	gpid_msg.cmd = cmd;
	gpid_msg.len = size;
	memcpy(gpid_msg.data, arg, size);
	ret = gpid_agent_xfer(ag, NULL);
	if (ret)
		return ret;
	memcpy(arg, gpid_msg.data, size);
	return gpid_msg.ret;
}

GPID_HELPER int gp_self(struct gpid_agent *ag, struct gpid_self *s)
{
	memset(s, 0, sizeof(*s));
	return gp_ioctl(ag, GPID_IOC_SELF, s, sizeof(*s));
}

GPID_HELPER int gp_encode(struct gpid_agent *ag, pid_t pid, __u32 flags, __u32 *gpid)
{
	struct gpid_encode e = { .pid = pid, .flags = flags };
	int ret = gp_ioctl(ag, GPID_IOC_ENCODE, &e, sizeof(e));

	*gpid = ret ? 0 : e.gpid;
	return ret;
}

GPID_HELPER int gp_decode(struct gpid_agent *ag, __u32 gpid, __s32 *pid)
{
	struct gpid_decode d = { .gpid = gpid };
	int ret = gp_ioctl(ag, GPID_IOC_DECODE, &d, sizeof(d));

	*pid = ret ? 0 : d.pid;
	return ret;
}

GPID_HELPER int gp_levels(struct gpid_agent *ag, pid_t pid, __u32 flags, struct gpid_levels *l)
{
	memset(l, 0, sizeof(*l));
	l->pid = pid;
	l->flags = flags;
	return gp_ioctl(ag, GPID_IOC_LEVELS, l, sizeof(*l));
}

GPID_HELPER int gp_ns_info(struct gpid_agent *ag, __u32 slot, struct gpid_ns_info *info)
{
	memset(info, 0, sizeof(*info));
	info->slot = slot;
	return gp_ioctl(ag, GPID_IOC_NS_INFO, info, sizeof(*info));
}

/* GPID_IOC_NS_SET; *s is in and out. */
GPID_HELPER int gp_ns_set(struct gpid_agent *ag, struct gpid_ns_set *s)
{
	return gp_ioctl(ag, GPID_IOC_NS_SET, s, sizeof(*s));
}

GPID_HELPER int gp_batch(struct gpid_agent *ag, const __u32 *gpids, __s32 *pids, __u32 count)
{
	int ret;

	if (!ag)
		return gpid_decode_batch_local(gpids, pids, count);
	if (count > GPID_AGENT_DATA / 4)
		return -E2BIG;
	gpid_msg_init(GPID_AG_BATCH, count, 0);
	gpid_msg.len = count * 4;
	memcpy(gpid_msg.data, gpids, count * 4);
	ret = gpid_agent_xfer(ag, NULL);
	if (ret)
		return ret;
	memcpy(pids, gpid_msg.data, count * 4);
	return gpid_msg.ret;
}

/* Reads a file as the agent: its length or -errno. */
GPID_HELPER int gp_read(struct gpid_agent *ag, const char *path, char *buf, size_t size)
{
	int ret;

	if (!ag)
		return gpid_read_all(path, buf, size);
	gpid_msg_init(GPID_AG_READ, 0, 0);
	gpid_msg.len = strlen(path);
	memcpy(gpid_msg.data, path, gpid_msg.len);
	ret = gpid_agent_xfer(ag, NULL);
	if (ret)
		return ret;
	if (gpid_msg.ret < 0)
		return gpid_msg.ret;
	snprintf(buf, size, "%.*s", gpid_msg.ret, gpid_msg.data);
	return gpid_msg.ret;
}

/* Writes a file as the agent (ag == NULL: the test process): 0 or -errno. */
GPID_HELPER int gp_write(struct gpid_agent *ag, const char *path, const char *text)
{
	size_t lp = strlen(path), lt = strlen(text);
	int ret;

	if (!ag)
		return gpid_write_file(path, text);
	if (lp + lt + 2 > sizeof(gpid_msg.data))
		return -E2BIG;
	gpid_msg_init(GPID_AG_WRITE, 0, 0);
	memcpy(gpid_msg.data, path, lp + 1);
	memcpy(gpid_msg.data + lp + 1, text, lt + 1);
	gpid_msg.len = lp + lt + 2;
	ret = gpid_agent_xfer(ag, NULL);
	return ret ? ret : gpid_msg.ret;
}

GPID_HELPER int gp_write_int(struct gpid_agent *ag, const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return gp_write(ag, path, buf);
}

/* ------------------------------------------------------------------------------------------
 * /proc/gpid/namespaces
 */

#define GPID_NAMESPACES_HEADER \
	"slot generation level parent ino live policy class wide wide_generation"

struct gpid_ns_line {
	__u32 slot, generation, level, parent;
	unsigned long long ino;
	__u32 live, policy;
	int wide_class;			/* class: 1 for "wide", 0 for "narrow" */
	__u32 wide, wide_generation;
};

/* Parses the file's text: the number of lines, or -1 if the header or a line is malformed. */
GPID_HELPER int gpid_parse_namespaces(const char *text, struct gpid_ns_line *out, int max)
{
	const char *p = text, *nl = strchr(p, '\n');
	int n = 0;

	if (!nl || (size_t)(nl - p) != strlen(GPID_NAMESPACES_HEADER) ||
	    strncmp(p, GPID_NAMESPACES_HEADER, nl - p))
		return -1;
	for (p = nl + 1; *p; p = nl + 1) {
		struct gpid_ns_line l;
		char extra, cls[8];
		char line[256];

		nl = strchr(p, '\n');
		if (!nl || nl - p >= (long)sizeof(line) || n >= max)
			return -1;
		memcpy(line, p, nl - p);
		line[nl - p] = '\0';
		if (sscanf(line, "%u %u %u %u %llu %u %u %7s %u %u %c", &l.slot, &l.generation,
			   &l.level, &l.parent, &l.ino, &l.live, &l.policy, cls, &l.wide,
			   &l.wide_generation, &extra) != 10)
			return -1;
		if (strcmp(cls, "narrow") && strcmp(cls, "wide"))
			return -1;
		l.wide_class = !strcmp(cls, "wide");
		out[n++] = l;
	}
	return n;
}

GPID_HELPER const struct gpid_ns_line *gpid_find_ns_line(const struct gpid_ns_line *l, int n,
							  __u32 slot)
{
	for (int i = 0; i < n; i++)
		if (l[i].slot == slot)
			return &l[i];
	return NULL;
}

/* ------------------------------------------------------------------------------------------
 * Assertions shared by the tests that include kselftest_harness.h before this file.
 */
#ifdef __KSELFTEST_HARNESS_H

/*
 * An NS_INFO answer: the namespace's place (level below the caller, parent's owner slot),
 * its ino, its owner slot's generation (any but 0 when generation is 0), policy and state,
 * and its promoted wide slot (0: none, and then no wide generation either).
 */
static __attribute__((unused)) void
gpid_expect_ns_info(struct __test_metadata *_metadata, const struct gpid_ns_info *i,
		    __u32 level, __u32 parent, unsigned long long ino, __u32 generation,
		    __u32 policy, __u32 state, __u32 wide_slot, const char *what)
{
	EXPECT_EQ(level, i->level) TH_LOG("%s: level", what);
	EXPECT_EQ(parent, i->parent_slot) TH_LOG("%s: parent_slot", what);
	EXPECT_EQ(ino, i->ino) TH_LOG("%s: ino", what);
	if (generation)
		EXPECT_EQ(generation, i->generation) TH_LOG("%s: generation", what);
	EXPECT_NE(0, i->generation) TH_LOG("%s: generation", what);
	EXPECT_EQ(policy, i->policy) TH_LOG("%s: policy", what);
	EXPECT_EQ(state, i->state) TH_LOG("%s: state", what);
	EXPECT_EQ(wide_slot, i->wide_slot) TH_LOG("%s: wide_slot", what);
	if (wide_slot) {
		EXPECT_TRUE(gpid_slot_is_wide(wide_slot)) TH_LOG("%s: wide_slot", what);
		EXPECT_FALSE(gpid_slot_is_wide(i->slot)) TH_LOG("%s: a promoted wide owner", what);
		EXPECT_NE(0, i->wide_generation) TH_LOG("%s: wide_generation", what);
	} else {
		EXPECT_EQ(0, i->wide_generation) TH_LOG("%s: wide_generation", what);
	}
	EXPECT_EQ(0, i->flags) TH_LOG("%s: flags", what);
	EXPECT_EQ(0, i->reserved) TH_LOG("%s: reserved", what);
}

/*
 * The layout VERSION reports: the widths and counts given, narrow_start following from them;
 * and the helpers' copy (gpid_layout()) is the same.
 */
static __attribute__((unused)) void
gpid_expect_layout(struct __test_metadata *_metadata, __u32 pid_bits, __u32 narrow_bits,
		   __u32 wide, __u32 narrow)
{
	const struct gpid_layout *l = gpid_layout();
	struct gpid_version v;

	ASSERT_EQ(0, gpid_ioctl(GPID_IOC_VERSION, &v));
	EXPECT_EQ(GPID_ABI_VERSION, v.abi_version);
	EXPECT_EQ(pid_bits, v.pid_bits);
	EXPECT_EQ(narrow_bits, v.narrow_bits);
	EXPECT_EQ(wide, v.wide_slots);
	EXPECT_EQ(narrow, v.narrow_slots);
	EXPECT_EQ((wide + 1) << pid_bits, v.narrow_start);
	ASSERT_NE(NULL, l);
	ASSERT_EQ(wide + narrow, l->max_slot) TH_LOG("the helpers' layout is stale");
	ASSERT_EQ(v.narrow_start, l->narrow_start) TH_LOG("the helpers' layout is stale");
}

#define GPID_PID_MAX_PATH	"/proc/sys/kernel/pid_max"

/*
 * W of the default layout, as the fixture's fresh module reported it: what wide_slots=0 gives
 * where it fits (gpid_expect_params_layout()).
 */
static __u32 gpid_w_auto __attribute__((unused));

/*
 * For the fixtures of tests that start from a freshly loaded module with the default layout:
 * the test process becomes a child subreaper, the guest's pid_max is saved (the teardown puts
 * it back), and the module is reloaded.
 */
static __attribute__((unused)) void
gpid_fresh_module_setup(struct __test_metadata *_metadata, int *pid_max)
{
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	*pid_max = gpid_read_int(GPID_PID_MAX_PATH);
	ASSERT_LT(300, *pid_max);
	ASSERT_EQ(0, gpid_reload_module("")) TH_LOG("reloading gpid.ko failed");
	ASSERT_TRUE(gpid_layout_is_default());
	ASSERT_NE(NULL, gpid_layout());
	gpid_w_auto = gpid_layout()->wide_slots;
}

/*
 * The layout a load with pid_bits, narrow_bits and wide_slots (0: gpid_w_auto, capped to the
 * room) must give: W as asked, and every narrow slot that fits above.
 */
static __attribute__((unused)) void
gpid_expect_params_layout(struct __test_metadata *_metadata, __u32 pid_bits, __u32 narrow_bits,
			  __u32 wide_slots)
{
	__u32 room = gpid_wide_room(pid_bits), w = wide_slots;

	ASSERT_NE(0, gpid_w_auto) TH_LOG("no default layout read");
	if (!w)
		w = gpid_w_auto < room ? gpid_w_auto : room;
	gpid_expect_layout(_metadata, pid_bits, narrow_bits, w,
			   gpid_narrow_room(pid_bits, narrow_bits, w));
}

/* Kills and reaps every child, restores pid_max and leaves the default module loaded. */
static __attribute__((unused)) void
gpid_fresh_module_teardown(struct __test_metadata *_metadata, int pid_max)
{
	gpid_reap_all();
	if (gpid_read_int(GPID_PID_MAX_PATH) != pid_max)
		EXPECT_EQ(0, gpid_write_int(GPID_PID_MAX_PATH, pid_max));
	if (!gpid_layout_is_default())
		EXPECT_EQ(0, gpid_reload_module(""));
}

/* Fixture `name`, for tests that start from a fresh module: the two helpers above. */
#define GPID_FRESH_MODULE_FIXTURE(name)						\
	FIXTURE(name) {								\
		int pid_max;							\
	};									\
	FIXTURE_SETUP(name)							\
	{									\
		gpid_fresh_module_setup(_metadata, &self->pid_max);		\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		gpid_fresh_module_teardown(_metadata, self->pid_max);		\
	}

#endif /* __KSELFTEST_HARNESS_H */

#endif
