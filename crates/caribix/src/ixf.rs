//! `caribix export ixf FILE` and `caribix import ixf JSON_FILE`: the IX-F
//! Member Export 1.0 (what PeeringDB and IXP Manager exchange). Export
//! writes the member list of a configuration as JSON on standard output;
//! import turns another IXP's export into a caribix TOML skeleton on
//! standard output, with comments for what it could not take over. The
//! format work is in `registry::ixf`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use registry::ixf;

/// `caribix export ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ExportCmd {
    /// Write the IX-F 1.0 member list of a configuration file as JSON.
    Ixf {
        /// Configuration file (TOML).
        file: PathBuf,
    },
}

/// `caribix import ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ImportCmd {
    /// Turn an IX-F member list (JSON) into a caribix configuration skeleton.
    Ixf {
        /// IX-F member export (JSON), e.g. from IXP Manager.
        json_file: PathBuf,
    },
}

pub(crate) fn export(cmd: &ExportCmd) -> ExitCode {
    let ExportCmd::Ixf { file } = cmd;
    let cfg = match registry::Config::load(file) {
        Ok(c) => c,
        Err(diags) => {
            eprint!("{diags}");
            return ExitCode::FAILURE;
        }
    };
    match ixf::export_json(&cfg, &ixf::now()) {
        Ok(json) => {
            print!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn import(cmd: &ImportCmd) -> ExitCode {
    let ImportCmd::Ixf { json_file } = cmd;
    let text = match std::fs::read_to_string(json_file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", json_file.display());
            return ExitCode::FAILURE;
        }
    };
    match ixf::import(&text) {
        Ok(imp) => {
            print!("{}", imp.to_toml());
            eprintln!(
                "{}: imported {} IXP(s), {} peering LAN(s), {} member entries; {} note(s) in the output's comments",
                json_file.display(),
                imp.ixps.len(),
                imp.peering_lans.len(),
                imp.members.len(),
                imp.skipped.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", json_file.display());
            ExitCode::FAILURE
        }
    }
}
