//! The route server's tables: Adj-RIB-In per member, candidates per prefix,
//! and per-member export with path-hiding mitigation (RFC 7947 §2.3.2).
//!
//! Each prefix keeps the accepted routes of every member sorted best first
//! ([`crate::bestpath`]). What a member receives is computed, not stored:
//! the first candidate that is not from the member's own AS and that the
//! route's export controls allow to it. So every member gets the best route
//! among those its policy allows, and no per-member copy of the table is
//! kept; a bit per prefix remembers whether something was announced, to
//! know when to withdraw.
//!
//! Changes are coalesced: a change marks the prefix dirty for the members
//! whose export it alters, and [`Rib::flush`] later sends each dirty prefix
//! once, in its state at that time.
//!
//! ADD-PATH send (RFC 7911): a member whose session negotiated sending
//! path identifiers for a family gets every candidate its export policy
//! allows, not only the best, each with the path identifier "announcing
//! session index + 1" (stable while the announcing session exists; the
//! route server never negotiates ADD-PATH receive, so a session has one
//! path per prefix). Path-hiding mitigation is then moot for that member.
//! No per-path state is kept per member: the `sent` bit still says
//! "something was exported for this prefix", and a path that stops being
//! exported is queued as a withdrawal by path id at the moment of the
//! change (the queue lives only until the next flush).
//!
//! Graceful restart, receiving speaker (RFC 4724 §4.2): when a member's
//! session drops without a NOTIFICATION, [`Rib::peer_down_graceful`] keeps
//! its routes of the families it preserves, marked stale and still
//! exported; a route it announces again replaces the stale one (with no
//! UPDATE to the others when nothing changed), and [`Rib::sweep_stale`]
//! removes what was not announced again. The timers are the caller's.
//!
//! Known limitations: prefix ids are never reused, so a table that sees
//! many distinct prefixes over its life keeps a small entry for each.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use bgp_wire::builder::{
    block_for_two_octet, pack_announcements, pack_withdrawals, write_end_of_rib,
};
use bgp_wire::{EncodeCtx, Family, FamilySet, Nlri, Prefix};

use crate::attrs::{Interner, RouteAttrs};
use crate::bestpath::compare;
use crate::bits::{BitSet, DirtySet};
use crate::cands::Cands;
use crate::ids::{FastMap, PackedPrefix, PrefixIds};
use crate::prepend::prepend_block;

/// Index of a member session in the RIB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u32);

/// A route as received from a member, with the policy verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InRoute {
    /// Its attributes.
    pub attrs: Arc<RouteAttrs>,
    /// Reject reasons as a bit mask of Euro-IX reject codes (bit `n` for
    /// code `n`); 0 when accepted.
    pub reject: u32,
    /// When it was received, in the caller's seconds.
    pub since: u32,
}

/// Route counts of one member, as the looking glass shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerCounts {
    /// Routes received and kept (accepted plus filtered).
    pub received: usize,
    /// Routes accepted.
    pub accepted: usize,
    /// Routes rejected by policy.
    pub filtered: usize,
    /// Routes currently exported to the member.
    pub exported: usize,
    /// Routes accepted per family (`Family::index`): what max-prefix
    /// limits count.
    pub accepted_by_family: [usize; 2],
}

#[derive(Debug)]
struct Entry {
    prefix: PackedPrefix,
    /// Accepted routes, best first.
    cands: Cands,
}

#[derive(Clone, Debug)]
pub(crate) struct CandRef {
    pub(crate) peer: u32,
    pub(crate) path_id: u32,
    pub(crate) attrs: Arc<RouteAttrs>,
}

/// Session facts best-path selection and export need.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) asn: u32,
    pub(crate) addr: IpAddr,
    pub(crate) bgp_id: u32,
    up: bool,
    families: FamilySet,
    ctx: EncodeCtx,
    adj_in: FastMap<(u32, u32), InRoute>,
    accepted: usize,
    accepted_by_family: [usize; 2],
    filtered: usize,
    sent: BitSet,
    exported: usize,
    dirty: DirtySet,
    dump_cursor: Option<u32>,
    eor_due: FamilySet,
    /// Routes (keys of `adj_in`) kept stale while the member restarts
    /// (RFC 4724 §4.2); empty otherwise.
    stale: HashSet<(u32, u32)>,
    /// ADD-PATH members: paths `(prefix id, path id)` to withdraw at the
    /// next flush.
    ap_withdraw: Vec<(u32, u32)>,
}

impl Peer {
    /// Whether the member receives several paths for `family`.
    fn add_path(&self, family: Family) -> bool {
        self.ctx.add_path.contains(family)
    }

    /// Whether the table dump in progress has yet to reach `pid`.
    fn dump_ahead(&self, pid: u32) -> bool {
        self.dump_cursor.is_some_and(|c| pid >= c)
    }
}

/// The path identifier an ADD-PATH member gets for the path of announcing
/// session `peer`.
fn export_path_id(peer: u32) -> u32 {
    peer.wrapping_add(1)
}

/// Identity of what a member receives for a prefix: announcing member,
/// path id and attribute set.
type ExportKey = (u32, u32, usize);

/// Prefixes to announce, grouped by attribute set and prepend count.
type Groups = FastMap<(usize, u8), (Arc<RouteAttrs>, u8, Vec<Nlri>)>;

/// The route server's RIB.
#[derive(Debug, Default)]
pub struct Rib {
    peers: Vec<Option<Peer>>,
    ids: PrefixIds,
    entries: Vec<Entry>,
    interner: Interner,
    scratch: Vec<(u32, Option<ExportKey>)>,
}

impl Rib {
    /// An empty RIB.
    pub fn new() -> Rib {
        Rib::default()
    }

    /// Register a member session. It receives nothing until
    /// [`Rib::peer_up`].
    pub fn add_peer(&mut self, asn: u32, addr: IpAddr) -> PeerId {
        let peer = Peer {
            asn,
            addr,
            bgp_id: 0,
            up: false,
            families: FamilySet::EMPTY,
            ctx: EncodeCtx::default(),
            adj_in: FastMap::default(),
            accepted: 0,
            accepted_by_family: [0; 2],
            filtered: 0,
            sent: BitSet::default(),
            exported: 0,
            dirty: DirtySet::default(),
            dump_cursor: None,
            eor_due: FamilySet::EMPTY,
            stale: HashSet::new(),
            ap_withdraw: Vec::new(),
        };
        if let Some(i) = self.peers.iter().position(Option::is_none) {
            self.peers[i] = Some(peer);
            PeerId(i as u32)
        } else {
            self.peers.push(Some(peer));
            PeerId(self.peers.len() as u32 - 1)
        }
    }

    /// Forget a member session (after [`Rib::peer_down`]).
    pub fn remove_peer(&mut self, id: PeerId) {
        self.peer_down(id);
        if let Some(slot) = self.peers.get_mut(id.0 as usize) {
            *slot = None;
        }
    }

    /// Intern an attribute set.
    pub fn intern(&mut self, attrs: RouteAttrs) -> Arc<RouteAttrs> {
        self.interner.intern(attrs)
    }

    /// Distinct attribute sets in use.
    pub fn attr_sets(&self) -> usize {
        self.interner.len()
    }

    /// Number of prefixes ever seen.
    pub fn prefixes(&self) -> usize {
        self.entries.len()
    }

    fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(id.0 as usize)?.as_ref()
    }

    fn peer_mut(&mut self, id: PeerId) -> Option<&mut Peer> {
        self.peers.get_mut(id.0 as usize)?.as_mut()
    }

    /// The session is Established: remember what was negotiated and queue
    /// the whole table for it, then End-of-RIB (RFC 4724 §2).
    pub fn peer_up(&mut self, id: PeerId, bgp_id: u32, families: FamilySet, ctx: EncodeCtx) {
        let Some(p) = self.peer_mut(id) else { return };
        p.bgp_id = bgp_id;
        p.up = true;
        p.families = families;
        p.ctx = ctx;
        p.sent.clear();
        p.exported = 0;
        p.dirty.clear();
        p.ap_withdraw.clear();
        p.dump_cursor = Some(0);
        p.eor_due = families;
    }

    /// Whether member `id`'s session is up (between [`Rib::peer_up`] and
    /// the next down).
    pub fn is_up(&self, id: PeerId) -> bool {
        self.peer(id).is_some_and(|p| p.up)
    }

    /// Send the whole table again (ROUTE-REFRESH, RFC 2918), without
    /// forgetting what was sent.
    pub fn refresh(&mut self, id: PeerId) {
        if let Some(p) = self.peer_mut(id) {
            if p.up {
                p.dump_cursor = Some(0);
            }
        }
    }

    /// The session went down: every route it announced is withdrawn from
    /// the others, and nothing more is sent to it.
    pub fn peer_down(&mut self, id: PeerId) {
        self.peer_down_graceful(id, FamilySet::EMPTY);
    }

    /// The session went down without a NOTIFICATION and the member had
    /// announced graceful restart for the families in `keep` (RFC 4724
    /// §4.2): its routes of those families are kept, marked stale, and
    /// still exported to the others; its other routes are withdrawn.
    /// Nothing more is sent to it until it is up again. Returns how many
    /// routes are stale.
    pub fn peer_down_graceful(&mut self, id: PeerId, keep: FamilySet) -> usize {
        let Some(p) = self.peer_mut(id) else { return 0 };
        p.up = false;
        p.sent.clear();
        p.exported = 0;
        p.dirty.clear();
        p.ap_withdraw.clear();
        p.dump_cursor = None;
        p.eor_due = FamilySet::EMPTY;
        let routes: Vec<(u32, u32)> = p.adj_in.keys().copied().collect();
        let mut gone = Vec::new();
        let mut stale = HashSet::new();
        for key in routes {
            if keep.contains(self.entries[key.0 as usize].prefix.family()) {
                stale.insert(key);
            } else {
                gone.push(key);
            }
        }
        let n = stale.len();
        if let Some(p) = self.peer_mut(id) {
            p.stale = stale;
        }
        for (pid, path_id) in gone {
            self.remove_route(id, pid, path_id);
        }
        n
    }

    /// Withdraw member `id`'s stale routes of `families` (its End-of-RIB
    /// came, or the time to wait for the member ran out; RFC 4724 §4.2).
    /// Returns how many were withdrawn.
    pub fn sweep_stale(&mut self, id: PeerId, families: FamilySet) -> usize {
        let Some(p) = self.peer(id) else { return 0 };
        let gone: Vec<(u32, u32)> = p
            .stale
            .iter()
            .copied()
            .filter(|k| families.contains(self.entries[k.0 as usize].prefix.family()))
            .collect();
        for &(pid, path_id) in &gone {
            self.remove_route(id, pid, path_id);
        }
        gone.len()
    }

    /// Whether member `id`'s route for `nlri` is stale (kept across its
    /// restart, not announced again yet).
    pub fn is_stale(&self, id: PeerId, nlri: &Nlri) -> bool {
        let (Some(p), Some(pid)) = (self.peer(id), self.prefix_id_of(&nlri.prefix)) else {
            return false;
        };
        p.stale.contains(&(pid, nlri.path_id))
    }

    /// How many of member `id`'s routes are stale, per family
    /// (`Family::index`).
    pub fn stale_counts(&self, id: PeerId) -> [usize; 2] {
        let mut n = [0; 2];
        if let Some(p) = self.peer(id) {
            for k in &p.stale {
                n[self.entries[k.0 as usize].prefix.family().index()] += 1;
            }
        }
        n
    }

    /// The id of `prefix`, if it was ever seen.
    #[inline]
    fn prefix_id_of(&self, prefix: &Prefix) -> Option<u32> {
        let entries = &self.entries;
        self.ids
            .get(prefix, |i| entries.get(i as usize).map(|e| e.prefix))
    }

    fn prefix_id(&mut self, prefix: Prefix) -> u32 {
        if let Some(id) = self.prefix_id_of(&prefix) {
            return id;
        }
        let id = self.entries.len() as u32;
        self.entries.push(Entry {
            prefix: PackedPrefix::new(prefix),
            cands: Cands::default(),
        });
        let entries = &self.entries;
        self.ids
            .insert(id, |i| entries.get(i as usize).map(|e| e.prefix));
        id
    }

    /// A route announced by member `id` (replacing any previous one for the
    /// same prefix and path id). `reject` is the policy's reject mask; a
    /// rejected route is kept for the looking glass but never exported.
    pub fn announce(
        &mut self,
        id: PeerId,
        nlri: Nlri,
        attrs: Arc<RouteAttrs>,
        reject: u32,
        now: u32,
    ) {
        if self.peer(id).is_none() {
            return;
        }
        let pid = self.prefix_id(nlri.prefix);
        self.snapshot(pid);
        let Some(p) = self.peer_mut(id) else { return };
        let route = InRoute {
            attrs: attrs.clone(),
            reject,
            since: now,
        };
        let fam = nlri.prefix.family().index();
        p.stale.remove(&(pid, nlri.path_id));
        let old = p.adj_in.insert((pid, nlri.path_id), route);
        if let Some(o) = &old {
            if o.reject == 0 {
                p.accepted -= 1;
                p.accepted_by_family[fam] -= 1;
            } else {
                p.filtered -= 1;
            }
        }
        if reject == 0 {
            p.accepted += 1;
            p.accepted_by_family[fam] += 1;
        } else {
            p.filtered += 1;
        }
        let cands = &mut self.entries[pid as usize].cands;
        let old_cand = old.filter(|o| o.reject == 0).map(|o| o.attrs);
        if old_cand.is_some() {
            cands.retain(|c| !(c.peer == id.0 && c.path_id == nlri.path_id));
        }
        let new_cand = (reject == 0).then(|| attrs.clone());
        if reject == 0 {
            let new = CandRef {
                peer: id.0,
                path_id: nlri.path_id,
                attrs,
            };
            let peers = &self.peers;
            let at = cands
                .as_slice()
                .binary_search_by(|c| compare(c, &new, peers))
                .unwrap_or_else(|e| e);
            cands.insert(at, new);
        }
        self.mark_changed(pid);
        self.add_path_changed(pid, id, old_cand.as_ref(), new_cand.as_ref());
    }

    /// A route withdrawn by member `id`.
    pub fn withdraw(&mut self, id: PeerId, nlri: Nlri) {
        let Some(pid) = self.prefix_id_of(&nlri.prefix) else {
            return;
        };
        self.remove_route(id, pid, nlri.path_id);
    }

    fn remove_route(&mut self, id: PeerId, pid: u32, path_id: u32) {
        let has = self
            .peer(id)
            .is_some_and(|p| p.adj_in.contains_key(&(pid, path_id)));
        if !has {
            return;
        }
        self.snapshot(pid);
        let fam = self.entries[pid as usize].prefix.family().index();
        let Some(p) = self.peer_mut(id) else { return };
        p.stale.remove(&(pid, path_id));
        let Some(old) = p.adj_in.remove(&(pid, path_id)) else {
            return;
        };
        if old.reject == 0 {
            p.accepted -= 1;
            p.accepted_by_family[fam] -= 1;
            self.entries[pid as usize]
                .cands
                .retain(|c| !(c.peer == id.0 && c.path_id == path_id));
        } else {
            p.filtered -= 1;
        }
        self.mark_changed(pid);
        if old.reject == 0 {
            self.add_path_changed(pid, id, Some(&old.attrs), None);
        }
    }

    /// Member `src`'s path for `pid` changed from `old` to `new` (accepted
    /// attributes, `None` for no route): tell the ADD-PATH members that saw
    /// it or will see it. A path that stops being exported to one is
    /// queued as a withdrawal by path id; a new or changed one marks the
    /// prefix dirty.
    fn add_path_changed(
        &mut self,
        pid: u32,
        src: PeerId,
        old: Option<&Arc<RouteAttrs>>,
        new: Option<&Arc<RouteAttrs>>,
    ) {
        if old.is_none() && new.is_none() {
            return;
        }
        let family = self.entries[pid as usize].prefix.family();
        let Some(src_asn) = self.peer(src).map(|p| p.asn) else {
            return;
        };
        for p in self.peers.iter_mut().flatten() {
            if !p.up || !p.add_path(family) || p.asn == src_asn {
                continue;
            }
            let sees = |a: Option<&Arc<RouteAttrs>>| a.is_some_and(|a| a.export.allows(p.asn));
            let (before, after) = (sees(old), sees(new));
            // A dump still to reach `pid` sends its paths as they are
            // then, but cannot withdraw one sent before it started (a
            // route refresh keeps what was sent).
            if before && !after && (!p.dump_ahead(pid) || p.sent.contains(pid)) {
                p.ap_withdraw.push((pid, export_path_id(src.0)));
            }
            let changed = match (old, new) {
                (Some(o), Some(n)) => !Arc::ptr_eq(o, n),
                _ => true,
            };
            // Also when the path goes: the prefix's `sent` bit may change.
            if (before || after) && (before != after || changed) {
                mark_dirty(p, pid);
            }
        }
    }

    /// Record, for every member that is up, what it gets for `pid` now.
    fn snapshot(&mut self, pid: u32) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let entry = &self.entries[pid as usize];
        for (i, p) in self.peers.iter().enumerate() {
            if let Some(p) = p.as_ref().filter(|p| p.up) {
                scratch.push((i as u32, self.best_key(entry, p)));
            }
        }
        self.scratch = scratch;
    }

    /// Mark `pid` dirty for the members whose export changed since
    /// [`Rib::snapshot`].
    fn mark_changed(&mut self, pid: u32) {
        let scratch = std::mem::take(&mut self.scratch);
        for &(i, before) in &scratch {
            let after = {
                let (Some(p), entry) =
                    (self.peers[i as usize].as_ref(), &self.entries[pid as usize])
                else {
                    continue;
                };
                self.best_key(entry, p)
            };
            if after != before {
                if let Some(p) = self.peers[i as usize].as_mut() {
                    mark_dirty(p, pid);
                }
            }
        }
        self.scratch = scratch;
    }

    fn best_key(&self, entry: &Entry, member: &Peer) -> Option<ExportKey> {
        self.best(entry, member)
            .map(|c| (c.peer, c.path_id, Arc::as_ptr(&c.attrs) as usize))
    }

    /// The route `member` gets for `entry`: the best candidate not from its
    /// own AS that the export controls allow to it (path-hiding mitigation).
    fn best<'e>(&self, entry: &'e Entry, member: &Peer) -> Option<&'e CandRef> {
        self.allowed(entry, member).next()
    }

    /// Every candidate `member` may receive for `entry`, best first (what
    /// an ADD-PATH member gets).
    fn allowed<'s, 'e: 's>(
        &'s self,
        entry: &'e Entry,
        member: &'s Peer,
    ) -> impl Iterator<Item = &'e CandRef> + 's {
        let on = member.families.contains(entry.prefix.family());
        entry.cands.iter().filter(move |c| {
            let Some(src) = self.peers.get(c.peer as usize).and_then(Option::as_ref) else {
                return false;
            };
            on && src.asn != member.asn && c.attrs.export.allows(member.asn)
        })
    }

    /// Whether member `id` has something waiting to be sent.
    pub fn has_pending(&self, id: PeerId) -> bool {
        self.peer(id).is_some_and(|p| {
            p.up && (!p.dirty.is_empty()
                || !p.ap_withdraw.is_empty()
                || p.dump_cursor.is_some()
                || !p.eor_due.is_empty())
        })
    }

    /// Members with something waiting to be sent.
    pub fn pending_peers(&self) -> Vec<PeerId> {
        (0..self.peers.len() as u32)
            .map(PeerId)
            .filter(|&id| self.has_pending(id))
            .collect()
    }

    /// Encode up to `max_prefixes` pending changes for member `id` into
    /// `out` as UPDATE messages: withdrawals, then announcements grouped by
    /// attribute set and packed. End-of-RIB follows the initial table.
    /// Returns whether more is pending.
    pub fn flush(&mut self, id: PeerId, max_prefixes: usize, out: &mut Vec<u8>) -> bool {
        let Some(member) = self.peer(id) else {
            return false;
        };
        if !member.up {
            return false;
        }
        let member_asn = member.asn;
        let ctx = member.ctx;
        // Work list: dirty prefixes first, then the table dump.
        let mut work: Vec<u32> = Vec::new();
        let mut cursor = member.dump_cursor;
        let mut withdraw: [Vec<Nlri>; 2] = [Vec::new(), Vec::new()];
        // ADD-PATH withdrawals first, all of them: a path announced again
        // since is in `dirty` and follows them.
        let ap_gone = self
            .peer_mut(id)
            .map(|p| std::mem::take(&mut p.ap_withdraw))
            .unwrap_or_default();
        for (pid, path_id) in ap_gone {
            if let Some(e) = self.entries.get(pid as usize) {
                withdraw[e.prefix.family().index()].push(Nlri {
                    prefix: e.prefix.get(),
                    path_id,
                });
            }
        }
        {
            let Some(p) = self.peer_mut(id) else {
                return false;
            };
            p.dirty.take(max_prefixes, &mut work);
        }
        if let Some(c) = cursor {
            let room = max_prefixes.saturating_sub(work.len());
            let end = (c as usize + room).min(self.entries.len());
            work.extend(c..end as u32);
            cursor = (end < self.entries.len()).then_some(end as u32);
        }
        let mut groups: Groups = FastMap::default();
        let mut sent_delta: Vec<(u32, bool)> = Vec::new();
        {
            let Some(member) = self.peer(id) else {
                return false;
            };
            for &pid in &work {
                let entry = &self.entries[pid as usize];
                if member.add_path(entry.prefix.family()) {
                    // Every allowed path, by path id; withdrawals were
                    // queued when each path went.
                    let mut any = false;
                    for c in self.allowed(entry, member) {
                        let n = c.attrs.export.prepend_for(member_asn);
                        let key = (Arc::as_ptr(&c.attrs) as usize, n);
                        groups
                            .entry(key)
                            .or_insert_with(|| (c.attrs.clone(), n, Vec::new()))
                            .2
                            .push(Nlri {
                                prefix: entry.prefix.get(),
                                path_id: export_path_id(c.peer),
                            });
                        any = true;
                    }
                    sent_delta.push((pid, any));
                    continue;
                }
                match self.best(entry, member) {
                    Some(c) => {
                        let n = c.attrs.export.prepend_for(member_asn);
                        let key = (Arc::as_ptr(&c.attrs) as usize, n);
                        groups
                            .entry(key)
                            .or_insert_with(|| (c.attrs.clone(), n, Vec::new()))
                            .2
                            .push(Nlri::new(entry.prefix.get()));
                        sent_delta.push((pid, true));
                    }
                    None => {
                        if member.sent.contains(pid) {
                            withdraw[entry.prefix.family().index()]
                                .push(Nlri::new(entry.prefix.get()));
                            sent_delta.push((pid, false));
                        }
                    }
                }
            }
        }
        for (i, list) in withdraw.iter().enumerate() {
            if !list.is_empty() {
                pack_withdrawals(&ctx, Family::ALL[i], list, out);
            }
        }
        let mut unsendable: Vec<u32> = Vec::new();
        for (_, (attrs, n, nlri)) in groups {
            let mut by_family: [Vec<Nlri>; 2] = [Vec::new(), Vec::new()];
            for x in nlri {
                by_family[x.prefix.family().index()].push(x);
            }
            let mut block: std::borrow::Cow<'_, [u8]> = std::borrow::Cow::Borrowed(&attrs.block);
            if n > 0 {
                block = prepend_block(&block, n).into();
            }
            if !ctx.four_octet_as {
                block = block_for_two_octet(&block).into();
            }
            for (i, list) in by_family.iter().enumerate() {
                if list.is_empty() {
                    continue;
                }
                let family = Family::ALL[i];
                if pack_announcements(&ctx, &block, family, &attrs.next_hop, list, out).is_err() {
                    // Attributes too large for this member's message size:
                    // it cannot receive the route at all.
                    for x in list {
                        if let Some(pid) = self.prefix_id_of(&x.prefix) {
                            unsendable.push(pid);
                        }
                    }
                }
            }
        }
        let Some(p) = self.peer_mut(id) else {
            return false;
        };
        for (pid, on) in sent_delta {
            let on = on && !unsendable.contains(&pid);
            let was = p.sent.contains(pid);
            if on && !was {
                p.sent.insert(pid);
                p.exported += 1;
            } else if !on && was {
                p.sent.remove(pid);
                p.exported -= 1;
            }
        }
        p.dump_cursor = cursor;
        let more = !p.dirty.is_empty() || p.dump_cursor.is_some();
        if !more && !p.eor_due.is_empty() {
            for f in p.eor_due.iter() {
                write_end_of_rib(f, out);
            }
            p.eor_due = FamilySet::EMPTY;
        }
        more
    }

    /// Route counts of member `id`.
    pub fn counts(&self, id: PeerId) -> PeerCounts {
        self.peer(id)
            .map_or_else(PeerCounts::default, |p| PeerCounts {
                received: p.adj_in.len(),
                accepted: p.accepted,
                filtered: p.filtered,
                exported: p.exported,
                accepted_by_family: p.accepted_by_family,
            })
    }

    /// Every route received from member `id`, with its verdict.
    pub fn routes_from(&self, id: PeerId) -> Vec<(Nlri, &InRoute)> {
        let Some(p) = self.peer(id) else {
            return Vec::new();
        };
        let mut v: Vec<(Nlri, &InRoute)> = p
            .adj_in
            .iter()
            .map(|(&(pid, path_id), r)| {
                (
                    Nlri {
                        prefix: self.entries[pid as usize].prefix.get(),
                        path_id,
                    },
                    r,
                )
            })
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v
    }

    /// Call `f` with every route received from member `id`, in no
    /// particular order and without collecting them: for passes over a
    /// large table that look at a few routes (revalidation).
    pub fn for_each_route_from(&self, id: PeerId, mut f: impl FnMut(Nlri, &InRoute)) {
        let Some(p) = self.peer(id) else { return };
        for (&(pid, path_id), r) in &p.adj_in {
            if let Some(e) = self.entries.get(pid as usize) {
                let prefix = e.prefix.get();
                f(Nlri { prefix, path_id }, r);
            }
        }
    }

    /// What member `id` currently receives: (prefix, announcing member,
    /// attributes), sorted by prefix; every path of a prefix for an
    /// ADD-PATH member.
    pub fn routes_to(&self, id: PeerId) -> Vec<(Prefix, PeerId, Arc<RouteAttrs>)> {
        let Some(member) = self.peer(id) else {
            return Vec::new();
        };
        let mut v = Vec::new();
        for pid in member.sent.iter() {
            let entry = &self.entries[pid as usize];
            if member.add_path(entry.prefix.family()) {
                for c in self.allowed(entry, member) {
                    v.push((entry.prefix.get(), PeerId(c.peer), c.attrs.clone()));
                }
            } else if let Some(c) = self.best(entry, member) {
                v.push((entry.prefix.get(), PeerId(c.peer), c.attrs.clone()));
            }
        }
        v.sort_by_key(|(p, _, _)| *p);
        v
    }

    /// Routes kept from member `id` by export controls: per prefix, the best
    /// candidate from another AS that its controls do not allow to the
    /// member, when it ranks above what the member receives (or the member
    /// receives nothing). This is the looking glass's "not exported" list.
    pub fn not_exported_to(&self, id: PeerId) -> Vec<(Prefix, PeerId, Arc<RouteAttrs>)> {
        let Some(member) = self.peer(id) else {
            return Vec::new();
        };
        let mut v = Vec::new();
        for entry in &self.entries {
            if !member.families.contains(entry.prefix.family()) {
                continue;
            }
            for c in &entry.cands {
                let Some(src) = self.peers.get(c.peer as usize).and_then(Option::as_ref) else {
                    continue;
                };
                if src.asn == member.asn {
                    continue;
                }
                if !c.attrs.export.allows(member.asn) {
                    v.push((entry.prefix.get(), PeerId(c.peer), c.attrs.clone()));
                }
                // The first candidate from another AS decides: either it is
                // exported, or it is the best one kept back.
                break;
            }
        }
        v
    }

    /// Every accepted (`filtered` false) or rejected (`filtered` true) route
    /// of every member: (prefix, member, route).
    pub fn all_routes(&self, filtered: bool) -> Vec<(Prefix, PeerId, &InRoute)> {
        let mut v = Vec::new();
        for (i, p) in self.peers.iter().enumerate() {
            let Some(p) = p else { continue };
            for (&(pid, _), r) in &p.adj_in {
                if (r.reject != 0) == filtered {
                    v.push((self.entries[pid as usize].prefix.get(), PeerId(i as u32), r));
                }
            }
        }
        v.sort_by_key(|(p, id, _)| (*p, *id));
        v
    }

    /// Accepted routes for `prefix`, best first: (announcing member,
    /// attributes).
    pub fn candidates(&self, prefix: &Prefix) -> Vec<(PeerId, Arc<RouteAttrs>)> {
        self.prefix_id_of(prefix)
            .map(|pid| {
                self.entries[pid as usize]
                    .cands
                    .iter()
                    .map(|c| (PeerId(c.peer), c.attrs.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The route member `id` would get for `prefix` now.
    pub fn export_for(&self, id: PeerId, prefix: &Prefix) -> Option<(PeerId, Arc<RouteAttrs>)> {
        let member = self.peer(id)?;
        let entry = &self.entries[self.prefix_id_of(prefix)? as usize];
        self.best(entry, member)
            .map(|c| (PeerId(c.peer), c.attrs.clone()))
    }

    #[cfg(test)]
    pub(crate) fn peer_table(&self) -> &[Option<Peer>] {
        &self.peers
    }

    /// Drop unused attribute sets.
    pub fn purge(&mut self) {
        self.interner.purge();
    }
}

fn mark_dirty(p: &mut Peer, pid: u32) {
    if p.dump_cursor.is_some_and(|c| pid >= c) {
        return; // the table dump in progress will reach it
    }
    p.dirty.insert(pid);
}
