//! A growable bit set indexed by prefix id: one bit per prefix per member
//! records what was exported, so no per-member copy of the table is kept.

/// A set of `u32` ids.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub(crate) fn contains(&self, i: u32) -> bool {
        self.words
            .get((i >> 6) as usize)
            .is_some_and(|w| w & (1 << (i & 63)) != 0)
    }

    pub(crate) fn insert(&mut self, i: u32) {
        let w = (i >> 6) as usize;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << (i & 63);
    }

    pub(crate) fn remove(&mut self, i: u32) {
        if let Some(w) = self.words.get_mut((i >> 6) as usize) {
            *w &= !(1 << (i & 63));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.words.clear();
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros();
                w &= w - 1;
                Some((wi as u32) << 6 | b)
            })
        })
    }
}

/// Prefix ids waiting to be sent to one member: a bit set with a count,
/// taken lowest id first. A list beside the bits would cost four bytes
/// per pending prefix per member (hundreds of megabytes while a large
/// table converges towards a hundred members); the bits cost one.
#[derive(Clone, Debug, Default)]
pub(crate) struct DirtySet {
    bits: BitSet,
    len: usize,
    /// No bit is set in a word below this one.
    low: usize,
}

impl DirtySet {
    /// Add `i`.
    pub(crate) fn insert(&mut self, i: u32) {
        if !self.bits.contains(i) {
            self.bits.insert(i);
            self.len += 1;
            self.low = self.low.min((i >> 6) as usize);
        }
    }

    /// Whether nothing is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forget everything.
    pub(crate) fn clear(&mut self) {
        self.bits.clear();
        self.len = 0;
        self.low = 0;
    }

    /// Move up to `max` ids, lowest first, into `out`.
    pub(crate) fn take(&mut self, max: usize, out: &mut Vec<u32>) {
        let mut n = 0;
        let words = &mut self.bits.words;
        while n < max && self.len > 0 {
            let Some(w) = words.get_mut(self.low) else {
                break;
            };
            while *w != 0 && n < max {
                let b = w.trailing_zeros();
                *w &= *w - 1;
                out.push((self.low as u32) << 6 | b);
                n += 1;
                self.len -= 1;
            }
            if *w == 0 {
                self.low += 1;
            }
        }
        if self.len == 0 {
            self.low = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BitSet, DirtySet};

    #[test]
    fn dirty_set_takes_lowest_first_in_batches() {
        let mut d = DirtySet::default();
        for i in [500, 3, 64, 3, 1000, 65, 0] {
            d.insert(i);
        }
        let mut out = Vec::new();
        d.take(3, &mut out);
        assert_eq!(out, [0, 3, 64]);
        d.insert(1); // below what was taken: still found
        out.clear();
        d.take(10, &mut out);
        assert_eq!(out, [1, 65, 500, 1000]);
        assert!(d.is_empty());
        d.insert(7);
        d.clear();
        assert!(d.is_empty());
        out.clear();
        d.take(10, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn insert_remove_iterate() {
        let mut s = BitSet::default();
        for i in [0, 5, 63, 64, 1000] {
            s.insert(i);
        }
        s.remove(5);
        assert!(s.contains(63) && !s.contains(5) && !s.contains(2000));
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 63, 64, 1000]);
    }
}
