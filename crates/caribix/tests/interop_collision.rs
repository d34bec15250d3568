//! Interop (issue 3): connection collision (RFC 4271 §6.8) between caribix
//! and a BIRD 2 member that both connect: caribix's `[[member]]` is active
//! (`passive = false`, `connect_retry = 2`) and BIRD has `passive off`, on
//! a network-namespace peering LAN.
//!
//! Provoking the collision: BIRD is stopped, so caribix's attempts are
//! refused and it retries after its restart delay; caribix is frozen (SIGSTOP, by PID);
//! BIRD starts and connects to caribix (the kernel completes the
//! connection, BIRD sends its OPEN and waits); caribix is thawed with its
//! restart timer expired and BIRD's connection waiting to be accepted. When
//! caribix connects out before it takes BIRD's connection (which of the
//! two it does first is up to its runtime), each side holds two
//! connections and both must close the same one: the one BIRD opened by
//! the BGP Identifier rule (192.0.2.11 > 192.0.2.1), or, when one side is
//! already Established on the other when the second OPEN arrives, that one
//! (RFC 4271 §6.8; BIRD does the same). The test
//! repeats the provocation (BIRD killed with `kill -9` and started again)
//! until BIRD's own log shows a collision resolved, at most 6 times, and
//! fails if none happened. After each round: exactly one TCP connection
//! (`ss` in BIRD's namespace), Established on both sides, and it stays so
//! (caribix's uptime keeps growing, BIRD's routes arrive).

mod interop;
mod interop_gr_bird;
mod support;

use std::time::Duration;

use interop::{wait_until, Lab};
use interop_gr_bird::{rs_config, Bird};

/// Established TCP connections on port 179 in BIRD's namespace.
fn bgp_connections(lab: &Lab) -> Result<Vec<String>, String> {
    let out = lab.exec(
        "m",
        &[
            "ss",
            "-Htn",
            "state",
            "established",
            "( sport = :179 or dport = :179 )",
        ],
    )?;
    Ok(out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

/// caribix's view of the session: (state, uptime).
fn rs_session(lab: &Lab, id: &str) -> Result<(String, u64), String> {
    lab.rs_neighbors()?
        .get(id)
        .cloned()
        .ok_or_else(|| format!("no neighbor {id}"))
}

/// Lines of BIRD's current log that tell of a collision resolved (BIRD
/// closes the loser with, or receives, NOTIFICATION 6/7).
fn collisions(lab: &Lab) -> usize {
    let log = std::fs::read_to_string(lab.path("m-bird.log")).unwrap_or_default();
    log.lines()
        .filter(|l| l.contains("code=6.7") || l.to_lowercase().contains("collision"))
        .count()
}

#[test]
fn both_sides_active_settle_on_one_connection() {
    interop::which("ss", "iproute2");
    interop::which("python3", "python3");
    let mut lab = Lab::new("col", &[("rs", 1), ("m", 11)]);
    let mut m = Bird::new("m", 64496, 11, &["185.73.11.0/24"]);
    m.v4_only = true;
    m.active = true;
    m.extra = "  connect delay time 1;\n  debug { states, events, packets };\n".to_string();
    let conf = rs_config("connect_retry = 2\n", &[m.member_toml("passive = false\n")]);
    let rs_pid = lab.start_rs(&conf);
    let id = m.rs_id4();
    wait_until("caribix's API", Duration::from_secs(30), || {
        rs_session(&lab, &id)
    });
    let signal = |sig: &str| {
        interop::run(&["kill", &format!("-{sig}"), &rs_pid.to_string()])
            .unwrap_or_else(|e| panic!("{e}"));
    };
    let mut rounds = 0;
    loop {
        rounds += 1;
        // caribix retries every 2 s against a BIRD that is not there.
        std::thread::sleep(Duration::from_secs(1));
        signal("STOP");
        m.start(&mut lab, false);
        wait_until(
            "BIRD's connection open and its OPEN sent",
            Duration::from_secs(20),
            || {
                let out = m.birdc(&lab, &["show", "protocols", "all", "rs4"])?;
                if out.contains("OpenSent") {
                    Ok(())
                } else {
                    Err(out)
                }
            },
        );
        // Longer than caribix's restart delay (5 s), so that its next
        // attempt is due when it is thawed.
        std::thread::sleep(Duration::from_secs(6));
        signal("CONT");
        wait_until("Established on both sides", Duration::from_secs(60), || {
            m.established(&lab)?;
            match rs_session(&lab, &id)? {
                (s, _) if s == "Established" => Ok(()),
                other => Err(format!("caribix: {other:?}")),
            }
        });
        let conns = wait_until("one TCP connection left", Duration::from_secs(20), || {
            let c = bgp_connections(&lab)?;
            if c.len() == 1 {
                Ok(c)
            } else {
                Err(format!("{c:?}"))
            }
        });
        let (_, up0) = rs_session(&lab, &id).unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_secs(3));
        let (state, up1) = rs_session(&lab, &id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(state, "Established");
        assert!(
            up1 >= up0 + 2,
            "the session flapped: uptime {up0} then {up1}"
        );
        assert_eq!(
            bgp_connections(&lab).unwrap_or_else(|e| panic!("{e}")),
            conns,
            "the connection changed"
        );
        wait_until(
            "caribix holds BIRD's route",
            Duration::from_secs(20),
            || {
                let got = lab.rs_routes_from(&id)?;
                if got == ["185.73.11.0/24"] {
                    Ok(())
                } else {
                    Err(format!("{got:?}"))
                }
            },
        );
        if collisions(&lab) > 0 {
            let kept = if conns[0].contains("192.0.2.1:179") {
                "the one BIRD opened"
            } else {
                "the one caribix opened"
            };
            eprintln!("round {rounds}: collision resolved, kept {kept}: {conns:?}");
            break;
        }
        assert!(
            rounds < 6,
            "no collision in {rounds} rounds: caribix always took BIRD's connection first"
        );
        m.kill9(&mut lab);
        let _ = std::fs::rename(
            lab.path("m-bird.log"),
            lab.path(&format!("m-bird-{rounds}.log")),
        );
        wait_until(
            "caribix sees BIRD gone",
            Duration::from_secs(20),
            || match rs_session(&lab, &id)? {
                (s, _) if s != "Established" => Ok(()),
                other => Err(format!("{other:?}")),
            },
        );
    }
    eprintln!("collision provoked in round {rounds}");
}
