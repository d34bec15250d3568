//! Prefix to prefix-id lookup, and the hasher the RIB's tables use.
//!
//! `Prefix` is 32 bytes (its IPv6 variant holds a `u128`, aligned to 16),
//! so a `HashMap<Prefix, u32>` costs 48 bytes per slot, and keyed by the
//! five 32-bit words of the prefix 24. The RIB already stores each
//! prefix once, packed, in its per-prefix entry, so the lookup table holds
//! only the 4-byte ids and finds a prefix's key through the entries (a
//! `hashbrown::HashTable` with hash and equality given by the caller): 5
//! bytes a slot with hashbrown's control byte, against 25. At medium
//! scale (500,000 prefixes, 2^20 slots) that is 5 MB instead of 25 MB,
//! and the table's growth (old and new tables side by side) peaks at a
//! fifth of what it did. The keys are our own prefix ids and
//! addresses, not chosen by an attacker in a way that hash flooding could
//! exploit beyond what a member's max-prefix limit already bounds, so a
//! multiplicative hash (in the style of rustc's FxHash) replaces SipHash,
//! which was a tenth of the route server's CPU time.
//!
//! Not here: anything about routes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bgp_wire::{Family, Prefix};
use hashbrown::HashTable;

/// A fast, non-cryptographic hasher for small integer keys.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A prefix as five words: the address (IPv4 in the first), then the
/// length with bit 8 set for IPv6.
type Key = [u32; 5];

fn key(p: &Prefix) -> Key {
    match *p {
        Prefix::V4(a, len) => [a, 0, 0, 0, u32::from(len)],
        Prefix::V6(a, len) => [
            (a >> 96) as u32,
            (a >> 64) as u32,
            (a >> 32) as u32,
            a as u32,
            0x100 | u32::from(len),
        ],
    }
}

/// A prefix in 20 bytes with 4-byte alignment (a `Prefix` takes 32), as
/// the RIB stores one per prefix id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PackedPrefix(Key);

impl PackedPrefix {
    /// Pack `p`.
    pub(crate) fn new(p: Prefix) -> PackedPrefix {
        PackedPrefix(key(&p))
    }

    /// The prefix.
    #[inline]
    pub(crate) fn get(self) -> Prefix {
        let [a, b, c, d, l] = self.0;
        // The length came from a valid Prefix: at most 128.
        let len = (l & 0xff) as u8;
        if l & 0x100 == 0 {
            Prefix::V4(a, len)
        } else {
            let addr =
                u128::from(a) << 96 | u128::from(b) << 64 | u128::from(c) << 32 | u128::from(d);
            Prefix::V6(addr, len)
        }
    }

    /// Its address family.
    #[inline]
    pub(crate) fn family(self) -> Family {
        if self.0[4] & 0x100 == 0 {
            Family::Ipv4Unicast
        } else {
            Family::Ipv6Unicast
        }
    }
}

fn hash_key(k: &Key) -> u64 {
    let mut h = FastHasher::default();
    for w in k {
        h.write_u32(*w);
    }
    h.finish()
}

/// Prefix to prefix id. The prefixes themselves live with the caller,
/// which numbers them densely from 0 and answers "which prefix has id
/// `i`" (`at`) for every id it has inserted.
#[derive(Debug, Default)]
pub(crate) struct PrefixIds {
    table: HashTable<u32>,
}

impl PrefixIds {
    /// The id of `p`, if it has one.
    #[inline]
    pub(crate) fn get(&self, p: &Prefix, at: impl Fn(u32) -> Option<PackedPrefix>) -> Option<u32> {
        let k = key(p);
        self.table
            .find(hash_key(&k), |&id| at(id).is_some_and(|q| q.0 == k))
            .copied()
    }

    /// Give the prefix `at(id)` the id `id`; it must not have one yet.
    pub(crate) fn insert(&mut self, id: u32, at: impl Fn(u32) -> Option<PackedPrefix>) {
        // An id without a prefix (not possible: the caller inserts the
        // prefix first) would hash as the all-zero key and never be found.
        let hash_id = |&i: &u32| at(i).map_or(0, |q| hash_key(&q.0));
        self.table.insert_unique(hash_id(&id), id, hash_id);
    }

    /// Number of ids held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The caller's side: prefixes numbered by their position.
    fn numbered(ps: &[Prefix]) -> (PrefixIds, Vec<PackedPrefix>) {
        let mut ids = PrefixIds::default();
        let mut store = Vec::new();
        for p in ps {
            store.push(PackedPrefix::new(*p));
            let s = &store;
            ids.insert(s.len() as u32 - 1, |i| s.get(i as usize).copied());
        }
        (ids, store)
    }

    #[test]
    fn v4_and_v6_keys_do_not_collide() {
        let v4 = Prefix::V4(0x0a00_0000, 8);
        let v6 = Prefix::V6(0x0a00_0000u128 << 96, 8);
        let v4b = Prefix::V4(0x0a00_0000, 9);
        let (ids, store) = numbered(&[v4, v6, v4b]);
        let at = |i: u32| store.get(i as usize).copied();
        assert_eq!(ids.get(&v4, at), Some(0));
        assert_eq!(ids.get(&v6, at), Some(1));
        assert_eq!(ids.get(&v4b, at), Some(2));
        assert_eq!(ids.get(&Prefix::V6(0, 0), at), None);
    }

    #[test]
    fn every_id_is_found_after_the_table_grew() {
        // 100,000 prefixes make the table grow (rehash through `at`) many
        // times; every one must still be found, and none that was not
        // inserted.
        let ps: Vec<Prefix> = (0..100_000u32)
            .map(|i| {
                if i % 5 == 0 {
                    Prefix::V6(u128::from(i) << 80 | 0x2001u128 << 112, 48)
                } else {
                    Prefix::V4(i << 8, 24)
                }
            })
            .collect();
        let (ids, store) = numbered(&ps);
        assert_eq!(ids.len(), ps.len());
        let at = |i: u32| store.get(i as usize).copied();
        for (i, p) in ps.iter().enumerate() {
            assert_eq!(ids.get(p, at), Some(i as u32), "{p:?}");
        }
        assert_eq!(ids.get(&Prefix::V4(1 << 8, 23), at), None);
        assert_eq!(ids.get(&Prefix::V4(100_001 << 8, 24), at), None);
    }

    #[test]
    fn packed_prefixes_round_trip() {
        for p in [
            Prefix::V4(0, 0),
            Prefix::V4(0xc000_0200, 24),
            Prefix::V4(u32::MAX, 32),
            Prefix::V6(0, 0),
            Prefix::V6(0x2001_0db8u128 << 96, 32),
            Prefix::V6(u128::MAX, 128),
        ] {
            let q = PackedPrefix::new(p);
            assert_eq!(q.get(), p);
            assert_eq!(q.family(), p.family());
        }
    }

    #[test]
    fn hasher_spreads_sequential_keys() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let b = BuildHasherDefault::<FastHasher>::default();
        // hashbrown uses the top 7 bits as a tag: consecutive /24s must
        // not all share one.
        let tags: std::collections::HashSet<u64> = (0..1000u32)
            .map(|i| b.hash_one(key(&Prefix::V4(i << 8, 24))) >> 57)
            .collect();
        assert!(tags.len() > 64, "{} tags", tags.len());
    }
}
