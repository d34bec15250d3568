//! The embedded SQLite store: five tables keyed by (resolution, bucket
//! start, ...), written minute by minute in one transaction each, rolled up
//! from minutes to hours to days by [`Store::expire`] with the same
//! [`Retention`] rules as the in-memory aggregator (a bucket is folded once
//! it ended before the cutoff; days past the day retention are deleted).
//! Schema: `docs/flow-storage.md`.

use crate::{
    family_name, learned_mac, member_rows, parse_ip, session_rows, MatrixRow, MemberRow,
    MinuteBuilder, SessionRow, Store, StoreError,
};
use flow::{Bucket, Family, LearnedMac, Retention};
use rusqlite::{params, Connection};
use std::path::Path;
use traffic::Minute;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS member_traffic (
    seconds INTEGER NOT NULL, start INTEGER NOT NULL, asn INTEGER NOT NULL,
    family TEXT NOT NULL, direction TEXT NOT NULL,
    bytes INTEGER NOT NULL, packets INTEGER NOT NULL,
    PRIMARY KEY (seconds, start, asn, family, direction)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS matrix_traffic (
    seconds INTEGER NOT NULL, start INTEGER NOT NULL,
    src_asn INTEGER NOT NULL, dst_asn INTEGER NOT NULL, family TEXT NOT NULL,
    bytes INTEGER NOT NULL, packets INTEGER NOT NULL,
    PRIMARY KEY (seconds, start, src_asn, dst_asn, family)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS local_traffic (
    seconds INTEGER NOT NULL, start INTEGER NOT NULL,
    total_bytes INTEGER NOT NULL, total_packets INTEGER NOT NULL,
    local_bytes INTEGER NOT NULL, tromboned_bytes INTEGER NOT NULL,
    PRIMARY KEY (seconds, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tromboned_pairs (
    seconds INTEGER NOT NULL, start INTEGER NOT NULL,
    src_net INTEGER NOT NULL, dst_net INTEGER NOT NULL, bytes INTEGER NOT NULL,
    PRIMARY KEY (seconds, start, src_net, dst_net)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bgp_sessions (
    seconds INTEGER NOT NULL, start INTEGER NOT NULL,
    a_asn INTEGER NOT NULL, b_asn INTEGER NOT NULL, a_ip TEXT NOT NULL, b_ip TEXT NOT NULL,
    observations INTEGER NOT NULL, packets INTEGER NOT NULL,
    PRIMARY KEY (seconds, start, a_asn, b_asn, a_ip, b_ip)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learned_macs (
    mac TEXT PRIMARY KEY NOT NULL, asn INTEGER NOT NULL, address TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,
    observations INTEGER NOT NULL) WITHOUT ROWID;
";

/// Keys and value columns of each table, for the generic rollup.
const TABLES: [(&str, &str, &str); 5] = [
    ("member_traffic", "asn, family, direction", "bytes, packets"),
    (
        "matrix_traffic",
        "src_asn, dst_asn, family",
        "bytes, packets",
    ),
    (
        "local_traffic",
        "",
        "total_bytes, total_packets, local_bytes, tromboned_bytes",
    ),
    ("tromboned_pairs", "src_net, dst_net", "bytes"),
    (
        "bgp_sessions",
        "a_asn, b_asn, a_ip, b_ip",
        "observations, packets",
    ),
];

/// SQLite integers are signed 64-bit: larger counts are clamped.
fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Flow aggregates in an SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path`, creating its
    /// parent directory and the tables.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        SqliteStore::with_connection(Connection::open(path)?)
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        SqliteStore::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore { conn })
    }

    /// Folds buckets of `from` seconds that ended before `cutoff` into
    /// buckets of `to` seconds.
    fn fold(&mut self, from: u64, to: u64, cutoff: u64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for (table, keys, values) in TABLES {
            let sums: Vec<String> = values.split(", ").map(|v| format!("SUM({v})")).collect();
            let updates: Vec<String> = values
                .split(", ")
                .map(|v| format!("{v} = {v} + excluded.{v}"))
                .collect();
            let (kc, kg) = if keys.is_empty() {
                (String::new(), String::new())
            } else {
                (format!(", {keys}"), format!(", {keys}"))
            };
            let sql = format!(
                "INSERT INTO {table} (seconds, start{kc}, {values})
                 SELECT ?1, start - start % ?1{kc}, {sums}
                 FROM {table} WHERE seconds = ?2 AND start + ?2 <= ?3
                 GROUP BY start - start % ?1{kg}
                 ON CONFLICT (seconds, start{kc}) DO UPDATE SET {updates}",
                sums = sums.join(", "),
                updates = updates.join(", ")
            );
            tx.execute(&sql, params![i(to), i(from), i(cutoff)])?;
            tx.execute(
                &format!("DELETE FROM {table} WHERE seconds = ?1 AND start + ?1 <= ?2"),
                params![i(from), i(cutoff)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl Store for SqliteStore {
    fn write_minute(
        &mut self,
        start: u64,
        bucket: Option<&Bucket>,
        tally: Option<&Minute>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for (table, _, _) in TABLES {
            tx.execute(
                &format!("DELETE FROM {table} WHERE seconds = 60 AND start = ?1"),
                params![i(start)],
            )?;
        }
        if let Some(b) = bucket {
            let mut ins = tx
                .prepare_cached("INSERT INTO member_traffic VALUES (60, ?1, ?2, ?3, ?4, ?5, ?6)")?;
            for (asn, fam, dir, bytes, packets) in member_rows(b) {
                ins.execute(params![i(start), asn, fam, dir, i(bytes), i(packets)])?;
            }
            let mut ins = tx
                .prepare_cached("INSERT INTO matrix_traffic VALUES (60, ?1, ?2, ?3, ?4, ?5, ?6)")?;
            for ((s, d, fam), c) in &b.matrix {
                ins.execute(params![
                    i(start),
                    s,
                    d,
                    family_name(*fam),
                    i(c.bytes),
                    i(c.packets)
                ])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT INTO bgp_sessions VALUES (60, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (a, b2, ai, bi, obs, pk) in session_rows(b) {
                ins.execute(params![i(start), a, b2, ai, bi, i(obs), i(pk)])?;
            }
        }
        if let Some(m) = tally {
            tx.execute(
                "INSERT INTO local_traffic VALUES (60, ?1, ?2, ?3, ?4, ?5)",
                params![
                    i(start),
                    i(m.total_bytes),
                    i(m.total_packets),
                    i(m.local_bytes),
                    i(m.tromboned_bytes)
                ],
            )?;
            let mut ins =
                tx.prepare_cached("INSERT INTO tromboned_pairs VALUES (60, ?1, ?2, ?3, ?4)")?;
            for ((s, d), bytes) in &m.pairs {
                ins.execute(params![i(start), s, d, i(*bytes)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn expire(&mut self, now: u64, r: Retention) -> Result<(), StoreError> {
        self.fold(60, 3600, now.saturating_sub(r.minutes_for))?;
        self.fold(3600, 86400, now.saturating_sub(r.hours_for))?;
        let cutoff = now.saturating_sub(r.days_for);
        for (table, _, _) in TABLES {
            self.conn.execute(
                &format!("DELETE FROM {table} WHERE seconds = 86400 AND start + 86400 <= ?1"),
                params![i(cutoff)],
            )?;
        }
        Ok(())
    }

    fn members_of(
        &mut self,
        from: u64,
        to: u64,
        family: Option<Family>,
    ) -> Result<Vec<MemberRow>, StoreError> {
        let mut q = self.conn.prepare_cached(
            "SELECT asn,
                    SUM(CASE WHEN direction = 'in' THEN bytes ELSE 0 END),
                    SUM(CASE WHEN direction = 'out' THEN bytes ELSE 0 END),
                    SUM(CASE WHEN direction = 'in' THEN packets ELSE 0 END),
                    SUM(CASE WHEN direction = 'out' THEN packets ELSE 0 END)
             FROM member_traffic WHERE start >= ?1 AND start < ?2
                  AND (?3 IS NULL OR family = ?3)
             GROUP BY asn ORDER BY asn",
        )?;
        let fam = family.map(family_name);
        let rows = q.query_map(params![i(from), i(to), fam], |r| {
            Ok(MemberRow {
                asn: r.get(0)?,
                in_bytes: u(r.get(1)?),
                out_bytes: u(r.get(2)?),
                in_packets: u(r.get(3)?),
                out_packets: u(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn matrix_of(
        &mut self,
        from: u64,
        to: u64,
        family: Option<Family>,
    ) -> Result<Vec<MatrixRow>, StoreError> {
        let mut q = self.conn.prepare_cached(
            "SELECT src_asn, dst_asn, SUM(bytes), SUM(packets)
             FROM matrix_traffic WHERE start >= ?1 AND start < ?2
                  AND (?3 IS NULL OR family = ?3)
             GROUP BY src_asn, dst_asn ORDER BY src_asn, dst_asn",
        )?;
        let fam = family.map(family_name);
        let rows = q.query_map(params![i(from), i(to), fam], |r| {
            Ok(MatrixRow {
                src_asn: r.get(0)?,
                dst_asn: r.get(1)?,
                bytes: u(r.get(2)?),
                packets: u(r.get(3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn local(&mut self, from: u64, to: u64) -> Result<Minute, StoreError> {
        let mut m = Minute {
            start: from,
            ..Minute::default()
        };
        let (t, tp, l, tr): (i64, i64, i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(total_bytes), 0), COALESCE(SUM(total_packets), 0),
                    COALESCE(SUM(local_bytes), 0), COALESCE(SUM(tromboned_bytes), 0)
             FROM local_traffic WHERE start >= ?1 AND start < ?2",
            params![i(from), i(to)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        m.total_bytes = u(t);
        m.total_packets = u(tp);
        m.local_bytes = u(l);
        m.tromboned_bytes = u(tr);
        let mut q = self.conn.prepare_cached(
            "SELECT src_net, dst_net, SUM(bytes) FROM tromboned_pairs
             WHERE start >= ?1 AND start < ?2 GROUP BY src_net, dst_net",
        )?;
        let rows = q.query_map(params![i(from), i(to)], |r| {
            Ok(((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?), u(r.get(2)?)))
        })?;
        for row in rows {
            let (k, v) = row?;
            m.pairs.insert(k, v);
        }
        Ok(m)
    }

    fn sessions(&mut self, from: u64, to: u64) -> Result<Vec<SessionRow>, StoreError> {
        let mut q = self.conn.prepare_cached(
            "SELECT a_asn, b_asn, a_ip, b_ip, MIN(start), MAX(start + seconds),
                    SUM(observations), SUM(packets)
             FROM bgp_sessions WHERE start >= ?1 AND start < ?2
             GROUP BY a_asn, b_asn, a_ip, b_ip ORDER BY a_asn, b_asn, a_ip, b_ip",
        )?;
        let rows = q.query_map(params![i(from), i(to)], |r| {
            Ok(SessionRow {
                a_asn: r.get(0)?,
                b_asn: r.get(1)?,
                a_ip: parse_ip(&r.get::<_, String>(2)?),
                b_ip: parse_ip(&r.get::<_, String>(3)?),
                first_seen: u(r.get(4)?),
                last_seen: u(r.get(5)?),
                observations: u(r.get(6)?),
                packets: u(r.get(7)?),
            })
        })?;
        let mut v: Vec<SessionRow> = rows.collect::<Result<_, _>>()?;
        v.sort();
        Ok(v)
    }

    fn read_minute(&mut self, start: u64) -> Result<(Option<Bucket>, Option<Minute>), StoreError> {
        let mut b = MinuteBuilder::new(start);
        let mut q = self.conn.prepare_cached(
            "SELECT asn, family, direction, bytes, packets FROM member_traffic
             WHERE seconds = 60 AND start = ?1",
        )?;
        let rows = q.query_map(params![i(start)], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                u(r.get(3)?),
                u(r.get(4)?),
            ))
        })?;
        for row in rows {
            let (asn, fam, dir, bytes, packets) = row?;
            b.member(asn, &fam, &dir, bytes, packets);
        }
        let mut q = self.conn.prepare_cached(
            "SELECT src_asn, dst_asn, family, bytes, packets FROM matrix_traffic
             WHERE seconds = 60 AND start = ?1",
        )?;
        let rows = q.query_map(params![i(start)], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                u(r.get(3)?),
                u(r.get(4)?),
            ))
        })?;
        for row in rows {
            let (s, d, fam, bytes, packets) = row?;
            b.pair(s, d, &fam, bytes, packets);
        }
        let mut q = self.conn.prepare_cached(
            "SELECT a_asn, b_asn, a_ip, b_ip, observations, packets FROM bgp_sessions
             WHERE seconds = 60 AND start = ?1",
        )?;
        let rows = q.query_map(params![i(start)], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                u(r.get(4)?),
                u(r.get(5)?),
            ))
        })?;
        for row in rows {
            let (a, b2, ai, bi, obs, pk) = row?;
            b.session(a, b2, &ai, &bi, obs, pk);
        }
        let mut q = self.conn.prepare_cached(
            "SELECT total_bytes, total_packets, local_bytes, tromboned_bytes FROM local_traffic
             WHERE seconds = 60 AND start = ?1",
        )?;
        let mut rows = q.query_map(params![i(start)], |r| {
            Ok(Minute {
                start,
                total_bytes: u(r.get(0)?),
                total_packets: u(r.get(1)?),
                local_bytes: u(r.get(2)?),
                tromboned_bytes: u(r.get(3)?),
                pairs: Default::default(),
            })
        })?;
        let tally = rows.next().transpose()?;
        drop(rows);
        let tally = match tally {
            Some(mut m) => {
                let mut q = self.conn.prepare_cached(
                    "SELECT src_net, dst_net, bytes FROM tromboned_pairs
                     WHERE seconds = 60 AND start = ?1",
                )?;
                let rows = q.query_map(params![i(start)], |r| {
                    Ok(((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?), u(r.get(2)?)))
                })?;
                for row in rows {
                    let (k, v) = row?;
                    m.pairs.insert(k, v);
                }
                Some(m)
            }
            None => None,
        };
        Ok((b.finish(), tally))
    }

    fn save_macs(&mut self, macs: &[LearnedMac]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM learned_macs", [])?;
        {
            let mut ins =
                tx.prepare_cached("INSERT INTO learned_macs VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
            for m in macs {
                ins.execute(params![
                    m.mac.to_string(),
                    m.asn,
                    m.address.to_string(),
                    i(m.first_seen.0),
                    i(m.last_seen.0),
                    i(m.observations)
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn load_macs(&mut self) -> Result<Vec<LearnedMac>, StoreError> {
        let mut q = self.conn.prepare_cached(
            "SELECT mac, asn, address, first_seen_ms, last_seen_ms, observations
             FROM learned_macs ORDER BY mac",
        )?;
        let rows = q.query_map([], |r| {
            Ok(learned_mac(
                &r.get::<_, String>(0)?,
                r.get(1)?,
                &r.get::<_, String>(2)?,
                u(r.get(3)?),
                u(r.get(4)?),
                u(r.get(5)?),
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(row?);
        }
        Ok(out)
    }
}
