//! The ClickHouse sink holds the same aggregates as the SQLite store for
//! the same input, against Debian's `clickhouse-server` (18.16) started
//! here with a config of our own on free 127.0.0.1 ports. A missing server
//! binary fails the test (scripts/install-deps installs it).

mod support;

use flow::{Family, Retention};
use flowstore::{ClickhouseStore, SqliteStore, Store};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{dataset, learned_macs, write_all, MINUTES, T0};

struct Server {
    child: Child,
    dir: PathBuf,
    http_port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn start() -> Server {
    let bin = ["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("clickhouse-server is not installed: run scripts/install-deps (Debian package clickhouse-server)")
        });
    let dir =
        std::env::temp_dir().join(format!("caribix-ch-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let (http_port, tcp_port) = (free_port(), free_port());
    let d = dir.display();
    std::fs::write(
        dir.join("config.xml"),
        format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog></logger>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
</yandex>
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("users.xml"),
        r#"<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"#,
    )
    .unwrap();
    let child = Command::new(bin)
        .arg(format!("--config-file={d}/config.xml"))
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
    let mut s = Server {
        child,
        dir,
        http_port,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect(("127.0.0.1", http_port)).is_ok()
            && ClickhouseStore::open("127.0.0.1", http_port, "probe").is_ok()
        {
            return s;
        }
        if let Ok(Some(status)) = s.child.try_wait() {
            let log = std::fs::read_to_string(s.dir.join("error.log")).unwrap_or_default();
            panic!("clickhouse-server exited with {status}: {log}");
        }
        assert!(
            Instant::now() < deadline,
            "clickhouse-server did not answer on 127.0.0.1:{http_port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn clickhouse_holds_the_same_aggregates_as_sqlite() {
    let server = start();
    let (agg, tally) = dataset();
    let mut sqlite = SqliteStore::in_memory().unwrap();
    let mut ch = ClickhouseStore::open("127.0.0.1", server.http_port, "caribix").unwrap();
    write_all(&mut sqlite, &agg, &tally);
    write_all(&mut ch, &agg, &tally);
    // Flushing again must not count twice, and must replace a minute.
    write_all(&mut ch, &agg, &tally);
    for (from, to) in [
        (0, 1u64 << 40),
        (T0, T0 + 60),
        (T0 + 120, T0 + 420),
        (T0 + 600, T0 + MINUTES * 60),
    ] {
        let members = ch.members(from, to).unwrap();
        assert!(!members.is_empty());
        assert_eq!(
            members,
            sqlite.members(from, to).unwrap(),
            "members [{from}, {to})"
        );
        assert_eq!(
            ch.matrix(from, to).unwrap(),
            sqlite.matrix(from, to).unwrap(),
            "matrix"
        );
        let sessions = ch.sessions(from, to).unwrap();
        assert!(!sessions.is_empty());
        assert_eq!(sessions, sqlite.sessions(from, to).unwrap(), "sessions");
        let local = ch.local(from, to).unwrap();
        assert!(local.tromboned_bytes > 0 && !local.pairs.is_empty());
        assert_eq!(local, sqlite.local(from, to).unwrap(), "local");
    }
    ch.write_minute(T0, None, None).unwrap();
    sqlite.write_minute(T0, None, None).unwrap();
    assert!(ch.members(T0, T0 + 60).unwrap().is_empty());
    assert_eq!(
        ch.members(0, 1 << 40).unwrap(),
        sqlite.members(0, 1 << 40).unwrap()
    );
    assert_eq!(
        ch.local(0, 1 << 40).unwrap(),
        sqlite.local(0, 1 << 40).unwrap()
    );
    // Minutes read back alike (what a restarted collector carries on from).
    for m in 0..MINUTES {
        let start = T0 + m * 60;
        let got = ch.read_minute(start).unwrap();
        assert_eq!(got, sqlite.read_minute(start).unwrap(), "minute {start}");
        assert!(got.1.is_some() || start == T0, "minute {start}");
    }
    // Learned MACs: the same snapshots as SQLite, the latest one read.
    assert!(ch.load_macs().unwrap().is_empty());
    let macs = learned_macs(6, T0 * 1000);
    for snapshot in [&macs[..], &macs[..2], &[], &macs[1..]] {
        ch.save_macs(snapshot).unwrap();
        sqlite.save_macs(snapshot).unwrap();
        let got = ch.load_macs().unwrap();
        assert_eq!(got, sqlite.load_macs().unwrap());
        assert_eq!(got, snapshot.to_vec());
    }
    // The hourly cleanup drops superseded snapshots, never the latest.
    ch.expire(T0 + 86400, flow::Retention::default()).unwrap();
    assert_eq!(ch.load_macs().unwrap(), macs[1..].to_vec());
    // A database name that would need quoting is refused before sending.
    let e = ClickhouseStore::open("127.0.0.1", server.http_port, "no-such db").unwrap_err();
    assert!(e.to_string().contains("bad flow store"), "{e}");
}

/// Every query the API makes, over windows aligned and not aligned to
/// minutes, hours and days, must give the same answer from both stores.
fn same_answers(ch: &mut ClickhouseStore, sqlite: &mut SqliteStore, when: &str) {
    let hour = T0 - T0 % 3600;
    let day = T0 - T0 % 86400;
    for (from, to) in [
        (0, 1u64 << 40),
        (T0, T0 + 60),
        (T0 + 60, T0 + 120),
        (T0 + 120, T0 + 420),
        (T0 + 600, T0 + MINUTES * 60),
        (hour, hour + 3600),
        (hour + 1, hour + 7200),
        (day, day + 86400),
        (day + 1, day + 2 * 86400),
    ] {
        assert_eq!(
            ch.members(from, to).unwrap(),
            sqlite.members(from, to).unwrap(),
            "{when}: members [{from}, {to})"
        );
        assert_eq!(
            ch.matrix(from, to).unwrap(),
            sqlite.matrix(from, to).unwrap(),
            "{when}: matrix [{from}, {to})"
        );
        assert_eq!(
            ch.local(from, to).unwrap(),
            sqlite.local(from, to).unwrap(),
            "{when}: local [{from}, {to})"
        );
        assert_eq!(
            ch.sessions(from, to).unwrap(),
            sqlite.sessions(from, to).unwrap(),
            "{when}: sessions [{from}, {to})"
        );
        for fam in [Family::Ipv4, Family::Ipv6] {
            assert_eq!(
                ch.members_of(from, to, Some(fam)).unwrap(),
                sqlite.members_of(from, to, Some(fam)).unwrap(),
                "{when}: {fam:?} members [{from}, {to})"
            );
            assert_eq!(
                ch.matrix_of(from, to, Some(fam)).unwrap(),
                sqlite.matrix_of(from, to, Some(fam)).unwrap(),
                "{when}: {fam:?} matrix [{from}, {to})"
            );
        }
    }
}

#[test]
fn clickhouse_rolls_up_and_expires_exactly_like_sqlite() {
    let server = start();
    let (agg, tally) = dataset();
    let mut sqlite = SqliteStore::in_memory().unwrap();
    let mut ch = ClickhouseStore::open("127.0.0.1", server.http_port, "rollups").unwrap();
    write_all(&mut sqlite, &agg, &tally);
    write_all(&mut ch, &agg, &tally);
    let all = (0, 1u64 << 40);
    let before = sqlite.members(all.0, all.1).unwrap();
    assert!(!before.is_empty());
    same_answers(&mut ch, &mut sqlite, "before any expiry");
    let r = Retention {
        minutes_for: 300,
        hours_for: 2 * 86400,
        days_for: 10 * 86400,
    };
    // Half the minutes fold into their hour, the same call again changes
    // nothing, the rest fold into the same hour (added to what it holds),
    // hours fold into a day, then the day passes its retention.
    for (now, rolled) in [
        (T0 + 660, true),
        (T0 + 660, true),
        (T0 + 7200 + MINUTES * 60, true),
        (T0 + 3 * 86400, true),
        (T0 + 3 * 86400 + 60, true),
        (T0 + 12 * 86400, false),
    ] {
        sqlite.expire(now, r).unwrap();
        ch.expire(now, r).unwrap();
        let when = format!("after expire at T0+{}", now - T0);
        same_answers(&mut ch, &mut sqlite, &when);
        if rolled {
            // Totals kept; the first minute's window now falls inside a
            // coarser bucket that starts before it.
            assert_eq!(ch.members(all.0, all.1).unwrap(), before, "{when}");
            assert!(ch.members(T0, T0 + 60).unwrap().is_empty(), "{when}");
        }
    }
    assert!(ch.members(all.0, all.1).unwrap().is_empty());
    assert_eq!(ch.local(all.0, all.1).unwrap().total_bytes, 0);
    // The expired rows leave the disk too (an asynchronous mutation).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = ch.stored_rows().unwrap();
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} rows still stored 30 s after they expired"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
