//! `caribix run FILE`: the production daemon. Loads and validates the
//! configuration, starts one route server per `[[route_server]]` with the
//! members of its IXP, serves the JSON API, and stops on Ctrl-C or SIGTERM.
//!
//! Known limitations: SIGHUP reload is not implemented yet; the RPKI and
//! IRR checks are off (no data source is wired yet).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::daemon::{self, MaxPrefixAction, PeerSpec, RsSpec};

pub(crate) async fn run(file: &Path) -> ExitCode {
    let cfg = match registry::Config::load(file) {
        Ok(c) => c,
        Err(d) => {
            eprintln!("{d}");
            return ExitCode::FAILURE;
        }
    };
    let mut handles = Vec::new();
    for rs in &cfg.route_servers {
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
                })
            })
            .collect();
        let spec = RsSpec {
            name: rs.name.clone(),
            asn: rs.asn,
            router_id: rs.router_id,
            listen: rs.listen.clone(),
            hold_time: rs.hold_time,
            restart_delay: Duration::from_secs(5),
            peers,
            policy: policy::IxpPolicy::from_config(&cfg, rs),
            max_prefix: match rs.max_prefix_restart {
                0 => MaxPrefixAction::Shutdown,
                m => MaxPrefixAction::Restart(Duration::from_secs(u64::from(m) * 60)),
            },
        };
        match daemon::start(spec).await {
            Ok(h) => {
                tracing::info!(rs = %rs.name, listen = ?h.listening, "route server started");
                handles.push(h);
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
    if let (Some(web), Some(h)) = (&cfg.web, handles.first()) {
        match crate::api::serve(web.listen, h.clone()).await {
            Ok(a) => tracing::info!("JSON API on http://{a}/api/v1/"),
            Err(e) => {
                eprintln!("error: [web] listen {}: {e}", web.listen);
                return ExitCode::FAILURE;
            }
        }
    }
    wait_for_shutdown().await;
    tracing::info!("shutting down");
    ExitCode::SUCCESS
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
