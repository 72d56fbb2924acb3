//! From the connection flags to a connected client: the address (with or
//! without `http://`), the bearer token on every call, TLS and mTLS.

use std::path::Path;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status};

use super::args::Connection;
use super::error::CliError;
use crate::pb::triage_service_client::TriageServiceClient;

/// How long to try to open the connection before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client whose every call carries the bearer token, if any.
pub type Client = TriageServiceClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer <token>` to every request (marked
/// sensitive, so it never shows in debug output).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// The header for `token`; none when `token` is `None`.
    pub fn new(token: Option<&str>) -> Result<Bearer, CliError> {
        let Some(token) = token.map(str::trim).filter(|token| !token.is_empty()) else {
            return Ok(Bearer(None));
        };
        let mut value: MetadataValue<Ascii> = format!("Bearer {token}")
            .parse()
            .map_err(|_| CliError::Usage("--token holds characters a header cannot carry".into()))?;
        value.set_sensitive(true);
        Ok(Bearer(Some(value)))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The URI to dial for `addr`: `host:port` gets `http://`, or `https://`
/// when `tls`; a URL with a scheme is kept as it is.
pub fn uri(addr: &str, tls: bool) -> Result<String, CliError> {
    let addr = addr.trim();
    if addr.is_empty() {
        return Err(CliError::Usage(
            "--addr is empty: give host:port, e.g. 127.0.0.1:50051".into(),
        ));
    }
    match addr.split_once("://") {
        Some(("http", _)) if tls => Err(CliError::Usage(format!(
            "--addr {addr} is plain http but TLS flags are set: use https:// or host:port"
        ))),
        Some(("http" | "https", _)) => Ok(addr.to_string()),
        Some((scheme, _)) => Err(CliError::Usage(format!(
            "--addr {addr}: unknown scheme {scheme:?}; give host:port"
        ))),
        None if tls => Ok(format!("https://{addr}")),
        None => Ok(format!("http://{addr}")),
    }
}

/// Connects to the server `connection` names.
pub async fn connect(connection: &Connection) -> Result<Client, CliError> {
    let tls = tls_config(connection)?;
    let uri = uri(&connection.addr, tls.is_some())?;
    if uri.starts_with("https://") && tls.is_none() {
        return Err(CliError::Usage(
            "https:// needs --tls-ca (the CA that signed the server's certificate)".into(),
        ));
    }
    let mut endpoint = Endpoint::from_shared(uri)
        .map_err(|err| CliError::Usage(format!("--addr {}: {err}", connection.addr)))?
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(tls) = tls {
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|err| CliError::from_transport(&err, &connection.addr))?;
    }
    let bearer = Bearer::new(connection.token.as_deref())?;
    if bearer.0.is_some() && endpoint.uri().scheme_str() != Some("https") {
        warn_if_clear_text(endpoint.uri().host().unwrap_or(""));
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|err| CliError::from_transport(&err, &connection.addr))?;
    Ok(TriageServiceClient::with_interceptor(channel, bearer))
}

/// Warns on stderr when a token would cross the network unencrypted.
fn warn_if_clear_text(host: &str) {
    let host = host.trim_matches(|c| c == '[' || c == ']');
    let loopback = host == "localhost" || host == "::1" || host.starts_with("127.");
    if !loopback {
        eprintln!("triage-cli: warning: sending the token to {host} without TLS; anyone on the path can read it (use --tls-ca)");
    }
}

/// The client TLS configuration, when `--tls-ca` is given.
fn tls_config(connection: &Connection) -> Result<Option<ClientTlsConfig>, CliError> {
    let Some(ca) = &connection.tls_ca else {
        if connection.tls_cert.is_some() {
            return Err(CliError::Usage("--tls-cert needs --tls-ca as well".into()));
        }
        return Ok(None);
    };
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read("tls-ca", ca)?));
    if let (Some(cert), Some(key)) = (&connection.tls_cert, &connection.tls_key) {
        config = config.identity(Identity::from_pem(read("tls-cert", cert)?, read("tls-key", key)?));
    }
    if let Some(domain) = &connection.tls_domain {
        config = config.domain_name(domain.clone());
    }
    Ok(Some(config))
}

/// The contents of the file a `--flag` names.
fn read(flag: &str, path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|err| CliError::Usage(format!("--{flag} {}: {err}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_get_a_scheme() {
        assert_eq!(
            uri("127.0.0.1:50051", false).ok().as_deref(),
            Some("http://127.0.0.1:50051")
        );
        assert_eq!(
            uri("triage:443", true).ok().as_deref(),
            Some("https://triage:443")
        );
        assert_eq!(uri("http://x:1", false).ok().as_deref(), Some("http://x:1"));
    }

    #[test]
    fn plain_http_with_tls_flags_is_refused() {
        assert!(matches!(uri("http://x:1", true), Err(CliError::Usage(_))));
        assert!(matches!(uri("ftp://x:1", false), Err(CliError::Usage(_))));
    }

    #[test]
    fn the_token_is_sensitive() {
        let Ok(Bearer(Some(value))) = Bearer::new(Some("secret")) else {
            panic!("a token makes a header");
        };
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("secret"));
    }
}
