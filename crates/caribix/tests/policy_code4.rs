//! End to end (issue 4): reject code 4 (invalid AFI) from a real speaker.
//! ExaBGP (Debian `exabgp`) announces an IPv4 route with an IPv6 next hop
//! (an RFC 8950 style MP_REACH_NLRI, AFI 1 with a 16-octet next hop)
//! although the route server never offered the Extended Next Hop
//! capability; caribix decodes it, keeps it with code 4 (and no other
//! reason: the next hop is the member's own IPv6 address), and B never
//! receives it. A plain IPv4 route of the same member passes.
//!
//! A missing `exabgp` fails the test.

mod policy_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use policy_support::*;

const A: u32 = 64496;
const B: u32 = 64497;

#[test]
fn ipv4_route_with_ipv6_next_hop_is_rejected_with_code_4() {
    let _ = exabgp_path(); // fail early and clearly when missing
    let n = 150 + (std::process::id() + 53) % 100;
    let (ia, ib) = (format!("127.0.{n}.51"), format!("127.0.{n}.52"));
    let a6 = format!("2001:db8:{n}::51");
    let dir = std::env::temp_dir().join(format!("caribix-code4-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (bgp, web) = (free_port(), free_port());
    let cfg = dir.join("caribix.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[ixp]
shortname = "TIX"
name = "Code 4 test IXP"
country = "GP"

[[peering_lan]]
name = "main"
vlan = 10
ipv4 = "127.0.{n}.0/24"
ipv6 = "2001:db8:{n}::/64"

[route_server]
asn = {RS}
router_id = "127.0.0.1"
listen = ["127.0.0.1:{bgp}"]
hold_time = 30

[web]
listen = "127.0.0.1:{web}"

[[member]]
asn = {A}
name = "A"
ipv4 = ["{ia}"]
ipv6 = ["{a6}"]
passive = true
max_prefix = {{ ipv4 = 100, ipv6 = 10 }}

[[member]]
asn = {B}
name = "B"
ipv4 = ["{ib}"]
passive = true
max_prefix = {{ ipv4 = 100, ipv6 = 10 }}
"#
        ),
    )
    .unwrap();
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
    procs.0.push(spawn_caribix(&dir, &cfg, 1));
    wait_for("the JSON API", Duration::from_secs(20), || {
        http_get(web, "/api/v1/neighbors").is_some()
    });
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    let id_a = format!("AS{A}_127_0_{n}_51");
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
