//! The durable store, behind the backend-neutral [`TicketStore`] trait: the
//! domain verbs (`ingest`, `claim_next`, `complete` ...) with their cursors,
//! transitions and errors. [`App`](crate::app::App) depends on the trait
//! only; the embedded sled backend ([`Store`]) is its first implementation
//! and the only code that knows sled.

mod codec;
pub mod follow_up;
mod location;
mod postgres;
pub mod rollup;
mod sled_store;
mod verbs;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

pub use follow_up::FollowUpPlan;
pub use location::{PostgresUrl, StoreLocation};
pub use postgres::{PgOptions, PgStore, SCHEMA_VERSION};
pub use rollup::{RollupCounts, RollupKey, RollupRow};
pub use sled_store::{Durability, Store, StoreOptions, FORMAT_VERSION};

use crate::clock::UnixMicros;
use crate::events::{EventBus, QueueEvent};
use crate::rules::CustomerHistory;
use crate::ticket::{Classification, Priority, Relabel, Ticket, TicketId, TicketInput};

/// Opens the store at `location`: the sled store (with `options`) or the
/// shared PostgreSQL store (with `pg`, migrating its schema).
pub async fn open(
    location: &StoreLocation,
    options: StoreOptions,
    pg: PgOptions,
) -> Result<Arc<dyn TicketStore>, StoreError> {
    Ok(match location {
        StoreLocation::Sled(dir) => Arc::new(Store::open(dir, options)?),
        StoreLocation::Postgres(url) => Arc::new(PgStore::open(url, pg).await?),
    })
}

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend reported an I/O problem; the operation may succeed later.
    #[error("storage failure: {0}")]
    Storage(String),
    /// Writes could not be made durable; the store accepts no more writes
    /// until it is reopened.
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
    /// The data directory holds a format this build cannot read.
    #[error("unsupported store format: {0}")]
    Format(String),
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

/// The result of an ingest.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The stored ticket (the original on a retry).
    pub ticket: Ticket,
    /// False when (source, external_id) was stored before.
    pub created: bool,
}

/// A ticket after a state change, with the queue events it caused.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The ticket as it is now.
    pub ticket: Ticket,
    /// What watchers of the affected queues should hear (none when a retry
    /// found the change already made).
    pub events: Vec<QueueEvent>,
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

/// How a queue escalates tickets that breach their deadline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EscalationPolicy {
    /// Move the ticket here (stays in its queue when `None`).
    pub move_to: Option<String>,
    /// Raise to this priority (one step up when `None`).
    pub priority: Option<Priority>,
}

/// Escalation policies by queue name; queues not listed use the default
/// policy (stay, one step up).
pub type EscalationPolicies = BTreeMap<String, EscalationPolicy>;

/// A request to lease the head of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The queue.
    pub queue: String,
    /// Who claims.
    pub agent_id: String,
    /// Lease length.
    pub lease_seconds: u32,
    /// The caller's id for this claim: a retry with the same agent and id
    /// gets the same lease back instead of a second ticket.
    pub request_id: Option<String>,
}

/// Where to resume a queue listing: the claim-order position (priority
/// rank, then ticket id) after which to continue. Backend-neutral: every
/// backend orders a queue by priority, then sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueCursor {
    rank: u8,
    id: TicketId,
}

impl QueueCursor {
    /// The position right after `ticket` in its queue.
    pub fn after(ticket: &Ticket) -> QueueCursor {
        QueueCursor {
            rank: ticket.classification.priority.rank(),
            id: ticket.id,
        }
    }

    /// The priority rank of the position.
    pub fn rank(self) -> u8 {
        self.rank
    }

    /// The ticket id of the position.
    pub fn id(self) -> TicketId {
        self.id
    }

    /// The cursor as an opaque page token.
    pub fn to_token(self) -> String {
        format!("{:02x}{:016x}", self.rank, self.id.0)
    }

    /// Parses a page token; `None` if it was not made by [`to_token`](Self::to_token).
    pub fn from_token(token: &str) -> Option<QueueCursor> {
        if token.len() != 18 || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let rank = u8::from_str_radix(&token[..2], 16).ok()?;
        let id = u64::from_str_radix(&token[2..], 16).ok()?;
        Priority::from_rank(rank)?;
        Some(QueueCursor {
            rank,
            id: TicketId(id),
        })
    }
}

/// Where to resume a customer's tickets (newest first): the ingest time and
/// id of the last ticket of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CustomerCursor {
    ingested_at: UnixMicros,
    id: TicketId,
}

impl CustomerCursor {
    /// The position right after (older than) `ticket`.
    pub fn after(ticket: &Ticket) -> CustomerCursor {
        CustomerCursor {
            ingested_at: ticket.ingested_at,
            id: ticket.id,
        }
    }

    /// The ingest time of the position.
    pub fn ingested_at(self) -> UnixMicros {
        self.ingested_at
    }

    /// The ticket id of the position.
    pub fn id(self) -> TicketId {
        self.id
    }

    /// The cursor as an opaque page token (32 hex digits, distinct from a
    /// queue cursor's 18).
    pub fn to_token(self) -> String {
        format!("{:016x}{:016x}", self.ingested_at.0 as u64, self.id.0)
    }

    /// Parses a page token; `None` if it was not made by [`to_token`](Self::to_token).
    pub fn from_token(token: &str) -> Option<CustomerCursor> {
        if token.len() != 32 || !token.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let at = u64::from_str_radix(&token[..16], 16).ok()?;
        let id = u64::from_str_radix(&token[16..], 16).ok()?;
        Some(CustomerCursor {
            ingested_at: UnixMicros(at as i64),
            id: TicketId(id),
        })
    }
}

/// What a consistency check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsistencyReport {
    /// Tickets checked.
    pub tickets: usize,
    /// Waiting tickets.
    pub queued: usize,
    /// Claimed tickets.
    pub claimed: usize,
    /// Completed tickets.
    pub completed: usize,
    /// Index entries set aside because they pointed at unreadable tickets.
    pub quarantined: usize,
    /// Every disagreement found, in words.
    pub problems: Vec<String>,
}

impl ConsistencyReport {
    /// True when no problem was found.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Hears how a store makes writes durable (for metrics), whatever the
/// backend: a "round" is one durability step that may cover many writes.
pub trait StoreObserver: Send + Sync + Debug {
    /// One durable round made `writes` writes durable in `took`.
    fn flushed(&self, writes: usize, took: Duration);
}

/// A lazily read sequence of stored tickets.
pub type TicketIter = Box<dyn Iterator<Item = Result<Ticket, StoreError>> + Send>;

/// The store's domain verbs. Every write returns once it is durable: an
/// acknowledged change survives a crash or power loss. Implementations run
/// blocking I/O off the async workers.
#[async_trait::async_trait]
pub trait TicketStore: Send + Sync + Debug {
    /// Stores a classified ticket in its queue, or returns the ticket stored
    /// earlier under the same (source, external_id).
    async fn ingest(
        &self,
        input: TicketInput,
        classification: Classification,
        now: UnixMicros,
    ) -> Result<Ingested, StoreError>;

    /// One ticket by id.
    async fn get(&self, id: TicketId) -> Result<Ticket, StoreError>;

    /// Up to `limit` waiting tickets of `queue` in claim order, after
    /// `cursor`, and the cursor for the next page when there may be more.
    async fn list_queue(
        &self,
        queue: &str,
        limit: usize,
        cursor: Option<QueueCursor>,
    ) -> Result<(Vec<Ticket>, Option<QueueCursor>), StoreError>;

    /// Figures for each of `queues`, in order, at `now`. The cost does not
    /// grow with queue depth.
    async fn queues_stats(&self, queues: &[String], now: UnixMicros) -> Result<Vec<QueueStats>, StoreError>;

    /// The customer's earlier tickets for history rules, newest first
    /// (follow-ups triage created are not the customer's contacts and are
    /// left out).
    async fn customer_history(&self, customer_id: &str, limit: usize) -> Result<CustomerHistory, StoreError>;

    /// Up to `limit` of the customer's tickets, newest first, older than
    /// `cursor`, and the cursor for the next page when there may be more.
    async fn customer_tickets(
        &self,
        customer_id: &str,
        limit: usize,
        cursor: Option<CustomerCursor>,
    ) -> Result<(Vec<Ticket>, Option<CustomerCursor>), StoreError>;

    /// Leases the first waiting ticket of the queue, or `None` when it is
    /// empty. A retry of a request with an id returns the lease it got.
    async fn claim_next(
        &self,
        claim: &ClaimRequest,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError>;

    /// Extends a lease to `lease_seconds` from now.
    async fn extend_lease(
        &self,
        id: TicketId,
        token: &str,
        lease_seconds: u32,
        now: UnixMicros,
    ) -> Result<Transition, StoreError>;

    /// Gives a claimed ticket back to its queue, at its old place. Repeating
    /// a successful release with the same token returns the same result.
    async fn release(
        &self,
        id: TicketId,
        token: &str,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Transition, StoreError>;

    /// Completes a claimed ticket, recording the agent's correction, if any,
    /// and, in the same atomic write, the service-recovery `follow_up` to
    /// create once due (see [`materialise_follow_ups`](Self::materialise_follow_ups)).
    /// Repeating a successful completion with the same token returns the
    /// same result and schedules nothing more.
    async fn complete(
        &self,
        id: TicketId,
        token: &str,
        resolution: &str,
        relabel: &Relabel,
        follow_up: Option<&FollowUpPlan>,
        now: UnixMicros,
    ) -> Result<Transition, StoreError>;

    /// Creates every scheduled follow-up due by `now`, each exactly once and
    /// in one atomic write with its links: the follow-up ticket (its
    /// `follow_up_of` names the original, its input comes from
    /// [`FollowUpPlan::follow_up`]) and the original's
    /// [`FollowUpState::Created`](crate::ticket::FollowUpState). A plan with
    /// `skip_if_contacted` whose customer has a ticket (not a follow-up)
    /// ingested after the original's completion is marked
    /// [`FollowUpState::Skipped`](crate::ticket::FollowUpState) instead.
    /// Both are recorded in the original's history (and the creation in the
    /// follow-up's). Returns the changes, with an `Added` event per follow-up.
    async fn materialise_follow_ups(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError>;

    /// The journey rollups (see [`rollup`]) summed per key over the hours
    /// starting in `[from, until)` (both on the hour); keys with no contact
    /// in the range are left out, in any order. Reads rollups only, never
    /// tickets: the cost grows with the range and the number of keys.
    async fn rollup(&self, from: UnixMicros, until: UnixMicros) -> Result<Vec<RollupRow>, StoreError>;

    /// Moves a claimed ticket to `to_queue` (which the caller has checked
    /// exists), recording the agent's correction, if any. Repeating a
    /// successful transfer with the same token returns the same result.
    async fn transfer(
        &self,
        id: TicketId,
        token: &str,
        to_queue: &str,
        reason: &str,
        relabel: &Relabel,
        now: UnixMicros,
    ) -> Result<Transition, StoreError>;

    /// Returns tickets whose lease ran out by `now` to their queues.
    async fn expire_leases(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError>;

    /// Escalates waiting tickets past their first-response deadline, once
    /// each, as `policies` say for the queue they wait in.
    async fn escalate_breaches(
        &self,
        now: UnixMicros,
        policies: &EscalationPolicies,
    ) -> Result<Vec<Transition>, StoreError>;

    /// Gives a waiting ticket `classification` in place of its own (a new
    /// queue, priority, side or category) and files it there at its
    /// priority, keeping its first-response deadline, with a history entry
    /// giving `reason`. `None`, changing nothing, when the ticket is not
    /// waiting (claimed or completed).
    async fn requeue(
        &self,
        id: TicketId,
        classification: &Classification,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError>;

    /// Deletes tickets completed before `before`, with their index entries,
    /// and takes them out of the journey rollups (reports count the stored
    /// tickets). Returns how many were deleted.
    async fn purge_completed(&self, before: UnixMicros) -> Result<usize, StoreError>;

    /// Waits until every write so far is durable.
    async fn sync(&self) -> Result<(), StoreError>;

    /// `Err` with the reason once the store can no longer make writes
    /// durable (a failed fsync, a storage error): health turns NOT_SERVING.
    fn health(&self) -> Result<(), String>;

    /// Tries to bring a store whose [`health`](Self::health) failed back
    /// into service, and returns its health after. The sled store reopens
    /// its database once the disk has room again (a failed durable round
    /// poisons the open one for good); the default, for a backend that
    /// recovers by itself (PostgreSQL's pool reconnects), only reports.
    async fn recover(&self) -> Result<(), String> {
        self.health()
    }

    /// Reports every durable round to `observer` from now on. A backend
    /// with nothing to report ignores it.
    fn observe(&self, observer: Arc<dyn StoreObserver>) {
        let _ = observer;
    }

    /// Asks the store to publish the queue events of every committed
    /// change to `bus` itself: a store shared by replicas publishes its
    /// own and other processes' changes alike, and the sled store publishes
    /// in commit order. True when it does: the caller then publishes none.
    /// Otherwise (the default answers false) the caller publishes the
    /// events of the changes it makes.
    fn publish_to(&self, bus: &EventBus) -> bool {
        let _ = bus;
        false
    }

    /// Checks every index against the tickets. Reads everything.
    async fn verify(&self) -> Result<ConsistencyReport, StoreError>;

    /// Every stored ticket in id order, read lazily (blocking: iterate it
    /// off the async workers).
    fn scan_tickets(&self) -> TicketIter;

    /// How many tickets are stored.
    fn ticket_count(&self) -> usize;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_tokens_round_trip_and_reject_garbage() {
        let cursor = QueueCursor {
            rank: 2,
            id: TicketId(77),
        };
        assert_eq!(QueueCursor::from_token(&cursor.to_token()), Some(cursor));
        assert_eq!(QueueCursor::from_token("zz"), None);
        assert_eq!(
            QueueCursor::from_token("09000000000000004d"),
            None,
            "rank 9 is no priority"
        );
        assert_eq!(QueueCursor::from_token("+2000000000000004d"), None);
        let customer = CustomerCursor {
            ingested_at: UnixMicros(-5),
            id: TicketId(9),
        };
        assert_eq!(CustomerCursor::from_token(&customer.to_token()), Some(customer));
        assert_eq!(CustomerCursor::from_token(&cursor.to_token()), None);
    }
}
