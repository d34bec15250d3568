//! Property tests: whatever the bytes, loading a configuration returns
//! diagnostics or a configuration, never panics; every diagnostic's span
//! lies inside the text; an accepted configuration's effective form loads
//! back to the same effective form; IX-F import never panics either.

use std::path::Path;

use proptest::prelude::*;
use registry::{ixf, Config};

const EXAMPLE: &str = include_str!("../../../examples/caribix-multi.toml");

fn check_invariants(src: &str) {
    let (cfg, diags) = Config::check_str(Path::new("p.toml"), src);
    for d in &diags.items {
        if let Some(s) = &d.span {
            assert!(
                s.start <= s.end && s.end <= src.len(),
                "span {s:?} outside {} bytes",
                src.len()
            );
        }
    }
    let _ = diags.render();
    match cfg {
        Some(cfg) => {
            assert!(!diags.has_errors());
            let eff = cfg.effective_toml();
            let again = Config::from_toml(Path::new("e.toml"), &eff)
                .unwrap_or_else(|d| panic!("effective form does not load:\n{d}\n{eff}"));
            assert_eq!(again.effective_toml(), eff);
        }
        None => assert!(diags.has_errors(), "rejected without an error"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Replace a byte range of the example with arbitrary text.
    #[test]
    fn mutated_example_never_panics(at in 0usize..EXAMPLE.len(), len in 0usize..40, insert in "\\PC{0,20}") {
        let mut s = EXAMPLE.as_bytes().to_vec();
        let end = (at + len).min(s.len());
        s.splice(at..end, insert.bytes());
        let src = String::from_utf8_lossy(&s).into_owned();
        check_invariants(&src);
    }

    /// Arbitrary TOML-ish text.
    #[test]
    fn arbitrary_text_never_panics(src in "[\\[\\]a-z_=\" 0-9.:,{}\n#-]{0,200}") {
        check_invariants(&src);
    }

    /// Arbitrary JSON-ish text into the IX-F importer.
    #[test]
    fn ixf_import_never_panics(src in "[\\[\\]{}\":, a-z_0-9.]{0,200}") {
        let _ = ixf::import(&src);
    }
}

#[test]
fn ixf_import_of_mutated_export_never_panics() {
    let cfg = Config::from_toml(Path::new("x.toml"), EXAMPLE).unwrap();
    let json = ixf::export_json(&cfg, "2026-11-23T08:00:00Z").unwrap();
    // Delete each quoted value in turn: every shape error must be survivable.
    let mut from = 0;
    let mut n = 0;
    while let Some(i) = json.get(from..).and_then(|s| s.find(": ")) {
        let at = from + i + 2;
        let end = json
            .get(at..)
            .and_then(|s| s.find([',', '\n']))
            .map_or(json.len(), |e| at + e);
        let broken = format!("{}null{}", &json[..at], &json[end..]);
        if let Ok(imp) = ixf::import(&broken) {
            let _ = imp.to_toml();
        }
        from = at;
        n += 1;
    }
    assert!(n > 100, "only {n} mutations");
}
