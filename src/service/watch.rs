//! `WatchQueue` streams. A forwarding task per watcher filters the event bus
//! for one queue into a small channel. A watcher that reads slowly fills the
//! channel, its bus receiver falls behind and is told how many events it
//! missed (a LAGGED event): memory stays bounded and ingest never waits.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, OwnedSemaphorePermit};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::Status;

use super::convert;
use crate::app::App;
use crate::events::QueueEvent;
use crate::pb;
use crate::shutdown::Shutdown;

/// Events buffered between the forwarding task and the client's stream.
const STREAM_BUFFER: usize = 16;

/// The stream type `WatchQueue` returns.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::WatchQueueResponse, Status>> + Send>>;

/// What a forwarding task holds while it runs: the signal that ends it, and
/// its slot under the cap on watchers (freed when the task ends).
pub(crate) struct Watcher {
    pub(crate) shutdown: Shutdown,
    pub(crate) slot: OwnedSemaphorePermit,
}

/// Starts forwarding `queue`'s events to a new stream.
pub(crate) fn forward(
    app: Arc<App>,
    queue: String,
    mut events: broadcast::Receiver<QueueEvent>,
    watcher: Watcher,
) -> EventStream {
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    let Watcher { mut shutdown, slot } = watcher;
    tokio::spawn(async move {
        let _slot = slot;
        loop {
            let message = tokio::select! {
                () = shutdown.wait() => break,
                () = sender.closed() => break,
                received = events.recv() => match received {
                    Ok(event) if event.queue == queue => convert::queue_event(event),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(missed)) => convert::lagged(&queue, missed, app.now()),
                    Err(RecvError::Closed) => break,
                },
            };
            let sent = tokio::select! {
                () = shutdown.wait() => break,
                sent = sender.send(Ok(message)) => sent,
            };
            if sent.is_err() {
                break;
            }
        }
    });
    Box::pin(ReceiverStream::new(receiver))
}
