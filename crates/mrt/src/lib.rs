//! A reader for the BGP4MP records of MRT files (RFC 6396 §4.4, RFC 8050).
//!
//! caribix replays real BGP traffic (the RIPE RIS dump in
//! `../shared/data/mrt/`) in tests, benchmarks and the demo. This reader
//! yields each BGP message with the session facts needed to decode it: the
//! peer and local AS and address, and whether AS numbers in the message are
//! 4 octets wide. Other record types (TABLE_DUMP, OSPF, ...) are skipped.
//!
//! Known limitations: only BGP4MP / BGP4MP_ET message and state-change
//! subtypes are returned; extended timestamps are read but not reported.

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// One BGP message as recorded by the collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bgp4mpMessage {
    /// Record time, seconds since the Unix epoch.
    pub timestamp: u32,
    /// The peer's AS.
    pub peer_as: u32,
    /// The collector's AS.
    pub local_as: u32,
    /// The peer's address.
    pub peer_ip: IpAddr,
    /// The collector's address.
    pub local_ip: IpAddr,
    /// AS numbers in the message's AS_PATH and AGGREGATOR are 4 octets
    /// (the `_AS4` subtypes, RFC 6396 §4.4.3).
    pub four_octet_as: bool,
    /// ADD-PATH path identifiers are present (RFC 8050 subtypes).
    pub add_path: bool,
    /// The whole BGP message, header included.
    pub message: Vec<u8>,
}

/// A reading error: where, and what.
#[derive(Debug)]
pub enum Error {
    /// The underlying reader failed.
    Io(io::Error),
    /// A record could not be parsed.
    Malformed {
        /// Index of the record in the file.
        record: usize,
        /// What was wrong.
        what: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "reading MRT data: {e}"),
            Error::Malformed { record, what } => write!(f, "MRT record {record}: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

const BGP4MP: u16 = 16;
const BGP4MP_ET: u16 = 17;

/// Read every BGP4MP message of a file, gzip-compressed or not.
pub fn read_file(path: &Path) -> Result<Vec<Bgp4mpMessage>, Error> {
    let raw = std::fs::read(path)?;
    let data = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out)?;
        out
    } else {
        raw
    };
    parse(&data)
}

/// Parse uncompressed MRT data.
pub fn parse(data: &[u8]) -> Result<Vec<Bgp4mpMessage>, Error> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut record = 0;
    while pos < data.len() {
        let here = record;
        let bad = move |what| Error::Malformed { record: here, what };
        let hdr = data.get(pos..pos + 12).ok_or(bad("truncated header"))?;
        let timestamp = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let rtype = u16::from_be_bytes([hdr[4], hdr[5]]);
        let subtype = u16::from_be_bytes([hdr[6], hdr[7]]);
        let len = u32::from_be_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
        let body = data
            .get(pos + 12..pos + 12 + len)
            .ok_or(bad("record runs past the end of the data"))?;
        pos += 12 + len;
        record += 1;
        let body = match rtype {
            BGP4MP => body,
            BGP4MP_ET => body.get(4..).ok_or(bad("truncated extended timestamp"))?,
            _ => continue,
        };
        // Subtypes: 1 MESSAGE, 4 MESSAGE_AS4, 6 MESSAGE_LOCAL,
        // 7 MESSAGE_AS4_LOCAL, 8-11 the ADD-PATH variants (RFC 8050).
        let (as4, add_path) = match subtype {
            1 | 6 => (false, false),
            4 | 7 => (true, false),
            8 | 10 => (false, true),
            9 | 11 => (true, true),
            _ => continue,
        };
        if let Some(m) = parse_message(body, timestamp, as4, add_path) {
            out.push(m);
        } else {
            return Err(bad("BGP4MP message record is malformed"));
        }
    }
    Ok(out)
}

fn parse_message(b: &[u8], timestamp: u32, as4: bool, add_path: bool) -> Option<Bgp4mpMessage> {
    let mut rest = b;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (s, r) = rest.split_at_checked(n)?;
        rest = r;
        Some(s)
    };
    let asn = |s: &[u8]| -> u32 { s.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)) };
    let w = if as4 { 4 } else { 2 };
    let peer_as = asn(take(w)?);
    let local_as = asn(take(w)?);
    let _ifindex = take(2)?;
    let afi = take(2)?;
    let (peer_ip, local_ip) = match u16::from_be_bytes([afi[0], afi[1]]) {
        1 => {
            let p = take(4)?;
            let p = IpAddr::V4(Ipv4Addr::new(p[0], p[1], p[2], p[3]));
            let l = take(4)?;
            let l = IpAddr::V4(Ipv4Addr::new(l[0], l[1], l[2], l[3]));
            (p, l)
        }
        2 => {
            let mut p = [0u8; 16];
            p.copy_from_slice(take(16)?);
            let mut l = [0u8; 16];
            l.copy_from_slice(take(16)?);
            (IpAddr::V6(Ipv6Addr::from(p)), IpAddr::V6(Ipv6Addr::from(l)))
        }
        _ => return None,
    };
    let message = rest.to_vec();
    Some(Bgp4mpMessage {
        timestamp,
        peer_as,
        local_as,
        peer_ip,
        local_ip,
        four_octet_as: as4,
        add_path,
        message,
    })
}

/// Path of the RIPE RIS sample in the shared data, relative to a crate's
/// manifest directory inside this workspace.
pub fn shared_sample(manifest_dir: &str) -> std::path::PathBuf {
    Path::new(manifest_dir).join("../../../shared/data/mrt/ris-rrc15-updates.20100227.1600.gz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ris_sample() {
        let msgs = read_file(&shared_sample(env!("CARGO_MANIFEST_DIR"))).unwrap();
        // The data README says 6,615 records; all of them are BGP4MP.
        assert!(msgs.len() > 6000, "only {} messages", msgs.len());
        assert!(msgs.iter().any(|m| m.four_octet_as));
        assert!(msgs.iter().all(|m| m.message.len() >= 19));
    }

    #[test]
    fn truncated_data_is_an_error() {
        assert!(parse(&[0, 0, 0, 1, 0, 16, 0, 4, 0, 0, 0, 50, 1, 2]).is_err());
    }
}
