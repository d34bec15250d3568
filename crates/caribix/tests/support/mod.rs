//! Helpers shared by the end-to-end tests that run the `caribix` binary:
//! child processes killed by PID when dropped, free loopback ports, a
//! minimal HTTP/1.1 GET, scratch directories, locating the Debian programs
//! the tests drive (a missing one fails the test with the package to
//! install, never skips it), a base `caribix run` configuration, and
//! writing pcap files of Ethernet/IPv4 frames for exporters to replay, and
//! a private ClickHouse server ([`clickhouse`]). The BGP and policy tests
//! add: [`config`] (IXP and member tables), [`proc`] (child lists, numbered
//! `caribix run` logs, SIGHUP), [`api`] (JSON API reads), [`wait`] (bounded
//! polling), [`exabgp`] (recording ExaBGP members) and [`rpki`] (StayRTR,
//! VRP files, a whois server).
//!
//! Not here: anything specific to one test's traffic plan.
#![allow(dead_code, unreachable_pub)]

pub mod api;
pub mod clickhouse;
pub mod config;
pub mod exabgp;
pub mod proc;
pub mod rpki;
pub mod wait;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A child process, killed (by its PID) and reaped when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; bind soon).
pub fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free TCP port on 127.0.0.1")
}

/// A free UDP port on 127.0.0.1.
pub fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port on 127.0.0.1")
}

/// `GET path` on 127.0.0.1:`port`: (status, body), or None when the
/// server did not answer within the timeouts.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// `GET path` parsed as JSON, when the answer is 200 and JSON.
pub fn get_json(port: u16, path: &str) -> Option<serde_json::Value> {
    match get(port, path)? {
        (200, body) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// A fresh scratch directory for test `name` (removed first if a previous
/// run left it). Tests remove it on success and keep it on failure.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("caribix-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create the test directory");
    d
}

/// The first of `paths` that exists; a missing program fails the test.
pub fn require(paths: &[&'static str], package: &str) -> &'static str {
    paths
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!(
                "{} is not installed: run scripts/install-deps (Debian package {package})",
                paths.first().copied().unwrap_or("a needed program")
            )
        })
}

/// pmacctd, from Debian's pmacct.
pub fn pmacctd() -> &'static str {
    require(&["/usr/sbin/pmacctd", "/usr/bin/pmacctd"], "pmacct")
}

/// Unix time now, in microseconds.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn mac_str(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The start of a `caribix run` configuration: one IXP on 127.0.0.0/8,
/// the route server on `rs`, the API on `web`, and then `flows` (a whole
/// `[flows]` section, possibly with `[[flows.router]]` tables). Members
/// are appended by the caller.
pub fn base_config(rs: u16, web: u16, flows: &str) -> String {
    format!(
        r#"[ixp]
shortname = "TEST"
name = "Flow test IXP"
country = "GP"

[[peering_lan]]
name = "lo"
vlan = 10
ipv4 = "127.0.0.0/8"

[route_server]
asn = 64500
router_id = "127.0.0.1"
listen = ["127.0.0.1:{rs}"]

[web]
listen = "127.0.0.1:{web}"

{flows}
"#
    )
}

/// A `[[member]]` table (passive session from `ip`).
pub fn member_config(asn: u32, name: &str, ip: &str, macs: &[[u8; 6]]) -> String {
    let macs: Vec<String> = macs
        .iter()
        .map(|m| format!("\"{}\"", mac_str(*m)))
        .collect();
    format!(
        "\n[[member]]\nasn = {asn}\nname = \"{name}\"\nipv4 = [\"{ip}\"]\nmacs = [{}]\npassive = true\n",
        macs.join(", ")
    )
}

/// `caribix run` of a configuration in a scratch directory, its log in
/// `caribix.log` there.
pub struct Caribix {
    /// The process.
    pub proc: Proc,
    /// Its directory.
    pub dir: PathBuf,
    /// The API port.
    pub web: u16,
}

impl Caribix {
    /// Writes `config` to `dir/caribix.toml`, starts `caribix run` and
    /// waits (at most 30 s) until `probe` answers 200.
    pub fn start(dir: &Path, config: &str, web: u16, probe: &str) -> Caribix {
        let conf = dir.join("caribix.toml");
        std::fs::write(&conf, config).expect("write caribix.toml");
        let log = std::fs::File::create(dir.join("caribix.log")).expect("create caribix.log");
        let proc = Proc(
            Command::new(env!("CARGO_BIN_EXE_caribix"))
                .arg("run")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start caribix run"),
        );
        let c = Caribix {
            proc,
            dir: dir.to_path_buf(),
            web,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(web, probe).map(|r| r.0) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "caribix API not up:\n{}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        c
    }

    /// `GET path` as JSON; fails the test when it does not answer 200.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        get_json(self.web, path)
            .unwrap_or_else(|| panic!("{path} did not answer 200 with JSON:\n{}", self.log()))
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("caribix.log")).unwrap_or_default()
    }

    /// Polls `path` (JSON) every second until `done` says yes or `limit`
    /// passes; on timeout fails with the last answer and the log.
    pub fn poll(
        &self,
        path: &str,
        limit: Duration,
        what: &str,
        mut done: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        let mut last = None;
        loop {
            if let Some(v) = get_json(self.web, path) {
                if done(&v) {
                    return v;
                }
                last = Some(v);
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {path} never got there in {limit:?}; last answer {last:?}\ncaribix log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// Runs pmacctd with the configuration `conf` until it has replayed its
/// pcap and exited (at most 60 s), its output in `log`. At the end of a
/// file pmacctd's core and plugins shut down in a race: when the plugin
/// goes first, the core says "no more plugins active" and exits 1 after
/// everything was exported. That exit is accepted; any other failure
/// fails the test.
pub fn run_pmacctd(conf: &Path, log: &Path) {
    let mut cmd = Command::new(pmacctd());
    cmd.arg("-f").arg(conf);
    run_with(cmd, log, Duration::from_secs(60), |text| {
        text.contains("no more plugins active. Shutting down.")
    });
}

/// Runs a program until it exits by itself (at most `limit`), its output
/// in `log`; fails the test when it does not finish or exits non-zero.
pub fn run_to_exit(cmd: Command, log: &Path, limit: Duration) {
    run_with(cmd, log, limit, |_| false);
}

/// [`run_to_exit`], accepting a non-zero exit when `benign` says so of
/// the log.
fn run_with(mut cmd: Command, log: &Path, limit: Duration, benign: impl Fn(&str) -> bool) {
    let out = std::fs::File::create(log).expect("create the log file");
    let err = out.try_clone().expect("clone the log file");
    let mut p = Proc(
        cmd.stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}")),
    );
    let deadline = Instant::now() + limit;
    loop {
        match p.0.try_wait() {
            Ok(Some(status)) => {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                assert!(
                    status.success() || benign(&text),
                    "{cmd:?} exited with {status}:\n{text}"
                );
                return;
            }
            Ok(None) => {}
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "{cmd:?} did not finish in {limit:?}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An Ethernet II / IPv4 frame: `payload` after a 20-octet IPv4 header of
/// protocol `proto` (checksum left zero: exporters do not check it).
pub fn ipv4_frame(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let total = u16::try_from(20 + l4.len()).expect("an IPv4 packet under 64 KiB");
    let mut f = Vec::with_capacity(34 + l4.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(l4);
    f
}

/// A UDP header and `n` octets of payload.
pub fn udp(sport: u16, dport: u16, n: usize) -> Vec<u8> {
    let len = u16::try_from(8 + n).expect("a UDP datagram under 64 KiB");
    let mut u = Vec::with_capacity(8 + n);
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.resize(8 + n, 0xab);
    u
}

/// A TCP header (data offset 5, flags `flags`) and `n` octets of payload.
pub fn tcp(sport: u16, dport: u16, flags: u8, n: usize) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + n);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.resize(20 + n, 0xcd);
    t
}

/// Exports a member border router's flows with pmacctd, IPFIX or NetFlow v9:
/// the router's own MAC is `own_mac`, and `neighbours` give, by the MAC at
/// the other end, the ifIndex of the port a frame crossed (IXP port,
/// transit, ...). Two `nfprobe` plugins take the frames the router sent
/// (output ifIndex) and received (input ifIndex); a pre-tag map finds the
/// ifIndex from the MACs.
#[allow(clippy::too_many_arguments)]
pub fn pmacct_router_export(
    dir: &Path,
    name: &str,
    pcap: &Path,
    own_mac: [u8; 6],
    neighbours: &[([u8; 6], u32)],
    version: u8,
    source: &str,
    port: u16,
) {
    // Frames the router sent (to a neighbour) get tag = the output
    // ifIndex; frames it received (from a neighbour) get tag2 = the input
    // ifIndex. Each plugin takes its half.
    let mut map = String::new();
    for (mac, ifindex) in neighbours {
        map += &format!(
            "set_tag={ifindex} filter='ether dst {} and ether src {}'\n",
            mac_str(*mac),
            mac_str(own_mac)
        );
    }
    for (mac, ifindex) in neighbours {
        map += &format!(
            "set_tag2={ifindex} filter='ether src {} and ether dst {}'\n",
            mac_str(*mac),
            mac_str(own_mac)
        );
    }
    let map_path = dir.join(format!("{name}-pretag.map"));
    std::fs::write(&map_path, map).expect("write the pre-tag map");
    let tags: Vec<String> = neighbours.iter().map(|(_, i)| i.to_string()).collect();
    let keys = "src_mac, dst_mac, src_host, dst_host, src_port, dst_port, proto, tos";
    let conf = format!(
        "daemonize: false
pcap_savefile: {pcap}
pre_tag_map: {map}
plugins: nfprobe[out], nfprobe[in]
nfprobe_receiver[out]: 127.0.0.1:{port}
nfprobe_receiver[in]: 127.0.0.1:{port}
nfprobe_source_ip[out]: {source}
nfprobe_source_ip[in]: {source}
nfprobe_version[out]: {version}
nfprobe_version[in]: {version}
nfprobe_engine[out]: 1
nfprobe_engine[in]: 2
nfprobe_direction[out]: out
nfprobe_direction[in]: in
nfprobe_ifindex[out]: tag
nfprobe_ifindex[in]: tag2
pre_tag_filter[out]: {tags}
pre_tag_filter[in]: 0
aggregate[out]: {keys}, tag
aggregate[in]: {keys}, tag2
",
        pcap = pcap.display(),
        map = map_path.display(),
        tags = tags.join(","),
    );
    let conf_path = dir.join(format!("{name}-pmacctd.conf"));
    std::fs::write(&conf_path, conf).expect("write the pmacctd config");
    run_pmacctd(&conf_path, &dir.join(format!("{name}-pmacctd.log")));
}
