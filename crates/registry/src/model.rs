//! The validated configuration: typed values with every default filled in.
//!
//! A [`Config`] can only be obtained through validation (`Config::load`,
//! `Config::from_toml`), so code that consumes it can rely on what
//! validation guarantees: addresses inside the peering LANs, no duplicate
//! addresses or MACs, usable AS numbers, prefix-length limits in range,
//! every `ixp` reference resolved. Serialising it (see
//! [`Config::effective_toml`]) gives a file in the same format that loads
//! back to the same value.
//!
//! This module holds data only; it does not run anything.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use bgp_wire::Prefix;
use serde::{Serialize, Serializer};

use crate::diag::Diagnostics;
use crate::syntax::Mac;

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn ser_prefix_opt<S: Serializer>(p: &Option<Prefix>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.collect_str(p),
        None => s.serialize_none(),
    }
}

fn ser_prefixes<S: Serializer>(p: &[Prefix], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(p.iter().map(|p| p.to_string()))
}

/// Default IPv4 prefix lengths accepted from members (SPEC §3, arouteserver).
pub const DEFAULT_IPV4_PREFIX_LEN: LenRange = LenRange { min: 8, max: 24 };
/// Default IPv6 prefix lengths accepted from members (SPEC §3, arouteserver).
pub const DEFAULT_IPV6_PREFIX_LEN: LenRange = LenRange { min: 12, max: 48 };
/// Default maximum AS_PATH length (arouteserver's default).
pub const DEFAULT_MAX_AS_PATH_LEN: u8 = 32;
/// Default per-family max-prefix limit for members that have none.
pub const DEFAULT_MAX_PREFIX: MaxPrefix = MaxPrefix {
    ipv4: 100,
    ipv6: 50,
};
/// Networks that buy no transit and so never appear behind an IXP member:
/// a path through them at a route server is a leak. The list is
/// arouteserver's default `filtering.transit_free.asns` as its reference
/// `config.d/general.yml` gives it (checked in November 2026): Cogent,
/// Verizon, Arelion, NTT, GTT, DTAG, Lumen, Orange, Tata, Zayo, Sparkle,
/// Vodafone (6830), AT&T and Telefonica (12956).
pub const DEFAULT_TRANSIT_FREE_ASNS: &[u32] = &[
    174, 701, 1299, 2914, 3257, 3320, 3356, 5511, 6453, 6461, 6762, 6830, 7018, 12956,
];

/// The default IRR refresh interval (6 hours).
pub const DEFAULT_IRR_REFRESH_SECS: u64 = 6 * 3600;

/// The whole validated configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// IXPs described by the file (one in the single-IXP form).
    #[serde(rename = "ixp")]
    pub ixps: Vec<Ixp>,
    /// Peering LANs of every IXP.
    #[serde(rename = "peering_lan")]
    pub peering_lans: Vec<PeeringLan>,
    /// Route server instances of every IXP.
    #[serde(rename = "route_server", skip_serializing_if = "Vec::is_empty")]
    pub route_servers: Vec<RouteServer>,
    /// Global filter settings.
    pub policy: Policy,
    /// The dashboard and API listener, if enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<Web>,
    /// Flow collection, if enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flows: Option<Flows>,
    /// Members of every IXP.
    #[serde(rename = "member")]
    pub members: Vec<Member>,
    /// Route-server bridges (SPEC §7).
    #[serde(rename = "bridge", skip_serializing_if = "Vec::is_empty")]
    pub bridges: Vec<Bridge>,
    /// Warnings found while validating (the file had no errors).
    #[serde(skip)]
    pub warnings: Option<Diagnostics>,
}

/// One Internet Exchange Point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ixp {
    /// Short name, unique in the file, used to refer to this IXP (`GPIX`).
    pub shortname: String,
    /// Full name.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code (`GP`, `MF`, `BL`, `SX`).
    pub country: String,
    /// Numeric identifier, unique in the file; the IX-F `ixp_id`; also the
    /// value that tags routes with their IXP of origin on bridges.
    pub ixp_id: u32,
    /// The IX-F database identifier, needed for an IX-F export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ixf_id: Option<u32>,
    /// PeeringDB IX identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peeringdb_id: Option<u32>,
    /// Web site (http or https URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// NOC e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_email: Option<String>,
    /// NOC phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_phone: Option<String>,
    /// Emergency e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency_email: Option<String>,
    /// Emergency phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency_phone: Option<String>,
}

/// A shared layer-2 peering LAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeeringLan {
    /// Name, unique within its IXP.
    pub name: String,
    /// Shortname of the IXP it belongs to.
    pub ixp: String,
    /// 802.1Q VLAN ID, 1-4094.
    pub vlan: u16,
    /// IPv4 subnet of the LAN.
    #[serde(
        serialize_with = "ser_prefix_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4: Option<Prefix>,
    /// IPv6 subnet of the LAN.
    #[serde(
        serialize_with = "ser_prefix_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6: Option<Prefix>,
}

impl PeeringLan {
    /// True when `addr` lies in one of this LAN's subnets.
    pub fn contains(&self, addr: IpAddr) -> bool {
        [self.ipv4, self.ipv6]
            .iter()
            .flatten()
            .any(|p| p.contains_addr(addr))
    }
}

/// A route server instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteServer {
    /// Name, unique in the file (default `SHORTNAME-rsN`).
    pub name: String,
    /// Shortname of the IXP it serves.
    pub ixp: String,
    /// Its AS number (never put in AS_PATH, RFC 7947 §2.2.2.1).
    pub asn: u32,
    /// BGP Identifier (RFC 4271 §4.2).
    pub router_id: Ipv4Addr,
    /// Addresses and ports to accept BGP sessions on.
    pub listen: Vec<SocketAddr>,
    /// Hold time offered in OPEN, seconds; 0 or 3-65535 (RFC 4271 §4.2). Default 90.
    pub hold_time: u16,
    /// ConnectRetryTimer, seconds (RFC 4271 §10). Default 30.
    pub connect_retry: u32,
    /// Minutes before a session torn down for exceeding max-prefix is
    /// restarted; 0 keeps it down until an operator acts. Default 15.
    pub max_prefix_restart: u32,
    /// Act as graceful-restart receiving speaker (RFC 4724). Default true.
    pub graceful_restart: bool,
    /// Restart time announced in the Graceful Restart capability, and the
    /// longest a restarting member's stale routes are kept (its own
    /// restart time if shorter), seconds, 1-4095. Default 120.
    pub graceful_restart_time: u16,
}

/// Inclusive prefix-length limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LenRange {
    /// Shortest accepted length.
    pub min: u8,
    /// Longest accepted length.
    pub max: u8,
}

/// Per-family max-prefix limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxPrefix {
    /// Limit on accepted IPv4 prefixes.
    pub ipv4: u32,
    /// Limit on accepted IPv6 prefixes.
    pub ipv6: u32,
}

/// RPKI settings. Route origin validation is on exactly when `rtr` names
/// at least one cache (SPEC §3: a check without a data source is off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rpki {
    /// RTR caches (RFC 8210), `host:port`.
    pub rtr: Vec<String>,
    /// Reject RPKI-invalid routes (RFC 6811). Default true.
    pub reject_invalid: bool,
    /// Verify AS paths with ASPA where the cache provides it. Default true.
    pub aspa: bool,
    /// Directory where the last good VRP set is kept, relative to the
    /// configuration file's directory. Default `cache/rpki`.
    pub cache_dir: String,
    /// An rpki-client JSON file whose `aspas` replace the ASPA records
    /// received over RTR (for caches that do not serve ASPA in a form the
    /// client reads), relative to the configuration file's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspa_json: Option<String>,
}

fn ser_secs<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{n}s"))
}

/// What exceeding a member's max-prefix limit does (arouteserver's
/// `max_prefix.action` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxPrefixAction {
    /// Cease (RFC 4486 subcode 1), then the session comes back after
    /// `max_prefix_restart` minutes (the default).
    Restart,
    /// Cease, and the session stays down until caribix is restarted.
    Shutdown,
    /// Log the excess and count it; the session stays up and the routes
    /// are kept.
    Warning,
}

/// IRR settings. IRR filtering is on exactly when `rpsl_files` is not
/// empty or `whois` is set (one or the other, not both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Irr {
    /// RPSL files (route, route6, as-set, aut-num objects), relative to the
    /// configuration file's directory.
    pub rpsl_files: Vec<String>,
    /// An IRRd-compatible whois server, `host:port` (`!i`, `!g`, `!6`
    /// queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whois: Option<String>,
    /// IRR sources the whois server is asked to use (`!s`), in order;
    /// empty: the server's default.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Seconds between refreshes. Default 6 hours.
    #[serde(rename = "refresh", serialize_with = "ser_secs")]
    pub refresh_secs: u64,
    /// Directory where each member's last good data is kept, relative to
    /// the configuration file's directory. Default `cache/irr`.
    pub cache_dir: String,
    /// Reject routes whose origin is not in the member's AS-SET. Default true.
    pub check_origin: bool,
    /// Reject prefixes not covered by route objects of the AS-SET. Default true.
    pub check_prefix: bool,
}

/// Global import policy (SPEC §3); every field has a secure default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Accepted IPv4 prefix lengths. Default 8-24.
    pub ipv4_prefix_len: LenRange,
    /// Accepted IPv6 prefix lengths. Default 12-48.
    pub ipv6_prefix_len: LenRange,
    /// Longest accepted AS_PATH (reject code 1). Default 32.
    pub max_as_path_len: u8,
    /// Reject bogon prefixes (code 2). Default true.
    pub reject_bogon_prefixes: bool,
    /// Reject bogon ASNs in AS_PATH (code 7). Default true.
    pub reject_bogon_asns: bool,
    /// Left-most AS must be the member's (code 6). Default true.
    pub check_first_as: bool,
    /// NEXT_HOP must be the member's own or allowed address (code 5). Default true.
    pub check_next_hop: bool,
    /// Transit-free ASNs rejected in paths (code 8).
    pub transit_free_asns: Vec<u32>,
    /// PeeringDB "never via route servers" ASNs (code 15).
    pub never_via_route_servers_asns: Vec<u32>,
    /// Global prefix blocklist (code 3).
    #[serde(serialize_with = "ser_prefixes")]
    pub blocklist: Vec<Prefix>,
    /// Accept BLACKHOLE (RFC 7999) more-specifics of a member's space. Default true.
    pub blackhole: bool,
    /// Honour GRACEFUL_SHUTDOWN (RFC 8326). Default true.
    pub graceful_shutdown: bool,
    /// Max-prefix for members that have none.
    pub default_max_prefix: MaxPrefix,
    /// What exceeding a max-prefix limit does. Default `restart`.
    pub max_prefix_action: MaxPrefixAction,
    /// RPKI.
    pub rpki: Rpki,
    /// IRR.
    pub irr: Irr,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            ipv4_prefix_len: DEFAULT_IPV4_PREFIX_LEN,
            ipv6_prefix_len: DEFAULT_IPV6_PREFIX_LEN,
            max_as_path_len: DEFAULT_MAX_AS_PATH_LEN,
            reject_bogon_prefixes: true,
            reject_bogon_asns: true,
            check_first_as: true,
            check_next_hop: true,
            transit_free_asns: DEFAULT_TRANSIT_FREE_ASNS.to_vec(),
            never_via_route_servers_asns: Vec::new(),
            blocklist: Vec::new(),
            blackhole: true,
            graceful_shutdown: true,
            default_max_prefix: DEFAULT_MAX_PREFIX,
            max_prefix_action: MaxPrefixAction::Restart,
            rpki: Rpki {
                rtr: Vec::new(),
                reject_invalid: true,
                aspa: true,
                cache_dir: "cache/rpki".to_owned(),
                aspa_json: None,
            },
            irr: Irr {
                rpsl_files: Vec::new(),
                whois: None,
                sources: Vec::new(),
                refresh_secs: DEFAULT_IRR_REFRESH_SECS,
                cache_dir: "cache/irr".to_owned(),
                check_origin: true,
                check_prefix: true,
            },
        }
    }
}

impl Policy {
    /// True when an RTR cache is configured (the RPKI checks are on).
    pub fn rpki_enabled(&self) -> bool {
        !self.rpki.rtr.is_empty()
    }

    /// True when IRR data is configured (the IRR checks are on).
    pub fn irr_enabled(&self) -> bool {
        !self.irr.rpsl_files.is_empty() || self.irr.whois.is_some()
    }
}

/// The web listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Web {
    /// Address and port of the dashboard and API.
    pub listen: SocketAddr,
}

/// Where flow records are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowStore {
    /// Embedded SQLite database at this path (`sqlite:PATH`).
    Sqlite(PathBuf),
    /// ClickHouse HTTP endpoint (`clickhouse://...`), kept verbatim.
    Clickhouse(String),
}

impl Serialize for FlowStore {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FlowStore::Sqlite(p) => s.collect_str(&format_args!("sqlite:{}", p.display())),
            FlowStore::Clickhouse(u) => s.serialize_str(u),
        }
    }
}

/// Flow collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flows {
    /// sFlow v5 listener (UDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sflow: Option<SocketAddr>,
    /// IPFIX / NetFlow v9 listener (UDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfix: Option<SocketAddr>,
    /// Storage. Default `sqlite:data/flows.db`.
    pub store: FlowStore,
    /// Days of 1-minute data kept. Default 90.
    pub retention_days: u32,
    /// RIR extended delegation files (`delegated-*-extended`) naming the
    /// territory's address space, for local-traffic identification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delegations: Vec<PathBuf>,
    /// Country codes of the territory in those files. Default: the IXPs'
    /// `country` codes.
    pub territory: Vec<String>,
    /// Member border routers exporting IPFIX/NetFlow v9, with the roles of
    /// their interfaces.
    #[serde(rename = "router", skip_serializing_if = "Vec::is_empty")]
    pub routers: Vec<FlowRouter>,
}

/// A member border router that exports flows (`[[flows.router]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowRouter {
    /// The address its exports come from.
    pub exporter: IpAddr,
    /// The member owning it.
    pub asn: u32,
    /// ifIndexes of its ports on the IXP peering LAN.
    pub ixp: Vec<u32>,
    /// ifIndexes facing transit providers.
    pub transit: Vec<u32>,
    /// ifIndexes facing customers or the member's own network.
    pub customer: Vec<u32>,
}

/// Per-member policy overrides; `None` means "as the global policy".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberPolicy {
    /// AS-SET used for IRR filtering instead of `as_set`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub irr_as_set: Option<String>,
    /// IPv4 prefix lengths for this member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_prefix_len: Option<LenRange>,
    /// IPv6 prefix lengths for this member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_prefix_len: Option<LenRange>,
    /// AS_PATH length limit for this member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_as_path_len: Option<u8>,
    /// IRR checks for this member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_irr: Option<bool>,
    /// RPKI checks for this member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_rpki: Option<bool>,
    /// Transit-free ASN check (off for a transit-free network itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_transit_free: Option<bool>,
    /// Accept BLACKHOLE from this member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blackhole: Option<bool>,
    /// Prefixes never accepted from this member (code 11).
    #[serde(serialize_with = "ser_prefixes", skip_serializing_if = "Vec::is_empty")]
    pub blocklist: Vec<Prefix>,
    /// What exceeding this member's max-prefix limit does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_prefix_action: Option<MaxPrefixAction>,
}

impl MemberPolicy {
    fn is_empty(&self) -> bool {
        *self == MemberPolicy::default()
    }
}

/// A member network at one IXP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// AS number.
    pub asn: u32,
    /// Name of the network.
    pub name: String,
    /// Shortname of the IXP.
    pub ixp: String,
    /// AS-SET of the member's customer cone, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_set: Option<String>,
    /// Addresses on the IPv4 peering LAN(s).
    pub ipv4: Vec<Ipv4Addr>,
    /// Addresses on the IPv6 peering LAN(s).
    pub ipv6: Vec<Ipv6Addr>,
    /// MAC addresses of the member's router ports.
    pub macs: Vec<Mac>,
    /// Max-prefix limits (filled from `policy.default_max_prefix`).
    pub max_prefix: MaxPrefix,
    /// Web site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Peering policy (`open`, `selective`, `restrictive`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peering_policy: Option<String>,
    /// Contact e-mails.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contact_email: Vec<String>,
    /// Peers with the route server. Default true.
    pub route_server: bool,
    /// The route server only accepts connections, never connects. Default false.
    pub passive: bool,
    /// TCP MD5 signature password (RFC 2385).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5_password: Option<String>,
    /// Require TTL 255 (GTSM, RFC 5082). Default false.
    pub gtsm: bool,
    /// Send ADD-PATH (RFC 7911) to this member. Default false.
    pub add_path: bool,
    /// Next hops this member may announce besides its own addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_next_hops: Vec<IpAddr>,
    /// Policy overrides.
    #[serde(skip_serializing_if = "MemberPolicy::is_empty")]
    pub policy: MemberPolicy,
    /// Bridges this member's routes cross although their default is off.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bridge_opt_in: Vec<String>,
    /// Bridges this member's routes do not cross although their default is on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bridge_opt_out: Vec<String>,
}

impl Member {
    /// All of the member's LAN addresses, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.ipv4
            .iter()
            .map(|a| IpAddr::V4(*a))
            .chain(self.ipv6.iter().map(|a| IpAddr::V6(*a)))
    }

    /// The AS-SET to expand for IRR filtering: the override, else `as_set`.
    pub fn irr_as_set(&self) -> Option<&str> {
        self.policy.irr_as_set.as_deref().or(self.as_set.as_deref())
    }
}

/// Whether a bridge carries a member's routes when the member said nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BridgeDefault {
    /// Members cross unless they opt out.
    On,
    /// Only members that opt in cross (the default).
    Off,
}

/// The other side of a bridge to another operator's route server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remote {
    /// Short name of the remote IXP (used in origin communities and the looking glass).
    pub shortname: String,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// AS number of the remote route server.
    pub asn: u32,
    /// Addresses of the remote route server(s).
    pub neighbors: Vec<IpAddr>,
    /// TCP MD5 password for the bridge session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5_password: Option<String>,
}

/// A bridge between route servers (SPEC §7): either between two or more of
/// this file's IXPs (`remote` absent) or from one of them to another
/// operator's route server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bridge {
    /// Name, unique in the file; members refer to it in `bridge_opt_in/out`.
    pub name: String,
    /// Shortnames of the local IXPs whose route servers the bridge joins.
    pub ixps: Vec<String>,
    /// The remote side, for a bridge to another operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<Remote>,
    /// Crossing by default or only on opt-in.
    pub default: BridgeDefault,
    /// Limits on routes received over the bridge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_prefix: Option<MaxPrefix>,
}

impl Bridge {
    /// True when the bridge carries routes of `member`, considering its default
    /// and the member's opt-in/opt-out lists.
    pub fn carries(&self, member: &Member) -> bool {
        if !self.ixps.contains(&member.ixp) {
            return false;
        }
        match self.default {
            BridgeDefault::On => !member.bridge_opt_out.contains(&self.name),
            BridgeDefault::Off => member.bridge_opt_in.contains(&self.name),
        }
    }
}

impl Config {
    /// The IXP with this shortname.
    pub fn ixp(&self, shortname: &str) -> Option<&Ixp> {
        self.ixps.iter().find(|i| i.shortname == shortname)
    }

    /// Members of one IXP.
    pub fn members_of<'a>(&'a self, ixp: &'a str) -> impl Iterator<Item = &'a Member> + 'a {
        self.members.iter().filter(move |m| m.ixp == ixp)
    }

    /// Peering LANs of one IXP.
    pub fn lans_of<'a>(&'a self, ixp: &'a str) -> impl Iterator<Item = &'a PeeringLan> + 'a {
        self.peering_lans.iter().filter(move |l| l.ixp == ixp)
    }

    /// Route servers of one IXP.
    pub fn route_servers_of<'a>(
        &'a self,
        ixp: &'a str,
    ) -> impl Iterator<Item = &'a RouteServer> + 'a {
        self.route_servers.iter().filter(move |r| r.ixp == ixp)
    }

    /// The member that owns a LAN address.
    pub fn member_by_address(&self, addr: IpAddr) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.addresses().any(|a| a == addr))
    }

    /// The effective configuration as TOML, every default written out. The
    /// output loads back to an equal `Config`. It contains the MD5
    /// passwords, like the file it came from.
    pub fn effective_toml(&self) -> String {
        match toml::to_string(self) {
            Ok(s) => s,
            // Every field is a string, integer, bool, array or table:
            // serialisation to TOML cannot fail on this data model.
            Err(e) => format!("# internal error: cannot serialise the configuration: {e}\n"),
        }
    }
}
