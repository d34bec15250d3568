//! Heap and time of loading IRR data the way `caribix run` does: an
//! [`IrrUpdater`] on RPSL dump files, one AS-SET per member, waiting for
//! the first snapshot; then a second updater started from the disk cache
//! that the first one wrote.
//!
//! The dump is generated in the shape of rs-bench's (`caribix_rpsl` in
//! crates/rs-bench/src/targets.rs): per member an `as-set` holding its AS
//! and one `route`/`route6` object per prefix. Around that it adds the
//! noise of real dumps: comments and server remarks, `descr:` values over
//! continuation lines (`+`, space, tab), mixed-case attribute names,
//! `aut-num` objects with policy lines, `mntner` and `person` objects, and
//! route objects of ASes that are no member (one per ten member routes).
//!
//! Heap figures come from a counting global allocator (the bytes asked of
//! the system allocator: what glibc keeps after a free is not counted;
//! peak RSS is printed beside it from /proc/self/status). It does not
//! measure the whois path (that needs a server).
//!
//! ```text
//! cargo run --release -p irr --example irr_memory -- medium
//! cargo run --release -p irr --example irr_memory -- large
//! cargo run --release -p irr --example irr_memory -- 20x500
//! ```
//!
//! The process exits with an error when a member's data is not what was
//! generated, so a figure never comes from a broken load.

// The counting allocator needs `unsafe impl GlobalAlloc`; it only forwards
// to `System` and counts (docs/decisions/0076).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bgp_wire::Prefix;
use irr::{IrrConfig, IrrSource, IrrUpdater, MemberSpec, PrefixSet};

/// Forwards to the system allocator and counts the bytes in use and their
/// peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrink(n: usize) {
    CURRENT.fetch_sub(n, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged and only adds bookkeeping on atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`'s.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; a large block is moved by mremap, so
        // only the difference is counted.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A small deterministic generator (xorshift64*), so that every run
/// loads the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A prefix of a realistic length: IPv4 mostly /24, some /16-/23; IPv6
/// /32-/48 (one in eight routes is IPv6).
fn random_prefix(rng: &mut Rng) -> Prefix {
    if rng.below(8) == 0 {
        let len = [32u8, 36, 40, 44, 48, 48, 48][rng.below(7) as usize];
        let a = (0x2000_u128 << 112) | (u128::from(rng.next()) << 48);
        Prefix::V6(a & (u128::MAX << (128 - u32::from(len))), len)
    } else {
        let len = [24u8, 24, 24, 24, 23, 22, 21, 20, 19, 16][rng.below(10) as usize];
        let a = (rng.next() as u32) | 0x0100_0000;
        Prefix::V4(a & (u32::MAX << (32 - u32::from(len))), len)
    }
}

const MEMBER_ASN_BASE: u32 = 64_600;

/// Writes the dump and returns each member's registered prefixes (what
/// its set must hold), compact so as not to weigh on the process's RSS.
fn generate(path: &Path, members: usize, per_member: usize) -> std::io::Result<Vec<PrefixSet>> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut expected = Vec::new();
    writeln!(
        f,
        "% Generated by crates/irr/examples/irr_memory.rs\n% rs-bench shape plus noise\n"
    )?;
    for i in 0..members {
        let asn = MEMBER_ASN_BASE + i as u32;
        writeln!(
            f,
            "as-set: AS-BENCH{i}\nDescr: member {i}\n+ second line\nmembers: AS{asn}\nsource: BENCH\n"
        )?;
        writeln!(
            f,
            "aut-num:        AS{asn}\nas-name:        MEMBER-{i}\nimport:         from AS{} accept ANY\nexport:         to AS{} announce AS-BENCH{i}\nmnt-by:         MNT-BENCH\nsource:         BENCH\n",
            asn + 1,
            asn + 1
        )?;
        let mut mine = Vec::with_capacity(per_member);
        for k in 0..per_member {
            let p = random_prefix(&mut rng);
            let class = match p {
                Prefix::V4(..) => "route",
                Prefix::V6(..) => "route6",
            };
            if k % 50 == 0 {
                // A longer object: comments, continuations, mixed case.
                writeln!(
                    f,
                    "# object {k} of member {i}\n{class}:   {p}\nDESCR: customer route\n  of member {i} # a comment\n\tthird line\nOrigin:   AS{asn}\nmnt-by: MNT-BENCH\nchanged: noc@example.net 20240101\nsource: BENCH\n"
                )?;
            } else {
                writeln!(f, "{class}: {p}\norigin: AS{asn}\nsource: BENCH\n")?;
            }
            mine.push(p);
            if k % 10 == 0 {
                // A route of an AS that is no member.
                let q = random_prefix(&mut rng);
                let class = match q {
                    Prefix::V4(..) => "route",
                    Prefix::V6(..) => "route6",
                };
                writeln!(
                    f,
                    "{class}: {q}\norigin: AS{}\nsource: OTHER\n",
                    100_000 + rng.below(50_000)
                )?;
            }
        }
        if i % 10 == 0 {
            writeln!(
                f,
                "mntner: MNT-BENCH{i}\nauth: CRYPT-PW xxxx\nupd-to: noc@example.net\n\nperson: Someone {i}\naddress: Somewhere\n+ Far away\nnic-hdl: SO{i}-BENCH\n"
            )?;
        }
        expected.push(PrefixSet::new(mine));
    }
    f.flush()?;
    Ok(expected)
}

struct Phase {
    peak: usize,
    live: usize,
    took: Duration,
}

fn check(irr: &irr::IrrCache, expected: &[PrefixSet]) -> Result<(), String> {
    let snap = irr.current();
    for (i, want) in expected.iter().enumerate() {
        let asn = MEMBER_ASN_BASE + i as u32;
        let m = snap
            .member(asn)
            .ok_or_else(|| format!("AS{asn}: no data"))?;
        if m.prefixes != *want {
            return Err(format!(
                "AS{asn}: {} prefixes, expected {}",
                m.prefixes.len(),
                want.len()
            ));
        }
        if m.origins.iter().copied().collect::<Vec<_>>() != vec![asn] {
            return Err(format!("AS{asn}: origins {:?}", m.origins));
        }
        for p in want.iter().take(20) {
            if irr.prefix_allowed(asn, &p) != Some(true) {
                return Err(format!("AS{asn}: {p} not allowed"));
            }
        }
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| "medium".into());
    let (members, per_member) = match arg.as_str() {
        "medium" => (100, 5_000),
        "large" => (50, 100_000),
        other => {
            let (a, b) = other
                .split_once('x')
                .ok_or("usage: irr_memory medium|large|<members>x<prefixes>")?;
            (
                a.parse().map_err(|e| format!("{a}: {e}"))?,
                b.parse().map_err(|e| format!("{b}: {e}"))?,
            )
        }
    };
    let dir: PathBuf =
        std::env::temp_dir().join(format!("irr-memory-{}-{}", arg, std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dump = dir.join("irr.rpsl");
    let expected = generate(&dump, members, per_member).map_err(|e| e.to_string())?;
    let routes: usize = expected.iter().map(PrefixSet::len).sum();
    let file_size = std::fs::metadata(&dump).map(|m| m.len()).unwrap_or(0);
    let specs: Vec<MemberSpec> = (0..members)
        .map(|i| MemberSpec {
            asn: MEMBER_ASN_BASE + i as u32,
            as_set: Some(format!("AS-BENCH{i}")),
        })
        .collect();
    let cache_dir = dir.join("cache");
    let config = IrrConfig::new(IrrSource::Dumps(vec![dump.clone()]), specs, &cache_dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    // Phase 1: the updater's first load from the dump.
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let irr = rt.block_on(async {
        let (irr, task) = IrrUpdater::new(config.clone()).spawn();
        let mut rx = irr.subscribe();
        let waited = tokio::time::timeout(Duration::from_secs(900), async {
            while rx.borrow_and_update().number == 0 {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
        task.abort();
        let _ = task.await;
        waited.map(|()| irr).map_err(|_| "no snapshot within 900 s")
    })?;
    let load = Phase {
        took: start.elapsed(),
        peak: PEAK.load(Ordering::Relaxed) - base,
        live: CURRENT.load(Ordering::Relaxed) - base,
    };
    if let Some((asn, e)) = irr.last_errors().first() {
        return Err(format!("AS{asn}: {e}"));
    }
    check(&irr, &expected)?;
    drop(irr);

    // Phase 2: a restart, the data read back from the disk cache.
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let up = IrrUpdater::new(config);
    let cached = Phase {
        took: start.elapsed(),
        peak: PEAK.load(Ordering::Relaxed) - base,
        live: CURRENT.load(Ordering::Relaxed) - base,
    };
    check(&up.handle(), &expected)?;
    drop(up);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "irr_memory {arg}: {members} members x {per_member} prefixes = {routes} member route objects, dump {:.1} MiB",
        mib(file_size as usize)
    );
    for (name, p) in [("load from dump", &load), ("load from disk cache", &cached)] {
        let _ = writeln!(
            out,
            "  {name:<21} {:>8.2} s  heap peak {:>8.1} MiB ({:>6.1} B/route)  live after {:>7.1} MiB ({:>5.1} B/route)",
            p.took.as_secs_f64(),
            mib(p.peak),
            p.peak as f64 / routes as f64,
            mib(p.live),
            p.live as f64 / routes as f64,
        );
    }
    let _ = writeln!(
        out,
        "  process peak RSS {:.1} MiB",
        peak_rss_kib() as f64 / 1024.0
    );
    print!("{out}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("irr_memory: {e}");
        std::process::exit(1);
    }
}
