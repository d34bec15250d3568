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
//! The table is immutable once built; the RTR client makes a new one from
//! the old one and an answer's changes ([`VrpTable::apply_serial`], a
//! merge that also lists the changed prefixes) and swaps it in (see
//! [`crate::RpkiCache`]). Each family's VRPs are stored once, compactly
//! and sorted, and serve as the lookup index (see `crate::family`): one
//! binary search and a short walk, about 0.2 µs on a 500,000-VRP table
//! (tests/perf.rs).
//!
//! This module does not fetch data and does not decide policy.

use std::sync::Arc;

use bgp_wire::Prefix;

use crate::aspa::AspaTable;
use crate::family::{self, Change, ChangeError, FamilyIndex};

/// The result of route origin validation (RFC 6811 §2): the policy
/// crate's type, so that values pass through unchanged.
pub use policy::RovState;

/// One Validated ROA Payload (RFC 6811 §2, RFC 8210 §5.6/§5.7). VRPs
/// sort by prefix, then AS, then maximum length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vrp {
    /// The ROA prefix.
    pub prefix: Prefix,
    /// The authorised origin AS; 0 means "no AS may originate" (RFC 6483 §4).
    pub asn: u32,
    /// The maximum length of an announced prefix (at least the prefix
    /// length, at most 32 or 128).
    pub max_len: u8,
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

/// Both families' VRPs and the ASPA records: an immutable table with fast
/// validation.
///
/// Each family is stored once, compactly (about 16 bytes per IPv4 VRP;
/// see `crate::family`), behind an `Arc`: a table that differs from
/// another only in one family or in its ASPA records shares the rest.
#[derive(Clone, Debug, Default)]
pub struct VrpTable {
    v4: Arc<FamilyIndex<u32>>,
    v6: Arc<FamilyIndex<u128>>,
    aspas: AspaTable,
}

/// The VRP prefixes that changed between two tables, sorted, without
/// repeats: the routes whose validation state may have changed are those
/// covered by one of them. Compact (8 bytes an IPv4 prefix, 17 an IPv6
/// one); when the old table was empty (a first load) they are every
/// prefix of the new table, which is then shared rather than listed.
#[derive(Clone, Default)]
pub struct ChangedPrefixes {
    v4: Vec<(u32, u8)>,
    v6: Vec<([u8; 16], u8)>,
    /// Every prefix of this table (and nothing in `v4`, `v6`).
    all_of: Option<VrpTable>,
}

impl ChangedPrefixes {
    fn all_of(table: &VrpTable) -> ChangedPrefixes {
        ChangedPrefixes {
            all_of: Some(table.with_aspas(AspaTable::default())),
            ..ChangedPrefixes::default()
        }
    }

    /// The prefixes, IPv4 first, each family sorted.
    pub fn iter(&self) -> impl Iterator<Item = Prefix> + '_ {
        let (t4, t6) = match &self.all_of {
            Some(t) => (Some(t.v4.prefixes()), Some(t.v6.prefixes())),
            None => (None, None),
        };
        self.v4
            .iter()
            .map(|&(a, l)| Prefix::V4(a, l))
            .chain(t4.into_iter().flatten().map(|(a, l)| Prefix::V4(a, l)))
            .chain(
                self.v6
                    .iter()
                    .map(|&(a, l)| Prefix::V6(u128::from_be_bytes(a), l)),
            )
            .chain(t6.into_iter().flatten().map(|(a, l)| Prefix::V6(a, l)))
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        let shared = self
            .all_of
            .as_ref()
            .map_or(0, |t| t.v4.prefix_count() + t.v6.prefix_count());
        self.v4.len() + self.v6.len() + shared
    }

    /// True when `prefix` is one of them.
    pub fn contains(&self, prefix: &Prefix) -> bool {
        match (*prefix, &self.all_of) {
            (Prefix::V4(a, l), Some(t)) => t.v4.has_prefix(a, l),
            (Prefix::V6(a, l), Some(t)) => t.v6.has_prefix(a, l),
            (Prefix::V4(a, l), None) => self.v4.binary_search(&(a, l)).is_ok(),
            (Prefix::V6(a, l), None) => self.v6.binary_search(&(a.to_be_bytes(), l)).is_ok(),
        }
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for ChangedPrefixes {
    fn eq(&self, other: &ChangedPrefixes) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ChangedPrefixes {}

impl std::fmt::Debug for ChangedPrefixes {
    /// The count and the first few: a first load lists millions.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first: Vec<String> = self.iter().take(8).map(|p| p.to_string()).collect();
        write!(f, "{} changed prefixes {first:?}", self.len())?;
        if self.len() > first.len() {
            f.write_str(" ...")?;
        }
        Ok(())
    }
}

impl FromIterator<Prefix> for ChangedPrefixes {
    /// Collects prefixes in any order (sorted and deduplicated here).
    fn from_iter<I: IntoIterator<Item = Prefix>>(iter: I) -> ChangedPrefixes {
        let mut c = ChangedPrefixes::default();
        for p in iter {
            match p {
                Prefix::V4(a, l) => c.v4.push((a, l)),
                Prefix::V6(a, l) => c.v6.push((a.to_be_bytes(), l)),
            }
        }
        c.v4.sort_unstable();
        c.v4.dedup();
        c.v6.sort_unstable();
        c.v6.dedup();
        c
    }
}

/// The VRPs of a [`VrpTable`], in order; see [`VrpTable::vrps`].
#[derive(Clone, Debug)]
pub struct Vrps<'a> {
    v4: family::Iter<'a, u32>,
    v6: family::Iter<'a, u128>,
    left: usize,
}

impl Iterator for Vrps<'_> {
    type Item = Vrp;

    fn next(&mut self) -> Option<Vrp> {
        let v = if let Some((a, l, asn, max_len)) = self.v4.next() {
            Vrp {
                prefix: Prefix::V4(a, l),
                asn,
                max_len,
            }
        } else {
            let (a, l, asn, max_len) = self.v6.next()?;
            Vrp {
                prefix: Prefix::V6(a, l),
                asn,
                max_len,
            }
        };
        self.left = self.left.saturating_sub(1);
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Vrps<'_> {}

/// Compact changes of one RTR answer (or any list of VRPs) per family.
#[derive(Clone, Debug, Default)]
pub(crate) struct Changes {
    pub(crate) v4: Vec<Change<u32>>,
    pub(crate) v6: Vec<Change<u128>>,
}

impl Changes {
    /// Adds an announcement (or withdrawal) of `v`.
    pub(crate) fn push(&mut self, v: &Vrp, withdraw: bool) {
        match v.prefix {
            Prefix::V4(addr, len) => self.v4.push(Change {
                addr,
                asn: v.asn,
                len,
                max_len: v.max_len,
                withdraw,
            }),
            Prefix::V6(addr, len) => self.v6.push(Change {
                addr,
                asn: v.asn,
                len,
                max_len: v.max_len,
                withdraw,
            }),
        }
    }
}

/// Why RTR changes could not be applied to a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// A serial answer announced a VRP the table holds (RFC 8210 §5.1,
    /// error code 7, Duplicate Announcement Received).
    DuplicateAnnounce,
    /// A VRP the table does not hold was withdrawn (RFC 8210 §5.1, error
    /// code 6, Withdrawal of Unknown Record).
    UnknownWithdraw,
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApplyError::DuplicateAnnounce => "announcement of a VRP already held",
            ApplyError::UnknownWithdraw => "withdrawal of a VRP not held",
        })
    }
}

impl std::error::Error for ApplyError {}

impl From<ChangeError> for ApplyError {
    fn from(e: ChangeError) -> ApplyError {
        match e {
            ChangeError::DuplicateAnnounce => ApplyError::DuplicateAnnounce,
            ChangeError::UnknownWithdraw => ApplyError::UnknownWithdraw,
        }
    }
}

/// Applies one family's changes; see [`VrpTable::apply_changes`].
fn apply_family<A: family::Addr>(
    old: &Arc<FamilyIndex<A>>,
    mut changes: Vec<Change<A>>,
    reset: bool,
    changed: &mut Vec<(A::Packed, u8)>,
) -> Result<Arc<FamilyIndex<A>>, ChangeError> {
    if reset {
        let new = if changes.iter().any(|c| c.withdraw) {
            // Order matters once there are withdrawals: stable sort.
            changes.sort_by_key(Change::key);
            FamilyIndex::default().apply(&changes, true, &mut Vec::new())?
        } else {
            FamilyIndex::from_announcements(changes)
        };
        FamilyIndex::diff(old, &new, changed);
        Ok(Arc::new(new))
    } else if changes.is_empty() {
        Ok(old.clone())
    } else {
        changes.sort_by_key(Change::key);
        Ok(Arc::new(old.apply(&changes, false, changed)?))
    }
}

impl VrpTable {
    /// Builds a table from VRPs (in any order, duplicates allowed) and
    /// ASPA records.
    pub fn new(vrps: Vec<Vrp>, aspas: AspaTable) -> VrpTable {
        VrpTable::from_vrps(vrps, aspas)
    }

    /// Builds a table from VRPs of an iterator (any order, duplicates
    /// allowed), without collecting them first.
    pub fn from_vrps(vrps: impl IntoIterator<Item = Vrp>, aspas: AspaTable) -> VrpTable {
        let mut c = Changes::default();
        for v in vrps {
            c.push(&v, false);
        }
        VrpTable::from_changes(c, aspas)
    }

    /// Builds a table from announcements in compact form (withdrawal
    /// flags are ignored).
    pub(crate) fn from_changes(c: Changes, aspas: AspaTable) -> VrpTable {
        VrpTable {
            v4: Arc::new(FamilyIndex::from_announcements(c.v4)),
            v6: Arc::new(FamilyIndex::from_announcements(c.v6)),
            aspas,
        }
    }

    /// An empty table: every route is NotFound.
    pub fn empty() -> VrpTable {
        VrpTable::default()
    }

    /// The same VRPs (shared, not copied) with other ASPA records.
    pub fn with_aspas(&self, aspas: AspaTable) -> VrpTable {
        VrpTable {
            v4: self.v4.clone(),
            v6: self.v6.clone(),
            aspas,
        }
    }

    /// The table after the VRP changes of one RTR answer, and the prefixes
    /// that changed; `self` is untouched. For a reset answer (`reset`) the
    /// result holds exactly the announced VRPs (repeats allowed); for a
    /// serial answer the changes apply to `self`, each VRP's in the order
    /// received, and an announcement of a VRP present or a withdrawal of
    /// one absent is an error (RFC 8210 §5.1 codes 7 and 6). A family
    /// without changes in a serial answer is shared with `self`.
    pub(crate) fn apply_changes(
        &self,
        changes: Changes,
        reset: bool,
        aspas: AspaTable,
    ) -> Result<(VrpTable, ChangedPrefixes), ApplyError> {
        let mut changed = ChangedPrefixes::default();
        let v4 = apply_family(&self.v4, changes.v4, reset, &mut changed.v4)?;
        let v6 = apply_family(&self.v6, changes.v6, reset, &mut changed.v6)?;
        let new = VrpTable { v4, v6, aspas };
        if self.has_no_vrps() {
            // Everything is new: share the table instead of a list.
            changed = ChangedPrefixes::all_of(&new);
        }
        Ok((new, changed))
    }

    /// Applies announcements and withdrawals of VRPs (each VRP's in the
    /// order given) as a serial answer of RFC 8210 would: an error for an
    /// announcement of a VRP present or a withdrawal of one absent.
    /// Returns the new table (same ASPA records) and the changed prefixes.
    pub fn apply_serial(
        &self,
        changes: impl IntoIterator<Item = (Vrp, bool)>,
    ) -> Result<(VrpTable, ChangedPrefixes), ApplyError> {
        let mut c = Changes::default();
        for (v, announce) in changes {
            c.push(&v, !announce);
        }
        self.apply_changes(c, false, self.aspas.clone())
    }

    /// Route origin validation of `prefix` originated by `origin` (RFC 6811
    /// §2). `origin` is `None` when the AS_PATH ends in an AS_SET or is
    /// empty; such a route is Invalid when covered, NotFound otherwise.
    pub fn rov(&self, prefix: &Prefix, origin: Option<u32>) -> RovState {
        match *prefix {
            Prefix::V4(a, l) => self.v4.validate(a, l, origin),
            Prefix::V6(a, l) => self.v6.validate(a, l, origin),
        }
    }

    /// ASPA upstream path verification; see [`AspaTable::verify_upstream`].
    pub fn aspa_upstream_valid(&self, path: &[u32]) -> Option<bool> {
        self.aspas.verify_upstream(path)
    }

    /// All VRPs, sorted (IPv4 first; by prefix, AS, maximum length).
    pub fn vrps(&self) -> Vrps<'_> {
        Vrps {
            v4: self.v4.iter(),
            v6: self.v6.iter(),
            left: self.len(),
        }
    }

    /// The ASPA records.
    pub fn aspas(&self) -> &AspaTable {
        &self.aspas
    }

    /// Number of VRPs.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when the table holds no VRP and no ASPA record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.aspas.is_empty()
    }

    /// Heap bytes held by the VRPs (both families; ASPA not counted).
    pub fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes() + self.v6.heap_bytes()
    }

    fn has_no_vrps(&self) -> bool {
        self.v4.len() == 0 && self.v6.len() == 0
    }

    /// True when both tables share their VRP storage (one was made from
    /// the other without VRP changes).
    pub(crate) fn same_vrps(&self, other: &VrpTable) -> bool {
        Arc::ptr_eq(&self.v4, &other.v4) && Arc::ptr_eq(&self.v6, &other.v6)
    }

    /// The prefixes of VRPs present in exactly one of `old` and `new`,
    /// sorted and deduplicated, in compact form.
    pub fn changed(old: &VrpTable, new: &VrpTable) -> ChangedPrefixes {
        if old.has_no_vrps() {
            return ChangedPrefixes::all_of(new);
        }
        let mut c = ChangedPrefixes::default();
        FamilyIndex::diff(&old.v4, &new.v4, &mut c.v4);
        FamilyIndex::diff(&old.v6, &new.v6, &mut c.v6);
        c
    }

    /// The prefixes of VRPs present in exactly one of `old` and `new`,
    /// sorted and deduplicated: the routes whose validation state may have
    /// changed are those covered by one of these prefixes.
    pub fn changed_prefixes(old: &VrpTable, new: &VrpTable) -> Vec<Prefix> {
        VrpTable::changed(old, new).iter().collect()
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
