//! Compare bgp-wire with two independent BGP decoders, bgpkit-parser and
//! NLnet Labs' routecore, on the same bytes.
//!
//! [`Summary`] is a decoder-neutral description of one UPDATE: the announced
//! and withdrawn prefixes and the path attributes a route server cares about
//! (ORIGIN, AS_PATH, AS4_PATH, NEXT_HOP, the MP_REACH_NLRI next hop, MED,
//! LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES, LARGE_COMMUNITY).
//! [`bgp_wire_summary`], [`bgpkit_summary`] and [`routecore_summary`] fill it
//! from each decoder's own API, so the differential test compares what each
//! decoder *says*, not what a shared helper computes. [`gen`] builds the
//! UPDATEs the benchmark and the generated half of the differential test
//! use.
//!
//! Not compared: EXTENDED COMMUNITIES and unknown attributes (their
//! representations differ too much to normalise cheaply), RFC 7606 error
//! handling (bgpkit-parser and routecore do not classify errors the same
//! way; `crates/bgp-wire/tests/rfc7606.rs` checks ours against the RFC).
//!
//! This crate exists so that bgp-wire's own dev-dependencies stay lean: the
//! other decoders are only built here.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

pub mod gen;

/// What one decoder says about one UPDATE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Announced prefixes as `PREFIX` or `PREFIX#PATHID`, sorted.
    pub announced: Vec<String>,
    /// Withdrawn prefixes, same form, sorted.
    pub withdrawn: Vec<String>,
    /// ORIGIN code.
    pub origin: Option<u8>,
    /// AS_PATH as received (no AS4_PATH merge), as `SEQ(1 2) SET(3)`.
    pub as_path: Option<String>,
    /// AS4_PATH, same form (only meaningful on 2-octet sessions).
    pub as4_path: Option<String>,
    /// NEXT_HOP attribute.
    pub next_hop: Option<Ipv4Addr>,
    /// Next hop of MP_REACH_NLRI, as `GLOBAL` or `GLOBAL LINKLOCAL`.
    pub mp_next_hop: Option<String>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR as received (ASN in the session's width).
    pub aggregator: Option<(u32, Ipv4Addr)>,
    /// COMMUNITIES as 32-bit values, in received order.
    pub communities: Vec<u32>,
    /// LARGE_COMMUNITY values, in received order.
    pub large_communities: Vec<[u32; 3]>,
}

/// Session facts a decoder needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// 4-octet AS numbers.
    pub four_octet_as: bool,
    /// ADD-PATH path identifiers in every NLRI field.
    pub add_path: bool,
}

fn nlri_string(prefix: impl std::fmt::Display, path_id: Option<u32>) -> String {
    match path_id {
        Some(id) => format!("{prefix}#{id}"),
        None => prefix.to_string(),
    }
}

/// Segment type names used in [`Summary::as_path`].
fn segment_name(code: u8) -> &'static str {
    match code {
        1 => "SET",
        2 => "SEQ",
        3 => "CONFED_SEQ",
        4 => "CONFED_SET",
        _ => "?",
    }
}

fn push_segment(out: &mut String, code: u8, asns: impl Iterator<Item = u32>) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(segment_name(code));
    out.push('(');
    for (i, a) in asns.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{a}");
    }
    out.push(')');
}

/// A description of a full UPDATE message (header included) by bgp-wire.
/// Fails if bgp-wire rejects it or records an RFC 7606 issue.
pub fn bgp_wire_summary(msg: &[u8], s: Session) -> Result<Summary, String> {
    use bgp_wire::{DecodeCtx, FamilySet, Message};
    let ctx = DecodeCtx {
        four_octet_as: s.four_octet_as,
        add_path: if s.add_path {
            FamilySet::BOTH
        } else {
            FamilySet::EMPTY
        },
        // iBGP rules so that LOCAL_PREF is kept and compared.
        ebgp: false,
        extended_message: true,
    };
    let u = match Message::decode(msg, &ctx) {
        Ok(Message::Update(u)) => u,
        Ok(other) => return Err(format!("not an UPDATE: {other:?}")),
        Err(e) => return Err(e.to_string()),
    };
    if !u.issues.is_empty() {
        return Err(format!("RFC 7606 issues: {:?}", u.issues));
    }
    let id = |n: bgp_wire::Nlri| nlri_string(n.prefix, s.add_path.then_some(n.path_id));
    let mut announced: Vec<String> = u.announced().map(id).collect();
    let mut withdrawn: Vec<String> = u.withdrawals().map(id).collect();
    announced.sort();
    withdrawn.sort();
    let a = &u.attributes;
    let path = |p: bgp_wire::AsPathRef<'_>| {
        let mut out = String::new();
        for seg in p.segments() {
            push_segment(&mut out, seg.kind.code(), seg.asns());
        }
        out
    };
    Ok(Summary {
        announced,
        withdrawn,
        origin: a.origin.map(|o| o.code()),
        as_path: a.as_path.map(path),
        as4_path: a.as4_path.map(path),
        next_hop: a.next_hop,
        mp_next_hop: a.mp_reach.and_then(|m| m.next_hop).map(|nh| match nh {
            bgp_wire::NextHop::V4(a) => a.to_string(),
            bgp_wire::NextHop::V6 {
                global,
                link_local: None,
            } => global.to_string(),
            bgp_wire::NextHop::V6 {
                global,
                link_local: Some(ll),
            } => format!("{global} {ll}"),
        }),
        med: a.med,
        local_pref: a.local_pref,
        atomic_aggregate: a.atomic_aggregate,
        aggregator: a.aggregator.map(|g| (g.asn, g.addr)),
        communities: a
            .communities
            .map(|c| c.iter().collect())
            .unwrap_or_default(),
        large_communities: a
            .large_communities
            .map(|c| c.iter().collect())
            .unwrap_or_default(),
    })
}

/// The same description by bgpkit-parser (`parse_bgp_message`).
pub fn bgpkit_summary(msg: &[u8], s: Session) -> Result<Summary, String> {
    use bgpkit_parser::models::{
        AsPath, AsPathSegment, AsnLength, AttributeValue, BgpMessage, Community, NextHopAddress,
    };
    let mut data = bytes::Bytes::copy_from_slice(msg);
    let asn_len = if s.four_octet_as {
        AsnLength::Bits32
    } else {
        AsnLength::Bits16
    };
    let m =
        bgpkit_parser::parser::bgp::messages::parse_bgp_message(&mut data, s.add_path, &asn_len)
            .map_err(|e| e.to_string())?;
    let BgpMessage::Update(u) = m else {
        return Err("not an UPDATE".into());
    };
    if u.attributes.has_validation_warnings() {
        return Err(format!(
            "validation warnings: {:?}",
            u.attributes.validation_warnings()
        ));
    }
    let pfx = |p: &bgpkit_parser::models::NetworkPrefix| nlri_string(p.prefix, p.path_id);
    let mut out = Summary {
        announced: u.announced_prefixes.iter().map(pfx).collect(),
        withdrawn: u.withdrawn_prefixes.iter().map(pfx).collect(),
        ..Summary::default()
    };
    let path = |p: &AsPath| {
        let mut out = String::new();
        for seg in &p.segments {
            let (code, asns) = match seg {
                AsPathSegment::AsSet(v) => (1, v),
                AsPathSegment::AsSequence(v) => (2, v),
                AsPathSegment::ConfedSequence(v) => (3, v),
                AsPathSegment::ConfedSet(v) => (4, v),
            };
            push_segment(&mut out, code, asns.iter().map(|a| a.to_u32()));
        }
        out
    };
    for v in u.attributes.iter() {
        match v {
            AttributeValue::Origin(o) => out.origin = Some(*o as u8),
            AttributeValue::AsPath(p) => out.as_path = Some(path(p)),
            AttributeValue::As4Path(p) => out.as4_path = Some(path(p)),
            AttributeValue::NextHop(IpAddr::V4(a)) => out.next_hop = Some(*a),
            AttributeValue::NextHop(IpAddr::V6(a)) => {
                return Err(format!("IPv6 address {a} in NEXT_HOP"));
            }
            AttributeValue::MultiExitDiscriminator(m) => out.med = Some(*m),
            AttributeValue::LocalPreference(l) => out.local_pref = Some(*l),
            AttributeValue::AtomicAggregate => out.atomic_aggregate = true,
            AttributeValue::Aggregator { asn, id } => out.aggregator = Some((asn.to_u32(), *id)),
            AttributeValue::Communities(cs) => {
                out.communities = cs
                    .iter()
                    .map(|c| match c {
                        Community::NoExport => 0xffff_ff01,
                        Community::NoAdvertise => 0xffff_ff02,
                        Community::NoExportSubConfed => 0xffff_ff03,
                        Community::Custom(asn, v) => (asn.to_u32() << 16) | u32::from(*v),
                    })
                    .collect()
            }
            AttributeValue::LargeCommunities(ls) => {
                out.large_communities = ls
                    .iter()
                    .map(|l| [l.global_admin, l.local_data[0], l.local_data[1]])
                    .collect()
            }
            AttributeValue::MpReachNlri(n) => {
                out.announced.extend(n.prefixes.iter().map(pfx));
                out.mp_next_hop = n.next_hop.as_ref().map(|nh| match nh {
                    NextHopAddress::Ipv4(a) => a.to_string(),
                    NextHopAddress::Ipv6(a) => a.to_string(),
                    NextHopAddress::Ipv6LinkLocal(g, l) => format!("{g} {l}"),
                    other => format!("{other:?}"),
                });
            }
            AttributeValue::MpUnreachNlri(n) => out.withdrawn.extend(n.prefixes.iter().map(pfx)),
            _ => {}
        }
    }
    out.announced.sort();
    out.withdrawn.sort();
    Ok(out)
}

/// The same description by routecore (`UpdateMessage::from_octets` and its
/// accessors).
pub fn routecore_summary(msg: &[u8], s: Session) -> Result<Summary, String> {
    use routecore::bgp::message::update::SessionConfig;
    use routecore::bgp::message::UpdateMessage;
    use routecore::bgp::nlri::afisafi::{IsPrefix, Nlri};
    use routecore::bgp::nlri::nexthop::NextHop;
    if s.add_path {
        return Err("ADD-PATH is not set up for routecore here".into());
    }
    let cfg = if s.four_octet_as {
        SessionConfig::modern()
    } else {
        SessionConfig::legacy()
    };
    let e = |e: routecore::bgp::ParseError| e.to_string();
    let u = UpdateMessage::from_octets(msg, &cfg).map_err(e)?;
    let nlri = |n: Nlri<&[u8]>| -> String {
        match n {
            Nlri::Ipv4Unicast(p) => nlri_string(p.prefix(), None),
            Nlri::Ipv6Unicast(p) => nlri_string(p.prefix(), None),
            other => format!("{other}"),
        }
    };
    let mut announced = Vec::new();
    for n in u.announcements().map_err(e)? {
        announced.push(nlri(n.map_err(e)?));
    }
    let mut withdrawn = Vec::new();
    for n in u.withdrawals().map_err(e)? {
        withdrawn.push(nlri(n.map_err(e)?));
    }
    announced.sort();
    withdrawn.sort();
    let path = |p: routecore::bgp::aspath::AsPath<&[u8]>| {
        let mut out = String::new();
        for seg in p.segments() {
            // The segment type is private; its Display name is public.
            let code = match seg.to_string().split('(').next() {
                Some("AS_SET") => 1,
                Some("AS_SEQUENCE") => 2,
                Some("AS_CONFED_SEQUENCE") => 3,
                Some("AS_CONFED_SET") => 4,
                _ => 0,
            };
            push_segment(&mut out, code, seg.asns().map(|a| a.into_u32()));
        }
        out
    };
    Ok(Summary {
        announced,
        withdrawn,
        origin: u.origin().map_err(e)?.map(u8::from),
        as_path: u.aspath().map_err(e)?.map(path),
        as4_path: u.as4path().map_err(e)?.map(path),
        next_hop: match u.conventional_next_hop().map_err(e)? {
            Some(NextHop::Unicast(IpAddr::V4(a))) => Some(a),
            Some(other) => return Err(format!("odd NEXT_HOP {other:?}")),
            None => None,
        },
        mp_next_hop: match u.mp_next_hop().map_err(e)? {
            Some(NextHop::Unicast(a)) => Some(a.to_string()),
            Some(NextHop::Ipv6LL { global, link_local }) => Some(format!("{global} {link_local}")),
            Some(other) => Some(format!("{other:?}")),
            None => None,
        },
        med: u.multi_exit_disc().map_err(e)?.map(|m| m.0),
        local_pref: u.local_pref().map_err(e)?.map(|l| l.0),
        atomic_aggregate: u.is_atomic_aggregate().map_err(e)?,
        aggregator: u
            .aggregator()
            .map_err(e)?
            .map(|g| (g.asn().into_u32(), g.address())),
        communities: u
            .communities()
            .map_err(e)?
            .map(|c| c.map(|x| x.to_u32()).collect())
            .unwrap_or_default(),
        large_communities: u
            .large_communities()
            .map_err(e)?
            .map(|c| {
                c.map(|x| {
                    let r = x.to_raw();
                    let w = |i: usize| u32::from_be_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
                    [w(0), w(4), w(8)]
                })
                .collect()
            })
            .unwrap_or_default(),
    })
}

/// The AS path after RFC 6793 §4.2.3 reconstruction (AS_PATH merged with
/// AS4_PATH on a 2-octet session), by bgp-wire.
pub fn bgp_wire_effective_path(msg: &[u8], s: Session) -> Option<String> {
    use bgp_wire::{DecodeCtx, FamilySet, Message};
    let ctx = DecodeCtx {
        four_octet_as: s.four_octet_as,
        add_path: FamilySet::EMPTY,
        ebgp: false,
        extended_message: true,
    };
    let Ok(Message::Update(u)) = Message::decode(msg, &ctx) else {
        return None;
    };
    let p = u.attributes.effective_as_path()?;
    let mut out = String::new();
    for seg in &p.segments {
        push_segment(&mut out, seg.kind.code(), seg.asns.iter().copied());
    }
    Some(out)
}

/// The same by bgpkit-parser (`Attributes::effective_as_path`).
pub fn bgpkit_effective_path(msg: &[u8], s: Session) -> Option<String> {
    use bgpkit_parser::models::{AsPathSegment, AsnLength, BgpMessage};
    let mut data = bytes::Bytes::copy_from_slice(msg);
    let asn_len = if s.four_octet_as {
        AsnLength::Bits32
    } else {
        AsnLength::Bits16
    };
    let m =
        bgpkit_parser::parser::bgp::messages::parse_bgp_message(&mut data, false, &asn_len).ok()?;
    let BgpMessage::Update(u) = m else {
        return None;
    };
    let p = u.attributes.effective_as_path()?;
    let mut out = String::new();
    for seg in &p.segments {
        let (code, asns) = match seg {
            AsPathSegment::AsSet(v) => (1, v),
            AsPathSegment::AsSequence(v) => (2, v),
            AsPathSegment::ConfedSequence(v) => (3, v),
            AsPathSegment::ConfedSet(v) => (4, v),
        };
        push_segment(&mut out, code, asns.iter().map(|a| a.to_u32()));
    }
    Some(out)
}
