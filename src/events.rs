//! Queue events for live watchers. Published after a change is durable;
//! a bounded broadcast, so a slow watcher lags (and is told) instead of
//! slowing ingest or growing memory.

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

/// Fan-out of queue events to watchers.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<QueueEvent>,
}

impl EventBus {
    /// A bus that buffers up to `capacity` events per watcher.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }

    /// Sends events to the current watchers; never blocks.
    pub fn publish(&self, events: impl IntoIterator<Item = QueueEvent>) {
        for event in events {
            // No watchers is fine: nobody is listening.
            let _ = self.sender.send(event);
        }
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
