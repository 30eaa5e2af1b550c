// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading gpid.ko. Runs with the module loaded and leaves it loaded.
 *
 * "Busy" is the kernel's own answer to delete_module() on a module with references:
 * EWOULDBLOCK (== EAGAIN), which rmmod reports as "in use".
 */
#include <sys/stat.h>
#include "gpid_test.h"
#include "kselftest_harness.h"

static int module_refcnt(void)
{
	char buf[32];

	if (gpid_read_file("/sys/module/gpid/refcnt", buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

TEST(reload_20_times)
{
	ASSERT_TRUE(gpid_module_loaded());
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(0, gpid_unload_module()) TH_LOG("round %d", i);
		ASSERT_FALSE(gpid_module_loaded());
		ASSERT_EQ(0, gpid_load_module()) TH_LOG("round %d", i);
		ASSERT_TRUE(gpid_wait_path("/dev/gpid", 1));
	}
}

TEST(load_twice_is_eexist)
{
	ASSERT_TRUE(gpid_module_loaded());
	EXPECT_EQ(-EEXIST, gpid_load_module());
}

TEST(unload_while_open_is_busy)
{
	struct gpid_version v;
	int fd = open("/dev/gpid", O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(1, module_refcnt());
	EXPECT_EQ(-EWOULDBLOCK, gpid_unload_module());
	/* The device still works after the refused unload. */
	ASSERT_EQ(0, ioctl(fd, GPID_IOC_VERSION, &v));
	EXPECT_EQ(GPID_ABI_VERSION, v.abi_version);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, module_refcnt());
	EXPECT_EQ(0, gpid_unload_module());
	EXPECT_EQ(0, gpid_load_module());
	ASSERT_TRUE(gpid_wait_path("/dev/gpid", 1));
}

TEST(files_removed_on_unload)
{
	ASSERT_EQ(0, access("/proc/gpid/version", R_OK));
	ASSERT_EQ(0, access("/proc/gpid/features", R_OK));
	ASSERT_EQ(0, access("/dev/gpid", F_OK));
	ASSERT_EQ(0, gpid_unload_module());
	EXPECT_EQ(-1, access("/proc/gpid", F_OK));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_TRUE(gpid_wait_path("/dev/gpid", 0));
	ASSERT_EQ(0, gpid_load_module());
	EXPECT_EQ(0, access("/proc/gpid/version", R_OK));
	EXPECT_TRUE(gpid_wait_path("/dev/gpid", 1));
}

/* An open proc file keeps working (or fails cleanly) across an unload: never a crash. */
TEST(proc_reader_across_unload)
{
	char buf[256];
	int fd = open("/proc/gpid/version", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gpid_unload_module());
	n = read(fd, buf, sizeof(buf));
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EIO, errno);
	close(fd);
	ASSERT_EQ(0, gpid_load_module());
}

TEST_HARNESS_MAIN
