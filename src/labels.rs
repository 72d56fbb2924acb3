//! Agents' corrections as training data: which stored tickets make labelled
//! examples, and the JSONL line each becomes (the input format of
//! `triage rules learn`, see [`crate::learn::read_jsonl`]).

use std::io::Write;

use serde::Serialize;

use crate::store::{StoreError, TicketStore};
use crate::ticket::{Side, Ticket, TicketId, TicketState};

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// An agent corrected the side or category.
    Corrected,
    /// The rules' classification, left as it was by the agent who completed it.
    Classified,
}

/// One stored ticket as a labelled example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledTicket {
    /// The ticket.
    pub id: TicketId,
    /// Its subject line.
    pub subject: String,
    /// Its body.
    pub text: String,
    /// The final side: the correction's, else the rules'.
    pub side: Side,
    /// The final category: the correction's, else the rules'.
    pub category: String,
    /// Where the label came from.
    pub source: LabelSource,
}

/// The JSONL line, fields in this order.
#[derive(Serialize)]
struct Line<'a> {
    id: String,
    subject: &'a str,
    text: &'a str,
    side: &'a str,
    category: &'a str,
    source: LabelSource,
}

impl LabelledTicket {
    /// The example `ticket` makes: every corrected ticket, and with
    /// `include_uncorrected` every completed one. `None` for other tickets
    /// and for tickets whose final side is unclassified (no label to learn).
    pub fn of(ticket: Ticket, include_uncorrected: bool) -> Option<LabelledTicket> {
        let source = match (&ticket.correction, &ticket.state) {
            (Some(_), _) => LabelSource::Corrected,
            (None, TicketState::Completed) if include_uncorrected => LabelSource::Classified,
            (None, _) => return None,
        };
        let side = ticket.final_side();
        if side == Side::Unclassified {
            return None;
        }
        let category = ticket.final_category().to_string();
        Some(LabelledTicket {
            id: ticket.id,
            subject: ticket.input.subject,
            text: ticket.input.body,
            side,
            category,
            source,
        })
    }

    /// One JSON object on one line (no newline):
    /// `{"id": "tkt_12", "subject": ..., "text": ..., "side": ..., "category": ..., "source": ...}`.
    pub fn to_json_line(&self) -> String {
        let line = Line {
            id: self.id.to_string(),
            subject: &self.subject,
            text: &self.text,
            side: self.side.name(),
            category: &self.category,
            source: self.source,
        };
        // A struct of strings always serialises.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

/// Every labelled example in `store`, in ticket id order (see [`LabelledTicket::of`]).
pub fn labelled_tickets(
    store: &dyn TicketStore,
    include_uncorrected: bool,
) -> impl Iterator<Item = Result<LabelledTicket, StoreError>> + Send + 'static {
    store.scan_tickets().filter_map(move |ticket| match ticket {
        Ok(ticket) => LabelledTicket::of(ticket, include_uncorrected).map(Ok),
        Err(err) => Some(Err(err)),
    })
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("cannot write: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes the labelled examples of `store` to `out` as JSONL; returns how
/// many lines were written.
pub fn export_jsonl(
    store: &dyn TicketStore,
    include_uncorrected: bool,
    out: &mut impl Write,
) -> Result<usize, ExportError> {
    let mut written = 0;
    for labelled in labelled_tickets(store, include_uncorrected) {
        writeln!(out, "{}", labelled?.to_json_line())?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}
