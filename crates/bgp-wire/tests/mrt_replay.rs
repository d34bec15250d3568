//! Every UPDATE of the RIPE RIS sample (`../shared/data/mrt/`) decodes, and
//! re-encoding gives the same bytes or a documented RFC-equivalent form.

use bgp_wire::{DecodeCtx, EncodeCtx, FamilySet, Message, UpdateMessage};

struct Stats {
    updates: usize,
    announced: usize,
    withdrawn: usize,
    identical: usize,
    equivalent: usize,
}

#[test]
fn every_ris_update_decodes_and_round_trips() {
    let msgs = mrt::read_file(&mrt::shared_sample(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut st = Stats {
        updates: 0,
        announced: 0,
        withdrawn: 0,
        identical: 0,
        equivalent: 0,
    };
    for (i, m) in msgs.iter().enumerate() {
        let ctx = DecodeCtx {
            four_octet_as: m.four_octet_as,
            add_path: FamilySet::EMPTY,
            ebgp: true,
            extended_message: false,
        };
        let msg = Message::decode(&m.message, &ctx)
            .unwrap_or_else(|e| panic!("record {i} from AS{}: {e}", m.peer_as));
        let Message::Update(u) = msg else { continue };
        st.updates += 1;
        assert!(
            u.issues.is_empty(),
            "record {i}: RFC 7606 issues on real traffic: {:?}",
            u.issues
        );
        st.announced += u.announced().count();
        st.withdrawn += u.withdrawals().count();
        let owned = UpdateMessage::from_view(&u);
        let ectx = EncodeCtx {
            four_octet_as: m.four_octet_as,
            ..EncodeCtx::default()
        };
        let mut out = Vec::new();
        owned.encode(&ectx, &mut out);
        if out == m.message {
            st.identical += 1;
        } else {
            // Not byte-identical: must decode to the same value.
            let again = Message::decode(&out, &ctx).unwrap();
            let Message::Update(u2) = again else {
                panic!("record {i}: not an UPDATE")
            };
            assert_eq!(UpdateMessage::from_view(&u2), owned, "record {i}");
            st.equivalent += 1;
        }
    }
    eprintln!(
        "updates {} announced {} withdrawn {} identical {} equivalent {}",
        st.updates, st.announced, st.withdrawn, st.identical, st.equivalent
    );
    assert!(st.updates > 6000);
    assert!(st.announced > 50_000);
}
