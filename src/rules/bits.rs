//! A fixed-size bit set: scanner hits, pending regexes, candidate rules.

/// A set of small integers below a size fixed at creation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// An empty set for members below `size`.
    pub(crate) fn new(size: usize) -> Self {
        Self {
            words: vec![0; size.div_ceil(64)],
        }
    }

    /// Adds `index` (ignored when out of range).
    pub(crate) fn set(&mut self, index: usize) {
        if let Some(word) = self.words.get_mut(index / 64) {
            *word |= 1 << (index % 64);
        }
    }

    /// Removes every member.
    pub(crate) fn clear_all(&mut self) {
        self.words.fill(0);
    }

    /// Whether `index` is a member.
    pub(crate) fn get(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// Adds every member of `other`.
    pub(crate) fn union_with(&mut self, other: &Bits) {
        for (word, more) in self.words.iter_mut().zip(&other.words) {
            *word |= more;
        }
    }

    /// Members in ascending order.
    pub(crate) fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(at, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(at * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Bits;

    #[test]
    fn set_get_union_and_iterate() {
        let mut bits = Bits::new(130);
        for index in [0, 63, 64, 129, 500] {
            bits.set(index);
        }
        assert!(bits.get(63) && bits.get(129) && !bits.get(1) && !bits.get(500));
        let mut more = Bits::new(130);
        more.set(5);
        bits.union_with(&more);
        assert_eq!(bits.ones().collect::<Vec<_>>(), vec![0, 5, 63, 64, 129]);
        bits.clear_all();
        assert_eq!(bits.ones().count(), 0);
    }
}
