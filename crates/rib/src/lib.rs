//! The route server's RIB (RFC 7947 §2.3): per-member Adj-RIB-In with
//! policy verdicts, best path per prefix, and per-member export with
//! path-hiding mitigation, coalesced and packed into UPDATEs.
//!
//! The RIB knows nothing of sockets or time sources: it is fed decoded
//! routes and asked for the bytes to send to each member. Policy (which
//! routes are rejected, which export controls apply) is computed outside
//! and handed in with each route.

mod attrs;
mod bestpath;
mod bits;
mod cands;
mod ids;
mod prepend;
mod table;

pub use attrs::{ExportCtl, Interner, RouteAttrs, DEFAULT_PREF};
pub use table::{InRoute, PeerCounts, PeerId, Rib};
