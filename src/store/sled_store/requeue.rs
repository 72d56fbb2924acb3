//! Re-filing a waiting ticket under a new classification (a rule change
//! applied to open work, or a queue dropped with its tickets moved), in
//! one transaction per ticket.

use super::workflow::refresh_journey;
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::QueueEventKind;
use crate::store::verbs::event;
use crate::store::{StoreError, Transition};
use crate::ticket::{Classification, TicketId, TicketState, SYSTEM_ACTOR};

impl Inner {
    /// Gives a waiting ticket `classification` in place of its own and
    /// files it in that queue at its priority (keeping its deadline), with
    /// a history entry saying why. `None` when the ticket is not waiting.
    pub(crate) fn requeue(
        &self,
        id: TicketId,
        classification: &Classification,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let moved = self.committer.in_order(
            || {
                self.trees.transact(|tx| {
                    let mut ticket = tx.read(id)?;
                    if ticket.record.state != TicketState::Queued {
                        return Ok(None);
                    }
                    tx.dequeue(&ticket)?;
                    let from = ticket.record.classification.queue.clone();
                    let to = classification.queue.clone();
                    ticket.record.classification = classification.clone();
                    tx.enqueue(&mut ticket)?;
                    ticket.record(
                        now,
                        SYSTEM_ACTOR,
                        "reclassified",
                        format!("{from} -> {to}: {reason}"),
                    );
                    refresh_journey(tx, &ticket)?;
                    tx.write(&ticket)?;
                    let events = match from == to {
                        true => Vec::new(),
                        false => vec![
                            event(QueueEventKind::TransferredOut, id, &from, now),
                            event(QueueEventKind::Added, id, &to, now),
                        ],
                    };
                    Ok(Some((ticket, events)))
                })
            },
            |moved| moved.as_ref().map_or_else(Vec::new, |(_, events)| events.clone()),
        )?;
        moved
            .map(|(ticket, events)| self.transition(ticket, events))
            .transpose()
    }
}
