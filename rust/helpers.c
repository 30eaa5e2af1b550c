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

#include "helpers.h"

static unsigned int pid_bits = 22;
module_param(pid_bits, uint, 0444);
MODULE_PARM_DESC(pid_bits, "Low bits of a gpid that hold the namespace-local PID (16..29, default 22)");

unsigned int gpid_param_pid_bits(void)
{
	return pid_bits;
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
	return (void __user *)current->robust_list;
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
void *gpid_user_page_map(struct mm_struct *mm, unsigned long addr, struct page **pagep)
{
	long pinned;

	mmap_read_lock(mm);
	pinned = get_user_pages_remote(mm, addr & PAGE_MASK, 1, FOLL_WRITE, pagep, NULL);
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

/*
 * The live message queue @id of @ns, or NULL. Caller holds rcu_read_lock(). The index is
 * the low 15 bits of @id, or 24 with the ipcmni_extend boot option (ipc_mni_shift is not
 * exported); the queue's full id must match either way.
 */
struct kern_ipc_perm *gpid_msq_find(struct ipc_namespace *ns, int id)
{
	/* ipc/util.h (private): IPC_SEM_IDS 0, IPC_MSG_IDS 1, IPC_SHM_IDS 2. */
	const int msg_ids = 1;
	static const int shifts[] = { 15, 24 };
	struct kern_ipc_perm *perm;
	int i;

	if (id < 0)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(shifts); i++) {
		perm = idr_find(&ns->ids[msg_ids].ipcs_idr, id & ((1 << shifts[i]) - 1));
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
