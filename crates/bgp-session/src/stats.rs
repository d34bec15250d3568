//! Counters a looking glass and `/metrics` read from a session.
//!
//! Messages in and out per type, the last error with when it happened, and
//! when the session last became Established. Only counting: no clock is
//! read, times are the `now` the caller passed in.

use std::time::Instant;

use crate::event::DownReason;

/// Messages of each type (RFC 4271 §4.1, RFC 2918).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// OPEN.
    pub open: u64,
    /// UPDATE.
    pub update: u64,
    /// NOTIFICATION.
    pub notification: u64,
    /// KEEPALIVE.
    pub keepalive: u64,
    /// ROUTE-REFRESH.
    pub route_refresh: u64,
}

impl MessageCounts {
    /// All messages.
    pub fn total(&self) -> u64 {
        self.open + self.update + self.notification + self.keepalive + self.route_refresh
    }

    pub(crate) fn count(&mut self, msg_type: u8) {
        use bgp_wire::message::msg_type as t;
        match msg_type {
            t::OPEN => self.open += 1,
            t::UPDATE => self.update += 1,
            t::NOTIFICATION => self.notification += 1,
            t::KEEPALIVE => self.keepalive += 1,
            t::ROUTE_REFRESH => self.route_refresh += 1,
            _ => {}
        }
    }
}

/// Statistics of one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages received (complete, framed messages).
    pub received: MessageCounts,
    /// Messages sent.
    pub sent: MessageCounts,
    /// Why the session last went down, and when.
    pub last_error: Option<(Instant, DownReason)>,
    /// When the session entered its current state (`None` before the
    /// first change), for the looking glass's "since" column.
    pub state_since: Option<Instant>,
    /// When the session last became Established; `None` when it is not.
    pub established_since: Option<Instant>,
    /// How many times the session became Established.
    pub established_count: u64,
    /// ConnectRetryCounter (RFC 4271 §8.2.2): zeroed by every start and
    /// by a manual stop, incremented by most failures.
    pub connect_retry_counter: u32,
    /// Times the session went down, other than by a manual stop, since it
    /// was last Established or manually started; drives the damping of
    /// automatic restarts (RFC 4271 §8.1.1 DampPeerOscillations) and tells
    /// the looking glass that a peer is flapping.
    pub consecutive_failures: u32,
    /// ROUTE-REFRESH messages ignored (capability not negotiated, family
    /// not negotiated, or unknown subtype; RFC 2918 §4, RFC 7313 §5).
    pub route_refresh_ignored: u64,
}
