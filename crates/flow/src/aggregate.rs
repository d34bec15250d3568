//! Folding attributed flow records into time buckets: per-member in/out
//! bytes and packets per address family, the member-to-member matrix, and
//! bilateral BGP sessions seen between members (per bucket, so they roll
//! up and expire with the rest, and in a running table since start).
//!
//! Records land in one-minute buckets. [`Aggregator::expire`] applies the
//! [`Retention`]: minute buckets older than the minute retention are folded
//! into hour buckets, hours into days, and days beyond the day retention are
//! dropped. Every count lives in exactly one bucket at one resolution, so
//! [`Aggregator::rollup`] can merge across resolutions without counting
//! twice. All state is in memory; storage (SQLite, ClickHouse) is the
//! binary's concern.

use crate::members::{Asn, Attribution};
use crate::record::{Family, FlowRecord, UnixMillis};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Bytes and packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Octets.
    pub bytes: u64,
    /// Packets.
    pub packets: u64,
}

impl Counts {
    fn add(&mut self, bytes: u64, packets: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.packets = self.packets.saturating_add(packets);
    }

    fn merge(&mut self, o: Counts) {
        self.add(o.bytes, o.packets);
    }
}

/// BGP packets of one bilateral session in a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionCounts {
    /// Records (samples or flow records) seen.
    pub observations: u64,
    /// Estimated packets (scaled).
    pub packets: u64,
}

/// A member's traffic in one bucket and family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemberCounts {
    /// Received by the member.
    pub inbound: Counts,
    /// Sent by the member.
    pub outbound: Counts,
}

/// Aggregates of one time interval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bucket {
    /// Start of the interval, seconds since the Unix epoch.
    pub start: u64,
    /// Length of the interval in seconds (60, 3600 or 86400).
    pub seconds: u64,
    /// Per (member, family).
    pub members: BTreeMap<(Asn, Family), MemberCounts>,
    /// Per (source member, destination member, family).
    pub matrix: BTreeMap<(Asn, Asn, Family), Counts>,
    /// BGP packets between members' routers (bilateral sessions), per
    /// (lower ASN, higher ASN, lower's router address, higher's):
    /// observations (records) and estimated packets.
    pub sessions: BTreeMap<SessionKey, SessionCounts>,
    /// Traffic with neither end attributed.
    pub unattributed: Counts,
    /// Records folded in.
    pub records: u64,
}

impl Bucket {
    fn merge(&mut self, o: &Bucket) {
        for (k, v) in &o.members {
            let m = self.members.entry(*k).or_default();
            m.inbound.merge(v.inbound);
            m.outbound.merge(v.outbound);
        }
        for (k, v) in &o.matrix {
            self.matrix.entry(*k).or_default().merge(*v);
        }
        for (k, v) in &o.sessions {
            let e = self.sessions.entry(*k).or_default();
            e.observations = e.observations.saturating_add(v.observations);
            e.packets = e.packets.saturating_add(v.packets);
        }
        self.unattributed.merge(o.unattributed);
        self.records = self.records.saturating_add(o.records);
    }

    /// A member's totals over both families.
    pub fn member_total(&self, asn: Asn) -> MemberCounts {
        let mut t = MemberCounts::default();
        for ((a, _), v) in &self.members {
            if *a == asn {
                t.inbound.merge(v.inbound);
                t.outbound.merge(v.outbound);
            }
        }
        t
    }

    /// Traffic from `src` to `dst` over both families.
    pub fn pair_total(&self, src: Asn, dst: Asn) -> Counts {
        let mut t = Counts::default();
        for ((s, d, _), v) in &self.matrix {
            if *s == src && *d == dst {
                t.merge(*v);
            }
        }
        t
    }
}

/// Time resolution of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day (UTC).
    Day,
}

impl Resolution {
    /// Seconds per bucket.
    pub fn seconds(self) -> u64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3600,
            Resolution::Day => 86400,
        }
    }
}

/// How long each resolution is kept in memory, in seconds of age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Minute buckets older than this are folded into hours.
    pub minutes_for: u64,
    /// Hour buckets older than this are folded into days.
    pub hours_for: u64,
    /// Day buckets older than this are dropped.
    pub days_for: u64,
}

impl Default for Retention {
    /// Two days of minutes, 35 days of hours, two years of days.
    fn default() -> Self {
        Retention {
            minutes_for: 2 * 86400,
            hours_for: 35 * 86400,
            days_for: 730 * 86400,
        }
    }
}

/// A BGP session between two members seen in flow data (TCP port 179
/// between two members' routers), keyed by the ordered member pair and
/// router addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilateralSession {
    /// The member with the lower ASN.
    pub a: Asn,
    /// The member with the higher ASN.
    pub b: Asn,
    /// Router address on `a`'s side, when the record had one.
    pub a_ip: Option<IpAddr>,
    /// Router address on `b`'s side.
    pub b_ip: Option<IpAddr>,
    /// First record seen.
    pub first_seen: UnixMillis,
    /// Last record seen.
    pub last_seen: UnixMillis,
    /// Records (samples or flows) seen.
    pub observations: u64,
    /// Estimated packets (scaled).
    pub packets: u64,
}

/// A bilateral session: (lower ASN, higher ASN, the lower's router
/// address, the higher's), addresses when the records carried them.
pub type SessionKey = (Asn, Asn, Option<IpAddr>, Option<IpAddr>);

/// The in-memory aggregate store.
#[derive(Debug, Clone, Default)]
pub struct Aggregator {
    retention: Retention,
    minutes: BTreeMap<u64, Bucket>,
    hours: BTreeMap<u64, Bucket>,
    days: BTreeMap<u64, Bucket>,
    sessions: BTreeMap<SessionKey, BilateralSession>,
}

impl Aggregator {
    /// An empty store with this retention.
    pub fn new(retention: Retention) -> Self {
        Aggregator {
            retention,
            ..Aggregator::default()
        }
    }

    /// Folds one attributed record into its minute bucket.
    pub fn add(&mut self, r: &FlowRecord, a: &Attribution) {
        let secs = r.timestamp.secs();
        let start = secs - secs % 60;
        let b = self.minutes.entry(start).or_insert_with(|| Bucket {
            start,
            seconds: 60,
            ..Bucket::default()
        });
        b.records += 1;
        let fam = r.family();
        if let Some(src) = a.src {
            b.members
                .entry((src, fam))
                .or_default()
                .outbound
                .add(r.bytes, r.packets);
        }
        if let Some(dst) = a.dst {
            b.members
                .entry((dst, fam))
                .or_default()
                .inbound
                .add(r.bytes, r.packets);
        }
        match (a.src, a.dst) {
            (Some(s), Some(d)) => b
                .matrix
                .entry((s, d, fam))
                .or_default()
                .add(r.bytes, r.packets),
            (None, None) => b.unattributed.add(r.bytes, r.packets),
            _ => {}
        }
        if let (Some(s), Some(d), true) = (a.src, a.dst, r.is_bgp()) {
            if s != d {
                let key = if s < d {
                    (s, d, r.src_ip, r.dst_ip)
                } else {
                    (d, s, r.dst_ip, r.src_ip)
                };
                let e = self.sessions.entry(key).or_insert(BilateralSession {
                    a: key.0,
                    b: key.1,
                    a_ip: key.2,
                    b_ip: key.3,
                    first_seen: r.timestamp,
                    last_seen: r.timestamp,
                    observations: 0,
                    packets: 0,
                });
                e.first_seen = e.first_seen.min(r.timestamp);
                e.last_seen = e.last_seen.max(r.timestamp);
                e.observations += 1;
                e.packets = e.packets.saturating_add(r.packets);
                let c = b.sessions.entry(key).or_default();
                c.observations = c.observations.saturating_add(1);
                c.packets = c.packets.saturating_add(r.packets);
            }
        }
    }

    /// Adds a minute bucket read back from storage (a restarted collector
    /// continuing the minutes its predecessor wrote), merged with what is
    /// held for that minute.
    pub fn restore_minute(&mut self, b: &Bucket) {
        let start = b.start - b.start % 60;
        self.minutes
            .entry(start)
            .or_insert_with(|| Bucket {
                start,
                seconds: 60,
                ..Bucket::default()
            })
            .merge(b);
    }

    /// Bilateral sessions seen so far.
    pub fn sessions(&self) -> impl Iterator<Item = &BilateralSession> {
        self.sessions.values()
    }

    /// The minute buckets still held, oldest first.
    pub fn minutes(&self) -> impl Iterator<Item = &Bucket> {
        self.minutes.values()
    }

    /// Buckets of `resolution` covering `[from, to)` (seconds), merged from
    /// every resolution held. Intervals with no data are left out.
    pub fn rollup(&self, resolution: Resolution, from: u64, to: u64) -> Vec<Bucket> {
        let step = resolution.seconds();
        let mut out: BTreeMap<u64, Bucket> = BTreeMap::new();
        for level in [&self.minutes, &self.hours, &self.days] {
            for b in level.range(from..to).map(|(_, b)| b) {
                // A coarser bucket than asked stays whole.
                let (start, seconds) = if b.seconds > step {
                    (b.start, b.seconds)
                } else {
                    (b.start - b.start % step, step)
                };
                out.entry(start)
                    .or_insert_with(|| Bucket {
                        start,
                        seconds,
                        ..Bucket::default()
                    })
                    .merge(b);
            }
        }
        out.into_values().collect()
    }

    /// Everything held, merged into one bucket.
    pub fn total(&self) -> Bucket {
        let mut t = Bucket::default();
        for level in [&self.minutes, &self.hours, &self.days] {
            for b in level.values() {
                t.merge(b);
            }
        }
        t.start = [&self.minutes, &self.hours, &self.days]
            .iter()
            .filter_map(|l| l.keys().next().copied())
            .min()
            .unwrap_or(0);
        t
    }

    /// Applies the retention at time `now`.
    pub fn expire(&mut self, now: UnixMillis) {
        let now = now.secs();
        let ret = self.retention;
        fold(
            &mut self.minutes,
            &mut self.hours,
            now.saturating_sub(ret.minutes_for),
            3600,
        );
        fold(
            &mut self.hours,
            &mut self.days,
            now.saturating_sub(ret.hours_for),
            86400,
        );
        let cutoff = now.saturating_sub(ret.days_for);
        self.days.retain(|start, _| *start + 86400 > cutoff);
    }
}

/// Moves buckets of `fine` that ended before `cutoff` into `coarse`.
fn fold(
    fine: &mut BTreeMap<u64, Bucket>,
    coarse: &mut BTreeMap<u64, Bucket>,
    cutoff: u64,
    step: u64,
) {
    let keep = fine.split_off(&cutoff);
    let old = std::mem::replace(fine, keep);
    for (_, b) in old {
        // A bucket that straddles the cutoff stays fine-grained.
        if b.start + b.seconds > cutoff {
            fine.insert(b.start, b);
            continue;
        }
        let start = b.start - b.start % step;
        coarse
            .entry(start)
            .or_insert_with(|| Bucket {
                start,
                seconds: step,
                ..Bucket::default()
            })
            .merge(&b);
    }
}
