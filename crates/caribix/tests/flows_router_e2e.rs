//! End to end: two member border routers export IPFIX and NetFlow v9 to
//! `caribix run`, which identifies local traffic with `[[flows.router]]`
//! interface roles and an RIR `delegated-*-extended` file for the territory
//! (`territory = ["GP", "MF"]`).
//!
//! The exporters are real: pmacct's `pmacctd` replays a pcap written here
//! through two `nfprobe` plugins per router (one exports the router's
//! outbound flows with their output ifIndex, the other its inbound flows
//! with their input ifIndex). A pre-tag map gives each frame the ifIndex of
//! the port it crossed, from the neighbour's MAC: the IXP port (10) when
//! the other end is a member router on the peering LAN, the transit port
//! (20) when it is the upstream provider. Router A (AS64501) exports IPFIX
//! from 127.0.0.21, router C (AS64503) NetFlow v9 from 127.0.0.23.
//!
//! Nothing is sampled, so `/api/v1/traffic/local` (total, local and
//! tromboned bytes), `/opportunities`, `/members` and `/matrix` must equal
//! what the pcap holds, octet for octet (IP octets, as NetFlow counts).
//!
//! The second test adds the IXP fabric's view: pmacctd's sfprobe (every
//! packet sampled) exports the frames that crossed the peering LAN, which
//! the routers export too. Each packet must be counted once: the fabric
//! counts what crossed the IXP (frame octets, as sFlow counts), the routers
//! what left through transit, and `/metrics` counts the router records left
//! out. A missing pmacctd fails the test.

mod support;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;
use support::{
    base_config, free_tcp, free_udp, get, ipv4_frame, member_config, now_micros,
    pmacct_router_export, run_pmacctd, tempdir, udp, Caribix,
};

const A: u32 = 64501;
const B: u32 = 64502;
const C: u32 = 64503;
/// A local network that is not a member (delegated to GP).
const D: u32 = 64510;

const MAC_A: [u8; 6] = [2, 0, 0, 0, 1, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 1, 2];
const MAC_C: [u8; 6] = [2, 0, 0, 0, 1, 3];
/// The upstream transit providers' routers, as the member routers see them.
const TRANSIT_A: [u8; 6] = [2, 0, 0, 0, 0xf, 1];
const TRANSIT_C: [u8; 6] = [2, 0, 0, 0, 0xf, 3];

const IXP_IF: u32 = 10;
const TRANSIT_IF: u32 = 20;
const CUSTOMER_IF: u32 = 30;

/// The territory's delegations: A, B and D in GP, C in MF (all local);
/// 45.5.0.0/22 in BR (not the territory); one block not allocated yet.
const DELEGATIONS: &str = "\
2|lacnic|20261122|13|19870101|20261121|-0300
lacnic|*|ipv4|*|6|summary
lacnic|*|asn|*|5|summary
lacnic|GP|ipv4|45.1.0.0|1024|20100101|allocated|H-A
lacnic|GP|asn|64501|1|20100101|allocated|H-A
lacnic|GP|ipv4|45.2.0.0|1024|20110101|allocated|H-B
lacnic|GP|asn|64502|1|20110101|allocated|H-B
lacnic|MF|ipv4|45.3.0.0|1024|20120101|assigned|H-C
lacnic|MF|asn|64503|1|20120101|assigned|H-C
lacnic|GP|ipv4|45.4.0.0|1024|20130101|allocated|H-D
lacnic|GP|asn|64510|1|20130101|allocated|H-D
lacnic|BR|ipv4|45.5.0.0|1024|20140101|allocated|H-E
lacnic|BR|asn|64520|1|20140101|allocated|H-E
lacnic|GP|ipv4|45.6.0.0|1024||available|
";

/// How the test expects a flow to be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Local,
    Tromboned,
    Other,
}

/// One flow through a member router.
struct Flow {
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    packets: u64,
    /// IP total length of each packet.
    ip_len: usize,
    class: Class,
    /// (source network, destination network) of tromboned traffic.
    nets: Option<(u32, u32)>,
}

impl Flow {
    /// IP octets, as the routers' NetFlow counts them.
    fn bytes(&self) -> u64 {
        self.packets * self.ip_len as u64
    }

    /// Whether it crossed the peering LAN: both ends are member routers.
    fn on_fabric(&self) -> bool {
        owner(self.src_mac).is_some() && owner(self.dst_mac).is_some()
    }

    /// Octets counted for it: frame octets from the fabric's sFlow when
    /// that view exists and saw it, else IP octets from a router.
    fn counted(&self, fabric: bool) -> u64 {
        if fabric && self.on_fabric() {
            self.packets * (self.ip_len as u64 + 14)
        } else {
            self.bytes()
        }
    }
}

/// The member whose router has this MAC.
fn owner(m: [u8; 6]) -> Option<u32> {
    match m {
        MAC_A => Some(A),
        MAC_B => Some(B),
        MAC_C => Some(C),
        _ => None,
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("a test address")
}

#[allow(clippy::too_many_arguments)]
fn mk(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: &str,
    dst: &str,
    packets: u64,
    ip_len: usize,
    class: Class,
    nets: Option<(u32, u32)>,
) -> Flow {
    Flow {
        dst_mac,
        src_mac,
        src: ip(src),
        dst: ip(dst),
        packets,
        ip_len,
        class,
        nets,
    }
}

/// Router A's flows (IPFIX) and router C's (NetFlow v9).
fn plan() -> (Vec<Flow>, Vec<Flow>) {
    use Class::*;
    let a = vec![
        // Out of the IXP port to member B: local.
        mk(
            MAC_A,
            MAC_B,
            "45.1.0.10",
            "45.2.0.20",
            300,
            1000,
            Local,
            None,
        ),
        // Out through transit to member C's MF space: tromboned.
        mk(
            MAC_A,
            TRANSIT_A,
            "45.1.0.11",
            "45.3.0.30",
            200,
            1200,
            Tromboned,
            Some((A, C)),
        ),
        // Out through transit to D, local but not a member: tromboned.
        mk(
            MAC_A,
            TRANSIT_A,
            "45.1.0.12",
            "45.4.0.40",
            100,
            800,
            Tromboned,
            Some((A, D)),
        ),
        // Out through transit abroad, and to space outside the territory.
        mk(
            MAC_A,
            TRANSIT_A,
            "45.1.0.13",
            "198.18.0.1",
            150,
            1400,
            Other,
            None,
        ),
        mk(
            MAC_A,
            TRANSIT_A,
            "45.1.0.14",
            "45.5.0.50",
            50,
            600,
            Other,
            None,
        ),
        // In from member B over the IXP: local.
        mk(
            MAC_B,
            MAC_A,
            "45.2.0.21",
            "45.1.0.15",
            250,
            900,
            Local,
            None,
        ),
        // In from abroad through transit.
        mk(
            TRANSIT_A,
            MAC_A,
            "198.18.0.2",
            "45.1.0.16",
            120,
            1300,
            Other,
            None,
        ),
    ];
    let c = vec![
        // Out through transit to member A: tromboned the other way.
        mk(
            MAC_C,
            TRANSIT_C,
            "45.3.0.31",
            "45.1.0.17",
            180,
            1100,
            Tromboned,
            Some((C, A)),
        ),
        // Out of the IXP port to member B: local.
        mk(MAC_C, MAC_B, "45.3.0.32", "45.2.0.22", 90, 500, Local, None),
    ];
    (a, c)
}

/// Writes the flows as a pcap, packets interleaved, timestamps from a few
/// seconds ago (flow end times land in the current minute or the last).
fn write_pcap(path: &Path, flows: &[Flow]) {
    let mut w = flow::pcap::PcapWriter::new(flow::pcap::LINKTYPE_ETHERNET, 65535);
    let t0 = now_micros() - 5_000_000;
    let mut left: Vec<u64> = flows.iter().map(|f| f.packets).collect();
    let mut t = t0;
    while left.iter().any(|n| *n > 0) {
        for (i, f) in flows.iter().enumerate() {
            if left[i] == 0 {
                continue;
            }
            left[i] -= 1;
            let l4 = udp(40_000 + i as u16, 443, f.ip_len - 28);
            w.packet(t, &ipv4_frame(f.dst_mac, f.src_mac, f.src, f.dst, 17, &l4));
            t += 500;
        }
    }
    std::fs::write(path, w.finish()).expect("write the pcap");
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn member_router_ipfix_and_netflow9_give_local_share_tromboning_and_opportunities() {
    run(false);
}

#[test]
fn fabric_sflow_and_router_exports_count_each_packet_once() {
    run(true);
}

/// The fabric's view: the frames of `flows` that crossed the peering LAN,
/// then strangers' frames that absorb the samples pmacctd drops when it
/// exits (they count in no member's figures, only perhaps in the total).
/// Returns the pcap and the strangers' frame octets.
fn write_fabric_pcap(path: &Path, flows: &[&Flow]) -> u64 {
    let mut w = flow::pcap::PcapWriter::new(flow::pcap::LINKTYPE_ETHERNET, 65535);
    let mut t = now_micros() - 5_000_000;
    for f in flows.iter().filter(|f| f.on_fabric()) {
        let l4 = udp(40_000, 443, f.ip_len - 28);
        for _ in 0..f.packets {
            w.packet(t, &ipv4_frame(f.dst_mac, f.src_mac, f.src, f.dst, 17, &l4));
            t += 500;
        }
    }
    let stranger = [2, 0, 0, 0, 0xe, 0xe];
    let x = ip("198.18.9.9");
    let mut padding = 0;
    for _ in 0..20 {
        let fr = ipv4_frame(stranger, stranger, x, x, 17, &udp(1, 2, 100));
        padding += fr.len() as u64;
        w.packet(t, &fr);
        t += 500;
    }
    std::fs::write(path, w.finish()).expect("write the fabric pcap");
    padding
}

fn run(fabric: bool) {
    let dir = tempdir(if fabric {
        "flows-router-fabric-e2e"
    } else {
        "flows-router-e2e"
    });
    let (flows_a, flows_c) = plan();
    let (pcap_a, pcap_c) = (dir.join("router-a.pcap"), dir.join("router-c.pcap"));
    write_pcap(&pcap_a, &flows_a);
    write_pcap(&pcap_c, &flows_c);
    let deleg = dir.join("delegated-lacnic-extended-latest");
    std::fs::write(&deleg, DELEGATIONS).expect("write the delegation file");

    let (rs, web, port, sflow) = (free_tcp(), free_tcp(), free_udp(), free_udp());
    let router = |exporter: &str, asn: u32| {
        format!(
            "\n[[flows.router]]\nexporter = \"{exporter}\"\nasn = {asn}\nixp = [{IXP_IF}]\ntransit = [{TRANSIT_IF}]\ncustomer = [{CUSTOMER_IF}]\n"
        )
    };
    let fabric_line = if fabric {
        format!("sflow = \"127.0.0.1:{sflow}\"\n")
    } else {
        String::new()
    };
    let flows_section = format!(
        "[flows]\n{fabric_line}ipfix = \"127.0.0.1:{port}\"\nstore = \"sqlite:{}\"\ndelegations = [\"{}\"]\nterritory = [\"GP\", \"MF\"]\n{}{}",
        dir.join("flows.db").display(),
        deleg.display(),
        router("127.0.0.21", A),
        router("127.0.0.23", C),
    );
    let mut cfg = base_config(rs, web, &flows_section);
    cfg += &member_config(A, "Island Telecom", "127.0.3.1", &[MAC_A]);
    cfg += &member_config(B, "Cable Co", "127.0.3.2", &[MAC_B]);
    cfg += &member_config(C, "Saint-Martin Mobile", "127.0.3.3", &[MAC_C]);
    let caribix = Caribix::start(&dir, &cfg, web, "/api/v1/traffic/local");

    let neighbours_a = [(MAC_B, IXP_IF), (MAC_C, IXP_IF), (TRANSIT_A, TRANSIT_IF)];
    let neighbours_c = [(MAC_A, IXP_IF), (MAC_B, IXP_IF), (TRANSIT_C, TRANSIT_IF)];
    pmacct_router_export(
        &dir,
        "a",
        &pcap_a,
        MAC_A,
        &neighbours_a,
        10,
        "127.0.0.21",
        port,
    );
    pmacct_router_export(
        &dir,
        "c",
        &pcap_c,
        MAC_C,
        &neighbours_c,
        9,
        "127.0.0.23",
        port,
    );

    let all: Vec<&Flow> = flows_a.iter().chain(&flows_c).collect();
    let padding = if fabric {
        let pcap = dir.join("fabric.pcap");
        let padding = write_fabric_pcap(&pcap, &all);
        std::fs::write(
            dir.join("sfprobe.conf"),
            format!(
                "daemonize: false\npcap_savefile: {}\nplugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{sflow}\nsampling_rate: 1\n",
                pcap.display()
            ),
        )
        .expect("write the sfprobe config");
        run_pmacctd(&dir.join("sfprobe.conf"), &dir.join("sfprobe.log"));
        padding
    } else {
        0
    };

    // What the pcaps hold, each packet counted once.
    let sum = |pred: &dyn Fn(&Flow) -> bool| -> u64 {
        all.iter()
            .filter(|f| pred(f))
            .map(|f| f.counted(fabric))
            .sum()
    };
    let total = sum(&|_| true);
    let local = sum(&|f| f.class == Class::Local);
    let tromboned = sum(&|f| f.class == Class::Tromboned);
    let mut pairs: BTreeMap<(u32, u32), (u64, u64)> = BTreeMap::new();
    for f in &all {
        if let Some((s, d)) = f.nets {
            let e = pairs.entry((s.min(d), s.max(d))).or_default();
            if s < d {
                e.0 += f.bytes();
            } else {
                e.1 += f.bytes();
            }
        }
    }
    let mut want_opps: Vec<(u32, u32, u64)> = pairs
        .iter()
        .map(|((a, b), (ab, ba))| (*a, *b, ab + ba))
        .collect();
    want_opps.sort_by_key(|o| std::cmp::Reverse(o.2));

    // The collector flushes every 15 s.
    let v = caribix.poll(
        "/api/v1/traffic/local",
        Duration::from_secs(50),
        "all the exported bytes",
        |v| {
            v["local_bytes"].as_u64() == Some(local)
                && v["tromboned_bytes"].as_u64() == Some(tromboned)
                && v["total_bytes"].as_u64().is_some_and(|t| t >= total)
        },
    );
    eprintln!("local: {v}");
    // The strangers' frames may or may not have been exported.
    let got_total = u(&v["total_bytes"]);
    assert!(
        got_total <= total + padding,
        "total {got_total}: the pcaps hold {total} plus at most {padding} of strangers' traffic"
    );
    let total = got_total;
    assert_eq!(u(&v["local_bytes"]), local, "local bytes: {v}");
    assert_eq!(u(&v["tromboned_bytes"]), tromboned, "tromboned bytes: {v}");
    let share = v["local_share"].as_f64().expect("local_share");
    assert!(
        (share - local as f64 / total as f64).abs() < 1e-9,
        "local share {share}, want {local}/{total}"
    );

    let v = get(web, "/api/v1/traffic/opportunities").expect("opportunities");
    assert_eq!(v.0, 200, "{}", v.1);
    let v: serde_json::Value = serde_json::from_str(&v.1).expect("JSON");
    eprintln!("opportunities: {v}");
    let opps = v["opportunities"].as_array().expect("a list");
    let got: Vec<(u32, u32, u64)> = opps
        .iter()
        .map(|o| {
            (
                u32::try_from(u(&o["a_asn"])).expect("an ASN"),
                u32::try_from(u(&o["b_asn"])).expect("an ASN"),
                u(&o["bytes"]),
            )
        })
        .collect();
    assert_eq!(got, want_opps, "opportunities, largest first");
    let why = |i: usize| opps[i]["why"].as_str().unwrap_or_default().to_string();
    assert!(why(0).contains("both are IXP members"), "{}", why(0));
    assert!(
        why(1).contains("AS64510 (local network, not a member)")
            && why(1).contains("AS64510 would keep it local by joining the IXP"),
        "{}",
        why(1)
    );

    // Members and matrix, by the member routers' MACs and interface roles.
    let mut want_members: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut want_matrix: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    // Member figures and the matrix are IXP traffic: router records of
    // traffic that used no IXP port are left out of them.
    for f in all.iter().filter(|f| f.on_fabric()) {
        let (s, d) = (owner(f.src_mac), owner(f.dst_mac));
        if let Some(s) = s {
            want_members.entry(s).or_default().1 += f.counted(fabric);
        }
        if let Some(d) = d {
            want_members.entry(d).or_default().0 += f.counted(fabric);
        }
        if let (Some(s), Some(d)) = (s, d) {
            *want_matrix.entry((s, d)).or_default() += f.counted(fabric);
        }
    }
    let v = caribix.poll(
        "/api/v1/traffic/members",
        Duration::from_secs(5),
        "members",
        |_| true,
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
    assert_eq!(got, want_members, "per member (in, out) bytes");
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

    // Both protocols arrived, with no decode error and no template miss.
    let (_, metrics) = get(web, "/metrics").expect("/metrics");
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{metrics}"))
    };
    assert!(value("caribix_flow_datagrams_total{protocol=\"ipfix\"}") > 0);
    assert!(value("caribix_flow_datagrams_total{protocol=\"netflow9\"}") > 0);
    assert_eq!(value("caribix_flow_template_misses_total"), 0, "{metrics}");
    // Router records of IXP traffic are left out when the fabric counts it
    // (one record per flow that crossed the LAN: A's two, C's one).
    let fabric_flows = all.iter().filter(|f| f.on_fabric()).count() as u64;
    assert_eq!(
        value("caribix_flow_duplicate_records_total{counted_by=\"fabric\"}"),
        if fabric { fabric_flows } else { 0 },
        "{metrics}"
    );
    assert_eq!(
        value("caribix_flow_duplicate_records_total{counted_by=\"sender_router\"}"),
        0
    );
    if fabric {
        assert!(value("caribix_flow_datagrams_total{protocol=\"sflow\"}") > 0);
    }
    drop(caribix);
    let _ = std::fs::remove_dir_all(&dir);
}
