//! Interop (issue 3): a member that sends malformed optional attributes
//! gets RFC 7606 treatment from `caribix run`, and every session stays up.
//!
//! ExaBGP (AS 64502) first announces six good routes; BIRD 2 and GoBGP
//! members receive them. Then, through ExaBGP's API, it re-announces them
//! with raw attributes of wrong lengths:
//!
//! | route           | attribute                     | RFC 7606 action            |
//! |-----------------|-------------------------------|----------------------------|
//! | 185.70.1.0/24   | COMMUNITIES of length 5       | treat-as-withdraw (§7.8)   |
//! | 185.70.2.0/24   | MULTI_EXIT_DISC of length 3   | treat-as-withdraw (§7.4)   |
//! | 185.70.3.0/24   | LARGE_COMMUNITY of length 13  | treat-as-withdraw (RFC 8092 §5) |
//! | 2a0c:16::/48    | LARGE_COMMUNITY of length 13  | treat-as-withdraw, in MP_REACH_NLRI |
//! | 185.70.4.0/24   | AS4_AGGREGATOR of length 9    | attribute discard (§7.7); the route stays, with its new community |
//!
//! Checked on BIRD's and GoBGP's own RIBs (the withdrawn routes are gone,
//! the others unchanged), on caribix's `/api/v1/neighbors/{id}/routes`, and
//! that no session was reset: ExaBGP never saw a session go down, and the
//! route server's uptime of every session covers the whole exchange. A good
//! re-announcement afterwards brings the first route back.

mod interop;
mod support;

use std::time::{Duration, Instant};

use interop::daemons::{Announce, Kind, Member};
use interop::{wait_until, Lab, Route, RS_V4, RS_V6};

fn exa_routes() -> Vec<Announce> {
    let mut v: Vec<Announce> = (1..=5)
        .map(|i| Announce {
            communities: vec![(64502, i)],
            ..Announce::plain(&format!("185.70.{i}.0/24"))
        })
        .collect();
    v.push(Announce {
        communities: vec![(64502, 6)],
        ..Announce::plain("2a0c:16::/48")
    });
    v
}

/// The exa member's routes as a receiver must see them, by prefix.
fn expect(exa: &Member, present: &[(&str, u16)]) -> Vec<Route> {
    let mut v: Vec<Route> = present
        .iter()
        .map(|(p, c)| {
            exa.expected(&Announce {
                communities: vec![(64502, *c)],
                ..Announce::plain(p)
            })
        })
        .collect();
    v.sort();
    v
}

fn from_exa(lab: &Lab, m: &Member, exa: &Member) -> Result<Vec<Route>, String> {
    Ok(m.rib(lab)?
        .into_iter()
        .filter(|r| r.as_path.first() == Some(&exa.asn))
        .collect())
}

fn all_up(lab: &Lab, members: &[Member], since: Instant) -> Result<(), String> {
    let n = lab.rs_neighbors()?;
    let min = since.elapsed().as_secs();
    for m in members {
        for id in m.rs_ids() {
            match n.get(&id) {
                Some((s, up)) if s == "Established" && *up + 1 >= min => {}
                other => {
                    return Err(format!(
                        "{id}: {other:?}, expected Established for at least {min} s"
                    ))
                }
            }
        }
        m.established(lab)?;
    }
    Ok(())
}

#[test]
fn malformed_optional_attributes_get_rfc7606_treatment_and_sessions_stay_up() {
    for k in [Kind::Bird, Kind::Gobgp, Kind::Exabgp] {
        Member::require(k);
    }
    interop::which("python3", "python3");
    let mut members = vec![
        Member::new(
            Kind::Bird,
            "bird",
            64496,
            11,
            vec![Announce::plain("185.71.11.0/24")],
        ),
        Member::new(
            Kind::Gobgp,
            "gobgp",
            4_200_000_001,
            12,
            vec![Announce::plain("185.71.12.0/24")],
        ),
        Member::new(Kind::Exabgp, "exa", 64502, 16, exa_routes()),
    ];
    let mut boxes: Vec<(&str, u8)> = vec![("rs", 1)];
    boxes.extend(members.iter().map(|m| (m.name.as_str(), m.n)));
    let mut lab = Lab::new("f", &boxes);
    lab.start_rs(&interop::rs_config(&members, None));
    for m in &mut members {
        m.start(&mut lab);
    }
    let (receivers, exa) = members.split_at(2);
    let exa = &exa[0];
    let all_good = expect(
        exa,
        &[
            ("185.70.1.0/24", 1),
            ("185.70.2.0/24", 2),
            ("185.70.3.0/24", 3),
            ("185.70.4.0/24", 4),
            ("185.70.5.0/24", 5),
            ("2a0c:16::/48", 6),
        ],
    );
    wait_until(
        "the good routes at BIRD and GoBGP",
        Duration::from_secs(60),
        || {
            for m in receivers {
                let got = from_exa(&lab, m, exa)?;
                if got != all_good {
                    return Err(format!("{}: {got:?}", m.name));
                }
            }
            Ok(())
        },
    );
    let before = Instant::now();
    all_up(&lab, &members, before).unwrap_or_else(|e| panic!("before the malformed UPDATEs: {e}"));

    let v4 = exa.v4();
    let v6 = exa.v6();
    for cmd in [
        // COMMUNITIES, length 5.
        format!("neighbor {RS_V4} announce route 185.70.1.0/24 next-hop {v4} attribute [ 0x08 0xc0 0x0000000001 ]"),
        // MULTI_EXIT_DISC, length 3.
        format!("neighbor {RS_V4} announce route 185.70.2.0/24 next-hop {v4} attribute [ 0x04 0x80 0x000001 ]"),
        // LARGE_COMMUNITY, length 13.
        format!("neighbor {RS_V4} announce route 185.70.3.0/24 next-hop {v4} attribute [ 0x20 0xc0 0x00000001000000020000000301 ]"),
        format!("neighbor {RS_V6} announce route 2a0c:16::/48 next-hop {v6} attribute [ 0x20 0xc0 0x00000001000000020000000301 ]"),
        // AS4_AGGREGATOR, length 9: discarded, the route stays.
        format!("neighbor {RS_V4} announce route 185.70.4.0/24 next-hop {v4} community [ 64502:44 ] attribute [ 0x12 0xc0 0x0000fbf6c0000201ff ]"),
    ] {
        exa.exabgp_command(&lab, &cmd).unwrap_or_else(|e| panic!("{e}"));
    }
    let after = expect(exa, &[("185.70.4.0/24", 44), ("185.70.5.0/24", 5)]);
    wait_until(
        "RFC 7606 treatment seen at BIRD and GoBGP",
        Duration::from_secs(30),
        || {
            for m in receivers {
                let got = from_exa(&lab, m, exa)?;
                if got != after {
                    return Err(format!("{}: {got:?}", m.name));
                }
            }
            Ok(())
        },
    );
    // The discarded AS4_AGGREGATOR is not passed on.
    let bird = &receivers[0];
    let shown = bird
        .birdc(&lab, &["show", "route", "185.70.4.0/24", "all"])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!shown.to_lowercase().contains("aggregator"), "{shown}");

    // The route server's own view: withdrawn, not merely hidden.
    let [id4, id6] = exa.rs_ids();
    let mut held = lab.rs_routes_from(&id4).unwrap_or_else(|e| panic!("{e}"));
    held.sort();
    assert_eq!(held, ["185.70.4.0/24", "185.70.5.0/24"]);
    assert_eq!(
        lab.rs_routes_from(&id6).unwrap_or_else(|e| panic!("{e}")),
        Vec::<String>::new()
    );

    // No session was reset, by anyone's account.
    all_up(&lab, &members, before).unwrap_or_else(|e| panic!("after the malformed UPDATEs: {e}"));
    assert_eq!(
        exa.exabgp_downs(&lab),
        Ok(0),
        "ExaBGP saw a session go down"
    );

    // A good UPDATE for a treated-as-withdrawn prefix brings it back.
    exa.exabgp_command(
        &lab,
        &format!(
            "neighbor {RS_V4} announce route 185.70.1.0/24 next-hop {v4} community [ 64502:1 ]"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let restored = expect(
        exa,
        &[
            ("185.70.1.0/24", 1),
            ("185.70.4.0/24", 44),
            ("185.70.5.0/24", 5),
        ],
    );
    wait_until(
        "the re-announced route back at BIRD and GoBGP",
        Duration::from_secs(30),
        || {
            for m in receivers {
                let got = from_exa(&lab, m, exa)?;
                if got != restored {
                    return Err(format!("{}: {got:?}", m.name));
                }
            }
            Ok(())
        },
    );
    all_up(&lab, &members, before).unwrap_or_else(|e| panic!("at the end: {e}"));
}
