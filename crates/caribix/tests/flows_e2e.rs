//! End to end: real sFlow from pmacct's `pmacctd` (sfprobe plugin, 1-in-10
//! sampling) replaying a pcap written here, to `caribix run` with `[flows]`
//! configured; `/api/v1/traffic/members` must agree with the pcap's
//! per-member totals within sampling error, and `/metrics` must count the
//! datagrams. A daemon stopped by SIGTERM stores what it counted since its
//! last periodic flush before it exits. A missing pmacctd fails the test
//! (scripts/install-deps).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{base_config, free_tcp, free_udp, get, member_config, run_pmacctd, tempdir, Caribix};

const MEMBERS: [(u32, [u8; 6]); 3] = [
    (64501, [2, 0, 0, 0, 0, 0x11]),
    (64502, [2, 0, 0, 0, 0, 0x12]),
    (64503, [2, 0, 0, 0, 0, 0x13]),
];

/// Writes a pcap of `n` Ethernet/IPv4/UDP frames between the members
/// (60% 1 -> 2, 25% 2 -> 3, 15% 3 -> 1; sizes 100..1500) and returns each
/// member's (in, out) bytes.
fn write_pcap(path: &Path, n: usize) -> [(u64, u64); 3] {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    let mut totals = [(0u64, 0u64); 3];
    for i in 0..n {
        let (s, d) = match i % 20 {
            0..=11 => (0, 1),
            12..=16 => (1, 2),
            _ => (2, 0),
        };
        let len = 100 + (i * 7919) % 1401;
        let mut frame = Vec::with_capacity(len);
        frame.extend_from_slice(&MEMBERS[d].1);
        frame.extend_from_slice(&MEMBERS[s].1);
        frame.extend_from_slice(&[0x08, 0x00]);
        let ip_len = u16::try_from(len - 14).unwrap();
        frame.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
        frame[16..18].copy_from_slice(&ip_len.to_be_bytes());
        frame.extend_from_slice(&[198, 18, u8::try_from(s).unwrap(), 10]);
        frame.extend_from_slice(&[198, 18, u8::try_from(d).unwrap(), 20]);
        frame.extend_from_slice(&[0x30, 0x39, 0x01, 0xbb]);
        frame.extend_from_slice(&(ip_len - 20).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.resize(len, 0xab);
        let ts = 1_700_000_000u32 + u32::try_from(i / 1000).unwrap();
        f.extend_from_slice(&ts.to_le_bytes());
        f.extend_from_slice(&u32::try_from((i % 1000) * 1000).unwrap().to_le_bytes());
        f.extend_from_slice(&u32::try_from(len).unwrap().to_le_bytes());
        f.extend_from_slice(&u32::try_from(len).unwrap().to_le_bytes());
        f.extend_from_slice(&frame);
        totals[s].1 += len as u64;
        totals[d].0 += len as u64;
    }
    std::fs::write(path, f).unwrap();
    totals
}

/// The `caribix run` configuration: sFlow on `sflow`, a SQLite store in
/// `dir`, the three members with their MACs.
fn config(dir: &Path, rs: u16, web: u16, sflow: u16) -> String {
    let mut cfg = base_config(
        rs,
        web,
        &format!(
            "[flows]\nsflow = \"127.0.0.1:{sflow}\"\nstore = \"sqlite:{}\"\n",
            dir.join("flows.db").display()
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
    cfg
}

#[test]
fn pmacct_sflow_totals_reach_the_traffic_api() {
    let dir = tempdir("flows-e2e");
    let packets = 20_000;
    let pcap = dir.join("members.pcap");
    let totals = write_pcap(&pcap, packets);
    let (rs, web, sflow) = (free_tcp(), free_tcp(), free_udp());
    let cfg = config(&dir, rs, web, sflow);
    let caribix = Caribix::start(&dir, &cfg, web, "/api/v1/traffic/members");
    std::fs::write(
        dir.join("pmacctd.conf"),
        format!(
            "daemonize: false\npcap_savefile: {}\nplugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{sflow}\nsampling_rate: 10\n",
            pcap.display()
        ),
    )
    .unwrap();
    run_pmacctd(&dir.join("pmacctd.conf"), &dir.join("pmacctd.log"));
    // The collector flushes every 15 s: poll until the totals arrive.
    let want_total: u64 = totals.iter().map(|t| t.0).sum();
    let v = caribix.poll(
        "/api/v1/traffic/members",
        Duration::from_secs(45),
        "the pcap's bytes",
        |v| {
            let got: u64 = v["members"]
                .as_array()
                .map(|m| m.iter().filter_map(|x| x["in_bytes"].as_u64()).sum())
                .unwrap_or(0);
            // Within 10% of the pcap's bytes: sampling error of ~2,000
            // samples is about 2%.
            got.abs_diff(want_total) * 10 < want_total
        },
    );
    let members = v["members"].as_array().cloned().unwrap_or_default();
    for (i, (asn, _)) in MEMBERS.iter().enumerate() {
        let m = members
            .iter()
            .find(|m| m["asn"].as_u64() == Some(u64::from(*asn)))
            .unwrap_or_else(|| panic!("AS{asn} missing from {members:?}"));
        assert_eq!(m["name"], format!("Member {i}"));
        let (want_in, want_out) = totals[i];
        let (got_in, got_out) = (
            m["in_bytes"].as_u64().unwrap(),
            m["out_bytes"].as_u64().unwrap(),
        );
        // Per member, 400 to 1,200 samples: allow 15% (over 4 standard
        // deviations).
        eprintln!("AS{asn}: in {got_in} (pcap {want_in}), out {got_out} (pcap {want_out})");
        for (what, got, want) in [("in", got_in, want_in), ("out", got_out, want_out)] {
            assert!(
                got.abs_diff(want) * 100 < want * 15,
                "AS{asn} {what}_bytes {got}, pcap has {want} (1-in-10 sampling)"
            );
        }
        assert!(m["in_packets"].as_u64().unwrap() > 0 || want_in == 0);
    }
    let (_, matrix) = get(web, "/api/v1/traffic/matrix").unwrap();
    assert!(
        matrix.contains("\"src_asn\":64501") && matrix.contains("\"dst_asn\":64502"),
        "{matrix}"
    );
    let (status, metrics) = get(web, "/metrics").unwrap();
    assert_eq!(status, 200);
    let datagrams = metrics
        .lines()
        .find(|l| l.starts_with("caribix_flow_datagrams_total{protocol=\"sflow\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no sFlow datagram counter in /metrics:\n{metrics}"));
    assert!(datagrams > 0, "{metrics}");
    // Per family: everything here is IPv4.
    // (Read between two unchanged answers: a flush may land in between.)
    let all = || support::get_json(web, "/api/v1/traffic/members").unwrap();
    let stable = (0..5)
        .find_map(|_| {
            let before = all();
            let v4 = support::get_json(web, "/api/v1/traffic/members?family=ipv4").unwrap();
            (before == all()).then_some((before, v4))
        })
        .expect("the totals kept changing");
    assert_eq!(stable.0, stable.1, "IPv4 members differ from all members");
    let v6 = support::get_json(web, "/api/v1/traffic/matrix?family=ipv6").unwrap();
    assert_eq!(v6["matrix"].as_array().map(Vec::len), Some(0), "{v6}");
    let (status, body) = get(web, "/api/v1/traffic/members?family=ipx").unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("ipv4, ipv6 or other"), "{body}");
    let (status, _) = get(web, "/api/v1/traffic/local?family=ipv4").unwrap();
    assert_eq!(status, 400);
    // Bad parameters get a clear 400.
    let (status, body) = get(web, "/api/v1/traffic/members?from=yesterday").unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("RFC 3339"), "{body}");
    let (status, _) = get(
        web,
        "/api/v1/traffic/local?from=2023-11-14T22:13:20Z&to=1700003600",
    )
    .unwrap();
    assert_eq!(status, 200);
    drop(caribix);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `caribix_flow_samples_total{kind="flow"}` of `/metrics`.
fn flow_samples(web: u16) -> Option<u64> {
    let (_, metrics) = get(web, "/metrics")?;
    metrics
        .lines()
        .find(|l| l.starts_with("caribix_flow_samples_total{kind=\"flow\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn sigterm_stores_what_was_counted_since_the_last_flush() {
    let dir = tempdir("flows-sigterm");
    let packets = 3_000;
    let pcap = dir.join("members.pcap");
    write_pcap(&pcap, packets);
    let (rs, web, sflow) = (free_tcp(), free_tcp(), free_udp());
    let cfg = config(&dir, rs, web, sflow);
    let started = Instant::now();
    let mut caribix = Caribix::start(&dir, &cfg, web, "/api/v1/traffic/members");
    std::fs::write(
        dir.join("pmacctd.conf"),
        format!(
            "daemonize: false\npcap_savefile: {}\nplugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{sflow}\nsampling_rate: 1\n",
            pcap.display()
        ),
    )
    .unwrap();
    run_pmacctd(&dir.join("pmacctd.conf"), &dir.join("pmacctd.log"));
    // Every packet sampled (pmacctd may leave out one or two): wait until
    // caribix's count is some and stops moving.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    let counted = loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = flow_samples(web);
        if now.is_some_and(|n| n > packets as u64 * 9 / 10) && now == last {
            break now.unwrap_or(0);
        }
        assert!(
            Instant::now() < deadline,
            "caribix counted {now:?} of {packets} samples:\n{}",
            caribix.log()
        );
        last = now;
    };
    let stored = |v: &serde_json::Value| -> u64 {
        v["members"]
            .as_array()
            .map(|m| m.iter().filter_map(|x| x["out_packets"].as_u64()).sum())
            .unwrap_or(0)
    };
    // The periodic flush comes every 15 s from start-up (and once at it):
    // this early, the store has none of them yet.
    if started.elapsed() < Duration::from_secs(13) {
        let before = caribix.get_json("/api/v1/traffic/members");
        assert_eq!(stored(&before), 0, "stored before the stop: {before}");
    } else {
        eprintln!(
            "the samples took {:?} to arrive: a periodic flush may have stored them first; \
             the shutdown flush is still checked by its log line",
            started.elapsed()
        );
    }
    let pid = caribix.proc.0.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = caribix.proc.0.try_wait().expect("wait for caribix") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "caribix did not stop within 30 s of SIGTERM:\n{}",
            caribix.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = caribix.log();
    assert!(status.success(), "caribix exited with {status}:\n{log}");
    assert!(log.contains("flow aggregates stored"), "{log}");
    // A new daemon on the same store serves them.
    let again = Caribix::start(&dir, &cfg, web, "/api/v1/traffic/members");
    let v = again.get_json("/api/v1/traffic/members");
    assert_eq!(stored(&v), counted, "{v}\n{}", again.log());
}
