//! The connection's read buffer grows while a burst is pending and
//! shrinks back (src/lib.rs `ReadBuf`): whatever the size of each read,
//! every UPDATE of a burst reaches the routing layer whole and in order,
//! also when messages straddle reads, and so do single UPDATEs sent
//! between bursts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp_io::{run_peer, Event, PeerIo, Status};
use bgp_session::{local_open, Config, Session};
use bgp_wire::message::{write_keepalive, write_open};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

const LOCAL_AS: u32 = 64500;
const PEER_AS: u32 = 65001;
const T: Duration = Duration::from_secs(10);

/// UPDATE number `i`: ORIGIN, AS_PATH (the peer's AS, four octets),
/// NEXT_HOP, and `n` /24s numbered from `i`; sizes differ so that message
/// boundaries fall anywhere in a read.
fn update(i: u32, n: u32) -> Vec<u8> {
    let mut attrs = vec![0x40, 1, 1, 0];
    attrs.extend_from_slice(&[0x40, 2, 6, 2, 1]);
    attrs.extend_from_slice(&PEER_AS.to_be_bytes());
    attrs.extend_from_slice(&[0x40, 3, 4, 192, 0, 2, 1]);
    let mut nlri = Vec::new();
    for k in 0..n {
        let p = (i * 16 + k) & 0x00ff_ffff;
        nlri.extend_from_slice(&[24, 11 + (p >> 16) as u8, (p >> 8) as u8, p as u8]);
    }
    let len = 19 + 2 + 2 + attrs.len() + nlri.len();
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&attrs);
    m.extend_from_slice(&nlri);
    m
}

/// A passive session of ours, established with a scripted peer on
/// 127.0.0.1; returns the peer's end and our events.
async fn established() -> (TcpStream, mpsc::UnboundedReceiver<Event>) {
    let mut cfg = Config::new(LOCAL_AS, Ipv4Addr::new(10, 0, 0, 9), PEER_AS);
    cfg.passive = true;
    cfg.role = None;
    let (in_tx, in_rx) = mpsc::channel(4);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let io = PeerIo {
        inbound: Some(in_rx),
        remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9),
        local: None,
        md5: None,
        gtsm: false,
    };
    let status = Arc::new(Mutex::new(Status::default()));
    tokio::spawn(async move {
        // Keep the command channel open for the session's life.
        let _cmd = cmd_tx;
        run_peer(Session::new(cfg).unwrap(), io, cmd_rx, ev_tx, status).await;
    });
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (peer, accepted) = tokio::join!(TcpStream::connect(addr), l.accept());
    in_tx.send(accepted.unwrap().0).await.unwrap();
    let mut peer = peer.unwrap();
    let mut pcfg = Config::new(PEER_AS, Ipv4Addr::new(10, 0, 0, 1), LOCAL_AS);
    pcfg.role = None;
    let mut hello = Vec::new();
    write_open(&mut hello, &local_open(&pcfg));
    write_keepalive(&mut hello);
    peer.write_all(&hello).await.unwrap();
    loop {
        let ev = timeout(T, ev_rx.recv()).await.expect("an event in time");
        match ev.expect("session task alive") {
            Event::Established(_) => return (peer, ev_rx),
            Event::Down(r) => panic!("session went down: {r:?}"),
            _ => {}
        }
    }
}

/// The next `want` UPDATEs received, compared with what was sent.
async fn expect_updates(ev: &mut mpsc::UnboundedReceiver<Event>, want: &[Vec<u8>]) {
    for (k, w) in want.iter().enumerate() {
        loop {
            let e = timeout(T, ev.recv())
                .await
                .unwrap_or_else(|_| panic!("UPDATE {k} of {} not received", want.len()));
            match e.expect("session task alive") {
                Event::Update(u) => {
                    assert_eq!(&u, w, "UPDATE {k} differs");
                    break;
                }
                Event::Down(r) => panic!("session went down at UPDATE {k}: {r:?}"),
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn bursts_and_single_updates_arrive_whole_and_in_order() {
    let (mut peer, mut ev) = established().await;
    for round in 0..3u32 {
        // A burst of about 300 KB in one write: reads fill the buffer, it
        // grows to its largest size, messages straddle reads.
        let burst: Vec<Vec<u8>> = (0..4000u32)
            .map(|i| update(round * 10_000 + i, 1 + i % 17))
            .collect();
        peer.write_all(&burst.concat()).await.unwrap();
        expect_updates(&mut ev, &burst).await;
        // Then single UPDATEs, each read alone: the buffer shrinks back.
        for i in 0..8u32 {
            let one = vec![update(round * 10_000 + 5_000 + i, 3)];
            peer.write_all(&one[0]).await.unwrap();
            expect_updates(&mut ev, &one).await;
        }
    }
}
