//! The BGP-4 session: the finite state machine of RFC 4271 §8 as a sans-IO
//! core, for the caribix route server.
//!
//! A [`Session`] is driven with [`Session::handle`]`(now, input)`: inputs
//! are administrative events, timer expiries, TCP events and received
//! bytes ([`Input`]); outputs are bytes to send, timers to arm or cancel,
//! connections to open or drop, and what the routing layer needs: the
//! negotiated capabilities when the session is Established, each UPDATE as
//! raw bytes, route refresh requests, and why the session went down
//! ([`Output`]). The caller owns sockets and the clock; this crate never
//! reads either, which is what makes every transition testable with a
//! fake `Instant`.
//!
//! Covered: RFC 4271 §6 (error handling) and §8 (FSM, with DelayOpen and
//! an IdleHold-style automatic restart with optional damping), §6.8
//! connection collisions ([`collision()`]), capability negotiation (RFC 5492,
//! 4760, 6793, 2918, 7313, 7911, 4724 as receiving speaker, 8654, 8950,
//! 9234 roles), FSM error subcodes (RFC 6608), Cease subcodes (RFC 4486)
//! with shutdown communication (RFC 9003), and AS 0 (RFC 7607).
//!
//! Not covered: sockets and TCP options (the I/O layer), routes and policy
//! (other crates), sending graceful restart state (we are a receiving
//! speaker only), CollisionDetectEstablishedState.

pub mod collision;
pub mod config;
pub mod event;
pub mod fsm;
pub mod negotiate;
pub mod stats;

pub use collision::{collision, connection_to_keep, Verdict};
pub use config::{Config, ConfigError, GracefulRestartConfig};
pub use event::{
    describe_notification, notification_name, Direction, DownReason, Input, Output, State, Timer,
};
pub use fsm::Session;
pub use negotiate::{
    check_open, local_open, negotiate, roles_match, Negotiated, OpenError, PeerGracefulRestart,
};
pub use stats::{MessageCounts, Stats};
