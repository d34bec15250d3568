//! UPDATEs for the benchmark and the differential test, built with
//! bgp-wire's owned encoder.
//!
//! Two attribute sets: *typical* is what most routes at an IXP carry
//! (ORIGIN, a 3-hop AS_PATH, NEXT_HOP or MP_REACH_NLRI, MED, two
//! communities); *rich* adds a 10-hop path with an AS_SET, LOCAL_PREF,
//! ATOMIC_AGGREGATE, AGGREGATOR, 12 communities, 3 extended and 6 large
//! communities, OTC and, for IPv6, a link-local next hop. Prefix lengths
//! cycle through /20–/24 (IPv4) and /32–/48 (IPv6).

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::aspath::{AsPath, Segment, SegmentKind};
use bgp_wire::owned::MpReachOwned;
use bgp_wire::{Aggregator, EncodeCtx, Family, NextHop, Nlri, Origin, PathAttributes, Prefix};
use bgp_wire::{FamilySet, UpdateMessage};

/// Distinct IPv4 prefixes: /20 to /24.
pub fn v4_prefixes(n: usize) -> Vec<Nlri> {
    (0..n)
        .map(|i| {
            let len = 20 + (i % 5) as u8;
            // 4096 addresses apart, so prefixes never overlap.
            let addr = 0x0b00_0000u32.wrapping_add((i as u32) << 12);
            Nlri::new(Prefix::V4(addr & (u32::MAX << (32 - len)), len))
        })
        .collect()
}

/// Distinct IPv6 prefixes: /32 to /48.
pub fn v6_prefixes(n: usize) -> Vec<Nlri> {
    const LENS: [u8; 5] = [32, 36, 40, 44, 48];
    (0..n)
        .map(|i| {
            let len = LENS[i % 5];
            let addr = (0x2a00u128 << 112) | ((i as u128) << 96);
            Nlri::new(Prefix::V6(addr & (u128::MAX << (128 - len)), len))
        })
        .collect()
}

/// Attribute sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attrs {
    /// ORIGIN, AS_PATH (3), next hop, MED, 2 communities.
    Typical,
    /// Everything a route server meets.
    Rich,
}

/// Path attributes of the given kind (without MP_REACH_NLRI).
pub fn attributes(kind: Attrs) -> PathAttributes {
    let mut a = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(&[64500, 3356, 196_615])),
        med: Some(10),
        communities: vec![(64500 << 16) | 100, (3356 << 16) | 2],
        ..PathAttributes::default()
    };
    if kind == Attrs::Rich {
        a.as_path = Some(AsPath {
            segments: vec![
                Segment {
                    kind: SegmentKind::Sequence,
                    asns: vec![
                        64500,
                        3356,
                        1299,
                        174,
                        6939,
                        4_200_000_001,
                        2914,
                        3257,
                        6453,
                    ],
                },
                Segment {
                    kind: SegmentKind::Set,
                    asns: vec![65001, 65002, 4_200_000_002],
                },
            ],
        });
        a.local_pref = Some(100);
        a.atomic_aggregate = true;
        a.aggregator = Some(Aggregator {
            asn: 4_200_000_002,
            addr: Ipv4Addr::new(192, 0, 2, 7),
        });
        a.communities = (0..12).map(|i| (64500 << 16) | (100 + i)).collect();
        a.ext_communities = vec![
            [0x00, 0x02, 0xfb, 0xf4, 0, 0, 0, 1],
            [0x00, 0x03, 0xfb, 0xf4, 0, 0, 0, 2],
            [0x40, 0x04, 0, 0, 0, 0, 0, 3],
        ];
        a.large_communities = (0..6).map(|i| [64500, 1101, i]).collect();
        a.otc = Some(64500);
    }
    a
}

/// One UPDATE message (header included) announcing `n` prefixes of
/// `family` with the `kind` attribute set, on a 4-octet-AS session.
pub fn update(family: Family, n: usize, kind: Attrs) -> Vec<u8> {
    update_with(family, n, kind, &EncodeCtx::default())
}

/// Like [`update`] with an explicit encode context (2-octet AS, ADD-PATH).
pub fn update_with(family: Family, n: usize, kind: Attrs, ctx: &EncodeCtx) -> Vec<u8> {
    let mut attributes = attributes(kind);
    let mut msg = UpdateMessage::default();
    match family {
        Family::Ipv4Unicast => {
            attributes.next_hop = Some(Ipv4Addr::new(192, 0, 2, 1));
            msg.nlri = v4_prefixes(n);
        }
        Family::Ipv6Unicast => {
            let global: Ipv6Addr = "2001:db8::1".parse().unwrap_or(Ipv6Addr::LOCALHOST);
            let link_local =
                (kind == Attrs::Rich).then(|| "fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST));
            attributes.mp_reach = Some(MpReachOwned {
                family,
                next_hop: NextHop::V6 { global, link_local },
                nlri: v6_prefixes(n),
            });
        }
    }
    if ctx.add_path.contains(family) {
        for (i, e) in msg.nlri.iter_mut().enumerate() {
            e.path_id = i as u32 + 1;
        }
        if let Some(mp) = &mut attributes.mp_reach {
            for (i, e) in mp.nlri.iter_mut().enumerate() {
                e.path_id = i as u32 + 1;
            }
        }
    }
    msg.attributes = attributes;
    let mut out = Vec::new();
    msg.encode(ctx, &mut out);
    out
}

/// The encode context with ADD-PATH on both families.
pub fn add_path_ctx() -> EncodeCtx {
    EncodeCtx {
        add_path: FamilySet::BOTH,
        ..EncodeCtx::default()
    }
}
