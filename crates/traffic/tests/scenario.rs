//! Replay of recorded scenarios: `tests/scenarios/NAME/input.json` holds
//! members, a member router's interface roles, the route server's prefixes,
//! a delegation file and flow records; the classification of every record,
//! the per-minute tallies, the window totals and the ranked opportunities
//! are compared with `expected.json` beside it. Set
//! `CARIBIX_UPDATE_TEST_OUTPUTS=1` to rewrite the expected files (then read
//! the diff before committing it).

use flow::{FlowRecord, FlowSource, InterfaceRole, MemberTable, UnixMillis};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use traffic::{parse_delegations, rank_opportunities, Directory, LocalNets, Prefix, Tally};

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn n(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

fn run(dir: &Path) -> Value {
    let input: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("input.json")).unwrap()).unwrap();
    let countries: Vec<&str> = input["countries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let deleg_text = std::fs::read_to_string(dir.join(s(&input, "delegations").unwrap())).unwrap();
    let delegations = parse_delegations(&deleg_text, &countries).unwrap();

    let mut members = MemberTable::new();
    let mut directory = Directory::default();
    for m in input["members"].as_array().unwrap() {
        let asn = u32::try_from(n(m, "asn").unwrap()).unwrap();
        let name = s(m, "name").unwrap();
        members.add_member(asn, name);
        members.add_mac(s(m, "mac").unwrap().parse().unwrap(), asn);
        directory.members.insert(asn, name.to_string());
    }
    for r in input["routers"].as_array().unwrap() {
        let exporter: IpAddr = s(r, "exporter").unwrap().parse().unwrap();
        members.add_router(exporter, u32::try_from(n(r, "asn").unwrap()).unwrap());
        for (ifx, role) in r["interfaces"].as_object().unwrap() {
            let role = match role.as_str().unwrap() {
                "ixp" => InterfaceRole::Ixp,
                "transit" => InterfaceRole::Transit,
                "customer" => InterfaceRole::Customer,
                other => panic!("role {other}"),
            };
            members.set_interface_role(exporter, ifx.parse().unwrap(), role);
        }
    }
    let mut nets = LocalNets::new();
    nets.set_delegations(&delegations);
    let rs: Vec<(Prefix, u32)> = input["route_server_prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().parse().unwrap(),
                u32::try_from(p[1].as_u64().unwrap()).unwrap(),
            )
        })
        .collect();
    nets.set_route_server_prefixes(rs);

    let mut tally = Tally::new();
    let mut classes = Vec::new();
    for (i, r) in input["records"].as_array().unwrap().iter().enumerate() {
        let exporter: IpAddr = s(r, "exporter").unwrap().parse().unwrap();
        let sflow = r.get("src_mac").is_some();
        let rec = FlowRecord {
            exporter,
            source: if sflow {
                FlowSource::Sflow {
                    agent: exporter,
                    sub_agent: 0,
                    source_id: 0,
                }
            } else {
                FlowSource::Ipfix {
                    domain: 0,
                    template: 256,
                }
            },
            src_mac: s(r, "src_mac").map(|m| m.parse().unwrap()),
            dst_mac: s(r, "dst_mac").map(|m| m.parse().unwrap()),
            src_ip: s(r, "src_ip").map(|a| a.parse().unwrap()),
            dst_ip: s(r, "dst_ip").map(|a| a.parse().unwrap()),
            protocol: Some(6),
            src_port: Some(443),
            dst_port: Some(50000),
            bytes: n(r, "bytes").unwrap(),
            packets: n(r, "packets").unwrap(),
            sampling_rate: 1,
            ingress_if: n(r, "in_if").map(|x| u32::try_from(x).unwrap()),
            egress_if: n(r, "out_if").map(|x| u32::try_from(x).unwrap()),
            vlan: None,
            src_as: None,
            dst_as: None,
            timestamp: UnixMillis(n(r, "t").unwrap() * 1000),
        };
        let a = members.attribute(&rec);
        let c = tally.add(&rec, &a, &nets);
        classes.push(json!({
            "record": i,
            "class": c.class.name(),
            "src_net": c.src_net,
            "dst_net": c.dst_net,
        }));
    }
    let minutes: Vec<Value> = tally
        .minutes()
        .map(|m| {
            json!({
                "start": m.start,
                "total_bytes": m.total_bytes,
                "local_bytes": m.local_bytes,
                "tromboned_bytes": m.tromboned_bytes,
                "pairs": m.pairs.iter().map(|((a, b), v)| json!([a, b, v])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let total = tally.sum(0, u64::MAX);
    let opportunities: Vec<Value> = rank_opportunities(
        total.pairs.iter().map(|((a, b), v)| (*a, *b, *v)),
        &directory,
    )
    .into_iter()
    .map(|o| json!({"a_asn": o.a_asn, "b_asn": o.b_asn, "bytes": o.bytes, "why": o.why}))
    .collect();
    json!({
        "records": classes,
        "minutes": minutes,
        "local": {
            "total_bytes": total.total_bytes,
            "local_bytes": total.local_bytes,
            "local_share": (total.local_share() * 1e6).round() / 1e6,
            "tromboned_bytes": total.tromboned_bytes,
        },
        "opportunities": opportunities,
    })
}

#[test]
fn scenarios_match_expected_outputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let update = std::env::var("CARIBIX_UPDATE_TEST_OUTPUTS").is_ok_and(|v| v == "1");
    let mut seen = 0;
    let mut failures: HashMap<String, String> = HashMap::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        if !dir.join("input.json").exists() {
            continue;
        }
        seen += 1;
        let got = serde_json::to_string_pretty(&run(&dir)).unwrap() + "\n";
        let path = dir.join("expected.json");
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run with CARIBIX_UPDATE_TEST_OUTPUTS=1 and check it",
                path.display()
            )
        });
        if got != want {
            failures.insert(dir.display().to_string(), got);
        }
    }
    assert!(seen > 0, "no scenarios under {}", root.display());
    assert!(
        failures.is_empty(),
        "outputs differ from expected.json (CARIBIX_UPDATE_TEST_OUTPUTS=1 rewrites them):\n{failures:#?}"
    );
}
