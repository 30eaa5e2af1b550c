// SPDX-License-Identifier: GPL-2.0
/*
 * Global PIDs end to end: GPID_IOC_{SELF,ENCODE,DECODE,DECODE_BATCH,LEVELS,NS_INFO,NS_SET} and
 * /proc/gpid/namespaces, with real PID namespaces (nested 3 levels deep, siblings), real
 * processes, threads, zombies, PID reuse, slot exhaustion, requested slots, permissions,
 * pid_bits variants, concurrency and bad input. The slot classes themselves (narrow and wide
 * slots, promotion, per-class exhaustion) are slots_test's.
 *
 * Every test starts from a freshly loaded module (the default layout: W wide slots of 22 bits,
 * then N narrow slots of 16 bits, W and N as GPID_IOC_VERSION reports them, never assumed) so
 * that slot ids are predictable: the initial namespace is
 * bound at load to wide slot 1, and other namespaces (whose PIDs here all fit a narrow slot)
 * get narrow slot ids cyclically from W + 1 (gpid_first_narrow()) on first use, in the order
 * the test first uses each namespace. gpid values are made and taken apart by the layout the
 * module reports (gpid_make(), gpid_split()). The fixture teardown kills and reaps every
 * process the test started, restores /proc/sys/kernel/pid_max and leaves the default module
 * loaded, also after a failed assertion.
 *
 * Processes in other namespaces are "agents" (gpid_test.h): they run ioctls for the test
 * process and report; every assertion is made here. An "id" is what a task learnt about itself
 * from /proc/thread-self/status (NSpid: its PID at every level from the initial namespace down)
 * and /proc/thread-self/ns/pid, independently of gpid.
 */
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "gpid_test.h"

#define G(slot, nr)	gpid_make((slot), (nr))
/* The k-th namespace (from 0) a fresh module binds after the initial one: narrow. */
#define NTH(k)		(gpid_first_narrow() + (k))
#define PID_MAX_PATH	GPID_PID_MAX_PATH

GPID_FRESH_MODULE_FIXTURE(gp);

/* An NS_INFO answer for a namespace that holds no wide slot besides its owner slot. */
static void expect_ns_info(struct __test_metadata *_metadata, const struct gpid_ns_info *i,
			   __u32 level, __u32 parent, unsigned long long ino, __u32 generation,
			   __u32 policy, __u32 state, const char *what)
{
	gpid_expect_ns_info(_metadata, i, level, parent, ino, generation, policy, state, 0, what);
}

/* ----------------------------------------------------------------------------------------- */

/* The feature is on, at the default split. */
TEST_F(gp, feature_on)
{
	struct gpid_version v;
	char buf[1024];

	ASSERT_EQ(0, gpid_ioctl(GPID_IOC_VERSION, &v));
	EXPECT_EQ(GPID_FEATURE_GLOBAL_PIDS, v.features & GPID_FEATURE_GLOBAL_PIDS);
	EXPECT_EQ(22, v.pid_bits);
	ASSERT_LT(0, gpid_read_file("/proc/gpid/features", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "global_pids on\n")) TH_LOG("%s", buf);
}

/* The initial namespace: SELF, ENCODE, DECODE, LEVELS, NS_INFO for the test and a thread. */
TEST_F(gp, initial_namespace)
{
	struct gpid_task_id me, th;
	struct gpid_thread_self ts;
	struct gpid_ns_info info, info0;
	struct gpid_levels lv;
	struct gpid_self s;
	struct stat st;
	__u32 gp;
	__s32 pid;
	int tid;

	ASSERT_EQ(0, gpid_task_id(&me));
	ASSERT_EQ(0, me.level);
	ASSERT_EQ(getpid(), me.nspid[0]);

	/* The initial namespace holds wide slot 1 from the load on. */
	ASSERT_EQ(0, gp_self(NULL, &s));
	EXPECT_EQ(1, s.slot);
	EXPECT_EQ(0, s.level);
	EXPECT_EQ(G(1, gettid()), s.tid);
	EXPECT_EQ(G(1, getpid()), s.tgid);

	/* A second thread: its own tid, the same tgid. */
	ASSERT_EQ(0, gpid_threads_self(1, &ts));
	ASSERT_EQ(0, ts.ret);
	EXPECT_NE(getpid(), ts.tid);
	EXPECT_EQ(G(1, ts.tid), ts.self.tid);
	EXPECT_EQ(G(1, getpid()), ts.self.tgid);
	EXPECT_EQ(1, ts.self.slot);
	EXPECT_EQ(0, ts.self.level);

	/* ENCODE: 0 is the caller; a thread's TID, with GPID_ENCODE_TGID its leader. */
	ASSERT_EQ(0, gp_encode(NULL, 0, 0, &gp));
	EXPECT_EQ(G(1, gettid()), gp);
	ASSERT_EQ(0, gp_encode(NULL, getpid(), 0, &gp));
	EXPECT_EQ(G(1, getpid()), gp);
	tid = gpid_sleeping_thread(&th);
	ASSERT_LT(0, tid);
	ASSERT_EQ(tid, th.nspid[0]);
	ASSERT_NE(getpid(), tid);
	ASSERT_EQ(0, gp_encode(NULL, tid, 0, &gp));
	EXPECT_EQ(G(1, tid), gp);
	ASSERT_EQ(0, gp_encode(NULL, tid, GPID_ENCODE_TGID, &gp));
	EXPECT_EQ(G(1, getpid()), gp);
	ASSERT_EQ(0, gp_encode(NULL, 0, GPID_ENCODE_TGID, &gp));
	EXPECT_EQ(G(1, getpid()), gp);
	ASSERT_EQ(0, gp_encode(NULL, 1, 0, &gp));
	EXPECT_EQ(G(1, 1), gp);

	/* DECODE: qualified and unqualified forms name the same task. */
	ASSERT_EQ(0, gp_decode(NULL, G(1, getpid()), &pid));
	EXPECT_EQ(getpid(), pid);
	ASSERT_EQ(0, gp_decode(NULL, getpid(), &pid));
	EXPECT_EQ(getpid(), pid);
	ASSERT_EQ(0, gp_decode(NULL, G(1, tid), &pid));
	EXPECT_EQ(tid, pid);
	ASSERT_EQ(0, gp_decode(NULL, G(1, 1), &pid));
	EXPECT_EQ(1, pid);
	ASSERT_EQ(0, gp_decode(NULL, 1, &pid));
	EXPECT_EQ(1, pid);

	/* LEVELS of a task of the caller's own namespace: one entry. */
	ASSERT_EQ(0, gp_levels(NULL, 0, 0, &lv));
	EXPECT_EQ(1, lv.count);
	EXPECT_EQ(G(1, gettid()), lv.gpids[0]);
	ASSERT_EQ(0, gp_levels(NULL, tid, 0, &lv));
	EXPECT_EQ(1, lv.count);
	EXPECT_EQ(G(1, tid), lv.gpids[0]);
	ASSERT_EQ(0, gp_levels(NULL, tid, GPID_ENCODE_TGID, &lv));
	EXPECT_EQ(1, lv.count);
	EXPECT_EQ(G(1, getpid()), lv.gpids[0]);

	/* NS_INFO: slot 0 and the caller's own slot describe the same namespace. */
	ASSERT_EQ(0, stat("/proc/self/ns/pid", &st));
	ASSERT_EQ(me.ns_ino, st.st_ino);
	ASSERT_EQ(0, gp_ns_info(NULL, 0, &info0));
	expect_ns_info(_metadata, &info0, 0, 0, st.st_ino, 1, 0, GPID_NS_LIVE, "slot 0");
	EXPECT_EQ(1, info0.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, 1, &info));
	expect_ns_info(_metadata, &info, 0, 0, st.st_ino, 1, 0, GPID_NS_LIVE, "slot 1");
	EXPECT_EQ(1, info.slot);

	/* Slots nobody holds, of either class: the first and last of each. */
	do {
		const __u32 free_slots[] = { 2, NTH(0) - 1, NTH(0), gpid_max_slot() };

		for (size_t i = 0; i < sizeof(free_slots) / sizeof(free_slots[0]); i++) {
			EXPECT_EQ(-ENOENT, gp_ns_info(NULL, free_slots[i], &info))
				TH_LOG("slot %u", free_slots[i]);
			EXPECT_EQ(-ESRCH, gp_decode(NULL, G(free_slots[i], 1), &pid))
				TH_LOG("slot %u", free_slots[i]);
		}
	} while (0);
}

/* ----------------------------------------------------------------------------------------- */
/*
 * The tree used by the namespace tests:
 *
 *   root (the test process, level 0, wide slot 1)
 *   +- A  (agent a = its PID 1, level 1, narrow slot W+1)
 *   |  +- B  (agent b, level 2, W+2)
 *   |  |  +- C  (agent c = PID 1 and agent d = PID 2, level 3, W+3)
 *   |  +- B2 (agent b2, level 2, W+5): sibling of B
 *   +- A2 (agent a2, level 1, W+4): sibling of A
 *
 * Narrow slot ids are the order of first use (GPID_IOC_SELF by each, in that order).
 */

enum { NS_ROOT, NS_A, NS_B, NS_C, NS_A2, NS_B2, NR_NS };
static const char *const ns_name[NR_NS] = { "root", "A", "B", "C", "A2", "B2" };
static const int ns_parent[NR_NS] = { -1, NS_ROOT, NS_A, NS_B, NS_ROOT, NS_A };
static const int ns_level[NR_NS] = { 0, 1, 2, 3, 1, 2 };

static int ns_sees(int o, int n)
{
	return gpid_ns_sees(ns_parent, o, n);
}

struct member {
	const char *name;
	struct gpid_agent *ag;		/* NULL: the test process */
	int ns;
	struct gpid_task_id id;
};

#define NR_MEMBERS 7

struct tree {
	struct gpid_agent a, b, c, d, a2, b2;
	struct member m[NR_MEMBERS];
	__u32 slot[NR_NS];
	unsigned long long ino[NR_NS];
};

static void tree_build(struct __test_metadata *_metadata, struct tree *t)
{
	struct gpid_self s;

	memset(t, 0, sizeof(*t));
	ASSERT_EQ(0, gpid_agent_start(&t->a, 1));
	ASSERT_EQ(0, gpid_agent_spawn(&t->a, &t->b, 1));
	ASSERT_EQ(0, gpid_agent_spawn(&t->b, &t->c, 1));
	ASSERT_EQ(0, gpid_agent_spawn(&t->c, &t->d, 0));
	ASSERT_EQ(0, gpid_agent_start(&t->a2, 1));
	ASSERT_EQ(0, gpid_agent_spawn(&t->a, &t->b2, 1));

	t->m[0] = (struct member){ "test", NULL, NS_ROOT };
	ASSERT_EQ(0, gpid_task_id(&t->m[0].id));
	t->m[1] = (struct member){ "a", &t->a, NS_A, t->a.id };
	t->m[2] = (struct member){ "b", &t->b, NS_B, t->b.id };
	t->m[3] = (struct member){ "c", &t->c, NS_C, t->c.id };
	t->m[4] = (struct member){ "d", &t->d, NS_C, t->d.id };
	t->m[5] = (struct member){ "a2", &t->a2, NS_A2, t->a2.id };
	t->m[6] = (struct member){ "b2", &t->b2, NS_B2, t->b2.id };

	/* The setup itself, as /proc tells it. */
	for (int i = 0; i < NR_MEMBERS; i++) {
		struct member *m = &t->m[i];

		ASSERT_EQ(ns_level[m->ns], m->id.level) TH_LOG("%s", m->name);
		ASSERT_EQ(m->id.pid, m->id.nspid[m->id.level]) TH_LOG("%s", m->name);
		ASSERT_EQ(m->id.pid, m->id.tid) TH_LOG("%s", m->name);
		if (m->ns != NS_ROOT && m != &t->m[4])
			ASSERT_EQ(1, m->id.pid) TH_LOG("%s is its namespace's init", m->name);
		if (!t->ino[m->ns])
			t->ino[m->ns] = m->id.ns_ino;
		ASSERT_EQ(t->ino[m->ns], m->id.ns_ino) TH_LOG("%s", m->name);
	}
	ASSERT_EQ(2, t->d.id.pid);
	/* Each spawner's fork() returned the child's PID in the spawner's view. */
	ASSERT_EQ(t->a.pid, t->a.id.nspid[0]);
	ASSERT_EQ(t->a2.pid, t->a2.id.nspid[0]);
	ASSERT_EQ(t->b.pid, t->b.id.nspid[1]);
	ASSERT_EQ(t->b2.pid, t->b2.id.nspid[1]);
	ASSERT_EQ(t->c.pid, t->c.id.nspid[2]);
	ASSERT_EQ(t->d.pid, t->d.id.nspid[3]);
	for (int n = 0; n < NR_NS; n++)
		for (int k = 0; k < n; k++) {
			ASSERT_NE(t->ino[k], t->ino[n]) TH_LOG("%s %s", ns_name[k], ns_name[n]);
		}

	/* First use, in a fixed order: wide slot 1, then narrow slots W+1..W+5. */
	for (int i = 0; i < NR_MEMBERS; i++) {
		struct member *m = &t->m[i];

		ASSERT_EQ(0, gp_self(m->ag, &s)) TH_LOG("%s", m->name);
		if (!t->slot[m->ns])
			t->slot[m->ns] = s.slot;
		ASSERT_EQ(t->slot[m->ns], s.slot) TH_LOG("%s", m->name);
	}
	ASSERT_EQ(1, t->slot[NS_ROOT]);
	ASSERT_EQ(NTH(0), t->slot[NS_A]);
	ASSERT_EQ(NTH(1), t->slot[NS_B]);
	ASSERT_EQ(NTH(2), t->slot[NS_C]);
	ASSERT_EQ(NTH(3), t->slot[NS_A2]);
	ASSERT_EQ(NTH(4), t->slot[NS_B2]);
}

/* The canonical gpid of a member: its own namespace's slot and its PID there. */
static __u32 canon(const struct tree *t, const struct member *m)
{
	return G(t->slot[m->ns], m->id.nspid[m->id.level]);
}

/* Every ioctl from every viewpoint, against every task of the tree. */
TEST_F_TIMEOUT(gp, nested_and_sibling_namespaces, 90)
{
	struct tree t;

	tree_build(_metadata, &t);

	for (int o = 0; o < NR_MEMBERS; o++) {
		struct member *O = &t.m[o];
		int lo = ns_level[O->ns];
		struct gpid_ns_info info, info0;
		struct gpid_self s;

		/* SELF: canonical ids, own slot and level, as getpid()/gettid() say. */
		ASSERT_EQ(0, gp_self(O->ag, &s)) TH_LOG("%s", O->name);
		EXPECT_EQ(t.slot[O->ns], s.slot) TH_LOG("%s", O->name);
		EXPECT_EQ(0, s.level) TH_LOG("%s: levels are relative to the caller", O->name);
		EXPECT_EQ(G(t.slot[O->ns], O->id.tid), s.tid) TH_LOG("%s", O->name);
		EXPECT_EQ(G(t.slot[O->ns], O->id.pid), s.tgid) TH_LOG("%s", O->name);

		/* NS_INFO of its own namespace, by 0 and by slot: parent not visible -> 0. */
		ASSERT_EQ(0, gp_ns_info(O->ag, 0, &info0)) TH_LOG("%s", O->name);
		expect_ns_info(_metadata, &info0, 0, 0, t.ino[O->ns], 1, 0, GPID_NS_LIVE, O->name);
		EXPECT_EQ(t.slot[O->ns], info0.slot) TH_LOG("%s", O->name);

		/* NS_INFO of every namespace: visible ones fully described, others ENOENT. */
		for (int n = 0; n < NR_NS; n++) {
			int ret = gp_ns_info(O->ag, t.slot[n], &info);
			char what[64];

			snprintf(what, sizeof(what), "%s: NS_INFO(%s)", O->name, ns_name[n]);
			if (!ns_sees(O->ns, n)) {
				EXPECT_EQ(-ENOENT, ret) TH_LOG("%s", what);
				continue;
			}
			ASSERT_EQ(0, ret) TH_LOG("%s", what);
			expect_ns_info(_metadata, &info, ns_level[n] - lo,
				       n == O->ns || n == NS_ROOT ? 0 : t.slot[ns_parent[n]],
				       t.ino[n], 1, 0, GPID_NS_LIVE, what);
			EXPECT_EQ(t.slot[n], info.slot) TH_LOG("%s", what);
		}

		for (int x = 0; x < NR_MEMBERS; x++) {
			struct member *T = &t.m[x];
			int lt = ns_level[T->ns], vis = ns_sees(O->ns, T->ns);
			__s32 view = T->id.nspid[lo], pid;
			struct gpid_levels lv;
			__u32 gp;

			if (vis) {
				/* ENCODE: the canonical gpid, whoever asks. */
				ASSERT_EQ(0, gp_encode(O->ag, view, 0, &gp))
					TH_LOG("%s encodes %s (%d)", O->name, T->name, view);
				EXPECT_EQ(canon(&t, T), gp)
					TH_LOG("%s encodes %s", O->name, T->name);
				ASSERT_EQ(0, gp_encode(O->ag, view, GPID_ENCODE_TGID, &gp));
				EXPECT_EQ(canon(&t, T), gp)
					TH_LOG("%s encodes %s, TGID", O->name, T->name);
				/* DECODE of the canonical and of the unqualified gpid. */
				EXPECT_EQ(0, gp_decode(O->ag, canon(&t, T), &pid))
					TH_LOG("%s decodes %s", O->name, T->name);
				EXPECT_EQ(view, pid) TH_LOG("%s decodes %s", O->name, T->name);
				EXPECT_EQ(0, gp_decode(O->ag, view, &pid))
					TH_LOG("%s decodes %s unqualified", O->name, T->name);
				EXPECT_EQ(view, pid)
					TH_LOG("%s decodes %s unqualified", O->name, T->name);
				/* LEVELS: own namespace first, up to the caller's; as NSpid. */
				ASSERT_EQ(0, gp_levels(O->ag, view, 0, &lv))
					TH_LOG("%s: levels of %s", O->name, T->name);
				EXPECT_EQ(lt - lo + 1, lv.count)
					TH_LOG("%s: levels of %s", O->name, T->name);
				for (int i = 0, n = T->ns; i <= lt - lo && i < GPID_MAX_LEVELS;
				     i++, n = ns_parent[n]) {
					EXPECT_EQ(G(t.slot[n], T->id.nspid[lt - i]), lv.gpids[i])
						TH_LOG("%s: levels of %s, [%d]", O->name, T->name, i);
				}
			} else {
				EXPECT_EQ(-ESRCH, gp_decode(O->ag, canon(&t, T), &pid))
					TH_LOG("%s decodes %s (invisible)", O->name, T->name);
			}

			/*
			 * T qualified by each namespace it has a PID in: decodes only where that
			 * namespace is visible. An ancestor's slot with one's own PID there is
			 * ESRCH too: the namespace is not visible, though the task is.
			 */
			for (int n = T->ns; n >= 0; n = ns_parent[n]) {
				int ret = gp_decode(O->ag, G(t.slot[n], T->id.nspid[ns_level[n]]),
						    &pid);

				if (ns_sees(O->ns, n)) {
					EXPECT_EQ(0, ret) TH_LOG("%s decodes %s in %s", O->name,
								 T->name, ns_name[n]);
					EXPECT_EQ(view, pid) TH_LOG("%s decodes %s in %s",
								    O->name, T->name, ns_name[n]);
				} else {
					EXPECT_EQ(-ESRCH, ret) TH_LOG("%s decodes %s in %s",
								      O->name, T->name, ns_name[n]);
				}
			}
		}
	}

	/* No oracle: from C, every kind of unreachable gpid gets the very same answer. */
	do {
		const __u32 probes[] = {
			G(t.slot[NS_C], 4000),				/* no such PID */
			G(NTH(200), 1),					/* narrow slot free */
			G(2, 1),					/* wide slot free */
			canon(&t, &t.m[1]),				/* a, in the parent ns */
			G(t.slot[NS_A], t.c.id.nspid[1]),		/* c itself, via A */
			G(t.slot[NS_ROOT], 1),				/* the guest's init */
			canon(&t, &t.m[5]),				/* a2, a cousin */
			canon(&t, &t.m[6]),				/* b2, a cousin */
		};
		struct gpid_decode first = { 0 }, d;

		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			d = (struct gpid_decode){ .gpid = probes[i], .pid = 0x5a5a5a5a };
			EXPECT_EQ(-ESRCH, gp_ioctl(&t.c, GPID_IOC_DECODE, &d, sizeof(d)))
				TH_LOG("probe %zu: %#x", i, probes[i]);
			d.gpid = 0;
			if (i == 0)
				first = d;
			EXPECT_EQ(0, memcmp(&first, &d, sizeof(d))) TH_LOG("probe %zu", i);
		}
	} while (0);

	/* A thread of c: its own canonical gpid, its leader's with TGID. */
	do {
		struct gpid_thread_self ts[2];
		struct gpid_task_id th;
		struct gpid_levels lv;
		__u32 gp;
		__s32 pid;
		int tid = gpid_agent_thread(&t.c, &th);
		const __u32 sc = t.slot[NS_C], sb = t.slot[NS_B], sa = t.slot[NS_A];

		ASSERT_LT(1, tid);
		ASSERT_EQ(3, th.level);
		ASSERT_EQ(tid, th.nspid[3]);
		ASSERT_EQ(1, th.pid);
		ASSERT_EQ(0, gp_encode(NULL, th.nspid[0], 0, &gp));
		EXPECT_EQ(G(sc, tid), gp);
		ASSERT_EQ(0, gp_encode(NULL, th.nspid[0], GPID_ENCODE_TGID, &gp));
		EXPECT_EQ(G(sc, 1), gp);
		ASSERT_EQ(0, gp_encode(&t.b, th.nspid[2], 0, &gp));
		EXPECT_EQ(G(sc, tid), gp);
		ASSERT_EQ(0, gp_decode(&t.a, G(sc, tid), &pid));
		EXPECT_EQ(th.nspid[1], pid);
		ASSERT_EQ(0, gp_decode(&t.d, G(sc, tid), &pid));
		EXPECT_EQ(tid, pid);
		ASSERT_EQ(0, gp_levels(NULL, th.nspid[0], 0, &lv));
		ASSERT_EQ(4, lv.count);
		EXPECT_EQ(G(sc, tid), lv.gpids[0]);
		EXPECT_EQ(G(sb, th.nspid[2]), lv.gpids[1]);
		EXPECT_EQ(G(sa, th.nspid[1]), lv.gpids[2]);
		EXPECT_EQ(G(1, th.nspid[0]), lv.gpids[3]);
		ASSERT_EQ(0, gp_levels(&t.b, th.nspid[2], GPID_ENCODE_TGID, &lv));
		ASSERT_EQ(2, lv.count);
		EXPECT_EQ(G(sc, 1), lv.gpids[0]);
		EXPECT_EQ(G(sb, t.c.id.nspid[2]), lv.gpids[1]);

		/* SELF from two threads of d at once: distinct tids, one tgid. */
		ASSERT_EQ(0, gpid_agent_threads_self(&t.d, 2, ts));
		for (int i = 0; i < 2; i++) {
			ASSERT_EQ(0, ts[i].ret);
			EXPECT_EQ(G(sc, ts[i].tid), ts[i].self.tid);
			EXPECT_EQ(G(sc, 2), ts[i].self.tgid);
			EXPECT_EQ(sc, ts[i].self.slot);
			EXPECT_EQ(0, ts[i].self.level);
		}
		EXPECT_NE(ts[0].tid, ts[1].tid);
	} while (0);

	/* Reaped: A's init takes B, C and B2 with it; nothing of them decodes any more. */
	do {
		struct gpid_ns_info info;
		__s32 pid;

		ASSERT_EQ(0, gpid_agent_stop(NULL, &t.a));
		gpid_agent_close(&t.b);
		gpid_agent_close(&t.c);
		gpid_agent_close(&t.d);
		gpid_agent_close(&t.b2);
		for (int x = 1; x <= 4; x++) {
			EXPECT_EQ(-ESRCH, gp_decode(NULL, canon(&t, &t.m[x]), &pid))
				TH_LOG("%s", t.m[x].name);
		}
		EXPECT_EQ(-ESRCH, gp_decode(NULL, t.a.pid, &pid));
		/* Dead namespaces keep their slots until a class is full. */
		ASSERT_EQ(0, gp_ns_info(NULL, t.slot[NS_C], &info));
		expect_ns_info(_metadata, &info, 3, t.slot[NS_B], t.ino[NS_C], 1, 0, 0, "dead C");
		/* A2 is alive and well. */
		ASSERT_EQ(0, gp_decode(NULL, canon(&t, &t.m[5]), &pid));
		EXPECT_EQ(t.a2.pid, pid);
		ASSERT_EQ(0, gpid_agent_stop(NULL, &t.a2));
		EXPECT_EQ(-ESRCH, gp_decode(NULL, canon(&t, &t.m[5]), &pid));
	} while (0);
}

/* /proc/gpid/namespaces: what each reader sees, and nothing more. */
TEST_F_TIMEOUT(gp, proc_namespaces, 60)
{
	static char buf[GPID_AGENT_DATA];
	struct gpid_ns_line l[64];
	struct tree t;

	tree_build(_metadata, &t);

	for (int o = 0; o < NR_MEMBERS; o++) {
		struct member *O = &t.m[o];
		int n, want = 0;

		ASSERT_LT(0, gp_read(O->ag, "/proc/gpid/namespaces", buf, sizeof(buf)))
			TH_LOG("%s", O->name);
		n = gpid_parse_namespaces(buf, l, 64);
		ASSERT_LE(0, n) TH_LOG("%s: malformed:\n%s", O->name, buf);
		for (int i = 1; i < n; i++) {
			EXPECT_LT(l[i - 1].slot, l[i].slot) TH_LOG("%s: not in slot order", O->name);
		}
		for (int k = 0; k < NR_NS; k++) {
			const struct gpid_ns_line *e = gpid_find_ns_line(l, n, t.slot[k]);

			if (!ns_sees(O->ns, k)) {
				EXPECT_EQ(NULL, e) TH_LOG("%s sees %s:\n%s", O->name, ns_name[k], buf);
				continue;
			}
			want++;
			ASSERT_NE(NULL, e) TH_LOG("%s misses %s:\n%s", O->name, ns_name[k], buf);
			EXPECT_EQ(1, e->generation);
			EXPECT_EQ(ns_level[k] - ns_level[O->ns], e->level)
				TH_LOG("%s: level of %s, relative", O->name, ns_name[k]);
			EXPECT_EQ(k == O->ns || k == NS_ROOT ? 0 : t.slot[ns_parent[k]], e->parent)
				TH_LOG("%s: parent of %s", O->name, ns_name[k]);
			EXPECT_EQ(t.ino[k], e->ino);
			EXPECT_EQ(1, e->live);
			EXPECT_EQ(0, e->policy);
			/* The initial namespace is bound wide, the others narrow; none promoted. */
			EXPECT_EQ(k == NS_ROOT, e->wide_class) TH_LOG("%s: class of %s", O->name,
								       ns_name[k]);
			EXPECT_EQ(0, e->wide);
			EXPECT_EQ(0, e->wide_generation);
		}
		EXPECT_EQ(want, n) TH_LOG("%s:\n%s", O->name, buf);
	}

	/* A dead namespace is listed as not live until its slot is reclaimed. */
	ASSERT_EQ(0, gpid_agent_stop(NULL, &t.a2));
	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	ASSERT_EQ(NR_NS, gpid_parse_namespaces(buf, l, 64)) TH_LOG("%s", buf);
	ASSERT_NE(NULL, gpid_find_ns_line(l, NR_NS, t.slot[NS_A2]));
	EXPECT_EQ(0, gpid_find_ns_line(l, NR_NS, t.slot[NS_A2])->live);
	EXPECT_EQ(1, gpid_find_ns_line(l, NR_NS, t.slot[NS_A])->live);
}

/*
 * The deepest namespaces: levels 0..MAX_PID_NS_LEVEL (32) exist, so a task at level 32 has a
 * PID, and a gpid, in 33 namespaces: LEVELS from the initial namespace must give all 33.
 */
#define DEEPEST 32
#define LEVEL_SLOT(i)	((i) ? NTH((i) - 1) : 1)

TEST_F_TIMEOUT(gp, deepest_namespace_levels, 60)
{
	static struct gpid_agent ag[DEEPEST + 2];
	struct gpid_agent *deep = &ag[DEEPEST];
	struct gpid_levels lv;
	struct gpid_self s;
	__s32 pid;
	__u32 gp;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	ASSERT_EQ(0, gpid_agent_start(&ag[1], 1));
	for (int i = 2; i <= DEEPEST; i++) {
		ASSERT_EQ(0, gpid_agent_spawn(&ag[i - 1], &ag[i], 1)) TH_LOG("level %d", i);
	}
	/* The kernel's own limit: no level 33. */
	EXPECT_EQ(-ENOSPC, gpid_agent_spawn(deep, &ag[DEEPEST + 1], 1));
	ASSERT_EQ(DEEPEST, deep->id.level);
	/* Level i is the i-th namespace bound: narrow slot W + i; level 0 is wide slot 1. */
	for (int i = 1; i <= DEEPEST; i++) {
		ASSERT_EQ(0, gp_self(&ag[i], &s)) TH_LOG("level %d", i);
		ASSERT_EQ(LEVEL_SLOT(i), s.slot) TH_LOG("level %d", i);
		ASSERT_EQ(0, s.level) TH_LOG("level %d", i);
		ASSERT_EQ(G(LEVEL_SLOT(i), 1), s.tid) TH_LOG("level %d", i);
	}
	ASSERT_EQ(0, gp_encode(NULL, deep->id.nspid[0], 0, &gp));
	EXPECT_EQ(G(LEVEL_SLOT(DEEPEST), 1), gp);
	ASSERT_EQ(0, gp_decode(NULL, G(LEVEL_SLOT(DEEPEST), 1), &pid));
	EXPECT_EQ(deep->id.nspid[0], pid);
	ASSERT_EQ(0, gp_decode(&ag[1], G(LEVEL_SLOT(DEEPEST), 1), &pid));
	EXPECT_EQ(deep->id.nspid[1], pid);

	/* From level 1: 32 entries. */
	ASSERT_EQ(0, gp_levels(&ag[1], deep->id.nspid[1], 0, &lv));
	ASSERT_EQ(DEEPEST, lv.count);
	for (int i = 0; i < DEEPEST; i++) {
		EXPECT_EQ(G(LEVEL_SLOT(DEEPEST - i), deep->id.nspid[DEEPEST - i]), lv.gpids[i])
			TH_LOG("[%d]", i);
	}
	/* From the initial namespace: 33 entries, the last one the initial namespace's. */
	EXPECT_EQ(0, gp_levels(NULL, deep->id.nspid[0], 0, &lv))
		TH_LOG("GPID_MAX_LEVELS (%d) cannot hold the %d levels of a level-%d task",
		       GPID_MAX_LEVELS, DEEPEST + 1, DEEPEST);
	EXPECT_EQ(DEEPEST + 1, lv.count);
	for (int i = 0; i < (int)lv.count && i < GPID_MAX_LEVELS; i++) {
		EXPECT_EQ(G(LEVEL_SLOT(DEEPEST - i), deep->id.nspid[DEEPEST - i]), lv.gpids[i])
			TH_LOG("[%d]", i);
	}
#undef LEVEL_SLOT
}

/* SELF and NS_INFO name the caller's active namespace, not the one for its children. */
TEST_F(gp, active_namespace_not_for_children)
{
	struct gpid_agent a, c;
	struct gpid_ns_info info;
	struct gpid_self s;
	__s32 pid;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(0, gpid_agent_start(&a, 1));
	ASSERT_EQ(0, gp_self(&a, &s));
	ASSERT_EQ(NTH(0), s.slot);
	ASSERT_EQ(0, gpid_agent_simple(&a, GPID_AG_UNSHARE, CLONE_NEWPID, 0));
	ASSERT_EQ(0, gp_self(&a, &s));
	EXPECT_EQ(NTH(0), s.slot);
	EXPECT_EQ(0, s.level);
	EXPECT_EQ(G(NTH(0), 1), s.tid);
	ASSERT_EQ(0, gp_ns_info(&a, 0, &info));
	EXPECT_EQ(a.id.ns_ino, info.ino);
	EXPECT_EQ(0, info.level);
	/* Its next child is PID 1 of the new namespace. */
	ASSERT_EQ(0, gpid_agent_spawn(&a, &c, 0));
	ASSERT_EQ(2, c.id.level);
	ASSERT_EQ(1, c.id.pid);
	ASSERT_EQ(0, gp_self(&c, &s));
	EXPECT_EQ(NTH(1), s.slot);
	EXPECT_EQ(0, s.level);
	EXPECT_EQ(G(NTH(1), 1), s.tid);
	ASSERT_EQ(0, gp_decode(&a, G(NTH(1), 1), &pid));
	EXPECT_EQ(c.pid, pid);
	ASSERT_EQ(0, gp_ns_info(&a, NTH(1), &info));
	/* c's namespace is one below a's (the viewer): level 1 for a. */
	expect_ns_info(_metadata, &info, 1, NTH(0), c.id.ns_ino, 1, 0, GPID_NS_LIVE, "c");
}

/* ----------------------------------------------------------------------------------------- */

static int proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (gpid_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : -1;
}

/* Zombies decode, reaped tasks do not, and a reused PID is named by the old gpid. */
TEST_F(gp, zombie_reaped_and_pid_reuse)
{
	struct gpid_task_id s1, s2;
	struct gpid_agent n;
	struct gpid_self s;
	__u32 g, gp;
	__s32 pid;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	ASSERT_EQ(0, gpid_agent_start(&n, 1));
	ASSERT_EQ(0, gp_self(&n, &s));
	ASSERT_EQ(NTH(0), s.slot);

	/* A child of n's init with PID 100 in n's namespace. */
	ASSERT_EQ(100, gpid_agent_sleeper(&n, 100, 0, &s1));
	ASSERT_EQ(100, s1.pid);
	ASSERT_EQ(1, s1.level);
	g = G(NTH(0), 100);
	ASSERT_EQ(0, gp_encode(NULL, s1.nspid[0], 0, &gp));
	EXPECT_EQ(g, gp);
	ASSERT_EQ(0, gp_encode(&n, 100, 0, &gp));
	EXPECT_EQ(g, gp);
	ASSERT_EQ(0, gp_decode(NULL, g, &pid));
	EXPECT_EQ(s1.nspid[0], pid);

	/* Killed but not reaped: a zombie decodes like a live task (as kill(2) finds it). */
	ASSERT_EQ(0, gpid_agent_simple(&n, GPID_AG_KILL, 100, SIGKILL));
	ASSERT_EQ(0, gpid_agent_simple(&n, GPID_AG_WAIT_ZOMBIE, 100, 0));
	ASSERT_EQ('Z', proc_state(s1.nspid[0]));
	ASSERT_EQ(0, gp_decode(NULL, g, &pid));
	EXPECT_EQ(s1.nspid[0], pid);
	ASSERT_EQ(0, gp_decode(&n, g, &pid));
	EXPECT_EQ(100, pid);
	ASSERT_EQ(0, gp_decode(&n, 100, &pid));
	EXPECT_EQ(100, pid);

	/* Reaped: gone, from everywhere, like a PID that never existed. */
	ASSERT_EQ(100, gpid_agent_simple(&n, GPID_AG_WAIT, 100, 0));
	EXPECT_EQ(-ESRCH, gp_decode(NULL, g, &pid));
	EXPECT_EQ(-ESRCH, gp_decode(&n, g, &pid));
	EXPECT_EQ(-ESRCH, gp_decode(&n, 100, &pid));
	EXPECT_EQ(-ESRCH, gp_decode(&n, G(NTH(0), 4000), &pid));
	EXPECT_EQ(-ESRCH, gp_encode(&n, 100, 0, &gp));

	/*
	 * PID reuse: a new task gets PID 100 in the same namespace. The stale gpid now names
	 * the new task: that is the defined behaviour, the same as for a plain PID (a gpid is a
	 * PID with its namespace spelled out, not a handle; use pidfds for that).
	 */
	ASSERT_EQ(100, gpid_agent_sleeper(&n, 100, 0, &s2));
	ASSERT_EQ(100, s2.pid);
	ASSERT_EQ(0, gp_decode(NULL, g, &pid));
	EXPECT_EQ(s2.nspid[0], pid);
	ASSERT_EQ(0, gp_decode(&n, g, &pid));
	EXPECT_EQ(100, pid);
	ASSERT_EQ(0, gp_encode(NULL, s2.nspid[0], 0, &gp));
	EXPECT_EQ(g, gp);

	/*
	 * The namespace's init exits: its other tasks are killed at once. Until the init itself
	 * is reaped it is a zombie, a task of the namespace: it decodes and the namespace is
	 * live. Once reaped, everything of it is ESRCH and the namespace is dead.
	 */
	do {
		struct gpid_ns_info info;
		siginfo_t si;

		ASSERT_EQ(0, gpid_agent_simple(&n, GPID_AG_EXIT, 0, 0));
		ASSERT_EQ(0, waitid(P_PID, n.pid, &si, WEXITED | WNOWAIT));
		ASSERT_EQ('Z', proc_state(n.pid));
		EXPECT_EQ(-ESRCH, gp_decode(NULL, g, &pid));
		ASSERT_EQ(0, gp_decode(NULL, G(NTH(0), 1), &pid));
		EXPECT_EQ(n.pid, pid);
		ASSERT_EQ(0, gp_ns_info(NULL, NTH(0), &info));
		EXPECT_EQ(GPID_NS_LIVE, info.state);
		ASSERT_LE(0, gpid_reap(n.pid));
		gpid_agent_close(&n);
		EXPECT_EQ(-ESRCH, gp_decode(NULL, g, &pid));
		EXPECT_EQ(-ESRCH, gp_decode(NULL, G(NTH(0), 1), &pid));
		ASSERT_EQ(0, gp_ns_info(NULL, NTH(0), &info));
		EXPECT_EQ(0, info.state);
	} while (0);
}

/*
 * A process-group leader that exited and was reaped while its group lives on: its PID number
 * stays allocated (as the group's ID) but names no task, so it is ESRCH like any reaped task.
 */
TEST_F(gp, reaped_group_leader)
{
	struct gpid_agent n, p;
	struct gpid_task_id q;
	struct gpid_self s;
	__s32 pid;
	__u32 gp, g;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(0, gpid_agent_start(&n, 1));
	ASSERT_EQ(0, gp_self(&n, &s));
	ASSERT_EQ(NTH(0), s.slot);
	ASSERT_EQ(0, gpid_agent_spawn(&n, &p, 0));
	ASSERT_EQ(2, p.id.pid);
	ASSERT_EQ(0, gpid_agent_simple(&p, GPID_AG_SETPGID, 0, 0));
	/* q: a child of n (so it outlives p) moved into p's group. */
	ASSERT_EQ(3, gpid_agent_sleeper(&n, 0, 0, &q));
	ASSERT_EQ(0, gpid_agent_simple(&n, GPID_AG_SETPGID, 3, 2));
	g = G(NTH(0), 2);
	ASSERT_EQ(0, gp_decode(NULL, g, &pid));
	EXPECT_EQ(p.id.nspid[0], pid);

	ASSERT_EQ(0, gpid_agent_stop(&n, &p));
	/* The group still exists: its ID is p's old PID. */
	ASSERT_EQ(0, kill(-p.id.nspid[0], 0));
	EXPECT_EQ(-ESRCH, gp_decode(NULL, g, &pid));
	EXPECT_EQ(-ESRCH, gp_decode(&n, g, &pid));
	EXPECT_EQ(-ESRCH, gp_decode(&n, 2, &pid));
	EXPECT_EQ(-ESRCH, gp_encode(&n, 2, 0, &gp));
	EXPECT_EQ(-ESRCH, gp_encode(&n, 2, GPID_ENCODE_TGID, &gp));
	EXPECT_EQ(-ESRCH, gp_encode(NULL, p.id.nspid[0], 0, &gp));
	/* Its surviving member is fine. */
	ASSERT_EQ(0, gp_decode(NULL, G(NTH(0), 3), &pid));
	EXPECT_EQ(q.nspid[0], pid);
}

/* ----------------------------------------------------------------------------------------- */

/*
 * pid_bits=28: wide slots 1..3 and no narrow slot (they would not fit): every namespace falls
 * back to a wide slot, so this is ABI 1's three nsids. Exhaustion, then reclaim of dead
 * namespaces with new generations.
 */
TEST_F_TIMEOUT(gp, slot_exhaustion_pid_bits_28, 60)
{
	struct gpid_agent a, b, c, d, e, f;
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_levels lv;
	struct gpid_self s;
	__u32 gp, gen_c, gen_e;
	__s32 pid;
	static char buf[4096];
	struct gpid_ns_line l[8];

	ASSERT_EQ(0, gpid_reload_module("pid_bits=28"));
	gpid_expect_params_layout(_metadata, 28, 16, 0);
	ASSERT_EQ(3, gpid_max_slot());

	/* The initial namespace holds slot 1. */
	ASSERT_EQ(0, gp_self(NULL, &s));
	EXPECT_EQ(1, s.slot);
	EXPECT_EQ((1U << 28) | gettid(), s.tid);

	ASSERT_EQ(0, gpid_agent_start(&a, 1));
	ASSERT_EQ(0, gpid_agent_start(&b, 1));
	ASSERT_EQ(0, gpid_agent_start(&c, 1));
	ASSERT_EQ(0, gp_self(&a, &s));
	EXPECT_EQ(2, s.slot);
	EXPECT_EQ((2U << 28) | 1, s.tid);
	ASSERT_EQ(0, gp_encode(NULL, b.pid, 0, &gp));
	EXPECT_EQ((3U << 28) | 1, gp);

	/* Full of live namespaces: no slot for a third one, by any path. */
	EXPECT_EQ(-ENOSPC, gp_self(&c, &s));
	EXPECT_EQ(-ENOSPC, gp_encode(NULL, c.pid, 0, &gp));
	EXPECT_EQ(-ENOSPC, gp_encode(&c, 0, 0, &gp));
	EXPECT_EQ(-ENOSPC, gp_levels(NULL, c.pid, 0, &lv));
	EXPECT_EQ(-ENOSPC, gp_ns_info(&c, 0, &info));
	set = (struct gpid_ns_set){ .pid = a.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(2, set.slot);
	set = (struct gpid_ns_set){ .pid = c.pid, .flags = GPID_NS_SET_SLOT, .slot = 2 };
	EXPECT_EQ(-EEXIST, gp_ns_set(NULL, &set));
	EXPECT_EQ(-EINVAL, gp_ns_info(NULL, 4, &info));
	/* Unqualified decoding needs no slot and still works in c. */
	ASSERT_EQ(0, gp_decode(&c, 1, &pid));
	EXPECT_EQ(1, pid);

	/* a's namespace dies: it keeps slot 2 (not live) until an allocation needs it. */
	ASSERT_EQ(0, gpid_agent_stop(NULL, &a));
	ASSERT_EQ(0, gp_ns_info(NULL, 2, &info));
	expect_ns_info(_metadata, &info, 1, 1, a.id.ns_ino, 1, GPID_POLICY_EXPORT, 0, "dead a");
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G(2, 1), &pid));
	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	ASSERT_EQ(3, gpid_parse_namespaces(buf, l, 8)) TH_LOG("%s", buf);
	ASSERT_NE(NULL, gpid_find_ns_line(l, 3, 2));
	EXPECT_EQ(0, gpid_find_ns_line(l, 3, 2)->live);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(1, l[i].wide_class) TH_LOG("slot %u", l[i].slot);
	}

	/* Every slot taken: the dead one is reclaimed and its slot reused, with a new generation. */
	ASSERT_EQ(0, gp_self(&c, &s));
	EXPECT_EQ(2, s.slot);
	EXPECT_EQ(G(2, 1), s.tid);
	ASSERT_EQ(0, gp_ns_info(NULL, 2, &info));
	/* A new binding: default policy, not the dead namespace's. */
	expect_ns_info(_metadata, &info, 1, 1, c.id.ns_ino, 0, 0, GPID_NS_LIVE, "c");
	EXPECT_NE(1, info.generation);
	gen_c = info.generation;
	/*
	 * The stale gpid of a's init now names c's init: slot 2 is c's namespace now. That is
	 * why the generation exists: (slot, generation) tells the two apart.
	 */
	ASSERT_EQ(0, gp_decode(NULL, G(2, 1), &pid));
	EXPECT_EQ(c.pid, pid);

	/* Both others die: both are reclaimed at the next allocation, cyclically after 2. */
	ASSERT_EQ(0, gpid_agent_stop(NULL, &b));
	ASSERT_EQ(0, gpid_agent_stop(NULL, &c));
	ASSERT_EQ(0, gpid_agent_start(&d, 1));
	ASSERT_EQ(0, gpid_agent_start(&e, 1));
	ASSERT_EQ(0, gpid_agent_start(&f, 1));
	ASSERT_EQ(0, gp_self(&d, &s));
	EXPECT_EQ(3, s.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, 3, &info));
	expect_ns_info(_metadata, &info, 1, 1, d.id.ns_ino, 0, 0, GPID_NS_LIVE, "d");
	EXPECT_NE(1, info.generation);
	ASSERT_EQ(0, gp_self(&e, &s));
	EXPECT_EQ(2, s.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, 2, &info));
	expect_ns_info(_metadata, &info, 1, 1, e.id.ns_ino, 0, 0, GPID_NS_LIVE, "e");
	gen_e = info.generation;
	EXPECT_NE(1, gen_e);
	EXPECT_NE(gen_c, gen_e);
	EXPECT_EQ(-ENOSPC, gp_self(&f, &s));
	ASSERT_EQ(0, gp_decode(NULL, G(2, 1), &pid));
	EXPECT_EQ(e.pid, pid);
	ASSERT_EQ(0, gp_decode(NULL, G(3, 1), &pid));
	EXPECT_EQ(d.pid, pid);
}

/* pid_bits=29: a single wide slot, which the initial namespace holds, and no narrow one. */
TEST_F(gp, slot_exhaustion_pid_bits_29)
{
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_agent a;
	struct gpid_self s;
	__u32 gp;
	__s32 pid;

	ASSERT_EQ(0, gpid_reload_module("pid_bits=29"));
	gpid_expect_params_layout(_metadata, 29, 16, 0);
	ASSERT_EQ(1, gpid_max_slot());
	ASSERT_EQ(0, gp_self(NULL, &s));
	EXPECT_EQ(1, s.slot);
	EXPECT_EQ((1U << 29) | gettid(), s.tid);
	ASSERT_EQ(0, gp_decode(NULL, (1U << 29) | getpid(), &pid));
	EXPECT_EQ(getpid(), pid);
	EXPECT_EQ(-EINVAL, gp_ns_info(NULL, 2, &info));
	EXPECT_EQ(-EINVAL, gp_decode(NULL, 0x40000000, &pid));

	ASSERT_EQ(0, gpid_agent_start(&a, 1));
	EXPECT_EQ(-ENOSPC, gp_self(&a, &s));
	EXPECT_EQ(-ENOSPC, gp_encode(NULL, a.pid, 0, &gp));
	set = (struct gpid_ns_set){ .pid = a.pid, .flags = GPID_NS_SET_SLOT, .slot = 1 };
	EXPECT_EQ(-EEXIST, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = a.pid, .flags = GPID_NS_SET_SLOT, .slot = 2 };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
}

struct light_result {
	int ret;
	struct gpid_self self;
};

/*
 * A minimal child in a new PID namespace: GPID_IOC_SELF, report on res_w, then wait for EOF
 * on release_r (the test closing release_w).
 */
static pid_t light_ns_child(int res_w, int release_r, int release_w)
{
	pid_t pid = gpid_fork(1);

	if (pid == 0) {
		struct light_result r;
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(release_w);
		r.ret = gp_self(NULL, &r.self);
		if (write(res_w, &r, sizeof(r)) != sizeof(r))
			_exit(1);
		while (read(release_r, &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	gpid_track(pid);
	return pid;
}

static int light_result(int res_r, struct light_result *r)
{
	if (gpid_wait_readable(res_r, 20000))
		return -1;
	return read(res_r, r, sizeof(*r)) == sizeof(*r) ? 0 : -1;
}

/*
 * The default layout: W wide slots of 22 bits, then every narrow slot of 16 bits that fits.
 * More live namespaces than ABI 1's 254 (MANY) each get the next narrow slot, in order; a
 * dead one keeps its slot while the class has room, so the next one does not reuse it.
 */
#define MANY	300

TEST_F_TIMEOUT(gp, many_namespaces_default_layout, 120)
{
	static pid_t kids[MANY + 2];
	static char buf[GPID_AGENT_DATA];
	static struct gpid_ns_line l[MANY + 8];
	struct timespec t0, t1;
	struct light_result r;
	struct gpid_ns_info info;
	struct gpid_self s;
	int res[2], rel[2], n;
	char path[64];
	struct stat st;
	__u32 gp;

	gpid_expect_params_layout(_metadata, 22, 16, 0);
	ASSERT_LT(MANY + 1, gpid_layout()->narrow_slots);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rel, O_CLOEXEC));
	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);

	for (int i = 1; i <= MANY; i++) {
		kids[i] = light_ns_child(res[1], rel[0], rel[1]);
		ASSERT_LT(0, kids[i]) TH_LOG("namespace %d", i);
		ASSERT_EQ(0, light_result(res[0], &r)) TH_LOG("namespace %d", i);
		ASSERT_EQ(0, r.ret) TH_LOG("namespace %d", i);
		ASSERT_EQ(NTH(i - 1), r.self.slot);
		ASSERT_EQ(0, r.self.level);
		ASSERT_EQ(G(NTH(i - 1), 1), r.self.tid);
	}
	ASSERT_EQ(0, gp_encode(NULL, kids[MANY], 0, &gp));
	EXPECT_EQ(G(NTH(MANY - 1), 1), gp);

	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	n = gpid_parse_namespaces(buf, l, MANY + 8);
	EXPECT_EQ(MANY + 1, n);
	for (int i = 0; i < n; i++) {
		EXPECT_EQ(1, l[i].live) TH_LOG("slot %u", l[i].slot);
		EXPECT_EQ(i ? NTH(i - 1) : 1, l[i].slot);
		EXPECT_EQ(i == 0, l[i].wide_class) TH_LOG("slot %u", l[i].slot);
	}

	/* One dies: it keeps its slot, and the next new namespace takes the next one. */
	ASSERT_EQ(0, kill(kids[10], SIGKILL));
	ASSERT_LE(0, gpid_reap(kids[10]));
	kids[MANY + 1] = light_ns_child(res[1], rel[0], rel[1]);
	ASSERT_LT(0, kids[MANY + 1]);
	ASSERT_EQ(0, light_result(res[0], &r));
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(NTH(MANY), r.self.slot);
	EXPECT_EQ(G(NTH(MANY), 1), r.self.tid);
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", kids[MANY + 1]);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(0, gp_ns_info(NULL, NTH(MANY), &info));
	expect_ns_info(_metadata, &info, 1, 1, st.st_ino, 1, 0, GPID_NS_LIVE, "the next one");
	ASSERT_EQ(0, gp_ns_info(NULL, NTH(9), &info));
	EXPECT_EQ(0, info.state) TH_LOG("the dead one's slot");
	EXPECT_EQ(1, info.generation);

	close(rel[1]);
	for (int i = 1; i <= MANY + 1; i++)
		if (i != 10) {
			EXPECT_EQ(0, gpid_reap(kids[i])) TH_LOG("namespace %d", i);
		}
	close(rel[0]);
	close(res[0]);
	close(res[1]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%d namespaces in %ld ms", MANY + 1,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
}

/*
 * When the narrow class is full, all dead namespaces are reclaimed at once: with 20 dead ones,
 * none is left bound after the next allocation. narrow_bits=19 wide_slots=252: 24 narrow slots.
 */
#define FEW_NARROW	24

TEST_F_TIMEOUT(gp, reclaim_all_dead_at_once, 60)
{
	static pid_t kids[FEW_NARROW + 2];
	static char buf[GPID_AGENT_DATA];
	static struct gpid_ns_line l[64];
	struct light_result r;
	struct gpid_ns_info info;
	struct gpid_self s;
	int res[2], rel[2], n;

	ASSERT_EQ(0, gpid_reload_module("narrow_bits=19 wide_slots=252"));
	ASSERT_EQ(252 + FEW_NARROW, gpid_max_slot());
	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(rel, O_CLOEXEC));
	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	for (int i = 1; i <= FEW_NARROW; i++) {
		kids[i] = light_ns_child(res[1], rel[0], rel[1]);
		ASSERT_LT(0, kids[i]) TH_LOG("namespace %d", i);
		ASSERT_EQ(0, light_result(res[0], &r)) TH_LOG("namespace %d", i);
		ASSERT_EQ(0, r.ret) TH_LOG("namespace %d", i);
		ASSERT_EQ(NTH(i - 1), r.self.slot);
	}
	/* 20 die: dead, still bound while there is no need for their slots. */
	for (int i = 1; i <= 20; i++) {
		ASSERT_EQ(0, kill(kids[i], SIGKILL));
		ASSERT_LE(0, gpid_reap(kids[i]));
	}
	for (int i = 1; i <= 20; i++) {
		ASSERT_EQ(0, gp_ns_info(NULL, NTH(i - 1), &info)) TH_LOG("slot %u", NTH(i - 1));
		EXPECT_EQ(0, info.state) TH_LOG("slot %u", NTH(i - 1));
	}
	/* The narrow class is full: the next namespace reclaims them all, and takes the first. */
	kids[FEW_NARROW + 1] = light_ns_child(res[1], rel[0], rel[1]);
	ASSERT_LT(0, kids[FEW_NARROW + 1]);
	ASSERT_EQ(0, light_result(res[0], &r));
	ASSERT_EQ(0, r.ret);
	EXPECT_EQ(NTH(0), r.self.slot);
	for (int i = 2; i <= 20; i++) {
		EXPECT_EQ(-ENOENT, gp_ns_info(NULL, NTH(i - 1), &info)) TH_LOG("slot %u", NTH(i - 1));
	}
	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	n = gpid_parse_namespaces(buf, l, 64);
	EXPECT_EQ(1 + (FEW_NARROW - 20) + 1, n);
	for (int i = 0; i < n; i++) {
		EXPECT_EQ(1, l[i].live) TH_LOG("slot %u", l[i].slot);
	}

	close(rel[1]);
	for (int i = 21; i <= FEW_NARROW + 1; i++) {
		EXPECT_EQ(0, gpid_reap(kids[i])) TH_LOG("namespace %d", i);
	}
	close(rel[0]);
	close(res[0]);
	close(res[1]);
}

/* ----------------------------------------------------------------------------------------- */

/* GPID_IOC_NS_SET with GPID_NS_SET_SLOT (checkpoint/restore) and the export policy. */
TEST_F(gp, ns_set_slot_and_policy)
{
	struct gpid_agent n1, n2, n3, n4;
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_task_id gone;
	struct gpid_self s;
	pid_t dead;
	__s32 pid;
	/* Slots asked for: narrow ones none of which is the next to be bound, a high wide one. */
	const __u32 na = NTH(12), nb = NTH(13), nc = NTH(15), nd = NTH(25);
	const __u32 wa = NTH(0) - 2;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	ASSERT_EQ(0, gpid_agent_start(&n1, 1));
	ASSERT_EQ(0, gpid_agent_start(&n2, 1));
	ASSERT_EQ(0, gpid_agent_start(&n3, 1));
	ASSERT_EQ(0, gpid_agent_start(&n4, 1));

	/* A fresh namespace gets the slot it asks for (a narrow one). */
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_SLOT, .slot = na };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(na, set.slot);
	EXPECT_EQ(1, set.generation);
	ASSERT_EQ(0, gp_self(&n1, &s));
	EXPECT_EQ(na, s.slot);
	EXPECT_EQ(G(na, 1), s.tid);
	ASSERT_EQ(0, gp_ns_info(NULL, na, &info));
	expect_ns_info(_metadata, &info, 1, 1, n1.id.ns_ino, 1, 0, GPID_NS_LIVE, "na");
	ASSERT_EQ(0, gp_decode(NULL, G(na, 1), &pid));
	EXPECT_EQ(n1.pid, pid);

	/* The same again: success, nothing changes. */
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_SLOT, .slot = na };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(na, set.slot);
	EXPECT_EQ(1, set.generation);
	/*
	 * Holding another slot of that class: EBUSY (a narrow one for n1; for the initial
	 * namespace, bound wide, a wide one or a narrow one).
	 */
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_SLOT, .slot = nb };
	EXPECT_EQ(-EBUSY, gp_ns_set(NULL, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, nb, &info));
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_SLOT, .slot = 5 };
	EXPECT_EQ(-EBUSY, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_SLOT, .slot = nb };
	EXPECT_EQ(-EBUSY, gp_ns_set(NULL, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, nb, &info));
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_SLOT, .slot = 1 };
	EXPECT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(1, set.slot);
	/* Held by another live namespace: EEXIST. */
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT, .slot = na };
	EXPECT_EQ(-EEXIST, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT, .slot = 1 };
	EXPECT_EQ(-EEXIST, gp_ns_set(NULL, &set));
	/* Out of range. */
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT, .slot = 0 };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT,
				    .slot = gpid_max_slot() + 1 };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT, .slot = ~0U };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	/* The largest one is fine. */
	set = (struct gpid_ns_set){ .pid = n4.pid, .flags = GPID_NS_SET_SLOT,
				    .slot = gpid_max_slot() };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(gpid_max_slot(), set.slot);
	ASSERT_EQ(0, gp_decode(NULL, G(gpid_max_slot(), 1), &pid));
	EXPECT_EQ(n4.pid, pid);

	/* Bad flags, reserved, policy bits. */
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = 0, .slot = nc };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = 4, .slot = nc };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT | 0x80000000,
				    .slot = nc };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT, .slot = nc,
				    .reserved = 1 };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_POLICY, .policy = 2 };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = 0x80000000 | GPID_POLICY_EXPORT };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, nc, &info));
	ASSERT_EQ(0, gp_ns_info(NULL, na, &info));
	EXPECT_EQ(0, info.policy);

	/* No such target. */
	dead = gpid_agent_sleeper(NULL, 0, 0, &gone);
	ASSERT_LT(0, dead);
	ASSERT_EQ(0, kill(dead, SIGKILL));
	ASSERT_LE(0, gpid_reap(dead));
	set = (struct gpid_ns_set){ .pid = dead, .flags = GPID_NS_SET_SLOT, .slot = nc };
	EXPECT_EQ(-ESRCH, gp_ns_set(NULL, &set));

	/* The export policy: set, read back, cleared; with or without SET_SLOT. */
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(na, set.slot);
	EXPECT_EQ(1, set.generation);
	ASSERT_EQ(0, gp_ns_info(NULL, na, &info));
	EXPECT_EQ(GPID_POLICY_EXPORT, info.policy);
	ASSERT_EQ(0, gp_ns_info(&n1, 0, &info));
	EXPECT_EQ(GPID_POLICY_EXPORT, info.policy);
	do {
		static char buf[4096];
		struct gpid_ns_line l[16];
		int n;

		ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
		n = gpid_parse_namespaces(buf, l, 16);
		ASSERT_LT(0, n) TH_LOG("%s", buf);
		ASSERT_NE(NULL, gpid_find_ns_line(l, n, na));
		EXPECT_EQ(GPID_POLICY_EXPORT, gpid_find_ns_line(l, n, na)->policy);
		EXPECT_EQ(0, gpid_find_ns_line(l, n, 1)->policy);
	} while (0);
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_POLICY, .policy = 0 };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	ASSERT_EQ(0, gp_ns_info(NULL, na, &info));
	EXPECT_EQ(0, info.policy);
	/* wa: a wide slot, which holds small PIDs as well. */
	ASSERT_TRUE(gpid_slot_is_wide(wa));
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT | GPID_NS_SET_POLICY,
				    .slot = wa, .policy = GPID_POLICY_EXPORT };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(wa, set.slot);
	EXPECT_EQ(1, set.generation);
	ASSERT_EQ(0, gp_ns_info(NULL, wa, &info));
	expect_ns_info(_metadata, &info, 1, 1, n2.id.ns_ino, 1, GPID_POLICY_EXPORT,
		       GPID_NS_LIVE, "wa");
	ASSERT_EQ(0, gp_decode(NULL, G(wa, 1), &pid));
	EXPECT_EQ(n2.pid, pid);
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(1, set.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, 0, &info));
	EXPECT_EQ(GPID_POLICY_EXPORT, info.policy);
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_POLICY, .policy = 0 };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));

	/* A dead namespace holding the slot asked for is reclaimed first. */
	set = (struct gpid_ns_set){ .pid = n3.pid, .flags = GPID_NS_SET_SLOT, .slot = nd };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	EXPECT_EQ(1, set.generation);
	ASSERT_EQ(0, gpid_agent_stop(NULL, &n3));
	ASSERT_EQ(0, gp_ns_info(NULL, nd, &info));
	EXPECT_EQ(0, info.state);
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT, .slot = nd };
	EXPECT_EQ(-EBUSY, gp_ns_set(NULL, &set));	/* n2 has wide wa, no narrow one */
	do {
		struct gpid_agent n5;

		ASSERT_EQ(0, gpid_agent_start(&n5, 1));
		set = (struct gpid_ns_set){ .pid = n5.pid, .flags = GPID_NS_SET_SLOT, .slot = nd };
		ASSERT_EQ(0, gp_ns_set(NULL, &set));
		EXPECT_EQ(nd, set.slot);
		EXPECT_NE(0, set.generation);
		EXPECT_NE(1, set.generation);
		ASSERT_EQ(0, gp_ns_info(NULL, nd, &info));
		expect_ns_info(_metadata, &info, 1, 1, n5.id.ns_ino, set.generation, 0,
			       GPID_NS_LIVE, "90 again");
		ASSERT_EQ(0, gp_self(&n5, &s));
		EXPECT_EQ(nd, s.slot);
	} while (0);
}

/* Who may set: the slot, the initial namespace's admin; the policy, CAP_SYS_ADMIN over the
 * namespace's owner. */
TEST_F(gp, ns_set_permissions)
{
	struct gpid_agent n, m, u, v, w;
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_self s;
	__u32 gp;
	__s32 pid;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	ASSERT_EQ(0, gpid_agent_start(&n, 1));
	ASSERT_EQ(0, gpid_agent_start(&m, 1));

	/* u: uid 65534 in the initial user namespace, no capabilities. */
	ASSERT_EQ(0, gpid_agent_start(&u, 0));
	ASSERT_EQ(0, gpid_agent_simple(&u, GPID_AG_DROP_PRIVS, 0, 0));
	set = (struct gpid_ns_set){ .pid = n.pid, .flags = GPID_NS_SET_SLOT, .slot = 100 };
	EXPECT_EQ(-EPERM, gp_ns_set(&u, &set));
	set = (struct gpid_ns_set){ .pid = n.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&u, &set));
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&u, &set));
	set = (struct gpid_ns_set){ .pid = n.pid, .flags = GPID_NS_SET_SLOT | GPID_NS_SET_POLICY,
				    .slot = 100, .policy = 0 };
	EXPECT_EQ(-EPERM, gp_ns_set(&u, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 100, &info));
	ASSERT_EQ(0, gp_ns_info(NULL, 1, &info));
	EXPECT_EQ(0, info.policy);
	/* The rest of the interface is for everyone. */
	ASSERT_EQ(0, gp_self(&u, &s));
	EXPECT_EQ(1, s.slot);
	EXPECT_EQ(G(1, u.pid), s.tid);
	ASSERT_EQ(0, gp_encode(&u, n.pid, 0, &gp));
	EXPECT_EQ(G(NTH(0), 1), gp);
	ASSERT_EQ(0, gp_decode(&u, G(NTH(0), 1), &pid));
	EXPECT_EQ(n.pid, pid);
	ASSERT_EQ(0, gp_ns_info(&u, NTH(0), &info));
	EXPECT_EQ(n.id.ns_ino, info.ino);

	/* v: root of a user namespace of its own; m belongs to the initial user namespace. */
	ASSERT_EQ(0, gpid_agent_start(&v, 0));
	ASSERT_EQ(0, gpid_agent_simple(&v, GPID_AG_UNSHARE, CLONE_NEWUSER, 0));
	set = (struct gpid_ns_set){ .pid = m.pid, .flags = GPID_NS_SET_SLOT, .slot = 101 };
	EXPECT_EQ(-EPERM, gp_ns_set(&v, &set));
	set = (struct gpid_ns_set){ .pid = m.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&v, &set));
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&v, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 101, &info));

	/*
	 * ... and although v owns the PID namespace it creates (w's, where w is PID 1 with all of
	 * v's user namespace's capabilities), neither may choose its slot: binding a slot makes
	 * every gpid naming it mean the new namespace, power over whoever held it, so only the
	 * initial namespace's admin may. The answer is EPERM whatever the slot holds -- free,
	 * a dead namespace's, or a live namespace w cannot see -- so it is no oracle either
	 * (before, a dead root container's slot was taken over and a live one gave EEXIST).
	 */
	ASSERT_EQ(0, gpid_agent_spawn(&v, &w, 1));
	ASSERT_EQ(1, w.id.pid);
	do {
		struct gpid_agent d;
		__u32 dead_slot, live_slot = 0;

		ASSERT_EQ(0, gpid_agent_start(&d, 1));
		ASSERT_EQ(0, gp_encode(NULL, d.pid, 0, &gp));
		dead_slot = gpid_slot_of(gp);
		ASSERT_EQ(0, gpid_agent_stop(NULL, &d));
		ASSERT_EQ(0, gp_encode(NULL, m.pid, 0, &gp));
		live_slot = gpid_slot_of(gp);
		ASSERT_EQ(-ENOENT, gp_ns_info(&w, live_slot, &info));	/* invisible to w */
		ASSERT_EQ(0, gp_ns_info(NULL, dead_slot, &info));
		ASSERT_EQ(0, info.state);				/* held, dead */
		ASSERT_EQ(-ENOENT, gp_ns_info(NULL, 102, &info));	/* free */
		for (int who = 0; who < 2; who++) {
			const __u32 wanted[] = { 102, dead_slot, live_slot };

			for (int i = 0; i < 3; i++) {
				set = (struct gpid_ns_set){ .pid = who ? 0 : w.pid,
							    .flags = GPID_NS_SET_SLOT,
							    .slot = wanted[i] };
				EXPECT_EQ(-EPERM, gp_ns_set(who ? &w : &v, &set))
					TH_LOG("%s asking for slot %u", who ? "w" : "v", wanted[i]);
			}
		}
		ASSERT_EQ(0, gp_ns_info(NULL, dead_slot, &info));
		EXPECT_EQ(0, info.state) TH_LOG("the dead namespace's slot was taken over");
		EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 102, &info));
		/* The stale gpid of the dead namespace's init still names nothing. */
		EXPECT_EQ(-ESRCH, gp_decode(NULL, G(dead_slot, 1), &pid));
	} while (0);
	/* Asking for the slot it already holds is fine (it learns nothing). */
	ASSERT_EQ(0, gp_self(&w, &s));
	EXPECT_EQ(0, s.level) TH_LOG("levels are relative to the caller");
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_SLOT, .slot = s.slot };
	EXPECT_EQ(0, gp_ns_set(&w, &set));
	EXPECT_EQ(s.slot, set.slot);
	/* The export policy of its own namespace is w's and v's to choose. */
	set = (struct gpid_ns_set){ .pid = w.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	ASSERT_EQ(0, gp_ns_set(&v, &set));
	EXPECT_EQ(s.slot, set.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, s.slot, &info));
	expect_ns_info(_metadata, &info, 1, 1, w.id.ns_ino, 1, GPID_POLICY_EXPORT,
		       GPID_NS_LIVE, "w");
	/* From inside, w's namespace is level 0 (stock hides a container's ancestry). */
	ASSERT_EQ(0, gp_ns_info(&w, 0, &info));
	EXPECT_EQ(0, info.level);
	ASSERT_EQ(0, gp_ns_info(NULL, s.slot, &info));
	EXPECT_EQ(1, info.level);
	/*
	 * System-wide activity counters are the initial namespace's admin's: w reads the state
	 * lines of /proc/gpid/{signals,robust,creds,msq} but no counter (they move with the host's
	 * and siblings' signals, mutexes and sockets).
	 */
	do {
		static const char *const files[] = { "/proc/gpid/signals", "/proc/gpid/robust",
						       "/proc/gpid/creds", "/proc/gpid/msq" };
		static const char *const counters[] = { "sigqueued ", "walks ", "queries ",
							 "# removed " };
		static char buf[4096];

		for (int i = 0; i < 4; i++) {
			ASSERT_LE(0, gp_read(NULL, files[i], buf, sizeof(buf))) TH_LOG("%s", files[i]);
			EXPECT_NE(NULL, strstr(buf, counters[i])) TH_LOG("root: %s: %s", files[i], buf);
			ASSERT_LE(0, gp_read(&w, files[i], buf, sizeof(buf))) TH_LOG("%s", files[i]);
			EXPECT_EQ(NULL, strstr(buf, counters[i])) TH_LOG("w: %s: %s", files[i], buf);
		}
		ASSERT_LE(0, gp_read(&w, "/proc/gpid/signals", buf, sizeof(buf)));
		EXPECT_EQ(0, strncmp(buf, "armed ", 6)) TH_LOG("%s", buf);
	} while (0);
	set = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_POLICY, .policy = 0 };
	ASSERT_EQ(0, gp_ns_set(&w, &set));
	EXPECT_EQ(s.slot, set.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, s.slot, &info));
	EXPECT_EQ(0, info.policy);
	/* u still may not. */
	set = (struct gpid_ns_set){ .pid = w.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&u, &set));
}

/* SET_SLOT: CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN. SET_POLICY: CAP_SYS_ADMIN. */
TEST_F(gp, ns_set_capabilities)
{
	const __u64 all = ~0ULL;
	const __u64 no_admin = all & ~(1ULL << CAP_SYS_ADMIN);
	const __u64 no_cr = all & ~(1ULL << CAP_CHECKPOINT_RESTORE);
	const __u64 neither = no_admin & no_cr;
	struct gpid_agent n1, n2, n3, r1, r2, r3;
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_self s;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(0, gpid_agent_start(&n1, 1));
	ASSERT_EQ(0, gpid_agent_start(&n2, 1));
	ASSERT_EQ(0, gpid_agent_start(&n3, 1));
	ASSERT_EQ(0, gpid_agent_start(&r1, 0));
	ASSERT_EQ(0, gpid_agent_start(&r2, 0));
	ASSERT_EQ(0, gpid_agent_start(&r3, 0));
	ASSERT_EQ(0, gpid_agent_simple(&r1, GPID_AG_CAPS, (__u32)no_admin, no_admin >> 32));
	ASSERT_EQ(0, gpid_agent_simple(&r2, GPID_AG_CAPS, (__u32)no_cr, no_cr >> 32));
	ASSERT_EQ(0, gpid_agent_simple(&r3, GPID_AG_CAPS, (__u32)neither, neither >> 32));

	/* CAP_CHECKPOINT_RESTORE without CAP_SYS_ADMIN: the slot, not the policy. */
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&r1, &set));
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_SLOT | GPID_NS_SET_POLICY,
				    .slot = 60, .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&r1, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 60, &info));
	set = (struct gpid_ns_set){ .pid = n1.pid, .flags = GPID_NS_SET_SLOT, .slot = 60 };
	ASSERT_EQ(0, gp_ns_set(&r1, &set));
	EXPECT_EQ(60, set.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, 60, &info));
	EXPECT_EQ(n1.id.ns_ino, info.ino);
	EXPECT_EQ(0, info.policy);

	/* CAP_SYS_ADMIN without CAP_CHECKPOINT_RESTORE: both. */
	set = (struct gpid_ns_set){ .pid = n2.pid, .flags = GPID_NS_SET_SLOT | GPID_NS_SET_POLICY,
				    .slot = 61, .policy = GPID_POLICY_EXPORT };
	ASSERT_EQ(0, gp_ns_set(&r2, &set));
	EXPECT_EQ(61, set.slot);
	ASSERT_EQ(0, gp_ns_info(NULL, 61, &info));
	EXPECT_EQ(n2.id.ns_ino, info.ino);
	EXPECT_EQ(GPID_POLICY_EXPORT, info.policy);

	/* Neither: nothing. */
	set = (struct gpid_ns_set){ .pid = n3.pid, .flags = GPID_NS_SET_SLOT, .slot = 62 };
	EXPECT_EQ(-EPERM, gp_ns_set(&r3, &set));
	set = (struct gpid_ns_set){ .pid = n3.pid, .flags = GPID_NS_SET_POLICY,
				    .policy = GPID_POLICY_EXPORT };
	EXPECT_EQ(-EPERM, gp_ns_set(&r3, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 62, &info));
}

/* ----------------------------------------------------------------------------------------- */

/*
 * pid_bits=16: both classes 16 bits wide (narrow_bits 16), so every slot id s has the values
 * s << 16 | nr, as ABI 1's nsids did; EOVERFLOW for PIDs above 65535, and pid_max against
 * pid_bits.
 */
TEST_F_TIMEOUT(gp, pid_bits_16, 60)
{
	struct gpid_agent a, b, e;
	struct gpid_task_id big;
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_version v;
	struct gpid_levels lv;
	struct gpid_self s;
	char buf[256], want[256];
	__u32 gp, w, na, nb;
	__s32 pid;
	pid_t p;

#define G16(slot, nr) (((slot) << 16) | (nr))
	ASSERT_GT(65536, self->pid_max) TH_LOG("the guest's pid_max does not fit 16 bits");
	ASSERT_EQ(0, gpid_reload_module("pid_bits=16"));
	gpid_expect_params_layout(_metadata, 16, 16, 0);
	ASSERT_EQ(16383, gpid_max_slot()) TH_LOG("ABI 1's nsids 1..16383");
	w = gpid_layout()->wide_slots;
	ASSERT_LT(0, gpid_read_file("/proc/gpid/version", buf, sizeof(buf)));
	snprintf(want, sizeof(want), "abi %d\npid_bits 16\nnarrow_bits 16\nwide_slots %u\n"
		 "narrow_slots %u\nnarrow_start %u\n", GPID_ABI_VERSION, w, 16383 - w,
		 (w + 1) << 16);
	EXPECT_STREQ(want, buf);
	for (__u32 slot = 1; slot <= 16383; slot += 127) {
		ASSERT_EQ(G16(slot, 7), G(slot, 7)) TH_LOG("slot %u", slot);
	}
	/* The first two namespaces bound: narrow slots w + 1 and w + 2. */
	na = w + 1;
	nb = w + 2;

	ASSERT_EQ(0, gp_self(NULL, &s));
	EXPECT_EQ(1, s.slot);
	EXPECT_EQ(G16(1, gettid()), s.tid);
	ASSERT_EQ(0, gpid_agent_start(&a, 1));
	ASSERT_EQ(0, gp_self(&a, &s));
	EXPECT_EQ(na, s.slot);
	EXPECT_EQ(G16(na, 1), s.tid);
	ASSERT_EQ(0, gp_encode(NULL, a.pid, 0, &gp));
	EXPECT_EQ(G16(na, 1), gp);
	ASSERT_EQ(0, gp_decode(NULL, G16(na, 1), &pid));
	EXPECT_EQ(a.pid, pid);
	ASSERT_EQ(0, gp_decode(&a, G16(na, 1), &pid));
	EXPECT_EQ(1, pid);
	ASSERT_EQ(0, gp_decode(NULL, G16(1, getpid()), &pid));
	EXPECT_EQ(getpid(), pid);
	ASSERT_EQ(0, gp_levels(NULL, a.pid, 0, &lv));
	ASSERT_EQ(2, lv.count);
	EXPECT_EQ(G16(na, 1), lv.gpids[0]);
	EXPECT_EQ(G16(1, a.pid), lv.gpids[1]);
	/* PID part 0, free slots of either class: nothing. Above GPID_MASK: EINVAL. */
	EXPECT_EQ(-GPID_PART0_ERR, gp_decode(NULL, G16(na, 0), &pid));
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G16(16383, 1), &pid));
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G16(nb, 1), &pid));
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G16(2, 1), &pid));
	EXPECT_EQ(-EINVAL, gp_decode(NULL, 0x40000000, &pid));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 16383, &info));
	EXPECT_EQ(-EINVAL, gp_ns_info(NULL, 16384, &info));

	/* The largest slot id is 16383, as ABI 1's largest nsid was. */
	ASSERT_EQ(0, gpid_agent_start(&b, 1));
	set = (struct gpid_ns_set){ .pid = b.pid, .flags = GPID_NS_SET_SLOT, .slot = 16384 };
	EXPECT_EQ(-EINVAL, gp_ns_set(NULL, &set));
	set = (struct gpid_ns_set){ .pid = b.pid, .flags = GPID_NS_SET_SLOT, .slot = 16383 };
	ASSERT_EQ(0, gp_ns_set(NULL, &set));
	ASSERT_EQ(0, gp_self(&b, &s));
	EXPECT_EQ(16383, s.slot);
	EXPECT_EQ(0x3fff0001, s.tid);
	ASSERT_EQ(0, gp_decode(NULL, 0x3fff0001, &pid));
	EXPECT_EQ(b.pid, pid);

	/* A PID above 65535 (pid_max raised after the load) cannot be encoded, in any class. */
	ASSERT_EQ(0, gpid_write_int(PID_MAX_PATH, 100000));
	ASSERT_EQ(0, gpid_agent_start(&e, 1));
	p = gpid_agent_sleeper(&e, 70000, 0, &big);
	ASSERT_EQ(70000, p);
	ASSERT_EQ(70000, big.pid);
	EXPECT_EQ(-EOVERFLOW, gp_encode(NULL, big.nspid[0], 0, &gp));
	EXPECT_EQ(-EOVERFLOW, gp_encode(&e, 70000, 0, &gp));
	EXPECT_EQ(-EOVERFLOW, gp_levels(NULL, big.nspid[0], 0, &lv));
	EXPECT_EQ(-EOVERFLOW, gp_levels(&e, 70000, 0, &lv));
	/* ... while everything else goes on working. */
	ASSERT_EQ(0, gp_decode(NULL, big.nspid[0], &pid));
	EXPECT_EQ(big.nspid[0], pid);
	ASSERT_EQ(0, gp_decode(NULL, G16(na, 1), &pid));
	EXPECT_EQ(a.pid, pid);
	/* The failed encodings took no slot: e's namespace gets the next narrow one now. */
	ASSERT_EQ(0, gp_self(&e, &s));
	EXPECT_EQ(nb, s.slot);
	EXPECT_EQ(G16(nb, 1), s.tid);
	ASSERT_EQ(0, gp_decode(NULL, G16(nb, 1), &pid));
	EXPECT_EQ(e.pid, pid);
	ASSERT_EQ(0, gp_ns_info(NULL, nb, &info));
	expect_ns_info(_metadata, &info, 1, 1, e.id.ns_ino, 1, 0, GPID_NS_LIVE, "e");

	/* Loading checks pid_max - 1 against pid_bits. */
	gpid_reap_all();
	ASSERT_EQ(0, gpid_unload_module_wait());
	EXPECT_EQ(-EINVAL, gpid_load_module_params("pid_bits=16"));
	EXPECT_FALSE(gpid_module_loaded());
	ASSERT_EQ(0, gpid_reload_module("pid_bits=17"));
	ASSERT_EQ(0, gpid_ioctl(GPID_IOC_VERSION, &v));
	EXPECT_EQ(17, v.pid_bits);
	ASSERT_EQ(0, gpid_unload_module_wait());
	ASSERT_EQ(0, gpid_write_int(PID_MAX_PATH, 65537));
	EXPECT_EQ(-EINVAL, gpid_load_module_params("pid_bits=16"));
	EXPECT_FALSE(gpid_module_loaded());
	ASSERT_EQ(0, gpid_write_int(PID_MAX_PATH, 65536));
	ASSERT_EQ(0, gpid_reload_module("pid_bits=16"));
	EXPECT_EQ(16, gpid_current_pid_bits());
	/* The teardown restores pid_max and the default module. */
#undef G16
}

TEST_F(gp, pid_bits_invalid)
{
	static const char *const bad[] = {
		"pid_bits=15", "pid_bits=30", "pid_bits=0", "pid_bits=31", "pid_bits=255",
		"pid_bits=-1",
	};
	struct gpid_version v;

	ASSERT_EQ(0, gpid_unload_module_wait());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, gpid_load_module_params(bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_FALSE(gpid_module_loaded()) TH_LOG("%s", bad[i]);
		if (gpid_module_loaded())
			ASSERT_EQ(0, gpid_unload_module_wait());
	}
	/* The bounds themselves load. */
	ASSERT_EQ(0, gpid_reload_module("pid_bits=16"));
	ASSERT_EQ(0, gpid_ioctl(GPID_IOC_VERSION, &v));
	EXPECT_EQ(16, v.pid_bits);
	ASSERT_EQ(0, gpid_reload_module("pid_bits=29"));
	ASSERT_EQ(0, gpid_ioctl(GPID_IOC_VERSION, &v));
	EXPECT_EQ(29, v.pid_bits);
	ASSERT_EQ(0, gpid_reload_module("pid_bits=22"));
	ASSERT_EQ(0, gpid_ioctl(GPID_IOC_VERSION, &v));
	EXPECT_EQ(22, v.pid_bits);
}

/* ----------------------------------------------------------------------------------------- */

#define NTHREADS	8
#define NMANY		32

struct enc_job {
	pthread_barrier_t *barrier;
	const pid_t *pids;
	int n, rot;
	__u32 *gpids;
	int *rets;
};

static void *enc_thread(void *p)
{
	struct enc_job *j = p;

	pthread_barrier_wait(j->barrier);
	for (int i = 0; i < j->n; i++) {
		int k = (i + j->rot) % j->n;

		j->rets[k] = gp_encode(NULL, j->pids[k], 0, &j->gpids[k]);
	}
	return NULL;
}

/* NTHREADS threads encode the same pids at once, each starting at a different one. */
static int encode_concurrently(const pid_t *pids, int n, __u32 gpids[][NMANY],
			       int rets[][NMANY])
{
	pthread_barrier_t barrier;
	pthread_t th[NTHREADS];
	struct enc_job jobs[NTHREADS];

	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++) {
		jobs[t] = (struct enc_job){ &barrier, pids, n, t * n / NTHREADS, gpids[t], rets[t] };
		if (pthread_create(&th[t], NULL, enc_thread, &jobs[t]))
			_exit(3);	/* the barrier could never be passed */
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&barrier);
	return 0;
}

/* Racing first uses of one namespace give it one slot. */
TEST_F_TIMEOUT(gp, concurrent_same_namespace, 60)
{
	static __u32 gpids[NTHREADS][NMANY];
	static int rets[NTHREADS][NMANY];
	struct gpid_thread_self ts[NTHREADS];
	struct gpid_task_id id;
	struct gpid_agent a;
	const int rounds = 10;
	struct gpid_self s;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	for (int r = 0; r < rounds; r++) {
		pid_t pid = gpid_agent_sleeper(NULL, 0, 1, &id);

		ASSERT_LT(0, pid);
		encode_concurrently(&pid, 1, gpids, rets);
		for (int t = 0; t < NTHREADS; t++) {
			ASSERT_EQ(0, rets[t][0]) TH_LOG("round %d thread %d", r, t);
			EXPECT_EQ(G(NTH(r), 1), gpids[t][0]) TH_LOG("round %d thread %d", r, t);
		}
	}
	/* From inside: NTHREADS threads of the namespace's init ask SELF at once. */
	ASSERT_EQ(0, gpid_agent_start(&a, 1));
	ASSERT_EQ(0, gpid_agent_threads_self(&a, NTHREADS, ts));
	for (int t = 0; t < NTHREADS; t++) {
		ASSERT_EQ(0, ts[t].ret) TH_LOG("thread %d", t);
		EXPECT_EQ(NTH(rounds), ts[t].self.slot) TH_LOG("thread %d", t);
		EXPECT_EQ(G(NTH(rounds), ts[t].tid), ts[t].self.tid) TH_LOG("thread %d", t);
		EXPECT_EQ(G(NTH(rounds), 1), ts[t].self.tgid) TH_LOG("thread %d", t);
	}
}

/* Racing first uses of many namespaces: no duplicates; then the module unloads cleanly. */
TEST_F_TIMEOUT(gp, concurrent_many_namespaces_then_unload, 90)
{
	static __u32 gpids[NTHREADS][NMANY];
	static int rets[NTHREADS][NMANY];
	static char buf[GPID_AGENT_DATA];
	static struct gpid_ns_line l[300];
	struct gpid_task_id ids[NMANY];
	pid_t pids[NMANY];
	int seen[NMANY] = { 0 };
	struct gpid_self s;
	int n;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	for (int i = 0; i < NMANY; i++) {
		pids[i] = gpid_agent_sleeper(NULL, 0, 1, &ids[i]);
		ASSERT_LT(0, pids[i]);
	}
	encode_concurrently(pids, NMANY, gpids, rets);
	for (int i = 0; i < NMANY; i++) {
		__u32 slot, nr;

		for (int t = 0; t < NTHREADS; t++) {
			ASSERT_EQ(0, rets[t][i]) TH_LOG("thread %d namespace %d", t, i);
			EXPECT_EQ(gpids[0][i], gpids[t][i]) TH_LOG("thread %d namespace %d", t, i);
		}
		ASSERT_EQ(0, gpid_split(gpids[0][i], &slot, &nr)) TH_LOG("%#x", gpids[0][i]);
		EXPECT_EQ(1, nr);
		/* A fresh module: the NMANY namespaces take narrow slots W+1..W+NMANY, each once. */
		ASSERT_LE(NTH(0), slot);
		ASSERT_GE(NTH(NMANY - 1), slot);
		EXPECT_EQ(0, seen[slot - NTH(0)]) TH_LOG("slot %u twice", slot);
		seen[slot - NTH(0)]++;
	}

	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	n = gpid_parse_namespaces(buf, l, 300);
	ASSERT_EQ(NMANY + 1, n) TH_LOG("%s", buf);
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < i; k++) {
			EXPECT_NE(l[k].slot, l[i].slot);
			EXPECT_NE(l[k].ino, l[i].ino);
		}
	}
	for (int i = 0; i < NMANY; i++) {
		const struct gpid_ns_line *e = gpid_find_ns_line(l, n, gpid_slot_of(gpids[0][i]));

		ASSERT_NE(NULL, e);
		EXPECT_EQ(ids[i].ns_ino, e->ino) TH_LOG("namespace %d", i);
		EXPECT_EQ(1, e->level);
		EXPECT_EQ(1, e->live);
	}

	/* No reference leaks: everything goes, the module unloads and loads again. */
	gpid_reap_all();
	EXPECT_EQ(0, gpid_unload_module());
	ASSERT_TRUE(gpid_wait_path(GPID_DEVICE_PATH, 0));
	ASSERT_EQ(0, gpid_load_module());
	ASSERT_TRUE(gpid_wait_path(GPID_DEVICE_PATH, 1));
	ASSERT_EQ(0, gp_self(NULL, &s));
	EXPECT_EQ(1, s.slot);
	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	EXPECT_EQ(1, gpid_parse_namespaces(buf, l, 300)) TH_LOG("%s", buf);
}

/* Unloading drops every binding, also of live namespaces; a reload starts from scratch. */
TEST_F(gp, unload_with_live_namespaces)
{
	static char buf[4096];
	struct gpid_ns_line l[8];
	struct gpid_agent a, b;
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_self s;
	__s32 pid;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(0, gpid_agent_start(&a, 1));
	ASSERT_EQ(0, gpid_agent_spawn(&a, &b, 1));
	ASSERT_EQ(0, gp_self(&a, &s));
	ASSERT_EQ(NTH(0), s.slot);
	set = (struct gpid_ns_set){ .pid = b.pid, .flags = GPID_NS_SET_SLOT | GPID_NS_SET_POLICY,
				    .slot = 200, .policy = GPID_POLICY_EXPORT };
	ASSERT_EQ(0, gp_ns_set(&a, &set));

	ASSERT_EQ(0, gpid_unload_module());
	ASSERT_TRUE(gpid_wait_path(GPID_DEVICE_PATH, 0));
	ASSERT_EQ(0, gpid_load_module());
	ASSERT_TRUE(gpid_wait_path(GPID_DEVICE_PATH, 1));

	/* Only the initial namespace is bound: at load, always to wide slot 1. */
	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	ASSERT_EQ(1, gpid_parse_namespaces(buf, l, 8)) TH_LOG("%s", buf);
	EXPECT_EQ(1, l[0].slot);
	EXPECT_EQ(1, l[0].generation);
	EXPECT_EQ(0, l[0].level);
	EXPECT_EQ(1, l[0].live);
	EXPECT_EQ(0, l[0].policy);
	EXPECT_EQ(1, l[0].wide_class);
	EXPECT_EQ(0, l[0].wide);
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 200, &info));
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G(200, 1), &pid));
	/* First use after the reload: b before a this time. */
	ASSERT_EQ(0, gp_self(&b, &s));
	EXPECT_EQ(NTH(0), s.slot);
	ASSERT_EQ(0, gp_ns_info(&b, 0, &info));
	expect_ns_info(_metadata, &info, 0, 0, b.id.ns_ino, 1, 0, GPID_NS_LIVE, "b");
	ASSERT_EQ(0, gp_self(&a, &s));
	EXPECT_EQ(NTH(1), s.slot);
	ASSERT_EQ(0, gp_decode(&a, G(NTH(0), 1), &pid));
	EXPECT_EQ(b.pid, pid);
	ASSERT_EQ(0, gp_self(NULL, &s));
	EXPECT_EQ(1, s.slot);
}

/* ----------------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned long cmd;
} cmds[] = {
	{ "SELF", GPID_IOC_SELF },
	{ "ENCODE", GPID_IOC_ENCODE },
	{ "DECODE", GPID_IOC_DECODE },
	{ "DECODE_BATCH", GPID_IOC_DECODE_BATCH },
	{ "LEVELS", GPID_IOC_LEVELS },
	{ "NS_INFO", GPID_IOC_NS_INFO },
	{ "NS_SET", GPID_IOC_NS_SET },
};

/* Unreadable argument pointers, and for the commands that answer, unwritable ones. */
TEST_F(gp, bad_pointers)
{
	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro, *hole;

	ASSERT_NE(MAP_FAILED, p);
	ro = p;			/* page 0: read-only, holding valid arguments */
	hole = p + 2 * 4096;	/* page 2: unmapped; page 1 writable */
	ASSERT_EQ(0, munmap(hole, 4096));

	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		size_t size = _IOC_SIZE(cmds[c].cmd);
		void *bad[] = {
			NULL, (void *)1, (void *)0xffff888000000000UL, (void *)-4096L, hole,
			hole - size / 2,	/* straddles the end of the mapping */
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			errno = 0;
			EXPECT_EQ(-EFAULT, gpid_ioctl(cmds[c].cmd, bad[i]))
				TH_LOG("%s, %p", cmds[c].name, bad[i]);
		}
	}

	/* Valid arguments in a read-only page: every command that writes back must fault. */
	do {
		struct gpid_encode *e = (void *)(ro + 0);
		struct gpid_decode *d = (void *)(ro + 64);
		struct gpid_levels *lv = (void *)(ro + 128);
		struct gpid_ns_info *ni = (void *)(ro + 512);
		struct gpid_ns_set *ns = (void *)(ro + 640);
		struct gpid_decode_batch *b = (void *)(ro + 768);
		__u32 *gpids = (void *)(ro + 1024);
		__s32 *pids = (void *)(p + 4096);

		memset(ro, 0, 4096);
		*e = (struct gpid_encode){ .pid = 0 };
		*d = (struct gpid_decode){ .gpid = getpid() };
		*lv = (struct gpid_levels){ .pid = 0 };
		*ni = (struct gpid_ns_info){ .slot = 0 };
		*ns = (struct gpid_ns_set){ .pid = 0, .flags = GPID_NS_SET_POLICY, .policy = 0 };
		gpids[0] = getpid();
		gpids[1] = 1;
		*b = (struct gpid_decode_batch){ .gpids = (uintptr_t)gpids,
						 .pids = (uintptr_t)pids, .count = 2 };
		ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));

		EXPECT_EQ(-EFAULT, gpid_ioctl(GPID_IOC_SELF, ro + 2048));
		EXPECT_EQ(-EFAULT, gpid_ioctl(GPID_IOC_ENCODE, e));
		EXPECT_EQ(-EFAULT, gpid_ioctl(GPID_IOC_DECODE, d));
		EXPECT_EQ(-EFAULT, gpid_ioctl(GPID_IOC_LEVELS, lv));
		EXPECT_EQ(-EFAULT, gpid_ioctl(GPID_IOC_NS_INFO, ni));
		EXPECT_EQ(-EFAULT, gpid_ioctl(GPID_IOC_NS_SET, ns));
		/* DECODE_BATCH only reads its struct: fine in read-only memory... */
		pids[0] = pids[1] = 0;
		EXPECT_EQ(0, gpid_ioctl(GPID_IOC_DECODE_BATCH, b));
		EXPECT_EQ(getpid(), pids[0]);
		EXPECT_EQ(1, pids[1]);
		/* ... but its inner pointers must be readable (gpids) and writable (pids). */
		do {
			struct gpid_decode_batch w;
			struct { __u64 gpids, pids; __u32 count; const char *what; } inner[] = {
				{ 0, (uintptr_t)pids, 2, "gpids NULL" },
				{ (uintptr_t)gpids, 0, 2, "pids NULL" },
				{ (uintptr_t)gpids, (uintptr_t)gpids, 2, "pids read-only" },
				{ (uintptr_t)(hole - 4), (uintptr_t)pids, 2, "gpids straddle" },
				{ (uintptr_t)gpids, (uintptr_t)(hole - 4), 2, "pids straddle" },
				{ (uintptr_t)hole, (uintptr_t)pids, 1, "gpids unmapped" },
				{ (uintptr_t)gpids, (uintptr_t)hole, 1, "pids unmapped" },
				{ 0xffff888000000000ULL, (uintptr_t)pids, 1, "gpids kernel" },
				{ (uintptr_t)gpids, 0xffff888000000000ULL, 1, "pids kernel" },
			};

			for (size_t i = 0; i < sizeof(inner) / sizeof(inner[0]); i++) {
				w = (struct gpid_decode_batch){ .gpids = inner[i].gpids,
								.pids = inner[i].pids,
								.count = inner[i].count };
				EXPECT_EQ(-EFAULT, gpid_ioctl(GPID_IOC_DECODE_BATCH, &w))
					TH_LOG("%s", inner[i].what);
			}
		} while (0);
	} while (0);
	munmap(p, 2 * 4096);
}

/* Reserved fields, unknown flags and out-of-range values: EINVAL; missing things: ESRCH. */
TEST_F(gp, bad_values)
{
	struct gpid_task_id gone;
	struct gpid_ns_info ni;
	struct gpid_self s;
	pid_t dead;
	int ret;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	dead = gpid_agent_sleeper(NULL, 0, 0, &gone);
	ASSERT_LT(0, dead);
	ASSERT_EQ(0, kill(dead, SIGKILL));
	ASSERT_LE(0, gpid_reap(dead));

	/* ENCODE */
	do {
		struct {
			struct gpid_encode e;
			int err;
		} cases[] = {
			{ { .pid = 0, .flags = 2 }, EINVAL },
			{ { .pid = 0, .flags = 0x80000000 }, EINVAL },
			{ { .pid = 0, .flags = GPID_ENCODE_TGID | 4 }, EINVAL },
			{ { .pid = 0, .reserved = 1 }, EINVAL },
			{ { .pid = -1 }, EINVAL },
			{ { .pid = -getpid() }, EINVAL },
			{ { .pid = INT_MIN }, EINVAL },
			{ { .pid = dead }, ESRCH },
			{ { .pid = INT_MAX }, ESRCH },
			{ { .pid = 0, .gpid = 0xffffffff }, 0 },	/* gpid is out only */
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			ret = gpid_ioctl(GPID_IOC_ENCODE, &cases[i].e);
			EXPECT_EQ(-cases[i].err, ret) TH_LOG("ENCODE case %zu", i);
		}
		EXPECT_EQ(G(1, gettid()), cases[9].e.gpid);
	} while (0);

	/* DECODE */
	do {
		struct {
			struct gpid_decode d;
			int err;
		} cases[] = {
			{ { .gpid = getpid(), .flags = 1 }, EINVAL },
			{ { .gpid = getpid(), .flags = 0x80000000 }, EINVAL },
			{ { .gpid = getpid(), .reserved = 1 }, EINVAL },
			{ { .gpid = 0 }, GPID_PART0_ERR },		/* nr 0, unqualified */
			{ { .gpid = G(1, 0) }, GPID_PART0_ERR },	/* nr 0 */
			{ { .gpid = G(NTH(200), 0) }, GPID_PART0_ERR },	/* nr 0, unbound slot */
			{ { .gpid = 0x40000000 }, EINVAL },		/* > GPID_MASK */
			{ { .gpid = 0x40000000 | getpid() }, EINVAL },
			{ { .gpid = 0xffffffff }, EINVAL },
			{ { .gpid = 0x3fffffff }, ESRCH },		/* last slot: unbound */
			{ { .gpid = G(1, 0x3fffff) }, ESRCH },		/* no such PID */
			{ { .gpid = 0x3fffff }, ESRCH },		/* same, unqualified */
			{ { .gpid = dead }, ESRCH },
			{ { .gpid = G(1, dead) }, ESRCH },
			{ { .gpid = G(1, getpid()), .pid = -5 }, 0 },	/* pid is out only */
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			ret = gpid_ioctl(GPID_IOC_DECODE, &cases[i].d);
			EXPECT_EQ(-cases[i].err, ret) TH_LOG("DECODE case %zu (%#x)", i,
							     cases[i].d.gpid);
		}
		EXPECT_EQ(getpid(), cases[14].d.pid);
	} while (0);

	/* LEVELS */
	do {
		struct {
			struct gpid_levels l;
			int err;
		} cases[] = {
			{ { .pid = 0, .flags = 2 }, EINVAL },
			{ { .pid = 0, .flags = 0x80000000 }, EINVAL },
			{ { .pid = 0, .reserved = 1 }, EINVAL },
			{ { .pid = -1 }, EINVAL },
			{ { .pid = INT_MIN }, EINVAL },
			{ { .pid = dead }, ESRCH },
			{ { .pid = 0, .count = 77, .gpids = { 5, 6 } }, 0 },	/* out only */
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			ret = gpid_ioctl(GPID_IOC_LEVELS, &cases[i].l);
			EXPECT_EQ(-cases[i].err, ret) TH_LOG("LEVELS case %zu", i);
		}
		EXPECT_EQ(1, cases[6].l.count);
		EXPECT_EQ(G(1, gettid()), cases[6].l.gpids[0]);
	} while (0);

	/* NS_INFO */
	do {
		struct {
			struct gpid_ns_info i;
			int err;
		} cases[] = {
			{ { .slot = 0, .flags = 1 }, EINVAL },
			{ { .slot = 1, .flags = 0x80000000 }, EINVAL },
			{ { .slot = 0, .reserved = 1 }, EINVAL },
			{ { .slot = gpid_max_slot() + 1 }, EINVAL },
			{ { .slot = 0x40000000 }, EINVAL },
			{ { .slot = ~0U }, EINVAL },
			{ { .slot = gpid_max_slot() }, ENOENT },
			{ { .slot = 255 }, ENOENT },
			{ { .slot = 2 }, ENOENT },
			{ { .slot = 1, .level = 9, .parent_slot = 9, .ino = 9, .generation = 0,
			    .policy = 9, .state = 9, .wide_slot = 9, .wide_generation = 9 }, 0 },
								/* out only */
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			ret = gpid_ioctl(GPID_IOC_NS_INFO, &cases[i].i);
			EXPECT_EQ(-cases[i].err, ret) TH_LOG("NS_INFO case %zu", i);
		}
		ASSERT_EQ(0, gp_ns_info(NULL, 1, &ni));
		EXPECT_EQ(0, memcmp(&ni, &cases[9].i, sizeof(ni)));
		EXPECT_EQ(0, ni.wide_slot);
	} while (0);

	/* DECODE_BATCH: the batch itself. */
	do {
		__u32 gpids[2] = { getpid(), getpid() };
		__s32 pids[2];
		struct {
			__u32 count, flags;
		} cases[] = {
			{ 0, 0 }, { GPID_BATCH_MAX + 1, 0 }, { ~0U, 0 }, { 2, 1 }, { 2, 0x80000000 },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct gpid_decode_batch b = {
				.gpids = (uintptr_t)gpids, .pids = (uintptr_t)pids,
				.count = cases[i].count, .flags = cases[i].flags,
			};

			EXPECT_EQ(-EINVAL, gpid_ioctl(GPID_IOC_DECODE_BATCH, &b))
				TH_LOG("BATCH case %zu", i);
		}
	} while (0);
}

/* Known numbers with the wrong size or direction are unknown commands. */
TEST_F(gp, wrong_size_or_direction)
{
	char buf[512] = { 0 };
	unsigned long bad[] = {
		_IOWR(GPID_IOC_MAGIC, 0x01, struct gpid_self),
		_IOR(GPID_IOC_MAGIC, 0x02, struct gpid_encode),
		_IOWR(GPID_IOC_MAGIC, 0x02, __u32),
		_IOW(GPID_IOC_MAGIC, 0x03, struct gpid_decode),
		_IOWR(GPID_IOC_MAGIC, 0x04, struct gpid_decode_batch),
		_IOW(GPID_IOC_MAGIC, 0x04, struct gpid_decode),
		_IOWR(GPID_IOC_MAGIC, 0x05, struct gpid_encode),
		_IOR(GPID_IOC_MAGIC, 0x06, struct gpid_ns_info),
		_IOWR(GPID_IOC_MAGIC, 0x07, struct gpid_ns_info),
		_IO(GPID_IOC_MAGIC, 0x07),
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-ENOTTY, gpid_ioctl(bad[i], buf)) TH_LOG("cmd %#lx", bad[i]);
	}
}

/* DECODE_BATCH: per-value answers, from the initial namespace and from a child. */
TEST_F(gp, decode_batch)
{
	static __u32 many[GPID_BATCH_MAX + 1];
	static __s32 out[GPID_BATCH_MAX + 1];
	struct gpid_agent n;
	struct gpid_self s;
	__s32 pids[16];
	__u32 sn;

	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(1, s.slot);
	ASSERT_EQ(0, gpid_agent_start(&n, 1));
	ASSERT_EQ(0, gp_self(&n, &s));
	ASSERT_EQ(NTH(0), s.slot);
	sn = s.slot;

	do {
		const __u32 in[] = {
			getpid(), G(1, getpid()), G(sn, 1), 0, G(1, 0), 0x40000000, 0xffffffff,
			G(NTH(200), 1), G(1, 0x3fffff), 0x3fffff, G(sn, 4000), n.pid, G(2, 1),
		};
		const __s32 want[] = {
			getpid(), getpid(), n.pid, -GPID_PART0_ERR, -GPID_PART0_ERR, -EINVAL, -EINVAL,
			-ESRCH, -ESRCH, -ESRCH, -ESRCH, n.pid, -ESRCH,
		};
		const int count = sizeof(in) / sizeof(in[0]);

		for (int i = 0; i < 16; i++)
			pids[i] = 0x5a5a5a5a;
		ASSERT_EQ(0, gp_batch(NULL, in, pids, count));
		for (int i = 0; i < count; i++) {
			EXPECT_EQ(want[i], pids[i]) TH_LOG("[%d] = %#x", i, in[i]);
		}
		EXPECT_EQ(0x5a5a5a5a, pids[count]);	/* nothing written past count */
	} while (0);
	do {
		/* From the child: the parent's tasks are not there. */
		const __u32 in[] = {
			1, G(sn, 1), G(1, getpid()), G(1, n.pid), 0, G(sn, 4000), getpid(),
			0x40000000,
		};
		const __s32 want[] = { 1, 1, -ESRCH, -ESRCH, -GPID_PART0_ERR, -ESRCH, -ESRCH, -EINVAL };
		const int count = sizeof(in) / sizeof(in[0]);

		ASSERT_EQ(0, gp_batch(&n, in, pids, count));
		for (int i = 0; i < count; i++) {
			EXPECT_EQ(want[i], pids[i]) TH_LOG("child: [%d] = %#x", i, in[i]);
		}
	} while (0);
	/* GPID_BATCH_MAX values at once; count 1. */
	for (int i = 0; i < GPID_BATCH_MAX; i++)
		many[i] = i & 1 ? G(sn, 1) : G(1, getpid());
	out[GPID_BATCH_MAX] = 0x5a5a5a5a;
	ASSERT_EQ(0, gp_batch(NULL, many, out, GPID_BATCH_MAX));
	for (int i = 0; i < GPID_BATCH_MAX; i++) {
		ASSERT_EQ(i & 1 ? n.pid : getpid(), out[i]) TH_LOG("[%d]", i);
	}
	EXPECT_EQ(0x5a5a5a5a, out[GPID_BATCH_MAX]);
	/* In place: one buffer for both. */
	do {
		__u32 buf[4] = { G(sn, 1), 0xffffffff, getpid(), G(77, 1) };

		ASSERT_EQ(0, gp_batch(NULL, buf, (__s32 *)buf, 4));
		EXPECT_EQ(n.pid, (__s32)buf[0]);
		EXPECT_EQ(-EINVAL, (__s32)buf[1]);
		EXPECT_EQ(getpid(), (__s32)buf[2]);
		EXPECT_EQ(-ESRCH, (__s32)buf[3]);
	} while (0);
	out[0] = 0;
	out[1] = 0x5a5a5a5a;
	ASSERT_EQ(0, gp_batch(NULL, &many[1], out, 1));
	EXPECT_EQ(n.pid, out[0]);
	EXPECT_EQ(0x5a5a5a5a, out[1]);
}

TEST_HARNESS_MAIN
