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

/// Appends `normalize(text)` to `out`. Runs of ASCII without white space,
/// which `normalize` keeps as they are, are copied in bulk; only white space
/// and non-ASCII characters go one by one.
pub fn normalize_into(text: &str, out: &mut String) {
    out.reserve(text.len());
    let start = out.len();
    let mut pending_space = false;
    let mut rest = text;
    while !rest.is_empty() {
        let (kept, tail) = rest.split_at(kept_prefix(rest));
        push_spaced(out, kept, &mut pending_space);
        let mut chars = tail.chars();
        match chars.next() {
            Some(c) if c.is_whitespace() => pending_space = out.len() > start,
            Some(c) => {
                if let Some(mapped) = map_mark(c) {
                    push_spaced(out, mapped.encode_utf8(&mut [0; 4]), &mut pending_space);
                }
            }
            None => {}
        }
        rest = chars.as_str();
    }
}

/// Appends `kept`, after the one space white space before it left pending.
fn push_spaced(out: &mut String, kept: &str, pending_space: &mut bool) {
    if kept.is_empty() {
        return;
    }
    if *pending_space {
        out.push(' ');
        *pending_space = false;
    }
    out.push_str(kept);
}

/// The length of the start of `text` that `normalize` keeps as it is:
/// ASCII other than white space, and single spaces between such bytes.
/// Searched without a branch per space: up to the first byte that needs
/// work (not ASCII, or white space other than a space), then cut at the
/// first double space and before a last space.
fn kept_prefix(text: &str) -> usize {
    if text.starts_with(' ') {
        return 0;
    }
    let needs_work = |byte: &u8| !byte.is_ascii() || (b'\t'..=b'\r').contains(byte);
    let end = text
        .bytes()
        .position(|byte| needs_work(&byte))
        .unwrap_or(text.len());
    let run = text.get(..end).unwrap_or_default();
    let run = double_space(run).map_or(run, |double| &run[..double]);
    run.strip_suffix(' ').unwrap_or(run).len()
}

/// Where `text` first has two spaces in a row. (A plain byte loop: `find`
/// with a two-byte needle runs a general substring search, several times
/// slower on text full of single spaces.)
pub(crate) fn double_space(text: &str) -> Option<usize> {
    text.as_bytes().windows(2).position(|pair| pair == b"  ")
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

/// Whether `c` is a word character for whole-word matching.
pub(crate) fn is_word_char(c: char) -> bool {
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
    find_word(haystack, needle).is_some()
}

/// Where folded `needle` first occurs in folded `haystack` as a whole word.
pub(crate) fn find_word(haystack: &str, needle: &str) -> Option<usize> {
    haystack.char_indices().map(|(start, _)| start).find(|&start| {
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

    /// `normalize` as first written, one character at a time.
    fn normalize_char_by_char(text: &str) -> String {
        let mut out = String::new();
        let mut pending_space = false;
        for c in text.chars() {
            if c.is_whitespace() {
                pending_space = !out.is_empty();
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
        out
    }

    #[test]
    fn normalize_copying_ascii_runs_equals_char_by_char() {
        let every_char: String = (0..0x11_0000u32).filter_map(char::from_u32).collect();
        for text in [
            every_char.as_str(),
            "",
            " ",
            "a",
            " a b  c\td\r\n\u{A0}e ",
            "x \u{AD} y \u{200B}\u{200B} z\u{2019}s",
            "\u{AD} lead and trail \u{AD}",
            "one  two\u{2003}three\x0bfour\x1cfive",
            "trailing space \nnext  double   triple \u{e9} x\u{a0} y \u{2019} ",
            "  \t lead",
            "a \u{ad} b \u{ad}\u{ad} c\u{ad} d",
        ] {
            assert_eq!(normalize(text), normalize_char_by_char(text), "{text:?}");
            let mut appended = String::from("kept ");
            normalize_into(text, &mut appended);
            assert_eq!(appended, format!("kept {}", normalize_char_by_char(text)));
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
