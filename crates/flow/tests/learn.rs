//! Router MACs learned from BGP session samples: which packets teach a MAC,
//! which never do, configured MACs winning, and learned MACs used for
//! attribution and for bilateral session detection.

use flow::aggregate::{Aggregator, Retention};
use flow::learn::Learned;
use flow::{FlowRecord, FlowSource, MacAddr, MacEvent, MemberTable, UnixMillis};
use std::net::IpAddr;

const T0: u64 = 1_700_000_000_000;
const RS: &str = "192.0.2.1";
const A: u32 = 64501;
const B: u32 = 64502;
const C: u32 = 64503;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("a test address")
}

fn mac(n: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, n])
}

/// An sFlow-like sample from the fabric.
fn sample(
    src_mac: MacAddr,
    dst_mac: MacAddr,
    src: &str,
    dst: &str,
    ports: (u16, u16),
    t: u64,
) -> FlowRecord {
    FlowRecord {
        exporter: ip("192.0.2.250"),
        source: FlowSource::Sflow {
            agent: ip("192.0.2.250"),
            sub_agent: 0,
            source_id: 1,
        },
        src_mac: Some(src_mac),
        dst_mac: Some(dst_mac),
        src_ip: Some(ip(src)),
        dst_ip: Some(ip(dst)),
        protocol: Some(6),
        src_port: Some(ports.0),
        dst_port: Some(ports.1),
        bytes: 1000,
        packets: 10,
        sampling_rate: 10,
        ingress_if: None,
        egress_if: None,
        vlan: None,
        src_as: None,
        dst_as: None,
        timestamp: UnixMillis(T0 + t),
    }
}

/// A with a configured MAC (1), B and C without; the route server at RS.
fn table() -> MemberTable {
    let mut m = MemberTable::new();
    for (asn, name) in [(A, "A"), (B, "B"), (C, "C")] {
        m.add_member(asn, name);
    }
    m.add_mac(mac(1), A);
    m.add_session_address(ip("192.0.2.11"), A);
    m.add_session_address(ip("2001:db8::11"), A);
    m.add_session_address(ip("192.0.2.12"), B);
    m.add_session_address(ip("192.0.2.13"), C);
    m.add_route_server(ip(RS));
    m.add_route_server(ip("2001:db8::1"));
    m
}

#[test]
fn bgp_to_the_route_server_teaches_the_members_mac() {
    let mut m = table();
    let rs_mac = mac(0xfe);
    // B's router opens to the route server: source MAC 12 is B's.
    let ev = m.learn(&sample(mac(12), rs_mac, "192.0.2.12", RS, (40000, 179), 0));
    assert_eq!(
        ev,
        vec![MacEvent {
            mac: mac(12),
            asn: B,
            what: Learned::New
        }]
    );
    // The route server's answer to C: destination MAC 13 is C's.
    let ev = m.learn(&sample(rs_mac, mac(13), RS, "192.0.2.13", (179, 40001), 1));
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].mac, ev[0].asn), (mac(13), C));
    assert_eq!(m.by_mac(mac(12)), Some(B));
    assert_eq!(m.by_mac(mac(13)), Some(C));
    // Data from B's router to A is now attributed by MAC.
    let a = m.attribute(&sample(
        mac(12),
        mac(1),
        "198.51.100.1",
        "203.0.113.1",
        (1, 2),
        2,
    ));
    assert_eq!((a.src, a.dst), (Some(B), Some(A)));
    let e = m.learned().iter().find(|e| e.mac == mac(12)).copied();
    assert_eq!(
        e.map(|e| (e.asn, e.address, e.observations)),
        Some((B, ip("192.0.2.12"), 1))
    );
    // The route server's own MAC is never learned for anyone.
    assert_eq!(m.by_mac(rs_mac), None);
}

#[test]
fn what_never_teaches_a_mac() {
    let mut m = table();
    let cases = [
        // Not BGP.
        sample(mac(20), mac(0xfe), "192.0.2.12", RS, (40000, 80), 0),
        // BGP from an address that is no member's session address.
        sample(mac(21), mac(0xfe), "192.0.2.99", RS, (40000, 179), 0),
        // BGP from a member's address to a host that is neither the route
        // server nor another member.
        sample(
            mac(22),
            mac(0xfe),
            "192.0.2.12",
            "192.0.2.99",
            (40000, 179),
            0,
        ),
        // A group MAC.
        sample(
            MacAddr([0x01, 0, 0x5e, 0, 0, 1]),
            mac(0xfe),
            "192.0.2.12",
            RS,
            (40000, 179),
            0,
        ),
    ];
    for r in &cases {
        assert_eq!(m.learn(r), vec![], "{r:?}");
    }
    assert!(m.learned().is_empty());
    // A configured MAC is never overridden: A's MAC 1 used from B's address.
    assert_eq!(
        m.learn(&sample(
            mac(1),
            mac(0xfe),
            "192.0.2.12",
            RS,
            (40000, 179),
            0
        )),
        vec![]
    );
    assert_eq!(m.by_mac(mac(1)), Some(A));
    // Configuring a learned MAC replaces the learned entry.
    m.learn(&sample(
        mac(12),
        mac(0xfe),
        "192.0.2.12",
        RS,
        (40000, 179),
        0,
    ));
    m.add_mac(mac(12), C);
    assert_eq!(m.by_mac(mac(12)), Some(C));
    assert!(m.learned().is_empty());
}

#[test]
fn a_moved_mac_follows_the_newer_session_and_expires() {
    let mut m = table();
    m.learn(&sample(
        mac(30),
        mac(0xfe),
        "192.0.2.12",
        RS,
        (40000, 179),
        0,
    ));
    let ev = m.learn(&sample(
        mac(30),
        mac(0xfe),
        "192.0.2.13",
        RS,
        (40000, 179),
        60_000,
    ));
    assert_eq!(ev[0].what, Learned::Moved { from: B });
    assert_eq!(m.by_mac(mac(30)), Some(C));
    m.expire_learned(UnixMillis(T0 + 60_001));
    assert_eq!(m.by_mac(mac(30)), None);
}

#[test]
fn bilateral_sessions_use_learned_macs() {
    let mut m = table();
    let mut agg = Aggregator::new(Retention::default());
    // B and C peer directly; neither MAC is configured. Their BGP packets
    // teach both MACs (each is the other's peer) and make a session.
    for (i, r) in [
        sample(
            mac(12),
            mac(13),
            "192.0.2.12",
            "192.0.2.13",
            (40000, 179),
            0,
        ),
        sample(
            mac(13),
            mac(12),
            "192.0.2.13",
            "192.0.2.12",
            (179, 40000),
            1000,
        ),
    ]
    .iter()
    .enumerate()
    {
        let ev = m.learn(r);
        assert!(!ev.is_empty(), "sample {i} teaches something");
        let a = m.attribute(r);
        agg.add(r, &a);
    }
    let sessions: Vec<_> = agg.sessions().collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let s = sessions[0];
    assert_eq!((s.a, s.b), (B, C));
    assert_eq!(
        (s.a_ip, s.b_ip),
        (Some(ip("192.0.2.12")), Some(ip("192.0.2.13")))
    );
    assert_eq!((s.observations, s.packets), (2, 20));
    // The minute bucket holds the same session, for the store.
    let t = agg.total();
    let per_bucket: Vec<_> = t.sessions.iter().collect();
    assert_eq!(per_bucket.len(), 1);
    assert_eq!(per_bucket[0].0 .0, B);
    assert_eq!(
        (per_bucket[0].1.observations, per_bucket[0].1.packets),
        (2, 20)
    );
}
