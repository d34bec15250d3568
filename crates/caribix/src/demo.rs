//! `caribix demo`: the whole route server on one machine, no setup, no
//! root. A route server on a loopback port of its own, a dozen simulated
//! members of an island IXP (real BGP sessions over TCP from 127.0.1.x)
//! announcing routes replayed from the RIPE RIS sample or generated, some
//! churn, a live summary on the terminal and the JSON API. One member is
//! misconfigured: it announces a bogon, a too-long AS path, a too-long
//! prefix, a path with the wrong first AS, a wrong next hop, an RPKI
//! invalid route (code 14), a route whose origin is not in its AS-SET
//! (code 9) and a prefix outside its AS-SET (code 12), which the IXP
//! policy rejects and the looking glass explains. It also asks the other
//! members to drop traffic to one host of its own space: a /32 with the
//! BLACKHOLE community (RFC 7999, 65535:666), accepted although longer
//! than /24 and RPKI invalid (its ROA stops at /24), and exported with
//! NO_EXPORT added.
//!
//! The RPKI data comes over RTR (RFC 8210) from an in-process cache
//! (`rov::RtrServer` on a loopback port of its own) to the same RTR client
//! `caribix run` uses; its VRPs make a sample of each member's routes
//! Valid. The IRR data is built in memory (`irr::IrrSnapshot`): each
//! member's AS-SET holds the origins of the routes it announces, its route
//! objects those routes; the misconfigured member's covers 45.0.0.0/16.
//! `/api/v1/policy` shows both sources.
//!
//! With `--check`, the demo verifies at the end that every member session
//! is Established, every member holds every other member's accepted routes
//! (and none of its own, and none of the rejected ones), the rejected
//! routes are kept with exactly their reasons, and the BLACKHOLE route
//! reached another member with NO_EXPORT and shows so in the API; it
//! exits non-zero otherwise: the integration test runs it that way.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp_session::State;
use bgp_wire::{NextHop, Nlri, Prefix};
use speaker::routes::{from_mrt, synthetic, Rng};
use speaker::{RouteGroup, Speaker, SpeakerConfig};

use crate::daemon::{self, PeerSpec, RsSpec};

/// Options of `caribix demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
    /// Where to serve the JSON API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    web: SocketAddr,
    /// MRT file to replay routes from.
    #[arg(long)]
    mrt: Option<PathBuf>,
    /// At the end, check that every member got every other member's
    /// routes; exit non-zero if not.
    #[arg(long)]
    check: bool,
}

struct DemoMember {
    name: &'static str,
    asn: u32,
    /// IPv4 prefixes replayed from MRT.
    mrt: usize,
    /// Generated IPv6 prefixes.
    v6: usize,
}

const RS_ASN: u32 = 64500;

/// The members of an island IXP: the kinds of networks a territory has.
const MEMBERS: &[DemoMember] = &[
    DemoMember {
        name: "Island Telecom (incumbent)",
        asn: 64496,
        mrt: 2500,
        v6: 400,
    },
    DemoMember {
        name: "Karukera Mobile",
        asn: 64497,
        mrt: 600,
        v6: 200,
    },
    DemoMember {
        name: "Soufriere Mobile",
        asn: 64498,
        mrt: 500,
        v6: 150,
    },
    DemoMember {
        name: "Basse-Terre Cable",
        asn: 64499,
        mrt: 900,
        v6: 300,
    },
    DemoMember {
        name: "Pointe-a-Pitre Hosting",
        asn: 64501,
        mrt: 300,
        v6: 100,
    },
    DemoMember {
        name: "Region Guadeloupe (government)",
        asn: 64502,
        mrt: 20,
        v6: 10,
    },
    DemoMember {
        name: "Universite des Antilles",
        asn: 64503,
        mrt: 40,
        v6: 20,
    },
    DemoMember {
        name: "CDN cache node",
        asn: 64504,
        mrt: 60,
        v6: 30,
    },
    DemoMember {
        name: "Marie-Galante Wireless",
        asn: 64505,
        mrt: 80,
        v6: 20,
    },
    DemoMember {
        name: "Les Saintes Net",
        asn: 64506,
        mrt: 30,
        v6: 10,
    },
    DemoMember {
        name: "Saint-Martin Transit",
        asn: 64507,
        mrt: 1500,
        v6: 300,
    },
    DemoMember {
        name: "Health network (e-sante)",
        asn: 64508,
        mrt: 10,
        v6: 5,
    },
    DemoMember {
        name: "Misconfigured Router Co",
        asn: 64509,
        mrt: 0,
        v6: 0,
    },
];

/// The member (index in [`MEMBERS`]) that announces bad routes, one per
/// reason the import policy gives, and one good route.
const BAD_MEMBER: usize = 12;

/// The bad member's routes: (prefix, AS path, next hop, expected reject
/// code; 0 for the good one).
fn bad_routes() -> Vec<(Prefix, Vec<u32>, Ipv4Addr, u32)> {
    let asn = MEMBERS[BAD_MEMBER].asn;
    let own = member_v4(BAD_MEMBER);
    let pfx = |a: [u8; 4], l: u8| Prefix::v4(Ipv4Addr::from(a), l).unwrap_or(Prefix::V4(0, 0));
    vec![
        (pfx([45, 0, 4, 0], 24), vec![asn], own, 0),
        (
            pfx([10, 99, 0, 0], 16),
            vec![asn],
            own,
            policy::code::BOGON_PREFIX,
        ),
        (
            DEMO_RPKI_INVALID.0,
            vec![asn],
            own,
            policy::code::RPKI_INVALID,
        ),
        (
            pfx([45, 0, 5, 0], 24),
            vec![asn, 64666],
            own,
            policy::code::ORIGIN_NOT_IN_AS_SET,
        ),
        (
            pfx([46, 0, 7, 0], 24),
            vec![asn],
            own,
            policy::code::PREFIX_NOT_IN_AS_SET,
        ),
        (
            pfx([45, 0, 0, 0], 24),
            vec![asn; 40],
            own,
            policy::code::AS_PATH_TOO_LONG,
        ),
        (
            pfx([45, 0, 1, 0], 25),
            vec![asn],
            own,
            policy::code::INVALID_PREFIX_LEN,
        ),
        (
            pfx([45, 0, 2, 0], 24),
            vec![15169],
            own,
            policy::code::INVALID_LEFT_MOST_ASN,
        ),
        (
            pfx([45, 0, 3, 0], 24),
            vec![asn],
            Ipv4Addr::new(127, 0, 1, 99),
            policy::code::INVALID_NEXT_HOP,
        ),
    ]
}

/// A prefix of the misconfigured member's space with a ROA for another AS
/// (and that AS), so the member's announcement is RPKI invalid.
const DEMO_RPKI_INVALID: (Prefix, u32) = (Prefix::V4(0x2d00_0600, 24), 64510);

/// The misconfigured member's registered space (its route object).
const BAD_MEMBER_SPACE: Prefix = Prefix::V4(0x2d00_0000, 16);

/// The host the misconfigured member blackholes (RFC 7999): 45.0.4.66/32,
/// inside its good route 45.0.4.0/24 and its registered space.
const DEMO_BLACKHOLE: Prefix = Prefix::V4(0x2d00_0442, 32);

/// The codes a bad route is rejected with besides the one it was built
/// for: outside the member's registered space (12) or with an origin that
/// is not in its AS-SET (9).
fn side_codes(prefix: &Prefix, path: &[u32]) -> u32 {
    let mut mask = 0;
    if !BAD_MEMBER_SPACE.contains(prefix) {
        mask |= 1 << policy::code::PREFIX_NOT_IN_AS_SET;
    }
    if path.last() != Some(&MEMBERS[BAD_MEMBER].asn) {
        mask |= 1 << policy::code::ORIGIN_NOT_IN_AS_SET;
    }
    mask
}

/// The demo's import policy: the defaults of SPEC §3, except that the
/// members' paths may hold private and documentation ASNs (the demo's
/// members and the synthetic paths use them) and transit-free networks
/// (the demo replays a full-table sample as its members' routes, so
/// tier-1 networks are in most paths).
fn demo_policy(sources: &DemoSources) -> policy::IxpPolicy {
    let mut s = policy::Settings::defaults(RS_ASN);
    s.allow_private_asns = true;
    s.transit_free_asns.clear();
    let members = MEMBERS
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut ms = policy::MemberSettings::defaults(
                m.asn,
                vec![IpAddr::V4(member_v4(i)), IpAddr::V6(member_v6(i))],
                &s,
            );
            // Limits with room for growth, as an operator would set them.
            ms.max_prefix = registry::MaxPrefix {
                ipv4: (2 * m.mrt as u32).max(100),
                ipv6: (2 * m.v6 as u32).max(50),
            };
            ms
        })
        .collect();
    let mut p = policy::IxpPolicy::new(s, members);
    p.set_rpki(Some(Arc::new(sources.rpki.clone())));
    p.set_irr(Some(Arc::new(sources.irr.clone())));
    p
}

/// Whether a replayed route would be rejected for a reason the demo does
/// not mean to show: bogon prefixes or reserved ASNs in the RIS sample.
fn unwanted(g: &RouteGroup, n: &Nlri) -> bool {
    use bgp_wire::attr::{type_code, RawAttrIter};
    if policy::bogons::is_bogon_prefix(&n.prefix) {
        return true;
    }
    // Paths ending in an AS_SET have no origin AS, which no AS-SET holds.
    RawAttrIter::new(&g.block)
        .filter(|a| a.type_code == type_code::AS_PATH)
        .filter_map(|a| bgp_wire::AsPathRef::new(a.value, true).ok())
        .any(|p| {
            p.path_len() > 32
                || p.origin_asn().is_none()
                || p.asns().any(|a| policy::bogons::is_bogon_asn(a, true))
        })
}

/// The origin AS of a group's AS_PATH.
fn origin_of(g: &RouteGroup) -> Option<u32> {
    use bgp_wire::attr::{type_code, RawAttrIter};
    RawAttrIter::new(&g.block)
        .filter(|a| a.type_code == type_code::AS_PATH)
        .filter_map(|a| bgp_wire::AsPathRef::new(a.value, true).ok())
        .find_map(|p| p.origin_asn())
}

/// The AS-SET the demo registers for member `asn`.
fn demo_as_set(asn: u32) -> String {
    format!("AS{asn}:AS-DEMO")
}

/// The demo's IRR data: each member's AS-SET holds its own AS and the
/// origins of its routes, its route objects the prefixes it announces;
/// the misconfigured member's only its AS and [`BAD_MEMBER_SPACE`].
fn demo_irr(routes: &[Vec<RouteGroup>]) -> irr::IrrSnapshot {
    let now = std::time::SystemTime::now();
    let members = MEMBERS.iter().enumerate().map(|(i, m)| {
        let mut origins = std::collections::BTreeSet::from([m.asn]);
        let mut prefixes = Vec::new();
        if i == BAD_MEMBER {
            prefixes.push(BAD_MEMBER_SPACE);
        } else {
            for g in routes.get(i).into_iter().flatten() {
                origins.extend(origin_of(g));
                prefixes.extend(g.nlri.iter().map(|n| n.prefix));
            }
        }
        irr::MemberIrr {
            asn: m.asn,
            as_set: Some(demo_as_set(m.asn)),
            origins,
            prefixes: irr::PrefixSet::with_limits(prefixes, 32, 128),
            fetched_at: now,
            notes: Vec::new(),
        }
    });
    irr::IrrSnapshot::new(members)
}

/// The demo's VRPs: for up to 50 IPv4 routes of each member, one ROA for
/// the origin in its path and one for the member itself (the churn
/// re-announces routes with the member's own path); prefixes announced by
/// two members, or covering another announced prefix (whose route the
/// ROA would make invalid), get none. Plus the ROAs of the misconfigured member: its
/// good route, and [`DEMO_RPKI_INVALID`] for another AS.
fn demo_vrps(routes: &[Vec<RouteGroup>]) -> rov::VrpTable {
    let mut seen: HashMap<Prefix, usize> = HashMap::new();
    for g in routes.iter().flatten() {
        for n in &g.nlri {
            *seen.entry(n.prefix).or_default() += 1;
        }
    }
    let mut all: Vec<Prefix> = seen.keys().copied().collect();
    all.sort_unstable();
    let covers_other = |p: &Prefix| all.iter().any(|q| q != p && p.contains(q));
    let mut vrps = Vec::new();
    for (i, groups) in routes.iter().enumerate() {
        if i == BAD_MEMBER {
            continue;
        }
        let mut n = 0;
        for g in groups {
            let Some(origin) = origin_of(g) else { continue };
            for p in g.nlri.iter().map(|n| n.prefix) {
                if n >= 50
                    || !matches!(p, Prefix::V4(..))
                    || seen.get(&p) != Some(&1)
                    || covers_other(&p)
                {
                    continue;
                }
                n += 1;
                vrps.extend(rov::Vrp::new(p, p.len(), origin));
                vrps.extend(rov::Vrp::new(p, p.len(), MEMBERS[i].asn));
            }
        }
    }
    let bad = MEMBERS[BAD_MEMBER].asn;
    if let Ok(good) = Prefix::v4(Ipv4Addr::new(45, 0, 4, 0), 24) {
        vrps.extend(rov::Vrp::new(good, 24, bad));
    }
    vrps.extend(rov::Vrp::new(DEMO_RPKI_INVALID.0, 24, DEMO_RPKI_INVALID.1));
    rov::VrpTable::new(vrps, rov::AspaTable::default())
}

/// The in-process RTR cache, the RTR client reading it, and the IRR data.
struct DemoSources {
    _server: rov::RtrServer,
    rtr_addr: SocketAddr,
    rpki: rov::RpkiCache,
    irr: irr::IrrCache,
    client: tokio::task::JoinHandle<()>,
    cache_dir: PathBuf,
}

impl Drop for DemoSources {
    fn drop(&mut self) {
        self.client.abort();
        let _ = std::fs::remove_dir_all(&self.cache_dir);
    }
}

/// Start the in-process RTR cache and the client, wait (bounded) for the
/// first sync, and build the IRR data.
async fn demo_sources(routes: &[Vec<RouteGroup>]) -> Result<DemoSources, String> {
    let table = demo_vrps(routes);
    let server = rov::RtrServer::bind(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        &table,
        rov::Timing::default(),
    )
    .await
    .map_err(|e| format!("in-process RTR cache: {e}"))?;
    let cache_dir = std::env::temp_dir().join(format!("caribix-demo-rpki-{}", std::process::id()));
    let config = rov::RtrConfig::new([server.local_addr().to_string()], cache_dir.clone());
    let (rpki, client) = rov::RtrClient::new(config).spawn();
    // The first sync is local and takes milliseconds; bounded all the same.
    let deadline = Instant::now() + Duration::from_secs(10);
    while rpki.current().len() != table.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if rpki.current().len() != table.len() {
        client.abort();
        return Err("the RTR client did not sync with the in-process cache".into());
    }
    let irr = irr::IrrCache::new();
    irr.install(demo_irr(routes));
    Ok(DemoSources {
        rtr_addr: server.local_addr(),
        _server: server,
        rpki,
        irr,
        client,
        cache_dir,
    })
}

fn member_v4(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, 11 + i as u8)
}

fn member_v6(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x11 + i as u16)
}

fn default_mrt() -> PathBuf {
    // The shared reference data sits beside the repository.
    let candidates = [
        PathBuf::from("../shared/data/mrt/ris-rrc15-updates.20100227.1600.gz"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/mrt/ris-rrc15-updates.20100227.1600.gz"),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

/// Build every member's routes. Members replay disjoint slices of the MRT
/// sample; the CDN also announces a few of the hosting member's prefixes
/// with a longer path, so best-path selection has something to choose.
fn build_routes(mrt: &std::path::Path) -> Result<Vec<Vec<RouteGroup>>, String> {
    let mut exclude = HashSet::new();
    let mut all = Vec::new();
    for (i, m) in MEMBERS.iter().enumerate() {
        let nh4 = NextHop::V4(member_v4(i));
        let mut groups = from_mrt(mrt, m.asn, nh4, m.mrt, &mut exclude)
            .map_err(|e| format!("{}: {e}", mrt.display()))?;
        let nh6 = NextHop::V6 {
            global: member_v6(i),
            link_local: None,
        };
        groups.extend(synthetic(i as u32, m.asn, nh6, m.v6, true));
        for g in &mut groups {
            let keep: Vec<Nlri> = g.nlri.iter().filter(|n| !unwanted(g, n)).copied().collect();
            g.nlri = keep;
        }
        groups.retain(|g| !g.nlri.is_empty());
        all.push(groups);
    }
    if let Some(bad) = all.get_mut(BAD_MEMBER) {
        for (prefix, path, nh, _) in bad_routes() {
            let attrs = bgp_wire::PathAttributes {
                origin: Some(bgp_wire::Origin::Igp),
                as_path: Some(bgp_wire::AsPath::from_sequence(&path)),
                ..bgp_wire::PathAttributes::default()
            };
            bad.push(RouteGroup {
                block: speaker::routes::block(&attrs),
                next_hop: NextHop::V4(nh),
                nlri: vec![Nlri::new(prefix)],
            });
        }
        let attrs = bgp_wire::PathAttributes {
            origin: Some(bgp_wire::Origin::Igp),
            as_path: Some(bgp_wire::AsPath::from_sequence(&[MEMBERS[BAD_MEMBER].asn])),
            communities: vec![policy::communities::BLACKHOLE],
            ..bgp_wire::PathAttributes::default()
        };
        bad.push(RouteGroup {
            block: speaker::routes::block(&attrs),
            next_hop: NextHop::V4(member_v4(BAD_MEMBER)),
            nlri: vec![Nlri::new(DEMO_BLACKHOLE)],
        });
    }
    // Overlap: the CDN (index 7) re-announces ten of the hosting member's
    // (index 4) prefixes.
    let shared: Vec<Nlri> = all[4]
        .iter()
        .flat_map(|g| g.nlri.iter().copied())
        .filter(|n| matches!(n.prefix, Prefix::V4(..)))
        .take(10)
        .collect();
    if let Some(g) = all[7].first().cloned() {
        all[7].push(RouteGroup { nlri: shared, ..g });
    }
    Ok(all)
}

pub(crate) async fn run(args: DemoArgs) -> ExitCode {
    let mrt = args.mrt.clone().unwrap_or_else(default_mrt);
    let routes = match build_routes(&mrt) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot load the demo routes: {e}");
            eprintln!("hint: pass --mrt FILE (an MRT BGP4MP dump)");
            return ExitCode::FAILURE;
        }
    };
    let sources = match demo_sources(&routes).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let spec = RsSpec {
        name: "demo-rs".into(),
        asn: RS_ASN,
        router_id: Ipv4Addr::new(127, 0, 0, 1),
        listen: vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)],
        hold_time: 30,
        restart_delay: Duration::from_secs(1),
        peers: MEMBERS
            .iter()
            .enumerate()
            .map(|(i, m)| PeerSpec {
                asn: m.asn,
                addr: IpAddr::V4(member_v4(i)),
                name: m.name.to_string(),
                active: false,
                md5: None,
                gtsm: false,
                add_path: false,
            })
            .collect(),
        policy: demo_policy(&sources),
        max_prefix: daemon::MaxPrefixAction::Restart(Duration::from_secs(60)),
        connect_retry: Duration::from_secs(30),
        graceful_restart: routeserver::RestartLimits::default(),
    };
    let handle = match daemon::start(spec).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot start the route server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rs_addr = handle.listening[0];
    let status: crate::policy_sources::StatusCell = Arc::new(std::sync::RwLock::new(
        crate::policy_sources::SourcesStatus::fixed(
            Some((sources.rpki.clone(), vec![sources.rtr_addr.to_string()])),
            Some(sources.irr.clone()),
            MEMBERS
                .iter()
                .map(|m| irr::MemberSpec {
                    asn: m.asn,
                    as_set: Some(demo_as_set(m.asn)),
                })
                .collect(),
        ),
    ));
    // Judge the routes again whenever the VRPs change (as `caribix run`
    // does); the demo's own data changes only if the cache is edited.
    let mut vrp_changes = sources.rpki.subscribe();
    let mut seen = vrp_changes.borrow_and_update().number;
    let rh = handle.clone();
    tokio::spawn(async move {
        while vrp_changes.changed().await.is_ok() {
            let g = vrp_changes.borrow_and_update().clone();
            let affected = crate::policy_sources::rpki_affected(seen, &g);
            seen = g.number;
            if !rh.revalidate_affected(Arc::new(affected)) {
                return;
            }
        }
    });
    let web = match crate::api::serve(args.web, handle.clone(), status.clone()).await {
        Ok(a) => a,
        Err(_) => {
            match crate::api::serve(SocketAddr::new(args.web.ip(), 0), handle.clone(), status).await
            {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: cannot serve the API: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    println!(
        "caribix demo: route server AS{RS_ASN} on {rs_addr}, {} members",
        MEMBERS.len()
    );
    println!("  JSON API:  http://{web}/api/v1/neighbors");
    println!("  routes:    http://{web}/api/v1/neighbors/AS64496_127_0_1_11/routes");
    println!(
        "  filtered:  http://{web}/api/v1/neighbors/AS{}_127_0_1_{}/routes?filtered=true",
        MEMBERS[BAD_MEMBER].asn,
        11 + BAD_MEMBER
    );
    println!(
        "  policy:    http://{web}/api/v1/policy  (checks on, RTR cache {}, {} VRPs, IRR data of {} members)",
        sources.rtr_addr,
        sources.rpki.current().len(),
        sources.irr.current().len()
    );
    println!(
        "  blackhole: {DEMO_BLACKHOLE} from {} with 65535:666, exported with NO_EXPORT  (filtered=false on the link above)",
        MEMBERS[BAD_MEMBER].name
    );
    let announced: Vec<HashSet<Prefix>> = routes
        .iter()
        .map(|g| {
            g.iter()
                .flat_map(|g| g.nlri.iter().map(|n| n.prefix))
                .collect()
        })
        .collect();
    let traffic = crate::demo_traffic::start(
        &handle,
        &MEMBERS.iter().map(|m| (m.asn, m.name)).collect::<Vec<_>>(),
        member_v4,
        &announced,
    )
    .await
    .inspect_err(|e| eprintln!("error: no simulated traffic: {e}"))
    .ok();
    println!("  traffic:   http://{web}/api/v1/traffic/matrix  (also members, local, opportunities; /metrics)");
    let speakers: Vec<Speaker> = MEMBERS
        .iter()
        .enumerate()
        .zip(routes)
        .map(|((i, m), r)| {
            Speaker::start(
                SpeakerConfig {
                    asn: m.asn,
                    router_id: member_v4(i),
                    local: IpAddr::V4(member_v4(i)),
                    remote: rs_addr,
                    peer_as: RS_ASN,
                    hold_time: 30,
                    keep_routes: true,
                },
                r,
            )
        })
        .collect();
    let started = Instant::now();
    let end = args.duration.map(|d| started + Duration::from_secs(d));
    let tty = std::io::stdout().is_terminal();
    let mut rng = Rng::new(7);
    let mut churned: Vec<(usize, Vec<RouteGroup>)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut round = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        round += 1;
        if end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        // Churn: every other tick, one member withdraws a few prefixes and
        // brings back those withdrawn the tick before.
        if round % 2 == 0 && started.elapsed() > Duration::from_secs(6) {
            for (i, groups) in churned.drain(..) {
                speakers[i].announce(groups);
            }
            // Not the bad member: re-announced with a plain path, its bad
            // routes would turn good.
            let i = rng.below(BAD_MEMBER as u64) as usize;
            let nlri: Vec<Nlri> = announced[i]
                .iter()
                .filter(|p| matches!(p, Prefix::V4(..)))
                .take(5)
                .map(|p| Nlri::new(*p))
                .collect();
            if !nlri.is_empty() {
                speakers[i].withdraw(nlri.clone());
                churned.push((i, reannounce(&nlri, i)));
            }
        }
        print_summary(&speakers, &announced, started, tty);
    }
    // Let the last churn settle before checking.
    for (i, groups) in churned.drain(..) {
        speakers[i].announce(groups);
    }
    if args.check {
        let ok = check(&speakers, &announced).await
            & check_rejected(&handle).await
            & check_policy_api(web).await
            & check_blackhole(&speakers, web).await
            & crate::demo_traffic::check(traffic.as_ref(), web).await;
        print_summary(&speakers, &announced, started, false);
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    print_summary(&speakers, &announced, started, false);
    for s in &speakers {
        s.stop("caribix demo ends");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    ExitCode::SUCCESS
}

/// Re-announcement of withdrawn prefixes with the member's plain path.
fn reannounce(nlri: &[Nlri], i: usize) -> Vec<RouteGroup> {
    let attrs = bgp_wire::PathAttributes {
        origin: Some(bgp_wire::Origin::Igp),
        as_path: Some(bgp_wire::AsPath::from_sequence(&[MEMBERS[i].asn])),
        ..bgp_wire::PathAttributes::default()
    };
    vec![RouteGroup {
        block: speaker::routes::block(&attrs),
        next_hop: NextHop::V4(member_v4(i)),
        nlri: nlri.to_vec(),
    }]
}

/// What member `i` should hold: every prefix announced by a member of
/// another AS, except those the import policy rejects.
fn expected(announced: &[HashSet<Prefix>], i: usize) -> HashSet<Prefix> {
    let rejected: HashSet<Prefix> = bad_routes()
        .into_iter()
        .filter(|r| r.3 != 0)
        .map(|r| r.0)
        .collect();
    let mut e = HashSet::new();
    for (j, a) in announced.iter().enumerate() {
        if MEMBERS[j].asn != MEMBERS[i].asn {
            e.extend(a.iter().filter(|p| !rejected.contains(p)).copied());
        }
    }
    e
}

async fn check(speakers: &[Speaker], announced: &[HashSet<Prefix>]) -> bool {
    let mut ok = true;
    for (i, s) in speakers.iter().enumerate() {
        let want = expected(announced, i);
        let got = s
            .wait_for(Duration::from_secs(20), |s| {
                s.state() == State::Established && s.prefix_count() as usize == want.len()
            })
            .await;
        let have: HashMap<Prefix, speaker::Received> = s.received();
        let keys: HashSet<Prefix> = have.keys().copied().collect();
        let own = announced[i]
            .iter()
            .filter(|p| keys.contains(p) && !want.contains(p))
            .count();
        let missing = want.difference(&keys).count();
        // Transparency: the first AS is the announcing member's, never the
        // route server's.
        let rs_in_path = have
            .values()
            .filter(|r| r.as_path.contains(&RS_ASN))
            .count();
        if !got || own > 0 || missing > 0 || rs_in_path > 0 {
            ok = false;
            eprintln!(
                "check failed for {} (AS{}): state {}, {} of {} expected prefixes, {} missing, {} of its own, {} with the route server's AS in the path",
                MEMBERS[i].name,
                MEMBERS[i].asn,
                s.state(),
                keys.len(),
                want.len(),
                missing,
                own,
                rs_in_path
            );
        }
    }
    if ok {
        println!("check passed: every member Established and holding every other member's routes");
    }
    ok
}

/// The misconfigured member's routes are kept by the route server with
/// exactly the reason each was built to trigger.
async fn check_rejected(handle: &daemon::Handle) -> bool {
    let addr = IpAddr::V4(member_v4(BAD_MEMBER));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sent = handle.run(move |v| {
        let routes: Option<HashMap<Prefix, u32>> = v
            .sessions()
            .into_iter()
            .find(|(_, s, _)| s.addr == addr)
            .map(|(id, _, _)| {
                v.rs.rib()
                    .routes_from(id)
                    .into_iter()
                    .map(|(n, r)| (n.prefix, r.reject))
                    .collect()
            });
        let _ = tx.send(routes);
    });
    let Some(Ok(Some(held))) = sent.then_some(rx.await) else {
        eprintln!("check failed: the route server did not answer for the misconfigured member");
        return false;
    };
    let mut ok = true;
    for (prefix, path, _, code) in bad_routes() {
        let want = if code == 0 {
            0
        } else {
            (1u32 << code) | side_codes(&prefix, &path)
        };
        match held.get(&prefix) {
            Some(&mask) if mask == want => {}
            got => {
                ok = false;
                eprintln!(
                    "check failed: {prefix} from the misconfigured member: reject mask {got:?}, expected {want:#b}"
                );
            }
        }
    }
    if ok {
        println!("check passed: the misconfigured member's bad routes are kept with their reasons");
    }
    ok
}

/// The BLACKHOLE route (RFC 7999): another member holds it with its next
/// hop unchanged and NO_EXPORT added (RFC 7999 §3.2), and the API lists it
/// among the misconfigured member's accepted routes with both communities.
async fn check_blackhole(speakers: &[Speaker], web: SocketAddr) -> bool {
    use policy::communities::{BLACKHOLE, NO_EXPORT};
    let std_pair = |c: u32| serde_json::json!([c >> 16, c & 0xffff]);
    let at = |i: usize| -> Result<(), String> {
        let s = speakers.get(i).ok_or("no such member")?;
        let got = s.received();
        let r = got.get(&DEMO_BLACKHOLE).ok_or(format!(
            "{} does not hold {DEMO_BLACKHOLE}",
            MEMBERS[i].name
        ))?;
        if !r.communities.contains(&NO_EXPORT) || !r.communities.contains(&BLACKHOLE) {
            return Err(format!(
                "{} holds {DEMO_BLACKHOLE} with communities {:x?}, not BLACKHOLE and NO_EXPORT",
                MEMBERS[i].name, r.communities
            ));
        }
        if r.next_hop != Some(NextHop::V4(member_v4(BAD_MEMBER))) {
            return Err(format!("next hop {:?} changed", r.next_hop));
        }
        Ok(())
    };
    let api = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let id =
            crate::api::neighbor_id(MEMBERS[BAD_MEMBER].asn, IpAddr::V4(member_v4(BAD_MEMBER)));
        let routes = api_get(
            web,
            &format!("/api/v1/neighbors/{id}/routes?filtered=false"),
        )?;
        let want = DEMO_BLACKHOLE.to_string();
        let r = routes["routes"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["prefix"] == want.as_str()))
            .ok_or(format!("{want} not among the accepted routes of {id}"))?;
        let c = r["communities"].as_array().cloned().unwrap_or_default();
        if !c.contains(&std_pair(BLACKHOLE)) || !c.contains(&std_pair(NO_EXPORT)) {
            return Err(format!("{want} in the API: {r}"));
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match at(0).and(api) {
        Ok(()) => {
            println!("check passed: the BLACKHOLE /32 reached another member with NO_EXPORT and its next hop, and the API shows it accepted");
            true
        }
        Err(e) => {
            eprintln!("check failed: BLACKHOLE: {e}");
            false
        }
    }
}

/// GETs `path` from the API at `web` and parses the JSON body (blocking:
/// call from `spawn_blocking`).
fn api_get(web: SocketAddr, path: &str) -> Result<serde_json::Value, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&web, Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{path}: {head} {body}"));
    }
    serde_json::from_str(body).map_err(|e| format!("{path}: {e}: {body}"))
}

/// The looking glass explains the RPKI and IRR rejections in words, and
/// `/api/v1/policy` says both checks are on with a connected RTR cache.
async fn check_policy_api(web: SocketAddr) -> bool {
    let r = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let p = api_get(web, "/api/v1/policy")?;
        let checks = &p["checks"];
        if checks["rpki"] != true || checks["irr_origin"] != true || checks["irr_prefix"] != true {
            return Err(format!("checks not all on: {checks}"));
        }
        let state = &p["data_sources"]["rpki"]["state"];
        if state != "cache connected" {
            return Err(format!("RTR state {state}"));
        }
        let id =
            crate::api::neighbor_id(MEMBERS[BAD_MEMBER].asn, IpAddr::V4(member_v4(BAD_MEMBER)));
        let routes = api_get(web, &format!("/api/v1/neighbors/{id}/routes?filtered=true"))?;
        let routes = routes["routes"].as_array().cloned().unwrap_or_default();
        for code in [
            policy::code::RPKI_INVALID,
            policy::code::ORIGIN_NOT_IN_AS_SET,
            policy::code::PREFIX_NOT_IN_AS_SET,
        ] {
            let text = policy::reason_text(code);
            let shown = routes.iter().any(|r| {
                r["reasons"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().any(|x| x["code"] == code && x["text"] == text))
                    && r["large_communities"].as_array().is_some_and(|lc| {
                        lc.iter()
                            .any(|c| *c == serde_json::json!([RS_ASN, 1101, code]))
                    })
            });
            if !shown {
                return Err(format!(
                    "no filtered route with reason {code} ({text}) and {RS_ASN}:1101:{code}"
                ));
            }
        }
        Ok(())
    })
    .await;
    match r {
        Ok(Ok(())) => {
            println!("check passed: the API explains the RPKI invalid (14), origin not in AS-SET (9) and prefix not in AS-SET (12) routes; RPKI and IRR checks on, RTR cache connected");
            true
        }
        Ok(Err(e)) => {
            eprintln!("check failed: policy API: {e}");
            false
        }
        Err(e) => {
            eprintln!("check failed: {e}");
            false
        }
    }
}

fn print_summary(speakers: &[Speaker], announced: &[HashSet<Prefix>], started: Instant, tty: bool) {
    if tty {
        print!("\x1b[2J\x1b[H");
    }
    println!("caribix demo, {} s", started.elapsed().as_secs());
    println!(
        "{:<32} {:>7} {:<12} {:>9} {:>9}",
        "member", "AS", "session", "announces", "receives"
    );
    for (i, s) in speakers.iter().enumerate() {
        println!(
            "{:<32} {:>7} {:<12} {:>9} {:>9}",
            MEMBERS[i].name,
            MEMBERS[i].asn,
            s.state().name(),
            announced[i].len(),
            s.prefix_count()
        );
    }
}
