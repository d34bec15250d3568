//! The whois client and the updater against a small IRRd-like whois
//! server written here (it answers `!!`, `!i`, `!g`, `!6` from an IrrDb
//! with IRRd's A/C/D/F framing), and the updater on dump files: schedule,
//! on-demand refresh, last good data kept, disk cache.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use irr::{IrrConfig, IrrDb, IrrSource, IrrUpdater, MemberSpec, WhoisClient, WhoisError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

fn p(s: &str) -> bgp_wire::Prefix {
    s.parse().unwrap()
}

const DUMP: &str = "\
route: 192.0.2.0/24
origin: AS65002

route: 198.51.100.0/24
origin: AS65003

route6: 2001:db8:2::/48
origin: AS65002

route: 203.0.113.0/24
origin: AS65001

as-set: AS65001:AS-CUSTOMERS
members: AS65002, AS-SUB

as-set: AS-SUB
members: AS65003, AS65001:AS-CUSTOMERS
";

/// How the test server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// A<len> counts the data's final newline (as IRRd does).
    Normal,
    /// A<len> counts only the data.
    LengthWithoutNewline,
    /// Never answers.
    Silent,
    /// Answers garbage.
    Garbage,
    /// Closes in the middle of the data.
    Truncated,
}

struct WhoisServer {
    addr: String,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WhoisServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(db: &IrrDb, q: &str) -> String {
    let q = q.trim();
    let data: Option<String> = if let Some(rest) = q.strip_prefix("!i") {
        let Some(set) = rest.strip_suffix(",1") else {
            return "F only recursive !i supported here\n".into();
        };
        match db.expand(set, 20) {
            Ok(e) => Some(
                e.asns
                    .iter()
                    .map(|a| format!("AS{a}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Err(_) => None,
        }
    } else if let Some(rest) = q.strip_prefix("!s") {
        // Sources known to this server: TEST and RADB.
        return if rest.split(',').all(|s| s == "TEST" || s == "RADB") {
            "C\n".into()
        } else {
            "D\n".into()
        };
    } else if let Some(rest) = q.strip_prefix("!g").or_else(|| q.strip_prefix("!6")) {
        let v6 = q.starts_with("!6");
        let Some(asn) = irr::rpsl::parse_asn(rest) else {
            return format!("F invalid origin {rest}\n");
        };
        let ps: Vec<String> = db
            .routes_of(asn)
            .filter(|p| matches!(p, bgp_wire::Prefix::V6(..)) == v6)
            .map(|p| p.to_string())
            .collect();
        if ps.is_empty() {
            return "C\n".into();
        }
        Some(ps.join(" "))
    } else {
        return format!("F Unrecognized command {q}\n");
    };
    match data {
        None => "D\n".into(),
        Some(d) => format!("A{}\n{d}\nC\n", d.len() + 1),
    }
}

async fn start_server(dump: &str, mode: Mode) -> WhoisServer {
    let mut db = IrrDb::new();
    db.load_str("server.db", dump).unwrap();
    let db = Arc::new(db);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let db = db.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let mut persistent = false;
                // Bounded: a client gets at most 1,000 answers.
                for _ in 0..1000 {
                    let Ok(Some(line)) = lines.next_line().await else {
                        return;
                    };
                    if line.trim() == "!!" {
                        persistent = true;
                        continue;
                    }
                    let out = match mode {
                        Mode::Normal => answer(&db, &line),
                        Mode::LengthWithoutNewline => {
                            let a = answer(&db, &line);
                            match a.strip_prefix('A').and_then(|r| r.split_once('\n')) {
                                Some((n, rest)) => {
                                    format!("A{}\n{rest}", n.parse::<usize>().unwrap() - 1)
                                }
                                None => a,
                            }
                        }
                        Mode::Silent => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        Mode::Garbage => "hello there\n".into(),
                        Mode::Truncated => "A100\nAS1 AS2".into(),
                    };
                    if w.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                    if mode == Mode::Truncated || !persistent {
                        return;
                    }
                }
            });
        }
    });
    WhoisServer {
        addr,
        connections,
        task,
    }
}

#[tokio::test]
async fn queries_and_framing() {
    for mode in [Mode::Normal, Mode::LengthWithoutNewline] {
        let server = start_server(DUMP, mode).await;
        let mut c = WhoisClient::new(&server.addr, Duration::from_secs(5));
        let set = c
            .expand_as_set("AS65001:AS-CUSTOMERS")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(set, vec![65002, 65003], "{mode:?}");
        assert_eq!(
            c.expand_as_set("as-sub").await.unwrap().unwrap(),
            vec![65002, 65003]
        );
        assert_eq!(c.expand_as_set("AS-NONE").await.unwrap(), None);
        assert_eq!(c.prefixes_v4(65002).await.unwrap(), vec![p("192.0.2.0/24")]);
        assert_eq!(
            c.prefixes_v6(65002).await.unwrap(),
            vec![p("2001:db8:2::/48")]
        );
        assert_eq!(c.prefixes_v6(65003).await.unwrap(), vec![]);
        assert_eq!(c.prefixes_v4(64999).await.unwrap(), vec![]);
        // Persistent mode: all seven queries on one connection.
        assert_eq!(server.connections.load(Ordering::SeqCst), 1, "{mode:?}");
        match c.query("!x").await {
            Err(WhoisError::Server(m)) => assert!(m.contains("Unrecognized"), "{m}"),
            other => panic!("expected F, got {other:?}"),
        }
        assert!(matches!(
            c.query("!gAS1\n!gAS2").await,
            Err(WhoisError::BadArgument(_))
        ));
        assert!(matches!(
            c.expand_as_set("AS65001").await,
            Err(WhoisError::BadArgument(_))
        ));
    }
    // One-shot mode: a connection per query.
    let server = start_server(DUMP, Mode::Normal).await;
    let mut c = WhoisClient::new(&server.addr, Duration::from_secs(5)).one_shot();
    assert_eq!(
        c.prefixes_v4(65003).await.unwrap(),
        vec![p("198.51.100.0/24")]
    );
    assert_eq!(
        c.prefixes_v4(65001).await.unwrap(),
        vec![p("203.0.113.0/24")]
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn source_selection() {
    let server = start_server(DUMP, Mode::Normal).await;
    let mut c = WhoisClient::new(&server.addr, Duration::from_secs(5))
        .with_sources(vec!["RADB".into(), "TEST".into()]);
    assert_eq!(c.prefixes_v4(65002).await.unwrap(), vec![p("192.0.2.0/24")]);
    assert_eq!(
        c.prefixes_v4(65003).await.unwrap(),
        vec![p("198.51.100.0/24")]
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    // A source the server does not know fails the query instead of
    // silently searching the default sources.
    let mut c =
        WhoisClient::new(&server.addr, Duration::from_secs(5)).with_sources(vec!["NOPE".into()]);
    match c.prefixes_v4(65002).await {
        Err(WhoisError::Server(m)) => assert!(m.contains("NOPE"), "{m}"),
        other => panic!("expected an unknown-source error, got {other:?}"),
    }
    // A name that would inject another query is refused before sending.
    let mut c = WhoisClient::new(&server.addr, Duration::from_secs(5))
        .with_sources(vec!["RADB\n!gAS1".into()]);
    assert!(matches!(
        c.prefixes_v4(65002).await,
        Err(WhoisError::BadArgument(_))
    ));
}

#[tokio::test]
async fn broken_servers_give_errors_not_hangs() {
    let server = start_server(DUMP, Mode::Silent).await;
    let mut c = WhoisClient::new(&server.addr, Duration::from_millis(300));
    let start = Instant::now();
    assert!(matches!(
        c.prefixes_v4(65002).await,
        Err(WhoisError::Timeout)
    ));
    assert!(start.elapsed() < Duration::from_secs(3));

    let server = start_server(DUMP, Mode::Garbage).await;
    let mut c = WhoisClient::new(&server.addr, Duration::from_secs(2));
    assert!(matches!(
        c.prefixes_v4(65002).await,
        Err(WhoisError::Framing(_))
    ));

    let server = start_server(DUMP, Mode::Truncated).await;
    let mut c = WhoisClient::new(&server.addr, Duration::from_secs(2));
    let r = c.expand_as_set("AS-SUB").await;
    assert!(matches!(r, Err(WhoisError::Io(_))), "{r:?}");

    // Nothing listens.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut c = WhoisClient::new(&dead, Duration::from_secs(2));
    assert!(matches!(c.prefixes_v4(1).await, Err(WhoisError::Io(_))));
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("irr-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn members() -> Vec<MemberSpec> {
    vec![
        MemberSpec {
            asn: 65001,
            as_set: Some("AS65001:AS-CUSTOMERS".into()),
        },
        MemberSpec {
            asn: 65003,
            as_set: None,
        },
        MemberSpec {
            asn: 65009,
            as_set: Some("AS-UNKNOWN".into()),
        },
    ]
}

#[tokio::test]
async fn updater_from_whois_keeps_last_good_data() {
    let dir = TempDir::new("whois-updater");
    let server = start_server(DUMP, Mode::Normal).await;
    let source = IrrSource::Whois {
        addr: server.addr.clone(),
        timeout: Duration::from_secs(2),
        sources: vec!["TEST".into()],
    };
    let up = IrrUpdater::new(IrrConfig::new(source, members(), &dir.0));
    let irr = up.handle();
    assert!(irr.last_refresh().is_none());
    let failures = up.refresh_once().await;
    // AS-UNKNOWN is not known to the server (D).
    assert_eq!(failures.len(), 1);
    assert!(irr.last_refresh().is_some());
    let errors = irr.last_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 65009);
    assert!(errors[0].1.contains("AS-UNKNOWN"), "{errors:?}");
    assert_eq!(failures[0].0, 65009);
    assert!(failures[0].1.to_string().contains("AS-UNKNOWN"));
    assert_eq!(irr.origin_allowed(65009, 65009), None);
    // The set member: origins from the set (the member's own AS only if
    // the set contains it).
    assert_eq!(irr.origin_allowed(65001, 65002), Some(true));
    assert_eq!(irr.origin_allowed(65001, 65003), Some(true));
    assert_eq!(irr.origin_allowed(65001, 65001), Some(false));
    assert_eq!(irr.prefix_allowed(65001, &p("192.0.2.0/25")), Some(true));
    assert_eq!(irr.prefix_allowed(65001, &p("2001:db8:2::/48")), Some(true));
    assert_eq!(irr.prefix_allowed(65001, &p("203.0.113.0/24")), Some(false));
    // The member without a set: its own route objects.
    assert_eq!(irr.origin_allowed(65003, 65003), Some(true));
    assert_eq!(irr.origin_allowed(65003, 65002), Some(false));
    assert_eq!(irr.prefix_allowed(65003, &p("198.51.100.0/24")), Some(true));
    assert_eq!(irr.prefix_allowed(65003, &p("192.0.2.0/24")), Some(false));
    // The handle is what the policy holds, as its trait object.
    let view: Arc<dyn policy::IrrView> = Arc::new(irr.clone());
    assert_eq!(view.origin_allowed(65001, 65003), Some(true));
    assert_eq!(view.prefix_allowed(65003, &p("192.0.2.0/24")), Some(false));
    assert_eq!(view.origin_allowed(65009, 65009), None);
    let before = irr.current();

    // The same members from the dump file give the same data.
    let dump = dir.0.join("dump.db");
    std::fs::write(&dump, DUMP).unwrap();
    let from_dump = IrrUpdater::new(IrrConfig::new(
        IrrSource::Dumps(vec![dump]),
        members(),
        dir.0.join("d"),
    ));
    from_dump.refresh_once().await;
    for asn in [65001, 65003] {
        let a = before.member(asn).unwrap();
        let b = from_dump.handle().current().member(asn).cloned().unwrap();
        assert_eq!(
            (&a.origins, &a.prefixes),
            (&b.origins, &b.prefixes),
            "AS{asn}"
        );
    }

    // The server goes away: the refresh fails for everyone, data is kept.
    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let failures = up.refresh_once().await;
    assert_eq!(failures.len(), 3);
    assert_eq!(irr.origin_allowed(65001, 65002), Some(true));
    assert_eq!(irr.prefix_allowed(65003, &p("198.51.100.0/24")), Some(true));
    assert_eq!(irr.current().member(65001), before.member(65001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updater_from_dumps_schedule_demand_and_disk_cache() {
    let dir = TempDir::new("dump-updater");
    let dump = dir.0.join("dump.db");
    std::fs::write(&dump, DUMP).unwrap();
    let cache_dir = dir.0.join("cache");
    let mut cfg = IrrConfig::new(IrrSource::Dumps(vec![dump.clone()]), members(), &cache_dir);
    cfg.refresh = Duration::from_secs(3600);
    let (irr, task) = IrrUpdater::new(cfg.clone()).spawn();
    let mut changes = irr.subscribe();
    let start = Instant::now();
    while irr.origin_allowed(65001, 65002).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "first refresh did not happen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cache_dir.join("irr-AS65001.json").exists());
    assert!(cache_dir.join("irr-AS65003.json").exists());
    assert!(!cache_dir.join("irr-AS65009.json").exists());
    let unknown = irr.current();
    assert!(unknown.member(65009).is_none());

    // On demand: a new route object for AS65003, refreshed without waiting
    // for the hour.
    changes.borrow_and_update();
    std::fs::write(
        &dump,
        format!("{DUMP}\nroute: 100.64.0.0/16\norigin: AS65003\n"),
    )
    .unwrap();
    let start = Instant::now();
    irr.refresh_now();
    tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .expect("a change within 10 s")
        .unwrap();
    eprintln!(
        "MEASURED IRR on-demand refresh (dump) {:?}",
        start.elapsed()
    );
    let g = changes.borrow().clone();
    // AS65003 is in AS65001's set and is itself a member: both changed.
    assert_eq!(*g.changed, vec![65001, 65003]);
    assert_eq!(irr.prefix_allowed(65003, &p("100.64.1.0/24")), Some(true));
    assert_eq!(irr.prefix_allowed(65001, &p("100.64.1.0/24")), Some(true));

    // A broken dump: every member keeps its last good data.
    std::fs::write(&dump, "route: 10.0.0.0/8\nthis is not rpsl\n").unwrap();
    irr.refresh_now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(irr.prefix_allowed(65003, &p("100.64.1.0/24")), Some(true));
    task.abort();

    // Restart with an unreadable source: the disk cache is used at once.
    let mut cfg2 = cfg.clone();
    cfg2.source = IrrSource::Dumps(vec![dir.0.join("missing.db")]);
    let up = IrrUpdater::new(cfg2);
    let irr2 = up.handle();
    assert_eq!(irr2.prefix_allowed(65003, &p("100.64.1.0/24")), Some(true));
    assert_eq!(irr2.origin_allowed(65001, 65003), Some(true));
    let age = irr2
        .current()
        .member(65001)
        .unwrap()
        .age(std::time::SystemTime::now());
    assert!(age < Duration::from_secs(60), "age {age:?}");
    let failures = up.refresh_once().await;
    assert_eq!(failures.len(), 3);
    assert!(
        failures[0].1.to_string().contains("missing.db"),
        "{}",
        failures[0].1
    );
    assert_eq!(irr2.prefix_allowed(65003, &p("100.64.1.0/24")), Some(true));

    // A member whose AS-SET changed in the configuration does not reuse
    // cached data built from the old set.
    let mut cfg3 = cfg;
    cfg3.members[0].as_set = Some("AS-SUB".into());
    let up = IrrUpdater::new(cfg3);
    assert_eq!(up.handle().origin_allowed(65001, 65002), None);
    assert_eq!(up.handle().origin_allowed(65003, 65003), Some(true));
}
