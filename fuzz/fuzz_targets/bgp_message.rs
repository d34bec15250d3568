//! Fuzz target: a TCP byte stream cut into messages by `frame`, each one
//! decoded by `Message::decode`. The first input byte chooses the session
//! context (4-octet AS, ADD-PATH per family, eBGP, extended messages), so
//! every decoder path is reachable. Nothing may panic; a message `frame`
//! accepts must be a message `Message::decode` either decodes or rejects
//! with a NOTIFICATION.

#![no_main]

use bgp_wire::{frame, DecodeCtx, Family, FamilySet, Message, MAX_EXTENDED_LEN, MAX_LEN};
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

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut stream)) = data.split_first() else {
        return;
    };
    let ctx = ctx_from(first);
    let max = if ctx.extended_message {
        MAX_EXTENDED_LEN
    } else {
        MAX_LEN
    };
    // Each round consumes at least 19 octets, so the loop ends.
    while let Ok(Some(len)) = frame(stream, max) {
        let Some((msg, rest)) = stream.split_at_checked(len) else {
            panic!(
                "frame reported {len} octets but only {} are there",
                stream.len()
            );
        };
        if let Ok(Message::Update(u)) = Message::decode(msg, &ctx) {
            // Walk everything the view offers.
            let _ = u.announced().count();
            let _ = u.withdrawals().count();
            let _ = u.end_of_rib();
            let _ = u.attributes.effective_as_path();
            let _ = u.attributes.effective_aggregator();
            let _ = u.attributes.kept().count();
        }
        stream = rest;
    }
});
