//! Runs one subcommand: builds the request, calls the server, prints the
//! answer for people or as JSON.

use std::io::{self, Write};
use std::time::Instant;

use serde::Serialize;
use tonic::Status;

use super::args::{ClaimArgs, Command, Connection, CustomerArgs, ListArgs};
use super::connect::Client;
use super::error::CliError;
use super::view::{self, Claimed, Ingested, Page, Pong, Queues};
use super::{bulk, human};
use crate::pb;

/// How to print answers.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// JSON for scripts instead of tables.
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON or as `human` renders it.
    pub fn show<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) -> Result<(), CliError> {
        match self.json {
            true => print(&json_line(value)),
            false => print(&human(value)),
        }
    }
}

/// `value` as pretty JSON and a newline.
fn json_line<T: Serialize>(value: &T) -> String {
    // The view structs hold only strings, numbers and maps with string
    // keys: they always serialise.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Writes `text` to stdout; a closed pipe (`| head`) ends quietly.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// What error messages need to know about the connection.
#[derive(Debug, Clone)]
pub struct Context {
    /// The address as given.
    pub addr: String,
    /// Whether a bearer token was sent.
    pub with_token: bool,
}

impl Context {
    /// The error for a failed call.
    pub fn error(&self, status: &Status) -> CliError {
        CliError::from_status(status, &self.addr, self.with_token)
    }
}

/// Runs `command` against `client`.
pub async fn run(
    mut client: Client,
    connection: &Connection,
    output: Output,
    command: Command,
) -> Result<(), CliError> {
    let context = Context {
        addr: connection.addr.clone(),
        with_token: connection
            .token
            .as_deref()
            .is_some_and(|token| !token.trim().is_empty()),
    };
    let fail = |status: Status| context.error(&status);
    match command {
        Command::Ingest(args) => match &args.file {
            Some(file) => bulk::ingest_file(client, &context, output, file, &args).await,
            None => {
                if args.ticket.external_id.is_none() {
                    return Err(CliError::Usage(
                        "ingest needs --external-id for one ticket, or a FILE.jsonl of tickets".into(),
                    ));
                }
                let ticket = Some(args.ticket.to_input().map_err(CliError::Usage)?);
                let answer = client
                    .ingest_ticket(pb::IngestTicketRequest { ticket })
                    .await
                    .map_err(fail)?
                    .into_inner();
                let ingested = Ingested {
                    created: answer.created,
                    ticket: ticket_of(answer.ticket.as_ref())?,
                };
                output.show(&ingested, human::ingested)
            }
        },
        Command::Classify(mut args) => {
            // The server validates a classified ticket like a stored one;
            // nothing is stored, so any id will do.
            args.external_id.get_or_insert_with(|| "cli-classify".to_string());
            let ticket = Some(args.to_input().map_err(CliError::Usage)?);
            let answer = client
                .classify_ticket(pb::ClassifyTicketRequest { ticket })
                .await
                .map_err(fail)?
                .into_inner();
            let classification = answer
                .classification
                .as_ref()
                .map(view::Classification::from)
                .unwrap_or_default();
            output.show(&classification, human::classification)
        }
        Command::Get { ticket_id } => {
            let answer = client
                .get_ticket(pb::GetTicketRequest { ticket_id })
                .await
                .map_err(fail)?
                .into_inner();
            output.show(&ticket_of(answer.ticket.as_ref())?, human::ticket)
        }
        Command::List(args) => list(&mut client, &context, output, args).await,
        Command::Queues => {
            let answer = client
                .list_queues(pb::ListQueuesRequest {})
                .await
                .map_err(fail)?
                .into_inner();
            let queues = Queues {
                queues: answer.queues.iter().map(view::Queue::from).collect(),
            };
            output.show(&queues, human::queues)
        }
        Command::Customer(args) => customer(&mut client, &context, output, args).await,
        Command::Claim(args) => claim(&mut client, &context, output, args).await,
        Command::Extend {
            ticket_id,
            lease,
            lease_seconds,
        } => {
            let request = pb::ExtendLeaseRequest {
                ticket_id,
                lease_token: lease.token,
                lease_seconds,
            };
            let answer = client.extend_lease(request).await.map_err(fail)?.into_inner();
            show_changed(output, "Extended the lease on", answer.ticket.as_ref())
        }
        Command::Release {
            ticket_id,
            lease,
            reason,
        } => {
            let request = pb::ReleaseTicketRequest {
                ticket_id,
                lease_token: lease.token,
                reason,
            };
            let answer = client.release_ticket(request).await.map_err(fail)?.into_inner();
            show_changed(output, "Released", answer.ticket.as_ref())
        }
        Command::Complete {
            ticket_id,
            lease,
            resolution,
            correction,
        } => {
            let request = pb::CompleteTicketRequest {
                ticket_id,
                lease_token: lease.token,
                resolution,
                corrected_side: super::input::corrected_side(correction.side.as_deref()).into(),
                corrected_category: correction.category,
            };
            let answer = client.complete_ticket(request).await.map_err(fail)?.into_inner();
            show_changed(output, "Completed", answer.ticket.as_ref())
        }
        Command::Transfer {
            ticket_id,
            lease,
            queue,
            reason,
            correction,
        } => {
            let request = pb::TransferTicketRequest {
                ticket_id,
                lease_token: lease.token,
                queue,
                reason,
                corrected_side: super::input::corrected_side(correction.side.as_deref()).into(),
                corrected_category: correction.category,
            };
            let answer = client.transfer_ticket(request).await.map_err(fail)?.into_inner();
            show_changed(output, "Transferred", answer.ticket.as_ref())
        }
        Command::Watch { queue } => watch(&mut client, &context, output, queue).await,
        Command::ExportLabels { all, out } => {
            bulk::export_labels(&mut client, &context, all, out.as_deref()).await
        }
        Command::Ping => {
            let started = Instant::now();
            client.ping(pb::PingRequest {}).await.map_err(fail)?;
            let pong = Pong {
                addr: context.addr.clone(),
                millis: started.elapsed().as_secs_f64() * 1000.0,
            };
            output.show(&pong, human::pong)
        }
    }
}

/// The view of a ticket the server must have sent.
fn ticket_of(ticket: Option<&pb::Ticket>) -> Result<view::Ticket, CliError> {
    ticket
        .map(view::Ticket::from)
        .ok_or_else(|| CliError::Server("the server's answer holds no ticket".into()))
}

/// Prints a ticket changed by extend, release, complete or transfer.
fn show_changed(output: Output, what: &str, ticket: Option<&pb::Ticket>) -> Result<(), CliError> {
    let ticket = ticket_of(ticket)?;
    output.show(&ticket, |ticket| {
        format!("{what} {}\n\n{}", ticket.id, human::ticket(ticket))
    })
}

/// `list`: one page, or every page with `--all`.
async fn list(
    client: &mut Client,
    context: &Context,
    output: Output,
    args: ListArgs,
) -> Result<(), CliError> {
    let view = match args.full {
        true => pb::TicketView::Full,
        false => pb::TicketView::Basic,
    };
    let mut page = Page {
        tickets: Vec::new(),
        next_page_token: args.page_token,
    };
    loop {
        let request = pb::ListTicketsRequest {
            queue: args.queue.clone(),
            page_size: args.page_size,
            page_token: std::mem::take(&mut page.next_page_token),
            view: view.into(),
        };
        let answer = client
            .list_tickets(request)
            .await
            .map_err(|status| context.error(&status))?
            .into_inner();
        page.tickets.extend(answer.tickets.iter().map(view::Ticket::from));
        page.next_page_token = answer.next_page_token;
        if !args.all || page.next_page_token.is_empty() {
            break;
        }
    }
    let empty = format!("Queue {} has no waiting tickets", args.queue);
    output.show(&page, |page| human::page(page, args.full, &empty))
}

/// `customer`: one page of a customer's tickets, newest first.
async fn customer(
    client: &mut Client,
    context: &Context,
    output: Output,
    args: CustomerArgs,
) -> Result<(), CliError> {
    let view = match args.full {
        true => pb::TicketView::Full,
        false => pb::TicketView::Basic,
    };
    let request = pb::ListCustomerTicketsRequest {
        customer_id: args.customer_id.clone(),
        page_size: args.page_size,
        view: view.into(),
        page_token: args.page_token,
    };
    let answer = client
        .list_customer_tickets(request)
        .await
        .map_err(|status| context.error(&status))?
        .into_inner();
    let page = Page {
        tickets: answer.tickets.iter().map(view::Ticket::from).collect(),
        next_page_token: answer.next_page_token,
    };
    let empty = format!("Customer {} has no tickets", args.customer_id);
    output.show(&page, |page| human::page(page, args.full, &empty))
}

/// `claim`: the next ticket and its lease token.
async fn claim(
    client: &mut Client,
    context: &Context,
    output: Output,
    args: ClaimArgs,
) -> Result<(), CliError> {
    let request = pb::ClaimNextRequest {
        queue: args.queue.clone(),
        agent_id: args.agent,
        lease_seconds: args.lease_seconds,
        wait_seconds: args.wait_seconds,
        request_id: args.request_id,
    };
    let answer = client
        .claim_next(request)
        .await
        .map_err(|status| context.error(&status))?
        .into_inner();
    let ticket = answer.ticket.as_ref().map(view::Ticket::from);
    let claimed = Claimed {
        lease_token: ticket
            .as_ref()
            .and_then(|ticket| ticket.lease.as_ref())
            .and_then(|lease| lease.token.clone()),
        ticket,
    };
    output.show(&claimed, |claimed| human::claimed(claimed, &args.queue))
}

/// `watch`: events until the server ends the stream, which is an error.
async fn watch(
    client: &mut Client,
    context: &Context,
    output: Output,
    queue: String,
) -> Result<(), CliError> {
    let mut stream = client
        .watch_queue(pb::WatchQueueRequest { queue: queue.clone() })
        .await
        .map_err(|status| context.error(&status))?
        .into_inner();
    if !output.json {
        eprintln!("watching queue {queue} (Ctrl-C to stop)");
    }
    loop {
        let reason = match stream.message().await {
            Ok(Some(event)) => {
                let event = view::Event::from(&event);
                match output.json {
                    true => print(&(serde_json::to_string(&event).unwrap_or_default() + "\n"))?,
                    false => print(&human::event(&event))?,
                }
                continue;
            }
            Ok(None) => "the stream closed (triage stopping or restarting?)".to_string(),
            Err(status) => match context.error(&status) {
                CliError::Connect { cause, .. } => {
                    format!("the connection closed ({cause}): triage stopping or restarting?")
                }
                other => other.to_string(),
            },
        };
        return Err(CliError::WatchEnded { queue, reason });
    }
}
