//! Tokens: the text split on whitespace, emoji split out of the words they
//! are glued to, surrounding punctuation stripped (emoticons kept whole),
//! lower-cased into one reusable buffer and looked up once.

use super::emoji;
use super::lexicon::{self, role, Entry};

/// Punctuation that ends a clause: negation and boosters do not reach past it.
const CLAUSE_ENDS: &[char] = &[',', ';', ':', '.', '!', '?', '\u{2026}'];
/// Punctuation that ends a sentence: "but" reweighs only its own sentence.
const SENTENCE_ENDS: &[char] = &['.', '!', '?', '\u{2026}'];

/// One word, emoticon or emoji of the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    /// Byte range of the folded word in [`Tokens`]' key buffer.
    key: (u32, u32),
    /// What the tables know about the word.
    pub entry: Entry,
    /// Written in capitals (two letters or more, none lower case).
    pub shout: bool,
    /// Has two letters or more with case, so counts for the capitals test.
    pub cased: bool,
    /// Followed by punctuation that ends the clause.
    pub clause_end: bool,
    /// Followed by punctuation that ends the sentence.
    pub sentence_end: bool,
}

/// The tokens of one text, with the buffer their folded words live in;
/// reused from text to text so reading allocates only while it grows.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    list: Vec<Token>,
    keys: String,
}

impl Tokens {
    /// Replace the tokens with those of `text`; `emoji` says whether to
    /// match emoji (off while the emoji table itself is being built).
    pub fn read(&mut self, text: &str, emoji: bool) {
        self.list.clear();
        self.keys.clear();
        for word in text.split_whitespace() {
            if emoji && !word.is_ascii() {
                self.split_emoji(word);
            } else {
                self.piece(word);
            }
        }
    }

    /// The tokens, in text order.
    pub fn list(&self) -> &[Token] {
        &self.list
    }

    /// The folded (lower-cased) word of `token`.
    pub fn key(&self, token: &Token) -> &str {
        self.keys
            .get(token.key.0 as usize..token.key.1 as usize)
            .unwrap_or_default()
    }

    /// Whether capitals mark emphasis: some words shout and others don't
    /// (a text all in capitals emphasises nothing).
    pub fn cap_differential(&self) -> bool {
        let shouting = self.list.iter().any(|t| t.shout);
        shouting && self.list.iter().any(|t| t.cased && !t.shout)
    }

    /// Split a whitespace-separated word with non-ASCII chars into emoji
    /// and the pieces between them.
    fn split_emoji(&mut self, word: &str) {
        let mut piece_start = 0;
        let mut at = 0;
        while let Some(c) = word[at..].chars().next() {
            if c.is_ascii() {
                at += 1;
                continue;
            }
            let matched = emoji::match_at(&word[at..]);
            if matched.is_none() && !emoji::is_emoji_part(c) {
                at += c.len_utf8();
                continue;
            }
            self.piece(&word[piece_start..at]);
            match matched {
                Some((len, valence)) => {
                    self.push_emoji(&word[at..at + len], valence);
                    at += len;
                }
                None => at += c.len_utf8(),
            }
            piece_start = at;
        }
        self.piece(&word[piece_start..]);
    }

    fn push_emoji(&mut self, emoji: &str, valence: f32) {
        let key = self.push_key(emoji);
        let entry = Entry {
            valence,
            booster: 0.0,
            roles: role::LEXICAL | role::EMOJI,
        };
        self.list.push(Token {
            key,
            entry,
            shout: false,
            cased: false,
            clause_end: false,
            sentence_end: false,
        });
    }

    /// Add one piece of text: a word with its surrounding punctuation, or
    /// an emoticon.
    fn piece(&mut self, raw: &str) {
        let body_end = raw.trim_end_matches(is_punctuation).len();
        let trailing = &raw[body_end..];
        let body = raw[..body_end].trim_start_matches(is_punctuation);
        if body.len() != raw.len() && body.chars().nth(2).is_none() && self.push_emoticon(raw) {
            return;
        }
        let clause_end = trailing.contains(CLAUSE_ENDS);
        let sentence_end = trailing.contains(SENTENCE_ENDS);
        if body.is_empty() {
            if let Some(last) = self.list.last_mut() {
                last.clause_end |= clause_end;
                last.sentence_end |= sentence_end;
            }
            return;
        }
        let key = self.push_key(body);
        let entry = lexicon::lookup(self.key_str(key));
        let (shout, cased) = capitals(body);
        self.list.push(Token {
            key,
            entry,
            shout,
            cased,
            clause_end,
            sentence_end,
        });
    }

    /// Add `raw` whole if the lexicon knows it (":)", ":-(", "<3");
    /// whether it did.
    fn push_emoticon(&mut self, raw: &str) -> bool {
        let key = self.push_key(raw);
        let entry = lexicon::lookup(self.key_str(key));
        if !entry.is(role::LEXICAL) {
            self.keys.truncate(key.0 as usize);
            return false;
        }
        let token = Token {
            key,
            entry,
            shout: false,
            cased: false,
            clause_end: false,
            sentence_end: false,
        };
        self.list.push(token);
        true
    }

    fn push_key(&mut self, word: &str) -> (u32, u32) {
        let begin = self.keys.len();
        lexicon::push_folded(word, &mut self.keys);
        (offset_u32(begin), offset_u32(self.keys.len()))
    }

    fn key_str(&self, key: (u32, u32)) -> &str {
        self.keys.get(key.0 as usize..key.1 as usize).unwrap_or_default()
    }
}

/// Key buffer offsets are kept in 32 bits; a text past 4 GiB (far beyond
/// any ticket limit) saturates and its later keys read as unknown words.
fn offset_u32(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// Punctuation stripped from the ends of words: ASCII punctuation and the
/// typographic quotes, dashes and marks customers' editors insert.
pub(super) fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{2018}'..='\u{201F}' | '\u{2010}'..='\u{2015}' | '\u{2026}' | '\u{00AB}' | '\u{00BB}' | '\u{00A1}' | '\u{00BF}'
        )
}

/// (all in capitals, has case): over the letters of `word`, ignoring
/// one-letter words ("I", "A") either way.
fn capitals(word: &str) -> (bool, bool) {
    let (mut letters, mut upper, mut lower) = (0, false, false);
    for c in word.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        upper |= c.is_uppercase();
        lower |= c.is_lowercase();
    }
    let cased = letters >= 2 && (upper || lower);
    (cased && upper && !lower, cased)
}
