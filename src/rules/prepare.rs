//! What the rules read of a ticket: its texts, normalised (see
//! [`normalize`](super::normalize)) and split into parts, prepared once per
//! classification and shared by the fast scanner and the reference path.

use crate::ticket::{TextPart, TicketInput};

use super::text::normalize;

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
    /// Prepares the parts in `needed` (others stay empty).
    pub(crate) fn new(input: &TicketInput, needed: Parts) -> Prepared {
        let mut prepared = Prepared::default();
        if needed.reads(TextPart::Subject) {
            prepared.texts[TextPart::Subject as usize] = normalize(&input.subject);
        }
        if needed.reads(TextPart::FullBody) || needed.reads(TextPart::Body) {
            let body = normalize(&input.body);
            if needed.reads(TextPart::Body) {
                prepared.texts[TextPart::Body as usize].clone_from(&body);
            }
            prepared.texts[TextPart::FullBody as usize] = body;
        }
        prepared
    }

    /// The normalised text of `part` (empty when not prepared).
    pub(crate) fn text(&self, part: TextPart) -> &str {
        &self.texts[part as usize]
    }
}
