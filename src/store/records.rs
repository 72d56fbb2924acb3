//! Record encoding. JSON keeps records readable with standard tools and lets
//! fields be added later without a migration (new fields take defaults).

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::StoreError;
use crate::clock::UnixMicros;
use crate::ticket::{Side, Ticket, TicketId};

/// The customer index's summary of one ticket, enough for history rules.
/// Side and category are the final ones: an agent's correction wins.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct JourneyEntry {
    pub(crate) ingested_at: UnixMicros,
    pub(crate) side: Side,
    pub(crate) category: String,
    pub(crate) open: bool,
}

impl JourneyEntry {
    pub(crate) fn of(ticket: &Ticket) -> JourneyEntry {
        JourneyEntry {
            ingested_at: ticket.ingested_at,
            side: ticket.final_side(),
            category: ticket.final_category().to_string(),
            open: ticket.is_open(),
        }
    }
}

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

pub(crate) fn encode_ticket(ticket: &Ticket) -> Result<Vec<u8>, StoreError> {
    encode(ticket)
}

pub(crate) fn decode_ticket(id: TicketId, bytes: &[u8]) -> Result<Ticket, StoreError> {
    decode(&format!("ticket {id}"), bytes)
}
