//! Text tests shared by the fast scanner and the per-rule reference path:
//! normalisation, case folding and whole-word matching. One definition, so
//! both paths agree by construction.

/// Normalises text the way people type it into the form rules are matched
/// against: typographic apostrophes and quotes become `'` and `"`, dashes
/// become `-`, invisible characters (soft hyphen, zero-width space, BOM)
/// go, and every run of white space (line breaks, tabs, non-breaking and
/// other Unicode spaces) becomes one space, so a phrase matches across a
/// hard line wrap. Leading and trailing white space is dropped.
pub fn normalize(text: &str) -> String {
    let mut normalized = String::with_capacity(text.len());
    normalize_into(text, &mut normalized);
    normalized
}

/// The character `normalize` puts for `c` (white space aside): ASCII for
/// typographic apostrophes, quotes and dashes, nothing for invisible ones.
pub(crate) fn map_mark(c: char) -> Option<char> {
    match c {
        '\u{AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => None,
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' | '\u{B4}' => Some('\''),
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => Some('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => Some('-'),
        c => Some(c),
    }
}

/// Appends `normalize(text)` to `out`.
pub fn normalize_into(text: &str, out: &mut String) {
    let mut pending_space = false;
    let start = out.len();
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = out.len() > start;
            continue;
        }
        let Some(mapped) = map_mark(c) else {
            continue;
        };
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(mapped);
    }
}

/// Folds text for case-insensitive comparison: exactly `str::to_lowercase`,
/// which is context-free for every character but `Σ`. Mixed text is folded
/// run by run (ASCII runs in bulk), because `to_lowercase` goes character
/// by character from the first non-ASCII one on, some 40x slower.
pub(crate) fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    fold_into(text, &mut folded);
    folded
}

/// Appends `fold(text)` to `folded`.
pub(crate) fn fold_into(text: &str, folded: &mut String) {
    if text.is_ascii() {
        let start = folded.len();
        folded.push_str(text);
        if let Some(appended) = folded.get_mut(start..) {
            appended.make_ascii_lowercase();
        }
        return;
    }
    if text.contains('Σ') {
        folded.push_str(&text.to_lowercase());
        return;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let ascii = rest
            .bytes()
            .position(|byte| !byte.is_ascii())
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(ascii);
        let start = folded.len();
        folded.push_str(run);
        if let Some(appended) = folded.get_mut(start..) {
            appended.make_ascii_lowercase();
        }
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            folded.extend(c.to_lowercase());
        }
        rest = chars.as_str();
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when `haystack[start..end]` is not glued to a word character on
/// either side (the edges of a keyword that is itself non-word are free).
pub(crate) fn is_whole_word(haystack: &str, start: usize, end: usize) -> bool {
    let needle_starts_word = haystack.get(start..).and_then(|s| s.chars().next());
    let needle_ends_word = haystack.get(..end).and_then(|s| s.chars().next_back());
    let before = haystack.get(..start).and_then(|s| s.chars().next_back());
    let after = haystack.get(end..).and_then(|s| s.chars().next());
    let left_ok = !(needle_starts_word.is_some_and(is_word_char) && before.is_some_and(is_word_char));
    let right_ok = !(needle_ends_word.is_some_and(is_word_char) && after.is_some_and(is_word_char));
    left_ok && right_ok
}

/// True when folded `needle` occurs in folded `haystack` as a whole word.
/// Overlapping occurrences count, as they do in the scanner.
pub(crate) fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.char_indices().any(|(start, _)| {
        haystack[start..].starts_with(needle) && is_whole_word(haystack, start, start + needle.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_word_rejects_word_inside_longer_word() {
        assert!(!contains_word("please download it", "down"));
        assert!(contains_word("the site is down.", "down"));
        assert!(contains_word("down", "down"));
    }

    #[test]
    fn whole_word_finds_a_later_occurrence() {
        assert!(contains_word("downtime, now down", "down"));
    }

    #[test]
    fn fold_is_exactly_to_lowercase() {
        let every_char: String = (0..0x11_0000u32).filter_map(char::from_u32).collect();
        assert_eq!(fold(&every_char), every_char.to_lowercase());
        for text in [
            "",
            "ASCII Only",
            "Don’t PANIC – Café ÄRGER İstanbul STRAẞE ǅemal",
            "ΟΔΟΣ σας ΣΑΣ. Σ",
            "a\u{301}B\u{10400}C",
        ] {
            assert_eq!(fold(text), text.to_lowercase(), "{text:?}");
        }
    }

    #[test]
    fn normalize_maps_typographic_marks_to_ascii() {
        assert_eq!(
            normalize("It wasn\u{2019}t me \u{201C}really\u{201D} \u{2013} ok"),
            "It wasn't me \"really\" - ok"
        );
    }

    #[test]
    fn normalize_joins_lines_and_collapses_spaces() {
        assert_eq!(normalize("  cannot\r\n  log\u{A0}\u{A0}in\t\n"), "cannot log in");
        assert_eq!(normalize("soft\u{AD}ware\u{200B}"), "software");
        assert_eq!(normalize(" \n\t "), "");
    }

    #[test]
    fn normalize_keeps_emoji_joiners() {
        assert_eq!(
            normalize("\u{1F468}\u{200D}\u{1F4BB} yes"),
            "\u{1F468}\u{200D}\u{1F4BB} yes"
        );
    }

    #[test]
    fn non_word_edges_are_free() {
        assert!(contains_word("error:500!", ":500"));
    }
}
