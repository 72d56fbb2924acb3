//! A ticket's rows: reading them into a [`Working`] ticket (state row
//! locked), and writing a changed one back: its state row, its new history
//! entries, and the queue counters and journey rollups its change moved,
//! in the caller's transaction. The index-like columns (queue, rank, state, deadlines,
//! lease expiry) are derived from the ticket on every write, so no sweep
//! or listing can disagree with the ticket.

use std::collections::{BTreeMap, HashMap};

use deadpool_postgres::Transaction;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::tx::TxResult;
use crate::clock::UnixMicros;
use crate::store::codec::{self, FinishedLease};
use crate::store::rollup::{Contribution, RollupKey, Span, SENTIMENT_BUCKETS};
use crate::store::StoreError;
use crate::ticket::{
    Classification, Correction, FollowUp, HistoryEntry, Lease, Priority, Ticket, TicketId, TicketInput,
    TicketState,
};

/// Shards of each queue's counters.
const COUNTER_SHARDS: i16 = 8;

/// The state-row columns [`Working::from_rows`] reads, in order.
pub(super) const STATE_COLUMNS: &str =
    "id, queue, rank, state, enqueued_at, ingested_at, due_at, escalated, \
     lease_agent, lease_token, lease_expires_at, completed_at, record";

/// What the `record` column holds: the state the queries never select on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Record {
    /// Without the ingest-time parts (they live with the input).
    classification: Classification,
    claim_count: u32,
    resolution: String,
    #[serde(default)]
    correction: Option<Correction>,
    history_len: u32,
    #[serde(default)]
    extension_entry: Option<u32>,
    #[serde(default)]
    pub(super) finished: Vec<FinishedLease>,
    /// (agent, request id) of the current lease's claim, if it had an id.
    #[serde(default)]
    pub(super) claim_request: Option<(String, String)>,
    #[serde(default)]
    follow_up_of: Option<TicketId>,
    #[serde(default)]
    follow_up: Option<FollowUp>,
}

/// A ticket being changed in a transaction.
#[derive(Debug, Clone)]
pub(super) struct Working {
    pub(super) ticket: Ticket,
    pub(super) record: Record,
    pub(super) completed_at: Option<UnixMicros>,
    /// Entries to write: (entry number, entry).
    new_entries: Vec<(u32, HistoryEntry)>,
    /// Where the ticket counted before the change: (queue, state).
    counted_as: Option<(String, i16)>,
    /// What it added to the journey rollups before the change.
    contributed: Option<Contribution>,
}

pub(super) fn state_code(state: &TicketState) -> i16 {
    match state {
        TicketState::Queued => 0,
        TicketState::Claimed(_) => 1,
        TicketState::Completed => 2,
    }
}

pub(super) fn sql_id(id: TicketId) -> i64 {
    i64::try_from(id.0).unwrap_or(i64::MAX)
}

pub(super) fn ticket_id(value: i64) -> TicketId {
    TicketId(u64::try_from(value).unwrap_or(0))
}

fn corrupt(id: TicketId, reason: impl ToString) -> StoreError {
    codec::corrupt(&format!("ticket {id}"), reason)
}

impl Working {
    /// A new ticket at ingest (nothing counted yet).
    pub(super) fn new(ticket: Ticket) -> Working {
        let record = Record {
            history_len: u32::try_from(ticket.history.len()).unwrap_or(u32::MAX),
            ..Record::default()
        };
        let new_entries = ticket
            .history
            .iter()
            .enumerate()
            .map(|(number, entry)| (u32::try_from(number).unwrap_or(u32::MAX), entry.clone()))
            .collect();
        Working {
            ticket,
            record,
            completed_at: None,
            new_entries,
            counted_as: None,
            contributed: None,
        }
    }

    /// Appends a history entry (or, for a lease extension following
    /// another, updates that entry in place).
    pub(super) fn record(&mut self, at: UnixMicros, actor: &str, action: &str, detail: String) {
        let entry = HistoryEntry {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
        };
        let number = codec::next_entry(
            &mut self.record.history_len,
            &mut self.record.extension_entry,
            action,
        );
        self.new_entries.retain(|(existing, _)| *existing != number);
        self.new_entries.push((number, entry.clone()));
        let history = &mut self.ticket.history;
        match history.get_mut(number as usize) {
            Some(slot) => *slot = entry,
            None => history.push(entry),
        }
    }

    /// What the ticket adds to the journey rollups as last read or written.
    pub(super) fn contribution(&self) -> Option<&Contribution> {
        self.contributed.as_ref()
    }

    /// The ticket's id.
    pub(super) fn id(&self) -> TicketId {
        self.ticket.id
    }

    /// Builds a ticket from its state row, input row and history rows.
    fn from_rows(state: &Row, input: &[u8], history: Vec<HistoryEntry>) -> Result<Working, StoreError> {
        let id = ticket_id(state.get("id"));
        let mut record: Record = codec::decode(&format!("ticket {id} state"), state.get("record"))?;
        let mut classification = record.classification.clone();
        let input = codec::decode_ingest(id, input, &mut classification)?;
        classification.queue = state.get("queue");
        let rank: i16 = state.get("rank");
        classification.priority = u8::try_from(rank)
            .ok()
            .and_then(Priority::from_rank)
            .ok_or_else(|| corrupt(id, format!("priority rank {rank}")))?;
        let code: i16 = state.get("state");
        let ticket_state = match code {
            0 => TicketState::Queued,
            1 => TicketState::Claimed(Lease {
                agent_id: state.get::<_, Option<String>>("lease_agent").unwrap_or_default(),
                token: state.get::<_, Option<String>>("lease_token").unwrap_or_default(),
                expires_at: UnixMicros(state.get::<_, Option<i64>>("lease_expires_at").unwrap_or(0)),
            }),
            2 => TicketState::Completed,
            other => return Err(corrupt(id, format!("state {other}"))),
        };
        record.classification = Classification::default();
        let ticket = Ticket {
            id,
            input,
            classification,
            state: ticket_state,
            ingested_at: UnixMicros(state.get("ingested_at")),
            enqueued_at: UnixMicros(state.get("enqueued_at")),
            claim_count: record.claim_count,
            first_response_due: state.get::<_, Option<i64>>("due_at").map(UnixMicros),
            escalated: state.get("escalated"),
            history,
            resolution: record.resolution.clone(),
            correction: record.correction.clone(),
            follow_up_of: record.follow_up_of,
            follow_up: record.follow_up.clone(),
        };
        Ok(Working {
            completed_at: state.get::<_, Option<i64>>("completed_at").map(UnixMicros),
            counted_as: Some((ticket.classification.queue.clone(), code)),
            contributed: Contribution::of(&ticket),
            ticket,
            record,
            new_entries: Vec::new(),
        })
    }

    /// Inserts a new ticket's state row and history; its count goes to `counts`.
    pub(super) async fn insert(&mut self, tx: &Transaction<'_>, counts: &mut Counts) -> TxResult<()> {
        let statement = tx
            .prepare_cached(
                "INSERT INTO triage_state (id, queue, rank, state, enqueued_at, due_at, risk_at, escalated, \
                 lease_agent, lease_token, lease_expires_at, completed_at, side, category, record, \
                 customer_id, ingested_at, follow_up_of) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .await?;
        let columns = self.columns()?;
        let follow_up_of = self.ticket.follow_up_of.map(sql_id);
        let mut params = columns.params();
        params.push(&self.ticket.input.customer.id);
        params.push(&self.ticket.ingested_at.0);
        params.push(&follow_up_of);
        tx.execute(&statement, &params).await?;
        self.finish_write(tx, counts).await
    }

    /// Writes a changed ticket back: state row and new history entries;
    /// the change of counts goes to `counts`.
    pub(super) async fn write(&mut self, tx: &Transaction<'_>, counts: &mut Counts) -> TxResult<()> {
        let statement = tx
            .prepare_cached(
                "UPDATE triage_state SET queue = $2, rank = $3, state = $4, enqueued_at = $5, due_at = $6, \
                 risk_at = $7, escalated = $8, lease_agent = $9, lease_token = $10, lease_expires_at = $11, \
                 completed_at = $12, side = $13, category = $14, record = $15 WHERE id = $1",
            )
            .await?;
        let columns = self.columns()?;
        tx.execute(&statement, &columns.params()).await?;
        self.finish_write(tx, counts).await
    }

    async fn finish_write(&mut self, tx: &Transaction<'_>, counts: &mut Counts) -> TxResult<()> {
        let statement = tx
            .prepare_cached(
                "INSERT INTO triage_history (ticket_id, entry, at, actor, action, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ticket_id, entry) DO UPDATE \
                 SET at = excluded.at, actor = excluded.actor, action = excluded.action, detail = excluded.detail",
            )
            .await?;
        let id = sql_id(self.id());
        for (number, entry) in std::mem::take(&mut self.new_entries) {
            let number = i32::try_from(number).unwrap_or(i32::MAX);
            tx.execute(
                &statement,
                &[
                    &id,
                    &number,
                    &entry.at.0,
                    &entry.actor,
                    &entry.action,
                    &entry.detail,
                ],
            )
            .await?;
        }
        let now_counted = (
            self.ticket.classification.queue.clone(),
            state_code(&self.ticket.state),
        );
        if self.counted_as.as_ref() != Some(&now_counted) {
            if let Some((queue, state)) = self.counted_as.take() {
                counts.add(&queue, state, -1);
            }
            counts.add(&now_counted.0, now_counted.1, 1);
        }
        self.counted_as = Some(now_counted);
        let contribution = Contribution::of(&self.ticket);
        if contribution != self.contributed {
            if let Some(before) = self.contributed.take() {
                counts.contribute(&before, -1);
            }
            if let Some(after) = &contribution {
                counts.contribute(after, 1);
            }
            self.contributed = contribution;
        }
        Ok(())
    }

    fn columns(&self) -> TxResult<Columns> {
        let ticket = &self.ticket;
        let mut record = self.record.clone();
        record.classification = ticket.classification.clone();
        codec::make_lean(&mut record.classification);
        record.claim_count = ticket.claim_count;
        record.resolution.clone_from(&ticket.resolution);
        record.correction.clone_from(&ticket.correction);
        record.follow_up_of = ticket.follow_up_of;
        record.follow_up.clone_from(&ticket.follow_up);
        let lease = ticket.lease();
        let queued = ticket.state == TicketState::Queued;
        Ok(Columns {
            id: sql_id(ticket.id),
            queue: ticket.classification.queue.clone(),
            rank: i16::from(ticket.classification.priority.rank()),
            state: state_code(&ticket.state),
            enqueued_at: ticket.enqueued_at.0,
            due_at: ticket.first_response_due.map(|due| due.0),
            risk_at: ticket
                .first_response_due
                .filter(|_| queued)
                .map(|due| codec::at_risk_from(ticket.enqueued_at, due).0),
            escalated: ticket.escalated,
            lease_agent: lease.map(|lease| lease.agent_id.clone()),
            lease_token: lease.map(|lease| lease.token.clone()),
            lease_expires_at: lease.map(|lease| lease.expires_at.0),
            completed_at: self.completed_at.map(|at| at.0),
            side: ticket.final_side().name().to_string(),
            category: ticket.final_category().to_string(),
            record: codec::encode(&record)?,
        })
    }
}

/// The state row's values.
struct Columns {
    id: i64,
    queue: String,
    rank: i16,
    state: i16,
    enqueued_at: i64,
    due_at: Option<i64>,
    risk_at: Option<i64>,
    escalated: bool,
    lease_agent: Option<String>,
    lease_token: Option<String>,
    lease_expires_at: Option<i64>,
    completed_at: Option<i64>,
    side: String,
    category: String,
    record: Vec<u8>,
}

impl Columns {
    /// The values as statement parameters $1 to $15, in declaration order.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.id,
            &self.queue,
            &self.rank,
            &self.state,
            &self.enqueued_at,
            &self.due_at,
            &self.risk_at,
            &self.escalated,
            &self.lease_agent,
            &self.lease_token,
            &self.lease_expires_at,
            &self.completed_at,
            &self.side,
            &self.category,
            &self.record,
        ]
    }
}

/// A journey rollup cell: span, start, key.
pub(super) type Cell = (Span, i64, RollupKey);

/// The change of one rollup cell's sums: tickets, repeat contacts,
/// sentiment (thousandths), then the sentiment buckets.
pub(super) type CellChange = [i64; 3 + SENTIMENT_BUCKETS];

/// What adding (`sign` 1) or taking away (`sign` -1) `contribution` does
/// to each of its cells.
fn cell_change(contribution: &Contribution, sign: i64) -> CellChange {
    let sums = &contribution.counts;
    let count = |value: u64| i64::try_from(value).unwrap_or(i64::MAX) * sign;
    let mut change: CellChange = [0; 3 + SENTIMENT_BUCKETS];
    change[0] = count(sums.tickets);
    change[1] = count(sums.repeat_contacts);
    change[2] = sums.sentiment_milli_sum * sign;
    for (slot, bucket) in change[3..].iter_mut().zip(sums.sentiment_buckets) {
        *slot = count(bucket);
    }
    change
}

/// The changes of queue counts and journey rollups one transaction makes,
/// applied at its end to one shard per row, queues and then cells in key
/// order: two transactions never wait for each other's counter rows in a
/// cycle, and concurrent writers to one queue or cell spread over the
/// shards.
#[derive(Debug)]
pub(super) struct Counts {
    shard: i16,
    /// Queue -> (waiting, leased) change.
    changes: BTreeMap<String, (i64, i64)>,
    /// Rollup cell -> change of its sums.
    cells: BTreeMap<Cell, CellChange>,
}

impl Counts {
    pub(super) fn new() -> Counts {
        Counts {
            shard: rand::rng().random_range(0..COUNTER_SHARDS),
            changes: BTreeMap::new(),
            cells: BTreeMap::new(),
        }
    }

    /// Adds a ticket's contribution to its rollup cells (`sign` 1) or
    /// takes it away (`sign` -1).
    pub(super) fn contribute(&mut self, contribution: &Contribution, sign: i64) {
        let change = cell_change(contribution, sign);
        for (span, at) in contribution.cells() {
            let cell = (span, at.0, contribution.key.clone());
            let total = self.cells.entry(cell).or_default();
            for (total, by) in total.iter_mut().zip(change) {
                *total += by;
            }
        }
    }

    /// The rollup changes, by cell, dropping cells that did not change.
    pub(super) fn into_cells(self) -> BTreeMap<Cell, CellChange> {
        let mut cells = self.cells;
        cells.retain(|_, change| change.iter().any(|by| *by != 0));
        cells
    }

    /// Adds `delta` to the waiting (state 0) or leased (state 1) count of
    /// `queue`; completed tickets are not counted.
    fn add(&mut self, queue: &str, state: i16, delta: i64) {
        let change = self.changes.entry(queue.to_string()).or_default();
        match state {
            0 => change.0 += delta,
            1 => change.1 += delta,
            _ => {}
        }
    }

    /// Writes the changes.
    pub(super) async fn apply(self, tx: &Transaction<'_>) -> TxResult<()> {
        let statement = tx
            .prepare_cached(
                "INSERT INTO triage_queue_counts (queue, shard, waiting, leased) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (queue, shard) DO UPDATE SET waiting = triage_queue_counts.waiting + excluded.waiting, \
                 leased = triage_queue_counts.leased + excluded.leased",
            )
            .await?;
        for (queue, (waiting, leased)) in &self.changes {
            if (*waiting, *leased) != (0, 0) {
                tx.execute(&statement, &[queue, &self.shard, waiting, leased])
                    .await?;
            }
        }
        if self.cells.values().all(|change| change.iter().all(|by| *by == 0)) {
            return Ok(());
        }
        let statement = tx
            .prepare_cached(
                "INSERT INTO triage_rollups (span, start_at, touchpoint, category, side, kind, shard, tickets, \
                 repeat_contacts, sentiment_milli, very_negative, negative, neutral, positive, very_positive) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                 ON CONFLICT (span, start_at, touchpoint, category, side, kind, shard) DO UPDATE SET \
                 tickets = triage_rollups.tickets + excluded.tickets, \
                 repeat_contacts = triage_rollups.repeat_contacts + excluded.repeat_contacts, \
                 sentiment_milli = triage_rollups.sentiment_milli + excluded.sentiment_milli, \
                 very_negative = triage_rollups.very_negative + excluded.very_negative, \
                 negative = triage_rollups.negative + excluded.negative, \
                 neutral = triage_rollups.neutral + excluded.neutral, \
                 positive = triage_rollups.positive + excluded.positive, \
                 very_positive = triage_rollups.very_positive + excluded.very_positive",
            )
            .await?;
        for ((span, start, key), change) in &self.cells {
            if change.iter().all(|by| *by == 0) {
                continue;
            }
            let span = *span as i16;
            let side = key.side.name();
            let kind = key.kind as i16;
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![
                &span,
                start,
                &key.touchpoint,
                &key.category,
                &side,
                &kind,
                &self.shard,
            ];
            params.extend(change.iter().map(|by| by as &(dyn ToSql + Sync)));
            tx.execute(&statement, &params).await?;
        }
        Ok(())
    }
}

/// Reads one ticket, locking its state row for the transaction when
/// `lock`; `None` when there is no such ticket.
pub(super) async fn load(tx: &Transaction<'_>, id: TicketId, lock: bool) -> TxResult<Option<Working>> {
    let sql = format!(
        "SELECT {STATE_COLUMNS} FROM triage_state WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let statement = tx.prepare_cached(&sql).await?;
    let Some(state) = tx.query_opt(&statement, &[&sql_id(id)]).await? else {
        return Ok(None);
    };
    let mut tickets = assemble(tx, vec![state]).await?;
    Ok(tickets.pop())
}

/// Reads one ticket locked for change; `NotFound` when there is none.
pub(super) async fn load_for_update(tx: &Transaction<'_>, id: TicketId) -> TxResult<Working> {
    load(tx, id, true)
        .await?
        .ok_or_else(|| StoreError::NotFound(id).into())
}

/// The tickets of `states` (state rows), in the same order, with their
/// inputs and histories (two more queries, whatever the count).
pub(super) async fn assemble(tx: &Transaction<'_>, states: Vec<Row>) -> TxResult<Vec<Working>> {
    let ids: Vec<i64> = states.iter().map(|row| row.get("id")).collect();
    let inputs = tx
        .prepare_cached("SELECT id, input FROM triage_tickets WHERE id = ANY($1)")
        .await?;
    let mut input_of: HashMap<i64, Vec<u8>> = tx
        .query(&inputs, &[&ids])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let histories = tx
        .prepare_cached(
            "SELECT ticket_id, at, actor, action, detail FROM triage_history WHERE ticket_id = ANY($1) \
             ORDER BY ticket_id, entry",
        )
        .await?;
    let mut history_of: HashMap<i64, Vec<HistoryEntry>> = HashMap::new();
    for row in tx.query(&histories, &[&ids]).await? {
        history_of.entry(row.get(0)).or_default().push(HistoryEntry {
            at: UnixMicros(row.get(1)),
            actor: row.get(2),
            action: row.get(3),
            detail: row.get(4),
        });
    }
    let mut tickets = Vec::with_capacity(states.len());
    for state in &states {
        let id: i64 = state.get("id");
        let input = input_of
            .remove(&id)
            .ok_or_else(|| corrupt(ticket_id(id), "state without input"))?;
        let history = history_of.remove(&id).unwrap_or_default();
        tickets.push(Working::from_rows(state, &input, history)?);
    }
    Ok(tickets)
}

/// A new ticket's input row. `None` when (source, external_id) is taken.
pub(super) async fn insert_input(
    tx: &Transaction<'_>,
    input: &TicketInput,
    classification: &Classification,
) -> TxResult<Option<TicketId>> {
    let bytes = codec::encode_ingest(input, classification)?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO triage_tickets (id, source, external_id, input) \
             VALUES (nextval('triage_ticket_ids'), $1, $2, $3) \
             ON CONFLICT (source, external_id) DO NOTHING RETURNING id",
        )
        .await?;
    let row = tx
        .query_opt(&statement, &[&input.source, &input.external_id, &bytes])
        .await?;
    Ok(row.map(|row| ticket_id(row.get(0))))
}

/// The id stored under (source, external_id), if any.
pub(super) async fn find_by_external_id(
    tx: &Transaction<'_>,
    source: &str,
    external_id: &str,
) -> TxResult<Option<TicketId>> {
    let statement = tx
        .prepare_cached("SELECT id FROM triage_tickets WHERE source = $1 AND external_id = $2")
        .await?;
    let row = tx.query_opt(&statement, &[&source, &external_id]).await?;
    Ok(row.map(|row| ticket_id(row.get(0))))
}
