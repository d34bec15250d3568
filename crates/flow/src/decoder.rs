//! The stateful half of decoding: template caches, sampler tables, sequence
//! tracking and counters, turning datagrams into [`FlowRecord`]s.
//!
//! One [`Decoder`] serves every exporter. Sequence numbers are tracked per
//! sFlow (agent, sub-agent) for datagrams and per data source for samples
//! (sFlow v5 §5), per (exporter, observation domain) for IPFIX data records
//! (RFC 7011 §3.1) and per (exporter, source ID) for NetFlow v9 packets
//! (RFC 3954 §5.1). A jump forward of up to [`MAX_GAP`] counts as loss; a
//! step backwards or a larger jump counts as a restart and is not loss.
//!
//! Data sets whose template is unknown (never seen, withdrawn or expired) are
//! counted as template misses and dropped, or, with
//! [`DecoderConfig::miss_buffer_ms`], held briefly and decoded if their
//! template arrives in time (bounded by [`DecoderConfig::miss_buffer_sets`]). Options
//! data carrying sampling elements set the rate for later data records of
//! the same domain (by sampler ID when the records carry one).

use crate::error::{DecodeError, ErrorKind};
use crate::ipfix::{self, TemplateRecord};
use crate::netflow9;
use crate::reader::Reader;
use crate::record::{FlowRecord, FlowSource, UnixMillis};
use crate::sflow::{self, CounterData, IfCounters, Sample};
use crate::template::{decode_record, Fields, Lookup, Samplers, Template, TemplateCache};
use crate::FastMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Largest forward sequence jump still counted as loss.
pub const MAX_GAP: u32 = 1 << 20;

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Templates not refreshed for this long are dropped (RFC 7011 §8.4
    /// suggests a multiple of the exporter's refresh interval). `None`:
    /// never.
    pub template_timeout_ms: Option<u64>,
    /// Flow timestamps further than this from the arrival time are replaced
    /// by the arrival time (a wrong exporter clock must not scatter traffic
    /// over distant buckets).
    pub max_clock_skew_ms: u64,
    /// Most templates held over all exporters (IPFIX and NetFlow v9 each).
    pub max_templates: usize,
    /// Most sequence streams (agents, sources, domains) and interfaces
    /// tracked per protocol; beyond it new ones are not tracked.
    pub max_tracked: usize,
    /// Data sets that arrive before their template are kept this long and
    /// decoded if the template arrives in time (an exporter's first data
    /// often precedes its periodic template refresh). `None`: drop them at
    /// once.
    pub miss_buffer_ms: Option<u64>,
    /// Most data sets held for a template at once.
    pub miss_buffer_sets: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            template_timeout_ms: Some(30 * 60 * 1000),
            max_clock_skew_ms: 60 * 60 * 1000,
            max_templates: 65_536,
            max_tracked: 65_536,
            miss_buffer_ms: None,
            miss_buffer_sets: 128,
        }
    }
}

/// Counters for metrics. All only grow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// sFlow datagrams received (decoded or not).
    pub sflow_datagrams: u64,
    /// Flow samples decoded.
    pub sflow_flow_samples: u64,
    /// Counter samples decoded.
    pub sflow_counter_samples: u64,
    /// Samples of unknown formats skipped.
    pub sflow_unknown_samples: u64,
    /// sFlow datagrams lost, from per-agent sequence gaps.
    pub sflow_lost_datagrams: u64,
    /// Flow and counter samples lost, from per-source sequence gaps.
    pub sflow_lost_samples: u64,
    /// IPFIX messages received.
    pub ipfix_messages: u64,
    /// IPFIX data records lost, from sequence gaps.
    pub ipfix_lost_records: u64,
    /// NetFlow v9 packets received.
    pub netflow9_packets: u64,
    /// NetFlow v9 packets lost, from sequence gaps.
    pub netflow9_lost_packets: u64,
    /// Sequence restarts (steps backwards or jumps above [`MAX_GAP`]), all
    /// protocols.
    pub sequence_resets: u64,
    /// Datagrams repeating the last sequence number.
    pub sequence_duplicates: u64,
    /// IPFIX/NetFlow v9 data records decoded (flow and options).
    pub data_records: u64,
    /// Options data records among them.
    pub options_records: u64,
    /// Data sets that arrived without a template (dropped, or buffered when
    /// [`DecoderConfig::miss_buffer_ms`] is set).
    pub template_misses: u64,
    /// Buffered data sets decoded once their template arrived.
    pub template_misses_recovered: u64,
    /// Templates learned or refreshed.
    pub templates_learned: u64,
    /// Templates withdrawn (IPFIX).
    pub templates_withdrawn: u64,
    /// Templates expired.
    pub templates_expired: u64,
    /// New templates refused because the cache was full.
    pub templates_refused: u64,
    /// Flow records produced.
    pub flow_records: u64,
    /// Flow timestamps replaced by the arrival time.
    pub clock_skew: u64,
    decode_errors: [u64; ErrorKind::ALL.len()],
}

impl Counters {
    /// Datagrams dropped for one kind of decode error.
    pub fn decode_errors(&self, kind: ErrorKind) -> u64 {
        self.decode_errors.get(kind.index()).copied().unwrap_or(0)
    }

    /// Datagrams dropped for any decode error.
    pub fn total_decode_errors(&self) -> u64 {
        self.decode_errors.iter().sum()
    }

    /// Every counter as (metric name, value), decode errors as
    /// `decode_errors_<kind>`, for the binary's metrics endpoint.
    pub fn metrics(&self) -> Vec<(String, u64)> {
        let mut m: Vec<(String, u64)> = [
            ("sflow_datagrams", self.sflow_datagrams),
            ("sflow_flow_samples", self.sflow_flow_samples),
            ("sflow_counter_samples", self.sflow_counter_samples),
            ("sflow_unknown_samples", self.sflow_unknown_samples),
            ("sflow_lost_datagrams", self.sflow_lost_datagrams),
            ("sflow_lost_samples", self.sflow_lost_samples),
            ("ipfix_messages", self.ipfix_messages),
            ("ipfix_lost_records", self.ipfix_lost_records),
            ("netflow9_packets", self.netflow9_packets),
            ("netflow9_lost_packets", self.netflow9_lost_packets),
            ("sequence_resets", self.sequence_resets),
            ("sequence_duplicates", self.sequence_duplicates),
            ("data_records", self.data_records),
            ("options_records", self.options_records),
            ("template_misses", self.template_misses),
            ("template_misses_recovered", self.template_misses_recovered),
            ("templates_learned", self.templates_learned),
            ("templates_withdrawn", self.templates_withdrawn),
            ("templates_expired", self.templates_expired),
            ("templates_refused", self.templates_refused),
            ("flow_records", self.flow_records),
            ("clock_skew", self.clock_skew),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for kind in ErrorKind::ALL {
            m.push((
                format!("decode_errors_{}", kind.name()),
                self.decode_errors(kind),
            ));
        }
        m
    }

    fn error(&mut self, e: &DecodeError) {
        if let Some(c) = self.decode_errors.get_mut(e.kind().index()) {
            *c += 1;
        }
    }
}

/// What one datagram gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The flow records, scaled (with records of earlier buffered data sets
    /// whose template this datagram brought).
    pub records: Vec<FlowRecord>,
    /// Data sets of this datagram without a template.
    pub template_misses: u32,
}

/// How a protocol dates a record that has no absolute time of its own.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// IPFIX: uptime-relative times need systemInitTimeMilliseconds; else
    /// the export time.
    Ipfix { export_ms: u64 },
    /// NetFlow v9: uptime-relative times against the header's uptime and
    /// export time (RFC 3954 §8, types 21/22).
    Netflow9 { export_ms: u64, uptime_ms: u64 },
}

impl Clock {
    fn time(self, f: &Fields) -> u64 {
        let absolute = f.end_ms.or(f.start_ms);
        match self {
            Clock::Ipfix { export_ms } => absolute
                .or_else(|| {
                    let init = f.system_init_ms?;
                    Some(init.saturating_add(f.end_uptime_ms.or(f.start_uptime_ms)?))
                })
                .unwrap_or(export_ms),
            Clock::Netflow9 {
                export_ms,
                uptime_ms,
            } => absolute
                .or_else(|| {
                    let at = f.end_uptime_ms.or(f.start_uptime_ms)?;
                    Some(export_ms.saturating_sub(uptime_ms.saturating_sub(at)))
                })
                .unwrap_or(export_ms),
        }
    }
}

/// A data set waiting for its template.
#[derive(Debug, Clone)]
struct Pending {
    ctx: Ctx,
    template_id: u16,
    body: Vec<u8>,
    arrived: UnixMillis,
}

/// Outcome of a sequence observation.
enum Seq {
    InOrder,
    Lost(u32),
    Duplicate,
    Reset,
}

/// Inserts into a tracking map unless it is full and the key is new.
/// Runs `decode` into `out`, cleared first and left empty on error.
fn into(
    out: &mut Decoded,
    decode: impl FnOnce(&mut Decoded) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    out.records.clear();
    out.template_misses = 0;
    let r = decode(out);
    if r.is_err() {
        out.records.clear();
        out.template_misses = 0;
    }
    r
}

/// Decodes the samples of an sFlow datagram: the records of its flow
/// samples into `records`, what the decoder must count and track into
/// `seen`; gives the agent, sub-agent and datagram sequence number. Flow
/// samples are decoded as views, without allocating.
fn sflow_samples(
    exporter: IpAddr,
    buf: &[u8],
    now: UnixMillis,
    records: &mut Vec<FlowRecord>,
    seen: &mut Vec<SflowSeen>,
) -> Result<(IpAddr, u32, u32), DecodeError> {
    let mut it = sflow::samples(buf)?;
    let (agent, sub_agent) = (it.agent, it.sub_agent);
    while let Some((format, data)) = it.next_sample()? {
        if let Some(f) = sflow::decode_flow_view(format, data)? {
            if let Some(rec) = sflow::view_record(exporter, agent, sub_agent, &f, now) {
                records.push(rec);
            }
            seen.push(SflowSeen::Sample {
                source: f.source_id(),
                seq: f.sequence,
                flow: true,
            });
            continue;
        }
        match sflow::decode_sample(format, data)? {
            Sample::Counters(c) => {
                for r in &c.records {
                    if let CounterData::Generic(g) = r {
                        seen.push(SflowSeen::Interface(*g));
                    }
                }
                seen.push(SflowSeen::Sample {
                    source: (c.source_id_type << 24) | (c.source_id_index & 0x00ff_ffff),
                    seq: c.sequence,
                    flow: false,
                });
            }
            // Flow samples were taken above.
            Sample::Flow(_) | Sample::Unknown { .. } => seen.push(SflowSeen::Unknown),
        }
    }
    Ok((agent, sub_agent, it.sequence))
}

fn track<K: std::hash::Hash + Eq, V>(map: &mut FastMap<K, V>, key: K, value: V, limit: usize) {
    if map.len() < limit || map.contains_key(&key) {
        map.insert(key, value);
    }
}

/// Replaces the last sequence number of `key` with `now` (tracked unless
/// the map is full and the key is new) and returns the previous one: one
/// hash lookup for a known stream, which is every datagram but its first.
fn swap_seq<K: std::hash::Hash + Eq>(
    map: &mut FastMap<K, u32>,
    key: K,
    now: u32,
    limit: usize,
) -> Option<u32> {
    if let Some(v) = map.get_mut(&key) {
        return Some(std::mem::replace(v, now));
    }
    if map.len() < limit {
        map.insert(key, now);
    }
    None
}

fn observe(last: Option<u32>, now: u32, step: u32) -> Seq {
    let Some(last) = last else {
        return Seq::InOrder;
    };
    let d = now.wrapping_sub(last);
    if d == step {
        Seq::InOrder
    } else if d == 0 {
        Seq::Duplicate
    } else if d > step && d - step <= MAX_GAP {
        Seq::Lost(d - step)
    } else {
        Seq::Reset
    }
}

/// The stateful flow decoder for all exporters.
#[derive(Debug, Clone)]
pub struct Decoder {
    config: DecoderConfig,
    ipfix_templates: TemplateCache,
    nf9_templates: TemplateCache,
    ipfix_samplers: Samplers,
    nf9_samplers: Samplers,
    sflow_seq: FastMap<(IpAddr, u32), u32>,
    sflow_sample_seq: FastMap<(IpAddr, u32, u32, bool), u32>,
    ipfix_expected: FastMap<(IpAddr, u32), u32>,
    nf9_seq: FastMap<(IpAddr, u32), u32>,
    if_counters: FastMap<(IpAddr, u32), IfCounters>,
    pending: Vec<Pending>,
    counters: Counters,
    /// The samples of the sFlow datagram being decoded, applied once it
    /// has decoded whole (kept for the allocation).
    sflow_scratch: Vec<SflowSeen>,
}

/// What an sFlow sample changes in the decoder's state.
#[derive(Debug, Clone, Copy)]
enum SflowSeen {
    /// A flow (`true`) or counter sample: data source and sequence.
    Sample { source: u32, seq: u32, flow: bool },
    /// Generic interface counters.
    Interface(IfCounters),
    /// A sample of a format not known here.
    Unknown,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecoderConfig::default())
    }
}

impl Decoder {
    /// A decoder with no templates and no history.
    pub fn new(config: DecoderConfig) -> Self {
        Decoder {
            config,
            ipfix_templates: TemplateCache::new(config.template_timeout_ms),
            nf9_templates: TemplateCache::new(config.template_timeout_ms),
            ipfix_samplers: Samplers::default(),
            nf9_samplers: Samplers::default(),
            sflow_seq: FastMap::default(),
            sflow_sample_seq: FastMap::default(),
            ipfix_expected: FastMap::default(),
            nf9_seq: FastMap::default(),
            if_counters: FastMap::default(),
            pending: Vec::new(),
            counters: Counters::default(),
            sflow_scratch: Vec::new(),
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Latest generic interface counters per (sFlow agent, ifIndex).
    pub fn interface_counters(&self) -> &FastMap<(IpAddr, u32), IfCounters> {
        &self.if_counters
    }

    /// Templates held (IPFIX, NetFlow v9).
    pub fn template_counts(&self) -> (usize, usize) {
        (self.ipfix_templates.len(), self.nf9_templates.len())
    }

    /// Drops stale templates now rather than at their next use.
    pub fn expire_templates(&mut self, now: UnixMillis) {
        let n = self.ipfix_templates.sweep(now) + self.nf9_templates.sweep(now);
        self.counters.templates_expired += n as u64;
    }

    fn timestamp(&mut self, ts: Option<u64>, now: UnixMillis) -> UnixMillis {
        match ts {
            Some(t) if t.abs_diff(now.0) <= self.config.max_clock_skew_ms => UnixMillis(t),
            Some(_) => {
                self.counters.clock_skew += 1;
                now
            }
            None => now,
        }
    }

    /// Decodes an sFlow v5 datagram from `exporter`.
    pub fn sflow(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
    ) -> Result<Decoded, DecodeError> {
        let mut out = Decoded::default();
        self.sflow_into(exporter, buf, now, &mut out)?;
        Ok(out)
    }

    /// Decodes an sFlow v5 datagram from `exporter` into `out`, which is
    /// cleared first, so that a collector can keep one [`Decoded`] and its
    /// allocation across datagrams. On error `out` is left empty.
    pub fn sflow_into(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
        out: &mut Decoded,
    ) -> Result<(), DecodeError> {
        out.records.clear();
        out.template_misses = 0;
        self.counters.sflow_datagrams += 1;
        let mut seen = std::mem::take(&mut self.sflow_scratch);
        seen.clear();
        // Decoded whole before anything is counted or tracked: a datagram
        // is taken or rejected whole.
        let r = sflow_samples(exporter, buf, now, &mut out.records, &mut seen);
        let (agent, sub_agent, sequence) = match r {
            Ok(v) => v,
            Err(e) => {
                out.records.clear();
                self.sflow_scratch = seen;
                self.counters.error(&e);
                return Err(e);
            }
        };
        let limit = self.config.max_tracked;
        let last = swap_seq(&mut self.sflow_seq, (agent, sub_agent), sequence, limit);
        match observe(last, sequence, 1) {
            Seq::Lost(n) => self.counters.sflow_lost_datagrams += u64::from(n),
            Seq::Duplicate => self.counters.sequence_duplicates += 1,
            Seq::Reset => self.counters.sequence_resets += 1,
            Seq::InOrder => {}
        }
        for s in &seen {
            let (source, seq, flow) = match *s {
                SflowSeen::Sample { source, seq, flow } => {
                    if flow {
                        self.counters.sflow_flow_samples += 1;
                    } else {
                        self.counters.sflow_counter_samples += 1;
                    }
                    (source, seq, flow)
                }
                SflowSeen::Interface(g) => {
                    track(&mut self.if_counters, (agent, g.if_index), g, limit);
                    continue;
                }
                SflowSeen::Unknown => {
                    self.counters.sflow_unknown_samples += 1;
                    continue;
                }
            };
            let key = (agent, sub_agent, source, flow);
            let last = swap_seq(&mut self.sflow_sample_seq, key, seq, limit);
            match observe(last, seq, 1) {
                Seq::Lost(n) => self.counters.sflow_lost_samples += u64::from(n),
                Seq::Reset => self.counters.sequence_resets += 1,
                Seq::Duplicate => self.counters.sequence_duplicates += 1,
                Seq::InOrder => {}
            }
        }
        self.sflow_scratch = seen;
        self.counters.flow_records += out.records.len() as u64;
        Ok(())
    }

    /// Decodes an IPFIX message from `exporter`.
    pub fn ipfix(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
    ) -> Result<Decoded, DecodeError> {
        let mut out = Decoded::default();
        self.ipfix_records(exporter, buf, now, &mut out)?;
        Ok(out)
    }

    /// Decodes an IPFIX message from `exporter` into `out`, which is
    /// cleared first (a collector keeps one [`Decoded`] and its allocation
    /// across datagrams). On error `out` is left empty.
    pub fn ipfix_into(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
        out: &mut Decoded,
    ) -> Result<(), DecodeError> {
        into(out, |out| self.ipfix_records(exporter, buf, now, out))
    }

    fn ipfix_records(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
        out: &mut Decoded,
    ) -> Result<(), DecodeError> {
        self.counters.ipfix_messages += 1;
        let m = ipfix::decode(buf).inspect_err(|e| self.counters.error(e))?;
        let key = (exporter, m.domain);
        match observe(self.ipfix_expected.get(&key).copied(), m.sequence, 0) {
            Seq::Lost(n) => self.counters.ipfix_lost_records += u64::from(n),
            Seq::Reset => self.counters.sequence_resets += 1,
            Seq::Duplicate | Seq::InOrder => {}
        }
        let mut data_records = 0u32;
        let export_ms = u64::from(m.export_time) * 1000;
        for set in &m.sets {
            match set {
                ipfix::Set::Templates(records) => {
                    for t in records {
                        match t {
                            TemplateRecord::Define(t) => {
                                let limit = self.config.max_templates;
                                if self.ipfix_templates.insert(
                                    exporter,
                                    m.domain,
                                    t.clone(),
                                    now,
                                    limit,
                                ) {
                                    self.counters.templates_learned += 1;
                                } else {
                                    self.counters.templates_refused += 1;
                                }
                            }
                            TemplateRecord::Withdraw(id) => {
                                if self.ipfix_templates.withdraw(exporter, m.domain, *id) {
                                    self.counters.templates_withdrawn += 1;
                                }
                            }
                            TemplateRecord::WithdrawAll { options } => {
                                let n = self
                                    .ipfix_templates
                                    .withdraw_all(exporter, m.domain, *options);
                                self.counters.templates_withdrawn += n as u64;
                            }
                        }
                    }
                }
                ipfix::Set::Data { template_id, body } => {
                    let ctx = Ctx {
                        exporter,
                        domain: m.domain,
                        source: FlowSource::Ipfix {
                            domain: m.domain,
                            template: *template_id,
                        },
                        ipfix: true,
                        clock: Clock::Ipfix { export_ms },
                    };
                    let Some(t) = self.lookup(true, exporter, m.domain, *template_id, now) else {
                        out.template_misses += 1;
                        self.hold(ctx, *template_id, body, now);
                        continue;
                    };
                    let n = self.data_set(&ctx, &t, body, now, out)?;
                    data_records = data_records.saturating_add(n);
                }
                ipfix::Set::Reserved { .. } => {}
            }
        }
        self.replay(true, exporter, m.domain, now, out);
        // Records of unknown templates cannot be counted: the next expected
        // sequence number is then unknown too.
        if out.template_misses == 0 {
            let next = m.sequence.wrapping_add(data_records);
            track(&mut self.ipfix_expected, key, next, self.config.max_tracked);
        } else {
            self.ipfix_expected.remove(&key);
        }
        self.counters.template_misses += u64::from(out.template_misses);
        self.counters.flow_records += out.records.len() as u64;
        Ok(())
    }

    /// Decodes a NetFlow v9 export packet from `exporter`.
    pub fn netflow9(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
    ) -> Result<Decoded, DecodeError> {
        let mut out = Decoded::default();
        self.netflow9_records(exporter, buf, now, &mut out)?;
        Ok(out)
    }

    /// Decodes a NetFlow v9 export packet from `exporter` into `out`, which is
    /// cleared first (a collector keeps one [`Decoded`] and its allocation
    /// across datagrams). On error `out` is left empty.
    pub fn netflow9_into(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
        out: &mut Decoded,
    ) -> Result<(), DecodeError> {
        into(out, |out| self.netflow9_records(exporter, buf, now, out))
    }

    fn netflow9_records(
        &mut self,
        exporter: IpAddr,
        buf: &[u8],
        now: UnixMillis,
        out: &mut Decoded,
    ) -> Result<(), DecodeError> {
        self.counters.netflow9_packets += 1;
        let p = netflow9::decode(buf).inspect_err(|e| self.counters.error(e))?;
        let key = (exporter, p.source_id);
        match observe(self.nf9_seq.get(&key).copied(), p.sequence, 1) {
            Seq::Lost(n) => self.counters.netflow9_lost_packets += u64::from(n),
            Seq::Duplicate => self.counters.sequence_duplicates += 1,
            Seq::Reset => self.counters.sequence_resets += 1,
            Seq::InOrder => {}
        }
        track(&mut self.nf9_seq, key, p.sequence, self.config.max_tracked);
        let export_ms = u64::from(p.unix_secs) * 1000;
        let uptime = u64::from(p.sys_uptime_ms);
        for fs in &p.flowsets {
            match fs {
                netflow9::FlowSet::Templates(ts) => {
                    for t in ts {
                        let limit = self.config.max_templates;
                        if self
                            .nf9_templates
                            .insert(exporter, p.source_id, t.clone(), now, limit)
                        {
                            self.counters.templates_learned += 1;
                        } else {
                            self.counters.templates_refused += 1;
                        }
                    }
                }
                netflow9::FlowSet::Data { template_id, body } => {
                    let ctx = Ctx {
                        exporter,
                        domain: p.source_id,
                        source: FlowSource::NetflowV9 {
                            source_id: p.source_id,
                            template: *template_id,
                        },
                        ipfix: false,
                        clock: Clock::Netflow9 {
                            export_ms,
                            uptime_ms: uptime,
                        },
                    };
                    let Some(t) = self.lookup(false, exporter, p.source_id, *template_id, now)
                    else {
                        out.template_misses += 1;
                        self.hold(ctx, *template_id, body, now);
                        continue;
                    };
                    self.data_set(&ctx, &t, body, now, out)?;
                }
                netflow9::FlowSet::Reserved { .. } => {}
            }
        }
        self.replay(false, exporter, p.source_id, now, out);
        self.counters.template_misses += u64::from(out.template_misses);
        self.counters.flow_records += out.records.len() as u64;
        Ok(())
    }

    /// Keeps a data set without a template, if buffering is on and there is
    /// room; drops buffered sets older than the buffer time.
    fn hold(&mut self, ctx: Ctx, template_id: u16, body: &[u8], now: UnixMillis) {
        let Some(keep) = self.config.miss_buffer_ms else {
            return;
        };
        self.pending
            .retain(|p| now.0.saturating_sub(p.arrived.0) <= keep);
        if self.pending.len() < self.config.miss_buffer_sets {
            self.pending.push(Pending {
                ctx,
                template_id,
                body: body.to_vec(),
                arrived: now,
            });
        }
    }

    /// Decodes buffered data sets of this domain whose template is now known.
    fn replay(
        &mut self,
        ipfix: bool,
        exporter: IpAddr,
        domain: u32,
        now: UnixMillis,
        out: &mut Decoded,
    ) {
        let Some(keep) = self.config.miss_buffer_ms else {
            return;
        };
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            if now.0.saturating_sub(p.arrived.0) > keep {
                continue;
            }
            let mine = p.ctx.ipfix == ipfix && p.ctx.exporter == exporter && p.ctx.domain == domain;
            let template = if mine {
                self.lookup(ipfix, exporter, domain, p.template_id, now)
            } else {
                None
            };
            match template {
                Some(t) => {
                    // A bad buffered set is counted by `data_set` and dropped;
                    // it does not fail the datagram that brought the template.
                    if self.data_set(&p.ctx, &t, &p.body, now, out).is_ok() {
                        self.counters.template_misses_recovered += 1;
                    }
                }
                None => self.pending.push(p),
            }
        }
    }

    fn lookup(
        &mut self,
        ipfix: bool,
        exporter: IpAddr,
        domain: u32,
        id: u16,
        now: UnixMillis,
    ) -> Option<Arc<Template>> {
        let cache = if ipfix {
            &mut self.ipfix_templates
        } else {
            &mut self.nf9_templates
        };
        match cache.get(exporter, domain, id, now) {
            Lookup::Found(t) => Some(Arc::clone(t)),
            Lookup::Missing => None,
            Lookup::Expired => {
                self.counters.templates_expired += 1;
                None
            }
        }
    }

    /// Decodes the records of one data set; returns how many there were.
    fn data_set(
        &mut self,
        ctx: &Ctx,
        t: &Template,
        body: &[u8],
        now: UnixMillis,
        out: &mut Decoded,
    ) -> Result<u32, DecodeError> {
        let min = t.min_record_len().max(1);
        let mut r = Reader::new(body);
        let mut n = 0u32;
        // Fewer octets than the smallest record are padding (RFC 7011 §3.3.1).
        while r.remaining() >= min {
            let f = decode_record(t, &mut r, !ctx.ipfix).inspect_err(|e| self.counters.error(e))?;
            n = n.saturating_add(1);
            self.counters.data_records += 1;
            let samplers = if ctx.ipfix {
                &mut self.ipfix_samplers
            } else {
                &mut self.nf9_samplers
            };
            if t.is_options() {
                self.counters.options_records += 1;
                if let Some(rate) = f.sampling_rate {
                    samplers.learn(ctx.exporter, ctx.domain, f.sampler_id, rate);
                }
                continue;
            }
            let rate = f
                .sampling_rate
                .or_else(|| samplers.rate(ctx.exporter, ctx.domain, f.sampler_id))
                .unwrap_or(1)
                .max(1);
            let timestamp = self.timestamp(Some(ctx.clock.time(&f)), now);
            out.records.push(FlowRecord {
                exporter: ctx.exporter,
                source: ctx.source,
                src_mac: f.src_mac,
                dst_mac: f.dst_mac,
                src_ip: f.src_ip,
                dst_ip: f.dst_ip,
                protocol: f.protocol,
                src_port: f.src_port,
                dst_port: f.dst_port,
                bytes: f.octets.unwrap_or(0).saturating_mul(u64::from(rate)),
                packets: f.packets.unwrap_or(0).saturating_mul(u64::from(rate)),
                sampling_rate: rate,
                ingress_if: f.ingress_if,
                egress_if: f.egress_if,
                vlan: f.vlan,
                src_as: f.src_as,
                dst_as: f.dst_as,
                timestamp,
            });
        }
        Ok(n)
    }
}

#[derive(Debug, Clone, Copy)]
struct Ctx {
    exporter: IpAddr,
    domain: u32,
    source: FlowSource,
    ipfix: bool,
    clock: Clock,
}
