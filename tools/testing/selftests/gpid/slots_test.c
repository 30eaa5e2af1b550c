// SPDX-License-Identifier: GPL-2.0
/*
 * Slot classes (ABI 2, issue #13) against the real module: the layout parameters; each class
 * exhausted on its own (ENOSPC), a small-PID namespace falling back to a wide slot when the
 * narrow ones are all taken, ENOSPC once both are full; promotion of a narrow namespace whose
 * PIDs pass 65535 (small PIDs keep their gpids, also those written as robust mutex owners);
 * PIDs wrapping around past 65535; reclaim and reuse per class; requested slots
 * (GPID_NS_SET_SLOT); decoding of every class from every viewpoint; bad values at every class
 * boundary.
 *
 * A PID above 65535 is made inside a child PID namespace by writing its ns_last_pid there (the
 * namespace's root may: CAP_CHECKPOINT_RESTORE over it), whose pid_max is PID_MAX_LIMIT on 7.x
 * whatever the guest's own pid_max; its PIDs in the namespaces above stay small.
 *
 * Every test starts from a freshly loaded module (the default layout unless it loads another),
 * values are made and taken apart by the layout the module reports (gpid_make(), gpid_split()),
 * and slot ids are read from the module (SELF, NS_INFO) wherever the test does not choose them.
 * Processes in other namespaces are agents (gpid_test.h): every assertion is made here.
 */
#include <stdatomic.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "gpid_test.h"
#include "gpid_mutex.h"

#define G(slot, nr)	gpid_make((slot), (nr))
#define BIG		70000		/* above 65535: no narrow slot of the default holds it */
#define NS_LAST_PID	"/proc/sys/kernel/ns_last_pid"

GPID_FRESH_MODULE_FIXTURE(sl);

/* NS_INFO of slot s, asked by the test process; the test fails when there is none. */
static struct gpid_ns_info info_of(struct __test_metadata *_metadata, __u32 s)
{
	struct gpid_ns_info info;

	ASSERT_EQ(0, gp_ns_info(NULL, s, &info)) TH_LOG("NS_INFO(%u)", s);
	return info;
}

/* The line of slot s in /proc/gpid/namespaces as the test process reads it. */
static struct gpid_ns_line ns_line(struct __test_metadata *_metadata, __u32 s)
{
	static char buf[GPID_AGENT_DATA];
	static struct gpid_ns_line l[64];
	const struct gpid_ns_line *e;
	int n;

	ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
	n = gpid_parse_namespaces(buf, l, 64);
	ASSERT_LE(0, n) TH_LOG("malformed:\n%s", buf);
	e = gpid_find_ns_line(l, n, s);
	ASSERT_NE(NULL, e) TH_LOG("no line for slot %u:\n%s", s, buf);
	return *e;
}

/* A sleeper with PID nr in ag's namespace (ns_last_pid there): its PID in the test's view. */
static pid_t sleeper_at(struct __test_metadata *_metadata, struct gpid_agent *ag, int nr,
			struct gpid_task_id *id)
{
	pid_t pid = gpid_agent_sleeper(ag, nr, 0, id);

	ASSERT_EQ(nr, pid) TH_LOG("no PID %d in the agent's namespace", nr);
	ASSERT_EQ(nr, id->pid);
	return id->nspid[0];
}

/* Starts agent ag as PID 1 of a new namespace below parent (NULL: the test's). */
static void ns_agent(struct __test_metadata *_metadata, struct gpid_agent *parent,
		     struct gpid_agent *ag)
{
	ASSERT_EQ(0, parent ? gpid_agent_spawn(parent, ag, 1) : gpid_agent_start(ag, 1));
	ASSERT_EQ(1, ag->id.pid);
}

/* Every answer of a failed DECODE of v by ag, to compare two failures byte for byte. */
static struct gpid_decode failed_decode(struct __test_metadata *_metadata,
					struct gpid_agent *ag, __u32 v, int err)
{
	struct gpid_decode d = { .gpid = v, .pid = 0x5a5a5a5a };

	EXPECT_EQ(-err, gp_ioctl(ag, GPID_IOC_DECODE, &d, sizeof(d))) TH_LOG("DECODE(%#x)", v);
	d.gpid = 0;
	return d;
}

/* ----------------------------------------------------------------------------------------- */

/*
 * The layout parameters: what each combination gives, or EINVAL at load. W is wide_slots, or
 * with 0 (the default) the default layout's W capped to the room above the plain range; N is
 * every narrow slot that fits above the W wide ones, (2^30 - ((W + 1) << pid_bits)) >>
 * narrow_bits, so the narrow slots end at 2^30; but at most 65536 (their tables are
 * preallocated), and a capped layout leaves a tail of values that are no gpid (EINVAL).
 */
TEST_F_TIMEOUT(sl, layout_parameters, 60)
{
	static const struct {
		const char *params;
		__u32 pid_bits, narrow_bits, wide_slots;
	} good[] = {
		{ "", 22, 16, 0 },
		{ "pid_bits=22 narrow_bits=16 wide_slots=0", 22, 16, 0 },
		{ "narrow_bits=22", 22, 22, 0 },
		{ "narrow_bits=21", 22, 21, 0 },
		{ "wide_slots=1", 22, 16, 1 },
		{ "wide_slots=2", 22, 16, 2 },
		{ "wide_slots=255", 22, 16, 255 },		/* N = 0 */
		{ "narrow_bits=8 wide_slots=255", 22, 8, 255 },
		{ "narrow_bits=8", 22, 8, 0 },			/* N capped to 65536 */
		{ "narrow_bits=14", 22, 14, 0 },		/* N = 48640, all that fit */
		{ "narrow_bits=21 wide_slots=254", 22, 21, 254 },	/* N = 2 */
		{ "narrow_bits=19 wide_slots=252", 22, 19, 252 },	/* N = 24 */
		{ "pid_bits=16", 16, 16, 0 },
		{ "pid_bits=16 narrow_bits=12 wide_slots=16383", 16, 12, 16383 },
		{ "pid_bits=24", 24, 16, 0 },			/* W = 63, all that fit */
		{ "pid_bits=24 wide_slots=60", 24, 16, 60 },
		{ "pid_bits=28", 28, 16, 0 },			/* W = 3 */
		{ "pid_bits=28 narrow_bits=27 wide_slots=2", 28, 27, 2 },
		{ "pid_bits=29", 29, 16, 0 },			/* W = 1 */
		{ "pid_bits=29 narrow_bits=29", 29, 29, 0 },
	};
	static const char *const bad[] = {
		"narrow_bits=7", "narrow_bits=0", "narrow_bits=23", "narrow_bits=-1",
		"pid_bits=16 narrow_bits=17", "pid_bits=28 narrow_bits=29",
		"wide_slots=256", "wide_slots=-1", "pid_bits=24 wide_slots=64",
		"pid_bits=28 wide_slots=4", "pid_bits=29 wide_slots=2",
	};
	char buf[256], want[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct gpid_layout *l;

		ASSERT_EQ(0, gpid_reload_module(good[i].params)) TH_LOG("'%s'", good[i].params);
		gpid_expect_params_layout(_metadata, good[i].pid_bits, good[i].narrow_bits,
					  good[i].wide_slots);
		l = gpid_layout();
		if (l->narrow_slots < GPID_MAX_NARROW_SLOTS) {
			EXPECT_EQ(GPID_MASK + 1, l->narrow_end) TH_LOG("'%s'", good[i].params);
		} else {
			__s32 pid;

			/* The tail past the capped narrow slots: no gpid, at either end. */
			EXPECT_GT(GPID_MASK + 1, l->narrow_end) TH_LOG("'%s'", good[i].params);
			EXPECT_EQ(-EINVAL, gp_decode(NULL, l->narrow_end + 1, &pid));
			EXPECT_EQ(-EINVAL, gp_decode(NULL, GPID_MASK, &pid));
			EXPECT_EQ(-ESRCH, gp_decode(NULL, l->narrow_end - 1, &pid));
		}
		ASSERT_LT(0, gpid_read_file("/proc/gpid/version", buf, sizeof(buf)));
		snprintf(want, sizeof(want), "abi %d\npid_bits %u\nnarrow_bits %u\nwide_slots %u\n"
			 "narrow_slots %u\nnarrow_start %u\n", GPID_ABI_VERSION, l->pid_bits,
			 l->narrow_bits, l->wide_slots, l->narrow_slots, l->narrow_start);
		EXPECT_STREQ(want, buf) TH_LOG("'%s'", good[i].params);
	}
	ASSERT_EQ(0, gpid_unload_module_wait());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, gpid_load_module_params(bad[i])) TH_LOG("'%s'", bad[i]);
		EXPECT_FALSE(gpid_module_loaded()) TH_LOG("'%s'", bad[i]);
		if (gpid_module_loaded())
			ASSERT_EQ(0, gpid_unload_module_wait());
	}
}

/* ----------------------------------------------------------------------------------------- */

/*
 * pid_bits=28 narrow_bits=27 wide_slots=2: wide slots 1 (the initial namespace's) and 2,
 * narrow slots 3 and 4. Small-PID namespaces take the narrow ones first, then the free wide
 * one (bound wide for good: no wide_slot beside it), then ENOSPC by every path. A dead
 * namespace keeps its slot until a class is full; then it is reclaimed and the slot reused
 * with a new generation, in each class.
 */
TEST_F_TIMEOUT(sl, narrow_class_full_falls_back_to_wide, 60)
{
	struct gpid_agent a, b, c, d, e, f;
	struct gpid_ns_info info;
	struct gpid_ns_line line;
	struct gpid_levels lv;
	struct gpid_self s;
	__u32 gp, gen_c;
	__s32 pid;

	ASSERT_EQ(0, gpid_reload_module("pid_bits=28 narrow_bits=27 wide_slots=2"));
	gpid_expect_params_layout(_metadata, 28, 27, 2);
	ASSERT_EQ(4, gpid_max_slot());
	ASSERT_EQ(0x30000001, G(3, 1));
	ASSERT_EQ(0x38000001, G(4, 1));
	ASSERT_EQ(0x20000001, G(2, 1));

	ns_agent(_metadata, NULL, &a);
	ns_agent(_metadata, NULL, &b);
	ns_agent(_metadata, NULL, &c);
	ns_agent(_metadata, NULL, &d);
	ASSERT_EQ(0, gp_self(&a, &s));
	EXPECT_EQ(3, s.slot);
	EXPECT_EQ(G(3, 1), s.tid);
	ASSERT_EQ(0, gp_encode(NULL, b.pid, 0, &gp));
	EXPECT_EQ(G(4, 1), gp);

	/* The narrow class is full of live namespaces: c gets the free wide slot. */
	ASSERT_EQ(0, gp_self(&c, &s));
	EXPECT_EQ(2, s.slot);
	EXPECT_EQ(G(2, 1), s.tid);
	info = info_of(_metadata, 2);
	gpid_expect_ns_info(_metadata, &info, 1, 1, c.id.ns_ino, 1, 0, GPID_NS_LIVE, 0, "c");
	EXPECT_EQ(2, info.slot);
	line = ns_line(_metadata, 2);
	EXPECT_EQ(1, line.wide_class);
	EXPECT_EQ(0, line.wide);
	EXPECT_EQ(0, ns_line(_metadata, 3).wide_class);
	ASSERT_EQ(0, gp_decode(NULL, G(2, 1), &pid));
	EXPECT_EQ(c.pid, pid);

	/* Both classes full: ENOSPC, whatever asks. */
	EXPECT_EQ(-ENOSPC, gp_self(&d, &s));
	EXPECT_EQ(-ENOSPC, gp_encode(NULL, d.pid, 0, &gp));
	EXPECT_EQ(-ENOSPC, gp_encode(&d, 0, 0, &gp));
	EXPECT_EQ(-ENOSPC, gp_levels(NULL, d.pid, 0, &lv));
	EXPECT_EQ(-ENOSPC, gp_ns_info(&d, 0, &info));
	ASSERT_EQ(0, gp_decode(&d, 1, &pid));	/* plain values need no slot */
	EXPECT_EQ(1, pid);

	/* A dead narrow namespace keeps its slot until one is needed, then d reuses it. */
	ASSERT_EQ(0, gpid_agent_stop(NULL, &a));
	info = info_of(_metadata, 3);
	gpid_expect_ns_info(_metadata, &info, 1, 1, a.id.ns_ino, 1, 0, 0, 0, "dead a");
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G(3, 1), &pid));
	ASSERT_EQ(0, gp_self(&d, &s));
	EXPECT_EQ(3, s.slot);
	info = info_of(_metadata, 3);
	gpid_expect_ns_info(_metadata, &info, 1, 1, d.id.ns_ino, 0, 0, GPID_NS_LIVE, 0, "d");
	EXPECT_NE(1, info.generation);
	ASSERT_EQ(0, gp_decode(NULL, G(3, 1), &pid));
	EXPECT_EQ(d.pid, pid);

	/*
	 * A dead wide namespace: e finds the narrow class full of live ones, reclaims c, and
	 * falls back to the wide slot c had, with a new generation.
	 */
	gen_c = info_of(_metadata, 2).generation;
	ASSERT_EQ(0, gpid_agent_stop(NULL, &c));
	ns_agent(_metadata, NULL, &e);
	ns_agent(_metadata, NULL, &f);
	ASSERT_EQ(0, gp_self(&e, &s));
	EXPECT_EQ(2, s.slot);
	info = info_of(_metadata, 2);
	gpid_expect_ns_info(_metadata, &info, 1, 1, e.id.ns_ino, 0, 0, GPID_NS_LIVE, 0, "e");
	EXPECT_NE(gen_c, info.generation);
	ASSERT_EQ(0, gp_decode(NULL, G(2, 1), &pid));
	EXPECT_EQ(e.pid, pid);
	EXPECT_EQ(-ENOSPC, gp_self(&f, &s));
	EXPECT_EQ(-EINVAL, gp_ns_info(NULL, 5, &info));
}

/*
 * wide_slots=2: one wide slot free beside the initial namespace's. A namespace whose first PID
 * needs a wide slot is bound wide (and its small PIDs use that slot too); once the wide class
 * is full, a large PID gets ENOSPC whether its namespace is unbound or narrow (no promotion),
 * while small PIDs get narrow slots. When the wide namespace dies, the promotion reclaims it
 * and reuses its slot with a new generation.
 */
TEST_F_TIMEOUT(sl, wide_class_full, 60)
{
	struct gpid_agent a, b, c;
	struct gpid_task_id abig, bbig;
	struct gpid_ns_info info;
	struct gpid_self s;
	pid_t pa, pb;
	__u32 gp, gen_a;
	__s32 pid;

	ASSERT_EQ(0, gpid_reload_module("wide_slots=2"));
	gpid_expect_params_layout(_metadata, 22, 16, 2);

	/* a's namespace is first used for PID BIG: a wide slot, its owner slot. */
	ns_agent(_metadata, NULL, &a);
	pa = sleeper_at(_metadata, &a, BIG, &abig);
	ASSERT_EQ(0, gp_encode(NULL, pa, 0, &gp));
	EXPECT_EQ(G(2, BIG), gp);
	ASSERT_EQ(0, gp_self(&a, &s));
	EXPECT_EQ(2, s.slot);
	EXPECT_EQ(G(2, 1), s.tid) TH_LOG("a wide namespace's small PIDs are in its wide slot");
	info = info_of(_metadata, 2);
	gpid_expect_ns_info(_metadata, &info, 1, 1, a.id.ns_ino, 1, 0, GPID_NS_LIVE, 0, "a");
	gen_a = info.generation;
	EXPECT_EQ(1, ns_line(_metadata, 2).wide_class);

	/* The wide class is full: b's PID BIG has no gpid, bound or not; its small PIDs do. */
	ns_agent(_metadata, NULL, &b);
	pb = sleeper_at(_metadata, &b, BIG, &bbig);
	EXPECT_EQ(-ENOSPC, gp_encode(NULL, pb, 0, &gp));
	EXPECT_EQ(-ENOSPC, gp_encode(&b, BIG, 0, &gp));
	ASSERT_EQ(0, gp_self(&b, &s));
	EXPECT_EQ(gpid_first_narrow(), s.slot);
	EXPECT_EQ(G(gpid_first_narrow(), 1), s.tid);
	EXPECT_EQ(-ENOSPC, gp_encode(NULL, pb, 0, &gp));
	info = info_of(_metadata, s.slot);
	gpid_expect_ns_info(_metadata, &info, 1, 1, b.id.ns_ino, 1, 0, GPID_NS_LIVE, 0, "b");
	ns_agent(_metadata, NULL, &c);
	ASSERT_EQ(0, gp_self(&c, &s));
	EXPECT_EQ(gpid_first_narrow() + 1, s.slot);

	/* a dies: b's promotion reclaims it and takes wide slot 2, with a new generation. */
	ASSERT_EQ(0, gpid_agent_stop(NULL, &a));
	ASSERT_EQ(0, gp_encode(NULL, pb, 0, &gp));
	EXPECT_EQ(G(2, BIG), gp);
	info = info_of(_metadata, gpid_first_narrow());
	gpid_expect_ns_info(_metadata, &info, 1, 1, b.id.ns_ino, 1, 0, GPID_NS_LIVE, 2, "b");
	EXPECT_NE(gen_a, info.wide_generation);
	ASSERT_EQ(0, gp_decode(NULL, G(2, BIG), &pid));
	EXPECT_EQ(pb, pid);
	/* a's stale gpids: PID 1 of b is narrow, so the wide slot's PID 1 names nothing. */
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G(2, 1), &pid));
	ASSERT_EQ(0, gp_decode(&b, G(2, BIG), &pid));
	EXPECT_EQ(BIG, pid);
}

/* ----------------------------------------------------------------------------------------- */

/*
 * Promotion: a narrow namespace whose PIDs pass 65535 gets a wide slot beside its narrow one
 * at the first such PID's gpid (here: SELF of a task with PID 65536). Its small PIDs keep
 * their narrow gpids; the large ones are in the wide slot; the wide slot's values of small
 * PIDs name nothing. NS_INFO by either slot describes the one namespace, known by its narrow
 * owner slot; /proc/gpid/namespaces has one line for it.
 */
TEST_F_TIMEOUT(sl, promotion, 60)
{
	struct gpid_agent a, big;
	struct gpid_task_id s100, s65535, s70000;
	struct gpid_ns_info info, by_wide;
	struct gpid_ns_line line;
	struct gpid_levels lv;
	struct gpid_self s, a_before;
	__u32 gp, narrow, w;
	pid_t p100, p65535, p70000;
	__s32 pid;

	ns_agent(_metadata, NULL, &a);
	ASSERT_EQ(0, gp_self(&a, &a_before));
	narrow = a_before.slot;
	ASSERT_EQ(gpid_first_narrow(), narrow);
	p100 = sleeper_at(_metadata, &a, 100, &s100);
	ASSERT_EQ(0, gp_encode(NULL, p100, 0, &gp));
	EXPECT_EQ(G(narrow, 100), gp);
	/* The largest PID a narrow slot holds: no promotion yet. */
	p65535 = sleeper_at(_metadata, &a, 65535, &s65535);
	ASSERT_EQ(0, gp_encode(NULL, p65535, 0, &gp));
	EXPECT_EQ(G(narrow, 65535), gp);
	info = info_of(_metadata, narrow);
	gpid_expect_ns_info(_metadata, &info, 1, 1, a.id.ns_ino, 1, 0, GPID_NS_LIVE, 0, "a");

	/* The next PID is 65536: its SELF promotes the namespace. */
	ASSERT_EQ(0, gpid_agent_spawn(&a, &big, 0));
	ASSERT_EQ(65536, big.id.pid);
	ASSERT_EQ(0, gp_self(&big, &s));
	EXPECT_EQ(narrow, s.slot) TH_LOG("the owner slot stays the narrow one");
	EXPECT_EQ(0, s.level);
	w = gpid_slot_of(s.tid);
	EXPECT_TRUE(gpid_slot_is_wide(w)) TH_LOG("tid %#x", s.tid);
	EXPECT_NE(1, w);
	EXPECT_EQ(G(w, 65536), s.tid);
	EXPECT_EQ(G(w, 65536), s.tgid);
	info = info_of(_metadata, narrow);
	gpid_expect_ns_info(_metadata, &info, 1, 1, a.id.ns_ino, 1, 0, GPID_NS_LIVE, w, "a");
	EXPECT_EQ(narrow, info.slot);
	by_wide = info_of(_metadata, w);
	EXPECT_EQ(0, memcmp(&info, &by_wide, sizeof(info))) TH_LOG("NS_INFO by the wide slot");
	line = ns_line(_metadata, narrow);
	EXPECT_EQ(0, line.wide_class);
	EXPECT_EQ(w, line.wide);
	EXPECT_EQ(info.wide_generation, line.wide_generation);
	EXPECT_EQ(info.generation, line.generation);
	do {
		static char buf[4096];
		struct gpid_ns_line l[8];

		ASSERT_LT(0, gp_read(NULL, "/proc/gpid/namespaces", buf, sizeof(buf)));
		EXPECT_EQ(2, gpid_parse_namespaces(buf, l, 8)) TH_LOG("one line a namespace:\n%s",
								      buf);
	} while (0);

	/* Small PIDs: the same gpids as before the promotion. */
	ASSERT_EQ(0, gp_self(&a, &s));
	EXPECT_EQ(0, memcmp(&a_before, &s, sizeof(s)));
	ASSERT_EQ(0, gp_encode(NULL, p100, 0, &gp));
	EXPECT_EQ(G(narrow, 100), gp);
	ASSERT_EQ(0, gp_encode(&a, 65535, 0, &gp));
	EXPECT_EQ(G(narrow, 65535), gp);
	ASSERT_EQ(0, gp_decode(NULL, G(narrow, 100), &pid));
	EXPECT_EQ(p100, pid);
	/* ... and their values in the wide slot name nothing, from anywhere. */
	for (int who = 0; who < 2; who++) {
		struct gpid_agent *o = who ? &a : NULL;
		const __u32 none[] = { G(w, 1), G(w, 100), G(w, 65535), G(w, 65537) };

		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
			EXPECT_EQ(-ESRCH, gp_decode(o, none[i], &pid))
				TH_LOG("%s decodes %#x", who ? "a" : "test", none[i]);
		}
		EXPECT_EQ(-GPID_PART0_ERR, gp_decode(o, G(w, 0), &pid));
	}

	/* Large PIDs: in the wide slot, from every viewer; no second promotion. */
	ASSERT_EQ(0, gp_encode(NULL, big.id.nspid[0], 0, &gp));
	EXPECT_EQ(G(w, 65536), gp);
	ASSERT_EQ(0, gp_encode(&a, 65536, 0, &gp));
	EXPECT_EQ(G(w, 65536), gp);
	ASSERT_EQ(0, gp_decode(NULL, G(w, 65536), &pid));
	EXPECT_EQ(big.id.nspid[0], pid);
	ASSERT_EQ(0, gp_decode(&a, G(w, 65536), &pid));
	EXPECT_EQ(65536, pid);
	ASSERT_EQ(0, gp_decode(&big, G(w, 65536), &pid));
	EXPECT_EQ(65536, pid);
	ASSERT_EQ(0, gp_levels(NULL, big.id.nspid[0], 0, &lv));
	ASSERT_EQ(2, lv.count);
	EXPECT_EQ(G(w, 65536), lv.gpids[0]);
	EXPECT_EQ(G(1, big.id.nspid[0]), lv.gpids[1]);
	p70000 = sleeper_at(_metadata, &a, BIG, &s70000);
	ASSERT_EQ(0, gp_encode(NULL, p70000, 0, &gp));
	EXPECT_EQ(G(w, BIG), gp);
	by_wide = info_of(_metadata, narrow);
	EXPECT_EQ(0, memcmp(&info, &by_wide, sizeof(info))) TH_LOG("promoted twice?");
}

/* ----------------------------------------------------------------------------------------- */

/*
 * Promotion while threads hold gpid robust mutexes: NTHR threads of a narrow namespace's init
 * lock one mutex each (their owner words are their narrow gpids); then a task with PID BIG
 * locks one too, which promotes the namespace. The threads' gpids, hence the owner words, do
 * not change; when the namespace dies, every word gets FUTEX_OWNER_DIED, a waiter asleep in
 * the parent namespace is woken with EOWNERDEAD, and every mutex recovers.
 */
#define NTHR	4

struct rshm {
	gpid_mutex_t m[NTHR + 1];	/* m[NTHR]: the big task's */
	atomic_int ready, promoted, rechecked, failed;
	struct {
		uint32_t owner;		/* gpid_mutex_owner_value() */
		struct gpid_self before, after;	/* SELF before and after the promotion */
	} th[NTHR + 1];
	/* the waiter's results */
	atomic_int waiting, marked;
	int lock0, others[NTHR + 1], relock;
};

static struct rshm *rs;

static void *robust_thread(void *p)
{
	int i = (int)(intptr_t)p;

	if (gpid_mutex_lock(&rs->m[i]) || gpid_mutex_owner_value(&rs->th[i].owner) ||
	    gpid_ioctl(GPID_IOC_SELF, &rs->th[i].before))
		atomic_fetch_add(&rs->failed, 1);
	atomic_fetch_add(&rs->ready, 1);
	while (!atomic_load(&rs->promoted))
		usleep(1000);
	if (gpid_ioctl(GPID_IOC_SELF, &rs->th[i].after))
		atomic_fetch_add(&rs->failed, 1);
	atomic_fetch_add(&rs->rechecked, 1);
	for (;;)
		pause();
	return NULL;
}

/* The namespace's init: the threads, then the big task; never returns. */
static void robust_init(void)
{
	pthread_t t;
	pid_t big;

	for (int i = 0; i < NTHR; i++)
		if (pthread_create(&t, NULL, robust_thread, (void *)(intptr_t)i))
			_exit(10);
	while (atomic_load(&rs->ready) < NTHR)
		usleep(1000);
	if (gpid_write_int(NS_LAST_PID, BIG - 1))
		_exit(11);
	big = fork();
	if (big == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getpid() != BIG || gpid_mutex_lock(&rs->m[NTHR]) ||
		    gpid_mutex_owner_value(&rs->th[NTHR].owner) ||
		    gpid_ioctl(GPID_IOC_SELF, &rs->th[NTHR].before))
			atomic_fetch_add(&rs->failed, 1);
		atomic_store(&rs->promoted, 1);
		for (;;)
			pause();
	}
	for (;;)
		pause();
}

static uint32_t word_of(gpid_mutex_t *m)
{
	return __atomic_load_n((uint32_t *)m, __ATOMIC_SEQ_CST);
}

/*
 * The waiter, in the test's namespace: asleep in m[0] until its owner's death; then, once every
 * other word is marked, the other mutexes.
 */
static int robust_waiter(void)
{
	struct timespec abs;

	atomic_store(&rs->waiting, 1);
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_sec += 10;
	rs->lock0 = gpid_mutex_timedlock(&rs->m[0], &abs);
	if (rs->lock0 == EOWNERDEAD && gpid_mutex_consistent(&rs->m[0]) == 0)
		gpid_mutex_unlock(&rs->m[0]);
	for (int i = 0; i < 10000 && !atomic_load(&rs->marked); i++)
		usleep(1000);
	for (int i = 1; i <= NTHR; i++) {
		rs->others[i] = gpid_mutex_trylock(&rs->m[i]);
		if (rs->others[i] == EOWNERDEAD && gpid_mutex_consistent(&rs->m[i]) == 0)
			gpid_mutex_unlock(&rs->m[i]);
	}
	rs->relock = gpid_mutex_lock(&rs->m[0]);
	gpid_mutex_unlock(&rs->m[0]);
	return 0;
}

static int wait_until(atomic_int *v, int n, int ms)
{
	for (int i = 0; i < ms && atomic_load(v) < n; i++)
		usleep(1000);
	return atomic_load(v) >= n;
}

TEST_F_TIMEOUT(sl, promotion_keeps_robust_owners, 60)
{
	struct gpid_ns_info info;
	__u32 narrow, slot, nr;
	pid_t outer, waiter;
	int st;

	rs = mmap(NULL, sizeof(*rs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rs);
	memset(rs, 0, sizeof(*rs));
	for (int i = 0; i <= NTHR; i++)
		ASSERT_EQ(0, gpid_mutex_init(&rs->m[i], GPID_MUTEX_ERRORCHECK));
	/* outer unshares a PID namespace; its child is the namespace's init. */
	outer = fork();
	ASSERT_LE(0, outer);
	if (outer == 0) {
		pid_t init;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWPID))
			_exit(20);
		init = fork();
		if (init == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			robust_init();
		}
		_exit(init > 0 && waitpid(init, &st, 0) == init ? 0 : 21);
	}
	gpid_track(outer);
	ASSERT_TRUE(wait_until(&rs->rechecked, NTHR, 20000)) TH_LOG("%d threads rechecked, %d failed",
								       atomic_load(&rs->rechecked),
								       atomic_load(&rs->failed));
	ASSERT_EQ(0, atomic_load(&rs->failed));

	/* The namespace is promoted: narrow owner, a wide slot beside it. */
	narrow = rs->th[0].before.slot;
	info = info_of(_metadata, narrow);
	ASSERT_FALSE(gpid_slot_is_wide(narrow));
	ASSERT_TRUE(gpid_slot_is_wide(info.wide_slot)) TH_LOG("not promoted");
	ASSERT_EQ(0, gpid_split(rs->th[NTHR].owner, &slot, &nr));
	EXPECT_EQ(info.wide_slot, slot);
	EXPECT_EQ(BIG, nr);
	EXPECT_EQ(rs->th[NTHR].before.tid, rs->th[NTHR].owner);
	EXPECT_EQ(rs->th[NTHR].owner, word_of(&rs->m[NTHR]));
	for (int i = 0; i < NTHR; i++) {
		EXPECT_EQ(narrow, gpid_slot_of(rs->th[i].owner)) TH_LOG("thread %d", i);
		EXPECT_EQ(rs->th[i].before.tid, rs->th[i].owner) TH_LOG("thread %d", i);
		EXPECT_EQ(0, memcmp(&rs->th[i].before, &rs->th[i].after, sizeof(rs->th[i].after)))
			TH_LOG("thread %d: SELF changed with the promotion", i);
		EXPECT_EQ(rs->th[i].owner, word_of(&rs->m[i])) TH_LOG("thread %d", i);
	}

	/* A waiter in the parent namespace sleeps in m[0]; the whole namespace dies. */
	waiter = fork();
	ASSERT_LE(0, waiter);
	if (waiter == 0)
		_exit(robust_waiter());
	gpid_track(waiter);
	ASSERT_TRUE(wait_until(&rs->waiting, 1, 5000));
	for (int i = 0; i < 3000 && !(word_of(&rs->m[0]) & FUTEX_WAITERS); i++)
		usleep(1000);
	ASSERT_TRUE(word_of(&rs->m[0]) & FUTEX_WAITERS) TH_LOG("the waiter never slept");
	ASSERT_EQ(0, kill(outer, SIGKILL));	/* PDEATHSIG: the init, then every task of it */
	/* Every other word ends FUTEX_OWNER_DIED, as the threads die (exit hooks). */
	for (int i = 1; i <= NTHR; i++) {
		for (int k = 0; k < 5000 && !(word_of(&rs->m[i]) & FUTEX_OWNER_DIED); k++)
			usleep(1000);
		EXPECT_EQ(FUTEX_OWNER_DIED, word_of(&rs->m[i]) & ~FUTEX_WAITERS)
			TH_LOG("mutex %d: word %#x", i, word_of(&rs->m[i]));
	}
	atomic_store(&rs->marked, 1);
	EXPECT_EQ(0, gpid_reap_timeout(waiter, 15000));
	EXPECT_EQ(EOWNERDEAD, rs->lock0);
	for (int i = 1; i <= NTHR; i++) {
		EXPECT_EQ(EOWNERDEAD, rs->others[i]) TH_LOG("mutex %d", i);
	}
	EXPECT_EQ(0, rs->relock);
	munmap(rs, sizeof(*rs));
}

/* ----------------------------------------------------------------------------------------- */

/*
 * PIDs wrapping around past 65535: a namespace with pid_max 65540 hands out 65533..65539 and
 * then starts again from the bottom (300): every PID encodes, and decodes back, from the
 * namespace and from the initial one, in its narrow slot or its wide one by its size.
 */
#define WRAP_MAX	65540
#define WRAP_N		12

TEST_F_TIMEOUT(sl, pid_wrap_around, 60)
{
	struct gpid_task_id id[WRAP_N];
	struct gpid_agent a;
	struct gpid_ns_info info;
	struct gpid_levels lv;
	char buf[64];
	__u32 gp, narrow;
	__s32 pid;
	int wrapped = 0, wide = 0;

	ns_agent(_metadata, NULL, &a);
	ASSERT_EQ(0, gp_write_int(&a, GPID_PID_MAX_PATH, WRAP_MAX));
	ASSERT_LT(0, gp_read(&a, GPID_PID_MAX_PATH, buf, sizeof(buf)));
	ASSERT_EQ(WRAP_MAX, atoi(buf));
	ASSERT_EQ(0, gp_write_int(&a, NS_LAST_PID, 65532));
	for (int i = 0; i < WRAP_N; i++) {
		__s32 p = gpid_agent_sleeper(&a, 0, 0, &id[i]);
		__u32 want;

		ASSERT_LT(0, p) TH_LOG("sleeper %d", i);
		ASSERT_EQ(p, id[i].pid);
		if (i < 7) {
			ASSERT_EQ(65533 + i, p);
		} else {
			ASSERT_GT(65533, p) TH_LOG("no wrap-around at pid_max %d", WRAP_MAX);
			wrapped++;
		}
		ASSERT_EQ(0, gp_encode(NULL, id[i].nspid[0], 0, &gp)) TH_LOG("PID %d", p);
		info = info_of(_metadata, gpid_slot_of(gp));
		want = gpid_canonical(info.slot, info.wide_slot, p);
		EXPECT_EQ(want, gp) TH_LOG("PID %d", p);
		EXPECT_TRUE(gpid_is_canonical(gp, info.slot, p)) TH_LOG("PID %d: %#x", p, gp);
		wide += gpid_slot_is_wide(gpid_slot_of(gp));
		ASSERT_EQ(0, gp_encode(&a, p, 0, &want));
		EXPECT_EQ(gp, want) TH_LOG("PID %d from inside", p);
		ASSERT_EQ(0, gp_decode(NULL, gp, &pid)) TH_LOG("PID %d: %#x", p, gp);
		EXPECT_EQ(id[i].nspid[0], pid);
		ASSERT_EQ(0, gp_decode(&a, gp, &pid)) TH_LOG("PID %d: %#x", p, gp);
		EXPECT_EQ(p, pid);
		ASSERT_EQ(0, gp_levels(NULL, id[i].nspid[0], 0, &lv));
		ASSERT_EQ(2, lv.count);
		EXPECT_EQ(gp, lv.gpids[0]);
		EXPECT_EQ(G(1, id[i].nspid[0]), lv.gpids[1]);
	}
	EXPECT_EQ(WRAP_N - 7, wrapped);
	EXPECT_EQ(4, wide) TH_LOG("65536..65539 are the wide ones");
	narrow = gpid_first_narrow();
	info = info_of(_metadata, narrow);
	gpid_expect_ns_info(_metadata, &info, 1, 1, a.id.ns_ino, 1, 0, GPID_NS_LIVE,
			    info.wide_slot, "a");
	EXPECT_TRUE(gpid_slot_is_wide(info.wide_slot));
}

/* ----------------------------------------------------------------------------------------- */

/*
 * narrow_bits=21 wide_slots=254: narrow slots 255 and 256 for PIDs below 2^21, and the wide
 * slots for larger ones. A promoted namespace that dies keeps both its slots until the narrow
 * class is full; then reclaiming it frees both: the narrow one is reused (new generation),
 * the wide one names nothing any more.
 */
#define BIG21	((1 << 21) + 5)

TEST_F_TIMEOUT(sl, reclaim_frees_both_slots, 60)
{
	struct gpid_agent p, q, r, s;
	struct gpid_task_id pbig, sbig;
	struct gpid_ns_info info;
	struct gpid_self self_;
	char buf[64];
	__u32 gp, w, gen_p;
	__s32 pid;
	pid_t pp, ps;

	ASSERT_EQ(0, gpid_reload_module("narrow_bits=21 wide_slots=254"));
	gpid_expect_params_layout(_metadata, 22, 21, 254);
	ASSERT_EQ(256, gpid_max_slot());
	ns_agent(_metadata, NULL, &p);
	ASSERT_LT(0, gp_read(&p, GPID_PID_MAX_PATH, buf, sizeof(buf)));
	ASSERT_LT(BIG21, atoi(buf)) TH_LOG("a child namespace's pid_max: %s", buf);
	ASSERT_EQ(0, gp_self(&p, &self_));
	EXPECT_EQ(255, self_.slot);
	pp = sleeper_at(_metadata, &p, BIG21, &pbig);
	ASSERT_EQ(0, gp_encode(NULL, pp, 0, &gp));
	w = gpid_slot_of(gp);
	ASSERT_TRUE(gpid_slot_is_wide(w)) TH_LOG("%#x", gp);
	EXPECT_EQ(G(w, BIG21), gp);
	info = info_of(_metadata, 255);
	gpid_expect_ns_info(_metadata, &info, 1, 1, p.id.ns_ino, 1, 0, GPID_NS_LIVE, w, "p");
	gen_p = info.generation;
	ns_agent(_metadata, NULL, &q);
	ASSERT_EQ(0, gp_self(&q, &self_));
	EXPECT_EQ(256, self_.slot);

	/* p dies: dead, both slots still its own. */
	ASSERT_EQ(0, gpid_agent_stop(NULL, &p));
	info = info_of(_metadata, w);
	gpid_expect_ns_info(_metadata, &info, 1, 1, p.id.ns_ino, gen_p, 0, 0, w, "dead p");
	EXPECT_EQ(255, info.slot);

	/* The narrow class is full: r's first use reclaims p, both slots. */
	ns_agent(_metadata, NULL, &r);
	ASSERT_EQ(0, gp_self(&r, &self_));
	EXPECT_EQ(255, self_.slot);
	info = info_of(_metadata, 255);
	gpid_expect_ns_info(_metadata, &info, 1, 1, r.id.ns_ino, 0, 0, GPID_NS_LIVE, 0, "r");
	EXPECT_NE(gen_p, info.generation);
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, w, &info)) TH_LOG("p's wide slot still bound");
	EXPECT_EQ(-ESRCH, gp_decode(NULL, G(w, BIG21), &pid));
	ASSERT_EQ(0, gp_decode(NULL, G(255, 1), &pid));
	EXPECT_EQ(r.pid, pid);

	/* A namespace first used for a large PID: bound wide, not to the slot just freed. */
	ns_agent(_metadata, NULL, &s);
	ps = sleeper_at(_metadata, &s, BIG21, &sbig);
	ASSERT_EQ(0, gp_encode(NULL, ps, 0, &gp));
	ASSERT_TRUE(gpid_slot_is_wide(gpid_slot_of(gp))) TH_LOG("%#x", gp);
	EXPECT_NE(w, gpid_slot_of(gp)) TH_LOG("a freed slot is reused as late as possible");
	info = info_of(_metadata, gpid_slot_of(gp));
	gpid_expect_ns_info(_metadata, &info, 1, 1, s.id.ns_ino, 1, 0, GPID_NS_LIVE, 0, "s");
	ASSERT_EQ(0, gp_self(&s, &self_));
	EXPECT_EQ(G(info.slot, 1), self_.tid);
}

/* ----------------------------------------------------------------------------------------- */

/* GPID_IOC_NS_SET with GPID_NS_SET_SLOT as ag (NULL: the test process): 0 or -errno. */
static int set_slot(struct gpid_agent *ag, pid_t target, __u32 slot, struct gpid_ns_set *out)
{
	*out = (struct gpid_ns_set){ .pid = target, .flags = GPID_NS_SET_SLOT, .slot = slot };
	return gp_ns_set(ag, out);
}

/*
 * Requested slots (checkpoint/restore): an unbound namespace is bound to exactly the slot
 * asked for, of either class; a narrow one without a wide slot is promoted to exactly the
 * wide slot asked for, so a promoted namespace is restored narrow first, then wide. A slot
 * the target holds is accepted (from anyone); EBUSY for another of a class it holds, or a
 * narrow one for a wide namespace; EEXIST for one a live namespace holds (a dead holder is
 * reclaimed, whole); EINVAL out of range; EPERM without CAP_CHECKPOINT_RESTORE/CAP_SYS_ADMIN.
 */
TEST_F_TIMEOUT(sl, requested_slots, 60)
{
	struct gpid_agent n1, n2, n3, n4, n5, u;
	struct gpid_task_id big;
	struct gpid_ns_info info;
	struct gpid_ns_set set;
	struct gpid_self s;
	const __u32 nar = gpid_first_narrow() + 100, nar3 = gpid_first_narrow() + 200;
	__u32 gp, gen3;
	__s32 pid;
	pid_t pbig;

	ASSERT_LT(31, gpid_layout()->wide_slots) TH_LOG("wide slots 10, 11, 20, 21, 30, 31");
	ns_agent(_metadata, NULL, &n1);
	ns_agent(_metadata, NULL, &n2);
	ns_agent(_metadata, NULL, &n3);
	ns_agent(_metadata, NULL, &n4);
	ns_agent(_metadata, NULL, &n5);
	ASSERT_EQ(0, gpid_agent_start(&u, 0));
	ASSERT_EQ(0, gpid_agent_simple(&u, GPID_AG_DROP_PRIVS, 0, 0));

	/* Exactly a narrow slot. */
	ASSERT_EQ(0, set_slot(NULL, n1.pid, nar, &set));
	EXPECT_EQ(nar, set.slot);
	EXPECT_EQ(1, set.generation);
	ASSERT_EQ(0, gp_self(&n1, &s));
	EXPECT_EQ(nar, s.slot);
	EXPECT_EQ(G(nar, 1), s.tid);

	/* Exactly a wide slot: the namespace is bound wide, small PIDs and all. */
	ASSERT_EQ(0, set_slot(NULL, n2.pid, 10, &set));
	EXPECT_EQ(10, set.slot);
	ASSERT_EQ(0, gp_self(&n2, &s));
	EXPECT_EQ(G(10, 1), s.tid);
	info = info_of(_metadata, 10);
	gpid_expect_ns_info(_metadata, &info, 1, 1, n2.id.ns_ino, 1, 0, GPID_NS_LIVE, 0, "n2");
	EXPECT_EQ(1, ns_line(_metadata, 10).wide_class);

	/* A promoted namespace restored: narrow first, then its wide slot. */
	ASSERT_EQ(0, set_slot(NULL, n3.pid, nar3, &set));
	gen3 = set.generation;
	ASSERT_EQ(0, set_slot(NULL, n3.pid, 20, &set));
	EXPECT_EQ(nar3, set.slot) TH_LOG("the owner slot is reported");
	EXPECT_EQ(gen3, set.generation);
	info = info_of(_metadata, nar3);
	gpid_expect_ns_info(_metadata, &info, 1, 1, n3.id.ns_ino, gen3, 0, GPID_NS_LIVE, 20, "n3");
	EXPECT_EQ(1, info.wide_generation);
	pbig = sleeper_at(_metadata, &n3, BIG, &big);
	ASSERT_EQ(0, gp_encode(NULL, pbig, 0, &gp));
	EXPECT_EQ(G(20, BIG), gp) TH_LOG("the restored wide slot, no other promotion");
	ASSERT_EQ(0, gp_self(&n3, &s));
	EXPECT_EQ(G(nar3, 1), s.tid);
	ASSERT_EQ(0, gp_decode(NULL, G(20, BIG), &pid));
	EXPECT_EQ(pbig, pid);

	/* A slot the target holds already: accepted, nothing changes, also from anyone. */
	ASSERT_EQ(0, set_slot(NULL, n3.pid, nar3, &set));
	EXPECT_EQ(nar3, set.slot);
	ASSERT_EQ(0, set_slot(NULL, n3.pid, 20, &set));
	EXPECT_EQ(nar3, set.slot);
	ASSERT_EQ(0, set_slot(&u, n3.pid, 20, &set));
	EXPECT_EQ(nar3, set.slot);
	ASSERT_EQ(0, set_slot(&u, n1.pid, nar, &set));
	EXPECT_EQ(nar, set.slot);
	ASSERT_EQ(0, set_slot(&u, n2.pid, 10, &set));
	EXPECT_EQ(10, set.slot);

	/* EBUSY: another slot of a class it holds; a narrow slot for a wide namespace. */
	EXPECT_EQ(-EBUSY, set_slot(NULL, n3.pid, 21, &set));
	EXPECT_EQ(-EBUSY, set_slot(NULL, n3.pid, nar3 + 1, &set));
	EXPECT_EQ(-EBUSY, set_slot(NULL, n1.pid, nar + 1, &set));
	EXPECT_EQ(-EBUSY, set_slot(NULL, n2.pid, 11, &set));
	EXPECT_EQ(-EBUSY, set_slot(NULL, n2.pid, nar + 2, &set));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 21, &info));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, nar + 1, &info));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 11, &info));

	/* EEXIST: held by a live namespace, as owner or promoted slot; binding or promoting. */
	EXPECT_EQ(-EEXIST, set_slot(NULL, n4.pid, 10, &set));
	EXPECT_EQ(-EEXIST, set_slot(NULL, n4.pid, nar, &set));
	EXPECT_EQ(-EEXIST, set_slot(NULL, n4.pid, 20, &set));
	EXPECT_EQ(-EEXIST, set_slot(NULL, n4.pid, 1, &set));
	EXPECT_EQ(-EEXIST, set_slot(NULL, n1.pid, 20, &set));
	EXPECT_EQ(-EEXIST, set_slot(NULL, n1.pid, 10, &set));
	info = info_of(_metadata, nar);
	EXPECT_EQ(0, info.wide_slot) TH_LOG("n1 was promoted");

	/* EINVAL: 0, past the last slot. */
	EXPECT_EQ(-EINVAL, set_slot(NULL, n4.pid, 0, &set));
	EXPECT_EQ(-EINVAL, set_slot(NULL, n4.pid, gpid_max_slot() + 1, &set));
	EXPECT_EQ(-EINVAL, set_slot(NULL, n4.pid, ~0U, &set));
	EXPECT_EQ(-EINVAL, set_slot(NULL, n1.pid, gpid_max_slot() + 1, &set));

	/* EPERM without the capability, whatever the slot: free, live, either class. */
	EXPECT_EQ(-EPERM, set_slot(&u, n4.pid, gpid_max_slot(), &set));
	EXPECT_EQ(-EPERM, set_slot(&u, n4.pid, 30, &set));
	EXPECT_EQ(-EPERM, set_slot(&u, n4.pid, 10, &set));
	EXPECT_EQ(-EPERM, set_slot(&u, n1.pid, 31, &set));	/* no promotion either */
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 30, &info));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, 31, &info));

	/* A dead holder of the wide slot asked for is reclaimed, both its slots. */
	ASSERT_EQ(0, gpid_agent_stop(NULL, &n3));
	ASSERT_EQ(0, set_slot(NULL, n4.pid, 20, &set));
	EXPECT_EQ(20, set.slot);
	EXPECT_NE(1, set.generation);
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, nar3, &info)) TH_LOG("n3's narrow slot");
	info = info_of(_metadata, 20);
	gpid_expect_ns_info(_metadata, &info, 1, 1, n4.id.ns_ino, set.generation, 0,
			    GPID_NS_LIVE, 0, "n4");
	/* ... and of the narrow one asked for, by a promotion-free binding. */
	ASSERT_EQ(0, set_slot(NULL, n5.pid, nar3, &set));
	EXPECT_EQ(nar3, set.slot);
	EXPECT_NE(gen3, set.generation);
}

/* ----------------------------------------------------------------------------------------- */

/*
 * Decoding of every class from every viewpoint. The tree:
 *
 *   root (the test process, wide slot 1)
 *   +- A  (agent a = PID 1; narrow, promoted by its task abig, PID BIG)
 *   |  +- B  (agent b = PID 1; first used for its task bbig, PID BIG: bound wide)
 *   +- C  (agent c = PID 1; narrow): sibling of A
 *
 * B's tasks have PIDs above 65535 in A too (A's ns_last_pid was moved past BIG), so their
 * gpids qualified with A are in A's wide slot. Every viewer decodes the canonical gpid of
 * every task and its gpid at every level: the PID it sees, or ESRCH, exactly as for a free
 * slot, when it cannot see the task or the namespace the value names.
 */
enum { V_ROOT, V_A, V_B, V_C, NR_V };
static const int v_parent[NR_V] = { -1, V_ROOT, V_A, V_ROOT };
static const int v_level[NR_V] = { 0, 1, 2, 1 };
static const char *const v_name[NR_V] = { "root", "A", "B", "C" };

struct vtask {
	const char *name;
	int ns;
	struct gpid_task_id id;
};

TEST_F_TIMEOUT(sl, decode_every_class_every_viewpoint, 90)
{
	struct gpid_agent a, b, c;
	struct gpid_agent *viewer[NR_V] = { NULL, &a, &b, &c };
	struct gpid_ns_info info[NR_V];
	struct vtask t[6];
	struct gpid_self s;
	struct gpid_decode free_answer;
	__u32 gp;
	int nt = 0;

	ns_agent(_metadata, NULL, &a);
	ns_agent(_metadata, NULL, &c);
	ASSERT_EQ(0, gp_self(NULL, &s));
	ASSERT_EQ(0, gp_self(&a, &s));
	ASSERT_EQ(0, gp_self(&c, &s));
	t[nt] = (struct vtask){ "test", V_ROOT };
	ASSERT_EQ(0, gpid_task_id(&t[nt++].id));
	t[nt++] = (struct vtask){ "a", V_A, a.id };
	t[nt++] = (struct vtask){ "c", V_C, c.id };
	t[nt] = (struct vtask){ "abig", V_A };
	sleeper_at(_metadata, &a, BIG, &t[nt].id);
	ASSERT_EQ(0, gp_encode(NULL, t[nt++].id.nspid[0], 0, &gp));	/* promotes A */
	ns_agent(_metadata, &a, &b);
	ASSERT_LT(BIG, b.id.nspid[1]) TH_LOG("b's PID in A");
	t[nt] = (struct vtask){ "bbig", V_B };
	sleeper_at(_metadata, &b, BIG, &t[nt].id);
	ASSERT_EQ(0, gp_encode(NULL, t[nt++].id.nspid[0], 0, &gp));	/* binds B wide */
	t[nt++] = (struct vtask){ "b", V_B, b.id };

	/* Each namespace's slots: NS_INFO(0) from inside, then as the root sees it. */
	for (int n = 0; n < NR_V; n++) {
		ASSERT_EQ(0, gp_ns_info(viewer[n], 0, &info[n])) TH_LOG("%s", v_name[n]);
		info[n] = info_of(_metadata, info[n].slot);
	}
	ASSERT_EQ(1, info[V_ROOT].slot);
	ASSERT_FALSE(gpid_slot_is_wide(info[V_A].slot));
	ASSERT_TRUE(gpid_slot_is_wide(info[V_A].wide_slot)) TH_LOG("A not promoted");
	ASSERT_TRUE(gpid_slot_is_wide(info[V_B].slot)) TH_LOG("B not bound wide");
	EXPECT_EQ(0, info[V_B].wide_slot);
	ASSERT_FALSE(gpid_slot_is_wide(info[V_C].slot));
	EXPECT_EQ(0, info[V_C].wide_slot);
	EXPECT_EQ(info[V_A].slot, info[V_B].parent_slot);

	/* The answer for a free slot, which every unreachable value must give too. */
	free_answer = failed_decode(_metadata, NULL, G(gpid_max_slot() - 1, 1), ESRCH);

	for (int o = 0; o < NR_V; o++) {
		struct gpid_agent *O = viewer[o];
		const int lo = v_level[o];
		struct gpid_decode d;

		for (int x = 0; x < nt; x++) {
			const struct vtask *T = &t[x];
			int lt = T->id.level;

			/* T's gpid in each namespace it has a PID in, its own first. */
			for (int n = T->ns, k = lt; n >= 0; n = v_parent[n], k--) {
				__u32 v = gpid_canonical(info[n].slot, info[n].wide_slot,
							 T->id.nspid[k]);
				int ret;

				ASSERT_EQ(v_level[n], k);
				if (gpid_ns_sees(v_parent, o, n)) {
					d = (struct gpid_decode){ .gpid = v };
					ret = gp_ioctl(O, GPID_IOC_DECODE, &d, sizeof(d));
					EXPECT_EQ(0, ret) TH_LOG("%s decodes %s in %s (%#x)",
								 v_name[o], T->name, v_name[n], v);
					EXPECT_EQ(T->id.nspid[lo], d.pid) TH_LOG("%s decodes %s in %s",
										 v_name[o], T->name,
										 v_name[n]);
					continue;
				}
				d = failed_decode(_metadata, O, v, ESRCH);
				EXPECT_EQ(0, memcmp(&free_answer, &d, sizeof(d)))
					TH_LOG("%s decodes %s in %s: not as a free slot", v_name[o],
					       T->name, v_name[n]);
			}
			/* ENCODE by a viewer that sees T: the canonical gpid. */
			if (gpid_ns_sees(v_parent, o, T->ns)) {
				ASSERT_EQ(0, gp_encode(O, T->id.nspid[lo], 0, &gp))
					TH_LOG("%s encodes %s", v_name[o], T->name);
				EXPECT_EQ(gpid_canonical(info[T->ns].slot, info[T->ns].wide_slot,
							 T->id.nspid[lt]), gp)
					TH_LOG("%s encodes %s", v_name[o], T->name);
			}
		}
		/* Values no task has: A's wide slot with a small PID; B's with PID 0. */
		d = failed_decode(_metadata, O, G(info[V_A].wide_slot, 1), ESRCH);
		EXPECT_EQ(0, memcmp(&free_answer, &d, sizeof(d))) TH_LOG("%s", v_name[o]);
		failed_decode(_metadata, O, G(info[V_B].slot, 0), GPID_PART0_ERR);
	}
}

/* ----------------------------------------------------------------------------------------- */

/*
 * Bad values at every class boundary, by DECODE and by DECODE_BATCH (the same answer for each
 * value), from the initial namespace and from a narrow child: PID part 0 of each class, the
 * first and last values of each slot, narrow_start - 1 (the last value of the last wide slot),
 * narrow_start, the end of the narrow slots (2^30, past GPID_MASK), free slots of both
 * classes, the wide slot's values of a promoted namespace's small PIDs. NS_INFO at the slot id
 * boundaries too.
 */
TEST_F_TIMEOUT(sl, bad_values_at_class_boundaries, 60)
{
	const struct gpid_layout *l = gpid_layout();
	struct gpid_agent a, big;
	struct gpid_ns_info info;
	struct gpid_self s;
	__u32 w, wfree, n1, wmax, nmax, last;
	__s32 pid;

	ASSERT_NE(NULL, l);
	ns_agent(_metadata, NULL, &a);
	ASSERT_EQ(0, gp_self(&a, &s));
	n1 = s.slot;
	ASSERT_EQ(l->wide_slots + 1, n1);
	ASSERT_EQ(0, gp_write_int(&a, NS_LAST_PID, BIG - 1));
	ASSERT_EQ(0, gpid_agent_spawn(&a, &big, 0));
	ASSERT_EQ(0, gp_self(&big, &s));
	w = gpid_slot_of(s.tid);
	ASSERT_TRUE(gpid_slot_is_wide(w));
	wfree = w == 2 ? 3 : 2;
	wmax = gpid_slot_max_nr(1);
	nmax = gpid_slot_max_nr(n1);
	last = l->max_slot;
	ASSERT_EQ(l->narrow_start - 1, G(l->wide_slots, wmax));
	ASSERT_EQ(l->narrow_start, G(n1, 0));
	ASSERT_EQ(GPID_MASK, G(last, nmax));
	ASSERT_EQ(GPID_MASK + 1, l->narrow_end);

	for (int who = 0; who < 2; who++) {
		struct gpid_agent *o = who ? &a : NULL;
		const char *name = who ? "a" : "test";
		const struct {
			__u32 v;
			int err;
			__s32 pid;	/* with err 0 */
		} cases[] = {
			{ 0, GPID_PART0_ERR },			/* plain, PID part 0 */
			{ 1, 0, 1 },				/* the viewer's init */
			{ wmax, ESRCH },			/* plain, the largest */
			{ G(1, 0), GPID_PART0_ERR },		/* wide slot 1 */
			{ G(1, 1), who ? ESRCH : 0, 1 },	/* the guest's init */
			{ G(1, wmax), ESRCH },
			{ G(wfree, 0), GPID_PART0_ERR },	/* a free wide slot */
			{ G(wfree, 1), ESRCH },
			{ G(wfree, wmax), ESRCH },
			{ G(w, 0), GPID_PART0_ERR },		/* a's wide slot */
			{ G(w, 1), ESRCH },			/* a's PID 1: narrow */
			{ G(w, nmax), ESRCH },
			{ G(w, nmax + 1), ESRCH },		/* 65536: not a's task */
			{ G(w, BIG), 0, who ? BIG : big.id.nspid[0] },
			{ G(w, wmax), ESRCH },
			{ l->narrow_start - 1, ESRCH },		/* the last wide slot */
			{ l->narrow_start, GPID_PART0_ERR },	/* a's narrow slot, PID 0 */
			{ G(n1, 1), 0, who ? 1 : a.pid },
			{ G(n1, nmax), ESRCH },
			{ G(n1 + 1, 0), GPID_PART0_ERR },	/* free narrow */
			{ G(n1 + 1, 1), ESRCH },
			{ G(last, 0), GPID_PART0_ERR },	/* the last slot */
			{ G(last, 1), ESRCH },
			{ GPID_MASK, ESRCH },
			{ GPID_MASK + 1, EINVAL },		/* narrow_end */
			{ GPID_MASK + 1 + 1, EINVAL },
			{ 0x80000000, EINVAL },
			{ ~0U, EINVAL },
		};
		const int n = sizeof(cases) / sizeof(cases[0]);
		__u32 in[sizeof(cases) / sizeof(cases[0])];
		__s32 out[sizeof(cases) / sizeof(cases[0])];
		struct gpid_decode none = failed_decode(_metadata, o, G(n1 + 1, 1), ESRCH);

		for (int i = 0; i < n; i++) {
			struct gpid_decode d;

			in[i] = cases[i].v;
			if (cases[i].err) {
				d = failed_decode(_metadata, o, cases[i].v, cases[i].err);
				if (cases[i].err == ESRCH)
					EXPECT_EQ(0, memcmp(&none, &d, sizeof(d)))
						TH_LOG("%s: case %d (%#x)", name, i, cases[i].v);
				continue;
			}
			ASSERT_EQ(0, gp_decode(o, cases[i].v, &pid))
				TH_LOG("%s: case %d (%#x)", name, i, cases[i].v);
			EXPECT_EQ(cases[i].pid, pid) TH_LOG("%s: case %d (%#x)", name, i, cases[i].v);
		}
		ASSERT_EQ(0, gp_batch(o, in, out, n));
		for (int i = 0; i < n; i++) {
			EXPECT_EQ(cases[i].err ? -cases[i].err : cases[i].pid, out[i])
				TH_LOG("%s: batch [%d] = %#x", name, i, in[i]);
		}
	}

	/* NS_INFO at the slot id boundaries. */
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, l->wide_slots, &info));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, n1 + 1, &info));
	EXPECT_EQ(-ENOENT, gp_ns_info(NULL, last, &info));
	EXPECT_EQ(-EINVAL, gp_ns_info(NULL, last + 1, &info));
	info = info_of(_metadata, n1);
	EXPECT_EQ(w, info.wide_slot);
	info = info_of(_metadata, w);
	EXPECT_EQ(n1, info.slot);
	EXPECT_EQ(-ENOENT, gp_ns_info(&a, 1, &info)) TH_LOG("the parent is invisible");
}

TEST_HARNESS_MAIN
