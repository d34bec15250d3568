//! The normalized flow record every decoder produces, and its small types.
//!
//! A [`FlowRecord`] is one observation — an sFlow packet sample or an
//! IPFIX/NetFlow v9 data record — with its counts already multiplied by the
//! sampling rate, so that aggregation never needs to know where it came from.
//! It carries both MAC and IP addresses when the exporter sent them, so that
//! attribution can use MACs at the IXP fabric and interface roles or
//! destination prefixes (the route server's RIB, RIR delegations) elsewhere.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error of [`MacAddr::from_str`](std::str::FromStr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacParseError(pub String);

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad MAC address {:?}: expected six hex octets like 02:00:5e:10:00:01",
            self.0
        )
    }
}

impl std::error::Error for MacParseError {}

impl std::str::FromStr for MacAddr {
    type Err = MacParseError;

    /// Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for slot in &mut out {
            let part = parts.next().ok_or_else(err)?;
            if part.len() != 2 {
                return Err(err());
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(MacAddr(out))
    }
}

/// Milliseconds since the Unix epoch: the collector's notion of time, given
/// by the caller (the crate reads no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// Converts a system time; times before 1970 become 0.
    pub fn from_system_time(t: SystemTime) -> Self {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis();
        UnixMillis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// Whole seconds.
    pub fn secs(self) -> u64 {
        self.0 / 1000
    }
}

/// Address family of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// Not IP, or unknown (ARP, a header too short to tell, a template
    /// without addresses).
    Other,
}

/// Which protocol and exporter a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowSource {
    /// An sFlow v5 flow sample.
    Sflow {
        /// Agent address from the datagram header.
        agent: IpAddr,
        /// Sub-agent ID.
        sub_agent: u32,
        /// Data source: (type << 24) | index, as in the compact form.
        source_id: u32,
    },
    /// An IPFIX data record.
    Ipfix {
        /// Observation domain ID.
        domain: u32,
        /// Template ID of the data set.
        template: u16,
    },
    /// A NetFlow v9 data record.
    NetflowV9 {
        /// Source ID (the observation domain of v9).
        source_id: u32,
        /// Template ID of the flowset.
        template: u16,
    },
}

/// One observation, normalized and scaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// Address the datagram came from (the UDP source given by the caller).
    pub exporter: IpAddr,
    /// Protocol-specific origin.
    pub source: FlowSource,
    /// Ethernet source address, if the exporter reported it.
    pub src_mac: Option<MacAddr>,
    /// Ethernet destination address, if the exporter reported it.
    pub dst_mac: Option<MacAddr>,
    /// IP source address.
    pub src_ip: Option<IpAddr>,
    /// IP destination address.
    pub dst_ip: Option<IpAddr>,
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// Transport source port (TCP, UDP).
    pub src_port: Option<u16>,
    /// Transport destination port (TCP, UDP).
    pub dst_port: Option<u16>,
    /// Octets, already multiplied by `sampling_rate`. For sFlow this is the
    /// frame length less the octets the agent stripped (the FCS); for
    /// IPFIX/NetFlow it is what the exporter counts (octetDeltaCount, the IP
    /// length).
    pub bytes: u64,
    /// Packets, already multiplied by `sampling_rate`.
    pub packets: u64,
    /// The 1-in-N rate applied (1 when unsampled or unknown).
    pub sampling_rate: u32,
    /// Input interface (ifIndex).
    pub ingress_if: Option<u32>,
    /// Output interface (ifIndex).
    pub egress_if: Option<u32>,
    /// VLAN ID (outer tag with QinQ).
    pub vlan: Option<u16>,
    /// BGP source AS as the exporter saw it.
    pub src_as: Option<u32>,
    /// BGP destination AS as the exporter saw it.
    pub dst_as: Option<u32>,
    /// When the traffic was seen: the flow end time when the exporter gave
    /// one, else the arrival time of the datagram.
    pub timestamp: UnixMillis,
}

impl FlowRecord {
    /// The address family, from the IP addresses when present.
    pub fn family(&self) -> Family {
        match (self.src_ip, self.dst_ip) {
            (Some(IpAddr::V4(_)), _) | (None, Some(IpAddr::V4(_))) => Family::Ipv4,
            (Some(IpAddr::V6(_)), _) | (None, Some(IpAddr::V6(_))) => Family::Ipv6,
            (None, None) => Family::Other,
        }
    }

    /// Whether this looks like a BGP session packet: TCP to or from port 179.
    pub fn is_bgp(&self) -> bool {
        self.protocol == Some(6) && (self.src_port == Some(179) || self.dst_port == Some(179))
    }
}
