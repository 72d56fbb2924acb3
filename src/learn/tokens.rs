//! Tokenisation shared by learning and scoring: the terms of a text are the
//! whole words the rule engine matches on normalised, lower-cased text.

use std::collections::BTreeSet;

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

/// Adds the terms of one text to `terms`: its words, and each pair of
/// consecutive words separated only by whitespace, joined by one space.
/// Terms made only of digits are left out.
pub fn add_terms(text: &str, terms: &mut BTreeSet<String>) {
    let normalised = normalise(text);
    let words = words(&normalised);
    for (at, word) in words.iter().enumerate() {
        if !is_number(word.text) {
            terms.insert(word.text.to_string());
        }
        let Some(previous) = at.checked_sub(1).and_then(|before| words.get(before)) else {
            continue;
        };
        if word.follows_space && !(is_number(previous.text) && is_number(word.text)) {
            terms.insert(format!("{} {}", previous.text, word.text));
        }
    }
}

/// The distinct terms of a ticket: those of its subject and of its text
/// (no pair spans the two).
pub fn terms(subject: Option<&str>, text: &str) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
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
        terms(None, text).into_iter().collect()
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
        let terms: Vec<String> = terms(Some("refund"), "please").into_iter().collect();
        assert_eq!(terms, ["please", "refund"]);
    }

    #[test]
    fn typographic_dashes_and_quotes_are_normalised() {
        assert_eq!(normalise("A–B—“C”ʼ"), "a-b-\"c\"'");
    }
}
