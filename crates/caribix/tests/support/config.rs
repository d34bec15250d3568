//! `caribix run` configurations for the end-to-end tests: the `[ixp]`,
//! `[[peering_lan]]`, `[route_server]` (AS [`RS`] on 127.0.0.1) and `[web]`
//! tables every test writes, with room for the lines and tables a test
//! adds, and passive `[[member]]` tables.
//!
//! Not here: the meaning of the keys (docs/configuration.md) or checking
//! them (crates/registry); a test that needs a table this does not write
//! passes it whole in [`Ixp::tables`].

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
