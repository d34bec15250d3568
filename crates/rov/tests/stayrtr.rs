//! The RTR client against StayRTR (Debian package `stayrtr`) serving JSON
//! files the tests write: sync, ROA changes seen within bounded time,
//! version downgrade, ASPA over version 2, failover and return to the
//! preferred cache, the table kept while the cache is gone and dropped at
//! the expire interval, restart from the persisted file.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{free_port, json, wait_for, write_atomic, StayRtr, TempDir};
use rov::persist::{self, Persisted};
use rov::{AspaTable, DataSource, RovState, RtrClient, RtrConfig, Vrp, VrpTable};

fn p(s: &str) -> bgp_wire::Prefix {
    s.parse().unwrap()
}

fn config(caches: &[&str], dir: &std::path::Path) -> RtrConfig {
    let mut c = RtrConfig::new(caches.iter().copied(), dir.join("cache"));
    c.retry = Some(Duration::from_millis(500));
    c.connect_timeout = Duration::from_secs(2);
    c
}

const BASE: &[(&str, u8, u32)] = &[("192.0.2.0/24", 24, 64496), ("2001:db8::/32", 48, 64496)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roa_change_turns_route_invalid_and_back() {
    let dir = TempDir::new("change");
    let file = dir.path().join("vrps.json");
    write_atomic(&file, &json(BASE, &[]));
    let port = free_port();
    let _cache = StayRtr::start(&file, port, 1, 3600, 600, 7200);
    let (rpki, task) = RtrClient::new(config(&[&format!("127.0.0.1:{port}")], dir.path())).spawn();
    let mut changes = rpki.subscribe();

    let t = wait_for("the first sync", Duration::from_secs(15), || {
        rpki.current().len() == 2
    })
    .await;
    eprintln!("initial sync took {t:?}");
    assert_eq!(rpki.rov(&p("192.0.2.0/24"), Some(64496)), RovState::Valid);
    assert_eq!(
        rpki.rov(&p("2001:db8:1::/48"), Some(64496)),
        RovState::Valid
    );
    assert_eq!(
        rpki.rov(&p("2001:db8:1::/49"), Some(64496)),
        RovState::Invalid
    );
    let route = p("198.51.100.0/24");
    assert_eq!(rpki.rov(&route, Some(64497)), RovState::NotFound);
    assert!(matches!(rpki.status().source, DataSource::Cache(_)));
    let gen0 = changes.borrow_and_update().number;

    // A ROA for another AS makes the route Invalid.
    let mut with = BASE.to_vec();
    with.push(("198.51.100.0/24", 24, 64511));
    let start = Instant::now();
    write_atomic(&file, &json(&with, &[]));
    wait_for("the route to turn Invalid", Duration::from_secs(20), || {
        rpki.rov(&route, Some(64497)) == RovState::Invalid
    })
    .await;
    let to_invalid = start.elapsed();
    let g = changes.borrow_and_update().clone();
    assert!(g.number > gen0);
    assert!(
        g.changed.contains(&route),
        "changed prefixes {:?}",
        g.changed
    );
    assert!(
        !g.changed.contains(&p("192.0.2.0/24")),
        "unchanged VRP reported: {:?}",
        g.changed
    );

    // Removing it again makes the route NotFound.
    let start = Instant::now();
    write_atomic(&file, &json(BASE, &[]));
    wait_for(
        "the route to be NotFound again",
        Duration::from_secs(20),
        || rpki.rov(&route, Some(64497)) == RovState::NotFound,
    )
    .await;
    let to_notfound = start.elapsed();
    eprintln!("MEASURED StayRTR -refresh 1: file change → Invalid in {to_invalid:?}, → NotFound in {to_notfound:?}");
    assert_eq!(rpki.current().len(), 2);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_downgrade_to_1_and_0() {
    for version in [1u8, 0] {
        let dir = TempDir::new(&format!("v{version}"));
        let file = dir.path().join("vrps.json");
        write_atomic(&file, &json(BASE, &[]));
        let port = free_port();
        let _cache = StayRtr::start(&file, port, version, 3600, 600, 7200);
        let (rpki, task) =
            RtrClient::new(config(&[&format!("127.0.0.1:{port}")], dir.path())).spawn();
        wait_for(
            &format!("a sync with a version {version} cache"),
            Duration::from_secs(15),
            || rpki.current().len() == 2,
        )
        .await;
        assert_eq!(rpki.rov(&p("192.0.2.0/24"), Some(64496)), RovState::Valid);
        if version == 0 {
            // Version 0 has no timing in End of Data: RFC 8210 defaults.
            assert_eq!(rpki.status().expire, Duration::from_secs(7200));
        }
        task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aspa_from_json_next_to_stayrtr_version_2() {
    let dir = TempDir::new("aspa");
    let file = dir.path().join("vrps.json");
    let providers: &[u32] = &[65010, 65011];
    write_atomic(&file, &json(BASE, &[(65001, providers)]));
    let port = free_port();
    let _cache = StayRtr::start(&file, port, 2, 3600, 600, 7200);
    // Without the JSON fallback: StayRTR 0.5's ASPA PDUs (8210bis-10
    // layout) are not understood by the rpki crate and ignored; the VRPs
    // still arrive over version 2.
    let dir2 = TempDir::new("aspa-plain");
    let (plain, task) =
        RtrClient::new(config(&[&format!("127.0.0.1:{port}")], dir2.path())).spawn();
    wait_for("the VRPs over version 2", Duration::from_secs(15), || {
        plain.current().len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        plain.current().aspas().is_empty(),
        "ASPA over RTR from StayRTR now decodes: {:?} — make it the primary ASPA test",
        plain.current().aspas()
    );
    task.abort();

    // With the fallback, ASPA comes from the same JSON file.
    let mut c = config(&[&format!("127.0.0.1:{port}")], dir.path());
    c.aspa_json = Some(file.clone());
    c.aspa_poll = Duration::from_millis(200);
    let (rpki, task) = RtrClient::new(c).spawn();
    wait_for(
        "the VRPs and the ASPA record",
        Duration::from_secs(15),
        || rpki.current().len() == 2 && rpki.current().aspas().providers(65001).is_some(),
    )
    .await;
    assert_eq!(
        rpki.current().aspas().providers(65001),
        Some(&[65010, 65011][..])
    );
    assert_eq!(rpki.aspa_upstream_valid(&[65011, 65001]), Some(true));
    assert_eq!(rpki.aspa_upstream_valid(&[65099, 65001]), Some(false));
    let mut changes = rpki.subscribe();
    changes.borrow_and_update();
    let providers: &[u32] = &[65010];
    write_atomic(&file, &json(BASE, &[(65001, providers)]));
    wait_for("the ASPA change", Duration::from_secs(20), || {
        rpki.aspa_upstream_valid(&[65011, 65001]) == Some(false)
    })
    .await;
    assert!(changes.borrow().aspa_changed);
    // VRP updates over RTR keep the ASPA records from the file.
    let mut with = BASE.to_vec();
    with.push(("198.51.100.0/24", 24, 64511));
    write_atomic(&file, &json(&with, &[(65001, providers)]));
    wait_for("the VRP change", Duration::from_secs(20), || {
        rpki.current().len() == 3
    })
    .await;
    assert_eq!(rpki.current().aspas().providers(65001), Some(&[65010][..]));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_gone_table_kept_until_expire() {
    let dir = TempDir::new("expire");
    let file = dir.path().join("vrps.json");
    write_atomic(&file, &json(BASE, &[]));
    let port = free_port();
    // Expire interval of 6 s (far below RFC 8210's minimum of 600, to keep
    // the test short).
    let mut cache = StayRtr::start(&file, port, 1, 1, 1, 6);
    let (rpki, task) = RtrClient::new(config(&[&format!("127.0.0.1:{port}")], dir.path())).spawn();
    wait_for("the first sync", Duration::from_secs(15), || {
        rpki.current().len() == 2
    })
    .await;
    assert_eq!(rpki.status().expire, Duration::from_secs(6));
    cache.kill();
    let killed = Instant::now();
    wait_for("the client to notice", Duration::from_secs(10), || {
        rpki.status().connected.is_none()
    })
    .await;
    let last_sync = rpki.status().last_sync.expect("a sync happened");
    // Until the expire interval has passed since the last sync, the data
    // stays: no mass withdrawal because the cache went away.
    while SystemTime::now()
        .duration_since(last_sync)
        .unwrap_or_default()
        < Duration::from_millis(5_500)
    {
        assert_eq!(
            rpki.current().len(),
            2,
            "table dropped {:?} after the cache died",
            killed.elapsed()
        );
        assert_eq!(rpki.rov(&p("192.0.2.0/24"), Some(64496)), RovState::Valid);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for("the data to expire", Duration::from_secs(5), || {
        rpki.current().is_empty()
    })
    .await;
    let expired_after = SystemTime::now()
        .duration_since(last_sync)
        .unwrap_or_default();
    eprintln!("MEASURED data dropped {expired_after:?} after the last sync (expire 6 s)");
    assert!(expired_after >= Duration::from_secs(6));
    assert_eq!(rpki.status().source, DataSource::Expired);
    assert_eq!(
        rpki.rov(&p("192.0.2.0/24"), Some(64496)),
        RovState::NotFound
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_and_back_to_preferred() {
    let dir = TempDir::new("failover");
    let file_a = dir.path().join("a.json");
    let file_b = dir.path().join("b.json");
    write_atomic(&file_a, &json(&[("10.0.0.0/8", 8, 65001)], &[]));
    write_atomic(&file_b, &json(&[("10.0.0.0/8", 8, 65002)], &[]));
    let (port_a, port_b) = (free_port(), free_port());
    let (addr_a, addr_b) = (format!("127.0.0.1:{port_a}"), format!("127.0.0.1:{port_b}"));
    let _b = StayRtr::start(&file_b, port_b, 1, 3600, 600, 7200);
    // The preferred cache A is down at start: the client uses B.
    let (rpki, task) = RtrClient::new(config(&[&addr_a, &addr_b], dir.path())).spawn();
    let ten = p("10.0.0.0/8");
    wait_for("data from B", Duration::from_secs(15), || {
        rpki.rov(&ten, Some(65002)) == RovState::Valid
    })
    .await;
    assert_eq!(rpki.status().connected.as_deref(), Some(addr_b.as_str()));
    // A comes up: the client goes back to it within a few retry intervals.
    let mut a = StayRtr::start(&file_a, port_a, 1, 3600, 600, 7200);
    let t = wait_for("the switch back to A", Duration::from_secs(15), || {
        rpki.rov(&ten, Some(65001)) == RovState::Valid
    })
    .await;
    eprintln!("MEASURED back on the preferred cache {t:?} after it came up (retry 0.5 s)");
    assert_eq!(rpki.status().connected.as_deref(), Some(addr_a.as_str()));
    assert_eq!(rpki.rov(&ten, Some(65002)), RovState::Invalid);
    // A dies: failover to B.
    a.kill();
    let t = wait_for("the failover to B", Duration::from_secs(15), || {
        rpki.rov(&ten, Some(65002)) == RovState::Valid
    })
    .await;
    eprintln!("MEASURED failover to B {t:?} after A was killed");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_from_persisted_file_without_cache() {
    let dir = TempDir::new("persist");
    let file = dir.path().join("vrps.json");
    write_atomic(&file, &json(BASE, &[]));
    let port = free_port();
    let mut cache = StayRtr::start(&file, port, 1, 3600, 600, 7200);
    let (rpki, task) = RtrClient::new(config(&[&format!("127.0.0.1:{port}")], dir.path())).spawn();
    wait_for("the first sync", Duration::from_secs(15), || {
        rpki.current().len() == 2
    })
    .await;
    task.abort();
    cache.kill();
    let persisted = dir.path().join("cache").join(persist::FILE_NAME);
    let (table, meta) = persist::load(&persisted).expect("the client persisted its data");
    assert_eq!(table.len(), 2);
    assert_eq!(meta.expire, Duration::from_secs(7200));

    // A new client with no reachable cache (nothing listens on a fresh
    // port) starts with the persisted data.
    let dead = format!("127.0.0.1:{}", free_port());
    let client = RtrClient::new(config(&[&dead], dir.path()));
    let rpki = client.handle();
    assert_eq!(rpki.status().source, DataSource::Persisted);
    assert_eq!(rpki.rov(&p("192.0.2.0/24"), Some(64496)), RovState::Valid);
    assert_eq!(rpki.rov(&p("192.0.2.0/24"), Some(64497)), RovState::Invalid);
    let task = tokio::spawn(client.run());
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Connection attempts fail, and the data stays.
    assert_eq!(rpki.current().len(), 2);
    assert_eq!(rpki.status().source, DataSource::Persisted);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_persisted_file_is_not_used() {
    let dir = TempDir::new("old");
    let table = VrpTable::new(
        vec![Vrp::new(p("192.0.2.0/24"), 24, 64496).unwrap()],
        AspaTable::default(),
    );
    let path = dir.path().join("cache").join(persist::FILE_NAME);
    let old = Persisted {
        written: SystemTime::now() - Duration::from_secs(7300),
        expire: Duration::from_secs(7200),
        source: "test".into(),
    };
    persist::save(&path, &table, &old).unwrap();
    let dead = format!("127.0.0.1:{}", free_port());
    let rpki = RtrClient::new(config(&[&dead], dir.path())).handle();
    assert!(rpki.current().is_empty());
    assert_eq!(rpki.status().source, DataSource::Empty);
    assert_eq!(
        rpki.rov(&p("192.0.2.0/24"), Some(64497)),
        RovState::NotFound
    );

    // The same file, younger than its expire interval, is used.
    let fresh = Persisted {
        written: SystemTime::now() - Duration::from_secs(7000),
        ..old
    };
    persist::save(&path, &table, &fresh).unwrap();
    let client = RtrClient::new(config(&[&dead], dir.path()));
    let rpki = client.handle();
    assert_eq!(rpki.rov(&p("192.0.2.0/24"), Some(64497)), RovState::Invalid);
    // ... until it reaches its expire interval while no cache answers.
    let short = Persisted {
        written: SystemTime::now() - Duration::from_secs(7199),
        ..fresh
    };
    persist::save(&path, &table, &short).unwrap();
    let client = RtrClient::new(config(&[&dead], dir.path()));
    let rpki = client.handle();
    assert_eq!(rpki.current().len(), 1);
    let task = tokio::spawn(client.run());
    wait_for(
        "the persisted data to expire",
        Duration::from_secs(5),
        || rpki.current().is_empty(),
    )
    .await;
    assert_eq!(rpki.status().source, DataSource::Expired);
    task.abort();
}
