//! Per-member IRR data, its snapshot for the policy, the disk cache and
//! the refresh task.
//!
//! For each member the IXP knows its AS and, optionally, its AS-SET. The
//! member's *allowed origins* are the expansion of its AS-SET, or its own
//! AS when it has none; its *allowed prefixes* are the prefixes of the
//! route/route6 objects of those origins, with more specifics accepted up
//! to a per-family limit ([`PrefixSet`]). This is what the origin check
//! (issue 4, code 9) and the prefix check (code 12) of the policy read.
//!
//! [`IrrUpdater`] fetches the data from local RPSL dumps or an IRRd whois
//! server on a schedule and on demand, in its own task: it builds a new
//! [`IrrSnapshot`] and swaps it into the shared [`IrrCache`], so the route
//! server never waits for IRR. A member whose data cannot be fetched keeps
//! its last good data (from memory or from the disk cache, with its age).
//! Each member's data is written to `<cache_dir>/irr-AS<asn>.json`
//! (atomically replaced) after each successful fetch and loaded at start.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bgp_wire::Prefix;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};
use tracing::{info, warn};

use crate::expand::{ExpandError, DEFAULT_MAX_DEPTH};
use crate::prefixset::{PrefixSet, PrefixSetBuilder};
use crate::rpsl::IrrDb;
use crate::whois::{WhoisClient, WhoisError};

/// What the IXP configuration says about a member.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemberSpec {
    /// The member's AS.
    pub asn: u32,
    /// Its AS-SET, if it registered one.
    pub as_set: Option<String>,
}

/// The IRR data of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberIrr {
    /// The member's AS.
    pub asn: u32,
    /// The AS-SET the data was built from (None: the member's own AS).
    pub as_set: Option<String>,
    /// Origin ASes the member may announce.
    pub origins: BTreeSet<u32>,
    /// Prefixes it may announce (and their more specifics).
    pub prefixes: PrefixSet,
    /// When the data was fetched.
    pub fetched_at: SystemTime,
    /// Things worth telling the operator (missing nested sets, loops).
    pub notes: Vec<String>,
}

impl MemberIrr {
    /// The age of the data at `now`.
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.fetched_at).unwrap_or_default()
    }
}

/// The data of all members, immutable; the policy holds an `Arc` of it.
#[derive(Clone, Debug, Default)]
pub struct IrrSnapshot {
    members: HashMap<u32, Arc<MemberIrr>>,
}

impl IrrSnapshot {
    /// A snapshot of the given members' data.
    pub fn new(members: impl IntoIterator<Item = MemberIrr>) -> IrrSnapshot {
        IrrSnapshot {
            members: members.into_iter().map(|m| (m.asn, Arc::new(m))).collect(),
        }
    }

    /// The data of `member_asn`, if any was ever fetched.
    pub fn member(&self, member_asn: u32) -> Option<&MemberIrr> {
        self.members.get(&member_asn).map(Arc::as_ref)
    }

    /// Origin check: may `member_asn` announce routes originated by
    /// `origin`? `None` when there is no IRR data for the member.
    pub fn origin_allowed(&self, member_asn: u32, origin: u32) -> Option<bool> {
        self.member(member_asn).map(|m| m.origins.contains(&origin))
    }

    /// Prefix check: is `prefix` (or a less specific within the length
    /// limit) registered for one of the member's origins? `None` when there
    /// is no IRR data for the member.
    pub fn prefix_allowed(&self, member_asn: u32, prefix: &Prefix) -> Option<bool> {
        self.member(member_asn).map(|m| m.prefixes.covers(prefix))
    }

    /// Number of members with data.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when no member has data.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl policy::IrrView for IrrSnapshot {
    fn origin_allowed(&self, member_asn: u32, origin: u32) -> Option<bool> {
        IrrSnapshot::origin_allowed(self, member_asn, origin)
    }
    fn prefix_allowed(&self, member_asn: u32, prefix: &Prefix) -> Option<bool> {
        IrrSnapshot::prefix_allowed(self, member_asn, prefix)
    }
}

impl policy::IrrView for IrrCache {
    fn origin_allowed(&self, member_asn: u32, origin: u32) -> Option<bool> {
        IrrCache::origin_allowed(self, member_asn, origin)
    }
    fn prefix_allowed(&self, member_asn: u32, prefix: &Prefix) -> Option<bool> {
        IrrCache::prefix_allowed(self, member_asn, prefix)
    }
}

/// Where IRR data comes from.
#[derive(Clone, Debug)]
pub enum IrrSource {
    /// RPSL dump files, re-read on every refresh.
    Dumps(Vec<PathBuf>),
    /// An IRRd-compatible whois server ("host:port").
    Whois {
        /// "host:port".
        addr: String,
        /// Per-operation timeout.
        timeout: Duration,
        /// IRR sources to search, in order (`!s`); empty: the server's
        /// default.
        sources: Vec<String>,
    },
}

/// How the updater runs.
#[derive(Clone, Debug)]
pub struct IrrConfig {
    /// The data source.
    pub source: IrrSource,
    /// The members.
    pub members: Vec<MemberSpec>,
    /// Directory for the per-member disk cache (created if missing).
    pub cache_dir: PathBuf,
    /// Time between scheduled refreshes.
    pub refresh: Duration,
    /// As-set nesting limit for dumps ([`DEFAULT_MAX_DEPTH`]).
    pub max_depth: usize,
    /// More specifics accepted up to these lengths (32 and 128).
    pub max_len_v4: u8,
    /// See `max_len_v4`.
    pub max_len_v6: u8,
}

impl IrrConfig {
    /// Defaults: refresh every 6 hours, depth 20, more specifics to /32
    /// and /128.
    pub fn new(
        source: IrrSource,
        members: Vec<MemberSpec>,
        cache_dir: impl Into<PathBuf>,
    ) -> IrrConfig {
        IrrConfig {
            source,
            members,
            cache_dir: cache_dir.into(),
            refresh: Duration::from_secs(6 * 3600),
            max_depth: DEFAULT_MAX_DEPTH,
            max_len_v4: 32,
            max_len_v6: 128,
        }
    }
}

/// Fetching one member's data failed.
#[derive(Debug)]
pub enum FetchError {
    /// A dump file could not be read or parsed (the error, as text: it is
    /// shared by all members).
    Dump(String),
    /// The AS-SET could not be expanded.
    Expand(ExpandError),
    /// The whois server failed.
    Whois(WhoisError),
    /// The whois server does not know the AS-SET.
    UnknownSet(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Dump(e) => f.write_str(e),
            FetchError::Expand(e) => e.fmt(f),
            FetchError::Whois(e) => e.fmt(f),
            FetchError::UnknownSet(s) => write!(f, "as-set {s} is not known to the whois server"),
        }
    }
}

impl std::error::Error for FetchError {}

/// The on-disk form of [`MemberIrr`], written: the prefixes go to the
/// file one by one from the set, without a list of strings beside it.
#[derive(Serialize)]
struct DiskMemberOut<'a> {
    asn: u32,
    as_set: &'a Option<String>,
    origins: &'a BTreeSet<u32>,
    prefixes: PrefixesOut<'a>,
    fetched_at_unix: u64,
    notes: &'a [String],
}

struct PrefixesOut<'a>(&'a PrefixSet);

impl Serialize for PrefixesOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(PrefixText))
    }
}

/// A prefix as its text ("192.0.2.0/24") in the disk cache.
struct PrefixText(Prefix);

impl Serialize for PrefixText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PrefixText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PrefixText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a prefix such as \"192.0.2.0/24\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PrefixText, E> {
                v.parse()
                    .map(PrefixText)
                    .map_err(|e| E::custom(format_args!("{v:?}: {e}")))
            }
        }
        d.deserialize_str(V)
    }
}

/// The prefixes of the disk cache, read into a builder one by one.
struct PrefixesIn(PrefixSetBuilder);

impl<'de> Deserialize<'de> for PrefixesIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PrefixesIn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of prefixes")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PrefixesIn, A::Error> {
                let mut b = PrefixSetBuilder::new();
                while let Some(PrefixText(p)) = seq.next_element()? {
                    b.push(p);
                }
                Ok(PrefixesIn(b))
            }
        }
        d.deserialize_seq(V)
    }
}

/// The on-disk form of [`MemberIrr`], read.
#[derive(Deserialize)]
struct DiskMemberIn {
    asn: u32,
    as_set: Option<String>,
    origins: Vec<u32>,
    prefixes: PrefixesIn,
    fetched_at_unix: u64,
    notes: Vec<String>,
}

/// A refresh finished: the generation and the members whose data changed.
#[derive(Clone, Debug, Default)]
pub struct IrrGeneration {
    /// Increases with every snapshot that changed something.
    pub number: u64,
    /// Members whose allowed origins or prefixes changed.
    pub changed: Arc<Vec<u32>>,
}

/// Members whose last fetch failed (AS, reason), and when the refresh
/// finished.
type RefreshErrors = (Vec<(u32, String)>, Option<SystemTime>);

#[derive(Debug)]
struct Shared {
    snapshot: RwLock<Arc<IrrSnapshot>>,
    tx: watch::Sender<IrrGeneration>,
    refresh_now: Notify,
    /// The members whose last fetch failed, with the reason, and when.
    last_errors: RwLock<RefreshErrors>,
}

/// The shared handle: the current snapshot, change notifications, and the
/// on-demand refresh trigger.
#[derive(Clone, Debug)]
pub struct IrrCache {
    shared: Arc<Shared>,
}

impl Default for IrrCache {
    fn default() -> Self {
        IrrCache::new()
    }
}

impl IrrCache {
    /// An empty cache.
    pub fn new() -> IrrCache {
        IrrCache {
            shared: Arc::new(Shared {
                snapshot: RwLock::new(Arc::new(IrrSnapshot::default())),
                tx: watch::Sender::new(IrrGeneration::default()),
                refresh_now: Notify::new(),
                last_errors: RwLock::new((Vec::new(), None)),
            }),
        }
    }

    /// The members whose data could not be fetched by the last refresh
    /// (they keep their last good data), with the reason.
    pub fn last_errors(&self) -> Vec<(u32, String)> {
        self.shared
            .last_errors
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// When the last refresh finished, if one did.
    pub fn last_refresh(&self) -> Option<SystemTime> {
        self.shared
            .last_errors
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<IrrSnapshot> {
        self.shared
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// See [`IrrSnapshot::origin_allowed`].
    pub fn origin_allowed(&self, member_asn: u32, origin: u32) -> Option<bool> {
        self.current().origin_allowed(member_asn, origin)
    }

    /// See [`IrrSnapshot::prefix_allowed`].
    pub fn prefix_allowed(&self, member_asn: u32, prefix: &Prefix) -> Option<bool> {
        self.current().prefix_allowed(member_asn, prefix)
    }

    /// Changes of the snapshot.
    pub fn subscribe(&self) -> watch::Receiver<IrrGeneration> {
        self.shared.tx.subscribe()
    }

    /// Asks the updater to refresh now (returns at once).
    pub fn refresh_now(&self) {
        self.shared.refresh_now.notify_one();
    }

    /// Swaps in `snapshot`; notifies when members changed.
    pub fn install(&self, snapshot: IrrSnapshot) {
        let new = Arc::new(snapshot);
        let old = {
            let mut slot = self
                .shared
                .snapshot
                .write()
                .unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *slot, new.clone())
        };
        let mut changed: Vec<u32> = new
            .members
            .iter()
            .filter(|(asn, m)| {
                old.members
                    .get(*asn)
                    .is_none_or(|o| o.origins != m.origins || o.prefixes != m.prefixes)
            })
            .map(|(asn, _)| *asn)
            .chain(
                old.members
                    .keys()
                    .filter(|a| !new.members.contains_key(*a))
                    .copied(),
            )
            .collect();
        if changed.is_empty() {
            return;
        }
        changed.sort_unstable();
        self.shared.tx.send_modify(|g| {
            g.number += 1;
            g.changed = Arc::new(changed);
        });
    }
}

/// Fetches IRR data on a schedule and on demand; see the module docs.
#[derive(Debug)]
pub struct IrrUpdater {
    config: IrrConfig,
    cache: IrrCache,
}

impl IrrUpdater {
    /// Creates the updater and loads the disk cache into the snapshot, so
    /// that members have (possibly old) data before the first fetch.
    pub fn new(config: IrrConfig) -> IrrUpdater {
        let cache = IrrCache::new();
        let mut members = Vec::new();
        for m in &config.members {
            match load_member(&config, m.asn) {
                Ok(Some(d)) if d.as_set == m.as_set => {
                    info!(
                        member = m.asn,
                        age_s = d.age(SystemTime::now()).as_secs(),
                        "IRR data loaded from the disk cache"
                    );
                    members.push(d);
                }
                Ok(_) => {}
                Err(e) => warn!(member = m.asn, error = %e, "cannot read the IRR disk cache"),
            }
        }
        cache.install(IrrSnapshot::new(members));
        IrrUpdater { config, cache }
    }

    /// The handle for the policy.
    pub fn handle(&self) -> IrrCache {
        self.cache.clone()
    }

    /// Starts the updater on the current tokio runtime.
    pub fn spawn(self) -> (IrrCache, tokio::task::JoinHandle<()>) {
        let c = self.handle();
        (c, tokio::spawn(self.run()))
    }

    /// Refreshes now, then every `refresh` or when asked, forever.
    pub async fn run(self) {
        loop {
            self.refresh_once().await;
            tokio::select! {
                () = tokio::time::sleep(self.config.refresh) => {}
                () = self.cache.shared.refresh_now.notified() => {}
            }
        }
    }

    /// Fetches every member once and installs the new snapshot. Members
    /// whose fetch fails keep their previous data. Returns the members
    /// that failed, with the reason.
    pub async fn refresh_once(&self) -> Vec<(u32, FetchError)> {
        let fetched = match &self.config.source {
            IrrSource::Dumps(files) => {
                let config = self.config.clone();
                let files = files.clone();
                // Parsing dumps is CPU work: keep it off the async workers.
                match tokio::task::spawn_blocking(move || fetch_from_dumps(&config, &files)).await {
                    Ok(r) => r,
                    Err(e) => {
                        warn!(error = %e, "IRR dump task failed");
                        return Vec::new();
                    }
                }
            }
            IrrSource::Whois {
                addr,
                timeout,
                sources,
            } => fetch_from_whois(&self.config, addr, *timeout, sources).await,
        };
        let old = self.cache.current();
        let mut members = Vec::new();
        let mut fresh = Vec::new();
        let mut failures = Vec::new();
        for (spec, result) in fetched {
            match result {
                Ok(d) => {
                    let d = Arc::new(d);
                    fresh.push(d.clone());
                    members.push(d);
                }
                Err(e) => {
                    match old.members.get(&spec.asn) {
                        Some(prev) => {
                            warn!(
                                member = spec.asn,
                                error = %e,
                                age_s = prev.age(SystemTime::now()).as_secs(),
                                "IRR fetch failed; keeping the last good data"
                            );
                            members.push(prev.clone());
                        }
                        None => {
                            warn!(member = spec.asn, error = %e, "IRR fetch failed; no earlier data")
                        }
                    }
                    failures.push((spec.asn, e));
                }
            }
        }
        drop(old);
        // Writing the disk cache is file I/O: keep it off the async workers.
        let config = self.config.clone();
        let saved = tokio::task::spawn_blocking(move || {
            for d in fresh {
                if let Err(e) = save_member(&config, &d) {
                    warn!(member = d.asn, error = %e, "cannot write the IRR disk cache");
                }
            }
        })
        .await;
        if let Err(e) = saved {
            warn!(error = %e, "IRR disk cache task failed");
        }
        self.cache.install(IrrSnapshot {
            members: members.into_iter().map(|m| (m.asn, m)).collect(),
        });
        *self
            .cache
            .shared
            .last_errors
            .write()
            .unwrap_or_else(|e| e.into_inner()) = (
            failures.iter().map(|(a, e)| (*a, e.to_string())).collect(),
            Some(SystemTime::now()),
        );
        failures
    }
}

fn build(
    config: &IrrConfig,
    spec: &MemberSpec,
    origins: BTreeSet<u32>,
    prefixes: PrefixSetBuilder,
    notes: Vec<String>,
) -> MemberIrr {
    MemberIrr {
        asn: spec.asn,
        as_set: spec.as_set.clone(),
        origins,
        prefixes: prefixes.build(config.max_len_v4, config.max_len_v6),
        fetched_at: SystemTime::now(),
        notes,
    }
}

type Fetched = Vec<(MemberSpec, Result<MemberIrr, FetchError>)>;

fn fetch_from_dumps(config: &IrrConfig, files: &[PathBuf]) -> Fetched {
    let mut db = IrrDb::new();
    for f in files {
        if let Err(e) = db.load_file(f) {
            // One broken file makes every member's data suspect: fail them
            // all and keep the last good data.
            let msg = e.to_string();
            return config
                .members
                .iter()
                .map(|m| (m.clone(), Err(FetchError::Dump(msg.clone()))))
                .collect();
        }
    }
    config
        .members
        .iter()
        .map(|m| (m.clone(), member_from_db(config, &db, m)))
        .collect()
}

/// One member's data from a parsed database.
pub fn member_from_db(
    config: &IrrConfig,
    db: &IrrDb,
    m: &MemberSpec,
) -> Result<MemberIrr, FetchError> {
    let mut notes = Vec::new();
    let origins: BTreeSet<u32> = match &m.as_set {
        Some(set) => {
            let e = db
                .expand(set, config.max_depth)
                .map_err(FetchError::Expand)?;
            for s in &e.missing {
                notes.push(format!("nested as-set {s} is not defined"));
            }
            for l in &e.loops {
                notes.push(format!("as-set loop {}", l.join(" → ")));
            }
            e.asns
        }
        None => BTreeSet::from([m.asn]),
    };
    let mut prefixes = PrefixSetBuilder::new();
    for o in &origins {
        prefixes.extend(db.routes_of(*o));
    }
    Ok(build(config, m, origins, prefixes, notes))
}

async fn fetch_from_whois(
    config: &IrrConfig,
    addr: &str,
    timeout: Duration,
    sources: &[String],
) -> Fetched {
    let mut client = WhoisClient::new(addr, timeout).with_sources(sources.to_vec());
    let mut out = Vec::new();
    for m in &config.members {
        let r = member_from_whois(config, &mut client, m).await;
        out.push((m.clone(), r));
    }
    out
}

async fn member_from_whois(
    config: &IrrConfig,
    client: &mut WhoisClient,
    m: &MemberSpec,
) -> Result<MemberIrr, FetchError> {
    let origins: BTreeSet<u32> = match &m.as_set {
        Some(set) => client
            .expand_as_set(set)
            .await
            .map_err(FetchError::Whois)?
            .ok_or_else(|| FetchError::UnknownSet(set.clone()))?
            .into_iter()
            .collect(),
        None => BTreeSet::from([m.asn]),
    };
    let mut prefixes = PrefixSetBuilder::new();
    for o in &origins {
        prefixes.extend(client.prefixes_v4(*o).await.map_err(FetchError::Whois)?);
        prefixes.extend(client.prefixes_v6(*o).await.map_err(FetchError::Whois)?);
    }
    Ok(build(config, m, origins, prefixes, Vec::new()))
}

fn member_path(config: &IrrConfig, asn: u32) -> PathBuf {
    config.cache_dir.join(format!("irr-AS{asn}.json"))
}

fn save_member(config: &IrrConfig, m: &MemberIrr) -> std::io::Result<()> {
    use std::io::Write as _;
    let d = DiskMemberOut {
        asn: m.asn,
        as_set: &m.as_set,
        origins: &m.origins,
        prefixes: PrefixesOut(&m.prefixes),
        fetched_at_unix: m
            .fetched_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
        notes: &m.notes,
    };
    std::fs::create_dir_all(&config.cache_dir)?;
    let path = member_path(config, m.asn);
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        serde_json::to_writer_pretty(&mut out, &d).map_err(std::io::Error::other)?;
        out.flush()
    };
    if let Err(e) = write() {
        // A full disk must not leave half-written files behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &path)
}

fn load_member(config: &IrrConfig, asn: u32) -> Result<Option<MemberIrr>, String> {
    let path = member_path(config, asn);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let d: DiskMemberIn =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    drop(text);
    if d.asn != asn {
        return Err(format!(
            "{}: holds AS{} instead of AS{asn}",
            path.display(),
            d.asn
        ));
    }
    Ok(Some(MemberIrr {
        asn,
        as_set: d.as_set,
        origins: d.origins.into_iter().collect(),
        prefixes: d.prefixes.0.build(config.max_len_v4, config.max_len_v6),
        fetched_at: UNIX_EPOCH + Duration::from_secs(d.fetched_at_unix),
        notes: d.notes,
    }))
}
