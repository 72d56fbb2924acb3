//! Several triage processes on one PostgreSQL schema, as a deployment runs
//! them, and load against them that keeps a ledger of what was
//! acknowledged (for tests/replicas.rs and tests/pg_restart.rs).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tonic::transport::Channel;
use tonic::Code;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;

use super::pg::PgSchema;
use super::{connect, ticket, token, KillOnDrop, ServerProcess};

/// A client of one replica.
pub type Client = TriageServiceClient<Channel>;

/// Rules where every inbox ticket is due at once (a zero-minute first
/// response) and escalates to `escalations`, urgent.
pub const DUE_AT_ONCE: &str = r#"
version = "replicas-1"
default_queue = "inbox"

[[queue]]
name = "inbox"
description = "Everything"

[[queue]]
name = "due"
description = "Due at once"
first_response_minutes = 0
escalate_to = "escalations"
escalate_priority = "urgent"

[[queue]]
name = "escalations"
description = "Breached"

[[rule]]
id = "due"
when = { field = "subject", contains = "due" }
then = { queue = "due" }
"#;

/// Replicas sharing one schema.
pub struct Cluster {
    pub replicas: Vec<KillOnDrop>,
    url: String,
    rules: PathBuf,
    dir: TempDir,
    _schema: PgSchema,
}

impl Cluster {
    /// `count` replicas on a new schema, each sweeping every 50 ms; `None`
    /// when PostgreSQL is unreachable outside CI.
    pub async fn start(count: usize) -> Option<Cluster> {
        let schema = PgSchema::create().await?;
        let dir = tempfile::tempdir().expect("temp dir");
        let rules = dir.path().join("rules.toml");
        std::fs::write(&rules, DUE_AT_ONCE).expect("rules written");
        let mut cluster = Cluster {
            replicas: Vec::new(),
            url: schema.url(),
            rules,
            dir,
            _schema: schema,
        };
        for _ in 0..count {
            let replica = cluster.spawn();
            cluster.replicas.push(KillOnDrop(Some(replica)));
        }
        Some(cluster)
    }

    /// Starts one more replica process on the cluster's database.
    pub fn spawn(&self) -> ServerProcess {
        let rules = self.rules.to_string_lossy().into_owned();
        let data = self.dir.path().join("unused-data");
        let args = [
            "--store",
            &self.url,
            "--rules",
            &rules,
            "--maintenance-interval-ms",
            "50",
            "--store-pool-size",
            "8",
        ];
        ServerProcess::start(&data, &args)
    }

    /// A client of replica `replica`.
    pub async fn client(&self, replica: usize) -> Client {
        connect(self.replicas[replica].server().address).await
    }
}

/// A ClaimNext request without waiting.
pub fn claim_request(queue: &str, agent: &str, lease_seconds: u32) -> pb::ClaimNextRequest {
    pb::ClaimNextRequest {
        queue: queue.into(),
        agent_id: agent.into(),
        lease_seconds,
        ..Default::default()
    }
}

/// Polls `check` until it holds; panics with `what` after `patience`.
pub async fn eventually<F, Fut>(patience: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + patience;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {patience:?}: {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many history entries of `ticket` are `action`.
pub fn actions(ticket: &pb::Ticket, action: &str) -> usize {
    ticket
        .history
        .iter()
        .filter(|entry| entry.action == action)
        .count()
}

/// What the load of [`load`] got acknowledged.
#[derive(Debug, Default)]
pub struct Ledger {
    pub tickets: Vec<String>,
    /// (ticket id, lease token, agent).
    pub claims: Vec<(String, String, String)>,
    pub unavailable: usize,
    /// Acknowledged calls after the first UNAVAILABLE.
    pub after_unavailable: usize,
}

/// Ingests and claims through `client` until `stop` is set, recording
/// every acknowledged call; failures are counted, never retried blindly.
async fn load(
    mut client: Client,
    worker: usize,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        n += 1;
        let input = ticket(&format!("w{worker}-{n}"), "Hello", "a question");
        let ingested = client
            .ingest_ticket(pb::IngestTicketRequest { ticket: Some(input) })
            .await;
        let agent = format!("agent-{worker}");
        let claimed = match ingested {
            Ok(answer) => {
                let id = answer.into_inner().ticket.expect("ticket").id;
                record(&ledger, |ledger| ledger.tickets.push(id));
                client.claim_next(claim_request("inbox", &agent, 600)).await
            }
            Err(status) => Err(status),
        };
        match claimed {
            Ok(answer) => {
                if let Some(claimed) = answer.into_inner().ticket {
                    let lease = (claimed.id.clone(), token(&claimed), agent);
                    record(&ledger, |ledger| ledger.claims.push(lease));
                }
            }
            Err(status) if matches!(status.code(), Code::Unavailable | Code::Unknown | Code::Cancelled) => {
                ledger.lock().expect("ledger").unavailable += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("unexpected failure: {status:?}"),
        }
    }
}

/// Load from several workers, with its ledger.
pub struct LoadRun {
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl LoadRun {
    /// `workers` workers spread over `replicas`.
    pub async fn start(cluster: &Cluster, replicas: &[usize], workers: usize) -> LoadRun {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut running = Vec::new();
        for worker in 0..workers {
            let client = cluster.client(replicas[worker % replicas.len()]).await;
            let work = load(client, worker, Arc::clone(&ledger), Arc::clone(&stop));
            running.push(tokio::spawn(work));
        }
        LoadRun {
            ledger,
            stop,
            workers: running,
        }
    }

    /// Waits (up to a minute) until the ledger satisfies `check`.
    pub async fn until(&self, what: &str, check: impl Fn(&Ledger) -> bool) {
        let check = &check;
        eventually(Duration::from_secs(60), what, || {
            let ledger = Arc::clone(&self.ledger);
            async move { check(&ledger.lock().expect("ledger")) }
        })
        .await;
    }

    /// Stops the workers; what they got acknowledged.
    pub async fn stop(self) -> Ledger {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for worker in self.workers {
            worker.await.expect("worker");
        }
        std::mem::take(&mut *self.ledger.lock().expect("ledger"))
    }
}

fn record(ledger: &Mutex<Ledger>, change: impl FnOnce(&mut Ledger)) {
    let mut ledger = ledger.lock().expect("ledger");
    if ledger.unavailable > 0 {
        ledger.after_unavailable += 1;
    }
    change(&mut ledger);
}

/// Checks through `client` that every acknowledged ticket is stored and
/// every acknowledged lease still holds (its token extends it).
pub async fn check_ledger(client: &mut Client, ledger: &Ledger) {
    for id in &ledger.tickets {
        super::get(client, id).await;
    }
    for (id, lease_token, agent) in &ledger.claims {
        let extended = client
            .extend_lease(pb::ExtendLeaseRequest {
                ticket_id: id.clone(),
                lease_token: lease_token.clone(),
                lease_seconds: 600,
            })
            .await
            .unwrap_or_else(|status| panic!("acknowledged lease of {id} lost: {status:?}"));
        let ticket = extended.into_inner().ticket.expect("ticket");
        assert_eq!(ticket.lease.expect("lease").agent_id, *agent);
    }
}
