//! The ClickHouse sink, over ClickHouse's HTTP interface with plain
//! `MergeTree` tables (the Debian package is ClickHouse 18.16: no
//! lightweight deletes, no TTL, so the design stays with what it has).
//!
//! Rows carry a `version` (the write time in nanoseconds, strictly
//! increasing per store). Writing a bucket inserts its rows with a new
//! version and then one row into `versions` naming (seconds, start,
//! version); queries read only the rows of each bucket's latest version.
//! So a bucket written again replaces the earlier write without a delete,
//! and a write interrupted half-way is never seen.
//!
//! Rollups and retention ([`Store::expire`]) follow the SQLite store's
//! rules exactly: minute buckets that ended before the minute cutoff are
//! summed into hour buckets, hours into days, and days past the day
//! retention are dropped. ClickHouse 18.16 deletes only by asynchronous
//! mutations, so a fold writes the new coarse rows (existing coarse rows of
//! the bucket plus the folded fine rows) under a new version and, in the
//! same `versions` insert, a *tombstone* version for every folded fine
//! bucket and every dropped day: a version with no rows, which makes them
//! read as empty at once. The rows that became invisible are deleted by an
//! `ALTER TABLE ... DELETE` at most once an hour (data rows first, their
//! `versions` rows at a later cleanup once the data rows are gone); reads
//! never depend on it.
//!
//! Known limitations: superseded versions of hour and day buckets stay on
//! disk until the bucket itself is folded or expires (an hour bucket is
//! rewritten each time minutes fold into it). Tables written by the
//! earlier layout (`flushes` instead of `versions`) are not read.

use crate::http::post;
use crate::{
    family_name, learned_mac, member_rows, parse_ip, session_rows, MatrixRow, MemberRow,
    MinuteBuilder, SessionRow, Store, StoreError,
};
use flow::{Bucket, Family, LearnedMac, Retention};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use traffic::Minute;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Data tables: (name, key columns, value columns).
const TABLES: [(&str, &[&str], &[&str]); 5] = [
    (
        "member_traffic",
        &["asn", "family", "direction"],
        &["bytes", "packets"],
    ),
    (
        "matrix_traffic",
        &["src_asn", "dst_asn", "family"],
        &["bytes", "packets"],
    ),
    (
        "local_traffic",
        &[],
        &[
            "total_bytes",
            "total_packets",
            "local_bytes",
            "tromboned_bytes",
        ],
    ),
    ("tromboned_pairs", &["src_net", "dst_net"], &["bytes"]),
    (
        "bgp_sessions",
        &["a_asn", "b_asn", "a_ip", "b_ip"],
        &["observations", "packets"],
    ),
];

/// Invisible rows are deleted at most this often (seconds of `now`).
const CLEANUP_EVERY: u64 = 3600;

/// Flow aggregates in a ClickHouse database.
#[derive(Debug)]
pub struct ClickhouseStore {
    host: String,
    port: u16,
    db: String,
    last_version: u64,
    last_cleanup: Option<u64>,
    /// The condition of the last data cleanup, whose `versions` rows go
    /// once its data rows are gone.
    versions_cleanup: Option<String>,
}

/// Coarse rows being built by a fold: (bucket start, key values as JSON)
/// -> (key values, value sums).
type Folded = BTreeMap<(u64, String), (Vec<Value>, Vec<u64>)>;

fn table_ddl(db: &str) -> [String; 7] {
    let mt = "ENGINE = MergeTree() ORDER BY (start, version)";
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.member_traffic (seconds UInt32, start UInt64, \
             asn UInt32, family String, direction String, bytes UInt64, packets UInt64, \
             version UInt64) {mt}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.matrix_traffic (seconds UInt32, start UInt64, \
             src_asn UInt32, dst_asn UInt32, family String, bytes UInt64, packets UInt64, \
             version UInt64) {mt}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.local_traffic (seconds UInt32, start UInt64, \
             total_bytes UInt64, total_packets UInt64, local_bytes UInt64, \
             tromboned_bytes UInt64, version UInt64) {mt}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.tromboned_pairs (seconds UInt32, start UInt64, \
             src_net UInt32, dst_net UInt32, bytes UInt64, version UInt64) {mt}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.bgp_sessions (seconds UInt32, start UInt64, \
             a_asn UInt32, b_asn UInt32, a_ip String, b_ip String, observations UInt64, \
             packets UInt64, version UInt64) {mt}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.learned_macs (mac String, asn UInt32, \
             address String, first_seen_ms UInt64, last_seen_ms UInt64, observations UInt64, \
             version UInt64) ENGINE = MergeTree() ORDER BY (version, mac)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.versions (seconds UInt32, start UInt64, \
             version UInt64) {mt}"
        ),
    ]
}

/// ` AND family = '...'` for one family (a fixed label, no quoting
/// needed), or nothing.
fn family_filter(family: Option<Family>) -> String {
    family
        .map(|f| format!(" AND family = '{}'", family_name(f)))
        .unwrap_or_default()
}

/// A JSON number, or a number in a string (ClickHouse quotes 64-bit
/// integers in JSON output by default).
fn num(v: &Value, k: &str) -> Result<u64, StoreError> {
    match v.get(k) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| StoreError::Response(format!("field {k} missing or not a count in {v}")))
}

fn num32(v: &Value, k: &str) -> Result<u32, StoreError> {
    u32::try_from(num(v, k)?).map_err(|_| StoreError::Response(format!("{k} exceeds 32 bits")))
}

impl ClickhouseStore {
    /// Connects to `host:port` (HTTP), creating database `db` and the
    /// tables when missing.
    pub fn open(host: &str, port: u16, db: &str) -> Result<Self, StoreError> {
        if db.is_empty() || !db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Url(format!("clickhouse://{host}:{port}/{db}")));
        }
        let s = ClickhouseStore {
            host: host.to_string(),
            port,
            db: db.to_string(),
            last_version: 0,
            last_cleanup: None,
            versions_cleanup: None,
        };
        s.exec(&format!("CREATE DATABASE IF NOT EXISTS {db}"))?;
        for ddl in table_ddl(db) {
            s.exec(&ddl)?;
        }
        Ok(s)
    }

    fn exec(&self, sql: &str) -> Result<Vec<u8>, StoreError> {
        post(&self.host, self.port, "/", sql.as_bytes(), TIMEOUT)
    }

    fn insert(&self, table: &str, rows: &[Value]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut body = format!("INSERT INTO {}.{table} FORMAT JSONEachRow\n", self.db);
        for r in rows {
            let _ = writeln!(body, "{r}");
        }
        self.exec(&body).map(|_| ())
    }

    fn select(&self, sql: &str) -> Result<Vec<Value>, StoreError> {
        let out = self.exec(&format!("{sql} FORMAT JSONEachRow"))?;
        let text = String::from_utf8_lossy(&out);
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| StoreError::Response(format!("{e}: {l}"))))
            .collect()
    }

    /// Rows held in the data tables, visible or not (superseded versions
    /// and rows awaiting the cleanup mutation included): what retention
    /// leaves on disk.
    pub fn stored_rows(&self) -> Result<u64, StoreError> {
        let mut n = 0u64;
        for (t, _, _) in TABLES {
            let r = self.select(&format!("SELECT count() AS n FROM {}.{t}", self.db))?;
            n = n.saturating_add(r.first().map(|v| num(v, "n")).transpose()?.unwrap_or(0));
        }
        Ok(n)
    }

    /// The filter that keeps each bucket's latest version, for buckets
    /// starting in `[from, to)`.
    fn latest(&self, from: u64, to: u64) -> String {
        format!(
            "start >= {from} AND start < {to} AND (seconds, start, version) IN \
             (SELECT seconds, start, max(version) FROM {}.versions \
             WHERE start >= {from} AND start < {to} GROUP BY seconds, start)",
            self.db
        )
    }

    /// The filter that keeps the latest version of buckets of `seconds`
    /// that ended at or before `cutoff`.
    fn latest_ended(&self, seconds: u64, cutoff: u64) -> String {
        format!(
            "seconds = {seconds} AND start + {seconds} <= {cutoff} AND \
             (seconds, start, version) IN (SELECT seconds, start, max(version) \
             FROM {}.versions WHERE seconds = {seconds} AND start + {seconds} <= {cutoff} \
             GROUP BY seconds, start)",
            self.db
        )
    }

    /// Starts of visible buckets of `seconds` that ended by `cutoff`.
    fn ended_starts(&self, seconds: u64, cutoff: u64) -> Result<BTreeSet<u64>, StoreError> {
        let mut out = BTreeSet::new();
        for (table, _, _) in TABLES {
            let rows = self.select(&format!(
                "SELECT DISTINCT start FROM {}.{table} WHERE {}",
                self.db,
                self.latest_ended(seconds, cutoff)
            ))?;
            for r in &rows {
                out.insert(num(r, "start")?);
            }
        }
        Ok(out)
    }

    /// Adds `rows` (each with a start field, the key columns and the value
    /// columns, the latter named with `prefix`) into `into`, by bucket of
    /// `step` seconds and key.
    fn accumulate(
        rows: &[Value],
        (start_field, prefix): (&str, &str),
        keys: &[&str],
        values: &[&str],
        step: u64,
        into: &mut Folded,
    ) -> Result<(), StoreError> {
        for r in rows {
            let start = num(r, start_field)?;
            let bucket = start - start % step;
            let key_values: Vec<Value> = keys
                .iter()
                .map(|k| r.get(*k).cloned().unwrap_or(Value::Null))
                .collect();
            let e = into
                .entry((bucket, Value::Array(key_values.clone()).to_string()))
                .or_insert_with(|| (key_values, vec![0; values.len()]));
            for (sum, v) in e.1.iter_mut().zip(values) {
                *sum = sum.saturating_add(num(r, &format!("{prefix}{v}"))?);
            }
        }
        Ok(())
    }

    /// Folds visible buckets of `from` seconds that ended by `cutoff` into
    /// buckets of `to` seconds (added to what those already hold), and
    /// tombstones the folded ones, in one `versions` insert.
    fn fold(&mut self, from: u64, to: u64, cutoff: u64) -> Result<(), StoreError> {
        let fine = self.ended_starts(from, cutoff)?;
        if fine.is_empty() {
            return Ok(());
        }
        let coarse: BTreeSet<u64> = fine.iter().map(|s| s - s % to).collect();
        let coarse_list = coarse
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let (lo, hi) = match (coarse.first(), coarse.last()) {
            (Some(lo), Some(hi)) => (*lo, hi.saturating_add(1)),
            _ => return Ok(()),
        };
        let version = self.next_version();
        for (table, keys, values) in TABLES {
            let key_cols: String = keys.iter().map(|k| format!("{k}, ")).collect();
            // Aliases differ from column names: ClickHouse substitutes a
            // SELECT alias everywhere, WHERE included.
            let sums: Vec<String> = values
                .iter()
                .map(|v| format!("sum({v}) AS s_{v}"))
                .collect();
            let mut acc = Folded::new();
            // What the coarse buckets hold already.
            let old = self.select(&format!(
                "SELECT {key_cols}start, {} FROM {}.{table} WHERE seconds = {to} \
                 AND start IN ({coarse_list}) AND {}",
                values.join(", "),
                self.db,
                self.latest(lo, hi)
            ))?;
            Self::accumulate(&old, ("start", ""), keys, values, to, &mut acc)?;
            // The fine buckets, summed per coarse bucket.
            let new = self.select(&format!(
                "SELECT {key_cols}start - start % {to} AS bucket, {} FROM {}.{table} \
                 WHERE {} GROUP BY {key_cols}bucket",
                sums.join(", "),
                self.db,
                self.latest_ended(from, cutoff)
            ))?;
            Self::accumulate(&new, ("bucket", "s_"), keys, values, to, &mut acc)?;
            let rows: Vec<Value> = acc
                .into_iter()
                .map(|((start, _), (key_values, sums))| {
                    let mut o = serde_json::Map::new();
                    o.insert("seconds".into(), json!(to));
                    o.insert("start".into(), json!(start));
                    for (k, v) in keys.iter().zip(key_values) {
                        o.insert((*k).to_string(), v);
                    }
                    for (k, v) in values.iter().zip(sums) {
                        o.insert((*k).to_string(), json!(v));
                    }
                    o.insert("version".into(), json!(version));
                    Value::Object(o)
                })
                .collect();
            self.insert(table, &rows)?;
        }
        let marks: Vec<Value> = coarse
            .iter()
            .map(|s| json!({"seconds": to, "start": s, "version": version}))
            .chain(
                fine.iter()
                    .map(|s| json!({"seconds": from, "start": s, "version": version})),
            )
            .collect();
        self.insert("versions", &marks)
    }

    /// Deletes rows that no query can see any more: buckets folded or
    /// dropped by `expire` with these cutoffs (minute, hour, day).
    ///
    /// Data rows go first. The `versions` rows of those buckets go only
    /// once no data row of them is left (checked at a later cleanup): a
    /// mutation works part by part, and deleting a tombstone before the
    /// original version row while data rows remain would bring folded
    /// minutes back.
    fn cleanup(&mut self, cutoffs: [(u64, u64); 3]) -> Result<(), StoreError> {
        let cond = cutoffs
            .iter()
            .map(|(secs, cut)| format!("(seconds = {secs} AND start + {secs} <= {cut})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        if let Some(prev) = self.versions_cleanup.clone() {
            let mut left = 0;
            for (t, _, _) in TABLES {
                left += self.count(t, &prev)?;
            }
            if left == 0 {
                if self.count("versions", &prev)? > 0 {
                    self.exec(&format!(
                        "ALTER TABLE {}.versions DELETE WHERE {prev}",
                        self.db
                    ))?;
                }
                self.versions_cleanup = None;
            }
        }
        // Superseded learned-MAC snapshots and their markers (the latest is
        // never touched, and loads read only the latest).
        let latest = self.select(&format!(
            "SELECT max(version) AS v FROM {}.versions WHERE seconds = 0 AND start = 0",
            self.db
        ))?;
        let latest = latest
            .first()
            .map(|v| num(v, "v"))
            .transpose()?
            .unwrap_or(0);
        if latest > 0 {
            let old = format!("version < {latest}");
            if self.count("learned_macs", &old)? > 0 {
                self.exec(&format!(
                    "ALTER TABLE {}.learned_macs DELETE WHERE {old}",
                    self.db
                ))?;
            }
            let old_marks = format!("seconds = 0 AND start = 0 AND {old}");
            if self.count("versions", &old_marks)? > 0 {
                self.exec(&format!(
                    "ALTER TABLE {}.versions DELETE WHERE {old_marks}",
                    self.db
                ))?;
            }
        }
        let mut any = false;
        for (t, _, _) in TABLES {
            if self.count(t, &cond)? > 0 {
                self.exec(&format!("ALTER TABLE {}.{t} DELETE WHERE {cond}", self.db))?;
                any = true;
            }
        }
        // The newer condition covers the older one (cutoffs only grow).
        if any || self.versions_cleanup.is_none() {
            self.versions_cleanup = Some(cond);
        }
        Ok(())
    }

    /// Rows of `table` matching `cond`.
    fn count(&self, table: &str, cond: &str) -> Result<u64, StoreError> {
        let n = self.select(&format!(
            "SELECT count() AS n FROM {}.{table} WHERE {cond}",
            self.db
        ))?;
        Ok(n.first().map(|v| num(v, "n")).transpose()?.unwrap_or(0))
    }

    fn next_version(&mut self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        self.last_version = now.max(self.last_version.saturating_add(1));
        self.last_version
    }
}

impl Store for ClickhouseStore {
    fn write_minute(
        &mut self,
        start: u64,
        bucket: Option<&Bucket>,
        tally: Option<&Minute>,
    ) -> Result<(), StoreError> {
        let version = self.next_version();
        if let Some(b) = bucket {
            let rows: Vec<Value> = member_rows(b)
                .into_iter()
                .map(|(asn, fam, dir, bytes, packets)| {
                    json!({"seconds": 60, "start": start, "asn": asn, "family": fam,
                           "direction": dir, "bytes": bytes, "packets": packets,
                           "version": version})
                })
                .collect();
            self.insert("member_traffic", &rows)?;
            let rows: Vec<Value> = b
                .matrix
                .iter()
                .map(|((s, d, fam), c)| {
                    json!({"seconds": 60, "start": start, "src_asn": s, "dst_asn": d,
                           "family": family_name(*fam), "bytes": c.bytes,
                           "packets": c.packets, "version": version})
                })
                .collect();
            self.insert("matrix_traffic", &rows)?;
            let rows: Vec<Value> = session_rows(b)
                .into_iter()
                .map(|(a, b2, ai, bi, obs, pk)| {
                    json!({"seconds": 60, "start": start, "a_asn": a, "b_asn": b2,
                           "a_ip": ai, "b_ip": bi, "observations": obs, "packets": pk,
                           "version": version})
                })
                .collect();
            self.insert("bgp_sessions", &rows)?;
        }
        if let Some(m) = tally {
            self.insert(
                "local_traffic",
                &[
                    json!({"seconds": 60, "start": start, "total_bytes": m.total_bytes,
                         "total_packets": m.total_packets, "local_bytes": m.local_bytes,
                         "tromboned_bytes": m.tromboned_bytes, "version": version}),
                ],
            )?;
            let rows: Vec<Value> = m
                .pairs
                .iter()
                .map(|((s, d), bytes)| {
                    json!({"seconds": 60, "start": start, "src_net": s, "dst_net": d,
                           "bytes": bytes, "version": version})
                })
                .collect();
            self.insert("tromboned_pairs", &rows)?;
        }
        self.insert(
            "versions",
            &[json!({"seconds": 60, "start": start, "version": version})],
        )
    }

    fn expire(&mut self, now: u64, r: Retention) -> Result<(), StoreError> {
        let minute_cut = now.saturating_sub(r.minutes_for);
        let hour_cut = now.saturating_sub(r.hours_for);
        let day_cut = now.saturating_sub(r.days_for);
        self.fold(60, 3600, minute_cut)?;
        self.fold(3600, 86400, hour_cut)?;
        let days = self.ended_starts(86400, day_cut)?;
        if !days.is_empty() {
            let version = self.next_version();
            let marks: Vec<Value> = days
                .iter()
                .map(|s| json!({"seconds": 86400, "start": s, "version": version}))
                .collect();
            self.insert("versions", &marks)?;
        }
        let due = self
            .last_cleanup
            .is_none_or(|t| now >= t.saturating_add(CLEANUP_EVERY) || now < t);
        if due {
            self.cleanup([(60, minute_cut), (3600, hour_cut), (86400, day_cut)])?;
            self.last_cleanup = Some(now);
        }
        Ok(())
    }

    fn members_of(
        &mut self,
        from: u64,
        to: u64,
        family: Option<Family>,
    ) -> Result<Vec<MemberRow>, StoreError> {
        let rows = self.select(&format!(
            "SELECT asn, \
             sumIf(bytes, direction = 'in') AS in_bytes, sumIf(bytes, direction = 'out') AS out_bytes, \
             sumIf(packets, direction = 'in') AS in_packets, sumIf(packets, direction = 'out') AS out_packets \
             FROM {}.member_traffic WHERE {}{} GROUP BY asn ORDER BY asn",
            self.db,
            self.latest(from, to),
            family_filter(family)
        ))?;
        rows.iter()
            .map(|r| {
                Ok(MemberRow {
                    asn: num32(r, "asn")?,
                    in_bytes: num(r, "in_bytes")?,
                    out_bytes: num(r, "out_bytes")?,
                    in_packets: num(r, "in_packets")?,
                    out_packets: num(r, "out_packets")?,
                })
            })
            .collect()
    }

    fn matrix_of(
        &mut self,
        from: u64,
        to: u64,
        family: Option<Family>,
    ) -> Result<Vec<MatrixRow>, StoreError> {
        let rows = self.select(&format!(
            "SELECT src_asn, dst_asn, sum(bytes) AS bytes, sum(packets) AS packets \
             FROM {}.matrix_traffic WHERE {}{} GROUP BY src_asn, dst_asn \
             ORDER BY src_asn, dst_asn",
            self.db,
            self.latest(from, to),
            family_filter(family)
        ))?;
        rows.iter()
            .map(|r| {
                Ok(MatrixRow {
                    src_asn: num32(r, "src_asn")?,
                    dst_asn: num32(r, "dst_asn")?,
                    bytes: num(r, "bytes")?,
                    packets: num(r, "packets")?,
                })
            })
            .collect()
    }

    fn local(&mut self, from: u64, to: u64) -> Result<Minute, StoreError> {
        let t = self.select(&format!(
            "SELECT sum(total_bytes) AS t, sum(total_packets) AS tp, sum(local_bytes) AS l, \
             sum(tromboned_bytes) AS tr FROM {}.local_traffic WHERE {}",
            self.db,
            self.latest(from, to)
        ))?;
        let mut m = Minute {
            start: from,
            ..Minute::default()
        };
        if let Some(r) = t.first() {
            m.total_bytes = num(r, "t")?;
            m.total_packets = num(r, "tp")?;
            m.local_bytes = num(r, "l")?;
            m.tromboned_bytes = num(r, "tr")?;
        }
        let rows = self.select(&format!(
            "SELECT src_net, dst_net, sum(bytes) AS bytes FROM {}.tromboned_pairs \
             WHERE {} GROUP BY src_net, dst_net",
            self.db,
            self.latest(from, to)
        ))?;
        let mut pairs = BTreeMap::new();
        for r in &rows {
            pairs.insert(
                (num32(r, "src_net")?, num32(r, "dst_net")?),
                num(r, "bytes")?,
            );
        }
        m.pairs = pairs;
        Ok(m)
    }

    fn sessions(&mut self, from: u64, to: u64) -> Result<Vec<SessionRow>, StoreError> {
        let rows = self.select(&format!(
            "SELECT a_asn, b_asn, a_ip, b_ip, min(start) AS first, max(start + seconds) AS last, \
             sum(observations) AS obs, sum(packets) AS pk FROM {}.bgp_sessions WHERE {} \
             GROUP BY a_asn, b_asn, a_ip, b_ip",
            self.db,
            self.latest(from, to)
        ))?;
        let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(SessionRow {
                    a_asn: num32(r, "a_asn")?,
                    b_asn: num32(r, "b_asn")?,
                    a_ip: parse_ip(&text(r, "a_ip")),
                    b_ip: parse_ip(&text(r, "b_ip")),
                    first_seen: num(r, "first")?,
                    last_seen: num(r, "last")?,
                    observations: num(r, "obs")?,
                    packets: num(r, "pk")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort();
        Ok(out)
    }

    fn read_minute(&mut self, start: u64) -> Result<(Option<Bucket>, Option<Minute>), StoreError> {
        let filter = format!("seconds = 60 AND {}", self.latest(start, start + 1));
        let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut b = MinuteBuilder::new(start);
        for r in &self.select(&format!(
            "SELECT asn, family, direction, bytes, packets FROM {}.member_traffic WHERE {filter}",
            self.db
        ))? {
            b.member(
                num32(r, "asn")?,
                &text(r, "family"),
                &text(r, "direction"),
                num(r, "bytes")?,
                num(r, "packets")?,
            );
        }
        for r in &self.select(&format!(
            "SELECT src_asn, dst_asn, family, bytes, packets FROM {}.matrix_traffic \
             WHERE {filter}",
            self.db
        ))? {
            b.pair(
                num32(r, "src_asn")?,
                num32(r, "dst_asn")?,
                &text(r, "family"),
                num(r, "bytes")?,
                num(r, "packets")?,
            );
        }
        for r in &self.select(&format!(
            "SELECT a_asn, b_asn, a_ip, b_ip, observations, packets FROM {}.bgp_sessions \
             WHERE {filter}",
            self.db
        ))? {
            b.session(
                num32(r, "a_asn")?,
                num32(r, "b_asn")?,
                &text(r, "a_ip"),
                &text(r, "b_ip"),
                num(r, "observations")?,
                num(r, "packets")?,
            );
        }
        let totals = self.select(&format!(
            "SELECT total_bytes, total_packets, local_bytes, tromboned_bytes \
             FROM {}.local_traffic WHERE {filter}",
            self.db
        ))?;
        let tally = match totals.first() {
            Some(r) => {
                let mut m = Minute {
                    start,
                    total_bytes: num(r, "total_bytes")?,
                    total_packets: num(r, "total_packets")?,
                    local_bytes: num(r, "local_bytes")?,
                    tromboned_bytes: num(r, "tromboned_bytes")?,
                    pairs: BTreeMap::new(),
                };
                for p in &self.select(&format!(
                    "SELECT src_net, dst_net, bytes FROM {}.tromboned_pairs WHERE {filter}",
                    self.db
                ))? {
                    m.pairs.insert(
                        (num32(p, "src_net")?, num32(p, "dst_net")?),
                        num(p, "bytes")?,
                    );
                }
                Some(m)
            }
            None => None,
        };
        Ok((b.finish(), tally))
    }

    /// A snapshot is the rows of one version plus a `versions` row
    /// (seconds 0, start 0) naming it, written last: an empty table is a
    /// snapshot too, and a half-written one is never read.
    fn save_macs(&mut self, macs: &[LearnedMac]) -> Result<(), StoreError> {
        let version = self.next_version();
        let rows: Vec<Value> = macs
            .iter()
            .map(|m| {
                json!({"mac": m.mac.to_string(), "asn": m.asn,
                       "address": m.address.to_string(), "first_seen_ms": m.first_seen.0,
                       "last_seen_ms": m.last_seen.0, "observations": m.observations,
                       "version": version})
            })
            .collect();
        self.insert("learned_macs", &rows)?;
        self.insert(
            "versions",
            &[json!({"seconds": 0, "start": 0, "version": version})],
        )
    }

    fn load_macs(&mut self) -> Result<Vec<LearnedMac>, StoreError> {
        let rows = self.select(&format!(
            "SELECT mac, asn, address, first_seen_ms, last_seen_ms, observations \
             FROM {db}.learned_macs WHERE version IN \
             (SELECT max(version) FROM {db}.versions WHERE seconds = 0 AND start = 0) \
             ORDER BY mac",
            db = self.db
        ))?;
        let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut out = Vec::new();
        for r in &rows {
            out.extend(learned_mac(
                &text(r, "mac"),
                num32(r, "asn")?,
                &text(r, "address"),
                num(r, "first_seen_ms")?,
                num(r, "last_seen_ms")?,
                num(r, "observations")?,
            ));
        }
        Ok(out)
    }
}
