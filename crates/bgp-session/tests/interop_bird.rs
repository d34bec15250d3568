//! Interop with a real BIRD 2 (Debian package `bird2`): BIRD connects to a
//! `Session` driven by a small std-only TCP driver on a 127.x address,
//! both sides use hold time 9 s (keepalive 3 s). The test checks that the
//! session reaches Established, carries BIRD's route, stays up for longer
//! than the hold time (so keepalives flow both ways), that BIRD reports it
//! Established, and that BIRD sees our Cease with its shutdown
//! communication (RFC 9003) after a ManualStop.
//!
//! The test fails (never skips) when `bird` or `birdc` is missing. BIRD
//! runs in the foreground as a child process with its own control socket
//! and pid file in a temporary directory, and is killed by PID at the end.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bgp_session::{DownReason, Input, State};
use common::{addresses, free_port, program, Driver};

/// Kills BIRD by PID and removes the temporary directory, even when the
/// test fails.
struct Bird {
    child: Child,
    dir: PathBuf,
    sock: PathBuf,
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Bird {
    fn start(dir: &Path, bird_addr: Ipv4Addr, our: SocketAddr, role: &str) -> Bird {
        let bird = program("bird", "bird2");
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create temp dir");
        let conf = dir.join("bird.conf");
        let sock = dir.join("bird.ctl");
        let log = dir.join("bird.log");
        std::fs::write(
            &conf,
            format!(
                r#"router id 10.0.0.2;
log "{log}" all;
protocol device {{}}
protocol static s4 {{ ipv4; route 198.51.100.0/24 blackhole; }}
protocol bgp caribix {{
  local {bird_addr} port {bird_port} as 65001;
  strict bind yes;
  neighbor {ip} port {port} as 64500;
  multihop;
  hold time 9;
  keepalive time 3;
  connect retry time 2;
  connect delay time 1;
  local role {role};
  ipv4 {{ import all; export all; }};
  ipv6 {{ import all; export none; }};
}}
"#,
                log = log.display(),
                ip = our.ip(),
                bird_port = free_port(bird_addr),
                port = our.port(),
            ),
        )
        .expect("write bird.conf");
        let child = Command::new(bird)
            .arg("-f")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(&sock)
            .arg("-P")
            .arg(dir.join("bird.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start bird");
        Bird {
            child,
            dir: dir.to_path_buf(),
            sock,
        }
    }

    fn birdc(&self, cmd: &str) -> String {
        let out = Command::new(program("birdc", "bird2"))
            .arg("-s")
            .arg(&self.sock)
            .args(cmd.split_whitespace())
            .output()
            .expect("run birdc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bird.log")).unwrap_or_default()
    }
}

#[test]
fn bird_reaches_established_keeps_it_and_sees_our_cease() {
    let (ours, theirs) = addresses(0, 0);
    let listener = TcpListener::bind((ours, 0)).expect("bind 127.x listener");
    let our_addr = listener.local_addr().expect("local addr");
    let dir = std::env::temp_dir().join(format!("bgp-session-bird-{}", std::process::id()));
    let bird = Bird::start(&dir, theirs, our_addr, "rs_client");
    let mut d = Driver::passive(listener);
    d.input(Input::ManualStart);
    d.run(Duration::from_secs(30), |d| {
        d.session.state() == State::Established
    });
    assert_eq!(
        d.session.state(),
        State::Established,
        "no session with BIRD; downs: {:?}\nBIRD log:\n{}",
        d.downs,
        bird.log()
    );
    let n = d.session.negotiated().expect("negotiated").clone();
    assert_eq!(n.hold_time, 9);
    assert_eq!(n.keepalive_interval, 3);
    assert_eq!(n.peer_role, Some(bgp_wire::Role::RouteServerClient));
    assert!(n.four_octet_as && n.route_refresh);

    // Stay up for 12 s: four keepalive intervals and more than the hold
    // time, so each side must have kept the other's hold timer alive.
    let since = Instant::now();
    let ka_in = d.session.stats().received.keepalive;
    let ka_out = d.session.stats().sent.keepalive;
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
    assert!(d.downs.is_empty(), "{:?}", d.downs);
    let got = d.session.stats().received.keepalive - ka_in;
    let sent = d.session.stats().sent.keepalive - ka_out;
    assert!(got >= 3, "only {got} keepalives from BIRD in 12 s");
    assert!(sent >= 3, "only {sent} keepalives to BIRD in 12 s");

    // BIRD's static route arrived and decodes with the negotiated context.
    let prefixes = d.announced();
    assert!(
        prefixes.iter().any(|p| p == "198.51.100.0/24"),
        "BIRD's route not received: {prefixes:?}"
    );

    let shown = bird.birdc("show protocols all caribix");
    assert!(
        shown.contains("Established"),
        "BIRD does not show Established:\n{shown}"
    );

    // Cease with a shutdown communication; BIRD must report it.
    let text = "caribix interop test, back soon";
    d.input(Input::ManualStop {
        subcode: 2,
        message: text.to_string(),
    });
    assert_eq!(d.session.state(), State::Idle);
    assert!(d.stream.is_none(), "the connection must be closed");
    let end = Instant::now() + Duration::from_secs(10);
    let mut shown = String::new();
    while Instant::now() < end {
        shown = bird.birdc("show protocols all caribix");
        if shown.contains("Administrative shutdown") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        shown.contains("Received: Administrative shutdown"),
        "BIRD did not see our Cease:\n{shown}\nBIRD log:\n{}",
        bird.log()
    );
    assert!(
        shown.contains(&format!("Message:        {text}")),
        "BIRD did not show the shutdown communication:\n{shown}\nBIRD log:\n{}",
        bird.log()
    );
    eprintln!("BIRD after our Cease:\n{shown}");
}

/// BIRD says it is a peer (RFC 9234 role 4): that does not fit our
/// route-server role, so the session must end with OPEN Message Error /
/// Role Mismatch (2/11), sent by us or by BIRD (both check), and never
/// reach Established.
#[test]
fn bird_with_wrong_role_gets_role_mismatch() {
    let (ours, theirs) = addresses(0, 1);
    let listener = TcpListener::bind((ours, 0)).expect("bind 127.x listener");
    let our_addr = listener.local_addr().expect("local addr");
    let dir = std::env::temp_dir().join(format!("bgp-session-bird-role-{}", std::process::id()));
    let bird = Bird::start(&dir, theirs, our_addr, "peer");
    let mut d = Driver::passive(listener);
    d.input(Input::ManualStart);
    d.run(Duration::from_secs(30), |d| !d.downs.is_empty());
    assert!(d.established_at.is_none(), "must not reach Established");
    let mismatch = d.downs.iter().any(|r| match r {
        DownReason::NotificationSent {
            notification: n, ..
        }
        | DownReason::NotificationReceived(n) => (n.code, n.subcode) == (2, 11),
        _ => false,
    });
    assert!(
        mismatch,
        "no Role Mismatch: {:?}\nBIRD log:\n{}",
        d.downs,
        bird.log()
    );
    let shown = bird.birdc("show protocols all caribix");
    assert!(
        shown.to_lowercase().contains("role mismatch"),
        "BIRD:\n{shown}"
    );
    eprintln!("our side: {}", d.downs[0]);
}
