//! The load generator: one BGP session per simulated member, leaner than
//! the `speaker` crate and than a full `bgp-io` session for this job:
//! `bgp-session` runs the OPEN exchange, then [`crate::wire`] takes the
//! connection (separate read and write tasks, one large read buffer, no
//! allocation or decode into owned values per message). UPDATEs are
//! encoded before the clock starts, and received prefixes are counted in
//! a bitmap indexed by the plan instead of a hash set, so a member holding
//! millions of routes costs a few hundred kilobytes.
//!
//! Not here: deciding what to announce (see `plan`), targets, timing.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp_session::{Config, Direction, Input, Session};
use bgp_wire::builder::{pack_announcements, pack_withdrawals};
use bgp_wire::{EncodeCtx, Family, Nlri, Prefix};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, Notify};

use crate::plan::{is_v6, nlri, Group, Member, PrefixIndex};
use crate::wire::{cease, handshake, msg_type, walk_update, Framer, KEEPALIVE};

/// Read buffer of one session: large, so that a burst from the target is
/// taken in few reads.
const READ_BUFFER: usize = 1 << 20;

/// What the bench asks of a running member session.
#[derive(Debug)]
enum Cmd {
    /// Pre-encoded UPDATEs to write.
    Send(Vec<u8>),
    /// Cease and end.
    Stop,
}

/// Counters of one member, readable while it runs.
#[derive(Debug, Default)]
pub struct Counts {
    /// Distinct planned prefixes currently held.
    pub held: AtomicU64,
    /// Announcements of prefixes that are not in the plan.
    pub unexpected: AtomicU64,
    /// UPDATE messages received.
    pub updates: AtomicU64,
    /// Prefix announcements received, repeats included.
    pub announcements: AtomicU64,
    /// Times the session went down.
    pub downs: AtomicU64,
}

/// One running member session.
#[derive(Debug)]
pub struct MemberLoad {
    cmd: mpsc::UnboundedSender<Cmd>,
    /// Counters.
    pub counts: Arc<Counts>,
    enc: Arc<Mutex<Option<EncodeCtx>>>,
}

impl MemberLoad {
    /// Start the session of `m` towards `rs` (active), counting received
    /// prefixes against `index`.
    pub fn start(
        m: &Member,
        rs: SocketAddr,
        rs_asn: u32,
        index: Arc<Lookup>,
    ) -> Result<MemberLoad, String> {
        let mut cfg = Config::new(m.asn, m.addr, rs_asn);
        cfg.passive = false;
        cfg.hold_time = 240;
        cfg.connect_retry = Duration::from_secs(1);
        cfg.restart_delay = Some(Duration::from_secs(1));
        cfg.role = None;
        Session::new(cfg.clone()).map_err(|e| format!("member AS{}: {e:?}", m.asn))?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let enc = Arc::new(Mutex::new(None));
        let local = SocketAddr::new(IpAddr::V4(m.addr), 0);
        tokio::spawn(drive(
            cfg,
            local,
            rs,
            cmd_rx,
            index,
            counts.clone(),
            enc.clone(),
        ));
        Ok(MemberLoad {
            cmd: cmd_tx,
            counts,
            enc,
        })
    }

    /// Whether the session is Established (its encode context is known).
    pub fn established(&self) -> bool {
        self.enc.lock().map(|e| e.is_some()).unwrap_or(false)
    }

    /// The encode context of the current session.
    pub fn encode_ctx(&self) -> Option<EncodeCtx> {
        self.enc.lock().ok().and_then(|e| *e)
    }

    /// Write pre-encoded UPDATEs.
    pub fn send(&self, bytes: Vec<u8>) {
        let _ = self.cmd.send(Cmd::Send(bytes));
    }

    /// Distinct planned prefixes held.
    pub fn held(&self) -> u64 {
        self.counts.held.load(Ordering::Relaxed)
    }

    /// Stop with a Cease.
    pub fn stop(&self) {
        let _ = self.cmd.send(Cmd::Stop);
    }
}

/// UPDATEs announcing `groups` of member `m`.
pub fn encode_announce(ctx: &EncodeCtx, m: &Member, groups: &[&Group]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for g in groups {
        let v6 = is_v6(g);
        let fam = if v6 {
            Family::Ipv6Unicast
        } else {
            Family::Ipv4Unicast
        };
        pack_announcements(ctx, &g.block, fam, &m.next_hop(v6), &nlri(g), &mut out)
            .map_err(|_| format!("AS{}: attribute block too large", m.asn))?;
    }
    Ok(out)
}

/// UPDATEs withdrawing `list`.
pub fn encode_withdraw(ctx: &EncodeCtx, list: &[Prefix]) -> Vec<u8> {
    let mut out = Vec::new();
    for fam in [Family::Ipv4Unicast, Family::Ipv6Unicast] {
        let l: Vec<Nlri> = list
            .iter()
            .filter(|p| p.family() == fam)
            .map(|p| Nlri::new(*p))
            .collect();
        if !l.is_empty() {
            pack_withdrawals(ctx, fam, &l, &mut out);
        }
    }
    out
}

/// One member's session for the whole run: connect, OPEN exchange, then
/// read and count until the connection ends; again after a second unless
/// stopped.
async fn drive(
    cfg: Config,
    local: SocketAddr,
    rs: SocketAddr,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    index: Arc<Lookup>,
    counts: Arc<Counts>,
    enc: Arc<Mutex<Option<EncodeCtx>>>,
) {
    let mut held = Held {
        bits: vec![0u64; index.order.len().div_ceil(64)],
        next: 0,
        held: 0,
    };
    let mut framer = Framer::new(READ_BUFFER);
    loop {
        if let Some(session) = connect_and_open(&cfg, local, rs, &mut framer).await {
            let (stream, n) = session;
            if let Ok(mut e) = enc.lock() {
                *e = Some(n.encode_ctx());
            }
            let add_path = [
                n.add_path_receive.contains(Family::Ipv4Unicast),
                n.add_path_receive.contains(Family::Ipv6Unicast),
            ];
            let keepalive = Duration::from_secs(u64::from(n.keepalive_interval.max(1)));
            let (mut rd, wr) = stream.into_split();
            let closed = Arc::new(Notify::new());
            let mut writer = tokio::spawn(write_loop(wr, cmds, closed.clone(), keepalive));
            let ended = loop {
                tokio::select! {
                    r = framer.fill(&mut rd) => {
                        if !matches!(r, Ok(n) if n > 0) {
                            break None;
                        }
                        if !count(&mut framer, add_path, &index, &counts, &mut held) {
                            break None;
                        }
                    }
                    w = &mut writer => break Some(w),
                }
            };
            let back = match ended {
                Some(w) => w,
                None => {
                    closed.notify_one();
                    writer.await
                }
            };
            if let Ok(mut e) = enc.lock() {
                *e = None;
            }
            held.bits.iter_mut().for_each(|b| *b = 0);
            held.held = 0;
            counts.held.store(0, Ordering::Relaxed);
            counts.downs.fetch_add(1, Ordering::Relaxed);
            match back {
                Ok((c, false)) => cmds = c,
                _ => return,
            }
        }
        // Restart delay; UPDATEs asked for while down are dropped, as a
        // real session would.
        let pause = tokio::time::sleep(Duration::from_secs(1));
        tokio::pin!(pause);
        loop {
            tokio::select! {
                _ = &mut pause => break,
                c = cmds.recv() => match c {
                    Some(Cmd::Send(_)) => {}
                    Some(Cmd::Stop) | None => return,
                },
            }
        }
    }
}

/// Connect from `local` to `rs` and run the OPEN exchange.
async fn connect_and_open(
    cfg: &Config,
    local: SocketAddr,
    rs: SocketAddr,
    framer: &mut Framer,
) -> Option<(TcpStream, Box<bgp_session::Negotiated>)> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(local).ok()?;
    let mut stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(rs))
        .await
        .ok()?
        .ok()?;
    let _ = stream.set_nodelay(true);
    let mut session = Session::new(cfg.clone()).ok()?;
    let mut out = Vec::new();
    session.handle_into(std::time::Instant::now(), Input::ManualStart, &mut out);
    *framer = Framer::new(READ_BUFFER);
    let n = handshake(
        &mut session,
        &mut stream,
        Direction::Outbound,
        framer,
        Duration::from_secs(30),
    )
    .await
    .ok()?;
    framer.set_max(if n.extended_message { 65535 } else { 4096 });
    Some((stream, n))
}

/// Write what the bench asks and a KEEPALIVE every `keepalive`, until
/// told to stop (returns the command channel and true), the reader saw the
/// connection end, or a write fails (false).
async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    closed: Arc<Notify>,
    keepalive: Duration,
) -> (mpsc::UnboundedReceiver<Cmd>, bool) {
    let mut tick = tokio::time::interval(keepalive);
    loop {
        tokio::select! {
            c = cmds.recv() => match c {
                Some(Cmd::Send(b)) => {
                    if wr.write_all(&b).await.is_err() {
                        return (cmds, false);
                    }
                }
                Some(Cmd::Stop) | None => {
                    let _ = wr.write_all(&cease(2)).await;
                    let _ = wr.shutdown().await;
                    return (cmds, true);
                }
            },
            _ = tick.tick() => {
                if wr.write_all(&KEEPALIVE).await.is_err() {
                    return (cmds, false);
                }
            }
            _ = closed.notified() => return (cmds, false),
        }
    }
}

/// Planned prefixes held by one member.
struct Held {
    bits: Vec<u64>,
    held: u64,
    /// Index guessed for the next prefix: the one after the last found.
    next: u32,
}

/// Prefix to plan index. Targets send a group's prefixes together and in
/// the order they were announced, which is plan order, so the index after
/// the last one found is checked first (one sequential read) and the hash
/// table, whose random reads miss the cache at these sizes, is the
/// fallback.
#[derive(Debug)]
pub struct Lookup {
    map: PrefixIndex,
    order: Vec<Prefix>,
}

impl Lookup {
    /// From the plan's index.
    pub fn new(index: &PrefixIndex) -> Lookup {
        let mut order = vec![Prefix::V4(0, 0); index.len()];
        for (p, &i) in index {
            if let Some(slot) = order.get_mut(i as usize) {
                *slot = *p;
            }
        }
        Lookup {
            map: index.clone(),
            order,
        }
    }

    /// The plan index of `p`, trying `guess` first.
    #[inline]
    fn get(&self, p: &Prefix, guess: u32) -> Option<u32> {
        if self.order.get(guess as usize) == Some(p) {
            return Some(guess);
        }
        self.map.get(p).copied()
    }
}

/// Count every complete message in `framer`. False when the session must
/// end (NOTIFICATION received, framing error).
fn count(
    framer: &mut Framer,
    add_path: [bool; 2],
    index: &Lookup,
    counts: &Counts,
    h: &mut Held,
) -> bool {
    let (mut updates, mut announced, mut unexpected) = (0u64, 0u64, 0u64);
    let mut ok = true;
    loop {
        let msg = match framer.next_message() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(_) => {
                ok = false;
                break;
            }
        };
        match msg.get(18).copied() {
            Some(msg_type::UPDATE) => {
                updates += 1;
                let _ = walk_update(msg, add_path, |ann, n| match index.get(&n.prefix, h.next) {
                    Some(i) => {
                        h.next = i.wrapping_add(1);
                        if flip(&mut h.bits, i, ann) {
                            if ann {
                                h.held += 1;
                            } else {
                                h.held -= 1;
                            }
                        }
                        announced += u64::from(ann);
                    }
                    None => {
                        announced += u64::from(ann);
                        unexpected += u64::from(ann);
                    }
                });
            }
            Some(msg_type::NOTIFICATION) => {
                ok = false;
                break;
            }
            _ => {}
        }
    }
    counts.held.store(h.held, Ordering::Relaxed);
    counts.updates.fetch_add(updates, Ordering::Relaxed);
    counts.announcements.fetch_add(announced, Ordering::Relaxed);
    if unexpected > 0 {
        counts.unexpected.fetch_add(unexpected, Ordering::Relaxed);
    }
    ok
}

/// Set or clear bit `i`; returns whether it changed.
fn flip(bits: &mut [u64], i: u32, on: bool) -> bool {
    let (w, b) = ((i / 64) as usize, i % 64);
    let Some(word) = bits.get_mut(w) else {
        return false;
    };
    let was = *word & (1 << b) != 0;
    if on {
        *word |= 1 << b;
    } else {
        *word &= !(1 << b);
    }
    was != on
}
