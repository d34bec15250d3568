//! sFlow version 5: datagram decoding into borrowed structures, and the
//! conversion of flow samples into scaled [`FlowRecord`]s.
//!
//! Implements the sFlow v5 specification (sflow.org, July 2004): the
//! datagram header with an IPv4 or IPv6 agent address (§5 `sample_datagram_v5`),
//! flow samples (`flow_sample`, format 1) and expanded flow samples
//! (`flow_sample_expanded`, format 3), counter samples (`counters_sample`, 2)
//! and expanded counter samples (`counters_sample_expanded`, 4); the flow
//! records raw packet header (`sampled_header`, 1) and extended switch data
//! (`extended_switch`, 1001); the counter record generic interface counters
//! (`if_counters`, 1). Other samples and records are kept as opaque bytes
//! (the spec asks collectors to skip what they do not know).
//!
//! Decoding is zero-copy: sampled headers and unknown structures borrow the
//! datagram. A datagram is decoded whole or rejected whole with a
//! [`DecodeError`]; counts are checked against the octets present before any
//! allocation, so a hostile count cannot make the decoder allocate.
//!
//! Not here: per-agent sequence tracking (see [`crate::collector`]), the
//! sFlow v4 and earlier formats, and enterprise-specific structures.

pub mod encode;

use crate::error::DecodeError;
use crate::packet::{self, PacketInfo};
use crate::reader::Reader;
use crate::record::{FlowRecord, FlowSource, UnixMillis};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// sFlow sample format: flow sample (enterprise 0).
pub const FORMAT_FLOW_SAMPLE: u32 = 1;
/// sFlow sample format: counter sample.
pub const FORMAT_COUNTER_SAMPLE: u32 = 2;
/// sFlow sample format: expanded flow sample.
pub const FORMAT_FLOW_SAMPLE_EXPANDED: u32 = 3;
/// sFlow sample format: expanded counter sample.
pub const FORMAT_COUNTER_SAMPLE_EXPANDED: u32 = 4;
/// Flow record format: raw packet header.
pub const RECORD_RAW_HEADER: u32 = 1;
/// Flow record format: extended switch data.
pub const RECORD_EXTENDED_SWITCH: u32 = 1001;
/// Counter record format: generic interface counters.
pub const COUNTER_GENERIC: u32 = 1;
/// Header protocol: Ethernet (ISO 8802-3).
pub const HEADER_ETHERNET: u32 = 1;
/// Header protocol: IPv4.
pub const HEADER_IPV4: u32 = 11;
/// Header protocol: IPv6.
pub const HEADER_IPV6: u32 = 12;
/// Octets of a generic interface counters record.
pub const GENERIC_COUNTERS_LEN: usize = 88;

/// A decoded sFlow v5 datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Agent address.
    pub agent: IpAddr,
    /// Sub-agent ID.
    pub sub_agent: u32,
    /// Datagram sequence number, per (agent, sub-agent).
    pub sequence: u32,
    /// Agent uptime in milliseconds.
    pub uptime_ms: u32,
    /// The samples, in order.
    pub samples: Vec<Sample<'a>>,
}

/// One sample of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample<'a> {
    /// A flow sample (format 1 or 3).
    Flow(FlowSample<'a>),
    /// A counter sample (format 2 or 4).
    Counters(CounterSample<'a>),
    /// A sample this decoder does not know, kept as is.
    Unknown {
        /// Data format: (enterprise << 12) | format.
        format: u32,
        /// Its opaque data.
        data: &'a [u8],
    },
}

/// An interface reference: format (0 ifIndex, 1 packet discarded, 2 multiple
/// interfaces) and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interface {
    /// Format: 0 single ifIndex, 1 discarded (value is the reason), 2 multiple.
    pub format: u32,
    /// Value (ifIndex for format 0; 0 means unknown, 0x3fffffff internal).
    pub value: u32,
}

impl Interface {
    /// The ifIndex, when this is a single known interface.
    pub fn if_index(self) -> Option<u32> {
        (self.format == 0 && self.value != 0 && self.value != 0x3fff_ffff).then_some(self.value)
    }
}

/// A flow sample (format 1) or expanded flow sample (format 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSample<'a> {
    /// Expanded form (format 3) on the wire.
    pub expanded: bool,
    /// Sample sequence number, per data source.
    pub sequence: u32,
    /// Data source type (0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry).
    pub source_id_type: u32,
    /// Data source index.
    pub source_id_index: u32,
    /// 1-in-N sampling rate.
    pub sampling_rate: u32,
    /// Packets that could have been sampled.
    pub sample_pool: u32,
    /// Samples dropped for lack of resources.
    pub drops: u32,
    /// Input interface.
    pub input: Interface,
    /// Output interface.
    pub output: Interface,
    /// The flow records.
    pub records: Vec<FlowData<'a>>,
}

impl<'a> FlowSample<'a> {
    /// The data source as one number, (type << 24) | index, as in the compact
    /// form (indexes above 24 bits are truncated).
    pub fn source_id(&self) -> u32 {
        (self.source_id_type << 24) | (self.source_id_index & 0x00ff_ffff)
    }

    /// The raw packet header record, if any.
    pub fn raw_header(&self) -> Option<&RawHeader<'a>> {
        self.records.iter().find_map(|r| match r {
            FlowData::RawHeader(h) => Some(h),
            _ => None,
        })
    }

    /// The extended switch record, if any.
    pub fn extended_switch(&self) -> Option<&ExtendedSwitch> {
        self.records.iter().find_map(|r| match r {
            FlowData::ExtendedSwitch(s) => Some(s),
            _ => None,
        })
    }
}

/// A flow record inside a flow sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowData<'a> {
    /// Raw packet header (format 1).
    RawHeader(RawHeader<'a>),
    /// Extended switch data (format 1001).
    ExtendedSwitch(ExtendedSwitch),
    /// A record this decoder does not know, kept as is.
    Unknown {
        /// Data format: (enterprise << 12) | format.
        format: u32,
        /// Its opaque data.
        data: &'a [u8],
    },
}

/// Raw packet header (`sampled_header`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawHeader<'a> {
    /// Header protocol (1 Ethernet, 11 IPv4, 12 IPv6, ...).
    pub protocol: u32,
    /// Original length of the frame, including the FCS for Ethernet.
    pub frame_length: u32,
    /// Octets removed before the header was taken (the FCS, removed tags).
    pub stripped: u32,
    /// The sampled header octets (borrowed, without the XDR padding).
    pub header: &'a [u8],
}

impl RawHeader<'_> {
    /// Parses the sampled header according to its protocol.
    pub fn parse(&self) -> PacketInfo {
        match self.protocol {
            HEADER_ETHERNET => packet::parse_ethernet(self.header),
            HEADER_IPV4 => packet::parse_ipv4(self.header),
            HEADER_IPV6 => packet::parse_ipv6(self.header),
            _ => PacketInfo::default(),
        }
    }

    /// Octets of the frame counted for accounting: the frame length less
    /// what was stripped (for Ethernet the 4-octet FCS), so an Ethernet frame
    /// counts as the octets a capture on the port shows.
    pub fn counted_octets(&self) -> u32 {
        self.frame_length.saturating_sub(self.stripped)
    }
}

/// Extended switch data (format 1001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtendedSwitch {
    /// 802.1Q VLAN ID of the incoming frame.
    pub src_vlan: u32,
    /// 802.1p priority of the incoming frame.
    pub src_priority: u32,
    /// 802.1Q VLAN ID of the outgoing frame.
    pub dst_vlan: u32,
    /// 802.1p priority of the outgoing frame.
    pub dst_priority: u32,
}

/// A counter sample (format 2) or expanded counter sample (format 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterSample<'a> {
    /// Expanded form (format 4) on the wire.
    pub expanded: bool,
    /// Sample sequence number, per data source.
    pub sequence: u32,
    /// Data source type.
    pub source_id_type: u32,
    /// Data source index.
    pub source_id_index: u32,
    /// The counter records.
    pub records: Vec<CounterData<'a>>,
}

/// A counter record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterData<'a> {
    /// Generic interface counters (format 1, RFC 2233 ifTable/ifXTable).
    Generic(IfCounters),
    /// A record this decoder does not know, kept as is.
    Unknown {
        /// Data format: (enterprise << 12) | format.
        format: u32,
        /// Its opaque data.
        data: &'a [u8],
    },
}

/// Generic interface counters (`if_counters`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfCounters {
    /// ifIndex.
    pub if_index: u32,
    /// ifType.
    pub if_type: u32,
    /// ifSpeed in bit/s.
    pub if_speed: u64,
    /// 0 unknown, 1 full duplex, 2 half, 3 in, 4 out.
    pub if_direction: u32,
    /// bit 0 admin up, bit 1 oper up.
    pub if_status: u32,
    /// ifInOctets.
    pub in_octets: u64,
    /// ifInUcastPkts.
    pub in_ucast: u32,
    /// ifInMulticastPkts.
    pub in_multicast: u32,
    /// ifInBroadcastPkts.
    pub in_broadcast: u32,
    /// ifInDiscards.
    pub in_discards: u32,
    /// ifInErrors.
    pub in_errors: u32,
    /// ifInUnknownProtos.
    pub in_unknown_protos: u32,
    /// ifOutOctets.
    pub out_octets: u64,
    /// ifOutUcastPkts.
    pub out_ucast: u32,
    /// ifOutMulticastPkts.
    pub out_multicast: u32,
    /// ifOutBroadcastPkts.
    pub out_broadcast: u32,
    /// ifOutDiscards.
    pub out_discards: u32,
    /// ifOutErrors.
    pub out_errors: u32,
    /// ifPromiscuousMode.
    pub promiscuous: u32,
}

/// Decodes one sFlow v5 datagram.
pub fn decode(buf: &[u8]) -> Result<Datagram<'_>, DecodeError> {
    let mut it = samples(buf)?;
    let mut samples = Vec::with_capacity(usize_of(it.left));
    while let Some((format, data)) = it.next_sample()? {
        samples.push(decode_sample(format, data)?);
    }
    Ok(Datagram {
        agent: it.agent,
        sub_agent: it.sub_agent,
        sequence: it.sequence,
        uptime_ms: it.uptime_ms,
        samples,
    })
}

/// A datagram's header and its samples, still encoded: a collector takes
/// them one at a time ([`Samples::next_sample`]) and decodes what it needs
/// ([`decode_flow_view`], [`decode_sample`]) without building a
/// [`Datagram`].
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    /// Agent address.
    pub agent: IpAddr,
    /// Sub-agent ID.
    pub sub_agent: u32,
    /// Datagram sequence number, per (agent, sub-agent).
    pub sequence: u32,
    /// Agent uptime in milliseconds.
    pub uptime_ms: u32,
    r: Reader<'a>,
    left: u32,
}

/// Reads a datagram's header; its samples follow from
/// [`Samples::next_sample`].
pub fn samples(buf: &[u8]) -> Result<Samples<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let version = r.u32("sFlow header")?;
    if version != 5 {
        return Err(DecodeError::Version {
            expected: 5,
            found: version,
        });
    }
    let agent = match r.u32("sFlow header")? {
        1 => IpAddr::V4(Ipv4Addr::from(r.array::<4>("agent address")?)),
        2 => IpAddr::V6(Ipv6Addr::from(r.array::<16>("agent address")?)),
        other => return Err(DecodeError::AddressType(other)),
    };
    let sub_agent = r.u32("sFlow header")?;
    let sequence = r.u32("sFlow header")?;
    let uptime_ms = r.u32("sFlow header")?;
    let count = r.u32("sFlow header")?;
    // Every sample has at least its 8-octet format and length.
    check_count(count, r.remaining(), 8, "sample")?;
    Ok(Samples {
        agent,
        sub_agent,
        sequence,
        uptime_ms,
        r,
        left: count,
    })
}

impl<'a> Samples<'a> {
    /// The next sample's format and data; `None` after the last, once the
    /// datagram is known to end there (octets after the counted samples
    /// are an error).
    pub fn next_sample(&mut self) -> Result<Option<(u32, &'a [u8])>, DecodeError> {
        if self.left == 0 {
            self.r.finish("sFlow datagram")?;
            return Ok(None);
        }
        self.left -= 1;
        let format = self.r.u32("sample header")?;
        let len = usize_of(self.r.u32("sample header")?);
        let data = self.r.take(len, "sample")?;
        Ok(Some((format, data)))
    }
}

fn usize_of(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn check_count(
    count: u32,
    remaining: usize,
    min_size: usize,
    what: &'static str,
) -> Result<(), DecodeError> {
    if usize_of(count).saturating_mul(min_size) > remaining {
        return Err(DecodeError::Count {
            what,
            claimed: count,
        });
    }
    Ok(())
}

/// Decodes one sample of a datagram (its format and data, from
/// [`Samples::next_sample`]).
pub fn decode_sample(format: u32, data: &[u8]) -> Result<Sample<'_>, DecodeError> {
    let mut r = Reader::new(data);
    let sample = match format {
        FORMAT_FLOW_SAMPLE | FORMAT_FLOW_SAMPLE_EXPANDED => {
            let h = flow_head(&mut r, format == FORMAT_FLOW_SAMPLE_EXPANDED)?;
            let mut records = Vec::with_capacity(usize_of(h.count));
            for _ in 0..h.count {
                records.push(next_flow_record(&mut r)?);
            }
            Sample::Flow(FlowSample {
                expanded: h.expanded,
                sequence: h.sequence,
                source_id_type: h.source_id_type,
                source_id_index: h.source_id_index,
                sampling_rate: h.sampling_rate,
                sample_pool: h.sample_pool,
                drops: h.drops,
                input: h.input,
                output: h.output,
                records,
            })
        }
        FORMAT_COUNTER_SAMPLE | FORMAT_COUNTER_SAMPLE_EXPANDED => {
            let expanded = format == FORMAT_COUNTER_SAMPLE_EXPANDED;
            let sequence = r.u32("counter sample")?;
            let (source_id_type, source_id_index) = source_id(&mut r, expanded)?;
            let count = r.u32("counter sample")?;
            check_count(count, r.remaining(), 8, "counter record")?;
            let mut records = Vec::with_capacity(usize_of(count));
            for _ in 0..count {
                let format = r.u32("counter record header")?;
                let len = usize_of(r.u32("counter record header")?);
                let data = r.take(len, "counter record")?;
                records.push(decode_counter_record(format, data)?);
            }
            Sample::Counters(CounterSample {
                expanded,
                sequence,
                source_id_type,
                source_id_index,
                records,
            })
        }
        _ => return Ok(Sample::Unknown { format, data }),
    };
    r.finish("sample")?;
    Ok(sample)
}

/// The fields of a flow sample before its records.
struct FlowHead {
    expanded: bool,
    sequence: u32,
    source_id_type: u32,
    source_id_index: u32,
    sampling_rate: u32,
    sample_pool: u32,
    drops: u32,
    input: Interface,
    output: Interface,
    /// Records that follow (checked against the octets present).
    count: u32,
}

fn flow_head(r: &mut Reader<'_>, expanded: bool) -> Result<FlowHead, DecodeError> {
    let sequence = r.u32("flow sample")?;
    let (source_id_type, source_id_index) = source_id(r, expanded)?;
    let sampling_rate = r.u32("flow sample")?;
    let sample_pool = r.u32("flow sample")?;
    let drops = r.u32("flow sample")?;
    let input = interface(r, expanded)?;
    let output = interface(r, expanded)?;
    let count = r.u32("flow sample")?;
    check_count(count, r.remaining(), 8, "flow record")?;
    Ok(FlowHead {
        expanded,
        sequence,
        source_id_type,
        source_id_index,
        sampling_rate,
        sample_pool,
        drops,
        input,
        output,
        count,
    })
}

fn next_flow_record<'a>(r: &mut Reader<'a>) -> Result<FlowData<'a>, DecodeError> {
    let format = r.u32("flow record header")?;
    let len = usize_of(r.u32("flow record header")?);
    let data = r.take(len, "flow record")?;
    decode_flow_record(format, data)
}

/// What a collector needs of a flow sample: its data source, sequence,
/// rate, interfaces and the first raw packet header and extended switch
/// records, decoded without allocating ([`decode_flow_view`]). A flow
/// sample that decodes as a [`FlowSample`] decodes as a view too, and a
/// malformed one fails both ways alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowView<'a> {
    /// Sample sequence number, per data source.
    pub sequence: u32,
    /// Data source type.
    pub source_id_type: u32,
    /// Data source index.
    pub source_id_index: u32,
    /// 1-in-N sampling rate.
    pub sampling_rate: u32,
    /// Input interface.
    pub input: Interface,
    /// Output interface.
    pub output: Interface,
    /// The first raw packet header record.
    pub raw: Option<RawHeader<'a>>,
    /// The first extended switch record.
    pub switch: Option<ExtendedSwitch>,
}

impl FlowView<'_> {
    /// The data source as one number, as [`FlowSample::source_id`].
    pub fn source_id(&self) -> u32 {
        (self.source_id_type << 24) | (self.source_id_index & 0x00ff_ffff)
    }
}

impl<'a> FlowSample<'a> {
    /// The sample as a [`FlowView`].
    pub fn view(&self) -> FlowView<'a> {
        FlowView {
            sequence: self.sequence,
            source_id_type: self.source_id_type,
            source_id_index: self.source_id_index,
            sampling_rate: self.sampling_rate,
            input: self.input,
            output: self.output,
            raw: self.raw_header().copied(),
            switch: self.extended_switch().copied(),
        }
    }
}

/// Decodes a flow sample (format 1 or 3) as a [`FlowView`]: the same checks
/// as [`decode_sample`], no allocation. `None` for another format.
pub fn decode_flow_view(format: u32, data: &[u8]) -> Result<Option<FlowView<'_>>, DecodeError> {
    if format != FORMAT_FLOW_SAMPLE && format != FORMAT_FLOW_SAMPLE_EXPANDED {
        return Ok(None);
    }
    let mut r = Reader::new(data);
    let h = flow_head(&mut r, format == FORMAT_FLOW_SAMPLE_EXPANDED)?;
    let (mut raw, mut switch) = (None, None);
    for _ in 0..h.count {
        match next_flow_record(&mut r)? {
            FlowData::RawHeader(x) => {
                raw.get_or_insert(x);
            }
            FlowData::ExtendedSwitch(x) => {
                switch.get_or_insert(x);
            }
            FlowData::Unknown { .. } => {}
        }
    }
    r.finish("sample")?;
    Ok(Some(FlowView {
        sequence: h.sequence,
        source_id_type: h.source_id_type,
        source_id_index: h.source_id_index,
        sampling_rate: h.sampling_rate,
        input: h.input,
        output: h.output,
        raw,
        switch,
    }))
}

fn source_id(r: &mut Reader<'_>, expanded: bool) -> Result<(u32, u32), DecodeError> {
    if expanded {
        Ok((r.u32("source id")?, r.u32("source id")?))
    } else {
        let v = r.u32("source id")?;
        Ok((v >> 24, v & 0x00ff_ffff))
    }
}

fn interface(r: &mut Reader<'_>, expanded: bool) -> Result<Interface, DecodeError> {
    if expanded {
        Ok(Interface {
            format: r.u32("interface")?,
            value: r.u32("interface")?,
        })
    } else {
        let v = r.u32("interface")?;
        Ok(Interface {
            format: v >> 30,
            value: v & 0x3fff_ffff,
        })
    }
}

fn decode_flow_record(format: u32, data: &[u8]) -> Result<FlowData<'_>, DecodeError> {
    let mut r = Reader::new(data);
    match format {
        RECORD_RAW_HEADER => {
            let protocol = r.u32("raw packet header")?;
            let frame_length = r.u32("raw packet header")?;
            let stripped = r.u32("raw packet header")?;
            let header_len = usize_of(r.u32("raw packet header")?);
            let header = r.take(header_len, "sampled header")?;
            // XDR pads opaque data to a multiple of four octets.
            let pad = (4 - header_len % 4) % 4;
            if r.remaining() != pad {
                return Err(DecodeError::Length {
                    what: "raw packet header record",
                    claimed: data.len(),
                });
            }
            Ok(FlowData::RawHeader(RawHeader {
                protocol,
                frame_length,
                stripped,
                header,
            }))
        }
        RECORD_EXTENDED_SWITCH => {
            let s = ExtendedSwitch {
                src_vlan: r.u32("extended switch")?,
                src_priority: r.u32("extended switch")?,
                dst_vlan: r.u32("extended switch")?,
                dst_priority: r.u32("extended switch")?,
            };
            r.finish("extended switch record")?;
            Ok(FlowData::ExtendedSwitch(s))
        }
        _ => Ok(FlowData::Unknown { format, data }),
    }
}

fn decode_counter_record(format: u32, data: &[u8]) -> Result<CounterData<'_>, DecodeError> {
    if format != COUNTER_GENERIC {
        return Ok(CounterData::Unknown { format, data });
    }
    if data.len() != GENERIC_COUNTERS_LEN {
        return Err(DecodeError::Length {
            what: "generic interface counters",
            claimed: data.len(),
        });
    }
    let mut r = Reader::new(data);
    let w = "generic interface counters";
    Ok(CounterData::Generic(IfCounters {
        if_index: r.u32(w)?,
        if_type: r.u32(w)?,
        if_speed: r.u64(w)?,
        if_direction: r.u32(w)?,
        if_status: r.u32(w)?,
        in_octets: r.u64(w)?,
        in_ucast: r.u32(w)?,
        in_multicast: r.u32(w)?,
        in_broadcast: r.u32(w)?,
        in_discards: r.u32(w)?,
        in_errors: r.u32(w)?,
        in_unknown_protos: r.u32(w)?,
        out_octets: r.u64(w)?,
        out_ucast: r.u32(w)?,
        out_multicast: r.u32(w)?,
        out_broadcast: r.u32(w)?,
        out_discards: r.u32(w)?,
        out_errors: r.u32(w)?,
        promiscuous: r.u32(w)?,
    }))
}

/// Turns a flow sample into a normalized record, scaled by its sampling
/// rate. Samples without a raw packet header give `None` (there is nothing
/// to count). A sampling rate of 0, which the spec does not allow, is read
/// as 1.
pub fn to_record(
    exporter: IpAddr,
    datagram: &Datagram<'_>,
    sample: &FlowSample<'_>,
    now: UnixMillis,
) -> Option<FlowRecord> {
    view_record(
        exporter,
        datagram.agent,
        datagram.sub_agent,
        &sample.view(),
        now,
    )
}

/// [`to_record`] of a [`FlowView`] from the datagram of `agent` and
/// `sub_agent`.
pub fn view_record(
    exporter: IpAddr,
    agent: IpAddr,
    sub_agent: u32,
    sample: &FlowView<'_>,
    now: UnixMillis,
) -> Option<FlowRecord> {
    let raw = sample.raw.as_ref()?;
    let info = raw.parse();
    let rate = sample.sampling_rate.max(1);
    let vlan = info.vlan.or_else(|| {
        sample
            .switch
            .and_then(|s| u16::try_from(s.src_vlan).ok())
            .filter(|v| *v != 0)
    });
    Some(FlowRecord {
        exporter,
        source: FlowSource::Sflow {
            agent,
            sub_agent,
            source_id: sample.source_id(),
        },
        src_mac: info.src_mac,
        dst_mac: info.dst_mac,
        src_ip: info.src_ip,
        dst_ip: info.dst_ip,
        protocol: info.protocol,
        src_port: info.src_port,
        dst_port: info.dst_port,
        bytes: u64::from(raw.counted_octets()) * u64::from(rate),
        packets: u64::from(rate),
        sampling_rate: rate,
        ingress_if: sample.input.if_index(),
        egress_if: sample.output.if_index(),
        vlan,
        src_as: None,
        dst_as: None,
        timestamp: now,
    })
}
