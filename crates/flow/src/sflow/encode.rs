//! sFlow v5 encoding of the structures [`super::decode`] produces.
//!
//! The demo exports simulated traffic as sFlow with it, and the tests use it
//! for round trips: `decode(&encode(&d)) == d` for every datagram the decoder
//! accepts, and `encode(&decode(b)) == b` for canonical input. In the compact
//! forms (formats 1 and 2) a source index above 24 bits or an interface
//! value above 30 bits does not fit and is truncated, as the spec's packing
//! implies; use the expanded forms for such values. Lengths are computed
//! here, so an encoded datagram is always well-formed. [`Agent`] numbers
//! datagrams and samples like a switch, for simulated traffic.

use super::{
    CounterData, CounterSample, Datagram, FlowData, FlowSample, Interface, Sample, COUNTER_GENERIC,
    FORMAT_COUNTER_SAMPLE, FORMAT_COUNTER_SAMPLE_EXPANDED, FORMAT_FLOW_SAMPLE,
    FORMAT_FLOW_SAMPLE_EXPANDED, RECORD_EXTENDED_SWITCH, RECORD_RAW_HEADER,
};
use std::net::IpAddr;

/// Encodes a datagram.
pub fn encode(d: &Datagram<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1400);
    put(&mut out, 5);
    match d.agent {
        IpAddr::V4(a) => {
            put(&mut out, 1);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            put(&mut out, 2);
            out.extend_from_slice(&a.octets());
        }
    }
    put(&mut out, d.sub_agent);
    put(&mut out, d.sequence);
    put(&mut out, d.uptime_ms);
    put(&mut out, len32(d.samples.len()));
    for s in &d.samples {
        match s {
            Sample::Flow(f) => {
                let format = if f.expanded {
                    FORMAT_FLOW_SAMPLE_EXPANDED
                } else {
                    FORMAT_FLOW_SAMPLE
                };
                framed(&mut out, format, |o| flow_sample(o, f));
            }
            Sample::Counters(c) => {
                let format = if c.expanded {
                    FORMAT_COUNTER_SAMPLE_EXPANDED
                } else {
                    FORMAT_COUNTER_SAMPLE
                };
                framed(&mut out, format, |o| counter_sample(o, c));
            }
            Sample::Unknown { format, data } => {
                framed(&mut out, *format, |o| o.extend_from_slice(data));
            }
        }
    }
    out
}

fn put(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn len32(n: usize) -> u32 {
    // A datagram is bounded by the UDP size; saturate rather than wrap.
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Writes `format`, a length placeholder, the body, then patches the length.
fn framed(out: &mut Vec<u8>, format: u32, body: impl FnOnce(&mut Vec<u8>)) {
    put(out, format);
    let at = out.len();
    put(out, 0);
    body(out);
    let len = len32(out.len() - at - 4).to_be_bytes();
    if let Some(slot) = out.get_mut(at..at + 4) {
        slot.copy_from_slice(&len);
    }
}

fn source(out: &mut Vec<u8>, expanded: bool, ty: u32, index: u32) {
    if expanded {
        put(out, ty);
        put(out, index);
    } else {
        put(out, (ty << 24) | (index & 0x00ff_ffff));
    }
}

fn interface(out: &mut Vec<u8>, expanded: bool, i: Interface) {
    if expanded {
        put(out, i.format);
        put(out, i.value);
    } else {
        put(out, (i.format << 30) | (i.value & 0x3fff_ffff));
    }
}

fn flow_sample(out: &mut Vec<u8>, f: &FlowSample<'_>) {
    put(out, f.sequence);
    source(out, f.expanded, f.source_id_type, f.source_id_index);
    put(out, f.sampling_rate);
    put(out, f.sample_pool);
    put(out, f.drops);
    interface(out, f.expanded, f.input);
    interface(out, f.expanded, f.output);
    put(out, len32(f.records.len()));
    for r in &f.records {
        match r {
            FlowData::RawHeader(h) => framed(out, RECORD_RAW_HEADER, |o| {
                put(o, h.protocol);
                put(o, h.frame_length);
                put(o, h.stripped);
                put(o, len32(h.header.len()));
                o.extend_from_slice(h.header);
                let pad = (4 - h.header.len() % 4) % 4;
                o.extend(std::iter::repeat_n(0u8, pad));
            }),
            FlowData::ExtendedSwitch(s) => framed(out, RECORD_EXTENDED_SWITCH, |o| {
                put(o, s.src_vlan);
                put(o, s.src_priority);
                put(o, s.dst_vlan);
                put(o, s.dst_priority);
            }),
            FlowData::Unknown { format, data } => {
                framed(out, *format, |o| o.extend_from_slice(data))
            }
        }
    }
}

fn counter_sample(out: &mut Vec<u8>, c: &CounterSample<'_>) {
    put(out, c.sequence);
    source(out, c.expanded, c.source_id_type, c.source_id_index);
    put(out, len32(c.records.len()));
    for r in &c.records {
        match r {
            CounterData::Generic(g) => framed(out, COUNTER_GENERIC, |o| {
                put(o, g.if_index);
                put(o, g.if_type);
                put64(o, g.if_speed);
                put(o, g.if_direction);
                put(o, g.if_status);
                put64(o, g.in_octets);
                put(o, g.in_ucast);
                put(o, g.in_multicast);
                put(o, g.in_broadcast);
                put(o, g.in_discards);
                put(o, g.in_errors);
                put(o, g.in_unknown_protos);
                put64(o, g.out_octets);
                put(o, g.out_ucast);
                put(o, g.out_multicast);
                put(o, g.out_broadcast);
                put(o, g.out_discards);
                put(o, g.out_errors);
                put(o, g.promiscuous);
            }),
            CounterData::Unknown { format, data } => {
                framed(out, *format, |o| o.extend_from_slice(data))
            }
        }
    }
}

/// Octets of a frame an agent copies into a sampled header by default.
pub const DEFAULT_HEADER_LEN: usize = 128;

/// A simulated sFlow agent for the demo and tests: it numbers datagrams and
/// samples, keeps the sample pool, and turns already-sampled Ethernet
/// frames into flow samples the way a switch reports them (frame length with
/// the 4-octet FCS, `stripped` 4, the first 128 octets as the header).
/// Choosing which packets to sample is the caller's business.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Agent address.
    pub address: IpAddr,
    /// Sub-agent ID.
    pub sub_agent: u32,
    /// The 1-in-N rate reported in every sample.
    pub sampling_rate: u32,
    sequence: u32,
    sample_sequence: u32,
    pool: u32,
}

/// One sampled frame for [`Agent::datagram`].
#[derive(Debug, Clone, Copy)]
pub struct SampledFrame<'a> {
    /// The Ethernet frame without FCS.
    pub frame: &'a [u8],
    /// Input ifIndex.
    pub input: u32,
    /// Output ifIndex.
    pub output: u32,
}

impl Agent {
    /// An agent that has sent nothing yet.
    pub fn new(address: IpAddr, sub_agent: u32, sampling_rate: u32) -> Self {
        Agent {
            address,
            sub_agent,
            sampling_rate,
            sequence: 0,
            sample_sequence: 0,
            pool: 0,
        }
    }

    /// Encodes one datagram of flow samples (data source ifIndex 0, compact
    /// form). Keep it under the path MTU: about 8 samples of 128-octet
    /// headers fit 1,400 octets.
    pub fn datagram(&mut self, uptime_ms: u32, frames: &[SampledFrame<'_>]) -> Vec<u8> {
        self.sequence = self.sequence.wrapping_add(1);
        let samples = frames
            .iter()
            .map(|f| {
                self.sample_sequence = self.sample_sequence.wrapping_add(1);
                self.pool = self.pool.wrapping_add(self.sampling_rate);
                let header = f.frame.get(..DEFAULT_HEADER_LEN).unwrap_or(f.frame);
                Sample::Flow(FlowSample {
                    expanded: false,
                    sequence: self.sample_sequence,
                    source_id_type: 0,
                    source_id_index: 0,
                    sampling_rate: self.sampling_rate,
                    sample_pool: self.pool,
                    drops: 0,
                    input: Interface {
                        format: 0,
                        value: f.input,
                    },
                    output: Interface {
                        format: 0,
                        value: f.output,
                    },
                    records: vec![FlowData::RawHeader(super::RawHeader {
                        protocol: super::HEADER_ETHERNET,
                        frame_length: len32(f.frame.len()).saturating_add(4),
                        stripped: 4,
                        header,
                    })],
                })
            })
            .collect();
        encode(&Datagram {
            agent: self.address,
            sub_agent: self.sub_agent,
            sequence: self.sequence,
            uptime_ms,
            samples,
        })
    }
}
