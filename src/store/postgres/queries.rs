//! The reads: one ticket, a queue's page in claim order, queue statistics
//! (from the counter shards and the at-risk index, never a scan of the
//! queue), a customer's history and tickets, the consistency check, and
//! the lazy scan of every ticket.

use std::sync::Arc;

use deadpool_postgres::Transaction;

use super::rows::{self, sql_id, STATE_COLUMNS};
use super::tx::TxResult;
use super::Inner;
use crate::clock::UnixMicros;
use crate::rules::{CustomerHistory, PriorTicket};
use crate::store::{ConsistencyReport, CustomerCursor, QueueCursor, QueueStats, StoreError, TicketIter};
use crate::ticket::{Side, Ticket, TicketId};

/// Tickets read per page by [`scan`].
const SCAN_PAGE: i64 = 256;

/// The tickets whose state rows `sql` selects with `params`, in its order.
async fn tickets_where(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> TxResult<Vec<Ticket>> {
    let statement = tx.prepare_cached(sql).await?;
    let states = tx.query(&statement, params).await?;
    let tickets = rows::assemble(tx, states).await?;
    Ok(tickets.into_iter().map(|working| working.ticket).collect())
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl Inner {
    /// One ticket by id.
    pub(super) async fn get(&self, id: TicketId) -> Result<Ticket, StoreError> {
        self.read(&id, |tx, id| {
            Box::pin(async move {
                let working = rows::load(tx, *id, false).await?;
                Ok(working.ok_or(StoreError::NotFound(*id))?.ticket)
            })
        })
        .await
    }

    /// Waiting tickets of `queue` in claim order after `cursor`.
    pub(super) async fn list_queue(
        &self,
        queue: &str,
        limit: usize,
        cursor: Option<QueueCursor>,
    ) -> Result<(Vec<Ticket>, Option<QueueCursor>), StoreError> {
        let (rank, id) = cursor.map_or((-1, 0), |cursor| (i16::from(cursor.rank()), sql_id(cursor.id())));
        let tickets = self
            .transact(
                &(queue, rank, id, limit_of(limit)),
                |tx, (queue, rank, id, limit)| {
                    Box::pin(async move {
                        let sql = format!(
                            "SELECT {STATE_COLUMNS} FROM triage_state WHERE queue = $1 AND state = 0 \
                         AND (rank, id) > ($2, $3) ORDER BY rank, id LIMIT $4"
                        );
                        tickets_where(tx, &sql, &[queue, rank, id, limit]).await
                    })
                },
            )
            .await?;
        let next = (tickets.len() == limit)
            .then(|| tickets.last().map(QueueCursor::after))
            .flatten();
        Ok((tickets, next))
    }

    /// Figures for each queue: counts from the counter shards, the oldest
    /// head of each priority, and the waiting tickets already at risk.
    pub(super) async fn queues_stats(
        &self,
        queues: &[String],
        now: UnixMicros,
    ) -> Result<Vec<QueueStats>, StoreError> {
        self.read(&(queues, now), |tx, (queues, now)| {
            Box::pin(async move {
                let mut all = Vec::with_capacity(queues.len());
                for queue in queues.iter() {
                    all.push(queue_stats(tx, queue, *now).await?);
                }
                Ok(all)
            })
        })
        .await
    }

    /// The customer's tickets for history rules, newest first.
    pub(super) async fn customer_history(
        &self,
        customer_id: &str,
        limit: usize,
    ) -> Result<CustomerHistory, StoreError> {
        if customer_id.is_empty() {
            return Ok(CustomerHistory::default());
        }
        self.read(&(customer_id, limit_of(limit)), |tx, (customer, limit)| {
            Box::pin(async move {
                let statement = tx
                    .prepare_cached(
                        "SELECT ingested_at, side, category, state FROM triage_state WHERE customer_id = $1 \
                         ORDER BY ingested_at DESC, id DESC LIMIT $2",
                    )
                    .await?;
                let tickets = tx
                    .query(&statement, &[customer, limit])
                    .await?
                    .iter()
                    .map(|row| PriorTicket {
                        ingested_at: UnixMicros(row.get(0)),
                        side: Side::parse(row.get(1)).unwrap_or_default(),
                        category: row.get(2),
                        open: row.get::<_, i16>(3) != 2,
                    })
                    .collect();
                Ok(CustomerHistory { tickets })
            })
        })
        .await
    }

    /// The customer's tickets, newest first, older than `cursor`.
    pub(super) async fn customer_tickets(
        &self,
        customer_id: &str,
        limit: usize,
        cursor: Option<CustomerCursor>,
    ) -> Result<(Vec<Ticket>, Option<CustomerCursor>), StoreError> {
        if customer_id.is_empty() {
            return Ok((Vec::new(), None));
        }
        let (at, id) = cursor.map_or((i64::MAX, i64::MAX), |cursor| {
            (cursor.ingested_at().0, sql_id(cursor.id()))
        });
        let tickets = self
            .transact(
                &(customer_id, at, id, limit_of(limit)),
                |tx, (customer, at, id, limit)| {
                    Box::pin(async move {
                        let sql = format!(
                            "SELECT {STATE_COLUMNS} FROM triage_state WHERE customer_id = $1 \
                         AND (ingested_at, id) < ($2, $3) ORDER BY ingested_at DESC, id DESC LIMIT $4"
                        );
                        tickets_where(tx, &sql, &[customer, at, id, limit]).await
                    })
                },
            )
            .await?;
        let next = (tickets.len() == limit)
            .then(|| tickets.last().map(CustomerCursor::after))
            .flatten();
        Ok((tickets, next))
    }

    /// Checks the queue counters and the journey rollups against the
    /// tickets, and that every ticket reads.
    pub(super) async fn verify(&self) -> Result<ConsistencyReport, StoreError> {
        self.read(&(), |tx, ()| Box::pin(verify_in(tx))).await
    }
}

async fn queue_stats(tx: &Transaction<'_>, queue: &str, now: UnixMicros) -> TxResult<QueueStats> {
    let counts = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(waiting), 0)::BIGINT, COALESCE(SUM(leased), 0)::BIGINT \
             FROM triage_queue_counts WHERE queue = $1",
        )
        .await?;
    let counts = tx.query_one(&counts, &[&queue]).await?;
    let heads = tx
        .prepare_cached(
            "SELECT MIN(enqueued_at) FROM (SELECT (SELECT enqueued_at FROM triage_state \
             WHERE queue = $1 AND state = 0 AND rank = r ORDER BY id LIMIT 1) AS enqueued_at \
             FROM (VALUES (0), (1), (2), (3)) AS ranks (r)) AS heads",
        )
        .await?;
    let oldest: Option<i64> = tx.query_one(&heads, &[&queue]).await?.get(0);
    let risk = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(CASE WHEN due_at <= $2 THEN 1 ELSE 0 END), 0)::BIGINT, \
             COALESCE(SUM(CASE WHEN due_at > $2 THEN 1 ELSE 0 END), 0)::BIGINT \
             FROM triage_state WHERE queue = $1 AND state = 0 AND risk_at IS NOT NULL AND risk_at <= $2",
        )
        .await?;
    let risk = tx.query_one(&risk, &[&queue, &now.0]).await?;
    let count =
        |row: &tokio_postgres::Row, column: usize| u64::try_from(row.get::<_, i64>(column)).unwrap_or(0);
    Ok(QueueStats {
        depth: count(&counts, 0),
        leased: count(&counts, 1),
        oldest_enqueued_at: oldest.map(UnixMicros),
        breached: count(&risk, 0),
        at_risk: count(&risk, 1),
    })
}

async fn verify_in(tx: &Transaction<'_>) -> TxResult<ConsistencyReport> {
    let mut report = ConsistencyReport::default();
    let states = tx
        .query(
            "SELECT state, COUNT(*)::BIGINT FROM triage_state GROUP BY state ORDER BY state",
            &[],
        )
        .await?;
    for row in &states {
        let count = usize::try_from(row.get::<_, i64>(1)).unwrap_or(0);
        match row.get::<_, i16>(0) {
            0 => report.queued = count,
            1 => report.claimed = count,
            2 => report.completed = count,
            other => report
                .problems
                .push(format!("{count} tickets in unknown state {other}")),
        }
    }
    let tickets: i64 = tx
        .query_one("SELECT COUNT(*)::BIGINT FROM triage_tickets", &[])
        .await?
        .get(0);
    report.tickets = usize::try_from(tickets).unwrap_or(0);
    let counted = report.queued + report.claimed + report.completed;
    if counted != report.tickets {
        report
            .problems
            .push(format!("{} tickets but {counted} state rows", report.tickets));
    }
    let mismatches = tx
        .query(
            "SELECT COALESCE(c.queue, s.queue), COALESCE(c.waiting, 0)::BIGINT, COALESCE(c.leased, 0)::BIGINT, \
             COALESCE(s.waiting, 0)::BIGINT, COALESCE(s.leased, 0)::BIGINT \
             FROM (SELECT queue, SUM(waiting) AS waiting, SUM(leased) AS leased FROM triage_queue_counts \
                   GROUP BY queue) AS c \
             FULL OUTER JOIN (SELECT queue, SUM(CASE WHEN state = 0 THEN 1 ELSE 0 END) AS waiting, \
                   SUM(CASE WHEN state = 1 THEN 1 ELSE 0 END) AS leased FROM triage_state GROUP BY queue) AS s \
             ON c.queue = s.queue",
            &[],
        )
        .await?;
    for row in mismatches {
        let (queue, stored, actual): (String, (i64, i64), (i64, i64)) =
            (row.get(0), (row.get(1), row.get(2)), (row.get(3), row.get(4)));
        if stored != actual {
            report.problems.push(format!(
                "queue {queue:?} counts {} waiting / {} leased, the tickets say {} / {}",
                stored.0, stored.1, actual.0, actual.1
            ));
        }
    }
    let unleased: i64 = tx
        .query_one(
            "SELECT COUNT(*)::BIGINT FROM triage_state WHERE state = 1 AND (lease_token IS NULL \
             OR lease_expires_at IS NULL)",
            &[],
        )
        .await?
        .get(0);
    if unleased > 0 {
        report
            .problems
            .push(format!("{unleased} claimed tickets without a lease"));
    }
    report.problems.extend(super::journey::check_rollups(tx).await?);
    Ok(report)
}

/// Every ticket in id order, read a page at a time (blocking: iterate it
/// off the async workers, as the trait says).
pub(super) fn scan(inner: Arc<Inner>) -> TicketIter {
    let runtime = tokio::runtime::Handle::try_current();
    let mut after = -1i64;
    let mut page = Vec::<Ticket>::new().into_iter();
    let mut done = false;
    Box::new(std::iter::from_fn(move || loop {
        if let Some(ticket) = page.next() {
            return Some(Ok(ticket));
        }
        if done {
            return None;
        }
        let runtime = match &runtime {
            Ok(runtime) => runtime,
            Err(err) => {
                done = true;
                return Some(Err(StoreError::Storage(format!(
                    "no runtime to scan with: {err}"
                ))));
            }
        };
        let read = runtime.block_on(inner.read(&after, |tx, after| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {STATE_COLUMNS} FROM triage_state WHERE id > $1 ORDER BY id LIMIT {SCAN_PAGE}"
                );
                tickets_where(tx, &sql, &[after]).await
            })
        }));
        match read {
            Ok(tickets) => {
                done = (tickets.len() as i64) < SCAN_PAGE;
                after = tickets.last().map_or(after, |ticket| sql_id(ticket.id));
                page = tickets.into_iter();
            }
            Err(err) => {
                done = true;
                return Some(Err(err));
            }
        }
    }))
}
