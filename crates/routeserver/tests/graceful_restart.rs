//! Graceful restart as receiving speaker (RFC 4724 §4.2) in the route
//! server core: which session ends keep routes stale, the restart and
//! stale timers, End-of-RIB per family, and the F bit of the new session.

use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::builder::write_end_of_rib;
use bgp_wire::{
    frame, AsPath, DecodeCtx, EncodeCtx, Family, FamilySet, Message, Nlri, Origin, PathAttributes,
    Prefix, UpdateMessage,
};
use routeserver::{
    AcceptAll, GracefulRestart, MemberInfo, PeerId, RestartLimits, RestartState, RouteServer,
    SweepReason,
};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn update(prefixes: &[&str]) -> Vec<u8> {
    let u = UpdateMessage {
        withdrawn: Vec::new(),
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(&[65001])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 11)),
            ..PathAttributes::default()
        },
        nlri: prefixes.iter().map(|s| Nlri::new(p(s))).collect(),
    };
    let mut out = Vec::new();
    u.encode(&EncodeCtx::default(), &mut out);
    out
}

fn eor(f: Family) -> Vec<u8> {
    let mut out = Vec::new();
    write_end_of_rib(f, &mut out);
    out
}

/// Flush member `id`; (announced, withdrawn) prefixes.
fn flush(rs: &mut RouteServer<AcceptAll>, id: PeerId) -> (Vec<Prefix>, Vec<Prefix>) {
    let mut out = Vec::new();
    while rs.flush(id, 1000, &mut out) {}
    let (mut ann, mut wd) = (Vec::new(), Vec::new());
    let mut rest = &out[..];
    let ctx = DecodeCtx::default();
    while let Ok(Some(n)) = frame(rest, 4096) {
        if let Ok(Message::Update(u)) = Message::decode(&rest[..n], &ctx) {
            ann.extend(u.announced().map(|n| n.prefix));
            wd.extend(u.withdrawals().map(|n| n.prefix));
        }
        rest = &rest[n..];
    }
    (ann, wd)
}

const GR: GracefulRestart = GracefulRestart {
    families: FamilySet::BOTH,
    forwarding: FamilySet::BOTH,
    restart_time: 30,
};

/// A route server with member a (AS 65001, announcing three prefixes,
/// with the given capability) and member b (AS 65002) that has them.
fn setup(cap: Option<GracefulRestart>) -> (RouteServer<AcceptAll>, PeerId, PeerId) {
    let mut rs = RouteServer::new(AcceptAll);
    rs.set_restart_limits(RestartLimits {
        enabled: true,
        max_restart_time: 20,
        stale_time: 40,
    });
    let a = rs.add_member(MemberInfo {
        asn: 65001,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
        name: "a".into(),
    });
    let b = rs.add_member(MemberInfo {
        asn: 65002,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12)),
        name: "b".into(),
    });
    rs.established(a, 11, FamilySet::BOTH, EncodeCtx::default());
    rs.session_capability(a, cap, 0);
    rs.established(b, 12, FamilySet::BOTH, EncodeCtx::default());
    rs.session_capability(b, None, 0);
    let ctx = DecodeCtx::default();
    let u = update(&["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"]);
    rs.update(a, &u, &ctx, 1).unwrap();
    rs.update(a, &eor(Family::Ipv4Unicast), &ctx, 1).unwrap();
    let (ann, _) = flush(&mut rs, b);
    assert_eq!(ann.len(), 3);
    (rs, a, b)
}

#[test]
fn member_that_comes_back_replaces_stale_routes_and_eor_sweeps_the_rest() {
    let (mut rs, a, b) = setup(Some(GR));
    assert!(rs.down_graceful(a, 10));
    // Kept for min(30, 20) seconds.
    assert_eq!(
        rs.restart_state(a),
        Some(RestartState::Restarting { until: 30 })
    );
    rs.tick(30);
    assert_eq!(flush(&mut rs, b), (vec![], vec![]), "stale routes stay");
    assert!(rs.rib().is_stale(a, &Nlri::new(p("203.0.113.0/24"))));

    // A failed attempt (down before Established) changes nothing.
    rs.down(a);
    assert!(rs.rib().is_stale(a, &Nlri::new(p("203.0.113.0/24"))));

    rs.established(a, 11, FamilySet::BOTH, EncodeCtx::default());
    rs.session_capability(a, Some(GR), 29);
    assert_eq!(
        rs.restart_state(a),
        Some(RestartState::AwaitingEndOfRib {
            families: FamilySet::only(Family::Ipv4Unicast),
            until: 69
        })
    );
    let ctx = DecodeCtx::default();
    rs.update(a, &update(&["198.51.100.0/24", "203.0.113.0/24"]), &ctx, 30)
        .unwrap();
    rs.tick(31); // the restart timer of the old session no longer applies
    assert_eq!(flush(&mut rs, b), (vec![], vec![]), "no flap");
    let o = rs.update(a, &eor(Family::Ipv4Unicast), &ctx, 31).unwrap();
    assert!(o.end_of_rib);
    assert_eq!(flush(&mut rs, b), (vec![], vec![p("192.0.2.0/24")]));
    assert_eq!(rs.restart_state(a), None);
    let swept = rs.take_swept();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].1.reason, SweepReason::EndOfRib);
    assert_eq!(rs.counts(a).accepted, 2);
}

#[test]
fn member_that_does_not_come_back_loses_its_routes_after_the_restart_time() {
    let (mut rs, a, b) = setup(Some(GracefulRestart {
        restart_time: 5,
        ..GR
    }));
    assert!(rs.down_graceful(a, 100));
    rs.tick(105);
    assert_eq!(flush(&mut rs, b), (vec![], vec![]));
    rs.tick(106);
    let (_, wd) = flush(&mut rs, b);
    assert_eq!(wd.len(), 3);
    assert_eq!(rs.restart_state(a), None);
    assert_eq!(rs.counts(a).received, 0);
    assert_eq!(rs.take_swept()[0].1.reason, SweepReason::RestartTimeExpired);
}

#[test]
fn no_capability_or_disabled_means_routes_go_at_once() {
    let (mut rs, a, b) = setup(None);
    assert!(!rs.down_graceful(a, 10));
    assert_eq!(flush(&mut rs, b).1.len(), 3);

    let (mut rs, a, b) = setup(Some(GR));
    rs.set_restart_limits(RestartLimits {
        enabled: false,
        ..RestartLimits::default()
    });
    assert!(!rs.down_graceful(a, 10));
    assert_eq!(flush(&mut rs, b).1.len(), 3);

    // A NOTIFICATION (the caller calls `down`) is not a restart.
    let (mut rs, a, b) = setup(Some(GR));
    rs.down(a);
    assert_eq!(flush(&mut rs, b).1.len(), 3);
}

#[test]
fn new_session_without_forwarding_state_drops_stale_routes_at_once() {
    let (mut rs, a, b) = setup(Some(GR));
    assert!(rs.down_graceful(a, 10));
    rs.established(a, 11, FamilySet::BOTH, EncodeCtx::default());
    rs.session_capability(
        a,
        Some(GracefulRestart {
            forwarding: FamilySet::EMPTY,
            ..GR
        }),
        12,
    );
    assert_eq!(flush(&mut rs, b).1.len(), 3);
    assert_eq!(rs.restart_state(a), None);
    assert_eq!(rs.take_swept()[0].1.reason, SweepReason::NotPreserved);
}

#[test]
fn missing_end_of_rib_ends_at_the_stale_time() {
    let (mut rs, a, b) = setup(Some(GR));
    assert!(rs.down_graceful(a, 10));
    rs.established(a, 11, FamilySet::BOTH, EncodeCtx::default());
    rs.session_capability(a, Some(GR), 12);
    rs.update(a, &update(&["198.51.100.0/24"]), &DecodeCtx::default(), 13)
        .unwrap();
    rs.tick(52);
    assert_eq!(flush(&mut rs, b), (vec![], vec![]));
    rs.tick(53);
    assert_eq!(flush(&mut rs, b).1.len(), 2);
    assert_eq!(rs.take_swept()[0].1.reason, SweepReason::StaleTimeExpired);
}

#[test]
fn a_second_drop_during_the_wait_for_end_of_rib_restarts_the_clock() {
    let (mut rs, a, b) = setup(Some(GR));
    assert!(rs.down_graceful(a, 10));
    rs.established(a, 11, FamilySet::BOTH, EncodeCtx::default());
    rs.session_capability(a, Some(GR), 12);
    assert!(rs.down_graceful(a, 13));
    assert_eq!(
        rs.restart_state(a),
        Some(RestartState::Restarting { until: 33 })
    );
    rs.tick(33);
    assert_eq!(flush(&mut rs, b), (vec![], vec![]));
    rs.tick(34);
    assert_eq!(flush(&mut rs, b).1.len(), 3);
}
