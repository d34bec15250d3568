//! Replay tests: each file in `tests/replay/` is a script of inputs, with
//! the outputs expected after each one. Run with
//! `BGP_SESSION_UPDATE_REPLAYS=1` to rewrite the expected outputs from what
//! the code does now (then read the diff: it is the review).
//!
//! Script format, one item per line:
//! - `# text`: a comment, kept when rewriting;
//! - `config key=value ...`: the session configuration (before any step);
//! - `at SECONDS INPUT`: feed INPUT at the fake time base + SECONDS;
//! - `  OUTPUT` (two spaces): an output expected from the step above.
//!
//! Inputs: `ManualStart`, `AutomaticStart`, `ManualStop SUB [TEXT]`,
//! `AutomaticStop SUB [TEXT]`, `Timer NAME`, `TcpConnected in|out`,
//! `TcpConnectionFails`, `OpenCollisionDump`, `SendRouteRefresh v4|v6`,
//! `SendUpdate HEX`, and `Recv ITEM [+ ITEM ...]` where the items are
//! concatenated into one chunk: `keepalive`, `hex:HEX`,
//! `notification:CODE:SUB[:TEXT]`, `eor` (IPv4 End-of-RIB UPDATE),
//! `update-bad-withdrawn-len`, `update-size:N`, `rr:AFI:SAFI:SUBTYPE`, `open k=v ...` (must be the
//! last item; keys below in `peer_open`).

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use bgp_session::{Config, Direction, Input, Output, Session, Timer};
use bgp_wire::message::{msg_type, write_message, write_notification, write_open};
use bgp_wire::{AddPathMode, Afi, Capability, Family, FamilySet, Notification, Open, Role, Safi};

fn family_set(v: &str) -> FamilySet {
    let mut s = FamilySet::EMPTY;
    for f in v.split(',') {
        match f {
            "v4" => s.insert(Family::Ipv4Unicast),
            "v6" => s.insert(Family::Ipv6Unicast),
            "" | "none" => {}
            x => panic!("unknown family {x}"),
        }
    }
    s
}

fn role(v: &str) -> Option<Role> {
    Some(match v {
        "none" => return None,
        "route-server" => Role::RouteServer,
        "rs-client" => Role::RouteServerClient,
        "provider" => Role::Provider,
        "customer" => Role::Customer,
        "peer" => Role::Peer,
        x => Role::Other(x.parse().expect("role code")),
    })
}

fn config(line: &str) -> Config {
    let mut c = Config::new(64500, Ipv4Addr::new(192, 0, 2, 1), 65001);
    for kv in line.split_whitespace() {
        let (k, v) = kv.split_once('=').expect("key=value");
        let secs = || Duration::from_secs_f64(v.parse().expect("seconds"));
        match k {
            "passive" => c.passive = v == "true",
            "hold" => c.hold_time = v.parse().expect("hold"),
            "connect_retry" => c.connect_retry = secs(),
            "delay_open" => c.delay_open = Some(secs()),
            "restart" => c.restart_delay = (v != "none").then(secs),
            "damp" => c.damp_restarts = v == "true",
            "restart_max" => c.restart_delay_max = secs(),
            "role" => c.role = role(v),
            "strict_role" => c.strict_role = v == "true",
            "local_as" => c.local_as = v.parse().expect("as"),
            "peer_as" => c.peer_as = v.parse().expect("as"),
            "families" => c.families = family_set(v),
            "addpath_send" => c.add_path_send = family_set(v),
            "addpath_recv" => c.add_path_receive = family_set(v),
            "ext_msg" => c.extended_messages = v == "true",
            x => panic!("unknown config key {x}"),
        }
    }
    c
}

/// The peer's OPEN: `as=` (default 65001), `my_as=` (2-octet field,
/// default the AS or AS_TRANS), `no-as4`, `hold=` (default 90), `id=`
/// (default 10.0.0.2), `role=` (default rs-client, `none` for no role),
/// `mp=v4,v6|none` (default v4,v6), `rr`, `err`, `ext-msg`,
/// `addpath=v4:send,v6:both`, `gr=SECONDS`, `param=TYPE`, `version=N`.
fn peer_open(args: &str) -> Vec<u8> {
    let mut asn = 65001u32;
    let mut my_as = None;
    let mut as4 = true;
    let mut hold = 90u16;
    let mut id = Ipv4Addr::new(10, 0, 0, 2);
    let mut role_cap = Some(Role::RouteServerClient);
    let mut mp = FamilySet::BOTH;
    let mut extra = Vec::new();
    let mut params = Vec::new();
    let mut version = 4u8;
    for kv in args.split_whitespace() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "as" => asn = v.parse().expect("as"),
            "my_as" => my_as = Some(v.parse::<u16>().expect("my_as")),
            "no-as4" => as4 = false,
            "hold" => hold = v.parse().expect("hold"),
            "id" => id = v.parse().expect("id"),
            "role" => role_cap = role(v),
            "mp" => mp = family_set(v),
            "rr" => extra.push(Capability::RouteRefresh),
            "err" => extra.push(Capability::EnhancedRouteRefresh),
            "ext-msg" => extra.push(Capability::ExtendedMessage),
            "addpath" => {
                let list = v
                    .split(',')
                    .map(|e| {
                        let (f, m) = e.split_once(':').expect("family:mode");
                        let fam = family_set(f).iter().next().expect("family");
                        let mode = match m {
                            "send" => AddPathMode::Send,
                            "recv" => AddPathMode::Receive,
                            "both" => AddPathMode::Both,
                            x => panic!("mode {x}"),
                        };
                        (fam.afi(), fam.safi(), mode)
                    })
                    .collect();
                extra.push(Capability::AddPath(list));
            }
            "gr" => extra.push(Capability::GracefulRestart {
                restarting: false,
                notification: false,
                time: v.parse().expect("gr time"),
                families: vec![bgp_wire::open::GracefulRestartFamily {
                    afi: Afi::Ipv4,
                    safi: Safi::Unicast,
                    forwarding_preserved: true,
                }],
            }),
            "param" => params.push((v.parse::<u8>().expect("param type"), vec![1, 2])),
            "version" => version = v.parse().expect("version"),
            x => panic!("unknown open key {x}"),
        }
    }
    let mut caps: Vec<Capability> = mp
        .iter()
        .map(|f| Capability::Multiprotocol(f.afi(), f.safi()))
        .collect();
    caps.extend(extra);
    if let Some(r) = role_cap {
        caps.push(Capability::Role(r));
    }
    if as4 {
        caps.push(Capability::FourOctetAs(asn));
    }
    let mut open = Open {
        version,
        my_as: u16::try_from(asn).unwrap_or(bgp_wire::AS_TRANS),
        hold_time: hold,
        bgp_id: id,
        capabilities: caps,
        other_params: params,
    };
    if let Some(m) = my_as {
        open.my_as = m;
    }
    let mut b = Vec::new();
    write_open(&mut b, &open);
    b
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn recv_bytes(spec: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = spec;
    loop {
        let (item, tail) = match rest.split_once(" + ") {
            Some((a, b)) => (a, Some(b)),
            _ => (rest, None),
        };
        let item = item.trim();
        if let Some(args) = item.strip_prefix("open") {
            out.extend(peer_open(args));
        } else if item == "keepalive" {
            bgp_wire::message::write_keepalive(&mut out);
        } else if let Some(h) = item.strip_prefix("hex:") {
            out.extend(hex(h));
        } else if let Some(n) = item.strip_prefix("notification:") {
            let mut parts = n.splitn(3, ':');
            let code: u8 = parts.next().and_then(|x| x.parse().ok()).expect("code");
            let sub: u8 = parts.next().and_then(|x| x.parse().ok()).expect("subcode");
            let n = match parts.next() {
                Some(text) => Notification::cease(sub, text),
                None => Notification {
                    code,
                    subcode: sub,
                    data: Vec::new(),
                },
            };
            write_notification(&mut out, &n);
        } else if item == "eor" {
            write_message(&mut out, msg_type::UPDATE, |b| {
                b.extend_from_slice(&[0, 0, 0, 0])
            });
        } else if item == "update-bad-withdrawn-len" {
            // Withdrawn Routes Length 16 in a 4-octet body: the NLRI cannot
            // be located, so RFC 7606 §3 leaves only a session reset
            // (UPDATE Message Error / Malformed Attribute List).
            write_message(&mut out, msg_type::UPDATE, |b| {
                b.extend_from_slice(&[0, 16, 0, 0])
            });
        } else if let Some(n) = item.strip_prefix("update-size:") {
            // An UPDATE of exactly N octets: an unknown optional transitive
            // attribute (type 99) pads an End-of-RIB-like message.
            let n: usize = n.parse().expect("size");
            let pad = n - 19 - 4 - 4;
            write_message(&mut out, msg_type::UPDATE, |b| {
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&((pad + 4) as u16).to_be_bytes());
                b.extend_from_slice(&[0xd0, 99]);
                b.extend_from_slice(&(pad as u16).to_be_bytes());
                b.extend(std::iter::repeat_n(0u8, pad));
            });
        } else if let Some(r) = item.strip_prefix("rr:") {
            let v: Vec<u16> = r.split(':').map(|x| x.parse().expect("rr")).collect();
            let (afi, safi, st) = (v[0], v[1] as u8, v[2] as u8);
            write_message(&mut out, msg_type::ROUTE_REFRESH, |b| {
                b.extend_from_slice(&afi.to_be_bytes());
                b.push(st);
                b.push(safi);
            });
        } else {
            panic!("unknown Recv item {item}");
        }
        match tail {
            Some(t) => rest = t,
            None => break,
        }
    }
    out
}

fn timer(name: &str) -> Timer {
    *Timer::ALL
        .iter()
        .find(|t| format!("{t:?}") == name)
        .unwrap_or_else(|| panic!("unknown timer {name}"))
}

/// One output in words; times are relative to the step's `now`.
fn describe(o: &Output, now: Instant) -> String {
    match o {
        Output::Send(b) => match b.get(18).copied() {
            Some(msg_type::OPEN) => "send OPEN".to_string(),
            Some(msg_type::KEEPALIVE) => "send KEEPALIVE".to_string(),
            Some(msg_type::NOTIFICATION) => format!(
                "send NOTIFICATION {}/{} {}",
                b.get(19).copied().unwrap_or(0),
                b.get(20).copied().unwrap_or(0),
                to_hex(b)
            ),
            Some(msg_type::ROUTE_REFRESH) => format!("send ROUTE-REFRESH {}", to_hex(b)),
            Some(msg_type::UPDATE) => format!("send UPDATE {}", to_hex(b)),
            _ => format!("send ?? {}", to_hex(b)),
        },
        Output::Connect => "connect".to_string(),
        Output::Disconnect => "disconnect".to_string(),
        Output::SetTimer(t, at) => format!("set {t:?} +{}s", (*at - now).as_secs_f64()),
        Output::CancelTimer(t) => format!("cancel {t:?}"),
        Output::StateChange { from, to } => format!("state {from} -> {to}"),
        Output::OpenReceived { peer_id, peer_as } => format!("open-received {peer_id} AS{peer_as}"),
        Output::Established(n) => format!(
            "established hold={} keepalive={} families={:?}",
            n.hold_time,
            n.keepalive_interval,
            n.families.iter().collect::<Vec<_>>()
        ),
        Output::Update(b) if b.len() > 64 => format!("update of {} octets", b.len()),
        Output::Update(b) => format!("update {}", to_hex(b)),
        Output::RouteRefresh(r) => format!(
            "route-refresh {}/{} subtype {}",
            r.afi.code(),
            r.safi.code(),
            r.subtype
        ),
        Output::Down(r) => format!("down: {r}"),
    }
}

fn parse_input(s: &str) -> (Input<'static>, Option<Vec<u8>>) {
    let (name, args) = s.split_once(' ').unwrap_or((s, ""));
    let stop = |args: &str| {
        let (sub, msg) = args.split_once(' ').unwrap_or((args, ""));
        (sub.parse::<u8>().expect("subcode"), msg.to_string())
    };
    let input = match name {
        "ManualStart" => Input::ManualStart,
        "AutomaticStart" => Input::AutomaticStart,
        "ManualStop" => {
            let (subcode, message) = stop(args);
            Input::ManualStop { subcode, message }
        }
        "AutomaticStop" => {
            let (subcode, message) = stop(args);
            Input::AutomaticStop { subcode, message }
        }
        "Timer" => Input::TimerExpired(timer(args)),
        "TcpConnected" => Input::TcpConnected(match args {
            "in" => Direction::Inbound,
            "out" => Direction::Outbound,
            x => panic!("direction {x}"),
        }),
        "TcpConnectionFails" => Input::TcpConnectionFails,
        "OpenCollisionDump" => Input::OpenCollisionDump,
        "SendRouteRefresh" => {
            Input::SendRouteRefresh(family_set(args).iter().next().expect("family"))
        }
        "SendUpdate" => Input::SendUpdate(hex(args)),
        "Recv" => return (Input::ManualStart, Some(recv_bytes(args))),
        x => panic!("unknown input {x}"),
    };
    (input, None)
}

/// Run one script; returns the script rewritten with actual outputs.
fn run(script: &str) -> String {
    let base = Instant::now();
    let mut session: Option<Session> = None;
    let mut cfg = config("");
    let mut rewritten = String::new();
    for line in script.lines() {
        if line.starts_with("  ") {
            continue; // expected outputs: regenerated below
        }
        rewritten.push_str(line);
        rewritten.push('\n');
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix("config") {
            cfg = config(c);
            continue;
        }
        let rest = line.strip_prefix("at ").expect("a step starts with `at`");
        let (t, input) = rest.split_once(' ').expect("at SECONDS INPUT");
        let now = base + Duration::from_secs_f64(t.parse().expect("seconds"));
        let s = session.get_or_insert_with(|| Session::new(cfg.clone()).expect("valid config"));
        let (input, bytes) = parse_input(input);
        let outputs = match &bytes {
            Some(b) => s.handle(now, Input::Received(b)),
            None => s.handle(now, input),
        };
        for o in &outputs {
            rewritten.push_str("  ");
            rewritten.push_str(&describe(o, now));
            if matches!(o, Output::Down(_)) {
                // The ConnectRetryCounter after the step (RFC 4271 §8) and the
                // failures that drive damping.
                let st = s.stats();
                let (c, f) = (st.connect_retry_counter, st.consecutive_failures);
                rewritten.push_str(&format!(" [counter {c}, failures {f}]"));
            }
            rewritten.push('\n');
        }
    }
    rewritten
}

#[test]
fn replay_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay");
    let update = std::env::var_os("BGP_SESSION_UPDATE_REPLAYS").is_some();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/replay exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "replay scripts missing in {}",
        dir.display()
    );
    let mut failed = Vec::new();
    for f in &files {
        let script = std::fs::read_to_string(f).expect("read script");
        let actual = run(&script);
        if actual != script {
            if update {
                std::fs::write(f, &actual).expect("write script");
            } else {
                eprintln!(
                    "--- {} expected\n{script}\n+++ actual\n{actual}",
                    f.display()
                );
                failed.push(f.display().to_string());
            }
        }
    }
    assert!(failed.is_empty(), "replay mismatch in {failed:?}");
}
