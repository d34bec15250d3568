//! Checks of the `[[member]]` tables: AS numbers, addresses inside a
//! peering LAN of the member's IXP (not its network or broadcast address,
//! not a route server's), duplicate addresses and MACs across all members,
//! max-prefix defaults, AS-SET names (RFC 2622 §5.1), policy overrides and
//! bridge opt-in/opt-out references. Shapes were checked by serde before.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{max_prefix, Span, V};
use crate::diag::Diagnostic;
use crate::model::*;
use crate::raw::{self, S};
use crate::syntax::Mac;

pub(super) struct Ctx<'a> {
    pub(super) lans: &'a [PeeringLan],
    pub(super) route_servers: &'a [RouteServer],
    pub(super) bridges: &'a [Bridge],
    pub(super) policy: &'a Policy,
}

fn lan_addr<T: Copy + Into<IpAddr> + std::str::FromStr>(
    v: &mut V,
    ctx: &Ctx<'_>,
    ixp: Option<&str>,
    s: &S<String>,
    family: &str,
    what: &str,
) -> Option<T> {
    let text = s.get_ref();
    let a: T = match text.parse() {
        Ok(a) => a,
        Err(_) => {
            let hint = if text.contains('/') {
                format!("`{text}` is a prefix; write the member's address without a length")
            } else if text.parse::<IpAddr>().is_ok() {
                format!("`{text}` is not an {family} address")
            } else {
                format!("`{text}` is not an IP address")
            };
            v.err(s.span(), hint, format!("the {what} list holds {family} addresses of the member's router on the peering LAN"));
            return None;
        }
    };
    let ip: IpAddr = a.into();
    let ixp = ixp?;
    let lans: Vec<&PeeringLan> = ctx.lans.iter().filter(|l| l.ixp == ixp).collect();
    match lans.iter().find(|l| l.contains(ip)) {
        None => {
            let subnets: Vec<String> = lans
                .iter()
                .flat_map(|l| [l.ipv4, l.ipv6])
                .flatten()
                .filter(|p| p.addr().is_ipv4() == ip.is_ipv4())
                .map(|p| p.to_string())
                .collect();
            v.err(
                s.span(),
                format!("{ip} is outside every {family} peering LAN of {ixp}"),
                if subnets.is_empty() {
                    format!("{ixp} has no {family} peering LAN; add one or remove this address")
                } else {
                    format!(
                        "member addresses must be on a peering LAN: {}",
                        subnets.join(", ")
                    )
                },
            );
            return None;
        }
        Some(lan) => {
            if let (IpAddr::V4(a4), Some(p)) = (ip, lan.ipv4) {
                if p.len() < 31 {
                    let net = u32::from(a4)
                        == match p.addr() {
                            IpAddr::V4(n) => u32::from(n),
                            IpAddr::V6(_) => 0,
                        };
                    let host_mask = u32::MAX >> p.len();
                    let bcast = u32::from(a4) & host_mask == host_mask;
                    if net || bcast {
                        v.err(
                            s.span(),
                            format!(
                                "{ip} is the {} address of {p}",
                                if net { "network" } else { "broadcast" }
                            ),
                            "give the member a host address of the LAN",
                        );
                        return None;
                    }
                }
            }
        }
    }
    if ctx
        .route_servers
        .iter()
        .any(|rs| rs.listen.iter().any(|l| l.ip() == ip))
    {
        v.err(
            s.span(),
            format!("{ip} is a route server address"),
            "give the member its own address",
        );
        return None;
    }
    Some(a)
}

pub(super) fn check_members(v: &mut V, raw: &[raw::Member], ctx: &Ctx<'_>) -> Vec<Member> {
    let mut out = Vec::new();
    let mut addrs: HashMap<IpAddr, Span> = HashMap::new();
    let mut macs: HashMap<Mac, Span> = HashMap::new();
    let mut asns: HashMap<(String, u32), Span> = HashMap::new();
    let rs_asns: Vec<u32> = ctx.route_servers.iter().map(|r| r.asn).collect();
    for r in raw {
        let asn = v.asn(&r.asn, "member ASN");
        let name = v.nonempty(&r.name, "member name");
        let ixp = v.resolve_ixp(&r.ixp, r.asn.span(), "this member");
        if let Some(a) = asn {
            if rs_asns.contains(&a) {
                v.err(
                    r.asn.span(),
                    format!("AS{a} is the route server's AS"),
                    "a member cannot share the route server's AS number",
                );
            }
            if let Some(ixp) = &ixp {
                if let Some(first) = asns.get(&(ixp.clone(), a)) {
                    let d = Diagnostic::warning(
                        Some(r.asn.span()),
                        format!("AS{a} appears twice among the members of {ixp}"),
                    )
                    .with_note("first entry", first.clone())
                    .with_help("list all of a member's addresses in one [[member]] entry unless the two entries need different settings");
                    v.d.push(d);
                } else {
                    asns.insert((ixp.clone(), a), r.asn.span());
                }
            }
        }
        let as_set = v.as_set(&r.as_set).flatten();
        let mut dup = |v: &mut V, ip: IpAddr, span: Span| {
            if let Some(first) = addrs.get(&ip) {
                let d = Diagnostic::error(Some(span), format!("address {ip} is given twice"))
                    .with_note("first given", first.clone())
                    .with_help("each peering LAN address belongs to one member router");
                v.d.push(d);
            } else {
                addrs.insert(ip, span);
            }
        };
        let mut ipv4: Vec<Ipv4Addr> = Vec::new();
        for s in &r.ipv4 {
            if let Some(a) = lan_addr::<Ipv4Addr>(v, ctx, ixp.as_deref(), s, "IPv4", "ipv4") {
                dup(v, IpAddr::V4(a), s.span());
                ipv4.push(a);
            }
        }
        let mut ipv6: Vec<Ipv6Addr> = Vec::new();
        for s in &r.ipv6 {
            if let Some(a) = lan_addr::<Ipv6Addr>(v, ctx, ixp.as_deref(), s, "IPv6", "ipv6") {
                dup(v, IpAddr::V6(a), s.span());
                ipv6.push(a);
            }
        }
        if r.ipv4.is_empty() && r.ipv6.is_empty() {
            v.err(
                r.asn.span(),
                format!("member {} has no address on the peering LAN", name.as_deref().unwrap_or("")),
                "add ipv4 = [\"...\"] and/or ipv6 = [\"...\"] with the member router's LAN addresses",
            );
        }
        let mut mac_list = Vec::new();
        for s in &r.macs {
            match s.get_ref().parse::<Mac>() {
                Ok(m) => {
                    if let Some(first) = macs.get(&m) {
                        let d = Diagnostic::error(
                            Some(s.span()),
                            format!("MAC address {m} is given twice"),
                        )
                        .with_note("first given", first.clone())
                        .with_help("a MAC address belongs to one router port");
                        v.d.push(d);
                    } else {
                        macs.insert(m, s.span());
                        mac_list.push(m);
                    }
                }
                Err(e) => v.err(s.span(), e, "write a MAC address as 02:00:00:00:00:11"),
            }
        }
        let default = ctx.policy.default_max_prefix;
        let mp = match &r.max_prefix {
            Some(m) => {
                let missing: Vec<&str> = [
                    (m.get_ref().ipv4.is_none() && !r.ipv4.is_empty(), "ipv4"),
                    (m.get_ref().ipv6.is_none() && !r.ipv6.is_empty(), "ipv6"),
                ]
                .iter()
                .filter(|(miss, _)| *miss)
                .map(|(_, f)| *f)
                .collect();
                if !missing.is_empty() {
                    v.warn(
                        m.span(),
                        format!("max_prefix has no {} limit; the default applies", missing.join(" or ")),
                        format!("set max_prefix = {{ ipv4 = N, ipv6 = N }}; defaults are ipv4 = {}, ipv6 = {}", default.ipv4, default.ipv6),
                    );
                }
                max_prefix(v, m.get_ref(), default)
            }
            None => {
                v.warn(
                    r.asn.span(),
                    format!(
                        "member {} has no max_prefix; the defaults apply (ipv4 = {}, ipv6 = {})",
                        name.as_deref().unwrap_or(""),
                        default.ipv4,
                        default.ipv6
                    ),
                    "set max_prefix = { ipv4 = N, ipv6 = N } from the member's PeeringDB record",
                );
                default
            }
        };
        let url = v.url(&r.url);
        let contact_email = r
            .contact_email
            .iter()
            .flatten()
            .filter_map(|e| v.email(e))
            .collect();
        let md5 = r.md5_password.as_ref().and_then(|p| {
            let n = p.get_ref().len();
            if n == 0 || n > 80 {
                v.err(
                    p.span(),
                    format!("md5_password is {n} bytes long"),
                    "a TCP-MD5 key is 1 to 80 bytes (Linux TCP_MD5SIG_MAXKEYLEN)",
                );
                None
            } else {
                Some(p.get_ref().clone())
            }
        });
        let mut extra = Vec::new();
        for s in r.extra_next_hops.iter().flatten() {
            let got = if s.get_ref().contains(':') {
                lan_addr::<Ipv6Addr>(v, ctx, ixp.as_deref(), s, "IPv6", "extra_next_hops")
                    .map(IpAddr::V6)
            } else {
                lan_addr::<Ipv4Addr>(v, ctx, ixp.as_deref(), s, "IPv4", "extra_next_hops")
                    .map(IpAddr::V4)
            };
            extra.extend(got);
        }
        let policy = match &r.policy {
            None => MemberPolicy::default(),
            Some(p) => MemberPolicy {
                irr_as_set: v.as_set(&p.irr_as_set).flatten(),
                ipv4_prefix_len: p.ipv4_prefix_len.as_ref().and_then(|_| {
                    v.len_range(
                        &p.ipv4_prefix_len,
                        ctx.policy.ipv4_prefix_len,
                        32,
                        "policy.ipv4_prefix_len",
                    )
                }),
                ipv6_prefix_len: p.ipv6_prefix_len.as_ref().and_then(|_| {
                    v.len_range(
                        &p.ipv6_prefix_len,
                        ctx.policy.ipv6_prefix_len,
                        128,
                        "policy.ipv6_prefix_len",
                    )
                }),
                max_as_path_len: p.max_as_path_len.as_ref().and_then(|m| {
                    v.int(
                        m,
                        1,
                        255,
                        "policy.max_as_path_len",
                        "AS_PATH length limit for this member",
                    )
                    .and_then(|n| u8::try_from(n).ok())
                }),
                check_irr: p.check_irr,
                check_rpki: p.check_rpki,
                check_transit_free: p.check_transit_free,
                blackhole: p.blackhole,
                blocklist: v.prefix_list(&p.blocklist).unwrap_or_default(),
                max_prefix_action: super::sources::max_prefix_action(v, &p.max_prefix_action),
            },
        };
        let bridge_list = |v: &mut V, l: &Option<Vec<S<String>>>, what: &str| -> Vec<String> {
            let mut out = Vec::new();
            for b in l.iter().flatten() {
                match ctx.bridges.iter().find(|x| &x.name == b.get_ref()) {
                    None => {
                        let known: Vec<&str> =
                            ctx.bridges.iter().map(|x| x.name.as_str()).collect();
                        v.err(
                            b.span(),
                            format!("{what} names unknown bridge `{}`", b.get_ref()),
                            if known.is_empty() {
                                "no [[bridge]] is declared".to_owned()
                            } else {
                                format!("declared bridges: {}", known.join(", "))
                            },
                        );
                    }
                    Some(x) => {
                        if let Some(ixp) = &ixp {
                            if !x.ixps.contains(ixp) {
                                v.err(
                                    b.span(),
                                    format!(
                                        "bridge `{}` does not reach {ixp}, this member's IXP",
                                        x.name
                                    ),
                                    format!("bridge `{}` joins {}", x.name, x.ixps.join(", ")),
                                );
                                continue;
                            }
                        }
                        out.push(x.name.clone());
                    }
                }
            }
            out
        };
        let opt_in = bridge_list(v, &r.bridge_opt_in, "bridge_opt_in");
        let opt_out = bridge_list(v, &r.bridge_opt_out, "bridge_opt_out");
        for b in &opt_in {
            if opt_out.contains(b) {
                let at = r
                    .bridge_opt_out
                    .iter()
                    .flatten()
                    .find(|s| s.get_ref() == b)
                    .map_or(r.asn.span(), |s| s.span());
                v.err(
                    at,
                    format!("bridge `{b}` is in both bridge_opt_in and bridge_opt_out"),
                    "keep it in one of the two lists",
                );
            }
        }
        out.push(Member {
            asn: asn.unwrap_or(0),
            name: name.unwrap_or_default(),
            ixp: ixp.unwrap_or_default(),
            as_set,
            ipv4,
            ipv6,
            macs: mac_list,
            max_prefix: mp,
            url,
            peering_policy: r.peering_policy.as_ref().map(|s| s.get_ref().clone()),
            contact_email,
            route_server: r.route_server.unwrap_or(true),
            passive: r.passive.unwrap_or(false),
            md5_password: md5,
            gtsm: r.gtsm.unwrap_or(false),
            add_path: r.add_path.unwrap_or(false),
            extra_next_hops: extra,
            policy,
            bridge_opt_in: opt_in,
            bridge_opt_out: opt_out,
        });
    }
    out
}
