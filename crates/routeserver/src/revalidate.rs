//! Judging stored routes again when the data behind the import policy
//! changes (RPKI VRPs, IRR data, a new policy), without session resets.
//!
//! [`RouteServer::revalidate`] re-judges every route: for a configuration
//! reload, where anything may have changed. [`RouteServer::revalidate_affected`]
//! re-judges only the routes an [`Affected`] names, which is what a data
//! change needs:
//! - an RPKI change (RFC 6811 §2): a route's validation state depends only
//!   on the VRPs whose prefix covers it, so when the VRPs of some prefixes
//!   were added or removed, only routes whose prefix is equal to or more
//!   specific than one of those prefixes can change state
//!   ([`Affected::covered_by`]; the RTR client lists them per generation);
//! - an IRR change: the origin and prefix checks of a member's routes read
//!   only that member's IRR data, so only the routes of members whose data
//!   changed are judged again ([`Affected::members`]);
//! - an ASPA change, a skipped notification, a policy replaced: everything
//!   ([`Affected::all`]).
//!
//! The result is the same as a full pass would give, because the policy
//! judges each prefix on its own (the property test in
//! `tests/revalidate_incremental.rs` checks that). Not here: finding out
//! what changed (the data sources do), reading the data (the policy does).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bgp_wire::attr::Attributes;
use bgp_wire::{DecodeCtx, Nlri, Prefix};

use crate::{Policy, RouteGroup, RouteServer};
use rib::{InRoute, PeerId, RouteAttrs};

/// Which stored routes a change of the policy's data can affect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Affected {
    all: bool,
    covered: CoverSet,
    /// Member AS numbers, sorted, without duplicates.
    members: Vec<u32>,
}

impl Affected {
    /// Every route.
    pub fn all() -> Affected {
        Affected {
            all: true,
            ..Affected::default()
        }
    }

    /// Nothing: a change that affects no route.
    pub fn none() -> Affected {
        Affected::default()
    }

    /// Routes whose prefix is equal to or more specific than one of
    /// `prefixes` (the prefixes of VRPs added or removed).
    pub fn covered_by(prefixes: impl IntoIterator<Item = Prefix>) -> Affected {
        let mut covered = CoverSet::default();
        for p in prefixes {
            covered.insert(p);
        }
        Affected {
            covered,
            ..Affected::default()
        }
    }

    /// Every route of the members with these AS numbers (members whose IRR
    /// data changed).
    pub fn members(asns: impl IntoIterator<Item = u32>) -> Affected {
        let mut members: Vec<u32> = asns.into_iter().collect();
        members.sort_unstable();
        members.dedup();
        Affected {
            members,
            ..Affected::default()
        }
    }

    /// Add what `other` names.
    pub fn merge(&mut self, other: &Affected) {
        if self.all || other.all {
            *self = Affected::all();
            return;
        }
        self.covered.merge(&other.covered);
        self.members.extend_from_slice(&other.members);
        self.members.sort_unstable();
        self.members.dedup();
    }

    /// Whether every route is named.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Whether no route is named.
    pub fn is_empty(&self) -> bool {
        !self.all && self.covered.is_empty() && self.members.is_empty()
    }

    /// Whether every route of the member with AS `asn` is named.
    fn whole_member(&self, asn: u32) -> bool {
        self.all || self.members.binary_search(&asn).is_ok()
    }
}

/// A set of prefixes that answers "is this prefix equal to or more
/// specific than one of them" with one hash lookup per distinct length
/// in the set that is not longer than the prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct CoverSet {
    v4: HashSet<(u32, u8)>,
    v6: HashSet<(u128, u8)>,
    /// Distinct lengths present, per family, sorted.
    lens4: Vec<u8>,
    lens6: Vec<u8>,
}

fn add_len(lens: &mut Vec<u8>, len: u8) {
    if let Err(i) = lens.binary_search(&len) {
        lens.insert(i, len);
    }
}

impl CoverSet {
    fn insert(&mut self, p: Prefix) {
        match p {
            Prefix::V4(a, l) => {
                if self.v4.insert((a, l)) {
                    add_len(&mut self.lens4, l);
                }
            }
            Prefix::V6(a, l) => {
                if self.v6.insert((a, l)) {
                    add_len(&mut self.lens6, l);
                }
            }
        }
    }

    fn merge(&mut self, other: &CoverSet) {
        for &(a, l) in &other.v4 {
            self.insert(Prefix::V4(a, l));
        }
        for &(a, l) in &other.v6 {
            self.insert(Prefix::V6(a, l));
        }
    }

    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `p` is equal to or more specific than a prefix of the set.
    fn covers(&self, p: &Prefix) -> bool {
        match *p {
            Prefix::V4(a, len) => self
                .lens4
                .iter()
                .take_while(|&&l| l <= len)
                .any(|&l| self.v4.contains(&(a & mask32(l), l))),
            Prefix::V6(a, len) => self
                .lens6
                .iter()
                .take_while(|&&l| l <= len)
                .any(|&l| self.v6.contains(&(a & mask128(l), l))),
        }
    }
}

fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

impl<P: Policy> RouteServer<P> {
    /// Judge every route again (the policy was replaced, or anything may
    /// have changed) and apply the new verdicts; see
    /// [`RouteServer::revalidate_affected`].
    pub fn revalidate(&mut self) -> usize {
        self.revalidate_affected(&Affected::all())
    }

    /// Judge the routes `affected` names again and apply the new
    /// verdicts: routes that turned invalid are withdrawn from the
    /// members, routes that turned valid are announced, changed
    /// informational communities are sent again. No session is reset.
    /// Routes keep their age. Returns how many routes changed verdict or
    /// attributes.
    ///
    /// Works from `RouteAttrs::received`, the attributes as the member
    /// sent them, decoded again with 4-octet ASNs (the canonical form).
    pub fn revalidate_affected(&mut self, affected: &Affected) -> usize {
        if affected.is_empty() {
            return 0;
        }
        let mut changed = 0;
        let ids: Vec<PeerId> = self.member_ids().collect();
        for id in ids {
            let Some(member) = self.member(id).cloned() else {
                continue;
            };
            let whole = affected.whole_member(member.asn);
            if !whole && affected.covered.is_empty() {
                continue;
            }
            // Group the member's routes by attribute set: one policy call
            // per group, as when they were received.
            let mut groups: Vec<RouteGroup> = Vec::new();
            let mut index: HashMap<usize, usize> = HashMap::new();
            self.rib.for_each_route_from(id, |n: Nlri, r: &InRoute| {
                if !whole && !affected.covered.covers(&n.prefix) {
                    return;
                }
                let key = Arc::as_ptr(&r.attrs) as usize;
                let i = *index.entry(key).or_insert_with(|| {
                    groups.push((r.attrs.clone(), Vec::new()));
                    groups.len() - 1
                });
                if let Some(g) = groups.get_mut(i) {
                    g.1.push((n, r.reject, r.since));
                }
            });
            for (old_attrs, routes) in groups {
                changed += self.rejudge(id, &member, &old_attrs, &routes);
            }
        }
        self.rib.purge();
        changed
    }

    /// Run the policy on `routes` of member `id`, which share the
    /// attribute set `old_attrs`, and re-announce those whose verdict or
    /// attributes changed. Returns how many did.
    fn rejudge(
        &mut self,
        id: PeerId,
        member: &crate::MemberInfo,
        old_attrs: &Arc<RouteAttrs>,
        routes: &[(Nlri, u32, u32)],
    ) -> usize {
        let ctx = DecodeCtx::default();
        let mut issues = Vec::new();
        let Ok(attrs) = Attributes::decode(old_attrs.received_block(), &ctx, &mut issues) else {
            return 0; // it decoded when received: cannot happen
        };
        let nlri: Vec<Nlri> = routes.iter().map(|r| r.0).collect();
        let mut result = std::mem::take(&mut self.scratch);
        result.clear();
        self.policy
            .import(member, &attrs, &old_attrs.next_hop, &nlri, &mut result);
        let interned: Vec<Arc<RouteAttrs>> = result
            .variants
            .drain(..)
            .map(|v| self.rib.intern(v))
            .collect();
        let before: HashMap<Nlri, (u32, u32)> =
            routes.iter().map(|&(n, r, s)| (n, (r, s))).collect();
        let mut changed = 0;
        for &(n, variant, reject) in &result.routes {
            let (Some(attrs), Some(&(old_reject, since))) =
                (interned.get(usize::from(variant)), before.get(&n))
            else {
                continue;
            };
            if reject != old_reject || !Arc::ptr_eq(attrs, old_attrs) {
                self.rib.announce(id, n, attrs.clone(), reject, since);
                changed += 1;
            }
        }
        self.scratch = result;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn cover_set_equal_or_more_specific() {
        let c = Affected::covered_by([p("10.1.0.0/16"), p("2001:db8::/32"), p("0.0.0.0/0")]);
        assert!(c.covered.covers(&p("10.1.0.0/16")));
        assert!(c.covered.covers(&p("10.1.2.0/24")));
        // Everything IPv4 is under 0.0.0.0/0.
        assert!(c.covered.covers(&p("192.0.2.0/24")));
        assert!(c.covered.covers(&p("2001:db8:1::/48")));
        assert!(!c.covered.covers(&p("2001:db9::/32")));
        assert!(!c.covered.covers(&p("2001:db8::/31")));
        let c = Affected::covered_by([p("10.1.0.0/16"), p("192.0.2.1/32")]);
        assert!(!c.covered.covers(&p("10.0.0.0/8")), "less specific");
        assert!(!c.covered.covers(&p("10.2.0.0/16")));
        assert!(c.covered.covers(&p("192.0.2.1/32")));
        assert!(!c.covered.covers(&p("192.0.2.0/32")));
    }

    #[test]
    fn merge_and_emptiness() {
        let mut a = Affected::none();
        assert!(a.is_empty());
        a.merge(&Affected::members([3, 1, 3]));
        a.merge(&Affected::covered_by([p("10.0.0.0/8")]));
        assert!(!a.is_empty() && !a.is_all());
        assert!(a.whole_member(1) && a.whole_member(3) && !a.whole_member(2));
        assert!(a.covered.covers(&p("10.9.0.0/16")));
        a.merge(&Affected::all());
        assert!(a.is_all() && a.whole_member(2));
    }
}
