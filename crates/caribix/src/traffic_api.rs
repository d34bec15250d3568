//! The traffic API (SPEC §5) and `/metrics`:
//!
//! - `GET /api/v1/traffic/members?from=&to=&family=`: per-member bytes and
//!   packets;
//! - `GET /api/v1/traffic/matrix?from=&to=&family=`: member to member;
//! - `GET /api/v1/traffic/local?from=&to=`: total, local, local share,
//!   tromboned;
//! - `GET /api/v1/traffic/opportunities?from=&to=`: ranked peering
//!   opportunities;
//! - `GET /api/v1/traffic/macs`: member router MACs, configured and learned
//!   from BGP session samples (with the session address and when);
//! - `GET /api/v1/traffic/bilateral?from=&to=`: BGP sessions between
//!   members seen in TCP port 179 samples (first and last seen at bucket
//!   precision);
//! - `GET /metrics`: Prometheus text.
//!
//! `from` and `to` are RFC 3339 times (`2026-11-23T09:00:00Z`, offsets and
//! fractions allowed) or Unix seconds; absent means the last hour. The
//! window is `[from, to)` over bucket start times. `family` (`ipv4`,
//! `ipv6` or `other`; absent means all) narrows members and matrix to one
//! address family. Figures are
//! sampling-scaled and come from the flow store (see docs/flow-storage.md).
//! The MAC table is the collector's in-memory state since it started (no
//! window), as published at its last flush or when a MAC was learned.

use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::time::SystemTime;
use traffic::{rank_opportunities, Directory};

/// The query string of every traffic endpoint.
#[derive(Debug, Deserialize)]
pub(crate) struct Window {
    from: Option<String>,
    to: Option<String>,
    family: Option<String>,
}

/// Refuses `family` where it does not apply (rather than ignore it).
fn no_family(w: &Window, what: &str) -> Option<Response> {
    w.family.as_ref().map(|_| {
        error(
            StatusCode::BAD_REQUEST,
            format!("family= applies to members and matrix, not to {what}"),
        )
    })
}

/// The address family a query asks for (None: all).
fn family(w: &Window) -> Result<Option<flow::Family>, String> {
    match w.family.as_deref() {
        None => Ok(None),
        Some("ipv4") => Ok(Some(flow::Family::Ipv4)),
        Some("ipv6") => Ok(Some(flow::Family::Ipv6)),
        Some("other") => Ok(Some(flow::Family::Other)),
        Some(f) => Err(format!("bad family={f:?}: expected ipv4, ipv6 or other")),
    }
}

/// Why a time parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeError(String);

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an RFC 3339 date-time (RFC 3339 §5.6) into Unix seconds
/// (fractions dropped), or Unix seconds as digits.
pub(crate) fn parse_time(name: &str, s: &str) -> Result<u64, TimeError> {
    let err = |why: &str| {
        TimeError(format!(
            "bad {name}={s:?}: {why}; expected an RFC 3339 time like 2026-11-23T09:00:00Z or Unix seconds like 1795424400"
        ))
    };
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| err("too large"));
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, TimeError> {
        let part = s.get(r).ok_or_else(|| err("too short"))?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err("a field is not a number"));
        }
        part.parse().map_err(|_| err("a field is not a number"))
    };
    let sep = |i: usize, want: &[u8]| -> Result<(), TimeError> {
        match b.get(i) {
            Some(c) if want.contains(c) => Ok(()),
            _ => Err(err("not in the form YYYY-MM-DDTHH:MM:SS")),
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    sep(4, b"-")?;
    sep(7, b"-")?;
    sep(10, b"Tt ")?;
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    sep(13, b":")?;
    sep(16, b":")?;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return Err(err("no such date"));
    }
    if h > 23 || mi > 59 || se > 60 {
        return Err(err("no such time of day"));
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(err("empty fraction of a second"));
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() => {
            sep(i + 3, b":")?;
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return Err(err("bad UTC offset"));
            }
            let o = oh * 3600 + om * 60;
            if *c == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return Err(err("missing or bad time zone (Z or +HH:MM)")),
    };
    // A leap second counts as the next second's start.
    let t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    u64::try_from(t).map_err(|_| err("before 1970"))
}

/// The window `[from, to)` a query asks for, at `now`.
pub(crate) fn window(w: &Window, now: u64) -> Result<(u64, u64), TimeError> {
    let to = match &w.to {
        Some(t) => parse_time("to", t)?,
        None => now.saturating_add(60),
    };
    let from = match &w.from {
        Some(f) => parse_time("from", f)?,
        None => to.saturating_sub(3600),
    };
    if from >= to {
        return Err(TimeError(format!(
            "empty window: from ({from}) must be before to ({to})"
        )));
    }
    Ok((from, to))
}

fn error(status: StatusCode, msg: String) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

fn now() -> u64 {
    flow::UnixMillis::from_system_time(SystemTime::now()).secs()
}

/// Runs `f` on the store for the window of `w`, off the async threads.
async fn with_store<T: Send + 'static>(
    w: &Window,
    f: impl FnOnce(&crate::flows::Shared, u64, u64) -> Result<T, flowstore::StoreError> + Send + 'static,
) -> Result<T, Response> {
    let (from, to) = window(w, now()).map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
    let Some(shared) = crate::flows::shared() else {
        return Err(not_configured());
    };
    match tokio::task::spawn_blocking(move || f(&shared, from, to)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

fn not_configured() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "flow collection is not configured: add a [flows] section to the configuration".into(),
    )
}

/// The collector's published in-memory state.
fn live() -> Option<(crate::flows::Live, std::sync::Arc<crate::flows::Shared>)> {
    let shared = crate::flows::shared()?;
    let live = shared
        .live
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Some((live, shared))
}

async fn macs() -> Response {
    let Some((live, shared)) = live() else {
        return not_configured();
    };
    let rows: Vec<_> = live
        .macs
        .iter()
        .map(|m| {
            json!({
                "mac": m.mac.to_string(),
                "asn": m.asn,
                "name": shared.name(m.asn),
                "source": match m.source {
                    crate::flows::MacSource::Config => "config",
                    crate::flows::MacSource::Learned => "learned",
                },
                "address": m.address.map(|a| a.to_string()),
                "first_seen": m.first_seen,
                "last_seen": m.last_seen,
                "observations": m.observations,
            })
        })
        .collect();
    Json(json!({ "macs": rows })).into_response()
}

async fn bilateral(Query(w): Query<Window>) -> Response {
    if let Some(e) = no_family(&w, "bilateral") {
        return e;
    }
    let r = with_store(&w, |s, from, to| {
        let rows = lock(s).sessions(from, to)?;
        let name = |asn: u32| s.name(asn);
        Ok(rows
            .iter()
            .map(|r| {
                json!({
                    "a_asn": r.a_asn,
                    "a_name": name(r.a_asn),
                    "a_address": r.a_ip.map(|a| a.to_string()),
                    "b_asn": r.b_asn,
                    "b_name": name(r.b_asn),
                    "b_address": r.b_ip.map(|a| a.to_string()),
                    "first_seen": r.first_seen,
                    "last_seen": r.last_seen,
                    "observations": r.observations,
                    "packets": r.packets,
                })
            })
            .collect::<Vec<_>>())
    })
    .await;
    match r {
        Ok(v) => Json(json!({ "sessions": v })).into_response(),
        Err(e) => e,
    }
}

fn lock(s: &crate::flows::Shared) -> std::sync::MutexGuard<'_, Box<dyn flowstore::Store>> {
    s.store.lock().unwrap_or_else(|e| e.into_inner())
}

async fn members(Query(w): Query<Window>) -> Response {
    let fam = match family(&w) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let r = with_store(&w, move |s, from, to| {
        let rows = lock(s).members_of(from, to, fam)?;
        Ok(rows
            .into_iter()
            .map(|m| {
                json!({
                    "asn": m.asn,
                    "name": s.name(m.asn),
                    "in_bytes": m.in_bytes,
                    "out_bytes": m.out_bytes,
                    "in_packets": m.in_packets,
                    "out_packets": m.out_packets,
                })
            })
            .collect::<Vec<_>>())
    })
    .await;
    match r {
        Ok(v) => Json(json!({ "members": v })).into_response(),
        Err(e) => e,
    }
}

async fn matrix(Query(w): Query<Window>) -> Response {
    let fam = match family(&w) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let r = with_store(&w, move |s, from, to| lock(s).matrix_of(from, to, fam)).await;
    match r {
        Ok(rows) => Json(json!({ "matrix": rows.iter().map(|m| json!({
            "src_asn": m.src_asn,
            "dst_asn": m.dst_asn,
            "bytes": m.bytes,
            "packets": m.packets,
        })).collect::<Vec<_>>() }))
        .into_response(),
        Err(e) => e,
    }
}

async fn local(Query(w): Query<Window>) -> Response {
    if let Some(e) = no_family(&w, "local") {
        return e;
    }
    match with_store(&w, |s, from, to| lock(s).local(from, to)).await {
        Ok(m) => Json(json!({
            "total_bytes": m.total_bytes,
            "local_bytes": m.local_bytes,
            "local_share": m.local_share(),
            "tromboned_bytes": m.tromboned_bytes,
        }))
        .into_response(),
        Err(e) => e,
    }
}

async fn opportunities(Query(w): Query<Window>) -> Response {
    if let Some(e) = no_family(&w, "opportunities") {
        return e;
    }
    let r = with_store(&w, |s, from, to| {
        let m = lock(s).local(from, to)?;
        let dir = Directory { members: s.names() };
        Ok(rank_opportunities(
            m.pairs.iter().map(|((a, b), v)| (*a, *b, *v)),
            &dir,
        ))
    })
    .await;
    match r {
        Ok(v) => Json(json!({ "opportunities": v.iter().map(|o| json!({
            "a_asn": o.a_asn,
            "b_asn": o.b_asn,
            "bytes": o.bytes,
            "why": o.why,
        })).collect::<Vec<_>>() }))
        .into_response(),
        Err(e) => e,
    }
}

async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::encode(),
    )
        .into_response()
}

/// The traffic endpoints and `/metrics`.
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/api/v1/traffic/members", get(members))
        .route("/api/v1/traffic/matrix", get(matrix))
        .route("/api/v1/traffic/local", get(local))
        .route("/api/v1/traffic/opportunities", get(opportunities))
        .route("/api/v1/traffic/macs", get(macs))
        .route("/api/v1/traffic/bilateral", get(bilateral))
        .route("/metrics", get(metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = |s| parse_time("from", s);
        assert_eq!(t("1700000000"), Ok(1_700_000_000));
        assert_eq!(t("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(t("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(t("2023-11-14T22:13:20.123456Z"), Ok(1_700_000_000));
        assert_eq!(t("2023-11-14T18:13:20-04:00"), Ok(1_700_000_000));
        assert_eq!(t("2023-11-15t00:13:20+02:00"), Ok(1_700_000_000));
        assert_eq!(t("2024-02-29T00:00:00Z"), Ok(1_709_164_800));
        for bad in [
            "",
            "yesterday",
            "-5",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+2:00",
            "1969-12-31T23:59:59Z",
            "99999999999999999999999",
            "２023-11-14T22:13:20Z",
        ] {
            let e = t(bad).unwrap_err().to_string();
            assert!(
                e.contains("bad from=") && e.contains("RFC 3339"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn windows() {
        let w = |f: Option<&str>, t: Option<&str>| Window {
            from: f.map(str::to_string),
            to: t.map(str::to_string),
            family: None,
        };
        assert_eq!(window(&w(None, None), 10_000), Ok((6_460, 10_060)));
        assert_eq!(window(&w(Some("100"), Some("200")), 0), Ok((100, 200)));
        assert_eq!(window(&w(None, Some("7200")), 0), Ok((3600, 7200)));
        let e = window(&w(Some("200"), Some("100")), 0).unwrap_err();
        assert!(e.to_string().contains("empty window"), "{e}");
        let e = window(&w(Some("x"), None), 0).unwrap_err();
        assert!(e.to_string().contains("bad from=\"x\""), "{e}");
    }
}
