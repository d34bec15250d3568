//! A client for IRRd's whois query language over TCP.
//!
//! IRRd (and compatible servers such as bgpq4's peers) answer `!`-queries
//! with a small framing: `A<length>` followed by `length` bytes of data
//! and a line `C` (success with data); `C` alone (success, no data); `D`
//! (key not found); `E` (multiple copies of a key); `F <message>` (error).
//! The queries used here are `!!` (keep the connection open for several
//! queries), `!sRIPE,ARIN` (which IRR sources to search, in order; sent
//! once per connection when sources are configured), `!iAS-SET,1` (the
//! recursively expanded members of an as-set), `!gAS65001` (IPv4 prefixes
//! of route objects with that origin) and `!6AS65001` (IPv6 prefixes of
//! route6 objects).
//!
//! Every read has a timeout and every answer a size limit, so a slow or
//! hostile server can delay a refresh but neither hang nor exhaust it.
//! Not implemented: RPSL object queries (`-r`-style text queries) and
//! `!a` set-to-prefix queries.

use std::time::Duration;

use bgp_wire::Prefix;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::rpsl::{is_as_set_name, parse_asn};

/// The largest answer accepted (bytes).
pub const MAX_ANSWER: usize = 64 << 20;
/// The longest status line accepted (bytes).
const MAX_LINE: usize = 4096;

/// A whois query failed.
#[derive(Debug)]
pub enum WhoisError {
    /// Connecting, reading or writing failed.
    Io(std::io::Error),
    /// No answer within the timeout.
    Timeout,
    /// The server answered with `F`.
    Server(String),
    /// The answer did not follow the framing.
    Framing(String),
    /// The answer was framed correctly but its content is not what the
    /// query asks for (e.g. a non-prefix in a `!g` answer).
    Content(String),
    /// The argument is not a valid AS or as-set name.
    BadArgument(String),
}

impl std::fmt::Display for WhoisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WhoisError::Io(e) => write!(f, "whois connection: {e}"),
            WhoisError::Timeout => f.write_str("whois server did not answer in time"),
            WhoisError::Server(m) => write!(f, "whois server error: {m}"),
            WhoisError::Framing(m) => write!(f, "whois answer malformed: {m}"),
            WhoisError::Content(m) => write!(f, "whois answer unusable: {m}"),
            WhoisError::BadArgument(m) => write!(f, "not a valid query argument: {m:?}"),
        }
    }
}

impl std::error::Error for WhoisError {}

/// A whois client; with persistent mode it keeps one connection for all
/// queries and reconnects when it breaks.
#[derive(Debug)]
pub struct WhoisClient {
    addr: String,
    timeout: Duration,
    persistent: bool,
    sources: Vec<String>,
    conn: Option<BufReader<TcpStream>>,
}

impl WhoisClient {
    /// A client for `addr` ("host:port") with a per-operation timeout,
    /// using `!!` persistent connections.
    pub fn new(addr: impl Into<String>, timeout: Duration) -> WhoisClient {
        WhoisClient {
            addr: addr.into(),
            timeout,
            persistent: true,
            sources: Vec::new(),
            conn: None,
        }
    }

    /// Ask the server to search these IRR sources, in this order (`!s`),
    /// on every new connection. Names are letters, digits, `-` and `_`;
    /// others are refused at query time with `BadArgument`.
    pub fn with_sources(mut self, sources: Vec<String>) -> WhoisClient {
        self.sources = sources;
        self
    }

    /// One connection per query instead of `!!`.
    pub fn one_shot(mut self) -> WhoisClient {
        self.persistent = false;
        self
    }

    async fn timed<T>(
        &self,
        f: impl std::future::Future<Output = std::io::Result<T>>,
    ) -> Result<T, WhoisError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r.map_err(WhoisError::Io),
            Err(_) => Err(WhoisError::Timeout),
        }
    }

    async fn connection(&mut self) -> Result<BufReader<TcpStream>, WhoisError> {
        if let Some(c) = self.conn.take() {
            return Ok(c);
        }
        let sock = self.timed(TcpStream::connect(self.addr.as_str())).await?;
        let mut c = BufReader::new(sock);
        if self.persistent {
            self.timed(c.get_mut().write_all(b"!!\n")).await?;
        }
        if !self.sources.is_empty() {
            let ok = self.sources.iter().all(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
            if !ok {
                return Err(WhoisError::BadArgument(self.sources.join(",")));
            }
            let q = format!("!s{}", self.sources.join(","));
            // IRRd answers `C` when every source is known, `D`/`F` otherwise.
            if self.exchange(&mut c, &q).await?.is_none() {
                return Err(WhoisError::Server(format!(
                    "unknown IRR source in {}",
                    self.sources.join(",")
                )));
            }
        }
        Ok(c)
    }

    /// Sends one `!`-query and returns its data: `Some(text)` for `A`/`C`
    /// answers, `None` for `D` (not found).
    pub async fn query(&mut self, q: &str) -> Result<Option<String>, WhoisError> {
        if q.contains(['\n', '\r']) {
            return Err(WhoisError::BadArgument(q.to_string()));
        }
        let mut c = self.connection().await?;
        let r = self.exchange(&mut c, q).await;
        // Keep the connection only after a complete, framed answer.
        if self.persistent && r.is_ok() {
            self.conn = Some(c);
        }
        r
    }

    async fn read_line(&self, c: &mut BufReader<TcpStream>) -> Result<String, WhoisError> {
        let mut buf = Vec::new();
        let n = self
            .timed(async {
                let mut limited = (&mut *c).take(MAX_LINE as u64);
                limited.read_until(b'\n', &mut buf).await
            })
            .await?;
        if n == 0 {
            return Err(WhoisError::Framing(
                "connection closed before the answer".into(),
            ));
        }
        if buf.last() != Some(&b'\n') {
            return Err(WhoisError::Framing(format!(
                "status line longer than {MAX_LINE} bytes"
            )));
        }
        Ok(String::from_utf8_lossy(&buf)
            .trim_end_matches(['\r', '\n'])
            .to_string())
    }

    async fn exchange(
        &self,
        c: &mut BufReader<TcpStream>,
        q: &str,
    ) -> Result<Option<String>, WhoisError> {
        self.timed(c.get_mut().write_all(format!("{q}\n").as_bytes()))
            .await?;
        let mut line = self.read_line(c).await?;
        // Some servers send a blank line between answers.
        while line.is_empty() {
            line = self.read_line(c).await?;
        }
        let (code, rest) = line.split_at(1.min(line.len()));
        match code {
            "A" => {
                let len: usize = rest
                    .trim()
                    .parse()
                    .map_err(|_| WhoisError::Framing(format!("bad length line {line:?}")))?;
                if len > MAX_ANSWER {
                    return Err(WhoisError::Framing(format!(
                        "answer of {len} bytes exceeds the limit"
                    )));
                }
                let mut data = vec![0u8; len];
                self.timed(c.read_exact(&mut data)).await?;
                // The length may or may not count the final newline.
                let mut end = self.read_line(c).await?;
                while end.is_empty() {
                    end = self.read_line(c).await?;
                }
                if end != "C" {
                    return Err(WhoisError::Framing(format!(
                        "expected C after the data, got {end:?}"
                    )));
                }
                // Trimmed in place: an answer can be tens of megabytes.
                let mut text = match String::from_utf8(data) {
                    Ok(t) => t,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                text.truncate(text.trim_end().len());
                let lead = text.len() - text.trim_start().len();
                text.drain(..lead);
                Ok(Some(text))
            }
            "C" => Ok(Some(String::new())),
            "D" => Ok(None),
            "E" => Err(WhoisError::Server("multiple copies of the key".into())),
            "F" => Err(WhoisError::Server(rest.trim().to_string())),
            _ => Err(WhoisError::Framing(format!("unknown answer line {line:?}"))),
        }
    }

    /// `!iSET,1`: the AS numbers of a recursively expanded as-set. `None`
    /// when the set does not exist.
    pub async fn expand_as_set(&mut self, set: &str) -> Result<Option<Vec<u32>>, WhoisError> {
        if !is_as_set_name(set) {
            return Err(WhoisError::BadArgument(set.to_string()));
        }
        let Some(text) = self.query(&format!("!i{set},1")).await? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for token in text.split_whitespace() {
            match parse_asn(token) {
                Some(a) => out.push(a),
                // IRRd lists unresolvable nested set names as they are.
                None if is_as_set_name(token) => {}
                None => {
                    return Err(WhoisError::Content(format!(
                        "{token:?} in the members of {set}"
                    )))
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(Some(out))
    }

    async fn prefixes(&mut self, cmd: char, asn: u32, v6: bool) -> Result<Vec<Prefix>, WhoisError> {
        let Some(text) = self.query(&format!("!{cmd}AS{asn}")).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for token in text.split_whitespace() {
            let p: Prefix = token
                .parse()
                .map_err(|e| WhoisError::Content(format!("{token:?} for AS{asn}: {e}")))?;
            if matches!(p, Prefix::V6(..)) != v6 {
                return Err(WhoisError::Content(format!(
                    "{p} in the wrong family for !{cmd}"
                )));
            }
            out.push(p);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// `!gASn`: IPv4 prefixes of route objects with origin `asn`.
    pub async fn prefixes_v4(&mut self, asn: u32) -> Result<Vec<Prefix>, WhoisError> {
        self.prefixes('g', asn, false).await
    }

    /// `!6ASn`: IPv6 prefixes of route6 objects with origin `asn`.
    pub async fn prefixes_v6(&mut self, asn: u32) -> Result<Vec<Prefix>, WhoisError> {
        self.prefixes('6', asn, true).await
    }
}
