/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations of rust/helpers.c, read by bindgen (rust/bindings_helper.h). */
#ifndef GPID_HELPERS_H
#define GPID_HELPERS_H

#include <linux/types.h>
#include <linux/workqueue_types.h>
#include <linux/spinlock_types.h>

struct pid;
struct socket;
struct pid_namespace;
struct task_struct;
struct user_namespace;
struct irq_work;
struct work_struct;
struct mm_struct;
struct page;
struct ipc_namespace;
struct kern_ipc_perm;
struct kretprobe;
struct kretprobe_instance;
enum pid_type;
struct tracepoint;
struct kernel_siginfo;
struct cred;


/*
 * The send in progress on this CPU, seen by the signal_generate probe (rust/kernel_ext/signal.rs
 * defines the same layout): @tag names the probe's type, @cookie its request.
 */
struct gpid_send_slot {
	const void *tag;
	const void *cookie;
	u64 token;
	int sig;
	int group;
};

/* gpid_kill_permission() */
#define GPID_KILL_BY_UID	1
#define GPID_KILL_BY_PRIVILEGE	2


unsigned int gpid_param_pid_bits(void);
unsigned int gpid_param_narrow_bits(void);
unsigned int gpid_param_wide_slots(void);
unsigned int gpid_param_quota_percent(void);
struct user_namespace *gpid_current_user_ns(void);
struct user_namespace *gpid_init_user_ns(void);
struct user_namespace *gpid_user_ns_parent(const struct user_namespace *ns);
u32 gpid_user_ns_owner(const struct user_namespace *ns);
struct task_struct *gpid_current(void);
void gpid_rcu_read_lock(void);
void gpid_rcu_read_unlock(void);
struct pid *gpid_get_pid(struct pid *pid);
unsigned int gpid_pid_level(const struct pid *pid);
struct pid_namespace *gpid_ns_of_pid(struct pid *pid);
bool gpid_pid_has_task(struct pid *pid, enum pid_type type);
struct pid_namespace *gpid_get_pid_ns(struct pid_namespace *ns);
unsigned int gpid_pid_ns_level(const struct pid_namespace *ns);
struct pid_namespace *gpid_pid_ns_parent(const struct pid_namespace *ns);
unsigned int gpid_pid_ns_inum(const struct pid_namespace *ns);
struct user_namespace *gpid_pid_ns_user_ns(const struct pid_namespace *ns);
bool gpid_pid_ns_is_live(const struct pid_namespace *ns);
pid_t gpid_current_vtid(void);
void __user *gpid_current_robust_list(void);
int gpid_futex_cmpxchg_nofault(u32 __user *uaddr, u32 old, u32 new, u32 *found);
void gpid_init_irq_work(struct irq_work *work, void (*fn)(struct irq_work *));
void gpid_init_work(struct work_struct *work, work_func_t fn);
bool gpid_schedule_work(struct work_struct *work);
struct mm_struct *gpid_current_mm_get(void);
void *gpid_user_page_map(struct mm_struct *mm, unsigned long addr, bool write, struct page **pagep);
void gpid_user_page_unmap(void *kaddr, struct page *page, bool dirty);
struct ipc_namespace *gpid_current_ipc_ns(void);
struct user_namespace *gpid_ipc_ns_user_ns(const struct ipc_namespace *ns);
struct kern_ipc_perm *gpid_msq_find(struct ipc_namespace *ns, int id);
void gpid_ipc_perm_fields(const struct kern_ipc_perm *perm, u32 *uid, u32 *gid, u32 *cuid,
			  u32 *cgid, u32 *mode);
u32 gpid_current_euid(void);
bool gpid_current_in_group(u32 gid);
struct kretprobe *gpid_kretprobe_of(struct kretprobe_instance *ri);
int gpid_ipc_perm_id(const struct kern_ipc_perm *perm);
bool gpid_msq_record(struct kern_ipc_perm *perm, struct pid **lspid, struct pid **lrpid,
		     s64 *stime, s64 *rtime);
bool gpid_msq_last_receiver_is(struct kern_ipc_perm *perm, const struct pid *pid, bool lock);
void gpid_msq_unlock(struct kern_ipc_perm *perm);
struct kern_ipc_perm *gpid_msq_next(struct ipc_namespace *ns, int *idx);
bool gpid_ipc_ns_has_msq(const struct ipc_namespace *ns);
int gpid_for_each_ipc_ns(void (*fn)(struct ipc_namespace *ns, void *arg), void *arg);
struct pid *gpid_exiting_thread_held_pid(void);
struct pid *gpid_current_pid_ref(enum pid_type type);
void gpid_sockfd_put(struct socket *sock);
struct pid *gpid_sock_peer(struct socket *sock, u32 *uid, u32 *gid);
struct pid *gpid_pidfd_get_pid(int fd);
struct tracepoint *gpid_find_tracepoint(const char *name);
void gpid_tracepoint_synchronize_unregister(void);
const struct gpid_send_slot *gpid_current_send_slot(void);
bool gpid_in_task(void);
int gpid_kill_permission(struct pid *pid, int sig);
const struct cred *gpid_cred_with_uid_of(struct pid *pid);
void gpid_put_cred(const struct cred *cred);
int gpid_send_group(int sig, struct pid *pid, const struct cred *cred, u64 token,
		    const struct gpid_send_slot *slot);
int gpid_send_thread(int sig, struct pid *pid, u64 value, const struct gpid_send_slot *slot);
int gpid_kill_pid(struct pid *pid, int sig);
bool gpid_siginfo_is_special(const struct kernel_siginfo *info);
int gpid_siginfo_code(const struct kernel_siginfo *info);
u64 gpid_siginfo_token(const struct kernel_siginfo *info);
struct kernel_siginfo *gpid_queued_siginfo(struct task_struct *t, bool group,
					   const struct kernel_siginfo *info);
void gpid_siginfo_make_queue(struct kernel_siginfo *info, struct task_struct *t, u64 value);
bool gpid_task_is_kthread(const struct task_struct *t);
bool gpid_in_compat_syscall(void);
bool gpid_security_enabled(void);
unsigned long gpid_spin_lock_irqsave(spinlock_t *lock);
void gpid_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags);

#endif
