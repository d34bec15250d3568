//! Owned path attributes and UPDATEs, for building messages and for tests.
//!
//! [`PathAttributes::from_view`] copies a decoded [`Attributes`] faithfully
//! (AS4_PATH and AGGREGATOR as received), and [`UpdateMessage::encode`]
//! writes one UPDATE. The hot path of the route server does not go through
//! these types: it re-emits received attribute bytes (see
//! [`crate::builder`]).
//!
//! Encoding is canonical: attributes in ascending type code order, the
//! extended length bit only for values over 255 octets, host bits of
//! prefixes zero. A received UPDATE in another but RFC-equivalent form
//! decodes to the same value and re-encodes to this form.

use std::net::Ipv4Addr;

use crate::aspath::AsPath;
use crate::attr::{flags, type_code as tc, Aggregator, Attributes, NextHop, Origin};
use crate::message::{msg_type, write_message};
use crate::nlri::write_entry;
use crate::types::{Family, FamilySet, Nlri};

/// How to encode: what was negotiated on the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeCtx {
    /// 4-octet AS numbers in AS_PATH and AGGREGATOR (RFC 6793).
    pub four_octet_as: bool,
    /// Families for which we send ADD-PATH path identifiers (RFC 7911).
    pub add_path: FamilySet,
    /// Extended messages negotiated (RFC 8654).
    pub extended_message: bool,
}

impl Default for EncodeCtx {
    fn default() -> Self {
        EncodeCtx {
            four_octet_as: true,
            add_path: FamilySet::EMPTY,
            extended_message: false,
        }
    }
}

impl EncodeCtx {
    /// Largest message this session accepts.
    pub fn max_len(&self) -> usize {
        if self.extended_message {
            crate::MAX_EXTENDED_LEN
        } else {
            crate::MAX_LEN
        }
    }
}

/// MP_REACH_NLRI content.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MpReachOwned {
    /// Family of the NLRI.
    pub family: Family,
    /// Next hop.
    pub next_hop: NextHop,
    /// Announced entries.
    pub nlri: Vec<Nlri>,
}

/// MP_UNREACH_NLRI content.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MpUnreachOwned {
    /// Family of the NLRI.
    pub family: Family,
    /// Withdrawn entries.
    pub nlri: Vec<Nlri>,
}

/// An attribute kept as bytes (unknown optional transitive ones).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// Flags as received, without the extended length bit: that one is
    /// recomputed on encode, so it is not part of the value.
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub value: Vec<u8>,
}

/// Every path attribute, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PathAttributes {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH with 32-bit ASNs.
    pub as_path: Option<AsPath>,
    /// AS4_PATH, as received on a 2-octet session (or to send on one).
    pub as4_path: Option<AsPath>,
    /// NEXT_HOP.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// AS4_AGGREGATOR.
    pub as4_aggregator: Option<Aggregator>,
    /// COMMUNITIES.
    pub communities: Vec<u32>,
    /// EXTENDED COMMUNITIES.
    pub ext_communities: Vec<[u8; 8]>,
    /// IPv6 Address Specific Extended Communities.
    pub ipv6_ext_communities: Vec<[u8; 20]>,
    /// LARGE_COMMUNITY.
    pub large_communities: Vec<[u32; 3]>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST.
    pub cluster_list: Vec<Ipv4Addr>,
    /// Only to Customer.
    pub otc: Option<u32>,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReachOwned>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreachOwned>,
    /// Unknown optional transitive attributes, in ascending type code order
    /// (the order they are encoded in; type codes are unique because
    /// repeated attributes are discarded on decode).
    pub unknown: Vec<RawAttribute>,
}

impl PathAttributes {
    /// A faithful owned copy of a decoded view. MP attributes of families
    /// this codec does not decode are left out.
    pub fn from_view(a: &Attributes<'_>) -> PathAttributes {
        let mut unknown: Vec<RawAttribute> = a
            .unknown()
            .map(|r| RawAttribute {
                flags: r.flags & !flags::EXTENDED_LENGTH,
                type_code: r.type_code,
                value: r.value.to_vec(),
            })
            .collect();
        unknown.sort_by_key(|u| u.type_code);
        PathAttributes {
            origin: a.origin,
            as_path: a.as_path.map(|p| p.to_owned_path()),
            as4_path: a.as4_path.map(|p| p.to_owned_path()),
            next_hop: a.next_hop,
            med: a.med,
            local_pref: a.local_pref,
            atomic_aggregate: a.atomic_aggregate,
            aggregator: a.aggregator,
            as4_aggregator: a.as4_aggregator,
            communities: a
                .communities
                .map(|c| c.iter().collect())
                .unwrap_or_default(),
            ext_communities: a
                .ext_communities
                .map(|c| c.iter().collect())
                .unwrap_or_default(),
            ipv6_ext_communities: a
                .ipv6_ext_communities
                .map(|v| {
                    v.chunks_exact(20)
                        .map(|c| {
                            let mut x = [0u8; 20];
                            x.copy_from_slice(c);
                            x
                        })
                        .collect()
                })
                .unwrap_or_default(),
            large_communities: a
                .large_communities
                .map(|c| c.iter().collect())
                .unwrap_or_default(),
            originator_id: a.originator_id,
            cluster_list: a
                .cluster_list
                .map(|v| {
                    v.chunks_exact(4)
                        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        .collect()
                })
                .unwrap_or_default(),
            otc: a.otc,
            mp_reach: a.mp_reach.and_then(|m| {
                let nlri = m.nlri?;
                Some(MpReachOwned {
                    family: nlri.family(),
                    next_hop: m.next_hop?,
                    nlri: nlri.iter().collect(),
                })
            }),
            mp_unreach: a.mp_unreach.and_then(|m| {
                let nlri = m.nlri?;
                Some(MpUnreachOwned {
                    family: nlri.family(),
                    nlri: nlri.iter().collect(),
                })
            }),
            unknown,
        }
    }

    /// Append every attribute, in ascending type code order.
    pub fn write(&self, ctx: &EncodeCtx, out: &mut Vec<u8>) {
        const WK: u8 = flags::TRANSITIVE;
        const OT: u8 = flags::OPTIONAL | flags::TRANSITIVE;
        const ON: u8 = flags::OPTIONAL;
        let mut unknown: Vec<&RawAttribute> = self.unknown.iter().collect();
        unknown.sort_by_key(|u| u.type_code);
        let mut unknown = unknown.into_iter().peekable();
        let mut flush_unknown_below = |t: u8, out: &mut Vec<u8>| {
            while let Some(u) = unknown.next_if(|u| u.type_code < t) {
                write_attr(out, u.flags, u.type_code, |o| o.extend_from_slice(&u.value));
            }
        };
        let four = ctx.four_octet_as;
        if let Some(o) = self.origin {
            write_attr(out, WK, tc::ORIGIN, |b| b.push(o.code()));
        }
        if let Some(p) = &self.as_path {
            write_attr(out, WK, tc::AS_PATH, |b| p.write(four, b));
        }
        if let Some(nh) = self.next_hop {
            write_attr(out, WK, tc::NEXT_HOP, |b| b.extend_from_slice(&nh.octets()));
        }
        if let Some(m) = self.med {
            write_attr(out, ON, tc::MED, |b| b.extend_from_slice(&m.to_be_bytes()));
        }
        if let Some(lp) = self.local_pref {
            write_attr(out, WK, tc::LOCAL_PREF, |b| {
                b.extend_from_slice(&lp.to_be_bytes())
            });
        }
        if self.atomic_aggregate {
            write_attr(out, WK, tc::ATOMIC_AGGREGATE, |_| {});
        }
        if let Some(agg) = self.aggregator {
            write_attr(out, OT, tc::AGGREGATOR, |b| {
                if four {
                    b.extend_from_slice(&agg.asn.to_be_bytes());
                } else {
                    let a = u16::try_from(agg.asn).unwrap_or(crate::AS_TRANS);
                    b.extend_from_slice(&a.to_be_bytes());
                }
                b.extend_from_slice(&agg.addr.octets());
            });
        }
        if !self.communities.is_empty() {
            write_attr(out, OT, tc::COMMUNITIES, |b| {
                for c in &self.communities {
                    b.extend_from_slice(&c.to_be_bytes());
                }
            });
        }
        if let Some(id) = self.originator_id {
            write_attr(out, ON, tc::ORIGINATOR_ID, |b| {
                b.extend_from_slice(&id.octets())
            });
        }
        if !self.cluster_list.is_empty() {
            write_attr(out, ON, tc::CLUSTER_LIST, |b| {
                for c in &self.cluster_list {
                    b.extend_from_slice(&c.octets());
                }
            });
        }
        flush_unknown_below(tc::MP_REACH_NLRI, out);
        if let Some(mp) = &self.mp_reach {
            let add_path = ctx.add_path.contains(mp.family);
            write_attr(out, ON, tc::MP_REACH_NLRI, |b| {
                b.extend_from_slice(&mp.family.afi().code().to_be_bytes());
                b.push(mp.family.safi().code());
                b.push(mp.next_hop.wire_len() as u8);
                mp.next_hop.write(b);
                b.push(0);
                for n in &mp.nlri {
                    write_entry(n, add_path, b);
                }
            });
        }
        if let Some(mp) = &self.mp_unreach {
            let add_path = ctx.add_path.contains(mp.family);
            write_attr(out, ON, tc::MP_UNREACH_NLRI, |b| {
                b.extend_from_slice(&mp.family.afi().code().to_be_bytes());
                b.push(mp.family.safi().code());
                for n in &mp.nlri {
                    write_entry(n, add_path, b);
                }
            });
        }
        if !self.ext_communities.is_empty() {
            write_attr(out, OT, tc::EXTENDED_COMMUNITIES, |b| {
                for c in &self.ext_communities {
                    b.extend_from_slice(c);
                }
            });
        }
        // AS4_* only on 2-octet sessions (RFC 6793 §4.2.2). When none was
        // given but the path needs it, derive it.
        if !four {
            let derived;
            let as4 = match (&self.as4_path, &self.as_path) {
                (Some(p), _) => Some(p),
                (None, Some(p)) if p.needs_four_octets() => {
                    derived = p.as4_path();
                    Some(&derived)
                }
                _ => None,
            };
            if let Some(p) = as4 {
                write_attr(out, OT, tc::AS4_PATH, |b| p.write(true, b));
            }
            let as4_agg = self
                .as4_aggregator
                .or(self.aggregator.filter(|a| a.asn > 0xffff));
            if let Some(agg) = as4_agg {
                write_attr(out, OT, tc::AS4_AGGREGATOR, |b| {
                    b.extend_from_slice(&agg.asn.to_be_bytes());
                    b.extend_from_slice(&agg.addr.octets());
                });
            }
        }
        flush_unknown_below(tc::IPV6_EXTENDED_COMMUNITIES, out);
        if !self.ipv6_ext_communities.is_empty() {
            write_attr(out, OT, tc::IPV6_EXTENDED_COMMUNITIES, |b| {
                for c in &self.ipv6_ext_communities {
                    b.extend_from_slice(c);
                }
            });
        }
        flush_unknown_below(tc::LARGE_COMMUNITIES, out);
        if !self.large_communities.is_empty() {
            write_attr(out, OT, tc::LARGE_COMMUNITIES, |b| {
                for c in &self.large_communities {
                    for x in c {
                        b.extend_from_slice(&x.to_be_bytes());
                    }
                }
            });
        }
        flush_unknown_below(tc::OTC, out);
        if let Some(otc) = self.otc {
            write_attr(out, OT, tc::OTC, |b| {
                b.extend_from_slice(&otc.to_be_bytes())
            });
        }
        flush_unknown_below(u8::MAX, out);
        // An unknown attribute with type code 255 is the only one left.
        for u in unknown {
            write_attr(out, u.flags, u.type_code, |o| o.extend_from_slice(&u.value));
        }
    }
}

/// Append one attribute TLV. The value is written in place and the length
/// field sized afterwards: 1 octet when the value fits, else the extended
/// length bit is set and 2 octets are used.
pub fn write_attr(out: &mut Vec<u8>, flag_bits: u8, t: u8, value: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[flag_bits & !flags::EXTENDED_LENGTH, t, 0]);
    value(out);
    let vlen = out.len() - start - 3;
    if vlen <= 255 {
        out[start + 2] = vlen as u8;
    } else {
        out[start] |= flags::EXTENDED_LENGTH;
        out.insert(start + 3, 0);
        out[start + 2..start + 4].copy_from_slice(&(vlen as u16).to_be_bytes());
    }
}

/// An owned UPDATE.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UpdateMessage {
    /// IPv4 withdrawn routes.
    pub withdrawn: Vec<Nlri>,
    /// Path attributes (MP_REACH / MP_UNREACH included).
    pub attributes: PathAttributes,
    /// IPv4 NLRI.
    pub nlri: Vec<Nlri>,
}

impl UpdateMessage {
    /// A faithful owned copy of a decoded UPDATE.
    pub fn from_view(u: &crate::update::Update<'_>) -> UpdateMessage {
        UpdateMessage {
            withdrawn: u.withdrawn.iter().collect(),
            attributes: PathAttributes::from_view(&u.attributes),
            nlri: u.nlri.iter().collect(),
        }
    }

    /// Append the whole message, header included. The caller keeps it under
    /// the session's maximum size; [`crate::builder`] packs large sets.
    pub fn encode(&self, ctx: &EncodeCtx, out: &mut Vec<u8>) {
        let add_path = ctx.add_path.contains(Family::Ipv4Unicast);
        write_message(out, msg_type::UPDATE, |b| {
            let wstart = b.len();
            b.extend_from_slice(&[0, 0]);
            for n in &self.withdrawn {
                write_entry(n, add_path, b);
            }
            let wlen = (b.len() - wstart - 2) as u16;
            b[wstart..wstart + 2].copy_from_slice(&wlen.to_be_bytes());
            let astart = b.len();
            b.extend_from_slice(&[0, 0]);
            self.attributes.write(ctx, b);
            let alen = (b.len() - astart - 2) as u16;
            b[astart..astart + 2].copy_from_slice(&alen.to_be_bytes());
            for n in &self.nlri {
                write_entry(n, add_path, b);
            }
        });
    }
}
