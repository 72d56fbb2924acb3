//! Weighted lexicons: named lists of terms with weights (`[lexicon.problem]`
//! with `"doesn't work" = 2.0`), scored in the scanner's single pass and
//! tested by `score` conditions.
//!
//! A lexicon's score is the sum, over the distinct terms found as whole
//! words in the subject or the customer's new text, of the term's weight
//! times a factor: 1 in the body; [`REPLY_SUBJECT_FACTOR`] in the subject of
//! a reply or forward (an old thread's title); and, when every occurrence is
//! negated ("no problem", "not happy"), [`NEGATED_FACTOR`], which reverses
//! and halves the weight as sentiment scorers do. A lexicon may also weigh
//! the ticket's compound sentiment (-1 to 1) with the entry
//! [`SENTIMENT_TERM`] (`"@sentiment" = -1.5`): it adds that weight times the
//! sentiment, so one score combines words and tone (`triage rules learn`
//! fits both together).

use super::negation::is_negated_at;
use super::prepare::Prepared;
use super::scanner::TermHit;
use super::text::{fold, is_whole_word};
use crate::ticket::{Evidence, LexiconScore, TextPart};

/// What a negated term adds, as a share of its weight.
pub(crate) const NEGATED_FACTOR: f32 = -0.5;

/// What a term in a reply's subject adds, as a share of its weight.
pub(crate) const REPLY_SUBJECT_FACTOR: f32 = 0.5;

/// The lexicon entry that weighs the compound sentiment instead of a term.
pub const SENTIMENT_TERM: &str = "@sentiment";

/// Most evidence entries kept on a classification, strongest first.
const MAX_EVIDENCE: usize = 24;

/// One term of one lexicon.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// The lexicon it belongs to.
    pub(crate) lexicon: usize,
    /// Folded, normalised text.
    pub(crate) text: String,
    /// Its weight (negative weights count against the lexicon).
    pub(crate) weight: f32,
}

/// The lexicons of a rule set.
#[derive(Debug, Default)]
pub(crate) struct Lexicons {
    pub(crate) names: Vec<String>,
    pub(crate) terms: Vec<Term>,
    /// Per lexicon (by index), the weight of its [`SENTIMENT_TERM`]; 0 when
    /// it has none.
    pub(crate) sentiment_weights: Vec<f32>,
}

/// A ticket's lexicon scores and the evidence behind them.
#[derive(Debug, Default)]
pub(crate) struct Scored {
    /// Score per lexicon, by index.
    pub(crate) scores: Vec<f32>,
    /// Term evidence, strongest first.
    pub(crate) evidence: Vec<Evidence>,
}

impl Lexicons {
    /// The non-zero scores, named.
    pub(crate) fn named_scores(&self, scores: &[f32]) -> Vec<LexiconScore> {
        scores
            .iter()
            .zip(&self.names)
            .filter(|(score, _)| **score != 0.0)
            .map(|(score, name)| LexiconScore {
                lexicon: name.clone(),
                score: *score,
            })
            .collect()
    }
}

impl Lexicons {
    /// The index of the lexicon called `name`.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| known == name)
    }

    /// Scores the term hits and the compound `sentiment` of one ticket.
    /// Evidence records are built only for the [`MAX_EVIDENCE`] strongest
    /// entries.
    pub(crate) fn score(&self, hits: &[TermHit], subject_is_reply: bool, sentiment: f32) -> Scored {
        // Each term once, at its strongest occurrence (the first of equals).
        let mut ranked: Vec<(usize, f32, usize)> = hits
            .iter()
            .enumerate()
            .map(|(at, hit)| (hit.term, factor(hit, subject_is_reply), at))
            .collect();
        // Keys are distinct (`at` is), so an unstable sort orders as a stable
        // one would, without its scratch buffer.
        ranked.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        ranked.dedup_by_key(|(term, _, _)| *term);
        let mut scores = vec![0.0; self.names.len()];
        let mut weighed: Vec<(f32, usize, &Term, TermHit)> = Vec::with_capacity(ranked.len());
        for (term, factor, at) in ranked {
            let (Some(entry), Some(hit)) = (self.terms.get(term), hits.get(at)) else {
                continue;
            };
            let weight = entry.weight * factor;
            if let Some(score) = scores.get_mut(entry.lexicon) {
                *score += weight;
            }
            weighed.push((weight, term, entry, *hit));
        }
        // Strongest first; equally strong terms in term order.
        weighed.sort_unstable_by(|a, b| b.0.abs().total_cmp(&a.0.abs()).then(a.1.cmp(&b.1)));
        weighed.truncate(MAX_EVIDENCE);
        let mut evidence: Vec<Evidence> = weighed
            .into_iter()
            .map(|(weight, _, entry, hit)| Evidence {
                lexicon: self.names.get(entry.lexicon).cloned().unwrap_or_default(),
                term: entry.text.clone(),
                part: Some(hit.part),
                weight,
                negated: hit.negated,
            })
            .collect();
        self.add_sentiment(sentiment, &mut scores, &mut evidence);
        Scored { scores, evidence }
    }

    /// Adds each lexicon's sentiment weight times `sentiment` to its score,
    /// with an evidence entry (no text part) where it moved the score.
    fn add_sentiment(&self, sentiment: f32, scores: &mut [f32], evidence: &mut Vec<Evidence>) {
        let mut added = false;
        for ((score, weight), name) in scores.iter_mut().zip(&self.sentiment_weights).zip(&self.names) {
            let moved = weight * sentiment;
            if moved == 0.0 {
                continue;
            }
            *score += moved;
            added = true;
            evidence.push(Evidence {
                lexicon: name.clone(),
                term: SENTIMENT_TERM.to_string(),
                part: None,
                weight: moved,
                negated: false,
            });
        }
        if added {
            // Stable: equally strong entries keep their order, terms first.
            evidence.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
            evidence.truncate(MAX_EVIDENCE);
        }
    }

    /// Finds every term by searching the texts term by term: the slow
    /// reference the scanner's hits are checked against.
    pub(crate) fn reference_hits(&self, prepared: &Prepared) -> Vec<TermHit> {
        let mut hits = Vec::new();
        for part in [TextPart::Subject, TextPart::Body] {
            let folded = fold(prepared.text(part));
            for (term, entry) in self.terms.iter().enumerate() {
                for (start, _) in folded.char_indices() {
                    let end = start + entry.text.len();
                    if folded[start..].starts_with(entry.text.as_str()) && is_whole_word(&folded, start, end)
                    {
                        let negated = is_negated_at(&folded, start);
                        hits.push(TermHit { term, part, negated });
                    }
                }
            }
        }
        hits
    }
}

/// Whether `hit` counts at full weight (factor 1, the most a hit can):
/// no later hit of its term can outrank it.
pub(crate) fn at_full_weight(hit: &TermHit, subject_is_reply: bool) -> bool {
    match hit.part {
        TextPart::Subject if subject_is_reply => false,
        _ => !hit.negated,
    }
}

fn factor(hit: &TermHit, subject_is_reply: bool) -> f32 {
    let place = match hit.part {
        TextPart::Subject if subject_is_reply => REPLY_SUBJECT_FACTOR,
        _ => 1.0,
    };
    if hit.negated {
        place * NEGATED_FACTOR
    } else {
        place
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicons() -> Lexicons {
        let term = |text: &str, weight| Term {
            lexicon: 0,
            text: text.to_string(),
            weight,
        };
        Lexicons {
            names: vec!["problem".into()],
            terms: vec![term("problem", 1.0), term("crash", 2.0)],
            sentiment_weights: vec![0.0],
        }
    }

    fn hit(term: usize, part: TextPart, negated: bool) -> TermHit {
        TermHit { term, part, negated }
    }

    #[test]
    fn each_term_counts_once_at_its_strongest() {
        let hits = [
            hit(1, TextPart::Body, true),
            hit(1, TextPart::Body, false),
            hit(1, TextPart::Body, false),
        ];
        let scored = lexicons().score(&hits, false, 0.0);
        assert_eq!(scored.scores, vec![2.0]);
        assert_eq!(scored.evidence.len(), 1);
    }

    #[test]
    fn a_negated_term_reverses_and_halves_its_weight() {
        let scored = lexicons().score(&[hit(0, TextPart::Body, true)], false, 0.0);
        assert_eq!(scored.scores, vec![-0.5]);
        assert!(scored.evidence[0].negated);
    }

    #[test]
    fn a_replys_subject_weighs_half() {
        let hits = [hit(1, TextPart::Subject, false)];
        assert_eq!(lexicons().score(&hits, true, 0.0).scores, vec![1.0]);
        assert_eq!(lexicons().score(&hits, false, 0.0).scores, vec![2.0]);
    }

    #[test]
    fn the_sentiment_entry_adds_its_weight_times_the_sentiment_with_evidence() {
        let mut lexicons = lexicons();
        lexicons.sentiment_weights = vec![-2.0];
        let scored = lexicons.score(&[hit(0, TextPart::Body, false)], false, -0.75);
        assert_eq!(scored.scores, vec![2.5]);
        let first = &scored.evidence[0];
        assert_eq!(
            (first.term.as_str(), first.weight, first.part),
            (SENTIMENT_TERM, 1.5, None)
        );
        assert_eq!(scored.evidence[1].term, "problem");
    }

    #[test]
    fn neutral_sentiment_adds_no_evidence() {
        let mut lexicons = lexicons();
        lexicons.sentiment_weights = vec![-2.0];
        let scored = lexicons.score(&[hit(1, TextPart::Body, false)], false, 0.0);
        assert_eq!(scored.scores, vec![2.0]);
        assert_eq!(scored.evidence.len(), 1);
    }
}
