/* Prints every constant, struct size, field offset, field size and field signedness of
 * include/uapi/linux/gpid.h as "name value" lines; tests/uapi.rs compares them with the Rust
 * mirror in src/uapi.rs, and checks that this file covers every #define and field of the
 * header, so adding to the header without adding here fails the test. */
#include <stddef.h>
#include <stdio.h>
#include <linux/gpid.h>

#define P(name, val) printf("%s %llu\n", name, (unsigned long long)(val))
#define CONST(c) P(#c, c)
#define SIZE(s) P("sizeof(" #s ")", sizeof(struct s))
#define MEMBER(s, f) (((struct s *)0)->f)
/* Signedness catches a __s32 mirrored as u32: same size and offset, different meaning. */
#define FIELD_(s, f, elem)                                                   \
	do {                                                                 \
		P("offsetof(" #s "." #f ")", offsetof(struct s, f));         \
		P("sizeof(" #s "." #f ")", sizeof(MEMBER(s, f)));            \
		P("signed(" #s "." #f ")", (__typeof__(elem))-1 < 0);        \
	} while (0)
#define FIELD(s, f) FIELD_(s, f, MEMBER(s, f))
#define FIELD_ARRAY(s, f) FIELD_(s, f, MEMBER(s, f)[0])

int main(void)
{
	CONST(GPID_ABI_VERSION);
	printf("GPID_DEVICE_PATH %s\n", GPID_DEVICE_PATH);
	CONST(GPID_IOC_MAGIC);

	CONST(GPID_FEATURE_GLOBAL_PIDS);
	CONST(GPID_FEATURE_ROBUST_FUTEX);
	CONST(GPID_FEATURE_SIGQUEUE);
	CONST(GPID_FEATURE_MSQ);
	CONST(GPID_FEATURE_PEERCRED);
	CONST(GPID_FEATURE_SIGQUEUE_THREAD);

	SIZE(gpid_version);
	FIELD(gpid_version, abi_version);
	FIELD(gpid_version, pid_bits);
	FIELD(gpid_version, features);
	FIELD(gpid_version, narrow_bits);
	FIELD(gpid_version, wide_slots);
	FIELD(gpid_version, narrow_slots);
	FIELD(gpid_version, narrow_start);
	CONST(GPID_IOC_VERSION);

	CONST(GPID_MASK);
	CONST(GPID_MAX_LEVELS);
	CONST(GPID_BATCH_MAX);

	SIZE(gpid_self);
	FIELD(gpid_self, tid);
	FIELD(gpid_self, tgid);
	FIELD(gpid_self, slot);
	FIELD(gpid_self, level);

	CONST(GPID_ENCODE_TGID);

	SIZE(gpid_encode);
	FIELD(gpid_encode, pid);
	FIELD(gpid_encode, flags);
	FIELD(gpid_encode, gpid);
	FIELD(gpid_encode, reserved);

	SIZE(gpid_decode);
	FIELD(gpid_decode, gpid);
	FIELD(gpid_decode, flags);
	FIELD(gpid_decode, pid);
	FIELD(gpid_decode, reserved);

	SIZE(gpid_decode_batch);
	FIELD(gpid_decode_batch, gpids);
	FIELD(gpid_decode_batch, pids);
	FIELD(gpid_decode_batch, count);
	FIELD(gpid_decode_batch, flags);

	SIZE(gpid_levels);
	FIELD(gpid_levels, pid);
	FIELD(gpid_levels, flags);
	FIELD(gpid_levels, count);
	FIELD(gpid_levels, reserved);
	FIELD_ARRAY(gpid_levels, gpids);
	FIELD(gpid_levels, reserved2);

	CONST(GPID_POLICY_EXPORT);
	CONST(GPID_NS_LIVE);

	SIZE(gpid_ns_info);
	FIELD(gpid_ns_info, slot);
	FIELD(gpid_ns_info, flags);
	FIELD(gpid_ns_info, level);
	FIELD(gpid_ns_info, parent_slot);
	FIELD(gpid_ns_info, ino);
	FIELD(gpid_ns_info, generation);
	FIELD(gpid_ns_info, policy);
	FIELD(gpid_ns_info, state);
	FIELD(gpid_ns_info, wide_slot);
	FIELD(gpid_ns_info, wide_generation);
	FIELD(gpid_ns_info, reserved);

	CONST(GPID_NS_SET_SLOT);
	CONST(GPID_NS_SET_POLICY);

	SIZE(gpid_ns_set);
	FIELD(gpid_ns_set, pid);
	FIELD(gpid_ns_set, flags);
	FIELD(gpid_ns_set, slot);
	FIELD(gpid_ns_set, policy);
	FIELD(gpid_ns_set, generation);
	FIELD(gpid_ns_set, reserved);

	CONST(GPID_IOC_SELF);
	CONST(GPID_IOC_ENCODE);
	CONST(GPID_IOC_DECODE);
	CONST(GPID_IOC_DECODE_BATCH);
	CONST(GPID_IOC_LEVELS);
	CONST(GPID_IOC_NS_INFO);
	CONST(GPID_IOC_NS_SET);

	SIZE(gpid_robust_register);
	FIELD(gpid_robust_register, flags);
	FIELD(gpid_robust_register, owner);
	CONST(GPID_IOC_ROBUST_REGISTER);
	CONST(GPID_IOC_ROBUST_UNREGISTER);

	CONST(GPID_MSQ_UNKNOWN);
	CONST(GPID_MSQ_NONE);
	CONST(GPID_MSQ_PARTY);
	SIZE(gpid_msq);
	FIELD(gpid_msq, msqid);
	FIELD(gpid_msq, flags);
	FIELD(gpid_msq, sender_state);
	FIELD(gpid_msq, sender_pid);
	FIELD(gpid_msq, sender_gpid);
	FIELD(gpid_msq, receiver_state);
	FIELD(gpid_msq, receiver_pid);
	FIELD(gpid_msq, receiver_gpid);
	FIELD(gpid_msq, reserved);
	FIELD(gpid_msq, reserved2);
	CONST(GPID_IOC_MSQ);
	CONST(GPID_PEER_KNOWN);
	CONST(GPID_PEER_ALIVE);
	SIZE(gpid_peer);
	FIELD(gpid_peer, fd);
	FIELD(gpid_peer, flags);
	FIELD(gpid_peer, pid);
	FIELD(gpid_peer, gpid);
	FIELD(gpid_peer, uid);
	FIELD(gpid_peer, gid);
	FIELD(gpid_peer, state);
	FIELD(gpid_peer, reserved);
	SIZE(gpid_pidfd);
	FIELD(gpid_pidfd, pidfd);
	FIELD(gpid_pidfd, flags);
	FIELD(gpid_pidfd, pid);
	FIELD(gpid_pidfd, gpid);
	FIELD(gpid_pidfd, state);
	FIELD(gpid_pidfd, reserved);
	CONST(GPID_IOC_PEER);
	CONST(GPID_IOC_PIDFD);

	CONST(GPID_SIGQUEUE_GPID);
	CONST(GPID_SIGQUEUE_THREAD);
	SIZE(gpid_sigqueue);
	FIELD(gpid_sigqueue, target);
	FIELD(gpid_sigqueue, flags);
	FIELD(gpid_sigqueue, sig);
	FIELD(gpid_sigqueue, reserved);
	FIELD(gpid_sigqueue, value);
	FIELD(gpid_sigqueue, reserved2);
	SIZE(gpid_sigsender);
	FIELD(gpid_sigsender, sig);
	FIELD(gpid_sigsender, flags);
	FIELD(gpid_sigsender, value);
	FIELD(gpid_sigsender, gpid);
	FIELD(gpid_sigsender, reserved);
	FIELD(gpid_sigsender, seq);
	CONST(GPID_IOC_SIGQUEUE);
	CONST(GPID_IOC_SIGSENDER);
	return 0;
}
