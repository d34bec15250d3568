//! ExaBGP members for the end-to-end tests (Debian's `exabgp`): a
//! configuration with static routes and an API process that appends every
//! UPDATE it receives, as JSON, to `NAME.recv.json`; the process started
//! with its log in `NAME.log`; and the member's RIB replayed from those
//! JSON lines. A missing `exabgp` fails the test.
//!
//! Not here: the namespace-based interop lab's ExaBGP members
//! (tests/interop/daemons/exabgp.rs), which speak to caribix over a bridge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::config::RS;

/// The `exabgp` program; a missing one fails the test with the Debian
/// package to install.
pub fn exabgp_path() -> PathBuf {
    PathBuf::from(super::require(
        &[
            "/usr/sbin/exabgp",
            "/usr/bin/exabgp",
            "/sbin/exabgp",
            "/bin/exabgp",
        ],
        "exabgp",
    ))
}

/// One ExaBGP member: static routes, and an API process appending what it
/// receives to `recv.json`.
pub fn exabgp_conf(
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
    .expect("write the ExaBGP API script");
    let mut perms = std::fs::metadata(&script)
        .expect("stat the ExaBGP API script")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("make the ExaBGP API script executable");
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
    std::fs::write(&path, conf).expect("write the ExaBGP configuration");
    path
}

/// Starts ExaBGP on `conf`, its output in `dir/NAME.log`.
pub fn spawn_exabgp(dir: &Path, name: &str, conf: &Path) -> Child {
    let log =
        std::fs::File::create(dir.join(format!("{name}.log"))).expect("create the ExaBGP log");
    Command::new(exabgp_path())
        .arg(conf)
        .env("exabgp.daemon.user", "root")
        .env("exabgp.daemon.drop", "false")
        .env("exabgp.daemon.daemonize", "false")
        .env("exabgp.tcp.bind", "")
        .env("exabgp.log.destination", "stdout")
        .env("exabgp.api.ack", "false")
        .env("exabgp.cli.enable", "false")
        .stdout(log.try_clone().expect("clone the ExaBGP log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start exabgp: {e}"))
}

/// A received route: AS path, standard and large communities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Got {
    pub as_path: Vec<u32>,
    pub communities: BTreeSet<(u32, u32)>,
    pub large: BTreeSet<(u32, u32, u32)>,
}

/// The RIB of a member, replayed from its API process's JSON lines.
pub fn rib(dir: &Path, name: &str) -> BTreeMap<String, Got> {
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
        let lists = |key: &str| -> Vec<Vec<u32>> {
            attr.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(nums)
                .collect()
        };
        let got = Got {
            as_path: attr.get("as-path").map(nums).unwrap_or_default(),
            communities: lists("community")
                .into_iter()
                .map(|c| match c[..] {
                    [x, y] => (x, y),
                    _ => panic!("ExaBGP wrote a community {c:?} of other than 2 numbers"),
                })
                .collect(),
            large: lists("large-community")
                .into_iter()
                .map(|c| match c[..] {
                    [x, y, z] => (x, y, z),
                    _ => panic!("ExaBGP wrote a large community {c:?} of other than 3 numbers"),
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

/// ExaBGP `route` lines for `prefixes`, each with next hop `next_hop` and
/// the AS path of `asn` alone.
pub fn routes(prefixes: &[&str], next_hop: &str, asn: u32) -> Vec<String> {
    prefixes
        .iter()
        .map(|p| format!("route {p} next-hop {next_hop} as-path [ {asn} ]"))
        .collect()
}
