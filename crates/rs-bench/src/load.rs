//! The load generator: one BGP session per simulated member, built on
//! caribix's own session code (`bgp-session` over `bgp-io`) and codec, and
//! leaner than the `speaker` crate for this job: UPDATEs are encoded before
//! the clock starts, and received prefixes are counted in a bitmap indexed
//! by the plan instead of a hash set, so a member holding millions of
//! routes costs a few hundred kilobytes.
//!
//! Not here: deciding what to announce (see `plan`), targets, timing.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp_io::{run_peer, Command, Event, PeerIo, SharedStatus, Status};
use bgp_session::{Config, Session, State};
use bgp_wire::builder::{pack_announcements, pack_withdrawals};
use bgp_wire::message::frame;
use bgp_wire::{DecodeCtx, EncodeCtx, Family, Message, Nlri, Prefix};
use tokio::sync::mpsc;

use crate::plan::{is_v6, nlri, Group, Member, PrefixIndex};

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
    cmd: mpsc::UnboundedSender<Command>,
    status: SharedStatus,
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
        index: Arc<PrefixIndex>,
    ) -> Result<MemberLoad, String> {
        let mut cfg = Config::new(m.asn, m.addr, rs_asn);
        cfg.passive = false;
        cfg.hold_time = 240;
        cfg.connect_retry = Duration::from_secs(1);
        cfg.restart_delay = Some(Duration::from_secs(1));
        cfg.role = None;
        let session = Session::new(cfg).map_err(|e| format!("member AS{}: {e:?}", m.asn))?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let status: SharedStatus = Arc::new(Mutex::new(Status::default()));
        let io = PeerIo {
            inbound: None,
            remote: rs,
            local: Some(IpAddr::V4(m.addr)),
            md5: None,
            gtsm: false,
        };
        tokio::spawn(run_peer(session, io, cmd_rx, ev_tx, status.clone()));
        let counts = Arc::new(Counts::default());
        let enc = Arc::new(Mutex::new(None));
        tokio::spawn(receive(ev_rx, index, counts.clone(), enc.clone()));
        Ok(MemberLoad {
            cmd: cmd_tx,
            status,
            counts,
            enc,
        })
    }

    /// Whether the session is Established and its encode context known.
    pub fn established(&self) -> bool {
        let up = self
            .status
            .lock()
            .map(|s| s.state == State::Established)
            .unwrap_or(false);
        up && self.enc.lock().map(|e| e.is_some()).unwrap_or(false)
    }

    /// The encode context of the current session.
    pub fn encode_ctx(&self) -> Option<EncodeCtx> {
        self.enc.lock().ok().and_then(|e| *e)
    }

    /// Write pre-encoded UPDATEs.
    pub fn send(&self, bytes: Vec<u8>) {
        let _ = self.cmd.send(Command::Send(bytes));
    }

    /// Distinct planned prefixes held.
    pub fn held(&self) -> u64 {
        self.counts.held.load(Ordering::Relaxed)
    }

    /// Stop with a Cease.
    pub fn stop(&self) {
        let _ = self.cmd.send(Command::Stop {
            subcode: 2,
            message: "rs-bench done".into(),
        });
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

async fn receive(
    mut events: mpsc::UnboundedReceiver<Event>,
    index: Arc<PrefixIndex>,
    counts: Arc<Counts>,
    enc: Arc<Mutex<Option<EncodeCtx>>>,
) {
    let mut bits = vec![0u64; index.len().div_ceil(64)];
    let mut held = 0u64;
    let mut dctx: Option<DecodeCtx> = None;
    while let Some(ev) = events.recv().await {
        match ev {
            Event::Established(n) => {
                dctx = Some(n.decode_ctx());
                if let Ok(mut e) = enc.lock() {
                    *e = Some(n.encode_ctx());
                }
            }
            Event::Down(_) => {
                dctx = None;
                if let Ok(mut e) = enc.lock() {
                    *e = None;
                }
                bits.iter_mut().for_each(|b| *b = 0);
                held = 0;
                counts.held.store(0, Ordering::Relaxed);
                counts.downs.fetch_add(1, Ordering::Relaxed);
            }
            Event::Update(bytes) => {
                let Some(ctx) = dctx else { continue };
                let mut buf = &bytes[..];
                let mut announced = 0u64;
                let max = if ctx.extended_message { 65535 } else { 4096 };
                while let Ok(Some(len)) = frame(buf, max) {
                    let Some(msg) = buf.get(..len) else { break };
                    if let Ok(Message::Update(u)) = Message::decode(msg, &ctx) {
                        counts.updates.fetch_add(1, Ordering::Relaxed);
                        for n in u.withdrawals() {
                            if let Some(&i) = index.get(&n.prefix) {
                                if flip(&mut bits, i, false) {
                                    held -= 1;
                                }
                            }
                        }
                        if !u.treat_as_withdraw() {
                            for n in u.announced() {
                                announced += 1;
                                match index.get(&n.prefix) {
                                    Some(&i) => {
                                        if flip(&mut bits, i, true) {
                                            held += 1;
                                        }
                                    }
                                    None => {
                                        counts.unexpected.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            }
                        }
                    }
                    buf = buf.get(len..).unwrap_or(&[]);
                }
                counts.held.store(held, Ordering::Relaxed);
                counts.announcements.fetch_add(announced, Ordering::Relaxed);
            }
            Event::RouteRefresh(_) => {}
        }
    }
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
