//! Status conventions the stock tonic stack does not follow, fixed once
//! for every service on the server.
//!
//! tonic answers a request message over the size limit with OUT_OF_RANGE;
//! gRPC's convention (grpc-go, grpc core) is RESOURCE_EXHAUSTED, which is
//! what clients and retry policies expect. No triage handler answers
//! OUT_OF_RANGE ([`Error`](crate::error::Error) has no such variant), so
//! every OUT_OF_RANGE a call fails with before its first message (a
//! "trailers-only" answer, where the status is in the headers) comes from
//! tonic's codec limits, and is answered as RESOURCE_EXHAUSTED instead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{HeaderMap, HeaderValue};
use tower::{Layer, Service};

/// Rewrites the codec's OUT_OF_RANGE to RESOURCE_EXHAUSTED.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcConventionsLayer;

impl<S> Layer<S> for GrpcConventionsLayer {
    type Service = GrpcConventions<S>;

    fn layer(&self, inner: S) -> GrpcConventions<S> {
        GrpcConventions { inner }
    }
}

/// The service [`GrpcConventionsLayer`] makes.
#[derive(Debug, Clone)]
pub struct GrpcConventions<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for GrpcConventions<S>
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

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if grpc_status(response.headers()) == Some(tonic::Code::OutOfRange) {
                let exhausted = HeaderValue::from(tonic::Code::ResourceExhausted as i32);
                response.headers_mut().insert("grpc-status", exhausted);
            }
            Ok(response)
        })
    }
}

/// The `grpc-status` in `headers`, if there is one.
pub fn grpc_status(headers: &HeaderMap) -> Option<tonic::Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    value.parse::<i32>().ok().map(tonic::Code::from_i32)
}
