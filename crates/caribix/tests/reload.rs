//! SIGHUP reload of `caribix run` (issue 3): an added member comes up, a
//! removed one is told Cease / Peer De-configured, a member whose session
//! settings changed is reset, and the others keep their sessions and
//! routes.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bgp_session::State;
use bgp_wire::{AsPath, NextHop, Nlri, Origin, PathAttributes, Prefix};
use speaker::{RouteGroup, Speaker, SpeakerConfig};
use support::config::{max_prefix, Ixp};
use support::proc::{sighup, spawn_caribix};
use support::{free_tcp, tempdir, Proc};

fn member(asn: u32, last: u8, name: &str) -> String {
    support::config::member(asn, name, &format!("127.0.3.{last}"), &max_prefix(100, 10))
}

fn config(port: u16, members: &[String]) -> String {
    Ixp {
        name: "Reload test",
        lan_v4: "127.0.0.0/8",
        bgp: port,
        tables: "[policy]\nreject_bogon_asns = false",
        ..Ixp::default()
    }
    .toml(members)
}

fn routes(asn: u32, last: u8, third: u8) -> Vec<RouteGroup> {
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(&[asn])),
        ..PathAttributes::default()
    };
    vec![RouteGroup {
        block: speaker::routes::block(&attrs),
        next_hop: NextHop::V4(Ipv4Addr::new(127, 0, 3, last)),
        nlri: (0..5u8)
            // Public space: documentation prefixes are bogons to the policy.
            .map(|i| Nlri::new(Prefix::v4(Ipv4Addr::new(45, third, i, 0), 24).unwrap()))
            .collect(),
    }]
}

fn start(asn: u32, last: u8, port: u16) -> Speaker {
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
        routes(asn, last, last),
    )
}

fn since(s: &Speaker) -> Option<Instant> {
    s.status.lock().ok().and_then(|s| s.established_since)
}

#[test]
fn sighup_adds_removes_and_resets_only_what_changed() {
    let port = free_tcp();
    let dir = tempdir("reload");
    let conf = dir.join("caribix.toml");
    let a = member(64511, 1, "A");
    let b = member(64512, 2, "B");
    let c = member(64513, 3, "C");
    std::fs::write(&conf, config(port, &[a.clone(), b.clone(), c.clone()]))
        .expect("write caribix.toml");
    let rs = Proc(spawn_caribix(&dir, &conf, 1));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let sa = start(64511, 1, port);
    let sb = start(64512, 2, port);
    let sc = start(64513, 3, port);
    let sd = start(64514, 4, port); // not configured yet
    let all = |n: u64| move |s: &Speaker| s.state() == State::Established && s.prefix_count() == n;
    for (s, name) in [(&sa, "A"), (&sb, "B"), (&sc, "C")] {
        assert!(
            rt.block_on(s.wait_for(Duration::from_secs(20), all(10))),
            "{name} did not get the others' routes"
        );
    }
    assert_ne!(
        sd.state(),
        State::Established,
        "an unconfigured member came up"
    );
    let a_since = since(&sa);

    // Rename A (no reset), remove B, change C's AS (reset), add D.
    let a2 = member(64511, 1, "A, renamed");
    let c2 = member(64523, 3, "C, new AS");
    let d = member(64514, 4, "D");
    std::fs::write(&conf, config(port, &[a2, c2, d])).unwrap();
    sighup(rs.0.id());
    let up = rt.block_on(sd.wait_for(Duration::from_secs(20), |s| s.state() == State::Established));
    assert!(
        up,
        "added member D did not come up: {:?}",
        sd.status.lock().unwrap()
    );
    assert!(
        rt.block_on(sb.wait_for(Duration::from_secs(10), |s| s.state() != State::Established)),
        "removed member B still up"
    );
    let b_downs = sb.counters.downs.lock().unwrap().clone();
    assert!(
        b_downs.iter().any(|d| d.contains("6/3")),
        "B was not told Cease / Peer De-configured: {b_downs:?}"
    );
    // C reconnects with its old AS and is refused (Bad Peer AS) until it
    // changes; its routes are gone from the others.
    assert!(
        rt.block_on(sa.wait_for(Duration::from_secs(20), all(5))),
        "A should now hold only D's 5 routes, has {}",
        sa.prefix_count()
    );
    assert_eq!(
        since(&sa),
        a_since,
        "A's session was reset by a reload that only renamed it"
    );
    assert_ne!(
        sc.state(),
        State::Established,
        "C came up with the AS it no longer has"
    );
    // A broken file is refused and the running configuration stays.
    std::fs::write(&conf, "this is not TOML [").unwrap();
    sighup(rs.0.id());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(since(&sa), a_since, "a broken file reset A");
    assert_eq!(sd.state(), State::Established, "a broken file took D down");
    let _ = std::fs::remove_dir_all(&dir);
}
