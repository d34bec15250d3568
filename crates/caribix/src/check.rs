//! `caribix check FILE`: validate a configuration file and print every
//! error and warning with its FILE:LINE:COLUMN, like a compiler; with
//! `--print`, write the effective configuration (every default filled in)
//! to standard output. Exit status 0 when the file is usable, 1 otherwise.
//! The validation itself lives in the `registry` crate.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `caribix check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Configuration file (TOML).
    file: PathBuf,
    /// Print the effective configuration, with every default filled in, on
    /// standard output (the summary then goes to standard error).
    #[arg(long)]
    print: bool,
}

pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    match registry::Config::load(&args.file) {
        Err(diags) => {
            eprint!("{diags}");
            ExitCode::FAILURE
        }
        Ok(cfg) => {
            if let Some(w) = cfg.warnings.as_ref().filter(|w| !w.items.is_empty()) {
                eprint!("{w}");
            }
            let line = format!("{}: OK: {}", args.file.display(), cfg.summary());
            if args.print {
                eprintln!("{line}");
                print!("{}", cfg.effective_toml());
            } else {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
    }
}
