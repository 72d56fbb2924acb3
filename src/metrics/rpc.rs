//! A tower layer on the gRPC server that times every call into
//! `triage_rpc_seconds{service, method, code}`.
//!
//! A call's status is in the response headers when it failed before any
//! message ("trailers-only"), else in the trailers at the end of the body,
//! so the body is watched until its trailers pass; a body dropped before
//! them (the client went away) counts as CANCELLED. Labels come only from
//! the methods the server declares: any other path counts as `unknown`, so
//! a client cannot grow the label set.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use prost::Message as _;
use tower::{Layer, Service};

use super::Metrics;
use crate::service::grpc_status;

/// `/package.Service/Method` paths the server declares.
#[derive(Debug, Default)]
pub struct KnownMethods {
    paths: HashSet<String>,
}

impl KnownMethods {
    /// Every method of every service in the encoded file descriptor sets.
    /// A set that does not decode is skipped with an error logged (its
    /// calls then count as `unknown`).
    pub fn from_descriptor_sets(sets: &[&[u8]]) -> KnownMethods {
        let mut paths = HashSet::new();
        for set in sets {
            let files = match prost_types::FileDescriptorSet::decode(*set) {
                Ok(decoded) => decoded.file,
                Err(err) => {
                    tracing::error!(error = %err, "metrics: a file descriptor set does not decode");
                    continue;
                }
            };
            for file in files {
                let package = file.package();
                for service in &file.service {
                    for method in &service.method {
                        paths.insert(format!("/{package}.{}/{}", service.name(), method.name()));
                    }
                }
            }
        }
        KnownMethods { paths }
    }

    /// The (service, method) labels of a request path.
    fn labels(&self, path: &str) -> (String, String) {
        let known = self
            .paths
            .contains(path)
            .then(|| path.trim_start_matches('/').split_once('/'));
        match known.flatten() {
            Some((service, method)) => (service.to_string(), method.to_string()),
            None => ("unknown".to_string(), "unknown".to_string()),
        }
    }
}

/// Times every call of the service it wraps.
#[derive(Debug, Clone)]
pub struct RpcMetricsLayer {
    metrics: Arc<Metrics>,
    known: Arc<KnownMethods>,
}

impl RpcMetricsLayer {
    /// Records into `metrics`, labelling the `known` methods.
    pub fn new(metrics: Arc<Metrics>, known: KnownMethods) -> RpcMetricsLayer {
        RpcMetricsLayer {
            metrics,
            known: Arc::new(known),
        }
    }
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RpcMetricsLayer`] makes.
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
    layer: RpcMetricsLayer,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for RpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = self.layer.known.labels(request.uri().path());
        let mut call = Call {
            metrics: Arc::clone(&self.layer.metrics),
            service,
            method,
            started: Instant::now(),
            finished: false,
        };
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = match answer.await {
                Ok(response) => response,
                Err(err) => {
                    call.finish(tonic::Code::Unknown);
                    return Err(err);
                }
            };
            if let Some(code) = grpc_status(response.headers()) {
                call.finish(code);
                return Ok(response);
            }
            Ok(response.map(|body| {
                tonic::body::Body::new(WatchedBody {
                    inner: body,
                    call: Some(call),
                })
            }))
        })
    }
}

/// One call being timed; dropped unfinished, it counts as CANCELLED.
struct Call {
    metrics: Arc<Metrics>,
    service: String,
    method: String,
    started: Instant,
    finished: bool,
}

impl Call {
    /// Records the call as ended with `code`, once.
    fn finish(&mut self, code: tonic::Code) {
        if !self.finished {
            self.finished = true;
            self.metrics
                .rpc_finished(&self.service, &self.method, code, self.started.elapsed());
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(tonic::Code::Cancelled);
    }
}

/// A response body watched for the trailers that carry the status.
struct WatchedBody {
    inner: tonic::body::Body,
    call: Option<Call>,
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // Data frames carry no status; the first frame that ends the call does.
        let code = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().and_then(grpc_status),
            Poll::Ready(Some(Err(status))) => Some(status.code()),
            Poll::Ready(None) => Some(tonic::Code::Unknown),
            Poll::Pending => None,
        };
        if let (Some(code), Some(call)) = (code, self.call.as_mut()) {
            call.finish(code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declared_methods_get_their_own_labels() {
        let known = KnownMethods::from_descriptor_sets(&[tonic_health::pb::FILE_DESCRIPTOR_SET]);
        assert_eq!(
            known.labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health".to_string(), "Check".to_string())
        );
        for path in ["/grpc.health.v1.Health/Nope", "/x/y", "", "/"] {
            assert_eq!(known.labels(path), ("unknown".into(), "unknown".into()), "{path}");
        }
    }
}
