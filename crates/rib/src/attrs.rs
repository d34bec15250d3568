//! Interned route attributes and the export controls derived from them.
//!
//! Every route the route server holds points to a [`RouteAttrs`]: the
//! canonical attribute block to send (see `bgp_wire::builder`), the next
//! hop, and the few values that best-path selection and export need,
//! decoded once. Routes with equal attributes share one `Arc`, so a
//! member's 500 prefixes announced in one UPDATE cost one attribute set,
//! and the exporter can group prefixes by pointer when it packs UPDATEs.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bgp_wire::attr::Origin;
use bgp_wire::NextHop;

/// Who may receive a route, from the BGP communities a member attached
/// (the arouteserver scheme of SPEC §3). Computed by policy; the RIB only
/// applies it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExportCtl {
    /// Announce to no one, except the ASNs in `only` (`0:RS`, `RS:0:0`).
    pub none: bool,
    /// ASNs to announce to even when `none` is set (`RS:peer`, `RS:1:peer`).
    pub only: Box<[u32]>,
    /// ASNs never to announce to (`0:peer`, `RS:0:peer`).
    pub deny: Box<[u32]>,
    /// Prepend the announcing AS this many times towards an ASN
    /// (`6550x:peer`, `RS:10x:peer`).
    pub prepend: Box<[(u32, u8)]>,
}

impl ExportCtl {
    /// Whether a member with `asn` may receive the route.
    #[inline]
    pub fn allows(&self, asn: u32) -> bool {
        if self.deny.contains(&asn) {
            return false;
        }
        !self.none || self.only.contains(&asn)
    }

    /// How many extra times to prepend towards `asn`.
    pub fn prepend_for(&self, asn: u32) -> u8 {
        self.prepend
            .iter()
            .find(|(a, _)| *a == asn)
            .map_or(0, |(_, n)| *n)
    }

    /// Whether no control applies (the common case).
    pub fn is_open(&self) -> bool {
        !self.none && self.deny.is_empty() && self.prepend.is_empty()
    }
}

impl RouteAttrs {
    /// The attribute block as the member sent it (canonical form).
    pub fn received_block(&self) -> &[u8] {
        self.received.as_deref().unwrap_or(&self.block)
    }
}

/// The attributes of a route, ready to export.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteAttrs {
    /// Canonical attribute block: every attribute to send except NEXT_HOP
    /// and MP_*, 4-octet AS form (`bgp_wire::builder::passthrough_block`).
    pub block: Box<[u8]>,
    /// Next hop, unchanged from the announcing member (RFC 7947 §2.2).
    pub next_hop: NextHop,
    /// Route preference used first in best-path selection (LOCAL_PREF
    /// equivalent; policy lowers it for GRACEFUL_SHUTDOWN, RFC 8326).
    pub pref: u32,
    /// AS path length for best-path selection (RFC 4271 §9.1.2.2 a).
    pub as_path_len: u16,
    /// ORIGIN.
    pub origin: Origin,
    /// MULTI_EXIT_DISC, 0 when absent (RFC 4271 §9.1.2.2 c).
    pub med: u32,
    /// Who may receive it.
    pub export: ExportCtl,
    /// The block as received, before policy removed control communities
    /// and added its own, when it differs from `block`: what policy needs
    /// to judge the route again (RPKI or IRR data changed) without the
    /// member sending it again. Variants of one UPDATE share it.
    pub received: Option<Arc<[u8]>>,
}

/// Default route preference (the LOCAL_PREF of RFC 4271 §5.1.5 that a
/// route server does not send).
pub const DEFAULT_PREF: u32 = 100;

/// Shares equal [`RouteAttrs`]. Entries nobody else points to are removed by
/// [`Interner::purge`].
#[derive(Debug, Default)]
pub struct Interner {
    set: HashSet<Key>,
}

#[derive(Debug)]
struct Key(Arc<RouteAttrs>);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        *self.0 == *other.0
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl Interner {
    /// The shared copy of `attrs`.
    pub fn intern(&mut self, attrs: RouteAttrs) -> Arc<RouteAttrs> {
        let key = Key(Arc::new(attrs));
        if let Some(existing) = self.set.get(&key) {
            return existing.0.clone();
        }
        let arc = key.0.clone();
        self.set.insert(key);
        arc
    }

    /// Drop attribute sets no route uses any more.
    pub fn purge(&mut self) {
        self.set.retain(|k| Arc::strong_count(&k.0) > 1);
    }

    /// Number of distinct attribute sets held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}
