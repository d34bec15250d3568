//! Replay tests: what real exporters (pmacctd sfprobe/nfprobe, softflowd)
//! sent in the interop tests, recorded in `tests/data/*.pcap`, decoded and
//! aggregated again; the summary must equal `tests/data/*.expected`
//! octet for octet. Unlike the interop tests these need no exporter and are
//! exact even for sampled sFlow, so any change in decoding shows.
//!
//! `CARIBIX_UPDATE_TEST_OUTPUTS=1 cargo test -p flow --test interop --test
//! replay` records new captures and rewrites the expected outputs (check the
//! diff before committing; the root `.gitignore` ignores `*.pcap`, so add
//! the captures with `git add -f`).

mod support;

use flow::{Collector, FlowRecord, UnixMillis};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use support::exporters::{data_dir, read_datagrams, updating};
use support::plan;

/// Every recording the interop tests make; a missing one fails.
const FIXTURES: [&str; 9] = [
    "pmacct-sfprobe",
    "pmacct-nfprobe-v9",
    "pmacct-nfprobe-IPFIX",
    "pmacct-nfprobe-v9-1-in-10",
    "pmacct-nfprobe-IPFIX-1-in-10",
    "softflowd-v9",
    "softflowd-IPFIX",
    "softflowd-v9-1-in-10",
    "softflowd-IPFIX-1-in-10",
];

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn record_line(r: &FlowRecord) -> String {
    format!(
        "{} > {} {}:{} > {}:{} proto {} vlan {} if {}>{} bytes {} packets {} rate {} at {}",
        opt(r.src_mac),
        opt(r.dst_mac),
        opt(r.src_ip),
        opt(r.src_port),
        opt(r.dst_ip),
        opt(r.dst_port),
        opt(r.protocol),
        opt(r.vlan),
        opt(r.ingress_if),
        opt(r.egress_if),
        r.bytes,
        r.packets,
        r.sampling_rate,
        r.timestamp.0
    )
}

fn summary(name: &str) -> String {
    let path = data_dir().join(format!("{name}.pcap"));
    let pcap = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record it with CARIBIX_UPDATE_TEST_OUTPUTS=1 cargo test -p flow --test interop",
            path.display()
        )
    });
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut c = Collector::new(plan::members(true, true));
    let mut dec = flow::Decoder::default();
    let mut out = String::new();
    let datagrams = read_datagrams(&pcap);
    for (ts, port, d) in &datagrams {
        let now = UnixMillis(ts / 1000);
        let (r, recs) = match port {
            6343 => (c.ingest_sflow(from, d, now), dec.sflow(from, d, now)),
            2055 => (c.ingest_netflow9(from, d, now), dec.netflow9(from, d, now)),
            4739 => (c.ingest_ipfix(from, d, now), dec.ipfix(from, d, now)),
            other => panic!("{name}: unexpected port {other}"),
        };
        let _ = writeln!(out, "datagram {} octets: {:?}", d.len(), r);
        for rec in recs.map(|d| d.records).unwrap_or_default() {
            let _ = writeln!(out, "  {}", record_line(&rec));
        }
    }
    let _ = writeln!(out, "counters: {:?}", c.counters());
    let total = c.aggregates().total();
    for ((s, d, f), v) in &total.matrix {
        let _ = writeln!(
            out,
            "pair AS{s} -> AS{d} {f:?}: {} packets {} octets",
            v.packets, v.bytes
        );
    }
    for ((m, f), v) in &total.members {
        let _ = writeln!(
            out,
            "member AS{m} {f:?}: in {} packets {} octets, out {} packets {} octets",
            v.inbound.packets, v.inbound.bytes, v.outbound.packets, v.outbound.bytes
        );
    }
    let _ = writeln!(out, "unattributed: {:?}", total.unattributed);
    for s in c.aggregates().sessions() {
        let _ = writeln!(out, "session {s:?}");
    }
    out
}

#[test]
fn recorded_exporter_output_decodes_as_before() {
    let mut failed = Vec::new();
    for name in FIXTURES {
        let got = summary(name);
        let path = data_dir().join(format!("{name}.expected"));
        if updating() {
            std::fs::write(&path, &got).expect("write expected output");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with CARIBIX_UPDATE_TEST_OUTPUTS=1",
                path.display()
            )
        });
        if got != want {
            let first = got.lines().zip(want.lines()).position(|(a, b)| a != b);
            eprintln!("{name}: differs from {} at line {first:?}", path.display());
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "replay outputs changed: {failed:?}");
}
