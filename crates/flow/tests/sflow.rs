//! sFlow v5 wire tests: a datagram laid out by hand from the sFlow v5
//! specification's XDR structures, checked both ways (decode gives the
//! values, encode gives the octets back), plus scaling, header parsing and
//! sequence tracking.

mod support;

use flow::sflow::encode::encode;
use flow::sflow::{
    self, CounterData, CounterSample, Datagram, ExtendedSwitch, FlowData, FlowSample, IfCounters,
    Interface, RawHeader, Sample,
};
use flow::{Decoder, DecoderConfig, FlowSource, MacAddr, UnixMillis};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use support::frames;

fn be32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

/// A QinQ-tagged (802.1ad 100 over 802.1Q 200) IPv4 TCP frame, 64 octets of
/// it as an agent would sample.
fn qinq_header() -> Vec<u8> {
    let seg = frames::l4(6, 179, 50000, 0);
    let pkt = frames::ipv4(
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 2),
        6,
        1,
        &seg,
    );
    let mut f = frames::ethernet(
        [2, 0, 0, 0, 0, 1],
        [2, 0, 0, 0, 0, 2],
        &[(0x88a8, 100), (0x8100, 200)],
        0x0800,
        &pkt,
    );
    f.resize(64, 0);
    f
}

/// The datagram of `vector()`, as values.
fn expected(header: &[u8]) -> Datagram<'_> {
    Datagram {
        agent: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)),
        sub_agent: 3,
        sequence: 7,
        uptime_ms: 123_456,
        samples: vec![
            Sample::Flow(FlowSample {
                expanded: false,
                sequence: 41,
                source_id_type: 0,
                source_id_index: 5,
                sampling_rate: 512,
                sample_pool: 20_000,
                drops: 1,
                input: Interface {
                    format: 0,
                    value: 5,
                },
                output: Interface {
                    format: 0,
                    value: 6,
                },
                records: vec![
                    FlowData::RawHeader(RawHeader {
                        protocol: 1,
                        frame_length: 1522,
                        stripped: 4,
                        header,
                    }),
                    FlowData::ExtendedSwitch(ExtendedSwitch {
                        src_vlan: 100,
                        src_priority: 0,
                        dst_vlan: 100,
                        dst_priority: 0,
                    }),
                ],
            }),
            Sample::Counters(CounterSample {
                expanded: false,
                sequence: 9,
                source_id_type: 0,
                source_id_index: 5,
                records: vec![CounterData::Generic(IfCounters {
                    if_index: 5,
                    if_type: 6,
                    if_speed: 10_000_000_000,
                    if_direction: 1,
                    if_status: 3,
                    in_octets: 1 << 40,
                    in_ucast: 1000,
                    out_octets: 2 << 40,
                    out_ucast: 2000,
                    ..IfCounters::default()
                })],
            }),
        ],
    }
}

/// The same datagram laid out field by field (sFlow v5 `sample_datagram_v5`,
/// `flow_sample`, `sampled_header`, `extended_switch`, `counters_sample`,
/// `if_counters`).
fn vector(header: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    be32(&mut v, 5); // version
    be32(&mut v, 1); // address type IPv4
    v.extend_from_slice(&[192, 0, 2, 254]);
    be32(&mut v, 3); // sub-agent
    be32(&mut v, 7); // sequence
    be32(&mut v, 123_456); // uptime
    be32(&mut v, 2); // samples
                     // flow_sample, enterprise 0 format 1
    be32(&mut v, 1);
    be32(&mut v, 32 + (8 + 16 + 64) + (8 + 16)); // sample length
    be32(&mut v, 41); // sequence
    be32(&mut v, 5); // source id: type 0, index 5
    be32(&mut v, 512); // sampling rate
    be32(&mut v, 20_000); // sample pool
    be32(&mut v, 1); // drops
    be32(&mut v, 5); // input ifIndex
    be32(&mut v, 6); // output ifIndex
    be32(&mut v, 2); // records
    be32(&mut v, 1); // sampled_header
    be32(&mut v, 16 + 64);
    be32(&mut v, 1); // Ethernet
    be32(&mut v, 1522); // frame length
    be32(&mut v, 4); // stripped (FCS)
    be32(&mut v, 64); // header length
    v.extend_from_slice(header);
    be32(&mut v, 1001); // extended_switch
    be32(&mut v, 16);
    for x in [100, 0, 100, 0] {
        be32(&mut v, x);
    }
    // counters_sample, format 2
    be32(&mut v, 2);
    be32(&mut v, 12 + 8 + 88);
    be32(&mut v, 9); // sequence
    be32(&mut v, 5); // source id
    be32(&mut v, 1); // records
    be32(&mut v, 1); // if_counters
    be32(&mut v, 88);
    be32(&mut v, 5); // ifIndex
    be32(&mut v, 6); // ifType ethernetCsmacd
    v.extend_from_slice(&10_000_000_000u64.to_be_bytes());
    be32(&mut v, 1); // full duplex
    be32(&mut v, 3); // admin and oper up
    v.extend_from_slice(&(1u64 << 40).to_be_bytes());
    for x in [1000, 0, 0, 0, 0, 0] {
        be32(&mut v, x);
    }
    v.extend_from_slice(&(2u64 << 40).to_be_bytes());
    for x in [2000, 0, 0, 0, 0, 0] {
        be32(&mut v, x);
    }
    v
}

#[test]
fn hand_laid_datagram_decodes_and_encodes_back() {
    let header = qinq_header();
    let bytes = vector(&header);
    let d = sflow::decode(&bytes).expect("decodes");
    assert_eq!(d, expected(&header));
    assert_eq!(encode(&d), bytes);
}

#[test]
fn qinq_header_is_parsed_to_the_transport_ports() {
    let header = qinq_header();
    let bytes = vector(&header);
    let d = sflow::decode(&bytes).expect("decodes");
    let Sample::Flow(f) = &d.samples[0] else {
        panic!("flow sample first")
    };
    let info = f.raw_header().expect("header").parse();
    assert_eq!(info.src_mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
    assert_eq!(info.dst_mac, Some(MacAddr([2, 0, 0, 0, 0, 2])));
    assert_eq!(info.vlan, Some(100));
    assert_eq!(info.inner_vlan, Some(200));
    assert_eq!(info.src_ip, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
    assert_eq!(info.protocol, Some(6));
    assert_eq!((info.src_port, info.dst_port), (Some(179), Some(50000)));
    assert_eq!(info.tcp_flags, Some(0x18));
}

#[test]
fn flow_sample_is_scaled_by_its_sampling_rate() {
    let header = qinq_header();
    let bytes = vector(&header);
    let mut dec = Decoder::new(DecoderConfig::default());
    let exporter = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let out = dec
        .sflow(exporter, &bytes, UnixMillis(1_700_000_000_000))
        .expect("decodes");
    assert_eq!(out.records.len(), 1);
    let r = &out.records[0];
    assert_eq!(r.packets, 512);
    assert_eq!(r.bytes, (1522 - 4) * 512);
    assert_eq!(r.sampling_rate, 512);
    assert_eq!((r.ingress_if, r.egress_if), (Some(5), Some(6)));
    assert_eq!(r.vlan, Some(100));
    assert!(r.is_bgp());
    assert_eq!(
        r.source,
        FlowSource::Sflow {
            agent: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)),
            sub_agent: 3,
            source_id: 5
        }
    );
    let k = dec.counters();
    assert_eq!(
        (
            k.sflow_datagrams,
            k.sflow_flow_samples,
            k.sflow_counter_samples
        ),
        (1, 1, 1)
    );
    let ifc = dec
        .interface_counters()
        .get(&(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)), 5))
        .expect("counters kept");
    assert_eq!(ifc.in_octets, 1 << 40);
}

fn expanded_v6(seq: u32, sample_seq: u32, header: &[u8]) -> Datagram<'_> {
    Datagram {
        agent: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        sub_agent: 0,
        sequence: seq,
        uptime_ms: 5,
        samples: vec![
            Sample::Flow(FlowSample {
                expanded: true,
                sequence: sample_seq,
                source_id_type: 0,
                source_id_index: 0x0100_0000, // needs the expanded form
                sampling_rate: 4096,
                sample_pool: 1,
                drops: 0,
                input: Interface {
                    format: 0,
                    value: 0x4000_0001,
                },
                output: Interface {
                    format: 2,
                    value: 3,
                },
                records: vec![
                    FlowData::RawHeader(RawHeader {
                        protocol: 12,
                        frame_length: 1500,
                        stripped: 0,
                        header,
                    }),
                    FlowData::Unknown {
                        format: (4300 << 12) | 7,
                        data: &[1, 2, 3, 4],
                    },
                ],
            }),
            Sample::Counters(CounterSample {
                expanded: true,
                sequence: 1,
                source_id_type: 0,
                source_id_index: 0x0100_0000,
                records: vec![CounterData::Unknown {
                    format: 2,
                    data: &[0; 8],
                }],
            }),
            Sample::Unknown {
                format: 99,
                data: &[9, 9, 9, 9],
            },
        ],
    }
}

#[test]
fn expanded_samples_with_an_ipv6_agent_round_trip() {
    // An IPv6 packet with a hop-by-hop header before UDP, odd length header
    // so the XDR padding is exercised.
    let udp = frames::l4(17, 1000, 2000, 3);
    let mut hbh = vec![17u8, 0, 0, 0, 0, 0, 0, 0];
    hbh.extend_from_slice(&udp);
    let src: Ipv6Addr = "2001:db8::a".parse().unwrap();
    let dst: Ipv6Addr = "2001:db8::b".parse().unwrap();
    let pkt = frames::ipv6(src, dst, 0, &hbh);
    let d = expanded_v6(1, 1, &pkt);
    let bytes = encode(&d);
    assert_eq!(bytes.len() % 4, 0, "XDR keeps 4-octet alignment");
    let back = sflow::decode(&bytes).expect("decodes");
    assert_eq!(back, d);
    let Sample::Flow(f) = &back.samples[0] else {
        panic!()
    };
    let info = f.raw_header().unwrap().parse();
    assert_eq!(info.src_ip, Some(IpAddr::V6(src)));
    assert_eq!(info.protocol, Some(17));
    assert_eq!((info.src_port, info.dst_port), (Some(1000), Some(2000)));
    assert_eq!(f.input.if_index(), Some(0x4000_0001));
    assert_eq!(f.output.if_index(), None, "format 2 is several interfaces");
}

#[test]
fn lost_datagrams_and_samples_are_counted_per_agent_and_source() {
    let pkt = frames::ipv6(
        "2001:db8::a".parse().unwrap(),
        "2001:db8::b".parse().unwrap(),
        59,
        &[],
    );
    let mut dec = Decoder::new(DecoderConfig::default());
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let t = UnixMillis(1_700_000_000_000);
    // Datagrams 1, 2, 5 (3 and 4 lost); samples 1, 2, 10 (3..=9 lost).
    for (seq, sample_seq) in [(1, 1), (2, 2), (5, 10)] {
        dec.sflow(from, &encode(&expanded_v6(seq, sample_seq, &pkt)), t)
            .unwrap();
    }
    assert_eq!(dec.counters().sflow_lost_datagrams, 2);
    assert_eq!(dec.counters().sflow_lost_samples, 7);
    // An agent restart (sequence back to 1) is not loss.
    dec.sflow(from, &encode(&expanded_v6(1, 1, &pkt)), t)
        .unwrap();
    assert_eq!(dec.counters().sflow_lost_datagrams, 2);
    assert!(dec.counters().sequence_resets >= 1);
    // Another agent has its own sequence.
    let mut other = expanded_v6(100, 1, &pkt);
    other.agent = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    dec.sflow(from, &encode(&other), t).unwrap();
    assert_eq!(dec.counters().sflow_lost_datagrams, 2);
}

#[test]
fn ipv4_header_protocol_and_zero_rate() {
    let seg = frames::l4(17, 53, 5353, 10);
    let pkt = frames::ipv4(
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        17,
        1,
        &seg,
    );
    let mut d = expanded_v6(1, 1, &pkt);
    if let Sample::Flow(f) = &mut d.samples[0] {
        f.sampling_rate = 0; // not allowed by the spec: read as 1
        f.records[0] = FlowData::RawHeader(RawHeader {
            protocol: 11,
            frame_length: 58,
            stripped: 0,
            header: &pkt,
        });
    }
    let bytes = encode(&d);
    let mut dec = Decoder::new(DecoderConfig::default());
    let out = dec
        .sflow(IpAddr::V4(Ipv4Addr::LOCALHOST), &bytes, UnixMillis(0))
        .unwrap();
    let r = &out.records[0];
    assert_eq!((r.packets, r.bytes, r.sampling_rate), (1, 58, 1));
    assert_eq!(r.src_mac, None);
    assert_eq!(r.dst_port, Some(5353));
}

#[test]
fn simulated_agent_datagrams_decode_in_sequence_and_scale() {
    use flow::sflow::encode::{Agent, SampledFrame};
    let big = frames::frame(
        [2, 0, 0, 0, 0, 1],
        [2, 0, 0, 0, 0, 2],
        Some(10),
        "10.0.0.1".parse().unwrap(),
        "10.0.0.2".parse().unwrap(),
        17,
        1,
        2,
        1400,
        1,
    );
    let small = frames::frame(
        [2, 0, 0, 0, 0, 2],
        [2, 0, 0, 0, 0, 1],
        None,
        "2001:db8::2".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
        6,
        179,
        40000,
        90,
        2,
    );
    let mut agent = Agent::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 0, 1000);
    let mut dec = Decoder::default();
    let mut bytes = 0;
    for i in 0..5 {
        let f = [
            SampledFrame {
                frame: &big,
                input: 1,
                output: 2,
            },
            SampledFrame {
                frame: &small,
                input: 2,
                output: 1,
            },
        ];
        let d = agent.datagram(i * 1000, &f);
        let out = dec
            .sflow(IpAddr::V4(Ipv4Addr::LOCALHOST), &d, UnixMillis(0))
            .unwrap();
        bytes += out.records.iter().map(|r| r.bytes).sum::<u64>();
        let Sample::Flow(s) = &sflow::decode(&d).unwrap().samples[0] else {
            panic!()
        };
        let h = s.raw_header().unwrap();
        assert_eq!((h.header.len(), h.frame_length, h.stripped), (128, 1404, 4));
    }
    assert_eq!(bytes, 5 * (1400 + 90) * 1000);
    assert_eq!(
        dec.counters().sflow_lost_datagrams + dec.counters().sflow_lost_samples,
        0
    );
    assert_eq!(dec.counters().sequence_resets, 0);
}

#[test]
fn sflow_into_reuses_and_clears_its_output() {
    let bytes = vector(&qinq_header());
    let exporter = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let t = UnixMillis(1_700_000_000_000);
    let fresh = Decoder::new(DecoderConfig::default())
        .sflow(exporter, &bytes, t)
        .expect("decodes");
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut out = fresh.clone();
    out.records.extend(fresh.records.iter().cloned());
    out.template_misses = 7;
    dec.sflow_into(exporter, &bytes, t, &mut out)
        .expect("decodes");
    assert_eq!(out, fresh);
    // A datagram that does not decode leaves the output empty.
    let cut = bytes.get(..bytes.len() / 2).unwrap_or_default();
    assert!(dec.sflow_into(exporter, cut, t, &mut out).is_err());
    assert!(out.records.is_empty());
    assert_eq!(dec.counters().flow_records, 1);
}
