//! Contract test of the birdwatcher-compatible API against the fields,
//! types and time formats Alice-LG's birdwatcher source parses (its
//! `parsers.go` with the default `servertime` settings): run the demo,
//! fetch every endpoint, check every field Alice-LG reads.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::api::get_ok;
use support::Proc;

/// Starts `caribix demo` with its API on a free port; the port it printed.
fn start_demo() -> (Proc, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_caribix"))
        .args(["demo", "--duration", "40", "--web", "127.0.0.1:0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start caribix demo");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let mut port = None;
    for line in lines.by_ref().take(20) {
        let line = line.expect("read demo output");
        if let Some(rest) = line.trim().strip_prefix("JSON API:") {
            let url = rest.trim();
            port = url
                .strip_prefix("http://127.0.0.1:")
                .and_then(|u| u.split('/').next())
                .and_then(|p| p.parse().ok());
            break;
        }
    }
    // Keep draining stdout so the demo never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (
        Proc(child),
        port.expect("demo printed its API address on 127.0.0.1"),
    )
}

/// "YYYY-MM-DD hh:mm:ss" (Alice-LG `servertime_short` default).
fn is_short_time(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// RFC 3339 "YYYY-MM-DDThh:mm:ssZ" (Alice-LG `servertime` default).
fn is_rfc3339(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    s.len() == 20
        && s.as_bytes()[10] == b'T'
        && s.ends_with('Z')
        && is_short_time(&Value::String(s[..19].replace('T', " ")))
}

fn check_envelope(v: &Value, path: &str) {
    let api = &v["api"];
    assert!(api["Version"].is_string(), "{path}: api.Version");
    assert!(
        api["result_from_cache"].is_boolean(),
        "{path}: api.result_from_cache"
    );
    assert!(
        is_rfc3339(&api["cache_status"]["cached_at"]["date"]),
        "{path}: cached_at.date {}",
        api["cache_status"]
    );
    assert!(is_rfc3339(&v["ttl"]), "{path}: ttl {}", v["ttl"]);
}

fn check_route(r: &Value, protocols: &serde_json::Map<String, Value>, path: &str) {
    let net = r["network"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: network"));
    assert!(
        net.parse::<bgp_wire::Prefix>().is_ok(),
        "{path}: network {net}"
    );
    assert!(r["gateway"].is_string(), "{path}: gateway");
    let from = r["from_protocol"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}: from_protocol"));
    assert!(
        protocols.contains_key(from),
        "{path}: from_protocol {from} is no protocol"
    );
    assert!(r["interface"].is_string());
    assert!(r["metric"].is_number(), "{path}: metric");
    assert!(r["primary"].is_boolean(), "{path}: primary");
    assert!(is_short_time(&r["age"]), "{path}: age {}", r["age"]);
    assert!(
        r["type"]
            .as_array()
            .is_some_and(|t| t.iter().all(Value::is_string)),
        "{path}: type"
    );
    let bgp = &r["bgp"];
    assert!(bgp["origin"].is_string());
    let path_ok = bgp["as_path"].as_array().is_some_and(|p| {
        !p.is_empty()
            && p.iter()
                .all(|a| a.as_str().is_some_and(|s| s.parse::<u32>().is_ok()))
    });
    assert!(
        path_ok,
        "{path}: as_path must be a list of numeric strings: {}",
        bgp["as_path"]
    );
    assert!(bgp["next_hop"].is_string());
    for k in ["local_pref", "med"] {
        assert!(
            bgp[k].as_str().is_some_and(|s| s.parse::<u32>().is_ok()),
            "{path}: bgp.{k} must be a numeric string"
        );
    }
    for (k, n) in [("communities", 2), ("large_communities", 3)] {
        let ok = bgp[k].as_array().is_some_and(|l| {
            l.iter().all(|c| {
                c.as_array()
                    .is_some_and(|c| c.len() == n && c.iter().all(Value::is_number))
            })
        });
        assert!(ok, "{path}: bgp.{k}: {}", bgp[k]);
    }
    let ext_ok = bgp["ext_communities"]
        .as_array()
        .is_some_and(|l| l.iter().all(|c| c.as_array().is_some_and(|c| c.len() == 3)));
    assert!(ext_ok, "{path}: ext_communities");
}

#[test]
fn alice_lg_reads_every_endpoint() {
    let (_demo, port) = start_demo();
    // Wait until every session (the demo's 13 members) is up and routes have arrived.
    let deadline = Instant::now() + Duration::from_secs(25);
    let protocols = loop {
        let v = get_ok(port, "/protocols/bgp");
        let p = v["protocols"].as_object().cloned().unwrap_or_default();
        let all_up = p.len() == 13
            && p.values()
                .all(|x| x["state"] == "up" && x["routes"]["imported"].as_u64() > Some(0));
        if all_up || Instant::now() > deadline {
            check_envelope(&v, "/protocols/bgp");
            assert!(all_up, "not every protocol up with routes: {v}");
            break p;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    for (id, p) in &protocols {
        for k in ["neighbor_address", "state", "description", "last_error"] {
            assert!(p[k].is_string(), "protocol {id}: {k}");
        }
        assert!(p["neighbor_as"].is_number(), "protocol {id}: neighbor_as");
        assert!(
            is_short_time(&p["state_changed"]),
            "protocol {id}: state_changed"
        );
        for k in ["imported", "filtered", "exported", "preferred"] {
            assert!(p["routes"][k].is_number(), "protocol {id}: routes.{k}");
        }
    }
    let status = get_ok(port, "/status");
    check_envelope(&status, "/status");
    for k in ["current_server", "last_reboot", "last_reconfig"] {
        assert!(is_short_time(&status["status"][k]), "status.{k}");
    }
    for k in ["message", "router_id", "version"] {
        assert!(status["status"][k].is_string(), "status.{k}");
    }
    let id = "AS64496_127_0_1_11";
    let imported = protocols[id]["routes"]["imported"].as_u64().unwrap();
    for (path, expect) in [
        (format!("/routes/protocol/{id}"), Some(imported as usize)),
        (format!("/routes/filtered/{id}"), None),
        (format!("/routes/noexport/{id}"), None),
        ("/routes/table/master".to_string(), None),
        ("/routes/table/master/filtered".to_string(), None),
        ("/routes/table/master6".to_string(), None),
    ] {
        let v = get_ok(port, &path);
        check_envelope(&v, &path);
        let routes = v["routes"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: routes"));
        if let Some(n) = expect {
            assert_eq!(routes.len(), n, "{path}");
        }
        for r in routes.iter().take(500) {
            check_route(r, &protocols, &path);
        }
    }
    let master = get_ok(port, "/routes/table/master");
    let total: u64 = protocols
        .values()
        .map(|p| p["routes"]["imported"].as_u64().unwrap())
        .sum();
    assert_eq!(
        master["routes"].as_array().map(Vec::len),
        Some(total as usize)
    );
    assert!(master["routes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["primary"] == true));
}
