//! IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) tests with messages laid out
//! by hand: templates and data, variable-length fields, withdrawal, expiry,
//! options data for sampling, template misses and sequence loss.

mod support;

use flow::{Decoder, DecoderConfig, ErrorKind, FlowSource, MacAddr, UnixMillis};
use std::net::{IpAddr, Ipv4Addr};
use support::wire::{self, ipfix_options_template, set, template, v9_options_template, Field};

const EXP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50));
const T0: u64 = 1_700_000_000_000;

fn at(ms: u64) -> UnixMillis {
    UnixMillis(T0 + ms)
}

/// Template 256: addresses, reduced-size counters (RFC 7011 §6.2), ports,
/// protocol, end time, MACs.
fn fields_256() -> Vec<Field> {
    vec![
        (8, 4, None),
        (12, 4, None),
        (1, 8, None),
        (2, 4, None), // reduced-size packetDeltaCount
        (4, 1, None),
        (7, 2, None),
        (11, 2, None),
        (153, 8, None),
        (56, 6, None),
        (80, 6, None),
        (10, 4, None),
        (14, 4, None),
    ]
}

fn record_256(src: [u8; 4], dst: [u8; 4], octets: u64, packets: u32, end_ms: u64) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(&octets.to_be_bytes());
    v.extend_from_slice(&packets.to_be_bytes());
    v.push(6);
    v.extend_from_slice(&179u16.to_be_bytes());
    v.extend_from_slice(&40000u16.to_be_bytes());
    v.extend_from_slice(&end_ms.to_be_bytes());
    v.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&[2, 0, 0, 0, 0, 2]);
    v.extend_from_slice(&7u32.to_be_bytes());
    v.extend_from_slice(&8u32.to_be_bytes());
    v
}

#[test]
fn ipfix_template_and_data_decode_with_padding() {
    let mut data = record_256([10, 0, 0, 1], [10, 0, 0, 2], 1500, 3, T0 - 5000);
    data.extend(record_256([10, 0, 0, 3], [10, 0, 0, 4], 40, 1, T0 - 4000));
    data.extend([0, 0, 0]); // padding, shorter than a record
    let msg = wire::ipfix(
        1_700_000_000,
        0,
        7,
        &[set(2, &template(256, &fields_256())), set(256, &data)],
    );
    let mut dec = Decoder::new(DecoderConfig::default());
    let out = dec.ipfix(EXP, &msg, at(0)).expect("decodes");
    assert_eq!(out.records.len(), 2);
    let r = &out.records[0];
    assert_eq!(r.src_ip, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
    assert_eq!(r.dst_ip, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))));
    assert_eq!((r.bytes, r.packets, r.sampling_rate), (1500, 3, 1));
    assert_eq!(
        (r.protocol, r.src_port, r.dst_port),
        (Some(6), Some(179), Some(40000))
    );
    assert_eq!(r.timestamp, UnixMillis(T0 - 5000));
    assert_eq!(r.src_mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
    assert_eq!(r.dst_mac, Some(MacAddr([2, 0, 0, 0, 0, 2])));
    assert_eq!((r.ingress_if, r.egress_if), (Some(7), Some(8)));
    assert_eq!(
        r.source,
        FlowSource::Ipfix {
            domain: 7,
            template: 256
        }
    );
    assert_eq!(dec.counters().data_records, 2);
    assert_eq!(dec.template_counts(), (1, 0));
}

/// pmacct's nfprobe, exporting in the output direction, names the MACs
/// postSourceMacAddress (81) and postDestinationMacAddress (57): both are
/// the frame's MACs as it left the router.
#[test]
fn ipfix_post_mac_addresses_stand_for_the_frame_macs() {
    let fields: Vec<Field> = fields_256()
        .into_iter()
        .map(|(id, len, e)| match id {
            56 => (81, len, e),
            80 => (57, len, e),
            _ => (id, len, e),
        })
        .collect();
    let data = record_256([10, 0, 0, 1], [10, 0, 0, 2], 1500, 3, T0 - 5000);
    let msg = wire::ipfix(
        1_700_000_000,
        0,
        7,
        &[set(2, &template(256, &fields)), set(256, &data)],
    );
    let mut dec = Decoder::new(DecoderConfig::default());
    let out = dec.ipfix(EXP, &msg, at(0)).expect("decodes");
    let r = &out.records[0];
    assert_eq!(r.src_mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
    assert_eq!(r.dst_mac, Some(MacAddr([2, 0, 0, 0, 0, 2])));
}

#[test]
fn ipfix_variable_length_and_enterprise_fields() {
    // interfaceName (82) variable length, an enterprise field, then octets.
    let fields = vec![
        (82, 65535, None),
        (1, 2, Some(32473)),
        (1, 4, None),
        (2, 1, None),
    ];
    let mut data = Vec::new();
    data.push(3);
    data.extend(b"xe0");
    data.extend([0xff, 0xff]); // enterprise-specific, ignored
    data.extend(1000u32.to_be_bytes());
    data.push(2);
    // A long name: 255 then a 16-bit length (RFC 7011 §7).
    data.push(255);
    data.extend(300u16.to_be_bytes());
    data.extend(std::iter::repeat_n(b'a', 300));
    data.extend([0, 0]);
    data.extend(77u32.to_be_bytes());
    data.push(1);
    let msg = wire::ipfix(
        1_700_000_000,
        0,
        1,
        &[set(2, &template(300, &fields)), set(300, &data)],
    );
    let mut dec = Decoder::default();
    let out = dec.ipfix(EXP, &msg, at(0)).expect("decodes");
    let got: Vec<(u64, u64)> = out.records.iter().map(|r| (r.bytes, r.packets)).collect();
    assert_eq!(got, vec![(1000, 2), (77, 1)]);
    // Without a flow end time, the export time is the record's time.
    assert_eq!(out.records[0].timestamp, UnixMillis(1_700_000_000_000));
}

#[test]
fn ipfix_withdrawal_and_template_miss() {
    let mut dec = Decoder::default();
    let data = record_256([10, 0, 0, 1], [10, 0, 0, 2], 1, 1, T0);
    let t = wire::ipfix(0, 0, 1, &[set(2, &template(256, &fields_256()))]);
    dec.ipfix(EXP, &t, at(0)).unwrap();
    assert_eq!(
        dec.ipfix(EXP, &wire::ipfix(0, 0, 1, &[set(256, &data)]), at(1))
            .unwrap()
            .records
            .len(),
        1
    );
    // Withdraw template 256 (field count 0, RFC 7011 §8.1).
    dec.ipfix(EXP, &wire::ipfix(0, 1, 1, &[set(2, &[1, 0, 0, 0])]), at(2))
        .unwrap();
    assert_eq!(dec.counters().templates_withdrawn, 1);
    let out = dec
        .ipfix(EXP, &wire::ipfix(0, 1, 1, &[set(256, &data)]), at(3))
        .unwrap();
    assert_eq!((out.records.len(), out.template_misses), (0, 1));
    assert_eq!(dec.counters().template_misses, 1);
    // Another domain or exporter never had it.
    let out = dec.ipfix(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 51)),
        &wire::ipfix(0, 0, 1, &[set(256, &data)]),
        at(3),
    );
    assert_eq!(out.unwrap().template_misses, 1);
    // Learn two, withdraw all (template ID 2).
    dec.ipfix(
        EXP,
        &wire::ipfix(
            0,
            1,
            1,
            &[set(
                2,
                &[template(256, &fields_256()), template(257, &fields_256())].concat(),
            )],
        ),
        at(4),
    )
    .unwrap();
    dec.ipfix(EXP, &wire::ipfix(0, 1, 1, &[set(2, &[0, 2, 0, 0])]), at(5))
        .unwrap();
    assert_eq!(dec.counters().templates_withdrawn, 3);
    assert_eq!(dec.template_counts().0, 0);
}

#[test]
fn templates_expire_without_refresh() {
    let mut dec = Decoder::new(DecoderConfig {
        template_timeout_ms: Some(1000),
        ..DecoderConfig::default()
    });
    let t = wire::ipfix(0, 0, 1, &[set(2, &template(256, &fields_256()))]);
    let data = wire::ipfix(0, 0, 1, &[set(256, &record_256([1; 4], [2; 4], 1, 1, T0))]);
    dec.ipfix(EXP, &t, at(0)).unwrap();
    assert_eq!(dec.ipfix(EXP, &data, at(900)).unwrap().records.len(), 1);
    // Refreshed at 900? No: use does not refresh, only a template does.
    let out = dec.ipfix(EXP, &data, at(1500)).unwrap();
    assert_eq!(out.template_misses, 1);
    assert_eq!(dec.counters().templates_expired, 1);
    // A refresh keeps it alive.
    dec.ipfix(EXP, &t, at(2000)).unwrap();
    dec.ipfix(EXP, &t, at(2800)).unwrap();
    assert_eq!(dec.ipfix(EXP, &data, at(3500)).unwrap().records.len(), 1);
    dec.expire_templates(at(10_000));
    assert_eq!(dec.counters().templates_expired, 2);
}

#[test]
fn ipfix_options_data_sets_the_sampling_rate() {
    // Options template 400: scope observationDomainId (149), then
    // samplingPacketInterval (305) and samplingPacketSpace (306): take 1,
    // skip 99, i.e. 1 in 100 (RFC 5477).
    let opt_t = ipfix_options_template(400, &[(149, 4, None)], &[(305, 4, None), (306, 4, None)]);
    let mut opt_d = Vec::new();
    opt_d.extend(1u32.to_be_bytes());
    opt_d.extend(1u32.to_be_bytes());
    opt_d.extend(99u32.to_be_bytes());
    let data = record_256([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2, T0);
    let msg = wire::ipfix(
        0,
        0,
        1,
        &[
            set(3, &opt_t),
            set(2, &template(256, &fields_256())),
            set(400, &opt_d),
            set(256, &data),
        ],
    );
    let mut dec = Decoder::default();
    let out = dec.ipfix(EXP, &msg, at(0)).unwrap();
    assert_eq!(out.records.len(), 1);
    assert_eq!(
        (
            out.records[0].bytes,
            out.records[0].packets,
            out.records[0].sampling_rate
        ),
        (100_000, 200, 100)
    );
    assert_eq!(dec.counters().options_records, 1);
    // A record that carries samplingInterval (34) itself uses its own.
    let mut f = fields_256();
    f.push((34, 4, None));
    let mut d2 = record_256([10, 0, 0, 1], [10, 0, 0, 2], 10, 1, T0);
    d2.extend(8u32.to_be_bytes());
    let out = dec
        .ipfix(
            EXP,
            &wire::ipfix(0, 1, 1, &[set(2, &template(258, &f)), set(258, &d2)]),
            at(0),
        )
        .unwrap();
    assert_eq!(
        (out.records[0].bytes, out.records[0].sampling_rate),
        (80, 8)
    );
}

#[test]
fn ipfix_sequence_counts_lost_records() {
    let mut dec = Decoder::default();
    let t = template(256, &fields_256());
    let two = [
        record_256([1; 4], [2; 4], 1, 1, T0),
        record_256([1; 4], [2; 4], 1, 1, T0),
    ]
    .concat();
    // Message 1: sequence 0, two records; next expected 2.
    dec.ipfix(
        EXP,
        &wire::ipfix(0, 0, 1, &[set(2, &t), set(256, &two)]),
        at(0),
    )
    .unwrap();
    dec.ipfix(EXP, &wire::ipfix(0, 2, 1, &[set(256, &two)]), at(0))
        .unwrap();
    assert_eq!(dec.counters().ipfix_lost_records, 0);
    // Expected 4, got 9: five records lost.
    dec.ipfix(EXP, &wire::ipfix(0, 9, 1, &[set(256, &two)]), at(0))
        .unwrap();
    assert_eq!(dec.counters().ipfix_lost_records, 5);
}

#[test]
fn zero_length_field_template_is_rejected_and_counted() {
    let mut dec = Decoder::default();
    let msg = wire::ipfix(0, 0, 1, &[set(2, &template(256, &[(1, 0, None)]))]);
    let e = dec.ipfix(EXP, &msg, at(0)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Template);
    assert_eq!(dec.counters().decode_errors(ErrorKind::Template), 1);
    assert_eq!(dec.template_counts().0, 0);
}

// ---- NetFlow v9 ----

fn v9_fields() -> Vec<(u16, u16)> {
    vec![
        (8, 4),
        (12, 4),
        (1, 4),
        (2, 4),
        (22, 4),
        (21, 4),
        (4, 1),
        (7, 2),
        (11, 2),
        (48, 1),
    ]
}

fn v9_template() -> Vec<u8> {
    let f: Vec<Field> = v9_fields().into_iter().map(|(t, l)| (t, l, None)).collect();
    template(260, &f)
}

fn v9_record(octets: u32, packets: u32, first: u32, last: u32, sampler: u8) -> Vec<u8> {
    let mut v = vec![10, 0, 0, 1, 10, 0, 0, 2];
    v.extend(octets.to_be_bytes());
    v.extend(packets.to_be_bytes());
    v.extend(first.to_be_bytes());
    v.extend(last.to_be_bytes());
    v.push(17);
    v.extend(53u16.to_be_bytes());
    v.extend(1053u16.to_be_bytes());
    v.push(sampler);
    v
}

/// A NetFlow v9 packet (uptime 10 s, sequence 1, source 42): the template
/// and one record of 500 octets, 5 packets, from uptime 1 s to 9 s.
fn v9_packet() -> Vec<u8> {
    let secs = (T0 / 1000) as u32;
    let data = [v9_record(500, 5, 1_000, 9_000, 0), vec![0, 0]].concat();
    wire::netflow9(
        2,
        10_000,
        secs,
        1,
        42,
        &[set(0, &v9_template()), set(260, &data)],
    )
}

#[test]
fn netflow9_template_data_uptime_times_and_sequence() {
    let p = v9_packet();
    let mut dec = Decoder::default();
    let out = dec.netflow9(EXP, &p, at(0)).unwrap();
    assert_eq!(out.records.len(), 1);
    let r = &out.records[0];
    assert_eq!((r.bytes, r.packets), (500, 5));
    assert_eq!(
        r.source,
        FlowSource::NetflowV9 {
            source_id: 42,
            template: 260
        }
    );
    // Ended 1,000 ms of uptime before the export (RFC 3954 §8, types 21/22).
    assert_eq!(r.timestamp, UnixMillis(T0 - 1000));
    // Packets 2 and 3 lost.
    let data = [v9_record(500, 5, 1_000, 9_000, 0), vec![0, 0]].concat();
    dec.netflow9(
        EXP,
        &wire::netflow9(1, 10_000, (T0 / 1000) as u32, 4, 42, &[set(260, &data)]),
        at(0),
    )
    .unwrap();
    assert_eq!(dec.counters().netflow9_lost_packets, 2);
}

#[test]
fn netflow9_options_sampler_table_scales_by_sampler_id() {
    // Options template 261: scope System (type 1, 4 octets, which must not be
    // read as octetDeltaCount), FLOW_SAMPLER_ID (48), SAMPLING_INTERVAL (34).
    let opt_t = v9_options_template(261, &[(1, 4)], &[(48, 1), (34, 4)]);
    let mut opt_d = Vec::new();
    for (id, rate) in [(1u8, 10u32), (2, 1000)] {
        opt_d.extend(0xdead_beefu32.to_be_bytes());
        opt_d.push(id);
        opt_d.extend(rate.to_be_bytes());
    }
    opt_d.extend([0, 0]); // padding
    let data = [v9_record(100, 1, 0, 0, 1), v9_record(100, 1, 0, 0, 2)].concat();
    let p = wire::netflow9(
        5,
        0,
        0,
        1,
        0,
        &[
            set(1, &opt_t),
            set(0, &v9_template()),
            set(261, &opt_d),
            set(260, &data),
        ],
    );
    let mut dec = Decoder::default();
    let out = dec.netflow9(EXP, &p, at(0)).unwrap();
    let got: Vec<(u64, u32)> = out
        .records
        .iter()
        .map(|r| (r.bytes, r.sampling_rate))
        .collect();
    assert_eq!(got, vec![(1000, 10), (100_000, 1000)]);
    assert_eq!(dec.counters().options_records, 2);
}

#[test]
fn netflow9_unknown_template_is_a_miss_not_an_error() {
    let mut dec = Decoder::default();
    let p = wire::netflow9(1, 0, 0, 1, 0, &[set(260, &v9_record(1, 1, 0, 0, 0))]);
    let out = dec.netflow9(EXP, &p, at(0)).unwrap();
    assert_eq!((out.records.len(), out.template_misses), (0, 1));
    assert_eq!(dec.counters().total_decode_errors(), 0);
    assert_eq!(dec.counters().template_misses, 1);
}

#[test]
fn netflow9_rejects_variable_length_fields() {
    let mut dec = Decoder::default();
    let p = wire::netflow9(
        1,
        0,
        0,
        1,
        0,
        &[set(0, &template(260, &[(1, 65535, None)]))],
    );
    assert_eq!(
        dec.netflow9(EXP, &p, at(0)).unwrap_err().kind(),
        ErrorKind::Template
    );
}

#[test]
fn template_cache_is_bounded() {
    let mut dec = Decoder::new(DecoderConfig {
        max_templates: 2,
        ..DecoderConfig::default()
    });
    let ts = [
        template(256, &fields_256()),
        template(257, &fields_256()),
        template(258, &fields_256()),
    ]
    .concat();
    dec.ipfix(EXP, &wire::ipfix(0, 0, 1, &[set(2, &ts)]), at(0))
        .unwrap();
    assert_eq!(dec.template_counts().0, 2);
    assert_eq!(
        (
            dec.counters().templates_learned,
            dec.counters().templates_refused
        ),
        (2, 1)
    );
    // A refresh of a held template is still accepted when full.
    dec.ipfix(
        EXP,
        &wire::ipfix(0, 0, 1, &[set(2, &template(256, &fields_256()))]),
        at(1),
    )
    .unwrap();
    assert_eq!(dec.counters().templates_learned, 3);
    let data = record_256([1; 4], [2; 4], 1, 1, T0);
    let out = dec
        .ipfix(EXP, &wire::ipfix(0, 0, 1, &[set(258, &data)]), at(2))
        .unwrap();
    assert_eq!(out.template_misses, 1);
}

#[test]
fn data_before_its_template_is_buffered_briefly() {
    let cfg = DecoderConfig {
        miss_buffer_ms: Some(1000),
        ..DecoderConfig::default()
    };
    let mut dec = Decoder::new(cfg);
    let data = wire::ipfix(
        0,
        0,
        1,
        &[set(
            256,
            &record_256([10, 0, 0, 1], [10, 0, 0, 2], 700, 7, T0),
        )],
    );
    let out = dec.ipfix(EXP, &data, at(0)).unwrap();
    assert_eq!((out.records.len(), out.template_misses), (0, 1));
    // The template arrives 500 ms later: the held set is decoded then.
    let t = wire::ipfix(0, 1, 1, &[set(2, &template(256, &fields_256()))]);
    let out = dec.ipfix(EXP, &t, at(500)).unwrap();
    assert_eq!(out.records.len(), 1);
    assert_eq!((out.records[0].bytes, out.records[0].packets), (700, 7));
    assert_eq!(
        (
            dec.counters().template_misses,
            dec.counters().template_misses_recovered
        ),
        (1, 1)
    );
    // Held too long: dropped. Another domain's template does not release it.
    let v9 = wire::netflow9(1, 0, 0, 1, 9, &[set(260, &v9_record(1, 1, 0, 0, 0))]);
    dec.netflow9(EXP, &v9, at(1000)).unwrap();
    let other = wire::netflow9(1, 0, 0, 1, 10, &[set(0, &v9_template())]);
    assert_eq!(
        dec.netflow9(EXP, &other, at(1100)).unwrap().records.len(),
        0
    );
    let late = wire::netflow9(1, 0, 0, 2, 9, &[set(0, &v9_template())]);
    assert_eq!(dec.netflow9(EXP, &late, at(2500)).unwrap().records.len(), 0);
    assert_eq!(dec.counters().template_misses_recovered, 1);
    // In time, NetFlow v9 is recovered too.
    dec.netflow9(
        EXP,
        &wire::netflow9(1, 0, 0, 1, 11, &[set(260, &v9_record(5, 1, 0, 0, 0))]),
        at(3000),
    )
    .unwrap();
    let t11 = wire::netflow9(1, 0, 0, 2, 11, &[set(0, &v9_template())]);
    let out = dec.netflow9(EXP, &t11, at(3100)).unwrap();
    assert_eq!(
        out.records.iter().map(|r| r.bytes).collect::<Vec<_>>(),
        vec![5]
    );
    assert_eq!(dec.counters().template_misses_recovered, 2);
}

#[test]
fn ipfix_and_netflow9_into_reuse_and_clear_their_output() {
    let msg = wire::ipfix(
        0,
        0,
        1,
        &[
            set(2, &template(256, &fields_256())),
            set(256, &record_256([1; 4], [2; 4], 100, 1, T0)),
        ],
    );
    let fresh = Decoder::default().ipfix(EXP, &msg, at(0)).unwrap();
    assert_eq!(fresh.records.len(), 1);
    let mut dec = Decoder::default();
    // Stale content from an earlier datagram is cleared.
    let mut out = fresh.clone();
    out.records.extend(fresh.records.iter().cloned());
    out.template_misses = 7;
    dec.ipfix_into(EXP, &msg, at(0), &mut out).unwrap();
    assert_eq!(out, fresh);
    let cut = msg.get(..msg.len() - 3).unwrap_or_default();
    assert!(dec.ipfix_into(EXP, cut, at(0), &mut out).is_err());
    assert_eq!(out, flow::Decoded::default());

    let p = v9_packet();
    let fresh = Decoder::default().netflow9(EXP, &p, at(0)).unwrap();
    assert_eq!(fresh.records.len(), 1);
    let mut out = fresh.clone();
    out.records.extend(fresh.records.iter().cloned());
    out.template_misses = 3;
    dec.netflow9_into(EXP, &p, at(0), &mut out).unwrap();
    assert_eq!(out, fresh);
    let cut = p.get(..p.len() - 3).unwrap_or_default();
    assert!(dec.netflow9_into(EXP, cut, at(0), &mut out).is_err());
    assert_eq!(out, flow::Decoded::default());
}
