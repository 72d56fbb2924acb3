//! Lexicon-based sentiment of a message, with the words that moved it: an
//! implementation of VADER (Valence Aware Dictionary and sEntiment
//! Reasoner), written from the published algorithm over VADER's own
//! valence lexicon.
//!
//! [`score`] gives a compound score in [-1, 1], the positive, negative and
//! neutral shares, and the terms behind them; [`is_negated_at`] and
//! [`is_negator`] expose the negation rule so that weighted rule lexicons
//! can honour it the same way.
//!
//! # The rules
//!
//! The text is split on whitespace; emoji are split out of the words they
//! are glued to; surrounding punctuation is stripped unless the token is an
//! emoticon the lexicon knows (":)", ":(", ":D"). Each word is looked up
//! lower-cased (typographic apostrophes read as `'`). Then, per word:
//!
//! - capitals: a word in capitals among mixed-case words gains 0.733;
//! - boosters and dampeners ("very", "extremely", "barely", "kind of")
//!   within three words before add or remove 0.293 (×0.95 at distance 2,
//!   ×0.9 at 3), 0.733 more if written in capitals;
//! - negation: each negator ("not", "no", "never", "n't", "without",
//!   "nothing" ... see [`is_negator`]) within three words before multiplies
//!   by -0.74; "never so good" intensifies (×1.25) instead; "without (a)
//!   doubt" negates nothing and its "doubt" is silent; "no" before a
//!   sentiment word is itself silent ("no complaints");
//! - "least good" is negated, "at least good" is not;
//! - fixed phrases ("the bomb", "yeah right", "broken heart") take the
//!   phrase's valence;
//! - "but": in its sentence, words before it count ×0.5, after it ×1.5;
//! - "!" (up to four, 0.292 each) and "??"/"???" (0.18 each, 0.96 for more)
//!   intensify the sum's sign;
//! - emoji take the valence of their description ("smiling face with
//!   heart-eyes"), scored once at load with the same rules, except for a
//!   few that customers use with a meaning their description misses
//!   (triage's own values, listed in `emoji.rs`).
//!
//! The compound score is the sum normalised by x / sqrt(x² + 15).
//!
//! Where triage departs from the reference implementation: negation and
//! boosters stop at clause punctuation (`, ; : . ! ?`), so "no problems,
//! great service" is positive; "but" reweighs its own sentence, not the
//! whole message; multi-codepoint emoji (skin tones, ZWJ sequences) match
//! whole; words in capitals need two letters ("I" is not shouting).
//!
//! # Attribution
//!
//! The valence lexicon and the emoji lexicon are VADER's, by C.J. Hutto,
//! under the MIT licence ("Copyright (c) 2016 C.J. Hutto"), read from the
//! copy packaged in the `qsv_vader_sentiment_analysis` crate (also MIT).
//! That copy lacks two entries of vaderSentiment 3.3.2 ("heart", "hearts"),
//! which `lexicon.rs` adds back. Please cite: Hutto, C.J. & Gilbert, E.E.
//! (2014). VADER: A Parsimonious Rule-based Model for Sentiment Analysis of
//! Social Media Text. Eighth International Conference on Weblogs and Social
//! Media (ICWSM-14). Ann Arbor, MI, June 2014.

mod emoji;
mod lexicon;
mod summary;
mod token;
mod valence;

#[cfg(test)]
mod tests;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use token::Tokens;

/// A word, emoticon or emoji that moved a text's sentiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentTerm {
    /// The term, lower-cased as looked up ("horrible", ":(", "😡").
    pub term: String,
    /// Its valence after every rule (boosters, negation, "but" ...), on
    /// the lexicon's scale (about -4 to 4).
    pub weight: f32,
}

/// The sentiment of a text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sentiment {
    /// Overall polarity in [-1, 1]: below 0 negative, above 0 positive
    /// (VADER's customary thresholds are ±0.05).
    pub compound: f32,
    /// Share of the text's sentiment intensity that is positive, in [0, 1].
    pub positive: f32,
    /// Share that is negative, in [0, 1].
    pub negative: f32,
    /// Share of words that carry no sentiment, in [0, 1]. The three shares
    /// add up to 1, or are all 0 for a text without words.
    pub neutral: f32,
    /// The terms that moved the score, in text order, at most 16 (the
    /// strongest, if more did).
    pub terms: Vec<SentimentTerm>,
}

/// Reusable token buffers, one per thread.
#[derive(Debug, Default)]
struct Scratch {
    tokens: Tokens,
    valences: Vec<f32>,
}

impl Scratch {
    fn score(&mut self, text: &str) -> Sentiment {
        self.tokens.read(text, true);
        valence::assign(&self.tokens, &mut self.valences);
        summary::summarise(text, &self.tokens, &self.valences)
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The sentiment of `text`. Never fails: text without sentiment words has
/// compound 0, and an empty text all zeros and no terms.
pub fn score(text: &str) -> Sentiment {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => scratch.score(text),
        // Only re-entered while the lexicon loads; buffers of its own then.
        Err(_) => Scratch::default().score(text),
    })
}

/// Whitespace-separated words before `start` examined by
/// [`is_negated_at`]: enough for the three-token window even when some are
/// bare punctuation.
const LOOKBACK_WORDS: usize = 8;

/// Whether the word at byte `start` of `text` is negated by one of the (up
/// to) three words before it in its clause, by the rules [`score`] uses
/// ("not good", "don’t like", "never really liked"; not "never so good",
/// "without a doubt good", "no problems, good"). A `start` past the end or
/// inside a character is taken at the character boundary before it.
pub fn is_negated_at(text: &str, start: usize) -> bool {
    let mut start = start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let from = before
        .split_whitespace()
        .rev()
        .take(LOOKBACK_WORDS)
        .last()
        .map_or(start, |word| word.as_ptr() as usize - before.as_ptr() as usize);
    let mut tokens = Tokens::default();
    tokens.read(&before[from..], true);
    let list = tokens.list();
    let (near, count) = valence::near(list, list.len());
    valence::negation(&near[..count]) < 0.0
}

/// Whether `word` negates the words after it: "not", "no", "never",
/// "without", "nothing", "nobody", "none", "neither", "nor", "cannot", any
/// "n't" contraction (with a straight or typographic apostrophe) and the
/// apostrophe-less "dont", "cant", "wont" ... Case and surrounding
/// punctuation are ignored.
pub fn is_negator(word: &str) -> bool {
    let word = word.trim_matches(token::is_punctuation);
    let mut folded = String::with_capacity(word.len());
    lexicon::push_folded(word, &mut folded);
    lexicon::lookup(&folded).is(lexicon::role::NEGATOR)
}
