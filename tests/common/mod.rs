//! Shared test harness: a real triage server on a loopback port with a temp
//! data directory, a real tonic client, and a clock the test controls.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use triage::app::App;
use triage::clock::{ManualClock, UnixMicros};
use triage::config::Config;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;
use triage::rules::RuleSet;
use triage::server;

pub mod cluster;
pub mod console;
pub mod pg;

/// The rule file most integration tests use: small and stable, so tests
/// do not change when the shipped default rules are tuned.
pub const TEST_RULES: &str = include_str!("../rules/test.toml");

/// 2026-01-01T00:00:00Z, where test clocks start.
pub const START: UnixMicros = UnixMicros(1_767_225_600_000_000);

/// A server running in this process.
pub struct TestServer {
    pub client: TriageServiceClient<Channel>,
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub address: std::net::SocketAddr,
    /// The operations HTTP port (`/metrics`, `/healthz`, `/readyz`).
    pub http_address: std::net::SocketAddr,
    data_dir: std::path::PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The PostgreSQL schema of the store, when the suite runs on PostgreSQL.
    _schema: Option<pg::PgSchema>,
    _dir: TempDir,
}

/// True, saying so, when the suite runs on PostgreSQL and the calling
/// test only holds for the sled store (`why`): the test then returns.
pub fn skip_unless_sled(why: &str) -> bool {
    let skip = pg::postgres_selected();
    if skip {
        eprintln!("SKIPPED on PostgreSQL: {why}");
    }
    skip
}

/// A fresh PostgreSQL schema when the suites run on PostgreSQL
/// (`TRIAGE_TEST_STORE=postgres`); `None` for sled. Outside CI an
/// unreachable server falls back to sled, saying so.
pub async fn test_schema() -> Option<pg::PgSchema> {
    if !pg::postgres_selected() {
        return None;
    }
    let schema = pg::PgSchema::create().await;
    if schema.is_none() {
        eprintln!("TRIAGE_TEST_STORE=postgres, but PostgreSQL is unreachable: this test runs on sled");
    }
    schema
}

impl TestServer {
    /// A server with the test rules.
    pub async fn start() -> TestServer {
        Self::start_with(TEST_RULES, |_| {}).await
    }

    /// A server with `rules` and settings adjusted by `adjust`.
    pub async fn start_with(rules: &str, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_data_dir(dir.path().join("data"));
        config.maintenance_interval = Duration::from_secs(3600);
        adjust(&mut config);
        let rules = RuleSet::parse("test.toml", rules).expect("test rules compile");
        let schema = test_schema().await;
        config.location = match &schema {
            Some(schema) => schema.url().parse().expect("a PostgreSQL URL"),
            // Tests adjust `data_dir`: the sled store follows it.
            None => triage::store::StoreLocation::Sled(config.data_dir.clone()),
        };
        let store = triage::store::open(&config.location, config.store, config.pg)
            .await
            .expect("store opens");
        let clock = Arc::new(ManualClock::new(START));
        let app = Arc::new(App::with_store(rules, store, clock.clone(), config.app.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind http");
        let http_address = http.local_addr().expect("http address");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = Arc::clone(&app);
        let settings = server::ServeSettings::from(&config);
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            server::serve_with_http(served, listener, Some(http), settings, stop)
                .await
                .expect("server runs");
        });
        let client = connect(address).await;
        TestServer {
            client,
            app,
            clock,
            address,
            http_address,
            data_dir: config.data_dir.clone(),
            stop: Some(stop),
            task: Some(task),
            _schema: schema,
            _dir: dir,
        }
    }

    /// True when this server's store is PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self._schema.is_some()
    }

    /// The server's data directory.
    pub fn app_data_dir(&self) -> std::path::PathBuf {
        self.data_dir.clone()
    }

    /// Stops the server and waits for it to drain.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends cleanly");
        }
    }
}

/// A client connected to `address`.
pub async fn connect(address: std::net::SocketAddr) -> TriageServiceClient<Channel> {
    let endpoint = format!("http://{address}");
    TriageServiceClient::connect(endpoint)
        .await
        .expect("client connects")
}

/// A valid ticket with the given texts.
pub fn ticket(external_id: &str, subject: &str, body: &str) -> pb::TicketInput {
    pb::TicketInput {
        external_id: external_id.to_string(),
        source: "zendesk".to_string(),
        channel: pb::Channel::Email.into(),
        subject: subject.to_string(),
        body: body.to_string(),
        customer: Some(pb::Customer {
            id: format!("cust-{external_id}"),
            tier: "pro".to_string(),
            email: "someone@example.com".to_string(),
            ..Default::default()
        }),
        language: "en".to_string(),
        ..Default::default()
    }
}

/// Ingests a ticket and returns the response.
pub async fn ingest(
    client: &mut TriageServiceClient<Channel>,
    input: pb::TicketInput,
) -> pb::IngestTicketResponse {
    client
        .ingest_ticket(pb::IngestTicketRequest { ticket: Some(input) })
        .await
        .expect("ingest succeeds")
        .into_inner()
}

/// Claims the next ticket of `queue` for `agent` without waiting; `None`
/// when the queue is empty.
pub async fn claim(
    client: &mut TriageServiceClient<Channel>,
    queue: &str,
    agent: &str,
    lease_seconds: u32,
) -> Option<pb::Ticket> {
    let request = pb::ClaimNextRequest {
        queue: queue.into(),
        agent_id: agent.into(),
        lease_seconds,
        wait_seconds: 0,
        ..Default::default()
    };
    client
        .claim_next(request)
        .await
        .expect("claim")
        .into_inner()
        .ticket
}

/// The lease token of a ticket from a ClaimNext answer.
pub fn token(claimed: &pb::Ticket) -> String {
    claimed.lease.as_ref().expect("lease").token.clone()
}

/// Completes a claimed ticket with the token from its claim; the answer's ticket.
pub async fn complete(
    client: &mut TriageServiceClient<Channel>,
    claimed: &pb::Ticket,
    resolution: &str,
) -> Result<pb::Ticket, tonic::Status> {
    let request = pb::CompleteTicketRequest {
        ticket_id: claimed.id.clone(),
        lease_token: token(claimed),
        resolution: resolution.into(),
        ..Default::default()
    };
    let answer = client.complete_ticket(request).await?.into_inner();
    Ok(answer.ticket.expect("ticket"))
}

/// Releases a claimed ticket with the token from its claim; the answer's ticket.
pub async fn release(
    client: &mut TriageServiceClient<Channel>,
    claimed: &pb::Ticket,
    reason: &str,
) -> Result<pb::Ticket, tonic::Status> {
    let request = pb::ReleaseTicketRequest {
        ticket_id: claimed.id.clone(),
        lease_token: token(claimed),
        reason: reason.into(),
    };
    let answer = client.release_ticket(request).await?.into_inner();
    Ok(answer.ticket.expect("ticket"))
}

/// Transfers a claimed ticket to `queue` with the token from its claim (no
/// correction); the answer's ticket.
pub async fn transfer(
    client: &mut TriageServiceClient<Channel>,
    claimed: &pb::Ticket,
    queue: &str,
    reason: &str,
) -> Result<pb::Ticket, tonic::Status> {
    let request = pb::TransferTicketRequest {
        ticket_id: claimed.id.clone(),
        lease_token: token(claimed),
        queue: queue.into(),
        reason: reason.into(),
        ..Default::default()
    };
    let answer = client.transfer_ticket(request).await?.into_inner();
    Ok(answer.ticket.expect("ticket"))
}

/// GetTicket's answer for `id`.
pub async fn get(client: &mut TriageServiceClient<Channel>, id: &str) -> pb::Ticket {
    let request = pb::GetTicketRequest { ticket_id: id.into() };
    let response = client.get_ticket(request).await.expect("get");
    response.into_inner().ticket.expect("ticket")
}

/// The summary of `queue` from ListQueues.
pub async fn queue_summary(client: &mut TriageServiceClient<Channel>, queue: &str) -> pb::QueueSummary {
    let queues = client
        .list_queues(pb::ListQueuesRequest {})
        .await
        .expect("list queues")
        .into_inner()
        .queues;
    queues
        .into_iter()
        .find(|summary| summary.name == queue)
        .unwrap_or_else(|| panic!("queue {queue} listed"))
}

/// The triage binary running as a child process.
pub struct ServerProcess {
    pub child: Child,
    pub address: std::net::SocketAddr,
}

impl ServerProcess {
    /// Starts the real binary on a free loopback port with `data_dir`.
    pub fn start(data_dir: &Path, extra_args: &[&str]) -> ServerProcess {
        Self::try_start(data_dir, extra_args).unwrap_or_else(|err| panic!("server did not start: {err}"))
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        self.child.wait().expect("child exits")
    }

    /// Kills the process with SIGKILL (no chance to flush anything).
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Like [`start`](Self::start), but reports a server that exits before
    /// listening (its stderr, e.g. a store lock still held) as `Err` instead
    /// of panicking. The child's stderr is forwarded to the test's.
    pub fn try_start(data_dir: &Path, extra_args: &[&str]) -> Result<ServerProcess, String> {
        Self::try_start_under(&[], data_dir, extra_args)
    }

    /// Like [`try_start`](Self::try_start), with the binary run by
    /// `wrapper` (e.g. `["strace", "-f", ...]`); no wrapper when empty.
    pub fn try_start_under(
        wrapper: &[&str],
        data_dir: &Path,
        extra_args: &[&str],
    ) -> Result<ServerProcess, String> {
        let binary = env!("CARGO_BIN_EXE_triage");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let mut child = command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra_args)
            .env("RUST_LOG", "warn")
            // Not the default 127.0.0.1:9090: tests run servers side by side.
            .env("TRIAGE_HTTP_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot spawn the binary: {err}"))?;
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let address = line
            .trim()
            .strip_prefix("triage listening on ")
            .and_then(|address| address.parse().ok());
        match (read, address) {
            (Ok(_), Some(address)) => {
                std::thread::spawn(move || {
                    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                        eprintln!("[triage] {line}");
                    }
                });
                Ok(ServerProcess { child, address })
            }
            (read, _) => {
                let _ = child.kill();
                let _ = child.wait();
                let mut errors = String::new();
                let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut errors);
                Err(format!(
                    "server did not start (first line {line:?}, read {read:?}): {}",
                    errors.trim()
                ))
            }
        }
    }

    /// Starts the binary, retrying for up to `patience` while it fails to
    /// start (e.g. while a store just closed in this process still holds
    /// the data directory's lock). Panics with the last error after that.
    pub fn start_patiently(data_dir: &Path, extra_args: &[&str], patience: Duration) -> ServerProcess {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match Self::try_start(data_dir, extra_args) {
                Ok(server) => return server,
                Err(err) if std::time::Instant::now() >= deadline => panic!("{err}"),
                Err(err) => {
                    eprintln!("retrying server start: {err}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// Runs `triage --verify` on `data_dir` (the server must be stopped):
    /// its exit status and stdout report.
    pub fn verify(data_dir: &Path) -> (std::process::ExitStatus, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_triage"))
            .arg("--verify")
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .output()
            .expect("verify runs");
        let mut report = String::from_utf8_lossy(&output.stdout).into_owned();
        report.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status, report)
    }
}

/// A server process killed (SIGKILL) when dropped, so a failing test
/// leaves no stray server behind.
pub struct KillOnDrop(pub Option<ServerProcess>);

impl KillOnDrop {
    /// The running server.
    pub fn server(&self) -> &ServerProcess {
        self.0.as_ref().expect("server running")
    }

    /// Kills the server now with SIGKILL.
    pub fn kill_hard(&mut self) {
        if let Some(server) = self.0.take() {
            server.kill_hard();
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// Cases for one property: `PROPTEST_CASES` when set, else `default`.
pub fn property_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// Checks `test` on `cases` values of `strategy`; panics with the minimal
/// failing input. Failures are saved beside `source_file` (the calling
/// test's `file!()`) for replay.
pub fn check_property<S: proptest::strategy::Strategy>(
    source_file: &'static str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), proptest::test_runner::TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
    let config = Config {
        cases,
        source_file: Some(source_file),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(failure) = runner.run(&strategy, test) {
        panic!("{failure}");
    }
}
