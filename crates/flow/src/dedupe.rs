//! Counting each packet once when the same traffic is exported twice.
//!
//! An IXP may collect both sFlow from its switches (the fabric) and
//! IPFIX/NetFlow v9 from members' border routers. A packet from member A to
//! member B over the peering LAN is then seen up to three times: sampled by
//! the fabric, in A's router export (output on its IXP port) and in B's
//! (input on its IXP port). Totals, the member matrix and the local share
//! must count it once, so [`Dedupe::judge`] picks one view per packet:
//!
//! - **the fabric counts what crosses the IXP** when sFlow is collected:
//!   router records with an input or output interface whose role is the
//!   IXP are left out (the switches saw those packets);
//! - **without a fabric view, the sender's router counts** IXP traffic:
//!   a record of traffic *received* over the IXP port (input role IXP) is
//!   left out when the sending member also exports from a configured
//!   router, whose output record counts it;
//! - everything else counts: the fabric's samples, router records on
//!   transit and customer ports (tromboning is only visible there), and
//!   exports from exporters that are not configured routers.
//!
//! Separately, [`Dedupe::crossed_ixp`] says whether a counted record is
//! IXP traffic at all: a member router's record of traffic that used none
//! of its IXP ports (customer to transit, say) counts towards the local
//! share and tromboning, but not in the members' IXP figures or the
//! matrix, even when both ends are members' prefixes.
//!
//! The judgement needs the record's attribution (interface roles, the
//! sending member), so it runs after [`crate::MemberTable::attribute`].
//! It assumes the fabric's sFlow covers every member port when it is
//! collected at all; an IXP that samples only some switches should not
//! configure member routers' IXP ports as `ixp`.

use crate::members::{Attribution, InterfaceRole, MemberTable};
use crate::record::{FlowRecord, FlowSource};

/// Whether a record counts, and if not, which view counts its packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seen {
    /// Counted.
    Counted,
    /// A router record of IXP traffic, counted by the fabric's sFlow.
    ByFabric,
    /// A router record of traffic received over the IXP, counted by the
    /// sending member's router.
    BySender,
}

impl Seen {
    /// Label for metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Seen::Counted => "counted",
            Seen::ByFabric => "fabric",
            Seen::BySender => "sender_router",
        }
    }
}

/// The deduplication policy of a collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dedupe {
    /// sFlow from the IXP's switches is collected.
    pub fabric: bool,
}

impl Dedupe {
    /// Which view counts the packets of `r` (attributed as `a`).
    pub fn judge(&self, members: &MemberTable, r: &FlowRecord, a: &Attribution) -> Seen {
        if matches!(r.source, FlowSource::Sflow { .. }) {
            return Seen::Counted;
        }
        let Some(owner) = members.router_owner(r.exporter) else {
            return Seen::Counted;
        };
        let ixp_in = a.ingress_role == Some(InterfaceRole::Ixp);
        let ixp_out = a.egress_role == Some(InterfaceRole::Ixp);
        if self.fabric && (ixp_in || ixp_out) {
            return Seen::ByFabric;
        }
        if ixp_in && !ixp_out {
            if let Some(src) = a.src {
                if src != owner && members.has_router(src) {
                    return Seen::BySender;
                }
            }
        }
        Seen::Counted
    }

    /// Whether `r` crossed the IXP: every fabric sample and every record
    /// of an exporter that is not a configured router does; a router's
    /// record does when its input or output port has the IXP role.
    pub fn crossed_ixp(&self, members: &MemberTable, r: &FlowRecord, a: &Attribution) -> bool {
        if matches!(r.source, FlowSource::Sflow { .. })
            || members.router_owner(r.exporter).is_none()
        {
            return true;
        }
        a.ingress_role == Some(InterfaceRole::Ixp) || a.egress_role == Some(InterfaceRole::Ixp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{MacAddr, UnixMillis};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    /// A and B export from their routers; C does not.
    fn table() -> MemberTable {
        let mut m = MemberTable::new();
        for (asn, mac, router) in [
            (1, 1, Some("10.0.0.1")),
            (2, 2, Some("10.0.0.2")),
            (3, 3, None),
        ] {
            m.add_member(asn, format!("AS{asn}"));
            m.add_mac(MacAddr([2, 0, 0, 0, 0, mac]), asn);
            if let Some(r) = router {
                m.add_router(ip(r), asn);
                m.set_interface_role(ip(r), 10, InterfaceRole::Ixp);
                m.set_interface_role(ip(r), 20, InterfaceRole::Transit);
                m.set_interface_role(ip(r), 30, InterfaceRole::Customer);
            }
        }
        m
    }

    fn rec(exporter: &str, src_mac: u8, dst_mac: u8, input: u32, output: u32) -> FlowRecord {
        FlowRecord {
            exporter: ip(exporter),
            source: FlowSource::Ipfix {
                domain: 0,
                template: 256,
            },
            src_mac: Some(MacAddr([2, 0, 0, 0, 0, src_mac])),
            dst_mac: Some(MacAddr([2, 0, 0, 0, 0, dst_mac])),
            src_ip: Some(ip("198.51.100.1")),
            dst_ip: Some(ip("203.0.113.1")),
            protocol: Some(17),
            src_port: Some(1),
            dst_port: Some(2),
            bytes: 1000,
            packets: 1,
            sampling_rate: 1,
            ingress_if: Some(input),
            egress_if: Some(output),
            vlan: None,
            src_as: None,
            dst_as: None,
            timestamp: UnixMillis(0),
        }
    }

    fn judge(d: Dedupe, r: &FlowRecord) -> Seen {
        let m = table();
        let a = m.attribute(r);
        d.judge(&m, r, &a)
    }

    #[test]
    fn with_a_fabric_view_router_records_of_ixp_ports_are_left_out() {
        let d = Dedupe { fabric: true };
        // A to B over the IXP, from A's router and from B's.
        assert_eq!(judge(d, &rec("10.0.0.1", 1, 2, 30, 10)), Seen::ByFabric);
        assert_eq!(judge(d, &rec("10.0.0.2", 1, 2, 10, 30)), Seen::ByFabric);
        // Transit and customer ports stay: the fabric never sees them.
        assert_eq!(judge(d, &rec("10.0.0.1", 1, 9, 30, 20)), Seen::Counted);
        assert_eq!(judge(d, &rec("10.0.0.1", 9, 1, 20, 30)), Seen::Counted);
        // An exporter that is no configured router counts.
        assert_eq!(judge(d, &rec("10.0.0.9", 1, 2, 30, 10)), Seen::Counted);
    }

    #[test]
    fn without_a_fabric_view_the_senders_router_counts() {
        let d = Dedupe { fabric: false };
        // A to B: A's output record counts, B's input record does not.
        assert_eq!(judge(d, &rec("10.0.0.1", 1, 2, 30, 10)), Seen::Counted);
        assert_eq!(judge(d, &rec("10.0.0.2", 1, 2, 10, 30)), Seen::BySender);
        // C to B: C exports nothing, so B's input record counts.
        assert_eq!(judge(d, &rec("10.0.0.2", 3, 2, 10, 30)), Seen::Counted);
        // An unknown sender on the IXP port counts too.
        assert_eq!(judge(d, &rec("10.0.0.2", 9, 2, 10, 30)), Seen::Counted);
    }

    #[test]
    fn only_ixp_ports_make_ixp_traffic() {
        let d = Dedupe::default();
        let m = table();
        let ixp = |r: &FlowRecord| d.crossed_ixp(&m, r, &m.attribute(r));
        assert!(ixp(&rec("10.0.0.1", 1, 2, 30, 10)));
        assert!(ixp(&rec("10.0.0.1", 2, 1, 10, 30)));
        // Customer to transit: the local share's business, not the IXP's.
        assert!(!ixp(&rec("10.0.0.1", 1, 9, 30, 20)));
        assert!(!ixp(&rec("10.0.0.1", 9, 1, 20, 30)));
        // Unknown exporters keep the old behaviour.
        assert!(ixp(&rec("10.0.0.9", 1, 9, 30, 20)));
    }

    #[test]
    fn sflow_samples_always_count() {
        let mut r = rec("10.0.0.1", 1, 2, 30, 10);
        r.source = FlowSource::Sflow {
            agent: ip("10.0.0.1"),
            sub_agent: 0,
            source_id: 1,
        };
        assert_eq!(judge(Dedupe { fabric: true }, &r), Seen::Counted);
    }
}
