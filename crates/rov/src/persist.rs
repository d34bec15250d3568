//! The on-disk copy of the RPKI data.
//!
//! After every update from a cache the client writes the whole table to
//! `<cache_dir>/rpki-vrps.txt`, replacing it atomically (write to a
//! temporary file in the same directory, flush to disk, rename). At start
//! the file is loaded if it is younger than the RTR expire interval it
//! records (RFC 8210 §6: data older than Expire must not be used).
//!
//! The format is line-oriented text, easy to read and to diff:
//!
//! ```text
//! caribix-rpki 1
//! written 1763892000        # Unix time of the last successful sync
//! expire 7200               # the cache's Expire Interval, seconds
//! source 127.0.0.1:3323     # where the data came from (informational)
//! roa 192.0.2.0/24 24 64496 # prefix, max length, origin AS
//! aspa 64496 64510 64511    # customer AS, then its providers
//! ```
//!
//! Blank lines and text after `#` are ignored. Any other line is an error
//! with its line number. The file is written and read through buffers, a
//! line at a time: neither direction holds the whole text in memory
//! (3.3 million VRPs make a file of about 93 MiB). This module does no
//! networking.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aspa::AspaTable;
use crate::vrp::{Changes, Vrp, VrpTable};

/// The file name inside the cache directory.
pub const FILE_NAME: &str = "rpki-vrps.txt";

/// What the file holds besides the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persisted {
    /// When the data was last synchronised with a cache.
    pub written: SystemTime,
    /// The Expire Interval the cache gave (RFC 8210 §6).
    pub expire: Duration,
    /// The cache the data came from.
    pub source: String,
}

impl Persisted {
    /// True when the data may no longer be used at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        match now.duration_since(self.written) {
            Ok(age) => age > self.expire,
            // Written in the future (clock change): trust it no longer than
            // the interval from now on would allow; treat as fresh.
            Err(_) => false,
        }
    }
}

/// The file could not be read or written.
#[derive(Debug)]
pub enum PersistError {
    /// An I/O error on the file.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A line could not be understood.
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for PersistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PersistError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            PersistError::Syntax { path, line, reason } => {
                write!(f, "{}:{line}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for PersistError {}

/// Writes the table atomically to `path`.
pub fn save(path: &Path, table: &VrpTable, meta: &Persisted) -> Result<(), PersistError> {
    let io = |error| PersistError::Io {
        path: path.to_path_buf(),
        error,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let written = write(&tmp, table, meta).and_then(|f| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    std::fs::rename(&tmp, path).map_err(io)
}

fn write(tmp: &Path, table: &VrpTable, meta: &Persisted) -> std::io::Result<std::fs::File> {
    let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(tmp)?);
    let written = meta
        .written
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    writeln!(w, "caribix-rpki 1")?;
    writeln!(w, "written {written}")?;
    writeln!(w, "expire {}", meta.expire.as_secs())?;
    if !meta.source.is_empty() && !meta.source.contains(char::is_whitespace) {
        writeln!(w, "source {}", meta.source)?;
    }
    for v in table.vrps() {
        writeln!(w, "roa {} {} {}", v.prefix, v.max_len, v.asn)?;
    }
    for (c, p) in table.aspas().records() {
        write!(w, "aspa {c}")?;
        for a in p {
            write!(w, " {a}")?;
        }
        writeln!(w)?;
    }
    w.into_inner().map_err(std::io::IntoInnerError::into_error)
}

/// Reads a file written by [`save`].
pub fn load(path: &Path) -> Result<(VrpTable, Persisted), PersistError> {
    let f = std::fs::File::open(path).map_err(|error| PersistError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    parse(path, BufReader::with_capacity(1 << 16, f))
}

fn parse(path: &Path, input: impl BufRead) -> Result<(VrpTable, Persisted), PersistError> {
    let mut vrps = Changes::default();
    let mut aspas = AspaTable::default();
    let mut written = None;
    let mut expire = None;
    let mut source = String::new();
    let mut header = false;
    for (i, raw) in input.lines().enumerate() {
        let line = i + 1;
        let raw = raw.map_err(|error| PersistError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let err = |reason: String| PersistError::Syntax {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut words = content.split_whitespace();
        let kw = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        if !header {
            if kw == "caribix-rpki" && rest == ["1"] {
                header = true;
                continue;
            }
            return Err(err("expected the header \"caribix-rpki 1\"".into()));
        }
        let num = |s: &str, what: &str| -> Result<u64, PersistError> {
            s.parse()
                .map_err(|_| err(format!("{s:?} is not a valid {what}")))
        };
        let asn = |s: &str| -> Result<u32, PersistError> {
            s.parse()
                .map_err(|_| err(format!("{s:?} is not an AS number")))
        };
        match (kw, rest.as_slice()) {
            ("written", [t]) => written = Some(UNIX_EPOCH + Duration::from_secs(num(t, "time")?)),
            ("expire", [t]) => expire = Some(Duration::from_secs(num(t, "interval")?)),
            ("source", [s]) => source = (*s).to_string(),
            ("roa", [p, m, a]) => {
                let prefix = p.parse().map_err(|e| err(format!("{e}")))?;
                let max_len = m
                    .parse()
                    .map_err(|_| err(format!("{m:?} is not a maximum length")))?;
                let v = Vrp::new(prefix, max_len, asn(a)?).map_err(|e| err(e.to_string()))?;
                vrps.push(&v, false);
            }
            ("aspa", [c, providers @ ..]) => {
                let p = providers
                    .iter()
                    .map(|s| asn(s))
                    .collect::<Result<Vec<u32>, _>>()?;
                aspas.insert(asn(c)?, p);
            }
            _ => return Err(err(format!("cannot understand {content:?}"))),
        }
    }
    let missing = |what: &str| PersistError::Syntax {
        path: path.to_path_buf(),
        line: 0,
        reason: format!("no {what} line"),
    };
    let meta = Persisted {
        written: written.ok_or_else(|| missing("written"))?,
        expire: expire.ok_or_else(|| missing("expire"))?,
        source,
    };
    Ok((VrpTable::from_changes(vrps, aspas), meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_atomic_replace() {
        let dir = std::env::temp_dir().join(format!("rov-persist-{}", std::process::id()));
        let path = dir.join(FILE_NAME);
        let t = VrpTable::new(
            vec![Vrp::new("192.0.2.0/24".parse().unwrap(), 24, 64496).unwrap()],
            AspaTable::new([(64496, vec![64510, 64511])]),
        );
        let meta = Persisted {
            written: UNIX_EPOCH + Duration::from_secs(1_763_892_000),
            expire: Duration::from_secs(7200),
            source: "127.0.0.1:3323".into(),
        };
        save(&path, &t, &meta).unwrap();
        save(&path, &t, &meta).unwrap();
        let (back, m) = load(&path).unwrap();
        assert!(back.vrps().eq(t.vrps()));
        assert_eq!(back.aspas(), t.aspas());
        assert_eq!(m, meta);
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn expiry() {
        let meta = Persisted {
            written: UNIX_EPOCH + Duration::from_secs(1000),
            expire: Duration::from_secs(600),
            source: String::new(),
        };
        assert!(!meta.is_expired(UNIX_EPOCH + Duration::from_secs(1600)));
        assert!(meta.is_expired(UNIX_EPOCH + Duration::from_secs(1601)));
    }

    #[test]
    fn errors_name_the_line() {
        let p = Path::new("x.txt");
        let e = parse(
            p,
            "caribix-rpki 1\nwritten 5\nexpire 10\nroa 192.0.2.0/24 23 1\n".as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("x.txt:4: "), "{e}");
        let e = parse(p, "hello\n".as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("x.txt:1: "), "{e}");
        let e = parse(p, "caribix-rpki 1\nexpire 10\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no written line"), "{e}");
        let e = parse(
            p,
            "caribix-rpki 1\nwritten 1\nexpire 10\naspa 1 x\n".as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("x.txt:4: "), "{e}");
    }
}
