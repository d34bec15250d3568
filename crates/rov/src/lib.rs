//! RPKI for the route server: an RTR client with failover, VRP and ASPA
//! tables, route origin validation, persistence and a small RTR server.
//!
//! * [`vrp`]: the [`VrpTable`] and route origin validation (RFC 6811 §2,
//!   AS0 per RFC 6483 §4), with lookups well under a microsecond on tables
//!   of 500,000 VRPs;
//! * [`aspa`]: ASPA records and upstream path verification
//!   (draft-ietf-sidrops-aspa-verification §6.2);
//! * [`client`]: [`RtrClient`], the RTR client (RFC 8210 v1, RFC 6810 v0,
//!   8210bis v2 with ASPA; protocol from the `rpki` crate) with cache
//!   failover, Refresh/Retry/Expire handling (RFC 8210 §6), and the shared
//!   handle [`RpkiCache`] the policy reads;
//! * [`persist`]: the on-disk copy used at start;
//! * [`json`]: rpki-client `vrps.json` input and output;
//! * [`server`]: [`RtrServer`], an in-process RTR cache for the demo and
//!   tests.
//!
//! This crate does not decide policy (what to do with an Invalid route is
//! the `policy` crate's business) and does not validate RPKI signed
//! objects: it trusts its caches, as RFC 8210 routers do.
//!
//! ```no_run
//! # async fn demo() {
//! use rov::{RovState, RtrClient, RtrConfig};
//! let config = RtrConfig::new(["127.0.0.1:3323", "192.0.2.9:3323"], "/var/lib/caribix/rpki");
//! let (rpki, _task) = RtrClient::new(config).spawn();
//! let mut changes = rpki.subscribe();
//! let prefix = "192.0.2.0/24".parse().unwrap();
//! assert!(matches!(rpki.rov(&prefix, Some(64496)), RovState::Valid | RovState::Invalid | RovState::NotFound));
//! // Re-evaluate the routes covered by changed VRP prefixes on each change.
//! while changes.changed().await.is_ok() {
//!     let generation = changes.borrow_and_update().clone();
//!     for p in generation.changed.iter() { let _ = p; }
//! }
//! # }
//! ```

pub mod aspa;
pub mod client;
mod family;
pub mod json;
pub mod persist;
pub mod server;
pub mod vrp;

pub use aspa::AspaTable;
pub use client::{CacheStatus, DataSource, Generation, RpkiCache, RtrClient, RtrConfig};
pub use rpki::rtr::Timing;
pub use server::RtrServer;
pub use vrp::{ApplyError, ChangedPrefixes, RovState, Vrp, VrpTable, Vrps};
