//! gRPC handlers for `triage.v1.TriageService`. Each one validates the
//! request, calls the domain ([`App`]), and maps the result; errors become
//! statuses through `From<Error> for Status` in one place.
//!
//! Refused calls (see [`crate::auth`]) become UNAUTHENTICATED or
//! PERMISSION_DENIED here too, through `From<Denied> for Status`.
//!
//! Lease tokens go only to their holder: `ClaimNext` answers with
//! `convert::claimed_ticket`, every other response with `convert::ticket`,
//! which shows the lease's holder and expiry but not its token.

mod backtest;
mod convert;
mod deadline;
mod labels;
mod page;
mod status;
mod watch;

pub use page::MAX_PAGE_BYTES;
pub use status::{grpc_status, GrpcConventionsLayer};

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Request, Response, Status};

use crate::app::App;
use crate::auth::Denied;
use crate::error::Error;
use crate::overload::{CallSlot, OverloadSettings};
use crate::pb;
use crate::shutdown::Shutdown;
use crate::store::{ClaimRequest, CustomerCursor, QueueCursor};

/// Default and longest leases, in seconds.
const DEFAULT_LEASE_SECONDS: u32 = 300;
const MAX_LEASE_SECONDS: u32 = 86_400;
/// Longest accepted claim request id, in bytes.
const MAX_REQUEST_ID_BYTES: usize = 128;
/// Longest a `ClaimNext` may wait for a ticket, in seconds.
const MAX_CLAIM_WAIT_SECONDS: u32 = 60;

/// The `TriageService` implementation.
#[derive(Debug, Clone)]
pub struct TriageApi {
    app: Arc<App>,
    shutdown: Shutdown,
    /// One slot per open watch stream; a watch finding none is refused.
    watch_slots: Arc<Semaphore>,
    max_watchers: usize,
}

impl TriageApi {
    /// Handlers over `app`; open watch streams end when `shutdown` fires.
    pub fn new(app: Arc<App>, shutdown: Shutdown) -> Self {
        let max_watchers = OverloadSettings::default().max_watchers;
        Self {
            app,
            shutdown,
            watch_slots: Arc::new(Semaphore::new(max_watchers)),
            max_watchers,
        }
    }

    /// A place for one watcher (a `WatchQueue` stream or a waiting
    /// `ClaimNext`), or RESOURCE_EXHAUSTED when all are taken.
    fn watcher_place(&self) -> Result<OwnedSemaphorePermit, Error> {
        Arc::clone(&self.watch_slots).try_acquire_owned().map_err(|_| {
            Error::Overloaded(format!(
                "{} queue watchers and waiting claims already open, the most allowed",
                self.max_watchers
            ))
        })
    }

    /// Allows at most `max` open `WatchQueue` streams and waiting
    /// `ClaimNext` calls together (at least one); one over the cap is
    /// answered RESOURCE_EXHAUSTED.
    pub fn with_max_watchers(self, max: usize) -> Self {
        let max = max.max(1);
        Self {
            watch_slots: Arc::new(Semaphore::new(max)),
            max_watchers: max,
            ..self
        }
    }
}

impl From<Denied> for Status {
    /// No usable token is UNAUTHENTICATED; a token without the role the
    /// method needs is PERMISSION_DENIED.
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Missing | Denied::Malformed | Denied::Unknown => {
                Status::unauthenticated(denied.to_string())
            }
            Denied::Forbidden { .. } => Status::permission_denied(denied.to_string()),
        }
    }
}

fn lease_seconds(requested: u32) -> Result<u32, Error> {
    match requested {
        0 => Ok(DEFAULT_LEASE_SECONDS),
        n if n <= MAX_LEASE_SECONDS => Ok(n),
        n => Err(Error::invalid(
            "lease_seconds",
            format!("{n} is over the maximum of {MAX_LEASE_SECONDS}"),
        )),
    }
}

/// Longest name rule-file text may be given under, in bytes.
const MAX_RULE_FILE_NAME_BYTES: usize = 256;

/// The name inline rule-file text goes by in messages (`default` when none).
fn rule_file_name<'a>(name: &'a str, default: &'a str) -> Result<&'a str, Error> {
    match name {
        "" => Ok(default),
        name if name.len() > MAX_RULE_FILE_NAME_BYTES || name.chars().any(char::is_control) => {
            Err(Error::invalid(
                "name",
                format!("must be at most {MAX_RULE_FILE_NAME_BYTES} bytes of printable text"),
            ))
        }
        name => Ok(name),
    }
}

fn ticket_response(ticket: crate::ticket::Ticket) -> Option<pb::Ticket> {
    Some(convert::ticket(ticket))
}

#[tonic::async_trait]
impl pb::triage_service_server::TriageService for TriageApi {
    async fn ingest_ticket(
        &self,
        request: Request<pb::IngestTicketRequest>,
    ) -> Result<Response<pb::IngestTicketResponse>, Status> {
        let input = convert::ticket_input(request.into_inner().ticket)?;
        let ingested = self.app.ingest(input).await?;
        Ok(Response::new(pb::IngestTicketResponse {
            ticket: ticket_response(ingested.ticket),
            created: ingested.created,
        }))
    }

    async fn classify_ticket(
        &self,
        request: Request<pb::ClassifyTicketRequest>,
    ) -> Result<Response<pb::ClassifyTicketResponse>, Status> {
        let input = convert::ticket_input(request.into_inner().ticket)?;
        let classification = self.app.classify(&input).await?;
        Ok(Response::new(pb::ClassifyTicketResponse {
            classification: Some(convert::classification(classification)),
        }))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        let id = convert::ticket_id("ticket_id", &request.into_inner().ticket_id)?;
        let ticket = self.app.ticket(id).await?;
        Ok(Response::new(pb::GetTicketResponse {
            ticket: ticket_response(ticket),
        }))
    }

    async fn list_queues(
        &self,
        _: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        let now = self.app.now();
        let queues = self.app.queues().await?;
        Ok(Response::new(pb::ListQueuesResponse {
            queues: queues
                .into_iter()
                .map(|queue| convert::queue_summary(queue, now))
                .collect(),
        }))
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let request = request.into_inner();
        let queue = convert::required("queue", &request.queue)?;
        let cursor = page::cursor(&request.page_token, queue)?;
        let view = convert::ticket_view(request.view)?;
        let listed = self
            .app
            .list_queue(queue, page::size(request.page_size), cursor, view)
            .await?;
        let (tickets, cut_after) = page::fit(listed.tickets, QueueCursor::after);
        let next = cut_after.or(listed.next);
        Ok(Response::new(pb::ListTicketsResponse {
            tickets,
            next_page_token: next
                .map(|cursor| page::queue_token(cursor, queue))
                .unwrap_or_default(),
        }))
    }

    async fn list_customer_tickets(
        &self,
        request: Request<pb::ListCustomerTicketsRequest>,
    ) -> Result<Response<pb::ListCustomerTicketsResponse>, Status> {
        let request = request.into_inner();
        let customer_id = convert::required("customer_id", &request.customer_id)?;
        let view = convert::ticket_view(request.view)?;
        let cursor = page::customer_cursor(&request.page_token, customer_id)?;
        let listed = self
            .app
            .customer_tickets(customer_id, page::size(request.page_size), cursor, view)
            .await?;
        let (tickets, cut_after) = page::fit(listed.tickets, CustomerCursor::after);
        let next = cut_after.or(listed.next);
        Ok(Response::new(pb::ListCustomerTicketsResponse {
            tickets,
            next_page_token: next
                .map(|cursor| page::customer_token(cursor, customer_id))
                .unwrap_or_default(),
        }))
    }

    async fn claim_next(
        &self,
        request: Request<pb::ClaimNextRequest>,
    ) -> Result<Response<pb::ClaimNextResponse>, Status> {
        let answer_by = deadline::answer_by(request.metadata());
        let call_slot = request.extensions().get::<CallSlot>().cloned();
        let request = request.into_inner();
        let queue = convert::required("queue", &request.queue)?;
        let lease = lease_seconds(request.lease_seconds)?;
        if request.wait_seconds > MAX_CLAIM_WAIT_SECONDS {
            let reason = format!(
                "{} is over the maximum of {MAX_CLAIM_WAIT_SECONDS}",
                request.wait_seconds
            );
            return Err(Error::invalid("wait_seconds", reason).into());
        }
        let request_id = match request.request_id.as_str() {
            "" => None,
            id if id.len() > MAX_REQUEST_ID_BYTES => {
                let reason = format!("is {} bytes, over the limit of {MAX_REQUEST_ID_BYTES}", id.len());
                return Err(Error::invalid("request_id", reason).into());
            }
            id => Some(id.to_string()),
        };
        let wait = Duration::from_secs(u64::from(request.wait_seconds));
        // A long-poll waits on events, not on work: it holds a watcher's
        // place instead of a call slot (see `overload`).
        let _waiting = match wait.is_zero() {
            true => None,
            false => {
                let place = self.watcher_place()?;
                if let Some(slot) = &call_slot {
                    slot.release();
                }
                Some(place)
            }
        };
        let claim = ClaimRequest {
            queue: queue.to_string(),
            agent_id: request.agent_id.clone(),
            lease_seconds: lease,
            request_id,
        };
        let ticket = self
            .app
            .claim_next(claim, wait, answer_by, self.shutdown.clone())
            .await?;
        Ok(Response::new(pb::ClaimNextResponse {
            ticket: ticket.map(convert::claimed_ticket),
        }))
    }

    async fn extend_lease(
        &self,
        request: Request<pb::ExtendLeaseRequest>,
    ) -> Result<Response<pb::ExtendLeaseResponse>, Status> {
        let request = request.into_inner();
        let id = convert::ticket_id("ticket_id", &request.ticket_id)?;
        let token = convert::required("lease_token", &request.lease_token)?;
        let lease = lease_seconds(request.lease_seconds)?;
        let ticket = self.app.extend_lease(id, token, lease).await?;
        Ok(Response::new(pb::ExtendLeaseResponse {
            ticket: ticket_response(ticket),
        }))
    }

    async fn release_ticket(
        &self,
        request: Request<pb::ReleaseTicketRequest>,
    ) -> Result<Response<pb::ReleaseTicketResponse>, Status> {
        let request = request.into_inner();
        let id = convert::ticket_id("ticket_id", &request.ticket_id)?;
        let token = convert::required("lease_token", &request.lease_token)?;
        let ticket = self.app.release(id, token, &request.reason).await?;
        Ok(Response::new(pb::ReleaseTicketResponse {
            ticket: ticket_response(ticket),
        }))
    }

    async fn complete_ticket(
        &self,
        request: Request<pb::CompleteTicketRequest>,
    ) -> Result<Response<pb::CompleteTicketResponse>, Status> {
        let request = request.into_inner();
        let id = convert::ticket_id("ticket_id", &request.ticket_id)?;
        let token = convert::required("lease_token", &request.lease_token)?;
        let relabel = convert::relabel(request.corrected_side, &request.corrected_category)?;
        let ticket = self
            .app
            .complete(id, token, &request.resolution, &relabel)
            .await?;
        Ok(Response::new(pb::CompleteTicketResponse {
            ticket: ticket_response(ticket),
        }))
    }

    async fn transfer_ticket(
        &self,
        request: Request<pb::TransferTicketRequest>,
    ) -> Result<Response<pb::TransferTicketResponse>, Status> {
        let request = request.into_inner();
        let id = convert::ticket_id("ticket_id", &request.ticket_id)?;
        let token = convert::required("lease_token", &request.lease_token)?;
        let queue = convert::required("queue", &request.queue)?;
        let reason = convert::required("reason", &request.reason)?;
        let relabel = convert::relabel(request.corrected_side, &request.corrected_category)?;
        let ticket = self.app.transfer(id, token, queue, reason, &relabel).await?;
        Ok(Response::new(pb::TransferTicketResponse {
            ticket: ticket_response(ticket),
        }))
    }

    type WatchQueueStream = watch::EventStream;

    async fn watch_queue(
        &self,
        request: Request<pb::WatchQueueRequest>,
    ) -> Result<Response<Self::WatchQueueStream>, Status> {
        let request = request.into_inner();
        let queue = convert::required("queue", &request.queue)?.to_string();
        let slot = self.watcher_place()?;
        let events = self.app.watch(&queue)?;
        let stream = watch::forward(
            Arc::clone(&self.app),
            queue,
            events,
            watch::Watcher {
                shutdown: self.shutdown.clone(),
                slot,
            },
        );
        Ok(Response::new(stream))
    }

    type ExportLabelsStream = labels::LabelStream;

    async fn export_labels(
        &self,
        request: Request<pb::ExportLabelsRequest>,
    ) -> Result<Response<Self::ExportLabelsStream>, Status> {
        let include_uncorrected = request.into_inner().include_uncorrected;
        let stream = labels::stream(Arc::clone(&self.app), include_uncorrected);
        Ok(Response::new(stream))
    }

    async fn ping(&self, _: Request<pb::PingRequest>) -> Result<Response<pb::PingResponse>, Status> {
        Ok(Response::new(pb::PingResponse {}))
    }

    async fn validate_rule_set(
        &self,
        request: Request<pb::ValidateRuleSetRequest>,
    ) -> Result<Response<pb::ValidateRuleSetResponse>, Status> {
        let request = request.into_inner();
        convert::required("text", &request.text)?;
        let name = rule_file_name(&request.name, "candidate.toml")?;
        let validation = self.app.validate_rules(name, request.text).await?;
        Ok(Response::new(convert::validation(validation)))
    }

    async fn explain_ticket(
        &self,
        request: Request<pb::ExplainTicketRequest>,
    ) -> Result<Response<pb::ExplainTicketResponse>, Status> {
        let explanation = match request.into_inner().ticket {
            Some(pb::explain_ticket_request::Ticket::TicketId(id)) => {
                let id = convert::ticket_id("ticket_id", &id)?;
                self.app.explain_ticket(id).await?
            }
            Some(pb::explain_ticket_request::Ticket::Input(input)) => {
                let input = convert::ticket_input(Some(input))?;
                self.app.explain(input).await?
            }
            None => return Err(Error::invalid("ticket", "give ticket_id or input").into()),
        };
        Ok(Response::new(convert::explanation(explanation)))
    }

    async fn get_rule_set(
        &self,
        _: Request<pb::GetRuleSetRequest>,
    ) -> Result<Response<pb::GetRuleSetResponse>, Status> {
        let active = self.app.active_rules();
        Ok(Response::new(convert::get_rule_set(&active, MAX_PAGE_BYTES)))
    }

    async fn reload_rules(
        &self,
        request: Request<pb::ReloadRulesRequest>,
    ) -> Result<Response<pb::ReloadRulesResponse>, Status> {
        let request = request.into_inner();
        let previous = self.app.rules().version().to_string();
        let move_to = convert::optional(&request.move_dropped_to);
        let reloaded = match request.source {
            Some(pb::reload_rules_request::Source::Path(path)) => {
                let path = convert::required("path", &path)?;
                self.app
                    .reload_rules_path(std::path::Path::new(path), move_to)
                    .await?
            }
            Some(pb::reload_rules_request::Source::Text(text)) => {
                convert::required("text", &text)?;
                let name = rule_file_name(&request.name, "api.toml")?;
                self.app.reload_rules_text(name, text, move_to).await?
            }
            None => return Err(Error::invalid("source", "give path or text").into()),
        };
        // Warnings compare rules pairwise: off the async workers too.
        let rules = Arc::clone(&reloaded.active.rules);
        let warnings = tokio::task::spawn_blocking(move || rules.warnings())
            .await
            .map_err(|err| Error::Internal(format!("rule warnings failed: {err}")))?;
        Ok(Response::new(convert::reloaded(&reloaded, previous, warnings)))
    }

    type BacktestRuleSetStream = backtest::BacktestStream;

    async fn backtest_rule_set(
        &self,
        request: Request<pb::BacktestRuleSetRequest>,
    ) -> Result<Response<Self::BacktestRuleSetStream>, Status> {
        let request = request.into_inner();
        convert::required("text", &request.text)?;
        let name = rule_file_name(&request.name, "candidate.toml")?.to_string();
        let filter = convert::backtest_filter(&request)?;
        let samples = samples_per_move(request.samples_per_move);
        let stream = backtest::stream(Arc::clone(&self.app), name, request.text, filter, samples);
        Ok(Response::new(stream))
    }

    async fn reclassify_open(
        &self,
        request: Request<pb::ReclassifyOpenRequest>,
    ) -> Result<Response<pb::ReclassifyOpenResponse>, Status> {
        let request = request.into_inner();
        let queue = convert::optional(&request.queue);
        let samples = samples_per_move(request.samples_per_move);
        let report = self.app.reclassify_open(queue, samples).await?;
        Ok(Response::new(convert::reclassified(report)))
    }
}

/// Ticket ids kept per move: the default when unset.
fn samples_per_move(requested: u32) -> usize {
    match requested {
        0 => crate::backtest::DEFAULT_SAMPLES_PER_MOVE,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    }
}
