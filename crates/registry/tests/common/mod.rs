//! Configuration text shared by the registry's integration tests.
//!
//! Not here: helpers that load or check it (each test file has its own,
//! with the error type it compares).

/// A valid single-IXP, dual-stack configuration of 15 lines (a `[ixp]`, a
/// `[[peering_lan]]`, a `[route_server]`); text appended after a blank
/// line starts on line 17. Tests compare error positions against this.
pub const BASE: &str = r#"[ixp]
shortname = "GPIX"
name = "Guadeloupe IXP"
country = "GP"

[[peering_lan]]
name = "main"
vlan = 10
ipv4 = "192.0.2.0/24"
ipv6 = "2001:db8:10::/64"

[route_server]
asn = 64500
router_id = "192.0.2.1"
listen = ["192.0.2.1:179", "[2001:db8:10::1]:179"]
"#;
