//! The command line of `triage-cli`: connection flags (also from the
//! environment) and one subcommand per RPC.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Command-line client for a triage server: ingest and classify tickets,
/// work the queues, watch them live.
#[derive(Debug, Parser)]
#[command(name = "triage-cli", version)]
pub struct Cli {
    /// Where and how to reach the server.
    #[command(flatten)]
    pub connection: Connection,
    /// Print JSON for scripts (one object; JSON lines for `watch` and
    /// `export-labels`) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How to reach the server: address, bearer token, TLS.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Server address: `host:port` (or a `http://`/`https://` URL).
    #[arg(long, env = "TRIAGE_ADDR", default_value = "127.0.0.1:50051", global = true)]
    pub addr: String,
    /// Bearer token, sent as `authorization: Bearer <token>` (never printed).
    #[arg(long, env = "TRIAGE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// CA certificate(s) (PEM) to check the server's TLS certificate; turns TLS on.
    #[arg(long, env = "TRIAGE_TLS_CA", global = true)]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS, with `--tls-key`. (Not
    /// `TRIAGE_TLS_CERT`: that is the server's own certificate.)
    #[arg(long, env = "TRIAGE_CLIENT_CERT", global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for `--tls-cert`.
    #[arg(long, env = "TRIAGE_CLIENT_KEY", global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Name to expect in the server's certificate, when it differs from
    /// the host in `--addr` (e.g. connecting by IP).
    #[arg(long, env = "TRIAGE_TLS_DOMAIN", global = true)]
    pub tls_domain: Option<String>,
}

/// One subcommand per RPC of `triage.v1.TriageService`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest one ticket from flags, or many from a JSON-lines file (`-`
    /// for stdin); idempotent on source and external id.
    Ingest(IngestArgs),
    /// Classify a ticket with the running rules without storing it.
    Classify(TicketArgs),
    /// Show one ticket with its body and history.
    Get {
        /// Ticket id, e.g. tkt_0.
        ticket_id: String,
    },
    /// List the waiting tickets of a queue, highest priority first.
    List(ListArgs),
    /// List every queue with depth, leases, age and deadline figures.
    Queues,
    /// List a customer's tickets, newest first.
    #[command(visible_alias = "customer-tickets")]
    Customer(CustomerArgs),
    /// Claim the next ticket of a queue; prints the lease token to use
    /// with extend, release, complete and transfer.
    Claim(ClaimArgs),
    /// Extend the lease on a claimed ticket.
    Extend {
        /// Ticket id.
        ticket_id: String,
        /// Lease token from the claim.
        #[command(flatten)]
        lease: LeaseArg,
        /// New lease length from now, in seconds.
        #[arg(long, default_value_t = 300)]
        lease_seconds: u32,
    },
    /// Give a claimed ticket back to its queue.
    Release {
        /// Ticket id.
        ticket_id: String,
        /// Lease token from the claim.
        #[command(flatten)]
        lease: LeaseArg,
        /// Why, for the history.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Mark a claimed ticket done.
    Complete {
        /// Ticket id.
        ticket_id: String,
        /// Lease token from the claim.
        #[command(flatten)]
        lease: LeaseArg,
        /// Resolution note.
        #[arg(long, default_value = "")]
        resolution: String,
        /// Correction of the rules' decision, if they got it wrong.
        #[command(flatten)]
        correction: CorrectionArgs,
    },
    /// Move a claimed ticket to another queue.
    Transfer {
        /// Ticket id.
        ticket_id: String,
        /// Lease token from the claim.
        #[command(flatten)]
        lease: LeaseArg,
        /// Destination queue.
        #[arg(long)]
        queue: String,
        /// Why, for the history.
        #[arg(long)]
        reason: String,
        /// Correction of the rules' decision, if they got it wrong.
        #[command(flatten)]
        correction: CorrectionArgs,
    },
    /// Print a queue's events as they happen (Ctrl-C to stop); exits
    /// non-zero when the server ends the stream.
    Watch {
        /// Queue name.
        queue: String,
    },
    /// Write agents' corrections as labelled JSON lines (the input of
    /// `triage rules learn`).
    ExportLabels {
        /// Also export completed tickets no agent corrected.
        #[arg(long)]
        all: bool,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check that the server answers.
    Ping,
    /// The rule set (admin token): show, validate, reload, explain,
    /// backtest, re-file open tickets.
    Rules {
        /// What to do with the rules.
        #[command(subcommand)]
        command: RulesCommand,
    },
}

/// `rules ...`: one subcommand per rule-set RPC.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Show the running rule set: version, load time, queues.
    Get {
        /// Print the rule file's text too.
        #[arg(long)]
        text: bool,
    },
    /// Check a local rule file on the server without activating it;
    /// errors and warnings with file:line:column (exit 1 when invalid).
    Validate {
        /// The rule file (TOML).
        file: PathBuf,
    },
    /// Swap in new rules: a local file sent to the server, or a file on the
    /// server's disk. A bad file is refused and the running rules stay.
    Reload(ReloadArgs),
    /// Explain, rule by rule, how the running rules decide a stored ticket
    /// or one given as JSON.
    Explain(ExplainArgs),
    /// Re-classify stored tickets with a candidate rule file, changing
    /// nothing: which tickets would move where.
    Backtest(BacktestArgs),
    /// Re-file waiting, unclaimed tickets the running rules now place
    /// differently (after a reload).
    ReclassifyOpen {
        /// Only this queue's tickets.
        #[arg(long)]
        queue: Option<String>,
        /// Ticket ids shown per move.
        #[arg(long, default_value_t = 5)]
        samples: u32,
    },
}

/// `rules reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// A local rule file to send.
    #[arg(conflicts_with = "server_path")]
    pub file: Option<PathBuf>,
    /// A rule file on the server's disk instead.
    #[arg(long)]
    pub server_path: Option<String>,
    /// A queue of the new rules to take the waiting tickets of queues
    /// they drop.
    #[arg(long)]
    pub move_dropped_to: Option<String>,
}

/// `rules explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A stored ticket, e.g. tkt_0.
    #[arg(conflicts_with = "file")]
    pub ticket_id: Option<String>,
    /// A ticket as JSON (the fields of an `ingest` line; `-` for stdin).
    #[arg(long)]
    pub file: Option<PathBuf>,
}

/// `rules backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The candidate rule file.
    pub file: PathBuf,
    /// Only tickets now in this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Only tickets the rules put on this side.
    #[arg(long, value_parser = ["reactive", "proactive", "unclassified"])]
    pub side: Option<String>,
    /// Only tickets ingested at or after this (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Only tickets ingested before this (RFC 3339).
    #[arg(long)]
    pub before: Option<String>,
    /// Ticket ids shown per move.
    #[arg(long, default_value_t = 5)]
    pub samples: u32,
}

/// The lease token of a claimed ticket.
#[derive(Debug, Clone, Args)]
pub struct LeaseArg {
    /// Lease token printed by `claim`.
    #[arg(long = "lease", visible_alias = "lease-token", value_name = "LEASE_TOKEN")]
    pub token: String,
}

/// `ingest`: one ticket from flags, or a JSON-lines file.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// JSON-lines file of tickets, one object a line (`-` for stdin); see
    /// the README for the fields. Without it, one ticket from the flags.
    #[arg(conflicts_with = "external_id")]
    pub file: Option<PathBuf>,
    /// Requests in flight at once for a file.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// The ticket, for a single ingest.
    #[command(flatten)]
    pub ticket: TicketArgs,
}

/// A ticket given on the command line.
#[derive(Debug, Clone, Args)]
pub struct TicketArgs {
    /// The helpdesk's id for the ticket (required to ingest one ticket).
    #[arg(long)]
    pub external_id: Option<String>,
    /// The integration that sends it, e.g. zendesk (the default source of
    /// file lines too).
    #[arg(long, default_value = "cli")]
    pub source: String,
    /// Subject line.
    #[arg(long, default_value = "")]
    pub subject: String,
    /// Message body.
    #[arg(long, default_value = "")]
    pub body: String,
    /// Channel: email, chat, phone, social, web, internal.
    #[arg(long, default_value = "email")]
    pub channel: String,
    /// Customer id.
    #[arg(long, default_value = "")]
    pub customer: String,
    /// Customer tier, e.g. pro, enterprise, vip.
    #[arg(long, default_value = "")]
    pub tier: String,
    /// Customer e-mail address.
    #[arg(long, default_value = "")]
    pub email: String,
    /// Language tag, e.g. en or de-CH.
    #[arg(long, default_value = "en")]
    pub language: String,
    /// A helpdesk tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// An attribute for rule conditions, `KEY=VALUE` (repeatable).
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// When the customer raised it (RFC 3339, e.g. 2026-01-05T09:30:00Z);
    /// the time of ingest when absent.
    #[arg(long)]
    pub created_at: Option<String>,
}

/// `list`: one page (or all pages) of a queue.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Queue name.
    pub queue: String,
    /// Tickets per page.
    #[arg(long, default_value_t = 50)]
    pub page_size: u32,
    /// Page token printed by a previous listing.
    #[arg(long, default_value = "")]
    pub page_token: String,
    /// Follow every page to the end.
    #[arg(long, conflicts_with = "page_token")]
    pub all: bool,
    /// Whole tickets with body and history instead of one line each.
    #[arg(long)]
    pub full: bool,
}

/// `customer`: a customer's tickets.
#[derive(Debug, Args)]
pub struct CustomerArgs {
    /// Customer id as the helpdesk sends it.
    pub customer_id: String,
    /// Tickets per page.
    #[arg(long, default_value_t = 50)]
    pub page_size: u32,
    /// Page token printed by a previous listing (older tickets).
    #[arg(long, default_value = "")]
    pub page_token: String,
    /// Whole tickets with body and history instead of one line each.
    #[arg(long)]
    pub full: bool,
}

/// `claim`: lease the next ticket of a queue.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// Queue name.
    pub queue: String,
    /// Who claims it.
    #[arg(long, env = "TRIAGE_AGENT")]
    pub agent: String,
    /// Lease length in seconds.
    #[arg(long, default_value_t = 300)]
    pub lease_seconds: u32,
    /// When the queue is empty, wait up to this many seconds (max 60).
    #[arg(long, default_value_t = 0)]
    pub wait_seconds: u32,
    /// Your id for this claim: a retry with the same id returns the same
    /// lease instead of a second ticket.
    #[arg(long, default_value = "")]
    pub request_id: String,
}

/// An agent's correction of the rules' side and category.
#[derive(Debug, Clone, Args)]
pub struct CorrectionArgs {
    /// The side the ticket should have had: reactive or proactive.
    #[arg(long = "side", value_parser = ["reactive", "proactive"])]
    pub side: Option<String>,
    /// The category the ticket should have had.
    #[arg(long = "category", default_value = "")]
    pub category: String,
}
