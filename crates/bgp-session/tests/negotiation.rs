//! Capability negotiation (RFC 5492) and the OPEN we send: families (RFC
//! 4760 §8), 4-octet AS (RFC 6793), ADD-PATH directions (RFC 7911 §4),
//! graceful restart (RFC 4724), extended messages (RFC 8654), extended
//! next hop (RFC 8950), route refresh (RFC 2918, 7313), roles (RFC 9234),
//! hold time and keepalive interval (RFC 4271 §4.2, §10).

use std::net::Ipv4Addr;

use bgp_session::{check_open, local_open, negotiate, roles_match, Config};
use bgp_wire::message::write_open;
use bgp_wire::open::GracefulRestartFamily;
use bgp_wire::{AddPathMode, Afi, Capability, Family, FamilySet, Open, Role, Safi};

fn cfg() -> Config {
    Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001)
}

fn peer(caps: Vec<Capability>) -> Open {
    Open {
        version: 4,
        my_as: 65001,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: caps,
        other_params: Vec::new(),
    }
}

fn mp(f: Family) -> Capability {
    Capability::Multiprotocol(f.afi(), f.safi())
}

const V4: Family = Family::Ipv4Unicast;
const V6: Family = Family::Ipv6Unicast;

fn set(fs: &[Family]) -> FamilySet {
    let mut s = FamilySet::EMPTY;
    for f in fs {
        s.insert(*f);
    }
    s
}

/// Our default OPEN, octet by octet (computed by hand from RFC 4271 §4.2
/// and the capability formats; one capability per optional parameter).
#[test]
fn default_open_bytes() {
    let mut b = Vec::new();
    write_open(&mut b, &local_open(&cfg()));
    let mut want = vec![0xff; 16];
    want.extend_from_slice(&[0x00, 0x4c, 0x01]); // length 76, OPEN
    want.extend_from_slice(&[0x04, 0xfb, 0xf4, 0x00, 0x5a, 192, 0, 2, 1, 0x2f]);
    want.extend_from_slice(&[0x02, 0x06, 0x01, 0x04, 0x00, 0x01, 0x00, 0x01]); // MP IPv4 unicast
    want.extend_from_slice(&[0x02, 0x06, 0x01, 0x04, 0x00, 0x02, 0x00, 0x01]); // MP IPv6 unicast
    want.extend_from_slice(&[0x02, 0x02, 0x02, 0x00]); // route refresh
    want.extend_from_slice(&[0x02, 0x02, 0x46, 0x00]); // enhanced route refresh
    want.extend_from_slice(&[0x02, 0x04, 0x40, 0x02, 0x00, 0x00]); // GR, time 0, no AFI
    want.extend_from_slice(&[0x02, 0x02, 0x06, 0x00]); // extended messages
    want.extend_from_slice(&[0x02, 0x03, 0x09, 0x01, 0x01]); // role: route server
    want.extend_from_slice(&[0x02, 0x06, 0x41, 0x04, 0x00, 0x00, 0xfb, 0xf4]); // 4-octet AS
    assert_eq!(b, want);
}

#[test]
fn four_octet_local_as_uses_as_trans() {
    let mut c = cfg();
    c.local_as = 4_200_000_000;
    let o = local_open(&c);
    assert_eq!(o.my_as, bgp_wire::AS_TRANS);
    assert_eq!(o.asn(), 4_200_000_000);
}

#[test]
fn families() {
    let c = cfg();
    let ours = local_open(&c);
    // No multiprotocol capability at all: IPv4 unicast (RFC 4760 §8).
    let n = negotiate(&c, &ours, &peer(vec![]));
    assert_eq!(n.families, set(&[V4]));
    // Only IPv6.
    let n = negotiate(&c, &ours, &peer(vec![mp(V6)]));
    assert_eq!(n.families, set(&[V6]));
    // Both, plus a family we do not carry (AFI 25 SAFI 65, L2VPN VPLS).
    let other = Capability::Multiprotocol(Afi::from(25), Safi::from(65));
    let n = negotiate(&c, &ours, &peer(vec![mp(V4), other.clone(), mp(V6)]));
    assert_eq!(n.families, set(&[V4, V6]));
    // Only a foreign family: nothing in common (not IPv4 by default).
    let n = negotiate(&c, &ours, &peer(vec![other]));
    assert_eq!(n.families, FamilySet::EMPTY);
    // We offer IPv4 only.
    let mut c4 = cfg();
    c4.families = set(&[V4]);
    let n = negotiate(&c4, &local_open(&c4), &peer(vec![mp(V4), mp(V6)]));
    assert_eq!(n.families, set(&[V4]));
}

#[test]
fn four_octet_as_and_as_trans() {
    let c = cfg();
    let ours = local_open(&c);
    let n = negotiate(&c, &ours, &peer(vec![]));
    assert!(!n.four_octet_as);
    assert!(!n.decode_ctx().four_octet_as);
    assert_eq!(n.peer_as, 65001);
    let n = negotiate(&c, &ours, &peer(vec![Capability::FourOctetAs(65001)]));
    assert!(n.four_octet_as && n.encode_ctx().four_octet_as);

    // A 4-octet peer AS: AS_TRANS in My AS, the real AS in the capability.
    let mut c4 = cfg();
    c4.peer_as = 4_200_000_001;
    let mut o = peer(vec![Capability::FourOctetAs(4_200_000_001)]);
    o.my_as = bgp_wire::AS_TRANS;
    assert_eq!(check_open(&c4, &o), Ok(()));
    assert_eq!(negotiate(&c4, &local_open(&c4), &o).peer_as, 4_200_000_001);
    // The same AS_TRANS without the capability is AS 23456: refused.
    let mut o = peer(vec![]);
    o.my_as = bgp_wire::AS_TRANS;
    let e = check_open(&c4, &o).unwrap_err();
    assert_eq!((e.notification.code, e.notification.subcode), (2, 2));
    // Two different 4-octet capabilities: refused.
    let o = peer(vec![
        Capability::FourOctetAs(65001),
        Capability::FourOctetAs(65002),
    ]);
    assert_eq!(check_open(&cfg(), &o).unwrap_err().notification.subcode, 2);
}

/// Every combination of what we offer and what the peer announces for one
/// family (RFC 7911 §4): we receive paths when we offered receive and the
/// peer send; we send when we offered send and the peer receive.
#[test]
fn add_path_matrix() {
    let modes = [
        None,
        Some(AddPathMode::Receive),
        Some(AddPathMode::Send),
        Some(AddPathMode::Both),
    ];
    let mut rows = 0;
    for our_send in [false, true] {
        for our_recv in [false, true] {
            for peer_mode in modes {
                let mut c = cfg();
                if our_send {
                    c.add_path_send.insert(V6);
                }
                if our_recv {
                    c.add_path_receive.insert(V6);
                }
                let mut caps = vec![mp(V4), mp(V6)];
                if let Some(m) = peer_mode {
                    caps.push(Capability::AddPath(vec![(Afi::Ipv6, Safi::Unicast, m)]));
                }
                let n = negotiate(&c, &local_open(&c), &peer(caps));
                let peer_sends = matches!(peer_mode, Some(AddPathMode::Send | AddPathMode::Both));
                let peer_recvs =
                    matches!(peer_mode, Some(AddPathMode::Receive | AddPathMode::Both));
                let want_rx = if our_recv && peer_sends {
                    set(&[V6])
                } else {
                    FamilySet::EMPTY
                };
                let want_tx = if our_send && peer_recvs {
                    set(&[V6])
                } else {
                    FamilySet::EMPTY
                };
                let case = format!("send={our_send} recv={our_recv} peer={peer_mode:?}");
                assert_eq!(n.add_path_receive, want_rx, "{case}");
                assert_eq!(n.add_path_send, want_tx, "{case}");
                assert_eq!(n.decode_ctx().add_path, want_rx, "{case}");
                assert_eq!(n.encode_ctx().add_path, want_tx, "{case}");
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 16);
}

#[test]
fn add_path_only_on_negotiated_families() {
    let mut c = cfg();
    c.add_path_receive = FamilySet::BOTH;
    // The peer can send paths for IPv6 but did not negotiate IPv6.
    let caps = vec![
        mp(V4),
        Capability::AddPath(vec![
            (Afi::Ipv4, Safi::Unicast, AddPathMode::Send),
            (Afi::Ipv6, Safi::Unicast, AddPathMode::Send),
        ]),
    ];
    let n = negotiate(&c, &local_open(&c), &peer(caps));
    assert_eq!(n.add_path_receive, set(&[V4]));
    // Our OPEN announces receive for both families.
    assert!(local_open(&c)
        .capabilities
        .contains(&Capability::AddPath(vec![
            (Afi::Ipv4, Safi::Unicast, AddPathMode::Receive),
            (Afi::Ipv6, Safi::Unicast, AddPathMode::Receive),
        ])));
}

#[test]
fn graceful_restart_receiving_speaker() {
    let c = cfg();
    let gr = Capability::GracefulRestart {
        restarting: true,
        notification: true,
        time: 120,
        families: vec![
            GracefulRestartFamily {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
                forwarding_preserved: true,
            },
            GracefulRestartFamily {
                afi: Afi::Ipv6,
                safi: Safi::Unicast,
                forwarding_preserved: false,
            },
        ],
    };
    // IPv6 is not negotiated, so it is left out of the peer's GR families.
    let n = negotiate(&c, &local_open(&c), &peer(vec![mp(V4), gr]));
    let g = n.graceful_restart.expect("peer GR");
    assert_eq!(g.restart_time, 120);
    assert!(g.restarting && g.notification);
    assert_eq!(g.families, vec![(V4, true)]);
    assert_eq!(
        negotiate(&c, &local_open(&c), &peer(vec![])).graceful_restart,
        None
    );
}

#[test]
fn extended_messages_and_next_hop_need_both_sides() {
    let mut c = cfg();
    let enh = Capability::ExtendedNextHop(vec![(Afi::Ipv4, Safi::Unicast, Afi::Ipv6)]);
    let p = peer(vec![
        mp(V4),
        mp(V6),
        Capability::ExtendedMessage,
        enh.clone(),
    ]);
    let n = negotiate(&c, &local_open(&c), &p);
    assert!(n.extended_message && n.decode_ctx().extended_message);
    assert!(!n.extended_next_hop_ipv4, "we did not offer RFC 8950");
    c.extended_next_hop = true;
    c.extended_messages = false;
    let n = negotiate(&c, &local_open(&c), &p);
    assert!(!n.extended_message);
    assert!(n.extended_next_hop_ipv4);
    // The peer offers IPv6 next hops for IPv6 NLRI only: not RFC 8950.
    let p = peer(vec![
        mp(V4),
        Capability::ExtendedNextHop(vec![(Afi::Ipv6, Safi::Unicast, Afi::Ipv4)]),
    ]);
    assert!(!negotiate(&c, &local_open(&c), &p).extended_next_hop_ipv4);
}

#[test]
fn route_refresh_flags() {
    let c = cfg();
    let ours = local_open(&c);
    let n = negotiate(&c, &ours, &peer(vec![Capability::RouteRefresh]));
    assert!(n.route_refresh && !n.enhanced_route_refresh);
    let n = negotiate(
        &c,
        &ours,
        &peer(vec![
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
        ]),
    );
    assert!(n.route_refresh && n.enhanced_route_refresh);
    let n = negotiate(&c, &ours, &peer(vec![]));
    assert!(!n.route_refresh && !n.enhanced_route_refresh);
}

#[test]
fn hold_time_negotiation() {
    // (ours, theirs) -> (hold, keepalive)
    let cases = [
        (90, 90, 90, 30),
        (90, 9, 9, 3),
        (9, 90, 9, 3),
        (90, 0, 0, 0),
        (0, 90, 0, 0),
        (0, 0, 0, 0),
        (90, 3, 3, 1),
        (90, 4, 4, 1),
        (90, 65535, 90, 30),
    ];
    for (ours, theirs, hold, ka) in cases {
        let mut c = cfg();
        c.hold_time = ours;
        let mut p = peer(vec![]);
        p.hold_time = theirs;
        assert_eq!(check_open(&c, &p), Ok(()), "{ours}/{theirs}");
        let n = negotiate(&c, &local_open(&c), &p);
        assert_eq!(
            (n.hold_time, n.keepalive_interval),
            (hold, ka),
            "{ours}/{theirs}"
        );
    }
    let mut c = cfg();
    c.hold_time = 2;
    assert!(c.validate().is_err(), "we may not propose 2 s either");
    let mut c = cfg();
    c.restart_delay = Some(std::time::Duration::MAX);
    assert_eq!(
        c.validate(),
        Err(bgp_session::ConfigError::Timer("restart_delay"))
    );
    assert!(bgp_session::Session::new(c).is_err());
}

#[test]
fn roles() {
    let all = [
        Role::Provider,
        Role::RouteServer,
        Role::RouteServerClient,
        Role::Customer,
        Role::Peer,
        Role::Other(7),
    ];
    let ok = [
        (Role::Provider, Role::Customer),
        (Role::Customer, Role::Provider),
        (Role::RouteServer, Role::RouteServerClient),
        (Role::RouteServerClient, Role::RouteServer),
        (Role::Peer, Role::Peer),
    ];
    for a in all {
        for b in all {
            assert_eq!(roles_match(a, b), ok.contains(&(a, b)), "{a:?} {b:?}");
        }
    }
    let c = cfg();
    let n = negotiate(
        &c,
        &local_open(&c),
        &peer(vec![Capability::Role(Role::RouteServerClient)]),
    );
    assert_eq!(n.peer_role, Some(Role::RouteServerClient));
    // Two different roles from one peer: Role Mismatch (RFC 9234 §4.2).
    let p = peer(vec![
        Capability::Role(Role::RouteServerClient),
        Capability::Role(Role::Customer),
    ]);
    assert_eq!(check_open(&c, &p).unwrap_err().notification.subcode, 11);
    // Without a role of our own, no role is checked.
    let mut c = cfg();
    c.role = None;
    c.strict_role = true;
    assert_eq!(
        check_open(&c, &peer(vec![Capability::Role(Role::Provider)])),
        Ok(())
    );
    assert!(!local_open(&c).has(9));
}

#[test]
fn no_role_on_ibgp() {
    let mut c = cfg();
    c.peer_as = c.local_as;
    c.strict_role = true;
    assert!(!local_open(&c).has(9), "no role capability on iBGP");
    let mut p = peer(vec![Capability::Role(Role::Provider)]);
    p.my_as = 64500;
    assert_eq!(check_open(&c, &p), Ok(()));
}

#[test]
fn ebgp_and_ibgp_identifiers() {
    // eBGP peers may share our identifier (RFC 6286 §2.1).
    let mut p = peer(vec![]);
    p.bgp_id = Ipv4Addr::new(192, 0, 2, 1);
    assert_eq!(check_open(&cfg(), &p), Ok(()));
    let n = negotiate(&cfg(), &local_open(&cfg()), &p);
    assert!(n.ebgp && n.decode_ctx().ebgp);
}
