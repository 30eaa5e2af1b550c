//! Finding `__vdso_futex_robust_list64_try_unlock` in the running kernel's vDSO.
//!
//! Linux 7.x with `CONFIG_FUTEX_ROBUST_UNLOCK` exports it (arch/x86/entry/vdso/vdso64/
//! vdso64.lds.S, version `LINUX_2.6`): `if cmpxchg(lock, tid, 0) succeeded then *pop = 0`,
//! returning what `*lock` held, with the kernel completing the `*pop = 0` when the thread is
//! interrupted between the two (include/vdso/futex.h, arch/x86/entry/vdso/common/vfutex.c).
//! That closes the window in which a thread killed right after freeing a robust futex leaves
//! `list_op_pending` pointing at memory someone else may have unmapped by the time it exits.
//!
//! The library is linked into static C programs (`gcc -static`), where glibc cannot
//! `dlopen("linux-vdso.so.1")`, so it reads the vDSO's ELF image itself, the way
//! tools/testing/selftests/vDSO/parse_vdso.c does: program headers, `PT_DYNAMIC`, then the
//! dynamic symbol table sized by `DT_HASH` or `DT_GNU_HASH`, and the symbol's version through
//! `DT_VERSYM`/`DT_VERDEF`. [`find`] works on a byte slice and checks every read against it,
//! so a truncated or garbage image yields `None`, never a panic or a read out of bounds.

use core::sync::atomic::{AtomicUsize, Ordering};

/// The vDSO function's C signature (include/vdso/futex.h).
pub type TryUnlock = unsafe extern "C" fn(lock: *mut u32, tid: u32, pop: *mut u64) -> u32;

/// The symbol the fast unlock needs.
pub const TRY_UNLOCK: &str = "__vdso_futex_robust_list64_try_unlock";
/// The version every x86_64 vDSO symbol carries (the linker script's only version node).
pub const VERSION: &str = "LINUX_2.6";

/// x86_64 pages: the vDSO is mapped in whole pages, so its first page is always readable.
const PAGE: usize = 4096;
/// A sanity bound for the image: the x86_64 vDSO is two to four pages. Anything larger is
/// not an image this parser was written for, and is not read.
const MAX_IMAGE: usize = 1 << 20;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PF_X: u32 = 1;
const DT_NULL: u64 = 0;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_SYMENT: u64 = 11;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEF: u64 = 0x6fff_fffc;
const STT_FUNC: u8 = 2;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const SHN_UNDEF: u16 = 0;
const SHN_ABS: u16 = 0xfff1;
const VER_FLG_BASE: u16 = 1;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SYM_SIZE: u64 = 24;
const DYN_SIZE: usize = 16;

/// Little-endian reads that fail instead of panicking.
fn bytes<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}
fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    bytes(b, off).map(u16::from_le_bytes)
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    bytes(b, off).map(u32::from_le_bytes)
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    bytes(b, off).map(u64::from_le_bytes)
}
fn usize_of(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

#[derive(Clone, Copy)]
struct Phdr {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// A validated ELF64 little-endian x86_64 shared object header and its program headers.
struct Elf<'a> {
    b: &'a [u8],
    phoff: usize,
    phnum: usize,
}

impl<'a> Elf<'a> {
    fn new(b: &'a [u8]) -> Option<Self> {
        // \x7fELF, ELFCLASS64, ELFDATA2LSB, EV_CURRENT; ET_DYN; EM_X86_64.
        if b.get(..7)? != b"\x7fELF\x02\x01\x01" || u16_at(b, 16)? != 3 || u16_at(b, 18)? != 62 {
            return None;
        }
        let phoff = usize_of(u64_at(b, 32)?)?;
        if usize::from(u16_at(b, 54)?) != PHDR_SIZE {
            return None;
        }
        let phnum = usize::from(u16_at(b, 56)?);
        // The whole table must be in the slice, so later per-entry reads are bounded by it.
        let end = phoff.checked_add(phnum.checked_mul(PHDR_SIZE)?)?;
        if phoff < EHDR_SIZE || end > b.len() {
            return None;
        }
        Some(Self { b, phoff, phnum })
    }

    fn phdr(&self, i: usize) -> Option<Phdr> {
        let o = self.phoff.checked_add(i.checked_mul(PHDR_SIZE)?)?;
        Some(Phdr {
            kind: u32_at(self.b, o)?,
            flags: u32_at(self.b, o + 4)?,
            offset: u64_at(self.b, o + 8)?,
            vaddr: u64_at(self.b, o + 16)?,
            filesz: u64_at(self.b, o + 32)?,
        })
    }

    fn phdrs(&self) -> impl Iterator<Item = Phdr> + '_ {
        (0..self.phnum).map_while(|i| self.phdr(i))
    }

    /// Where the file bytes of every `PT_LOAD` end: how much of the image a loader maps.
    fn load_extent(&self) -> Option<usize> {
        let mut end = 0;
        let mut any = false;
        for p in self.phdrs().filter(|p| p.kind == PT_LOAD) {
            end = end.max(usize_of(p.offset.checked_add(p.filesz)?)?);
            any = true;
        }
        any.then_some(end)
    }

    /// The slice offset of `len` bytes at virtual address `vaddr`, inside one `PT_LOAD`'s
    /// file bytes (and the slice), and in an executable one if `exec`.
    fn offset_of(&self, vaddr: u64, len: u64, exec: bool) -> Option<usize> {
        let end = vaddr.checked_add(len)?;
        let p = self.phdrs().find(|p| {
            p.kind == PT_LOAD
                && (!exec || p.flags & PF_X != 0)
                && vaddr >= p.vaddr
                && p.vaddr.checked_add(p.filesz).is_some_and(|e| end <= e)
        })?;
        let off = usize_of(p.offset.checked_add(vaddr - p.vaddr)?)?;
        (off.checked_add(usize_of(len)?)? <= self.b.len()).then_some(off)
    }

    /// `len` bytes at `vaddr`, as a sub-slice.
    fn at(&self, vaddr: u64, len: u64) -> Option<&'a [u8]> {
        let off = self.offset_of(vaddr, len, false)?;
        self.b.get(off..off.checked_add(usize_of(len)?)?)
    }
}

/// What the dynamic section says.
#[derive(Default)]
struct Dynamic {
    strtab: Option<u64>,
    strsz: Option<u64>,
    symtab: Option<u64>,
    syment: Option<u64>,
    hash: Option<u64>,
    gnu_hash: Option<u64>,
    versym: Option<u64>,
    verdef: Option<u64>,
}

fn dynamic(elf: &Elf<'_>) -> Option<Dynamic> {
    let p = elf.phdrs().find(|p| p.kind == PT_DYNAMIC)?;
    let table = elf.at(p.vaddr, p.filesz)?;
    let mut d = Dynamic::default();
    for e in table.chunks_exact(DYN_SIZE) {
        let (tag, val) = (u64_at(e, 0)?, u64_at(e, 8)?);
        let slot = match tag {
            DT_NULL => return Some(d),
            DT_STRTAB => &mut d.strtab,
            DT_STRSZ => &mut d.strsz,
            DT_SYMTAB => &mut d.symtab,
            DT_SYMENT => &mut d.syment,
            DT_HASH => &mut d.hash,
            DT_GNU_HASH => &mut d.gnu_hash,
            DT_VERSYM => &mut d.versym,
            DT_VERDEF => &mut d.verdef,
            _ => continue,
        };
        *slot = Some(val);
    }
    // No DT_NULL inside PT_DYNAMIC: not a table we trust.
    None
}

/// The number of dynamic symbols: `nchain` of the SysV hash table, or, as the GNU hash table
/// does not store it, one past the last symbol its chains reach.
fn symbol_count(elf: &Elf<'_>, d: &Dynamic) -> Option<u64> {
    if let Some(h) = d.hash {
        return elf
            .at(h.checked_add(4)?, 4)
            .and_then(|b| u32_at(b, 0))
            .map(u64::from);
    }
    let g = d.gnu_hash?;
    let hdr = elf.at(g, 16)?;
    let (nbuckets, symoffset, bloom) = (
        u64::from(u32_at(hdr, 0)?),
        u64::from(u32_at(hdr, 4)?),
        u64::from(u32_at(hdr, 8)?),
    );
    let buckets_at = g.checked_add(16)?.checked_add(bloom.checked_mul(8)?)?;
    let buckets = elf.at(buckets_at, nbuckets.checked_mul(4)?)?;
    let last = buckets
        .chunks_exact(4)
        .filter_map(|c| u32_at(c, 0))
        .max()
        .map_or(0, u64::from);
    if last < symoffset {
        return Some(symoffset);
    }
    let chains_at = buckets_at.checked_add(nbuckets.checked_mul(4)?)?;
    // A chain ends at an entry with bit 0 set; every step reads further into the slice, so
    // a chain that never ends runs out of bytes and fails.
    let mut i = last;
    loop {
        let c = elf.at(chains_at.checked_add((i - symoffset).checked_mul(4)?)?, 4)?;
        if u32_at(c, 0)? & 1 != 0 {
            return i.checked_add(1);
        }
        i = i.checked_add(1)?;
    }
}

/// The NUL-terminated name at `index` in the string table equals `want`.
fn name_is(strtab: &[u8], index: u32, want: &[u8]) -> bool {
    let Ok(start) = usize::try_from(index) else {
        return false;
    };
    let end = start.saturating_add(want.len());
    strtab.get(start..end) == Some(want) && strtab.get(end) == Some(&0)
}

/// Symbol `i`'s version (its `DT_VERSYM` index, resolved through `DT_VERDEF`) is `want`.
/// Without both tables the symbols are unversioned and any version matches (parse_vdso.c).
fn version_is(elf: &Elf<'_>, d: &Dynamic, strtab: &[u8], i: u64, want: &[u8]) -> Option<bool> {
    let (Some(versym), Some(verdef)) = (d.versym, d.verdef) else {
        return Some(true);
    };
    // Bit 15 is "hidden"; the rest indexes the definitions.
    let ver = u16_at(elf.at(versym.checked_add(i.checked_mul(2)?)?, 2)?, 0)? & 0x7fff;
    let mut def = verdef;
    // Each definition is at least 20 bytes and `vd_next` moves forward, so this walk is
    // bounded by the image; the count bound only keeps garbage from making it slow.
    for _ in 0..1024 {
        let vd = elf.at(def, 20)?;
        let (flags, ndx, aux, next) = (
            u16_at(vd, 2)?,
            u16_at(vd, 4)?,
            u64::from(u32_at(vd, 12)?),
            u64::from(u32_at(vd, 16)?),
        );
        if flags & VER_FLG_BASE == 0 && ndx & 0x7fff == ver {
            let name = u32_at(elf.at(def.checked_add(aux)?, 8)?, 0)?;
            return Some(name_is(strtab, name, want));
        }
        if next == 0 {
            return Some(false);
        }
        def = def.checked_add(next)?;
    }
    None
}

/// Finds the defined global or weak function `name` of version `version` in the ELF image
/// `image` (a shared object laid out as loaded: file offset = offset in the slice). Returns
/// its offset in the slice, which is inside an executable `PT_LOAD`; `None` if the image is
/// not a well-formed x86_64 ELF64 shared object wholly inside the slice, or has no such
/// symbol.
pub fn find(image: &[u8], name: &str, version: &str) -> Option<usize> {
    let elf = Elf::new(image)?;
    // Truncated images are refused as a whole rather than half-used.
    if elf.load_extent()? > image.len() {
        return None;
    }
    let d = dynamic(&elf)?;
    if d.syment.is_some_and(|s| s != SYM_SIZE) {
        return None;
    }
    let strtab = elf.at(d.strtab?, d.strsz?)?;
    let symtab = d.symtab?;
    let count = symbol_count(&elf, &d)?;
    let (name, version) = (name.as_bytes(), version.as_bytes());
    // Symbol 0 is the reserved null symbol. The count comes from the image; every entry read
    // is bounds-checked, so a huge count ends at the first entry outside the image.
    for i in 1..count {
        let sym = elf.at(symtab.checked_add(i.checked_mul(SYM_SIZE)?)?, SYM_SIZE)?;
        let (st_name, info, shndx, value) = (
            u32_at(sym, 0)?,
            *sym.get(4)?,
            u16_at(sym, 6)?,
            u64_at(sym, 8)?,
        );
        if info & 0xf != STT_FUNC
            || !matches!(info >> 4, STB_GLOBAL | STB_WEAK)
            || shndx == SHN_UNDEF
            || shndx == SHN_ABS
            || !name_is(strtab, st_name, name)
        {
            continue;
        }
        if version_is(&elf, &d, strtab, i, version)? {
            // The caller jumps there: it must be code inside the image.
            return elf.offset_of(value, 1, true);
        }
    }
    None
}

/// The running kernel's vDSO image, or `None` when there is none (`vdso=0`) or its headers
/// are not what [`find`] understands.
fn live_image() -> Option<&'static [u8]> {
    // SAFETY: getauxval has no preconditions.
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
    if base == 0 || !base.is_multiple_of(PAGE) {
        return None;
    }
    // SAFETY: AT_SYSINFO_EHDR is the start of the vDSO, which the kernel maps read-only in
    // whole pages for the life of the process (unless the program unmaps it, which glibc's
    // own cached vDSO pointers do not survive either): its first page is readable and never
    // written.
    let first = unsafe { core::slice::from_raw_parts(base as *const u8, PAGE) };
    let len = Elf::new(first)?.load_extent()?;
    if len > MAX_IMAGE {
        return None;
    }
    // SAFETY: as above, for the whole image: the kernel maps all of the vDSO file, and every
    // PT_LOAD's file bytes are inside it (x86's vdso2c refuses to build a vDSO whose single
    // PT_LOAD is larger than the file it embeds, arch/x86/tools/vdso2c.h; the mapping is
    // that file rounded up to pages).
    Some(unsafe { core::slice::from_raw_parts(base as *const u8, len.max(PAGE)) })
}

/// The address of `name` (of version [`VERSION`]) in the running kernel's vDSO.
pub fn live_symbol(name: &str) -> Option<usize> {
    let image = live_image()?;
    find(image, name, VERSION).map(|off| image.as_ptr() as usize + off)
}

const UNKNOWN: usize = 0;
const ABSENT: usize = 1;
/// The looked-up address of [`TRY_UNLOCK`], or UNKNOWN / ABSENT (never valid code addresses:
/// the vDSO is above the first page). The lookup is idempotent, so threads racing through it
/// store the same value and no lock is needed.
static TRY_UNLOCK_ADDR: AtomicUsize = AtomicUsize::new(UNKNOWN);

/// The kernel's `__vdso_futex_robust_list64_try_unlock`, looked up once.
pub fn live_try_unlock() -> Option<TryUnlock> {
    let mut addr = TRY_UNLOCK_ADDR.load(Ordering::Relaxed);
    if addr == UNKNOWN {
        addr = live_symbol(TRY_UNLOCK).unwrap_or(ABSENT);
        TRY_UNLOCK_ADDR.store(addr, Ordering::Relaxed);
    }
    if addr == ABSENT {
        return None;
    }
    // SAFETY: `addr` is the vDSO's definition of `__vdso_futex_robust_list64_try_unlock`
    // (version LINUX_2.6, a global function inside the image's executable segment), whose
    // ABI is the C signature `TryUnlock` spells (include/vdso/futex.h). The vDSO stays mapped
    // at the same address for the life of the process, as for glibc's own vDSO calls.
    Some(unsafe { core::mem::transmute::<usize, TryUnlock>(addr) })
}

#[cfg(test)]
thread_local! {
    /// Tests substitute the function (`Some(Some(f))`) or hide it (`Some(None)`) per thread,
    /// so both unlock paths run on any host whatever its kernel.
    pub static TEST_OVERRIDE: core::cell::Cell<Option<Option<TryUnlock>>> =
        const { core::cell::Cell::new(None) };
}

/// The try-unlock function unlock uses.
#[inline]
pub fn try_unlock() -> Option<TryUnlock> {
    #[cfg(test)]
    if let Some(f) = TEST_OVERRIDE.with(core::cell::Cell::get) {
        return f;
    }
    live_try_unlock()
}

#[cfg(test)]
pub mod tests;
