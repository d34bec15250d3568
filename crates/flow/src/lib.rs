//! Flow collection for caribix: sFlow v5, IPFIX (RFC 7011) and NetFlow v9
//! (RFC 3954) decoding, attribution of traffic to IXP members, and
//! aggregation into per-member and member-to-member time series (SPEC §6).
//!
//! The crate is sans-IO: it opens no sockets and reads no clock. The binary
//! receives datagrams and hands them to a [`Collector`] with the sender's
//! address and the arrival time:
//!
//! ```
//! use flow::{Collector, MemberTable, UnixMillis};
//! let mut members = MemberTable::new();
//! members.add_member(64500, "Example");
//! members.add_mac("02:00:00:00:00:01".parse().unwrap(), 64500);
//! let mut c = Collector::new(members);
//! let err = c.ingest_sflow("127.0.0.1".parse().unwrap(), &[0, 0, 0, 4], UnixMillis(0));
//! assert!(err.is_err());
//! assert_eq!(c.counters().total_decode_errors(), 1);
//! ```
//!
//! Layers: [`sflow`], [`ipfix`] and [`netflow9`] decode datagrams into
//! borrowed structures without state; [`decoder::Decoder`] keeps templates,
//! sampling rates, sequence numbers and counters and produces scaled
//! [`FlowRecord`]s; [`members::MemberTable`] attributes records to members
//! (with router MACs learned from BGP session samples, [`learn`]);
//! [`aggregate::Aggregator`] folds them into buckets with retention.
//!
//! Not here: sockets, storage, local-traffic classification (the record
//! carries what a destination-prefix lookup needs), and the HTTP API.

pub mod aggregate;
pub mod collector;
pub mod decoder;
pub mod dedupe;
pub mod error;
pub mod ipfix;
pub mod learn;
pub mod members;
pub mod netflow9;
pub mod packet;
pub mod pcap;
mod reader;
pub mod record;
pub mod sflow;
pub mod template;

/// The hash map of the per-datagram and per-sample paths: foldhash, keyed
/// with a per-process random seed (several times cheaper than the
/// standard library's SipHash for the small keys used here: addresses,
/// MACs, sequence-stream and template keys, many of which come from the
/// network). Decision 0081.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The hash set counterpart of [`FastMap`].
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

pub use aggregate::{
    Aggregator, BilateralSession, Bucket, Counts, MemberCounts, Resolution, Retention,
    SessionCounts, SessionKey,
};
pub use collector::{Collector, CollectorConfig, Ingested};
pub use decoder::{Counters, Decoded, Decoder, DecoderConfig};
pub use dedupe::{Dedupe, Seen};
pub use error::{DecodeError, ErrorKind};
pub use learn::{LearnedMac, MacTable};
pub use members::{Asn, Attribution, InterfaceRole, MacEvent, MemberTable};
pub use record::{Family, FlowRecord, FlowSource, MacAddr, UnixMillis};
