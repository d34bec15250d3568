//! Two sessions wired back to back: the bytes one sends are what the other
//! receives, timers run on a simulated clock. Covers the whole exchange
//! (OPEN, KEEPALIVE, Established, keepalives for minutes, UPDATE, Cease
//! with shutdown communication) and hold timer expiry when one direction
//! goes silent.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_session::{Config, Direction, DownReason, Input, Output, Session, State, Timer};
use bgp_wire::{Message, Role};

/// One side: the session, its armed timers, what it reported.
struct Side {
    s: Session,
    timers: BTreeMap<Timer, Instant>,
    established: u32,
    downs: Vec<DownReason>,
    updates: Vec<Vec<u8>>,
}

impl Side {
    fn new(cfg: Config) -> Side {
        Side {
            s: Session::new(cfg).expect("valid config"),
            timers: BTreeMap::new(),
            established: 0,
            downs: Vec::new(),
            updates: Vec::new(),
        }
    }
}

/// The wire between A (the route server, passive) and B (a member,
/// active), and a clock.
struct Wire {
    a: Side,
    b: Side,
    now: Instant,
    /// Drop everything B sends (a one-way outage).
    b_silent: bool,
    connected: bool,
}

#[derive(Clone, Copy)]
enum Who {
    A,
    B,
}

impl Wire {
    fn new(a: Config, b: Config) -> Wire {
        Wire {
            a: Side::new(a),
            b: Side::new(b),
            now: Instant::now(),
            b_silent: false,
            connected: false,
        }
    }

    fn side(&mut self, w: &Who) -> &mut Side {
        match w {
            Who::A => &mut self.a,
            Who::B => &mut self.b,
        }
    }

    /// Feed an input and carry out every output, transitively.
    fn input(&mut self, who: Who, input: Input<'_>) {
        let now = self.now;
        // FIFO: bytes reach the other side in the order they were sent.
        let mut queue = VecDeque::from([(who, self.side(&who).s.handle(now, input))]);
        // Bounded: a well-behaved pair settles in a handful of rounds.
        for _ in 0..1000 {
            let Some((who, outs)) = queue.pop_front() else {
                return;
            };
            for o in outs {
                let other = match who {
                    Who::A => Who::B,
                    Who::B => Who::A,
                };
                match o {
                    Output::Send(bytes) => {
                        if matches!(who, Who::B) && self.b_silent {
                            continue;
                        }
                        if self.connected {
                            let r = self.side(&other).s.handle(now, Input::Received(&bytes));
                            queue.push_back((other, r));
                        }
                    }
                    Output::Connect => {
                        // The passive side accepts if it is listening.
                        if self.a.s.state() == State::Active {
                            self.connected = true;
                            let r = self
                                .a
                                .s
                                .handle(now, Input::TcpConnected(Direction::Inbound));
                            queue.push_back((Who::A, r));
                            let r = self
                                .b
                                .s
                                .handle(now, Input::TcpConnected(Direction::Outbound));
                            queue.push_back((Who::B, r));
                        } else {
                            let r = self.b.s.handle(now, Input::TcpConnectionFails);
                            queue.push_back((Who::B, r));
                        }
                    }
                    Output::Disconnect => {
                        if self.connected {
                            self.connected = false;
                            let r = self.side(&other).s.handle(now, Input::TcpConnectionFails);
                            queue.push_back((other, r));
                        }
                    }
                    Output::SetTimer(t, at) => {
                        self.side(&who).timers.insert(t, at);
                    }
                    Output::CancelTimer(t) => {
                        self.side(&who).timers.remove(&t);
                    }
                    Output::Established(_) => self.side(&who).established += 1,
                    Output::Down(r) => self.side(&who).downs.push(r),
                    Output::Update(b) => self.side(&who).updates.push(b),
                    Output::StateChange { .. }
                    | Output::OpenReceived { .. }
                    | Output::RouteRefresh(_) => {}
                }
            }
        }
        panic!("outputs did not settle");
    }

    /// Run the clock to `until`, firing timers in order.
    fn run_until(&mut self, until: Instant) {
        for _ in 0..100_000 {
            let next_a = self
                .a
                .timers
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(t, at)| (*t, *at));
            let next_b = self
                .b
                .timers
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(t, at)| (*t, *at));
            let (who, t, at) = match (next_a, next_b) {
                (Some((ta, a)), Some((_, b))) if a <= b => (Who::A, ta, a),
                (_, Some((tb, b))) => (Who::B, tb, b),
                (Some((ta, a)), None) => (Who::A, ta, a),
                (None, None) => break,
            };
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.side(&who).timers.remove(&t);
            self.input(who, Input::TimerExpired(t));
        }
        self.now = self.now.max(until);
    }
}

fn configs(hold_a: u16, hold_b: u16) -> (Config, Config) {
    let mut a = Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001);
    a.hold_time = hold_a;
    let mut b = Config::new(65001, Ipv4Addr::new(10, 0, 0, 2), 64500);
    b.hold_time = hold_b;
    b.passive = false;
    b.connect_retry = Duration::from_secs(5);
    b.role = Some(Role::RouteServerClient);
    (a, b)
}

/// An IPv4 UPDATE: ORIGIN IGP, AS_PATH (65001) in 4-octet form,
/// NEXT_HOP 10.0.0.2, NLRI 192.0.2.0/24.
fn update_bytes() -> Vec<u8> {
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&[0x00, 0x2f, 0x02, 0x00, 0x00, 0x00, 0x14]);
    b.extend_from_slice(&[0x40, 0x01, 0x01, 0x00]);
    b.extend_from_slice(&[0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xfd, 0xe9]);
    b.extend_from_slice(&[0x40, 0x03, 0x04, 10, 0, 0, 2]);
    b.extend_from_slice(&[0x18, 192, 0, 2]);
    b
}

#[test]
fn establish_keepalives_update_and_cease() {
    let (a, b) = configs(90, 9);
    let mut w = Wire::new(a, b);
    let t0 = w.now;
    w.input(Who::A, Input::ManualStart);
    w.input(Who::B, Input::ManualStart);
    assert_eq!(w.a.s.state(), State::Established);
    assert_eq!(w.b.s.state(), State::Established);
    let n = w.a.s.negotiated().expect("negotiated").clone();
    assert_eq!((n.hold_time, n.keepalive_interval), (9, 3));
    assert_eq!(n.peer_role, Some(Role::RouteServerClient));
    assert_eq!(
        w.b.s.negotiated().expect("negotiated").peer_role,
        Some(Role::RouteServer)
    );
    assert!(n.four_octet_as && n.route_refresh && n.extended_message);

    // Five minutes of keepalives: no session drop, about 100 each way.
    w.run_until(t0 + Duration::from_secs(300));
    assert_eq!(w.a.s.state(), State::Established);
    assert_eq!(w.b.s.state(), State::Established);
    assert_eq!((w.a.established, w.b.established), (1, 1));
    assert!(w.a.downs.is_empty() && w.b.downs.is_empty());
    let ka_a = w.a.s.stats().sent.keepalive;
    let ka_b = w.b.s.stats().received.keepalive;
    assert_eq!(ka_a, ka_b);
    assert!(
        (99..=102).contains(&ka_a),
        "{ka_a} keepalives in 300 s at 3 s"
    );
    assert_eq!(w.a.s.stats().established_since, Some(t0));

    // An UPDATE from B reaches A whole and decodes with A's context.
    w.input(Who::B, Input::SendUpdate(update_bytes()));
    assert_eq!(w.a.updates, vec![update_bytes()]);
    let ctx = w.a.s.decode_ctx();
    let Ok(Message::Update(u)) = Message::decode(&w.a.updates[0], &ctx) else {
        panic!("UPDATE does not decode");
    };
    let nlri: Vec<String> = u.announced().map(|n| format!("{}", n.prefix)).collect();
    assert_eq!(nlri, vec!["192.0.2.0/24".to_string()]);
    assert_eq!(w.a.s.stats().received.update, 1);
    assert_eq!(w.b.s.stats().sent.update, 1);

    // A stops with a shutdown communication; B sees it.
    w.input(
        Who::A,
        Input::ManualStop {
            subcode: 2,
            message: "maintenance until 10:00 AST".to_string(),
        },
    );
    assert_eq!(w.a.s.state(), State::Idle);
    let Some(DownReason::NotificationReceived(n)) = w.b.downs.first() else {
        panic!("B did not see a NOTIFICATION: {:?}", w.b.downs);
    };
    assert_eq!((n.code, n.subcode), (6, 2));
    assert_eq!(n.shutdown_message(), Some("maintenance until 10:00 AST"));
    // A stays down (manual stop); B retries and is refused while A is Idle.
    w.run_until(t0 + Duration::from_secs(400));
    assert_eq!(w.a.s.state(), State::Idle);
    assert_ne!(w.b.s.state(), State::Established);
}

#[test]
fn hold_timer_expires_when_peer_goes_silent() {
    let (a, b) = configs(9, 9);
    let mut w = Wire::new(a, b);
    let t0 = w.now;
    w.input(Who::A, Input::ManualStart);
    w.input(Who::B, Input::ManualStart);
    assert_eq!(w.a.s.state(), State::Established);
    w.run_until(t0 + Duration::from_secs(30));
    assert_eq!(w.a.s.state(), State::Established);
    w.b_silent = true;
    let silent_from = w.now;
    w.run_until(silent_from + Duration::from_secs(20));
    let Some(DownReason::NotificationSent { notification, .. }) = w.a.downs.first() else {
        panic!("A did not reset: {:?}", w.a.downs);
    };
    assert_eq!((notification.code, notification.subcode), (4, 0));
    let (at, _) = w.a.s.stats().last_error.clone().expect("last error");
    let after = at - silent_from;
    // The last KEEPALIVE from B arrived at most 3 s before the silence.
    assert!(
        after > Duration::from_secs(5) && after <= Duration::from_secs(9),
        "hold expired {after:?} after the silence began"
    );
    // B saw A's Hold Timer Expired NOTIFICATION.
    assert!(matches!(
        w.b.downs.first(),
        Some(DownReason::NotificationReceived(n)) if n.code == 4
    ));
}

#[test]
fn hold_time_zero_means_no_keepalives() {
    let (a, b) = configs(0, 9);
    let mut w = Wire::new(a, b);
    let t0 = w.now;
    w.input(Who::A, Input::ManualStart);
    w.input(Who::B, Input::ManualStart);
    assert_eq!(w.a.s.state(), State::Established);
    w.run_until(t0 + Duration::from_secs(3600));
    assert_eq!(w.a.s.state(), State::Established);
    assert_eq!(w.b.s.state(), State::Established);
    // Only the KEEPALIVE that confirms the OPEN (RFC 4271 §8.2.2).
    assert_eq!(w.a.s.stats().sent.keepalive, 1);
    assert_eq!(w.b.s.stats().sent.keepalive, 1);
    assert!(w.a.timers.is_empty() && w.b.timers.is_empty());
}

#[test]
fn active_side_retries_until_passive_side_listens() {
    let (a, b) = configs(90, 90);
    let mut w = Wire::new(a, b);
    let t0 = w.now;
    w.input(Who::B, Input::ManualStart);
    // A is Idle and refuses: B fails and restarts after its delays.
    assert_ne!(w.b.s.state(), State::Established);
    w.run_until(t0 + Duration::from_secs(12));
    w.input(Who::A, Input::ManualStart);
    w.run_until(t0 + Duration::from_secs(60));
    assert_eq!(w.a.s.state(), State::Established);
    assert_eq!(w.b.s.state(), State::Established);
    assert!(!w.b.downs.is_empty());
}
