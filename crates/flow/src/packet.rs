//! Parsing of sampled packet headers: Ethernet II, 802.1Q and 802.1ad/QinQ
//! tags, IPv4, IPv6 (with its common extension headers), TCP and UDP.
//!
//! An sFlow agent copies only the first octets of each sampled frame (128 by
//! default), so every layer here is optional: parsing stops quietly where the
//! header ends and reports what it found. It never fails and never panics.
//! It does not reassemble fragments (ports are read from first fragments
//! only), and does not look inside tunnels or MPLS.
//!
//! Formats: IEEE 802.3 Ethernet II, IEEE 802.1Q (TPID 0x8100) and 802.1ad
//! (TPID 0x88a8, and the legacy 0x9100), RFC 791 §3.1, RFC 8200 §3 and §4,
//! RFC 9293 §3.1, RFC 768.

use crate::record::MacAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a sampled header revealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// Ethernet source address.
    pub src_mac: Option<MacAddr>,
    /// Ethernet destination address.
    pub dst_mac: Option<MacAddr>,
    /// Outer VLAN ID (the service tag with QinQ, else the 802.1Q tag).
    pub vlan: Option<u16>,
    /// Inner VLAN ID with QinQ.
    pub inner_vlan: Option<u16>,
    /// EtherType after the tags.
    pub ethertype: Option<u16>,
    /// IP source address.
    pub src_ip: Option<IpAddr>,
    /// IP destination address.
    pub dst_ip: Option<IpAddr>,
    /// IP protocol (IPv4) or upper-layer next header (IPv6).
    pub protocol: Option<u8>,
    /// TCP or UDP source port.
    pub src_port: Option<u16>,
    /// TCP or UDP destination port.
    pub dst_port: Option<u16>,
    /// TCP flags (the low 8 bits of the flags field).
    pub tcp_flags: Option<u8>,
}

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const TPID_8021Q: u16 = 0x8100;
const TPID_8021AD: u16 = 0x88a8;
const TPID_QINQ_LEGACY: u16 = 0x9100;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

fn mac_at(b: &[u8], at: usize) -> Option<MacAddr> {
    let s = b.get(at..at.checked_add(6)?)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(s);
    Some(MacAddr(m))
}

/// Parses a frame that starts with an Ethernet II header.
pub fn parse_ethernet(frame: &[u8]) -> PacketInfo {
    let mut info = PacketInfo {
        dst_mac: mac_at(frame, 0),
        src_mac: mac_at(frame, 6),
        ..PacketInfo::default()
    };
    let mut at = 12;
    let mut ethertype = match u16_at(frame, at) {
        Some(t) => t,
        None => return info,
    };
    // At most two tags: a service tag and a customer tag (QinQ).
    for _ in 0..2 {
        if !matches!(ethertype, TPID_8021Q | TPID_8021AD | TPID_QINQ_LEGACY) {
            break;
        }
        let Some(tci) = u16_at(frame, at + 2) else {
            return info;
        };
        let vid = tci & 0x0fff;
        if info.vlan.is_none() {
            info.vlan = Some(vid);
        } else {
            info.inner_vlan = Some(vid);
        }
        at += 4;
        ethertype = match u16_at(frame, at) {
            Some(t) => t,
            None => return info,
        };
    }
    info.ethertype = Some(ethertype);
    let l3 = frame.get(at + 2..).unwrap_or(&[]);
    match ethertype {
        ETHERTYPE_IPV4 => parse_ipv4_into(l3, &mut info),
        ETHERTYPE_IPV6 => parse_ipv6_into(l3, &mut info),
        _ => {}
    }
    info
}

/// Parses a packet that starts with an IPv4 header (sFlow header protocol 11).
pub fn parse_ipv4(packet: &[u8]) -> PacketInfo {
    let mut info = PacketInfo {
        ethertype: Some(ETHERTYPE_IPV4),
        ..PacketInfo::default()
    };
    parse_ipv4_into(packet, &mut info);
    info
}

/// Parses a packet that starts with an IPv6 header (sFlow header protocol 12).
pub fn parse_ipv6(packet: &[u8]) -> PacketInfo {
    let mut info = PacketInfo {
        ethertype: Some(ETHERTYPE_IPV6),
        ..PacketInfo::default()
    };
    parse_ipv6_into(packet, &mut info);
    info
}

fn parse_ipv4_into(p: &[u8], info: &mut PacketInfo) {
    let Some(&vihl) = p.first() else { return };
    if vihl >> 4 != 4 {
        return;
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < 20 {
        return;
    }
    let (Some(src), Some(dst)) = (p.get(12..16), p.get(16..20)) else {
        return;
    };
    info.src_ip = Some(IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3])));
    info.dst_ip = Some(IpAddr::V4(Ipv4Addr::new(dst[0], dst[1], dst[2], dst[3])));
    let proto = p.get(9).copied();
    info.protocol = proto;
    let frag = u16_at(p, 6).unwrap_or(0) & 0x1fff;
    if frag == 0 {
        if let Some(proto) = proto {
            parse_l4(p.get(ihl..).unwrap_or(&[]), proto, info);
        }
    }
}

fn parse_ipv6_into(p: &[u8], info: &mut PacketInfo) {
    let Some(&v) = p.first() else { return };
    if v >> 4 != 6 {
        return;
    }
    let (Some(src), Some(dst)) = (p.get(8..24), p.get(24..40)) else {
        return;
    };
    let mut s = [0u8; 16];
    s.copy_from_slice(src);
    let mut d = [0u8; 16];
    d.copy_from_slice(dst);
    info.src_ip = Some(IpAddr::V6(Ipv6Addr::from(s)));
    info.dst_ip = Some(IpAddr::V6(Ipv6Addr::from(d)));
    let Some(mut next) = p.get(6).copied() else {
        return;
    };
    let mut at = 40usize;
    // Walk a bounded number of extension headers (RFC 8200 §4).
    for _ in 0..8 {
        match next {
            // Hop-by-Hop, Routing, Destination Options: length in 8-octet
            // units, not counting the first 8.
            0 | 43 | 60 => {
                let (Some(&nh), Some(&len)) = (p.get(at), p.get(at + 1)) else {
                    info.protocol = Some(next);
                    return;
                };
                next = nh;
                at += (usize::from(len) + 1) * 8;
            }
            // Fragment: fixed 8 octets; ports only in the first fragment.
            44 => {
                let (Some(&nh), Some(off)) = (p.get(at), u16_at(p, at + 2)) else {
                    info.protocol = Some(next);
                    return;
                };
                next = nh;
                at += 8;
                if off >> 3 != 0 {
                    info.protocol = Some(next);
                    return;
                }
            }
            _ => break,
        }
    }
    info.protocol = Some(next);
    parse_l4(p.get(at..).unwrap_or(&[]), next, info);
}

fn parse_l4(l4: &[u8], proto: u8, info: &mut PacketInfo) {
    match proto {
        6 | 17 => {
            info.src_port = u16_at(l4, 0);
            info.dst_port = u16_at(l4, 2);
            if proto == 6 {
                info.tcp_flags = l4.get(13).copied();
            }
        }
        _ => {}
    }
}
