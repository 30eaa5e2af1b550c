// SPDX-License-Identifier: GPL-2.0
/* Prints what the C side sees, for tests/header.rs to compare with the Rust side. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdalign.h>
#include <linux/futex.h>
#include <linux/gpid.h>
#include "gpid_mutex.h"

int main(void)
{
	pthread_mutex_t pm;

	printf("sizeof(gpid_mutex_t) %zu\n", sizeof(gpid_mutex_t));
	printf("alignof(gpid_mutex_t) %zu\n", alignof(gpid_mutex_t));
	printf("GPID_MUTEX_NORMAL %d\n", GPID_MUTEX_NORMAL);
	printf("GPID_MUTEX_ERRORCHECK %d\n", GPID_MUTEX_ERRORCHECK);
	printf("GPID_MUTEX_RECURSIVE %d\n", GPID_MUTEX_RECURSIVE);
	printf("GPID_MUTEX_PRIO_INHERIT %d\n", GPID_MUTEX_PRIO_INHERIT);
	printf("GPID_IOC_ROBUST_REGISTER %u\n", (unsigned)GPID_IOC_ROBUST_REGISTER);
	printf("FUTEX_WAITERS %u\n", (unsigned)FUTEX_WAITERS);
	printf("FUTEX_OWNER_DIED %u\n", (unsigned)FUTEX_OWNER_DIED);
	printf("FUTEX_TID_MASK %u\n", (unsigned)FUTEX_TID_MASK);
	printf("GPID_MUTEX__UNLOCK_NONE %d\n", GPID_MUTEX__UNLOCK_NONE);
	printf("GPID_MUTEX__UNLOCK_LEGACY %d\n", GPID_MUTEX__UNLOCK_LEGACY);
	printf("GPID_MUTEX__UNLOCK_VDSO %d\n", GPID_MUTEX__UNLOCK_VDSO);
	printf("GPID_MUTEX__UNLOCK_ROBUST_WAKE %d\n", GPID_MUTEX__UNLOCK_ROBUST_WAKE);
	/* glibc's own futex_offset: the lock relative to __list.__next. */
	printf("glibc_futex_offset %ld\n",
	       (long)((char *)&pm.__data.__lock - (char *)&pm.__data.__list.__next));
	printf("sizeof(pthread_mutex_t) %zu\n", sizeof(pthread_mutex_t));
	return 0;
}
