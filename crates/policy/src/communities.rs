//! BGP communities the route server acts on (SPEC §3): the arouteserver
//! export-control scheme in standard (RFC 1997) and large (RFC 8092) form,
//! the well-known BLACKHOLE (RFC 7999) and GRACEFUL_SHUTDOWN (RFC 8326),
//! and the informational large communities the route server adds.
//!
//! Export control, with `RS` the route server's AS and `peer` a member's:
//!
//! | standard        | large            | meaning                         |
//! |-----------------|------------------|---------------------------------|
//! | `0:peer`        | `RS:0:peer`      | do not announce to `peer`       |
//! | `0:RS`          | `RS:0:0`         | announce to no one              |
//! | `RS:peer`       | `RS:1:peer`      | announce to `peer` (even with the above) |
//! | `65501:peer` .. `65503:peer` | `RS:101:peer` .. `RS:103:peer` | prepend the announcing AS 1-3 times towards `peer` |
//!
//! The standard forms exist only for 16-bit ASNs (and need a 16-bit route
//! server AS for `RS:peer`). Control communities are removed from the
//! attributes before export; every other community is passed on untouched
//! (RFC 7947 §2.2 transparency). Large communities whose global
//! administrator is the route server's AS are the route server's own: they
//! are removed from what members send (a member cannot forge a reject
//! reason or an RPKI state) and added back by policy.
//!
//! This module parses and rewrites attribute blocks; it does not decide
//! whether a route is accepted.

use bgp_wire::attr::{flags, type_code, RawAttrIter};
use bgp_wire::owned::write_attr;
use rib::ExportCtl;

/// BLACKHOLE (RFC 7999 §5).
pub const BLACKHOLE: u32 = 0xFFFF_029A;
/// GRACEFUL_SHUTDOWN (RFC 8326 §5).
pub const GRACEFUL_SHUTDOWN: u32 = 0xFFFF_0000;
/// NO_EXPORT (RFC 1997).
pub const NO_EXPORT: u32 = 0xFFFF_FF01;

/// Large-community function: the route's RPKI ROV state (`RS:1000:x`).
pub const LC_RPKI: u32 = 1000;
/// `RS:1000:1`: RPKI valid.
pub const RPKI_VALID: u32 = 1;
/// `RS:1000:2`: RPKI not found ("unknown").
pub const RPKI_NOT_FOUND: u32 = 2;
/// `RS:1000:4`: RPKI invalid.
pub const RPKI_INVALID: u32 = 4;
/// Large-community function: the route's IRR state (`RS:1001:x`).
pub const LC_IRR: u32 = 1001;
/// `RS:1001:1`: prefix covered by the member's route/route6 objects.
pub const IRR_PREFIX_OK: u32 = 1;
/// `RS:1001:2`: prefix not covered by them.
pub const IRR_PREFIX_KO: u32 = 2;
/// `RS:1001:3`: origin AS in the member's AS-SET expansion.
pub const IRR_ORIGIN_OK: u32 = 3;
/// `RS:1001:4`: origin AS not in it.
pub const IRR_ORIGIN_KO: u32 = 4;
/// Large-community function: a reject reason (`RS:1101:CODE`).
pub const LC_REJECT: u32 = 1101;

/// What the communities of one route ask of the route server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    /// Export controls for the RIB.
    pub export: ExportCtl,
    /// BLACKHOLE is present.
    pub blackhole: bool,
    /// GRACEFUL_SHUTDOWN is present.
    pub graceful_shutdown: bool,
}

fn push_unique(v: &mut Vec<u32>, x: u32) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// Read the control communities of a route received by a route server of
/// AS `rs`.
pub fn actions(rs: u32, communities: &[u32], large: &[[u32; 3]]) -> Actions {
    let mut none = false;
    let mut only = Vec::new();
    let mut deny = Vec::new();
    let mut prepend: Vec<(u32, u8)> = Vec::new();
    let mut a = Actions::default();
    let add_prepend = |prepend: &mut Vec<(u32, u8)>, peer: u32, n: u8| match prepend
        .iter_mut()
        .find(|(p, _)| *p == peer)
    {
        Some(e) => e.1 = e.1.max(n),
        None => prepend.push((peer, n)),
    };
    for &c in communities {
        let (hi, lo) = (c >> 16, c & 0xFFFF);
        match c {
            BLACKHOLE => a.blackhole = true,
            GRACEFUL_SHUTDOWN => a.graceful_shutdown = true,
            _ if hi == 0 && lo == rs => none = true,
            _ if hi == 0 => push_unique(&mut deny, lo),
            _ if hi == rs => push_unique(&mut only, lo),
            _ if (65501..=65503).contains(&hi) => add_prepend(&mut prepend, lo, (hi - 65500) as u8),
            _ => {}
        }
    }
    for &[ga, f, peer] in large {
        if ga != rs {
            continue;
        }
        match f {
            0 if peer == 0 => none = true,
            0 => push_unique(&mut deny, peer),
            1 => push_unique(&mut only, peer),
            101..=103 => add_prepend(&mut prepend, peer, (f - 100) as u8),
            _ => {}
        }
    }
    a.export = ExportCtl {
        none,
        only: only.into(),
        deny: deny.into(),
        prepend: prepend.into(),
    };
    a
}

/// Whether a standard community is one of the route server's export
/// controls (and so removed before export).
pub fn is_control(rs: u32, c: u32) -> bool {
    let hi = c >> 16;
    hi == 0 || (rs <= 0xFFFF && hi == rs) || (65501..=65503).contains(&hi)
}

/// Edits to an attribute block.
#[derive(Debug, Default)]
pub struct Rewrite<'a> {
    /// The route server's AS: its control communities and own large
    /// communities are removed.
    pub strip_for: Option<u32>,
    /// Keep the export-control standard communities even with `strip_for`
    /// (only the route server's own large communities go): used for
    /// rejected routes, which the looking glass shows as received.
    pub keep_control: bool,
    /// Standard communities to add (if absent).
    pub add: &'a [u32],
    /// Large communities to add (if absent).
    pub add_large: &'a [[u32; 3]],
}

/// Rewrite the COMMUNITIES and LARGE_COMMUNITIES of a canonical block
/// (`bgp_wire::builder::passthrough_block` form), leaving every other
/// attribute as it was. An attribute left empty is dropped; a new one is
/// inserted in type-code order.
pub fn rewrite(block: &[u8], rw: &Rewrite<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + 12 * rw.add_large.len() + 4 * rw.add.len() + 6);
    let mut done_std = false;
    let mut done_large = false;
    let emit_std = |out: &mut Vec<u8>, flags_in: u8, existing: &[u8]| {
        let mut v: Vec<u32> = existing
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .filter(|&c| rw.keep_control || rw.strip_for.is_none_or(|rs| !is_control(rs, c)))
            .collect();
        for &c in rw.add {
            push_unique(&mut v, c);
        }
        if !v.is_empty() {
            write_attr(out, flags_in, type_code::COMMUNITIES, |b| {
                for c in &v {
                    b.extend_from_slice(&c.to_be_bytes());
                }
            });
        }
    };
    let emit_large = |out: &mut Vec<u8>, flags_in: u8, existing: &[u8]| {
        let mut v: Vec<[u32; 3]> = existing
            .chunks_exact(12)
            .map(|c| {
                let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                [w(0), w(4), w(8)]
            })
            .filter(|c| rw.strip_for.is_none_or(|rs| c[0] != rs))
            .collect();
        for c in rw.add_large {
            if !v.contains(c) {
                v.push(*c);
            }
        }
        if !v.is_empty() {
            write_attr(out, flags_in, type_code::LARGE_COMMUNITIES, |b| {
                for c in &v {
                    for w in c {
                        b.extend_from_slice(&w.to_be_bytes());
                    }
                }
            });
        }
    };
    let std_flags = flags::OPTIONAL | flags::TRANSITIVE;
    for attr in RawAttrIter::new(block) {
        if !done_std && attr.type_code > type_code::COMMUNITIES {
            emit_std(&mut out, std_flags, &[]);
            done_std = true;
        }
        if !done_large && attr.type_code > type_code::LARGE_COMMUNITIES {
            emit_large(&mut out, std_flags, &[]);
            done_large = true;
        }
        match attr.type_code {
            type_code::COMMUNITIES if !done_std => {
                emit_std(&mut out, attr.flags, attr.value);
                done_std = true;
            }
            type_code::LARGE_COMMUNITIES if !done_large => {
                emit_large(&mut out, attr.flags, attr.value);
                done_large = true;
            }
            // A second occurrence cannot be in a canonical block; drop it.
            type_code::COMMUNITIES | type_code::LARGE_COMMUNITIES => {}
            _ => out.extend_from_slice(attr.tlv),
        }
    }
    if !done_std {
        emit_std(&mut out, std_flags, &[]);
    }
    if !done_large {
        emit_large(&mut out, std_flags, &[]);
    }
    out
}

/// The standard and large communities of a canonical block.
pub fn read(block: &[u8]) -> (Vec<u32>, Vec<[u32; 3]>) {
    let mut std = Vec::new();
    let mut large = Vec::new();
    for attr in RawAttrIter::new(block) {
        match attr.type_code {
            type_code::COMMUNITIES => std.extend(
                attr.value
                    .chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
            ),
            type_code::LARGE_COMMUNITIES => large.extend(attr.value.chunks_exact(12).map(|c| {
                let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                [w(0), w(4), w(8)]
            })),
            _ => {}
        }
    }
    (std, large)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RS: u32 = 64500;

    fn c(a: u32, b: u32) -> u32 {
        (a << 16) | b
    }

    #[test]
    fn standard_controls() {
        let a = actions(RS, &[c(0, 64501), c(65502, 64502), c(1, 2)], &[]);
        assert_eq!(&*a.export.deny, &[64501]);
        assert_eq!(&*a.export.prepend, &[(64502, 2)]);
        assert!(!a.export.none);
        let a = actions(RS, &[c(0, RS), c(RS, 64503)], &[]);
        assert!(a.export.none);
        assert_eq!(&*a.export.only, &[64503]);
        assert!(a.export.allows(64503));
        assert!(!a.export.allows(64504));
    }

    #[test]
    fn large_controls() {
        let a = actions(
            RS,
            &[],
            &[
                [RS, 0, 0],
                [RS, 1, 4200000001],
                [RS, 103, 70000],
                [RS, 0, 65001],
                [1, 0, 5],
            ],
        );
        assert!(a.export.none);
        assert_eq!(&*a.export.only, &[4200000001]);
        assert_eq!(&*a.export.deny, &[65001]);
        assert_eq!(&*a.export.prepend, &[(70000, 3)]);
    }

    #[test]
    fn well_known() {
        let a = actions(RS, &[BLACKHOLE, GRACEFUL_SHUTDOWN], &[]);
        assert!(a.blackhole && a.graceful_shutdown);
        assert!(a.export.is_open());
    }

    #[test]
    fn rewrite_strips_and_adds() {
        let mut block = Vec::new();
        write_attr(&mut block, flags::TRANSITIVE, type_code::ORIGIN, |b| {
            b.push(0)
        });
        write_attr(&mut block, 0xC0, type_code::COMMUNITIES, |b| {
            for x in [c(0, 64501), c(3333, 7), c(65501, 1)] {
                b.extend_from_slice(&x.to_be_bytes());
            }
        });
        let out = rewrite(
            &block,
            &Rewrite {
                strip_for: Some(RS),
                add: &[NO_EXPORT],
                add_large: &[[RS, LC_REJECT, 2]],
                keep_control: false,
            },
        );
        let (s, l) = read(&out);
        assert_eq!(s, [c(3333, 7), NO_EXPORT]);
        assert_eq!(l, [[RS, LC_REJECT, 2]]);
        // Type-code order kept: ORIGIN, COMMUNITIES, LARGE_COMMUNITIES.
        let order: Vec<u8> = RawAttrIter::new(&out).map(|a| a.type_code).collect();
        assert_eq!(order, [1, 8, 32]);
    }

    #[test]
    fn rewrite_drops_emptied_attribute() {
        let mut block = Vec::new();
        write_attr(&mut block, 0xC0, type_code::COMMUNITIES, |b| {
            b.extend_from_slice(&c(0, RS).to_be_bytes())
        });
        write_attr(&mut block, 0xC0, type_code::LARGE_COMMUNITIES, |b| {
            for w in [RS, 1000, 1] {
                b.extend_from_slice(&w.to_be_bytes());
            }
        });
        let out = rewrite(
            &block,
            &Rewrite {
                strip_for: Some(RS),
                ..Rewrite::default()
            },
        );
        assert!(out.is_empty());
    }
}
