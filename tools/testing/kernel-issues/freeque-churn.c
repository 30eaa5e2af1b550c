// SPDX-License-Identifier: GPL-2.0
/*
 * Creates, sends to and removes SysV message queues on one CPU for N seconds: the churn under
 * which arming a kretprobe on freeque() crashes Debian's 7.3.4 kernel under QEMU TCG
 * (kprobe-events-cycle.sh 'r:gpidtest freeque'; Documentation/gpid.rst, "Known kernel issues").
 *   gcc -O2 -static -o churn freeque-churn.c; ./churn SECONDS CPU
 */
#define _GNU_SOURCE
#include <sys/msg.h>
#include <sys/ipc.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 60, cpu = argc > 2 ? atoi(argv[2]) : 1;
	struct { long t; char x[8]; } m = { 1, "x" };
	cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); sched_setaffinity(0, sizeof(s), &s);
	time_t end = time(0) + secs;
	while (time(0) < end) {
		int q[64];
		for (int i = 0; i < 64; i++) { q[i] = msgget(IPC_PRIVATE, IPC_CREAT | 0600); msgsnd(q[i], &m, 8, IPC_NOWAIT); }
		for (int i = 0; i < 64; i++) msgctl(q[i], IPC_RMID, 0);
	}
	return 0;
}
