//! Per-peer session configuration.
//!
//! What one BGP session needs to know before it starts: the two ASes, our
//! BGP identifier, the timers of RFC 4271 §10 (hold time, connect retry,
//! the optional DelayOpen and IdleHold timers of §8.1.1), whether we open
//! connections ourselves, and what we announce in our OPEN (RFC 5492
//! capabilities). It does not parse configuration files (the `registry`
//! crate does) and does not know addresses or sockets (the I/O layer does).

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp_wire::{Family, FamilySet, Role};

/// Longest timer a configuration may set: a week. Longer values are
/// mistakes, and bounding them keeps `now + timer` far from overflow.
pub const MAX_TIMER: Duration = Duration::from_secs(7 * 24 * 3600);

/// Graceful restart as we announce it (RFC 4724 §3). A route server is a
/// receiving speaker: it announces no families (it preserves no
/// forwarding state), so that members keep its routes only as their own
/// policy says; the default restart time is 0, the caribix daemon
/// announces its own limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Restart time in seconds (12 bits, at most 4095).
    pub restart_time: u16,
    /// Families whose forwarding state we preserve across a restart.
    pub families: FamilySet,
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            restart_time: 0,
            families: FamilySet::EMPTY,
        }
    }
}

/// Configuration of one BGP session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Our AS number.
    pub local_as: u32,
    /// Our BGP identifier (RFC 4271 §4.2, RFC 6286).
    pub local_id: Ipv4Addr,
    /// The AS the peer must announce in its OPEN.
    pub peer_as: u32,
    /// Hold time we propose, in seconds: 0 (no keepalives, no hold timer)
    /// or at least 3 (RFC 4271 §4.2). Default 90.
    pub hold_time: u16,
    /// ConnectRetryTimer (RFC 4271 §10). Default 120 s.
    pub connect_retry: Duration,
    /// Hold timer value while waiting for the peer's OPEN (RFC 4271 §8.2.2
    /// suggests 4 minutes). Default 240 s.
    pub open_hold_time: Duration,
    /// Only accept connections, never open one (RFC 4271 §8.1.1
    /// PassiveTcpEstablishment, taken further: a passive session never
    /// connects out, so it runs no ConnectRetryTimer). Default true.
    pub passive: bool,
    /// DelayOpenTimer (RFC 4271 §8.1.1): wait this long after the TCP
    /// connection is up for the peer's OPEN before sending ours. Default
    /// off.
    pub delay_open: Option<Duration>,
    /// Delay before an automatic restart after the session went down on an
    /// error (the IdleHoldTimer of RFC 4271 §8.1.1). `None` disables
    /// automatic restarts: the caller sends `AutomaticStart` itself.
    /// Default 5 s.
    pub restart_delay: Option<Duration>,
    /// Damp peer oscillations (RFC 4271 §8.1.1 DampPeerOscillations): the
    /// restart delay doubles with each consecutive failure, up to
    /// `restart_delay_max`, and goes back to `restart_delay` once the
    /// session has been established. Default false.
    pub damp_restarts: bool,
    /// Upper bound of the damped restart delay. Default 300 s.
    pub restart_delay_max: Duration,
    /// Families we offer (MP-BGP, RFC 4760). Default both unicast families.
    pub families: FamilySet,
    /// Families for which we offer to send several paths (ADD-PATH,
    /// RFC 7911). Default none.
    pub add_path_send: FamilySet,
    /// Families for which we offer to receive several paths. Default none.
    pub add_path_receive: FamilySet,
    /// Our BGP role (RFC 9234); `None` announces no role and checks none.
    /// Used on eBGP sessions only. Default `Some(Role::RouteServer)`.
    pub role: Option<Role>,
    /// Refuse a peer that announces no role (RFC 9234 §4.2 strict mode).
    /// Default false.
    pub strict_role: bool,
    /// Offer extended messages (RFC 8654). Default true.
    pub extended_messages: bool,
    /// Offer IPv4 unicast NLRI with IPv6 next hops (RFC 8950). Default
    /// false.
    pub extended_next_hop: bool,
    /// Graceful restart capability to announce; `None` announces none.
    /// Default: receiving speaker (restart time 0, no families).
    pub graceful_restart: Option<GracefulRestartConfig>,
}

impl Config {
    /// A configuration with the defaults listed on each field.
    pub fn new(local_as: u32, local_id: Ipv4Addr, peer_as: u32) -> Config {
        Config {
            local_as,
            local_id,
            peer_as,
            hold_time: 90,
            connect_retry: Duration::from_secs(120),
            open_hold_time: Duration::from_secs(240),
            passive: true,
            delay_open: None,
            restart_delay: Some(Duration::from_secs(5)),
            damp_restarts: false,
            restart_delay_max: Duration::from_secs(300),
            families: FamilySet::BOTH,
            add_path_send: FamilySet::EMPTY,
            add_path_receive: FamilySet::EMPTY,
            role: Some(Role::RouteServer),
            strict_role: false,
            extended_messages: true,
            extended_next_hop: false,
            graceful_restart: Some(GracefulRestartConfig::default()),
        }
    }

    /// Whether the peer is in another AS.
    pub fn is_ebgp(&self) -> bool {
        self.local_as != self.peer_as
    }

    /// Check the values that the wire cannot carry or that RFC 4271
    /// forbids, so that a bad configuration fails before the first
    /// connection rather than on it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if matches!(self.hold_time, 1 | 2) {
            return Err(ConfigError::HoldTime(self.hold_time));
        }
        if self.local_id.is_unspecified() {
            return Err(ConfigError::ZeroIdentifier);
        }
        if self.local_as == 0 || self.peer_as == 0 {
            return Err(ConfigError::ZeroAs);
        }
        if let Some(gr) = &self.graceful_restart {
            if gr.restart_time > 0x0fff {
                return Err(ConfigError::RestartTime(gr.restart_time));
            }
        }
        if self.families.is_empty() {
            return Err(ConfigError::NoFamily);
        }
        let timers = [
            ("connect_retry", Some(self.connect_retry)),
            ("open_hold_time", Some(self.open_hold_time)),
            ("delay_open", self.delay_open),
            ("restart_delay", self.restart_delay),
            ("restart_delay_max", Some(self.restart_delay_max)),
        ];
        for (name, d) in timers {
            if d.is_some_and(|d| d > MAX_TIMER) {
                return Err(ConfigError::Timer(name));
            }
        }
        Ok(())
    }

    /// The families offered, in a fixed order.
    pub fn offered_families(&self) -> impl Iterator<Item = Family> {
        self.families.iter()
    }
}

/// A configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Hold time of 1 or 2 seconds (RFC 4271 §4.2 forbids them).
    HoldTime(u16),
    /// BGP identifier 0.0.0.0 (RFC 6286 §2.1).
    ZeroIdentifier,
    /// AS 0 (RFC 7607).
    ZeroAs,
    /// Graceful restart time above 4095 seconds (12 bits).
    RestartTime(u16),
    /// No address family offered.
    NoFamily,
    /// A timer longer than [`MAX_TIMER`]; the field's name.
    Timer(&'static str),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::HoldTime(h) => write!(
                f,
                "hold time {h} s is not allowed: use 0 (no keepalives) or at least 3 s"
            ),
            ConfigError::ZeroIdentifier => f.write_str("BGP identifier 0.0.0.0 is not allowed"),
            ConfigError::ZeroAs => f.write_str("AS 0 is reserved (RFC 7607) and cannot be used"),
            ConfigError::RestartTime(t) => write!(
                f,
                "graceful restart time {t} s does not fit in 12 bits (at most 4095)"
            ),
            ConfigError::NoFamily => f.write_str("no address family is offered"),
            ConfigError::Timer(name) => write!(f, "{name} is longer than a week"),
        }
    }
}

impl std::error::Error for ConfigError {}
