//! Runs one subcommand: builds the request, calls the server, prints the
//! answer for people or as JSON.

use std::io::{self, Write};
use std::time::Instant;

use serde::Serialize;
use tonic::Status;

use super::args::{Command, Connection, CustomerArgs, ListArgs, TicketArgs};
use super::connect::Client;
use super::error::CliError;
use super::view::{self, Ingested, Page, Pong, Queues};
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

/// A connected client with what answers and errors need: one per run.
pub struct Session {
    /// The connected client.
    pub client: Client,
    /// For error messages.
    pub context: Context,
    /// How to print.
    pub output: Output,
}

impl Session {
    /// The error for a failed call.
    pub fn fail(&self, status: Status) -> CliError {
        self.context.error(&status)
    }
}

/// Runs `command` against `client`.
pub async fn run(
    client: Client,
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
    let mut session = Session {
        client,
        context,
        output,
    };
    match command {
        Command::Ingest(args) => match &args.file {
            Some(file) => bulk::ingest_file(session.client, &session.context, output, file, &args).await,
            None => session.ingest(args.ticket).await,
        },
        Command::Classify(args) => session.classify(args).await,
        Command::Get { ticket_id } => session.get(ticket_id).await,
        Command::List(args) => session.list(args).await,
        Command::Queues => session.queues().await,
        Command::Customer(args) => session.customer(args).await,
        Command::Claim(args) => session.claim(args).await,
        Command::Extend {
            ticket_id,
            lease,
            lease_seconds,
        } => session.extend(ticket_id, lease.token, lease_seconds).await,
        Command::Release {
            ticket_id,
            lease,
            reason,
        } => session.release(ticket_id, lease.token, reason).await,
        Command::Complete {
            ticket_id,
            lease,
            resolution,
            correction,
        } => {
            session
                .complete(ticket_id, lease.token, resolution, correction)
                .await
        }
        Command::Transfer {
            ticket_id,
            lease,
            queue,
            reason,
            correction,
        } => {
            session
                .transfer(ticket_id, lease.token, queue, reason, correction)
                .await
        }
        Command::Watch { queue } => session.watch(queue).await,
        Command::ExportLabels { all, out } => {
            bulk::export_labels(&mut session.client, &session.context, all, out.as_deref()).await
        }
        Command::Ping => session.ping().await,
        Command::Rules { command } => session.rules(command).await,
    }
}

impl Session {
    /// `ingest` of one ticket from flags.
    async fn ingest(&mut self, args: TicketArgs) -> Result<(), CliError> {
        if args.external_id.is_none() {
            return Err(CliError::Usage(
                "ingest needs --external-id for one ticket, or a FILE.jsonl of tickets".into(),
            ));
        }
        let ticket = Some(args.to_input().map_err(CliError::Usage)?);
        let request = pb::IngestTicketRequest { ticket };
        let answer = self
            .client
            .ingest_ticket(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let ingested = Ingested {
            created: answer.created,
            ticket: ticket_of(answer.ticket.as_ref())?,
        };
        self.output.show(&ingested, human::ingested)
    }

    /// `classify`: the decision, nothing stored.
    async fn classify(&mut self, mut args: TicketArgs) -> Result<(), CliError> {
        // The server validates a classified ticket like a stored one;
        // nothing is stored, so any id will do.
        args.external_id.get_or_insert_with(|| "cli-classify".to_string());
        let ticket = Some(args.to_input().map_err(CliError::Usage)?);
        let request = pb::ClassifyTicketRequest { ticket };
        let answer = self
            .client
            .classify_ticket(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let classification = answer
            .classification
            .as_ref()
            .map(view::Classification::from)
            .unwrap_or_default();
        self.output.show(&classification, human::classification)
    }

    /// `get`: one ticket in full.
    async fn get(&mut self, ticket_id: String) -> Result<(), CliError> {
        let request = pb::GetTicketRequest { ticket_id };
        let answer = self
            .client
            .get_ticket(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        self.output
            .show(&ticket_of(answer.ticket.as_ref())?, human::ticket)
    }

    /// `queues`: every queue's figures.
    async fn queues(&mut self) -> Result<(), CliError> {
        let request = pb::ListQueuesRequest {};
        let answer = self
            .client
            .list_queues(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let queues = Queues {
            queues: answer.queues.iter().map(view::Queue::from).collect(),
        };
        self.output.show(&queues, human::queues)
    }

    /// `ping`: the round trip.
    async fn ping(&mut self) -> Result<(), CliError> {
        let started = Instant::now();
        self.client
            .ping(pb::PingRequest {})
            .await
            .map_err(|s| self.fail(s))?;
        let pong = Pong {
            addr: self.context.addr.clone(),
            millis: started.elapsed().as_secs_f64() * 1000.0,
        };
        self.output.show(&pong, human::pong)
    }
}

/// The view of a ticket the server must have sent.
pub(super) fn ticket_of(ticket: Option<&pb::Ticket>) -> Result<view::Ticket, CliError> {
    ticket
        .map(view::Ticket::from)
        .ok_or_else(|| CliError::Server("the server's answer holds no ticket".into()))
}

/// Prints a ticket changed by extend, release, complete or transfer.
pub(super) fn show_changed(output: Output, what: &str, ticket: Option<&pb::Ticket>) -> Result<(), CliError> {
    let ticket = ticket_of(ticket)?;
    output.show(&ticket, |ticket| {
        format!("{what} {}\n\n{}", ticket.id, human::ticket(ticket))
    })
}

impl Session {
    /// `list`: one page, or every page with `--all`.
    async fn list(&mut self, args: ListArgs) -> Result<(), CliError> {
        let (client, context, output) = (&mut self.client, &self.context, self.output);
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
    async fn customer(&mut self, args: CustomerArgs) -> Result<(), CliError> {
        let (client, context, output) = (&mut self.client, &self.context, self.output);
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

    /// `watch`: events until the server ends the stream, which is an error.
    async fn watch(&mut self, queue: String) -> Result<(), CliError> {
        let (client, context, output) = (&mut self.client, &self.context, self.output);
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
}
