//! BGP-4 wire codec for caribix.
//!
//! Decodes and encodes every BGP message (RFC 4271 §4) with the capabilities
//! and path attributes an Internet Exchange route server meets, and applies
//! the error handling of RFC 7606. Decoding is zero-copy: an
//! [`Update`] borrows the received bytes and parses prefixes and attributes on
//! access. The route server's encoder ([`builder`]) re-emits received
//! attributes as bytes and packs prefixes into as few UPDATEs as the
//! negotiated message size allows.
//!
//! This crate does no I/O and keeps no session state: what was negotiated
//! travels in [`DecodeCtx`] and [`EncodeCtx`].
//!
//! Nothing in this crate panics on any input: every index into received
//! bytes is checked first, and the decoders are fuzzed (`fuzz/`).

pub mod aspath;
pub mod attr;
pub mod builder;
pub mod error;
pub mod message;
pub mod nlri;
pub mod open;
pub mod owned;
pub mod types;
pub mod update;

pub use aspath::{AsPath, AsPathRef, Segment, SegmentKind};
pub use attr::{Aggregator, Attributes, DecodeCtx, NextHop, Origin};
pub use error::{AttrAction, AttrIssue, Reset};
pub use message::{frame, Message, Notification, RouteRefresh};
pub use nlri::NlriField;
pub use open::{AddPathMode, Capability, Open, Role};
pub use owned::{EncodeCtx, PathAttributes, UpdateMessage};
pub use types::{Afi, Family, FamilySet, Nlri, Prefix, Safi};
pub use update::Update;

/// Length of the message header (RFC 4271 §4.1).
pub const HEADER_LEN: usize = 19;
/// Largest message without extended messages (RFC 4271 §4.1).
pub const MAX_LEN: usize = 4096;
/// Largest message with extended messages (RFC 8654).
pub const MAX_EXTENDED_LEN: usize = 65535;
/// AS_TRANS, the 2-octet stand-in for a 4-octet AS (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;
