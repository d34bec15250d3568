//! One test per import check and per community action: attribute bytes
//! in, reject codes, export controls and attribute block out.

mod common;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use bgp_wire::NextHop;
use common::*;
use policy::communities::{self as comm, read};
use policy::{code, RovState};

fn c(a: u32, b: u32) -> u32 {
    (a << 16) | b
}

#[test]
fn clean_route_is_accepted_unchanged() {
    let bytes = attrs_bytes(&[A, 15169], &[c(3333, 100)], &[[1, 2, 3]]);
    let (mask, attrs) = run(&policy(), &member_a(), &bytes, nh_a(), "8.8.8.0/24");
    assert_eq!(mask, 0);
    assert_eq!(read(&attrs.block), (vec![c(3333, 100)], vec![[1, 2, 3]]));
    assert!(attrs.export.is_open());
    assert_eq!(attrs.pref, rib::DEFAULT_PREF);
}

#[test]
fn as_path_too_long() {
    let path: Vec<u32> = std::iter::once(A)
        .chain(std::iter::repeat_n(15169, 32))
        .collect();
    let (mask, attrs) = run(
        &policy(),
        &member_a(),
        &attrs_bytes(&path, &[], &[]),
        nh_a(),
        "8.8.8.0/24",
    );
    assert_eq!(codes(mask), [code::AS_PATH_TOO_LONG]);
    assert_eq!(read(&attrs.block).1, [[RS, comm::LC_REJECT, 1]]);
    let ok = &path[..32];
    assert_eq!(
        run(
            &policy(),
            &member_a(),
            &attrs_bytes(ok, &[], &[]),
            nh_a(),
            "8.8.8.0/24"
        )
        .0,
        0
    );
}

#[test]
fn bogon_prefix_and_default_routes() {
    let b = attrs_bytes(&[A], &[], &[]);
    for pfx in ["10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0"] {
        let (mask, _) = run(&policy(), &member_a(), &b, nh_a(), pfx);
        assert!(codes(mask).contains(&code::BOGON_PREFIX), "{pfx}");
    }
    let (mask, _) = run(&policy(), &member_a(), &b, nh_a6(), "2001:db8:1::/48");
    assert_eq!(codes(mask), [code::BOGON_PREFIX]);
    let off = policy_with(|s, _| s.reject_bogon_prefixes = false);
    assert_eq!(run(&off, &member_a(), &b, nh_a(), "10.0.0.0/8").0, 0);
}

#[test]
fn global_and_member_blocklists() {
    let pol = policy_with(|s, m| {
        s.blocklist = vec![p("1.1.0.0/16")];
        m.blocklist = vec![p("1.1.1.0/24"), p("9.9.9.0/24")];
    });
    let b = attrs_bytes(&[A], &[], &[]);
    assert_eq!(
        codes(run(&pol, &member_a(), &b, nh_a(), "1.1.2.0/24").0),
        [code::GLOBAL_BLOCKLIST]
    );
    assert_eq!(
        codes(run(&pol, &member_a(), &b, nh_a(), "1.1.1.0/24").0),
        [code::GLOBAL_BLOCKLIST, code::MEMBER_BLOCKLIST]
    );
    assert_eq!(
        codes(run(&pol, &member_a(), &b, nh_a(), "9.9.9.0/24").0),
        [code::MEMBER_BLOCKLIST]
    );
    assert_eq!(run(&pol, &member_a(), &b, nh_a(), "9.9.0.0/16").0, 0);
}

#[test]
fn invalid_afi() {
    let b = attrs_bytes(&[A], &[], &[]);
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a6(), "8.8.8.0/24").0),
        [code::INVALID_AFI]
    );
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a(), "2a00::/24").0),
        [code::INVALID_AFI]
    );
}

#[test]
fn next_hop_own_extra_or_other() {
    let b = attrs_bytes(&[A], &[], &[]);
    let other = NextHop::V4(Ipv4Addr::new(192, 0, 2, 12));
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, other, "8.8.8.0/24").0),
        [code::INVALID_NEXT_HOP]
    );
    let extra = NextHop::V4(Ipv4Addr::new(192, 0, 2, 99));
    assert_eq!(run(&policy(), &member_a(), &b, extra, "8.8.8.0/24").0, 0);
    assert_eq!(run(&policy(), &member_a(), &b, nh_a6(), "2a00::/24").0, 0);
    let off = policy_with(|s, _| s.check_next_hop = false);
    assert_eq!(run(&off, &member_a(), &b, other, "8.8.8.0/24").0, 0);
}

#[test]
fn left_most_as() {
    let b = attrs_bytes(&[15169], &[], &[]);
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/24").0),
        [code::INVALID_LEFT_MOST_ASN]
    );
}

#[test]
fn bogon_asns_in_path_but_not_the_members_own() {
    let b = attrs_bytes(&[A, 65000, 15169], &[], &[]);
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/24").0),
        [code::INVALID_ASN_IN_PATH]
    );
    let b = attrs_bytes(&[A, 23456], &[], &[]);
    let tolerant = policy_with(|s, _| s.allow_private_asns = true);
    assert_eq!(
        codes(run(&tolerant, &member_a(), &b, nh_a(), "8.8.8.0/24").0),
        [code::INVALID_ASN_IN_PATH]
    );
    let b = attrs_bytes(&[A, 65000, 15169], &[], &[]);
    assert_eq!(run(&tolerant, &member_a(), &b, nh_a(), "8.8.8.0/24").0, 0);
    // A member on a documentation ASN, prepending itself: its own AS is
    // not a bogon for its routes.
    let mb = routeserver::MemberInfo {
        asn: B,
        addr: std::net::IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12)),
        name: "B".into(),
    };
    let b = attrs_bytes(&[B, B, 15169], &[], &[]);
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 12));
    assert_eq!(run(&policy(), &mb, &b, nh, "8.8.8.0/24").0, 0);
}

#[test]
fn transit_free_asn() {
    let b = attrs_bytes(&[A, 3356, 15169], &[], &[]);
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/24").0),
        [code::TRANSIT_FREE_ASN]
    );
    let off = policy_with(|_, m| m.check_transit_free = false);
    assert_eq!(run(&off, &member_a(), &b, nh_a(), "8.8.8.0/24").0, 0);
}

#[test]
fn never_via_route_servers() {
    let pol = policy_with(|s, _| s.never_via_route_servers_asns = vec![15169]);
    let b = attrs_bytes(&[A, 15169], &[], &[]);
    assert_eq!(
        codes(run(&pol, &member_a(), &b, nh_a(), "8.8.8.0/24").0),
        [code::NEVER_VIA_ROUTE_SERVERS]
    );
}

#[test]
fn ipv6_outside_global_unicast_and_lengths() {
    let b = attrs_bytes(&[A], &[], &[]);
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a6(), "4000::/16").0),
        [code::IPV6_NOT_GLOBAL_UNICAST]
    );
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a6(), "2a00:1::/56").0),
        [code::INVALID_PREFIX_LEN]
    );
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a6(), "2000::/8").0),
        [code::INVALID_PREFIX_LEN]
    );
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/25").0),
        [code::INVALID_PREFIX_LEN]
    );
    assert_eq!(
        codes(run(&policy(), &member_a(), &b, nh_a(), "8.0.0.0/7").0),
        [code::INVALID_PREFIX_LEN]
    );
    let wide = policy_with(|_, m| m.ipv4_len = registry::LenRange { min: 8, max: 25 });
    assert_eq!(run(&wide, &member_a(), &b, nh_a(), "8.8.8.0/25").0, 0);
}

#[test]
fn every_reason_is_collected() {
    // Wrong first AS, transit-free and bogon ASN, wrong next hop, bogon
    // prefix too long.
    let b = attrs_bytes(&[15169, 174, 64512], &[], &[]);
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 50));
    let (mask, attrs) = run(&policy(), &member_a(), &b, nh, "10.1.2.0/25");
    assert_eq!(codes(mask), [2, 5, 6, 7, 8, 13]);
    let large = read(&attrs.block).1;
    assert_eq!(
        large,
        [2, 5, 6, 7, 8, 13]
            .map(|c| [RS, comm::LC_REJECT, c])
            .to_vec()
    );
}

#[test]
fn members_cannot_forge_route_server_communities() {
    let b = attrs_bytes(
        &[A],
        &[],
        &[[RS, comm::LC_REJECT, 2], [RS, 1000, 1], [5, 6, 7]],
    );
    let (mask, attrs) = run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/24");
    assert_eq!(mask, 0);
    assert_eq!(read(&attrs.block).1, [[5, 6, 7]]);
}

#[test]
fn export_control_standard_communities_are_applied_and_removed() {
    let b = attrs_bytes(
        &[A],
        &[
            c(0, 64501),
            c(65502, 64502),
            c(RS, 64503),
            c(0, RS),
            c(7, 7),
        ],
        &[],
    );
    let (mask, attrs) = run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/24");
    assert_eq!(mask, 0);
    assert!(attrs.export.none);
    assert_eq!(&*attrs.export.only, &[64503]);
    assert_eq!(&*attrs.export.deny, &[64501]);
    assert_eq!(attrs.export.prepend_for(64502), 2);
    assert_eq!(read(&attrs.block).0, [c(7, 7)]);
}

#[test]
fn export_control_large_communities_are_applied_and_removed() {
    let b = attrs_bytes(
        &[A],
        &[],
        &[[RS, 0, 70000], [RS, 101, 64502], [RS, 1, 64503], [9, 9, 9]],
    );
    let (_, attrs) = run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/24");
    assert!(!attrs.export.allows(70000));
    assert!(attrs.export.allows(64503));
    assert_eq!(attrs.export.prepend_for(64502), 1);
    assert_eq!(read(&attrs.block).1, [[9, 9, 9]]);
}

#[test]
fn rejected_routes_keep_what_the_member_sent() {
    let b = attrs_bytes(&[A], &[c(0, 64501)], &[]);
    let (mask, attrs) = run(&policy(), &member_a(), &b, nh_a(), "10.0.0.0/8");
    assert_ne!(mask, 0);
    assert_eq!(read(&attrs.block).0, [c(0, 64501)]);
    assert!(attrs.export.is_open());
}

#[test]
fn graceful_shutdown_lowers_preference() {
    let b = attrs_bytes(&[A], &[comm::GRACEFUL_SHUTDOWN], &[]);
    let (_, attrs) = run(&policy(), &member_a(), &b, nh_a(), "8.8.8.0/24");
    assert_eq!(attrs.pref, 0);
    assert_eq!(read(&attrs.block).0, [comm::GRACEFUL_SHUTDOWN]);
    let off = policy_with(|s, _| s.graceful_shutdown = false);
    assert_eq!(
        run(&off, &member_a(), &b, nh_a(), "8.8.8.0/24").1.pref,
        rib::DEFAULT_PREF
    );
}

fn irr_a() -> Arc<FakeIrr> {
    Arc::new(FakeIrr {
        origins: HashMap::from([(A, vec![A, 15169])]),
        prefixes: HashMap::from([(A, vec![(p("8.8.0.0/16"), 24), (p("2a00:1::/32"), 48)])]),
    })
}

#[test]
fn blackhole_of_own_space() {
    let mut pol = policy();
    pol.set_irr(Some(irr_a()));
    let b = attrs_bytes(&[A], &[comm::BLACKHOLE], &[]);
    let (mask, attrs) = run(&pol, &member_a(), &b, nh_a(), "8.8.8.8/32");
    // The /32 is not itself covered by a route object up to /24: IRR prefix
    // check still says no, but the length limit is lifted.
    assert_eq!(codes(mask), [code::PREFIX_NOT_IN_AS_SET]);
    let _ = attrs;
    // With the IRR prefix check off (origin only), the blackhole passes
    // and gets NO_EXPORT, next hop unchanged.
    let mut pol = policy_with(|s, _| s.irr_check_prefix = false);
    pol.set_irr(Some(irr_a()));
    let (mask, attrs) = run(&pol, &member_a(), &b, nh_a(), "8.8.8.8/32");
    assert_eq!(mask, 0);
    assert_eq!(read(&attrs.block).0, [comm::BLACKHOLE, comm::NO_EXPORT]);
    assert_eq!(attrs.next_hop, nh_a());
    // Outside the member's space: the usual length limit applies.
    let (mask, _) = run(&pol, &member_a(), &b, nh_a(), "9.9.9.9/32");
    assert_eq!(codes(mask), [code::INVALID_PREFIX_LEN]);
    // Without IRR data no space is the member's own.
    let (mask, _) = run(&policy(), &member_a(), &b, nh_a(), "8.8.8.8/32");
    assert_eq!(codes(mask), [code::INVALID_PREFIX_LEN]);
    // Disabled for the member.
    let mut pol = policy_with(|s, m| {
        s.irr_check_prefix = false;
        m.blackhole = false;
    });
    pol.set_irr(Some(irr_a()));
    assert_eq!(
        codes(run(&pol, &member_a(), &b, nh_a(), "8.8.8.8/32").0),
        [code::INVALID_PREFIX_LEN]
    );
}

#[test]
fn irr_origin_and_prefix() {
    let mut pol = policy();
    pol.set_irr(Some(irr_a()));
    let ok = attrs_bytes(&[A, 15169], &[], &[]);
    let (mask, attrs) = run(&pol, &member_a(), &ok, nh_a(), "8.8.8.0/24");
    assert_eq!(mask, 0);
    assert_eq!(
        read(&attrs.block).1,
        [
            [RS, comm::LC_IRR, comm::IRR_PREFIX_OK],
            [RS, comm::LC_IRR, comm::IRR_ORIGIN_OK]
        ]
    );
    let bad_origin = attrs_bytes(&[A, 2906], &[], &[]);
    assert_eq!(
        codes(run(&pol, &member_a(), &bad_origin, nh_a(), "8.8.8.0/24").0),
        [code::ORIGIN_NOT_IN_AS_SET]
    );
    assert_eq!(
        codes(run(&pol, &member_a(), &ok, nh_a(), "9.9.9.0/24").0),
        [code::PREFIX_NOT_IN_AS_SET]
    );
    // No data for a member: the check says nothing.
    let other = routeserver::MemberInfo {
        asn: 15169,
        addr: std::net::IpAddr::V4(Ipv4Addr::new(192, 0, 2, 13)),
        name: "C".into(),
    };
    let b = attrs_bytes(&[15169], &[], &[]);
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 13));
    let (mask, attrs) = run(&pol, &other, &b, nh, "9.9.9.0/24");
    assert_eq!(mask, 0);
    assert!(read(&attrs.block).1.is_empty());
    // Off for the member.
    let mut pol = policy_with(|_, m| m.check_irr = false);
    pol.set_irr(Some(irr_a()));
    assert_eq!(run(&pol, &member_a(), &ok, nh_a(), "9.9.9.0/24").0, 0);
}

#[test]
fn rpki_states_and_invalid_rejection() {
    let rpki = Arc::new(FakeRpki::default());
    rpki.rov
        .lock()
        .unwrap()
        .insert((p("8.8.8.0/24"), Some(15169)), RovState::Valid);
    rpki.rov
        .lock()
        .unwrap()
        .insert((p("8.8.4.0/24"), Some(15169)), RovState::Invalid);
    let mut pol = policy();
    assert!(!pol.checks_on().rpki);
    pol.set_rpki(Some(rpki.clone()));
    assert!(pol.checks_on().rpki);
    let b = attrs_bytes(&[A, 15169], &[], &[]);
    let (mask, attrs) = run(&pol, &member_a(), &b, nh_a(), "8.8.8.0/24");
    assert_eq!(mask, 0);
    assert_eq!(
        read(&attrs.block).1,
        [[RS, comm::LC_RPKI, comm::RPKI_VALID]]
    );
    let (mask, attrs) = run(&pol, &member_a(), &b, nh_a(), "8.8.4.0/24");
    assert_eq!(codes(mask), [code::RPKI_INVALID]);
    assert_eq!(
        read(&attrs.block).1,
        [
            [RS, comm::LC_RPKI, comm::RPKI_INVALID],
            [RS, comm::LC_REJECT, 14]
        ]
    );
    let (_, attrs) = run(&pol, &member_a(), &b, nh_a(), "1.0.0.0/24");
    assert_eq!(
        read(&attrs.block).1,
        [[RS, comm::LC_RPKI, comm::RPKI_NOT_FOUND]]
    );
    // Tag only.
    let mut pol = policy_with(|s, _| s.rpki_reject_invalid = false);
    pol.set_rpki(Some(rpki));
    assert_eq!(run(&pol, &member_a(), &b, nh_a(), "8.8.4.0/24").0, 0);
}

#[test]
fn aspa_invalid_path() {
    let rpki = Arc::new(FakeRpki {
        aspa_invalid: vec![vec![A, 15169]],
        ..FakeRpki::default()
    });
    let mut pol = policy();
    pol.set_rpki(Some(rpki));
    let b = attrs_bytes(&[A, 15169], &[], &[]);
    assert_eq!(
        codes(run(&pol, &member_a(), &b, nh_a(), "1.0.0.0/24").0),
        [code::ASPA_INVALID]
    );
    let b = attrs_bytes(&[A, 2906], &[], &[]);
    assert_eq!(run(&pol, &member_a(), &b, nh_a(), "1.0.0.0/24").0, 0);
}

#[test]
fn variants_are_shared_between_prefixes_with_the_same_verdict() {
    use bgp_wire::attr::Attributes;
    use routeserver::{ImportResult, Policy};
    let b = attrs_bytes(&[A], &[], &[]);
    let attrs = Attributes::decode(&b, &bgp_wire::DecodeCtx::default(), &mut Vec::new()).unwrap();
    let mut out = ImportResult::default();
    let nlri: Vec<bgp_wire::Nlri> = ["8.8.8.0/24", "8.8.4.0/24", "10.0.0.0/8", "9.9.9.0/24"]
        .iter()
        .map(|s| bgp_wire::Nlri::new(p(s)))
        .collect();
    policy().import(&member_a(), &attrs, &nh_a(), &nlri, &mut out);
    assert_eq!(out.variants.len(), 2);
    let v: Vec<(u16, u32)> = out.routes.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(v, [(0, 0), (0, 0), (1, 1 << 2), (0, 0)]);
    assert_eq!(policy().max_prefix(&member_a()), Some([100, 50]));
}
