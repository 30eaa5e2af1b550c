/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the gpid selftests. */
#ifndef GPID_TEST_H
#define GPID_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/gpid.h>

#define GPID_MODULE_PATH "/lib/modules/gpid.ko"

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
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static inline int gpid_unload_module(void)
{
	return syscall(SYS_delete_module, "gpid", O_NONBLOCK) ? -errno : 0;
}

static inline int gpid_module_loaded(void)
{
	return access("/sys/module/gpid", F_OK) == 0;
}

#endif
