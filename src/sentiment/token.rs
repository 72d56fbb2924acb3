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
    /// The key buffer holds the whole (ASCII) text, folded at once, so a
    /// word's key is at its offset in the text; otherwise each word is
    /// folded onto the buffer's end.
    folded_in_place: bool,
}

impl Tokens {
    /// Replace the tokens with those of `text`; `emoji` says whether to
    /// match emoji (off while the emoji table itself is being built).
    pub fn read(&mut self, text: &str, emoji: bool) {
        if text.is_ascii() {
            self.read_ascii(text);
        } else {
            self.read_words(text, emoji);
        }
    }

    /// Reads an ASCII text (no emoji in it) as [`Tokens::read_words`]
    /// does, faster: folded at once, its words keep their offsets as keys,
    /// and it splits without decoding characters.
    fn read_ascii(&mut self, text: &str) {
        self.clear(true);
        // What `lexicon::push_folded` does to ASCII, for the whole text.
        self.keys.push_str(text);
        self.keys.make_ascii_lowercase();
        let words = text.as_bytes().split(|&byte| char::from(byte).is_whitespace());
        for word in words.filter(|word| !word.is_empty()) {
            let start = word.as_ptr() as usize - text.as_ptr() as usize;
            if let Some(word) = text.get(start..start + word.len()) {
                self.piece(word, start);
            }
        }
    }

    /// Reads any text word by word, folding each onto the key buffer.
    fn read_words(&mut self, text: &str, emoji: bool) {
        self.clear(false);
        for word in text.split_whitespace() {
            let start = word.as_ptr() as usize - text.as_ptr() as usize;
            if emoji && !word.is_ascii() {
                self.split_emoji(word, start);
            } else {
                self.piece(word, start);
            }
        }
    }

    fn clear(&mut self, folded_in_place: bool) {
        self.list.clear();
        self.keys.clear();
        self.folded_in_place = folded_in_place;
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

    /// Split a whitespace-separated word with non-ASCII chars, at offset
    /// `start` of the text, into emoji and the pieces between them.
    fn split_emoji(&mut self, word: &str, start: usize) {
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
            self.piece(&word[piece_start..at], start + piece_start);
            match matched {
                Some((len, valence)) => {
                    self.push_emoji(&word[at..at + len], start + at, valence);
                    at += len;
                }
                None => at += c.len_utf8(),
            }
            piece_start = at;
        }
        self.piece(&word[piece_start..], start + piece_start);
    }

    fn push_emoji(&mut self, emoji: &str, start: usize, valence: f32) {
        let key = self.push_key(emoji, start);
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
    /// an emoticon. `start` is its offset in the text read (used when the
    /// text was folded in place).
    fn piece(&mut self, raw: &str, start: usize) {
        let ascii = self.folded_in_place;
        let (body_start, body_end) = word_bounds(raw, ascii);
        let trailing = &raw[body_end..];
        let body = &raw[body_start..body_end];
        if body.len() != raw.len() && body.chars().nth(2).is_none() && self.push_emoticon(raw, start) {
            return;
        }
        let clause_end = !trailing.is_empty() && trailing.contains(CLAUSE_ENDS);
        let sentence_end = !trailing.is_empty() && trailing.contains(SENTENCE_ENDS);
        if body.is_empty() {
            if let Some(last) = self.list.last_mut() {
                last.clause_end |= clause_end;
                last.sentence_end |= sentence_end;
            }
            return;
        }
        let key = self.push_key(body, start + body_start);
        let entry = lexicon::lookup(self.key_str(key));
        let (shout, cased) = capitals(body, ascii);
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
    fn push_emoticon(&mut self, raw: &str, start: usize) -> bool {
        let key = self.push_key(raw, start);
        let entry = lexicon::lookup(self.key_str(key));
        if !entry.is(role::LEXICAL) {
            if !self.folded_in_place {
                self.keys.truncate(key.0 as usize);
            }
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

    /// The key of `word`, found at offset `start` of the text read: there
    /// already when the text was folded in place, else folded onto the end.
    fn push_key(&mut self, word: &str, start: usize) -> (u32, u32) {
        if self.folded_in_place {
            return (offset_u32(start), offset_u32(start + word.len()));
        }
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
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    matches!(
        c,
        '\u{2018}'..='\u{201F}' | '\u{2010}'..='\u{2015}' | '\u{2026}' | '\u{00AB}' | '\u{00BB}' | '\u{00A1}' | '\u{00BF}'
    )
}

/// Where `raw` starts and ends without its surrounding punctuation;
/// `ascii` says it is ASCII, so its bytes need no decoding.
fn word_bounds(raw: &str, ascii: bool) -> (usize, usize) {
    if ascii {
        let bytes = raw.as_bytes();
        let kept = |byte: &u8| !byte.is_ascii_punctuation();
        let end = bytes.iter().rposition(kept).map_or(0, |at| at + 1);
        let start = bytes[..end].iter().position(kept).unwrap_or(end);
        return (start, end);
    }
    let end = raw.trim_end_matches(is_punctuation).len();
    (end - raw[..end].trim_start_matches(is_punctuation).len(), end)
}

/// (all in capitals, has case): over the letters of `word`, ignoring
/// one-letter words ("I", "A") either way; `ascii` as for [`word_bounds`].
fn capitals(word: &str, ascii: bool) -> (bool, bool) {
    let (mut letters, mut upper, mut lower) = (0, false, false);
    if ascii {
        for byte in word.bytes().filter(u8::is_ascii_alphabetic) {
            letters += 1;
            upper |= byte.is_ascii_uppercase();
            lower |= byte.is_ascii_lowercase();
        }
    } else {
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            upper |= c.is_uppercase();
            lower |= c.is_lowercase();
        }
    }
    let cased = letters >= 2 && (upper || lower);
    (cased && upper && !lower, cased)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each token's folded word and everything the rules read of it.
    fn summary(tokens: &Tokens) -> Vec<(String, Entry, bool, bool, bool, bool)> {
        tokens
            .list()
            .iter()
            .map(|t| {
                (
                    tokens.key(t).to_string(),
                    t.entry,
                    t.shout,
                    t.cased,
                    t.clause_end,
                    t.sentence_end,
                )
            })
            .collect()
    }

    proptest! {
        #[test]
        fn ascii_fast_path_reads_like_word_by_word(
            words in proptest::collection::vec("[ -~\\t\\n\\x0b\\x0c\\r]{0,12}|not|NOT|Good|:\\)|:-\\(|<3|but|kind|of|!!|\\.\\.\\.", 0..40),
        ) {
            let text = words.join(" ");
            let (mut fast, mut general) = (Tokens::default(), Tokens::default());
            fast.read_ascii(&text);
            general.read_words(&text, true);
            prop_assert_eq!(summary(&fast), summary(&general));
        }
    }
}
