//! The candidate list of one prefix, best first, without a heap
//! allocation while it holds a single route.
//!
//! At an IXP almost every prefix is announced by one member, so a `Vec`
//! per prefix would cost a 32-byte allocation (plus the allocator's own
//! overhead) for one 16-byte entry; at half a million prefixes that is
//! more than the candidates themselves. The list keeps one candidate
//! inline and moves to a `Vec` from the second.
//!
//! Not here: the order (see `bestpath`), what a candidate means.

use crate::table::CandRef;

/// Accepted routes of one prefix, best first.
#[derive(Debug, Default)]
pub(crate) enum Cands {
    /// No accepted route.
    #[default]
    Empty,
    /// One accepted route.
    One(CandRef),
    /// Two or more, best first.
    Many(Vec<CandRef>),
}

impl Cands {
    /// The candidates, best first.
    pub(crate) fn as_slice(&self) -> &[CandRef] {
        match self {
            Cands::Empty => &[],
            Cands::One(c) => std::slice::from_ref(c),
            Cands::Many(v) => v,
        }
    }

    /// Iterate best first.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, CandRef> {
        self.as_slice().iter()
    }

    /// Keep only the candidates `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&CandRef) -> bool) {
        match self {
            Cands::Empty => {}
            Cands::One(c) => {
                if !keep(c) {
                    *self = Cands::Empty;
                }
            }
            Cands::Many(v) => {
                v.retain(|c| keep(c));
                if v.len() <= 1 {
                    *self = match v.pop() {
                        Some(c) => Cands::One(c),
                        None => Cands::Empty,
                    };
                }
            }
        }
    }

    /// Insert `c` at position `at` (clamped to the length).
    pub(crate) fn insert(&mut self, at: usize, c: CandRef) {
        match std::mem::take(self) {
            Cands::Empty => *self = Cands::One(c),
            Cands::One(x) => {
                *self = Cands::Many(if at == 0 { vec![c, x] } else { vec![x, c] });
            }
            Cands::Many(mut v) => {
                v.insert(at.min(v.len()), c);
                *self = Cands::Many(v);
            }
        }
    }
}

impl<'a> IntoIterator for &'a Cands {
    type Item = &'a CandRef;
    type IntoIter = std::slice::Iter<'a, CandRef>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{ExportCtl, RouteAttrs};
    use bgp_wire::attr::{NextHop, Origin};
    use std::sync::Arc;

    fn cand(peer: u32) -> CandRef {
        CandRef {
            peer,
            path_id: 0,
            attrs: Arc::new(RouteAttrs {
                block: Box::new([]),
                next_hop: NextHop::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
                pref: 100,
                as_path_len: 1,
                origin: Origin::Igp,
                med: 0,
                export: ExportCtl::default(),
                received: None,
            }),
        }
    }

    fn peers(c: &Cands) -> Vec<u32> {
        c.iter().map(|c| c.peer).collect()
    }

    #[test]
    fn grows_and_shrinks_through_every_shape() {
        let mut c = Cands::default();
        assert!(peers(&c).is_empty());
        c.insert(0, cand(1));
        assert!(matches!(c, Cands::One(_)));
        c.insert(0, cand(2));
        assert_eq!(peers(&c), [2, 1]);
        c.insert(2, cand(3));
        c.insert(1, cand(4));
        assert_eq!(peers(&c), [2, 4, 1, 3]);
        c.retain(|x| x.peer % 2 == 1);
        assert_eq!(peers(&c), [1, 3]);
        c.retain(|x| x.peer == 3);
        assert!(matches!(c, Cands::One(_)));
        assert_eq!(peers(&c), [3]);
        c.insert(1, cand(5));
        assert_eq!(peers(&c), [3, 5]);
        c.retain(|_| false);
        assert!(matches!(c, Cands::Empty));
    }
}
