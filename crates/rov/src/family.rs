//! One address family's VRPs, stored once, compactly, sorted.
//!
//! A [`FamilyIndex`] is both the authoritative copy of a family's VRPs and
//! the index that answers route origin validation (RFC 6811 §2; the rules
//! are in [`crate::vrp`]). The distinct VRP prefixes are kept sorted by
//! (address, length) as [`Node`]s, each knowing its closest covering
//! prefix (`parent`). For a route (A, L), every covering prefix sorts at
//! or before the last prefix `i` with (address, length) <= (A, L), and,
//! prefixes being nested or disjoint, every prefix between a covering one
//! and `i` lies inside it: the covering prefixes are therefore `i` or its
//! ancestors. A lookup is one binary search (inside a bucket chosen by the
//! top 16 address bits) and a walk up a short parent chain.
//!
//! Most prefixes have one VRP, held in the node itself (an IPv4 node is 16
//! bytes, an IPv6 node 32); a prefix with several VRPs points to a group of
//! (AS, maximum length) entries sorted so that a binary search finds the
//! route's origin. The VRPs come out in the order (address, length, AS,
//! maximum length), which is [`crate::Vrp`]'s order.
//!
//! Changes (an RTR serial answer, RFC 8210 §5.4 and §5.6) are applied by
//! merging them, sorted, into a new copy while listing the prefixes that
//! changed ([`FamilyIndex::apply`]); the old copy stays intact for readers
//! that still hold it, and is unchanged when the changes are refused.
//!
//! This module does not know about RTR PDUs, tables of both families or
//! ASPA.

use std::cmp::Ordering;

/// "No parent" in [`Node::parent`].
const NONE: u32 = u32::MAX;

/// `Node::max_len` of a prefix with several VRPs (no real maximum length
/// exceeds 128).
const MULTI: u8 = u8::MAX;

/// An address type: `u32` for IPv4, `u128` for IPv6.
pub(crate) trait Addr:
    Copy + Ord + Default + std::fmt::Debug + Send + Sync + 'static
{
    /// The address in [`crate::ChangedPrefixes`]: IPv6 addresses as bytes
    /// (no 16-byte alignment, so 17 bytes a prefix rather than 32).
    type Packed: Copy + Eq + Ord + std::fmt::Debug + Send + Sync;
    /// The network mask of a prefix length (lengths above `BITS` are
    /// treated as `BITS`).
    fn mask(len: u8) -> Self;
    /// Bitwise and.
    fn and(self, mask: Self) -> Self;
    /// The top 16 bits, as a bucket number.
    fn top16(self) -> usize;
    /// See [`Addr::Packed`].
    fn pack(self) -> Self::Packed;
}

impl Addr for u32 {
    type Packed = u32;
    fn mask(len: u8) -> u32 {
        match len {
            0 => 0,
            l => u32::MAX << (32 - u32::from(l.min(32))),
        }
    }
    fn and(self, mask: u32) -> u32 {
        self & mask
    }
    fn top16(self) -> usize {
        (self >> 16) as usize
    }
    fn pack(self) -> u32 {
        self
    }
}

impl Addr for u128 {
    type Packed = [u8; 16];
    fn mask(len: u8) -> u128 {
        match len {
            0 => 0,
            l => u128::MAX << (128 - u32::from(l.min(128))),
        }
    }
    fn and(self, mask: u128) -> u128 {
        self & mask
    }
    fn top16(self) -> usize {
        (self >> 112) as usize
    }
    fn pack(self) -> [u8; 16] {
        self.to_be_bytes()
    }
}

fn covers<A: Addr>(p: (A, u8), q: (A, u8)) -> bool {
    p.1 <= q.1 && q.0.and(A::mask(p.1)) == p.0
}

fn idx(n: usize) -> u32 {
    // Tables beyond 4 billion VRPs do not exist; saturate rather than wrap.
    u32::try_from(n).unwrap_or(NONE - 1)
}

/// One VRP of a family as (address, length, AS, maximum length); the
/// tuple order is the table's order.
pub(crate) type Key<A> = (A, u8, u32, u8);

/// One VRP, or one change of a serial answer (`withdraw`), in 12 bytes
/// for IPv4 (32 for IPv6): the form in which RTR answers are collected
/// before they are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Change<A> {
    pub(crate) addr: A,
    pub(crate) asn: u32,
    pub(crate) len: u8,
    pub(crate) max_len: u8,
    /// A withdrawal; an announcement otherwise.
    pub(crate) withdraw: bool,
}

impl<A: Addr> Change<A> {
    pub(crate) fn key(&self) -> Key<A> {
        (self.addr, self.len, self.asn, self.max_len)
    }
}

/// Why changes could not be applied (RFC 8210 §5.1 error codes 7 and 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeError {
    /// An announcement of a VRP the router already has (serial answers).
    DuplicateAnnounce,
    /// A withdrawal of a VRP the router does not have.
    UnknownWithdraw,
}

/// One distinct prefix; kept together so that a step up the parent chain
/// touches one cache line, and the common single VRP needs no other.
#[derive(Clone, Copy, Debug)]
struct Node<A> {
    addr: A,
    /// Index of the closest covering prefix, or `NONE`.
    parent: u32,
    /// The VRP's AS, or for `max_len == MULTI` the index of the group in
    /// `FamilyIndex::groups`.
    data: u32,
    len: u8,
    /// The VRP's maximum length, or `MULTI`.
    max_len: u8,
}

/// (AS, maximum length) of one VRP of a prefix with several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    asn: u32,
    max_len: u8,
}

/// One family's VRPs; see the module documentation.
#[derive(Clone, Debug, Default)]
pub(crate) struct FamilyIndex<A> {
    /// Distinct prefixes, sorted by (address, length).
    nodes: Vec<Node<A>>,
    /// Group `g` is `entries[groups[g]..groups[g + 1]]` (one more start
    /// than groups, or none when there is no group).
    groups: Vec<u32>,
    /// The VRPs of prefixes with several, grouped by prefix, sorted.
    entries: Vec<Entry>,
    /// `buckets[b]` is the first node whose top 16 bits are >= b
    /// (65,537 entries, or none when there are no nodes).
    buckets: Vec<u32>,
    /// Number of VRPs.
    count: usize,
}

impl<A: Addr> FamilyIndex<A> {
    /// Builds from changes (announcements only, any order, duplicates
    /// allowed): the common reset answer.
    pub(crate) fn from_announcements(mut recs: Vec<Change<A>>) -> FamilyIndex<A> {
        recs.sort_unstable_by_key(Change::key);
        recs.dedup_by_key(|c| c.key());
        // Give back what the collecting Vec over-allocated before the
        // table is built beside it (a shrinking realloc, not a copy, for
        // large blocks).
        recs.shrink_to_fit();
        let mut b = Builder::with_capacity(recs.len(), recs.len() / 4);
        for r in &recs {
            b.push(r.key());
        }
        drop(recs);
        b.finish()
    }

    /// Number of VRPs.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Heap bytes held (capacity, not length).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node<A>>()
            + self.groups.capacity() * 4
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.buckets.capacity() * 4
    }

    /// Number of distinct prefixes.
    pub(crate) fn prefix_count(&self) -> usize {
        self.nodes.len()
    }

    /// The distinct prefixes in order.
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = (A, u8)> + '_ {
        self.nodes.iter().map(|n| (n.addr, n.len))
    }

    /// True when (addr, len) is the prefix of a VRP.
    pub(crate) fn has_prefix(&self, addr: A, len: u8) -> bool {
        self.nodes
            .binary_search_by(|n| (n.addr, n.len).cmp(&(addr, len)))
            .is_ok()
    }

    /// The VRPs in order.
    pub(crate) fn iter(&self) -> Iter<'_, A> {
        Iter {
            ix: self,
            node: 0,
            sub: 0,
        }
    }

    /// The entries of group `g`.
    fn group(&self, g: u32) -> &[Entry] {
        let g = g as usize;
        match (self.groups.get(g), self.groups.get(g + 1)) {
            (Some(&s), Some(&e)) => self.entries.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Route origin validation of (addr, len) from `origin` (RFC 6811 §2).
    pub(crate) fn validate(&self, addr: A, len: u8, origin: Option<u32>) -> crate::RovState {
        use crate::RovState;
        let q = (addr, len);
        let b = addr.top16();
        let (Some(&lo), Some(&hi)) = (self.buckets.get(b), self.buckets.get(b + 1)) else {
            return RovState::NotFound;
        };
        let (lo, hi) = (lo as usize, hi as usize);
        let pos = self
            .nodes
            .get(lo..hi)
            .map_or(0, |s| s.partition_point(|n| (n.addr, n.len) <= q));
        let mut cur = if pos > 0 {
            lo + pos - 1
        } else if lo > 0 {
            lo - 1
        } else {
            return RovState::NotFound;
        };
        // Up to the most specific covering prefix.
        let mut node = loop {
            match self.nodes.get(cur) {
                Some(n) if covers((n.addr, n.len), q) => break *n,
                Some(n) => cur = n.parent as usize,
                None => return RovState::NotFound,
            }
        };
        let Some(origin) = origin else {
            return RovState::Invalid;
        };
        // Every covering prefix, most specific first.
        loop {
            let (asn, max_len) = if node.max_len != MULTI {
                (node.data, node.max_len)
            } else {
                let group = self.group(node.data);
                // The last entry for `origin` has its longest max length.
                let n = group.partition_point(|e| e.asn <= origin);
                n.checked_sub(1)
                    .and_then(|i| group.get(i))
                    .map_or((0, 0), |e| (e.asn, e.max_len))
            };
            if asn != 0 && asn == origin && len <= max_len {
                return RovState::Valid;
            }
            match self.nodes.get(node.parent as usize) {
                Some(p) => node = *p,
                None => return RovState::Invalid,
            }
        }
    }

    /// A new copy with `changes` applied, in RFC 8210 order: the changes
    /// of one VRP take effect in the order received (`changes` must be
    /// sorted by key with a stable sort). An announcement of a VRP present
    /// is an error unless `reset` (a reset answer may repeat a VRP); a
    /// withdrawal of one absent always is. The prefixes of VRPs present
    /// before and not after, or after and not before, are appended to
    /// `changed` (sorted, without repeats).
    pub(crate) fn apply(
        &self,
        changes: &[Change<A>],
        reset: bool,
        changed: &mut Vec<(A::Packed, u8)>,
    ) -> Result<FamilyIndex<A>, ChangeError> {
        let mut b = Builder::with_capacity(
            self.nodes.len() + changes.len(),
            self.entries.len() + 2 * changes.len(),
        );
        let mut old = self.iter().peekable();
        for same in changes.chunk_by(|a, b| a.key() == b.key()) {
            let Some(first) = same.first() else { continue };
            let k = first.key();
            while let Some(o) = old.next_if(|o| *o < k) {
                b.push(o);
            }
            let before = old.next_if_eq(&k).is_some();
            let mut present = before;
            for c in same {
                if c.withdraw {
                    if !present {
                        return Err(ChangeError::UnknownWithdraw);
                    }
                    present = false;
                } else {
                    if present && !reset {
                        return Err(ChangeError::DuplicateAnnounce);
                    }
                    present = true;
                }
            }
            if present {
                b.push(k);
            }
            if present != before {
                note(changed, (k.0, k.1));
            }
        }
        for o in old {
            b.push(o);
        }
        Ok(b.finish())
    }

    /// Appends to `changed` the prefixes of VRPs in exactly one of `a` and
    /// `b` (sorted, without repeats), walking both once.
    pub(crate) fn diff(a: &FamilyIndex<A>, b: &FamilyIndex<A>, changed: &mut Vec<(A::Packed, u8)>) {
        if std::ptr::eq(a, b) {
            return;
        }
        let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
        loop {
            let k = match (x.peek(), y.peek()) {
                (Some(p), Some(q)) => match p.cmp(q) {
                    Ordering::Equal => {
                        x.next();
                        y.next();
                        continue;
                    }
                    Ordering::Less => x.next(),
                    Ordering::Greater => y.next(),
                },
                (Some(_), None) => x.next(),
                (None, Some(_)) => y.next(),
                (None, None) => break,
            };
            // The smaller head is taken each time, so keys only grow.
            if let Some(k) = k {
                note(changed, (k.0, k.1));
            }
        }
    }
}

/// Appends a prefix unless it is the last one already.
fn note<A: Addr>(changed: &mut Vec<(A::Packed, u8)>, (addr, len): (A, u8)) {
    let p = (addr.pack(), len);
    if changed.last() != Some(&p) {
        changed.push(p);
    }
}

/// The VRPs of a [`FamilyIndex`] in order.
#[derive(Clone, Debug)]
pub(crate) struct Iter<'a, A> {
    ix: &'a FamilyIndex<A>,
    node: usize,
    /// Position inside the current node's group.
    sub: usize,
}

impl<A: Addr> Iterator for Iter<'_, A> {
    type Item = Key<A>;

    fn next(&mut self) -> Option<Key<A>> {
        loop {
            let n = self.ix.nodes.get(self.node)?;
            if n.max_len != MULTI {
                self.node += 1;
                return Some((n.addr, n.len, n.data, n.max_len));
            }
            if let Some(e) = self.ix.group(n.data).get(self.sub) {
                self.sub += 1;
                return Some((n.addr, n.len, e.asn, e.max_len));
            }
            self.node += 1;
            self.sub = 0;
        }
    }
}

/// Builds a [`FamilyIndex`] from VRPs pushed in order.
struct Builder<A> {
    ix: FamilyIndex<A>,
    last: Option<Key<A>>,
}

impl<A: Addr> Builder<A> {
    fn with_capacity(nodes: usize, entries: usize) -> Builder<A> {
        Builder {
            ix: FamilyIndex {
                nodes: Vec::with_capacity(nodes),
                entries: Vec::with_capacity(entries),
                ..FamilyIndex::default()
            },
            last: None,
        }
    }

    /// Adds the next VRP; keys must come in increasing order (a repeat is
    /// ignored).
    fn push(&mut self, k: Key<A>) {
        if self.last.is_some_and(|l| l >= k) {
            return;
        }
        self.last = Some(k);
        let (addr, len, asn, max_len) = k;
        let ix = &mut self.ix;
        ix.count += 1;
        match ix.nodes.last_mut() {
            Some(last) if (last.addr, last.len) == (addr, len) => {
                if last.max_len != MULTI {
                    // The prefix's second VRP: the first moves to a group.
                    let first = Entry {
                        asn: last.data,
                        max_len: last.max_len,
                    };
                    last.data = idx(ix.groups.len());
                    last.max_len = MULTI;
                    ix.groups.push(idx(ix.entries.len()));
                    ix.entries.push(first);
                }
                ix.entries.push(Entry { asn, max_len });
            }
            _ => ix.nodes.push(Node {
                addr,
                parent: NONE,
                data: asn,
                len,
                max_len,
            }),
        }
    }

    fn finish(self) -> FamilyIndex<A> {
        let mut ix = self.ix;
        if !ix.groups.is_empty() {
            ix.groups.push(idx(ix.entries.len()));
        }
        let mut stack: Vec<usize> = Vec::new();
        for i in 0..ix.nodes.len() {
            let Some(&node) = ix.nodes.get(i) else { break };
            while let Some(&t) = stack.last() {
                match ix.nodes.get(t) {
                    Some(p) if covers((p.addr, p.len), (node.addr, node.len)) => break,
                    _ => {
                        stack.pop();
                    }
                }
            }
            let parent = stack.last().map_or(NONE, |t| idx(*t));
            if let Some(n) = ix.nodes.get_mut(i) {
                n.parent = parent;
            }
            stack.push(i);
        }
        if !ix.nodes.is_empty() {
            ix.buckets.reserve_exact(65_537);
            let mut i = 0;
            for b in 0..=65_536usize {
                while ix.nodes.get(i).is_some_and(|n| n.addr.top16() < b) {
                    i += 1;
                }
                ix.buckets.push(idx(i));
            }
        }
        ix.nodes.shrink_to_fit();
        ix.groups.shrink_to_fit();
        ix.entries.shrink_to_fit();
        ix
    }
}
