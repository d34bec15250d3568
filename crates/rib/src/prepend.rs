//! AS path prepending towards one member (the `RS:101-103:peer` export
//! controls): the announcing member's AS is repeated at the head of the
//! path. Works on the canonical 4-octet attribute block.

use bgp_wire::attr::{flags, type_code, RawAttrIter};
use bgp_wire::owned::write_attr;
use bgp_wire::AsPathRef;

/// The block with the first AS of its AS_PATH prepended `n` more times.
/// A block without AS_PATH, or whose path does not start with an
/// AS_SEQUENCE, is returned unchanged.
pub(crate) fn prepend_block(block: &[u8], n: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + 4 * usize::from(n) + 2);
    for attr in RawAttrIter::new(block) {
        if attr.type_code != type_code::AS_PATH {
            out.extend_from_slice(attr.tlv);
            continue;
        }
        let Ok(view) = AsPathRef::new(attr.value, true) else {
            out.extend_from_slice(attr.tlv);
            continue;
        };
        let mut path = view.to_owned_path();
        let Some(first) = path.first_asn() else {
            out.extend_from_slice(attr.tlv);
            continue;
        };
        if let Some(seg) = path.segments.first_mut() {
            for _ in 0..n {
                seg.asns.insert(0, first);
            }
        }
        write_attr(&mut out, flags::TRANSITIVE, type_code::AS_PATH, |b| {
            path.write(true, b)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_wire::AsPath;

    #[test]
    fn prepends_first_as() {
        let mut block = Vec::new();
        write_attr(&mut block, flags::TRANSITIVE, type_code::ORIGIN, |b| {
            b.push(0)
        });
        write_attr(&mut block, flags::TRANSITIVE, type_code::AS_PATH, |b| {
            AsPath::from_sequence(&[65001, 65002]).write(true, b)
        });
        let out = prepend_block(&block, 2);
        let path = RawAttrIter::new(&out)
            .find(|a| a.type_code == type_code::AS_PATH)
            .unwrap();
        let p = AsPathRef::new(path.value, true).unwrap();
        assert_eq!(p.asns().collect::<Vec<_>>(), [65001, 65001, 65001, 65002]);
    }
}
