//! Incremental revalidation gives what a full pass gives: two route
//! servers with the IXP policy receive the same random UPDATEs under VRP
//! table A and IRR data A; the data turn into B; one route server judges
//! only the routes the changes name (`Affected` built from the RTR and
//! IRR caches' own change notifications), the other judges every route.
//! Verdicts, attributes, ages, what every member receives and the very
//! bytes flushed to each member must be the same.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use bgp_wire::{frame, Message, UpdateMessage};
use bgp_wire::{AsPath, DecodeCtx, EncodeCtx, FamilySet, Nlri, Origin, PathAttributes, Prefix};
use policy::{IxpPolicy, MemberSettings, Settings};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use routeserver::{Affected, MemberInfo, PeerId, RouteServer};

const RS: u32 = 64500;
/// Members (AS, last octet of the peering LAN address).
const MEMBERS: [(u32, u8); 3] = [(3333, 1), (2121, 2), (5555, 3)];
/// Origins the routes and VRPs draw from (public, not transit-free).
const ORIGINS: [u32; 4] = [3333, 2121, 5555, 8888];

/// A prefix inside 20.0.0.0/12, so that random prefixes nest often.
fn prefix() -> impl Strategy<Value = Prefix> {
    (0u32..16, 0u32..4, 8u8..=24).prop_map(|(b, c, len)| {
        let a = (20u32 << 24) | (b << 16) | (c << 8);
        Prefix::V4(a & (u32::MAX << (32 - u32::from(len))), len)
    })
}

fn vrp() -> impl Strategy<Value = rov::Vrp> {
    (prefix(), 0u8..6, 0usize..5).prop_map(|(p, extra, o)| {
        let max = (p.len() + extra).min(32);
        // Index 4 is AS0 (RFC 6483 §4).
        let asn = ORIGINS.get(o).copied().unwrap_or(0);
        rov::Vrp::new(p, max, asn).unwrap()
    })
}

/// One member's IRR data: allowed origins and route objects.
fn irr_member() -> impl Strategy<Value = (Vec<usize>, Vec<Prefix>)> {
    (
        prop::collection::vec(0usize..4, 0..3),
        prop::collection::vec(prefix(), 0..4),
    )
}

/// One UPDATE: member, origin, BLACKHOLE community, prefixes.
fn update() -> impl Strategy<Value = (usize, usize, bool, Vec<Prefix>)> {
    (
        0usize..3,
        0usize..4,
        prop::bool::weighted(0.15),
        prop::collection::vec(prefix(), 1..6),
    )
}

#[derive(Debug, Clone)]
struct Case {
    vrps_a: Vec<rov::Vrp>,
    removed: Vec<bool>,
    added: Vec<rov::Vrp>,
    irr_a: Vec<(Vec<usize>, Vec<Prefix>)>,
    /// Per member: its IRR data B, or None to keep A.
    irr_b: Vec<Option<(Vec<usize>, Vec<Prefix>)>>,
    updates: Vec<(usize, usize, bool, Vec<Prefix>)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(vrp(), 0..40),
        prop::collection::vec(prop::bool::weighted(0.2), 40),
        prop::collection::vec(vrp(), 0..6),
        prop::collection::vec(irr_member(), 3),
        prop::collection::vec(prop::option::weighted(0.3, irr_member()), 3),
        prop::collection::vec(update(), 1..30),
    )
        .prop_map(|(vrps_a, removed, added, irr_a, irr_b, updates)| Case {
            vrps_a,
            removed,
            added,
            irr_a,
            irr_b,
            updates,
        })
}

fn addr(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, last)
}

fn irr_snapshot(data: &[(Vec<usize>, Vec<Prefix>)]) -> irr::IrrSnapshot {
    irr::IrrSnapshot::new(MEMBERS.iter().zip(data).map(|(&(asn, _), (o, p))| {
        irr::MemberIrr {
            asn,
            as_set: None,
            origins: o
                .iter()
                .filter_map(|&i| ORIGINS.get(i).copied())
                .collect::<BTreeSet<u32>>(),
            prefixes: irr::PrefixSet::with_limits(p.iter().copied(), 24, 48),
            fetched_at: SystemTime::UNIX_EPOCH,
            notes: Vec::new(),
        }
    }))
}

fn route_server(
    rpki: &rov::RpkiCache,
    irr: &irr::IrrCache,
) -> (RouteServer<IxpPolicy>, Vec<PeerId>) {
    let s = Settings::defaults(RS);
    let members = MEMBERS
        .iter()
        .map(|&(asn, last)| MemberSettings::defaults(asn, vec![IpAddr::V4(addr(last))], &s))
        .collect();
    let mut pol = IxpPolicy::new(s, members);
    pol.set_rpki(Some(Arc::new(rpki.clone())));
    pol.set_irr(Some(Arc::new(irr.clone())));
    let mut rs = RouteServer::new(pol);
    let ids: Vec<PeerId> = MEMBERS
        .iter()
        .map(|&(asn, last)| {
            rs.add_member(MemberInfo {
                asn,
                addr: IpAddr::V4(addr(last)),
                name: format!("AS{asn}"),
            })
        })
        .collect();
    for (i, &id) in ids.iter().enumerate() {
        rs.established(id, i as u32 + 1, FamilySet::BOTH, EncodeCtx::default());
    }
    (rs, ids)
}

/// Flush every member; per member, what the UPDATEs say, sorted (the
/// order of UPDATEs in a flush follows attribute-set hashing, which may
/// differ between two route servers).
fn flush_all(rs: &mut RouteServer<IxpPolicy>, ids: &[PeerId]) -> Vec<Vec<String>> {
    let ctx = DecodeCtx::default();
    ids.iter()
        .map(|&id| {
            let mut out = Vec::new();
            while rs.flush(id, 1000, &mut out) {}
            let mut said = Vec::new();
            let mut rest = &out[..];
            while let Ok(Some(n)) = frame(rest, 4096) {
                match Message::decode(&rest[..n], &ctx) {
                    Ok(Message::Update(u)) => {
                        let attrs = format!("{:?}", u.attributes.raw());
                        said.extend(u.announced().map(|a| format!("{a:?} {attrs}")));
                        said.extend(u.withdrawals().map(|w| format!("{w:?} withdrawn")));
                    }
                    other => said.push(format!("{other:?}")),
                }
                rest = &rest[n..];
            }
            assert!(rest.is_empty(), "a partial message was flushed");
            said.sort();
            said
        })
        .collect()
}

fn encode(member: usize, origin: usize, blackhole: bool, prefixes: &[Prefix]) -> Vec<u8> {
    let (asn, last) = MEMBERS[member];
    let u = UpdateMessage {
        withdrawn: Vec::new(),
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::from_sequence(&[asn, ORIGINS[origin]])),
            next_hop: Some(addr(last)),
            communities: if blackhole {
                vec![0xFFFF_029A]
            } else {
                Vec::new()
            },
            ..PathAttributes::default()
        },
        nlri: prefixes.iter().map(|&p| Nlri::new(p)).collect(),
    };
    let mut out = Vec::new();
    u.encode(&EncodeCtx::default(), &mut out);
    out
}

/// Everything the two route servers must agree on after the change.
fn state(rs: &RouteServer<IxpPolicy>, ids: &[PeerId]) -> Vec<String> {
    let mut v = Vec::new();
    for &id in ids {
        for (n, r) in rs.rib().routes_from(id) {
            v.push(format!(
                "from {id:?} {n:?} reject {:#x} since {} {:?}",
                r.reject, r.since, r.attrs
            ));
        }
        for (p, from, attrs) in rs.rib().routes_to(id) {
            v.push(format!("to {id:?} {p} from {from:?} {attrs:?}"));
        }
        v.push(format!("counts {id:?} {:?}", rs.counts(id)));
    }
    v
}

#[test]
fn incremental_revalidation_equals_the_full_pass() {
    let cases = AtomicUsize::new(0);
    let changed_cases = AtomicUsize::new(0);
    let skipped_routes = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |c| {
            let rpki = rov::RpkiCache::new();
            let irr = irr::IrrCache::new();
            rpki.replace(rov::VrpTable::new(
                c.vrps_a.clone(),
                rov::AspaTable::default(),
            ));
            irr.install(irr_snapshot(&c.irr_a));
            let (mut inc, ids) = route_server(&rpki, &irr);
            let (mut full, _) = route_server(&rpki, &irr);
            let ctx = DecodeCtx::default();
            for (t, (m, o, bh, prefixes)) in c.updates.iter().enumerate() {
                let msg = encode(*m, *o, *bh, prefixes);
                let id = ids[*m];
                inc.update(id, &msg, &ctx, t as u32).unwrap();
                full.update(id, &msg, &ctx, t as u32).unwrap();
            }
            flush_all(&mut inc, &ids);
            flush_all(&mut full, &ids);

            // A → B, and what the caches say changed.
            let (rpki_rx, irr_rx) = (rpki.subscribe(), irr.subscribe());
            let (g_rpki, g_irr) = (rpki_rx.borrow().number, irr_rx.borrow().number);
            let mut vrps_b: Vec<rov::Vrp> = c
                .vrps_a
                .iter()
                .zip(c.removed.iter().chain(std::iter::repeat(&false)))
                .filter(|(_, gone)| !**gone)
                .map(|(v, _)| *v)
                .collect();
            vrps_b.extend(&c.added);
            rpki.replace(rov::VrpTable::new(vrps_b, rov::AspaTable::default()));
            let irr_b: Vec<(Vec<usize>, Vec<Prefix>)> = c
                .irr_a
                .iter()
                .zip(&c.irr_b)
                .map(|(a, b)| b.clone().unwrap_or_else(|| a.clone()))
                .collect();
            irr.install(irr_snapshot(&irr_b));
            let mut affected = Affected::none();
            let g = rpki_rx.borrow().clone();
            if g.number != g_rpki {
                prop_assert_eq!(g.number, g_rpki + 1);
                affected.merge(&Affected::covered_by(g.changed.iter()));
            }
            let g = irr_rx.borrow().clone();
            if g.number != g_irr {
                prop_assert_eq!(g.number, g_irr + 1);
                affected.merge(&Affected::members(g.changed.iter().copied()));
            }

            let n_inc = inc.revalidate_affected(&affected);
            let n_full = full.revalidate();
            prop_assert_eq!(n_inc, n_full, "routes changed");
            prop_assert_eq!(flush_all(&mut inc, &ids), flush_all(&mut full, &ids));
            prop_assert_eq!(state(&inc, &ids), state(&full, &ids));

            cases.fetch_add(1, Ordering::Relaxed);
            if n_full > 0 {
                changed_cases.fetch_add(1, Ordering::Relaxed);
            }
            let total: usize = ids.iter().map(|&id| inc.counts(id).received).sum();
            if !affected.is_all() && total > 0 {
                skipped_routes.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    // The property was exercised: many cases changed verdicts, and the
    // incremental pass did not degenerate into a full one.
    let (n, changed) = (cases.into_inner(), changed_cases.into_inner());
    assert_eq!(n, 300);
    assert!(changed > 100, "only {changed} of {n} cases changed a route");
    assert!(skipped_routes.into_inner() > 100);
}

/// The incremental pass leaves alone what it is not told about: a VRP
/// change under 20.1.0.0/16 re-judges nothing when the pass is told about
/// another prefix (so the selection is real, not a full pass in disguise).
#[test]
fn routes_outside_the_affected_set_are_not_judged() {
    let rpki = rov::RpkiCache::new();
    let irr = irr::IrrCache::new();
    let (mut rs, ids) = route_server(&rpki, &irr);
    let ctx = DecodeCtx::default();
    let p1: Prefix = "20.1.0.0/16".parse().unwrap();
    let msg = encode(0, 0, false, &[p1]);
    rs.update(ids[0], &msg, &ctx, 1).unwrap();
    flush_all(&mut rs, &ids);
    // 20.1.0.0/16 now has a VRP for another AS: the route turns invalid.
    rpki.replace(rov::VrpTable::new(
        vec![rov::Vrp::new(p1, 16, 8888).unwrap()],
        rov::AspaTable::default(),
    ));
    let elsewhere = Affected::covered_by(["20.2.0.0/16".parse().unwrap()]);
    assert_eq!(rs.revalidate_affected(&elsewhere), 0);
    assert_eq!(rs.revalidate_affected(&Affected::members([2121])), 0);
    assert_eq!(rs.revalidate_affected(&Affected::none()), 0);
    assert_eq!(rs.counts(ids[0]).filtered, 0);
    // Told about a covering prefix: judged, rejected with code 14.
    let here = Affected::covered_by(["20.0.0.0/8".parse().unwrap()]);
    assert_eq!(rs.revalidate_affected(&here), 1);
    assert_eq!(rs.counts(ids[0]).filtered, 1);
    let r = rs.rib().routes_from(ids[0]);
    assert_eq!(r[0].1.reject, 1 << 14);
}
