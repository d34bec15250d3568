//! Checks and parsers for the small value syntaxes of the configuration:
//! AS numbers (RFC 6793 4-octet range, IANA special-purpose registry of
//! RFC 7249 / RFC 7300 / RFC 6996 / RFC 5398), RPSL AS-SET names (RFC 2622
//! §5.1, hierarchical names of RFC 2622 §5 with an optional `SOURCE::`
//! prefix as used by IRR tools), MAC-48 addresses, IP prefixes and
//! `host:port` endpoints.
//!
//! Each function returns a message fit for a diagnostic; the caller attaches
//! the location. Nothing here panics on any input.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use bgp_wire::Prefix;

/// Why an AS number is not usable for a BGP speaker.
pub(crate) fn asn_problem(asn: i64) -> Option<(String, &'static str)> {
    let help = "use the network's public AS number (or a private one, 64512-65534 or 4200000000-4294967294)";
    let reason = match asn {
        i64::MIN..=-1 => format!("AS number {asn} is negative"),
        0 => "AS 0 is reserved (RFC 7607) and cannot be used in a BGP session".to_owned(),
        23456 => "AS 23456 is AS_TRANS (RFC 6793), a placeholder, not a real AS".to_owned(),
        65535 => "AS 65535 is reserved (RFC 7300)".to_owned(),
        65552..=131071 => format!("AS {asn} is in the IANA reserved range 65552-131071"),
        4294967295 => "AS 4294967295 is reserved (RFC 7300)".to_owned(),
        4294967296.. => format!("AS number {asn} does not fit in 32 bits (maximum 4294967295)"),
        _ => return None,
    };
    Some((reason, help))
}

/// True for a syntactically valid RPSL object name component (RFC 2622 §2:
/// letters, digits, `_` and `-`; starts with a letter; ends with a letter or
/// digit).
fn rpsl_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphabetic()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        }
        _ => false,
    }
}

fn is_asn_name(s: &str) -> bool {
    s.len() > 2
        && s.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("AS"))
        && s.get(2..)
            .is_some_and(|n| n.parse::<u32>().is_ok() && !n.starts_with('+'))
}

fn is_as_set_name(s: &str) -> bool {
    s.len() > 3 && s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("AS-")) && rpsl_name(s)
}

/// Checks an AS-SET reference: `AS-NAME`, hierarchical `AS64496:AS-NAME`,
/// an IRR-source-qualified `RIPE::AS-NAME`, or a plain `AS64496` (meaning
/// the route objects of that AS only). Returns why it is invalid.
pub(crate) fn as_set_problem(s: &str) -> Option<String> {
    let name = match s.split_once("::") {
        Some((source, rest)) => {
            if !rpsl_name(source) {
                return Some(format!(
                    "`{s}`: IRR source `{source}` before `::` is not a valid name"
                ));
            }
            rest
        }
        None => s,
    };
    if is_asn_name(name) {
        return None;
    }
    let parts: Vec<&str> = name.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Some(format!("`{s}` has an empty component between `:`"));
    }
    let mut has_set = false;
    for p in &parts {
        if is_as_set_name(p) {
            has_set = true;
        } else if !is_asn_name(p) {
            return Some(format!(
                "`{s}`: `{p}` is neither an AS-SET name (AS- followed by letters, digits, `_`, `-`) nor an AS number (AS64496)"
            ));
        }
    }
    if !has_set {
        return Some(format!(
            "`{s}` names no AS-SET: a hierarchical name needs a component starting with AS-"
        ));
    }
    None
}

/// A MAC-48 address, written `xx:xx:xx:xx:xx:xx` in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl FromStr for Mac {
    type Err = String;

    /// Accepts `02:00:5e:00:00:01`, `02-00-5E-00-00-01` and Cisco's
    /// `0200.5e00.0001`; rejects group (multicast) and all-zero addresses,
    /// which no router interface has.
    fn from_str(s: &str) -> Result<Self, String> {
        let hex: String = if s.contains('.') {
            let groups: Vec<&str> = s.split('.').collect();
            if groups.len() != 3 || groups.iter().any(|g| g.len() != 4) {
                return Err(format!("`{s}` is not a MAC address"));
            }
            groups.concat()
        } else {
            let sep = if s.contains('-') { '-' } else { ':' };
            let groups: Vec<&str> = s.split(sep).collect();
            if groups.len() != 6 || groups.iter().any(|g| g.len() != 2) {
                return Err(format!("`{s}` is not a MAC address"));
            }
            groups.concat()
        };
        let mut out = [0u8; 6];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = hex
                .get(i * 2..i * 2 + 2)
                .ok_or_else(|| format!("`{s}` is not a MAC address"))?;
            *byte = u8::from_str_radix(pair, 16)
                .map_err(|_| format!("`{s}` is not a MAC address: `{pair}` is not hexadecimal"))?;
        }
        if out == [0; 6] {
            return Err(format!("`{s}` is the all-zero MAC address"));
        }
        if out[0] & 1 == 1 {
            return Err(format!(
                "`{s}` is a group (multicast/broadcast) MAC address, not an interface address"
            ));
        }
        Ok(Mac(out))
    }
}

/// Parses `ADDR/LEN` and refuses host bits past the length.
pub(crate) fn parse_prefix(s: &str) -> Result<Prefix, String> {
    let (addr, len) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` has no prefix length (write it as ADDRESS/LENGTH)"))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` in `{s}` is not an IP address"))?;
    let len: u8 = len
        .parse()
        .map_err(|_| format!("`{len}` in `{s}` is not a prefix length"))?;
    let p = Prefix::new(addr, len).map_err(|e| format!("`{s}`: {e}"))?;
    if p.addr() != addr {
        return Err(format!(
            "`{s}` has host bits set past /{len}; the network is {p}"
        ));
    }
    Ok(p)
}

/// Parses an IP address.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("`{s}` is not an IP address"))
}

/// Parses `IP:PORT` or `[IPv6]:PORT`.
pub(crate) fn parse_socket(s: &str) -> Result<SocketAddr, String> {
    s.parse().map_err(|_| {
        if s.parse::<IpAddr>().is_ok() {
            format!("`{s}` has no port")
        } else {
            format!("`{s}` is not an IP:PORT address")
        }
    })
}

/// Checks `HOST:PORT` where HOST is a name, an IPv4 address or a bracketed
/// IPv6 address.
/// An interval such as `90s`, `30m`, `6h` or `1d`, in seconds; `None`
/// when it is not one (no unit, unknown unit, overflow).
pub(crate) fn parse_interval(s: &str) -> Option<u64> {
    let s = s.trim();
    let unit_at = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(unit_at);
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(mult)
}

pub(crate) fn host_port_problem(s: &str) -> Option<String> {
    if s.parse::<SocketAddr>().is_ok() {
        return None;
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Some(format!("`{s}` has no port"));
    };
    if port.parse::<u16>().map_or(true, |p| p == 0) {
        return Some(format!("`{port}` in `{s}` is not a TCP port (1-65535)"));
    }
    if host.contains(':') || host.starts_with('[') {
        return Some(format!(
            "`{s}`: write an IPv6 address in brackets, `[2001:db8::1]:{port}`"
        ));
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        None
    } else {
        Some(format!(
            "`{host}` in `{s}` is not a host name or IP address"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asns() {
        assert!(asn_problem(64496).is_none());
        assert!(asn_problem(4_200_000_000).is_none());
        assert!(asn_problem(0).is_some());
        assert!(asn_problem(23456).is_some());
        assert!(asn_problem(65535).is_some());
        assert!(asn_problem(70000).is_some());
        assert!(asn_problem(4_294_967_296).is_some());
        assert!(asn_problem(-1).is_some());
    }

    #[test]
    fn as_sets() {
        for ok in [
            "AS-EXAMPLE",
            "as-foo_bar-1",
            "AS64496:AS-CUSTOMERS",
            "AS-A:AS-B",
            "RIPE::AS-EXAMPLE",
            "AS64496",
        ] {
            assert_eq!(as_set_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "EXAMPLE",
            "AS-",
            "AS-FOO-",
            "AS-FO O",
            "AS64496:AS65000",
            "AS-A::",
            "::AS-A",
            "AS-A:",
            "AS-É",
        ] {
            assert!(as_set_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn macs() {
        let m: Mac = "02:00:5E:00:00:01".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:5e:00:00:01");
        assert_eq!("02-00-5e-00-00-01".parse::<Mac>(), Ok(m));
        assert_eq!("0200.5e00.0001".parse::<Mac>(), Ok(m));
        for bad in [
            "",
            "02:00:5e:00:00",
            "02:00:5e:00:00:zz",
            "01:00:5e:00:00:01",
            "00:00:00:00:00:00",
            "ff:ff:ff:ff:ff:ff",
            "0é:00:5e:00:00:01",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            parse_prefix("192.0.2.0/24").unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert!(parse_prefix("192.0.2.1/24")
            .unwrap_err()
            .contains("host bits"));
        assert!(parse_prefix("192.0.2.0/33").is_err());
        assert!(parse_prefix("192.0.2.0").is_err());
        assert!(parse_prefix("2001:db8::/32").is_ok());
    }

    #[test]
    fn host_ports() {
        assert_eq!(host_port_problem("127.0.0.1:3323"), None);
        assert_eq!(host_port_problem("[::1]:3323"), None);
        assert_eq!(host_port_problem("rtr.example.net:323"), None);
        assert!(host_port_problem("::1:3323").is_some());
        assert!(host_port_problem("rtr.example.net").is_some());
        assert!(host_port_problem("rtr.example.net:0").is_some());
        assert!(host_port_problem("bad host:3323").is_some());
    }
}
