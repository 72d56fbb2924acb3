//! Negation for weighted lexicons: "not working" is a problem, "no
//! problem" is not. A term is negated when one of the three words before it,
//! within the same clause, is a negator.

/// Words that negate what follows, in folded, normalised form.
const NEGATORS: &[&str] = &[
    "ain't",
    "aint",
    "aren't",
    "arent",
    "can't",
    "cannot",
    "cant",
    "couldn't",
    "couldnt",
    "didn't",
    "didnt",
    "doesn't",
    "doesnt",
    "don't",
    "dont",
    "hadn't",
    "hadnt",
    "hasn't",
    "hasnt",
    "haven't",
    "havent",
    "isn't",
    "isnt",
    "neither",
    "never",
    "no",
    "nobody",
    "none",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "shouldn't",
    "shouldnt",
    "wasn't",
    "wasnt",
    "weren't",
    "werent",
    "without",
    "won't",
    "wont",
    "wouldn't",
    "wouldnt",
];

/// How many words before a term a negator reaches.
const NEGATION_REACH: usize = 3;

/// Per first byte, the lengths of the negators starting with it (bit `n`
/// for length `n`): most words are ruled out by one look-up.
static SHAPES: [u16; 256] = shapes(NEGATORS);

const fn shapes(words: &[&str]) -> [u16; 256] {
    let mut shapes = [0; 256];
    let mut at = 0;
    while at < words.len() {
        let word = words[at].as_bytes();
        if !word.is_empty() && word.len() < 16 {
            shapes[word[0] as usize] |= 1 << word.len();
        }
        at += 1;
    }
    shapes
}

/// Whether `word` (folded) negates what follows.
pub(crate) fn is_negator(word: &str) -> bool {
    let shape = match word.as_bytes().first() {
        Some(&first) if word.len() < 16 => SHAPES[usize::from(first)] & 1 << word.len(),
        _ => 0,
    };
    (shape != 0 && NEGATORS.binary_search(&word).is_ok()) || word.ends_with("n't")
}

/// Whether the term starting at byte `start` of folded, normalised `text`
/// is negated: one of the three words before it is a negator, with no
/// clause break (`.`, `,`, `;`, `:`, `!`, `?`, `but`) in between.
pub(crate) fn is_negated_at(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or("");
    let mut words = 0;
    let mut word_end = before.len();
    for (at, c) in before.char_indices().rev() {
        let in_word = c.is_alphanumeric() || c == '\'';
        if in_word {
            continue;
        }
        if let Some(word) = before.get(at + c.len_utf8()..word_end) {
            if !word.is_empty() {
                if is_negator(word) {
                    return true;
                }
                if word == "but" {
                    return false;
                }
                words += 1;
                if words == NEGATION_REACH {
                    return false;
                }
            }
        }
        if matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '\n') {
            return false;
        }
        word_end = at;
    }
    before.get(..word_end).is_some_and(is_negator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negated(text: &str, term: &str) -> bool {
        let start = text.find(term).expect("term in text");
        is_negated_at(text, start)
    }

    #[test]
    fn negators_are_sorted_for_binary_search() {
        assert!(NEGATORS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn every_negator_passes_the_shape_filter() {
        assert!(NEGATORS.iter().all(|word| word.len() < 16 && is_negator(word)));
        assert!(!is_negator("now") && !is_negator("the") && !is_negator(""));
    }

    #[test]
    fn a_negator_within_three_words_negates() {
        assert!(negated("no problem at all", "problem"));
        assert!(negated("it is not really very good", "very good"));
        assert!(negated("i don't like it", "like"));
        assert!(negated("never a single crash", "crash"));
    }

    #[test]
    fn a_negator_further_back_or_across_a_clause_does_not() {
        assert!(!negated("not that i mind but the app is broken", "broken"));
        assert!(!negated("no. the app crashes", "crashes"));
        assert!(!negated("i never thought the app would crash", "crash"));
        assert!(!negated("the app crashes", "crashes"));
        assert!(!negated("crash", "crash"));
    }

    #[test]
    fn words_ending_in_a_negation_negate() {
        assert!(negated("it mustn't fail", "fail"));
        assert!(!negated("the nothingness", "nothingness"));
    }
}
