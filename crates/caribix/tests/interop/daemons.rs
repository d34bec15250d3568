//! The five member implementations, each driven through its own
//! configuration file and its own CLI: BIRD 2 (`bird`, `birdc`), FRR
//! (`zebra` + `bgpd`, `vtysh`), GoBGP (`gobgpd`, `gobgp`), OpenBGPD (`bgpd`,
//! `bgpctl`) and ExaBGP (`exabgp` with two API processes: one records what it
//! receives as JSON, one feeds it commands the test appends to a file).
//!
//! Each member opens two sessions to the route server, IPv4 unicast over
//! IPv4 and IPv6 unicast over IPv6, announces the routes of its
//! [`Announce`] list, exports nothing else (routes learned from the route
//! server are never sent back), and accepts routes with its own AS in the
//! path where the daemon can (BIRD `allow local as`, FRR `allowas-in`, GoBGP
//! `allow-own-as`; ExaBGP records everything), so that a route server that
//! reflected a member's own routes would be seen doing it.
//!
//! What it does not do: configure anything but what the tests need; drive
//! ExaBGP withdrawals other than through its API process.

use std::fmt::Write as _;
use std::time::Duration;

mod exabgp;

use super::{canonical_prefix, pair, triple, which, Lab, Route, RS_ASN, RS_V4, RS_V6};

/// The implementation a member runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bird,
    Frr,
    Gobgp,
    Openbgpd,
    Exabgp,
}

/// One route a member originates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Announce {
    pub(crate) prefix: String,
    pub(crate) med: Option<u32>,
    pub(crate) communities: Vec<(u16, u16)>,
    /// Route targets `rt:ADMIN:NUMBER` with a 2-octet admin field.
    pub(crate) rts: Vec<(u16, u32)>,
    pub(crate) large: Vec<(u32, u32, u32)>,
    /// ASNs after the member's own in the AS_PATH (GoBGP and ExaBGP only).
    pub(crate) path_tail: Vec<u32>,
    /// Whether the test withdraws it through the member's CLI.
    pub(crate) withdrawable: bool,
}

impl Announce {
    /// A plain route.
    pub(crate) fn plain(prefix: &str) -> Announce {
        Announce {
            prefix: canonical_prefix(prefix),
            ..Announce::default()
        }
    }

    /// Whether it is an IPv6 prefix.
    pub(crate) fn is_v6(&self) -> bool {
        self.prefix.contains(':')
    }

    /// The standard communities as `x:y`, joined by `sep`.
    pub(crate) fn communities_joined(&self, sep: &str) -> String {
        join_pairs(&self.communities, "", sep)
    }

    /// The large communities as `x:y:z`, joined by `sep`.
    pub(crate) fn large_joined(&self, sep: &str) -> String {
        let v: Vec<String> = self
            .large
            .iter()
            .map(|(x, y, z)| format!("{x}:{y}:{z}"))
            .collect();
        v.join(sep)
    }

    /// The route targets as `{prefix}x:y`, joined by `sep`.
    pub(crate) fn rts_joined(&self, prefix: &str, sep: &str) -> String {
        join_pairs(&self.rts, prefix, sep)
    }

    fn family(&self) -> &'static str {
        if self.is_v6() {
            "ipv6"
        } else {
            "ipv4"
        }
    }
}

/// One member of the peering LAN and the daemon it runs.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) kind: Kind,
    /// Box (namespace) name, also used for file names.
    pub(crate) name: String,
    pub(crate) asn: u32,
    /// Last octet of its LAN addresses.
    pub(crate) n: u8,
    pub(crate) announces: Vec<Announce>,
    /// Hold time of its IPv4 session.
    pub(crate) hold_v4: u16,
    /// ExaBGP only: negotiate 2-octet ASNs (no RFC 6793 capability).
    pub(crate) asn4_disabled: bool,
    pids: Vec<u32>,
}

impl Member {
    pub(crate) fn new(kind: Kind, name: &str, asn: u32, n: u8, announces: Vec<Announce>) -> Member {
        Member {
            kind,
            name: name.to_string(),
            asn,
            n,
            announces,
            hold_v4: 90,
            asn4_disabled: false,
            pids: Vec::new(),
        }
    }

    pub(crate) fn v4(&self) -> String {
        format!("192.0.2.{}", self.n)
    }

    pub(crate) fn v6(&self) -> String {
        format!("2001:db8:10::{}", self.n)
    }

    /// The route server's neighbor ids of its two sessions.
    pub(crate) fn rs_ids(&self) -> [String; 2] {
        [
            format!("AS{}_192_0_2_{}", self.asn, self.n),
            format!("AS{}_2001_db8_10__{}", self.asn, self.n),
        ]
    }

    /// The route another member must see for one of this member's
    /// announcements.
    pub(crate) fn expected(&self, a: &Announce) -> Route {
        let mut as_path = vec![self.asn];
        as_path.extend(&a.path_tail);
        Route {
            prefix: a.prefix.clone(),
            as_path,
            next_hop: if a.is_v6() { self.v6() } else { self.v4() },
            med: a.med,
            communities: a
                .communities
                .iter()
                .map(|&(x, y)| (u32::from(x), u32::from(y)))
                .collect(),
            ext_communities: a.rts.iter().map(|(x, y)| format!("rt:{x}:{y}")).collect(),
            large_communities: a.large.clone(),
        }
        .normalized()
    }

    /// Fail unless the daemon's programs are installed.
    pub(crate) fn require(kind: Kind) {
        match kind {
            Kind::Bird => {
                which("bird", "bird2");
                which("birdc", "bird2");
            }
            Kind::Frr => {
                which("/usr/lib/frr/bgpd", "frr");
                which("/usr/lib/frr/zebra", "frr");
                which("vtysh", "frr");
            }
            Kind::Gobgp => {
                which("gobgpd", "gobgpd");
                which("gobgp", "gobgpd");
            }
            Kind::Openbgpd => {
                which("bgpd", "openbgpd");
                which("bgpctl", "openbgpd");
                which("unshare", "util-linux");
            }
            Kind::Exabgp => {
                which("exabgp", "exabgp");
                which("python3", "python3");
            }
        }
    }

    /// Start the daemon (and announce its routes where that takes a CLI).
    pub(crate) fn start(&mut self, lab: &mut Lab) {
        Member::require(self.kind);
        match self.kind {
            Kind::Bird => self.start_bird(lab),
            Kind::Frr => self.start_frr(lab),
            Kind::Gobgp => self.start_gobgp(lab),
            Kind::Openbgpd => self.start_openbgpd(lab),
            Kind::Exabgp => self.start_exabgp(lab),
        }
    }

    /// `kill -9` the daemon's processes.
    pub(crate) fn kill9(&mut self, lab: &mut Lab) {
        for pid in self.pids.drain(..) {
            lab.kill9(pid);
        }
    }

    /// Send a signal (`STOP`, `CONT`) to the daemon's processes, by PID.
    pub(crate) fn signal(&self, sig: &str) -> Result<(), String> {
        for pid in &self.pids {
            super::run(&["kill", &format!("-{sig}"), &pid.to_string()])?;
        }
        Ok(())
    }

    /// Whether every process of the daemon still runs.
    pub(crate) fn running(&self, lab: &mut Lab) -> bool {
        !self.pids.is_empty() && self.pids.iter().all(|p| lab.alive(*p))
    }

    /// Both sessions Established, as the member's own CLI says.
    pub(crate) fn established(&self, lab: &Lab) -> Result<(), String> {
        let up: Vec<(String, bool)> = match self.kind {
            Kind::Bird => {
                let out = self.birdc(lab, &["show", "protocols"])?;
                ["rs4", "rs6"]
                    .iter()
                    .map(|p| {
                        let ok = out.lines().any(|l| {
                            l.split_whitespace().next() == Some(p) && l.contains("Established")
                        });
                        (p.to_string(), ok)
                    })
                    .collect()
            }
            Kind::Frr => {
                let v = json(&self.vtysh(lab, &["show bgp neighbors json"])?)?;
                [RS_V4, RS_V6]
                    .iter()
                    .map(|a| {
                        let st = v.get(*a).and_then(|n| n.get("bgpState"));
                        (
                            a.to_string(),
                            st.and_then(|s| s.as_str()) == Some("Established"),
                        )
                    })
                    .collect()
            }
            Kind::Gobgp => {
                let v = json(&self.gobgp(lab, &["neighbor", "-j"])?)?;
                let list = v.as_array().cloned().unwrap_or_default();
                [RS_V4, RS_V6]
                    .iter()
                    .map(|a| {
                        let ok = list.iter().any(|n| {
                            n.pointer("/conf/neighbor_address").and_then(|x| x.as_str()) == Some(a)
                                && n.pointer("/state/session_state").and_then(|x| x.as_u64())
                                    == Some(6)
                        });
                        (a.to_string(), ok)
                    })
                    .collect()
            }
            Kind::Openbgpd => {
                let v = json(&self.bgpctl(lab, &["-j", "show", "neighbor"])?)?;
                let list = v
                    .get("neighbors")
                    .and_then(|n| n.as_array())
                    .cloned()
                    .unwrap_or_default();
                [RS_V4, RS_V6]
                    .iter()
                    .map(|a| {
                        let ok = list.iter().any(|n| {
                            n.get("remote_addr").and_then(|x| x.as_str()) == Some(a)
                                && n.get("state").and_then(|x| x.as_str()) == Some("Established")
                        });
                        (a.to_string(), ok)
                    })
                    .collect()
            }
            Kind::Exabgp => {
                let v = self.exabgp_state(lab)?;
                [RS_V4, RS_V6]
                    .iter()
                    .map(|a| {
                        let st = v.pointer("/state").and_then(|s| s.get(*a));
                        (a.to_string(), st.and_then(|s| s.as_str()) == Some("up"))
                    })
                    .collect()
            }
        };
        let down: Vec<String> = up
            .into_iter()
            .filter(|(_, ok)| !ok)
            .map(|(p, _)| p)
            .collect();
        if down.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} ({:?}): not Established: {down:?}",
                self.name, self.kind
            ))
        }
    }

    /// The routes the member learned from the route server, from its own
    /// CLI, by prefix (a list: more than one would be a finding).
    pub(crate) fn rib(&self, lab: &Lab) -> Result<Vec<Route>, String> {
        let mut v = match self.kind {
            Kind::Bird => self.rib_bird(lab)?,
            Kind::Frr => self.rib_frr(lab)?,
            Kind::Gobgp => self.rib_gobgp(lab)?,
            Kind::Openbgpd => self.rib_openbgpd(lab)?,
            Kind::Exabgp => self.rib_exabgp(lab)?,
        };
        v = v.into_iter().map(Route::normalized).collect();
        v.sort();
        Ok(v)
    }

    /// Withdraw one of its announcements through its own CLI.
    pub(crate) fn withdraw(&self, lab: &Lab, prefix: &str) -> Result<(), String> {
        let a = self
            .announces
            .iter()
            .find(|a| a.prefix == canonical_prefix(prefix))
            .ok_or_else(|| format!("{} does not announce {prefix}", self.name))?;
        match self.kind {
            Kind::Bird => {
                // Each withdrawable route has a static protocol of its own.
                let proto = self.bird_static_name(a);
                self.birdc(lab, &["disable", &proto]).map(|_| ())
            }
            Kind::Frr => {
                let asn = format!("router bgp {}", self.asn);
                let af = format!("address-family {} unicast", a.family());
                let no = format!("no network {}", a.prefix);
                self.vtysh(lab, &["configure terminal", &asn, &af, &no])
                    .map(|_| ())
            }
            Kind::Gobgp => self
                .gobgp(lab, &["global", "rib", "del", &a.prefix, "-a", a.family()])
                .map(|_| ()),
            Kind::Openbgpd => self
                .bgpctl(lab, &["network", "delete", &a.prefix])
                .map(|_| ()),
            Kind::Exabgp => {
                let nh = if a.is_v6() { self.v6() } else { self.v4() };
                self.exabgp_command(
                    lab,
                    &format!(
                        "neighbor {} withdraw route {} next-hop {nh}",
                        if a.is_v6() { RS_V6 } else { RS_V4 },
                        a.prefix
                    ),
                )
            }
        }
    }

    // ---- BIRD 2 ---------------------------------------------------------

    fn bird_static_name(&self, a: &Announce) -> String {
        let i = self
            .announces
            .iter()
            .position(|x| x.prefix == a.prefix)
            .unwrap_or(0);
        format!("w{i}")
    }

    fn start_bird(&mut self, lab: &mut Lab) {
        let mut c = String::new();
        let _ = writeln!(
            c,
            "router id {};\nlog stderr all;\nprotocol device {{}}",
            self.v4()
        );
        for fam in ["ipv4", "ipv6"] {
            let mut statics = String::new();
            for (i, a) in self.announces.iter().enumerate() {
                if a.family() != fam {
                    continue;
                }
                if a.withdrawable {
                    let _ = writeln!(
                        c,
                        "protocol static w{i} {{ {fam}; route {} blackhole; }}",
                        a.prefix
                    );
                } else {
                    let _ = writeln!(statics, "  route {} blackhole;", a.prefix);
                }
            }
            let _ = writeln!(c, "protocol static s{fam} {{ {fam};\n{statics}}}");
            let _ = writeln!(
                c,
                "filter out_{fam} {{\n  if source != RTS_STATIC then reject;"
            );
            for a in self.announces.iter().filter(|a| a.family() == fam) {
                let _ = writeln!(c, "  if net = {} then {{", a.prefix);
                if let Some(m) = a.med {
                    let _ = writeln!(c, "    bgp_med = {m};");
                }
                for (x, y) in &a.communities {
                    let _ = writeln!(c, "    bgp_community.add(({x},{y}));");
                }
                for (x, y) in &a.rts {
                    let _ = writeln!(c, "    bgp_ext_community.add((rt,{x},{y}));");
                }
                for (x, y, z) in &a.large {
                    let _ = writeln!(c, "    bgp_large_community.add(({x},{y},{z}));");
                }
                assert!(
                    a.path_tail.is_empty(),
                    "the BIRD member cannot prepend a path tail"
                );
                let _ = writeln!(c, "  }}");
            }
            let _ = writeln!(c, "  accept;\n}}");
        }
        for (proto, fam, local, rs, hold) in [
            ("rs4", "ipv4", self.v4(), RS_V4, self.hold_v4),
            ("rs6", "ipv6", self.v6(), RS_V6, 90),
        ] {
            let _ = writeln!(
                c,
                "protocol bgp {proto} {{\n  local {local} as {asn};\n  neighbor {rs} as {RS_ASN};\n  \
                 hold time {hold};\n  connect retry time 2;\n  error wait time 1, 5;\n  \
                 allow local as 1;\n  {fam} {{ import all; export filter out_{fam}; }};\n}}",
                asn = self.asn
            );
        }
        let conf = lab.write(&format!("{}.bird.conf", self.name), &c);
        let sock = lab.path(&format!("{}.bird.ctl", self.name));
        let pidf = lab.path(&format!("{}.bird.pid", self.name));
        let bird = which("bird", "bird2").to_string_lossy().into_owned();
        let pid = lab.spawn(
            &self.name.clone(),
            &format!("{}-bird", self.name),
            &[&bird, "-f", "-c", &conf, "-s", &sock, "-P", &pidf],
        );
        self.pids = vec![pid];
        super::wait_until("BIRD's control socket", Duration::from_secs(10), || {
            self.birdc(lab, &["show", "status"]).map(|_| ())
        });
    }

    /// Run `birdc` against this member's BIRD.
    pub(crate) fn birdc(&self, lab: &Lab, args: &[&str]) -> Result<String, String> {
        let sock = lab.path(&format!("{}.bird.ctl", self.name));
        let birdc = which("birdc", "bird2").to_string_lossy().into_owned();
        let mut v = vec![birdc.as_str(), "-s", sock.as_str()];
        v.extend_from_slice(args);
        super::run(&v)
    }

    fn rib_bird(&self, lab: &Lab) -> Result<Vec<Route>, String> {
        let mut routes = Vec::new();
        for proto in ["rs4", "rs6"] {
            let out = self.birdc(lab, &["show", "route", "all", "protocol", proto])?;
            let mut prefix = String::new();
            let mut cur: Option<Route> = None;
            for line in out.lines() {
                if line.starts_with("BIRD ") || line.starts_with("Table ") || line.is_empty() {
                    continue;
                }
                let is_header = !line.starts_with('\t') && line.contains(" [");
                if is_header {
                    if !line.starts_with(' ') {
                        prefix = line.split_whitespace().next().unwrap_or("").to_string();
                    }
                    routes.extend(cur.take());
                    cur = Some(Route {
                        prefix: prefix.clone(),
                        as_path: Vec::new(),
                        next_hop: String::new(),
                        med: None,
                        communities: Vec::new(),
                        ext_communities: Vec::new(),
                        large_communities: Vec::new(),
                    });
                    continue;
                }
                let Some(r) = cur.as_mut() else { continue };
                let Some((key, val)) = line.trim().split_once(": ") else {
                    continue;
                };
                match key {
                    "BGP.as_path" => {
                        r.as_path = val
                            .split_whitespace()
                            .filter_map(|a| a.parse().ok())
                            .collect();
                    }
                    "BGP.next_hop" => {
                        r.next_hop = val.split_whitespace().next().unwrap_or("").to_string();
                    }
                    "BGP.med" => r.med = val.trim().parse().ok(),
                    "BGP.community" => {
                        r.communities = bird_tuples(val)
                            .iter()
                            .filter_map(|t| pair(&t.join(":")))
                            .collect()
                    }
                    "BGP.ext_community" => {
                        r.ext_communities = bird_tuples(val).iter().map(|t| t.join(":")).collect();
                    }
                    "BGP.large_community" => {
                        r.large_communities = bird_tuples(val)
                            .iter()
                            .filter_map(|t| triple(&t.join(":")))
                            .collect();
                    }
                    _ => {}
                }
            }
            routes.extend(cur.take());
        }
        Ok(routes)
    }

    // ---- FRR ------------------------------------------------------------

    fn frr_dir(&self, lab: &Lab) -> String {
        lab.path(&format!("{}-frr", self.name))
    }

    fn start_frr(&mut self, lab: &mut Lab) {
        // bgpd alone (`-Z`) has no interface information and withdraws every
        // route with an IPv6 link-local next hop ("no peer interface
        // information"), so zebra runs beside it, in the member's namespace;
        // `bgpd -n` keeps routes out of the kernel.
        let dir = self.frr_dir(lab);
        let _ = std::fs::create_dir_all(&dir);
        let mut c = format!(
            "hostname {name}\nbgp as-path access-list LOCAL seq 5 permit ^$\nrouter bgp {asn}\n bgp router-id {id}\n no bgp ebgp-requires-policy\n \
             no bgp network import-check\n",
            name = self.name,
            asn = self.asn,
            id = self.v4()
        );
        for rs in [RS_V4, RS_V6] {
            let _ = writeln!(c, " neighbor {rs} remote-as {RS_ASN}");
            let _ = writeln!(c, " neighbor {rs} timers connect 2");
        }
        let _ = writeln!(
            c,
            " neighbor {RS_V4} timers {} {}",
            (self.hold_v4 / 3).max(1),
            self.hold_v4
        );
        for (fam, rs, other) in [("ipv4", RS_V4, RS_V6), ("ipv6", RS_V6, RS_V4)] {
            let _ = writeln!(c, " address-family {fam} unicast");
            for (i, a) in self.announces.iter().enumerate() {
                if a.family() == fam {
                    assert!(
                        a.path_tail.is_empty(),
                        "the FRR member cannot prepend a path tail"
                    );
                    let _ = writeln!(c, "  network {} route-map NET{i}", a.prefix);
                }
            }
            let _ = writeln!(c, "  neighbor {rs} activate");
            let _ = writeln!(c, "  neighbor {rs} allowas-in 1");
            let _ = writeln!(c, "  neighbor {rs} route-map ONLYLOCAL out");
            let _ = writeln!(c, "  no neighbor {other} activate");
            let _ = writeln!(c, " exit-address-family");
        }
        let _ = writeln!(c, "route-map ONLYLOCAL permit 10\n match as-path LOCAL");
        for (i, a) in self.announces.iter().enumerate() {
            let _ = writeln!(c, "route-map NET{i} permit 10");
            if let Some(m) = a.med {
                let _ = writeln!(c, " set metric {m}");
            }
            if !a.communities.is_empty() {
                let _ = writeln!(c, " set community {}", a.communities_joined(" "));
            }
            if !a.large.is_empty() {
                let _ = writeln!(c, " set large-community {}", a.large_joined(" "));
            }
            if !a.rts.is_empty() {
                let _ = writeln!(c, " set extcommunity rt {}", a.rts_joined("", " "));
            }
        }
        let conf = format!("{dir}/bgpd.conf");
        let zconf = format!("{dir}/zebra.conf");
        let _ = std::fs::write(&conf, c);
        let _ = std::fs::write(&zconf, format!("hostname {}\n", self.name));
        // The daemons drop to the `frr` user: let it write here.
        let _ = super::run(&["chown", "-R", "frr:frr", &dir]);
        // A line FRR does not understand is only logged: check first.
        let bgpd_bin = which("/usr/lib/frr/bgpd", "frr")
            .to_string_lossy()
            .into_owned();
        let dry = std::process::Command::new(&bgpd_bin)
            .args(["-C", "-f", &conf])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stderr).into_owned()
                    + &String::from_utf8_lossy(&o.stdout)
            });
        if let Ok(out) = &dry {
            assert!(
                !out.contains("No such command") && !out.contains("Unknown command"),
                "FRR rejects the test's bgpd.conf:\n{out}"
            );
        }
        let zsock = format!("{dir}/zserv.api");
        let zebra = which("/usr/lib/frr/zebra", "frr")
            .to_string_lossy()
            .into_owned();
        let bgpd = which("/usr/lib/frr/bgpd", "frr")
            .to_string_lossy()
            .into_owned();
        let name = self.name.clone();
        let zpid = lab.spawn(
            &name,
            &format!("{name}-zebra"),
            &[
                &zebra,
                "-f",
                &zconf,
                "-i",
                &format!("{dir}/zebra.pid"),
                "-z",
                &zsock,
                "--vty_socket",
                &dir,
                "-A",
                "127.0.0.1",
                "-P",
                "0",
            ],
        );
        super::wait_until("FRR zebra's socket", Duration::from_secs(10), || {
            if std::path::Path::new(&zsock).exists() {
                Ok(())
            } else {
                Err(format!("no {zsock}"))
            }
        });
        let bpid = lab.spawn(
            &name,
            &format!("{name}-bgpd"),
            &[
                &bgpd,
                "-f",
                &conf,
                "-i",
                &format!("{dir}/bgpd.pid"),
                "-z",
                &zsock,
                "-n",
                "-p",
                "0",
                "--vty_socket",
                &dir,
                "-A",
                "127.0.0.1",
                "-P",
                "0",
            ],
        );
        self.pids = vec![bpid, zpid];
        super::wait_until("FRR bgpd's vty", Duration::from_secs(10), || {
            self.vtysh(lab, &["show bgp summary"]).map(|_| ())
        });
    }

    fn vtysh(&self, lab: &Lab, cmds: &[&str]) -> Result<String, String> {
        let dir = self.frr_dir(lab);
        let vtysh = which("vtysh", "frr").to_string_lossy().into_owned();
        let mut v = vec![vtysh.as_str(), "--vty_socket", dir.as_str(), "-d", "bgpd"];
        for c in cmds {
            v.push("-c");
            v.push(c);
        }
        super::run(&v)
    }

    fn rib_frr(&self, lab: &Lab) -> Result<Vec<Route>, String> {
        let mut routes = Vec::new();
        for (fam, rs) in [("ipv4", RS_V4), ("ipv6", RS_V6)] {
            let v = json(&self.vtysh(lab, &[&format!("show bgp {fam} unicast json")])?)?;
            let prefixes: Vec<String> = v
                .get("routes")
                .and_then(|r| r.as_object())
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            if prefixes.is_empty() {
                continue;
            }
            let cmds: Vec<String> = prefixes
                .iter()
                .map(|p| format!("show bgp {fam} unicast {p} json"))
                .collect();
            let refs: Vec<&str> = cmds.iter().map(String::as_str).collect();
            let out = self.vtysh(lab, &refs)?;
            for detail in serde_json::Deserializer::from_str(&out).into_iter::<serde_json::Value>()
            {
                let d = detail.map_err(|e| format!("FRR JSON: {e}"))?;
                let prefix = d
                    .get("prefix")
                    .and_then(|p| p.as_str())
                    .unwrap_or("")
                    .to_string();
                for p in d
                    .get("paths")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                {
                    if p.pointer("/peer/peerId").and_then(|x| x.as_str()) != Some(rs) {
                        continue;
                    }
                    let as_path = segment_asns(p.pointer("/aspath/segments"), "list");
                    let nhs = p
                        .get("nexthops")
                        .and_then(|n| n.as_array())
                        .cloned()
                        .unwrap_or_default();
                    let next_hop = nhs
                        .iter()
                        .find(|n| n.get("scope").and_then(|s| s.as_str()) != Some("link-local"))
                        .and_then(|n| n.get("ip"))
                        .and_then(|s| s.as_str())
                        .unwrap_or("")
                        .to_string();
                    let strs = |ptr: &str| -> Vec<String> {
                        match p.pointer(ptr).and_then(|s| s.as_str()) {
                            Some(s) => s.split_whitespace().map(str::to_string).collect(),
                            None => Vec::new(),
                        }
                    };
                    routes.push(Route {
                        prefix: prefix.clone(),
                        as_path,
                        next_hop,
                        med: p
                            .get("metric")
                            .and_then(|m| m.as_u64())
                            .and_then(|m| u32::try_from(m).ok()),
                        communities: strs("/community/string")
                            .iter()
                            .filter_map(|c| pair(c))
                            .collect(),
                        ext_communities: strs("/extendedCommunity/string")
                            .iter()
                            .map(|c| c.to_lowercase())
                            .collect(),
                        large_communities: strs("/largeCommunity/string")
                            .iter()
                            .filter_map(|c| triple(c))
                            .collect(),
                    });
                }
            }
        }
        Ok(routes)
    }

    // ---- GoBGP ----------------------------------------------------------

    fn start_gobgp(&mut self, lab: &mut Lab) {
        let mut c = format!(
            "[global.config]\n  as = {}\n  router-id = \"{}\"\n  port = -1\n",
            self.asn,
            self.v4()
        );
        for (rs, local, fam, hold) in [
            (RS_V4, self.v4(), "ipv4-unicast", self.hold_v4),
            (RS_V6, self.v6(), "ipv6-unicast", 90),
        ] {
            let _ = write!(
                c,
                "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{rs}\"\n    peer-as = {RS_ASN}\n  \
                 [neighbors.transport.config]\n    local-address = \"{local}\"\n  \
                 [neighbors.timers.config]\n    hold-time = {hold}\n    keepalive-interval = {ka}\n    connect-retry = 2\n  \
                 [neighbors.as-path-options.config]\n    allow-own-as = 1\n  \
                 [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{fam}\"\n",
                ka = (hold / 3).max(1)
            );
        }
        let conf = lab.write(&format!("{}.gobgp.toml", self.name), &c);
        let gobgpd = which("gobgpd", "gobgpd").to_string_lossy().into_owned();
        let name = self.name.clone();
        let pid = lab.spawn(
            &name,
            &format!("{name}-gobgpd"),
            &[&gobgpd, "-f", &conf, "--api-hosts", "127.0.0.1:50051"],
        );
        self.pids = vec![pid];
        super::wait_until("GoBGP's API", Duration::from_secs(15), || {
            self.gobgp(lab, &["global"]).map(|_| ())
        });
        for a in &self.announces {
            let nh = if a.is_v6() { self.v6() } else { self.v4() };
            let mut args: Vec<String> = vec![
                "global".into(),
                "rib".into(),
                "add".into(),
                a.prefix.clone(),
                "origin".into(),
                "igp".into(),
            ];
            if !a.path_tail.is_empty() {
                let p: Vec<String> = a.path_tail.iter().map(u32::to_string).collect();
                args.extend(["aspath".into(), p.join(",")]);
            }
            args.extend(["nexthop".into(), nh]);
            if let Some(m) = a.med {
                args.extend(["med".into(), m.to_string()]);
            }
            if !a.communities.is_empty() {
                args.extend(["community".into(), a.communities_joined(",")]);
            }
            if !a.large.is_empty() {
                args.extend(["large-community".into(), a.large_joined(",")]);
            }
            for (x, y) in &a.rts {
                args.extend(["rt".into(), format!("{x}:{y}")]);
            }
            args.extend(["-a".into(), a.family().into()]);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            if let Err(e) = self.gobgp(lab, &refs) {
                panic!("GoBGP announce {}: {e}", a.prefix);
            }
        }
    }

    fn gobgp(&self, lab: &Lab, args: &[&str]) -> Result<String, String> {
        let gobgp = which("gobgp", "gobgpd").to_string_lossy().into_owned();
        let mut v = vec![gobgp.as_str(), "-p", "50051"];
        v.extend_from_slice(args);
        lab.exec(&self.name, &v)
    }

    fn rib_gobgp(&self, lab: &Lab) -> Result<Vec<Route>, String> {
        let mut routes = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            let v = json(&self.gobgp(lab, &["global", "rib", "-a", fam, "-j"])?)?;
            let Some(m) = v.as_object() else { continue };
            for (prefix, paths) in m {
                for p in paths.as_array().into_iter().flatten() {
                    if p.get("neighbor-ip").is_none() {
                        continue; // originated here
                    }
                    let mut r = Route {
                        prefix: prefix.clone(),
                        as_path: Vec::new(),
                        next_hop: String::new(),
                        med: None,
                        communities: Vec::new(),
                        ext_communities: Vec::new(),
                        large_communities: Vec::new(),
                    };
                    for a in p
                        .get("attrs")
                        .and_then(|a| a.as_array())
                        .into_iter()
                        .flatten()
                    {
                        match a.get("type").and_then(|t| t.as_u64()) {
                            Some(2) => {
                                r.as_path = segment_asns(a.get("as_paths"), "asns");
                            }
                            Some(3) | Some(14) => {
                                r.next_hop = a
                                    .get("nexthop")
                                    .and_then(|n| n.as_str())
                                    .unwrap_or("")
                                    .to_string();
                            }
                            Some(4) => {
                                r.med = a
                                    .get("metric")
                                    .and_then(|m| m.as_u64())
                                    .and_then(|m| u32::try_from(m).ok());
                            }
                            Some(8) => {
                                r.communities = a
                                    .get("communities")
                                    .and_then(|c| c.as_array())
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|c| c.as_u64())
                                    .map(|c| ((c >> 16) as u32, (c & 0xffff) as u32))
                                    .collect();
                            }
                            Some(16) => {
                                r.ext_communities = a
                                    .get("value")
                                    .and_then(|c| c.as_array())
                                    .into_iter()
                                    .flatten()
                                    .map(|e| {
                                        let sub = e.get("subtype").and_then(|s| s.as_u64());
                                        let val =
                                            e.get("value").and_then(|s| s.as_str()).unwrap_or("?");
                                        if sub == Some(2) {
                                            format!("rt:{val}")
                                        } else {
                                            format!("{e}")
                                        }
                                    })
                                    .collect();
                            }
                            Some(32) => {
                                r.large_communities = a
                                    .get("value")
                                    .and_then(|c| c.as_array())
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|l| {
                                        let f = |k: &str| {
                                            l.get(k)
                                                .and_then(|x| x.as_u64())
                                                .and_then(|x| u32::try_from(x).ok())
                                        };
                                        Some((f("ASN")?, f("LocalData1")?, f("LocalData2")?))
                                    })
                                    .collect();
                            }
                            _ => {}
                        }
                    }
                    routes.push(r);
                }
            }
        }
        Ok(routes)
    }

    // ---- OpenBGPD -------------------------------------------------------

    fn start_openbgpd(&mut self, lab: &mut Lab) {
        let sock = lab.path(&format!("{}.bgpd.sock", self.name));
        let mut c = format!(
            "AS {asn}\nrouter-id {id}\nfib-update no\nconnect-retry 2\nsocket \"{sock}\"\n",
            asn = self.asn,
            id = self.v4()
        );
        let mine: Vec<&str> = self.announces.iter().map(|a| a.prefix.as_str()).collect();
        let _ = writeln!(c, "prefix-set mine {{ {} }}", mine.join(" "));
        for a in self.announces.iter().filter(|a| !a.withdrawable) {
            assert!(
                a.path_tail.is_empty(),
                "the OpenBGPD member cannot prepend a path tail"
            );
            let mut set = Vec::new();
            if let Some(m) = a.med {
                set.push(format!("med {m}"));
            }
            for (x, y) in &a.communities {
                set.push(format!("community {x}:{y}"));
            }
            for (x, y, z) in &a.large {
                set.push(format!("large-community {x}:{y}:{z}"));
            }
            for (x, y) in &a.rts {
                set.push(format!("ext-community rt {x}:{y}"));
            }
            if set.is_empty() {
                let _ = writeln!(c, "network {}", a.prefix);
            } else {
                let _ = writeln!(c, "network {} set {{ {} }}", a.prefix, set.join(" "));
            }
        }
        for (rs, local, v4, v6, hold) in [
            (RS_V4, self.v4(), "unicast", "none", self.hold_v4),
            (RS_V6, self.v6(), "none", "unicast", 90),
        ] {
            // The route server's AS is not the first in the paths it sends.
            let _ = writeln!(
                c,
                "neighbor {rs} {{\n  remote-as {RS_ASN}\n  local-address {local}\n  holdtime {hold}\n  \
                 enforce neighbor-as no\n  announce IPv4 {v4}\n  announce IPv6 {v6}\n}}"
            );
        }
        let _ = writeln!(
            c,
            "allow from any\ndeny to any\nallow to any prefix-set mine"
        );
        let conf = lab.write(&format!("{}.bgpd.conf", self.name), &c);
        let bgpd = which("bgpd", "openbgpd").to_string_lossy().into_owned();
        let unshare = which("unshare", "util-linux")
            .to_string_lossy()
            .into_owned();
        // OpenBGPD chroots into /run/openbgpd, which the package does not
        // create: give it a private /run in a mount namespace of its own.
        let script = format!(
            "mount -t tmpfs tmpfs /run && mkdir -p /run/openbgpd && exec {bgpd} -d -f {conf}"
        );
        let name = self.name.clone();
        let pid = lab.spawn(
            &name,
            &format!("{name}-openbgpd"),
            &[&unshare, "-m", "sh", "-c", &script],
        );
        self.pids = vec![pid];
        super::wait_until("OpenBGPD's control socket", Duration::from_secs(15), || {
            self.bgpctl(lab, &["show", "summary"]).map(|_| ())
        });
        for a in self.announces.iter().filter(|a| a.withdrawable) {
            assert!(
                a.med.is_none()
                    && a.communities.is_empty()
                    && a.large.is_empty()
                    && a.rts.is_empty(),
                "withdrawable OpenBGPD routes are plain"
            );
            if let Err(e) = self.bgpctl(lab, &["network", "add", &a.prefix]) {
                panic!("OpenBGPD network add {}: {e}", a.prefix);
            }
        }
    }

    fn bgpctl(&self, lab: &Lab, args: &[&str]) -> Result<String, String> {
        let sock = lab.path(&format!("{}.bgpd.sock", self.name));
        let bgpctl = which("bgpctl", "openbgpd").to_string_lossy().into_owned();
        let mut v = vec![bgpctl.as_str(), "-s", sock.as_str()];
        v.extend_from_slice(args);
        super::run(&v)
    }

    fn rib_openbgpd(&self, lab: &Lab) -> Result<Vec<Route>, String> {
        let v = json(&self.bgpctl(lab, &["-j", "show", "rib", "detail"])?)?;
        let mut routes = Vec::new();
        for r in v
            .get("rib")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let from = r.pointer("/neighbor/remote_addr").and_then(|s| s.as_str());
            if from != Some(RS_V4) && from != Some(RS_V6) {
                continue;
            }
            let strs = |k: &str| -> Vec<String> {
                r.get(k)
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            };
            routes.push(Route {
                prefix: r
                    .get("prefix")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_string(),
                as_path: r
                    .get("aspath")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .split_whitespace()
                    .filter_map(|a| a.parse().ok())
                    .collect(),
                next_hop: r
                    .get("exit_nexthop")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .to_string(),
                med: r
                    .get("metric")
                    .and_then(|m| m.as_u64())
                    .and_then(|m| u32::try_from(m).ok()),
                communities: strs("communities").iter().filter_map(|c| pair(c)).collect(),
                ext_communities: strs("extended_communities")
                    .iter()
                    .map(|c| c.replacen(' ', ":", 1))
                    .collect(),
                large_communities: strs("large_communities")
                    .iter()
                    .filter_map(|c| triple(c))
                    .collect(),
            });
        }
        Ok(routes)
    }
}

/// `{prefix}x:y` for each pair, joined by `sep`.
fn join_pairs<X: std::fmt::Display, Y: std::fmt::Display>(
    pairs: &[(X, Y)],
    prefix: &str,
    sep: &str,
) -> String {
    let v: Vec<String> = pairs
        .iter()
        .map(|(x, y)| format!("{prefix}{x}:{y}"))
        .collect();
    v.join(sep)
}

/// The ASNs of a JSON list of AS_PATH segments, each holding its ASNs
/// under `key` (FRR: `list`, GoBGP: `asns`), in order.
fn segment_asns(segments: Option<&serde_json::Value>, key: &str) -> Vec<u32> {
    u32s(
        segments
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
            .filter_map(|s| s.get(key).and_then(|l| l.as_array()))
            .flatten(),
    )
}

/// The JSON numbers among `values` that fit in 32 bits, in order.
pub(crate) fn u32s<'a>(values: impl IntoIterator<Item = &'a serde_json::Value>) -> Vec<u32> {
    values
        .into_iter()
        .filter_map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
        .collect()
}

fn json(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "bad JSON ({e}): {}",
            text.chars().take(300).collect::<String>()
        )
    })
}

/// `(64496,100) (64496,101)` or `(rt, 64496, 7)` → the fields of each.
fn bird_tuples(s: &str) -> Vec<Vec<String>> {
    s.split('(')
        .filter_map(|t| t.split_once(')').map(|(inner, _)| inner))
        .map(|inner| inner.split(',').map(|f| f.trim().to_string()).collect())
        .collect()
}
