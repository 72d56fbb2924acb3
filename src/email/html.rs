//! HTML email bodies: a cheap sniff, and conversion to the plain text that
//! [`super::segment`] reads, with `<blockquote>` kept as `> ` quoted lines.

/// Rendering width: wide enough that paragraphs and attributions stay on
/// one line (wrapping would split "On ... wrote:" headers).
const WIDTH: usize = 10_000;
/// How much of the body the sniff looks at.
const SNIFF_BYTES: usize = 2048;

/// Tags whose presence near the start makes a `<`-led body HTML.
const TAGS: &[&str] = &[
    "html",
    "head",
    "body",
    "div",
    "p",
    "br",
    "blockquote",
    "table",
    "span",
    "meta",
    "style",
    "font",
    "a",
    "b",
    "i",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "!doctype",
];

/// Cheap sniff: the body starts with `<` (after whitespace and a BOM) and its
/// first 2 KiB open a common HTML tag. `<jane@example.com> wrote:` is not HTML.
pub fn looks_like_html(body: &str) -> bool {
    let body = body.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if !body.starts_with('<') {
        return false;
    }
    let head = &body.as_bytes()[..body.len().min(SNIFF_BYTES)];
    head.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'<')
        .any(|(at, _)| opens_known_tag(&head[at + 1..]))
}

/// `rest` (what follows a `<`) names one of [`TAGS`], ended by `>`, `/` or
/// whitespace.
fn opens_known_tag(rest: &[u8]) -> bool {
    let name_len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'!'))
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_len);
    let ends_tag = after
        .first()
        .is_some_and(|b| *b == b'>' || *b == b'/' || b.is_ascii_whitespace());
    ends_tag && TAGS.iter().any(|tag| name.eq_ignore_ascii_case(tag.as_bytes()))
}

/// Converts an HTML body to plain text: `<blockquote>` becomes `> ` quoted
/// lines, scripts, styles and `<head>` are dropped, links keep only their
/// text, and paragraphs are not wrapped. Never fails: markup the renderer
/// rejects falls back to its text with tags removed.
pub fn html_to_text(html: &str) -> String {
    html2text::config::plain_no_decorate()
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), WIDTH)
        .map(|text| text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n"))
        .unwrap_or_else(|_| strip_tags(html))
}

/// Text with everything between `<` and `>` removed: the last resort.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_documents_and_fragments_are_sniffed() {
        assert!(looks_like_html("<!DOCTYPE html><html><body>x</body></html>"));
        assert!(looks_like_html("  <div dir=\"ltr\">Hello<br></div>"));
        assert!(looks_like_html("<p>Hello</p>"));
    }

    #[test]
    fn plain_text_with_angle_brackets_is_not_html() {
        assert!(!looks_like_html("<jane@example.com> wrote:\n> hi"));
        assert!(!looks_like_html("Hello <b>there</b>"));
        assert!(!looks_like_html("<pre-formatted thoughts>"));
    }

    #[test]
    fn blockquote_becomes_quoted_lines() {
        let text = html_to_text("<div>New words</div><blockquote><p>Old words</p></blockquote>");
        assert!(text.contains("New words"));
        assert!(text.contains("> Old words"), "{text:?}");
    }

    #[test]
    fn scripts_and_styles_are_dropped() {
        let text = html_to_text(
            "<html><head><style>p{color:red}</style></head><body><script>alert(1)</script><p>Hi</p></body></html>",
        );
        assert_eq!(text.trim(), "Hi");
    }

    #[test]
    fn tag_stripping_fallback_keeps_text() {
        assert_eq!(strip_tags("<p>a<b>b</b></p>"), "ab");
    }
}
