//! Ranking peering opportunities: pairs of local networks whose traffic to
//! each other left the island through transit, with the bytes that would
//! have stayed local had they peered (at the IXP, over the route server or
//! bilaterally), largest first, each with a sentence saying why.

use crate::Asn;
use std::collections::{BTreeMap, HashMap};

/// What the ranking knows about networks: names and IXP membership.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Members of the IXP, by ASN, with their names.
    pub members: HashMap<Asn, String>,
}

impl Directory {
    fn describe(&self, asn: Asn) -> String {
        match self.members.get(&asn) {
            Some(name) => format!("AS{asn} ({name}, member)"),
            None => format!("AS{asn} (local network, not a member)"),
        }
    }
}

/// A pair of networks that should peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opportunity {
    /// The lower ASN of the pair.
    pub a_asn: Asn,
    /// The higher ASN.
    pub b_asn: Asn,
    /// Bytes between them, both directions, that went through transit.
    pub bytes: u64,
    /// Bytes from `a` to `b`.
    pub a_to_b: u64,
    /// Bytes from `b` to `a`.
    pub b_to_a: u64,
    /// Why this pair is listed.
    pub why: String,
}

/// Folds directed tromboned pairs `(src, dst, bytes)` into unordered pairs
/// and ranks them by bytes, largest first (ties by ASNs, for stable output).
pub fn rank_opportunities<I>(pairs: I, dir: &Directory) -> Vec<Opportunity>
where
    I: IntoIterator<Item = (Asn, Asn, u64)>,
{
    let mut m: BTreeMap<(Asn, Asn), (u64, u64)> = BTreeMap::new();
    for (s, d, bytes) in pairs {
        if s == d || bytes == 0 {
            continue;
        }
        let (key, forward) = if s < d {
            ((s, d), true)
        } else {
            ((d, s), false)
        };
        let e = m.entry(key).or_default();
        if forward {
            e.0 = e.0.saturating_add(bytes);
        } else {
            e.1 = e.1.saturating_add(bytes);
        }
    }
    let mut out: Vec<Opportunity> = m
        .into_iter()
        .map(|((a, b), (ab, ba))| {
            let bytes = ab.saturating_add(ba);
            let both = dir.members.contains_key(&a) && dir.members.contains_key(&b);
            let advice = if both {
                "both are IXP members yet this traffic left through transit: they do not \
                 exchange these routes over the route server or a bilateral session"
                    .to_string()
            } else {
                let outsiders: Vec<String> = [a, b]
                    .iter()
                    .filter(|x| !dir.members.contains_key(x))
                    .map(|x| format!("AS{x}"))
                    .collect();
                format!(
                    "{} would keep it local by joining the IXP and peering",
                    outsiders.join(" and ")
                )
            };
            let why = format!(
                "{} and {} exchanged {} bytes ({} from AS{a}, {} from AS{b}) towards local \
                 destinations through a transit interface; {advice}",
                dir.describe(a),
                dir.describe(b),
                bytes,
                ab,
                ba
            );
            Opportunity {
                a_asn: a,
                b_asn: b,
                bytes,
                a_to_b: ab,
                b_to_a: ba,
                why,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.bytes
            .cmp(&x.bytes)
            .then(x.a_asn.cmp(&y.a_asn))
            .then(x.b_asn.cmp(&y.b_asn))
    });
    out
}
