//! Interop (issue 3): graceful restart with caribix as receiving speaker
//! (RFC 4724 §4.2), with BIRD 2 members on a network-namespace peering
//! LAN, everything checked on the other member's own RIB (BIRD, through
//! `birdc`) and on caribix's `/api/v1/`:
//!
//! - the restarting member (BIRD, `graceful restart on`) is killed with
//!   `kill -9` (its TCP connections close without a NOTIFICATION): the
//!   other member keeps its routes, caribix shows them `stale` and the
//!   neighbor `restarting`; BIRD is started again in recovery mode (`-R`)
//!   announcing one route fewer: after its End-of-RIB the missing route is
//!   withdrawn at the other member, and the routes announced again never
//!   flapped there (BIRD's time of last change is unchanged);
//! - a member that does not come back (restart time 5 s) loses all its
//!   routes at the other member after the restart time, not before.

mod interop;
mod interop_gr_bird;
mod support;

use std::time::{Duration, Instant};

use interop::{wait_until, Lab};
use interop_gr_bird::{rs_config, Bird, BirdRoute};

const R_PREFIXES: [&str; 4] = [
    "185.70.1.0/24",
    "185.70.2.0/24",
    "185.70.3.0/24",
    "2a0c:70:1::/48",
];

/// The routes of `from` (by first AS) that `observer` holds.
fn routes_from(lab: &Lab, observer: &Bird, from: u32) -> Result<Vec<BirdRoute>, String> {
    Ok(observer
        .routes(lab)?
        .into_iter()
        .filter(|r| r.as_path.first() == Some(&from))
        .collect())
}

fn prefixes(v: &[BirdRoute]) -> Vec<String> {
    let mut p: Vec<String> = v.iter().map(|r| r.prefix.clone()).collect();
    p.sort();
    p
}

fn sorted(p: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = p.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The restarting member's neighbor entry (IPv4 session) in the API.
fn neighbor(lab: &Lab, id: &str) -> Result<serde_json::Value, String> {
    let v = lab.api("/api/v1/neighbors")?;
    v.get("neighbors")
        .and_then(|n| n.as_array())
        .and_then(|l| {
            l.iter()
                .find(|n| n.get("id").and_then(|i| i.as_str()) == Some(id))
        })
        .cloned()
        .ok_or_else(|| format!("no neighbor {id} in {v}"))
}

/// Start caribix and the two members; wait until the observer has every
/// route of the restarting member.
fn setup(test_id: &str, restart_time: u16) -> (Lab, Bird, Bird) {
    let mut lab = Lab::new(test_id, &[("rs", 1), ("r", 11), ("o", 12)]);
    let mut r = Bird::new("r", 64496, 11, &R_PREFIXES);
    r.graceful_restart = Some(restart_time);
    let mut o = Bird::new("o", 64497, 12, &["185.70.12.0/24"]);
    let conf = rs_config(
        "",
        &[
            r.member_toml("passive = true\n"),
            o.member_toml("passive = true\n"),
        ],
    );
    lab.start_rs(&conf);
    r.start(&mut lab, false);
    o.start(&mut lab, false);
    wait_until("both members Established", Duration::from_secs(60), || {
        r.established(&lab)?;
        o.established(&lab)
    });
    wait_until(
        "the observer has the restarting member's routes",
        Duration::from_secs(30),
        || {
            let got = prefixes(&routes_from(&lab, &o, r.asn)?);
            if got == sorted(&R_PREFIXES) {
                Ok(())
            } else {
                Err(format!("observer has {got:?}"))
            }
        },
    );
    (lab, r, o)
}

#[test]
fn restarting_member_keeps_its_routes_and_only_the_missing_one_goes() {
    let (mut lab, mut r, o) = setup("gr", 60);
    let before = routes_from(&lab, &o, r.asn).unwrap_or_else(|e| panic!("{e}"));
    let id = r.rs_id4();

    r.kill9(&mut lab);
    // caribix notices the closed connection and keeps the routes stale.
    wait_until("caribix shows the restart", Duration::from_secs(20), || {
        let n = neighbor(&lab, &id)?;
        let gr = n.get("graceful_restart").cloned().unwrap_or_default();
        if gr.get("state").and_then(|s| s.as_str()) == Some("restarting") {
            Ok(gr)
        } else {
            Err(format!("neighbor: {n}"))
        }
    });
    let held = lab
        .api(&format!("/api/v1/neighbors/{id}/routes"))
        .unwrap_or_else(|e| panic!("{e}"));
    let routes = held["routes"].as_array().cloned().unwrap_or_default();
    assert_eq!(routes.len(), 3, "IPv4 routes held: {held}");
    assert!(
        routes.iter().all(|r| r["stale"] == serde_json::json!(true)),
        "every held route is stale: {held}"
    );
    // The other member still has every route, unchanged, for a while.
    for _ in 0..6 {
        let now = routes_from(&lab, &o, r.asn).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            now, before,
            "the observer's routes changed during the restart"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Back, in recovery mode, without 185.70.3.0/24.
    r.prefixes.retain(|p| p != "185.70.3.0/24");
    r.start(&mut lab, true);
    wait_until(
        "the missing route is withdrawn at the observer",
        Duration::from_secs(60),
        || {
            let got = routes_from(&lab, &o, r.asn)?;
            if got.iter().any(|x| x.prefix == "185.70.3.0/24") {
                Err(format!("still there: {got:?}"))
            } else {
                Ok(())
            }
        },
    );
    let after = routes_from(&lab, &o, r.asn).unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<BirdRoute> = before
        .iter()
        .filter(|x| x.prefix != "185.70.3.0/24")
        .cloned()
        .collect();
    assert_eq!(
        after, kept,
        "the routes announced again flapped at the observer (time of last change moved)"
    );
    wait_until("the restart is over", Duration::from_secs(30), || {
        let n = neighbor(&lab, &id)?;
        match n.get("graceful_restart") {
            None | Some(serde_json::Value::Null) => Ok(()),
            Some(gr) => Err(format!("still {gr}")),
        }
    });
    let held = lab
        .api(&format!("/api/v1/neighbors/{id}/routes"))
        .unwrap_or_else(|e| panic!("{e}"));
    let routes = held["routes"].as_array().cloned().unwrap_or_default();
    assert_eq!(routes.len(), 2, "{held}");
    assert!(routes
        .iter()
        .all(|r| r["stale"] == serde_json::json!(false)));
    r.established(&lab).unwrap_or_else(|e| panic!("{e}"));
    o.established(&lab).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn member_that_does_not_come_back_loses_its_routes_after_the_restart_time() {
    let (mut lab, mut r, o) = setup("grx", 5);
    r.kill9(&mut lab);
    let killed = Instant::now();
    // Still there three seconds on (restart time 5 s)...
    std::thread::sleep(Duration::from_secs(3));
    let got = prefixes(&routes_from(&lab, &o, r.asn).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(
        got,
        sorted(&R_PREFIXES),
        "routes gone before the restart time"
    );
    // ...and gone soon after five.
    wait_until(
        "the routes are withdrawn at the observer",
        Duration::from_secs(20),
        || {
            let got = routes_from(&lab, &o, r.asn)?;
            if got.is_empty() {
                Ok(())
            } else {
                Err(format!("still {got:?}"))
            }
        },
    );
    assert!(
        killed.elapsed() >= Duration::from_secs(5),
        "withdrawn after {:?}, before the restart time",
        killed.elapsed()
    );
    o.established(&lab).unwrap_or_else(|e| panic!("{e}"));
}
