//! The `[flows]` keys for local-traffic identification: delegation files,
//! territory country codes and member border routers with interface roles.

mod common;

use registry::Config;
use std::path::Path;

use common::IXP_LAN_V4;

/// One member, after [`IXP_LAN_V4`]; the `[flows]` tables come after it.
const MEMBER: &str =
    "\n[[member]]\nasn = 65001\nname = \"Example Telecom\"\nipv4 = [\"192.0.2.11\"]\n";

fn load(flows: &str) -> Result<Config, String> {
    Config::from_toml(
        Path::new("flows.toml"),
        &format!("{IXP_LAN_V4}{MEMBER}\n{flows}"),
    )
    .map_err(|d| d.to_string())
}

#[test]
fn routers_delegations_and_territory_load() {
    let cfg = load(
        r#"[flows]
sflow = "127.0.0.1:6343"
delegations = ["data/delegated-lacnic-extended-latest"]
territory = ["gp", "MF", "BL", "SX"]

[[flows.router]]
exporter = "192.0.2.211"
asn = 65001
ixp = [1]
transit = [2, 3]
customer = [4]
"#,
    )
    .unwrap();
    let f = cfg.flows.unwrap();
    assert_eq!(f.territory, ["GP", "MF", "BL", "SX"]);
    assert_eq!(f.delegations.len(), 1);
    let r = &f.routers[0];
    assert_eq!(r.exporter.to_string(), "192.0.2.211");
    assert_eq!(
        (r.asn, r.ixp.clone(), r.transit.clone(), r.customer.clone()),
        (65001, vec![1], vec![2, 3], vec![4])
    );
}

#[test]
fn bad_router_keys_are_reported_with_their_place() {
    let e = load(
        "[flows]\nterritory = [\"Guadeloupe\"]\n\n[[flows.router]]\nexporter = \"router1\"\nasn = 65001\ntransit = [-1]\n",
    )
    .unwrap_err();
    assert!(e.contains("not a two-letter country code"), "{e}");
    assert!(e.contains("`router1` is not an IP address"), "{e}");
    assert!(e.contains("ifIndex must be between 0 and"), "{e}");
    assert!(e.contains("flows.toml:"), "{e}");
    let e =
        load("[flows]\n\n[[flows.router]]\nexporter = \"192.0.2.1\"\nasn = 65001\nuplink = [1]\n")
            .unwrap_err();
    assert!(e.contains("uplink"), "{e}");
}
