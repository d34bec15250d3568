//! Connection collision detection (RFC 4271 §6.8, RFC 6286 §2.3).
//!
//! When both speakers open a TCP connection at the same time, each ends up
//! with two connections to the other; both must close the same one. The
//! rule: keep the connection opened by the speaker with the higher BGP
//! identifier (compared as 4-octet unsigned integers in host byte order);
//! when the identifiers are equal (possible between ASes since RFC 6286),
//! keep the one opened by the speaker with the larger AS. An Established
//! session is never given up for a new connection (we do not implement
//! CollisionDetectEstablishedState, RFC 4271 §8.1.1).
//!
//! This module only decides. The I/O layer owns one [`Session`] per
//! connection, asks [`collision`] when a session reports
//! [`Output::OpenReceived`](crate::Output::OpenReceived), and feeds
//! [`Input::OpenCollisionDump`](crate::Input::OpenCollisionDump) to the
//! loser, which sends Cease/Connection Collision Resolution (RFC 4486
//! subcode 7) and closes.

use std::net::Ipv4Addr;

use crate::event::{Direction, State};
use crate::fsm::Session;

/// Which connection to keep, by who opened it: `Outbound` is the one we
/// opened, `Inbound` the one the peer opened.
pub fn connection_to_keep(
    local_id: Ipv4Addr,
    local_as: u32,
    peer_id: Ipv4Addr,
    peer_as: u32,
) -> Direction {
    let (l, p) = (u32::from(local_id), u32::from(peer_id));
    let local_wins = if l != p { l > p } else { local_as > peer_as };
    if local_wins {
        Direction::Outbound
    } else {
        Direction::Inbound
    }
}

/// What to do about two sessions with the same peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No collision to resolve (yet): one of them has no connection, or
    /// neither knows the peer's BGP identifier.
    NoCollision,
    /// Dump the existing session's connection; keep the new one.
    CloseExisting,
    /// Dump the new session's connection; keep the existing one.
    CloseNew,
}

/// Decide a collision between the session that was there first and a new
/// one for the same peer (RFC 4271 §6.8). An Established existing session
/// always wins. Otherwise the peer's identifier comes from whichever
/// session has received the peer's OPEN, and the winner is given by
/// [`connection_to_keep`]. Two connections opened in the same direction
/// (the peer reconnected while its old connection still looked alive)
/// keep the new one.
pub fn collision(existing: &Session, new: &Session) -> Verdict {
    let live = |s: &Session| {
        matches!(
            s.state(),
            State::OpenSent | State::OpenConfirm | State::Established
        )
    };
    if !live(existing) || !live(new) {
        return Verdict::NoCollision;
    }
    if existing.state() == State::Established {
        return Verdict::CloseNew;
    }
    let Some((peer_id, peer_as)) = new.peer_identity().or_else(|| existing.peer_identity()) else {
        return Verdict::NoCollision;
    };
    let (Some(e_dir), Some(n_dir)) = (existing.direction(), new.direction()) else {
        return Verdict::NoCollision;
    };
    if e_dir == n_dir {
        return Verdict::CloseExisting;
    }
    let cfg = existing.config();
    let keep = connection_to_keep(cfg.local_id, cfg.local_as, peer_id, peer_as);
    if keep == e_dir {
        Verdict::CloseNew
    } else {
        Verdict::CloseExisting
    }
}
