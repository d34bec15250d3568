//! The collector: decode, learn router MACs, attribute, count each packet
//! from one view, aggregate. (The binary runs the same steps itself, with
//! the local-traffic tally beside them.)
//!
//! The binary owns the UDP sockets and the clock; it hands each datagram to
//! [`Collector::ingest_sflow`], [`Collector::ingest_ipfix`] or
//! [`Collector::ingest_netflow9`] with the sender's address and the arrival
//! time, calls [`Collector::expire`] now and then, and reads
//! [`Collector::aggregates`] and [`Collector::counters`]. A rejected datagram
//! is counted and its error returned for the caller to log (or not): the
//! collector itself logs nothing.

use crate::aggregate::{Aggregator, Retention};
use crate::decoder::{Counters, Decoded, Decoder, DecoderConfig};
use crate::dedupe::{Dedupe, Seen};
use crate::error::DecodeError;
use crate::members::MemberTable;
use crate::record::UnixMillis;
use std::net::IpAddr;

/// Collector settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CollectorConfig {
    /// Decoder settings (template timeout, clock skew).
    pub decoder: DecoderConfig,
    /// How long aggregates are kept at each resolution.
    pub retention: Retention,
    /// Which view counts traffic exported twice ([`crate::dedupe`]).
    pub dedupe: Dedupe,
}

/// What one datagram added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ingested {
    /// Flow records decoded (folded into the aggregates, or left out as
    /// counted by another view).
    pub records: usize,
    /// Records left out because another view counts their packets.
    pub duplicates: usize,
    /// Data sets dropped for want of a template.
    pub template_misses: u32,
}

/// Decoder, member table and aggregates together.
#[derive(Debug, Clone)]
pub struct Collector {
    members: MemberTable,
    decoder: Decoder,
    aggregator: Aggregator,
    dedupe: Dedupe,
}

impl Collector {
    /// A collector with default settings.
    pub fn new(members: MemberTable) -> Self {
        Collector::with_config(members, CollectorConfig::default())
    }

    /// A collector with these settings.
    pub fn with_config(members: MemberTable, config: CollectorConfig) -> Self {
        Collector {
            members,
            decoder: Decoder::new(config.decoder),
            aggregator: Aggregator::new(config.retention),
            dedupe: config.dedupe,
        }
    }

    fn fold(&mut self, d: Decoded) -> Ingested {
        let mut duplicates = 0;
        for r in &d.records {
            self.members.learn(r);
            let a = self.members.attribute(r);
            if self.dedupe.judge(&self.members, r, &a) != Seen::Counted {
                duplicates += 1;
                continue;
            }
            if self.dedupe.crossed_ixp(&self.members, r, &a) {
                self.aggregator.add(r, &a);
            }
        }
        Ingested {
            records: d.records.len(),
            duplicates,
            template_misses: d.template_misses,
        }
    }

    /// Ingests an sFlow v5 datagram received from `from`.
    pub fn ingest_sflow(
        &mut self,
        from: IpAddr,
        buf: &[u8],
        now: UnixMillis,
    ) -> Result<Ingested, DecodeError> {
        let d = self.decoder.sflow(from, buf, now)?;
        Ok(self.fold(d))
    }

    /// Ingests an IPFIX message received from `from`.
    pub fn ingest_ipfix(
        &mut self,
        from: IpAddr,
        buf: &[u8],
        now: UnixMillis,
    ) -> Result<Ingested, DecodeError> {
        let d = self.decoder.ipfix(from, buf, now)?;
        Ok(self.fold(d))
    }

    /// Ingests a NetFlow v9 export packet received from `from`.
    pub fn ingest_netflow9(
        &mut self,
        from: IpAddr,
        buf: &[u8],
        now: UnixMillis,
    ) -> Result<Ingested, DecodeError> {
        let d = self.decoder.netflow9(from, buf, now)?;
        Ok(self.fold(d))
    }

    /// Applies retention and template expiry at `now`.
    pub fn expire(&mut self, now: UnixMillis) {
        self.aggregator.expire(now);
        self.decoder.expire_templates(now);
    }

    /// The aggregates.
    pub fn aggregates(&self) -> &Aggregator {
        &self.aggregator
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        self.decoder.counters()
    }

    /// The decoder (templates, interface counters).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The member table.
    pub fn members(&self) -> &MemberTable {
        &self.members
    }
}
