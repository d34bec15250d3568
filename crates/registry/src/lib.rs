//! caribix's registry: the configuration model of one or several IXPs
//! (peering LANs, route servers, members, policy, bridges), its loading from
//! TOML with diagnostics that point at FILE:LINE:COLUMN, and IX-F Member
//! Export 1.0 import and export (SPEC §4, §7).
//!
//! The file format is described in `examples/caribix.toml` (one IXP) and
//! `examples/caribix-multi.toml` (several IXPs and bridges); the multi-IXP
//! design is recorded in `docs/decisions/0002-config-multi-ixp.md`.
//!
//! ```no_run
//! let cfg = registry::Config::load(std::path::Path::new("caribix.toml"))
//!     .map_err(|d| eprint!("{d}"));
//! ```
//!
//! This crate runs nothing: it opens no socket and starts no session. It
//! reads the configuration file and, for the IRR file check, looks whether
//! the named files exist.
//!
//! # Known limitations
//!
//! - A TOML syntax error stops the checks after every syntax error has been
//!   reported: the meaning of a file that does not parse is not checked.
//! - Within one table, every unknown key and every value of the wrong type
//!   is reported; but when a value had the wrong type (or a required key
//!   is missing), the value checks of that table (addresses, ranges,
//!   duplicates) are skipped, so as not to report consequences of the
//!   missing value. Other tables are checked in full.
//! - Country codes are checked for form (two capitals), not against the
//!   ISO 3166-1 list; e-mail addresses only for `name@domain.tld` form.
//! - RPSL files are checked for existence only; RTR caches are not contacted.

use std::path::Path;

mod diag;
pub mod ixf;
mod model;
mod raw;
mod syntax;
mod validate;

pub use diag::{line_col, Diagnostic, Diagnostics, LineCol, Severity};
pub use model::{
    Bridge, BridgeDefault, Config, FlowRouter, FlowStore, Flows, Irr, Ixp, LenRange, MaxPrefix,
    MaxPrefixAction, Member, MemberPolicy, PeeringLan, Policy, Remote, RouteServer, Rpki, Web,
    DEFAULT_IPV4_PREFIX_LEN, DEFAULT_IPV6_PREFIX_LEN, DEFAULT_IRR_REFRESH_SECS,
    DEFAULT_MAX_AS_PATH_LEN, DEFAULT_MAX_PREFIX, DEFAULT_TRANSIT_FREE_ASNS,
};
pub use syntax::Mac;

impl Config {
    /// Reads and validates a configuration file. On success the warnings
    /// (if any) are in [`Config::warnings`]; on failure every error and
    /// warning found is returned, ready to print.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let (cfg, diags) = Config::check_file(path);
        cfg.ok_or(diags)
    }

    /// Reads and validates a configuration file, returning the configuration
    /// when it has no error and all findings in every case.
    pub fn check_file(path: &Path) -> (Option<Config>, Diagnostics) {
        match std::fs::read_to_string(path) {
            Ok(src) => Config::check_str(path, &src),
            Err(e) => {
                let mut d = Diagnostics::new(path, "");
                d.push(
                    Diagnostic::error(None, format!("cannot read the configuration: {e}"))
                        .with_help("check the path and the file's permissions"),
                );
                (None, d)
            }
        }
    }

    /// Validates configuration text; `path` is only used in messages and to
    /// resolve relative file names.
    pub fn check_str(path: &Path, src: &str) -> (Option<Config>, Diagnostics) {
        validate::validate(path, src)
    }

    /// Validates configuration text; see [`Config::check_str`].
    pub fn from_toml(path: &Path, src: &str) -> Result<Config, Diagnostics> {
        let (cfg, diags) = Config::check_str(path, src);
        cfg.ok_or(diags)
    }

    /// A one-line summary: IXPs, LANs, route servers, members, bridges.
    pub fn summary(&self) -> String {
        let names: Vec<&str> = self.ixps.iter().map(|i| i.shortname.as_str()).collect();
        format!(
            "{} IXP{} ({}), {} peering LAN{}, {} route server{}, {} member{}, {} bridge{}; RPKI {}, IRR {}",
            self.ixps.len(),
            s(self.ixps.len()),
            names.join(", "),
            self.peering_lans.len(),
            s(self.peering_lans.len()),
            self.route_servers.len(),
            s(self.route_servers.len()),
            self.members.len(),
            s(self.members.len()),
            self.bridges.len(),
            s(self.bridges.len()),
            if self.policy.rpki_enabled() { "on" } else { "off (no rtr cache)" },
            if self.policy.irr_enabled() { "on" } else { "off (no rpsl_files or whois)" },
        )
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
