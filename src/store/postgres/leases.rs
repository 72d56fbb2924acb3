//! The agent verbs: claim the head of a queue, then extend, release,
//! complete or transfer the lease. A claim takes the head with
//! `SELECT ... FOR UPDATE SKIP LOCKED` in priority-then-sequence order, so
//! concurrent claimers on any replica each get a different ticket without
//! waiting for each other. A claim with a request id keeps a row naming its
//! ticket while the lease lasts: a retry (through any replica) gets the
//! same lease. A repeat of the verb that ended a lease, with the same
//! token, answers the same again.

use super::events;
use super::journey;
use super::rows::{self, sql_id, ticket_id, Counts, Working};
use super::tx::TxResult;
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::{QueueEvent, QueueEventKind};
use crate::store::codec::FinishedLease;
use crate::store::verbs::{self, event, new_token};
use crate::store::{ClaimRequest, StoreError, Transition};
use crate::ticket::{Lease, Relabel, TicketId, TicketState};

pub(super) use crate::store::verbs::LeaseVerb;

/// Records an agent's correction; false when `relabel` corrects nothing.
fn correct(working: &mut Working, relabel: &Relabel, agent_id: &str, at: UnixMicros) -> bool {
    if relabel.is_empty() {
        return false;
    }
    working.ticket.correct(relabel, agent_id, at);
    working.record(at, agent_id, "corrected", relabel.describe());
    true
}

/// Ends a lease: forgets its claim request (if it still names this ticket).
pub(super) async fn end_lease(
    tx: &deadpool_postgres::Transaction<'_>,
    working: &mut Working,
) -> TxResult<()> {
    if let Some((agent, request)) = working.record.claim_request.take() {
        let statement = tx
            .prepare_cached(
                "DELETE FROM triage_claim_requests WHERE agent_id = $1 AND request_id = $2 AND ticket_id = $3",
            )
            .await?;
        tx.execute(&statement, &[&agent, &request, &sql_id(working.id())])
            .await?;
    }
    Ok(())
}

/// Puts a ticket back in its queue as waiting.
pub(super) fn enqueue(working: &mut Working) {
    working.ticket.state = TicketState::Queued;
}

/// What a claim transaction found.
enum Claimed {
    /// A ticket leased now (with its events) or by an earlier try (none).
    Leased(Box<Working>, Vec<QueueEvent>),
    Empty,
}

impl Inner {
    /// Leases the head of the queue (see [`TicketStore::claim_next`](crate::store::TicketStore::claim_next)).
    pub(super) async fn claim_next(
        &self,
        claim: &ClaimRequest,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let outcome = self
            .transact(&(claim, now), |tx, (claim, now)| {
                Box::pin(claim_in(tx, claim, *now))
            })
            .await?;
        Ok(match outcome {
            Claimed::Leased(working, events) => Some(Transition {
                ticket: working.ticket,
                events,
            }),
            Claimed::Empty => None,
        })
    }

    /// Applies a lease holder's verb. A repeat of the verb that ended the
    /// lease, with the same token, returns the ticket as it is, no events.
    pub(super) async fn with_lease(
        &self,
        id: TicketId,
        token: &str,
        verb: LeaseVerb<'_>,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        self.transact(&(id, token, verb, now), |tx, (id, token, verb, now)| {
            Box::pin(with_lease_in(tx, *id, token, *verb, *now))
        })
        .await
    }
}

/// The claim request row of (agent, request id), taken (and locked) for
/// this claim; the ticket an earlier try leased, if any.
async fn take_request(
    tx: &deadpool_postgres::Transaction<'_>,
    agent: &str,
    request: &str,
) -> TxResult<Option<TicketId>> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO triage_claim_requests (agent_id, request_id, ticket_id) VALUES ($1, $2, -1) \
             ON CONFLICT (agent_id, request_id) DO UPDATE SET ticket_id = triage_claim_requests.ticket_id \
             RETURNING ticket_id",
        )
        .await?;
    let earlier: i64 = tx.query_one(&statement, &[&agent, &request]).await?.get(0);
    Ok((earlier >= 0).then(|| ticket_id(earlier)))
}

async fn claim_in(
    tx: &deadpool_postgres::Transaction<'_>,
    claim: &ClaimRequest,
    now: UnixMicros,
) -> TxResult<Claimed> {
    let agent = claim.agent_id.as_str();
    if let Some(request) = &claim.request_id {
        if let Some(earlier) = take_request(tx, agent, request).await? {
            if let Some(working) = rows::load(tx, earlier, false).await? {
                let same = matches!(&working.ticket.state,
                    TicketState::Claimed(lease) if lease.agent_id == agent && lease.expires_at > now);
                if same {
                    return Ok(Claimed::Leased(Box::new(working), Vec::new()));
                }
            }
        }
    }
    let head = tx
        .prepare_cached(
            "SELECT id FROM triage_state WHERE queue = $1 AND state = 0 ORDER BY rank, id LIMIT 1 \
             FOR UPDATE SKIP LOCKED",
        )
        .await?;
    let Some(head) = tx.query_opt(&head, &[&claim.queue]).await? else {
        if let Some(request) = &claim.request_id {
            tx.execute(
                "DELETE FROM triage_claim_requests WHERE agent_id = $1 AND request_id = $2 AND ticket_id = -1",
                &[&agent, request],
            )
            .await?;
        }
        return Ok(Claimed::Empty);
    };
    let id = ticket_id(head.get(0));
    let mut working = rows::load_for_update(tx, id).await?;
    working.ticket.claim_count += 1;
    working.ticket.state = TicketState::Claimed(Lease {
        agent_id: agent.to_string(),
        token: new_token(),
        expires_at: now.plus_seconds(u64::from(claim.lease_seconds)),
    });
    if let Some(request) = &claim.request_id {
        tx.execute(
            "UPDATE triage_claim_requests SET ticket_id = $3 WHERE agent_id = $1 AND request_id = $2",
            &[&agent, request, &sql_id(id)],
        )
        .await?;
        working.record.claim_request = Some((agent.to_string(), request.clone()));
    }
    working.record(now, agent, "claimed", format!("lease {}s", claim.lease_seconds));
    let mut counts = Counts::new();
    working.write(tx, &mut counts).await?;
    counts.apply(tx).await?;
    let events = vec![event(QueueEventKind::Claimed, id, &claim.queue, now)];
    events::record(tx, &events).await?;
    Ok(Claimed::Leased(Box::new(working), events))
}

async fn with_lease_in(
    tx: &deadpool_postgres::Transaction<'_>,
    id: TicketId,
    token: &str,
    verb: LeaseVerb<'_>,
    now: UnixMicros,
) -> TxResult<Transition> {
    let action = verb.action();
    let mut working = rows::load_for_update(tx, id).await?;
    let state = &working.ticket.state;
    let Some(lease) = verbs::lease_or_repeat(id, state, &working.record.finished, token, action, now)? else {
        return Ok(Transition {
            ticket: working.ticket,
            events: Vec::new(),
        });
    };
    let agent = lease.agent_id.as_str();
    let queue = working.ticket.classification.queue.clone();
    let events = match verb {
        LeaseVerb::Extend { lease_seconds } => {
            working.ticket.state = TicketState::Claimed(Lease {
                expires_at: now.plus_seconds(u64::from(lease_seconds)),
                ..lease.clone()
            });
            working.record(now, agent, action, format!("lease {lease_seconds}s"));
            Vec::new()
        }
        LeaseVerb::Release { reason } => {
            end_lease(tx, &mut working).await?;
            enqueue(&mut working);
            working.record(now, agent, action, reason.to_string());
            vec![event(QueueEventKind::Released, id, &queue, now)]
        }
        LeaseVerb::Complete {
            resolution,
            relabel,
            follow_up,
        } => {
            end_lease(tx, &mut working).await?;
            correct(&mut working, relabel, agent, now);
            working.ticket.state = TicketState::Completed;
            working.completed_at = Some(now);
            working.ticket.resolution = resolution.to_string();
            working.record(now, agent, action, resolution.to_string());
            if let Some(plan) = follow_up {
                journey::schedule_follow_up(tx, &mut working, plan, now).await?;
            }
            vec![event(QueueEventKind::Completed, id, &queue, now)]
        }
        LeaseVerb::Transfer {
            to_queue,
            reason,
            relabel,
        } => {
            end_lease(tx, &mut working).await?;
            correct(&mut working, relabel, agent, now);
            working.ticket.classification.queue = to_queue.to_string();
            enqueue(&mut working);
            working.record(now, agent, action, format!("{queue} -> {to_queue}: {reason}"));
            vec![
                event(QueueEventKind::TransferredOut, id, &queue, now),
                event(QueueEventKind::Added, id, to_queue, now),
            ]
        }
    };
    if !matches!(verb, LeaseVerb::Extend { .. }) {
        FinishedLease::remember(&mut working.record.finished, token, action);
    }
    let mut counts = Counts::new();
    working.write(tx, &mut counts).await?;
    counts.apply(tx).await?;
    events::record(tx, &events).await?;
    Ok(Transition {
        ticket: working.ticket,
        events,
    })
}
