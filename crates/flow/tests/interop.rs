//! Real exporters: the known traffic of `support::plan` is written as a
//! pcap, replayed through pmacctd (sfprobe: sFlow v5; nfprobe: NetFlow v9
//! and IPFIX) and softflowd (NetFlow v9 and IPFIX), received on 127.0.0.1,
//! decoded and aggregated by caribix, and compared with what the pcap holds:
//! exactly for unsampled NetFlow/IPFIX, within four standard deviations of
//! the binomial sampling error for sFlow 1-in-N. tshark dissects the same
//! datagrams and its per-datagram fields must agree with ours.
//!
//! A missing program fails the test with the package to install.

mod support;

use flow::sflow::{self, Sample};
use flow::{ipfix, netflow9, Collector, Decoder, DecoderConfig, MemberTable, UnixMillis};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, SystemTime};
use support::exporters::{
    datagrams_pcap, listener, record_fixture, require, run_and_collect, tshark_fields, TempDir,
};
use support::plan::{self, A, B, C};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn now() -> UnixMillis {
    UnixMillis::from_system_time(SystemTime::now())
}

fn write_plan(dir: &TempDir) -> std::path::PathBuf {
    let p = dir.path("plan.pcap");
    // Timestamps a few seconds in the past, so flow times are plausible.
    std::fs::write(&p, plan::pcap(plan::now_micros() - 10_000_000)).expect("write pcap");
    p
}

fn pmacctd(dir: &TempDir, name: &str, plugin_conf: &str) -> Vec<Vec<u8>> {
    const MUST_SUCCEED: bool = false;
    let bin = require("pmacctd", "pmacct");
    let pcap = write_plan(dir);
    let (sock, port) = listener();
    let conf = dir.path(&format!("{name}.conf"));
    let text = format!(
        "daemonize: false\npcap_savefile: {}\n{}",
        pcap.display(),
        plugin_conf.replace("PORT", &port.to_string())
    );
    std::fs::write(&conf, text).expect("write conf");
    let mut cmd = Command::new(bin);
    cmd.arg("-f").arg(&conf);
    run_and_collect(
        cmd,
        &sock,
        &dir.path(&format!("{name}.log")),
        Duration::from_millis(1500),
        Duration::from_secs(90),
        MUST_SUCCEED,
    )
}

fn softflowd(dir: &TempDir, version: &str, extra: &[&str]) -> Vec<Vec<u8>> {
    const MUST_SUCCEED: bool = true;
    let bin = require("softflowd", "softflowd");
    let pcap = write_plan(dir);
    let (sock, port) = listener();
    let mut cmd = Command::new(bin);
    cmd.arg("-d")
        .arg("-r")
        .arg(&pcap)
        .arg("-n")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-v")
        .arg(version)
        .arg("-p")
        .arg(dir.path("softflowd.pid"))
        // No control socket: with one, softflowd waits for commands after
        // the end of the pcap instead of exiting.
        .arg("-c")
        .arg("none")
        .args(extra);
    run_and_collect(
        cmd,
        &sock,
        &dir.path("softflowd.log"),
        Duration::from_millis(1500),
        Duration::from_secs(90),
        MUST_SUCCEED,
    )
}

/// Pair totals of all aggregates: (src, dst) -> (packets, bytes).
fn pairs(c: &Collector) -> BTreeMap<(u32, u32), (u64, u64)> {
    let total = c.aggregates().total();
    let mut out = BTreeMap::new();
    for ((s, d, _), v) in &total.matrix {
        let e = out.entry((*s, *d)).or_insert((0, 0));
        e.0 += v.packets;
        e.1 += v.bytes;
    }
    out
}

fn check_member_totals(c: &Collector, expected: &BTreeMap<(u32, u32), (u64, u64)>, exact: bool) {
    let total = c.aggregates().total();
    for m in [A, B, C] {
        let got = total.member_total(m);
        let out: u64 = expected
            .iter()
            .filter(|((s, _), _)| *s == m)
            .map(|(_, v)| v.1)
            .sum();
        let inb: u64 = expected
            .iter()
            .filter(|((_, d), _)| *d == m)
            .map(|(_, v)| v.1)
            .sum();
        if exact {
            assert_eq!(got.outbound.bytes, out, "AS{m} outbound bytes");
            assert_eq!(got.inbound.bytes, inb, "AS{m} inbound bytes");
        }
    }
    // Inbound and outbound over all members balance.
    let (i, o) = [A, B, C].iter().fold((0, 0), |(i, o), m| {
        let t = total.member_total(*m);
        (i + t.inbound.bytes, o + t.outbound.bytes)
    });
    assert_eq!(i, o, "inbound and outbound totals must balance");
}

fn check_bgp_session(c: &Collector) {
    let sessions: Vec<_> = c.aggregates().sessions().collect();
    assert!(
        sessions.iter().any(|s| s.a == A
            && s.b == B
            && s.a_ip == Some(plan::ip("10.1.255.1"))
            && s.b_ip == Some(plan::ip("10.2.255.1"))),
        "bilateral session AS{A}-AS{B} not detected: {sessions:?}"
    );
    assert!(
        sessions.iter().all(|s| (s.a, s.b) == (A, B)),
        "only A-B run BGP in the plan: {sessions:?}"
    );
}

#[test]
fn pmacct_sfprobe_sflow_v5_matches_the_pcap_within_sampling_error() {
    const RATE: u64 = 10;
    let dir = TempDir::new("sfprobe");
    let got = pmacctd(
        &dir,
        "sfprobe",
        &format!("plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:PORT\nsampling_rate: {RATE}\n"),
    );
    assert!(!got.is_empty(), "pmacctd sent no sFlow");
    record_fixture("pmacct-sfprobe", &got, 6343);
    let mut c = Collector::new(plan::members(true, false));
    for d in &got {
        c.ingest_sflow(LOCAL, d, now())
            .expect("pmacct sFlow decodes");
    }
    let k = c.counters().clone();
    assert_eq!(k.total_decode_errors(), 0);
    assert_eq!(k.sflow_lost_datagrams, 0, "loopback loses no datagrams");
    assert_eq!(k.sflow_lost_samples, 0);
    assert_eq!(k.sflow_datagrams, got.len() as u64);

    // Every sample is exact about the packet it saw.
    let flows = plan::flows();
    let mut samples_per_pair: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for d in &got {
        let dg = sflow::decode(d).expect("decodes");
        for s in &dg.samples {
            let Sample::Flow(f) = s else { continue };
            assert_eq!(u64::from(f.sampling_rate), RATE);
            let h = f.raw_header().expect("raw header");
            let info = h.parse();
            let pf = flows
                .iter()
                .find(|p| {
                    Some(p.src_ip) == info.src_ip
                        && Some(p.dst_ip) == info.dst_ip
                        && Some(p.sport) == info.src_port
                })
                .unwrap_or_else(|| panic!("sample of unknown traffic: {info:?}"));
            assert_eq!(
                h.counted_octets() as usize,
                pf.frame_len,
                "frame length of {info:?}"
            );
            assert_eq!(info.src_mac.map(|m| m.0), Some(plan::mac(pf.src)));
            assert_eq!(info.dst_mac.map(|m| m.0), Some(plan::mac(pf.dst)));
            assert_eq!(info.vlan, pf.vlan);
            assert_eq!(info.protocol, Some(pf.proto));
            *samples_per_pair.entry((pf.src, pf.dst)).or_default() += 1;
        }
    }

    // Scaled totals per pair within 4 sigma of the binomial sampling error.
    let expected = plan::pair_totals(true);
    let got_pairs = pairs(&c);
    let sigmas = plan::pair_sigma(true, RATE);
    for ((s, d), (n, bytes)) in &expected {
        let (gp, gb) = got_pairs.get(&(*s, *d)).copied().unwrap_or((0, 0));
        let (sp, sb) = sigmas[&(*s, *d)];
        let (tol, btol) = (4.0 * sp, 4.0 * sb);
        eprintln!(
            "sFlow AS{s}->AS{d}: sent {n} pkts {bytes} B, estimated {gp} pkts {gb} B ({} samples), 4 sigma = {tol:.0} pkts, {btol:.0} B",
            samples_per_pair.get(&(*s, *d)).unwrap_or(&0)
        );
        assert!(
            (gp as f64 - *n as f64).abs() <= tol,
            "AS{s}->AS{d} packets {gp} vs {n} (tolerance {tol:.0})"
        );
        assert!(
            (gb as f64 - *bytes as f64).abs() <= btol,
            "AS{s}->AS{d} bytes {gb} vs {bytes} (tolerance {btol:.0})"
        );
    }
    assert_eq!(
        got_pairs.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    let n = plan::total_packets();
    let est: u64 = got_pairs.values().map(|v| v.0).sum();
    let p = 1.0 / RATE as f64;
    let tol = 4.0 * RATE as f64 * (n as f64 * p * (1.0 - p)).sqrt();
    eprintln!("sFlow total: sent {n} pkts, estimated {est}, 4 sigma = {tol:.0}");
    assert!(
        (est as f64 - n as f64).abs() <= tol,
        "total packets {est} vs {n}"
    );
    check_member_totals(&c, &expected, false);
    check_bgp_session(&c);

    // tshark dissects the same datagrams; per-datagram fields agree.
    let pcap = dir.path("sflow-received.pcap");
    std::fs::write(&pcap, datagrams_pcap(&got, 6343)).expect("write");
    let rows = tshark_fields(
        &pcap,
        "udp.port==6343,sflow",
        &[
            "sflow_245.sequence_number",
            "sflow_245.numsamples",
            "sflow.flow_sample.sequence_number",
            "sflow.flow_sample.sampling_rate",
            "sflow_245.header.frame_length",
            "sflow_245.header.payload_stripped",
        ],
    );
    assert_eq!(rows.len(), got.len(), "tshark saw every datagram");
    for (d, row) in got.iter().zip(&rows) {
        let dg = sflow::decode(d).expect("decodes");
        let flows: Vec<_> = dg
            .samples
            .iter()
            .filter_map(|s| match s {
                Sample::Flow(f) => Some(f),
                _ => None,
            })
            .collect();
        let ours = [
            vec![dg.sequence.to_string()],
            vec![dg.samples.len().to_string()],
            flows.iter().map(|f| f.sequence.to_string()).collect(),
            flows.iter().map(|f| f.sampling_rate.to_string()).collect(),
            flows
                .iter()
                .filter_map(|f| f.raw_header())
                .map(|h| h.frame_length.to_string())
                .collect(),
            flows
                .iter()
                .filter_map(|f| f.raw_header())
                .map(|h| h.stripped.to_string())
                .collect(),
        ];
        assert_eq!(
            row.as_slice(),
            ours.as_slice(),
            "tshark and caribix disagree on datagram {}",
            dg.sequence
        );
    }
    eprintln!(
        "sFlow: {} datagrams, {} flow samples, tshark agrees",
        got.len(),
        k.sflow_flow_samples
    );
}

/// Checks exact NetFlow/IPFIX totals and the tshark cross-check.
fn check_netflow(
    got: &[Vec<u8>],
    members: MemberTable,
    ipfix_version: bool,
    name: &str,
    dir: &TempDir,
) {
    assert!(!got.is_empty(), "{name} sent nothing");
    record_fixture(
        &name.replace(' ', "-"),
        got,
        if ipfix_version { 4739 } else { 2055 },
    );
    let mut c = Collector::new(members);
    for d in got {
        let r = if ipfix_version {
            c.ingest_ipfix(LOCAL, d, now())
        } else {
            c.ingest_netflow9(LOCAL, d, now())
        };
        r.unwrap_or_else(|e| panic!("{name} datagram rejected: {e}"));
    }
    let k = c.counters().clone();
    eprintln!("{name}: {} datagrams, counters {k:?}", got.len());
    assert_eq!(k.total_decode_errors(), 0);
    assert_eq!(k.template_misses, 0, "{name}: templates arrive before data");
    assert_eq!(
        k.ipfix_lost_records + k.netflow9_lost_packets,
        0,
        "{name}: no loss on loopback"
    );
    let expected = plan::pair_totals(false);
    let got_pairs = pairs(&c);
    assert_eq!(
        got_pairs, expected,
        "{name}: (packets, IP octets) per member pair"
    );
    check_member_totals(&c, &expected, true);
    check_bgp_session(&c);
    let total = c.aggregates().total();
    assert_eq!(
        total.unattributed.packets, 0,
        "{name}: everything attributed"
    );
    let v6: u64 = total
        .members
        .iter()
        .filter(|((_, f), _)| *f == flow::Family::Ipv6)
        .map(|(_, v)| v.outbound.packets)
        .sum();
    assert_eq!(v6, 600, "{name}: the IPv6 flow is counted as IPv6");

    // tshark cross-check, datagram by datagram.
    let port = if ipfix_version { 4739 } else { 2055 };
    let pcap = dir.path("received.pcap");
    let for_tshark: Vec<Vec<u8>> = if ipfix_version {
        got.to_vec()
    } else {
        v9_with_rfc_counts(got)
    };
    let patched = for_tshark.iter().zip(got).filter(|(a, b)| a != b).count();
    if !ipfix_version {
        eprintln!(
            "{name}: {patched} of {} datagrams had a header count other than RFC 3954's",
            got.len()
        );
    }
    std::fs::write(&pcap, datagrams_pcap(&for_tshark, port)).expect("write");
    let domain_field = if ipfix_version {
        "cflow.od_id"
    } else {
        "cflow.source_id"
    };
    let rows = tshark_fields(
        &pcap,
        &format!("udp.port=={port},cflow"),
        &[
            "cflow.version",
            "cflow.sequence",
            domain_field,
            "cflow.octets",
            "cflow.packets",
        ],
    );
    assert_eq!(rows.len(), got.len(), "tshark saw every datagram");
    let mut dec = Decoder::new(DecoderConfig::default());
    for (d, row) in got.iter().zip(&rows) {
        let (version, seq, domain) = if ipfix_version {
            let m = ipfix::decode(d).expect("decodes");
            (10, m.sequence, m.domain)
        } else {
            let p = netflow9::decode(d).expect("decodes");
            (9, p.sequence, p.source_id)
        };
        let recs = if ipfix_version {
            dec.ipfix(LOCAL, d, now())
        } else {
            dec.netflow9(LOCAL, d, now())
        }
        .expect("decodes")
        .records;
        let ours = [
            vec![version.to_string()],
            vec![seq.to_string()],
            vec![domain.to_string()],
            recs.iter().map(|r| r.bytes.to_string()).collect::<Vec<_>>(),
            recs.iter()
                .map(|r| r.packets.to_string())
                .collect::<Vec<_>>(),
        ];
        assert_eq!(
            row.as_slice(),
            ours.as_slice(),
            "{name}: tshark and caribix disagree on sequence {seq}"
        );
    }
}

/// tshark stops dissecting a NetFlow v9 packet after the header's record
/// count. RFC 3954 §5.1 counts template, options and data records; softflowd
/// and pmacct count fewer, so tshark would see just the first few. These
/// copies carry the RFC count (computed from caribix's own decode, checked
/// again by the comparison that follows).
fn v9_with_rfc_counts(datagrams: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut dec = Decoder::new(DecoderConfig::default());
    datagrams
        .iter()
        .map(|d| {
            let p = netflow9::decode(d).expect("decodes");
            let before = dec.counters().data_records;
            dec.netflow9(LOCAL, d, now()).expect("decodes");
            let templates: usize = p
                .flowsets
                .iter()
                .map(|f| match f {
                    netflow9::FlowSet::Templates(t) => t.len(),
                    _ => 0,
                })
                .sum();
            let count = templates as u64 + dec.counters().data_records - before;
            let mut out = d.clone();
            out[2..4].copy_from_slice(&(count as u16).to_be_bytes());
            out
        })
        .collect()
}

#[test]
fn pmacct_nfprobe_netflow_v9_matches_the_pcap_exactly() {
    let dir = TempDir::new("nfprobe9");
    let got = pmacctd(
        &dir,
        "nfprobe9",
        "plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:PORT\nnfprobe_version: 9\n\
         aggregate: src_mac, dst_mac, vlan, src_host, dst_host, src_port, dst_port, proto, tos\n",
    );
    // pmacct exports MACs: attribute by MAC alone.
    check_netflow(
        &got,
        plan::members(true, false),
        false,
        "pmacct nfprobe v9",
        &dir,
    );
}

#[test]
fn pmacct_nfprobe_ipfix_matches_the_pcap_exactly() {
    let dir = TempDir::new("nfprobe10");
    let got = pmacctd(
        &dir,
        "nfprobe10",
        "plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:PORT\nnfprobe_version: 10\n\
         aggregate: src_mac, dst_mac, vlan, src_host, dst_host, src_port, dst_port, proto, tos\n",
    );
    check_netflow(
        &got,
        plan::members(true, false),
        true,
        "pmacct nfprobe IPFIX",
        &dir,
    );
}

#[test]
fn softflowd_netflow_v9_matches_the_pcap_exactly() {
    let dir = TempDir::new("softflowd9");
    let got = softflowd(&dir, "9", &[]);
    // softflowd exports no MACs: attribute by the members' prefixes.
    check_netflow(
        &got,
        plan::members(false, true),
        false,
        "softflowd v9",
        &dir,
    );
}

#[test]
fn softflowd_ipfix_matches_the_pcap_exactly() {
    let dir = TempDir::new("softflowd10");
    let got = softflowd(&dir, "10", &[]);
    check_netflow(
        &got,
        plan::members(false, true),
        true,
        "softflowd IPFIX",
        &dir,
    );
}

/// Sampled NetFlow v9 / IPFIX from pmacct: the rate arrives in options data
/// (sampler ID, FLOW_SAMPLER_RANDOM_INTERVAL) and data records name their
/// sampler; totals must match the pcap within the binomial sampling error.
fn check_sampled(
    got: &[Vec<u8>],
    members: MemberTable,
    ipfix_version: bool,
    name: &str,
    rate: u64,
) {
    assert!(!got.is_empty(), "{name} sent nothing");
    record_fixture(
        &name.replace(' ', "-").replace(':', "-in-"),
        got,
        if ipfix_version { 4739 } else { 2055 },
    );
    let mut c = Collector::new(members);
    let mut dec = Decoder::new(DecoderConfig::default());
    for d in got {
        let (r, recs) = if ipfix_version {
            (c.ingest_ipfix(LOCAL, d, now()), dec.ipfix(LOCAL, d, now()))
        } else {
            (
                c.ingest_netflow9(LOCAL, d, now()),
                dec.netflow9(LOCAL, d, now()),
            )
        };
        r.unwrap_or_else(|e| panic!("{name} datagram rejected: {e}"));
        for rec in recs.expect("decodes").records {
            assert_eq!(
                u64::from(rec.sampling_rate),
                rate,
                "{name}: rate from the options data"
            );
        }
    }
    let k = c.counters().clone();
    assert_eq!(k.total_decode_errors(), 0);
    assert_eq!(k.template_misses, 0);
    assert!(
        k.options_records >= 1,
        "{name}: sampling options data received"
    );
    let expected = plan::pair_totals(false);
    let got_pairs = pairs(&c);
    let sigmas = plan::pair_sigma(false, rate);
    for ((s, d), (n, bytes)) in &expected {
        let (gp, gb) = got_pairs.get(&(*s, *d)).copied().unwrap_or((0, 0));
        let (sp, sb) = sigmas[&(*s, *d)];
        let (tol, btol) = (4.0 * sp, 4.0 * sb);
        eprintln!("{name} AS{s}->AS{d}: sent {n} pkts {bytes} B, estimated {gp} pkts {gb} B, 4 sigma = {tol:.0} pkts, {btol:.0} B");
        assert!(
            (gp as f64 - *n as f64).abs() <= tol,
            "{name} AS{s}->AS{d} packets {gp} vs {n}"
        );
        assert!(
            (gb as f64 - *bytes as f64).abs() <= btol,
            "{name} AS{s}->AS{d} bytes {gb} vs {bytes}"
        );
    }
}

#[test]
fn pmacct_nfprobe_sampled_netflow_v9_is_scaled_by_options_data() {
    let dir = TempDir::new("nfprobe9s");
    let got = pmacctd(
        &dir,
        "nfprobe9s",
        "plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:PORT\nnfprobe_version: 9\nsampling_rate: 10\n\
         aggregate: src_mac, dst_mac, vlan, src_host, dst_host, src_port, dst_port, proto, tos\n",
    );
    check_sampled(
        &got,
        plan::members(true, false),
        false,
        "pmacct nfprobe v9 1:10",
        10,
    );
}

#[test]
fn pmacct_nfprobe_sampled_ipfix_is_scaled_by_options_data() {
    let dir = TempDir::new("nfprobe10s");
    let got = pmacctd(
        &dir,
        "nfprobe10s",
        "plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:PORT\nnfprobe_version: 10\nsampling_rate: 10\n\
         aggregate: src_mac, dst_mac, vlan, src_host, dst_host, src_port, dst_port, proto, tos\n",
    );
    check_sampled(
        &got,
        plan::members(true, false),
        true,
        "pmacct nfprobe IPFIX 1:10",
        10,
    );
}

/// softflowd samples deterministically, every `rate`-th packet: its
/// estimate per pair must be exactly what that sampling of the pcap gives
/// for one phase (the binomial error does not apply: periodic sampling of
/// round-robin traffic aliases, which is the exporter's business, not ours).
fn check_periodic(got: &[Vec<u8>], ipfix_version: bool, name: &str, rate: u64) {
    assert!(!got.is_empty(), "{name} sent nothing");
    record_fixture(
        &name.replace(' ', "-").replace(':', "-in-"),
        got,
        if ipfix_version { 4739 } else { 2055 },
    );
    let mut c = Collector::new(plan::members(false, true));
    for d in got {
        let r = if ipfix_version {
            c.ingest_ipfix(LOCAL, d, now())
        } else {
            c.ingest_netflow9(LOCAL, d, now())
        };
        r.unwrap_or_else(|e| panic!("{name} datagram rejected: {e}"));
    }
    let k = c.counters();
    assert_eq!((k.total_decode_errors(), k.template_misses), (0, 0));
    assert!(
        k.options_records >= 1,
        "{name}: sampling options data received"
    );
    let got_pairs = pairs(&c);
    let phase = (0..rate).find(|p| plan::periodic_totals(rate, *p) == got_pairs);
    eprintln!("{name}: {got_pairs:?} is phase {phase:?} of 1-in-{rate}");
    assert!(
        phase.is_some(),
        "{name}: {got_pairs:?} is no phase of periodic 1-in-{rate} sampling of the pcap"
    );
    // And it is not the unscaled count.
    assert_ne!(got_pairs, plan::pair_totals(false));
}

#[test]
fn softflowd_sampled_netflow_v9_is_scaled_by_options_data() {
    let dir = TempDir::new("softflowd9s");
    let got = softflowd(&dir, "9", &["-s", "10"]);
    check_periodic(&got, false, "softflowd v9 1:10", 10);
}

#[test]
fn softflowd_sampled_ipfix_is_scaled_by_options_data() {
    let dir = TempDir::new("softflowd10s");
    let got = softflowd(&dir, "10", &["-s", "10"]);
    check_periodic(&got, true, "softflowd IPFIX 1:10", 10);
}
