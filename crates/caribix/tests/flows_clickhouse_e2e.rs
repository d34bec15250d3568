//! End to end: `caribix run` with `store = "clickhouse://..."` writes its
//! aggregates to a ClickHouse server (Debian's `clickhouse-server`, started
//! here on free ports). pmacctd's sfprobe replays a pcap of member traffic
//! (every packet sampled); the traffic API, which reads the store, must
//! give the pcap's per-member and per-pair bytes exactly, and the same
//! figures must be in the ClickHouse database when read directly. Missing
//! pmacctd or clickhouse-server fails the test.

mod support;

use flowstore::{ClickhouseStore, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;
use support::{
    base_config, clickhouse, free_tcp, free_udp, ipv4_frame, member_config, now_micros,
    run_pmacctd, tempdir, udp, Caribix,
};

const MEMBERS: [(u32, [u8; 6]); 3] = [
    (64501, [2, 0, 0, 0, 3, 1]),
    (64502, [2, 0, 0, 0, 3, 2]),
    (64503, [2, 0, 0, 0, 3, 3]),
];

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn caribix_run_writes_its_aggregates_to_clickhouse() {
    let server = clickhouse::start();
    let dir = tempdir("flows-clickhouse-e2e");
    // 600 frames: 1 -> 2, 2 -> 3, 3 -> 1 in turn, then strangers' traffic
    // that absorbs the samples pmacctd drops when it exits.
    let mut frames = Vec::new();
    for i in 0..600usize {
        let (s, d) = (i % 3, (i + 1) % 3);
        let ip = |n: usize| Ipv4Addr::new(45, 1, u8::try_from(n).unwrap_or(0), 1);
        frames.push(ipv4_frame(
            MEMBERS[d].1,
            MEMBERS[s].1,
            ip(s),
            ip(d),
            17,
            &udp(5000, 443, 100 + (i * 37) % 1300),
        ));
    }
    let stranger = [2, 0, 0, 0, 0xe, 0xe];
    for _ in 0..20 {
        let x = Ipv4Addr::new(45, 9, 0, 1);
        frames.push(ipv4_frame(stranger, stranger, x, x, 17, &udp(1, 2, 100)));
    }
    let mut w = flow::pcap::PcapWriter::new(flow::pcap::LINKTYPE_ETHERNET, 65535);
    let t0 = now_micros() - 5_000_000;
    for (i, f) in frames.iter().enumerate() {
        w.packet(t0 + i as u64 * 1000, f);
    }
    let pcap = dir.join("members.pcap");
    std::fs::write(&pcap, w.finish()).expect("write the pcap");

    let (rs, web, sflow) = (free_tcp(), free_tcp(), free_udp());
    let mut cfg = base_config(
        rs,
        web,
        &format!(
            "[flows]\nsflow = \"127.0.0.1:{sflow}\"\nstore = \"clickhouse://127.0.0.1:{}/caribix_e2e\"\n",
            server.http_port
        ),
    );
    for (i, (asn, mac)) in MEMBERS.iter().enumerate() {
        cfg += &member_config(
            *asn,
            &format!("Member {i}"),
            &format!("127.0.3.{}", i + 1),
            &[*mac],
        );
    }
    let caribix = Caribix::start(&dir, &cfg, web, "/api/v1/traffic/members");
    std::fs::write(
        dir.join("pmacctd.conf"),
        format!(
            "daemonize: false\npcap_savefile: {}\nplugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{sflow}\nsampling_rate: 1\n",
            pcap.display()
        ),
    )
    .expect("write the pmacctd config");
    run_pmacctd(&dir.join("pmacctd.conf"), &dir.join("pmacctd.log"));

    let owner = |m: &[u8]| MEMBERS.iter().find(|(_, mac)| mac[..] == *m).map(|x| x.0);
    let mut want: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut want_pairs: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for f in &frames {
        let len = f.len() as u64;
        if let (Some(d), Some(s)) = (owner(&f[0..6]), owner(&f[6..12])) {
            want.entry(s).or_default().1 += len;
            want.entry(d).or_default().0 += len;
            *want_pairs.entry((s, d)).or_default() += len;
        }
    }
    let want_in: u64 = want.values().map(|x| x.0).sum();
    let v = caribix.poll(
        "/api/v1/traffic/members",
        Duration::from_secs(45),
        "the pcap's bytes through ClickHouse",
        |v| {
            v["members"].as_array().is_some_and(|m| {
                m.iter().filter_map(|r| r["in_bytes"].as_u64()).sum::<u64>() == want_in
            })
        },
    );
    let got: BTreeMap<u32, (u64, u64)> = v["members"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| {
            (
                u32::try_from(u(&m["asn"])).expect("an ASN"),
                (u(&m["in_bytes"]), u(&m["out_bytes"])),
            )
        })
        .collect();
    assert_eq!(got, want, "per member (in, out) bytes from the API");

    // The same figures, read from the server directly.
    let mut ch = ClickhouseStore::open("127.0.0.1", server.http_port, "caribix_e2e")
        .expect("open the database caribix wrote");
    let direct: BTreeMap<u32, (u64, u64)> = ch
        .members(0, 1 << 40)
        .expect("members from ClickHouse")
        .iter()
        .map(|m| (m.asn, (m.in_bytes, m.out_bytes)))
        .collect();
    assert_eq!(direct, want, "per member bytes in ClickHouse");
    let pairs: BTreeMap<(u32, u32), u64> = ch
        .matrix(0, 1 << 40)
        .expect("matrix from ClickHouse")
        .iter()
        .map(|m| ((m.src_asn, m.dst_asn), m.bytes))
        .collect();
    assert_eq!(pairs, want_pairs, "member pairs in ClickHouse");
    let local = ch.local(0, 1 << 40).expect("local from ClickHouse");
    assert_eq!(
        local.local_bytes, want_in,
        "member-to-member bytes are local"
    );
    assert!(ch.stored_rows().expect("row count") > 0);
    drop(caribix);
    let _ = std::fs::remove_dir_all(&dir);
}
