//! Write seed corpora for the fuzz targets of `fuzz/` from the RIS MRT
//! sample: `cargo run -p codec-compare --example fuzz_seeds -- fuzz/corpus`.
//!
//! Each seed starts with the context byte the targets read (bit 0: 4-octet
//! AS, bits 1-2: ADD-PATH IPv4/IPv6, bit 3: eBGP, bit 4: extended
//! messages), followed by the message (`bgp_message`) or UPDATE body
//! (`bgp_update`). `bgp_open` gets OPEN bodies with every capability.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use bgp_wire::open::GracefulRestartFamily;
use bgp_wire::{AddPathMode, Afi, Capability, Open, Role, Safi};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let msgs = mrt::read_file(&mrt::shared_sample(env!("CARGO_MANIFEST_DIR")))?;
    for t in ["bgp_message", "bgp_update", "bgp_open"] {
        std::fs::create_dir_all(dir.join(t))?;
    }
    let mut n = 0;
    // Every 4th message keeps the corpus small but varied.
    for (i, m) in msgs.iter().enumerate().filter(|(i, _)| i % 4 == 0) {
        let ctx = u8::from(m.four_octet_as) | 8;
        let mut seed = vec![ctx];
        seed.extend_from_slice(&m.message);
        std::fs::write(dir.join("bgp_message").join(format!("mrt-{i}")), &seed)?;
        if m.message.get(18) == Some(&2) {
            let mut seed = vec![ctx];
            seed.extend_from_slice(m.message.get(19..).unwrap_or_default());
            std::fs::write(dir.join("bgp_update").join(format!("mrt-{i}")), &seed)?;
        }
        n += 1;
    }
    let caps = vec![
        Capability::Multiprotocol(Afi::Ipv4, Safi::Unicast),
        Capability::Multiprotocol(Afi::Ipv6, Safi::Unicast),
        Capability::RouteRefresh,
        Capability::EnhancedRouteRefresh,
        Capability::ExtendedMessage,
        Capability::Role(Role::RouteServer),
        Capability::ExtendedNextHop(vec![(Afi::Ipv4, Safi::Unicast, Afi::Ipv6)]),
        Capability::GracefulRestart {
            restarting: false,
            notification: true,
            time: 120,
            families: vec![GracefulRestartFamily {
                afi: Afi::Ipv4,
                safi: Safi::Unicast,
                forwarding_preserved: true,
            }],
        },
        Capability::AddPath(vec![(Afi::Ipv4, Safi::Unicast, AddPathMode::Both)]),
        Capability::Unknown(128, vec![1, 2, 3]),
    ];
    let open = Open::new(4_200_000_001, 90, Ipv4Addr::new(192, 0, 2, 1), caps);
    let mut body = Vec::new();
    open.encode_body(&mut body);
    std::fs::write(dir.join("bgp_open").join("all-capabilities"), &body)?;
    let mut msg = vec![1u8];
    bgp_wire::message::write_open(&mut msg, &open);
    std::fs::write(dir.join("bgp_message").join("open"), &msg)?;
    println!(
        "wrote {n} MRT seeds and 2 OPEN seeds under {}",
        dir.display()
    );
    Ok(())
}
