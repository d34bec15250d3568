//! Which destinations are local to the territory: prefixes announced at the
//! route server by members (fed from the route server's RIB), and address
//! blocks delegated by the RIRs to the territory's country codes. Route
//! server prefixes win over delegations for the origin ASN, since they say
//! who announces the space today.
//!
//! Lookups are longest-prefix matches over [`flow::members::PrefixTable`]
//! (a hash map per prefix length present): a few probes per address, no
//! extra dependency.

use crate::prefix::Prefix;
use crate::rir::Delegations;
use crate::Asn;
use flow::members::PrefixTable;
use std::collections::HashSet;
use std::net::IpAddr;

/// Why a destination is local.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    /// A member announces it at the route server.
    RouteServer,
    /// An RIR delegated it to one of the territory's country codes.
    Delegation,
}

/// A local destination and the network it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locality {
    /// The origin ASN (route server) or the holder's ASN (delegation), when
    /// known.
    pub asn: Option<Asn>,
    /// Where the answer came from.
    pub via: Via,
}

/// Value stored for a delegated block whose holder has no ASN in the file.
const NO_ASN: Asn = 0;

/// The local destinations of the territory.
#[derive(Debug, Clone, Default)]
pub struct LocalNets {
    route_server: PrefixTable,
    route_server_count: usize,
    delegated: PrefixTable,
    delegated_count: usize,
    delegated_asns: HashSet<Asn>,
}

impl LocalNets {
    /// No local destinations yet.
    pub fn new() -> Self {
        LocalNets::default()
    }

    /// Replaces the route server's prefixes with `prefixes` (prefix, origin
    /// member ASN), as read from its RIB.
    pub fn set_route_server_prefixes<I: IntoIterator<Item = (Prefix, Asn)>>(
        &mut self,
        prefixes: I,
    ) {
        let mut t = PrefixTable::default();
        let mut n = 0;
        for (p, asn) in prefixes {
            // A Prefix always fits its family, so insert cannot fail.
            if t.insert(p.addr(), p.len(), asn).is_ok() {
                n += 1;
            }
        }
        self.route_server = t;
        self.route_server_count = n;
    }

    /// Replaces the delegated blocks with those of `d`.
    pub fn set_delegations(&mut self, d: &Delegations) {
        let holders = d.holder_asns();
        let mut t = PrefixTable::default();
        let mut n = 0;
        for (p, _, id) in &d.prefixes {
            let asn = holders.get(id.as_str()).copied().unwrap_or(NO_ASN);
            if t.insert(p.addr(), p.len(), asn).is_ok() {
                n += 1;
            }
        }
        self.delegated = t;
        self.delegated_count = n;
        self.delegated_asns = d
            .asns
            .iter()
            .flat_map(|(first, count, _, _)| (0..*count).filter_map(move |i| first.checked_add(i)))
            .take(1 << 20)
            .collect();
    }

    /// Numbers of route server prefixes and delegated blocks held.
    pub fn sizes(&self) -> (usize, usize) {
        (self.route_server_count, self.delegated_count)
    }

    /// Whether `asn` is delegated to the territory (a local network, member
    /// or not).
    pub fn is_local_asn(&self, asn: Asn) -> bool {
        self.delegated_asns.contains(&asn)
    }

    /// Whether `addr` is local, and whose it is.
    pub fn lookup(&self, addr: IpAddr) -> Option<Locality> {
        if let Some(asn) = self.route_server.lookup(addr) {
            return Some(Locality {
                asn: Some(asn),
                via: Via::RouteServer,
            });
        }
        self.delegated.lookup(addr).map(|asn| Locality {
            asn: (asn != NO_ASN).then_some(asn),
            via: Via::Delegation,
        })
    }
}
