//! Wire vectors: (bytes, value) pairs checked both ways — the bytes decode to
//! the value, and the value encodes to the bytes (or, where the sender chose
//! another RFC-equivalent form, to bytes that differ only as documented at
//! the vector).
//!
//! Sources, named at each vector:
//! - "BIRD capture": BIRD 2.0.12 (Debian bird2) talking to another BIRD
//!   2.0.12 over a veth pair between two network namespaces, captured with
//!   tcpdump 4.99 and extracted with `tshark -T fields -e tcp.payload`.
//!   Speaker A: AS4200000001, router id 10.99.0.1, 2001:db8:99::1, role
//!   provider, ADD-PATH send and extended next hop for IPv4, extended
//!   messages, graceful restart, an export filter adding MED 50, two
//!   communities, an extended and a large community. Speaker B: AS64502,
//!   role customer.
//! - "MRT record N": the N-th BGP4MP message of
//!   `../shared/data/mrt/ris-rrc15-updates.20100227.1600.gz` (RIPE RIS).
//! - "built from RFC X §Y": no example exists in the RFC, the sample or our
//!   captures; the bytes follow the field layout of that section by hand.
//!
//! Also here: the 4096 / 65535 message size limits (RFC 4271 §4.1, RFC 8654)
//! in `frame`, `Message::decode` and the packing encoder.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::attr::{flags, type_code, RawAttrIter};
use bgp_wire::builder::{
    pack_announcements, pack_withdrawals, passthrough_block, write_end_of_rib,
};
use bgp_wire::message::{write_keepalive, write_notification, write_open, write_route_refresh};
use bgp_wire::open::GracefulRestartFamily;
use bgp_wire::owned::{MpReachOwned, MpUnreachOwned, RawAttribute};
use bgp_wire::{
    frame, AddPathMode, Afi, Aggregator, AsPath, Capability, DecodeCtx, EncodeCtx, Family,
    FamilySet, Message, NextHop, Nlri, Notification, Open, Origin, PathAttributes, Prefix, Role,
    RouteRefresh, Safi, Segment, SegmentKind, Update, UpdateMessage, AS_TRANS,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test vector is hex"))
        .collect()
}

/// A message: marker, then `rest` (length and type included).
fn msg(rest: &str) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend(hex(rest));
    m
}

/// A hand-built message: marker, the length computed here, then `rest`
/// (type and body).
fn built(rest: &str) -> Vec<u8> {
    let body = hex(rest);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((body.len() + 18) as u16).to_be_bytes());
    m.extend(body);
    m
}

fn ctx(four_octet_as: bool, add_path: FamilySet) -> DecodeCtx {
    DecodeCtx {
        four_octet_as,
        add_path,
        ebgp: true,
        extended_message: false,
    }
}

fn v4(s: &str) -> Nlri {
    Nlri::new(s.parse().expect("prefix"))
}

fn with_id(s: &str, path_id: u32) -> Nlri {
    Nlri {
        prefix: s.parse().expect("prefix"),
        path_id,
    }
}

fn update<'a>(m: &'a [u8], c: &DecodeCtx) -> Update<'a> {
    match Message::decode(m, c) {
        Ok(Message::Update(u)) => {
            assert!(u.issues.is_empty(), "RFC 7606 issues: {:?}", u.issues);
            u
        }
        other => panic!("not a clean UPDATE: {other:?}"),
    }
}

fn encode_update(v: &UpdateMessage, four_octet_as: bool, add_path: FamilySet) -> Vec<u8> {
    let mut out = Vec::new();
    v.encode(
        &EncodeCtx {
            four_octet_as,
            add_path,
            extended_message: false,
        },
        &mut out,
    );
    out
}

/// The attribute TLVs as (type, flags without Extended Length, value),
/// sorted by type.
fn tlvs(attrs: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
    let mut v: Vec<_> = RawAttrIter::new(attrs)
        .map(|a| {
            (
                a.type_code,
                a.flags & !flags::EXTENDED_LENGTH,
                a.value.to_vec(),
            )
        })
        .collect();
    v.sort();
    v
}

/// (withdrawn routes, path attributes, NLRI) of an UPDATE message.
fn fields(m: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let body = &m[19..];
    let w = usize::from(u16::from_be_bytes([body[0], body[1]]));
    let a = usize::from(u16::from_be_bytes([body[2 + w], body[3 + w]]));
    (&body[2..2 + w], &body[4 + w..4 + w + a], &body[4 + w + a..])
}

/// The sender's bytes and ours differ only in attribute order (RFC 4271 §5:
/// a receiver MUST accept any order; we write ascending type codes) and in
/// the use of the Extended Length bit for values under 256 octets (RFC 4271
/// §4.3 lets a sender use it for any length).
fn assert_same_but_order(theirs: &[u8], ours: &[u8]) {
    let (w1, a1, n1) = fields(theirs);
    let (w2, a2, n2) = fields(ours);
    assert_eq!((w1, n1), (w2, n2), "prefix fields differ");
    assert_eq!(tlvs(a1), tlvs(a2), "attributes differ");
}

/// Both ways: `bytes` decodes to `value`, `value` encodes to `bytes`
/// (exactly, or only reordered when `exact` is false).
fn both_ways(bytes: &[u8], value: &UpdateMessage, c: &DecodeCtx, exact: bool) {
    let u = update(bytes, c);
    assert_eq!(&UpdateMessage::from_view(&u), value, "decode");
    let ours = encode_update(value, c.four_octet_as, c.add_path);
    if exact {
        assert_eq!(ours, bytes, "encode");
    } else {
        assert_same_but_order(bytes, &ours);
    }
}

// ---------------------------------------------------------------- OPEN

/// BIRD capture, speaker A's OPEN on the IPv6 session: every capability
/// this codec types, in one optional parameter.
const BIRD_OPEN_A: &str = "0054 01 04 5ba0 00f0 0a630001 37 02 35
    01 04 0001 0001  01 04 0002 0001  02 00  05 06 0001 0001 0002  06 00  09 01 00
    40 0a 0078 0001 01 00 0002 01 00  41 04 fa56ea01  45 04 0001 01 02  46 00";

#[test]
fn open_bird_every_capability() {
    let m = msg(BIRD_OPEN_A);
    let Ok(Message::Open(open)) = Message::decode(&m, &DecodeCtx::default()) else {
        panic!("OPEN does not decode");
    };
    let want = Open {
        version: 4,
        my_as: AS_TRANS,
        hold_time: 240,
        bgp_id: Ipv4Addr::new(10, 99, 0, 1),
        capabilities: vec![
            Capability::Multiprotocol(Afi::Ipv4, Safi::Unicast),
            Capability::Multiprotocol(Afi::Ipv6, Safi::Unicast),
            Capability::RouteRefresh,
            Capability::ExtendedNextHop(vec![(Afi::Ipv4, Safi::Unicast, Afi::Ipv6)]),
            Capability::ExtendedMessage,
            Capability::Role(Role::Provider),
            Capability::GracefulRestart {
                restarting: false,
                notification: false,
                time: 120,
                families: vec![
                    GracefulRestartFamily {
                        afi: Afi::Ipv4,
                        safi: Safi::Unicast,
                        forwarding_preserved: false,
                    },
                    GracefulRestartFamily {
                        afi: Afi::Ipv6,
                        safi: Safi::Unicast,
                        forwarding_preserved: false,
                    },
                ],
            },
            Capability::FourOctetAs(4_200_000_001),
            Capability::AddPath(vec![(Afi::Ipv4, Safi::Unicast, AddPathMode::Send)]),
            Capability::EnhancedRouteRefresh,
        ],
        other_params: vec![],
    };
    assert_eq!(open, want);
    assert_eq!(open.asn(), 4_200_000_001);
    // Encode: we put each capability in an optional parameter of its own
    // (RFC 5492 §4 allows both layouts), so the capability TLVs must be
    // BIRD's, in the same order, one per parameter.
    let mut ours = Vec::new();
    write_open(&mut ours, &want);
    let Ok(Message::Open(again)) = Message::decode(&ours, &DecodeCtx::default()) else {
        panic!("our OPEN does not decode");
    };
    assert_eq!(again, want);
    let params = &ours[29..];
    let mut caps = Vec::new();
    let mut i = 0;
    while i < params.len() {
        assert_eq!(params[i], 2, "a capabilities parameter");
        let len = usize::from(params[i + 1]);
        caps.extend_from_slice(&params[i + 2..i + 2 + len]);
        i += 2 + len;
    }
    assert_eq!(caps, m[31..]);
    assert_eq!(
        &ours[19..28],
        &m[19..28],
        "version, AS, hold time, identifier"
    );
}

#[test]
fn open_bird_customer_with_unknown_capability() {
    // BIRD capture, speaker B's OPEN: role customer, graceful restart with
    // no family, and long-lived graceful restart (code 71), which this codec
    // does not type.
    let m = msg(
        "004e 01 04 fbf6 00f0 0a630002 31 02 2f 0104 00010001 0104 00020001 0200
         0506 000100010002 0600 0901 03 4002 0078 4104 0000fbf6 4504 00010101 4600 4700",
    );
    let Ok(Message::Open(open)) = Message::decode(&m, &DecodeCtx::default()) else {
        panic!("OPEN does not decode");
    };
    assert_eq!(open.my_as, 64502);
    assert_eq!(
        open.capabilities[5..],
        [
            Capability::Role(Role::Customer),
            Capability::GracefulRestart {
                restarting: false,
                notification: false,
                time: 120,
                families: vec![],
            },
            Capability::FourOctetAs(64502),
            Capability::AddPath(vec![(Afi::Ipv4, Safi::Unicast, AddPathMode::Receive)]),
            Capability::EnhancedRouteRefresh,
            Capability::Unknown(71, vec![]),
        ]
    );
    let mut body = Vec::new();
    open.encode_body(&mut body);
    assert_eq!(Open::decode(&body), Ok(open));
}

#[test]
fn open_mrt_two_octet_speaker() {
    // MRT record 596: an OPEN from a 2-octet-AS collector session, one
    // capability per optional parameter (the layout we write), including
    // the pre-standard route refresh code 128, so byte-identical both ways.
    let m = msg(
        "003b 01 04 5814 005a c8a00089 1e 0206 0104 00020001 0202 8000 0202 0200
         0204 4002 0078 0206 4104 00005814",
    );
    let want = Open {
        version: 4,
        my_as: 22548,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(200, 160, 0, 137),
        capabilities: vec![
            Capability::Multiprotocol(Afi::Ipv6, Safi::Unicast),
            Capability::Unknown(128, vec![]),
            Capability::RouteRefresh,
            Capability::GracefulRestart {
                restarting: false,
                notification: false,
                time: 120,
                families: vec![],
            },
            Capability::FourOctetAs(22548),
        ],
        other_params: vec![],
    };
    assert_eq!(
        Message::decode(&m, &DecodeCtx::default()),
        Ok(Message::Open(want.clone()))
    );
    let mut ours = Vec::new();
    write_open(&mut ours, &want);
    assert_eq!(ours, m);
}

#[test]
fn open_capability_values_built_from_rfcs() {
    // Built from RFC 4724 §3 (R and N bits, F bit), RFC 7911 §4 (mode
    // Both), RFC 9234 §4.1 (role peer), RFC 8654 §3: values our captures do
    // not show, byte-identical both ways.
    let m = built(
        "01 04 fde9 005a c0000201 1f 02 1d 40 06 c0b4 0002 01 80 45 08 0001 01 03 0002 01 03
         09 01 04 06 00 41 04 0000fde9",
    );
    let Ok(Message::Open(open)) = Message::decode(&m, &DecodeCtx::default()) else {
        panic!("does not decode");
    };
    assert_eq!(
        open.capabilities,
        [
            Capability::GracefulRestart {
                restarting: true,
                notification: true,
                time: 180,
                families: vec![GracefulRestartFamily {
                    afi: Afi::Ipv6,
                    safi: Safi::Unicast,
                    forwarding_preserved: true,
                }],
            },
            Capability::AddPath(vec![
                (Afi::Ipv4, Safi::Unicast, AddPathMode::Both),
                (Afi::Ipv6, Safi::Unicast, AddPathMode::Both),
            ]),
            Capability::Role(Role::Peer),
            Capability::ExtendedMessage,
            Capability::FourOctetAs(65001),
        ]
    );
    let mut body = Vec::new();
    open.encode_body(&mut body);
    assert_eq!(Open::decode(&body), Ok(open));
}

// ------------------------------------------- KEEPALIVE, NOTIFICATION, RR

#[test]
fn keepalive_bird() {
    // BIRD capture.
    let m = msg("0013 04");
    assert_eq!(
        Message::decode(&m, &DecodeCtx::default()),
        Ok(Message::Keepalive)
    );
    let mut ours = Vec::new();
    write_keepalive(&mut ours);
    assert_eq!(ours, m);
}

#[test]
fn notification_hold_timer_expired_mrt() {
    // MRT record 876: Hold Timer Expired (code 4, subcode 0), no data.
    let m = msg("0015 03 04 00");
    let n = Notification {
        code: 4,
        subcode: 0,
        data: vec![],
    };
    assert_eq!(
        Message::decode(&m, &DecodeCtx::default()),
        Ok(Message::Notification(n.clone()))
    );
    let mut ours = Vec::new();
    write_notification(&mut ours, &n);
    assert_eq!(ours, m);
}

#[test]
fn notification_shutdown_communication() {
    // Built from RFC 9003 §2: Cease / Administrative Shutdown, length 11,
    // "maintenance".
    let m = built("03 06 02 0b 6d61696e74656e616e6365");
    let n = Notification::cease(2, "maintenance");
    assert_eq!(
        Message::decode(&m, &DecodeCtx::default()),
        Ok(Message::Notification(n.clone()))
    );
    assert_eq!(n.shutdown_message(), Some("maintenance"));
    let mut ours = Vec::new();
    write_notification(&mut ours, &n);
    assert_eq!(ours, m);
}

#[test]
fn route_refresh_and_enhanced_markers_bird() {
    // BIRD capture: B asks for IPv4 and IPv6 (`birdc reload in`), A answers
    // each with BoRR (1) ... EoRR (2) (RFC 7313 §3).
    for (rest, afi, subtype) in [
        ("0017 05 0001 00 01", Afi::Ipv4, 0),
        ("0017 05 0002 00 01", Afi::Ipv6, 0),
        ("0017 05 0001 01 01", Afi::Ipv4, 1),
        ("0017 05 0001 02 01", Afi::Ipv4, 2),
        ("0017 05 0002 01 01", Afi::Ipv6, 1),
        ("0017 05 0002 02 01", Afi::Ipv6, 2),
    ] {
        let m = msg(rest);
        let r = RouteRefresh {
            afi,
            safi: Safi::Unicast,
            subtype,
        };
        assert_eq!(
            Message::decode(&m, &DecodeCtx::default()),
            Ok(Message::RouteRefresh(r))
        );
        let mut ours = Vec::new();
        write_route_refresh(&mut ours, &r);
        assert_eq!(ours, m);
    }
}

// -------------------------------------------------------------- UPDATE

/// The attributes BIRD speaker A exports (without next hop / MP_REACH).
fn bird_attributes() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(&[4_200_000_001])),
        med: Some(50),
        // 64500:100 and NO_EXPORT (RFC 1997).
        communities: vec![0xfbf4_0064, 0xffff_ff01],
        // Route target 64500:7 (RFC 4360 §4).
        ext_communities: vec![[0x00, 0x02, 0xfb, 0xf4, 0, 0, 0, 7]],
        large_communities: vec![[64500, 1101, 13]],
        // BIRD adds OTC towards a customer (RFC 9234 §5).
        otc: Some(4_200_000_001),
        ..PathAttributes::default()
    }
}

const BIRD_ATTRS_TAIL: &str = "400101 00 400206 0201 fa56ea01";
const BIRD_ATTRS_REST: &str = "800404 00000032 c00808 fbf40064 ffffff01
    c01008 0002fbf4 00000007 c0200c 0000fbf4 0000044d 0000000d c02304 fa56ea01";

#[test]
fn update_ipv4_bird_every_common_attribute() {
    // BIRD capture (IPv4 session, ADD-PATH send for IPv4): ORIGIN, AS_PATH,
    // NEXT_HOP, MED, COMMUNITIES, EXTENDED COMMUNITIES, LARGE_COMMUNITY,
    // OTC in ascending order, and two prefixes with path identifier 2, so
    // byte-identical both ways.
    let m = msg(&format!(
        "006f 02 0000 0047 {BIRD_ATTRS_TAIL} 400304 0a630001 {BIRD_ATTRS_REST}
         00000002 18 c63364 00000002 19 cb007180"
    ));
    let value = UpdateMessage {
        withdrawn: vec![],
        attributes: PathAttributes {
            next_hop: Some(Ipv4Addr::new(10, 99, 0, 1)),
            ..bird_attributes()
        },
        nlri: vec![
            with_id("198.51.100.0/24", 2),
            with_id("203.0.113.128/25", 2),
        ],
    };
    both_ways(
        &m,
        &value,
        &ctx(true, FamilySet::only(Family::Ipv4Unicast)),
        true,
    );
}

#[test]
fn update_ipv6_bird_global_and_link_local_next_hop() {
    // BIRD capture (IPv6 session): MP_REACH_NLRI first, with the Extended
    // Length bit, and a 32-octet next hop: global + link-local (RFC 2545
    // §3).
    let m = msg(&format!(
        "0087 02 0000 0070 900e 002c 0002 01 20 20010db8009900000000000000000001
         fe80000000000000587dc9fffedafd74 00 30 20010db80100 {BIRD_ATTRS_TAIL} {BIRD_ATTRS_REST}"
    ));
    let value = UpdateMessage {
        attributes: PathAttributes {
            mp_reach: Some(MpReachOwned {
                family: Family::Ipv6Unicast,
                next_hop: NextHop::V6 {
                    global: "2001:db8:99::1".parse().expect("address"),
                    link_local: Some("fe80::587d:c9ff:feda:fd74".parse().expect("address")),
                },
                nlri: vec![Nlri::new("2001:db8:100::/48".parse().expect("prefix"))],
            }),
            ..bird_attributes()
        },
        ..UpdateMessage::default()
    };
    both_ways(&m, &value, &ctx(true, FamilySet::EMPTY), false);
}

#[test]
fn update_ipv4_nlri_ipv6_next_hop_rfc8950_with_add_path_bird() {
    // BIRD capture (IPv6 session, extended next hop and ADD-PATH for
    // IPv4): 192.0.2.0/24 path id 2 via 2001:db8:99::3 (RFC 8950 §3).
    let m = msg(&format!(
        "0078 02 0000 0061 900e 001d 0001 01 10 20010db8009900000000000000000003 00
         00000002 18 c00002 {BIRD_ATTRS_TAIL} {BIRD_ATTRS_REST}"
    ));
    let value = UpdateMessage {
        attributes: PathAttributes {
            mp_reach: Some(MpReachOwned {
                family: Family::Ipv4Unicast,
                next_hop: NextHop::V6 {
                    global: "2001:db8:99::3".parse().expect("address"),
                    link_local: None,
                },
                nlri: vec![with_id("192.0.2.0/24", 2)],
            }),
            ..bird_attributes()
        },
        ..UpdateMessage::default()
    };
    let c = ctx(true, FamilySet::only(Family::Ipv4Unicast));
    both_ways(&m, &value, &c, false);
    let u = update(&m, &c);
    assert_eq!(
        u.announced().collect::<Vec<_>>(),
        [with_id("192.0.2.0/24", 2)]
    );
}

#[test]
fn update_ipv4_in_mp_reach_with_add_path_bird() {
    // BIRD capture: IPv4 NLRI carried in MP_REACH_NLRI with an IPv4 next
    // hop and ADD-PATH path identifiers (RFC 7911 §3).
    let m = msg(&format!(
        "0075 02 0000 005e 900e 001a 0001 01 04 0a630001 00 00000002 18 c63364
         00000002 19 cb007180 {BIRD_ATTRS_TAIL} {BIRD_ATTRS_REST}"
    ));
    let value = UpdateMessage {
        attributes: PathAttributes {
            mp_reach: Some(MpReachOwned {
                family: Family::Ipv4Unicast,
                next_hop: NextHop::V4(Ipv4Addr::new(10, 99, 0, 1)),
                nlri: vec![
                    with_id("198.51.100.0/24", 2),
                    with_id("203.0.113.128/25", 2),
                ],
            }),
            ..bird_attributes()
        },
        ..UpdateMessage::default()
    };
    both_ways(
        &m,
        &value,
        &ctx(true, FamilySet::only(Family::Ipv4Unicast)),
        false,
    );
}

#[test]
fn end_of_rib_both_families_bird() {
    // BIRD capture: IPv4 End-of-RIB is an empty UPDATE, IPv6 is an
    // MP_UNREACH_NLRI with no prefix (RFC 4724 §2). Our writer produces
    // exactly BIRD's bytes.
    for (rest, family) in [
        ("0017 02 0000 0000", Family::Ipv4Unicast),
        ("001d 02 0000 0006 800f03 0002 01", Family::Ipv6Unicast),
    ] {
        let m = msg(rest);
        let u = update(&m, &ctx(true, FamilySet::EMPTY));
        assert_eq!(u.end_of_rib(), Some(family));
        assert_eq!(u.announced().count() + u.withdrawals().count(), 0);
        let mut ours = Vec::new();
        write_end_of_rib(family, &mut ours);
        assert_eq!(ours, m);
    }
}

#[test]
fn update_atomic_aggregate_aggregator_communities_mrt() {
    // MRT record 1108 (4-octet session, AS1916).
    let m = msg(
        "0054 02 0000 0039 400101 00 400216 0205 0000077c 00004e70 00005a6c 00000d1c 000077c6
         400304 c8db8204 400600 c00708 000077c6 415bf441 c00804 077c012c 18 080281",
    );
    let value = UpdateMessage {
        withdrawn: vec![],
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(&[1916, 20080, 23148, 3356, 30662])),
            next_hop: Some(Ipv4Addr::new(200, 219, 130, 4)),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 30662,
                addr: Ipv4Addr::new(65, 91, 244, 65),
            }),
            communities: vec![(1916 << 16) | 300],
            ..PathAttributes::default()
        },
        nlri: vec![v4("8.2.129.0/24")],
    };
    both_ways(&m, &value, &ctx(true, FamilySet::EMPTY), true);
}

#[test]
fn withdrawals_ipv4_mrt() {
    // MRT record 131 (2-octet session, AS27664): three withdrawn prefixes.
    let m = msg("0023 02 000c 18d090e6 18d09ac8 18d09ac7 0000");
    let value = UpdateMessage {
        withdrawn: vec![
            v4("208.144.230.0/24"),
            v4("208.154.200.0/24"),
            v4("208.154.199.0/24"),
        ],
        ..UpdateMessage::default()
    };
    both_ways(&m, &value, &ctx(false, FamilySet::EMPTY), true);
}

#[test]
fn withdrawals_ipv6_mp_unreach() {
    // Built from RFC 4760 §4: MP_UNREACH_NLRI withdrawing 2001:db8:100::/48
    // and 2001:db8::/32.
    let m = built("02 0000 0012 800f 0f 0002 01 30 20010db80100 20 20010db8");
    let value = UpdateMessage {
        attributes: PathAttributes {
            mp_unreach: Some(MpUnreachOwned {
                family: Family::Ipv6Unicast,
                nlri: vec![
                    Nlri::new("2001:db8:100::/48".parse().expect("prefix")),
                    Nlri::new("2001:db8::/32".parse().expect("prefix")),
                ],
            }),
            ..PathAttributes::default()
        },
        ..UpdateMessage::default()
    };
    both_ways(&m, &value, &ctx(true, FamilySet::EMPTY), true);
}

/// MRT record 219 (2-octet session, AS28220): AS_PATH with AS_TRANS, the
/// AS4_PATH that restores 196613, and an AGGREGATOR without AS4_AGGREGATOR.
const MRT_219: &str =
    "0069 02 0000 004e 400101 00 400212 0208 6e3c 6e3c 329c 0cb9 044f 0465 5ba0 316e
    c01122 0208 00006e3c 00006e3c 0000329c 00000cb9 0000044f 00000465 00030005 0000316e
    400304 c8db824b c00706 fc13 0a15c0c2 18 54cd40";

#[test]
fn as4_path_reconstruction_mrt() {
    let m = msg(MRT_219);
    let c = ctx(false, FamilySet::EMPTY);
    let two = [28220, 28220, 12956, 3257, 1103, 1125, 23456, 12654];
    let four = [28220, 28220, 12956, 3257, 1103, 1125, 196_613, 12654];
    let value = UpdateMessage {
        withdrawn: vec![],
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(&two)),
            as4_path: Some(AsPath::from_sequence(&four)),
            next_hop: Some(Ipv4Addr::new(200, 219, 130, 75)),
            aggregator: Some(Aggregator {
                asn: 64531,
                addr: Ipv4Addr::new(10, 21, 192, 194),
            }),
            ..PathAttributes::default()
        },
        nlri: vec![v4("84.205.64.0/24")],
    };
    // The sender put AS4_PATH (17) before NEXT_HOP (3).
    both_ways(&m, &value, &c, false);
    let u = update(&m, &c);
    // RFC 6793 §4.2.3: same length, so AS4_PATH replaces the whole path.
    // The AGGREGATOR (not AS_TRANS) came without AS4_AGGREGATOR, so it does
    // not cancel AS4_PATH.
    assert_eq!(
        u.attributes.effective_as_path(),
        Some(AsPath::from_sequence(&four))
    );
    // The route server's block is 4-octet: AS_PATH reconstructed, AS4_PATH
    // gone.
    let mut block = Vec::new();
    passthrough_block(&u.attributes, &mut block);
    let mut expected_path = Vec::new();
    AsPath::from_sequence(&four).write(true, &mut expected_path);
    let types: Vec<u8> = RawAttrIter::new(&block).map(|a| a.type_code).collect();
    assert_eq!(types, [1, 2, 7]);
    let as_path = RawAttrIter::new(&block)
        .find(|a| a.type_code == type_code::AS_PATH)
        .map(|a| a.value.to_vec());
    assert_eq!(as_path, Some(expected_path));
}

/// Built from RFC 6793 §4.2.2 (no example in the RFC, none in the sample):
/// a 2-octet session, AS_PATH 65001 AS_TRANS, AGGREGATOR AS_TRANS
/// 192.0.2.9, AS4_PATH 4200000001, AS4_AGGREGATOR 4200000001 192.0.2.9.
const AS4_AGG: &str = "02 0000 0031 400101 00 400206 0202 fde9 5ba0 400304 c0000201
    c00706 5ba0 c0000209 c01106 0201 fa56ea01 c01208 fa56ea01 c0000209 18 c63364";

#[test]
fn as4_aggregator_and_as_trans() {
    let m = built(AS4_AGG);
    let c = ctx(false, FamilySet::EMPTY);
    let agg4 = Aggregator {
        asn: 4_200_000_001,
        addr: Ipv4Addr::new(192, 0, 2, 9),
    };
    let value = UpdateMessage {
        withdrawn: vec![],
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(&[65001, u32::from(AS_TRANS)])),
            as4_path: Some(AsPath::from_sequence(&[4_200_000_001])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            aggregator: Some(Aggregator {
                asn: u32::from(AS_TRANS),
                addr: Ipv4Addr::new(192, 0, 2, 9),
            }),
            as4_aggregator: Some(agg4),
            ..PathAttributes::default()
        },
        nlri: vec![v4("198.51.100.0/24")],
    };
    both_ways(&m, &value, &c, true);
    let u = update(&m, &c);
    assert_eq!(u.attributes.effective_aggregator(), Some(agg4));
    assert_eq!(
        u.attributes.effective_as_path(),
        Some(AsPath::from_sequence(&[65001, 4_200_000_001]))
    );
    // Encoding the 4-octet value for a 2-octet session gives these bytes
    // back: AS_TRANS in AS_PATH and AGGREGATOR, AS4_* beside them.
    let four_octet = UpdateMessage {
        attributes: PathAttributes {
            as_path: Some(AsPath::from_sequence(&[65001, 4_200_000_001])),
            as4_path: None,
            aggregator: Some(agg4),
            as4_aggregator: None,
            ..value.attributes.clone()
        },
        ..value.clone()
    };
    let derived = encode_update(&four_octet, false, FamilySet::EMPTY);
    let again = update(&derived, &c);
    assert_eq!(
        again.attributes.effective_as_path(),
        Some(AsPath::from_sequence(&[65001, 4_200_000_001]))
    );
    assert_eq!(again.attributes.effective_aggregator(), Some(agg4));

    // When AGGREGATOR is not AS_TRANS and AS4_AGGREGATOR is there too, both
    // AS4_* are ignored (RFC 6793 §4.2.3).
    let m2 = built(&AS4_AGG.replace("c00706 5ba0", "c00706 fde9"));
    let u2 = update(&m2, &c);
    assert_eq!(
        u2.attributes.effective_as_path(),
        Some(AsPath::from_sequence(&[65001, u32::from(AS_TRANS)]))
    );
    assert_eq!(
        u2.attributes.effective_aggregator().map(|a| a.asn),
        Some(65001)
    );
}

#[test]
fn as_set_local_pref_large_communities_built() {
    // Built from RFC 4271 §4.3 (AS_SET segment type 1, LOCAL_PREF from an
    // internal peer) and RFC 8092 §3 (two large communities): attributes our
    // captures and the 2010 sample lack.
    let m = built(
        "02 0000 0044 400101 02 400214 0202 0000fde9 0000fdea 0102 00000001 00000002
         400304 c0000201 400504 00000064 c02018 0000fdeb 00000001 00000002 0000fdeb 00000003 00000004
         10 0a00",
    );
    let c = DecodeCtx {
        ebgp: false,
        ..ctx(true, FamilySet::EMPTY)
    };
    let value = UpdateMessage {
        withdrawn: vec![],
        attributes: PathAttributes {
            origin: Some(Origin::Incomplete),
            as_path: Some(AsPath {
                segments: vec![
                    Segment {
                        kind: SegmentKind::Sequence,
                        asns: vec![65001, 65002],
                    },
                    Segment {
                        kind: SegmentKind::Set,
                        asns: vec![1, 2],
                    },
                ],
            }),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            local_pref: Some(100),
            large_communities: vec![[65003, 1, 2], [65003, 3, 4]],
            ..PathAttributes::default()
        },
        nlri: vec![v4("10.0.0.0/16")],
    };
    both_ways(&m, &value, &c, true);
}

#[test]
fn unknown_optional_transitive_passed_through_with_partial_bit() {
    // Built from RFC 4271 §5: an optional transitive attribute of unknown
    // type 240 (value 01 02 03) is kept, re-emitted unchanged by the owned
    // encoder, and by the route server's pass-through with the Partial bit
    // set; an unknown optional non-transitive one (241) is dropped.
    let m = built(
        "02 0000 001e 400101 00 400206 0201 0000fde9 400304 c0000201 c0f003 010203 80f101 09
         18 c63364",
    );
    let c = ctx(true, FamilySet::EMPTY);
    let u = update(&m, &c);
    let unknown: Vec<(u8, u8, Vec<u8>)> = u
        .attributes
        .unknown()
        .map(|a| (a.flags, a.type_code, a.value.to_vec()))
        .collect();
    assert_eq!(unknown, [(0xc0, 240, vec![1, 2, 3])]);
    let owned = UpdateMessage::from_view(&u);
    assert_eq!(
        owned.attributes.unknown,
        [RawAttribute {
            flags: 0xc0,
            type_code: 240,
            value: vec![1, 2, 3],
        }]
    );
    let mut block = Vec::new();
    passthrough_block(&u.attributes, &mut block);
    assert_eq!(block, hex("400101 00 400206 0201 0000fde9 e0f003 010203"));
    // Packed for a member, the Partial bit is still there.
    let mut out = Vec::new();
    let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
    let n = pack_announcements(
        &EncodeCtx::default(),
        &block,
        Family::Ipv4Unicast,
        &nh,
        &[v4("198.51.100.0/24")],
        &mut out,
    );
    assert_eq!(n, Ok(1));
    let u2 = update(&out, &c);
    let flags_seen: Vec<u8> = u2.attributes.unknown().map(|a| a.flags).collect();
    assert_eq!(flags_seen, [0xe0]);
    assert_eq!(u2.attributes.next_hop, Some(Ipv4Addr::new(192, 0, 2, 1)));
}

// ------------------------------------------------------- size limits

fn many_v4(n: usize) -> Vec<Nlri> {
    (0..n as u32)
        .map(|i| Nlri::new(Prefix::V4(0x0a00_0000 | (i << 8), 24)))
        .collect()
}

fn many_v6(n: usize) -> Vec<Nlri> {
    (0..n as u128)
        .map(|i| Nlri::new(Prefix::V6((0x2001_0db8u128 << 96) | (i << 80), 48)))
        .collect()
}

/// Decode every message of `out`; return the announced and withdrawn
/// entries and the number of messages, checking each against `max`.
fn reread(out: &[u8], c: &DecodeCtx, max: usize) -> (Vec<Nlri>, Vec<Nlri>, usize) {
    let (mut ann, mut wd, mut count) = (Vec::new(), Vec::new(), 0);
    let mut rest = out;
    while !rest.is_empty() {
        let len = match frame(rest, max) {
            Ok(Some(len)) => len,
            other => panic!("does not frame: {other:?}"),
        };
        assert!(len <= max, "{len} > {max}");
        let u = update(&rest[..len], c);
        ann.extend(u.announced());
        wd.extend(u.withdrawals());
        rest = &rest[len..];
        count += 1;
    }
    (ann, wd, count)
}

#[test]
fn packing_10000_prefixes_respects_the_size_limit() {
    let attrs = hex(&format!("{BIRD_ATTRS_TAIL} {BIRD_ATTRS_REST}"));
    for (family, nlri, nh) in [
        (
            Family::Ipv4Unicast,
            many_v4(10_000),
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        ),
        (
            Family::Ipv6Unicast,
            many_v6(10_000),
            NextHop::V6 {
                global: "2001:db8::1".parse().expect("address"),
                link_local: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            },
        ),
    ] {
        let mut counts = Vec::new();
        for extended in [false, true] {
            let e = EncodeCtx {
                extended_message: extended,
                ..EncodeCtx::default()
            };
            let c = DecodeCtx {
                extended_message: extended,
                ..ctx(true, FamilySet::EMPTY)
            };
            let mut out = Vec::new();
            let n = pack_announcements(&e, &attrs, family, &nh, &nlri, &mut out);
            let (mut ann, wd, count) = reread(&out, &c, e.max_len());
            assert_eq!(n, Ok(count));
            assert!(wd.is_empty());
            ann.sort();
            let mut want = nlri.clone();
            want.sort();
            assert_eq!(ann, want, "every prefix exactly once");
            // Withdrawals too.
            let mut out = Vec::new();
            let nw = pack_withdrawals(&e, family, &nlri, &mut out);
            let (ann, mut wd, wcount) = reread(&out, &c, e.max_len());
            assert_eq!(nw, wcount);
            assert!(ann.is_empty());
            wd.sort();
            assert_eq!(wd, want, "every withdrawal exactly once");
            counts.push((count, wcount));
        }
        eprintln!("{family}: (announce, withdraw) messages at 4096 and 65535: {counts:?}");
        assert!(counts[1].0 < counts[0].0 && counts[1].1 < counts[0].1);
        // 10,000 entries of 4 (IPv4 /24) or 7 (IPv6 /48) octets.
        assert!(counts[0].0 >= 10, "{counts:?}");
        assert!(counts[1].0 <= 2, "{counts:?}");
    }
}

#[test]
fn message_size_limits_in_frame_and_decode() {
    // An UPDATE of 4097 octets: one withdrawn-routes field full of /32s.
    let body_len = 4097 - 19;
    let mut big = vec![0xff; 16];
    big.extend_from_slice(&4097u16.to_be_bytes());
    big.push(2);
    let wlen = body_len - 4;
    big.extend_from_slice(&(wlen as u16).to_be_bytes());
    let mut w = Vec::new();
    while w.len() + 5 <= wlen {
        w.extend_from_slice(&[32, 10, 0, 0, 1]);
    }
    // Pad with /0 entries (one octet each) to the exact length.
    w.resize(wlen, 0);
    big.extend_from_slice(&w);
    big.extend_from_slice(&[0, 0]);
    assert_eq!(big.len(), 4097);
    // Without extended messages: Bad Message Length with the length field
    // as data (RFC 4271 §6.1).
    let err = frame(&big, 4096).expect_err("too long");
    assert_eq!(
        (err.code, err.subcode, err.data.clone()),
        (1, 2, vec![0x10, 0x01])
    );
    assert!(Message::decode(&big, &ctx(true, FamilySet::EMPTY)).is_err());
    // With them (RFC 8654 §4): accepted.
    assert_eq!(frame(&big, 65535), Ok(Some(4097)));
    let ext = DecodeCtx {
        extended_message: true,
        ..ctx(true, FamilySet::EMPTY)
    };
    assert!(matches!(
        Message::decode(&big, &ext),
        Ok(Message::Update(_))
    ));
    // OPEN and KEEPALIVE stay at 4096 even then (RFC 8654 §4).
    let mut open = big.clone();
    open[18] = 1;
    let err = frame(&open, 65535).expect_err("OPEN over 4096");
    assert_eq!((err.code, err.subcode), (1, 2));
    // Incomplete input asks for more.
    assert_eq!(frame(&big[..100], 65535), Ok(None));
}
