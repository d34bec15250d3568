//! Templates shared by IPFIX and NetFlow v9: the template cache per
//! (exporter address, observation domain), sampler tables learned from
//! options data, and the decoding of one data record into the information
//! elements caribix uses.
//!
//! Templates live until withdrawn (IPFIX, RFC 7011 §8.1) or until they have
//! not been refreshed for the configured timeout (RFC 7011 §8.4 for UDP,
//! RFC 3954 §9). Fields are identified by information element ID (RFC 7012,
//! IANA "IPFIX Information Elements"; NetFlow v9 field types 1–79 are the same
//! numbers, RFC 3954 §8). Enterprise-specific fields are skipped. Values of
//! the unsigned counters may use reduced-size encoding (RFC 7011 §6.2).
//!
//! Not here: subTemplateList and other structured data (RFC 6313), which are
//! skipped as opaque octets.

use crate::error::DecodeError;
use crate::reader::{be_uint, Reader};
use crate::record::{MacAddr, UnixMillis};
use crate::FastMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Length value that marks a variable-length field (RFC 7011 §7).
pub const VARIABLE_LENGTH: u16 = 65535;

/// One field of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Information element ID (without the enterprise bit).
    pub id: u16,
    /// Enterprise number for enterprise-specific elements.
    pub enterprise: Option<u32>,
    /// Length in octets, or [`VARIABLE_LENGTH`].
    pub length: u16,
}

/// A template or options template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Template ID (256 and above).
    pub id: u16,
    /// How many of the leading fields are scope fields (0 for a template).
    pub scope_fields: u16,
    /// The fields, scope fields first.
    pub fields: Vec<FieldSpec>,
}

impl Template {
    /// Whether this is an options template.
    pub fn is_options(&self) -> bool {
        self.scope_fields > 0
    }

    /// The smallest record this template can describe: fixed lengths plus
    /// one octet per variable-length field. Always at least 1 for a template
    /// that passed [`Template::validate`].
    pub fn min_record_len(&self) -> usize {
        self.fields
            .iter()
            .map(|f| {
                if f.length == VARIABLE_LENGTH {
                    1
                } else {
                    usize::from(f.length)
                }
            })
            .sum()
    }

    /// Checks what a data set decoder relies on: at least one field, no
    /// zero-length field, and variable length only where the protocol has
    /// it (IPFIX).
    pub fn validate(&self, variable_allowed: bool) -> Result<(), DecodeError> {
        let err = |reason| DecodeError::Template {
            id: self.id,
            reason,
        };
        if self.id < 256 {
            return Err(err("template ID below 256"));
        }
        if self.fields.is_empty() {
            return Err(err("no fields"));
        }
        if usize::from(self.scope_fields) > self.fields.len() {
            return Err(err("more scope fields than fields"));
        }
        for f in &self.fields {
            if f.length == 0 {
                return Err(err("zero-length field"));
            }
            if f.length == VARIABLE_LENGTH && !variable_allowed {
                return Err(err("variable-length field in NetFlow v9"));
            }
        }
        Ok(())
    }
}

/// Key of the template cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    exporter: IpAddr,
    domain: u32,
    id: u16,
}

#[derive(Debug, Clone)]
struct Entry {
    // Shared so a lookup costs a reference count, not a copy of the fields.
    template: Arc<Template>,
    refreshed: UnixMillis,
}

/// Result of a template lookup.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// A live template.
    Found(&'a Arc<Template>),
    /// Never learned, or withdrawn.
    Missing,
    /// Learned, but not refreshed within the timeout; now removed.
    Expired,
}

/// Templates per (exporter, observation domain, template ID).
#[derive(Debug, Clone)]
pub struct TemplateCache {
    entries: FastMap<Key, Entry>,
    timeout_ms: Option<u64>,
}

impl TemplateCache {
    /// A cache whose templates expire after `timeout_ms` without refresh
    /// (`None`: never).
    pub fn new(timeout_ms: Option<u64>) -> Self {
        TemplateCache {
            entries: FastMap::default(),
            timeout_ms,
        }
    }

    /// Number of templates held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Learns or refreshes a template. A new template is refused (returns
    /// false) when the cache already holds `limit` templates, so that
    /// exporters (or spoofed source addresses) cannot grow it without bound.
    pub fn insert(
        &mut self,
        exporter: IpAddr,
        domain: u32,
        template: Template,
        now: UnixMillis,
        limit: usize,
    ) -> bool {
        let key = Key {
            exporter,
            domain,
            id: template.id,
        };
        if self.entries.len() >= limit && !self.entries.contains_key(&key) {
            return false;
        }
        self.entries.insert(
            key,
            Entry {
                template: Arc::new(template),
                refreshed: now,
            },
        );
        true
    }

    /// Withdraws one template; returns whether it existed.
    pub fn withdraw(&mut self, exporter: IpAddr, domain: u32, id: u16) -> bool {
        self.entries
            .remove(&Key {
                exporter,
                domain,
                id,
            })
            .is_some()
    }

    /// Withdraws every template (or every options template) of a domain;
    /// returns how many went.
    pub fn withdraw_all(&mut self, exporter: IpAddr, domain: u32, options: bool) -> usize {
        let before = self.entries.len();
        self.entries.retain(|k, e| {
            !(k.exporter == exporter && k.domain == domain && e.template.is_options() == options)
        });
        before - self.entries.len()
    }

    /// Looks a template up, expiring it if it is stale.
    pub fn get(&mut self, exporter: IpAddr, domain: u32, id: u16, now: UnixMillis) -> Lookup<'_> {
        let key = Key {
            exporter,
            domain,
            id,
        };
        let stale = match (self.entries.get(&key), self.timeout_ms) {
            (None, _) => return Lookup::Missing,
            (Some(e), Some(t)) => now.0.saturating_sub(e.refreshed.0) > t,
            (Some(_), None) => false,
        };
        if stale {
            self.entries.remove(&key);
            return Lookup::Expired;
        }
        match self.entries.get(&key) {
            Some(e) => Lookup::Found(&e.template),
            None => Lookup::Missing,
        }
    }

    /// Removes every stale template; returns how many.
    pub fn sweep(&mut self, now: UnixMillis) -> usize {
        let Some(t) = self.timeout_ms else { return 0 };
        let before = self.entries.len();
        self.entries
            .retain(|_, e| now.0.saturating_sub(e.refreshed.0) <= t);
        before - self.entries.len()
    }
}

/// Sampling configuration learned from options data, per (exporter, domain).
#[derive(Debug, Clone, Default)]
pub struct Samplers {
    by_domain: FastMap<(IpAddr, u32), SamplerTable>,
}

#[derive(Debug, Clone, Default)]
struct SamplerTable {
    /// The rate of the last options record that carried no sampler ID.
    default: Option<u32>,
    /// Rates by sampler ID (NetFlow v9 FLOW_SAMPLER_ID 48, IPFIX
    /// selectorId 302).
    by_id: FastMap<u64, u32>,
}

impl Samplers {
    /// Records the rate an options record announced.
    pub fn learn(&mut self, exporter: IpAddr, domain: u32, sampler: Option<u64>, rate: u32) {
        let t = self.by_domain.entry((exporter, domain)).or_default();
        match sampler {
            Some(id) => {
                t.by_id.insert(id, rate);
                // A single sampler is also the domain's rate.
                if t.by_id.len() == 1 {
                    t.default = Some(rate);
                }
            }
            None => t.default = Some(rate),
        }
    }

    /// The rate for a data record: by its sampler ID, else the domain's.
    pub fn rate(&self, exporter: IpAddr, domain: u32, sampler: Option<u64>) -> Option<u32> {
        let t = self.by_domain.get(&(exporter, domain))?;
        sampler
            .and_then(|id| t.by_id.get(&id).copied())
            .or(t.default)
    }
}

/// The information elements of one data record that caribix uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// octetDeltaCount (1), or octetTotalCount (85) when absent.
    pub octets: Option<u64>,
    /// packetDeltaCount (2), or packetTotalCount (86) when absent.
    pub packets: Option<u64>,
    octets_total: Option<u64>,
    packets_total: Option<u64>,
    /// protocolIdentifier (4).
    pub protocol: Option<u8>,
    /// sourceTransportPort (7).
    pub src_port: Option<u16>,
    /// destinationTransportPort (11).
    pub dst_port: Option<u16>,
    /// sourceIPv4Address (8) or sourceIPv6Address (27).
    pub src_ip: Option<IpAddr>,
    /// destinationIPv4Address (12) or destinationIPv6Address (28).
    pub dst_ip: Option<IpAddr>,
    /// ingressInterface (10).
    pub ingress_if: Option<u32>,
    /// egressInterface (14).
    pub egress_if: Option<u32>,
    /// bgpSourceAsNumber (16).
    pub src_as: Option<u32>,
    /// bgpDestinationAsNumber (17).
    pub dst_as: Option<u32>,
    /// flowEndSysUpTime (21), milliseconds of exporter uptime.
    pub end_uptime_ms: Option<u64>,
    /// flowStartSysUpTime (22).
    pub start_uptime_ms: Option<u64>,
    /// flowEndSeconds (151) or flowEndMilliseconds (153), as Unix ms.
    pub end_ms: Option<u64>,
    /// flowStartSeconds (150) or flowStartMilliseconds (152), as Unix ms.
    pub start_ms: Option<u64>,
    /// systemInitTimeMilliseconds (160).
    pub system_init_ms: Option<u64>,
    /// sourceMacAddress (56), or postSourceMacAddress (81), which pmacct
    /// sends for flows exported in the output direction.
    pub src_mac: Option<MacAddr>,
    /// destinationMacAddress (80), or postDestinationMacAddress (57).
    pub dst_mac: Option<MacAddr>,
    post_dst_mac: Option<MacAddr>,
    post_src_mac: Option<MacAddr>,
    /// vlanId (58) or dot1qVlanId (243).
    pub vlan: Option<u16>,
    /// ipVersion (60).
    pub ip_version: Option<u8>,
    /// The 1-in-N rate from samplingInterval (34), samplerRandomInterval
    /// (50) or samplingPacketInterval/Space (305/306).
    pub sampling_rate: Option<u32>,
    /// samplingAlgorithm (35).
    pub sampling_algorithm: Option<u8>,
    sampling_interval: Option<u64>,
    sampler_random_interval: Option<u64>,
    packet_interval: Option<u64>,
    packet_space: Option<u64>,
    /// FLOW_SAMPLER_ID (48) or selectorId (302).
    pub sampler_id: Option<u64>,
}

fn ipv4(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 4] = b.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(a)))
}

fn ipv6(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 16] = b.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

fn mac(b: &[u8]) -> Option<MacAddr> {
    let a: [u8; 6] = b.try_into().ok()?;
    Some(MacAddr(a))
}

fn narrow<T: TryFrom<u64>>(b: &[u8]) -> Option<T> {
    be_uint(b).and_then(|v| T::try_from(v).ok())
}

fn rate_of(v: Option<u64>) -> Option<u32> {
    v.filter(|v| *v > 0).and_then(|v| u32::try_from(v).ok())
}

impl Fields {
    fn set(&mut self, id: u16, b: &[u8]) {
        match id {
            1 => self.octets = be_uint(b),
            2 => self.packets = be_uint(b),
            4 => self.protocol = narrow(b),
            7 => self.src_port = narrow(b),
            8 => self.src_ip = ipv4(b),
            10 => self.ingress_if = narrow(b),
            11 => self.dst_port = narrow(b),
            12 => self.dst_ip = ipv4(b),
            14 => self.egress_if = narrow(b),
            16 => self.src_as = narrow(b),
            17 => self.dst_as = narrow(b),
            21 => self.end_uptime_ms = be_uint(b),
            22 => self.start_uptime_ms = be_uint(b),
            27 => self.src_ip = ipv6(b),
            28 => self.dst_ip = ipv6(b),
            34 => self.sampling_interval = be_uint(b),
            35 => self.sampling_algorithm = narrow(b),
            48 | 302 => self.sampler_id = be_uint(b),
            50 => self.sampler_random_interval = be_uint(b),
            56 => self.src_mac = mac(b),
            57 => self.post_dst_mac = mac(b),
            58 | 243 => self.vlan = narrow::<u16>(b).map(|v| v & 0x0fff),
            60 => self.ip_version = narrow(b),
            80 => self.dst_mac = mac(b),
            81 => self.post_src_mac = mac(b),
            85 => self.octets_total = be_uint(b),
            86 => self.packets_total = be_uint(b),
            150 => self.start_ms = be_uint(b).map(|s| s.saturating_mul(1000)),
            151 => self.end_ms = be_uint(b).map(|s| s.saturating_mul(1000)),
            152 => self.start_ms = be_uint(b),
            153 => self.end_ms = be_uint(b),
            160 => self.system_init_ms = be_uint(b),
            305 => self.packet_interval = be_uint(b),
            306 => self.packet_space = be_uint(b),
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.octets = self.octets.or(self.octets_total);
        self.packets = self.packets.or(self.packets_total);
        self.dst_mac = self.dst_mac.or(self.post_dst_mac);
        self.src_mac = self.src_mac.or(self.post_src_mac);
        let psamp = match (self.packet_interval, self.packet_space) {
            // Systematic count-based sampling (RFC 5475 §5.1): take
            // `interval` packets, skip `space`.
            (Some(i), Some(s)) if i > 0 => Some(i.saturating_add(s) / i),
            // Exporters that send 305 alone put the 1-in-N rate there.
            (Some(i), None) => Some(i),
            _ => None,
        };
        self.sampling_rate = rate_of(self.sampling_interval)
            .or(rate_of(self.sampler_random_interval))
            .or(rate_of(psamp));
    }
}

/// Decodes one data record of `template` from `r` (RFC 7011 §3.4.3,
/// variable-length fields §7; RFC 3954 §5.3). With `skip_scope` the scope
/// fields are not read as information elements (NetFlow v9 scope types are
/// a number space of their own).
pub(crate) fn decode_record(
    template: &Template,
    r: &mut Reader<'_>,
    skip_scope: bool,
) -> Result<Fields, DecodeError> {
    let mut f = Fields::default();
    let skip = if skip_scope {
        usize::from(template.scope_fields)
    } else {
        0
    };
    for (i, spec) in template.fields.iter().enumerate() {
        let len = if spec.length == VARIABLE_LENGTH {
            match r.u8("variable-length field")? {
                255 => usize::from(r.u16("variable-length field")?),
                n => usize::from(n),
            }
        } else {
            usize::from(spec.length)
        };
        let bytes = r.take(len, "data record field")?;
        if spec.enterprise.is_none() && i >= skip {
            f.set(spec.id, bytes);
        }
    }
    f.finish();
    Ok(f)
}
