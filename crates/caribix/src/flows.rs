//! Flow collection in the daemon: UDP sockets for `[flows] sflow` and
//! `ipfix` (IPFIX and NetFlow v9 share that port and are told apart by the
//! version field of the header), one collector task, on a thread of its
//! own so that it can pause for datagrams to pile up ([`Pacing`]), that decodes,
//! attributes, aggregates and classifies every record, flushes the recent
//! minutes to the store (a minute written again replaces itself, so late
//! records count once), applies the retention, and refreshes the route
//! server's prefixes (attribution by destination prefix, and local-traffic
//! identification) every minute. Router MACs are learned from sampled BGP
//! session packets between members' session addresses and the route
//! server (or each other) and used for attribution; the MAC table is
//! published for the API at every flush and whenever a MAC is learned or
//! moves. Bilateral sessions go to the store with the other aggregates. Traffic exported twice
//! (the fabric's sFlow and a member router's IPFIX, or two member routers)
//! is counted once ([`flow::dedupe`]). A SIGHUP reload ([`reload`]) gives
//! the collector the new members, MACs, routers and delegations; learned
//! MACs and route server prefixes are kept; listeners and the store need a
//! restart. The learned MACs are saved in the store and restored at start
//! (at IXP sampling rates a session's packets are sampled rarely).
//!
//! The protocol work is in the `flow`, `traffic` and `flowstore` crates;
//! this module only owns sockets, the clock and the task. The HTTP side is
//! [`crate::traffic_api`].

use crate::daemon::Handle;
use flow::{
    Aggregator, Counters, Decoder, DecoderConfig, Dedupe, ErrorKind, MacAddr, MemberTable,
    Retention, Seen, UnixMillis,
};
use flowstore::{Store, StoreUrl};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use traffic::{Delegations, LocalNets, Prefix, Tally};

/// Minutes written again on every flush (late records land in them).
const REWRITE_SECS: u64 = 300;

/// Gaps between the first route server prefix refreshes after start, in
/// seconds (sessions come up and send their tables in the first seconds;
/// attribution should not wait a whole period for them).
const STARTUP_REFRESHES: [u64; 3] = [5, 10, 15];

/// The learned-MAC table is saved at least this often (milliseconds).
const MACS_SAVE_MS: u64 = 600_000;

/// Learned MACs not seen for this long are forgotten.
const LEARNED_MAC_AGE_MS: u64 = 7 * 86_400_000;

/// How long minutes stay in memory after being stored.
const MEMORY_RETENTION: Retention = Retention {
    minutes_for: 900,
    hours_for: 3600,
    days_for: 0,
};

/// What the collector runs with.
#[derive(Debug)]
pub(crate) struct FlowSpec {
    /// sFlow listener.
    pub sflow: Option<SocketAddr>,
    /// IPFIX / NetFlow v9 listener.
    pub ipfix: Option<SocketAddr>,
    /// Where aggregates go.
    pub store: StoreUrl,
    /// Members, their MACs, routers and interface roles (from the config).
    pub members: MemberTable,
    /// The territory's RIR delegations, if any.
    pub delegations: Option<Delegations>,
    /// Store retention.
    pub retention: Retention,
    /// Flush period.
    pub flush_every: Duration,
    /// Route server prefix refresh period.
    pub prefixes_every: Duration,
}

/// What the API reads.
pub(crate) struct Shared {
    /// The store (blocking calls: use from `spawn_blocking`).
    pub store: Mutex<Box<dyn Store>>,
    /// Member names by ASN (replaced on reload).
    pub names: std::sync::RwLock<HashMap<u32, String>>,
    /// The collector's in-memory state, as of its last publication.
    pub live: Mutex<Live>,
}

/// Where a member's MAC comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MacSource {
    /// `macs` in the member's configuration.
    Config,
    /// Learned from BGP session samples.
    Learned,
}

/// One row of the MAC table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MacRow {
    pub mac: MacAddr,
    pub asn: u32,
    pub source: MacSource,
    /// Session address it was last seen with (learned only).
    pub address: Option<IpAddr>,
    /// First and last observation, Unix seconds (learned only).
    pub first_seen: Option<u64>,
    pub last_seen: Option<u64>,
    pub observations: u64,
}

/// The collector's in-memory state the API shows: member MACs, configured
/// and learned.
#[derive(Debug, Clone, Default)]
pub(crate) struct Live {
    pub macs: Vec<MacRow>,
}

impl Live {
    fn of(members: &MemberTable) -> Live {
        let mut macs: Vec<MacRow> = members
            .configured_macs()
            .map(|(mac, asn)| MacRow {
                mac,
                asn,
                source: MacSource::Config,
                address: None,
                first_seen: None,
                last_seen: None,
                observations: 0,
            })
            .chain(members.learned().iter().map(|e| MacRow {
                mac: e.mac,
                asn: e.asn,
                source: MacSource::Learned,
                address: Some(e.address),
                first_seen: Some(e.first_seen.secs()),
                last_seen: Some(e.last_seen.secs()),
                observations: e.observations,
            }))
            .collect();
        macs.sort_by_key(|m| (m.asn, m.mac));
        Live { macs }
    }
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

impl Shared {
    /// A member's name ("" when unknown).
    pub(crate) fn name(&self, asn: u32) -> String {
        self.names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&asn)
            .cloned()
            .unwrap_or_default()
    }

    /// Every member's name.
    pub(crate) fn names(&self) -> HashMap<u32, String> {
        self.names.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A reloaded configuration for the running collector.
struct Reconfig {
    members: MemberTable,
    delegations: Option<Delegations>,
}

/// What the running collector was started with and cannot change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fixed {
    sflow: Option<SocketAddr>,
    ipfix: Option<SocketAddr>,
    store: StoreUrl,
    retention: Retention,
}

static RELOAD: OnceLock<(Fixed, mpsc::UnboundedSender<Reconfig>)> = OnceLock::new();

/// Applies a reloaded configuration to the running collector: members,
/// their names, MACs and session addresses, border routers and interface
/// roles, delegations. Listener, store and retention changes are reported
/// and need a restart.
pub(crate) fn reload(cfg: &registry::Config) {
    let Some((fixed, tx)) = RELOAD.get() else {
        if cfg.flows.is_some() {
            tracing::warn!("SIGHUP: [flows] added: restart caribix to start flow collection");
        }
        return;
    };
    let spec = match spec_from_config(cfg) {
        None => {
            tracing::warn!("SIGHUP: [flows] removed: restart caribix to stop flow collection");
            return;
        }
        Some(Err(e)) => {
            tracing::error!("SIGHUP: {e}; flow collection keeps its configuration");
            return;
        }
        Some(Ok(s)) => s,
    };
    let now = Fixed {
        sflow: spec.sflow,
        ipfix: spec.ipfix,
        store: spec.store.clone(),
        retention: spec.retention,
    };
    if now != *fixed {
        tracing::warn!(
            "SIGHUP: [flows] listeners, store or retention changed: restart caribix to apply them"
        );
    }
    if let Some(shared) = shared() {
        *shared.names.write().unwrap_or_else(|e| e.into_inner()) = spec
            .members
            .members()
            .map(|m| (m.asn, m.name.clone()))
            .collect();
    }
    let _ = tx.send(Reconfig {
        members: spec.members,
        delegations: spec.delegations,
    });
}

/// The running collector's store and names, when `[flows]` is configured.
pub(crate) fn shared() -> Option<Arc<Shared>> {
    SHARED.get().cloned()
}

/// A running collector.
#[derive(Debug)]
pub(crate) struct Flows {
    /// Bound sFlow address.
    pub sflow: Option<SocketAddr>,
    /// Bound IPFIX / NetFlow v9 address.
    pub ipfix: Option<SocketAddr>,
    flush_tx: mpsc::Sender<oneshot::Sender<()>>,
}

impl Flows {
    /// Flushes now and waits for the store; false when the task is gone.
    pub(crate) async fn flush(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        self.flush_tx.send(tx).await.is_ok() && rx.await.is_ok()
    }
}

fn now_millis() -> UnixMillis {
    UnixMillis::from_system_time(SystemTime::now())
}

/// Receive buffer asked for each flow socket. Exporters send in bursts
/// (a switch flushing its sample buffer, pmacct replaying a file): with
/// Linux's default 208 KiB about a hundred full datagrams fit, and the
/// rest of a burst is lost. The kernel caps the request at
/// `net.core.rmem_max`.
const RECV_BUFFER: usize = 8 << 20;

/// Binds a flow socket with a large receive buffer; also gives the
/// buffer the kernel granted.
fn bind_udp(a: SocketAddr) -> std::io::Result<(std::net::UdpSocket, usize)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(a), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(e) = s.set_recv_buffer_size(RECV_BUFFER) {
        tracing::warn!(%a, "flow socket: receive buffer of {RECV_BUFFER} octets refused: {e}");
    }
    s.set_nonblocking(true)?;
    s.bind(&a.into())?;
    let got = s.recv_buffer_size().unwrap_or(0);
    if got < RECV_BUFFER {
        tracing::info!(
            %a,
            "flow socket receive buffer is {got} octets (raise net.core.rmem_max to {} to avoid losing bursts)",
            RECV_BUFFER / 2
        );
    }
    Ok((s.into(), got))
}

/// Binds the sockets, opens the store and starts the collector task.
pub(crate) async fn start(spec: FlowSpec, rs: Option<Handle>) -> Result<Flows, String> {
    let bind = |a: Option<SocketAddr>, what: &'static str| match a {
        Some(a) => bind_udp(a)
            .map(Some)
            .map_err(|e| format!("[flows] {what} {a}: {e}")),
        None => Ok(None),
    };
    let sflow = bind(spec.sflow, "sflow")?;
    let ipfix = bind(spec.ipfix, "ipfix")?;
    let local = |s: &Option<(std::net::UdpSocket, usize)>| {
        s.as_ref().and_then(|(s, _)| s.local_addr().ok())
    };
    let (sflow_addr, ipfix_addr) = (local(&sflow), local(&ipfix));
    let url = spec.store.clone();
    // A restarted collector carries on from the minutes its predecessor
    // stored: they are written again (replaced) at every flush.
    let started = now_millis().secs();
    let (store, saved_macs, recent) = tokio::task::spawn_blocking(move || {
        let mut st = flowstore::open(&url)?;
        let macs = st.load_macs();
        let first = started.saturating_sub(REWRITE_SECS);
        let mut recent = Vec::new();
        for start in (first - first % 60..=started).step_by(60) {
            recent.push(st.read_minute(start)?);
        }
        Ok::<_, flowstore::StoreError>((st, macs, recent))
    })
    .await
    .map_err(|e| format!("opening the flow store: {e}"))?
    .map_err(|e| e.to_string())?;
    let mut spec = spec;
    match saved_macs {
        Ok(macs) => {
            let n = macs.len();
            spec.members.restore_learned(macs);
            tracing::info!(
                saved = n,
                restored = spec.members.learned().len(),
                "flow attribution: learned MACs restored from the store"
            );
        }
        Err(e) => tracing::warn!("flow store: learned MACs not restored: {e}"),
    }
    let names = spec
        .members
        .members()
        .map(|m| (m.asn, m.name.clone()))
        .collect();
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        names: std::sync::RwLock::new(names),
        live: Mutex::new(Live::default()),
    });
    if SHARED.set(shared.clone()).is_err() {
        return Err("flow collection started twice".into());
    }
    let (reload_tx, reload_rx) = mpsc::unbounded_channel();
    let fixed = Fixed {
        sflow: spec.sflow,
        ipfix: spec.ipfix,
        store: spec.store.clone(),
        retention: spec.retention,
    };
    if RELOAD.set((fixed, reload_tx)).is_err() {
        return Err("flow collection started twice".into());
    }
    let (flush_tx, flush_rx) = mpsc::channel(4);
    let flows = Flows {
        sflow: sflow_addr,
        ipfix: ipfix_addr,
        flush_tx,
    };
    let mut nets = LocalNets::new();
    if let Some(d) = &spec.delegations {
        nets.set_delegations(d);
    }
    let mut task = Task {
        decoder: Decoder::new(DecoderConfig::default()),
        decoded: flow::Decoded::default(),
        // With the fabric's sFlow collected, it counts what crosses the IXP.
        dedupe: Dedupe {
            fabric: spec.sflow.is_some(),
        },
        members: spec.members,
        aggregator: Aggregator::new(MEMORY_RETENTION),
        tally: Tally::new(),
        nets,
        shared,
        retention: spec.retention,
        metrics: FlowMetrics::register(),
        macs_dirty: false,
        macs_saved: now_millis(),
        expired: UnixMillis(0),
        writing: None,
    };
    for (bucket, tally) in &recent {
        if let Some(b) = bucket {
            task.aggregator.restore_minute(b);
        }
        if let Some(t) = tally {
            task.tally.restore(t);
        }
    }
    task.publish();
    let (flush_every, prefixes_every) = (spec.flush_every, spec.prefixes_every);
    // The collector has a thread of its own, with a single-threaded
    // runtime: between bursts it sleeps in a plain system call (see
    // `Task::batch`), which would stall the shared runtime's workers.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("flow collector runtime: {e}"))?;
    std::thread::Builder::new()
        .name("caribix-flows".into())
        .spawn(move || {
            rt.block_on(async move {
                let reg = |s: Option<(std::net::UdpSocket, usize)>| match s {
                    Some((s, buffer)) => match UdpSocket::from_std(s) {
                        Ok(s) => Some(Listener::new(s, buffer)),
                        Err(e) => {
                            tracing::error!("flow socket: {e}");
                            None
                        }
                    },
                    None => None,
                };
                let (sflow, ipfix) = (reg(sflow), reg(ipfix));
                task.run(
                    Inputs {
                        sflow,
                        ipfix,
                        flush_rx,
                        reload_rx,
                    },
                    rs,
                    flush_every,
                    prefixes_every,
                )
                .await;
            });
        })
        .map_err(|e| format!("flow collector thread: {e}"))?;
    Ok(flows)
}

/// A flow socket and how its collector paces itself.
struct Listener {
    sock: UdpSocket,
    pacing: Pacing,
}

impl Listener {
    fn new(sock: UdpSocket, buffer: usize) -> Listener {
        Listener {
            sock,
            pacing: Pacing::new(buffer, std::time::Instant::now()),
        }
    }
}

/// When the collector pauses before draining a socket.
///
/// A paced exporter (or many switches) sends datagrams one at a time, so
/// waiting for each costs a wake-up and a system call per datagram, more
/// than decoding it. When wake-ups come faster than one per
/// [`MAX_COALESCE`], the collector sleeps a moment before draining the
/// socket, so that one wake-up takes many datagrams; the pause shrinks
/// when what piled up during it comes near a quarter of the socket's
/// receive buffer, and grows back when far below. Pausing adds at most a
/// millisecond to a record's way into minute aggregates.
#[derive(Debug)]
struct Pacing {
    /// The receive buffer the kernel granted, octets.
    buffer: usize,
    /// The current pause.
    pause: Duration,
    /// When the previous burst was taken.
    last: std::time::Instant,
}

/// Longest pause before draining a busy socket.
const MAX_COALESCE: Duration = Duration::from_millis(1);

/// Shortest pause (a small receive buffer at a high rate).
const MIN_COALESCE: Duration = Duration::from_micros(50);

/// What the kernel charges a queued datagram beyond its payload, at most
/// (socket buffer head and alignment; Linux's `truesize`).
const DATAGRAM_OVERHEAD: usize = 1024;

impl Pacing {
    fn new(buffer: usize, now: std::time::Instant) -> Pacing {
        Pacing {
            buffer,
            pause: MAX_COALESCE,
            last: now,
        }
    }

    /// Whether to pause before draining: woken again within
    /// [`MAX_COALESCE`] of the previous burst. Notes the time.
    fn busy(&mut self, now: std::time::Instant) -> bool {
        let busy = now.saturating_duration_since(self.last) < MAX_COALESCE;
        self.last = now;
        busy
    }

    /// Adapts the pause to what the last one let pile up: `queued` is the
    /// kernel's estimated charge of the datagrams drained after it.
    fn paused(&mut self, queued: usize) {
        if queued > self.buffer / 4 {
            self.pause = (self.pause / 2).max(MIN_COALESCE);
        } else if queued < self.buffer / 16 {
            self.pause = (self.pause * 2).min(MAX_COALESCE);
        }
    }
}

struct Task {
    decoder: Decoder,
    /// The decoder's output, kept across datagrams for its allocation.
    decoded: flow::Decoded,
    dedupe: Dedupe,
    members: MemberTable,
    aggregator: Aggregator,
    tally: Tally,
    nets: LocalNets,
    shared: Arc<Shared>,
    retention: Retention,
    metrics: FlowMetrics,
    /// A MAC was learned or moved since the table was last saved.
    macs_dirty: bool,
    /// When the learned-MAC table was last saved.
    macs_saved: UnixMillis,
    /// When the store's rollups and retention last ran.
    expired: UnixMillis,
    /// The store write under way.
    writing: Option<Write>,
}

async fn recv(s: Option<&Listener>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.sock.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// (prefix, announcing member ASN) of every accepted route at the route
/// server.
fn rs_prefixes(h: &Handle, tx: mpsc::Sender<Vec<(Prefix, u32)>>) {
    h.run(move |v| {
        let list: Vec<(Prefix, u32)> =
            v.rs.rib()
                .all_routes(false)
                .into_iter()
                .filter_map(|(p, pid, _)| {
                    let asn = v.rs.member(pid)?.asn;
                    Some((Prefix::new(p.addr(), p.len()).ok()?, asn))
                })
                .collect();
        let _ = tx.try_send(list);
    });
}

/// What the collector task listens to.
struct Inputs {
    sflow: Option<Listener>,
    ipfix: Option<Listener>,
    flush_rx: mpsc::Receiver<oneshot::Sender<()>>,
    reload_rx: mpsc::UnboundedReceiver<Reconfig>,
}

impl Task {
    async fn run(
        mut self,
        inputs: Inputs,
        rs: Option<Handle>,
        flush_every: Duration,
        prefixes_every: Duration,
    ) {
        let Inputs {
            mut sflow,
            mut ipfix,
            mut flush_rx,
            mut reload_rx,
        } = inputs;
        let mut b1 = vec![0u8; 65_536];
        let mut b2 = vec![0u8; 65_536];
        let mut flush_tick = tokio::time::interval(flush_every);
        let mut rs_next = tokio::time::Instant::now();
        let mut rs_refreshes = 0usize;
        let (pfx_tx, mut pfx_rx) = mpsc::channel(2);
        loop {
            tokio::select! {
                r = recv(sflow.as_ref(), &mut b1) => {
                    self.batch(r, sflow.as_mut(), &mut b1, Self::sflow);
                }
                r = recv(ipfix.as_ref(), &mut b2) => {
                    self.batch(r, ipfix.as_mut(), &mut b2, Self::ipfix);
                }
                res = written(&mut self.writing) => self.write_done(res),
                _ = flush_tick.tick() => {
                    // A write still running is not overtaken (minutes are
                    // written whole; the next tick writes what came since).
                    if self.writing.is_none() {
                        self.flush();
                    }
                }
                Some(ack) = flush_rx.recv() => {
                    if self.writing.is_some() {
                        let res = written(&mut self.writing).await;
                        self.write_done(res);
                    }
                    self.flush();
                    let res = written(&mut self.writing).await;
                    self.write_done(res);
                    let _ = ack.send(());
                }
                _ = tokio::time::sleep_until(rs_next) => {
                    if let Some(h) = &rs {
                        rs_prefixes(h, pfx_tx.clone());
                    }
                    let gap = STARTUP_REFRESHES
                        .get(rs_refreshes)
                        .map_or(prefixes_every, |s| Duration::from_secs(*s).min(prefixes_every));
                    rs_refreshes = rs_refreshes.saturating_add(1);
                    rs_next = tokio::time::Instant::now() + gap;
                }
                Some(list) = pfx_rx.recv() => self.set_prefixes(list),
                Some(rc) = reload_rx.recv() => self.reconfigure(rc),
            }
        }
    }

    fn set_prefixes(&mut self, list: Vec<(Prefix, u32)>) {
        let mut t = flow::members::PrefixTable::default();
        for (p, asn) in &list {
            // A Prefix always fits its family.
            let _ = t.insert(p.addr(), p.len(), *asn);
        }
        self.members.replace_prefixes(t);
        self.metrics
            .rs_prefixes
            .set(i64::try_from(list.len()).unwrap_or(i64::MAX));
        tracing::debug!(
            prefixes = list.len(),
            "flow attribution: route server prefixes refreshed"
        );
        self.nets.set_route_server_prefixes(list);
    }

    /// Handles the datagram `first` brought and then, without waiting,
    /// up to [`BATCH`] - 1 more already queued at `sock` (one wake-up and
    /// one metrics update for a burst rather than one per datagram); when
    /// wake-ups come close together, first pauses for more to queue (see
    /// [`Listener`]).
    fn batch(
        &mut self,
        first: std::io::Result<(usize, SocketAddr)>,
        sock: Option<&mut Listener>,
        buf: &mut [u8],
        handle: fn(&mut Self, &[u8], IpAddr, UnixMillis),
    ) {
        let now = now_millis();
        match first {
            Ok((n, from)) => handle(self, buf.get(..n).unwrap_or_default(), from.ip(), now),
            Err(e) => {
                self.metrics.receive_error(&e);
                return;
            }
        }
        if let Some(l) = sock {
            let paused = l.pacing.busy(std::time::Instant::now());
            if paused {
                // This thread is the collector's alone: nothing else
                // waits on it meanwhile.
                std::thread::sleep(l.pacing.pause);
            }
            let mut queued = 0usize;
            for _ in 1..BATCH {
                match l.sock.try_recv_from(buf) {
                    Ok((n, from)) => {
                        queued = queued.saturating_add(n + DATAGRAM_OVERHEAD);
                        handle(self, buf.get(..n).unwrap_or_default(), from.ip(), now);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.metrics.receive_error(&e);
                        break;
                    }
                }
            }
            if paused {
                l.pacing.paused(queued);
            }
        }
        self.metrics.sync(self.decoder.counters());
    }

    fn sflow(&mut self, buf: &[u8], from: IpAddr, now: UnixMillis) {
        let mut d = std::mem::take(&mut self.decoded);
        match self.decoder.sflow_into(from, buf, now, &mut d) {
            Ok(()) => self.fold_records(&d.records),
            Err(e) => tracing::debug!(%from, "sFlow datagram dropped: {e}"),
        }
        self.decoded = d;
    }

    fn ipfix(&mut self, buf: &[u8], from: IpAddr, now: UnixMillis) {
        let mut d = std::mem::take(&mut self.decoded);
        // IPFIX says 10, NetFlow v9 says 9 in the first two octets.
        let r = if buf.get(..2) == Some(&[0, 9][..]) {
            self.decoder.netflow9_into(from, buf, now, &mut d)
        } else {
            self.decoder.ipfix_into(from, buf, now, &mut d)
        };
        match r {
            Ok(()) => self.fold_records(&d.records),
            Err(e) => tracing::debug!(%from, "IPFIX/NetFlow datagram dropped: {e}"),
        }
        self.decoded = d;
    }

    /// Learns, attributes and counts the records of one datagram.
    fn fold_records(&mut self, records: &[flow::FlowRecord]) {
        let mut changed = false;
        for r in records {
            for ev in self.members.learn(r) {
                match ev.what {
                    flow::learn::Learned::New => tracing::info!(
                        mac = %ev.mac, asn = ev.asn,
                        "flow attribution: learned a member router MAC from BGP session traffic"
                    ),
                    flow::learn::Learned::Moved { from } => tracing::warn!(
                        mac = %ev.mac, asn = ev.asn, from,
                        "flow attribution: a learned MAC moved to another member"
                    ),
                    flow::learn::Learned::Refreshed => continue,
                }
                changed = true;
                self.macs_dirty = true;
            }
            let a = self.members.attribute(r);
            let seen = self.dedupe.judge(&self.members, r, &a);
            if seen != Seen::Counted {
                self.metrics.duplicate(seen);
                continue;
            }
            // Member figures and the matrix are IXP traffic; the
            // local share counts everything.
            if self.dedupe.crossed_ixp(&self.members, r, &a) {
                self.aggregator.add(r, &a);
            }
            self.tally.add(r, &a, &self.nets);
        }
        if changed {
            self.publish();
        }
    }

    /// Takes a reloaded configuration, keeping what was learned.
    fn reconfigure(&mut self, rc: Reconfig) {
        let mut members = rc.members;
        members.carry_over(&self.members);
        self.members = members;
        self.nets
            .set_delegations(&rc.delegations.unwrap_or_default());
        self.publish();
        tracing::info!(
            members = self.members.members().count(),
            macs = self.members.configured_macs().count(),
            "flow collection: configuration reloaded"
        );
    }

    /// Publishes the MAC table for the API.
    fn publish(&self) {
        self.metrics
            .learned_macs
            .set(i64::try_from(self.members.learned().len()).unwrap_or(i64::MAX));
        let live = Live::of(&self.members);
        *self.shared.live.lock().unwrap_or_else(|e| e.into_inner()) = live;
    }

    /// Starts writing the recent minutes (and the learned MACs, and once a
    /// minute the rollups and retention) to the store on a blocking
    /// thread; [`Task::write_done`] takes the outcome. Reception goes on
    /// meanwhile: a slow store must not make the sockets overflow.
    fn flush(&mut self) {
        let now = now_millis();
        self.members
            .expire_learned(UnixMillis(now.0.saturating_sub(LEARNED_MAC_AGE_MS)));
        self.publish();
        let cut = now.secs().saturating_sub(REWRITE_SECS);
        let starts: BTreeSet<u64> = self
            .aggregator
            .minutes()
            .map(|b| b.start)
            .chain(self.tally.minutes().map(|m| m.start))
            .filter(|s| *s >= cut)
            .collect();
        let work: Vec<_> = starts
            .into_iter()
            .map(|s| {
                (
                    s,
                    self.aggregator.minutes().find(|b| b.start == s).cloned(),
                    self.tally.minute(s).cloned(),
                )
            })
            .collect();
        // The learned MACs: when one changed, and every few minutes for
        // their last-seen times.
        let macs: Option<Vec<flow::LearnedMac>> = (self.macs_dirty
            || now.0.saturating_sub(self.macs_saved.0) >= MACS_SAVE_MS)
            .then(|| self.members.learned().iter().copied().collect());
        let saving_macs = macs.is_some();
        // Rollups and retention once a minute (a ClickHouse expiry is a few
        // dozen queries).
        let expiring = now.0.saturating_sub(self.expired.0) >= 60_000;
        let shared = self.shared.clone();
        let retention = self.retention;
        let job = tokio::task::spawn_blocking(move || {
            let mut st = shared.store.lock().unwrap_or_else(|e| e.into_inner());
            for (s, b, t) in &work {
                st.write_minute(*s, b.as_ref(), t.as_ref())?;
            }
            if let Some(m) = &macs {
                st.save_macs(m)?;
            }
            if expiring {
                st.expire(now.secs(), retention)?;
            }
            Ok::<(), flowstore::StoreError>(())
        });
        self.writing = Some(Write {
            job,
            at: now,
            saving_macs,
            expiring,
        });
        self.aggregator.expire(now);
        self.decoder.expire_templates(now);
        self.tally
            .drop_before(now.secs().saturating_sub(MEMORY_RETENTION.minutes_for));
    }

    /// Takes the outcome of a store write.
    fn write_done(&mut self, res: (Write, WriteResult)) {
        let (w, res) = res;
        match res {
            Ok(Ok(())) => {
                if w.saving_macs {
                    self.macs_dirty = false;
                    self.macs_saved = w.at;
                }
                if w.expiring {
                    self.expired = w.at;
                }
            }
            Ok(Err(e)) => {
                self.metrics.store_errors.inc();
                tracing::error!("flow store: {e}");
            }
            Err(e) => tracing::error!("flow store task: {e}"),
        }
    }
}

/// Datagrams handled per wake-up of the collector task at most.
const BATCH: usize = 256;

type WriteResult = Result<Result<(), flowstore::StoreError>, tokio::task::JoinError>;

/// A store write under way.
struct Write {
    job: tokio::task::JoinHandle<Result<(), flowstore::StoreError>>,
    /// When it was started.
    at: UnixMillis,
    saving_macs: bool,
    expiring: bool,
}

/// Waits for the store write under way, if any (never ready without one);
/// the write is taken out once it has finished.
async fn written(w: &mut Option<Write>) -> (Write, WriteResult) {
    let res = match w.as_mut() {
        Some(w) => (&mut w.job).await,
        None => std::future::pending().await,
    };
    match w.take() {
        Some(done) => (done, res),
        None => std::future::pending().await,
    }
}

type Labels = Vec<(String, String)>;

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// The collectors' Prometheus counters, fed from the decoder's absolute
/// counters by difference.
struct FlowMetrics {
    datagrams: Family<Labels, Counter>,
    samples: Family<Labels, Counter>,
    records: Counter,
    decode_errors: Family<Labels, Counter>,
    lost: Family<Labels, Counter>,
    sequence_resets: Counter,
    template_misses: Counter,
    receive_errors: Counter,
    store_errors: Counter,
    duplicates: Family<Labels, Counter>,
    rs_prefixes: Gauge,
    learned_macs: Gauge,
    last: Counters,
    /// The counters updated for every datagram, looked up once: datagrams
    /// of sFlow, IPFIX and NetFlow v9; flow, counter and unknown samples.
    hot: [Counter; 6],
}

impl FlowMetrics {
    fn register() -> Self {
        let m = FlowMetrics {
            datagrams: Family::default(),
            samples: Family::default(),
            records: Counter::default(),
            decode_errors: Family::default(),
            lost: Family::default(),
            sequence_resets: Counter::default(),
            template_misses: Counter::default(),
            receive_errors: Counter::default(),
            store_errors: Counter::default(),
            duplicates: Family::default(),
            rs_prefixes: Gauge::default(),
            learned_macs: Gauge::default(),
            last: Counters::default(),
            hot: Default::default(),
        };
        // Every label value exists from the start, so rates work from zero.
        let mut m = m;
        let dg = |p: &str| m.datagrams.get_or_create(&l(&[("protocol", p)])).clone();
        let sm = |k: &str| m.samples.get_or_create(&l(&[("kind", k)])).clone();
        m.hot = [
            dg("sflow"),
            dg("ipfix"),
            dg("netflow9"),
            sm("flow"),
            sm("counter"),
            sm("unknown"),
        ];
        for k in ErrorKind::ALL {
            let _ = m.decode_errors.get_or_create(&l(&[("kind", k.name())]));
        }
        for s in [Seen::ByFabric, Seen::BySender] {
            let _ = m.duplicates.get_or_create(&l(&[("counted_by", s.name())]));
        }
        crate::metrics::with_registry(|r| {
            let r = r.sub_registry_with_prefix("caribix_flow");
            r.register(
                "datagrams",
                "Flow datagrams received, by protocol",
                m.datagrams.clone(),
            );
            r.register(
                "samples",
                "sFlow samples decoded, by kind (flow, counter, unknown)",
                m.samples.clone(),
            );
            r.register(
                "records",
                "Flow records produced (scaled samples and IPFIX/NetFlow records)",
                m.records.clone(),
            );
            r.register(
                "decode_errors",
                "Datagrams dropped because they did not decode, by error kind",
                m.decode_errors.clone(),
            );
            r.register(
                "sequence_lost",
                "Units lost according to exporters' sequence numbers (gaps), by protocol and unit",
                m.lost.clone(),
            );
            r.register(
                "sequence_resets",
                "Exporter sequence restarts",
                m.sequence_resets.clone(),
            );
            r.register(
                "template_misses",
                "IPFIX/NetFlow v9 data sets that arrived before their template",
                m.template_misses.clone(),
            );
            r.register(
                "receive_errors",
                "Datagrams lost to socket receive errors",
                m.receive_errors.clone(),
            );
            r.register(
                "duplicate_records",
                "Member router records left out because another view counts their packets \
                 (the fabric's sFlow, or the sending member's router)",
                m.duplicates.clone(),
            );
            r.register(
                "route_server_prefixes",
                "Route server prefixes the collector attributes and classifies with",
                m.rs_prefixes.clone(),
            );
            r.register(
                "learned_macs",
                "Member router MACs learned from BGP session samples",
                m.learned_macs.clone(),
            );
            r.register(
                "store_errors",
                "Failed flushes to the flow store",
                m.store_errors.clone(),
            );
        });
        m
    }

    fn duplicate(&self, seen: Seen) {
        self.duplicates
            .get_or_create(&l(&[("counted_by", seen.name())]))
            .inc();
    }

    fn receive_error(&self, e: &std::io::Error) {
        self.receive_errors.inc();
        tracing::warn!("flow socket: {e}");
    }

    fn sync(&mut self, c: &Counters) {
        let last = &self.last;
        let d = |new: u64, old: u64| new.saturating_sub(old);
        let inc = |fam: &Family<Labels, Counter>, labels: &[(&str, &str)], v: u64| {
            if v > 0 {
                fam.get_or_create(&l(labels)).inc_by(v);
            }
        };
        for (counter, v) in self.hot.iter().zip([
            d(c.sflow_datagrams, last.sflow_datagrams),
            d(c.ipfix_messages, last.ipfix_messages),
            d(c.netflow9_packets, last.netflow9_packets),
            d(c.sflow_flow_samples, last.sflow_flow_samples),
            d(c.sflow_counter_samples, last.sflow_counter_samples),
            d(c.sflow_unknown_samples, last.sflow_unknown_samples),
        ]) {
            if v > 0 {
                counter.inc_by(v);
            }
        }
        inc(
            &self.lost,
            &[("protocol", "sflow"), ("unit", "datagrams")],
            d(c.sflow_lost_datagrams, last.sflow_lost_datagrams),
        );
        inc(
            &self.lost,
            &[("protocol", "sflow"), ("unit", "samples")],
            d(c.sflow_lost_samples, last.sflow_lost_samples),
        );
        inc(
            &self.lost,
            &[("protocol", "ipfix"), ("unit", "records")],
            d(c.ipfix_lost_records, last.ipfix_lost_records),
        );
        inc(
            &self.lost,
            &[("protocol", "netflow9"), ("unit", "packets")],
            d(c.netflow9_lost_packets, last.netflow9_lost_packets),
        );
        for k in ErrorKind::ALL {
            inc(
                &self.decode_errors,
                &[("kind", k.name())],
                d(c.decode_errors(k), last.decode_errors(k)),
            );
        }
        self.records.inc_by(d(c.flow_records, last.flow_records));
        self.sequence_resets
            .inc_by(d(c.sequence_resets, last.sequence_resets));
        self.template_misses
            .inc_by(d(c.template_misses, last.template_misses));
        self.last = c.clone();
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("members", &self.names().len())
            .finish()
    }
}

/// The collector settings of a configuration with a `[flows]` section:
/// every member's MACs (all IXPs of the file), the configured store and
/// retention. Route server prefixes are fed in at run time.
pub(crate) fn spec_from_config(cfg: &registry::Config) -> Option<Result<FlowSpec, String>> {
    let f = cfg.flows.as_ref()?;
    let store = match &f.store {
        registry::FlowStore::Sqlite(p) => StoreUrl::Sqlite(p.clone()),
        registry::FlowStore::Clickhouse(u) => match u.parse() {
            Ok(u) => u,
            Err(e) => return Some(Err(format!("[flows] store: {e}"))),
        },
    };
    let mut members = MemberTable::new();
    for m in &cfg.members {
        members.add_member(m.asn, m.name.clone());
        for mac in &m.macs {
            members.add_mac(flow::MacAddr(mac.0), m.asn);
        }
        // BGP session packets from these addresses teach router MACs.
        for a in &m.ipv4 {
            members.add_session_address(IpAddr::V4(*a), m.asn);
        }
        for a in &m.ipv6 {
            members.add_session_address(IpAddr::V6(*a), m.asn);
        }
    }
    for rs in &cfg.route_servers {
        members.add_route_server(IpAddr::V4(rs.router_id));
        for l in &rs.listen {
            if !l.ip().is_unspecified() {
                members.add_route_server(l.ip());
            }
        }
    }
    // Member border routers: exports from them belong to the member, and
    // their interface roles tell transit from the IXP port (tromboning).
    for r in &f.routers {
        members.add_router(r.exporter, r.asn);
        for (ifs, role) in [
            (&r.ixp, flow::InterfaceRole::Ixp),
            (&r.transit, flow::InterfaceRole::Transit),
            (&r.customer, flow::InterfaceRole::Customer),
        ] {
            for &i in ifs {
                members.set_interface_role(r.exporter, i, role);
            }
        }
    }
    // The territory's address space from RIR delegation files, filtered by
    // the configured country codes (default: the IXPs' countries).
    let delegations = if f.delegations.is_empty() {
        None
    } else {
        let mut codes: Vec<String> = f.territory.clone();
        if codes.is_empty() {
            codes = cfg.ixps.iter().map(|i| i.country.clone()).collect();
        }
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let mut d = Delegations::default();
        for path in &f.delegations {
            let loaded = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|t| d.add_file(&t, &codes).map_err(|e| e.to_string()));
            if let Err(e) = loaded {
                return Some(Err(format!("[flows] delegations {}: {e}", path.display())));
            }
        }
        Some(d)
    };
    let minutes = u64::from(f.retention_days) * 86400;
    Some(Ok(FlowSpec {
        sflow: f.sflow,
        ipfix: f.ipfix,
        store,
        members,
        delegations,
        retention: Retention {
            minutes_for: minutes,
            hours_for: minutes + 400 * 86400,
            days_for: minutes + 5 * 366 * 86400,
        },
        flush_every: Duration::from_secs(15),
        prefixes_every: Duration::from_secs(60),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn pauses_only_when_woken_again_soon() {
        let t0 = Instant::now();
        let mut p = Pacing::new(8 << 20, t0);
        assert!(p.busy(t0 + Duration::from_micros(300)));
        assert!(!p.busy(t0 + Duration::from_millis(20)));
        assert!(p.busy(t0 + Duration::from_millis(20) + Duration::from_micros(999)));
        // A clock that does not move forward does not panic.
        assert!(p.busy(t0));
    }

    #[test]
    fn pause_shrinks_near_a_quarter_of_the_buffer_and_grows_back() {
        let buffer = 212_992; // Linux's default net.core.rmem_default
        let mut p = Pacing::new(buffer, Instant::now());
        assert_eq!(p.pause, MAX_COALESCE);
        p.paused(buffer / 4 + 1);
        assert_eq!(p.pause, MAX_COALESCE / 2);
        for _ in 0..20 {
            p.paused(buffer);
        }
        assert_eq!(p.pause, MIN_COALESCE);
        // Between a sixteenth and a quarter: kept.
        p.paused(buffer / 8);
        assert_eq!(p.pause, MIN_COALESCE);
        for _ in 0..20 {
            p.paused(buffer / 32);
        }
        assert_eq!(p.pause, MAX_COALESCE);
    }
}
