//! The BGP finite state machine of RFC 4271 §8.2.2, sans I/O.
//!
//! [`Session::handle`] takes one event and the current time and returns the
//! actions to carry out. It frames the received byte stream (RFC 4271
//! §4.1), decodes messages with the negotiated context, checks the peer's
//! OPEN (§6.2), answers every error with the NOTIFICATION that RFC 4271 §6,
//! RFC 6608 (FSM errors), RFC 4486 (Cease subcodes) and RFC 9003 (shutdown
//! communication) prescribe, and runs the ConnectRetry, Hold, Keepalive,
//! DelayOpen and IdleHold timers through [`Output::SetTimer`] and
//! [`Input::TimerExpired`].
//!
//! It does not touch sockets or clocks, keep routes, or apply policy.
//!
//! Deviations from the letter of §8.2.2, each for a reason:
//! - A received NOTIFICATION is never answered with one (the RFC's "any
//!   other event" in OpenSent and OpenConfirm would send an FSM Error back
//!   to a peer that is already closing).
//! - The HoldTimer is restarted lazily: a received message records the
//!   time, and an expiry that comes early re-arms the timer for the real
//!   deadline. This saves a timer output per UPDATE; the behaviour seen on
//!   the wire is the same.
//! - KEEPALIVEs go out every keepalive interval whether or not UPDATEs were
//!   sent in between (allowed by RFC 4271 §4.4).
//! - A NOTIFICATION is sent for errors found before our OPEN went out
//!   (SendNOTIFICATIONwithoutOPEN, §8.1.1, always on): operators see why.
//! - A passive session never connects out, so it runs no ConnectRetryTimer.
//! - Timer expiries for timers that are not armed are ignored: a caller
//!   racing a cancellation cannot reset a session.
//! - One `Session` owns one connection: a second connection to the same
//!   peer gets a `Session` of its own and [`crate::collision()`] decides.

use std::time::{Duration, Instant};

use bgp_wire::error::{code, subcode, Reset};
use bgp_wire::message::{
    frame, msg_type, write_keepalive, write_notification, write_open, write_route_refresh,
};
use bgp_wire::{
    DecodeCtx, EncodeCtx, Message, Notification, Open, RouteRefresh, MAX_EXTENDED_LEN, MAX_LEN,
};

use crate::config::{Config, ConfigError};
use crate::event::{Direction, DownReason, Input, Output, State, Timer};
use crate::negotiate::{check_open, local_open, negotiate, Negotiated};
use crate::stats::Stats;

/// A message event of RFC 4271 §8.1.5, decoded from the byte stream.
enum MsgEvent {
    /// BGPOpen (event 19 or 20).
    Open(Open),
    /// BGPHeaderErr (event 21) or BGPOpenMsgErr (event 22): send this.
    Error(Notification, String),
    /// NotifMsg (event 25) or NotifMsgVerErr (event 24).
    Notification(Notification),
    /// KeepAliveMsg (event 26).
    Keepalive,
    /// UpdateMsg (event 27): the whole message.
    Update(Vec<u8>),
    /// A ROUTE-REFRESH message (RFC 2918).
    RouteRefresh(RouteRefresh),
    /// An UPDATE received before Established (not decoded).
    UnexpectedUpdate,
}

/// What happens to the ConnectRetryCounter on the way to Idle.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counter {
    Zero,
    Keep,
    Increment,
}

/// One BGP session over one TCP connection at a time.
#[derive(Debug)]
pub struct Session {
    cfg: Config,
    state: State,
    /// Started and not stopped: automatic restarts are allowed.
    admin_up: bool,
    /// The TCP connection is up, and who opened it.
    conn: Option<Direction>,
    /// Received bytes not yet forming a whole message.
    rx: Vec<u8>,
    open: Open,
    peer_open: Option<Open>,
    negotiated: Option<Negotiated>,
    timers: [Option<Instant>; 5],
    /// Negotiated hold time (non-zero), and when the HoldTimer was last
    /// restarted, for the lazy restart.
    hold: Option<(Duration, Instant)>,
    stats: Stats,
}

impl Session {
    /// A session in Idle. Nothing happens until `ManualStart`.
    pub fn new(cfg: Config) -> Result<Session, ConfigError> {
        cfg.validate()?;
        let open = local_open(&cfg);
        Ok(Session {
            cfg,
            state: State::Idle,
            admin_up: false,
            conn: None,
            rx: Vec::new(),
            open,
            peer_open: None,
            negotiated: None,
            timers: [None; 5],
            hold: None,
            stats: Stats::default(),
        })
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The OPEN we send.
    pub fn local_open(&self) -> &Open {
        &self.open
    }

    /// The peer's OPEN on the current connection, once received.
    pub fn peer_open(&self) -> Option<&Open> {
        self.peer_open.as_ref()
    }

    /// The peer's BGP identifier and AS, once its OPEN was accepted.
    pub fn peer_identity(&self) -> Option<(std::net::Ipv4Addr, u32)> {
        self.peer_open.as_ref().map(|o| (o.bgp_id, o.asn()))
    }

    /// Who opened the current TCP connection, if one is up.
    pub fn direction(&self) -> Option<Direction> {
        self.conn
    }

    /// What was negotiated with the peer. Set when the peer's OPEN is
    /// accepted and kept after the session goes down (so that UPDATEs
    /// output just before can still be decoded), until the next connection.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Statistics for the looking glass.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// When a timer is due, if it is armed.
    pub fn timer(&self, t: Timer) -> Option<Instant> {
        self.timers.get(t.index()).copied().flatten()
    }

    /// How to decode the UPDATEs this session outputs.
    pub fn decode_ctx(&self) -> DecodeCtx {
        match &self.negotiated {
            Some(n) => n.decode_ctx(),
            None => DecodeCtx {
                ebgp: self.cfg.is_ebgp(),
                ..DecodeCtx::default()
            },
        }
    }

    /// How to encode UPDATEs for [`Input::SendUpdate`].
    pub fn encode_ctx(&self) -> EncodeCtx {
        match &self.negotiated {
            Some(n) => n.encode_ctx(),
            None => EncodeCtx::default(),
        }
    }

    /// Handle one event at time `now` and return the actions to carry out,
    /// in order.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Output> {
        let mut out = Vec::new();
        self.handle_into(now, input, &mut out);
        out
    }

    /// Like [`Session::handle`], appending to `out`.
    pub fn handle_into(&mut self, now: Instant, input: Input<'_>, out: &mut Vec<Output>) {
        match input {
            Input::ManualStart | Input::AutomaticStart => {
                if self.state == State::Idle {
                    if input == Input::ManualStart {
                        // An operator's start forgives earlier failures.
                        self.stats.consecutive_failures = 0;
                    }
                    self.admin_up = true;
                    self.start(now, out);
                }
            }
            Input::ManualStop { subcode, message } => {
                self.admin_up = false;
                self.stop(now, subcode, &message, "manual stop", Counter::Zero, out);
            }
            Input::AutomaticStop { subcode, message } => {
                let c = Counter::Increment;
                self.stop(now, subcode, &message, "automatic stop", c, out);
            }
            Input::TimerExpired(t) => self.timer_expired(now, t, out),
            Input::TcpConnected(dir) => self.tcp_connected(now, dir, out),
            Input::TcpConnectionFails => self.tcp_fails(now, out),
            Input::Received(bytes) => self.received(now, bytes, out),
            Input::OpenCollisionDump => {
                if self.state != State::Idle {
                    let n = Notification {
                        code: code::CEASE,
                        subcode: subcode::CONNECTION_COLLISION,
                        data: Vec::new(),
                    };
                    let detail = "another connection to the peer won the collision";
                    self.fail_with(now, n, detail.to_string(), Counter::Increment, out);
                }
            }
            Input::SendUpdate(bytes) => {
                if self.state == State::Established {
                    if let Some(&t) = bytes.get(18) {
                        self.stats.sent.count(t);
                    }
                    out.push(Output::Send(bytes));
                }
            }
            Input::SendRouteRefresh(family) => {
                let ok = self
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| n.route_refresh && n.families.contains(family));
                if self.state == State::Established && ok {
                    let mut b = Vec::with_capacity(23);
                    write_route_refresh(
                        &mut b,
                        &RouteRefresh {
                            afi: family.afi(),
                            safi: family.safi(),
                            subtype: 0,
                        },
                    );
                    self.send(b, msg_type::ROUTE_REFRESH, out);
                }
            }
        }
    }

    // ---- actions -------------------------------------------------------

    fn goto(&mut self, now: Instant, to: State, out: &mut Vec<Output>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.stats.state_since = Some(now);
        if to == State::Established {
            self.stats.established_since = Some(now);
            self.stats.established_count += 1;
        } else if from == State::Established {
            self.stats.established_since = None;
        }
        out.push(Output::StateChange { from, to });
    }

    fn set_timer(&mut self, t: Timer, at: Instant, out: &mut Vec<Output>) {
        if let Some(slot) = self.timers.get_mut(t.index()) {
            *slot = Some(at);
        }
        out.push(Output::SetTimer(t, at));
    }

    fn cancel_timer(&mut self, t: Timer, out: &mut Vec<Output>) {
        if let Some(slot) = self.timers.get_mut(t.index()) {
            if slot.take().is_some() {
                out.push(Output::CancelTimer(t));
            }
        }
    }

    fn armed(&self, t: Timer) -> bool {
        self.timer(t).is_some()
    }

    fn send(&mut self, bytes: Vec<u8>, t: u8, out: &mut Vec<Output>) {
        self.stats.sent.count(t);
        out.push(Output::Send(bytes));
    }

    fn send_open(&mut self, out: &mut Vec<Output>) {
        let mut b = Vec::with_capacity(64);
        write_open(&mut b, &self.open);
        self.send(b, msg_type::OPEN, out);
    }

    fn send_keepalive(&mut self, out: &mut Vec<Output>) {
        let mut b = Vec::with_capacity(19);
        write_keepalive(&mut b);
        self.send(b, msg_type::KEEPALIVE, out);
    }

    fn send_notification(&mut self, n: &Notification, out: &mut Vec<Output>) {
        let mut b = Vec::with_capacity(21 + n.data.len());
        write_notification(&mut b, n);
        self.send(b, msg_type::NOTIFICATION, out);
    }

    /// Send our OPEN and wait for the peer's under the large hold timer
    /// (RFC 4271 §8.2.2, "the HoldTimer to a large value").
    fn open_sent(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.cancel_timer(Timer::ConnectRetry, out);
        self.cancel_timer(Timer::DelayOpen, out);
        self.send_open(out);
        self.hold = None;
        self.set_timer(Timer::Hold, now + self.cfg.open_hold_time, out);
        self.goto(now, State::OpenSent, out);
    }

    /// Idle to Connect or Active (ManualStart, AutomaticStart, IdleHold).
    fn start(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.cancel_timer(Timer::IdleHold, out);
        self.stats.connect_retry_counter = 0;
        if self.cfg.passive {
            self.goto(now, State::Active, out);
        } else {
            self.set_timer(Timer::ConnectRetry, now + self.cfg.connect_retry, out);
            out.push(Output::Connect);
            self.goto(now, State::Connect, out);
        }
    }

    /// Go to Idle: disarm timers, drop the connection, report why, and arm
    /// the IdleHoldTimer for an automatic restart if allowed.
    fn go_idle(
        &mut self,
        now: Instant,
        reason: DownReason,
        counter: Counter,
        out: &mut Vec<Output>,
    ) {
        for t in [
            Timer::ConnectRetry,
            Timer::Hold,
            Timer::Keepalive,
            Timer::DelayOpen,
        ] {
            self.cancel_timer(t, out);
        }
        if self.conn.take().is_some() {
            out.push(Output::Disconnect);
        }
        self.rx = Vec::new();
        self.hold = None;
        self.peer_open = None;
        match counter {
            Counter::Zero => self.stats.connect_retry_counter = 0,
            Counter::Keep => {}
            Counter::Increment => {
                self.stats.connect_retry_counter =
                    self.stats.connect_retry_counter.saturating_add(1)
            }
        }
        self.goto(now, State::Idle, out);
        self.stats.last_error = Some((now, reason.clone()));
        out.push(Output::Down(reason));
        if self.admin_up {
            let prior = self.stats.consecutive_failures;
            self.stats.consecutive_failures = prior.saturating_add(1);
            if let Some(base) = self.cfg.restart_delay {
                let delay = if self.cfg.damp_restarts {
                    let factor = 1u32 << prior.min(16);
                    base.saturating_mul(factor)
                        .min(self.cfg.restart_delay_max.max(base))
                } else {
                    base
                };
                self.set_timer(Timer::IdleHold, now + delay, out);
            }
        }
    }

    /// Send a NOTIFICATION and go to Idle.
    fn fail_with(
        &mut self,
        now: Instant,
        n: Notification,
        detail: String,
        counter: Counter,
        out: &mut Vec<Output>,
    ) {
        if self.conn.is_some() {
            self.send_notification(&n, out);
            let reason = DownReason::NotificationSent {
                notification: n,
                detail,
            };
            self.go_idle(now, reason, counter, out);
        } else {
            self.go_idle(now, DownReason::Closed(detail), counter, out);
        }
    }

    /// FSM Error (RFC 6608) for an unexpected message or event.
    fn fsm_error(&mut self, now: Instant, what: &str, out: &mut Vec<Output>) {
        let sub = match self.state {
            State::OpenSent => subcode::FSM_UNEXPECTED_IN_OPENSENT,
            State::OpenConfirm => subcode::FSM_UNEXPECTED_IN_OPENCONFIRM,
            State::Established => subcode::FSM_UNEXPECTED_IN_ESTABLISHED,
            _ => 0,
        };
        let n = Notification {
            code: code::FSM,
            subcode: sub,
            data: Vec::new(),
        };
        let detail = format!("unexpected {what} in state {}", self.state);
        self.fail_with(now, n, detail, Counter::Increment, out);
    }

    // ---- events --------------------------------------------------------

    fn stop(
        &mut self,
        now: Instant,
        sub: u8,
        message: &str,
        what: &str,
        counter: Counter,
        out: &mut Vec<Output>,
    ) {
        if self.state == State::Idle {
            if !self.admin_up {
                self.cancel_timer(Timer::IdleHold, out);
            }
            return;
        }
        // RFC 9003 gives the shutdown communication to subcodes 2 and 4
        // only; other subcodes carry other data or none, so the text stays
        // local.
        let communication = matches!(sub, subcode::ADMIN_SHUTDOWN | subcode::ADMIN_RESET);
        let (n, detail) = if communication {
            (Notification::cease(sub, message), what.to_string())
        } else {
            let n = Notification {
                code: code::CEASE,
                subcode: sub,
                data: Vec::new(),
            };
            if message.is_empty() {
                (n, what.to_string())
            } else {
                (n, format!("{what}: {message}"))
            }
        };
        self.fail_with(now, n, detail, counter, out);
    }

    fn timer_expired(&mut self, now: Instant, t: Timer, out: &mut Vec<Output>) {
        if !self.armed(t) {
            return;
        }
        if let Some(slot) = self.timers.get_mut(t.index()) {
            *slot = None;
        }
        match (t, self.state) {
            (Timer::IdleHold, State::Idle) => {
                if self.admin_up {
                    self.start(now, out);
                }
            }
            (Timer::ConnectRetry, State::Connect) => {
                if self.conn.take().is_some() {
                    out.push(Output::Disconnect);
                }
                self.cancel_timer(Timer::DelayOpen, out);
                self.set_timer(Timer::ConnectRetry, now + self.cfg.connect_retry, out);
                out.push(Output::Connect);
            }
            (Timer::ConnectRetry, State::Active) => {
                self.set_timer(Timer::ConnectRetry, now + self.cfg.connect_retry, out);
                out.push(Output::Connect);
                self.goto(now, State::Connect, out);
            }
            (Timer::DelayOpen, State::Connect | State::Active) => self.open_sent(now, out),
            (Timer::Hold, State::OpenSent | State::OpenConfirm | State::Established) => {
                if let Some((hold, since)) = self.hold {
                    let due = since + hold;
                    if due > now {
                        self.set_timer(Timer::Hold, due, out);
                        return;
                    }
                }
                let n = Notification {
                    code: code::HOLD_TIMER_EXPIRED,
                    subcode: 0,
                    data: Vec::new(),
                };
                let detail = "nothing received from the peer within the hold time".to_string();
                self.fail_with(now, n, detail, Counter::Increment, out);
            }
            (Timer::Keepalive, State::OpenConfirm | State::Established) => {
                self.send_keepalive(out);
                if let Some(n) = &self.negotiated {
                    let ka = Duration::from_secs(u64::from(n.keepalive_interval));
                    if !ka.is_zero() {
                        self.set_timer(Timer::Keepalive, now + ka, out);
                    }
                }
            }
            // Any other timer in a state that does not run it (RFC 4271
            // §8.2.2 "any other event"); we disarm timers on every state
            // change, so only a stale timer gets here.
            (_, State::Idle) => {}
            (_, State::Connect | State::Active) => {
                self.go_idle(
                    now,
                    DownReason::Closed(format!("unexpected {t:?} timer in {}", self.state)),
                    Counter::Increment,
                    out,
                );
            }
            (_, _) => self.fsm_error(now, &format!("{t:?} timer expiry"), out),
        }
    }

    fn tcp_connected(&mut self, now: Instant, dir: Direction, out: &mut Vec<Output>) {
        match self.state {
            // RFC 4271 §8.2.2 Idle: connections are refused.
            State::Idle => out.push(Output::Disconnect),
            State::Connect | State::Active => {
                if self.conn.is_some() {
                    // One connection per Session: a second one is the
                    // caller's collision case (§6.8).
                    return;
                }
                self.conn = Some(dir);
                self.rx.clear();
                self.peer_open = None;
                self.negotiated = None;
                self.cancel_timer(Timer::ConnectRetry, out);
                match self.cfg.delay_open {
                    Some(d) => self.set_timer(Timer::DelayOpen, now + d, out),
                    None => self.open_sent(now, out),
                }
            }
            State::OpenSent | State::OpenConfirm | State::Established => {}
        }
    }

    fn tcp_fails(&mut self, now: Instant, out: &mut Vec<Output>) {
        // The connection is gone already: no Disconnect to ask for.
        if self.state != State::Idle {
            self.conn = None;
        }
        match self.state {
            State::Idle => {}
            State::Connect if self.armed(Timer::DelayOpen) => {
                self.cancel_timer(Timer::DelayOpen, out);
                self.set_timer(Timer::ConnectRetry, now + self.cfg.connect_retry, out);
                self.rx.clear();
                self.goto(now, State::Active, out);
                out.push(Output::Down(DownReason::ConnectionLost));
            }
            State::Connect => self.go_idle(now, DownReason::ConnectionLost, Counter::Keep, out),
            State::Active => self.go_idle(now, DownReason::ConnectionLost, Counter::Increment, out),
            State::OpenSent => {
                // RFC 4271 §8.2.2: back to listening in Active.
                self.rx.clear();
                self.cancel_timer(Timer::Hold, out);
                if !self.cfg.passive {
                    self.set_timer(Timer::ConnectRetry, now + self.cfg.connect_retry, out);
                }
                self.stats.last_error = Some((now, DownReason::ConnectionLost));
                self.goto(now, State::Active, out);
                out.push(Output::Down(DownReason::ConnectionLost));
            }
            State::OpenConfirm | State::Established => {
                self.go_idle(now, DownReason::ConnectionLost, Counter::Increment, out)
            }
        }
    }

    fn received(&mut self, now: Instant, bytes: &[u8], out: &mut Vec<Output>) {
        if self.state == State::Idle || self.conn.is_none() {
            return;
        }
        let mut buf = std::mem::take(&mut self.rx);
        buf.extend_from_slice(bytes);
        let mut pos = 0;
        while let Some(rest) = buf.get(pos..) {
            let max = match (&self.negotiated, self.state) {
                (Some(n), State::Established) if n.extended_message => MAX_EXTENDED_LEN,
                _ => MAX_LEN,
            };
            let len = match frame(rest, max) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(r) => {
                    let n = Notification::from_reset(&r);
                    self.fail_with(now, n, r.reason.to_string(), Counter::Increment, out);
                    return;
                }
            };
            let Some(msg) = rest.get(..len) else { break };
            pos += len;
            let ev = self.decode(msg);
            self.message(now, ev, out);
            if self.state == State::Idle || self.conn.is_none() {
                return;
            }
        }
        buf.drain(..pos.min(buf.len()));
        self.rx = buf;
    }

    fn decode(&mut self, msg: &[u8]) -> MsgEvent {
        let t = msg.get(18).copied().unwrap_or(0);
        self.stats.received.count(t);
        if t == msg_type::UPDATE && self.state != State::Established {
            return MsgEvent::UnexpectedUpdate;
        }
        let ctx = self.decode_ctx();
        match Message::decode(msg, &ctx) {
            Ok(Message::Open(o)) => MsgEvent::Open(o),
            Ok(Message::Update(_)) => MsgEvent::Update(msg.to_vec()),
            Ok(Message::Notification(n)) => MsgEvent::Notification(n),
            Ok(Message::Keepalive) => MsgEvent::Keepalive,
            Ok(Message::RouteRefresh(r)) => MsgEvent::RouteRefresh(r),
            Err(r) => reset_event(&r),
        }
    }

    fn message(&mut self, now: Instant, ev: MsgEvent, out: &mut Vec<Output>) {
        match (self.state, ev) {
            (State::Idle, _) => {}
            (_, MsgEvent::Error(n, detail)) => {
                self.fail_with(now, n, detail, Counter::Increment, out)
            }
            (_, MsgEvent::Notification(n)) => {
                // NotifMsgVerErr (event 24) leaves the counter alone.
                let counter = if n.code == code::OPEN && n.subcode == subcode::UNSUPPORTED_VERSION {
                    Counter::Keep
                } else {
                    Counter::Increment
                };
                self.go_idle(now, DownReason::NotificationReceived(n), counter, out);
            }
            (State::Connect | State::Active, MsgEvent::Open(o)) if self.armed(Timer::DelayOpen) => {
                // Event 20: our OPEN goes out now, with a KEEPALIVE.
                self.cancel_timer(Timer::ConnectRetry, out);
                self.cancel_timer(Timer::DelayOpen, out);
                if self.accept_open(now, o, out) {
                    self.send_open(out);
                    self.send_keepalive(out);
                    self.open_confirm(now, out);
                }
            }
            (State::Connect | State::Active, ev) => {
                // RFC 4271 §8.2.2 "any other event": close, no NOTIFICATION
                // (RFC 6608 has no subcode for these states).
                let what = event_name(&ev);
                let reason = DownReason::Closed(format!("unexpected {what} before OPEN"));
                self.go_idle(now, reason, Counter::Increment, out);
            }
            (State::OpenSent, MsgEvent::Open(o)) => {
                self.cancel_timer(Timer::DelayOpen, out);
                if self.accept_open(now, o, out) {
                    self.send_keepalive(out);
                    self.open_confirm(now, out);
                }
            }
            (State::OpenConfirm, MsgEvent::Keepalive) => {
                if let Some(h) = &mut self.hold {
                    h.1 = now;
                }
                self.stats.consecutive_failures = 0;
                self.goto(now, State::Established, out);
                if let Some(n) = &self.negotiated {
                    out.push(Output::Established(Box::new(n.clone())));
                }
            }
            (State::Established, MsgEvent::Keepalive) => self.touch(now),
            (State::Established, MsgEvent::Update(b)) => {
                self.touch(now);
                out.push(Output::Update(b));
            }
            (State::Established, MsgEvent::RouteRefresh(r)) => {
                self.touch(now);
                if self.route_refresh_ok(&r) {
                    out.push(Output::RouteRefresh(r));
                } else {
                    self.stats.route_refresh_ignored += 1;
                }
            }
            (_, ev) => {
                let what = event_name(&ev);
                self.fsm_error(now, what, out);
            }
        }
    }

    fn touch(&mut self, now: Instant) {
        if let Some(h) = &mut self.hold {
            h.1 = now;
        }
    }

    fn route_refresh_ok(&self, r: &RouteRefresh) -> bool {
        let Some(n) = &self.negotiated else {
            return false;
        };
        let family_ok =
            bgp_wire::Family::from_afi_safi(r.afi, r.safi).is_some_and(|f| n.families.contains(f));
        let subtype_ok = match r.subtype {
            0 => true,
            1 | 2 => n.enhanced_route_refresh,
            _ => false,
        };
        n.route_refresh && family_ok && subtype_ok
    }

    /// Check the peer's OPEN and negotiate; on failure send the
    /// NOTIFICATION and go to Idle. Returns whether it was accepted.
    fn accept_open(&mut self, now: Instant, o: Open, out: &mut Vec<Output>) -> bool {
        if let Err(e) = check_open(&self.cfg, &o) {
            self.fail_with(now, e.notification, e.reason, Counter::Increment, out);
            return false;
        }
        let n = negotiate(&self.cfg, &self.open, &o);
        out.push(Output::OpenReceived {
            peer_id: o.bgp_id,
            peer_as: o.asn(),
        });
        self.peer_open = Some(o);
        self.negotiated = Some(n);
        true
    }

    /// Arm the negotiated timers and go to OpenConfirm.
    fn open_confirm(&mut self, now: Instant, out: &mut Vec<Output>) {
        let (hold, ka) = match &self.negotiated {
            Some(n) => (n.hold_time, n.keepalive_interval),
            None => (0, 0),
        };
        if hold == 0 {
            self.hold = None;
            self.cancel_timer(Timer::Hold, out);
            self.cancel_timer(Timer::Keepalive, out);
        } else {
            let h = Duration::from_secs(u64::from(hold));
            self.hold = Some((h, now));
            self.set_timer(
                Timer::Keepalive,
                now + Duration::from_secs(u64::from(ka)),
                out,
            );
            self.set_timer(Timer::Hold, now + h, out);
        }
        self.goto(now, State::OpenConfirm, out);
    }
}

/// The message event for a decode error: header errors, OPEN errors,
/// UPDATE errors (RFC 7606 session resets) and ROUTE-REFRESH errors all
/// send the NOTIFICATION the decoder chose.
fn reset_event(r: &Reset) -> MsgEvent {
    MsgEvent::Error(Notification::from_reset(r), r.reason.to_string())
}

fn event_name(ev: &MsgEvent) -> &'static str {
    match ev {
        MsgEvent::Open(_) => "OPEN",
        MsgEvent::Error(..) => "malformed message",
        MsgEvent::Notification(_) => "NOTIFICATION",
        MsgEvent::Keepalive => "KEEPALIVE",
        MsgEvent::Update(_) | MsgEvent::UnexpectedUpdate => "UPDATE",
        MsgEvent::RouteRefresh(_) => "ROUTE-REFRESH",
    }
}
