//! End to end: real sFlow from pmacct's `pmacctd` (sfprobe plugin, 1-in-10
//! sampling) replaying a pcap written here, to `caribix run` with `[flows]`
//! configured; `/api/v1/traffic/members` must agree with the pcap's
//! per-member totals within sampling error, and `/metrics` must count the
//! datagrams. A missing pmacctd fails the test (scripts/install-deps).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("caribix-flows-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn pmacct_sflow_totals_reach_the_traffic_api() {
    let pmacctd = ["/usr/sbin/pmacctd", "/usr/bin/pmacctd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("pmacctd is not installed: run scripts/install-deps (Debian package pmacct)")
        });
    let dir = tempdir();
    let packets = 20_000;
    let pcap = dir.join("members.pcap");
    let totals = write_pcap(&pcap, packets);
    let (rs, web, sflow) = (free_tcp(), free_tcp(), free_udp());
    let mut cfg = format!(
        r#"[ixp]
shortname = "TEST"
name = "Flow test IXP"
country = "GP"

[[peering_lan]]
name = "lo"
vlan = 10
ipv4 = "127.0.0.0/8"

[route_server]
asn = 64500
router_id = "127.0.0.1"
listen = ["127.0.0.1:{rs}"]

[web]
listen = "127.0.0.1:{web}"

[flows]
sflow = "127.0.0.1:{sflow}"
store = "sqlite:{}"
"#,
        dir.join("flows.db").display()
    );
    for (i, (asn, mac)) in MEMBERS.iter().enumerate() {
        let mac: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        cfg += &format!(
            "\n[[member]]\nasn = {asn}\nname = \"Member {i}\"\nipv4 = [\"127.0.3.{}\"]\nmacs = [\"{}\"]\npassive = true\n",
            i + 1,
            mac.join(":")
        );
    }
    let conf = dir.join("caribix.toml");
    std::fs::write(&conf, cfg).unwrap();
    let caribix = Proc(
        Command::new(env!("CARGO_BIN_EXE_caribix"))
            .arg("run")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("caribix.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let log = || std::fs::read_to_string(dir.join("caribix.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(web, "/api/v1/traffic/members").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "caribix API not up:\n{}", log());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::fs::write(
        dir.join("pmacctd.conf"),
        format!(
            "daemonize: false\npcap_savefile: {}\nplugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{sflow}\nsampling_rate: 10\n",
            pcap.display()
        ),
    )
    .unwrap();
    let mut pm = Proc(
        Command::new(pmacctd)
            .arg("-f")
            .arg(dir.join("pmacctd.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("pmacctd.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while pm.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "pmacctd did not finish replaying the pcap in 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The collector flushes every 15 s: poll until the totals arrive.
    let want_total: u64 = totals.iter().map(|t| t.0).sum();
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut last = String::new();
    let members = loop {
        if let Some((200, body)) = get(web, "/api/v1/traffic/members") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let m = v["members"].as_array().cloned().unwrap_or_default();
            let got: u64 = m.iter().filter_map(|x| x["in_bytes"].as_u64()).sum();
            // Within 10% of the pcap's bytes: sampling error of ~2,000
            // samples is about 2%.
            if got.abs_diff(want_total) * 10 < want_total {
                break m;
            }
            last = body;
        }
        assert!(
            Instant::now() < deadline,
            "traffic API never reached the pcap's {want_total} bytes; last answer {last}\ncaribix log:\n{}\npmacctd log:\n{}",
            log(),
            std::fs::read_to_string(dir.join("pmacctd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_secs(1));
    };
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
