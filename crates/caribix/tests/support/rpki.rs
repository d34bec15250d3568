//! RPKI and IRR sources for the end-to-end tests: a StayRTR process
//! (Debian `stayrtr`) serving a VRP file the test rewrites, that file
//! written atomically (both from crates/rov's test helpers), and a small IRRd-style whois server whose data the
//! test may change while it runs.
//!
//! Not here: RPSL files (the tests write them inline) and the RTR client,
//! which is caribix's own (crates/rov).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

/// The RTR tests' helpers of crates/rov (StayRTR processes, rpki-client
/// JSON), shared rather than written twice.
#[path = "../../../rov/tests/common/mod.rs"]
mod rov_common;

pub use rov_common::StayRtr;

/// StayRTR serving `json` on `port` (RTR version 2, StayRTR's default),
/// re-reading it every second; RTR refresh 30 s, retry 2 s, expire 7200 s
/// (the client's own timers). A missing program fails the test.
pub fn stayrtr(json: &Path, port: u16) -> StayRtr {
    StayRtr::start(json, port, 2, 30, 2, 7200)
}

/// rpki-client `vrps.json` for (prefix, max length, AS) triples and no
/// ASPA records, written atomically so StayRTR never reads half a file.
pub fn write_vrps(path: &Path, roas: &[(&str, u8, u32)]) {
    rov_common::write_atomic(path, &rov_common::json(roas, &[]));
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
