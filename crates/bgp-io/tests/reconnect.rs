//! An active session whose connection the peer accepts and closes at once
//! tries again (regression: the task used to keep reading the dead socket
//! and never reconnected).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp_io::{run_peer, PeerIo, Status};
use bgp_session::{Config, Session};
use tokio::net::TcpListener;

#[tokio::test]
async fn closed_connection_is_retried() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let remote = l.local_addr().unwrap();
    let mut cfg = Config::new(64511, Ipv4Addr::new(127, 0, 0, 9), 64500);
    cfg.passive = false;
    cfg.connect_retry = Duration::from_millis(500);
    cfg.restart_delay = Some(Duration::from_millis(200));
    cfg.role = None;
    let (_cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel();
    let io = PeerIo {
        inbound: None,
        remote,
        local: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9))),
        md5: None,
        gtsm: false,
    };
    let status = Arc::new(Mutex::new(Status::default()));
    tokio::spawn(run_peer(
        Session::new(cfg).unwrap(),
        io,
        cmd_rx,
        ev_tx,
        status,
    ));
    tokio::spawn(async move { while ev_rx.recv().await.is_some() {} });
    // Refuse the first two connections by closing them; a third must come.
    for attempt in 1..=3 {
        let accepted = tokio::time::timeout(Duration::from_secs(10), l.accept()).await;
        let (s, _) = accepted
            .unwrap_or_else(|_| panic!("connection attempt {attempt} never came"))
            .expect("accept");
        drop(s);
    }
}
