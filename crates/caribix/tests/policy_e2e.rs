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
//! Not covered here: codes 4 (needs an extended-next-hop speaker), 9, 12,
//! 14 and BLACKHOLE (need RPKI/IRR data sources, not wired into `caribix
//! run` yet); the policy crate's unit tests cover them.
//!
//! A missing `exabgp` fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const RS: u32 = 64500;
const A: u32 = 64496;
const B: u32 = 64497;
const C: u32 = 64498;

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

fn exabgp_path() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join("exabgp");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "exabgp is not installed: this test needs Debian's `exabgp` package (scripts/install-deps)"
    );
}

/// One ExaBGP member: static routes, and an API process appending what it
/// receives to `recv.json`.
fn exabgp_conf(
    dir: &Path,
    name: &str,
    asn: u32,
    ip: &str,
    port: u16,
    routes: &[String],
) -> PathBuf {
    let recv = dir.join(format!("{name}.recv.json"));
    let script = dir.join(format!("{name}.recv.sh"));
    // ExaBGP takes the end of the helper's stdout for its death: keep a
    // copy of it open (fd 3) while cat appends to the file.
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec 3>&1\nexec cat >> '{}'\n", recv.display()),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let conf = format!(
        "process recv {{\n  run {script};\n  encoder json;\n}}\n\
         neighbor 127.0.0.1 {{\n  router-id {ip};\n  local-address {ip};\n  local-as {asn};\n  peer-as {RS};\n  connect {port};\n  hold-time 30;\n\
         \x20 family {{\n    ipv4 unicast;\n    ipv6 unicast;\n  }}\n\
         \x20 api {{\n    processes [ recv ];\n    receive {{\n      parsed;\n      update;\n    }}\n  }}\n\
         \x20 static {{\n{routes}  }}\n}}\n",
        script = script.display(),
        routes = routes.iter().map(|r| format!("    {r};\n")).collect::<String>(),
    );
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, conf).unwrap();
    path
}

fn spawn_exabgp(dir: &Path, name: &str, conf: &Path) -> Child {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Command::new(exabgp_path())
        .arg(conf)
        .env("exabgp.daemon.user", "root")
        .env("exabgp.daemon.drop", "false")
        .env("exabgp.daemon.daemonize", "false")
        .env("exabgp.tcp.bind", "")
        .env("exabgp.log.destination", "stdout")
        .env("exabgp.api.ack", "false")
        .env("exabgp.cli.enable", "false")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start exabgp: {e}"))
}

/// A received route: AS path, standard and large communities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Got {
    as_path: Vec<u32>,
    communities: BTreeSet<(u32, u32)>,
    large: BTreeSet<(u32, u32, u32)>,
}

/// The RIB of a member, replayed from its API process's JSON lines.
fn rib(dir: &Path, name: &str) -> BTreeMap<String, Got> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.recv.json"))).unwrap_or_default();
    let mut rib = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(update) = v.pointer("/neighbor/message/update") else {
            continue;
        };
        if let Some(w) = update.get("withdraw").and_then(Value::as_object) {
            for list in w.values() {
                for n in list.as_array().into_iter().flatten() {
                    if let Some(p) = n.get("nlri").and_then(Value::as_str) {
                        rib.remove(p);
                    }
                }
            }
        }
        let attr = update.get("attribute").cloned().unwrap_or(Value::Null);
        let nums = |v: &Value| -> Vec<u32> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_u64().map(|x| x as u32))
                .collect()
        };
        let got = Got {
            as_path: attr.get("as-path").map(nums).unwrap_or_default(),
            communities: attr
                .get("community")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    let c = nums(c);
                    (c[0], c[1])
                })
                .collect(),
            large: attr
                .get("large-community")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    let c = nums(c);
                    (c[0], c[1], c[2])
                })
                .collect(),
        };
        if let Some(a) = update.get("announce").and_then(Value::as_object) {
            for by_nh in a.values() {
                for list in by_nh.as_object().into_iter().flat_map(|o| o.values()) {
                    for n in list.as_array().into_iter().flatten() {
                        if let Some(p) = n.get("nlri").and_then(Value::as_str) {
                            rib.insert(p.to_string(), got.clone());
                        }
                    }
                }
            }
        }
    }
    rib
}

fn http_get(port: u16, path: &str) -> Option<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let body = buf.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn reject_codes_and_community_actions_end_to_end() {
    let exabgp = exabgp_path(); // fail early and clearly when missing
    let _ = exabgp;
    let n = 150 + std::process::id() % 100;
    let ip = |h: u8| format!("127.0.{n}.{h}");
    let (ia, ib, ic) = (ip(11), ip(12), ip(13));
    let dir = std::env::temp_dir().join(format!("caribix-policy-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bgp_port = free_port();
    let web_port = free_port();
    let config = format!(
        r#"[ixp]
shortname = "TIX"
name = "Policy test IXP"
country = "GP"

[[peering_lan]]
name = "main"
vlan = 10
ipv4 = "127.0.{n}.0/24"
ipv6 = "2001:db8:{n}::/64"

[route_server]
asn = {RS}
router_id = "127.0.0.1"
listen = ["127.0.0.1:{bgp_port}"]
hold_time = 30

[policy]
never_via_route_servers_asns = [20940]
blocklist = ["1.2.3.0/24"]

[web]
listen = "127.0.0.1:{web_port}"

[[member]]
asn = {A}
name = "A"
ipv4 = ["{ia}"]
ipv6 = ["2001:db8:{n}::11"]
passive = true
max_prefix = {{ ipv4 = 1000, ipv6 = 100 }}
policy = {{ blocklist = ["1.2.4.0/24"] }}

[[member]]
asn = {B}
name = "B"
ipv4 = ["{ib}"]
passive = true
max_prefix = {{ ipv4 = 1000, ipv6 = 100 }}

[[member]]
asn = {C}
name = "C"
ipv4 = ["{ic}"]
passive = true
max_prefix = {{ ipv4 = 1000, ipv6 = 100 }}
"#
    );
    let cfg_path = dir.join("caribix.toml");
    std::fs::write(&cfg_path, config).unwrap();

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

    let log = std::fs::File::create(dir.join("caribix.log")).unwrap();
    let mut procs = Procs(Vec::new());
    procs.0.push(
        Command::new(env!("CARGO_BIN_EXE_caribix"))
            .args(["run"])
            .arg(&cfg_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start caribix"),
    );
    wait_for("the JSON API", Duration::from_secs(20), || {
        http_get(web_port, "/api/v1/neighbors").is_some()
    });
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
    let id = format!("AS{A}_127_0_{n}_11");
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
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}
