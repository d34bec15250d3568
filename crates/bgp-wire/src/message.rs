//! Message framing and the five message types (RFC 4271 §4, RFC 2918,
//! RFC 7313, RFC 8654).
//!
//! [`frame`] finds message boundaries in a TCP byte stream; [`Message::decode`]
//! decodes one complete message. Header errors map to the NOTIFICATION that
//! RFC 4271 §6.1 prescribes.

use crate::attr::DecodeCtx;
use crate::error::{code, subcode, Reset};
use crate::open::{be16, Open};
use crate::types::{Afi, Safi};
use crate::update::Update;
use crate::{HEADER_LEN, MAX_EXTENDED_LEN, MAX_LEN};

/// Message type codes (RFC 4271 §4.1, RFC 2918).
pub mod msg_type {
    /// OPEN.
    pub const OPEN: u8 = 1;
    /// UPDATE.
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION.
    pub const NOTIFICATION: u8 = 3;
    /// KEEPALIVE.
    pub const KEEPALIVE: u8 = 4;
    /// ROUTE-REFRESH.
    pub const ROUTE_REFRESH: u8 = 5;
}

/// A NOTIFICATION message (RFC 4271 §4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION from a decode error.
    pub fn from_reset(r: &Reset) -> Notification {
        Notification {
            code: r.code,
            subcode: r.subcode,
            data: r.data.clone(),
        }
    }

    /// A Cease with a shutdown communication (RFC 9003): at most 255 octets
    /// of UTF-8, cut at a character boundary.
    pub fn cease(subcode: u8, message: &str) -> Notification {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let mut data = Vec::with_capacity(end + 1);
        if !message.is_empty() {
            data.push(end as u8);
            data.extend_from_slice(&message.as_bytes()[..end]);
        }
        Notification {
            code: code::CEASE,
            subcode,
            data,
        }
    }

    /// The shutdown communication of an Administrative Shutdown or Reset
    /// Cease (RFC 9003 §2), if present and valid UTF-8.
    pub fn shutdown_message(&self) -> Option<&str> {
        if self.code != code::CEASE
            || !matches!(self.subcode, subcode::ADMIN_SHUTDOWN | subcode::ADMIN_RESET)
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok()
    }

    /// Append the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

/// A ROUTE-REFRESH message (RFC 2918 §3, RFC 7313 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRefresh {
    /// AFI.
    pub afi: Afi,
    /// SAFI.
    pub safi: Safi,
    /// Message subtype: 0 request, 1 BoRR, 2 EoRR (RFC 7313).
    pub subtype: u8,
}

impl RouteRefresh {
    /// Append the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.afi.code().to_be_bytes());
        out.push(self.subtype);
        out.push(self.safi.code());
    }
}

/// A decoded message; UPDATE borrows the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // UPDATE is the common case; boxing it would cost an allocation per message
pub enum Message<'a> {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update<'a>),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// Look at the start of a byte stream. Returns `Ok(None)` when more bytes
/// are needed, `Ok(Some(len))` when a complete message of `len` octets is
/// there, or the reset a bad header calls for. `max_len` is 4096, or 65535
/// once extended messages are negotiated (RFC 8654).
pub fn frame(buf: &[u8], max_len: usize) -> Result<Option<usize>, Reset> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[..16].iter().any(|&b| b != 0xff) {
        return Err(Reset::new(
            code::HEADER,
            subcode::CONNECTION_NOT_SYNCHRONIZED,
            "message marker is not all ones",
        ));
    }
    let len = usize::from(be16(buf, 16));
    let t = buf[18];
    // RFC 8654 §4: OPEN and KEEPALIVE never exceed 4096 octets.
    let max = match t {
        msg_type::OPEN | msg_type::KEEPALIVE => MAX_LEN,
        _ => max_len,
    };
    let min = match t {
        msg_type::OPEN => HEADER_LEN + 10,
        msg_type::UPDATE => HEADER_LEN + 4,
        msg_type::NOTIFICATION => HEADER_LEN + 2,
        msg_type::KEEPALIVE => HEADER_LEN,
        msg_type::ROUTE_REFRESH => HEADER_LEN + 4,
        _ => {
            return Err(Reset::with_data(
                code::HEADER,
                subcode::BAD_MESSAGE_TYPE,
                &[t],
                "unknown message type",
            ))
        }
    };
    let bad_keepalive = t == msg_type::KEEPALIVE && len != HEADER_LEN;
    if len < min || len > max || bad_keepalive {
        return Err(Reset::with_data(
            code::HEADER,
            subcode::BAD_MESSAGE_LENGTH,
            &buf[16..18],
            "message length is out of range for its type",
        ));
    }
    Ok((buf.len() >= len).then_some(len))
}

impl<'a> Message<'a> {
    /// Decode one complete message (header included).
    pub fn decode(msg: &'a [u8], ctx: &DecodeCtx) -> Result<Message<'a>, Reset> {
        let max = if ctx.extended_message {
            MAX_EXTENDED_LEN
        } else {
            MAX_LEN
        };
        match frame(msg, max)? {
            Some(len) if len == msg.len() => {}
            _ => {
                let field = if msg.len() >= 18 {
                    &msg[16..18]
                } else {
                    &[][..]
                };
                return Err(Reset::with_data(
                    code::HEADER,
                    subcode::BAD_MESSAGE_LENGTH,
                    field,
                    "message length field does not match the message",
                ));
            }
        }
        let body = &msg[HEADER_LEN..];
        Ok(match msg[18] {
            msg_type::OPEN => Message::Open(Open::decode(body)?),
            msg_type::UPDATE => Message::Update(Update::decode(body, ctx)?),
            msg_type::NOTIFICATION => Message::Notification(Notification {
                code: body[0],
                subcode: body[1],
                data: body[2..].to_vec(),
            }),
            msg_type::KEEPALIVE => Message::Keepalive,
            // `frame` accepts no other type; ROUTE-REFRESH is the last.
            _ => {
                let subtype = body[2];
                if body.len() != 4 {
                    return Err(if matches!(subtype, 1 | 2) {
                        Reset::with_data(
                            code::ROUTE_REFRESH,
                            subcode::INVALID_ROUTE_REFRESH_LENGTH,
                            msg,
                            "ROUTE-REFRESH body is not 4 octets",
                        )
                    } else {
                        Reset::with_data(
                            code::HEADER,
                            subcode::BAD_MESSAGE_LENGTH,
                            &msg[16..18],
                            "ROUTE-REFRESH body is not 4 octets",
                        )
                    });
                }
                Message::RouteRefresh(RouteRefresh {
                    afi: Afi::from(be16(body, 0)),
                    subtype,
                    safi: Safi::from(body[3]),
                })
            }
        })
    }
}

/// Append a message: header, then whatever `body` writes. The length field
/// is filled in afterwards.
pub fn write_message(out: &mut Vec<u8>, kind: u8, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&[0, 0, kind]);
    body(out);
    let len = (out.len() - start) as u16;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}

/// Append a KEEPALIVE.
pub fn write_keepalive(out: &mut Vec<u8>) {
    write_message(out, msg_type::KEEPALIVE, |_| {});
}

/// Append an OPEN.
pub fn write_open(out: &mut Vec<u8>, open: &Open) {
    write_message(out, msg_type::OPEN, |b| open.encode_body(b));
}

/// Append a NOTIFICATION.
pub fn write_notification(out: &mut Vec<u8>, n: &Notification) {
    write_message(out, msg_type::NOTIFICATION, |b| n.encode_body(b));
}

/// Append a ROUTE-REFRESH.
pub fn write_route_refresh(out: &mut Vec<u8>, r: &RouteRefresh) {
    write_message(out, msg_type::ROUTE_REFRESH, |b| r.encode_body(b));
}
