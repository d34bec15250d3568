//! The load plan of a route server benchmark: members (AS, session address,
//! next hops), the routes each one announces, which of them a filtering
//! route server must reject and why, and so how many prefixes every member
//! must end up holding, with filtering off and on. Also the data the
//! filters need: a VRP table of realistic size (RFC 6811 origin validation)
//! and one IRR prefix list per member.
//!
//! Prefixes come from one global allocator, so no two members (and no two
//! routes) ever share address space, whatever the scale: the IPv4 plan walks
//! the non-bogon /8s from 11/8 upwards in /24 slots, the IPv6 plan walks
//! 2a00::/16 in /48 slots. A route shorter than the slot takes several
//! aligned slots.
//!
//! Not here: sessions, sockets, target configuration files.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use bgp_wire::attr::Origin;
use bgp_wire::{AsPath, NextHop, Nlri, PathAttributes, Prefix};
use speaker::routes::{block, Rng};

/// Why a filtering route server must reject a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reject {
    /// Bogon prefix (RFC 1918 / documentation space).
    Bogon,
    /// Prefix longer than /24 (IPv4) or /48 (IPv6).
    Length,
    /// First AS of the AS_PATH is not the member's AS.
    FirstAs,
    /// RPKI invalid: a VRP covers it with another origin AS.
    RpkiInvalid,
    /// Not in the member's IRR prefix list.
    NotInIrr,
}

impl Reject {
    /// All reasons, in the order of the report.
    pub const ALL: [Reject; 5] = [
        Reject::Bogon,
        Reject::Length,
        Reject::FirstAs,
        Reject::RpkiInvalid,
        Reject::NotInIrr,
    ];
}

/// Routes sharing one attribute set, as one UPDATE carries them.
#[derive(Clone, Debug)]
pub struct Group {
    /// AS_PATH, first AS first.
    pub path: Vec<u32>,
    /// Standard communities.
    pub communities: Vec<u32>,
    /// Prefixes (one family per group).
    pub prefixes: Vec<Prefix>,
    /// Set when filtering must reject every prefix of the group.
    pub reject: Option<Reject>,
    /// Attribute block for `bgp_wire::builder::pack_announcements`.
    pub block: Vec<u8>,
}

/// One simulated member.
#[derive(Clone, Debug)]
pub struct Member {
    /// Its AS.
    pub asn: u32,
    /// Session address.
    pub addr: Ipv4Addr,
    /// IPv6 next hop of its IPv6 routes.
    pub nh6: Ipv6Addr,
    /// Its routes.
    pub groups: Vec<Group>,
}

impl Member {
    /// Next hop for a family.
    pub fn next_hop(&self, v6: bool) -> NextHop {
        if v6 {
            NextHop::V6 {
                global: self.nh6,
                link_local: None,
            }
        } else {
            NextHop::V4(self.addr)
        }
    }

    /// Prefixes announced.
    pub fn announced(&self) -> usize {
        self.groups.iter().map(|g| g.prefixes.len()).sum()
    }

    /// Prefixes a filtering route server accepts.
    pub fn accepted(&self) -> usize {
        self.groups
            .iter()
            .filter(|g| g.reject.is_none())
            .map(|g| g.prefixes.len())
            .sum()
    }

    /// The member's IRR prefix list: every route except the ones marked
    /// as missing from it.
    pub fn irr_prefixes(&self) -> impl Iterator<Item = Prefix> + '_ {
        self.groups
            .iter()
            .filter(|g| g.reject != Some(Reject::NotInIrr))
            .flat_map(|g| g.prefixes.iter().copied())
    }
}

/// A validated ROA payload (RFC 6811 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vrp {
    /// Prefix.
    pub prefix: Prefix,
    /// Maximum length.
    pub max_len: u8,
    /// Origin AS.
    pub asn: u32,
}

/// Where members' sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addressing {
    /// The route server's address.
    pub rs: Ipv4Addr,
    /// The first member's address; the others follow.
    pub first_member: Ipv4Addr,
}

impl Addressing {
    /// Member `i`'s session address.
    pub fn member(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.first_member).wrapping_add(i as u32))
    }
}

/// A fast, non-cryptographic hasher for the prefix index: the generator
/// looks up every received prefix, and SipHash was a visible share of its
/// CPU time. The keys are our own prefixes, not attacker-chosen.
#[derive(Debug, Default, Clone, Copy)]
pub struct PrefixHasher(u64);

impl std::hash::Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// Prefix -> dense index.
pub type PrefixIndex = HashMap<Prefix, u32, std::hash::BuildHasherDefault<PrefixHasher>>;

/// The whole load.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Members.
    pub members: Vec<Member>,
    /// The VRP table (empty unless asked for).
    pub vrps: Vec<Vrp>,
    /// Every announced prefix with a dense index, for counting.
    pub index: PrefixIndex,
}

/// The route server's AS in every benchmark.
pub const RS_ASN: u32 = 64500;

/// First member AS; member `i` is `MEMBER_ASN_BASE + i`.
pub const MEMBER_ASN_BASE: u32 = 30000;

/// Usable /8s for generated IPv4 space, lowest first (no bogons, no
/// multicast, none of the blocks used for filler VRPs).
fn usable_slash8s() -> Vec<u32> {
    let skip = [0, 10, 100, 127, 169, 172, 192, 198, 203];
    (11..=195).filter(|o| !skip.contains(o)).collect()
}

/// Allocates non-overlapping prefixes.
struct Allocator {
    v4_blocks: Vec<u32>,
    v4_slot: u64,
    v6_slot: u64,
    bogon4: u32,
    bogon6: u32,
}

/// Too many prefixes for the IPv4 plan.
#[derive(Debug)]
pub struct OutOfSpace;

impl Allocator {
    fn v4(&mut self, len: u8) -> Result<Prefix, OutOfSpace> {
        let slots = 1u64 << (24 - u32::from(len.min(24)));
        self.v4_slot = self.v4_slot.div_ceil(slots) * slots;
        let block = self.v4_slot >> 16;
        let Some(o) = self.v4_blocks.get(block as usize) else {
            return Err(OutOfSpace);
        };
        let addr = (o << 24) | (((self.v4_slot & 0xffff) as u32) << 8);
        self.v4_slot += slots;
        Prefix::v4(Ipv4Addr::from(addr), len).map_err(|_| OutOfSpace)
    }

    fn v6(&mut self, len: u8) -> Result<Prefix, OutOfSpace> {
        let slots = 1u64 << (48 - u32::from(len.min(48)));
        self.v6_slot = self.v6_slot.div_ceil(slots) * slots;
        if self.v6_slot >= 1 << 32 {
            return Err(OutOfSpace);
        }
        let addr = (0x2a00u128 << 112) | (u128::from(self.v6_slot) << 80);
        self.v6_slot += slots;
        Prefix::v6(Ipv6Addr::from(addr), len).map_err(|_| OutOfSpace)
    }

    fn bogon(&mut self, v6: bool) -> Prefix {
        let p = if v6 {
            let addr = (0x2001_0db8u128 << 96) | (u128::from(self.bogon6) << 80);
            self.bogon6 += 1;
            Prefix::v6(Ipv6Addr::from(addr), 48)
        } else {
            // 10.0.0.0/8 holds 65,536 /24s; the scenarios use far fewer.
            let addr = 0x0a00_0000u32 | ((self.bogon4 & 0xffff) << 8);
            self.bogon4 += 1;
            Prefix::v4(Ipv4Addr::from(addr), 24)
        };
        p.unwrap_or(Prefix::V4(0x0a00_0000, 24))
    }
}

fn v4_len(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..=69 => 24,
        70..=81 => 23,
        82..=91 => 22,
        92..=96 => 21,
        _ => 20,
    }
}

fn v6_len(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..=79 => 48,
        80..=89 => 44,
        90..=96 => 40,
        _ => 36,
    }
}

/// Share of a member's prefixes that are IPv6.
pub const IPV6_SHARE_PERCENT: usize = 20;

/// Synthetic routes: `members` members announcing `prefixes` prefixes each
/// (80% IPv4, 20% IPv6) in groups of 1 to 20 sharing attributes, AS paths of
/// 1 to 6 hops, one or two communities. About 1% of groups fall under each
/// reject reason.
pub fn synthetic(members: usize, prefixes: usize, addr: Addressing) -> Result<Plan, OutOfSpace> {
    let mut alloc = Allocator {
        v4_blocks: usable_slash8s(),
        v4_slot: 0,
        v6_slot: 0,
        bogon4: 0,
        bogon6: 0,
    };
    let mut out = Vec::with_capacity(members);
    for i in 0..members {
        let asn = MEMBER_ASN_BASE + i as u32;
        let mut rng = Rng::new(i as u64 + 1);
        let v6_count = prefixes * IPV6_SHARE_PERCENT / 100;
        let mut groups = Vec::new();
        for (v6, count) in [(false, prefixes - v6_count), (true, v6_count)] {
            let mut made = 0;
            while made < count {
                let n = (1 + rng.below(20) as usize).min(count - made);
                let reject = match rng.below(100) {
                    0 => Some(Reject::Bogon),
                    1 => Some(Reject::Length),
                    2 => Some(Reject::FirstAs),
                    3 => Some(Reject::RpkiInvalid),
                    4 => Some(Reject::NotInIrr),
                    _ => None,
                };
                let hops = 1 + rng.below(6) as usize;
                let mut path = vec![asn];
                for _ in 1..hops {
                    path.push(40000 + rng.below(20000) as u32);
                }
                if reject == Some(Reject::FirstAs) {
                    path[0] = 60000 + (i as u32 % 1000);
                }
                let communities: Vec<u32> = (0..1 + rng.below(2))
                    .map(|k| ((asn & 0xffff) << 16) | (100 + k as u32))
                    .collect();
                let mut list = Vec::with_capacity(n);
                for _ in 0..n {
                    let p = match (reject, v6) {
                        (Some(Reject::Bogon), _) => alloc.bogon(v6),
                        (Some(Reject::Length), false) => {
                            let p = alloc.v4(24)?;
                            Prefix::v4(Ipv4Addr::from(p_addr4(&p)), 25).map_err(|_| OutOfSpace)?
                        }
                        (Some(Reject::Length), true) => {
                            let p = alloc.v6(48)?;
                            Prefix::v6(Ipv6Addr::from(p_addr6(&p)), 56).map_err(|_| OutOfSpace)?
                        }
                        (_, false) => alloc.v4(v4_len(&mut rng))?,
                        (_, true) => alloc.v6(v6_len(&mut rng))?,
                    };
                    list.push(p);
                }
                made += n;
                groups.push(Group {
                    block: attr_block(&path, &communities),
                    path,
                    communities,
                    prefixes: list,
                    reject,
                });
            }
        }
        out.push(Member {
            asn,
            addr: addr.member(i),
            nh6: member_nh6(i),
            groups,
        });
    }
    Ok(finish(out))
}

fn p_addr4(p: &Prefix) -> u32 {
    match p {
        Prefix::V4(a, _) => *a,
        Prefix::V6(..) => 0,
    }
}

fn p_addr6(p: &Prefix) -> u128 {
    match p {
        Prefix::V6(a, _) => *a,
        Prefix::V4(..) => 0,
    }
}

/// Member `i`'s IPv6 next hop: 2001:db8:10::/64, which BIRD accepts
/// (IPv4-mapped next hops it reads as IPv4).
pub fn member_nh6(i: usize) -> Ipv6Addr {
    Ipv6Addr::from((0x2001_0db8_0010u128 << 80) | (0x1000 + i as u128))
}

fn attr_block(path: &[u32], communities: &[u32]) -> Vec<u8> {
    block(&PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(path)),
        communities: communities.to_vec(),
        ..PathAttributes::default()
    })
}

fn finish(members: Vec<Member>) -> Plan {
    let mut index = PrefixIndex::default();
    for m in &members {
        for g in &m.groups {
            for p in &g.prefixes {
                let n = index.len() as u32;
                index.entry(*p).or_insert(n);
            }
        }
    }
    Plan {
        members,
        vrps: Vec::new(),
        index,
    }
}

/// Replay: member `i` announces up to `prefixes` IPv4 routes taken from
/// the MRT dump (their real AS paths behind the member's AS, origin and
/// communities; members do not share prefixes) plus generated IPv6 routes
/// (20%). Routes are never marked for rejection; replay runs are meant
/// with filtering off.
pub fn replay(
    mrt: &Path,
    members: usize,
    prefixes: usize,
    addr: Addressing,
) -> Result<Plan, String> {
    let syn = synthetic(members, prefixes, addr).map_err(|_| "address plan full".to_string())?;
    let mut exclude: HashSet<Prefix> = HashSet::new();
    let mut out = Vec::new();
    for (i, m) in syn.members.into_iter().enumerate() {
        let v4_count = prefixes - prefixes * IPV6_SHARE_PERCENT / 100;
        let groups =
            speaker::routes::from_mrt(mrt, m.asn, NextHop::V4(m.addr), v4_count, &mut exclude)
                .map_err(|e| format!("{}: {e:?}", mrt.display()))?;
        let mut mine: Vec<Group> = groups
            .into_iter()
            .map(|g| Group {
                path: vec![m.asn],
                communities: Vec::new(),
                prefixes: g.nlri.iter().map(|n| n.prefix).collect(),
                reject: None,
                block: g.block,
            })
            .collect();
        let got: usize = mine.iter().map(|g| g.prefixes.len()).sum();
        if got < v4_count && i == 0 {
            return Err(format!(
                "{} holds only {got} usable IPv4 prefixes; ask for fewer",
                mrt.display()
            ));
        }
        mine.extend(m.groups.into_iter().filter(|g| {
            g.reject.is_none()
                && g.prefixes
                    .first()
                    .is_some_and(|p| matches!(p, Prefix::V6(..)))
        }));
        out.push(Member { groups: mine, ..m });
    }
    Ok(finish(out))
}

impl Plan {
    /// Prefixes member `i` must hold at the end when the route server
    /// applies the checks for which `applied` is true.
    pub fn expected(&self, i: usize, applied: &dyn Fn(Reject) -> bool) -> u64 {
        self.members
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, m)| m.groups.iter())
            .filter(|g| !g.reject.is_some_and(applied))
            .map(|g| g.prefixes.len() as u64)
            .sum()
    }

    /// Build the VRP table: one VRP per route that should validate, a VRP
    /// with a wrong origin for the RPKI-invalid ones, none for about a
    /// third of the rest (NotFound, accepted), then filler VRPs outside the
    /// plan's space up to `total` entries.
    pub fn make_vrps(&mut self, total: usize) {
        let mut vrps = Vec::new();
        for m in &self.members {
            for (k, g) in m.groups.iter().enumerate() {
                let origin = g.path.last().copied().unwrap_or(m.asn);
                let asn = match g.reject {
                    Some(Reject::RpkiInvalid) => origin + 1,
                    Some(Reject::Bogon) | Some(Reject::Length) => continue,
                    _ if k % 3 == 2 => continue,
                    _ => origin,
                };
                for p in &g.prefixes {
                    vrps.push(Vrp {
                        prefix: *p,
                        max_len: p.len(),
                        asn,
                    });
                }
            }
        }
        // Filler: /24s in 196/8..=223/8 (skipping 198 and 203), /48s in
        // 2c0f::/16: space the plan never announces.
        let mut n = 0u32;
        while vrps.len() < total {
            let p = if n % 4 == 3 {
                Prefix::v6(
                    Ipv6Addr::from((0x2c0fu128 << 112) | (u128::from(n) << 80)),
                    48,
                )
            } else {
                let o = [196u32, 197, 199, 200, 201, 202, 204, 205][(n as usize / 65536) % 8];
                Prefix::v4(Ipv4Addr::from((o << 24) | ((n & 0xffff) << 8)), 24)
            };
            if let Ok(p) = p {
                vrps.push(Vrp {
                    prefix: p,
                    max_len: p.len(),
                    asn: 100 + n % 60000,
                });
            }
            n += 1;
        }
        self.vrps = vrps;
    }

    /// Total prefixes announced.
    pub fn total_announced(&self) -> usize {
        self.members.iter().map(Member::announced).sum()
    }
}

/// The NLRI of a group.
pub fn nlri(g: &Group) -> Vec<Nlri> {
    g.prefixes.iter().map(|p| Nlri::new(*p)).collect()
}

/// `true` for IPv6 groups.
pub fn is_v6(g: &Group) -> bool {
    matches!(g.prefixes.first(), Some(Prefix::V6(..)))
}

/// Text of an address for configuration files.
pub fn ip(a: impl Into<IpAddr>) -> String {
    a.into().to_string()
}
