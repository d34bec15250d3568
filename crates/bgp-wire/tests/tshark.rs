//! Messages our encoder writes, saved as a pcap of one TCP stream and
//! dissected by Wireshark's tshark (Debian package `tshark`): no malformed
//! packet, no expert info of error severity, and tshark's count of
//! messages and prefixes per message equals ours.
//!
//! The pcap (classic format, Ethernet / IPv4 / TCP) is written here by
//! hand: one BGP message per TCP segment, except one segment that carries
//! a KEEPALIVE and a ROUTE-REFRESH together; sequence numbers advance by
//! the payload length; IPv4 header checksums are computed, TCP checksums
//! are left zero (tshark does not verify them by default). The stream uses
//! port 17900 and is decoded as BGP with `-d tcp.port==17900,bgp`.
//!
//! Not in the capture: a default route (0.0.0.0/0) in a classic NLRI
//! field. tshark 4.0's ADD-PATH heuristic takes such a field for one with
//! path identifiers and reports it malformed; our encoding of it is checked
//! in tests/vectors.rs and by the differential test.
//!
//! tshark missing is a failure, not a skip. `BGP_WIRE_KEEP_PCAP=1` keeps
//! the capture and prints where it is.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;

use bgp_wire::builder::{
    pack_announcements, pack_withdrawals, passthrough_block, write_end_of_rib,
};
use bgp_wire::message::{write_keepalive, write_notification, write_open, write_route_refresh};
use bgp_wire::open::GracefulRestartFamily;
use bgp_wire::owned::{MpReachOwned, RawAttribute};
use bgp_wire::{
    AddPathMode, Afi, Aggregator, AsPath, Capability, DecodeCtx, EncodeCtx, Family, Message,
    NextHop, Nlri, Notification, Open, Origin, PathAttributes, Prefix, Role, RouteRefresh, Safi,
    Segment, SegmentKind, UpdateMessage,
};

const PORT: u16 = 17900;

/// What we expect tshark to see in one segment.
#[derive(Debug, PartialEq, Eq)]
struct Expect {
    /// BGP message types, in order.
    types: Vec<u8>,
    /// Prefixes announced (NLRI field + MP_REACH_NLRI).
    announced: usize,
    /// Prefixes withdrawn (withdrawn routes + MP_UNREACH_NLRI).
    withdrawn: usize,
}

fn rich_attributes() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath {
            segments: vec![
                Segment {
                    kind: SegmentKind::Sequence,
                    asns: vec![64500, 4_200_000_001, 3356],
                },
                Segment {
                    kind: SegmentKind::Set,
                    asns: vec![65001, 65002],
                },
            ],
        }),
        med: Some(10),
        local_pref: Some(100),
        atomic_aggregate: true,
        aggregator: Some(Aggregator {
            asn: 4_200_000_001,
            addr: Ipv4Addr::new(192, 0, 2, 9),
        }),
        communities: vec![0xfbf4_0064, 0xffff_ff01],
        ext_communities: vec![[0x00, 0x02, 0xfb, 0xf4, 0, 0, 0, 7]],
        large_communities: vec![[64500, 1101, 13], [64500, 0, 65001]],
        otc: Some(64500),
        unknown: vec![RawAttribute {
            flags: 0xe0,
            type_code: 240,
            value: vec![1, 2, 3, 4],
        }],
        ..PathAttributes::default()
    }
}

fn v4_list(n: u32) -> Vec<Nlri> {
    (0..n)
        .map(|i| Nlri::new(Prefix::V4(0x0a00_0000 | (i << 8), 24)))
        .collect()
}

fn v6_list(n: u128) -> Vec<Nlri> {
    (0..n)
        .map(|i| Nlri::new(Prefix::V6((0x2001_0db8u128 << 96) | (i << 80), 48)))
        .collect()
}

/// Every kind of message our encoder writes, one segment each (and one
/// segment with two), with what tshark should count.
fn segments() -> Vec<(Vec<u8>, Expect)> {
    let mut out = Vec::new();
    let one = |types: &[u8], a: usize, w: usize| Expect {
        types: types.to_vec(),
        announced: a,
        withdrawn: w,
    };
    let ectx = EncodeCtx::default();

    let open = Open::new(
        4_200_000_001,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![
            Capability::Multiprotocol(Afi::Ipv4, Safi::Unicast),
            Capability::Multiprotocol(Afi::Ipv6, Safi::Unicast),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedMessage,
            Capability::Role(Role::RouteServer),
            Capability::ExtendedNextHop(vec![(Afi::Ipv4, Safi::Unicast, Afi::Ipv6)]),
            Capability::GracefulRestart {
                restarting: false,
                notification: true,
                time: 120,
                families: vec![GracefulRestartFamily {
                    afi: Afi::Ipv4,
                    safi: Safi::Unicast,
                    forwarding_preserved: true,
                }],
            },
        ],
    );
    let mut m = Vec::new();
    write_open(&mut m, &open);
    out.push((m, one(&[1], 0, 0)));
    // The OPEN with ADD-PATH too goes last: once tshark 4.0 has seen an
    // ADD-PATH capability in a conversation it guesses path identifiers in
    // every later IPv4 NLRI field (even for a family the capability does
    // not name) and misreads UPDATEs sent without them.
    let mut with_add_path = open.clone();
    with_add_path.capabilities.push(Capability::AddPath(vec![(
        Afi::Ipv6,
        Safi::Unicast,
        AddPathMode::Send,
    )]));

    // IPv4 UPDATE, rich attributes, classic NLRI.
    let v4 = UpdateMessage {
        withdrawn: v4_list(2),
        attributes: PathAttributes {
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..rich_attributes()
        },
        nlri: vec![
            Nlri::new("198.51.100.0/24".parse().expect("prefix")),
            Nlri::new("203.0.113.128/25".parse().expect("prefix")),
        ],
    };
    let mut m = Vec::new();
    v4.encode(&ectx, &mut m);
    out.push((m, one(&[2], 2, 2)));

    // IPv6 UPDATE: MP_REACH with global + link-local next hop.
    let ll = NextHop::V6 {
        global: "2001:db8::1".parse().expect("address"),
        link_local: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    };
    let v6 = UpdateMessage {
        attributes: PathAttributes {
            mp_reach: Some(MpReachOwned {
                family: Family::Ipv6Unicast,
                next_hop: ll,
                nlri: v6_list(5),
            }),
            ..rich_attributes()
        },
        ..UpdateMessage::default()
    };
    let mut m = Vec::new();
    v6.encode(&ectx, &mut m);
    out.push((m, one(&[2], 5, 0)));

    // The route server's path: pass-through block, packed.
    let mut received = Vec::new();
    v4.encode(&ectx, &mut received);
    let Ok(Message::Update(u)) = Message::decode(&received, &DecodeCtx::default()) else {
        panic!("our UPDATE does not decode");
    };
    let mut block = Vec::new();
    passthrough_block(&u.attributes, &mut block);
    let packs: [(Family, NextHop, Vec<Nlri>); 3] = [
        (
            Family::Ipv4Unicast,
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            v4_list(2500),
        ),
        (Family::Ipv6Unicast, ll, v6_list(1200)),
        // RFC 8950: IPv4 prefixes with an IPv6 next hop.
        (
            Family::Ipv4Unicast,
            NextHop::V6 {
                global: "2001:db8::1".parse().expect("address"),
                link_local: None,
            },
            v4_list(40),
        ),
    ];
    for (family, nh, list) in packs {
        let mut all = Vec::new();
        let n =
            pack_announcements(&ectx, &block, family, &nh, &list, &mut all).expect("block fits");
        assert!(n >= 1);
        split_into(&all, &mut out, true);
    }
    for (family, list) in [
        (Family::Ipv4Unicast, v4_list(1500)),
        (Family::Ipv6Unicast, v6_list(900)),
    ] {
        let mut all = Vec::new();
        pack_withdrawals(&ectx, family, &list, &mut all);
        split_into(&all, &mut out, false);
    }
    for family in Family::ALL {
        let mut m = Vec::new();
        write_end_of_rib(family, &mut m);
        out.push((m, one(&[2], 0, 0)));
    }

    // KEEPALIVE and ROUTE-REFRESH in one segment.
    let mut m = Vec::new();
    write_keepalive(&mut m);
    write_route_refresh(
        &mut m,
        &RouteRefresh {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
            subtype: 0,
        },
    );
    out.push((m, one(&[4, 5], 0, 0)));
    for subtype in [1, 2] {
        let mut m = Vec::new();
        write_route_refresh(
            &mut m,
            &RouteRefresh {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
                subtype,
            },
        );
        out.push((m, one(&[5], 0, 0)));
    }
    let mut m = Vec::new();
    write_notification(
        &mut m,
        &Notification::cease(2, "maintenance, back at 10:00"),
    );
    out.push((m, one(&[3], 0, 0)));
    let mut m = Vec::new();
    write_open(&mut m, &with_add_path);
    out.push((m, one(&[1], 0, 0)));
    out
}

/// Split packed output into one segment per message, counting prefixes
/// with our decoder.
fn split_into(all: &[u8], out: &mut Vec<(Vec<u8>, Expect)>, announce: bool) {
    let mut rest = all;
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        let m = &rest[..len];
        let Ok(Message::Update(u)) = Message::decode(m, &DecodeCtx::default()) else {
            panic!("packed UPDATE does not decode");
        };
        let (a, w) = (u.announced().count(), u.withdrawals().count());
        assert!(if announce {
            a > 0 && w == 0
        } else {
            a == 0 && w > 0
        });
        out.push((
            m.to_vec(),
            Expect {
                types: vec![2],
                announced: a,
                withdrawn: w,
            },
        ));
        rest = &rest[len..];
    }
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A classic pcap of one TCP stream from 192.0.2.1:PORT to 192.0.2.2:40000
/// carrying `payloads` in order.
fn pcap(payloads: &[&[u8]]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&0i32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&262_144u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    let mut seq: u32 = 1_000_000;
    for (i, p) in payloads.iter().enumerate() {
        let mut pkt = Vec::new();
        pkt.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let total = (20 + 20 + p.len()) as u16;
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&(i as u16).to_be_bytes());
        ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
        let c = ipv4_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        pkt.extend_from_slice(&ip);
        pkt.extend_from_slice(&PORT.to_be_bytes());
        pkt.extend_from_slice(&40000u16.to_be_bytes());
        pkt.extend_from_slice(&seq.to_be_bytes());
        pkt.extend_from_slice(&5000u32.to_be_bytes()); // ack
        pkt.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]); // PSH ACK
        pkt.extend_from_slice(p);
        seq = seq.wrapping_add(p.len() as u32);
        f.extend_from_slice(&(i as u32 + 1).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        f.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        f.extend_from_slice(&pkt);
    }
    f
}

fn count(field: &str) -> usize {
    if field.is_empty() {
        0
    } else {
        field.split(',').count()
    }
}

#[test]
fn tshark_dissects_our_messages_cleanly() {
    let segs = segments();
    let payloads: Vec<&[u8]> = segs.iter().map(|(p, _)| p.as_slice()).collect();
    let dir = std::env::temp_dir().join(format!("caribix-bgp-wire-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("ours.pcap");
    std::fs::write(&file, pcap(&payloads)).expect("write pcap");

    let fields = [
        "frame.number",
        "bgp.type",
        "bgp.nlri_prefix",
        "bgp.mp_reach_nlri_ipv4_prefix",
        "bgp.mp_reach_nlri_ipv6_prefix",
        "bgp.withdrawn_prefix",
        "bgp.mp_unreach_nlri_ipv4_prefix",
        "bgp.mp_unreach_nlri_ipv6_prefix",
        "_ws.malformed",
        "_ws.expert.severity",
        "_ws.expert.message",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(&file)
        .args(["-d", &format!("tcp.port=={PORT},bgp")])
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .args(["-E", "aggregator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run tshark ({e}): install the Debian package `tshark` (scripts/install-deps)"
        ),
    };
    // BGP_WIRE_KEEP_PCAP=1 keeps the capture for a look in Wireshark.
    if std::env::var_os("BGP_WIRE_KEEP_PCAP").is_some() {
        eprintln!("pcap kept at {}", file.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), segs.len(), "one row per segment");
    let mut messages = 0;
    for (row, (_, want)) in rows.iter().zip(&segs) {
        let f = |i: usize| row.get(i).copied().unwrap_or("");
        assert!(f(8).is_empty(), "frame {}: malformed: {}", f(0), f(10));
        // Expert severity: 0x00800000 is error (epan/proto.h PI_ERROR).
        for sev in f(9).split(',').filter(|s| !s.is_empty()) {
            let v: u32 = sev.parse().unwrap_or(u32::MAX);
            assert!(v < 0x0080_0000, "frame {}: expert error: {}", f(0), f(10));
        }
        let types: Vec<u8> = f(1).split(',').filter_map(|t| t.parse().ok()).collect();
        let got = Expect {
            types,
            announced: count(f(2)) + count(f(3)) + count(f(4)),
            withdrawn: count(f(5)) + count(f(6)) + count(f(7)),
        };
        assert_eq!(&got, want, "frame {}", f(0));
        messages += got.types.len();
    }
    let ours: usize = segs.iter().map(|(_, e)| e.types.len()).sum();
    assert_eq!(messages, ours);
    eprintln!(
        "tshark agrees on {messages} messages in {} segments",
        segs.len()
    );
    assert!(messages > 20);
}
