//! Child processes of the end-to-end tests: a list of children killed (by
//! PID) and reaped on drop, `caribix run` started on a configuration file
//! with its output in a numbered log, and SIGHUP by PID.
//!
//! Not here: the single-child guard [`super::Proc`] and the
//! wait-for-the-API start of [`super::Caribix`], which these build on.

use std::path::Path;
use std::process::{Child, Command};

/// Kills `child` by its PID and reaps it; errors (already gone) ignored.
pub fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Child processes, killed (by PID) and reaped when dropped.
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(kill_and_reap);
    }
}

/// `caribix run CFG` with its stdout and stderr in `dir/caribix-N.log`
/// (read back with [`caribix_log`]).
pub fn spawn_caribix(dir: &Path, cfg: &Path, n: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("caribix-{n}.log")))
        .expect("create the caribix log");
    Command::new(env!("CARGO_BIN_EXE_caribix"))
        .arg("run")
        .arg(cfg)
        .stdout(log.try_clone().expect("clone the caribix log"))
        .stderr(log)
        .spawn()
        .expect("cannot start caribix")
}

/// What `caribix run` number `n` logged so far in `dir`.
pub fn caribix_log(dir: &Path, n: usize) -> String {
    std::fs::read_to_string(dir.join(format!("caribix-{n}.log"))).unwrap_or_default()
}

/// Sends SIGHUP to process `pid` with `kill -HUP`; fails the test when
/// that does not succeed.
pub fn sighup(pid: u32) {
    let ok = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -HUP {pid} failed");
}

/// Starts `caribix run CFG` as [`spawn_caribix`] number `n`, adds it to
/// `procs`, and waits (at most 20 s) until its API on 127.0.0.1:`web`
/// answers `/api/v1/neighbors`; fails the test with the log otherwise.
pub fn start_caribix(procs: &mut Procs, dir: &Path, cfg: &Path, n: usize, web: u16) {
    procs.0.push(spawn_caribix(dir, cfg, n));
    let up = super::wait::became(std::time::Duration::from_secs(20), || {
        super::api::http_get(web, "/api/v1/neighbors").is_some()
    });
    assert!(
        up,
        "the JSON API of caribix run {n} did not answer within 20 s; its log:\n{}",
        caribix_log(dir, n)
    );
}
