//! Re-filing a waiting ticket under a new classification (a rule change
//! applied to open work, or a dropped queue's tickets moved), in one
//! transaction.

use deadpool_postgres::Transaction;

use super::events;
use super::rows::{self, Counts};
use super::tx::TxResult;
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::QueueEventKind;
use crate::store::verbs::event;
use crate::store::{StoreError, Transition};
use crate::ticket::{Classification, TicketId, TicketState, SYSTEM_ACTOR};

impl Inner {
    /// See [`TicketStore::requeue`](crate::store::TicketStore::requeue).
    pub(super) async fn requeue(
        &self,
        id: TicketId,
        classification: &Classification,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        self.transact(
            &(id, classification, reason, now),
            |tx, (id, classification, reason, now)| {
                Box::pin(requeue_in(tx, *id, classification, reason, *now))
            },
        )
        .await
    }
}

async fn requeue_in(
    tx: &Transaction<'_>,
    id: TicketId,
    classification: &Classification,
    reason: &str,
    now: UnixMicros,
) -> TxResult<Option<Transition>> {
    let mut working = rows::load_for_update(tx, id).await?;
    if working.ticket.state != TicketState::Queued {
        return Ok(None);
    }
    let from = working.ticket.classification.queue.clone();
    let to = classification.queue.clone();
    working.ticket.classification = classification.clone();
    working.record(
        now,
        SYSTEM_ACTOR,
        "reclassified",
        format!("{from} -> {to}: {reason}"),
    );
    let events = match from == to {
        true => Vec::new(),
        false => vec![
            event(QueueEventKind::TransferredOut, id, &from, now),
            event(QueueEventKind::Added, id, &to, now),
        ],
    };
    let mut counts = Counts::new();
    working.write(tx, &mut counts).await?;
    counts.apply(tx).await?;
    events::record(tx, &events).await?;
    Ok(Some(Transition {
        ticket: working.ticket,
        events,
    }))
}
