//! IPFIX (RFC 7011) message decoding: the message header (§3.1), set
//! headers (§3.3.2), template and options template records (§3.4.1,
//! §3.4.2) including template withdrawals (§8.1), and data sets left as
//! borrowed bytes for the template cache to decode (§3.4.3).
//!
//! This is the stateless half: [`decode`] checks the framing of a whole
//! message and parses its templates; the [`crate::collector`] applies them
//! to its [`crate::template::TemplateCache`] and decodes data sets in order.
//! Not here: SCTP and TCP transport specifics, IPFIX files (RFC 5655), and
//! structured data (RFC 6313).

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::template::{FieldSpec, Template};

/// Set ID of a template set.
pub const SET_TEMPLATE: u16 = 2;
/// Set ID of an options template set.
pub const SET_OPTIONS_TEMPLATE: u16 = 3;
/// Octets of the message header.
pub const HEADER_LEN: usize = 16;

/// A decoded IPFIX message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Export time, seconds since the Unix epoch.
    pub export_time: u32,
    /// Sequence number: data records sent before this message, per domain.
    pub sequence: u32,
    /// Observation domain ID.
    pub domain: u32,
    /// The sets, in order.
    pub sets: Vec<Set<'a>>,
}

/// One set of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Set<'a> {
    /// A template set (ID 2) or options template set (ID 3).
    Templates(Vec<TemplateRecord>),
    /// A data set: the template ID and the records with any padding.
    Data {
        /// Template ID (= set ID).
        template_id: u16,
        /// The records, undecoded.
        body: &'a [u8],
    },
    /// A set with a reserved ID (4–255), skipped.
    Reserved {
        /// Its set ID.
        id: u16,
    },
}

/// A record of a (options) template set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRecord {
    /// Define or refresh a template.
    Define(Template),
    /// Withdraw one template (§8.1: field count 0).
    Withdraw(u16),
    /// Withdraw all templates (`options == false`, template ID 2) or all
    /// options templates (`options == true`, template ID 3).
    WithdrawAll {
        /// Options templates rather than templates.
        options: bool,
    },
}

/// Decodes an IPFIX message.
pub fn decode(buf: &[u8]) -> Result<Message<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let version = r.u16("IPFIX header")?;
    if version != 10 {
        return Err(DecodeError::Version {
            expected: 10,
            found: u32::from(version),
        });
    }
    let length = usize::from(r.u16("IPFIX header")?);
    let export_time = r.u32("IPFIX header")?;
    let sequence = r.u32("IPFIX header")?;
    let domain = r.u32("IPFIX header")?;
    if length < HEADER_LEN || length > buf.len() {
        return Err(DecodeError::Length {
            what: "IPFIX message",
            claimed: length,
        });
    }
    if length < buf.len() {
        return Err(DecodeError::Trailing {
            what: "IPFIX message",
            extra: buf.len() - length,
        });
    }
    let mut sets = Vec::new();
    while !r.is_empty() {
        let id = r.u16("set header")?;
        let len = usize::from(r.u16("set header")?);
        if len < 4 {
            return Err(DecodeError::Length {
                what: "IPFIX set",
                claimed: len,
            });
        }
        let body = r.take(len - 4, "set")?;
        sets.push(match id {
            0 | 1 => return Err(DecodeError::SetId(id)),
            SET_TEMPLATE | SET_OPTIONS_TEMPLATE => {
                Set::Templates(template_set(body, id == SET_OPTIONS_TEMPLATE)?)
            }
            4..=255 => Set::Reserved { id },
            _ => Set::Data {
                template_id: id,
                body,
            },
        });
    }
    Ok(Message {
        export_time,
        sequence,
        domain,
        sets,
    })
}

fn template_set(body: &[u8], options: bool) -> Result<Vec<TemplateRecord>, DecodeError> {
    let mut r = Reader::new(body);
    let mut out = Vec::new();
    // A record needs at least its ID and field count; less is padding.
    while r.remaining() >= 4 {
        let id = r.u16("template record")?;
        let count = r.u16("template record")?;
        if count == 0 {
            let all_id = if options {
                SET_OPTIONS_TEMPLATE
            } else {
                SET_TEMPLATE
            };
            out.push(if id == all_id {
                TemplateRecord::WithdrawAll { options }
            } else if id < 256 {
                // Padding that happens to be 4 or more zero octets.
                if id == 0 && r.rest().iter().all(|b| *b == 0) {
                    break;
                }
                return Err(DecodeError::Template {
                    id,
                    reason: "withdrawal of a template ID below 256",
                });
            } else {
                TemplateRecord::Withdraw(id)
            });
            continue;
        }
        let scope = if options {
            let s = r.u16("options template record")?;
            if s == 0 || s > count {
                return Err(DecodeError::Template {
                    id,
                    reason: "scope field count 0 or above the field count",
                });
            }
            s
        } else {
            0
        };
        if usize::from(count) * 4 > r.remaining() {
            return Err(DecodeError::Count {
                what: "template field",
                claimed: u32::from(count),
            });
        }
        let mut fields = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let raw = r.u16("field specifier")?;
            let length = r.u16("field specifier")?;
            let enterprise = if raw & 0x8000 != 0 {
                Some(r.u32("enterprise number")?)
            } else {
                None
            };
            fields.push(FieldSpec {
                id: raw & 0x7fff,
                enterprise,
                length,
            });
        }
        let t = Template {
            id,
            scope_fields: scope,
            fields,
        };
        t.validate(true)?;
        out.push(TemplateRecord::Define(t));
    }
    Ok(out)
}
