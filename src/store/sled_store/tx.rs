//! The trees and the transaction plumbing every verb shares: reading and
//! writing a ticket's parts, keeping the queue indexes and counters in step,
//! and setting aside entries that point at unreadable tickets.

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use super::keys;
use super::records::{self, StateRecord, Working};
use crate::clock::UnixMicros;
use crate::store::rollup::{Contribution, SENTIMENT_BUCKETS};
use crate::store::{RollupCounts, StoreError};
use crate::ticket::{Lease, TicketId, TicketState};

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

pub(crate) fn abort(err: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(err)
}

pub(crate) fn storage(err: sled::Error) -> StoreError {
    StoreError::Storage(err.to_string())
}

pub(crate) fn from_tx(err: TransactionError<StoreError>) -> StoreError {
    match err {
        TransactionError::Abort(inner) => inner,
        TransactionError::Storage(inner) => storage(inner),
    }
}

/// Every tree of the store.
#[derive(Debug, Clone)]
pub(crate) struct Trees {
    /// Format version and other store-wide facts.
    pub(crate) meta: sled::Tree,
    /// (id, chunk) -> input chunk, written once.
    pub(crate) inputs: sled::Tree,
    /// id -> [`StateRecord`].
    pub(crate) tickets: sled::Tree,
    /// (id, entry) -> history entry.
    pub(crate) history: sled::Tree,
    /// (queue, rank, id) -> enqueued time: waiting tickets in claim order.
    pub(crate) queues: sled::Tree,
    /// (queue, at-risk time, id) -> deadline: waiting tickets with a deadline.
    pub(crate) queue_deadlines: sled::Tree,
    /// queue -> (waiting, leased) counts.
    pub(crate) counters: sled::Tree,
    /// (expiry, id) -> queue: leases, for expiry.
    pub(crate) leases: sled::Tree,
    /// (deadline, id) -> empty: waiting, unescalated tickets, for escalation.
    pub(crate) deadlines: sled::Tree,
    /// (source, external id) -> id.
    pub(crate) idempotency: sled::Tree,
    /// (customer, ingest time, id) -> journey summary.
    pub(crate) customers: sled::Tree,
    /// (agent, request id) -> id: claims made with a request id.
    pub(crate) claim_requests: sled::Tree,
    /// (tree, key) -> reason: entries set aside as unreadable.
    pub(crate) quarantine: sled::Tree,
    /// (completed time, id) -> empty: for retention.
    pub(crate) completed: sled::Tree,
    /// (span, time, touchpoint, category, side, kind) -> rollup sums.
    pub(crate) rollups: sled::Tree,
    /// (due time, original id) -> follow-up plan: scheduled follow-ups.
    pub(crate) follow_ups: sled::Tree,
}

impl Trees {
    pub(crate) fn open(db: &sled::Db) -> Result<Trees, StoreError> {
        let tree = |name: &str| db.open_tree(name).map_err(storage);
        Ok(Trees {
            meta: tree("meta")?,
            inputs: tree("inputs")?,
            tickets: tree("tickets")?,
            history: tree("history")?,
            queues: tree("queues")?,
            queue_deadlines: tree("queue_deadlines")?,
            counters: tree("counters")?,
            leases: tree("leases")?,
            deadlines: tree("deadlines")?,
            idempotency: tree("idempotency")?,
            customers: tree("customers")?,
            claim_requests: tree("claim_requests")?,
            quarantine: tree("quarantine")?,
            completed: tree("completed")?,
            rollups: tree("rollups")?,
            follow_ups: tree("follow_ups")?,
        })
    }

    /// Empties every tree but `meta`.
    pub(crate) fn clear_all(&self) -> Result<(), StoreError> {
        for tree in self.all() {
            tree.clear().map_err(storage)?;
        }
        Ok(())
    }

    fn all(&self) -> [&sled::Tree; 15] {
        [
            &self.inputs,
            &self.tickets,
            &self.history,
            &self.queues,
            &self.queue_deadlines,
            &self.counters,
            &self.leases,
            &self.deadlines,
            &self.idempotency,
            &self.customers,
            &self.claim_requests,
            &self.quarantine,
            &self.completed,
            &self.rollups,
            &self.follow_ups,
        ]
    }

    /// Runs `body` as one atomic transaction over every tree.
    pub(crate) fn transact<T>(&self, body: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T, StoreError> {
        self.all()
            .as_slice()
            .transaction(|views| {
                let tx = Tx {
                    inputs: &views[0],
                    tickets: &views[1],
                    history: &views[2],
                    queues: &views[3],
                    queue_deadlines: &views[4],
                    counters: &views[5],
                    leases: &views[6],
                    deadlines: &views[7],
                    idempotency: &views[8],
                    customers: &views[9],
                    claim_requests: &views[10],
                    quarantine: &views[11],
                    completed: &views[12],
                    rollups: &views[13],
                    follow_ups: &views[14],
                };
                body(&tx)
            })
            .map_err(from_tx)
    }
}

/// The transactional views of [`Trees`] (all but `meta`).
pub(crate) struct Tx<'a> {
    pub(crate) inputs: &'a TransactionalTree,
    pub(crate) tickets: &'a TransactionalTree,
    pub(crate) history: &'a TransactionalTree,
    pub(crate) queues: &'a TransactionalTree,
    pub(crate) queue_deadlines: &'a TransactionalTree,
    pub(crate) counters: &'a TransactionalTree,
    pub(crate) leases: &'a TransactionalTree,
    pub(crate) deadlines: &'a TransactionalTree,
    pub(crate) idempotency: &'a TransactionalTree,
    pub(crate) customers: &'a TransactionalTree,
    pub(crate) claim_requests: &'a TransactionalTree,
    pub(crate) quarantine: &'a TransactionalTree,
    pub(crate) completed: &'a TransactionalTree,
    pub(crate) rollups: &'a TransactionalTree,
    pub(crate) follow_ups: &'a TransactionalTree,
}

/// Waiting and leased counts of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) waiting: u64,
    pub(crate) leased: u64,
}

impl Counts {
    pub(crate) fn decode(bytes: &[u8]) -> Counts {
        let word = |at: usize| {
            bytes
                .get(at..at + 8)
                .and_then(|slice| <[u8; 8]>::try_from(slice).ok())
                .map_or(0, u64::from_be_bytes)
        };
        Counts {
            waiting: word(0),
            leased: word(8),
        }
    }

    fn encode(self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.waiting.to_be_bytes());
        bytes[8..].copy_from_slice(&self.leased.to_be_bytes());
        bytes
    }
}

impl Tx<'_> {
    /// Reads a ticket's state and input.
    pub(crate) fn read(&self, id: TicketId) -> TxResult<Working> {
        let Some(bytes) = self.tickets.get(keys::ticket(id))? else {
            return Err(abort(StoreError::NotFound(id)));
        };
        let mut record: StateRecord = records::decode(&format!("ticket {id}"), &bytes).map_err(abort)?;
        let mut input_bytes = Vec::new();
        for chunk in 0..record.input_chunks {
            let Some(bytes) = self.inputs.get(keys::input_chunk(id, chunk))? else {
                return Err(abort(records::corrupt(
                    &format!("ticket {id} input"),
                    "chunk missing",
                )));
            };
            input_bytes.extend_from_slice(&bytes);
        }
        let input = records::attach_ingest(id, &input_bytes, &mut record).map_err(abort)?;
        Ok(Working {
            id,
            input,
            record,
            new_entries: Vec::new(),
        })
    }

    /// Writes a ticket's state and its new history entries.
    pub(crate) fn write(&self, ticket: &Working) -> TxResult<()> {
        let record = records::encode_state(&ticket.record).map_err(abort)?;
        self.tickets.insert(&keys::ticket(ticket.id), record)?;
        for (number, entry) in &ticket.new_entries {
            let entry = records::encode(entry).map_err(abort)?;
            self.history
                .insert(&keys::history_entry(ticket.id, *number), entry)?;
        }
        Ok(())
    }

    /// Writes a new ticket's input chunks.
    pub(crate) fn write_input(&self, id: TicketId, chunks: &[Vec<u8>]) -> TxResult<()> {
        for (number, chunk) in chunks.iter().enumerate() {
            let number =
                u16::try_from(number).map_err(|_| abort(records::corrupt("input", "too many chunks")))?;
            self.inputs
                .insert(&keys::input_chunk(id, number), chunk.as_slice())?;
        }
        Ok(())
    }

    /// Adds `waiting` and `leased` to a queue's counts.
    pub(crate) fn count(&self, queue: &str, waiting: i64, leased: i64) -> TxResult<()> {
        let counts = self
            .counters
            .get(queue.as_bytes())?
            .map(|bytes| Counts::decode(&bytes))
            .unwrap_or_default();
        let counts = Counts {
            waiting: counts.waiting.saturating_add_signed(waiting),
            leased: counts.leased.saturating_add_signed(leased),
        };
        self.counters.insert(queue.as_bytes(), &counts.encode())?;
        Ok(())
    }

    /// Puts a ticket (back) in its queue at its position, with its deadline
    /// armed (in the escalation index only while not yet escalated).
    pub(crate) fn enqueue(&self, ticket: &mut Working) -> TxResult<()> {
        ticket.record.state = TicketState::Queued;
        let record = &ticket.record;
        let queue = &record.classification.queue;
        let rank = record.classification.priority.rank();
        self.queues.insert(
            keys::queue_entry_at(queue, rank, ticket.id),
            &keys::time(record.enqueued_at),
        )?;
        if let Some(due) = record.first_response_due {
            self.queue_deadlines.insert(
                keys::queue_deadline(queue, record.enqueued_at, due, ticket.id),
                &keys::time(due),
            )?;
            if !record.escalated {
                self.deadlines.insert(&keys::timed(due, ticket.id), &[])?;
            }
        }
        self.count(queue, 1, 0)
    }

    /// Takes a waiting ticket out of its queue's indexes.
    pub(crate) fn dequeue(&self, ticket: &Working) -> TxResult<()> {
        let record = &ticket.record;
        let queue = &record.classification.queue;
        let rank = record.classification.priority.rank();
        self.queues.remove(keys::queue_entry_at(queue, rank, ticket.id))?;
        if let Some(due) = record.first_response_due {
            self.queue_deadlines
                .remove(keys::queue_deadline(queue, record.enqueued_at, due, ticket.id))?;
            self.deadlines.remove(&keys::timed(due, ticket.id))?;
        }
        self.count(queue, -1, 0)
    }

    /// Leases a ticket to an agent.
    pub(crate) fn lease(&self, ticket: &mut Working, lease: Lease) -> TxResult<()> {
        let queue = ticket.record.classification.queue.clone();
        self.leases
            .insert(&keys::timed(lease.expires_at, ticket.id), queue.as_bytes())?;
        ticket.record.state = TicketState::Claimed(lease);
        self.count(&queue, 0, 1)
    }

    /// Ends a ticket's lease (the caller sets the new state).
    pub(crate) fn end_lease(&self, ticket: &mut Working, lease: &Lease) -> TxResult<()> {
        self.leases.remove(&keys::timed(lease.expires_at, ticket.id))?;
        if let Some(request) = ticket.record.claim_request.take() {
            // Only if it still names this ticket: a later claim with the
            // same request id may have taken the key over.
            let names_this = self
                .claim_requests
                .get(request.as_slice())?
                .is_some_and(|id| id.as_ref() == keys::ticket(ticket.id));
            if names_this {
                self.claim_requests.remove(request)?;
            }
        }
        self.count(&ticket.record.classification.queue, 0, -1)
    }

    /// Marks a ticket completed at `now`.
    pub(crate) fn mark_completed(&self, ticket: &mut Working, now: UnixMicros) -> TxResult<()> {
        ticket.record.state = TicketState::Completed;
        ticket.record.completed_at = Some(now);
        self.completed.insert(&keys::timed(now, ticket.id), &[])?;
        Ok(())
    }

    /// Adds a ticket's contribution to its hour's and its day's rollup
    /// cells (`sign` 1), or takes it away (`sign` -1); an emptied cell is
    /// removed.
    pub(crate) fn add_rollup(&self, contribution: &Contribution, sign: i64) -> TxResult<()> {
        for (span, at) in contribution.cells() {
            let cell = keys::rollup_cell(span, at, &contribution.key);
            let mut counts = self
                .rollups
                .get(&cell)?
                .map(|bytes| decode_counts(&bytes))
                .unwrap_or_default();
            counts.add(&contribution.counts, sign);
            if counts.is_empty() {
                self.rollups.remove(cell)?;
            } else {
                self.rollups.insert(cell, encode_counts(&counts).as_slice())?;
            }
        }
        Ok(())
    }

    /// Moves a ticket between rollup cells when a change (a correction)
    /// moved its contribution.
    pub(crate) fn move_rollup(
        &self,
        before: Option<&Contribution>,
        after: Option<&Contribution>,
    ) -> TxResult<()> {
        if before == after {
            return Ok(());
        }
        if let Some(before) = before {
            self.add_rollup(before, -1)?;
        }
        if let Some(after) = after {
            self.add_rollup(after, 1)?;
        }
        Ok(())
    }

    /// Moves an index entry that points at an unreadable ticket out of the
    /// way, so it blocks nothing; `verify` reports it.
    pub(crate) fn quarantine(&self, tree: &str, key: &[u8], reason: &str) -> TxResult<()> {
        let mut quarantine_key = tree.as_bytes().to_vec();
        quarantine_key.push(0);
        quarantine_key.extend_from_slice(key);
        self.quarantine.insert(quarantine_key, reason.as_bytes())?;
        Ok(())
    }
}

/// Words of an encoded rollup cell: tickets, repeat contacts, sentiment
/// sum, then the buckets.
const COUNT_WORDS: usize = 3 + SENTIMENT_BUCKETS;

/// Encodes rollup sums as big-endian words (fixed size, no allocation
/// beyond the array).
pub(crate) fn encode_counts(counts: &RollupCounts) -> [u8; COUNT_WORDS * 8] {
    let mut bytes = [0u8; COUNT_WORDS * 8];
    let words = [
        counts.tickets,
        counts.repeat_contacts,
        counts.sentiment_milli_sum as u64,
    ]
    .into_iter()
    .chain(counts.sentiment_buckets);
    for (slot, word) in bytes.chunks_exact_mut(8).zip(words) {
        slot.copy_from_slice(&word.to_be_bytes());
    }
    bytes
}

/// Decodes [`encode_counts`]; missing words read as zero.
pub(crate) fn decode_counts(bytes: &[u8]) -> RollupCounts {
    let word = |at: usize| {
        bytes
            .get(at * 8..at * 8 + 8)
            .and_then(|slice| <[u8; 8]>::try_from(slice).ok())
            .map_or(0, u64::from_be_bytes)
    };
    let mut counts = RollupCounts {
        tickets: word(0),
        repeat_contacts: word(1),
        sentiment_milli_sum: word(2) as i64,
        ..RollupCounts::default()
    };
    for (at, bucket) in counts.sentiment_buckets.iter_mut().enumerate() {
        *bucket = word(3 + at);
    }
    counts
}

/// True for errors that mean "this ticket cannot be read", as opposed to
/// the storage failing.
pub(crate) fn is_unreadable(err: &StoreError) -> bool {
    matches!(err, StoreError::Corrupt { .. } | StoreError::NotFound(_))
}
