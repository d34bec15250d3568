//! Configuration text shared by the registry's integration tests.
//!
//! Not here: helpers that load or check it (each test file has its own,
//! with the error type it compares).
#![allow(dead_code, unreachable_pub)] // each test binary uses one of the texts

/// `[ixp]` and `[[peering_lan]]` up to its IPv4 prefix (9 lines).
macro_rules! ixp_and_lan_v4 {
    () => {
        r#"[ixp]
shortname = "GPIX"
name = "Guadeloupe IXP"
country = "GP"

[[peering_lan]]
name = "main"
vlan = 10
ipv4 = "192.0.2.0/24"
"#
    };
}

/// `[ixp]` and an IPv4 `[[peering_lan]]`, no route server (9 lines).
pub const IXP_LAN_V4: &str = ixp_and_lan_v4!();

/// A valid single-IXP, dual-stack configuration of 15 lines (a `[ixp]`, a
/// `[[peering_lan]]`, a `[route_server]`); text appended after a blank
/// line starts on line 17. Tests compare error positions against this.
pub const BASE: &str = concat!(
    ixp_and_lan_v4!(),
    r#"ipv6 = "2001:db8:10::/64"

[route_server]
asn = 64500
router_id = "192.0.2.1"
listen = ["192.0.2.1:179", "[2001:db8:10::1]:179"]
"#
);

/// [`BASE`] without IPv6 (14 lines): the LAN has no IPv6 prefix and the
/// route server listens on IPv4 only.
pub const BASE_V4: &str = concat!(
    ixp_and_lan_v4!(),
    r#"
[route_server]
asn = 64500
router_id = "192.0.2.1"
listen = ["192.0.2.1:179"]
"#
);
