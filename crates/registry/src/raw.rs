//! The configuration file as written: serde structures that mirror the TOML
//! tables key for key, with `deny_unknown_fields` and a span on every value
//! that validation may need to point at.
//!
//! Values whose syntax is ours to check (addresses, prefixes, MACs, AS-SET
//! names, integers with ranges) are read as spanned strings or `i64` here and
//! checked in `validate`, so that one bad value does not hide the others:
//! serde stops at the first error of a table, validation does not.
//! This module does not check meaning; it only fixes the shape.

use serde::Deserialize;
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;

/// `[ixp]` or one `[[ixp]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ixp {
    pub(crate) shortname: S<String>,
    pub(crate) name: S<String>,
    pub(crate) country: S<String>,
    pub(crate) ixp_id: Option<S<i64>>,
    pub(crate) ixf_id: Option<S<i64>>,
    pub(crate) peeringdb_id: Option<S<i64>>,
    pub(crate) url: Option<S<String>>,
    pub(crate) support_email: Option<S<String>>,
    pub(crate) support_phone: Option<S<String>>,
    pub(crate) emergency_email: Option<S<String>>,
    pub(crate) emergency_phone: Option<S<String>>,
}

/// One `[[peering_lan]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeeringLan {
    pub(crate) name: S<String>,
    pub(crate) vlan: S<i64>,
    pub(crate) ipv4: Option<S<String>>,
    pub(crate) ipv6: Option<S<String>>,
    pub(crate) ixp: Option<S<String>>,
}

/// `[route_server]` or one `[[route_server]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteServer {
    pub(crate) name: Option<S<String>>,
    pub(crate) ixp: Option<S<String>>,
    pub(crate) asn: S<i64>,
    pub(crate) router_id: S<String>,
    pub(crate) listen: S<Vec<S<String>>>,
    pub(crate) hold_time: Option<S<i64>>,
    pub(crate) connect_retry: Option<S<i64>>,
    pub(crate) max_prefix_restart: Option<S<i64>>,
    pub(crate) graceful_restart: Option<bool>,
    pub(crate) graceful_restart_time: Option<S<i64>>,
}

/// `min`/`max` prefix length limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LenRange {
    pub(crate) min: Option<S<i64>>,
    pub(crate) max: Option<S<i64>>,
}

/// `rpki = { ... }` inside `[policy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rpki {
    pub(crate) rtr: Option<Vec<S<String>>>,
    pub(crate) reject_invalid: Option<bool>,
    pub(crate) aspa: Option<bool>,
    pub(crate) cache_dir: Option<S<String>>,
    pub(crate) aspa_json: Option<S<String>>,
}

/// `irr = { ... }` inside `[policy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Irr {
    pub(crate) rpsl_files: Option<Vec<S<String>>>,
    pub(crate) whois: Option<S<String>>,
    pub(crate) sources: Option<Vec<S<String>>>,
    pub(crate) refresh: Option<S<String>>,
    pub(crate) cache_dir: Option<S<String>>,
    pub(crate) check_origin: Option<bool>,
    pub(crate) check_prefix: Option<bool>,
}

/// `[policy]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Policy {
    pub(crate) rpki: Option<Rpki>,
    pub(crate) irr: Option<Irr>,
    pub(crate) ipv4_prefix_len: Option<S<LenRange>>,
    pub(crate) ipv6_prefix_len: Option<S<LenRange>>,
    pub(crate) max_as_path_len: Option<S<i64>>,
    pub(crate) reject_bogon_prefixes: Option<bool>,
    pub(crate) reject_bogon_asns: Option<bool>,
    pub(crate) check_first_as: Option<bool>,
    pub(crate) check_next_hop: Option<bool>,
    pub(crate) transit_free_asns: Option<Vec<S<i64>>>,
    pub(crate) never_via_route_servers_asns: Option<Vec<S<i64>>>,
    pub(crate) blocklist: Option<Vec<S<String>>>,
    pub(crate) blackhole: Option<bool>,
    pub(crate) graceful_shutdown: Option<bool>,
    pub(crate) default_max_prefix: Option<MaxPrefix>,
    pub(crate) max_prefix_action: Option<S<String>>,
}

/// `max_prefix = { ipv4, ipv6 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaxPrefix {
    pub(crate) ipv4: Option<S<i64>>,
    pub(crate) ipv6: Option<S<i64>>,
}

/// `[web]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Web {
    pub(crate) listen: S<String>,
}

/// `[flows]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Flows {
    pub(crate) sflow: Option<S<String>>,
    pub(crate) ipfix: Option<S<String>>,
    pub(crate) store: Option<S<String>>,
    pub(crate) retention_days: Option<S<i64>>,
    pub(crate) delegations: Option<Vec<S<String>>>,
    pub(crate) territory: Option<Vec<S<String>>>,
    #[serde(default)]
    pub(crate) router: Vec<FlowRouter>,
}

/// `[[flows.router]]`: a member border router exporting IPFIX/NetFlow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowRouter {
    pub(crate) exporter: S<String>,
    pub(crate) asn: S<i64>,
    #[serde(default)]
    pub(crate) ixp: Vec<S<i64>>,
    #[serde(default)]
    pub(crate) transit: Vec<S<i64>>,
    #[serde(default)]
    pub(crate) customer: Vec<S<i64>>,
}

/// `policy = { ... }` inside a `[[member]]`: the overrides a member may get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberPolicy {
    pub(crate) irr_as_set: Option<S<String>>,
    pub(crate) ipv4_prefix_len: Option<S<LenRange>>,
    pub(crate) ipv6_prefix_len: Option<S<LenRange>>,
    pub(crate) max_as_path_len: Option<S<i64>>,
    pub(crate) check_irr: Option<bool>,
    pub(crate) check_rpki: Option<bool>,
    pub(crate) check_transit_free: Option<bool>,
    pub(crate) blackhole: Option<bool>,
    pub(crate) blocklist: Option<Vec<S<String>>>,
    pub(crate) max_prefix_action: Option<S<String>>,
}

/// One `[[member]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Member {
    pub(crate) asn: S<i64>,
    pub(crate) name: S<String>,
    pub(crate) ixp: Option<S<String>>,
    pub(crate) as_set: Option<S<String>>,
    #[serde(default)]
    pub(crate) ipv4: Vec<S<String>>,
    #[serde(default)]
    pub(crate) ipv6: Vec<S<String>>,
    #[serde(default)]
    pub(crate) macs: Vec<S<String>>,
    pub(crate) max_prefix: Option<S<MaxPrefix>>,
    pub(crate) url: Option<S<String>>,
    pub(crate) peering_policy: Option<S<String>>,
    pub(crate) contact_email: Option<Vec<S<String>>>,
    pub(crate) route_server: Option<bool>,
    pub(crate) passive: Option<bool>,
    pub(crate) md5_password: Option<S<String>>,
    pub(crate) gtsm: Option<bool>,
    pub(crate) add_path: Option<bool>,
    pub(crate) extra_next_hops: Option<Vec<S<String>>>,
    pub(crate) policy: Option<MemberPolicy>,
    pub(crate) bridge_opt_in: Option<Vec<S<String>>>,
    pub(crate) bridge_opt_out: Option<Vec<S<String>>>,
}

/// `remote = { ... }` of a bridge to another operator's route server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Remote {
    pub(crate) shortname: S<String>,
    pub(crate) name: Option<S<String>>,
    pub(crate) asn: S<i64>,
    pub(crate) neighbors: S<Vec<S<String>>>,
    pub(crate) md5_password: Option<S<String>>,
}

/// One `[[bridge]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Bridge {
    pub(crate) name: S<String>,
    pub(crate) ixps: S<Vec<S<String>>>,
    pub(crate) remote: Option<Remote>,
    pub(crate) default: Option<S<String>>,
    pub(crate) max_prefix: Option<S<MaxPrefix>>,
}
