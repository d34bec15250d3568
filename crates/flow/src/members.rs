//! Attribution of flow records to IXP members.
//!
//! At the IXP fabric (sFlow from the switches) a frame's source and
//! destination MAC addresses name the members' routers. At a member's border
//! router (IPFIX/NetFlow v9) the configuration says which interfaces face
//! the IXP, transit or customers, so the direction of a flow through that
//! router says whether it entered or left the member over the IXP. When
//! neither answers, the members' announced prefixes do (longest match).
//!
//! The table is built from the configuration (the `registry` crate owns
//! parsing it), plus MACs learned from BGP session traffic
//! ([`MemberTable::learn`], see [`crate::learn`]): configured MACs first,
//! then learned ones. Destination prefixes come from the route server's RIB
//! ([`MemberTable::replace_prefixes`]); local-traffic classification is the
//! `traffic` crate's.

use crate::learn::{Learned, MacTable};
use crate::record::{FlowRecord, MacAddr, UnixMillis};
use crate::{FastMap, FastSet};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// An autonomous system number.
pub type Asn = u32;

/// What an interface of a member router connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InterfaceRole {
    /// A port on the IXP peering LAN.
    Ixp,
    /// An upstream transit provider.
    Transit,
    /// A customer or the member's own network.
    Customer,
}

/// Error of [`PrefixTable::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixError {
    /// The address given.
    pub addr: IpAddr,
    /// The length given.
    pub len: u8,
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "prefix {}/{} is too long for its family (at most 32 for IPv4, 128 for IPv6)",
            self.addr, self.len
        )
    }
}

impl std::error::Error for PrefixError {}

/// Longest-prefix match from prefixes to ASNs: one hash map per prefix
/// length present, searched from the longest length down (at most 33 or
/// 129 probes, usually a handful).
#[derive(Debug, Clone, Default)]
pub struct PrefixTable {
    v4: Vec<(u8, FastMap<u128, Asn>)>,
    v6: Vec<(u8, FastMap<u128, Asn>)>,
}

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

fn mask(value: u128, width: u8, len: u8) -> u128 {
    if len == 0 {
        return 0;
    }
    let shift = u32::from(width - len.min(width));
    (value >> shift) << shift
}

impl PrefixTable {
    /// Adds `addr/len` for `asn` (host bits are ignored).
    pub fn insert(&mut self, addr: IpAddr, len: u8, asn: Asn) -> Result<(), PrefixError> {
        let (value, width) = bits(addr);
        if len > width {
            return Err(PrefixError { addr, len });
        }
        let table = if width == 32 {
            &mut self.v4
        } else {
            &mut self.v6
        };
        let key = mask(value, width, len);
        match table.iter_mut().find(|(l, _)| *l == len) {
            Some((_, m)) => {
                m.insert(key, asn);
            }
            None => {
                let mut m = FastMap::default();
                m.insert(key, asn);
                table.push((len, m));
                table.sort_by_key(|e| std::cmp::Reverse(e.0));
            }
        }
        Ok(())
    }

    /// The ASN of the longest prefix covering `addr`.
    pub fn lookup(&self, addr: IpAddr) -> Option<Asn> {
        let (value, width) = bits(addr);
        let table = if width == 32 { &self.v4 } else { &self.v6 };
        table
            .iter()
            .find_map(|(len, m)| m.get(&mask(value, width, *len)).copied())
    }
}

/// A member as the flow collector knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its ASN.
    pub asn: Asn,
    /// Its name, for display.
    pub name: String,
}

/// Who sent and who received a record, and over which interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attribution {
    /// The sending member.
    pub src: Option<Asn>,
    /// The receiving member.
    pub dst: Option<Asn>,
    /// Role of the input interface at a member router.
    pub ingress_role: Option<InterfaceRole>,
    /// Role of the output interface at a member router.
    pub egress_role: Option<InterfaceRole>,
}

/// Hasher of the configured-MAC map, looked up twice per flow record: the
/// six octets multiplied once (SipHash costs several times that). Not
/// keyed, on purpose and safely: the map holds only configured MACs, so
/// whoever sends samples cannot make its entries collide, and looking up
/// any MAC costs one probe sequence. Learned MACs are in [`MacTable`].
#[derive(Debug, Clone, Copy, Default)]
struct MacHasher(u64);

impl std::hash::Hasher for MacHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    }
}

type MacMap = HashMap<MacAddr, Asn, std::hash::BuildHasherDefault<MacHasher>>;

/// Members and what identifies them in flow data.
#[derive(Debug, Clone, Default)]
pub struct MemberTable {
    members: FastMap<Asn, Member>,
    macs: MacMap,
    routers: FastMap<IpAddr, Asn>,
    interfaces: FastMap<(IpAddr, u32), InterfaceRole>,
    prefixes: PrefixTable,
    sessions: FastMap<IpAddr, Asn>,
    route_servers: FastSet<IpAddr>,
    learned: MacTable,
}

/// A MAC learned (or seen again) by [`MemberTable::learn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacEvent {
    /// The MAC.
    pub mac: MacAddr,
    /// The member it is now attributed to.
    pub asn: Asn,
    /// What changed.
    pub what: Learned,
}

impl MemberTable {
    /// An empty table.
    pub fn new() -> Self {
        MemberTable::default()
    }

    /// Adds (or renames) a member.
    pub fn add_member(&mut self, asn: Asn, name: impl Into<String>) {
        self.members.insert(
            asn,
            Member {
                asn,
                name: name.into(),
            },
        );
    }

    /// The member with this ASN.
    pub fn member(&self, asn: Asn) -> Option<&Member> {
        self.members.get(&asn)
    }

    /// Every member.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// Says that frames from or to `mac` belong to `asn` (a router port on
    /// the peering LAN). A configured MAC replaces a learned one.
    pub fn add_mac(&mut self, mac: MacAddr, asn: Asn) {
        self.macs.insert(mac, asn);
        self.learned.forget(mac);
    }

    /// Says that `addr` is a BGP session address of `asn` on the peering
    /// LAN (the member's `ipv4`/`ipv6` in the configuration).
    pub fn add_session_address(&mut self, addr: IpAddr, asn: Asn) {
        self.sessions.insert(addr, asn);
    }

    /// Says that `addr` is an address of the route server on the peering
    /// LAN.
    pub fn add_route_server(&mut self, addr: IpAddr) {
        self.route_servers.insert(addr);
    }

    /// The member whose session address `addr` is.
    pub fn by_session_address(&self, addr: IpAddr) -> Option<Asn> {
        self.sessions.get(&addr).copied()
    }

    /// Learns router MACs from a BGP session packet (TCP port 179) between
    /// a member's session address and the route server or another
    /// member's session address: the source MAC of what the member sent,
    /// the destination MAC of what it received. Configured MACs are never
    /// overridden. Returns what changed (at most one event per end).
    pub fn learn(&mut self, r: &FlowRecord) -> Vec<MacEvent> {
        let mut out = Vec::new();
        if !r.is_bgp() {
            return out;
        }
        for (mac, ip, peer) in [
            (r.src_mac, r.src_ip, r.dst_ip),
            (r.dst_mac, r.dst_ip, r.src_ip),
        ] {
            let (Some(mac), Some(ip), Some(peer)) = (mac, ip, peer) else {
                continue;
            };
            let Some(asn) = self.by_session_address(ip) else {
                continue;
            };
            let peer_ok = self.route_servers.contains(&peer)
                || self.by_session_address(peer).is_some_and(|p| p != asn);
            if !peer_ok || self.macs.contains_key(&mac) {
                continue;
            }
            if let Some(what) = self.learned.observe(mac, asn, ip, r.timestamp) {
                out.push(MacEvent { mac, asn, what });
            }
        }
        out
    }

    /// Takes over what `old` gathered at run time: the route server's
    /// prefixes and the learned MACs (except those now configured). For a
    /// table rebuilt from a reloaded configuration.
    pub fn carry_over(&mut self, old: &MemberTable) {
        self.prefixes = old.prefixes.clone();
        self.learned = old.learned.clone();
        for mac in self.macs.keys() {
            self.learned.forget(*mac);
        }
    }

    /// Puts back learned MACs saved earlier, except those now configured
    /// and those of members no longer in the table.
    pub fn restore_learned(&mut self, saved: impl IntoIterator<Item = crate::learn::LearnedMac>) {
        let keep: Vec<_> = saved
            .into_iter()
            .filter(|e| !self.macs.contains_key(&e.mac) && self.members.contains_key(&e.asn))
            .collect();
        self.learned.restore(keep);
    }

    /// The MACs learned so far.
    pub fn learned(&self) -> &MacTable {
        &self.learned
    }

    /// The configured MACs and their members.
    pub fn configured_macs(&self) -> impl Iterator<Item = (MacAddr, Asn)> + '_ {
        self.macs.iter().map(|(m, a)| (*m, *a))
    }

    /// Drops learned MACs last seen before `cutoff`.
    pub fn expire_learned(&mut self, cutoff: UnixMillis) {
        self.learned.expire(cutoff);
    }

    /// Says that flow exports from `exporter` come from a router of `asn`.
    pub fn add_router(&mut self, exporter: IpAddr, asn: Asn) {
        self.routers.insert(exporter, asn);
    }

    /// The member owning the exporting router `exporter`, if configured.
    pub fn router_owner(&self, exporter: IpAddr) -> Option<Asn> {
        self.routers.get(&exporter).copied()
    }

    /// Whether `asn` has an exporting border router configured.
    pub fn has_router(&self, asn: Asn) -> bool {
        self.routers.values().any(|a| *a == asn)
    }

    /// Gives an interface of an exporting router its role.
    pub fn set_interface_role(&mut self, exporter: IpAddr, if_index: u32, role: InterfaceRole) {
        self.interfaces.insert((exporter, if_index), role);
    }

    /// Says that `addr/len` is announced by `asn`.
    pub fn add_prefix(&mut self, addr: IpAddr, len: u8, asn: Asn) -> Result<(), PrefixError> {
        self.prefixes.insert(addr, len, asn)
    }

    /// Replaces every prefix with those of `prefixes` (the route server's
    /// RIB, refreshed); everything else is kept.
    pub fn replace_prefixes(&mut self, prefixes: PrefixTable) {
        self.prefixes = prefixes;
    }

    /// The member owning a MAC address: configured, else learned.
    pub fn by_mac(&self, mac: MacAddr) -> Option<Asn> {
        self.macs
            .get(&mac)
            .copied()
            .or_else(|| self.learned.get(mac))
    }

    /// The role of an interface of an exporter.
    pub fn interface_role(&self, exporter: IpAddr, if_index: u32) -> Option<InterfaceRole> {
        self.interfaces.get(&(exporter, if_index)).copied()
    }

    /// Attributes a record: MACs first (configured, then learned), then
    /// the exporting router's interface roles, then prefixes.
    pub fn attribute(&self, r: &FlowRecord) -> Attribution {
        let mut a = Attribution {
            src: r.src_mac.and_then(|m| self.by_mac(m)),
            dst: r.dst_mac.and_then(|m| self.by_mac(m)),
            ingress_role: r
                .ingress_if
                .and_then(|i| self.interface_role(r.exporter, i)),
            egress_role: r.egress_if.and_then(|i| self.interface_role(r.exporter, i)),
        };
        if let Some(&owner) = self.routers.get(&r.exporter) {
            // Traffic leaving the owner over the IXP was sent by the owner;
            // traffic arriving from the IXP is received by it.
            if a.egress_role == Some(InterfaceRole::Ixp)
                && a.ingress_role != Some(InterfaceRole::Ixp)
            {
                a.src = a.src.or(Some(owner));
            }
            if a.ingress_role == Some(InterfaceRole::Ixp)
                && a.egress_role != Some(InterfaceRole::Ixp)
            {
                a.dst = a.dst.or(Some(owner));
            }
        }
        if a.src.is_none() {
            a.src = r.src_ip.and_then(|ip| self.prefixes.lookup(ip));
        }
        if a.dst.is_none() {
            a.dst = r.dst_ip.and_then(|ip| self.prefixes.lookup(ip));
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many configured MACs, differing in any octet, each found with its
    /// member; MACs not configured are not.
    #[test]
    fn configured_macs_found_by_the_mac_hasher() {
        let mut t = MemberTable::new();
        let mac = |i: u32, at: usize| {
            let mut m = [0x02, 0, 0, 0, 0, 0];
            if let Some(o) = m.get_mut(at) {
                *o = (i % 251) as u8 + 1;
            }
            if let Some(o) = m.get_mut(1 + (at + 1) % 5) {
                *o ^= (i / 251) as u8;
            }
            MacAddr(m)
        };
        let mut want = HashMap::new();
        for i in 0..1500u32 {
            let m = mac(i, 1 + (i as usize % 5));
            t.add_mac(m, 64_512 + i);
            want.insert(m, 64_512 + i);
        }
        for (m, asn) in &want {
            assert_eq!(t.by_mac(*m), Some(*asn), "{m}");
        }
        assert_eq!(
            t.by_mac(MacAddr([0x02, 0xff, 0xff, 0xff, 0xff, 0xff])),
            None
        );
        assert_eq!(t.configured_macs().count(), want.len());
    }
}
