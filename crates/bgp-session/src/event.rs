//! What goes into the state machine and what comes out of it.
//!
//! Inputs are the events of RFC 4271 §8.1 that come from outside: the
//! administrative events (§8.1.2), timer expiries (§8.1.3), TCP connection
//! events (§8.1.4), and received bytes, from which the session derives the
//! message events of §8.1.5 itself. Outputs are the actions of §8.2.2 that
//! the caller carries out: bytes to send, timers to arm or cancel, TCP
//! connections to open or drop, and what to tell the routing layer.
//!
//! Nothing here does I/O or reads a clock.

use std::fmt;
use std::net::Ipv4Addr;

use bgp_wire::error::{code, subcode};
use bgp_wire::{Family, Notification, RouteRefresh};

use crate::negotiate::Negotiated;

/// The session states of RFC 4271 §8.2.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Refuses connections; waits for a start event.
    Idle,
    /// Waits for an outgoing TCP connection to complete.
    Connect,
    /// Listens for an incoming TCP connection.
    Active,
    /// Our OPEN is sent; waits for the peer's.
    OpenSent,
    /// OPENs exchanged; waits for the peer's KEEPALIVE.
    OpenConfirm,
    /// UPDATEs flow.
    Established,
}

impl State {
    /// The RFC 4271 name, as the looking glass shows it.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The timers of RFC 4271 §8 (IdleHold from §8.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// ConnectRetryTimer: retry an outgoing connection.
    ConnectRetry,
    /// HoldTimer: the peer has been silent too long.
    Hold,
    /// KeepaliveTimer: time to send a KEEPALIVE.
    Keepalive,
    /// DelayOpenTimer: time to send our OPEN after all.
    DelayOpen,
    /// IdleHoldTimer: time to restart automatically.
    IdleHold,
}

impl Timer {
    /// Every timer, in a fixed order.
    pub const ALL: [Timer; 5] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::DelayOpen,
        Timer::IdleHold,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            Timer::ConnectRetry => 0,
            Timer::Hold => 1,
            Timer::Keepalive => 2,
            Timer::DelayOpen => 3,
            Timer::IdleHold => 4,
        }
    }
}

/// Which side opened a TCP connection; decides connection collisions
/// (RFC 4271 §6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We connected to the peer (Tcp_CR_Acked, event 16).
    Outbound,
    /// The peer connected to us (TcpConnectionConfirmed, event 17).
    Inbound,
}

/// An event for the state machine (RFC 4271 §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// ManualStart (event 1; event 4 when the session is passive).
    ManualStart,
    /// ManualStop (event 2): a Cease with this subcode goes to the peer if
    /// a connection is up, with `message` as shutdown communication
    /// (RFC 9003) for subcodes 2 and 4.
    ManualStop {
        /// Cease subcode (RFC 4486), normally 2 (Administrative Shutdown).
        subcode: u8,
        /// Shutdown communication; may be empty.
        message: String,
    },
    /// AutomaticStart (event 3; event 5 when passive).
    AutomaticStart,
    /// AutomaticStop (event 8), e.g. for a maximum-prefix limit: like
    /// `ManualStop`, but an automatic restart follows.
    AutomaticStop {
        /// Cease subcode (RFC 4486).
        subcode: u8,
        /// Shutdown communication (sent for subcodes 2 and 4 only).
        message: String,
    },
    /// A timer the session armed has expired (events 9 to 13).
    TimerExpired(Timer),
    /// The TCP connection is up (events 16 and 17). In Connect or Active
    /// the session takes it; in Idle it asks for it to be closed
    /// ([`Output::Disconnect`]); in later states it is ignored, because a
    /// second connection to the same peer needs a `Session` of its own
    /// (see [`crate::collision()`]).
    TcpConnected(Direction),
    /// The TCP connection failed, or the peer closed it (event 18).
    TcpConnectionFails,
    /// Bytes read from the connection, in any chunking.
    Received(&'a [u8]),
    /// Another connection to the same peer wins the collision (event 23,
    /// OpenCollisionDump): send Cease/Connection Collision Resolution and
    /// close.
    OpenCollisionDump,
    /// Send a complete UPDATE message (header included) built with
    /// [`Session::encode_ctx`](crate::Session::encode_ctx). Ignored unless
    /// Established.
    SendUpdate(Vec<u8>),
    /// Ask the peer to send its routes of a family again (RFC 2918).
    /// Ignored unless Established with route refresh negotiated for the
    /// family.
    SendRouteRefresh(Family),
}

/// An action for the caller (RFC 4271 §8.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes to the connection.
    Send(Vec<u8>),
    /// Open an outgoing TCP connection to the peer.
    Connect,
    /// Close the TCP connection, after writing what was sent before.
    Disconnect,
    /// Arm (or re-arm) a timer to expire at this instant.
    SetTimer(Timer, std::time::Instant),
    /// Disarm a timer.
    CancelTimer(Timer),
    /// The state changed.
    StateChange {
        /// Before.
        from: State,
        /// After.
        to: State,
    },
    /// The peer's OPEN was accepted; the caller checks for a connection
    /// collision (RFC 4271 §6.8) with [`crate::collision()`].
    OpenReceived {
        /// The peer's BGP identifier.
        peer_id: Ipv4Addr,
        /// The peer's AS.
        peer_as: u32,
    },
    /// The session is Established with these capabilities.
    Established(Box<Negotiated>),
    /// A complete UPDATE message (header included) that decoded without a
    /// session reset; decode it again with
    /// `Message::decode(&bytes, &session.decode_ctx())`.
    Update(Vec<u8>),
    /// The peer asks for our routes again (RFC 2918), or marks the start
    /// or end of a refresh (RFC 7313).
    RouteRefresh(RouteRefresh),
    /// The connection (or the attempt to make one) ended: the session is
    /// now Idle, or Active when it keeps listening (TCP failure in
    /// OpenSent, RFC 4271 §8.2.2). Routes learned on it are gone.
    Down(DownReason),
}

/// Why the session went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// We sent this NOTIFICATION.
    NotificationSent {
        /// What was sent.
        notification: Notification,
        /// Why, for the operator.
        detail: String,
    },
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The TCP connection failed or was closed.
    ConnectionLost,
    /// Closed without a NOTIFICATION: stopped while no connection was up,
    /// or an event RFC 4271 §8.2.2 answers by just closing (unexpected
    /// message in Connect or Active).
    Closed(String),
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::NotificationSent {
                notification,
                detail,
            } => {
                write!(f, "sent {}", describe_notification(notification))?;
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            DownReason::NotificationReceived(n) => {
                write!(f, "received {}", describe_notification(n))
            }
            DownReason::ConnectionLost => f.write_str("TCP connection lost"),
            DownReason::Closed(why) => f.write_str(why),
        }
    }
}

/// A NOTIFICATION in words: code, subcode, names, and the shutdown
/// communication when there is one (RFC 9003).
pub fn describe_notification(n: &Notification) -> String {
    let mut s = format!(
        "NOTIFICATION {}/{} ({})",
        n.code,
        n.subcode,
        notification_name(n.code, n.subcode)
    );
    if let Some(msg) = n.shutdown_message() {
        s.push_str(&format!(" \"{}\"", msg.escape_debug()));
    }
    s
}

/// The IANA name of a NOTIFICATION code and subcode.
pub fn notification_name(c: u8, s: u8) -> &'static str {
    match (c, s) {
        (code::HEADER, subcode::CONNECTION_NOT_SYNCHRONIZED) => {
            "Message Header Error, Connection Not Synchronized"
        }
        (code::HEADER, subcode::BAD_MESSAGE_LENGTH) => "Message Header Error, Bad Message Length",
        (code::HEADER, subcode::BAD_MESSAGE_TYPE) => "Message Header Error, Bad Message Type",
        (code::HEADER, _) => "Message Header Error",
        (code::OPEN, subcode::UNSUPPORTED_VERSION) => {
            "OPEN Message Error, Unsupported Version Number"
        }
        (code::OPEN, subcode::BAD_PEER_AS) => "OPEN Message Error, Bad Peer AS",
        (code::OPEN, subcode::BAD_BGP_IDENTIFIER) => "OPEN Message Error, Bad BGP Identifier",
        (code::OPEN, subcode::UNSUPPORTED_OPTIONAL_PARAMETER) => {
            "OPEN Message Error, Unsupported Optional Parameter"
        }
        (code::OPEN, subcode::UNACCEPTABLE_HOLD_TIME) => {
            "OPEN Message Error, Unacceptable Hold Time"
        }
        (code::OPEN, subcode::UNSUPPORTED_CAPABILITY) => {
            "OPEN Message Error, Unsupported Capability"
        }
        (code::OPEN, subcode::ROLE_MISMATCH) => "OPEN Message Error, Role Mismatch",
        (code::OPEN, _) => "OPEN Message Error",
        (code::UPDATE, _) => "UPDATE Message Error",
        (code::HOLD_TIMER_EXPIRED, _) => "Hold Timer Expired",
        (code::FSM, subcode::FSM_UNEXPECTED_IN_OPENSENT) => {
            "Finite State Machine Error, unexpected message in OpenSent"
        }
        (code::FSM, subcode::FSM_UNEXPECTED_IN_OPENCONFIRM) => {
            "Finite State Machine Error, unexpected message in OpenConfirm"
        }
        (code::FSM, subcode::FSM_UNEXPECTED_IN_ESTABLISHED) => {
            "Finite State Machine Error, unexpected message in Established"
        }
        (code::FSM, _) => "Finite State Machine Error",
        (code::CEASE, subcode::MAX_PREFIXES) => "Cease, Maximum Number of Prefixes Reached",
        (code::CEASE, subcode::ADMIN_SHUTDOWN) => "Cease, Administrative Shutdown",
        (code::CEASE, subcode::PEER_DECONFIGURED) => "Cease, Peer De-configured",
        (code::CEASE, subcode::ADMIN_RESET) => "Cease, Administrative Reset",
        (code::CEASE, subcode::CONNECTION_REJECTED) => "Cease, Connection Rejected",
        (code::CEASE, subcode::OTHER_CONFIG_CHANGE) => "Cease, Other Configuration Change",
        (code::CEASE, subcode::CONNECTION_COLLISION) => "Cease, Connection Collision Resolution",
        (code::CEASE, subcode::OUT_OF_RESOURCES) => "Cease, Out of Resources",
        (code::CEASE, subcode::HARD_RESET) => "Cease, Hard Reset",
        (code::CEASE, subcode::BFD_DOWN) => "Cease, BFD Down",
        (code::CEASE, _) => "Cease",
        (code::ROUTE_REFRESH, _) => "ROUTE-REFRESH Message Error",
        _ => "unknown error code",
    }
}
