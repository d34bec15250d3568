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

/// A StayRTR process (Debian `stayrtr`) serving a JSON file of VRPs that
/// the test rewrites; killed (by PID) on drop. A missing program fails
/// the test.
pub struct StayRtr {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl StayRtr {
    /// Serves `json` on `port`, re-reading it every second; RTR refresh
    /// 30 s, retry 2 s, expire 7200 s (the client's own timers).
    pub fn start(json: &Path, port: u16) -> StayRtr {
        let addr = format!("127.0.0.1:{port}");
        let log = json.with_file_name(format!("stayrtr-{port}.log"));
        let logf = std::fs::File::create(&log).expect("create the StayRTR log");
        let child = Command::new("stayrtr")
            .args(["-cache"])
            .arg(json)
            .args(["-bind", &addr, "-checktime=false", "-refresh", "1"])
            .arg("-metrics.addr")
            .arg(format!("127.0.0.1:{}", free_port()))
            .args([
                "-rtr.refresh",
                "30",
                "-rtr.retry",
                "2",
                "-rtr.expire",
                "7200",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run stayrtr ({e}): install the Debian package stayrtr \
                     (scripts/install-deps) — this test needs a real RTR cache"
                )
            });
        let s = StayRtr { child, addr, log };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect(&s.addr).is_ok() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "stayrtr did not listen on {} within 10 s; its log:\n{}",
            s.addr,
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
    }

    /// Kills the process (by PID) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for StayRtr {
    fn drop(&mut self) {
        self.kill();
    }
}

/// rpki-client `vrps.json` for (prefix, max length, AS) triples, written
/// atomically so StayRTR never reads half a file.
pub fn write_vrps(path: &Path, roas: &[(&str, u8, u32)]) {
    let roas: Vec<String> = roas
        .iter()
        .map(|(p, m, a)| {
            format!(
                r#"{{"prefix":"{p}","maxLength":{m},"asn":{a},"ta":"test","expires":4102444800}}"#
            )
        })
        .collect();
    let text = format!(
        r#"{{"metadata":{{"buildtime":"2026-11-23T00:00:00Z","roas":{}}},"roas":[{}]}}"#,
        roas.len(),
        roas.join(",")
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write the VRP file");
    std::fs::rename(&tmp, path).expect("rename the VRP file");
}

/// `caribix run FILE` with its output in `dir/caribix-N.log`.
pub fn spawn_caribix(dir: &Path, cfg: &Path, n: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("caribix-{n}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_caribix"))
        .arg("run")
        .arg(cfg)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("cannot start caribix")
}

/// The neighbor with API id `id`.
pub fn neighbor(web: u16, id: &str) -> Option<Value> {
    let v = http_get(web, "/api/v1/neighbors")?;
    v["neighbors"]
        .as_array()?
        .iter()
        .find(|n| n["id"] == id)
        .cloned()
}

/// The filtered routes of neighbor `id`: prefix -> reject codes.
pub fn filtered(web: u16, id: &str) -> BTreeMap<String, BTreeSet<u64>> {
    let Some(v) = http_get(web, &format!("/api/v1/neighbors/{id}/routes?filtered=true")) else {
        return BTreeMap::new();
    };
    v["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let codes = r["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["code"].as_u64())
                .collect();
            (r["prefix"].as_str().unwrap_or("").to_string(), codes)
        })
        .collect()
}

/// What the test whois server knows: as-set expansions and the IPv4 and
/// IPv6 route objects per origin.
#[derive(Clone, Debug, Default)]
pub struct WhoisData {
    pub sets: BTreeMap<String, Vec<u32>>,
    pub v4: BTreeMap<u32, Vec<String>>,
    pub v6: BTreeMap<u32, Vec<String>>,
}

/// A small IRRd-style whois server on 127.0.0.1 answering `!!`, `!s`,
/// `!iSET,1`, `!gASn` and `!6ASn` from [`WhoisData`] that the test may
/// change; stops when dropped.
pub struct WhoisServer {
    pub addr: String,
    pub data: std::sync::Arc<std::sync::Mutex<WhoisData>>,
    pub queries: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for WhoisServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl WhoisServer {
    pub fn start(data: WhoisData) -> WhoisServer {
        use std::io::{BufRead, BufReader};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the whois server");
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let data = Arc::new(Mutex::new(data));
        let queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (d, q, st) = (data.clone(), queries.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let Ok((sock, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let (d, q) = (d.clone(), q.clone());
                std::thread::spawn(move || {
                    let _ = sock.set_nonblocking(false);
                    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut w = sock.try_clone().unwrap();
                    let mut r = BufReader::new(sock);
                    let mut persistent = false;
                    // Bounded: at most 1,000 queries per connection.
                    for _ in 0..1000 {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim().to_string();
                        q.lock().unwrap().push(line.clone());
                        if line == "!!" {
                            persistent = true;
                            continue;
                        }
                        let out = whois_answer(&d.lock().unwrap(), &line);
                        if w.write_all(out.as_bytes()).is_err() || !persistent {
                            return;
                        }
                    }
                });
            }
        });
        WhoisServer {
            addr,
            data,
            queries,
            stop,
        }
    }
}

fn whois_answer(d: &WhoisData, q: &str) -> String {
    let framed = |text: String| format!("A{}\n{text}\nC\n", text.len() + 1);
    let asn = |s: &str| s.trim_start_matches("AS").parse::<u32>().ok();
    if q.starts_with("!s") {
        "C\n".into()
    } else if let Some(set) = q.strip_prefix("!i").and_then(|s| s.strip_suffix(",1")) {
        match d.sets.get(set) {
            Some(m) => framed(
                m.iter()
                    .map(|a| format!("AS{a}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            None => "D\n".into(),
        }
    } else if let Some(a) = q.strip_prefix("!g").and_then(asn) {
        match d.v4.get(&a) {
            Some(p) if !p.is_empty() => framed(p.join(" ")),
            _ => "C\n".into(),
        }
    } else if let Some(a) = q.strip_prefix("!6").and_then(asn) {
        match d.v6.get(&a) {
            Some(p) if !p.is_empty() => framed(p.join(" ")),
            _ => "C\n".into(),
        }
    } else {
        format!("F Unrecognized command {q}\n")
    }
}
