//! The demo's traffic: the simulated members' routers on the peering LAN
//! are sampled by a simulated switch that exports sFlow v5 (1 in 1,000) to
//! the demo's collector on a loopback UDP port, and the incumbent's border
//! router exports IPFIX in which some traffic towards local networks leaves
//! through its transit interface (tromboning). The mix is what an island
//! IXP sees: mostly the CDN, the hosting provider and the incumbent sending
//! to the mobile and cable ISPs. So a newcomer finds a member matrix, a
//! local share and peering opportunities in the API.
//!
//! The second mobile operator's router MAC is left out of the collector's
//! table on purpose: the switch also samples the BGP session it keeps with
//! the cable ISP (a bilateral session, TCP port 179 between their session
//! addresses), from which the collector learns that MAC, as it would after
//! a router swap at a real IXP.
//!
//! With `--check`, [`check`] reads the traffic API like a user would and
//! fails unless it shows member traffic, a local share, tromboning, a
//! learned MAC and the bilateral session.

use crate::daemon::Handle;
use crate::flows::{FlowSpec, Flows};
use bgp_wire::Prefix;
use flow::sflow::encode::{Agent, SampledFrame};
use flow::{InterfaceRole, MacAddr, MemberTable, Retention};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

/// A local network that is not a member, known from the delegation file.
const DELEGATIONS: &str = "\
2|lacnic|20261122|3|19870101|20261121|-0300
lacnic|*|ipv4|*|1|summary
lacnic|GP|asn|64510|1|20120101|assigned|demo0schools
lacnic|GP|ipv4|198.18.0.0|1536|20120101|assigned|demo0schools
";

/// Indexes into the demo's member list (see demo.rs `MEMBERS`).
const INCUMBENT: usize = 0;
const MOBILE_A: usize = 1;
const MOBILE_B: usize = 2;
const CABLE: usize = 3;
const HOSTING: usize = 4;
const CDN: usize = 7;

/// Who sends to whom at the IXP, with weights.
const MIX: &[(usize, usize, u32)] = &[
    (CDN, MOBILE_A, 30),
    (CDN, MOBILE_B, 20),
    (CDN, CABLE, 25),
    (HOSTING, MOBILE_A, 8),
    (HOSTING, CABLE, 8),
    (INCUMBENT, MOBILE_A, 10),
    (INCUMBENT, CABLE, 10),
    (MOBILE_A, CDN, 3),
    (CABLE, CDN, 3),
    (MOBILE_B, HOSTING, 2),
    (5, 6, 1),
    (6, 11, 1),
];

const SAMPLING: u32 = 1000;

fn mac(i: usize) -> MacAddr {
    MacAddr([0x02, 0xca, 0, 0, 0, u8::try_from(i + 1).unwrap_or(0xff)])
}

/// The running demo collector.
#[derive(Debug)]
pub(crate) struct DemoTraffic {
    flows: Flows,
    dir: std::path::PathBuf,
}

/// Starts the collector (SQLite in a temporary directory) and the
/// simulated exporters.
pub(crate) async fn start(
    h: &Handle,
    members: &[(u32, &str)],
    member_addr: impl Fn(usize) -> Ipv4Addr,
    announced: &[HashSet<Prefix>],
) -> Result<DemoTraffic, String> {
    let dir = std::env::temp_dir().join(format!("caribix-demo-{}", std::process::id()));
    let mut table = MemberTable::new();
    let addrs: Vec<Ipv4Addr> = (0..members.len()).map(&member_addr).collect();
    for (i, (asn, name)) in members.iter().enumerate() {
        table.add_member(*asn, *name);
        // MOBILE_B's MAC is learned from its BGP session instead.
        if i != MOBILE_B {
            table.add_mac(mac(i), *asn);
        }
        if let Some(a) = addrs.get(i) {
            table.add_session_address(IpAddr::V4(*a), *asn);
        }
    }
    let router = IpAddr::V4(member_addr(INCUMBENT));
    if let Some((asn, _)) = members.get(INCUMBENT) {
        table.add_router(router, *asn);
    }
    table.set_interface_role(router, 1, InterfaceRole::Ixp);
    table.set_interface_role(router, 2, InterfaceRole::Transit);
    table.set_interface_role(router, 3, InterfaceRole::Customer);
    let delegations = traffic::parse_delegations(DELEGATIONS, &["GP", "MF", "BL", "SX"])
        .map_err(|e| e.to_string())?;
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let flows = crate::flows::start(
        FlowSpec {
            sflow: Some(SocketAddr::new(lo, 0)),
            ipfix: Some(SocketAddr::new(lo, 0)),
            store: flowstore::StoreUrl::Sqlite(dir.join("flows.db")),
            members: table,
            delegations: Some(delegations),
            retention: Retention::default(),
            flush_every: Duration::from_secs(2),
            prefixes_every: Duration::from_secs(2),
        },
        Some(h.clone()),
    )
    .await?;
    // A few IPv4 addresses inside each member's announced prefixes.
    let hosts: Vec<Vec<Ipv4Addr>> = announced
        .iter()
        .map(|set| {
            let mut v: Vec<Prefix> = set
                .iter()
                .filter(|p| matches!(p, Prefix::V4(_, l) if *l <= 24))
                .copied()
                .collect();
            v.sort();
            v.iter()
                .take(8)
                .filter_map(|p| match p {
                    Prefix::V4(a, _) => Some(Ipv4Addr::from(a.wrapping_add(10))),
                    Prefix::V6(..) => None,
                })
                .collect()
        })
        .collect();
    let (Some(sflow_to), Some(ipfix_to)) = (flows.sflow, flows.ipfix) else {
        return Err("the demo collector has no sockets".into());
    };
    tokio::spawn(switch(sflow_to, hosts.clone(), addrs));
    tokio::spawn(border_router(router, ipfix_to, hosts));
    Ok(DemoTraffic { flows, dir })
}

/// A host address of member `i` (a documentation address when it
/// announces no IPv4 prefix).
fn host(hosts: &[Vec<Ipv4Addr>], i: usize, n: u64) -> Ipv4Addr {
    hosts
        .get(i)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.get(usize::try_from(n).unwrap_or(0) % v.len()))
        .copied()
        .unwrap_or(Ipv4Addr::new(192, 0, 2, 1))
}

/// An Ethernet + IPv4 + TCP frame of `len` octets (without FCS).
fn frame(src: MacAddr, dst: MacAddr, s: Ipv4Addr, d: Ipv4Addr, len: usize) -> Vec<u8> {
    let len = len.max(54);
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_len = u16::try_from(len - 14).unwrap_or(u16::MAX);
    f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0]);
    if let Some(x) = f.get_mut(16..18) {
        x.copy_from_slice(&ip_len.to_be_bytes());
    }
    f.extend_from_slice(&s.octets());
    f.extend_from_slice(&d.octets());
    // TCP: 443 -> 50000, data offset 5, ACK.
    f.extend_from_slice(&[
        0x01, 0xbb, 0xc3, 0x50, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    f.resize(len, 0);
    f
}

/// A BGP KEEPALIVE (19 octets) from `s` port `sport` to `d` port `dport`.
fn bgp_frame(
    (src, s, sport): (MacAddr, Ipv4Addr, u16),
    (dst, d, dport): (MacAddr, Ipv4Addr, u16),
) -> Vec<u8> {
    let mut f = frame(src, dst, s, d, 14 + 20 + 20 + 19);
    if let Some(p) = f.get_mut(34..38) {
        p[..2].copy_from_slice(&sport.to_be_bytes());
        p[2..].copy_from_slice(&dport.to_be_bytes());
    }
    if let Some(flags) = f.get_mut(47) {
        *flags = 0x18; // PSH, ACK
    }
    if let Some(marker) = f.get_mut(54..70) {
        marker.fill(0xff);
    }
    if let Some(h) = f.get_mut(70..73) {
        h.copy_from_slice(&[0, 19, 4]);
    }
    f
}

/// The switch: eight samples every 250 ms, picked from [`MIX`]; once a
/// second one of them is a packet of the bilateral BGP session between
/// MOBILE_B and CABLE (`addrs` are the members' session addresses).
async fn switch(to: SocketAddr, hosts: Vec<Vec<Ipv4Addr>>, addrs: Vec<Ipv4Addr>) {
    let Ok(sock) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await else {
        tracing::warn!("demo sFlow agent: cannot bind a UDP socket");
        return;
    };
    let mut agent = Agent::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, SAMPLING);
    let total: u32 = MIX.iter().map(|m| m.2).sum();
    let mut rng = speaker::routes::Rng::new(11);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    for n in 0u64.. {
        tick.tick().await;
        let mut frames: Vec<Vec<u8>> = (0..8)
            .map(|k| {
                let mut pick = u32::try_from(rng.below(u64::from(total))).unwrap_or(0);
                let (s, d, _) = MIX
                    .iter()
                    .find(|m| {
                        if pick < m.2 {
                            true
                        } else {
                            pick -= m.2;
                            false
                        }
                    })
                    .copied()
                    .unwrap_or((CDN, MOBILE_A, 1));
                let len = if rng.below(10) < 7 {
                    1514
                } else {
                    66 + (n as usize + k) % 500
                };
                frame(
                    mac(s),
                    mac(d),
                    host(&hosts, s, n + k as u64),
                    host(&hosts, d, n),
                    len,
                )
            })
            .collect();
        if let (0, Some(m), Some(c)) = (n % 4, addrs.get(MOBILE_B), addrs.get(CABLE)) {
            let (a, b) = ((mac(MOBILE_B), *m, 179), (mac(CABLE), *c, 50179));
            frames[0] = if n % 8 == 0 {
                bgp_frame(a, b)
            } else {
                bgp_frame(b, a)
            };
        }
        let sampled: Vec<SampledFrame<'_>> = frames
            .iter()
            .enumerate()
            .map(|(k, f)| SampledFrame {
                frame: f,
                input: u32::try_from(k % 4 + 1).unwrap_or(1),
                output: 5,
            })
            .collect();
        let uptime = u32::try_from(n.saturating_mul(250)).unwrap_or(u32::MAX);
        let _ = sock.send_to(&agent.datagram(uptime, &sampled), to).await;
    }
}

/// One IPFIX message: template 256 (source and destination IPv4 address,
/// ingress and egress interface, octets, packets) and its records
/// (RFC 7011 §3).
fn ipfix_message(
    seq: u32,
    export_secs: u32,
    records: &[(Ipv4Addr, Ipv4Addr, u32, u32, u64, u64)],
) -> Vec<u8> {
    let fields: [(u16, u16); 6] = [(8, 4), (12, 4), (10, 4), (14, 4), (1, 8), (2, 8)];
    let mut tmpl = Vec::new();
    tmpl.extend_from_slice(&256u16.to_be_bytes());
    tmpl.extend_from_slice(&6u16.to_be_bytes());
    for (id, len) in fields {
        tmpl.extend_from_slice(&id.to_be_bytes());
        tmpl.extend_from_slice(&len.to_be_bytes());
    }
    let mut data = Vec::new();
    for (s, d, i, e, o, p) in records {
        data.extend_from_slice(&s.octets());
        data.extend_from_slice(&d.octets());
        data.extend_from_slice(&i.to_be_bytes());
        data.extend_from_slice(&e.to_be_bytes());
        data.extend_from_slice(&o.to_be_bytes());
        data.extend_from_slice(&p.to_be_bytes());
    }
    let set = |id: u16, body: &[u8]| {
        let mut v = id.to_be_bytes().to_vec();
        v.extend_from_slice(
            &u16::try_from(body.len() + 4)
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        v.extend_from_slice(body);
        v
    };
    let sets = [set(2, &tmpl), set(256, &data)].concat();
    let mut m = Vec::with_capacity(16 + sets.len());
    m.extend_from_slice(&10u16.to_be_bytes());
    m.extend_from_slice(
        &u16::try_from(16 + sets.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    m.extend_from_slice(&export_secs.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&0u32.to_be_bytes());
    m.extend_from_slice(&sets);
    m
}

/// The incumbent's border router: every second, flows from its customers
/// (ifIndex 3) to the hosting provider and to a local non-member leave
/// through transit (ifIndex 2), to a mobile ISP through the IXP (1), and
/// to the rest of the world through transit.
async fn border_router(router: IpAddr, to: SocketAddr, hosts: Vec<Vec<Ipv4Addr>>) {
    let Ok(sock) = UdpSocket::bind(SocketAddr::new(router, 0)).await else {
        tracing::warn!("demo IPFIX exporter: cannot bind {router}");
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seq = 0u32;
    for n in 0u64.. {
        tick.tick().await;
        let me = host(&hosts, INCUMBENT, n);
        let recs = [
            (me, host(&hosts, HOSTING, n), 3, 2, 9_000_000, 6_500),
            (me, Ipv4Addr::new(198, 18, 1, 20), 3, 2, 4_000_000, 3_000),
            (me, host(&hosts, MOBILE_B, n), 3, 1, 2_000_000, 1_600),
            (me, Ipv4Addr::new(192, 0, 2, 80), 3, 2, 12_000_000, 9_000),
        ];
        let secs =
            u32::try_from(flow::UnixMillis::from_system_time(std::time::SystemTime::now()).secs())
                .unwrap_or(u32::MAX);
        let _ = sock.send_to(&ipfix_message(seq, secs, &recs), to).await;
        seq = seq.wrapping_add(u32::try_from(recs.len()).unwrap_or(0));
    }
}

/// GETs `path` from the API at `web` and parses the JSON body.
fn get_json(web: SocketAddr, path: &str) -> Result<serde_json::Value, String> {
    let mut s = std::net::TcpStream::connect_timeout(&web, Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{path}: {head} {body}"));
    }
    serde_json::from_str(body).map_err(|e| format!("{path}: {e}: {body}"))
}

/// Flushes the collector and checks the traffic API; prints what it saw.
pub(crate) async fn check(t: Option<&DemoTraffic>, web: SocketAddr) -> bool {
    let Some(t) = t else {
        eprintln!("check failed: the simulated traffic did not start");
        return false;
    };
    if !t.flows.flush().await {
        eprintln!("check failed: the flow collector is not running");
        return false;
    }
    let r = tokio::task::spawn_blocking(move || -> Result<String, String> {
        let m = get_json(web, "/api/v1/traffic/members")?;
        let members = m["members"].as_array().ok_or("no members array")?;
        let bytes: u64 = members.iter().filter_map(|x| x["in_bytes"].as_u64()).sum();
        let l = get_json(web, "/api/v1/traffic/local")?;
        let share = l["local_share"].as_f64().unwrap_or(0.0);
        let tromboned = l["tromboned_bytes"].as_u64().unwrap_or(0);
        let o = get_json(web, "/api/v1/traffic/opportunities")?;
        let opps = o["opportunities"].as_array().map_or(0, Vec::len);
        let mx = get_json(web, "/api/v1/traffic/matrix")?;
        let pairs = mx["matrix"].as_array().map_or(0, Vec::len);
        let macs = get_json(web, "/api/v1/traffic/macs")?;
        let learned = macs["macs"]
            .as_array()
            .map_or(0, |m| m.iter().filter(|r| r["source"] == "learned").count());
        let bi = get_json(web, "/api/v1/traffic/bilateral")?;
        let sessions = bi["sessions"].as_array().map_or(0, Vec::len);
        let summary = format!(
            "{} members with traffic ({bytes} bytes received), {pairs} matrix pairs, local share {:.1}%, {tromboned} bytes tromboned, {opps} peering opportunities, {learned} MAC learned from BGP, {sessions} bilateral session",
            members.len(),
            share * 100.0
        );
        if members.len() < 4
            || bytes == 0
            || pairs == 0
            || share <= 0.0
            || tromboned == 0
            || opps == 0
            || learned == 0
            || sessions == 0
        {
            return Err(summary);
        }
        Ok(summary)
    })
    .await;
    match r {
        Ok(Ok(s)) => {
            println!("check passed: traffic API shows {s}");
            true
        }
        Ok(Err(e)) => {
            eprintln!("check failed: traffic API: {e}");
            false
        }
        Err(e) => {
            eprintln!("check failed: {e}");
            false
        }
    }
}

impl Drop for DemoTraffic {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
