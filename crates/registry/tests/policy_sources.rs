//! The keys that feed the policy's data sources and the max-prefix action:
//! `[policy.irr] whois / sources / refresh / cache_dir`,
//! `[policy] max_prefix_action` and the per-member override, with their
//! defaults, their errors (file:line:column) and the effective
//! configuration round trip.

mod common;

use std::path::Path;

use registry::{line_col, Config, MaxPrefixAction, Severity, DEFAULT_IRR_REFRESH_SECS};

use common::BASE;

const MEMBER: &str = "[[member]]\nasn = 64501\nname = \"M\"\nipv4 = [\"192.0.2.11\"]\nmax_prefix = { ipv4 = 10, ipv6 = 10 }\n";

fn load(extra: &str) -> Config {
    let src = format!("{BASE}\n{extra}");
    match Config::from_toml(Path::new("t.toml"), &src) {
        Ok(c) => c,
        Err(d) => panic!("does not load:\n{}", d.render()),
    }
}

/// The errors of `extra` appended to BASE, as (line, column, message).
fn errors(extra: &str) -> Vec<(usize, usize, String)> {
    let src = format!("{BASE}\n{extra}");
    let d = Config::check_str(Path::new("t.toml"), &src).1;
    d.items
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| {
            let lc = x
                .span
                .as_ref()
                .map_or(line_col("", 0), |s| line_col(&d.source, s.start));
            (lc.line, lc.col, x.message.clone())
        })
        .collect()
}

#[test]
fn defaults_without_irr_keys() {
    let c = load(MEMBER);
    assert_eq!(c.policy.irr.whois, None);
    assert!(c.policy.irr.sources.is_empty());
    assert_eq!(c.policy.irr.refresh_secs, DEFAULT_IRR_REFRESH_SECS);
    assert_eq!(c.policy.irr.cache_dir, "cache/irr");
    assert!(!c.policy.irr_enabled());
    assert_eq!(c.policy.max_prefix_action, MaxPrefixAction::Restart);
    assert_eq!(c.members[0].policy.max_prefix_action, None);
}

#[test]
fn whois_source_turns_irr_on() {
    let c = load(
        "[policy.irr]\nwhois = \"127.0.0.1:4343\"\nsources = [\"ripe\", \"RADB\"]\nrefresh = \"30m\"\ncache_dir = \"state/irr\"\n",
    );
    assert_eq!(c.policy.irr.whois.as_deref(), Some("127.0.0.1:4343"));
    assert_eq!(c.policy.irr.sources, ["RIPE", "RADB"]);
    assert_eq!(c.policy.irr.refresh_secs, 1800);
    assert_eq!(c.policy.irr.cache_dir, "state/irr");
    assert!(c.policy.irr_enabled());
}

#[test]
fn refresh_units() {
    for (text, secs) in [("90s", 90), ("2m", 120), ("6h", 21600), ("1d", 86400)] {
        let c = load(&format!(
            "[policy.irr]\nwhois = \"h:43\"\nrefresh = \"{text}\"\n"
        ));
        assert_eq!(c.policy.irr.refresh_secs, secs, "{text}");
    }
}

#[test]
fn bad_irr_keys_point_at_the_value() {
    // Line 17 is `[policy.irr]`.
    let e = errors("[policy.irr]\nwhois = \"no-port\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (18, 9));
    assert!(e[0].2.contains("whois server"), "{e:?}");

    let e = errors("[policy.irr]\nwhois = \"h:43\"\nrefresh = \"6 hours\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (19, 11));
    assert!(e[0].2.contains("not an interval"), "{e:?}");

    let e = errors("[policy.irr]\nwhois = \"h:43\"\nrefresh = \"10s\"\n");
    assert!(e[0].2.contains("shorter than a minute"), "{e:?}");

    let e = errors("[policy.irr]\nwhois = \"h:43\"\nsources = [\"RIPE\", \"a b\"]\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (19, 20));

    let e = errors("[policy.irr]\nrpsl_files = [\"x.db\"]\nwhois = \"h:43\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, 19);
    assert!(e[0].2.contains("both set"), "{e:?}");
}

#[test]
fn max_prefix_action_global_and_per_member() {
    let c = load(&format!(
        "[policy]\nmax_prefix_action = \"warning\"\n\n{MEMBER}policy = {{ max_prefix_action = \"shutdown\" }}\n"
    ));
    assert_eq!(c.policy.max_prefix_action, MaxPrefixAction::Warning);
    assert_eq!(
        c.members[0].policy.max_prefix_action,
        Some(MaxPrefixAction::Shutdown)
    );
    let e = errors("[policy]\nmax_prefix_action = \"warn-only\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (18, 21));
    assert!(e[0].2.contains("restart, shutdown, warning"), "{e:?}");
}

#[test]
fn effective_configuration_round_trips() {
    let c = load(&format!(
        "[policy]\nmax_prefix_action = \"warning\"\n[policy.irr]\nwhois = \"127.0.0.1:4343\"\nsources = [\"RIPE\"]\nrefresh = \"45m\"\n\n{MEMBER}policy = {{ max_prefix_action = \"restart\" }}\n"
    ));
    let text = c.effective_toml();
    let again = match Config::from_toml(Path::new("t.toml"), &text) {
        Ok(c) => c,
        Err(d) => panic!(
            "effective configuration does not load:\n{}\n{text}",
            d.render()
        ),
    };
    assert_eq!(again.policy, c.policy);
    assert_eq!(again.members, c.members);
}

#[test]
fn aspa_json_file() {
    let c = load("[policy.rpki]\nrtr = [\"127.0.0.1:3323\"]\naspa_json = \"aspa.json\"\n");
    assert_eq!(c.policy.rpki.aspa_json.as_deref(), Some("aspa.json"));
    // The file does not exist next to t.toml: a warning, not an error.
    let src =
        format!("{BASE}\n[policy.rpki]\nrtr = [\"127.0.0.1:3323\"]\naspa_json = \"aspa.json\"\n");
    let d = Config::check_str(Path::new("t.toml"), &src).1;
    assert_eq!(d.error_count(), 0, "{}", d.render());
    assert!(d.render().contains("ASPA file"), "{}", d.render());
    assert_eq!(load(MEMBER).policy.rpki.aspa_json, None);
}
