//! The word rules: each token's valence after capitals, boosters,
//! negation, "least", fixed phrases and "but".

use super::lexicon::{role, Entry, BOOST, PHRASES};
use super::token::{Token, Tokens};

/// Factor applied to a negated word.
pub(super) const NEGATION: f32 = -0.74;
/// Factor for "never so <word>": emphasis rather than negation.
const NEVER_SO: f32 = 1.25;
/// Intensity a word written in capitals gains (among mixed-case words).
const CAPITALS: f32 = 0.733;
/// How many words back negation and boosters reach.
pub(super) const WINDOW: usize = 3;
/// A booster's effect at distance 1, 2 and 3.
const DECAY: [f32; WINDOW] = [1.0, 0.95, 0.9];
/// Weights of the words before and after "but" in its sentence.
const BEFORE_BUT: f32 = 0.5;
const AFTER_BUT: f32 = 1.5;

/// Fill `out` with the final valence of each of `tokens`, in order.
pub(super) fn assign(tokens: &Tokens, out: &mut Vec<f32>) {
    out.clear();
    let list = tokens.list();
    let capitals = tokens.cap_differential();
    out.extend((0..list.len()).map(|i| word(list, i, capitals)));
    apply_phrases(tokens, out);
    apply_but(list, out);
}

/// The (up to) [`WINDOW`] tokens before `i` in its clause, nearest first.
pub(super) fn window(list: &[Token], i: usize) -> impl Iterator<Item = &Token> {
    list[..i].iter().rev().take(WINDOW).take_while(|t| !t.clause_end)
}

/// Whether the negators among `near` (the window, nearest first) flip the
/// sign of the word after them.
pub(super) fn negation(near: &[Entry]) -> f32 {
    let mut factor = 1.0;
    for (distance, entry) in near.iter().enumerate() {
        if !entry.is(role::NEGATOR) {
            continue;
        }
        let between = &near[..distance];
        if entry.is(role::WITHOUT) && between.iter().any(|b| b.is(role::DOUBT)) {
            continue;
        }
        factor *= match (entry.is(role::NEVER), near.first()) {
            (true, Some(nearest)) if distance > 0 && nearest.is(role::SO) => NEVER_SO,
            _ => NEGATION,
        };
    }
    factor
}

/// The entries of the window before `i`.
pub(super) fn near(list: &[Token], i: usize) -> ([Entry; WINDOW], usize) {
    let mut near = [Entry::default(); WINDOW];
    let mut count = 0;
    for (slot, token) in near.iter_mut().zip(window(list, i)) {
        *slot = token.entry;
        count += 1;
    }
    (near, count)
}

/// The valence of token `i` before phrases and "but".
fn word(list: &[Token], i: usize, capitals: bool) -> f32 {
    let token = &list[i];
    let entry = token.entry;
    let silent = !entry.is(role::LEXICAL)
        || entry.booster != 0.0
        || entry.valence == 0.0
        || (entry.is(role::KIND_SORT) && next(list, i).is_some_and(|n| n.entry.is(role::OF)))
        || (entry.is(role::NO) && next(list, i).is_some_and(|n| n.entry.is(role::LEXICAL)))
        || (entry.is(role::DOUBT) && window(list, i).any(|t| t.entry.is(role::WITHOUT)));
    if silent {
        return 0.0;
    }
    let sign = entry.valence.signum();
    let mut valence = entry.valence;
    if capitals && token.shout {
        valence += sign * CAPITALS;
    }
    for (distance, j) in (0..i).rev().take(WINDOW).enumerate() {
        if list[j].clause_end {
            break;
        }
        valence += sign * booster(list, j, capitals) * DECAY[distance];
    }
    let (near, count) = near(list, i);
    valence *= negation(&near[..count]);
    if least_negates(list, i) {
        valence *= NEGATION;
    }
    valence
}

/// The token after `i` in the same clause.
fn next(list: &[Token], i: usize) -> Option<&Token> {
    list.get(i + 1).filter(|_| !list[i].clause_end)
}

/// The intensity token `j` adds to the words after it (as if positive).
fn booster(list: &[Token], j: usize, capitals: bool) -> f32 {
    let token = &list[j];
    let after_kind = j > 0 && list[j - 1].entry.is(role::KIND_SORT) && !list[j - 1].clause_end;
    let mut base = token.entry.booster;
    if base == 0.0 && token.entry.is(role::OF) && after_kind {
        base = -BOOST;
    }
    if base != 0.0 && capitals && token.shout {
        base += CAPITALS;
    }
    base
}

/// "least good" is negated; "at least good", "very least" are not.
fn least_negates(list: &[Token], i: usize) -> bool {
    let mut before = window(list, i);
    match (before.next(), before.next()) {
        (Some(least), second) if least.entry.is(role::LEAST) => {
            !second.is_some_and(|s| s.entry.is(role::AT_VERY))
        }
        _ => false,
    }
}

/// Fixed phrases: the last word takes the phrase's valence, the others
/// fall silent.
fn apply_phrases(tokens: &Tokens, out: &mut [f32]) {
    let list = tokens.list();
    for (i, token) in list.iter().enumerate() {
        if !token.entry.is(role::PHRASE_END) {
            continue;
        }
        for (phrase, value) in PHRASES {
            let len = phrase.len();
            let Some(first) = (i + 1).checked_sub(len) else {
                continue;
            };
            let words = &list[first..=i];
            let matches = words.iter().zip(phrase.iter()).all(|(t, w)| tokens.key(t) == *w)
                && words[..len - 1].iter().all(|t| !t.clause_end);
            if matches {
                out[first..i].fill(0.0);
                out[i] = *value;
                break;
            }
        }
    }
}

/// In each sentence with "but", the words before it count half and the
/// words after it half as much again.
fn apply_but(list: &[Token], out: &mut [f32]) {
    let mut start = 0;
    while start < list.len() {
        let end = list[start..]
            .iter()
            .position(|t| t.sentence_end)
            .map_or(list.len(), |p| start + p + 1);
        let sentence = &list[start..end];
        if let Some(but) = sentence.iter().position(|t| t.entry.is(role::BUT)) {
            let but = start + but;
            out[start..but].iter_mut().for_each(|v| *v *= BEFORE_BUT);
            out[but + 1..end].iter_mut().for_each(|v| *v *= AFTER_BUT);
        }
        start = end;
    }
}
