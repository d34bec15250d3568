//! Fuzz target: `Update::decode` on an UPDATE body, then every way the
//! route server re-emits what it decoded:
//!
//! - the owned copy (`UpdateMessage::from_view`) encodes, and the encoding
//!   decodes again to the same value when the UPDATE had no RFC 7606 issue;
//! - `passthrough_block` + `pack_announcements` / `pack_withdrawals` write
//!   messages within the session's size limit that decode without issue and
//!   carry exactly the prefixes given, each once.
//!
//! The first input byte chooses the session context.

#![no_main]

use std::net::Ipv4Addr;

use bgp_wire::builder::{pack_announcements, pack_withdrawals, passthrough_block};
use bgp_wire::{
    frame, DecodeCtx, EncodeCtx, Family, FamilySet, Message, NextHop, Nlri, Update, UpdateMessage,
};
use libfuzzer_sys::fuzz_target;

fn ctx_from(b: u8) -> DecodeCtx {
    let mut add_path = FamilySet::EMPTY;
    if b & 2 != 0 {
        add_path.insert(Family::Ipv4Unicast);
    }
    if b & 4 != 0 {
        add_path.insert(Family::Ipv6Unicast);
    }
    DecodeCtx {
        four_octet_as: b & 1 != 0,
        add_path,
        ebgp: b & 8 != 0,
        extended_message: b & 16 != 0,
    }
}

/// Decode every message of `out` and collect (announced, withdrawn).
fn reread(out: &[u8], ctx: &DecodeCtx, max: usize) -> (Vec<Nlri>, Vec<Nlri>) {
    let mut ann = Vec::new();
    let mut wd = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let len = match frame(rest, max) {
            Ok(Some(len)) => len,
            other => panic!("packed output does not frame: {other:?}"),
        };
        assert!(len <= max, "message of {len} octets exceeds {max}");
        let (msg, tail) = rest.split_at(len);
        let u = match Message::decode(msg, ctx) {
            Ok(Message::Update(u)) => u,
            other => panic!("packed UPDATE does not decode: {other:?}: {msg:02x?}"),
        };
        assert!(
            u.issues.is_empty(),
            "packed UPDATE has issues: {:?}",
            u.issues
        );
        ann.extend(u.announced());
        wd.extend(u.withdrawals());
        rest = tail;
    }
    (ann, wd)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let ctx = ctx_from(first);
    let Ok(u) = Update::decode(body, &ctx) else {
        return;
    };
    let _ = u.announced().count();
    let withdrawn: Vec<Nlri> = u.withdrawals().collect();
    let _ = u.end_of_rib();
    let _ = u.attributes.effective_as_path();

    // Owned copy, canonical encoding, decode again.
    let owned = UpdateMessage::from_view(&u);
    let ectx = EncodeCtx {
        four_octet_as: ctx.four_octet_as,
        add_path: ctx.add_path,
        extended_message: true,
    };
    let mut out = Vec::new();
    owned.encode(&ectx, &mut out);
    let again = Update::decode(&out[19..], &ctx);
    if u.issues.is_empty() {
        match again {
            Ok(u2) => assert_eq!(UpdateMessage::from_view(&u2), owned),
            Err(e) => panic!("re-encoded UPDATE does not decode: {e}: {out:02x?}"),
        }
    }

    // The route server's path: a 4-octet block, packed per family.
    let mut block = Vec::new();
    passthrough_block(&u.attributes, &mut block);
    let ext = first & 32 != 0;
    let pctx = EncodeCtx {
        four_octet_as: true,
        add_path: ctx.add_path,
        extended_message: ext,
    };
    let dctx = DecodeCtx {
        four_octet_as: true,
        extended_message: ext,
        ..ctx
    };
    let taw = u.treat_as_withdraw();
    let mut jobs: Vec<(Family, NextHop, Vec<Nlri>)> = Vec::new();
    if !taw && !u.nlri.is_empty() {
        let nh = u.attributes.next_hop.unwrap_or(Ipv4Addr::new(192, 0, 2, 1));
        jobs.push((
            Family::Ipv4Unicast,
            NextHop::V4(nh),
            u.nlri.iter().collect(),
        ));
    }
    if let Some(mp) = u.attributes.mp_reach {
        if let (false, Some(nh), Some(f)) = (taw, mp.next_hop, mp.nlri) {
            jobs.push((f.family(), nh, f.iter().collect()));
        }
    }
    for (family, next_hop, list) in jobs {
        let mut packed = Vec::new();
        if let Ok(n) = pack_announcements(&pctx, &block, family, &next_hop, &list, &mut packed) {
            let (mut got, wd) = reread(&packed, &dctx, pctx.max_len());
            assert!(wd.is_empty());
            assert!(n >= usize::from(!list.is_empty()));
            let mut want = list;
            want.sort();
            got.sort();
            assert_eq!(got, want, "packing lost or duplicated prefixes");
        }
    }
    for family in Family::ALL {
        let wlist: Vec<Nlri> = withdrawn
            .iter()
            .filter(|n| n.prefix.family() == family)
            .copied()
            .collect();
        let mut packed = Vec::new();
        pack_withdrawals(&pctx, family, &wlist, &mut packed);
        let (ann, mut got) = reread(&packed, &dctx, pctx.max_len());
        assert!(ann.is_empty());
        let mut want = wlist;
        want.sort();
        got.sort();
        assert_eq!(got, want, "withdrawal packing lost or duplicated prefixes");
    }
});
