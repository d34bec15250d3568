//! Fuzz target: sFlow v5 datagrams through `flow::sflow::decode` and the
//! stateful decoder; whatever decodes must encode back to the same octets'
//! meaning (decode(encode(d)) == d), and the stateful decoder (which
//! decodes flow samples as views) must take and reject exactly what
//! `decode` does, with the records `to_record` makes.

#![no_main]

use flow::sflow::{self, encode::encode};
use flow::{Decoder, UnixMillis};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let exporter = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut dec = Decoder::default();
    let got = dec.sflow(exporter, data, UnixMillis(0));
    let _ = flow::packet::parse_ethernet(data);
    let Ok(d) = sflow::decode(data) else {
        assert!(got.is_err(), "the stateful decoder took what decode rejects");
        return;
    };
    let want: Vec<_> = d
        .samples
        .iter()
        .filter_map(|s| match s {
            sflow::Sample::Flow(f) => sflow::to_record(exporter, &d, f, UnixMillis(0)),
            _ => None,
        })
        .collect();
    match got {
        Ok(got) => assert_eq!(got.records, want, "stateful decoder's records differ"),
        Err(e) => panic!("the stateful decoder rejected what decode takes: {e}"),
    }
    let again = encode(&d);
    match sflow::decode(&again) {
        Ok(d2) => assert_eq!(d2, d, "sFlow datagram changed on re-encode"),
        Err(e) => panic!("re-encoded sFlow datagram does not decode: {e}"),
    }
});
