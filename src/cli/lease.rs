//! The lease verbs: `claim` (which prints the lease token) and `extend`,
//! `release`, `complete` and `transfer` (which need it).

use super::args::{ClaimArgs, CorrectionArgs};
use super::commands::{show_changed, Session};
use super::error::CliError;
use super::human;
use super::input::corrected_side;
use super::view::{self, Claimed};
use crate::pb;

impl Session {
    /// `claim`: the next ticket and its lease token.
    pub(super) async fn claim(&mut self, args: ClaimArgs) -> Result<(), CliError> {
        let request = pb::ClaimNextRequest {
            queue: args.queue.clone(),
            agent_id: args.agent,
            lease_seconds: args.lease_seconds,
            wait_seconds: args.wait_seconds,
            request_id: args.request_id,
        };
        let answer = self
            .client
            .claim_next(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let ticket = answer.ticket.as_ref().map(view::Ticket::from);
        let claimed = Claimed {
            lease_token: ticket
                .as_ref()
                .and_then(|ticket| ticket.lease.as_ref())
                .and_then(|lease| lease.token.clone()),
            ticket,
        };
        self.output
            .show(&claimed, |claimed| human::claimed(claimed, &args.queue))
    }

    /// `extend`: a new expiry for the lease.
    pub(super) async fn extend(
        &mut self,
        ticket_id: String,
        lease_token: String,
        lease_seconds: u32,
    ) -> Result<(), CliError> {
        let request = pb::ExtendLeaseRequest {
            ticket_id,
            lease_token,
            lease_seconds,
        };
        let answer = self
            .client
            .extend_lease(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        show_changed(self.output, "Extended the lease on", answer.ticket.as_ref())
    }

    /// `release`: back to the queue, keeping its place.
    pub(super) async fn release(
        &mut self,
        ticket_id: String,
        lease_token: String,
        reason: String,
    ) -> Result<(), CliError> {
        let request = pb::ReleaseTicketRequest {
            ticket_id,
            lease_token,
            reason,
        };
        let answer = self
            .client
            .release_ticket(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        show_changed(self.output, "Released", answer.ticket.as_ref())
    }

    /// `complete`: done, with an optional correction.
    pub(super) async fn complete(
        &mut self,
        ticket_id: String,
        lease_token: String,
        resolution: String,
        correction: CorrectionArgs,
    ) -> Result<(), CliError> {
        let request = pb::CompleteTicketRequest {
            ticket_id,
            lease_token,
            resolution,
            corrected_side: corrected_side(correction.side.as_deref()).into(),
            corrected_category: correction.category,
        };
        let answer = self
            .client
            .complete_ticket(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        show_changed(self.output, "Completed", answer.ticket.as_ref())
    }

    /// `transfer`: to another queue, with an optional correction.
    pub(super) async fn transfer(
        &mut self,
        ticket_id: String,
        lease_token: String,
        queue: String,
        reason: String,
        correction: CorrectionArgs,
    ) -> Result<(), CliError> {
        let request = pb::TransferTicketRequest {
            ticket_id,
            lease_token,
            queue,
            reason,
            corrected_side: corrected_side(correction.side.as_deref()).into(),
            corrected_category: correction.category,
        };
        let answer = self
            .client
            .transfer_ticket(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        show_changed(self.output, "Transferred", answer.ticket.as_ref())
    }
}
