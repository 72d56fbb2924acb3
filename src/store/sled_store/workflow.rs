//! Agent workflow verbs (claim, extend, release, complete, transfer) and the
//! clock-driven ones (lease expiry, deadline escalation, retention), each
//! one atomic transaction per ticket. These are the blocking halves; the
//! async trait methods in `mod.rs` run them off the async workers and wait
//! for durability.

use std::collections::HashMap;

use super::keys;
use super::records::{self, FinishedLease, JourneyEntry, Working};
use super::tx::{abort, is_unreadable, storage, Tx, TxResult};
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::{QueueEvent, QueueEventKind};
use crate::store::follow_up::SKIPPED_CONTACTED;
use crate::store::{ClaimRequest, EscalationPolicies, FollowUpPlan, StoreError, Transition};
use crate::ticket::{Correction, FollowUpState, Lease, Relabel, TicketId, TicketState, SYSTEM_ACTOR};

pub(crate) use crate::store::verbs::{event, lease_or_repeat, new_token, LeaseVerb};

/// Records an agent's correction, moving the ticket's rollup contribution
/// to the corrected cell; false when `relabel` corrects nothing.
fn correct(
    tx: &Tx<'_>,
    ticket: &mut Working,
    relabel: &Relabel,
    agent_id: &str,
    at: UnixMicros,
) -> TxResult<bool> {
    if relabel.is_empty() {
        return Ok(false);
    }
    let before = ticket.contribution();
    let earlier = ticket.record.correction.take();
    ticket.record.correction = Some(Correction::after(earlier, relabel, agent_id, at));
    ticket.record(at, agent_id, "corrected", relabel.describe());
    tx.move_rollup(before.as_ref(), ticket.contribution().as_ref())?;
    Ok(true)
}

/// Schedules a completed ticket's follow-up in the completion's own write.
fn schedule_follow_up(
    tx: &Tx<'_>,
    ticket: &mut Working,
    plan: &FollowUpPlan,
    at: UnixMicros,
) -> TxResult<()> {
    let plan_bytes = records::encode(plan).map_err(abort)?;
    tx.follow_ups
        .insert(&keys::timed(plan.due_at, ticket.id), plan_bytes)?;
    ticket.record.follow_up = Some(plan.scheduled());
    ticket.record(at, SYSTEM_ACTOR, "follow_up_scheduled", plan.scheduled_detail());
    Ok(())
}

/// Rewrites the ticket's customer-journey entry, if it has a customer.
pub(crate) fn refresh_journey(tx: &Tx<'_>, ticket: &Working) -> TxResult<()> {
    if ticket.input.customer.id.is_empty() {
        return Ok(());
    }
    let view = ticket.clone().into_ticket(Vec::new());
    let journey = records::encode(&JourneyEntry::of(&view)).map_err(abort)?;
    tx.customers.insert(keys::customer_entry(&view), journey)?;
    Ok(())
}

/// Sets the state of a ticket's scheduled follow-up.
fn set_follow_up_state(ticket: &mut Working, state: FollowUpState) {
    if let Some(follow_up) = &mut ticket.record.follow_up {
        follow_up.state = state;
    }
}

/// The time indexes the maintenance sweeps walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeIndex {
    /// Lease expiries.
    Leases,
    /// First-response deadlines not yet escalated.
    Deadlines,
    /// Scheduled follow-ups.
    FollowUps,
}

impl TimeIndex {
    fn name(self) -> &'static str {
        match self {
            TimeIndex::Leases => "leases",
            TimeIndex::Deadlines => "deadlines",
            TimeIndex::FollowUps => "follow_ups",
        }
    }

    fn tree(self, inner: &Inner) -> &sled::Tree {
        match self {
            TimeIndex::Leases => &inner.trees.leases,
            TimeIndex::Deadlines => &inner.trees.deadlines,
            TimeIndex::FollowUps => &inner.trees.follow_ups,
        }
    }

    fn view<'a>(self, tx: &Tx<'a>) -> &'a sled::transaction::TransactionalTree {
        match self {
            TimeIndex::Leases => tx.leases,
            TimeIndex::Deadlines => tx.deadlines,
            TimeIndex::FollowUps => tx.follow_ups,
        }
    }
}

/// What a claim transaction found at the head of the queue.
enum Head {
    Claimed(Box<Working>),
    Gone,
    Quarantined(StoreError),
}

impl Inner {
    /// A lease the same agent already holds from a claim with this request id.
    fn earlier_claim(
        &self,
        claim: &ClaimRequest,
        request: &[u8],
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let Some(id) = self.trees.claim_requests.get(request).map_err(storage)? else {
            return Ok(None);
        };
        let Some(id) = keys::ticket_id_from_head(&id) else {
            return Ok(None);
        };
        let ticket = self.load(id)?;
        let same = matches!(&ticket.state, TicketState::Claimed(lease) if lease.agent_id == claim.agent_id && lease.expires_at > now);
        Ok(same.then_some(Transition {
            ticket,
            events: Vec::new(),
        }))
    }

    /// Leases the head of the queue (see [`TicketStore::claim_next`](crate::store::TicketStore::claim_next)).
    pub(crate) fn claim_next(
        &self,
        claim: &ClaimRequest,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let request = claim
            .request_id
            .as_deref()
            .map(|request_id| keys::claim_request(&claim.agent_id, request_id));
        let _serialised = self
            .claim_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(request) = &request {
            if let Some(earlier) = self.earlier_claim(claim, request, now)? {
                return Ok(Some(earlier));
            }
        }
        let prefix = keys::queue_prefix(&claim.queue);
        loop {
            let Some(head) = self.trees.queues.scan_prefix(&prefix).next() else {
                return Ok(None);
            };
            let (key, _) = head.map_err(storage)?;
            let id = keys::ticket_id_from_tail(&key)
                .ok_or_else(|| records::corrupt("queue entry", "short key"))?;
            let lease = Lease {
                agent_id: claim.agent_id.clone(),
                token: new_token(),
                expires_at: now.plus_seconds(u64::from(claim.lease_seconds)),
            };
            let claimed = |head: &Head| match head {
                Head::Claimed(_) => vec![event(QueueEventKind::Claimed, id, &claim.queue, now)],
                Head::Gone | Head::Quarantined(_) => Vec::new(),
            };
            let outcome = self.committer.in_order(
                || {
                    self.trees.transact(|tx| {
                        if tx.queues.get(key.as_ref())?.is_none() {
                            return Ok(Head::Gone); // taken meanwhile: look again
                        }
                        let mut ticket = match tx.read(id) {
                            Ok(ticket) => ticket,
                            Err(sled::transaction::ConflictableTransactionError::Abort(err))
                                if is_unreadable(&err) =>
                            {
                                tx.queues.remove(key.as_ref())?;
                                tx.count(&claim.queue, -1, 0)?;
                                tx.quarantine("queues", &key, &err.to_string())?;
                                return Ok(Head::Quarantined(err));
                            }
                            Err(other) => return Err(other),
                        };
                        tx.dequeue(&ticket)?;
                        ticket.record.claim_count += 1;
                        ticket.record.claim_request.clone_from(&request);
                        if let Some(request) = &request {
                            tx.claim_requests.insert(request.as_slice(), &keys::ticket(id))?;
                        }
                        tx.lease(&mut ticket, lease.clone())?;
                        let detail = format!("lease {}s", claim.lease_seconds);
                        ticket.record(now, &claim.agent_id, "claimed", detail);
                        tx.write(&ticket)?;
                        Ok(Head::Claimed(Box::new(ticket)))
                    })
                },
                claimed,
            )?;
            match outcome {
                Head::Claimed(ticket) => {
                    let events = vec![event(QueueEventKind::Claimed, id, &claim.queue, now)];
                    return Ok(Some(self.transition(*ticket, events)?));
                }
                Head::Gone => {}
                Head::Quarantined(err) => {
                    tracing::error!(queue = %claim.queue, ticket = %id, error = %err, "unreadable ticket set aside from its queue");
                    self.forget_queue_deadline(&claim.queue, id)?;
                }
            }
        }
    }

    /// Applies a lease holder's verb. A repeat of the verb that ended the
    /// lease, with the same token, returns the ticket as it is, no events.
    pub(crate) fn with_lease(
        &self,
        id: TicketId,
        token: &str,
        verb: LeaseVerb<'_>,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let action = verb.action();
        let (ticket, events) = self.committer.in_order(
            || {
                self.trees.transact(|tx| {
                    let mut ticket = tx.read(id)?;
                    let record = &ticket.record;
                    let allowed = lease_or_repeat(id, &record.state, &record.finished, token, action, now);
                    let Some(lease) = allowed.map_err(abort)? else {
                        return Ok((ticket, Vec::new()));
                    };
                    let agent = lease.agent_id.as_str();
                    let queue = ticket.record.classification.queue.clone();
                    let events = match verb {
                        LeaseVerb::Extend { lease_seconds } => {
                            let expires_at = now.plus_seconds(u64::from(lease_seconds));
                            tx.leases.remove(&keys::timed(lease.expires_at, id))?;
                            tx.leases.insert(&keys::timed(expires_at, id), queue.as_bytes())?;
                            ticket.record.state = TicketState::Claimed(Lease {
                                expires_at,
                                ..lease.clone()
                            });
                            ticket.record(now, agent, action, format!("lease {lease_seconds}s"));
                            Vec::new()
                        }
                        LeaseVerb::Release { reason } => {
                            tx.end_lease(&mut ticket, &lease)?;
                            tx.enqueue(&mut ticket)?;
                            ticket.record(now, agent, action, reason.to_string());
                            vec![event(QueueEventKind::Released, id, &queue, now)]
                        }
                        LeaseVerb::Complete {
                            resolution,
                            relabel,
                            follow_up,
                        } => {
                            tx.end_lease(&mut ticket, &lease)?;
                            correct(tx, &mut ticket, relabel, agent, now)?;
                            tx.mark_completed(&mut ticket, now)?;
                            ticket.record.resolution = resolution.to_string();
                            ticket.record(now, agent, action, resolution.to_string());
                            if let Some(plan) = follow_up {
                                schedule_follow_up(tx, &mut ticket, plan, now)?;
                            }
                            refresh_journey(tx, &ticket)?;
                            vec![event(QueueEventKind::Completed, id, &queue, now)]
                        }
                        LeaseVerb::Transfer {
                            to_queue,
                            reason,
                            relabel,
                        } => {
                            tx.end_lease(&mut ticket, &lease)?;
                            if correct(tx, &mut ticket, relabel, agent, now)? {
                                refresh_journey(tx, &ticket)?;
                            }
                            ticket.record.classification.queue = to_queue.to_string();
                            tx.enqueue(&mut ticket)?;
                            ticket.record(now, agent, action, format!("{queue} -> {to_queue}: {reason}"));
                            vec![
                                event(QueueEventKind::TransferredOut, id, &queue, now),
                                event(QueueEventKind::Added, id, to_queue, now),
                            ]
                        }
                    };
                    if !matches!(verb, LeaseVerb::Extend { .. }) {
                        FinishedLease::remember(&mut ticket.record.finished, token, action);
                    }
                    tx.write(&ticket)?;
                    Ok((ticket, events))
                })
            },
            |(_, events)| events.clone(),
        )?;
        self.transition(ticket, events)
    }

    /// Returns tickets whose lease ran out by `now` to their queues, their
    /// deadlines armed again.
    pub(crate) fn expire_leases(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.sweep_due(TimeIndex::Leases, now, |tx, ticket, _| {
            let TicketState::Claimed(lease) = ticket.record.state.clone() else {
                return Ok(None);
            };
            if lease.expires_at > now {
                return Ok(None);
            }
            tx.end_lease(ticket, &lease)?;
            tx.enqueue(ticket)?;
            let detail = format!("lease of {} ran out", lease.agent_id);
            ticket.record(now, SYSTEM_ACTOR, "lease_expired", detail);
            let queue = &ticket.record.classification.queue;
            Ok(Some(vec![event(
                QueueEventKind::LeaseExpired,
                ticket.id,
                queue,
                now,
            )]))
        })
    }

    /// Escalates waiting tickets past their first-response deadline, once each.
    pub(crate) fn escalate_breaches(
        &self,
        now: UnixMicros,
        policies: &EscalationPolicies,
    ) -> Result<Vec<Transition>, StoreError> {
        self.sweep_due(TimeIndex::Deadlines, now, |tx, ticket, _| {
            if ticket.record.escalated || ticket.record.state != TicketState::Queued {
                return Ok(None);
            }
            tx.dequeue(ticket)?;
            let from = ticket.record.classification.queue.clone();
            let policy = policies.get(&from).cloned().unwrap_or_default();
            let to = policy.move_to.unwrap_or_else(|| from.clone());
            let classification = &mut ticket.record.classification;
            let priority = policy
                .priority
                .unwrap_or_else(|| classification.priority.raised());
            classification.queue.clone_from(&to);
            classification.priority = priority;
            ticket.record.escalated = true;
            tx.enqueue(ticket)?;
            let detail = format!("first-response deadline breached; {from} -> {to}, priority {priority:?}");
            ticket.record(now, SYSTEM_ACTOR, "escalated", detail);
            let mut events = vec![event(QueueEventKind::Escalated, ticket.id, &from, now)];
            if to != from {
                events.push(event(QueueEventKind::Added, ticket.id, &to, now));
            }
            Ok(Some(events))
        })
    }

    /// For every entry of the time index `index` due by `now`: removes the
    /// entry and applies `change` to its ticket (given the entry's value),
    /// in one transaction each. `change` returns `None` to leave the ticket
    /// as it is. An entry whose ticket cannot be read is set aside and the
    /// sweep goes on.
    fn sweep_due(
        &self,
        index: TimeIndex,
        now: UnixMicros,
        change: impl Fn(&Tx<'_>, &mut Working, &[u8]) -> TxResult<Option<Vec<QueueEvent>>>,
    ) -> Result<Vec<Transition>, StoreError> {
        let due: Vec<_> = index
            .tree(self)
            .range(..keys::timed(now, TicketId(u64::MAX)))
            .map(|entry| entry.map(|(key, _)| key))
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        let mut changed = Vec::new();
        for key in due {
            let Some(id) = keys::ticket_id_from_tail(&key) else {
                continue;
            };
            let swept = |outcome: &Result<Option<(Working, Vec<QueueEvent>)>, StoreError>| match outcome {
                Ok(Some((_, events))) => events.clone(),
                _ => Vec::new(),
            };
            let outcome = self.committer.in_order(
                || {
                    self.trees.transact(|tx| {
                        let Some(entry) = index.view(tx).remove(key.as_ref())? else {
                            return Ok(Ok(None)); // handled meanwhile (released, extended, claimed)
                        };
                        let mut ticket = match tx.read(id) {
                            Ok(ticket) => ticket,
                            Err(sled::transaction::ConflictableTransactionError::Abort(err))
                                if is_unreadable(&err) =>
                            {
                                tx.quarantine(index.name(), &key, &err.to_string())?;
                                if index == TimeIndex::Leases {
                                    // A lease entry names its queue: its lease count goes too.
                                    tx.count(&String::from_utf8_lossy(&entry), 0, -1)?;
                                }
                                return Ok(Err(err));
                            }
                            Err(other) => return Err(other),
                        };
                        let Some(events) = change(tx, &mut ticket, &entry)? else {
                            return Ok(Ok(None));
                        };
                        tx.write(&ticket)?;
                        Ok(Ok(Some((ticket, events))))
                    })
                },
                swept,
            )?;
            match outcome {
                Ok(Some((ticket, events))) => changed.push(self.transition(ticket, events)?),
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(index = index.name(), ticket = %id, error = %err, "unreadable ticket set aside from the maintenance index");
                }
            }
        }
        Ok(changed)
    }

    /// Creates the follow-ups due by `now` (see
    /// [`TicketStore::materialise_follow_ups`](crate::store::TicketStore::materialise_follow_ups)).
    /// Each due entry is removed in the same transaction that creates its
    /// follow-up and links it, so a crash leaves either both or neither,
    /// and the follow-up's idempotency key (`triage`, `recovery:<id>`)
    /// guards against a second one whatever happens.
    pub(crate) fn materialise_follow_ups(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        // Read before the transactions: a sled transaction must not read its
        // own trees from outside (it would wait on itself). A customer who
        // writes between this read and the transaction is caught next time
        // only if the plan is still due, which it is not: such a race makes
        // at most one follow-up the rule would have skipped.
        let prepared = self.prepare_follow_ups(now)?;
        self.sweep_due(TimeIndex::FollowUps, now, |tx, original, entry| {
            let plan: FollowUpPlan = records::decode("follow-up plan", entry).map_err(abort)?;
            let Some(&(contacted, new_id)) = prepared.get(&original.id) else {
                // Scheduled after the read: put it back for the next round.
                tx.follow_ups
                    .insert(&keys::timed(plan.due_at, original.id), entry)?;
                return Ok(None);
            };
            if plan.skip_if_contacted && contacted {
                let reason = SKIPPED_CONTACTED.to_string();
                set_follow_up_state(original, FollowUpState::Skipped(reason.clone()));
                original.record(now, SYSTEM_ACTOR, "follow_up_skipped", reason);
                return Ok(Some(Vec::new()));
            }
            let view = original.clone().into_ticket(Vec::new());
            let (input, classification) = plan.follow_up(&view, now);
            let idempotency = keys::idempotency(&input.source, &input.external_id);
            let (follow_up_id, created) = match tx.idempotency.get(&idempotency)? {
                Some(existing) => (
                    keys::ticket_id_from_head(&existing)
                        .ok_or_else(|| abort(records::corrupt("idempotency entry", "short id")))?,
                    false,
                ),
                None => {
                    let mut ticket = super::new_ticket(new_id, input, classification, now);
                    ticket.follow_up_of = Some(original.id);
                    ticket.history.push(plan.origin_entry(original.id, now));
                    super::layout::Laid::of(&ticket).map_err(abort)?.insert(tx)?;
                    (ticket.id, true)
                }
            };
            set_follow_up_state(original, FollowUpState::Created(follow_up_id));
            let detail = plan.created_detail(follow_up_id);
            original.record(now, SYSTEM_ACTOR, "follow_up_created", detail);
            // A ticket already stored under the follow-up's id entered its
            // queue when it was stored: nothing enters now.
            Ok(Some(match created {
                true => vec![event(QueueEventKind::Added, follow_up_id, &plan.queue, now)],
                false => Vec::new(),
            }))
        })
    }

    /// For each follow-up due by `now`, by original ticket: whether its
    /// customer has contacted us since the completion, and the id its
    /// follow-up would get.
    fn prepare_follow_ups(&self, now: UnixMicros) -> Result<HashMap<TicketId, (bool, TicketId)>, StoreError> {
        let mut prepared = HashMap::new();
        for entry in self
            .trees
            .follow_ups
            .range(..keys::timed(now, TicketId(u64::MAX)))
        {
            let (key, _) = entry.map_err(storage)?;
            let Some(id) = keys::ticket_id_from_tail(&key) else {
                continue;
            };
            let original = match self.load(id) {
                Ok(original) => original,
                Err(err) if is_unreadable(&err) => continue, // the sweep sets it aside
                Err(err) => return Err(err),
            };
            let completed_at = original
                .history
                .iter()
                .rev()
                .find(|entry| entry.action == "completed")
                .map_or(original.ingested_at, |entry| entry.at);
            let contacted = self.contacted_after(&original.input.customer.id, completed_at)?;
            prepared.insert(id, (contacted, self.next_id()?));
        }
        Ok(prepared)
    }

    /// Removes the queue-deadline entry of a ticket set aside from `queue`
    /// (found by scanning that queue's deadline entries: a rare repair).
    fn forget_queue_deadline(&self, queue: &str, id: TicketId) -> Result<(), StoreError> {
        for entry in self.trees.queue_deadlines.scan_prefix(keys::queue_prefix(queue)) {
            let (key, _) = entry.map_err(storage)?;
            if keys::ticket_id_from_tail(&key) == Some(id) {
                self.trees.queue_deadlines.remove(key).map_err(storage)?;
            }
        }
        Ok(())
    }

    /// Deletes tickets completed before `before` with all their records.
    pub(crate) fn purge_completed(&self, before: UnixMicros) -> Result<usize, StoreError> {
        let due: Vec<_> = self
            .trees
            .completed
            .range(..keys::timed(before, TicketId(0)))
            .map(|entry| entry.map(|(key, _)| key))
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        let mut purged = 0;
        for key in due {
            let Some(id) = keys::ticket_id_from_tail(&key) else {
                continue;
            };
            let removed = self.trees.transact(|tx| {
                if tx.completed.remove(key.as_ref())?.is_none() {
                    return Ok(false);
                }
                let ticket = match tx.read(id) {
                    Ok(ticket) => ticket,
                    Err(sled::transaction::ConflictableTransactionError::Abort(err))
                        if is_unreadable(&err) =>
                    {
                        tracing::error!(ticket = %id, error = %err, "unreadable completed ticket set aside from retention");
                        tx.quarantine("completed", &key, &err.to_string())?;
                        return Ok(false);
                    }
                    Err(other) => return Err(other),
                };
                let view = ticket.clone().into_ticket(Vec::new());
                for chunk in 0..ticket.record.input_chunks {
                    tx.inputs.remove(&keys::input_chunk(id, chunk))?;
                }
                for entry in 0..ticket.record.history_len {
                    tx.history.remove(&keys::history_entry(id, entry))?;
                }
                tx.tickets.remove(&keys::ticket(id))?;
                tx.idempotency
                    .remove(keys::idempotency(&view.input.source, &view.input.external_id))?;
                if !view.input.customer.id.is_empty() {
                    tx.customers.remove(keys::customer_entry(&view))?;
                }
                if let Some(contribution) = ticket.contribution() {
                    tx.add_rollup(&contribution, -1)?;
                }
                if let Some(follow_up) = &ticket.record.follow_up {
                    // A follow-up not yet due goes with its original.
                    tx.follow_ups.remove(&keys::timed(follow_up.due_at, id))?;
                }
                Ok(true)
            })?;
            purged += usize::from(removed);
        }
        Ok(purged)
    }
}
