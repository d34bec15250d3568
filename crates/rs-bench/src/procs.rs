//! Processes the benchmarks start, and what `/proc` says about them: peak
//! resident memory (`VmHWM` in `/proc/PID/status`) and CPU time (`utime` +
//! `stime` in `/proc/PID/stat`, proc(5)), summed over a process and its
//! descendants (OpenBGPD runs as three processes).
//!
//! Every process started goes into a [`Proc`] whose `Drop` kills it and
//! its descendants by PID, so an error or a timeout leaves nothing behind.
//!
//! Not here: what the processes are configured to do.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 on
/// every Linux architecture this runs on).
const CLK_TCK: f64 = 100.0;

/// A started process, killed (with its descendants) on drop.
#[derive(Debug)]
pub struct Proc {
    /// What it is, for messages.
    pub name: String,
    child: Child,
}

impl Proc {
    /// Start `cmd` with stdout and stderr into `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Proc, String> {
        let out = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {name} ({:?}): {e}; is its Debian package installed? (scripts/install-deps)",
                    cmd.get_program()
                )
            })?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` when it has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(s)) => Some(s.to_string()),
            _ => None,
        }
    }

    /// Peak resident memory of the process tree, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        tree(self.pid()).iter().filter_map(|p| vm_hwm(*p)).sum()
    }

    /// Current resident memory of the process tree, in KiB.
    pub fn rss_kib(&self) -> u64 {
        tree(self.pid())
            .iter()
            .filter_map(|p| status_kib(*p, "VmRSS:"))
            .sum()
    }

    /// CPU seconds used so far by the process tree.
    pub fn cpu_seconds(&self) -> f64 {
        tree(self.pid()).iter().filter_map(|p| cpu(*p)).sum()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let mut pids = tree(self.pid());
        pids.reverse();
        for p in pids {
            if p != self.pid() {
                let _ = Command::new("kill")
                    .args(["-KILL", &p.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pid` and all its descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(pp) = stat_fields(p).and_then(|f| f.get(1).and_then(|s| s.parse().ok())) {
                parents.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while let Some(&cur) = out.get(i) {
        for (p, pp) in &parents {
            if *pp == cur && !out.contains(p) {
                out.push(*p);
            }
        }
        i += 1;
    }
    out
}

/// Fields of `/proc/PID/stat` after the command name: state is index 0,
/// ppid 1, utime 11, stime 12.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.get(s.rfind(')')? + 1..)?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn cpu(pid: u32) -> Option<f64> {
    let f = stat_fields(pid)?;
    let u: f64 = f.get(11)?.parse().ok()?;
    let s: f64 = f.get(12)?.parse().ok()?;
    Some((u + s) / CLK_TCK)
}

fn vm_hwm(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds used so far by this process (the load generator).
pub fn self_cpu_seconds() -> f64 {
    cpu(std::process::id()).unwrap_or(0.0)
}

/// Peak resident memory of this process, KiB.
pub fn self_peak_rss_kib() -> u64 {
    vm_hwm(std::process::id()).unwrap_or(0)
}

/// Run a command to completion; an error says what failed.
pub fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
