//! The RTR client: caches with failover, the shared table, persistence.
//!
//! [`RtrClient`] keeps one RTR session (RFC 8210 version 1, RFC 6810
//! version 0, or version 2 of draft-ietf-sidrops-8210bis with ASPA) open to
//! the first cache of its list that answers. The protocol itself (reset and
//! serial queries, Cache Reset, Serial Notify, version negotiation and
//! downgrade of RFC 8210 §7) is the `rpki` crate's `rtr::Client`; this
//! module adds what a router needs around it:
//!
//! * failover (RFC 8210 §10 "preference"): caches are tried in the order
//!   given; when one fails the next is tried; while a less preferred cache
//!   is in use the preferred one is probed every Retry Interval and taken
//!   back as soon as it answers;
//! * the Refresh Interval from End of Data drives the serial queries (in
//!   the `rpki` crate); the Retry Interval spaces connection attempts when
//!   no cache answers; the Expire Interval bounds how long data is used
//!   without a successful sync (RFC 8210 §6): until then the table is kept
//!   as it is (no mass withdrawal because a cache went away), after it the
//!   table is emptied and every route becomes NotFound;
//! * a shared handle, [`RpkiCache`], whose table is an `Arc<VrpTable>`
//!   swapped on every change, with a `watch` channel carrying a generation
//!   number and the VRP prefixes that changed;
//! * memory: an answer is collected as compact per-family changes (12
//!   bytes an IPv4 VRP), not as PDUs; a serial answer is merged into a
//!   copy of the table that changes (so one extra compact copy exists
//!   while readers still hold the old one) and the changed prefixes come
//!   out of that merge; the client's own copy of the data *is* the
//!   installed table (shared, not a second set);
//! * persistence after every sync (see [`crate::persist`]), loaded at start
//!   when younger than its Expire Interval, so that validation works before
//!   (or without) any cache answering.
//!
//! It does not speak RTR over SSH or TLS, and it does not validate RPKI
//! objects itself.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use bgp_wire::Prefix;
use rpki::rtr::client::{Client, PayloadError, PayloadTarget, PayloadUpdate};
use rpki::rtr::payload::RouteOrigin;
use rpki::rtr::{Action, Payload, State, Timing};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::aspa::AspaTable;
use crate::persist::{self, Persisted};
use crate::vrp::{ApplyError, ChangedPrefixes, Changes, RovState, Vrp, VrpTable};

/// Where the data in the table currently comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    /// No data yet: every route is NotFound.
    Empty,
    /// Loaded from the persisted file; no cache has answered yet.
    Persisted,
    /// Synchronised from this cache ("host:port").
    Cache(String),
    /// The data expired (no sync within the Expire Interval) and was
    /// dropped.
    Expired,
    /// Set directly with [`RpkiCache::replace`].
    Static,
}

/// A snapshot of the client's state, for logs and the API.
#[derive(Clone, Debug)]
pub struct CacheStatus {
    /// The cache the client is connected to, if any.
    pub connected: Option<String>,
    /// Where the current table comes from.
    pub source: DataSource,
    /// The last successful sync (or the time recorded in the persisted
    /// file).
    pub last_sync: Option<SystemTime>,
    /// Intervals from the last End of Data PDU (RFC 8210 §6), or the
    /// defaults (3600, 600, 7200 s) before one was received.
    pub refresh: Duration,
    /// See `refresh`.
    pub retry: Duration,
    /// See `refresh`.
    pub expire: Duration,
    /// Number of successful syncs since start.
    pub syncs: u64,
}

/// A change of the table, sent on the watch channel.
#[derive(Clone, Debug, Default)]
pub struct Generation {
    /// Increases by one on every change of the table.
    pub number: u64,
    /// The VRP prefixes added or removed by this change. Routes covered by
    /// one of them may have changed state. A receiver that skipped a
    /// generation (the channel keeps only the latest) must re-evaluate all
    /// routes.
    pub changed: Arc<ChangedPrefixes>,
    /// The ASPA records changed: ASPA verdicts must be recomputed.
    pub aspa_changed: bool,
}

#[derive(Debug)]
struct Shared {
    table: RwLock<Arc<VrpTable>>,
    status: Mutex<CacheStatus>,
    tx: watch::Sender<Generation>,
    /// ASPA records from a JSON file, replacing those from RTR; also the
    /// lock that serialises building and installing tables.
    aspa_override: Mutex<Option<AspaTable>>,
}

/// The handle the policy reads: cheap to clone, safe to share.
#[derive(Clone, Debug)]
pub struct RpkiCache {
    shared: Arc<Shared>,
}

impl Default for RpkiCache {
    fn default() -> Self {
        RpkiCache::new()
    }
}

impl RpkiCache {
    /// An empty cache (every route NotFound) not connected to anything.
    pub fn new() -> RpkiCache {
        let t = Timing::default();
        RpkiCache {
            shared: Arc::new(Shared {
                table: RwLock::new(Arc::new(VrpTable::empty())),
                status: Mutex::new(CacheStatus {
                    connected: None,
                    source: DataSource::Empty,
                    last_sync: None,
                    refresh: Duration::from_secs(u64::from(t.refresh)),
                    retry: Duration::from_secs(u64::from(t.retry)),
                    expire: Duration::from_secs(u64::from(t.expire)),
                    syncs: 0,
                }),
                tx: watch::Sender::new(Generation::default()),
                aspa_override: Mutex::new(None),
            }),
        }
    }

    /// The current table. Hold the `Arc` for one evaluation pass so that
    /// all routes of the pass see the same data.
    pub fn current(&self) -> Arc<VrpTable> {
        self.shared
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Route origin validation against the current table.
    pub fn rov(&self, prefix: &Prefix, origin: Option<u32>) -> RovState {
        self.current().rov(prefix, origin)
    }

    /// ASPA upstream verification against the current table.
    pub fn aspa_upstream_valid(&self, path: &[u32]) -> Option<bool> {
        self.current().aspa_upstream_valid(path)
    }

    /// A receiver that wakes up on every change of the table.
    pub fn subscribe(&self) -> watch::Receiver<Generation> {
        self.shared.tx.subscribe()
    }

    /// The generation of the current table.
    pub fn generation(&self) -> u64 {
        self.shared.tx.borrow().number
    }

    /// The client's status.
    pub fn status(&self) -> CacheStatus {
        self.lock_status().clone()
    }

    fn lock_status(&self) -> std::sync::MutexGuard<'_, CacheStatus> {
        self.shared.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the table (marks it [`DataSource::Static`]); for the demo
    /// and tests that do not run RTR.
    pub fn replace(&self, table: VrpTable) {
        self.install(table);
        self.lock_status().source = DataSource::Static;
    }

    /// Swaps in `table` and notifies subscribers if anything changed.
    fn install(&self, table: VrpTable) {
        self.install_arc(Arc::new(table), None);
    }

    /// Swaps in `table`; `diff` is the changed prefixes against a table
    /// `base`, used when the table replaced has the same VRPs as `base`
    /// (else the two tables are compared).
    fn install_arc(&self, table: Arc<VrpTable>, diff: Option<(&VrpTable, ChangedPrefixes)>) {
        let old = {
            let mut slot = self.shared.table.write().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *slot, table.clone())
        };
        let changed = match diff {
            Some((base, changed)) if old.same_vrps(base) => changed,
            _ => VrpTable::changed(&old, &table),
        };
        let aspa_changed = old.aspas() != table.aspas();
        if changed.is_empty() && !aspa_changed {
            return;
        }
        self.shared.tx.send_modify(|g| {
            g.number += 1;
            g.changed = Arc::new(changed);
            g.aspa_changed = aspa_changed;
        });
    }

    fn lock_override(&self) -> std::sync::MutexGuard<'_, Option<AspaTable>> {
        self.shared
            .aspa_override
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the ASPA records with `aspas` from now on (whatever RTR
    /// delivers); see [`RtrConfig::aspa_json`].
    pub fn set_aspa_override(&self, aspas: AspaTable) {
        let mut guard = self.lock_override();
        let current = self.current();
        if current.aspas() != &aspas {
            self.install(current.with_aspas(aspas.clone()));
        }
        *guard = Some(aspas);
    }

    /// Drops the data if it is older than the Expire Interval; true if it
    /// did.
    fn expire_if_due(&self, now: SystemTime) -> bool {
        let (last, expire, source) = {
            let s = self.lock_status();
            (s.last_sync, s.expire, s.source.clone())
        };
        let Some(last) = last else { return false };
        if matches!(
            source,
            DataSource::Empty | DataSource::Expired | DataSource::Static
        ) {
            return false;
        }
        let age = now.duration_since(last).unwrap_or_default();
        if age <= expire {
            return false;
        }
        warn!(
            age_s = age.as_secs(),
            expire_s = expire.as_secs(),
            "RPKI data is older than the RTR expire interval and no cache answers: \
             dropping it, all routes are NotFound until a cache answers"
        );
        self.install(VrpTable::empty());
        self.lock_status().source = DataSource::Expired;
        true
    }

    /// When the current data expires, if it can.
    fn expiry_deadline(&self) -> Option<SystemTime> {
        let s = self.lock_status();
        match s.source {
            DataSource::Persisted | DataSource::Cache(_) => s.last_sync.map(|t| t + s.expire),
            _ => None,
        }
    }
}

impl policy::RpkiView for RpkiCache {
    fn rov(&self, prefix: &Prefix, origin: Option<u32>) -> RovState {
        RpkiCache::rov(self, prefix, origin)
    }
    fn aspa_upstream_valid(&self, path: &[u32]) -> Option<bool> {
        RpkiCache::aspa_upstream_valid(self, path)
    }
}

/// How to run the client.
#[derive(Clone, Debug)]
pub struct RtrConfig {
    /// Caches as "host:port", most preferred first.
    pub caches: Vec<String>,
    /// Directory for the persisted data (created if missing).
    pub cache_dir: PathBuf,
    /// Time allowed for the TCP connection to a cache.
    pub connect_timeout: Duration,
    /// Overrides the cache's Retry Interval for reconnecting and probing
    /// the preferred cache (tests, or a faster start).
    pub retry: Option<Duration>,
    /// The RTR version to propose first (2, 1 or 0); the client downgrades
    /// when the cache answers with Unsupported Protocol Version.
    pub initial_version: u8,
    /// An rpki-client JSON file whose `aspas` replace the ASPA records
    /// received over RTR, re-read when its modification time or size
    /// changes (looked at every `aspa_poll`). For
    /// caches that do not serve ASPA in the PDU format of the `rpki` crate
    /// (StayRTR 0.5 sends the older draft-ietf-sidrops-8210bis-10 layout,
    /// which is not understood and ignored).
    pub aspa_json: Option<PathBuf>,
    /// How often `aspa_json`'s modification time and size are looked at
    /// (1 s: a `stat` a second costs nothing, and an operator's edit
    /// takes effect at once).
    pub aspa_poll: Duration,
}

impl RtrConfig {
    /// Caches from "host:port" strings, data persisted in `cache_dir`,
    /// connect timeout 5 s, the caches' own retry interval, version 2.
    pub fn new<S: Into<String>>(
        caches: impl IntoIterator<Item = S>,
        cache_dir: impl Into<PathBuf>,
    ) -> RtrConfig {
        RtrConfig {
            caches: caches.into_iter().map(Into::into).collect(),
            cache_dir: cache_dir.into(),
            connect_timeout: Duration::from_secs(5),
            retry: None,
            initial_version: 2,
            aspa_json: None,
            aspa_poll: Duration::from_secs(1),
        }
    }
}

/// The client's copy of the data, applied to by the `rpki` crate.
#[derive(Debug)]
struct Target {
    cache: RpkiCache,
    /// The VRPs and ASPA records as the cache sent them (the installed
    /// table shares the VRPs; its ASPA records may come from
    /// [`RtrConfig::aspa_json`] instead).
    data: VrpTable,
    persist_path: PathBuf,
    source: String,
    /// A cache sent something inconsistent: the session state must not be
    /// reused.
    poisoned: bool,
    /// When the file was last written: unchanged data is rewritten (to
    /// record the sync time) at most once a minute.
    last_persist: Option<std::time::Instant>,
}

/// How often unchanged data is rewritten to record a newer sync time.
const PERSIST_UNCHANGED_EVERY: Duration = Duration::from_secs(60);

/// One answer as received: VRPs in compact form, ASPA records as they are
/// (few).
#[derive(Debug)]
struct Update {
    reset: bool,
    vrps: Changes,
    /// (announce, customer, providers) in the order received.
    aspas: Vec<(bool, u32, Vec<u32>)>,
    /// Anything at all was received (router keys included).
    any: bool,
}

impl PayloadUpdate for Update {
    fn push_update(&mut self, action: Action, payload: Payload) -> Result<(), PayloadError> {
        self.any = true;
        match payload {
            Payload::Origin(o) => self.vrps.push(&to_vrp(&o)?, !action.is_announce()),
            Payload::Aspa(a) => self.aspas.push((
                action.is_announce(),
                a.customer.into_u32(),
                a.providers.iter().map(|p| p.into_u32()).collect(),
            )),
            // BGPsec router keys are of no use to a route server.
            Payload::RouterKey(_) => {}
        }
        Ok(())
    }
}

fn to_vrp(o: &RouteOrigin) -> Result<Vrp, PayloadError> {
    let (addr, len) = o.prefix.prefix().addr_and_len();
    let prefix = Prefix::new(addr, len).map_err(|_| PayloadError::Corrupt)?;
    Vrp::new(prefix, o.prefix.resolved_max_len(), o.asn.into_u32())
        .map_err(|_| PayloadError::Corrupt)
}

impl Target {
    /// Applies an answer to `data`; returns, when anything was received,
    /// the data before and the prefixes that changed. Nothing changes on
    /// an error.
    fn apply_update(
        &mut self,
        update: Update,
    ) -> Result<Option<(VrpTable, ChangedPrefixes)>, PayloadError> {
        if !update.reset && !update.any {
            return Ok(None);
        }
        let mut aspas = if update.reset {
            AspaTable::default()
        } else {
            self.data.aspas().clone()
        };
        for (announce, customer, providers) in update.aspas {
            if announce {
                aspas.insert(customer, providers);
            } else {
                aspas.remove(customer);
            }
        }
        // Duplicates inside a reset answer are harmless; in a serial
        // answer they are a protocol error (RFC 8210 §5.1, error code 7),
        // and so is an unknown withdrawal (code 6).
        let (new, changed) = self
            .data
            .apply_changes(update.vrps, update.reset, aspas)
            .map_err(|e| match e {
                ApplyError::DuplicateAnnounce => PayloadError::DuplicateAnnounce,
                ApplyError::UnknownWithdraw => PayloadError::UnknownWithdraw,
            })?;
        Ok(Some((std::mem::replace(&mut self.data, new), changed)))
    }
}

impl PayloadTarget for Target {
    type Update = Update;

    fn start(&mut self, reset: bool) -> Update {
        Update {
            reset,
            vrps: Changes::default(),
            aspas: Vec::new(),
            any: false,
        }
    }

    fn apply(&mut self, update: Update, timing: Timing) -> Result<(), PayloadError> {
        let applied = match self.apply_update(update) {
            Ok(c) => c,
            Err(e) => {
                self.poisoned = true;
                return Err(e);
            }
        };
        let changed = applied.is_some();
        let now = SystemTime::now();
        let meta = Persisted {
            written: now,
            expire: Duration::from_secs(u64::from(timing.expire)),
            source: self.source.clone(),
        };
        let due = self
            .last_persist
            .is_none_or(|t| t.elapsed() >= PERSIST_UNCHANGED_EVERY);
        let guard = self.cache.lock_override();
        let table = if changed {
            let aspas = guard.clone().unwrap_or_else(|| self.data.aspas().clone());
            Arc::new(self.data.with_aspas(aspas))
        } else {
            self.cache.current()
        };
        if changed || due {
            match persist::save(&self.persist_path, &table, &meta) {
                Ok(()) => self.last_persist = Some(std::time::Instant::now()),
                Err(e) => warn!(error = %e, "cannot persist the RPKI data"),
            }
        }
        if let Some((before, diff)) = applied {
            info!(
                cache = %self.source,
                vrps = table.len(),
                changed_prefixes = diff.len(),
                aspas = table.aspas().len(),
                vrp_heap_mib = table.heap_bytes() / (1 << 20),
                "RPKI data updated"
            );
            self.cache.install_arc(table, Some((&before, diff)));
        }
        drop(guard);
        let mut s = self.cache.lock_status();
        s.source = DataSource::Cache(self.source.clone());
        s.last_sync = Some(now);
        s.refresh = Duration::from_secs(u64::from(timing.refresh));
        s.retry = Duration::from_secs(u64::from(timing.retry));
        s.expire = meta.expire;
        s.syncs += 1;
        Ok(())
    }
}

/// The RTR client; see the module documentation.
#[derive(Debug)]
pub struct RtrClient {
    config: RtrConfig,
    cache: RpkiCache,
    target: Option<Target>,
    /// The session state and the index of the cache it belongs to.
    last_state: Option<(usize, State)>,
}

impl RtrClient {
    /// Creates the client and loads the persisted data, if any and if
    /// younger than its Expire Interval (logged either way).
    pub fn new(config: RtrConfig) -> RtrClient {
        let cache = RpkiCache::new();
        let persist_path = config.cache_dir.join(persist::FILE_NAME);
        let mut target = Target {
            cache: cache.clone(),
            data: VrpTable::empty(),
            persist_path: persist_path.clone(),
            source: String::new(),
            poisoned: false,
            last_persist: None,
        };
        if persist_path.exists() {
            match persist::load(&persist_path) {
                Ok((table, meta)) if meta.is_expired(SystemTime::now()) => {
                    let age = SystemTime::now()
                        .duration_since(meta.written)
                        .unwrap_or_default();
                    warn!(
                        file = %persist_path.display(),
                        age_s = age.as_secs(),
                        expire_s = meta.expire.as_secs(),
                        vrps = table.len(),
                        "persisted RPKI data is older than its expire interval: not used"
                    );
                }
                Ok((table, meta)) => {
                    info!(
                        file = %persist_path.display(),
                        vrps = table.len(),
                        from = %meta.source,
                        "using persisted RPKI data until a cache answers"
                    );
                    target.data = table.clone();
                    cache.install(table);
                    let mut s = cache.lock_status();
                    s.source = DataSource::Persisted;
                    s.last_sync = Some(meta.written);
                    s.expire = meta.expire;
                }
                Err(e) => warn!(error = %e, "cannot load the persisted RPKI data"),
            }
        }
        RtrClient {
            config,
            cache,
            target: Some(target),
            last_state: None,
        }
    }

    /// The handle to give to the policy.
    pub fn handle(&self) -> RpkiCache {
        self.cache.clone()
    }

    /// Starts the client on the current tokio runtime.
    pub fn spawn(self) -> (RpkiCache, tokio::task::JoinHandle<()>) {
        let cache = self.handle();
        (cache, tokio::spawn(self.run()))
    }

    fn retry(&self) -> Duration {
        self.config
            .retry
            .unwrap_or_else(|| self.cache.status().retry)
    }

    async fn connect(&self, i: usize) -> Option<TcpStream> {
        let addr = self.config.caches.get(i)?;
        match tokio::time::timeout(
            self.config.connect_timeout,
            TcpStream::connect(addr.as_str()),
        )
        .await
        {
            Ok(Ok(s)) => {
                // Not fatal: only latency suffers without it.
                let _ = s.set_nodelay(true);
                Some(s)
            }
            Ok(Err(e)) => {
                warn!(cache = %addr, error = %e, "cannot connect to RTR cache");
                None
            }
            Err(_) => {
                warn!(cache = %addr, "timeout connecting to RTR cache");
                None
            }
        }
    }

    /// Runs forever: connects, synchronises, fails over, expires.
    pub async fn run(mut self) {
        let _poller = self.config.aspa_json.clone().map(|path| {
            AbortOnDrop(tokio::spawn(poll_aspa_json(
                self.cache.clone(),
                path,
                self.config.aspa_poll,
            )))
        });
        if self.config.caches.is_empty() {
            warn!("no RTR cache configured: RPKI data comes only from the persisted file");
        }
        loop {
            let mut i = 0;
            while i < self.config.caches.len() {
                if let Some(sock) = self.connect(i).await {
                    let mut next = Some((i, sock));
                    while let Some((idx, sock)) = next.take() {
                        i = idx;
                        next = self.session(idx, sock).await;
                    }
                }
                self.cache.expire_if_due(SystemTime::now());
                i += 1;
            }
            self.cache.lock_status().connected = None;
            if self.cache.expire_if_due(SystemTime::now()) {
                self.last_state = None;
            }
            let mut wait = self.retry();
            if let Some(deadline) = self.cache.expiry_deadline() {
                let left = deadline
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                wait = wait.min(left + Duration::from_millis(10));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One RTR session with cache `i`. Returns a socket to the preferred
    /// cache when it came back while a less preferred one was in use.
    async fn session(&mut self, i: usize, sock: TcpStream) -> Option<(usize, TcpStream)> {
        let addr = self.config.caches.get(i).cloned().unwrap_or_default();
        info!(cache = %addr, "connected to RTR cache");
        let mut target = self.target.take().unwrap_or_else(|| Target {
            cache: self.cache.clone(),
            data: VrpTable::empty(),
            persist_path: self.config.cache_dir.join(persist::FILE_NAME),
            source: String::new(),
            poisoned: false,
            last_persist: None,
        });
        target.source = addr.clone();
        target.poisoned = false;
        let state = match self.last_state {
            Some((j, st)) if j == i => Some(st),
            _ => None,
        };
        self.cache.lock_status().connected = Some(addr.clone());
        // Reads buffered: a reset answer is millions of 20- to 32-byte
        // PDUs, each otherwise its own read system call. Writes (queries,
        // Error Reports, which the `rpki` crate does not always flush) go
        // straight to the socket.
        let sock = tokio::io::BufReader::with_capacity(1 << 16, sock);
        let mut client =
            Client::with_initial_version(self.config.initial_version, sock, target, state);
        let probe_every = self.retry();
        let preferred = if i > 0 {
            self.config.caches.first().cloned()
        } else {
            None
        };
        let connect_timeout = self.config.connect_timeout;
        let result = tokio::select! {
            r = client.run() => Ok(r),
            s = probe(preferred, probe_every, connect_timeout) => Err(s),
            () = watch_expiry(self.cache.clone()) => Ok(Err(std::io::Error::other("data expired"))),
        };
        let st = client.state();
        let target = client.into_target();
        self.last_state = match st {
            Some(st) if !target.poisoned => Some((i, st)),
            _ => None,
        };
        self.target = Some(target);
        self.cache.lock_status().connected = None;
        match result {
            Ok(Ok(())) => {
                warn!(cache = %addr, "RTR cache closed the connection");
                None
            }
            Ok(Err(e)) => {
                warn!(cache = %addr, error = %e, "RTR session failed");
                if self.cache.expire_if_due(SystemTime::now()) {
                    self.last_state = None;
                }
                None
            }
            Err(sock) => {
                info!(cache = %addr, "preferred RTR cache is back: switching to it");
                Some((0, sock))
            }
        }
    }
}

/// Connects to `addr` every `every` until it answers; never returns when
/// `addr` is `None`.
async fn probe(addr: Option<String>, every: Duration, connect_timeout: Duration) -> TcpStream {
    let Some(addr) = addr else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(every).await;
        if let Ok(Ok(s)) =
            tokio::time::timeout(connect_timeout, TcpStream::connect(addr.as_str())).await
        {
            let _ = s.set_nodelay(true);
            return s;
        }
    }
}

/// Returns once the data is past its Expire Interval.
async fn watch_expiry(cache: RpkiCache) {
    loop {
        let Some(deadline) = cache.expiry_deadline() else {
            // Re-check now and then: the deadline appears with the first sync.
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let now = SystemTime::now();
        match deadline.duration_since(now) {
            Ok(left) => tokio::time::sleep(left + Duration::from_millis(10)).await,
            Err(_) => {
                if cache.expire_if_due(now) {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Aborts a task when dropped, so that it ends with the client.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the ASPA records of an rpki-client JSON file whenever its
/// modification time or size changes, looking every `every`; keeps the
/// last good records on errors. Each version of the file is read once,
/// and each failure logged once (not every second): a file that does not
/// parse is read again when it changes.
async fn poll_aspa_json(cache: RpkiCache, path: PathBuf, every: Duration) {
    let mut seen: Option<(SystemTime, u64)> = None;
    let mut last_error: Option<String> = None;
    loop {
        let version = std::fs::metadata(&path).and_then(|m| Ok((m.modified()?, m.len())));
        let result = match version {
            Ok(v) if Some(v) == seen => Ok(()),
            Ok(v) => {
                seen = Some(v);
                std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|text| AspaTable::from_json(&text).map_err(|e| e.to_string()))
                    .map(|aspas| {
                        info!(file = %path.display(), aspas = aspas.len(), "ASPA records loaded");
                        cache.set_aspa_override(aspas);
                    })
            }
            Err(e) => {
                // Gone or unreadable: read it again as soon as it is back.
                seen = None;
                Err(e.to_string())
            }
        };
        match result {
            Ok(()) => last_error = None,
            Err(e) if last_error.as_ref() != Some(&e) => {
                warn!(file = %path.display(), error = %e, "cannot read ASPA records; the last good ones stay");
                last_error = Some(e);
            }
            Err(_) => {}
        }
        tokio::time::sleep(every).await;
    }
}
