//! Heap cost and time of an RTR sync: N VRPs served by rov's own
//! [`RtrServer`] over TCP on 127.0.0.1 to the real [`RtrClient`], then one
//! serial update of a few thousand changes.
//!
//! The server runs in a child process (this same program with `--serve`)
//! so that only the client's memory is counted here. A counting global
//! allocator gives the live and peak heap; `VmRSS`/`VmHWM` from
//! `/proc/self/status` are printed beside them (RSS also holds what
//! glibc keeps of freed memory).
//!
//! The VRPs have a realistic shape: 80% IPv4 with lengths weighted like
//! the global ROA set (mostly /24 and shorter), 20% IPv6 (mostly /48,
//! /32), a quarter with a maximum length above the prefix length, and one
//! prefix in ten with 2 to 4 VRPs (other origins or maximum lengths).
//!
//! ```text
//! cargo run --release -p rov --example vrp_memory -- [--vrps 400000] [--changes 4000]
//! ```
//!
//! It does not measure lookups (tests/perf.rs does) and is not a test.

// The one use of `unsafe` here: a `GlobalAlloc` must be an `unsafe impl`.
// It forwards every call to the system allocator unchanged and only adds
// to counters. Measurement tool only; nothing of it is in the library.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bgp_wire::Prefix;
use rov::{AspaTable, RtrClient, RtrConfig, RtrServer, Timing, Vrp, VrpTable};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every method passes its arguments to `System` unchanged and
// returns its result; the counters do not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from the current live heap.
fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

fn mib(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
}

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn rss() -> (usize, usize) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system) of this process, not of the server child:
/// `utime` and `stime` of `/proc/self/stat`, in clock ticks of 10 ms (the
/// usual USER_HZ of Linux).
fn cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = text.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|w| w.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// xorshift64*: the same VRPs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Prefix lengths weighted roughly like the global ROA set.
fn real_len(rng: &mut Rng, v6: bool) -> u8 {
    let r = rng.below(100);
    let (lens, short): (&[(u64, u8)], u8) = if v6 {
        (
            &[(45, 48), (60, 32), (70, 44), (78, 40), (84, 36), (90, 29)],
            19,
        )
    } else {
        (
            &[
                (55, 24),
                (63, 23),
                (73, 22),
                (78, 21),
                (84, 20),
                (88, 19),
                (93, 17),
                (98, 16),
            ],
            8,
        )
    };
    lens.iter()
        .find(|(limit, _)| r < *limit)
        .map_or_else(|| short + rng.below(8) as u8, |(_, len)| *len)
}

/// One random prefix with one to four VRPs.
fn vrp_group(rng: &mut Rng, out: &mut Vec<Vrp>) {
    let v6 = rng.below(5) == 0;
    let len = real_len(rng, v6);
    let prefix = if v6 {
        let a = (u128::from(rng.next()) << 64 | u128::from(rng.next())) >> 4 | (2u128 << 124);
        Prefix::V6(a & (u128::MAX << (128 - u32::from(len))), len)
    } else {
        let a = (rng.next() >> 32) as u32;
        Prefix::V4(a & (u32::MAX << (32 - u32::from(len))), len)
    };
    let family_max = if v6 { 128 } else { 32 };
    let n = if rng.below(10) == 0 {
        2 + rng.below(3)
    } else {
        1
    };
    for _ in 0..n {
        let max_len = if rng.below(4) == 0 {
            (len + 1 + rng.below(8) as u8).min(family_max)
        } else {
            len
        };
        let asn = if rng.below(50) == 0 {
            0
        } else {
            1 + rng.below(400_000) as u32
        };
        if let Ok(v) = Vrp::new(prefix, max_len, asn) {
            out.push(v);
        }
    }
}

/// Exactly `n` distinct VRPs.
fn generate(rng: &mut Rng, n: usize) -> Vec<Vrp> {
    let mut vrps = Vec::with_capacity(n + n / 4);
    while vrps.len() < n {
        while vrps.len() < n + n / 50 + 8 {
            vrp_group(rng, &mut vrps);
        }
        vrps.sort_unstable();
        vrps.dedup();
    }
    vrps.truncate(n);
    vrps
}

/// The changed set: `changes / 2` VRPs withdrawn, as many announced (half
/// on new prefixes, half on prefixes that have VRPs).
fn changed(base: &[Vrp], changes: usize) -> Vec<Vrp> {
    let mut rng = Rng(0x5eed_0fc4_a99e_5001);
    let mut out: Vec<Vrp> = base.to_vec();
    let mut gone = std::collections::HashSet::new();
    while gone.len() < changes / 2 && gone.len() < base.len() {
        gone.insert(rng.below(base.len() as u64) as usize);
    }
    let mut i = 0;
    out.retain(|_| {
        i += 1;
        !gone.contains(&(i - 1))
    });
    let mut added = Vec::new();
    while added.len() < changes / 4 {
        vrp_group(&mut rng, &mut added);
    }
    for k in 0..changes.div_ceil(4) {
        if let Some(v) = base.get(rng.below(base.len() as u64) as usize) {
            added.extend(Vrp::new(v.prefix, v.max_len, 4_000_000 + k as u32));
        }
    }
    out.extend(added);
    out.sort_unstable();
    out.dedup();
    out
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

/// The child: serves the VRPs, prints `PORT n`, applies the update when a
/// line `update` arrives (prints `UPDATED n`), ends at end of input.
fn serve(n: usize, changes: usize) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("server: cannot start a runtime: {e}");
            return;
        }
    };
    rt.block_on(async {
        let base = generate(&mut Rng(0x1234_5678_9abc_def1), n);
        let next = changed(&base, changes);
        let next_len = next.len();
        let table = VrpTable::new(base, AspaTable::default());
        let timing = Timing {
            refresh: 3600,
            retry: 600,
            expire: 7200,
        };
        let server =
            match RtrServer::bind("127.0.0.1:0".parse().expect("address"), &table, timing).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("server: {e}");
                    return;
                }
            };
        drop(table);
        let next = VrpTable::new(next, AspaTable::default());
        println!("PORT {}", server.local_addr().port());
        let lines = tokio::task::spawn_blocking(|| {
            std::io::stdin()
                .lock()
                .lines()
                .any(|l| l.is_ok_and(|l| l == "update"))
        });
        if lines.await.unwrap_or(false) {
            if let Err(e) = server.set(&next) {
                eprintln!("server: {e}");
                return;
            }
            println!("UPDATED {next_len}");
            // Keep serving until the parent closes our input.
            let _ =
                tokio::task::spawn_blocking(|| for _ in std::io::stdin().lock().lines() {}).await;
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--vrps", 400_000);
    let changes = arg(&args, "--changes", 4_000);
    if args.iter().any(|a| a == "--serve") {
        serve(n, changes);
        return;
    }
    if let Err(e) = measure(n, changes) {
        eprintln!("vrp_memory: {e}");
        std::process::exit(1);
    }
}

async fn wait_until(
    what: &str,
    limit: Duration,
    mut f: impl FnMut() -> bool,
) -> Result<Duration, String> {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > limit {
            return Err(format!("{what}: not done after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(start.elapsed())
}

fn measure(n: usize, changes: usize) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args([
            "--serve",
            "--vrps",
            &n.to_string(),
            "--changes",
            &changes.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the server process: {e}"))?;
    let result = with_server(&mut child, n, changes);
    // Closing its input ends the server; kill it (by its PID) should it not.
    drop(child.stdin.take());
    if !matches!(child.try_wait(), Ok(Some(_))) {
        std::thread::sleep(Duration::from_millis(200));
        if !matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
        }
    }
    let _ = child.wait();
    result
}

fn with_server(child: &mut std::process::Child, n: usize, changes: usize) -> Result<(), String> {
    let stdout = child.stdout.take().ok_or("no server output")?;
    let mut out = BufReader::new(stdout).lines();
    let mut read_line = |prefix: &str| -> Result<usize, String> {
        match out.next() {
            Some(Ok(l)) => l
                .strip_prefix(prefix)
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("server said {l:?}, expected {prefix}")),
            _ => Err(format!("server ended before {prefix}")),
        }
    };
    let port = read_line("PORT ")?;
    let dir = std::env::temp_dir().join(format!("rov-vrp-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let stdin = child.stdin.as_mut().ok_or("no server input")?;
    let r = rt.block_on(async {
        let before = live();
        let cpu0 = cpu();
        reset_peak();
        let config = RtrConfig::new([format!("127.0.0.1:{port}")], &dir);
        let (rpki, task) = RtrClient::new(config).spawn();
        // The table is swapped in before its generation is announced.
        let load = wait_until("the full load", Duration::from_secs(600), || {
            rpki.current().len() == n && rpki.generation() > 0
        })
        .await?;
        // Let the client finish what follows the install (status, the
        // session loop) before reading the counters.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let load_cpu = cpu() - cpu0;
        let load_peak = peak() - before;
        let load_live = live() - before;
        let (rss_load, hwm_load) = rss();
        let file = std::fs::metadata(dir.join(rov::persist::FILE_NAME)).map_or(0, |m| m.len());

        let gen = rpki.generation();
        let cpu1 = cpu();
        reset_peak();
        let start = Instant::now();
        writeln!(stdin, "update").map_err(|e| e.to_string())?;
        stdin.flush().map_err(|e| e.to_string())?;
        let expect = tokio::task::block_in_place(|| read_line("UPDATED "))?;
        wait_until("the serial update", Duration::from_secs(600), || {
            rpki.generation() > gen && rpki.current().len() == expect
        })
        .await?;
        let update = start.elapsed();
        let update_cpu = cpu() - cpu1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let got = rpki.current().len();
        if got != expect {
            return Err(format!("after the update the client has {got} VRPs, the server {expect}"));
        }
        let update_peak = peak() - before;
        let update_live = live() - before;
        let (rss_update, hwm_update) = rss();
        let changed = rpki.subscribe().borrow().changed.len();
        task.abort();

        println!("VRPs: {n} (after the update {got}); persisted file {}", mib(file as usize));
        println!(
            "full load: {load:?} (client CPU {load_cpu:?}); heap peak {} ({:.0} B/VRP), live after {} ({:.1} B/VRP); RSS {} (high-water {})",
            mib(load_peak),
            load_peak as f64 / n as f64,
            mib(load_live),
            load_live as f64 / n as f64,
            mib(rss_load),
            mib(hwm_load)
        );
        println!(
            "serial update ({changes} changes, {changed} changed prefixes): {update:?} (client CPU {update_cpu:?}); heap peak {} ({:.0} B/VRP), live after {}; RSS {} (high-water {})",
            mib(update_peak),
            update_peak as f64 / n as f64,
            mib(update_live),
            mib(rss_update),
            mib(hwm_update)
        );
        Ok::<(), String>(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    r
}
