//! The CX journey on the shared store: the friction map's rollups and
//! service-recovery follow-ups.
//!
//! Rollups are kept by [`Counts`] in the transaction of every write that
//! moves a ticket's contribution (ingest, correction, purge), so they count
//! exactly the stored tickets on every replica; this module reads them,
//! rebuilds them for a database written before they existed, and checks
//! them. A follow-up's plan is a row written by the completion's own
//! transaction; creating it takes the row with `FOR UPDATE SKIP LOCKED` and
//! deletes it in the same transaction that stores the follow-up and links
//! both tickets, so with any number of replicas sweeping, each plan is
//! acted on once, and the follow-up's idempotency key (`triage`,
//! `recovery:<id>`) guards against a second ticket whatever happens.

use deadpool_postgres::Transaction;

use super::events;
use super::rows::{self, sql_id, ticket_id, CellChange, Counts, Working, STATE_COLUMNS};
use super::tx::TxResult;
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::QueueEventKind;
use crate::store::codec;
use crate::store::follow_up::SKIPPED_CONTACTED;
use crate::store::rollup::{hour_start, range_pieces, RollupCounts, RollupKey, Span};
use crate::store::verbs::event;
use crate::store::{FollowUpPlan, RollupRow, StoreError, Transition};
use crate::ticket::{CustomerKind, FollowUpState, Side, SYSTEM_ACTOR};

/// Follow-ups acted on per transaction.
const BATCH: i64 = 100;

/// Tickets read per query when rollups are rebuilt or checked.
const PAGE: i64 = 1_000;

/// The sums of a rollup cell's columns, as the readers select them.
const SUMS: &str = "SUM(tickets)::BIGINT, SUM(repeat_contacts)::BIGINT, SUM(sentiment_milli)::BIGINT, \
     SUM(very_negative)::BIGINT, SUM(negative)::BIGINT, SUM(neutral)::BIGINT, SUM(positive)::BIGINT, \
     SUM(very_positive)::BIGINT";

/// Records a completed ticket's follow-up plan in the completion's own
/// transaction.
pub(super) async fn schedule_follow_up(
    tx: &Transaction<'_>,
    working: &mut Working,
    plan: &FollowUpPlan,
    now: UnixMicros,
) -> TxResult<()> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO triage_follow_ups (ticket_id, due_at, plan) VALUES ($1, $2, $3) \
             ON CONFLICT (ticket_id) DO NOTHING",
        )
        .await?;
    let bytes = codec::encode(plan)?;
    tx.execute(&statement, &[&sql_id(working.id()), &plan.due_at.0, &bytes])
        .await?;
    working.ticket.follow_up = Some(plan.scheduled());
    working.record(now, SYSTEM_ACTOR, "follow_up_scheduled", plan.scheduled_detail());
    Ok(())
}

impl Inner {
    /// Sums of the rollup cells of the hours starting in `[from, until)`.
    pub(super) async fn rollup(
        &self,
        from: UnixMicros,
        until: UnixMicros,
    ) -> Result<Vec<RollupRow>, StoreError> {
        let pieces = range_pieces(hour_start(from), hour_start(until));
        self.read(&pieces, |tx, pieces| Box::pin(rollup_in(tx, pieces)))
            .await
    }

    /// Creates or skips every follow-up due by `now` (see
    /// [`TicketStore::materialise_follow_ups`](crate::store::TicketStore::materialise_follow_ups)).
    pub(super) async fn materialise_follow_ups(
        &self,
        now: UnixMicros,
    ) -> Result<Vec<Transition>, StoreError> {
        let mut changed = Vec::new();
        loop {
            let (batch, full) = self
                .transact(&now, |tx, now| Box::pin(follow_up_batch(tx, *now)))
                .await?;
            let created = batch.iter().filter(|change| !change.events.is_empty()).count();
            self.ticket_count
                .fetch_add(created, std::sync::atomic::Ordering::Relaxed);
            changed.extend(batch);
            if !full {
                return Ok(changed);
            }
        }
    }
}

async fn rollup_in(
    tx: &Transaction<'_>,
    pieces: &[(Span, UnixMicros, UnixMicros); 3],
) -> TxResult<Vec<RollupRow>> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT touchpoint, category, side, kind, {SUMS} FROM triage_rollups \
             WHERE (span = $1 AND start_at >= $2 AND start_at < $3) \
             OR (span = $4 AND start_at >= $5 AND start_at < $6) \
             OR (span = $7 AND start_at >= $8 AND start_at < $9) \
             GROUP BY touchpoint, category, side, kind HAVING SUM(tickets) > 0"
        ))
        .await?;
    let spans = pieces.map(|(span, _, _)| span as i16);
    let [(_, a0, a1), (_, b0, b1), (_, c0, c1)] = *pieces;
    let rows = tx
        .query(
            &statement,
            &[
                &spans[0], &a0.0, &a1.0, &spans[1], &b0.0, &b1.0, &spans[2], &c0.0, &c1.0,
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let key = RollupKey {
                touchpoint: row.get(0),
                category: row.get(1),
                side: side_from(row.get(2))?,
                kind: kind_from(row.get(3)),
            };
            Ok(RollupRow {
                key,
                counts: counts_from(row, 4),
            })
        })
        .collect()
}

/// The side stored in a rollup row.
fn side_from(name: &str) -> TxResult<Side> {
    Side::parse(name).ok_or_else(|| codec::corrupt("rollup cell", format!("side {name:?}")).into())
}

/// The customer kind stored in a rollup row (`CustomerKind as i16`).
fn kind_from(code: i16) -> CustomerKind {
    if code == CustomerKind::Internal as i16 {
        CustomerKind::Internal
    } else {
        CustomerKind::External
    }
}

/// The sums read from `row`'s columns `first..` (see [`SUMS`]).
fn counts_from(row: &tokio_postgres::Row, first: usize) -> RollupCounts {
    let count = |column: usize| u64::try_from(row.get::<_, i64>(first + column)).unwrap_or(0);
    let mut counts = RollupCounts {
        tickets: count(0),
        repeat_contacts: count(1),
        sentiment_milli_sum: row.get(first + 2),
        ..RollupCounts::default()
    };
    for (bucket, slot) in counts.sentiment_buckets.iter_mut().enumerate() {
        *slot = count(3 + bucket);
    }
    counts
}

/// One batch of due follow-ups: the originals changed, and whether the
/// batch was full.
async fn follow_up_batch(tx: &Transaction<'_>, now: UnixMicros) -> TxResult<(Vec<Transition>, bool)> {
    let due = tx
        .prepare_cached(&format!(
            "SELECT ticket_id, plan FROM triage_follow_ups WHERE due_at <= $1 \
             ORDER BY due_at, ticket_id LIMIT {BATCH} FOR UPDATE SKIP LOCKED"
        ))
        .await?;
    let rows = tx.query(&due, &[&now.0]).await?;
    let full = rows.len() as i64 == BATCH;
    let forget = tx
        .prepare_cached("DELETE FROM triage_follow_ups WHERE ticket_id = $1")
        .await?;
    let mut counts = Counts::new();
    let mut changed = Vec::new();
    for row in &rows {
        let id: i64 = row.get(0);
        tx.execute(&forget, &[&id]).await?;
        let plan: FollowUpPlan = match codec::decode("follow-up plan", row.get(1)) {
            Ok(plan) => plan,
            Err(err) => {
                tracing::error!(ticket = id, error = %err, "unreadable follow-up plan set aside");
                continue;
            }
        };
        let Some(mut original) = rows::load(tx, ticket_id(id), true).await? else {
            continue;
        };
        let change = act_on(tx, &mut original, &plan, &mut counts, now).await?;
        original.write(tx, &mut counts).await?;
        events::record(tx, &change).await?;
        changed.push(Transition {
            ticket: original.ticket,
            events: change,
        });
    }
    counts.apply(tx).await?;
    Ok((changed, full))
}

/// Creates `original`'s follow-up, or skips it when its customer wrote
/// again and the plan says so; the events of the change.
async fn act_on(
    tx: &Transaction<'_>,
    original: &mut Working,
    plan: &FollowUpPlan,
    counts: &mut Counts,
    now: UnixMicros,
) -> TxResult<Vec<crate::events::QueueEvent>> {
    let completed_at = original.completed_at.unwrap_or(original.ticket.ingested_at);
    if plan.skip_if_contacted && contacted_after(tx, &original.ticket.input.customer.id, completed_at).await?
    {
        set_state(original, FollowUpState::Skipped(SKIPPED_CONTACTED.to_string()));
        original.record(
            now,
            SYSTEM_ACTOR,
            "follow_up_skipped",
            SKIPPED_CONTACTED.to_string(),
        );
        return Ok(Vec::new());
    }
    let (input, classification) = plan.follow_up(&original.ticket, now);
    let (follow_up_id, created) = match rows::insert_input(tx, &input, &classification).await? {
        Some(new_id) => {
            let mut ticket = codec::new_ticket(new_id, input, classification, now);
            ticket.follow_up_of = Some(original.id());
            ticket.history.push(plan.origin_entry(original.id(), now));
            Working::new(ticket).insert(tx, counts).await?;
            (new_id, true)
        }
        None => {
            let existing = rows::find_by_external_id(tx, &input.source, &input.external_id)
                .await?
                .ok_or_else(|| {
                    StoreError::Storage("a follow-up conflicted with a ticket that is gone".into())
                })?;
            (existing, false)
        }
    };
    set_state(original, FollowUpState::Created(follow_up_id));
    original.record(
        now,
        SYSTEM_ACTOR,
        "follow_up_created",
        plan.created_detail(follow_up_id),
    );
    // A ticket already stored under the follow-up's id entered its queue
    // when it was stored: nothing enters now.
    Ok(match created {
        true => vec![event(QueueEventKind::Added, follow_up_id, &plan.queue, now)],
        false => Vec::new(),
    })
}

fn set_state(original: &mut Working, state: FollowUpState) {
    if let Some(follow_up) = &mut original.ticket.follow_up {
        follow_up.state = state;
    }
}

/// Whether `customer_id` has a ticket of its own (not a follow-up)
/// ingested after `after`.
async fn contacted_after(tx: &Transaction<'_>, customer_id: &str, after: UnixMicros) -> TxResult<bool> {
    if customer_id.is_empty() {
        return Ok(false);
    }
    let statement = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM triage_state WHERE customer_id = $1 AND ingested_at > $2 \
             AND follow_up_of IS NULL)",
        )
        .await?;
    Ok(tx.query_one(&statement, &[&customer_id, &after.0]).await?.get(0))
}

/// The rollups the stored tickets add up to (reads every ticket, a page
/// at a time).
async fn count_cells(tx: &Transaction<'_>) -> TxResult<Counts> {
    let page = tx
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM triage_state WHERE id > $1 ORDER BY id LIMIT {PAGE}"
        ))
        .await?;
    let mut counts = Counts::new();
    let mut after = -1_i64;
    loop {
        let states = tx.query(&page, &[&after]).await?;
        let Some(last) = states.last() else {
            return Ok(counts);
        };
        after = last.get("id");
        for working in rows::assemble(tx, states).await? {
            if let Some(contribution) = working.contribution() {
                counts.contribute(contribution, 1);
            }
        }
    }
}

/// Counts every stored ticket into fresh rollups: run once, by the
/// migration that adds them, under the migration lock.
pub(super) async fn rebuild_rollups(tx: &Transaction<'_>) -> TxResult<()> {
    tx.execute("DELETE FROM triage_rollups", &[]).await?;
    count_cells(tx).await?.apply(tx).await
}

/// Problems where the stored rollups differ from what the tickets add up to.
pub(super) async fn check_rollups(tx: &Transaction<'_>) -> TxResult<Vec<String>> {
    let expected = count_cells(tx).await?.into_cells();
    let stored = tx
        .query(
            &format!(
                "SELECT span, start_at, touchpoint, category, side, kind, {SUMS} FROM triage_rollups \
                 GROUP BY span, start_at, touchpoint, category, side, kind HAVING SUM(tickets) <> 0"
            ),
            &[],
        )
        .await?;
    let mut problems = Vec::new();
    let mut seen = 0;
    for row in &stored {
        let span = if row.get::<_, i16>(0) == Span::Day as i16 {
            Span::Day
        } else {
            Span::Hour
        };
        let key = RollupKey {
            touchpoint: row.get(2),
            category: row.get(3),
            side: side_from(row.get(4))?,
            kind: kind_from(row.get(5)),
        };
        let counts = counts_from(row, 6);
        let cell = (span, row.get::<_, i64>(1), key);
        let wanted = expected.get(&cell).map(counts_of);
        seen += 1;
        if wanted != Some(counts) {
            problems.push(format!(
                "rollup cell {:?} counts {} tickets, the tickets say {}",
                cell.2,
                counts.tickets,
                wanted.map_or(0, |wanted| wanted.tickets)
            ));
        }
    }
    if seen != expected.len() {
        problems.push(format!(
            "{seen} rollup cells stored, the tickets fill {}",
            expected.len()
        ));
    }
    Ok(problems)
}

/// A cell change of positive sums, as sums.
fn counts_of(change: &CellChange) -> RollupCounts {
    let count = |value: i64| u64::try_from(value).unwrap_or(0);
    let mut counts = RollupCounts {
        tickets: count(change[0]),
        repeat_contacts: count(change[1]),
        sentiment_milli_sum: change[2],
        ..RollupCounts::default()
    };
    for (slot, value) in counts.sentiment_buckets.iter_mut().zip(&change[3..]) {
        *slot = count(*value);
    }
    counts
}
