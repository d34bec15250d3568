//! How fast the session frames, checks and hands over UPDATEs: one
//! Established session is fed a stream of small IPv4 UPDATEs (ORIGIN,
//! AS_PATH, NEXT_HOP, one /24) in 64 KiB reads.
//!
//! `cargo run --release -p bgp-session --example throughput [MESSAGES]`

use std::net::Ipv4Addr;
use std::time::Instant;

use bgp_session::{Config, Direction, Input, Output, Session, State};
use bgp_wire::message::{write_keepalive, write_open};
use bgp_wire::Open;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let t0 = Instant::now();
    let mut s =
        Session::new(Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001)).expect("config");
    s.handle(t0, Input::ManualStart);
    s.handle(t0, Input::TcpConnected(Direction::Inbound));
    let mut hello = Vec::new();
    write_open(
        &mut hello,
        &Open::new(65001, 90, Ipv4Addr::new(10, 0, 0, 2), Vec::new()),
    );
    write_keepalive(&mut hello);
    s.handle(t0, Input::Received(&hello));
    assert_eq!(s.state(), State::Established);

    let mut update = vec![0xff; 16];
    update.extend_from_slice(&[0x00, 0x2f, 0x02, 0x00, 0x00, 0x00, 0x14]);
    update.extend_from_slice(&[0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x06, 0x02, 0x01]);
    update.extend_from_slice(&[0x00, 0x00, 0xfd, 0xe9, 0x40, 0x03, 0x04, 10, 0, 0, 2]);
    update.extend_from_slice(&[0x18, 192, 0, 2]);
    let stream: Vec<u8> = update
        .iter()
        .copied()
        .cycle()
        .take(update.len() * n)
        .collect();

    let start = Instant::now();
    let mut updates = 0usize;
    let mut out = Vec::with_capacity(2048);
    for chunk in stream.chunks(65536) {
        out.clear();
        s.handle_into(start, Input::Received(chunk), &mut out);
        updates += out
            .iter()
            .filter(|o| matches!(o, Output::Update(_)))
            .count();
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(updates, n, "every UPDATE handed over");
    assert_eq!(s.state(), State::Established);
    println!(
        "{n} UPDATEs of {} octets in {secs:.3} s: {:.2} M messages/s, {:.0} MB/s",
        update.len(),
        n as f64 / secs / 1e6,
        stream.len() as f64 / secs / 1e6
    );
}
