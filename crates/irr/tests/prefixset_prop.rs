//! The compact `PrefixSet` against a straightforward reference: the hash
//! set of registered prefixes that the crate used before (a route is
//! covered when its address truncated to a registered length, not longer
//! than the route and within the family's limit, is in the set). Random
//! sets and random queries, drawn near each other so that covered and
//! uncovered answers both occur; some registered prefixes are not in
//! canonical form.

use std::collections::HashSet;

use bgp_wire::Prefix;
use irr::PrefixSet;
use proptest::prelude::*;

/// The reference: the former implementation's semantics, written plainly.
struct Reference {
    set: HashSet<Prefix>,
    max4: u8,
    max6: u8,
}

fn truncate(p: &Prefix, len: u8) -> Prefix {
    match *p {
        Prefix::V4(a, _) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            Prefix::V4(a & m, len)
        }
        Prefix::V6(a, _) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            Prefix::V6(a & m, len)
        }
    }
}

impl Reference {
    fn covers(&self, p: &Prefix) -> bool {
        let (max, family_len) = match p {
            Prefix::V4(..) => (self.max4.min(32), 32),
            Prefix::V6(..) => (self.max6.min(128), 128),
        };
        if p.len() > max {
            return false;
        }
        (0..=p.len().min(family_len)).any(|l| self.set.contains(&truncate(p, l)))
    }
}

/// A prefix whose address comes from a small pool (so sets and queries
/// overlap), canonical except when `odd` says otherwise.
fn prefix() -> impl Strategy<Value = Prefix> {
    let v4 = (0u32..8, any::<u32>(), 0u8..=32, 0u8..20).prop_map(|(base, noise, len, odd)| {
        let a = (0xc000_0200u32 + (base << 8)) ^ (noise & (0xffff_00ff_u32 >> (base % 4)));
        match odd {
            0 => Prefix::V4(a, len),          // host bits may be set
            1 => Prefix::V4(a, 33 + len % 8), // length beyond /32
            _ => truncate(&Prefix::V4(a, len), len),
        }
    });
    let v6 = (0u128..8, any::<u128>(), 0u8..=128, 0u8..20).prop_map(|(base, noise, len, odd)| {
        let a = ((0x2001_0db8u128 << 96) + (base << 80)) ^ (noise >> (16 + (base % 64) as u32));
        match odd {
            0 => Prefix::V6(a, len),
            1 => Prefix::V6(a, 129 + len % 8),
            _ => truncate(&Prefix::V6(a, len), len),
        }
    });
    prop_oneof![v4, v6]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn compact_set_answers_like_the_reference(
        registered in proptest::collection::vec(prefix(), 0..60),
        queries in proptest::collection::vec(prefix(), 1..200),
        max4 in prop_oneof![Just(32u8), 0u8..=40],
        max6 in prop_oneof![Just(128u8), 0u8..=140],
    ) {
        let set = PrefixSet::with_limits(registered.iter().copied(), max4, max6);
        let reference = Reference { set: registered.iter().copied().collect(), max4, max6 };
        prop_assert_eq!(set.len(), reference.set.len());
        let mut want: Vec<Prefix> = reference.set.iter().copied().collect();
        want.sort_unstable();
        prop_assert_eq!(set.prefixes(), want);
        // Every registered prefix and its truncations are queries too.
        let derived = registered.iter().flat_map(|p| {
            [*p, truncate(p, p.len().saturating_sub(3)), truncate(p, p.len().saturating_add(5))]
        });
        for q in queries.iter().copied().chain(derived) {
            prop_assert_eq!(set.covers(&q), reference.covers(&q), "query {:?} set {:?}", q, registered);
        }
        // Equal contents give equal sets, whatever the order.
        let mut reversed = registered.clone();
        reversed.reverse();
        prop_assert_eq!(&PrefixSet::with_limits(reversed, max4, max6), &set);
    }
}
