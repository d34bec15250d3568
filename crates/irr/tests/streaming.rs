//! The streaming loader on a dump with tricky RPSL (tests/data/tricky.rpsl:
//! continuations with `+`, spaces and tabs, comments and server remarks,
//! mixed-case attribute names, CRLF lines, bytes that are not UTF-8,
//! route6 with a long prefix, duplicate objects, two origins on one
//! object, a redefined as-set, as-set loops and a missing nested set, a
//! last object without a final newline).
//!
//! The expected per-member data below is what the crate's former loader
//! (whole file parsed into owned objects, a HashSet per member) gave for
//! this file; it was printed with that code once and written here.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use irr::rpsl::ObjectReader;
use irr::{member_from_db, IrrConfig, IrrDb, IrrSource, IrrUpdater, MemberIrr, MemberSpec};

fn tricky() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tricky.rpsl")
}

fn members() -> Vec<MemberSpec> {
    [
        (65001, Some("AS65001:AS-CUSTOMERS")),
        (65003, None),
        (65010, Some("as-other")),
        (64500, Some("AS-REDEFINED")),
        (65020, Some("AS-LOOP1")),
        (65030, Some("AS-UNKNOWN")),
    ]
    .into_iter()
    .map(|(asn, set)| MemberSpec {
        asn,
        as_set: set.map(str::to_owned),
    })
    .collect()
}

/// A member, its origins, prefixes and notes.
type Expected = (u32, Vec<u32>, Vec<&'static str>, Vec<&'static str>);

/// The members' data as the former loader gave it.
fn expected() -> Vec<Expected> {
    let wide = vec![
        "100.64.0.0/10",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "203.0.113.0/25",
        "203.0.113.128/25",
        "2001:db8:3::/48",
    ];
    let as65003 = vec![
        "198.51.100.0/24",
        "203.0.113.0/24",
        "203.0.113.0/25",
        "2001:db8:3::/48",
    ];
    let origins = vec![65002, 65003, 65004, 65005, 65010, 65546];
    vec![
        (
            65001,
            origins.clone(),
            wide.clone(),
            vec![
                "nested as-set AS65001:AS-MISSING is not defined",
                "as-set loop AS65001:AS-CUSTOMERS → AS-OTHER → AS65001:AS-CUSTOMERS",
                "as-set loop AS65001:AS-CUSTOMERS → AS-OTHER → AS-LOOP1 → AS-LOOP2 → AS-LOOP1",
            ],
        ),
        (65003, vec![65003], as65003.clone(), vec![]),
        (
            65010,
            origins,
            wide,
            vec![
                "nested as-set AS65001:AS-MISSING is not defined",
                "as-set loop AS-OTHER → AS65001:AS-CUSTOMERS → AS-OTHER",
                "as-set loop AS-OTHER → AS-LOOP1 → AS-LOOP2 → AS-LOOP1",
            ],
        ),
        (64500, vec![65003], as65003, vec![]),
        (
            65020,
            vec![65546],
            vec!["203.0.113.128/25"],
            vec!["as-set loop AS-LOOP1 → AS-LOOP2 → AS-LOOP1"],
        ),
    ]
}

fn check_member(m: &MemberIrr) {
    let Some((_, origins, prefixes, notes)) = expected().into_iter().find(|e| e.0 == m.asn) else {
        panic!("AS{} should have no data", m.asn);
    };
    assert_eq!(
        m.origins,
        origins.into_iter().collect::<BTreeSet<_>>(),
        "AS{}",
        m.asn
    );
    let got: Vec<String> = m
        .prefixes
        .prefixes()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(got, prefixes, "AS{}", m.asn);
    assert_eq!(m.notes, notes, "AS{}", m.asn);
}

fn check_db(db: &IrrDb, source: &str) {
    assert_eq!(db.counts(), (11, 6, 1));
    assert_eq!(
        db.warnings,
        vec![
            format!("{source}:57: as-set AS-OTHER: member \"RS-NOT-AN-AS-SET\" skipped (not an AS or as-set)"),
            format!("{source}:70: as-set AS-REDEFINED redefined (first at {source}:67); the later one is used"),
        ]
    );
    let own: Vec<String> = db.routes_of(65001).map(|p| p.to_string()).collect();
    assert_eq!(
        own,
        vec!["192.0.2.0/24", "2001:db8:1::/48", "2001:db8:1:8000::/65"]
    );
    let cfg = IrrConfig::new(IrrSource::Dumps(vec![]), vec![], "/nonexistent");
    for spec in members() {
        match member_from_db(&cfg, db, &spec) {
            Ok(m) => check_member(&m),
            Err(e) => {
                assert_eq!(spec.asn, 65030);
                assert_eq!(
                    e.to_string(),
                    "as-set AS-UNKNOWN is not defined in the IRR data"
                );
            }
        }
    }
}

#[test]
fn tricky_dump_gives_the_former_per_member_data() {
    let path = tricky();
    let source = path.display().to_string();
    let mut db = IrrDb::new();
    db.load_file(&path).unwrap();
    check_db(&db, &source);

    // Buffers of a few bytes: lines and objects span many reads.
    let file = std::fs::File::open(&path).unwrap();
    let mut db = IrrDb::new();
    db.load(ObjectReader::new("tiny", BufReader::with_capacity(5, file)))
        .unwrap();
    check_db(&db, "tiny");

    // Loading the same file twice changes nothing but the warnings.
    let mut db = IrrDb::new();
    db.load_file(&path).unwrap();
    db.load_file(&path).unwrap();
    assert_eq!(db.counts(), (11, 6, 1));
}

#[test]
fn an_error_after_the_tricky_part_names_its_line() {
    let mut bytes = std::fs::read(tricky()).unwrap();
    let last_line = bytes.split(|b| *b == b'\n').count();
    bytes.extend_from_slice(b"\n\nroute: 192.0.2.0/33\norigin: AS1\n");
    let dir = std::env::temp_dir().join(format!("irr-streaming-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("broken.rpsl");
    std::fs::write(&f, &bytes).unwrap();
    let mut db = IrrDb::new();
    let e = db.load_file(&f).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    let want = format!("{}:{}: route: ", f.display(), last_line + 2);
    assert!(e.starts_with(&want), "{e} (expected {want}...)");
    // The objects before the error were read.
    assert_eq!(db.counts().0, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updater_on_the_tricky_dump() {
    let dir = std::env::temp_dir().join(format!("irr-streaming-up-{}", std::process::id()));
    let cfg = IrrConfig::new(
        IrrSource::Dumps(vec![tricky()]),
        members(),
        dir.join("cache"),
    );
    let up = IrrUpdater::new(cfg.clone());
    let failures = up.refresh_once().await;
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, 65030);
    let snap = up.handle().current();
    assert_eq!(snap.len(), 5);
    for e in expected() {
        check_member(snap.member(e.0).unwrap());
    }
    // Read back from the disk cache by a new updater: the same data.
    let again = IrrUpdater::new(cfg).handle().current();
    assert_eq!(again.len(), 5);
    for e in expected() {
        let (a, b) = (again.member(e.0).unwrap(), snap.member(e.0).unwrap());
        assert_eq!(
            (&a.origins, &a.prefixes, &a.notes),
            (&b.origins, &b.prefixes, &b.notes)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
