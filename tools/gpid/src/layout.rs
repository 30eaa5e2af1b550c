//! The layout of gpid values (ABI 2): the plain range, then wide slots, then narrow slots.
//!
//! ```text
//! [0, 2^pid_bits)                          plain: a PID in the reader's own namespace
//! wide slot s, 1..=W                       (s << pid_bits) | nr,            0 < nr < 2^pid_bits
//! narrow slot s, W+1..=W+N                 narrow_start + ((s - W - 1) << narrow_bits) + nr,
//!                                                                           0 < nr < 2^narrow_bits
//! [narrow_end, GPID_MASK]                  unused: names nothing
//! ```
//!
//! with `narrow_start = (W + 1) << pid_bits` and `narrow_end = narrow_start + (N <<
//! narrow_bits)`. The running module's numbers come from `GPID_IOC_VERSION`
//! ([`crate::Device::layout`]); nothing here assumes them.

use crate::uapi::{GpidVersion, GPID_ABI_VERSION, GPID_MASK};
use std::fmt;
use std::io;

/// The values below this are the gpid space: `GPID_MASK + 1`.
const SPACE: u64 = GPID_MASK as u64 + 1;

/// The two widths of slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `pid_bits` wide: slot ids `1..=wide_slots`.
    Wide,
    /// `narrow_bits` wide: slot ids `wide_slots + 1..=wide_slots + narrow_slots`.
    Narrow,
}

impl Class {
    /// `wide` or `narrow`, as `/proc/gpid/namespaces` names them.
    pub fn name(self) -> &'static str {
        match self {
            Class::Wide => "wide",
            Class::Narrow => "narrow",
        }
    }

    /// The class `/proc/gpid/namespaces` calls `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "wide" => Some(Class::Wide),
            "narrow" => Some(Class::Narrow),
            _ => None,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value taken apart by [`Layout::split`]: pure arithmetic, which says nothing of whether
/// a namespace holds the slot (a PID part of 0, for one, names nothing either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Below `2^pid_bits`: PID `nr` of the reader's own namespace.
    Plain(u32),
    /// PID `nr` of the namespace holding slot `slot_id`.
    Slot {
        /// The slot's class.
        class: Class,
        /// The slot id, as `GPID_IOC_NS_INFO` and `/proc/gpid/namespaces` give it.
        slot_id: u32,
        /// The PID part.
        nr: u32,
    },
    /// Past the last narrow slot: no slot, no task (values above `GPID_MASK` included,
    /// which the kernel refuses with `EINVAL` rather than `ESRCH`).
    Unused,
}

impl Split {
    /// The PID part: of a plain value or a slot's; `None` for an unused value.
    pub fn nr(&self) -> Option<u32> {
        match *self {
            Split::Plain(nr) | Split::Slot { nr, .. } => Some(nr),
            Split::Unused => None,
        }
    }
}

impl fmt::Display for Split {
    /// `slot 65 (narrow) nr 7`, `plain nr 7`, `unused`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Split::Plain(nr) => write!(f, "plain nr {nr}"),
            Split::Slot { class, slot_id, nr } => write!(f, "slot {slot_id} ({class}) nr {nr}"),
            Split::Unused => f.write_str("unused"),
        }
    }
}

/// How the module divides the gpid values; fixed at module load, read with
/// [`crate::Device::layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pid_bits: u32,
    narrow_bits: u32,
    wide_slots: u32,
    narrow_slots: u32,
    narrow_start: u32,
}

fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

/// `2^bits - 1`, for `bits <= 29`.
const fn mask(bits: u32) -> u32 {
    (1 << bits) - 1
}

impl Layout {
    /// The most `pid_bits`: wide slot 1 must still fit below `2^30`.
    pub const MAX_PID_BITS: u32 = 29;
    /// The wide slots the module makes with `wide_slots` left at 0, where they fit: 64 for
    /// namespaces with large PIDs besides the initial namespace's.
    pub const MODULE_WIDE_SLOTS: u32 = 65;
    /// The most narrow slots the module makes (it preallocates their tables).
    pub const MODULE_MAX_NARROW_SLOTS: u32 = 1 << 16;
    /// The module's default layout: 65 wide slots of 22 bits, then 12160 narrow slots of 16
    /// bits, which end exactly at `2^30`.
    pub const DEFAULT: Layout = Layout::module_default(22, 16);

    /// The layout of `wide_slots` wide slots of `pid_bits` bits and `narrow_slots` narrow
    /// slots of `narrow_bits` bits, or `None` unless `1 <= narrow_bits <= pid_bits <= 29` and
    /// everything fits below `2^30`.
    pub const fn new(
        pid_bits: u32,
        narrow_bits: u32,
        wide_slots: u32,
        narrow_slots: u32,
    ) -> Option<Layout> {
        if pid_bits > Self::MAX_PID_BITS || narrow_bits == 0 || narrow_bits > pid_bits {
            return None;
        }
        let narrow_start = (wide_slots as u64 + 1) << pid_bits;
        if narrow_start + ((narrow_slots as u64) << narrow_bits) > SPACE {
            return None;
        }
        Some(Layout {
            pid_bits,
            narrow_bits,
            wide_slots,
            narrow_slots,
            narrow_start: narrow_start as u32,
        })
    }

    /// What the module makes of `pid_bits` and `narrow_bits` with `wide_slots` left at 0
    /// (auto): `min(MODULE_WIDE_SLOTS, room)` wide slots, `room = (2^30 >> pid_bits) - 1`, and
    /// every narrow slot that fits above them, at most `MODULE_MAX_NARROW_SLOTS`. Arguments
    /// outside what [`new`](Self::new) takes give the default pid_bits 22, narrow_bits 16.
    pub const fn module_default(pid_bits: u32, narrow_bits: u32) -> Layout {
        let (pid_bits, narrow_bits) =
            if pid_bits > Self::MAX_PID_BITS || narrow_bits == 0 || narrow_bits > pid_bits {
                (22, 16)
            } else {
                (pid_bits, narrow_bits)
            };
        let room = (SPACE >> pid_bits) as u32 - 1;
        let wide_slots = if room < Self::MODULE_WIDE_SLOTS {
            room
        } else {
            Self::MODULE_WIDE_SLOTS
        };
        let narrow_start = (wide_slots as u64 + 1) << pid_bits;
        let fit = ((SPACE - narrow_start) >> narrow_bits) as u32;
        Layout {
            pid_bits,
            narrow_bits,
            wide_slots,
            narrow_slots: if fit < Self::MODULE_MAX_NARROW_SLOTS {
                fit
            } else {
                Self::MODULE_MAX_NARROW_SLOTS
            },
            narrow_start: narrow_start as u32,
        }
    }

    /// The layout a `GPID_IOC_VERSION` answer describes. Fails with `EPROTONOSUPPORT` for
    /// another ABI than [`GPID_ABI_VERSION`] (an ABI 1 module's answer holds no layout) and
    /// with `EINVAL` for fields that do not make a layout.
    pub fn from_version(v: &GpidVersion) -> io::Result<Layout> {
        if v.abi_version != GPID_ABI_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "the gpid module speaks ABI {}, this program ABI {GPID_ABI_VERSION} \
                     (EPROTONOSUPPORT)",
                    v.abi_version
                ),
            ));
        }
        let l = Self::new(v.pid_bits, v.narrow_bits, v.wide_slots, v.narrow_slots)
            .ok_or_else(einval)?;
        if l.narrow_start != v.narrow_start {
            return Err(einval());
        }
        Ok(l)
    }

    /// Width of a wide slot and of the plain range.
    pub const fn pid_bits(&self) -> u32 {
        self.pid_bits
    }

    /// Width of a narrow slot.
    pub const fn narrow_bits(&self) -> u32 {
        self.narrow_bits
    }

    /// How many slots of `class` there are.
    pub const fn slots(&self, class: Class) -> u32 {
        match class {
            Class::Wide => self.wide_slots,
            Class::Narrow => self.narrow_slots,
        }
    }

    /// The largest PID a slot of `class` holds (the plain range holds as many as a wide slot).
    pub const fn max_nr(&self, class: Class) -> u32 {
        match class {
            Class::Wide => mask(self.pid_bits),
            Class::Narrow => mask(self.narrow_bits),
        }
    }

    /// The largest slot id: `wide_slots + narrow_slots`.
    pub const fn max_slot(&self) -> u32 {
        self.wide_slots + self.narrow_slots
    }

    /// The first value of the narrow slots: `(wide_slots + 1) << pid_bits`.
    pub const fn narrow_start(&self) -> u32 {
        self.narrow_start
    }

    /// The first value past the last narrow slot (`GPID_MASK + 1` when they fill the space).
    pub const fn narrow_end(&self) -> u32 {
        self.narrow_start + (self.narrow_slots << self.narrow_bits)
    }

    /// The class of slot id `slot_id`, `None` for 0 and ids above [`max_slot`](Self::max_slot).
    pub const fn class(&self, slot_id: u32) -> Option<Class> {
        if slot_id == 0 || slot_id > self.max_slot() {
            None
        } else if slot_id <= self.wide_slots {
            Some(Class::Wide)
        } else {
            Some(Class::Narrow)
        }
    }

    /// The first value of slot `slot_id` (the one with PID part 0) and its class.
    pub const fn base(&self, slot_id: u32) -> Option<(u32, Class)> {
        match self.class(slot_id) {
            None => None,
            Some(Class::Wide) => Some((slot_id << self.pid_bits, Class::Wide)),
            Some(Class::Narrow) => Some((
                self.narrow_start + ((slot_id - self.wide_slots - 1) << self.narrow_bits),
                Class::Narrow,
            )),
        }
    }

    /// The gpid of PID `nr` in slot `slot_id` (0: the plain value `nr`), with the kernel's
    /// errors: `EINVAL` for `nr == 0` or a slot id above [`max_slot`](Self::max_slot),
    /// `EOVERFLOW` for an `nr` the slot cannot hold.
    pub fn make(&self, slot_id: u32, nr: u32) -> io::Result<u32> {
        let (base, max) = match self.base(slot_id) {
            None if slot_id == 0 => (0, mask(self.pid_bits)),
            None => return Err(einval()),
            Some((base, class)) => (base, self.max_nr(class)),
        };
        if nr == 0 {
            return Err(einval());
        }
        if nr > max {
            return Err(io::Error::from_raw_os_error(libc::EOVERFLOW));
        }
        Ok(base + nr)
    }

    /// Takes `value` apart; see [`Split`].
    pub const fn split(&self, value: u32) -> Split {
        if value >> self.pid_bits == 0 {
            Split::Plain(value)
        } else if value < self.narrow_start {
            Split::Slot {
                class: Class::Wide,
                slot_id: value >> self.pid_bits,
                nr: value & mask(self.pid_bits),
            }
        } else if value < self.narrow_end() {
            let offset = value - self.narrow_start;
            Split::Slot {
                class: Class::Narrow,
                slot_id: self.wide_slots + 1 + (offset >> self.narrow_bits),
                nr: offset & mask(self.narrow_bits),
            }
        } else {
            Split::Unused
        }
    }

    /// `value` as people read it: `SLOT:NR (0xHEX, CLASS)`, `0:NR (0xHEX)` for a plain value
    /// (slot 0: "in the reader's own namespace"), `unused (0xHEX)`. `SLOT:NR` is what
    /// gpidctl takes back.
    pub fn display(&self, value: u32) -> String {
        match self.split(value) {
            Split::Plain(nr) => format!("0:{nr} ({value:#x})"),
            Split::Slot { class, slot_id, nr } => format!("{slot_id}:{nr} ({value:#x}, {class})"),
            Split::Unused => format!("unused ({value:#x})"),
        }
    }
}

impl Default for Layout {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(r: io::Result<u32>) -> Option<i32> {
        r.unwrap_err().raw_os_error()
    }

    /// A layout of 64 wide and 12224 narrow slots, for the arithmetic tests (the module's
    /// default has 65 wide slots, [`Layout::DEFAULT`]).
    const L64: Layout = match Layout::new(22, 16, 64, 12224) {
        Some(l) => l,
        None => panic!("64 wide and 12224 narrow slots fit"),
    };

    #[test]
    fn the_default_layout() {
        let l = Layout::DEFAULT;
        assert_eq!(Some(l), Layout::new(22, 16, 65, 12160));
        assert_eq!(l.narrow_start(), 0x1080_0000);
        assert_eq!(l.narrow_end(), 1 << 30);
        assert_eq!(l.max_slot(), 12225);
        // Issue #13: 8192 namespaces with PIDs to 65535, 64 of them with PIDs to 4194303
        // besides the initial namespace (wide slot 1).
        assert!(l.slots(Class::Narrow) >= 8192);
        assert_eq!(l.max_nr(Class::Narrow), 65535);
        assert!(l.slots(Class::Wide) > 64);
        assert_eq!(l.max_nr(Class::Wide), 4_194_303);
        // Host gpids stay (1 << 22) | pid, as in ABI 1.
        assert_eq!(l.make(1, 5).unwrap(), 0x40_0005);
        assert_eq!(l.make(65, 1).unwrap(), (65 << 22) + 1);
        assert_eq!(l.make(66, 7).unwrap(), 0x1080_0007);
        assert_eq!(l.make(67, 1).unwrap(), 0x1081_0001);
        assert_eq!(l.make(12225, 65535).unwrap(), GPID_MASK);
        assert_eq!(l.make(0, 42).unwrap(), 42);
    }

    #[test]
    fn splits_at_every_edge_of_the_default() {
        let l = L64;
        let slot = |class, slot_id, nr| Split::Slot { class, slot_id, nr };
        let cases = [
            (0, Split::Plain(0)),
            (1, Split::Plain(1)),
            ((1 << 22) - 1, Split::Plain((1 << 22) - 1)),
            (1 << 22, slot(Class::Wide, 1, 0)),
            ((1 << 22) + 1, slot(Class::Wide, 1, 1)),
            ((65 << 22) - 1, slot(Class::Wide, 64, (1 << 22) - 1)),
            (65 << 22, slot(Class::Narrow, 65, 0)),
            ((65 << 22) + 65535, slot(Class::Narrow, 65, 65535)),
            ((65 << 22) + 65536, slot(Class::Narrow, 66, 0)),
            (GPID_MASK, slot(Class::Narrow, 12288, 65535)),
            (1 << 30, Split::Unused),
            (u32::MAX, Split::Unused),
        ];
        for (v, want) in cases {
            assert_eq!(l.split(v), want, "value {v:#x}");
        }
    }

    #[test]
    fn make_rejects_what_the_kernel_rejects() {
        let l = L64;
        assert_eq!(errno(l.make(1, 0)), Some(libc::EINVAL));
        assert_eq!(errno(l.make(0, 0)), Some(libc::EINVAL));
        assert_eq!(errno(l.make(12289, 1)), Some(libc::EINVAL));
        assert_eq!(errno(l.make(u32::MAX, 1)), Some(libc::EINVAL));
        assert_eq!(errno(l.make(0, 1 << 22)), Some(libc::EOVERFLOW));
        assert_eq!(errno(l.make(64, 1 << 22)), Some(libc::EOVERFLOW));
        assert_eq!(errno(l.make(65, 65536)), Some(libc::EOVERFLOW));
        assert_eq!(l.class(0), None);
        assert_eq!(l.class(1), Some(Class::Wide));
        assert_eq!(l.class(64), Some(Class::Wide));
        assert_eq!(l.class(65), Some(Class::Narrow));
        assert_eq!(l.class(12288), Some(Class::Narrow));
        assert_eq!(l.class(12289), None);
    }

    #[test]
    fn module_defaults_for_other_parameters() {
        // pid_bits 28 and 29: wide slots only.
        let l = Layout::module_default(28, 16);
        assert_eq!((l.slots(Class::Wide), l.slots(Class::Narrow)), (3, 0));
        assert_eq!(l.narrow_start(), 1 << 30);
        assert_eq!(
            l.split(GPID_MASK),
            Split::Slot {
                class: Class::Wide,
                slot_id: 3,
                nr: mask(28)
            }
        );
        let l = Layout::module_default(29, 29);
        assert_eq!((l.slots(Class::Wide), l.slots(Class::Narrow)), (1, 0));
        assert_eq!(
            l.split(1 << 29),
            Split::Slot {
                class: Class::Wide,
                slot_id: 1,
                nr: 0
            }
        );
        // pid_bits 16: both classes 16 bits wide, every value as ABI 1's fixed split made it.
        let l = Layout::module_default(16, 16);
        assert_eq!((l.slots(Class::Wide), l.slots(Class::Narrow)), (65, 16318));
        assert_eq!(l.max_slot(), 16383);
        for v in (0..=GPID_MASK)
            .step_by(4099)
            .chain([GPID_MASK, 66 << 16, (66 << 16) - 1])
        {
            let want = match v >> 16 {
                0 => Split::Plain(v),
                s => Split::Slot {
                    class: if s <= 65 { Class::Wide } else { Class::Narrow },
                    slot_id: s,
                    nr: v & 0xffff,
                },
            };
            assert_eq!(l.split(v), want, "value {v:#x}");
        }
        // Small narrow slots: at most 65536 of them, then unused values up to 2^30.
        let l = Layout::module_default(22, 8);
        assert_eq!(l.slots(Class::Narrow), 65536);
        assert_eq!(l.split(l.narrow_end()), Split::Unused);
        // Nonsense parameters give the default rather than a panic.
        assert_eq!(Layout::module_default(30, 16), Layout::DEFAULT);
        assert_eq!(Layout::module_default(22, 0), Layout::DEFAULT);
        assert_eq!(Layout::module_default(16, 22), Layout::DEFAULT);
    }

    #[test]
    fn new_checks_the_fit() {
        assert_eq!(Layout::new(22, 16, 64, 12225), None);
        assert_eq!(
            Layout::new(22, 16, 255, 0).map(|l| l.narrow_start()),
            Some(1 << 30)
        );
        assert_eq!(Layout::new(22, 16, 256, 0), None);
        assert_eq!(Layout::new(22, 16, u32::MAX, 0), None);
        assert_eq!(Layout::new(22, 16, 0, u32::MAX), None);
        assert_eq!(Layout::new(30, 16, 1, 0), None);
        assert_eq!(Layout::new(22, 23, 1, 0), None);
        assert_eq!(Layout::new(22, 0, 1, 0), None);
        assert!(Layout::new(29, 1, 1, 0).is_some());
        assert_eq!(
            Layout::new(8, 8, 0, (1 << 22) - 1).map(|l| l.narrow_end()),
            Some(1 << 30)
        );
    }

    /// Every layout of a few small shapes, every value near an edge: `split` agrees with a
    /// search over the slots' own definitions, and `make` undoes it.
    #[test]
    fn split_matches_a_search_and_make_undoes_it() {
        for pid_bits in [8, 9, 12, 16, 22, 28, 29] {
            for narrow_bits in [1, 2, 8, pid_bits / 2 + 1, pid_bits] {
                if narrow_bits > pid_bits {
                    continue;
                }
                let room = (SPACE >> pid_bits) as u32 - 1;
                for wide in [0, 1, 2, room.min(64), room] {
                    let free =
                        SPACE.saturating_sub((u64::from(wide) + 1) << pid_bits) >> narrow_bits;
                    for narrow in [0, 1, 3, free.min(100) as u32, free.min(20_000) as u32] {
                        if let Some(l) = Layout::new(pid_bits, narrow_bits, wide, narrow) {
                            check_layout(l);
                        }
                    }
                }
            }
        }
    }

    /// The slots of `l` as (base, width, slot id, class), from the definition.
    fn slots_of(l: Layout) -> Vec<(u64, u32, u32, Class)> {
        let (p, nb, w) = (l.pid_bits(), l.narrow_bits(), l.slots(Class::Wide));
        let start = (u64::from(w) + 1) << p;
        let wide = (1..=w).map(|s| (u64::from(s) << p, p, s, Class::Wide));
        let narrow = (0..l.slots(Class::Narrow))
            .map(|n| (start + (u64::from(n) << nb), nb, w + 1 + n, Class::Narrow));
        wide.chain(narrow).collect()
    }

    fn check_layout(l: Layout) {
        let slots = slots_of(l);
        let search = |v: u32| -> Split {
            let v64 = u64::from(v);
            if v64 < 1 << l.pid_bits() {
                return Split::Plain(v);
            }
            let i = slots.partition_point(|&(base, ..)| base <= v64);
            match i.checked_sub(1).map(|i| slots[i]) {
                Some((base, bits, slot_id, class)) if v64 - base < 1 << bits => Split::Slot {
                    class,
                    slot_id,
                    nr: (v64 - base) as u32,
                },
                _ => Split::Unused,
            }
        };
        // Around every slot's edges (the first and last few slots, to keep the test quick).
        let picked = slots.iter().take(70).chain(slots.iter().rev().take(70));
        let mut values: Vec<u64> = vec![
            0,
            1,
            1 << l.pid_bits(),
            SPACE - 1,
            SPACE,
            u64::from(u32::MAX),
        ];
        for &(base, bits, slot_id, class) in picked {
            let end = base + (1 << bits);
            values.extend([base, base + 1, end - 1, end]);
            assert_eq!(l.base(slot_id), Some((base as u32, class)));
            assert_eq!(l.class(slot_id), Some(class));
            let max = l.max_nr(class);
            assert_eq!(u64::from(max), (1 << bits) - 1);
            for nr in [1, max / 2 + 1, max] {
                let v = l.make(slot_id, nr).unwrap();
                assert_eq!(l.split(v), Split::Slot { class, slot_id, nr }, "{l:?}");
            }
            assert_eq!(
                errno(l.make(slot_id, max + 1)),
                Some(libc::EOVERFLOW),
                "{l:?}"
            );
        }
        let end = u64::from(l.narrow_end());
        values.extend([end.saturating_sub(1), end, end + 1]);
        for v in values
            .into_iter()
            .flat_map(|v| [v.saturating_sub(1), v, v + 1])
        {
            let Ok(v) = u32::try_from(v) else { continue };
            assert_eq!(l.split(v), search(v), "{l:?} value {v:#x}");
        }
        assert_eq!(l.class(l.max_slot() + 1), None);
        assert_eq!(errno(l.make(l.max_slot() + 1, 1)), Some(libc::EINVAL));
    }

    #[test]
    fn from_version_checks_the_answer() {
        let v = |abi, pid_bits, narrow_bits, wide, narrow, start| GpidVersion {
            abi_version: abi,
            pid_bits,
            features: 1,
            narrow_bits,
            wide_slots: wide,
            narrow_slots: narrow,
            narrow_start: start,
        };
        assert_eq!(
            Layout::from_version(&v(2, 22, 16, 64, 12224, 0x1040_0000)).unwrap(),
            L64
        );
        assert_eq!(
            Layout::from_version(&v(2, 22, 16, 65, 12160, 0x1080_0000)).unwrap(),
            Layout::DEFAULT
        );
        // An ABI 1 module's 16-byte answer: no layout in it.
        let e = Layout::from_version(&v(1, 22, 0, 0, 0, 0)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(e.to_string().contains("ABI 1"), "{e}");
        let bad = |v: GpidVersion| Layout::from_version(&v).unwrap_err().raw_os_error();
        assert_eq!(
            bad(v(2, 22, 16, 64, 12224, 0x1000_0000)),
            Some(libc::EINVAL)
        );
        assert_eq!(
            bad(v(2, 22, 16, 64, 12225, 0x1040_0000)),
            Some(libc::EINVAL)
        );
        assert_eq!(bad(v(2, 22, 23, 64, 0, 0x1040_0000)), Some(libc::EINVAL));
        assert_eq!(bad(v(2, 30, 16, 0, 0, 1 << 30)), Some(libc::EINVAL));
    }

    #[test]
    fn shown_as_people_read_it() {
        let l = L64;
        assert_eq!(l.display(0x40_0005), "1:5 (0x400005, wide)");
        assert_eq!(l.display(0x1040_0007), "65:7 (0x10400007, narrow)");
        assert_eq!(l.display(7), "0:7 (0x7)");
        assert_eq!(l.display(1 << 30), "unused (0x40000000)");
        assert_eq!(l.split(0x1040_0007).to_string(), "slot 65 (narrow) nr 7");
        assert_eq!(l.split(0x40_0005).to_string(), "slot 1 (wide) nr 5");
        assert_eq!(l.split(7).to_string(), "plain nr 7");
        assert_eq!(l.split(u32::MAX).to_string(), "unused");
        assert_eq!(l.split(0x1040_0007).nr(), Some(7));
        assert_eq!(l.split(7).nr(), Some(7));
        assert_eq!(l.split(u32::MAX).nr(), None);
        // Unused only past the last narrow slot: a smaller layout leaves a gap at the top.
        let l = Layout::new(22, 16, 2, 3).unwrap();
        assert_eq!(l.narrow_end(), (3 << 22) + (3 << 16));
        assert_eq!(
            l.split(l.narrow_end() - 1),
            Split::Slot {
                class: Class::Narrow,
                slot_id: 5,
                nr: 65535
            }
        );
        assert_eq!(l.split(l.narrow_end()), Split::Unused);
    }
}
