//! `caribix run FILE`: the production daemon. Loads and validates the
//! configuration, starts one route server per `[[route_server]]` with the
//! members of its IXP, serves the JSON API, and stops on Ctrl-C or SIGTERM.
//!
//! RPKI and IRR data come from one RTR client and one IRR updater for the
//! whole process (`crate::policy_sources`), started when `[policy.rpki]
//! rtr` / `[policy.irr] rpsl_files` or `whois` are set; every route
//! server's policy reads them, and a change of the data makes every route
//! server judge its routes again without resetting sessions.
//!
//! SIGHUP reloads the file: added members come up, removed ones go down,
//! members whose session settings changed are reset, the others keep their
//! sessions, RTR/IRR sources whose settings changed are restarted, and
//! every route is judged again under the new policy.
//!
//! Known limitations: listen addresses and new route servers need a
//! restart.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::daemon::{self, MaxPrefixAction, PeerSpec, RsSpec};
use crate::policy_sources::PolicySources;

pub(crate) async fn run(file: &Path) -> ExitCode {
    let cfg = match registry::Config::load(file) {
        Ok(c) => c,
        Err(d) => {
            eprintln!("{d}");
            return ExitCode::FAILURE;
        }
    };
    let base_dir = file.parent().unwrap_or(Path::new("."));
    let mut sources = PolicySources::new(base_dir);
    sources.configure(&cfg);
    let mut handles = Vec::new();
    for rs in &cfg.route_servers {
        let spec = spec_for(&cfg, rs, &sources);
        match daemon::start(spec).await {
            Ok(h) => {
                tracing::info!(rs = %rs.name, listen = ?h.listening, "route server started");
                handles.push((rs.name.clone(), h));
            }
            Err(e) => {
                eprintln!(
                    "error: route server {}: cannot listen on {:?}: {e}",
                    rs.name, rs.listen
                );
                return ExitCode::FAILURE;
            }
        }
    }
    sources.set_cores(handles.iter().map(|(_, h)| h.clone()));
    let mut flows = None;
    if let Some(spec) = crate::flows::spec_from_config(&cfg) {
        let rs = handles.first().map(|(_, h)| h.clone());
        match async { crate::flows::start(spec?, rs).await }.await {
            Ok(f) => {
                tracing::info!(sflow = ?f.sflow, ipfix = ?f.ipfix, "flow collection started");
                flows = Some(f);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let (Some(web), Some((_, h))) = (&cfg.web, handles.first()) {
        match crate::api::serve(web.listen, h.clone(), sources.status()).await {
            Ok(a) => tracing::info!("JSON API on http://{a}/api/v1/"),
            Err(e) => {
                eprintln!("error: [web] listen {}: {e}", web.listen);
                return ExitCode::FAILURE;
            }
        }
    }
    serve_until_shutdown(file, &handles, &mut sources).await;
    tracing::info!("shutting down");
    if let Some(f) = flows {
        // What was counted since the last periodic flush goes to the
        // store first.
        match tokio::time::timeout(SHUTDOWN_FLUSH, f.flush()).await {
            Ok(true) => tracing::info!("flow aggregates stored"),
            Ok(false) => tracing::error!("flow collector gone: recent flow aggregates not stored"),
            Err(_) => tracing::error!(
                "flow store did not finish within {} s: recent flow aggregates not stored",
                SHUTDOWN_FLUSH.as_secs()
            ),
        }
    }
    ExitCode::SUCCESS
}

/// What route server `rs` runs with: the members of its IXP that use the
/// route server, one session per address, and the IXP policy reading the
/// RPKI and IRR data of `sources`.
fn spec_for(cfg: &registry::Config, rs: &registry::RouteServer, sources: &PolicySources) -> RsSpec {
    let mut policy = policy::IxpPolicy::from_config(cfg, rs);
    sources.apply(&mut policy);
    let peers: Vec<PeerSpec> = cfg
        .members_of(&rs.ixp)
        .filter(|m| m.route_server)
        .flat_map(|m| {
            m.addresses().map(move |addr| PeerSpec {
                asn: m.asn,
                addr,
                name: m.name.clone(),
                active: !m.passive,
                md5: m.md5_password.clone(),
                gtsm: m.gtsm,
                add_path: m.add_path,
            })
        })
        .collect();
    RsSpec {
        name: rs.name.clone(),
        asn: rs.asn,
        router_id: rs.router_id,
        listen: rs.listen.clone(),
        hold_time: rs.hold_time,
        restart_delay: Duration::from_secs(5),
        peers,
        policy,
        connect_retry: Duration::from_secs(u64::from(rs.connect_retry)),
        graceful_restart: routeserver::RestartLimits {
            enabled: rs.graceful_restart,
            max_restart_time: u32::from(rs.graceful_restart_time),
            ..routeserver::RestartLimits::default()
        },
        max_prefix: match rs.max_prefix_restart {
            0 => MaxPrefixAction::Shutdown,
            m => MaxPrefixAction::Restart(Duration::from_secs(u64::from(m) * 60)),
        },
    }
}

/// Reload the configuration: a file that does not validate is reported
/// and the running configuration stays.
fn reload(file: &Path, handles: &[(String, daemon::Handle)], sources: &mut PolicySources) {
    let cfg = match registry::Config::load(file) {
        Ok(c) => c,
        Err(d) => {
            eprintln!("{d}");
            tracing::error!(
                "SIGHUP: {} does not validate; keeping the running configuration",
                file.display()
            );
            return;
        }
    };
    sources.configure(&cfg);
    crate::flows::reload(&cfg);
    for rs in &cfg.route_servers {
        match handles.iter().find(|(name, _)| *name == rs.name) {
            Some((_, h)) => {
                if !h.reload(spec_for(&cfg, rs, sources)) {
                    tracing::error!(rs = %rs.name, "route server is not running");
                }
            }
            None => tracing::warn!(rs = %rs.name, "new route server: restart caribix to start it"),
        }
    }
    for (name, _) in handles {
        if !cfg.route_servers.iter().any(|r| r.name == *name) {
            tracing::warn!(rs = %name, "route server removed from the configuration: restart caribix to stop it");
        }
    }
}

/// How long a stopping daemon waits for the flow store.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(20);

async fn serve_until_shutdown(
    file: &Path,
    handles: &[(String, daemon::Handle)],
    sources: &mut PolicySources,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        wait_for_shutdown().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading {}", file.display());
                reload(file, handles, sources);
            }
        }
    }
}

async fn wait_for_shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
