//! Malformed, truncated and hostile datagrams: each is rejected with a typed
//! error, counted under its kind, and nothing panics. Property tests feed
//! random and mutated octets to every decoder, and check that the stateful
//! sFlow decoder (flow samples decoded as views, without allocating) takes
//! and rejects exactly what `sflow::decode` does, with the same records.

mod support;

use flow::sflow::encode::encode;
use flow::sflow::{
    self, CounterData, CounterSample, Datagram, ExtendedSwitch, FlowData, FlowSample, IfCounters,
    Interface, RawHeader, Sample,
};
use flow::{ipfix, netflow9, Decoder, DecoderConfig, ErrorKind, UnixMillis};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};
use support::wire::{self, set, template};

const EXP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn valid_sflow() -> Vec<u8> {
    let header: Vec<u8> = (0u8..60).collect();
    let d = Datagram {
        agent: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        sub_agent: 0,
        sequence: 1,
        uptime_ms: 1,
        samples: vec![Sample::Flow(FlowSample {
            expanded: false,
            sequence: 1,
            source_id_type: 0,
            source_id_index: 1,
            sampling_rate: 100,
            sample_pool: 100,
            drops: 0,
            input: Interface {
                format: 0,
                value: 1,
            },
            output: Interface {
                format: 0,
                value: 2,
            },
            records: vec![FlowData::RawHeader(RawHeader {
                protocol: 1,
                frame_length: 64,
                stripped: 4,
                header: &header,
            })],
        })],
    };
    encode(&d)
}

fn valid_ipfix() -> Vec<u8> {
    let t = template(256, &[(8, 4, None), (82, 65535, None), (1, 8, None)]);
    let mut data = vec![10, 0, 0, 1, 2, b'e', b'0'];
    data.extend(100u64.to_be_bytes());
    wire::ipfix(0, 0, 1, &[set(2, &t), set(256, &data)])
}

fn valid_v9() -> Vec<u8> {
    let t = template(256, &[(8, 4, None), (1, 4, None), (2, 4, None)]);
    let data = [
        vec![10, 0, 0, 1],
        100u32.to_be_bytes().to_vec(),
        1u32.to_be_bytes().to_vec(),
    ]
    .concat();
    wire::netflow9(2, 0, 0, 1, 0, &[set(0, &t), set(256, &data)])
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn every_truncation_of_a_valid_datagram_is_an_error() {
    let mut dec = Decoder::default();
    for (name, full) in [
        ("sflow", valid_sflow()),
        ("ipfix", valid_ipfix()),
        ("v9", valid_v9()),
    ] {
        for cut in 0..full.len() {
            let r = match name {
                "sflow" => dec.sflow(EXP, &full[..cut], UnixMillis(0)).map(|_| ()),
                "ipfix" => dec.ipfix(EXP, &full[..cut], UnixMillis(0)).map(|_| ()),
                _ => {
                    // NetFlow v9 has no message length: a cut at a flowset
                    // boundary is a shorter valid packet.
                    let r = dec.netflow9(EXP, &full[..cut], UnixMillis(0)).map(|_| ());
                    if netflow9::decode(&full[..cut]).is_ok() {
                        continue;
                    }
                    r
                }
            };
            assert!(r.is_err(), "{name} cut at {cut} of {} accepted", full.len());
        }
    }
    assert!(dec.counters().decode_errors(ErrorKind::Truncated) > 0);
    assert!(
        dec.counters().decode_errors(ErrorKind::Length) > 0,
        "IPFIX length field disagrees"
    );
}

#[test]
fn hostile_sflow_counts_and_lengths() {
    let base = valid_sflow();
    let mut dec = Decoder::default();
    // Absurd sample count (offset 24 with an IPv4 agent).
    let mut b = base.clone();
    put32(&mut b, 24, u32::MAX);
    assert_eq!(sflow::decode(&b).unwrap_err().kind(), ErrorKind::Count);
    // Sample length beyond the datagram.
    let mut b = base.clone();
    put32(&mut b, 32, 0xffff_fff0);
    assert_eq!(sflow::decode(&b).unwrap_err().kind(), ErrorKind::Truncated);
    // Record count absurd (flow sample: 28 sample header + 7 words).
    let mut b = base.clone();
    put32(&mut b, 36 + 28, 1_000_000);
    assert_eq!(sflow::decode(&b).unwrap_err().kind(), ErrorKind::Count);
    // Sampled header length beyond its record.
    let mut b = base.clone();
    put32(&mut b, 36 + 32 + 8 + 12, 10_000);
    assert_eq!(sflow::decode(&b).unwrap_err().kind(), ErrorKind::Truncated);
    // Version and address type.
    let mut b = base.clone();
    put32(&mut b, 0, 4);
    assert_eq!(sflow::decode(&b).unwrap_err().kind(), ErrorKind::Version);
    let mut b = base.clone();
    put32(&mut b, 4, 3);
    assert_eq!(
        sflow::decode(&b).unwrap_err().kind(),
        ErrorKind::AddressType
    );
    // Trailing octets.
    let mut b = base.clone();
    b.extend([0, 0, 0, 0]);
    assert_eq!(sflow::decode(&b).unwrap_err().kind(), ErrorKind::Trailing);
    // Generic interface counters of the wrong size (84 octets, not 88).
    let short = [0u8; 84];
    let d = encode(&Datagram {
        agent: IpAddr::V4(Ipv4Addr::LOCALHOST),
        sub_agent: 0,
        sequence: 1,
        uptime_ms: 0,
        samples: vec![Sample::Counters(CounterSample {
            expanded: false,
            sequence: 1,
            source_id_type: 0,
            source_id_index: 1,
            records: vec![CounterData::Unknown {
                format: 1,
                data: &short,
            }],
        })],
    });
    assert_eq!(sflow::decode(&d).unwrap_err().kind(), ErrorKind::Length);
    assert!(dec.sflow(EXP, &d, UnixMillis(0)).is_err());
    assert_eq!(dec.counters().total_decode_errors(), 1);
}

#[test]
fn hostile_ipfix_messages() {
    let mut dec = Decoder::default();
    let now = UnixMillis(0);
    let mut errs = Vec::new();
    // Length field larger and smaller than the datagram.
    let mut b = valid_ipfix();
    b[2..4].copy_from_slice(&1000u16.to_be_bytes());
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    let mut b = valid_ipfix();
    b.extend([0; 8]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    // A set shorter than its header (would loop forever if accepted).
    let b = wire::ipfix(0, 0, 1, &[vec![1, 0, 0, 2]]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    // A set longer than the message.
    let b = wire::ipfix(0, 0, 1, &[vec![1, 0, 0, 200]]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    // Reserved set ID 1.
    let b = wire::ipfix(0, 0, 1, &[set(1, &[0; 4])]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    // A template claiming 60,000 fields.
    let b = wire::ipfix(0, 0, 1, &[set(2, &[1, 0, 0xea, 0x60, 0, 1, 0, 4])]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    // Template ID below 256.
    let b = wire::ipfix(0, 0, 1, &[set(2, &template(255, &[(1, 4, None)]))]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    // Options template with no scope field.
    let b = wire::ipfix(0, 0, 1, &[set(3, &[1, 0, 0, 1, 0, 0, 0, 1, 0, 4])]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    // Variable-length field longer than the set.
    let t = template(256, &[(82, 65535, None)]);
    let b = wire::ipfix(0, 0, 1, &[set(2, &t), set(256, &[255, 0xff, 0xff, 1])]);
    errs.push(dec.ipfix(EXP, &b, now).unwrap_err().kind());
    assert_eq!(
        errs,
        vec![
            ErrorKind::Length,
            ErrorKind::Trailing,
            ErrorKind::Length,
            ErrorKind::Truncated,
            ErrorKind::SetId,
            ErrorKind::Count,
            ErrorKind::Template,
            ErrorKind::Template,
            ErrorKind::Truncated
        ]
    );
    assert_eq!(dec.counters().total_decode_errors(), errs.len() as u64);
    assert_eq!(dec.counters().ipfix_messages, errs.len() as u64);
}

#[test]
fn hostile_netflow9_packets() {
    let mut dec = Decoder::default();
    let now = UnixMillis(0);
    // Flowset length 0 and 2.
    for len in [0u16, 2] {
        let mut s = vec![1, 0];
        s.extend(len.to_be_bytes());
        let p = wire::netflow9(1, 0, 0, 1, 0, &[s]);
        assert_eq!(
            dec.netflow9(EXP, &p, now).unwrap_err().kind(),
            ErrorKind::Length
        );
    }
    // Template with a zero-length field, and one with too many fields.
    let p = wire::netflow9(1, 0, 0, 1, 0, &[set(0, &template(256, &[(1, 0, None)]))]);
    assert_eq!(
        dec.netflow9(EXP, &p, now).unwrap_err().kind(),
        ErrorKind::Template
    );
    let p = wire::netflow9(1, 0, 0, 1, 0, &[set(0, &[1, 0, 0xff, 0xff, 0, 1, 0, 4])]);
    assert_eq!(
        dec.netflow9(EXP, &p, now).unwrap_err().kind(),
        ErrorKind::Template
    );
    // Options template with a scope length that is not a multiple of 4.
    let p = wire::netflow9(
        1,
        0,
        0,
        1,
        0,
        &[set(1, &[1, 0, 0, 3, 0, 4, 0, 1, 0, 4, 0, 0])],
    );
    assert_eq!(
        dec.netflow9(EXP, &p, now).unwrap_err().kind(),
        ErrorKind::Template
    );
    // Wrong version.
    let mut p = valid_v9();
    p[1] = 5;
    assert_eq!(
        dec.netflow9(EXP, &p, now).unwrap_err().kind(),
        ErrorKind::Version
    );
    assert_eq!(dec.counters().total_decode_errors(), 6);
    let m = dec.counters().metrics();
    let get = |k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    assert_eq!(get("decode_errors_length"), Some(2));
    assert_eq!(get("decode_errors_template"), Some(3));
    assert_eq!(get("decode_errors_version"), Some(1));
    assert_eq!(get("netflow9_packets"), Some(6));
}

#[test]
fn huge_sample_counts_do_not_allocate() {
    // 0xffffffff samples in a 28-octet datagram is rejected before any
    // allocation: the test would abort on an allocation of 2^32 samples.
    let mut b = valid_sflow()[..28].to_vec();
    put32(&mut b, 24, u32::MAX);
    assert_eq!(
        sflow::decode(&b).unwrap_err(),
        flow::DecodeError::Count {
            what: "sample",
            claimed: u32::MAX
        }
    );
}

fn warm_decoder() -> Decoder {
    let mut dec = Decoder::new(DecoderConfig::default());
    let _ = dec.ipfix(EXP, &valid_ipfix(), UnixMillis(0));
    let _ = dec.netflow9(EXP, &valid_v9(), UnixMillis(0));
    dec
}

fn mutate(mut base: Vec<u8>, edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    for (at, v) in edits {
        if !base.is_empty() {
            let i = at % base.len();
            base[i] = *v;
        }
    }
    let keep = base.len().saturating_sub(cut % 8);
    base.truncate(keep);
    base
}

/// One sample for [`mixed_sflow`]: kind 0-5 flow samples with various
/// records (none, unknown first, two raw headers, extended switch before
/// the header), 6 a counter sample, 7 a sample of an unknown format.
fn mixed_sample(kind: u8, n: u32, header: &[u8]) -> Sample<'_> {
    let raw = |len: u32| {
        FlowData::RawHeader(RawHeader {
            protocol: 1,
            frame_length: len,
            stripped: 4,
            header,
        })
    };
    let switch = FlowData::ExtendedSwitch(ExtendedSwitch {
        src_vlan: n % 4096,
        src_priority: 0,
        dst_vlan: 7,
        dst_priority: 0,
    });
    let unknown = FlowData::Unknown {
        format: 1002,
        data: &[0, 0, 0, 1],
    };
    let records = match kind {
        0 => vec![raw(64 + n % 1400)],
        1 => vec![],
        2 => vec![unknown, raw(100)],
        3 => vec![raw(200), raw(300)],
        4 => vec![switch, raw(90)],
        5 => vec![raw(1500), switch, unknown],
        6 => {
            return Sample::Counters(CounterSample {
                expanded: n % 2 == 0,
                sequence: n,
                source_id_type: 0,
                source_id_index: n % 5 + 1,
                records: vec![
                    CounterData::Generic(IfCounters {
                        if_index: n % 5 + 1,
                        in_octets: u64::from(n),
                        ..IfCounters::default()
                    }),
                    CounterData::Unknown {
                        format: 2,
                        data: &[0; 8],
                    },
                ],
            })
        }
        _ => {
            return Sample::Unknown {
                format: 5,
                data: &[1, 2, 3, 4],
            }
        }
    };
    Sample::Flow(FlowSample {
        expanded: n % 3 == 0,
        sequence: n,
        source_id_type: 0,
        source_id_index: n % 7,
        sampling_rate: n % 3000,
        sample_pool: n,
        drops: 0,
        input: Interface {
            format: 0,
            value: n % 9,
        },
        output: Interface {
            format: n % 3,
            value: 3,
        },
        records,
    })
}

fn mixed_sflow(kinds: &[u8], header: &[u8]) -> Vec<u8> {
    let samples = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| mixed_sample(*k % 8, u32::try_from(i).unwrap_or(0) * 7919, header))
        .collect();
    encode(&Datagram {
        agent: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
        sub_agent: 3,
        sequence: 5,
        uptime_ms: 1,
        samples,
    })
}

/// What `sflow::decode` and `sflow::to_record` make of a datagram: the
/// records and the flow, counter and unknown sample counts, or the error.
type Reference = Result<(Vec<flow::FlowRecord>, [u64; 3]), ErrorKind>;

fn reference(buf: &[u8], now: UnixMillis) -> Reference {
    let d = sflow::decode(buf).map_err(|e| e.kind())?;
    let mut records = Vec::new();
    let mut kinds = [0u64; 3];
    for s in &d.samples {
        match s {
            Sample::Flow(f) => {
                kinds[0] += 1;
                records.extend(sflow::to_record(EXP, &d, f, now));
            }
            Sample::Counters(_) => kinds[1] += 1,
            Sample::Unknown { .. } => kinds[2] += 1,
        }
    }
    Ok((records, kinds))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn stateful_sflow_decoder_agrees_with_decode_and_to_record(
        kinds in proptest::collection::vec(any::<u8>(), 0..12),
        header in proptest::collection::vec(any::<u8>(), 0..80),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
        damaged in any::<bool>(),
    ) {
        let now = UnixMillis(1_700_000_000_000);
        let mut bytes = mixed_sflow(&kinds, &header);
        if damaged {
            bytes = mutate(bytes, &edits, cut);
        }
        let want = reference(&bytes, now);
        let mut dec = Decoder::default();
        let mut out = flow::Decoded::default();
        let got = dec.sflow_into(EXP, &bytes, now, &mut out).map_err(|e| e.kind());
        let c = dec.counters();
        match want {
            Ok((records, kinds)) => {
                prop_assert_eq!(got, Ok(()));
                prop_assert_eq!(&out.records, &records);
                prop_assert_eq!(
                    [c.sflow_flow_samples, c.sflow_counter_samples, c.sflow_unknown_samples],
                    kinds
                );
                prop_assert_eq!(c.flow_records, records.len() as u64);
            }
            Err(kind) => {
                prop_assert_eq!(got, Err(kind));
                prop_assert!(out.records.is_empty());
                prop_assert_eq!(c.total_decode_errors(), 1);
                prop_assert_eq!(c.sflow_flow_samples + c.sflow_counter_samples + c.flow_records, 0);
                prop_assert!(dec.interface_counters().is_empty());
            }
        }
    }

    #[test]
    fn random_octets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut dec = warm_decoder();
        let _ = dec.sflow(EXP, &bytes, UnixMillis(0));
        let _ = dec.ipfix(EXP, &bytes, UnixMillis(0));
        let _ = dec.netflow9(EXP, &bytes, UnixMillis(0));
        let _ = ipfix::decode(&bytes);
        let _ = flow::packet::parse_ethernet(&bytes);
        let _ = flow::packet::parse_ipv6(&bytes);
    }

    #[test]
    fn mutated_datagrams_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut dec = warm_decoder();
        let r = dec.sflow(EXP, &mutate(valid_sflow(), &edits, cut), UnixMillis(0));
        let e = dec.counters().total_decode_errors();
        prop_assert_eq!(r.is_err(), e == 1, "an error is counted exactly when returned");
        let _ = dec.ipfix(EXP, &mutate(valid_ipfix(), &edits, cut), UnixMillis(0));
        let _ = dec.netflow9(EXP, &mutate(valid_v9(), &edits, cut), UnixMillis(0));
    }

    #[test]
    fn sflow_flow_samples_round_trip(
        seq in any::<u32>(),
        rate in any::<u32>(),
        ty in 0u32..256,
        index in 0u32..(1 << 24),
        input in 0u32..(1 << 30),
        header in proptest::collection::vec(any::<u8>(), 0..200),
        expanded in any::<bool>(),
        v6 in any::<bool>(),
    ) {
        let d = Datagram {
            agent: if v6 { "2001:db8::1".parse().unwrap() } else { IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)) },
            sub_agent: seq ^ 1,
            sequence: seq,
            uptime_ms: rate ^ seq,
            samples: vec![Sample::Flow(FlowSample {
                expanded,
                sequence: seq,
                source_id_type: ty,
                source_id_index: index,
                sampling_rate: rate,
                sample_pool: rate,
                drops: 0,
                input: Interface { format: 0, value: input },
                output: Interface { format: 1, value: input },
                records: vec![FlowData::RawHeader(RawHeader { protocol: 1, frame_length: 1500, stripped: 4, header: &header })],
            })],
        };
        let bytes = encode(&d);
        prop_assert_eq!(sflow::decode(&bytes), Ok(d));
    }
}
