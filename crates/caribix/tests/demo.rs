//! `caribix demo --check` runs the route server with a dozen simulated
//! members over real TCP sessions on 127.0.1.x and checks that every member
//! is Established and holds exactly every other member's routes, with the
//! route server's AS never in the path (RFC 7947 transparency), that the
//! misconfigured member's routes are rejected with exactly their codes
//! (including RPKI invalid over the in-process RTR cache, origin and
//! prefix not in its AS-SET), and that the API explains them; and that
//! its BLACKHOLE /32 (RFC 7999) reaches another member with NO_EXPORT.

use std::process::Command;

#[test]
fn demo_converges_and_every_member_gets_every_other_members_routes() {
    let out = Command::new(env!("CARGO_BIN_EXE_caribix"))
        .args([
            "demo",
            "--duration",
            "10",
            "--check",
            "--web",
            "127.0.0.1:0",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run caribix demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("check passed"), "{stdout}");
    assert!(stdout.matches("Established").count() >= 12, "{stdout}");
    assert!(
        stdout.contains(
            "check passed: the misconfigured member's bad routes are kept with their reasons"
        ),
        "the reject-code check did not run\n{stdout}"
    );
    assert!(
        stdout.contains("check passed: the API explains the RPKI invalid (14)"),
        "the RPKI/IRR API check did not run\n{stdout}"
    );
    assert!(
        stdout.contains("check passed: the BLACKHOLE /32 reached another member with NO_EXPORT"),
        "the BLACKHOLE check did not run\n{stdout}"
    );
    assert!(
        stdout.contains("check passed: traffic API shows"),
        "the traffic API check did not run\n{stdout}"
    );
}
