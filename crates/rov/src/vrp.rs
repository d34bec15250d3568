//! The VRP table and route origin validation.
//!
//! A [`VrpTable`] holds Validated ROA Payloads (prefix, maximum length,
//! origin AS) and ASPA records, and answers route origin validation as
//! specified in RFC 6811 §2: a VRP *covers* a route when its prefix
//! contains the route's prefix; it *matches* when, in addition, the route's
//! length is at most the VRP's maximum length and the route's origin AS
//! equals the VRP's AS. A route with a matching VRP is Valid, with only
//! covering VRPs Invalid, with none NotFound. A VRP for AS 0 (RFC 6483 §4,
//! RFC 7607) never matches, so it can only make routes Invalid. A route
//! whose origin cannot be determined (AS_PATH ends in an AS_SET, RFC 6811
//! §2 "NONE") never matches either.
//!
//! The table is immutable once built; the RTR client builds a new one on
//! every update and swaps it in (see [`crate::RpkiCache`]). Lookups use one
//! hash map per address family keyed by (masked address, length) and probe
//! only the prefix lengths that occur in the table, longest first: about
//! 17 probes for a real IPv4 table, each an O(1) hash lookup.
//!
//! This module does not fetch data and does not decide policy.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bgp_wire::Prefix;

use crate::aspa::AspaTable;

/// The result of route origin validation (RFC 6811 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RovState {
    /// A VRP matches the route (prefix covered, length allowed, same AS).
    Valid,
    /// At least one VRP covers the route and none matches.
    Invalid,
    /// No VRP covers the route.
    NotFound,
}

/// One Validated ROA Payload (RFC 6811 §2, RFC 8210 §5.6/§5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vrp {
    /// The ROA prefix.
    pub prefix: Prefix,
    /// The maximum length of an announced prefix (at least the prefix
    /// length, at most 32 or 128).
    pub max_len: u8,
    /// The authorised origin AS; 0 means "no AS may originate" (RFC 6483 §4).
    pub asn: u32,
}

/// Why a [`Vrp`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VrpError {
    /// The maximum length is shorter than the prefix or longer than the
    /// family allows.
    BadMaxLen {
        /// The prefix.
        prefix: Prefix,
        /// The offending maximum length.
        max_len: u8,
    },
}

impl std::fmt::Display for VrpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VrpError::BadMaxLen { prefix, max_len } => write!(
                f,
                "maximum length {max_len} is invalid for {prefix} \
                 (must be between the prefix length and {})",
                prefix.family().max_len()
            ),
        }
    }
}

impl std::error::Error for VrpError {}

impl Vrp {
    /// Builds a VRP, checking that `prefix.len() <= max_len <= 32/128`.
    pub fn new(prefix: Prefix, max_len: u8, asn: u32) -> Result<Vrp, VrpError> {
        if max_len < prefix.len() || max_len > prefix.family().max_len() {
            return Err(VrpError::BadMaxLen { prefix, max_len });
        }
        Ok(Vrp {
            prefix,
            max_len,
            asn,
        })
    }
}

/// A multiplicative hasher for the (address, length) keys: the keys are
/// integers we build ourselves, so SipHash's protection against chosen
/// keys buys nothing here and costs about half of the lookup time.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u128(&mut self, i: u128) {
        // Truncations intended: the two halves are mixed separately.
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// One family's index: VRPs grouped by exact prefix.
#[derive(Clone, Debug, Default)]
struct FamilyIndex {
    /// Prefix lengths present, longest first.
    lengths: Vec<u8>,
    /// (address, length) → range into `entries`.
    map: IntMap<(u128, u8), (u32, u32)>,
    /// (max_len, asn) of each VRP, grouped by prefix.
    entries: Vec<(u8, u32)>,
}

fn mask(bits: u8, len: u8) -> u128 {
    // `bits` is 32 or 128; for IPv4 the address lives in the low 32 bits.
    if len == 0 {
        0
    } else {
        let m = u128::MAX << (128 - u32::from(len));
        if bits == 32 {
            m >> 96
        } else {
            m
        }
    }
}

fn key(p: &Prefix) -> (u8, u128, u8) {
    match *p {
        Prefix::V4(a, l) => (32, u128::from(a), l),
        Prefix::V6(a, l) => (128, a, l),
    }
}

impl FamilyIndex {
    /// Builds the index from VRPs of one family sorted by prefix.
    fn build<'a>(vrps: impl Iterator<Item = &'a Vrp>) -> FamilyIndex {
        let mut idx = FamilyIndex::default();
        let mut present = [false; 129];
        let mut current: Option<((u128, u8), u32)> = None;
        for v in vrps {
            let (_, a, l) = key(&v.prefix);
            let n = u32::try_from(idx.entries.len()).unwrap_or(u32::MAX);
            match current {
                Some((k, _)) if k == (a, l) => {}
                Some((k, start)) => {
                    idx.map.insert(k, (start, n));
                    current = Some(((a, l), n));
                }
                None => current = Some(((a, l), n)),
            }
            if let Some(slot) = present.get_mut(usize::from(l)) {
                *slot = true;
            }
            idx.entries.push((v.max_len, v.asn));
        }
        if let Some((k, start)) = current {
            let n = u32::try_from(idx.entries.len()).unwrap_or(u32::MAX);
            idx.map.insert(k, (start, n));
        }
        idx.lengths = (0..=128u8)
            .rev()
            .filter(|l| present.get(usize::from(*l)).copied().unwrap_or(false))
            .collect();
        idx
    }

    fn validate(&self, bits: u8, addr: u128, len: u8, origin: Option<u32>) -> RovState {
        let mut covered = false;
        for &l in &self.lengths {
            if l > len {
                continue;
            }
            let Some(&(start, end)) = self.map.get(&(addr & mask(bits, l), l)) else {
                continue;
            };
            covered = true;
            let Some(origin) = origin else { continue };
            let range = usize::try_from(start).unwrap_or(0)..usize::try_from(end).unwrap_or(0);
            for &(max_len, asn) in self.entries.get(range).unwrap_or(&[]) {
                if asn != 0 && asn == origin && len <= max_len {
                    return RovState::Valid;
                }
            }
        }
        if covered {
            RovState::Invalid
        } else {
            RovState::NotFound
        }
    }
}

/// An immutable set of VRPs and ASPA records with fast validation.
#[derive(Clone, Debug, Default)]
pub struct VrpTable {
    /// All VRPs, sorted and without duplicates.
    vrps: Vec<Vrp>,
    v4: FamilyIndex,
    v6: FamilyIndex,
    aspas: AspaTable,
}

impl VrpTable {
    /// Builds a table from VRPs (in any order, duplicates allowed) and
    /// ASPA records.
    pub fn new(mut vrps: Vec<Vrp>, aspas: AspaTable) -> VrpTable {
        vrps.sort_unstable();
        vrps.dedup();
        let v4 = FamilyIndex::build(vrps.iter().filter(|v| matches!(v.prefix, Prefix::V4(..))));
        let v6 = FamilyIndex::build(vrps.iter().filter(|v| matches!(v.prefix, Prefix::V6(..))));
        VrpTable {
            vrps,
            v4,
            v6,
            aspas,
        }
    }

    /// An empty table: every route is NotFound.
    pub fn empty() -> VrpTable {
        VrpTable::default()
    }

    /// Route origin validation of `prefix` originated by `origin` (RFC 6811
    /// §2). `origin` is `None` when the AS_PATH ends in an AS_SET or is
    /// empty; such a route is Invalid when covered, NotFound otherwise.
    pub fn rov(&self, prefix: &Prefix, origin: Option<u32>) -> RovState {
        match *prefix {
            Prefix::V4(a, l) => self.v4.validate(32, u128::from(a), l, origin),
            Prefix::V6(a, l) => self.v6.validate(128, a, l, origin),
        }
    }

    /// ASPA upstream path verification; see [`AspaTable::verify_upstream`].
    pub fn aspa_upstream_valid(&self, path: &[u32]) -> Option<bool> {
        self.aspas.verify_upstream(path)
    }

    /// All VRPs, sorted.
    pub fn vrps(&self) -> &[Vrp] {
        &self.vrps
    }

    /// The ASPA records.
    pub fn aspas(&self) -> &AspaTable {
        &self.aspas
    }

    /// Number of VRPs.
    pub fn len(&self) -> usize {
        self.vrps.len()
    }

    /// True when the table holds no VRP and no ASPA record.
    pub fn is_empty(&self) -> bool {
        self.vrps.is_empty() && self.aspas.is_empty()
    }

    /// The prefixes of VRPs present in exactly one of `old` and `new`,
    /// sorted and deduplicated: the routes whose validation state may have
    /// changed are those covered by one of these prefixes.
    pub fn changed_prefixes(old: &VrpTable, new: &VrpTable) -> Vec<Prefix> {
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&old.vrps, &new.vrps);
        let mut out = Vec::new();
        while i < a.len() || j < b.len() {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x == y => {
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x < y => {
                    out.push(x.prefix);
                    i += 1;
                }
                (Some(_), Some(y)) => {
                    out.push(y.prefix);
                    j += 1;
                }
                (Some(x), None) => {
                    out.push(x.prefix);
                    i += 1;
                }
                (None, Some(y)) => {
                    out.push(y.prefix);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn vrp(s: &str, max_len: u8, asn: u32) -> Vrp {
        Vrp::new(p(s), max_len, asn).unwrap()
    }

    fn table(v: &[Vrp]) -> VrpTable {
        VrpTable::new(v.to_vec(), AspaTable::default())
    }

    #[test]
    fn rfc6811_exact_and_covering() {
        let t = table(&[vrp("192.0.2.0/24", 24, 64496)]);
        assert_eq!(t.rov(&p("192.0.2.0/24"), Some(64496)), RovState::Valid);
        // Same prefix, other origin: Invalid.
        assert_eq!(t.rov(&p("192.0.2.0/24"), Some(64497)), RovState::Invalid);
        // More specific than max length: Invalid even with the right AS.
        assert_eq!(t.rov(&p("192.0.2.128/25"), Some(64496)), RovState::Invalid);
        // Less specific than the VRP: not covered.
        assert_eq!(t.rov(&p("192.0.0.0/22"), Some(64496)), RovState::NotFound);
        // Unrelated prefix.
        assert_eq!(
            t.rov(&p("198.51.100.0/24"), Some(64496)),
            RovState::NotFound
        );
    }

    #[test]
    fn max_length_allows_more_specifics() {
        let t = table(&[vrp("10.0.0.0/16", 20, 65001)]);
        assert_eq!(t.rov(&p("10.0.16.0/20"), Some(65001)), RovState::Valid);
        assert_eq!(t.rov(&p("10.0.16.0/21"), Some(65001)), RovState::Invalid);
        assert_eq!(t.rov(&p("10.0.0.0/16"), Some(65001)), RovState::Valid);
        assert_eq!(t.rov(&p("10.0.0.0/18"), Some(65002)), RovState::Invalid);
    }

    #[test]
    fn any_matching_vrp_makes_valid() {
        // RFC 6811 §2: a covering non-matching VRP does not matter when
        // another VRP matches.
        let t = table(&[
            vrp("10.0.0.0/8", 8, 1),
            vrp("10.1.0.0/16", 24, 2),
            vrp("10.1.0.0/16", 16, 3),
        ]);
        assert_eq!(t.rov(&p("10.1.2.0/24"), Some(2)), RovState::Valid);
        assert_eq!(t.rov(&p("10.1.2.0/24"), Some(3)), RovState::Invalid);
        assert_eq!(t.rov(&p("10.1.0.0/16"), Some(3)), RovState::Valid);
        assert_eq!(t.rov(&p("10.0.0.0/8"), Some(1)), RovState::Valid);
        assert_eq!(t.rov(&p("10.2.0.0/16"), Some(1)), RovState::Invalid);
    }

    #[test]
    fn as0_never_valid() {
        let t = table(&[vrp("203.0.113.0/24", 32, 0)]);
        assert_eq!(t.rov(&p("203.0.113.0/24"), Some(0)), RovState::Invalid);
        assert_eq!(t.rov(&p("203.0.113.0/25"), Some(64500)), RovState::Invalid);
        // AS0 next to a real ROA: the real one still validates.
        let t = table(&[
            vrp("203.0.113.0/24", 24, 0),
            vrp("203.0.113.0/24", 24, 64500),
        ]);
        assert_eq!(t.rov(&p("203.0.113.0/24"), Some(64500)), RovState::Valid);
    }

    #[test]
    fn origin_none_cannot_match() {
        let t = table(&[vrp("192.0.2.0/24", 24, 64496)]);
        assert_eq!(t.rov(&p("192.0.2.0/24"), None), RovState::Invalid);
        assert_eq!(t.rov(&p("198.51.100.0/24"), None), RovState::NotFound);
    }

    #[test]
    fn ipv6_and_default_route() {
        let t = table(&[vrp("2001:db8::/32", 48, 64496), vrp("::/0", 0, 0)]);
        assert_eq!(t.rov(&p("2001:db8:1::/48"), Some(64496)), RovState::Valid);
        assert_eq!(t.rov(&p("2001:db8:1::/49"), Some(64496)), RovState::Invalid);
        // Covered only by the ::/0 AS0 VRP.
        assert_eq!(t.rov(&p("2001:db9::/32"), Some(64496)), RovState::Invalid);
        // Families do not mix.
        assert_eq!(t.rov(&p("192.0.2.0/24"), Some(64496)), RovState::NotFound);
    }

    #[test]
    fn host_routes() {
        let t = table(&[vrp("192.0.2.1/32", 32, 7), vrp("2001:db8::1/128", 128, 7)]);
        assert_eq!(t.rov(&p("192.0.2.1/32"), Some(7)), RovState::Valid);
        assert_eq!(t.rov(&p("192.0.2.0/32"), Some(7)), RovState::NotFound);
        assert_eq!(t.rov(&p("2001:db8::1/128"), Some(7)), RovState::Valid);
    }

    #[test]
    fn bad_max_len_rejected() {
        assert!(Vrp::new(p("192.0.2.0/24"), 23, 1).is_err());
        assert!(Vrp::new(p("192.0.2.0/24"), 33, 1).is_err());
        assert!(Vrp::new(p("2001:db8::/32"), 129, 1).is_err());
        assert!(Vrp::new(p("2001:db8::/32"), 128, 1).is_ok());
    }

    #[test]
    fn changed_prefixes_is_symmetric_difference() {
        let a = table(&[vrp("10.0.0.0/8", 8, 1), vrp("10.1.0.0/16", 16, 2)]);
        let b = table(&[
            vrp("10.0.0.0/8", 8, 1),
            vrp("10.2.0.0/16", 16, 2),
            vrp("10.2.0.0/16", 24, 2),
        ]);
        assert_eq!(
            VrpTable::changed_prefixes(&a, &b),
            vec![p("10.1.0.0/16"), p("10.2.0.0/16")]
        );
        assert!(VrpTable::changed_prefixes(&a, &a).is_empty());
    }
}
