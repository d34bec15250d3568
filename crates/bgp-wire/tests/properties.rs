//! Property tests (proptest):
//!
//! - decode(encode(x)) == x for generated UPDATEs (every attribute the
//!   owned type holds, IPv4 and IPv6, RFC 8950 next hops, unknown
//!   attributes) in 2-octet and 4-octet AS contexts, with ADD-PATH on and
//!   off, and for generated OPENs;
//! - decoding random bytes and mutated real messages (from the MRT sample)
//!   never panics, through `frame`, `Message::decode`, and then
//!   `passthrough_block` + `pack_announcements` on whatever decodes;
//! - packing keeps every prefix exactly once, within the size limit.
//!
//! `PROPTEST_CASES` raises the number of cases (default 256 per property).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use bgp_wire::builder::{pack_announcements, pack_withdrawals, passthrough_block};
use bgp_wire::open::GracefulRestartFamily;
use bgp_wire::owned::{MpReachOwned, MpUnreachOwned, RawAttribute};
use bgp_wire::{
    frame, AddPathMode, Afi, Aggregator, AsPath, Capability, DecodeCtx, EncodeCtx, Family,
    FamilySet, Message, NextHop, Nlri, Open, Origin, PathAttributes, Prefix, Role, Safi, Segment,
    SegmentKind, Update, UpdateMessage,
};
use proptest::prelude::*;

// ------------------------------------------------------------ strategies

fn v4_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Prefix::v4(Ipv4Addr::from(a), l).expect("len <= 32"))
}

fn v6_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| Prefix::v6(Ipv6Addr::from(a), l).expect("len <= 128"))
}

fn entries(p: impl Strategy<Value = Prefix>, add_path: bool) -> impl Strategy<Value = Vec<Nlri>> {
    prop::collection::vec((p, any::<u32>()), 0..40).prop_map(move |v| {
        v.into_iter()
            .map(|(prefix, id)| Nlri {
                prefix,
                path_id: if add_path { id } else { 0 },
            })
            .collect()
    })
}

fn as_path(four_octet: bool, confed: bool) -> impl Strategy<Value = AsPath> {
    let asn = if four_octet {
        any::<u32>().boxed()
    } else {
        (0u32..=0xffff).boxed()
    };
    let kinds = if confed {
        prop::sample::select(vec![
            SegmentKind::Sequence,
            SegmentKind::Set,
            SegmentKind::ConfedSequence,
            SegmentKind::ConfedSet,
        ])
        .boxed()
    } else {
        prop::sample::select(vec![SegmentKind::Sequence, SegmentKind::Set]).boxed()
    };
    prop::collection::vec((kinds, prop::collection::vec(asn, 1..20)), 0..4).prop_map(|segs| {
        AsPath {
            segments: segs
                .into_iter()
                .map(|(kind, asns)| Segment { kind, asns })
                .collect(),
        }
    })
}

fn next_hop_v6() -> impl Strategy<Value = NextHop> {
    (any::<u128>(), prop::option::of(any::<u128>())).prop_map(|(g, l)| NextHop::V6 {
        global: Ipv6Addr::from(g),
        link_local: l.map(Ipv6Addr::from),
    })
}

fn mp_reach(add_path: FamilySet) -> impl Strategy<Value = MpReachOwned> {
    let v6 = (
        next_hop_v6(),
        entries(v6_prefix(), add_path.contains(Family::Ipv6Unicast)),
    )
        .prop_map(|(next_hop, nlri)| MpReachOwned {
            family: Family::Ipv6Unicast,
            next_hop,
            nlri,
        });
    // IPv4 NLRI with an IPv4 next hop, or an IPv6 one (RFC 8950).
    let nh4 = prop_oneof![
        any::<u32>().prop_map(|a| NextHop::V4(Ipv4Addr::from(a))),
        next_hop_v6()
    ];
    let v4 = (
        nh4,
        entries(v4_prefix(), add_path.contains(Family::Ipv4Unicast)),
    )
        .prop_map(|(next_hop, nlri)| MpReachOwned {
            family: Family::Ipv4Unicast,
            next_hop,
            nlri,
        });
    prop_oneof![v6, v4]
}

fn mp_unreach(add_path: FamilySet) -> impl Strategy<Value = MpUnreachOwned> {
    prop_oneof![
        entries(v6_prefix(), add_path.contains(Family::Ipv6Unicast)).prop_map(|nlri| {
            MpUnreachOwned {
                family: Family::Ipv6Unicast,
                nlri,
            }
        }),
        entries(v4_prefix(), add_path.contains(Family::Ipv4Unicast)).prop_map(|nlri| {
            MpUnreachOwned {
                family: Family::Ipv4Unicast,
                nlri,
            }
        }),
    ]
}

/// Unknown optional transitive attributes, unique type codes, ascending.
fn unknown_attrs() -> impl Strategy<Value = Vec<RawAttribute>> {
    let known = [
        1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 25, 32, 35,
    ];
    prop::collection::btree_map(
        any::<u8>().prop_filter("unknown type", move |t| !known.contains(t)),
        (any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)),
        0..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(type_code, (partial, value))| RawAttribute {
                flags: 0xc0 | if partial { 0x20 } else { 0 },
                type_code,
                value,
            })
            .collect()
    })
}

fn aggregator(four_octet: bool) -> impl Strategy<Value = Aggregator> {
    let asn = if four_octet {
        any::<u32>().boxed()
    } else {
        (0u32..=0xffff).boxed()
    };
    (asn, any::<u32>()).prop_map(|(asn, a)| Aggregator {
        asn,
        addr: Ipv4Addr::from(a),
    })
}

/// Everything the owned type holds, valid for the context: on a 2-octet
/// session AS_PATH and AGGREGATOR carry 16-bit ASNs and AS4_* are free;
/// on a 4-octet one AS4_* are absent (they would be discarded, RFC 6793
/// §4.1).
fn attributes(four_octet: bool, add_path: FamilySet) -> impl Strategy<Value = PathAttributes> {
    let opt_u32 = || prop::option::of(any::<u32>());
    let as4 = if four_octet {
        Just(None).boxed()
    } else {
        prop::option::of(as_path(true, false)).boxed()
    };
    let as4_agg = if four_octet {
        Just(None).boxed()
    } else {
        prop::option::of(aggregator(true)).boxed()
    };
    (
        (
            prop::option::of(prop::sample::select(vec![
                Origin::Igp,
                Origin::Egp,
                Origin::Incomplete,
            ])),
            prop::option::of(as_path(four_octet, true)),
            as4,
            prop::option::of(any::<u32>().prop_map(Ipv4Addr::from)),
            opt_u32(),
            opt_u32(),
            any::<bool>(),
            prop::option::of(aggregator(four_octet)),
            as4_agg,
        ),
        (
            prop::collection::vec(any::<u32>(), 0..10),
            prop::collection::vec(any::<[u8; 8]>(), 0..4),
            prop::collection::vec(any::<[u8; 20]>(), 0..2),
            prop::collection::vec(any::<[u32; 3]>(), 0..4),
            prop::option::of(any::<u32>().prop_map(Ipv4Addr::from)),
            prop::collection::vec(any::<u32>().prop_map(Ipv4Addr::from), 0..3),
            opt_u32(),
            prop::option::of(mp_reach(add_path)),
            prop::option::of(mp_unreach(add_path)),
            unknown_attrs(),
        ),
    )
        .prop_map(
            |(
                (origin, as_path, as4_path, next_hop, med, local_pref, atomic, agg, as4_agg),
                (comm, ext, v6ext, large, orig_id, clusters, otc, reach, unreach, unknown),
            )| PathAttributes {
                origin,
                as_path,
                as4_path,
                next_hop,
                med,
                local_pref,
                atomic_aggregate: atomic,
                aggregator: agg,
                as4_aggregator: as4_agg,
                communities: comm,
                ext_communities: ext,
                ipv6_ext_communities: v6ext,
                large_communities: large,
                originator_id: orig_id,
                cluster_list: clusters,
                otc,
                mp_reach: reach,
                mp_unreach: unreach,
                unknown,
            },
        )
}

fn family_set() -> impl Strategy<Value = FamilySet> {
    (any::<bool>(), any::<bool>()).prop_map(|(a, b)| {
        let mut s = FamilySet::EMPTY;
        if a {
            s.insert(Family::Ipv4Unicast);
        }
        if b {
            s.insert(Family::Ipv6Unicast);
        }
        s
    })
}

fn update_case() -> impl Strategy<Value = (bool, FamilySet, UpdateMessage)> {
    (any::<bool>(), family_set()).prop_flat_map(|(four, add_path)| {
        let v4 = add_path.contains(Family::Ipv4Unicast);
        (
            Just(four),
            Just(add_path),
            (
                entries(v4_prefix(), v4),
                attributes(four, add_path),
                entries(v4_prefix(), v4),
            )
                .prop_map(|(withdrawn, attributes, nlri)| UpdateMessage {
                    withdrawn,
                    attributes,
                    nlri,
                }),
        )
    })
}

fn capability() -> impl Strategy<Value = Capability> {
    let afi = prop_oneof![
        Just(Afi::Ipv4),
        Just(Afi::Ipv6),
        (3u16..).prop_map(Afi::from)
    ];
    let safi = prop_oneof![
        Just(Safi::Unicast),
        Just(Safi::Multicast),
        (3u8..).prop_map(Safi::from)
    ];
    let known = [1u8, 2, 5, 6, 9, 64, 65, 69, 70];
    prop_oneof![
        (afi.clone(), safi.clone()).prop_map(|(a, s)| Capability::Multiprotocol(a, s)),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        prop::collection::vec((afi.clone(), safi.clone(), afi.clone()), 0..3)
            .prop_map(Capability::ExtendedNextHop),
        any::<u8>().prop_map(|r| Capability::Role(match r {
            0 => Role::Provider,
            1 => Role::RouteServer,
            2 => Role::RouteServerClient,
            3 => Role::Customer,
            4 => Role::Peer,
            x => Role::Other(x),
        })),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..0x1000,
            prop::collection::vec((afi.clone(), safi.clone(), any::<bool>()), 0..3)
        )
            .prop_map(|(r, n, t, f)| Capability::GracefulRestart {
                restarting: r,
                notification: n,
                time: t,
                families: f
                    .into_iter()
                    .map(|(afi, safi, fp)| GracefulRestartFamily {
                        afi,
                        safi,
                        forwarding_preserved: fp,
                    })
                    .collect(),
            }),
        any::<u32>().prop_map(Capability::FourOctetAs),
        prop::collection::vec(
            (
                afi,
                safi,
                prop::sample::select(vec![
                    AddPathMode::Receive,
                    AddPathMode::Send,
                    AddPathMode::Both
                ])
            ),
            0..3
        )
        .prop_map(Capability::AddPath),
        (
            any::<u8>().prop_filter("unknown code", move |c| !known.contains(c)),
            prop::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(c, v)| Capability::Unknown(c, v)),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        prop::collection::vec(capability(), 0..60),
        prop::collection::vec(
            (
                any::<u8>().prop_filter("not capabilities", |t| *t != 2 && *t != 255),
                prop::collection::vec(any::<u8>(), 0..10),
            ),
            0..2,
        ),
    )
        .prop_map(|(my_as, hold_time, id, capabilities, other_params)| Open {
            version: 4,
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
            other_params,
        })
}

// ---------------------------------------------------------------- helpers

fn decode_ctx(four: bool, add_path: FamilySet) -> DecodeCtx {
    DecodeCtx {
        four_octet_as: four,
        add_path,
        ebgp: false,
        extended_message: true,
    }
}

/// The RIS sample, loaded once.
fn sample() -> &'static [mrt::Bgp4mpMessage] {
    static SAMPLE: OnceLock<Vec<mrt::Bgp4mpMessage>> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        mrt::read_file(&mrt::shared_sample(env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("reading the MRT sample: {e}"))
    })
}

/// Everything the route server does with a received UPDATE, on any input:
/// walk it, build the pass-through block, pack what it announces and
/// withdraws, and read the packed messages back. Must not panic.
fn exercise(u: &Update<'_>, ctx: &DecodeCtx) {
    let announced: Vec<Nlri> = u.announced().collect();
    let withdrawn: Vec<Nlri> = u.withdrawals().collect();
    let _ = u.end_of_rib();
    let _ = u.attributes.effective_as_path();
    let _ = u.attributes.effective_aggregator();
    let _ = UpdateMessage::from_view(u);
    let mut block = Vec::new();
    passthrough_block(&u.attributes, &mut block);
    let e = EncodeCtx {
        four_octet_as: true,
        add_path: ctx.add_path,
        extended_message: ctx.extended_message,
    };
    let mut out = Vec::new();
    for family in Family::ALL {
        let list: Vec<Nlri> = announced
            .iter()
            .filter(|n| n.prefix.family() == family)
            .copied()
            .collect();
        let nh = match family {
            Family::Ipv4Unicast => NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            Family::Ipv6Unicast => NextHop::V6 {
                global: Ipv6Addr::LOCALHOST,
                link_local: None,
            },
        };
        let _ = pack_announcements(&e, &block, family, &nh, &list, &mut out);
        let wl: Vec<Nlri> = withdrawn
            .iter()
            .filter(|n| n.prefix.family() == family)
            .copied()
            .collect();
        pack_withdrawals(&e, family, &wl, &mut out);
    }
    let mut rest = &out[..];
    while let Ok(Some(len)) = frame(rest, e.max_len()) {
        let Some((m, tail)) = rest.split_at_checked(len) else {
            break;
        };
        let _ = Message::decode(
            m,
            &DecodeCtx {
                four_octet_as: true,
                ..*ctx
            },
        );
        rest = tail;
    }
}

fn any_ctx() -> impl Strategy<Value = DecodeCtx> {
    (any::<bool>(), family_set(), any::<bool>(), any::<bool>()).prop_map(|(f, a, e, x)| DecodeCtx {
        four_octet_as: f,
        add_path: a,
        ebgp: e,
        extended_message: x,
    })
}

/// Ways to damage a message.
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(m: &mut Vec<u8>, mutation: &Mutation) {
    let n = m.len().max(1);
    match *mutation {
        Mutation::Set(i, b) => {
            if let Some(x) = m.get_mut(i % n) {
                *x = b;
            }
        }
        Mutation::Flip(i, bit) => {
            if let Some(x) = m.get_mut(i % n) {
                *x ^= 1 << bit;
            }
        }
        Mutation::Insert(i, b) => m.insert(i % (m.len() + 1), b),
        Mutation::Remove(i) => {
            if !m.is_empty() {
                m.remove(i % n);
            }
        }
        Mutation::Truncate(i) => m.truncate(i % n),
    }
}

// ------------------------------------------------------------- properties

proptest! {
    #[test]
    fn update_round_trips((four, add_path, value) in update_case()) {
        let e = EncodeCtx { four_octet_as: four, add_path, extended_message: true };
        let mut out = Vec::new();
        value.encode(&e, &mut out);
        prop_assume!(out.len() <= 65535);
        let c = decode_ctx(four, add_path);
        let u = match Message::decode(&out, &c) {
            Ok(Message::Update(u)) => u,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        // No RFC 7606 problem other than a missing mandatory attribute,
        // which the generator allows.
        prop_assert!(u.issues.iter().all(|i| matches!(i.type_code, 1..=3)), "{:?}", u.issues);
        prop_assert_eq!(UpdateMessage::from_view(&u), value);
    }

    #[test]
    fn open_round_trips(value in open()) {
        let mut body = Vec::new();
        value.encode_body(&mut body);
        prop_assert_eq!(Open::decode(&body), Ok(value));
    }

    #[test]
    fn random_bytes_never_panic(ctx in any_ctx(), body in prop::collection::vec(any::<u8>(), 0..700)) {
        // As a whole message (marker and length made plausible half the time).
        let _ = Message::decode(&body, &ctx);
        let _ = frame(&body, 65535);
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
        m.push(2);
        m.extend_from_slice(&body);
        if let Ok(Message::Update(u)) = Message::decode(&m, &ctx) {
            exercise(&u, &ctx);
        }
        let _ = Open::decode(&body);
        if let Ok(u) = Update::decode(&body, &ctx) {
            exercise(&u, &ctx);
        }
    }

    #[test]
    fn mutated_mrt_messages_never_panic(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        extra in any_ctx(),
    ) {
        let s = sample();
        let rec = &s[pick.index(s.len())];
        let mut m = rec.message.clone();
        for x in &mutations {
            apply(&mut m, x);
        }
        let ctx = DecodeCtx { four_octet_as: rec.four_octet_as, ..extra };
        let _ = frame(&m, 65535);
        if let Ok(Message::Update(u)) = Message::decode(&m, &ctx) {
            exercise(&u, &ctx);
        }
        if let Some(body) = m.get(19..) {
            if let Ok(u) = Update::decode(body, &ctx) {
                exercise(&u, &ctx);
            }
        }
    }

    #[test]
    fn packing_keeps_every_prefix_once(
        attrs in attributes(true, FamilySet::EMPTY),
        v4 in entries(v4_prefix(), true),
        v6 in entries(v6_prefix(), true),
        add_path in family_set(),
        extended in any::<bool>(),
        copies in 1usize..60,
    ) {
        // The block a received UPDATE with these attributes gives; ORIGIN
        // and AS_PATH present, or the prefixes would be treat-as-withdraw.
        let mut attrs = attrs;
        attrs.origin.get_or_insert(Origin::Igp);
        attrs.as_path.get_or_insert_with(AsPath::default);
        let value = UpdateMessage { attributes: attrs, ..UpdateMessage::default() };
        let mut msg = Vec::new();
        value.encode(&EncodeCtx { extended_message: true, ..EncodeCtx::default() }, &mut msg);
        let rctx = decode_ctx(true, FamilySet::EMPTY);
        let Ok(Message::Update(u)) = Message::decode(&msg, &rctx) else {
            return Err(TestCaseError::fail("generated UPDATE does not decode"));
        };
        let mut block = Vec::new();
        passthrough_block(&u.attributes, &mut block);
        let e = EncodeCtx { four_octet_as: true, add_path, extended_message: extended };
        let c = DecodeCtx { four_octet_as: true, add_path, ebgp: false, extended_message: extended };
        for (family, base, nh) in [
            (Family::Ipv4Unicast, &v4, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))),
            (Family::Ipv6Unicast, &v6, NextHop::V6 { global: Ipv6Addr::LOCALHOST, link_local: None }),
        ] {
            // Many prefixes, to need several messages.
            let list: Vec<Nlri> = base
                .iter()
                .cycle()
                .take(base.len() * copies)
                .enumerate()
                .map(|(i, n)| Nlri {
                    prefix: n.prefix,
                    path_id: if add_path.contains(family) { i as u32 } else { 0 },
                })
                .collect();
            let mut out = Vec::new();
            let packed = pack_announcements(&e, &block, family, &nh, &list, &mut out);
            let mut wout = Vec::new();
            pack_withdrawals(&e, family, &list, &mut wout);
            for (bytes, announce) in [(&out, true), (&wout, false)] {
                if announce && packed.is_err() {
                    continue; // the block alone does not fit
                }
                let mut got = Vec::new();
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let len = match frame(rest, e.max_len()) {
                        Ok(Some(len)) => len,
                        other => return Err(TestCaseError::fail(format!("frame: {other:?}"))),
                    };
                    prop_assert!(len <= e.max_len());
                    let u = match Message::decode(&rest[..len], &c) {
                        Ok(Message::Update(u)) => u,
                        other => return Err(TestCaseError::fail(format!("{other:?}"))),
                    };
                    if announce {
                        got.extend(u.announced());
                    } else {
                        got.extend(u.withdrawals());
                    }
                    rest = &rest[len..];
                }
                let mut want = list.clone();
                want.sort();
                got.sort();
                prop_assert_eq!(got, want);
            }
        }
    }
}
