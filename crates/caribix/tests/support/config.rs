//! `caribix run` configurations for the end-to-end tests: the `[ixp]`,
//! `[[peering_lan]]`, `[route_server]` (AS [`RS`] on 127.0.0.1) and `[web]`
//! tables every test writes, with room for the lines and tables a test
//! adds, and passive `[[member]]` tables; and a test's [`Site`] (scratch
//! directory, a 127.0.N.0/24 of its own, free ports).
//!
//! Not here: the meaning of the keys (docs/configuration.md) or checking
//! them (crates/registry); a test that needs a table this does not write
//! passes it whole in [`Ixp::tables`].

use std::path::PathBuf;

/// The route server's AS in the tests.
pub const RS: u32 = 64500;

/// A test IXP: one peering LAN, the route server listening on
/// 127.0.0.1:`bgp`, the API on 127.0.0.1:`web` when set.
#[derive(Clone, Debug, Default)]
pub struct Ixp<'a> {
    /// `[ixp] name`.
    pub name: &'a str,
    /// The peering LAN's IPv4 prefix.
    pub lan_v4: &'a str,
    /// The peering LAN's IPv6 prefix, if any.
    pub lan_v6: Option<&'a str>,
    /// The route server's BGP port on 127.0.0.1.
    pub bgp: u16,
    /// The API port on 127.0.0.1; no `[web]` table when None.
    pub web: Option<u16>,
    /// More `[route_server]` lines (`hold_time = 30`, ...).
    pub route_server: &'a str,
    /// Whole tables after `[route_server]` (`[policy]`, ...).
    pub tables: &'a str,
}

impl Ixp<'_> {
    /// The configuration file's text with `members` (from [`member`]) at
    /// the end.
    pub fn toml(&self, members: &[String]) -> String {
        let mut s = format!(
            "[ixp]\nshortname = \"TIX\"\nname = \"{}\"\ncountry = \"GP\"\n\n\
             [[peering_lan]]\nname = \"main\"\nvlan = 10\nipv4 = \"{}\"\n",
            self.name, self.lan_v4
        );
        if let Some(v6) = self.lan_v6 {
            s += &format!("ipv6 = \"{v6}\"\n");
        }
        s += &format!(
            "\n[route_server]\nasn = {RS}\nrouter_id = \"127.0.0.1\"\nlisten = [\"127.0.0.1:{}\"]\n{}\n\n{}\n\n",
            self.bgp, self.route_server, self.tables
        );
        if let Some(web) = self.web {
            s += &format!("[web]\nlisten = \"127.0.0.1:{web}\"\n");
        }
        for m in members {
            s += m;
        }
        s
    }
}

/// A passive `[[member]]` table: AS `asn` called `name` on IPv4 address
/// `ipv4`, and `extra` lines (`max_prefix = ...`, `ipv6 = [...]`, ...).
pub fn member(asn: u32, name: &str, ipv4: &str, extra: &str) -> String {
    format!(
        "\n[[member]]\nasn = {asn}\nname = \"{name}\"\nipv4 = [\"{ipv4}\"]\npassive = true\n{extra}\n"
    )
}

/// `max_prefix` lines of a member: `v4` IPv4 and `v6` IPv6 routes.
pub fn max_prefix(v4: u32, v6: u32) -> String {
    format!("max_prefix = {{ ipv4 = {v4}, ipv6 = {v6} }}")
}

/// Where one end-to-end test runs: a scratch directory, a peering LAN
/// 127.0.N.0/24 of its own (N from 150 to 249, from the process id and
/// `salt`, so that tests running at the same time keep apart), and free
/// ports for the route server and the API.
#[derive(Clone, Debug)]
pub struct Site {
    /// The third octet of the LAN.
    pub n: u32,
    /// The LAN, `127.0.N.0/24`.
    pub lan: String,
    /// The scratch directory ([`super::tempdir`]).
    pub dir: PathBuf,
    /// The route server's BGP port.
    pub bgp: u16,
    /// The API port.
    pub web: u16,
}

impl Site {
    /// A fresh site for test `name`.
    pub fn new(name: &str, salt: u32) -> Site {
        let n = 150 + (std::process::id() + salt) % 100;
        Site {
            n,
            lan: format!("127.0.{n}.0/24"),
            dir: super::tempdir(name),
            bgp: super::free_tcp(),
            web: super::free_tcp(),
        }
    }

    /// The address 127.0.N.`host`.
    pub fn ip(&self, host: u8) -> String {
        format!("127.0.{}.{host}", self.n)
    }

    /// The API id of the member of AS `asn` at 127.0.N.`host`.
    pub fn id(&self, asn: u32, host: u8) -> String {
        format!("AS{asn}_127_0_{}_{host}", self.n)
    }

    /// An IXP on this site: its LAN, the route server and the API on its
    /// ports, `hold_time = 30`; the caller sets the rest.
    pub fn ixp<'a>(&'a self, name: &'a str) -> Ixp<'a> {
        Ixp {
            name,
            lan_v4: &self.lan,
            bgp: self.bgp,
            web: Some(self.web),
            route_server: "hold_time = 30",
            ..Ixp::default()
        }
    }
}
