//! Path attributes: a zero-copy view with RFC 7606 error handling.
//!
//! [`Attributes::decode`] walks the path attribute field of an UPDATE once,
//! checks flags and lengths of every attribute it knows (RFC 4271 §5, RFC
//! 7606 §7, RFC 6793 §6, RFC 8092 §6, RFC 9234 §5) and keeps slices into the
//! message. Problems that RFC 7606 handles without a reset are recorded as
//! [`AttrIssue`]s; the ones that still require a reset (duplicate or
//! unparseable MP_REACH_NLRI / MP_UNREACH_NLRI, an unrecognized well-known
//! attribute) are returned as [`Reset`].
//!
//! Not done here: semantic checks that depend on the session or on policy
//! (first AS equals the peer AS, NEXT_HOP is the peer's address); those
//! belong to the route server.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::aspath::AsPathRef;
use crate::error::{code, subcode, AttrAction, AttrIssue, Reset};
use crate::nlri::NlriField;
use crate::open::{be16, be32};
use crate::types::{Afi, Family, FamilySet, Safi};

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod type_code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271, RFC 6793).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES (RFC 4360).
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// IPv6 Address Specific Extended Community (RFC 5701).
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITIES: u8 = 32;
    /// Only to Customer (RFC 9234).
    pub const OTC: u8 = 35;
}

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flags {
    /// Optional.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length (2-octet length field).
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

use type_code as tc;

/// How to decode: what was negotiated on the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeCtx {
    /// Both sides announced 4-octet AS support (RFC 6793).
    pub four_octet_as: bool,
    /// Families for which we receive ADD-PATH path identifiers (RFC 7911).
    pub add_path: FamilySet,
    /// The peer is in another AS (changes LOCAL_PREF handling, RFC 7606 §7.5).
    pub ebgp: bool,
    /// Extended messages negotiated (RFC 8654): 65535-octet messages.
    pub extended_message: bool,
}

impl Default for DecodeCtx {
    fn default() -> Self {
        DecodeCtx {
            four_octet_as: true,
            add_path: FamilySet::EMPTY,
            ebgp: true,
            extended_message: false,
        }
    }
}

/// ORIGIN values (RFC 4271 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// IGP (0).
    Igp,
    /// EGP (1).
    Egp,
    /// INCOMPLETE (2).
    Incomplete,
}

impl Origin {
    /// Wire value.
    pub fn code(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }

    fn from_code(v: u8) -> Option<Origin> {
        match v {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }
}

/// AGGREGATOR / AS4_AGGREGATOR value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aggregator {
    /// Aggregating AS.
    pub asn: u32,
    /// Aggregating router's identifier.
    pub addr: Ipv4Addr,
}

/// A next hop as carried in NEXT_HOP or MP_REACH_NLRI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NextHop {
    /// IPv4 next hop.
    V4(Ipv4Addr),
    /// IPv6 next hop, with the link-local one when 32 octets were sent
    /// (RFC 2545 §3).
    V6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address.
        link_local: Option<Ipv6Addr>,
    },
}

impl NextHop {
    /// Length of the MP_REACH next hop field.
    pub fn wire_len(&self) -> usize {
        match self {
            NextHop::V4(_) => 4,
            NextHop::V6 {
                link_local: None, ..
            } => 16,
            NextHop::V6 { .. } => 32,
        }
    }

    /// Append the MP_REACH next hop field (without its length octet).
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            NextHop::V4(a) => out.extend_from_slice(&a.octets()),
            NextHop::V6 { global, link_local } => {
                out.extend_from_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.extend_from_slice(&ll.octets());
                }
            }
        }
    }

    fn parse(family: Family, raw: &[u8]) -> Option<NextHop> {
        let v6 = |b: &[u8]| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            Ipv6Addr::from(a)
        };
        match (family, raw.len()) {
            (Family::Ipv4Unicast, 4) => {
                Some(NextHop::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])))
            }
            // RFC 8950: IPv4 NLRI with an IPv6 next hop.
            (_, 16) => Some(NextHop::V6 {
                global: v6(raw),
                link_local: None,
            }),
            (_, 32) => Some(NextHop::V6 {
                global: v6(raw),
                link_local: Some(v6(&raw[16..])),
            }),
            _ => None,
        }
    }
}

/// MP_REACH_NLRI view (RFC 4760 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpReach<'a> {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// The next hop; `None` only for families this codec does not decode (a
    /// length that does not fit a decoded family resets the session, RFC
    /// 7606 §7.11).
    pub next_hop: Option<NextHop>,
    /// The NLRI, for the families we decode; `None` for other families.
    pub nlri: Option<NlriField<'a>>,
}

/// MP_UNREACH_NLRI view (RFC 4760 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpUnreach<'a> {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// Withdrawn routes, for the families we decode.
    pub nlri: Option<NlriField<'a>>,
}

/// One attribute as received: flags, type code, value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawAttr<'a> {
    /// Flags octet as received.
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub value: &'a [u8],
    /// The whole TLV (flags, type, length, value) as received.
    pub tlv: &'a [u8],
}

/// A communities value (RFC 1997): a view over 4-octet entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Communities<'a>(&'a [u8]);

impl<'a> Communities<'a> {
    /// Entries as (high, low) 16-bit halves packed in a u32.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.0.chunks_exact(4).map(|c| be32(c, 0))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `c` is present.
    pub fn contains(&self, c: u32) -> bool {
        self.iter().any(|x| x == c)
    }
}

/// An extended communities value (RFC 4360): 8-octet entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtCommunities<'a>(&'a [u8]);

impl<'a> ExtCommunities<'a> {
    /// Entries.
    pub fn iter(&self) -> impl Iterator<Item = [u8; 8]> + 'a {
        self.0.chunks_exact(8).map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            a
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A large communities value (RFC 8092): 12-octet entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LargeCommunities<'a>(&'a [u8]);

impl<'a> LargeCommunities<'a> {
    /// Entries as (global administrator, local data 1, local data 2).
    pub fn iter(&self) -> impl Iterator<Item = [u32; 3]> + 'a {
        self.0
            .chunks_exact(12)
            .map(|c| [be32(c, 0), be32(c, 4), be32(c, 8)])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len() / 12
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The path attributes of one UPDATE, decoded as views into the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes<'a> {
    raw: &'a [u8],
    /// Whether the attribute list was cut short by a length error; what
    /// follows the error point was not read.
    truncated_at: Option<usize>,
    accepted: [u64; 4],
    four_octet_as: bool,
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH, with the session's ASN width.
    pub as_path: Option<AsPathRef<'a>>,
    /// AS4_PATH (only kept on 2-octet sessions).
    pub as4_path: Option<AsPathRef<'a>>,
    /// NEXT_HOP.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR, ASN widened to 32 bits.
    pub aggregator: Option<Aggregator>,
    /// AS4_AGGREGATOR (only kept on 2-octet sessions).
    pub as4_aggregator: Option<Aggregator>,
    /// COMMUNITIES.
    pub communities: Option<Communities<'a>>,
    /// EXTENDED COMMUNITIES.
    pub ext_communities: Option<ExtCommunities<'a>>,
    /// IPv6 Address Specific Extended Community, raw 20-octet entries.
    pub ipv6_ext_communities: Option<&'a [u8]>,
    /// LARGE_COMMUNITY.
    pub large_communities: Option<LargeCommunities<'a>>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST, raw 4-octet entries.
    pub cluster_list: Option<&'a [u8]>,
    /// Only to Customer.
    pub otc: Option<u32>,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReach<'a>>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreach<'a>>,
}

fn is_known(t: u8) -> bool {
    matches!(
        t,
        tc::ORIGIN
            | tc::AS_PATH
            | tc::NEXT_HOP
            | tc::MED
            | tc::LOCAL_PREF
            | tc::ATOMIC_AGGREGATE
            | tc::AGGREGATOR
            | tc::COMMUNITIES
            | tc::ORIGINATOR_ID
            | tc::CLUSTER_LIST
            | tc::MP_REACH_NLRI
            | tc::MP_UNREACH_NLRI
            | tc::EXTENDED_COMMUNITIES
            | tc::AS4_PATH
            | tc::AS4_AGGREGATOR
            | tc::IPV6_EXTENDED_COMMUNITIES
            | tc::LARGE_COMMUNITIES
            | tc::OTC
    )
}

/// The optional and transitive bits a known attribute must carry.
fn expected_flags(t: u8) -> u8 {
    const OPT: u8 = flags::OPTIONAL;
    const TRANS: u8 = flags::TRANSITIVE;
    match t {
        tc::ORIGIN | tc::AS_PATH | tc::NEXT_HOP | tc::LOCAL_PREF | tc::ATOMIC_AGGREGATE => TRANS,
        tc::MED
        | tc::ORIGINATOR_ID
        | tc::CLUSTER_LIST
        | tc::MP_REACH_NLRI
        | tc::MP_UNREACH_NLRI => OPT,
        _ => OPT | TRANS,
    }
}

/// What to do when a known attribute is malformed (RFC 7606 §7, RFC 6793 §6).
fn malformed_action(t: u8, ebgp: bool) -> AttrAction {
    match t {
        tc::ATOMIC_AGGREGATE | tc::AGGREGATOR | tc::AS4_PATH | tc::AS4_AGGREGATOR => {
            AttrAction::Discard
        }
        tc::LOCAL_PREF if ebgp => AttrAction::Discard,
        _ => AttrAction::TreatAsWithdraw,
    }
}

fn set_bit(bits: &mut [u64; 4], t: u8) -> bool {
    let (w, b) = (usize::from(t >> 6), t & 63);
    let was = bits[w] & (1 << b) != 0;
    bits[w] |= 1 << b;
    was
}

fn has_bit(bits: &[u64; 4], t: u8) -> bool {
    bits[usize::from(t >> 6)] & (1 << (t & 63)) != 0
}

fn clear_bit(bits: &mut [u64; 4], t: u8) {
    bits[usize::from(t >> 6)] &= !(1 << (t & 63));
}

/// Iterator over the TLVs of a path attribute field, stopping at the first
/// structural error.
#[derive(Clone, Debug)]
pub struct RawAttrIter<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> RawAttrIter<'a> {
    /// Iterate over `raw`.
    pub fn new(raw: &'a [u8]) -> RawAttrIter<'a> {
        RawAttrIter { raw, pos: 0 }
    }

    /// Next TLV, or `Err(pos)` where the structure breaks.
    fn next_tlv(&mut self) -> Option<Result<RawAttr<'a>, usize>> {
        let raw = self.raw;
        let i = self.pos;
        if i >= raw.len() {
            return None;
        }
        let rem = raw.len() - i;
        if rem < 3 {
            self.pos = raw.len();
            return Some(Err(i));
        }
        let fl = raw[i];
        let t = raw[i + 1];
        let (len, hdr) = if fl & flags::EXTENDED_LENGTH != 0 {
            if rem < 4 {
                self.pos = raw.len();
                return Some(Err(i));
            }
            (usize::from(be16(raw, i + 2)), 4)
        } else {
            (usize::from(raw[i + 2]), 3)
        };
        let end = i + hdr + len;
        if end > raw.len() {
            self.pos = raw.len();
            return Some(Err(i));
        }
        self.pos = end;
        Some(Ok(RawAttr {
            flags: fl,
            type_code: t,
            value: &raw[i + hdr..end],
            tlv: &raw[i..end],
        }))
    }
}

impl<'a> Iterator for RawAttrIter<'a> {
    type Item = RawAttr<'a>;

    fn next(&mut self) -> Option<RawAttr<'a>> {
        self.next_tlv()?.ok()
    }
}

impl<'a> Attributes<'a> {
    /// Decode a path attribute field. `issues` receives the non-fatal
    /// problems; the caller decides what treat-as-withdraw means for the
    /// UPDATE at hand.
    pub fn decode(
        raw: &'a [u8],
        ctx: &DecodeCtx,
        issues: &mut Vec<AttrIssue>,
    ) -> Result<Attributes<'a>, Reset> {
        let mut a = Attributes {
            raw,
            four_octet_as: ctx.four_octet_as,
            ..Attributes::default()
        };
        let mut seen = [0u64; 4];
        let mut it = RawAttrIter::new(raw);
        while let Some(item) = it.next_tlv() {
            let attr = match item {
                Ok(attr) => attr,
                Err(pos) => {
                    // RFC 7606 §4: the Total Path Attribute Length is relied
                    // upon to find the NLRI; the UPDATE is treat-as-withdraw.
                    a.truncated_at = Some(pos);
                    issues.push(AttrIssue {
                        type_code: 0,
                        action: AttrAction::TreatAsWithdraw,
                        reason: "attribute length overruns the path attribute field",
                    });
                    break;
                }
            };
            let t = attr.type_code;
            if set_bit(&mut seen, t) {
                if t == tc::MP_REACH_NLRI || t == tc::MP_UNREACH_NLRI {
                    // RFC 7606 §3 g.
                    return Err(Reset::new(
                        code::UPDATE,
                        subcode::MALFORMED_ATTRIBUTE_LIST,
                        "MP_REACH_NLRI or MP_UNREACH_NLRI appears twice",
                    ));
                }
                issues.push(AttrIssue {
                    type_code: t,
                    action: AttrAction::Discard,
                    reason: "attribute appears more than once; later copies discarded",
                });
                continue;
            }
            if !is_known(t) {
                if attr.flags & flags::OPTIONAL == 0 {
                    // RFC 4271 §6.3, not revised by RFC 7606.
                    return Err(Reset::with_data(
                        code::UPDATE,
                        subcode::UNRECOGNIZED_WELL_KNOWN,
                        attr.tlv,
                        "unrecognized well-known attribute",
                    ));
                }
                // Optional transitive: kept and passed on; optional
                // non-transitive: quietly ignored (RFC 4271 §5).
                if attr.flags & flags::TRANSITIVE != 0 {
                    set_bit(&mut a.accepted, t);
                }
                continue;
            }
            let flag_bits = attr.flags & (flags::OPTIONAL | flags::TRANSITIVE);
            if flag_bits != expected_flags(t) {
                issues.push(AttrIssue {
                    type_code: t,
                    action: malformed_action(t, ctx.ebgp),
                    reason: "attribute flags conflict with the attribute type",
                });
                if t != tc::MP_REACH_NLRI && t != tc::MP_UNREACH_NLRI {
                    continue;
                }
            }
            match a.decode_one(t, attr.value, ctx) {
                Ok(()) => {
                    set_bit(&mut a.accepted, t);
                }
                Err(Malformed::Issue(reason)) => issues.push(AttrIssue {
                    type_code: t,
                    action: malformed_action(t, ctx.ebgp),
                    reason,
                }),
                Err(Malformed::Reset(mut r)) => {
                    // RFC 4271 §6.3: an Optional Attribute Error carries the
                    // attribute (type, length and value) as data.
                    if r.subcode == subcode::OPTIONAL_ATTRIBUTE {
                        r.data = attr.tlv.to_vec();
                    }
                    return Err(r);
                }
            }
        }
        // RFC 6793 §4.1: a NEW speaker ignores AS4_* from a NEW speaker.
        if ctx.four_octet_as {
            for t in [tc::AS4_PATH, tc::AS4_AGGREGATOR] {
                if has_bit(&a.accepted, t) {
                    clear_bit(&mut a.accepted, t);
                    issues.push(AttrIssue {
                        type_code: t,
                        action: AttrAction::Discard,
                        reason: "AS4_PATH/AS4_AGGREGATOR received on a 4-octet AS session",
                    });
                }
            }
            a.as4_path = None;
            a.as4_aggregator = None;
        }
        Ok(a)
    }

    fn decode_one(&mut self, t: u8, v: &'a [u8], ctx: &DecodeCtx) -> Result<(), Malformed> {
        let len_is = |n: usize, why: &'static str| {
            if v.len() == n {
                Ok(())
            } else {
                Err(Malformed::Issue(why))
            }
        };
        let multiple_of = |n: usize, why: &'static str| {
            if !v.is_empty() && v.len() % n == 0 {
                Ok(())
            } else {
                Err(Malformed::Issue(why))
            }
        };
        match t {
            tc::ORIGIN => {
                len_is(1, "ORIGIN length is not 1")?;
                self.origin = Some(
                    Origin::from_code(v[0]).ok_or(Malformed::Issue("ORIGIN value is undefined"))?,
                );
            }
            tc::AS_PATH => {
                let p = AsPathRef::new(v, ctx.four_octet_as)
                    .map_err(|e| Malformed::Issue(e.as_str()))?;
                if ctx.ebgp && p.has_confed() {
                    // RFC 5065 §5.
                    return Err(Malformed::Issue(
                        "AS_PATH from an external peer has a confederation segment",
                    ));
                }
                self.as_path = Some(p);
            }
            tc::NEXT_HOP => {
                len_is(4, "NEXT_HOP length is not 4")?;
                self.next_hop = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3]));
            }
            tc::MED => {
                len_is(4, "MULTI_EXIT_DISC length is not 4")?;
                self.med = Some(be32(v, 0));
            }
            tc::LOCAL_PREF => {
                if ctx.ebgp {
                    // RFC 7606 §7.5: from an external peer it is discarded.
                    return Err(Malformed::Issue("LOCAL_PREF from an external peer"));
                }
                len_is(4, "LOCAL_PREF length is not 4")?;
                self.local_pref = Some(be32(v, 0));
            }
            tc::ATOMIC_AGGREGATE => {
                len_is(0, "ATOMIC_AGGREGATE length is not 0")?;
                self.atomic_aggregate = true;
            }
            tc::AGGREGATOR => {
                self.aggregator = Some(if ctx.four_octet_as {
                    len_is(8, "AGGREGATOR length is not 8 on a 4-octet AS session")?;
                    Aggregator {
                        asn: be32(v, 0),
                        addr: Ipv4Addr::from(be32(v, 4)),
                    }
                } else {
                    len_is(6, "AGGREGATOR length is not 6 on a 2-octet AS session")?;
                    Aggregator {
                        asn: u32::from(be16(v, 0)),
                        addr: Ipv4Addr::from(be32(v, 2)),
                    }
                });
            }
            tc::AS4_AGGREGATOR => {
                len_is(8, "AS4_AGGREGATOR length is not 8")?;
                self.as4_aggregator = Some(Aggregator {
                    asn: be32(v, 0),
                    addr: Ipv4Addr::from(be32(v, 4)),
                });
            }
            tc::COMMUNITIES => {
                multiple_of(4, "COMMUNITIES length is not a non-zero multiple of 4")?;
                self.communities = Some(Communities(v));
            }
            tc::ORIGINATOR_ID => {
                len_is(4, "ORIGINATOR_ID length is not 4")?;
                self.originator_id = Some(Ipv4Addr::from(be32(v, 0)));
            }
            tc::CLUSTER_LIST => {
                multiple_of(4, "CLUSTER_LIST length is not a non-zero multiple of 4")?;
                self.cluster_list = Some(v);
            }
            tc::EXTENDED_COMMUNITIES => {
                multiple_of(
                    8,
                    "EXTENDED COMMUNITIES length is not a non-zero multiple of 8",
                )?;
                self.ext_communities = Some(ExtCommunities(v));
            }
            tc::IPV6_EXTENDED_COMMUNITIES => {
                multiple_of(
                    20,
                    "IPv6 extended communities length is not a non-zero multiple of 20",
                )?;
                self.ipv6_ext_communities = Some(v);
            }
            tc::LARGE_COMMUNITIES => {
                multiple_of(
                    12,
                    "LARGE_COMMUNITY length is not a non-zero multiple of 12",
                )?;
                self.large_communities = Some(LargeCommunities(v));
            }
            tc::AS4_PATH => {
                let p = AsPathRef::new(v, true).map_err(|e| Malformed::Issue(e.as_str()))?;
                self.as4_path = Some(p);
            }
            tc::OTC => {
                len_is(4, "OTC length is not 4")?;
                self.otc = Some(be32(v, 0));
            }
            tc::MP_REACH_NLRI => self.decode_mp_reach(v, ctx)?,
            tc::MP_UNREACH_NLRI => {
                if v.len() < 3 {
                    return Err(Malformed::Reset(mp_reset("MP_UNREACH_NLRI shorter than 3")));
                }
                let afi = Afi::from(be16(v, 0));
                let safi = Safi::from(v[2]);
                let nlri = match Family::from_afi_safi(afi, safi) {
                    Some(f) => Some(
                        NlriField::new(&v[3..], f, ctx.add_path.contains(f)).map_err(|_| {
                            Malformed::Reset(mp_reset("MP_UNREACH_NLRI withdrawn routes malformed"))
                        })?,
                    ),
                    None => None,
                };
                self.mp_unreach = Some(MpUnreach { afi, safi, nlri });
            }
            _ => {}
        }
        Ok(())
    }

    fn decode_mp_reach(&mut self, v: &'a [u8], ctx: &DecodeCtx) -> Result<(), Malformed> {
        if v.len() < 5 {
            return Err(Malformed::Reset(mp_reset("MP_REACH_NLRI shorter than 5")));
        }
        let afi = Afi::from(be16(v, 0));
        let safi = Safi::from(v[2]);
        let nh_len = usize::from(v[3]);
        // Next hop, then one reserved octet, then NLRI.
        if 4 + nh_len + 1 > v.len() {
            return Err(Malformed::Reset(mp_reset(
                "MP_REACH_NLRI next hop length overruns the attribute",
            )));
        }
        let nh_raw = &v[4..4 + nh_len];
        let nlri_raw = &v[4 + nh_len + 1..];
        let family = Family::from_afi_safi(afi, safi);
        let (next_hop, nlri) = match family {
            Some(f) => {
                let nlri = NlriField::new(nlri_raw, f, ctx.add_path.contains(f))
                    .map_err(|_| Malformed::Reset(mp_reset("MP_REACH_NLRI NLRI malformed")))?;
                (NextHop::parse(f, nh_raw), Some(nlri))
            }
            None => (None, None),
        };
        self.mp_reach = Some(MpReach {
            afi,
            safi,
            next_hop,
            nlri,
        });
        if family.is_some() && next_hop.is_none() {
            // RFC 7606 §7.11: "Since the next hop precedes the NLRI field in
            // the attribute, in this case it will not be possible to reliably
            // locate the NLRI; thus, the 'session reset' or 'AFI/SAFI
            // disable' approach MUST be used."
            return Err(Malformed::Reset(mp_reset(
                "MP_REACH_NLRI next hop length does not fit the address family",
            )));
        }
        Ok(())
    }

    /// The raw path attribute field.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the ASNs of AS_PATH and AGGREGATOR are 4 octets wide.
    pub fn four_octet_as(&self) -> bool {
        self.four_octet_as
    }

    /// Whether the attribute list broke before its end (RFC 7606 §4).
    pub fn is_truncated(&self) -> bool {
        self.truncated_at.is_some()
    }

    /// Whether an attribute with type code `t` was received and kept.
    pub fn has(&self, t: u8) -> bool {
        has_bit(&self.accepted, t)
    }

    /// Every attribute TLV that was kept, in the received order: the first
    /// copy of each, without the discarded ones.
    pub fn kept(&self) -> impl Iterator<Item = RawAttr<'a>> + '_ {
        let end = self.truncated_at.unwrap_or(self.raw.len());
        let mut seen = [0u64; 4];
        RawAttrIter::new(&self.raw[..end]).filter(move |a| {
            !set_bit(&mut seen, a.type_code) && has_bit(&self.accepted, a.type_code)
        })
    }

    /// Attributes this implementation does not know but keeps (optional
    /// transitive), in received order.
    pub fn unknown(&self) -> impl Iterator<Item = RawAttr<'a>> + '_ {
        self.kept().filter(|a| !is_known(a.type_code))
    }

    /// The AS path with 32-bit ASNs: on a 2-octet session, AS_PATH merged with
    /// AS4_PATH per RFC 6793 §4.2.3. AS4_PATH is ignored only when AGGREGATOR
    /// and AS4_AGGREGATOR were *both* received and AGGREGATOR names an AS
    /// other than AS_TRANS ("When both of the attributes are received, if
    /// the AS number in the AGGREGATOR attribute is not AS_TRANS, then the
    /// AS4_AGGREGATOR attribute and the AS4_PATH attribute SHALL be
    /// ignored"); an AGGREGATOR alone does not cancel AS4_PATH.
    pub fn effective_as_path(&self) -> Option<crate::aspath::AsPath> {
        let p = self.as_path?.to_owned_path();
        if self.four_octet_as {
            return Some(p);
        }
        if let (Some(agg), Some(_)) = (self.aggregator, self.as4_aggregator) {
            if agg.asn != u32::from(crate::AS_TRANS) {
                return Some(p);
            }
        }
        match self.as4_path {
            Some(p4) => Some(crate::aspath::reconstruct(&p, &p4.to_owned_path())),
            None => Some(p),
        }
    }

    /// The aggregator with a 32-bit ASN: AS4_AGGREGATOR when AGGREGATOR
    /// carries AS_TRANS (RFC 6793 §4.2.3).
    pub fn effective_aggregator(&self) -> Option<Aggregator> {
        let agg = self.aggregator?;
        if !self.four_octet_as && agg.asn == u32::from(crate::AS_TRANS) {
            if let Some(a4) = self.as4_aggregator {
                return Some(a4);
            }
        }
        Some(agg)
    }
}

enum Malformed {
    Issue(&'static str),
    Reset(Reset),
}

fn mp_reset(reason: &'static str) -> Reset {
    // RFC 7606 §5.3 / §7.11: when MP NLRI cannot be parsed the session is
    // reset (AFI/SAFI disable is not implemented).
    Reset::new(code::UPDATE, subcode::OPTIONAL_ATTRIBUTE, reason)
}
