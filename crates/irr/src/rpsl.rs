//! RPSL objects from IRR dump files: parsing and the database of the
//! classes a route server needs.
//!
//! The syntax follows RFC 2622 §2: an object is a run of `name: value`
//! lines ended by a blank line; attribute names are case-insensitive; a
//! line starting with a space, a tab or `+` continues the previous
//! attribute's value; text after `#` is a comment, and lines starting with
//! `#` or `%` (whois server remarks) are skipped. The classes kept are
//! `route` and `route6` (prefix → origin AS, RFC 2622 §4, RFC 4012 §3),
//! `as-set` (RFC 2622 §5.1, with hierarchical names such as
//! `AS65001:AS-CUSTOMERS` from RFC 2725 §10) and `aut-num` (RFC 2622 §6);
//! other classes are parsed and ignored.
//!
//! Not implemented: `mbrs-by-ref`/`member-of` membership (sets are made of
//! their `members:` only), route-sets, and RPSL policy expressions
//! (`import:`/`export:` are kept as text and not interpreted).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use bgp_wire::Prefix;

/// One attribute of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attr {
    /// The name, lower case.
    pub name: String,
    /// The value with continuation lines joined by a space and comments
    /// removed.
    pub value: String,
    /// 1-based line of the attribute's first line.
    pub line: usize,
}

/// One RPSL object: its class is the name of the first attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpslObject {
    /// The attributes in file order.
    pub attrs: Vec<Attr>,
}

impl RpslObject {
    /// The class (first attribute's name).
    pub fn class(&self) -> &str {
        self.attrs.first().map_or("", |a| a.name.as_str())
    }

    /// The key (first attribute's value).
    pub fn key(&self) -> &str {
        self.attrs.first().map_or("", |a| a.value.as_str())
    }

    /// The line where the object starts.
    pub fn line(&self) -> usize {
        self.attrs.first().map_or(0, |a| a.line)
    }

    /// All values of attribute `name` (lower case).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attr> + 'a {
        self.attrs.iter().filter(move |a| a.name == name)
    }
}

/// A dump could not be parsed; names the place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The file (or source name) being read.
    pub source: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and, where it helps, what was expected.
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

fn strip_comment(s: &str) -> &str {
    s.split('#').next().unwrap_or("")
}

/// Splits RPSL text into objects (RFC 2622 §2).
pub fn parse_objects(source: &str, text: &str) -> Result<Vec<RpslObject>, ParseError> {
    let mut objects = Vec::new();
    let mut current: Vec<Attr> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |reason: String| ParseError {
            source: source.to_string(),
            line,
            reason,
        };
        if raw.trim().is_empty() {
            if !current.is_empty() {
                objects.push(RpslObject {
                    attrs: std::mem::take(&mut current),
                });
            }
            continue;
        }
        if raw.starts_with('#') || raw.starts_with('%') {
            continue;
        }
        if let Some(rest) = raw
            .strip_prefix('+')
            .or_else(|| raw.strip_prefix(' '))
            .or_else(|| raw.strip_prefix('\t'))
        {
            let Some(last) = current.last_mut() else {
                return Err(err("continuation line outside an object".into()));
            };
            let more = strip_comment(rest).trim();
            if !more.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(more);
            }
            continue;
        }
        let Some((name, value)) = raw.split_once(':') else {
            return Err(err(format!(
                "expected \"attribute: value\", got {:?}",
                raw.chars().take(60).collect::<String>()
            )));
        };
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(err(format!("{name:?} is not an attribute name")));
        }
        current.push(Attr {
            name: name.to_ascii_lowercase(),
            value: strip_comment(value).trim().to_string(),
            line,
        });
    }
    if !current.is_empty() {
        objects.push(RpslObject { attrs: current });
    }
    Ok(objects)
}

/// Parses `AS65001` (any case) or asdot `AS1.10` (RFC 5396).
pub fn parse_asn(s: &str) -> Option<u32> {
    let t = s.trim();
    let digits = t
        .get(..2)
        .filter(|p| p.eq_ignore_ascii_case("AS"))
        .and(t.get(2..))?;
    if let Some((hi, lo)) = digits.split_once('.') {
        let hi: u16 = hi.parse().ok()?;
        let lo: u16 = lo.parse().ok()?;
        return Some(u32::from(hi) << 16 | u32::from(lo));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// True for an as-set name: every `:`-separated component is an AS number
/// or an `AS-` name, and at least one is an `AS-` name (RFC 2622 §5.1,
/// RFC 2725 §10).
pub fn is_as_set_name(s: &str) -> bool {
    let mut any_set = false;
    for part in s.split(':') {
        let is_set = part.len() > 3
            && part.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("AS-"))
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if is_set {
            any_set = true;
        } else if parse_asn(part).is_none() {
            return false;
        }
    }
    any_set
}

/// A member of an as-set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    /// An AS number.
    Asn(u32),
    /// Another as-set, upper case.
    Set(String),
}

/// An as-set definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsSet {
    /// The set's name as written.
    pub name: String,
    /// Its `members:`.
    pub members: Vec<Member>,
    /// Where it was defined ("file:line").
    pub defined_at: String,
}

/// An aut-num object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutNum {
    /// The AS number.
    pub asn: u32,
    /// Its `as-name:`.
    pub as_name: Option<String>,
    /// Its `member-of:` sets (upper case); not used for expansion.
    pub member_of: Vec<String>,
}

/// The route, route6, as-set and aut-num objects of one or more dumps.
#[derive(Clone, Debug, Default)]
pub struct IrrDb {
    routes: HashMap<u32, BTreeSet<Prefix>>,
    as_sets: HashMap<String, AsSet>,
    aut_nums: HashMap<u32, AutNum>,
    /// Things skipped on the way (unknown member syntax, redefinitions).
    pub warnings: Vec<String>,
}

/// Reading an IRR dump failed.
#[derive(Debug)]
pub enum IrrError {
    /// The file could not be read.
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// The file could not be parsed.
    Parse(ParseError),
}

impl std::fmt::Display for IrrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IrrError::Io { path, error } => write!(f, "{path}: {error}"),
            IrrError::Parse(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for IrrError {}

impl From<ParseError> for IrrError {
    fn from(e: ParseError) -> Self {
        IrrError::Parse(e)
    }
}

impl IrrDb {
    /// An empty database.
    pub fn new() -> IrrDb {
        IrrDb::default()
    }

    /// Reads a dump file and adds its objects.
    pub fn load_file(&mut self, path: &Path) -> Result<(), IrrError> {
        let bytes = std::fs::read(path).map_err(|error| IrrError::Io {
            path: path.display().to_string(),
            error,
        })?;
        // Old dumps carry Latin-1 in remarks; replace what is not UTF-8.
        let text = String::from_utf8_lossy(&bytes);
        self.load_str(&path.display().to_string(), &text)?;
        Ok(())
    }

    /// Parses RPSL text (named `source` in errors) and adds its objects.
    pub fn load_str(&mut self, source: &str, text: &str) -> Result<(), ParseError> {
        for obj in parse_objects(source, text)? {
            self.add(source, &obj)?;
        }
        Ok(())
    }

    fn add(&mut self, source: &str, obj: &RpslObject) -> Result<(), ParseError> {
        let err = |line: usize, reason: String| ParseError {
            source: source.to_string(),
            line,
            reason,
        };
        match obj.class() {
            class @ ("route" | "route6") => {
                let prefix: Prefix = obj
                    .key()
                    .parse()
                    .map_err(|e| err(obj.line(), format!("{class}: {e}")))?;
                let v6 = matches!(prefix, Prefix::V6(..));
                if v6 != (class == "route6") {
                    return Err(err(
                        obj.line(),
                        format!("{class}: {prefix} is of the wrong address family (route is IPv4, route6 IPv6)"),
                    ));
                }
                let mut origins = obj.values("origin").peekable();
                if origins.peek().is_none() {
                    return Err(err(
                        obj.line(),
                        format!("{class} {prefix} has no origin: attribute"),
                    ));
                }
                for o in origins {
                    let asn = parse_asn(&o.value).ok_or_else(|| {
                        err(o.line, format!("origin: {:?} is not an AS number", o.value))
                    })?;
                    self.routes.entry(asn).or_default().insert(prefix);
                }
            }
            "as-set" => {
                let name = obj.key().to_string();
                if !is_as_set_name(&name) {
                    return Err(err(
                        obj.line(),
                        format!(
                            "as-set: {name:?} is not an as-set name (AS-NAME or AS65001:AS-NAME)"
                        ),
                    ));
                }
                let mut members = Vec::new();
                for a in obj.values("members") {
                    for token in a.value.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
                        if let Some(asn) = parse_asn(token) {
                            members.push(Member::Asn(asn));
                        } else if is_as_set_name(token) {
                            members.push(Member::Set(token.to_ascii_uppercase()));
                        } else {
                            self.warnings.push(format!(
                                "{source}:{}: as-set {name}: member {token:?} skipped (not an AS or as-set)",
                                a.line
                            ));
                        }
                    }
                }
                let key = name.to_ascii_uppercase();
                let defined_at = format!("{source}:{}", obj.line());
                if let Some(old) = self.as_sets.get(&key) {
                    self.warnings.push(format!(
                        "{defined_at}: as-set {name} redefined (first at {}); the later one is used",
                        old.defined_at
                    ));
                }
                self.as_sets.insert(
                    key,
                    AsSet {
                        name,
                        members,
                        defined_at,
                    },
                );
            }
            "aut-num" => {
                let asn = parse_asn(obj.key()).ok_or_else(|| {
                    err(
                        obj.line(),
                        format!("aut-num: {:?} is not an AS number", obj.key()),
                    )
                })?;
                let member_of = obj
                    .values("member-of")
                    .flat_map(|a| {
                        a.value
                            .split([',', ' '])
                            .filter(|t| !t.is_empty())
                            .map(str::to_ascii_uppercase)
                    })
                    .collect();
                self.aut_nums.insert(
                    asn,
                    AutNum {
                        asn,
                        as_name: obj.values("as-name").next().map(|a| a.value.clone()),
                        member_of,
                    },
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// The prefixes of route and route6 objects with origin `asn`.
    pub fn routes_of(&self, asn: u32) -> impl Iterator<Item = &Prefix> {
        self.routes.get(&asn).into_iter().flatten()
    }

    /// The as-set called `name` (any case).
    pub fn as_set(&self, name: &str) -> Option<&AsSet> {
        self.as_sets.get(&name.to_ascii_uppercase())
    }

    /// The aut-num of `asn`.
    pub fn aut_num(&self, asn: u32) -> Option<&AutNum> {
        self.aut_nums.get(&asn)
    }

    /// Numbers of (route/route6 prefixes, as-sets, aut-nums).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.routes.values().map(BTreeSet::len).sum(),
            self.as_sets.len(),
            self.aut_nums.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asn_syntax() {
        assert_eq!(parse_asn("AS65001"), Some(65001));
        assert_eq!(parse_asn("as65001"), Some(65001));
        assert_eq!(parse_asn("AS1.10"), Some(65546));
        assert_eq!(parse_asn("AS4294967295"), Some(u32::MAX));
        for bad in [
            "AS4294967296",
            "AS",
            "65001",
            "AS-FOO",
            "AS+1",
            "AS1.",
            "AS70000.1",
            "Ä",
        ] {
            assert_eq!(parse_asn(bad), None, "{bad}");
        }
    }

    #[test]
    fn set_names() {
        for good in [
            "AS-FOO",
            "as-foo",
            "AS65001:AS-CUSTOMERS",
            "AS-A:AS-B",
            "AS65001:AS-X:AS65002",
        ] {
            assert!(is_as_set_name(good), "{good}");
        }
        for bad in ["AS65001", "FOO", "AS65001:FOO", "RS-FOO", "AS-", ""] {
            assert!(!is_as_set_name(bad), "{bad}");
        }
    }
}
