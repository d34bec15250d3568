//! Parser for the RIRs' "extended delegation" statistics files
//! (`delegated-<rir>-extended-latest`, the format the five RIRs publish and
//! describe in their `RIR-Statistics-Exchange-Format` documents):
//!
//! ```text
//! 2|lacnic|20261122|4|19870101|20261121|-0300          version line
//! lacnic|*|ipv4|*|2|summary                             summary lines
//! lacnic|GP|ipv4|190.123.0.0|3072|20070301|allocated|A1b2  records
//! registry|cc|type|start|value|date|status|opaque-id[|extensions]
//! ```
//!
//! An `ipv4` record gives a first address and a count of addresses, which
//! need not be a power of two: it is split into the CIDR blocks that cover
//! exactly that range. An `ipv6` record gives a prefix length; an `asn`
//! record the first ASN and a count. Only `allocated` and `assigned` records
//! of the wanted country codes are kept; `available` and `reserved` space
//! belongs to nobody yet. The opaque ID names the holder across its records,
//! so an address block's holder ASN is the holder's lowest ASN.
//!
//! Rows of other countries, and unallocated rows, are skipped before their
//! values are read (the files are large and only the territory matters);
//! a malformed row of the territory is an error naming its line.
//!
//! Not here: fetching the files (the operator downloads them), and the
//! non-extended format, which has no opaque ID.

use crate::prefix::Prefix;
use crate::Asn;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Resources of the territory from one or more delegation files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delegations {
    /// Address blocks (IPv4 split into CIDR blocks) with their country code
    /// and opaque holder ID.
    pub prefixes: Vec<(Prefix, String, String)>,
    /// AS number ranges: first ASN, count, country code, opaque holder ID.
    pub asns: Vec<(Asn, u32, String, String)>,
}

/// A delegation file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RirError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for RirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delegation file line {}: {} (expected registry|cc|type|start|value|date|status|opaque-id)",
            self.line, self.message
        )
    }
}

impl std::error::Error for RirError {}

impl Delegations {
    /// Adds the records of `text` whose country code is one of `countries`
    /// (case-insensitive, e.g. `["GP", "MF", "BL", "SX"]`).
    pub fn add_file(&mut self, text: &str, countries: &[&str]) -> Result<(), RirError> {
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| RirError { line, message };
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = l.split('|').collect();
            // Version line: starts with the format version, a number.
            if f.first()
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
            {
                if f.len() < 6 {
                    return Err(err(format!(
                        "version line has {} fields, expected 7",
                        f.len()
                    )));
                }
                continue;
            }
            if f.get(5) == Some(&"summary") {
                continue;
            }
            let [_, cc, kind, start, value, _, status, rest @ ..] = f.as_slice() else {
                return Err(err(format!("{} fields", f.len())));
            };
            let (cc, kind, start, value, status) = (*cc, *kind, *start, *value, *status);
            let opaque = rest.first().copied().unwrap_or("").to_string();
            if !matches!(status, "allocated" | "assigned") {
                continue;
            }
            if !countries.iter().any(|c| c.eq_ignore_ascii_case(cc)) {
                continue;
            }
            let cc = cc.to_ascii_uppercase();
            match kind {
                "ipv4" => {
                    let first: Ipv4Addr = start
                        .parse()
                        .map_err(|_| err(format!("bad IPv4 start address {start:?}")))?;
                    let count: u64 = value
                        .parse()
                        .map_err(|_| err(format!("bad IPv4 address count {value:?}")))?;
                    let blocks = split_v4(u32::from(first), count).ok_or_else(|| {
                        err(format!(
                            "{start} + {count} addresses passes 255.255.255.255 or is empty"
                        ))
                    })?;
                    for p in blocks {
                        self.prefixes.push((p, cc.clone(), opaque.clone()));
                    }
                }
                "ipv6" => {
                    let a: Ipv6Addr = start
                        .parse()
                        .map_err(|_| err(format!("bad IPv6 start address {start:?}")))?;
                    let len: u8 = value
                        .parse()
                        .map_err(|_| err(format!("bad IPv6 prefix length {value:?}")))?;
                    let p = Prefix::new(IpAddr::V6(a), len).map_err(|e| err(e.to_string()))?;
                    self.prefixes.push((p, cc, opaque));
                }
                "asn" => {
                    let first: Asn = start
                        .parse()
                        .map_err(|_| err(format!("bad first ASN {start:?}")))?;
                    let count: u32 = value
                        .parse()
                        .map_err(|_| err(format!("bad ASN count {value:?}")))?;
                    if count == 0 || first.checked_add(count - 1).is_none() {
                        return Err(err(format!(
                            "ASN range {first} + {count} is empty or too large"
                        )));
                    }
                    self.asns.push((first, count, cc, opaque));
                }
                other => return Err(err(format!("unknown resource type {other:?}"))),
            }
        }
        Ok(())
    }

    /// Each holder's lowest ASN, by opaque ID.
    pub fn holder_asns(&self) -> HashMap<&str, Asn> {
        let mut m: HashMap<&str, Asn> = HashMap::new();
        for (first, _, _, id) in &self.asns {
            if id.is_empty() {
                continue;
            }
            let e = m.entry(id.as_str()).or_insert(*first);
            *e = (*e).min(*first);
        }
        m
    }

    /// Whether `asn` is delegated to the territory.
    pub fn has_asn(&self, asn: Asn) -> bool {
        self.asns.iter().any(|(first, count, _, _)| {
            asn >= *first && u64::from(asn) < u64::from(*first) + u64::from(*count)
        })
    }
}

/// Parses one file, keeping the records of `countries`.
pub fn parse(text: &str, countries: &[&str]) -> Result<Delegations, RirError> {
    let mut d = Delegations::default();
    d.add_file(text, countries)?;
    Ok(d)
}

/// The CIDR blocks covering exactly `count` addresses from `first`, largest
/// aligned block first; `None` when the range is empty or passes the end of
/// the address space.
pub fn split_v4(first: u32, count: u64) -> Option<Vec<Prefix>> {
    let end = u64::from(first).checked_add(count)?;
    if count == 0 || end > 1 << 32 {
        return None;
    }
    let mut out = Vec::new();
    let mut at = u64::from(first);
    while at < end {
        // Largest power of two that `at` is aligned to and that fits.
        let align = if at == 0 {
            1u64 << 32
        } else {
            1u64 << at.trailing_zeros()
        };
        let mut size = align;
        while size > end - at {
            size >>= 1;
        }
        let len = 32 - u8::try_from(size.trailing_zeros()).ok()?;
        let addr = Ipv4Addr::from(u32::try_from(at).ok()?);
        out.push(Prefix::new(IpAddr::V4(addr), len).ok()?);
        at += size;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_non_power_of_two_counts() {
        let s = |a: &str, n| {
            split_v4(u32::from(a.parse::<Ipv4Addr>().unwrap()), n)
                .unwrap()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(s("190.123.0.0", 3072), ["190.123.0.0/21", "190.123.8.0/22"]);
        assert_eq!(s("10.0.0.0", 256), ["10.0.0.0/24"]);
        assert_eq!(s("10.0.0.128", 384), ["10.0.0.128/25", "10.0.1.0/24"]);
        assert_eq!(s("0.0.0.0", 1 << 32), ["0.0.0.0/0"]);
        assert_eq!(s("255.255.255.255", 1), ["255.255.255.255/32"]);
        assert!(split_v4(u32::MAX, 2).is_none());
        assert!(split_v4(0, 0).is_none());
    }
}
