//! Text tests shared by the fast scanner and the per-rule reference path:
//! case folding and whole-word matching. One definition, so both paths
//! agree by construction.

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
    fn non_word_edges_are_free() {
        assert!(contains_word("error:500!", ":500"));
    }
}
