//! The caribix binary: command line, runtime and wiring. Protocol logic
//! lives in the library crates; this crate only connects them to sockets,
//! files, signals and the terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod ixf;
mod mrt_stats;

/// The control plane of an Internet Exchange Point.
#[derive(Debug, Parser)]
#[command(name = "caribix", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
        Command::Check(args) => check::run(&args),
        Command::Export(cmd) => ixf::export(&cmd),
        Command::Import(cmd) => ixf::import(&cmd),
        Command::MrtStats { file } => mrt_stats::run(&file),
    }
}
