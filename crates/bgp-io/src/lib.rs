//! Runs a `bgp-session` state machine over tokio TCP sockets.
//!
//! [`run_peer`] owns one peer's [`Session`] for its whole life: it accepts
//! the connections a listener hands it (passive) or connects out (active),
//! feeds bytes and timer expiries to the state machine, writes what it
//! says to write, and reports what the routing layer needs as [`Event`]s.
//! UPDATE bytes the routing layer wants sent arrive on a channel and are
//! written as they are, without passing through the state machine.
//!
//! This is the only place where BGP meets sockets; it holds no protocol
//! logic of its own.
//!
//! TCP-MD5 (RFC 2385) and GTSM (RFC 5082) are set on outgoing connections
//! here ([`PeerIo::md5`], [`PeerIo::gtsm`]); the listener that accepts
//! incoming ones sets them with [`sockopt`].
//!
//! Connection collisions (RFC 4271 §6.8): a connection from the peer that
//! arrives while one is in use runs a session of its own until an OPEN
//! tells who the peer is (on either connection); then
//! [`bgp_session::collision()`] keeps one by the BGP Identifier rule and
//! the other gets Cease / Connection Collision Resolution (RFC 4486
//! subcode 7) and is closed. An Established session is kept and the new
//! connection closed, except when the peer announced graceful restart on
//! it and sets the Restart State bit in the new connection's OPEN (RFC
//! 4724 §4.2): then the new connection means the peer restarted,
//! the old session is treated as if its TCP connection had failed (so the
//! routing layer keeps its routes as stale) and the new one goes on. The
//! winner keeps running as the peer's session; only one candidate
//! connection is held at a time (a third is refused). When the candidate
//! takes over, UPDATEs queued for the old session are dropped (the routing
//! layer sends the table again when the new one is Established); one the
//! routing layer builds in the moment between the switch and its reading
//! of the old session's `Down` event can still reach the new session
//! (known limitation).

pub mod sockopt;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp_session::{
    collision, connection_to_keep, Direction, DownReason, Input, Negotiated, Output, Session,
    State, Timer, Verdict,
};
use bgp_wire::RouteRefresh;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

/// What happened on a session, for the routing layer.
#[derive(Debug)]
pub enum Event {
    /// The session is Established.
    Established(Box<Negotiated>),
    /// An UPDATE (complete message) that decoded without a reset.
    Update(Vec<u8>),
    /// The peer asks for the routes again.
    RouteRefresh(RouteRefresh),
    /// The session went down.
    Down(DownReason),
}

/// What the looking glass shows of a session.
#[derive(Clone, Debug)]
pub struct Status {
    /// Current state.
    pub state: State,
    /// When it became Established.
    pub established_since: Option<Instant>,
    /// The last reason it went down, in words.
    pub last_error: Option<String>,
    /// Messages received.
    pub messages_in: u64,
    /// Messages sent by the state machine (OPEN, KEEPALIVE, NOTIFICATION)
    /// plus UPDATE buffers written.
    pub messages_out: u64,
    /// Bytes of UPDATEs written.
    pub update_bytes_out: u64,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            state: State::Idle,
            established_since: None,
            last_error: None,
            messages_in: 0,
            messages_out: 0,
            update_bytes_out: 0,
        }
    }
}

/// Shared, read by the looking glass.
pub type SharedStatus = Arc<Mutex<Status>>;

/// Commands to a running peer task.
#[derive(Debug)]
pub enum Command {
    /// UPDATE messages to write (one or more, back to back).
    Send(Vec<u8>),
    /// Stop the session with a Cease (RFC 4486 subcode, RFC 9003 text) and
    /// end the task.
    Stop {
        /// Cease subcode.
        subcode: u8,
        /// Shutdown communication.
        message: String,
    },
    /// Stop the session with a Cease (AutomaticStop, RFC 4271 §8.1.2
    /// event 8), e.g. for a max-prefix limit (RFC 4486 subcode 1), and
    /// keep it down for `hold`: connections are refused and none is made
    /// until then; after that the session restarts as after any other
    /// failure. The task keeps running.
    AutomaticStop {
        /// Cease subcode.
        subcode: u8,
        /// Text for the log (sent only for subcodes 2 and 4, RFC 9003).
        message: String,
        /// How long the session stays down.
        hold: Duration,
    },
}

/// How a peer task connects.
#[derive(Debug)]
pub struct PeerIo {
    /// Connections accepted for this peer by a listener.
    pub inbound: Option<mpsc::Receiver<TcpStream>>,
    /// Where to connect when the session asks to (active sessions).
    pub remote: SocketAddr,
    /// Local address to bind outgoing connections to.
    pub local: Option<IpAddr>,
    /// TCP-MD5 key for outgoing connections (RFC 2385).
    pub md5: Option<Vec<u8>>,
    /// GTSM on outgoing connections (RFC 5082).
    pub gtsm: bool,
}

/// Run one peer until a [`Command::Stop`] or until the command channel
/// closes. `events` receives what the routing layer needs.
pub async fn run_peer(
    mut session: Session,
    mut io: PeerIo,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    status: SharedStatus,
) {
    let mut outputs = Vec::new();
    session.handle_into(Instant::now(), Input::ManualStart, &mut outputs);
    let mut pending_connect = false;
    // Set by Command::AutomaticStop: no connection before this time.
    let mut hold_until: Option<Instant> = None;
    loop {
        // Between connections: act on outputs, then wait for a timer, an
        // inbound connection or a command.
        let mut stream: Option<(TcpStream, Direction)> = None;
        for o in outputs.drain(..) {
            match o {
                Output::Connect => pending_connect = true,
                other => report(&session, other, &events, &status),
            }
        }
        publish(&session, &status);
        if pending_connect {
            pending_connect = false;
            match connect(&io).await {
                Ok(s) => stream = Some((s, Direction::Outbound)),
                Err(_) => {
                    session.handle_into(Instant::now(), Input::TcpConnectionFails, &mut outputs);
                    continue;
                }
            }
        }
        if hold_until.is_some_and(|h| Instant::now() >= h) {
            hold_until = None;
        }
        if stream.is_none() {
            let deadline = match (next_deadline(&session), hold_until) {
                (Some(d), Some(h)) => Some(d.max(h)),
                (d, None) => d,
                (None, h) => h,
            };
            tokio::select! {
                _ = sleep_until(deadline) => {
                    fire_timers(&mut session, &mut outputs);
                    continue;
                }
                conn = recv_inbound(&mut io.inbound) => {
                    let Some(conn) = conn else {
                        io.inbound = None;
                        continue;
                    };
                    if hold_until.is_none() && matches!(session.state(), State::Active | State::Connect) {
                        stream = Some((conn, Direction::Inbound));
                    } else {
                        // Idle refuses connections (RFC 4271 §8.2.2).
                        drop(conn);
                        continue;
                    }
                }
                cmd = commands.recv() => {
                    let (subcode, message) = match cmd {
                        Some(Command::Stop { subcode, message }) => (subcode, message),
                        // UPDATEs while the session is down are dropped:
                        // the table is sent again when it comes up.
                        Some(Command::Send(_)) => continue,
                        Some(Command::AutomaticStop { hold, .. }) => {
                            hold_until = Some(Instant::now() + hold);
                            continue;
                        }
                        None => (2, String::new()),
                    };
                    session.handle_into(Instant::now(), Input::ManualStop { subcode, message }, &mut outputs);
                    for o in outputs.drain(..) {
                        report(&session, o, &events, &status);
                    }
                    publish(&session, &status);
                    return;
                }
            }
        }
        let Some((stream, dir)) = stream else {
            continue;
        };
        let stop = run_connection(
            &mut session,
            stream,
            dir,
            &mut io,
            &mut commands,
            &events,
            &status,
            &mut outputs,
            &mut hold_until,
        )
        .await;
        if stop {
            publish(&session, &status);
            return;
        }
    }
}

async fn recv_inbound(rx: &mut Option<mpsc::Receiver<TcpStream>>) -> Option<TcpStream> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn connect(io: &PeerIo) -> std::io::Result<TcpStream> {
    let socket = match io.remote {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(local) = io.local {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    if let Some(key) = &io.md5 {
        sockopt::set_md5(&socket, io.remote.ip(), key)?;
    }
    if io.gtsm {
        sockopt::set_gtsm(&socket, io.remote.is_ipv6())?;
    }
    let s = tokio::time::timeout(Duration::from_secs(10), socket.connect(io.remote))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    s.set_nodelay(true)?;
    Ok(s)
}

fn next_deadline(session: &Session) -> Option<Instant> {
    Timer::ALL.iter().filter_map(|&t| session.timer(t)).min()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

fn fire_timers(session: &mut Session, outputs: &mut Vec<Output>) {
    let now = Instant::now();
    for t in Timer::ALL {
        if session.timer(t).is_some_and(|d| d <= now) {
            session.handle_into(now, Input::TimerExpired(t), outputs);
        }
    }
}

fn publish(session: &Session, status: &SharedStatus) {
    if let Ok(mut s) = status.lock() {
        let st = session.stats();
        s.state = session.state();
        s.established_since = st.established_since;
        s.last_error = st.last_error.as_ref().map(|(_, r)| r.to_string());
        s.messages_in = st.received.total();
        s.messages_out = st.sent.total();
    }
}

/// Outputs that do not touch the connection.
fn report(
    session: &Session,
    o: Output,
    events: &mpsc::UnboundedSender<Event>,
    status: &SharedStatus,
) {
    let _ = session;
    let ev = match o {
        Output::Established(n) => Event::Established(n),
        Output::Update(b) => Event::Update(b),
        Output::RouteRefresh(r) => Event::RouteRefresh(r),
        Output::Down(r) => {
            if let Ok(mut s) = status.lock() {
                s.last_error = Some(r.to_string());
            }
            Event::Down(r)
        }
        _ => return,
    };
    // The receiver is gone only when the daemon shuts down.
    let _ = events.send(ev);
}

/// A second connection from the peer, with a session of its own, while
/// the collision is not settled (RFC 4271 §6.8).
struct Candidate {
    session: Session,
    stream: TcpStream,
    /// Outputs not acted on yet.
    out: Vec<Output>,
    /// Outputs that followed the peer's OPEN: they belong to the session
    /// that wins, and are acted on only if this one does.
    after_open: Vec<Output>,
}

impl Candidate {
    /// Start a session like `main` on the peer's new connection.
    fn new(main: &Session, stream: TcpStream) -> Option<Candidate> {
        let mut session = Session::new(main.config().clone()).ok()?;
        let _ = stream.set_nodelay(true);
        let mut out = Vec::new();
        let now = Instant::now();
        session.handle_into(now, Input::ManualStart, &mut out);
        session.handle_into(now, Input::TcpConnected(Direction::Inbound), &mut out);
        Some(Candidate {
            session,
            stream,
            out,
            after_open: Vec::new(),
        })
    }

    /// Write what the candidate's session says; `Some(true)` once the
    /// peer's OPEN arrived on it, `None` when it is gone.
    async fn progress(&mut self) -> Option<bool> {
        let mut w = Vec::new();
        let mut gone = false;
        let mut opened = !self.after_open.is_empty();
        let mut it = std::mem::take(&mut self.out).into_iter();
        while let Some(o) = it.next() {
            match o {
                Output::Send(b) => w.extend_from_slice(&b),
                Output::Disconnect | Output::Down(_) => gone = true,
                Output::OpenReceived { .. } => {
                    opened = true;
                    self.after_open.extend(it.by_ref());
                }
                _ => {}
            }
        }
        if !w.is_empty() && self.stream.write_all(&w).await.is_err() {
            gone = true;
        }
        (!gone).then_some(opened)
    }

    /// Lose the collision: Cease / Connection Collision Resolution, close.
    async fn dump(mut self) {
        self.session
            .handle_into(Instant::now(), Input::OpenCollisionDump, &mut self.out);
        let _ = self.progress().await;
        let _ = self.stream.shutdown().await;
    }
}

/// Read from the candidate connection, if there is one. Its buffer is
/// allocated only then: a candidate exchanges OPEN and KEEPALIVE (at most
/// 4,096 octets each before extended messages are negotiated).
async fn read_candidate(cand: &mut Option<Candidate>, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    match cand {
        Some(c) => {
            if buf.is_empty() {
                buf.resize(ReadBuf::MIN, 0);
            }
            c.stream.read(buf).await
        }
        None => std::future::pending().await,
    }
}

/// The read buffer of a connection. An established session mostly
/// receives KEEPALIVEs and small UPDATEs, so it starts at 4 KiB; a read
/// that fills it doubles it (up to 64 KiB) while a burst is pending, and
/// a read that uses a quarter of it or less halves it again. A route
/// server with a hundred sessions so holds a few hundred KiB of read
/// buffers instead of 6.4 MiB, and the state machine's own buffer of
/// partial messages, which takes what each read brings, stays as small.
#[derive(Debug)]
struct ReadBuf {
    buf: Vec<u8>,
}

impl ReadBuf {
    const MIN: usize = 4 * 1024;
    const MAX: usize = 64 * 1024;

    fn new() -> ReadBuf {
        ReadBuf {
            buf: vec![0; ReadBuf::MIN],
        }
    }

    /// Where the next read goes.
    fn space(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The `n` bytes just read.
    fn filled(&self, n: usize) -> &[u8] {
        self.buf.get(..n).unwrap_or(&self.buf)
    }

    /// Size the buffer for the next read after one of `n` bytes.
    fn adapt(&mut self, n: usize) {
        let len = self.buf.len();
        if n >= len && len < ReadBuf::MAX {
            self.buf.resize((len * 2).min(ReadBuf::MAX), 0);
        } else if n <= len / 4 && len > ReadBuf::MIN {
            self.buf.truncate((len / 2).max(ReadBuf::MIN));
            self.buf.shrink_to_fit();
        }
    }
}

/// Settle a collision between the connection in use and the candidate, if
/// an OPEN says enough. When the candidate wins, it becomes `session` and
/// `stream`, and the loser is closed (with Cease 6/7, or, for an
/// Established session of a peer doing graceful restart, as a failed
/// connection).
async fn settle(
    session: &mut Session,
    stream: &mut TcpStream,
    cand: &mut Option<Candidate>,
    outputs: &mut Vec<Output>,
    events: &mpsc::UnboundedSender<Event>,
    status: &SharedStatus,
    fresh_open: bool,
) -> bool {
    let Some(c) = cand.as_ref() else { return false };
    // RFC 4724 §4.2: a new connection from a peer that announced graceful
    // restart, and whose OPEN on it says it restarted (R bit), means the
    // old session is dead. Without the R bit it is an ordinary collision
    // (the peer, seeing our connection not yet Established, may be
    // resolving it by the identifier rule at the same time).
    let restarted = !fresh_open
        && session.state() == State::Established
        && session
            .negotiated()
            .is_some_and(|n| n.graceful_restart.is_some())
        && c.session
            .negotiated()
            .and_then(|n| n.graceful_restart.as_ref())
            .is_some_and(|g| g.restarting);
    let verdict = if restarted {
        Verdict::CloseExisting
    } else if fresh_open && session.state() == State::Established {
        // The peer's OPEN and KEEPALIVE came in one read: decide as RFC
        // 4271 §6.8 does in OpenConfirm, where the peer decided (an
        // Established session that wins by being first would make the
        // two sides close different connections).
        let cfg = session.config();
        match (session.peer_identity(), session.direction()) {
            (Some((id, asn)), Some(dir))
                if connection_to_keep(cfg.local_id, cfg.local_as, id, asn) != dir =>
            {
                Verdict::CloseExisting
            }
            _ => Verdict::CloseNew,
        }
    } else {
        match collision(session, &c.session) {
            // The connection in use has not even sent an OPEN (DelayOpen)
            // while the candidate has the peer's: the candidate goes on.
            Verdict::NoCollision
                if c.session.peer_identity().is_some()
                    && !matches!(
                        session.state(),
                        State::OpenSent | State::OpenConfirm | State::Established
                    ) =>
            {
                Verdict::CloseExisting
            }
            v => v,
        }
    };
    match verdict {
        Verdict::NoCollision => false,
        Verdict::CloseNew => {
            if let Some(c) = cand.take() {
                c.dump().await;
            }
            false
        }
        Verdict::CloseExisting => {
            let Some(mut c) = cand.take() else {
                return false;
            };
            if fresh_open {
                // What the session said on that OPEN (KEEPALIVE,
                // Established) is void: it loses.
                outputs.clear();
            }
            let input = if restarted {
                Input::TcpConnectionFails
            } else {
                Input::OpenCollisionDump
            };
            session.handle_into(Instant::now(), input, outputs);
            let mut w = Vec::new();
            for o in outputs.drain(..) {
                match o {
                    Output::Send(b) => w.extend_from_slice(&b),
                    Output::Connect | Output::Disconnect => {}
                    other => report(session, other, events, status),
                }
            }
            if !w.is_empty() {
                let _ = stream.write_all(&w).await;
            }
            let _ = stream.shutdown().await;
            std::mem::swap(session, &mut c.session);
            std::mem::swap(stream, &mut c.stream);
            outputs.append(&mut c.after_open);
            outputs.append(&mut c.out);
            publish(session, status);
            true
        }
    }
}

/// After the connection changed under the routing layer: UPDATEs already
/// queued were built for the old session and must not reach the new one
/// (the routing layer sends the whole table again once it is
/// Established). Another command found is kept for the loop.
fn drop_queued_updates(
    commands: &mut mpsc::UnboundedReceiver<Command>,
    deferred: &mut Option<Option<Command>>,
) {
    while deferred.is_none() {
        match commands.try_recv() {
            Ok(Command::Send(_)) => {}
            Ok(other) => *deferred = Some(Some(other)),
            Err(mpsc::error::TryRecvError::Empty) => break,
            Err(mpsc::error::TryRecvError::Disconnected) => *deferred = Some(None),
        }
    }
}

/// The next command: one kept by [`drop_queued_updates`] first.
async fn next_command(
    commands: &mut mpsc::UnboundedReceiver<Command>,
    deferred: &mut Option<Option<Command>>,
) -> Option<Command> {
    match deferred.take() {
        Some(c) => c,
        None => commands.recv().await,
    }
}

/// Drive one TCP connection. Returns true when the task must end.
#[allow(clippy::too_many_arguments)]
async fn run_connection(
    session: &mut Session,
    mut stream: TcpStream,
    dir: Direction,
    io: &mut PeerIo,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::UnboundedSender<Event>,
    status: &SharedStatus,
    outputs: &mut Vec<Output>,
    hold_until: &mut Option<Instant>,
) -> bool {
    let _ = stream.set_nodelay(true);
    session.handle_into(Instant::now(), Input::TcpConnected(dir), outputs);
    let mut buf = ReadBuf::new();
    let mut cbuf = Vec::new();
    let mut cand: Option<Candidate> = None;
    let mut deferred: Option<Option<Command>> = None;
    loop {
        // The peer's OPEN on the connection in use settles a collision
        // with a candidate before anything else is acted on.
        if cand.is_some()
            && outputs
                .iter()
                .any(|o| matches!(o, Output::OpenReceived { .. }))
            && settle(
                session,
                &mut stream,
                &mut cand,
                outputs,
                events,
                status,
                true,
            )
            .await
        {
            drop_queued_updates(commands, &mut deferred);
        }
        // Act on outputs.
        let mut close = false;
        let mut wbuf: Vec<u8> = Vec::new();
        for o in outputs.drain(..) {
            match o {
                Output::Send(b) => wbuf.extend_from_slice(&b),
                Output::Disconnect => close = true,
                Output::Connect | Output::OpenReceived { .. } => {}
                other => report(session, other, events, status),
            }
        }
        let write_failed = !wbuf.is_empty() && stream.write_all(&wbuf).await.is_err();
        if write_failed {
            session.handle_into(Instant::now(), Input::TcpConnectionFails, outputs);
        }
        publish(session, status);
        if close || write_failed {
            if close {
                let _ = stream.shutdown().await;
            }
            // A candidate connection from the peer takes over.
            if let Some(mut c) = cand.take() {
                for o in outputs.drain(..) {
                    if !matches!(o, Output::Send(_) | Output::Connect | Output::Disconnect) {
                        report(session, o, events, status);
                    }
                }
                std::mem::swap(session, &mut c.session);
                stream = c.stream;
                outputs.append(&mut c.after_open);
                outputs.append(&mut c.out);
                drop_queued_updates(commands, &mut deferred);
                continue;
            }
            // The connection is gone: run_peer acts on what the session
            // says next (restart timers, a new connection).
            return false;
        }
        let deadline = match (
            next_deadline(session),
            cand.as_ref().and_then(|c| next_deadline(&c.session)),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            r = stream.read(buf.space()) => {
                match r {
                    Ok(0) | Err(_) => {
                        session.handle_into(Instant::now(), Input::TcpConnectionFails, outputs);
                        if cand.is_none() {
                            // run_peer acts on the outputs.
                            return false;
                        }
                        // The candidate takes over at the top of the loop.
                        outputs.push(Output::Disconnect);
                    }
                    Ok(n) => {
                        session.handle_into(Instant::now(), Input::Received(buf.filled(n)), outputs);
                        buf.adapt(n);
                    }
                }
            }
            r = read_candidate(&mut cand, &mut cbuf) => {
                let fed = match (r, cand.as_mut()) {
                    (Ok(n), Some(c)) if n > 0 => {
                        c.session.handle_into(Instant::now(), Input::Received(&cbuf[..n]), &mut c.out);
                        true
                    }
                    _ => false,
                };
                if !fed {
                    cand = None;
                } else if let Some(c) = cand.as_mut() {
                    match c.progress().await {
                        None => cand = None,
                        Some(true) => {
                            if settle(session, &mut stream, &mut cand, outputs, events, status, false).await {
                                drop_queued_updates(commands, &mut deferred);
                            }
                        }
                        Some(false) => {}
                    }
                }
            }
            _ = sleep_until(deadline) => {
                fire_timers(session, outputs);
                if let Some(c) = cand.as_mut() {
                    fire_timers(&mut c.session, &mut c.out);
                    if c.progress().await.is_none() {
                        cand = None;
                    }
                }
            }
            conn = recv_inbound(&mut io.inbound) => {
                match conn {
                    // A second connection from the peer: it gets a session
                    // of its own until the OPENs settle the collision.
                    Some(conn) if cand.is_none() && hold_until.is_none() => {
                        if let Some(mut c) = Candidate::new(session, conn) {
                            if c.progress().await.is_some() {
                                cand = Some(c);
                            }
                        }
                    }
                    // A third one, or while held down: refused.
                    Some(conn) => drop(conn),
                    None => io.inbound = None,
                }
            }
            cmd = next_command(commands, &mut deferred) => {
                match cmd {
                    Some(Command::Send(bytes)) => {
                        if session.state() == State::Established {
                            if stream.write_all(&bytes).await.is_err() {
                                session.handle_into(Instant::now(), Input::TcpConnectionFails, outputs);
                                outputs.push(Output::Disconnect);
                            } else if let Ok(mut s) = status.lock() {
                                s.messages_out += 1;
                                s.update_bytes_out += bytes.len() as u64;
                            }
                        }
                    }
                    Some(Command::Stop { subcode, message }) => {
                        if let Some(c) = cand.take() {
                            c.dump().await;
                        }
                        session.handle_into(Instant::now(), Input::ManualStop { subcode, message }, outputs);
                        flush_final(session, &mut stream, outputs, events, status).await;
                        return true;
                    }
                    Some(Command::AutomaticStop { subcode, message, hold }) => {
                        *hold_until = Some(Instant::now() + hold);
                        if let Some(c) = cand.take() {
                            c.dump().await;
                        }
                        // The NOTIFICATION and the close come out as
                        // outputs at the top of the loop.
                        session.handle_into(Instant::now(), Input::AutomaticStop { subcode, message }, outputs);
                    }
                    None => {
                        if let Some(c) = cand.take() {
                            c.dump().await;
                        }
                        session.handle_into(Instant::now(), Input::ManualStop { subcode: 2, message: String::new() }, outputs);
                        flush_final(session, &mut stream, outputs, events, status).await;
                        return true;
                    }
                }
            }
        }
    }
}

async fn flush_final(
    session: &Session,
    stream: &mut TcpStream,
    outputs: &mut Vec<Output>,
    events: &mpsc::UnboundedSender<Event>,
    status: &SharedStatus,
) {
    for o in outputs.drain(..) {
        match o {
            Output::Send(b) => {
                let _ = stream.write_all(&b).await;
            }
            Output::Connect | Output::Disconnect => {}
            other => report(session, other, events, status),
        }
    }
    let _ = stream.shutdown().await;
    publish(session, status);
}

#[cfg(test)]
mod tests {
    use super::ReadBuf;

    #[test]
    fn read_buffer_grows_while_reads_fill_it_and_shrinks_back() {
        let mut b = ReadBuf::new();
        assert_eq!(b.space().len(), ReadBuf::MIN);
        let mut sizes = Vec::new();
        for _ in 0..6 {
            let n = b.space().len();
            b.adapt(n);
            sizes.push(b.space().len());
        }
        assert_eq!(sizes, [8192, 16384, 32768, 65536, 65536, 65536]);
        // A read of half the buffer keeps its size.
        b.adapt(ReadBuf::MAX / 2);
        assert_eq!(b.space().len(), ReadBuf::MAX);
        let mut sizes = Vec::new();
        for _ in 0..6 {
            b.adapt(19);
            sizes.push(b.space().len());
        }
        assert_eq!(sizes, [32768, 16384, 8192, 4096, 4096, 4096]);
        assert_eq!(b.filled(19).len(), 19);
    }
}
