// SPDX-License-Identifier: GPL-2.0

//! The gpid encoding.
//!
//! A gpid is `(nsid << pid_bits) | nr`: `nr` is a PID as seen inside one PID namespace and `nsid`
//! names that namespace. nsid 0 means "unqualified": `nr` is then read in the caller's own PID
//! namespace, so that a plain PID is also a valid gpid. A gpid never exceeds [`FUTEX_TID_MASK`].

/// The bits of a futex word that hold the owner's TID (`FUTEX_TID_MASK` in `<linux/futex.h>`).
///
/// Every gpid fits in it, so that a gpid can be stored as the owner of a (robust or PI) futex.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Width of a gpid in bits: the number of bits set in [`FUTEX_TID_MASK`].
pub const GPID_BITS: u32 = FUTEX_TID_MASK.count_ones();

/// Why an encoding operation failed.
///
/// The kernel reports [`Invalid`](Self::Invalid) and [`BadPidBits`](Self::BadPidBits) as
/// `EINVAL` and [`Overflow`](Self::Overflow) as `EOVERFLOW`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodingError {
    /// Not a gpid, or not something a gpid can be made of: PID 0, a namespace id out of range,
    /// or a value with bits set above [`FUTEX_TID_MASK`].
    Invalid,
    /// A valid PID that is too large for the `pid_bits` in use.
    Overflow,
    /// A `pid_bits` outside [`Encoding::MIN_PID_BITS`]`..=`[`Encoding::MAX_PID_BITS`].
    BadPidBits,
}

/// A gpid taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gpid {
    /// The namespace id; 0 for an unqualified gpid.
    pub nsid: u32,
    /// The PID inside that namespace; never 0.
    pub nr: u32,
}

impl Gpid {
    /// Whether the gpid names no namespace, so that `nr` is read in the caller's own namespace.
    pub const fn is_unqualified(&self) -> bool {
        self.nsid == 0
    }
}

/// A split of the [`GPID_BITS`] bits of a gpid into namespace-id bits and PID bits.
///
/// The invariant `MIN_PID_BITS <= pid_bits <= MAX_PID_BITS` is checked once, in [`new`], which is
/// what lets every shift below use wrapping operations without losing correctness.
///
/// [`new`]: Self::new
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding {
    pid_bits: u32,
}

impl Default for Encoding {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Encoding {
    /// The fewest PID bits allowed: below this too few PIDs remain for a usable system.
    pub const MIN_PID_BITS: u32 = 8;
    /// The most PID bits allowed, leaving at least one bit, so namespace id 1, for namespaces.
    pub const MAX_PID_BITS: u32 = GPID_BITS - 1;
    /// The default: PID_MAX_LIMIT on 64-bit is `1 << 22`, so every PID fits and 255 namespace
    /// ids remain.
    pub const DEFAULT_PID_BITS: u32 = 22;
    /// The encoding with [`DEFAULT_PID_BITS`](Self::DEFAULT_PID_BITS).
    pub const DEFAULT: Self = Self {
        pid_bits: Self::DEFAULT_PID_BITS,
    };

    /// Makes an encoding with `pid_bits` low bits for the PID.
    ///
    /// Fails with [`EncodingError::BadPidBits`] unless `MIN_PID_BITS <= pid_bits <= MAX_PID_BITS`.
    pub const fn new(pid_bits: u32) -> Result<Self, EncodingError> {
        if pid_bits < Self::MIN_PID_BITS || pid_bits > Self::MAX_PID_BITS {
            return Err(EncodingError::BadPidBits);
        }
        Ok(Self { pid_bits })
    }

    /// How many low bits hold the namespace-local PID.
    pub const fn pid_bits(self) -> u32 {
        self.pid_bits
    }

    /// How many bits above the PID bits hold the namespace id; at least 1.
    pub const fn nsid_bits(self) -> u32 {
        GPID_BITS.wrapping_sub(self.pid_bits)
    }

    /// The largest namespace id, e.g. 255 with 22 PID bits. Ids `1..=max_nsid()` name
    /// namespaces.
    pub const fn max_nsid(self) -> u32 {
        FUTEX_TID_MASK.wrapping_shr(self.pid_bits)
    }

    /// The largest PID that can be encoded: `(1 << pid_bits) - 1`.
    pub const fn max_nr(self) -> u32 {
        FUTEX_TID_MASK.wrapping_shr(self.nsid_bits())
    }

    /// Whether every PID below `pid_max` (PIDs are `1..pid_max`, as with the `pid_max` sysctl)
    /// can be encoded.
    pub const fn fits_pid_max(self, pid_max: u32) -> bool {
        pid_max.saturating_sub(1) <= self.max_nr()
    }

    /// Builds the gpid of PID `nr` in the namespace with id `nsid` (0: unqualified).
    ///
    /// Fails with [`EncodingError::Invalid`] if `nr` is 0 or `nsid > max_nsid()`, and with
    /// [`EncodingError::Overflow`] if `nr > max_nr()`. The result is at most [`FUTEX_TID_MASK`].
    pub const fn encode(self, nsid: u32, nr: u32) -> Result<u32, EncodingError> {
        if nr == 0 || nsid > self.max_nsid() {
            return Err(EncodingError::Invalid);
        }
        if nr > self.max_nr() {
            return Err(EncodingError::Overflow);
        }
        Ok(nsid.wrapping_shl(self.pid_bits) | nr)
    }

    /// Takes a gpid apart.
    ///
    /// Fails with [`EncodingError::Invalid`] if `gpid` has bits set above [`FUTEX_TID_MASK`] or
    /// its PID part is 0. (Its namespace part can then not exceed `max_nsid()`.) Whether the
    /// namespace id is currently allocated is for the caller to find out.
    pub const fn decode(self, gpid: u32) -> Result<Gpid, EncodingError> {
        if gpid > FUTEX_TID_MASK {
            return Err(EncodingError::Invalid);
        }
        let nr = gpid & self.max_nr();
        if nr == 0 {
            return Err(EncodingError::Invalid);
        }
        Ok(Gpid {
            nsid: gpid.wrapping_shr(self.pid_bits),
            nr,
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_is_22_bits() {
        let e = Encoding::default();
        assert_eq!(e, Encoding::new(22).unwrap());
        assert_eq!(e.pid_bits(), 22);
        assert_eq!(e.nsid_bits(), 8);
        assert_eq!(e.max_nsid(), 255);
        assert_eq!(e.max_nr(), (1 << 22) - 1);
        assert_eq!(GPID_BITS, 30);
    }

    #[test]
    fn pid_bits_range() {
        assert_eq!(Encoding::new(7), Err(EncodingError::BadPidBits));
        assert_eq!(Encoding::new(30), Err(EncodingError::BadPidBits));
        assert_eq!(Encoding::new(0), Err(EncodingError::BadPidBits));
        assert_eq!(Encoding::new(u32::MAX), Err(EncodingError::BadPidBits));
        for bits in 8..=29 {
            let e = Encoding::new(bits).unwrap();
            assert_eq!(e.nsid_bits() + e.pid_bits(), 30);
            assert!(e.max_nsid() >= 1);
            assert_eq!(u64::from(e.max_nr()), (1u64 << bits) - 1);
            assert_eq!(u64::from(e.max_nsid()), (1u64 << (30 - bits)) - 1);
        }
        assert_eq!(Encoding::new(8).unwrap().max_nsid(), (1 << 22) - 1);
        assert_eq!(Encoding::new(29).unwrap().max_nsid(), 1);
    }

    #[test]
    fn bounds() {
        let e = Encoding::DEFAULT;
        assert_eq!(e.encode(0, 1), Ok(1));
        assert_eq!(e.encode(1, 1), Ok((1 << 22) | 1));
        assert_eq!(e.encode(255, e.max_nr()), Ok(FUTEX_TID_MASK));
        assert_eq!(e.encode(0, e.max_nr()), Ok(e.max_nr()));
        assert_eq!(e.encode(3, 0), Err(EncodingError::Invalid));
        assert_eq!(e.encode(0, 0), Err(EncodingError::Invalid));
        assert_eq!(e.encode(256, 1), Err(EncodingError::Invalid));
        assert_eq!(e.encode(u32::MAX, 1), Err(EncodingError::Invalid));
        assert_eq!(e.encode(1, 1 << 22), Err(EncodingError::Overflow));
        assert_eq!(e.encode(1, u32::MAX), Err(EncodingError::Overflow));

        assert_eq!(e.decode(0), Err(EncodingError::Invalid));
        assert_eq!(e.decode(5 << 22), Err(EncodingError::Invalid));
        assert_eq!(e.decode(FUTEX_TID_MASK + 1), Err(EncodingError::Invalid));
        assert_eq!(e.decode(1 << 30 | 1), Err(EncodingError::Invalid));
        assert_eq!(e.decode(1 << 31 | 1), Err(EncodingError::Invalid));
        assert_eq!(e.decode(u32::MAX), Err(EncodingError::Invalid));
        assert_eq!(
            e.decode(FUTEX_TID_MASK),
            Ok(Gpid {
                nsid: 255,
                nr: e.max_nr()
            })
        );
        let g = e.decode(42).unwrap();
        assert_eq!(g, Gpid { nsid: 0, nr: 42 });
        assert!(g.is_unqualified());
        assert!(!e.decode((7 << 22) | 42).unwrap().is_unqualified());
    }

    #[test]
    fn fits_pid_max() {
        let e = Encoding::DEFAULT;
        assert!(e.fits_pid_max(32768));
        assert!(e.fits_pid_max(4_194_304));
        assert!(!e.fits_pid_max(4_194_305));
        assert!(e.fits_pid_max(0));
        assert!(e.fits_pid_max(1));
        let e = Encoding::new(16).unwrap();
        assert!(e.fits_pid_max(32768));
        assert!(e.fits_pid_max(65536));
        assert!(!e.fits_pid_max(65537));
        assert!(!e.fits_pid_max(4_194_304));
        assert!(Encoding::new(29).unwrap().fits_pid_max(1 << 29));
        assert!(!Encoding::new(29).unwrap().fits_pid_max((1 << 29) + 1));
    }

    fn pid_bits() -> impl Strategy<Value = Encoding> {
        (Encoding::MIN_PID_BITS..=Encoding::MAX_PID_BITS).prop_map(|b| Encoding::new(b).unwrap())
    }

    proptest! {
        #[test]
        fn round_trip(e in pid_bits(), nsid in any::<u32>(), nr in any::<u32>()) {
            // Fold the random values into range so most cases exercise the success path.
            let nsid = nsid % (e.max_nsid() + 1);
            let nr = nr % e.max_nr() + 1;
            let gpid = e.encode(nsid, nr).unwrap();
            prop_assert!(gpid <= FUTEX_TID_MASK);
            prop_assert!(gpid != 0);
            prop_assert_eq!(e.decode(gpid), Ok(Gpid { nsid, nr }));
        }

        #[test]
        fn encode_matches_spec(e in pid_bits(), nsid in any::<u32>(), nr in any::<u32>()) {
            let r = e.encode(nsid, nr);
            let max_nsid = (1u64 << (30 - e.pid_bits())) - 1;
            let max_nr = (1u64 << e.pid_bits()) - 1;
            if nr == 0 || u64::from(nsid) > max_nsid {
                prop_assert_eq!(r, Err(EncodingError::Invalid));
            } else if u64::from(nr) > max_nr {
                prop_assert_eq!(r, Err(EncodingError::Overflow));
            } else {
                prop_assert_eq!(r, Ok(((u64::from(nsid) << e.pid_bits()) | u64::from(nr)) as u32));
            }
        }

        #[test]
        fn decode_then_encode(e in pid_bits(), gpid in any::<u32>()) {
            match e.decode(gpid) {
                Ok(g) => {
                    prop_assert!(g.nr != 0 && g.nr <= e.max_nr() && g.nsid <= e.max_nsid());
                    prop_assert_eq!(e.encode(g.nsid, g.nr), Ok(gpid));
                }
                Err(err) => {
                    prop_assert_eq!(err, EncodingError::Invalid);
                    prop_assert!(gpid > FUTEX_TID_MASK || gpid & e.max_nr() == 0);
                }
            }
        }
    }
}
