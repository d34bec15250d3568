//! Export behaviour of the RIB, checked by decoding the UPDATEs it writes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_wire::attr::{flags, type_code, Origin};
use bgp_wire::message::frame;
use bgp_wire::owned::write_attr;
use bgp_wire::{AsPath, DecodeCtx, EncodeCtx, FamilySet, Message, NextHop, Nlri, Prefix};
use rib::{ExportCtl, PeerId, Rib, RouteAttrs, DEFAULT_PREF};

fn attrs(rib: &mut Rib, path: &[u32], nh: [u8; 4], export: ExportCtl) -> Arc<RouteAttrs> {
    let mut block = Vec::new();
    write_attr(&mut block, flags::TRANSITIVE, type_code::ORIGIN, |b| {
        b.push(0)
    });
    let p = AsPath::from_sequence(path);
    write_attr(&mut block, flags::TRANSITIVE, type_code::AS_PATH, |b| {
        p.write(true, b)
    });
    rib.intern(RouteAttrs {
        block: block.into(),
        next_hop: NextHop::V4(Ipv4Addr::from(nh)),
        pref: DEFAULT_PREF,
        as_path_len: path.len() as u16,
        origin: Origin::Igp,
        med: 0,
        export,
        received: None,
    })
}

fn pfx(s: &str) -> Nlri {
    Nlri::new(s.parse::<Prefix>().unwrap())
}

/// Everything the member was sent: prefix -> Some(first AS of path) for
/// announcements, None for withdrawals; plus End-of-RIB count.
#[derive(Debug, Default)]
struct Seen {
    routes: BTreeMap<Prefix, Option<(u32, NextHop)>>,
    announcements: usize,
    eor: usize,
}

fn drain(rib: &mut Rib, id: PeerId, seen: &mut Seen) {
    let mut out = Vec::new();
    while rib.flush(id, 1000, &mut out) {}
    let mut buf = &out[..];
    let ctx = DecodeCtx::default();
    while let Some(len) = frame(buf, 4096).unwrap() {
        let Message::Update(u) = Message::decode(&buf[..len], &ctx).unwrap() else {
            panic!("not an UPDATE");
        };
        if u.end_of_rib().is_some() {
            seen.eor += 1;
        }
        for n in u.withdrawals() {
            seen.routes.insert(n.prefix, None);
        }
        let first = u.attributes.as_path.and_then(|p| p.first_asn());
        let nh = NextHop::V4(u.attributes.next_hop.unwrap_or(Ipv4Addr::UNSPECIFIED));
        for n in u.announced() {
            seen.announcements += 1;
            seen.routes.insert(n.prefix, Some((first.unwrap(), nh)));
        }
        buf = &buf[len..];
    }
    assert!(buf.is_empty());
}

fn up(rib: &mut Rib, asn: u32, last: u8) -> PeerId {
    let id = rib.add_peer(asn, IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)));
    rib.peer_up(id, u32::from(last), FamilySet::BOTH, EncodeCtx::default());
    id
}

#[test]
fn routes_reach_others_never_the_announcer() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11);
    let b = up(&mut rib, 65002, 12);
    let a2 = up(&mut rib, 65001, 13); // second router of the same member
    let at = attrs(
        &mut rib,
        &[65001, 64999],
        [192, 0, 2, 11],
        ExportCtl::default(),
    );
    rib.announce(a, pfx("198.51.100.0/24"), at, 0, 0);
    let (mut sa, mut sb, mut sa2) = (Seen::default(), Seen::default(), Seen::default());
    drain(&mut rib, a, &mut sa);
    drain(&mut rib, b, &mut sb);
    drain(&mut rib, a2, &mut sa2);
    assert!(sa.routes.is_empty(), "announcer got its own route");
    assert!(sa2.routes.is_empty(), "same-AS router got the route");
    assert_eq!(
        sb.routes[&pfx("198.51.100.0/24").prefix],
        Some((65001, NextHop::V4(Ipv4Addr::new(192, 0, 2, 11))))
    );
    assert_eq!(sb.eor, 2, "End-of-RIB for both families");
    assert_eq!(rib.counts(b).exported, 1);
    assert_eq!(rib.counts(a).accepted, 1);
}

#[test]
fn withdrawal_and_session_loss_propagate() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11);
    let b = up(&mut rib, 65002, 12);
    let mut sb = Seen::default();
    drain(&mut rib, b, &mut sb);
    let at = attrs(&mut rib, &[65001], [192, 0, 2, 11], ExportCtl::default());
    rib.announce(a, pfx("198.51.100.0/24"), at.clone(), 0, 0);
    rib.announce(a, pfx("203.0.113.0/24"), at, 0, 0);
    drain(&mut rib, b, &mut sb);
    assert_eq!(sb.routes.values().filter(|r| r.is_some()).count(), 2);
    rib.withdraw(a, pfx("198.51.100.0/24"));
    drain(&mut rib, b, &mut sb);
    assert_eq!(sb.routes[&pfx("198.51.100.0/24").prefix], None);
    rib.peer_down(a);
    drain(&mut rib, b, &mut sb);
    assert!(sb.routes.values().all(Option::is_none));
    assert_eq!(rib.counts(b).exported, 0);
}

#[test]
fn path_hiding_mitigation_gives_each_member_its_best_allowed_route() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11);
    let b = up(&mut rib, 65002, 12);
    let c = up(&mut rib, 65003, 13);
    let d = up(&mut rib, 65004, 14);
    // A's route is better (shorter) but must not go to C.
    let deny_c = ExportCtl {
        deny: vec![65003].into(),
        ..ExportCtl::default()
    };
    let short = attrs(&mut rib, &[65001], [192, 0, 2, 11], deny_c);
    let long = attrs(
        &mut rib,
        &[65002, 64999],
        [192, 0, 2, 12],
        ExportCtl::default(),
    );
    let p = pfx("198.51.100.0/24");
    rib.announce(a, p, short, 0, 0);
    rib.announce(b, p, long, 0, 0);
    let (mut sc, mut sd) = (Seen::default(), Seen::default());
    drain(&mut rib, c, &mut sc);
    drain(&mut rib, d, &mut sd);
    assert_eq!(sc.routes[&p.prefix].unwrap().0, 65002, "C gets B's route");
    assert_eq!(sd.routes[&p.prefix].unwrap().0, 65001, "D gets the best");
    // When B withdraws, C has nothing allowed left: a withdrawal.
    rib.withdraw(b, p);
    drain(&mut rib, c, &mut sc);
    drain(&mut rib, d, &mut sd);
    assert_eq!(sc.routes[&p.prefix], None);
    assert_eq!(sd.routes[&p.prefix].unwrap().0, 65001);
}

#[test]
fn announce_to_none_except_listed() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11);
    let b = up(&mut rib, 65002, 12);
    let c = up(&mut rib, 65003, 13);
    let only_b = ExportCtl {
        none: true,
        only: vec![65002].into(),
        ..ExportCtl::default()
    };
    let at = attrs(&mut rib, &[65001], [192, 0, 2, 11], only_b);
    rib.announce(a, pfx("198.51.100.0/24"), at, 0, 0);
    let (mut sb, mut sc) = (Seen::default(), Seen::default());
    drain(&mut rib, b, &mut sb);
    drain(&mut rib, c, &mut sc);
    assert_eq!(sb.routes.len(), 1);
    assert!(sc.routes.is_empty());
}

#[test]
fn rejected_routes_are_kept_but_not_exported() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11);
    let b = up(&mut rib, 65002, 12);
    let at = attrs(&mut rib, &[65001], [192, 0, 2, 11], ExportCtl::default());
    rib.announce(a, pfx("10.0.0.0/8"), at, 1 << 2, 0);
    let mut sb = Seen::default();
    drain(&mut rib, b, &mut sb);
    assert!(sb.routes.is_empty());
    let c = rib.counts(a);
    assert_eq!((c.received, c.accepted, c.filtered), (1, 0, 1));
    assert_eq!(rib.routes_from(a)[0].1.reject, 1 << 2);
}

#[test]
fn bursts_are_coalesced() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11);
    let b = up(&mut rib, 65002, 12);
    let mut sb = Seen::default();
    drain(&mut rib, b, &mut sb);
    let p = pfx("198.51.100.0/24");
    for i in 0..10u32 {
        let at = attrs(
            &mut rib,
            &[65001, 64000 + i],
            [192, 0, 2, 11],
            ExportCtl::default(),
        );
        rib.announce(a, p, at, 0, 0);
    }
    drain(&mut rib, b, &mut sb);
    assert_eq!(sb.announcements, 1, "ten changes, one UPDATE entry");
    let mut out = Vec::new();
    assert!(!rib.flush(b, 1000, &mut out));
    assert!(out.is_empty());
}

#[test]
fn many_prefixes_share_updates() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11);
    let b = up(&mut rib, 65002, 12);
    let at = attrs(&mut rib, &[65001], [192, 0, 2, 11], ExportCtl::default());
    for i in 0..2000u32 {
        let p = Prefix::v4(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap();
        rib.announce(a, Nlri::new(p), at.clone(), 0, 0);
    }
    let mut out = Vec::new();
    while rib.flush(b, 100_000, &mut out) {}
    let mut buf = &out[..];
    let mut msgs = 0;
    while let Some(len) = frame(buf, 4096).unwrap() {
        msgs += 1;
        buf = &buf[len..];
    }
    // 2,000 /24s take 4 octets each: 8,000 octets, so 2 full UPDATEs and
    // 2 End-of-RIB markers.
    assert_eq!(msgs, 4);
    assert_eq!(rib.counts(b).exported, 2000);
}
