//! The clock-driven verbs: lease expiry, deadline escalation, retention.
//! Every replica runs them; each batch takes its due rows with
//! `FOR UPDATE SKIP LOCKED` and re-checks them under the lock, so each
//! expiry and each escalation happens exactly once however many replicas
//! sweep at the same moment.

use std::sync::atomic::Ordering;

use deadpool_postgres::Transaction;

use super::events;
use super::leases::{end_lease, enqueue};
use super::rows::{self, Counts, Working, STATE_COLUMNS};
use super::tx::TxResult;
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::{QueueEvent, QueueEventKind};
use crate::store::verbs::event;
use crate::store::{EscalationPolicies, StoreError, Transition};
use crate::ticket::{TicketState, SYSTEM_ACTOR};

/// Tickets changed per transaction by a sweep.
const BATCH: i64 = 100;

/// Which sweep.
#[derive(Debug, Clone, Copy)]
enum Sweep {
    Leases,
    Deadlines,
}

impl Sweep {
    /// The due rows of this sweep, oldest first, skipping rows another
    /// replica holds.
    fn due_sql(self) -> String {
        let (condition, order) = match self {
            Sweep::Leases => ("state = 1 AND lease_expires_at <= $1", "lease_expires_at"),
            Sweep::Deadlines => (
                "state = 0 AND NOT escalated AND due_at IS NOT NULL AND due_at <= $1",
                "due_at",
            ),
        };
        format!(
            "SELECT {STATE_COLUMNS} FROM triage_state WHERE {condition} ORDER BY {order}, id LIMIT {BATCH} \
             FOR UPDATE SKIP LOCKED"
        )
    }
}

/// Returns an expired lease's ticket to its queue; `None` if not due.
async fn expire(
    tx: &Transaction<'_>,
    working: &mut Working,
    now: UnixMicros,
) -> TxResult<Option<Vec<QueueEvent>>> {
    let TicketState::Claimed(lease) = working.ticket.state.clone() else {
        return Ok(None);
    };
    if lease.expires_at > now {
        return Ok(None);
    }
    end_lease(tx, working).await?;
    enqueue(working);
    let detail = format!("lease of {} ran out", lease.agent_id);
    working.record(now, SYSTEM_ACTOR, "lease_expired", detail);
    let queue = &working.ticket.classification.queue;
    Ok(Some(vec![event(
        QueueEventKind::LeaseExpired,
        working.id(),
        queue,
        now,
    )]))
}

/// Escalates a breached waiting ticket as its queue's policy says.
fn escalate(
    working: &mut Working,
    now: UnixMicros,
    policies: &EscalationPolicies,
) -> Option<Vec<QueueEvent>> {
    let ticket = &mut working.ticket;
    let due = ticket.first_response_due?;
    if ticket.escalated || ticket.state != TicketState::Queued || due > now {
        return None;
    }
    let from = ticket.classification.queue.clone();
    let policy = policies.get(&from).cloned().unwrap_or_default();
    let to = policy.move_to.unwrap_or_else(|| from.clone());
    let priority = policy
        .priority
        .unwrap_or_else(|| ticket.classification.priority.raised());
    ticket.classification.queue.clone_from(&to);
    ticket.classification.priority = priority;
    ticket.escalated = true;
    let detail = format!("first-response deadline breached; {from} -> {to}, priority {priority:?}");
    working.record(now, SYSTEM_ACTOR, "escalated", detail);
    let id = working.id();
    let mut events = vec![event(QueueEventKind::Escalated, id, &from, now)];
    if to != from {
        events.push(event(QueueEventKind::Added, id, &to, now));
    }
    Some(events)
}

impl Inner {
    /// Returns tickets whose lease ran out by `now` to their queues.
    pub(super) async fn expire_leases(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.sweep(Sweep::Leases, now, &EscalationPolicies::new()).await
    }

    /// Escalates waiting tickets past their deadline, once each.
    pub(super) async fn escalate_breaches(
        &self,
        now: UnixMicros,
        policies: &EscalationPolicies,
    ) -> Result<Vec<Transition>, StoreError> {
        self.sweep(Sweep::Deadlines, now, policies).await
    }

    /// Runs batches of `sweep` until one comes back short.
    async fn sweep(
        &self,
        sweep: Sweep,
        now: UnixMicros,
        policies: &EscalationPolicies,
    ) -> Result<Vec<Transition>, StoreError> {
        let mut changed = Vec::new();
        loop {
            let (batch, full) = self
                .transact(&(sweep, now, policies), |tx, (sweep, now, policies)| {
                    Box::pin(sweep_batch(tx, *sweep, *now, policies))
                })
                .await?;
            changed.extend(batch);
            if !full {
                return Ok(changed);
            }
        }
    }

    /// Deletes tickets completed before `before` (with their state,
    /// history and follow-up plan, by cascade), taking them out of the
    /// journey rollups in the same transaction.
    pub(super) async fn purge_completed(&self, before: UnixMicros) -> Result<usize, StoreError> {
        let mut purged = 0;
        loop {
            let deleted = self
                .transact(&before, |tx, before| Box::pin(purge_batch(tx, *before)))
                .await?;
            purged += deleted;
            let _ = self
                .ticket_count
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
                    Some(count.saturating_sub(deleted))
                });
            if deleted < BATCH as usize {
                return Ok(purged);
            }
        }
    }
}

/// Deletes one batch of tickets completed before `before`; how many.
async fn purge_batch(tx: &Transaction<'_>, before: UnixMicros) -> TxResult<usize> {
    let due = tx
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM triage_state WHERE state = 2 AND completed_at < $1 \
             ORDER BY completed_at LIMIT {BATCH} FOR UPDATE SKIP LOCKED"
        ))
        .await?;
    let due = tx.query(&due, &[&before.0]).await?;
    let mut counts = Counts::new();
    let mut ids = Vec::with_capacity(due.len());
    for working in rows::assemble(tx, due).await? {
        if let Some(contribution) = working.contribution() {
            counts.contribute(contribution, -1);
        }
        ids.push(rows::sql_id(working.id()));
    }
    let delete = tx
        .prepare_cached("DELETE FROM triage_tickets WHERE id = ANY($1)")
        .await?;
    tx.execute(&delete, &[&ids]).await?;
    counts.apply(tx).await?;
    Ok(ids.len())
}

/// One batch of a sweep: its transitions, and whether the batch was full.
async fn sweep_batch(
    tx: &Transaction<'_>,
    sweep: Sweep,
    now: UnixMicros,
    policies: &EscalationPolicies,
) -> TxResult<(Vec<Transition>, bool)> {
    let statement = tx.prepare_cached(&sweep.due_sql()).await?;
    let due = tx.query(&statement, &[&now.0]).await?;
    let full = due.len() as i64 == BATCH;
    let mut changed = Vec::new();
    let mut counts = Counts::new();
    for mut working in rows::assemble(tx, due).await? {
        let events = match sweep {
            Sweep::Leases => expire(tx, &mut working, now).await?,
            Sweep::Deadlines => escalate(&mut working, now, policies),
        };
        let Some(events) = events else {
            continue;
        };
        working.write(tx, &mut counts).await?;
        events::record(tx, &events).await?;
        changed.push(Transition {
            ticket: working.ticket,
            events,
        });
    }
    counts.apply(tx).await?;
    Ok((changed, full))
}
