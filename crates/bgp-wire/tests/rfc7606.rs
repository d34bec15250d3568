//! RFC 7606 (revised UPDATE error handling): one test per case of §7, plus
//! §3 (attribute list checks), §4 (attribute length errors), §5.3 (NLRI
//! errors), RFC 6793 §6 (AS4_PATH, AS4_AGGREGATOR), RFC 8092 §6
//! (LARGE_COMMUNITY) and RFC 9234 §5 (OTC).
//!
//! Every test builds one UPDATE around a valid base (ORIGIN IGP, AS_PATH
//! 65001, NEXT_HOP 192.0.2.1, NLRI 198.51.100.0/24 and 203.0.113.0/24,
//! withdrawn 192.0.2.0/24) with one malformation, and asserts the exact
//! classification: a reset with its NOTIFICATION code, subcode and data; a
//! treat-as-withdraw with every prefix it withdraws (through
//! `Update::withdrawals`); or an attribute discard with the rest of the
//! UPDATE intact.
//!
//! A reading of the RFC worth noting: §3 c says a flags conflict makes the
//! attribute malformed and treat-as-withdraw applies "unless the
//! specification for the attribute mandates different handling"; we apply
//! the attribute's own malformed-attribute action (so ATOMIC_AGGREGATE,
//! AGGREGATOR and AS4_* are discarded, §7.6, §7.7, RFC 6793 §6).

use bgp_wire::attr::type_code as tc;
use bgp_wire::{AttrAction, DecodeCtx, FamilySet, Message, Nlri, Reset, Update, AS_TRANS};

const ORIGIN: &str = "400101 00";
const AS_PATH_4: &str = "400206 0201 0000fde9";
const NEXT_HOP: &str = "400304 c0000201";
const WITHDRAWN: &str = "18 c00002";
const NLRI: &str = "18 c63364 18 cb0071";

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A full UPDATE message from hex withdrawn routes, attributes and NLRI,
/// with both length fields and the header computed here.
fn update_msg(withdrawn: &str, attrs: &str, nlri: &str) -> Vec<u8> {
    let (w, a, n) = (hex(withdrawn), hex(attrs), hex(nlri));
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + 4 + w.len() + a.len() + n.len()) as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&(w.len() as u16).to_be_bytes());
    m.extend_from_slice(&w);
    m.extend_from_slice(&(a.len() as u16).to_be_bytes());
    m.extend_from_slice(&a);
    m.extend_from_slice(&n);
    m
}

/// The base attributes with `extra` appended.
fn attrs_with(extra: &str) -> String {
    format!("{ORIGIN} {AS_PATH_4} {NEXT_HOP} {extra}")
}

fn ebgp() -> DecodeCtx {
    DecodeCtx {
        four_octet_as: true,
        add_path: FamilySet::EMPTY,
        ebgp: true,
        extended_message: false,
    }
}

fn ibgp() -> DecodeCtx {
    DecodeCtx {
        ebgp: false,
        ..ebgp()
    }
}

fn two_octet() -> DecodeCtx {
    DecodeCtx {
        four_octet_as: false,
        ..ebgp()
    }
}

fn decode<'a>(m: &'a [u8], c: &DecodeCtx) -> Result<Update<'a>, Reset> {
    match Message::decode(m, c)? {
        Message::Update(u) => Ok(u),
        other => panic!("not an UPDATE: {other:?}"),
    }
}

fn prefixes(list: &[&str]) -> Vec<Nlri> {
    let mut v: Vec<Nlri> = list
        .iter()
        .map(|s| Nlri::new(s.parse().expect("prefix")))
        .collect();
    v.sort();
    v
}

/// Treat-as-withdraw because of attribute `t`: nothing announced, and the
/// withdrawn routes plus every announced prefix withdrawn.
fn assert_taw(m: &[u8], c: &DecodeCtx, t: u8) {
    let u = decode(m, c).unwrap_or_else(|e| panic!("reset instead of treat-as-withdraw: {e}"));
    assert!(
        u.issues
            .iter()
            .any(|i| i.type_code == t && i.action == AttrAction::TreatAsWithdraw),
        "no treat-as-withdraw for type {t}: {:?}",
        u.issues
    );
    assert!(u.treat_as_withdraw());
    assert_eq!(u.announced().count(), 0);
    let mut w: Vec<Nlri> = u.withdrawals().collect();
    w.sort();
    assert_eq!(
        w,
        prefixes(&["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"])
    );
}

/// Attribute `t` discarded; the UPDATE otherwise intact.
fn assert_discard<'a>(m: &'a [u8], c: &DecodeCtx, t: u8) -> Update<'a> {
    let u = decode(m, c).unwrap_or_else(|e| panic!("reset instead of discard: {e}"));
    assert_eq!(u.issues.len(), 1, "{:?}", u.issues);
    assert_eq!(
        (u.issues[0].type_code, u.issues[0].action),
        (t, AttrAction::Discard)
    );
    assert!(!u.treat_as_withdraw());
    assert!(!u.attributes.has(t), "type {t} still kept");
    let mut a: Vec<Nlri> = u.announced().collect();
    a.sort();
    assert_eq!(a, prefixes(&["198.51.100.0/24", "203.0.113.0/24"]));
    let w: Vec<Nlri> = u.withdrawals().collect();
    assert_eq!(w, prefixes(&["192.0.2.0/24"]));
    assert!(u.attributes.origin.is_some() && u.attributes.next_hop.is_some());
    assert!(u.attributes.as_path.is_some());
    u
}

fn assert_reset(m: &[u8], c: &DecodeCtx, code: u8, subcode: u8, data: &[u8]) {
    match decode(m, c) {
        Err(r) => assert_eq!(
            (r.code, r.subcode, r.data.as_slice()),
            (code, subcode, data),
            "{}",
            r.reason
        ),
        Ok(u) => panic!("no reset; issues {:?}", u.issues),
    }
}

#[test]
fn base_message_is_clean() {
    let m = update_msg(WITHDRAWN, &attrs_with(""), NLRI);
    let u = decode(&m, &ebgp()).expect("decodes");
    assert!(u.issues.is_empty());
    assert_eq!(u.announced().count(), 2);
}

// ------------------------------------------------------------ §7

#[test]
fn s7_1_origin_bad_length_or_value() {
    let m = update_msg(
        WITHDRAWN,
        &format!("400102 0000 {AS_PATH_4} {NEXT_HOP}"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::ORIGIN);
    let m = update_msg(
        WITHDRAWN,
        &format!("400101 03 {AS_PATH_4} {NEXT_HOP}"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::ORIGIN);
}

#[test]
fn s7_2_as_path_malformed() {
    // Segment says 2 ASNs, carries 1.
    let m = update_msg(
        WITHDRAWN,
        &format!("{ORIGIN} 400206 0202 0000fde9 {NEXT_HOP}"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::AS_PATH);
    // Unknown segment type 5.
    let m = update_msg(
        WITHDRAWN,
        &format!("{ORIGIN} 400206 0501 0000fde9 {NEXT_HOP}"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::AS_PATH);
    // Zero-length segment (§7.2: "a segment length of zero").
    let m = update_msg(WITHDRAWN, &format!("{ORIGIN} 400202 0200 {NEXT_HOP}"), NLRI);
    assert_taw(&m, &ebgp(), tc::AS_PATH);
    // AS_CONFED_SEQUENCE from an external peer (§7.2, RFC 5065 §5).
    let confed = format!("{ORIGIN} 40020c 0301 0000fdea 0201 0000fde9 {NEXT_HOP}");
    let m = update_msg(WITHDRAWN, &confed, NLRI);
    assert_taw(&m, &ebgp(), tc::AS_PATH);
    // ... but fine from an internal one.
    assert!(decode(&m, &ibgp()).expect("decodes").issues.is_empty());
}

#[test]
fn s7_3_next_hop_bad_length() {
    let m = update_msg(
        WITHDRAWN,
        &format!("{ORIGIN} {AS_PATH_4} 400305 c000020100"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::NEXT_HOP);
}

#[test]
fn s7_4_med_bad_length() {
    let m = update_msg(WITHDRAWN, &attrs_with("800403 000001"), NLRI);
    assert_taw(&m, &ebgp(), tc::MED);
}

#[test]
fn s7_5_local_pref() {
    // From an external peer: discarded whatever its form.
    let m = update_msg(WITHDRAWN, &attrs_with("400504 00000064"), NLRI);
    let u = assert_discard(&m, &ebgp(), tc::LOCAL_PREF);
    assert_eq!(u.attributes.local_pref, None);
    // From an internal peer, a bad length is treat-as-withdraw.
    let m = update_msg(WITHDRAWN, &attrs_with("400503 000064"), NLRI);
    assert_taw(&m, &ibgp(), tc::LOCAL_PREF);
}

#[test]
fn s7_6_atomic_aggregate_bad_length() {
    let m = update_msg(WITHDRAWN, &attrs_with("400601 00"), NLRI);
    let u = assert_discard(&m, &ebgp(), tc::ATOMIC_AGGREGATE);
    assert!(!u.attributes.atomic_aggregate);
}

#[test]
fn s7_7_aggregator_bad_length() {
    // 6 octets on a 4-octet session.
    let m = update_msg(WITHDRAWN, &attrs_with("c00706 fde9 c0000209"), NLRI);
    assert_discard(&m, &ebgp(), tc::AGGREGATOR);
    // 8 octets on a 2-octet session.
    let two = format!("{ORIGIN} 400204 0201 fde9 {NEXT_HOP} c00708 0000fde9 c0000209");
    let m = update_msg(WITHDRAWN, &two, NLRI);
    let u = assert_discard(&m, &two_octet(), tc::AGGREGATOR);
    assert_eq!(u.attributes.aggregator, None);
}

#[test]
fn s7_8_communities_bad_length() {
    let m = update_msg(WITHDRAWN, &attrs_with("c00805 fde90064 00"), NLRI);
    assert_taw(&m, &ebgp(), tc::COMMUNITIES);
    // Zero length is malformed too ("not a non-zero multiple of 4").
    let m = update_msg(WITHDRAWN, &attrs_with("c00800"), NLRI);
    assert_taw(&m, &ebgp(), tc::COMMUNITIES);
}

#[test]
fn s7_9_originator_id_bad_length() {
    let m = update_msg(WITHDRAWN, &attrs_with("800905 c000020900"), NLRI);
    assert_taw(&m, &ibgp(), tc::ORIGINATOR_ID);
}

#[test]
fn s7_10_cluster_list_bad_length() {
    let m = update_msg(WITHDRAWN, &attrs_with("800a06 c0000209 0000"), NLRI);
    assert_taw(&m, &ibgp(), tc::CLUSTER_LIST);
}

#[test]
fn s7_11_mp_reach_next_hop_length_inconsistent() {
    // IPv6 with a 5-octet next hop: the NLRI cannot be located reliably, so
    // session reset (§7.11), Optional Attribute Error with the attribute as
    // data (RFC 4271 §6.3).
    let attr = "800e0f 0002 01 05 2001db8000 00 20 20010db8";
    let m = update_msg("", &format!("{ORIGIN} {AS_PATH_4} {attr}"), "");
    assert_reset(&m, &ebgp(), 3, 9, &hex(attr));
    // NLRI in MP_REACH_NLRI that overruns the attribute (§5.3): reset.
    let attr = "800e1a 0002 01 10 20010db8000000000000000000000001 00 30 20010db8";
    let m = update_msg("", &format!("{ORIGIN} {AS_PATH_4} {attr}"), "");
    assert_reset(&m, &ebgp(), 3, 9, &hex(attr));
}

#[test]
fn s7_12_mp_unreach_malformed() {
    // Shorter than AFI + SAFI.
    let m = update_msg("", "800f02 0002", "");
    assert_reset(&m, &ebgp(), 3, 9, &hex("800f02 0002"));
    // A prefix length of 129.
    let attr = "800f08 0002 01 81 20010db8";
    let m = update_msg("", attr, "");
    assert_reset(&m, &ebgp(), 3, 9, &hex(attr));
}

#[test]
fn s7_13_traffic_engineering_attribute_is_not_validated() {
    // §7.13 binds only an implementation that validates the Traffic
    // Engineering attribute (type 24, optional non-transitive); this one
    // does not know it, so it is ignored as unknown optional
    // non-transitive (RFC 4271 §5) and never passed on.
    let m = update_msg(WITHDRAWN, &attrs_with("801801 00"), NLRI);
    let u = decode(&m, &ebgp()).expect("decodes");
    assert!(u.issues.is_empty());
    assert!(!u.attributes.has(24));
    assert_eq!(u.attributes.kept().count(), 3);
}

#[test]
fn s7_14_extended_communities_bad_length() {
    let m = update_msg(WITHDRAWN, &attrs_with("c01007 0002fde9000000"), NLRI);
    assert_taw(&m, &ebgp(), tc::EXTENDED_COMMUNITIES);
}

#[test]
fn s7_15_ipv6_extended_communities_bad_length() {
    let m = update_msg(
        WITHDRAWN,
        &attrs_with("c01913 000220010db8000000000000000000000001 00"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::IPV6_EXTENDED_COMMUNITIES);
}

// ------------------------------------------- RFC 8092, RFC 9234, RFC 6793

#[test]
fn rfc8092_large_community_bad_length() {
    let m = update_msg(
        WITHDRAWN,
        &attrs_with("c0200b 0000fde9 00000001 000000"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::LARGE_COMMUNITIES);
}

#[test]
fn rfc9234_otc_bad_length() {
    let m = update_msg(WITHDRAWN, &attrs_with("c02303 00fde9"), NLRI);
    assert_taw(&m, &ebgp(), tc::OTC);
}

#[test]
fn rfc6793_s6_malformed_as4_path_is_discarded() {
    let two = format!("{ORIGIN} 400204 0201 5ba0 {NEXT_HOP}");
    // AS4_PATH segment overruns.
    let m = update_msg(WITHDRAWN, &format!("{two} c01106 0202 fa56ea01"), NLRI);
    let u = assert_discard(&m, &two_octet(), tc::AS4_PATH);
    assert_eq!(u.attributes.as4_path, None);
    // The AS_TRANS path is what is left.
    let p = u.attributes.effective_as_path().expect("path");
    assert_eq!(p.asns().collect::<Vec<_>>(), [u32::from(AS_TRANS)]);
}

#[test]
fn rfc6793_s6_malformed_as4_aggregator_is_discarded() {
    let two = format!("{ORIGIN} 400204 0201 5ba0 {NEXT_HOP} c00706 5ba0 c0000209");
    let m = update_msg(WITHDRAWN, &format!("{two} c01206 fa56 c0000209"), NLRI);
    let u = assert_discard(&m, &two_octet(), tc::AS4_AGGREGATOR);
    assert_eq!(u.attributes.as4_aggregator, None);
}

#[test]
fn rfc6793_s4_1_as4_attributes_between_new_speakers_are_discarded() {
    let m = update_msg(WITHDRAWN, &attrs_with("c01106 0201 fa56ea01"), NLRI);
    assert_discard(&m, &ebgp(), tc::AS4_PATH);
}

// ------------------------------------------------------------ §3

#[test]
fn s3_c_flags_conflict() {
    // ORIGIN sent as optional: treat-as-withdraw.
    let m = update_msg(
        WITHDRAWN,
        &format!("c00101 00 {AS_PATH_4} {NEXT_HOP}"),
        NLRI,
    );
    assert_taw(&m, &ebgp(), tc::ORIGIN);
    // COMMUNITIES sent as well-known (not optional): treat-as-withdraw.
    let m = update_msg(WITHDRAWN, &attrs_with("400804 fde90064"), NLRI);
    assert_taw(&m, &ebgp(), tc::COMMUNITIES);
    // AGGREGATOR sent as non-transitive: its own action, discard.
    let m = update_msg(WITHDRAWN, &attrs_with("800708 0000fde9 c0000209"), NLRI);
    assert_discard(&m, &ebgp(), tc::AGGREGATOR);
}

#[test]
fn s3_d_missing_well_known_attribute() {
    for (attrs, t) in [
        (format!("{AS_PATH_4} {NEXT_HOP}"), tc::ORIGIN),
        (format!("{ORIGIN} {NEXT_HOP}"), tc::AS_PATH),
        (format!("{ORIGIN} {AS_PATH_4}"), tc::NEXT_HOP),
    ] {
        let m = update_msg(WITHDRAWN, &attrs, NLRI);
        assert_taw(&m, &ebgp(), t);
    }
    // NEXT_HOP is not required when the only NLRI is in MP_REACH_NLRI
    // (RFC 4760 §3), and nothing is required without NLRI.
    let mp = "800e1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8";
    let m = update_msg("", &format!("{ORIGIN} {AS_PATH_4} {mp}"), "");
    assert!(decode(&m, &ebgp()).expect("decodes").issues.is_empty());
    let m = update_msg(WITHDRAWN, "", "");
    assert!(decode(&m, &ebgp()).expect("decodes").issues.is_empty());
}

#[test]
fn s3_g_duplicate_attribute() {
    // A repeated attribute other than MP_*: all but the first discarded.
    let m = update_msg(
        WITHDRAWN,
        &attrs_with("c00804 fde90064 c00804 fde900c8"),
        NLRI,
    );
    let u = decode(&m, &ebgp()).expect("decodes");
    assert_eq!(u.issues.len(), 1);
    assert_eq!(
        (u.issues[0].type_code, u.issues[0].action),
        (tc::COMMUNITIES, AttrAction::Discard)
    );
    assert_eq!(u.announced().count(), 2);
    assert_eq!(u.attributes.kept().count(), 4);
    // The first copy stays.
    let c: Vec<u32> = u.attributes.communities.expect("kept").iter().collect();
    assert_eq!(c, [0xfde9_0064]);
}

#[test]
fn s3_g_duplicate_mp_reach_resets() {
    let mp = "800e1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8";
    let m = update_msg("", &format!("{ORIGIN} {AS_PATH_4} {mp} {mp}"), "");
    assert_reset(&m, &ebgp(), 3, 1, &[]);
    let un = "800f08 0002 01 20 20010db8";
    let m = update_msg("", &format!("{un} {un}"), "");
    assert_reset(&m, &ebgp(), 3, 1, &[]);
}

#[test]
fn rfc4271_s6_3_unrecognized_well_known_resets() {
    // Type 200 with the Optional bit clear: Unrecognized Well-known
    // Attribute, the attribute as data.
    let m = update_msg(WITHDRAWN, &attrs_with("40c801 07"), NLRI);
    assert_reset(&m, &ebgp(), 3, 2, &hex("40c801 07"));
}

// ------------------------------------------------------------ §4

#[test]
fn s4_attribute_length_overruns_the_field() {
    // The last attribute claims 9 octets, 4 remain: treat-as-withdraw, and
    // the NLRI is still found through the Total Path Attribute Length.
    let m = update_msg(WITHDRAWN, &attrs_with("c00809 fde90064"), NLRI);
    assert_taw(&m, &ebgp(), 0);
    // Fewer than three octets left for an attribute header.
    let m = update_msg(WITHDRAWN, &attrs_with("c008"), NLRI);
    assert_taw(&m, &ebgp(), 0);
    // Extended length flag with only three octets left.
    let m = update_msg(WITHDRAWN, &attrs_with("d00800"), NLRI);
    assert_taw(&m, &ebgp(), 0);
}

#[test]
fn s4_total_attribute_length_overrun_resets() {
    // The Total Path Attribute Length itself overruns the message: the NLRI
    // cannot be located (RFC 4271 §6.3: Malformed Attribute List).
    let mut m = update_msg(WITHDRAWN, &attrs_with(""), NLRI);
    let at = 19 + 2 + 4;
    m[at + 1] = m[at + 1].wrapping_add(20);
    assert_reset(&m, &ebgp(), 3, 1, &[]);
}

// ------------------------------------------------------------ §5.3

#[test]
fn s5_3_malformed_nlri_resets() {
    // A /33 in the NLRI field: Invalid Network Field.
    let m = update_msg(WITHDRAWN, &attrs_with(""), "21 c6336401 00");
    assert_reset(&m, &ebgp(), 3, 10, &[]);
    // A prefix that runs past the end of the message.
    let m = update_msg(WITHDRAWN, &attrs_with(""), "18 c633");
    assert_reset(&m, &ebgp(), 3, 10, &[]);
    // A malformed withdrawn routes field.
    let m = update_msg("20 c00002", &attrs_with(""), NLRI);
    assert_reset(&m, &ebgp(), 3, 1, &[]);
}
