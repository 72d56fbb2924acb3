//! Agent workflow verbs (claim, extend, release, complete, transfer) and the
//! clock-driven ones (lease expiry, deadline escalation, retention), each
//! one atomic transaction per ticket. These are the blocking halves; the
//! async trait methods in `mod.rs` run them off the async workers and wait
//! for durability.

use super::keys;
use super::records::{self, FinishedLease, JourneyEntry, Working};
use super::tx::{abort, is_unreadable, storage, Tx, TxResult};
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::{QueueEvent, QueueEventKind};
use crate::store::{ClaimRequest, EscalationPolicies, StoreError, Transition};
use crate::ticket::{Correction, Lease, Relabel, TicketId, TicketState, SYSTEM_ACTOR};

pub(crate) use crate::store::verbs::{event, new_token, LeaseVerb};

/// The ticket's lease, if `token` is its current, unexpired one.
fn current_lease(ticket: &Working, token: &str, now: UnixMicros) -> Result<Lease, StoreError> {
    crate::store::verbs::current_lease(ticket.id, &ticket.record.state, token, now)
}

/// Records an agent's correction; false when `relabel` corrects nothing.
fn correct(ticket: &mut Working, relabel: &Relabel, agent_id: &str, at: UnixMicros) -> bool {
    if relabel.is_empty() {
        return false;
    }
    let earlier = ticket.record.correction.take();
    ticket.record.correction = Some(Correction::after(earlier, relabel, agent_id, at));
    ticket.record(at, agent_id, "corrected", relabel.describe());
    true
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
            let outcome = self.trees.transact(|tx| {
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
            })?;
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
        let (ticket, events) = self.trees.transact(|tx| {
            let mut ticket = tx.read(id)?;
            let lease = match current_lease(&ticket, token, now) {
                Ok(lease) => lease,
                Err(err) => {
                    let repeat = ticket
                        .record
                        .finished
                        .iter()
                        .any(|finished| finished.repeats(token, action));
                    return if repeat {
                        Ok((ticket, Vec::new()))
                    } else {
                        Err(abort(err))
                    };
                }
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
                LeaseVerb::Complete { resolution, relabel } => {
                    tx.end_lease(&mut ticket, &lease)?;
                    correct(&mut ticket, relabel, agent, now);
                    tx.mark_completed(&mut ticket, now)?;
                    ticket.record.resolution = resolution.to_string();
                    ticket.record(now, agent, action, resolution.to_string());
                    refresh_journey(tx, &ticket)?;
                    vec![event(QueueEventKind::Completed, id, &queue, now)]
                }
                LeaseVerb::Transfer {
                    to_queue,
                    reason,
                    relabel,
                } => {
                    tx.end_lease(&mut ticket, &lease)?;
                    if correct(&mut ticket, relabel, agent, now) {
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
        })?;
        self.transition(ticket, events)
    }

    /// Returns tickets whose lease ran out by `now` to their queues, their
    /// deadlines armed again.
    pub(crate) fn expire_leases(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.sweep_due(&self.trees.leases, "leases", now, |tx, ticket| {
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
        self.sweep_due(&self.trees.deadlines, "deadlines", now, |tx, ticket| {
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
    /// entry and applies `change` to its ticket, in one transaction each.
    /// `change` returns `None` to leave the ticket as it is. An entry whose
    /// ticket cannot be read is set aside and the sweep goes on.
    fn sweep_due(
        &self,
        index: &sled::Tree,
        index_name: &str,
        now: UnixMicros,
        change: impl Fn(&Tx<'_>, &mut Working) -> TxResult<Option<Vec<QueueEvent>>>,
    ) -> Result<Vec<Transition>, StoreError> {
        let due: Vec<_> = index
            .range(..keys::timed(now, TicketId(u64::MAX)))
            .map(|entry| entry.map(|(key, _)| key))
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        let mut changed = Vec::new();
        for key in due {
            let Some(id) = keys::ticket_id_from_tail(&key) else {
                continue;
            };
            let outcome = self.trees.transact(|tx| {
                let leases = index_name == "leases";
                let entry = if leases {
                    tx.leases.remove(key.as_ref())?
                } else {
                    tx.deadlines.remove(key.as_ref())?
                };
                let Some(entry) = entry else {
                    return Ok(Ok(None)); // handled meanwhile (released, extended, claimed)
                };
                let mut ticket = match tx.read(id) {
                    Ok(ticket) => ticket,
                    Err(sled::transaction::ConflictableTransactionError::Abort(err))
                        if is_unreadable(&err) =>
                    {
                        tx.quarantine(index_name, &key, &err.to_string())?;
                        if leases {
                            // A lease entry names its queue: its lease count goes too.
                            tx.count(&String::from_utf8_lossy(&entry), 0, -1)?;
                        }
                        return Ok(Err(err));
                    }
                    Err(other) => return Err(other),
                };
                let Some(events) = change(tx, &mut ticket)? else {
                    return Ok(Ok(None));
                };
                tx.write(&ticket)?;
                Ok(Ok(Some((ticket, events))))
            })?;
            match outcome {
                Ok(Some((ticket, events))) => changed.push(self.transition(ticket, events)?),
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(index = index_name, ticket = %id, error = %err, "unreadable ticket set aside from the maintenance index");
                }
            }
        }
        Ok(changed)
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
                Ok(true)
            })?;
            purged += usize::from(removed);
        }
        Ok(purged)
    }
}
