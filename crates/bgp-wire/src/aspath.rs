//! AS_PATH and AS4_PATH (RFC 4271 §4.3, §5.1.2; RFC 6793; RFC 5065).
//!
//! [`AsPathRef`] is a validated view over received bytes, 2 or 4 octets per
//! ASN, that parses segments on access. [`AsPath`] is the owned form, always
//! with 32-bit ASNs. [`reconstruct`] merges AS_PATH and AS4_PATH from a
//! 2-octet-AS session as RFC 6793 §4.2.3 says.

use std::fmt;

use crate::AS_TRANS;

/// Segment type (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentKind {
    /// AS_SET (1).
    Set,
    /// AS_SEQUENCE (2).
    Sequence,
    /// AS_CONFED_SEQUENCE (3).
    ConfedSequence,
    /// AS_CONFED_SET (4).
    ConfedSet,
}

impl SegmentKind {
    /// Type code on the wire.
    pub fn code(self) -> u8 {
        match self {
            SegmentKind::Set => 1,
            SegmentKind::Sequence => 2,
            SegmentKind::ConfedSequence => 3,
            SegmentKind::ConfedSet => 4,
        }
    }

    fn from_code(v: u8) -> Option<SegmentKind> {
        match v {
            1 => Some(SegmentKind::Set),
            2 => Some(SegmentKind::Sequence),
            3 => Some(SegmentKind::ConfedSequence),
            4 => Some(SegmentKind::ConfedSet),
            _ => None,
        }
    }

    /// How much one segment of this kind adds to the path length used in
    /// best-path selection (RFC 4271 §9.1.2.2 a, RFC 5065 §5.3).
    fn path_len(self, n: usize) -> usize {
        match self {
            SegmentKind::Sequence => n,
            SegmentKind::Set => 1,
            SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
        }
    }
}

/// An owned AS path segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Segment {
    /// Segment type.
    pub kind: SegmentKind,
    /// ASNs, in order.
    pub asns: Vec<u32>,
}

/// An owned AS path with 32-bit ASNs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AsPath {
    /// Segments, in order (left-most is the neighbour).
    pub segments: Vec<Segment>,
}

/// Why an AS path is malformed (RFC 7606 §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsPathError {
    /// Unknown segment type.
    UnknownSegmentType,
    /// A segment runs past the end of the attribute.
    Overrun,
    /// One or two octets left after the last segment.
    Underrun,
    /// A segment with a length of zero.
    EmptySegment,
}

impl AsPathError {
    /// Text for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AsPathError::UnknownSegmentType => "AS_PATH has an unknown segment type",
            AsPathError::Overrun => "AS_PATH segment overruns the attribute",
            AsPathError::Underrun => "AS_PATH has trailing octets after the last segment",
            AsPathError::EmptySegment => "AS_PATH has a segment of length zero",
        }
    }
}

/// A validated view of an AS_PATH or AS4_PATH attribute value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsPathRef<'a> {
    raw: &'a [u8],
    four_octet: bool,
}

impl<'a> AsPathRef<'a> {
    /// Validate `raw` as a sequence of segments with 2- or 4-octet ASNs.
    pub fn new(raw: &'a [u8], four_octet: bool) -> Result<AsPathRef<'a>, AsPathError> {
        let size = if four_octet { 4 } else { 2 };
        let mut i = 0;
        while i < raw.len() {
            if raw.len() - i < 2 {
                return Err(AsPathError::Underrun);
            }
            if SegmentKind::from_code(raw[i]).is_none() {
                return Err(AsPathError::UnknownSegmentType);
            }
            let n = usize::from(raw[i + 1]);
            if n == 0 {
                return Err(AsPathError::EmptySegment);
            }
            i += 2 + n * size;
            if i > raw.len() {
                return Err(AsPathError::Overrun);
            }
        }
        Ok(AsPathRef { raw, four_octet })
    }

    /// The raw attribute value.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether ASNs are 4 octets wide.
    pub fn is_four_octet(&self) -> bool {
        self.four_octet
    }

    /// Segments, parsed on the fly.
    pub fn segments(&self) -> SegmentIter<'a> {
        SegmentIter {
            raw: self.raw,
            size: if self.four_octet { 4 } else { 2 },
        }
    }

    /// Every ASN in order, across segments.
    pub fn asns(&self) -> impl Iterator<Item = u32> + 'a {
        self.segments().flat_map(|s| s.asns())
    }

    /// The left-most ASN of the first AS_SEQUENCE, if the path starts with one.
    pub fn first_asn(&self) -> Option<u32> {
        let s = self.segments().next()?;
        if s.kind == SegmentKind::Sequence {
            s.asns().next()
        } else {
            None
        }
    }

    /// The origin AS: the last ASN of the path when the last segment is an
    /// AS_SEQUENCE (RFC 6811 §2), else `None`.
    pub fn origin_asn(&self) -> Option<u32> {
        let s = self.segments().last()?;
        if s.kind == SegmentKind::Sequence {
            s.asns().last()
        } else {
            None
        }
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2).
    pub fn path_len(&self) -> usize {
        self.segments().map(|s| s.kind.path_len(s.len())).sum()
    }

    /// Whether the path has a confederation segment.
    pub fn has_confed(&self) -> bool {
        self.segments()
            .any(|s| matches!(s.kind, SegmentKind::ConfedSequence | SegmentKind::ConfedSet))
    }

    /// Owned copy with 32-bit ASNs.
    pub fn to_owned_path(&self) -> AsPath {
        AsPath {
            segments: self
                .segments()
                .map(|s| Segment {
                    kind: s.kind,
                    asns: s.asns().collect(),
                })
                .collect(),
        }
    }
}

/// One segment of an [`AsPathRef`].
#[derive(Clone, Copy, Debug)]
pub struct SegmentRef<'a> {
    /// Segment type.
    pub kind: SegmentKind,
    raw: &'a [u8],
    size: usize,
}

impl<'a> SegmentRef<'a> {
    /// Number of ASNs.
    pub fn len(&self) -> usize {
        self.raw.len() / self.size
    }

    /// Always false: validation rejects empty segments.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// ASNs, widened to 32 bits.
    pub fn asns(&self) -> impl DoubleEndedIterator<Item = u32> + 'a {
        let size = self.size;
        self.raw.chunks_exact(size).map(move |c| {
            if size == 4 {
                u32::from_be_bytes([c[0], c[1], c[2], c[3]])
            } else {
                u32::from(u16::from_be_bytes([c[0], c[1]]))
            }
        })
    }
}

/// Iterator over the segments of an [`AsPathRef`].
#[derive(Clone, Debug)]
pub struct SegmentIter<'a> {
    raw: &'a [u8],
    size: usize,
}

impl<'a> Iterator for SegmentIter<'a> {
    type Item = SegmentRef<'a>;

    fn next(&mut self) -> Option<SegmentRef<'a>> {
        // The bytes were validated by `AsPathRef::new`; the checks below
        // only keep a bad view from panicking.
        if self.raw.len() < 2 {
            return None;
        }
        let kind = SegmentKind::from_code(self.raw[0])?;
        let end = 2 + usize::from(self.raw[1]) * self.size;
        if end > self.raw.len() {
            self.raw = &[];
            return None;
        }
        let seg = SegmentRef {
            kind,
            raw: &self.raw[2..end],
            size: self.size,
        };
        self.raw = &self.raw[end..];
        Some(seg)
    }
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: &[u32]) -> AsPath {
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![Segment {
                kind: SegmentKind::Sequence,
                asns: asns.to_vec(),
            }],
        }
    }

    /// Every ASN in order.
    pub fn asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| s.kind.path_len(s.asns.len()))
            .sum()
    }

    /// The left-most ASN of a leading AS_SEQUENCE.
    pub fn first_asn(&self) -> Option<u32> {
        let s = self.segments.first()?;
        (s.kind == SegmentKind::Sequence)
            .then(|| s.asns.first().copied())
            .flatten()
    }

    /// The origin AS (last ASN of a trailing AS_SEQUENCE).
    pub fn origin_asn(&self) -> Option<u32> {
        let s = self.segments.last()?;
        (s.kind == SegmentKind::Sequence)
            .then(|| s.asns.last().copied())
            .flatten()
    }

    /// Whether any ASN does not fit in 16 bits.
    pub fn needs_four_octets(&self) -> bool {
        self.asns().any(|a| a > 0xffff)
    }

    /// Encoded length of the value with 2- or 4-octet ASNs. Segments longer
    /// than 255 ASNs are split on encode.
    pub fn wire_len(&self, four_octet: bool) -> usize {
        let size = if four_octet { 4 } else { 2 };
        self.segments
            .iter()
            .map(|s| s.asns.len().div_ceil(255) * 2 + s.asns.len() * size)
            .sum()
    }

    /// Append the value. With 2-octet encoding, ASNs above 65535 become
    /// AS_TRANS (RFC 6793 §4.2.2); the caller adds AS4_PATH.
    pub fn write(&self, four_octet: bool, out: &mut Vec<u8>) {
        for seg in &self.segments {
            for chunk in seg.asns.chunks(255) {
                out.push(seg.kind.code());
                out.push(chunk.len() as u8);
                for &asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let a = u16::try_from(asn).unwrap_or(AS_TRANS);
                        out.extend_from_slice(&a.to_be_bytes());
                    }
                }
            }
        }
    }

    /// The AS4_PATH to send beside a 2-octet AS_PATH: the same path without
    /// confederation segments (RFC 6793 §4.2.2).
    pub fn as4_path(&self) -> AsPath {
        AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| matches!(s.kind, SegmentKind::Sequence | SegmentKind::Set))
                .cloned()
                .collect(),
        }
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.segments {
            let (open, close) = match s.kind {
                SegmentKind::Sequence => ("", ""),
                SegmentKind::Set => ("{", "}"),
                SegmentKind::ConfedSequence => ("(", ")"),
                SegmentKind::ConfedSet => ("[", "]"),
            };
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(open)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(if s.kind == SegmentKind::Sequence {
                        " "
                    } else {
                        ","
                    })?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// Merge a 2-octet AS_PATH with the AS4_PATH that came with it
/// (RFC 6793 §4.2.3): when AS_PATH is at least as long as AS4_PATH, the
/// leading part of AS_PATH that AS4_PATH does not cover is prepended to
/// AS4_PATH; otherwise AS4_PATH is ignored. Confederation segments of
/// AS4_PATH are dropped first, as the RFC says they must not be there.
pub fn reconstruct(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
    let as4 = as4_path.as4_path();
    let n = as_path.path_len();
    let m = as4.path_len();
    if n < m {
        return as_path.clone();
    }
    let mut keep = n - m;
    let mut out = AsPath::default();
    for seg in &as_path.segments {
        if keep == 0 {
            break;
        }
        match seg.kind {
            SegmentKind::Sequence => {
                let take = keep.min(seg.asns.len());
                out.segments.push(Segment {
                    kind: seg.kind,
                    asns: seg.asns[..take].to_vec(),
                });
                keep -= take;
            }
            SegmentKind::Set => {
                out.segments.push(seg.clone());
                keep -= 1;
            }
            SegmentKind::ConfedSequence | SegmentKind::ConfedSet => {
                out.segments.push(seg.clone());
            }
        }
    }
    for seg in as4.segments {
        match out.segments.last_mut() {
            Some(last)
                if last.kind == SegmentKind::Sequence && seg.kind == SegmentKind::Sequence =>
            {
                last.asns.extend_from_slice(&seg.asns)
            }
            _ => out.segments.push(seg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_parses_two_and_four_octets() {
        // AS_SEQUENCE 65001 65002, 2-octet.
        let raw = [2, 2, 0xfd, 0xe9, 0xfd, 0xea];
        let p = AsPathRef::new(&raw, false).unwrap();
        assert_eq!(p.asns().collect::<Vec<_>>(), [65001, 65002]);
        assert_eq!(p.first_asn(), Some(65001));
        assert_eq!(p.origin_asn(), Some(65002));
        assert_eq!(p.path_len(), 2);
        // AS_SEQUENCE 4200000000, then AS_SET {1,2}, 4-octet.
        let raw = [2, 1, 0xfa, 0x56, 0xea, 0x00, 1, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        let p = AsPathRef::new(&raw, true).unwrap();
        assert_eq!(p.asns().collect::<Vec<_>>(), [4_200_000_000, 1, 2]);
        assert_eq!(p.origin_asn(), None);
        assert_eq!(p.path_len(), 2);
        assert_eq!(p.to_owned_path().to_string(), "4200000000 {1,2}");
    }

    #[test]
    fn malformed_paths() {
        assert_eq!(
            AsPathRef::new(&[5, 1, 0, 1], false),
            Err(AsPathError::UnknownSegmentType)
        );
        assert_eq!(
            AsPathRef::new(&[2, 2, 0, 1], false),
            Err(AsPathError::Overrun)
        );
        assert_eq!(
            AsPathRef::new(&[2, 1, 0, 1, 2], false),
            Err(AsPathError::Underrun)
        );
        assert_eq!(
            AsPathRef::new(&[2, 0], false),
            Err(AsPathError::EmptySegment)
        );
        assert!(AsPathRef::new(&[], true).is_ok());
    }

    #[test]
    fn rfc6793_reconstruction() {
        // AS_PATH 65001 23456 23456 with AS4_PATH 4200000001 4200000002.
        let two = AsPath::from_sequence(&[65001, 23456, 23456]);
        let four = AsPath::from_sequence(&[4_200_000_001, 4_200_000_002]);
        assert_eq!(
            reconstruct(&two, &four).asns().collect::<Vec<_>>(),
            [65001, 4_200_000_001, 4_200_000_002]
        );
        // AS4_PATH longer than AS_PATH: ignored.
        let short = AsPath::from_sequence(&[23456]);
        assert_eq!(reconstruct(&short, &four), short);
    }

    #[test]
    fn long_segments_are_split() {
        let asns: Vec<u32> = (1..=300).collect();
        let p = AsPath::from_sequence(&asns);
        let mut out = Vec::new();
        p.write(true, &mut out);
        assert_eq!(out.len(), p.wire_len(true));
        let view = AsPathRef::new(&out, true).unwrap();
        assert_eq!(view.segments().count(), 2);
        assert_eq!(view.asns().collect::<Vec<_>>(), asns);
    }
}
