//! Interop (issue 3): ADD-PATH send (RFC 7911) to a member that asks for
//! it (`add_path = true` in caribix's configuration, `add paths rx` in
//! BIRD 2), on a network-namespace peering LAN, checked on each member's
//! own RIB through `birdc`:
//!
//! - two members announce the same IPv4 and IPv6 prefixes: the ADD-PATH
//!   member holds both paths of each, a plain member only the one other
//!   path (it never gets its own back);
//! - one announcer withdraws its routes: the ADD-PATH member loses that
//!   path only and keeps the other member's.

mod interop;
mod interop_gr_bird;
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use interop::{wait_until, Lab};
use interop_gr_bird::{rs_config, Bird};

const SHARED4: &str = "185.71.0.0/24";
const SHARED6: &str = "2a0c:71::/48";

/// Prefix -> first ASes of the paths `b` holds, sorted.
fn paths(lab: &Lab, b: &Bird) -> Result<BTreeMap<String, Vec<u32>>, String> {
    let mut m: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for r in b.routes(lab)? {
        m.entry(r.prefix)
            .or_default()
            .push(r.as_path.first().copied().unwrap_or(0));
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    Ok(m)
}

fn expect(want: &[(&str, &[u32])]) -> BTreeMap<String, Vec<u32>> {
    want.iter()
        .map(|(p, a)| (p.to_string(), a.to_vec()))
        .collect()
}

#[test]
fn add_path_member_sees_every_path_and_loses_only_the_withdrawn_one() {
    let mut lab = Lab::new("ap", &[("rs", 1), ("a", 11), ("b", 12), ("m", 13)]);
    let mut a = Bird::new("a", 64496, 11, &[SHARED4, SHARED6, "185.71.11.0/24"]);
    let mut b = Bird::new("b", 64497, 12, &[SHARED4, SHARED6, "185.71.12.0/24"]);
    let mut m = Bird::new("m", 64499, 13, &["185.71.13.0/24"]);
    m.add_paths_rx = true;
    let conf = rs_config(
        "",
        &[
            a.member_toml("passive = true\n"),
            b.member_toml("passive = true\n"),
            m.member_toml("passive = true\nadd_path = true\n"),
        ],
    );
    lab.start_rs(&conf);
    for x in [&mut a, &mut b, &mut m] {
        x.start(&mut lab, false);
    }
    wait_until("every session Established", Duration::from_secs(60), || {
        a.established(&lab)?;
        b.established(&lab)?;
        m.established(&lab)
    });
    let full = expect(&[
        (SHARED4, &[64496, 64497]),
        ("185.71.11.0/24", &[64496]),
        ("185.71.12.0/24", &[64497]),
        (SHARED6, &[64496, 64497]),
    ]);
    wait_until(
        "the ADD-PATH member holds both paths",
        Duration::from_secs(30),
        || {
            let got = paths(&lab, &m)?;
            if got == full {
                Ok(())
            } else {
                Err(format!("m holds {got:?}"))
            }
        },
    );
    // A plain member gets one path per prefix, never its own.
    let want_a = expect(&[
        (SHARED4, &[64497]),
        ("185.71.12.0/24", &[64497]),
        ("185.71.13.0/24", &[64499]),
        (SHARED6, &[64497]),
    ]);
    wait_until("the plain member's table", Duration::from_secs(30), || {
        let got = paths(&lab, &a)?;
        if got == want_a {
            Ok(())
        } else {
            Err(format!("a holds {got:?}"))
        }
    });

    // a withdraws everything it announces.
    a.birdc(&lab, &["disable", "sipv4"])
        .unwrap_or_else(|e| panic!("{e}"));
    a.birdc(&lab, &["disable", "sipv6"])
        .unwrap_or_else(|e| panic!("{e}"));
    let after = expect(&[
        (SHARED4, &[64497]),
        ("185.71.12.0/24", &[64497]),
        (SHARED6, &[64497]),
    ]);
    wait_until(
        "only a's paths are withdrawn at the ADD-PATH member",
        Duration::from_secs(30),
        || {
            let got = paths(&lab, &m)?;
            if got == after {
                Ok(())
            } else {
                Err(format!("m holds {got:?}"))
            }
        },
    );
    // And back: both paths again.
    a.birdc(&lab, &["enable", "sipv4"])
        .unwrap_or_else(|e| panic!("{e}"));
    a.birdc(&lab, &["enable", "sipv6"])
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until("both paths again", Duration::from_secs(30), || {
        let got = paths(&lab, &m)?;
        if got == full {
            Ok(())
        } else {
            Err(format!("m holds {got:?}"))
        }
    });
    for x in [&a, &b, &m] {
        x.established(&lab).unwrap_or_else(|e| panic!("{e}"));
    }
}
