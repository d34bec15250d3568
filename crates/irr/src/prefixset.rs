//! A set of registered prefixes answering "is this route covered?".
//!
//! IXP prefix filters built from IRR data accept a route when its prefix
//! equals a registered prefix or is more specific than one, up to a
//! length limit per family (by default the family's full length, 32 or
//! 128; the IXP's own maximum length is a separate policy check).
//!
//! The set is stored compactly, because a route server holds one per
//! member and a large member registers hundreds of thousands of route
//! objects: per family and registered length a sorted array of addresses
//! (4 bytes per IPv4 prefix; 8 per IPv6 prefix up to /64, 16 beyond), with
//! the lengths and their ranges in a small table beside it. A lookup takes
//! the registered lengths that are not longer than the route and binary
//! searches the route's address truncated to each of them. Prefixes that
//! are not in canonical form (host bits set, or a length beyond the
//! family's) are kept aside: they are counted and listed, and, as they can
//! equal no truncated address, never cover anything.
//!
//! Building a set sorts its prefixes once ([`PrefixSetBuilder`]); the set
//! is immutable afterwards.

use bgp_wire::Prefix;

/// Addresses of one family, sorted per registered length.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Table<T> {
    /// All addresses, grouped by length (ascending), sorted within.
    addrs: Box<[T]>,
    /// (length, end of its group in `addrs`), ascending length.
    lens: Box<[(u8, usize)]>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            addrs: Box::default(),
            lens: Box::default(),
        }
    }
}

impl<T: Ord + Copy> Table<T> {
    /// From (length, address) pairs sorted by length, then address, and
    /// without duplicates.
    fn from_sorted(sorted: impl IntoIterator<Item = (u8, T)>) -> Table<T> {
        let mut addrs = Vec::new();
        let mut lens: Vec<(u8, usize)> = Vec::new();
        for (len, a) in sorted {
            addrs.push(a);
            match lens.last_mut() {
                Some((l, end)) if *l == len => *end = addrs.len(),
                _ => lens.push((len, addrs.len())),
            }
        }
        Table {
            addrs: addrs.into_boxed_slice(),
            lens: lens.into_boxed_slice(),
        }
    }

    /// True when, for a registered length not longer than `max`, the
    /// address `key(length)` is registered.
    fn any(&self, max: u8, key: impl Fn(u8) -> T) -> bool {
        let mut start = 0;
        for &(len, end) in self.lens.iter() {
            if len > max {
                break;
            }
            let group = self.addrs.get(start..end).unwrap_or_default();
            if group.binary_search(&key(len)).is_ok() {
                return true;
            }
            start = end;
        }
        false
    }

    /// (length, address) of every entry.
    fn iter(&self) -> impl Iterator<Item = (u8, T)> + '_ {
        let mut start = 0;
        self.lens.iter().flat_map(move |&(len, end)| {
            let group = self.addrs.get(start..end).unwrap_or_default();
            start = end;
            group.iter().map(move |a| (len, *a))
        })
    }
}

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// Registered prefixes with "or more specific up to `max_len`" semantics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixSet {
    v4: Table<u32>,
    /// IPv6 prefixes up to /64: the upper 64 bits of the address.
    v6_short: Table<u64>,
    /// IPv6 prefixes longer than /64.
    v6_long: Table<u128>,
    /// Prefixes not in canonical form, sorted; they never cover a route.
    odd: Box<[Prefix]>,
    max_len_v4: u8,
    max_len_v6: u8,
}

/// Collects prefixes for a [`PrefixSet`]: 8 bytes per IPv4 prefix until
/// [`PrefixSetBuilder::build`] sorts them into the set.
#[derive(Clone, Debug, Default)]
pub struct PrefixSetBuilder {
    /// Length in bits 32..40, address in bits 0..32: sorts by length,
    /// then address.
    v4: Vec<u64>,
    v6_short: Vec<(u8, u64)>,
    v6_long: Vec<(u8, u128)>,
    odd: Vec<Prefix>,
}

impl PrefixSetBuilder {
    /// An empty builder.
    pub fn new() -> PrefixSetBuilder {
        PrefixSetBuilder::default()
    }

    /// Adds one prefix (duplicates are fine).
    pub fn push(&mut self, p: Prefix) {
        match p {
            Prefix::V4(a, len) if len <= 32 && a & !mask4(len) == 0 => {
                self.v4.push(u64::from(len) << 32 | u64::from(a));
            }
            Prefix::V6(a, len) if len <= 64 && a & !mask6(len) == 0 => {
                // The lower 64 bits are zero: the upper ones say it all.
                self.v6_short.push((len, (a >> 64) as u64));
            }
            Prefix::V6(a, len) if len <= 128 && a & !mask6(len) == 0 => {
                self.v6_long.push((len, a));
            }
            odd => self.odd.push(odd),
        }
    }

    /// Number of prefixes pushed so far (with duplicates).
    pub fn pushed(&self) -> usize {
        self.v4.len() + self.v6_short.len() + self.v6_long.len() + self.odd.len()
    }

    /// The set, accepting more specifics up to `max_len_v4` /
    /// `max_len_v6`.
    pub fn build(self, max_len_v4: u8, max_len_v6: u8) -> PrefixSet {
        let PrefixSetBuilder {
            mut v4,
            mut v6_short,
            mut v6_long,
            mut odd,
        } = self;
        v4.sort_unstable();
        v4.dedup();
        let v4_table = Table::from_sorted(v4.iter().map(|k| ((k >> 32) as u8, *k as u32)));
        drop(v4);
        v6_short.sort_unstable();
        v6_short.dedup();
        v6_long.sort_unstable();
        v6_long.dedup();
        odd.sort_unstable();
        odd.dedup();
        PrefixSet {
            v4: v4_table,
            v6_short: Table::from_sorted(v6_short),
            v6_long: Table::from_sorted(v6_long),
            odd: odd.into_boxed_slice(),
            max_len_v4: max_len_v4.min(32),
            max_len_v6: max_len_v6.min(128),
        }
    }
}

impl Extend<Prefix> for PrefixSetBuilder {
    fn extend<I: IntoIterator<Item = Prefix>>(&mut self, iter: I) {
        for p in iter {
            self.push(p);
        }
    }
}

impl PrefixSet {
    /// A set accepting more specifics up to /32 and /128.
    pub fn new(prefixes: impl IntoIterator<Item = Prefix>) -> PrefixSet {
        PrefixSet::with_limits(prefixes, 32, 128)
    }

    /// A set accepting more specifics up to `max_len_v4` / `max_len_v6`.
    pub fn with_limits(
        prefixes: impl IntoIterator<Item = Prefix>,
        max_len_v4: u8,
        max_len_v6: u8,
    ) -> PrefixSet {
        let mut b = PrefixSetBuilder::new();
        b.extend(prefixes);
        b.build(max_len_v4, max_len_v6)
    }

    /// True when `p` is a registered prefix or a more specific of one, not
    /// longer than the family's limit.
    pub fn covers(&self, p: &Prefix) -> bool {
        match *p {
            Prefix::V4(a, len) => len <= self.max_len_v4 && self.v4.any(len, |l| a & mask4(l)),
            Prefix::V6(a, len) => {
                if len > self.max_len_v6 {
                    return false;
                }
                let hi = (a >> 64) as u64;
                self.v6_short.any(len, |l| hi & (mask6(l) >> 64) as u64)
                    || (len > 64 && self.v6_long.any(len, |l| a & mask6(l)))
            }
        }
    }

    /// Number of registered prefixes.
    pub fn len(&self) -> usize {
        self.v4.addrs.len() + self.v6_short.addrs.len() + self.v6_long.addrs.len() + self.odd.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The registered prefixes, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = Prefix> + '_ {
        let v4 = self.v4.iter().map(|(l, a)| Prefix::V4(a, l));
        let short = self
            .v6_short
            .iter()
            .map(|(l, a)| Prefix::V6(u128::from(a) << 64, l));
        let long = self.v6_long.iter().map(|(l, a)| Prefix::V6(a, l));
        v4.chain(short).chain(long).chain(self.odd.iter().copied())
    }

    /// The registered prefixes, sorted.
    pub fn prefixes(&self) -> Vec<Prefix> {
        let mut v: Vec<Prefix> = self.iter().collect();
        v.sort_unstable();
        v
    }

    /// Heap bytes held by the set (its arrays), for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.v4.addrs.len() * size_of::<u32>()
            + self.v6_short.addrs.len() * size_of::<u64>()
            + self.v6_long.addrs.len() * size_of::<u128>()
            + (self.v4.lens.len() + self.v6_short.lens.len() + self.v6_long.lens.len())
                * size_of::<(u8, usize)>()
            + self.odd.len() * size_of::<Prefix>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn exact_and_more_specific() {
        let s = PrefixSet::new([p("192.0.2.0/24"), p("10.0.0.0/8"), p("2001:db8::/32")]);
        assert!(s.covers(&p("192.0.2.0/24")));
        assert!(s.covers(&p("192.0.2.128/25")));
        assert!(s.covers(&p("192.0.2.1/32")));
        assert!(!s.covers(&p("192.0.0.0/16")));
        assert!(!s.covers(&p("198.51.100.0/24")));
        assert!(s.covers(&p("10.20.0.0/16")));
        assert!(s.covers(&p("2001:db8:ff::/48")));
        assert!(!s.covers(&p("2001:db9::/48")));
        assert!(!s.covers(&p("::/0")));
    }

    #[test]
    fn length_limit() {
        let s = PrefixSet::with_limits([p("192.0.2.0/24"), p("2001:db8::/32")], 24, 48);
        assert!(s.covers(&p("192.0.2.0/24")));
        assert!(!s.covers(&p("192.0.2.0/25")));
        assert!(s.covers(&p("2001:db8:1::/48")));
        assert!(!s.covers(&p("2001:db8:1::/49")));
    }

    #[test]
    fn long_ipv6_default_route_and_odd_prefixes() {
        let s = PrefixSet::new([
            p("2001:db8:0:1:8000::/65"),
            p("2001:db8::1/128"),
            p("0.0.0.0/0"),
            Prefix::V4(0x0a00_0001, 8), // host bits set
            Prefix::V4(0x0a00_0000, 40),
        ]);
        assert_eq!(s.len(), 5);
        assert!(s.covers(&p("2001:db8:0:1:8000::/65")));
        assert!(s.covers(&p("2001:db8:0:1:8000::1/128")));
        assert!(!s.covers(&p("2001:db8:0:1::/65")));
        assert!(!s.covers(&p("2001:db8:0:1::/64")));
        assert!(s.covers(&p("2001:db8::1/128")));
        assert!(!s.covers(&p("2001:db8::2/128")));
        // 0.0.0.0/0 covers every IPv4 route, and nothing of IPv6.
        assert!(s.covers(&p("10.0.0.1/32")));
        assert!(!s.covers(&p("2001:db8::/32")));
        assert!(s.prefixes().contains(&Prefix::V4(0x0a00_0001, 8)));
        assert_eq!(s.iter().count(), 5);
    }

    #[test]
    fn duplicates_and_equality() {
        let a = PrefixSet::new([p("192.0.2.0/24"), p("192.0.2.0/24"), p("2001:db8::/32")]);
        let b = PrefixSet::new([p("2001:db8::/32"), p("192.0.2.0/24")]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        assert_ne!(a, PrefixSet::with_limits(b.iter(), 24, 128));
    }
}
