//! What went wrong, said so that the person at the terminal knows what to
//! do next, and the exit code scripts can test.

use std::error::Error as _;
use std::io;

use tonic::{Code, Status};

/// Why `triage-cli` failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line or an input file is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached (exit 3).
    #[error("cannot connect to {addr}: {advice} ({cause})")]
    Connect {
        /// The address as given.
        addr: String,
        /// What to check.
        advice: &'static str,
        /// The underlying error, in a few words.
        cause: String,
    },
    /// The server answered with an error (exit 1).
    #[error("{0}")]
    Server(String),
    /// A watch ended because the server closed the stream (exit 1).
    #[error("the server ended the watch of queue {queue}: {reason}")]
    WatchEnded {
        /// The watched queue.
        queue: String,
        /// What ended it.
        reason: String,
    },
    /// Some lines of a bulk ingest failed; the summary says which (exit 1).
    #[error("{failed} of {total} tickets failed")]
    PartialIngest {
        /// Lines that failed.
        failed: usize,
        /// Lines read.
        total: usize,
    },
    /// The server found errors in a rule file; they were printed (exit 1).
    #[error("the rule file has {errors} error(s); it was not activated")]
    InvalidRules {
        /// How many errors.
        errors: usize,
    },
    /// Writing the output failed (exit 1).
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
}

impl CliError {
    /// The process exit code: 2 for usage and input errors, 3 when the
    /// server cannot be reached, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Connect { .. } => 3,
            _ => 1,
        }
    }

    /// The error of a call to `addr` that the server (or the transport)
    /// answered with `status`; `with_token` says whether a token was sent.
    pub fn from_status(status: &Status, addr: &str, with_token: bool) -> CliError {
        let message = status.message();
        if let Some((advice, cause)) = connect_cause(status) {
            return CliError::Connect {
                addr: addr.to_string(),
                advice,
                cause,
            };
        }
        match status.code() {
            Code::Unauthenticated if with_token => CliError::Server(format!(
                "the server refused the token ({message}): check --token or TRIAGE_TOKEN"
            )),
            Code::Unauthenticated => CliError::Server(format!(
                "the server wants a bearer token ({message}): set --token or TRIAGE_TOKEN"
            )),
            Code::PermissionDenied => CliError::Server(format!(
                "permission denied: {message}; use a token with one of those roles"
            )),
            Code::Unavailable => CliError::Server(format!("triage at {addr} is unavailable: {message}")),
            Code::ResourceExhausted => CliError::Server(format!(
                "the server is overloaded or the request too large: {message}"
            )),
            Code::DeadlineExceeded => CliError::Server(format!("the server took too long: {message}")),
            code => CliError::Server(format!("{}: {message}", crate::metrics::code_name(code))),
        }
    }

    /// The error of a failed connection to `addr`.
    pub fn from_transport(err: &tonic::transport::Error, addr: &str) -> CliError {
        let (advice, cause) = advice_for(err);
        CliError::Connect {
            addr: addr.to_string(),
            advice,
            cause,
        }
    }
}

/// For a status made by the client's transport (no server answered: the
/// connection failed or closed), what to check and why.
fn connect_cause(status: &Status) -> Option<(&'static str, String)> {
    let source = status.source()?;
    let mut current = Some(source);
    while let Some(error) = current {
        if error.is::<tonic::transport::Error>() {
            return Some(advice_for(source));
        }
        current = error.source();
    }
    None
}

/// Walks an error's sources to the root cause: what to check and the cause.
fn advice_for(err: &(dyn std::error::Error + 'static)) -> (&'static str, String) {
    let mut deepest: &(dyn std::error::Error + 'static) = err;
    let mut io_kind = None;
    let mut current = Some(err);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        deepest = error;
        current = error.source();
    }
    let cause = deepest.to_string().to_lowercase();
    let advice = match io_kind {
        Some(io::ErrorKind::ConnectionRefused) => "is triage running?",
        Some(io::ErrorKind::TimedOut) => "is the address right and reachable?",
        _ if cause.contains("certificate") || cause.contains("tls") || cause.contains("handshake") => {
            "check --tls-ca (and --tls-cert/--tls-key for mutual TLS)"
        }
        _ if cause.contains("lookup") || cause.contains("resolve") || cause.contains("dns") => {
            "is the host name right?"
        }
        // Connected, then closed or garbled: most often TLS on one side only.
        _ => "is this triage's gRPC port, and does it serve TLS (--tls-ca) or want a client certificate (--tls-cert/--tls-key)?",
    };
    let cause = match io_kind {
        Some(io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        _ => cause,
    };
    (advice, cause)
}
