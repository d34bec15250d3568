//! Graceful restart, receiving speaker (RFC 4724 §4.2): what the route
//! server does with a member's routes while the member restarts.
//!
//! When the session of a member that announced the Graceful Restart
//! capability ends without a NOTIFICATION (the TCP connection was reset or
//! closed), its routes of the families listed in that capability are kept,
//! marked stale, and still exported to the others, and a timer of the
//! member's restart time runs (bounded by the route server's own limit).
//! If the member is not back in time, the stale routes are withdrawn. When
//! it is back, the new capability decides: families it no longer lists, or
//! lists without the forwarding-state (F) bit, lose their stale routes at
//! once; for the others, routes it announces again replace the stale ones,
//! and at its End-of-RIB for a family (or when the wait for it ends, the
//! "stale routes time" RFC 4724 §4.2 allows) the routes still stale are
//! withdrawn.
//!
//! Which session ends count is the caller's decision (see the daemon): a
//! session ended by a NOTIFICATION, sent or received, including Hold Timer
//! Expired, is a normal end per RFC 4724 (RFC 8538, which extends graceful
//! restart to NOTIFICATIONs, is not negotiated). This module keeps only
//! the state per member and uses the caller's clock in seconds.
//!
//! Not covered: the restarting speaker role (the route server announces a
//! restart time and no families: it preserves no forwarding state), RFC
//! 8538, long-lived graceful restart (RFC 9494).

use bgp_wire::FamilySet;

/// A member's Graceful Restart capability as the route server uses it
/// (RFC 4724 §3), reduced to the families negotiated on the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Families the member listed: their routes are kept when its session
    /// drops.
    pub families: FamilySet,
    /// Of those, the families with the forwarding-state (F) bit set.
    pub forwarding: FamilySet,
    /// The member's restart time, in seconds (12 bits).
    pub restart_time: u16,
}

/// Where a member's graceful restart stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartState {
    /// The session is down; stale routes are kept until `until` (the
    /// caller's seconds).
    Restarting {
        /// When the stale routes go if the member is not back.
        until: u32,
    },
    /// The session is back; the stale routes of `families` go at the
    /// member's End-of-RIB for each, or at `until`.
    AwaitingEndOfRib {
        /// Families with stale routes left.
        families: FamilySet,
        /// When the remaining stale routes go regardless.
        until: u32,
    },
}

/// The route server's own bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartLimits {
    /// Receive graceful restart at all; when false every session end
    /// withdraws the member's routes at once.
    pub enabled: bool,
    /// The longest restart time honoured, in seconds: stale routes are
    /// kept for the member's restart time or this, whichever is shorter.
    pub max_restart_time: u32,
    /// How long to wait for the member's End-of-RIB once it is back, in
    /// seconds.
    pub stale_time: u32,
}

impl Default for RestartLimits {
    fn default() -> Self {
        RestartLimits {
            enabled: true,
            max_restart_time: 300,
            stale_time: 360,
        }
    }
}

/// Per member: the capability of its last session and the restart in
/// progress.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Slot {
    pub(crate) cap: Option<GracefulRestart>,
    pub(crate) state: Option<RestartState>,
}

/// What happened to the stale routes of one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleSwept {
    /// How many stale routes were withdrawn.
    pub withdrawn: usize,
    /// Why.
    pub reason: SweepReason,
}

/// Why stale routes were withdrawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepReason {
    /// The member was not back within the restart time.
    RestartTimeExpired,
    /// The member was back but its End-of-RIB did not come in time.
    StaleTimeExpired,
    /// Its End-of-RIB came.
    EndOfRib,
    /// Its new session did not preserve the family (no F bit, or no
    /// capability at all).
    NotPreserved,
}
