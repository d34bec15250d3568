//! Validation of the keys that feed the policy's data sources and the
//! max-prefix action: `[policy.irr] whois`, `sources`, `refresh`,
//! `cache_dir`, and `max_prefix_action` (global and per member).

use super::{raw, syntax, S, V};
use crate::model::{Irr, MaxPrefixAction};

/// `irr.whois`, `irr.sources`, `irr.refresh` and `irr.cache_dir`.
pub(super) fn check_irr_whois(v: &mut V, r: &raw::Irr, p: &mut Irr) {
    if let Some(w) = &r.whois {
        match syntax::host_port_problem(w.get_ref()) {
            Some(e) => v.err(
                w.span(),
                format!("whois server {e}"),
                "write HOST:PORT, e.g. \"whois.example.net:43\" or \"127.0.0.1:4343\"",
            ),
            None if !p.rpsl_files.is_empty() => v.err(
                w.span(),
                "irr.whois and irr.rpsl_files are both set",
                "use one IRR data source: a whois server or local RPSL files",
            ),
            None => p.whois = Some(w.get_ref().clone()),
        }
    }
    for s in r.sources.iter().flatten() {
        let name = s.get_ref();
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            p.sources.push(name.to_ascii_uppercase());
        } else {
            v.err(
                s.span(),
                format!("IRR source `{name}` is not a source name"),
                "write IRRd source names such as \"RIPE\", \"ARIN\", \"RADB\"",
            );
        }
    }
    if !p.sources.is_empty() && p.whois.is_none() && r.whois.is_none() {
        if let Some(s) = r.sources.iter().flatten().next() {
            v.warn(
                s.span(),
                "irr.sources without irr.whois has no effect",
                "sources select the databases of a whois server; remove them or set irr.whois",
            );
        }
    }
    if let Some(t) = &r.refresh {
        match syntax::parse_interval(t.get_ref()) {
            Some(n) if n >= 60 => p.refresh_secs = n,
            Some(_) => v.err(
                t.span(),
                format!(
                    "IRR refresh interval `{}` is shorter than a minute",
                    t.get_ref()
                ),
                "IRR data changes slowly; use e.g. \"30m\", \"6h\" (the default) or \"1d\"",
            ),
            None => v.err(
                t.span(),
                format!("`{}` is not an interval", t.get_ref()),
                "write a number with a unit: s, m, h or d, e.g. \"6h\"",
            ),
        }
    }
    if let Some(d) = &r.cache_dir {
        if let Some(d) = v.nonempty(d, "IRR cache directory") {
            p.cache_dir = d;
        }
    }
}

/// A `max_prefix_action` value.
pub(super) fn max_prefix_action(v: &mut V, r: &Option<S<String>>) -> Option<MaxPrefixAction> {
    let r = r.as_ref()?;
    match r.get_ref().as_str() {
        "restart" => Some(MaxPrefixAction::Restart),
        "shutdown" => Some(MaxPrefixAction::Shutdown),
        "warning" => Some(MaxPrefixAction::Warning),
        other => {
            v.err(
                r.span(),
                format!("max_prefix_action `{other}` is not one of restart, shutdown, warning"),
                "\"restart\" (default): Cease, back after max_prefix_restart minutes; \"shutdown\": Cease, stays down; \"warning\": log and count, the session stays up",
            );
            None
        }
    }
}
