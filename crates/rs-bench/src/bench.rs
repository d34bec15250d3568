//! One benchmark run per (filtering, run number, target): start the target,
//! bring every member session up, announce, time convergence, churn 10%,
//! read `/proc`, stop everything, and print the tables (per run, then
//! caribix's ratios against each peer measured in the same run).
//!
//! Not here: the load generator, the configurations.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp_wire::Prefix;

use crate::load::{encode_announce, encode_withdraw, Lookup, MemberLoad};
use crate::plan::{self, Addressing, Group, Plan, Reject, RS_ASN};
use crate::procs::{self, Proc};
use crate::targets::{self, Kind, Setup};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Name in the report.
    pub scenario: String,
    /// Members.
    pub members: usize,
    /// Prefixes per member.
    pub prefixes: usize,
    /// Target list.
    pub targets: String,
    /// Filtering settings to run.
    pub filtering: Vec<bool>,
    /// MRT dump for replay mode.
    pub replay: Option<PathBuf>,
    /// Runs per target.
    pub runs: usize,
    /// Inside our own namespace (documentation addresses on a dummy
    /// interface) rather than on loopback addresses.
    pub netns: bool,
    /// caribix binary.
    pub caribix: PathBuf,
    /// Extra environment of the caribix target.
    pub caribix_env: Vec<(String, String)>,
    /// Per-phase timeout.
    pub timeout: Duration,
    /// VRPs to serve when filtering.
    pub vrps: usize,
    /// Working directory.
    pub workdir: PathBuf,
    /// Markdown output file (appended).
    pub out: Option<PathBuf>,
    /// Seconds of steady state measured after the churn (0: none).
    pub idle: Duration,
    /// sFlow samples per second sent to caribix during the idle seconds
    /// (0: none, and no flow collector configured).
    pub flow_rate: u64,
    /// Stop a run whose target holds more resident memory than this
    /// (KiB, 0: no limit): the machine is shared.
    pub max_rss_kib: u64,
}

/// Figures of one run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Convergence time, seconds.
    pub converge: Option<f64>,
    /// Churn: withdrawal of 10% seen everywhere, seconds.
    pub withdraw: Option<f64>,
    /// Churn: re-announcement seen everywhere, seconds.
    pub reannounce: Option<f64>,
    /// Peak RSS of the target, MiB.
    pub rss_mib: f64,
    /// Target CPU seconds during convergence.
    pub cpu_converge: f64,
    /// Target CPU seconds over the whole run.
    pub cpu_total: f64,
    /// Generator CPU seconds during convergence.
    pub gen_cpu: f64,
    /// Anything that went wrong or deserves a note.
    pub note: String,
}

struct Row {
    filtering: bool,
    run: usize,
    kind: Kind,
    out: Result<Outcome, String>,
}

/// Run everything `o` asks for.
pub async fn main(o: Options) -> Result<(), String> {
    let kinds = parse_targets(&o.targets)?;
    let (addr, port, lan, direct) = if o.netns {
        setup_netns(o.members)?;
        (
            Addressing {
                rs: Ipv4Addr::new(192, 0, 2, 1),
                first_member: Ipv4Addr::new(192, 0, 2, 10),
            },
            179,
            (Ipv4Addr::new(192, 0, 2, 0), 24),
            true,
        )
    } else {
        let x = (std::process::id() % 250) as u8;
        let rs = Ipv4Addr::new(127, 77, x, 1);
        let port = std::net::TcpListener::bind((rs, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on {rs}: {e}"))?
            .port();
        (
            Addressing {
                rs,
                first_member: Ipv4Addr::new(127, 77, x, 10),
            },
            port,
            (Ipv4Addr::new(127, 77, x, 0), 24),
            false,
        )
    };
    if o.members > 240 {
        return Err("at most 240 members".into());
    }
    let mut plan = match &o.replay {
        Some(mrt) => plan::replay(mrt, o.members, o.prefixes, addr)?,
        None => plan::synthetic(o.members, o.prefixes, addr)
            .map_err(|_| "the IPv4 address plan is full: fewer prefixes".to_string())?,
    };
    if o.filtering.contains(&true) {
        plan.make_vrps(o.vrps);
    }
    let plan = Arc::new(plan);
    let index = Arc::new(Lookup::new(&plan.index));
    let rs = SocketAddr::new(IpAddr::V4(addr.rs), port);
    let mut rows = Vec::new();
    eprintln!(
        "rs-bench: {}: {} members, {} prefixes announced in all, {} VRPs; machine: {} CPUs",
        o.scenario,
        plan.members.len(),
        plan.total_announced(),
        plan.vrps.len(),
        nproc()
    );
    for &filtering in &o.filtering {
        let rtr_addr =
            SocketAddr::from(([127, 0, 0, 1], 3323 + (std::process::id() % 1000) as u16));
        let rtr = if filtering && kinds.iter().any(|k| !matches!(k, Kind::Sink)) {
            Some(targets::start_rtr(
                &o.workdir.join("rtr"),
                &plan.vrps,
                rtr_addr,
            )?)
        } else {
            None
        };
        for run in 1..=o.runs {
            for &kind in &kinds {
                let out = if filtering && kind == Kind::Sink {
                    Err(
                        "n/a: the sink does not filter; its unfiltered figures are the ceiling"
                            .to_string(),
                    )
                } else {
                    let setup = Setup {
                        dir: o.workdir.join(format!(
                            "{}-{}-{run}",
                            kind.name(),
                            if filtering { "on" } else { "off" }
                        )),
                        rs,
                        filtering,
                        rtr: rtr.as_ref().map(|_| rtr_addr),
                        caribix: o.caribix.clone(),
                        caribix_env: o.caribix_env.clone(),
                        lan,
                        direct,
                        flows: (kind == Kind::Caribix && o.flow_rate > 0 && !o.idle.is_zero())
                            .then(|| {
                                SocketAddr::from(([127, 0, 0, 1], targets::caribix_sflow_port()))
                            }),
                    };
                    one(kind, &plan, &index, &setup, &o).await
                };
                let line = match &out {
                    Ok(r) => format!(
                        "{} filtering={} run={run}: converge {} withdraw {} reannounce {} rss {:.1} MiB cpu {:.2}s/{:.2}s gen-cpu {:.2}s {}",
                        kind.name(),
                        on_off(filtering),
                        secs(r.converge),
                        secs(r.withdraw),
                        secs(r.reannounce),
                        r.rss_mib,
                        r.cpu_converge,
                        r.cpu_total,
                        r.gen_cpu,
                        r.note
                    ),
                    Err(e) => format!("{} filtering={} run={run}: {e}", kind.name(), on_off(filtering)),
                };
                eprintln!("rs-bench: {line}");
                rows.push(Row {
                    filtering,
                    run,
                    kind,
                    out,
                });
            }
        }
        drop(rtr);
    }
    let report = report(&o, &plan, &rows);
    println!("{report}");
    if let Some(path) = &o.out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(report.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let failed = rows
        .iter()
        .filter(|r| match &r.out {
            Err(e) => !e.starts_with("pending") && !e.starts_with("n/a"),
            Ok(x) => x.converge.is_none() || x.withdraw.is_none() || x.reannounce.is_none(),
        })
        .count();
    if failed > 0 {
        return Err(format!("{failed} run(s) failed; see the table"));
    }
    Ok(())
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!("{s:.3}s")).unwrap_or_else(|| "-".into())
}

fn parse_targets(s: &str) -> Result<Vec<Kind>, String> {
    if s == "all" {
        return Ok(vec![
            Kind::Sink,
            Kind::Caribix,
            Kind::Bird,
            Kind::Gobgp,
            Kind::Openbgpd,
        ]);
    }
    s.split(',')
        .map(|t| {
            Kind::parse(t.trim()).ok_or_else(|| {
                format!("unknown target {t:?}: caribix, bird, gobgp, openbgpd, sink or all")
            })
        })
        .collect()
}

fn nproc() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Inside a fresh namespace: `lo` up, an interface holding the
/// route server's and the members' addresses (192.0.2.0/24) and the IPv6
/// next hops' network (2001:db8:10::/64).
fn setup_netns(members: usize) -> Result<(), String> {
    procs::run("ip", &["link", "set", "lo", "up"])?;
    // No dummy driver in every kernel (containers): a veth pair whose far
    // end stays in the namespace, unused.
    procs::run(
        "ip",
        &[
            "link", "add", "rsb0", "type", "veth", "peer", "name", "rsb1",
        ],
    )?;
    procs::run("ip", &["link", "set", "rsb0", "up"])?;
    procs::run("ip", &["link", "set", "rsb1", "up"])?;
    procs::run("ip", &["addr", "add", "192.0.2.1/24", "dev", "rsb0"])?;
    procs::run(
        "ip",
        &[
            "-6",
            "addr",
            "add",
            "2001:db8:10::1/64",
            "dev",
            "rsb0",
            "nodad",
        ],
    )?;
    let mut batch = String::new();
    for i in 0..members {
        let _ = writeln!(batch, "addr add 192.0.2.{}/24 dev rsb0", 10 + i);
    }
    let file = std::env::temp_dir().join(format!("rs-bench-ip-{}.batch", std::process::id()));
    std::fs::write(&file, batch).map_err(|e| format!("{}: {e}", file.display()))?;
    let r = procs::run("ip", &["-batch", &file.to_string_lossy()]);
    let _ = std::fs::remove_file(&file);
    r
}

/// The 10% of each member's routes that churn: every tenth group.
fn churn_groups(m: &plan::Member) -> Vec<&Group> {
    m.groups.iter().step_by(10).collect()
}

async fn one(
    kind: Kind,
    plan: &Plan,
    index: &Arc<Lookup>,
    s: &Setup,
    o: &Options,
) -> Result<Outcome, String> {
    let sink_args: Vec<String> = vec![
        "sink".into(),
        "--listen".into(),
        s.rs.to_string(),
        "--first-member".into(),
        plan.members
            .first()
            .map(|m| m.addr.to_string())
            .unwrap_or_default(),
        "--members".into(),
        plan.members.len().to_string(),
    ];
    if kind == Kind::Caribix && !s.caribix.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p caribix` or pass --caribix",
            s.caribix.display()
        ));
    }
    let mut procs = targets::start(kind, plan, s, &sink_args)?;
    let mut out = Outcome::default();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = s.dir.join(format!("{}.log", kind.name()));
    let check_alive = |procs: &mut Vec<Proc>| -> Result<(), String> {
        for p in procs.iter_mut() {
            if let Some(st) = p.exited() {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = tail
                    .lines()
                    .rev()
                    .take(8)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join(" | ");
                return Err(format!("{} exited ({st}): {tail}", p.name));
            }
        }
        Ok(())
    };
    check_alive(&mut procs)?;
    // Members connect one after another: BIRD's listen backlog is small.
    let mut members = Vec::new();
    for m in &plan.members {
        members.push(MemberLoad::start(m, s.rs, RS_ASN, index.clone())?);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(120).min(o.timeout);
    while !members.iter().all(MemberLoad::established) {
        check_alive(&mut procs)?;
        if Instant::now() > deadline {
            let up = members.iter().filter(|m| m.established()).count();
            return Err(format!(
                "only {up} of {} sessions came up in time",
                members.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if s.filtering {
        let deadline = Instant::now() + Duration::from_secs(300).min(o.timeout);
        // Every filtering target reports its VRP count (caribix: once its
        // IRR data is loaded too).
        while let Some(n) = targets::loaded_vrps(kind, s) {
            if n as usize >= plan.vrps.len() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} loaded {n} of {} VRPs in time",
                    kind.name(),
                    plan.vrps.len()
                ));
            }
            check_alive(&mut procs)?;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let applied = |_: Reject| s.filtering;
    // Encode everything before the clock starts.
    let mut announce = Vec::new();
    let mut withdraw = Vec::new();
    let mut again = Vec::new();
    let mut churned = Vec::new();
    for (m, l) in plan.members.iter().zip(&members) {
        let ctx = l
            .encode_ctx()
            .ok_or("a session went down before the start")?;
        let all: Vec<&Group> = m.groups.iter().collect();
        announce.push(encode_announce(&ctx, m, &all)?);
        let churn = churn_groups(m);
        let prefixes: Vec<Prefix> = churn
            .iter()
            .flat_map(|g| g.prefixes.iter().copied())
            .collect();
        withdraw.push(encode_withdraw(&ctx, &prefixes));
        again.push(encode_announce(&ctx, m, &churn)?);
        churned.push(
            churn
                .iter()
                .filter(|g| !g.reject.is_some_and(applied))
                .map(|g| g.prefixes.len() as u64)
                .sum::<u64>(),
        );
    }
    let expected: Vec<u64> = (0..members.len())
        .map(|i| plan.expected(i, &applied))
        .collect();
    let total_churn: u64 = churned.iter().sum();
    let after_withdraw: Vec<u64> = expected
        .iter()
        .zip(&churned)
        .map(|(e, c)| e - (total_churn - c))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu0 = cpu(&procs);
    let gen0 = procs::self_cpu_seconds();
    let t0 = Instant::now();
    for (l, bytes) in members.iter().zip(announce) {
        l.send(bytes);
    }
    out.converge = wait_counts(
        &procs,
        o.max_rss_kib,
        &members,
        &expected,
        o.timeout,
        &mut out.note,
    )
    .await
    .then(|| t0.elapsed().as_secs_f64());
    out.cpu_converge = cpu(&procs) - cpu0;
    out.gen_cpu = procs::self_cpu_seconds() - gen0;
    if out.converge.is_some() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t1 = Instant::now();
        for (l, bytes) in members.iter().zip(withdraw) {
            l.send(bytes);
        }
        out.withdraw = wait_counts(
            &procs,
            o.max_rss_kib,
            &members,
            &after_withdraw,
            o.timeout,
            &mut out.note,
        )
        .await
        .then(|| t1.elapsed().as_secs_f64());
        let t2 = Instant::now();
        for (l, bytes) in members.iter().zip(again) {
            l.send(bytes);
        }
        out.reannounce = wait_counts(
            &procs,
            o.max_rss_kib,
            &members,
            &expected,
            o.timeout,
            &mut out.note,
        )
        .await
        .then(|| t2.elapsed().as_secs_f64());
    }
    if out.reannounce.is_some() && !o.idle.is_zero() {
        // Steady state: sessions up, routes held, keepalives only (and,
        // with --flow-rate, sFlow into caribix's collector).
        let c0 = cpu(&procs);
        let sender = s.flows.map(|to| {
            let (rate, secs) = (o.flow_rate, o.idle.as_secs_f64());
            tokio::task::spawn_blocking(move || {
                let mut src = crate::flows::Source::new(crate::flows::Proto::Sflow);
                crate::flows::send(&mut src, to, rate, secs)
            })
        });
        tokio::time::sleep(o.idle).await;
        let pct = 100.0 * (cpu(&procs) - c0) / o.idle.as_secs_f64();
        let what = if s.flows.is_some() { "CPU" } else { "idle CPU" };
        let _ = write!(
            out.note,
            " {what} {pct:.2}% of one core over {} s;",
            o.idle.as_secs()
        );
        if let Some(sender) = sender {
            let sent = match sender.await {
                Ok(Ok((n, _))) => n,
                Ok(Err(e)) => return Err(format!("sFlow sender: {e}")),
                Err(e) => return Err(format!("sFlow sender: {e}")),
            };
            // What the collector counted (settled: read until it stops
            // moving, at most 5 s).
            let mut counted = None;
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let now = targets::caribix_flow_samples(s);
                if now.is_some() && now == counted {
                    break;
                }
                counted = now;
            }
            let _ = write!(
                out.note,
                " with {} sFlow samples/s: {sent} sent, {} counted by caribix;",
                o.flow_rate,
                counted.map_or_else(|| "none".to_string(), |n| n.to_string())
            );
        }
    }
    if out.reannounce.is_some() {
        // Resident memory of the settled target (after the churn and any
        // idle time), beside the peak: what an allocator keeps after a load.
        let now = procs.iter().map(Proc::rss_kib).sum::<u64>() as f64 / 1024.0;
        let _ = write!(out.note, " RSS at end {now:.1} MiB;");
    }
    out.rss_mib = procs.iter().map(Proc::peak_rss_kib).sum::<u64>() as f64 / 1024.0;
    out.cpu_total = cpu(&procs);
    let unexpected: u64 = members
        .iter()
        .map(|m| {
            m.counts
                .unexpected
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .sum();
    let downs: u64 = members
        .iter()
        .map(|m| m.counts.downs.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    let sum = |f: fn(&crate::load::Counts) -> &std::sync::atomic::AtomicU64| -> u64 {
        members
            .iter()
            .map(|m| f(&m.counts).load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    };
    let (updates, announcements) = (sum(|c| &c.updates), sum(|c| &c.announcements));
    let delivered: u64 =
        expected.iter().sum::<u64>() + total_churn * (members.len() as u64).saturating_sub(1);
    let _ = write!(
        out.note,
        " received {updates} UPDATEs, {announcements} announcements ({:.2} per needed);",
        announcements as f64 / delivered.max(1) as f64
    );
    if unexpected > 0 {
        let _ = write!(
            out.note,
            " {unexpected} announcements of prefixes not in the plan;"
        );
    }
    if downs > 0 {
        let _ = write!(out.note, " {downs} session resets;");
    }
    for m in &members {
        m.stop();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(procs);
    Ok(out)
}

fn rss_kib(procs: &[Proc]) -> u64 {
    procs.iter().map(Proc::rss_kib).sum()
}

fn cpu(procs: &[Proc]) -> f64 {
    procs.iter().map(Proc::cpu_seconds).sum()
}

/// Wait until every member holds exactly its expected count.
async fn wait_counts(
    procs: &[Proc],
    max_rss_kib: u64,
    members: &[MemberLoad],
    expected: &[u64],
    timeout: Duration,
    note: &mut String,
) -> bool {
    let start = Instant::now();
    let end = start + timeout;
    let mut polls = 0u64;
    loop {
        polls += 1;
        if members.iter().zip(expected).all(|(m, e)| m.held() == *e) {
            return true;
        }
        if Instant::now() > end
            || (max_rss_kib > 0 && polls % 40 == 0 && rss_kib(procs) > max_rss_kib)
        {
            let held: u64 = members.iter().map(MemberLoad::held).sum();
            let want: u64 = expected.iter().sum();
            if Instant::now() <= end {
                let _ = write!(
                    note,
                    " ABORTED: target above the --max-rss-gib limit ({} MiB);",
                    rss_kib(procs) / 1024
                );
            }
            let _ = write!(
                note,
                " stopped after {}s: {held} of {want} prefixes held;",
                start.elapsed().as_secs()
            );
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn report(o: &Options, plan: &Plan, rows: &[Row]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\n### {} — {} routes announced, {} VRPs\n",
        o.scenario,
        plan.total_announced(),
        plan.vrps.len()
    );
    let _ = writeln!(t, "| filtering | run | target | convergence s | churn withdraw s | churn re-announce s | peak RSS MiB | CPU s (convergence) | CPU s (run) | generator CPU s | notes |");
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        match &r.out {
            Ok(x) => {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} |",
                    on_off(r.filtering),
                    r.run,
                    r.kind.name(),
                    num(x.converge),
                    num(x.withdraw),
                    num(x.reannounce),
                    x.rss_mib,
                    x.cpu_converge,
                    x.cpu_total,
                    x.gen_cpu,
                    x.note.trim()
                );
            }
            Err(e) => {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | - | - | - | - | - | - | - | {} |",
                    on_off(r.filtering),
                    r.run,
                    r.kind.name(),
                    e.replace('|', "/")
                );
            }
        }
    }
    // Ratios of caribix against each peer, in the same run.
    let mut ratios = String::new();
    for r in rows.iter().filter(|r| r.kind == Kind::Caribix) {
        let Ok(c) = &r.out else { continue };
        for p in rows.iter().filter(|p| {
            p.run == r.run
                && p.filtering == r.filtering
                && !matches!(p.kind, Kind::Caribix | Kind::Sink)
        }) {
            let Ok(x) = &p.out else { continue };
            let _ = writeln!(
                ratios,
                "| {} | {} | caribix/{} | {} | {} | {} | {} | {} |",
                on_off(r.filtering),
                r.run,
                p.kind.name(),
                ratio(c.converge, x.converge),
                ratio(c.withdraw, x.withdraw),
                ratio(c.reannounce, x.reannounce),
                ratio(Some(c.rss_mib), Some(x.rss_mib)),
                ratio(Some(c.cpu_converge), Some(x.cpu_converge)),
            );
        }
    }
    if !ratios.is_empty() {
        let _ = writeln!(t, "\nRatios (below 1: caribix better):\n");
        let _ = writeln!(t, "| filtering | run | ratio | convergence | churn withdraw | churn re-announce | peak RSS | CPU (convergence) |");
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|");
        t.push_str(&ratios);
    }
    // The generator's ceiling: a target within 20% of the sink is flagged.
    let sinks: Vec<&Outcome> = rows
        .iter()
        .filter(|r| r.kind == Kind::Sink)
        .filter_map(|r| r.out.as_ref().ok())
        .collect();
    if let Some(best) = sinks.iter().filter_map(|s| s.converge).reduce(f64::min) {
        let _ = writeln!(
            t,
            "\nGenerator ceiling (sink, best run): convergence {best:.3} s."
        );
        for r in rows.iter().filter(|r| !matches!(r.kind, Kind::Sink)) {
            if let Ok(Outcome {
                converge: Some(c), ..
            }) = &r.out
            {
                if *c < best * 1.2 {
                    let _ = writeln!(t, "- FLAGGED: {} filtering {} run {}: {c:.3} s is within 20% of the generator's ceiling; the generator may be the bottleneck.", r.kind.name(), on_off(r.filtering), r.run);
                }
            }
        }
    }
    t
}

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into())
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}
