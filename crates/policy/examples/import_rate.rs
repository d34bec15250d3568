//! How fast routes go through the IXP policy inside the route server, at
//! island scale (SPEC §8: 30 members, 20,000 routes): UPDATEs of 100
//! prefixes each applied to a `RouteServer<IxpPolicy>` and, for
//! comparison, a `RouteServer<AcceptAll>`; then a full `revalidate()`.
//!
//! `cargo run -p policy --example import_rate --profile test` (or
//! `--release`). Prints the rates; asserts nothing.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bgp_wire::UpdateMessage;
use bgp_wire::{AsPath, DecodeCtx, EncodeCtx, FamilySet, Nlri, Origin, PathAttributes, Prefix};
use policy::{IxpPolicy, MemberSettings, Settings};
use routeserver::{AcceptAll, MemberInfo, Policy, RouteServer};

const MEMBERS: u32 = 30;
/// Routes in all (666 per member).
const ROUTES: u32 = 19_980;
const PER_UPDATE: u32 = 100;

fn member_addr(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 10 + i as u8)
}

fn updates() -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let per_member = ROUTES / MEMBERS;
    for m in 0..MEMBERS {
        let asn = 3000 + m;
        let mut k = 0;
        while k < per_member {
            let n = PER_UPDATE.min(per_member - k);
            let nlri: Vec<Nlri> = (k..k + n)
                .map(|j| {
                    let a = (11u32 << 24) | (m << 16) | (j << 8);
                    Nlri::new(Prefix::v4(Ipv4Addr::from(a), 24).unwrap_or(Prefix::V4(0, 0)))
                })
                .collect();
            let u = UpdateMessage {
                withdrawn: Vec::new(),
                attributes: PathAttributes {
                    origin: Some(Origin::Igp),
                    as_path: Some(AsPath::from_sequence(&[asn, 15169 + k % 7, 2906])),
                    next_hop: Some(member_addr(m)),
                    communities: vec![(asn << 16) | 100, 64500 << 16 | (3000 + (m + 1) % MEMBERS)],
                    ..PathAttributes::default()
                },
                nlri,
            };
            let mut bytes = Vec::new();
            u.encode(&EncodeCtx::default(), &mut bytes);
            out.push((m, bytes));
            k += n;
        }
    }
    out
}

fn run<P: Policy>(name: &str, policy: P, ups: &[(u32, Vec<u8>)]) -> RouteServer<P> {
    let mut rs = RouteServer::new(policy);
    let ids: Vec<_> = (0..MEMBERS)
        .map(|m| {
            rs.add_member(MemberInfo {
                asn: 3000 + m,
                addr: IpAddr::V4(member_addr(m)),
                name: format!("m{m}"),
            })
        })
        .collect();
    for (i, id) in ids.iter().enumerate() {
        rs.established(*id, i as u32 + 1, FamilySet::BOTH, EncodeCtx::default());
    }
    let ctx = DecodeCtx::default();
    let t = Instant::now();
    let mut rejected = 0;
    for (m, bytes) in ups {
        if let Ok(o) = rs.update(ids[*m as usize], bytes, &ctx, 0) {
            rejected += o.rejected;
        }
    }
    let import = t.elapsed();
    let t = Instant::now();
    let mut bytes = 0usize;
    for id in &ids {
        let mut out = Vec::new();
        while rs.flush(*id, 4000, &mut out) {}
        bytes += out.len();
    }
    let export = t.elapsed();
    println!(
        "{name:<10} import {ROUTES} routes: {:>8.1} ms ({:>9.0} routes/s, {rejected} rejected); export to {MEMBERS} members: {:>8.1} ms ({} bytes)",
        import.as_secs_f64() * 1e3,
        f64::from(ROUTES) / import.as_secs_f64(),
        export.as_secs_f64() * 1e3,
        bytes
    );
    rs
}

fn main() {
    let ups = updates();
    run("AcceptAll", AcceptAll, &ups);
    let s = Settings::defaults(64500);
    let members = (0..MEMBERS)
        .map(|m| MemberSettings::defaults(3000 + m, vec![IpAddr::V4(member_addr(m))], &s))
        .collect();
    let mut rs = run("IxpPolicy", IxpPolicy::new(s, members), &ups);
    let t = Instant::now();
    let changed = rs.revalidate();
    let d = t.elapsed();
    println!(
        "IxpPolicy  revalidate {ROUTES} routes: {:>8.1} ms ({:>9.0} routes/s, {changed} changed)",
        d.as_secs_f64() * 1e3,
        f64::from(ROUTES) / d.as_secs_f64()
    );
}
