//! Helpers for the RTR tests: free ports, temporary directories, StayRTR
//! processes killed by PID when dropped, bounded waiting. The caribix
//! end-to-end tests include this file too (crates/caribix/tests/support/
//! rpki.rs) for StayRTR and its JSON.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port on 127.0.0.1");
    l.local_addr().expect("local address").port()
}

/// A fresh directory under the system temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "rov-test-{name}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create a temporary directory");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `text` to `path` atomically so StayRTR never reads half a file.
pub fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write the JSON file");
    std::fs::rename(&tmp, path).expect("rename the JSON file");
}

/// A StayRTR process serving a JSON file; killed (by PID) on drop.
pub struct StayRtr {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
}

impl StayRtr {
    /// Starts `stayrtr` on `port` serving `json`, re-reading it every
    /// second, with the given RTR intervals and protocol version. Fails
    /// the test when the program is missing.
    pub fn start(
        json: &Path,
        port: u16,
        protocol: u8,
        refresh: u32,
        retry: u32,
        expire: u32,
    ) -> StayRtr {
        let addr = format!("127.0.0.1:{port}");
        let log = json.with_file_name(format!("stayrtr-{port}.log"));
        let logf = std::fs::File::create(&log).expect("create the StayRTR log");
        let child = Command::new("stayrtr")
            .arg("-cache")
            .arg(json)
            .arg("-bind")
            .arg(&addr)
            .arg("-checktime=false")
            .arg("-refresh")
            .arg("1")
            .arg("-metrics.addr")
            .arg(format!("127.0.0.1:{}", free_port()))
            .arg("-protocol")
            .arg(protocol.to_string())
            .arg("-rtr.refresh")
            .arg(refresh.to_string())
            .arg("-rtr.retry")
            .arg(retry.to_string())
            .arg("-rtr.expire")
            .arg(expire.to_string())
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
        s.wait_listening();
        s
    }

    fn wait_listening(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if std::net::TcpStream::connect(&self.addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "stayrtr did not listen on {} within 10 s; its log:\n{}",
            self.addr,
            std::fs::read_to_string(&self.log).unwrap_or_default()
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

/// Polls `f` every 20 ms until it holds; panics after `limit`. Returns how
/// long it took.
pub async fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// rpki-client JSON for (prefix, max length, AS) triples and ASPA records.
pub fn json(roas: &[(&str, u8, u32)], aspas: &[(u32, &[u32])]) -> String {
    let roas: Vec<String> = roas
        .iter()
        .map(|(p, m, a)| {
            format!(
                r#"{{"prefix":"{p}","maxLength":{m},"asn":{a},"ta":"test","expires":4102444800}}"#
            )
        })
        .collect();
    let aspas: Vec<String> = aspas
        .iter()
        .map(|(c, p)| {
            let p: Vec<String> = p.iter().map(u32::to_string).collect();
            format!(
                r#"{{"customer_asid":{c},"expires":4102444800,"providers":[{}]}}"#,
                p.join(",")
            )
        })
        .collect();
    let old: Vec<String> = aspas
        .iter()
        .map(|a| a.replace("\"providers\"", "\"provider_set\""))
        .collect();
    format!(
        // StayRTR 0.5 reads ASPA from `provider_authorizations` (the
        // rpki-client format of draft-ietf-sidrops-8210bis-10, per AFI);
        // current rpki-client writes `aspas`. Both are written.
        r#"{{"metadata":{{"buildtime":"2026-11-23T00:00:00Z","roas":{},"aspas":{}}},"roas":[{}],"aspas":[{}],"provider_authorizations":{{"ipv4":[{}],"ipv6":[{}]}}}}"#,
        roas.len(),
        aspas.len(),
        roas.join(","),
        aspas.join(","),
        old.join(","),
        old.join(",")
    )
}
