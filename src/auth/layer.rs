//! The check in front of the triage service: every call needs a bearer
//! token with a role that [`POLICY`](super::POLICY) allows for its method.
//! A tower service rather than a tonic interceptor, because an interceptor
//! does not see which method is called.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::http::{header::AUTHORIZATION, HeaderMap, Request, Response};
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;
use tonic::Status;

use super::{allowed, Denied, Keyring};

/// `inner` guarded by `tokens`; with `None`, every call passes (loopback
/// or `--insecure-no-auth`).
pub fn guard<S>(tokens: Option<Arc<Keyring>>, inner: S) -> Guarded<S> {
    Guarded { tokens, inner }
}

/// A gRPC service whose calls are checked against the token table first.
#[derive(Debug, Clone)]
pub struct Guarded<S> {
    tokens: Option<Arc<Keyring>>,
    inner: S,
}

impl<S: NamedService> NamedService for Guarded<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Guarded<S> {
    /// Checks a call to `path` (`/package.Service/Method`) with `headers`.
    fn check(&self, path: &str, headers: &HeaderMap) -> Result<(), Denied> {
        let Some(tokens) = &self.tokens else {
            return Ok(());
        };
        let token = bearer(headers)?;
        let held = tokens.roles(token);
        if held.is_empty() {
            return Err(Denied::Unknown);
        }
        let method = path.rsplit('/').next().unwrap_or_default();
        let allowed = allowed(method);
        if !held.intersects(allowed) {
            return Err(Denied::Forbidden {
                method: method.to_string(),
                allowed,
                held,
            });
        }
        Ok(())
    }
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Result<&str, Denied> {
    let value = headers.get(AUTHORIZATION).ok_or(Denied::Missing)?;
    let value = value.to_str().map_err(|_| Denied::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(Denied::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Denied::Malformed);
    }
    Ok(token.trim())
}

impl<S, B> Service<Request<B>> for Guarded<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.check(request.uri().path(), request.headers()) {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(denied) => {
                tracing::debug!(path = request.uri().path(), reason = %denied, "call refused");
                let status = Status::from(denied);
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}
