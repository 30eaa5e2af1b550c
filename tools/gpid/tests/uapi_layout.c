/* Prints every constant, size and offset of include/uapi/linux/gpid.h as "name value" lines;
 * tests/uapi.rs compares them with the Rust mirror in src/uapi.rs. */
#include <stddef.h>
#include <stdio.h>
#include <linux/gpid.h>

#define P(name, val) printf("%s %llu\n", name, (unsigned long long)(val))

int main(void)
{
	P("GPID_ABI_VERSION", GPID_ABI_VERSION);
	P("GPID_IOC_MAGIC", GPID_IOC_MAGIC);
	P("GPID_IOC_VERSION", GPID_IOC_VERSION);
	P("GPID_FEATURE_GLOBAL_PIDS", GPID_FEATURE_GLOBAL_PIDS);
	P("GPID_FEATURE_ROBUST_FUTEX", GPID_FEATURE_ROBUST_FUTEX);
	P("GPID_FEATURE_SIGQUEUE", GPID_FEATURE_SIGQUEUE);
	P("GPID_FEATURE_SIGNAL_FIXUP", GPID_FEATURE_SIGNAL_FIXUP);
	P("GPID_FEATURE_MSQ", GPID_FEATURE_MSQ);
	P("GPID_FEATURE_PEERCRED", GPID_FEATURE_PEERCRED);
	P("sizeof(struct gpid_version)", sizeof(struct gpid_version));
	P("offsetof(gpid_version.abi_version)", offsetof(struct gpid_version, abi_version));
	P("offsetof(gpid_version.pid_bits)", offsetof(struct gpid_version, pid_bits));
	P("offsetof(gpid_version.features)", offsetof(struct gpid_version, features));
	printf("GPID_DEVICE_PATH %s\n", GPID_DEVICE_PATH);
	return 0;
}
