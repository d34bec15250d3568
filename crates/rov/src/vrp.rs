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
//! every update and swaps it in (see [`crate::RpkiCache`]). Lookups use a
//! sorted array of distinct prefixes per family with parent links (see
//! `FamilyIndex`): one binary search and a short walk, about 0.2 µs on a
//! 500,000-VRP table (tests/perf.rs).
//!
//! This module does not fetch data and does not decide policy.

use bgp_wire::Prefix;

use crate::aspa::AspaTable;

/// The result of route origin validation (RFC 6811 §2): the policy
/// crate's type, so that values pass through unchanged.
pub use policy::RovState;

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

/// "No parent" in [`FamilyIndex::parent`].
const NONE: u32 = u32::MAX;

/// One family's index over the distinct VRP prefixes.
///
/// The prefixes are sorted by (address, length); each knows its closest
/// covering prefix (`parent`). For a route (A, L), every covering prefix
/// sorts at or before the last prefix `i` with (address, length) <= (A, L),
/// and, prefixes being nested or disjoint, every prefix between a covering
/// one and `i` lies inside it: the covering prefixes are therefore `i` or
/// its ancestors. A lookup is one binary search (inside a bucket chosen by
/// the top 16 address bits) and a walk up a short parent chain.
#[derive(Clone, Debug, Default)]
struct FamilyIndex {
    /// 32 or 128.
    bits: u8,
    /// Distinct prefixes, sorted by (address, length).
    nodes: Vec<Node>,
    /// (asn, max_len) of each VRP, grouped by prefix, sorted inside a
    /// group so that a binary search finds the origin.
    entries: Vec<(u32, u8)>,
    /// `buckets[b]` is the first node whose top 16 bits are >= b
    /// (65,537 entries, or none when there are no nodes).
    buckets: Vec<u32>,
}

/// One distinct prefix; kept together so that a step up the parent chain
/// touches one cache line.
/// The common case of a prefix with one VRP is answered from the node
/// itself (32 bytes), without touching `entries`.
#[derive(Clone, Copy, Debug)]
struct Node {
    addr: u128,
    /// Index of the closest covering prefix, or `NONE`.
    parent: u32,
    /// The VRP's AS when `count` is 1.
    asn: u32,
    /// Start of this prefix's VRPs in `entries`.
    start: u32,
    len: u8,
    /// The VRP's maximum length when `count` is 1.
    max_len: u8,
    /// 1 when the prefix has exactly one VRP; otherwise its VRPs run from
    /// `start` to the next node's `start`.
    single: u16,
}

fn mask(bits: u8, len: u8) -> u128 {
    // `bits` is 32 or 128; for IPv4 the address lives in the low 32 bits.
    if len == 0 {
        0
    } else {
        let m = u128::MAX << (128 - u32::from(len.min(128)));
        if bits == 32 {
            m >> 96
        } else {
            m
        }
    }
}

fn covers(bits: u8, p: (u128, u8), q: (u128, u8)) -> bool {
    p.1 <= q.1 && (q.0 & mask(bits, p.1)) == p.0
}

fn top16(bits: u8, addr: u128) -> usize {
    // At most 16 bits remain after the shift; `bits` is 0 only in an
    // empty default index, which has no buckets anyway.
    (addr >> u32::from(bits).saturating_sub(16)) as usize
}

fn key(p: &Prefix) -> (u128, u8) {
    match *p {
        Prefix::V4(a, l) => (u128::from(a), l),
        Prefix::V6(a, l) => (a, l),
    }
}

fn idx(n: usize) -> u32 {
    // Tables beyond 4 billion VRPs do not exist; saturate rather than wrap.
    u32::try_from(n).unwrap_or(NONE - 1)
}

impl FamilyIndex {
    /// Builds the index from VRPs of one family, sorted by prefix.
    fn build<'a>(bits: u8, vrps: impl Iterator<Item = &'a Vrp>) -> FamilyIndex {
        let mut ix = FamilyIndex {
            bits,
            ..FamilyIndex::default()
        };
        for v in vrps {
            let (addr, len) = key(&v.prefix);
            let n = idx(ix.entries.len());
            match ix.nodes.last_mut() {
                Some(last) if (last.addr, last.len) == (addr, len) => last.single = 0,
                _ => ix.nodes.push(Node {
                    addr,
                    parent: NONE,
                    asn: v.asn,
                    start: n,
                    len,
                    max_len: v.max_len,
                    single: 1,
                }),
            }
            ix.entries.push((v.asn, v.max_len));
        }
        let mut stack: Vec<usize> = Vec::new();
        for i in 0..ix.nodes.len() {
            let Some(&node) = ix.nodes.get(i) else { break };
            let range = ix.group(i);
            if let Some(group) = ix.entries.get_mut(range) {
                group.sort_unstable();
            }
            while let Some(&t) = stack.last() {
                match ix.nodes.get(t) {
                    Some(p) if covers(bits, (p.addr, p.len), (node.addr, node.len)) => break,
                    _ => {
                        stack.pop();
                    }
                }
            }
            let parent = stack.last().map_or(NONE, |t| idx(*t));
            if let Some(n) = ix.nodes.get_mut(i) {
                n.parent = parent;
            }
            stack.push(i);
        }
        if !ix.nodes.is_empty() {
            let mut i = 0;
            for b in 0..=65_536usize {
                while ix.nodes.get(i).is_some_and(|n| top16(bits, n.addr) < b) {
                    i += 1;
                }
                ix.buckets.push(idx(i));
            }
        }
        ix
    }

    /// The range of node `i`'s VRPs in `entries`.
    fn group(&self, i: usize) -> std::ops::Range<usize> {
        let start = self.nodes.get(i).map_or(0, |n| n.start as usize);
        let end = self
            .nodes
            .get(i + 1)
            .map_or(self.entries.len(), |n| n.start as usize);
        start..end
    }

    fn validate(&self, addr: u128, len: u8, origin: Option<u32>) -> RovState {
        let q = (addr, len);
        let b = top16(self.bits, addr);
        let (Some(&lo), Some(&hi)) = (self.buckets.get(b), self.buckets.get(b + 1)) else {
            return RovState::NotFound;
        };
        let (lo, hi) = (lo as usize, hi as usize);
        let pos = self
            .nodes
            .get(lo..hi)
            .map_or(0, |s| s.partition_point(|n| (n.addr, n.len) <= q));
        let mut cur = if pos > 0 {
            lo + pos - 1
        } else if lo > 0 {
            lo - 1
        } else {
            return RovState::NotFound;
        };
        // Up to the most specific covering prefix.
        let mut node = loop {
            match self.nodes.get(cur) {
                Some(n) if covers(self.bits, (n.addr, n.len), q) => break *n,
                Some(n) => cur = n.parent as usize,
                None => return RovState::NotFound,
            }
        };
        let Some(origin) = origin else {
            return RovState::Invalid;
        };
        // Every covering prefix, most specific first.
        loop {
            let (asn, max_len) = if node.single == 1 {
                (node.asn, node.max_len)
            } else {
                let group = self.entries.get(self.group(cur)).unwrap_or(&[]);
                // The last entry for `origin` has its longest max length.
                let n = group.partition_point(|e| e.0 <= origin);
                n.checked_sub(1)
                    .and_then(|i| group.get(i))
                    .copied()
                    .unwrap_or((0, 0))
            };
            if asn != 0 && asn == origin && len <= max_len {
                return RovState::Valid;
            }
            cur = node.parent as usize;
            match self.nodes.get(cur) {
                Some(p) => node = *p,
                None => return RovState::Invalid,
            }
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
        let v4 = FamilyIndex::build(
            32,
            vrps.iter().filter(|v| matches!(v.prefix, Prefix::V4(..))),
        );
        let v6 = FamilyIndex::build(
            128,
            vrps.iter().filter(|v| matches!(v.prefix, Prefix::V6(..))),
        );
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
            Prefix::V4(a, l) => self.v4.validate(u128::from(a), l, origin),
            Prefix::V6(a, l) => self.v6.validate(a, l, origin),
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

impl policy::RpkiView for VrpTable {
    fn rov(&self, prefix: &Prefix, origin: Option<u32>) -> RovState {
        VrpTable::rov(self, prefix, origin)
    }
    fn aspa_upstream_valid(&self, path: &[u32]) -> Option<bool> {
        VrpTable::aspa_upstream_valid(self, path)
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
    fn empty_table() {
        let t = VrpTable::empty();
        assert_eq!(t.rov(&p("192.0.2.0/24"), Some(1)), RovState::NotFound);
        assert_eq!(t.rov(&p("::/0"), None), RovState::NotFound);
        let t = table(&[vrp("2001:db8::/32", 32, 1)]);
        assert_eq!(t.rov(&p("192.0.2.0/24"), Some(1)), RovState::NotFound);
    }

    #[test]
    fn bad_max_len_rejected() {
        assert!(Vrp::new(p("192.0.2.0/24"), 23, 1).is_err());
        assert!(Vrp::new(p("192.0.2.0/24"), 33, 1).is_err());
        assert!(Vrp::new(p("2001:db8::/32"), 129, 1).is_err());
        assert!(Vrp::new(p("2001:db8::/32"), 128, 1).is_ok());
    }

    /// The definition of RFC 6811 §2, by brute force.
    fn reference(vrps: &[Vrp], p: &Prefix, origin: Option<u32>) -> RovState {
        let covering: Vec<&Vrp> = vrps.iter().filter(|v| v.prefix.contains(p)).collect();
        if covering.is_empty() {
            RovState::NotFound
        } else if covering
            .iter()
            .any(|v| v.asn != 0 && Some(v.asn) == origin && p.len() <= v.max_len)
        {
            RovState::Valid
        } else {
            RovState::Invalid
        }
    }

    #[test]
    fn agrees_with_the_definition_on_dense_random_tables() {
        // Prefixes drawn from a small address space so that they nest
        // deeply, share prefixes, and have several VRPs each; few ASes so
        // that origins match often.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut seen = [0usize; 3];
        for round in 0..200 {
            let mut vrps = Vec::new();
            for _ in 0..(1 + next(60)) {
                let len = next(33) as u8;
                let a = (10u32 << 24) | ((next(16) as u32) << 20);
                let a = if len == 0 {
                    0
                } else {
                    a & (u32::MAX << (32 - u32::from(len)))
                };
                let max = len + next(u64::from(33 - len)) as u8;
                vrps.push(Vrp::new(Prefix::V4(a, len), max, next(4) as u32).unwrap());
                let len6 = next(129) as u8;
                let a6 = (0x2001_0db8u128 << 96) | (u128::from(next(16)) << 92);
                let a6 = if len6 == 0 {
                    0
                } else {
                    a6 & (u128::MAX << (128 - u32::from(len6)))
                };
                let max6 = len6 + next(u64::from(128 - len6) + 1) as u8;
                vrps.push(Vrp::new(Prefix::V6(a6, len6), max6, next(4) as u32).unwrap());
            }
            let t = VrpTable::new(vrps.clone(), AspaTable::default());
            for _ in 0..300 {
                let len = next(33) as u8;
                let a = (10u32 << 24) | ((next(16) as u32) << 20) | (next(1 << 20) as u32);
                let a = if len == 0 {
                    0
                } else {
                    a & (u32::MAX << (32 - u32::from(len)))
                };
                let q = Prefix::V4(a, len);
                let o = if next(10) == 0 {
                    None
                } else {
                    Some(next(4) as u32)
                };
                let got = t.rov(&q, o);
                assert_eq!(
                    got,
                    reference(&vrps, &q, o),
                    "round {round}: {q} {o:?} in {vrps:?}"
                );
                seen[got as usize] += 1;
                let len6 = next(129) as u8;
                let a6 = (0x2001_0db8u128 << 96)
                    | (u128::from(next(16)) << 92)
                    | u128::from(next(u64::MAX));
                let a6 = if len6 == 0 {
                    0
                } else {
                    a6 & (u128::MAX << (128 - u32::from(len6)))
                };
                let q6 = Prefix::V6(a6, len6);
                assert_eq!(
                    t.rov(&q6, o),
                    reference(&vrps, &q6, o),
                    "round {round}: {q6} {o:?}"
                );
            }
        }
        // All three outcomes were exercised.
        assert!(seen.iter().all(|n| *n > 1000), "{seen:?}");
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
