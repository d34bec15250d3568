//! Helpers of the policy end-to-end tests: ExaBGP members that record
//! what they receive, `caribix run`'s JSON API, bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The route server's AS in the tests.
pub const RS: u32 = 64500;

/// Child processes, killed (by PID) when dropped.
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

pub fn exabgp_path() -> PathBuf {
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

pub fn spawn_exabgp(dir: &Path, name: &str, conf: &Path) -> Child {
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

pub fn http_get(port: u16, path: &str) -> Option<Value> {
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

pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}");
}
