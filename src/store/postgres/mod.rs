//! The shared backend: [`TicketStore`] on a database spoken to over the
//! PostgreSQL wire protocol (PostgreSQL; CockroachDB 23.1+ and YugabyteDB
//! by design), so many triage replicas share one set of queues. The only
//! module that knows SQL.
//!
//! Every verb is one transaction, committed before it answers: the
//! database's commit is the acknowledgement's durability. Claims take the
//! head of a queue with `SELECT ... FOR UPDATE SKIP LOCKED`, so replicas
//! never wait on each other's claims nor hand one ticket out twice; the
//! maintenance sweeps take due rows the same way, so each expiry and each
//! escalation happens once however many replicas sweep.
//!
//! Layout, one module per concern:
//! - `schema`: versioned migrations, applied at start-up under a lock;
//! - `tx`: transactions, retries of serialization failures, errors, health;
//! - `rows`: a ticket's rows, read into a working ticket and written back;
//! - `ingest`: idempotent ingest;
//! - `leases`: claim, extend, release, complete, transfer;
//! - `maintenance`: lease expiry, escalation, retention;
//! - `requeue`: re-filing a waiting ticket under a new classification;
//! - `journey`: the friction map's rollups and service-recovery follow-ups;
//! - `queries`: reads (tickets, listings, statistics, customers, verify);
//! - `events`: the queue-event log and the tailer that publishes it.

mod events;
mod ingest;
mod journey;
mod leases;
mod maintenance;
mod queries;
mod requeue;
mod rows;
mod schema;
mod tx;

use std::str::FromStr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::oneshot;
use tokio_postgres::NoTls;

pub use schema::SCHEMA_VERSION;

use super::{
    ClaimRequest, ConsistencyReport, CustomerCursor, EscalationPolicies, FollowUpPlan, Ingested, PostgresUrl,
    QueueCursor, QueueStats, RollupRow, StoreError, StoreObserver, TicketIter, TicketStore, Transition,
};
use crate::clock::UnixMicros;
use crate::events::EventBus;
use crate::rules::CustomerHistory;
use crate::ticket::{Classification, Relabel, Ticket, TicketId, TicketInput};
use leases::LeaseVerb;
use tx::db_error;

/// Options of the PostgreSQL store.
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// Most connections this replica opens.
    pub pool_size: usize,
    /// How often the event tailer reads new events (and probes health).
    pub poll_interval: Duration,
    /// How long making a connection may take.
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 16,
            poll_interval: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// How long a request may queue for a free connection under load (a
/// database that cannot be reached fails sooner, by the connect timeout).
const POOL_WAIT: Duration = Duration::from_secs(30);

/// Which engine answers: they differ in what they offer beyond the SQL
/// this store keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// PostgreSQL itself: advisory locks for migrations.
    Postgres,
    /// CockroachDB, YugabyteDB or another engine speaking the protocol.
    Other,
}

/// Whether the database answered lately, as `health()` reports it.
#[derive(Debug, Default)]
struct Health(Mutex<Option<String>>);

impl Health {
    fn failed(&self, reason: &str) {
        let mut state = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.is_none() {
            tracing::error!(reason, "store database unreachable");
        }
        *state = Some(format!("database unreachable: {reason}"));
    }

    fn ok(&self) {
        let mut state = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.take().is_some() {
            tracing::info!("store database reachable again");
        }
    }

    fn get(&self) -> Result<(), String> {
        let state = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.clone().map_or(Ok(()), Err)
    }
}

/// The PostgreSQL-backed store. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
    /// Dropped with the last clone: the event tailer then stops.
    _tailer: Arc<oneshot::Sender<()>>,
}

/// The store's shared state.
#[derive(Debug)]
struct Inner {
    pool: Pool,
    options: PgOptions,
    health: Health,
    /// Where the tailer publishes committed events, once attached.
    bus: OnceLock<EventBus>,
    /// Tickets stored: counted by the tailer every few seconds, and kept
    /// up to date with this replica's own ingests and purges in between.
    ticket_count: AtomicUsize,
    /// Hears of every committed write (for metrics).
    observer: OnceLock<Arc<dyn StoreObserver>>,
}

impl PgStore {
    /// Connects to `url`, migrates the schema and starts the event tailer.
    /// Must be called within a tokio runtime.
    pub async fn open(url: &PostgresUrl, options: PgOptions) -> Result<PgStore, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url.expose())
            .map_err(|_| StoreError::Storage(format!("not a valid PostgreSQL URL: {url}")))?;
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("triage");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|err| StoreError::Storage(format!("cannot build the connection pool: {err}")))?;
        let inner = Arc::new(Inner {
            pool,
            options,
            health: Health::default(),
            bus: OnceLock::new(),
            ticket_count: AtomicUsize::new(0),
            observer: OnceLock::new(),
        });
        let mut client = inner.client().await?;
        let version: String = client
            .query_one("SELECT version()", &[])
            .await
            .map_err(db_error)?
            .get(0);
        // YugabyteDB reports "PostgreSQL 11.2-YB-...": not PostgreSQL here.
        let flavor = if version.starts_with("PostgreSQL") && !version.contains("-YB-") {
            Flavor::Postgres
        } else {
            Flavor::Other
        };
        schema::migrate(&mut client, flavor).await?;
        drop(client);
        tracing::info!(database = %url, %version, "shared store open");
        let (stop, stopped) = oneshot::channel();
        events::spawn(Arc::clone(&inner), stopped).await?;
        Ok(PgStore {
            inner,
            _tailer: Arc::new(stop),
        })
    }
}

#[async_trait::async_trait]
impl TicketStore for PgStore {
    async fn ingest(
        &self,
        input: TicketInput,
        classification: Classification,
        now: UnixMicros,
    ) -> Result<Ingested, StoreError> {
        self.inner.ingest(input, classification, now).await
    }

    async fn get(&self, id: TicketId) -> Result<Ticket, StoreError> {
        self.inner.get(id).await
    }

    async fn list_queue(
        &self,
        queue: &str,
        limit: usize,
        cursor: Option<QueueCursor>,
    ) -> Result<(Vec<Ticket>, Option<QueueCursor>), StoreError> {
        self.inner.list_queue(queue, limit, cursor).await
    }

    async fn queues_stats(&self, queues: &[String], now: UnixMicros) -> Result<Vec<QueueStats>, StoreError> {
        self.inner.queues_stats(queues, now).await
    }

    async fn customer_history(&self, customer_id: &str, limit: usize) -> Result<CustomerHistory, StoreError> {
        self.inner.customer_history(customer_id, limit).await
    }

    async fn customer_tickets(
        &self,
        customer_id: &str,
        limit: usize,
        cursor: Option<CustomerCursor>,
    ) -> Result<(Vec<Ticket>, Option<CustomerCursor>), StoreError> {
        self.inner.customer_tickets(customer_id, limit, cursor).await
    }

    async fn claim_next(
        &self,
        claim: &ClaimRequest,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        self.inner.claim_next(claim, now).await
    }

    async fn extend_lease(
        &self,
        id: TicketId,
        token: &str,
        lease_seconds: u32,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let verb = LeaseVerb::Extend { lease_seconds };
        self.inner.with_lease(id, token, verb, now).await
    }

    async fn release(
        &self,
        id: TicketId,
        token: &str,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        self.inner
            .with_lease(id, token, LeaseVerb::Release { reason }, now)
            .await
    }

    async fn complete(
        &self,
        id: TicketId,
        token: &str,
        resolution: &str,
        relabel: &Relabel,
        follow_up: Option<&FollowUpPlan>,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let verb = LeaseVerb::Complete {
            resolution,
            relabel,
            follow_up,
        };
        self.inner.with_lease(id, token, verb, now).await
    }

    async fn materialise_follow_ups(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.inner.materialise_follow_ups(now).await
    }

    async fn rollup(&self, from: UnixMicros, until: UnixMicros) -> Result<Vec<RollupRow>, StoreError> {
        self.inner.rollup(from, until).await
    }

    async fn transfer(
        &self,
        id: TicketId,
        token: &str,
        to_queue: &str,
        reason: &str,
        relabel: &Relabel,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let verb = LeaseVerb::Transfer {
            to_queue,
            reason,
            relabel,
        };
        self.inner.with_lease(id, token, verb, now).await
    }

    async fn expire_leases(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.inner.expire_leases(now).await
    }

    async fn escalate_breaches(
        &self,
        now: UnixMicros,
        policies: &EscalationPolicies,
    ) -> Result<Vec<Transition>, StoreError> {
        self.inner.escalate_breaches(now, policies).await
    }

    async fn requeue(
        &self,
        id: TicketId,
        classification: &Classification,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        self.inner.requeue(id, classification, reason, now).await
    }

    async fn purge_completed(&self, before: UnixMicros) -> Result<usize, StoreError> {
        self.inner.purge_completed(before).await
    }

    /// Nothing to wait for: every verb answers after its commit.
    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn health(&self) -> Result<(), String> {
        self.inner.health.get()
    }

    /// Reports every committed write as a durable round of one write.
    fn observe(&self, observer: Arc<dyn StoreObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    fn publish_to(&self, bus: &EventBus) -> bool {
        // A second App on one store would reuse the first bus.
        let _ = self.inner.bus.set(bus.clone());
        true
    }

    async fn verify(&self) -> Result<ConsistencyReport, StoreError> {
        self.inner.verify().await
    }

    fn scan_tickets(&self) -> TicketIter {
        queries::scan(Arc::clone(&self.inner))
    }

    /// Exact for this replica's own changes; other replicas' ingests are
    /// counted within a few seconds.
    fn ticket_count(&self) -> usize {
        self.inner.ticket_count.load(std::sync::atomic::Ordering::Relaxed)
    }
}
