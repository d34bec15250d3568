//! Local-traffic identification for caribix (SPEC §6, issue 5): which
//! destinations are local to the territory, which flows stayed local at the
//! IXP, which left the island through a transit interface although their
//! destination was local (tromboning), and which pairs of networks should
//! peer.
//!
//! The crate is sans-IO, like `flow`: the binary feeds it the route
//! server's prefixes ([`LocalNets::set_route_server_prefixes`]), the RIR
//! delegation files it read ([`rir::parse`]), and every attributed
//! [`flow::FlowRecord`] ([`Tally::add`]). It keeps one-minute [`Minute`]
//! tallies that a store persists and sums again over any window; ranking
//! ([`rank_opportunities`]) works on those sums.
//!
//! Not here: decoding and member attribution (the `flow` crate), storage
//! (the `flowstore` crate), sockets and the HTTP API (the binary).
//!
//! Records the binary counts are already deduplicated: a packet seen by
//! the IXP switches' sFlow and by members' routers is counted once
//! (`flow::dedupe`). Known limitations: holders of RIR
//! address blocks are known by ASN only when the delegation file lists an
//! ASN under the same opaque ID.

pub mod classify;
pub mod local;
pub mod opportunity;
pub mod prefix;
pub mod rir;

pub use classify::{classify, Class, Classified, Minute, Tally};
pub use local::{LocalNets, Locality, Via};
pub use opportunity::{rank_opportunities, Directory, Opportunity};
pub use prefix::{Prefix, PrefixParseError};
pub use rir::{parse as parse_delegations, Delegations, RirError};

/// An autonomous system number.
pub type Asn = u32;
