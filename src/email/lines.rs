//! Lines that remember where they are in the body, and the small,
//! allocation-free text tests the classifiers share.

/// One line of the body: its byte range (terminator included) and its text
/// (terminator excluded).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    /// Offset of the line's first byte in the body.
    pub start: usize,
    /// Offset one past the line's `\n`, or the body's end for a last line
    /// without one.
    pub end: usize,
    /// The line without its `\n` or `\r\n`.
    pub text: &'a str,
}

impl Line<'_> {
    /// Whitespace only (or nothing).
    pub fn is_blank(&self) -> bool {
        self.text.trim_start().is_empty()
    }

    /// Starts (after indentation) with `>`: a line of a quoted message.
    pub fn is_quoted(&self) -> bool {
        self.text.trim_start().starts_with('>')
    }
}

/// Splits `body` into lines whose ranges are contiguous and cover it exactly.
/// Line ends are `\n` bytes, so every boundary is a char boundary.
pub(crate) fn split(body: &str) -> Vec<Line<'_>> {
    let mut start = 0;
    body.split_inclusive('\n')
        .map(|raw| {
            let end = start + raw.len();
            let text = raw
                .strip_suffix('\n')
                .map_or(raw, |t| t.strip_suffix('\r').unwrap_or(t));
            let line = Line { start, end, text };
            start = end;
            line
        })
        .collect()
}

/// Characters that decorate marker lines (`-----Original Message-----`,
/// `##- Please type your reply above this line -##`, `[EXTERNAL]`).
fn is_decoration(c: char) -> bool {
    c.is_whitespace() || "-_=*#~[]()<>|—–".contains(c)
}

/// The line without leading whitespace and decoration.
pub(crate) fn lead(text: &str) -> &str {
    text.trim_start_matches(is_decoration)
}

/// The line without decoration, or a trailing colon, at either end.
pub(crate) fn core(text: &str) -> &str {
    lead(text).trim_end_matches(|c| is_decoration(c) || c == ':')
}

/// `text` starts with `prefix` (given in lower case), ignoring ASCII case.
pub(crate) fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// `text` equals `lower` (given in lower case), ignoring case (Unicode).
pub(crate) fn eq_fold(text: &str, lower: &str) -> bool {
    text.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// A horizontal rule drawn with a repeated character (`_____`, `-----`,
/// `=====`): five or more of them and nothing else.
pub(crate) fn is_rule(text: &str) -> bool {
    let text = text.trim();
    text.chars().count() >= 5 && text.chars().all(|c| "_-=─━—".contains(c))
}

/// Words of the line, split on whitespace.
pub(crate) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_cover_the_body_with_and_without_final_newline() {
        for body in ["a\r\nb\n\nc", "a\nb\n", "", "\n"] {
            let lines = split(body);
            let mut at = 0;
            for line in &lines {
                assert_eq!(line.start, at);
                at = line.end;
            }
            assert_eq!(at, body.len());
        }
    }

    #[test]
    fn line_text_excludes_crlf() {
        let lines = split("one\r\ntwo");
        assert_eq!(lines[0].text, "one");
        assert_eq!(lines[1].text, "two");
    }

    #[test]
    fn core_strips_marker_decoration() {
        assert_eq!(core("-----Original Message-----"), "Original Message");
        assert_eq!(core("Begin forwarded message:"), "Begin forwarded message");
        assert_eq!(
            lead("##- Please type your reply above this line -##"),
            "Please type your reply above this line -##"
        );
    }

    #[test]
    fn rules_are_long_runs_of_one_drawing_character() {
        assert!(is_rule("  __________"));
        assert!(is_rule("=-=-=-="));
        assert!(!is_rule("--"));
        assert!(!is_rule("-- Sam"));
    }

    #[test]
    fn case_insensitive_helpers_match_ascii_and_unicode() {
        assert!(starts_with_ci("SENT from my iPhone", "sent from"));
        assert!(!starts_with_ci("Sen", "sent"));
        assert!(eq_fold("ÄMNE", "ämne"));
    }
}
