//! Backend-neutral encodings of a ticket's parts, shared by the sled and
//! PostgreSQL backends: the immutable ingest record, the lean
//! classification kept with the mutable state, and the record of how
//! recent leases ended (for retries). JSON keeps records readable with
//! standard tools and lets fields be added later (new fields take
//! defaults).

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::clock::UnixMicros;
use crate::store::StoreError;
use crate::ticket::{Classification, HistoryEntry, Ticket, TicketId, TicketInput, TicketState, SYSTEM_ACTOR};

/// How a lease of a ticket ended by an agent's verb, so that a retry of
/// that verb with the same token gets the same answer. Kept small (short
/// field names, the token's first 64 bits): it is rewritten with the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FinishedLease {
    #[serde(rename = "t")]
    token_prefix: String,
    #[serde(rename = "a")]
    action: String,
}

/// Hex digits of a lease token kept to recognise a retry.
const TOKEN_PREFIX_LEN: usize = 16;

impl FinishedLease {
    pub(crate) fn new(token: &str, action: &str) -> FinishedLease {
        FinishedLease {
            token_prefix: token.chars().take(TOKEN_PREFIX_LEN).collect(),
            action: action.to_string(),
        }
    }

    /// Appends how a lease ended to `finished`, keeping the last
    /// [`FINISHED_KEPT`].
    pub(crate) fn remember(finished: &mut Vec<FinishedLease>, token: &str, action: &str) {
        finished.push(FinishedLease::new(token, action));
        let excess = finished.len().saturating_sub(FINISHED_KEPT);
        finished.drain(..excess);
    }

    /// True if `token` and `action` repeat this ending.
    pub(crate) fn repeats(&self, token: &str, action: &str) -> bool {
        token.len() > TOKEN_PREFIX_LEN && token.starts_with(&self.token_prefix) && self.action == action
    }
}

/// How many ended leases a ticket remembers for retries.
pub(crate) const FINISHED_KEPT: usize = 3;

pub(crate) fn corrupt(what: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
        reason: reason.to_string(),
    }
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|err| corrupt("record being written", err))
}

pub(crate) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|err| corrupt(what, err))
}

/// What a ticket arrived with, written once in chunks: its input and the
/// parts of its classification that never change after ingest (sentiment,
/// lexicon scores, evidence), so the state record rewritten by every lease
/// operation stays a few hundred bytes.
#[derive(Debug, Serialize, Deserialize)]
struct IngestRecord {
    input: TicketInput,
    #[serde(default)]
    sentiment: crate::sentiment::Sentiment,
    #[serde(default)]
    scores: Vec<crate::ticket::LexiconScore>,
    #[serde(default)]
    evidence: Vec<crate::ticket::Evidence>,
}

/// The ingest record of `input` and the ingest-time parts of
/// `classification`, encoded.
pub(crate) fn encode_ingest(
    input: &TicketInput,
    classification: &Classification,
) -> Result<Vec<u8>, StoreError> {
    encode(&IngestRecord {
        input: input.clone(),
        sentiment: classification.sentiment.clone(),
        scores: classification.scores.clone(),
        evidence: classification.evidence.clone(),
    })
}

/// Decodes an ingest record, puts its ingest-time parts back into
/// `classification` and returns the input.
pub(crate) fn decode_ingest(
    id: TicketId,
    bytes: &[u8],
    classification: &mut Classification,
) -> Result<TicketInput, StoreError> {
    let ingest: IngestRecord = decode(&format!("ticket {id} input"), bytes)?;
    classification.sentiment = ingest.sentiment;
    classification.scores = ingest.scores;
    classification.evidence = ingest.evidence;
    Ok(ingest.input)
}

/// Drops the ingest-time parts of a classification (they live in the
/// ingest record), so the state rewritten by every lease change stays small.
pub(crate) fn make_lean(classification: &mut Classification) {
    classification.sentiment = crate::sentiment::Sentiment::default();
    classification.scores = Vec::new();
    classification.evidence = Vec::new();
}

/// When a waiting ticket becomes at risk: a quarter of its response window
/// before the deadline.
pub(crate) fn at_risk_from(enqueued_at: UnixMicros, due: UnixMicros) -> UnixMicros {
    UnixMicros(due.0 - due.0.saturating_sub(enqueued_at.0).max(0) / 4)
}

/// The number of the history entry `action` writes: the next one, except
/// that a lease extension following another rewrites that one (so a
/// long-held lease does not grow the history).
pub(crate) fn next_entry(history_len: &mut u32, extension_entry: &mut Option<u32>, action: &str) -> u32 {
    let extension = action == "lease_extended";
    let number = match *extension_entry {
        Some(number) if extension => number,
        _ => {
            let number = *history_len;
            *history_len += 1;
            number
        }
    };
    *extension_entry = extension.then_some(number);
    number
}

/// A new ticket as ingest stores it.
pub(crate) fn new_ticket(
    id: TicketId,
    input: TicketInput,
    classification: Classification,
    now: UnixMicros,
) -> Ticket {
    let due = classification
        .first_response_seconds
        .map(|seconds| now.plus_seconds(u64::from(seconds)));
    Ticket {
        id,
        history: vec![HistoryEntry {
            at: now,
            actor: SYSTEM_ACTOR.to_string(),
            action: "ingested".to_string(),
            detail: format!("queue {}", classification.queue),
        }],
        input,
        classification,
        state: TicketState::Queued,
        ingested_at: now,
        enqueued_at: now,
        claim_count: 0,
        first_response_due: due,
        escalated: false,
        resolution: String::new(),
        correction: None,
        follow_up_of: None,
        follow_up: None,
    }
}
