//! Connection collision detection (RFC 4271 §6.8, RFC 6286 §2.3).

use std::net::Ipv4Addr;
use std::time::Instant;

use bgp_session::{
    collision, connection_to_keep, Config, Direction, DownReason, Input, Output, Session, State,
    Verdict,
};
use bgp_wire::message::write_open;
use bgp_wire::{Capability, Open, Role};

const US: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

#[test]
fn higher_identifier_keeps_its_connection() {
    // We are higher: keep the connection we opened.
    assert_eq!(
        connection_to_keep(US, 64500, Ipv4Addr::new(10, 0, 0, 2), 65001),
        Direction::Outbound
    );
    // The peer is higher: keep the one it opened. 203.0.113.9 > 192.0.2.1
    // as integers in host order.
    assert_eq!(
        connection_to_keep(US, 64500, Ipv4Addr::new(203, 0, 113, 9), 65001),
        Direction::Inbound
    );
    // Compared as unsigned: 128.0.0.0 is above 127.255.255.255.
    assert_eq!(
        connection_to_keep(
            Ipv4Addr::new(128, 0, 0, 0),
            1,
            Ipv4Addr::new(127, 255, 255, 255),
            2
        ),
        Direction::Outbound
    );
    // Equal identifiers (allowed between ASes): the larger AS wins.
    assert_eq!(connection_to_keep(US, 64500, US, 65001), Direction::Inbound);
    assert_eq!(
        connection_to_keep(US, 65002, US, 65001),
        Direction::Outbound
    );
}

/// Both speakers must drop the same TCP connection: what one calls
/// outbound the other calls inbound.
#[test]
fn both_sides_agree() {
    let ids = [
        Ipv4Addr::new(0, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(127, 255, 255, 255),
        Ipv4Addr::new(128, 0, 0, 0),
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(255, 255, 255, 255),
    ];
    let ases = [1u32, 64500, 65001, 4_200_000_000];
    for a in ids {
        for b in ids {
            for x in ases {
                for y in ases {
                    if a == b && x == y {
                        continue; // no valid pair of speakers
                    }
                    let mine = connection_to_keep(a, x, b, y);
                    let theirs = connection_to_keep(b, y, a, x);
                    assert_ne!(mine, theirs, "{a}/{x} vs {b}/{y}");
                }
            }
        }
    }
}

fn peer_open(id: Ipv4Addr) -> Vec<u8> {
    let open = Open::new(
        65001,
        90,
        id,
        vec![Capability::Role(Role::RouteServerClient)],
    );
    let mut b = Vec::new();
    write_open(&mut b, &open);
    b
}

fn keepalive() -> Vec<u8> {
    let mut b = Vec::new();
    bgp_wire::message::write_keepalive(&mut b);
    b
}

/// A session on one connection, brought to OpenConfirm (or only OpenSent
/// when `peer_id` is `None`).
fn session(dir: Direction, peer_id: Option<Ipv4Addr>, now: Instant) -> Session {
    let mut cfg = Config::new(64500, US, 65001);
    cfg.passive = dir == Direction::Inbound;
    let mut s = Session::new(cfg).expect("config");
    s.handle(now, Input::ManualStart);
    s.handle(now, Input::TcpConnected(dir));
    if let Some(id) = peer_id {
        let out = s.handle(now, Input::Received(&peer_open(id)));
        assert!(out.contains(&Output::OpenReceived {
            peer_id: id,
            peer_as: 65001
        }));
        assert_eq!(s.state(), State::OpenConfirm);
    }
    s
}

#[test]
fn collision_between_sessions() {
    let now = Instant::now();
    let low_peer = Ipv4Addr::new(10, 0, 0, 2);
    let high_peer = Ipv4Addr::new(203, 0, 113, 9);

    // Our outbound connection in OpenConfirm, the peer's inbound arrives.
    let existing = session(Direction::Outbound, Some(low_peer), now);
    let new = session(Direction::Inbound, Some(low_peer), now);
    assert_eq!(collision(&existing, &new), Verdict::CloseNew);
    let existing = session(Direction::Outbound, Some(high_peer), now);
    let new = session(Direction::Inbound, Some(high_peer), now);
    assert_eq!(collision(&existing, &new), Verdict::CloseExisting);
    // The identifier is known from either session.
    let existing = session(Direction::Outbound, None, now);
    let new = session(Direction::Inbound, Some(high_peer), now);
    assert_eq!(collision(&existing, &new), Verdict::CloseExisting);
    // Neither knows it yet: nothing to decide.
    let existing = session(Direction::Outbound, None, now);
    let new = session(Direction::Inbound, None, now);
    assert_eq!(collision(&existing, &new), Verdict::NoCollision);
    // An Established session is kept whatever the identifiers.
    let mut existing = session(Direction::Outbound, Some(high_peer), now);
    existing.handle(now, Input::Received(&keepalive()));
    assert_eq!(existing.state(), State::Established);
    let new = session(Direction::Inbound, Some(high_peer), now);
    assert_eq!(collision(&existing, &new), Verdict::CloseNew);
    // A session without a connection does not collide.
    let mut idle = Session::new(Config::new(64500, US, 65001)).expect("config");
    idle.handle(now, Input::ManualStart);
    assert_eq!(collision(&idle, &new), Verdict::NoCollision);
}

#[test]
fn loser_sends_cease_connection_collision_resolution() {
    let now = Instant::now();
    let mut loser = session(Direction::Inbound, Some(Ipv4Addr::new(10, 0, 0, 2)), now);
    let out = loser.handle(now, Input::OpenCollisionDump);
    let mut want = vec![0xff; 16];
    want.extend_from_slice(&[0x00, 0x15, 0x03, 0x06, 0x07]);
    assert_eq!(out.first(), Some(&Output::Send(want)));
    assert!(out.contains(&Output::Disconnect));
    assert_eq!(loser.state(), State::Idle);
    assert!(matches!(
        loser.stats().last_error,
        Some((_, DownReason::NotificationSent { ref notification, .. }))
            if notification.code == 6 && notification.subcode == 7
    ));
}

/// A full collision between two speakers that connect to each other at the
/// same time: each ends up with two sessions, asks `collision` when an
/// OPEN arrives, and dumps the loser. Both must drop the same connection
/// (the one opened by the lower identifier) and keep the other one up.
#[test]
fn simultaneous_connections_end_with_one_session() {
    // A's identifier is higher: the connection A opened (0) survives.
    simultaneous(US, 0);
    // A's identifier is lower: the connection B opened (1) survives.
    simultaneous(Ipv4Addr::new(10, 0, 0, 1), 1);
}

fn simultaneous(a_id: Ipv4Addr, survivor: usize) {
    let now = Instant::now();
    let a_cfg = {
        let mut c = Config::new(64500, a_id, 65001);
        c.passive = false;
        c
    };
    let b_cfg = {
        let mut c = Config::new(65001, Ipv4Addr::new(10, 0, 0, 2), 64500);
        c.passive = false;
        c.role = Some(Role::RouteServerClient);
        c
    };
    // Connection 1: A -> B. Connection 2: B -> A.
    // sessions[speaker][connection]: speaker 0 is A, 1 is B.
    let mk = |cfg: &Config, dir| {
        let mut s = Session::new(cfg.clone()).expect("config");
        s.handle(now, Input::ManualStart);
        let out = s.handle(now, Input::TcpConnected(dir));
        (s, out)
    };
    let (a1, a1_out) = mk(&a_cfg, Direction::Outbound);
    let (b1, b1_out) = mk(&b_cfg, Direction::Inbound);
    let (a2, a2_out) = mk(&a_cfg, Direction::Inbound);
    let (b2, b2_out) = mk(&b_cfg, Direction::Outbound);
    let mut sessions = [[a1, a2], [b1, b2]];
    // Pending outputs: (speaker, connection, outputs), FIFO.
    let mut queue = std::collections::VecDeque::from([
        (0usize, 0usize, a1_out),
        (1, 0, b1_out),
        (0, 1, a2_out),
        (1, 1, b2_out),
    ]);
    let mut open = [true, true]; // per connection
    let mut downs: Vec<(usize, usize, DownReason)> = Vec::new();
    for _ in 0..1000 {
        let Some((who, conn, outs)) = queue.pop_front() else {
            break;
        };
        for o in outs {
            let peer = 1 - who;
            match o {
                Output::Send(b) if open[conn] => {
                    let r = sessions[peer][conn].handle(now, Input::Received(&b));
                    queue.push_back((peer, conn, r));
                }
                Output::Disconnect if open[conn] => {
                    open[conn] = false;
                    let r = sessions[peer][conn].handle(now, Input::TcpConnectionFails);
                    queue.push_back((peer, conn, r));
                }
                Output::OpenReceived { .. } => {
                    let other = 1 - conn;
                    let verdict = collision(&sessions[who][other], &sessions[who][conn]);
                    let loser = match verdict {
                        Verdict::CloseExisting => Some(other),
                        Verdict::CloseNew => Some(conn),
                        Verdict::NoCollision => None,
                    };
                    if let Some(l) = loser {
                        let r = sessions[who][l].handle(now, Input::OpenCollisionDump);
                        queue.push_back((who, l, r));
                    }
                }
                Output::Down(r) => downs.push((who, conn, r)),
                _ => {}
            }
        }
    }
    assert!(queue.is_empty(), "did not settle");
    let lost = 1 - survivor;
    for speaker in &sessions {
        assert_eq!(speaker[survivor].state(), State::Established);
        assert_eq!(speaker[lost].state(), State::Idle);
    }
    assert!(open[survivor] && !open[lost]);
    // The other connection was closed with Cease/Connection Collision
    // Resolution, by at least one side; nobody complained about the
    // survivor.
    assert!(downs.iter().all(|(_, c, _)| *c == lost), "{downs:?}");
    assert!(downs.iter().any(|(_, _, r)| matches!(
        r,
        DownReason::NotificationSent { notification, .. }
            if (notification.code, notification.subcode) == (6, 7)
    )));
}
