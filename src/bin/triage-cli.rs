//! `triage-cli`: a small command-line agent tool and integration example.
//! Talks to a triage server over gRPC and prints responses as JSON-like
//! debug output, one result per command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tonic::transport::Channel;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;

/// Command-line client for a triage server.
#[derive(Debug, Parser)]
#[command(name = "triage-cli", version, about)]
struct Cli {
    /// Server address.
    #[arg(long, env = "TRIAGE_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest a ticket (idempotent on --source and --external-id).
    Ingest(TicketArgs),
    /// Classify a ticket without storing it.
    Classify(TicketArgs),
    /// Show one ticket with its body and history (never its lease token).
    Get {
        /// Ticket id, e.g. tkt_42.
        ticket_id: String,
    },
    /// List queues with depth, leases, age and SLA figures.
    Queues,
    /// List the waiting tickets of a queue, one line each (id, priority,
    /// category, subject); `--full` prints whole tickets with body and history.
    List {
        /// Queue name.
        queue: String,
        /// Page size.
        #[arg(long, default_value_t = 20)]
        page_size: u32,
        /// Page token from a previous listing.
        #[arg(long, default_value = "")]
        page_token: String,
        /// Print whole tickets (TICKET_VIEW_FULL) instead of one line each.
        #[arg(long)]
        full: bool,
    },
    /// Claim the next ticket of a queue.
    Claim {
        /// Queue name.
        queue: String,
        /// Agent id.
        #[arg(long)]
        agent: String,
        /// Lease length in seconds.
        #[arg(long, default_value_t = 300)]
        lease_seconds: u32,
        /// Wait up to this many seconds for a ticket.
        #[arg(long, default_value_t = 0)]
        wait_seconds: u32,
    },
    /// Complete a claimed ticket.
    Complete {
        /// Ticket id.
        ticket_id: String,
        /// Lease token from the claim.
        #[arg(long)]
        token: String,
        /// Resolution note.
        #[arg(long, default_value = "")]
        resolution: String,
        #[command(flatten)]
        correction: CorrectionArgs,
    },
    /// Release a claimed ticket back to its queue.
    Release {
        /// Ticket id.
        ticket_id: String,
        /// Lease token from the claim.
        #[arg(long)]
        token: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Transfer a claimed ticket to another queue.
    Transfer {
        /// Ticket id.
        ticket_id: String,
        /// Lease token from the claim.
        #[arg(long)]
        token: String,
        /// Destination queue.
        #[arg(long)]
        queue: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        correction: CorrectionArgs,
    },
    /// Print a queue's events as they happen (Ctrl-C to stop).
    Watch {
        /// Queue name.
        queue: String,
    },
    /// Check the server answers.
    Ping,
}

/// A ticket given on the command line.
/// An agent's correction of the rules' side and category.
#[derive(Debug, Clone, clap::Args)]
struct CorrectionArgs {
    /// The side the ticket should have had: reactive or proactive.
    #[arg(long = "side", value_parser = parse_side, default_value = "unspecified", hide_default_value = true)]
    side: pb::Side,
    /// The category the ticket should have had.
    #[arg(long = "category", default_value = "")]
    category: String,
}

fn parse_side(text: &str) -> Result<pb::Side, String> {
    match text {
        "reactive" => Ok(pb::Side::Reactive),
        "proactive" => Ok(pb::Side::Proactive),
        "unspecified" => Ok(pb::Side::Unspecified),
        _ => Err(format!("{text:?}: expected reactive or proactive")),
    }
}

#[derive(Debug, clap::Args)]
struct TicketArgs {
    /// The helpdesk's id for the ticket.
    #[arg(long)]
    external_id: String,
    /// The integration, e.g. zendesk.
    #[arg(long, default_value = "cli")]
    source: String,
    /// Subject line.
    #[arg(long, default_value = "")]
    subject: String,
    /// Message body.
    #[arg(long, default_value = "")]
    body: String,
    /// Channel: email, chat, phone, social, web, internal.
    #[arg(long, default_value = "email")]
    channel: String,
    /// Customer id.
    #[arg(long, default_value = "")]
    customer: String,
    /// Customer tier.
    #[arg(long, default_value = "")]
    tier: String,
}

impl TicketArgs {
    fn into_input(self) -> Result<pb::TicketInput, String> {
        let channel = pb::Channel::from_str_name(&format!("CHANNEL_{}", self.channel.to_uppercase()))
            .ok_or_else(|| format!("unknown channel {:?}", self.channel))?;
        Ok(pb::TicketInput {
            external_id: self.external_id,
            source: self.source,
            channel: channel.into(),
            subject: self.subject,
            body: self.body,
            customer: Some(pb::Customer {
                id: self.customer,
                tier: self.tier,
                email: String::new(),
            }),
            language: "en".into(),
            ..Default::default()
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut client = match TriageServiceClient::connect(cli.addr.clone()).await {
        Ok(client) => client,
        Err(err) => {
            eprintln!("triage-cli: cannot connect to {}: {err}", cli.addr);
            return ExitCode::FAILURE;
        }
    };
    match run(&mut client, cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("triage-cli: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a queue page: whole tickets when `full`, else one line each;
/// then how to get the next page, if there is one.
fn print_page(page: &pb::ListTicketsResponse, full: bool) {
    for ticket in &page.tickets {
        if full {
            println!("{ticket:#?}");
            continue;
        }
        let classification = ticket.classification.clone().unwrap_or_default();
        let subject = ticket.input.as_ref().map_or("", |input| input.subject.as_str());
        println!(
            "{:<12} {:<8} {:<20} {}",
            ticket.id,
            classification
                .priority()
                .as_str_name()
                .trim_start_matches("PRIORITY_")
                .to_lowercase(),
            classification.category,
            subject
        );
    }
    if page.tickets.is_empty() {
        println!("no waiting tickets");
    }
    if !page.next_page_token.is_empty() {
        println!("more: --page-token {}", page.next_page_token);
    }
}

fn status(err: tonic::Status) -> String {
    format!("{:?}: {}", err.code(), err.message())
}

async fn run(client: &mut TriageServiceClient<Channel>, command: Command) -> Result<(), String> {
    match command {
        Command::Ingest(args) => {
            let ticket = Some(args.into_input()?);
            let response = client
                .ingest_ticket(pb::IngestTicketRequest { ticket })
                .await
                .map_err(status)?;
            println!("{:#?}", response.into_inner());
        }
        Command::Classify(args) => {
            let ticket = Some(args.into_input()?);
            let response = client
                .classify_ticket(pb::ClassifyTicketRequest { ticket })
                .await
                .map_err(status)?;
            println!("{:#?}", response.into_inner());
        }
        Command::Get { ticket_id } => {
            let response = client
                .get_ticket(pb::GetTicketRequest { ticket_id })
                .await
                .map_err(status)?;
            println!("{:#?}", response.into_inner());
        }
        Command::Queues => {
            let response = client
                .list_queues(pb::ListQueuesRequest {})
                .await
                .map_err(status)?;
            println!(
                "{:<20} {:>7} {:>7} {:>9} {:>9} {:>8}",
                "queue", "depth", "leased", "oldest_s", "breached", "at_risk"
            );
            for q in response.into_inner().queues {
                println!(
                    "{:<20} {:>7} {:>7} {:>9} {:>9} {:>8}",
                    q.name, q.depth, q.leased, q.oldest_age_seconds, q.breached, q.at_risk
                );
            }
        }
        Command::List {
            queue,
            page_size,
            page_token,
            full,
        } => {
            let view = if full {
                pb::TicketView::Full
            } else {
                pb::TicketView::Basic
            };
            let request = pb::ListTicketsRequest {
                queue,
                page_size,
                page_token,
                view: view.into(),
            };
            let page = client.list_tickets(request).await.map_err(status)?.into_inner();
            print_page(&page, full);
        }
        Command::Claim {
            queue,
            agent,
            lease_seconds,
            wait_seconds,
        } => {
            let request = pb::ClaimNextRequest {
                queue,
                agent_id: agent,
                lease_seconds,
                wait_seconds,
                request_id: String::new(),
            };
            let response = client.claim_next(request).await.map_err(status)?.into_inner();
            match response.ticket {
                Some(ticket) => println!("{ticket:#?}"),
                None => println!("queue is empty"),
            }
        }
        Command::Complete {
            ticket_id,
            token,
            resolution,
            correction,
        } => {
            let request = pb::CompleteTicketRequest {
                ticket_id,
                lease_token: token,
                resolution,
                corrected_side: correction.side.into(),
                corrected_category: correction.category,
            };
            let response = client.complete_ticket(request).await.map_err(status)?;
            println!("{:#?}", response.into_inner());
        }
        Command::Release {
            ticket_id,
            token,
            reason,
        } => {
            let request = pb::ReleaseTicketRequest {
                ticket_id,
                lease_token: token,
                reason,
            };
            let response = client.release_ticket(request).await.map_err(status)?;
            println!("{:#?}", response.into_inner());
        }
        Command::Transfer {
            ticket_id,
            token,
            queue,
            reason,
            correction,
        } => {
            let request = pb::TransferTicketRequest {
                ticket_id,
                lease_token: token,
                queue,
                reason,
                corrected_side: correction.side.into(),
                corrected_category: correction.category,
            };
            let response = client.transfer_ticket(request).await.map_err(status)?;
            println!("{:#?}", response.into_inner());
        }
        Command::Watch { queue } => {
            let mut stream = client
                .watch_queue(pb::WatchQueueRequest { queue })
                .await
                .map_err(status)?
                .into_inner();
            while let Some(event) = stream.message().await.map_err(status)? {
                println!(
                    "{:?} {} {} missed={}",
                    event.kind(),
                    event.queue,
                    event.ticket_id,
                    event.missed
                );
            }
        }
        Command::Ping => {
            client.ping(pb::PingRequest {}).await.map_err(status)?;
            println!("pong");
        }
    }
    Ok(())
}
