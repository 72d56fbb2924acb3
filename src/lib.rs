//! triage classifies contact-centre support tickets into **reactive service
//! issues** (something went wrong, help now) and **proactive CX
//! opportunities** (journey signals to act on ahead of time), and serves the
//! resulting work queues to agent tools over gRPC, durably stored in sled
//! (one server) or in PostgreSQL (many replicas sharing one set of queues).
//!
//! # Layout
//!
//! - [`config`]: raw flags/env -> validated [`config::Config`];
//! - [`server`]: builds the service from a config; `serve(app, listener, stop)`;
//! - [`auth`]: bearer tokens with roles, checked on every triage RPC;
//! - [`cli`]: `triage-cli`, the command-line agent tool (tables for people,
//!   `--json` for scripts);
//! - [`tls`]: rustls acceptor for `--tls-cert`/`--tls-key` (mTLS with
//!   `--tls-client-ca`), reloaded on SIGHUP;
//! - [`service`]: gRPC handlers: validate, call [`app::App`], map errors;
//!   list pages capped in bytes; lease tokens only in the claim answer;
//! - [`app`]: the domain façade: classify, ingest, claim, complete ...;
//! - [`rules`]: rule files, compiler, one-pass scanner, evaluator,
//!   validation (errors and warnings) and explanations;
//! - [`backtest`]: re-classifies stored tickets with a candidate rule set
//!   and counts the moves, changing nothing;
//! - [`rule_tools`]: the offline `triage rules validate` and `explain` tools;
//! - [`rule_watch`]: reloads the rule file when it changes (`--watch-rules-ms`);
//! - [`sentiment`]: VADER lexicon sentiment score of a message, with the
//!   words behind it and the negation rule for weighted lexicons;
//! - [`learn`]: fits weighted lexicons from labelled tickets (`triage rules learn`);
//! - [`store`]: the `TicketStore` trait and its two backends: sled (trees,
//!   group commit) and PostgreSQL (SQL, migrations, the event log), the only
//!   code that knows either;
//! - [`events`]: queue events for live watchers;
//! - [`email`]: splits an email body into new text, quotes, signature, disclaimer;
//! - [`insights`]: CX insights: the friction map from the journey rollups,
//!   a customer's journey, service-recovery follow-up plans;
//! - [`labels`]: agents' corrections exported as labelled examples (`triage export-labels`);
//! - [`ticket`], [`clock`], [`validate`]: domain types, time, input limits;
//! - [`error`]: the domain error and its one mapping to gRPC status;
//! - [`metrics`]: Prometheus metrics, the RPC timing layer, and the
//!   operations HTTP port (`/metrics`, `/healthz`, `/readyz`);
//! - [`console`]: the web console on the operations port (`/console`):
//!   server-rendered pages over [`app::App`] behind the same tokens;
//! - [`overload`]: the load-shedding limit on calls and HTTP/2 limits;
//! - [`pool`]: the bounded blocking pool, with a time budget per job, that
//!   classifies long tickets;
//! - [`logging`]: log format (pretty or JSON) and a request id span per call;
//! - [`shutdown`]: the stop signal shared by background tasks;
//! - [`hangup`]: SIGHUP as a stream, for TLS and token reloads.

#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod backtest;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod email;
pub mod error;
pub mod events;
pub mod hangup;
pub mod insights;
pub mod labels;
pub mod learn;
pub mod logging;
pub mod metrics;
pub mod overload;
pub mod pool;
pub mod rule_tools;
pub mod rule_watch;
pub mod rules;
pub mod sentiment;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod store;
pub mod ticket;
pub mod tls;
pub mod validate;

/// Generated protobuf messages and gRPC stubs for `triage.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("triage.v1");
}
