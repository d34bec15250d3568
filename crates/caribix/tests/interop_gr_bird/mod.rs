//! BIRD 2 members for the interop tests of graceful restart, ADD-PATH and
//! connection collisions (`interop_gr*.rs`, `interop_addpath*.rs`,
//! `interop_collision*.rs`): each needs BIRD options the common member
//! driver (`interop/daemons.rs`) does not set (`graceful restart`,
//! `add paths rx`, `passive off` towards an active route server), so the
//! configuration is written here, on the same peering LAN
//! (`interop::Lab`), and routes are read with `birdc show route all`
//! including each route's time of last change (`timeformat route iso long
//! ms`), which tells a route that stayed from one that flapped.

#![allow(dead_code)] // each test binary uses a different part

use std::fmt::Write as _;
use std::time::Duration;

use crate::interop::{which, Lab, RS_ASN, RS_V4, RS_V6};

/// A BIRD member of the peering LAN.
#[derive(Debug, Clone)]
pub(crate) struct Bird {
    /// Box (namespace) name.
    pub(crate) name: String,
    pub(crate) asn: u32,
    /// Last octet of its LAN addresses (`192.0.2.N`, `2001:db8:10::N`).
    pub(crate) n: u8,
    /// Prefixes it originates (IPv4 and IPv6).
    pub(crate) prefixes: Vec<String>,
    /// `graceful restart on` with this restart time.
    pub(crate) graceful_restart: Option<u16>,
    /// `add paths rx` on its channels.
    pub(crate) add_paths_rx: bool,
    /// Connect to the route server too (`passive off`, the default);
    /// `false` sets `passive on`.
    pub(crate) active: bool,
    /// Only the IPv4 session.
    pub(crate) v4_only: bool,
    /// Extra lines inside each `protocol bgp` block.
    pub(crate) extra: String,
    pid: Option<u32>,
}

/// One route of a BIRD member's table, from the route server's sessions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BirdRoute {
    pub(crate) prefix: String,
    pub(crate) as_path: Vec<u32>,
    /// When BIRD last changed the route (`iso long ms`).
    pub(crate) since: String,
}

impl Bird {
    pub(crate) fn new(name: &str, asn: u32, n: u8, prefixes: &[&str]) -> Bird {
        Bird {
            name: name.to_string(),
            asn,
            n,
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            graceful_restart: None,
            add_paths_rx: false,
            active: true,
            v4_only: false,
            extra: String::new(),
            pid: None,
        }
    }

    pub(crate) fn v4(&self) -> String {
        format!("192.0.2.{}", self.n)
    }

    pub(crate) fn v6(&self) -> String {
        format!("2001:db8:10::{}", self.n)
    }

    /// The route server's neighbor id of its IPv4 session.
    pub(crate) fn rs_id4(&self) -> String {
        format!("AS{}_192_0_2_{}", self.asn, self.n)
    }

    /// The `[[member]]` entry of the route server's configuration.
    pub(crate) fn member_toml(&self, extra: &str) -> String {
        let v6 = if self.v4_only {
            String::new()
        } else {
            format!("ipv6 = [\"{}\"]\n", self.v6())
        };
        format!(
            "\n[[member]]\nasn = {}\nname = \"{}\"\nipv4 = [\"{}\"]\n{v6}\
             max_prefix = {{ ipv4 = 50, ipv6 = 50 }}\n{extra}",
            self.asn,
            self.name,
            self.v4(),
        )
    }

    fn config(&self) -> String {
        let mut c = String::new();
        let _ = writeln!(
            c,
            "router id {};\nlog stderr all;\ntimeformat route iso long ms;\nprotocol device {{}}",
            self.v4()
        );
        for fam in ["ipv4", "ipv6"] {
            let routes: String = self
                .prefixes
                .iter()
                .filter(|p| p.contains(':') == (fam == "ipv6"))
                .map(|p| format!("  route {p} blackhole;\n"))
                .collect();
            let _ = writeln!(c, "protocol static s{fam} {{ {fam};\n{routes}}}");
        }
        let gr = match self.graceful_restart {
            Some(t) => format!("  graceful restart on;\n  graceful restart time {t};\n"),
            None => "  graceful restart off;\n".to_string(),
        };
        let add_paths = if self.add_paths_rx {
            " add paths rx;"
        } else {
            ""
        };
        let passive = if self.active { "off" } else { "on" };
        let mut sessions = vec![("rs4", "ipv4", self.v4(), RS_V4)];
        if !self.v4_only {
            sessions.push(("rs6", "ipv6", self.v6(), RS_V6));
        }
        for (proto, fam, local, rs) in sessions {
            let _ = writeln!(
                c,
                "protocol bgp {proto} {{\n  local {local} as {asn};\n  neighbor {rs} as {RS_ASN};\n  \
                 passive {passive};\n  connect retry time 2;\n  error wait time 1, 5;\n{gr}{extra}  \
                 {fam} {{ import all; export where source = RTS_STATIC;{add_paths} }};\n}}",
                asn = self.asn,
                extra = self.extra,
            );
        }
        c
    }

    /// Start BIRD (`-R`: graceful restart recovery, as after a crash).
    pub(crate) fn start(&mut self, lab: &mut Lab, recovery: bool) {
        let bird = which("bird", "bird2").to_string_lossy().into_owned();
        which("birdc", "bird2");
        let conf = lab.write(&format!("{}.bird.conf", self.name), &self.config());
        let sock = lab.path(&format!("{}.bird.ctl", self.name));
        let pidf = lab.path(&format!("{}.bird.pid", self.name));
        let _ = std::fs::remove_file(&sock);
        let mut args = vec![bird.as_str(), "-f", "-c", &conf, "-s", &sock, "-P", &pidf];
        if recovery {
            args.push("-R");
        }
        let log = format!("{}-bird{}", self.name, if recovery { "-R" } else { "" });
        self.pid = Some(lab.spawn(&self.name.clone(), &log, &args));
        crate::interop::wait_until("BIRD's control socket", Duration::from_secs(10), || {
            self.birdc(lab, &["show", "status"]).map(|_| ())
        });
    }

    /// `kill -9` it, by PID.
    pub(crate) fn kill9(&mut self, lab: &mut Lab) {
        if let Some(pid) = self.pid.take() {
            lab.kill9(pid);
        }
    }

    /// Send a signal (`STOP`, `CONT`) to it, by PID.
    pub(crate) fn signal(&self, sig: &str) -> Result<(), String> {
        let pid = self.pid.ok_or("BIRD is not running")?;
        crate::interop::run(&["kill", &format!("-{sig}"), &pid.to_string()]).map(|_| ())
    }

    pub(crate) fn birdc(&self, lab: &Lab, args: &[&str]) -> Result<String, String> {
        let sock = lab.path(&format!("{}.bird.ctl", self.name));
        let birdc = which("birdc", "bird2").to_string_lossy().into_owned();
        let mut v = vec![birdc.as_str(), "-s", sock.as_str()];
        v.extend_from_slice(args);
        crate::interop::run(&v)
    }

    /// Its sessions Established, as its CLI says.
    pub(crate) fn established(&self, lab: &Lab) -> Result<(), String> {
        let out = self.birdc(lab, &["show", "protocols"])?;
        let protos: &[&str] = if self.v4_only {
            &["rs4"]
        } else {
            &["rs4", "rs6"]
        };
        for p in protos {
            let up = out
                .lines()
                .any(|l| l.split_whitespace().next() == Some(p) && l.contains("Established"));
            if !up {
                return Err(format!("{}: {p} not Established:\n{out}", self.name));
            }
        }
        Ok(())
    }

    /// Every route it learned from the route server (every path with
    /// ADD-PATH), sorted.
    pub(crate) fn routes(&self, lab: &Lab) -> Result<Vec<BirdRoute>, String> {
        let mut v = Vec::new();
        let protos: &[&str] = if self.v4_only {
            &["rs4"]
        } else {
            &["rs4", "rs6"]
        };
        for proto in protos {
            let out = self.birdc(lab, &["show", "route", "all", "protocol", proto])?;
            let mut prefix = String::new();
            for line in out.lines() {
                if line.starts_with("BIRD ") || line.starts_with("Table ") || line.is_empty() {
                    continue;
                }
                // `PREFIX  unicast [rs4 2026-11-23 11:45:03.123] * (100) [AS..i]`
                // or, for further paths, the same without PREFIX.
                if !line.starts_with('\t') && line.contains(" [") {
                    if !line.starts_with(' ') {
                        prefix = line.split_whitespace().next().unwrap_or("").to_string();
                    }
                    let since = line
                        .split_once(" [")
                        .and_then(|(_, r)| r.split_once(']'))
                        .map(|(inside, _)| {
                            inside
                                .split_whitespace()
                                .skip(1)
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                    v.push(BirdRoute {
                        prefix: prefix.clone(),
                        as_path: Vec::new(),
                        since,
                    });
                    continue;
                }
                if let Some(path) = line.trim().strip_prefix("BGP.as_path:") {
                    if let Some(r) = v.last_mut() {
                        r.as_path = path
                            .split_whitespace()
                            .filter_map(|a| a.parse().ok())
                            .collect();
                    }
                }
            }
        }
        v.sort();
        Ok(v)
    }
}

/// The route server's configuration: one IXP, the LAN, route server AS
/// 64500 on 192.0.2.1 / 2001:db8:10::1 port 179 (`rs_extra` added to its
/// table), the API on 127.0.0.1:8080 in the `rs` namespace, and the
/// members' entries.
pub(crate) fn rs_config(rs_extra: &str, members: &[String]) -> String {
    let mut c = format!(
        "[ixp]\nshortname = \"TIX\"\nname = \"Interop test IX\"\ncountry = \"GP\"\n\n\
         [[peering_lan]]\nname = \"lan\"\nvlan = 10\nipv4 = \"192.0.2.0/24\"\nipv6 = \"2001:db8:10::/64\"\n\n\
         [[route_server]]\nname = \"rs1\"\nasn = {RS_ASN}\nrouter_id = \"192.0.2.1\"\n\
         listen = [\"192.0.2.1:179\", \"[2001:db8:10::1]:179\"]\n{rs_extra}\n\
         [web]\nlisten = \"127.0.0.1:8080\"\n"
    );
    for m in members {
        c.push_str(m);
    }
    c
}
