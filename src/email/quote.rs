//! Quote headers: the lines that introduce an earlier message
//! ("On Mon, 1 Jan 2024, Jane <jane@example.com> wrote:", an Outlook
//! `From: / Sent: / To: / Subject:` block), found line by line and parsed
//! for who wrote the quoted message and when.

use serde::{Deserialize, Serialize};

use super::lines::{eq_fold, starts_with_ci, Line};

/// Who wrote a quoted message and when, as the header gave them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuoteHeader {
    /// The author, as written: a name, an address, or both.
    pub who: String,
    /// The date and time, as written (not parsed into a timestamp).
    pub when: String,
}

/// Most lines an attribution ("On ... wrote:") may be wrapped over.
const MAX_ATTRIBUTION_LINES: usize = 3;
/// Longest attribution, all its lines together.
const MAX_ATTRIBUTION_LEN: usize = 400;
/// How far into a line a header field's colon may be (`Envoyé :`,
/// `Content-Transfer-Encoding:`).
const MAX_FIELD_NAME_CHARS: usize = 28;
/// Most lines a header block may span (fields, wrapped values, blanks):
/// Lotus Notes wraps a long `To:` list over many lines.
const MAX_BLOCK_LINES: usize = 32;
/// Longest author or date line above a Lotus Notes `To:`/`Subject:` block.
const MAX_NOTES_AUTHOR_LEN: usize = 120;
/// Most lines between a Lotus Notes date line and its `To:` field (blank
/// lines and "Please respond to ..." lines).
const MAX_NOTES_GAP: usize = 6;

/// Words that open an attribution, in lower case with their trailing space:
/// English, German, French, Dutch, Spanish, Italian, Portuguese, Polish,
/// Scandinavian.
const OPENERS: &[&str] = &[
    "on ",
    "am ",
    "le ",
    "op ",
    "el ",
    "il ",
    "em ",
    "w dniu ",
    "dnia ",
    "den ",
    "på ",
    "in a message dated ",
];

/// The verb of an attribution, in lower case.
const VERBS: &[&str] = &[
    "wrote",
    "schrieb",
    "a écrit",
    "escribió",
    "ha scritto",
    "escreveu",
    "schreef",
    "skrev",
    "napisał",
    "kirjoitti",
];

/// A header field's meaning, whatever the language of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// From, Von, De ...
    From,
    /// Sent, Gesendet, Envoyé ...
    Sent,
    /// Date, Datum, Fecha ...
    Date,
    /// To, An, À, Cc ...
    To,
    /// Subject, Betreff, Objet ...
    Subject,
    /// A field that only a raw or forwarded message header carries
    /// (`Content-Type`, `MIME-Version`, `Importance` ...): it joins a
    /// header block without naming its author, date, recipients or subject.
    Other,
}

/// Field names in lower case.
const FIELD_NAMES: &[(&str, Field)] = &[
    ("from", Field::From),
    ("von", Field::From),
    ("de", Field::From),
    ("van", Field::From),
    ("da", Field::From),
    ("från", Field::From),
    ("fra", Field::From),
    ("od", Field::From),
    ("absender", Field::From),
    ("expéditeur", Field::From),
    ("sent", Field::Sent),
    ("sent by", Field::Sent),
    ("gesendet", Field::Sent),
    ("envoyé", Field::Sent),
    ("enviado", Field::Sent),
    ("verzonden", Field::Sent),
    ("inviato", Field::Sent),
    ("skickat", Field::Sent),
    ("sendt", Field::Sent),
    ("wysłano", Field::Sent),
    ("date", Field::Date),
    ("datum", Field::Date),
    ("fecha", Field::Date),
    ("data", Field::Date),
    ("dato", Field::Date),
    ("to", Field::To),
    ("an", Field::To),
    ("à", Field::To),
    ("a", Field::To),
    ("para", Field::To),
    ("aan", Field::To),
    ("till", Field::To),
    ("til", Field::To),
    ("do", Field::To),
    ("cc", Field::To),
    ("bcc", Field::To),
    ("kopie", Field::To),
    ("reply-to", Field::To),
    ("subject", Field::Subject),
    ("betreff", Field::Subject),
    ("objet", Field::Subject),
    ("sujet", Field::Subject),
    ("asunto", Field::Subject),
    ("onderwerp", Field::Subject),
    ("oggetto", Field::Subject),
    ("ämne", Field::Subject),
    ("emne", Field::Subject),
    ("temat", Field::Subject),
    ("assunto", Field::Subject),
    ("content-type", Field::Other),
    ("content-transfer-encoding", Field::Other),
    ("content-disposition", Field::Other),
    ("mime-version", Field::Other),
    ("message-id", Field::Other),
    ("return-path", Field::Other),
    ("importance", Field::Other),
    ("priority", Field::Other),
    ("sensitivity", Field::Other),
];

/// The field a line starts with (`From: Jane`, `*Sent:* Monday`), and its value.
pub(crate) fn field(text: &str) -> Option<(Field, &str)> {
    let text = text.trim_start().trim_start_matches('*');
    let (colon, _) = text
        .char_indices()
        .take(MAX_FIELD_NAME_CHARS)
        .find(|&(_, c)| c == ':')?;
    let name = text[..colon].trim_matches(|c: char| c == '*' || c.is_whitespace());
    let (_, kind) = FIELD_NAMES.iter().find(|(n, _)| eq_fold(name, n))?;
    let value = text[colon + 1..].trim_start_matches('*').trim();
    Some((*kind, value))
}

/// What a run of header fields contained.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Block {
    /// One past the block's last field line.
    pub end: usize,
    has_from: bool,
    has_sent: bool,
    has_date: bool,
    has_to: bool,
    has_subject: bool,
    from_has_address: bool,
}

impl Block {
    /// Enough to be an Outlook/Exchange or forward header on its own, and not
    /// a customer's "From: London / To: Paris": a From plus a Sent or
    /// Subject, or a From with an address plus a Date or To.
    pub fn is_message_header(&self) -> bool {
        self.has_from
            && (self.has_sent
                || self.has_subject
                || (self.from_has_address && (self.has_date || self.has_to)))
    }

    /// A `To:` and a `Subject:`: the fields Lotus Notes writes below the
    /// author and date of a quoted message.
    fn has_recipients_and_subject(&self) -> bool {
        self.has_to && self.has_subject
    }
}

/// The header fields starting at line `at`, allowing single blank lines and
/// indented continuation lines between them; `None` unless `at` is a field.
pub(crate) fn field_block(lines: &[Line<'_>], at: usize) -> Option<Block> {
    field(lines.get(at)?.text)?;
    let mut block = Block::default();
    let mut blanks = 0;
    let mut last = None;
    for (index, line) in lines.iter().enumerate().skip(at).take(MAX_BLOCK_LINES) {
        if let Some((kind, value)) = field(line.text) {
            block.end = index + 1;
            blanks = 0;
            last = Some(kind);
            match kind {
                Field::From => {
                    block.has_from = true;
                    block.from_has_address |= value.contains('@');
                }
                Field::Sent => block.has_sent = true,
                Field::Date => block.has_date = true,
                Field::To => block.has_to = true,
                Field::Subject => block.has_subject = true,
                Field::Other => {}
            }
        } else if line.is_blank() {
            blanks += 1;
            if blanks > 1 {
                break;
            }
        } else if blanks == 0 && !line.is_quoted() && is_continuation(line.text, last) {
            block.end = index + 1;
        } else {
            break;
        }
    }
    Some(block)
}

/// A wrapped field value: an indented line, or a line of addresses after a
/// `To:`/`Cc:` field (Lotus Notes wraps recipient lists without indenting).
fn is_continuation(text: &str, last: Option<Field>) -> bool {
    text.starts_with([' ', '\t']) || (last == Some(Field::To) && text.contains('@'))
}

/// A Lotus Notes quote header starting at line `at`; returns one past its
/// last line. Notes writes the author and the date above `To:`, `cc:` and
/// `Subject:` fields, in several layouts:
///
/// ```text
/// Jane Doe@ENRON                  "Jane" <jane@x.com> on 05/02/2000 01:35 PM
/// 02/15/2001 03:22 PM             Please respond to "Jane" <jane@x.com>
/// To: Bob Roe/HOU/ECT@ECT         To: ...
/// cc:                             Subject: ...
/// Subject: deal 523015
/// ```
///
/// or `From:  Jane Doe   03/12/2001 12:11 PM` above the fields. When an
/// assistant sent the message for its author, Notes adds a `Sent by: Ann
/// Lee@ACME` line, below the author or below the date. So: a short line that
/// names a date and a time (or a short author line just above one, perhaps
/// with a `Sent by:` line between them), then within a few lines a block
/// with a `To:` and a `Subject:`.
pub(crate) fn notes_header(lines: &[Line<'_>], at: usize) -> Option<usize> {
    let author = lines.get(at)?.text.trim();
    if author.len() > MAX_NOTES_AUTHOR_LEN || author.ends_with(['.', '?', '!', ':']) {
        return None;
    }
    let date_line = if names_date_and_time(author) {
        at
    } else {
        let mut next = at + 1;
        if lines.get(next).is_some_and(|l| is_sent_by(l.text)) {
            next += 1;
        }
        let text = lines.get(next)?.text.trim();
        (text.len() <= MAX_NOTES_AUTHOR_LEN && names_date_and_time(text)).then_some(next)?
    };
    let fields = (date_line + 1..lines.len().min(date_line + 2 + MAX_NOTES_GAP))
        .find(|&i| field(lines[i].text).is_some_and(|(kind, _)| kind == Field::To))?;
    let skipped_only_gaps = lines[date_line + 1..fields]
        .iter()
        .all(|l| l.is_blank() || starts_with_ci(l.text.trim(), "please respond to") || is_sent_by(l.text));
    let block = field_block(lines, fields).filter(Block::has_recipients_and_subject)?;
    skipped_only_gaps.then_some(block.end)
}

/// A Lotus Notes quote header of fields only, as Notes quotes a message
/// from the writer's own mail file: `To: Bob Roe/HOU/ACME@ACME`, `cc:`,
/// `Subject: Re: ...`, with no author or date line. The `To:` value must be
/// an address (with `@` or `/`) and a `cc:` line must sit in the block, so
/// a memo a customer types ("To: all staff") is not taken for one. Returns
/// one past its last line.
pub(crate) fn notes_fields_header(lines: &[Line<'_>], at: usize) -> Option<usize> {
    let text = lines.get(at)?.text.trim_start();
    let (_, value) = field(text).filter(|_| starts_with_ci(text, "to:"))?;
    if !value.contains(['@', '/']) {
        return None;
    }
    let block = field_block(lines, at).filter(Block::has_recipients_and_subject)?;
    lines[at + 1..block.end]
        .iter()
        .any(|l| starts_with_ci(l.text.trim_start(), "cc:"))
        .then_some(block.end)
}

/// Lotus Notes' `Sent by: Ann Lee@ACME` line: who sent a message for its
/// author.
fn is_sent_by(text: &str) -> bool {
    starts_with_ci(text.trim(), "sent by:")
}

/// Has a numeric date (`02/15/2001`, `1/5/01`) and a time (`03:22`).
fn names_date_and_time(text: &str) -> bool {
    let mut date = false;
    let mut time = false;
    for token in text.split_whitespace() {
        let token = token.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        date |= is_numeric_date(token);
        time |= is_time(token);
    }
    date && time
}

/// `MM/DD/YY` or `MM/DD/YYYY`, one- or two-digit month and day.
fn is_numeric_date(token: &str) -> bool {
    let parts: Vec<&str> = token.split('/').collect();
    let digits =
        |p: &str, lo: usize, hi: usize| (lo..=hi).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 3 && digits(parts[0], 1, 2) && digits(parts[1], 1, 2) && digits(parts[2], 2, 4)
}

/// `03:22`, `01:35:32`, `07:52AM`.
fn is_time(token: &str) -> bool {
    let Some((hours, rest)) = token.split_once(':') else {
        return false;
    };
    let minutes: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (1..=2).contains(&hours.len()) && hours.bytes().all(|b| b.is_ascii_digit()) && minutes.len() >= 2
}

/// GroupWise's quote header, `>>> Jane Doe 07/25/01 07:52AM >>>`: the
/// quoted message below it is not `>`-prefixed.
pub(crate) fn is_groupwise_header(text: &str) -> bool {
    let text = text.trim();
    text.len() <= MAX_ATTRIBUTION_LEN
        && text.len() > 6
        && text.starts_with(">>>")
        && text.ends_with(">>>")
        && text.contains(|c: char| c.is_ascii_digit())
}

/// An attribution ("On <date>, <name> wrote:") starting at line `at`, wrapped
/// over at most three lines; returns one past its last line.
pub(crate) fn attribution(lines: &[Line<'_>], at: usize) -> Option<usize> {
    let first = lines.get(at)?.text.trim();
    if !OPENERS.iter().any(|o| starts_with_ci(first, o)) {
        return None;
    }
    if is_attribution(first) {
        return Some(at + 1);
    }
    let mut joined = first.to_owned();
    for (offset, line) in lines
        .iter()
        .enumerate()
        .skip(at + 1)
        .take(MAX_ATTRIBUTION_LINES - 1)
    {
        if line.is_blank() || line.is_quoted() {
            return None;
        }
        joined.push(' ');
        joined.push_str(line.text.trim());
        if joined.len() > MAX_ATTRIBUTION_LEN {
            return None;
        }
        if is_attribution(&joined) {
            return Some(offset + 1);
        }
    }
    None
}

/// A single line that ends like an attribution ("Jane <jane@x.com> wrote:",
/// "2024-01-01 10:00 GMT+01:00 Jane <jane@x.com>:") and is followed by a
/// `>` quote.
pub(crate) fn attribution_before_quote(lines: &[Line<'_>], at: usize) -> bool {
    let Some(line) = lines.get(at) else {
        return false;
    };
    let text = line.text.trim();
    text.ends_with(':')
        && text.len() <= MAX_ATTRIBUTION_LEN
        && next_is_quote(lines, at + 1)
        && (has_verb(text) || (text.contains('@') && text.contains(|c: char| c.is_ascii_digit())))
}

/// The first non-blank line from `from` on is a `>` quote.
pub(crate) fn next_is_quote(lines: &[Line<'_>], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .find(|l| !l.is_blank())
        .is_some_and(Line::is_quoted)
}

/// Ends with a colon, names a date (has a digit) and has an attribution verb.
fn is_attribution(text: &str) -> bool {
    let text = text.trim_end();
    text.len() <= MAX_ATTRIBUTION_LEN
        && text.ends_with(':')
        && text.contains(|c: char| c.is_ascii_digit())
        && has_verb(text)
}

/// Contains one of the attribution verbs (case-insensitive).
fn has_verb(text: &str) -> bool {
    let lower = text.to_lowercase();
    VERBS.iter().any(|v| lower.contains(v))
}

/// Parses who and when from the text of a quote-header segment; `None` when
/// neither can be found (a helpdesk marker, a bare separator).
pub(crate) fn parse(text: &str) -> Option<QuoteHeader> {
    let (mut who, mut when) = (String::new(), String::new());
    let mut saw_field = false;
    for line in text.lines() {
        match field(line) {
            Some((Field::From, value)) if who.is_empty() => who = tidy_address(value),
            Some((Field::Sent | Field::Date, value)) if when.is_empty() => when = value.to_owned(),
            _ => {}
        }
        saw_field |= field(line).is_some();
    }
    if !saw_field {
        (who, when) = parse_attribution(text);
    }
    (!who.is_empty() || !when.is_empty()).then_some(QuoteHeader { who, when })
}

/// Outlook writes `Jane Doe [mailto:jane@example.com]`; show it as
/// `Jane Doe <jane@example.com>`.
fn tidy_address(value: &str) -> String {
    value
        .replace("[mailto:", "<")
        .replace("mailto:", "")
        .replace(']', ">")
        .trim()
        .to_owned()
}

/// Who and when from "On <when>, <who> wrote:" or "Am <when> schrieb <who>:".
fn parse_attribution(text: &str) -> (String, String) {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let joined = joined.trim_end_matches(':').trim_end();
    let Some(opener) = OPENERS.iter().find(|o| starts_with_ci(joined, o)) else {
        return (String::new(), String::new());
    };
    let body = &joined[opener.len()..];
    // ASCII lower-casing keeps byte offsets, so positions found in `lower`
    // slice `body` on the same char boundaries.
    let lower = body.to_ascii_lowercase();
    let verb_at = VERBS
        .iter()
        .filter_map(|v| lower.find(v).map(|at| (at, v.len())))
        .min();
    let Some((at, len)) = verb_at else {
        return (String::new(), body.to_owned());
    };
    let before = body[..at].trim().trim_end_matches(',').trim();
    let after = body[at + len..].trim();
    let (who, when) = if after.is_empty() {
        split_when_who(before)
    } else {
        (after.to_owned(), before.to_owned())
    };
    // An address wrapped onto the next line reads "Jane <\njane@x>".
    (who.replace("< ", "<").replace(" >", ">"), when)
}

/// Splits "Mon, 1 Jan 2024 at 10:00, Jane Doe <jane@x.com>" after the last
/// part that names a time (a token with a digit, or AM/PM), then after the
/// last comma if one follows it.
fn split_when_who(text: &str) -> (String, String) {
    let mut split = 0;
    let mut offset = 0;
    for token in text.split(' ') {
        let end = offset + token.len();
        let bare = token.trim_matches(|c: char| c.is_ascii_punctuation());
        let names_time = !token.contains('@')
            && !token.starts_with('<')
            && (token.contains(|c: char| c.is_ascii_digit())
                || ["am", "pm", "uhr", "h"]
                    .iter()
                    .any(|w| bare.eq_ignore_ascii_case(w)));
        if names_time {
            split = end;
        }
        offset = end + 1;
    }
    let rest = &text[split.min(text.len())..];
    let split = match rest.rfind(',') {
        Some(comma) if !rest[..comma].contains('<') => split + comma + 1,
        _ => split,
    };
    let (when, who) = text.split_at(split.min(text.len()));
    let when = when.trim().trim_end_matches(',').trim();
    (who.trim().to_owned(), when.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::lines::split;

    #[test]
    fn outlook_fields_are_read_in_several_languages() {
        assert_eq!(field("From: Jane Doe"), Some((Field::From, "Jane Doe")));
        assert_eq!(field("*Sent:* Monday"), Some((Field::Sent, "Monday")));
        assert_eq!(field("Envoyé : lundi"), Some((Field::Sent, "lundi")));
        assert_eq!(field("Betreff: Störung"), Some((Field::Subject, "Störung")));
        assert_eq!(field("Fromage: brie"), None);
    }

    #[test]
    fn raw_message_header_with_mime_fields_is_a_message_header() {
        let lines = split(
            "Content-Transfer-Encoding: 7bit\nDate: Tue, 3 Apr 2001 09:15:00 -0500\nFrom: \"Kim Vale\" <kim@example.org>\nTo: lee@example.org\nSubject: picnic\nMIME-Version: 1.0\n\nSee you there.",
        );
        let block = field_block(&lines, 0);
        assert!(block.is_some_and(|b| b.is_message_header() && b.end == 6));
    }

    #[test]
    fn a_mime_field_alone_is_not_a_message_header() {
        let lines = split("Importance: high\nThe pump at site 4 failed again.\n");
        assert!(field_block(&lines, 0).is_some_and(|b| !b.is_message_header()));
    }

    #[test]
    fn travel_plans_are_not_a_message_header() {
        let lines = split("From: London\nTo: Paris\n");
        let block = field_block(&lines, 0);
        assert!(block.is_some_and(|b| !b.is_message_header()));
    }

    #[test]
    fn lotus_notes_author_date_and_fields_are_a_header() {
        let lines = split(
            "Jane Doe@ACME\n02/15/2001 03:22 PM\nTo: Bob Roe/HOU/ACME@ACME\ncc:  \n\nSubject: deal\n\nBody",
        );
        assert_eq!(notes_header(&lines, 0), Some(6));
    }

    #[test]
    fn lotus_notes_from_line_with_date_starts_a_header() {
        let lines =
            split("\tFrom:  Jane Doe      03/12/2001 12:11 PM\n\t\n\nTo: Bob Roe\ncc:  \nSubject: Gas\n");
        assert_eq!(notes_header(&lines, 0), Some(6));
    }

    #[test]
    fn lotus_notes_recipients_wrap_without_indentation() {
        let lines = split("Jane Doe\n10/16/2000 06:40 PM\nTo: Bob Roe/HOU/ACME@ACME, Ann \nLee/HOU/ACME@ACME\ncc: \nSubject: Training\n");
        assert_eq!(notes_header(&lines, 0), Some(6));
    }

    #[test]
    fn lotus_notes_sent_by_line_stays_inside_the_header() {
        let below_date = split(
            "Pat Quill\n07/02/2001 09:41 AM\nSent by: Sam Orr\nTo: Lee Vance/ACME@ACME\ncc:  \n\nSubject: Re: pump 4\n\nFixed now.",
        );
        assert_eq!(notes_header(&below_date, 0), Some(7));
        let below_author = split(
            "\tPat Quill@ACME_WEST\n\tSent by: Sam Orr@ACME_WEST\n\t07/02/2001 09:41 AM\n\nTo: Lee Vance/ACME@ACME\ncc:\nSubject: pump 4\n",
        );
        assert_eq!(notes_header(&below_author, 0), Some(7));
    }

    #[test]
    fn lotus_notes_fields_without_author_are_a_header() {
        let lines = split("To: Ann Lee/HOU/ACME@ACME\ncc:  \nSubject: Re: lunch\n\nSee you at noon.");
        assert_eq!(notes_fields_header(&lines, 0), Some(3));
        let memo = split("To: all field staff\ncc: managers\nSubject: outage drill\n");
        assert_eq!(notes_fields_header(&memo, 0), None);
        let no_cc = split("To: ann@acme.example\nSubject: lunch\n");
        assert_eq!(notes_fields_header(&no_cc, 0), None);
    }

    #[test]
    fn a_dated_sentence_without_fields_is_not_a_notes_header() {
        let lines = split("We met on 05/02/2000 at 10:30 to discuss it\nand agreed.\n");
        assert_eq!(notes_header(&lines, 0), None);
    }

    #[test]
    fn groupwise_header_needs_arrows_at_both_ends() {
        assert!(is_groupwise_header(">>> Jane Doe 07/25/01 07:52AM >>>"));
        assert!(!is_groupwise_header(">>> quoted text 2"));
    }

    #[test]
    fn attribution_wrapped_over_three_lines_is_found() {
        let lines = split("On Mon, 1 Jan 2024 at 10:00,\nJane Doe\n<jane@example.com> wrote:\n> hi");
        assert_eq!(attribution(&lines, 0), Some(3));
    }

    #[test]
    fn sentence_starting_with_on_is_not_an_attribution() {
        let lines = split("On Monday the router died:\nplease help");
        assert_eq!(attribution(&lines, 0), None);
    }

    #[test]
    fn gmail_attribution_splits_when_from_who() {
        let header = parse("On Mon, Jan 1, 2024 at 10:00 AM Jane Doe <jane@example.com> wrote:");
        assert_eq!(
            header,
            Some(QuoteHeader {
                who: "Jane Doe <jane@example.com>".into(),
                when: "Mon, Jan 1, 2024 at 10:00 AM".into(),
            })
        );
    }

    #[test]
    fn german_attribution_names_the_author_after_the_verb() {
        let header = parse("Am 01.02.2024 um 10:00 schrieb Max Muster <max@example.de>:");
        assert_eq!(
            header,
            Some(QuoteHeader {
                who: "Max Muster <max@example.de>".into(),
                when: "01.02.2024 um 10:00".into(),
            })
        );
    }

    #[test]
    fn outlook_block_gives_from_and_sent() {
        let header = parse(
            "From: Jane Doe [mailto:jane@example.com]\nSent: Monday, January 1, 2024 10:00 AM\nTo: Bob\n",
        );
        assert_eq!(
            header,
            Some(QuoteHeader {
                who: "Jane Doe <jane@example.com>".into(),
                when: "Monday, January 1, 2024 10:00 AM".into(),
            })
        );
    }
}
