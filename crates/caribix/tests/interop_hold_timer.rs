//! Interop (issue 3): a member that goes silent without closing its TCP
//! connection (its BIRD frozen with SIGSTOP) loses its sessions when the
//! route server's hold timer expires (RFC 4271 §6.5, hold time 9 s here),
//! its routes disappear from the other member (GoBGP, checked on its own
//! RIB), the other member's sessions stay up, and after SIGCONT the member
//! reconnects and its routes return.

mod interop;
mod support;

use std::time::{Duration, Instant};

use interop::daemons::{Announce, Kind, Member};
use interop::{wait_until, Lab};

#[test]
fn silent_member_is_dropped_on_hold_timer_expiry_and_comes_back() {
    for k in [Kind::Bird, Kind::Gobgp] {
        Member::require(k);
    }
    interop::which("python3", "python3");
    let mut bird = Member::new(
        Kind::Bird,
        "bird",
        64496,
        11,
        vec![
            Announce::plain("185.72.11.0/24"),
            Announce::plain("2a0c:72:11::/48"),
        ],
    );
    bird.hold_v4 = 9;
    let gobgp = Member::new(
        Kind::Gobgp,
        "gobgp",
        4_200_000_001,
        12,
        vec![Announce::plain("185.72.12.0/24")],
    );
    let mut members = vec![bird, gobgp];
    let mut lab = Lab::new("h", &[("rs", 1), ("bird", 11), ("gobgp", 12)]);
    // The route server proposes 9 s on every session.
    lab.start_rs(&interop::rs_config(&members, Some(9)));
    for m in &mut members {
        m.start(&mut lab);
    }
    let (bird, gobgp) = (&members[0], &members[1]);
    let bird_prefixes = || -> Result<Vec<String>, String> {
        Ok(gobgp
            .rib(&lab)?
            .into_iter()
            .filter(|r| r.as_path.first() == Some(&bird.asn))
            .map(|r| r.prefix)
            .collect())
    };
    let want = vec!["185.72.11.0/24".to_string(), "2a0c:72:11::/48".to_string()];
    wait_until("BIRD's routes at GoBGP", Duration::from_secs(60), || {
        bird.established(&lab)?;
        gobgp.established(&lab)?;
        let got = bird_prefixes()?;
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });

    bird.signal("STOP").unwrap_or_else(|e| panic!("{e}"));
    let stopped = Instant::now();
    let [b4, b6] = bird.rs_ids();
    let errors = wait_until(
        "the route server's hold timer to drop BIRD's sessions",
        Duration::from_secs(30),
        || {
            let n = lab.rs_neighbors()?;
            for id in [&b4, &b6] {
                if n.get(id).map(|(s, _)| s.as_str()) == Some("Established") {
                    return Err(format!("{id} still Established"));
                }
            }
            let v = lab.api("/api/v1/neighbors")?;
            Ok(v.to_string())
        },
    );
    let took = stopped.elapsed();
    eprintln!("hold timer: sessions dropped {took:?} after SIGSTOP");
    assert!(
        took >= Duration::from_secs(3) && took <= Duration::from_secs(15),
        "hold time 9 s, sessions dropped after {took:?}"
    );
    assert!(
        errors.contains("Hold Timer Expired"),
        "the route server's reason is not the hold timer: {errors}"
    );
    wait_until(
        "BIRD's routes gone from GoBGP",
        Duration::from_secs(20),
        || {
            gobgp.established(&lab)?;
            let got = bird_prefixes()?;
            if got.is_empty() {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        },
    );
    let n = lab.rs_neighbors().unwrap_or_else(|e| panic!("{e}"));
    for id in gobgp.rs_ids() {
        let (state, up) = n.get(&id).cloned().unwrap_or_default();
        assert_eq!(state, "Established", "{id}");
        assert!(
            up >= stopped.elapsed().as_secs(),
            "{id} was reset ({up} s up)"
        );
    }

    bird.signal("CONT").unwrap_or_else(|e| panic!("{e}"));
    wait_until(
        "BIRD back, with its routes at GoBGP",
        Duration::from_secs(60),
        || {
            bird.established(&lab)?;
            let got = bird_prefixes()?;
            if got == want {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        },
    );
}
