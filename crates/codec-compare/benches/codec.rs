//! Decode and encode speed of bgp-wire against bgpkit-parser and routecore,
//! on the same bytes, in the same run.
//!
//! Messages: UPDATEs with 1, 100 and 500 prefixes, IPv4 (NLRI field) and
//! IPv6 (MP_REACH_NLRI), with the typical and the rich attribute set of
//! [`codec_compare::gen`]. What "decode" means for each decoder, chosen so
//! that all three do at least the same work:
//!
//! - bgp-wire: `Message::decode` (header, every NLRI field validated, every
//!   attribute TLV walked and its value checked), then every announced
//!   prefix materialised as a `Prefix`, every COMMUNITY and LARGE_COMMUNITY
//!   value and every AS_PATH ASN read.
//! - routecore: `UpdateMessage::from_octets` (validates the message), then
//!   every announced prefix materialised (`Nlri` and its `Prefix`), every
//!   path attribute walked by the `path_attributes()` iterator (which
//!   parses each into a `WireformatPathAttribute`), and every COMMUNITY,
//!   LARGE_COMMUNITY value and AS_PATH ASN read through its accessors.
//! - bgpkit-parser: `parse_bgp_message`, which has no lazy mode: it builds
//!   owned vectors of every prefix and attribute value. The input is a
//!   `Bytes` clone (a reference count increment, no copy).
//!
//! "Encode" is bgp-wire's owned encoder (`UpdateMessage::encode`), the route
//! server's packing encoder (`builder::pack_announcements` with a
//! pass-through attribute block), and bgpkit-parser's
//! `BgpUpdateMessage::encode` on its own decoded value.
//!
//! Run: `cargo bench -p codec-compare -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use bgp_wire::builder::{pack_announcements, passthrough_block};
use bgp_wire::{DecodeCtx, EncodeCtx, Family, Message, Nlri, UpdateMessage};
use codec_compare::gen::{self, Attrs};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SIZES: [usize; 3] = [1, 100, 500];

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4Unicast => "ipv4",
        Family::Ipv6Unicast => "ipv6",
    }
}

fn decode_bgp_wire(msg: &[u8], ctx: &DecodeCtx) -> u64 {
    let Ok(Message::Update(u)) = Message::decode(msg, ctx) else {
        return 0;
    };
    let mut acc = 0u64;
    for n in u.announced() {
        acc = acc.wrapping_add(u64::from(n.prefix.len()));
        acc ^= match n.prefix {
            bgp_wire::Prefix::V4(a, _) => u64::from(a),
            bgp_wire::Prefix::V6(a, _) => a as u64,
        };
    }
    for n in u.withdrawals() {
        acc = acc.wrapping_add(u64::from(n.prefix.len()));
    }
    let a = &u.attributes;
    if let Some(p) = a.as_path {
        acc = p.asns().fold(acc, |x, y| x.wrapping_add(u64::from(y)));
    }
    if let Some(c) = a.communities {
        acc = c.iter().fold(acc, |x, y| x.wrapping_add(u64::from(y)));
    }
    if let Some(c) = a.large_communities {
        acc = c.iter().fold(acc, |x, y| x.wrapping_add(u64::from(y[2])));
    }
    acc.wrapping_add(u64::from(a.med.unwrap_or(0)))
}

fn decode_routecore(msg: &[u8], cfg: &routecore::bgp::message::SessionConfig) -> u64 {
    use routecore::bgp::nlri::afisafi::{IsPrefix, Nlri};
    let Ok(u) = routecore::bgp::message::UpdateMessage::from_octets(msg, cfg) else {
        return 0;
    };
    let mut acc = 0u64;
    if let Ok(it) = u.announcements() {
        for n in it.flatten() {
            let p = match n {
                Nlri::Ipv4Unicast(p) => p.prefix(),
                Nlri::Ipv6Unicast(p) => p.prefix(),
                _ => continue,
            };
            acc = acc.wrapping_add(u64::from(p.len()));
            acc ^= match p.addr() {
                std::net::IpAddr::V4(a) => u64::from(u32::from(a)),
                std::net::IpAddr::V6(a) => u128::from(a) as u64,
            };
        }
    }
    if let Ok(it) = u.withdrawals() {
        acc = acc.wrapping_add(it.flatten().count() as u64);
    }
    if let Ok(pas) = u.path_attributes() {
        // Walked for the work; not in `acc`, which must match bgp-wire's.
        black_box(
            pas.flatten()
                .fold(0u32, |x, pa| x.wrapping_add(u32::from(pa.type_code()))),
        );
    }
    if let Ok(Some(p)) = u.aspath() {
        for s in p.segments() {
            acc = s
                .asns()
                .fold(acc, |x, y| x.wrapping_add(u64::from(y.into_u32())));
        }
    }
    if let Ok(Some(c)) = u.communities() {
        acc = c.fold(acc, |x, y| x.wrapping_add(u64::from(y.to_u32())));
    }
    if let Ok(Some(c)) = u.large_communities() {
        acc = c.fold(acc, |x, y| x.wrapping_add(u64::from(y.to_raw()[11])));
    }
    if let Ok(Some(m)) = u.multi_exit_disc() {
        acc = acc.wrapping_add(u64::from(m.0));
    }
    acc
}

fn decode_bgpkit(msg: &bytes::Bytes) -> u64 {
    use bgpkit_parser::models::{AsnLength, BgpMessage};
    let mut data = msg.clone();
    match bgpkit_parser::parser::bgp::messages::parse_bgp_message(
        &mut data,
        false,
        &AsnLength::Bits32,
    ) {
        Ok(BgpMessage::Update(u)) => {
            let mp = u
                .attributes
                .get_reachable_nlri()
                .map_or(0, |n| n.prefixes.len());
            (u.announced_prefixes.len() + mp) as u64
        }
        _ => 0,
    }
}

fn decode(c: &mut Criterion) {
    let ctx = DecodeCtx::default();
    let cfg = routecore::bgp::message::SessionConfig::modern();
    for family in Family::ALL {
        for kind in [Attrs::Typical, Attrs::Rich] {
            let name = format!("decode/{}/{kind:?}", family_name(family)).to_lowercase();
            let mut g = c.benchmark_group(name);
            for n in SIZES {
                let msg = gen::update(family, n, kind);
                let shared = bytes::Bytes::from(msg.clone());
                // The three must agree on what they decoded.
                let ours = decode_bgp_wire(&msg, &ctx);
                assert_ne!(ours, 0);
                assert_eq!(ours, decode_routecore(&msg, &cfg), "routecore differs");
                assert_eq!(decode_bgpkit(&shared), n as u64, "bgpkit differs");
                g.throughput(Throughput::Elements(n as u64));
                g.bench_with_input(BenchmarkId::new("bgp-wire", n), &msg, |b, m| {
                    b.iter(|| decode_bgp_wire(black_box(m), &ctx))
                });
                g.bench_with_input(BenchmarkId::new("routecore", n), &msg, |b, m| {
                    b.iter(|| decode_routecore(black_box(m), &cfg))
                });
                g.bench_with_input(BenchmarkId::new("bgpkit", n), &shared, |b, m| {
                    b.iter(|| decode_bgpkit(black_box(m)))
                });
            }
            g.finish();
        }
    }
}

fn encode(c: &mut Criterion) {
    let ectx = EncodeCtx::default();
    let dctx = DecodeCtx::default();
    for family in Family::ALL {
        for kind in [Attrs::Typical, Attrs::Rich] {
            let name = format!("encode/{}/{kind:?}", family_name(family)).to_lowercase();
            let mut g = c.benchmark_group(name);
            for n in SIZES {
                let msg = gen::update(family, n, kind);
                let Ok(Message::Update(u)) = Message::decode(&msg, &dctx) else {
                    panic!("generated UPDATE does not decode");
                };
                let owned = UpdateMessage::from_view(&u);
                let mut block = Vec::new();
                passthrough_block(&u.attributes, &mut block);
                let nlri: Vec<Nlri> = u.announced().collect();
                let next_hop = match (family, u.attributes.mp_reach.and_then(|m| m.next_hop)) {
                    (_, Some(nh)) => nh,
                    (_, None) => bgp_wire::NextHop::V4(
                        u.attributes
                            .next_hop
                            .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
                    ),
                };
                let mut data = bytes::Bytes::from(msg.clone());
                let kit = match bgpkit_parser::parser::bgp::messages::parse_bgp_message(
                    &mut data,
                    false,
                    &bgpkit_parser::models::AsnLength::Bits32,
                ) {
                    Ok(bgpkit_parser::models::BgpMessage::Update(k)) => k,
                    other => panic!("bgpkit: {other:?}"),
                };
                let mut out = Vec::with_capacity(8192);
                g.throughput(Throughput::Elements(n as u64));
                g.bench_function(BenchmarkId::new("bgp-wire-owned", n), |b| {
                    b.iter(|| {
                        out.clear();
                        black_box(&owned).encode(&ectx, &mut out);
                        out.len()
                    })
                });
                g.bench_function(BenchmarkId::new("bgp-wire-pack", n), |b| {
                    b.iter(|| {
                        out.clear();
                        pack_announcements(&ectx, &block, family, &next_hop, &nlri, &mut out)
                    })
                });
                g.bench_function(BenchmarkId::new("bgpkit", n), |b| {
                    b.iter(|| {
                        black_box(&kit)
                            .encode(bgpkit_parser::models::AsnLength::Bits32)
                            .map_or(0, |x| x.len())
                    })
                });
            }
            g.finish();
        }
    }
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
