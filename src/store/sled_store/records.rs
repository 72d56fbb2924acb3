//! Record layout and encoding. A ticket is kept in three parts so that a
//! lease operation rewrites only a small record:
//! - its input (body included), written once at ingest, in chunks of at
//!   most [`INPUT_CHUNK_BYTES`];
//! - its state ([`StateRecord`]): classification, life-cycle, lease;
//! - its history, one record per entry.
//!
//! Every record stays far below sled's blob threshold (a quarter of a log
//! segment), and so does a leaf page of them: sled writes nothing to
//! separate blob files. JSON keeps records readable with standard tools and
//! lets fields be added later (new fields take defaults).

use serde::{Deserialize, Serialize};

use crate::clock::UnixMicros;
use crate::store::rollup::{Contribution, Parts};
use crate::store::StoreError;
use crate::ticket::{
    Classification, Correction, FollowUp, HistoryEntry, Side, Ticket, TicketId, TicketInput, TicketState,
};

/// Largest input chunk. sled splits a leaf page above 16 entries, so a
/// page of input chunks stays under 17 x 32 KiB = 544 KiB, below the 1 MiB
/// blob threshold of the store's 4 MiB segments.
pub(crate) const INPUT_CHUNK_BYTES: usize = 32 * 1024;

pub(crate) use crate::store::codec::{corrupt, decode, encode, FinishedLease};

/// The small, mutable part of a ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StateRecord {
    pub(crate) classification: Classification,
    pub(crate) state: TicketState,
    pub(crate) ingested_at: UnixMicros,
    pub(crate) enqueued_at: UnixMicros,
    pub(crate) claim_count: u32,
    pub(crate) first_response_due: Option<UnixMicros>,
    pub(crate) escalated: bool,
    pub(crate) resolution: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) correction: Option<Correction>,
    /// How many chunks the input is stored in.
    pub(crate) input_chunks: u16,
    /// How many history entries exist.
    pub(crate) history_len: u32,
    /// The entry a run of lease extensions updates in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) extension_entry: Option<u32>,
    /// The claim-request key of the current lease, if the claim had an id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) claim_request: Option<Vec<u8>>,
    /// How the last few leases ended, newest last, for retries.
    #[serde(default)]
    pub(crate) finished: Vec<FinishedLease>,
    /// When the ticket was completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) completed_at: Option<UnixMicros>,
    /// For a follow-up: the ticket it follows up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) follow_up_of: Option<TicketId>,
    /// For a completed ticket a recovery block matched: its follow-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) follow_up: Option<FollowUp>,
}

/// A ticket being changed: its state plus the history entries to write.
#[derive(Debug, Clone)]
pub(crate) struct Working {
    pub(crate) id: TicketId,
    pub(crate) input: TicketInput,
    pub(crate) record: StateRecord,
    /// Entries to write: (entry number, entry).
    pub(crate) new_entries: Vec<(u32, HistoryEntry)>,
}

impl Working {
    /// Appends a history entry (or, for a lease extension following
    /// another, updates that entry in place).
    pub(crate) fn record(&mut self, at: UnixMicros, actor: &str, action: &str, detail: String) {
        let entry = HistoryEntry {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
        };
        let record = &mut self.record;
        let number =
            crate::store::codec::next_entry(&mut record.history_len, &mut record.extension_entry, action);
        self.new_entries.retain(|(existing, _)| *existing != number);
        self.new_entries.push((number, entry));
    }

    /// What the ticket adds to the journey rollups as it stands.
    pub(crate) fn contribution(&self) -> Option<Contribution> {
        Contribution::from_parts(&Parts {
            ingested_at: self.record.ingested_at,
            classification: &self.record.classification,
            correction: self.record.correction.as_ref(),
            kind: self.input.customer.kind,
            follow_up: self.record.follow_up_of.is_some(),
        })
    }

    /// The ticket as the API sees it, given its earlier history entries.
    pub(crate) fn into_ticket(self, mut history: Vec<HistoryEntry>) -> Ticket {
        for (number, entry) in self.new_entries {
            let number = number as usize;
            if number < history.len() {
                history[number] = entry;
            } else {
                history.push(entry);
            }
        }
        assemble(self.id, self.input, self.record, history)
    }
}

/// Builds the API's ticket from its stored parts.
pub(crate) fn assemble(
    id: TicketId,
    input: TicketInput,
    record: StateRecord,
    history: Vec<HistoryEntry>,
) -> Ticket {
    Ticket {
        id,
        input,
        classification: record.classification,
        state: record.state,
        ingested_at: record.ingested_at,
        enqueued_at: record.enqueued_at,
        claim_count: record.claim_count,
        first_response_due: record.first_response_due,
        escalated: record.escalated,
        history,
        resolution: record.resolution,
        correction: record.correction,
        follow_up_of: record.follow_up_of,
        follow_up: record.follow_up,
    }
}

/// The state record of a ticket (for ingest and migration; the input and
/// history are stored apart and not copied here). `input_chunks` is left
/// for the caller to set.
pub(crate) fn state_of(ticket: &Ticket) -> StateRecord {
    let completed_at = match ticket.state {
        TicketState::Completed => ticket.history.last().map(|entry| entry.at),
        _ => None,
    };
    StateRecord {
        classification: ticket.classification.clone(),
        state: ticket.state.clone(),
        ingested_at: ticket.ingested_at,
        enqueued_at: ticket.enqueued_at,
        claim_count: ticket.claim_count,
        first_response_due: ticket.first_response_due,
        escalated: ticket.escalated,
        resolution: ticket.resolution.clone(),
        correction: ticket.correction.clone(),
        input_chunks: 0,
        history_len: u32::try_from(ticket.history.len()).unwrap_or(u32::MAX),
        extension_entry: None,
        claim_request: None,
        finished: Vec::new(),
        completed_at,
        follow_up_of: ticket.follow_up_of,
        follow_up: ticket.follow_up.clone(),
    }
}

/// The customer index's summary of one ticket, enough for history rules.
/// Side and category are the final ones: an agent's correction wins.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JourneyEntry {
    pub(crate) ingested_at: UnixMicros,
    pub(crate) side: Side,
    pub(crate) category: String,
    pub(crate) open: bool,
    /// A follow-up triage created, not a contact of the customer.
    #[serde(default)]
    pub(crate) follow_up: bool,
}

impl JourneyEntry {
    pub(crate) fn of(ticket: &Ticket) -> JourneyEntry {
        JourneyEntry {
            ingested_at: ticket.ingested_at,
            side: ticket.final_side(),
            category: ticket.final_category().to_string(),
            open: ticket.is_open(),
            follow_up: ticket.is_follow_up(),
        }
    }
}

/// The ingest record of `input` and `classification`, cut into chunks of
/// at most [`INPUT_CHUNK_BYTES`].
pub(crate) fn ingest_chunks(
    input: &TicketInput,
    classification: &Classification,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let bytes = crate::store::codec::encode_ingest(input, classification)?;
    Ok(bytes.chunks(INPUT_CHUNK_BYTES).map(<[u8]>::to_vec).collect())
}

/// Decodes an ingest record's joined chunks, puts the ingest-time parts
/// back into `record`'s classification and returns the input.
pub(crate) fn attach_ingest(
    id: TicketId,
    bytes: &[u8],
    record: &mut StateRecord,
) -> Result<TicketInput, StoreError> {
    crate::store::codec::decode_ingest(id, bytes, &mut record.classification)
}

/// Encodes a state record without the ingest-time parts of its
/// classification (they live in the ingest record).
pub(crate) fn encode_state(record: &StateRecord) -> Result<Vec<u8>, StoreError> {
    let mut lean = record.clone();
    crate::store::codec::make_lean(&mut lean.classification);
    encode(&lean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn working() -> Working {
        let ticket = Ticket {
            id: TicketId(1),
            input: TicketInput::default(),
            classification: Classification::default(),
            state: TicketState::Queued,
            ingested_at: UnixMicros(1),
            enqueued_at: UnixMicros(1),
            claim_count: 0,
            first_response_due: None,
            escalated: false,
            history: Vec::new(),
            resolution: String::new(),
            correction: None,
            follow_up_of: None,
            follow_up: None,
        };
        let record = state_of(&ticket);
        let input = ticket.input;
        Working {
            id: TicketId(1),
            input,
            record,
            new_entries: Vec::new(),
        }
    }

    #[test]
    fn extensions_in_a_row_update_one_entry() {
        let mut ticket = working();
        let before = ticket.record.history_len;
        for at in 0..100 {
            ticket.record(UnixMicros(at), "ann", "lease_extended", "lease 60s".into());
        }
        assert_eq!(ticket.record.history_len, before + 1);
        assert_eq!(ticket.new_entries.len(), 1);
        ticket.record(UnixMicros(200), "ann", "released", String::new());
        ticket.record(UnixMicros(201), "bob", "lease_extended", String::new());
        assert_eq!(ticket.record.history_len, before + 3);
    }

    #[test]
    fn chunks_stay_under_the_limit_and_rejoin_with_the_classification_details() {
        let mut ticket = working();
        ticket.input.body = "x".repeat(100_000);
        ticket.record.classification.rules_version = "v1".into();
        ticket.record.classification.scores = vec![crate::ticket::LexiconScore {
            lexicon: "problem".into(),
            score: 2.5,
        }];
        let chunks = ingest_chunks(&ticket.input, &ticket.record.classification).expect("encodes");
        assert!(chunks.iter().all(|chunk| chunk.len() <= INPUT_CHUNK_BYTES));
        let state = encode_state(&ticket.record).expect("encodes");
        assert!(
            !String::from_utf8_lossy(&state).contains("problem"),
            "details stay out of the state"
        );
        let mut record: StateRecord = decode("state", &state).expect("decodes");
        let input = attach_ingest(TicketId(1), &chunks.concat(), &mut record).expect("decodes");
        assert_eq!(input.body.len(), 100_000);
        assert_eq!(record.classification, ticket.record.classification);
    }
}
