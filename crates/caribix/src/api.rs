//! The read-only JSON API under `/api/v1/` (SPEC §5): neighbors and the
//! routes received from each, with the reasons a route was filtered.
//!
//! Handlers ask the route server core through its query channel and never
//! touch routing state themselves. `/api/v1/policy` also shows the state of
//! the RPKI and IRR data sources (`crate::policy_sources`), and each
//! neighbor its max-prefix limits, action and excess.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{Path, Query as QueryParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bgp_io::SharedStatus;
use bgp_wire::attr::{type_code, RawAttrIter};
use bgp_wire::{AsPathRef, NextHop, Prefix};
use routeserver::{InRoute, PeerCounts};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::daemon::{Handle, PeerSpec};
use crate::policy_sources::StatusCell;

/// Route counts of a neighbor.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub(crate) struct RouteCounts {
    pub received: usize,
    pub accepted: usize,
    pub filtered: usize,
    pub exported: usize,
}

/// One neighbor (member session).
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub(crate) struct NeighborJson {
    pub id: String,
    pub address: String,
    pub asn: u32,
    pub name: String,
    pub state: String,
    pub uptime_s: u64,
    pub routes: RouteCounts,
    pub last_error: Option<String>,
    /// The member's max-prefix limits and what exceeding them does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prefix: Option<MaxPrefixJson>,
    /// A graceful restart in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graceful_restart: Option<GracefulRestartJson>,
}

/// Max-prefix state of a neighbor: limits, action, accepted routes over
/// the limit now, and (in `warning` mode) how often it went over.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub(crate) struct MaxPrefixJson {
    pub ipv4: u32,
    pub ipv6: u32,
    pub action: String,
    /// Accepted routes above the limit now, per family `[ipv4, ipv6]`.
    pub excess: [u64; 2],
    /// Times the limit was crossed in `warning` mode.
    pub warnings: u64,
}

/// Why a route was filtered.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub(crate) struct ReasonJson {
    pub code: u32,
    pub text: String,
}

/// One route received from a neighbor.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub(crate) struct RouteJson {
    pub prefix: String,
    pub as_path: Vec<u32>,
    pub next_hop: String,
    pub med: Option<u32>,
    pub communities: Vec<[u16; 2]>,
    pub large_communities: Vec<[u32; 3]>,
    pub age_s: u32,
    pub reasons: Vec<ReasonJson>,
    /// Kept across the member's graceful restart and not announced again
    /// yet (RFC 4724 §4.2).
    #[serde(default)]
    pub stale: bool,
}

/// A graceful restart in progress (RFC 4724 §4.2): `state` is
/// `restarting` (the session is down, stale routes kept) or
/// `awaiting_end_of_rib` (it is back, stale routes go at its End-of-RIB).
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub(crate) struct GracefulRestartJson {
    pub state: String,
    /// Stale routes now.
    pub stale_routes: usize,
    /// Seconds until the stale routes go regardless.
    pub expires_in_s: u32,
}

/// The id of a neighbor in URLs: `AS<asn>_<address>` with separators as
/// underscores, stable across restarts and reloads.
pub(crate) fn neighbor_id(asn: u32, addr: IpAddr) -> String {
    let a: String = addr
        .to_string()
        .chars()
        .map(|c| if c == '.' || c == ':' { '_' } else { c })
        .collect();
    format!("AS{asn}_{a}")
}

pub(crate) fn neighbor(spec: &PeerSpec, status: &SharedStatus, c: PeerCounts) -> NeighborJson {
    let (state, uptime_s, last_error) = status
        .lock()
        .map(|s| {
            (
                s.state.name().to_string(),
                s.established_since
                    .map_or(0, |t| Instant::now().saturating_duration_since(t).as_secs()),
                s.last_error.clone(),
            )
        })
        .unwrap_or_else(|_| ("Idle".into(), 0, None));
    NeighborJson {
        id: neighbor_id(spec.asn, spec.addr),
        address: spec.addr.to_string(),
        asn: spec.asn,
        name: spec.name.clone(),
        state,
        uptime_s,
        routes: RouteCounts {
            received: c.received,
            accepted: c.accepted,
            filtered: c.filtered,
            exported: c.exported,
        },
        last_error,
        max_prefix: None,
        graceful_restart: None,
    }
}

/// The graceful restart of session `id`, if one is in progress.
fn graceful_restart_json(
    v: &crate::daemon::CoreView<'_>,
    id: routeserver::PeerId,
) -> Option<GracefulRestartJson> {
    use routeserver::RestartState;
    let (state, until) = match v.rs.restart_state(id)? {
        RestartState::Restarting { until } => ("restarting", until),
        RestartState::AwaitingEndOfRib { until, .. } => ("awaiting_end_of_rib", until),
    };
    let n = v.rs.rib().stale_counts(id);
    Some(GracefulRestartJson {
        state: state.to_string(),
        stale_routes: n[0] + n[1],
        expires_in_s: until.saturating_sub(v.now),
    })
}

/// The max-prefix state of session `id`.
fn max_prefix_json(
    v: &crate::daemon::CoreView<'_>,
    id: routeserver::PeerId,
) -> Option<MaxPrefixJson> {
    use routeserver::Policy as _;
    let m = v.rs.member(id)?;
    let limits = v.rs.policy().max_prefix(m)?;
    let action = match v.rs.policy().max_prefix_action(m) {
        registry::MaxPrefixAction::Warning => "warning",
        registry::MaxPrefixAction::Shutdown => "shutdown",
        registry::MaxPrefixAction::Restart => match v.rs_spec.max_prefix {
            crate::daemon::MaxPrefixAction::Shutdown => "shutdown",
            crate::daemon::MaxPrefixAction::Restart(_) => "restart",
        },
    };
    let acc = v.rs.counts(id).accepted_by_family;
    let over = |i: usize| (acc[i] as u64).saturating_sub(u64::from(limits[i]));
    Some(MaxPrefixJson {
        ipv4: limits[0],
        ipv6: limits[1],
        action: action.to_string(),
        excess: [over(0), over(1)],
        warnings: v.max_prefix_warnings(id),
    })
}

/// Euro-IX reject codes (SPEC §3), in words.
pub(crate) fn reason_text(code: u32) -> &'static str {
    policy::reason_text(code)
}

pub(crate) fn route(prefix: Prefix, r: &InRoute, now: u32) -> RouteJson {
    let mut j = RouteJson {
        prefix: prefix.to_string(),
        as_path: Vec::new(),
        next_hop: match r.attrs.next_hop {
            NextHop::V4(a) => a.to_string(),
            NextHop::V6 { global, .. } => global.to_string(),
        },
        med: None,
        communities: Vec::new(),
        large_communities: Vec::new(),
        age_s: now.saturating_sub(r.since),
        reasons: (1..32)
            .filter(|c| r.reject & (1 << c) != 0)
            .map(|code| ReasonJson {
                code,
                text: reason_text(code).to_string(),
            })
            .collect(),
        stale: false,
    };
    for a in RawAttrIter::new(&r.attrs.block) {
        match a.type_code {
            type_code::AS_PATH => {
                if let Ok(p) = AsPathRef::new(a.value, true) {
                    j.as_path = p.asns().collect();
                }
            }
            type_code::MED if a.value.len() == 4 => {
                j.med = Some(u32::from_be_bytes([
                    a.value[0], a.value[1], a.value[2], a.value[3],
                ]));
            }
            type_code::COMMUNITIES => {
                j.communities = a
                    .value
                    .chunks_exact(4)
                    .map(|c| {
                        [
                            u16::from_be_bytes([c[0], c[1]]),
                            u16::from_be_bytes([c[2], c[3]]),
                        ]
                    })
                    .collect();
            }
            type_code::LARGE_COMMUNITIES => {
                j.large_communities = a
                    .value
                    .chunks_exact(12)
                    .map(|c| {
                        let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                        [w(0), w(4), w(8)]
                    })
                    .collect();
            }
            _ => {}
        }
    }
    j
}

#[derive(Debug, Deserialize)]
struct RoutesParams {
    filtered: Option<bool>,
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({"error": "route server is not running"})),
    )
        .into_response()
}

/// Run `f` on the route server core and wait for its answer.
pub(crate) async fn ask<T: Send + 'static>(
    h: &Handle,
    f: impl FnOnce(&crate::daemon::CoreView<'_>) -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    if !h.run(move |v| {
        let _ = tx.send(f(v));
    }) {
        return None;
    }
    rx.await.ok()
}

async fn neighbors(State(h): State<Handle>) -> Response {
    let v = ask(&h, |v| {
        v.sessions()
            .into_iter()
            .map(|(id, spec, st)| {
                let mut n = neighbor(spec, st, v.rs.counts(id));
                n.max_prefix = max_prefix_json(v, id);
                n.graceful_restart = graceful_restart_json(v, id);
                n
            })
            .collect::<Vec<_>>()
    })
    .await;
    match v {
        Some(v) => Json(serde_json::json!({ "neighbors": v })).into_response(),
        None => unavailable(),
    }
}

/// The import policy in force: which checks are on (SPEC §3: a check
/// whose data source is not configured is off, and the looking glass
/// says so) and the main limits.
async fn policy_status(h: Handle, sources: StatusCell) -> Response {
    let data_sources = sources
        .read()
        .map(|s| s.json())
        .unwrap_or(serde_json::Value::Null);
    let v = ask(&h, move |v| {
        let p = v.rs.policy();
        let on = p.checks_on();
        let s = p.settings();
        serde_json::json!({
            "checks": {
                "rpki": on.rpki,
                "aspa": on.aspa,
                "irr_origin": on.irr_origin,
                "irr_prefix": on.irr_prefix,
                "bogon_prefixes": on.bogon_prefixes,
                "bogon_asns": on.bogon_asns,
                "first_as": on.first_as,
                "next_hop": on.next_hop,
                "as_path_length": true,
                "prefix_length": true,
                "ipv6_global_unicast": true,
                "transit_free_asns": !s.transit_free_asns.is_empty(),
                "never_via_route_servers_asns": !s.never_via_route_servers_asns.is_empty(),
                "global_blocklist": !s.blocklist.is_empty(),
            },
            "rs_asn": s.rs_asn,
            "ipv4_prefix_len": [s.ipv4_len.min, s.ipv4_len.max],
            "ipv6_prefix_len": [s.ipv6_len.min, s.ipv6_len.max],
            "max_as_path_len": s.max_as_path_len,
            "rpki_reject_invalid": s.rpki_reject_invalid,
            "blackhole": s.blackhole,
            "graceful_shutdown": s.graceful_shutdown,
            "max_prefix_action": s.max_prefix_action,
            "data_sources": data_sources,
        })
    })
    .await;
    match v {
        Some(v) => Json(v).into_response(),
        None => unavailable(),
    }
}

async fn routes(
    State(h): State<Handle>,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<RoutesParams>,
) -> Response {
    let wanted = id.clone();
    let filtered = p.filtered;
    let v = ask(&h, move |v| {
        let (pid, _, _) = v.session(&wanted)?;
        Some(
            v.rs.rib()
                .routes_from(pid)
                .into_iter()
                .filter(|(_, r)| filtered.is_none_or(|f| f == (r.reject != 0)))
                .map(|(n, r)| {
                    let mut j = route(n.prefix, r, v.now);
                    j.stale = v.rs.rib().is_stale(pid, &n);
                    j
                })
                .collect::<Vec<_>>(),
        )
    })
    .await;
    match v {
        Some(Some(v)) => Json(serde_json::json!({ "routes": v })).into_response(),
        Some(None) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": format!("no neighbor {id}")})),
        )
            .into_response(),
        None => unavailable(),
    }
}

/// The API router; `sources` is the RPKI/IRR status `/api/v1/policy`
/// shows.
pub(crate) fn router(h: Handle, sources: StatusCell) -> Router {
    let ph = h.clone();
    Router::new()
        .route("/api/v1/neighbors", get(neighbors))
        .route(
            "/api/v1/policy",
            get(move || policy_status(ph.clone(), sources.clone())),
        )
        .route("/api/v1/neighbors/{id}/routes", get(routes))
        .with_state(h.clone())
        .merge(crate::birdwatcher::router(h))
        .merge(crate::traffic_api::router())
}

/// Serve the API on `addr`; returns the bound address.
pub(crate) async fn serve(
    addr: SocketAddr,
    h: Handle,
    sources: StatusCell,
) -> std::io::Result<SocketAddr> {
    let l = tokio::net::TcpListener::bind(addr).await?;
    let bound = l.local_addr()?;
    let app = router(h, sources);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(l, app).await {
            tracing::error!("web server stopped: {e}");
        }
    });
    Ok(bound)
}
