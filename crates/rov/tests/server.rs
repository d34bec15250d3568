//! The in-process RTR server against the RTR client: full sync with ASPA
//! (version 2), incremental updates after Serial Notify, a version 1
//! client (no ASPA), and StayRTR's client-side peer: none — StayRTR is a
//! server only, so the client side of our server is checked with our own
//! client here and the client with StayRTR in `stayrtr.rs`.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{wait_for, TempDir};
use rov::{AspaTable, RovState, RtrClient, RtrConfig, RtrServer, Timing, Vrp, VrpTable};

fn p(s: &str) -> bgp_wire::Prefix {
    s.parse().unwrap()
}

fn table(vrps: &[(&str, u8, u32)], aspas: &[(u32, Vec<u32>)]) -> VrpTable {
    VrpTable::new(
        vrps.iter()
            .map(|(s, m, a)| Vrp::new(p(s), *m, *a).unwrap())
            .collect(),
        AspaTable::new(aspas.iter().cloned()),
    )
}

fn timing() -> Timing {
    Timing {
        refresh: 3600,
        retry: 600,
        expire: 7200,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_full_set_and_incremental_updates() {
    let dir = TempDir::new("server");
    let t1 = table(
        &[("192.0.2.0/24", 24, 64496), ("2001:db8::/32", 48, 64496)],
        &[(64496, vec![64510])],
    );
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = RtrServer::bind(any, &t1, timing()).await.unwrap();
    let addr = server.local_addr().to_string();
    let (rpki, task) = RtrClient::new(RtrConfig::new([addr.as_str()], dir.path())).spawn();
    wait_for("the full set", Duration::from_secs(10), || {
        rpki.current().len() == 2
    })
    .await;
    assert_eq!(rpki.current().aspas().providers(64496), Some(&[64510][..]));
    assert_eq!(rpki.status().refresh, Duration::from_secs(3600));
    // The handle is what the policy holds, as its trait object.
    let view: std::sync::Arc<dyn policy::RpkiView> = std::sync::Arc::new(rpki.clone());
    assert_eq!(view.rov(&p("192.0.2.0/24"), Some(64496)), RovState::Valid);
    assert_eq!(view.rov(&p("192.0.2.0/25"), Some(64496)), RovState::Invalid);
    assert_eq!(view.aspa_upstream_valid(&[64510, 64496]), Some(true));
    assert_eq!(view.aspa_upstream_valid(&[64511, 64496]), Some(false));

    // An update: one VRP withdrawn, one announced, ASPA replaced.
    let t2 = table(
        &[("192.0.2.0/24", 24, 64496), ("198.51.100.0/24", 24, 64511)],
        &[(64496, vec![64511])],
    );
    let mut changes = rpki.subscribe();
    changes.borrow_and_update();
    let start = Instant::now();
    server.set(&t2).unwrap();
    wait_for("the incremental update", Duration::from_secs(10), || {
        rpki.rov(&p("198.51.100.0/24"), Some(64497)) == RovState::Invalid
    })
    .await;
    eprintln!(
        "MEASURED in-process server set() → client table {:?}",
        start.elapsed()
    );
    let now = rpki.current();
    assert_eq!(
        now.vrps().collect::<Vec<_>>(),
        t2.vrps().collect::<Vec<_>>()
    );
    assert_eq!(now.aspas(), t2.aspas());
    let g = changes.borrow().clone();
    assert_eq!(
        g.changed.iter().collect::<Vec<_>>(),
        vec![p("198.51.100.0/24"), p("2001:db8::/32")]
    );
    assert!(g.aspa_changed);
    // The client kept its session: the update was a serial query, not a
    // reset (syncs counts every End of Data).
    assert!(rpki.status().syncs >= 2);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_client_gets_vrps_without_aspa() {
    let dir = TempDir::new("server-v1");
    let t1 = table(&[("192.0.2.0/24", 24, 64496)], &[(64496, vec![64510])]);
    let server = RtrServer::bind("127.0.0.1:0".parse().unwrap(), &t1, timing())
        .await
        .unwrap();
    let mut config = RtrConfig::new([server.local_addr().to_string()], dir.path());
    config.initial_version = 1;
    let (rpki, task) = RtrClient::new(config).spawn();
    wait_for("the full set", Duration::from_secs(10), || {
        rpki.current().len() == 1
    })
    .await;
    assert!(rpki.current().aspas().is_empty());
    assert_eq!(rpki.aspa_upstream_valid(&[64510, 64496]), None);
    task.abort();
}
