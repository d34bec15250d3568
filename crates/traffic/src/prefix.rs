//! IP prefixes as the local-traffic tables use them: an address and a
//! length, host bits cleared. Parsing only; lookups live in [`crate::local`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 or IPv6 prefix with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Error of [`Prefix::new`] and of parsing a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixParseError(pub String);

impl fmt::Display for PrefixParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad prefix {:?}: expected ADDRESS/LENGTH with at most 32 bits for IPv4, 128 for IPv6",
            self.0
        )
    }
}

impl std::error::Error for PrefixParseError {}

impl Prefix {
    /// A prefix of `len` bits at `addr` (host bits are cleared).
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixParseError> {
        let addr = match addr {
            IpAddr::V4(a) if len <= 32 => {
                let v = u32::from(a);
                let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                IpAddr::V4(Ipv4Addr::from(v & m))
            }
            IpAddr::V6(a) if len <= 128 => {
                let v = u128::from(a);
                let m = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                IpAddr::V6(Ipv6Addr::from(v & m))
            }
            _ => return Err(PrefixParseError(format!("{addr}/{len}"))),
        };
        Ok(Prefix { addr, len })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether this is a default route (length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl std::str::FromStr for Prefix {
    type Err = PrefixParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PrefixParseError(s.to_string());
        let (a, l) = s.split_once('/').ok_or_else(err)?;
        let addr: IpAddr = a.parse().map_err(|_| err())?;
        let len: u8 = l.parse().map_err(|_| err())?;
        Prefix::new(addr, len).map_err(|_| err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_clears_host_bits() {
        let p: Prefix = "192.0.2.77/24".parse().unwrap();
        assert_eq!(p.to_string(), "192.0.2.0/24");
        let p: Prefix = "2001:db8::1/32".parse().unwrap();
        assert_eq!(p.to_string(), "2001:db8::/32");
        assert!("192.0.2.0/33".parse::<Prefix>().is_err());
        assert!("192.0.2.0".parse::<Prefix>().is_err());
        assert!("x/8".parse::<Prefix>().is_err());
        assert_eq!("0.0.0.0/0".parse::<Prefix>().unwrap().len(), 0);
    }
}
