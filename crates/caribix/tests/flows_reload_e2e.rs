//! End to end: a SIGHUP reload reaches the flow collector. `caribix run`
//! starts with member A only; pmacctd's sfprobe (every packet sampled)
//! replays traffic between A and a router whose MAC nobody configured, so
//! only A's side is attributed. Member B, with that MAC, is added to the
//! file and caribix gets SIGHUP (by PID); the same traffic replayed again
//! is now attributed to B as well, under B's name, and what was counted
//! before stays as it was. A missing pmacctd fails the test.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{
    base_config, free_tcp, free_udp, ipv4_frame, member_config, now_micros, run_pmacctd, tempdir,
    udp, Caribix,
};

const A: u32 = 64501;
const B: u32 = 64502;
const MAC_A: [u8; 6] = [2, 0, 0, 0, 5, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 5, 2];

/// B to A, A to B, then strangers' frames that absorb the samples pmacctd
/// drops when it exits. Returns (B-to-A octets, A-to-B octets).
fn write_pcap(path: &Path) -> (u64, u64) {
    let (a, b) = (Ipv4Addr::new(45, 1, 0, 1), Ipv4Addr::new(45, 2, 0, 1));
    let mut w = flow::pcap::PcapWriter::new(flow::pcap::LINKTYPE_ETHERNET, 65535);
    let mut t = now_micros() - 5_000_000;
    let (mut ba, mut ab) = (0, 0);
    for i in 0..300usize {
        let f = if i % 3 == 0 {
            ipv4_frame(MAC_B, MAC_A, a, b, 17, &udp(443, 5000, 300 + i))
        } else {
            ipv4_frame(MAC_A, MAC_B, b, a, 17, &udp(5000, 443, 900))
        };
        if i % 3 == 0 {
            ab += f.len() as u64;
        } else {
            ba += f.len() as u64;
        }
        w.packet(t, &f);
        t += 1000;
    }
    let stranger = [2, 0, 0, 0, 0xe, 0xe];
    let x = Ipv4Addr::new(45, 9, 0, 1);
    for _ in 0..20 {
        w.packet(
            t,
            &ipv4_frame(stranger, stranger, x, x, 17, &udp(1, 2, 100)),
        );
        t += 1000;
    }
    std::fs::write(path, w.finish()).expect("write the pcap");
    (ba, ab)
}

fn members(v: &Value) -> BTreeMap<u32, (String, u64, u64)> {
    v["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|r| {
                    Some((
                        u32::try_from(r["asn"].as_u64()?).ok()?,
                        (
                            r["name"].as_str()?.to_string(),
                            r["in_bytes"].as_u64()?,
                            r["out_bytes"].as_u64()?,
                        ),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_member_added_by_sighup_is_attributed_from_then_on() {
    let dir = tempdir("flows-reload-e2e");
    let (rs, web, sflow) = (free_tcp(), free_tcp(), free_udp());
    let flows = format!(
        "[flows]\nsflow = \"127.0.0.1:{sflow}\"\nstore = \"sqlite:{}\"\n",
        dir.join("flows.db").display()
    );
    let only_a =
        base_config(rs, web, &flows) + &member_config(A, "Island Telecom", "127.0.3.1", &[MAC_A]);
    let caribix = Caribix::start(&dir, &only_a, web, "/api/v1/traffic/members");
    std::fs::write(
        dir.join("pmacctd.conf"),
        format!(
            "daemonize: false\npcap_savefile: {}\nplugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{sflow}\nsampling_rate: 1\n",
            dir.join("members.pcap").display()
        ),
    )
    .expect("write the pmacctd config");

    // Before: only A's side of the traffic is known.
    let (ba, ab) = write_pcap(&dir.join("members.pcap"));
    run_pmacctd(&dir.join("pmacctd.conf"), &dir.join("pmacctd-1.log"));
    let v = caribix.poll(
        "/api/v1/traffic/members",
        Duration::from_secs(45),
        "A's traffic before the reload",
        |v| members(v).get(&A).is_some_and(|m| (m.1, m.2) == (ba, ab)),
    );
    assert_eq!(members(&v).len(), 1, "only A is known: {v}");

    // Add B with its MAC, SIGHUP, and wait for the collector to take it.
    let with_b = only_a + &member_config(B, "Cable Co", "127.0.3.2", &[MAC_B]);
    std::fs::write(dir.join("caribix.toml"), with_b).expect("rewrite caribix.toml");
    support::proc::sighup(caribix.proc.0.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !caribix
        .log()
        .contains("flow collection: configuration reloaded")
    {
        assert!(
            Instant::now() < deadline,
            "the collector never took the reloaded configuration:\n{}",
            caribix.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The same traffic again: now B's side counts too.
    write_pcap(&dir.join("members.pcap"));
    run_pmacctd(&dir.join("pmacctd.conf"), &dir.join("pmacctd-2.log"));
    let v = caribix.poll(
        "/api/v1/traffic/members",
        Duration::from_secs(45),
        "B's traffic after the reload",
        |v| members(v).contains_key(&B) && members(v).get(&A).is_some_and(|m| m.1 == 2 * ba),
    );
    let got = members(&v);
    let want = BTreeMap::from([
        (A, ("Island Telecom".to_string(), 2 * ba, 2 * ab)),
        (B, ("Cable Co".to_string(), ab, ba)),
    ]);
    assert_eq!(got, want, "per member (name, in, out) after the reload");
    let m = caribix.poll(
        "/api/v1/traffic/matrix",
        Duration::from_secs(5),
        "matrix",
        |_| true,
    );
    let pairs: BTreeMap<(u64, u64), u64> = m["matrix"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| {
            Some((
                (r["src_asn"].as_u64()?, r["dst_asn"].as_u64()?),
                r["bytes"].as_u64()?,
            ))
        })
        .collect();
    assert_eq!(
        pairs,
        BTreeMap::from([
            ((u64::from(A), u64::from(B)), ab),
            ((u64::from(B), u64::from(A)), ba)
        ]),
        "only the traffic after the reload is between members"
    );
    drop(caribix);
    let _ = std::fs::remove_dir_all(&dir);
}
