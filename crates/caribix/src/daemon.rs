//! The route server daemon: one core task per route server owns the
//! `routeserver::RouteServer`; one task per member session runs the BGP
//! state machine (`bgp-io`); listeners hand accepted connections to the
//! session of the member whose address connected; the web API asks the core
//! for what it shows.
//!
//! The core is single-threaded on purpose: RIB updates are cheap and
//! ordered, and a second core is left to the sessions and the web server.
//! Writes to a member are flow-controlled: the core stops flushing to a
//! member whose socket has more than `MAX_OUTSTANDING` bytes not yet
//! written, and looks again a few milliseconds later.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bgp_io::{run_peer, Command, Event, PeerIo, SharedStatus, Status};
use bgp_session::{DownReason, Session};
use bgp_wire::DecodeCtx;
use policy::IxpPolicy;
use routeserver::{MemberInfo, PeerId, RouteServer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::api;

/// Flush no more to a member with this many bytes queued and unwritten.
/// (The kernel's send buffer holds more; this bounds what waits in the
/// daemon's own memory, times the number of members.)
const MAX_OUTSTANDING: u64 = 64 * 1024;
/// How soon a member held back by `MAX_OUTSTANDING` is looked at again.
const RESUME_AFTER: Duration = Duration::from_millis(5);
/// Prefixes per flush call, to keep the core responsive.
const FLUSH_BATCH: usize = 4000;

/// One member session as the daemon knows it.
#[derive(Debug, Clone)]
pub(crate) struct PeerSpec {
    /// Member AS.
    pub asn: u32,
    /// Session address.
    pub addr: IpAddr,
    /// Display name.
    pub name: String,
    /// Connect out as well as listen.
    pub active: bool,
    /// TCP-MD5 password (RFC 2385).
    pub md5: Option<String>,
    /// GTSM (RFC 5082).
    pub gtsm: bool,
    /// Send every allowed path with ADD-PATH (RFC 7911) when the member
    /// can receive them.
    pub add_path: bool,
}

/// What a route server instance needs.
#[derive(Debug, Clone)]
pub(crate) struct RsSpec {
    /// Name for logs and the API.
    pub name: String,
    /// Its AS.
    pub asn: u32,
    /// Its BGP identifier.
    pub router_id: std::net::Ipv4Addr,
    /// Addresses to listen on.
    pub listen: Vec<SocketAddr>,
    /// Hold time to propose.
    pub hold_time: u16,
    /// Delay before a session may come back after going down.
    pub restart_delay: Duration,
    /// ConnectRetryTimer of active sessions (RFC 4271 §10).
    pub connect_retry: Duration,
    /// Member sessions.
    pub peers: Vec<PeerSpec>,
    /// The import policy (SPEC §3).
    pub policy: IxpPolicy,
    /// What exceeding a member's max-prefix limit does.
    pub max_prefix: MaxPrefixAction,
    /// Graceful restart as receiving speaker (RFC 4724).
    pub graceful_restart: routeserver::RestartLimits,
}

/// What exceeding a member's max-prefix limit does (SPEC §3, issue 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MaxPrefixAction {
    /// Cease / Maximum Number of Prefixes Reached (RFC 4486 subcode 1);
    /// the session may come back after this delay.
    Restart(Duration),
    /// Cease, and the session stays down until the daemon is restarted.
    Shutdown,
}

/// Work the web API runs inside the core task, with read-only access.
pub(crate) type Job = Box<dyn FnOnce(&CoreView<'_>) + Send>;

/// What the web API may read: the route server and the sessions.
pub(crate) struct CoreView<'a> {
    /// The route server.
    pub rs: &'a RouteServer<IxpPolicy>,
    peers: &'a HashMap<PeerId, PeerRuntime>,
    /// Seconds since the core started (the clock of route ages).
    pub now: u32,
    /// Wall-clock time the core started.
    pub started_wall: std::time::SystemTime,
    /// The route server's name, AS and router id.
    pub rs_spec: &'a RsInfo,
}

/// Identity of a route server instance.
#[derive(Debug, Clone)]
pub(crate) struct RsInfo {
    pub name: String,
    pub asn: u32,
    pub router_id: std::net::Ipv4Addr,
    pub max_prefix: MaxPrefixAction,
}

impl CoreView<'_> {
    /// Every session with its spec and status, in a stable order.
    pub(crate) fn sessions(&self) -> Vec<(PeerId, &PeerSpec, &SharedStatus)> {
        let mut v: Vec<_> = self
            .peers
            .iter()
            .map(|(id, p)| (*id, &p.spec, &p.status))
            .collect();
        v.sort_by_key(|(_, s, _)| (s.asn, s.addr));
        v
    }

    /// How many times member session `id` went over its max-prefix limit
    /// in `warning` mode (the session stayed up).
    pub(crate) fn max_prefix_warnings(&self, id: PeerId) -> u64 {
        self.peers.get(&id).map_or(0, |p| p.max_prefix_warnings)
    }

    /// The session with API id `id`.
    pub(crate) fn session(&self, id: &str) -> Option<(PeerId, &PeerSpec, &SharedStatus)> {
        self.sessions()
            .into_iter()
            .find(|(_, s, _)| api::neighbor_id(s.asn, s.addr) == id)
    }
}

enum CoreMsg {
    Event(PeerId, Event),
    Job(Job),
    Reload(Box<RsSpec>),
    /// RPKI or IRR data changed: judge the routes it can affect again.
    Revalidate(Arc<routeserver::Affected>),
}

struct PeerRuntime {
    spec: PeerSpec,
    cmd: mpsc::UnboundedSender<Command>,
    status: SharedStatus,
    decode: Option<DecodeCtx>,
    queued: u64,
    /// Over the max-prefix limit in `warning` mode (logged once per crossing).
    max_prefix_over: bool,
    /// Crossings of the max-prefix limit in `warning` mode.
    max_prefix_warnings: u64,
}

/// A running route server.
#[derive(Debug, Clone)]
pub(crate) struct Handle {
    jobs: mpsc::UnboundedSender<Job>,
    reload: mpsc::UnboundedSender<CoreMsg>,
    /// Addresses actually bound (port 0 resolved).
    pub listening: Vec<SocketAddr>,
}

impl Handle {
    /// Apply a new configuration (SIGHUP); false when the core is gone.
    pub(crate) fn reload(&self, spec: RsSpec) -> bool {
        self.reload.send(CoreMsg::Reload(Box::new(spec))).is_ok()
    }

    /// Judge again the routes a data change can affect (under the VRP
    /// prefixes that changed, of the members whose IRR data changed, or
    /// all); no session is reset. False when the core is gone.
    pub(crate) fn revalidate_affected(&self, affected: Arc<routeserver::Affected>) -> bool {
        self.reload.send(CoreMsg::Revalidate(affected)).is_ok()
    }

    /// Run `job` on the core; false when the core is gone.
    pub(crate) fn run(&self, job: impl FnOnce(&CoreView<'_>) + Send + 'static) -> bool {
        self.jobs.send(Box::new(job)).is_ok()
    }
}

/// Accepted connections waiting for their member's session, by address,
/// with whether the member uses GTSM. Shared by the listeners and changed
/// by reloads.
type Inbound = Arc<RwLock<HashMap<IpAddr, (mpsc::Sender<TcpStream>, bool)>>>;

/// What the core needs to start and stop member sessions after start-up.
struct Wiring {
    core_tx: mpsc::UnboundedSender<CoreMsg>,
    inbound: Inbound,
    listeners: Vec<Arc<TcpListener>>,
    asn: u32,
    router_id: std::net::Ipv4Addr,
    hold_time: u16,
    restart_delay: Duration,
    connect_retry: Duration,
    port: u16,
    graceful_restart: routeserver::RestartLimits,
}

impl Wiring {
    /// Start the session task of member session `p`.
    fn spawn_peer(
        &self,
        rs: &mut RouteServer<IxpPolicy>,
        p: &PeerSpec,
    ) -> Option<(PeerId, PeerRuntime)> {
        let mut cfg = bgp_session::Config::new(self.asn, self.router_id, p.asn);
        cfg.hold_time = self.hold_time;
        cfg.passive = !p.active;
        cfg.restart_delay = Some(self.restart_delay);
        cfg.connect_retry = self.connect_retry;
        // Receiving speaker: a restart time, no families (RFC 4724 §3).
        let gr = self.graceful_restart;
        cfg.graceful_restart = gr.enabled.then(|| bgp_session::GracefulRestartConfig {
            restart_time: gr.max_restart_time.min(4095) as u16,
            families: bgp_wire::FamilySet::EMPTY,
        });
        if p.add_path {
            cfg.add_path_send = bgp_wire::FamilySet::BOTH;
        }
        let session = match Session::new(cfg) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(peer = %p.addr, "cannot configure session: {e}");
                return None;
            }
        };
        let id = rs.add_member(MemberInfo {
            asn: p.asn,
            addr: p.addr,
            name: p.name.clone(),
        });
        let (in_tx, in_rx) = mpsc::channel(4);
        if let Ok(mut m) = self.inbound.write() {
            m.insert(p.addr, (in_tx, p.gtsm));
        }
        for l in &self.listeners {
            let is_v6 = l.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
            if is_v6 == p.addr.is_ipv6() {
                if let Some(key) = &p.md5 {
                    if let Err(e) = bgp_io::sockopt::set_md5(&**l, p.addr, key.as_bytes()) {
                        tracing::error!(peer = %p.addr, "cannot set the TCP-MD5 key: {e}");
                    }
                }
                if p.gtsm {
                    if let Err(e) = bgp_io::sockopt::set_ttl_255(&**l, is_v6) {
                        tracing::error!(peer = %p.addr, "cannot set TTL 255 for GTSM: {e}");
                    }
                }
            }
        }
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let status: SharedStatus = Arc::new(Mutex::new(Status::default()));
        let io = PeerIo {
            inbound: Some(in_rx),
            remote: SocketAddr::new(p.addr, self.port),
            local: None,
            md5: p.md5.as_ref().map(|k| k.as_bytes().to_vec()),
            gtsm: p.gtsm,
        };
        tokio::spawn(run_peer(session, io, cmd_rx, ev_tx, status.clone()));
        let fwd = self.core_tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = ev_rx.recv().await {
                if fwd.send(CoreMsg::Event(id, ev)).is_err() {
                    break;
                }
            }
        });
        Some((
            id,
            PeerRuntime {
                spec: p.clone(),
                cmd: cmd_tx,
                status,
                decode: None,
                queued: 0,
                max_prefix_over: false,
                max_prefix_warnings: 0,
            },
        ))
    }

    /// Stop member session `id` with a Cease and forget it and its routes.
    fn stop_peer(
        &self,
        rs: &mut RouteServer<IxpPolicy>,
        peers: &mut HashMap<PeerId, PeerRuntime>,
        id: PeerId,
        subcode: u8,
        message: &str,
    ) {
        let Some(p) = peers.remove(&id) else { return };
        let _ = p.cmd.send(Command::Stop {
            subcode,
            message: message.to_string(),
        });
        if let Ok(mut m) = self.inbound.write() {
            m.remove(&p.spec.addr);
        }
        if p.spec.md5.is_some() {
            for l in &self.listeners {
                // An empty key removes the address's signature.
                let _ = bgp_io::sockopt::set_md5(&**l, p.spec.addr, &[]);
            }
        }
        rs.remove_member(id);
    }
}

/// The session settings whose change needs a new session (a name change
/// does not).
fn session_key(p: &PeerSpec) -> (u32, IpAddr, bool, Option<&str>, bool, bool) {
    (
        p.asn,
        p.addr,
        p.active,
        p.md5.as_deref(),
        p.gtsm,
        p.add_path,
    )
}

/// Apply a new configuration of this route server: new members come up,
/// removed ones go down (Cease / Peer De-configured), members whose
/// session settings changed are reset (Cease / Other Configuration
/// Change); the others keep their sessions. The policy is replaced,
/// every route judged again, and every established member checked against
/// its (possibly new) max-prefix limit.
fn reload(
    rs: &mut RouteServer<IxpPolicy>,
    peers: &mut HashMap<PeerId, PeerRuntime>,
    wiring: &Wiring,
    new: RsSpec,
) {
    let mut by_addr: HashMap<IpAddr, PeerId> =
        peers.iter().map(|(id, p)| (p.spec.addr, *id)).collect();
    let (mut added, mut removed, mut reset) = (0, 0, 0);
    for p in &new.peers {
        match by_addr.remove(&p.addr) {
            Some(id) => {
                let same = peers
                    .get(&id)
                    .is_some_and(|old| session_key(&old.spec) == session_key(p));
                if same {
                    if let Some(old) = peers.get_mut(&id) {
                        old.spec.name = p.name.clone();
                    }
                    continue;
                }
                wiring.stop_peer(rs, peers, id, 6, "session settings changed");
                reset += 1;
                if let Some((id, rt)) = wiring.spawn_peer(rs, p) {
                    peers.insert(id, rt);
                }
            }
            None => {
                if let Some((id, rt)) = wiring.spawn_peer(rs, p) {
                    peers.insert(id, rt);
                    added += 1;
                }
            }
        }
    }
    for (_, id) in by_addr {
        wiring.stop_peer(
            rs,
            peers,
            id,
            3,
            "removed from the route server's configuration",
        );
        removed += 1;
    }
    *rs.policy_mut() = new.policy;
    let changed = rs.revalidate();
    tracing::info!(
        rs = %new.name,
        added, removed, reset, routes_changed = changed,
        "configuration reloaded"
    );
    // A lowered limit, or routes a check no longer rejects, can put a
    // member over its limit now rather than at its next UPDATE.
    check_max_prefix(rs, peers, new.max_prefix);
}

/// Start a route server on the current runtime.
pub(crate) async fn start(spec: RsSpec) -> std::io::Result<Handle> {
    let mut rs = RouteServer::new(spec.policy.clone());
    let (core_tx, mut core_rx) = mpsc::unbounded_channel::<CoreMsg>();
    let mut peers: HashMap<PeerId, PeerRuntime> = HashMap::new();
    let inbound: Inbound = Arc::new(RwLock::new(HashMap::new()));
    let mut listeners = Vec::new();
    let mut listening = Vec::new();
    for addr in &spec.listen {
        let l = Arc::new(TcpListener::bind(addr).await?);
        listening.push(l.local_addr()?);
        listeners.push(l);
    }
    let wiring = Wiring {
        core_tx: core_tx.clone(),
        inbound: inbound.clone(),
        listeners: listeners.clone(),
        asn: spec.asn,
        router_id: spec.router_id,
        hold_time: spec.hold_time,
        restart_delay: spec.restart_delay,
        connect_retry: spec.connect_retry,
        port: spec.listen.first().map_or(179, |l| l.port()),
        graceful_restart: spec.graceful_restart,
    };
    rs.set_restart_limits(spec.graceful_restart);
    for p in &spec.peers {
        if let Some((id, rt)) = wiring.spawn_peer(&mut rs, p) {
            peers.insert(id, rt);
        }
    }
    for l in listeners {
        let inbound = inbound.clone();
        let rs_name = spec.name.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, from)) = l.accept().await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let target = inbound.read().ok().and_then(|m| m.get(&from.ip()).cloned());
                match target {
                    Some((tx, gtsm)) => {
                        if gtsm {
                            if let Err(e) = bgp_io::sockopt::set_gtsm(&stream, from.is_ipv6()) {
                                tracing::warn!(%from, "cannot set GTSM: {e}");
                            }
                        }
                        if tx.try_send(stream).is_err() {
                            tracing::warn!(%from, rs = %rs_name, "session busy; connection refused");
                        }
                    }
                    None => {
                        tracing::warn!(%from, rs = %rs_name, "connection from an address that is no member's; closed");
                    }
                }
            }
        });
    }
    let (q_tx, mut q_rx) = mpsc::unbounded_channel::<Job>();
    let qfwd = core_tx.clone();
    tokio::spawn(async move {
        while let Some(q) = q_rx.recv().await {
            if qfwd.send(CoreMsg::Job(q)).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let started_wall = std::time::SystemTime::now();
    let mut info = RsInfo {
        name: spec.name.clone(),
        asn: spec.asn,
        router_id: spec.router_id,
        max_prefix: spec.max_prefix,
    };
    let rs_name = spec.name.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut held_back = false;
        loop {
            tokio::select! {
                msg = core_rx.recv() => {
                    let Some(msg) = msg else { return };
                    if let CoreMsg::Reload(new) = msg {
                        // The new max-prefix action applies from now on.
                        info.max_prefix = new.max_prefix;
                        reload(&mut rs, &mut peers, &wiring, *new);
                        continue;
                    }
                    handle(&mut rs, &mut peers, msg, (started, started_wall, &info), &rs_name);
                    // Take what else is waiting before flushing, so bursts
                    // are coalesced.
                    for _ in 0..1000 {
                        match core_rx.try_recv() {
                            Ok(CoreMsg::Reload(new)) => {
                                info.max_prefix = new.max_prefix;
                                reload(&mut rs, &mut peers, &wiring, *new);
                            }
                            Ok(m) => handle(&mut rs, &mut peers, m, (started, started_wall, &info), &rs_name),
                            Err(_) => break,
                        }
                    }
                }
                _ = tick.tick() => {}
                // A member's writer drains its queue within milliseconds:
                // look again soon rather than on the next tick.
                _ = tokio::time::sleep(RESUME_AFTER), if held_back => {}
            }
            restart_timers(&mut rs, &peers, started);
            held_back = flush(&mut rs, &mut peers);
        }
    });
    Ok(Handle {
        jobs: q_tx,
        reload: core_tx,
        listening,
    })
}

fn written(status: &SharedStatus) -> u64 {
    status.lock().map(|s| s.update_bytes_out).unwrap_or(0)
}

fn handle(
    rs: &mut RouteServer<IxpPolicy>,
    peers: &mut HashMap<PeerId, PeerRuntime>,
    msg: CoreMsg,
    clock: (Instant, std::time::SystemTime, &RsInfo),
    rs_name: &str,
) {
    let (started, started_wall, info) = clock;
    let now = started.elapsed().as_secs() as u32;
    match msg {
        CoreMsg::Event(id, ev) => {
            let Some(p) = peers.get_mut(&id) else { return };
            match ev {
                Event::Established(n) => {
                    tracing::info!(rs = rs_name, peer = %p.spec.addr, asn = p.spec.asn, "session established");
                    p.decode = Some(n.decode_ctx());
                    p.queued = written(&p.status);
                    rs.established(id, u32::from(n.peer_id), n.families, n.encode_ctx());
                    rs.session_capability(id, restart_capability(&n), now);
                }
                Event::Update(bytes) => {
                    let Some(ctx) = p.decode else { return };
                    match rs.update(id, &bytes, &ctx, now) {
                        Ok(o) => {
                            for issue in o.issues {
                                tracing::warn!(peer = %p.spec.addr, "RFC 7606: {issue}");
                            }
                            match o.max_prefix_exceeded {
                                Some(f) => {
                                    let per_member =
                                        rs.member(id).map(|m| rs.policy().max_prefix_action(m));
                                    max_prefix_exceeded(p, f, info.max_prefix, per_member);
                                }
                                None if o.announced > 0 => p.max_prefix_over = false,
                                None => {}
                            }
                        }
                        // The session layer decoded this message already;
                        // a reset here would be a codec inconsistency.
                        Err(e) => tracing::error!(peer = %p.spec.addr, "UPDATE rejected: {e}"),
                    }
                }
                Event::RouteRefresh(_) => rs.route_refresh(id),
                Event::Down(reason) => {
                    tracing::info!(rs = rs_name, peer = %p.spec.addr, asn = p.spec.asn, "session down: {reason}");
                    p.decode = None;
                    // Only a session end without a NOTIFICATION is a
                    // graceful restart (RFC 4724 §4; RFC 8538 is not
                    // negotiated, so Hold Timer Expired is not one).
                    if matches!(reason, DownReason::ConnectionLost) && rs.down_graceful(id, now) {
                        tracing::info!(rs = rs_name, peer = %p.spec.addr, "graceful restart: routes kept as stale");
                    } else {
                        rs.down(id);
                    }
                    p.queued = written(&p.status);
                }
            }
        }
        // Reloads are applied by the core loop, which holds the wiring.
        CoreMsg::Reload(_) => {}
        CoreMsg::Revalidate(affected) => {
            let changed = rs.revalidate_affected(&affected);
            tracing::info!(
                rs = rs_name,
                routes_changed = changed,
                "RPKI/IRR data changed: routes judged again"
            );
            // Routes that turned accepted count against max-prefix too.
            check_max_prefix(rs, peers, info.max_prefix);
        }
        CoreMsg::Job(job) => job(&CoreView {
            rs,
            peers,
            now,
            started_wall,
            rs_spec: info,
        }),
    }
}

/// The member's Graceful Restart capability as the route server uses it.
fn restart_capability(n: &bgp_session::Negotiated) -> Option<routeserver::GracefulRestart> {
    let gr = n.graceful_restart.as_ref()?;
    let mut cap = routeserver::GracefulRestart {
        restart_time: gr.restart_time,
        ..Default::default()
    };
    for &(f, forwarding) in &gr.families {
        cap.families.insert(f);
        if forwarding {
            cap.forwarding.insert(f);
        }
    }
    Some(cap)
}

/// Run the graceful restart timers and log what they withdrew.
fn restart_timers(
    rs: &mut RouteServer<IxpPolicy>,
    peers: &HashMap<PeerId, PeerRuntime>,
    started: Instant,
) {
    rs.tick(started.elapsed().as_secs() as u32);
    for (id, s) in rs.take_swept() {
        let peer = peers.get(&id).map(|p| p.spec.addr);
        tracing::info!(?peer, withdrawn = s.withdrawn, reason = ?s.reason, "graceful restart: stale routes withdrawn");
    }
}

/// Check every established member against its max-prefix limit, as after
/// an UPDATE (after a revalidation or a reload changed verdicts or
/// limits). A member in `warning` mode that is back under its limit will
/// be warned again at its next crossing.
fn check_max_prefix(
    rs: &RouteServer<IxpPolicy>,
    peers: &mut HashMap<PeerId, PeerRuntime>,
    action: MaxPrefixAction,
) {
    for (id, p) in peers.iter_mut() {
        if p.decode.is_none() {
            continue;
        }
        match max_prefix_over(rs, *id) {
            Some(f) => {
                let per_member = rs.member(*id).map(|m| rs.policy().max_prefix_action(m));
                max_prefix_exceeded(p, f, action, per_member);
            }
            None => p.max_prefix_over = false,
        }
    }
}

/// The first family in which member session `id` holds more accepted
/// routes than its max-prefix limit.
fn max_prefix_over(rs: &RouteServer<IxpPolicy>, id: PeerId) -> Option<bgp_wire::Family> {
    use routeserver::Policy as _;
    let limits = rs.policy().max_prefix(rs.member(id)?)?;
    let counts = rs.counts(id).accepted_by_family;
    bgp_wire::Family::ALL.into_iter().find(|f| {
        let i = f.index();
        counts.get(i).copied().unwrap_or(0) > limits.get(i).copied().unwrap_or(u32::MAX) as usize
    })
}

/// A member went over its max-prefix limit for family `f`. `per_member`
/// is the policy's action for it; `restart` uses the route server's delay.
fn max_prefix_exceeded(
    p: &mut PeerRuntime,
    f: bgp_wire::Family,
    action: MaxPrefixAction,
    per_member: Option<registry::MaxPrefixAction>,
) {
    let (peer, asn) = (p.spec.addr, p.spec.asn);
    let action = match per_member {
        Some(registry::MaxPrefixAction::Warning) => {
            if !p.max_prefix_over {
                p.max_prefix_over = true;
                p.max_prefix_warnings += 1;
                tracing::warn!(%peer, asn, family = ?f, "max-prefix limit exceeded: warning only, the session stays up");
            }
            return;
        }
        Some(registry::MaxPrefixAction::Shutdown) => MaxPrefixAction::Shutdown,
        Some(registry::MaxPrefixAction::Restart) | None => action,
    };
    let message = format!("maximum number of {f:?} prefixes reached");
    // Cease subcode 1, Maximum Number of Prefixes Reached (RFC 4486).
    let cmd = match action {
        MaxPrefixAction::Restart(hold) => {
            tracing::warn!(%peer, asn, family = ?f, "max-prefix limit exceeded: session stopped for {} s", hold.as_secs());
            Command::AutomaticStop {
                subcode: 1,
                message,
                hold,
            }
        }
        MaxPrefixAction::Shutdown => {
            tracing::warn!(%peer, asn, family = ?f, "max-prefix limit exceeded: session stopped until restart");
            Command::Stop {
                subcode: 1,
                message,
            }
        }
    };
    let _ = p.cmd.send(cmd);
}

/// Encode what is pending for every member, up to its flow-control limit.
/// Returns whether a member with more to send was held back.
fn flush(rs: &mut RouteServer<IxpPolicy>, peers: &mut HashMap<PeerId, PeerRuntime>) -> bool {
    let mut held_back = false;
    for id in rs.pending() {
        let Some(p) = peers.get_mut(&id) else {
            continue;
        };
        let mut rounds = 0;
        let mut more = true;
        while more && p.queued.saturating_sub(written(&p.status)) < MAX_OUTSTANDING && rounds < 8 {
            let mut out = Vec::new();
            more = rs.flush(id, FLUSH_BATCH, &mut out);
            if !out.is_empty() {
                p.queued += out.len() as u64;
                let _ = p.cmd.send(Command::Send(out));
            }
            rounds += 1;
        }
        held_back |= more;
    }
    held_back
}
