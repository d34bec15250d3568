//! `caribix mrt-stats FILE`: decode every BGP message of an MRT dump with
//! the caribix codec and summarise it. A quick way to check the codec on
//! real traffic, and the README's first command until the demo exists.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use bgp_wire::{DecodeCtx, Family, FamilySet, Message};

pub(crate) fn run(file: &Path) -> ExitCode {
    let started = Instant::now();
    let msgs = match mrt::read_file(file) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    let read = started.elapsed();
    let started = Instant::now();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut v4, mut v6, mut withdrawn, mut issues, mut errors) = (0usize, 0usize, 0, 0, 0);
    let mut peers = std::collections::BTreeSet::new();
    for m in &msgs {
        peers.insert((m.peer_as, m.peer_ip));
        let ctx = DecodeCtx {
            four_octet_as: m.four_octet_as,
            add_path: if m.add_path {
                FamilySet::BOTH
            } else {
                FamilySet::EMPTY
            },
            ..DecodeCtx::default()
        };
        match Message::decode(&m.message, &ctx) {
            Ok(Message::Update(u)) => {
                *by_type.entry("UPDATE").or_default() += 1;
                issues += u.issues.len();
                for n in u.announced() {
                    match n.prefix.family() {
                        Family::Ipv4Unicast => v4 += 1,
                        Family::Ipv6Unicast => v6 += 1,
                    }
                }
                withdrawn += u.withdrawals().count();
            }
            Ok(Message::Open(_)) => *by_type.entry("OPEN").or_default() += 1,
            Ok(Message::Keepalive) => *by_type.entry("KEEPALIVE").or_default() += 1,
            Ok(Message::Notification(_)) => *by_type.entry("NOTIFICATION").or_default() += 1,
            Ok(Message::RouteRefresh(_)) => *by_type.entry("ROUTE-REFRESH").or_default() += 1,
            Err(e) => {
                errors += 1;
                eprintln!("message from AS{} {}: {e}", m.peer_as, m.peer_ip);
            }
        }
    }
    let decode = started.elapsed();
    println!(
        "{}: {} BGP messages from {} peers",
        file.display(),
        msgs.len(),
        peers.len()
    );
    for (t, n) in &by_type {
        println!("  {t:<13} {n}");
    }
    println!("  announced     {v4} IPv4, {v6} IPv6 prefixes");
    println!("  withdrawn     {withdrawn} prefixes");
    println!("  RFC 7606      {issues} attribute issues handled without reset");
    println!("  errors        {errors} messages that would reset the session");
    println!(
        "  time          {:.1} ms to read and inflate, {:.1} ms to decode",
        read.as_secs_f64() * 1e3,
        decode.as_secs_f64() * 1e3
    );
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
