//! Interop with a real GoBGP (Debian package `gobgpd`): this time our
//! session is the active side and connects to `gobgpd` listening on a 127.x
//! address (GoBGP's neighbour is passive). Hold time 9 s on both sides.
//! The test checks that the session reaches Established, stays up past the
//! hold time, carries a route injected with the `gobgp` CLI, that GoBGP
//! shows the session Established, and that GoBGP sees our Cease/
//! Administrative Shutdown with its shutdown communication.
//!
//! The test fails (never skips) when `gobgpd` or `gobgp` is missing.
//! `gobgpd` runs as a child process with its own API port and is killed by
//! PID at the end.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bgp_session::{Input, State};
use common::{addresses, free_port, program, Driver};

/// Kills gobgpd by PID and removes the temporary directory.
struct Gobgp {
    child: Child,
    dir: PathBuf,
    api: u16,
}

impl Drop for Gobgp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Gobgp {
    fn start(dir: &Path, listen: SocketAddr) -> Gobgp {
        let gobgpd = program("gobgpd", "gobgpd");
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create temp dir");
        let conf = dir.join("gobgpd.toml");
        // Our connections to a 127.x address come from 127.0.0.1.
        std::fs::write(
            &conf,
            format!(
                r#"[global.config]
  as = 65001
  router-id = "10.0.0.3"
  port = {port}
  local-address-list = ["{ip}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = 64500
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
  [neighbors.transport.config]
    passive-mode = true
"#,
                port = listen.port(),
                ip = listen.ip(),
            ),
        )
        .expect("write gobgpd.toml");
        let api = free_port(Ipv4Addr::LOCALHOST);
        let log = std::fs::File::create(dir.join("gobgpd.log")).expect("log file");
        let child = Command::new(gobgpd)
            .arg("-f")
            .arg(&conf)
            .arg("--api-hosts")
            .arg(format!("127.0.0.1:{api}"))
            .arg("-l")
            .arg("debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start gobgpd");
        Gobgp {
            child,
            dir: dir.to_path_buf(),
            api,
        }
    }

    fn cli(&self, args: &str) -> String {
        let out = Command::new(program("gobgp", "gobgpd"))
            .arg("-p")
            .arg(self.api.to_string())
            .args(args.split_whitespace())
            .output()
            .expect("run gobgp");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gobgpd.log")).unwrap_or_default()
    }
}

#[test]
fn gobgp_accepts_our_connection_and_sees_our_cease() {
    let (_, theirs) = addresses(1, 0);
    let listen = SocketAddr::from((theirs, free_port(theirs)));
    let dir = std::env::temp_dir().join(format!("bgp-session-gobgp-{}", std::process::id()));
    let gobgp = Gobgp::start(&dir, listen);
    let mut d = Driver::active(listen);
    d.input(Input::ManualStart);
    d.run(Duration::from_secs(40), |d| {
        d.session.state() == State::Established
    });
    assert_eq!(
        d.session.state(),
        State::Established,
        "no session with GoBGP; downs: {:?}\ngobgpd log:\n{}",
        d.downs,
        gobgp.log()
    );
    let local = d.stream.as_ref().and_then(|s| s.local_addr().ok());
    assert_eq!(local.map(|a| a.ip()), Some(Ipv4Addr::LOCALHOST.into()));
    let n = d.session.negotiated().expect("negotiated").clone();
    assert_eq!((n.hold_time, n.keepalive_interval), (9, 3));
    assert!(n.four_octet_as && n.route_refresh);

    let since = Instant::now();
    let ka_in = d.session.stats().received.keepalive;
    d.run(Duration::from_secs(12), |d| {
        d.session.state() != State::Established
    });
    assert_eq!(
        d.session.state(),
        State::Established,
        "dropped after {:?}: {:?}",
        since.elapsed(),
        d.downs
    );
    let got = d.session.stats().received.keepalive - ka_in;
    assert!(got >= 3, "only {got} keepalives from GoBGP in 12 s");

    let shown = gobgp.cli("neighbor");
    assert!(
        shown.contains("Establ"),
        "GoBGP does not show Established:\n{shown}"
    );

    let added = gobgp.cli("global rib add 198.51.100.0/24 -a ipv4");
    d.run(Duration::from_secs(10), |d| {
        d.announced().iter().any(|p| p == "198.51.100.0/24")
    });
    let prefixes = d.announced();
    assert!(
        prefixes.iter().any(|p| p == "198.51.100.0/24"),
        "route from GoBGP not received ({added}): {prefixes:?}"
    );

    let text = "caribix interop test, back soon";
    d.input(Input::ManualStop {
        subcode: 2,
        message: text.to_string(),
    });
    assert_eq!(d.session.state(), State::Idle);
    let end = Instant::now() + Duration::from_secs(10);
    let mut log = String::new();
    while Instant::now() < end {
        log = gobgp.log();
        if log.contains(text) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let line = log
        .lines()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("GoBGP did not log our shutdown communication:\n{log}"));
    assert!(
        line.contains(r#""Code":6"#) && line.contains(r#""Subcode":2"#),
        "not a Cease/Administrative Shutdown: {line}"
    );
    eprintln!("gobgpd: {line}");
    let shown = gobgp.cli("neighbor");
    assert!(
        !shown.contains("Establ"),
        "GoBGP still Established:\n{shown}"
    );
}
