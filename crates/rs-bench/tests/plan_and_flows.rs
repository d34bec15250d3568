//! The load plan and the flow datagrams the benchmarks send: prefixes never
//! overlap between members (the speaker crate's generator did beyond 65,536
//! IPv4 prefixes per member), expected counts follow the reject marks, and
//! the sFlow and IPFIX datagrams decode with the `flow` crate to exactly
//! the samples they claim.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use bgp_wire::Prefix;
use flow::{Collector, MemberTable, UnixMillis};
use rs_bench::flows::{Proto, Source, IPFIX_RECORDS, SFLOW_SAMPLES};
use rs_bench::plan::{synthetic, Addressing, Reject};

fn addressing() -> Addressing {
    Addressing {
        rs: Ipv4Addr::new(192, 0, 2, 1),
        first_member: Ipv4Addr::new(192, 0, 2, 10),
    }
}

#[test]
fn prefixes_are_distinct_and_do_not_overlap_across_members() {
    let plan = synthetic(3, 90_000, addressing()).expect("plan fits");
    assert_eq!(plan.total_announced(), 270_000);
    assert_eq!(plan.index.len(), 270_000, "a prefix was generated twice");
    // No prefix of one member covers or is covered by another member's.
    let mut owner_of_slot: std::collections::HashMap<u32, usize> = Default::default();
    for (i, m) in plan.members.iter().enumerate() {
        for g in &m.groups {
            for p in &g.prefixes {
                if let Prefix::V4(a, len) = *p {
                    let len = len.min(24);
                    for k in 0..(1u32 << (24 - u32::from(len))) {
                        let slot = (a >> 8) + k;
                        let prev = owner_of_slot.insert(slot, i);
                        assert!(prev.is_none() || prev == Some(i), "overlap at {p}");
                    }
                }
            }
        }
    }
}

#[test]
fn expected_counts_follow_the_reject_marks() {
    let plan = synthetic(4, 2_000, addressing()).expect("plan fits");
    let all = |_: Reject| false;
    let every = |_: Reject| true;
    let unfiltered = plan.expected(0, &all);
    let filtered = plan.expected(0, &every);
    assert_eq!(unfiltered, 3 * 2_000);
    assert!(filtered < unfiltered, "no route is marked for rejection");
    let reasons: HashSet<Reject> = plan
        .members
        .iter()
        .flat_map(|m| m.groups.iter().filter_map(|g| g.reject))
        .collect();
    assert_eq!(reasons.len(), Reject::ALL.len(), "{reasons:?}");
}

#[test]
fn vrp_table_reaches_the_asked_size() {
    let mut plan = synthetic(2, 500, addressing()).expect("plan fits");
    plan.make_vrps(10_000);
    assert_eq!(plan.vrps.len(), 10_000);
    let distinct: HashSet<(Prefix, u32)> = plan.vrps.iter().map(|v| (v.prefix, v.asn)).collect();
    assert_eq!(distinct.len(), 10_000);
}

#[test]
fn sflow_datagrams_decode_to_their_samples() {
    let mut c = Collector::new(MemberTable::new());
    let mut src = Source::new(Proto::Sflow);
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for _ in 0..10 {
        c.ingest_sflow(from, &src.next_datagram(), UnixMillis(1_000))
            .expect("decodes");
    }
    let k = c.counters();
    assert_eq!(k.sflow_flow_samples, 10 * SFLOW_SAMPLES as u64);
    assert_eq!(k.sflow_lost_datagrams, 0);
    assert_eq!(k.sflow_lost_samples, 0);
}

#[test]
fn ipfix_messages_decode_to_their_records() {
    let mut c = Collector::new(MemberTable::new());
    let mut src = Source::new(Proto::Ipfix);
    let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for _ in 0..10 {
        c.ingest_ipfix(from, &src.next_datagram(), UnixMillis(1_795_000_000_000))
            .expect("decodes");
    }
    let k = c.counters();
    assert_eq!(k.data_records, 10 * IPFIX_RECORDS as u64);
    assert_eq!(k.template_misses, 0);
    assert_eq!(k.ipfix_lost_records, 0);
    assert_eq!(k.total_decode_errors(), 0);
}
