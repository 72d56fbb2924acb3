//! The document-term matrix: which kept terms each example contains, and
//! optionally each example's sentiment as one more, real-valued feature.

use std::collections::{BTreeMap, HashMap};

use super::tokens;
use super::Example;

/// Binary features of a set of examples.
#[derive(Debug, Clone)]
pub(crate) struct Features {
    /// Kept terms, sorted; a term's index is its feature number.
    pub(crate) vocabulary: Vec<String>,
    /// Per example, its non-zero features: (feature number, value). A term
    /// has value 1; the sentiment feature, when present, is the compound
    /// sentiment (-1 to 1) of the example's words.
    pub(crate) documents: Vec<Vec<(usize, f64)>>,
    /// The feature number of the sentiment feature (one past the terms),
    /// when it is used.
    pub(crate) sentiment: Option<usize>,
    /// How many distinct terms the examples have before the count cut.
    pub(crate) terms_seen: usize,
}

impl Features {
    /// Indexes `examples`, keeping terms found in at least `min_count` of
    /// them; with `sentiment`, adds the sentiment feature.
    pub(crate) fn index(examples: &[&Example], min_count: usize, sentiment: bool) -> Features {
        let term_sets: Vec<_> = examples
            .iter()
            .map(|example| tokens::terms(example.subject.as_deref(), &example.text))
            .collect();
        let mut counts = BTreeMap::<&str, usize>::new();
        for term in term_sets.iter().flat_map(|terms| terms.keys()) {
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
        let sentiment = sentiment.then_some(vocabulary.len());
        let documents = term_sets
            .iter()
            .zip(examples)
            .map(|(terms, example)| {
                let mut features: Vec<(usize, f64)> = terms
                    .iter()
                    .filter_map(|(term, value)| numbers.get(term.as_str()).map(|&number| (number, *value)))
                    .collect();
                if let Some(number) = sentiment {
                    features.push((number, customer_sentiment(example)));
                }
                features
            })
            .collect();
        Features {
            vocabulary,
            documents,
            sentiment,
            terms_seen,
        }
    }

    /// How many features a model over these has.
    pub(crate) fn len(&self) -> usize {
        self.vocabulary.len() + usize::from(self.sentiment.is_some())
    }

    /// For each feature, how many of the examples `selected` picks contain it.
    pub(crate) fn counts(&self, selected: impl Fn(usize) -> bool) -> Vec<u32> {
        let mut counts = vec![0u32; self.vocabulary.len()];
        for (document, features) in self.documents.iter().enumerate() {
            if selected(document) {
                for &(feature, _) in features {
                    if let Some(count) = counts.get_mut(feature) {
                        *count += 1;
                    }
                }
            }
        }
        counts
    }
}

/// The compound sentiment of an example's words, read as the rule engine
/// reads a ticket's: the subject, then the text.
pub(crate) fn customer_sentiment(example: &Example) -> f64 {
    let words = match example
        .subject
        .as_deref()
        .filter(|subject| !subject.trim().is_empty())
    {
        Some(subject) => format!("{subject}. {}", example.text),
        None => example.text.clone(),
    };
    f64::from(crate::sentiment::score(&words).compound)
}
