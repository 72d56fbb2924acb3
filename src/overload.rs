//! Overload protection for the gRPC server: a global limit on calls in
//! progress that sheds the excess at once, a time limit per call, and
//! HTTP/2 limits per connection.
//!
//! Shedding instead of queueing: a call over the limit is answered
//! RESOURCE_EXHAUSTED immediately, so memory stays bounded and a client's
//! retry policy (with backoff) decides when to try again. Health checks and
//! `Ping` are exempt: a probe must still answer while classification is
//! saturated, or Kubernetes would restart a server that is only busy.
//!
//! The limit is a semaphore taken with `try_acquire` when the call starts
//! and held until its answer is ready (for a stream, until the stream is
//! returned; watchers have their own cap, see `--max-watchers`). A call
//! that is about to wait for an event rather than work (a `ClaimNext`
//! long-poll) gives its slot back through the [`CallSlot`] in its request's
//! extensions, and counts against the watcher cap instead: hundreds of
//! agents long-polling must not shed the integrations' ingests. tower's
//! `ConcurrencyLimit` + `LoadShed` decide in `poll_ready`, before the
//! request and its path are known, so they cannot exempt the probes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

/// Paths never shed: gRPC health and `Ping`.
const EXEMPT_PREFIXES: &[&str] = &["/grpc.health.v1.Health/", "/triage.v1.TriageService/Ping"];

/// Limits that keep the server responsive under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverloadSettings {
    /// Calls in progress at once (health and `Ping` not counted).
    pub max_concurrent_rpcs: usize,
    /// Open `WatchQueue` streams and waiting `ClaimNext` calls at once.
    pub max_watchers: usize,
    /// HTTP/2 streams one connection may have open.
    pub http2_max_streams: u32,
    /// How often an idle connection is pinged; `None`: never.
    pub http2_keepalive_interval: Option<Duration>,
    /// How long a keepalive ping may go unanswered before the connection
    /// is closed.
    pub http2_keepalive_timeout: Duration,
    /// How long a call may take to answer (a stream: to start); `None`:
    /// no limit beyond the caller's own deadline.
    pub rpc_timeout: Option<Duration>,
}

/// Default of `--rpc-timeout-seconds`: above the longest `ClaimNext` wait
/// (60 s), so a long-poll ends by its own wait, not by this limit.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(75);

impl Default for OverloadSettings {
    fn default() -> Self {
        OverloadSettings {
            max_concurrent_rpcs: 256,
            max_watchers: 1024,
            http2_max_streams: 256,
            http2_keepalive_interval: Some(Duration::from_secs(60)),
            http2_keepalive_timeout: Duration::from_secs(20),
            rpc_timeout: Some(DEFAULT_RPC_TIMEOUT),
        }
    }
}

impl OverloadSettings {
    /// `server` with these HTTP/2 limits.
    pub fn http2_limits<L>(&self, server: tonic::transport::Server<L>) -> tonic::transport::Server<L> {
        server
            .max_concurrent_streams(self.http2_max_streams)
            .http2_keepalive_interval(self.http2_keepalive_interval)
            .http2_keepalive_timeout(Some(self.http2_keepalive_timeout))
    }
}

/// Sheds calls over a global limit with RESOURCE_EXHAUSTED.
#[derive(Debug, Clone)]
pub struct ShedLayer {
    slots: Arc<Semaphore>,
    limit: usize,
}

impl ShedLayer {
    /// At most `limit` calls in progress (at least one).
    pub fn new(limit: usize) -> ShedLayer {
        let limit = limit.max(1);
        ShedLayer {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            layer: self.clone(),
        }
    }
}

/// A call's place under the limit, in its request's extensions: a handler
/// that is about to wait (not work) releases it early.
#[derive(Debug, Clone, Default)]
pub struct CallSlot(Arc<std::sync::Mutex<Option<OwnedSemaphorePermit>>>);

impl CallSlot {
    fn holding(permit: OwnedSemaphorePermit) -> CallSlot {
        CallSlot(Arc::new(std::sync::Mutex::new(Some(permit))))
    }

    /// Gives the place back now instead of when the call answers.
    pub fn release(&self) {
        let mut permit = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        drop(permit.take());
    }
}

/// The service [`ShedLayer`] makes.
#[derive(Debug, Clone)]
pub struct Shed<S> {
    inner: S,
    layer: ShedLayer,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for Shed<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if EXEMPT_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
            return Box::pin(self.inner.call(request));
        }
        let Ok(slot) = Arc::clone(&self.layer.slots).try_acquire_owned() else {
            tracing::debug!(path, limit = self.layer.limit, "overloaded: call shed");
            let status = tonic::Status::resource_exhausted(format!(
                "server overloaded: {} calls already in progress; retry with backoff",
                self.layer.limit
            ));
            return Box::pin(std::future::ready(Ok(status.into_http())));
        };
        let slot = CallSlot::holding(slot);
        request.extensions_mut().insert(slot.clone());
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answered = answer.await;
            slot.release();
            answered
        })
    }
}

/// Answers a call that has not answered within its limit with
/// DEADLINE_EXCEEDED, and drops its work. (tonic's `Server::timeout`
/// answers CANCELLED, which tells the caller the wrong story.) A dropped
/// call leaves nothing half done: writes are transactions, and a claim
/// nobody hears of is given back.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    limit: Option<Duration>,
}

impl TimeoutLayer {
    /// Calls may take up to `limit`; `None`: no limit.
    pub fn new(limit: Option<Duration>) -> TimeoutLayer {
        TimeoutLayer { limit }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            limit: self.limit,
        }
    }
}

/// The service [`TimeoutLayer`] makes.
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Option<Duration>,
}

impl<S, B, R> Service<http::Request<B>> for Timeout<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let answer = self.inner.call(request);
        let Some(limit) = self.limit else {
            return Box::pin(answer);
        };
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answered) => answered,
                Err(_elapsed) => {
                    let status = tonic::Status::deadline_exceeded(format!(
                        "no answer within the server's limit of {} ms per call",
                        limit.as_millis()
                    ));
                    Ok(status.into_http())
                }
            }
        })
    }
}
