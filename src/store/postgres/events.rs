//! Queue events across replicas. Every change writes its events to
//! `triage_events` in its own transaction, so an event exists exactly when
//! its change committed, whichever replica made it. Each replica runs one
//! tailer that reads the table with a cursor (plain SELECTs, so it works on
//! CockroachDB and YugabyteDB too) and publishes what it reads to the
//! replica's [`EventBus`]: a watcher on replica B hears of a claim made on
//! replica A within one poll interval.
//!
//! Event ids come from a sequence, so they are unique and increasing in
//! the order they were taken, but a transaction that took a lower id may
//! commit after one that took a higher id. The cursor therefore remembers
//! the ids it skipped over ("gaps") and looks for them again on every poll
//! for [`GAP_PATIENCE`]; ids from rolled-back transactions never appear and
//! are forgotten then.
//!
//! The tailer's round trip also probes the database: its success or
//! failure is what `health()` reports. It also deletes events older than
//! an hour, far longer than any replica needs to read them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::Transaction;
use tokio::sync::oneshot;

use super::rows::{sql_id, ticket_id};
use super::tx::{db_error, TxResult};
use super::Inner;
use crate::clock::UnixMicros;
use crate::events::{QueueEvent, QueueEventKind};
use crate::store::StoreError;

/// How long a skipped event id is looked for again.
const GAP_PATIENCE: Duration = Duration::from_secs(10);

/// Most skipped ids remembered at once.
const MAX_GAPS: usize = 10_000;

/// Most events read per poll.
const PAGE: i64 = 1_000;

/// How often the tailer refreshes the ticket count and deletes old events.
const HOUSEKEEPING: Duration = Duration::from_secs(2);

const KINDS: [(QueueEventKind, i16); 7] = [
    (QueueEventKind::Added, 0),
    (QueueEventKind::Claimed, 1),
    (QueueEventKind::Released, 2),
    (QueueEventKind::Completed, 3),
    (QueueEventKind::TransferredOut, 4),
    (QueueEventKind::Escalated, 5),
    (QueueEventKind::LeaseExpired, 6),
];

fn kind_code(kind: QueueEventKind) -> i16 {
    KINDS
        .iter()
        .find(|(known, _)| *known == kind)
        .map_or(-1, |(_, code)| *code)
}

fn kind_of(code: i16) -> Option<QueueEventKind> {
    KINDS
        .iter()
        .find(|(_, known)| *known == code)
        .map(|(kind, _)| *kind)
}

/// Writes `events` in the change's transaction.
pub(super) async fn record(tx: &Transaction<'_>, events: &[QueueEvent]) -> TxResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let statement = tx
        .prepare_cached("INSERT INTO triage_events (queue, kind, ticket_id, at) VALUES ($1, $2, $3, $4)")
        .await?;
    for event in events {
        tx.execute(
            &statement,
            &[
                &event.queue,
                &kind_code(event.kind),
                &sql_id(event.ticket_id),
                &event.at.0,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Where a tailer has read up to.
#[derive(Debug, Default)]
struct Cursor {
    /// The highest id read.
    high: i64,
    /// Ids below `high` not read yet, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
}

impl Cursor {
    /// Takes note of an event read: the ids skipped on the way become gaps.
    fn read(&mut self, id: i64, now: Instant) {
        if id > self.high {
            let from = (self.high + 1).max(id.saturating_sub(MAX_GAPS as i64));
            for missing in from..id {
                self.gaps.insert(missing, now);
            }
            self.high = id;
        } else {
            self.gaps.remove(&id);
        }
        while self.gaps.len() > MAX_GAPS {
            self.gaps.pop_first();
        }
    }

    /// Forgets gaps looked for long enough.
    fn give_up(&mut self, now: Instant) {
        self.gaps
            .retain(|_, since| now.duration_since(*since) < GAP_PATIENCE);
    }
}

/// Starts the tailer at the newest event: watchers hear of every change
/// committed from now on. It stops when `stop`'s sender is dropped.
pub(super) async fn spawn(inner: Arc<Inner>, stop: oneshot::Receiver<()>) -> Result<(), StoreError> {
    let mut cursor = Cursor::default();
    start(&inner, &mut cursor).await?;
    housekeeping(&inner).await?;
    tokio::spawn(async move {
        let mut stop = stop;
        let mut housekept = Instant::now();
        loop {
            tokio::select! {
                _ = &mut stop => return,
                () = tokio::time::sleep(inner.options.poll_interval) => {}
            }
            let polled = poll(&inner, &mut cursor).await;
            match polled {
                Ok(()) => inner.health.ok(),
                Err(err) => inner.health.failed(&err.to_string()),
            }
            if housekept.elapsed() >= HOUSEKEEPING {
                housekept = Instant::now();
                if let Err(err) = housekeeping(&inner).await {
                    tracing::debug!(error = %err, "event housekeeping failed");
                }
            }
        }
    });
    Ok(())
}

/// Puts the cursor at the newest event.
async fn start(inner: &Inner, cursor: &mut Cursor) -> Result<(), StoreError> {
    let client = inner.client().await?;
    let row = client
        .query_one("SELECT COALESCE(MAX(id), 0) FROM triage_events", &[])
        .await
        .map_err(db_error)?;
    cursor.high = row.get(0);
    Ok(())
}

/// Reads new events and late ones, and publishes them.
async fn poll(inner: &Inner, cursor: &mut Cursor) -> Result<(), StoreError> {
    let client = inner.client().await?;
    let columns = "SELECT id, queue, kind, ticket_id, at FROM triage_events";
    let fresh = client
        .prepare_cached(&format!("{columns} WHERE id > $1 ORDER BY id LIMIT {PAGE}"))
        .await
        .map_err(db_error)?;
    let mut rows = client.query(&fresh, &[&cursor.high]).await.map_err(db_error)?;
    if !cursor.gaps.is_empty() {
        let gaps: Vec<i64> = cursor.gaps.keys().copied().collect();
        let late = client
            .prepare_cached(&format!("{columns} WHERE id = ANY($1) ORDER BY id"))
            .await
            .map_err(db_error)?;
        let mut late = client.query(&late, &[&gaps]).await.map_err(db_error)?;
        late.append(&mut rows);
        rows = late;
    }
    let now = Instant::now();
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        cursor.read(row.get(0), now);
        let Some(kind) = kind_of(row.get(2)) else {
            continue;
        };
        events.push(crate::store::verbs::event(
            kind,
            ticket_id(row.get(3)),
            row.get(1),
            UnixMicros(row.get(4)),
        ));
    }
    cursor.give_up(now);
    if let Some(bus) = inner.bus.get() {
        bus.publish(events);
    }
    Ok(())
}

/// Refreshes the ticket count and deletes events past their retention.
async fn housekeeping(inner: &Inner) -> Result<(), StoreError> {
    let client = inner.client().await?;
    let row = client
        .query_one("SELECT COUNT(*) FROM triage_tickets", &[])
        .await
        .map_err(db_error)?;
    let count: i64 = row.get(0);
    inner.ticket_count.store(
        usize::try_from(count).unwrap_or(0),
        std::sync::atomic::Ordering::Relaxed,
    );
    client
        .execute(
            "DELETE FROM triage_events WHERE recorded_at < now() - INTERVAL '1 hour'",
            &[],
        )
        .await
        .map_err(db_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_round_trips_its_code() {
        for (kind, code) in KINDS {
            assert_eq!(kind_code(kind), code);
            assert_eq!(kind_of(code), Some(kind));
        }
    }

    #[test]
    fn skipped_ids_are_looked_for_until_read_or_given_up() {
        let mut cursor = Cursor::default();
        let start = Instant::now();
        cursor.read(1, start);
        cursor.read(4, start);
        assert_eq!(cursor.gaps.keys().copied().collect::<Vec<_>>(), [2, 3]);
        cursor.read(3, start);
        assert_eq!(cursor.gaps.keys().copied().collect::<Vec<_>>(), [2]);
        cursor.give_up(start + GAP_PATIENCE);
        assert!(cursor.gaps.is_empty());
        assert_eq!(cursor.high, 4);
    }
}
