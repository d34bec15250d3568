//! End to end (issue 4): `caribix run` with its RPKI and IRR data sources
//! wired: StayRTR (Debian `stayrtr`) serving a VRP file the test rewrites,
//! RPSL files or a whois server started by the test, and ExaBGP members
//! (Debian `exabgp`) on 127.0.N.x.
//!
//! `rpki_and_irr_files_codes_blackhole_roa_changes_and_restart`:
//! - member A announces a Valid route, a BLACKHOLE /32 of its own space
//!   and one outside it (rejected: codes 12 and 13),
//!   a route whose origin is not in its AS-SET (code 9), a prefix outside
//!   its route objects (12) and two RPKI invalid routes (14); B receives
//!   exactly the accepted ones, the blackhole with NO_EXPORT added and the
//!   RPKI informational community; the others are in A's filtered routes
//!   with exactly their codes; B, without an AS-SET, is checked against
//!   its own AS's route objects;
//! - the ROA of the Valid route is changed to another AS: it is withdrawn
//!   at B; restored (and a ROA for one invalid route added): both are
//!   announced at B; all without a session reset (one "session
//!   established" per member in the log, uptime growing, no error);
//! - StayRTR is killed: routing goes on unchanged;
//! - `caribix run` is restarted while StayRTR is down: it starts from the
//!   VRPs persisted in `cache_dir`, the API says so, and the same routes
//!   are accepted and rejected.
//!
//! `irr_whois_as_set_change_picked_up_without_reset`: IRR data from a
//! whois server started by the test (`!s` source selection, `!i`, `!g`);
//! the member's AS-SET gains an AS and that AS's route object; after a
//! SIGHUP (the on-demand refresh) the routes rejected for codes 9 and 12
//! are accepted and reach B, with no session reset; they take A over its
//! max-prefix limit, which the revalidation finds (warning mode: counted,
//! session kept). Then the whois server goes away: the next refresh
//! fails, the member keeps its last good data, the API shows the error,
//! and no route moves.
//!
//! `aspa_from_json_rejects_invalid_upstream_paths`: ASPA records from the
//! `[policy.rpki] aspa_json` file reject a path whose origin does not
//! attest the member as a provider (code 16).
//!
//! `sighup_switches_rtr_cache_and_rereads_rpsl_files`: a SIGHUP with
//! another RTR cache and an edited RPSL file restarts the RTR client and
//! re-reads the file; the verdicts change with no session reset. A second
//! SIGHUP to a cache that does not answer carries the current VRPs over
//! to the new cache directory: nothing moves.
//!
//! Missing `exabgp` or `stayrtr` fails the tests.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::api::{filtered, http_get, neighbor};
use support::config::{max_prefix, member, Ixp, Site, RS};
use support::exabgp::{exabgp_conf, exabgp_path, rib, routes, spawn_exabgp};
use support::free_tcp;
use support::proc::{caribix_log, kill_and_reap, sighup, spawn_caribix, Procs};
use support::rpki::{stayrtr, write_vrps, WhoisData, WhoisServer};
use support::wait::wait_for;

const A: u32 = 64496;
const B: u32 = 64497;
/// A public AS that is neither a member nor in A's AS-SET.
const OTHER: u32 = 3333;

fn config(site: &Site, policy: &str) -> String {
    Ixp {
        tables: policy,
        ..site.ixp("RPKI and IRR test IXP")
    }
    .toml(&[
        member(
            A,
            "A",
            &site.ip(41),
            &format!("as_set = \"AS-ATEST\"\n{}", max_prefix(100, 10)),
        ),
        member(B, "B", &site.ip(42), &max_prefix(100, 10)),
    ])
}

fn codes(c: &[u64]) -> BTreeSet<u64> {
    c.iter().copied().collect()
}

/// How many times the log of caribix run `k` says A's session came up.
fn established(dir: &Path, k: usize, addr: &str) -> usize {
    caribix_log(dir, k)
        .lines()
        .filter(|l| l.contains("session established") && l.contains(addr))
        .count()
}

/// Alice-LG's view: `/routes/filtered/{id}` of the birdwatcher API,
/// network -> large communities.
fn bw_filtered(web: u16, id: &str) -> BTreeMap<String, BTreeSet<(u64, u64, u64)>> {
    let v = http_get(web, &format!("/routes/filtered/{id}")).unwrap_or(Value::Null);
    v["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let lc = r["bgp"]["large_communities"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| Some((c[0].as_u64()?, c[1].as_u64()?, c[2].as_u64()?)))
                .collect();
            (r["network"].as_str().unwrap_or("").to_string(), lc)
        })
        .collect()
}

fn rpki_status(web: u16) -> Value {
    http_get(web, "/api/v1/policy")
        .map(|p| p["data_sources"]["rpki"].clone())
        .unwrap_or(Value::Null)
}

/// The session of `id` is Established with no error, and its uptime has
/// grown past `since` seconds.
fn assert_up(web: u16, id: &str, since: u64) -> u64 {
    let v = neighbor(web, id).unwrap_or(Value::Null);
    assert_eq!(v["state"], "Established", "{id}: {v}");
    assert!(v["last_error"].is_null(), "{id}: {v}");
    let up = v["uptime_s"].as_u64().unwrap_or(0);
    assert!(
        up >= since,
        "{id}: uptime went back from {since} to {up}: {v}"
    );
    up
}

#[test]
fn rpki_and_irr_files_codes_blackhole_roa_changes_and_restart() {
    let _ = exabgp_path(); // fail early and clearly when missing
    let site = Site::new("rpki-irr", 71);
    let (dir, bgp, web) = (site.dir.clone(), site.bgp, site.web);
    let (ia, ib) = (site.ip(41), site.ip(42));

    // RPKI: A's 11.5.0.0/16 up to /24; 11.8.0.0/16 exactly.
    let vrp_file = dir.join("vrps.json");
    let v0: Vec<(&str, u8, u32)> = vec![("11.5.0.0/16", 24, A), ("11.8.0.0/16", 16, A)];
    write_vrps(&vrp_file, &v0);
    let rtr_port = free_tcp();
    let mut stayrtr = stayrtr(&vrp_file, rtr_port);
    // IRR: A's AS-SET is A alone; its route objects cover 11.5, 11.7, 11.8.
    std::fs::write(
        dir.join("irr.db"),
        format!(
            "as-set: AS-ATEST\nmembers: AS{A}\nsource: TEST\n\n\
             route: 11.5.0.0/16\norigin: AS{A}\nsource: TEST\n\n\
             route: 11.7.0.0/16\norigin: AS{A}\nsource: TEST\n\n\
             route: 11.8.0.0/16\norigin: AS{A}\nsource: TEST\n\n\
             route: 11.13.0.0/16\norigin: AS{B}\nsource: TEST\n"
        ),
    )
    .unwrap();
    let policy = format!(
        "[policy.rpki]\nrtr = [\"127.0.0.1:{rtr_port}\"]\ncache_dir = \"rpki-cache\"\n\n\
         [policy.irr]\nrpsl_files = [\"irr.db\"]\ncache_dir = \"irr-cache\"\n"
    );
    let cfg = dir.join("caribix.toml");
    std::fs::write(&cfg, config(&site, &policy)).unwrap();

    let good = "11.5.0.0/24";
    let bh = "11.5.3.1/32";
    let r9 = "11.7.1.0/24";
    let r12 = "11.6.0.0/24";
    let r14 = "11.8.0.0/24";
    let r14b = "11.8.1.0/24";
    // BLACKHOLE outside A's registered space: not "own", so too long (13)
    // and not registered (12).
    let bh_foreign = "11.6.5.5/32";
    let routes_a: Vec<String> = vec![
        format!("route {good} next-hop {ia} as-path [ {A} ]"),
        format!("route {bh} next-hop {ia} as-path [ {A} ] community [ 65535:666 ]"),
        format!("route {r9} next-hop {ia} as-path [ {A} {OTHER} ]"),
        format!("route {r12} next-hop {ia} as-path [ {A} ]"),
        format!("route {r14} next-hop {ia} as-path [ {A} ]"),
        format!("route {r14b} next-hop {ia} as-path [ {A} ]"),
        format!("route {bh_foreign} next-hop {ia} as-path [ {A} ] community [ 65535:666 ]"),
    ];
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp, &routes_a);
    // B has no AS-SET: it is checked against its own AS's route objects.
    let routes_b = routes(&["11.13.0.0/24", "11.14.0.0/24"], &ib, B);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp, &routes_b);
    let mut procs = Procs(Vec::new());
    procs.0.push(spawn_caribix(&dir, &cfg, 1));
    wait_for("the RTR sync (API)", Duration::from_secs(20), || {
        let s = rpki_status(web);
        s["state"] == "cache connected" && s["vrps"] == 2
    });
    let p = http_get(web, "/api/v1/policy").unwrap();
    assert_eq!(p["checks"]["rpki"], true, "{p}");
    assert_eq!(p["checks"]["irr_origin"], true, "{p}");
    let irr_a = &p["data_sources"]["irr"]["members"][0];
    assert_eq!(irr_a["asn"], A, "{p}");
    assert_eq!(irr_a["has_data"], true, "{p}");
    assert_eq!(irr_a["prefixes"], 3, "{p}");
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    let (id_a, id_b) = (site.id(A, 41), site.id(B, 42));

    // 1. Codes 9, 12, 14; Valid and BLACKHOLE routes reach B.
    let want_filtered = |with_r14: bool| -> BTreeMap<String, BTreeSet<u64>> {
        let mut m = BTreeMap::from([
            (r9.to_string(), codes(&[9])),
            (r12.to_string(), codes(&[12])),
            (r14b.to_string(), codes(&[14])),
            (bh_foreign.to_string(), codes(&[12, 13])),
        ]);
        if with_r14 {
            m.insert(r14.to_string(), codes(&[14]));
        }
        m
    };
    wait_for("A's filtered routes", Duration::from_secs(30), || {
        filtered(web, &id_a) == want_filtered(true)
    });
    wait_for("A's accepted routes at B", Duration::from_secs(20), || {
        let r = rib(&dir, "b");
        r.contains_key(good) && r.contains_key(bh)
    });
    let r = rib(&dir, "b");
    for p in [r9, r12, r14, r14b, bh_foreign] {
        assert!(!r.contains_key(p), "{p} reached B: {r:?}");
    }
    let got_bh = &r[bh];
    assert!(got_bh.communities.contains(&(65535, 666)), "{got_bh:?}");
    assert!(
        got_bh.communities.contains(&(65535, 65281)),
        "BLACKHOLE route without NO_EXPORT at B: {got_bh:?}"
    );
    assert!(
        r[good].large.contains(&(RS, 1000, 1)),
        "no RPKI Valid community on {good} at B: {:?}",
        r[good]
    );
    for tag in [(RS, 1001, 1), (RS, 1001, 3)] {
        assert!(
            r[good].large.contains(&tag),
            "no IRR prefix/origin OK community {tag:?} on {good} at B: {:?}",
            r[good]
        );
    }
    // The same in the birdwatcher API, with the reject and informational
    // large communities.
    let bw = bw_filtered(web, &id_a);
    let rs = u64::from(RS);
    for (p, code) in [(r9, 9), (r12, 12), (r14, 14), (r14b, 14)] {
        let lc = bw
            .get(p)
            .unwrap_or_else(|| panic!("{p} not in /routes/filtered: {bw:?}"));
        assert!(lc.contains(&(rs, 1101, code)), "{p}: {lc:?}");
        let others: Vec<_> = lc.iter().filter(|c| c.1 == 1101 && c.2 != code).collect();
        assert!(others.is_empty(), "{p}: other reject codes {others:?}");
    }
    assert!(
        bw[r14].contains(&(rs, 1000, 4)),
        "RPKI Invalid tag: {:?}",
        bw[r14]
    );
    assert!(
        bw[r9].contains(&(rs, 1001, 4)),
        "IRR origin KO tag: {:?}",
        bw[r9]
    );
    assert!(
        bw[r12].contains(&(rs, 1001, 2)),
        "IRR prefix KO tag: {:?}",
        bw[r12]
    );
    // B, without an AS-SET: its own AS's route object counts.
    wait_for("B's routes judged", Duration::from_secs(20), || {
        filtered(web, &id_b) == BTreeMap::from([("11.14.0.0/24".to_string(), codes(&[12]))])
    });
    wait_for("B's registered route at A", Duration::from_secs(20), || {
        rib(&dir, "a").contains_key("11.13.0.0/24")
    });
    assert!(!rib(&dir, "a").contains_key("11.14.0.0/24"));
    let up_a = assert_up(web, &id_a, 0);
    let up_b = assert_up(web, &id_b, 0);

    // 2. The ROA of A's Valid route moves to another AS: withdrawn at B.
    let v1: Vec<(&str, u8, u32)> = vec![("11.5.0.0/16", 24, OTHER), ("11.8.0.0/16", 16, A)];
    write_vrps(&vrp_file, &v1);
    let t = Instant::now();
    wait_for(
        "the now invalid route withdrawn at B",
        Duration::from_secs(30),
        || !rib(&dir, "b").contains_key(good),
    );
    eprintln!("ROA change to withdrawal at B: {:?}", t.elapsed());
    let mut want = want_filtered(true);
    want.insert(good.to_string(), codes(&[14]));
    wait_for(
        "the invalid route in A's filtered routes",
        Duration::from_secs(10),
        || filtered(web, &id_a) == want,
    );
    // The blackhole /32 is RPKI invalid too, and stays (RFC 7999 routes of
    // the member's own space are exempt).
    assert!(rib(&dir, "b").contains_key(bh));

    // 3. ROA restored, and a ROA for 11.8.0.0/24: both announced at B.
    let v2: Vec<(&str, u8, u32)> = vec![
        ("11.5.0.0/16", 24, A),
        ("11.8.0.0/16", 16, A),
        ("11.8.0.0/24", 24, A),
    ];
    write_vrps(&vrp_file, &v2);
    let t = Instant::now();
    wait_for(
        "the routes valid again at B",
        Duration::from_secs(30),
        || {
            let r = rib(&dir, "b");
            r.contains_key(good) && r.contains_key(r14)
        },
    );
    eprintln!("ROA change to announcement at B: {:?}", t.elapsed());
    wait_for(
        "A's filtered routes after the ROA change",
        Duration::from_secs(10),
        || filtered(web, &id_a) == want_filtered(false),
    );
    let up_a = assert_up(web, &id_a, up_a);
    let up_b = assert_up(web, &id_b, up_b);
    assert_eq!(established(&dir, 1, &ia), 1, "A's session was reset");
    assert_eq!(established(&dir, 1, &ib), 1, "B's session was reset");

    // 4. The cache goes away: routing goes on with the same data.
    stayrtr.kill();
    wait_for(
        "the API to show the cache unreachable",
        Duration::from_secs(10),
        || {
            let s = rpki_status(web);
            s["connected"].is_null()
                && s["state"]
                    .as_str()
                    .is_some_and(|t| t.contains("unreachable"))
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    let s = rpki_status(web);
    assert_eq!(s["vrps"], 3, "{s}");
    assert_ne!(s["source"], "expired", "{s}");
    assert_eq!(filtered(web, &id_a), want_filtered(false));
    let r = rib(&dir, "b");
    assert!(
        r.contains_key(good) && r.contains_key(r14) && r.contains_key(bh),
        "{r:?}"
    );
    assert_up(web, &id_a, up_a);
    assert_up(web, &id_b, up_b);
    assert!(
        dir.join("rpki-cache").join("rpki-vrps.txt").exists()
            || std::fs::read_dir(dir.join("rpki-cache")).is_ok_and(|d| d.count() > 0),
        "nothing persisted in cache_dir"
    );

    // 5. caribix restarts while StayRTR is down: persisted VRPs.
    let mut old = procs.0.remove(0);
    kill_and_reap(&mut old);
    procs.0.push(spawn_caribix(&dir, &cfg, 2));
    wait_for("the persisted VRPs (API)", Duration::from_secs(20), || {
        let s = rpki_status(web);
        s["source"] == "persisted" && s["vrps"] == 3
    });
    let s = rpki_status(web);
    assert!(
        s["state"].as_str().is_some_and(|t| t.contains("persisted")),
        "{s}"
    );
    // ExaBGP reconnects; the same verdicts from the persisted data.
    wait_for(
        "A's filtered routes after the restart",
        Duration::from_secs(60),
        || filtered(web, &id_a) == want_filtered(false),
    );
    wait_for(
        "B gets A's accepted routes after the restart",
        Duration::from_secs(30),
        || {
            neighbor(web, &id_b)
                .is_some_and(|v| v["state"] == "Established" && v["routes"]["exported"] == 3)
        },
    );
    let accepted: BTreeSet<String> = http_get(
        web,
        &format!("/api/v1/neighbors/{id_a}/routes?filtered=false"),
    )
    .and_then(|v| v["routes"].as_array().cloned())
    .unwrap_or_default()
    .iter()
    .filter_map(|r| r["prefix"].as_str().map(str::to_string))
    .collect();
    assert_eq!(
        accepted,
        [good, bh, r14]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn irr_whois_as_set_change_picked_up_without_reset() {
    let _ = exabgp_path();
    let site = Site::new("irr-whois", 83);
    let (dir, bgp, web) = (site.dir.clone(), site.bgp, site.web);
    let (ia, ib) = (site.ip(41), site.ip(42));
    let mut data = WhoisData::default();
    data.sets.insert("AS-ATEST".into(), vec![A]);
    data.v4.insert(A, vec!["11.10.0.0/16".into()]);
    let whois = WhoisServer::start(data);
    let policy = format!(
        "[policy]\nmax_prefix_action = \"warning\"\n\n[policy.irr]\nwhois = \"{}\"\nsources = [\"TEST\"]\nrefresh = \"6h\"\ncache_dir = \"irr-cache\"\n",
        whois.addr
    );
    let cfg = dir.join("caribix.toml");
    // A's IPv4 limit is 2: the routes the IRR change accepts take it over.
    let text = config(&site, &policy).replacen("ipv4 = 100", "ipv4 = 2", 1);
    std::fs::write(&cfg, text).unwrap();
    let ok = "11.10.1.0/24";
    let new_origin = "11.10.2.0/24";
    let outside = "11.11.0.0/24";
    let routes_a = vec![
        format!("route {ok} next-hop {ia} as-path [ {A} ]"),
        format!("route {new_origin} next-hop {ia} as-path [ {A} {OTHER} ]"),
        format!("route {outside} next-hop {ia} as-path [ {A} {OTHER} ]"),
    ];
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp, &routes_a);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp, &[]);
    let mut procs = Procs(Vec::new());
    procs.0.push(spawn_caribix(&dir, &cfg, 1));
    wait_for(
        "A's IRR data from whois (API)",
        Duration::from_secs(20),
        || {
            http_get(web, "/api/v1/policy").is_some_and(|p| {
                let m = &p["data_sources"]["irr"]["members"][0];
                m["has_data"] == true && m["prefixes"] == 1
            })
        },
    );
    let p = http_get(web, "/api/v1/policy").unwrap();
    assert_eq!(p["checks"]["rpki"], false, "no RTR cache: RPKI off: {p}");
    assert_eq!(
        p["data_sources"]["irr"]["source"],
        format!("whois {}", whois.addr),
        "{p}"
    );
    assert!(
        p["data_sources"]["irr"]["last_refresh_age_s"].is_u64(),
        "{p}"
    );
    assert!(
        p["data_sources"]["irr"]["members"][0]["last_error"].is_null(),
        "{p}"
    );
    assert!(
        whois.queries.lock().unwrap().iter().any(|q| q == "!sTEST"),
        "no source selection sent"
    );
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    let (id_a, id_b) = (site.id(A, 41), site.id(B, 42));
    let before = BTreeMap::from([
        (new_origin.to_string(), codes(&[9])),
        (outside.to_string(), codes(&[9, 12])),
    ]);
    wait_for(
        "codes 9 and 12 from the whois data",
        Duration::from_secs(30),
        || filtered(web, &id_a) == before,
    );
    wait_for("the registered route at B", Duration::from_secs(20), || {
        rib(&dir, "b").contains_key(ok)
    });
    let up_a = assert_up(web, &id_a, 0);
    let up_b = assert_up(web, &id_b, 0);

    // The AS-SET gains OTHER, and OTHER registers 11.11.0.0/16.
    {
        let mut d = whois.data.lock().unwrap();
        d.sets.insert("AS-ATEST".into(), vec![A, OTHER]);
        d.v4.insert(OTHER, vec!["11.11.0.0/16".into()]);
    }
    let pid = procs.0[0].id();
    sighup(pid);
    let t = Instant::now();
    wait_for(
        "the routes accepted after the IRR refresh",
        Duration::from_secs(30),
        || {
            let r = rib(&dir, "b");
            r.contains_key(new_origin) && r.contains_key(outside)
        },
    );
    eprintln!("IRR change to announcement at B: {:?}", t.elapsed());
    assert!(filtered(web, &id_a).is_empty());
    // Three accepted routes over a limit of 2, found by the revalidation
    // (A sent no UPDATE): warned once, the session kept.
    wait_for(
        "the max-prefix warning after the revalidation",
        Duration::from_secs(10),
        || {
            neighbor(web, &id_a).is_some_and(|v| {
                v["max_prefix"]["excess"] == serde_json::json!([1, 0])
                    && v["max_prefix"]["warnings"] == 1
            })
        },
    );
    assert_up(web, &id_a, up_a);
    assert_up(web, &id_b, up_b);
    assert_eq!(established(&dir, 1, &ia), 1, "A's session was reset");
    assert_eq!(established(&dir, 1, &ib), 1, "B's session was reset");
    // The cache on disk holds the new data, with its age.
    let cached = std::fs::read_to_string(dir.join("irr-cache").join(format!("irr-AS{A}.json")))
        .expect("A's IRR disk cache");
    assert!(cached.contains("11.11.0.0/16"), "{cached}");

    // The whois server goes away: a refresh fails, A keeps its last good
    // data (the API shows the error and the data's age), nothing moves.
    drop(whois);
    std::thread::sleep(Duration::from_millis(200));
    sighup(pid);
    wait_for(
        "the failed refresh in the API",
        Duration::from_secs(40),
        || {
            http_get(web, "/api/v1/policy").is_some_and(|p| {
                let m = &p["data_sources"]["irr"]["members"][0];
                m["last_error"].is_string() && m["has_data"] == true
            })
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(filtered(web, &id_a).is_empty());
    let r = rib(&dir, "b");
    assert!(
        r.contains_key(ok) && r.contains_key(new_origin) && r.contains_key(outside),
        "{r:?}"
    );
    assert_up(web, &id_a, up_a);
    assert_eq!(established(&dir, 1, &ia), 1, "A's session was reset");
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// ASPA (code 16, caribix's own) from the `aspa_json` file beside an RTR
/// cache (StayRTR serving no VRPs): a path whose origin attests other
/// providers than the member is rejected; one whose origin attests the
/// member passes, as does the member's own route.
#[test]
fn aspa_from_json_rejects_invalid_upstream_paths() {
    let _ = exabgp_path();
    let site = Site::new("aspa", 97);
    let (dir, bgp, web) = (site.dir.clone(), site.bgp, site.web);
    let (ia, ib) = (site.ip(41), site.ip(42));
    let vrp_file = dir.join("vrps.json");
    write_vrps(&vrp_file, &[]);
    let rtr_port = free_tcp();
    let _stayrtr = stayrtr(&vrp_file, rtr_port);
    std::fs::write(
        dir.join("aspa.json"),
        format!(
            r#"{{"roas":[],"aspas":[{{"customer_asid":{OTHER},"expires":4102444800,"providers":[174]}},{{"customer_asid":3334,"expires":4102444800,"providers":[{A}]}}]}}"#
        ),
    )
    .unwrap();
    let policy = format!(
        "[policy.rpki]\nrtr = [\"127.0.0.1:{rtr_port}\"]\ncache_dir = \"rpki-cache\"\naspa_json = \"aspa.json\"\n"
    );
    let cfg = dir.join("caribix.toml");
    std::fs::write(&cfg, config(&site, &policy)).unwrap();
    let (bad, good, own) = ("11.12.0.0/24", "11.12.1.0/24", "11.12.2.0/24");
    let routes_a = vec![
        format!("route {bad} next-hop {ia} as-path [ {A} {OTHER} ]"),
        format!("route {good} next-hop {ia} as-path [ {A} 3334 ]"),
        format!("route {own} next-hop {ia} as-path [ {A} ]"),
    ];
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp, &routes_a);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp, &[]);
    let mut procs = Procs(Vec::new());
    procs.0.push(spawn_caribix(&dir, &cfg, 1));
    wait_for("the ASPA records (API)", Duration::from_secs(20), || {
        let s = rpki_status(web);
        s["state"] == "cache connected" && s["aspas"] == 2
    });
    let p = http_get(web, "/api/v1/policy").unwrap();
    assert_eq!(p["checks"]["aspa"], true, "{p}");
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    let id_a = site.id(A, 41);
    let want = BTreeMap::from([(bad.to_string(), codes(&[16]))]);
    wait_for(
        "the ASPA invalid route filtered",
        Duration::from_secs(30),
        || filtered(web, &id_a) == want,
    );
    wait_for("the valid paths at B", Duration::from_secs(20), || {
        let r = rib(&dir, "b");
        r.contains_key(good) && r.contains_key(own)
    });
    assert!(!rib(&dir, "b").contains_key(bad));
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGHUP with a new RTR cache and an edited RPSL file: the RTR client is
/// restarted on the new cache, the IRR files are read again, and the
/// routes whose verdicts change are announced at B with no session reset.
#[test]
fn sighup_switches_rtr_cache_and_rereads_rpsl_files() {
    let _ = exabgp_path();
    let site = Site::new("rpki-hup", 13);
    let (dir, bgp, web) = (site.dir.clone(), site.bgp, site.web);
    let (ia, ib) = (site.ip(41), site.ip(42));
    // Cache 1 gives 11.15.0.0/16 to another AS, cache 2 to A.
    let (f1, f2) = (dir.join("vrps1.json"), dir.join("vrps2.json"));
    write_vrps(&f1, &[("11.15.0.0/16", 24, OTHER)]);
    write_vrps(&f2, &[("11.15.0.0/16", 24, A)]);
    let (p1, p2) = (free_tcp(), free_tcp());
    let _c1 = stayrtr(&f1, p1);
    let _c2 = stayrtr(&f2, p2);
    let rpsl = |extra: &str| {
        std::fs::write(
            dir.join("irr.db"),
            format!(
                "as-set: AS-ATEST\nmembers: AS{A}\n\nroute: 11.15.0.0/16\norigin: AS{A}\n{extra}"
            ),
        )
        .unwrap()
    };
    rpsl("");
    let policy = |port: u16| {
        format!(
            "[policy.rpki]\nrtr = [\"127.0.0.1:{port}\"]\ncache_dir = \"rpki-cache-{port}\"\n\n\
             [policy.irr]\nrpsl_files = [\"irr.db\"]\ncache_dir = \"irr-cache\"\n"
        )
    };
    let cfg = dir.join("caribix.toml");
    std::fs::write(&cfg, config(&site, &policy(p1))).unwrap();
    let (r14, r12) = ("11.15.1.0/24", "11.16.0.0/24");
    let routes_a = routes(&[r14, r12], &ia, A);
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp, &routes_a);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp, &[]);
    let mut procs = Procs(Vec::new());
    procs.0.push(spawn_caribix(&dir, &cfg, 1));
    wait_for("the RTR sync with cache 1", Duration::from_secs(20), || {
        rpki_status(web)["connected"] == format!("127.0.0.1:{p1}")
    });
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    let (id_a, id_b) = (site.id(A, 41), site.id(B, 42));
    let before = BTreeMap::from([
        (r14.to_string(), codes(&[14])),
        (r12.to_string(), codes(&[12])),
    ]);
    wait_for("codes 14 and 12", Duration::from_secs(30), || {
        filtered(web, &id_a) == before
    });
    wait_for("B Established", Duration::from_secs(20), || {
        neighbor(web, &id_b).is_some_and(|v| v["state"] == "Established")
    });
    let up_a = assert_up(web, &id_a, 0);
    let up_b = assert_up(web, &id_b, 0);

    std::fs::write(&cfg, config(&site, &policy(p2))).unwrap();
    rpsl(&format!("\nroute: 11.16.0.0/16\norigin: AS{A}\n"));
    let pid = procs.0[0].id();
    sighup(pid);
    wait_for(
        "both routes at B after the SIGHUP",
        Duration::from_secs(30),
        || {
            let r = rib(&dir, "b");
            r.contains_key(r14) && r.contains_key(r12)
        },
    );
    assert!(filtered(web, &id_a).is_empty());
    assert_eq!(rpki_status(web)["connected"], format!("127.0.0.1:{p2}"));
    assert_up(web, &id_a, up_a);
    assert_up(web, &id_b, up_b);
    assert_eq!(established(&dir, 1, &ia), 1, "A's session was reset");
    assert_eq!(established(&dir, 1, &ib), 1, "B's session was reset");

    // Another SIGHUP, to a cache that does not answer and an empty cache
    // directory: the current VRPs are carried over, nothing moves.
    let dead = free_tcp();
    std::fs::write(&cfg, config(&site, &policy(dead))).unwrap();
    sighup(pid);
    wait_for("the carried-over VRPs", Duration::from_secs(20), || {
        let s = rpki_status(web);
        s["caches"] == serde_json::json!([format!("127.0.0.1:{dead}")])
            && s["source"] == "persisted"
            && s["vrps"] == 1
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(filtered(web, &id_a).is_empty());
    let r = rib(&dir, "b");
    assert!(r.contains_key(r14) && r.contains_key(r12), "{r:?}");
    assert_up(web, &id_a, up_a);
    assert_eq!(established(&dir, 1, &ia), 1, "A's session was reset");
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}
