//! RPSL parsing and AS-SET expansion on small dumps written here, and on a
//! larger generated one for the depth and loop cases.

use irr::{parse_objects, ExpandError, IrrConfig, IrrDb, IrrSource, Member, MemberSpec};

fn p(s: &str) -> bgp_wire::Prefix {
    s.parse().unwrap()
}

const DUMP: &str = "\
# A comment line at the top
% a whois server remark

route:          192.0.2.0/24
descr:          first line
                second line   # trailing comment
+               third line
Origin:         AS65001
mnt-by:         MAINT-X
source:         TEST

route6:         2001:db8::/32
origin:         as65001
source:         TEST

ROUTE:          198.51.100.0/24
origin:         AS65002

route:          203.0.113.0/24
origin:         AS65003

as-set:         AS65001:AS-CUSTOMERS
descr:          hierarchical name, members over several lines and attributes
members:        AS65002, AS65003
members:        AS-OTHER,
                AS65004 AS65005
+               AS65001:AS-EMPTY
members:        AS65002 # a duplicate
mbrs-by-ref:    ANY

as-set:         AS-OTHER
members:        AS65010, RS-NOT-AN-AS-SET, AS65001:AS-CUSTOMERS

as-set:         AS65001:AS-EMPTY

aut-num:        AS65001
as-name:        EXAMPLE-NET
member-of:      AS-OTHER
import:         from AS65002 accept ANY
";

#[test]
fn objects_attributes_continuations_comments() {
    let objs = parse_objects("dump.db", DUMP).unwrap();
    assert_eq!(objs.len(), 8);
    let r = &objs[0];
    assert_eq!(r.class(), "route");
    assert_eq!(r.key(), "192.0.2.0/24");
    assert_eq!(r.line(), 4);
    let descr = r.values("descr").next().unwrap();
    assert_eq!(descr.value, "first line second line third line");
    // Attribute names are case-insensitive (stored lower case).
    assert_eq!(r.values("origin").next().unwrap().value, "AS65001");
    assert_eq!(objs[2].class(), "route");
}

#[test]
fn database_routes_sets_autnums() {
    let mut db = IrrDb::new();
    db.load_str("dump.db", DUMP).unwrap();
    let mut r1: Vec<_> = db.routes_of(65001).collect();
    r1.sort();
    assert_eq!(r1, vec![p("192.0.2.0/24"), p("2001:db8::/32")]);
    let set = db.as_set("as65001:as-customers").unwrap();
    assert_eq!(
        set.members,
        vec![
            Member::Asn(65002),
            Member::Asn(65003),
            Member::Set("AS-OTHER".into()),
            Member::Asn(65004),
            Member::Asn(65005),
            Member::Set("AS65001:AS-EMPTY".into()),
            Member::Asn(65002),
        ]
    );
    assert_eq!(set.defined_at, "dump.db:22");
    assert!(db
        .warnings
        .iter()
        .any(|w| w.contains("RS-NOT-AN-AS-SET") && w.starts_with("dump.db:32:")));
    let an = db.aut_num(65001).unwrap();
    assert_eq!(an.as_name.as_deref(), Some("EXAMPLE-NET"));
    assert_eq!(an.member_of, vec!["AS-OTHER".to_string()]);
    assert_eq!(db.counts(), (4, 3, 1));
}

#[test]
fn expansion_with_loop_and_empty_set() {
    let mut db = IrrDb::new();
    db.load_str("dump.db", DUMP).unwrap();
    let e = db.expand("AS65001:AS-CUSTOMERS", 10).unwrap();
    assert_eq!(
        e.asns.into_iter().collect::<Vec<_>>(),
        vec![65002, 65003, 65004, 65005, 65010]
    );
    // AS-OTHER refers back to AS65001:AS-CUSTOMERS.
    assert_eq!(
        e.loops,
        vec![vec![
            "AS65001:AS-CUSTOMERS".to_string(),
            "AS-OTHER".into(),
            "AS65001:AS-CUSTOMERS".into()
        ]]
    );
    assert!(e.missing.is_empty());
    assert_eq!(e.sets, 3);
    assert_eq!(
        db.expand("AS-NOPE", 10),
        Err(ExpandError::UnknownSet("AS-NOPE".into()))
    );
}

#[test]
fn errors_name_file_and_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "route: 192.0.2.0/24\norigin: AS1\nno colon here\n",
            3,
            "attribute: value",
        ),
        ("  continuation first\n", 1, "continuation"),
        ("route: 192.0.2.0/33\norigin: AS1\n", 1, "route"),
        (
            "route: 192.0.2.0/24\norigin: 65001\n",
            2,
            "not an AS number",
        ),
        ("route: 192.0.2.0/24\ndescr: x\n", 1, "no origin"),
        (
            "route6: 192.0.2.0/24\norigin: AS1\n",
            1,
            "wrong address family",
        ),
        (
            "route: 2001:db8::/32\norigin: AS1\n",
            1,
            "wrong address family",
        ),
        (
            "\n\nas-set: AS65001\nmembers: AS1\n",
            3,
            "not an as-set name",
        ),
        ("aut-num: ASX\n", 1, "not an AS number"),
        ("bad name!: x\n", 1, "not an attribute name"),
    ];
    for (text, line, what) in cases {
        let mut db = IrrDb::new();
        let e = db.load_str("t.db", text).unwrap_err();
        assert_eq!(e.line, *line, "{text:?}: {e}");
        assert!(e.to_string().starts_with(&format!("t.db:{line}: ")), "{e}");
        assert!(e.to_string().contains(what), "{text:?}: {e}");
    }
}

#[test]
fn files_and_missing_file() {
    let dir = std::env::temp_dir().join(format!("irr-rpsl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("a.db");
    std::fs::write(&f, DUMP).unwrap();
    let mut db = IrrDb::new();
    db.load_file(&f).unwrap();
    assert_eq!(db.counts().0, 4);
    let e = db.load_file(&dir.join("missing.db")).unwrap_err();
    assert!(e.to_string().contains("missing.db"), "{e}");
    // Bytes that are not UTF-8 in a remark do not stop the parse.
    std::fs::write(&f, b"route: 10.0.0.0/8\ndescr: caf\xe9\norigin: AS7\n").unwrap();
    let mut db = IrrDb::new();
    db.load_file(&f).unwrap();
    assert_eq!(db.routes_of(7).count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A generated dump: a chain of `depth` nested sets, each adding one AS and
/// 10 route objects per AS, plus a ring of sets referring to each other.
fn generated(depth: usize, ring: usize) -> String {
    let mut s = String::new();
    for i in 0..depth {
        let asn = 100_000 + i as u32;
        for j in 0..10u32 {
            s.push_str(&format!(
                "route: 10.{}.{}.0/24\norigin: AS{asn}\n\n",
                i % 250,
                j
            ));
        }
        s.push_str(&format!("as-set: AS-CHAIN{i}\nmembers: AS{asn}"));
        if i + 1 < depth {
            s.push_str(&format!(", AS-CHAIN{}", i + 1));
        }
        s.push_str("\n\n");
    }
    for i in 0..ring {
        s.push_str(&format!(
            "as-set: AS1:AS-RING{i}\nmembers: AS{}, AS1:AS-RING{}\n\n",
            200_000 + i,
            (i + 1) % ring
        ));
    }
    s
}

#[test]
fn generated_depth_limit_and_ring() {
    let mut db = IrrDb::new();
    db.load_str("gen.db", &generated(30, 50)).unwrap();
    assert_eq!(db.counts(), (300, 80, 0));
    // 30 nested sets: fine with a limit of 30, an error with 20.
    let e = db.expand("AS-CHAIN0", 30).unwrap();
    assert_eq!(e.asns.len(), 30);
    match db.expand("AS-CHAIN0", 20) {
        Err(ExpandError::TooDeep { limit, path }) => {
            assert_eq!(limit, 20);
            assert_eq!(path.len(), 21);
            assert_eq!(path[20], "AS-CHAIN20");
        }
        other => panic!("expected TooDeep, got {other:?}"),
    }
    // Starting lower in the chain stays within the limit.
    assert_eq!(db.expand("AS-CHAIN15", 20).unwrap().asns.len(), 15);
    // A ring of 50 sets: every AS once, one loop, no endless recursion.
    let e = db.expand("as1:as-ring7", 100).unwrap();
    assert_eq!(e.asns.len(), 50);
    assert_eq!(e.loops.len(), 1);
    assert_eq!(e.loops[0].first(), e.loops[0].last());
    // The ring is 50 deep along its path: the limit applies there too.
    assert!(matches!(
        db.expand("AS1:AS-RING0", 10),
        Err(ExpandError::TooDeep { .. })
    ));

    // Per-member data from the database.
    let cfg = IrrConfig::new(IrrSource::Dumps(vec![]), vec![], "/nonexistent");
    let m = irr::member_from_db(
        &cfg,
        &db,
        &MemberSpec {
            asn: 100_000,
            as_set: Some("AS-CHAIN25".into()),
        },
    )
    .unwrap();
    assert_eq!(m.origins.len(), 5);
    assert_eq!(m.prefixes.len(), 50);
    assert!(m.prefixes.covers(&p("10.25.3.0/24")));
    assert!(m.prefixes.covers(&p("10.25.3.128/25")));
    assert!(!m.prefixes.covers(&p("10.24.3.0/24")));
    // Without an AS-SET: the member's own route objects.
    let own = irr::member_from_db(
        &cfg,
        &db,
        &MemberSpec {
            asn: 100_003,
            as_set: None,
        },
    )
    .unwrap();
    assert_eq!(own.origins.into_iter().collect::<Vec<_>>(), vec![100_003]);
    assert_eq!(own.prefixes.len(), 10);
}
