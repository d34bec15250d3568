//! The data sources behind the RPKI and IRR checks of `caribix run`: one
//! RTR client (`rov::RtrClient`, with failover and its on-disk copy) and
//! one IRR updater (`irr::IrrUpdater`, RPSL files or an IRRd whois server,
//! with its disk cache) per process, shared by every route server of the
//! configuration.
//!
//! [`PolicySources::configure`] starts them from `[policy.rpki]` and
//! `[policy.irr]` (on SIGHUP it restarts one whose settings changed and
//! asks an unchanged IRR updater to refresh now);
//! [`PolicySources::apply`] hands their views to a route server's policy;
//! a watcher per source asks every route server core to judge again the
//! routes a change can affect (`daemon::Handle::revalidate_affected`):
//! those under a VRP prefix that changed, or those of a member whose IRR
//! data changed (everything after a missed notification or an ASPA
//! change), so routes are withdrawn or re-announced without any session
//! reset (SPEC §3, RFC 6811 §5 "re-evaluate when the data changes"). [`PolicySources::status`] is what `/api/v1/policy` shows:
//! whether the RTR cache is connected, serving persisted VRPs or expired,
//! and the age of each member's IRR data.
//!
//! A check without a data source stays off (no view is set), as SPEC §3
//! asks. Not here: the checks themselves (crate `policy`), the protocols
//! (crates `rov`, `irr`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use policy::IxpPolicy;
use routeserver::Affected;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::daemon::Handle;

/// Route server cores to tell when data changes; filled once they run.
type Cores = Arc<Mutex<Vec<Handle>>>;

/// The current [`SourcesStatus`], shared with the API and replaced when a
/// source is restarted.
pub(crate) type StatusCell = Arc<std::sync::RwLock<SourcesStatus>>;

/// What a running RTR client was started with.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RpkiKey {
    caches: Vec<String>,
    cache_dir: PathBuf,
    aspa_json: Option<PathBuf>,
}

struct RpkiRun {
    key: RpkiKey,
    cache: rov::RpkiCache,
    tasks: [JoinHandle<()>; 2],
}

/// What a running IRR updater was started with.
#[derive(Clone, Debug, PartialEq, Eq)]
struct IrrKey {
    files: Vec<PathBuf>,
    whois: Option<String>,
    sources: Vec<String>,
    refresh: Duration,
    cache_dir: PathBuf,
    members: Vec<irr::MemberSpec>,
}

struct IrrRun {
    key: IrrKey,
    cache: irr::IrrCache,
    tasks: [JoinHandle<()>; 2],
}

/// The RPKI and IRR data of the process; see the module documentation.
pub(crate) struct PolicySources {
    base_dir: PathBuf,
    cores: Cores,
    rpki: Option<RpkiRun>,
    irr: Option<IrrRun>,
    status: StatusCell,
}

impl Drop for PolicySources {
    fn drop(&mut self) {
        for t in self.rpki.iter().flat_map(|r| &r.tasks) {
            t.abort();
        }
        for t in self.irr.iter().flat_map(|r| &r.tasks) {
            t.abort();
        }
    }
}

/// A cheap handle that renders the sources' status for the API.
#[derive(Clone, Default)]
pub(crate) struct SourcesStatus {
    rpki: Option<(rov::RpkiCache, Vec<String>)>,
    irr: Option<(irr::IrrCache, IrrKey)>,
}

impl PolicySources {
    /// No sources yet; paths in the configuration are relative to
    /// `base_dir` (the configuration file's directory).
    pub(crate) fn new(base_dir: &Path) -> PolicySources {
        PolicySources {
            base_dir: base_dir.to_path_buf(),
            cores: Arc::new(Mutex::new(Vec::new())),
            rpki: None,
            irr: None,
            status: StatusCell::default(),
        }
    }

    /// Start, keep, restart or stop the RTR client and the IRR updater so
    /// that they match `cfg`. Must run inside the tokio runtime.
    pub(crate) fn configure(&mut self, cfg: &registry::Config) {
        let rpki_key = cfg.policy.rpki_enabled().then(|| RpkiKey {
            caches: cfg.policy.rpki.rtr.clone(),
            cache_dir: self.base_dir.join(&cfg.policy.rpki.cache_dir),
            aspa_json: cfg
                .policy
                .rpki
                .aspa_json
                .as_ref()
                .map(|f| self.base_dir.join(f)),
        });
        if self.rpki.as_ref().map(|r| &r.key) != rpki_key.as_ref() {
            if let Some(old) = self.rpki.take() {
                old.tasks.iter().for_each(JoinHandle::abort);
                if let Some(key) = &rpki_key {
                    carry_over(&old, key);
                }
            }
            self.rpki = rpki_key.map(|key| self.start_rpki(key));
        }
        let irr_key = cfg.policy.irr_enabled().then(|| self.irr_key(cfg));
        if let Some(run) = self
            .irr
            .as_ref()
            .filter(|r| Some(&r.key) == irr_key.as_ref())
        {
            // Same source and members (a SIGHUP): fetch again now, so an
            // operator can pick up an IRR change without waiting.
            run.cache.refresh_now();
        } else {
            if let Some(old) = self.irr.take() {
                old.tasks.iter().for_each(JoinHandle::abort);
            }
            self.irr = irr_key.map(|key| self.start_irr(key));
        }
        let now = self.status_now();
        if let Ok(mut s) = self.status.write() {
            *s = now;
        }
    }

    fn irr_key(&self, cfg: &registry::Config) -> IrrKey {
        let p = &cfg.policy.irr;
        let mut members: Vec<irr::MemberSpec> = Vec::new();
        for m in &cfg.members {
            if !m.route_server || m.policy.check_irr == Some(false) {
                continue;
            }
            // One AS at two IXPs is one IRR member (the first entry's
            // AS-SET counts).
            if members.iter().any(|x| x.asn == m.asn) {
                continue;
            }
            members.push(irr::MemberSpec {
                asn: m.asn,
                as_set: m.irr_as_set().map(str::to_owned),
            });
        }
        IrrKey {
            files: p.rpsl_files.iter().map(|f| self.base_dir.join(f)).collect(),
            whois: p.whois.clone(),
            sources: p.sources.clone(),
            refresh: Duration::from_secs(p.refresh_secs),
            cache_dir: self.base_dir.join(&p.cache_dir),
            members,
        }
    }

    fn start_rpki(&self, key: RpkiKey) -> RpkiRun {
        let mut config = rov::RtrConfig::new(key.caches.iter().cloned(), key.cache_dir.clone());
        config.aspa_json = key.aspa_json.clone();
        let (cache, client) = rov::RtrClient::new(config).spawn();
        tracing::info!(caches = ?key.caches, vrps = cache.current().len(), "RPKI: RTR client started");
        let mut rx = cache.subscribe();
        let mut seen = rx.borrow_and_update().number;
        let cores = self.cores.clone();
        let watcher = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let g = rx.borrow_and_update().clone();
                let affected = rpki_affected(seen, &g);
                seen = g.number;
                tracing::info!(
                    generation = g.number,
                    changed_prefixes = g.changed.len(),
                    aspa_changed = g.aspa_changed,
                    all_routes = affected.is_all(),
                    "RPKI: VRP set changed"
                );
                revalidate_all(&cores, affected);
            }
        });
        RpkiRun {
            key,
            cache,
            tasks: [client, watcher],
        }
    }

    fn start_irr(&self, key: IrrKey) -> IrrRun {
        let source = match &key.whois {
            Some(addr) => irr::IrrSource::Whois {
                addr: addr.clone(),
                timeout: Duration::from_secs(30),
                sources: key.sources.clone(),
            },
            None => irr::IrrSource::Dumps(key.files.clone()),
        };
        let mut config = irr::IrrConfig::new(source, key.members.clone(), key.cache_dir.clone());
        config.refresh = key.refresh;
        let (cache, updater) = irr::IrrUpdater::new(config).spawn();
        tracing::info!(members = key.members.len(), whois = ?key.whois, files = ?key.files, "IRR: updater started");
        let mut rx = cache.subscribe();
        let mut seen = rx.borrow_and_update().number;
        let cores = self.cores.clone();
        let watcher = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let g = rx.borrow_and_update().clone();
                let affected = irr_affected(seen, &g);
                seen = g.number;
                tracing::info!(generation = g.number, members = ?g.changed, all_routes = affected.is_all(), "IRR: data changed");
                revalidate_all(&cores, affected);
            }
        });
        IrrRun {
            key,
            cache,
            tasks: [updater, watcher],
        }
    }

    /// Give `policy` the current views (none for a source not
    /// configured, which keeps its checks off).
    pub(crate) fn apply(&self, policy: &mut IxpPolicy) {
        policy.set_rpki(
            self.rpki
                .as_ref()
                .map(|r| Arc::new(r.cache.clone()) as Arc<dyn policy::RpkiView>),
        );
        policy.set_irr(
            self.irr
                .as_ref()
                .map(|r| Arc::new(r.cache.clone()) as Arc<dyn policy::IrrView>),
        );
    }

    /// The route server cores to tell about changes from now on.
    pub(crate) fn set_cores(&self, handles: impl IntoIterator<Item = Handle>) {
        if let Ok(mut c) = self.cores.lock() {
            *c = handles.into_iter().collect();
        }
    }

    /// The status cell for the API; it follows reconfigurations.
    pub(crate) fn status(&self) -> StatusCell {
        self.status.clone()
    }

    fn status_now(&self) -> SourcesStatus {
        SourcesStatus {
            rpki: self
                .rpki
                .as_ref()
                .map(|r| (r.cache.clone(), r.key.caches.clone())),
            irr: self.irr.as_ref().map(|r| (r.cache.clone(), r.key.clone())),
        }
    }
}

/// The RTR settings changed (SIGHUP): when the new cache directory has no
/// data yet, write the old client's table there, so that the new client
/// starts from it (as persisted data, until a cache answers or it
/// expires) instead of from nothing: invalid routes must not slip through
/// while the new cache is being reached.
fn carry_over(old: &RpkiRun, new: &RpkiKey) {
    let path = new.cache_dir.join(rov::persist::FILE_NAME);
    if new.cache_dir == old.key.cache_dir || path.exists() {
        return;
    }
    let s = old.cache.status();
    let Some(written) = s.last_sync else { return };
    if matches!(s.source, rov::DataSource::Empty | rov::DataSource::Expired) {
        return;
    }
    let meta = rov::persist::Persisted {
        written,
        expire: s.expire,
        source: match &s.source {
            rov::DataSource::Cache(c) => format!("{c} (before the reload)"),
            other => format!("{other:?} (before the reload)"),
        },
    };
    let r = std::fs::create_dir_all(&new.cache_dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            rov::persist::save(&path, &old.cache.current(), &meta).map_err(|e| e.to_string())
        });
    match r {
        Ok(()) => {
            tracing::info!(dir = %new.cache_dir.display(), "RPKI: the current VRPs carried over to the new cache directory")
        }
        Err(e) => {
            tracing::warn!(dir = %new.cache_dir.display(), error = %e, "RPKI: cannot carry the current VRPs over")
        }
    }
}

/// The routes RPKI generation `g` can affect, the previous one seen being
/// `seen`: only routes under a changed VRP prefix can change state (RFC
/// 6811 §2). The channel keeps only the latest generation: after a
/// skipped one, or when ASPA records changed (a path property), every
/// route.
pub(crate) fn rpki_affected(seen: u64, g: &rov::Generation) -> Affected {
    if g.number != seen.wrapping_add(1) || g.aspa_changed {
        Affected::all()
    } else {
        Affected::covered_by(g.changed.iter())
    }
}

/// The routes IRR generation `g` can affect: those of the members whose
/// data changed; after a skipped generation, every member's.
fn irr_affected(seen: u64, g: &irr::IrrGeneration) -> Affected {
    if g.number != seen.wrapping_add(1) {
        Affected::all()
    } else {
        Affected::members(g.changed.iter().copied())
    }
}

/// Ask every route server core to judge the `affected` routes again.
fn revalidate_all(cores: &Cores, affected: Affected) {
    let handles: Vec<Handle> = cores.lock().map(|c| c.clone()).unwrap_or_default();
    let affected = Arc::new(affected);
    for h in handles {
        if !h.revalidate_affected(affected.clone()) {
            tracing::warn!("a route server core is gone; not revalidated");
        }
    }
}

fn age_s(t: Option<SystemTime>) -> Option<u64> {
    t.map(|t| {
        SystemTime::now()
            .duration_since(t)
            .unwrap_or_default()
            .as_secs()
    })
}

impl SourcesStatus {
    /// A status for an RTR cache at the given addresses and IRR data
    /// installed directly for `members` (the demo).
    pub(crate) fn fixed(
        rpki: Option<(rov::RpkiCache, Vec<String>)>,
        irr: Option<irr::IrrCache>,
        members: Vec<irr::MemberSpec>,
    ) -> SourcesStatus {
        SourcesStatus {
            rpki,
            irr: irr.map(|c| {
                (
                    c,
                    IrrKey {
                        files: Vec::new(),
                        whois: None,
                        sources: Vec::new(),
                        refresh: Duration::ZERO,
                        cache_dir: PathBuf::new(),
                        members,
                    },
                )
            }),
        }
    }

    /// The JSON of `/api/v1/policy`'s `data_sources`.
    pub(crate) fn json(&self) -> Value {
        let rpki = match &self.rpki {
            None => json!({ "configured": false, "state": "off (no rtr cache configured)" }),
            Some((cache, caches)) => {
                let s = cache.status();
                let (source, state) = match &s.source {
                    rov::DataSource::Empty => ("empty", "no data yet: every route is NotFound"),
                    rov::DataSource::Persisted => (
                        "persisted",
                        "serving persisted VRPs: no cache has answered since start",
                    ),
                    rov::DataSource::Cache(_) if s.connected.is_some() => {
                        ("cache", "cache connected")
                    }
                    rov::DataSource::Cache(_) => (
                        "cache",
                        "cache unreachable: serving the last synchronised VRPs until they expire",
                    ),
                    rov::DataSource::Expired => (
                        "expired",
                        "expired: no cache answered within the expire interval, every route is NotFound",
                    ),
                    rov::DataSource::Static => ("static", "VRPs installed by caribix itself"),
                };
                json!({
                    "configured": true,
                    "caches": caches,
                    "connected": s.connected,
                    "source": source,
                    "state": state,
                    "vrps": cache.current().len(),
                    "aspas": cache.current().aspas().records().len(),
                    "last_sync_age_s": age_s(s.last_sync),
                    "expire_s": s.expire.as_secs(),
                    "syncs": s.syncs,
                })
            }
        };
        let irr = match &self.irr {
            None => {
                json!({ "configured": false, "state": "off (no rpsl_files or whois configured)" })
            }
            Some((cache, key)) => {
                let snap = cache.current();
                let now = SystemTime::now();
                let errors = cache.last_errors();
                let error_of = |asn: u32| {
                    errors
                        .iter()
                        .find(|(a, _)| *a == asn)
                        .map(|(_, e)| e.clone())
                };
                let members: Vec<Value> = key
                    .members
                    .iter()
                    .map(|m| match snap.member(m.asn) {
                        Some(d) => json!({
                            "asn": m.asn,
                            "as_set": m.as_set,
                            "has_data": true,
                            "age_s": d.age(now).as_secs(),
                            "origins": d.origins.len(),
                            "prefixes": d.prefixes.len(),
                            "notes": d.notes,
                            "last_error": error_of(m.asn),
                        }),
                        None => json!({
                            "asn": m.asn,
                            "as_set": m.as_set,
                            "has_data": false,
                            "last_error": error_of(m.asn),
                        }),
                    })
                    .collect();
                let source = match (&key.whois, key.files.is_empty()) {
                    (Some(w), _) => format!("whois {w}"),
                    (None, false) => "rpsl files".to_string(),
                    (None, true) => "installed by caribix itself".to_string(),
                };
                json!({
                    "configured": true,
                    "source": source,
                    "sources": key.sources,
                    "refresh_s": key.refresh.as_secs(),
                    "last_refresh_age_s": age_s(cache.last_refresh()),
                    "members_with_data": snap.len(),
                    "members": members,
                })
            }
        };
        json!({ "rpki": rpki, "irr": irr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> bgp_wire::Prefix {
        s.parse().expect("a test prefix")
    }

    #[test]
    fn rpki_generation_to_affected_routes() {
        let g = |number, aspa_changed| rov::Generation {
            number,
            changed: Arc::new([p("192.0.2.0/24")].into_iter().collect()),
            aspa_changed,
        };
        assert_eq!(
            rpki_affected(4, &g(5, false)),
            Affected::covered_by([p("192.0.2.0/24")])
        );
        // A skipped generation, an ASPA change: everything.
        assert!(rpki_affected(3, &g(5, false)).is_all());
        assert!(rpki_affected(4, &g(5, true)).is_all());
    }

    #[test]
    fn irr_generation_to_affected_routes() {
        let g = |number| irr::IrrGeneration {
            number,
            changed: Arc::new(vec![64496, 64497]),
        };
        assert_eq!(irr_affected(0, &g(1)), Affected::members([64497, 64496]));
        assert!(irr_affected(0, &g(2)).is_all());
    }
}
