// SPDX-License-Identifier: GPL-2.0

//! The gpid value space divided into slots of two widths (issue #13).
//!
//! [`Encoding`] gives every namespace `pid_bits` PID bits, so with the 22 bits that
//! `PID_MAX_LIMIT` needs only 255 namespaces fit in [`FUTEX_TID_MASK`]. Most namespaces never
//! hand out a PID above 65535, so a [`Layout`] also has *narrow* slots of `narrow_bits` bits:
//!
//! ```text
//! [0, 2^pid_bits)                                    plain PIDs: "nr in my own namespace"
//! [w << pid_bits, (w + 1) << pid_bits)               wide slot w, for w in 1..=W
//! [narrow_start + (n << narrow_bits), ... + 2^narrow_bits)
//!                                                    narrow slot n, for n in 0..N
//! [narrow_end, 2^30)                                 unused: decodes to nothing
//! ```
//!
//! with `narrow_start = (W + 1) << pid_bits` and `narrow_end = narrow_start + (N <<
//! narrow_bits)`. Wide slot `w` covers exactly the values of nsid `w` in an [`Encoding`] with the
//! same `pid_bits`, so gpids made before the split keep their meaning for nsids up to `W`.
//!
//! This module is arithmetic only: which namespace holds a slot, and which of a namespace's
//! slots is canonical for a PID, are [`crate::binding`] and [`crate::slots`].

use super::encoding::{Encoding, EncodingError, FUTEX_TID_MASK, GPID_BITS};

/// The two widths of slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// `pid_bits` wide: holds every PID the system can hand out.
    Wide,
    /// `narrow_bits` wide: holds PIDs below `2^narrow_bits` only.
    Narrow,
}

/// One slot of a [`Layout`]: its class and its index within the class.
///
/// Wide indices are `1..=wide_slots` (0 would be the plain range); narrow indices are
/// `0..narrow_slots`. [`Layout::id`] gives the compact `u32` form the UAPI reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId {
    /// The slot's class.
    pub class: Class,
    /// The slot's index within its class.
    pub index: u32,
}

impl SlotId {
    /// Wide slot `index`.
    pub const fn wide(index: u32) -> Self {
        Self {
            class: Class::Wide,
            index,
        }
    }

    /// Narrow slot `index`.
    pub const fn narrow(index: u32) -> Self {
        Self {
            class: Class::Narrow,
            index,
        }
    }
}

/// A gpid taken apart by [`Layout::decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decoded {
    /// A plain PID, read in the caller's own namespace; never 0.
    Unqualified(u32),
    /// PID `nr` (never 0) of whatever namespace holds `slot`. Whether one does, and whether this
    /// is that namespace's canonical gpid for `nr`, is for [`crate::slots`] to say.
    Qualified {
        /// The slot the value lies in.
        slot: SlotId,
        /// The PID inside the slot's namespace.
        nr: u32,
    },
}

/// Why a [`Layout`] could not be made.
///
/// The kernel would report all of them as `EINVAL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// `pid_bits` outside [`Layout::MIN_PID_BITS`]`..=`[`Layout::MAX_PID_BITS`].
    BadPidBits,
    /// `narrow_bits` below [`Layout::MIN_PID_BITS`] or above `pid_bits`.
    BadNarrowBits,
    /// The plain range, the wide slots and the narrow slots together pass `2^30`.
    TooLarge,
}

/// The values below this are the gpid space: one more than [`FUTEX_TID_MASK`].
const SPACE: u64 = 1 << GPID_BITS;

/// `2^bits - 1`, for `bits < 32`.
const fn low_mask(bits: u32) -> u32 {
    1u32.wrapping_shl(bits).wrapping_sub(1)
}

/// Where the narrow region starts, in `u64` so that any `wide_slots` can be checked against
/// [`SPACE`]: at most `2^32 << 29`, no overflow.
const fn narrow_start_u64(pid_bits: u32, wide_slots: u32) -> u64 {
    ((wide_slots as u64) + 1) << pid_bits
}

/// How many narrow slots fit above `wide_slots` wide slots (0 if the wide ones do not fit).
const fn room_u64(pid_bits: u32, narrow_bits: u32, wide_slots: u32) -> u64 {
    SPACE.saturating_sub(narrow_start_u64(pid_bits, wide_slots)) >> narrow_bits
}

/// A division of the gpid space into the plain range, wide slots and narrow slots.
///
/// Every field is checked once, in [`new`](Self::new) or [`fitted`](Self::fitted), which is what
/// lets the arithmetic below use wrapping operations: no value it computes exceeds `2^30`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pid_bits: u32,
    narrow_bits: u32,
    wide_slots: u32,
    narrow_slots: u32,
    narrow_start: u32,
    narrow_end: u32,
}

impl Default for Layout {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Layout {
    /// The fewest bits of either class, as for [`Encoding`].
    pub const MIN_PID_BITS: u32 = Encoding::MIN_PID_BITS;
    /// The most `pid_bits`, as for [`Encoding`]: wide slot 1 must still fit.
    pub const MAX_PID_BITS: u32 = Encoding::MAX_PID_BITS;
    /// The default `pid_bits`: every PID up to `PID_MAX_LIMIT - 1` fits a wide slot.
    pub const DEFAULT_PID_BITS: u32 = Encoding::DEFAULT_PID_BITS;
    /// The default `narrow_bits`: a narrow slot holds PIDs up to 65535.
    pub const DEFAULT_NARROW_BITS: u32 = 16;
    /// The default number of wide slots.
    ///
    /// Every wide slot costs `2^(pid_bits - narrow_bits)` narrow ones (64 at the defaults), and
    /// wide slots serve only namespaces that hand out PIDs above 65535, so this is the fewest
    /// that meet the target of issue #13 (64 namespaces with PIDs up to 4194303) besides the
    /// initial namespace, which the module binds to wide slot 1; it leaves the most narrow
    /// slots.
    pub const DEFAULT_WIDE_SLOTS: u32 = 65;
    /// The default number of narrow slots asked for; [`fitted`](Self::fitted) caps it to what
    /// fits (12160 at the other defaults).
    pub const DEFAULT_NARROW_SLOTS: u32 = 16384;
    /// The layout [`fitted`](Self::fitted) makes of the four defaults: 65 wide slots of 22 bits,
    /// then `(256 - 66) * 64 = 12160` narrow slots of 16 bits, which end exactly at `2^30`.
    pub const DEFAULT: Self = match Self::fitted(
        Self::DEFAULT_PID_BITS,
        Self::DEFAULT_NARROW_BITS,
        Self::DEFAULT_WIDE_SLOTS,
        Self::DEFAULT_NARROW_SLOTS,
    ) {
        Ok(layout) => layout,
        // Not reached: 66 wide slots of 22 bits fit in 2^30 (a test checks). A const cannot
        // panic here without failing the build, so this just names a valid layout.
        Err(_) => Self::build(Self::DEFAULT_PID_BITS, Self::DEFAULT_NARROW_BITS, 0, 0),
    };

    /// Makes the layout, without checks: for values [`check_bits`](Self::check_bits) and the
    /// room check accepted.
    const fn build(pid_bits: u32, narrow_bits: u32, wide_slots: u32, narrow_slots: u32) -> Self {
        let narrow_start = wide_slots.wrapping_add(1).wrapping_shl(pid_bits);
        Self {
            pid_bits,
            narrow_bits,
            wide_slots,
            narrow_slots,
            narrow_start,
            narrow_end: narrow_start.wrapping_add(narrow_slots.wrapping_shl(narrow_bits)),
        }
    }

    const fn check_bits(pid_bits: u32, narrow_bits: u32) -> Result<(), LayoutError> {
        if pid_bits < Self::MIN_PID_BITS || pid_bits > Self::MAX_PID_BITS {
            return Err(LayoutError::BadPidBits);
        }
        if narrow_bits < Self::MIN_PID_BITS || narrow_bits > pid_bits {
            return Err(LayoutError::BadNarrowBits);
        }
        Ok(())
    }

    /// How many narrow slots of `narrow_bits` fit above `wide_slots` wide slots of `pid_bits`.
    ///
    /// Fails as [`new`](Self::new) does for bad bits, and with [`LayoutError::TooLarge`] if the
    /// wide slots alone pass `2^30`.
    pub const fn room(
        pid_bits: u32,
        narrow_bits: u32,
        wide_slots: u32,
    ) -> Result<u32, LayoutError> {
        if let Err(e) = Self::check_bits(pid_bits, narrow_bits) {
            return Err(e);
        }
        if narrow_start_u64(pid_bits, wide_slots) > SPACE {
            return Err(LayoutError::TooLarge);
        }
        // At most 2^30 >> 8.
        Ok(room_u64(pid_bits, narrow_bits, wide_slots) as u32)
    }

    /// Makes a layout with exactly `wide_slots` wide slots of `pid_bits` bits and `narrow_slots`
    /// narrow slots of `narrow_bits` bits.
    ///
    /// Fails with [`LayoutError::BadPidBits`] unless `MIN_PID_BITS <= pid_bits <= MAX_PID_BITS`,
    /// with [`LayoutError::BadNarrowBits`] unless `MIN_PID_BITS <= narrow_bits <= pid_bits`, and
    /// with [`LayoutError::TooLarge`] if the slots do not all fit below `2^30`.
    ///
    /// With `narrow_bits == pid_bits` the two classes have one width: the layout is then that of
    /// an [`Encoding`] with nsids `1..=wide_slots + narrow_slots` (see [`id`](Self::id)), and no
    /// namespace ever needs a second slot.
    pub const fn new(
        pid_bits: u32,
        narrow_bits: u32,
        wide_slots: u32,
        narrow_slots: u32,
    ) -> Result<Self, LayoutError> {
        Self::make(pid_bits, narrow_bits, wide_slots, narrow_slots, false)
    }

    /// As [`new`](Self::new), but with `narrow_slots` lowered to the [`room`](Self::room) left
    /// if more were asked for: for a configured maximum that should never fail the load.
    pub const fn fitted(
        pid_bits: u32,
        narrow_bits: u32,
        wide_slots: u32,
        narrow_slots: u32,
    ) -> Result<Self, LayoutError> {
        Self::make(pid_bits, narrow_bits, wide_slots, narrow_slots, true)
    }

    /// [`new`](Self::new) and, with `cap`, [`fitted`](Self::fitted).
    const fn make(
        pid_bits: u32,
        narrow_bits: u32,
        wide_slots: u32,
        narrow_slots: u32,
        cap: bool,
    ) -> Result<Self, LayoutError> {
        let room = match Self::room(pid_bits, narrow_bits, wide_slots) {
            Ok(room) => room,
            Err(e) => return Err(e),
        };
        let narrow_slots = if narrow_slots <= room {
            narrow_slots
        } else if cap {
            room
        } else {
            return Err(LayoutError::TooLarge);
        };
        Ok(Self::build(pid_bits, narrow_bits, wide_slots, narrow_slots))
    }

    /// The width of the plain range and of wide slots.
    pub const fn pid_bits(self) -> u32 {
        self.pid_bits
    }

    /// The width of narrow slots.
    pub const fn narrow_bits(self) -> u32 {
        self.narrow_bits
    }

    /// How many slots of `class` there are.
    pub const fn slots(self, class: Class) -> u32 {
        match class {
            Class::Wide => self.wide_slots,
            Class::Narrow => self.narrow_slots,
        }
    }

    /// How many bits of PID a slot of `class` holds.
    pub const fn bits(self, class: Class) -> u32 {
        match class {
            Class::Wide => self.pid_bits,
            Class::Narrow => self.narrow_bits,
        }
    }

    /// The largest PID a slot of `class` holds: `2^bits(class) - 1`.
    pub const fn max_nr(self, class: Class) -> u32 {
        low_mask(self.bits(class))
    }

    /// The largest plain PID: `2^pid_bits - 1`, as large as a wide slot's.
    pub const fn max_unqualified(self) -> u32 {
        low_mask(self.pid_bits)
    }

    /// The first value of narrow slot 0: `(wide_slots + 1) << pid_bits`.
    pub const fn narrow_start(self) -> u32 {
        self.narrow_start
    }

    /// The first value past the last narrow slot; values from here to `2^30` decode to nothing.
    pub const fn narrow_end(self) -> u32 {
        self.narrow_end
    }

    /// The narrowest class whose slots hold every PID of a namespace with this `pid_max` (its
    /// PIDs are `1..pid_max`), or `None` if not even a wide slot does.
    ///
    /// A namespace whose `pid_max` gives [`Class::Narrow`] never needs a wide slot while that
    /// `pid_max` holds (see [`crate::binding::Binding::canonical`]).
    pub const fn class_for_pid_max(self, pid_max: u32) -> Option<Class> {
        let max_pid = pid_max.saturating_sub(1);
        if max_pid <= self.max_nr(Class::Narrow) {
            Some(Class::Narrow)
        } else if max_pid <= self.max_nr(Class::Wide) {
            Some(Class::Wide)
        } else {
            None
        }
    }

    /// Whether `slot` is one of this layout's.
    pub const fn contains(self, slot: SlotId) -> bool {
        match slot.class {
            Class::Wide => slot.index >= 1 && slot.index <= self.wide_slots,
            Class::Narrow => slot.index < self.narrow_slots,
        }
    }

    /// The first value of `slot` (the one with PID 0, itself not a gpid), or `None` if the layout
    /// has no such slot.
    pub const fn base(self, slot: SlotId) -> Option<u32> {
        if !self.contains(slot) {
            return None;
        }
        // In range, so the slot lies below narrow_end <= 2^30.
        Some(match slot.class {
            Class::Wide => slot.index.wrapping_shl(self.pid_bits),
            Class::Narrow => self
                .narrow_start
                .wrapping_add(slot.index.wrapping_shl(self.narrow_bits)),
        })
    }

    /// The largest compact slot id: `wide_slots + narrow_slots`.
    pub const fn max_id(self) -> u32 {
        // Both counts are at most 2^22, as each slot takes at least 2^8 of 2^30 values.
        self.wide_slots.wrapping_add(self.narrow_slots)
    }

    /// The compact `u32` form of `slot`, as the UAPI reports it: wide slot `w` is `w` (its nsid
    /// in the [`Encoding`] of the same `pid_bits`), narrow slot `n` is `wide_slots + 1 + n`, and
    /// 0 stays "unqualified". `None` if the layout has no such slot.
    pub const fn id(self, slot: SlotId) -> Option<u32> {
        if !self.contains(slot) {
            return None;
        }
        Some(match slot.class {
            Class::Wide => slot.index,
            Class::Narrow => self.wide_slots.wrapping_add(1).wrapping_add(slot.index),
        })
    }

    /// The slot with compact id `id`, or `None` for 0 and ids above [`max_id`](Self::max_id).
    pub const fn slot(self, id: u32) -> Option<SlotId> {
        if id == 0 || id > self.max_id() {
            None
        } else if id <= self.wide_slots {
            Some(SlotId::wide(id))
        } else {
            Some(SlotId::narrow(
                id.wrapping_sub(self.wide_slots).wrapping_sub(1),
            ))
        }
    }

    /// The plain gpid of PID `nr`: `nr` itself.
    ///
    /// Fails with [`EncodingError::Invalid`] for 0 and with [`EncodingError::Overflow`] above
    /// [`max_unqualified`](Self::max_unqualified), where the wide slots begin.
    pub const fn unqualified(self, nr: u32) -> Result<u32, EncodingError> {
        if nr == 0 {
            return Err(EncodingError::Invalid);
        }
        if nr > self.max_unqualified() {
            return Err(EncodingError::Overflow);
        }
        Ok(nr)
    }

    /// The value of PID `nr` in `slot`.
    ///
    /// Fails with [`EncodingError::Invalid`] if `nr` is 0 or the layout has no such slot, and
    /// with [`EncodingError::Overflow`] if `nr` exceeds the slot's [`max_nr`](Self::max_nr).
    /// The result is at most [`FUTEX_TID_MASK`] and never below `2^pid_bits`.
    pub const fn encode(self, slot: SlotId, nr: u32) -> Result<u32, EncodingError> {
        let Some(base) = self.base(slot) else {
            return Err(EncodingError::Invalid);
        };
        if nr == 0 {
            return Err(EncodingError::Invalid);
        }
        if nr > self.max_nr(slot.class) {
            return Err(EncodingError::Overflow);
        }
        // base is a multiple of 2^bits(class), so this is `base | nr`.
        Ok(base.wrapping_add(nr))
    }

    /// Takes `value` apart, in constant time: two comparisons, a shift and a mask.
    ///
    /// Fails with [`EncodingError::Invalid`] for a value above [`FUTEX_TID_MASK`], one whose PID
    /// part is 0, and one in the unused space from [`narrow_end`](Self::narrow_end) up.
    pub const fn decode(self, value: u32) -> Result<Decoded, EncodingError> {
        if value > FUTEX_TID_MASK {
            return Err(EncodingError::Invalid);
        }
        if value < self.narrow_start {
            let nr = value & low_mask(self.pid_bits);
            let index = value.wrapping_shr(self.pid_bits);
            return match (nr, index) {
                (0, _) => Err(EncodingError::Invalid),
                (_, 0) => Ok(Decoded::Unqualified(nr)),
                _ => Ok(Decoded::Qualified {
                    slot: SlotId::wide(index),
                    nr,
                }),
            };
        }
        if value < self.narrow_end {
            let offset = value.wrapping_sub(self.narrow_start);
            let nr = offset & low_mask(self.narrow_bits);
            if nr == 0 {
                return Err(EncodingError::Invalid);
            }
            return Ok(Decoded::Qualified {
                slot: SlotId::narrow(offset.wrapping_shr(self.narrow_bits)),
                nr,
            });
        }
        Err(EncodingError::Invalid)
    }
}

#[cfg(all(test, not(loom)))]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    #[test]
    fn defaults_meet_the_targets() {
        let l = Layout::DEFAULT;
        assert_eq!(l, Layout::default());
        assert_eq!(
            Layout::fitted(22, 16, 65, 16384),
            Ok(Layout::new(22, 16, 65, 12160).unwrap())
        );
        assert_eq!(Layout::fitted(22, 16, 65, 16384), Ok(l));
        // Issue #13: 8192 namespaces with PIDs to 65535, 64 of them with PIDs to 4194303,
        // besides the initial namespace's wide slot.
        assert!(l.slots(Class::Narrow) >= 8192);
        assert_eq!(l.slots(Class::Narrow), (256 - 66) * 64);
        assert_eq!(l.max_nr(Class::Narrow), 65535);
        assert!(l.slots(Class::Wide) > 64);
        assert_eq!(l.max_nr(Class::Wide), 4_194_303);
        assert_eq!(l.class_for_pid_max(4_194_304), Some(Class::Wide));
        assert_eq!(l.class_for_pid_max(65536), Some(Class::Narrow));
        assert_eq!(l.class_for_pid_max(65537), Some(Class::Wide));
        assert_eq!(l.class_for_pid_max(4_194_305), None);
        assert_eq!(l.class_for_pid_max(0), Some(Class::Narrow));
        // The defaults use the whole space: the last value is the last narrow slot's last PID.
        assert_eq!(l.narrow_start(), 66 << 22);
        assert_eq!(u64::from(l.narrow_end()), SPACE);
        assert_eq!(
            l.decode(FUTEX_TID_MASK),
            Ok(Decoded::Qualified {
                slot: SlotId::narrow(12159),
                nr: 65535
            })
        );
        assert_eq!(l.max_id(), 65 + 12160);
    }

    #[test]
    fn checks_parameters() {
        assert_eq!(Layout::new(7, 7, 1, 1), Err(LayoutError::BadPidBits));
        assert_eq!(Layout::new(30, 16, 1, 1), Err(LayoutError::BadPidBits));
        assert_eq!(
            Layout::new(u32::MAX, 16, 1, 1),
            Err(LayoutError::BadPidBits)
        );
        assert_eq!(Layout::new(22, 7, 1, 1), Err(LayoutError::BadNarrowBits));
        assert_eq!(Layout::new(22, 23, 1, 1), Err(LayoutError::BadNarrowBits));
        assert_eq!(
            Layout::new(22, u32::MAX, 1, 1),
            Err(LayoutError::BadNarrowBits)
        );
        // 255 wide slots fill the space, as the 255 nsids of the Encoding do.
        assert!(Layout::new(22, 16, 255, 0).is_ok());
        assert_eq!(Layout::new(22, 16, 256, 0), Err(LayoutError::TooLarge));
        assert_eq!(Layout::new(22, 16, u32::MAX, 0), Err(LayoutError::TooLarge));
        assert_eq!(
            Layout::fitted(22, 16, u32::MAX, 0),
            Err(LayoutError::TooLarge)
        );
        assert_eq!(Layout::new(22, 16, 255, 1), Err(LayoutError::TooLarge));
        assert_eq!(Layout::new(22, 16, 64, 12225), Err(LayoutError::TooLarge));
        assert_eq!(
            Layout::new(22, 16, 64, u32::MAX),
            Err(LayoutError::TooLarge)
        );
        assert_eq!(Layout::fitted(22, 16, 65, u32::MAX), Ok(Layout::DEFAULT));
        assert_eq!(Layout::room(22, 16, 64), Ok(12224));
        assert_eq!(Layout::room(22, 16, 255), Ok(0));
        assert_eq!(Layout::room(29, 29, 1), Ok(0));
        assert_eq!(Layout::room(29, 8, 2), Err(LayoutError::TooLarge));
        // The extremes of the bits.
        let l = Layout::new(29, 8, 1, 0).unwrap();
        assert_eq!(l.narrow_start(), 1 << 30);
        assert_eq!(
            l.decode(FUTEX_TID_MASK),
            Ok(Decoded::Qualified {
                slot: SlotId::wide(1),
                nr: (1 << 29) - 1
            })
        );
        let l = Layout::new(8, 8, 0, (1 << 22) - 1).unwrap();
        assert_eq!(u64::from(l.narrow_end()), SPACE);
        assert_eq!(l.max_id(), (1 << 22) - 1);
    }

    #[test]
    fn single_class_is_the_encoding() {
        for bits in Encoding::MIN_PID_BITS..=Encoding::MAX_PID_BITS {
            let e = Encoding::new(bits).unwrap();
            let wide = e.max_nsid() / 2;
            let l = Layout::new(bits, bits, wide, e.max_nsid() - wide).unwrap();
            assert_eq!(l.max_id(), e.max_nsid());
            assert_eq!(u64::from(l.narrow_end()), SPACE);
            for v in [
                0,
                1,
                e.max_nr(),
                e.max_nr() + 1,
                e.max_nr() + 2,
                FUTEX_TID_MASK,
            ] {
                assert_eq!(
                    decoded_as_gpid(l, v),
                    e.decode(v).ok(),
                    "bits {bits} value {v}"
                );
            }
        }
    }

    /// A decoded value as the [`Encoding`] would give it: compact id and PID.
    fn decoded_as_gpid(l: Layout, value: u32) -> Option<crate::encoding::Gpid> {
        match l.decode(value).ok()? {
            Decoded::Unqualified(nr) => Some(crate::encoding::Gpid { nsid: 0, nr }),
            Decoded::Qualified { slot, nr } => Some(crate::encoding::Gpid {
                nsid: l.id(slot)?,
                nr,
            }),
        }
    }

    #[test]
    fn boundaries_of_the_default() {
        let l = Layout::DEFAULT;
        let narrow0 = 66 << 22;
        let cases: &[(u32, Option<Decoded>)] = &[
            (0, None),
            (1, Some(Decoded::Unqualified(1))),
            ((1 << 22) - 1, Some(Decoded::Unqualified((1 << 22) - 1))),
            (1 << 22, None),
            (
                (1 << 22) + 1,
                Some(Decoded::Qualified {
                    slot: SlotId::wide(1),
                    nr: 1,
                }),
            ),
            (
                (2 << 22) - 1,
                Some(Decoded::Qualified {
                    slot: SlotId::wide(1),
                    nr: (1 << 22) - 1,
                }),
            ),
            (65 << 22, None),
            (
                narrow0 - 1,
                Some(Decoded::Qualified {
                    slot: SlotId::wide(65),
                    nr: (1 << 22) - 1,
                }),
            ),
            (narrow0, None),
            (
                narrow0 + 1,
                Some(Decoded::Qualified {
                    slot: SlotId::narrow(0),
                    nr: 1,
                }),
            ),
            (
                narrow0 + 65535,
                Some(Decoded::Qualified {
                    slot: SlotId::narrow(0),
                    nr: 65535,
                }),
            ),
            (narrow0 + 65536, None),
            (
                narrow0 + 65537,
                Some(Decoded::Qualified {
                    slot: SlotId::narrow(1),
                    nr: 1,
                }),
            ),
            (1 << 30, None),
            (u32::MAX, None),
        ];
        for &(value, want) in cases {
            assert_eq!(l.decode(value).ok(), want, "value {value:#x}");
            if want.is_none() {
                assert_eq!(l.decode(value), Err(EncodingError::Invalid));
            }
        }
        assert_eq!(l.encode(SlotId::wide(0), 1), Err(EncodingError::Invalid));
        assert_eq!(l.encode(SlotId::wide(66), 1), Err(EncodingError::Invalid));
        assert_eq!(
            l.encode(SlotId::narrow(12160), 1),
            Err(EncodingError::Invalid)
        );
        assert_eq!(l.encode(SlotId::narrow(0), 0), Err(EncodingError::Invalid));
        assert_eq!(
            l.encode(SlotId::narrow(0), 65536),
            Err(EncodingError::Overflow)
        );
        assert_eq!(
            l.encode(SlotId::wide(1), 1 << 22),
            Err(EncodingError::Overflow)
        );
        assert_eq!(l.encode(SlotId::wide(64), 5), Ok((64 << 22) + 5));
        assert_eq!(l.unqualified(0), Err(EncodingError::Invalid));
        assert_eq!(l.unqualified((1 << 22) - 1), Ok((1 << 22) - 1));
        assert_eq!(l.unqualified(1 << 22), Err(EncodingError::Overflow));
    }

    #[test]
    fn ids_of_the_default() {
        let l = Layout::DEFAULT;
        assert_eq!(l.slot(0), None);
        assert_eq!(l.slot(1), Some(SlotId::wide(1)));
        assert_eq!(l.slot(64), Some(SlotId::wide(64)));
        assert_eq!(l.slot(65), Some(SlotId::wide(65)));
        assert_eq!(l.slot(66), Some(SlotId::narrow(0)));
        assert_eq!(l.slot(65 + 12160), Some(SlotId::narrow(12159)));
        assert_eq!(l.slot(65 + 12161), None);
        assert_eq!(l.slot(u32::MAX), None);
        assert_eq!(l.id(SlotId::wide(0)), None);
        assert_eq!(l.id(SlotId::narrow(12160)), None);
        assert_eq!(l.id(SlotId::narrow(0)), Some(66));
    }

    /// Layouts of every shape, kept to a few dozen slots so that tests can visit every one.
    pub(crate) fn layouts() -> impl Strategy<Value = Layout> {
        (Layout::MIN_PID_BITS..=Layout::MAX_PID_BITS)
            .prop_flat_map(|p| {
                (
                    Just(p),
                    Layout::MIN_PID_BITS..=p,
                    0u32..=4,
                    0u32..=5,
                    any::<bool>(),
                )
            })
            .prop_filter_map("wide slots do not fit", |(p, nb, w, n, fill)| {
                let room = Layout::room(p, nb, w).ok()?;
                // `fill` reaches 2^30 whenever that takes few enough slots to visit.
                let n = if fill { room.min(48) } else { n.min(room) };
                Layout::new(p, nb, w, n).ok()
            })
    }

    /// Every slot of `l`, from the slot's own definition rather than the decoder's arithmetic:
    /// base value, width in bits and id.
    pub(crate) fn slot_ranges(l: Layout) -> BTreeMap<u64, (SlotId, u32)> {
        let (p, nb) = (l.pid_bits(), l.narrow_bits());
        let wide = (1..=l.slots(Class::Wide)).map(|w| (u64::from(w) << p, (SlotId::wide(w), p)));
        let start = (u64::from(l.slots(Class::Wide)) + 1) << p;
        let narrow = (0..l.slots(Class::Narrow))
            .map(|n| (start + (u64::from(n) << nb), (SlotId::narrow(n), nb)));
        wide.chain(narrow).collect()
    }

    /// The decoder by search: the range a value falls in, if any.
    pub(crate) fn model_decode(
        l: Layout,
        ranges: &BTreeMap<u64, (SlotId, u32)>,
        v: u32,
    ) -> Option<Decoded> {
        let v = u64::from(v);
        if v < 1 << l.pid_bits() {
            return (v != 0).then_some(Decoded::Unqualified(v as u32));
        }
        let (&base, &(slot, bits)) = ranges.range(..=v).next_back()?;
        let nr = v - base;
        (nr != 0 && nr < 1 << bits).then_some(Decoded::Qualified {
            slot,
            nr: nr as u32,
        })
    }

    /// The values around every edge of `l`: each slot's first and last values and the
    /// neighbours of both, the edge of the narrow PIDs inside each slot, and the ends of the
    /// regions.
    pub(crate) fn edges(l: Layout, ranges: &BTreeMap<u64, (SlotId, u32)>) -> Vec<u32> {
        let nb = 1u64 << l.narrow_bits();
        let mut out: Vec<u64> = std::vec![0, 1, 1 << l.pid_bits()];
        for (&base, &(_, bits)) in ranges {
            let end = base + (1 << bits);
            out.extend([base, base + 1, base + nb - 1, base + nb, end - 1, end]);
        }
        let (start, end) = (u64::from(l.narrow_start()), u64::from(l.narrow_end()));
        out.extend([
            start,
            start + 1,
            end,
            end + 1,
            SPACE - 1,
            SPACE,
            u64::from(u32::MAX),
        ]);
        out.iter()
            .flat_map(|&v| [v.wrapping_sub(1), v])
            .filter_map(|v| u32::try_from(v).ok())
            .collect()
    }

    proptest! {
        #[test]
        fn decode_matches_search(l in layouts(), extra in proptest::collection::vec(any::<u32>(), 8)) {
            let ranges = slot_ranges(l);
            for v in edges(l, &ranges).into_iter().chain(extra) {
                let got = l.decode(v);
                prop_assert_eq!(got.ok(), model_decode(l, &ranges, v), "value {:#x}", v);
                match got {
                    Ok(Decoded::Qualified { slot, nr }) => prop_assert_eq!(l.encode(slot, nr), Ok(v)),
                    Ok(Decoded::Unqualified(nr)) => prop_assert_eq!(l.unqualified(nr), Ok(v)),
                    Err(e) => prop_assert_eq!(e, EncodingError::Invalid),
                }
            }
        }

        #[test]
        fn encode_round_trips(l in layouts(), id in any::<u32>(), nr in any::<u32>(), class in any::<bool>()) {
            let class = if class { Class::Wide } else { Class::Narrow };
            let slots = l.slots(class);
            prop_assume!(slots > 0);
            let index = match class { Class::Wide => id % slots + 1, Class::Narrow => id % slots };
            let slot = SlotId { class, index };
            prop_assert_eq!(l.slot(l.id(slot).unwrap()), Some(slot));
            let nr = nr % l.max_nr(class) + 1;
            let v = l.encode(slot, nr).unwrap();
            prop_assert!(v <= FUTEX_TID_MASK);
            prop_assert!(v > l.max_unqualified());
            prop_assert_eq!(l.decode(v), Ok(Decoded::Qualified { slot, nr }));
            prop_assert_eq!(l.encode(slot, l.max_nr(class) + 1), Err(EncodingError::Overflow));
        }

        #[test]
        fn wide_slots_keep_the_encoding(l in layouts(), w in any::<u32>(), nr in any::<u32>()) {
            prop_assume!(l.slots(Class::Wide) > 0);
            let e = Encoding::new(l.pid_bits()).unwrap();
            let w = w % l.slots(Class::Wide) + 1;
            prop_assert_eq!(l.encode(SlotId::wide(w), nr), e.encode(w, nr));
            prop_assert_eq!(l.id(SlotId::wide(w)), Some(w));
        }

        #[test]
        fn ids_are_a_bijection(l in layouts(), id in any::<u32>()) {
            match l.slot(id) {
                Some(slot) => {
                    prop_assert!(l.contains(slot));
                    prop_assert_eq!(l.id(slot), Some(id));
                }
                None => prop_assert!(id == 0 || id > l.max_id()),
            }
        }
    }
}
