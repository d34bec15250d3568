//! The sink: the most trivial "route server" there is, used to measure the
//! load generator's own ceiling. It accepts one passive session per member
//! (`bgp-session` for the OPEN exchange, then the same lean connection
//! handling as the generator, [`crate::wire`]) and copies every UPDATE it
//! receives, byte for byte, to every other member (what one read brings is
//! forwarded as one shared buffer): no RIB, no best path, no policy, no
//! re-encoding. A route server cannot deliver faster than that on the same
//! machine, so when a target's figures come close to the sink's, the
//! generator is the bottleneck and the result says so.
//!
//! Not here: anything a real route server does.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bgp_session::{Config, Direction, Input, Session};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::plan::{MEMBER_ASN_BASE, RS_ASN};
use crate::wire::{handshake, msg_type, Framer, KEEPALIVE};

/// Writers of the members whose session is up, by member index.
type Writers = Arc<RwLock<Vec<Option<mpsc::UnboundedSender<Arc<Vec<u8>>>>>>>;

/// Run the sink until killed: listen on `listen`, members at
/// `first_member` + i with AS `MEMBER_ASN_BASE` + i.
pub async fn run(listen: SocketAddr, first_member: Ipv4Addr, members: usize) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("sink: listen on {listen}: {e}"))?;
    let rid = match listen.ip() {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 1),
    };
    let by_addr: HashMap<IpAddr, usize> = (0..members)
        .map(|i| {
            let a = Ipv4Addr::from(u32::from(first_member).wrapping_add(i as u32));
            (IpAddr::V4(a), i)
        })
        .collect();
    let writers: Writers = Arc::new(RwLock::new(vec![None; members]));
    loop {
        let (stream, peer) = listener
            .accept()
            .await
            .map_err(|e| format!("sink: accept: {e}"))?;
        let Some(&i) = by_addr.get(&peer.ip()) else {
            continue;
        };
        let mut cfg = Config::new(RS_ASN, rid, MEMBER_ASN_BASE + i as u32);
        cfg.passive = true;
        cfg.hold_time = 240;
        cfg.role = None;
        let session = Session::new(cfg).map_err(|e| format!("sink session {i}: {e:?}"))?;
        tokio::spawn(serve(session, stream, i, writers.clone()));
    }
}

/// One member's connection: OPEN exchange, then forward its UPDATEs to
/// the others and write theirs to it.
async fn serve(mut session: Session, mut stream: TcpStream, me: usize, writers: Writers) {
    let _ = stream.set_nodelay(true);
    let mut out = Vec::new();
    session.handle_into(Instant::now(), Input::ManualStart, &mut out);
    let mut framer = Framer::new(1 << 20);
    let Ok(n) = handshake(
        &mut session,
        &mut stream,
        Direction::Inbound,
        &mut framer,
        Duration::from_secs(30),
    )
    .await
    else {
        return;
    };
    framer.set_max(if n.extended_message { 65535 } else { 4096 });
    let keepalive = Duration::from_secs(u64::from(n.keepalive_interval.max(1)));
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Arc<Vec<u8>>>();
    if let Ok(mut w) = writers.write() {
        if let Some(slot) = w.get_mut(me) {
            *slot = Some(tx);
        }
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(keepalive);
        loop {
            let r = tokio::select! {
                b = rx.recv() => match b {
                    Some(b) => wr.write_all(&b).await,
                    None => return,
                },
                _ = tick.tick() => wr.write_all(&KEEPALIVE).await,
            };
            if r.is_err() {
                return;
            }
        }
    });
    let mut batch = Vec::new();
    loop {
        if !matches!(framer.fill(&mut rd).await, Ok(n) if n > 0) {
            break;
        }
        loop {
            match framer.next_message() {
                Ok(Some(m)) if m.get(18) == Some(&msg_type::UPDATE) => batch.extend_from_slice(m),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    batch.clear();
                    break;
                }
            }
        }
        if batch.is_empty() {
            continue;
        }
        let shared = Arc::new(std::mem::take(&mut batch));
        if let Ok(w) = writers.read() {
            for (j, tx) in w.iter().enumerate() {
                if let (true, Some(tx)) = (j != me, tx) {
                    let _ = tx.send(shared.clone());
                }
            }
        }
    }
    if let Ok(mut w) = writers.write() {
        if let Some(slot) = w.get_mut(me) {
            *slot = None;
        }
    }
}
