//! Best-path order among the routes of one prefix (RFC 4271 §9.1.2).
//!
//! All routes at a route server come over eBGP, have no IGP cost and carry
//! no LOCAL_PREF, so the order is: higher preference (the RIB's stand-in for
//! LOCAL_PREF, lowered by policy for GRACEFUL_SHUTDOWN), shorter AS path,
//! lower ORIGIN, lower MED, lower BGP identifier of the announcing member,
//! lower member address, then the member index and path identifier.
//!
//! MED is compared between all routes, not only between routes from the
//! same neighbouring AS as RFC 4271 §9.1.2.2 c says: that rule makes the
//! order non-transitive (the result depends on arrival order, the known
//! "MED oscillation"), while a route server must give every member a
//! deterministic answer. This is the "always compare MED" option of common
//! implementations; see docs/decisions/0002-rib-design.md.

use std::cmp::Ordering;

use crate::table::{CandRef, Peer};

/// `Less` when `a` is better than `b`.
pub(crate) fn compare(a: &CandRef, b: &CandRef, peers: &[Option<Peer>]) -> Ordering {
    let (x, y) = (&*a.attrs, &*b.attrs);
    y.pref
        .cmp(&x.pref)
        .then(x.as_path_len.cmp(&y.as_path_len))
        .then(x.origin.cmp(&y.origin))
        .then(x.med.cmp(&y.med))
        .then_with(|| {
            let key = |c: &CandRef| {
                peers
                    .get(c.peer as usize)
                    .and_then(Option::as_ref)
                    .map(|p| (p.bgp_id, p.addr))
            };
            key(a).cmp(&key(b))
        })
        .then(a.peer.cmp(&b.peer))
        .then(a.path_id.cmp(&b.path_id))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use bgp_wire::attr::Origin;
    use bgp_wire::{EncodeCtx, FamilySet, NextHop};
    use proptest::prelude::*;

    use super::*;
    use crate::table::Rib;
    use crate::{ExportCtl, RouteAttrs};

    fn cand(peer: u32, path_id: u32, k: (u32, u16, u8, u32)) -> CandRef {
        CandRef {
            peer,
            path_id,
            attrs: Arc::new(RouteAttrs {
                block: Box::new([]),
                next_hop: NextHop::V4(Ipv4Addr::LOCALHOST),
                pref: k.0,
                as_path_len: k.1,
                origin: [Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(k.2 % 3)],
                med: k.3,
                export: ExportCtl::default(),
                received: None,
            }),
        }
    }

    fn key() -> impl Strategy<Value = (u32, (u32, u16, u8, u32), u32)> {
        (0u32..4, (0u32..3, 0u16..3, 0u8..3, 0u32..3), 0u32..2)
    }

    proptest! {
        /// The order is total (antisymmetric, Equal only for the same
        /// route) and transitive.
        #[test]
        fn order_is_total_and_transitive(a in key(), b in key(), c in key()) {
            let mut rib = Rib::new();
            for i in 0..4u8 {
                let id = rib.add_peer(65000 + u32::from(i), IpAddr::V4(Ipv4Addr::new(192, 0, 2, i)));
                // Two peers share a BGP id so the address breaks the tie.
                rib.peer_up(id, u32::from(i / 2), FamilySet::BOTH, EncodeCtx::default());
            }
            let peers = rib.peer_table();
            let (x, y, z) = (cand(a.0, a.2, a.1), cand(b.0, b.2, b.1), cand(c.0, c.2, c.1));
            let xy = compare(&x, &y, peers);
            prop_assert_eq!(xy, compare(&y, &x, peers).reverse());
            prop_assert_eq!(xy == Ordering::Equal, a == b);
            let yz = compare(&y, &z, peers);
            if xy != Ordering::Greater && yz != Ordering::Greater {
                prop_assert_ne!(compare(&x, &z, peers), Ordering::Greater);
            }
        }
    }
}
