//! Recursive as-set expansion.
//!
//! An as-set's members are AS numbers and other as-sets (RFC 2622 §5.1);
//! expanding it yields the AS numbers reachable through nested sets. Sets
//! referring to each other (directly or through a chain) are common in
//! real IRR data: a set met again on the current path is a loop, recorded
//! and not followed; a set already expanded elsewhere is not expanded
//! twice. A chain deeper than the limit is an error (the data is more
//! likely broken than meant), and so is an unknown top-level set; unknown
//! nested sets are recorded and treated as empty, as IRRd does.

use std::collections::{BTreeSet, HashSet};

use crate::rpsl::{IrrDb, Member};

/// The default nesting limit (sets on one path).
pub const DEFAULT_MAX_DEPTH: usize = 20;

/// The result of expanding an as-set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    /// All AS numbers reached.
    pub asns: BTreeSet<u32>,
    /// Nested sets that are not defined (upper case).
    pub missing: BTreeSet<String>,
    /// Loops found, each as the path from the top set back to the set met
    /// again.
    pub loops: Vec<Vec<String>>,
    /// Number of distinct sets expanded.
    pub sets: usize,
}

/// An as-set could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpandError {
    /// The top-level set is not defined.
    UnknownSet(String),
    /// Nesting deeper than the limit; the path that reached it.
    TooDeep {
        /// The limit.
        limit: usize,
        /// The sets from the top down.
        path: Vec<String>,
    },
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::UnknownSet(s) => write!(f, "as-set {s} is not defined in the IRR data"),
            ExpandError::TooDeep { limit, path } => write!(
                f,
                "as-set nesting deeper than {limit}: {}",
                path.join(" → ")
            ),
        }
    }
}

impl std::error::Error for ExpandError {}

impl IrrDb {
    /// Expands as-set `name` with nesting limited to `max_depth` sets.
    pub fn expand(&self, name: &str, max_depth: usize) -> Result<Expansion, ExpandError> {
        let top = name.to_ascii_uppercase();
        if self.as_set(&top).is_none() {
            return Err(ExpandError::UnknownSet(name.to_string()));
        }
        let mut out = Expansion::default();
        let mut done = HashSet::new();
        let mut path = Vec::new();
        self.walk(&top, max_depth, &mut path, &mut done, &mut out)?;
        out.sets = done.len();
        Ok(out)
    }

    fn walk(
        &self,
        set: &str,
        max_depth: usize,
        path: &mut Vec<String>,
        done: &mut HashSet<String>,
        out: &mut Expansion,
    ) -> Result<(), ExpandError> {
        if path.iter().any(|s| s == set) {
            let mut l = path.clone();
            l.push(set.to_string());
            out.loops.push(l);
            return Ok(());
        }
        if !done.insert(set.to_string()) {
            return Ok(());
        }
        path.push(set.to_string());
        if path.len() > max_depth {
            return Err(ExpandError::TooDeep {
                limit: max_depth,
                path: path.clone(),
            });
        }
        match self.as_set(set) {
            None => {
                out.missing.insert(set.to_string());
            }
            Some(def) => {
                for m in &def.members {
                    match m {
                        Member::Asn(a) => {
                            out.asns.insert(*a);
                        }
                        Member::Set(s) => self.walk(s, max_depth, path, done, out)?,
                    }
                }
            }
        }
        path.pop();
        Ok(())
    }
}
