//! NetFlow version 9 (RFC 3954) packet decoding: the packet header (§5.1),
//! template flowsets (§5.2), options template flowsets (§6.1) and data
//! flowsets left as borrowed bytes for the template cache (§5.3).
//!
//! Like [`crate::ipfix`], this is the stateless half; the collector applies
//! templates per (exporter address, source ID) and decodes data flowsets.
//! NetFlow v9 has no template withdrawal: templates expire (§9). Options
//! scope fields (§6.1: System, Interface, Line Card, Cache, Template) are a
//! separate number space and are not read as information elements.

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::template::{FieldSpec, Template};

/// FlowSet ID of a template flowset.
pub const FLOWSET_TEMPLATE: u16 = 0;
/// FlowSet ID of an options template flowset.
pub const FLOWSET_OPTIONS_TEMPLATE: u16 = 1;
/// Octets of the packet header.
pub const HEADER_LEN: usize = 20;

/// A decoded NetFlow v9 export packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Records in the packet, as the exporter counted them.
    pub count: u16,
    /// Exporter uptime in milliseconds.
    pub sys_uptime_ms: u32,
    /// Export time, seconds since the Unix epoch.
    pub unix_secs: u32,
    /// Packet sequence number, per source ID.
    pub sequence: u32,
    /// Source ID (observation domain).
    pub source_id: u32,
    /// The flowsets, in order.
    pub flowsets: Vec<FlowSet<'a>>,
}

/// One flowset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowSet<'a> {
    /// Templates or options templates.
    Templates(Vec<Template>),
    /// A data flowset: the template ID and the records with any padding.
    Data {
        /// Template ID (= flowset ID).
        template_id: u16,
        /// The records, undecoded.
        body: &'a [u8],
    },
    /// A flowset with a reserved ID (2–255), skipped.
    Reserved {
        /// Its flowset ID.
        id: u16,
    },
}

/// Decodes a NetFlow v9 export packet.
pub fn decode(buf: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let version = r.u16("NetFlow v9 header")?;
    if version != 9 {
        return Err(DecodeError::Version {
            expected: 9,
            found: u32::from(version),
        });
    }
    let count = r.u16("NetFlow v9 header")?;
    let sys_uptime_ms = r.u32("NetFlow v9 header")?;
    let unix_secs = r.u32("NetFlow v9 header")?;
    let sequence = r.u32("NetFlow v9 header")?;
    let source_id = r.u32("NetFlow v9 header")?;
    let mut flowsets = Vec::new();
    while !r.is_empty() {
        // Some exporters pad the packet itself; fewer than 4 octets is padding.
        if r.remaining() < 4 {
            break;
        }
        let id = r.u16("flowset header")?;
        let len = usize::from(r.u16("flowset header")?);
        if len < 4 {
            return Err(DecodeError::Length {
                what: "NetFlow v9 flowset",
                claimed: len,
            });
        }
        let body = r.take(len - 4, "flowset")?;
        flowsets.push(match id {
            FLOWSET_TEMPLATE => FlowSet::Templates(template_flowset(body)?),
            FLOWSET_OPTIONS_TEMPLATE => FlowSet::Templates(options_flowset(body)?),
            2..=255 => FlowSet::Reserved { id },
            _ => FlowSet::Data {
                template_id: id,
                body,
            },
        });
    }
    Ok(Packet {
        count,
        sys_uptime_ms,
        unix_secs,
        sequence,
        source_id,
        flowsets,
    })
}

fn fields(r: &mut Reader<'_>, count: usize, id: u16) -> Result<Vec<FieldSpec>, DecodeError> {
    if count.saturating_mul(4) > r.remaining() {
        return Err(DecodeError::Template {
            id,
            reason: "field count beyond the flowset",
        });
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(FieldSpec {
            id: r.u16("field specifier")?,
            enterprise: None,
            length: r.u16("field specifier")?,
        });
    }
    Ok(out)
}

fn template_flowset(body: &[u8]) -> Result<Vec<Template>, DecodeError> {
    let mut r = Reader::new(body);
    let mut out = Vec::new();
    while r.remaining() >= 4 && !r.rest().iter().all(|b| *b == 0) {
        let id = r.u16("template record")?;
        let count = usize::from(r.u16("template record")?);
        let t = Template {
            id,
            scope_fields: 0,
            fields: fields(&mut r, count, id)?,
        };
        t.validate(false)?;
        out.push(t);
    }
    Ok(out)
}

fn options_flowset(body: &[u8]) -> Result<Vec<Template>, DecodeError> {
    let mut r = Reader::new(body);
    let mut out = Vec::new();
    while r.remaining() >= 6 && !r.rest().iter().all(|b| *b == 0) {
        let id = r.u16("options template record")?;
        let scope_len = usize::from(r.u16("options template record")?);
        let option_len = usize::from(r.u16("options template record")?);
        if scope_len % 4 != 0 || option_len % 4 != 0 || scope_len == 0 {
            return Err(DecodeError::Template {
                id,
                reason: "scope or option length not a positive multiple of 4",
            });
        }
        let scope = scope_len / 4;
        let mut all = fields(&mut r, scope, id)?;
        all.extend(fields(&mut r, option_len / 4, id)?);
        let t = Template {
            id,
            scope_fields: u16::try_from(scope).unwrap_or(u16::MAX),
            fields: all,
        };
        t.validate(false)?;
        out.push(t);
    }
    Ok(out)
}
