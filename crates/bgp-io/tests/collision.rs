//! Connection collisions (RFC 4271 §6.8) in the I/O layer, on 127.0.0.1
//! with a scripted peer: the BGP Identifier rule picks the connection to
//! keep whichever OPEN comes first, the loser gets Cease / Connection
//! Collision Resolution (6/7); an Established session is kept against a
//! new connection, except when the peer announced graceful restart on it
//! (RFC 4724 §4.2); and two of our own sessions, both active towards each
//! other, settle on one connection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp_io::{run_peer, Command, Event, PeerIo, SharedStatus, Status};
use bgp_session::{local_open, Config, DownReason, GracefulRestartConfig, Session, State};
use bgp_wire::message::{write_keepalive, write_open};
use bgp_wire::{frame, DecodeCtx, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

const LOCAL_AS: u32 = 64500;
const PEER_AS: u32 = 65001;
const T: Duration = Duration::from_secs(10);

/// The OPEN a scripted peer sends: identifier `id`, graceful restart
/// capability when `gr`.
fn peer_open(id: Ipv4Addr, gr: bool) -> Vec<u8> {
    open_bytes(id, gr, false)
}

/// The same with the Restart State (R) bit: the peer says it restarted.
fn restarted_peer_open(id: Ipv4Addr) -> Vec<u8> {
    open_bytes(id, true, true)
}

fn open_bytes(id: Ipv4Addr, gr: bool, restarting: bool) -> Vec<u8> {
    let mut cfg = Config::new(PEER_AS, id, LOCAL_AS);
    cfg.role = None;
    cfg.graceful_restart = gr.then_some(GracefulRestartConfig {
        restart_time: 120,
        families: bgp_wire::FamilySet::BOTH,
    });
    let mut open = local_open(&cfg);
    for c in &mut open.capabilities {
        if let bgp_wire::Capability::GracefulRestart { restarting: r, .. } = c {
            *r = restarting;
        }
    }
    let mut out = Vec::new();
    write_open(&mut out, &open);
    write_keepalive(&mut out);
    out
}

/// Read messages until a NOTIFICATION (its code and subcode) or the end of
/// the connection (`None`); KEEPALIVEs and OPENs are skipped.
async fn next_notification(s: &mut TcpStream) -> Option<(u8, u8)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Ok(Some(len)) = frame(&buf, 65535) {
            let msg = buf.drain(..len).collect::<Vec<u8>>();
            if let Ok(Message::Notification(n)) = Message::decode(&msg, &DecodeCtx::default()) {
                return Some((n.code, n.subcode));
            }
        }
        match timeout(T, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
}

/// Whether the connection stays open and quiet (no NOTIFICATION, no
/// close) for `d`, answering nothing.
async fn stays_open(s: &mut TcpStream, d: Duration) -> bool {
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + d;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Err(_) => return true,
            Ok(Ok(0)) | Ok(Err(_)) => return false,
            Ok(Ok(n)) => {
                let ctx = DecodeCtx::default();
                let mut rest = &chunk[..n];
                while let Ok(Some(len)) = frame(rest, 65535) {
                    if let Ok(Message::Notification(_)) = Message::decode(&rest[..len], &ctx) {
                        return false;
                    }
                    rest = &rest[len..];
                }
            }
        }
    }
}

struct Local {
    inbound: mpsc::Sender<TcpStream>,
    events: mpsc::UnboundedReceiver<Event>,
    status: SharedStatus,
    _cmd: mpsc::UnboundedSender<Command>,
}

/// Start our session (identifier `id`, active towards `remote` when
/// given).
fn start_local(id: Ipv4Addr, remote: Option<SocketAddr>) -> Local {
    let mut cfg = Config::new(LOCAL_AS, id, PEER_AS);
    cfg.passive = remote.is_none();
    cfg.connect_retry = Duration::from_secs(1);
    cfg.restart_delay = Some(Duration::from_millis(200));
    cfg.role = None;
    let (in_tx, in_rx) = mpsc::channel(4);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let status = Arc::new(Mutex::new(Status::default()));
    let io = PeerIo {
        inbound: Some(in_rx),
        remote: remote.unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9)),
        local: None,
        md5: None,
        gtsm: false,
    };
    tokio::spawn(run_peer(
        Session::new(cfg).unwrap(),
        io,
        cmd_rx,
        ev_tx,
        status.clone(),
    ));
    Local {
        inbound: in_tx,
        events: ev_rx,
        status,
        _cmd: cmd_tx,
    }
}

/// A connection "from the peer" handed to our session as a listener
/// would: the peer's end.
async fn connect_inbound(local: &Local) -> TcpStream {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (peer_end, accepted) = tokio::join!(TcpStream::connect(addr), l.accept());
    local.inbound.send(accepted.unwrap().0).await.unwrap();
    peer_end.unwrap()
}

async fn next_event(local: &mut Local) -> Event {
    timeout(T, local.events.recv())
        .await
        .expect("an event in time")
        .expect("session task alive")
}

async fn established(local: &mut Local) {
    loop {
        if let Event::Established(_) = next_event(local).await {
            return;
        }
    }
}

/// Our outbound connection collides with one from the peer; `local_id`
/// against `peer_id` decides. Returns (our outbound connection as the peer
/// accepted it, the peer's inbound one, our session).
async fn collide(local_id: Ipv4Addr, peer_id: Ipv4Addr) -> (TcpStream, TcpStream, Local) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = start_local(local_id, Some(l.local_addr().unwrap()));
    let (mut ours, _) = timeout(T, l.accept()).await.unwrap().unwrap();
    let mut theirs = connect_inbound(&local).await;
    // The peer answers on both: OPEN and KEEPALIVE.
    ours.write_all(&peer_open(peer_id, false)).await.unwrap();
    theirs.write_all(&peer_open(peer_id, false)).await.unwrap();
    (ours, theirs, local)
}

#[tokio::test]
async fn higher_local_identifier_keeps_the_connection_it_opened() {
    let (mut ours, mut theirs, mut local) =
        collide(Ipv4Addr::new(10, 0, 0, 9), Ipv4Addr::new(10, 0, 0, 1)).await;
    assert_eq!(next_notification(&mut theirs).await, Some((6, 7)));
    established(&mut local).await;
    assert!(stays_open(&mut ours, Duration::from_millis(500)).await);
    assert_eq!(local.status.lock().unwrap().state, State::Established);
}

#[tokio::test]
async fn higher_peer_identifier_keeps_the_connection_the_peer_opened() {
    let (mut ours, mut theirs, mut local) =
        collide(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 9)).await;
    assert_eq!(next_notification(&mut ours).await, Some((6, 7)));
    established(&mut local).await;
    assert!(stays_open(&mut theirs, Duration::from_millis(500)).await);
    assert_eq!(local.status.lock().unwrap().state, State::Established);
}

/// Bring a passive session up on one inbound connection.
async fn up_passive(gr: bool) -> (TcpStream, Local) {
    let mut local = start_local(Ipv4Addr::new(10, 0, 0, 9), None);
    let mut first = connect_inbound(&local).await;
    first
        .write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 1), gr))
        .await
        .unwrap();
    established(&mut local).await;
    (first, local)
}

#[tokio::test]
async fn established_session_is_kept_against_a_new_connection() {
    let (mut first, mut local) = up_passive(false).await;
    let mut second = connect_inbound(&local).await;
    second
        .write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 1), false))
        .await
        .unwrap();
    assert_eq!(next_notification(&mut second).await, Some((6, 7)));
    // The first connection keeps going and no event says otherwise.
    assert!(stays_open(&mut first, Duration::from_millis(500)).await);
    assert!(local.events.try_recv().is_err());
    assert_eq!(local.status.lock().unwrap().state, State::Established);
}

#[tokio::test]
async fn graceful_restart_peer_replaces_its_established_session() {
    let (mut first, mut local) = up_passive(true).await;
    let mut second = connect_inbound(&local).await;
    second
        .write_all(&restarted_peer_open(Ipv4Addr::new(10, 0, 0, 1)))
        .await
        .unwrap();
    // The old session ends as a lost connection (the routing layer keeps
    // the routes stale), then the new one is Established.
    match next_event(&mut local).await {
        Event::Down(DownReason::ConnectionLost) => {}
        other => panic!("expected the old session down as a lost connection, got {other:?}"),
    }
    established(&mut local).await;
    assert_eq!(
        next_notification(&mut first).await,
        None,
        "old closed silently"
    );
    assert!(stays_open(&mut second, Duration::from_millis(500)).await);
}

/// Two of our sessions, each active towards the other's listener, at the
/// same time: both must settle on the same single connection.
#[tokio::test]
async fn two_active_speakers_settle_on_one_connection() {
    let la = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (a_addr, b_addr) = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    let side = |local_as, id, peer_as, remote| {
        let mut cfg = Config::new(local_as, id, peer_as);
        cfg.passive = false;
        cfg.connect_retry = Duration::from_secs(1);
        cfg.restart_delay = Some(Duration::from_millis(300));
        cfg.role = None;
        let (in_tx, in_rx) = mpsc::channel(4);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel::<Command>();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let status: SharedStatus = Arc::new(Mutex::new(Status::default()));
        let io = PeerIo {
            inbound: Some(in_rx),
            remote,
            local: None,
            md5: None,
            gtsm: false,
        };
        tokio::spawn(run_peer(
            Session::new(cfg).unwrap(),
            io,
            cmd_rx,
            ev_tx,
            status.clone(),
        ));
        (in_tx, ev_rx, status, cmd_tx)
    };
    let (a_in, mut a_ev, a_st, _a_cmd) = side(64500, Ipv4Addr::new(10, 0, 0, 1), 65001, b_addr);
    let (b_in, mut b_ev, b_st, _b_cmd) = side(65001, Ipv4Addr::new(10, 0, 0, 2), 64500, a_addr);
    let count = Arc::new(Mutex::new(0usize));
    for (l, tx) in [(la, a_in), (lb, b_in)] {
        let count = count.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                *count.lock().unwrap() += 1;
                let _ = tx.send(s).await;
            }
        });
    }
    let ups = |ev: &mut mpsc::UnboundedReceiver<Event>| {
        let mut n = 0;
        while let Ok(e) = ev.try_recv() {
            if matches!(e, Event::Established(_)) {
                n += 1;
            }
        }
        n
    };
    // Wait until both are Established and stay so for two seconds.
    let start = tokio::time::Instant::now();
    let (mut a_ups, mut b_ups) = (0, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        a_ups += ups(&mut a_ev);
        b_ups += ups(&mut b_ev);
        let both = a_st.lock().unwrap().state == State::Established
            && b_st.lock().unwrap().state == State::Established;
        if both && start.elapsed() > Duration::from_secs(3) {
            break;
        }
        assert!(start.elapsed() < T, "sessions did not settle");
    }
    assert_eq!((a_ups, b_ups), (1, 1), "each side Established exactly once");
    assert!(*count.lock().unwrap() >= 2, "both sides connected");
}

/// A Cease 6/7 for the connection in use, as the peer sends it when it
/// resolved the collision first.
fn cease_collision() -> Vec<u8> {
    let mut out = Vec::new();
    bgp_wire::message::write_notification(
        &mut out,
        &bgp_wire::Notification {
            code: 6,
            subcode: 7,
            data: Vec::new(),
        },
    );
    out
}

/// The peer (higher identifier, announcing graceful restart like BIRD's
/// default `graceful restart aware`) answers our connection at once, so
/// our session is Established before its own connection is seen; it then
/// resolves the collision itself (it decided in OpenConfirm, by the
/// identifier rule): Cease 6/7 on ours, then its OPEN on its own
/// connection, which takes over.
#[tokio::test]
async fn peer_that_resolved_first_keeps_its_connection() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut local = start_local(Ipv4Addr::new(10, 0, 0, 1), Some(l.local_addr().unwrap()));
    let (mut ours, _) = timeout(T, l.accept()).await.unwrap().unwrap();
    ours.write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 9), true))
        .await
        .unwrap();
    established(&mut local).await;
    let mut theirs = connect_inbound(&local).await;
    ours.write_all(&cease_collision()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    theirs
        .write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 9), true))
        .await
        .unwrap();
    let mut downs = 0;
    loop {
        match next_event(&mut local).await {
            Event::Down(_) => downs += 1,
            Event::Established(_) => break,
            _ => {}
        }
    }
    assert_eq!(downs, 1);
    assert!(stays_open(&mut theirs, Duration::from_millis(800)).await);
    assert_eq!(local.status.lock().unwrap().state, State::Established);
}

/// Our session is Established when the peer's OPEN arrives on its new
/// connection (no Restart State bit): RFC 4271 §6.8, the Established one
/// stays and the new one gets Cease 6/7, whatever the identifiers say.
#[tokio::test]
async fn established_session_wins_over_a_later_open_whatever_the_identifiers() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut local = start_local(Ipv4Addr::new(10, 0, 0, 1), Some(l.local_addr().unwrap()));
    let (mut ours, _) = timeout(T, l.accept()).await.unwrap().unwrap();
    ours.write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 9), true))
        .await
        .unwrap();
    established(&mut local).await;
    let mut theirs = connect_inbound(&local).await;
    theirs
        .write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 9), true))
        .await
        .unwrap();
    assert_eq!(next_notification(&mut theirs).await, Some((6, 7)));
    assert!(stays_open(&mut ours, Duration::from_millis(500)).await);
    assert_eq!(local.status.lock().unwrap().state, State::Established);
}

/// The peer's OPEN and KEEPALIVE arrive together on our connection while
/// the peer's own connection waits for its OPEN: the collision is decided
/// as in OpenConfirm (the identifier rule, as the peer decides it), not
/// by "Established wins", so both sides keep the same connection.
#[tokio::test]
async fn open_and_keepalive_in_one_read_still_follow_the_identifier_rule() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut local = start_local(Ipv4Addr::new(10, 0, 0, 1), Some(l.local_addr().unwrap()));
    let (mut ours, _) = timeout(T, l.accept()).await.unwrap().unwrap();
    let mut theirs = connect_inbound(&local).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    ours.write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 9), true))
        .await
        .unwrap();
    assert_eq!(next_notification(&mut ours).await, Some((6, 7)));
    theirs
        .write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 9), true))
        .await
        .unwrap();
    let mut ups = 0;
    loop {
        match next_event(&mut local).await {
            Event::Established(_) => {
                ups += 1;
                break;
            }
            Event::Down(_) => assert_eq!(ups, 0, "an Established session went down"),
            _ => {}
        }
    }
    assert_eq!(ups, 1);
    assert!(stays_open(&mut theirs, Duration::from_millis(800)).await);
    assert_eq!(local.status.lock().unwrap().state, State::Established);
}

/// A peer that announced graceful restart but whose new OPEN does not say
/// it restarted (no R bit) gets the ordinary rule: the Established
/// session stays, the new connection is closed with 6/7.
#[tokio::test]
async fn graceful_restart_peer_without_restart_bit_does_not_replace_the_session() {
    let (mut first, mut local) = up_passive(true).await;
    let mut second = connect_inbound(&local).await;
    second
        .write_all(&peer_open(Ipv4Addr::new(10, 0, 0, 1), true))
        .await
        .unwrap();
    assert_eq!(next_notification(&mut second).await, Some((6, 7)));
    assert!(stays_open(&mut first, Duration::from_millis(500)).await);
    assert!(local.events.try_recv().is_err());
    assert_eq!(local.status.lock().unwrap().state, State::Established);
}
