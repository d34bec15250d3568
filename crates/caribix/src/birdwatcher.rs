//! A birdwatcher-compatible API, so that Alice-LG can be pointed at caribix
//! unchanged (SPEC §5): `/status`, `/protocols/bgp`,
//! `/routes/protocol/{id}`, `/routes/filtered/{id}`,
//! `/routes/noexport/{id}`, `/routes/table/{table}` and
//! `/routes/table/{table}/filtered`.
//!
//! Shapes and time formats are those Alice-LG's birdwatcher source parses
//! with its default settings: every response has the `api` object
//! (`Version`, `result_from_cache`, `cache_status.cached_at.date`) and a
//! `ttl`, both RFC 3339; `state_changed`, `since`, `age`, `current_server`
//! and `last_reboot` use "YYYY-MM-DD hh:mm:ss" (Alice's `servertime_short`),
//! `last_reconfig` too (`servertime_ext`). Times are UTC. `local_pref` and
//! `med` are strings, as BIRD prints them. Filtered routes carry their
//! reasons as `RS_ASN:1101:CODE` large communities, which Alice-LG maps to
//! text with its `[rejection_reasons]` settings.
//!
//! Protocol ids are the `/api/v1/` neighbor ids; the only table is
//! `master` (also answered as `master4` and `master6`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bgp_wire::attr::{type_code, RawAttrIter};
use bgp_wire::{AsPathRef, NextHop, Prefix};
use routeserver::{PeerId, RouteAttrs};
use serde_json::{json, Map, Value};

use crate::api::{ask, neighbor_id};
use crate::daemon::{CoreView, Handle};

/// How long clients may cache an answer.
const TTL: Duration = Duration::from_secs(60);

/// Civil date from days since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(t: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil((secs / 86_400) as i64);
    let s = secs % 86_400;
    (y, m, d, s / 3600, s % 3600 / 60, s % 60)
}

/// "YYYY-MM-DDThh:mm:ssZ".
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = parts(t);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// "YYYY-MM-DD hh:mm:ss".
pub(crate) fn short(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = parts(t);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

fn envelope(mut body: Map<String, Value>) -> Value {
    let now = SystemTime::now();
    body.insert(
        "api".into(),
        json!({
            "Version": concat!("caribix-", env!("CARGO_PKG_VERSION")),
            "result_from_cache": false,
            "cache_status": {
                "cached_at": { "date": rfc3339(now), "timezone_type": 3, "timezone": "UTC" },
                "orig_ttl": TTL.as_secs(),
            },
        }),
    );
    body.insert("ttl".into(), Value::String(rfc3339(now + TTL)));
    Value::Object(body)
}

fn reply(v: Option<Value>) -> Response {
    match v {
        Some(v) => Json(v).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "route server is not running"})),
        )
            .into_response(),
    }
}

fn not_found(what: String) -> Value {
    json!({ "error": what })
}

async fn status(State(h): State<Handle>) -> Response {
    let v = ask(&h, |v| {
        let now = SystemTime::now();
        let mut m = Map::new();
        m.insert(
            "status".into(),
            json!({
                "current_server": short(now),
                "last_reboot": short(v.started_wall),
                "last_reconfig": short(v.started_wall),
                "message": format!("caribix route server {} (AS{}) is up", v.rs_spec.name, v.rs_spec.asn),
                "router_id": v.rs_spec.router_id.to_string(),
                "version": env!("CARGO_PKG_VERSION"),
            }),
        );
        envelope(m)
    })
    .await;
    reply(v)
}

async fn protocols(State(h): State<Handle>) -> Response {
    let v = ask(&h, |v| {
        let now = SystemTime::now();
        let mut protos = Map::new();
        for (id, spec, st) in v.sessions() {
            let c = v.rs.counts(id);
            let (state, since, last_error) = st
                .lock()
                .map(|s| {
                    let since = s
                        .established_since
                        .map_or(now, |t| now.checked_sub(t.elapsed()).unwrap_or(now));
                    (s.state, since, s.last_error.clone())
                })
                .unwrap_or((bgp_session::State::Idle, now, None));
            let pid = neighbor_id(spec.asn, spec.addr);
            protos.insert(
                pid.clone(),
                json!({
                    "protocol": pid,
                    "bird_protocol": pid,
                    "table": "master",
                    "state": if state == bgp_session::State::Established { "up" } else { "down" },
                    "connection": state.name(),
                    "bgp_state": state.name(),
                    "state_changed": short(since),
                    "neighbor_address": spec.addr.to_string(),
                    "neighbor_as": spec.asn,
                    "description": spec.name,
                    "last_error": last_error.unwrap_or_default(),
                    "routes": {
                        "imported": c.accepted,
                        "filtered": c.filtered,
                        "exported": c.exported,
                        "preferred": c.accepted,
                    },
                }),
            );
        }
        let mut m = Map::new();
        m.insert("protocols".into(), Value::Object(protos));
        envelope(m)
    })
    .await;
    reply(v)
}

/// A route in birdwatcher's shape.
fn route_json(
    v: &CoreView<'_>,
    prefix: Prefix,
    from: PeerId,
    attrs: &RouteAttrs,
    since: Option<u32>,
    primary: bool,
) -> Value {
    let (from_id, gateway) = v
        .sessions()
        .into_iter()
        .find(|(id, _, _)| *id == from)
        .map(|(_, s, _)| (neighbor_id(s.asn, s.addr), s.addr.to_string()))
        .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
    let age = since.map_or_else(SystemTime::now, |s| {
        v.started_wall + Duration::from_secs(u64::from(s))
    });
    let mut as_path = Vec::new();
    let mut med = None;
    let mut origin = "IGP";
    let mut communities = Vec::new();
    let mut large = Vec::new();
    let mut ext = Vec::new();
    for a in RawAttrIter::new(&attrs.block) {
        let w = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        match a.type_code {
            type_code::ORIGIN if a.value.len() == 1 => {
                origin = match a.value[0] {
                    0 => "IGP",
                    1 => "EGP",
                    _ => "Incomplete",
                }
            }
            type_code::AS_PATH => {
                if let Ok(p) = AsPathRef::new(a.value, true) {
                    as_path = p.asns().map(|x| x.to_string()).collect();
                }
            }
            type_code::MED if a.value.len() == 4 => med = Some(w(a.value, 0)),
            type_code::COMMUNITIES => {
                communities = a
                    .value
                    .chunks_exact(4)
                    .map(|c| {
                        json!([
                            u16::from_be_bytes([c[0], c[1]]),
                            u16::from_be_bytes([c[2], c[3]])
                        ])
                    })
                    .collect()
            }
            type_code::LARGE_COMMUNITIES => {
                large = a
                    .value
                    .chunks_exact(12)
                    .map(|c| json!([w(c, 0), w(c, 4), w(c, 8)]))
                    .collect()
            }
            type_code::EXTENDED_COMMUNITIES => {
                ext = a
                    .value
                    .chunks_exact(8)
                    .filter_map(|c| {
                        // Route target / origin, 2-octet AS specific (RFC 4360).
                        let kind = match (c[0] & 0x3f, c[1]) {
                            (0, 2) => "rt",
                            (0, 3) => "ro",
                            _ => return None,
                        };
                        Some(json!([
                            kind,
                            u16::from_be_bytes([c[2], c[3]]).to_string(),
                            w(c, 4).to_string()
                        ]))
                    })
                    .collect()
            }
            _ => {}
        }
    }
    let next_hop = match attrs.next_hop {
        NextHop::V4(a) => a.to_string(),
        NextHop::V6 { global, .. } => global.to_string(),
    };
    json!({
        "network": prefix.to_string(),
        "gateway": gateway,
        "learnt_from": gateway,
        "from_protocol": from_id,
        "interface": "",
        "metric": 100,
        "primary": primary,
        "age": short(age),
        "type": ["BGP", "unicast", "univ"],
        "bgp": {
            "origin": origin,
            "as_path": as_path,
            "next_hop": next_hop,
            "local_pref": attrs.pref.to_string(),
            "med": med.unwrap_or(0).to_string(),
            "communities": communities,
            "large_communities": large,
            "ext_communities": ext,
        },
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Received,
    Filtered,
    NoExport,
}

async fn neighbor_routes(h: Handle, id: String, kind: Kind) -> Response {
    let v = ask(&h, move |v| {
        let Some((pid, _, _)) = v.session(&id) else {
            return not_found(format!("protocol {id} does not exist"));
        };
        let routes: Vec<Value> = match kind {
            Kind::Received | Kind::Filtered => {
                v.rs.rib()
                    .routes_from(pid)
                    .into_iter()
                    .filter(|(_, r)| (r.reject != 0) == matches!(kind, Kind::Filtered))
                    .map(|(n, r)| {
                        let primary = r.reject == 0
                            && v.rs
                                .rib()
                                .candidates(&n.prefix)
                                .first()
                                .is_some_and(|(p, _)| *p == pid);
                        route_json(v, n.prefix, pid, &r.attrs, Some(r.since), primary)
                    })
                    .collect()
            }
            Kind::NoExport => {
                v.rs.rib()
                    .not_exported_to(pid)
                    .into_iter()
                    .map(|(p, from, a)| route_json(v, p, from, &a, None, false))
                    .collect()
            }
        };
        let mut m = Map::new();
        m.insert("routes".into(), Value::Array(routes));
        envelope(m)
    })
    .await;
    reply(v)
}

async fn received(State(h): State<Handle>, Path(id): Path<String>) -> Response {
    neighbor_routes(h, id, Kind::Received).await
}

async fn filtered(State(h): State<Handle>, Path(id): Path<String>) -> Response {
    neighbor_routes(h, id, Kind::Filtered).await
}

async fn noexport(State(h): State<Handle>, Path(id): Path<String>) -> Response {
    neighbor_routes(h, id, Kind::NoExport).await
}

async fn table_routes(h: Handle, table: String, filtered: bool) -> Response {
    let v = ask(&h, move |v| {
        let family = match table.as_str() {
            "master" => None,
            "master4" => Some(bgp_wire::Family::Ipv4Unicast),
            "master6" => Some(bgp_wire::Family::Ipv6Unicast),
            _ => return not_found(format!("table {table} does not exist")),
        };
        let routes: Vec<Value> =
            v.rs.rib()
                .all_routes(filtered)
                .into_iter()
                .filter(|(p, _, _)| family.is_none_or(|f| p.family() == f))
                .map(|(p, from, r)| {
                    let primary = !filtered
                        && v.rs
                            .rib()
                            .candidates(&p)
                            .first()
                            .is_some_and(|(b, _)| *b == from);
                    route_json(v, p, from, &r.attrs, Some(r.since), primary)
                })
                .collect();
        let mut m = Map::new();
        m.insert("routes".into(), Value::Array(routes));
        envelope(m)
    })
    .await;
    reply(v)
}

async fn table(State(h): State<Handle>, Path(table): Path<String>) -> Response {
    table_routes(h, table, false).await
}

async fn table_filtered(State(h): State<Handle>, Path(table): Path<String>) -> Response {
    table_routes(h, table, true).await
}

/// The birdwatcher routes, to merge into the web router.
pub(crate) fn router(h: Handle) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/protocols/bgp", get(protocols))
        .route("/routes/protocol/{id}", get(received))
        .route("/routes/filtered/{id}", get(filtered))
        .route("/routes/noexport/{id}", get(noexport))
        .route("/routes/table/{table}", get(table))
        .route("/routes/table/{table}/filtered", get(table_filtered))
        .with_state(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        let t = UNIX_EPOCH + Duration::from_secs(1_267_228_800 + 3661); // 2010-02-27 01:01:01
        assert_eq!(rfc3339(t), "2010-02-27T01:01:01Z");
        assert_eq!(short(t), "2010-02-27 01:01:01");
        assert_eq!(short(UNIX_EPOCH), "1970-01-01 00:00:00");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(short(leap), "2000-02-29 00:00:00");
    }
}
