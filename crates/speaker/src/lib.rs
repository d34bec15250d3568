//! A small BGP speaker built from caribix's own parts: it connects to a
//! route server, announces a set of routes, and records what it receives.
//!
//! It plays the simulated members of `caribix demo`, generates load in
//! benchmarks, and is one of the peers of the route server's tests (beside
//! real BIRD, FRR, GoBGP, OpenBGPD and ExaBGP, which it does not replace).

pub mod routes;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp_io::{run_peer, Command, Event, PeerIo, SharedStatus, Status};
use bgp_session::{Config, Session, State};
use bgp_wire::builder::{pack_announcements, pack_withdrawals, write_end_of_rib};
use bgp_wire::message::frame;
use bgp_wire::{DecodeCtx, EncodeCtx, Family, Message, NextHop, Nlri, Prefix};
use tokio::sync::mpsc;

pub use routes::RouteGroup;

/// How a speaker connects.
#[derive(Clone, Debug)]
pub struct SpeakerConfig {
    /// Its AS.
    pub asn: u32,
    /// Its BGP identifier.
    pub router_id: Ipv4Addr,
    /// Local address to connect from.
    pub local: IpAddr,
    /// The route server.
    pub remote: SocketAddr,
    /// The route server's AS.
    pub peer_as: u32,
    /// Hold time to propose.
    pub hold_time: u16,
    /// Keep a copy of every received route (tests, demo); counts only
    /// otherwise (benchmarks).
    pub keep_routes: bool,
}

/// A route as the speaker received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// AS path.
    pub as_path: Vec<u32>,
    /// Next hop.
    pub next_hop: Option<NextHop>,
    /// MED.
    pub med: Option<u32>,
    /// Standard communities.
    pub communities: Vec<u32>,
    /// Large communities.
    pub large_communities: Vec<[u32; 3]>,
}

/// Counters, readable while it runs.
#[derive(Debug, Default)]
pub struct Counters {
    /// Prefixes currently held from the route server.
    pub prefixes: AtomicU64,
    /// UPDATE messages received.
    pub updates: AtomicU64,
    /// Prefix announcements received (with repeats).
    pub announcements: AtomicU64,
    /// Prefix withdrawals received.
    pub withdrawals: AtomicU64,
    /// End-of-RIB markers received.
    pub end_of_rib: AtomicU64,
    /// Why the session went down, each time, in words.
    pub downs: Mutex<Vec<String>>,
}

#[derive(Debug)]
enum Ctl {
    Announce(Vec<RouteGroup>),
    Withdraw(Vec<Nlri>),
}

/// A running speaker.
#[derive(Debug)]
pub struct Speaker {
    cmd: mpsc::UnboundedSender<Command>,
    ctl: mpsc::UnboundedSender<Ctl>,
    /// Session state as the looking glass would show it.
    pub status: SharedStatus,
    /// Counters.
    pub counters: Arc<Counters>,
    routes: Arc<Mutex<HashMap<Prefix, Received>>>,
}

impl Speaker {
    /// Start a speaker on the current tokio runtime. It announces `routes`
    /// once the session is up, again after each reconnect.
    pub fn start(cfg: SpeakerConfig, routes: Vec<RouteGroup>) -> Speaker {
        let mut scfg = Config::new(cfg.asn, cfg.router_id, cfg.peer_as);
        scfg.passive = false;
        scfg.hold_time = cfg.hold_time;
        scfg.connect_retry = Duration::from_secs(2);
        scfg.restart_delay = Some(Duration::from_secs(1));
        scfg.role = None;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let status: SharedStatus = Arc::new(Mutex::new(Status::default()));
        let counters = Arc::new(Counters::default());
        let received = Arc::new(Mutex::new(HashMap::new()));
        let io = PeerIo {
            inbound: None,
            remote: cfg.remote,
            local: Some(cfg.local),
            md5: None,
            gtsm: false,
        };
        if let Ok(session) = Session::new(scfg) {
            tokio::spawn(run_peer(session, io, cmd_rx, ev_tx, status.clone()));
        }
        tokio::spawn(handle_events(
            ev_rx,
            ctl_rx,
            cmd_tx.clone(),
            routes,
            counters.clone(),
            received.clone(),
            cfg.keep_routes,
        ));
        Speaker {
            cmd: cmd_tx,
            ctl: ctl_tx,
            status,
            counters,
            routes: received,
        }
    }

    /// Announce more routes (kept for re-announcement after a reconnect).
    pub fn announce(&self, groups: Vec<RouteGroup>) {
        let _ = self.ctl.send(Ctl::Announce(groups));
    }

    /// Withdraw routes.
    pub fn withdraw(&self, nlri: Vec<Nlri>) {
        let _ = self.ctl.send(Ctl::Withdraw(nlri));
    }

    /// Stop with an Administrative Shutdown and this message.
    pub fn stop(&self, message: &str) {
        let _ = self.cmd.send(Command::Stop {
            subcode: 2,
            message: message.to_string(),
        });
    }

    /// Current session state.
    pub fn state(&self) -> State {
        self.status.lock().map(|s| s.state).unwrap_or(State::Idle)
    }

    /// Routes currently received (when `keep_routes`).
    pub fn received(&self) -> HashMap<Prefix, Received> {
        self.routes.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Prefixes currently received.
    pub fn prefix_count(&self) -> u64 {
        self.counters.prefixes.load(Ordering::Relaxed)
    }

    /// Wait until `pred` holds or `timeout` passes; returns whether it held.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&Speaker) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if pred(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pred(self)
    }
}

fn encode_groups(ctx: &EncodeCtx, groups: &[RouteGroup], out: &mut Vec<u8>) {
    for g in groups {
        let mut by_family: [Vec<Nlri>; 2] = [Vec::new(), Vec::new()];
        for n in &g.nlri {
            by_family[n.prefix.family().index()].push(*n);
        }
        for (i, list) in by_family.iter().enumerate() {
            if !list.is_empty() {
                // A group too large for one message is skipped: the
                // generator never builds one.
                let _ = pack_announcements(ctx, &g.block, Family::ALL[i], &g.next_hop, list, out);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn handle_events(
    mut events: mpsc::UnboundedReceiver<Event>,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    cmd: mpsc::UnboundedSender<Command>,
    mut groups: Vec<RouteGroup>,
    counters: Arc<Counters>,
    received: Arc<Mutex<HashMap<Prefix, Received>>>,
    keep: bool,
) {
    let mut up: Option<(DecodeCtx, EncodeCtx)> = None;
    let mut held: std::collections::HashSet<Prefix> = std::collections::HashSet::new();
    loop {
        tokio::select! {
            ev = events.recv() => {
                let Some(ev) = ev else { return };
                match ev {
                    Event::Established(n) => {
                        let (d, e) = (n.decode_ctx(), n.encode_ctx());
                        up = Some((d, e));
                        let mut out = Vec::new();
                        encode_groups(&e, &groups, &mut out);
                        for f in n.families.iter() {
                            write_end_of_rib(f, &mut out);
                        }
                        let _ = cmd.send(Command::Send(out));
                    }
                    Event::Down(reason) => {
                        if let Ok(mut d) = counters.downs.lock() {
                            d.push(reason.to_string());
                        }
                        up = None;
                        held.clear();
                        counters.prefixes.store(0, Ordering::Relaxed);
                        if let Ok(mut r) = received.lock() {
                            r.clear();
                        }
                    }
                    Event::Update(bytes) => {
                        let Some((dctx, _)) = up else { continue };
                        record(&bytes, &dctx, &counters, &mut held, &received, keep);
                    }
                    Event::RouteRefresh(_) => {
                        if let Some((_, e)) = up {
                            let mut out = Vec::new();
                            encode_groups(&e, &groups, &mut out);
                            let _ = cmd.send(Command::Send(out));
                        }
                    }
                }
            }
            c = ctl.recv() => {
                let Some(c) = c else { return };
                match c {
                    Ctl::Announce(g) => {
                        if let Some((_, e)) = up {
                            let mut out = Vec::new();
                            encode_groups(&e, &g, &mut out);
                            let _ = cmd.send(Command::Send(out));
                        }
                        groups.extend(g);
                    }
                    Ctl::Withdraw(w) => {
                        for g in &mut groups {
                            g.nlri.retain(|n| !w.contains(n));
                        }
                        if let Some((_, e)) = up {
                            let mut out = Vec::new();
                            for f in Family::ALL {
                                let list: Vec<Nlri> = w.iter().copied().filter(|n| n.prefix.family() == f).collect();
                                if !list.is_empty() {
                                    pack_withdrawals(&e, f, &list, &mut out);
                                }
                            }
                            let _ = cmd.send(Command::Send(out));
                        }
                    }
                }
            }
        }
    }
}

fn record(
    bytes: &[u8],
    ctx: &DecodeCtx,
    counters: &Counters,
    held: &mut std::collections::HashSet<Prefix>,
    received: &Mutex<HashMap<Prefix, Received>>,
    keep: bool,
) {
    let mut buf = bytes;
    let max = if ctx.extended_message { 65535 } else { 4096 };
    while let Ok(Some(len)) = frame(buf, max) {
        if let Ok(Message::Update(u)) = Message::decode(&buf[..len], ctx) {
            counters.updates.fetch_add(1, Ordering::Relaxed);
            if u.end_of_rib().is_some() {
                counters.end_of_rib.fetch_add(1, Ordering::Relaxed);
            }
            let mut rec = keep.then(|| received.lock().ok()).flatten();
            for n in u.withdrawals() {
                counters.withdrawals.fetch_add(1, Ordering::Relaxed);
                held.remove(&n.prefix);
                if let Some(r) = rec.as_mut() {
                    r.remove(&n.prefix);
                }
            }
            let info = keep.then(|| Received {
                as_path: u
                    .attributes
                    .effective_as_path()
                    .map(|p| p.asns().collect())
                    .unwrap_or_default(),
                next_hop: None,
                med: u.attributes.med,
                communities: u
                    .attributes
                    .communities
                    .map(|c| c.iter().collect())
                    .unwrap_or_default(),
                large_communities: u
                    .attributes
                    .large_communities
                    .map(|c| c.iter().collect())
                    .unwrap_or_default(),
            });
            if !u.treat_as_withdraw() {
                let v4_nh = u.attributes.next_hop.map(NextHop::V4);
                let mp = u.attributes.mp_reach;
                let mp_nh = mp.and_then(|m| m.next_hop);
                let fields = [(Some(u.nlri), v4_nh), (mp.and_then(|m| m.nlri), mp_nh)];
                for (field, nh) in fields {
                    for n in field.into_iter().flat_map(|f| f.iter()) {
                        counters.announcements.fetch_add(1, Ordering::Relaxed);
                        held.insert(n.prefix);
                        if let (Some(r), Some(info)) = (rec.as_mut(), info.as_ref()) {
                            let mut i = info.clone();
                            i.next_hop = nh;
                            r.insert(n.prefix, i);
                        }
                    }
                }
            }
        }
        buf = &buf[len..];
    }
    counters
        .prefixes
        .store(held.len() as u64, Ordering::Relaxed);
}
