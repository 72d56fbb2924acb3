//! Subject lines without the noise mail clients and helpdesks add: repeated
//! `Re:`/`Fwd:` prefixes in several languages, `[External]` tags and ticket
//! numbers (`[Ticket #12345]`, `(#12345)`).

/// A subject with its prefixes removed, and what they said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanSubject<'a> {
    /// The subject itself, trimmed.
    pub text: &'a str,
    /// A reply prefix was present (`Re:`, `AW:`, `SV:`, `Antw:` ...).
    pub is_reply: bool,
    /// A forward prefix was present (`Fwd:`, `FW:`, `WG:`, `TR:` ...).
    pub is_forward: bool,
}

/// What a stripped prefix said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Reply,
    Forward,
    Tag,
}

/// Prefix words (before a colon), in lower case.
const WORDS: &[(&str, Prefix)] = &[
    ("re", Prefix::Reply),
    ("aw", Prefix::Reply),
    ("sv", Prefix::Reply),
    ("vs", Prefix::Reply),
    ("antw", Prefix::Reply),
    ("antwort", Prefix::Reply),
    ("odp", Prefix::Reply),
    ("res", Prefix::Reply),
    ("r", Prefix::Reply),
    ("fwd", Prefix::Forward),
    ("fw", Prefix::Forward),
    ("wg", Prefix::Forward),
    ("tr", Prefix::Forward),
    ("rv", Prefix::Forward),
    ("enc", Prefix::Forward),
    ("vb", Prefix::Forward),
    ("doorst", Prefix::Forward),
    ("pd", Prefix::Forward),
    ("external", Prefix::Tag),
    ("ext", Prefix::Tag),
];

/// Bracketed tags that mark external mail, in lower case.
const EXTERNAL_TAGS: &[&str] = &[
    "external",
    "ext",
    "external email",
    "external sender",
    "extern",
    "externe",
    "externo",
];

/// Words that may name a ticket number in a tag, in lower case.
const TICKET_WORDS: &[&str] = &[
    "ticket", "case", "request", "incident", "issue", "sr", "req", "inc", "ref", "id",
];

/// Longest bracketed tag considered.
const MAX_TAG_LEN: usize = 48;

/// Strips repeated reply/forward prefixes and helpdesk tags from the start
/// of a subject (and ticket-number tags from its end).
pub fn clean_subject(subject: &str) -> CleanSubject<'_> {
    let mut clean = CleanSubject {
        text: subject.trim(),
        is_reply: false,
        is_forward: false,
    };
    while let Some((prefix, rest)) = strip_prefix(clean.text) {
        clean.is_reply |= prefix == Prefix::Reply;
        clean.is_forward |= prefix == Prefix::Forward;
        clean.text = rest.trim_start();
    }
    while let Some(rest) = strip_ticket_suffix(clean.text) {
        clean.text = rest.trim_end();
    }
    clean
}

/// One prefix off the start: a word with a colon (`Re:`, `RE :`, `Re[2]:`)
/// or a tag in brackets.
fn strip_prefix(text: &str) -> Option<(Prefix, &str)> {
    strip_word(text).or_else(|| strip_tag(text).map(|rest| (Prefix::Tag, rest)))
}

fn strip_word(text: &str) -> Option<(Prefix, &str)> {
    let word_len = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(word_len);
    let (_, prefix) = WORDS.iter().find(|(w, _)| word.eq_ignore_ascii_case(w))?;
    let rest = skip_counter(rest).trim_start_matches(' ');
    let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
    Some((*prefix, rest))
}

/// Skips a reply counter: `[2]`, `(2)`, `^2`.
fn skip_counter(rest: &str) -> &str {
    let inner = rest
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .or_else(|| rest.strip_prefix('(').and_then(|r| r.split_once(')')));
    match inner {
        Some((number, after)) if is_digits(number) => after,
        _ => rest
            .strip_prefix('^')
            .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
            .unwrap_or(rest),
    }
}

/// A leading `[External]`, `[EXT]`, `[Ticket #12345]` or `(#12345)`.
fn strip_tag(text: &str) -> Option<&str> {
    let (open, close) = match text.chars().next()? {
        '[' => ('[', ']'),
        '(' => ('(', ')'),
        _ => return None,
    };
    let end = text.find(close).filter(|&end| end <= MAX_TAG_LEN)?;
    let inner = text[open.len_utf8()..end].trim();
    let external = open == '[' && EXTERNAL_TAGS.iter().any(|t| inner.eq_ignore_ascii_case(t));
    (external || is_ticket_tag(inner)).then(|| &text[end + close.len_utf8()..])
}

/// A trailing `[Ticket #12345]` or `(#12345)`.
fn strip_ticket_suffix(text: &str) -> Option<&str> {
    let close = text.chars().last()?;
    let open = match close {
        ']' => '[',
        ')' => '(',
        _ => return None,
    };
    let start = text.rfind(open).filter(|&s| text.len() - s <= MAX_TAG_LEN)?;
    let inner = &text[start + open.len_utf8()..text.len() - close.len_utf8()];
    is_ticket_tag(inner.trim()).then(|| &text[..start])
}

/// `#12345`, `Ticket #12345`, `Case: 12345`, `Acme Support #12345`.
fn is_ticket_tag(inner: &str) -> bool {
    if let Some((_, number)) = inner.rsplit_once('#') {
        return is_digits(number.trim());
    }
    let word_len = inner
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(inner.len());
    let (word, number) = inner.split_at(word_len);
    let number = number.trim_start_matches([' ', ':', '-']);
    TICKET_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)) && is_digits(number)
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_that_merely_start_like_prefixes_stay() {
        let clean = clean_subject("Reset password");
        assert_eq!(clean.text, "Reset password");
        assert!(!clean.is_reply);
    }

    #[test]
    fn reply_counters_and_spaced_colons_are_stripped() {
        assert_eq!(clean_subject("Re[2]: Outage").text, "Outage");
        assert_eq!(clean_subject("RE : Panne").text, "Panne");
        assert_eq!(clean_subject("Re^3: x").text, "x");
    }

    #[test]
    fn urgent_tags_are_kept() {
        assert_eq!(
            clean_subject("[URGENT] Internet down").text,
            "[URGENT] Internet down"
        );
    }
}
