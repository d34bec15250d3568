//! Shared helpers of the policy tests: attribute bytes in, verdicts out,
//! and test doubles of the RPKI and IRR views.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

use bgp_wire::attr::Attributes;
use bgp_wire::{AsPath, DecodeCtx, EncodeCtx, NextHop, Nlri, Origin, PathAttributes, Prefix};
use policy::{IrrView, IxpPolicy, MemberSettings, RovState, RpkiView, Settings};
use routeserver::{ImportResult, MemberInfo, Policy};

pub const RS: u32 = 64500;
pub const A: u32 = 3333; // member A, public ASN
pub const B: u32 = 64496; // member B, documentation ASN

pub fn addr_a() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11))
}
pub fn addr_a6() -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x11))
}
pub fn nh_a() -> NextHop {
    NextHop::V4(Ipv4Addr::new(192, 0, 2, 11))
}
pub fn nh_a6() -> NextHop {
    NextHop::V6 {
        global: Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x11),
        link_local: None,
    }
}

pub fn member_a() -> MemberInfo {
    MemberInfo {
        asn: A,
        addr: addr_a(),
        name: "A".into(),
    }
}

pub fn policy() -> IxpPolicy {
    policy_with(|_, _| {})
}

pub fn policy_with(f: impl FnOnce(&mut Settings, &mut MemberSettings)) -> IxpPolicy {
    let mut s = Settings::defaults(RS);
    let mut m = MemberSettings::defaults(A, vec![addr_a(), addr_a6()], &s);
    m.extra_next_hops = vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99))];
    f(&mut s, &mut m);
    IxpPolicy::new(s, vec![m])
}

pub fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// Attributes with `path`, standard and large communities, as bytes.
pub fn attrs_bytes(path: &[u32], std: &[u32], large: &[[u32; 3]]) -> Vec<u8> {
    let a = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(path)),
        communities: std.to_vec(),
        large_communities: large.to_vec(),
        ..PathAttributes::default()
    };
    let mut out = Vec::new();
    a.write(&EncodeCtx::default(), &mut out);
    out
}

/// Run the policy on one route; returns (reject mask, attributes).
pub fn run(
    pol: &IxpPolicy,
    member: &MemberInfo,
    bytes: &[u8],
    nh: NextHop,
    prefix: &str,
) -> (u32, rib::RouteAttrs) {
    let mut issues = Vec::new();
    let attrs = Attributes::decode(bytes, &DecodeCtx::default(), &mut issues).unwrap();
    let mut out = ImportResult::default();
    pol.import(member, &attrs, &nh, &[Nlri::new(p(prefix))], &mut out);
    assert_eq!(out.routes.len(), 1);
    let (_, v, mask) = out.routes[0];
    (mask, out.variants[usize::from(v)].clone())
}

pub fn codes(mask: u32) -> Vec<u32> {
    policy::reasons(mask).collect()
}

/// An RPKI double: ROV answers from a table of (prefix, origin) → state,
/// NotFound otherwise; ASPA answers from a set of invalid paths.
#[derive(Debug, Default)]
pub struct FakeRpki {
    pub rov: Mutex<HashMap<(Prefix, Option<u32>), RovState>>,
    pub aspa_invalid: Vec<Vec<u32>>,
}

impl RpkiView for FakeRpki {
    fn rov(&self, prefix: &Prefix, origin: Option<u32>) -> RovState {
        self.rov
            .lock()
            .unwrap()
            .get(&(*prefix, origin))
            .copied()
            .unwrap_or(RovState::NotFound)
    }
    fn aspa_upstream_valid(&self, path: &[u32]) -> Option<bool> {
        if self.aspa_invalid.is_empty() {
            None
        } else {
            Some(!self.aspa_invalid.iter().any(|p| p == path))
        }
    }
}

/// An IRR double: per member, allowed origins and covering prefixes (with
/// a max length); members absent have no data.
#[derive(Debug, Default)]
pub struct FakeIrr {
    pub origins: HashMap<u32, Vec<u32>>,
    pub prefixes: HashMap<u32, Vec<(Prefix, u8)>>,
}

impl IrrView for FakeIrr {
    fn origin_allowed(&self, member_asn: u32, origin: u32) -> Option<bool> {
        self.origins.get(&member_asn).map(|v| v.contains(&origin))
    }
    fn prefix_allowed(&self, member_asn: u32, prefix: &Prefix) -> Option<bool> {
        self.prefixes.get(&member_asn).map(|v| {
            v.iter()
                .any(|(c, max)| c.contains(prefix) && prefix.len() <= *max)
        })
    }
}
