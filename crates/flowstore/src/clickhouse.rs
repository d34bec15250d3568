//! The ClickHouse sink, over ClickHouse's HTTP interface with plain
//! `MergeTree` tables (the Debian package is ClickHouse 18.16: no
//! lightweight deletes, no TTL, so the design stays with what it has).
//!
//! Rows carry a `version` (the write time in nanoseconds, strictly
//! increasing per store). Writing a minute inserts its rows with a new
//! version and then one row into `flushes` naming (start, version); queries
//! read only the rows of each minute's latest flushed version. So a minute
//! written again replaces the earlier write without a delete, and a write
//! interrupted half-way is never seen.
//!
//! Known limitations: minutes are not rolled up into hours and days (the
//! server sums minute rows fast, which is why an IXP would choose it);
//! [`Store::expire`] deletes rows older than the day retention with an
//! `ALTER TABLE ... DELETE` mutation, and superseded versions stay on disk.

use crate::http::post;
use crate::{family_name, member_rows, MatrixRow, MemberRow, Store, StoreError};
use flow::{Bucket, Retention};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use traffic::Minute;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Flow aggregates in a ClickHouse database.
#[derive(Debug)]
pub struct ClickhouseStore {
    host: String,
    port: u16,
    db: String,
    last_version: u64,
}

fn table_ddl(db: &str) -> [String; 5] {
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
        format!("CREATE TABLE IF NOT EXISTS {db}.flushes (start UInt64, version UInt64) {mt}"),
    ]
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

    /// The filter that keeps each minute's latest flushed version.
    fn latest(&self, from: u64, to: u64) -> String {
        format!(
            "start >= {from} AND start < {to} AND (start, version) IN \
             (SELECT start, max(version) FROM {}.flushes WHERE start >= {from} AND start < {to} \
             GROUP BY start)",
            self.db
        )
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
        self.insert("flushes", &[json!({"start": start, "version": version})])
    }

    fn expire(&mut self, now: u64, r: Retention) -> Result<(), StoreError> {
        let cutoff = now.saturating_sub(r.days_for);
        for t in [
            "member_traffic",
            "matrix_traffic",
            "local_traffic",
            "tromboned_pairs",
            "flushes",
        ] {
            let has_old = self.select(&format!(
                "SELECT count() AS n FROM {}.{t} WHERE start + 60 <= {cutoff}",
                self.db
            ))?;
            if has_old
                .first()
                .map(|v| num(v, "n"))
                .transpose()?
                .unwrap_or(0)
                > 0
            {
                self.exec(&format!(
                    "ALTER TABLE {}.{t} DELETE WHERE start + 60 <= {cutoff}",
                    self.db
                ))?;
            }
        }
        Ok(())
    }

    fn members(&mut self, from: u64, to: u64) -> Result<Vec<MemberRow>, StoreError> {
        let rows = self.select(&format!(
            "SELECT asn, \
             sumIf(bytes, direction = 'in') AS in_bytes, sumIf(bytes, direction = 'out') AS out_bytes, \
             sumIf(packets, direction = 'in') AS in_packets, sumIf(packets, direction = 'out') AS out_packets \
             FROM {}.member_traffic WHERE {} GROUP BY asn ORDER BY asn",
            self.db,
            self.latest(from, to)
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

    fn matrix(&mut self, from: u64, to: u64) -> Result<Vec<MatrixRow>, StoreError> {
        let rows = self.select(&format!(
            "SELECT src_asn, dst_asn, sum(bytes) AS bytes, sum(packets) AS packets \
             FROM {}.matrix_traffic WHERE {} GROUP BY src_asn, dst_asn ORDER BY src_asn, dst_asn",
            self.db,
            self.latest(from, to)
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
}
