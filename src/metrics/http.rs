//! The operations port: plain HTTP/1.1 for tools that do not speak gRPC.
//!
//! - `GET /metrics`: Prometheus text (OpenMetrics); queue figures are read
//!   from the store's O(1) counters at scrape time;
//! - `GET /healthz`: 200 while the process runs;
//! - `GET /readyz`: 200 while the store can make writes durable, 503 once it
//!   cannot (the condition that turns gRPC health NOT_SERVING);
//! - `/console/...`: the web console ([`crate::console`]), which routes its
//!   own paths.
//!
//! hyper is already in the tree through tonic; a router would add nothing
//! for three fixed paths and one prefix.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::app::App;
use crate::console::Console;
use crate::shutdown::Shutdown;

/// The content type of the text exposition prometheus-client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; the next waits to be accepted (in the
/// kernel's backlog, not in memory here) until one closes.
const MAX_CONNECTIONS: usize = 64;

/// How long to pause after a failed accept (e.g. out of file descriptors)
/// before trying again, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves the operations port (and `console` under `/console`) on
/// `listener` until `shutdown` fires; open connections then finish the
/// request they are on and close.
pub async fn serve(app: Arc<App>, console: Arc<Console>, listener: TcpListener, mut shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            () = shutdown.wait() => return,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_closed) => return,
            },
        };
        let accepted = tokio::select! {
            () = shutdown.wait() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(error = %err, "operations port: accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let served = connection(Arc::clone(&app), Arc::clone(&console), stream, shutdown.clone());
        tokio::spawn(async move {
            served.await;
            drop(slot);
        });
    }
}

/// Serves one connection until it closes or `shutdown` fires.
async fn connection(
    app: Arc<App>,
    console: Arc<Console>,
    stream: tokio::net::TcpStream,
    mut shutdown: Shutdown,
) {
    let service = service_fn(move |request| answer(Arc::clone(&app), Arc::clone(&console), request));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = shutdown.wait() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = served {
        tracing::debug!(error = %err, "operations port: connection ended with an error");
    }
}

/// The answer to one request.
async fn answer(
    app: Arc<App>,
    console: Arc<Console>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if Console::serves(request.uri().path()) {
        return Ok(console.handle(request).await);
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Ok(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET is served\n".into(),
        ));
    }
    let response = match request.uri().path() {
        "/metrics" => metrics(&app).await,
        "/healthz" => plain(StatusCode::OK, "ok\n".into()),
        "/readyz" => match app.store().health() {
            Ok(()) => plain(StatusCode::OK, "ready\n".into()),
            Err(reason) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: the store cannot make writes durable: {reason}\n"),
            ),
        },
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found; try /metrics, /healthz, /readyz or /console\n".into(),
        ),
    };
    Ok(response)
}

/// The metrics text, with the queue gauges refreshed first.
async fn metrics(app: &App) -> Response<Full<Bytes>> {
    match app.queues().await {
        Ok(queues) => app.metrics().set_queues(&queues),
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read queue figures"),
    }
    let mut response = Response::new(Full::new(Bytes::from(app.metrics().encode())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(OPENMETRICS),
    );
    response
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
