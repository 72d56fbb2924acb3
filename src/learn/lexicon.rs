//! Learned lexicons and the TOML file a person reads, edits and loads.

use std::fmt::Write as _;

use super::{tokens, LearnOptions};
use crate::rules::SENTIMENT_TERM;

/// One weighted term.
#[derive(Debug, Clone, PartialEq)]
pub struct TermWeight {
    /// A word or a two-word phrase, normalised.
    pub term: String,
    /// Evidence it adds: positive for the lexicon's target.
    pub weight: f64,
    /// Examples of the target that contain it.
    pub target_count: u32,
    /// Examples not of the target that contain it.
    pub other_count: u32,
}

/// A table of weighted terms with the intercept of the model it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Lexicon {
    /// Table name under `[lexicon]`, e.g. `side` or `category_billing`.
    pub name: String,
    /// What positive evidence points to, e.g. `reactive` or `billing`.
    pub target: String,
    /// What negative evidence points to, e.g. `proactive` or `other`.
    pub other: String,
    /// Examples of the target and of the rest.
    pub examples: (usize, usize),
    /// The model's intercept.
    pub intercept: f64,
    /// The weight on the compound sentiment (-1 to 1), when it was fitted.
    pub sentiment_weight: Option<f64>,
    /// The kept terms, highest weight first.
    pub terms: Vec<TermWeight>,
    /// Coordinate-descent sweeps the fit took, and whether it converged.
    pub fit: (usize, bool),
}

impl Lexicon {
    /// The score at or above which a ticket counts as the target: `-intercept`.
    pub fn threshold(&self) -> f64 {
        -self.intercept
    }

    /// The sum of the weights of the kept terms present in a ticket, plus
    /// the sentiment weight times the ticket's compound sentiment.
    pub fn score(&self, subject: Option<&str>, text: &str) -> f64 {
        let present = tokens::terms(subject, text);
        let terms: f64 = self
            .terms
            .iter()
            .filter_map(|term| present.get(&term.term).map(|value| term.weight * value))
            .sum();
        let sentiment = self.sentiment_weight.map_or(0.0, |weight| {
            let example = super::Example {
                subject: subject.map(str::to_string),
                text: text.to_string(),
                side: crate::ticket::Side::Unclassified,
                category: None,
            };
            weight * super::features::customer_sentiment(&example)
        });
        terms + sentiment
    }
}

/// What [`learn`](super::learn) produced: the side lexicon and one lexicon
/// per category, with enough provenance to write a self-describing file.
#[derive(Debug, Clone, PartialEq)]
pub struct Learned {
    /// Evidence for reactive (positive) against proactive (negative).
    pub side: Lexicon,
    /// One-vs-rest lexicons, by sanitised category name.
    pub categories: Vec<Lexicon>,
    /// The options used.
    pub options: LearnOptions,
    /// Distinct terms in the examples, and how many passed `min_count`.
    pub terms: (usize, usize),
    /// The corpus file and split, for the header (set by [`Learned::from_corpus`]).
    pub corpus: Option<(String, Option<String>)>,
}

/// Rounds to 3 decimals for the file (`-0.000` becomes `0.000`).
fn rounded(value: f64) -> f64 {
    let value = (value * 1000.0).round() / 1000.0;
    if value == 0.0 || !value.is_finite() {
        0.0
    } else {
        value
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

impl Learned {
    /// Records the corpus file name and split for the file's header.
    pub fn from_corpus(mut self, corpus: &str, split: Option<&str>) -> Learned {
        self.corpus = Some((corpus.to_string(), split.map(str::to_string)));
        self
    }

    /// The lexicon file: a header comment, a `[learned]` table of metadata,
    /// then `[lexicon.side]` and `[lexicon.category_<name>]` tables of
    /// term -> weight. Deterministic: same examples and options, same text.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        self.write_header(&mut out);
        self.write_metadata(&mut out);
        for lexicon in std::iter::once(&self.side).chain(&self.categories) {
            write_table(&mut out, lexicon);
        }
        out
    }

    fn write_header(&self, out: &mut String) {
        let side = &self.side;
        let options = &self.options;
        out.push_str(
            "# Weighted lexicons learned by `triage rules learn` (L2-regularised logistic regression).\n",
        );
        if let Some((corpus, split)) = &self.corpus {
            let split = split
                .as_deref()
                .map(|split| format!(", split {split}"))
                .unwrap_or_default();
            let _ = writeln!(out, "# corpus: {corpus}{split}");
        }
        let _ = writeln!(
            out,
            "# examples: {} reactive, {} proactive",
            side.examples.0, side.examples.1
        );
        let _ = writeln!(
            out,
            "# options: --min-count {} --max-terms {} --category-terms {} --l2 {}{}",
            options.min_count,
            options.max_terms,
            options.category_terms,
            options.l2,
            if options.sentiment { "" } else { " --no-sentiment" }
        );
        let _ = writeln!(
            out,
            "# terms: {} seen, {} in at least {} examples; side fit: {} sweeps{}",
            self.terms.0,
            self.terms.1,
            options.min_count,
            side.fit.0,
            if side.fit.1 {
                ", converged"
            } else {
                ", NOT converged"
            }
        );
        out.push_str("#\n");
        out.push_str("# score = sum of the weights of the distinct terms present in the subject and text\n");
        out.push_str("# (whole words on lower-cased text; a two-word term matches two words separated\n");
        out.push_str(
            "# only by whitespace). In [lexicon.side] positive weights are evidence for reactive,\n",
        );
        out.push_str("# negative for proactive.\n");
        if self.options.sentiment {
            out.push_str(
                "# \"@sentiment\" weighs the compound sentiment of the customer's words (-1 to 1)\n",
            );
            out.push_str("# instead of a term.\n");
        }
        let _ = writeln!(
            out,
            "# intercept {:.3}: suggested decision: reactive when score >= {:.3}, otherwise proactive.\n",
            rounded(side.intercept),
            rounded(side.threshold())
        );
    }

    fn write_metadata(&self, out: &mut String) {
        let side = &self.side;
        out.push_str("[learned]\n");
        out.push_str("generated_by = \"triage rules learn\"\n");
        if let Some((corpus, split)) = &self.corpus {
            let _ = writeln!(out, "corpus = {}", quoted(corpus));
            if let Some(split) = split {
                let _ = writeln!(out, "split = {}", quoted(split));
            }
        }
        let _ = writeln!(out, "reactive_examples = {}", side.examples.0);
        let _ = writeln!(out, "proactive_examples = {}", side.examples.1);
        let _ = writeln!(out, "intercept = {:.3}", rounded(side.intercept));
        let _ = writeln!(out, "threshold = {:.3}", rounded(side.threshold()));
        out.push_str(
            "note = \"score = sum of the [lexicon.side] weights of the distinct terms present; \
             reactive when score >= threshold\"\n\n",
        );
    }
}

fn write_table(out: &mut String, lexicon: &Lexicon) {
    if lexicon.name != "side" {
        let _ = writeln!(
            out,
            "# {} vs {}: {} vs {} examples; intercept {:.3}, so {} when score >= {:.3}",
            lexicon.target,
            lexicon.other,
            lexicon.examples.0,
            lexicon.examples.1,
            rounded(lexicon.intercept),
            lexicon.target,
            rounded(lexicon.threshold())
        );
    }
    let _ = writeln!(out, "[lexicon.{}]", lexicon.name);
    if let Some(weight) = lexicon.sentiment_weight {
        let _ = writeln!(
            out,
            "{} = {:.3}  # times the compound sentiment, -1 (angry) to 1 (happy)",
            quoted(SENTIMENT_TERM),
            rounded(weight)
        );
    }
    for term in &lexicon.terms {
        let _ = writeln!(
            out,
            "{} = {:.3}  # {} {}, {} {}",
            quoted(&term.term),
            rounded(term.weight),
            lexicon.target,
            term.target_count,
            lexicon.other,
            term.other_count
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes_quotes_backslashes_and_controls() {
        assert_eq!(quoted("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }

    #[test]
    fn rounded_has_no_negative_zero() {
        assert_eq!(format!("{:.3}", rounded(-0.0001)), "0.000");
        assert_eq!(format!("{:.3}", rounded(1.23456)), "1.235");
    }
}
