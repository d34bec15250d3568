//! The shipped example configurations load, say what they should, and the
//! effective configuration printed from them loads back to the same thing.

use std::path::{Path, PathBuf};

use registry::{BridgeDefault, Config, FlowStore};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn load(name: &str) -> Config {
    match Config::load(&example(name)) {
        Ok(c) => c,
        Err(d) => panic!("{name} does not load:\n{d}"),
    }
}

#[test]
fn single_ixp_example_loads_without_warnings() {
    let cfg = load("caribix.toml");
    let w = cfg.warnings.as_ref().map_or(0, |w| w.items.len());
    assert_eq!(w, 0, "{}", cfg.warnings.as_ref().unwrap());
    assert_eq!(cfg.ixps.len(), 1);
    assert_eq!(cfg.ixps[0].shortname, "GPIX");
    assert_eq!(cfg.ixps[0].ixp_id, 1);
    assert_eq!(cfg.route_servers.len(), 2);
    assert_eq!(cfg.route_servers[1].hold_time, 180);
    assert_eq!(cfg.route_servers[0].hold_time, 90);
    assert!(
        cfg.members.len() >= 12,
        "a dozen members: {}",
        cfg.members.len()
    );
    assert!(cfg.members.iter().all(|m| m.ixp == "GPIX"));
    assert!(cfg.policy.rpki_enabled());
    assert!(!cfg.policy.irr_enabled());
    assert_eq!(cfg.policy.never_via_route_servers_asns, vec![65551]);
    assert_eq!(
        cfg.policy.transit_free_asns,
        registry::DEFAULT_TRANSIT_FREE_ASNS
    );
    assert_eq!(
        cfg.flows.as_ref().map(|f| f.store.clone()),
        Some(FlowStore::Sqlite("data/flows.db".into()))
    );
    let fibre = cfg.members.iter().find(|m| m.asn == 64505).unwrap();
    assert_eq!(fibre.ipv4.len(), 2);
    assert_eq!(
        fibre.extra_next_hops,
        vec!["192.0.2.33".parse::<std::net::IpAddr>().unwrap()]
    );
    let transit = cfg.members.iter().find(|m| m.asn == 65537).unwrap();
    assert_eq!(transit.irr_as_set(), Some("AS65537:AS-GUADELOUPE"));
    assert_eq!(transit.policy.max_as_path_len, Some(16));
    let by_addr = cfg
        .member_by_address("2001:db8:10::23".parse().unwrap())
        .unwrap();
    assert_eq!(by_addr.name, "Université des Antilles");
    assert!(
        cfg.summary()
            .starts_with("1 IXP (GPIX), 1 peering LAN, 2 route servers, 13 members"),
        "{}",
        cfg.summary()
    );
}

#[test]
fn multi_ixp_example_loads() {
    let cfg = load("caribix-multi.toml");
    let shorts: Vec<&str> = cfg.ixps.iter().map(|i| i.shortname.as_str()).collect();
    assert_eq!(shorts, ["GPIX", "SXMIX", "SBHIX"]);
    assert_eq!(cfg.route_servers.len(), 3);
    for ixp in &shorts {
        assert_eq!(cfg.lans_of(ixp).count(), 1, "{ixp}");
        assert_eq!(cfg.route_servers_of(ixp).count(), 1, "{ixp}");
        assert!(cfg.members_of(ixp).count() >= 3, "{ixp}");
    }
    // The same network at three IXPs: three entries, one per IXP.
    assert_eq!(cfg.members.iter().filter(|m| m.asn == 64496).count(), 3);
    let local = cfg.bridges.iter().find(|b| b.name == "caribix").unwrap();
    assert_eq!(local.default, BridgeDefault::On);
    let remote = cfg
        .bridges
        .iter()
        .find(|b| b.name == "sxm-sint-maarten")
        .unwrap();
    assert_eq!(remote.remote.as_ref().unwrap().asn, 65550);
    assert_eq!(remote.default, BridgeDefault::Off);
    let region = cfg.members.iter().find(|m| m.asn == 64502).unwrap();
    assert!(!local.carries(region), "opted out");
    let telco_sxm = cfg
        .members
        .iter()
        .find(|m| m.asn == 64496 && m.ixp == "SXMIX")
        .unwrap();
    assert!(local.carries(telco_sxm));
    assert!(remote.carries(telco_sxm), "opted in");
    let telco_gp = cfg
        .members
        .iter()
        .find(|m| m.asn == 64496 && m.ixp == "GPIX")
        .unwrap();
    assert!(
        !remote.carries(telco_gp),
        "the remote bridge does not reach GPIX"
    );
}

#[test]
fn effective_toml_loads_back_to_the_same_configuration() {
    for name in ["caribix.toml", "caribix-multi.toml"] {
        let cfg = load(name);
        let eff = cfg.effective_toml();
        let again = Config::from_toml(Path::new("effective.toml"), &eff)
            .unwrap_or_else(|d| panic!("effective form of {name} does not load:\n{d}\n{eff}"));
        assert_eq!(again.ixps, cfg.ixps);
        assert_eq!(again.peering_lans, cfg.peering_lans);
        assert_eq!(again.route_servers, cfg.route_servers);
        assert_eq!(again.policy, cfg.policy);
        assert_eq!(again.web, cfg.web);
        assert_eq!(again.flows, cfg.flows);
        assert_eq!(again.members, cfg.members);
        assert_eq!(again.bridges, cfg.bridges);
        assert_eq!(again.effective_toml(), eff);
        // Defaults are written out.
        assert!(eff.contains("hold_time = 90"), "{eff}");
        assert!(eff.contains("max_as_path_len = 32"), "{eff}");
    }
}

#[test]
fn spec_section_4_example_loads() {
    // The example of SPEC §4, verbatim.
    let src = r#"[ixp]
shortname = "GPIX"
name = "Guadeloupe Internet Exchange Point"
country = "GP"

[[peering_lan]]
name = "main"
vlan = 10
ipv4 = "192.0.2.0/24"
ipv6 = "2001:db8:10::/64"

[route_server]
asn = 64500
router_id = "192.0.2.1"
listen = ["192.0.2.1:179", "[2001:db8:10::1]:179"]

[policy]                 # every key optional; defaults are the secure ones
rpki = { rtr = ["127.0.0.1:3323"] }
irr = { rpsl_files = ["irr/local.db"] }

[web]
listen = "127.0.0.1:8080"

[flows]
sflow = "0.0.0.0:6343"
ipfix = "0.0.0.0:4739"
store = "sqlite:data/flows.db"

[[member]]
asn = 65001
name = "Example Telecom"
as_set = "AS-EXAMPLE"
ipv4 = ["192.0.2.11"]
ipv6 = ["2001:db8:10::11"]
macs = ["02:00:00:00:00:11"]
max_prefix = { ipv4 = 100, ipv6 = 50 }
"#;
    let cfg = Config::from_toml(Path::new("/nonexistent/spec.toml"), src)
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(cfg.members.len(), 1);
    assert_eq!(cfg.policy.irr.rpsl_files, vec!["irr/local.db"]);
    // The RPSL file does not exist there: a warning, not an error.
    let w = cfg.warnings.as_ref().unwrap();
    assert_eq!(w.warning_count(), 1, "{w}");
    assert!(w.render().contains("spec.toml:19:23"), "{w}");
}
