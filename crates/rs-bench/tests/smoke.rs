//! Smoke test of `rs-bench`, so the tool does not rot: three members of
//! fifty prefixes each against caribix (`caribix run`) on 127.77.x.y
//! addresses, no root needed. rs-bench itself exits with an error unless
//! every member ends up holding exactly the routes of the two others,
//! after the announcements and after the churn; this test checks that and
//! the report's row; a second run adds the idle phase with sFlow into
//! caribix's flow collector (`--idle`, `--flow-rate`). No timing is
//! asserted.

use std::path::PathBuf;
use std::process::Command;

/// The caribix binary next to this test's target directory: the debug
/// one (built by any workspace test run or `cargo build -p caribix`), or
/// the release one.
fn caribix() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/smoke-HASH -> target/
    let target = exe
        .parent()
        .and_then(|d| d.parent())
        .and_then(|d| d.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    for p in [target.join("debug/caribix"), target.join("release/caribix")] {
        if p.exists() {
            return p;
        }
    }
    panic!(
        "no caribix binary under {}: build it first with `cargo build -p caribix`",
        target.display()
    );
}

/// Runs rs-bench's smoke scenario against caribix on loopback with
/// filtering off, plus `extra` arguments, in a scratch directory named
/// after `name`; fails unless it succeeds. Gives its output and the
/// caribix row of the report.
fn smoke(name: &str, extra: &[&str]) -> (String, String) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_rs-bench"))
        .args([
            "--scenario",
            "smoke",
            "--net",
            "loopback",
            "--target",
            "caribix",
        ])
        .args(["--filtering", "off", "--runs", "1", "--timeout", "60"])
        .args(extra)
        .arg("--caribix")
        .arg(caribix())
        .arg("--workdir")
        .arg(&dir)
        .output()
        .expect("rs-bench runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rs-bench failed:\n{stdout}\n{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("| off | 1 | caribix |"))
        .unwrap_or_else(|| panic!("no caribix row in:\n{stdout}"))
        .to_string();
    (stdout, row)
}

#[test]
fn three_members_against_caribix() {
    let (stdout, row) = smoke("rs-bench-smoke", &[]);
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // | filtering | run | target | convergence | withdraw | re-announce | ...
    for (k, what) in [(4, "convergence"), (5, "withdraw"), (6, "re-announce")] {
        let v: f64 = cells
            .get(k)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{what} is not a number in {row}"));
        assert!(v > 0.0, "{what} {v} in {row}");
    }
    assert!(stdout.contains("150 routes announced"), "{stdout}");
}

#[test]
fn idle_phase_with_sflow_into_caribix() {
    let (_, row) = smoke(
        "rs-bench-smoke-flows",
        &["--idle", "3", "--flow-rate", "2000"],
    );
    // "... with 2000 sFlow samples/s: N sent, M counted by caribix;"
    let note = row
        .split("with 2000 sFlow samples/s: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no flow note in {row}"));
    let numbers: Vec<u64> = note
        .split([' ', ','])
        .filter_map(|w| w.parse().ok())
        .take(2)
        .collect();
    assert_eq!(numbers.len(), 2, "{row}");
    assert!(numbers[0] > 0, "{row}");
    assert_eq!(numbers[0], numbers[1], "sent and counted differ: {row}");
    assert!(row.contains(" CPU "), "{row}");
}
