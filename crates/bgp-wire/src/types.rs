//! Address families and prefixes, the vocabulary every other module uses.
//!
//! A [`Prefix`] is always stored in canonical form: the bits past the prefix
//! length are zero. RFC 4271 §4.3 lets a sender put anything in the trailing
//! bits of the last octet; we clear them on decode, so two announcements of
//! the same route compare equal. Re-encoding such a prefix therefore gives the
//! RFC-equivalent canonical bytes, not the received ones.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Address Family Identifier (IANA "Address Family Numbers").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Afi {
    /// IPv4 (1).
    Ipv4,
    /// IPv6 (2).
    Ipv6,
    /// Any other value, kept so that it can be reported or passed on.
    Other(u16),
}

impl Afi {
    /// The IANA code.
    pub fn code(self) -> u16 {
        match self {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
            Afi::Other(c) => c,
        }
    }
}

impl From<u16> for Afi {
    fn from(v: u16) -> Self {
        match v {
            1 => Afi::Ipv4,
            2 => Afi::Ipv6,
            c => Afi::Other(c),
        }
    }
}

/// Subsequent Address Family Identifier (IANA "SAFI Values").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Safi {
    /// Unicast forwarding (1).
    Unicast,
    /// Multicast forwarding (2).
    Multicast,
    /// Any other value.
    Other(u8),
}

impl Safi {
    /// The IANA code.
    pub fn code(self) -> u8 {
        match self {
            Safi::Unicast => 1,
            Safi::Multicast => 2,
            Safi::Other(c) => c,
        }
    }
}

impl From<u8> for Safi {
    fn from(v: u8) -> Self {
        match v {
            1 => Safi::Unicast,
            2 => Safi::Multicast,
            c => Safi::Other(c),
        }
    }
}

/// The two families a route server carries. Other AFI/SAFI pairs are
/// recognised in capabilities and MP attributes but their NLRI stays opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 unicast.
    Ipv4Unicast,
    /// IPv6 unicast.
    Ipv6Unicast,
}

impl Family {
    /// Both families, in a fixed order.
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// The family of an AFI/SAFI pair, if it is one we decode.
    pub fn from_afi_safi(afi: Afi, safi: Safi) -> Option<Family> {
        match (afi, safi) {
            (Afi::Ipv4, Safi::Unicast) => Some(Family::Ipv4Unicast),
            (Afi::Ipv6, Safi::Unicast) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }

    /// AFI of this family.
    pub fn afi(self) -> Afi {
        match self {
            Family::Ipv4Unicast => Afi::Ipv4,
            Family::Ipv6Unicast => Afi::Ipv6,
        }
    }

    /// SAFI of this family.
    pub fn safi(self) -> Safi {
        Safi::Unicast
    }

    /// Index for per-family arrays.
    pub fn index(self) -> usize {
        match self {
            Family::Ipv4Unicast => 0,
            Family::Ipv6Unicast => 1,
        }
    }

    /// Longest prefix length of the family.
    pub fn max_len(self) -> u8 {
        match self {
            Family::Ipv4Unicast => 32,
            Family::Ipv6Unicast => 128,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4Unicast => "ipv4-unicast",
            Family::Ipv6Unicast => "ipv6-unicast",
        })
    }
}

/// A set of families, as negotiated per session (two bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FamilySet(u8);

impl FamilySet {
    /// No family.
    pub const EMPTY: FamilySet = FamilySet(0);
    /// Both families.
    pub const BOTH: FamilySet = FamilySet(0b11);

    /// Whether `f` is in the set.
    pub fn contains(self, f: Family) -> bool {
        self.0 & (1 << f.index()) != 0
    }

    /// Add `f`.
    pub fn insert(&mut self, f: Family) {
        self.0 |= 1 << f.index();
    }

    /// Set with only `f`.
    pub fn only(f: Family) -> FamilySet {
        FamilySet(1 << f.index())
    }

    /// Members of both sets.
    pub fn intersect(self, other: FamilySet) -> FamilySet {
        FamilySet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Iterate over the members.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

/// An IPv4 or IPv6 prefix in canonical form (host bits zero).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prefix {
    /// IPv4: address as a big-endian integer and a length of 0..=32.
    V4(u32, u8),
    /// IPv6: address as a big-endian integer and a length of 0..=128.
    V6(u128, u8),
}

/// A prefix could not be built from the given address and length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixError(pub String);

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PrefixError {}

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

impl Prefix {
    /// An IPv4 prefix; host bits are cleared.
    pub fn v4(addr: Ipv4Addr, len: u8) -> Result<Prefix, PrefixError> {
        if len > 32 {
            return Err(PrefixError(format!("IPv4 prefix length {len} exceeds 32")));
        }
        Ok(Prefix::V4(u32::from(addr) & mask4(len), len))
    }

    /// An IPv6 prefix; host bits are cleared.
    pub fn v6(addr: Ipv6Addr, len: u8) -> Result<Prefix, PrefixError> {
        if len > 128 {
            return Err(PrefixError(format!("IPv6 prefix length {len} exceeds 128")));
        }
        Ok(Prefix::V6(u128::from(addr) & mask6(len), len))
    }

    /// A prefix from any address.
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        match addr {
            IpAddr::V4(a) => Prefix::v4(a, len),
            IpAddr::V6(a) => Prefix::v6(a, len),
        }
    }

    /// Prefix length in bits.
    pub fn len(&self) -> u8 {
        match *self {
            Prefix::V4(_, l) | Prefix::V6(_, l) => l,
        }
    }

    /// True for the default route (length 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        match *self {
            Prefix::V4(a, _) => IpAddr::V4(Ipv4Addr::from(a)),
            Prefix::V6(a, _) => IpAddr::V6(Ipv6Addr::from(a)),
        }
    }

    /// The family of the prefix.
    pub fn family(&self) -> Family {
        match self {
            Prefix::V4(..) => Family::Ipv4Unicast,
            Prefix::V6(..) => Family::Ipv6Unicast,
        }
    }

    /// Whether `self` contains `other` (equal or more specific, same family).
    pub fn contains(&self, other: &Prefix) -> bool {
        match (*self, *other) {
            (Prefix::V4(a, l), Prefix::V4(b, m)) => m >= l && (b & mask4(l)) == a,
            (Prefix::V6(a, l), Prefix::V6(b, m)) => m >= l && (b & mask6(l)) == a,
            _ => false,
        }
    }

    /// Whether `addr` lies inside the prefix.
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        match (*self, addr) {
            (Prefix::V4(a, l), IpAddr::V4(b)) => (u32::from(b) & mask4(l)) == a,
            (Prefix::V6(a, l), IpAddr::V6(b)) => (u128::from(b) & mask6(l)) == a,
            _ => false,
        }
    }

    /// Bytes the prefix takes in NLRI encoding, without a path identifier.
    pub fn wire_len(&self) -> usize {
        1 + usize::from(self.len()).div_ceil(8)
    }

    /// Append the NLRI encoding (length octet, then the significant octets).
    pub fn write(&self, out: &mut Vec<u8>) {
        let len = self.len();
        out.push(len);
        let n = usize::from(len).div_ceil(8);
        match *self {
            Prefix::V4(a, _) => out.extend_from_slice(&a.to_be_bytes()[..n]),
            Prefix::V6(a, _) => out.extend_from_slice(&a.to_be_bytes()[..n]),
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len())
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| PrefixError(format!("{s:?} is not ADDRESS/LENGTH")))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| PrefixError(format!("{a:?} is not an IP address")))?;
        let len: u8 = l
            .parse()
            .map_err(|_| PrefixError(format!("{l:?} is not a prefix length")))?;
        let p = Prefix::new(addr, len)?;
        if p.addr() != addr {
            return Err(PrefixError(format!(
                "{s} has host bits set; did you mean {p}?"
            )));
        }
        Ok(p)
    }
}

/// One NLRI entry: a prefix and its ADD-PATH path identifier (RFC 7911),
/// zero when ADD-PATH is not in use for the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// The prefix.
    pub prefix: Prefix,
    /// Path identifier; 0 without ADD-PATH.
    pub path_id: u32,
}

impl Nlri {
    /// An entry without a path identifier.
    pub fn new(prefix: Prefix) -> Nlri {
        Nlri { prefix, path_id: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_parse_display_round_trip() {
        for s in ["192.0.2.0/24", "0.0.0.0/0", "2001:db8::/32", "10.1.2.3/32"] {
            let p: Prefix = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert!("192.0.2.1/24".parse::<Prefix>().is_err());
        assert!("192.0.2.0/33".parse::<Prefix>().is_err());
        assert!("2001:db8::/129".parse::<Prefix>().is_err());
    }

    #[test]
    fn containment() {
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        let q: Prefix = "192.0.2.128/25".parse().unwrap();
        assert!(p.contains(&q));
        assert!(!q.contains(&p));
        assert!(p.contains(&p));
        let v6: Prefix = "2001:db8::/32".parse().unwrap();
        assert!(!p.contains(&v6));
        assert!(v6.contains_addr("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn wire_encoding() {
        let mut out = Vec::new();
        "192.0.2.0/24".parse::<Prefix>().unwrap().write(&mut out);
        assert_eq!(out, [24, 192, 0, 2]);
        out.clear();
        "0.0.0.0/0".parse::<Prefix>().unwrap().write(&mut out);
        assert_eq!(out, [0]);
        out.clear();
        "2001:db8::/33".parse::<Prefix>().unwrap().write(&mut out);
        assert_eq!(out, [33, 0x20, 0x01, 0x0d, 0xb8, 0]);
    }
}
