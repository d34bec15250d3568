//! The policy inside a `routeserver::RouteServer`: re-evaluation without
//! session resets when RPKI data changes, and the max-prefix decision.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_wire::{
    frame, AsPath, DecodeCtx, EncodeCtx, Family, FamilySet, Message, Nlri, Origin, PathAttributes,
    UpdateMessage,
};
use common::*;
use policy::communities::{read, LC_RPKI, RPKI_VALID};
use policy::RovState;
use routeserver::{MemberInfo, PeerId, RouteServer};

fn update(path: &[u32], nh: Ipv4Addr, prefixes: &[&str]) -> Vec<u8> {
    let u = UpdateMessage {
        withdrawn: Vec::new(),
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(path)),
            next_hop: Some(nh),
            ..PathAttributes::default()
        },
        nlri: prefixes.iter().map(|s| Nlri::new(p(s))).collect(),
    };
    let mut out = Vec::new();
    u.encode(&EncodeCtx::default(), &mut out);
    out
}

/// Flush member `id`; return (announced, withdrawn) prefixes.
fn flush(rs: &mut RouteServer<policy::IxpPolicy>, id: PeerId) -> (Vec<Nlri>, Vec<Nlri>) {
    let mut out = Vec::new();
    while rs.flush(id, 1000, &mut out) {}
    let (mut ann, mut wd) = (Vec::new(), Vec::new());
    let mut rest = &out[..];
    let ctx = DecodeCtx::default();
    while let Ok(Some(n)) = frame(rest, 4096) {
        if let Ok(Message::Update(u)) = Message::decode(&rest[..n], &ctx) {
            ann.extend(u.announced());
            wd.extend(u.withdrawals());
        }
        rest = &rest[n..];
    }
    (ann, wd)
}

fn setup(rpki: Arc<FakeRpki>) -> (RouteServer<policy::IxpPolicy>, PeerId, PeerId) {
    let mut pol = policy_with(|_, m| m.max_prefix.ipv4 = 3);
    pol.set_rpki(Some(rpki));
    let mut rs = RouteServer::new(pol);
    let a = rs.add_member(member_a());
    let b = rs.add_member(MemberInfo {
        asn: B,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 12)),
        name: "B".into(),
    });
    rs.established(a, 1, FamilySet::BOTH, EncodeCtx::default());
    rs.established(b, 2, FamilySet::BOTH, EncodeCtx::default());
    flush(&mut rs, a);
    flush(&mut rs, b);
    (rs, a, b)
}

#[test]
fn revalidation_withdraws_invalid_and_reannounces_valid() {
    let rpki = Arc::new(FakeRpki::default());
    let (mut rs, a, b) = setup(rpki.clone());
    let nh = Ipv4Addr::new(192, 0, 2, 11);
    let o = rs
        .update(
            a,
            &update(&[A, 15169], nh, &["8.8.8.0/24", "8.8.4.0/24"]),
            &DecodeCtx::default(),
            5,
        )
        .unwrap();
    assert_eq!((o.announced, o.rejected), (2, 0));
    let (ann, _) = flush(&mut rs, b);
    assert_eq!(ann.len(), 2);

    // The ROA set changes: 8.8.8.0/24 turns invalid.
    rpki.rov
        .lock()
        .unwrap()
        .insert((p("8.8.8.0/24"), Some(15169)), RovState::Invalid);
    assert_eq!(rs.revalidate(), 1);
    let (ann, wd) = flush(&mut rs, b);
    assert_eq!(wd, [Nlri::new(p("8.8.8.0/24"))]);
    assert!(ann.is_empty(), "nothing else changed for B: {ann:?}");
    let routes = rs.rib().routes_from(a);
    let r = routes
        .iter()
        .find(|(n, _)| n.prefix == p("8.8.8.0/24"))
        .unwrap()
        .1;
    assert_eq!(r.reject, 1 << 14);
    assert_eq!(r.since, 5, "a re-judged route keeps its age");
    assert_eq!(rs.counts(a).filtered, 1);

    // And valid again: announced again, with the valid state community.
    rpki.rov
        .lock()
        .unwrap()
        .insert((p("8.8.8.0/24"), Some(15169)), RovState::Valid);
    rs.revalidate();
    let (ann, wd) = flush(&mut rs, b);
    assert_eq!(ann, [Nlri::new(p("8.8.8.0/24"))]);
    assert!(wd.is_empty());
    let (_, _, attrs) = rs
        .rib()
        .routes_to(b)
        .into_iter()
        .find(|(pf, _, _)| *pf == p("8.8.8.0/24"))
        .unwrap();
    assert!(read(&attrs.block).1.contains(&[RS, LC_RPKI, RPKI_VALID]));
    // Nothing changes: nothing to do.
    assert_eq!(rs.revalidate(), 0);
    assert_eq!(flush(&mut rs, b), (vec![], vec![]));
}

#[test]
fn max_prefix_exceeded_is_reported_per_family() {
    let (mut rs, a, _) = setup(Arc::new(FakeRpki::default()));
    let nh = Ipv4Addr::new(192, 0, 2, 11);
    let ctx = DecodeCtx::default();
    let o = rs
        .update(
            a,
            &update(&[A], nh, &["8.8.8.0/24", "8.8.4.0/24", "10.0.0.0/8"]),
            &ctx,
            0,
        )
        .unwrap();
    // Rejected routes do not count.
    assert_eq!(o.max_prefix_exceeded, None);
    let o = rs
        .update(a, &update(&[A], nh, &["9.9.9.0/24"]), &ctx, 0)
        .unwrap();
    assert_eq!(o.max_prefix_exceeded, None);
    let o = rs
        .update(a, &update(&[A], nh, &["1.1.1.0/24"]), &ctx, 0)
        .unwrap();
    assert_eq!(o.max_prefix_exceeded, Some(Family::Ipv4Unicast));
    assert_eq!(rs.counts(a).accepted_by_family, [4, 0]);
    // Withdrawals count down; a route turning rejected leaves the count.
    let w = UpdateMessage {
        withdrawn: vec![Nlri::new(p("1.1.1.0/24"))],
        attributes: PathAttributes::default(),
        nlri: Vec::new(),
    };
    let mut bytes = Vec::new();
    w.encode(&EncodeCtx::default(), &mut bytes);
    let o = rs.update(a, &bytes, &ctx, 0).unwrap();
    assert_eq!(o.withdrawn, 1);
    assert_eq!(rs.counts(a).accepted_by_family, [3, 0]);
    rs.update(a, &update(&[15169], nh, &["9.9.9.0/24"]), &ctx, 0)
        .unwrap();
    assert_eq!(rs.counts(a).accepted_by_family, [2, 0]);
    assert_eq!(rs.counts(a).filtered, 2);
}
