//! Idempotent ingest: the input row's unique (source, external_id)
//! constraint decides, with `INSERT ... ON CONFLICT DO NOTHING`, never a
//! read-then-write, so the same ticket sent through two replicas at once
//! is stored once and both callers get the one ticket.

use std::sync::atomic::Ordering;

use super::events;
use super::rows::{self, Counts, Working};
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::QueueEventKind;
use crate::store::codec;
use crate::store::verbs::event;
use crate::store::{Ingested, StoreError};
use crate::ticket::{Classification, Ticket, TicketId, TicketInput};

/// What an ingest transaction did.
enum Outcome {
    Created(Box<Ticket>),
    Earlier(TicketId),
}

impl Inner {
    /// Stores a ticket, or finds the one stored under its (source,
    /// external_id).
    pub(super) async fn ingest(
        &self,
        input: TicketInput,
        classification: Classification,
        now: UnixMicros,
    ) -> Result<Ingested, StoreError> {
        let request = (input, classification, now);
        let outcome = self
            .transact(&request, |tx, (input, classification, now)| {
                Box::pin(async move {
                    let Some(id) = rows::insert_input(tx, input, classification).await? else {
                        let earlier =
                            rows::find_by_external_id(tx, &input.source, &input.external_id).await?;
                        let earlier = earlier.ok_or_else(|| {
                            StoreError::Storage("an ingest conflicted with a ticket that is gone".into())
                        })?;
                        return Ok(Outcome::Earlier(earlier));
                    };
                    let ticket = codec::new_ticket(id, input.clone(), classification.clone(), *now);
                    let mut working = Working::new(ticket);
                    let mut counts = Counts::new();
                    working.insert(tx, &mut counts).await?;
                    counts.apply(tx).await?;
                    let queue = &working.ticket.classification.queue;
                    events::record(tx, &[event(QueueEventKind::Added, id, queue, *now)]).await?;
                    Ok(Outcome::Created(Box::new(working.ticket)))
                })
            })
            .await?;
        match outcome {
            Outcome::Created(ticket) => {
                self.ticket_count.fetch_add(1, Ordering::Relaxed);
                Ok(Ingested {
                    ticket: *ticket,
                    created: true,
                })
            }
            Outcome::Earlier(id) => Ok(Ingested {
                ticket: self.get(id).await?,
                created: false,
            }),
        }
    }
}
