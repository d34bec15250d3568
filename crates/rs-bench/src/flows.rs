//! The flow collector benchmark: sFlow v5 datagrams (encoded with the
//! `flow` crate's simulated switch agent, eight 128-octet sampled headers
//! each, as pmacctd's sfprobe sends them) and IPFIX messages (RFC 7011,
//! encoded here: one template, 24 data records per message, the template
//! repeated every 500 messages) are sent over UDP to 127.0.0.1 at a ladder
//! of offered rates, and each collector's own count is compared with what
//! was sent. The sampled frames run between [`MEMBERS`] members whose MACs
//! the collectors' configurations carry.
//!
//! Collectors, each started once per protocol and fed the whole ladder
//! (one exporter whose sequence numbers run on, as a real one's do):
//!
//! - `caribix run` (the release binary next to flow-bench, or `--caribix`)
//!   with a generated configuration: a route server, the members with
//!   their MACs, `[flows]` with one listener and a SQLite store. Its count
//!   is its own Prometheus counter on `/metrics` (`caribix_flow_samples`
//!   of kind `flow` for sFlow, `caribix_flow_records` for IPFIX); at the
//!   end of the ladder the store must hold, per member, the counted
//!   samples scaled by the sampling rate (read from
//!   `/api/v1/traffic/members` after the collector's next flush).
//! - pmacct's `sfacctd` / `nfacctd` with the `print` plugin (aggregate on
//!   protocol, CSV every second, appended); their count is the sum of the
//!   PACKETS column: one per sFlow flow sample (no renormalisation) and
//!   one per IPFIX data record (each says one packet). Their socket buffer
//!   (`*_pipe_size`) is asked as large as caribix's.
//! - optionally `flow-loop`: the `flow` crate's `Collector` behind a plain
//!   UDP loop in this binary (`flow-bench collect`), without the daemon.
//!
//! For each step: the collector's count, its CPU time (`utime + stime` of
//! its processes, proc(5)) and the kernel's drop counter of its socket
//! (`/proc/net/udp`) are read before sending and again once its count has
//! stopped moving, so start-up is not in the CPU figure. Lost = sent -
//! counted (kernel drops included).
//!
//! Not here: pcap capture, NetFlow v9 (same decoder paths as IPFIX).

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use flow::sflow::encode::{Agent, SampledFrame};
use flow::{Collector, MacAddr, MemberTable, UnixMillis};

use crate::procs::Proc;

/// Flow samples (sFlow) per datagram.
pub const SFLOW_SAMPLES: usize = 8;
/// Data records (IPFIX) per message.
pub const IPFIX_RECORDS: usize = 24;
/// Template repeated every this many IPFIX messages.
const TEMPLATE_EVERY: usize = 500;
const TEMPLATE_ID: u16 = 256;

/// The export protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// sFlow v5.
    Sflow,
    /// IPFIX.
    Ipfix,
}

impl Proto {
    /// Name.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Sflow => "sflow",
            Proto::Ipfix => "ipfix",
        }
    }

    /// Samples (or records) per datagram.
    pub fn per_datagram(self) -> usize {
        match self {
            Proto::Sflow => SFLOW_SAMPLES,
            Proto::Ipfix => IPFIX_RECORDS,
        }
    }
}

/// Members the traffic runs between (each configured with one MAC).
pub const MEMBERS: u32 = 20;
/// The first member's AS number; the others follow.
const FIRST_ASN: u32 = 65001;
/// sFlow sampling rate the agent announces (caribix scales by it).
pub const SAMPLING_RATE: u32 = 1000;

/// Member `i`'s MAC.
fn mac(i: u32) -> [u8; 6] {
    [0x02, 0, 0, 0, 0x01, (i % MEMBERS) as u8 + 1]
}

/// Member `i`'s MAC as configuration text (`02:00:00:00:01:0b`).
pub fn member_mac_text(i: u32) -> String {
    mac(i)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Source and destination member of sample or record `k` (never the same:
/// 6k + 3 is odd, so k and 7k + 3 differ modulo 20).
fn pair(k: u32) -> (u32, u32) {
    (k % MEMBERS, (k.wrapping_mul(7).wrapping_add(3)) % MEMBERS)
}

/// An Ethernet/IPv4/TCP frame of `len` octets between two members.
fn frame(k: u32, len: usize) -> Vec<u8> {
    let (s, d) = pair(k);
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&mac(d));
    f.extend_from_slice(&mac(s));
    f.extend_from_slice(&[0x08, 0x00]);
    let ip_len = (len - 14) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (ip_len >> 8) as u8,
        ip_len as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend_from_slice(&[198, 51, 100, (k % 200) as u8 + 1]);
    f.extend_from_slice(&[203, 0, 113, (k % 100) as u8 + 1]);
    f.extend_from_slice(&(1024 + (k % 5000) as u16).to_be_bytes());
    f.extend_from_slice(&443u16.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
    f.resize(len, 0xab);
    f
}

/// Builds the datagrams of one protocol, in sending order.
#[derive(Debug)]
pub struct Source {
    proto: Proto,
    agent: Agent,
    frames: Vec<Vec<u8>>,
    sent: usize,
    seq: u32,
}

impl Source {
    /// A source of `proto` datagrams.
    pub fn new(proto: Proto) -> Source {
        Source {
            proto,
            agent: Agent::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, SAMPLING_RATE),
            frames: (0..64).map(|k| frame(k, 1000)).collect(),
            sent: 0,
            seq: 0,
        }
    }

    /// The next datagram.
    pub fn next_datagram(&mut self) -> Vec<u8> {
        let n = self.sent;
        self.sent += 1;
        match self.proto {
            Proto::Sflow => {
                let frames: Vec<SampledFrame<'_>> = (0..SFLOW_SAMPLES)
                    .map(|k| SampledFrame {
                        frame: self
                            .frames
                            .get((n * SFLOW_SAMPLES + k) % 64)
                            .map(Vec::as_slice)
                            .unwrap_or(&[]),
                        input: 1,
                        output: 2,
                    })
                    .collect();
                self.agent.datagram(n as u32, &frames)
            }
            Proto::Ipfix => {
                let d = ipfix_message(self.seq, n, n % TEMPLATE_EVERY == 0);
                self.seq = self.seq.wrapping_add(IPFIX_RECORDS as u32);
                d
            }
        }
    }
}

/// IPFIX fields of the template: (information element, length).
const FIELDS: [(u16, u16); 11] = [
    (8, 4),   // sourceIPv4Address
    (12, 4),  // destinationIPv4Address
    (4, 1),   // protocolIdentifier
    (7, 2),   // sourceTransportPort
    (11, 2),  // destinationTransportPort
    (1, 8),   // octetDeltaCount
    (2, 8),   // packetDeltaCount
    (152, 8), // flowStartMilliseconds
    (153, 8), // flowEndMilliseconds
    (56, 6),  // sourceMacAddress
    (80, 6),  // destinationMacAddress
];

/// One IPFIX message (RFC 7011 §3.1): header, the template set when asked,
/// one data set of `IPFIX_RECORDS` records with one packet each.
fn ipfix_message(seq: u32, n: usize, template: bool) -> Vec<u8> {
    let export = 1_795_000_000u32;
    let mut m = Vec::with_capacity(1500);
    m.extend_from_slice(&10u16.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&export.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&1u32.to_be_bytes());
    if template {
        let len = 4 + 4 + 4 * FIELDS.len();
        m.extend_from_slice(&2u16.to_be_bytes());
        m.extend_from_slice(&(len as u16).to_be_bytes());
        m.extend_from_slice(&TEMPLATE_ID.to_be_bytes());
        m.extend_from_slice(&(FIELDS.len() as u16).to_be_bytes());
        for (ie, l) in FIELDS {
            m.extend_from_slice(&ie.to_be_bytes());
            m.extend_from_slice(&l.to_be_bytes());
        }
    }
    let rec_len: usize = FIELDS.iter().map(|f| usize::from(f.1)).sum();
    m.extend_from_slice(&TEMPLATE_ID.to_be_bytes());
    m.extend_from_slice(&((4 + rec_len * IPFIX_RECORDS) as u16).to_be_bytes());
    let ms = u64::from(export) * 1000;
    for k in 0..IPFIX_RECORDS {
        let i = (n * IPFIX_RECORDS + k) as u32;
        m.extend_from_slice(&[198, 51, 100, (i % 200) as u8 + 1]);
        m.extend_from_slice(&[203, 0, 113, (i % 100) as u8 + 1]);
        m.push(6);
        m.extend_from_slice(&(1024 + (i % 5000) as u16).to_be_bytes());
        m.extend_from_slice(&443u16.to_be_bytes());
        m.extend_from_slice(&1000u64.to_be_bytes());
        m.extend_from_slice(&1u64.to_be_bytes());
        m.extend_from_slice(&(ms - 1000).to_be_bytes());
        m.extend_from_slice(&ms.to_be_bytes());
        let (s, d) = pair(i);
        m.extend_from_slice(&mac(s));
        m.extend_from_slice(&mac(d));
    }
    let len = m.len() as u16;
    if let Some(h) = m.get_mut(2..4) {
        h.copy_from_slice(&len.to_be_bytes());
    }
    m
}

/// Send datagrams of `src` to `to` at `rate` samples per second (0: as
/// fast as possible) for `secs`; returns (samples sent, seconds taken).
pub fn send(src: &mut Source, to: SocketAddr, rate: u64, secs: f64) -> Result<(u64, f64), String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("udp bind: {e}"))?;
    let per = src.proto.per_datagram() as u64;
    let start = Instant::now();
    let total = if rate == 0 {
        u64::MAX
    } else {
        ((rate as f64 * secs) as u64).div_ceil(per)
    };
    let mut sent = 0u64;
    while sent < total {
        let el = start.elapsed().as_secs_f64();
        if el >= secs {
            break;
        }
        if rate > 0 {
            let due = (el * rate as f64 / per as f64) as u64 + 1;
            if sent >= due {
                std::thread::sleep(Duration::from_micros(50));
                continue;
            }
        }
        // Encoded as it goes, so sequence numbers advance as a real
        // exporter's do (the collectors count gaps).
        let d = src.next_datagram();
        if sock.send_to(&d, to).is_ok() {
            sent += 1;
        }
    }
    Ok((sent * per, start.elapsed().as_secs_f64()))
}

/// The member table of the `flow-loop` collector: every member with its
/// MAC.
fn member_table() -> MemberTable {
    let mut members = MemberTable::new();
    for i in 0..MEMBERS {
        members.add_member(FIRST_ASN + i, format!("M{i}"));
        members.add_mac(MacAddr(mac(i)), FIRST_ASN + i);
    }
    members
}

/// Writes `samples=N` to `path` (through a temporary file, so a reader
/// never sees half a line).
fn write_status(path: &Path, samples: u64) {
    let tmp = path.with_extension("tmp");
    if fs::write(&tmp, format!("samples={samples}\n")).is_ok() {
        let _ = fs::rename(&tmp, path);
    }
}

/// `flow-bench collect`: the `flow-loop` collector. Receives until
/// stopped, writing its running count of samples (sFlow flow samples or
/// IPFIX data records) to `status` every 100 ms.
pub fn collect(proto: Proto, listen: SocketAddr, status: &Path) -> Result<(), String> {
    let sock = UdpSocket::bind(listen).map_err(|e| format!("udp bind {listen}: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| format!("udp timeout: {e}"))?;
    let mut c = Collector::new(member_table());
    let mut buf = vec![0u8; 65536];
    let mut datagrams = 0u64;
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut written = Instant::now();
    let count = |c: &Collector| {
        let k = c.counters();
        match proto {
            Proto::Sflow => k.sflow_flow_samples,
            Proto::Ipfix => k.data_records,
        }
    };
    write_status(status, 0);
    loop {
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            datagrams += 1;
            let data = buf.get(..n).unwrap_or(&[]);
            // The clock is read rarely: the decoder only needs it for
            // template expiry and clock skew.
            let now = UnixMillis(t0 + datagrams / 1000);
            let _ = match proto {
                Proto::Sflow => c.ingest_sflow(from.ip(), data, now),
                Proto::Ipfix => c.ingest_ipfix(from.ip(), data, now),
            };
        }
        if written.elapsed() >= Duration::from_millis(100) {
            write_status(status, count(&c));
            written = Instant::now();
        }
    }
}

/// A collector under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collect {
    /// `caribix run`.
    Caribix,
    /// pmacct's sfacctd (sFlow) or nfacctd (IPFIX).
    Pmacct,
    /// The `flow` crate behind `flow-bench collect` (no daemon).
    FlowLoop,
}

/// Display name of a collector for a protocol.
pub fn name(c: Collect, p: Proto) -> &'static str {
    match (c, p) {
        (Collect::Caribix, _) => "caribix run",
        (Collect::FlowLoop, _) => "flow-loop (flow crate only)",
        (Collect::Pmacct, Proto::Sflow) => "sfacctd",
        (Collect::Pmacct, Proto::Ipfix) => "nfacctd",
    }
}

/// Kernel receive buffer asked for every collector's socket (caribix asks
/// this much of its own; the kernel caps it at `net.core.rmem_max`).
const PIPE_SIZE: usize = 8 << 20;

fn pmacct_config(proto: Proto, listen: SocketAddr, out: &Path) -> String {
    let d = match proto {
        Proto::Sflow => "sfacctd",
        Proto::Ipfix => "nfacctd",
    };
    format!(
        "! Generated by flow-bench.\ndaemonize: false\n{d}_ip: {}\n{d}_port: {}\n{d}_pipe_size: {PIPE_SIZE}\nplugins: print[p]\naggregate[p]: proto\nprint_output[p]: csv\nprint_output_file[p]: {}\nprint_output_file_append[p]: true\nprint_refresh_time[p]: 1\n",
        listen.ip(),
        listen.port(),
        out.display()
    )
}

/// Sum of the PACKETS column of pmacct's CSV output.
fn pmacct_count(out: &Path) -> u64 {
    let text = fs::read_to_string(out).unwrap_or_default();
    let mut col = None;
    let mut sum = 0;
    for line in text.lines() {
        let cells: Vec<&str> = line.split(',').collect();
        if let Some(i) = cells.iter().position(|c| c.trim() == "PACKETS") {
            col = Some(i);
            continue;
        }
        if let Some(v) = col
            .and_then(|i| cells.get(i))
            .and_then(|c| c.trim().parse::<u64>().ok())
        {
            sum += v;
        }
    }
    sum
}

/// The `caribix run` configuration: the members with their MACs and
/// session addresses, a passive route server, the API and one flow
/// listener with a SQLite store in `dir`.
fn caribix_config(
    proto: Proto,
    listen: SocketAddr,
    rs: u16,
    web: SocketAddr,
    dir: &Path,
) -> String {
    let mut t = format!(
        "# Generated by flow-bench.\n[ixp]\nshortname = \"FLOWBENCH\"\nname = \"flow-bench\"\ncountry = \"GP\"\n\n\
         [[peering_lan]]\nname = \"lo\"\nvlan = 10\nipv4 = \"127.0.0.0/8\"\n\n\
         [route_server]\nasn = 64500\nrouter_id = \"127.0.0.1\"\nlisten = [\"127.0.0.1:{rs}\"]\n\n\
         [web]\nlisten = \"{web}\"\n\n\
         [flows]\n{} = \"{listen}\"\nstore = \"sqlite:{}\"\n",
        proto.name(),
        dir.join("flows.db").display()
    );
    for i in 0..MEMBERS {
        let _ = write!(
            t,
            "\n[[member]]\nasn = {}\nname = \"Member {i}\"\nipv4 = [\"127.0.5.{}\"]\nmacs = [\"{}\"]\npassive = true\n",
            FIRST_ASN + i,
            i + 1,
            member_mac_text(i)
        );
    }
    t
}

/// `GET path` from `addr` (HTTP/1.0): the body of a 200 answer.
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let io = |e: std::io::Error| format!("GET http://{addr}{path}: {e}");
    let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(io)?;
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    c.write_all(format!("GET {path} HTTP/1.0\r\nHost: flow-bench\r\n\r\n").as_bytes())
        .map_err(io)?;
    let mut text = String::new();
    c.read_to_string(&mut text).map_err(io)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: no HTTP answer"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "GET {path}: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    Ok(body.to_string())
}

/// The value of the counter `family` (with exactly these labels, `""` for
/// none) in Prometheus text; 0 when the family is declared but that label
/// set has not been counted yet.
pub(crate) fn metric(text: &str, family: &str, labels: &str) -> Option<u64> {
    let want = format!("{family}_total{labels} ");
    let declared = format!("# TYPE {family} counter");
    text.lines()
        .find_map(|l| l.strip_prefix(&want))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .or_else(|| text.lines().any(|l| l == declared).then_some(0))
}

/// Drops the kernel counted on the IPv4 UDP socket bound to `addr`
/// (`/proc/net/udp`, last column), 0 when it is not found.
pub fn kernel_drops(addr: SocketAddr) -> u64 {
    let IpAddr::V4(ip) = addr.ip() else { return 0 };
    // The address in host byte order as hex, then the port.
    let want = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(ip.octets()),
        addr.port()
    );
    let text = fs::read_to_string("/proc/net/udp").unwrap_or_default();
    text.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(want.as_str()))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

/// A running collector, fed one protocol.
#[derive(Debug)]
pub struct Session {
    /// Which collector.
    pub collector: Collect,
    /// Which protocol.
    pub proto: Proto,
    /// Where it listens.
    pub listen: SocketAddr,
    proc: Proc,
    log: PathBuf,
    /// pmacct's CSV or flow-loop's status file.
    out: PathBuf,
    /// caribix's API.
    web: SocketAddr,
}

impl Session {
    /// Starts `collector` for `proto` on 127.0.0.1:`port` (caribix also
    /// uses TCP ports `port` + 1 and + 2) and waits until it answers.
    pub fn start(
        collector: Collect,
        proto: Proto,
        port: u16,
        dir: &Path,
        caribix: &Path,
    ) -> Result<Session, String> {
        let listen = SocketAddr::from(([127, 0, 0, 1], port));
        let web = SocketAddr::from(([127, 0, 0, 1], port.wrapping_add(2)));
        let tag = format!(
            "{}-{}",
            proto.name(),
            name(collector, proto).split(' ').next().unwrap_or("c")
        );
        let sub = dir.join(&tag);
        let _ = fs::remove_dir_all(&sub);
        fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        let log = sub.join("log");
        let out = sub.join("out");
        let proc = match collector {
            Collect::Caribix => {
                let conf = sub.join("caribix.toml");
                fs::write(
                    &conf,
                    caribix_config(proto, listen, port.wrapping_add(1), web, &sub),
                )
                .map_err(|e| format!("{}: {e}", conf.display()))?;
                let mut c = Command::new(caribix);
                c.arg("run").arg(&conf).env("RUST_LOG", "warn");
                Proc::spawn("caribix run", c, &log)?
            }
            Collect::Pmacct => {
                let conf = sub.join("pmacct.conf");
                fs::write(&conf, pmacct_config(proto, listen, &out))
                    .map_err(|e| format!("{}: {e}", conf.display()))?;
                let mut c = Command::new(name(collector, proto));
                c.arg("-f").arg(&conf);
                Proc::spawn(name(collector, proto), c, &log)?
            }
            Collect::FlowLoop => {
                let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
                let mut c = Command::new(exe);
                c.args(["collect", "--proto", proto.name(), "--listen"])
                    .arg(listen.to_string())
                    .arg("--status")
                    .arg(&out);
                Proc::spawn("flow-loop", c, &log)?
            }
        };
        let mut s = Session {
            collector,
            proto,
            listen,
            proc,
            log,
            out,
            web,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            std::thread::sleep(Duration::from_millis(250));
            s.alive()?;
            let ready = match collector {
                Collect::Caribix => s.count().is_ok(),
                Collect::FlowLoop => s.out.exists(),
                // Nothing to ask: its socket exists once it is up.
                Collect::Pmacct => kernel_socket(listen),
            };
            if ready {
                // pmacct's plugin starts after the core's socket.
                std::thread::sleep(Duration::from_millis(1000));
                return Ok(s);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} not ready after 60 s: {}",
                    s.proc.name,
                    s.log_text()
                ));
            }
        }
    }

    fn log_text(&self) -> String {
        let t = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = t.lines().collect();
        lines
            .get(lines.len().saturating_sub(20)..)
            .unwrap_or_default()
            .join("\n")
    }

    fn alive(&mut self) -> Result<(), String> {
        match self.proc.exited() {
            Some(st) => Err(format!(
                "{} exited ({st}): {}",
                self.proc.name,
                self.log_text()
            )),
            None => Ok(()),
        }
    }

    /// Samples counted so far, by the collector's own account.
    pub fn count(&self) -> Result<u64, String> {
        match self.collector {
            Collect::Caribix => {
                let text = http_get(self.web, "/metrics")?;
                let v = match self.proto {
                    Proto::Sflow => metric(&text, "caribix_flow_samples", "{kind=\"flow\"}"),
                    Proto::Ipfix => metric(&text, "caribix_flow_records", ""),
                };
                v.ok_or_else(|| "caribix /metrics: no flow sample counter".to_string())
            }
            Collect::Pmacct => Ok(pmacct_count(&self.out)),
            Collect::FlowLoop => {
                let t =
                    fs::read_to_string(&self.out).map_err(|e| format!("flow-loop status: {e}"))?;
                t.trim()
                    .strip_prefix("samples=")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("flow-loop status: {t:?}"))
            }
        }
    }

    /// How long the count must stay still to be final.
    fn settle(&self) -> Duration {
        match self.collector {
            // The print plugin writes once a second, and lags under load
            // (a shorter wait left counts for the next step).
            Collect::Pmacct => Duration::from_millis(4000),
            _ => Duration::from_millis(750),
        }
    }

    /// CPU seconds of the collector's processes so far.
    pub fn cpu(&self) -> f64 {
        self.proc.cpu_seconds()
    }

    /// Member packets in caribix's store (sum of `out_packets` over the
    /// members at `/api/v1/traffic/members`), once it equals `want` or
    /// after `limit` (the collector writes every 15 s).
    pub fn stored_packets(&self, want: u64, limit: Duration) -> Result<u64, String> {
        let deadline = Instant::now() + limit;
        loop {
            let body = http_get(self.web, "/api/v1/traffic/members")?;
            let got: u64 = body
                .split("\"out_packets\":")
                .skip(1)
                .filter_map(|s| {
                    let d: String = s.chars().take_while(char::is_ascii_digit).collect();
                    d.parse::<u64>().ok()
                })
                .sum();
            if got == want || Instant::now() > deadline {
                return Ok(got);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// True when a UDP socket is bound to `addr` (`/proc/net/udp`).
fn kernel_socket(addr: SocketAddr) -> bool {
    let IpAddr::V4(ip) = addr.ip() else {
        return false;
    };
    let want = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(ip.octets()),
        addr.port()
    );
    fs::read_to_string("/proc/net/udp")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(want.as_str()))
}

/// One measurement.
#[derive(Debug, Clone)]
pub struct Measure {
    /// Protocol.
    pub proto: Proto,
    /// Collector.
    pub collector: Collect,
    /// Offered rate, samples/s (0: unpaced).
    pub rate: u64,
    /// Samples sent.
    pub sent: u64,
    /// Samples the collector counted.
    pub received: u64,
    /// Datagrams the kernel dropped at the collector's socket.
    pub kernel_drops: u64,
    /// Collector CPU seconds over the step.
    pub cpu: f64,
    /// Sending time, seconds.
    pub secs: f64,
}

impl Measure {
    /// Samples lost.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// Samples per CPU second of the collector.
    pub fn per_cpu_second(&self) -> f64 {
        if self.cpu > 0.0 {
            self.received as f64 / self.cpu
        } else {
            0.0
        }
    }
}

/// One step of the ladder: `rate` samples/s from `src` for `secs`, then
/// wait until the collector's count settles (at most 30 s).
pub fn step(s: &mut Session, src: &mut Source, rate: u64, secs: f64) -> Result<Measure, String> {
    s.alive()?;
    let c0 = s.count()?;
    let drops0 = kernel_drops(s.listen);
    let cpu0 = s.cpu();
    let (sent, took) = send(src, s.listen, rate, secs)?;
    let end = Instant::now() + Duration::from_secs(30);
    let mut last = c0;
    let mut moved = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        s.alive()?;
        let c = s.count()?;
        if c != last {
            last = c;
            moved = Instant::now();
        }
        if c.saturating_sub(c0) >= sent || moved.elapsed() >= s.settle() || Instant::now() > end {
            break;
        }
    }
    let cpu = s.cpu() - cpu0;
    Ok(Measure {
        proto: s.proto,
        collector: s.collector,
        rate,
        sent,
        received: last.saturating_sub(c0),
        kernel_drops: kernel_drops(s.listen).saturating_sub(drops0),
        cpu,
        secs: took,
    })
}

/// The report: every step; then per protocol, for each collector, samples
/// per CPU second at the highest rate every collector took with nothing
/// lost (the common rate) and at its own highest zero-loss rate, with the
/// ratio to pmacct's.
pub fn report(
    ms: &[Measure],
    ceiling: &[(Proto, u64, f64)],
    notes: &[String],
    secs: f64,
    cmd: &str,
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "\n### Flows — `{cmd}`, {secs} s per rate\n");
    let _ = writeln!(t, "| protocol | collector | offered samples/s | sent | counted | lost | kernel drops (datagrams) | collector CPU s | samples per CPU second |");
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|");
    for m in ms {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.0} |",
            m.proto.name(),
            name(m.collector, m.proto),
            m.rate,
            m.sent,
            m.received,
            m.lost(),
            m.kernel_drops,
            m.cpu,
            m.per_cpu_second()
        );
    }
    let _ = writeln!(
        t,
        "\nSender ceiling (unpaced, into an unread socket): {}\n",
        ceiling
            .iter()
            .map(|(p, n, s)| format!("{} {:.0} samples/s", p.name(), *n as f64 / s.max(1e-9)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for n in notes {
        let _ = writeln!(t, "{n}\n");
    }
    let _ = writeln!(t, "| protocol | collector | common zero-loss rate | samples per CPU second there | ratio to pmacct there | highest zero-loss rate | samples per CPU second there | ratio to pmacct's at its highest |");
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|");
    for proto in [Proto::Sflow, Proto::Ipfix] {
        let of = |c: Collect| -> Vec<&Measure> {
            ms.iter()
                .filter(|m| m.proto == proto && m.collector == c)
                .collect()
        };
        let clean = |m: &&Measure| m.lost() == 0 && m.sent > 0;
        let cs: Vec<Collect> = [Collect::Caribix, Collect::FlowLoop, Collect::Pmacct]
            .into_iter()
            .filter(|c| !of(*c).is_empty())
            .collect();
        if cs.is_empty() {
            continue;
        }
        // Highest rate every collector took without loss.
        let common = ms
            .iter()
            .filter(|m| m.proto == proto)
            .map(|m| m.rate)
            .filter(|r| {
                cs.iter()
                    .all(|c| of(*c).iter().any(|m| m.rate == *r && clean(m)))
            })
            .max();
        let at = |c: Collect, r: u64| of(c).into_iter().find(|m| m.rate == r && clean(m));
        let best = |c: Collect| of(c).into_iter().filter(clean).max_by_key(|m| m.rate);
        let ratio = |a: Option<&Measure>, b: Option<&Measure>| match (a, b) {
            (Some(a), Some(b)) if b.per_cpu_second() > 0.0 => {
                format!("{:.2}", a.per_cpu_second() / b.per_cpu_second())
            }
            _ => "-".into(),
        };
        for &c in &cs {
            let cm = common.and_then(|r| at(c, r));
            let pm = common.and_then(|r| at(Collect::Pmacct, r));
            let b = best(c);
            let pb = best(Collect::Pmacct);
            let pcs = |m: Option<&Measure>| {
                m.map(|m| format!("{:.0}", m.per_cpu_second()))
                    .unwrap_or_else(|| "-".into())
            };
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                proto.name(),
                name(c, proto),
                common.map_or_else(|| "none".into(), |r| r.to_string()),
                pcs(cm),
                if c == Collect::Pmacct {
                    String::new()
                } else {
                    ratio(cm, pm)
                },
                b.map_or_else(|| "none".into(), |m| m.rate.to_string()),
                pcs(b),
                if c == Collect::Pmacct {
                    String::new()
                } else {
                    ratio(b, pb)
                },
            );
        }
    }
    t
}

/// A scratch directory.
pub fn workdir() -> PathBuf {
    std::env::temp_dir().join(format!("flow-bench-{}", std::process::id()))
}
