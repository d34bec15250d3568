//! End to end: router MACs learned from BGP session traffic. pmacct's
//! `pmacctd` (sfprobe plugin, every packet sampled) replays a pcap written
//! here to `caribix run`: member B (AS64502) has no MAC in the
//! configuration, but its router talks BGP to the route server (127.0.0.1)
//! from B's session address 127.0.3.2, and to member C bilaterally; then
//! it exchanges data with member A. caribix must learn B's MAC, list it in
//! `/api/v1/traffic/macs` (source "learned", the session address, last
//! seen), attribute B's data traffic to B exactly, and list the B-C
//! bilateral session in `/api/v1/traffic/bilateral`. A stranger's MAC that
//! talks BGP from an address that is no member's is never learned, so its
//! traffic stays unattributed. A missing pmacctd fails the test.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;
use support::{
    base_config, free_tcp, free_udp, ipv4_frame, mac_str, member_config, now_micros, run_pmacctd,
    tcp, tempdir, udp, Caribix,
};

const A: u32 = 64501;
const B: u32 = 64502;
const C: u32 = 64503;
const MAC_A: [u8; 6] = [2, 0, 0, 0, 2, 1];
const MAC_C: [u8; 6] = [2, 0, 0, 0, 2, 3];
/// B's router: not in the configuration.
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0xb, 0xb];
/// The route server's port on the fabric.
const MAC_RS: [u8; 6] = [2, 0, 0, 0, 0, 0xfe];
/// A host that is no member's router.
const MAC_X: [u8; 6] = [2, 0, 0, 0, 0xe, 0xe];

const IP_RS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(127, 0, 3, 2);
const IP_C: Ipv4Addr = Ipv4Addr::new(127, 0, 3, 3);
const IP_X: Ipv4Addr = Ipv4Addr::new(127, 0, 9, 9);

/// The frames, in order: BGP first (B to and from the route server, the
/// stranger to the route server, B and C bilaterally), then data.
fn frames() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let push = |out: &mut Vec<Vec<u8>>, n: usize, f: Vec<u8>| {
        for _ in 0..n {
            out.push(f.clone());
        }
    };
    // KEEPALIVEs (19 octets) and a few UPDATE-sized segments.
    push(
        &mut out,
        15,
        ipv4_frame(MAC_RS, MAC_B, IP_B, IP_RS, 6, &tcp(40179, 179, 0x18, 19)),
    );
    push(
        &mut out,
        5,
        ipv4_frame(MAC_RS, MAC_B, IP_B, IP_RS, 6, &tcp(40179, 179, 0x18, 400)),
    );
    push(
        &mut out,
        20,
        ipv4_frame(MAC_B, MAC_RS, IP_RS, IP_B, 6, &tcp(179, 40179, 0x18, 19)),
    );
    push(
        &mut out,
        10,
        ipv4_frame(MAC_RS, MAC_X, IP_X, IP_RS, 6, &tcp(40180, 179, 0x18, 19)),
    );
    push(
        &mut out,
        8,
        ipv4_frame(MAC_C, MAC_B, IP_B, IP_C, 6, &tcp(179, 50000, 0x18, 19)),
    );
    push(
        &mut out,
        8,
        ipv4_frame(MAC_B, MAC_C, IP_C, IP_B, 6, &tcp(50000, 179, 0x18, 19)),
    );
    let (a, b, x) = (
        Ipv4Addr::new(45, 1, 0, 1),
        Ipv4Addr::new(45, 2, 0, 1),
        Ipv4Addr::new(45, 9, 0, 1),
    );
    for i in 0..400 {
        out.push(ipv4_frame(
            MAC_A,
            MAC_B,
            b,
            a,
            17,
            &udp(5000, 443, 200 + (i % 7) * 100),
        ));
        if i % 2 == 0 {
            out.push(ipv4_frame(MAC_B, MAC_A, a, b, 17, &udp(443, 5000, 1200)));
        }
        if i % 4 == 0 {
            out.push(ipv4_frame(MAC_A, MAC_X, x, a, 17, &udp(6000, 443, 700)));
        }
    }
    // pmacctd drops the last few samples when it exits at the end of the
    // file: end with traffic between two strangers, counted nowhere.
    let y = [2, 0, 0, 0, 0xe, 0xf];
    push(
        &mut out,
        20,
        ipv4_frame(y, MAC_X, x, x, 17, &udp(1, 2, 100)),
    );
    out
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// The configuration: B has no MAC.
fn config(dir: &Path, rs: u16, web: u16, sflow: u16) -> String {
    let mut cfg = base_config(
        rs,
        web,
        &format!(
            "[flows]\nsflow = \"127.0.0.1:{sflow}\"\nstore = \"sqlite:{}\"\n",
            dir.join("flows.db").display()
        ),
    );
    cfg += &member_config(A, "Island Telecom", "127.0.3.1", &[MAC_A]);
    cfg += &member_config(B, "Cable Co", "127.0.3.2", &[]);
    cfg += &member_config(C, "Saint-Martin Mobile", "127.0.3.3", &[MAC_C]);
    cfg
}

/// Replays `pcap` through pmacctd's sfprobe, every packet sampled.
fn replay(dir: &Path, pcap: &Path, sflow: u16, name: &str) {
    let conf = dir.join(format!("{name}.conf"));
    std::fs::write(
        &conf,
        format!(
            "daemonize: false\npcap_savefile: {}\nplugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{sflow}\nsampling_rate: 1\n",
            pcap.display()
        ),
    )
    .expect("write the pmacctd config");
    run_pmacctd(&conf, &dir.join(format!("{name}.log")));
}

#[test]
fn a_members_mac_learned_from_bgp_attributes_its_traffic() {
    let dir = tempdir("flows-learn-e2e");
    let frames = frames();
    let mut w = flow::pcap::PcapWriter::new(flow::pcap::LINKTYPE_ETHERNET, 65535);
    let t0 = now_micros() - 5_000_000;
    for (i, f) in frames.iter().enumerate() {
        w.packet(t0 + i as u64 * 1000, f);
    }
    let pcap = dir.join("fabric.pcap");
    std::fs::write(&pcap, w.finish()).expect("write the pcap");

    let (rs, web, sflow) = (free_tcp(), free_tcp(), free_udp());
    let caribix = Caribix::start(
        &dir,
        &config(&dir, rs, web, sflow),
        web,
        "/api/v1/traffic/macs",
    );
    replay(&dir, &pcap, sflow, "pmacctd");

    // What the pcap holds, by the MAC owners caribix should find.
    let owner = |m: &[u8]| match m {
        x if x == MAC_A => Some(A),
        x if x == MAC_B => Some(B),
        x if x == MAC_C => Some(C),
        _ => None,
    };
    let mut want_members: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut want_matrix: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for f in &frames {
        let len = f.len() as u64;
        let (d, s) = (owner(&f[0..6]), owner(&f[6..12]));
        if let Some(s) = s {
            want_members.entry(s).or_default().1 += len;
        }
        if let Some(d) = d {
            want_members.entry(d).or_default().0 += len;
        }
        if let (Some(s), Some(d)) = (s, d) {
            *want_matrix.entry((s, d)).or_default() += len;
        }
    }

    // The learned MAC appears at once; the totals at the next flush.
    let macs = caribix.poll(
        "/api/v1/traffic/macs",
        Duration::from_secs(30),
        "B's MAC learned",
        |v| {
            v["macs"]
                .as_array()
                .is_some_and(|m| m.iter().any(|r| r["mac"] == mac_str(MAC_B)))
        },
    );
    eprintln!("macs: {macs}");
    let rows = macs["macs"].as_array().expect("a list");
    let row = |m: [u8; 6]| rows.iter().find(|r| r["mac"] == mac_str(m));
    let b = row(MAC_B).expect("B's MAC");
    assert_eq!(b["asn"], B);
    assert_eq!(b["name"], "Cable Co");
    assert_eq!(b["source"], "learned");
    assert_eq!(b["address"], "127.0.3.2");
    assert!(u(&b["observations"]) > 0);
    let now = now_micros() / 1_000_000;
    let last = u(&b["last_seen"]);
    assert!(
        last <= now + 1 && last + 120 > now,
        "last_seen {last}, now {now}"
    );
    for (m, asn) in [(MAC_A, A), (MAC_C, C)] {
        let r = row(m).unwrap_or_else(|| panic!("configured {} missing", mac_str(m)));
        assert_eq!(
            (r["asn"].as_u64(), r["source"].as_str()),
            (Some(u64::from(asn)), Some("config"))
        );
    }
    assert!(row(MAC_X).is_none(), "the stranger's MAC was learned");
    assert!(row(MAC_RS).is_none(), "the route server's MAC was learned");
    assert_eq!(rows.len(), 3, "{rows:?}");

    // Every packet sampled: B's traffic is attributed exactly.
    let v = caribix.poll(
        "/api/v1/traffic/members",
        Duration::from_secs(45),
        "per-member totals",
        |v| {
            v["members"].as_array().is_some_and(|m| {
                m.iter().filter_map(|r| r["in_bytes"].as_u64()).sum::<u64>()
                    == want_members.values().map(|x| x.0).sum::<u64>()
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
    assert_eq!(got, want_members, "per member (in, out) frame bytes");
    let v = caribix.poll(
        "/api/v1/traffic/matrix",
        Duration::from_secs(5),
        "matrix",
        |_| true,
    );
    let got: BTreeMap<(u32, u32), u64> = v["matrix"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| {
            (
                (
                    u32::try_from(u(&m["src_asn"])).expect("an ASN"),
                    u32::try_from(u(&m["dst_asn"])).expect("an ASN"),
                ),
                u(&m["bytes"]),
            )
        })
        .collect();
    assert_eq!(got, want_matrix, "member to member bytes");

    // The bilateral session between B (learned MAC) and C, from the store.
    let v = caribix.poll(
        "/api/v1/traffic/bilateral",
        Duration::from_secs(30),
        "bilateral sessions",
        |v| v["sessions"].as_array().is_some_and(|s| !s.is_empty()),
    );
    eprintln!("bilateral: {v}");
    let s = v["sessions"].as_array().expect("a list");
    assert_eq!(s.len(), 1, "{v}");
    assert_eq!(
        (s[0]["a_asn"].as_u64(), s[0]["b_asn"].as_u64()),
        (Some(u64::from(B)), Some(u64::from(C)))
    );
    assert_eq!(
        (s[0]["a_address"].as_str(), s[0]["b_address"].as_str()),
        (Some("127.0.3.2"), Some("127.0.3.3"))
    );
    assert_eq!(u(&s[0]["packets"]), 16);
    assert_eq!(u(&s[0]["observations"]), 16);
    assert_eq!(s[0]["b_name"], "Saint-Martin Mobile");
    drop(caribix);

    // A restart keeps what was learned (saved in the store): B's data,
    // with no BGP packet this time, is B's at once.
    let (rs, web, sflow) = (free_tcp(), free_tcp(), free_udp());
    let caribix = Caribix::start(
        &dir,
        &config(&dir, rs, web, sflow),
        web,
        "/api/v1/traffic/macs",
    );
    let macs = caribix.get_json("/api/v1/traffic/macs");
    let b = macs["macs"]
        .as_array()
        .and_then(|m| m.iter().find(|r| r["mac"] == mac_str(MAC_B)).cloned())
        .unwrap_or_else(|| panic!("B's learned MAC lost in the restart: {macs}"));
    assert_eq!(
        (b["asn"].as_u64(), b["source"].as_str()),
        (Some(u64::from(B)), Some("learned"))
    );
    // Saved at the flush after the learning, so at least as late as the
    // first publication.
    assert!(
        u(&b["last_seen"]) >= last,
        "saved last seen {b}, first seen published {last}"
    );
    let (a, bb) = (Ipv4Addr::new(45, 1, 0, 1), Ipv4Addr::new(45, 2, 0, 1));
    let mut w = flow::pcap::PcapWriter::new(flow::pcap::LINKTYPE_ETHERNET, 65535);
    let t0 = now_micros() - 5_000_000;
    let mut b_out = 0;
    for i in 0..120u64 {
        let f = ipv4_frame(MAC_A, MAC_B, bb, a, 17, &udp(5000, 443, 700));
        b_out += f.len() as u64;
        w.packet(t0 + i * 1000, &f);
    }
    for i in 0..20u64 {
        let x = Ipv4Addr::new(45, 9, 0, 1);
        let f = ipv4_frame([2, 0, 0, 0, 0xe, 0xf], MAC_X, x, x, 17, &udp(1, 2, 100));
        w.packet(t0 + (120 + i) * 1000, &f);
    }
    let pcap2 = dir.join("data-only.pcap");
    std::fs::write(&pcap2, w.finish()).expect("write the pcap");
    // Only the traffic of the last hour counts: the first run's is in the
    // same window, so compare the difference.
    let before = want_members.get(&B).map_or(0, |m| m.1);
    replay(&dir, &pcap2, sflow, "pmacctd-2");
    caribix.poll(
        "/api/v1/traffic/members",
        Duration::from_secs(45),
        "B's data after the restart",
        |v| {
            v["members"].as_array().is_some_and(|m| {
                m.iter().any(|r| {
                    r["asn"].as_u64() == Some(u64::from(B))
                        && r["out_bytes"].as_u64() == Some(before + b_out)
                })
            })
        },
    );
    drop(caribix);
    let _ = std::fs::remove_dir_all(&dir);
}
