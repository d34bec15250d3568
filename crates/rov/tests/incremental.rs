//! Serial updates applied incrementally (the merge the RTR client does,
//! RFC 8210 §5.4) against tables built from scratch: after every update
//! the same VRPs, the same route origin validation answers, and the same
//! changed prefixes as the set difference of the two VRP sets; refused
//! updates (RFC 8210 §5.1 codes 6 and 7) change nothing.

use std::collections::BTreeSet;

use bgp_wire::Prefix;
use proptest::prelude::*;
use proptest::sample::Index;
use rov::{ApplyError, AspaTable, Vrp, VrpTable};

/// VRPs in a small address space, so that they nest, share prefixes and
/// collide with the updates; few ASes (0 included).
fn vrp() -> impl Strategy<Value = Vrp> {
    (any::<bool>(), 0u32..16, 0u8..=32, 0u8..=32, 0u32..4).prop_map(|(v6, hi, len, extra, asn)| {
        if v6 {
            let len6 = (u32::from(len) * 4).min(128) as u8;
            let a = (0x2001_0db8u128 << 96) | (u128::from(hi) << 92);
            let a = if len6 == 0 {
                0
            } else {
                a & (u128::MAX << (128 - u32::from(len6)))
            };
            let max = len6.saturating_add(extra).min(128);
            Vrp::new(Prefix::V6(a, len6), max, asn).expect("valid IPv6 VRP")
        } else {
            let a = (10u32 << 24) | (hi << 20);
            let a = if len == 0 {
                0
            } else {
                a & (u32::MAX << (32 - u32::from(len)))
            };
            let max = len.saturating_add(extra / 4).min(32);
            Vrp::new(Prefix::V4(a, len), max, asn).expect("valid IPv4 VRP")
        }
    })
}

/// Route prefixes to validate: every VRP prefix and some more specifics.
fn queries(vrps: &BTreeSet<Vrp>) -> Vec<Prefix> {
    let mut q = Vec::new();
    for v in vrps {
        q.push(v.prefix);
        match v.prefix {
            Prefix::V4(a, l) if l < 32 => {
                q.push(Prefix::V4(a, l + 1));
                q.push(Prefix::V4(a | (1 << (31 - u32::from(l))), l + 1));
            }
            Prefix::V6(a, l) if l < 128 => {
                q.push(Prefix::V6(a, l + 1));
                q.push(Prefix::V6(a | (1 << (127 - u32::from(l))), l + 1));
            }
            _ => {}
        }
    }
    q.push(Prefix::V4(10 << 24, 24));
    q.push(Prefix::V6(0x2001_0db8u128 << 96, 48));
    q
}

fn same_answers(a: &VrpTable, b: &VrpTable, vrps: &BTreeSet<Vrp>) -> Result<(), TestCaseError> {
    for p in queries(vrps) {
        for o in [None, Some(0), Some(1), Some(2), Some(3)] {
            prop_assert_eq!(a.rov(&p, o), b.rov(&p, o), "{} {:?}", p, o);
        }
    }
    Ok(())
}

/// The prefixes of VRPs in exactly one of the sets.
fn set_difference(a: &BTreeSet<Vrp>, b: &BTreeSet<Vrp>) -> Vec<Prefix> {
    let mut v: Vec<Prefix> = a.symmetric_difference(b).map(|v| v.prefix).collect();
    v.sort_unstable();
    v.dedup();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn serial_updates_agree_with_tables_from_scratch(
        base in prop::collection::vec(vrp(), 0..60),
        updates in prop::collection::vec(
            (prop::collection::vec(any::<Index>(), 0..12), prop::collection::vec(vrp(), 0..12)),
            1..6,
        ),
    ) {
        let mut set: BTreeSet<Vrp> = base.iter().copied().collect();
        let mut table = VrpTable::new(base, AspaTable::default());
        for (withdraw, announce) in updates {
            let present: Vec<Vrp> = set.iter().copied().collect();
            let gone: BTreeSet<Vrp> = if present.is_empty() {
                BTreeSet::new()
            } else {
                withdraw.iter().map(|i| *i.get(&present)).collect()
            };
            let mut next = &set - &gone;
            let mut changes: Vec<(Vrp, bool)> = gone.iter().map(|v| (*v, false)).collect();
            for v in announce {
                // Announced once, and only when absent after the
                // withdrawals (a withdrawn VRP may come back).
                if next.insert(v) {
                    changes.push((v, true));
                }
            }
            let (new, changed) = table.apply_serial(changes).expect("a consistent serial answer");
            let scratch = VrpTable::new(next.iter().copied().collect(), AspaTable::default());
            prop_assert_eq!(new.vrps().collect::<Vec<_>>(), next.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(new.vrps().collect::<Vec<_>>(), scratch.vrps().collect::<Vec<_>>());
            prop_assert_eq!(new.len(), next.len());
            same_answers(&new, &scratch, &next)?;
            let expected = set_difference(&set, &next);
            prop_assert_eq!(changed.iter().collect::<Vec<_>>(), expected.clone());
            prop_assert_eq!(VrpTable::changed_prefixes(&table, &scratch), expected);
            for p in changed.iter() {
                prop_assert!(changed.contains(&p));
            }
            table = new;
            set = next;
        }
    }

    #[test]
    fn refused_serial_updates_change_nothing(
        base in prop::collection::vec(vrp(), 1..40),
        pick in any::<Index>(),
        absent in vrp(),
        others in prop::collection::vec(vrp(), 0..8),
    ) {
        let set: BTreeSet<Vrp> = base.iter().copied().collect();
        let table = VrpTable::new(base, AspaTable::default());
        let present: Vec<Vrp> = set.iter().copied().collect();
        let held = *pick.get(&present);
        let fresh: Vec<(Vrp, bool)> = others
            .into_iter()
            .filter(|v| !set.contains(v) && *v != absent)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|v| (v, true))
            .collect();
        // Announcing a VRP held: Duplicate Announcement (code 7).
        let mut c = fresh.clone();
        c.push((held, true));
        prop_assert_eq!(table.apply_serial(c).err(), Some(ApplyError::DuplicateAnnounce));
        // Announcing one twice in the same answer: also code 7.
        if !set.contains(&absent) {
            let mut c = fresh.clone();
            c.push((absent, true));
            c.push((absent, true));
            prop_assert_eq!(table.apply_serial(c).err(), Some(ApplyError::DuplicateAnnounce));
            // Withdrawing one not held: Withdrawal of Unknown Record (6).
            let mut c = fresh.clone();
            c.push((absent, false));
            prop_assert_eq!(table.apply_serial(c).err(), Some(ApplyError::UnknownWithdraw));
            // Announced then withdrawn in one answer: no change at all.
            let (t, changed) = table
                .apply_serial([(absent, true), (absent, false)])
                .expect("announce, then withdraw");
            prop_assert!(changed.is_empty());
            prop_assert!(t.vrps().eq(table.vrps()));
        }
        // Withdrawn twice: the second is unknown.
        prop_assert_eq!(
            table.apply_serial([(held, false), (held, false)]).err(),
            Some(ApplyError::UnknownWithdraw)
        );
        // Withdrawn and announced again: allowed, nothing changed.
        let (t, changed) = table.apply_serial([(held, false), (held, true)]).expect("withdraw, announce");
        prop_assert!(changed.is_empty());
        prop_assert!(t.vrps().eq(table.vrps()));
        // The refused answers left the table as it was.
        prop_assert_eq!(table.vrps().collect::<Vec<_>>(), present.clone());
        same_answers(&table, &VrpTable::new(present.clone(), AspaTable::default()), &set)?;
    }
}

#[test]
fn first_load_shares_the_table_as_its_changed_prefixes() {
    let p = |s: &str| -> Prefix { s.parse().expect("prefix") };
    let vrps = [
        Vrp::new(p("192.0.2.0/24"), 24, 1).expect("vrp"),
        Vrp::new(p("192.0.2.0/24"), 25, 2).expect("vrp"),
        Vrp::new(p("2001:db8::/32"), 48, 3).expect("vrp"),
    ];
    let empty = VrpTable::empty();
    let (t, changed) = empty
        .apply_serial(vrps.iter().map(|v| (*v, true)))
        .expect("announcements into an empty table");
    assert_eq!(changed.len(), 2);
    assert_eq!(
        changed.iter().collect::<Vec<_>>(),
        vec![p("192.0.2.0/24"), p("2001:db8::/32")]
    );
    assert!(changed.contains(&p("2001:db8::/32")));
    assert!(!changed.contains(&p("192.0.2.0/25")));
    assert_eq!(changed, VrpTable::changed(&empty, &t));
    assert_eq!(
        VrpTable::changed_prefixes(&t, &empty),
        vec![p("192.0.2.0/24"), p("2001:db8::/32")]
    );
}
