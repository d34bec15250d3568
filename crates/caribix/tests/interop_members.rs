//! Interop (issue 3): `caribix run` as the route server of a peering LAN
//! whose five members run BIRD 2, FRR, GoBGP, OpenBGPD and ExaBGP from
//! Debian's packages, each with an IPv4 and an IPv6 session. Everything is
//! checked on each member's own RIB through its own CLI, and the sessions
//! also through caribix's `/api/v1/neighbors`:
//!
//! - every session Established;
//! - every member receives every other member's routes and never its own;
//!   AS_PATH without the route server's AS; NEXT_HOP, MED, standard,
//!   extended and large communities unchanged; IPv6 routes with the
//!   member's IPv6 next hop (RFC 7947 §2.2, §2.3, §2.4);
//! - a prefix announced by three members reaches every member from exactly
//!   one other announcer, the best path (lowest MED, all else equal), and
//!   never from itself;
//! - 4-octet ASNs: GoBGP runs AS 4200000001 and announces a path with
//!   4-octet ASNs; ExaBGP runs a 2-octet speaker (`asn4 disable`) and
//!   announces a path with a 4-octet ASN through AS_TRANS + AS4_PATH; every
//!   daemon, the 2-octet one included, shows the real paths (RFC 6793 §4),
//!   and the UPDATE the 2-octet member received carries AS_TRANS in
//!   AS_PATH and the real path in AS4_PATH (decoded from ExaBGP's raw
//!   `packets` output);
//! - withdrawals through each member's CLI propagate;
//! - `kill -9` of the BIRD member removes its routes from the others, the
//!   other sessions stay up, and its routes return when it is restarted.
//!
//! The route server runs its default (secure) import policy, so the
//! announced prefixes and the ASNs after the members' own are not bogons
//! (185.64.0.0/16-style and 2a0c::/16 space, 4-octet public ASNs): they are
//! only ever seen inside the test's own network namespaces.

mod interop;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use interop::daemons::{Announce, Kind, Member};
use interop::{wait_until, Lab, Route, RS_ASN};

/// The prefix three members announce.
const SHARED: &str = "185.99.0.0/24";

fn members() -> Vec<Member> {
    let spec = [
        (Kind::Bird, "bird", 64496_u32, 11_u8),
        (Kind::Gobgp, "gobgp", 4_200_000_001, 12),
        (Kind::Frr, "frr", 64498, 13),
        (Kind::Openbgpd, "obgpd", 64499, 14),
        (Kind::Exabgp, "exa", 64501, 15),
    ];
    spec.iter()
        .map(|&(kind, name, asn, n)| {
            let nn = u16::from(n);
            let mut a = vec![
                Announce {
                    prefix: format!("185.64.{n}.0/24"),
                    med: Some(100 + u32::from(n)),
                    communities: vec![(65000, nn), (65001, 7)],
                    rts: vec![(65000, u32::from(n))],
                    large: vec![(asn, u32::from(n), 1)],
                    ..Announce::default()
                },
                Announce {
                    withdrawable: true,
                    ..Announce::plain(&format!("185.65.{n}.0/24"))
                },
                Announce {
                    prefix: format!("2a0c:{n}::/48"),
                    med: Some(600 + u32::from(n)),
                    communities: vec![(65000, nn)],
                    rts: vec![(65000, 600 + u32::from(n))],
                    large: vec![(asn, u32::from(n), 6)],
                    ..Announce::default()
                },
                Announce {
                    withdrawable: true,
                    ..Announce::plain(&format!("2a0c:b{n}::/48"))
                },
            ];
            if matches!(kind, Kind::Bird | Kind::Gobgp | Kind::Frr) {
                a.push(Announce {
                    med: Some(u32::from(n)),
                    communities: vec![(65002, nn)],
                    ..Announce::plain(SHARED)
                });
            }
            match kind {
                Kind::Gobgp => a.push(Announce {
                    path_tail: vec![196_615, 262_150],
                    ..Announce::plain("185.66.12.0/24")
                }),
                Kind::Exabgp => a.push(Announce {
                    path_tail: vec![262_151],
                    communities: vec![(64501, 2)],
                    ..Announce::plain("185.66.15.0/24")
                }),
                _ => {}
            }
            let mut m = Member::new(kind, name, asn, n, a);
            if kind == Kind::Bird {
                m.hold_v4 = 9;
            }
            if kind == Kind::Exabgp {
                m.asn4_disabled = true;
            }
            m
        })
        .collect()
}

/// What the test has done to the members so far.
#[derive(Default)]
struct World {
    /// Withdrawn (member index, prefix).
    withdrawn: BTreeSet<(usize, String)>,
    /// Members whose daemon is down.
    dead: BTreeSet<usize>,
}

/// Compare every live member's RIB with what it must hold; `Err` lists
/// every difference.
fn check_ribs(lab: &Lab, members: &[Member], w: &World) -> Result<usize, String> {
    let mut problems = Vec::new();
    let mut total = 0;
    for (i, m) in members.iter().enumerate() {
        if w.dead.contains(&i) {
            continue;
        }
        let rib = m.rib(lab)?;
        total += rib.len();
        let mut by_prefix: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
        for r in &rib {
            by_prefix.entry(r.prefix.as_str()).or_default().push(r);
            if r.as_path.first() == Some(&m.asn) {
                problems.push(format!("{}: got its own route back: {r:?}", m.name));
            }
            if r.as_path.contains(&RS_ASN) {
                problems.push(format!("{}: route server AS in the path: {r:?}", m.name));
            }
        }
        // Expected: prefix -> the routes any of which is right.
        let mut want: BTreeMap<String, Vec<Route>> = BTreeMap::new();
        for (j, n) in members.iter().enumerate() {
            if j == i || w.dead.contains(&j) {
                continue;
            }
            for a in &n.announces {
                if !w.withdrawn.contains(&(j, a.prefix.clone())) {
                    want.entry(a.prefix.clone())
                        .or_default()
                        .push(n.expected(a));
                }
            }
        }
        for (prefix, options) in &mut want {
            // Several announcers (all with ORIGIN IGP and a one-AS path):
            // the route server's best path is the lowest MED, MED being
            // compared across neighbour ASes (docs/decisions/0002).
            options.sort_by_key(|r| r.med);
            options.truncate(1);
            match by_prefix.get(prefix.as_str()).map(Vec::as_slice) {
                None | Some([]) => problems.push(format!("{}: missing {prefix}", m.name)),
                Some([got]) => {
                    if !options.contains(got) {
                        problems.push(format!(
                            "{}: {prefix} differs:\n    got  {got:?}\n    want {}",
                            m.name,
                            options
                                .iter()
                                .map(|o| format!("{o:?}"))
                                .collect::<Vec<_>>()
                                .join("\n      or ")
                        ));
                    }
                }
                Some(many) => problems.push(format!(
                    "{}: {} paths for {prefix} from the route server: {many:?}",
                    m.name,
                    many.len()
                )),
            }
        }
        for prefix in by_prefix.keys() {
            if !want.contains_key(*prefix) {
                problems.push(format!(
                    "{}: unexpected {prefix}: {:?}",
                    m.name, by_prefix[prefix]
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(total)
    } else {
        Err(problems.join("\n"))
    }
}

/// Every session of the live members Established, from caribix's API and
/// from each member's CLI; the dead members' sessions not Established.
fn check_sessions(lab: &Lab, members: &[Member], w: &World) -> Result<(), String> {
    let n = lab.rs_neighbors()?;
    for (i, m) in members.iter().enumerate() {
        for id in m.rs_ids() {
            let state = n.get(&id).map(|(s, _)| s.as_str());
            let up = state == Some("Established");
            if up == w.dead.contains(&i) {
                return Err(format!("route server: {id} is {state:?}"));
            }
        }
        if !w.dead.contains(&i) {
            m.established(lab)?;
        }
    }
    Ok(())
}

#[test]
fn five_implementations_exchange_routes_through_caribix() {
    for k in [
        Kind::Bird,
        Kind::Frr,
        Kind::Gobgp,
        Kind::Openbgpd,
        Kind::Exabgp,
    ] {
        Member::require(k);
    }
    interop::which("python3", "python3");
    let mut members = members();
    let mut boxes: Vec<(&str, u8)> = vec![("rs", 1)];
    boxes.extend(members.iter().map(|m| (m.name.as_str(), m.n)));
    let mut lab = Lab::new("m", &boxes);
    lab.start_rs(&interop::rs_config(&members, None));
    for m in &mut members {
        m.start(&mut lab);
    }
    let mut w = World::default();

    wait_until("every session Established", Duration::from_secs(60), || {
        check_sessions(&lab, &members, &w)
    });
    let total = wait_until(
        "every member holding every other member's routes",
        Duration::from_secs(60),
        || check_ribs(&lab, &members, &w),
    );
    eprintln!("converged: {total} routes in the members' RIBs");

    // On the wire to the 2-octet member: AS_TRANS for every 4-octet ASN in
    // AS_PATH, the real path in AS4_PATH (RFC 6793 §4.2.2), which ExaBGP
    // merged into the path checked above.
    let exa = members
        .iter()
        .find(|m| m.asn4_disabled)
        .expect("a 2-octet member");
    assert_eq!(
        exa.exabgp_raw_paths(&lab, "185.66.12.0/24"),
        Ok((
            vec![23456, 23456, 23456],
            vec![4_200_000_001, 196_615, 262_150]
        )),
        "AS_PATH / AS4_PATH sent to the 2-octet member"
    );
    assert_eq!(
        exa.exabgp_raw_paths(&lab, "185.64.11.0/24").map(|(p, _)| p),
        Ok(vec![64496]),
        "a 2-octet path sent to the 2-octet member"
    );

    // Withdraw the plain routes of every member through its own CLI.
    for (i, m) in members.iter().enumerate() {
        for a in m.announces.iter().filter(|a| a.withdrawable) {
            if let Err(e) = m.withdraw(&lab, &a.prefix) {
                panic!("withdraw {} on {}: {e}", a.prefix, m.name);
            }
            w.withdrawn.insert((i, a.prefix.clone()));
        }
    }
    wait_until(
        "the withdrawals at every other member",
        Duration::from_secs(30),
        || check_ribs(&lab, &members, &w),
    );

    // kill -9 the BIRD member: its routes go, the others stay up.
    let bird = members
        .iter()
        .position(|m| m.kind == Kind::Bird)
        .expect("a BIRD member");
    members[bird].kill9(&mut lab);
    w.dead.insert(bird);
    wait_until(
        "the killed member's routes gone",
        Duration::from_secs(30),
        || {
            check_sessions(&lab, &members, &w)?;
            check_ribs(&lab, &members, &w)
        },
    );

    // Restart it: its sessions and routes come back (all of them: its
    // configuration announces the withdrawn ones again).
    members[bird].start(&mut lab);
    w.dead.remove(&bird);
    w.withdrawn.retain(|(i, _)| *i != bird);
    wait_until(
        "the restarted member's sessions",
        Duration::from_secs(60),
        || check_sessions(&lab, &members, &w),
    );
    wait_until(
        "the restarted member's routes everywhere",
        Duration::from_secs(60),
        || check_ribs(&lab, &members, &w),
    );
    for m in &members {
        assert!(
            m.running(&mut lab),
            "{} ({:?}) stopped during the test",
            m.name,
            m.kind
        );
    }
}

/// A member daemon that is not installed fails the suite, with the package
/// to install; it is never skipped.
#[test]
#[should_panic(expected = "from the Debian package `caribix-no-such-package`")]
fn a_missing_daemon_fails_instead_of_skipping() {
    interop::which("caribix-no-such-daemon", "caribix-no-such-package");
}
