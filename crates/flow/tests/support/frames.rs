//! Ethernet / 802.1Q / IPv4 / IPv6 / TCP / UDP frame builders.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        let hi = u32::from(c[0]) << 8;
        let lo = c.get(1).map(|v| u32::from(*v)).unwrap_or(0);
        s += hi | lo;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An L4 header with payload of `payload_len` zero octets.
pub fn l4(proto: u8, sport: u16, dport: u16, payload_len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    match proto {
        6 => {
            v.extend_from_slice(&1u32.to_be_bytes()); // seq
            v.extend_from_slice(&0u32.to_be_bytes()); // ack
            v.push(0x50); // data offset 5
            v.push(0x18); // PSH ACK
            v.extend_from_slice(&65535u16.to_be_bytes());
            v.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
        }
        _ => {
            v.extend_from_slice(&((8 + payload_len) as u16).to_be_bytes());
            v.extend_from_slice(&[0, 0]);
        }
    }
    v.extend(std::iter::repeat_n(0u8, payload_len));
    v
}

/// An IPv4 packet around `payload`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&[0, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An IPv6 packet around `payload`.
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.push(next);
    h.push(64);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

/// An Ethernet frame (no FCS) with optional 802.1Q tags (outer first).
pub fn ethernet(
    src: [u8; 6],
    dst: [u8; 6],
    tags: &[(u16, u16)],
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for (tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A whole frame of exactly `frame_len` octets (without FCS).
#[allow(clippy::too_many_arguments)]
pub fn frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    vlan: Option<u16>,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    frame_len: usize,
    id: u16,
) -> Vec<u8> {
    let tags: Vec<(u16, u16)> = vlan.map(|v| vec![(0x8100, v)]).unwrap_or_default();
    let l2 = 14 + 4 * tags.len();
    let l4h = if proto == 6 { 20 } else { 8 };
    let (l3h, et) = match src {
        IpAddr::V4(_) => (20, 0x0800),
        IpAddr::V6(_) => (40, 0x86dd),
    };
    let payload = frame_len - l2 - l3h - l4h;
    let seg = l4(proto, sport, dport, payload);
    let pkt = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4(s, d, proto, id, &seg),
        (IpAddr::V6(s), IpAddr::V6(d)) => ipv6(s, d, proto, &seg),
        _ => panic!("mixed families"),
    };
    let f = ethernet(src_mac, dst_mac, &tags, et, &pkt);
    assert_eq!(f.len(), frame_len);
    f
}

/// A UDP/IPv4/Ethernet frame carrying a received datagram, for saving as
/// pcap for tshark.
pub fn udp_frame(sport: u16, dport: u16, payload: &[u8], id: u16) -> Vec<u8> {
    let seg = {
        let mut v = Vec::new();
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    };
    let lo = Ipv4Addr::LOCALHOST;
    let pkt = ipv4(lo, lo, 17, id, &seg);
    ethernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], &[], 0x0800, &pkt)
}
