//! Classification of attributed flow records, and their one-minute tallies.
//!
//! A record is
//! - [`Class::Local`] when it went member to member at the IXP: both ends
//!   attributed to different members (by MAC on the fabric, or by interface
//!   role and prefix at a member router) and it did not leave through a
//!   transit interface; or when a member router sent it out of its IXP port
//!   towards a local destination;
//! - [`Class::Tromboned`] when a member router sent it out of a transit
//!   interface although its destination is local (announced at the route
//!   server or delegated to the territory): traffic between two local
//!   networks that leaves the island and comes back;
//! - [`Class::Other`] otherwise (international traffic, or unattributed).
//!
//! The local share is local bytes over all bytes seen. Tromboned records
//! also name the pair of networks (source network, destination network)
//! that would keep the traffic local by peering, for
//! [`crate::rank_opportunities`].

use crate::local::LocalNets;
use crate::Asn;
use flow::{Attribution, FlowRecord, InterfaceRole};
use std::collections::BTreeMap;

/// How a record is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Member to member at the IXP.
    Local,
    /// Local destination, left through a transit interface.
    Tromboned,
    /// Anything else.
    Other,
}

impl Class {
    /// Lowercase name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Class::Local => "local",
            Class::Tromboned => "tromboned",
            Class::Other => "other",
        }
    }
}

/// A record's class and the networks at its ends, as far as known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// The class.
    pub class: Class,
    /// The source network: the origin of the source address at the route
    /// server or in the delegations, else the sending member.
    pub src_net: Option<Asn>,
    /// The destination network, likewise.
    pub dst_net: Option<Asn>,
}

/// Classifies one attributed record.
pub fn classify(r: &FlowRecord, a: &Attribution, nets: &LocalNets) -> Classified {
    let dst_local = r.dst_ip.and_then(|ip| nets.lookup(ip));
    let src_local = r.src_ip.and_then(|ip| nets.lookup(ip));
    let src_net = src_local.and_then(|l| l.asn).or(a.src);
    let dst_net = dst_local.and_then(|l| l.asn).or(a.dst);
    let class = match a.egress_role {
        Some(InterfaceRole::Transit) if dst_local.is_some() => Class::Tromboned,
        Some(InterfaceRole::Transit) => Class::Other,
        Some(InterfaceRole::Ixp) if dst_local.is_some() => Class::Local,
        _ => match (a.src, a.dst) {
            (Some(s), Some(d)) if s != d => Class::Local,
            _ => Class::Other,
        },
    };
    Classified {
        class,
        src_net,
        dst_net,
    }
}

/// Local-traffic counts of one interval (a minute, or a sum of minutes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minute {
    /// Start, seconds since the Unix epoch.
    pub start: u64,
    /// All bytes seen.
    pub total_bytes: u64,
    /// All packets seen.
    pub total_packets: u64,
    /// Bytes of [`Class::Local`] records.
    pub local_bytes: u64,
    /// Bytes of [`Class::Tromboned`] records.
    pub tromboned_bytes: u64,
    /// Tromboned bytes per (source network, destination network), when both
    /// are known and differ.
    pub pairs: BTreeMap<(Asn, Asn), u64>,
}

impl Minute {
    /// Adds `o` into `self` (the start is kept).
    pub fn merge(&mut self, o: &Minute) {
        self.total_bytes = self.total_bytes.saturating_add(o.total_bytes);
        self.total_packets = self.total_packets.saturating_add(o.total_packets);
        self.local_bytes = self.local_bytes.saturating_add(o.local_bytes);
        self.tromboned_bytes = self.tromboned_bytes.saturating_add(o.tromboned_bytes);
        for (k, v) in &o.pairs {
            let e = self.pairs.entry(*k).or_default();
            *e = e.saturating_add(*v);
        }
    }

    /// Local bytes over total bytes (0 when nothing was seen).
    pub fn local_share(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            self.local_bytes as f64 / self.total_bytes as f64
        }
    }
}

/// One-minute tallies, in memory until the binary flushes them.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    minutes: BTreeMap<u64, Minute>,
}

impl Tally {
    /// No tallies.
    pub fn new() -> Self {
        Tally::default()
    }

    /// Classifies `r` and counts it in its minute.
    pub fn add(&mut self, r: &FlowRecord, a: &Attribution, nets: &LocalNets) -> Classified {
        let c = classify(r, a, nets);
        let secs = r.timestamp.secs();
        let start = secs - secs % 60;
        let m = self.minutes.entry(start).or_insert_with(|| Minute {
            start,
            ..Minute::default()
        });
        m.total_bytes = m.total_bytes.saturating_add(r.bytes);
        m.total_packets = m.total_packets.saturating_add(r.packets);
        match c.class {
            Class::Local => m.local_bytes = m.local_bytes.saturating_add(r.bytes),
            Class::Tromboned => {
                m.tromboned_bytes = m.tromboned_bytes.saturating_add(r.bytes);
                if let (Some(s), Some(d)) = (c.src_net, c.dst_net) {
                    if s != d {
                        let e = m.pairs.entry((s, d)).or_default();
                        *e = e.saturating_add(r.bytes);
                    }
                }
            }
            Class::Other => {}
        }
        c
    }

    /// Adds a minute read back from storage (a restarted collector
    /// continuing the minutes its predecessor wrote).
    pub fn restore(&mut self, m: &Minute) {
        let start = m.start - m.start % 60;
        self.minutes
            .entry(start)
            .or_insert_with(|| Minute {
                start,
                ..Minute::default()
            })
            .merge(m);
    }

    /// The minutes held, oldest first.
    pub fn minutes(&self) -> impl Iterator<Item = &Minute> {
        self.minutes.values()
    }

    /// The minute starting at `start`, if any traffic fell in it.
    pub fn minute(&self, start: u64) -> Option<&Minute> {
        self.minutes.get(&start)
    }

    /// Sum of the minutes starting in `[from, to)`.
    pub fn sum(&self, from: u64, to: u64) -> Minute {
        let mut t = Minute {
            start: from,
            ..Minute::default()
        };
        for m in self.minutes.range(from..to).map(|(_, m)| m) {
            t.merge(m);
        }
        t
    }

    /// Drops minutes that started before `cutoff` (seconds), once stored.
    pub fn drop_before(&mut self, cutoff: u64) {
        self.minutes = self.minutes.split_off(&cutoff);
    }
}
