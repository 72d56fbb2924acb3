//! The durable store: tickets, queues, idempotency, customer journeys,
//! leases and deadlines in sled. The only module that knows sled; its public
//! API is domain verbs (`ingest`, `claim_next`, `complete` ...), so another
//! backend could stand behind the same calls.
//!
//! Trees:
//! - `tickets`: id -> ticket record (JSON);
//! - `queues`: queue name, 0, priority, enqueued time, id -> deadline; only
//!   *waiting* tickets have an entry, so a claim takes the first entry;
//! - `idempotency`: (source, external_id) -> id;
//! - `customers`: (customer id, ingest time, id) -> journey summary;
//! - `leases`: (expiry, id) -> queue name, for expiring leases;
//! - `deadlines`: (first-response due, id) -> empty, for escalation.
//!
//! Every verb changes all the trees it touches in one sled transaction and
//! then waits for the group commit, so an acknowledged change is on disk and
//! a crash never leaves half of one.

mod commit;
mod keys;
mod records;
mod verify;
mod workflow;

use std::path::Path;
use std::sync::Mutex;

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

pub use commit::Durability;
pub use verify::ConsistencyReport;
pub use workflow::{EscalationPolicy, Transition};

use crate::clock::UnixMicros;
use crate::rules::{CustomerHistory, PriorTicket};
use crate::ticket::{Classification, HistoryEntry, Ticket, TicketId, TicketInput, TicketState, SYSTEM_ACTOR};
use commit::Committer;
use records::JourneyEntry;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an I/O or corruption problem.
    #[error("storage failure: {0}")]
    Storage(#[from] sled::Error),
    /// Writes could not be made durable.
    #[error("could not make the write durable: {0}")]
    Durability(String),
    /// A stored record could not be decoded.
    #[error("corrupt record for {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// No ticket has this id.
    #[error("ticket {0} not found")]
    NotFound(TicketId),
    /// The lease token given is not the ticket's current one.
    #[error("lease token for ticket {0} is not current (expired, released or never issued)")]
    StaleLease(TicketId),
    /// The ticket is not claimed, so lease operations do not apply.
    #[error("ticket {id} is {state}, not claimed")]
    NotClaimed {
        /// The ticket.
        id: TicketId,
        /// Its state.
        state: &'static str,
    },
}

impl<T> From<TransactionError<T>> for StoreError
where
    StoreError: From<T>,
{
    fn from(err: TransactionError<T>) -> Self {
        match err {
            TransactionError::Abort(inner) => StoreError::from(inner),
            TransactionError::Storage(inner) => StoreError::Storage(inner),
        }
    }
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Options for opening a store.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOptions {
    /// How acknowledged writes are made durable.
    pub durability: Durability,
    /// sled page-cache size in bytes (sled's default when `None`).
    pub cache_bytes: Option<u64>,
}

/// The result of an ingest.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The stored ticket (the original on a retry).
    pub ticket: Ticket,
    /// False when (source, external_id) was stored before.
    pub created: bool,
}

/// Figures for one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Waiting tickets.
    pub depth: u64,
    /// Leased tickets.
    pub leased: u64,
    /// When the oldest waiting ticket was queued.
    pub oldest_enqueued_at: Option<UnixMicros>,
    /// Waiting tickets past their first-response deadline.
    pub breached: u64,
    /// Waiting tickets with under a quarter of their response window left.
    pub at_risk: u64,
}

/// Where to resume a queue listing: the position after which to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCursor(Vec<u8>);

impl QueueCursor {
    /// The cursor that resumes a listing right after `ticket`, at its place
    /// in its queue (priority, then queue time, then id).
    pub fn after(ticket: &Ticket) -> QueueCursor {
        let position = keys::position(ticket.classification.priority, ticket.enqueued_at, ticket.id);
        QueueCursor(position.to_vec())
    }

    /// The cursor as an opaque page token.
    pub fn to_token(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Parses a page token; `None` if it was not made by [`to_token`](Self::to_token).
    pub fn from_token(token: &str) -> Option<QueueCursor> {
        if token.len() != keys::POSITION_LEN * 2 || !token.is_ascii() {
            return None;
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&token[at..at + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        (bytes[0] <= 3).then_some(QueueCursor(bytes))
    }
}

/// The sled-backed store. Cheap to clone; clones share the database.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    tickets: sled::Tree,
    queues: sled::Tree,
    idempotency: sled::Tree,
    customers: sled::Tree,
    leases: sled::Tree,
    deadlines: sled::Tree,
    committer: Committer,
    /// Serialises claims so concurrent claimers do not all race for the same
    /// head entry and retry; correctness does not depend on it.
    claim_lock: std::sync::Arc<Mutex<()>>,
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let mut config = sled::Config::new().path(dir);
        if let Some(bytes) = options.cache_bytes {
            config = config.cache_capacity(bytes);
        }
        let db = config.open()?;
        let committer = Committer::start(db.clone(), dir, options.durability)
            .map_err(|err| StoreError::Durability(err.to_string()))?;
        Ok(Store {
            tickets: db.open_tree("tickets")?,
            queues: db.open_tree("queues")?,
            idempotency: db.open_tree("idempotency")?,
            customers: db.open_tree("customers")?,
            leases: db.open_tree("leases")?,
            deadlines: db.open_tree("deadlines")?,
            db,
            committer,
            claim_lock: std::sync::Arc::default(),
        })
    }

    /// Waits until every write so far is on disk.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.committer.wait().await.map_err(StoreError::Durability)
    }

    /// Stores a classified ticket in its queue, or returns the ticket stored
    /// earlier under the same (source, external_id). Returns once durable.
    pub async fn ingest(
        &self,
        input: TicketInput,
        classification: Classification,
        now: UnixMicros,
    ) -> Result<Ingested, StoreError> {
        let id = TicketId(self.db.generate_id()?);
        let due = classification
            .first_response_seconds
            .map(|seconds| now.plus_seconds(u64::from(seconds)));
        let ticket = Ticket {
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
        };
        let outcome = self.insert_once(ticket)?;
        self.sync().await?;
        Ok(outcome)
    }

    fn insert_once(&self, ticket: Ticket) -> Result<Ingested, StoreError> {
        let idempotency_key = keys::idempotency(&ticket.input.source, &ticket.input.external_id);
        let record = records::encode_ticket(&ticket)?;
        let journey = records::encode(&JourneyEntry::of(&ticket))?;
        let outcome = (
            &self.tickets,
            &self.queues,
            &self.idempotency,
            &self.customers,
            &self.deadlines,
        )
            .transaction(|(tickets, queues, idempotency, customers, deadlines)| {
                if let Some(existing) = idempotency.get(&idempotency_key)? {
                    let id = keys::ticket_id_from_tail(&existing)
                        .ok_or_else(|| abort(records::corrupt("idempotency entry", "short id")))?;
                    let original = read_ticket(tickets, id)?;
                    return Ok(Ingested {
                        ticket: original,
                        created: false,
                    });
                }
                idempotency.insert(idempotency_key.as_slice(), &keys::ticket(ticket.id))?;
                tickets.insert(&keys::ticket(ticket.id), record.as_slice())?;
                queues.insert(keys::queue_entry(&ticket), keys::queue_entry_value(&ticket))?;
                if !ticket.input.customer.id.is_empty() {
                    customers.insert(keys::customer_entry(&ticket), journey.as_slice())?;
                }
                if let Some(due) = ticket.first_response_due {
                    deadlines.insert(&keys::timed(due, ticket.id), &[])?;
                }
                Ok(Ingested {
                    ticket: ticket.clone(),
                    created: true,
                })
            })?;
        Ok(outcome)
    }

    /// One ticket by id.
    pub fn get(&self, id: TicketId) -> Result<Ticket, StoreError> {
        match self.tickets.get(keys::ticket(id))? {
            Some(bytes) => records::decode_ticket(id, &bytes),
            None => Err(StoreError::NotFound(id)),
        }
    }

    /// Up to `limit` waiting tickets of `queue` in claim order, after `cursor`.
    /// Returns the cursor for the next page when there may be more.
    pub fn list_queue(
        &self,
        queue: &str,
        limit: usize,
        cursor: Option<&QueueCursor>,
    ) -> Result<(Vec<Ticket>, Option<QueueCursor>), StoreError> {
        let prefix = keys::queue_prefix(queue);
        let mut entries = self.queues.scan_prefix(&prefix);
        if let Some(cursor) = cursor {
            let mut start = prefix.clone();
            start.extend_from_slice(&cursor.0);
            let mut end = prefix.clone();
            end.push(u8::MAX);
            let after = (std::ops::Bound::Excluded(start), std::ops::Bound::Excluded(end));
            entries = self.queues.range(after);
        }
        let mut tickets = Vec::with_capacity(limit.min(512));
        let mut last = None;
        for entry in entries.take(limit) {
            let (key, _) = entry?;
            let id = keys::ticket_id_from_tail(&key)
                .ok_or_else(|| records::corrupt("queue entry", "short key"))?;
            tickets.push(self.get(id)?);
            last = Some(key);
        }
        let next = match last {
            Some(key) if tickets.len() == limit => key.get(prefix.len()..).map(|p| QueueCursor(p.to_vec())),
            _ => None,
        };
        Ok((tickets, next))
    }

    /// Depth, leases, age and deadline figures for one queue at `now`.
    pub fn queue_stats(&self, queue: &str, now: UnixMicros) -> Result<QueueStats, StoreError> {
        let mut all = self.queues_stats(&[queue], now)?;
        Ok(all.pop().unwrap_or_default())
    }

    /// [`queue_stats`](Self::queue_stats) for several queues, in order, with
    /// one pass over the leases for all of them.
    pub fn queues_stats(&self, queues: &[&str], now: UnixMicros) -> Result<Vec<QueueStats>, StoreError> {
        let mut leased = std::collections::HashMap::<sled::IVec, u64>::new();
        for entry in self.leases.iter() {
            let (_, queue) = entry?;
            *leased.entry(queue).or_default() += 1;
        }
        queues
            .iter()
            .map(|queue| {
                let mut stats = self.waiting_stats(queue, now)?;
                stats.leased = leased.get(queue.as_bytes()).copied().unwrap_or(0);
                Ok(stats)
            })
            .collect()
    }

    /// Figures of a queue's waiting tickets (all but `leased`).
    fn waiting_stats(&self, queue: &str, now: UnixMicros) -> Result<QueueStats, StoreError> {
        let prefix = keys::queue_prefix(queue);
        let mut stats = QueueStats::default();
        for entry in self.queues.scan_prefix(&prefix) {
            let (key, due) = entry?;
            stats.depth += 1;
            let enqueued = key
                .get(prefix.len() + 1..)
                .and_then(keys::time_from)
                .ok_or_else(|| records::corrupt("queue entry", "short key"))?;
            stats.oldest_enqueued_at = Some(stats.oldest_enqueued_at.map_or(enqueued, |o| o.min(enqueued)));
            if let Some(due) = keys::time_from(&due) {
                if now >= due {
                    stats.breached += 1;
                } else if (due.0 - now.0).saturating_mul(4) <= due.0 - enqueued.0 {
                    stats.at_risk += 1;
                }
            }
        }
        Ok(stats)
    }

    /// The customer's earlier tickets, newest first, at most `limit`.
    pub fn customer_history(&self, customer_id: &str, limit: usize) -> Result<CustomerHistory, StoreError> {
        let tickets = self
            .customer_entries(customer_id, limit)
            .map(|entry| {
                let (_, value) = entry?;
                let journey: JourneyEntry = records::decode("customer journey entry", &value)?;
                Ok(PriorTicket {
                    ingested_at: journey.ingested_at,
                    side: journey.side,
                    category: journey.category,
                    open: journey.open,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(CustomerHistory { tickets })
    }

    /// The customer's tickets, newest first, at most `limit`.
    pub fn customer_tickets(&self, customer_id: &str, limit: usize) -> Result<Vec<Ticket>, StoreError> {
        self.customer_entries(customer_id, limit)
            .map(|entry| {
                let (key, _) = entry?;
                let id = keys::ticket_id_from_tail(&key)
                    .ok_or_else(|| records::corrupt("customer entry", "short key"))?;
                self.get(id)
            })
            .collect()
    }

    /// The customer index entries of one customer, newest first. An empty
    /// customer id has no entries (tickets without a customer are not indexed).
    fn customer_entries(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>> {
        let take = if customer_id.is_empty() { 0 } else { limit };
        self.customers
            .scan_prefix(keys::customer_prefix(customer_id))
            .rev()
            .take(take)
    }

    /// Every stored ticket, in id (ingest) order, read lazily: for exports
    /// and tools that walk the whole store.
    pub fn scan_tickets(&self) -> impl Iterator<Item = Result<Ticket, StoreError>> + Send + 'static {
        self.tickets.iter().map(|entry| {
            let (key, bytes) = entry?;
            let id =
                keys::ticket_id_from_tail(&key).ok_or_else(|| records::corrupt("ticket key", "short"))?;
            records::decode_ticket(id, &bytes)
        })
    }

    /// How many tickets are stored in all.
    pub fn ticket_count(&self) -> usize {
        self.tickets.len()
    }
}

fn abort(err: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(err)
}

fn read_ticket(tickets: &TransactionalTree, id: TicketId) -> TxResult<Ticket> {
    match tickets.get(keys::ticket(id))? {
        Some(bytes) => records::decode_ticket(id, &bytes).map_err(abort),
        None => Err(abort(StoreError::NotFound(id))),
    }
}

fn write_ticket(tickets: &TransactionalTree, ticket: &Ticket) -> TxResult<()> {
    let record = records::encode_ticket(ticket).map_err(abort)?;
    tickets.insert(&keys::ticket(ticket.id), record)?;
    Ok(())
}
