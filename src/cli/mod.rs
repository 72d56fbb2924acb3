//! `triage-cli`: the command-line agent tool, as a library so tests and
//! other tools can drive it.
//!
//! # Layout
//!
//! - [`args`]: the command line (clap): global connection flags and one
//!   subcommand per RPC of `triage.v1.TriageService`;
//! - [`connect`]: address (`host:port` with or without scheme), bearer
//!   token, TLS and mTLS -> a connected client;
//! - [`error`]: [`CliError`], messages that say what to do, and exit codes;
//! - [`input`]: tickets from flags or from JSON lines -> `pb::TicketInput`;
//! - [`view`]: the stable, serde-serialisable shape of every answer
//!   (`--json`), converted from the protobuf messages in one place;
//! - [`human`]: tables and key-value blocks with local times for people;
//! - [`time`]: timestamp formatting (local for people, RFC 3339 for scripts);
//! - [`bulk`]: `ingest FILE.jsonl` with a progress bar and a summary;
//! - [`commands`]: runs one subcommand: request, answer, output;
//! - [`lease`]: claim, and the verbs that need its lease token;
//! - [`rules`]: the rule-set commands (show, validate, reload, explain,
//!   backtest, re-file open tickets) with their views.

pub mod args;
pub mod bulk;
pub mod commands;
pub mod connect;
pub mod error;
pub mod human;
pub mod input;
pub mod lease;
pub mod rules;
pub mod time;
pub mod view;

pub use args::Cli;
pub use error::CliError;

/// Connects as `cli` says and runs its subcommand; the error carries the
/// message to print and the exit code.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let client = connect::connect(&cli.connection).await?;
    let output = commands::Output { json: cli.json };
    commands::run(client, &cli.connection, output, cli.command).await
}
