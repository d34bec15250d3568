//! Running real exporters (pmacctd, softflowd) and tshark, bounded in time,
//! and collecting what they send to a UDP socket on 127.0.0.1.

use super::frames::udp_frame;
use flow::pcap::{PcapWriter, LINKTYPE_ETHERNET};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Finds a program or fails the test with what to install.
pub fn require(program: &str, package: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/bin",
        "/usr/local/sbin",
    ] {
        let p = Path::new(dir).join(program);
        if p.is_file() {
            return p;
        }
    }
    panic!("{program} is missing: install the Debian package {package} (scripts/install-deps)");
}

/// A private temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("caribix-flow-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // CARIBIX_KEEP_TMP=1 keeps captures and logs for a look by hand.
        if std::env::var_os("CARIBIX_KEEP_TMP").is_some() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills the child (by its PID, through the handle) if still running.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A UDP socket on 127.0.0.1 with an ephemeral port.
pub fn listener() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let port = s.local_addr().expect("local addr").port();
    (s, port)
}

/// Runs `cmd`, collecting datagrams from `sock` until the program has exited
/// and nothing arrived for `idle`, or failing after `deadline`.
/// With `must_succeed` a non-zero exit fails the test (pmacctd exits 1 when
/// its plugin finishes first at the end of a pcap, a race that loses no data).
pub fn run_and_collect(
    mut cmd: Command,
    sock: &UdpSocket,
    log: &Path,
    idle: Duration,
    deadline: Duration,
    must_succeed: bool,
) -> Vec<Vec<u8>> {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut guard = Guard(child);
    let start = Instant::now();
    let mut last = Instant::now();
    let mut exited: Option<Instant> = None;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                got.push(buf[..n].to_vec());
                last = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("recv: {e}"),
        }
        if exited.is_none() {
            if let Ok(Some(status)) = guard.0.try_wait() {
                assert!(
                    status.success() || !must_succeed,
                    "{cmd:?} failed with {status}; log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
                exited = Some(Instant::now());
            }
        }
        if let Some(t) = exited {
            if t.elapsed() > idle && last.elapsed() > idle {
                break;
            }
        }
        assert!(
            start.elapsed() < deadline,
            "{cmd:?} did not finish within {deadline:?}; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    got
}

/// Writes datagrams as a pcap of UDP/IPv4 frames to `dport`.
pub fn datagrams_pcap(datagrams: &[Vec<u8>], dport: u16) -> Vec<u8> {
    datagrams_pcap_at(datagrams, dport, 1_700_000_000_000_000)
}

/// Like [`datagrams_pcap`], the first datagram at `start_micros`, the next
/// ones a millisecond apart.
pub fn datagrams_pcap_at(datagrams: &[Vec<u8>], dport: u16, start_micros: u64) -> Vec<u8> {
    let mut w = PcapWriter::new(LINKTYPE_ETHERNET, 65535);
    for (i, d) in datagrams.iter().enumerate() {
        w.packet(
            start_micros + i as u64 * 1000,
            &udp_frame(40000, dport, d, i as u16),
        );
    }
    w.finish()
}

/// Runs tshark on a pcap and returns, per frame, the requested fields
/// (each a list of the occurrences, comma-separated by tshark).
pub fn tshark_fields(pcap: &Path, decode_as: &str, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let tshark = require("tshark", "tshark");
    let mut cmd = Command::new(tshark);
    cmd.arg("-n")
        .arg("-r")
        .arg(pcap)
        .arg("-d")
        .arg(decode_as)
        .arg("-T")
        .arg("fields");
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    cmd.arg("-E")
        .arg("separator=/t")
        .arg("-E")
        .arg("occurrence=a")
        .arg("-E")
        .arg("aggregator=,");
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    String::from_utf8_lossy(&out)
        .lines()
        .map(|line| {
            line.split('\t')
                .map(|f| {
                    if f.is_empty() {
                        Vec::new()
                    } else {
                        f.split(',').map(str::to_string).collect()
                    }
                })
                .collect()
        })
        .collect()
}

/// Runs a command to completion within `limit`, returning its stdout.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Vec<u8> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = TempDir::new(&format!("run-{}", N.fetch_add(1, Ordering::Relaxed)));
    let out_path = dir.path("stdout");
    let out = std::fs::File::create(&out_path).expect("stdout file");
    cmd.stdin(Stdio::null()).stdout(out).stderr(Stdio::null());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut guard = Guard(child);
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = guard.0.try_wait() {
            assert!(status.success(), "{cmd:?} failed: {status}");
            break;
        }
        assert!(
            start.elapsed() < limit,
            "{cmd:?} took longer than {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read(&out_path).expect("read stdout")
}

/// Reads a classic pcap of Ethernet/IPv4/UDP frames (as written by
/// [`datagrams_pcap_at`]) back into (timestamp µs, UDP destination port,
/// payload).
pub fn read_datagrams(pcap: &[u8]) -> Vec<(u64, u16, Vec<u8>)> {
    assert!(
        pcap.len() >= 24 && pcap[..4] == 0xa1b2_c3d4u32.to_le_bytes(),
        "not a little-endian µs pcap"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let word = |o: usize| u32::from_le_bytes(pcap[at + o..at + o + 4].try_into().unwrap());
        let (secs, usecs, incl) = (word(0), word(4), word(8) as usize);
        let frame = &pcap[at + 16..at + 16 + incl];
        assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4 frames only");
        let ihl = usize::from(frame[14] & 0x0f) * 4;
        let udp = &frame[14 + ihl..];
        let dport = u16::from_be_bytes([udp[2], udp[3]]);
        out.push((
            u64::from(secs) * 1_000_000 + u64::from(usecs),
            dport,
            udp[8..].to_vec(),
        ));
        at += 16 + incl;
    }
    out
}

/// Where recorded exporter output lives.
pub fn data_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// Whether tests should rewrite their recorded data and expected outputs.
pub fn updating() -> bool {
    std::env::var_os("CARIBIX_UPDATE_TEST_OUTPUTS").is_some()
}

/// With CARIBIX_UPDATE_TEST_OUTPUTS set, records what a real exporter sent
/// as `tests/data/NAME.pcap` for the replay tests.
pub fn record_fixture(name: &str, datagrams: &[Vec<u8>], dport: u16) {
    if !updating() {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as u64;
    std::fs::create_dir_all(data_dir()).expect("create tests/data");
    let path = data_dir().join(format!("{name}.pcap"));
    std::fs::write(&path, datagrams_pcap_at(datagrams, dport, now)).expect("write fixture");
    eprintln!("recorded {}", path.display());
}
