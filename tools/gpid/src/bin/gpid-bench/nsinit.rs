// SPDX-License-Identifier: GPL-2.0

//! Tiny PID-namespace inits, cheap enough to hold thousands of namespaces alive at once.
//!
//! Each init is PID 1 of a new PID namespace, cloned with `CLONE_VM` onto a 16 KiB stack of
//! one mapping of this process (no copy of the address space, so no page tables of its own:
//! a task, a kernel stack and the namespace are what it costs). It runs only raw system calls
//! (no libc, no TLS: it shares this process's memory and its thread pointer) with every signal
//! blocked, sleeping on a futex word of its slot until it is asked to make a thread at a given
//! TID of its namespace: it writes TID - 1 to `/proc/sys/kernel/ns_last_pid` (which acts on
//! the writer's own namespace) and clones a thread that sleeps in `pause()` forever.
//!
//! Killing an init (SIGKILL) kills its namespace; [`Inits`] kills and reaps every init before
//! its mapping goes away, and each init dies with the thread that made it (PR_SET_PDEATHSIG).

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

/// Bytes of the mapping per init: its stack, with its [`Cell`] at the top.
const SLOT: usize = 16 * 1024;

/// What an init and this process share: written by one side, read by the other.
#[repr(C, align(64))]
struct Cell {
    /// Requests posted (futex word the init waits on).
    posted: AtomicU32,
    /// Requests done (futex word this process waits on).
    done: AtomicU32,
    /// The TID wanted for the thread of the last request.
    want: AtomicU32,
    /// The last request's result: the thread's TID in the init's namespace, or -errno.
    result: AtomicI32,
    /// The stack pointer the init's threads get; they never use it (they only loop on
    /// `pause()` with every signal blocked), but clone needs one.
    thread_stack: usize,
}

/// The stack top of an init: 16-byte aligned, just below its cell.
const STACK_TOP: usize = SLOT - std::mem::size_of::<Cell>();

/// Raw x86_64 system calls: the init cannot use libc's wrappers, which set errno in the TLS of
/// the thread whose thread pointer it shares.
mod raw {
    use std::arch::asm;

    /// # Safety
    ///
    /// As for the system call `n` with these arguments.
    #[inline(always)]
    pub(super) unsafe fn syscall4(n: i64, a: usize, b: usize, c: usize, d: usize) -> isize {
        let ret: isize;
        // SAFETY: the caller vouches for the call; the kernel clobbers rcx and r11 only.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n as isize => ret,
                in("rdi") a,
                in("rsi") b,
                in("rdx") c,
                in("r10") d,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack)
            );
        }
        ret
    }

    /// Clones a thread of the caller with `flags` on `stack` that loops on `pause()` forever
    /// without leaving this asm block (so it runs no Rust code); returns its TID or -errno.
    ///
    /// # Safety
    ///
    /// `flags` must make a thread (CLONE_VM | CLONE_THREAD ...), the caller's signals must all
    /// be blocked, and `stack` must be a valid 16-byte aligned address.
    #[inline(always)]
    pub(super) unsafe fn clone_pausing_thread(flags: usize, stack: usize) -> isize {
        const _: () = assert!(libc::SYS_pause == 34);
        let ret: isize;
        // SAFETY: the new thread never leaves the loop; the caller returns with its TID.
        unsafe {
            asm!(
                "syscall",
                "test rax, rax",
                "jnz 3f",
                "2:",
                "mov eax, 34",
                "syscall",
                "jmp 2b",
                "3:",
                inlateout("rax") libc::SYS_clone as isize => ret,
                in("rdi") flags,
                in("rsi") stack,
                in("rdx") 0usize,
                in("r10") 0usize,
                in("r8") 0usize,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack)
            );
        }
        ret
    }
}

/// The init's whole life: raw system calls on its own stack, nothing else.
extern "C" fn init_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is this init's cell, which outlives it (the mapping is unmapped only after
    // every init is reaped).
    let cell = unsafe { &*arg.cast::<Cell>() };
    // SAFETY: plain system calls.
    unsafe {
        raw::syscall4(
            libc::SYS_prctl,
            libc::PR_SET_PDEATHSIG as usize,
            libc::SIGKILL as usize,
            0,
            0,
        );
    }
    let mut done = 0u32;
    loop {
        while cell.posted.load(Ordering::Acquire) == done {
            // SAFETY: a futex word of the shared mapping; private: the mm is shared.
            unsafe {
                raw::syscall4(
                    libc::SYS_futex,
                    (&cell.posted as *const AtomicU32) as usize,
                    (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as usize,
                    done as usize,
                    0,
                );
            }
        }
        let r = make_thread(cell);
        cell.result.store(r, Ordering::Relaxed);
        done = done.wrapping_add(1);
        cell.done.store(done, Ordering::Release);
        // SAFETY: as above.
        unsafe {
            raw::syscall4(
                libc::SYS_futex,
                (&cell.done as *const AtomicU32) as usize,
                (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as usize,
                1,
                0,
            );
        }
    }
}

/// In the init: a thread at TID `cell.want` of its namespace. Its TID there, or -errno.
fn make_thread(cell: &Cell) -> i32 {
    let want = cell.want.load(Ordering::Relaxed);
    // ns_last_pid = want - 1, in decimal (at most 10 digits).
    let mut text = [0u8; 16];
    let mut at = text.len();
    let mut n = want.wrapping_sub(1);
    loop {
        at -= 1;
        text[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // SAFETY: a NUL-terminated path, a buffer of `len - at` bytes, our own fd.
    unsafe {
        let fd = raw::syscall4(
            libc::SYS_open,
            c"/proc/sys/kernel/ns_last_pid".as_ptr() as usize,
            (libc::O_WRONLY | libc::O_CLOEXEC) as usize,
            0,
            0,
        );
        if fd < 0 {
            return fd as i32;
        }
        let w = raw::syscall4(
            libc::SYS_write,
            fd as usize,
            text.as_ptr() as usize + at,
            text.len() - at,
            0,
        );
        raw::syscall4(libc::SYS_close, fd as usize, 0, 0, 0);
        if w < 0 {
            return w as i32;
        }
        let flags = libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM;
        raw::clone_pausing_thread(flags as usize, cell.thread_stack) as i32
    }
}

/// Inits of new PID namespaces, each asleep until killed; see the module's text.
pub(super) struct Inits {
    region: *mut u8,
    capacity: usize,
    pids: Vec<libc::pid_t>,
}

impl Inits {
    /// Room for `capacity` inits (16 KiB of address space each, one page of it touched).
    pub(super) fn new(capacity: usize) -> io::Result<Self> {
        // SAFETY: a fresh anonymous mapping, unmapped in drop after every init is reaped.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                capacity.max(1) * SLOT,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            region: p.cast(),
            capacity: capacity.max(1),
            pids: Vec::new(),
        })
    }

    fn slot(&self, i: usize) -> *mut u8 {
        assert!(i < self.capacity);
        // SAFETY: inside the mapping.
        unsafe { self.region.add(i * SLOT) }
    }

    fn cell(&self, i: usize) -> &Cell {
        // SAFETY: slot i's cell, inside the mapping, aligned (SLOT and the cell's offset are
        // multiples of 64); zero-filled is a valid Cell.
        unsafe { &*self.slot(i).add(STACK_TOP).cast::<Cell>() }
    }

    /// A new init: PID 1 of a new PID namespace, whose PID here this returns.
    pub(super) fn spawn(&mut self) -> io::Result<libc::pid_t> {
        let i = self.pids.len();
        if i == self.capacity {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        let slot = self.slot(i);
        // SAFETY: the cell is not shared yet: no init runs on this slot.
        unsafe {
            slot.add(STACK_TOP).cast::<Cell>().write(Cell {
                posted: AtomicU32::new(0),
                done: AtomicU32::new(0),
                want: AtomicU32::new(0),
                result: AtomicI32::new(0),
                thread_stack: slot as usize + SLOT / 2,
            });
        }
        // The init starts with every signal blocked (it would otherwise run this process's
        // handlers on its stack); SIGKILL cannot be.
        // SAFETY: sigset operations on locals; the clone gets a stack of the mapping, a
        // function that makes raw system calls only, and its cell.
        let r = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            let r = libc::clone(
                init_main,
                slot.add(STACK_TOP).cast(),
                libc::CLONE_VM | libc::CLONE_NEWPID | libc::SIGCHLD,
                slot.add(STACK_TOP).cast(),
                std::ptr::null_mut::<libc::pid_t>(),
                std::ptr::null_mut::<libc::c_void>(),
                std::ptr::null_mut::<libc::pid_t>(),
            );
            let e = io::Error::last_os_error();
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            if r < 0 {
                return Err(e);
            }
            r
        };
        self.pids.push(r);
        Ok(r)
    }

    /// The inits' PIDs here, in order of creation.
    pub(super) fn pids(&self) -> &[libc::pid_t] {
        &self.pids
    }

    /// Asks init `i` for a thread at TID `tid` of its namespace; [`wait`](Self::wait) gives
    /// the answer. One request at a time per init.
    pub(super) fn post_thread(&self, i: usize, tid: u32) {
        let cell = self.cell(i);
        cell.want.store(tid, Ordering::Relaxed);
        cell.posted.fetch_add(1, Ordering::Release);
        // SAFETY: a futex word of the mapping.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                &cell.posted as *const AtomicU32,
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    /// The answer to init `i`'s request: the new thread's TID in its namespace (the TID asked
    /// for, unless the kernel chose otherwise), or the errno. `ETIMEDOUT` after 30 s.
    pub(super) fn wait(&self, i: usize) -> io::Result<u32> {
        let cell = self.cell(i);
        let posted = cell.posted.load(Ordering::Relaxed);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let done = cell.done.load(Ordering::Acquire);
            if done == posted {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
            }
            let ts = libc::timespec {
                tv_sec: 1,
                tv_nsec: 0,
            };
            // SAFETY: a futex word of the mapping and a valid timeout.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    &cell.done as *const AtomicU32,
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    done,
                    &ts as *const libc::timespec,
                );
            }
        }
        match cell.result.load(Ordering::Relaxed) {
            r if r < 0 => Err(io::Error::from_raw_os_error(-r)),
            r => Ok(r as u32),
        }
    }

    /// Kills every init (and so its namespace) and reaps it.
    pub(super) fn kill_all(&mut self) {
        for &pid in &self.pids {
            // SAFETY: our own children, not yet reaped, so the PIDs cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for pid in self.pids.drain(..) {
            // SAFETY: reaps our own child.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        }
    }
}

impl Drop for Inits {
    fn drop(&mut self) {
        self.kill_all();
        // SAFETY: our mapping; no init runs on it any more.
        unsafe { libc::munmap(self.region.cast(), self.capacity * SLOT) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inits on the host, where this test may make PID namespaces (root); skipped where it
    /// may not.
    #[test]
    fn inits_are_pid_1_and_make_threads_at_the_tids_asked() {
        let mut inits = Inits::new(3).unwrap();
        match inits.spawn() {
            Ok(_) => {}
            Err(e) => {
                eprintln!("skipped: clone(CLONE_NEWPID): {e}");
                return;
            }
        }
        inits.spawn().unwrap();
        inits.spawn().unwrap();
        assert_eq!(
            inits.spawn().unwrap_err().raw_os_error(),
            Some(libc::ENOSPC)
        );
        let pids = inits.pids().to_vec();
        let nspid = |path: String| {
            let s = std::fs::read_to_string(path).unwrap();
            let line = s.lines().find_map(|l| l.strip_prefix("NSpid:")).unwrap();
            line.split_whitespace()
                .last()
                .unwrap()
                .parse::<u32>()
                .unwrap()
        };
        let ns = |pid: libc::pid_t| std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
        for &pid in &pids {
            assert_eq!(nspid(format!("/proc/{pid}/status")), 1);
        }
        assert_ne!(ns(pids[0]), ns(pids[1]));
        inits.post_thread(0, 65535);
        inits.post_thread(1, 300);
        assert_eq!(inits.wait(0).unwrap(), 65535);
        assert_eq!(inits.wait(1).unwrap(), 300);
        inits.post_thread(0, 4_194_303);
        assert_eq!(inits.wait(0).unwrap(), 4_194_303);
        // A TID taken already: the kernel gives the next free one instead.
        inits.post_thread(1, 300);
        assert_eq!(inits.wait(1).unwrap(), 301);
        let mut tids: Vec<u32> = std::fs::read_dir(format!("/proc/{}/task", pids[0]))
            .unwrap()
            .map(|e| {
                let tid = e.unwrap().file_name().into_string().unwrap();
                nspid(format!("/proc/{}/task/{tid}/status", pids[0]))
            })
            .collect();
        tids.sort_unstable();
        assert_eq!(tids, [1, 65535, 4_194_303]);
        inits.kill_all();
        for pid in pids {
            assert!(std::fs::metadata(format!("/proc/{pid}")).is_err());
        }
    }
}
