//! Storage of flow aggregates for caribix (SPEC §6, issue 5): the
//! one-minute buckets of the `flow` crate's [`flow::Aggregator`] (per
//! member, family and direction; per member pair and family; bilateral
//! BGP sessions between members) and the
//! local-traffic tallies of the `traffic` crate ([`traffic::Minute`]), kept
//! in SQLite ([`SqliteStore`], the default, `store = "sqlite:PATH"`) or sent
//! to ClickHouse over its HTTP interface ([`ClickhouseStore`], `store =
//! "clickhouse://HOST:PORT/DB"`). The schema is documented in
//! `docs/flow-storage.md`.
//!
//! Both stores take whole minutes ([`Store::write_minute`]); writing a
//! minute again replaces it, so the binary can flush recent minutes on
//! every tick without counting twice. Queries sum any window `[from, to)`
//! of bucket start times, across resolutions.
//!
//! Not here: decoding, attribution, classification (the `flow` and
//! `traffic` crates), and scheduling flushes (the binary).

mod clickhouse;
mod http;
mod sqlite;

pub use clickhouse::ClickhouseStore;
pub use sqlite::SqliteStore;

use flow::{Bucket, Family, LearnedMac, MacAddr, Retention, UnixMillis};
use std::fmt;
use std::path::PathBuf;
use traffic::Minute;

/// A member's traffic over a window, both families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct MemberRow {
    /// The member.
    pub asn: u32,
    /// Bytes received.
    pub in_bytes: u64,
    /// Bytes sent.
    pub out_bytes: u64,
    /// Packets received.
    pub in_packets: u64,
    /// Packets sent.
    pub out_packets: u64,
}

/// Traffic from one member to another over a window, both families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct MatrixRow {
    /// Sender.
    pub src_asn: u32,
    /// Receiver.
    pub dst_asn: u32,
    /// Bytes.
    pub bytes: u64,
    /// Packets.
    pub packets: u64,
}

/// A bilateral BGP session between two members over a window: what the
/// TCP port 179 samples between their routers add up to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionRow {
    /// The member with the lower ASN.
    pub a_asn: u32,
    /// The member with the higher ASN.
    pub b_asn: u32,
    /// `a`'s router address, when the records carried addresses.
    pub a_ip: Option<std::net::IpAddr>,
    /// `b`'s router address.
    pub b_ip: Option<std::net::IpAddr>,
    /// Start of the first bucket it was seen in (seconds).
    pub first_seen: u64,
    /// End of the last bucket it was seen in (seconds).
    pub last_seen: u64,
    /// Records (samples or flow records) seen.
    pub observations: u64,
    /// Estimated packets.
    pub packets: u64,
}

/// A store failure.
#[derive(Debug)]
pub enum StoreError {
    /// SQLite said no.
    Sqlite(rusqlite::Error),
    /// The ClickHouse server could not be reached or the exchange broke.
    Io(std::io::Error),
    /// ClickHouse answered with an error status.
    Clickhouse {
        /// HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// An answer that could not be read.
    Response(String),
    /// A store address that is neither `sqlite:PATH` nor
    /// `clickhouse://HOST:PORT/DB`.
    Url(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "SQLite flow store: {e}"),
            StoreError::Io(e) => write!(f, "ClickHouse flow store: {e}"),
            StoreError::Clickhouse { status, message } => {
                write!(f, "ClickHouse answered HTTP {status}: {}", message.trim())
            }
            StoreError::Response(m) => write!(f, "ClickHouse flow store: unreadable answer: {m}"),
            StoreError::Url(u) => write!(
                f,
                "bad flow store {u:?}: expected sqlite:PATH or clickhouse://HOST:PORT/DATABASE"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e)
    }
}

/// Where the aggregates go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite:PATH`.
    Sqlite(PathBuf),
    /// `clickhouse://HOST:PORT/DB` (HTTP interface; port 8123 by default).
    Clickhouse {
        /// Host name or address.
        host: String,
        /// HTTP port.
        port: u16,
        /// Database (created when missing).
        database: String,
    },
}

impl std::str::FromStr for StoreUrl {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Url(s.to_string());
        if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        let rest = s.strip_prefix("clickhouse://").ok_or_else(bad)?;
        let (hostport, db) = rest.split_once('/').unwrap_or((rest, "caribix"));
        let db = if db.is_empty() { "caribix" } else { db };
        if !db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad());
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad())?),
            None => (hostport, 8123),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(StoreUrl::Clickhouse {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            database: db.to_string(),
        })
    }
}

/// A flow aggregate store.
pub trait Store: Send {
    /// Stores the minute starting at `start` (seconds), replacing whatever
    /// was stored for it. Either part may be absent (no traffic of that
    /// kind in the minute).
    fn write_minute(
        &mut self,
        start: u64,
        bucket: Option<&Bucket>,
        tally: Option<&Minute>,
    ) -> Result<(), StoreError>;

    /// Applies the retention at `now` (seconds).
    fn expire(&mut self, now: u64, retention: Retention) -> Result<(), StoreError>;

    /// Per-member totals over bucket starts in `[from, to)`, by ASN, of one
    /// address family or (None) all.
    fn members_of(
        &mut self,
        from: u64,
        to: u64,
        family: Option<Family>,
    ) -> Result<Vec<MemberRow>, StoreError>;

    /// Member-to-member totals over `[from, to)`, by (source, destination),
    /// of one address family or (None) all.
    fn matrix_of(
        &mut self,
        from: u64,
        to: u64,
        family: Option<Family>,
    ) -> Result<Vec<MatrixRow>, StoreError>;

    /// Per-member totals over `[from, to)`, all families.
    fn members(&mut self, from: u64, to: u64) -> Result<Vec<MemberRow>, StoreError> {
        self.members_of(from, to, None)
    }

    /// Member-to-member totals over `[from, to)`, all families.
    fn matrix(&mut self, from: u64, to: u64) -> Result<Vec<MatrixRow>, StoreError> {
        self.matrix_of(from, to, None)
    }

    /// Local-traffic totals and tromboned pairs over `[from, to)` (the
    /// result's `start` is `from`).
    fn local(&mut self, from: u64, to: u64) -> Result<Minute, StoreError>;

    /// Bilateral sessions seen in buckets starting in `[from, to)`, by
    /// (a, b, a_ip, b_ip).
    fn sessions(&mut self, from: u64, to: u64) -> Result<Vec<SessionRow>, StoreError>;

    /// The minute starting at `start` as stored (member, matrix and session
    /// rows; the local-traffic tally), for a restarted collector to carry
    /// on from; None for a part with no rows. Counts the store does not
    /// keep (unattributed traffic, record counts) come back as zero.
    fn read_minute(&mut self, start: u64) -> Result<(Option<Bucket>, Option<Minute>), StoreError>;

    /// Replaces the saved learned-MAC table with `macs`.
    fn save_macs(&mut self, macs: &[LearnedMac]) -> Result<(), StoreError>;

    /// The learned-MAC table saved last (empty when none was), by MAC.
    fn load_macs(&mut self) -> Result<Vec<LearnedMac>, StoreError>;
}

/// Opens the store `url` names.
pub fn open(url: &StoreUrl) -> Result<Box<dyn Store>, StoreError> {
    Ok(match url {
        StoreUrl::Sqlite(p) => Box::new(SqliteStore::open(p)?),
        StoreUrl::Clickhouse {
            host,
            port,
            database,
        } => Box::new(ClickhouseStore::open(host, *port, database)?),
    })
}

/// The rows of a bucket, flattened: (asn, family, direction, bytes, packets).
fn member_rows(b: &Bucket) -> Vec<(u32, &'static str, &'static str, u64, u64)> {
    let mut out = Vec::new();
    for ((asn, fam), c) in &b.members {
        for (dir, v) in [("in", c.inbound), ("out", c.outbound)] {
            if v.bytes != 0 || v.packets != 0 {
                out.push((*asn, family_name(*fam), dir, v.bytes, v.packets));
            }
        }
    }
    out
}

/// The rows of a bucket's bilateral sessions: (a, b, a_ip, b_ip,
/// observations, packets), addresses as text ("" when unknown).
fn session_rows(b: &Bucket) -> Vec<(u32, u32, String, String, u64, u64)> {
    let ip = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    b.sessions
        .iter()
        .map(|((a, b2, ai, bi), c)| (*a, *b2, ip(*ai), ip(*bi), c.observations, c.packets))
        .collect()
}

/// A learned MAC from its stored columns; None when a column does not
/// read (a row written by something else is skipped, not fatal).
fn learned_mac(
    mac: &str,
    asn: u32,
    address: &str,
    first_seen: u64,
    last_seen: u64,
    observations: u64,
) -> Option<LearnedMac> {
    Some(LearnedMac {
        mac: mac.parse::<MacAddr>().ok()?,
        asn,
        address: address.parse().ok()?,
        first_seen: UnixMillis(first_seen),
        last_seen: UnixMillis(last_seen),
        observations,
    })
}

/// An address column back: None when empty or unreadable.
fn parse_ip(s: &str) -> Option<std::net::IpAddr> {
    s.parse().ok()
}

/// A family label back (unknown labels read as `Other`).
fn family_of(label: &str) -> Family {
    match label {
        "ipv4" => Family::Ipv4,
        "ipv6" => Family::Ipv6,
        _ => Family::Other,
    }
}

/// Builds a minute bucket from stored rows.
#[derive(Debug, Default)]
struct MinuteBuilder {
    bucket: Bucket,
    any: bool,
}

impl MinuteBuilder {
    fn new(start: u64) -> Self {
        MinuteBuilder {
            bucket: Bucket {
                start,
                seconds: 60,
                ..Bucket::default()
            },
            any: false,
        }
    }

    fn member(&mut self, asn: u32, family: &str, direction: &str, bytes: u64, packets: u64) {
        let m = self
            .bucket
            .members
            .entry((asn, family_of(family)))
            .or_default();
        let c = if direction == "in" {
            &mut m.inbound
        } else {
            &mut m.outbound
        };
        c.bytes = c.bytes.saturating_add(bytes);
        c.packets = c.packets.saturating_add(packets);
        self.any = true;
    }

    fn pair(&mut self, src: u32, dst: u32, family: &str, bytes: u64, packets: u64) {
        let c = self
            .bucket
            .matrix
            .entry((src, dst, family_of(family)))
            .or_default();
        c.bytes = c.bytes.saturating_add(bytes);
        c.packets = c.packets.saturating_add(packets);
        self.any = true;
    }

    fn session(&mut self, a: u32, b: u32, a_ip: &str, b_ip: &str, observations: u64, packets: u64) {
        let c = self
            .bucket
            .sessions
            .entry((a, b, parse_ip(a_ip), parse_ip(b_ip)))
            .or_default();
        c.observations = c.observations.saturating_add(observations);
        c.packets = c.packets.saturating_add(packets);
        self.any = true;
    }

    fn finish(self) -> Option<Bucket> {
        self.any.then_some(self.bucket)
    }
}

/// Family label stored in the tables.
pub fn family_name(f: Family) -> &'static str {
    match f {
        flow::Family::Ipv4 => "ipv4",
        flow::Family::Ipv6 => "ipv6",
        flow::Family::Other => "other",
    }
}
