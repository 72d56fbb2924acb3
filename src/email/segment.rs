//! The line classifier: one pass over the lines finds the thread's structure
//! (`>` quotes, quote headers, the point after which everything is the earlier
//! thread), then each run of the customer's own lines is searched for
//! disclaimers and signatures, and blank lines join the part above them.

use std::ops::Range;

use super::cue::{self, Cue};
use super::lines::{is_rule, starts_with_ci, Line};
use super::{disclaimer, quote, signature, PartKind};

/// A line's place in the thread's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Whitespace only: joins a neighbouring part later.
    Blank,
    /// Unquoted text before the thread starts: new text, a signature or a
    /// disclaimer.
    Text,
    /// Part of an earlier message.
    Quoted,
    /// Introduces an earlier message.
    Header,
}

/// The kind of every line of the body.
pub(crate) fn line_kinds(lines: &[Line<'_>]) -> Vec<PartKind> {
    let (classes, cues) = structure(lines);
    let mut kinds: Vec<PartKind> = classes
        .iter()
        .map(|class| match class {
            Class::Quoted => PartKind::Quoted,
            Class::Header => PartKind::QuoteHeader,
            Class::Blank | Class::Text => PartKind::New,
        })
        .collect();
    // The first line the customer wrote: never a signature (and a legal
    // notice there is only a paragraph), so a message that is only "Thanks!"
    // keeps its words.
    if let Some(first_text) = classes.iter().position(|c| *c == Class::Text) {
        for run in text_runs(&classes) {
            let limit = disclaimer::mark(lines, &cues, run.clone(), first_text, &mut kinds);
            signature::mark(lines, &cues, run.start..limit, first_text, &mut kinds);
        }
    }
    forwarded_attachments(lines, &mut kinds);
    attach_blanks(&classes, &mut kinds);
    kinds
}

/// A message whose only unquoted lines below the thread are attachment lines
/// (` - report.xls`) has no new words: it is a bare forward, and its
/// attachment list came with the forwarded message.
fn forwarded_attachments(lines: &[Line<'_>], kinds: &mut [PartKind]) {
    let Some(first_quote) = kinds
        .iter()
        .position(|k| matches!(k, PartKind::Quoted | PartKind::QuoteHeader))
    else {
        return;
    };
    let new_lines: Vec<usize> = (0..lines.len())
        .filter(|&i| kinds[i] == PartKind::New && !lines[i].is_blank())
        .collect();
    let only_attachments_below = new_lines
        .iter()
        .all(|&i| i > first_quote && signature::is_attachment(lines[i].text));
    if !new_lines.is_empty() && only_attachments_below {
        for i in new_lines {
            kinds[i] = PartKind::Quoted;
        }
    }
}

/// The structural pass: each line's class, and the cue of each text line.
///
/// Scanning top-down, a line is blank, `>`-quoted, the start of a quote
/// header, or text. Some headers *cut* the body: a helpdesk reply marker, an
/// original/forwarded-message separator, an Outlook `From:`/`Sent:` block,
/// a Lotus Notes author/date/`To:` block, a GroupWise `>>> ... >>>` line,
/// or an attribution ("On ... wrote:") not followed by a `>` quote. After a
/// cut every line is quoted; headers are still recognised there so that
/// [`super::Segmentation::quoted_headers`] can list the whole thread.
fn structure(lines: &[Line<'_>]) -> (Vec<Class>, Vec<Cue>) {
    let mut classes = vec![Class::Blank; lines.len()];
    let mut cues = vec![Cue::None; lines.len()];
    let mut cut = false;
    let mut at = 0;
    while at < lines.len() {
        let line = &lines[at];
        if line.is_blank() {
            at += 1;
            continue;
        }
        if quote::is_groupwise_header(line.text) {
            classes[at] = Class::Header;
            cut = true;
            at += 1;
            continue;
        }
        if line.is_quoted() {
            classes[at] = Class::Quoted;
            at += 1;
            continue;
        }
        if !cut && is_wrapped_quote_tail(lines, at) {
            classes[at] = Class::Quoted;
            at += 1;
            continue;
        }
        let cue = cue::of(line.text);
        cues[at] = cue;
        let header = match header_at(lines, at, cue) {
            Some(header) => header,
            None => {
                classes[at] = if cut { Class::Quoted } else { Class::Text };
                at += 1;
                continue;
            }
        };
        let start = if header.cuts {
            match rule_above(lines, &classes, at) {
                start if start == at && starts_with_ci(line.text.trim_start(), "from:") => {
                    company_above(lines, &classes, at)
                }
                start => start,
            }
        } else {
            at
        };
        classes[start..header.end].fill(Class::Header);
        cut |= header.cuts;
        at = header.end;
    }
    (classes, cues)
}

/// Most words of a quoted line's tail that lost its `>` in re-wrapping.
const MAX_WRAPPED_TAIL_WORDS: usize = 2;

/// Short answers a writer types between quoted lines: never a wrapped tail.
const REPLY_WORDS: &[&str] = &[
    "yes",
    "no",
    "ok",
    "okay",
    "sure",
    "done",
    "agreed",
    "correct",
    "confirmed",
    "fine",
    "right",
    "wrong",
    "none",
    "both",
    "neither",
    "thanks",
    "maybe",
];

/// A forwarded `>` quote that a client re-wrapped leaves the end of a long
/// line on a line of its own, without the `>`:
///
/// ```text
/// > > Driving back from the game tonight, obviously
/// disappointed
/// > > with the team's performance, I noticed ...
/// ```
///
/// Such a line sits between two `>` lines with no blank line around it, is
/// one or two plain words (no digits, no closing punctuation, not a short
/// answer such as "Yes"), and the quoted line above stops mid-sentence.
fn is_wrapped_quote_tail(lines: &[Line<'_>], at: usize) -> bool {
    let (Some(above), Some(below)) = (at.checked_sub(1).map(|i| &lines[i]), lines.get(at + 1)) else {
        return false;
    };
    if !above.is_quoted() || !below.is_quoted() {
        return false;
    }
    let above_ends_mid_sentence = above
        .text
        .trim_end()
        .ends_with(|c: char| c.is_alphanumeric() || c == ',');
    let text = lines[at].text.trim();
    let words: Vec<&str> = text.split_whitespace().collect();
    let plain = words.len() <= MAX_WRAPPED_TAIL_WORDS
        && words
            .iter()
            .all(|w| w.chars().all(|c| c.is_alphabetic() || "'-".contains(c)));
    let answer = words
        .iter()
        .any(|w| REPLY_WORDS.iter().any(|r| w.eq_ignore_ascii_case(r)));
    above_ends_mid_sentence && !words.is_empty() && plain && !answer
}

/// A quote header found at a line.
struct Header {
    /// One past its last line.
    end: usize,
    /// Everything after it belongs to the earlier thread.
    cuts: bool,
}

/// The quote header starting at line `at`, if any.
fn header_at(lines: &[Line<'_>], at: usize, cue: Cue) -> Option<Header> {
    match cue {
        Cue::ReplyMarker => {
            return Some(Header {
                end: at + 1,
                cuts: true,
            });
        }
        Cue::OriginalMessage | Cue::Forward => {
            let end = fields_after(lines, at + 1).unwrap_or(at + 1);
            return Some(Header { end, cuts: true });
        }
        Cue::None | Cue::Disclaimer | Cue::Banner | Cue::SentFrom => {}
    }
    if let Some(block) = quote::field_block(lines, at).filter(quote::Block::is_message_header) {
        return Some(Header {
            end: block.end,
            cuts: true,
        });
    }
    if let Some(end) = quote::notes_header(lines, at).or_else(|| quote::notes_fields_header(lines, at)) {
        return Some(Header { end, cuts: true });
    }
    if let Some(end) = quote::attribution(lines, at) {
        let cuts = !quote::next_is_quote(lines, end);
        return Some(Header { end, cuts });
    }
    quote::attribution_before_quote(lines, at).then_some(Header {
        end: at + 1,
        cuts: false,
    })
}

/// The end of the header fields that follow a separator line (Apple Mail
/// leaves a blank line between them).
fn fields_after(lines: &[Line<'_>], from: usize) -> Option<usize> {
    let first = (from..lines.len().min(from + 2)).find(|&i| !lines[i].is_blank())?;
    quote::field_block(lines, first).map(|block| block.end)
}

/// Outlook draws a rule (`________________`) above its header block: the
/// header starts there if the rule is the last non-blank line above `at`.
fn rule_above(lines: &[Line<'_>], classes: &[Class], at: usize) -> usize {
    let Some(above) = (0..at).rev().find(|&i| !lines[i].is_blank()) else {
        return at;
    };
    if is_rule(lines[above].text) && classes[above] != Class::Header {
        above
    } else {
        at
    }
}

/// Longest company line Lotus Notes writes above a `From:` header line.
const MAX_COMPANY_LINE_LEN: usize = 60;

/// Lotus Notes writes the author's company ("\tAcme Energy Services Corp.")
/// on a tab-indented line of its own above a `From:  Jane Doe  <date>`
/// header line: a header that starts with `From:` starts there instead if
/// that line is the last non-blank line above `at`, is still text, and reads
/// like a name (every word capitalised or a symbol).
fn company_above(lines: &[Line<'_>], classes: &[Class], at: usize) -> usize {
    let Some(above) = (0..at).rev().find(|&i| !lines[i].is_blank()) else {
        return at;
    };
    let raw = lines[above].text;
    let text = raw.trim();
    let capitalised = text
        .split_whitespace()
        .all(|word| !word.starts_with(|c: char| c.is_lowercase()));
    let is_company = raw.starts_with('\t')
        && text.len() <= MAX_COMPANY_LINE_LEN
        && !text.ends_with([':', '?', '!', ','])
        && capitalised;
    if is_company && classes[above] == Class::Text {
        above
    } else {
        at
    }
}

/// Maximal ranges of text and blank lines holding at least one text line:
/// the customer's own writing between quotes.
fn text_runs(classes: &[Class]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    let mut has_text = false;
    for (index, class) in classes.iter().enumerate() {
        match class {
            Class::Text | Class::Blank => {
                start.get_or_insert(index);
                has_text |= *class == Class::Text;
            }
            Class::Quoted | Class::Header => {
                if let Some(begin) = start.take() {
                    if has_text {
                        runs.push(begin..index);
                    }
                }
                has_text = false;
            }
        }
    }
    if let (Some(begin), true) = (start, has_text) {
        runs.push(begin..classes.len());
    }
    runs
}

/// Blank lines take the kind of the nearest non-blank line above them;
/// leading blank lines take the kind of the first non-blank line.
fn attach_blanks(classes: &[Class], kinds: &mut [PartKind]) {
    let first = classes.iter().position(|c| *c != Class::Blank);
    let mut above = first.map_or(PartKind::New, |i| kinds[i]);
    for (class, kind) in classes.iter().zip(kinds.iter_mut()) {
        if *class == Class::Blank {
            *kind = above;
        } else {
            above = *kind;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::lines::split;

    fn kinds(body: &str) -> Vec<PartKind> {
        line_kinds(&split(body))
    }

    #[test]
    fn lotus_notes_company_line_above_a_from_header_is_part_of_the_header() {
        let body = "Please book the crane for Friday.\n\n\n\tNorthwind Pipeline Co.\n\n\tFrom:  Dana Flores                           02/14/2001 08:05 AM\n\nTo: Rick Oduya/NW/ACME@ACME\ncc:  \nSubject: crane\n\nCan we get the crane?";
        let got = kinds(body);
        assert_eq!(got[0], PartKind::New);
        assert_eq!(got[3], PartKind::QuoteHeader);
        assert_eq!(got[11], PartKind::Quoted);
    }

    #[test]
    fn a_wrapped_tail_between_quoted_lines_is_quoted() {
        let got =
            kinds("> > We drove home after the match and were\nexhausted\n> > but happy with the result.");
        assert_eq!(got[1], PartKind::Quoted);
    }

    #[test]
    fn a_short_answer_between_quoted_lines_stays_new() {
        let got = kinds("> > Shall we keep the Friday slot\nYes\n> > and the usual room?");
        assert_eq!(got[1], PartKind::New);
        let got = kinds("> > Your account number\n5512 9910\n> > and the branch.");
        assert_eq!(got[1], PartKind::New);
        let got = kinds("> > Which day suits you?\nTuesday\n> > Thanks.");
        assert_eq!(got[1], PartKind::New);
    }

    #[test]
    fn a_notes_header_may_have_several_blank_lines_before_its_fields() {
        let got = kinds("Not yet.\n\nFrom:  Lee Vance\n04/03/2001 08:10 AM\n\n\n\n\n\nTo: Pat Quill/ACME@ACME\ncc:\nSubject: pump\n\nIs it fixed?");
        assert_eq!(got[2], PartKind::QuoteHeader);
        assert_eq!(got[13], PartKind::Quoted);
    }

    #[test]
    fn attachment_list_below_a_bare_forward_goes_with_the_forward() {
        let got = kinds("> From: Kim Vale\n> Subject: plan\n>\n> See the plan.\n\n - plan.xls");
        assert_eq!(got[5], PartKind::Quoted);
    }

    #[test]
    fn attachment_list_below_new_words_stays_new() {
        let got = kinds("Here is my plan.\n\n> earlier note\n\n - plan.xls");
        assert_eq!(got[4], PartKind::New);
    }

    #[test]
    fn an_untabbed_or_prose_line_above_a_notes_header_stays_new() {
        let untabbed = "Please book the crane.\n\nNorthwind Pipeline Co.\n\n\tFrom:  Dana Flores   02/14/2001 08:05 AM\n\nTo: Rick Oduya\ncc:  \nSubject: crane\n";
        assert_ne!(kinds(untabbed)[2], PartKind::QuoteHeader);
        let prose = "\tsee the note from dana below\n\n\tFrom:  Dana Flores   02/14/2001 08:05 AM\n\nTo: Rick Oduya\ncc:  \nSubject: crane\n";
        assert_eq!(kinds(prose)[0], PartKind::New);
    }
}
