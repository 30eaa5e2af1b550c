//! The vDSO parser against real images (the host's, and the 7.3 target kernels' in testdata/)
//! and against truncated, corrupted and random bytes.

use super::*;
use std::sync::OnceLock;

/// Debian's 7.3.4 vDSO: has the try-unlock (at 0x1650, readelf --dyn-syms).
pub const DEBIAN: &[u8] = include_bytes!("../../testdata/vdso64-debian-7.3.4.so");
/// The debug kernel's 7.3.4 vDSO: no CONFIG_FUTEX_ROBUST_UNLOCK.
const DEBUG: &[u8] = include_bytes!("../../testdata/vdso64-debug-7.3.4.so");

const CLOCK_GETTIME: &str = "__vdso_clock_gettime";
const GETTIMEOFDAY: &str = "__vdso_gettimeofday";

fn live() -> Vec<u8> {
    live_image().expect("the host has a vDSO").to_vec()
}

/// What the dynamic loader says (the test binary is dynamically linked, unlike static C
/// programs using the library).
fn dlsym_vdso(name: &str) -> usize {
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: RTLD_NOLOAD only looks up the already-loaded vDSO; the names are C strings.
    unsafe {
        let h = libc::dlopen(
            c"linux-vdso.so.1".as_ptr(),
            libc::RTLD_LAZY | libc::RTLD_LOCAL | libc::RTLD_NOLOAD,
        );
        assert!(!h.is_null(), "the loader knows the vDSO");
        libc::dlsym(h, name.as_ptr()) as usize
    }
}

#[test]
fn debian_7_3_vdso_exports_try_unlock() {
    assert_eq!(find(DEBIAN, TRY_UNLOCK, VERSION), Some(0x1650));
    assert_eq!(
        find(DEBIAN, "__vdso_futex_robust_list32_try_unlock", VERSION),
        Some(0x1660)
    );
    assert_eq!(find(DEBIAN, CLOCK_GETTIME, VERSION), Some(0xc90));
    assert_eq!(find(DEBIAN, GETTIMEOFDAY, VERSION), Some(0x990));
    // The code is the documented sequence: mov %esi,%eax; xor %ecx,%ecx; lock cmpxchg
    // %ecx,(%rdi); jne; mov %rcx,(%rdx); ret.
    assert_eq!(
        &DEBIAN[0x1650..0x165e],
        b"\x89\xf0\x31\xc9\xf0\x0f\xb1\x0f\x75\x03\x48\x89\x0a\xc3"
    );
}

#[test]
fn debug_kernel_vdso_lacks_try_unlock() {
    assert_eq!(find(DEBUG, TRY_UNLOCK, VERSION), None);
    assert!(find(DEBUG, CLOCK_GETTIME, VERSION).is_some());
}

#[test]
fn made_up_names_and_versions_are_not_found() {
    for img in [DEBIAN, DEBUG, &live()[..]] {
        for name in [
            "",
            "__vdso_no_such_function",
            "__vdso_futex_robust_list64_try_unloc",
            "__vdso_futex_robust_list64_try_unlock_",
            "__vdso_clock_gettim",
            // The version node's own symbol: an ABS object, not a function.
            "LINUX_2.6",
        ] {
            assert_eq!(find(img, name, VERSION), None, "{name}");
        }
        for version in ["", "LINUX_2.5", "LINUX_2.6.0", "LINUX_2"] {
            assert_eq!(find(img, CLOCK_GETTIME, version), None, "{version}");
        }
    }
}

#[test]
fn live_vdso_symbols_are_the_dynamic_loaders() {
    for name in [CLOCK_GETTIME, GETTIMEOFDAY, "__vdso_time", "__vdso_getcpu"] {
        let want = dlsym_vdso(name);
        assert_ne!(want, 0, "{name} in every x86_64 vDSO");
        assert_eq!(live_symbol(name), Some(want), "{name}");
    }
    assert_eq!(live_symbol("__vdso_no_such_function"), None);
    // And it is callable: the vDSO's clock_gettime agrees with the system call's clock.
    type ClockGettime = unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> i32;
    let f = live_symbol(CLOCK_GETTIME).unwrap();
    // SAFETY: the vDSO's __vdso_clock_gettime has clock_gettime's C signature.
    let f: ClockGettime = unsafe { core::mem::transmute(f) };
    let mut a = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut b = a;
    // SAFETY: live timespecs; raw syscall for the reference, the vDSO for the other.
    unsafe {
        libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut a);
        assert_eq!(f(libc::CLOCK_MONOTONIC, &mut b), 0);
    }
    assert!((b.tv_sec, b.tv_nsec) >= (a.tv_sec, a.tv_nsec));
    assert!(b.tv_sec - a.tv_sec < 5);
}

#[test]
fn robust_unlock_vdso_agrees_with_the_dynamic_loader() {
    let want = dlsym_vdso(TRY_UNLOCK);
    assert_eq!(
        live_try_unlock().map(|f| f as usize),
        (want != 0).then_some(want)
    );
    assert_eq!(crate::robust_unlock_vdso(), want != 0);
    // Looked up once: the second answer comes from the cache.
    assert_eq!(
        live_try_unlock().map(|f| f as usize),
        (want != 0).then_some(want)
    );
}

/// Where the image's PT_LOAD bytes end: shorter slices are truncated images.
fn extent(img: &[u8]) -> usize {
    Elf::new(img).unwrap().load_extent().unwrap()
}

#[test]
fn truncated_images_are_refused() {
    for img in [DEBIAN, DEBUG, &live()[..]] {
        let full = find(img, CLOCK_GETTIME, VERSION);
        assert!(full.is_some());
        let end = extent(img);
        for n in 0..img.len() {
            let got = find(&img[..n], CLOCK_GETTIME, VERSION);
            assert_eq!(
                got,
                if n < end { None } else { full },
                "prefix of {n} bytes"
            );
        }
    }
}

/// xorshift64*: reproducible garbage without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The parser's whole contract on hostile input: it returns, and any offset is in the slice.
fn check(img: &[u8]) {
    for name in [TRY_UNLOCK, CLOCK_GETTIME] {
        if let Some(off) = find(img, name, VERSION) {
            assert!(off < img.len());
        }
    }
}

#[test]
fn garbage_does_not_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for len in [0, 1, 7, 63, 64, 65, 120, 121, 4096, 8192] {
        check(&vec![0; len]);
        check(&vec![0xff; len]);
        let mut v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&v);
        // A valid header in front of garbage.
        let n = len.min(64);
        v[..n].copy_from_slice(&DEBIAN[..n]);
        check(&v);
    }
    // Every single byte of a real image clobbered three ways.
    for img in [DEBIAN, DEBUG] {
        let end = extent(img);
        let mut v = img[..end].to_vec();
        for i in 0..end {
            let keep = v[i];
            for b in [0, 0xff, keep ^ 0x80] {
                v[i] = b;
                check(&v);
            }
            v[i] = keep;
        }
        // Runs of random bytes at random places.
        for _ in 0..3000 {
            let mut w = v.clone();
            for _ in 0..1 + rng.next() % 8 {
                let at = (rng.next() as usize) % end;
                let run = 1 + (rng.next() as usize) % 8;
                for b in w.iter_mut().skip(at).take(run) {
                    *b = rng.next() as u8;
                }
            }
            check(&w);
        }
    }
}

/// The file offset of the dynamic entry with tag `tag`.
fn dyn_entry(img: &[u8], tag: u64) -> usize {
    let elf = Elf::new(img).unwrap();
    let p = elf.phdrs().find(|p| p.kind == PT_DYNAMIC).unwrap();
    (p.offset as usize..(p.offset + p.filesz) as usize)
        .step_by(DYN_SIZE)
        .find(|&o| u64_at(img, o) == Some(tag))
        .unwrap()
}

/// A copy of `img` with the dynamic entries `tags` turned into DT_DEBUG, which the parser
/// skips.
fn without(img: &[u8], tags: &[u64]) -> Vec<u8> {
    let mut v = img.to_vec();
    for &t in tags {
        let o = dyn_entry(img, t);
        v[o..o + 8].copy_from_slice(&21u64.to_le_bytes());
    }
    v
}

#[test]
fn either_hash_table_sizes_the_symbol_table() {
    for img in [DEBIAN, DEBUG, &live()[..]] {
        let full = find(img, CLOCK_GETTIME, VERSION);
        assert_eq!(
            find(&without(img, &[DT_HASH]), CLOCK_GETTIME, VERSION),
            full
        );
        assert_eq!(
            find(&without(img, &[DT_GNU_HASH]), CLOCK_GETTIME, VERSION),
            full
        );
        assert_eq!(
            find(
                &without(img, &[DT_HASH, DT_GNU_HASH]),
                CLOCK_GETTIME,
                VERSION
            ),
            None
        );
    }
    let gnu_only = without(DEBIAN, &[DT_HASH]);
    assert_eq!(find(&gnu_only, TRY_UNLOCK, VERSION), Some(0x1650));
}

#[test]
fn versions_are_checked_only_when_the_image_has_them() {
    // parse_vdso.c's rule: without version tables any version matches.
    let unversioned = without(DEBIAN, &[DT_VERSYM]);
    assert_eq!(find(&unversioned, TRY_UNLOCK, "LINUX_9"), Some(0x1650));
    assert_eq!(find(DEBIAN, TRY_UNLOCK, "LINUX_9"), None);
}

/// The file offset of symbol `name`'s Elf64_Sym.
fn sym_entry(img: &[u8], name: &str) -> usize {
    let elf = Elf::new(img).unwrap();
    let d = dynamic(&elf).unwrap();
    let strtab = elf.at(d.strtab.unwrap(), d.strsz.unwrap()).unwrap();
    (1..symbol_count(&elf, &d).unwrap())
        .map(|i| {
            elf.offset_of(d.symtab.unwrap() + i * SYM_SIZE, SYM_SIZE, false)
                .unwrap()
        })
        .find(|&o| name_is(strtab, u32_at(img, o).unwrap(), name.as_bytes()))
        .unwrap()
}

#[test]
fn symbols_outside_the_code_are_refused() {
    let o = sym_entry(DEBIAN, TRY_UNLOCK);
    for value in [0x1758u64, 0x10_0000, u64::MAX] {
        let mut v = DEBIAN.to_vec();
        v[o + 8..o + 16].copy_from_slice(&value.to_le_bytes());
        assert_eq!(find(&v, TRY_UNLOCK, VERSION), None, "{value:#x}");
    }
    // An undefined symbol of that name is not a definition.
    let mut v = DEBIAN.to_vec();
    v[o + 6..o + 8].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(find(&v, TRY_UNLOCK, VERSION), None);
    // Nor is a data object.
    let mut v = DEBIAN.to_vec();
    v[o + 4] = (STB_GLOBAL << 4) | 1;
    assert_eq!(find(&v, TRY_UNLOCK, VERSION), None);
}

/// Debian 7.3's try-unlock code, loaded as the kernel would map it (the image at a page
/// boundary, executable), for the unlock tests to run the real instructions on any host. The
/// kernel's fixup for an interruption inside it does not apply outside the real vDSO, which
/// these tests do not need.
pub fn debian_try_unlock() -> TryUnlock {
    static ADDR: OnceLock<usize> = OnceLock::new();
    let addr = *ADDR.get_or_init(|| {
        let len = extent(DEBIAN).next_multiple_of(PAGE);
        // SAFETY: a fresh private mapping, filled and then made read-only executable; it is
        // never unmapped (the tests may call into it until the process exits).
        unsafe {
            let p = libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            core::ptr::copy_nonoverlapping(DEBIAN.as_ptr(), p.cast(), extent(DEBIAN));
            assert_eq!(libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC), 0);
            let img = core::slice::from_raw_parts(p.cast::<u8>(), len);
            p as usize + find(img, TRY_UNLOCK, VERSION).unwrap()
        }
    });
    // SAFETY: the address of Debian's __vdso_futex_robust_list64_try_unlock in the loaded
    // image, whose signature TryUnlock is.
    unsafe { core::mem::transmute::<usize, TryUnlock>(addr) }
}

/// The kernel selftest's two cases (robust_list.c, test_robust_try_unlock_*), with an owner
/// value that is not the caller's TID: the code compares the word with what it is given.
#[test]
fn debian_try_unlock_code_takes_any_owner_value() {
    let f = debian_try_unlock();
    let owner = 0x2345_6789 & crate::FUTEX_TID_MASK;
    let entry = 0x7000_1000u64;
    let word = core::sync::atomic::AtomicU32::new(owner);
    let mut pop = entry;
    // SAFETY: live word and pop.
    assert_eq!(unsafe { f(word.as_ptr(), owner, &mut pop) }, owner);
    assert_eq!((word.load(Ordering::Relaxed), pop), (0, 0));
    let contended = owner | crate::FUTEX_WAITERS;
    word.store(contended, Ordering::Relaxed);
    pop = entry;
    // SAFETY: as above.
    assert_eq!(unsafe { f(word.as_ptr(), owner, &mut pop) }, contended);
    assert_eq!((word.load(Ordering::Relaxed), pop), (contended, entry));
    // Someone else's word is left alone.
    word.store(owner + 1, Ordering::Relaxed);
    // SAFETY: as above.
    assert_eq!(unsafe { f(word.as_ptr(), owner, &mut pop) }, owner + 1);
    assert_eq!((word.load(Ordering::Relaxed), pop), (owner + 1, entry));
}
