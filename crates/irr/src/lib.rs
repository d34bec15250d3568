//! IRR data for the route server: RPSL dumps, AS-SET expansion, an IRRd
//! whois client, and per-member origin and prefix sets.
//!
//! * [`rpsl`]: RPSL parsing (RFC 2622 §2) of `route`, `route6`, `as-set`
//!   and `aut-num` objects into an [`IrrDb`], with file:line errors; dumps
//!   are read one object at a time and route objects kept as compact
//!   (origin, prefix) arrays;
//! * [`expand`]: recursive AS-SET expansion with loop detection and a
//!   depth limit;
//! * [`prefixset`]: registered prefixes with "or more specific up to a
//!   length limit" lookups, as sorted address arrays per length;
//! * [`whois`]: an IRRd whois client (`!!`, `!i`, `!g`, `!6`, and the
//!   `A`/`C`/`D`/`F` answer framing);
//! * [`member`]: per-member data ([`MemberIrr`]), the immutable
//!   [`IrrSnapshot`] the policy reads through the shared [`IrrCache`], and
//!   the [`IrrUpdater`] task that refreshes it on a schedule and on demand,
//!   keeps the last good data of members that fail, and caches it on disk.
//!
//! This crate does not decide policy (what an unregistered prefix costs a
//! route is the `policy` crate's call) and does not speak RPSL policy
//! expressions.
//!
//! ```no_run
//! # async fn demo() {
//! use irr::{IrrConfig, IrrSource, IrrUpdater, MemberSpec};
//! let members = vec![
//!     MemberSpec { asn: 64500, as_set: Some("AS64500:AS-CUSTOMERS".into()) },
//!     MemberSpec { asn: 64501, as_set: None }, // its own route objects
//! ];
//! let source = IrrSource::Dumps(vec!["/var/lib/caribix/irr/ripe.db".into()]);
//! let (irr, _task) = IrrUpdater::new(IrrConfig::new(source, members, "/var/lib/caribix/irr")).spawn();
//! let prefix = "192.0.2.0/24".parse().unwrap();
//! let _origin_ok: Option<bool> = irr.origin_allowed(64500, 64510);
//! let _prefix_ok: Option<bool> = irr.prefix_allowed(64500, &prefix);
//! irr.refresh_now(); // e.g. from the API; returns at once
//! # }
//! ```

pub mod expand;
pub mod member;
pub mod prefixset;
pub mod rpsl;
pub mod whois;

pub use expand::{ExpandError, Expansion, DEFAULT_MAX_DEPTH};
pub use member::{
    member_from_db, FetchError, IrrCache, IrrConfig, IrrGeneration, IrrSnapshot, IrrSource,
    IrrUpdater, MemberIrr, MemberSpec,
};
pub use prefixset::{PrefixSet, PrefixSetBuilder};
pub use rpsl::{
    parse_objects, AsSet, AutNum, IrrDb, IrrError, Member, ObjectReader, ObjectRef, ParseError,
    RpslObject,
};
pub use whois::{WhoisClient, WhoisError};
