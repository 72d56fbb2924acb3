//! The word table: every lower-cased word the scorer knows, with its valence
//! (from VADER's lexicon) and its role (booster, negator, "but", ...), so one
//! hash look-up per token answers every question the rules ask about it.
//!
//! The valences come from VADER's `vader_lexicon.txt` as packaged by the
//! `qsv_vader_sentiment_analysis` crate (MIT, see the module doc of
//! [`crate::sentiment`]); the roles are triage's own lists, written from the
//! published description of the algorithm.

use std::collections::HashMap;
use std::sync::LazyLock;

use qsv_vader_sentiment_analysis::LEXICON as VADER_LEXICON;

/// Hash state for the tables: fixed (no per-process seed, so look-ups cost
/// the same in every run) and fast on the short keys words are.
pub(super) type Hasher = foldhash::fast::FixedState;

/// Intensity added (or removed, for a dampener) by a booster word.
pub(super) const BOOST: f32 = 0.293;

/// Role bits of an [`Entry`].
pub(super) mod role {
    /// Has a valence of its own (a lexicon word, emoticon or emoji).
    pub const LEXICAL: u16 = 1;
    /// Negates the (up to) three words after it.
    pub const NEGATOR: u16 = 1 << 1;
    /// "no": silent itself when it qualifies a sentiment word ("no problems").
    pub const NO: u16 = 1 << 2;
    /// "never": intensifies instead of negating in "never so good".
    pub const NEVER: u16 = 1 << 3;
    /// "so", which right before a word turns "never" into an intensifier
    /// ("never so good"; not "this": "never had this problem" is negated).
    pub const SO: u16 = 1 << 4;
    /// "without": no negation in "without (a) doubt".
    pub const WITHOUT: u16 = 1 << 5;
    /// "doubt", silent after "without".
    pub const DOUBT: u16 = 1 << 6;
    /// "least": negates the next word unless after "at" / "very".
    pub const LEAST: u16 = 1 << 7;
    /// "at" / "very" before "least".
    pub const AT_VERY: u16 = 1 << 8;
    /// "kind" / "sort", which with a following "of" make a dampener.
    pub const KIND_SORT: u16 = 1 << 9;
    /// "of", the second word of "kind of" / "sort of".
    pub const OF: u16 = 1 << 10;
    /// "but": what follows outweighs what went before, in its sentence.
    pub const BUT: u16 = 1 << 11;
    /// Last word of a [`super::PHRASES`] entry.
    pub const PHRASE_END: u16 = 1 << 12;
    /// An emoji (valence from its description).
    pub const EMOJI: u16 = 1 << 13;
}

/// What the scorer knows about one word.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Entry {
    /// Valence from the lexicon (meaningful with [`role::LEXICAL`]).
    pub valence: f32,
    /// Signed intensity this word adds to the sentiment words after it.
    pub booster: f32,
    /// [`role`] bits.
    pub roles: u16,
}

impl Entry {
    /// Whether every bit of `bits` is set.
    pub fn is(self, bits: u16) -> bool {
        self.roles & bits == bits
    }
}

/// Words that negate what follows. Contractions ending in "n't" negate too
/// (see [`lookup`]); the apostrophe-less spellings are listed.
const NEGATORS: &[&str] = &[
    "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "nope", "cannot",
    "without", "rarely", "seldom", "despite", "aint", "arent", "cant", "couldnt", "darent", "didnt",
    "doesnt", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neednt", "oughtnt", "shant",
    "shouldnt", "wasnt", "werent", "wont", "wouldnt", "uh-uh", "uhuh",
];

/// Words that raise the intensity of the sentiment word they precede.
const BOOSTERS: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormously",
    "entirely",
    "especially",
    "exceptionally",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "freaking",
    "frickin",
    "fricking",
    "friggin",
    "frigging",
    "fully",
    "fucking",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredibly",
    "intensely",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "totally",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utterly",
    "very",
];

/// Words that lower it.
const DAMPENERS: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginally",
    "occasionally",
    "partly",
    "scarcely",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
    "sort-of",
];

/// Fixed phrases whose meaning is not the sum of their words: the phrase's
/// last word takes this valence and the others fall silent.
pub(super) const PHRASES: &[(&[&str], f32)] = &[
    (&["the", "shit"], 3.0),
    (&["the", "bomb"], 3.0),
    (&["bad", "ass"], 1.5),
    (&["bus", "stop"], 0.0),
    (&["yeah", "right"], -2.0),
    (&["kiss", "of", "death"], -1.5),
    (&["to", "die", "for"], 3.0),
    (&["beating", "heart"], 3.1),
    (&["broken", "heart"], -2.9),
];

/// Entries of upstream vaderSentiment 3.3.2's lexicon that the packaged
/// copy lacks (the emoji descriptions "red heart" and the like need them).
const SUPPLEMENT: &[(&str, f32)] = &[("heart", 3.2), ("hearts", 3.3)];

/// The word table, built on first use.
static WORDS: LazyLock<HashMap<Box<str>, Entry, Hasher>> = LazyLock::new(build);

/// What the scorer knows about `word` (already lower-cased, with `'` as the
/// apostrophe); the default entry for a word it does not know.
pub(super) fn lookup(word: &str) -> Entry {
    let mut entry = WORDS.get(word).copied().unwrap_or_default();
    if word.ends_with("n't") {
        entry.roles |= role::NEGATOR;
    }
    entry
}

/// Lower-case `word` the way the tables are keyed: typographic apostrophes
/// become `'`, so "Don’t" and "don't" are one word.
pub(super) fn push_folded(word: &str, out: &mut String) {
    for c in word.chars() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            c if c.is_ascii() => out.push(c),
            '\u{2019}' | '\u{2018}' | '\u{02BC}' => out.push('\''),
            c => out.extend(c.to_lowercase()),
        }
    }
}

fn build() -> HashMap<Box<str>, Entry, Hasher> {
    let mut words: HashMap<Box<str>, Entry, Hasher> =
        HashMap::with_capacity_and_hasher(8192, Hasher::default());
    for (word, valence) in VADER_LEXICON.iter() {
        let word: &str = word;
        let mut key = String::with_capacity(word.len());
        push_folded(word, &mut key);
        // Keys differing only in case ("(:O" / "(:o") may carry different
        // valences: the one already in lower case wins, whatever the order.
        if words.contains_key(key.as_str()) && key != word {
            continue;
        }
        let entry = Entry {
            valence: *valence as f32,
            booster: 0.0,
            roles: role::LEXICAL,
        };
        words.insert(key.into_boxed_str(), entry);
    }
    for &(word, valence) in SUPPLEMENT {
        words.entry(word.into()).or_insert(Entry {
            valence,
            booster: 0.0,
            roles: role::LEXICAL,
        });
    }
    for &word in BOOSTERS {
        words.entry(word.into()).or_default().booster = BOOST;
    }
    for &word in DAMPENERS {
        words.entry(word.into()).or_default().booster = -BOOST;
    }
    let roles: &[(&[&str], u16)] = &[
        (NEGATORS, role::NEGATOR),
        (&["no"], role::NO),
        (&["never"], role::NEVER),
        (&["so"], role::SO),
        (&["without"], role::WITHOUT),
        (&["doubt"], role::DOUBT),
        (&["least"], role::LEAST),
        (&["at", "very"], role::AT_VERY),
        (&["kind", "sort"], role::KIND_SORT),
        (&["of"], role::OF),
        (&["but"], role::BUT),
    ];
    for &(list, bits) in roles {
        for &word in list {
            words.entry(word.into()).or_default().roles |= bits;
        }
    }
    for (phrase, _) in PHRASES {
        if let Some(last) = phrase.last() {
            words.entry((*last).into()).or_default().roles |= role::PHRASE_END;
        }
    }
    words
}
