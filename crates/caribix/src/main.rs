//! The caribix binary: command line, runtime and wiring. Protocol logic
//! lives in the library crates; this crate only connects them to sockets,
//! files, signals and the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod api;
mod birdwatcher;
mod check;
mod daemon;
mod demo;
mod demo_traffic;
mod flows;
mod ixf;
mod metrics;
mod mrt_stats;
mod policy_sources;
mod run;
mod traffic_api;

/// The control plane of an Internet Exchange Point.
#[derive(Debug, Parser)]
#[command(name = "caribix", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole thing on this machine with no setup: a route server,
    /// a dozen simulated members and the JSON API.
    Demo(demo::DemoArgs),
    /// Run the route server daemon with a configuration file.
    Run {
        /// Configuration file (TOML).
        file: PathBuf,
    },
    /// Validate a configuration file; print every error with FILE:LINE:COLUMN.
    Check(check::CheckArgs),
    /// Export data for other tools (IX-F member list).
    #[command(subcommand)]
    Export(ixf::ExportCmd),
    /// Import data from other tools (IX-F member list).
    #[command(subcommand)]
    Import(ixf::ImportCmd),
    /// Decode every BGP message of an MRT file and print what it holds.
    MrtStats {
        /// MRT file (BGP4MP records), gzip-compressed or not.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => {
            init_logs("warn");
            runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(demo::run(args)))
        }
        Command::Run { file } => {
            init_logs("info");
            runtime().map_or(ExitCode::FAILURE, |rt| rt.block_on(run::run(&file)))
        }
        Command::Check(args) => check::run(&args),
        Command::Export(cmd) => ixf::export(&cmd),
        Command::Import(cmd) => ixf::import(&cmd),
        Command::MrtStats { file } => mrt_stats::run(&file),
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level.
fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}
