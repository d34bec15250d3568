//! Property test: the reject mask of a route is the union of the reasons
//! each check gives on its own (no check hides another, order does not
//! matter).

mod common;

use std::net::Ipv4Addr;

use bgp_wire::NextHop;
use common::*;
use policy::{code, MemberSettings, Settings};
use proptest::prelude::*;

/// One check enabled, the others off.
fn only(check: u32) -> policy::IxpPolicy {
    policy_with(|s: &mut Settings, m: &mut MemberSettings| {
        s.reject_bogon_prefixes = check == code::BOGON_PREFIX;
        s.reject_bogon_asns = check == code::INVALID_ASN_IN_PATH;
        s.check_first_as = check == code::INVALID_LEFT_MOST_ASN;
        s.check_next_hop = check == code::INVALID_NEXT_HOP;
        if check != code::TRANSIT_FREE_ASN {
            s.transit_free_asns.clear();
        }
        if check == code::NEVER_VIA_ROUTE_SERVERS {
            s.never_via_route_servers_asns = vec![15169];
        }
        if check == code::GLOBAL_BLOCKLIST {
            s.blocklist = vec![p("8.8.0.0/16")];
        }
        if check == code::MEMBER_BLOCKLIST {
            m.blocklist = vec![p("9.0.0.0/8")];
        }
        if check != code::AS_PATH_TOO_LONG {
            m.max_as_path_len = u8::MAX;
        }
        if check != code::INVALID_PREFIX_LEN {
            m.ipv4_len = registry::LenRange { min: 0, max: 32 };
        }
    })
}

/// Checks that can be switched on alone (4 and 10 cannot be switched off:
/// they are judged on IPv4 routes with an IPv4 next hop here, so never set).
const CHECKS: [u32; 10] = [1, 2, 3, 5, 6, 7, 8, 11, 13, 15];

fn everything() -> policy::IxpPolicy {
    policy_with(|s, m| {
        s.never_via_route_servers_asns = vec![15169];
        s.blocklist = vec![p("8.8.0.0/16")];
        m.blocklist = vec![p("9.0.0.0/8")];
    })
}

proptest! {
    #[test]
    fn mask_is_union_of_single_checks(
        path in proptest::collection::vec(prop_oneof![
            Just(A), Just(15169), Just(174), Just(64512), Just(2906), Just(0)
        ], 0..40),
        addr in any::<u32>(),
        len in 0u8..=32,
        nh_last in prop_oneof![Just(11u8), Just(99), Just(12)],
    ) {
        let bytes = attrs_bytes(&path, &[], &[]);
        let nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, nh_last));
        let prefix = bgp_wire::Prefix::v4(Ipv4Addr::from(addr), len).unwrap().to_string();
        let (all, _) = run(&everything(), &member_a(), &bytes, nh, &prefix);
        let mut union = 0;
        for c in CHECKS {
            let (m, _) = run(&only(c), &member_a(), &bytes, nh, &prefix);
            prop_assert!(m & !(1 << c) == 0, "check {} alone gave {:b}", c, m);
            union |= m;
        }
        prop_assert_eq!(all, union);
    }
}
