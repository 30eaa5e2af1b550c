// SPDX-License-Identifier: GPL-2.0
/*
 * make demo: a robust process-shared mutex shared by two processes that are each PID 1 of
 * sibling PID namespaces. glibc's mutex lets both acquire it (its owner TID, 1, is "theirs"
 * to both); gpid's mutex refuses the second, and hands it over with EOWNERDEAD when the first
 * is SIGKILLed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "gpid_mutex.h"

struct shm {
	pthread_mutex_t pm;
	gpid_mutex_t gm;
	atomic_int held, waiting;
	atomic_llong killed_ns;
};

static struct shm *s;

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static const char *err(int e)
{
	return e == 0 ? "0 (acquired)" : e == EBUSY ? "EBUSY (refused)" :
	       e == EOWNERDEAD ? "EOWNERDEAD" : strerror(e);
}

/* Runs fn as PID 1 of a new PID namespace; returns its pid as seen from here. *helper gets
 * the process to wait for. */
static pid_t in_new_pidns(void (*fn)(void), pid_t *helper)
{
	int p[2];
	pid_t h, c = -1;

	if (pipe(p))
		return -1;
	h = fork();
	if (h == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWPID))
			_exit(1);
		c = fork();
		if (c == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			fn();
			_exit(0);
		}
		if (write(p[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		waitpid(c, NULL, 0);
		_exit(0);
	}
	*helper = h;
	if (read(p[0], &c, sizeof(c)) != sizeof(c))
		c = -1;
	close(p[0]);
	close(p[1]);
	return c;
}

static void stock_a(void)
{
	printf("  A: pid %d in its namespace, pthread_mutex_lock -> %s\n", getpid(),
	       err(pthread_mutex_lock(&s->pm)));
	fflush(stdout);
	atomic_store(&s->held, 1);
	pause();
}

static void stock_b(void)
{
	printf("  B: pid %d in its namespace, pthread_mutex_trylock -> %s   <-- two owners\n",
	       getpid(), err(pthread_mutex_trylock(&s->pm)));
}

static void gpid_a(void)
{
	uint32_t me = 0;
	int r = gpid_mutex_lock(&s->gm);

	gpid_mutex_owner_value(&me);
	printf("  A: pid %d, gpid_mutex_lock -> %s, owner word %#x (its gpid)\n", getpid(),
	       err(r), me);
	fflush(stdout);
	atomic_store(&s->held, 1);
	pause();
}

static void gpid_b(void)
{
	printf("  B: pid %d, gpid_mutex_trylock -> %s\n", getpid(), err(gpid_mutex_trylock(&s->gm)));
	printf("  B: gpid_mutex_lock (blocks) ...\n");
	fflush(stdout);
	atomic_store(&s->waiting, 1);
	int r = gpid_mutex_lock(&s->gm);
	long long ms = (now_ns() - atomic_load(&s->killed_ns)) / 1000;

	printf("  B: gpid_mutex_lock -> %s, %lld.%03lld ms after A was killed\n", err(r),
	       ms / 1000, ms % 1000);
	if (r == EOWNERDEAD) {
		/* Two statements: argument evaluation order is unspecified. */
		int c = gpid_mutex_consistent(&s->gm);

		printf("  B: gpid_mutex_consistent -> %d, gpid_mutex_unlock -> %d\n", c,
		       gpid_mutex_unlock(&s->gm));
	}
}

static void wait_flag(atomic_int *f)
{
	for (int i = 0; i < 5000 && !atomic_load(f); i++)
		usleep(1000);
}

int main(void)
{
	pthread_mutexattr_t a;
	pid_t pa, ha, hb;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return 1;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->pm, &a);
	gpid_mutex_init(&s->gm, GPID_MUTEX_RECURSIVE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("stock: glibc robust recursive process-shared mutex, A and B PID 1 of sibling namespaces\n");
	pa = in_new_pidns(stock_a, &ha);
	wait_flag(&s->held);
	in_new_pidns(stock_b, &hb);
	waitpid(hb, NULL, 0);
	kill(pa, SIGKILL);
	waitpid(ha, NULL, 0);

	printf("gpid:  gpid_mutex (recursive), same two processes\n");
	atomic_store(&s->held, 0);
	pa = in_new_pidns(gpid_a, &ha);
	wait_flag(&s->held);
	in_new_pidns(gpid_b, &hb);
	wait_flag(&s->waiting);
	usleep(100000);
	printf("  SIGKILL A\n");
	atomic_store(&s->killed_ns, now_ns());
	kill(pa, SIGKILL);
	waitpid(hb, NULL, 0);
	waitpid(ha, NULL, 0);
	return 0;
}
