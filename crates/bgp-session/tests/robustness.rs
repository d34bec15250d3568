//! Nothing from the network may panic the session: random bytes and
//! mutated valid streams are fed in every state that reads bytes, with a
//! fixed-seed generator so that a failure replays. Also checks the
//! statistics the looking glass reads.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_session::{Config, Direction, Input, Output, Session, State};
use bgp_wire::message::{write_keepalive, write_open};
use bgp_wire::{Capability, Open, Role};

/// xorshift64*: enough randomness for a smoke fuzz, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn valid_stream() -> Vec<u8> {
    let open = Open::new(
        65001,
        9,
        Ipv4Addr::new(10, 0, 0, 2),
        vec![
            Capability::RouteRefresh,
            Capability::ExtendedMessage,
            Capability::Role(Role::RouteServerClient),
        ],
    );
    let mut b = Vec::new();
    write_open(&mut b, &open);
    write_keepalive(&mut b);
    // An UPDATE and a ROUTE-REFRESH.
    b.extend_from_slice(&[0xff; 16]);
    b.extend_from_slice(&[0x00, 0x2f, 0x02, 0x00, 0x00, 0x00, 0x14]);
    b.extend_from_slice(&[0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x06, 0x02, 0x01]);
    b.extend_from_slice(&[
        0x00, 0x00, 0xfd, 0xe9, 0x40, 0x03, 0x04, 10, 0, 0, 2, 0x18, 192, 0, 2,
    ]);
    b.extend_from_slice(&[0xff; 16]);
    b.extend_from_slice(&[0x00, 0x17, 0x05, 0x00, 0x01, 0x00, 0x01]);
    b
}

fn fresh(now: Instant, delay_open: bool) -> Session {
    let mut cfg = Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001);
    if delay_open {
        cfg.delay_open = Some(Duration::from_secs(5));
    }
    let mut s = Session::new(cfg).expect("config");
    s.handle(now, Input::ManualStart);
    s.handle(now, Input::TcpConnected(Direction::Inbound));
    s
}

#[test]
fn random_and_mutated_input_never_panics() {
    let now = Instant::now();
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let valid = valid_stream();
    let mut reached_established = 0;
    for round in 0..20_000 {
        let mut s = fresh(now, round % 7 == 0);
        let mut data = if round % 2 == 0 {
            // Mutate a valid stream: flip, insert or drop a few octets.
            let mut d = valid.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(d.len());
                match rng.below(3) {
                    0 => d[i] ^= 1 << rng.below(8),
                    1 => d.insert(i, rng.next() as u8),
                    _ => {
                        d.remove(i);
                    }
                }
            }
            d
        } else {
            // Random bytes after a valid marker, so the header is parsed.
            let mut d = vec![0xff; 16];
            d.extend((0..rng.below(80)).map(|_| rng.next() as u8));
            d
        };
        // Feed in random chunk sizes.
        while !data.is_empty() {
            let n = 1 + rng.below(data.len());
            let chunk: Vec<u8> = data.drain(..n).collect();
            let out = s.handle(now, Input::Received(&chunk));
            for o in &out {
                if let Output::Send(b) = o {
                    assert!(b.len() >= 19 && b[..16] == [0xff; 16]);
                }
            }
        }
        if s.state() == State::Established {
            reached_established += 1;
        }
    }
    // The mutations leave some streams intact enough to establish.
    assert!(reached_established > 0);
}

#[test]
fn statistics() {
    let t0 = Instant::now();
    let mut s = fresh(t0, false);
    let stream = valid_stream();
    let t1 = t0 + Duration::from_secs(1);
    s.handle(t1, Input::Received(&stream));
    assert_eq!(s.state(), State::Established);
    let st = s.stats();
    assert_eq!(
        (
            st.received.open,
            st.received.keepalive,
            st.received.update,
            st.received.route_refresh
        ),
        (1, 1, 1, 1)
    );
    assert_eq!((st.sent.open, st.sent.keepalive), (1, 1));
    assert_eq!(st.received.total(), 4);
    // ROUTE-REFRESH for IPv4 unicast with the capability negotiated is
    // reported, not ignored.
    assert_eq!(st.route_refresh_ignored, 0);
    assert_eq!(st.established_since, Some(t1));
    assert_eq!(st.state_since, Some(t1));
    assert_eq!(st.established_count, 1);
    assert_eq!(st.last_error, None);
    let t2 = t1 + Duration::from_secs(60);
    s.handle(
        t2,
        Input::ManualStop {
            subcode: 2,
            message: String::new(),
        },
    );
    let st = s.stats();
    assert_eq!(st.established_since, None);
    assert_eq!(st.state_since, Some(t2));
    assert_eq!(st.sent.notification, 1);
    let (at, reason) = st.last_error.clone().expect("last error");
    assert_eq!(at, t2);
    assert_eq!(
        reason.to_string(),
        "sent NOTIFICATION 6/2 (Cease, Administrative Shutdown): manual stop"
    );
}
