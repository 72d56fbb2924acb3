//! From token valences to a [`Sentiment`]: punctuation emphasis, the
//! compound score, the positive/negative/neutral shares and the terms.

use super::token::Tokens;
use super::{Sentiment, SentimentTerm};

/// Normalisation constant: compound = x / sqrt(x² + ALPHA).
const ALPHA: f32 = 15.0;
/// Intensity each "!" adds, up to [`MAX_EXCLAMATIONS`] of them.
const EXCLAMATION: f32 = 0.292;
const MAX_EXCLAMATIONS: usize = 4;
/// Intensity each "?" adds when there are two or three; more add
/// [`MAX_QUESTION`] in all.
const QUESTION: f32 = 0.18;
const MAX_QUESTION: f32 = 0.96;
/// Most terms a [`Sentiment`] names.
pub(super) const MAX_TERMS: usize = 16;

/// The sentiment of `text`, given its tokens and their final valences.
pub(super) fn summarise(text: &str, tokens: &Tokens, valences: &[f32]) -> Sentiment {
    if valences.is_empty() {
        return Sentiment::default();
    }
    let emphasis = punctuation_emphasis(text);
    let sum: f32 = valences.iter().sum();
    let amplified = match sum {
        s if s > 0.0 => s + emphasis,
        s if s < 0.0 => s - emphasis,
        _ => 0.0,
    };
    let compound = normalise(amplified);
    let (mut positive, mut negative, mut neutral) = (0.0f32, 0.0f32, 0.0f32);
    for &v in valences {
        match v {
            v if v > 0.0 => positive += v + 1.0,
            v if v < 0.0 => negative += -v + 1.0,
            _ => neutral += 1.0,
        }
    }
    if positive > negative {
        positive += emphasis;
    } else if negative > positive {
        negative += emphasis;
    }
    let total = positive + negative + neutral;
    Sentiment {
        compound,
        positive: positive / total,
        negative: negative / total,
        neutral: neutral / total,
        terms: terms(tokens, valences),
    }
}

/// Map a raw sum of valences into [-1, 1].
fn normalise(sum: f32) -> f32 {
    (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

/// How much "!" and "?" intensify whatever sentiment the text has.
fn punctuation_emphasis(text: &str) -> f32 {
    let (mut exclamations, mut questions) = (0usize, 0usize);
    for byte in text.bytes() {
        match byte {
            b'!' => exclamations += 1,
            b'?' => questions += 1,
            _ => {}
        }
    }
    let exclaimed = exclamations.min(MAX_EXCLAMATIONS) as f32 * EXCLAMATION;
    let questioned = match questions {
        0 | 1 => 0.0,
        2 | 3 => questions as f32 * QUESTION,
        _ => MAX_QUESTION,
    };
    exclaimed + questioned
}

/// The tokens that moved the score, in text order; the [`MAX_TERMS`]
/// strongest if there are more.
fn terms(tokens: &Tokens, valences: &[f32]) -> Vec<SentimentTerm> {
    let mut moved: Vec<(usize, f32)> = valences
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, v)| v != 0.0)
        .collect();
    if moved.len() > MAX_TERMS {
        // Keys are distinct (the index is), so unstable sorts will do.
        moved.sort_unstable_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        moved.truncate(MAX_TERMS);
        moved.sort_unstable_by_key(|&(i, _)| i);
    }
    let list = tokens.list();
    moved
        .into_iter()
        .map(|(i, weight)| SentimentTerm {
            term: tokens.key(&list[i]).to_owned(),
            weight,
        })
        .collect()
}
