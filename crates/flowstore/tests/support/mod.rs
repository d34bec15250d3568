//! A deterministic data set for the store tests: five members exchanging
//! traffic over twelve minutes, seen by sFlow at the fabric and IPFIX at one
//! member router, classified against the route server's prefixes.

#![allow(dead_code, unreachable_pub)]

use flow::{
    Aggregator, FlowRecord, FlowSource, InterfaceRole, MacAddr, MemberTable, Retention, UnixMillis,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use traffic::{LocalNets, Tally};

pub const T0: u64 = 1_700_000_040; // a minute boundary
pub const MINUTES: u64 = 12;

/// Aggregates and tallies of the data set.
pub fn dataset() -> (Aggregator, Tally) {
    let mut members = MemberTable::new();
    for i in 0..5u8 {
        members.add_member(64500 + u32::from(i), format!("member {i}"));
        members.add_mac(MacAddr([2, 0, 0, 0, 0, i + 1]), 64500 + u32::from(i));
    }
    let router: IpAddr = "127.0.0.10"
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    members.add_router(router, 64502);
    members.set_interface_role(router, 1, InterfaceRole::Ixp);
    members.set_interface_role(router, 2, InterfaceRole::Transit);
    let mut nets = LocalNets::new();
    nets.set_route_server_prefixes((0..5u8).map(|i| {
        (
            format!("198.18.{i}.0/24").parse().unwrap(),
            64500 + u32::from(i),
        )
    }));
    let mut agg = Aggregator::new(Retention::default());
    let mut tally = Tally::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for n in 0..3000u64 {
        // xorshift: deterministic spread over members, sizes and minutes.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let s = u8::try_from(x % 5).unwrap_or(0);
        let d = u8::try_from((x >> 8) % 5).unwrap_or(0);
        let t = T0 + (x >> 16) % (MINUTES * 60);
        let bytes = 64 + (x >> 24) % 1500;
        let v6 = (x >> 40) % 4 == 0;
        let ipfix = n % 7 == 0;
        let (src_ip, dst_ip) = if v6 {
            (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, u16::from(s), 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, u16::from(d), 0, 0, 0, 0, 2)),
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::new(198, 18, s, 1)),
                IpAddr::V4(Ipv4Addr::new(198, 18, d, 2)),
            )
        };
        let r = FlowRecord {
            exporter: if ipfix {
                router
            } else {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            },
            source: FlowSource::Sflow {
                agent: IpAddr::V4(Ipv4Addr::LOCALHOST),
                sub_agent: 0,
                source_id: 0,
            },
            src_mac: (!ipfix).then_some(MacAddr([2, 0, 0, 0, 0, s + 1])),
            dst_mac: (!ipfix).then_some(MacAddr([2, 0, 0, 0, 0, d + 1])),
            src_ip: Some(src_ip),
            dst_ip: Some(dst_ip),
            protocol: Some(6),
            // Every 13th record is a BGP packet between two routers.
            src_port: Some(if n % 13 == 0 { 179 } else { 443 }),
            dst_port: Some(40000),
            bytes: bytes * 100,
            packets: 100,
            sampling_rate: 100,
            ingress_if: ipfix.then_some(3),
            egress_if: ipfix.then_some(if (x >> 50) % 2 == 0 { 1 } else { 2 }),
            vlan: None,
            src_as: None,
            dst_as: None,
            timestamp: UnixMillis(t * 1000),
        };
        let a = members.attribute(&r);
        agg.add(&r, &a);
        tally.add(&r, &a, &nets);
    }
    (agg, tally)
}

/// Writes every minute of the data set into `store`.
pub fn write_all(store: &mut dyn flowstore::Store, agg: &Aggregator, tally: &Tally) {
    for m in 0..MINUTES {
        let start = T0 + m * 60;
        let bucket = agg.minutes().find(|b| b.start == start);
        store
            .write_minute(start, bucket, tally.minute(start))
            .unwrap_or_else(|e| panic!("write minute {start}: {e}"));
    }
}

/// A learned-MAC table for the store tests: `n` routers of members.
pub fn learned_macs(n: u8, seen: u64) -> Vec<flow::LearnedMac> {
    (0..n)
        .map(|i| flow::LearnedMac {
            mac: MacAddr([2, 0, 0, 0, 0x10, i]),
            asn: 64500 + u32::from(i % 5),
            address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i)),
            first_seen: UnixMillis(seen - 60_000),
            last_seen: UnixMillis(seen + u64::from(i)),
            observations: 1 + u64::from(i),
        })
        .collect()
}
