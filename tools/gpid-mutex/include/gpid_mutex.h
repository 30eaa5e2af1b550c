/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gpid_mutex: a process-shared robust mutex that stays correct across PID namespaces.
 *
 * Use it where a PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST mutex is shared by processes in
 * different PID namespaces: the owner is recorded as the thread's gpid (unique system-wide)
 * rather than its TID (unique only per namespace), and the gpid module makes the kernel recover
 * the mutex when its owner dies. Semantics are pthread's robust mutexes; every function returns
 * 0 or an errno value, never -1. Needs the gpid module (/dev/gpid) with the robust_futex
 * feature. Full contract: Documentation/gpid.rst, "The cross-namespace robust mutex".
 *
 * Link: libgpid_mutex.a (built for x86_64-unknown-linux-gnu), e.g.
 *   gcc -static prog.c libgpid_mutex.a -lpthread
 */
#ifndef GPID_MUTEX_H
#define GPID_MUTEX_H

#include <stdint.h>
#include <time.h>

#if !defined(__x86_64__) || defined(__ILP32__)
#error "gpid_mutex supports x86_64 (LP64) only: gpid walks only the native robust-list layout"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Opaque, 40 bytes, 8-aligned; the layout is glibc's pthread_mutex_t's (futex word at 0, robust
 * list links at 24 and 32), so the mutex can sit on glibc's per-thread robust list. All-zero is
 * a free normal mutex. Place it in memory shared by the processes (MAP_SHARED); it must not be
 * moved or unmapped while locked.
 */
typedef union gpid_mutex {
	unsigned char __size[40];
	uint64_t __align;
} gpid_mutex_t;

#define GPID_MUTEX_INITIALIZER { { 0 } }

/* Kinds for gpid_mutex_init(), as pthread's mutex types. */
#define GPID_MUTEX_NORMAL	0	/* relock by the owner deadlocks; trylock gives EBUSY */
#define GPID_MUTEX_ERRORCHECK	1	/* relock by the owner gives EDEADLK */
#define GPID_MUTEX_RECURSIVE	2	/* the owner may relock, and unlocks as many times */
/*
 * Refused with ENOTSUP: Linux 6.12 looks the owner of a PI futex up by TID in the *waiter's*
 * PID namespace, so neither a gpid nor a TID from another namespace names the right task.
 */
#define GPID_MUTEX_PRIO_INHERIT	0x10

/* 0, or EINVAL (unknown kind), ENOTSUP (GPID_MUTEX_PRIO_INHERIT). Not on a mutex in use. */
int gpid_mutex_init(gpid_mutex_t *m, uint32_t kind);
/* 0, or EBUSY while held (dead owners included). */
int gpid_mutex_destroy(gpid_mutex_t *m);

/*
 * 0; EOWNERDEAD: acquired, but the previous owner died holding it: repair the protected state
 * and call gpid_mutex_consistent(), or the next unlock makes the mutex ENOTRECOVERABLE for
 * everyone; ENOTRECOVERABLE; EDEADLK (error-checking kind, already the owner); EAGAIN
 * (recursion count overflow); EINVAL.
 * "The owner" means the same gpid: a thread with the same TID in another PID namespace is not.
 * First use in a thread registers it with /dev/gpid, which can fail with: ENODEV (no
 * /dev/gpid: module not loaded), ENOTSUP (module without robust-futex support), EPROTO (the
 * thread's registered robust list is neither glibc's x86_64 one nor this library's), or the
 * errno of open/ioctl.
 */
int gpid_mutex_lock(gpid_mutex_t *m);
/* As gpid_mutex_lock, EBUSY instead of waiting. */
int gpid_mutex_trylock(gpid_mutex_t *m);
/* As gpid_mutex_lock, ETIMEDOUT at the absolute CLOCK_REALTIME time (pthread_mutex_timedlock). */
int gpid_mutex_timedlock(gpid_mutex_t *m, const struct timespec *abstime);
/* As gpid_mutex_timedlock on CLOCK_REALTIME or CLOCK_MONOTONIC (pthread_mutex_clocklock). */
int gpid_mutex_clocklock(gpid_mutex_t *m, clockid_t clock, const struct timespec *abstime);
/* 0, or EPERM if the caller is not the owner (every kind: POSIX requires it for robust mutexes). */
int gpid_mutex_unlock(gpid_mutex_t *m);
/* 0, or EPERM (not the owner), EINVAL (not acquired with EOWNERDEAD, or already made consistent). */
int gpid_mutex_consistent(gpid_mutex_t *m);

/* The value this thread writes as owner: its canonical gpid (registers the thread). */
int gpid_mutex_owner_value(uint32_t *owner);
/*
 * 1 if unlock uses the kernel's robust-unlock support, else 0. Linux 7.x with
 * CONFIG_FUTEX_ROBUST_UNLOCK (Debian's kernel has it) exports
 * __vdso_futex_robust_list64_try_unlock in the vDSO; then an uncontended unlock frees the word
 * and clears the robust list's list_op_pending in one step (the kernel completes it if the
 * thread is interrupted in between), and a contended one lets FUTEX_WAKE|FUTEX_ROBUST_UNLOCK
 * do both and wake. Otherwise unlock frees the word, wakes, and then clears list_op_pending,
 * and a thread killed between the two leaves the kernel a stale pending pointer, as with
 * glibc's robust mutexes on such kernels. Looked up once per process.
 */
int gpid_mutex_vdso_unlock(void);

/*
 * Forget this thread's identity and robust-list head. fork() does it by itself (an atfork
 * handler); call it first thing in the child of a raw clone()/syscall(SYS_clone), which gets a
 * new TID (hence a new gpid) and no registered robust list.
 */
void gpid_mutex_fork_child(void);

/*
 * Test hooks: the raw steps of lock and unlock, so that tests can die between any two of them.
 * Not for production use.
 */
int gpid_mutex__robust_head(void **head);	/* the head this thread's mutexes are linked into */
int gpid_mutex__set_pending(gpid_mutex_t *m);	/* list_op_pending = m (NULL clears) */
int gpid_mutex__enqueue(gpid_mutex_t *m);	/* link m into this thread's robust list */
int gpid_mutex__dequeue(gpid_mutex_t *m);	/* unlink m */
/* close the library's /dev/gpid, which otherwise pins the module; reopened on next need */
void gpid_mutex__release_device(void);
/* How this thread's last gpid_mutex_unlock() that freed the word did it: */
#define GPID_MUTEX__UNLOCK_NONE		0	/* none yet */
#define GPID_MUTEX__UNLOCK_LEGACY	1	/* exchange to 0, FUTEX_WAKE, then clear pending */
#define GPID_MUTEX__UNLOCK_VDSO		2	/* vDSO try-unlock: word freed and pending cleared */
#define GPID_MUTEX__UNLOCK_ROBUST_WAKE	3	/* FUTEX_WAKE|FUTEX_ROBUST_UNLOCK (contended) */
int gpid_mutex__last_unlock_path(void);

#ifdef __cplusplus
}
#endif

#endif /* GPID_MUTEX_H */
