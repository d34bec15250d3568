//! Fuzz target: `Open::decode` on an OPEN body; whatever decodes must
//! encode and decode again to the same value.

#![no_main]

use bgp_wire::Open;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(open) = Open::decode(data) else {
        return;
    };
    let mut body = Vec::new();
    open.encode_body(&mut body);
    match Open::decode(&body) {
        Ok(again) => assert_eq!(again, open, "OPEN changed on re-encode: {body:02x?}"),
        Err(e) => panic!("re-encoded OPEN does not decode: {e}: {body:02x?}"),
    }
});
