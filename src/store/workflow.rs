//! Agent workflow verbs: claim, extend, release, complete, transfer, and the
//! clock-driven ones, lease expiry and deadline escalation.

use rand::Rng;
use sled::transaction::TransactionalTree;
use sled::Transactional;

use super::records::{self, JourneyEntry};
use super::{abort, keys, read_ticket, write_ticket, Store, StoreError, TxResult};
use crate::clock::UnixMicros;
use crate::events::{QueueEvent, QueueEventKind};
use crate::ticket::{HistoryEntry, Lease, Priority, Relabel, Ticket, TicketId, TicketState, SYSTEM_ACTOR};

/// A ticket after a state change, with the queue events it caused.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The ticket as it is now.
    pub ticket: Ticket,
    /// What watchers of the affected queues should hear.
    pub events: Vec<QueueEvent>,
}

/// How a queue escalates tickets that breach their deadline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EscalationPolicy {
    /// Move the ticket here (stays in its queue when `None`).
    pub move_to: Option<String>,
    /// Raise to this priority (one step up when `None`).
    pub priority: Option<Priority>,
}

fn event(kind: QueueEventKind, ticket: &Ticket, queue: &str, at: UnixMicros) -> QueueEvent {
    QueueEvent {
        kind,
        ticket_id: ticket.id,
        queue: queue.to_string(),
        at,
    }
}

fn record(ticket: &mut Ticket, at: UnixMicros, actor: &str, action: &str, detail: String) {
    ticket.history.push(HistoryEntry {
        at,
        actor: actor.to_string(),
        action: action.to_string(),
        detail,
    });
}

/// Records an agent's correction and its history entry; false when
/// `relabel` corrects nothing.
fn correct(ticket: &mut Ticket, relabel: &Relabel, agent_id: &str, at: UnixMicros) -> bool {
    if relabel.is_empty() {
        return false;
    }
    ticket.correct(relabel, agent_id, at);
    record(ticket, at, agent_id, "corrected", relabel.describe());
    true
}

/// Rewrites the ticket's customer-journey entry (state, final side and
/// category), if it has a customer.
fn refresh_journey(trees: &LeaseTrees<'_>, ticket: &Ticket) -> TxResult<()> {
    if ticket.input.customer.id.is_empty() {
        return Ok(());
    }
    let journey = records::encode(&JourneyEntry::of(ticket)).map_err(abort)?;
    trees.customers.insert(keys::customer_entry(ticket), journey)?;
    Ok(())
}

fn new_token() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// The ticket's lease, if `token` is its current, unexpired one.
fn current_lease(ticket: &Ticket, token: &str, now: UnixMicros) -> Result<Lease, StoreError> {
    match &ticket.state {
        TicketState::Claimed(lease) if lease.token == token && lease.expires_at > now => Ok(lease.clone()),
        TicketState::Claimed(_) => Err(StoreError::StaleLease(ticket.id)),
        TicketState::Queued => Err(StoreError::NotClaimed {
            id: ticket.id,
            state: "queued",
        }),
        TicketState::Completed => Err(StoreError::NotClaimed {
            id: ticket.id,
            state: "completed",
        }),
    }
}

/// Puts a ticket (back) in its queue at its position.
fn enqueue(queues: &TransactionalTree, ticket: &mut Ticket) -> TxResult<()> {
    ticket.state = TicketState::Queued;
    queues.insert(keys::queue_entry(ticket), keys::queue_entry_value(ticket))?;
    Ok(())
}

impl Store {
    /// Leases the first waiting ticket of `queue` to `agent_id`, or `None`
    /// when the queue is empty. Returns once durable.
    pub async fn claim_next(
        &self,
        queue: &str,
        agent_id: &str,
        lease_seconds: u32,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let claimed = {
            let _serialised = self
                .claim_lock
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.claim_head(queue, agent_id, lease_seconds, now)?
        };
        if claimed.is_some() {
            self.sync().await?;
        }
        Ok(claimed)
    }

    fn claim_head(
        &self,
        queue: &str,
        agent_id: &str,
        lease_seconds: u32,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let prefix = keys::queue_prefix(queue);
        loop {
            let Some(head) = self.queues.scan_prefix(&prefix).next() else {
                return Ok(None);
            };
            let (key, _) = head?;
            let id = keys::ticket_id_from_tail(&key)
                .ok_or_else(|| records::corrupt("queue entry", "short key"))?;
            let expires_at = now.plus_seconds(u64::from(lease_seconds));
            let lease = Lease {
                agent_id: agent_id.to_string(),
                token: new_token(),
                expires_at,
            };
            let claimed = (&self.queues, &self.tickets, &self.leases, &self.deadlines).transaction(
                |(queues, tickets, leases, deadlines)| {
                    if queues.remove(key.as_ref())?.is_none() {
                        return Ok(None); // taken meanwhile: look again
                    }
                    let mut ticket = read_ticket(tickets, id)?;
                    if let Some(due) = ticket.first_response_due {
                        deadlines.remove(&keys::timed(due, id))?;
                    }
                    ticket.state = TicketState::Claimed(lease.clone());
                    ticket.claim_count += 1;
                    record(
                        &mut ticket,
                        now,
                        agent_id,
                        "claimed",
                        format!("lease {lease_seconds}s"),
                    );
                    leases.insert(&keys::timed(expires_at, id), queue.as_bytes())?;
                    write_ticket(tickets, &ticket)?;
                    Ok(Some(ticket))
                },
            )?;
            if let Some(ticket) = claimed {
                let events = vec![event(QueueEventKind::Claimed, &ticket, queue, now)];
                return Ok(Some(Transition { ticket, events }));
            }
        }
    }

    /// Runs `change` on a claimed ticket whose lease `token` is current,
    /// with the lease index entry already removed. Returns once durable.
    async fn with_lease(
        &self,
        id: TicketId,
        token: &str,
        now: UnixMicros,
        change: impl Fn(&mut Ticket, &Lease, &LeaseTrees<'_>) -> TxResult<Vec<QueueEvent>>,
    ) -> Result<Transition, StoreError> {
        let transition = (&self.tickets, &self.queues, &self.leases, &self.customers).transaction(
            |(tickets, queues, leases, customers)| {
                let mut ticket = read_ticket(tickets, id)?;
                let lease = current_lease(&ticket, token, now).map_err(abort)?;
                leases.remove(&keys::timed(lease.expires_at, id))?;
                let trees = LeaseTrees {
                    queues,
                    leases,
                    customers,
                };
                let events = change(&mut ticket, &lease, &trees)?;
                write_ticket(tickets, &ticket)?;
                Ok(Transition { ticket, events })
            },
        )?;
        self.sync().await?;
        Ok(transition)
    }

    /// Extends a lease to `lease_seconds` from now.
    pub async fn extend_lease(
        &self,
        id: TicketId,
        token: &str,
        lease_seconds: u32,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        self.with_lease(id, token, now, |ticket, lease, trees| {
            let expires_at = now.plus_seconds(u64::from(lease_seconds));
            let queue = ticket.classification.queue.clone();
            trees
                .leases
                .insert(&keys::timed(expires_at, id), queue.as_bytes())?;
            ticket.state = TicketState::Claimed(Lease {
                expires_at,
                ..lease.clone()
            });
            record(
                ticket,
                now,
                &lease.agent_id,
                "lease_extended",
                format!("lease {lease_seconds}s"),
            );
            Ok(Vec::new())
        })
        .await
    }

    /// Gives a claimed ticket back to its queue, at its old place.
    pub async fn release(
        &self,
        id: TicketId,
        token: &str,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        self.with_lease(id, token, now, |ticket, lease, trees| {
            enqueue(trees.queues, ticket)?;
            record(ticket, now, &lease.agent_id, "released", reason.to_string());
            let queue = ticket.classification.queue.clone();
            Ok(vec![event(QueueEventKind::Released, ticket, &queue, now)])
        })
        .await
    }

    /// Completes a claimed ticket with a resolution note, recording the
    /// agent's correction of its side and category, if any.
    pub async fn complete(
        &self,
        id: TicketId,
        token: &str,
        resolution: &str,
        relabel: &Relabel,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        self.with_lease(id, token, now, |ticket, lease, trees| {
            correct(ticket, relabel, &lease.agent_id, now);
            ticket.state = TicketState::Completed;
            ticket.resolution = resolution.to_string();
            record(ticket, now, &lease.agent_id, "completed", resolution.to_string());
            refresh_journey(trees, ticket)?;
            let queue = ticket.classification.queue.clone();
            Ok(vec![event(QueueEventKind::Completed, ticket, &queue, now)])
        })
        .await
    }

    /// Moves a claimed ticket to `to_queue` (which the caller has checked
    /// exists), waiting there by its original ingest time, recording the
    /// agent's correction of its side and category, if any.
    pub async fn transfer(
        &self,
        id: TicketId,
        token: &str,
        to_queue: &str,
        reason: &str,
        relabel: &Relabel,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        self.with_lease(id, token, now, |ticket, lease, trees| {
            if correct(ticket, relabel, &lease.agent_id, now) {
                refresh_journey(trees, ticket)?;
            }
            let from = std::mem::replace(&mut ticket.classification.queue, to_queue.to_string());
            enqueue(trees.queues, ticket)?;
            record(
                ticket,
                now,
                &lease.agent_id,
                "transferred",
                format!("{from} -> {to_queue}: {reason}"),
            );
            Ok(vec![
                event(QueueEventKind::TransferredOut, ticket, &from, now),
                event(QueueEventKind::Added, ticket, to_queue, now),
            ])
        })
        .await
    }

    /// Returns tickets whose lease ran out by `now` to their queues.
    pub async fn expire_leases(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.sweep_due(&self.leases, now, |ticket, queues| {
            let Some(lease) = ticket.lease().cloned() else {
                return Ok(None);
            };
            enqueue(queues, ticket)?;
            let detail = format!("lease of {} ran out", lease.agent_id);
            record(ticket, now, SYSTEM_ACTOR, "lease_expired", detail);
            let queue = ticket.classification.queue.clone();
            Ok(Some(vec![event(
                QueueEventKind::LeaseExpired,
                ticket,
                &queue,
                now,
            )]))
        })
        .await
    }

    /// Escalates waiting tickets past their first-response deadline, once
    /// each, as `policy` says for the queue they wait in.
    pub async fn escalate_breaches(
        &self,
        now: UnixMicros,
        policy: impl Fn(&str) -> EscalationPolicy,
    ) -> Result<Vec<Transition>, StoreError> {
        self.sweep_due(&self.deadlines, now, |ticket, queues| {
            if ticket.escalated || ticket.state != TicketState::Queued {
                return Ok(None);
            }
            queues.remove(keys::queue_entry(ticket))?;
            let from = ticket.classification.queue.clone();
            let rule = policy(&from);
            let to = rule.move_to.unwrap_or_else(|| from.clone());
            let priority = rule
                .priority
                .unwrap_or_else(|| ticket.classification.priority.raised());
            ticket.classification.queue.clone_from(&to);
            ticket.classification.priority = priority;
            ticket.escalated = true;
            enqueue(queues, ticket)?;
            let detail = format!("first-response deadline breached; {from} -> {to}, priority {priority:?}");
            record(ticket, now, SYSTEM_ACTOR, "escalated", detail);
            let mut events = vec![event(QueueEventKind::Escalated, ticket, &from, now)];
            if to != from {
                events.push(event(QueueEventKind::Added, ticket, &to, now));
            }
            Ok(Some(events))
        })
        .await
    }

    /// For every entry of the time index `index` due by `now`: removes the
    /// entry and applies `change` to its ticket, in one transaction each.
    /// `change` returns `None` to leave the ticket as it is. Returns once
    /// the changes are durable.
    async fn sweep_due(
        &self,
        index: &sled::Tree,
        now: UnixMicros,
        change: impl Fn(&mut Ticket, &TransactionalTree) -> TxResult<Option<Vec<QueueEvent>>>,
    ) -> Result<Vec<Transition>, StoreError> {
        let due: Vec<_> = index
            .range(..keys::timed(now, TicketId(u64::MAX)))
            .map(|entry| entry.map(|(key, _)| key))
            .collect::<Result<_, _>>()?;
        let mut changed = Vec::new();
        for key in due {
            let id = keys::ticket_id_from_tail(&key)
                .ok_or_else(|| records::corrupt("time index entry", "short key"))?;
            let transition =
                (&self.tickets, &self.queues, index).transaction(|(tickets, queues, index)| {
                    if index.remove(key.as_ref())?.is_none() {
                        return Ok(None); // handled meanwhile (released, extended, claimed)
                    }
                    let mut ticket = read_ticket(tickets, id)?;
                    let Some(events) = change(&mut ticket, queues)? else {
                        return Ok(None);
                    };
                    write_ticket(tickets, &ticket)?;
                    Ok(Some(Transition { ticket, events }))
                })?;
            changed.extend(transition);
        }
        if !changed.is_empty() {
            self.sync().await?;
        }
        Ok(changed)
    }
}

/// The trees a lease-holder's change may touch besides the ticket itself.
struct LeaseTrees<'a> {
    queues: &'a TransactionalTree,
    leases: &'a TransactionalTree,
    customers: &'a TransactionalTree,
}
