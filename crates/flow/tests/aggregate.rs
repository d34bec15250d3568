//! Attribution and aggregation: MACs, interface roles and prefixes to
//! members; one-minute buckets per member and family, the member matrix,
//! rollups and retention; bilateral BGP session detection.

use flow::aggregate::{Aggregator, Resolution, Retention};
use flow::{
    Attribution, Family, FlowRecord, FlowSource, InterfaceRole, MacAddr, MemberTable, UnixMillis,
};
use std::net::IpAddr;

const T0: u64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(n: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, n])
}

fn rec(src: &str, dst: &str, bytes: u64, packets: u64, t: u64) -> FlowRecord {
    FlowRecord {
        exporter: ip("192.0.2.100"),
        source: FlowSource::Ipfix {
            domain: 0,
            template: 256,
        },
        src_mac: None,
        dst_mac: None,
        src_ip: Some(ip(src)),
        dst_ip: Some(ip(dst)),
        protocol: Some(17),
        src_port: Some(1),
        dst_port: Some(2),
        bytes,
        packets,
        sampling_rate: 1,
        ingress_if: None,
        egress_if: None,
        vlan: None,
        src_as: None,
        dst_as: None,
        timestamp: UnixMillis(t),
    }
}

fn table() -> MemberTable {
    let mut t = MemberTable::new();
    t.add_member(1, "one");
    t.add_member(2, "two");
    t.add_member(3, "three");
    t.add_mac(mac(1), 1);
    t.add_mac(mac(2), 2);
    t.add_prefix(ip("10.0.0.0"), 8, 1).unwrap();
    t.add_prefix(ip("10.2.0.0"), 16, 2).unwrap();
    t.add_prefix(ip("10.2.3.0"), 24, 3).unwrap();
    t.add_prefix(ip("2001:db8::"), 32, 3).unwrap();
    t
}

#[test]
fn prefixes_match_longest_first_and_macs_win() {
    let t = table();
    let a = t.attribute(&rec("10.9.9.9", "10.2.9.9", 1, 1, T0));
    assert_eq!((a.src, a.dst), (Some(1), Some(2)));
    let a = t.attribute(&rec("10.2.3.4", "2001:db8::1", 1, 1, T0));
    assert_eq!((a.src, a.dst), (Some(3), Some(3)));
    let a = t.attribute(&rec("192.0.2.1", "10.2.3.4", 1, 1, T0));
    assert_eq!((a.src, a.dst), (None, Some(3)));
    // MACs come before prefixes.
    let mut r = rec("10.2.3.4", "10.2.3.5", 1, 1, T0);
    r.src_mac = Some(mac(1));
    r.dst_mac = Some(mac(2));
    let a = t.attribute(&r);
    assert_eq!((a.src, a.dst), (Some(1), Some(2)));
    assert!(MemberTable::new()
        .add_prefix(ip("10.0.0.0"), 33, 1)
        .is_err());
}

#[test]
fn interface_roles_at_a_member_router() {
    let mut t = MemberTable::new();
    let router = ip("192.0.2.100");
    t.add_member(1, "one");
    t.add_router(router, 1);
    t.set_interface_role(router, 10, InterfaceRole::Ixp);
    t.set_interface_role(router, 20, InterfaceRole::Customer);
    t.set_interface_role(router, 30, InterfaceRole::Transit);
    t.add_prefix(ip("10.2.0.0"), 16, 2).unwrap();
    // From the IXP to a customer: received by member 1, sent by member 2.
    let mut r = rec("10.2.0.1", "198.51.100.1", 1, 1, T0);
    r.ingress_if = Some(10);
    r.egress_if = Some(20);
    assert_eq!(
        t.attribute(&r),
        Attribution {
            src: Some(2),
            dst: Some(1),
            ingress_role: Some(InterfaceRole::Ixp),
            egress_role: Some(InterfaceRole::Customer)
        }
    );
    // From a customer out over the IXP: sent by member 1.
    let mut r = rec("198.51.100.1", "10.2.0.1", 1, 1, T0);
    r.ingress_if = Some(20);
    r.egress_if = Some(10);
    assert_eq!(
        (t.attribute(&r).src, t.attribute(&r).dst),
        (Some(1), Some(2))
    );
    // Transit to customer does not cross the IXP: no member from roles.
    let mut r = rec("198.51.100.1", "203.0.113.1", 1, 1, T0);
    r.ingress_if = Some(30);
    r.egress_if = Some(20);
    let a = t.attribute(&r);
    assert_eq!(
        (a.src, a.dst, a.ingress_role),
        (None, None, Some(InterfaceRole::Transit))
    );
}

#[test]
fn minute_buckets_per_member_family_and_pair() {
    let t = table();
    let mut agg = Aggregator::new(Retention::default());
    let minute = T0 - T0 % 60_000;
    let records = [
        rec("10.9.0.1", "10.2.0.1", 1000, 10, minute + 1_000),
        rec("10.9.0.1", "10.2.0.1", 500, 5, minute + 59_999),
        rec("10.2.0.1", "10.9.0.1", 300, 3, minute + 60_000), // next minute
        rec("2001:db8::1", "10.9.0.1", 7, 1, minute + 5),     // family from the source
        rec("192.0.2.1", "192.0.2.2", 99, 9, minute + 5),     // nobody's
    ];
    for r in &records {
        agg.add(r, &t.attribute(r));
    }
    let buckets: Vec<_> = agg.minutes().collect();
    assert_eq!(buckets.len(), 2);
    let b = buckets[0];
    assert_eq!(b.start * 1000, minute);
    assert_eq!(b.records, 4);
    assert_eq!(b.members[&(1, Family::Ipv4)].outbound.bytes, 1500);
    assert_eq!(b.members[&(2, Family::Ipv4)].inbound.packets, 15);
    assert_eq!(b.members[&(1, Family::Ipv6)].inbound.bytes, 7);
    assert_eq!(b.members[&(3, Family::Ipv6)].outbound.bytes, 7);
    assert_eq!(b.matrix[&(1, 2, Family::Ipv4)].bytes, 1500);
    assert_eq!(b.unattributed.bytes, 99);
    assert_eq!(buckets[1].pair_total(2, 1).bytes, 300);
    // Hour rollup merges both minutes.
    let hours = agg.rollup(Resolution::Hour, 0, u64::MAX);
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0].seconds, 3600);
    assert_eq!(hours[0].pair_total(1, 2).bytes, 1500);
    assert_eq!(hours[0].pair_total(2, 1).bytes, 300);
    assert_eq!(hours[0].records, 5);
}

#[test]
fn retention_folds_minutes_into_hours_and_days_and_drops_old_days() {
    let t = table();
    let ret = Retention {
        minutes_for: 3600,
        hours_for: 2 * 86400,
        days_for: 10 * 86400,
    };
    let mut agg = Aggregator::new(ret);
    // One record a minute for three hours.
    for m in 0..180u64 {
        let r = rec("10.9.0.1", "10.2.0.1", 100, 1, T0 + m * 60_000);
        agg.add(&r, &t.attribute(&r));
    }
    let before = agg.total();
    assert_eq!(agg.minutes().count(), 180);
    // Three hours after the start, minutes older than one hour are folded.
    let now = T0 + 3 * 3_600_000;
    agg.expire(UnixMillis(now));
    let after = agg.total();
    assert_eq!(after.matrix, before.matrix, "folding keeps every count");
    assert_eq!(after.members, before.members);
    assert!(
        agg.minutes().count() <= 61 && agg.minutes().count() >= 59,
        "{}",
        agg.minutes().count()
    );
    // A minute rollup of the whole range still sums to everything.
    let all: u64 = agg
        .rollup(Resolution::Minute, 0, u64::MAX)
        .iter()
        .map(|b| b.pair_total(1, 2).bytes)
        .sum();
    assert_eq!(all, 18_000);
    // Days later everything is in day buckets; past the day retention, gone.
    agg.expire(UnixMillis(now + 5 * 86_400_000));
    assert_eq!(agg.minutes().count(), 0);
    assert_eq!(agg.total().pair_total(1, 2).bytes, 18_000);
    assert!(agg
        .rollup(Resolution::Day, 0, u64::MAX)
        .iter()
        .all(|b| b.seconds == 86400));
    agg.expire(UnixMillis(now + 20 * 86_400_000));
    assert_eq!(agg.total().pair_total(1, 2).bytes, 0);
}

#[test]
fn bilateral_bgp_sessions_between_members() {
    let t = table();
    let mut agg = Aggregator::new(Retention::default());
    let bgp = |src: &str, dst: &str, sport, dport, ts, sm: u8, dm: u8| {
        let mut r = rec(src, dst, 60, 1, ts);
        r.protocol = Some(6);
        r.src_port = Some(sport);
        r.dst_port = Some(dport);
        r.src_mac = Some(mac(sm));
        r.dst_mac = Some(mac(dm));
        r
    };
    for r in [
        bgp("192.0.2.2", "192.0.2.1", 179, 40000, T0 + 10, 2, 1),
        bgp("192.0.2.1", "192.0.2.2", 40000, 179, T0, 1, 2),
        bgp("192.0.2.1", "192.0.2.3", 179, 40001, T0, 1, 1),
    ] {
        agg.add(&r, &t.attribute(&r));
    }
    // UDP port 179 is not BGP; a member talking to itself is not bilateral.
    let mut r = rec("192.0.2.1", "192.0.2.2", 60, 1, T0);
    r.src_port = Some(179);
    r.src_mac = Some(mac(1));
    r.dst_mac = Some(mac(2));
    agg.add(&r, &t.attribute(&r));
    let s: Vec<_> = agg.sessions().collect();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!((s[0].a, s[0].b), (1, 2));
    assert_eq!(
        (s[0].a_ip, s[0].b_ip),
        (Some(ip("192.0.2.1")), Some(ip("192.0.2.2")))
    );
    assert_eq!(
        (s[0].first_seen, s[0].last_seen, s[0].observations),
        (UnixMillis(T0), UnixMillis(T0 + 10), 2)
    );
}
