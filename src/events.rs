//! Queue events for live watchers. Published after a change is durable;
//! a bounded broadcast, so a slow watcher lags (and is told) instead of
//! slowing ingest or growing memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::clock::UnixMicros;
use crate::ticket::TicketId;

/// What happened in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueEventKind {
    /// A ticket entered the queue (ingest, transfer in, escalation in).
    Added,
    /// An agent claimed a ticket.
    Claimed,
    /// An agent gave a ticket back.
    Released,
    /// An agent completed a ticket.
    Completed,
    /// A ticket was moved to another queue.
    TransferredOut,
    /// A ticket breached its deadline and was escalated.
    Escalated,
    /// A lease ran out and the ticket went back to the queue.
    LeaseExpired,
}

/// One event in one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEvent {
    /// What happened.
    pub kind: QueueEventKind,
    /// To which ticket.
    pub ticket_id: TicketId,
    /// In which queue.
    pub queue: String,
    /// When.
    pub at: UnixMicros,
}

/// How many tickets entered and were completed in one queue since the
/// process started (what the console's rates are computed from).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueTotals {
    /// Tickets that entered the queue ([`QueueEventKind::Added`]).
    pub added: u64,
    /// Tickets completed from it ([`QueueEventKind::Completed`]).
    pub completed: u64,
}

/// Fan-out of queue events to watchers, and running totals per queue.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<QueueEvent>,
    /// A std mutex: held for a map update, never across an await.
    totals: Arc<Mutex<HashMap<String, QueueTotals>>>,
}

impl EventBus {
    /// A bus that buffers up to `capacity` events per watcher.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender,
            totals: Arc::default(),
        }
    }

    /// Sends events to the current watchers; never blocks.
    pub fn publish(&self, events: impl IntoIterator<Item = QueueEvent>) {
        for event in events {
            self.count(&event);
            // No watchers is fine: nobody is listening.
            let _ = self.sender.send(event);
        }
    }

    fn count(&self, event: &QueueEvent) {
        let step = |totals: &mut QueueTotals| match event.kind {
            QueueEventKind::Added => totals.added += 1,
            QueueEventKind::Completed => totals.completed += 1,
            _ => {}
        };
        if !matches!(event.kind, QueueEventKind::Added | QueueEventKind::Completed) {
            return;
        }
        let mut totals = self
            .totals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match totals.get_mut(&event.queue) {
            Some(queue) => step(queue),
            None => step(totals.entry(event.queue.clone()).or_default()),
        }
    }

    /// Every queue's totals so far.
    pub fn totals(&self) -> HashMap<String, QueueTotals> {
        self.totals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// How many watchers (streams and waiting claims) are subscribed.
    pub fn watchers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// A new watcher that sees events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<QueueEvent> {
        self.sender.subscribe()
    }
}
