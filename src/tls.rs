//! TLS on the gRPC port with rustls (ring provider), optionally requiring
//! client certificates signed by `--tls-client-ca` (mTLS).
//!
//! tonic's own `ServerTlsConfig` is fixed when the server is built, so
//! certificates could not be replaced without a restart. Instead the
//! server's incoming stream does the handshake itself: an [`Acceptor`]
//! holds the current `Arc<rustls::ServerConfig>`, every new connection
//! takes the one current at its handshake, and [`reload_on_change`] swaps
//! it on SIGHUP or when a certificate file changes. Open connections keep
//! the certificate they were made with; a reload that fails (a key that
//! does not match, a half-written file) is logged and the old one stays.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

use crate::hangup::Hangups;
use crate::shutdown::Shutdown;

/// Longest a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the certificate files are checked for changes (Kubernetes
/// updates a mounted secret in place, without a signal).
pub const FILE_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// Handshakes finished but not yet picked up by the server.
const ACCEPTED_BACKLOG: usize = 64;

/// The certificate files named by `--tls-cert`, `--tls-key` and
/// `--tls-client-ca`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// The server's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to; when
    /// set, a client without such a certificate is refused.
    pub client_ca: Option<PathBuf>,
}

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is unreadable or holds no usable PEM.
    #[error("--{flag} {}: {reason}", path.display())]
    File {
        /// The flag that names the file.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the combination (e.g. a key that does not match the
    /// certificate).
    #[error("--tls-cert/--tls-key: {0}")]
    Config(String),
}

impl TlsFiles {
    /// Reads the files and builds a server configuration (HTTP/2 by ALPN).
    pub fn load(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = read_certs("tls-cert", &self.cert)?;
        let key = read_key(&self.key)?;
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|err| TlsError::Config(err.to_string()))?;
        let builder = match &self.client_ca {
            Some(path) => {
                let roots = read_roots(path)?;
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|err| file_error("tls-client-ca", path, err))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(certs, key)
            .map_err(|err| TlsError::Config(err.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }

    /// The files' modification times, to notice a change.
    fn stamps(&self) -> Vec<Option<SystemTime>> {
        let paths = [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()];
        paths
            .into_iter()
            .flatten()
            .map(|path| std::fs::metadata(path).and_then(|meta| meta.modified()).ok())
            .collect()
    }
}

fn file_error(flag: &'static str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        flag,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn read_pem(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|err| file_error(flag, path, err))
}

fn read_certs(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_pem(flag, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| file_error(flag, path, format!("bad PEM: {err}")))?;
    if certs.is_empty() {
        return Err(file_error(flag, path, "holds no PEM certificate"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_pem("tls-key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|err| {
        file_error(
            "tls-key",
            path,
            format!("holds no usable PEM private key ({err})"),
        )
    })
}

fn read_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs("tls-client-ca", path)? {
        roots
            .add(cert)
            .map_err(|err| file_error("tls-client-ca", path, err))?;
    }
    Ok(roots)
}

/// The TLS configuration new connections get, replaceable while serving.
#[derive(Debug)]
pub struct Acceptor {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
}

impl Acceptor {
    /// Loads `files`; fails if they do not make a usable configuration.
    pub fn new(files: TlsFiles) -> Result<Arc<Acceptor>, TlsError> {
        let config = files.load()?;
        Ok(Arc::new(Acceptor {
            files,
            current: RwLock::new(config),
        }))
    }

    /// Reads the files again; on success, new connections use the new
    /// certificates. On failure the current ones stay.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = self.files.load()?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
        Ok(())
    }

    fn current(&self) -> Arc<ServerConfig> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    fn reload_logged(&self, why: &str) {
        match self.reload() {
            Ok(()) => tracing::info!(cert = %self.files.cert.display(), why, "TLS certificates reloaded"),
            Err(err) => {
                tracing::error!(error = %err, why, "TLS reload failed; keeping the current certificates")
            }
        }
    }
}

/// Reloads `acceptor` on every SIGHUP, and when one of its files changes
/// (checked `every` so often, [`FILE_CHECK_INTERVAL`] by default), until
/// `shutdown`. The SIGHUP handler is
/// installed when this is called, not when the future first runs, so a
/// SIGHUP right after start-up reloads rather than ends the process.
pub fn reload_on_change(
    acceptor: Arc<Acceptor>,
    every: Duration,
    mut shutdown: Shutdown,
) -> impl std::future::Future<Output = ()> + Send {
    let mut hangups = Hangups::install("TLS certificates reload on file change only");
    let mut seen = acceptor.files.stamps();
    async move {
        let mut checks = tokio::time::interval(every);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                () = hangups.next() => acceptor.reload_logged("SIGHUP"),
                _ = checks.tick() => {
                    let stamps = acceptor.files.stamps();
                    if stamps != seen {
                        seen = stamps;
                        acceptor.reload_logged("files changed");
                    }
                }
            }
        }
    }
}

/// The server's incoming connections: plain TCP, or TLS when `acceptor`
/// is set. Nagle's algorithm is off on both: tonic applies its own
/// `tcp_nodelay` only to listeners it binds, and without it replies that
/// span several segments wait ~40 ms for a delayed ACK.
pub fn incoming(
    listener: TcpListener,
    acceptor: Option<Arc<Acceptor>>,
) -> Pin<Box<dyn Stream<Item = io::Result<Conn>> + Send>> {
    match acceptor {
        None => {
            let plain = TcpIncoming::from(listener).with_nodelay(Some(true));
            Box::pin(plain.map(|accepted| accepted.map(Conn::Plain)))
        }
        Some(acceptor) => {
            let (sender, receiver) = mpsc::channel(ACCEPTED_BACKLOG);
            tokio::spawn(accept_tls(listener, acceptor, sender));
            Box::pin(ReceiverStream::new(receiver))
        }
    }
}

/// Accepts connections and shakes hands with each in its own task, so a
/// slow or silent client does not hold up the others; ends when the
/// server stops taking connections (the receiver is dropped).
async fn accept_tls(listener: TcpListener, acceptor: Arc<Acceptor>, sender: mpsc::Sender<io::Result<Conn>>) {
    loop {
        let (stream, peer) = tokio::select! {
            () = sender.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off a
                    // little instead of spinning on the error.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let tls = tokio_rustls::TlsAcceptor::from(acceptor.current());
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let _ = sender.send(Ok(Conn::Tls(Box::new(stream)))).await;
                }
                Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// One accepted connection, plain or TLS.
#[derive(Debug)]
pub enum Conn {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP, handshake done.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            Conn::Plain(stream) => stream.connect_info(),
            Conn::Tls(stream) => stream.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Conn::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Conn::Tls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Conn::Tls(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(stream) => stream.is_write_vectored(),
            Conn::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Conn::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Conn::Tls(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}
