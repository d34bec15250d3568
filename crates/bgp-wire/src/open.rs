//! OPEN message and capabilities (RFC 4271 §4.2, RFC 5492, RFC 9072).
//!
//! Capabilities decoded into types: multiprotocol (RFC 4760), route refresh
//! (RFC 2918), enhanced route refresh (RFC 7313), 4-octet AS (RFC 6793),
//! ADD-PATH (RFC 7911), graceful restart (RFC 4724), extended messages
//! (RFC 8654), BGP role (RFC 9234), extended next hop (RFC 8950). Anything
//! else is kept as [`Capability::Unknown`] with its bytes, so that it can be
//! logged or shown. Negotiation (which capabilities both sides share) is the
//! session layer's job, not this module's.

use std::net::Ipv4Addr;

use crate::error::{code, subcode, Reset};
use crate::types::{Afi, Safi};
use crate::AS_TRANS;

/// ADD-PATH send/receive mode for one AFI/SAFI (RFC 7911 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddPathMode {
    /// The sender can receive multiple paths (1).
    Receive,
    /// The sender can send multiple paths (2).
    Send,
    /// Both (3).
    Both,
}

impl AddPathMode {
    fn from_code(v: u8) -> Option<AddPathMode> {
        match v {
            1 => Some(AddPathMode::Receive),
            2 => Some(AddPathMode::Send),
            3 => Some(AddPathMode::Both),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            AddPathMode::Receive => 1,
            AddPathMode::Send => 2,
            AddPathMode::Both => 3,
        }
    }

    /// Whether the speaker that sent this can receive multiple paths.
    pub fn can_receive(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }

    /// Whether the speaker that sent this can send multiple paths.
    pub fn can_send(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// BGP role (RFC 9234 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Provider (0).
    Provider,
    /// Route server (1).
    RouteServer,
    /// Route server client (2).
    RouteServerClient,
    /// Customer (3).
    Customer,
    /// Peer (4).
    Peer,
    /// A value this implementation does not know.
    Other(u8),
}

impl Role {
    fn from_code(v: u8) -> Role {
        match v {
            0 => Role::Provider,
            1 => Role::RouteServer,
            2 => Role::RouteServerClient,
            3 => Role::Customer,
            4 => Role::Peer,
            x => Role::Other(x),
        }
    }

    fn code(self) -> u8 {
        match self {
            Role::Provider => 0,
            Role::RouteServer => 1,
            Role::RouteServerClient => 2,
            Role::Customer => 3,
            Role::Peer => 4,
            Role::Other(x) => x,
        }
    }
}

/// Per-family part of the graceful restart capability (RFC 4724 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// Forwarding state preserved (the F bit).
    pub forwarding_preserved: bool,
}

/// One capability (RFC 5492 §4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol extensions (code 1, RFC 4760).
    Multiprotocol(Afi, Safi),
    /// Route refresh (code 2, RFC 2918).
    RouteRefresh,
    /// Extended next hop encoding (code 5, RFC 8950): (NLRI AFI, NLRI SAFI,
    /// next hop AFI) triples.
    ExtendedNextHop(Vec<(Afi, Safi, Afi)>),
    /// Extended messages (code 6, RFC 8654).
    ExtendedMessage,
    /// BGP role (code 9, RFC 9234).
    Role(Role),
    /// Graceful restart (code 64, RFC 4724).
    GracefulRestart {
        /// Restart state (R) bit.
        restarting: bool,
        /// Notification (N) bit, RFC 8538.
        notification: bool,
        /// Restart time in seconds (12 bits).
        time: u16,
        /// Families whose state is preserved.
        families: Vec<GracefulRestartFamily>,
    },
    /// 4-octet AS number support (code 65, RFC 6793), with the real AS.
    FourOctetAs(u32),
    /// ADD-PATH (code 69, RFC 7911).
    AddPath(Vec<(Afi, Safi, AddPathMode)>),
    /// Enhanced route refresh (code 70, RFC 7313).
    EnhancedRouteRefresh,
    /// Anything else, with its value bytes.
    Unknown(u8, Vec<u8>),
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(..) => 1,
            Capability::RouteRefresh => 2,
            Capability::ExtendedNextHop(_) => 5,
            Capability::ExtendedMessage => 6,
            Capability::Role(_) => 9,
            Capability::GracefulRestart { .. } => 64,
            Capability::FourOctetAs(_) => 65,
            Capability::AddPath(_) => 69,
            Capability::EnhancedRouteRefresh => 70,
            Capability::Unknown(c, _) => *c,
        }
    }

    fn decode(code: u8, v: &[u8]) -> Result<Capability, Reset> {
        let bad = |_| {
            Reset::new(
                code::OPEN,
                0,
                "malformed capability value in OPEN optional parameters",
            )
        };
        let need = |n: usize| if v.len() == n { Ok(()) } else { Err(()) };
        Ok(match code {
            1 => {
                need(4).map_err(bad)?;
                Capability::Multiprotocol(Afi::from(be16(v, 0)), Safi::from(v[3]))
            }
            2 => {
                need(0).map_err(bad)?;
                Capability::RouteRefresh
            }
            5 => {
                if v.len() % 6 != 0 {
                    return Err(bad(()));
                }
                Capability::ExtendedNextHop(
                    v.chunks_exact(6)
                        .map(|c| {
                            (
                                Afi::from(be16(c, 0)),
                                Safi::from(be16(c, 2) as u8),
                                Afi::from(be16(c, 4)),
                            )
                        })
                        .collect(),
                )
            }
            6 => {
                need(0).map_err(bad)?;
                Capability::ExtendedMessage
            }
            9 => {
                need(1).map_err(bad)?;
                Capability::Role(Role::from_code(v[0]))
            }
            64 => {
                if v.len() < 2 || (v.len() - 2) % 4 != 0 {
                    return Err(bad(()));
                }
                let hdr = be16(v, 0);
                Capability::GracefulRestart {
                    restarting: hdr & 0x8000 != 0,
                    notification: hdr & 0x4000 != 0,
                    time: hdr & 0x0fff,
                    families: v[2..]
                        .chunks_exact(4)
                        .map(|c| GracefulRestartFamily {
                            afi: Afi::from(be16(c, 0)),
                            safi: Safi::from(c[2]),
                            forwarding_preserved: c[3] & 0x80 != 0,
                        })
                        .collect(),
                }
            }
            65 => {
                need(4).map_err(bad)?;
                Capability::FourOctetAs(be32(v, 0))
            }
            69 => {
                if v.len() % 4 != 0 {
                    return Err(bad(()));
                }
                let mut out = Vec::with_capacity(v.len() / 4);
                for c in v.chunks_exact(4) {
                    let mode = AddPathMode::from_code(c[3]).ok_or_else(|| bad(()))?;
                    out.push((Afi::from(be16(c, 0)), Safi::from(c[2]), mode));
                }
                Capability::AddPath(out)
            }
            70 => {
                need(0).map_err(bad)?;
                Capability::EnhancedRouteRefresh
            }
            c => Capability::Unknown(c, v.to_vec()),
        })
    }

    fn encode_value(&self, out: &mut Vec<u8>) {
        match self {
            Capability::Multiprotocol(afi, safi) => {
                out.extend_from_slice(&afi.code().to_be_bytes());
                out.push(0);
                out.push(safi.code());
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::ExtendedNextHop(list) => {
                for (afi, safi, nh) in list {
                    out.extend_from_slice(&afi.code().to_be_bytes());
                    out.extend_from_slice(&u16::from(safi.code()).to_be_bytes());
                    out.extend_from_slice(&nh.code().to_be_bytes());
                }
            }
            Capability::Role(r) => out.push(r.code()),
            Capability::GracefulRestart {
                restarting,
                notification,
                time,
                families,
            } => {
                let mut hdr = *time & 0x0fff;
                if *restarting {
                    hdr |= 0x8000;
                }
                if *notification {
                    hdr |= 0x4000;
                }
                out.extend_from_slice(&hdr.to_be_bytes());
                for f in families {
                    out.extend_from_slice(&f.afi.code().to_be_bytes());
                    out.push(f.safi.code());
                    out.push(if f.forwarding_preserved { 0x80 } else { 0 });
                }
            }
            Capability::FourOctetAs(asn) => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::AddPath(list) => {
                for (afi, safi, mode) in list {
                    out.extend_from_slice(&afi.code().to_be_bytes());
                    out.push(safi.code());
                    out.push(mode.code());
                }
            }
            Capability::Unknown(_, v) => out.extend_from_slice(v),
        }
    }
}

/// An OPEN message (RFC 4271 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// BGP version; always 4 after a successful decode.
    pub version: u8,
    /// The "My Autonomous System" field: the 2-octet AS, or AS_TRANS.
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
    /// Optional parameters that are not capabilities (type, value); RFC 5492
    /// leaves them to the session layer, which normally rejects them.
    pub other_params: Vec<(u8, Vec<u8>)>,
}

impl Open {
    /// A version-4 OPEN for `asn` (4-octet ASNs go in the 4-octet AS
    /// capability, with AS_TRANS in the 2-octet field, RFC 6793 §4.1).
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, mut caps: Vec<Capability>) -> Open {
        if !caps.iter().any(|c| matches!(c, Capability::FourOctetAs(_))) {
            caps.push(Capability::FourOctetAs(asn));
        }
        Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            bgp_id,
            capabilities: caps,
            other_params: Vec::new(),
        }
    }

    /// The speaker's AS: from the 4-octet AS capability when present.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// Whether the capability with `code` was announced.
    pub fn has(&self, code: u8) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }

    /// Decode the body of an OPEN (after the 19-octet header).
    pub fn decode(body: &[u8]) -> Result<Open, Reset> {
        if body.len() < 10 {
            return Err(Reset::with_data(
                code::HEADER,
                subcode::BAD_MESSAGE_LENGTH,
                &((body.len() + crate::HEADER_LEN) as u16).to_be_bytes(),
                "OPEN shorter than 29 octets",
            ));
        }
        let version = body[0];
        if version != 4 {
            return Err(Reset::with_data(
                code::OPEN,
                subcode::UNSUPPORTED_VERSION,
                &4u16.to_be_bytes(),
                "peer speaks a BGP version other than 4",
            ));
        }
        let my_as = be16(body, 1);
        let hold_time = be16(body, 3);
        let bgp_id = Ipv4Addr::from(be32(body, 5));
        let mut opt_len = usize::from(body[9]);
        let mut pos = 10;
        // RFC 9072: an Optional Parameters Length of 255 followed by a
        // Non-Ext OP Type of 255 announces 2-octet lengths.
        let extended = opt_len == 255 && body.get(10) == Some(&255);
        if extended {
            if body.len() < 13 {
                return Err(open_malformed());
            }
            opt_len = usize::from(be16(body, 11));
            pos = 13;
        }
        if body.len() != pos + opt_len {
            return Err(open_malformed());
        }
        let mut capabilities = Vec::new();
        let mut other_params = Vec::new();
        let params = &body[pos..];
        let mut i = 0;
        while i < params.len() {
            let ptype = params[i];
            let (plen, hdr) = if extended {
                if i + 3 > params.len() {
                    return Err(open_malformed());
                }
                (usize::from(be16(params, i + 1)), 3)
            } else {
                if i + 2 > params.len() {
                    return Err(open_malformed());
                }
                (usize::from(params[i + 1]), 2)
            };
            let start = i + hdr;
            let end = start + plen;
            if end > params.len() {
                return Err(open_malformed());
            }
            let value = &params[start..end];
            if ptype == 2 {
                let mut j = 0;
                while j < value.len() {
                    if j + 2 > value.len() {
                        return Err(open_malformed());
                    }
                    let ccode = value[j];
                    let clen = usize::from(value[j + 1]);
                    let cend = j + 2 + clen;
                    if cend > value.len() {
                        return Err(open_malformed());
                    }
                    capabilities.push(Capability::decode(ccode, &value[j + 2..cend])?);
                    j = cend;
                }
            } else {
                other_params.push((ptype, value.to_vec()));
            }
            i = end;
        }
        Ok(Open {
            version,
            my_as,
            hold_time,
            bgp_id,
            capabilities,
            other_params,
        })
    }

    /// Append the body (without header). Each capability goes in an
    /// optional parameter of its own, as most implementations send them.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let mut params = Vec::with_capacity(64);
        let mut value = Vec::with_capacity(32);
        for cap in &self.capabilities {
            value.clear();
            cap.encode_value(&mut value);
            params.push(2);
            params.push((value.len() + 2) as u8);
            params.push(cap.code());
            params.push(value.len() as u8);
            params.extend_from_slice(&value);
        }
        for (t, v) in &self.other_params {
            params.push(*t);
            params.push(v.len() as u8);
            params.extend_from_slice(v);
        }
        if params.len() < 255 {
            out.push(params.len() as u8);
            out.extend_from_slice(&params);
        } else {
            // RFC 9072 extended optional parameters: re-encode with 2-octet
            // parameter lengths.
            out.push(255);
            out.push(255);
            let mut ext = Vec::with_capacity(params.len() + 16);
            for cap in &self.capabilities {
                value.clear();
                cap.encode_value(&mut value);
                ext.push(2);
                ext.extend_from_slice(&((value.len() + 2) as u16).to_be_bytes());
                ext.push(cap.code());
                ext.push(value.len() as u8);
                ext.extend_from_slice(&value);
            }
            for (t, v) in &self.other_params {
                ext.push(*t);
                ext.extend_from_slice(&(v.len() as u16).to_be_bytes());
                ext.extend_from_slice(v);
            }
            out.extend_from_slice(&(ext.len() as u16).to_be_bytes());
            out.extend_from_slice(&ext);
        }
    }
}

fn open_malformed() -> Reset {
    // RFC 4271 §6.2 gives no subcode for a malformed optional parameter
    // list; RFC 5492 practice (and BIRD, FRR) is subcode 0.
    Reset::new(code::OPEN, 0, "malformed OPEN optional parameters")
}

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
