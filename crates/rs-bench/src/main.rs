//! `rs-bench`: the route server benchmark of issue 6. It opens one BGP
//! session per simulated member, announces a plan of routes (synthetic or
//! replayed from an MRT dump), and measures, for caribix and for BIRD 2,
//! GoBGP and OpenBGPD started with equivalent configurations: the time
//! from the first announcement until every member holds exactly the routes
//! it should (convergence), the time for a churn of 10% of the routes
//! (withdrawn, then announced again) to reach every member, and the
//! target's peak resident memory and CPU time. The same load into the sink
//! (a byte-copying reflector) gives the generator's own ceiling.
//!
//! By default it runs inside a network namespace of its own (`unshare
//! --net`, root needed) where sessions use documentation addresses on a
//! veth interface, because GoBGP drops loopback next hops; `--net
//! loopback` uses 127.77.x.y addresses instead (caribix, BIRD, sink).
//!
//! Not here: statistics beyond the runs it makes (each run is reported;
//! repeat with `--runs`), timing assertions.

use rs_bench::{bench, sink};

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Route server benchmark (issue 6).
#[derive(Parser, Debug)]
#[command(name = "rs-bench", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The byte-copying reflector used as the ceiling target (started by
    /// rs-bench itself).
    #[command(hide = true)]
    Sink {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        first_member: Ipv4Addr,
        #[arg(long)]
        members: usize,
    },
}

/// Scenario presets.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Scenario {
    /// 3 members x 50 prefixes (the smoke test).
    Smoke,
    /// 20 members x 500 prefixes.
    Island,
    /// 100 members x 5,000 prefixes.
    Medium,
    /// 50 members x 100,000 prefixes.
    Large,
}

/// Where sessions live.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Net {
    /// A private network namespace (`unshare --net`), documentation
    /// addresses on a veth interface.
    Netns,
    /// 127.77.x.y addresses in the current namespace.
    Loopback,
}

/// Filtering setting.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Filtering {
    Off,
    On,
    Both,
}

/// Route source.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Mode {
    /// Generated routes.
    Synthetic,
    /// IPv4 routes replayed from an MRT dump, generated IPv6.
    Replay,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Scenario preset.
    #[arg(long, value_enum, default_value = "island")]
    scenario: Scenario,
    /// Override the number of members.
    #[arg(long)]
    members: Option<usize>,
    /// Override the prefixes per member (80% IPv4, 20% IPv6).
    #[arg(long)]
    prefixes: Option<usize>,
    /// Targets: all, or a comma-separated list of caribix, bird, gobgp,
    /// openbgpd, sink.
    #[arg(long, default_value = "all")]
    target: String,
    /// Filtering off, on or both.
    #[arg(long, value_enum, default_value = "both")]
    filtering: Filtering,
    /// Route source.
    #[arg(long, value_enum, default_value = "synthetic")]
    mode: Mode,
    /// MRT dump for `--mode replay`.
    #[arg(
        long,
        default_value = "../shared/data/mrt/ris-rrc15-updates.20100227.1600.gz"
    )]
    mrt: PathBuf,
    /// Runs of each target.
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// Where sessions live.
    #[arg(long, value_enum, default_value = "netns")]
    net: Net,
    /// The caribix binary.
    #[arg(long, default_value = "target/release/caribix")]
    caribix: PathBuf,
    /// Extra environment for the caribix target, `KEY=VALUE`, repeatable
    /// (e.g. `MALLOC_ARENA_MAX=2`, or `LD_PRELOAD` of another allocator).
    #[arg(long = "caribix-env", value_parser = parse_env)]
    caribix_env: Vec<(String, String)>,
    /// Timeout of each phase, seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Total VRPs served over RTR when filtering.
    #[arg(long, default_value_t = 400_000)]
    vrps: usize,
    /// Working directory for configurations and logs.
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Append the result tables (markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stop a run whose target's resident memory exceeds this many GiB
    /// (0: no limit).
    #[arg(long, default_value_t = 12)]
    max_rss_gib: u64,
    /// Measure the target's CPU over this many idle seconds after the
    /// churn (the footprint of a settled route server).
    #[arg(long, default_value_t = 0)]
    idle: u64,
    /// sFlow samples per second sent to caribix during the idle seconds
    /// (caribix then also runs its flow collector: SPEC §8's island
    /// footprint is with 5,000); other targets get none.
    #[arg(long, default_value_t = 0)]
    flow_rate: u64,
    /// Set by rs-bench itself when it re-runs inside its namespace.
    #[arg(long, hide = true)]
    inside_netns: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let res = match cli.cmd {
        Some(Cmd::Sink {
            listen,
            first_member,
            members,
        }) => rt.block_on(sink::run(listen, first_member, members)),
        None => {
            if cli.run.net == Net::Netns && !cli.run.inside_netns {
                reexec_in_netns()
            } else {
                rt.block_on(bench::main(to_options(&cli.run)))
            }
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn to_options(a: &RunArgs) -> bench::Options {
    let (members, prefixes, name) = match a.scenario {
        Scenario::Smoke => (3, 50, "smoke"),
        Scenario::Island => (20, 500, "island"),
        Scenario::Medium => (100, 5_000, "medium"),
        Scenario::Large => (50, 100_000, "large"),
    };
    let members = a.members.unwrap_or(members);
    let prefixes = a.prefixes.unwrap_or(prefixes);
    let filtering = match a.filtering {
        Filtering::Off => vec![false],
        Filtering::On => vec![true],
        Filtering::Both => vec![false, true],
    };
    bench::Options {
        scenario: format!("{name} ({members} x {prefixes})"),
        members,
        prefixes,
        targets: a.target.clone(),
        filtering,
        replay: (a.mode == Mode::Replay).then(|| a.mrt.clone()),
        runs: a.runs.max(1),
        netns: a.net == Net::Netns,
        caribix: a.caribix.clone(),
        caribix_env: a.caribix_env.clone(),
        timeout: std::time::Duration::from_secs(a.timeout),
        vrps: a.vrps,
        workdir: a.workdir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("rs-bench-{}", std::process::id()))
        }),
        out: a.out.clone(),
        max_rss_kib: a.max_rss_gib * 1024 * 1024,
        idle: std::time::Duration::from_secs(a.idle),
        flow_rate: a.flow_rate,
    }
}

/// `KEY=VALUE` of `--caribix-env`.
fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Run the same command again inside a new network namespace; it
/// disappears with the last process in it.
fn reexec_in_netns() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let status = std::process::Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .arg("--inside-netns")
        .status()
        .map_err(|e| format!("cannot run unshare (util-linux): {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the run inside the namespace failed ({status}); `--net loopback` runs without root"
        ))
    }
}
