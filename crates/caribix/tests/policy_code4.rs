//! End to end (issue 4): reject code 4 (invalid AFI) from a real speaker.
//! ExaBGP (Debian `exabgp`) announces an IPv4 route with an IPv6 next hop
//! (an RFC 8950 style MP_REACH_NLRI, AFI 1 with a 16-octet next hop)
//! although the route server never offered the Extended Next Hop
//! capability; caribix decodes it, keeps it with code 4 (and no other
//! reason: the next hop is the member's own IPv6 address), and B never
//! receives it. A plain IPv4 route of the same member passes.
//!
//! A missing `exabgp` fails the test.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::api::{filtered, http_get};
use support::config::{max_prefix, member, Ixp, Site, RS};
use support::exabgp::{exabgp_conf, exabgp_path, rib, spawn_exabgp};
use support::proc::{start_caribix, Procs};
use support::wait::wait_for;

const A: u32 = 64496;
const B: u32 = 64497;

#[test]
fn ipv4_route_with_ipv6_next_hop_is_rejected_with_code_4() {
    let _ = exabgp_path(); // fail early and clearly when missing
    let site = Site::new("code4", 53);
    let (n, dir, bgp, web) = (site.n, site.dir.clone(), site.bgp, site.web);
    let (ia, ib) = (site.ip(51), site.ip(52));
    let a6 = format!("2001:db8:{n}::51");
    let cfg = dir.join("caribix.toml");
    let ixp = Ixp {
        lan_v6: Some(&format!("2001:db8:{n}::/64")),
        ..site.ixp("Code 4 test IXP")
    };
    let members = [
        member(
            A,
            "A",
            &ia,
            &format!("ipv6 = [\"{a6}\"]\n{}", max_prefix(100, 10)),
        ),
        member(B, "B", &ib, &max_prefix(100, 10)),
    ];
    std::fs::write(&cfg, ixp.toml(&members)).expect("write caribix.toml");
    let routes_a = vec![
        format!("route 11.9.0.0/24 next-hop {ia} as-path [ {A} ]"),
        format!("route 11.9.1.0/24 next-hop {a6} as-path [ {A} ]"),
    ];
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp, &routes_a);
    // Ask ExaBGP to use IPv6 next hops for IPv4 routes (RFC 8950).
    let text = std::fs::read_to_string(&conf_a).unwrap().replace(
        "  hold-time 30;\n",
        "  hold-time 30;\n  capability {\n    nexthop enable;\n  }\n  nexthop {\n    ipv4 unicast ipv6;\n  }\n",
    );
    std::fs::write(&conf_a, text).unwrap();
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp, &[]);
    let mut procs = Procs(Vec::new());
    start_caribix(&mut procs, &dir, &cfg, 1, web);
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    let id_a = site.id(A, 51);
    let want = BTreeMap::from([("11.9.1.0/24".to_string(), BTreeSet::from([4u64]))]);
    let ok = std::panic::catch_unwind(|| {
        wait_for(
            "the code 4 route in A's filtered routes",
            Duration::from_secs(30),
            || filtered(web, &id_a) == want,
        )
    });
    if ok.is_err() {
        panic!(
            "A's filtered routes: {:?}\nA's ExaBGP log:\n{}",
            filtered(web, &id_a),
            std::fs::read_to_string(dir.join("a.log")).unwrap_or_default()
        );
    }
    wait_for("A's IPv4 route at B", Duration::from_secs(20), || {
        rib(&dir, "b").contains_key("11.9.0.0/24")
    });
    assert!(!rib(&dir, "b").contains_key("11.9.1.0/24"));
    let v = http_get(
        web,
        &format!("/api/v1/neighbors/{id_a}/routes?filtered=true"),
    )
    .unwrap();
    let r = &v["routes"][0];
    assert_eq!(r["next_hop"], a6, "{r}");
    assert!(
        r["large_communities"]
            .as_array()
            .is_some_and(|l| l.contains(&serde_json::json!([RS, 1101, 4]))),
        "{r}"
    );
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}
