//! `flow-bench`: sFlow v5 and IPFIX at a controlled rate into caribix's
//! flow collector (the `flow` crate behind a UDP loop, `flow-bench
//! collect`) and into pmacct's sfacctd / nfacctd, in the same run; reports
//! what each counted against what was sent, their CPU time, and the
//! highest rate each took with nothing lost. See `rs_bench::flows`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rs_bench::flows::{self, Collect, Proto};

/// Flow collector benchmark (issue 6).
#[derive(Parser, Debug)]
#[command(name = "flow-bench", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Offered rates, samples per second, comma-separated.
    #[arg(long, default_value = "25000,50000,100000,200000,400000")]
    rates: String,
    /// Seconds of sending per rate.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Protocols: sflow, ipfix or both.
    #[arg(long, default_value = "both")]
    proto: String,
    /// Collectors: caribix, pmacct or both.
    #[arg(long, default_value = "both")]
    collector: String,
    /// UDP port on 127.0.0.1 (0: derived from the process id).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Append the tables (markdown) to this file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The caribix-side collector loop (started by flow-bench itself).
    #[command(hide = true)]
    Collect {
        #[arg(long)]
        proto: String,
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, default_value_t = 1500)]
        idle_ms: u64,
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
        idle_ms,
    }) = &cli.cmd
    {
        let line = flows::collect(proto(p)?, *listen, Duration::from_millis(*idle_ms))?;
        println!("{line}");
        return Ok(());
    }
    let protos: Vec<Proto> = match cli.proto.as_str() {
        "both" => vec![Proto::Sflow, Proto::Ipfix],
        p => vec![proto(p)?],
    };
    let collectors: Vec<Collect> = match cli.collector.as_str() {
        "both" => vec![Collect::Caribix, Collect::Pmacct],
        "caribix" => vec![Collect::Caribix],
        "pmacct" => vec![Collect::Pmacct],
        c => return Err(format!("unknown collector {c:?}: caribix, pmacct or both")),
    };
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
    let dir = flows::workdir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut ceiling = Vec::new();
    for &p in &protos {
        // The sender alone, into a socket nobody reads.
        let sink =
            std::net::UdpSocket::bind(("127.0.0.1", port)).map_err(|e| format!("udp bind: {e}"))?;
        let addr = sink.local_addr().map_err(|e| e.to_string())?;
        let (n, s) = flows::send(p, addr, 0, cli.secs.min(3.0))?;
        ceiling.push((p, n, s));
        drop(sink);
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for &p in &protos {
        for &rate in &rates {
            for &c in &collectors {
                match flows::measure(p, c, rate, cli.secs, port, &dir) {
                    Ok(m) => {
                        eprintln!(
                            "flow-bench: {} {} {rate}/s: sent {} counted {} cpu {:.2}s",
                            p.name(),
                            flows::name(c, p),
                            m.sent,
                            m.received,
                            m.cpu
                        );
                        all.push(m);
                    }
                    Err(e) => {
                        eprintln!(
                            "flow-bench: {} {} {rate}/s: {e}",
                            p.name(),
                            flows::name(c, p)
                        );
                        failed += 1;
                    }
                }
            }
        }
    }
    let cmd: Vec<String> = std::env::args().collect();
    let report = flows::report(&all, &ceiling, cli.secs, &cmd.join(" "));
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
        return Err(format!("{failed} measurement(s) failed"));
    }
    Ok(())
}
