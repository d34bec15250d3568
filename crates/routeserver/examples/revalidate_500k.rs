//! What incremental revalidation saves at full-table scale: 20 members
//! announce 500,000 IPv4 routes in all (10 prefixes an UPDATE, one origin
//! each) through the IXP policy with a VRP table of about 250,000 VRPs and
//! IRR data for every member; then the VRPs of a few prefixes change (an
//! RTR serial) and one member's IRR data changes. Each change is applied
//! by a full pass (`revalidate`) and by the incremental one
//! (`revalidate_affected`), A→B by the full pass, then B→A by
//! the incremental one, five times, and the times printed.
//!
//! Run with `cargo run --release -p routeserver --example revalidate_500k`
//! (arguments: total routes, changed VRP prefixes; default 500000 20).
//! Sessions are not brought up, so no export is encoded: the times are
//! the judging alone, which is what the two passes differ in.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bgp_wire::{AsPath, DecodeCtx, EncodeCtx, Nlri, Origin, PathAttributes, Prefix, UpdateMessage};
use policy::{IxpPolicy, MemberSettings, Settings};
use routeserver::{Affected, MemberInfo, RouteServer};

const RS: u32 = 64500;
const MEMBERS: u32 = 20;

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// The `i`th /24 of 20.0.0.0 to 59.255.255.0 (no bogons there).
fn slash24(i: usize) -> Prefix {
    let i = i as u32;
    Prefix::V4((20u32 << 24) + (i << 8), 24)
}

fn member(m: u32) -> (u32, Ipv4Addr) {
    (65_000 + m, Ipv4Addr::new(192, 0, 2, 1 + m as u8))
}

fn origin(route: usize) -> u32 {
    // 10 prefixes per origin, so an UPDATE is one origin's prefixes.
    3_000_000 + (route / 10) as u32
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let total = arg(1, 500_000);
    let n_changed = arg(2, 20);
    let per_member = total / MEMBERS as usize;

    // VRPs: one for every other route's prefix with its origin (Valid);
    // the rest NotFound.
    let vrps_a: Vec<rov::Vrp> = (0..total)
        .step_by(2)
        .filter_map(|r| rov::Vrp::new(slash24(r), 24, origin(r)).ok())
        .collect();
    // B: `n_changed` prefixes change their VRP's AS (the routes turn
    // Invalid), spread over the table.
    let mut vrps_b = vrps_a.clone();
    let step = (vrps_b.len() / n_changed.max(1)).max(1);
    for v in vrps_b.iter_mut().step_by(step).take(n_changed) {
        v.asn = 1;
    }
    let table_a = rov::VrpTable::new(vrps_a, rov::AspaTable::default());
    let table_b = rov::VrpTable::new(vrps_b, rov::AspaTable::default());
    let changed = rov::VrpTable::changed_prefixes(&table_a, &table_b);
    let rpki = rov::RpkiCache::new();
    rpki.replace(table_a.clone());

    // IRR: every member may announce its own prefixes and origins; B
    // drops a tenth of member 0's route objects.
    let irr_member = |m: u32, keep: usize| {
        let range = (m as usize * per_member)..((m as usize + 1) * per_member);
        irr::MemberIrr {
            asn: member(m).0,
            as_set: None,
            origins: range.clone().map(origin).collect::<BTreeSet<u32>>(),
            prefixes: irr::PrefixSet::with_limits(range.take(keep).map(slash24), 24, 48),
            fetched_at: SystemTime::now(),
            notes: Vec::new(),
        }
    };
    let irr_a = irr::IrrSnapshot::new((0..MEMBERS).map(|m| irr_member(m, per_member)));
    let irr_b = irr::IrrSnapshot::new((0..MEMBERS).map(|m| {
        irr_member(
            m,
            if m == 0 {
                per_member * 9 / 10
            } else {
                per_member
            },
        )
    }));
    let irr = irr::IrrCache::new();
    irr.install(irr_a.clone());

    let s = Settings::defaults(RS);
    let settings = (0..MEMBERS)
        .map(|m| MemberSettings::defaults(member(m).0, vec![IpAddr::V4(member(m).1)], &s))
        .collect();
    let mut pol = IxpPolicy::new(s, settings);
    pol.set_rpki(Some(Arc::new(rpki.clone())));
    pol.set_irr(Some(Arc::new(irr.clone())));
    let mut rs = RouteServer::new(pol);

    let t = Instant::now();
    let ctx = DecodeCtx::default();
    for m in 0..MEMBERS {
        let (asn, addr) = member(m);
        let id = rs.add_member(MemberInfo {
            asn,
            addr: IpAddr::V4(addr),
            name: format!("AS{asn}"),
        });
        let start = m as usize * per_member;
        for chunk in (start..start + per_member).collect::<Vec<_>>().chunks(10) {
            let u = UpdateMessage {
                withdrawn: Vec::new(),
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(AsPath::from_sequence(&[asn, origin(chunk[0])])),
                    next_hop: Some(addr),
                    ..PathAttributes::default()
                },
                nlri: chunk.iter().map(|&r| Nlri::new(slash24(r))).collect(),
            };
            let mut msg = Vec::new();
            u.encode(&EncodeCtx::default(), &mut msg);
            if let Err(e) = rs.update(id, &msg, &ctx, 0) {
                eprintln!("UPDATE rejected: {e}");
                return;
            }
        }
    }
    let routes: usize = rs.member_ids().map(|id| rs.counts(id).received).sum();
    println!(
        "{routes} routes from {MEMBERS} members loaded in {:.1} s; {} VRPs, {} VRP prefixes change",
        t.elapsed().as_secs_f64(),
        table_a.len(),
        changed.len()
    );

    let rounds = 5;
    let time = |rs: &mut RouteServer<IxpPolicy>,
                f: &dyn Fn(&mut RouteServer<IxpPolicy>) -> usize| {
        let t = Instant::now();
        let n = f(rs);
        (t.elapsed(), n)
    };

    // RPKI change: full pass against incremental, alternating A and B.
    let affected = Affected::covered_by(changed.iter().copied());
    let (mut full, mut inc) = (Vec::new(), Vec::new());
    let (mut n_full, mut n_inc) = (0, 0);
    for _ in 0..rounds {
        rpki.replace(table_b.clone());
        let (d, n) = time(&mut rs, &|rs| rs.revalidate());
        full.push(d);
        n_full = n;
        rpki.replace(table_a.clone());
        let (d, n) = time(&mut rs, &|rs| rs.revalidate_affected(&affected));
        inc.push(d);
        n_inc = n;
    }
    println!(
        "RPKI change: full pass {:.1} ms, incremental {:.3} ms (median of {rounds}; {n_full} and {n_inc} routes changed per pass)",
        median(full).as_secs_f64() * 1e3,
        median(inc).as_secs_f64() * 1e3,
    );

    // IRR change of one member.
    let affected = Affected::members([member(0).0]);
    let (mut full, mut inc) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        irr.install(irr_b.clone());
        let (d, n) = time(&mut rs, &|rs| rs.revalidate());
        full.push(d);
        n_full = n;
        irr.install(irr_a.clone());
        let (d, n) = time(&mut rs, &|rs| rs.revalidate_affected(&affected));
        inc.push(d);
        n_inc = n;
    }
    println!(
        "IRR change of 1 member ({per_member} routes): full pass {:.1} ms, incremental {:.1} ms (median of {rounds}; {n_full} and {n_inc} routes changed per pass)",
        median(full).as_secs_f64() * 1e3,
        median(inc).as_secs_f64() * 1e3,
    );
}
