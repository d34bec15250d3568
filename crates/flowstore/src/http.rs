//! A minimal HTTP/1.1 client for the ClickHouse store: one POST per
//! connection (`Connection: close`), a body of known length, and a response
//! read to the end, de-chunked when the server chunked it. It talks to the
//! operator's own ClickHouse server only, so it does no TLS, redirects or
//! keep-alive; that keeps an HTTP client crate out of the dependency tree.

use crate::StoreError;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest response read (query results are small aggregates).
const MAX_RESPONSE: u64 = 64 << 20;

/// POSTs `body` to `path_and_query` on `host:port` and returns the body of
/// a 200 answer.
pub(crate) fn post(
    host: &str,
    port: u16,
    path_and_query: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, StoreError> {
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| StoreError::Response(format!("{host} has no address")))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let head = format!(
        "POST {path_and_query} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()?;
    let mut raw = Vec::new();
    s.take(MAX_RESPONSE).read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| StoreError::Response("no end of headers".into()))?;
    let (headers, rest) = raw.split_at(split);
    let payload = rest.get(4..).unwrap_or_default();
    let headers = String::from_utf8_lossy(headers);
    let mut lines = headers.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| StoreError::Response("no HTTP status line".into()))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(payload)?
    } else {
        payload.to_vec()
    };
    if status != 200 {
        return Err(StoreError::Clickhouse {
            status,
            message: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    Ok(body)
}

/// Decodes a chunked body (RFC 9112 §7.1), ignoring chunk extensions and
/// trailers.
fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, StoreError> {
    let bad = |m: &str| StoreError::Response(format!("bad chunked body: {m}"));
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("no chunk size line"))?;
        let line = String::from_utf8_lossy(b.get(..eol).unwrap_or_default()).into_owned();
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("chunk size"))?;
        b = b.get(eol + 2..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        let chunk = b.get(..size).ok_or_else(|| bad("short chunk"))?;
        out.extend_from_slice(chunk);
        b = b
            .get(size + 2..)
            .ok_or_else(|| bad("no CRLF after chunk"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks() {
        let b = b"4\r\nWiki\r\n6;x=y\r\npedia \r\n0\r\n\r\n";
        assert_eq!(dechunk(b).unwrap(), b"Wikipedia ");
        assert!(dechunk(b"4\r\nWi").is_err());
        assert!(dechunk(b"zz\r\n").is_err());
    }
}
