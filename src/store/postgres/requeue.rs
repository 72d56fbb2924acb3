//! Re-filing a waiting ticket under a new classification (a rule change
//! applied to open work, or a queue dropped with its tickets moved), one
//! transaction per ticket, the state row locked: a ticket claimed meanwhile
//! on any replica is left as it is.

use super::events;
use super::rows::{self, Counts};
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
    pub(super) async fn requeue(
        &self,
        id: TicketId,
        classification: &Classification,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let request = (id, classification, reason, now);
        self.transact(&request, |tx, (id, classification, reason, now)| {
            Box::pin(async move {
                let mut working = rows::load_for_update(tx, *id).await?;
                if working.ticket.state != TicketState::Queued {
                    return Ok(None);
                }
                let from = working.ticket.classification.queue.clone();
                let to = classification.queue.clone();
                working.ticket.classification = (*classification).clone();
                working.record(
                    *now,
                    SYSTEM_ACTOR,
                    "reclassified",
                    format!("{from} -> {to}: {reason}"),
                );
                let mut counts = Counts::new();
                working.write(tx, &mut counts).await?;
                counts.apply(tx).await?;
                let events = if from == to {
                    Vec::new()
                } else {
                    vec![
                        event(QueueEventKind::TransferredOut, *id, &from, *now),
                        event(QueueEventKind::Added, *id, &to, *now),
                    ]
                };
                events::record(tx, &events).await?;
                Ok(Some(Transition {
                    ticket: working.ticket,
                    events,
                }))
            })
        })
        .await
    }
}
