//! Host tests: without the module the owner value is the plain TID, which the stock kernel's
//! robust walk already handles, so the whole protocol (list surgery, pending, EOWNERDEAD) can
//! be checked against the real kernel and glibc.

use super::*;
use std::ptr;
use std::time::{Duration, Instant};

/// A mutex in MAP_SHARED anonymous memory, shared with fork children.
struct Shared(*mut RawMutex, usize);

impl Shared {
    fn new(n: usize) -> Self {
        let len = n * core::mem::size_of::<RawMutex>();
        // SAFETY: a fresh anonymous mapping.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        Self(p.cast(), n)
    }
    fn get(&self, i: usize) -> &RawMutex {
        assert!(i < self.1);
        // SAFETY: in bounds of the mapping, zero-filled = a valid normal mutex.
        unsafe { &*self.0.add(i) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: our own mapping.
        unsafe { libc::munmap(self.0.cast(), self.1 * core::mem::size_of::<RawMutex>()) };
    }
}

/// Runs `f` in a fork child that exits with its return value; returns the exit status.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    owner_value().unwrap();
    // SAFETY: the child only runs `f` and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = f();
        // SAFETY: ends the child without running the test harness' atexit code.
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    // SAFETY: our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    st
}

fn in_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().unwrap()
}

fn lock(m: &RawMutex) -> Result<Acquired, Errno> {
    // SAFETY: the test mutexes stay mapped for the whole test.
    unsafe { m.lock(Deadline::Never) }
}

fn trylock(m: &RawMutex) -> Result<Acquired, Errno> {
    // SAFETY: as `lock`.
    unsafe { m.lock(Deadline::NoWait) }
}

fn in_ms(ms: i64) -> Deadline {
    let mut t = sys::clock_now(libc::CLOCK_MONOTONIC).unwrap();
    t.tv_nsec += ms * 1_000_000;
    t.tv_sec += t.tv_nsec / NSEC_PER_SEC;
    t.tv_nsec %= NSEC_PER_SEC;
    Deadline::At(libc::CLOCK_MONOTONIC, t)
}

#[test]
fn lock_unlock_and_word() {
    let s = Shared::new(1);
    let m = s.get(0);
    let me = owner_value().unwrap();
    assert_eq!(lock(m), Ok(Acquired::Locked));
    assert_eq!(m.word().load(Ordering::Relaxed), me);
    assert_eq!(m.destroy(), Err(libc::EBUSY));
    assert_eq!(m.unlock(), Ok(()));
    assert_eq!(m.word().load(Ordering::Relaxed), 0);
    assert_eq!(m.unlock(), Err(libc::EPERM));
    assert_eq!(m.destroy(), Ok(()));
}

#[test]
fn kinds() {
    let s = Shared::new(3);
    let (n, e, r) = (s.get(0), s.get(1), s.get(2));
    n.init(Kind::Normal as u32).unwrap();
    e.init(Kind::ErrorCheck as u32).unwrap();
    r.init(Kind::Recursive as u32).unwrap();
    assert_eq!(lock(n), Ok(Acquired::Locked));
    assert_eq!(trylock(n), Err(libc::EBUSY));
    // SAFETY: as `lock`.
    assert_eq!(unsafe { n.lock(in_ms(20)) }, Err(libc::ETIMEDOUT));
    assert_eq!(lock(e), Ok(Acquired::Locked));
    assert_eq!(lock(e), Err(libc::EDEADLK));
    assert_eq!(trylock(e), Err(libc::EDEADLK));
    for _ in 0..3 {
        assert_eq!(lock(r), Ok(Acquired::Locked));
    }
    assert_eq!(trylock(r), Ok(Acquired::Locked));
    for _ in 0..4 {
        assert_eq!(r.unlock(), Ok(()));
    }
    assert_eq!(r.unlock(), Err(libc::EPERM));
    assert_eq!(e.unlock(), Ok(()));
    assert_eq!(n.unlock(), Ok(()));
    assert_eq!(n.init(7), Err(libc::EINVAL));
    assert_eq!(n.init(PRIO_INHERIT), Err(libc::ENOTSUP));
}

#[test]
fn other_thread_is_not_owner() {
    let s = Shared::new(1);
    let m = s.get(0);
    m.init(Kind::ErrorCheck as u32).unwrap();
    assert_eq!(lock(m), Ok(Acquired::Locked));
    let addr = m as *const RawMutex as usize;
    let (t, u, c) = in_thread(move || {
        // SAFETY: the mapping outlives the thread.
        let m = unsafe { &*(addr as *const RawMutex) };
        (trylock(m), m.unlock(), m.consistent())
    });
    assert_eq!(
        (t, u, c),
        (Err(libc::EBUSY), Err(libc::EPERM), Err(libc::EPERM))
    );
    assert_eq!(m.consistent(), Err(libc::EINVAL));
    m.unlock().unwrap();
}

#[test]
fn bad_deadline() {
    let s = Shared::new(1);
    let m = s.get(0);
    lock(m).unwrap();
    let bad = Deadline::At(
        libc::CLOCK_REALTIME,
        timespec {
            tv_sec: 0,
            tv_nsec: NSEC_PER_SEC,
        },
    );
    let addr = m as *const RawMutex as usize;
    let r = in_thread(move || {
        // SAFETY: the mapping outlives the thread.
        let m = unsafe { &*(addr as *const RawMutex) };
        // SAFETY: as `lock`.
        let past = Deadline::At(
            libc::CLOCK_REALTIME,
            timespec {
                tv_sec: 1,
                tv_nsec: 0,
            },
        );
        // SAFETY: as `lock`.
        unsafe { (m.lock(bad), m.lock(past)) }
    });
    assert_eq!(r, (Err(libc::EINVAL), Err(libc::ETIMEDOUT)));
    m.unlock().unwrap();
}

#[test]
fn contended_handoff_between_processes() {
    let s = Shared::new(2);
    let (m, counter) = (s.get(0), s.get(1));
    let bump = |m: &RawMutex, c: &RawMutex| {
        for _ in 0..2000 {
            assert_eq!(lock(m), Ok(Acquired::Locked));
            // Non-atomic read-modify-write under the lock.
            let v = c.word().load(Ordering::Relaxed);
            std::hint::spin_loop();
            c.word().store(v + 1, Ordering::Relaxed);
            m.unlock().unwrap();
        }
    };
    owner_value().unwrap();
    // SAFETY: the child only runs the loop and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        bump(m, counter);
        // SAFETY: ends the child.
        unsafe { libc::_exit(0) };
    }
    bump(m, counter);
    let mut st = 0;
    // SAFETY: our child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    assert_eq!(st, 0);
    assert_eq!(counter.word().load(Ordering::Relaxed), 4000);
}

#[test]
fn owner_death_gives_eownerdead_then_notrecoverable() {
    let s = Shared::new(1);
    let m = s.get(0);
    m.init(Kind::ErrorCheck as u32).unwrap();
    assert_eq!(in_child(|| i32::from(lock(m) != Ok(Acquired::Locked))), 0);
    assert_ne!(m.word().load(Ordering::Relaxed) & FUTEX_OWNER_DIED, 0);
    assert_eq!(lock(m), Ok(Acquired::OwnerDied));
    // No consistent(): the unlock makes it unrecoverable for everyone.
    m.unlock().unwrap();
    assert_eq!(lock(m), Err(libc::ENOTRECOVERABLE));
    assert_eq!(trylock(m), Err(libc::ENOTRECOVERABLE));
    m.init(Kind::ErrorCheck as u32).unwrap();
    assert_eq!(in_child(|| i32::from(lock(m) != Ok(Acquired::Locked))), 0);
    assert_eq!(trylock(m), Ok(Acquired::OwnerDied));
    assert_eq!(m.consistent(), Ok(()));
    m.unlock().unwrap();
    assert_eq!(lock(m), Ok(Acquired::Locked));
    m.unlock().unwrap();
}

#[test]
fn waiter_is_woken_by_owner_death() {
    let s = Shared::new(1);
    let m = s.get(0);
    owner_value().unwrap();
    // SAFETY: the child locks, sleeps and is killed.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let _ = lock(m);
        loop {
            // SAFETY: just waits for the kill.
            unsafe { libc::pause() };
        }
    }
    while m.word().load(Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    let t = Instant::now();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        // SAFETY: our child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    assert_eq!(lock(m), Ok(Acquired::OwnerDied));
    assert!(t.elapsed() < Duration::from_secs(1));
    killer.join().unwrap();
    // SAFETY: reap.
    unsafe { libc::waitpid(pid, ptr::null_mut(), 0) };
    m.consistent().unwrap();
    m.unlock().unwrap();
}

/// gpid mutexes and glibc robust mutexes share glibc's list: both kinds, interleaved and
/// unlocked out of order, are all recovered at the owner's death.
#[test]
fn shares_glibc_list() {
    let s = Shared::new(4);
    let pm = Shared::new(4); // room for pthread mutexes (40 bytes each, same size)
    let pthread = |i: usize| pm.get(i) as *const RawMutex as *mut libc::pthread_mutex_t;
    for i in 0..4 {
        // SAFETY: attr and mutex memory are live.
        unsafe {
            let mut a: libc::pthread_mutexattr_t = core::mem::zeroed();
            libc::pthread_mutexattr_init(&mut a);
            libc::pthread_mutexattr_setpshared(&mut a, libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_setrobust(&mut a, libc::PTHREAD_MUTEX_ROBUST);
            assert_eq!(libc::pthread_mutex_init(pthread(i), &a), 0);
        }
    }
    let st = in_child(|| {
        let mut bad = 0;
        for i in 0..4 {
            // SAFETY: live pthread mutex.
            bad += unsafe { libc::pthread_mutex_lock(pthread(i)) };
            bad += i32::from(lock(s.get(i)) != Ok(Acquired::Locked));
        }
        // Unlink from the middle of the list, both kinds.
        bad += i32::from(s.get(1).unlock().is_err());
        // SAFETY: held by us.
        bad += unsafe { libc::pthread_mutex_unlock(pthread(2)) };
        bad += i32::from(lock(s.get(1)) != Ok(Acquired::Locked));
        bad
    });
    assert_eq!(st, 0);
    for i in 0..4 {
        assert_eq!(lock(s.get(i)), Ok(Acquired::OwnerDied), "gpid mutex {i}");
        s.get(i).consistent().unwrap();
        s.get(i).unlock().unwrap();
        // SAFETY: live pthread mutex.
        let r = unsafe { libc::pthread_mutex_lock(pthread(i)) };
        assert_eq!(
            r,
            if i == 2 { 0 } else { libc::EOWNERDEAD },
            "pthread mutex {i}"
        );
        // SAFETY: held by us.
        unsafe {
            libc::pthread_mutex_consistent(pthread(i));
            libc::pthread_mutex_unlock(pthread(i));
        }
    }
}

/// Dying with the mutex only in `list_op_pending` (word taken, not yet linked): the kernel's
/// pending handling recovers it.
#[test]
fn death_while_pending() {
    let s = Shared::new(2);
    let st = in_child(|| {
        let me = owner_value().unwrap();
        raw::set_pending(Some(s.get(0))).unwrap();
        s.get(0).word().store(me, Ordering::Relaxed);
        0
    });
    assert_eq!(st, 0);
    assert_eq!(lock(s.get(0)), Ok(Acquired::OwnerDied));
    s.get(0).consistent().unwrap();
    s.get(0).unlock().unwrap();
    // Death during unlock: unlinked, word still held, pending set.
    let st = in_child(|| {
        let m = s.get(1);
        let bad = i32::from(lock(m) != Ok(Acquired::Locked));
        raw::set_pending(Some(m)).unwrap();
        // SAFETY: linked by the lock above.
        unsafe { raw::dequeue(m) };
        bad
    });
    assert_eq!(st, 0);
    assert_eq!(lock(s.get(1)), Ok(Acquired::OwnerDied));
    s.get(1).unlock().unwrap();
}

#[test]
fn own_head_when_none_registered() {
    // A thread whose runtime registered nothing (musl) gets the library's head.
    let r = in_thread(|| {
        sys::set_robust_list(0, 24).unwrap();
        forget_thread();
        let head = raw::robust_head().unwrap();
        let (kernel_head, _) = sys::get_robust_list().unwrap();
        (head == kernel_head, head == thread::own_head_for_tests())
    });
    assert_eq!(r, (true, true));
}

#[test]
fn foreign_head_is_refused() {
    let r = in_thread(|| {
        let (glibc, _) = sys::get_robust_list().unwrap();
        // SAFETY: glibc's live head: futex_offset is at +8.
        let off = unsafe { &*((glibc + 8) as *const core::sync::atomic::AtomicIsize) };
        off.store(-28, Ordering::Relaxed);
        forget_thread();
        let r = raw::robust_head();
        off.store(thread::FUTEX_OFFSET, Ordering::Relaxed);
        r
    });
    assert_eq!(r, Err(libc::EPROTO));
}

// ---- unlock through the kernel's robust-unlock support ------------------------------------

/// Runs `body` with unlock in this thread using `f` as the vDSO's try-unlock (`None`: as on a
/// kernel without it), whatever the host's kernel has.
fn with_try_unlock<T>(f: Option<vdso::TryUnlock>, body: impl FnOnce() -> T) -> T {
    vdso::TEST_OVERRIDE.with(|o| o.set(Some(f)));
    let r = body();
    vdso::TEST_OVERRIDE.with(|o| o.set(None));
    r
}

fn debian() -> Option<vdso::TryUnlock> {
    Some(vdso::tests::debian_try_unlock())
}

/// This thread's `list_op_pending`.
fn pending() -> usize {
    let head = raw::robust_head().unwrap();
    // SAFETY: this thread's live head; list_op_pending is at +16.
    unsafe { AtomicUsize::from_ptr((head + 16) as *mut usize) }.load(Ordering::Relaxed)
}

/// What a contended unlock through the vDSO ends as: the kernel's `FUTEX_ROBUST_UNLOCK`
/// where it has it (7.x), else (`ENOSYS`) the user-space release.
fn contended_path() -> UnlockPath {
    if ROBUST_WAKE_REFUSED.load(Ordering::Relaxed) {
        UnlockPath::Legacy
    } else {
        UnlockPath::RobustWake
    }
}

#[test]
fn unlock_without_vdso_is_the_legacy_path() {
    let s = Shared::new(1);
    let m = s.get(0);
    with_try_unlock(None, || {
        lock(m).unwrap();
        m.unlock().unwrap();
        assert_eq!(raw::last_unlock_path(), UnlockPath::Legacy);
        assert_eq!((m.word().load(Ordering::Relaxed), pending()), (0, 0));
        lock(m).unwrap();
        m.word().fetch_or(FUTEX_WAITERS, Ordering::Relaxed);
        m.unlock().unwrap();
        assert_eq!(raw::last_unlock_path(), UnlockPath::Legacy);
        assert_eq!((m.word().load(Ordering::Relaxed), pending()), (0, 0));
    });
}

#[test]
fn unlock_through_vdso_uncontended() {
    let s = Shared::new(2);
    let (m, r) = (s.get(0), s.get(1));
    r.init(Kind::Recursive as u32).unwrap();
    with_try_unlock(debian(), || {
        lock(m).unwrap();
        m.unlock().unwrap();
        assert_eq!(raw::last_unlock_path(), UnlockPath::Vdso);
        assert_eq!((m.word().load(Ordering::Relaxed), pending()), (0, 0));
        assert_eq!(m.unlock(), Err(libc::EPERM));
        // A recursive mutex frees the word at its last unlock only.
        lock(r).unwrap();
        lock(r).unwrap();
        with_try_unlock(None, || {
            lock(m).unwrap();
            m.unlock().unwrap();
        });
        vdso::TEST_OVERRIDE.with(|o| o.set(Some(debian())));
        r.unlock().unwrap();
        assert_eq!(raw::last_unlock_path(), UnlockPath::Legacy);
        assert_eq!(r.word().load(Ordering::Relaxed), owner_value().unwrap());
        r.unlock().unwrap();
        assert_eq!(raw::last_unlock_path(), UnlockPath::Vdso);
        assert_eq!((r.word().load(Ordering::Relaxed), pending()), (0, 0));
    });
}

thread_local! {
    /// The spy's record: (lock, tid, pop, *pop, the pending entry's `next`) at the call.
    static SPIED: core::cell::Cell<(usize, u32, usize, usize, usize)> =
        const { core::cell::Cell::new((0, 0, 0, 0, 1)) };
}

/// A try-unlock with the vDSO's semantics that records what it was called with.
unsafe extern "C" fn spy(lock: *mut u32, tid: u32, pop: *mut u64) -> u32 {
    // SAFETY: the library passes its word and this thread's list_op_pending, and pending
    // names the mutex's `next` field.
    unsafe {
        let entry = *pop as usize;
        let next = AtomicUsize::from_ptr(entry as *mut usize).load(Ordering::Relaxed);
        SPIED.with(|s| s.set((lock as usize, tid, pop as usize, entry, next)));
        match AtomicU32::from_ptr(lock).compare_exchange(tid, 0, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(v) => {
                *pop = 0;
                v
            }
            Err(v) => v,
        }
    }
}

#[test]
fn unlock_gives_the_vdso_the_owner_value_and_list_op_pending() {
    let s = Shared::new(1);
    let m = s.get(0);
    let me = owner_value().unwrap();
    let head = raw::robust_head().unwrap();
    with_try_unlock(Some(spy), || {
        lock(m).unwrap();
        m.unlock().unwrap();
    });
    let (lock_at, tid, pop, entry, next) = SPIED.with(core::cell::Cell::get);
    assert_eq!(lock_at, m.word().as_ptr() as usize);
    assert_eq!(tid, me);
    assert_eq!(pop, head + 16);
    // Pending names the mutex, already unlinked from the list.
    assert_eq!(entry, m.entry());
    assert_eq!(next, 0);
    assert_eq!(raw::last_unlock_path(), UnlockPath::Vdso);
    assert_eq!((m.word().load(Ordering::Relaxed), pending()), (0, 0));
}

#[test]
fn unlock_through_vdso_contended() {
    let s = Shared::new(1);
    let m = s.get(0);
    with_try_unlock(debian(), || {
        lock(m).unwrap();
        m.word().fetch_or(FUTEX_WAITERS, Ordering::Relaxed);
        m.unlock().unwrap();
        let path = raw::last_unlock_path();
        assert_eq!(path, contended_path());
        if robust_unlock_vdso() {
            // A kernel with the vDSO function has the flag.
            assert_eq!(path, UnlockPath::RobustWake);
        }
        assert_eq!((m.word().load(Ordering::Relaxed), pending()), (0, 0));
    });
}

#[test]
fn waiter_is_woken_by_a_vdso_unlock() {
    let s = Shared::new(1);
    let m = s.get(0);
    lock(m).unwrap();
    let addr = m as *const RawMutex as usize;
    let waiter = std::thread::spawn(move || {
        // SAFETY: the mapping outlives the thread.
        let m = unsafe { &*(addr as *const RawMutex) };
        let r = lock(m);
        m.unlock().unwrap();
        r
    });
    while m.word().load(Ordering::Relaxed) & FUTEX_WAITERS == 0 {
        std::thread::yield_now();
    }
    with_try_unlock(debian(), || m.unlock().unwrap());
    assert_eq!(raw::last_unlock_path(), contended_path());
    assert_eq!(waiter.join().unwrap(), Ok(Acquired::Locked));
    assert_eq!(m.word().load(Ordering::Relaxed), 0);
}

#[test]
fn unrecoverable_through_vdso() {
    let s = Shared::new(1);
    let m = s.get(0);
    m.init(Kind::ErrorCheck as u32).unwrap();
    assert_eq!(in_child(|| i32::from(lock(m) != Ok(Acquired::Locked))), 0);
    with_try_unlock(debian(), || {
        assert_eq!(lock(m), Ok(Acquired::OwnerDied));
        m.unlock().unwrap();
        assert_eq!(raw::last_unlock_path(), UnlockPath::Vdso);
        assert_eq!(pending(), 0);
        assert_eq!(lock(m), Err(libc::ENOTRECOVERABLE));
    });
}

#[test]
fn contended_handoff_through_vdso_code() {
    let s = Shared::new(2);
    let (m, counter) = (s.get(0), s.get(1));
    // Whether every unlock went through the vDSO code or, contended, the kernel's robust
    // wake (or its ENOSYS fallback on an older kernel).
    let bump = |m: &RawMutex, c: &RawMutex| {
        let mut paths = [0u32; 4];
        for _ in 0..2000 {
            assert_eq!(lock(m), Ok(Acquired::Locked));
            let v = c.word().load(Ordering::Relaxed);
            std::hint::spin_loop();
            c.word().store(v + 1, Ordering::Relaxed);
            m.unlock().unwrap();
            paths[raw::last_unlock_path() as usize] += 1;
        }
        let legacy_ok = contended_path() == UnlockPath::Legacy;
        paths[UnlockPath::None as usize] == 0
            && (legacy_ok || paths[UnlockPath::Legacy as usize] == 0)
    };
    owner_value().unwrap();
    vdso::TEST_OVERRIDE.with(|o| o.set(Some(debian())));
    // SAFETY: the child only runs the loop and `_exit`s; it inherits this thread's override.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = bump(m, counter);
        // SAFETY: ends the child.
        unsafe { libc::_exit(i32::from(!ok)) };
    }
    let ok = bump(m, counter);
    vdso::TEST_OVERRIDE.with(|o| o.set(None));
    let mut st = 0;
    // SAFETY: our child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    assert_eq!(st, 0);
    assert!(ok);
    assert_eq!(counter.word().load(Ordering::Relaxed), 4000);
    assert_eq!(pending(), 0);
}

#[test]
fn c_api_reports_the_unlock_path() {
    assert_eq!(
        capi::gpid_mutex_vdso_unlock(),
        c_int::from(robust_unlock_vdso())
    );
    let s = Shared::new(1);
    let m = s.get(0) as *const RawMutex as *mut RawMutex;
    with_try_unlock(debian(), || {
        // SAFETY: a live mutex in the mapping.
        unsafe {
            assert_eq!(capi::gpid_mutex_lock(m), 0);
            assert_eq!(capi::gpid_mutex_unlock(m), 0);
        }
        assert_eq!(
            capi::gpid_mutex__last_unlock_path(),
            UnlockPath::Vdso as c_int
        );
    });
}
