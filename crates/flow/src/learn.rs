//! MAC addresses learned from BGP session traffic on the peering LAN.
//!
//! Members' router MACs change (a new router, a new line card) more often
//! than operators update the configuration. Every member keeps a BGP
//! session with the route server from an address the configuration knows
//! (the member's `ipv4`/`ipv6` session addresses), so a sampled TCP port
//! 179 packet between such an address and the route server, or between two
//! members' session addresses (a bilateral session), names the member's
//! router MAC: the source MAC of a packet the member sent, the destination
//! MAC of a packet sent to it. [`MacTable`] keeps what was learned so
//! attribution can use it for samples whose MACs are not configured.
//!
//! Rules: configured MACs always win (a learned entry never overrides
//! one); group (multicast, broadcast) and all-zero MACs are never learned;
//! when a MAC is seen again from another member's address, the newer
//! observation wins (the port moved) and the move is reported. Learned
//! entries not seen for a while can be dropped with [`MacTable::expire`].
//! At IXP sampling rates a session's packets are sampled rarely (a
//! KEEPALIVE every 30 s at 1 in 16,384 is a sample every few days), so the
//! binary stores the table and [`MacTable::restore`]s it at start.
//!
//! Not here: deciding which addresses are session addresses (the
//! configuration, through [`crate::MemberTable`]), and storage.

use crate::members::Asn;
use crate::record::{MacAddr, UnixMillis};
use crate::FastMap;
use std::net::IpAddr;

/// A MAC learned from BGP session traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnedMac {
    /// The MAC.
    pub mac: MacAddr,
    /// The member it belongs to.
    pub asn: Asn,
    /// The member's session address it was seen with (last time).
    pub address: IpAddr,
    /// First observation (record time).
    pub first_seen: UnixMillis,
    /// Last observation (record time).
    pub last_seen: UnixMillis,
    /// Observations (samples or flow records) that named it.
    pub observations: u64,
}

/// What an observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// A MAC not known before.
    New,
    /// A known MAC seen again for the same member.
    Refreshed,
    /// A known MAC now seen for another member (it was `from`'s).
    Moved {
        /// The member it belonged to before.
        from: Asn,
    },
}

/// Whether a MAC may name one router: not a group address (the I/G bit of
/// the first octet, IEEE 802 §8.2) and not all zeros.
pub fn is_unicast(mac: MacAddr) -> bool {
    mac.0[0] & 1 == 0 && mac.0 != [0; 6]
}

/// The learned MACs.
#[derive(Debug, Clone, Default)]
pub struct MacTable {
    entries: FastMap<MacAddr, LearnedMac>,
}

impl MacTable {
    /// An empty table.
    pub fn new() -> Self {
        MacTable::default()
    }

    /// Records that `mac` was seen for `asn` with session address
    /// `address` at `at`. Group and zero MACs are ignored (None).
    pub fn observe(
        &mut self,
        mac: MacAddr,
        asn: Asn,
        address: IpAddr,
        at: UnixMillis,
    ) -> Option<Learned> {
        if !is_unicast(mac) {
            return None;
        }
        let e = self.entries.entry(mac).or_insert(LearnedMac {
            mac,
            asn,
            address,
            first_seen: at,
            last_seen: at,
            observations: 0,
        });
        let what = if e.observations == 0 {
            Learned::New
        } else if e.asn != asn {
            // Samples may arrive out of order: an older observation of
            // the previous owner does not move it back.
            if at < e.last_seen {
                e.observations = e.observations.saturating_add(1);
                return Some(Learned::Refreshed);
            }
            let from = e.asn;
            *e = LearnedMac {
                mac,
                asn,
                address,
                first_seen: at,
                last_seen: at,
                observations: 0,
            };
            Learned::Moved { from }
        } else {
            Learned::Refreshed
        };
        e.observations = e.observations.saturating_add(1);
        e.first_seen = e.first_seen.min(at);
        if at >= e.last_seen {
            e.last_seen = at;
            e.address = address;
        }
        Some(what)
    }

    /// The member a learned MAC belongs to.
    pub fn get(&self, mac: MacAddr) -> Option<Asn> {
        self.entries.get(&mac).map(|e| e.asn)
    }

    /// Every learned MAC, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &LearnedMac> {
        self.entries.values()
    }

    /// Number of learned MACs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops entries last seen before `cutoff`.
    pub fn expire(&mut self, cutoff: UnixMillis) {
        self.entries.retain(|_, e| e.last_seen >= cutoff);
    }

    /// Puts back entries saved earlier; an entry already known keeps the
    /// newer of the two.
    pub fn restore(&mut self, saved: impl IntoIterator<Item = LearnedMac>) {
        for e in saved {
            if !is_unicast(e.mac) {
                continue;
            }
            match self.entries.get(&e.mac) {
                Some(have) if have.last_seen >= e.last_seen => {}
                _ => {
                    self.entries.insert(e.mac, e);
                }
            }
        }
    }

    /// Drops what was learned for `mac` (it became configured).
    pub fn forget(&mut self, mac: MacAddr) {
        self.entries.remove(&mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(last: u8) -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, last])
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn learns_refreshes_and_moves() {
        let mut t = MacTable::new();
        let a = ip("192.0.2.11");
        assert_eq!(
            t.observe(mac(1), 65001, a, UnixMillis(1000)),
            Some(Learned::New)
        );
        assert_eq!(
            t.observe(mac(1), 65001, a, UnixMillis(2000)),
            Some(Learned::Refreshed)
        );
        assert_eq!(t.get(mac(1)), Some(65001));
        // An older sample of another member does not move it.
        assert_eq!(
            t.observe(mac(1), 65002, ip("192.0.2.12"), UnixMillis(1500)),
            Some(Learned::Refreshed)
        );
        assert_eq!(t.get(mac(1)), Some(65001));
        assert_eq!(
            t.observe(mac(1), 65002, ip("192.0.2.12"), UnixMillis(3000)),
            Some(Learned::Moved { from: 65001 })
        );
        let e = t.iter().next().copied();
        assert_eq!(
            e.map(|e| (e.asn, e.address, e.first_seen, e.last_seen, e.observations)),
            Some((
                65002,
                ip("192.0.2.12"),
                UnixMillis(3000),
                UnixMillis(3000),
                1
            ))
        );
    }

    #[test]
    fn group_and_zero_macs_are_never_learned() {
        let mut t = MacTable::new();
        let a = ip("192.0.2.11");
        for m in [
            MacAddr([0xff; 6]),
            MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]),
            MacAddr([0x33, 0x33, 0, 0, 0, 1]),
            MacAddr([0; 6]),
        ] {
            assert_eq!(t.observe(m, 65001, a, UnixMillis(1)), None, "{m}");
        }
        assert!(t.is_empty());
    }

    #[test]
    fn restore_keeps_the_newer_entry() {
        let mut t = MacTable::new();
        let a = ip("192.0.2.11");
        t.observe(mac(1), 65001, a, UnixMillis(5000));
        let saved = |m: u8, asn: u32, last: u64| LearnedMac {
            mac: mac(m),
            asn,
            address: a,
            first_seen: UnixMillis(1),
            last_seen: UnixMillis(last),
            observations: 3,
        };
        t.restore([
            saved(1, 65009, 4000),
            saved(2, 65002, 4000),
            LearnedMac {
                mac: MacAddr([0xff; 6]),
                ..saved(3, 65003, 1)
            },
        ]);
        assert_eq!((t.get(mac(1)), t.get(mac(2))), (Some(65001), Some(65002)));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn expiry_and_forget() {
        let mut t = MacTable::new();
        let a = ip("192.0.2.11");
        t.observe(mac(1), 65001, a, UnixMillis(1000));
        t.observe(mac(2), 65001, a, UnixMillis(5000));
        t.expire(UnixMillis(2000));
        assert_eq!((t.get(mac(1)), t.get(mac(2))), (None, Some(65001)));
        t.forget(mac(2));
        assert_eq!(t.len(), 0);
    }
}
