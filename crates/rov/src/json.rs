//! Reading and writing rpki-client's `vrps.json` shape.
//!
//! rpki-client (and StayRTR, which serves such a file) uses
//! `{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 64496}],
//! "aspas": [{"customer_asid": 64496, "providers": [64497]}]}`; the `asn`
//! may also be a string `"AS64496"`, as older exporters wrote it. Other
//! keys (`metadata`, `ta`, `expires`, `bgpsec_keys`) are ignored.
//!
//! This module is for tests, the demo and the ASPA fallback; the route
//! server normally gets its data over RTR.

use serde::{Deserialize, Serialize};

use crate::aspa::AspaTable;
use crate::vrp::{Vrp, VrpTable};

/// The JSON could not be read as rpki-client VRP data.
#[derive(Debug)]
pub enum JsonError {
    /// The text is not JSON of the expected shape.
    Syntax(serde_json::Error),
    /// An entry is well-formed JSON but not a valid VRP or ASPA.
    Entry {
        /// Index in the `roas` or `aspas` array.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonError::Syntax(e) => write!(f, "not rpki-client VRP JSON: {e}"),
            JsonError::Entry { index, reason } => write!(f, "entry {index}: {reason}"),
        }
    }
}

impl std::error::Error for JsonError {}

#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum JsonAsn {
    Num(u32),
    Text(String),
}

impl JsonAsn {
    fn get(&self) -> Result<u32, String> {
        match self {
            JsonAsn::Num(n) => Ok(*n),
            JsonAsn::Text(s) => {
                let t = s.trim();
                let digits = t
                    .strip_prefix("AS")
                    .or_else(|| t.strip_prefix("as"))
                    .unwrap_or(t);
                digits
                    .parse()
                    .map_err(|_| format!("{s:?} is not an AS number"))
            }
        }
    }
}

#[derive(Deserialize, Serialize)]
struct JsonRoa {
    prefix: String,
    #[serde(rename = "maxLength")]
    max_length: u8,
    asn: JsonAsn,
}

#[derive(Deserialize, Serialize)]
struct JsonAspa {
    customer_asid: u32,
    providers: Vec<JsonAsn>,
}

#[derive(Deserialize, Serialize)]
struct JsonFile {
    #[serde(default)]
    roas: Vec<JsonRoa>,
    #[serde(default)]
    aspas: Vec<JsonAspa>,
}

/// The `aspas` key alone: the `roas` of the same file (millions in a
/// full rpki-client export) are skipped by the parser, not collected.
#[derive(Deserialize)]
struct JsonAspasOnly {
    #[serde(default)]
    aspas: Vec<JsonAspa>,
}

fn aspa_table(aspas: &[JsonAspa]) -> Result<AspaTable, JsonError> {
    let mut table = AspaTable::default();
    for (index, a) in aspas.iter().enumerate() {
        let providers = a
            .providers
            .iter()
            .map(JsonAsn::get)
            .collect::<Result<Vec<u32>, String>>()
            .map_err(|reason| JsonError::Entry {
                index,
                reason: format!("aspas: {reason}"),
            })?;
        table.insert(a.customer_asid, providers);
    }
    Ok(table)
}

impl AspaTable {
    /// Reads only the `aspas` of rpki-client JSON text (the ROAs are
    /// skipped without being kept or checked).
    pub fn from_json(text: &str) -> Result<AspaTable, JsonError> {
        let file: JsonAspasOnly = serde_json::from_str(text).map_err(JsonError::Syntax)?;
        aspa_table(&file.aspas)
    }
}

impl VrpTable {
    /// Parses rpki-client `vrps.json` text (the `roas` and `aspas` keys).
    pub fn from_json(text: &str) -> Result<VrpTable, JsonError> {
        let file: JsonFile = serde_json::from_str(text).map_err(JsonError::Syntax)?;
        let mut vrps = Vec::with_capacity(file.roas.len());
        for (index, r) in file.roas.iter().enumerate() {
            let entry = |reason: String| JsonError::Entry { index, reason };
            let prefix = r.prefix.parse().map_err(|e| entry(format!("roas: {e}")))?;
            let asn = r.asn.get().map_err(|e| entry(format!("roas: {e}")))?;
            vrps.push(
                Vrp::new(prefix, r.max_length, asn).map_err(|e| entry(format!("roas: {e}")))?,
            );
        }
        drop(file.roas);
        Ok(VrpTable::new(vrps, aspa_table(&file.aspas)?))
    }

    /// Writes the table in rpki-client `vrps.json` shape (with a
    /// `metadata` object giving the counts), e.g. to feed StayRTR.
    pub fn to_json(&self) -> String {
        let roas: Vec<JsonRoa> = self
            .vrps()
            .map(|v| JsonRoa {
                prefix: v.prefix.to_string(),
                max_length: v.max_len,
                asn: JsonAsn::Num(v.asn),
            })
            .collect();
        let aspas: Vec<JsonAspa> = self
            .aspas()
            .records()
            .into_iter()
            .map(|(c, p)| JsonAspa {
                customer_asid: c,
                providers: p.iter().map(|a| JsonAsn::Num(*a)).collect(),
            })
            .collect();
        let value = serde_json::json!({
            "metadata": { "roas": roas.len(), "aspas": aspas.len() },
            "roas": roas,
            "aspas": aspas,
        });
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrp::RovState;

    #[test]
    fn reads_rpki_client_shape() {
        let text = r#"{"metadata":{"buildtime":"2026-01-01T00:00:00Z"},
            "roas":[{"prefix":"192.0.2.0/24","maxLength":24,"asn":64496,"ta":"x"},
                    {"prefix":"2001:db8::/32","maxLength":48,"asn":"AS64497"}],
            "aspas":[{"customer_asid":64496,"expires":1,"providers":[64510,64511]}]}"#;
        let t = VrpTable::from_json(text).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.rov(&"2001:db8:5::/48".parse().unwrap(), Some(64497)),
            RovState::Valid
        );
        assert_eq!(t.aspas().providers(64496), Some(&[64510, 64511][..]));
        assert_eq!(&AspaTable::from_json(text).unwrap(), t.aspas());
        let again = VrpTable::from_json(&t.to_json()).unwrap();
        assert!(again.vrps().eq(t.vrps()));
        assert_eq!(again.aspas(), t.aspas());
    }

    #[test]
    fn bad_entries_are_errors() {
        for bad in [
            r#"{"roas":[{"prefix":"192.0.2.0/33","maxLength":24,"asn":1}]}"#,
            r#"{"roas":[{"prefix":"192.0.2.0/24","maxLength":23,"asn":1}]}"#,
            r#"{"roas":[{"prefix":"192.0.2.0/24","maxLength":24,"asn":"ASx"}]}"#,
            r#"{"roas":[{"prefix":"192.0.2.0/24","maxLength":24}]}"#,
            r#"{"roas":"#,
        ] {
            assert!(VrpTable::from_json(bad).is_err(), "{bad}");
        }
    }
}
