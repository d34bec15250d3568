//! Parsing of the RIRs' extended delegation format against the sample file.

use std::net::IpAddr;
use traffic::{parse_delegations, LocalNets, Via};

const SAMPLE: &str = include_str!("data/delegated-lacnic-extended-sample");

#[test]
fn keeps_the_territory_and_splits_ipv4_counts() {
    let d = parse_delegations(SAMPLE, &["GP", "MF", "BL", "sx"]).unwrap();
    let prefixes: Vec<String> = d
        .prefixes
        .iter()
        .map(|(p, cc, _)| format!("{cc} {p}"))
        .collect();
    assert_eq!(
        prefixes,
        [
            "GP 198.18.0.0/21",
            "GP 198.18.8.0/22",
            "MF 198.18.12.0/22",
            "SX 198.19.0.0/24",
            "SX 198.19.1.0/25",
            "BL 198.19.2.0/24",
            "GP 2001:db8:100::/40",
            "SX 2001:db8:200::/48",
        ]
    );
    let asns: Vec<(u32, u32)> = d.asns.iter().map(|a| (a.0, a.1)).collect();
    assert_eq!(asns, [(64503, 1), (64504, 1), (64510, 2)]);
    assert!(d.has_asn(64511));
    assert!(!d.has_asn(64520));
    let holders = d.holder_asns();
    assert_eq!(holders.get("c3d9e1207ab5"), Some(&64510));
}

#[test]
fn lookups_name_the_holder() {
    let d = parse_delegations(SAMPLE, &["GP", "MF", "BL", "SX"]).unwrap();
    let mut nets = LocalNets::new();
    nets.set_delegations(&d);
    let at = |n: &LocalNets, s: &str| n.lookup(s.parse::<IpAddr>().unwrap());
    let l = at(&nets, "198.19.1.100").unwrap();
    assert_eq!((l.asn, l.via), (Some(64510), Via::Delegation));
    // BL block: holder has no ASN in the file.
    assert_eq!(at(&nets, "198.19.2.9").unwrap().asn, None);
    assert_eq!(at(&nets, "198.19.1.200"), None, "past the 384 addresses");
    assert_eq!(at(&nets, "198.19.130.1"), None, "another country");
    assert_eq!(at(&nets, "198.19.4.1"), None, "available space");
    assert_eq!(at(&nets, "2001:db8:1ff::1").unwrap().asn, Some(64503));
    assert!(nets.is_local_asn(64504));
    // Route server prefixes take precedence for the origin.
    nets.set_route_server_prefixes([("198.18.0.0/24".parse().unwrap(), 64999)]);
    let l = at(&nets, "198.18.0.1").unwrap();
    assert_eq!((l.asn, l.via), (Some(64999), Via::RouteServer));
    assert_eq!(nets.sizes(), (1, 8));
}

#[test]
fn bad_rows_say_which_line() {
    let bad = [
        (
            "2|lacnic|x|1|2|3|4\nlacnic|GP|ipv4|198.18.0.999|256|20080312|allocated|x",
            2,
            "IPv4 start",
        ),
        (
            "2|lacnic|x|1|2|3|4\nlacnic|GP|ipv4|198.18.0.0|many|20080312|allocated|x",
            2,
            "count",
        ),
        (
            "2|lacnic|x|1|2|3|4\nlacnic|GP|ipv4|255.255.255.0|512|20080312|allocated|x",
            2,
            "passes",
        ),
        (
            "2|lacnic|x|1|2|3|4\n\nlacnic|GP|ipv6|2001:db8::|129|20080312|allocated|x",
            3,
            "prefix",
        ),
        (
            "2|lacnic|x|1|2|3|4\nlacnic|GP|asn|4294967295|2|20080312|allocated|x",
            2,
            "ASN range",
        ),
        ("2|lacnic|x|1|2|3|4\nlacnic|GP|ipv4", 2, "3 fields"),
        (
            "2|lacnic|x|1|2|3|4\nlacnic|GP|ipx|1|1|20080312|allocated|x",
            2,
            "resource type",
        ),
        ("2|lacnic", 1, "version line"),
    ];
    for (text, line, what) in bad {
        let e = parse_delegations(text, &["GP"]).unwrap_err();
        assert_eq!(e.line, line, "{text}");
        assert!(e.to_string().contains(what), "{e} lacks {what}");
    }
    // Rows of other countries are skipped before their values are read.
    assert!(
        parse_delegations("2|l|x|1|2|3|4\nlacnic|BR|ipv4|bad|1|2|allocated|x", &["GP"]).is_ok()
    );
}
