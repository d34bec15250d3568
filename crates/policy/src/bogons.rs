//! Bogon prefixes and bogon AS numbers: address space and AS numbers that
//! must never appear in routes received at an Internet Exchange route
//! server (SPEC §3, reject codes 2 and 7).
//!
//! The lists are data, taken from the IANA special-purpose registries as
//! published on 2024-05 (IPv4 Special-Purpose Address Registry, RFC 6890;
//! IPv6 Special-Purpose Address Registry, RFC 6890; Special-Purpose AS
//! Numbers registry, RFC 7249), plus the default routes. Entries of the
//! registries that are "globally reachable" (such as 192.31.196.0/24
//! AS112-v4, 2001:4:112::/48 AS112-v6, 2620:4f:8000::/48) are not bogons
//! and are left out. This module does not fetch anything: updating the
//! lists is a code change.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::Prefix;

/// IPv4 bogons (IANA IPv4 Special-Purpose Address Registry, 2024-05).
/// A prefix inside one of these (or equal) is a bogon; `0.0.0.0/0` is
/// matched exactly (the default route).
pub const BOGONS_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "\"this\" network, RFC 791"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private use, RFC 1918"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared address space, RFC 6598",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback, RFC 1122"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link local, RFC 3927"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private use, RFC 1918"),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "IETF protocol assignments, RFC 6890",
    ),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        "documentation TEST-NET-1, RFC 5737",
    ),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "deprecated 6to4 relay anycast, RFC 7526",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private use, RFC 1918"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking, RFC 2544"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation TEST-NET-2, RFC 5737",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation TEST-NET-3, RFC 5737",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast, RFC 5771"),
    (
        Ipv4Addr::new(240, 0, 0, 0),
        4,
        "reserved, RFC 1112 (includes limited broadcast)",
    ),
];

/// IPv6 bogons (IANA IPv6 Special-Purpose Address Registry, 2024-05, and
/// the unassigned or special blocks outside global unicast that the
/// `2000::/3` check does not already cover).
pub const BOGONS_V6: &[(Ipv6Addr, u8, &str)] = &[
    (
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),
        8,
        "reserved by IETF (loopback, unspecified, IPv4-mapped), RFC 4291",
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        96,
        "IPv4-IPv6 translation, RFC 6052",
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local-use IPv4-IPv6 translation, RFC 8215",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        "discard-only, RFC 6666",
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "IETF protocol assignments (TEREDO, ORCHID, benchmarking), RFC 2928",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation, RFC 3849",
    ),
    (
        Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),
        16,
        "6to4, RFC 3056",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation, RFC 9637",
    ),
    (
        Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0),
        16,
        "segment routing SIDs, RFC 9602",
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "unique local, RFC 4193",
    ),
    (
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        10,
        "link local, RFC 4291",
    ),
    (
        Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
        10,
        "site local (deprecated), RFC 3879",
    ),
    (
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        8,
        "multicast, RFC 4291",
    ),
];

/// Prefixes inside the IANA IPv6 registry's reserved blocks that are
/// globally reachable and so not bogons (carved out of `2001::/23`).
const NOT_BOGONS_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0x2001, 0x4, 0x112, 0, 0, 0, 0, 0), 48), // AS112-v6, RFC 7535
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28),    // ORCHIDv2, RFC 7343
];

/// Bogon AS numbers (IANA Special-Purpose AS Numbers registry, 2024-05),
/// as inclusive ranges, with whether the range is private or documentation
/// use (which an IXP may choose to tolerate, see [`is_bogon_asn`]).
pub const BOGON_ASNS: &[(u32, u32, bool, &str)] = &[
    (0, 0, false, "reserved, RFC 7607"),
    (23456, 23456, false, "AS_TRANS, RFC 6793"),
    (64496, 64511, true, "documentation, RFC 5398"),
    (64512, 65534, true, "private use, RFC 6996"),
    (65535, 65535, false, "last 16-bit ASN, RFC 7300"),
    (65536, 65551, true, "documentation, RFC 5398"),
    (65552, 131071, false, "reserved by IANA"),
    (4200000000, 4294967294, true, "private use, RFC 6996"),
    (4294967295, 4294967295, false, "last 32-bit ASN, RFC 7300"),
];

/// Whether `p` is a bogon prefix: the default route, or inside (or equal
/// to) an entry of [`BOGONS_V4`] / [`BOGONS_V6`].
pub fn is_bogon_prefix(p: &Prefix) -> bool {
    if p.is_empty() {
        return true; // 0.0.0.0/0 and ::/0
    }
    match p {
        Prefix::V4(..) => BOGONS_V4
            .iter()
            .any(|&(a, l, _)| covers(Prefix::v4(a, l), p)),
        Prefix::V6(..) => {
            if NOT_BOGONS_V6
                .iter()
                .any(|&(a, l)| covers(Prefix::v6(a, l), p))
            {
                return false;
            }
            BOGONS_V6
                .iter()
                .any(|&(a, l, _)| covers(Prefix::v6(a, l), p))
        }
    }
}

fn covers(outer: Result<Prefix, bgp_wire::types::PrefixError>, p: &Prefix) -> bool {
    outer.is_ok_and(|o| o.contains(p))
}

/// Whether `asn` is a bogon. With `allow_private`, the private-use and
/// documentation ranges are tolerated (the reserved values never are).
pub fn is_bogon_asn(asn: u32, allow_private: bool) -> bool {
    BOGON_ASNS
        .iter()
        .any(|&(lo, hi, private, _)| (lo..=hi).contains(&asn) && !(allow_private && private))
}

/// Whether an IPv6 prefix lies inside global unicast `2000::/3` (RFC 4291
/// §2.4; reject code 10 otherwise). IPv4 prefixes are always "inside".
pub fn in_global_unicast(p: &Prefix) -> bool {
    match p {
        Prefix::V4(..) => true,
        Prefix::V6(a, len) => *len >= 3 && (*a >> 125) == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes() {
        assert!(is_bogon_prefix(&p("0.0.0.0/0")));
        assert!(is_bogon_prefix(&p("::/0")));
        assert!(is_bogon_prefix(&p("10.1.0.0/16")));
        assert!(is_bogon_prefix(&p("192.0.2.0/24")));
        assert!(!is_bogon_prefix(&p("193.0.0.0/21")));
        assert!(!is_bogon_prefix(&p("8.0.0.0/8")));
        // A covering prefix of a bogon is not itself a bogon.
        assert!(!is_bogon_prefix(&p("192.0.0.0/8")));
        assert!(is_bogon_prefix(&p("2001:db8:1::/48")));
        assert!(!is_bogon_prefix(&p("2001:4:112::/48")));
        assert!(!is_bogon_prefix(&p("2a00:1450::/32")));
        assert!(is_bogon_prefix(&p("fd00::/8")));
    }

    #[test]
    fn asns() {
        assert!(is_bogon_asn(0, true));
        assert!(is_bogon_asn(23456, true));
        assert!(is_bogon_asn(64500, false));
        assert!(!is_bogon_asn(64500, true));
        assert!(is_bogon_asn(70000, true));
        assert!(is_bogon_asn(4200000001, false));
        assert!(!is_bogon_asn(4200000001, true));
        assert!(is_bogon_asn(u32::MAX, true));
        assert!(!is_bogon_asn(3333, false));
        assert!(!is_bogon_asn(131072, false));
    }

    #[test]
    fn global_unicast() {
        assert!(in_global_unicast(&p("2a00::/12")));
        assert!(in_global_unicast(&p("3fff:1::/32")));
        assert!(!in_global_unicast(&p("4000::/12")));
        assert!(!in_global_unicast(&p("fd00::/8")));
        assert!(!in_global_unicast(&p("::/0")));
    }
}
