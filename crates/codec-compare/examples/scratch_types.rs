use bgp_wire::{DecodeCtx, FamilySet, Message};
fn main() {
    let msgs = mrt::read_file(&mrt::shared_sample(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut counts = [0usize; 6];
    for (i, m) in msgs.iter().enumerate() {
        let t = m.message[18] as usize;
        counts[t.min(5)] += 1;
        if t != 2 && counts[t] <= 2 {
            println!(
                "record {i} type {t} four={} peer AS{} {}",
                m.four_octet_as,
                m.peer_as,
                m.message
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
        }
        let ctx = DecodeCtx {
            four_octet_as: m.four_octet_as,
            add_path: FamilySet::EMPTY,
            ebgp: true,
            extended_message: false,
        };
        if let Ok(Message::Update(u)) = Message::decode(&m.message, &ctx) {
            let a = &u.attributes;
            let tag = if a.as4_path.is_some() && a.as4_aggregator.is_some() {
                "AS4PATH+AS4AGG"
            } else if a.as4_path.is_some() {
                "AS4PATH"
            } else if a.aggregator.is_some() && a.atomic_aggregate && m.message.len() < 90 {
                "AGG+ATOMIC"
            } else if !u.withdrawn.is_empty() && u.nlri.is_empty() && m.message.len() < 40 {
                "WITHDRAW"
            } else {
                ""
            };
            if !tag.is_empty() && m.message.len() < 140 {
                println!(
                    "record {i} {tag} four={} peer AS{} {}",
                    m.four_octet_as,
                    m.peer_as,
                    m.message
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                );
            }
        }
    }
    println!("{counts:?}");
}
