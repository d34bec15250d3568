//! Bounded polling for the end-to-end tests: a condition is asked again
//! every 250 ms until it holds or the time is up, and then the test fails
//! with what it was waiting for.
//!
//! Not here: waits with a richer failure report (the API answer and the
//! log), which [`super::Caribix::poll`] does.

use std::time::{Duration, Instant};

/// Polls `f` every 250 ms until it returns `Ok`, or fails the test after
/// `timeout` with `what` and the last reason `f` gave.
pub fn wait_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for {what}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Polls `f` every 250 ms until it says yes, or fails the test after
/// `timeout` saying what it waited for.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    wait_until(timeout, what, || {
        if f() {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    })
}

/// Polls `f` every 250 ms for at most `timeout`; whether it said yes (for
/// tests that assert with their own message).
pub fn became(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    f()
}
