// SPDX-License-Identifier: GPL-2.0
/*
 * C shims: only what Rust cannot reach directly in 6.12.
 *  - static inline functions and macros (current, RCU, get_pid, ...);
 *  - fields of structs whose bindgen layout is not trusted (struct pid, pid_namespace);
 *  - module parameters (6.12's Rust `module!` macro has none).
 * Each is a one-liner; rust/kernel_ext/ wraps them in safe types.
 */
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>
#include <linux/cred.h>
#include <linux/idr.h>
#include <linux/kprobes.h>
#include <linux/ipc.h>
#include <linux/ipc_namespace.h>
#include <linux/nsproxy.h>
#include <linux/highmem.h>
#include <linux/irq_work.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>
#include <asm/futex.h>
#include <net/sock.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/signal.h>
#include <linux/tracepoint.h>
#include <linux/string.h>

#include "helpers.h"

/* A layout parameter: read-only after load, read by the Rust side with gpid_param_<name>(). */
#define GPID_LAYOUT_PARAM(name, init, desc)			\
	static unsigned int name = init;			\
	module_param(name, uint, 0444);				\
	MODULE_PARM_DESC(name, desc);				\
	unsigned int gpid_param_##name(void)			\
	{							\
		return name;					\
	}

GPID_LAYOUT_PARAM(pid_bits, 22, "Width of a wide slot: PIDs up to 2^pid_bits - 1 (16..29, default 22)")
GPID_LAYOUT_PARAM(narrow_bits, 16, "Width of a narrow slot (8..pid_bits, default 16)")
GPID_LAYOUT_PARAM(wide_slots, 0, "Number of wide slots (0, the default: 65 or as many as fit)")

static unsigned int quota_percent = 25;
module_param(quota_percent, uint, 0644);
MODULE_PARM_DESC(quota_percent, "Share of each pool (narrow slots, wide slots, thread slots, sender records) one user may hold, in percent (default 25)");

unsigned int gpid_param_quota_percent(void)
{
	return READ_ONCE(quota_percent);
}

struct user_namespace *gpid_current_user_ns(void)
{
	return current_user_ns();
}

struct user_namespace *gpid_init_user_ns(void)
{
	return &init_user_ns;
}

struct user_namespace *gpid_user_ns_parent(const struct user_namespace *ns)
{
	return ns->parent;
}

u32 gpid_user_ns_owner(const struct user_namespace *ns)
{
	return __kuid_val(ns->owner);
}

struct task_struct *gpid_current(void)
{
	return current;
}

void gpid_rcu_read_lock(void)
{
	rcu_read_lock();
}

void gpid_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

struct pid *gpid_get_pid(struct pid *pid)
{
	return get_pid(pid);
}

unsigned int gpid_pid_level(const struct pid *pid)
{
	return pid->level;
}

struct pid_namespace *gpid_ns_of_pid(struct pid *pid)
{
	return ns_of_pid(pid);
}

bool gpid_pid_has_task(struct pid *pid, enum pid_type type)
{
	return pid_has_task(pid, type);
}

struct pid_namespace *gpid_get_pid_ns(struct pid_namespace *ns)
{
	return get_pid_ns(ns);
}

unsigned int gpid_pid_ns_level(const struct pid_namespace *ns)
{
	return ns->level;
}

struct pid_namespace *gpid_pid_ns_parent(const struct pid_namespace *ns)
{
	return ns->parent;
}

unsigned int gpid_pid_ns_inum(const struct pid_namespace *ns)
{
	return ns->ns.inum;
}

struct user_namespace *gpid_pid_ns_user_ns(const struct pid_namespace *ns)
{
	return ns->user_ns;
}

/*
 * Zero once the namespace's init has died and every PID in it was freed; PIDNS_ADDING is
 * cleared at that death, so zero is final: no task can enter the namespace again.
 */
bool gpid_pid_ns_is_live(const struct pid_namespace *ns)
{
	return READ_ONCE(ns->pid_allocated) != 0;
}

/* The calling thread's TID in its own namespace: what the kernel's robust walk compares. */
pid_t gpid_current_vtid(void)
{
	return task_pid_vnr(current);
}

/* current->robust_list: task_struct's bindgen layout is not trusted (see layout.c). */
void __user *gpid_current_robust_list(void)
{
	return (void __user *)current->futex.robust_list;
}

/* 0 on success with *found = the value seen; -EFAULT when the page is not there now. */
int gpid_futex_cmpxchg_nofault(u32 __user *uaddr, u32 old, u32 new, u32 *found)
{
	int ret;

	pagefault_disable();
	ret = futex_atomic_cmpxchg_inatomic(found, uaddr, old, new);
	pagefault_enable();
	return ret;
}

void gpid_init_irq_work(struct irq_work *work, void (*fn)(struct irq_work *))
{
	init_irq_work(work, fn);
}

void gpid_init_work(struct work_struct *work, work_func_t fn)
{
	INIT_WORK(work, fn);
}

bool gpid_schedule_work(struct work_struct *work)
{
	return schedule_work(work);
}

/* A counted reference (mm_users) to the current task's mm, or NULL. Safe in NMI context. */
struct mm_struct *gpid_current_mm_get(void)
{
	struct mm_struct *mm = current->mm;

	return (mm && mmget_not_zero(mm)) ? mm : NULL;
}

/*
 * Pins the page holding @addr in @mm, faulting it in for writing, and maps it; returns the
 * kernel address of @addr, or NULL. Sleeps. Undo with gpid_user_page_unmap().
 */
/*
 * Maps the page holding @addr, faulting it in for writing only when @write: a read must not
 * fail on a read-only list page the kernel's own walk reads, break copy-on-write, or dirty a
 * shared file page (page_mkwrite, an mtime update).
 */
void *gpid_user_page_map(struct mm_struct *mm, unsigned long addr, bool write, struct page **pagep)
{
	long pinned;

	mmap_read_lock(mm);
	pinned = get_user_pages_remote(mm, addr & PAGE_MASK, 1, write ? FOLL_WRITE : 0, pagep, NULL);
	mmap_read_unlock(mm);
	if (pinned != 1)
		return NULL;
	return kmap_local_page(*pagep) + offset_in_page(addr);
}

void gpid_user_page_unmap(void *kaddr, struct page *page, bool dirty)
{
	kunmap_local(kaddr);
	if (dirty)
		set_page_dirty_lock(page);
	put_page(page);
}

struct ipc_namespace *gpid_current_ipc_ns(void)
{
	return current->nsproxy->ipc_ns;
}

struct user_namespace *gpid_ipc_ns_user_ns(const struct ipc_namespace *ns)
{
	return ns->user_ns;
}

/* ipc/util.h (private): IPC_SEM_IDS 0, IPC_MSG_IDS 1, IPC_SHM_IDS 2. */
#define GPID_IPC_MSG_IDS 1

/*
 * The live message queue @id of @ns, or NULL. Caller holds rcu_read_lock(). The index is
 * the low 15 bits of @id, or 24 with the ipcmni_extend boot option (ipc_mni_shift is not
 * exported); the queue's full id must match either way.
 */
struct kern_ipc_perm *gpid_msq_find(struct ipc_namespace *ns, int id)
{
	static const int shifts[] = { 15, 24 };
	struct kern_ipc_perm *perm;
	int i;

	if (id < 0)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(shifts); i++) {
		perm = idr_find(&ns->ids[GPID_IPC_MSG_IDS].ipcs_idr, id & ((1 << shifts[i]) - 1));
		if (perm && perm->id == id && !READ_ONCE(perm->deleted))
			return perm;
	}
	return NULL;
}

/* The fields ipcperms() decides with, as raw global kuid/kgid values. */
void gpid_ipc_perm_fields(const struct kern_ipc_perm *perm, u32 *uid, u32 *gid, u32 *cuid,
			  u32 *cgid, u32 *mode)
{
	*uid = __kuid_val(perm->uid);
	*gid = __kgid_val(perm->gid);
	*cuid = __kuid_val(perm->cuid);
	*cgid = __kgid_val(perm->cgid);
	*mode = perm->mode;
}

u32 gpid_current_euid(void)
{
	return __kuid_val(current_euid());
}

bool gpid_current_in_group(u32 gid)
{
	return in_group_p(KGIDT_INIT(gid));
}

struct kretprobe *gpid_kretprobe_of(struct kretprobe_instance *ri)
{
	return get_kretprobe(ri);
}

int gpid_ipc_perm_id(const struct kern_ipc_perm *perm)
{
	return perm->id;
}

/*
 * struct msg_queue, private to ipc/msg.c: Kbuild copies its definition out of the source the
 * kernel was built from. Only the fields msgctl(IPC_STAT) reports are read, under the queue
 * lock as msgctl_stat() reads them (ipc_lock_object() is spin_lock(&perm->lock)).
 */
#include "msg_queue_generated.h"

/*
 * The kernel's record of @perm's queue's last operations: counted references to the last
 * sender and receiver (NULL for none yet) and the times of the last send and receive
 * (seconds). False, taking nothing, when the queue was removed meanwhile. Caller holds RCU.
 */
bool gpid_msq_record(struct kern_ipc_perm *perm, struct pid **lspid, struct pid **lrpid,
		     s64 *stime, s64 *rtime)
{
	struct msg_queue *msq = container_of(perm, struct msg_queue, q_perm);
	bool live;

	spin_lock(&perm->lock);
	live = !perm->deleted;
	if (live) {
		*lspid = get_pid(msq->q_lspid);
		*lrpid = get_pid(msq->q_lrpid);
		*stime = msq->q_stime;
		*rtime = msq->q_rtime;
	}
	spin_unlock(&perm->lock);
	return live;
}

/*
 * Whether @pid is @perm's last receiver. With @lock, under the queue lock, which is then kept
 * when the answer is yes (and the queue not removed): gpid_msq_unlock() releases it.
 * Without, one racy load. RCU held.
 */
bool gpid_msq_last_receiver_is(struct kern_ipc_perm *perm, const struct pid *pid, bool lock)
{
	struct msg_queue *msq = container_of(perm, struct msg_queue, q_perm);

	if (!lock)
		return READ_ONCE(msq->q_lrpid) == pid;
	spin_lock(&perm->lock);
	if (!perm->deleted && msq->q_lrpid == pid)
		return true;
	spin_unlock(&perm->lock);
	return false;
}

void gpid_msq_unlock(struct kern_ipc_perm *perm)
{
	spin_unlock(&perm->lock);
}

/* The live queue of @ns at index *@idx or the next one up (updating *@idx), or NULL. RCU held. */
struct kern_ipc_perm *gpid_msq_next(struct ipc_namespace *ns, int *idx)
{
	struct kern_ipc_perm *perm;

	while ((perm = idr_get_next(&ns->ids[GPID_IPC_MSG_IDS].ipcs_idr, idx))) {
		if (!READ_ONCE(perm->deleted))
			return perm;
		++*idx;
	}
	return NULL;
}

/* Whether @ns has any message queue (a racy hint). */
bool gpid_ipc_ns_has_msq(const struct ipc_namespace *ns)
{
	return READ_ONCE(ns->ids[GPID_IPC_MSG_IDS].in_use) > 0;
}

struct gpid_ipc_ns_walk {
	void (*fn)(struct ipc_namespace *ns, void *arg);
	void *arg;
};

static void gpid_ipc_ns_of_sb(struct super_block *sb, void *data)
{
	struct gpid_ipc_ns_walk *w = data;
	struct ipc_namespace *ns;

	rcu_read_lock();
	ns = READ_ONCE(sb->s_fs_info);
	if (ns)
		w->fn(ns, w->arg);
	rcu_read_unlock();
}

/*
 * Calls @fn(ns, @arg) under RCU for every live IPC namespace. Each has its own mqueue
 * superblock whose s_fs_info is the namespace until its last reference goes
 * (mq_clear_sbinfo()); the namespace is freed an RCU grace period after that (free_ipc()).
 * Sleeps (the superblock walk takes s_umount).
 */
int gpid_for_each_ipc_ns(void (*fn)(struct ipc_namespace *ns, void *arg), void *arg)
{
	struct gpid_ipc_ns_walk w = { .fn = fn, .arg = arg };
	struct file_system_type *mqueue = get_fs_type("mqueue");

	if (!mqueue)
		return -ENOENT;
	iterate_supers_type(mqueue, gpid_ipc_ns_of_sb, &w);
	module_put(mqueue->owner);	/* put_filesystem(), which is not exported */
	return 0;
}

/*
 * The exiting current task's pid when it is not its thread group's leader and something
 * besides the task holds that pid (a message queue's q_lrpid would), else NULL.
 */
struct pid *gpid_exiting_thread_held_pid(void)
{
	struct pid *pid = task_pid(current);

	if (thread_group_leader(current) || refcount_read(&pid->count) <= 1)
		return NULL;
	return pid;
}

void gpid_sockfd_put(struct socket *sock)
{
	sockfd_put(sock);
}

/*
 * The peer identity of a socket as SO_PEERCRED reads it (net/core/sock.c): under
 * sk_peer_lock, a counted reference to sk_peer_pid (NULL when the socket holds none) and the
 * effective ids of sk_peer_cred mapped into the caller's user namespace ((u32)-1 without
 * credentials, as cred_to_ucred).
 */
struct pid *gpid_sock_peer(struct socket *sock, u32 *uid, u32 *gid)
{
	struct sock *sk = sock->sk;
	const struct cred *cred;
	struct pid *pid;

	*uid = *gid = (u32)-1;
	spin_lock(&sk->sk_peer_lock);
	pid = get_pid(sk->sk_peer_pid);
	cred = sk->sk_peer_cred;
	if (cred) {
		struct user_namespace *ns = current_user_ns();

		*uid = from_kuid_munged(ns, cred->euid);
		*gid = from_kgid_munged(ns, cred->egid);
	}
	spin_unlock(&sk->sk_peer_lock);
	return pid;
}

/*
 * pidfd_get_pid() is not exported. A pidfd is a file on the pidfs pseudo filesystem (an
 * internal mount, never reachable by path), whose inode holds a counted reference to the
 * struct pid in i_private for its whole life (fs/pidfs.c); its root directory is the only
 * other inode there. Returns a counted reference, or ERR_PTR(-EBADF) as pidfd_get_pid().
 */
struct pid *gpid_pidfd_get_pid(int fd)
{
	struct file *file = fget(fd);
	struct inode *inode;
	struct pid *pid = ERR_PTR(-EBADF);

	if (!file)
		return pid;
	inode = file_inode(file);
	if (inode->i_sb->s_magic == PID_FS_MAGIC && !S_ISDIR(inode->i_mode) && inode->i_private)
		pid = get_pid(inode->i_private);
	fput(file);
	return pid;
}

/* ---- signals (rust/kernel_ext/signal.rs) ---------------------------------------------- */

struct gpid_tp_lookup {
	const char *name;
	struct tracepoint *tp;
};

static void gpid_tp_match(struct tracepoint *tp, void *priv)
{
	struct gpid_tp_lookup *l = priv;

	if (!strcmp(tp->name, l->name))
		l->tp = tp;
}

/* A core-kernel tracepoint by name (tracepoints are not symbols a module can link to). */
struct tracepoint *gpid_find_tracepoint(const char *name)
{
	struct gpid_tp_lookup l = { .name = name };

	for_each_kernel_tracepoint(gpid_tp_match, &l);
	return l.tp;
}

void gpid_tracepoint_synchronize_unregister(void)
{
	tracepoint_synchronize_unregister();
}

/*
 * The send in progress on this CPU (set with preemption disabled around one send, so only
 * the sending task, in task context, can see it).
 */
static DEFINE_PER_CPU(const struct gpid_send_slot *, gpid_send_slot);

/* Task context only (an interrupt on this CPU during the send must not see the slot). */
const struct gpid_send_slot *gpid_current_send_slot(void)
{
	return this_cpu_read(gpid_send_slot);
}

bool gpid_in_task(void)
{
	return in_task();
}

/*
 * check_kill_permission() (kernel/signal.c, static) without its audit and LSM calls, for the
 * task @pid names now: -ESRCH without one, -EPERM when denied, GPID_KILL_BY_UID when the
 * sender's real or effective UID matches the target's real or saved UID (kill_ok_by_cred's
 * UID rule, which kill_pid_usb_asyncio() also checks), GPID_KILL_BY_PRIVILEGE when only
 * another rule allows it (same thread group, CAP_KILL in the target's user namespace, SIGCONT
 * within the session).
 */
int gpid_kill_permission(struct pid *pid, int sig)
{
	const struct cred *cred = current_cred(), *tcred;
	struct task_struct *t;
	int ret = -ESRCH;

	rcu_read_lock();
	t = pid_task(pid, PIDTYPE_PID);
	if (!t)
		goto out;
	tcred = __task_cred(t);
	if (uid_eq(cred->euid, tcred->suid) || uid_eq(cred->euid, tcred->uid) ||
	    uid_eq(cred->uid, tcred->suid) || uid_eq(cred->uid, tcred->uid))
		ret = GPID_KILL_BY_UID;
	else if (same_thread_group(current, t) || ns_capable(tcred->user_ns, CAP_KILL))
		ret = GPID_KILL_BY_PRIVILEGE;
	else if (sig == SIGCONT && (!task_session(t) || task_session(t) == task_session(current)))
		ret = GPID_KILL_BY_PRIVILEGE;
	else
		ret = -EPERM;
out:
	rcu_read_unlock();
	return ret;
}

/*
 * A copy of the caller's credentials (same LSM subject) whose real UID is that of the task
 * @pid names, for kill_pid_usb_asyncio()'s UID check once gpid_kill_permission() allowed the
 * send on other grounds. Never committed; NULL when out of memory or the task is gone.
 */
const struct cred *gpid_cred_with_uid_of(struct pid *pid)
{
	struct cred *new = prepare_creds();
	struct task_struct *t;

	if (!new)
		return NULL;
	rcu_read_lock();
	t = pid_task(pid, PIDTYPE_PID);
	if (t)
		new->uid = __task_cred(t)->uid;
	rcu_read_unlock();
	if (!t) {
		abort_creds(new);
		return NULL;
	}
	return new;
}

void gpid_put_cred(const struct cred *cred)
{
	put_cred(cred);
}

/*
 * Queues @sig to the process of the task @pid names, as sigqueue(3) does (shared pending
 * queue, RLIMIT_SIGPENDING, EAGAIN), through kill_pid_usb_asyncio(): the one exported path
 * that queues a caller-built siginfo group-wide and asks the LSM (security_task_kill). It
 * queues si_code SI_ASYNCIO with @token in the si_pid/si_uid bytes; the signal_generate probe
 * recognises it by @slot and rewrites it to SI_QUEUE under the target's siglock, before any
 * receiver can dequeue it. @cred: the sender's credentials for the UID check (NULL: the
 * caller's own).
 */
int gpid_send_group(int sig, struct pid *pid, const struct cred *cred, u64 token,
		    const struct gpid_send_slot *slot)
{
	sigval_t v = { .sival_ptr = (void __user *)(unsigned long)token };
	int ret;

	preempt_disable();
	this_cpu_write(gpid_send_slot, slot);
	ret = kill_pid_usb_asyncio(sig, 0, v, pid, cred ? cred : current_cred());
	this_cpu_write(gpid_send_slot, NULL);
	preempt_enable();
	return ret;
}

/*
 * Queues @sig with @value to the thread @pid names, as rt_tgsigqueueinfo(2) does after its
 * permission check: send_sig_info() (thread-directed, RLIMIT_SIGPENDING, EAGAIN, si_uid mapped
 * into the target's user namespace, si_pid zeroed and init protection lifted for a sender in
 * an ancestor namespace, exactly as send_signal_locked() does for every sender).
 */
int gpid_send_thread(int sig, struct pid *pid, u64 value, const struct gpid_send_slot *slot)
{
	struct kernel_siginfo info;
	struct task_struct *t;
	int ret = -ESRCH;

	rcu_read_lock();
	t = pid_task(pid, PIDTYPE_PID);
	if (t)
		get_task_struct(t);
	rcu_read_unlock();
	if (!t)
		return ret;
	clear_siginfo(&info);
	info.si_signo = sig;
	info.si_errno = 0;
	info.si_code = SI_QUEUE;
	info.si_pid = task_tgid_nr_ns(current, task_active_pid_ns(t));
	info.si_uid = from_kuid_munged(current_user_ns(), current_uid());
	info.si_ptr = (void __user *)(unsigned long)value;
	preempt_disable();
	this_cpu_write(gpid_send_slot, slot);
	ret = send_sig_info(sig, &info, t);
	this_cpu_write(gpid_send_slot, NULL);
	preempt_enable();
	put_task_struct(t);
	return ret;
}

/* kill_pid(): the kernel's own kill(2) path (permission, LSM, init protection, SI_USER). */
int gpid_kill_pid(struct pid *pid, int sig)
{
	return kill_pid(pid, sig, 0);
}

bool gpid_siginfo_is_special(const struct kernel_siginfo *info)
{
	return info <= SEND_SIG_PRIV;
}

int gpid_siginfo_code(const struct kernel_siginfo *info)
{
	return info->si_code;
}

/* The sigqueue token gpid_send_group() hid in the si_pid/si_uid bytes. */
u64 gpid_siginfo_token(const struct kernel_siginfo *info)
{
	return (unsigned long)((sigval_t *)&info->si_pid)->sival_ptr;
}

/*
 * The siginfo of the entry __send_signal_locked() just appended to @t's pending queue, when
 * it is a copy of @info. Called from the signal_generate probe: @t's siglock is held.
 */
struct kernel_siginfo *gpid_queued_siginfo(struct task_struct *t, bool group,
					   const struct kernel_siginfo *info)
{
	struct sigpending *pending = group ? &t->signal->shared_pending : &t->pending;
	struct sigqueue *q;

	lockdep_assert_held(&t->sighand->siglock);
	if (list_empty(&pending->list))
		return NULL;
	q = list_last_entry(&pending->list, struct sigqueue, list);
	return memcmp(&q->info, info, sizeof(*info)) ? NULL : &q->info;
}

/* Makes @info what sigqueue(3) from the current task to @t would have queued. */
void gpid_siginfo_make_queue(struct kernel_siginfo *info, struct task_struct *t, u64 value)
{
	int sig = info->si_signo;

	clear_siginfo(info);
	info->si_signo = sig;
	info->si_errno = 0;
	info->si_code = SI_QUEUE;
	info->si_pid = task_tgid_nr_ns(current, task_active_pid_ns(t));
	info->si_uid = from_kuid_munged(task_cred_xxx(t, user_ns), current_uid());
	info->si_ptr = (void __user *)(unsigned long)value;
}

bool gpid_task_is_kthread(const struct task_struct *t)
{
	return t->flags & PF_KTHREAD;
}

/* Whether the current syscall is a 32-bit task's (robust lists: compat_robust_list). */
bool gpid_in_compat_syscall(void)
{
	return in_compat_syscall();
}

bool gpid_security_enabled(void)
{
	return IS_ENABLED(CONFIG_SECURITY);
}

unsigned long gpid_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void gpid_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

/* task_pid()/task_tgid() of current, without a reference: pinned by the running task. */
struct pid *gpid_current_pid_ref(enum pid_type type)
{
	return type == PIDTYPE_TGID ? task_tgid(current) : task_pid(current);
}
