//! The sink: the most trivial "route server" there is, used to measure the
//! load generator's own ceiling. It accepts one passive session per member
//! (caribix's `bgp-session` over `bgp-io`, as the generator uses) and
//! copies every UPDATE it receives, byte for byte, to every other member
//! (what is queued is copied in one batch):
//! no RIB, no best path, no policy, no re-encoding. A route server cannot
//! deliver faster than that on the same machine, so when a target's
//! figures come close to the sink's, the generator is the bottleneck and
//! the result says so.
//!
//! Not here: anything a real route server does.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bgp_io::{run_peer, Command, Event, PeerIo, Status};
use bgp_session::{Config, Session};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::plan::{MEMBER_ASN_BASE, RS_ASN};

/// Run the sink until killed: listen on `listen`, members at
/// `first_member` + i with AS `MEMBER_ASN_BASE` + i.
pub async fn run(listen: SocketAddr, first_member: Ipv4Addr, members: usize) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("sink: listen on {listen}: {e}"))?;
    let mut inbound = HashMap::new();
    let mut cmds = Vec::new();
    let mut events = Vec::new();
    for i in 0..members {
        let addr = Ipv4Addr::from(u32::from(first_member).wrapping_add(i as u32));
        let rid = match listen.ip() {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 1),
        };
        let mut cfg = Config::new(RS_ASN, rid, MEMBER_ASN_BASE + i as u32);
        cfg.passive = true;
        cfg.hold_time = 240;
        cfg.role = None;
        let session = Session::new(cfg).map_err(|e| format!("sink session {i}: {e:?}"))?;
        let (in_tx, in_rx) = mpsc::channel(4);
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let io = PeerIo {
            inbound: Some(in_rx),
            remote: SocketAddr::new(IpAddr::V4(addr), 179),
            local: None,
            md5: None,
            gtsm: false,
        };
        tokio::spawn(run_peer(
            session,
            io,
            cmd_rx,
            ev_tx,
            Arc::new(Mutex::new(Status::default())),
        ));
        inbound.insert(IpAddr::V4(addr), in_tx);
        cmds.push(cmd_tx);
        events.push(ev_rx);
    }
    let cmds = Arc::new(cmds);
    for (i, mut ev) in events.into_iter().enumerate() {
        let cmds = cmds.clone();
        tokio::spawn(async move {
            while let Some(e) = ev.recv().await {
                // Whatever else is already queued goes out in the same
                // write: one copy per member per batch, not per UPDATE.
                let mut batch = match e {
                    Event::Update(bytes) => bytes,
                    _ => Vec::new(),
                };
                while batch.len() < 1 << 20 {
                    match ev.try_recv() {
                        Ok(Event::Update(bytes)) => batch.extend_from_slice(&bytes),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                if batch.is_empty() {
                    continue;
                }
                for (j, c) in cmds.iter().enumerate() {
                    if j != i {
                        let _ = c.send(Command::Send(batch.clone()));
                    }
                }
            }
        });
    }
    loop {
        let (stream, peer) = listener
            .accept()
            .await
            .map_err(|e| format!("sink: accept: {e}"))?;
        if let Some(tx) = inbound.get(&peer.ip()) {
            let _ = tx.send(stream).await;
        }
    }
}
