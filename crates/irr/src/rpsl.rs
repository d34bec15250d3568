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

use std::collections::HashMap;
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
        ObjectRef(&self.attrs).class()
    }

    /// The key (first attribute's value).
    pub fn key(&self) -> &str {
        ObjectRef(&self.attrs).key()
    }

    /// The line where the object starts.
    pub fn line(&self) -> usize {
        ObjectRef(&self.attrs).line()
    }

    /// All values of attribute `name` (lower case).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attr> + 'a {
        ObjectRef(&self.attrs).values(name)
    }
}

/// A borrowed object: the attributes [`ObjectReader`] yields.
#[derive(Clone, Copy, Debug)]
pub struct ObjectRef<'a>(pub &'a [Attr]);

impl<'a> ObjectRef<'a> {
    /// The class (first attribute's name).
    pub fn class(self) -> &'a str {
        self.0.first().map_or("", |a| a.name.as_str())
    }

    /// The key (first attribute's value).
    pub fn key(self) -> &'a str {
        self.0.first().map_or("", |a| a.value.as_str())
    }

    /// The line where the object starts.
    pub fn line(self) -> usize {
        self.0.first().map_or(0, |a| a.line)
    }

    /// All values of attribute `name` (lower case).
    pub fn values(self, name: &'a str) -> impl Iterator<Item = &'a Attr> + 'a {
        self.0.iter().filter(move |a| a.name == name)
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

/// Reads RPSL objects one at a time (RFC 2622 §2) from buffered input,
/// reusing its buffers: memory stays at one object whatever the size of
/// the dump. Bytes that are not UTF-8 (old dumps carry Latin-1 in
/// remarks) are replaced, line by line.
#[derive(Debug)]
pub struct ObjectReader<R> {
    input: R,
    source: String,
    line: usize,
    raw: Vec<u8>,
    /// Attribute buffers; the first `used` hold the current object.
    attrs: Vec<Attr>,
    used: usize,
}

impl<R: std::io::BufRead> ObjectReader<R> {
    /// A reader of `input`, named `source` in errors.
    pub fn new(source: impl Into<String>, input: R) -> ObjectReader<R> {
        ObjectReader {
            input,
            source: source.into(),
            line: 0,
            raw: Vec::new(),
            attrs: Vec::new(),
            used: 0,
        }
    }

    /// The next object's attributes in file order (the class is the first
    /// one's name), or `None` at the end of the input. After an error the
    /// reader should not be used further.
    pub fn next_object(&mut self) -> Result<Option<&[Attr]>, IrrError> {
        let n = self.fill()?;
        Ok(self.attrs.get(..n).filter(|a| !a.is_empty()))
    }

    fn push_attr(&mut self, name: &str, value: &str, line: usize) {
        match self.attrs.get_mut(self.used) {
            Some(a) => {
                a.name.clear();
                a.name.push_str(name);
                a.name.make_ascii_lowercase();
                a.value.clear();
                a.value.push_str(value);
                a.line = line;
            }
            None => self.attrs.push(Attr {
                name: name.to_ascii_lowercase(),
                value: value.to_string(),
                line,
            }),
        }
        self.used += 1;
    }

    /// Reads up to the end of the next object; returns its number of
    /// attributes (0: end of input).
    fn fill(&mut self) -> Result<usize, IrrError> {
        self.used = 0;
        loop {
            self.raw.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.raw)
                .map_err(|error| IrrError::Io {
                    path: self.source.clone(),
                    error,
                })?;
            if n == 0 {
                return Ok(self.used);
            }
            self.line += 1;
            let line = self.line;
            // As str::lines: "\n" or "\r\n" ends a line.
            if self.raw.last() == Some(&b'\n') {
                self.raw.pop();
                if self.raw.last() == Some(&b'\r') {
                    self.raw.pop();
                }
            }
            let raw = std::mem::take(&mut self.raw);
            let r = self.line_of(&String::from_utf8_lossy(&raw), line);
            self.raw = raw;
            if r? {
                return Ok(self.used);
            }
        }
    }

    /// Handles one line; true when it ends an object.
    fn line_of(&mut self, raw: &str, line: usize) -> Result<bool, IrrError> {
        let err = |reason: String| {
            IrrError::Parse(ParseError {
                source: self.source.clone(),
                line,
                reason,
            })
        };
        if raw.trim().is_empty() {
            return Ok(self.used > 0);
        }
        if raw.starts_with('#') || raw.starts_with('%') {
            return Ok(false);
        }
        if let Some(rest) = raw
            .strip_prefix('+')
            .or_else(|| raw.strip_prefix(' '))
            .or_else(|| raw.strip_prefix('\t'))
        {
            let last = self.used.checked_sub(1).and_then(|i| self.attrs.get_mut(i));
            let Some(last) = last else {
                return Err(err("continuation line outside an object".into()));
            };
            let more = strip_comment(rest).trim();
            if !more.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(more);
            }
            return Ok(false);
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
        self.push_attr(name, strip_comment(value).trim(), line);
        Ok(false)
    }
}

/// Splits RPSL text into objects (RFC 2622 §2).
pub fn parse_objects(source: &str, text: &str) -> Result<Vec<RpslObject>, ParseError> {
    let mut reader = ObjectReader::new(source, text.as_bytes());
    let mut objects = Vec::new();
    loop {
        match reader.next_object() {
            Ok(Some(attrs)) => objects.push(RpslObject {
                attrs: attrs.to_vec(),
            }),
            Ok(None) => return Ok(objects),
            Err(e) => return Err(parse_error(source, e)),
        }
    }
}

/// The parse error of reading text from memory (which cannot fail to be
/// read).
fn parse_error(source: &str, e: IrrError) -> ParseError {
    match e {
        IrrError::Parse(p) => p,
        IrrError::Io { error, .. } => ParseError {
            source: source.to_string(),
            line: 0,
            reason: error.to_string(),
        },
    }
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

/// A route object's IPv4 prefix and origin (12 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RouteV4 {
    origin: u32,
    addr: u32,
    len: u8,
}

/// A route6 object's prefix and origin (24 bytes rather than the 48 of a
/// `(u32, Prefix)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RouteV6 {
    origin: u32,
    hi: u64,
    lo: u64,
    len: u8,
}

/// The route, route6, as-set and aut-num objects of one or more dumps.
///
/// Route objects are kept as (origin, prefix) pairs in two arrays sorted
/// by origin, then prefix (12 bytes per IPv4 route, 24 per IPv6 one), and
/// looked up by binary search; other attributes of a route object are not
/// kept.
#[derive(Clone, Debug, Default)]
pub struct IrrDb {
    routes_v4: Vec<RouteV4>,
    routes_v6: Vec<RouteV6>,
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

    /// Reads a dump file and adds its objects, one at a time. On an error
    /// (which names the file and line) the objects before it stay added.
    pub fn load_file(&mut self, path: &Path) -> Result<(), IrrError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|error| IrrError::Io {
            path: name.clone(),
            error,
        })?;
        let reader = ObjectReader::new(name, std::io::BufReader::with_capacity(1 << 16, file));
        self.load(reader)
    }

    /// Parses RPSL text (named `source` in errors) and adds its objects.
    pub fn load_str(&mut self, source: &str, text: &str) -> Result<(), ParseError> {
        self.load(ObjectReader::new(source, text.as_bytes()))
            .map_err(|e| parse_error(source, e))
    }

    /// Adds the objects of `reader` until its end or the first error.
    pub fn load<R: std::io::BufRead>(
        &mut self,
        mut reader: ObjectReader<R>,
    ) -> Result<(), IrrError> {
        let source = reader.source.clone();
        let r = loop {
            match reader.next_object() {
                Ok(Some(attrs)) => {
                    if let Err(e) = self.add(&source, attrs) {
                        break Err(IrrError::Parse(e));
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.routes_v4.sort_unstable();
        self.routes_v4.dedup();
        self.routes_v4.shrink_to_fit();
        self.routes_v6.sort_unstable();
        self.routes_v6.dedup();
        self.routes_v6.shrink_to_fit();
        r
    }

    fn add(&mut self, source: &str, attrs: &[Attr]) -> Result<(), ParseError> {
        let obj = ObjectRef(attrs);
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
                    let origin = parse_asn(&o.value).ok_or_else(|| {
                        err(o.line, format!("origin: {:?} is not an AS number", o.value))
                    })?;
                    match prefix {
                        Prefix::V4(addr, len) => {
                            push_growing_slowly(&mut self.routes_v4, RouteV4 { origin, addr, len })
                        }
                        Prefix::V6(a, len) => push_growing_slowly(
                            &mut self.routes_v6,
                            RouteV6 {
                                origin,
                                hi: (a >> 64) as u64,
                                lo: a as u64,
                                len,
                            },
                        ),
                    }
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

    /// The prefixes of route and route6 objects with origin `asn`,
    /// sorted, each once.
    pub fn routes_of(&self, asn: u32) -> impl Iterator<Item = Prefix> + '_ {
        let v4 = of_origin(&self.routes_v4, asn, |r| r.origin);
        let v6 = of_origin(&self.routes_v6, asn, |r| r.origin);
        v4.iter().map(|r| Prefix::V4(r.addr, r.len)).chain(
            v6.iter()
                .map(|r| Prefix::V6(u128::from(r.hi) << 64 | u128::from(r.lo), r.len)),
        )
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
            self.routes_v4.len() + self.routes_v6.len(),
            self.as_sets.len(),
            self.aut_nums.len(),
        )
    }
}

/// Pushes onto a vector that grows by an eighth at a time rather than
/// doubling: the route arrays of a large dump are the biggest transient
/// of a load, and doubling could leave half of one unused. glibc moves
/// large blocks without copying (mremap); where an allocator copies, the
/// copies add up to about eight times the final size, still linear.
fn push_growing_slowly<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.capacity() / 8).max(4096));
    }
    v.push(item);
}

/// The entries of a slice sorted by origin that have origin `asn`.
fn of_origin<T>(sorted: &[T], asn: u32, origin: impl Fn(&T) -> u32) -> &[T] {
    let start = sorted.partition_point(|r| origin(r) < asn);
    let end = sorted.partition_point(|r| origin(r) <= asn);
    sorted.get(start..end).unwrap_or_default()
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
