//! The built `caribix` binary: `check` on a broken file exits 1 and points
//! at FILE:LINE:COLUMN for every error; on the examples it exits 0 with a
//! one-line summary; `--print` writes a configuration that loads again;
//! `export ixf` and `import ixf` round-trip a member list.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn caribix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_caribix"))
        .args(args)
        .output()
        .expect("run the caribix binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .display()
        .to_string()
}

/// A scratch file unique to this test process, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn scratch(name: &str, contents: &str) -> Scratch {
    let p = std::env::temp_dir().join(format!("caribix-check-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, contents).expect("write scratch file");
    Scratch(p)
}

const BROKEN: &str = r#"[ixp]
shortname = "GPIX"
name = "Guadeloupe IXP"
country = "GP"

[[peering_lan]]
name = "main"
vlan = 4095
ipv4 = "192.0.2.0/24"

[route_server]
asn = 64500
router_id = "192.0.2.1"
listen = ["192.0.2.1:179"]

[[member]]
asn = 23456
name = "Bad"
ipv4 = ["198.51.100.7"]
macs = ["02:00:00:00:00:zz"]
"#;

#[test]
fn check_reports_every_error_with_file_line_column() {
    let p = scratch("broken.toml", BROKEN);
    let out = caribix(&["check", &p.path()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    let f = p.path();
    for (loc, what) in [
        ("8:8", "VLAN ID must be between 1 and 4094, not 4095"),
        ("17:7", "AS_TRANS"),
        (
            "19:9",
            "198.51.100.7 is outside every IPv4 peering LAN of GPIX",
        ),
        ("20:9", "is not a MAC address"),
    ] {
        assert!(
            err.contains(&format!("  --> {f}:{loc}\n")),
            "no {f}:{loc} in:\n{err}"
        );
        assert!(err.contains(what), "no {what:?} in:\n{err}");
    }
    assert!(err.contains("4 errors and 1 warning found"), "{err}");
    assert!(text(&out.stdout).is_empty());
}

#[test]
fn check_accepts_the_examples() {
    for (name, summary) in [
        (
            "caribix.toml",
            "1 IXP (GPIX), 1 peering LAN, 2 route servers, 13 members, 0 bridges",
        ),
        (
            "caribix-multi.toml",
            "3 IXPs (GPIX, SXMIX, SBHIX), 3 peering LANs, 3 route servers, 10 members, 2 bridges",
        ),
    ] {
        let f = example(name);
        let out = caribix(&["check", &f]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(
            stdout.starts_with(&format!("{f}: OK: {summary}")),
            "{stdout}"
        );
    }
}

#[test]
fn check_print_writes_a_loadable_effective_configuration() {
    let out = caribix(&["check", "--print", &example("caribix-multi.toml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let eff = text(&out.stdout);
    assert!(
        eff.contains("[[bridge]]") && eff.contains("hold_time = 90"),
        "{eff}"
    );
    let p = scratch("effective.toml", &eff);
    let again = caribix(&["check", &p.path()]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
}

#[test]
fn check_on_a_missing_file_fails_clearly() {
    let out = caribix(&["check", "/nonexistent/caribix.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read the configuration"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn export_then_import_ixf() {
    let out = caribix(&["export", "ixf", &example("caribix.toml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = text(&out.stdout);
    assert!(json.contains("\"version\": \"1.0\""), "{json}");
    assert!(json.contains("\"asnum\": 64496"), "{json}");
    let j = scratch("export.json", &json);
    let imp = caribix(&["import", "ixf", &j.path()]);
    assert_eq!(imp.status.code(), Some(0), "{}", text(&imp.stderr));
    let toml = text(&imp.stdout);
    assert!(toml.contains("shortname = \"GPIX\""), "{toml}");
    assert!(
        text(&imp.stderr).contains("13 member entries"),
        "{}",
        text(&imp.stderr)
    );
    let t = scratch("imported.toml", &toml);
    let chk = caribix(&["check", &t.path()]);
    assert_eq!(chk.status.code(), Some(0), "{}", text(&chk.stderr));
    assert!(
        text(&chk.stdout).contains("13 members"),
        "{}",
        text(&chk.stdout)
    );
}

#[test]
fn export_of_a_broken_file_fails() {
    let p = scratch("broken-export.toml", BROKEN);
    let out = caribix(&["export", "ixf", &p.path()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).is_empty());
    assert!(text(&out.stderr).contains(":8:8"), "{}", text(&out.stderr));
}

#[test]
fn import_of_non_ixf_fails() {
    let p = scratch("not-ixf.json", "{\"hello\": 1}");
    let out = caribix(&["import", "ixf", &p.path()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not an IX-F member list"),
        "{}",
        text(&out.stderr)
    );
}
