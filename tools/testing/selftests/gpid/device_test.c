// SPDX-License-Identifier: GPL-2.0
/* /dev/gpid: open, the version ioctl, bad input, and the /proc/gpid files. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "gpid_test.h"
#include "kselftest_harness.h"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open("/dev/gpid", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/gpid: %s", strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST(open_close_many)
{
	for (int i = 0; i < 100; i++) {
		int fd = open("/dev/gpid", O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, close(fd));
	}
}

TEST_F(dev, version)
{
	struct gpid_version v;

	memset(&v, 0xa5, sizeof(v));
	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_VERSION, &v));
	EXPECT_EQ(GPID_ABI_VERSION, v.abi_version);
	EXPECT_EQ(22, v.pid_bits);
	/* Only defined bits may ever be reported. */
	EXPECT_EQ(0, v.features & ~((GPID_FEATURE_SIGQUEUE_THREAD << 1) - 1));
}

/* The features ioctl and /proc/gpid/features must tell the same story. */
TEST_F(dev, features_match_proc)
{
	static const struct { __u64 bit; const char *name; } known[] = {
		{ GPID_FEATURE_GLOBAL_PIDS, "global_pids" },
		{ GPID_FEATURE_ROBUST_FUTEX, "robust_futex" },
		{ GPID_FEATURE_SIGQUEUE, "sigqueue" },
		{ GPID_FEATURE_MSQ, "msq" },
		{ GPID_FEATURE_PEERCRED, "peercred" },
		{ GPID_FEATURE_SIGQUEUE_THREAD, "sigqueue_thread" },
	};
	struct gpid_version v;
	char buf[1024], line[64];

	ASSERT_EQ(0, ioctl(self->fd, GPID_IOC_VERSION, &v));
	ASSERT_LT(0, gpid_read_file("/proc/gpid/features", buf, sizeof(buf)));
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		snprintf(line, sizeof(line), "%s %s\n", known[i].name,
			 (v.features & known[i].bit) ? "on" : "off");
		EXPECT_NE(NULL, strstr(buf, line)) TH_LOG("missing '%s' in:\n%s", line, buf);
	}
}

TEST_F(dev, proc_version)
{
	char buf[256], want[64];

	ASSERT_LT(0, gpid_read_file("/proc/gpid/version", buf, sizeof(buf)));
	snprintf(want, sizeof(want), "abi %d\npid_bits 22\n", GPID_ABI_VERSION);
	EXPECT_STREQ(want, buf);
}

TEST_F(dev, unknown_ioctls)
{
	struct gpid_version v;
	unsigned long bad[] = {
		_IOR(GPID_IOC_MAGIC, 0x7f, struct gpid_version),	/* unknown nr */
		_IOR('x', 0x00, struct gpid_version),		/* other magic */
		_IOR(GPID_IOC_MAGIC, 0x00, __u32),		/* version, wrong size */
		_IOW(GPID_IOC_MAGIC, 0x00, struct gpid_version),	/* version, wrong direction */
		0,
		~0UL,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, bad[i], &v)) TH_LOG("cmd %#lx", bad[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", bad[i]);
	}
}

TEST_F(dev, bad_pointers)
{
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *bad[] = {
		NULL,
		(void *)1,
		(void *)0xffff888000000000UL,		/* kernel direct map */
		(void *)-4096L,
		ro,					/* not writable */
	};

	ASSERT_NE(MAP_FAILED, ro);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_VERSION, bad[i])) TH_LOG("ptr %p", bad[i]);
		EXPECT_EQ(EFAULT, errno) TH_LOG("ptr %p", bad[i]);
	}
	munmap(ro, 4096);
}

/* A struct straddling the end of a mapping: the ioctl must fault, not write half of it. */
TEST_F(dev, straddling_pointer)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p + 4096, 4096));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, GPID_IOC_VERSION, p + 4096 - 8));
	EXPECT_EQ(EFAULT, errno);
	munmap(p, 4096);
}

TEST_HARNESS_MAIN
