//! [`IxpPolicy`]: the import filters of SPEC §3 as a `routeserver::Policy`.
//!
//! For each route the policy computes every reject reason (not the first
//! one: the mask is the union of independent checks), the RPKI and IRR
//! states, and the export controls the route's communities ask for, and
//! builds the attribute set the RIB stores:
//!
//! - accepted routes: the received attributes with the route server's
//!   control communities removed and the informational large communities
//!   (`RS:1000:x` RPKI, `RS:1001:x` IRR) added; NO_EXPORT added to a
//!   BLACKHOLE route (RFC 7999 §3.2); `pref` 0 for GRACEFUL_SHUTDOWN
//!   (RFC 8326 §4);
//! - rejected routes: the received attributes, control communities kept
//!   (the looking glass shows what the member sent), with one
//!   `RS:1101:CODE` large community per reason. The RIB never exports them.
//!
//! Every variant keeps the received block (`RouteAttrs::received`), so
//! `RouteServer::revalidate` can judge the route again when RPKI or IRR
//! data changes.
//!
//! Decisions, with what arouteserver does where it differs:
//! - Bogon ASNs (code 7) are looked for in the whole AS path except the
//!   member's own AS: the operator vetted the member's AS when adding it to
//!   the registry, and small IXPs do have members on private ASNs.
//!   Private-use and documentation ranges can be tolerated elsewhere in the
//!   path too ([`Settings::allow_private_asns`]); the reserved values (0,
//!   23456, 65535, 65552-131071, 4294967295) never are.
//! - Transit-free (code 8) and never-via-route-servers (code 15) ASNs are
//!   also looked for in the path except the member's own AS, so such a
//!   network may itself peer with the route server (arouteserver's
//!   per-client exception).
//! - Invalid AFI (code 4): the prefix's family differs from the next hop's.
//!   Extended next hop (RFC 8950) is not accepted yet, so an IPv4 prefix
//!   with an IPv6 next hop is rejected with code 4.
//! - BLACKHOLE (RFC 7999): when enabled, a route carrying 65535:666 whose
//!   prefix is covered by the member's IRR route objects (the prefix or a
//!   shorter one of the same family is `IrrView::prefix_allowed`) may be as
//!   long as /32 or /128, is not rejected for RPKI invalid (a /32 under a
//!   /24 ROA is invalid by construction), and gets NO_EXPORT. The next hop
//!   is left unchanged (RFC 7947 transparency): members act on the
//!   community themselves; arouteserver's next-hop rewrite to a discard
//!   address is not done. Without IRR data no space is "own", so no
//!   blackhole more-specific passes the length limit.
//! - ASPA (where the RPKI view has data): a path the view says is not a
//!   valid upstream path is rejected with code 16, which is caribix's own
//!   (the Euro-IX list has no ASPA code).
//! - A check whose data source is not configured (no RPKI view, no IRR
//!   view) is off: no reason and no informational community.
//!
//! Not here: fetching RPKI or IRR data (the `RpkiView` / `IrrView`
//! implementations do), and max-prefix enforcement (the route server
//! counts; this policy only provides the limits).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bgp_wire::attr::Attributes;
use bgp_wire::builder::passthrough_block;
use bgp_wire::{NextHop, Nlri, Prefix};
use registry::{LenRange, MaxPrefix, MaxPrefixAction};
use rib::{ExportCtl, RouteAttrs, DEFAULT_PREF};
use routeserver::{transparent_attrs, ImportResult, MemberInfo, Policy};

use crate::bogons::{in_global_unicast, is_bogon_asn, is_bogon_prefix};
use crate::communities::{self as comm, Actions, Rewrite};
use crate::{code, IrrView, RovState, RpkiView};

/// Global policy settings (SPEC §3 defaults, see `registry::Policy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The route server's AS (the `RS` of the communities).
    pub rs_asn: u32,
    /// Accepted IPv4 prefix lengths (code 13).
    pub ipv4_len: LenRange,
    /// Accepted IPv6 prefix lengths (code 13).
    pub ipv6_len: LenRange,
    /// Longest AS path (code 1).
    pub max_as_path_len: u8,
    /// Reject bogon prefixes (code 2).
    pub reject_bogon_prefixes: bool,
    /// Reject bogon ASNs in the path (code 7).
    pub reject_bogon_asns: bool,
    /// Tolerate private-use and documentation ASNs in paths (default
    /// false; the demo turns it on).
    pub allow_private_asns: bool,
    /// First AS must be the member's (code 6).
    pub check_first_as: bool,
    /// NEXT_HOP must be the member's (code 5).
    pub check_next_hop: bool,
    /// Transit-free ASNs (code 8).
    pub transit_free_asns: Vec<u32>,
    /// Never-via-route-servers ASNs (code 15).
    pub never_via_route_servers_asns: Vec<u32>,
    /// Global blocklist (code 3): these prefixes and their more-specifics.
    pub blocklist: Vec<Prefix>,
    /// Accept BLACKHOLE more-specifics.
    pub blackhole: bool,
    /// Honour GRACEFUL_SHUTDOWN.
    pub graceful_shutdown: bool,
    /// Reject RPKI invalid routes (code 14) rather than only tagging them.
    pub rpki_reject_invalid: bool,
    /// Use ASPA where the RPKI view has it (code 16).
    pub aspa: bool,
    /// IRR origin check (code 9).
    pub irr_check_origin: bool,
    /// IRR prefix check (code 12).
    pub irr_check_prefix: bool,
    /// Max-prefix for members without their own.
    pub default_max_prefix: MaxPrefix,
    /// What exceeding a max-prefix limit does, for members without their
    /// own setting.
    pub max_prefix_action: MaxPrefixAction,
}

impl Settings {
    /// The settings of a `[policy]` section for a route server of AS `rs_asn`.
    pub fn from_registry(rs_asn: u32, p: &registry::Policy) -> Settings {
        Settings {
            rs_asn,
            ipv4_len: p.ipv4_prefix_len,
            ipv6_len: p.ipv6_prefix_len,
            max_as_path_len: p.max_as_path_len,
            reject_bogon_prefixes: p.reject_bogon_prefixes,
            reject_bogon_asns: p.reject_bogon_asns,
            allow_private_asns: false,
            check_first_as: p.check_first_as,
            check_next_hop: p.check_next_hop,
            transit_free_asns: p.transit_free_asns.clone(),
            never_via_route_servers_asns: p.never_via_route_servers_asns.clone(),
            blocklist: p.blocklist.clone(),
            blackhole: p.blackhole,
            graceful_shutdown: p.graceful_shutdown,
            rpki_reject_invalid: p.rpki.reject_invalid,
            aspa: p.rpki.aspa,
            irr_check_origin: p.irr.check_origin,
            irr_check_prefix: p.irr.check_prefix,
            default_max_prefix: p.default_max_prefix,
            max_prefix_action: p.max_prefix_action,
        }
    }

    /// The defaults of SPEC §3 for a route server of AS `rs_asn`.
    pub fn defaults(rs_asn: u32) -> Settings {
        Settings::from_registry(rs_asn, &registry::Policy::default())
    }
}

/// One member's effective settings (global values with its overrides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSettings {
    /// Its AS.
    pub asn: u32,
    /// Its peering LAN addresses (valid next hops).
    pub addresses: Vec<IpAddr>,
    /// Other next hops it may announce.
    pub extra_next_hops: Vec<IpAddr>,
    /// IPv4 prefix lengths.
    pub ipv4_len: LenRange,
    /// IPv6 prefix lengths.
    pub ipv6_len: LenRange,
    /// Longest AS path.
    pub max_as_path_len: u8,
    /// IRR checks apply (when IRR data is configured).
    pub check_irr: bool,
    /// RPKI checks apply (when RPKI data is configured).
    pub check_rpki: bool,
    /// Transit-free check applies.
    pub check_transit_free: bool,
    /// BLACKHOLE accepted.
    pub blackhole: bool,
    /// Its blocklist (code 11).
    pub blocklist: Vec<Prefix>,
    /// Max-prefix limits.
    pub max_prefix: MaxPrefix,
    /// What exceeding them does.
    pub max_prefix_action: MaxPrefixAction,
}

impl MemberSettings {
    /// A member with the global settings only.
    pub fn defaults(asn: u32, addresses: Vec<IpAddr>, s: &Settings) -> MemberSettings {
        MemberSettings {
            asn,
            addresses,
            extra_next_hops: Vec::new(),
            ipv4_len: s.ipv4_len,
            ipv6_len: s.ipv6_len,
            max_as_path_len: s.max_as_path_len,
            check_irr: true,
            check_rpki: true,
            check_transit_free: true,
            blackhole: s.blackhole,
            blocklist: Vec::new(),
            max_prefix: s.default_max_prefix,
            max_prefix_action: s.max_prefix_action,
        }
    }

    /// A registry member with its overrides.
    pub fn from_registry(m: &registry::Member, s: &Settings) -> MemberSettings {
        let p = &m.policy;
        MemberSettings {
            asn: m.asn,
            addresses: m.addresses().collect(),
            extra_next_hops: m.extra_next_hops.clone(),
            ipv4_len: p.ipv4_prefix_len.unwrap_or(s.ipv4_len),
            ipv6_len: p.ipv6_prefix_len.unwrap_or(s.ipv6_len),
            max_as_path_len: p.max_as_path_len.unwrap_or(s.max_as_path_len),
            check_irr: p.check_irr.unwrap_or(true),
            check_rpki: p.check_rpki.unwrap_or(true),
            check_transit_free: p.check_transit_free.unwrap_or(true),
            blackhole: p.blackhole.unwrap_or(s.blackhole),
            blocklist: p.blocklist.clone(),
            max_prefix: m.max_prefix,
            max_prefix_action: p.max_prefix_action.unwrap_or(s.max_prefix_action),
        }
    }
}

/// Which checks are on, for the looking glass (SPEC §3: "a check whose
/// data source is not configured is off, and the looking glass says so").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksOn {
    /// RPKI ROV (code 14; tagging when invalids are not rejected).
    pub rpki: bool,
    /// ASPA (code 16): on when RPKI is and `aspa` is set; whether the
    /// cache has ASPA data is the view's business.
    pub aspa: bool,
    /// IRR origin (code 9).
    pub irr_origin: bool,
    /// IRR prefix (code 12).
    pub irr_prefix: bool,
    /// Bogon prefixes (code 2).
    pub bogon_prefixes: bool,
    /// Bogon ASNs (code 7).
    pub bogon_asns: bool,
    /// First AS (code 6).
    pub first_as: bool,
    /// NEXT_HOP (code 5).
    pub next_hop: bool,
}

/// The verdict on one route, before it is turned into attributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Verdict {
    /// Reject mask: bit `n` for reason code `n`.
    pub reject: u32,
    /// RPKI ROV state, when the check is on.
    pub rpki: Option<RovState>,
    /// IRR prefix state, when the check is on and has data.
    pub irr_prefix: Option<bool>,
    /// IRR origin state, when the check is on and has data.
    pub irr_origin: Option<bool>,
    /// Accepted as a BLACKHOLE route of the member's own space.
    pub blackhole: bool,
}

/// The IXP import policy.
#[derive(Clone, Debug)]
pub struct IxpPolicy {
    settings: Settings,
    members: Vec<Arc<MemberSettings>>,
    by_addr: HashMap<IpAddr, usize>,
    by_asn: HashMap<u32, usize>,
    rpki: Option<Arc<dyn RpkiView>>,
    irr: Option<Arc<dyn IrrView>>,
}

/// What one UPDATE's attributes say, computed once for all its prefixes.
struct PathFacts {
    mask: u32,
    origin: Option<u32>,
    actions: Actions,
}

impl IxpPolicy {
    /// A policy with `settings` and per-member settings. Members are found
    /// by session address, then by AS; a session of neither gets the
    /// global settings with its own address as the only next hop.
    pub fn new(settings: Settings, members: Vec<MemberSettings>) -> IxpPolicy {
        let mut by_addr = HashMap::new();
        let mut by_asn = HashMap::new();
        for (i, m) in members.iter().enumerate() {
            for a in &m.addresses {
                by_addr.entry(*a).or_insert(i);
            }
            by_asn.entry(m.asn).or_insert(i);
        }
        IxpPolicy {
            settings,
            members: members.into_iter().map(Arc::new).collect(),
            by_addr,
            by_asn,
            rpki: None,
            irr: None,
        }
    }

    /// The policy of route server `rs` of a validated configuration: the
    /// `[policy]` section and the members of its IXP.
    pub fn from_config(cfg: &registry::Config, rs: &registry::RouteServer) -> IxpPolicy {
        let settings = Settings::from_registry(rs.asn, &cfg.policy);
        let members = cfg
            .members_of(&rs.ixp)
            .map(|m| MemberSettings::from_registry(m, &settings))
            .collect();
        IxpPolicy::new(settings, members)
    }

    /// The global settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Set (or remove) the RPKI data source. Call
    /// `RouteServer::revalidate` afterwards.
    pub fn set_rpki(&mut self, view: Option<Arc<dyn RpkiView>>) {
        self.rpki = view;
    }

    /// Set (or remove) the IRR data source. Call
    /// `RouteServer::revalidate` afterwards.
    pub fn set_irr(&mut self, view: Option<Arc<dyn IrrView>>) {
        self.irr = view;
    }

    /// What exceeding `member`'s max-prefix limit does (its own setting,
    /// else the global one).
    pub fn max_prefix_action(&self, member: &MemberInfo) -> MaxPrefixAction {
        self.member_settings(member).max_prefix_action
    }

    /// Which checks are on.
    pub fn checks_on(&self) -> ChecksOn {
        let s = &self.settings;
        ChecksOn {
            rpki: self.rpki.is_some(),
            aspa: self.rpki.is_some() && s.aspa,
            irr_origin: self.irr.is_some() && s.irr_check_origin,
            irr_prefix: self.irr.is_some() && s.irr_check_prefix,
            bogon_prefixes: s.reject_bogon_prefixes,
            bogon_asns: s.reject_bogon_asns,
            first_as: s.check_first_as,
            next_hop: s.check_next_hop,
        }
    }

    fn member_settings(&self, m: &MemberInfo) -> Arc<MemberSettings> {
        let i = self
            .by_addr
            .get(&m.addr)
            .or_else(|| self.by_asn.get(&m.asn));
        match i.and_then(|&i| self.members.get(i)) {
            Some(s) => s.clone(),
            None => Arc::new(MemberSettings::defaults(
                m.asn,
                vec![m.addr],
                &self.settings,
            )),
        }
    }

    fn path_facts(
        &self,
        ms: &MemberSettings,
        member: &MemberInfo,
        attrs: &Attributes<'_>,
        nh: &NextHop,
    ) -> PathFacts {
        let s = &self.settings;
        let path = attrs.effective_as_path().unwrap_or_default();
        let asns: Vec<u32> = path.asns().collect();
        let mut mask = 0u32;
        if path.path_len() > usize::from(ms.max_as_path_len) {
            mask |= bit(code::AS_PATH_TOO_LONG);
        }
        if s.check_first_as && path.first_asn() != Some(member.asn) {
            mask |= bit(code::INVALID_LEFT_MOST_ASN);
        }
        let others = || asns.iter().copied().filter(|&a| a != member.asn);
        if s.reject_bogon_asns && others().any(|a| is_bogon_asn(a, s.allow_private_asns)) {
            mask |= bit(code::INVALID_ASN_IN_PATH);
        }
        if ms.check_transit_free && others().any(|a| s.transit_free_asns.contains(&a)) {
            mask |= bit(code::TRANSIT_FREE_ASN);
        }
        if others().any(|a| s.never_via_route_servers_asns.contains(&a)) {
            mask |= bit(code::NEVER_VIA_ROUTE_SERVERS);
        }
        if s.check_next_hop {
            let addr = match nh {
                NextHop::V4(a) => IpAddr::V4(*a),
                NextHop::V6 { global, .. } => IpAddr::V6(*global),
            };
            let ok = addr == member.addr
                || ms.addresses.contains(&addr)
                || ms.extra_next_hops.contains(&addr);
            if !ok {
                mask |= bit(code::INVALID_NEXT_HOP);
            }
        }
        if self.rpki.is_some() && ms.check_rpki && s.aspa {
            if let Some(rpki) = &self.rpki {
                if rpki.aspa_upstream_valid(&asns) == Some(false) {
                    mask |= bit(code::ASPA_INVALID);
                }
            }
        }
        let communities: Vec<u32> = attrs
            .communities
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        let large: Vec<[u32; 3]> = attrs
            .large_communities
            .map(|c| c.iter().collect())
            .unwrap_or_default();
        PathFacts {
            mask,
            origin: path.origin_asn(),
            actions: comm::actions(s.rs_asn, &communities, &large),
        }
    }

    /// Whether `prefix` lies in the member's own space: it or a shorter
    /// prefix of its family is covered by the member's IRR objects.
    fn own_space(&self, ms: &MemberSettings, prefix: &Prefix) -> bool {
        let Some(irr) = &self.irr else { return false };
        let min = match prefix {
            Prefix::V4(..) => ms.ipv4_len.min,
            Prefix::V6(..) => ms.ipv6_len.min,
        };
        (min..=prefix.len()).rev().any(|len| {
            Prefix::new(prefix.addr(), len)
                .is_ok_and(|p| irr.prefix_allowed(ms.asn, &p) == Some(true))
        })
    }

    fn judge_prefix(
        &self,
        ms: &MemberSettings,
        f: &PathFacts,
        nh: &NextHop,
        p: &Prefix,
    ) -> Verdict {
        let s = &self.settings;
        let mut v = Verdict {
            reject: f.mask,
            ..Verdict::default()
        };
        let nh_v4 = matches!(nh, NextHop::V4(_));
        if nh_v4 != matches!(p, Prefix::V4(..)) {
            v.reject |= bit(code::INVALID_AFI);
        }
        if s.reject_bogon_prefixes && is_bogon_prefix(p) {
            v.reject |= bit(code::BOGON_PREFIX);
        }
        if !in_global_unicast(p) {
            v.reject |= bit(code::IPV6_NOT_GLOBAL_UNICAST);
        }
        if s.blocklist.iter().any(|b| b.contains(p)) {
            v.reject |= bit(code::GLOBAL_BLOCKLIST);
        }
        if ms.blocklist.iter().any(|b| b.contains(p)) {
            v.reject |= bit(code::MEMBER_BLOCKLIST);
        }
        let range = match p {
            Prefix::V4(..) => ms.ipv4_len,
            Prefix::V6(..) => ms.ipv6_len,
        };
        v.blackhole = f.actions.blackhole && s.blackhole && ms.blackhole && self.own_space(ms, p);
        let max = if v.blackhole {
            p.family().max_len()
        } else {
            range.max
        };
        if p.len() < range.min || p.len() > max {
            v.reject |= bit(code::INVALID_PREFIX_LEN);
        }
        if let Some(rpki) = self.rpki.as_ref().filter(|_| ms.check_rpki) {
            let state = rpki.rov(p, f.origin);
            v.rpki = Some(state);
            if state == RovState::Invalid && s.rpki_reject_invalid && !v.blackhole {
                v.reject |= bit(code::RPKI_INVALID);
            }
        }
        if let Some(irr) = self.irr.as_ref().filter(|_| ms.check_irr) {
            if s.irr_check_prefix {
                v.irr_prefix = irr.prefix_allowed(ms.asn, p);
                if v.irr_prefix == Some(false) {
                    v.reject |= bit(code::PREFIX_NOT_IN_AS_SET);
                }
            }
            if s.irr_check_origin {
                // An AS_SET origin is in no AS-SET expansion.
                v.irr_origin = match f.origin {
                    Some(o) => irr.origin_allowed(ms.asn, o),
                    None => Some(false),
                };
                if v.irr_origin == Some(false) {
                    v.reject |= bit(code::ORIGIN_NOT_IN_AS_SET);
                }
            }
        }
        v
    }

    /// Judge one route: every reason and state, without building
    /// attributes. (What `import` does per prefix.)
    pub fn judge(
        &self,
        member: &MemberInfo,
        attrs: &Attributes<'_>,
        next_hop: &NextHop,
        prefix: &Prefix,
    ) -> Verdict {
        let ms = self.member_settings(member);
        let f = self.path_facts(&ms, member, attrs, next_hop);
        self.judge_prefix(&ms, &f, next_hop, prefix)
    }

    fn build(
        &self,
        base: &RouteAttrs,
        received: &Arc<[u8]>,
        f: &PathFacts,
        v: &Verdict,
    ) -> RouteAttrs {
        let rs = self.settings.rs_asn;
        let mut large: Vec<[u32; 3]> = Vec::new();
        if let Some(state) = v.rpki {
            let x = match state {
                RovState::Valid => comm::RPKI_VALID,
                RovState::NotFound => comm::RPKI_NOT_FOUND,
                RovState::Invalid => comm::RPKI_INVALID,
            };
            large.push([rs, comm::LC_RPKI, x]);
        }
        if let Some(ok) = v.irr_prefix {
            let x = if ok {
                comm::IRR_PREFIX_OK
            } else {
                comm::IRR_PREFIX_KO
            };
            large.push([rs, comm::LC_IRR, x]);
        }
        if let Some(ok) = v.irr_origin {
            let x = if ok {
                comm::IRR_ORIGIN_OK
            } else {
                comm::IRR_ORIGIN_KO
            };
            large.push([rs, comm::LC_IRR, x]);
        }
        let mut out = base.clone();
        out.received = Some(received.clone());
        if v.reject != 0 {
            large.extend(
                (1..32)
                    .filter(|c| v.reject & (1 << c) != 0)
                    .map(|c| [rs, comm::LC_REJECT, c]),
            );
            out.block = comm::rewrite(
                received,
                &Rewrite {
                    strip_for: Some(rs),
                    keep_control: true,
                    add: &[],
                    add_large: &large,
                },
            )
            .into();
            out.export = ExportCtl::default();
            return out;
        }
        let add: &[u32] = if v.blackhole { &[comm::NO_EXPORT] } else { &[] };
        out.block = comm::rewrite(
            received,
            &Rewrite {
                strip_for: Some(rs),
                keep_control: false,
                add,
                add_large: &large,
            },
        )
        .into();
        out.export = f.actions.export.clone();
        out.pref = if f.actions.graceful_shutdown && self.settings.graceful_shutdown {
            0
        } else {
            DEFAULT_PREF
        };
        out
    }
}

fn bit(code: u32) -> u32 {
    1 << code
}

impl Policy for IxpPolicy {
    fn import(
        &self,
        member: &MemberInfo,
        attrs: &Attributes<'_>,
        next_hop: &NextHop,
        prefixes: &[Nlri],
        out: &mut ImportResult,
    ) {
        let ms = self.member_settings(member);
        let f = self.path_facts(&ms, member, attrs, next_hop);
        let base = transparent_attrs(attrs, next_hop);
        let mut received = Vec::with_capacity(attrs.raw().len());
        passthrough_block(attrs, &mut received);
        let received: Arc<[u8]> = received.into();
        let first = out.variants.len();
        let mut keys: Vec<Verdict> = Vec::new();
        for n in prefixes {
            let v = self.judge_prefix(&ms, &f, next_hop, &n.prefix);
            let idx = match keys.iter().position(|k| *k == v) {
                Some(i) => i,
                None => {
                    out.variants.push(self.build(&base, &received, &f, &v));
                    keys.push(v);
                    keys.len() - 1
                }
            };
            let Ok(variant) = u16::try_from(first + idx) else {
                continue; // more than 65535 distinct verdicts: cannot happen (a few bits of state)
            };
            out.routes.push((*n, variant, v.reject));
        }
    }

    fn max_prefix(&self, member: &MemberInfo) -> Option<[u32; 2]> {
        let ms = self.member_settings(member);
        Some([ms.max_prefix.ipv4, ms.max_prefix.ipv6])
    }
}
