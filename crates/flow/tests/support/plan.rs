//! The known traffic: three members, six flows of fixed frame sizes,
//! written as a pcap and the totals it holds.

use super::frames::frame;
use flow::pcap::{PcapWriter, LINKTYPE_ETHERNET};
use flow::{Asn, MacAddr, MemberTable};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

pub const A: Asn = 64501;
pub const B: Asn = 64502;
pub const C: Asn = 64503;

pub fn mac(asn: Asn) -> [u8; 6] {
    [0x02, 0, 0, 0, 0xfb, (asn - 64500) as u8]
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// One flow of the plan.
#[derive(Debug, Clone)]
pub struct PlanFlow {
    pub src: Asn,
    pub dst: Asn,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub vlan: Option<u16>,
    /// Frame length without FCS.
    pub frame_len: usize,
    pub packets: u64,
}

impl PlanFlow {
    /// Octets of the IP packet (what NetFlow/IPFIX count).
    pub fn ip_len(&self) -> u64 {
        let l2 = if self.vlan.is_some() { 18 } else { 14 };
        (self.frame_len - l2) as u64
    }
}

pub fn flows() -> Vec<PlanFlow> {
    let f = |src, dst, s: &str, d: &str, proto, sport, dport, vlan, frame_len, packets| PlanFlow {
        src,
        dst,
        src_ip: ip(s),
        dst_ip: ip(d),
        proto,
        sport,
        dport,
        vlan,
        frame_len,
        packets,
    };
    vec![
        f(A, B, "10.1.0.1", "10.2.0.1", 17, 4000, 80, None, 1000, 1500),
        f(B, A, "10.2.0.1", "10.1.0.1", 6, 80, 4000, None, 600, 800),
        f(
            A,
            C,
            "2001:db8:a::1",
            "2001:db8:c::1",
            17,
            5000,
            443,
            None,
            1200,
            600,
        ),
        f(C, B, "10.3.0.5", "10.2.0.9", 17, 6000, 53, None, 300, 400),
        // A BGP session between A's and B's routers.
        f(
            A,
            B,
            "10.1.255.1",
            "10.2.255.1",
            6,
            179,
            50179,
            None,
            90,
            100,
        ),
        f(
            B,
            A,
            "10.2.255.1",
            "10.1.255.1",
            6,
            50179,
            179,
            None,
            70,
            100,
        ),
        f(
            C,
            A,
            "10.3.0.7",
            "10.1.0.7",
            17,
            7000,
            8080,
            Some(100),
            500,
            300,
        ),
    ]
}

/// The member table for the plan: MACs and prefixes.
pub fn members(with_macs: bool, with_prefixes: bool) -> MemberTable {
    let mut t = MemberTable::new();
    for (asn, name, v4, v6) in [
        (A, "Alpha", "10.1.0.0", "2001:db8:a::"),
        (B, "Bravo", "10.2.0.0", "2001:db8:b::"),
        (C, "Charlie", "10.3.0.0", "2001:db8:c::"),
    ] {
        t.add_member(asn, name);
        if with_macs {
            t.add_mac(MacAddr(mac(asn)), asn);
        }
        if with_prefixes {
            t.add_prefix(ip(v4), 16, asn).expect("prefix");
            t.add_prefix(ip(v6), 48, asn).expect("prefix");
        }
    }
    t
}

pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64
}

/// The flows' packets in sending order (as indexes into [`flows`]): round
/// robin over the flows that still have packets.
pub fn packet_order() -> Vec<usize> {
    let flows = flows();
    let mut left: Vec<u64> = flows.iter().map(|f| f.packets).collect();
    let mut order = Vec::new();
    while left.iter().any(|n| *n > 0) {
        for (i, n) in left.iter_mut().enumerate() {
            if *n > 0 {
                *n -= 1;
                order.push(i);
            }
        }
    }
    order
}

/// Writes the plan as a pcap, flows interleaved, one packet every 500 µs
/// starting at `start_micros`.
pub fn pcap(start_micros: u64) -> Vec<u8> {
    let flows = flows();
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET, 65535);
    let mut t = start_micros;
    for (n, i) in packet_order().into_iter().enumerate() {
        let f = &flows[i];
        let fr = frame(
            mac(f.src),
            mac(f.dst),
            f.vlan,
            f.src_ip,
            f.dst_ip,
            f.proto,
            f.sport,
            f.dport,
            f.frame_len,
            n as u16,
        );
        w.packet(t, &fr);
        t += 500;
    }
    w.finish()
}

/// What deterministic 1-in-`rate` sampling of every packet at a position
/// ≡ `phase` (mod `rate`) estimates per pair, scaled: (packets, IP octets).
pub fn periodic_totals(rate: u64, phase: u64) -> BTreeMap<(Asn, Asn), (u64, u64)> {
    let flows = flows();
    let mut m = BTreeMap::new();
    for (n, i) in packet_order().into_iter().enumerate() {
        if n as u64 % rate != phase {
            continue;
        }
        let f = &flows[i];
        let e = m.entry((f.src, f.dst)).or_insert((0, 0));
        e.0 += rate;
        e.1 += rate * f.ip_len();
    }
    m
}

/// Expected (packets, octets) per (src, dst) member pair; `l2` chooses
/// frame octets (sFlow) or IP octets (NetFlow/IPFIX).
pub fn pair_totals(l2: bool) -> BTreeMap<(Asn, Asn), (u64, u64)> {
    let mut m = BTreeMap::new();
    for f in flows() {
        let per = if l2 { f.frame_len as u64 } else { f.ip_len() };
        let e = m.entry((f.src, f.dst)).or_insert((0, 0));
        e.0 += f.packets;
        e.1 += f.packets * per;
    }
    m
}

/// Total packets in the plan.
pub fn total_packets() -> u64 {
    flows().iter().map(|f| f.packets).sum()
}

/// Standard deviations of the (packets, octets) estimates per pair under
/// independent 1-in-`rate` sampling: each packet of a flow of `s` octets is
/// taken with p = 1/rate and counts `rate` packets and `rate * s` octets, so
/// var = rate² · n·p·(1−p) (· s² for octets), summed over the pair's flows.
pub fn pair_sigma(l2: bool, rate: u64) -> BTreeMap<(Asn, Asn), (f64, f64)> {
    let r = rate as f64;
    let p = 1.0 / r;
    let mut var: BTreeMap<(Asn, Asn), (f64, f64)> = BTreeMap::new();
    for f in flows() {
        let s = if l2 {
            f.frame_len as f64
        } else {
            f.ip_len() as f64
        };
        let v = r * r * f.packets as f64 * p * (1.0 - p);
        let e = var.entry((f.src, f.dst)).or_insert((0.0, 0.0));
        e.0 += v;
        e.1 += v * s * s;
    }
    var.into_iter()
        .map(|(k, (a, b))| (k, (a.sqrt(), b.sqrt())))
        .collect()
}
