//! From TOML text to a validated [`Config`]: parsing with recovery, shape
//! checks by serde (`deny_unknown_fields`) one table at a time, then the
//! checks of meaning, collecting every finding with its location instead of
//! stopping at the first.
//!
//! What is checked: TOML syntax; unknown keys and wrong types; AS numbers
//! (RFC 6793, RFC 7300, RFC 7607); RPSL AS-SET names (RFC 2622 §5.1); MAC,
//! IP address, prefix and `IP:PORT` syntax; VLAN IDs (IEEE 802.1Q, 1-4094);
//! hold time (RFC 4271 §4.2: 0 or at least 3); member addresses inside a
//! peering LAN of their IXP; duplicate addresses, MACs, names and VLANs;
//! overlapping peering LANs; references between tables (`ixp = ...`,
//! bridges). What is not: whether an RTR cache answers or an RPSL file
//! parses — those belong to the programs that use them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bgp_wire::Prefix;
use serde::de::DeserializeOwned;
use toml::de::{DeArray, DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::*;
use crate::raw::{self, S};
use crate::syntax;

mod members;
mod sources;
use members::{check_members, Ctx};
use sources::{check_irr_whois, max_prefix_action};

const TOP_KEYS: &[&str] = &[
    "ixp",
    "peering_lan",
    "route_server",
    "policy",
    "web",
    "flows",
    "member",
    "bridge",
];

type Span = Range<usize>;

struct V {
    d: Diagnostics,
    base_dir: PathBuf,
    ixps: Vec<Ixp>,
}

impl V {
    fn err(&mut self, span: Span, msg: impl Into<String>, help: impl Into<String>) {
        self.d
            .push(Diagnostic::error(Some(span), msg).with_help(help));
    }

    fn warn(&mut self, span: Span, msg: impl Into<String>, help: impl Into<String>) {
        self.d
            .push(Diagnostic::warning(Some(span), msg).with_help(help));
    }

    /// Deserialises one table, reporting every shape error it can find:
    /// an unknown key is reported and set aside, and the table is still
    /// checked; a value of the wrong type is reported and its key set aside
    /// to look for further shape errors, but the table is then not used
    /// (its other checks would report consequences of the missing value).
    fn de<T: DeserializeOwned>(&mut self, v: Spanned<DeValue<'_>>, what: &str) -> Option<T> {
        let whole = v.span();
        let mut cur = v;
        let mut set_aside: Vec<String> = Vec::new();
        // Each round removes one key, so the loop ends; the bound is a guard.
        for _ in 0..256 {
            let e = match T::deserialize(ValueDeserializer::from(cur.clone())) {
                Ok(t) if set_aside.is_empty() => return Some(t),
                Ok(_) => return None,
                Err(e) => e,
            };
            let msg = e.message().trim_end().to_owned();
            let span = e.span().unwrap_or(whole.clone());
            if let Some((field, known)) = unknown_field(&msg) {
                let help = match closest(&field, &known) {
                    Some(k) => format!(
                        "did you mean `{k}`? The keys of {what} are: {}",
                        known.join(", ")
                    ),
                    None => format!(
                        "remove it or correct its spelling; the keys of {what} are: {}",
                        known.join(", ")
                    ),
                };
                self.err(
                    span.clone(),
                    format!("in {what}: unknown key `{field}`"),
                    help,
                );
                match without_key_at(&cur, &span) {
                    Some(next) => {
                        cur = next;
                        continue;
                    }
                    None => return None,
                }
            }
            if let Some(missing) = msg
                .strip_prefix("missing field `")
                .and_then(|m| m.split('`').next())
            {
                if set_aside.iter().any(|k| k == missing) {
                    // Already reported as a value of the wrong type.
                    return None;
                }
                self.err(
                    span,
                    format!("in {what}: missing key `{missing}`"),
                    format!("add `{missing} = ...` to this table"),
                );
                return None;
            }
            let help = if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
                "write the value with the expected type"
            } else {
                "see examples/caribix.toml for the expected form"
            };
            self.err(span.clone(), format!("in {what}: {msg}"), help);
            match without_value_at(&cur, &span) {
                Some((key, next)) => {
                    set_aside.push(key);
                    cur = next;
                }
                None => return None,
            }
        }
        None
    }

    /// Elements of a key that may hold one table (`[x]`) or several (`[[x]]`).
    fn tables<'i>(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'i>>,
        allow_single: bool,
    ) -> (Vec<Spanned<DeValue<'i>>>, bool) {
        match v.get_ref() {
            DeValue::Array(a) => (a.iter().cloned().collect(), true),
            DeValue::Table(_) if allow_single => (vec![v.clone()], false),
            DeValue::Table(_) => {
                self.err(
                    v.span(),
                    format!("`{key}` must be an array of tables"),
                    format!("write each entry under its own [[{key}]] header"),
                );
                (Vec::new(), true)
            }
            other => {
                self.err(
                    v.span(),
                    format!("`{key}` must be a table, not a {}", other.type_str()),
                    format!("write it as a [{key}] section"),
                );
                (Vec::new(), false)
            }
        }
    }

    fn int(&mut self, v: &S<i64>, lo: i64, hi: i64, what: &str, help: &str) -> Option<i64> {
        let n = *v.get_ref();
        if n < lo || n > hi {
            self.err(
                v.span(),
                format!("{what} must be between {lo} and {hi}, not {n}"),
                help,
            );
            None
        } else {
            Some(n)
        }
    }

    fn asn(&mut self, v: &S<i64>, whose: &str) -> Option<u32> {
        match syntax::asn_problem(*v.get_ref()) {
            Some((msg, help)) => {
                self.err(v.span(), format!("{whose}: {msg}"), help);
                None
            }
            None => u32::try_from(*v.get_ref()).ok(),
        }
    }

    fn nonempty(&mut self, v: &S<String>, what: &str) -> Option<String> {
        let s = v.get_ref().trim();
        if s.is_empty() {
            self.err(
                v.span(),
                format!("{what} is empty"),
                format!("give a {what}"),
            );
            None
        } else {
            Some(s.to_owned())
        }
    }

    fn url(&mut self, v: &Option<S<String>>) -> Option<String> {
        let v = v.as_ref()?;
        let s = v.get_ref();
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
            self.err(
                v.span(),
                format!("`{s}` is not an http or https URL"),
                "write the full URL, e.g. https://www.example.net/",
            );
            return None;
        }
        Some(s.clone())
    }

    fn email(&mut self, v: &S<String>) -> Option<String> {
        let s = v.get_ref();
        let ok = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.contains('@')
                    && !s.contains(char::is_whitespace)
            }
            None => false,
        };
        if ok {
            Some(s.clone())
        } else {
            self.err(
                v.span(),
                format!("`{s}` is not an e-mail address"),
                "write it as name@domain",
            );
            None
        }
    }

    fn len_range(
        &mut self,
        v: &Option<S<raw::LenRange>>,
        default: LenRange,
        bits: i64,
        what: &str,
    ) -> Option<LenRange> {
        let Some(v) = v else {
            return Some(default);
        };
        let help = format!(
            "prefix lengths run from 0 to {bits}; the default is {}-{}",
            default.min, default.max
        );
        let r = v.get_ref();
        let min = match &r.min {
            Some(m) => self.int(m, 0, bits, &format!("{what}.min"), &help)?,
            None => i64::from(default.min),
        };
        let max = match &r.max {
            Some(m) => self.int(m, 0, bits, &format!("{what}.max"), &help)?,
            None => i64::from(default.max),
        };
        if min > max {
            self.err(
                v.span(),
                format!("{what}: min {min} is greater than max {max}"),
                "swap them, or raise max",
            );
            return None;
        }
        Some(LenRange {
            min: u8::try_from(min).ok()?,
            max: u8::try_from(max).ok()?,
        })
    }

    fn asn_list(&mut self, v: &Option<Vec<S<i64>>>, what: &str) -> Option<Vec<u32>> {
        let mut out = Vec::new();
        let mut ok = true;
        for a in v.iter().flatten() {
            match self.asn(a, what) {
                Some(n) => out.push(n),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn prefix_list(&mut self, v: &Option<Vec<S<String>>>) -> Option<Vec<Prefix>> {
        let mut out = Vec::new();
        let mut ok = true;
        for p in v.iter().flatten() {
            match syntax::parse_prefix(p.get_ref()) {
                Ok(x) => out.push(x),
                Err(e) => {
                    self.err(
                        p.span(),
                        e,
                        "write a prefix as ADDRESS/LENGTH, e.g. 192.0.2.0/24",
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn as_set(&mut self, v: &Option<S<String>>) -> Option<Option<String>> {
        let Some(v) = v else { return Some(None) };
        match syntax::as_set_problem(v.get_ref()) {
            Some(msg) => {
                self.err(
                    v.span(),
                    format!("invalid AS-SET name {msg}"),
                    "an AS-SET is named like AS-EXAMPLE, AS64496:AS-CUSTOMERS or RIPE::AS-EXAMPLE (RFC 2622 §5.1)",
                );
                None
            }
            None => Some(Some(v.get_ref().clone())),
        }
    }

    /// Which IXP an entry belongs to.
    fn resolve_ixp(&mut self, given: &Option<S<String>>, at: Span, what: &str) -> Option<String> {
        let names: Vec<String> = self.ixps.iter().map(|i| i.shortname.clone()).collect();
        match given {
            Some(g) => {
                if names.iter().any(|n| n == g.get_ref()) {
                    Some(g.get_ref().clone())
                } else {
                    self.err(
                        g.span(),
                        format!("{what} refers to unknown IXP `{}`", g.get_ref()),
                        format!("declared IXPs: {}", names.join(", ")),
                    );
                    None
                }
            }
            None => match names.as_slice() {
                [one] => Some(one.clone()),
                [] => None,
                _ => {
                    self.err(
                        at,
                        format!("{what} does not say which IXP it belongs to"),
                        format!(
                            "several IXPs are declared; add ixp = \"{}\" (one of {})",
                            names.first().map_or("", |s| s.as_str()),
                            names.join(", ")
                        ),
                    );
                    None
                }
            },
        }
    }
}

/// `v` without the table key whose name starts at `at`, searching nested
/// inline tables and arrays; `None` when there is no such key.
fn without_key_at<'i>(v: &Spanned<DeValue<'i>>, at: &Span) -> Option<Spanned<DeValue<'i>>> {
    let inside = |s: Span| s.start <= at.start && at.start < s.end.max(s.start + 1);
    match v.get_ref() {
        DeValue::Table(t) => {
            let mut out = DeTable::new();
            let mut hit = false;
            for (k, val) in t.iter() {
                if !hit && k.span().start == at.start {
                    hit = true;
                    continue;
                }
                if !hit && inside(val.span()) {
                    if let Some(nv) = without_key_at(val, at) {
                        out.insert(k.clone(), nv);
                        hit = true;
                        continue;
                    }
                }
                out.insert(k.clone(), val.clone());
            }
            hit.then(|| Spanned::new(v.span(), DeValue::Table(out)))
        }
        DeValue::Array(a) => {
            let mut out = DeArray::new();
            let mut hit = false;
            for val in a.iter() {
                if !hit && inside(val.span()) {
                    if let Some(nv) = without_key_at(val, at) {
                        out.push(nv);
                        hit = true;
                        continue;
                    }
                }
                out.push(val.clone());
            }
            hit.then(|| Spanned::new(v.span(), DeValue::Array(out)))
        }
        _ => None,
    }
}

/// `v` (a table) without the top-level key whose value holds `at`, and
/// that key's name.
fn without_value_at<'i>(
    v: &Spanned<DeValue<'i>>,
    at: &Span,
) -> Option<(String, Spanned<DeValue<'i>>)> {
    let DeValue::Table(t) = v.get_ref() else {
        return None;
    };
    let (key, _) = t.iter().find(|(_, val)| {
        let s = val.span();
        s.start <= at.start && at.start < s.end.max(s.start + 1)
    })?;
    let name: String = key.get_ref().to_string();
    let mut out = DeTable::new();
    for (k, val) in t.iter() {
        if k.get_ref() != key.get_ref() {
            out.insert(k.clone(), val.clone());
        }
    }
    Some((name, Spanned::new(v.span(), DeValue::Table(out))))
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" into the
/// field and the known keys.
fn unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let known = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), known))
}

/// Edit distance (Levenshtein), for "did you mean" suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The known key closest to `field`, if it is close enough to be a typo.
fn closest<'a>(field: &str, known: &'a [String]) -> Option<&'a str> {
    let limit = (field.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (distance(field, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Everything parsed from the top level, before meaning is checked.
#[derive(Default)]
struct RawDoc {
    ixps: Vec<raw::Ixp>,
    lans: Vec<raw::PeeringLan>,
    route_servers: Vec<raw::RouteServer>,
    policy: Option<raw::Policy>,
    web: Option<raw::Web>,
    flows: Option<raw::Flows>,
    members: Vec<raw::Member>,
    bridges: Vec<raw::Bridge>,
    /// Some top-level table failed to parse: skip cross-table checks that
    /// would report consequences of that failure.
    incomplete: bool,
}

fn read_top(v: &mut V, src: &str) -> Option<RawDoc> {
    let (root, errors) = DeTable::parse_recoverable(src);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim_end();
            let help = if msg.contains("duplicate key") {
                "a key may appear once per table, and a [table] once per file; repeated entries are written [[name]]"
            } else if msg.contains("string") {
                "close the string with a double quote on the same line"
            } else {
                "fix the syntax: key = value, strings in double quotes, tables [name], arrays of tables [[name]]"
            };
            v.err(span, format!("TOML syntax: {msg}"), help);
        }
        return None;
    }
    let mut doc = RawDoc::default();
    for (key, value) in root.get_ref().iter() {
        let k: &str = key.get_ref();
        match k {
            "ixp" => {
                for t in v.tables(k, value, true).0 {
                    match v.de(t, "[ixp]") {
                        Some(x) => doc.ixps.push(x),
                        None => doc.incomplete = true,
                    }
                }
            }
            "route_server" => {
                for t in v.tables(k, value, true).0 {
                    match v.de(t, "[route_server]") {
                        Some(x) => doc.route_servers.push(x),
                        None => doc.incomplete = true,
                    }
                }
            }
            "peering_lan" | "member" | "bridge" => {
                for t in v.tables(k, value, false).0 {
                    let what = format!("[[{k}]]");
                    let ok = match k {
                        "peering_lan" => v.de(t, &what).map(|x| doc.lans.push(x)),
                        "member" => v.de(t, &what).map(|x| doc.members.push(x)),
                        _ => v.de(t, &what).map(|x| doc.bridges.push(x)),
                    };
                    if ok.is_none() {
                        doc.incomplete = true;
                    }
                }
            }
            "policy" | "web" | "flows" => {
                if !matches!(value.get_ref(), DeValue::Table(_)) {
                    v.tables(k, value, true);
                    doc.incomplete = true;
                    continue;
                }
                let what = format!("[{k}]");
                let ok = match k {
                    "policy" => v.de(value.clone(), &what).map(|x| doc.policy = Some(x)),
                    "web" => v.de(value.clone(), &what).map(|x| doc.web = Some(x)),
                    _ => v.de(value.clone(), &what).map(|x| doc.flows = Some(x)),
                };
                if ok.is_none() {
                    doc.incomplete = true;
                }
            }
            other => {
                let known: Vec<String> = TOP_KEYS.iter().map(|k| (*k).to_owned()).collect();
                let help = match closest(other, &known) {
                    Some(k) => format!(
                        "did you mean `{k}`? The top-level tables are: {}",
                        TOP_KEYS.join(", ")
                    ),
                    None => format!("the top-level tables are: {}", TOP_KEYS.join(", ")),
                };
                v.err(key.span(), format!("unknown top-level key `{other}`"), help);
            }
        }
    }
    Some(doc)
}

fn check_ixps(v: &mut V, raw: &[raw::Ixp]) {
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut ids: HashMap<i64, Span> = HashMap::new();
    let mut parsed = Vec::new();
    for r in raw {
        let short = v.nonempty(&r.shortname, "IXP shortname");
        if let Some(s) = &short {
            if !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                v.err(
                    r.shortname.span(),
                    format!("IXP shortname `{s}` may only hold letters, digits, `-` and `_`"),
                    "it is used as an identifier in other tables and in the looking glass",
                );
            } else if let Some(first) = seen.get(s) {
                let d = Diagnostic::error(
                    Some(r.shortname.span()),
                    format!("IXP shortname `{s}` is declared twice"),
                )
                .with_note("first declared", first.clone())
                .with_help("give each IXP its own shortname");
                v.d.push(d);
            } else {
                seen.insert(s.clone(), r.shortname.span());
            }
        }
        let name = v.nonempty(&r.name, "IXP name");
        let country = r.country.get_ref();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            v.err(
                r.country.span(),
                format!("country `{country}` is not an ISO 3166-1 alpha-2 code"),
                "write two capital letters, e.g. GP, MF, BL or SX",
            );
        }
        let help = "IX-F and PeeringDB identifiers are positive integers";
        let id = |v: &mut V, x: &Option<S<i64>>, what: &str| -> Option<Option<u32>> {
            match x {
                None => Some(None),
                Some(x) => v
                    .int(x, 1, i64::from(u32::MAX), what, help)
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some),
            }
        };
        let ixp_id = id(v, &r.ixp_id, "ixp_id");
        let ixf_id = id(v, &r.ixf_id, "ixf_id");
        let pdb_id = id(v, &r.peeringdb_id, "peeringdb_id");
        if let Some(x) = &r.ixp_id {
            if let Some(first) = ids.get(x.get_ref()) {
                let d = Diagnostic::error(
                    Some(x.span()),
                    format!("ixp_id {} is used twice", x.get_ref()),
                )
                .with_note("first used", first.clone())
                .with_help("each IXP needs its own ixp_id");
                v.d.push(d);
            }
            ids.insert(*x.get_ref(), x.span());
        }
        let url = v.url(&r.url);
        let support_email = r.support_email.as_ref().and_then(|e| v.email(e));
        let emergency_email = r.emergency_email.as_ref().and_then(|e| v.email(e));
        parsed.push(Ixp {
            shortname: short.unwrap_or_default(),
            name: name.unwrap_or_default(),
            country: country.clone(),
            ixp_id: ixp_id.flatten().unwrap_or(0),
            ixf_id: ixf_id.flatten(),
            peeringdb_id: pdb_id.flatten(),
            url,
            support_email,
            support_phone: r.support_phone.as_ref().map(|s| s.get_ref().clone()),
            emergency_email,
            emergency_phone: r.emergency_phone.as_ref().map(|s| s.get_ref().clone()),
        });
    }
    // Default ixp_ids: the smallest positive integers not taken explicitly,
    // in file order.
    let mut next = 1u32;
    for ixp in &mut parsed {
        if ixp.ixp_id == 0 {
            while ids.contains_key(&i64::from(next)) {
                next += 1;
            }
            ixp.ixp_id = next;
            next += 1;
        }
    }
    v.ixps = parsed;
}

struct LanSpans {
    v4: Option<Span>,
    v6: Option<Span>,
}

fn check_lans(v: &mut V, raw: &[raw::PeeringLan]) -> Vec<PeeringLan> {
    let mut out = Vec::new();
    let mut spans = Vec::new();
    let mut names: HashMap<(String, String), Span> = HashMap::new();
    let mut vlans: HashMap<(String, i64), Span> = HashMap::new();
    for r in raw {
        let name = v.nonempty(&r.name, "peering LAN name");
        let ixp = v.resolve_ixp(&r.ixp, r.name.span(), "this peering LAN");
        let vlan = v.int(
            &r.vlan,
            1,
            4094,
            "VLAN ID",
            "IEEE 802.1Q VLAN IDs run from 1 to 4094 (0 and 4095 are reserved)",
        );
        if let (Some(ixp), Some(name)) = (&ixp, &name) {
            let key = (ixp.clone(), name.clone());
            if let Some(first) = names.get(&key) {
                let d = Diagnostic::error(
                    Some(r.name.span()),
                    format!("peering LAN `{name}` of {ixp} is declared twice"),
                )
                .with_note("first declared", first.clone())
                .with_help("give each peering LAN its own name");
                v.d.push(d);
            } else {
                names.insert(key, r.name.span());
            }
            if let Some(n) = vlan {
                if let Some(first) = vlans.get(&(ixp.clone(), n)) {
                    let d = Diagnostic::error(
                        Some(r.vlan.span()),
                        format!("VLAN {n} is used by two peering LANs of {ixp}"),
                    )
                    .with_note("first used", first.clone())
                    .with_help("each peering LAN of an IXP has its own VLAN");
                    v.d.push(d);
                } else {
                    vlans.insert((ixp.clone(), n), r.vlan.span());
                }
            }
        }
        let fam = |v: &mut V, x: &Option<S<String>>, want_v4: bool| -> Option<Prefix> {
            let x = x.as_ref()?;
            match syntax::parse_prefix(x.get_ref()) {
                Ok(p) if p.addr().is_ipv4() == want_v4 => Some(p),
                Ok(p) => {
                    v.err(
                        x.span(),
                        format!(
                            "`{p}` is an {} prefix in the {} key",
                            if want_v4 { "IPv6" } else { "IPv4" },
                            if want_v4 { "ipv4" } else { "ipv6" }
                        ),
                        "put IPv4 subnets under ipv4 and IPv6 subnets under ipv6",
                    );
                    None
                }
                Err(e) => {
                    v.err(
                        x.span(),
                        e,
                        "write the LAN subnet as ADDRESS/LENGTH, e.g. 192.0.2.0/24",
                    );
                    None
                }
            }
        };
        let ipv4 = fam(v, &r.ipv4, true);
        let ipv6 = fam(v, &r.ipv6, false);
        if r.ipv4.is_none() && r.ipv6.is_none() {
            v.err(
                r.name.span(),
                "a peering LAN needs an ipv4 or an ipv6 subnet (or both)",
                "add ipv4 = \"192.0.2.0/24\" and/or ipv6 = \"2001:db8::/64\"",
            );
        }
        out.push(PeeringLan {
            name: name.unwrap_or_default(),
            ixp: ixp.unwrap_or_default(),
            vlan: vlan.and_then(|n| u16::try_from(n).ok()).unwrap_or(0),
            ipv4,
            ipv6,
        });
        spans.push(LanSpans {
            v4: r.ipv4.as_ref().map(|s| s.span()),
            v6: r.ipv6.as_ref().map(|s| s.span()),
        });
    }
    // Overlapping subnets make "which LAN is this address on" ambiguous.
    let mut seen: Vec<(Prefix, Span)> = Vec::new();
    for (lan, sp) in out.iter().zip(&spans) {
        for (p, s) in [(lan.ipv4, &sp.v4), (lan.ipv6, &sp.v6)] {
            let (Some(p), Some(s)) = (p, s) else { continue };
            if let Some((q, first)) = seen.iter().find(|(q, _)| q.contains(&p) || p.contains(q)) {
                let d = Diagnostic::error(
                    Some(s.clone()),
                    format!("peering LAN subnet {p} overlaps {q}"),
                )
                .with_note("the other subnet is", first.clone())
                .with_help("peering LANs must not overlap");
                v.d.push(d);
            } else {
                seen.push((p, s.clone()));
            }
        }
    }
    out
}

fn check_route_servers(
    v: &mut V,
    raw: &[raw::RouteServer],
    lans: &[PeeringLan],
) -> Vec<RouteServer> {
    let mut out = Vec::new();
    let mut names: HashMap<String, Span> = HashMap::new();
    let mut count: HashMap<String, usize> = HashMap::new();
    for r in raw {
        let ixp = v.resolve_ixp(&r.ixp, r.asn.span(), "this route server");
        let asn = v.asn(&r.asn, "route server ASN");
        let router_id = match r.router_id.get_ref().parse::<Ipv4Addr>() {
            Ok(a) if !a.is_unspecified() => Some(a),
            _ => {
                v.err(
                    r.router_id.span(),
                    format!("router_id `{}` is not a non-zero IPv4 address", r.router_id.get_ref()),
                    "the BGP Identifier is written as an IPv4 address, usually the route server's own (RFC 4271 §4.2)",
                );
                None
            }
        };
        let mut listen = Vec::new();
        if r.listen.get_ref().is_empty() {
            v.err(
                r.listen.span(),
                "listen is empty: the route server would accept no session",
                "add at least one address, e.g. listen = [\"192.0.2.1:179\"]",
            );
        }
        for l in r.listen.get_ref() {
            match syntax::parse_socket(l.get_ref()) {
                Ok(sa) => {
                    if let Some(ixp) = &ixp {
                        let ip = sa.ip();
                        if !ip.is_unspecified()
                            && !lans.iter().any(|lan| &lan.ixp == ixp && lan.contains(ip))
                        {
                            v.warn(
                                l.span(),
                                format!("route server listen address {ip} is outside every peering LAN of {ixp}"),
                                "members reach the route server on the peering LAN; listen on a LAN address, or on 0.0.0.0 / [::] if this is intended",
                            );
                        }
                    }
                    listen.push(sa);
                }
                Err(e) => v.err(
                    l.span(),
                    e,
                    "write IP:PORT, with IPv6 in brackets: \"192.0.2.1:179\", \"[2001:db8::1]:179\"",
                ),
            }
        }
        let hold_time = match &r.hold_time {
            Some(h) if *h.get_ref() == 1 || *h.get_ref() == 2 => {
                v.err(
                    h.span(),
                    format!("hold_time {} is not allowed", h.get_ref()),
                    "RFC 4271 §4.2: the hold time is 0 (no keepalives) or at least 3 seconds",
                );
                None
            }
            Some(h) => v
                .int(
                    h,
                    0,
                    65535,
                    "hold_time",
                    "RFC 4271 §4.2: 0 or 3-65535 seconds",
                )
                .and_then(|n| u16::try_from(n).ok()),
            None => Some(90),
        };
        let connect_retry = match &r.connect_retry {
            Some(c) => v.int(
                c,
                1,
                3600,
                "connect_retry",
                "seconds between connection attempts; 30 is usual",
            ),
            None => Some(30),
        };
        let gr_time = match &r.graceful_restart_time {
            Some(c) => v.int(
                c,
                1,
                4095,
                "graceful_restart_time",
                "seconds a restarting member's routes are kept (RFC 4724 §3: 12 bits); 120 is usual",
            ),
            None => Some(120),
        };
        let restart = match &r.max_prefix_restart {
            Some(c) => v.int(
                c,
                0,
                10080,
                "max_prefix_restart",
                "minutes before a session shut down for max-prefix restarts; 0 means never",
            ),
            None => Some(15),
        };
        let Some(ixp) = ixp else { continue };
        let n = count.entry(ixp.clone()).or_default();
        *n += 1;
        let name = match &r.name {
            Some(s) => v.nonempty(s, "route server name").unwrap_or_default(),
            None => format!("{ixp}-rs{n}"),
        };
        let at = r.name.as_ref().map_or(r.asn.span(), |s| s.span());
        if let Some(first) = names.get(&name) {
            let d = Diagnostic::error(
                Some(at),
                format!("route server name `{name}` is used twice"),
            )
            .with_note("first used", first.clone())
            .with_help("give each route server its own name");
            v.d.push(d);
        } else {
            names.insert(name.clone(), at);
        }
        out.push(RouteServer {
            name,
            ixp,
            asn: asn.unwrap_or(0),
            router_id: router_id.unwrap_or(Ipv4Addr::UNSPECIFIED),
            listen,
            hold_time: hold_time.unwrap_or(90),
            connect_retry: connect_retry
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(30),
            max_prefix_restart: restart.and_then(|n| u32::try_from(n).ok()).unwrap_or(15),
            graceful_restart: r.graceful_restart.unwrap_or(true),
            graceful_restart_time: gr_time.and_then(|n| u16::try_from(n).ok()).unwrap_or(120),
        });
    }
    out
}

fn max_prefix(v: &mut V, r: &raw::MaxPrefix, default: MaxPrefix) -> MaxPrefix {
    let help = "the number of prefixes after which the session is shut down (at least 1)";
    let get = |v: &mut V, x: &Option<S<i64>>, d: u32, what: &str| match x {
        Some(x) => v
            .int(x, 1, i64::from(u32::MAX), what, help)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(d),
        None => d,
    };
    MaxPrefix {
        ipv4: get(v, &r.ipv4, default.ipv4, "max_prefix.ipv4"),
        ipv6: get(v, &r.ipv6, default.ipv6, "max_prefix.ipv6"),
    }
}

fn check_policy(v: &mut V, r: Option<&raw::Policy>) -> Policy {
    let mut p = Policy::default();
    let Some(r) = r else { return p };
    if let Some(x) = v.len_range(
        &r.ipv4_prefix_len,
        DEFAULT_IPV4_PREFIX_LEN,
        32,
        "ipv4_prefix_len",
    ) {
        p.ipv4_prefix_len = x;
    }
    if let Some(x) = v.len_range(
        &r.ipv6_prefix_len,
        DEFAULT_IPV6_PREFIX_LEN,
        128,
        "ipv6_prefix_len",
    ) {
        p.ipv6_prefix_len = x;
    }
    if let Some(m) = &r.max_as_path_len {
        if let Some(n) = v.int(
            m,
            1,
            255,
            "max_as_path_len",
            "AS_PATH length limit; the default is 32",
        ) {
            p.max_as_path_len = u8::try_from(n).unwrap_or(DEFAULT_MAX_AS_PATH_LEN);
        }
    }
    let flags = [
        (r.reject_bogon_prefixes, &mut p.reject_bogon_prefixes),
        (r.reject_bogon_asns, &mut p.reject_bogon_asns),
        (r.check_first_as, &mut p.check_first_as),
        (r.check_next_hop, &mut p.check_next_hop),
        (r.blackhole, &mut p.blackhole),
        (r.graceful_shutdown, &mut p.graceful_shutdown),
    ];
    for (given, slot) in flags {
        if let Some(b) = given {
            *slot = b;
        }
    }
    if r.transit_free_asns.is_some() {
        if let Some(l) = v.asn_list(&r.transit_free_asns, "transit-free ASN") {
            p.transit_free_asns = l;
        }
    }
    if let Some(l) = v.asn_list(
        &r.never_via_route_servers_asns,
        "never-via-route-servers ASN",
    ) {
        p.never_via_route_servers_asns = l;
    }
    if let Some(l) = v.prefix_list(&r.blocklist) {
        p.blocklist = l;
    }
    if let Some(m) = &r.default_max_prefix {
        p.default_max_prefix = max_prefix(v, m, DEFAULT_MAX_PREFIX);
    }
    if let Some(a) = max_prefix_action(v, &r.max_prefix_action) {
        p.max_prefix_action = a;
    }
    if let Some(rpki) = &r.rpki {
        for c in rpki.rtr.iter().flatten() {
            match syntax::host_port_problem(c.get_ref()) {
                Some(e) => v.err(
                    c.span(),
                    format!("RTR cache {e}"),
                    "write HOST:PORT, e.g. \"127.0.0.1:3323\" or \"[2001:db8::5]:3323\"",
                ),
                None => p.rpki.rtr.push(c.get_ref().clone()),
            }
        }
        p.rpki.reject_invalid = rpki.reject_invalid.unwrap_or(true);
        p.rpki.aspa = rpki.aspa.unwrap_or(true);
        if let Some(d) = &rpki.cache_dir {
            if let Some(d) = v.nonempty(d, "RPKI cache directory") {
                p.rpki.cache_dir = d;
            }
        }
        if let Some(f) = &rpki.aspa_json {
            if let Some(name) = v.nonempty(f, "ASPA JSON file name") {
                if !v.base_dir.join(&name).is_file() {
                    v.warn(
                        f.span(),
                        format!("ASPA file {} does not exist (yet)", v.base_dir.join(&name).display()),
                        "ASPA verification has no data until the file is there; paths are relative to the configuration file",
                    );
                }
                p.rpki.aspa_json = Some(name);
            }
        }
    }
    if let Some(irr) = &r.irr {
        for f in irr.rpsl_files.iter().flatten() {
            let Some(name) = v.nonempty(f, "RPSL file name") else {
                continue;
            };
            let full = v.base_dir.join(&name);
            if !full.is_file() {
                v.warn(
                    f.span(),
                    format!("RPSL file {} does not exist (yet)", full.display()),
                    "IRR filtering has no data until the file is there; paths are relative to the configuration file",
                );
            }
            p.irr.rpsl_files.push(name);
        }
        p.irr.check_origin = irr.check_origin.unwrap_or(true);
        p.irr.check_prefix = irr.check_prefix.unwrap_or(true);
        check_irr_whois(v, irr, &mut p.irr);
    }
    p
}

fn check_web_flows(
    v: &mut V,
    web: Option<&raw::Web>,
    flows: Option<&raw::Flows>,
) -> (Option<Web>, Option<Flows>) {
    let sock_help = "write IP:PORT, with IPv6 in brackets: \"127.0.0.1:8080\", \"[::1]:8080\"";
    let web = web.and_then(|w| match syntax::parse_socket(w.listen.get_ref()) {
        Ok(listen) => Some(Web { listen }),
        Err(e) => {
            v.err(w.listen.span(), e, sock_help);
            None
        }
    });
    let flows = flows.map(|f| {
        let sock = |v: &mut V, x: &Option<S<String>>| -> Option<SocketAddr> {
            let x = x.as_ref()?;
            syntax::parse_socket(x.get_ref())
                .map_err(|e| v.err(x.span(), e, sock_help))
                .ok()
        };
        let sflow = sock(v, &f.sflow);
        let ipfix = sock(v, &f.ipfix);
        let store = match &f.store {
            None => FlowStore::Sqlite(PathBuf::from("data/flows.db")),
            Some(s) => {
                let t = s.get_ref();
                if let Some(path) = t.strip_prefix("sqlite:").filter(|p| !p.is_empty()) {
                    FlowStore::Sqlite(PathBuf::from(path))
                } else if t.starts_with("clickhouse://") && t.len() > "clickhouse://".len() {
                    FlowStore::Clickhouse(t.clone())
                } else {
                    v.err(
                        s.span(),
                        format!("flow store `{t}` is neither sqlite:PATH nor clickhouse://HOST:PORT/DATABASE"),
                        "use store = \"sqlite:data/flows.db\" (the default) or a clickhouse:// URL",
                    );
                    FlowStore::Sqlite(PathBuf::from("data/flows.db"))
                }
            }
        };
        let retention_days = f
            .retention_days
            .as_ref()
            .and_then(|r| v.int(r, 1, 36500, "retention_days", "days of 1-minute flow data kept"))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(90);
        let delegations = f
            .delegations
            .iter()
            .flatten()
            .filter_map(|d| v.nonempty(d, "delegation file path"))
            .map(PathBuf::from)
            .collect();
        let territory = f
            .territory
            .iter()
            .flatten()
            .filter_map(|c| {
                let t = c.get_ref();
                if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Some(t.to_ascii_uppercase())
                } else {
                    v.err(
                        c.span(),
                        format!("`{t}` is not a two-letter country code"),
                        "write ISO 3166-1 alpha-2 codes as in the RIR files: [\"GP\", \"MF\", \"BL\", \"SX\"]",
                    );
                    None
                }
            })
            .collect();
        let routers = f.router.iter().filter_map(|r| check_flow_router(v, r)).collect();
        Flows {
            sflow,
            ipfix,
            store,
            retention_days,
            delegations,
            territory,
            routers,
        }
    });
    (web, flows)
}

fn check_flow_router(v: &mut V, r: &raw::FlowRouter) -> Option<FlowRouter> {
    let exporter = match r.exporter.get_ref().parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            v.err(
                r.exporter.span(),
                format!("`{}` is not an IP address", r.exporter.get_ref()),
                "give the address the router's flow exports come from, e.g. \"192.0.2.1\"",
            );
            None
        }
    };
    let asn = v.asn(&r.asn, "flow router");
    let mut ifs = |list: &[S<i64>]| -> Vec<u32> {
        list.iter()
            .filter_map(|i| {
                v.int(
                    i,
                    0,
                    i64::from(u32::MAX),
                    "ifIndex",
                    "an SNMP ifIndex, as the router exports it",
                )
            })
            .filter_map(|n| u32::try_from(n).ok())
            .collect()
    };
    let (ixp, transit, customer) = (ifs(&r.ixp), ifs(&r.transit), ifs(&r.customer));
    Some(FlowRouter {
        exporter: exporter?,
        asn: asn?,
        ixp,
        transit,
        customer,
    })
}

fn check_bridges(v: &mut V, raw: &[raw::Bridge]) -> Vec<Bridge> {
    let mut out = Vec::new();
    let mut names: HashMap<String, Span> = HashMap::new();
    for r in raw {
        let Some(name) = v.nonempty(&r.name, "bridge name") else {
            continue;
        };
        if let Some(first) = names.get(&name) {
            let d = Diagnostic::error(
                Some(r.name.span()),
                format!("bridge `{name}` is declared twice"),
            )
            .with_note("first declared", first.clone())
            .with_help("give each bridge its own name");
            v.d.push(d);
            continue;
        }
        names.insert(name.clone(), r.name.span());
        let mut ixps: Vec<String> = Vec::new();
        for i in r.ixps.get_ref() {
            if let Some(x) = v.resolve_ixp(&Some(i.clone()), i.span(), &format!("bridge `{name}`"))
            {
                if ixps.contains(&x) {
                    v.err(
                        i.span(),
                        format!("IXP `{x}` is listed twice in bridge `{name}`"),
                        "list each IXP once",
                    );
                } else {
                    ixps.push(x);
                }
            }
        }
        let remote = r.remote.as_ref().and_then(|rm| {
            let shortname = v.nonempty(&rm.shortname, "remote IXP shortname")?;
            if v.ixps.iter().any(|i| i.shortname == shortname) {
                v.err(
                    rm.shortname.span(),
                    format!("remote `{shortname}` is one of this file's IXPs"),
                    "for a bridge between this file's IXPs, list both in ixps and leave out remote",
                );
            }
            let asn = v.asn(&rm.asn, "remote route server ASN")?;
            let mut neighbors = Vec::new();
            if rm.neighbors.get_ref().is_empty() {
                v.err(
                    rm.neighbors.span(),
                    "a remote bridge needs at least one neighbor address",
                    "add the remote route server's address",
                );
            }
            for n in rm.neighbors.get_ref() {
                match syntax::parse_ip(n.get_ref()) {
                    Ok(a) => neighbors.push(a),
                    Err(e) => v.err(n.span(), e, "write the remote route server's IP address"),
                }
            }
            Some(Remote {
                shortname,
                name: rm.name.as_ref().map(|s| s.get_ref().clone()),
                asn,
                neighbors,
                md5_password: rm.md5_password.as_ref().map(|s| s.get_ref().clone()),
            })
        });
        match (&r.remote, r.ixps.get_ref().len()) {
            (None, n) if n < 2 => v.err(
                r.ixps.span(),
                format!("bridge `{name}` joins fewer than two IXPs and has no remote side"),
                "list two or more of this file's IXPs, or add remote = { shortname, asn, neighbors } for another operator's route server",
            ),
            (Some(_), n) if n != 1 => v.err(
                r.ixps.span(),
                format!("bridge `{name}` to a remote route server must name exactly one local IXP"),
                "write ixps = [\"SHORTNAME\"] with the IXP whose route server holds the session",
            ),
            _ => {}
        }
        let default = match &r.default {
            None => BridgeDefault::Off,
            Some(d) => match d.get_ref().as_str() {
                "on" => BridgeDefault::On,
                "off" => BridgeDefault::Off,
                other => {
                    v.err(
                        d.span(),
                        format!("bridge default `{other}` is neither \"on\" nor \"off\""),
                        "\"on\": members cross unless they opt out; \"off\" (default): only members that opt in",
                    );
                    BridgeDefault::Off
                }
            },
        };
        let mp = r
            .max_prefix
            .as_ref()
            .map(|m| max_prefix(v, m.get_ref(), DEFAULT_MAX_PREFIX));
        out.push(Bridge {
            name,
            ixps,
            remote,
            default,
            max_prefix: mp,
        });
    }
    out
}

/// Validates `src` (read from `path`): the configuration when there is no
/// error, and every finding (errors and warnings) either way.
pub(crate) fn validate(path: &Path, src: &str) -> (Option<Config>, Diagnostics) {
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut v = V {
        d: Diagnostics::new(path, src),
        base_dir,
        ixps: Vec::new(),
    };
    let Some(doc) = read_top(&mut v, src) else {
        return (None, v.d);
    };
    check_ixps(&mut v, &doc.ixps);
    if doc.ixps.is_empty() && !doc.incomplete {
        v.d.push(
            Diagnostic::error(None, "the file declares no IXP")
                .with_help("add an [ixp] table with shortname, name and country"),
        );
    }
    let lans = check_lans(&mut v, &doc.lans);
    let route_servers = check_route_servers(&mut v, &doc.route_servers, &lans);
    let policy = check_policy(&mut v, doc.policy.as_ref());
    let (web, flows) = check_web_flows(&mut v, doc.web.as_ref(), doc.flows.as_ref());
    let bridges = check_bridges(&mut v, &doc.bridges);
    let ctx = Ctx {
        lans: &lans,
        route_servers: &route_servers,
        bridges: &bridges,
        policy: &policy,
    };
    let members = check_members(&mut v, &doc.members, &ctx);
    {
        for i in 0..v.ixps.len() {
            let Some(ixp) = v.ixps.get(i).map(|x| x.shortname.clone()) else {
                continue;
            };
            if !lans.iter().any(|l| l.ixp == ixp) && !doc.incomplete {
                v.d.push(
                    Diagnostic::error(None, format!("IXP {ixp} has no peering LAN"))
                        .with_help(format!("add a [[peering_lan]] with ixp = \"{ixp}\"")),
                );
            }
            let peers = members
                .iter()
                .filter(|m| m.ixp == ixp && m.route_server)
                .count();
            if peers > 0 && !route_servers.iter().any(|r| r.ixp == ixp) && !doc.incomplete {
                v.d.push(
                    Diagnostic::warning(
                        None,
                        format!("IXP {ixp} has no route server, but {peers} member(s) have route_server = true"),
                    )
                    .with_help("add a [route_server] table (asn, router_id, listen), or set route_server = false on those members"),
                );
            }
        }
    }
    v.d.sort();
    if v.d.has_errors() {
        return (None, v.d);
    }
    let warnings = v.d.clone();
    let config = Config {
        ixps: v.ixps,
        peering_lans: lans,
        route_servers,
        policy,
        web,
        flows,
        members,
        bridges,
        warnings: Some(warnings),
    };
    (Some(config), v.d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(distance("asnn", "asn"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        let known: Vec<String> = ["asn", "name", "max_prefix", "macs"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("asnn", &known), Some("asn"));
        assert_eq!(closest("max_prefixes", &known), Some("max_prefix"));
        assert_eq!(closest("colour", &known), None);
        let (f, k) = unknown_field("unknown field `md5`, expected one of `asn`, `name`").unwrap();
        assert_eq!(
            (f.as_str(), k),
            ("md5", vec!["asn".to_owned(), "name".to_owned()])
        );
        let (f, k) = unknown_field("unknown field `x`, expected `min`").unwrap();
        assert_eq!((f.as_str(), k), ("x", vec!["min".to_owned()]));
    }
}
