// SPDX-License-Identifier: GPL-2.0

//! Which of a namespace's slots names each of its PIDs.
//!
//! A namespace holds at most one slot of each [`Class`] of a [`Layout`]. Its PID `nr` then has
//! exactly one *canonical* gpid ([`Binding::canonical`]):
//! - in its narrow slot, if it holds one and `nr` fits it (`nr < 2^narrow_bits`);
//! - otherwise in its wide slot, if it holds one;
//! - otherwise none yet: the namespace needs a slot, narrow for a PID that fits one, wide for a
//!   larger PID.
//!
//! Slots are only ever added while a namespace is bound, and only in the order the rule
//! allows ([`Binding::may_take`]): a narrow slot first, to a namespace that holds nothing; a
//! wide slot to a namespace without one, beside its narrow slot (a *promotion*) or alone. So a
//! namespace that got a wide slot first never gets a narrow one. That is what keeps canonical
//! gpids stable: a PID that had a canonical gpid keeps it as long as the namespace is bound,
//! since a promotion only gives a gpid to PIDs the narrow slot cannot hold, which had none.
//!
//! Every other value of a namespace's slots names nothing ([`Binding::names`]): in particular
//! the wide-slot values of the PIDs below `2^narrow_bits` of a promoted namespace, whose
//! canonical gpids are in its narrow slot.

use super::encoding::EncodingError;
use super::layout::{Class, Layout, SlotId};

/// One slot a namespace holds: its index within its class and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Held {
    /// The slot's index within its class (see [`SlotId`]).
    pub index: u32,
    /// The slot's generation when the namespace took it; never 0.
    pub generation: u32,
}

/// The slots one namespace holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Binding {
    /// Its narrow slot, if it holds one.
    pub narrow: Option<Held>,
    /// Its wide slot, if it holds one.
    pub wide: Option<Held>,
}

/// What [`Binding::canonical`] found for a PID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Canonical {
    /// The PID's canonical gpid, in `slot`.
    Gpid {
        /// The slot of the gpid.
        slot: SlotId,
        /// The gpid.
        gpid: u32,
    },
    /// The PID has no gpid until the namespace takes a slot of this class.
    Needs(Class),
}

impl Binding {
    /// A namespace that holds no slot.
    pub const UNBOUND: Self = Self {
        narrow: None,
        wide: None,
    };

    /// The namespace's slot of `class`, if it holds one.
    pub const fn slot(&self, class: Class) -> Option<SlotId> {
        let held = match class {
            Class::Wide => self.wide,
            Class::Narrow => self.narrow,
        };
        match held {
            Some(h) => Some(SlotId {
                class,
                index: h.index,
            }),
            None => None,
        }
    }

    /// The slot the namespace took first: its narrow slot if it holds one, else its wide slot.
    /// The namespace is known by this slot, e.g. in a reverse index.
    pub const fn owner(&self) -> Option<SlotId> {
        match self.slot(Class::Narrow) {
            Some(s) => Some(s),
            None => self.slot(Class::Wide),
        }
    }

    /// Whether the namespace may take a slot of `class` now: a narrow one only while it holds
    /// nothing, a wide one while it holds no wide one.
    pub const fn may_take(&self, class: Class) -> bool {
        match class {
            Class::Narrow => self.narrow.is_none() && self.wide.is_none(),
            Class::Wide => self.wide.is_none(),
        }
    }

    /// The canonical gpid of the namespace's PID `nr`, or the class of slot it needs first.
    ///
    /// Fails with [`EncodingError::Invalid`] for PID 0 or a held slot the layout does not have,
    /// and with [`EncodingError::Overflow`] for a PID not even a wide slot holds. Constant
    /// time.
    pub const fn canonical(&self, layout: Layout, nr: u32) -> Result<Canonical, EncodingError> {
        if nr == 0 {
            return Err(EncodingError::Invalid);
        }
        if nr > layout.max_nr(Class::Wide) {
            return Err(EncodingError::Overflow);
        }
        let fits_narrow = nr <= layout.max_nr(Class::Narrow);
        let slot = match (
            fits_narrow,
            self.slot(Class::Narrow),
            self.slot(Class::Wide),
        ) {
            (true, Some(narrow), _) => narrow,
            (_, _, Some(wide)) => wide,
            (true, None, None) => return Ok(Canonical::Needs(Class::Narrow)),
            (false, _, None) => return Ok(Canonical::Needs(Class::Wide)),
        };
        match layout.encode(slot, nr) {
            Ok(gpid) => Ok(Canonical::Gpid { slot, gpid }),
            Err(e) => Err(e),
        }
    }

    /// Whether the value of PID `nr` in `slot` (as [`Layout::decode`] found it) is the
    /// namespace's canonical gpid of `nr`; if not, the value names nothing.
    pub fn names(&self, layout: Layout, slot: SlotId, nr: u32) -> bool {
        matches!(self.canonical(layout, nr), Ok(Canonical::Gpid { slot: s, .. }) if s == slot)
    }
}

#[cfg(all(test, not(loom)))]
pub(crate) mod tests {
    use super::*;
    use crate::layout::Decoded;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const fn held(index: u32) -> Option<Held> {
        Some(Held {
            index,
            generation: 1,
        })
    }

    #[test]
    fn the_rule() {
        let l = Layout::DEFAULT;
        let none = Binding::UNBOUND;
        let narrow = Binding {
            narrow: held(3),
            wide: None,
        };
        let wide = Binding {
            narrow: None,
            wide: held(5),
        };
        let both = Binding {
            narrow: held(3),
            wide: held(5),
        };
        let gpid = |slot, nr| {
            Ok(Canonical::Gpid {
                slot,
                gpid: l.encode(slot, nr).unwrap(),
            })
        };
        let (n3, w5) = (SlotId::narrow(3), SlotId::wide(5));

        for b in [none, narrow, wide, both] {
            assert_eq!(b.canonical(l, 0), Err(EncodingError::Invalid));
            assert_eq!(b.canonical(l, 1 << 22), Err(EncodingError::Overflow));
            assert_eq!(b.canonical(l, u32::MAX), Err(EncodingError::Overflow));
        }
        assert_eq!(none.canonical(l, 1), Ok(Canonical::Needs(Class::Narrow)));
        assert_eq!(
            none.canonical(l, 65535),
            Ok(Canonical::Needs(Class::Narrow))
        );
        assert_eq!(none.canonical(l, 65536), Ok(Canonical::Needs(Class::Wide)));
        assert_eq!(narrow.canonical(l, 65535), gpid(n3, 65535));
        assert_eq!(
            narrow.canonical(l, 65536),
            Ok(Canonical::Needs(Class::Wide))
        );
        assert_eq!(wide.canonical(l, 1), gpid(w5, 1));
        assert_eq!(wide.canonical(l, 65536), gpid(w5, 65536));
        assert_eq!(both.canonical(l, 65535), gpid(n3, 65535));
        assert_eq!(both.canonical(l, 65536), gpid(w5, 65536));
        assert_eq!(both.canonical(l, (1 << 22) - 1), gpid(w5, (1 << 22) - 1));

        // The other values of a promoted namespace's wide slot name nothing.
        assert!(!both.names(l, w5, 65535));
        assert!(both.names(l, w5, 65536));
        assert!(both.names(l, n3, 1));
        assert!(wide.names(l, w5, 1));
        assert!(!wide.names(l, SlotId::wide(4), 1));
        assert!(!both.names(l, SlotId::narrow(4), 1));
        assert!(!none.names(l, n3, 1));
        assert!(!both.names(l, n3, 0));

        assert!(none.may_take(Class::Narrow) && none.may_take(Class::Wide));
        assert!(!narrow.may_take(Class::Narrow) && narrow.may_take(Class::Wide));
        assert!(!wide.may_take(Class::Narrow) && !wide.may_take(Class::Wide));
        assert!(!both.may_take(Class::Narrow) && !both.may_take(Class::Wide));
        assert_eq!(none.owner(), None);
        assert_eq!(wide.owner(), Some(w5));
        assert_eq!(both.owner(), Some(n3));
        assert_eq!(both.slot(Class::Wide), Some(w5));

        // A slot the layout does not have yields no gpid.
        let bad = Binding {
            narrow: held(12224),
            wide: None,
        };
        assert_eq!(bad.canonical(l, 1), Err(EncodingError::Invalid));
        assert!(!bad.names(l, SlotId::narrow(12224), 1));
    }

    #[test]
    fn single_class_never_promotes() {
        let l = Layout::new(22, 22, 100, 155).unwrap();
        let b = Binding {
            narrow: held(0),
            wide: None,
        };
        for nr in [1, 65535, 65536, (1 << 22) - 1] {
            assert!(
                matches!(b.canonical(l, nr), Ok(Canonical::Gpid { slot, .. }) if slot == SlotId::narrow(0))
            );
        }
        assert_eq!(b.canonical(l, 1 << 22), Err(EncodingError::Overflow));
    }

    fn layout_and_binding() -> impl Strategy<Value = (Layout, Binding)> {
        crate::layout::tests::layouts()
            .prop_flat_map(|l| {
                let held = |class| {
                    let slots = l.slots(class);
                    let first = u32::from(class == Class::Wide);
                    proptest::option::of((first..first + slots.max(1), 1u32..4)).prop_map(
                        move |h| {
                            h.filter(|_| slots > 0)
                                .map(|(index, generation)| Held { index, generation })
                        },
                    )
                };
                (Just(l), held(Class::Narrow), held(Class::Wide))
            })
            .prop_map(|(l, narrow, wide)| (l, Binding { narrow, wide }))
    }

    /// A PID below, at and above each edge of the layout, or anywhere.
    pub(crate) fn nr() -> impl Strategy<Value = (u8, u32)> {
        (0u8..8, any::<u32>())
    }

    pub(crate) fn pick_nr(l: Layout, (kind, r): (u8, u32)) -> u32 {
        let (narrow, wide) = (l.max_nr(Class::Narrow), l.max_nr(Class::Wide));
        match kind {
            0 => r % narrow + 1,
            1 => narrow
                .saturating_add(1)
                .saturating_add(r % (wide - narrow).max(1))
                .min(wide),
            2 => narrow,
            3 => narrow + 1,
            4 => wide,
            5 => wide + 1,
            6 => 0,
            _ => r,
        }
    }

    proptest! {
        /// The canonical gpid of a PID is where the rule says, and is the only value of the
        /// namespace's slots that names that PID.
        #[test]
        fn one_canonical_gpid((l, b) in layout_and_binding(), n in nr()) {
            let nr = pick_nr(l, n);
            let got = b.canonical(l, nr);
            let fits = |class| nr <= l.max_nr(class);
            if nr == 0 {
                prop_assert_eq!(got, Err(EncodingError::Invalid));
                return Ok(());
            }
            if !fits(Class::Wide) {
                prop_assert_eq!(got, Err(EncodingError::Overflow));
                return Ok(());
            }
            let want = if fits(Class::Narrow) && b.narrow.is_some() {
                Some(Class::Narrow)
            } else if b.wide.is_some() {
                Some(Class::Wide)
            } else {
                None
            };
            let mut named = 0;
            for class in [Class::Narrow, Class::Wide] {
                if let Some(slot) = b.slot(class) {
                    let is_it = b.names(l, slot, nr);
                    prop_assert_eq!(is_it, want == Some(class));
                    named += usize::from(is_it);
                    if let Ok(v) = l.encode(slot, nr) {
                        prop_assert_eq!(l.decode(v), Ok(Decoded::Qualified { slot, nr }));
                    }
                }
            }
            prop_assert_eq!(named, usize::from(want.is_some()));
            match (want, got) {
                (Some(class), Ok(Canonical::Gpid { slot, gpid })) => {
                    prop_assert_eq!(Some(slot), b.slot(class));
                    prop_assert_eq!(l.encode(slot, nr), Ok(gpid));
                }
                (None, Ok(Canonical::Needs(class))) => {
                    let need = if fits(Class::Narrow) && b.narrow.is_none() { Class::Narrow } else { Class::Wide };
                    prop_assert_eq!(class, need);
                    prop_assert!(b.may_take(class));
                }
                (want, got) => prop_assert!(false, "want {:?}, got {:?}", want, got),
            }
        }

        /// Taking slots as the rule allows, a PID's canonical gpid, once it has one, never
        /// changes; and a namespace whose pid_max fits a narrow slot never needs a wide one.
        #[test]
        fn canonical_gpids_are_stable(
            l in crate::layout::tests::layouts(),
            pid_max in any::<u32>(),
            nrs in proptest::collection::vec(nr(), 1..40),
        ) {
            let narrow_only = l.class_for_pid_max(pid_max) == Some(Class::Narrow);
            let mut b = Binding::UNBOUND;
            let mut seen = BTreeMap::new();
            let mut next = [0u32, 1];
            for n in nrs {
                let nr = pick_nr(l, n);
                if narrow_only && nr >= pid_max {
                    continue;
                }
                let Ok(c) = b.canonical(l, nr) else { continue };
                let c = match c {
                    Canonical::Needs(class) => {
                        prop_assert!(b.may_take(class));
                        prop_assert!(!(narrow_only && class == Class::Wide));
                        let i = usize::from(class == Class::Wide);
                        if next[i] >= l.slots(class) + u32::from(class == Class::Wide) {
                            continue;
                        }
                        let h = Some(Held { index: next[i], generation: 1 });
                        next[i] += 1;
                        match class { Class::Narrow => b.narrow = h, Class::Wide => b.wide = h }
                        b.canonical(l, nr).unwrap()
                    }
                    c => c,
                };
                let Canonical::Gpid { gpid, .. } = c else {
                    return Err(TestCaseError::fail("no gpid after taking the slot"));
                };
                prop_assert_eq!(*seen.entry(nr).or_insert(gpid), gpid);
                for (&nr, &gpid) in &seen {
                    let now = b.canonical(l, nr);
                    prop_assert!(matches!(now, Ok(Canonical::Gpid { gpid: g, .. }) if g == gpid), "{:?}", now);
                }
            }
        }
    }
}
