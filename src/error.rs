//! The domain's error type and its one mapping to gRPC status codes.

use crate::rules::RuleError;
use crate::store::StoreError;
use crate::ticket::TicketId;

/// Everything a triage operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request field is missing or invalid.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The request field, as named in the API (e.g. `ticket.external_id`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A named queue is not declared by the running rule set.
    #[error("queue {0:?} does not exist")]
    UnknownQueue(String),
    /// No ticket with this id.
    #[error("ticket {0} not found")]
    TicketNotFound(TicketId),
    /// The operation does not fit the ticket's state (stale lease, not claimed).
    #[error("{0}")]
    FailedPrecondition(String),
    /// An internal task failed (a bug, reported as INTERNAL).
    #[error("internal error: {0}")]
    Internal(String),
    /// The caller's deadline passed before the answer was ready; nothing
    /// was left changed on its behalf.
    #[error("the call's deadline passed before the answer was ready")]
    DeadlineExceeded,
    /// The server is too busy to answer this call now (a limit on
    /// concurrent work was reached); a later retry may succeed.
    #[error("{0}")]
    Overloaded(String),
    /// A rule file was rejected.
    #[error("{0}")]
    Rules(#[from] RuleError),
    /// The store failed.
    #[error("{0}")]
    Store(StoreError),
}

impl Error {
    /// An `InvalidArgument` for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(id) => Error::TicketNotFound(id),
            StoreError::StaleLease(_) | StoreError::NotClaimed { .. } => {
                Error::FailedPrecondition(err.to_string())
            }
            other => Error::Store(other),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidArgument { .. } | Error::Rules(_) => tonic::Status::invalid_argument(message),
            Error::UnknownQueue(_) | Error::TicketNotFound(_) => tonic::Status::not_found(message),
            Error::FailedPrecondition(_) => tonic::Status::failed_precondition(message),
            Error::DeadlineExceeded => tonic::Status::deadline_exceeded(message),
            Error::Overloaded(_) => tonic::Status::resource_exhausted(message),
            Error::Internal(_) => {
                tracing::error!(error = %message, "internal error");
                tonic::Status::internal(message)
            }
            Error::Store(StoreError::Durability(_) | StoreError::Storage(_)) => {
                tracing::error!(error = %message, "store unavailable");
                tonic::Status::unavailable(message)
            }
            Error::Store(_) => {
                tracing::error!(error = %message, "store failure");
                tonic::Status::internal(message)
            }
        }
    }
}
