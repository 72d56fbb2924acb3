//! `BacktestRuleSet` streams: the backtest runs on a blocking thread and
//! feeds a small channel with progress and then the result, so a slow
//! client holds back the scan, and a client that goes away stops it.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::Status;

use super::convert;
use crate::app::App;
use crate::backtest::BacktestFilter;
use crate::pb;

/// Messages buffered between the backtest and the client's stream.
const STREAM_BUFFER: usize = 16;

/// The stream type `BacktestRuleSet` returns.
pub type BacktestStream = Pin<Box<dyn Stream<Item = Result<pb::BacktestRuleSetResponse, Status>> + Send>>;

/// Starts backtesting candidate `text` into a new stream.
pub(crate) fn stream(
    app: Arc<App>,
    name: String,
    text: String,
    filter: BacktestFilter,
    samples_per_move: usize,
) -> BacktestStream {
    let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
    let total = u64::try_from(app.ticket_count()).unwrap_or(u64::MAX);
    tokio::spawn(async move {
        let progress_sender = sender.clone();
        let progress = move |progress| {
            let message = convert::backtest_progress(progress, total);
            progress_sender.blocking_send(Ok(message)).is_ok()
        };
        let backtest = async {
            let candidate = app.compile_candidate(&name, text).await?;
            app.backtest(candidate, filter, samples_per_move, progress).await
        };
        let answer = match backtest.await {
            Ok(Some(report)) => Ok(convert::backtest_result(report, total)),
            Ok(None) => return, // the client went away
            Err(err) => Err(Status::from(err)),
        };
        let _ = sender.send(answer).await;
    });
    Box::pin(ReceiverStream::new(receiver))
}
