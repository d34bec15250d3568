//! The flow collector benchmark: sFlow v5 datagrams (encoded with the
//! `flow` crate's simulated switch agent, eight 128-octet sampled headers
//! each, as pmacctd's sfprobe sends them) and IPFIX messages (RFC 7011,
//! encoded here: one template, 24 data records per message, the template
//! repeated every 500 messages) are sent over UDP to 127.0.0.1 at a
//! controlled rate, and each collector's own count is compared with what
//! was sent.
//!
//! The caribix side is the `flow` crate's `Collector` (decoder, member
//! attribution and aggregation) driven by a small UDP loop in this crate,
//! run as a process of its own (`flow-bench collect`): the caribix binary
//! does not collect flows yet. pmacct's `sfacctd` / `nfacctd` run with the
//! `print` plugin (aggregate on protocol, CSV every second); their count is
//! the sum of the PACKETS column, which is the number of flow samples
//! (sFlow, no renormalisation) or of data records (IPFIX, one packet each).
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

use crate::procs::{self, Proc};

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

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x12];

/// An Ethernet/IPv4/TCP frame of `len` octets between the two members.
fn frame(k: u32, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
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
            agent: Agent::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 1000),
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
        m.extend_from_slice(&MAC_A);
        m.extend_from_slice(&MAC_B);
    }
    let len = m.len() as u16;
    if let Some(h) = m.get_mut(2..4) {
        h.copy_from_slice(&len.to_be_bytes());
    }
    m
}

/// Send `proto` to `to` at `rate` samples per second (0: as fast as
/// possible) for `secs`; returns (samples sent, seconds taken).
pub fn send(proto: Proto, to: SocketAddr, rate: u64, secs: f64) -> Result<(u64, f64), String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("udp bind: {e}"))?;
    let per = proto.per_datagram() as u64;
    let start = Instant::now();
    let total = if rate == 0 {
        u64::MAX
    } else {
        ((rate as f64 * secs) as u64).div_ceil(per)
    };
    let mut sent = 0u64;
    let mut live = Source::new(proto);
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
        let d = live.next_datagram();
        if sock.send_to(&d, to).is_ok() {
            sent += 1;
        }
    }
    Ok((sent * per, start.elapsed().as_secs_f64()))
}

/// `flow-bench collect`: the caribix-side collector loop. Receives until
/// no datagram came for `idle`, then prints `samples=N datagrams=N
/// errors=N cpu=SECONDS` on stdout.
pub fn collect(proto: Proto, listen: SocketAddr, idle: Duration) -> Result<String, String> {
    let sock = UdpSocket::bind(listen).map_err(|e| format!("udp bind {listen}: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| format!("udp timeout: {e}"))?;
    let mut members = MemberTable::new();
    members.add_member(64496, "A");
    members.add_member(64497, "B");
    members.add_mac(MacAddr(MAC_A), 64496);
    members.add_mac(MacAddr(MAC_B), 64497);
    let mut c = Collector::new(members);
    let mut buf = vec![0u8; 65536];
    let mut last: Option<Instant> = None;
    let mut datagrams = 0u64;
    let mut errors = 0u64;
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                last = Some(Instant::now());
                datagrams += 1;
                let data = buf.get(..n).unwrap_or(&[]);
                // The clock is read rarely: the decoder only needs it for
                // template expiry and clock skew.
                let now = UnixMillis(t0 + datagrams / 1000);
                let r = match proto {
                    Proto::Sflow => c.ingest_sflow(from.ip(), data, now),
                    Proto::Ipfix => c.ingest_ipfix(from.ip(), data, now),
                };
                if r.is_err() {
                    errors += 1;
                }
            }
            Err(_) => {
                if last.is_some_and(|l| l.elapsed() > idle) {
                    break;
                }
            }
        }
    }
    let k = c.counters();
    let samples = match proto {
        Proto::Sflow => k.sflow_flow_samples,
        Proto::Ipfix => k.data_records,
    };
    Ok(format!(
        "samples={samples} datagrams={datagrams} errors={errors} flow_records={} cpu={:.3}",
        k.flow_records,
        procs::self_cpu_seconds()
    ))
}

/// A collector under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collect {
    /// The `flow` crate in `flow-bench collect`.
    Caribix,
    /// pmacct's sfacctd (sFlow) or nfacctd (IPFIX).
    Pmacct,
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
    /// Collector CPU seconds.
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

fn pmacct_config(proto: Proto, listen: SocketAddr, out: &Path) -> String {
    let d = match proto {
        Proto::Sflow => "sfacctd",
        Proto::Ipfix => "nfacctd",
    };
    format!(
        "! Generated by flow-bench.\ndaemonize: false\n{d}_ip: {}\n{d}_port: {}\nplugins: print[p]\naggregate[p]: proto\nprint_output[p]: csv\nprint_output_file[p]: {}\nprint_output_file_append[p]: true\nprint_refresh_time[p]: 1\n",
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

/// Measure one collector at one rate.
pub fn measure(
    proto: Proto,
    collector: Collect,
    rate: u64,
    secs: f64,
    port: u16,
    dir: &Path,
) -> Result<Measure, String> {
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    let tag = format!("{}-{}-{rate}", proto.name(), name(collector, proto));
    let log = dir.join(format!("{tag}.log"));
    let out_csv = dir.join(format!("{tag}.csv"));
    let _ = fs::remove_file(&out_csv);
    let mut p = match collector {
        Collect::Caribix => {
            let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
            let mut c = Command::new(exe);
            c.args([
                "collect",
                "--proto",
                proto.name(),
                "--listen",
                &listen.to_string(),
            ]);
            Proc::spawn("flow collector", c, &log)?
        }
        Collect::Pmacct => {
            let conf = dir.join(format!("{tag}.conf"));
            fs::write(&conf, pmacct_config(proto, listen, &out_csv))
                .map_err(|e| format!("{}: {e}", conf.display()))?;
            let mut c = Command::new(name(collector, proto));
            c.arg("-f").arg(&conf);
            Proc::spawn(name(collector, proto), c, &log)?
        }
    };
    std::thread::sleep(Duration::from_millis(1500));
    if let Some(st) = p.exited() {
        return Err(format!(
            "{} exited ({st}): {}",
            p.name,
            fs::read_to_string(&log).unwrap_or_default().trim()
        ));
    }
    let cpu0 = p.cpu_seconds();
    let (sent, took) = send(proto, listen, rate, secs)?;
    let (received, cpu) = match collector {
        Collect::Caribix => {
            let end = Instant::now() + Duration::from_secs(30);
            while p.exited().is_none() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
            let text = fs::read_to_string(&log).unwrap_or_default();
            let field = |k: &str| -> Option<String> {
                text.split_whitespace()
                    .find_map(|w| w.strip_prefix(k).map(str::to_string))
            };
            let r: u64 = field("samples=")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("no count from the collector: {text}"))?;
            let c: f64 = field("cpu=").and_then(|v| v.parse().ok()).unwrap_or(0.0);
            (r, c)
        }
        Collect::Pmacct => {
            // Two refreshes of the print plugin after the last datagram.
            std::thread::sleep(Duration::from_millis(3500));
            let cpu = p.cpu_seconds() - cpu0;
            (pmacct_count(&out_csv), cpu)
        }
    };
    drop(p);
    Ok(Measure {
        proto,
        collector,
        rate,
        sent,
        received,
        cpu,
        secs: took,
    })
}

/// Display name of a collector for a protocol.
pub fn name(c: Collect, p: Proto) -> &'static str {
    match (c, p) {
        (Collect::Caribix, _) => "caribix-flow",
        (Collect::Pmacct, Proto::Sflow) => "sfacctd",
        (Collect::Pmacct, Proto::Ipfix) => "nfacctd",
    }
}

/// The report: every measurement, then per protocol the highest offered
/// rate each collector took with nothing lost and its samples per CPU
/// second there, and the ratio.
pub fn report(ms: &[Measure], ceiling: &[(Proto, u64, f64)], secs: f64, cmd: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "\n### Flows — `{cmd}`, {secs} s per rate\n");
    let _ = writeln!(t, "| protocol | collector | offered samples/s | sent | counted | lost | collector CPU s | samples per CPU second |");
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|");
    for m in ms {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.0} |",
            m.proto.name(),
            name(m.collector, m.proto),
            m.rate,
            m.sent,
            m.received,
            m.lost(),
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
    let _ = writeln!(t, "| protocol | collector | highest zero-loss rate, samples/s | samples per CPU second there | ratio caribix / pmacct |");
    let _ = writeln!(t, "|---|---|---|---|---|");
    for proto in [Proto::Sflow, Proto::Ipfix] {
        let best = |c: Collect| {
            ms.iter()
                .filter(|m| m.proto == proto && m.collector == c && m.lost() == 0 && m.sent > 0)
                .max_by_key(|m| m.rate)
        };
        let (a, b) = (best(Collect::Caribix), best(Collect::Pmacct));
        for (c, m) in [(Collect::Caribix, a), (Collect::Pmacct, b)] {
            let ratio = match (c, a, b) {
                (Collect::Caribix, Some(a), Some(b)) if b.per_cpu_second() > 0.0 => {
                    format!("{:.2}", a.per_cpu_second() / b.per_cpu_second())
                }
                _ => String::new(),
            };
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {ratio} |",
                proto.name(),
                name(c, proto),
                m.map(|m| m.rate.to_string())
                    .unwrap_or_else(|| "none".into()),
                m.map(|m| format!("{:.0}", m.per_cpu_second()))
                    .unwrap_or_else(|| "-".into()),
            );
        }
    }
    t
}

/// A scratch directory.
pub fn workdir() -> PathBuf {
    std::env::temp_dir().join(format!("flow-bench-{}", std::process::id()))
}
