//! Logs: the subscriber the binary installs (`--log-format pretty|json`),
//! and a tower layer that gives every gRPC call a tracing span with its
//! request id, so every line logged while serving it can be found.
//!
//! The request id is the caller's `x-request-id` metadata when it is a
//! plain token (letters, digits, `-_.:`, at most 64 bytes), else a fresh
//! random one; the answer carries it back in `x-request-id`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderValue;
use tower::{Layer, Service};
use tracing::Instrument as _;

/// The metadata key of the request id.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest request id taken from a caller.
const MAX_REQUEST_ID_BYTES: usize = 64;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colour only on a terminal).
    #[default]
    Pretty,
    /// One JSON object a line, for log collectors.
    Json,
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`),
/// lines go to stderr, ANSI colour only when stderr is a terminal.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// Wraps every call in an `rpc` span with `request_id` and `method`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> RequestIdService<S> {
        RequestIdService { inner }
    }
}

/// The service [`RequestIdLayer`] makes.
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for RequestIdService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|value| value.to_str().ok())
            .filter(|id| is_plain_token(id))
            .map_or_else(new_request_id, str::to_string);
        let span = tracing::info_span!("rpc", request_id = %id, method = %request.uri().path());
        // A fresh id is handed to the handlers as if the caller had sent it.
        let header = HeaderValue::from_str(&id).ok();
        if let Some(header) = &header {
            request.headers_mut().insert(REQUEST_ID, header.clone());
        }
        let answer = span.in_scope(|| self.inner.call(request));
        let started = std::time::Instant::now();
        Box::pin(
            async move {
                let mut response = answer.await?;
                tracing::debug!(elapsed_us = started.elapsed().as_micros(), "call answered");
                if let Some(header) = header {
                    response.headers_mut().insert(REQUEST_ID, header);
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// A random request id: 16 hex digits.
fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn is_plain_token(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_BYTES
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_tokens_are_taken_as_request_ids() {
        assert!(is_plain_token("req-42_a.b:c"));
        for bad in ["", "a b", "a\u{202e}b", "x\ny", &"a".repeat(65)] {
            assert!(!is_plain_token(bad), "{bad:?}");
        }
        assert_eq!(new_request_id().len(), 16);
    }
}
