//! Route sets for simulated members: replayed from a real MRT dump, or
//! generated with a realistic shape (mostly /24 and /48, AS paths of one to
//! six hops, a few communities).

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use bgp_wire::attr::Origin;
use bgp_wire::{
    AsPath, DecodeCtx, EncodeCtx, FamilySet, Message, NextHop, Nlri, PathAttributes, Prefix,
};

/// Prefixes announced with one attribute block and next hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteGroup {
    /// Attribute block without NEXT_HOP and MP_* (4-octet AS form), as
    /// `bgp_wire::builder::pack_announcements` takes it.
    pub block: Vec<u8>,
    /// Next hop.
    pub next_hop: NextHop,
    /// Prefixes.
    pub nlri: Vec<Nlri>,
}

/// The attribute block for `attrs` (NEXT_HOP and MP_* left out).
pub fn block(attrs: &PathAttributes) -> Vec<u8> {
    let mut a = attrs.clone();
    a.next_hop = None;
    a.mp_reach = None;
    a.mp_unreach = None;
    let mut out = Vec::new();
    a.write(&EncodeCtx::default(), &mut out);
    out
}

/// Announcements of an MRT dump, re-originated by `asn`: every announced
/// IPv4 prefix with its real AS path behind `asn`, origin and communities,
/// and `next_hop` as next hop. Takes prefixes in file order, skipping ones
/// in `exclude`, until `limit` prefixes are collected. Prefixes taken are
/// added to `exclude`, so members built one after another do not overlap.
pub fn from_mrt(
    path: &Path,
    asn: u32,
    next_hop: NextHop,
    limit: usize,
    exclude: &mut HashSet<Prefix>,
) -> Result<Vec<RouteGroup>, mrt::Error> {
    let msgs = mrt::read_file(path)?;
    let mut groups = Vec::new();
    let mut taken = 0;
    for m in msgs {
        if taken >= limit {
            break;
        }
        let ctx = DecodeCtx {
            four_octet_as: m.four_octet_as,
            add_path: FamilySet::EMPTY,
            ..DecodeCtx::default()
        };
        let Ok(Message::Update(u)) = Message::decode(&m.message, &ctx) else {
            continue;
        };
        let nlri: Vec<Nlri> = u
            .announced()
            .filter(|n| n.prefix.len() <= 24 && n.prefix.len() >= 8)
            .filter(|n| exclude.insert(n.prefix))
            .take(limit - taken)
            .map(|n| Nlri::new(n.prefix))
            .collect();
        if nlri.is_empty() {
            continue;
        }
        taken += nlri.len();
        let path = u.attributes.effective_as_path().unwrap_or_default();
        // The collector's peer is the first AS; the member takes its place.
        let mut asns: Vec<u32> = path.asns().skip(1).collect();
        asns.dedup();
        asns.insert(0, asn);
        asns.truncate(8);
        let attrs = PathAttributes {
            origin: Some(u.attributes.origin.unwrap_or(Origin::Igp)),
            as_path: Some(AsPath::from_sequence(&asns)),
            med: u.attributes.med,
            communities: u
                .attributes
                .communities
                .map(|c| c.iter().collect())
                .unwrap_or_default(),
            ..PathAttributes::default()
        };
        groups.push(RouteGroup {
            block: block(&attrs),
            next_hop,
            nlri,
        });
    }
    Ok(groups)
}

/// A deterministic pseudo-random generator (xorshift), so generated route
/// sets are the same on every run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// `count` generated routes of one family for member `asn` (index `member`
/// keeps prefix sets of different members apart): mostly /24 (IPv4) or /48
/// (IPv6), AS paths of one to six hops starting with `asn`, one or two
/// communities; prefixes in groups of up to 20 sharing attributes, as real
/// UPDATEs do.
pub fn synthetic(
    member: u32,
    asn: u32,
    next_hop: NextHop,
    count: usize,
    ipv6: bool,
) -> Vec<RouteGroup> {
    let mut rng = Rng::new(u64::from(member) * 7919 + u64::from(ipv6));
    let mut groups = Vec::new();
    let mut made = 0usize;
    while made < count {
        let hops = 1 + rng.below(6) as usize;
        let mut asns = vec![asn];
        for _ in 1..hops {
            asns.push(64512 + rng.below(1000) as u32);
        }
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(&asns)),
            communities: (0..1 + rng.below(2))
                .map(|i| (asn << 16) | (i as u32 + 100))
                .collect(),
            ..PathAttributes::default()
        };
        let n = (1 + rng.below(20) as usize).min(count - made);
        let nlri = (0..n)
            .map(|k| {
                let i = (made + k) as u32;
                let p = if ipv6 {
                    // 2001:db8::/32 is too small for many members; use
                    // 2a0x:... space mapped from member and index.
                    let hi = 0x2a00_0000_u32 | ((member & 0xff) << 16) | (i >> 16);
                    let addr = (u128::from(hi) << 96) | (u128::from(i & 0xffff) << 80);
                    Prefix::v6(Ipv6Addr::from(addr), 48)
                } else {
                    let addr = 0x0b00_0000_u32
                        .wrapping_add((member << 24) & 0x3f00_0000)
                        .wrapping_add(i << 8);
                    Prefix::v4(Ipv4Addr::from(addr), 24)
                };
                Nlri::new(p.unwrap_or(Prefix::V4(0, 0)))
            })
            .collect();
        made += n;
        groups.push(RouteGroup {
            block: block(&attrs),
            next_hop,
            nlri,
        });
    }
    groups
}
