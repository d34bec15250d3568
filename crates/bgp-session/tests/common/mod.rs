//! A small std-only I/O driver for interop tests: one session, a listener
//! (passive) or a target to connect to (active), at most one connection,
//! timers in a map, all on the test's thread. Loops are bounded by a time
//! limit.

#![allow(dead_code)] // each interop test uses a part

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bgp_session::{Config, Direction, DownReason, Input, Output, Session, State, Timer};
use bgp_wire::Message;

/// Find a program in PATH or the sbin directories; panic with a clear
/// message naming the Debian package when it is not installed.
pub(crate) fn program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .map(PathBuf::from)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from));
    for d in dirs {
        let p = d.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{name}` is not installed: install the Debian package {package} (scripts/install-deps)"
    );
}

/// A port nobody listens on at `addr`.
pub(crate) fn free_port(addr: Ipv4Addr) -> u16 {
    let l = TcpListener::bind((addr, 0)).expect("bind for a free port");
    l.local_addr().expect("local addr").port()
}

/// A 127.x address pair unlikely to clash with other tests on the machine:
/// the second and third octets come from the process id, the fourth from
/// the daemon (`family`) and the test within it (`test`).
pub(crate) fn addresses(family: u8, test: u8) -> (Ipv4Addr, Ipv4Addr) {
    let pid = std::process::id();
    let b = 100 + (pid % 100) as u8;
    let c = ((pid / 100) % 250) as u8;
    let base = family * 16 + test * 2;
    (
        Ipv4Addr::new(127, b, c, 1 + base),
        Ipv4Addr::new(127, b, c, 2 + base),
    )
}

/// The route server's side of the test: AS 64500, identifier 192.0.2.1,
/// peer AS 65001, hold time 9.
pub(crate) fn config(passive: bool) -> Config {
    let mut cfg = Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001);
    cfg.hold_time = 9;
    cfg.passive = passive;
    cfg.connect_retry = Duration::from_secs(2);
    cfg.restart_delay = Some(Duration::from_secs(1));
    cfg
}

/// One session and its connection.
pub(crate) struct Driver {
    pub(crate) session: Session,
    pub(crate) listener: Option<TcpListener>,
    pub(crate) target: Option<SocketAddr>,
    pub(crate) stream: Option<TcpStream>,
    pub(crate) timers: BTreeMap<Timer, Instant>,
    pub(crate) downs: Vec<DownReason>,
    pub(crate) updates: Vec<Vec<u8>>,
    pub(crate) established_at: Option<Instant>,
}

impl Driver {
    /// A passive driver accepting on `listener`.
    pub(crate) fn passive(listener: TcpListener) -> Driver {
        listener.set_nonblocking(true).expect("nonblocking");
        Driver::new(config(true), Some(listener), None)
    }

    /// An active driver connecting to `target`.
    pub(crate) fn active(target: SocketAddr) -> Driver {
        Driver::new(config(false), None, Some(target))
    }

    fn new(cfg: Config, listener: Option<TcpListener>, target: Option<SocketAddr>) -> Driver {
        Driver {
            session: Session::new(cfg).expect("config"),
            listener,
            target,
            stream: None,
            timers: BTreeMap::new(),
            downs: Vec::new(),
            updates: Vec::new(),
            established_at: None,
        }
    }

    fn attach(&mut self, s: TcpStream, dir: Direction) {
        s.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        s.set_nodelay(true).expect("nodelay");
        self.stream = Some(s);
        self.input(Input::TcpConnected(dir));
    }

    fn apply(&mut self, outs: Vec<Output>) {
        let mut connect = false;
        for o in outs {
            match o {
                Output::Send(b) => {
                    if let Some(s) = &mut self.stream {
                        if s.write_all(&b).is_err() {
                            self.stream = None;
                            let r = self
                                .session
                                .handle(Instant::now(), Input::TcpConnectionFails);
                            self.apply(r);
                            return;
                        }
                    }
                }
                Output::Disconnect => {
                    if let Some(s) = self.stream.take() {
                        let _ = s.shutdown(Shutdown::Both);
                    }
                }
                Output::Connect => connect = true,
                Output::SetTimer(t, at) => {
                    self.timers.insert(t, at);
                }
                Output::CancelTimer(t) => {
                    self.timers.remove(&t);
                }
                Output::Established(_) => self.established_at = Some(Instant::now()),
                Output::Down(r) => self.downs.push(r),
                Output::Update(b) => self.updates.push(b),
                Output::StateChange { .. }
                | Output::OpenReceived { .. }
                | Output::RouteRefresh(_) => {}
            }
        }
        if connect {
            let target = self.target.expect("a passive session must not connect");
            match TcpStream::connect_timeout(&target, Duration::from_secs(2)) {
                Ok(s) => self.attach(s, Direction::Outbound),
                Err(_) => self.input(Input::TcpConnectionFails),
            }
        }
    }

    /// Feed one input now and carry out the outputs.
    pub(crate) fn input(&mut self, i: Input<'_>) {
        let r = self.session.handle(Instant::now(), i);
        self.apply(r);
    }

    /// Run the I/O loop until `done` says so or `limit` passes.
    pub(crate) fn run(&mut self, limit: Duration, mut done: impl FnMut(&Driver) -> bool) {
        let end = Instant::now() + limit;
        let mut buf = vec![0u8; 65536];
        while Instant::now() < end {
            if done(self) {
                return;
            }
            let accepted = match &self.listener {
                Some(l) => match l.accept() {
                    Ok((s, _)) => Some(s),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => None,
                    Err(e) => panic!("accept: {e}"),
                },
                None => None,
            };
            if let Some(s) = accepted {
                if self.stream.is_none() && self.session.state() == State::Active {
                    self.attach(s, Direction::Inbound);
                } else {
                    // Idle refuses; a second connection is not used here.
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
            if let Some(s) = &mut self.stream {
                match s.read(&mut buf) {
                    Ok(0) => {
                        self.stream = None;
                        self.input(Input::TcpConnectionFails);
                    }
                    Ok(n) => {
                        let chunk = buf[..n].to_vec();
                        self.input(Input::Received(&chunk));
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => {
                        self.stream = None;
                        self.input(Input::TcpConnectionFails);
                    }
                }
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
            let now = Instant::now();
            let due: Vec<Timer> = self
                .timers
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(t, _)| *t)
                .collect();
            for t in due {
                self.timers.remove(&t);
                self.input(Input::TimerExpired(t));
            }
        }
    }

    /// Prefixes announced in the UPDATEs received so far, decoded with the
    /// negotiated context.
    pub(crate) fn announced(&self) -> Vec<String> {
        let ctx = self.session.decode_ctx();
        self.updates
            .iter()
            .filter_map(|b| match Message::decode(b, &ctx) {
                Ok(Message::Update(u)) => Some(
                    u.announced()
                        .map(|n| n.prefix.to_string())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect()
    }
}
