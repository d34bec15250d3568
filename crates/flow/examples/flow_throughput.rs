//! Decode-and-aggregate throughput of the collector on synthetic traffic:
//! sFlow datagrams of 8 flow samples with 128-octet Ethernet/IPv4/UDP
//! headers between 50 members, and IPFIX messages of 30 records.
//!
//! `cargo run --release -p flow --example flow_throughput`

use flow::sflow::encode::encode;
use flow::sflow::{Datagram, FlowData, FlowSample, Interface, RawHeader, Sample};
use flow::{Collector, MacAddr, MemberTable, UnixMillis};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

const MEMBERS: u8 = 50;

fn header(src: u8, dst: u8, n: u32) -> Vec<u8> {
    let mut h = vec![2, 0, 0, 0, 1, dst, 2, 0, 0, 0, 1, src, 0x08, 0x00];
    h.extend([0x45, 0, 0x05, 0xdc, 0, 0, 0, 0, 64, 17, 0, 0]);
    h.extend([10, src, (n >> 8) as u8, n as u8, 10, dst, 0, 1]);
    h.extend([0x30, 0x39, 0x01, 0xbb, 0x05, 0xc8, 0, 0]);
    h.resize(128, 0);
    h
}

fn main() {
    let mut members = MemberTable::new();
    for m in 1..=MEMBERS {
        let asn = 64_500 + u32::from(m);
        members.add_member(asn, format!("member {m}"));
        members.add_mac(MacAddr([2, 0, 0, 0, 1, m]), asn);
    }
    let headers: Vec<Vec<u8>> = (0..400u32)
        .map(|i| header((i % 50) as u8 + 1, ((i * 7 + 3) % 50) as u8 + 1, i))
        .collect();
    let datagrams: Vec<Vec<u8>> = (0..50u32)
        .map(|d| {
            let samples = (0..8u32)
                .map(|s| {
                    let h = &headers[((d * 8 + s) % 400) as usize];
                    Sample::Flow(FlowSample {
                        expanded: false,
                        sequence: d * 8 + s + 1,
                        source_id_type: 0,
                        source_id_index: 1,
                        sampling_rate: 16_384,
                        sample_pool: 0,
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
                            frame_length: 1518,
                            stripped: 4,
                            header: h,
                        })],
                    })
                })
                .collect();
            encode(&Datagram {
                agent: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                sub_agent: 0,
                sequence: d + 1,
                uptime_ms: d,
                samples,
            })
        })
        .collect();

    let mut c = Collector::new(members);
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let rounds = 4_000u32;
    let start = Instant::now();
    for r in 0..rounds {
        let now = UnixMillis(1_700_000_000_000 + u64::from(r) * 15);
        for d in &datagrams {
            // Sequence numbers repeat across rounds: counted as restarts,
            // which costs the same as in-order tracking.
            let _ = c.ingest_sflow(from, d, now);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = f64::from(rounds) * datagrams.len() as f64;
    let k = c.counters();
    println!(
        "sFlow: {n:.0} datagrams, {} flow samples in {secs:.2} s: {:.0} datagrams/s, {:.0} samples/s; {} minute buckets, errors {}",
        k.sflow_flow_samples,
        n / secs,
        k.sflow_flow_samples as f64 / secs,
        c.aggregates().minutes().count(),
        k.total_decode_errors()
    );

    // IPFIX: one template, then messages of 30 records each.
    let mut c = Collector::new(c.members().clone());
    let fields: [(u16, u16); 10] = [
        (8, 4),
        (12, 4),
        (1, 8),
        (2, 8),
        (4, 1),
        (7, 2),
        (11, 2),
        (56, 6),
        (80, 6),
        (153, 8),
    ];
    let mut tset = vec![0, 2, 0, 0, 1, 0, 0, fields.len() as u8];
    for (id, len) in fields {
        tset.extend(id.to_be_bytes());
        tset.extend(len.to_be_bytes());
    }
    let tlen = tset.len() as u16;
    tset[2..4].copy_from_slice(&tlen.to_be_bytes());
    let message = |seq: u32, sets: &[u8]| {
        let mut m = vec![0, 10, 0, 0];
        m.extend(1_700_000_000u32.to_be_bytes());
        m.extend(seq.to_be_bytes());
        m.extend(1u32.to_be_bytes());
        m.extend_from_slice(sets);
        let len = m.len() as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        m
    };
    let _ = c.ingest_ipfix(from, &message(0, &tset), UnixMillis(1_700_000_000_000));
    let mut dset = vec![1, 0, 0, 0];
    for i in 0..30u8 {
        let (s, d) = (i % MEMBERS + 1, (i * 7 + 3) % MEMBERS + 1);
        dset.extend([10, s, 0, 1, 10, d, 0, 1]);
        dset.extend(1_500_000u64.to_be_bytes());
        dset.extend(1_000u64.to_be_bytes());
        dset.extend([6, 0x30, 0x39, 0x01, 0xbb]);
        dset.extend([2, 0, 0, 0, 1, s, 2, 0, 0, 0, 1, d]);
        dset.extend(1_700_000_000_000u64.to_be_bytes());
    }
    let dlen = dset.len() as u16;
    dset[2..4].copy_from_slice(&dlen.to_be_bytes());
    let messages: Vec<Vec<u8>> = (0..50u32).map(|i| message(i * 30, &dset)).collect();
    let start = Instant::now();
    for r in 0..rounds {
        let now = UnixMillis(1_700_000_000_000 + u64::from(r) * 15);
        for m in &messages {
            let _ = c.ingest_ipfix(from, m, now);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let k = c.counters();
    println!(
        "IPFIX: {n:.0} messages, {} records in {secs:.2} s: {:.0} messages/s, {:.0} records/s; errors {}, misses {}",
        k.flow_records,
        n / secs,
        k.flow_records as f64 / secs,
        k.total_decode_errors(),
        k.template_misses
    );
}
