//! Finds the customer's *new* words in an email ticket body.
//!
//! Helpdesk integrations send whole email bodies: the new text, then a
//! signature, a legal disclaimer, "Sent from my iPhone", and the quoted
//! earlier thread (often our own agent's reply, full of the other side's
//! words). [`segment`] splits a body into contiguous [`Segment`]s of a
//! [`PartKind`], so the classifier can read only [`Segmentation::new_text`].
//!
//! The approach follows the published behaviour of GitHub's
//! email_reply_parser and Mailgun's talon: classify lines, not characters.
//! It is linear in the body and compiles no pattern per call.
//!
//! # Layout
//!
//! - `lines`: lines with byte offsets, and shared case-insensitive tests;
//! - `cue`: what a line announces by its first words (markers, disclaimers);
//! - `quote`: attributions and `From:`/`Sent:` header blocks, and parsing them;
//! - `disclaimer`, `signature`: the parts at the end of the customer's text;
//! - `segment`: the line classifier that ties them together;
//! - `html`: HTML bodies to text, `<blockquote>` as `> ` lines;
//! - `subject`: `Re:`/`Fwd:`/`[Ticket #1]` prefixes off a subject.

mod cue;
mod disclaimer;
mod html;
mod lines;
mod quote;
mod segment;
mod signature;
mod subject;

use serde::{Deserialize, Serialize};

pub use html::{html_to_text, looks_like_html};
pub use quote::QuoteHeader;
pub use subject::{clean_subject, CleanSubject};

/// What a part of an email body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// The customer's new words: what the classifier should read.
    New,
    /// An earlier message of the thread, quoted or appended below.
    Quoted,
    /// A line introducing an earlier message ("On ... wrote:", an Outlook
    /// `From:`/`Sent:` block, a helpdesk "reply above this line" marker).
    QuoteHeader,
    /// The customer's signature: after `-- `, a sign-off and name block, or
    /// a "Sent from my iPhone" line.
    Signature,
    /// A legal/confidentiality notice or an "external sender" banner.
    Disclaimer,
}

/// A part of the body: `body[start..end]`, on char boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    /// What the part is.
    pub kind: PartKind,
    /// Byte offset of the part's first byte.
    pub start: usize,
    /// Byte offset one past the part's last byte.
    pub end: usize,
}

/// A body split into parts.
///
/// The segments are contiguous, in order, and cover the body exactly
/// (`0..body.len()`), each on char boundaries; neighbouring segments differ
/// in kind. An empty body has no segments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segmentation {
    /// The parts, in body order.
    pub segments: Vec<Segment>,
}

impl Segmentation {
    /// The [`PartKind::New`] segments of `body`, joined by `"\n"`: what the
    /// customer wrote this time. Empty when they wrote nothing new (a bare
    /// forward), in which case a caller may fall back to the quoted text.
    pub fn new_text(&self, body: &str) -> String {
        self.text_of(body, PartKind::New)
    }

    /// The segments of `kind`, each without leading blank lines and trailing
    /// whitespace, joined by `"\n"`. Segments that do not fit `body` (a
    /// segmentation of another body) are skipped, never a panic.
    pub fn text_of(&self, body: &str, kind: PartKind) -> String {
        let mut text = String::new();
        for part in self.parts(body, kind) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(part);
        }
        text
    }

    /// Who wrote each quoted message and when, from the quote headers, in
    /// body order; best effort, and only headers where either was found.
    pub fn quoted_headers(&self, body: &str) -> Vec<QuoteHeader> {
        self.segments
            .iter()
            .filter(|s| s.kind == PartKind::QuoteHeader)
            .filter_map(|s| body.get(s.start..s.end))
            .filter_map(quote::parse)
            .collect()
    }

    /// The trimmed, non-empty texts of the segments of any of `kinds`, in
    /// order.
    pub fn pieces<'s, 'b>(
        &'s self,
        body: &'b str,
        kinds: &'s [PartKind],
    ) -> impl Iterator<Item = &'b str> + use<'s, 'b> {
        self.segments
            .iter()
            .filter(move |s| kinds.contains(&s.kind))
            .filter_map(move |s| body.get(s.start..s.end))
            .map(trim_blank_lines)
            .filter(|part| !part.is_empty())
    }

    fn parts<'b>(&self, body: &'b str, kind: PartKind) -> impl Iterator<Item = &'b str> + use<'_, 'b> {
        self.segments
            .iter()
            .filter(move |s| s.kind == kind)
            .filter_map(move |s| body.get(s.start..s.end))
            .map(trim_blank_lines)
            .filter(|part| !part.is_empty())
    }
}

/// Removes leading blank lines (keeping the first line's indentation) and
/// trailing whitespace.
fn trim_blank_lines(text: &str) -> &str {
    let text = text.trim_end();
    let content = text.trim_start();
    let first_line = text.len() - content.len();
    let line_start = text[..first_line].rfind('\n').map_or(0, |nl| nl + 1);
    &text[line_start..]
}

/// Splits an email body (plain text; see [`html_to_text`]) into its parts.
///
/// Line-based and linear; never panics. When no structure is found the whole
/// body is [`PartKind::New`].
pub fn segment(body: &str) -> Segmentation {
    let lines = lines::split(body);
    let kinds = segment::line_kinds(&lines);
    let mut segments: Vec<Segment> = Vec::new();
    for (line, kind) in lines.iter().zip(kinds) {
        match segments.last_mut() {
            Some(last) if last.kind == kind => last.end = line.end,
            _ => segments.push(Segment {
                kind,
                start: line.start,
                end: line.end,
            }),
        }
    }
    Segmentation { segments }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_first_line_indentation() {
        assert_eq!(trim_blank_lines("\n \n  indented\nnext\n\n"), "  indented\nnext");
        assert_eq!(trim_blank_lines(" \n\t\n"), "");
    }

    #[test]
    fn empty_body_has_no_segments() {
        assert!(segment("").segments.is_empty());
    }

    #[test]
    fn text_of_skips_segments_from_another_body() {
        let segmentation = segment("a much longer body than the next one");
        assert_eq!(segmentation.new_text("short"), "");
    }
}
