//! NLRI fields: validation and iteration (RFC 4271 §4.3, RFC 4760 §5,
//! RFC 7911 §3).
//!
//! A field is validated once when the UPDATE is decoded ([`NlriField::new`]);
//! iteration afterwards cannot fail. A field that does not parse is a
//! session reset (RFC 7606 §5.3): the prefixes it holds cannot be located,
//! so they cannot even be withdrawn.

use crate::types::{Family, Nlri, Prefix};

/// A validated NLRI field: prefixes of one family, with or without ADD-PATH
/// path identifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlriField<'a> {
    raw: &'a [u8],
    family: Family,
    add_path: bool,
}

/// The field could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NlriError {
    /// A prefix length larger than the family allows.
    BadLength,
    /// A prefix runs past the end of the field.
    Truncated,
}

impl<'a> NlriField<'a> {
    /// Validate `raw` as NLRI of `family`.
    pub fn new(raw: &'a [u8], family: Family, add_path: bool) -> Result<NlriField<'a>, NlriError> {
        let max = family.max_len();
        let mut i = 0;
        let n = raw.len();
        if add_path {
            while i < n {
                if i + 5 > n {
                    return Err(NlriError::Truncated);
                }
                let len = raw[i + 4];
                if len > max {
                    return Err(NlriError::BadLength);
                }
                i += 5 + usize::from(len).div_ceil(8);
            }
        } else {
            while i < n {
                let len = raw[i];
                if len > max {
                    return Err(NlriError::BadLength);
                }
                i += 1 + usize::from(len).div_ceil(8);
            }
        }
        if i != n {
            return Err(NlriError::Truncated);
        }
        Ok(NlriField {
            raw,
            family,
            add_path,
        })
    }

    /// An empty field of `family`.
    pub fn empty(family: Family) -> NlriField<'static> {
        NlriField {
            raw: &[],
            family,
            add_path: false,
        }
    }

    /// The raw bytes.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Whether entries carry path identifiers.
    pub fn add_path(&self) -> bool {
        self.add_path
    }

    /// Whether there is no prefix.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The entries.
    pub fn iter(&self) -> NlriIter<'a> {
        NlriIter {
            raw: self.raw,
            family: self.family,
            add_path: self.add_path,
        }
    }
}

impl<'a> IntoIterator for NlriField<'a> {
    type Item = Nlri;
    type IntoIter = NlriIter<'a>;

    fn into_iter(self) -> NlriIter<'a> {
        self.iter()
    }
}

/// Iterator over a validated NLRI field.
#[derive(Clone, Debug)]
pub struct NlriIter<'a> {
    raw: &'a [u8],
    family: Family,
    add_path: bool,
}

impl Iterator for NlriIter<'_> {
    type Item = Nlri;

    #[inline]
    fn next(&mut self) -> Option<Nlri> {
        let raw = self.raw;
        let (path_id, rest) = if self.add_path {
            let (id, rest) = raw.split_first_chunk::<4>()?;
            (u32::from_be_bytes(*id), rest)
        } else {
            (0, raw)
        };
        let (&len, rest) = rest.split_first()?;
        let nbytes = usize::from(len).div_ceil(8);
        let (bytes, tail) = rest.split_at_checked(nbytes)?;
        self.raw = tail;
        // The mask clears every bit past the prefix length, so when the
        // field goes on for a full address width we can read a fixed-size
        // word (no variable-length copy): whatever follows the prefix's own
        // octets is masked away. Near the end of the field, copy instead.
        let prefix = match self.family {
            Family::Ipv4Unicast => {
                let word = match rest.first_chunk::<4>() {
                    Some(w) => *w,
                    None => {
                        let mut b = [0u8; 4];
                        let n = nbytes.min(4);
                        b[..n].copy_from_slice(&bytes[..n]);
                        b
                    }
                };
                let len = len.min(32);
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                Prefix::V4(u32::from_be_bytes(word) & mask, len)
            }
            Family::Ipv6Unicast => {
                let word = match rest.first_chunk::<16>() {
                    Some(w) => *w,
                    None => {
                        let mut b = [0u8; 16];
                        let n = nbytes.min(16);
                        b[..n].copy_from_slice(&bytes[..n]);
                        b
                    }
                };
                let len = len.min(128);
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                Prefix::V6(u128::from_be_bytes(word) & mask, len)
            }
        };
        Some(Nlri { prefix, path_id })
    }
}

/// Bytes an entry takes on the wire.
pub fn entry_len(n: &Nlri, add_path: bool) -> usize {
    n.prefix.wire_len() + if add_path { 4 } else { 0 }
}

/// Append one entry.
pub fn write_entry(n: &Nlri, add_path: bool, out: &mut Vec<u8>) {
    if add_path {
        out.extend_from_slice(&n.path_id.to_be_bytes());
    }
    n.prefix.write(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_field() {
        // 10.0.0.0/8, 192.0.2.0/24, 0.0.0.0/0, host bits in 198.51.100.7/24.
        let raw = [8, 10, 24, 192, 0, 2, 0, 24, 198, 51, 100];
        let f = NlriField::new(&raw, Family::Ipv4Unicast, false).unwrap();
        let got: Vec<String> = f.iter().map(|n| n.prefix.to_string()).collect();
        assert_eq!(
            got,
            ["10.0.0.0/8", "192.0.2.0/24", "0.0.0.0/0", "198.51.100.0/24"]
        );
    }

    #[test]
    fn add_path_field() {
        let raw = [0, 0, 0, 7, 24, 192, 0, 2];
        let f = NlriField::new(&raw, Family::Ipv4Unicast, true).unwrap();
        let n: Vec<Nlri> = f.iter().collect();
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].path_id, 7);
    }

    #[test]
    fn malformed_fields() {
        assert_eq!(
            NlriField::new(&[33, 1, 2, 3, 4, 5], Family::Ipv4Unicast, false),
            Err(NlriError::BadLength)
        );
        assert_eq!(
            NlriField::new(&[24, 1, 2], Family::Ipv4Unicast, false),
            Err(NlriError::Truncated)
        );
        assert_eq!(
            NlriField::new(&[0, 0, 1], Family::Ipv4Unicast, true),
            Err(NlriError::Truncated)
        );
        assert!(NlriField::new(&[129], Family::Ipv6Unicast, false).is_err());
        assert!(NlriField::new(&[128; 17], Family::Ipv6Unicast, false).is_ok());
    }
}
