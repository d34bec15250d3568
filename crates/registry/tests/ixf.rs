//! IX-F Member Export 1.0: the export validates against the published JSON
//! schema (draft-04, with format checks), a broken export is rejected by the
//! same validator, export -> import round-trips, and a foreign export
//! imports with its problems reported.
//!
//! The validator is Python's `jsonschema` package (installed by
//! `scripts/install-deps`); the tests fail, never skip, when it is missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use registry::ixf;
use registry::Config;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema_path() -> PathBuf {
    let p = repo().join("../shared/data/ixf/ixp-member-list-1.0.schema.json");
    assert!(p.is_file(), "the IX-F schema is missing at {}", p.display());
    p
}

const VALIDATOR: &str = r#"
import json, sys
try:
    import jsonschema
except ImportError:
    print("Python package jsonschema is not installed: run scripts/install-deps")
    sys.exit(3)
checker = jsonschema.Draft4Validator.FORMAT_CHECKER
missing = {"date-time", "ipv4", "ipv6", "uri", "email"} - set(checker.checkers)
if missing:
    print("jsonschema cannot check formats %s (install rfc3339-validator and rfc3987): run scripts/install-deps" % sorted(missing))
    sys.exit(3)
schema = json.load(open(sys.argv[1]))
jsonschema.Draft4Validator.check_schema(schema)
doc = json.load(sys.stdin)
errors = sorted(jsonschema.Draft4Validator(schema, format_checker=checker).iter_errors(doc), key=str)
for e in errors:
    print("%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message))
sys.exit(1 if errors else 0)
"#;

/// Ok when `doc` validates, Err with the validator's messages when not;
/// panics when the validator cannot run.
fn validate(doc: &str) -> Result<(), String> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(VALIDATOR)
        .arg(schema_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): run scripts/install-deps"));
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(doc.as_bytes())
        .expect("write to the validator");
    let out = child.wait_with_output().expect("validator output");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(text),
        _ => panic!("the schema validator could not run: {text}"),
    }
}

fn example(name: &str) -> Config {
    Config::load(&repo().join("examples").join(name)).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn export_of_the_examples_validates_against_the_schema() {
    for name in ["caribix.toml", "caribix-multi.toml"] {
        let cfg = example(name);
        let json = ixf::export_json(&cfg, &ixf::now()).expect("export");
        if let Err(e) = validate(&json) {
            panic!("IX-F export of {name} does not validate:\n{e}\n{json}");
        }
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["version"], "1.0");
        assert_eq!(v["ixp_list"].as_array().unwrap().len(), cfg.ixps.len());
    }
}

#[test]
fn export_shape() {
    let cfg = example("caribix-multi.toml");
    let v = ixf::export(&cfg, "2026-11-23T08:00:00Z").unwrap();
    // One member_list entry per ASN; AS64496 is at three IXPs.
    let telco = v["member_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["asnum"] == 64496)
        .unwrap();
    let conns = telco["connection_list"].as_array().unwrap();
    assert_eq!(conns.len(), 3);
    let ids: Vec<u64> = conns
        .iter()
        .map(|c| c["ixp_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    let gp = &conns[0]["vlan_list"][0];
    assert_eq!(gp["vlan_id"], 10);
    assert_eq!(gp["ipv4"]["address"], "192.0.2.11");
    assert_eq!(gp["ipv4"]["as_macro"], "AS-KARUKERA");
    assert_eq!(gp["ipv4"]["max_prefix"], 200);
    assert_eq!(gp["ipv6"]["max_prefix"], 50);
    assert_eq!(gp["ipv4"]["routeserver"], true);
    assert_eq!(gp["ipv4"]["mac_addresses"][0], "02:00:00:00:00:11");
    let sxm = &v["ixp_list"][1];
    assert_eq!(sxm["shortname"], "SXMIX");
    assert_eq!(sxm["ixf_id"], 9002);
    assert_eq!(sxm["vlan"][0]["ipv4"]["prefix"], "198.51.100.0");
    assert_eq!(sxm["vlan"][0]["ipv4"]["mask_length"], 24);
}

#[test]
fn a_broken_export_is_rejected_by_the_validator() {
    let cfg = example("caribix.toml");
    let good: Value = ixf::export(&cfg, "2026-11-23T08:00:00Z").unwrap();
    validate(&good.to_string()).expect("the unbroken export validates");
    type Breaker = Box<dyn Fn(&mut Value)>;
    let breakages: Vec<(&str, Breaker)> = vec![
        (
            "no member_list",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("member_list");
            }),
        ),
        (
            "asnum as a string",
            Box::new(|v| v["member_list"][0]["asnum"] = "64496".into()),
        ),
        (
            "ixf_id missing",
            Box::new(|v| {
                v["ixp_list"][0].as_object_mut().unwrap().remove("ixf_id");
            }),
        ),
        (
            "bad IPv4 format",
            Box::new(|v| {
                v["member_list"][0]["connection_list"][0]["vlan_list"][0]["ipv4"]["address"] =
                    "192.0.2.300".into()
            }),
        ),
        (
            "bad IPv6 format",
            Box::new(|v| {
                v["member_list"][0]["connection_list"][0]["vlan_list"][0]["ipv6"]["address"] =
                    "2001:db8::zz".into()
            }),
        ),
        (
            "bad timestamp format",
            Box::new(|v| v["timestamp"] = "yesterday".into()),
        ),
        (
            "bad member_type",
            Box::new(|v| v["member_list"][0]["member_type"] = "customer".into()),
        ),
        (
            "bad url format",
            Box::new(|v| v["ixp_list"][0]["url"] = "not a uri".into()),
        ),
    ];
    for (what, breaker) in breakages {
        let mut bad = good.clone();
        breaker(&mut bad);
        assert!(
            validate(&bad.to_string()).is_err(),
            "the validator accepted an export with {what}"
        );
    }
}

#[test]
fn export_needs_ixf_id() {
    let src = std::fs::read_to_string(repo().join("examples/caribix.toml")).unwrap();
    let src = src.replace("ixf_id = 9001", "");
    let cfg = Config::from_toml(Path::new("x.toml"), &src).unwrap_or_else(|d| panic!("{d}"));
    let e = ixf::export(&cfg, "2026-11-23T08:00:00Z").unwrap_err();
    assert!(e.to_string().contains("IXP GPIX has no ixf_id"), "{e}");
}

#[test]
fn export_then_import_round_trips() {
    for name in ["caribix.toml", "caribix-multi.toml"] {
        let cfg = example(name);
        let json = ixf::export_json(&cfg, "2026-11-23T08:00:00Z").unwrap();
        let imp = ixf::import(&json).expect("import");
        assert!(imp.skipped.is_empty(), "{name}: {:?}", imp.skipped);
        let toml = imp.to_toml();
        let back = Config::from_toml(Path::new("imported.toml"), &toml)
            .unwrap_or_else(|d| panic!("imported {name} does not load:\n{d}\n{toml}"));
        assert_eq!(back.ixps, cfg.ixps, "{name}");
        assert_eq!(back.peering_lans, cfg.peering_lans, "{name}");
        assert_eq!(back.members.len(), cfg.members.len(), "{name}");
        // The export lists members by AS number; compare in that order.
        let mut want = cfg.members.clone();
        want.sort_by(|a, b| (a.asn, &a.ixp).cmp(&(b.asn, &b.ixp)));
        let mut got = back.members.clone();
        got.sort_by(|a, b| (a.asn, &a.ixp).cmp(&(b.asn, &b.ixp)));
        for (a, b) in want.iter().zip(&got) {
            assert_eq!(
                (
                    a.asn,
                    &a.name,
                    &a.ixp,
                    &a.as_set,
                    &a.ipv4,
                    &a.ipv6,
                    &a.macs,
                    a.route_server
                ),
                (
                    b.asn,
                    &b.name,
                    &b.ixp,
                    &b.as_set,
                    &b.ipv4,
                    &b.ipv6,
                    &b.macs,
                    b.route_server
                ),
                "{name}"
            );
            // IX-F carries max_prefix per address: a family without an
            // address has nowhere to keep it, and comes back as the default.
            if !a.ipv4.is_empty() {
                assert_eq!(a.max_prefix.ipv4, b.max_prefix.ipv4, "{name} AS{}", a.asn);
            }
            if !a.ipv6.is_empty() {
                assert_eq!(a.max_prefix.ipv6, b.max_prefix.ipv6, "{name} AS{}", a.asn);
            } else {
                assert_eq!(b.max_prefix.ipv6, registry::DEFAULT_MAX_PREFIX.ipv6);
            }
            assert_eq!(
                (&a.url, &a.peering_policy, &a.contact_email),
                (&b.url, &b.peering_policy, &b.contact_email)
            );
        }
        // And the import exports to the same member list again.
        let again = ixf::export(&back, "2026-11-23T08:00:00Z").unwrap();
        let first: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(again["member_list"], first["member_list"], "{name}");
    }
}

#[test]
fn import_of_a_foreign_export_reports_what_it_skips() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ixf-sample.json"),
    )
    .unwrap();
    // The sample is valid IX-F 1.0 but for one deliberately bad address,
    // which the schema's format check catches too.
    let e = validate(&text).unwrap_err();
    assert_eq!(e.trim(), "member_list/1/connection_list/0/vlan_list/0/ipv4/address: '198.51.100.300' is not a 'ipv4'");
    let imp = ixf::import(&text).unwrap();
    assert_eq!(imp.ixps.len(), 1);
    let ixp = &imp.ixps[0];
    assert_eq!(ixp.shortname, "Demo-IX");
    assert_eq!(ixp.country, "GP");
    assert_eq!(
        (ixp.ixp_id, ixp.ixf_id, ixp.peeringdb_id),
        (7, Some(9100), Some(4242))
    );
    assert_eq!(imp.peering_lans.len(), 2);
    assert_eq!(imp.peering_lans[1].vlan, 200);
    assert_eq!(imp.peering_lans[1].ipv6, None);
    assert_eq!(imp.members.len(), 2);
    let t = &imp.members[0];
    assert_eq!(
        (t.asn, t.name.as_str(), t.as_set.as_deref()),
        (64496, "Example Telecom", Some("AS-EXAMPLE"))
    );
    assert_eq!(t.ipv4.len(), 2, "one address in each VLAN");
    assert_eq!(
        t.macs.len(),
        1,
        "upper and lower case of one MAC are one MAC"
    );
    assert_eq!((t.max_prefix.ipv4, t.max_prefix.ipv6), (120, 30));
    assert!(t.route_server);
    let n = &imp.members[1];
    assert_eq!(n.name, "AS64497");
    assert!(n.ipv4.is_empty() && n.ipv6.len() == 1);
    assert!(!n.route_server);
    assert_eq!(n.max_prefix, registry::DEFAULT_MAX_PREFIX);
    let notes = imp.skipped.join("\n");
    for needle in [
        "shortname `Demo IX` written as `Demo-IX`",
        "vlan[2]: id is not a VLAN number",
        "`198.51.100.300` is not an ipv4 address",
        "`not-a-mac` is not a MAC address",
        "AS_TRANS",
        "AS64498: a connection refers to an ixp_id not in ixp_list",
        "AS64500 (Demo IX route servers) is the IXP's own infrastructure",
        "AS64499: a connection in state \"disconnected\", skipped",
    ] {
        assert!(
            notes.contains(needle),
            "missing note {needle:?} in:\n{notes}"
        );
    }
    let toml = imp.to_toml();
    assert!(toml.contains("# import note: "), "{toml}");
    let cfg = Config::from_toml(Path::new("imported.toml"), &toml)
        .unwrap_or_else(|d| panic!("{d}\n{toml}"));
    assert_eq!(cfg.members.len(), 2);
}
