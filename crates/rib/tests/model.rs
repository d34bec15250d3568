//! Property test: after any sequence of announcements, withdrawals and
//! session losses, what the RIB exports to each member (both its answer
//! and the UPDATE stream it wrote) is exactly the best route, by an
//! independent reference order, among those the member may receive.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::attr::{flags, type_code, Origin};
use bgp_wire::message::frame;
use bgp_wire::owned::write_attr;
use bgp_wire::{AsPath, DecodeCtx, EncodeCtx, FamilySet, Message, NextHop, Nlri, Prefix};
use proptest::prelude::*;
use rib::{ExportCtl, PeerId, Rib, RouteAttrs};

#[derive(Clone, Debug)]
struct R {
    pref: u32,
    len: u16,
    origin: u8,
    med: u32,
    deny: Option<usize>,
    reject: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Announce {
        peer: usize,
        prefix: usize,
        route: R,
    },
    Withdraw {
        peer: usize,
        prefix: usize,
    },
    Down {
        peer: usize,
    },
    Flush {
        peer: usize,
    },
}

const PEERS: usize = 5;
// Peers 0 and 1 share an AS (one member, two routers).
const ASNS: [u32; PEERS] = [65001, 65001, 65002, 65003, 65004];

fn route() -> impl Strategy<Value = R> {
    (
        prop_oneof![Just(100u32), Just(0u32)],
        1u16..4,
        0u8..3,
        0u32..3,
        prop::option::of(0usize..PEERS),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(pref, len, origin, med, deny, reject)| R {
            pref,
            len,
            origin,
            med,
            deny,
            reject,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..PEERS, 0usize..4, route()).prop_map(|(peer, prefix, route)| Op::Announce { peer, prefix, route }),
        2 => (0..PEERS, 0usize..4).prop_map(|(peer, prefix)| Op::Withdraw { peer, prefix }),
        1 => (0..PEERS).prop_map(|peer| Op::Down { peer }),
        2 => (0..PEERS).prop_map(|peer| Op::Flush { peer }),
    ]
}

fn prefix(i: usize) -> Prefix {
    Prefix::v4(Ipv4Addr::new(198, 51, 100 + i as u8, 0), 24).unwrap()
}

fn origin(o: u8) -> Origin {
    match o {
        0 => Origin::Igp,
        1 => Origin::Egp,
        _ => Origin::Incomplete,
    }
}

/// The path encodes the announcing peer (first AS = 64600 + peer) so the
/// stream tells who a route came from.
fn make(rib: &mut Rib, peer: usize, r: &R) -> std::sync::Arc<RouteAttrs> {
    let mut path = vec![64600 + peer as u32];
    path.resize(r.len as usize, 64999);
    let mut block = Vec::new();
    write_attr(&mut block, flags::TRANSITIVE, type_code::ORIGIN, |b| {
        b.push(r.origin)
    });
    let p = AsPath::from_sequence(&path);
    write_attr(&mut block, flags::TRANSITIVE, type_code::AS_PATH, |b| {
        p.write(true, b)
    });
    rib.intern(RouteAttrs {
        block: block.into(),
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 10 + peer as u8)),
        pref: r.pref,
        as_path_len: r.len,
        origin: origin(r.origin),
        med: r.med,
        export: ExportCtl {
            deny: r.deny.map(|d| vec![ASNS[d]]).unwrap_or_default().into(),
            ..ExportCtl::default()
        },
        received: None,
    })
}

fn apply_stream(out: &[u8], state: &mut BTreeMap<Prefix, usize>) {
    let mut buf = out;
    let ctx = DecodeCtx::default();
    while let Some(len) = frame(buf, 4096).unwrap() {
        if let Message::Update(u) = Message::decode(&buf[..len], &ctx).unwrap() {
            for n in u.withdrawals() {
                state.remove(&n.prefix);
            }
            let from = u
                .attributes
                .as_path
                .and_then(|p| p.first_asn())
                .map(|a| (a - 64600) as usize);
            for n in u.announced() {
                state.insert(n.prefix, from.unwrap());
            }
        }
        buf = &buf[len..];
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn export_is_the_best_allowed_route(ops in prop::collection::vec(op(), 1..60)) {
        let mut rib = Rib::new();
        let ids: Vec<PeerId> = (0..PEERS)
            .map(|i| rib.add_peer(ASNS[i], IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i as u8))))
            .collect();
        for (i, &id) in ids.iter().enumerate() {
            rib.peer_up(id, 100 - i as u32, FamilySet::BOTH, EncodeCtx::default());
        }
        // Model: per (peer, prefix) the current route.
        let mut model: BTreeMap<(usize, usize), R> = BTreeMap::new();
        let mut streams: Vec<BTreeMap<Prefix, usize>> = vec![BTreeMap::new(); PEERS];
        let mut up = [true; PEERS];
        for op in &ops {
            match op {
                Op::Announce { peer, prefix: pi, route } => {
                    if !up[*peer] {
                        continue;
                    }
                    let at = make(&mut rib, *peer, route);
                    rib.announce(ids[*peer], Nlri::new(prefix(*pi)), at, u32::from(route.reject), 0);
                    model.insert((*peer, *pi), route.clone());
                }
                Op::Withdraw { peer, prefix: pi } => {
                    rib.withdraw(ids[*peer], Nlri::new(prefix(*pi)));
                    model.remove(&(*peer, *pi));
                }
                Op::Down { peer } => {
                    rib.peer_down(ids[*peer]);
                    model.retain(|(p, _), _| p != peer);
                    streams[*peer].clear();
                    // Bring it back at once, as a reconnect would.
                    rib.peer_up(ids[*peer], 100 - *peer as u32, FamilySet::BOTH, EncodeCtx::default());
                    up[*peer] = true;
                }
                Op::Flush { peer } => {
                    let mut out = Vec::new();
                    while rib.flush(ids[*peer], 3, &mut out) {}
                    apply_stream(&out, &mut streams[*peer]);
                }
            }
        }
        for m in 0..PEERS {
            let mut out = Vec::new();
            while rib.flush(ids[m], 2, &mut out) {}
            apply_stream(&out, &mut streams[m]);
            for pi in 0..4 {
                // Reference: accepted routes from other ASes not denying m,
                // ordered by (pref desc, len, origin, med, bgp id asc).
                let best = model
                    .iter()
                    .filter(|((p, q), r)| *q == pi && !r.reject && ASNS[*p] != ASNS[m]
                        && r.deny.map(|d| ASNS[d]) != Some(ASNS[m]))
                    .min_by_key(|((p, _), r)| (std::cmp::Reverse(r.pref), r.len, r.origin, r.med, 100 - *p as u32))
                    .map(|((p, _), _)| *p);
                let got = rib.export_for(ids[m], &prefix(pi)).map(|(id, _)| ids.iter().position(|x| *x == id).unwrap());
                prop_assert_eq!(got, best, "member {} prefix {}", m, pi);
                prop_assert_eq!(streams[m].get(&prefix(pi)).copied(), best, "stream of member {} prefix {}", m, pi);
            }
            prop_assert_eq!(rib.counts(ids[m]).exported, streams[m].len());
        }
    }
}
