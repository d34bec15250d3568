//! The route server's encoder: re-emit received attributes, pack prefixes.
//!
//! A route server passes most attributes through unchanged (RFC 7947 §2.2),
//! so they are not decoded into owned values and encoded again. Instead
//! [`passthrough_block`] copies the received attribute TLVs once into a
//! canonical *block* (4-octet AS numbers, no NEXT_HOP, no MP_* attributes,
//! the Partial bit set on unknown optional transitive attributes), and
//! [`pack_announcements`] adds the next hop and as many prefixes per UPDATE
//! as the session's maximum message size allows (RFC 8654). The same block
//! serves every member that receives the route.
//!
//! Known limitations: a block is 4-octet-AS form; [`block_for_two_octet`]
//! converts it for the rare 2-octet-AS member.

use crate::aspath::AsPath;
use crate::attr::{flags, type_code as tc, Attributes, NextHop, RawAttrIter};
use crate::message::msg_type;
use crate::nlri::{entry_len, write_entry};
use crate::owned::{write_attr, EncodeCtx};
use crate::types::{Family, Nlri};
use crate::HEADER_LEN;

/// The attributes cannot fit in one message of the session's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("path attributes do not fit in one UPDATE of the session's maximum size")
    }
}

impl std::error::Error for TooLarge {}

/// Append the canonical attribute block of a decoded UPDATE (see the module
/// documentation). On a 2-octet session the AS path and aggregator are the
/// RFC 6793 reconstructions, in 4-octet form.
pub fn passthrough_block(a: &Attributes<'_>, out: &mut Vec<u8>) {
    let two_octet = !a.four_octet_as();
    for attr in a.kept() {
        match attr.type_code {
            tc::NEXT_HOP | tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI => {}
            tc::AS4_PATH | tc::AS4_AGGREGATOR if two_octet => {}
            tc::AS_PATH if two_octet => {
                let p = a.effective_as_path().unwrap_or_default();
                write_attr(out, flags::TRANSITIVE, tc::AS_PATH, |b| p.write(true, b));
            }
            tc::AGGREGATOR if two_octet => {
                if let Some(agg) = a.effective_aggregator() {
                    write_attr(
                        out,
                        flags::OPTIONAL | flags::TRANSITIVE,
                        tc::AGGREGATOR,
                        |b| {
                            b.extend_from_slice(&agg.asn.to_be_bytes());
                            b.extend_from_slice(&agg.addr.octets());
                        },
                    );
                }
            }
            t if !is_known_code(t) => {
                write_attr(out, attr.flags | flags::PARTIAL, t, |b| {
                    b.extend_from_slice(attr.value)
                });
            }
            _ => out.extend_from_slice(attr.tlv),
        }
    }
}

fn is_known_code(t: u8) -> bool {
    matches!(t, 1..=10 | 14..=18 | 25 | 32 | 35)
}

/// Convert a 4-octet block for a 2-octet-AS session (RFC 6793 §4.2.2):
/// AS_PATH with AS_TRANS plus AS4_PATH, AGGREGATOR plus AS4_AGGREGATOR.
pub fn block_for_two_octet(block: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + 32);
    let mut as4: Option<AsPath> = None;
    let mut as4_agg: Option<[u8; 8]> = None;
    for attr in RawAttrIter::new(block) {
        match attr.type_code {
            tc::AS_PATH => {
                let Ok(p) = crate::aspath::AsPathRef::new(attr.value, true) else {
                    continue;
                };
                let p = p.to_owned_path();
                write_attr(&mut out, flags::TRANSITIVE, tc::AS_PATH, |b| {
                    p.write(false, b)
                });
                if p.needs_four_octets() {
                    as4 = Some(p.as4_path());
                }
            }
            tc::AGGREGATOR if attr.value.len() == 8 => {
                let asn = u32::from_be_bytes([
                    attr.value[0],
                    attr.value[1],
                    attr.value[2],
                    attr.value[3],
                ]);
                write_attr(&mut out, attr.flags, tc::AGGREGATOR, |b| {
                    let a = u16::try_from(asn).unwrap_or(crate::AS_TRANS);
                    b.extend_from_slice(&a.to_be_bytes());
                    b.extend_from_slice(&attr.value[4..8]);
                });
                if asn > 0xffff {
                    let mut v = [0u8; 8];
                    v.copy_from_slice(attr.value);
                    as4_agg = Some(v);
                }
            }
            _ => out.extend_from_slice(attr.tlv),
        }
    }
    const OT: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    if let Some(p) = as4 {
        write_attr(&mut out, OT, tc::AS4_PATH, |b| p.write(true, b));
    }
    if let Some(v) = as4_agg {
        write_attr(&mut out, OT, tc::AS4_AGGREGATOR, |b| {
            b.extend_from_slice(&v)
        });
    }
    out
}

/// Where NEXT_HOP goes in a block to keep ascending type order.
fn next_hop_split(block: &[u8]) -> usize {
    let mut pos = 0;
    for attr in RawAttrIter::new(block) {
        if attr.type_code > tc::NEXT_HOP {
            return pos;
        }
        pos += attr.tlv.len();
    }
    block.len()
}

fn begin_update(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 0, msg_type::UPDATE]);
    start
}

fn finish_update(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u16;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}

/// Append UPDATEs announcing `nlri` with the attribute `block` and
/// `next_hop`, as few as the session's maximum size allows. IPv4 prefixes
/// with an IPv4 next hop use the NLRI field; IPv6 prefixes, and IPv4 ones
/// with an IPv6 next hop (RFC 8950), use MP_REACH_NLRI, placed first
/// (RFC 7606 §5.1). Returns the number of messages written.
pub fn pack_announcements(
    ctx: &EncodeCtx,
    block: &[u8],
    family: Family,
    next_hop: &NextHop,
    nlri: &[Nlri],
    out: &mut Vec<u8>,
) -> Result<usize, TooLarge> {
    if nlri.is_empty() {
        return Ok(0);
    }
    let max = ctx.max_len();
    let add_path = ctx.add_path.contains(family);
    let classic = matches!((family, next_hop), (Family::Ipv4Unicast, NextHop::V4(_)));
    let mut count = 0;
    let mut rest = nlri;
    if classic {
        let NextHop::V4(nh) = next_hop else {
            return Err(TooLarge);
        };
        let split = next_hop_split(block);
        let fixed = HEADER_LEN + 4 + block.len() + 7;
        if fixed + entry_len(&rest[0], add_path) > max {
            return Err(TooLarge);
        }
        while !rest.is_empty() {
            let start = begin_update(out);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&((block.len() + 7) as u16).to_be_bytes());
            out.extend_from_slice(&block[..split]);
            out.extend_from_slice(&[flags::TRANSITIVE, tc::NEXT_HOP, 4]);
            out.extend_from_slice(&nh.octets());
            out.extend_from_slice(&block[split..]);
            let mut room = max - fixed;
            let mut n = 0;
            for e in rest {
                let l = entry_len(e, add_path);
                if l > room {
                    break;
                }
                write_entry(e, add_path, out);
                room -= l;
                n += 1;
            }
            rest = &rest[n..];
            finish_update(out, start);
            count += 1;
        }
    } else {
        let nh_len = next_hop.wire_len();
        let mp_fixed = 4 + 5 + nh_len;
        let fixed = HEADER_LEN + 4 + mp_fixed + block.len();
        if fixed + entry_len(&rest[0], add_path) > max {
            return Err(TooLarge);
        }
        while !rest.is_empty() {
            let start = begin_update(out);
            out.extend_from_slice(&[0, 0, 0, 0]);
            let astart = out.len();
            out.extend_from_slice(&[
                flags::OPTIONAL | flags::EXTENDED_LENGTH,
                tc::MP_REACH_NLRI,
                0,
                0,
            ]);
            let vstart = out.len();
            out.extend_from_slice(&family.afi().code().to_be_bytes());
            out.push(family.safi().code());
            out.push(nh_len as u8);
            next_hop.write(out);
            out.push(0);
            let mut room = max - fixed;
            let mut n = 0;
            for e in rest {
                let l = entry_len(e, add_path);
                if l > room {
                    break;
                }
                write_entry(e, add_path, out);
                room -= l;
                n += 1;
            }
            rest = &rest[n..];
            let vlen = (out.len() - vstart) as u16;
            out[vstart - 2..vstart].copy_from_slice(&vlen.to_be_bytes());
            out.extend_from_slice(block);
            let alen = (out.len() - astart) as u16;
            out[astart - 2..astart].copy_from_slice(&alen.to_be_bytes());
            finish_update(out, start);
            count += 1;
        }
    }
    Ok(count)
}

/// Append UPDATEs withdrawing `nlri`: the withdrawn routes field for IPv4,
/// MP_UNREACH_NLRI for IPv6. Returns the number of messages written.
pub fn pack_withdrawals(
    ctx: &EncodeCtx,
    family: Family,
    nlri: &[Nlri],
    out: &mut Vec<u8>,
) -> usize {
    let max = ctx.max_len();
    let add_path = ctx.add_path.contains(family);
    let mut rest = nlri;
    let mut count = 0;
    while !rest.is_empty() {
        let start = begin_update(out);
        let (fixed, vstart) = match family {
            Family::Ipv4Unicast => {
                out.extend_from_slice(&[0, 0]);
                (HEADER_LEN + 4, out.len())
            }
            Family::Ipv6Unicast => {
                out.extend_from_slice(&[0, 0, 0, 0]);
                out.extend_from_slice(&[
                    flags::OPTIONAL | flags::EXTENDED_LENGTH,
                    tc::MP_UNREACH_NLRI,
                    0,
                    0,
                ]);
                let v = out.len();
                out.extend_from_slice(&family.afi().code().to_be_bytes());
                out.push(family.safi().code());
                (HEADER_LEN + 4 + 4 + 3, v)
            }
        };
        let mut room = max - fixed;
        let mut n = 0;
        for e in rest {
            let l = entry_len(e, add_path);
            if l > room {
                break;
            }
            write_entry(e, add_path, out);
            room -= l;
            n += 1;
        }
        rest = &rest[n..];
        match family {
            Family::Ipv4Unicast => {
                let wlen = (out.len() - vstart) as u16;
                out[vstart - 2..vstart].copy_from_slice(&wlen.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            Family::Ipv6Unicast => {
                let vlen = (out.len() - vstart) as u16;
                out[vstart - 2..vstart].copy_from_slice(&vlen.to_be_bytes());
                let alen = (out.len() - vstart + 4) as u16;
                out[vstart - 6..vstart - 4].copy_from_slice(&alen.to_be_bytes());
            }
        }
        finish_update(out, start);
        count += 1;
    }
    count
}

/// Append an End-of-RIB marker (RFC 4724 §2).
pub fn write_end_of_rib(family: Family, out: &mut Vec<u8>) {
    let start = begin_update(out);
    match family {
        Family::Ipv4Unicast => out.extend_from_slice(&[0, 0, 0, 0]),
        Family::Ipv6Unicast => {
            out.extend_from_slice(&[0, 0, 0, 6, flags::OPTIONAL, tc::MP_UNREACH_NLRI, 3]);
            out.extend_from_slice(&family.afi().code().to_be_bytes());
            out.push(family.safi().code());
        }
    }
    finish_update(out, start);
}
