//! End to end (issue 4): max-prefix per member and family in `caribix
//! run`. An ExaBGP member with a limit of 2 IPv4 routes announces 3: the
//! route server sends Cease / Maximum Number of Prefixes Reached (RFC 4486
//! subcode 1), withdraws the member's routes from the other member, keeps
//! the session down for `max_prefix_restart` (1 minute here) although
//! ExaBGP keeps reconnecting, and lets it come back after that.
//!
//! Takes about 70 seconds (the registry counts the restart in minutes). A
//! missing `exabgp` fails the test.

mod support;

use std::time::{Duration, Instant};

use support::api::{http_get, neighbor};
use support::config::{max_prefix, member, Ixp, Site};
use support::exabgp::{exabgp_conf, exabgp_path, rib, routes, spawn_exabgp};
use support::proc::{caribix_log, sighup, start_caribix, Procs};
use support::wait::wait_for;

const A: u32 = 64496;
const B: u32 = 64497;

/// Whether neighbor `id`'s last error is the max-prefix Cease (RFC 4486
/// subcode 1).
fn ceased(web: u16, id: &str) -> bool {
    neighbor(web, id).is_some_and(|v| {
        v["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Maximum Number of Prefixes"))
    })
}

#[test]
fn max_prefix_cease_hold_and_restart() {
    let _ = exabgp_path(); // fail early and clearly when missing
    let site = Site::new("maxpfx-e2e", 0);
    let (dir, bgp_port, web_port) = (site.dir.clone(), site.bgp, site.web);
    let (ia, ib) = (site.ip(21), site.ip(22));
    let config = Ixp {
        route_server: "hold_time = 30\nmax_prefix_restart = 1",
        ..site.ixp("Max-prefix test IXP")
    }
    .toml(&[
        member(A, "A", &ia, &max_prefix(2, 10)),
        member(B, "B", &ib, &max_prefix(100, 10)),
    ]);
    let cfg_path = dir.join("caribix.toml");
    std::fs::write(&cfg_path, config).expect("write caribix.toml");
    let routes_a = routes(&["11.2.0.0/24", "11.2.1.0/24", "11.2.2.0/24"], &ia, A);
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp_port, &routes_a);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp_port, &[]);
    let mut procs = Procs(Vec::new());
    start_caribix(&mut procs, &dir, &cfg_path, 1, web_port);
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    let id_b = site.id(B, 22);
    wait_for("B Established", Duration::from_secs(30), || {
        neighbor(web_port, &id_b).is_some_and(|v| v["state"] == "Established")
    });
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    let id_a = site.id(A, 21);

    // The third route trips the limit: Cease subcode 1.
    wait_for("the max-prefix Cease", Duration::from_secs(30), || {
        ceased(web_port, &id_a)
    });
    let tripped = Instant::now();
    let a_log = std::fs::read_to_string(dir.join("a.log")).unwrap_or_default();
    eprintln!(
        "A's ExaBGP log, notification lines: {:?}",
        a_log
            .lines()
            .filter(|l| l.to_lowercase().contains("notification"))
            .collect::<Vec<_>>()
    );
    // B never keeps A's routes.
    wait_for("A's routes withdrawn at B", Duration::from_secs(10), || {
        let r = rib(&dir, "b");
        !r.keys().any(|p| p.starts_with("11.2."))
    });
    // Down for the hold time, although ExaBGP retries every few seconds.
    while tripped.elapsed() < Duration::from_secs(50) {
        let v = neighbor(web_port, &id_a).expect("neighbor A in the API");
        assert_ne!(
            v["state"],
            "Established",
            "A came back {:?} after the Cease",
            tripped.elapsed()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    // And back after it (then over the limit again, and down again).
    let mut came_back = false;
    let end = Instant::now() + Duration::from_secs(40);
    while Instant::now() < end {
        let v = neighbor(web_port, &id_a).expect("neighbor A in the API");
        if v["state"] == "Established" || v["uptime_s"].as_u64().is_some_and(|u| u > 0) {
            came_back = true;
            break;
        }
        // The session may come up and trip again between two polls: the
        // caribix log counts the Ceases.
        let text = caribix_log(&dir, 1);
        if text.matches("max-prefix limit exceeded").count() >= 2 {
            came_back = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(came_back, "A did not come back after the max-prefix hold");
    assert!(
        tripped.elapsed() >= Duration::from_secs(55),
        "A came back too early: {:?}",
        tripped.elapsed()
    );
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `max_prefix_action = "warning"` (global): A goes one route over its
/// IPv4 limit of 2; the session stays Established, B receives all three
/// routes, the API shows the action, the excess and one warning, and the
/// log says so once. Member C overrides the action with `restart` and,
/// one route over its limit of 1, gets the Cease (RFC 4486 subcode 1).
#[test]
fn max_prefix_warning_mode_keeps_the_session() {
    let _ = exabgp_path(); // fail early and clearly when missing
    let site = Site::new("maxpfx-warn", 37);
    let (dir, bgp_port, web_port) = (site.dir.clone(), site.bgp, site.web);
    let (ia, ib, ic) = (site.ip(31), site.ip(32), site.ip(33));
    const C: u32 = 64498;
    let config = Ixp {
        route_server: "hold_time = 30\nmax_prefix_restart = 1",
        tables: "[policy]\nmax_prefix_action = \"warning\"",
        ..site.ixp("Max-prefix warning test IXP")
    }
    .toml(&[
        member(A, "A", &ia, &max_prefix(2, 10)),
        member(B, "B", &ib, &max_prefix(100, 10)),
        member(
            C,
            "C",
            &ic,
            &format!(
                "{}\npolicy = {{ max_prefix_action = \"restart\" }}",
                max_prefix(1, 10)
            ),
        ),
    ]);
    let cfg_path = dir.join("caribix.toml");
    std::fs::write(&cfg_path, config).expect("write caribix.toml");
    let routes_a = routes(&["11.3.0.0/24", "11.3.1.0/24", "11.3.2.0/24"], &ia, A);
    let routes_c = routes(&["11.4.0.0/24", "11.4.1.0/24"], &ic, C);
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp_port, &routes_a);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp_port, &[]);
    let conf_c = exabgp_conf(&dir, "c", C, &ic, bgp_port, &routes_c);
    let mut procs = Procs(Vec::new());
    start_caribix(&mut procs, &dir, &cfg_path, 1, web_port);
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    procs.0.push(spawn_exabgp(&dir, "c", &conf_c));
    let id_a = site.id(A, 31);
    let id_c = site.id(C, 33);

    // All three of A's routes reach B: warning mode keeps them.
    wait_for("A's three routes at B", Duration::from_secs(30), || {
        let r = rib(&dir, "b");
        r.keys().filter(|p| p.starts_with("11.3.")).count() == 3
    });
    // C's second route trips the restart action of its own setting.
    wait_for("C's Cease", Duration::from_secs(30), || {
        ceased(web_port, &id_c)
    });
    let v = neighbor(web_port, &id_c).expect("neighbor C");
    assert_eq!(v["max_prefix"]["action"], "restart", "{v}");
    // A stays up: Established with a growing uptime, no error, the excess
    // shown.
    let up0 = neighbor(web_port, &id_a).expect("neighbor A")["uptime_s"]
        .as_u64()
        .unwrap_or(0);
    std::thread::sleep(Duration::from_secs(4));
    let v = neighbor(web_port, &id_a).expect("neighbor A");
    assert_eq!(v["state"], "Established", "{v}");
    assert!(v["uptime_s"].as_u64().unwrap_or(0) >= up0 + 3, "{v}");
    assert!(v["last_error"].is_null(), "{v}");
    assert_eq!(v["routes"]["accepted"], 3, "{v}");
    let mp = &v["max_prefix"];
    assert_eq!(mp["action"], "warning", "{v}");
    assert_eq!(mp["ipv4"], 2, "{v}");
    assert_eq!(mp["excess"], serde_json::json!([1, 0]), "{v}");
    assert_eq!(mp["warnings"], 1, "{v}");
    let text = caribix_log(&dir, 1);
    assert_eq!(
        text.matches("warning only, the session stays up").count(),
        1,
        "one warning line expected in the caribix log:\n{text}"
    );
    let p = http_get(web_port, "/api/v1/policy").expect("/api/v1/policy");
    assert_eq!(p["max_prefix_action"], "warning", "{p}");
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A SIGHUP reload checks max-prefix at once (decision 0072), without
/// waiting for the member's next UPDATE: A's IPv4 limit is lowered from
/// 10 to 2 under its 3 routes, and it gets the Cease (RFC 4486 subcode
/// 1); C (warning mode, limit 2) had its /25 rejected (prefix length, code
/// 13) until the reload allows /25 for it, and is then warned once with
/// its session up. Neither member sends anything after the reload. The
/// reload also sets `max_prefix_restart = 0`: A's Cease stops its session
/// for good, and the API shows B's action as `shutdown` from then on.
#[test]
fn max_prefix_checked_right_after_a_reload() {
    let _ = exabgp_path(); // fail early and clearly when missing
    let site = Site::new("maxpfx-reload", 73);
    let (dir, bgp_port, web_port) = (site.dir.clone(), site.bgp, site.web);
    let (ia, ib, ic) = (site.ip(41), site.ip(42), site.ip(43));
    const C: u32 = 64498;
    let config = |limit_a: u32, c_len: &str, restart_min: u32| {
        let rs = format!("hold_time = 30\nmax_prefix_restart = {restart_min}");
        Ixp {
            route_server: &rs,
            ..site.ixp("Max-prefix reload test IXP")
        }
        .toml(&[
            member(A, "A", &ia, &max_prefix(limit_a, 10)),
            member(B, "B", &ib, &max_prefix(100, 10)),
            member(
                C,
                "C",
                &ic,
                &format!(
                    "{}\npolicy = {{ max_prefix_action = \"warning\"{c_len} }}",
                    max_prefix(2, 10)
                ),
            ),
        ])
    };
    let cfg_path = dir.join("caribix.toml");
    std::fs::write(&cfg_path, config(10, "", 1)).expect("write caribix.toml");
    let routes_a = routes(&["11.5.0.0/24", "11.5.1.0/24", "11.5.2.0/24"], &ia, A);
    let routes_c = routes(&["11.6.0.0/24", "11.6.1.0/24", "11.6.2.0/25"], &ic, C);
    let conf_a = exabgp_conf(&dir, "a", A, &ia, bgp_port, &routes_a);
    let conf_b = exabgp_conf(&dir, "b", B, &ib, bgp_port, &[]);
    let conf_c = exabgp_conf(&dir, "c", C, &ic, bgp_port, &routes_c);
    let mut procs = Procs(Vec::new());
    start_caribix(&mut procs, &dir, &cfg_path, 1, web_port);
    let caribix_pid = procs.0[0].id();
    procs.0.push(spawn_exabgp(&dir, "b", &conf_b));
    procs.0.push(spawn_exabgp(&dir, "a", &conf_a));
    procs.0.push(spawn_exabgp(&dir, "c", &conf_c));
    let id_a = site.id(A, 41);
    let id_b = site.id(B, 42);
    let id_c = site.id(C, 43);

    // Before: A has 3 of 10, C 2 accepted of 2 and the /25 filtered.
    wait_for("A's and C's routes at B", Duration::from_secs(30), || {
        let r = rib(&dir, "b");
        r.keys().filter(|p| p.starts_with("11.5.")).count() == 3
            && r.keys().filter(|p| p.starts_with("11.6.")).count() == 2
    });
    wait_for("C's /25 filtered", Duration::from_secs(10), || {
        neighbor(web_port, &id_c).is_some_and(|v| v["routes"]["filtered"] == 1)
    });
    let v = neighbor(web_port, &id_c).expect("neighbor C");
    assert_eq!(v["max_prefix"]["warnings"], 0, "{v}");
    assert_eq!(v["routes"]["accepted"], 2, "{v}");
    let v = neighbor(web_port, &id_a).expect("neighbor A");
    assert_eq!(v["state"], "Established", "{v}");
    assert!(v["last_error"].is_null(), "{v}");
    let v = neighbor(web_port, &id_b).expect("neighbor B");
    assert_eq!(v["max_prefix"]["action"], "restart", "{v}");

    // The reload: A's limit down to 2, /25 allowed for C, no restart
    // after a max-prefix Cease.
    std::fs::write(
        &cfg_path,
        config(2, ", ipv4_prefix_len = { min = 8, max = 25 }", 0),
    )
    .expect("rewrite caribix.toml");
    sighup(caribix_pid);
    wait_for(
        "A's Cease after the reload",
        Duration::from_secs(15),
        || ceased(web_port, &id_a),
    );
    wait_for("A's routes withdrawn at B", Duration::from_secs(10), || {
        !rib(&dir, "b").keys().any(|p| p.starts_with("11.5."))
    });
    wait_for("C warned after the reload", Duration::from_secs(15), || {
        neighbor(web_port, &id_c).is_some_and(|v| v["max_prefix"]["warnings"] == 1)
    });
    let v = neighbor(web_port, &id_c).expect("neighbor C");
    assert_eq!(v["state"], "Established", "{v}");
    assert!(v["last_error"].is_null(), "{v}");
    assert_eq!(v["routes"]["accepted"], 3, "{v}");
    assert_eq!(v["max_prefix"]["excess"], serde_json::json!([1, 0]), "{v}");
    wait_for("C's /25 at B", Duration::from_secs(10), || {
        rib(&dir, "b").contains_key("11.6.2.0/25")
    });
    let v = neighbor(web_port, &id_b).expect("neighbor B");
    assert_eq!(v["max_prefix"]["action"], "shutdown", "{v}");
    let text = caribix_log(&dir, 1);
    assert!(text.contains("configuration reloaded"), "{text}");
    assert!(
        text.contains("max-prefix limit exceeded: session stopped until restart"),
        "A's Cease should follow the reloaded max_prefix_restart = 0:\n{text}"
    );
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}
