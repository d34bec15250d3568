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
//! Known limitations: when a second connection arrives
//! while one is being opened, the newer one replaces the older unless the
//! older is Established (then the newer is refused); full RFC 4271 §6.8
//! collision handling with both connections kept until the OPENs is not
//! done here.

pub mod sockopt;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp_session::{Direction, DownReason, Input, Negotiated, Output, Session, State, Timer};
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
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Act on outputs.
        let mut close = false;
        let mut wbuf: Vec<u8> = Vec::new();
        for o in outputs.drain(..) {
            match o {
                Output::Send(b) => wbuf.extend_from_slice(&b),
                Output::Disconnect => close = true,
                Output::Connect => {}
                other => report(session, other, events, status),
            }
        }
        if !wbuf.is_empty() && stream.write_all(&wbuf).await.is_err() {
            session.handle_into(Instant::now(), Input::TcpConnectionFails, outputs);
            // The connection is gone: run_peer acts on what the session
            // says next (restart timers, a new connection).
            return false;
        }
        publish(session, status);
        if close {
            let _ = stream.shutdown().await;
            return false;
        }
        let deadline = next_deadline(session);
        tokio::select! {
            r = stream.read(&mut buf) => {
                match r {
                    Ok(0) | Err(_) => {
                        session.handle_into(Instant::now(), Input::TcpConnectionFails, outputs);
                        return false;
                    }
                    Ok(n) => {
                        session.handle_into(Instant::now(), Input::Received(&buf[..n]), outputs);
                    }
                }
            }
            _ = sleep_until(deadline) => fire_timers(session, outputs),
            conn = recv_inbound(&mut io.inbound) => {
                // A second connection while this one runs: keep an
                // Established one; otherwise the newer replaces it.
                if let Some(conn) = conn {
                    if session.state() == State::Established {
                        drop(conn);
                    } else {
                        session.handle_into(Instant::now(), Input::OpenCollisionDump, outputs);
                        for o in outputs.drain(..) {
                            match o {
                                Output::Send(b) => { let _ = stream.write_all(&b).await; }
                                Output::Connect | Output::Disconnect => {}
                                other => report(session, other, events, status),
                            }
                        }
                        let _ = stream.shutdown().await;
                        // Start over on the new connection.
                        session.handle_into(Instant::now(), Input::AutomaticStart, outputs);
                        outputs.retain(|o| !matches!(o, Output::Connect));
                        stream = conn;
                        let _ = stream.set_nodelay(true);
                        session.handle_into(Instant::now(), Input::TcpConnected(Direction::Inbound), outputs);
                    }
                } else {
                    io.inbound = None;
                }
            }
            cmd = commands.recv() => {
                match cmd {
                    Some(Command::Send(bytes)) => {
                        if session.state() == State::Established {
                            if stream.write_all(&bytes).await.is_err() {
                                session.handle_into(Instant::now(), Input::TcpConnectionFails, outputs);
                                return false;
                            } else if let Ok(mut s) = status.lock() {
                                s.messages_out += 1;
                                s.update_bytes_out += bytes.len() as u64;
                            }
                        }
                    }
                    Some(Command::Stop { subcode, message }) => {
                        session.handle_into(Instant::now(), Input::ManualStop { subcode, message }, outputs);
                        flush_final(session, &mut stream, outputs, events, status).await;
                        return true;
                    }
                    Some(Command::AutomaticStop { subcode, message, hold }) => {
                        *hold_until = Some(Instant::now() + hold);
                        // The NOTIFICATION and the close come out as
                        // outputs at the top of the loop.
                        session.handle_into(Instant::now(), Input::AutomaticStop { subcode, message }, outputs);
                    }
                    None => {
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
