//! A full consistency check of the store: every index and counter agrees
//! with the tickets, in both directions, and every set-aside entry is
//! reported. Used after crashes (tests, operators).

use std::collections::{BTreeMap, HashSet};

use super::keys;
use super::tx::{storage, Counts};
use super::Inner;
use crate::store::{ConsistencyReport, StoreError};
use crate::ticket::{Ticket, TicketState};

type Keys = HashSet<Vec<u8>>;

fn all_keys(tree: &sled::Tree) -> Result<Keys, StoreError> {
    tree.iter()
        .keys()
        .map(|key| Ok(key.map_err(storage)?.to_vec()))
        .collect()
}

impl Inner {
    /// Checks queues, deadlines, leases, counters, idempotency and customer
    /// indexes, and the journey rollups, against the tickets. Reads everything.
    pub(crate) fn verify(&self) -> Result<ConsistencyReport, StoreError> {
        let mut report = ConsistencyReport::default();
        let trees = &self.trees;
        let mut queue_keys = all_keys(&trees.queues)?;
        let mut queue_deadline_keys = all_keys(&trees.queue_deadlines)?;
        let mut deadline_keys = all_keys(&trees.deadlines)?;
        let mut lease_keys = all_keys(&trees.leases)?;
        let mut idempotency_keys = all_keys(&trees.idempotency)?;
        let mut customer_keys = all_keys(&trees.customers)?;
        let mut counts = BTreeMap::<String, Counts>::new();
        for entry in trees.tickets.iter() {
            let (key, _) = entry.map_err(storage)?;
            let Some(id) = keys::ticket_id_from_head(&key) else {
                report.problems.push("a ticket key is too short".to_string());
                continue;
            };
            let ticket = match self.load(id) {
                Ok(ticket) => ticket,
                Err(err) => {
                    report.problems.push(format!("{id}: unreadable: {err}"));
                    continue;
                }
            };
            report.tickets += 1;
            let mut problem = |what: &str| report.problems.push(format!("{id}: {what}"));
            let queue = &ticket.classification.queue;
            match &ticket.state {
                TicketState::Queued => {
                    counts.entry(queue.clone()).or_default().waiting += 1;
                    if !queue_keys.remove(&keys::queue_entry(&ticket)) {
                        problem("queued but missing from its queue");
                    }
                    if let Some(due) = ticket.first_response_due {
                        let key = keys::queue_deadline(queue, ticket.enqueued_at, due, id);
                        if !queue_deadline_keys.remove(&key) {
                            problem("queued with a deadline missing from its queue's deadline index");
                        }
                        if !ticket.escalated && !deadline_keys.remove(keys::timed(due, id).as_slice()) {
                            problem("queued, not escalated, but its deadline is not indexed");
                        }
                    }
                }
                TicketState::Claimed(lease) => {
                    counts.entry(queue.clone()).or_default().leased += 1;
                    if !lease_keys.remove(keys::timed(lease.expires_at, id).as_slice()) {
                        problem("claimed but its lease is not indexed");
                    }
                }
                TicketState::Completed => {}
            }
            let idempotency = keys::idempotency(&ticket.input.source, &ticket.input.external_id);
            if !idempotency_keys.remove(&idempotency) {
                problem("missing from the idempotency index");
            } else if trees.idempotency.get(&idempotency).map_err(storage)?.as_deref()
                != Some(&keys::ticket(id)[..])
            {
                problem("idempotency index points elsewhere");
            }
            if !ticket.input.customer.id.is_empty() && !customer_keys.remove(&keys::customer_entry(&ticket)) {
                problem("missing from the customer index");
            }
            count_state(&mut report, &ticket);
        }
        self.check_counters(&counts, &mut report)?;
        report.problems.extend(self.check_rollups()?);
        let orphans = [
            ("queue entries", queue_keys.len()),
            ("queue deadline entries", queue_deadline_keys.len()),
            ("deadline entries", deadline_keys.len()),
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
        report.quarantined = trees.quarantine.len();
        if report.quarantined > 0 {
            report.problems.push(format!(
                "{} index entries were set aside because their tickets could not be read",
                report.quarantined
            ));
        }
        Ok(report)
    }

    fn check_counters(
        &self,
        counts: &BTreeMap<String, Counts>,
        report: &mut ConsistencyReport,
    ) -> Result<(), StoreError> {
        for entry in self.trees.counters.iter() {
            let (queue, bytes) = entry.map_err(storage)?;
            let queue = String::from_utf8_lossy(&queue).into_owned();
            let stored = Counts::decode(&bytes);
            let actual = counts.get(&queue).copied().unwrap_or_default();
            if stored != actual {
                report.problems.push(format!(
                    "queue {queue:?} counts {} waiting / {} leased, the tickets say {} / {}",
                    stored.waiting, stored.leased, actual.waiting, actual.leased
                ));
            }
        }
        for (queue, actual) in counts {
            if self
                .trees
                .counters
                .get(queue.as_bytes())
                .map_err(storage)?
                .is_none()
                && *actual != Counts::default()
            {
                report
                    .problems
                    .push(format!("queue {queue:?} has tickets but no counters"));
            }
        }
        Ok(())
    }
}

fn count_state(report: &mut ConsistencyReport, ticket: &Ticket) {
    match ticket.state {
        TicketState::Queued => report.queued += 1,
        TicketState::Claimed(_) => report.claimed += 1,
        TicketState::Completed => report.completed += 1,
    }
}
