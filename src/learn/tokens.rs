//! Tokenisation shared by learning and scoring: the terms of a text are the
//! whole words the rule engine matches on normalised, lower-cased text, each
//! with the value the rule engine gives it: 1, or, when every occurrence is
//! negated ("not working"), the engine's negated factor.

use std::collections::BTreeMap;

use crate::rules::{is_negated_at, NEGATED_FACTOR};

/// A text's terms and their values.
pub type Terms = BTreeMap<String, f64>;

/// Lower-cases `text` and maps typographic apostrophes, quotes and dashes to
/// their ASCII forms, so "Don’t" and "don't" are one term.
pub fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            '\u{2013}' | '\u{2014}' => '-',
            c => c,
        })
        .collect()
}

/// One word of a normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word<'a> {
    text: &'a str,
    /// True when only whitespace separates it from the word before.
    follows_space: bool,
}

/// The words of a normalised text: maximal runs of alphanumeric characters,
/// with an apostrophe kept when it stands between two of them ("can't").
fn words(text: &str) -> Vec<Word<'_>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut words = Vec::new();
    let mut gap_start = 0;
    let mut at = 0;
    while at < chars.len() {
        let (start, c) = chars[at];
        if !c.is_alphanumeric() {
            at += 1;
            continue;
        }
        let mut end = at + 1;
        while end < chars.len() && continues_word(&chars, end) {
            end += 1;
        }
        let end_byte = chars.get(end).map_or(text.len(), |(byte, _)| *byte);
        let gap = &text[gap_start..start];
        words.push(Word {
            text: &text[start..end_byte],
            follows_space: !words.is_empty() && !gap.is_empty() && gap.chars().all(char::is_whitespace),
        });
        gap_start = end_byte;
        at = end;
    }
    words
}

/// True when the character at `at` extends the word running up to it.
fn continues_word(chars: &[(usize, char)], at: usize) -> bool {
    let is_alnum = |i: usize| chars.get(i).is_some_and(|(_, c)| c.is_alphanumeric());
    match chars[at].1 {
        '\'' => is_alnum(at - 1) && is_alnum(at + 1),
        c => c.is_alphanumeric(),
    }
}

fn is_number(word: &str) -> bool {
    word.chars().all(char::is_numeric)
}

/// Records one occurrence of `term`: its value is the largest of its
/// occurrences' (a plain occurrence outranks a negated one), as the rule
/// engine counts each term once at its strongest.
fn record(terms: &mut Terms, term: String, negated: bool) {
    let value = if negated { f64::from(NEGATED_FACTOR) } else { 1.0 };
    terms
        .entry(term)
        .and_modify(|known| *known = known.max(value))
        .or_insert(value);
}

/// Byte offset of `word` (a slice of `text`) in `text`.
fn offset(text: &str, word: &str) -> usize {
    (word.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// Adds the terms of one text to `terms`: its words, and each pair of
/// consecutive words separated only by whitespace, joined by one space.
/// Terms made only of digits are left out. A term is negated when the rule
/// engine would see a negator before it.
pub fn add_terms(text: &str, terms: &mut Terms) {
    let normalised = normalise(text);
    let words = words(&normalised);
    for (at, word) in words.iter().enumerate() {
        let negated = is_negated_at(&normalised, offset(&normalised, word.text));
        if !is_number(word.text) {
            record(terms, word.text.to_string(), negated);
        }
        let Some(previous) = at.checked_sub(1).and_then(|before| words.get(before)) else {
            continue;
        };
        if word.follows_space && !(is_number(previous.text) && is_number(word.text)) {
            let negated = is_negated_at(&normalised, offset(&normalised, previous.text));
            record(terms, format!("{} {}", previous.text, word.text), negated);
        }
    }
}

/// The distinct terms of a ticket and their values: those of its subject
/// and of its text (no pair spans the two).
pub fn terms(subject: Option<&str>, text: &str) -> Terms {
    let mut terms = Terms::new();
    if let Some(subject) = subject {
        add_terms(subject, &mut terms);
    }
    add_terms(text, &mut terms);
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<String> {
        terms(None, text).into_keys().collect()
    }

    #[test]
    fn words_keep_inner_apostrophes_only() {
        let normalised = normalise("'Can’t' log in, it doesn't WORK");
        let texts: Vec<&str> = words(&normalised).iter().map(|word| word.text).collect();
        assert_eq!(texts, ["can't", "log", "in", "it", "doesn't", "work"]);
    }

    #[test]
    fn bigrams_join_words_separated_only_by_whitespace() {
        assert_eq!(list("card  declined"), ["card", "card declined", "declined"]);
    }

    #[test]
    fn punctuation_between_words_breaks_the_bigram() {
        assert_eq!(list("broken. again"), ["again", "broken"]);
        assert_eq!(list("log-in"), ["in", "log"]);
    }

    #[test]
    fn terms_only_of_digits_are_dropped() {
        assert_eq!(list("error 404 500"), ["error", "error 404"]);
    }

    #[test]
    fn subject_and_text_do_not_form_a_bigram() {
        let terms: Vec<String> = terms(Some("refund"), "please").into_keys().collect();
        assert_eq!(terms, ["please", "refund"]);
    }

    #[test]
    fn a_negated_term_has_the_engines_negated_value_unless_it_also_occurs_plainly() {
        let negated = f64::from(NEGATED_FACTOR);
        let found = terms(None, "it is not working");
        assert_eq!(found.get("working"), Some(&negated));
        assert_eq!(found.get("is not"), Some(&1.0));
        assert_eq!(found.get("not working"), Some(&1.0));
        let found = terms(None, "not working. now working");
        assert_eq!(found.get("working"), Some(&1.0));
    }

    #[test]
    fn typographic_dashes_and_quotes_are_normalised() {
        assert_eq!(normalise("A–B—“C”ʼ"), "a-b-\"c\"'");
    }
}
