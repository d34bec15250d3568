//! A small in-process RTR cache (server), for `caribix demo` and tests.
//!
//! [`RtrServer`] serves a [`VrpTable`] to RTR clients over TCP with the
//! `rpki` crate's `rtr::Server` (RFC 8210 version 1, RFC 6810 version 0
//! and version 2 with ASPA, whichever the client asks for). Each
//! [`RtrServer::set`] starts a new serial, keeps the previous sets so that
//! Serial Queries get incremental answers (RFC 8210 §5.4; older serials get
//! a Cache Reset), and sends Serial Notify to connected clients (§5.2).
//!
//! It is not a relying-party validator and keeps everything in memory.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use rpki::resources::addr::{MaxLenPrefix, Prefix as RpkiPrefix};
use rpki::resources::Asn;
use rpki::rtr::pdu::ProviderAsns;
use rpki::rtr::server::{NotifySender, PayloadDiff, PayloadSet, PayloadSource, Server};
use rpki::rtr::{Action, Payload, PayloadRef, Serial, State, Timing};
use tokio::net::TcpListener;

use crate::vrp::VrpTable;

/// How many earlier sets are kept for incremental answers.
const HISTORY: usize = 16;

#[derive(Debug)]
struct Data {
    state: State,
    timing: Timing,
    current: Arc<Vec<Payload>>,
    /// (serial, set) of earlier versions, newest last.
    history: VecDeque<(Serial, Arc<BTreeSet<Payload>>)>,
    current_set: Arc<BTreeSet<Payload>>,
}

#[derive(Clone, Debug)]
struct Source(Arc<RwLock<Data>>);

#[derive(Debug)]
struct SetIter {
    items: Arc<Vec<Payload>>,
    pos: usize,
}

impl PayloadSet for SetIter {
    fn next(&mut self) -> Option<PayloadRef<'_>> {
        let i = self.pos;
        self.pos += 1;
        self.items.get(i).map(Payload::as_ref)
    }
}

#[derive(Debug)]
struct DiffIter {
    items: Vec<(Payload, Action)>,
    pos: usize,
}

impl PayloadDiff for DiffIter {
    fn next(&mut self) -> Option<(PayloadRef<'_>, Action)> {
        let i = self.pos;
        self.pos += 1;
        self.items.get(i).map(|(p, a)| (p.as_ref(), *a))
    }
}

impl Source {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Data> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl PayloadSource for Source {
    type Set = SetIter;
    type Diff = DiffIter;

    fn ready(&self) -> bool {
        true
    }

    fn notify(&self) -> State {
        self.read().state
    }

    fn full(&self) -> (State, SetIter) {
        let d = self.read();
        (
            d.state,
            SetIter {
                items: d.current.clone(),
                pos: 0,
            },
        )
    }

    fn diff(&self, state: State) -> Option<(State, DiffIter)> {
        let d = self.read();
        if state.session() != d.state.session() {
            return None;
        }
        let old = if state.serial() == d.state.serial() {
            d.current_set.clone()
        } else {
            d.history
                .iter()
                .find(|(s, _)| *s == state.serial())
                .map(|(_, set)| set.clone())?
        };
        // Withdrawals first: an ASPA announcement replaces the customer's
        // record, and its withdrawal must not remove the new one.
        let mut items: Vec<(Payload, Action)> = old
            .difference(&d.current_set)
            .map(|p| (p.clone(), Action::Withdraw))
            .collect();
        items.extend(
            d.current_set
                .difference(&old)
                .map(|p| (p.clone(), Action::Announce)),
        );
        Some((d.state, DiffIter { items, pos: 0 }))
    }

    fn timing(&self) -> Timing {
        self.read().timing
    }
}

/// The data could not be served.
#[derive(Debug)]
pub enum ServerError {
    /// Binding the listening socket failed.
    Bind(io::Error),
    /// An ASPA record has more providers than an RTR PDU can carry.
    TooManyProviders(u32),
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerError::Bind(e) => write!(f, "cannot listen for RTR clients: {e}"),
            ServerError::TooManyProviders(c) => {
                write!(f, "ASPA record of AS{c} has too many providers for RTR")
            }
        }
    }
}

impl std::error::Error for ServerError {}

fn payloads(table: &VrpTable) -> Result<BTreeSet<Payload>, ServerError> {
    let mut out = BTreeSet::new();
    for v in table.vrps() {
        // A Vrp is valid by construction, so these conversions succeed;
        // skip rather than panic should they not.
        let Ok(p) = RpkiPrefix::new(v.prefix.addr(), v.prefix.len()) else {
            continue;
        };
        let Ok(mp) = MaxLenPrefix::new(p, Some(v.max_len)) else {
            continue;
        };
        out.insert(Payload::origin(mp, Asn::from_u32(v.asn)));
    }
    for (c, providers) in table.aspas().records() {
        let p = ProviderAsns::try_from_iter(providers.iter().map(|a| Asn::from_u32(*a)))
            .map_err(|_| ServerError::TooManyProviders(c))?;
        out.insert(Payload::aspa(Asn::from_u32(c), p));
    }
    Ok(out)
}

/// A running in-process RTR cache; stops when dropped.
#[derive(Debug)]
pub struct RtrServer {
    addr: SocketAddr,
    source: Source,
    notify: Mutex<NotifySender>,
    task: tokio::task::JoinHandle<()>,
}

impl RtrServer {
    /// Listens on `addr` (port 0 picks a free port) and serves `table`
    /// with the given intervals.
    pub async fn bind(
        addr: SocketAddr,
        table: &VrpTable,
        timing: Timing,
    ) -> Result<RtrServer, ServerError> {
        let listener = TcpListener::bind(addr).await.map_err(ServerError::Bind)?;
        let addr = listener.local_addr().map_err(ServerError::Bind)?;
        let set = Arc::new(payloads(table)?);
        let source = Source(Arc::new(RwLock::new(Data {
            state: State::new(),
            timing,
            current: Arc::new(set.iter().cloned().collect()),
            history: VecDeque::new(),
            current_set: set,
        })));
        let notify = NotifySender::new();
        let stream = Box::pin(futures_util::stream::unfold(listener, |l| async move {
            let next = l.accept().await.map(|(s, _)| {
                // Not fatal: only latency suffers without it.
                let _ = s.set_nodelay(true);
                s
            });
            Some((next, l))
        }));
        let server = Server::new(stream, notify.clone(), source.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = server.run().await {
                tracing::warn!(error = %e, "RTR server stopped");
            }
        });
        Ok(RtrServer {
            addr,
            source,
            notify: Mutex::new(notify),
            task,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The current session state (session id, serial).
    pub fn state(&self) -> State {
        self.source.read().state
    }

    /// Serves `table` from now on: new serial, Serial Notify to clients.
    pub fn set(&self, table: &VrpTable) -> Result<(), ServerError> {
        let set = Arc::new(payloads(table)?);
        {
            let mut d = self.source.0.write().unwrap_or_else(|e| e.into_inner());
            let old_serial = d.state.serial();
            let old_set = std::mem::replace(&mut d.current_set, set.clone());
            d.history.push_back((old_serial, old_set));
            while d.history.len() > HISTORY {
                d.history.pop_front();
            }
            d.current = Arc::new(set.iter().cloned().collect());
            d.state.inc();
        }
        self.notify
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .notify();
        Ok(())
    }
}

impl Drop for RtrServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
