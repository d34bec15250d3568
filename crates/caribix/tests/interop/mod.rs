//! Support for the interop tests of issue 3: caribix as the route server of
//! a peering LAN whose members are real BIRD 2, FRR, GoBGP, OpenBGPD and
//! ExaBGP daemons from Debian's packages.
//!
//! The LAN is built from network namespaces and a Linux bridge, as
//! `/work/shared/INTEROP-NOTES.md` describes: one namespace holds the bridge,
//! one namespace per box (the route server, each member) gets a veth into
//! it, `lo` up, IPv4 `192.0.2.N/24` and IPv6 `2001:db8:10::N/64` (`nodad`).
//! The addresses are the same in every test: each test has its own
//! namespaces (`cbx` + test id + pid + box), so they never meet.
//!
//! [`Lab`] owns everything a test starts: every process is stopped by its
//! PID, then anything left in the test's own namespaces, and every namespace
//! is deleted, from `Drop`, so also when an assertion panics. On a panic
//! (or with `CARIBIX_INTEROP_KEEP` set) the working directory
//! (configurations, daemon logs) is kept and the tail of each log printed.
//!
//! What it does not do: it never touches the host namespace's interfaces,
//! never kills a process by name, and never skips: a missing program fails
//! the test with the Debian package to install.

#![allow(dead_code)] // each test binary uses a different part of this module

pub(crate) mod daemons;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The route server's AS in every interop test.
pub(crate) const RS_ASN: u32 = 64500;
/// The route server's addresses on the peering LAN.
pub(crate) const RS_V4: &str = "192.0.2.1";
pub(crate) const RS_V6: &str = "2001:db8:10::1";

/// The `caribix run` configuration of a test: one IXP, the LAN, one route
/// server (AS 64500, `hold_time` if given) with its API on 127.0.0.1:8080
/// inside the `rs` namespace, and the members, all passive (they connect).
pub(crate) fn rs_config(members: &[daemons::Member], hold_time: Option<u16>) -> String {
    let mut c = String::from(
        "[ixp]\nshortname = \"TIX\"\nname = \"Interop test IX\"\ncountry = \"GP\"\n\n\
         [[peering_lan]]\nname = \"lan\"\nvlan = 10\nipv4 = \"192.0.2.0/24\"\nipv6 = \"2001:db8:10::/64\"\n\n\
         [[route_server]]\nname = \"rs1\"\nasn = 64500\nrouter_id = \"192.0.2.1\"\n\
         listen = [\"192.0.2.1:179\", \"[2001:db8:10::1]:179\"]\n",
    );
    if let Some(h) = hold_time {
        c.push_str(&format!("hold_time = {h}\n"));
    }
    c.push_str("\n[web]\nlisten = \"127.0.0.1:8080\"\n");
    for m in members {
        c.push_str(&format!(
            "\n[[member]]\nasn = {}\nname = \"{}\"\nipv4 = [\"{}\"]\nipv6 = [\"{}\"]\n\
             max_prefix = {{ ipv4 = 50, ipv6 = 50 }}\npassive = true\n",
            m.asn,
            m.name,
            m.v4(),
            m.v6()
        ));
    }
    c
}

/// Where a program is, or a failed test that says which package to install.
pub(crate) fn which(prog: &str, package: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/lib/frr"] {
        dirs.push(PathBuf::from(d));
    }
    if prog.starts_with('/') {
        if Path::new(prog).is_file() {
            return PathBuf::from(prog);
        }
    } else if let Some(p) = dirs.iter().map(|d| d.join(prog)).find(|p| p.is_file()) {
        return p;
    }
    panic!(
        "interop test needs `{prog}` from the Debian package `{package}`, which is not \
         installed: run scripts/install-deps as root"
    );
}

/// Fail unless running as root (network namespaces need it).
pub(crate) fn require_root() {
    let out = Command::new("id").arg("-u").output();
    let uid = out
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    assert_eq!(
        uid.as_deref(),
        Some("0"),
        "interop tests build network namespaces and must run as root (CI runs them as root)"
    );
}

/// Run a command to completion; its stdout, or an error with its stderr.
pub(crate) fn run(args: &[&str]) -> Result<String, String> {
    let (prog, rest) = args.split_first().ok_or("empty command")?;
    let out = Command::new(prog)
        .args(rest)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{prog}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

/// Poll `f` until it returns `Ok`, or fail the test after `timeout` with
/// the last reason it gave ([`crate::support::wait::wait_until`]).
pub(crate) fn wait_until<T>(
    what: &str,
    timeout: Duration,
    f: impl FnMut() -> Result<T, String>,
) -> T {
    crate::support::wait::wait_until(timeout, what, f)
}

struct Proc {
    name: String,
    child: Child,
}

/// A peering LAN of network namespaces, the processes running in it, and a
/// working directory; all removed on drop.
pub(crate) struct Lab {
    prefix: String,
    dir: PathBuf,
    namespaces: Vec<String>,
    procs: Vec<Proc>,
    ip: PathBuf,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("prefix", &self.prefix)
            .field("dir", &self.dir)
            .finish()
    }
}

impl Lab {
    /// Build the LAN: a bridge namespace and one namespace per `(box, n)`,
    /// with `192.0.2.n/24` and `2001:db8:10::n/64`.
    pub(crate) fn new(test_id: &str, boxes: &[(&str, u8)]) -> Lab {
        require_root();
        let ip = which("ip", "iproute2");
        let prefix = format!("cbx{test_id}{}", std::process::id());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("interop-{test_id}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test's working directory");
        let mut lab = Lab {
            prefix,
            dir,
            namespaces: Vec::new(),
            procs: Vec::new(),
            ip,
        };
        let br = lab.add_ns("br");
        lab.ip_ok(&["-n", &br, "link", "add", "br0", "type", "bridge"]);
        lab.ip_ok(&["-n", &br, "link", "set", "br0", "up"]);
        for (name, n) in boxes {
            let ns = lab.add_ns(name);
            let veth = format!("v{name}");
            lab.ip_ok(&[
                "-n", &br, "link", "add", &veth, "type", "veth", "peer", "name", "eth0",
            ]);
            lab.ip_ok(&["-n", &br, "link", "set", "eth0", "netns", &ns]);
            lab.ip_ok(&["-n", &br, "link", "set", &veth, "master", "br0", "up"]);
            lab.ip_ok(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("192.0.2.{n}/24"),
                "dev",
                "eth0",
            ]);
            lab.ip_ok(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("2001:db8:10::{n}/64"),
                "dev",
                "eth0",
                "nodad",
            ]);
            lab.ip_ok(&["-n", &ns, "link", "set", "eth0", "up"]);
        }
        lab
    }

    fn add_ns(&mut self, name: &str) -> String {
        let ns = format!("{}{name}", self.prefix);
        self.ip_ok(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        self.ip_ok(&["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    fn ip_ok(&self, args: &[&str]) {
        let ip = self.ip.to_string_lossy().into_owned();
        let mut v = vec![ip.as_str()];
        v.extend_from_slice(args);
        if let Err(e) = run(&v) {
            panic!("building the peering LAN: {e}");
        }
    }

    /// The namespace of a box.
    pub(crate) fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The working directory (configurations, sockets, logs).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A path in the working directory.
    pub(crate) fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    /// Write a file in the working directory; its path.
    pub(crate) fn write(&self, file: &str, text: &str) -> String {
        let p = self.path(file);
        if let Err(e) = std::fs::write(&p, text) {
            panic!("write {p}: {e}");
        }
        p
    }

    /// Start `args` inside the namespace of `box_name`, output to
    /// `<log>.log` in the working directory; its PID.
    pub(crate) fn spawn(&mut self, box_name: &str, log: &str, args: &[&str]) -> u32 {
        let ns = self.ns(box_name);
        let out = std::fs::File::create(self.path(&format!("{log}.log")))
            .unwrap_or_else(|e| panic!("create {log}.log: {e}"));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("clone {log}.log: {e}"));
        let child = Command::new(&self.ip)
            .args(["netns", "exec", &ns])
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {log} ({}): {e}", args.join(" ")));
        let pid = child.id();
        self.procs.push(Proc {
            name: log.to_string(),
            child,
        });
        pid
    }

    /// Write `config` to `caribix.toml` and start `caribix run` on it in
    /// the route server's box (`rs`), its output in `caribix.log`; its PID.
    pub(crate) fn start_rs(&mut self, config: &str) -> u32 {
        let conf = self.write("caribix.toml", config);
        self.spawn(
            "rs",
            "caribix",
            &[env!("CARGO_BIN_EXE_caribix"), "run", &conf],
        )
    }

    /// Run a command inside a box's namespace to completion.
    pub(crate) fn exec(&self, box_name: &str, args: &[&str]) -> Result<String, String> {
        let ns = self.ns(box_name);
        let ip = self.ip.to_string_lossy().into_owned();
        let mut v = vec![ip.as_str(), "netns", "exec", ns.as_str()];
        v.extend_from_slice(args);
        run(&v)
    }

    /// Whether a process started here is still running.
    pub(crate) fn alive(&mut self, pid: u32) -> bool {
        self.procs
            .iter_mut()
            .find(|p| p.child.id() == pid)
            .is_some_and(|p| matches!(p.child.try_wait(), Ok(None)))
    }

    /// `kill -9` a process started here, and reap it.
    pub(crate) fn kill9(&mut self, pid: u32) {
        if let Some(i) = self.procs.iter().position(|p| p.child.id() == pid) {
            let mut p = self.procs.remove(i);
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// SIGTERM a process started here, SIGKILL it after five seconds.
    pub(crate) fn stop(&mut self, pid: u32) {
        if let Some(i) = self.procs.iter().position(|p| p.child.id() == pid) {
            let mut p = self.procs.remove(i);
            term_then_kill(std::slice::from_mut(&mut p));
        }
    }

    /// Ask the route server's JSON API (it listens on 127.0.0.1:8080 inside
    /// the `rs` namespace).
    pub(crate) fn api(&self, path: &str) -> Result<serde_json::Value, String> {
        let url = format!("http://127.0.0.1:8080{path}");
        let body = self.exec(
            "rs",
            &[
                "python3",
                "-c",
                "import sys, urllib.request; \
                 sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())",
                &url,
            ],
        )?;
        serde_json::from_str(&body).map_err(|e| format!("{url}: {e}: {body}"))
    }

    /// The route server's neighbors by id: `(state, uptime_s)`.
    pub(crate) fn rs_neighbors(&self) -> Result<BTreeMap<String, (String, u64)>, String> {
        let v = self.api("/api/v1/neighbors")?;
        let list = v
            .get("neighbors")
            .and_then(|n| n.as_array())
            .ok_or_else(|| format!("no neighbors in {v}"))?;
        Ok(list
            .iter()
            .map(|n| {
                (
                    n.get("id")
                        .and_then(|s| s.as_str())
                        .unwrap_or("?")
                        .to_string(),
                    (
                        n.get("state")
                            .and_then(|s| s.as_str())
                            .unwrap_or("?")
                            .to_string(),
                        n.get("uptime_s").and_then(|u| u.as_u64()).unwrap_or(0),
                    ),
                )
            })
            .collect())
    }

    /// The prefixes the route server holds from a neighbor.
    pub(crate) fn rs_routes_from(&self, id: &str) -> Result<Vec<String>, String> {
        let v = self.api(&format!("/api/v1/neighbors/{id}/routes"))?;
        let list = v
            .get("routes")
            .and_then(|n| n.as_array())
            .ok_or_else(|| format!("no routes in {v}"))?;
        Ok(list
            .iter()
            .filter_map(|r| r.get("prefix").and_then(|p| p.as_str()))
            .map(str::to_string)
            .collect())
    }
}

fn term_then_kill(procs: &mut [Proc]) {
    for p in procs.iter() {
        let _ = Command::new("kill")
            .args(["-TERM", &p.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for p in procs.iter_mut() {
        loop {
            match p.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let mut procs = std::mem::take(&mut self.procs);
        procs.reverse();
        term_then_kill(&mut procs);
        // Helpers that daemons forked (OpenBGPD's engines, ExaBGP's API
        // processes) live in this test's own namespaces only.
        let ip = self.ip.to_string_lossy().into_owned();
        for ns in &self.namespaces {
            if let Ok(pids) = run(&[&ip, "netns", "pids", ns]) {
                for pid in pids.split_whitespace() {
                    let _ = Command::new("kill")
                        .args(["-KILL", pid])
                        .stderr(Stdio::null())
                        .status();
                }
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = run(&[&ip, "netns", "del", ns]);
        }
        if std::thread::panicking() || std::env::var_os("CARIBIX_INTEROP_KEEP").is_some() {
            eprintln!("interop: kept {} for inspection", self.dir.display());
            if let Ok(rd) = std::fs::read_dir(&self.dir) {
                let mut logs: Vec<PathBuf> = rd
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "log"))
                    .collect();
                logs.sort();
                for l in logs {
                    let text = std::fs::read_to_string(&l).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let tail = &lines[lines.len().saturating_sub(25)..];
                    eprintln!("---- {} (last {} lines)", l.display(), tail.len());
                    for line in tail {
                        eprintln!("{line}");
                    }
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A route as a member's own daemon shows it, reduced to what the route
/// server must pass through unchanged. A MED of 0 counts as none (OpenBGPD
/// shows 0 for a missing MED); the tests use non-zero MEDs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Route {
    pub(crate) prefix: String,
    pub(crate) as_path: Vec<u32>,
    pub(crate) next_hop: String,
    pub(crate) med: Option<u32>,
    pub(crate) communities: Vec<(u32, u32)>,
    /// Route targets as `rt:ADMIN:NUMBER`.
    pub(crate) ext_communities: Vec<String>,
    pub(crate) large_communities: Vec<(u32, u32, u32)>,
}

impl Route {
    /// Sort the lists and canonicalise the prefix, next hop and MED.
    pub(crate) fn normalized(mut self) -> Route {
        self.prefix = canonical_prefix(&self.prefix);
        self.next_hop = self
            .next_hop
            .parse::<IpAddr>()
            .map_or(self.next_hop, |a| a.to_string());
        if self.med == Some(0) {
            self.med = None;
        }
        self.communities.sort_unstable();
        self.ext_communities.sort_unstable();
        self.large_communities.sort_unstable();
        self
    }
}

/// `2001:DB8:0100::/48` → `2001:db8:100::/48`.
pub(crate) fn canonical_prefix(p: &str) -> String {
    match p.split_once('/') {
        Some((a, l)) => match a.parse::<IpAddr>() {
            Ok(a) => format!("{a}/{l}"),
            Err(_) => p.to_string(),
        },
        None => p.to_string(),
    }
}

/// Parse `a:b` into two numbers.
pub(crate) fn pair(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once(':')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Parse `a:b:c` into three numbers.
pub(crate) fn triple(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.trim().split(':');
    let a = it.next()?.trim().parse().ok()?;
    let b = it.next()?.trim().parse().ok()?;
    let c = it.next()?.trim().parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((a, b, c))
}
