//! Backend-neutral pieces of the agent verbs: what a lease holder can do,
//! when a token is the current lease, new lease tokens, and queue events.

use rand::Rng;

use crate::clock::UnixMicros;
use crate::events::{QueueEvent, QueueEventKind};
use crate::store::{FollowUpPlan, StoreError};
use crate::ticket::{Lease, Relabel, TicketId, TicketState};

/// One queue event of `kind` for ticket `id` in `queue`.
pub(crate) fn event(kind: QueueEventKind, id: TicketId, queue: &str, at: UnixMicros) -> QueueEvent {
    QueueEvent {
        kind,
        ticket_id: id,
        queue: queue.to_string(),
        at,
    }
}

/// A new lease token: 128 random bits in hex.
pub(crate) fn new_token() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// What a lease holder does with the lease.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LeaseVerb<'a> {
    Extend {
        lease_seconds: u32,
    },
    Release {
        reason: &'a str,
    },
    Complete {
        resolution: &'a str,
        relabel: &'a Relabel,
        /// The service-recovery follow-up to schedule in the same write.
        follow_up: Option<&'a FollowUpPlan>,
    },
    Transfer {
        to_queue: &'a str,
        reason: &'a str,
        relabel: &'a Relabel,
    },
}

impl LeaseVerb<'_> {
    /// The history action of the verb.
    pub(crate) fn action(self) -> &'static str {
        match self {
            LeaseVerb::Extend { .. } => "lease_extended",
            LeaseVerb::Release { .. } => "released",
            LeaseVerb::Complete { .. } => "completed",
            LeaseVerb::Transfer { .. } => "transferred",
        }
    }
}

/// What a lease verb (`action`) with `token` may do to ticket `id`:
/// `Ok(Some(lease))` to go on; `Ok(None)` when `token` already did this
/// `action` (a retry after success, answered with the ticket as it is);
/// otherwise why not.
pub(crate) fn lease_or_repeat(
    id: TicketId,
    state: &TicketState,
    finished: &[crate::store::codec::FinishedLease],
    token: &str,
    action: &str,
    now: UnixMicros,
) -> Result<Option<Lease>, StoreError> {
    match current_lease(id, state, token, now) {
        Ok(lease) => Ok(Some(lease)),
        Err(_) if finished.iter().any(|done| done.repeats(token, action)) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The lease of ticket `id` in `state`, if `token` is its current,
/// unexpired one.
pub(crate) fn current_lease(
    id: TicketId,
    state: &TicketState,
    token: &str,
    now: UnixMicros,
) -> Result<Lease, StoreError> {
    match state {
        TicketState::Claimed(lease) if lease.token == token && lease.expires_at > now => Ok(lease.clone()),
        TicketState::Claimed(_) => Err(StoreError::StaleLease(id)),
        TicketState::Queued => Err(StoreError::NotClaimed { id, state: "queued" }),
        TicketState::Completed => Err(StoreError::NotClaimed {
            id,
            state: "completed",
        }),
    }
}
