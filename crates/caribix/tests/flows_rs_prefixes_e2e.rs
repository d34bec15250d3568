//! End to end: the route server's routes drive flow attribution and
//! local-traffic identification. Members A (AS64501) and B (AS64502)
//! announce 45.1.0.0/24 and 45.2.0.0/24 to `caribix run` over real BGP
//! sessions (the `speaker` crate); no MAC is configured and there is no
//! delegation file, so only the route server says which destinations are
//! local and whose. A's border router exports IPFIX through pmacctd
//! (nfprobe, ifIndex from a pre-tag map): traffic to B's prefix out of the
//! IXP port is local and attributed to B; traffic to B's prefix out of the
//! transit port is tromboned, with the opportunity A-B; traffic abroad is
//! neither. Figures must equal the pcap exactly. A missing pmacctd fails
//! the test.

mod support;

use bgp_session::State;
use bgp_wire::{AsPath, NextHop, Nlri, Origin, PathAttributes, Prefix};
use speaker::{RouteGroup, Speaker, SpeakerConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use support::{
    base_config, free_tcp, free_udp, get, ipv4_frame, member_config, now_micros,
    pmacct_router_export, tempdir, udp, Caribix,
};

const A: u32 = 64501;
const B: u32 = 64502;
const MAC_A: [u8; 6] = [2, 0, 0, 0, 4, 1];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 4, 2];
const TRANSIT: [u8; 6] = [2, 0, 0, 0, 0xf, 9];

fn speaker(asn: u32, last: u8, port: u16) -> Speaker {
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(&[asn])),
        ..PathAttributes::default()
    };
    let prefix = Prefix::v4(Ipv4Addr::new(45, last, 0, 0), 24).expect("a /24");
    Speaker::start(
        SpeakerConfig {
            asn,
            router_id: Ipv4Addr::new(127, 0, 3, last),
            local: IpAddr::V4(Ipv4Addr::new(127, 0, 3, last)),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            peer_as: 64500,
            hold_time: 30,
            keep_routes: false,
        },
        vec![RouteGroup {
            block: speaker::routes::block(&attrs),
            next_hop: NextHop::V4(Ipv4Addr::new(127, 0, 3, last)),
            nlri: vec![Nlri::new(prefix)],
        }],
    )
}

fn metric(web: u16, name: &str) -> Option<u64> {
    let (_, m) = get(web, "/metrics")?;
    m.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn route_server_prefixes_identify_local_and_tromboned_traffic() {
    let dir = tempdir("flows-rs-prefixes-e2e");
    let (rs, web, port) = (free_tcp(), free_tcp(), free_udp());
    // Private ASNs are bogon ASNs to the default policy.
    let flows = format!(
        "[policy]\nreject_bogon_asns = false\n\n[flows]\nipfix = \"127.0.0.1:{port}\"\nstore = \"sqlite:{}\"\n\n[[flows.router]]\nexporter = \"127.0.0.21\"\nasn = {A}\nixp = [10]\ntransit = [20]\ncustomer = [30]\n",
        dir.join("flows.db").display()
    );
    let mut cfg = base_config(rs, web, &flows);
    cfg += &member_config(A, "Island Telecom", "127.0.3.1", &[]);
    cfg += &member_config(B, "Cable Co", "127.0.3.2", &[]);
    let caribix = Caribix::start(&dir, &cfg, web, "/api/v1/traffic/local");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let _guard = rt.enter();
    let sa = speaker(A, 1, rs);
    let sb = speaker(B, 2, rs);
    for (s, name) in [(&sa, "A"), (&sb, "B")] {
        let up = rt.block_on(s.wait_for(Duration::from_secs(20), |s| {
            s.state() == State::Established && s.prefix_count() == 1
        }));
        assert!(
            up,
            "{name} did not get the other's route:\n{}",
            caribix.log()
        );
    }
    // The collector reads the route server's prefixes a few seconds after
    // start, then every minute.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while metric(web, "caribix_flow_route_server_prefixes") != Some(2) {
        assert!(
            std::time::Instant::now() < deadline,
            "the collector never saw the 2 route server prefixes:\n{}",
            caribix.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // A's router: (to, MAC at the other end, packets, IP length).
    let ip = |s: &str| s.parse::<Ipv4Addr>().expect("a test address");
    let plan = [
        (ip("45.2.0.20"), MAC_B, 300u64, 1000usize),
        (ip("45.2.0.21"), TRANSIT, 200, 1200),
        (ip("198.18.0.1"), TRANSIT, 100, 800),
    ];
    let mut w = flow::pcap::PcapWriter::new(flow::pcap::LINKTYPE_ETHERNET, 65535);
    let mut t = now_micros() - 5_000_000;
    for (i, (dst, mac, packets, len)) in plan.iter().enumerate() {
        for _ in 0..*packets {
            let l4 = udp(40_000 + i as u16, 443, len - 28);
            w.packet(t, &ipv4_frame(*mac, MAC_A, ip("45.1.0.10"), *dst, 17, &l4));
            t += 500;
        }
    }
    let pcap = dir.join("router-a.pcap");
    std::fs::write(&pcap, w.finish()).expect("write the pcap");
    pmacct_router_export(
        &dir,
        "a",
        &pcap,
        MAC_A,
        &[(MAC_B, 10), (TRANSIT, 20)],
        10,
        "127.0.0.21",
        port,
    );
    let bytes = |i: usize| plan[i].2 * plan[i].3 as u64;
    let (local, tromboned, total) = (bytes(0), bytes(1), bytes(0) + bytes(1) + bytes(2));

    let v = caribix.poll(
        "/api/v1/traffic/local",
        Duration::from_secs(45),
        "the router's bytes",
        |v| v["total_bytes"].as_u64() == Some(total),
    );
    assert_eq!(v["local_bytes"].as_u64(), Some(local), "{v}");
    assert_eq!(v["tromboned_bytes"].as_u64(), Some(tromboned), "{v}");
    let o = caribix.poll(
        "/api/v1/traffic/opportunities",
        Duration::from_secs(5),
        "opportunities",
        |_| true,
    );
    let opps = o["opportunities"].as_array().expect("a list");
    assert_eq!(opps.len(), 1, "{o}");
    assert_eq!(
        (
            opps[0]["a_asn"].as_u64(),
            opps[0]["b_asn"].as_u64(),
            opps[0]["bytes"].as_u64()
        ),
        (Some(u64::from(A)), Some(u64::from(B)), Some(tromboned)),
        "{o}"
    );
    let m = caribix.poll(
        "/api/v1/traffic/matrix",
        Duration::from_secs(5),
        "matrix",
        |_| true,
    );
    let rows = m["matrix"].as_array().expect("a list");
    assert_eq!(rows.len(), 1, "{m}");
    assert_eq!(
        (
            rows[0]["src_asn"].as_u64(),
            rows[0]["dst_asn"].as_u64(),
            rows[0]["bytes"].as_u64()
        ),
        (Some(u64::from(A)), Some(u64::from(B)), Some(local)),
        "A to B over the IXP, B found by its route server prefix: {m}"
    );
    drop(sa);
    drop(sb);
    drop(caribix);
    let _ = std::fs::remove_dir_all(&dir);
}
