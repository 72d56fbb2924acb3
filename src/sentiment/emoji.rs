//! Emoji: each emoji of VADER's `emoji_utf8_lexicon.txt` is scored once, at
//! load, by running its description ("smiling face with heart-eyes")
//! through the word scorer; the text scanner then matches emoji (longest
//! sequence first) and treats each as one token with that valence.

use std::collections::HashMap;
use std::sync::LazyLock;

use qsv_vader_sentiment_analysis::EMOJI_LEXICON;

use super::lexicon::Hasher;
use super::{token, valence};

/// Valences triage sets for emoji whose description says nothing to the
/// lexicon ("pouting face", "thumbs up") or says the wrong thing ("fire")
/// but which customers use with a clear meaning. triage's own judgement,
/// on the lexicon's -4..4 scale; not part of VADER.
const OVERRIDES: &[(&str, f32)] = &[
    ("\u{1F621}", -2.5), // pouting face
    ("\u{1F620}", -2.3), // angry face
    ("\u{1F92C}", -2.8), // face with symbols on mouth
    ("\u{1F624}", -1.8), // face with steam from nose
    ("\u{1F612}", -1.5), // unamused face
    ("\u{1F644}", -1.3), // face with rolling eyes
    ("\u{1F92E}", -2.0), // face vomiting
    ("\u{1F922}", -1.8), // nauseated face
    ("\u{1F926}", -1.5), // person facepalming
    ("\u{1F4A9}", -2.0), // pile of poo
    ("\u{1F44E}", -1.8), // thumbs down
    ("\u{1F44D}", 1.8),  // thumbs up
    ("\u{1F44F}", 1.8),  // clapping hands
    ("\u{1F64F}", 1.2),  // folded hands (thanks / please)
    ("\u{1F4AF}", 1.8),  // hundred points
    ("\u{1F525}", 1.5),  // fire ("this is fire")
];

/// Longest emoji sequence matched, in chars (the lexicon's longest is 8).
const MAX_CHARS: usize = 12;

/// Largest magnitude an emoji's description may add up to, the lexicon's
/// own bound for one word.
const MAX_VALENCE: f32 = 4.0;

/// The emoji table, built on first use.
pub(super) struct Emoji {
    valence: HashMap<Box<str>, f32, Hasher>,
    /// Longest emoji (in chars) starting with each char.
    longest: HashMap<char, usize, Hasher>,
}

static EMOJI: LazyLock<Emoji> = LazyLock::new(build);

/// The emoji at the start of `text` (longest match), as its length in
/// bytes and its valence.
pub(super) fn match_at(text: &str) -> Option<(usize, f32)> {
    let first = text.chars().next()?;
    let &longest = EMOJI.longest.get(&first)?;
    let mut ends = [0; MAX_CHARS];
    let mut count = 0;
    let boundaries = text
        .char_indices()
        .skip(1)
        .map(|(at, _)| at)
        .chain(std::iter::once(text.len()));
    for (slot, end) in ends.iter_mut().zip(boundaries.take(longest)) {
        *slot = end;
        count += 1;
    }
    ends[..count]
        .iter()
        .rev()
        .find_map(|&end| EMOJI.valence.get(&text[..end]).map(|&valence| (end, valence)))
}

/// Whether `c` is pictographic or an emoji joiner or modifier: such a char
/// that is not part of a known emoji separates words rather than joining
/// them ("ok🫠fine" is "ok" and "fine").
pub(super) fn is_emoji_part(c: char) -> bool {
    matches!(c,
        '\u{200D}' | '\u{20E3}' | '\u{FE0E}' | '\u{FE0F}'
        | '\u{2190}'..='\u{21FF}'
        | '\u{2300}'..='\u{23FF}'
        | '\u{2460}'..='\u{27BF}'
        | '\u{2900}'..='\u{2BFF}'
        | '\u{1F000}'..='\u{1FAFF}'
        | '\u{E0020}'..='\u{E007F}')
}

/// Skin-tone modifiers and variation selectors.
fn is_modifier(c: char) -> bool {
    matches!(c, '\u{1F3FB}'..='\u{1F3FF}' | '\u{FE0E}' | '\u{FE0F}')
}

fn build() -> Emoji {
    let mut valence = HashMap::with_capacity_and_hasher(EMOJI_LEXICON.len(), Hasher::default());
    let mut longest: HashMap<char, usize, Hasher> = HashMap::default();
    for (&emoji, &description) in EMOJI_LEXICON.iter() {
        let Some(first) = emoji.chars().next() else {
            continue;
        };
        let chars = emoji.chars().count();
        if chars > MAX_CHARS {
            continue;
        }
        // Skin tones and presentation selectors do not change the meaning.
        let base: String = emoji.chars().filter(|&c| !is_modifier(c)).collect();
        let value = match OVERRIDES.iter().find(|(e, _)| *e == base) {
            Some(&(_, value)) => value,
            None => describe(description),
        };
        valence.insert(emoji.into(), value);
        let max = longest.entry(first).or_insert(chars);
        *max = (*max).max(chars);
    }
    Emoji { valence, longest }
}

/// The valence of a description: the sum of its words' valences after the
/// word rules ("broken heart" is a phrase, "face without mouth" negates).
/// Hyphens split words ("heart-eyes").
fn describe(description: &str) -> f32 {
    let text = description.replace('-', " ");
    let mut tokens = token::Tokens::default();
    tokens.read(&text, false);
    let mut valences = Vec::new();
    valence::assign(&tokens, &mut valences);
    valences.iter().sum::<f32>().clamp(-MAX_VALENCE, MAX_VALENCE)
}
