//! End to end (issue 4): `caribix run` with the IXP policy, and three
//! members running ExaBGP (Debian's `exabgp`) on 127.0.N.x addresses.
//!
//! Member A announces one offending route per reject code that can be
//! produced without RPKI or IRR data (1, 2, 3, 5, 6, 7, 8, 10, 11, 13,
//! 15), one route with several faults at once, good routes, and routes
//! with export-control and GRACEFUL_SHUTDOWN communities. Members B and C
//! record what they receive through an ExaBGP API process. The test checks:
//!
//! - every offending route is absent at B and C, and present in
//!   `/api/v1/neighbors/{A}/routes?filtered=true` with exactly its reasons
//!   and the matching `64500:1101:CODE` large communities;
//! - `0:peer`, `0:RS` + `RS:peer`, `RS:0:peer` (large), `65502:peer` and
//!   `RS:103:peer` (large) act on B's and C's own RIBs; control
//!   communities are removed, other communities kept;
//! - GRACEFUL_SHUTDOWN makes C prefer B's longer path over A's.
//!
//! Not covered here: code 4 (tests/policy_code4.rs: ExaBGP with an IPv6
//! next hop for an IPv4 route), codes 9, 12, 14 and BLACKHOLE with RPKI
//! from StayRTR and IRR from files or whois (tests/policy_rpki_irr.rs),
//! max-prefix (tests/policy_max_prefix.rs).
//!
//! A missing `exabgp` fails the test.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use support::api::http_get;
use support::config::{max_prefix, member, Ixp, Site, RS};
use support::exabgp::{exabgp_conf, exabgp_path, rib, spawn_exabgp};
use support::proc::{start_caribix, Procs};
use support::wait::wait_for;
const A: u32 = 64496;
const B: u32 = 64497;
const C: u32 = 64498;

#[test]
fn reject_codes_and_community_actions_end_to_end() {
    let exabgp = exabgp_path(); // fail early and clearly when missing
    let _ = exabgp;
    let site = Site::new("policy-e2e", 0);
    let (n, dir, bgp_port, web_port) = (site.n, site.dir.clone(), site.bgp, site.web);
    let (ia, ib, ic) = (site.ip(11), site.ip(12), site.ip(13));
    let config = Ixp {
        lan_v6: Some(&format!("2001:db8:{n}::/64")),
        tables: "[policy]\nnever_via_route_servers_asns = [20940]\nblocklist = [\"1.2.3.0/24\"]",
        ..site.ixp("Policy test IXP")
    }
    .toml(&[
        member(
            A,
            "A",
            &ia,
            &format!(
                "ipv6 = [\"2001:db8:{n}::11\"]\n{}\npolicy = {{ blocklist = [\"1.2.4.0/24\"] }}",
                max_prefix(1000, 100)
            ),
        ),
        member(B, "B", &ib, &max_prefix(1000, 100)),
        member(C, "C", &ic, &max_prefix(1000, 100)),
    ]);
    let cfg_path = dir.join("caribix.toml");
    std::fs::write(&cfg_path, config).expect("write caribix.toml");

    let nh = format!("next-hop {ia}");
    let nh6 = format!("next-hop 2001:db8:{n}::11");
    let r = |p: &str, rest: &str| format!("route {p} {rest}");
    let long_path = std::iter::repeat_n(A.to_string(), 33)
        .collect::<Vec<_>>()
        .join(" ");
    // (prefix, expected codes), and the ExaBGP route line.
    let bad: Vec<(&str, Vec<u32>, String)> = vec![
        (
            "11.0.1.0/24",
            vec![1],
            r("11.0.1.0/24", &format!("{nh} as-path [ {long_path} ]")),
        ),
        (
            "10.10.0.0/16",
            vec![2],
            r("10.10.0.0/16", &format!("{nh} as-path [ {A} ]")),
        ),
        (
            "1.2.3.0/24",
            vec![3],
            r("1.2.3.0/24", &format!("{nh} as-path [ {A} ]")),
        ),
        (
            "11.0.5.0/24",
            vec![5],
            r(
                "11.0.5.0/24",
                &format!("next-hop 127.0.{n}.99 as-path [ {A} ]"),
            ),
        ),
        (
            "11.0.6.0/24",
            vec![6],
            r("11.0.6.0/24", &format!("{nh} as-path [ 15169 ]")),
        ),
        (
            "11.0.7.0/24",
            vec![7],
            r("11.0.7.0/24", &format!("{nh} as-path [ {A} 65000 ]")),
        ),
        (
            "11.0.8.0/24",
            vec![8],
            r("11.0.8.0/24", &format!("{nh} as-path [ {A} 3356 15169 ]")),
        ),
        (
            "4000::/16",
            vec![10],
            r("4000::/16", &format!("{nh6} as-path [ {A} ]")),
        ),
        (
            "1.2.4.0/24",
            vec![11],
            r("1.2.4.0/24", &format!("{nh} as-path [ {A} ]")),
        ),
        (
            "11.0.13.0/25",
            vec![13],
            r("11.0.13.0/25", &format!("{nh} as-path [ {A} ]")),
        ),
        (
            "11.0.15.0/24",
            vec![15],
            r("11.0.15.0/24", &format!("{nh} as-path [ {A} 20940 ]")),
        ),
        (
            "192.168.5.0/25",
            vec![2, 5, 6, 8, 13],
            r(
                "192.168.5.0/25",
                &format!("next-hop 127.0.{n}.99 as-path [ 15169 3356 ]"),
            ),
        ),
    ];
    let good = vec![
        r(
            "11.0.0.0/24",
            &format!("{nh} as-path [ {A} ] community [ 65000:1 ]"),
        ),
        r("2a00:1::/48", &format!("{nh6} as-path [ {A} ]")),
        // Not to C.
        r(
            "11.1.0.0/24",
            &format!("{nh} as-path [ {A} ] community [ 0:{C} 65000:2 ]"),
        ),
        // To no one but C.
        r(
            "11.1.1.0/24",
            &format!("{nh} as-path [ {A} ] community [ 0:{RS} {RS}:{C} ]"),
        ),
        // Prepend twice towards C.
        r(
            "11.1.2.0/24",
            &format!("{nh} as-path [ {A} ] community [ 65502:{C} 65000:3 ]"),
        ),
        // Large: not to B.
        r(
            "11.1.3.0/24",
            &format!("{nh} as-path [ {A} ] large-community [ {RS}:0:{B} 1:2:3 ]"),
        ),
        // Large: prepend three times towards B.
        r(
            "11.1.4.0/24",
            &format!("{nh} as-path [ {A} ] large-community [ {RS}:103:{B} ]"),
        ),
        // GRACEFUL_SHUTDOWN: B announces the same prefix with a longer path.
        r(
            "11.1.5.0/24",
            &format!("{nh} as-path [ {A} ] community [ 65535:0 ]"),
        ),
    ];
    let mut routes_a: Vec<String> = bad.iter().map(|b| b.2.clone()).collect();
    routes_a.extend(good);
    let routes_b = vec![r(
        "11.1.5.0/24",
        &format!("next-hop {ib} as-path [ {B} {B} ]"),
    )];
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp_port, &routes_a);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp_port, &routes_b);
    let conf_c = exabgp_conf(&dir, "c", C, &ic, bgp_port, &[]);

    let mut procs = Procs(Vec::new());
    start_caribix(&mut procs, &dir, &cfg_path, 1, web_port);
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "c", &conf_c));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));

    // B and C get every good route meant for them.
    let want_b = [
        "11.0.0.0/24",
        "2a00:1::/48",
        "11.1.0.0/24",
        "11.1.2.0/24",
        "11.1.4.0/24",
        "11.1.5.0/24",
    ];
    let want_c = [
        "11.0.0.0/24",
        "2a00:1::/48",
        "11.1.1.0/24",
        "11.1.2.0/24",
        "11.1.3.0/24",
        "11.1.4.0/24",
        "11.1.5.0/24",
    ];
    let ready = |name: &str, want: &[&str]| {
        let rib = rib(&dir, name);
        want.iter().all(|p| rib.contains_key(*p))
    };
    wait_for(
        "B and C to receive the good routes",
        Duration::from_secs(60),
        || ready("b", &want_b) && ready("c", &want_c),
    );
    // Give anything that should not come a chance to arrive.
    std::thread::sleep(Duration::from_secs(2));
    let rib_b = rib(&dir, "b");
    let rib_c = rib(&dir, "c");
    eprintln!("B holds {rib_b:?}\nC holds {rib_c:?}");

    // Rejected routes reach no one.
    for (p, _, _) in &bad {
        assert!(!rib_b.contains_key(*p), "rejected {p} reached B");
        assert!(!rib_c.contains_key(*p), "rejected {p} reached C");
    }
    // Export controls, on the members' own RIBs.
    assert_eq!(
        rib_b.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        want_b.into_iter().collect()
    );
    assert_eq!(
        rib_c.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        want_c.into_iter().collect()
    );
    assert_eq!(rib_c["11.1.2.0/24"].as_path, [A, A, A]);
    assert_eq!(rib_b["11.1.2.0/24"].as_path, [A]);
    assert_eq!(rib_b["11.1.4.0/24"].as_path, [A, A, A, A]);
    assert_eq!(rib_c["11.1.4.0/24"].as_path, [A]);
    // Control communities removed, the others kept.
    assert_eq!(
        rib_b["11.0.0.0/24"].communities,
        BTreeSet::from([(65000, 1)])
    );
    assert_eq!(
        rib_b["11.1.0.0/24"].communities,
        BTreeSet::from([(65000, 2)])
    );
    assert_eq!(
        rib_b["11.1.2.0/24"].communities,
        BTreeSet::from([(65000, 3)])
    );
    assert_eq!(
        rib_c["11.1.2.0/24"].communities,
        BTreeSet::from([(65000, 3)])
    );
    assert!(rib_c["11.1.1.0/24"].communities.is_empty());
    assert_eq!(rib_c["11.1.3.0/24"].large, BTreeSet::from([(1, 2, 3)]));
    assert!(rib_b["11.1.4.0/24"].large.is_empty());
    // GRACEFUL_SHUTDOWN: C prefers B's longer path; B still gets A's (the
    // only other candidate), with the community kept.
    assert_eq!(rib_c["11.1.5.0/24"].as_path, [B, B]);
    assert_eq!(rib_b["11.1.5.0/24"].as_path, [A]);
    assert!(rib_b["11.1.5.0/24"].communities.contains(&(65535, 0)));

    // The looking glass shows every rejected route with its reasons.
    let id = site.id(A, 11);
    let v = http_get(
        web_port,
        &format!("/api/v1/neighbors/{id}/routes?filtered=true"),
    )
    .expect("filtered routes from the API");
    let routes = v["routes"].as_array().expect("routes array");
    let by_prefix: BTreeMap<&str, &Value> = routes
        .iter()
        .filter_map(|r| Some((r["prefix"].as_str()?, r)))
        .collect();
    for (p, codes, _) in &bad {
        let r = by_prefix
            .get(p)
            .unwrap_or_else(|| panic!("{p} missing from the filtered routes: {v}"));
        let got: Vec<u32> = r["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["code"].as_u64().map(|c| c as u32))
            .collect();
        assert_eq!(&got, codes, "reasons of {p}");
        let large: BTreeSet<(u64, u64, u64)> = r["large_communities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c[0].as_u64()?, c[1].as_u64()?, c[2].as_u64()?)))
            .collect();
        for c in codes {
            assert!(
                large.contains(&(u64::from(RS), 1101, u64::from(*c))),
                "{p}: no {RS}:1101:{c} in {large:?}"
            );
        }
    }
    assert_eq!(
        by_prefix.len(),
        bad.len(),
        "only the bad routes are filtered: {v}"
    );
    // And it says which checks are on: no RPKI or IRR source, so off.
    let p = http_get(web_port, "/api/v1/policy").expect("/api/v1/policy");
    assert_eq!(p["checks"]["rpki"], false, "{p}");
    assert_eq!(p["checks"]["irr_origin"], false, "{p}");
    assert_eq!(p["checks"]["irr_prefix"], false, "{p}");
    assert_eq!(p["checks"]["bogon_prefixes"], true, "{p}");
    assert_eq!(p["checks"]["never_via_route_servers_asns"], true, "{p}");
    assert_eq!(p["ipv4_prefix_len"], serde_json::json!([8, 24]), "{p}");
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}
