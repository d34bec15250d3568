//! Fuzz target: a sequence of netflow9 datagrams (the input split at each
//! "\xff\xfe" pair) through one stateful `flow::Decoder`, so templates
//! learned from one datagram decode the data sets of the next (and release
//! data sets buffered while their template was missing).

#![no_main]

use flow::{Decoder, DecoderConfig, UnixMillis};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::new(DecoderConfig {
        template_timeout_ms: Some(1000),
        miss_buffer_ms: Some(500),
        miss_buffer_sets: 4,
        ..DecoderConfig::default()
    });
    let exporter = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut rest = data;
    let mut t = 0u64;
    loop {
        let (part, next) = match rest.windows(2).position(|w| w == [0xff, 0xfe]) {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        let before = dec.counters().total_decode_errors();
        let r = dec.netflow9(exporter, part, UnixMillis(t));
        // A returned error is counted; buffered data sets that turn out bad
        // when their template arrives are counted without failing the call.
        if r.is_err() {
            assert!(dec.counters().total_decode_errors() > before);
        }
        t += 400;
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
});
