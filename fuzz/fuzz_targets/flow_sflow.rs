//! Fuzz target: sFlow v5 datagrams through `flow::sflow::decode` and the
//! stateful decoder; whatever decodes must encode back to the same octets'
//! meaning (decode(encode(d)) == d).

#![no_main]

use flow::sflow::{self, encode::encode};
use flow::{Decoder, UnixMillis};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::default();
    let _ = dec.sflow(IpAddr::V4(Ipv4Addr::LOCALHOST), data, UnixMillis(0));
    let _ = flow::packet::parse_ethernet(data);
    let Ok(d) = sflow::decode(data) else {
        return;
    };
    let again = encode(&d);
    match sflow::decode(&again) {
        Ok(d2) => assert_eq!(d2, d, "sFlow datagram changed on re-encode"),
        Err(e) => panic!("re-encoded sFlow datagram does not decode: {e}"),
    }
});
