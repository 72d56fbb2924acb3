//! What the rules read of a ticket: its texts, normalised (see
//! [`normalize`](super::normalize)) and split into parts, prepared once per
//! classification and shared by the fast scanner and the reference path.

use crate::email::{self, PartKind};
use crate::ticket::{TextPart, TicketInput};

use super::text::{normalize, normalize_into};

/// The parts that need the body segmented.
const SEGMENTED: Parts =
    Parts(1 << TextPart::Body as u8 | 1 << TextPart::Quoted as u8 | 1 << TextPart::Signature as u8);

/// Which segments make up each segmented part.
const SEGMENT_KINDS: [(TextPart, &[PartKind]); 3] = [
    (TextPart::Body, &[PartKind::New]),
    (TextPart::Quoted, &[PartKind::Quoted, PartKind::QuoteHeader]),
    (TextPart::Signature, &[PartKind::Signature, PartKind::Disclaimer]),
];

/// How many text parts there are.
pub(crate) const PART_COUNT: usize = TextPart::ALL.len();

/// A set of text parts, as a bit mask indexed by `TextPart as usize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Parts(u8);

impl Parts {
    /// No part.
    pub(crate) const NONE: Parts = Parts(0);
    /// What `text` conditions read: the subject or the customer's new text.
    pub(crate) const TEXT: Parts = Parts(1 << TextPart::Subject as u8 | 1 << TextPart::Body as u8);

    /// The set holding only `part`.
    pub(crate) const fn of(part: TextPart) -> Parts {
        Parts(1 << part as u8)
    }

    /// Whether `part` is in the set.
    pub(crate) fn reads(self, part: TextPart) -> bool {
        self.0 & (1 << part as u8) != 0
    }

    /// Both sets.
    pub(crate) fn union(self, other: Parts) -> Parts {
        Parts(self.0 | other.0)
    }
}

/// A ticket's texts as rules see them.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    texts: [String; PART_COUNT],
    /// The subject was a reply's or a forward's ("Re:", "Fwd:" ...): an old
    /// thread's title, which weighs less than new words.
    pub(crate) subject_is_reply: bool,
}

impl Prepared {
    /// Prepares the parts in `needed` (others stay empty). An HTML body
    /// is turned into text first (block quotes become `>` quoting).
    pub(crate) fn new(input: &TicketInput, needed: Parts) -> Prepared {
        let mut prepared = Prepared::default();
        let subject = email::clean_subject(&input.subject);
        prepared.subject_is_reply = subject.is_reply || subject.is_forward;
        if needed.reads(TextPart::Subject) {
            prepared.texts[TextPart::Subject as usize] = normalize(subject.text);
        }
        let html_text;
        let body = if email::looks_like_html(&input.body) {
            html_text = email::html_to_text(&input.body);
            html_text.as_str()
        } else {
            input.body.as_str()
        };
        if needed.reads(TextPart::FullBody) {
            prepared.texts[TextPart::FullBody as usize] = normalize(body);
        }
        if needed.0 & SEGMENTED.0 == 0 {
            return prepared;
        }
        let segmentation = email::segment(body);
        for (part, kinds) in SEGMENT_KINDS {
            if needed.reads(part) {
                let text = &mut prepared.texts[part as usize];
                text.reserve(
                    segmentation
                        .pieces(body, kinds)
                        .map(|piece| piece.len() + 1)
                        .sum(),
                );
                for piece in segmentation.pieces(body, kinds) {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    normalize_into(piece, text);
                }
            }
        }
        prepared
    }

    /// The words sentiment is read from: the subject (unless it is an old
    /// thread's title) and the customer's new text.
    pub(crate) fn customer_words(&self) -> String {
        let subject = if self.subject_is_reply {
            ""
        } else {
            self.text(TextPart::Subject)
        };
        let body = self.text(TextPart::Body);
        match (subject.is_empty(), body.is_empty()) {
            (true, _) => body.to_string(),
            (false, true) => subject.to_string(),
            (false, false) => format!("{subject}. {body}"),
        }
    }

    /// The normalised text of `part` (empty when not prepared).
    pub(crate) fn text(&self, part: TextPart) -> &str {
        &self.texts[part as usize]
    }
}
