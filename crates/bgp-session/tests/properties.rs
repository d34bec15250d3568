//! Property tests of the state machine: any sequence of events (starts,
//! stops, TCP events, timer expiries including stale ones, good and bad
//! messages in any chunking) keeps the session's invariants, and framing
//! does not depend on how the byte stream is cut into reads.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_session::{Config, Direction, Input, Output, Session, State, Timer};
use bgp_wire::message::{frame, write_keepalive, write_notification, write_open};
use bgp_wire::{Capability, Family, Notification, Open, Role};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Ev {
    ManualStart,
    AutomaticStart,
    ManualStop,
    AutomaticStop,
    Connected(bool),
    ConnectionFails,
    Timer(usize),
    Open(u16),
    Keepalive,
    Update,
    Notification(u8, u8),
    Garbage(Vec<u8>),
    CollisionDump,
    SendUpdate,
    SendRouteRefresh,
    Wait(u16),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        Just(Ev::ManualStart),
        Just(Ev::AutomaticStart),
        Just(Ev::ManualStop),
        Just(Ev::AutomaticStop),
        any::<bool>().prop_map(Ev::Connected),
        Just(Ev::ConnectionFails),
        (0usize..5).prop_map(Ev::Timer),
        (0usize..5).prop_map(Ev::Timer),
        prop_oneof![Just(0u16), Just(1), Just(3), Just(9), Just(90)].prop_map(Ev::Open),
        Just(Ev::Keepalive),
        Just(Ev::Keepalive),
        Just(Ev::Update),
        (1u8..8, 0u8..12).prop_map(|(c, s)| Ev::Notification(c, s)),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Ev::Garbage),
        Just(Ev::CollisionDump),
        Just(Ev::SendUpdate),
        Just(Ev::SendRouteRefresh),
        (0u16..400).prop_map(Ev::Wait),
    ]
}

fn open_bytes(hold: u16) -> Vec<u8> {
    let o = Open::new(
        65001,
        hold,
        Ipv4Addr::new(10, 0, 0, 2),
        vec![
            Capability::RouteRefresh,
            Capability::Role(Role::RouteServerClient),
        ],
    );
    let mut b = Vec::new();
    write_open(&mut b, &o);
    b
}

fn update_bytes() -> Vec<u8> {
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&[0x00, 0x2f, 0x02, 0x00, 0x00, 0x00, 0x14]);
    b.extend_from_slice(&[0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x06, 0x02, 0x01]);
    b.extend_from_slice(&[0x00, 0x00, 0xfd, 0xe9, 0x40, 0x03, 0x04, 10, 0, 0, 2]);
    b.extend_from_slice(&[0x18, 192, 0, 2]);
    b
}

/// Check the invariants after one step.
fn check(s: &Session, timers: &BTreeMap<Timer, Instant>, outs: &[Output]) -> Result<(), String> {
    for t in Timer::ALL {
        if s.timer(t) != timers.get(&t).copied() {
            return Err(format!("{t:?}: outputs and session disagree"));
        }
    }
    for o in outs {
        if let Output::Send(b) = o {
            if frame(b, 65535) != Ok(Some(b.len())) {
                return Err(format!("sent a malformed message {b:02x?}"));
            }
        }
    }
    let armed = |t| timers.contains_key(&t);
    let st = s.state();
    if armed(Timer::IdleHold) && st != State::Idle {
        return Err(format!("IdleHold armed in {st}"));
    }
    match st {
        State::Idle => {
            if s.direction().is_some() {
                return Err("connection kept in Idle".into());
            }
            if timers.keys().any(|t| *t != Timer::IdleHold) {
                return Err(format!("timers left in Idle: {timers:?}"));
            }
        }
        State::Connect | State::Active => {
            if armed(Timer::Hold) || armed(Timer::Keepalive) {
                return Err(format!("hold/keepalive timer in {st}"));
            }
            if armed(Timer::DelayOpen) != s.direction().is_some() {
                return Err(format!("DelayOpen and connection disagree in {st}"));
            }
        }
        State::OpenSent => {
            if !armed(Timer::Hold) || s.direction().is_none() {
                return Err("OpenSent without hold timer or connection".into());
            }
        }
        State::OpenConfirm | State::Established => {
            let n = s.negotiated().ok_or("no negotiation")?;
            if s.direction().is_none() || s.peer_open().is_none() {
                return Err(format!("{st} without connection or peer OPEN"));
            }
            let running = armed(Timer::Hold) && armed(Timer::Keepalive);
            let none = !armed(Timer::Hold) && !armed(Timer::Keepalive);
            if (n.hold_time > 0 && !running) || (n.hold_time == 0 && !none) {
                return Err(format!("timers do not match hold time {}", n.hold_time));
            }
        }
    }
    if (st == State::Established) != s.stats().established_since.is_some() {
        return Err("established_since out of step".into());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_any_event_sequence(
        passive in any::<bool>(),
        delay_open in any::<bool>(),
        hold in prop_oneof![Just(0u16), Just(9), Just(90)],
        evs in proptest::collection::vec(ev(), 1..60),
    ) {
        let mut cfg = Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001);
        cfg.passive = passive;
        cfg.hold_time = hold;
        cfg.connect_retry = Duration::from_secs(30);
        if delay_open {
            cfg.delay_open = Some(Duration::from_secs(5));
        }
        let mut s = Session::new(cfg).expect("config");
        let mut now = Instant::now();
        let mut timers: BTreeMap<Timer, Instant> = BTreeMap::new();
        for e in evs {
            let bytes;
            let input = match e {
                Ev::ManualStart => Input::ManualStart,
                Ev::AutomaticStart => Input::AutomaticStart,
                Ev::ManualStop => Input::ManualStop { subcode: 2, message: "bye".into() },
                Ev::AutomaticStop => Input::AutomaticStop { subcode: 1, message: String::new() },
                Ev::Connected(inbound) => Input::TcpConnected(if inbound {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                }),
                Ev::ConnectionFails => Input::TcpConnectionFails,
                Ev::Timer(i) => {
                    let t = Timer::ALL[i];
                    // Fire at its deadline when armed; a stale expiry
                    // otherwise.
                    if let Some(at) = timers.get(&t) {
                        now = now.max(*at);
                        timers.remove(&t);
                    }
                    Input::TimerExpired(t)
                }
                Ev::Open(h) => { bytes = open_bytes(h); Input::Received(&bytes) }
                Ev::Keepalive => {
                    let mut b = Vec::new();
                    write_keepalive(&mut b);
                    bytes = b;
                    Input::Received(&bytes)
                }
                Ev::Update => { bytes = update_bytes(); Input::Received(&bytes) }
                Ev::Notification(code, subcode) => {
                    let mut b = Vec::new();
                    write_notification(&mut b, &Notification { code, subcode, data: vec![] });
                    bytes = b;
                    Input::Received(&bytes)
                }
                Ev::Garbage(g) => { bytes = g; Input::Received(&bytes) }
                Ev::CollisionDump => Input::OpenCollisionDump,
                Ev::SendUpdate => Input::SendUpdate(update_bytes()),
                Ev::SendRouteRefresh => Input::SendRouteRefresh(Family::Ipv4Unicast),
                Ev::Wait(secs) => {
                    now += Duration::from_secs(u64::from(secs));
                    continue;
                }
            };
            let outs = s.handle(now, input);
            for o in &outs {
                match o {
                    Output::SetTimer(t, at) => { timers.insert(*t, *at); }
                    Output::CancelTimer(t) => { timers.remove(t); }
                    _ => {}
                }
            }
            if let Err(why) = check(&s, &timers, &outs) {
                prop_assert!(false, "{} after {:?}: {:?}", why, s.state(), outs);
            }
        }
    }

    /// Cutting a stream into reads anywhere gives the same outputs as one
    /// read.
    #[test]
    fn framing_is_independent_of_read_boundaries(
        cuts in proptest::collection::vec(1usize..200, 0..20),
        trailing_garbage in proptest::collection::vec(any::<u8>(), 0..30),
    ) {
        let now = Instant::now();
        let mut stream = open_bytes(90);
        write_keepalive(&mut stream);
        for _ in 0..5 {
            stream.extend(update_bytes());
            write_keepalive(&mut stream);
        }
        stream.extend(trailing_garbage);
        let fresh = || {
            let mut s = Session::new(Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001))
                .expect("config");
            s.handle(now, Input::ManualStart);
            s.handle(now, Input::TcpConnected(Direction::Inbound));
            s
        };
        let mut whole = fresh();
        let want = whole.handle(now, Input::Received(&stream));
        let mut pieces = fresh();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        for c in cuts {
            let n = c.min(rest.len());
            let (a, b) = rest.split_at(n);
            got.extend(pieces.handle(now, Input::Received(a)));
            rest = b;
        }
        got.extend(pieces.handle(now, Input::Received(rest)));
        prop_assert_eq!(got, want);
        prop_assert_eq!(pieces.state(), whole.state());
    }
}
