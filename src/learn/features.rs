//! The document-term matrix: which kept terms each example contains.

use std::collections::{BTreeMap, HashMap};

use super::tokens;
use super::Example;

/// Binary features of a set of examples.
#[derive(Debug, Clone)]
pub(crate) struct Features {
    /// Kept terms, sorted; a term's index is its feature number.
    pub(crate) vocabulary: Vec<String>,
    /// Per example, the sorted feature numbers of the terms it contains.
    pub(crate) documents: Vec<Vec<usize>>,
    /// How many distinct terms the examples have before the count cut.
    pub(crate) terms_seen: usize,
}

impl Features {
    /// Indexes `examples`, keeping terms found in at least `min_count` of them.
    pub(crate) fn index(examples: &[&Example], min_count: usize) -> Features {
        let term_sets: Vec<_> = examples
            .iter()
            .map(|example| tokens::terms(example.subject.as_deref(), &example.text))
            .collect();
        let mut counts = BTreeMap::<&str, usize>::new();
        for term in term_sets.iter().flatten() {
            *counts.entry(term.as_str()).or_default() += 1;
        }
        let terms_seen = counts.len();
        let vocabulary: Vec<String> = counts
            .into_iter()
            .filter(|(_, count)| *count >= min_count.max(1))
            .map(|(term, _)| term.to_string())
            .collect();
        let numbers: HashMap<&str, usize> = vocabulary
            .iter()
            .enumerate()
            .map(|(number, term)| (term.as_str(), number))
            .collect();
        let documents = term_sets
            .iter()
            .map(|terms| {
                terms
                    .iter()
                    .filter_map(|term| numbers.get(term.as_str()).copied())
                    .collect()
            })
            .collect();
        Features {
            vocabulary,
            documents,
            terms_seen,
        }
    }

    /// For each feature, how many of the examples `selected` picks contain it.
    pub(crate) fn counts(&self, selected: impl Fn(usize) -> bool) -> Vec<u32> {
        let mut counts = vec![0u32; self.vocabulary.len()];
        for (document, features) in self.documents.iter().enumerate() {
            if selected(document) {
                for &feature in features {
                    counts[feature] += 1;
                }
            }
        }
        counts
    }
}
