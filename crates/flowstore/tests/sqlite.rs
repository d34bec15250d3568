//! SQLite store round trips: what the aggregator and tally hold is what the
//! store returns, over any window; writing a minute again replaces it;
//! rollups to hours and days keep the totals; retention drops old days.

mod support;

use flow::{Family, Retention};
use flowstore::{MatrixRow, MemberRow, SessionRow, SqliteStore, Store, StoreUrl};
use support::{dataset, learned_macs, write_all, MINUTES, T0};

fn expected_members(
    agg: &flow::Aggregator,
    from: u64,
    to: u64,
    family: Option<Family>,
) -> Vec<MemberRow> {
    let mut out = std::collections::BTreeMap::<u32, MemberRow>::new();
    for b in agg.rollup(flow::Resolution::Minute, from, to) {
        for ((asn, fam), c) in &b.members {
            if family.is_some_and(|f| f != *fam) {
                continue;
            }
            let e = out.entry(*asn).or_insert(MemberRow {
                asn: *asn,
                ..MemberRow::default()
            });
            e.in_bytes += c.inbound.bytes;
            e.out_bytes += c.outbound.bytes;
            e.in_packets += c.inbound.packets;
            e.out_packets += c.outbound.packets;
        }
    }
    out.into_values().collect()
}

fn expected_matrix(
    agg: &flow::Aggregator,
    from: u64,
    to: u64,
    family: Option<Family>,
) -> Vec<MatrixRow> {
    let mut out = std::collections::BTreeMap::<(u32, u32), MatrixRow>::new();
    for b in agg.rollup(flow::Resolution::Minute, from, to) {
        for ((s, d, fam), c) in &b.matrix {
            if family.is_some_and(|f| f != *fam) {
                continue;
            }
            let e = out.entry((*s, *d)).or_insert(MatrixRow {
                src_asn: *s,
                dst_asn: *d,
                ..MatrixRow::default()
            });
            e.bytes += c.bytes;
            e.packets += c.packets;
        }
    }
    out.into_values().collect()
}

/// Sessions of the aggregator's minute buckets in `[from, to)`, with the
/// first bucket's start and the last bucket's end.
fn expected_sessions(agg: &flow::Aggregator, from: u64, to: u64) -> Vec<SessionRow> {
    let mut out = std::collections::BTreeMap::new();
    for b in agg.rollup(flow::Resolution::Minute, from, to) {
        for (k, c) in &b.sessions {
            let e = out.entry(*k).or_insert(SessionRow {
                a_asn: k.0,
                b_asn: k.1,
                a_ip: k.2,
                b_ip: k.3,
                first_seen: b.start,
                last_seen: b.start + b.seconds,
                observations: 0,
                packets: 0,
            });
            e.first_seen = e.first_seen.min(b.start);
            e.last_seen = e.last_seen.max(b.start + b.seconds);
            e.observations += c.observations;
            e.packets += c.packets;
        }
    }
    let mut v: Vec<SessionRow> = out.into_values().collect();
    v.sort();
    v
}

#[test]
fn round_trip_over_windows() {
    let (agg, tally) = dataset();
    let mut st = SqliteStore::in_memory().unwrap();
    write_all(&mut st, &agg, &tally);
    for (from, to) in [
        (0, u64::MAX >> 1),
        (T0, T0 + 60),
        (T0 + 120, T0 + 420),
        (T0 + 600, T0 + MINUTES * 60),
    ] {
        let members = st.members(from, to).unwrap();
        assert_eq!(
            members,
            expected_members(&agg, from, to, None),
            "[{from}, {to})"
        );
        assert!(!members.is_empty());
        assert_eq!(
            st.matrix(from, to).unwrap(),
            expected_matrix(&agg, from, to, None)
        );
        for fam in [Family::Ipv4, Family::Ipv6, Family::Other] {
            let m = st.members_of(from, to, Some(fam)).unwrap();
            assert_eq!(m, expected_members(&agg, from, to, Some(fam)), "{fam:?}");
            assert_eq!(m.is_empty(), fam == Family::Other, "{fam:?}: {m:?}");
            assert_eq!(
                st.matrix_of(from, to, Some(fam)).unwrap(),
                expected_matrix(&agg, from, to, Some(fam)),
                "{fam:?}"
            );
        }
        let sessions = st.sessions(from, to).unwrap();
        assert!(!sessions.is_empty(), "[{from}, {to})");
        assert_eq!(sessions, expected_sessions(&agg, from, to));
        let local = st.local(from, to).unwrap();
        let want = tally.sum(from, to);
        assert_eq!(local, want);
        assert!(local.local_bytes > 0 && local.tromboned_bytes > 0 && !local.pairs.is_empty());
    }
    assert!(st.members(T0 - 600, T0).unwrap().is_empty());
}

#[test]
fn writing_a_minute_again_replaces_it() {
    let (agg, tally) = dataset();
    let mut st = SqliteStore::in_memory().unwrap();
    write_all(&mut st, &agg, &tally);
    write_all(&mut st, &agg, &tally);
    let all = (0, u64::MAX >> 1);
    assert_eq!(
        st.members(all.0, all.1).unwrap(),
        expected_members(&agg, all.0, all.1, None)
    );
    assert_eq!(st.local(all.0, all.1).unwrap(), tally.sum(all.0, all.1));
    // A minute flushed again with less traffic shows only the new figures.
    st.write_minute(T0, None, None).unwrap();
    assert_eq!(
        st.members(T0, T0 + 60).unwrap(),
        Vec::<MemberRow>::new(),
        "an empty rewrite clears the minute"
    );
    assert_eq!(st.local(T0, T0 + 60).unwrap().total_bytes, 0);
}

#[test]
fn rollups_keep_totals_and_retention_drops_old_days() {
    let (agg, tally) = dataset();
    let dir = std::env::temp_dir().join(format!("caribix-flowstore-{}", std::process::id()));
    let path = dir.join("flows.db");
    let url: StoreUrl = format!("sqlite:{}", path.display()).parse().unwrap();
    let mut st = flowstore::open(&url).unwrap();
    write_all(st.as_mut(), &agg, &tally);
    let all = (0, u64::MAX >> 1);
    let before = (
        st.members(all.0, all.1).unwrap(),
        st.matrix(all.0, all.1).unwrap(),
        st.local(all.0, all.1).unwrap(),
    );
    let r = Retention {
        minutes_for: 3600,
        hours_for: 2 * 86400,
        days_for: 10 * 86400,
    };
    // Two hours later: minutes become hours. Three days later: days.
    for now in [T0 + 7200 + MINUTES * 60, T0 + 3 * 86400] {
        st.expire(now, r).unwrap();
        assert_eq!(st.members(all.0, all.1).unwrap(), before.0, "at {now}");
        assert_eq!(st.matrix(all.0, all.1).unwrap(), before.1);
        assert_eq!(st.local(all.0, all.1).unwrap(), before.2);
        // The minute window now falls inside a coarser bucket that starts
        // before it: rolled-up data is found by its bucket's start.
        assert!(st.members(T0 + 60, T0 + 120).unwrap().is_empty());
    }
    drop(st);
    // Reopening finds the same rows; expiry past the day retention empties it.
    let mut st = flowstore::open(&url).unwrap();
    assert_eq!(st.members(all.0, all.1).unwrap(), before.0);
    st.expire(T0 + 12 * 86400, r).unwrap();
    assert!(st.members(all.0, all.1).unwrap().is_empty());
    assert_eq!(st.local(all.0, all.1).unwrap().total_bytes, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn store_urls() {
    assert_eq!(
        "sqlite:data/flows.db".parse::<StoreUrl>().unwrap(),
        StoreUrl::Sqlite("data/flows.db".into())
    );
    assert_eq!(
        "clickhouse://127.0.0.1:8123/ixp"
            .parse::<StoreUrl>()
            .unwrap(),
        StoreUrl::Clickhouse {
            host: "127.0.0.1".into(),
            port: 8123,
            database: "ixp".into()
        }
    );
    for bad in [
        "sqlite:",
        "postgres://x",
        "clickhouse://:1/x",
        "clickhouse://h:x/db",
        "clickhouse://h:1/a;b",
    ] {
        let e = bad.parse::<StoreUrl>().unwrap_err().to_string();
        assert!(e.contains("expected sqlite:PATH"), "{bad}: {e}");
    }
}

#[test]
fn learned_macs_are_saved_and_loaded() {
    let dir = std::env::temp_dir().join(format!("caribix-flowstore-macs-{}", std::process::id()));
    let path = dir.join("flows.db");
    let url: StoreUrl = format!("sqlite:{}", path.display()).parse().unwrap();
    let mut st = flowstore::open(&url).unwrap();
    assert!(st.load_macs().unwrap().is_empty());
    let macs = learned_macs(6, T0 * 1000);
    st.save_macs(&macs).unwrap();
    drop(st);
    // A restart finds them; a save replaces the whole table.
    let mut st = flowstore::open(&url).unwrap();
    assert_eq!(st.load_macs().unwrap(), macs);
    st.save_macs(&macs[..2]).unwrap();
    assert_eq!(st.load_macs().unwrap(), macs[..2].to_vec());
    st.save_macs(&[]).unwrap();
    assert!(st.load_macs().unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stored_minute_reads_back_as_it_was_written() {
    let (agg, tally) = dataset();
    let mut st = SqliteStore::in_memory().unwrap();
    write_all(&mut st, &agg, &tally);
    for m in 0..MINUTES {
        let start = T0 + m * 60;
        let (b, t) = st.read_minute(start).unwrap();
        let (b, want) = (
            b.expect("the bucket"),
            agg.minutes().find(|b| b.start == start).expect("in memory"),
        );
        assert_eq!(
            (b.start, b.seconds, &b.members, &b.matrix, &b.sessions),
            (
                want.start,
                want.seconds,
                &want.members,
                &want.matrix,
                &want.sessions
            ),
            "minute {start}"
        );
        assert_eq!(t.as_ref(), tally.minute(start), "tally of minute {start}");
    }
    assert_eq!(st.read_minute(T0 - 60).unwrap(), (None, None));
}
