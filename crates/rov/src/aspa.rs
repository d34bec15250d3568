//! ASPA records and upstream AS_PATH verification.
//!
//! An ASPA record (RFC 8210bis §5.12, draft-ietf-sidrops-aspa-profile)
//! lists the provider ASes of a customer AS. This module keeps the records
//! received over RTR version 2 (or loaded from rpki-client JSON) and runs
//! the *upstream* verification procedure of
//! draft-ietf-sidrops-aspa-verification §6.2 ("Algorithm for Upstream
//! Paths"), which is what a route server applies to routes from its members:
//! every hop from the origin towards the member must go from a customer to
//! one of its attested providers.
//!
//! It does not implement the downstream procedure (for routes received from
//! providers), and it sees an AS_PATH as a plain list of ASNs: a path with
//! an AS_SET segment is Invalid by §6.2 step 3, which the caller decides
//! before asking (it cannot be expressed as `&[u32]`).

use std::collections::HashMap;

/// Customer AS → sorted provider ASes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AspaTable {
    records: HashMap<u32, Vec<u32>>,
}

/// The result of checking one hop (draft §5, "hop check").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hop {
    ProviderPlus,
    NotProviderPlus,
    NoAttestation,
}

impl AspaTable {
    /// Builds a table from (customer, providers) pairs; a later record for
    /// the same customer replaces an earlier one.
    pub fn new(records: impl IntoIterator<Item = (u32, Vec<u32>)>) -> AspaTable {
        let mut t = AspaTable::default();
        for (c, p) in records {
            t.insert(c, p);
        }
        t
    }

    /// Sets the providers of `customer`.
    pub fn insert(&mut self, customer: u32, mut providers: Vec<u32>) {
        providers.sort_unstable();
        providers.dedup();
        self.records.insert(customer, providers);
    }

    /// Removes the record of `customer`; true if there was one.
    pub fn remove(&mut self, customer: u32) -> bool {
        self.records.remove(&customer).is_some()
    }

    /// The providers attested by `customer`, if it has a record.
    pub fn providers(&self, customer: u32) -> Option<&[u32]> {
        self.records.get(&customer).map(Vec::as_slice)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when there is no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// All records, sorted by customer.
    pub fn records(&self) -> Vec<(u32, &[u32])> {
        let mut v: Vec<(u32, &[u32])> = self
            .records
            .iter()
            .map(|(c, p)| (*c, p.as_slice()))
            .collect();
        v.sort_unstable();
        v
    }

    fn hop(&self, customer: u32, provider: u32) -> Hop {
        match self.records.get(&customer) {
            None => Hop::NoAttestation,
            Some(p) if p.binary_search(&provider).is_ok() => Hop::ProviderPlus,
            Some(_) => Hop::NotProviderPlus,
        }
    }

    /// Upstream verification (draft-ietf-sidrops-aspa-verification §6.2)
    /// of an AS_PATH received from a customer or peer (a route server
    /// member). `path` is in AS_PATH order: the neighbour first, the origin
    /// last; prepends are removed here.
    ///
    /// Returns `Some(true)` for Valid, `Some(false)` for Invalid (including
    /// an empty path) and `None` for Unknown, and also `None` when the
    /// table holds no ASPA record at all (no ASPA data, no opinion).
    pub fn verify_upstream(&self, path: &[u32]) -> Option<bool> {
        if self.records.is_empty() {
            return None;
        }
        let mut dedup: Vec<u32> = Vec::with_capacity(path.len());
        for &asn in path {
            if dedup.last() != Some(&asn) {
                dedup.push(asn);
            }
        }
        if dedup.is_empty() {
            return Some(false);
        }
        // From the origin towards the neighbour: (customer, provider).
        let mut unknown = false;
        for w in dedup.windows(2).rev() {
            if let [provider, customer] = *w {
                match self.hop(customer, provider) {
                    Hop::ProviderPlus => {}
                    Hop::NotProviderPlus => return Some(false),
                    Hop::NoAttestation => unknown = true,
                }
            }
        }
        if unknown {
            None
        } else {
            Some(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> AspaTable {
        // 65001 → providers 65010, 65011; 65010 → 65020; 65030 has no
        // provider (AS0 record).
        AspaTable::new([
            (65001, vec![65011, 65010]),
            (65010, vec![65020]),
            (65030, vec![0]),
        ])
    }

    #[test]
    fn single_hop_is_valid() {
        assert_eq!(table().verify_upstream(&[65001]), Some(true));
        assert_eq!(table().verify_upstream(&[65001, 65001, 65001]), Some(true));
    }

    #[test]
    fn all_provider_hops_valid() {
        // neighbour 65020 ← 65010 ← 65001 (origin)
        assert_eq!(table().verify_upstream(&[65020, 65010, 65001]), Some(true));
        assert_eq!(
            table().verify_upstream(&[65020, 65020, 65010, 65001, 65001]),
            Some(true)
        );
    }

    #[test]
    fn not_provider_is_invalid() {
        // 65001 does not list 65099 as a provider: a leak.
        assert_eq!(table().verify_upstream(&[65099, 65001]), Some(false));
        assert_eq!(table().verify_upstream(&[65020, 65099, 65001]), Some(false));
        // AS0 record: no provider at all.
        assert_eq!(table().verify_upstream(&[65010, 65030]), Some(false));
    }

    #[test]
    fn missing_attestation_is_unknown() {
        // 65050 has no record.
        assert_eq!(table().verify_upstream(&[65001, 65050]), None);
        // Invalid wins over unknown anywhere in the path.
        assert_eq!(table().verify_upstream(&[65099, 65001, 65050]), Some(false));
    }

    #[test]
    fn empty_path_invalid_and_no_data_none() {
        assert_eq!(table().verify_upstream(&[]), Some(false));
        assert_eq!(
            AspaTable::default().verify_upstream(&[65020, 65010, 65001]),
            None
        );
    }
}
