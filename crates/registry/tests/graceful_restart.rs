//! `[route_server] graceful_restart` and `graceful_restart_time`: defaults,
//! values, and the error (with its place) for a time that does not fit the
//! 12 bits of RFC 4724 §3.

mod common;

use std::path::Path;

use registry::{line_col, Config};

use common::BASE_V4 as BASE;

fn load(extra: &str) -> Result<Config, registry::Diagnostics> {
    Config::from_toml(Path::new("t.toml"), &format!("{BASE}{extra}"))
}

#[test]
fn defaults_are_on_and_120_seconds() {
    let c = load("").unwrap_or_else(|d| panic!("{}", d.render()));
    let rs = &c.route_servers[0];
    assert!(rs.graceful_restart);
    assert_eq!(rs.graceful_restart_time, 120);
}

#[test]
fn values_are_read() {
    let c = load("graceful_restart = false\ngraceful_restart_time = 5\n")
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let rs = &c.route_servers[0];
    assert!(!rs.graceful_restart);
    assert_eq!(rs.graceful_restart_time, 5);
    let c = load("graceful_restart_time = 4095\n").unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(c.route_servers[0].graceful_restart_time, 4095);
}

#[test]
fn out_of_range_time_is_an_error_at_its_value() {
    for bad in ["0", "4096", "-3"] {
        let d = load(&format!("graceful_restart_time = {bad}\n")).expect_err(bad);
        assert_eq!(d.error_count(), 1, "{}", d.render());
        let item = &d.items[0];
        let span = item.span.as_ref().expect("a span");
        let lc = line_col(&d.source, span.start);
        // Line 15 of the file, after `graceful_restart_time = `.
        assert_eq!((lc.line, lc.col), (15, 25), "{}", d.render());
        assert!(
            item.message.contains("graceful_restart_time"),
            "{}",
            d.render()
        );
    }
    let d = load("graceful_restart_time = \"long\"\n").expect_err("a string");
    assert!(d.error_count() >= 1);
}
