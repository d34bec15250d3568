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

#[cfg(test)]
mod tests {
    use super::BitSet;

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
