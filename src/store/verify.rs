//! A full consistency check of the store: every index agrees with the
//! tickets, in both directions. Used after crashes (tests, operators).

use std::collections::HashSet;

use super::{keys, records, Store, StoreError};
use crate::ticket::{Ticket, TicketState};

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
    /// Every disagreement found, in words.
    pub problems: Vec<String>,
}

impl ConsistencyReport {
    /// True when no problem was found.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

type Keys = HashSet<Vec<u8>>;

fn all_keys(tree: &sled::Tree) -> Result<Keys, StoreError> {
    tree.iter().keys().map(|key| Ok(key?.to_vec())).collect()
}

impl Store {
    /// Checks that queues, leases, deadlines, idempotency and customer
    /// indexes agree with the tickets. Reads everything: for tools and tests.
    pub fn verify(&self) -> Result<ConsistencyReport, StoreError> {
        let mut report = ConsistencyReport::default();
        let mut queue_keys = all_keys(&self.queues)?;
        let mut lease_keys = all_keys(&self.leases)?;
        let mut idempotency_keys = all_keys(&self.idempotency)?;
        let mut customer_keys = all_keys(&self.customers)?;
        for entry in self.tickets.iter() {
            let (key, bytes) = entry?;
            let id =
                keys::ticket_id_from_tail(&key).ok_or_else(|| records::corrupt("ticket key", "short"))?;
            let ticket = records::decode_ticket(id, &bytes)?;
            report.tickets += 1;
            let mut problem = |what: &str| report.problems.push(format!("{id}: {what}"));
            let queue_entry = keys::queue_entry(&ticket);
            match &ticket.state {
                TicketState::Queued => {
                    if !queue_keys.remove(&queue_entry) {
                        problem("queued but missing from its queue");
                    }
                }
                TicketState::Claimed(lease) => {
                    if !lease_keys.remove(keys::timed(lease.expires_at, id).as_slice()) {
                        problem("claimed but its lease is not indexed");
                    }
                }
                TicketState::Completed => {}
            }
            let idempotency = keys::idempotency(&ticket.input.source, &ticket.input.external_id);
            if !idempotency_keys.remove(&idempotency) {
                problem("missing from the idempotency index");
            } else if self.idempotency.get(&idempotency)?.as_deref() != Some(&keys::ticket(id)[..]) {
                problem("idempotency index points elsewhere");
            }
            if !ticket.input.customer.id.is_empty() && !customer_keys.remove(&keys::customer_entry(&ticket)) {
                problem("missing from the customer index");
            }
            count_state(&mut report, &ticket);
        }
        let orphans = [
            ("queue entries", queue_keys.len()),
            ("lease entries", lease_keys.len()),
            ("idempotency entries", idempotency_keys.len()),
            ("customer entries", customer_keys.len()),
        ];
        for (what, count) in orphans {
            if count > 0 {
                report
                    .problems
                    .push(format!("{count} orphan {what} with no matching ticket"));
            }
        }
        Ok(report)
    }
}

fn count_state(report: &mut ConsistencyReport, ticket: &Ticket) {
    match ticket.state {
        TicketState::Queued => report.queued += 1,
        TicketState::Claimed(_) => report.claimed += 1,
        TicketState::Completed => report.completed += 1,
    }
}
