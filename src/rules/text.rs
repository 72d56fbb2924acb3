//! Text tests shared by the fast scanner and the per-rule reference path:
//! case folding and whole-word matching. One definition, so both paths
//! agree by construction.

/// Folds text for case-insensitive comparison.
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
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
    fn non_word_edges_are_free() {
        assert!(contains_word("error:500!", ":500"));
    }
}
