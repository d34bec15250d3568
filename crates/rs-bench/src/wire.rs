//! The lean BGP peer under the load generator and the sink: `bgp-session`
//! runs the OPEN exchange (RFC 4271 §8, capabilities negotiated as in the
//! route server), and from Established on the connection is handled here
//! with no state machine in the way: complete messages are framed in place
//! in one large read buffer, UPDATEs are walked without building owned
//! values, nothing is allocated per message, and reading and writing are
//! separate tasks, so a peer whose socket is full never stops reading.
//!
//! What it does not do after Established: hold timer checks (the
//! connection closing or a NOTIFICATION ends the session), ROUTE-REFRESH,
//! RFC 7606 handling. That is enough for a benchmark against well-behaved
//! daemons and keeps the generator's own cost out of the figures.

use std::time::{Duration, Instant};

use bgp_session::{Direction, Input, Negotiated, Output, Session};
use bgp_wire::message::frame;
use bgp_wire::{Family, Nlri, NlriField};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A KEEPALIVE message (RFC 4271 §4.4).
pub const KEEPALIVE: [u8; 19] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0, 19, 4,
];

/// BGP message types (RFC 4271 §4.1).
pub mod msg_type {
    /// UPDATE.
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION.
    pub const NOTIFICATION: u8 = 3;
}

/// A NOTIFICATION Cease (RFC 4271 §6.7) with `subcode` (RFC 4486).
pub fn cease(subcode: u8) -> [u8; 21] {
    let mut m = [0xff; 21];
    m[16] = 0;
    m[17] = 21;
    m[18] = msg_type::NOTIFICATION;
    m[19] = 6;
    m[20] = subcode;
    m
}

/// Message framing over one large buffer: bytes are read behind the
/// unread ones, messages are handed out as slices of the buffer, and the
/// unread tail moves to the front only when the buffer is full.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    max: usize,
}

impl Framer {
    /// A framer with a `cap`-byte buffer for messages of at most 4,096
    /// octets until [`Framer::set_max`].
    pub fn new(cap: usize) -> Framer {
        Framer {
            buf: vec![0; cap.max(1 << 17)],
            start: 0,
            end: 0,
            max: 4096,
        }
    }

    /// The largest message accepted (65,535 with RFC 8654 extended
    /// messages).
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Read once from `r`; Ok(0) when the peer closed.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> std::io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < 65536 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let Some(room) = self.buf.get_mut(self.end..) else {
            return Ok(0);
        };
        let n = r.read(room).await?;
        self.end += n;
        Ok(n)
    }

    /// The next complete message, if one is buffered; Err on a framing
    /// error (bad marker or length).
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, String> {
        let rest = self.buf.get(self.start..self.end).unwrap_or(&[]);
        match frame(rest, self.max) {
            Ok(Some(len)) => {
                let at = self.start;
                self.start += len;
                Ok(self.buf.get(at..at + len))
            }
            Ok(None) => Ok(None),
            Err(r) => Err(format!("framing error: {}", r.reason)),
        }
    }
}

/// Run the OPEN exchange of `session` on `stream`, feeding it one
/// complete message at a time so that everything after the message that
/// made it Established stays in `framer`. Gives up after `limit`.
pub async fn handshake(
    session: &mut Session,
    stream: &mut TcpStream,
    dir: Direction,
    framer: &mut Framer,
    limit: Duration,
) -> Result<Box<Negotiated>, String> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    session.handle_into(Instant::now(), Input::TcpConnected(dir), &mut out);
    loop {
        for o in out.drain(..) {
            match o {
                Output::Send(b) => stream
                    .write_all(&b)
                    .await
                    .map_err(|e| format!("write: {e}"))?,
                Output::Established(n) => return Ok(n),
                Output::Down(r) => return Err(format!("session down: {r}")),
                Output::Disconnect => return Err("the session closed the connection".into()),
                _ => {}
            }
        }
        let msg = framer.next_message()?;
        if let Some(msg) = msg {
            session.handle_into(Instant::now(), Input::Received(msg), &mut out);
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, framer.fill(stream)).await {
            Ok(Ok(0)) => return Err("closed during the OPEN exchange".into()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("read: {e}")),
            Err(_) => return Err("no Established in time".into()),
        }
    }
}

/// Prefixes of one UPDATE, walked in place: `f(announced, nlri)` for every
/// withdrawn (false) and announced (true) IPv4/IPv6 unicast prefix,
/// withdrawals first. `add_path` is per family (`Family::index`). Err on
/// a malformed message; what was walked before stays reported.
pub fn walk_update(
    msg: &[u8],
    add_path: [bool; 2],
    mut f: impl FnMut(bool, Nlri),
) -> Result<(), &'static str> {
    const BAD: &str = "malformed UPDATE";
    let body = msg.get(19..).ok_or(BAD)?;
    let u16_at = |b: &[u8], i: usize| -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([
            *b.get(i)?,
            *b.get(i + 1)?,
        ])))
    };
    let wlen = u16_at(body, 0).ok_or(BAD)?;
    let withdrawn = body.get(2..2 + wlen).ok_or(BAD)?;
    let rest = body.get(2 + wlen..).ok_or(BAD)?;
    let alen = u16_at(rest, 0).ok_or(BAD)?;
    let attrs = rest.get(2..2 + alen).ok_or(BAD)?;
    let nlri = rest.get(2 + alen..).ok_or(BAD)?;
    let field = |raw, fam: Family| NlriField::new(raw, fam, add_path[fam.index()]).map_err(|_| BAD);
    for n in field(withdrawn, Family::Ipv4Unicast)? {
        f(false, n);
    }
    let mut i = 0;
    let mut reach: Option<(&[u8], Family)> = None;
    while i < attrs.len() {
        let flags = *attrs.get(i).ok_or(BAD)?;
        let code = *attrs.get(i + 1).ok_or(BAD)?;
        let (len, hdr) = if flags & 0x10 != 0 {
            (u16_at(attrs, i + 2).ok_or(BAD)?, 4)
        } else {
            (usize::from(*attrs.get(i + 2).ok_or(BAD)?), 3)
        };
        let val = attrs.get(i + hdr..i + hdr + len).ok_or(BAD)?;
        i += hdr + len;
        if code != 14 && code != 15 {
            continue;
        }
        let afi = u16_at(val, 0).ok_or(BAD)?;
        let fam = match (afi, val.get(2)) {
            (1, Some(1)) => Family::Ipv4Unicast,
            (2, Some(1)) => Family::Ipv6Unicast,
            _ => continue,
        };
        if code == 15 {
            for n in field(val.get(3..).ok_or(BAD)?, fam)? {
                f(false, n);
            }
        } else {
            let nh = usize::from(*val.get(3).ok_or(BAD)?);
            reach = Some((val.get(5 + nh..).ok_or(BAD)?, fam));
        }
    }
    if let Some((raw, fam)) = reach {
        for n in field(raw, fam)? {
            f(true, n);
        }
    }
    for n in field(nlri, Family::Ipv4Unicast)? {
        f(true, n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_wire::builder::{pack_announcements, pack_withdrawals};
    use bgp_wire::{EncodeCtx, NextHop, Prefix};

    #[test]
    fn walks_what_the_builder_packs() {
        let ctx = EncodeCtx::default();
        let v4: Vec<Nlri> = (0..300u32)
            .map(|i| Nlri::new(Prefix::V4((11 << 24) | (i << 8), 24)))
            .collect();
        let v6: Vec<Nlri> = (0..50u128)
            .map(|i| Nlri::new(Prefix::V6((0x2a00u128 << 112) | (i << 80), 48)))
            .collect();
        let mut out = Vec::new();
        // ORIGIN IGP only: enough for the walker, which skips attributes.
        let block = [0x40, 1, 1, 0];
        let nh4 = NextHop::V4("192.0.2.10".parse().unwrap());
        let nh6 = NextHop::V6 {
            global: "2001:db8:10::10".parse().unwrap(),
            link_local: None,
        };
        pack_announcements(&ctx, &block, Family::Ipv4Unicast, &nh4, &v4, &mut out).unwrap();
        pack_announcements(&ctx, &block, Family::Ipv6Unicast, &nh6, &v6, &mut out).unwrap();
        pack_withdrawals(&ctx, Family::Ipv4Unicast, &v4[..7], &mut out);
        pack_withdrawals(&ctx, Family::Ipv6Unicast, &v6[..3], &mut out);
        let mut framer = Framer::new(0);
        framer.buf[..out.len()].copy_from_slice(&out);
        framer.end = out.len();
        let (mut ann, mut wd) = (Vec::new(), Vec::new());
        while let Some(m) = framer.next_message().unwrap() {
            walk_update(
                m,
                [false; 2],
                |a, n| {
                    if a {
                        ann.push(n)
                    } else {
                        wd.push(n)
                    }
                },
            )
            .unwrap();
        }
        let want: Vec<Nlri> = v4.iter().chain(&v6).copied().collect();
        assert_eq!(ann, want);
        let want: Vec<Nlri> = v4[..7].iter().chain(&v6[..3]).copied().collect();
        assert_eq!(wd, want);
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&[0, 23, 2, 0, 0, 0, 9]); // attributes overrun
        assert!(walk_update(&m, [false; 2], |_, _| {}).is_err());
        m.truncate(20);
        assert!(walk_update(&m, [false; 2], |_, _| {}).is_err());
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&[0, 25, 2, 0, 0, 0, 0, 33, 1, 2, 3, 4]); // /33
        assert!(walk_update(&m, [false; 2], |_, _| {}).is_err());
    }
}
