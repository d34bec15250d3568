//! Graceful restart as receiving speaker (RFC 4724 §4.2) and ADD-PATH send
//! (RFC 7911) in the RIB, checked by decoding the UPDATEs it writes and
//! keeping, per member, the table those UPDATEs build.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_wire::attr::{flags, type_code, Origin};
use bgp_wire::message::frame;
use bgp_wire::owned::write_attr;
use bgp_wire::{AsPath, DecodeCtx, EncodeCtx, Family, FamilySet, Message, NextHop, Nlri, Prefix};
use rib::{ExportCtl, PeerId, Rib, RouteAttrs, DEFAULT_PREF};

fn attrs(rib: &mut Rib, path: &[u32], med: u32, export: ExportCtl) -> Arc<RouteAttrs> {
    attrs_nh(
        rib,
        path,
        med,
        export,
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
    )
}

fn attrs6(rib: &mut Rib, path: &[u32]) -> Arc<RouteAttrs> {
    let nh = NextHop::V6 {
        global: "2001:db8:10::1".parse().unwrap(),
        link_local: None,
    };
    attrs_nh(rib, path, 10, ExportCtl::default(), nh)
}

fn attrs_nh(
    rib: &mut Rib,
    path: &[u32],
    med: u32,
    export: ExportCtl,
    next_hop: NextHop,
) -> Arc<RouteAttrs> {
    let mut block = Vec::new();
    write_attr(&mut block, flags::TRANSITIVE, type_code::ORIGIN, |b| {
        b.push(0)
    });
    let p = AsPath::from_sequence(path);
    write_attr(&mut block, flags::TRANSITIVE, type_code::AS_PATH, |b| {
        p.write(true, b)
    });
    write_attr(&mut block, flags::OPTIONAL, type_code::MED, |b| {
        b.extend_from_slice(&med.to_be_bytes())
    });
    rib.intern(RouteAttrs {
        block: block.into(),
        next_hop,
        pref: DEFAULT_PREF,
        as_path_len: path.len() as u16,
        origin: Origin::Igp,
        med,
        export,
        received: None,
    })
}

fn pfx(s: &str) -> Nlri {
    Nlri::new(s.parse::<Prefix>().unwrap())
}

/// The table a member builds from what it was sent: (prefix, path id) ->
/// (first AS, MED); plus how many UPDATE messages touched each prefix.
#[derive(Debug, Default)]
struct Table {
    routes: BTreeMap<(Prefix, u32), (u32, u32)>,
    touched: BTreeMap<Prefix, usize>,
    eor: usize,
}

fn drain(rib: &mut Rib, id: PeerId, ctx: &DecodeCtx, t: &mut Table) {
    let mut out = Vec::new();
    while rib.flush(id, 1000, &mut out) {}
    let mut buf = &out[..];
    while let Some(len) = frame(buf, 4096).unwrap() {
        let Message::Update(u) = Message::decode(&buf[..len], ctx).unwrap() else {
            panic!("not an UPDATE");
        };
        if u.end_of_rib().is_some() {
            t.eor += 1;
        }
        for n in u.withdrawals() {
            t.routes.remove(&(n.prefix, n.path_id));
            *t.touched.entry(n.prefix).or_default() += 1;
        }
        let first = u.attributes.as_path.and_then(|p| p.first_asn());
        let med = u.attributes.med.unwrap_or(0);
        for n in u.announced() {
            t.routes
                .insert((n.prefix, n.path_id), (first.unwrap(), med));
            *t.touched.entry(n.prefix).or_default() += 1;
        }
        buf = &buf[len..];
    }
    assert!(buf.is_empty());
}

fn up(rib: &mut Rib, asn: u32, last: u8, add_path: FamilySet) -> PeerId {
    let id = rib.add_peer(asn, IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)));
    let ctx = EncodeCtx {
        add_path,
        ..EncodeCtx::default()
    };
    rib.peer_up(id, u32::from(last), FamilySet::BOTH, ctx);
    id
}

fn ap_ctx() -> DecodeCtx {
    DecodeCtx {
        add_path: FamilySet::BOTH,
        ..DecodeCtx::default()
    }
}

#[test]
fn stale_routes_stay_exported_and_are_replaced_without_an_update() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11, FamilySet::EMPTY);
    let b = up(&mut rib, 65002, 12, FamilySet::EMPTY);
    let ctx = DecodeCtx::default();
    let mut tb = Table::default();
    let at = attrs(&mut rib, &[65001], 10, ExportCtl::default());
    for p in ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"] {
        rib.announce(a, pfx(p), at.clone(), 0, 0);
    }
    drain(&mut rib, b, &ctx, &mut tb);
    assert_eq!(tb.routes.len(), 3);
    let touched = tb.touched.clone();

    // The session drops without a NOTIFICATION: routes kept, stale.
    assert_eq!(rib.peer_down_graceful(a, FamilySet::BOTH), 3);
    assert!(!rib.has_pending(b), "nothing to send when routes go stale");
    assert!(rib.is_stale(a, &pfx("203.0.113.0/24")));
    assert_eq!(rib.stale_counts(a), [3, 0]);
    assert_eq!(rib.counts(a).accepted, 3);

    // It comes back and announces two of the three with the same
    // attributes: no UPDATE to b for them.
    rib.peer_up(a, 11, FamilySet::BOTH, EncodeCtx::default());
    rib.announce(a, pfx("198.51.100.0/24"), at.clone(), 0, 5);
    rib.announce(a, pfx("203.0.113.0/24"), at, 0, 5);
    assert!(!rib.is_stale(a, &pfx("203.0.113.0/24")));
    assert!(rib.is_stale(a, &pfx("192.0.2.0/24")));
    drain(&mut rib, b, &ctx, &mut tb);
    assert_eq!(tb.touched, touched, "re-announced routes flapped");

    // End-of-RIB: the one not announced again goes.
    assert_eq!(rib.sweep_stale(a, FamilySet::BOTH), 1);
    drain(&mut rib, b, &ctx, &mut tb);
    assert_eq!(tb.routes.len(), 2);
    assert!(!tb.routes.contains_key(&(pfx("192.0.2.0/24").prefix, 0)));
    assert_eq!(rib.stale_counts(a), [0, 0]);
    assert_eq!(rib.counts(b).exported, 2);
}

#[test]
fn graceful_down_keeps_only_the_preserved_families_and_sweep_is_per_family() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11, FamilySet::EMPTY);
    let b = up(&mut rib, 65002, 12, FamilySet::EMPTY);
    let ctx = DecodeCtx::default();
    let mut tb = Table::default();
    let at = attrs(&mut rib, &[65001], 10, ExportCtl::default());
    let at6 = attrs6(&mut rib, &[65001]);
    rib.announce(a, pfx("198.51.100.0/24"), at, 0, 0);
    rib.announce(a, pfx("2001:db8:1::/48"), at6.clone(), 0, 0);
    rib.announce(a, pfx("2001:db8:2::/48"), at6, 0, 0);
    drain(&mut rib, b, &ctx, &mut tb);
    assert_eq!(tb.routes.len(), 3);

    // Only IPv6 preserved: IPv4 routes are withdrawn at once.
    let mut v6 = FamilySet::EMPTY;
    v6.insert(Family::Ipv6Unicast);
    assert_eq!(rib.peer_down_graceful(a, v6), 2);
    drain(&mut rib, b, &ctx, &mut tb);
    assert_eq!(tb.routes.len(), 2);
    let mut v4 = FamilySet::EMPTY;
    v4.insert(Family::Ipv4Unicast);
    assert_eq!(rib.sweep_stale(a, v4), 0, "no stale IPv4 route left");
    // A plain withdrawal of a stale route works too.
    rib.withdraw(a, pfx("2001:db8:1::/48"));
    assert_eq!(rib.stale_counts(a), [0, 1]);
    // Time is up: everything stale goes; a normal down after that is a
    // no-op for the others.
    assert_eq!(rib.sweep_stale(a, FamilySet::BOTH), 1);
    drain(&mut rib, b, &ctx, &mut tb);
    assert!(tb.routes.is_empty());
    rib.peer_down(a);
    assert!(!rib.has_pending(b));
    assert_eq!(rib.counts(a).received, 0);
}

#[test]
fn a_normal_down_after_a_graceful_one_withdraws_the_stale_routes() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11, FamilySet::EMPTY);
    let b = up(&mut rib, 65002, 12, FamilySet::EMPTY);
    let ctx = DecodeCtx::default();
    let mut tb = Table::default();
    let at = attrs(&mut rib, &[65001], 10, ExportCtl::default());
    rib.announce(a, pfx("198.51.100.0/24"), at, 0, 0);
    drain(&mut rib, b, &ctx, &mut tb);
    rib.peer_down_graceful(a, FamilySet::BOTH);
    rib.peer_down(a);
    drain(&mut rib, b, &ctx, &mut tb);
    assert!(tb.routes.is_empty());
    assert_eq!(rib.stale_counts(a), [0, 0]);
}

#[test]
fn add_path_member_gets_every_allowed_path_and_withdrawals_by_path_id() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11, FamilySet::EMPTY);
    let b = up(&mut rib, 65002, 12, FamilySet::EMPTY);
    let c = up(&mut rib, 65003, 13, FamilySet::EMPTY);
    let m = up(&mut rib, 65009, 19, FamilySet::BOTH);
    let (plain, apx) = (DecodeCtx::default(), ap_ctx());
    let (mut tm, mut tc) = (Table::default(), Table::default());
    drain(&mut rib, m, &apx, &mut tm);
    assert_eq!(tm.eor, 2);
    let p = pfx("198.51.100.0/24");
    let at_a = attrs(&mut rib, &[65001], 10, ExportCtl::default());
    let at_b = attrs(&mut rib, &[65002], 20, ExportCtl::default());
    // c's route is not for m.
    let not_m = ExportCtl {
        deny: vec![65009].into(),
        ..ExportCtl::default()
    };
    let at_c = attrs(&mut rib, &[65003], 5, not_m);
    rib.announce(a, p, at_a, 0, 0);
    rib.announce(b, p, at_b.clone(), 0, 0);
    rib.announce(c, p, at_c, 0, 0);
    drain(&mut rib, m, &apx, &mut tm);
    drain(&mut rib, c, &plain, &mut tc);
    let paths: Vec<(u32, u32)> = tm.routes.values().copied().collect();
    assert_eq!(paths, [(65001, 10), (65002, 20)], "both allowed paths");
    let ids: Vec<u32> = tm.routes.keys().map(|k| k.1).collect();
    assert!(ids.iter().all(|&i| i != 0) && ids[0] != ids[1]);
    // The plain member gets only the best.
    assert_eq!(
        tc.routes.values().copied().collect::<Vec<_>>(),
        [(65001, 10)]
    );
    assert_eq!(rib.routes_to(m).len(), 2);

    // A new MED on b's path: re-announced with the same path id.
    let id_b = *tm.routes.iter().find(|(_, v)| v.0 == 65002).unwrap().0;
    let at_b2 = attrs(&mut rib, &[65002], 30, ExportCtl::default());
    rib.announce(b, p, at_b2, 0, 1);
    drain(&mut rib, m, &apx, &mut tm);
    assert_eq!(tm.routes[&id_b], (65002, 30));
    assert_eq!(tm.routes.len(), 2);

    // a withdraws: only a's path goes.
    rib.withdraw(a, p);
    drain(&mut rib, m, &apx, &mut tm);
    assert_eq!(
        tm.routes.values().copied().collect::<Vec<_>>(),
        [(65002, 30)]
    );
    assert_eq!(rib.counts(m).exported, 1);

    // b's path becomes denied to m by its communities: withdrawn.
    let deny_m = ExportCtl {
        deny: vec![65009].into(),
        ..ExportCtl::default()
    };
    let at_b3 = attrs(&mut rib, &[65002], 30, deny_m);
    rib.announce(b, p, at_b3, 0, 2);
    drain(&mut rib, m, &apx, &mut tm);
    assert!(tm.routes.is_empty(), "{:?}", tm.routes);
    assert_eq!(rib.counts(m).exported, 0);

    // Withdraw and announce again before a flush: the end state is right.
    let x = attrs(&mut rib, &[65001], 10, ExportCtl::default());
    rib.announce(a, p, x, 0, 3);
    drain(&mut rib, m, &apx, &mut tm);
    rib.withdraw(a, p);
    let x = attrs(&mut rib, &[65001], 11, ExportCtl::default());
    rib.announce(a, p, x, 0, 4);
    drain(&mut rib, m, &apx, &mut tm);
    assert_eq!(
        tm.routes.values().copied().collect::<Vec<_>>(),
        [(65001, 11)]
    );

    // The announcer's session drops: its path is withdrawn from m.
    rib.peer_down(a);
    drain(&mut rib, m, &apx, &mut tm);
    assert!(tm.routes.is_empty());
}

#[test]
fn add_path_member_joining_late_gets_every_path_in_the_dump() {
    let mut rib = Rib::new();
    let a = up(&mut rib, 65001, 11, FamilySet::EMPTY);
    let b = up(&mut rib, 65002, 12, FamilySet::EMPTY);
    for i in 0..50u8 {
        let p = pfx(&format!("10.{i}.0.0/16"));
        let x = attrs(&mut rib, &[65001], u32::from(i), ExportCtl::default());
        rib.announce(a, p, x, 0, 0);
        let y = attrs(&mut rib, &[65002, 65010], 1, ExportCtl::default());
        rib.announce(b, p, y, 0, 0);
    }
    let m = up(&mut rib, 65009, 19, FamilySet::BOTH);
    // Changes during the dump: one path goes before the dump reaches it.
    rib.withdraw(b, pfx("10.40.0.0/16"));
    let mut tm = Table::default();
    drain(&mut rib, m, &ap_ctx(), &mut tm);
    assert_eq!(tm.routes.len(), 99);
    assert_eq!(tm.eor, 2);
    // Only the members' own sessions' paths: never m's own (none) and
    // one per announcing session.
    assert!(tm.routes.keys().all(|k| k.1 != 0));
}

mod model {
    //! Property test: after any sequence of announcements (some rejected,
    //! some denied to the ADD-PATH member by their export controls),
    //! withdrawals, graceful and normal session losses, stale sweeps,
    //! route refreshes and partial flushes, the table an ADD-PATH member builds from the
    //! UPDATEs it was sent is exactly the set of accepted routes of other
    //! ASes that its controls allow, each under the announcing session's
    //! path id.

    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Announce {
            peer: usize,
            prefix: usize,
            med: u32,
            deny_m: bool,
            reject: bool,
        },
        Withdraw {
            peer: usize,
            prefix: usize,
        },
        Down {
            peer: usize,
            graceful: bool,
        },
        Sweep {
            peer: usize,
        },
        Flush {
            max: usize,
        },
        /// The ADD-PATH member asks for the table again (ROUTE-REFRESH).
        Refresh,
    }

    const PEERS: usize = 4;
    // Peer 3 shares the ADD-PATH member's AS (a second router of it).
    const ASNS: [u32; PEERS] = [65001, 65002, 65003, 65009];
    const M_ASN: u32 = 65009;

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..PEERS, 0usize..3, 0u32..3, prop::bool::weighted(0.2), prop::bool::weighted(0.15))
                .prop_map(|(peer, prefix, med, deny_m, reject)| Op::Announce { peer, prefix, med, deny_m, reject }),
            2 => (0..PEERS, 0usize..3).prop_map(|(peer, prefix)| Op::Withdraw { peer, prefix }),
            1 => (0..PEERS, any::<bool>()).prop_map(|(peer, graceful)| Op::Down { peer, graceful }),
            1 => (0..PEERS).prop_map(|peer| Op::Sweep { peer }),
            2 => (1usize..3).prop_map(|max| Op::Flush { max }),
            1 => Just(Op::Refresh),
        ]
    }

    fn prefix(i: usize) -> Nlri {
        pfx(&format!("198.51.{}.0/24", 100 + i))
    }

    /// Flush `id` at most `max` prefixes at a time, once, into `t`.
    fn flush_some(rib: &mut Rib, id: PeerId, max: usize, ctx: &DecodeCtx, t: &mut Table) {
        let mut out = Vec::new();
        rib.flush(id, max, &mut out);
        let mut buf = &out[..];
        while let Some(len) = frame(buf, 4096).unwrap() {
            let Message::Update(u) = Message::decode(&buf[..len], ctx).unwrap() else {
                panic!("not an UPDATE");
            };
            for n in u.withdrawals() {
                t.routes.remove(&(n.prefix, n.path_id));
            }
            let first = u
                .attributes
                .as_path
                .and_then(|p| p.first_asn())
                .unwrap_or(0);
            let med = u.attributes.med.unwrap_or(0);
            for n in u.announced() {
                t.routes.insert((n.prefix, n.path_id), (first, med));
            }
            buf = &buf[len..];
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn add_path_member_table_is_every_allowed_path(ops in prop::collection::vec(op(), 1..60)) {
            let mut rib = Rib::new();
            let ids: Vec<PeerId> = (0..PEERS)
                .map(|i| up(&mut rib, ASNS[i], 11 + i as u8, FamilySet::EMPTY))
                .collect();
            let m = up(&mut rib, M_ASN, 19, FamilySet::BOTH);
            // A plain member: the best allowed path only.
            let plain = up(&mut rib, 65010, 20, FamilySet::EMPTY);
            let mut tp = Table::default();
            let (apx, plainx) = (ap_ctx(), DecodeCtx::default());
            let mut up_now = [true; PEERS];
            // The reference: (peer, prefix) -> (med, deny_m, reject), and
            // which of them are stale.
            let mut model: BTreeMap<(usize, usize), (u32, bool, bool)> = BTreeMap::new();
            let mut stale: BTreeSet<(usize, usize)> = BTreeSet::new();
            let mut t = Table::default();
            for op in ops {
                match op {
                    Op::Announce { peer, prefix: i, med, deny_m, reject } => {
                        if !up_now[peer] {
                            rib.peer_up(ids[peer], 11 + peer as u32, FamilySet::BOTH, EncodeCtx::default());
                            up_now[peer] = true;
                        }
                        let export = ExportCtl {
                            deny: if deny_m { vec![M_ASN].into() } else { Box::new([]) },
                            ..ExportCtl::default()
                        };
                        let a = attrs(&mut rib, &[ASNS[peer]], med, export);
                        rib.announce(ids[peer], prefix(i), a, u32::from(reject) << 2, 0);
                        model.insert((peer, i), (med, deny_m, reject));
                        stale.remove(&(peer, i));
                    }
                    Op::Withdraw { peer, prefix: i } => {
                        rib.withdraw(ids[peer], prefix(i));
                        model.remove(&(peer, i));
                        stale.remove(&(peer, i));
                    }
                    Op::Down { peer, graceful } => {
                        if graceful {
                            rib.peer_down_graceful(ids[peer], FamilySet::BOTH);
                            stale.extend(model.keys().filter(|k| k.0 == peer).copied());
                        } else {
                            rib.peer_down(ids[peer]);
                            model.retain(|k, _| k.0 != peer);
                            stale.retain(|k| k.0 != peer);
                        }
                        up_now[peer] = false;
                    }
                    Op::Sweep { peer } => {
                        rib.sweep_stale(ids[peer], FamilySet::BOTH);
                        let gone: Vec<_> = stale.iter().filter(|k| k.0 == peer).copied().collect();
                        for k in gone {
                            model.remove(&k);
                            stale.remove(&k);
                        }
                    }
                    Op::Flush { max } => {
                        flush_some(&mut rib, m, max, &apx, &mut t);
                        flush_some(&mut rib, plain, max, &plainx, &mut tp);
                    }
                    Op::Refresh => rib.refresh(m),
                }
                for &(peer, i) in model.keys() {
                    prop_assert_eq!(
                        rib.is_stale(ids[peer], &prefix(i)),
                        stale.contains(&(peer, i))
                    );
                }
            }
            flush_some(&mut rib, m, 1000, &apx, &mut t);
            while rib.has_pending(m) {
                flush_some(&mut rib, m, 1000, &apx, &mut t);
            }
            while rib.has_pending(plain) {
                flush_some(&mut rib, plain, 1000, &plainx, &mut tp);
            }
            // Plain member: per prefix, the lowest MED, then the lowest
            // BGP identifier (11 + peer), among accepted routes; path id 0.
            let mut best: BTreeMap<(Prefix, u32), (u32, u32)> = BTreeMap::new();
            for i in 0..3 {
                let pick = model
                    .iter()
                    .filter(|(&(_, j), &(_, _, reject))| j == i && !reject)
                    .min_by_key(|(&(peer, _), &(med, _, _))| (med, peer));
                if let Some((&(peer, _), &(med, _, _))) = pick {
                    best.insert((prefix(i).prefix, 0), (ASNS[peer], med));
                }
            }
            prop_assert_eq!(&tp.routes, &best);
            let want: BTreeMap<(Prefix, u32), (u32, u32)> = model
                .iter()
                .filter(|(&(peer, _), &(_, deny_m, reject))| !reject && !deny_m && ASNS[peer] != M_ASN)
                .map(|(&(peer, i), &(med, _, _))| {
                    ((prefix(i).prefix, ids[peer].0 + 1), (ASNS[peer], med))
                })
                .collect();
            prop_assert_eq!(&t.routes, &want);
            let prefixes: BTreeSet<Prefix> = want.keys().map(|k| k.0).collect();
            prop_assert_eq!(rib.counts(m).exported, prefixes.len());
            prop_assert_eq!(rib.routes_to(m).len(), want.len());
        }
    }
}
