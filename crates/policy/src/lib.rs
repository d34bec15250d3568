//! The IXP import policy of the caribix route server (SPEC §3): the
//! filters that arouteserver generates for BIRD and OpenBGPD, as a
//! `routeserver::Policy`, with every reject reason kept and explained.
//!
//! - [`IxpPolicy`] judges each received route: bogon prefixes and ASNs,
//!   prefix lengths, NEXT_HOP, first AS, AS_PATH length, transit-free and
//!   never-via-route-servers ASNs, IPv6 outside `2000::/3`, blocklists,
//!   address family, RPKI ROV (RFC 6811) and ASPA, IRR origin and prefix.
//!   Rejected routes carry their reasons as `RS:1101:CODE` large
//!   communities ([`code`], the Euro-IX codes of arouteserver).
//! - [`communities`] reads the export-control communities into
//!   `rib::ExportCtl`, and handles BLACKHOLE (RFC 7999) and
//!   GRACEFUL_SHUTDOWN (RFC 8326).
//! - [`bogons`] holds the IANA special-purpose registries as data.
//! - [`RpkiView`] and [`IrrView`] are what the RPKI and IRR crates
//!   implement; this crate never fetches data. A check whose view is not
//!   set is off.
//!
//! Not here: max-prefix counting (the route server does it with the limits
//! [`IxpPolicy`] provides), export-side filtering (the RIB applies the
//! `ExportCtl`).

pub mod bogons;
pub mod communities;
mod ixp;

pub use ixp::{ChecksOn, IxpPolicy, MemberSettings, Settings, Verdict};

/// Route origin validation state (RFC 6811 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RovState {
    /// A VRP covers the prefix and matches origin and length.
    Valid,
    /// A VRP covers the prefix, none matches.
    Invalid,
    /// No VRP covers the prefix.
    NotFound,
}

/// RPKI data as the policy consults it (implemented by the RPKI crate).
pub trait RpkiView: Send + Sync + std::fmt::Debug {
    /// Route origin validation (RFC 6811) of `prefix` originated by `origin` (None when the path ends in an AS_SET).
    fn rov(&self, prefix: &bgp_wire::Prefix, origin: Option<u32>) -> RovState;
    /// ASPA upstream verification of an AS path (left-most = neighbour); None when no ASPA data.
    fn aspa_upstream_valid(&self, _path: &[u32]) -> Option<bool> {
        None
    }
}

/// IRR data as the policy consults it (implemented by the IRR crate).
pub trait IrrView: Send + Sync + std::fmt::Debug {
    /// Whether `origin` is in the expansion of the member's AS-SET (or is the member's AS when it has none); None when no IRR data is loaded for that member.
    fn origin_allowed(&self, member_asn: u32, origin: u32) -> Option<bool>;
    /// Whether `prefix` is covered by a route/route6 object of an ASN of the member's expansion (exact or more specific up to the configured max length); None when no data.
    fn prefix_allowed(&self, member_asn: u32, prefix: &bgp_wire::Prefix) -> Option<bool>;
}

/// Reject reason codes: bit `n` of a reject mask, and the `CODE` of the
/// `RS:1101:CODE` large community. 1-15 are the Euro-IX codes
/// arouteserver uses (SPEC §3); 16 is caribix's own.
pub mod code {
    /// AS_PATH too long.
    pub const AS_PATH_TOO_LONG: u32 = 1;
    /// Bogon prefix.
    pub const BOGON_PREFIX: u32 = 2;
    /// Prefix on the global blocklist.
    pub const GLOBAL_BLOCKLIST: u32 = 3;
    /// Invalid AFI (prefix and next hop of different families).
    pub const INVALID_AFI: u32 = 4;
    /// NEXT_HOP not the member's.
    pub const INVALID_NEXT_HOP: u32 = 5;
    /// Left-most AS not the member's.
    pub const INVALID_LEFT_MOST_ASN: u32 = 6;
    /// Bogon ASN in AS_PATH.
    pub const INVALID_ASN_IN_PATH: u32 = 7;
    /// Transit-free ASN in AS_PATH.
    pub const TRANSIT_FREE_ASN: u32 = 8;
    /// Origin AS not in the member's AS-SET.
    pub const ORIGIN_NOT_IN_AS_SET: u32 = 9;
    /// IPv6 prefix outside 2000::/3.
    pub const IPV6_NOT_GLOBAL_UNICAST: u32 = 10;
    /// Prefix on the member's blocklist.
    pub const MEMBER_BLOCKLIST: u32 = 11;
    /// Prefix not covered by the member's IRR objects.
    pub const PREFIX_NOT_IN_AS_SET: u32 = 12;
    /// Prefix length out of range.
    pub const INVALID_PREFIX_LEN: u32 = 13;
    /// RPKI invalid.
    pub const RPKI_INVALID: u32 = 14;
    /// Never-via-route-servers ASN in AS_PATH.
    pub const NEVER_VIA_ROUTE_SERVERS: u32 = 15;
    /// ASPA: the path is not a valid upstream path (caribix's own code).
    pub const ASPA_INVALID: u32 = 16;
}

/// A reject reason code in words, for the looking glass.
pub fn reason_text(code: u32) -> &'static str {
    match code {
        1 => "AS_PATH is too long",
        2 => "bogon prefix",
        3 => "prefix is on the global blocklist",
        4 => "address family of prefix and next hop differ",
        5 => "NEXT_HOP is not the member's address",
        6 => "left-most AS is not the member's AS",
        7 => "AS_PATH holds a bogon or reserved ASN",
        8 => "AS_PATH holds a transit-free network's ASN",
        9 => "origin AS is not in the member's AS-SET",
        10 => "IPv6 prefix is not global unicast",
        11 => "prefix is on the member's blocklist",
        12 => "prefix is not covered by the member's IRR objects",
        13 => "prefix length out of range",
        14 => "RPKI invalid",
        15 => "AS_PATH holds a never-via-route-servers ASN",
        16 => "ASPA: AS_PATH is not a valid upstream path",
        _ => "rejected by policy",
    }
}

/// The reason codes of a reject mask, lowest first.
pub fn reasons(mask: u32) -> impl Iterator<Item = u32> {
    (1..32).filter(move |c| mask & (1 << c) != 0)
}
