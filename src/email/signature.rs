//! Signatures inside the customer's own text: the `-- ` delimiter, "Sent from
//! my iPhone" lines, and a sign-off ("Thanks,", "Best regards,") followed by
//! a short name/title block.

use std::ops::Range;

use super::cue::Cue;
use super::lines::{eq_fold, starts_with_ci, word_count, Line};
use super::PartKind;

/// Longest line that can be a sign-off ("Best regards, Jane Doe").
const MAX_SIGN_OFF_LEN: usize = 60;
/// Most words of a name written after the sign-off on the same line.
const MAX_SIGN_OFF_NAME_WORDS: usize = 4;
/// Most name/title lines after a sign-off; contact lines (phone, address,
/// web) do not count, up to [`MAX_BLOCK_LINES`] lines in all.
const MAX_NAME_LINES: usize = 6;
/// Most non-blank lines after a sign-off, contact lines included.
const MAX_BLOCK_LINES: usize = 12;
/// Longest line of a name/title block.
const MAX_BLOCK_LINE_LEN: usize = 100;
/// Lower-case words that make a line read as prose, not a title.
const MAX_LOWERCASE_WORDS: usize = 2;

/// Sign-off phrases in lower case, without punctuation.
const SIGN_OFFS: &[&str] = &[
    "thanks",
    "thank you",
    "thanks again",
    "thank you again",
    "many thanks",
    "thanks so much",
    "thank you so much",
    "thanks a lot",
    "thanks in advance",
    "thank you in advance",
    "thanks for your help",
    "thank you for your help",
    "thanks for your time",
    "thank you for your time",
    "thx",
    "tia",
    "cheers",
    "best",
    "all the best",
    "best wishes",
    "best regards",
    "kind regards",
    "kindest regards",
    "warm regards",
    "warmest regards",
    "regards",
    "with regards",
    "many regards",
    "br",
    "rgds",
    "sincerely",
    "yours sincerely",
    "sincerely yours",
    "yours truly",
    "yours faithfully",
    "respectfully",
    "cordially",
    "take care",
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "freundliche grüße",
    "freundliche grüsse",
    "viele grüße",
    "viele grüsse",
    "beste grüße",
    "liebe grüße",
    "gruß",
    "grüße",
    "lg",
    "mfg",
    "vg",
    "vielen dank",
    "besten dank",
    "danke",
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "salutations",
    "meilleures salutations",
    "merci",
    "merci beaucoup",
    "saludos",
    "un saludo",
    "saludos cordiales",
    "atentamente",
    "gracias",
    "muchas gracias",
    "cordiali saluti",
    "distinti saluti",
    "saluti",
    "grazie",
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "groeten",
    "groet",
    "bedankt",
    "med vänliga hälsningar",
    "vänliga hälsningar",
    "hälsningar",
    "mvh",
    "med venlig hilsen",
    "venlig hilsen",
    "med vennlig hilsen",
    "hilsen",
    "atenciosamente",
    "obrigado",
    "obrigada",
    "cumprimentos",
    "pozdrawiam",
    "z poważaniem",
];

/// Words that stay lower case inside names and titles ("Head of Outage").
const CONNECTORS: &[&str] = &[
    "of", "and", "for", "the", "at", "de", "du", "la", "van", "von", "der", "den", "und", "y", "e",
];

/// Company-name endings that end a line with a full stop without making it a
/// sentence ("Acme Inc.").
const ABBREVIATIONS: &[&str] = &[
    "inc", "ltd", "co", "corp", "llc", "plc", "jr", "sr", "st", "dr", "rd", "ave", "esq", "phd",
];

/// Marks the signatures of one run of unquoted lines, `run.end` being where a
/// trailing disclaimer starts. Only lines still [`PartKind::New`] change; the
/// first line of the customer's own text (`first_text`) is never a signature,
/// so a message that is only "Thanks!" stays new.
pub(crate) fn mark(
    lines: &[Line<'_>],
    cues: &[Cue],
    run: Range<usize>,
    first_text: usize,
    kinds: &mut [PartKind],
) {
    for at in run.clone() {
        if kinds[at] != PartKind::New || at == first_text || lines[at].is_blank() {
            continue;
        }
        let text = lines[at].text;
        let starts_block = is_delimiter(text)
            || (is_sign_off(text)
                && is_name_block(
                    &lines[at + 1..run.end],
                    &kinds[at + 1..run.end],
                    &cues[at + 1..run.end],
                ));
        if starts_block {
            for kind in &mut kinds[at..run.end] {
                if *kind == PartKind::New {
                    *kind = PartKind::Signature;
                }
            }
            return;
        }
        if cues[at] == Cue::SentFrom {
            kinds[at] = PartKind::Signature;
        }
    }
}

/// The conventional `-- ` signature delimiter (or a bare `--`).
fn is_delimiter(text: &str) -> bool {
    text.trim_end() == "--"
}

/// A line that is only a sign-off, perhaps with a short name after a comma
/// or dash: "Thanks!", "Best regards,", "Cheers - Bob".
pub(crate) fn is_sign_off(text: &str) -> bool {
    let text = text.trim();
    if text.len() > MAX_SIGN_OFF_LEN {
        return false;
    }
    let (phrase, name) = match text.find([',', '-', '–', '—']) {
        Some(at) => (&text[..at], text[at..].trim_start_matches([',', '-', '–', '—'])),
        None => (text, ""),
    };
    let phrase = phrase.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
    let name_fits =
        name.trim().is_empty() || (word_count(name) <= MAX_SIGN_OFF_NAME_WORDS && !is_sentence_like(name));
    // Equal lengths first: a cheap filter before case folding.
    name_fits
        && SIGN_OFFS
            .iter()
            .any(|s| s.len() == phrase.len() && eq_fold(phrase, s))
}

/// The lines after a sign-off look like a name/title/contact block: few,
/// short, none reading like a sentence ("Sent from my iPhone" footers are
/// signature lines of their own and do not count).
fn is_name_block(lines: &[Line<'_>], kinds: &[PartKind], cues: &[Cue]) -> bool {
    let mut total = 0;
    let mut names = 0;
    for ((line, kind), cue) in lines.iter().zip(kinds).zip(cues) {
        if line.is_blank() || *kind != PartKind::New || *cue == Cue::SentFrom {
            continue;
        }
        let text = line.text.trim();
        if text.len() > MAX_BLOCK_LINE_LEN || is_sentence_like(text) {
            return false;
        }
        total += 1;
        names += usize::from(!is_contact(text));
        if total > MAX_BLOCK_LINES || names > MAX_NAME_LINES {
            return false;
        }
    }
    true
}

/// Phone numbers, addresses, links: lines that only signatures are made of.
fn is_contact(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    text.contains('@')
        || text.contains("http")
        || starts_with_ci(text, "www.")
        || text.contains('|')
        || digits >= 5
}

/// Reads as prose: a question, a postscript, several lower-case words, or
/// a full stop ending four or more words.
fn is_sentence_like(text: &str) -> bool {
    let text = text.trim();
    if text.ends_with('?') || starts_with_ci(text, "p.s") || starts_with_ci(text, "ps:") {
        return true;
    }
    let lowercase = text
        .split_whitespace()
        .filter(|w| w.starts_with(|c: char| c.is_lowercase()))
        .filter(|w| !w.contains(['@', '.', ':', '/']))
        .filter(|w| !CONNECTORS.contains(&w.trim_end_matches(|c: char| c.is_ascii_punctuation())))
        .count();
    if lowercase > MAX_LOWERCASE_WORDS {
        return true;
    }
    let ends_sentence = text.ends_with(['.', '!']) && !ends_with_abbreviation(text);
    ends_sentence && word_count(text) >= 4 && !is_contact(text)
}

fn ends_with_abbreviation(text: &str) -> bool {
    let last = text.split_whitespace().last().unwrap_or_default();
    let last = last.trim_end_matches('.').to_ascii_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_offs_may_carry_a_short_name() {
        assert!(is_sign_off("Thanks!"));
        assert!(is_sign_off("Best regards,"));
        assert!(is_sign_off("Cheers - Bob"));
        assert!(is_sign_off("Mit freundlichen Grüßen"));
        assert!(!is_sign_off("Thanks, but the router is still broken again"));
        assert!(!is_sign_off("Thanks for nothing"));
    }

    #[test]
    fn titles_are_not_sentences_but_prose_is() {
        assert!(!is_sentence_like("Head of Outage Response"));
        assert!(!is_sentence_like("Acme Widgets Inc."));
        assert!(!is_sentence_like("T: +44 20 7946 0018 | www.acme.example"));
        assert!(is_sentence_like("the router is broken again"));
        assert!(is_sentence_like("Can you call me back?"));
        assert!(is_sentence_like("Please call me back today."));
    }
}
