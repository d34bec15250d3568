//! `IxpPolicy::from_config` on a real configuration file: the
//! per-member max-prefix action falls back to the global one, and the
//! limits come from the member's `max_prefix`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use policy::IxpPolicy;
use registry::MaxPrefixAction;
use routeserver::{MemberInfo, Policy};

const CONFIG: &str = r#"[ixp]
shortname = "GPIX"
name = "Guadeloupe IXP"
country = "GP"

[[peering_lan]]
name = "main"
vlan = 10
ipv4 = "192.0.2.0/24"

[route_server]
asn = 64500
router_id = "192.0.2.1"
listen = ["192.0.2.1:179"]

[policy]
max_prefix_action = "warning"

[[member]]
asn = 64501
name = "Global action"
ipv4 = ["192.0.2.11"]
max_prefix = { ipv4 = 10, ipv6 = 5 }

[[member]]
asn = 64502
name = "Own action"
ipv4 = ["192.0.2.12"]
max_prefix = { ipv4 = 20, ipv6 = 6 }
policy = { max_prefix_action = "shutdown" }
"#;

fn member(asn: u32, last: u8) -> MemberInfo {
    MemberInfo {
        asn,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
        name: String::new(),
    }
}

#[test]
fn max_prefix_action_and_limits_per_member() {
    let cfg = registry::Config::from_toml(Path::new("t.toml"), CONFIG)
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let p = IxpPolicy::from_config(&cfg, &cfg.route_servers[0]);
    let (a, b) = (member(64501, 11), member(64502, 12));
    assert_eq!(p.max_prefix_action(&a), MaxPrefixAction::Warning);
    assert_eq!(p.max_prefix_action(&b), MaxPrefixAction::Shutdown);
    assert_eq!(p.max_prefix(&a), Some([10, 5]));
    assert_eq!(p.max_prefix(&b), Some([20, 6]));
    // A session of no configured member gets the global settings.
    assert_eq!(
        p.max_prefix_action(&member(64999, 99)),
        MaxPrefixAction::Warning
    );
}
