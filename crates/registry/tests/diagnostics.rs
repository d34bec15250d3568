//! Bytes in, diagnostics out: one small configuration per error kind, with
//! the exact line and column each finding must point at.

mod common;

use std::path::Path;

use registry::{line_col, Config, Diagnostics, Severity};

use common::BASE;

fn check(src: &str) -> Diagnostics {
    Config::check_str(Path::new("t.toml"), src).1
}

fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}")
}

/// Findings as (severity, line, column, message).
fn found(d: &Diagnostics) -> Vec<(Severity, usize, usize, String)> {
    d.items
        .iter()
        .map(|x| {
            let lc = x
                .span
                .as_ref()
                .map_or(line_col("", 0), |s| line_col(&d.source, s.start));
            (x.severity, lc.line, lc.col, x.message.clone())
        })
        .collect()
}

#[track_caller]
fn expect(d: &Diagnostics, sev: Severity, line: usize, col: usize, needle: &str) {
    let f = found(d);
    assert!(
        f.iter()
            .any(|(s, l, c, m)| *s == sev && *l == line && *c == col && m.contains(needle)),
        "expected {sev:?} at {line}:{col} containing {needle:?}; found:\n{}",
        d.render()
    );
}

#[track_caller]
fn only_error(src: &str, line: usize, col: usize, needle: &str) {
    let d = check(src);
    expect(&d, Severity::Error, line, col, needle);
    assert_eq!(
        d.error_count(),
        1,
        "exactly one error expected:\n{}",
        d.render()
    );
}

const MEMBER: &str =
    "[[member]]\nasn = 64501\nname = \"M\"\nmax_prefix = { ipv4 = 10, ipv6 = 10 }\n";

#[test]
fn base_is_valid_without_warnings() {
    let d = check(&with(&format!("{MEMBER}ipv4 = [\"192.0.2.11\"]\n")));
    assert_eq!(d.items, vec![], "{}", d.render());
}

#[test]
fn toml_syntax_error() {
    only_error(
        "[ixp]\nshortname = \"GPIX\nname = \"x\"\n",
        2,
        18,
        "TOML syntax",
    );
}

#[test]
fn unknown_top_level_key() {
    only_error(
        &with("[webb]\nlisten = \"127.0.0.1:80\"\n"),
        17,
        2,
        "unknown top-level key `webb`",
    );
}

#[test]
fn unknown_member_key() {
    only_error(
        &with(&format!("{MEMBER}ipv4 = [\"192.0.2.11\"]\nmd5 = \"x\"\n")),
        22,
        1,
        "unknown key `md5`",
    );
}

#[test]
fn unknown_key_in_inline_table() {
    only_error(
        &with(&format!(
            "{MEMBER}ipv4 = [\"192.0.2.11\"]\npolicy = {{ max_path = 3 }}\n"
        )),
        22,
        12,
        "unknown key `max_path`",
    );
}

#[test]
fn wrong_type() {
    only_error(
        &with("[[member]]\nasn = \"64501\"\nname = \"M\"\nipv4 = [\"192.0.2.11\"]\n"),
        18,
        7,
        "invalid type: string \"64501\"",
    );
}

#[test]
fn missing_required_key() {
    let d = check(&with("[[member]]\nasn = 64501\nipv4 = [\"192.0.2.11\"]\n"));
    expect(
        &d,
        Severity::Error,
        17,
        1,
        "in [[member]]: missing key `name`",
    );
}

#[test]
fn invalid_addresses() {
    let d = check(&with(&format!(
        "{MEMBER}ipv4 = [\"192.0.2.300\", \"2001:db8:10::5\", \"192.0.2.0/24\"]\nipv6 = [\"192.0.2.12\"]\n"
    )));
    expect(
        &d,
        Severity::Error,
        21,
        9,
        "`192.0.2.300` is not an IP address",
    );
    expect(
        &d,
        Severity::Error,
        21,
        24,
        "`2001:db8:10::5` is not an IPv4 address",
    );
    expect(&d, Severity::Error, 21, 42, "is a prefix");
    expect(
        &d,
        Severity::Error,
        22,
        9,
        "`192.0.2.12` is not an IPv6 address",
    );
    assert_eq!(d.error_count(), 4, "{}", d.render());
}

#[test]
fn address_outside_every_lan() {
    only_error(
        &with(&format!("{MEMBER}ipv4 = [\"198.51.100.7\"]\n")),
        21,
        9,
        "198.51.100.7 is outside every IPv4 peering LAN of GPIX",
    );
}

#[test]
fn network_and_broadcast_addresses() {
    let d = check(&with(&format!(
        "{MEMBER}ipv4 = [\"192.0.2.0\", \"192.0.2.255\"]\n"
    )));
    expect(
        &d,
        Severity::Error,
        21,
        9,
        "network address of 192.0.2.0/24",
    );
    expect(
        &d,
        Severity::Error,
        21,
        22,
        "broadcast address of 192.0.2.0/24",
    );
}

#[test]
fn member_on_route_server_address() {
    only_error(
        &with(&format!("{MEMBER}ipv4 = [\"192.0.2.1\"]\n")),
        21,
        9,
        "is a route server address",
    );
}

#[test]
fn duplicate_address_between_members() {
    let src = with(&format!(
        "{MEMBER}ipv4 = [\"192.0.2.11\"]\n\n[[member]]\nasn = 64502\nname = \"N\"\nmax_prefix = {{ ipv4 = 1, ipv6 = 1 }}\nipv4 = [\"192.0.2.11\"]\n"
    ));
    let d = check(&src);
    expect(
        &d,
        Severity::Error,
        27,
        9,
        "address 192.0.2.11 is given twice",
    );
    let note = d.items.iter().find_map(|x| x.note.clone()).expect("a note");
    assert_eq!(
        line_col(&src, note.1.start),
        line_col(&src, src.find("[\"192.0.2.11\"]").unwrap() + 1)
    );
    assert!(
        d.render().contains("note: first given at t.toml:21:9"),
        "{}",
        d.render()
    );
    assert_eq!(d.error_count(), 1);
}

#[test]
fn invalid_and_duplicate_macs() {
    let d = check(&with(&format!(
        "{MEMBER}ipv4 = [\"192.0.2.11\"]\nmacs = [\"02:00:00:00:00:11\", \"02:00:00:00:00:1g\", \"01:00:5e:00:00:01\", \"02-00-00-00-00-11\"]\n"
    )));
    expect(&d, Severity::Error, 22, 30, "`1g` is not hexadecimal");
    expect(
        &d,
        Severity::Error,
        22,
        51,
        "group (multicast/broadcast) MAC",
    );
    expect(
        &d,
        Severity::Error,
        22,
        72,
        "MAC address 02:00:00:00:00:11 is given twice",
    );
    assert_eq!(d.error_count(), 3, "{}", d.render());
}

#[test]
fn route_server_listen_outside_lan_is_a_warning() {
    let src = BASE.replace(
        "listen = [\"192.0.2.1:179\", \"[2001:db8:10::1]:179\"]",
        "listen = [\"0.0.0.0:179\", \"10.0.0.1:179\", \"[::]:179\"]",
    );
    let d = check(&src);
    expect(
        &d,
        Severity::Warning,
        15,
        26,
        "listen address 10.0.0.1 is outside every peering LAN",
    );
    assert_eq!(d.error_count(), 0, "{}", d.render());
    assert_eq!(
        d.warning_count(),
        1,
        "0.0.0.0 and [::] are not warned about:\n{}",
        d.render()
    );
    assert!(Config::from_toml(Path::new("t.toml"), &src).is_ok());
}

#[test]
fn vlan_out_of_range() {
    only_error(
        &BASE.replace("vlan = 10", "vlan = 4095"),
        8,
        8,
        "VLAN ID must be between 1 and 4094, not 4095",
    );
    only_error(
        &BASE.replace("vlan = 10", "vlan = 0"),
        8,
        8,
        "VLAN ID must be between 1 and 4094, not 0",
    );
}

#[test]
fn reserved_asns() {
    for (asn, needle) in [
        ("0", "AS 0 is reserved"),
        ("23456", "AS_TRANS"),
        ("65535", "AS 65535 is reserved"),
        ("70000", "reserved range 65552-131071"),
        ("4294967296", "does not fit in 32 bits"),
        ("-5", "negative"),
    ] {
        let src = with(&MEMBER.replace("64501", asn))
            .replace("max_prefix", "ipv4 = [\"192.0.2.11\"]\nmax_prefix");
        only_error(&src, 18, 7, needle);
    }
    only_error(
        &BASE.replace("asn = 64500", "asn = 0"),
        13,
        7,
        "route server ASN: AS 0 is reserved",
    );
}

#[test]
fn member_sharing_route_server_asn() {
    only_error(
        &with(&format!(
            "{}ipv4 = [\"192.0.2.11\"]\n",
            MEMBER.replace("64501", "64500")
        )),
        18,
        7,
        "is the route server's AS",
    );
}

#[test]
fn missing_max_prefix_is_a_warning_with_defaults() {
    let src = with("[[member]]\nasn = 64501\nname = \"M\"\nipv4 = [\"192.0.2.11\"]\n");
    let d = check(&src);
    expect(
        &d,
        Severity::Warning,
        18,
        7,
        "has no max_prefix; the defaults apply (ipv4 = 100, ipv6 = 50)",
    );
    assert_eq!(d.error_count(), 0);
    let cfg = Config::from_toml(Path::new("t.toml"), &src).unwrap();
    assert_eq!(cfg.members[0].max_prefix, registry::DEFAULT_MAX_PREFIX);
}

#[test]
fn invalid_as_set() {
    let d = check(&with(&format!(
        "{MEMBER}ipv4 = [\"192.0.2.11\"]\nas_set = \"AS_EXAMPLE\"\npolicy = {{ irr_as_set = \"AS-FOO-\" }}\n"
    )));
    expect(
        &d,
        Severity::Error,
        22,
        10,
        "invalid AS-SET name `AS_EXAMPLE`",
    );
    expect(&d, Severity::Error, 23, 25, "invalid AS-SET name `AS-FOO-`");
    assert_eq!(d.error_count(), 2);
}

#[test]
fn lan_prefix_errors() {
    only_error(
        &BASE.replace("\"192.0.2.0/24\"", "\"192.0.2.1/24\""),
        9,
        8,
        "host bits set past /24; the network is 192.0.2.0/24",
    );
    only_error(
        &BASE.replace("\"192.0.2.0/24\"", "\"2001:db8:11::/64\""),
        9,
        8,
        "is an IPv6 prefix in the ipv4 key",
    );
    only_error(
        &BASE.replace("\"192.0.2.0/24\"", "\"192.0.2.0/33\""),
        9,
        8,
        "exceeds 32",
    );
}

#[test]
fn overlapping_lans() {
    let src = BASE.replace(
        "[route_server]",
        "[[peering_lan]]\nname = \"second\"\nvlan = 11\nipv4 = \"192.0.2.128/25\"\n\n[route_server]",
    );
    only_error(&src, 15, 8, "192.0.2.128/25 overlaps 192.0.2.0/24");
}

#[test]
fn duplicate_vlan_and_lan_name() {
    let src = BASE.replace(
        "[route_server]",
        "[[peering_lan]]\nname = \"main\"\nvlan = 10\nipv4 = \"198.51.100.0/24\"\n\n[route_server]",
    );
    let d = check(&src);
    expect(
        &d,
        Severity::Error,
        13,
        8,
        "peering LAN `main` of GPIX is declared twice",
    );
    expect(
        &d,
        Severity::Error,
        14,
        8,
        "VLAN 10 is used by two peering LANs of GPIX",
    );
    assert_eq!(d.error_count(), 2, "{}", d.render());
}

#[test]
fn route_server_errors() {
    let src = BASE
        .replace(
            "router_id = \"192.0.2.1\"",
            "router_id = \"2001:db8::1\"\nhold_time = 2",
        )
        .replace("\"[2001:db8:10::1]:179\"", "\"2001:db8:10::1:179\"");
    let d = check(&src);
    expect(
        &d,
        Severity::Error,
        14,
        13,
        "router_id `2001:db8::1` is not a non-zero IPv4 address",
    );
    expect(&d, Severity::Error, 15, 13, "hold_time 2 is not allowed");
    expect(
        &d,
        Severity::Error,
        16,
        28,
        "`2001:db8:10::1:179` has no port",
    );
    assert_eq!(d.error_count(), 3, "{}", d.render());
}

#[test]
fn policy_errors() {
    let d = check(&with(
        "[policy]\nrpki = { rtr = [\"::1:3323\", \"rtr.example:99999\"] }\nipv4_prefix_len = { min = 25, max = 24 }\nipv6_prefix_len = { max = 129 }\ntransit_free_asns = [174, 0]\nmax_as_path_len = 0\n",
    ));
    expect(
        &d,
        Severity::Error,
        18,
        17,
        "RTR cache `::1:3323`: write an IPv6 address in brackets",
    );
    expect(&d, Severity::Error, 18, 29, "not a TCP port");
    expect(&d, Severity::Error, 19, 19, "min 25 is greater than max 24");
    expect(
        &d,
        Severity::Error,
        20,
        27,
        "ipv6_prefix_len.max must be between 0 and 128, not 129",
    );
    expect(
        &d,
        Severity::Error,
        21,
        27,
        "transit-free ASN: AS 0 is reserved",
    );
    expect(
        &d,
        Severity::Error,
        22,
        19,
        "max_as_path_len must be between 1 and 255, not 0",
    );
    assert_eq!(d.error_count(), 6, "{}", d.render());
}

#[test]
fn web_and_flow_errors() {
    let d = check(&with(
        "[web]\nlisten = \"localhost:8080\"\n\n[flows]\nsflow = \"0.0.0.0\"\nstore = \"postgres://x\"\n",
    ));
    expect(
        &d,
        Severity::Error,
        18,
        10,
        "`localhost:8080` is not an IP:PORT address",
    );
    expect(&d, Severity::Error, 21, 9, "`0.0.0.0` has no port");
    expect(
        &d,
        Severity::Error,
        22,
        9,
        "neither sqlite:PATH nor clickhouse://",
    );
    assert_eq!(d.error_count(), 3, "{}", d.render());
}

#[test]
fn ixp_errors() {
    let d = check(&BASE.replace(
        "country = \"GP\"",
        "country = \"Guadeloupe\"\nurl = \"www.gpix.example\"",
    ));
    expect(
        &d,
        Severity::Error,
        4,
        11,
        "country `Guadeloupe` is not an ISO 3166-1 alpha-2 code",
    );
    expect(
        &d,
        Severity::Error,
        5,
        7,
        "`www.gpix.example` is not an http or https URL",
    );
    assert_eq!(d.error_count(), 2, "{}", d.render());
}

#[test]
fn no_ixp_at_all() {
    let d = check("[web]\nlisten = \"127.0.0.1:8080\"\n");
    assert!(
        d.items
            .iter()
            .any(|x| x.span.is_none() && x.message.contains("declares no IXP")),
        "{}",
        d.render()
    );
    assert!(
        d.render()
            .contains("error: the file declares no IXP\n  --> t.toml\n"),
        "{}",
        d.render()
    );
}

#[test]
fn member_without_address() {
    only_error(
        &with(MEMBER),
        18,
        7,
        "member M has no address on the peering LAN",
    );
}

#[test]
fn md5_too_long() {
    let long = "x".repeat(81);
    only_error(
        &with(&format!(
            "{MEMBER}ipv4 = [\"192.0.2.11\"]\nmd5_password = \"{long}\"\n"
        )),
        22,
        16,
        "md5_password is 81 bytes long",
    );
}

#[test]
fn extra_next_hop_outside_lan() {
    only_error(
        &with(&format!(
            "{MEMBER}ipv4 = [\"192.0.2.11\"]\nextra_next_hops = [\"192.0.2.12\", \"10.1.1.1\"]\n"
        )),
        22,
        34,
        "10.1.1.1 is outside every IPv4 peering LAN",
    );
}

const MULTI: &str = r#"[[ixp]]
shortname = "GPIX"
name = "Guadeloupe IXP"
country = "GP"

[[ixp]]
shortname = "SXMIX"
name = "Saint-Martin IXP"
country = "MF"

[[peering_lan]]
ixp = "GPIX"
name = "gp"
vlan = 10
ipv4 = "192.0.2.0/24"

[[peering_lan]]
ixp = "SXMIX"
name = "sxm"
vlan = 20
ipv4 = "198.51.100.0/24"

[[bridge]]
name = "b"
ixps = ["GPIX", "SXMIX"]
"#;

#[test]
fn multi_ixp_references() {
    let src = format!(
        "{MULTI}\n[[member]]\nasn = 64501\nname = \"M\"\nipv4 = [\"192.0.2.11\"]\n\n[[member]]\nixp = \"SXM\"\nasn = 64502\nname = \"N\"\nipv4 = [\"198.51.100.11\"]\n"
    );
    let d = check(&src);
    expect(
        &d,
        Severity::Error,
        28,
        7,
        "this member does not say which IXP it belongs to",
    );
    expect(
        &d,
        Severity::Error,
        33,
        7,
        "this member refers to unknown IXP `SXM`",
    );
    assert_eq!(d.error_count(), 2, "{}", d.render());
}

#[test]
fn multi_ixp_addresses_stay_in_their_ixp() {
    let src = format!(
        "{MULTI}\n[[member]]\nixp = \"GPIX\"\nasn = 64501\nname = \"M\"\nmax_prefix = {{ ipv4 = 1, ipv6 = 1 }}\nipv4 = [\"198.51.100.11\"]\n"
    );
    only_error(
        &src,
        32,
        9,
        "198.51.100.11 is outside every IPv4 peering LAN of GPIX",
    );
}

#[test]
fn bridge_errors() {
    let src = format!(
        "{MULTI}\n[[bridge]]\nname = \"lonely\"\nixps = [\"GPIX\"]\ndefault = \"maybe\"\n\n[[member]]\nixp = \"GPIX\"\nasn = 64501\nname = \"M\"\nmax_prefix = {{ ipv4 = 1, ipv6 = 1 }}\nipv4 = [\"192.0.2.11\"]\nbridge_opt_in = [\"nope\", \"b\"]\nbridge_opt_out = [\"b\"]\n"
    );
    let d = check(&src);
    expect(
        &d,
        Severity::Error,
        29,
        8,
        "bridge `lonely` joins fewer than two IXPs and has no remote side",
    );
    expect(
        &d,
        Severity::Error,
        30,
        11,
        "bridge default `maybe` is neither",
    );
    expect(
        &d,
        Severity::Error,
        38,
        18,
        "bridge_opt_in names unknown bridge `nope`",
    );
    expect(
        &d,
        Severity::Error,
        39,
        19,
        "bridge `b` is in both bridge_opt_in and bridge_opt_out",
    );
    assert_eq!(d.error_count(), 4, "{}", d.render());
}

#[test]
fn all_errors_are_collected_not_just_the_first() {
    // Errors in four different tables, two of them in the same member.
    let src = BASE
        .replace("country = \"GP\"", "country = \"gp\"")
        .replace("vlan = 10", "vlan = 5000")
        + "\n[[member]]\nasn = 0\nname = \"M\"\nipv4 = [\"192.0.2.999\"]\nmacs = [\"zz\"]\n\n[[member]]\nasnn = 1\n";
    let d = check(&src);
    assert!(d.error_count() >= 6, "{}", d.render());
    expect(&d, Severity::Error, 4, 11, "country `gp`");
    expect(&d, Severity::Error, 8, 8, "VLAN ID");
    expect(&d, Severity::Error, 18, 7, "AS 0");
    expect(&d, Severity::Error, 20, 9, "192.0.2.999");
    expect(&d, Severity::Error, 21, 9, "`zz` is not a MAC address");
    expect(&d, Severity::Error, 24, 1, "unknown key `asnn`");
    // Sorted by position in the file.
    let lines: Vec<usize> = found(&d).iter().map(|f| f.1).collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted);
}

#[test]
fn rendering_points_at_the_value() {
    let d = check(&with(&format!("{MEMBER}ipv4 = [\"198.51.100.7\"]\n")));
    let r = d.render();
    assert!(
        r.contains("error: 198.51.100.7 is outside every IPv4 peering LAN of GPIX\n  --> t.toml:21:9\n   |\n21 | ipv4 = [\"198.51.100.7\"]\n   |         ^^^^^^^^^^^^^^\n"),
        "{r}"
    );
    assert!(
        r.contains("help: member addresses must be on a peering LAN: 192.0.2.0/24"),
        "{r}"
    );
}

#[test]
fn garbage_never_panics() {
    // Arbitrary bytes, truncations and odd UTF-8 produce diagnostics, not panics.
    let full = with(&format!(
        "{MEMBER}ipv4 = [\"192.0.2.11\"]\nmacs = [\"0200.0000.0011\"]\n"
    ));
    for cut in 0..full.len() {
        if let Some(prefix) = full.get(..cut) {
            let _ = check(prefix).render();
        }
    }
    for s in [
        "\u{feff}[ixp]",
        "[[ixp]]\n[ixp]",
        "ixp = 3",
        "member = [1, 2]",
        "[[member]]\nmacs = [\"é\"]",
        "peering_lan = { name = \"x\" }",
    ] {
        let d = check(s);
        assert!(d.has_errors(), "{s:?} should not be accepted");
        let _ = d.render();
    }
}

#[test]
fn unknown_keys_get_a_did_you_mean() {
    let d = check(&with(
        "[[member]]\nasnn = 64501\nname = \"M\"\nipv4 = [\"192.0.2.11\"]\n\n[polcy]\n",
    ));
    expect(
        &d,
        Severity::Error,
        18,
        1,
        "in [[member]]: unknown key `asnn`",
    );
    expect(&d, Severity::Error, 22, 2, "unknown top-level key `polcy`");
    let r = d.render();
    assert!(
        r.contains("help: did you mean `asn`? The keys of [[member]] are: asn, name,"),
        "{r}"
    );
    assert!(r.contains("help: did you mean `policy`?"), "{r}");
}

#[test]
fn every_unknown_key_of_a_table_is_reported_and_the_rest_still_checked() {
    let d = check(&with(&format!(
        "{MEMBER}ipv4 = [\"198.51.100.7\"]\nmd5 = \"x\"\npolicy = {{ max_path = 3, check_irr = false }}\ncolour = \"blue\"\n"
    )));
    expect(&d, Severity::Error, 22, 1, "unknown key `md5`");
    expect(&d, Severity::Error, 23, 12, "unknown key `max_path`");
    expect(&d, Severity::Error, 24, 1, "unknown key `colour`");
    // The table was still checked once its unknown keys were set aside.
    expect(
        &d,
        Severity::Error,
        21,
        9,
        "198.51.100.7 is outside every IPv4 peering LAN",
    );
    assert_eq!(d.error_count(), 4, "{}", d.render());
}

#[test]
fn no_route_server_is_a_warning() {
    let src = with(&format!("{MEMBER}ipv4 = [\"192.0.2.11\"]\n"));
    let start = src.find("[route_server]").unwrap();
    let end = src.find("[[member]]").unwrap();
    let src = format!("{}{}", &src[..start], &src[end..]);
    let d = check(&src);
    assert_eq!(d.error_count(), 0, "{}", d.render());
    assert!(
        d.render().contains("warning: IXP GPIX has no route server, but 1 member(s) have route_server = true\n  --> t.toml\n"),
        "{}",
        d.render()
    );
}

#[test]
fn every_wrong_type_of_a_table_is_reported_without_consequential_errors() {
    let d = check(&with(
        "[[member]]\nasn = \"64501\"\nname = \"M\"\nipv4 = \"192.0.2.11\"\nmax_prefix = { ipv4 = \"many\" }\npassive = 1\n",
    ));
    expect(&d, Severity::Error, 18, 7, "invalid type: string \"64501\"");
    expect(
        &d,
        Severity::Error,
        20,
        8,
        "invalid type: string \"192.0.2.11\", expected a sequence",
    );
    expect(&d, Severity::Error, 21, 23, "invalid type: string \"many\"");
    expect(
        &d,
        Severity::Error,
        22,
        11,
        "invalid type: integer `1`, expected a boolean",
    );
    // Not "missing key `asn`", not "no address", not "no max_prefix".
    assert_eq!(d.error_count(), 4, "{}", d.render());
    assert_eq!(d.warning_count(), 0, "{}", d.render());
}

#[test]
fn duplicate_keys_and_tables() {
    let d = check("[ixp]\nshortname = \"A\"\nshortname = \"B\"\n");
    expect(&d, Severity::Error, 3, 1, "TOML syntax: duplicate key");
    assert!(
        d.render().contains("help: a key may appear once per table"),
        "{}",
        d.render()
    );
    let d = check(&format!("{BASE}\n[ixp]\nshortname = \"B\"\n"));
    expect(&d, Severity::Error, 17, 2, "TOML syntax: duplicate key");
}
