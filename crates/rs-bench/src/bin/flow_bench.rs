//! `flow-bench`: sFlow v5 and IPFIX at a ladder of offered rates into
//! `caribix run` (its real collector: attribution, aggregation, SQLite
//! store, counted from its own `/metrics`) and into pmacct's sfacctd /
//! nfacctd, and optionally into the `flow` crate behind a plain UDP loop
//! (`flow-loop`); reports what each counted against what was sent, its
//! CPU time over each step, the kernel's drops, and samples per CPU second
//! at the common and at each one's highest zero-loss rate. See
//! `rs_bench::flows`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rs_bench::flows::{self, Collect, Proto, Session, Source};

/// Flow collector benchmark (issue 6).
#[derive(Parser, Debug)]
#[command(name = "flow-bench", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Offered rates, samples per second, comma-separated, ascending.
    #[arg(
        long,
        default_value = "50000,100000,200000,300000,400000,600000,800000,1200000"
    )]
    rates: String,
    /// Seconds of sending per rate.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Protocols: sflow, ipfix or both.
    #[arg(long, default_value = "both")]
    proto: String,
    /// Collectors, comma-separated: caribix, pmacct, flow-loop.
    #[arg(long, default_value = "caribix,pmacct")]
    collector: String,
    /// A collector's ladder stops after this many steps in a row with loss.
    #[arg(long, default_value_t = 2)]
    stop_after: usize,
    /// The caribix binary (default: `caribix` next to flow-bench).
    #[arg(long)]
    caribix: Option<PathBuf>,
    /// UDP port on 127.0.0.1 (0: derived from the process id); caribix
    /// also takes the two TCP ports after it.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Append the tables (markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The flow-loop collector (started by flow-bench itself).
    #[command(hide = true)]
    Collect {
        #[arg(long)]
        proto: String,
        #[arg(long)]
        listen: std::net::SocketAddr,
        #[arg(long)]
        status: PathBuf,
    },
}

fn proto(s: &str) -> Result<Proto, String> {
    match s {
        "sflow" => Ok(Proto::Sflow),
        "ipfix" => Ok(Proto::Ipfix),
        _ => Err(format!("unknown protocol {s:?}: sflow or ipfix")),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    if let Some(Cmd::Collect {
        proto: p,
        listen,
        status,
    }) = &cli.cmd
    {
        return flows::collect(proto(p)?, *listen, status);
    }
    let protos: Vec<Proto> = match cli.proto.as_str() {
        "both" => vec![Proto::Sflow, Proto::Ipfix],
        p => vec![proto(p)?],
    };
    let collectors: Vec<Collect> = cli
        .collector
        .split(',')
        .map(|c| match c.trim() {
            "caribix" => Ok(Collect::Caribix),
            "pmacct" => Ok(Collect::Pmacct),
            "flow-loop" => Ok(Collect::FlowLoop),
            c => Err(format!(
                "unknown collector {c:?}: caribix, pmacct or flow-loop"
            )),
        })
        .collect::<Result<_, _>>()?;
    let rates: Vec<u64> = cli
        .rates
        .split(',')
        .map(|r| r.trim().parse().map_err(|_| format!("bad rate {r:?}")))
        .collect::<Result<_, _>>()?;
    let port = if cli.port == 0 {
        20000 + (std::process::id() % 20000) as u16
    } else {
        cli.port
    };
    let caribix = match &cli.caribix {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("own path: {e}"))?
            .with_file_name("caribix"),
    };
    if collectors.contains(&Collect::Caribix) && !caribix.is_file() {
        return Err(format!(
            "{}: no caribix binary (cargo build --release -p caribix, or --caribix PATH)",
            caribix.display()
        ));
    }
    let dir = flows::workdir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut ceiling = Vec::new();
    for &p in &protos {
        // The sender alone, into a socket nobody reads.
        let sink =
            std::net::UdpSocket::bind(("127.0.0.1", port)).map_err(|e| format!("udp bind: {e}"))?;
        let addr = sink.local_addr().map_err(|e| e.to_string())?;
        let (n, s) = flows::send(&mut Source::new(p), addr, 0, cli.secs.min(3.0))?;
        ceiling.push((p, n, s));
        drop(sink);
    }
    let mut all = Vec::new();
    let mut notes = Vec::new();
    let mut failed = 0;
    for &p in &protos {
        for &c in &collectors {
            let who = format!("{} {}", p.name(), flows::name(c, p));
            match ladder(p, c, &rates, &cli, port, &dir, &caribix, &mut all) {
                Ok(Some(note)) => notes.push(note),
                Ok(None) => {}
                Err(e) => {
                    eprintln!("flow-bench: {who}: {e}");
                    notes.push(format!("{who}: FAILED: {e}"));
                    failed += 1;
                }
            }
        }
    }
    let cmd: Vec<String> = std::env::args().collect();
    let report = flows::report(&all, &ceiling, &notes, cli.secs, &cmd.join(" "));
    println!("{report}");
    if let Some(path) = &cli.out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(report.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed > 0 {
        return Err(format!("{failed} collector run(s) failed"));
    }
    Ok(())
}

/// One collector's ladder for one protocol; for caribix, a note on what
/// its store holds afterwards (which must be every counted sample, scaled).
#[allow(clippy::too_many_arguments)]
fn ladder(
    p: Proto,
    c: Collect,
    rates: &[u64],
    cli: &Cli,
    port: u16,
    dir: &std::path::Path,
    caribix: &std::path::Path,
    all: &mut Vec<flows::Measure>,
) -> Result<Option<String>, String> {
    let mut s = Session::start(c, p, port, dir, caribix)?;
    let mut src = Source::new(p);
    let mut lossy = 0;
    let mut counted = 0u64;
    for &rate in rates {
        let m = flows::step(&mut s, &mut src, rate, cli.secs)?;
        eprintln!(
            "flow-bench: {} {} {rate}/s: sent {} counted {} kernel drops {} cpu {:.2}s",
            p.name(),
            flows::name(c, p),
            m.sent,
            m.received,
            m.kernel_drops,
            m.cpu
        );
        counted += m.received;
        lossy = if m.lost() > 0 { lossy + 1 } else { 0 };
        all.push(m);
        if lossy >= cli.stop_after {
            break;
        }
    }
    if c != Collect::Caribix {
        return Ok(None);
    }
    let scale = match p {
        Proto::Sflow => u64::from(flows::SAMPLING_RATE),
        Proto::Ipfix => 1,
    };
    let want = counted * scale;
    let got = s.stored_packets(want, std::time::Duration::from_secs(40))?;
    if got != want {
        return Err(format!(
            "caribix's store holds {got} member packets, not the {want} of the {counted} samples it counted (x {scale})"
        ));
    }
    Ok(Some(format!(
        "{} caribix run: its store holds {got} member packets = the {counted} samples it counted x {scale} (sampling rate), all attributed to the {} members.",
        p.name(),
        flows::MEMBERS
    )))
}
