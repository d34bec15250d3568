//! A set of registered prefixes answering "is this route covered?".
//!
//! IXP prefix filters built from IRR data accept a route when its prefix
//! equals a registered prefix or is more specific than one, up to a
//! length limit per family (by default the family's full length, 32 or
//! 128; the IXP's own maximum length is a separate policy check). A lookup
//! probes the registered lengths that are not longer than the route, each
//! with a hash lookup.

use std::collections::HashSet;

use bgp_wire::Prefix;

/// Registered prefixes with "or more specific up to `max_len`" semantics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefixSet {
    set: HashSet<Prefix>,
    lengths_v4: Vec<u8>,
    lengths_v6: Vec<u8>,
    max_len_v4: u8,
    max_len_v6: u8,
}

fn truncate(p: &Prefix, len: u8) -> Prefix {
    match *p {
        Prefix::V4(a, _) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            Prefix::V4(a & m, len)
        }
        Prefix::V6(a, _) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            Prefix::V6(a & m, len)
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
        let set: HashSet<Prefix> = prefixes.into_iter().collect();
        let mut v4 = [false; 33];
        let mut v6 = [false; 129];
        for p in &set {
            let slot = match p {
                Prefix::V4(_, l) => v4.get_mut(usize::from(*l)),
                Prefix::V6(_, l) => v6.get_mut(usize::from(*l)),
            };
            if let Some(s) = slot {
                *s = true;
            }
        }
        let lens = |flags: &[bool]| -> Vec<u8> {
            flags
                .iter()
                .enumerate()
                .filter(|(_, f)| **f)
                .filter_map(|(l, _)| u8::try_from(l).ok())
                .collect()
        };
        PrefixSet {
            lengths_v4: lens(&v4),
            lengths_v6: lens(&v6),
            set,
            max_len_v4: max_len_v4.min(32),
            max_len_v6: max_len_v6.min(128),
        }
    }

    /// True when `p` is a registered prefix or a more specific of one, not
    /// longer than the family's limit.
    pub fn covers(&self, p: &Prefix) -> bool {
        let (lengths, max) = match p {
            Prefix::V4(..) => (&self.lengths_v4, self.max_len_v4),
            Prefix::V6(..) => (&self.lengths_v6, self.max_len_v6),
        };
        if p.len() > max {
            return false;
        }
        lengths
            .iter()
            .take_while(|l| **l <= p.len())
            .any(|l| self.set.contains(&truncate(p, *l)))
    }

    /// Number of registered prefixes.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The registered prefixes, sorted.
    pub fn prefixes(&self) -> Vec<Prefix> {
        let mut v: Vec<Prefix> = self.set.iter().copied().collect();
        v.sort_unstable();
        v
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
}
