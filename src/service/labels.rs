//! `ExportLabels` streams. The store scan runs on a blocking thread (it reads
//! the whole tickets tree) and feeds a small channel, so a slow client holds
//! back the scan instead of filling memory, and a client that goes away
//! stops it.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::Status;

use super::convert;
use crate::app::App;
use crate::pb;

/// Labelled tickets buffered between the scan and the client's stream.
const STREAM_BUFFER: usize = 64;

/// The stream type `ExportLabels` returns.
pub type LabelStream = Pin<Box<dyn Stream<Item = Result<pb::LabelledTicket, Status>> + Send>>;

/// Starts scanning `app`'s store for labelled tickets into a new stream.
pub(crate) fn stream(app: Arc<App>, include_uncorrected: bool) -> LabelStream {
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    tokio::task::spawn_blocking(move || {
        for labelled in app.labelled_tickets(include_uncorrected) {
            let message = labelled.map(convert::labelled_ticket).map_err(Status::from);
            let failed = message.is_err();
            if sender.blocking_send(message).is_err() || failed {
                break;
            }
        }
    });
    Box::pin(ReceiverStream::new(receiver))
}
