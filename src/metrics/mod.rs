//! Prometheus metrics: one registry per running service, the verbs that
//! record into it, and its text exposition. [`rpc`] is the tower layer that
//! times every gRPC call; [`http`] serves `/metrics`, `/healthz` and
//! `/readyz` on the operations port.
//!
//! The domain records through [`Metrics`]' verbs (`ticket_ingested`,
//! `classified` ...) and never sees a metric family; the store reports its
//! durable rounds through [`StoreObserver`](crate::store::StoreObserver)
//! without knowing Prometheus.

pub mod http;
pub mod rpc;

use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::app::QueueOverview;
use crate::store::StoreObserver;
use crate::ticket::Classification;

/// Labels of an ingested ticket.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TicketLabels {
    side: &'static str,
    category: String,
    queue: String,
}

/// Labels of one RPC: the gRPC service and method, and the status code.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    service: String,
    method: String,
    code: &'static str,
}

/// Labels of a queue figure.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
}

/// Labels of the running rule set.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RulesLabels {
    version: String,
    source: String,
}

/// Labels of a rule reload.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    outcome: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, 100 µs to ~13 s: classification and RPCs.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// Writes per durable round: 1 to 4096.
fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 13))
}

/// Every metric triage exports. Cheap to record into from any thread.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ingested: Family<TicketLabels, Counter>,
    duplicates: Counter,
    classification: Histogram,
    rpc: HistogramFamily<RpcLabels>,
    queue_depth: Family<QueueLabels, Gauge>,
    queue_leased: Family<QueueLabels, Gauge>,
    queue_breached: Family<QueueLabels, Gauge>,
    rules: Family<RulesLabels, Gauge>,
    reloads: Family<ReloadLabels, Counter>,
    flush_seconds: Histogram,
    flush_batch: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every triage metric, all at zero.
    pub fn new() -> Metrics {
        Metrics {
            registry: Registry::with_prefix("triage"),
            ingested: Family::default(),
            duplicates: Counter::default(),
            classification: latency_histogram(),
            rpc: Family::new_with_constructor(latency_histogram),
            queue_depth: Family::default(),
            queue_leased: Family::default(),
            queue_breached: Family::default(),
            rules: Family::default(),
            reloads: Family::default(),
            flush_seconds: latency_histogram(),
            flush_batch: batch_histogram(),
        }
        .registered()
    }

    /// Registers every metric under its exported name.
    fn registered(mut self) -> Metrics {
        let registry = &mut self.registry;
        registry.register(
            "tickets_ingested",
            "Tickets stored, by side, category and queue",
            self.ingested.clone(),
        );
        registry.register(
            "ingest_duplicates",
            "Ingests that found the ticket already stored (retries)",
            self.duplicates.clone(),
        );
        registry.register(
            "classification_seconds",
            "Time to classify one ticket",
            self.classification.clone(),
        );
        registry.register(
            "rpc_seconds",
            "gRPC calls by service, method and status code (streams: their lifetime)",
            self.rpc.clone(),
        );
        registry.register(
            "queue_depth",
            "Tickets waiting in a queue",
            self.queue_depth.clone(),
        );
        registry.register(
            "queue_leased",
            "Tickets claimed from a queue",
            self.queue_leased.clone(),
        );
        registry.register(
            "queue_breached",
            "Waiting tickets past their first-response deadline",
            self.queue_breached.clone(),
        );
        registry.register("rules_info", "The running rule set (value 1)", self.rules.clone());
        registry.register(
            "rule_reloads",
            "Rule reloads by outcome (success, failure)",
            self.reloads.clone(),
        );
        registry.register(
            "store_flush_seconds",
            "Time of one durable round of the store",
            self.flush_seconds.clone(),
        );
        registry.register(
            "store_flush_batch_size",
            "Writes made durable by one round",
            self.flush_batch.clone(),
        );
        self
    }

    /// A ticket was stored for the first time.
    pub fn ticket_ingested(&self, classification: &Classification) {
        let labels = TicketLabels {
            side: classification.side.name(),
            category: classification.category.clone(),
            queue: classification.queue.clone(),
        };
        self.ingested.get_or_create(&labels).inc();
    }

    /// An ingest found its ticket already stored.
    pub fn duplicate_ingest(&self) {
        self.duplicates.inc();
    }

    /// One ticket took `took` to classify.
    pub fn classified(&self, took: Duration) {
        self.classification.observe(took.as_secs_f64());
    }

    /// A gRPC call to `/service/method` ended with `code` after `took`.
    pub fn rpc_finished(&self, service: &str, method: &str, code: tonic::Code, took: Duration) {
        let labels = RpcLabels {
            service: service.to_string(),
            method: method.to_string(),
            code: code_name(code),
        };
        self.rpc.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// Sets the queue gauges to `queues`' figures; queues no longer
    /// declared disappear.
    pub fn set_queues(&self, queues: &[QueueOverview]) {
        for family in [&self.queue_depth, &self.queue_leased, &self.queue_breached] {
            family.clear();
        }
        for queue in queues {
            let labels = QueueLabels {
                queue: queue.name.clone(),
            };
            let figures = [
                (&self.queue_depth, queue.stats.depth),
                (&self.queue_leased, queue.stats.leased),
                (&self.queue_breached, queue.stats.breached),
            ];
            for (family, value) in figures {
                family
                    .get_or_create(&labels)
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            }
        }
    }

    /// The running rule set is now `version` from `source`.
    pub fn rules_loaded(&self, version: &str, source: &str) {
        self.rules.clear();
        let labels = RulesLabels {
            version: version.to_string(),
            source: source.to_string(),
        };
        self.rules.get_or_create(&labels).set(1);
    }

    /// A rule reload succeeded (`true`) or was refused.
    pub fn rule_reload(&self, succeeded: bool) {
        let outcome = if succeeded { "success" } else { "failure" };
        self.reloads.get_or_create(&ReloadLabels { outcome }).inc();
    }

    /// The text exposition of every metric (Prometheus / OpenMetrics text).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            // Writing to a String cannot fail; say so if it ever does.
            let _ = writeln!(text, "# encoding failed: {err}");
        }
        text
    }
}

impl StoreObserver for Metrics {
    fn flushed(&self, writes: usize, took: Duration) {
        self.flush_seconds.observe(took.as_secs_f64());
        self.flush_batch.observe(writes as f64);
    }
}

/// The gRPC spelling of a status code (`RESOURCE_EXHAUSTED`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
