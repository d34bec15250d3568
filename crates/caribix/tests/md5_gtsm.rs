//! TCP-MD5 (RFC 2385) and GTSM (RFC 5082) on member sessions, enforced by
//! the Linux kernel: `caribix run` with a configuration that sets them.
//! - BIRD 2 with the right password reaches Established; BIRD with a wrong
//!   password never does.
//! - A speaker that sends with TTL 255 reaches Established with a member
//!   configured for GTSM; one that sends with the default TTL (64) never
//!   does on the route server's side, since the route server drops its
//!   packets.
//!   (On loopback the TTL is not decremented, so 64 < 254 is dropped.)

mod support;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp_io::{run_peer, PeerIo, Status};
use bgp_session::{Config, Session, State};
use support::api::neighbor_states;
use support::config::{member, Ixp};
use support::wait::became;
use support::{free_tcp, require, tempdir, Caribix, Proc};

/// BIRD 2's daemon and its client; a missing one fails the test.
fn bird_programs() -> (&'static str, &'static str) {
    (
        require(&["/usr/sbin/bird", "/usr/bin/bird", "/sbin/bird"], "bird2"),
        require(
            &["/usr/sbin/birdc", "/usr/bin/birdc", "/sbin/birdc"],
            "bird2",
        ),
    )
}

fn bird(
    program: &str,
    dir: &Path,
    name: &str,
    local: Ipv4Addr,
    asn: u32,
    rs_port: u16,
    password: &str,
) -> (Proc, PathBuf) {
    let sock = dir.join(format!("{name}.ctl"));
    let conf = dir.join(format!("{name}.conf"));
    let mut f = std::fs::File::create(&conf).unwrap();
    write!(
        f,
        "router id {local};
protocol device {{}}
protocol bgp rsp {{
  local {local} port {lport} as {asn};
  neighbor 127.0.0.1 port {rs_port} as 64500;
  multihop;
  password \"{password}\";
  hold time 9;
  connect retry time 1;
  ipv4 {{ import all; export none; }};
}}
",
        lport = free_tcp(),
    )
    .unwrap();
    let child = Command::new(program)
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(&sock)
        .arg("-P")
        .arg(dir.join(format!("{name}.pid")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bird");
    (Proc(child), sock)
}

fn bird_established(birdc: &str, sock: &Path) -> bool {
    Command::new(birdc)
        .arg("-s")
        .arg(sock)
        .args(["show", "protocols", "rsp"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("Established"))
        .unwrap_or(false)
}

fn config(port: u16, web: u16) -> String {
    let md5 = "md5_password = \"s3cret\"";
    Ixp {
        name: "MD5 and GTSM test",
        lan_v4: "127.0.0.0/8",
        bgp: port,
        web: Some(web),
        ..Ixp::default()
    }
    .toml(&[
        member(64511, "BIRD, right password", "127.0.2.1", md5),
        member(64510, "BIRD, wrong password", "127.0.2.2", md5),
        member(64509, "GTSM, TTL 255", "127.0.2.3", "gtsm = true"),
        member(64508, "GTSM, TTL 64", "127.0.2.4", "gtsm = true"),
    ])
}

fn speaker(
    rt: &tokio::runtime::Runtime,
    local: Ipv4Addr,
    asn: u32,
    port: u16,
    gtsm: bool,
) -> Arc<Mutex<Status>> {
    let mut cfg = Config::new(asn, local, 64500);
    cfg.passive = false;
    cfg.connect_retry = Duration::from_secs(1);
    cfg.role = None;
    let status = Arc::new(Mutex::new(Status::default()));
    let (_cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel();
    let io = PeerIo {
        inbound: None,
        remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        local: Some(IpAddr::V4(local)),
        md5: None,
        gtsm,
    };
    let session = Session::new(cfg).unwrap();
    let st = status.clone();
    rt.spawn(async move {
        // Keep the command sender alive for the task's life.
        let _keep = _cmd_tx;
        run_peer(session, io, cmd_rx, ev_tx, st).await
    });
    rt.spawn(async move { while ev_rx.recv().await.is_some() {} });
    status
}

#[test]
fn md5_and_gtsm_are_enforced() {
    let (bird_bin, birdc) = bird_programs();
    let dir = tempdir("md5");
    let port = free_tcp();
    let web = free_tcp();
    let _rs = Caribix::start(&dir, &config(port, web), web, "/api/v1/neighbors");
    let (_good, good_sock) = bird(
        bird_bin,
        &dir,
        "good",
        Ipv4Addr::new(127, 0, 2, 1),
        64511,
        port,
        "s3cret",
    );
    let (_bad, bad_sock) = bird(
        bird_bin,
        &dir,
        "bad",
        Ipv4Addr::new(127, 0, 2, 2),
        64510,
        port,
        "wrong",
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let ttl255 = speaker(&rt, Ipv4Addr::new(127, 0, 2, 3), 64509, port, true);
    let ttl64 = speaker(&rt, Ipv4Addr::new(127, 0, 2, 4), 64508, port, false);
    let state = |s: &Arc<Mutex<Status>>| s.lock().map(|s| s.state).unwrap_or(State::Idle);

    assert!(
        became(Duration::from_secs(30), || bird_established(
            birdc, &good_sock
        )),
        "BIRD with the right MD5 password did not come up"
    );
    assert!(
        became(Duration::from_secs(20), || state(&ttl255)
            == State::Established),
        "TTL 255 speaker did not come up with GTSM"
    );
    // Give the others time they would need to come up, then check they did not.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !bird_established(birdc, &bad_sock),
        "BIRD with a wrong MD5 password came up"
    );
    // The route server's side decides. The TTL-64 speaker itself may see
    // Established: its OPEN can reach the accepted socket before the
    // minimum TTL is set on it, so the route server answers; every later
    // segment, its KEEPALIVE included, is dropped (known limitation, see
    // bgp_io::sockopt), so the route server never reaches Established.
    let _ = &ttl64;
    let states = neighbor_states(web);
    assert_eq!(
        states.get("AS64509_127_0_2_3").map(String::as_str),
        Some("Established"),
        "{states:?}"
    );
    assert_eq!(
        states.get("AS64511_127_0_2_1").map(String::as_str),
        Some("Established"),
        "{states:?}"
    );
    assert_ne!(
        states.get("AS64508_127_0_2_4").map(String::as_str),
        Some("Established"),
        "{states:?}"
    );
    assert_ne!(
        states.get("AS64510_127_0_2_2").map(String::as_str),
        Some("Established"),
        "{states:?}"
    );
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
}
