//! IX-F Member Export, schema version 1.0 (the JSON member list that IXP
//! Manager and other IXP tools publish and PeeringDB imports): export of a
//! [`Config`] and import of another IXP's export into a caribix
//! configuration skeleton, so that an IXP can migrate its member list.
//!
//! Export follows `ixp-member-list-1.0.schema.json` (JSON Schema draft-04):
//! one `ixp_list` entry per IXP with its VLANs, one `member_list` entry per
//! AS number with one connection per IXP, and per peering LAN the member's
//! addresses, AS-SET (`as_macro`), max-prefix, route-server flag and MACs.
//! Switches and interface speeds are not in caribix's model and are not
//! exported.
//!
//! Import reads what caribix can use (IXPs, VLANs with their subnets,
//! members, ASNs, names, addresses, MACs, AS-SETs, max-prefix) and reports,
//! rather than guesses, what it cannot: entries with unusable values are
//! skipped and listed in [`Imported::skipped`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use bgp_wire::Prefix;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::model::{Config, Ixp, MaxPrefix, Member, MemberPolicy, PeeringLan, DEFAULT_MAX_PREFIX};
use crate::syntax::{self, Mac};

/// The schema version written in exports.
pub const VERSION: &str = "1.0";

/// Why a configuration cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The schema requires `ixf_id` for every IXP and the configuration has none.
    MissingIxfId {
        /// Shortname of the IXP without one.
        ixp: String,
    },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::MissingIxfId { ixp } => write!(
                f,
                "IXP {ixp} has no ixf_id, which IX-F export requires; add ixf_id = N (the IXP's id in the IX-F database) to its [ixp] table"
            ),
        }
    }
}

impl std::error::Error for ExportError {}

/// Why an IX-F document cannot be imported at all.
#[derive(Debug)]
pub enum ImportError {
    /// Not JSON.
    Json(serde_json::Error),
    /// JSON, but not an IX-F member list.
    Shape(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Json(e) => write!(f, "not valid JSON: {e}"),
            ImportError::Shape(s) => write!(f, "not an IX-F member list: {s}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// Formats a Unix time as an RFC 3339 UTC timestamp (`2026-11-23T08:00:00Z`).
pub fn rfc3339(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    // Civil-from-days (proleptic Gregorian), after H. Hinnant's algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The current time as an RFC 3339 UTC timestamp.
pub fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

fn put_opt(obj: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        obj.insert(key.to_owned(), Value::String(v.clone()));
    }
}

fn subnet(p: Prefix) -> Value {
    json!({ "prefix": p.addr().to_string(), "mask_length": p.len() })
}

/// Builds the IX-F 1.0 member list of `cfg`, stamped with `timestamp`
/// (RFC 3339; see [`now`]).
pub fn export(cfg: &Config, timestamp: &str) -> Result<Value, ExportError> {
    let mut ixp_list = Vec::new();
    for ixp in &cfg.ixps {
        let ixf_id = ixp.ixf_id.ok_or_else(|| ExportError::MissingIxfId {
            ixp: ixp.shortname.clone(),
        })?;
        let mut o = Map::new();
        o.insert("ixp_id".into(), json!(ixp.ixp_id));
        o.insert("ixf_id".into(), json!(ixf_id));
        o.insert("shortname".into(), json!(ixp.shortname));
        o.insert("name".into(), json!(ixp.name));
        o.insert("country".into(), json!(ixp.country));
        put_opt(&mut o, "url", &ixp.url);
        if let Some(id) = ixp.peeringdb_id {
            o.insert("peeringdb_id".into(), json!(id));
        }
        put_opt(&mut o, "support_email", &ixp.support_email);
        put_opt(&mut o, "support_phone", &ixp.support_phone);
        put_opt(&mut o, "emergency_email", &ixp.emergency_email);
        put_opt(&mut o, "emergency_phone", &ixp.emergency_phone);
        let vlans: Vec<Value> = cfg
            .lans_of(&ixp.shortname)
            .map(|lan| {
                let mut v = Map::new();
                v.insert("id".into(), json!(lan.vlan));
                v.insert("name".into(), json!(lan.name));
                if let Some(p) = lan.ipv4 {
                    v.insert("ipv4".into(), subnet(p));
                }
                if let Some(p) = lan.ipv6 {
                    v.insert("ipv6".into(), subnet(p));
                }
                Value::Object(v)
            })
            .collect();
        o.insert("vlan".into(), Value::Array(vlans));
        ixp_list.push(Value::Object(o));
    }

    // One member_list entry per AS number, one connection per IXP entry.
    let mut by_asn: BTreeMap<u32, Vec<&Member>> = BTreeMap::new();
    for m in &cfg.members {
        by_asn.entry(m.asn).or_default().push(m);
    }
    let mut member_list = Vec::new();
    for (asn, entries) in by_asn {
        let Some(first) = entries.first() else {
            continue;
        };
        let mut o = Map::new();
        o.insert("asnum".into(), json!(asn));
        o.insert("member_type".into(), json!("peering"));
        o.insert("name".into(), json!(first.name));
        put_opt(&mut o, "url", &first.url);
        put_opt(&mut o, "peering_policy", &first.peering_policy);
        let emails: Vec<&String> = entries.iter().flat_map(|m| &m.contact_email).collect();
        if !emails.is_empty() {
            o.insert("contact_email".into(), json!(emails));
        }
        let mut connections = Vec::new();
        for m in &entries {
            let Some(ixp) = cfg.ixp(&m.ixp) else { continue };
            let vlan_list: Vec<Value> = cfg
                .lans_of(&m.ixp)
                .flat_map(|lan| vlan_entries(m, lan))
                .collect();
            connections.push(json!({
                "ixp_id": ixp.ixp_id,
                "state": "active",
                "if_list": [],
                "vlan_list": vlan_list,
            }));
        }
        o.insert("connection_list".into(), Value::Array(connections));
        member_list.push(Value::Object(o));
    }
    Ok(json!({
        "version": VERSION,
        "timestamp": timestamp,
        "ixp_list": ixp_list,
        "member_list": member_list,
    }))
}

/// The `vlan_list` entries of one member on one LAN: its addresses of each
/// family in that LAN, paired by position (IX-F has one address per family
/// per entry).
fn vlan_entries(m: &Member, lan: &PeeringLan) -> Vec<Value> {
    let v4: Vec<Ipv4Addr> = m
        .ipv4
        .iter()
        .copied()
        .filter(|a| lan.contains(IpAddr::V4(*a)))
        .collect();
    let v6: Vec<Ipv6Addr> = m
        .ipv6
        .iter()
        .copied()
        .filter(|a| lan.contains(IpAddr::V6(*a)))
        .collect();
    let macs: Vec<String> = m.macs.iter().map(Mac::to_string).collect();
    let detail = |addr: String, max: u32| {
        let mut o = Map::new();
        o.insert("address".into(), json!(addr));
        if let Some(s) = &m.as_set {
            o.insert("as_macro".into(), json!(s));
        }
        o.insert("max_prefix".into(), json!(max));
        o.insert("routeserver".into(), json!(m.route_server));
        if !macs.is_empty() {
            o.insert("mac_addresses".into(), json!(macs));
        }
        Value::Object(o)
    };
    (0..v4.len().max(v6.len()))
        .map(|i| {
            let mut e = Map::new();
            e.insert("vlan_id".into(), json!(lan.vlan));
            if let Some(a) = v4.get(i) {
                e.insert("ipv4".into(), detail(a.to_string(), m.max_prefix.ipv4));
            }
            if let Some(a) = v6.get(i) {
                e.insert("ipv6".into(), detail(a.to_string(), m.max_prefix.ipv6));
            }
            Value::Object(e)
        })
        .collect()
}

/// [`export`] as pretty-printed JSON text.
pub fn export_json(cfg: &Config, timestamp: &str) -> Result<String, ExportError> {
    let v = export(cfg, timestamp)?;
    // Serialising a `Value` to a String cannot fail (no I/O, string keys).
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")
}

/// What an IX-F import produced: the parts of a caribix configuration it can
/// fill, and what it had to leave out.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Schema version of the imported document.
    pub version: String,
    /// Export timestamp of the imported document.
    pub timestamp: String,
    /// IXPs of `ixp_list`.
    pub ixps: Vec<Ixp>,
    /// Their VLANs that carry an IPv4 or IPv6 subnet.
    pub peering_lans: Vec<PeeringLan>,
    /// One member per AS number and IXP.
    pub members: Vec<Member>,
    /// Human-readable notes on everything skipped or guessed.
    pub skipped: Vec<String>,
}

fn get_str<'a>(o: &'a Value, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

fn get_u32(o: &Value, k: &str) -> Option<u32> {
    o.get(k)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

fn arr<'a>(o: &'a Value, k: &str) -> &'a [Value] {
    o.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Imports an IX-F member list (schema 0.6 to 1.0; the fields caribix uses
/// have not changed between them).
pub fn import(json_text: &str) -> Result<Imported, ImportError> {
    let doc: Value = serde_json::from_str(json_text).map_err(ImportError::Json)?;
    if !doc.is_object() {
        return Err(ImportError::Shape("the top level is not an object".into()));
    }
    let version = get_str(&doc, "version")
        .ok_or_else(|| ImportError::Shape("no \"version\"".into()))?
        .to_owned();
    if doc.get("member_list").and_then(Value::as_array).is_none() {
        return Err(ImportError::Shape("no \"member_list\" array".into()));
    }
    if doc.get("ixp_list").and_then(Value::as_array).is_none() {
        return Err(ImportError::Shape("no \"ixp_list\" array".into()));
    }
    let mut out = Imported {
        version,
        timestamp: get_str(&doc, "timestamp").unwrap_or("").to_owned(),
        ..Imported::default()
    };

    // IX-F ixp_id -> shortname
    let mut ixp_names: BTreeMap<u32, String> = BTreeMap::new();
    for (n, x) in arr(&doc, "ixp_list").iter().enumerate() {
        let Some(id) = get_u32(x, "ixp_id") else {
            out.skipped
                .push(format!("ixp_list[{n}]: no usable ixp_id, skipped"));
            continue;
        };
        let raw_short = get_str(x, "shortname").unwrap_or("");
        let mut short: String = raw_short
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if short.is_empty() {
            short = format!("IXP{id}");
        }
        if ixp_names.values().any(|s| *s == short) {
            short = format!("{short}-{id}");
        }
        if short != raw_short {
            out.skipped.push(format!(
                "ixp_list[{n}]: shortname `{raw_short}` written as `{short}`"
            ));
        }
        let country = match get_str(x, "country") {
            Some(c) if c.len() == 2 && c.chars().all(|c| c.is_ascii_alphabetic()) => {
                c.to_ascii_uppercase()
            }
            other => {
                out.skipped.push(format!(
                    "IXP {short}: country {other:?} is not a two-letter code; set it by hand (ZZ written)"
                ));
                "ZZ".to_owned()
            }
        };
        let url = get_str(x, "url")
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .map(str::to_owned);
        let email = |k: &str| get_str(x, k).filter(|e| e.contains('@')).map(str::to_owned);
        out.ixps.push(Ixp {
            shortname: short.clone(),
            name: get_str(x, "name").unwrap_or(&short).to_owned(),
            country,
            ixp_id: id,
            ixf_id: get_u32(x, "ixf_id"),
            peeringdb_id: get_u32(x, "peeringdb_id"),
            url,
            support_email: email("support_email"),
            support_phone: get_str(x, "support_phone").map(str::to_owned),
            emergency_email: email("emergency_email"),
            emergency_phone: get_str(x, "emergency_phone").map(str::to_owned),
        });
        for (k, vl) in arr(x, "vlan").iter().enumerate() {
            let vlan = get_u32(vl, "id")
                .filter(|v| (1..=4094).contains(v))
                .and_then(|v| u16::try_from(v).ok());
            let Some(vlan) = vlan else {
                out.skipped.push(format!(
                    "IXP {short} vlan[{k}]: id is not a VLAN number 1-4094, skipped"
                ));
                continue;
            };
            let fam = |key: &str| -> Option<Prefix> {
                let s = vl.get(key)?;
                let addr: IpAddr = get_str(s, "prefix")?.parse().ok()?;
                let len = u8::try_from(s.get("mask_length")?.as_u64()?).ok()?;
                Prefix::new(addr, len).ok()
            };
            let (ipv4, ipv6) = (fam("ipv4"), fam("ipv6"));
            if ipv4.is_none() && ipv6.is_none() {
                out.skipped.push(format!(
                    "IXP {short} VLAN {vlan}: no usable subnet, skipped"
                ));
                continue;
            }
            out.peering_lans.push(PeeringLan {
                name: get_str(vl, "name")
                    .filter(|s| !s.trim().is_empty())
                    .map_or_else(|| format!("vlan{vlan}"), str::to_owned),
                ixp: short.clone(),
                vlan,
                ipv4,
                ipv6,
            });
        }
        ixp_names.insert(id, short);
    }

    for (n, m) in arr(&doc, "member_list").iter().enumerate() {
        let Some(asn) = get_u32(m, "asnum") else {
            out.skipped
                .push(format!("member_list[{n}]: no usable asnum, skipped"));
            continue;
        };
        if let Some((why, _)) = syntax::asn_problem(i64::from(asn)) {
            out.skipped
                .push(format!("member_list[{n}]: {why}, skipped"));
            continue;
        }
        let name = get_str(m, "name")
            .filter(|s| !s.trim().is_empty())
            .map_or_else(|| format!("AS{asn}"), |s| s.trim().to_owned());
        if get_str(m, "member_type") == Some("ixp") {
            // The IXP's own route servers and collectors: in caribix they
            // are [route_server] tables, not members.
            out.skipped.push(format!(
                "AS{asn} ({name}) is the IXP's own infrastructure (member_type \"ixp\"), not imported as a member; describe route servers in [route_server]"
            ));
            continue;
        }
        for conn in arr(m, "connection_list") {
            if let Some(state) = get_str(conn, "state") {
                if !matches!(state, "active" | "connected") {
                    out.skipped.push(format!(
                        "AS{asn}: a connection in state \"{state}\", skipped"
                    ));
                    continue;
                }
            }
            let Some(ixp) = get_u32(conn, "ixp_id").and_then(|id| ixp_names.get(&id)) else {
                out.skipped.push(format!(
                    "AS{asn}: a connection refers to an ixp_id not in ixp_list, skipped"
                ));
                continue;
            };
            let member = match out
                .members
                .iter_mut()
                .position(|x| x.asn == asn && &x.ixp == ixp)
            {
                Some(i) => i,
                None => {
                    out.members.push(new_member(asn, &name, ixp, m));
                    out.members.len() - 1
                }
            };
            let mut notes = Vec::new();
            if let Some(mem) = out.members.get_mut(member) {
                for vl in arr(conn, "vlan_list") {
                    add_vlan_entry(mem, vl, &mut notes);
                }
            }
            out.skipped.extend(notes);
        }
    }
    for m in &mut out.members {
        if m.max_prefix.ipv4 == 0 {
            m.max_prefix.ipv4 = DEFAULT_MAX_PREFIX.ipv4;
        }
        if m.max_prefix.ipv6 == 0 {
            m.max_prefix.ipv6 = DEFAULT_MAX_PREFIX.ipv6;
        }
    }
    Ok(out)
}

fn new_member(asn: u32, name: &str, ixp: &str, m: &Value) -> Member {
    Member {
        asn,
        name: name.to_owned(),
        ixp: ixp.to_owned(),
        as_set: None,
        ipv4: Vec::new(),
        ipv6: Vec::new(),
        macs: Vec::new(),
        // 0 = not given yet; replaced by the defaults at the end.
        max_prefix: MaxPrefix { ipv4: 0, ipv6: 0 },
        url: get_str(m, "url")
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .map(str::to_owned),
        peering_policy: get_str(m, "peering_policy").map(str::to_owned),
        contact_email: arr(m, "contact_email")
            .iter()
            .filter_map(Value::as_str)
            .filter(|e| e.contains('@'))
            .map(str::to_owned)
            .collect(),
        route_server: false,
        passive: false,
        md5_password: None,
        gtsm: false,
        add_path: false,
        extra_next_hops: Vec::new(),
        policy: MemberPolicy::default(),
        bridge_opt_in: Vec::new(),
        bridge_opt_out: Vec::new(),
    }
}

fn add_vlan_entry(mem: &mut Member, vl: &Value, notes: &mut Vec<String>) {
    let asn = mem.asn;
    for fam in ["ipv4", "ipv6"] {
        let Some(d) = vl.get(fam) else { continue };
        if let Some(a) = get_str(d, "address") {
            match (fam, a.parse::<IpAddr>()) {
                ("ipv4", Ok(IpAddr::V4(x))) if !mem.ipv4.contains(&x) => mem.ipv4.push(x),
                ("ipv6", Ok(IpAddr::V6(x))) if !mem.ipv6.contains(&x) => mem.ipv6.push(x),
                (_, Ok(_)) => {}
                (_, Err(_)) => notes.push(format!(
                    "AS{asn}: {fam} address `{a}` is not an {fam} address, skipped"
                )),
            }
        }
        if let Some(s) = get_str(d, "as_macro") {
            match syntax::as_set_problem(s) {
                None if mem.as_set.is_none() => mem.as_set = Some(s.to_owned()),
                None => {}
                Some(e) => notes.push(format!("AS{asn}: as_macro {e}, skipped")),
            }
        }
        if let Some(mp) = d
            .get("max_prefix")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
        {
            let slot = if fam == "ipv4" {
                &mut mem.max_prefix.ipv4
            } else {
                &mut mem.max_prefix.ipv6
            };
            *slot = (*slot).max(mp);
        }
        // Absent means "not said": IXP Manager omits it for members without
        // route-server sessions only in older exports, so default to peering.
        if d.get("routeserver")
            .and_then(Value::as_bool)
            .unwrap_or(true)
        {
            mem.route_server = true;
        }
        for mac in arr(d, "mac_addresses") {
            let Some(text) = mac.as_str() else { continue };
            match text.parse::<Mac>() {
                Ok(x) if !mem.macs.contains(&x) => mem.macs.push(x),
                Ok(_) => {}
                Err(e) => notes.push(format!("AS{asn}: {e}, skipped")),
            }
        }
    }
}

#[derive(Serialize)]
struct Skeleton<'a> {
    ixp: &'a [Ixp],
    peering_lan: &'a [PeeringLan],
    member: &'a [Member],
}

impl Imported {
    /// The import as a caribix TOML file: IXPs, peering LANs and members,
    /// preceded by comments listing what was skipped and what to add (the
    /// route server, which IX-F does not describe).
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "# caribix configuration imported from an IX-F member list (version {}, exported {}).\n\
             # IX-F does not describe route servers: add a [route_server] table\n\
             # (asn, router_id, listen) before running it; `caribix check` says what is missing.\n",
            self.version, self.timestamp
        );
        for s in &self.skipped {
            out.push_str(&format!("# import note: {s}\n"));
        }
        out.push('\n');
        let sk = Skeleton {
            ixp: &self.ixps,
            peering_lan: &self.peering_lans,
            member: &self.members,
        };
        match toml::to_string(&sk) {
            Ok(s) => out.push_str(&s),
            Err(e) => out.push_str(&format!("# internal error: {e}\n")),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_267_286_400), "2010-02-27T16:00:00Z");
        assert_eq!(rfc3339(1_795_421_724), "2026-11-23T08:15:24Z");
    }

    #[test]
    fn import_rejects_non_ixf() {
        assert!(matches!(import("[1,2]"), Err(ImportError::Shape(_))));
        assert!(matches!(import("{"), Err(ImportError::Json(_))));
        assert!(matches!(
            import(r#"{"version":"1.0","ixp_list":[]}"#),
            Err(ImportError::Shape(_))
        ));
    }
}
