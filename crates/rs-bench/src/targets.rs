//! The route servers under test and their equivalent configurations:
//! caribix (`caribix run` with a generated registry file), BIRD 2 (`rs
//! client`, `next hop keep`), GoBGP (`route-server-client`) and OpenBGPD
//! (`transparent-as yes`), plus the sink (a trivial reflector, see `sink`)
//! that measures the load generator's own ceiling.
//!
//! With filtering on, every peer daemon gets the same import rules,
//! written in its own language: bogon prefixes, prefix length (IPv4 8-24,
//! IPv6 12-48), first AS = the member's AS, RPKI origin validation with
//! invalids rejected (RFC 6811, VRPs over RTR from StayRTR, RFC 8210), and
//! the member's IRR prefix list (exact match).
//!
//! Not here: the load, the timing.

use std::fmt::Write as _;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bgp_wire::Prefix;

use crate::plan::{Plan, Vrp, RS_ASN};
use crate::procs::Proc;

/// A route server implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// caribix.
    Caribix,
    /// BIRD 2.
    Bird,
    /// GoBGP.
    Gobgp,
    /// OpenBGPD.
    Openbgpd,
    /// The trivial reflector.
    Sink,
}

impl Kind {
    /// Its name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Caribix => "caribix",
            Kind::Bird => "bird",
            Kind::Gobgp => "gobgp",
            Kind::Openbgpd => "openbgpd",
            Kind::Sink => "sink",
        }
    }

    /// Parse a name.
    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::Caribix,
            Kind::Bird,
            Kind::Gobgp,
            Kind::Openbgpd,
            Kind::Sink,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }
}

/// Where and how a target runs.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Working directory for its files.
    pub dir: PathBuf,
    /// Listen address of the route server.
    pub rs: SocketAddr,
    /// Filtering on.
    pub filtering: bool,
    /// RTR cache address when filtering.
    pub rtr: Option<SocketAddr>,
    /// The caribix binary.
    pub caribix: PathBuf,
    /// Extra environment of the caribix process (`--caribix-env`).
    pub caribix_env: Vec<(String, String)>,
    /// caribix's sFlow listener, when its flow collector runs
    /// (`--flow-rate`).
    pub flows: Option<SocketAddr>,
    /// The peering LAN prefix holding the member addresses.
    pub lan: (Ipv4Addr, u8),
    /// Sessions are on a directly connected LAN (a namespace), not on
    /// loopback addresses.
    pub direct: bool,
}

/// The bogon prefixes every filtering target rejects (RFC 6890 special
/// purpose space that is never globally routed).
pub const BOGONS4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
];

/// IPv6 bogons.
pub const BOGONS6: &[&str] = &[
    "::/8",
    "2001:db8::/32",
    "2002::/16",
    "3ffe::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// Start `kind` for `plan`.
pub fn start(
    kind: Kind,
    plan: &Plan,
    s: &Setup,
    sink_args: &[String],
) -> Result<Vec<Proc>, String> {
    fs::create_dir_all(&s.dir).map_err(|e| format!("{}: {e}", s.dir.display()))?;
    let path = |n: &str| s.dir.join(n);
    let write = |n: &str, text: &str| {
        fs::write(path(n), text).map_err(|e| format!("{}: {e}", path(n).display()))
    };
    let log = path(&format!("{}.log", kind.name()));
    match kind {
        Kind::Caribix => {
            if s.filtering {
                write("irr.rpsl", &caribix_rpsl(plan))?;
            }
            write("caribix.toml", &caribix_config(plan, s))?;
            let mut c = Command::new(&s.caribix);
            c.arg("run").arg(path("caribix.toml"));
            c.env("RUST_LOG", "warn");
            c.envs(s.caribix_env.iter().map(|(k, v)| (k, v)));
            Ok(vec![Proc::spawn("caribix", c, &log)?])
        }
        Kind::Bird => {
            write("bird.conf", &bird_config(plan, s))?;
            let mut c = Command::new("bird");
            c.arg("-f")
                .arg("-c")
                .arg(path("bird.conf"))
                .arg("-s")
                .arg(path("bird.ctl"))
                .arg("-P")
                .arg(path("bird.pid"));
            Ok(vec![Proc::spawn("bird", c, &log)?])
        }
        Kind::Gobgp => {
            write("gobgpd.toml", &gobgp_config(plan, s))?;
            let mut c = Command::new("gobgpd");
            c.arg("-f").arg(path("gobgpd.toml")).args([
                "--api-hosts",
                &gobgp_api(s),
                "-l",
                "warn",
                "--pprof-disable",
            ]);
            Ok(vec![Proc::spawn("gobgpd", c, &log)?])
        }
        Kind::Openbgpd => {
            fs::create_dir_all("/run/openbgpd").map_err(|e| format!("/run/openbgpd: {e}"))?;
            write("bgpd.conf", &openbgpd_config(plan, s))?;
            let mut c = Command::new("bgpd");
            c.arg("-d").arg("-f").arg(path("bgpd.conf"));
            Ok(vec![Proc::spawn("bgpd", c, &log)?])
        }
        Kind::Sink => {
            let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
            let mut c = Command::new(exe);
            c.args(sink_args);
            Ok(vec![Proc::spawn("sink", c, &log)?])
        }
    }
}

/// caribix's web API (read for the RPKI and IRR data state).
fn caribix_web(_s: &Setup) -> String {
    format!("127.0.0.1:{}", 18080 + (std::process::id() % 1000))
}

/// The UDP port of caribix's sFlow listener (`--flow-rate`).
pub fn caribix_sflow_port() -> u16 {
    16343 + (std::process::id() % 1000) as u16
}

/// caribix's count of sFlow flow samples (its `/metrics`), if it answers.
pub fn caribix_flow_samples(s: &Setup) -> Option<u64> {
    let web: SocketAddr = caribix_web(s).parse().ok()?;
    let text = crate::flows::http_get(web, "/metrics").ok()?;
    crate::flows::metric(&text, "caribix_flow_samples", "{kind=\"flow\"}")
}

/// The members' IRR data for caribix: one AS-SET per member holding its
/// AS, and a route/route6 object for every prefix of its IRR list (the
/// list the other daemons get as prefix sets).
fn caribix_rpsl(plan: &Plan) -> String {
    let mut t = String::new();
    for (i, m) in plan.members.iter().enumerate() {
        let _ = writeln!(
            t,
            "as-set: AS-BENCH{i}\nmembers: AS{}\nsource: BENCH\n",
            m.asn
        );
        for p in m.irr_prefixes() {
            let class = match p {
                Prefix::V4(..) => "route",
                Prefix::V6(..) => "route6",
            };
            let _ = writeln!(
                t,
                "{class}: {}\norigin: AS{}\nsource: BENCH\n",
                prefix_text(&p),
                m.asn
            );
        }
    }
    t
}

fn gobgp_api(_s: &Setup) -> String {
    format!("127.0.0.1:{}", 50051 + (std::process::id() % 1000))
}

fn caribix_config(plan: &Plan, s: &Setup) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Generated by rs-bench.\n[ixp]\nshortname = \"BENCH\"\nname = \"rs-bench\"\ncountry = \"GP\"\n"
    );
    let _ = writeln!(
        t,
        "[[peering_lan]]\nname = \"lan\"\nvlan = 10\nipv4 = \"{}/{}\"\nipv6 = \"2001:db8:10::/64\"\n",
        s.lan.0, s.lan.1
    );
    let _ = writeln!(
        t,
        "[[route_server]]\nname = \"rs1\"\nasn = {RS_ASN}\nrouter_id = \"{}\"\nlisten = [\"{}\"]\nhold_time = 240\n",
        s.rs.ip(),
        s.rs
    );
    let _ = writeln!(t, "[web]\nlisten = \"{}\"\n", caribix_web(s));
    if let Some(a) = s.flows {
        // The flow collector, as at an IXP: sFlow from the fabric,
        // aggregates in SQLite; the members carry the MACs of flow-bench's
        // simulated traffic, so every sample is attributed.
        let _ = writeln!(
            t,
            "[flows]\nsflow = \"{a}\"\nstore = \"sqlite:{}\"\n",
            s.dir.join("flows.db").display()
        );
    }
    if s.filtering {
        // The secure defaults (bogons, prefix length 8-24 / 12-48, first
        // AS, next hop, bogon ASNs, AS_PATH length), RPKI origin
        // validation from the same RTR cache as the other daemons (no
        // ASPA: they do not check it), and the member's IRR prefix list
        // (route objects of its AS-SET; origins are not checked, as the
        // others do not).
        let rtr = s
            .rtr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3323)));
        let _ = writeln!(
            t,
            "[policy]\nrpki = {{ rtr = [\"{rtr}\"], aspa = false }}\nirr = {{ rpsl_files = [\"irr.rpsl\"], check_origin = false }}\n"
        );
    } else {
        let _ = writeln!(
            t,
            "[policy]\nipv4_prefix_len = {{ min = 1, max = 32 }}\nipv6_prefix_len = {{ min = 1, max = 128 }}\nmax_as_path_len = 255\nreject_bogon_prefixes = false\nreject_bogon_asns = false\ncheck_first_as = false\ncheck_next_hop = false\n"
        );
    }
    for (i, m) in plan.members.iter().enumerate() {
        let _ = writeln!(
            t,
            "[[member]]\nasn = {}\nname = \"member {i}\"\nipv4 = [\"{}\"]\nipv6 = [\"{}\"]\nmax_prefix = {{ ipv4 = 10000000, ipv6 = 10000000 }}\npassive = true\n{}{}",
            m.asn,
            m.addr,
            m.nh6,
            if s.filtering {
                format!("as_set = \"AS-BENCH{i}\"\n")
            } else {
                String::new()
            },
            match (s.flows, u32::try_from(i)) {
                (Some(_), Ok(i)) if i < crate::flows::MEMBERS => {
                    format!("macs = [\"{}\"]\n", crate::flows::member_mac_text(i))
                }
                _ => String::new(),
            }
        );
    }
    t
}

fn prefix_text(p: &Prefix) -> String {
    format!("{}/{}", p.addr(), p.len())
}

fn bird_config(plan: &Plan, s: &Setup) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "# Generated by rs-bench.\nrouter id {};", s.rs.ip());
    let _ = writeln!(t, "log stderr {{ error, fatal, bug }};");
    let _ = writeln!(t, "protocol device {{ }}");
    if s.filtering {
        let rtr = s
            .rtr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3323)));
        let _ = writeln!(t, "roa4 table r4;\nroa6 table r6;");
        let _ = writeln!(
            t,
            "protocol rpki rpki1 {{ roa4 {{ table r4; }}; roa6 {{ table r6; }}; remote {} port {}; retry keep 5; refresh keep 3600; expire keep 7200; }}",
            rtr.ip(),
            rtr.port()
        );
        let set = |l: &[&str]| {
            l.iter()
                .map(|p| format!("{p}+"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(t, "define BOGONS4 = [ {} ];", set(BOGONS4));
        let _ = writeln!(t, "define BOGONS6 = [ {} ];", set(BOGONS6));
        for (i, m) in plan.members.iter().enumerate() {
            let (mut v4, mut v6) = (Vec::new(), Vec::new());
            for p in m.irr_prefixes() {
                match p {
                    Prefix::V4(..) => v4.push(prefix_text(&p)),
                    Prefix::V6(..) => v6.push(prefix_text(&p)),
                }
            }
            // A BIRD prefix set cannot be empty: an entry that no route
            // can match (it is also a bogon) stands in.
            if v4.is_empty() {
                v4.push("0.0.0.0/32".into());
            }
            if v6.is_empty() {
                v6.push("::/128".into());
            }
            let _ = writeln!(t, "define IRR4_{i} = [ {} ];", v4.join(", "));
            let _ = writeln!(t, "define IRR6_{i} = [ {} ];", v6.join(", "));
            let _ = writeln!(
                t,
                "filter import_{i} {{\n  if bgp_path.first != {asn} then reject;\n  if net.type = NET_IP4 then {{\n    if net ~ BOGONS4 then reject;\n    if net.len < 8 || net.len > 24 then reject;\n    if roa_check(r4, net, bgp_path.last) = ROA_INVALID then reject;\n    if ! (net ~ IRR4_{i}) then reject;\n  }} else {{\n    if net ~ BOGONS6 then reject;\n    if net.len < 12 || net.len > 48 then reject;\n    if roa_check(r6, net, bgp_path.last) = ROA_INVALID then reject;\n    if ! (net ~ IRR6_{i}) then reject;\n  }}\n  accept;\n}}",
                asn = m.asn
            );
        }
    }
    // Every member address is local to the box (one namespace), which
    // BIRD refuses as a `direct` neighbor: sessions are multihop.
    let hop = "multihop";
    let _ = writeln!(
        t,
        "template bgp rsmember {{\n  local {} port {} as {RS_ASN};\n  rs client;\n  {hop};\n  passive on;\n  hold time 240;\n  enforce first as off;\n}}",
        s.rs.ip(),
        s.rs.port()
    );
    for (i, m) in plan.members.iter().enumerate() {
        let imp = if s.filtering {
            format!("filter import_{i}")
        } else {
            "all".to_string()
        };
        let _ = writeln!(
            t,
            "protocol bgp m{i} from rsmember {{\n  neighbor {} as {};\n  ipv4 {{ import {imp}; export all; next hop keep; }};\n  ipv6 {{ import {imp}; export all; next hop keep; }};\n}}",
            m.addr, m.asn
        );
    }
    t
}

fn gobgp_config(plan: &Plan, s: &Setup) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Generated by rs-bench.\n[global.config]\n  as = {RS_ASN}\n  router-id = \"{}\"\n  port = {}\n  local-address-list = [\"{}\"]\n",
        s.rs.ip(),
        s.rs.port(),
        s.rs.ip()
    );
    if s.filtering {
        let rtr = s
            .rtr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3323)));
        let _ = writeln!(
            t,
            "[[rpki-servers]]\n  [rpki-servers.config]\n    address = \"{}\"\n    port = {}\n",
            rtr.ip(),
            rtr.port()
        );
        gobgp_filters(plan, &mut t);
    }
    for m in &plan.members {
        let _ = writeln!(
            t,
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    peer-as = {}\n  [neighbors.timers.config]\n    hold-time = 240\n  [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{}\"\n  [neighbors.route-server.config]\n    route-server-client = true",
            m.addr,
            m.asn,
            s.rs.ip()
        );
        for fam in ["ipv4-unicast", "ipv6-unicast"] {
            let _ = writeln!(
                t,
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{fam}\""
            );
        }
        if s.filtering {
            let _ = writeln!(
                t,
                "  [neighbors.apply-policy.config]\n    import-policy-list = [\"rs_import\"]\n    default-import-policy = \"accept-route\"\n    default-export-policy = \"accept-route\""
            );
        }
        let _ = writeln!(t);
    }
    t
}

fn gobgp_filters(plan: &Plan, t: &mut String) {
    let mut bogon = String::new();
    for (set, list) in [("bogons4", BOGONS4), ("bogons6", BOGONS6)] {
        let _ = writeln!(
            bogon,
            "[[defined-sets.prefix-sets]]\n  prefix-set-name = \"{set}\""
        );
        for p in list {
            let max = if p.contains(':') { 128 } else { 32 };
            let len = p.rsplit('/').next().unwrap_or("0");
            let _ = writeln!(
                bogon,
                "  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"{p}\"\n    masklength-range = \"{len}..{max}\""
            );
        }
    }
    let _ = writeln!(
        bogon,
        "[[defined-sets.prefix-sets]]\n  prefix-set-name = \"badlen4\"\n  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"0.0.0.0/0\"\n    masklength-range = \"25..32\"\n  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"0.0.0.0/0\"\n    masklength-range = \"0..7\""
    );
    let _ = writeln!(
        bogon,
        "[[defined-sets.prefix-sets]]\n  prefix-set-name = \"badlen6\"\n  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"::/0\"\n    masklength-range = \"49..128\"\n  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"::/0\"\n    masklength-range = \"0..11\""
    );
    t.push_str(&bogon);
    for (i, m) in plan.members.iter().enumerate() {
        // GoBGP prefix sets hold one family each.
        for (fam, v6) in [("4", false), ("6", true)] {
            let _ = writeln!(
                t,
                "[[defined-sets.prefix-sets]]\n  prefix-set-name = \"irr{fam}_{i}\""
            );
            let mut any = false;
            for p in m
                .irr_prefixes()
                .filter(|p| matches!(p, Prefix::V6(..)) == v6)
            {
                any = true;
                let _ = writeln!(
                    t,
                    "  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"{}\"",
                    prefix_text(&p)
                );
            }
            if !any {
                let none = if v6 { "::/128" } else { "0.0.0.0/32" };
                let _ = writeln!(
                    t,
                    "  [[defined-sets.prefix-sets.prefix-list]]\n    ip-prefix = \"{none}\""
                );
            }
        }
        let _ = writeln!(
            t,
            "[[defined-sets.bgp-defined-sets.as-path-sets]]\n  as-path-set-name = \"first_{i}\"\n  as-path-list = [\"^{}_\"]",
            m.asn
        );
    }
    for (i, m) in plan.members.iter().enumerate() {
        let _ = writeln!(
            t,
            "[[defined-sets.neighbor-sets]]\n  neighbor-set-name = \"nb_{i}\"\n  neighbor-info-list = [\"{}\"]",
            m.addr
        );
    }
    // In route server mode GoBGP applies import policies per receiving
    // client, so one policy holds every member's rules, keyed by the
    // neighbor the route came from.
    let _ = writeln!(t, "[[policy-definitions]]\n  name = \"rs_import\"");
    let rule = |name: &str, cond: &str| {
        format!(
            "  [[policy-definitions.statements]]\n    name = \"{name}\"\n{cond}\n    [policy-definitions.statements.actions]\n      route-disposition = \"reject-route\"\n"
        )
    };
    for set in ["bogons4", "bogons6", "badlen4", "badlen6"] {
        t.push_str(&rule(
            set,
            &format!("    [policy-definitions.statements.conditions.match-prefix-set]\n      prefix-set = \"{set}\"\n      match-set-options = \"any\""),
        ));
    }
    t.push_str(&rule(
        "rpki",
        "    [policy-definitions.statements.conditions.bgp-conditions]\n      rpki-validation-result = \"invalid\"",
    ));
    for (i, _) in plan.members.iter().enumerate() {
        let nb = format!("    [policy-definitions.statements.conditions.match-neighbor-set]\n      neighbor-set = \"nb_{i}\"\n      match-set-options = \"any\"\n");
        t.push_str(&rule(
            &format!("firstas_{i}"),
            &format!("{nb}    [policy-definitions.statements.conditions.bgp-conditions.match-as-path-set]\n      as-path-set = \"first_{i}\"\n      match-set-options = \"invert\""),
        ));
        // A prefix set of the other family does not match at all, even
        // inverted, so each family needs its own statement.
        for fam in ["4", "6"] {
            t.push_str(&rule(
                &format!("irr{fam}_{i}"),
                &format!("{nb}    [policy-definitions.statements.conditions.match-prefix-set]\n      prefix-set = \"irr{fam}_{i}\"\n      match-set-options = \"invert\""),
            ));
        }
    }
}

fn openbgpd_config(plan: &Plan, s: &Setup) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Generated by rs-bench.\nAS {RS_ASN}\nrouter-id {}\nfib-update no\nlisten on {} port {}\nsocket \"{}\"\n",
        s.rs.ip(),
        s.rs.ip(),
        s.rs.port(),
        s.dir.join("bgpd.sock").display()
    );
    if s.filtering {
        let rtr = s
            .rtr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3323)));
        let _ = writeln!(t, "rtr {} {{\n  port {}\n}}\n", rtr.ip(), rtr.port());
        let _ = writeln!(
            t,
            "prefix-set bogons {{ {} }}\n",
            BOGONS4
                .iter()
                .chain(BOGONS6)
                .map(|p| format!("{p} or-longer"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        for (i, m) in plan.members.iter().enumerate() {
            let list: Vec<String> = m.irr_prefixes().map(|p| prefix_text(&p)).collect();
            let _ = writeln!(t, "prefix-set irr_{i} {{ {} }}", list.join(" "));
        }
        let _ = writeln!(t);
    }
    let _ = writeln!(
        t,
        "group \"members\" {{\n  transparent-as yes\n  passive\n  holdtime 240\n  announce IPv4 unicast\n  announce IPv6 unicast\n  enforce neighbor-as no"
    );
    for (i, m) in plan.members.iter().enumerate() {
        let _ = writeln!(
            t,
            "  neighbor {} {{\n    remote-as {}\n    descr \"m{i}\"\n  }}",
            m.addr, m.asn
        );
    }
    let _ = writeln!(t, "}}\n");
    let _ = writeln!(t, "allow to any");
    if s.filtering {
        // OpenBGPD evaluates every rule and the last match wins; with no
        // match a route is denied. Allow each member's IRR list when the
        // first AS is the member's, then deny what the other checks catch.
        for (i, m) in plan.members.iter().enumerate() {
            let _ = writeln!(
                t,
                "allow from {} peer-as {} prefix-set irr_{i}",
                m.addr, m.asn
            );
        }
        let _ = writeln!(t, "deny from any prefix-set bogons");
        let _ = writeln!(t, "deny from any inet prefixlen > 24");
        let _ = writeln!(t, "deny from any inet prefixlen < 8");
        let _ = writeln!(t, "deny from any inet6 prefixlen > 48");
        let _ = writeln!(t, "deny from any inet6 prefixlen < 12");
        let _ = writeln!(t, "deny from any ovs invalid");
    } else {
        let _ = writeln!(t, "allow from any");
    }
    t
}

/// The VRPs as rpki-client's JSON, which StayRTR reads.
pub fn vrps_json(vrps: &[Vrp]) -> String {
    let mut t = String::from("{\"metadata\":{\"buildtime\":\"2026-11-23T00:00:00Z\"},\"roas\":[\n");
    for (k, v) in vrps.iter().enumerate() {
        let sep = if k + 1 == vrps.len() { "" } else { "," };
        let _ = writeln!(
            t,
            "{{\"prefix\":\"{}\",\"maxLength\":{},\"asn\":\"AS{}\"}}{sep}",
            prefix_text(&v.prefix),
            v.max_len,
            v.asn
        );
    }
    t.push_str("]}\n");
    t
}

/// How long StayRTR may take to load its VRPs and listen.
const RTR_START: Duration = Duration::from_secs(300);

/// Start StayRTR serving `vrps` on `addr`.
pub fn start_rtr(dir: &Path, vrps: &[Vrp], addr: SocketAddr) -> Result<Proc, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join("vrps.json");
    fs::write(&file, vrps_json(vrps)).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut c = Command::new("stayrtr");
    c.arg("-cache")
        .arg(&file)
        .args([
            "-bind",
            &addr.to_string(),
            "-checktime=false",
            "-refresh",
            "3600",
        ])
        .args(["-metrics.addr", ""]);
    let mut p = Proc::spawn("stayrtr", c, &dir.join("stayrtr.log"))?;
    // A client that finds no cache waits for the cache's retry interval
    // (caribix: RFC 8210's default of 600 s) before trying again: start
    // the targets only once the cache answers.
    // StayRTR parses the whole JSON file before it listens: 3.28 million
    // VRPs (large) took over 30 s on the loaded 2-core machine.
    let deadline = std::time::Instant::now() + RTR_START;
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(p);
        }
        if let Some(st) = p.exited() {
            return Err(format!(
                "stayrtr exited ({st}); see {}",
                dir.join("stayrtr.log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "stayrtr did not listen on {addr} within {} s",
        RTR_START.as_secs()
    ))
}

/// How many VRPs the target has loaded, when it can say (`None`: cannot
/// ask).
pub fn loaded_vrps(kind: Kind, s: &Setup) -> Option<u64> {
    let out = match kind {
        Kind::Bird => Command::new("birdc")
            .arg("-s")
            .arg(s.dir.join("bird.ctl"))
            .args(["show", "protocols", "all", "rpki1"])
            .output()
            .ok()?,
        Kind::Gobgp => Command::new("gobgp")
            .args(["-u", "127.0.0.1", "-p"])
            .arg(gobgp_api(s).rsplit(':').next()?)
            .args(["rpki", "server"])
            .output()
            .ok()?,
        Kind::Openbgpd => Command::new("bgpctl")
            .arg("-s")
            .arg(s.dir.join("bgpd.sock"))
            .args(["show", "sets"])
            .output()
            .ok()?,
        Kind::Caribix => return caribix_vrps(s),
        _ => return None,
    };
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    Some(parse_vrp_count(kind, &text))
}

/// VRPs caribix holds, from `/api/v1/policy`; 0 until its IRR data is
/// loaded for every member too (the clock must not start before either).
fn caribix_vrps(s: &Setup) -> Option<u64> {
    use std::io::{Read, Write};
    let addr: SocketAddr = caribix_web(s).parse().ok()?;
    let get = || -> std::io::Result<String> {
        let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        c.set_read_timeout(Some(Duration::from_secs(5)))?;
        c.write_all(b"GET /api/v1/policy HTTP/1.0\r\nHost: rs-bench\r\n\r\n")?;
        let mut body = String::new();
        c.read_to_string(&mut body)?;
        Ok(body)
    };
    // Not up yet: nothing loaded.
    let Ok(text) = get() else { return Some(0) };
    let field = |name: &str| -> Option<u64> {
        let at = text.find(&format!("\"{name}\":"))? + name.len() + 3;
        let digits: String = text
            .get(at..)?
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let members = text.matches("\"as_set\":").count() as u64;
    let with_data = field("members_with_data").unwrap_or(0);
    if members == 0 || with_data < members {
        return Some(0);
    }
    Some(field("vrps").unwrap_or(0))
}

fn parse_vrp_count(kind: Kind, text: &str) -> u64 {
    let nums = |l: &str| -> Vec<u64> {
        l.split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect()
    };
    match kind {
        // "Routes:         300000 imported, ..." once per channel.
        Kind::Bird => text
            .lines()
            .filter(|l| l.trim_start().starts_with("Routes:"))
            .filter_map(|l| nums(l).first().copied())
            .sum(),
        // Columns: Session State Uptime #IPv4/IPv6 records.
        Kind::Gobgp => text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f = l.split_whitespace().last()?;
                let mut it = f.split('/').filter_map(|x| x.parse::<u64>().ok());
                Some(it.next()? + it.next()?)
            })
            .sum(),
        // "RPKI ROA" line: Type Name #IPv4 #IPv6 Last Change.
        Kind::Openbgpd => text
            .lines()
            .filter(|l| l.contains("RPKI ROA"))
            .filter_map(|l| {
                let n = nums(l);
                Some(n.first()? + n.get(1)?)
            })
            .sum(),
        _ => 0,
    }
}
