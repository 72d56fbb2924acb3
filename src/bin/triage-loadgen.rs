//! triage-loadgen: measures a triage server over gRPC on loopback.
//!
//! - default (no subcommand): `IngestTicket` throughput and p50/p99 latency
//!   at each `--in-flight` level against the no-op `Ping` RPC on the same
//!   server, with the ratio ingest/ping. `--spawn` starts an in-process
//!   server (default rules, temp dir) so one command measures everything.
//! - `fill`: fills a data directory with N tickets through the library's
//!   `Store::ingest` (no server), for start-up and RSS measurements.
//! - `soak`: ingest plus claim/complete load for a bounded time, printing a
//!   sample line (rates, queue depths, the server's RSS) at a fixed period.
//! - `stores`: ingest and claim throughput on the sled store (one server)
//!   and on the PostgreSQL store with one and with three replicas sharing
//!   a schema, in one run, each setup on a fresh store.
//!
//! Only loopback targets are accepted, and every run has a bounded duration.

#[path = "../../benches/support/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use rand::rngs::StdRng;
use tokio::sync::oneshot;
use tonic::transport::{Channel as GrpcChannel, Endpoint, Uri};
use triage::clock::{Clock, SystemClock};
use triage::config::Config;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;
use triage::rules::{CustomerHistory, RuleSet};
use triage::store::{Store, StoreOptions, TicketStore};
use triage::ticket::{Channel, TicketInput};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;
type Client = TriageServiceClient<GrpcChannel>;

/// Longest run of one measured point, or of a soak.
const MAX_POINT_SECS: u64 = 600;
const MAX_SOAK_SECS: u64 = 4 * 3600;
/// Most requests in flight at once.
const MAX_IN_FLIGHT: usize = 4096;
/// Requests in flight per HTTP/2 connection (servers cap concurrent streams).
const STREAMS_PER_CONNECTION: usize = 64;
/// Distinct ticket texts cycled through (external ids are always unique).
const TICKET_POOL: usize = 1024;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "triage-loadgen",
    about = "Load generator for triage: ingest vs ping throughput and latency, store fill, soak.",
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    rpc: RpcArgs,
}

/// What to do besides the default ingest-vs-ping measurement.
#[derive(Debug, Subcommand)]
enum Command {
    /// Fill a data directory with tickets through `Store::ingest` (no server).
    Fill(FillArgs),
    /// Ingest and claim/complete for a while, sampling rates, depths and RSS.
    Soak(SoakArgs),
    /// Ingest and claim throughput: sled, PostgreSQL with 1 and 3 replicas.
    Stores(StoresArgs),
}

/// Flags of `stores`.
#[derive(Debug, clap::Args)]
struct StoresArgs {
    /// PostgreSQL server; each PostgreSQL setup gets a schema of its own,
    /// dropped after (loopback only).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Requests in flight, spread over the replicas.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Seconds of ingest per setup (claims run until the queue is empty or
    /// as long again).
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
}

/// Flags of the ingest-vs-ping measurement.
#[derive(Debug, clap::Args)]
struct RpcArgs {
    /// Server to measure (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:50051", conflicts_with = "spawn")]
    target: String,
    /// Start an in-process server (default rules, temp data dir) instead.
    #[arg(long)]
    spawn: bool,
    /// Requests in flight, one measured point per value.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    in_flight: Vec<usize>,
    /// Seconds measured per point and mode.
    #[arg(long, default_value_t = 5)]
    duration_secs: u64,
    /// Which RPCs to measure.
    #[arg(long, value_enum, default_value_t = Mode::Both)]
    mode: Mode,
}

/// Which RPCs the measurement drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// `IngestTicket` only.
    Ingest,
    /// `Ping` only.
    Ping,
    /// Both, ping first, with the ratio.
    Both,
}

/// Flags of `fill`.
#[derive(Debug, clap::Args)]
struct FillArgs {
    /// Data directory to fill (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// How many tickets to add.
    #[arg(long)]
    tickets: u64,
    /// Concurrent ingest tasks (group commit batches their fsyncs).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
}

/// Flags of `soak`.
#[derive(Debug, clap::Args)]
struct SoakArgs {
    /// Server to load (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 600)]
    duration_secs: u64,
    /// Seconds between sample lines.
    #[arg(long, default_value_t = 10)]
    sample_secs: u64,
    /// The server's process id, to sample its RSS from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Concurrent ingest loops.
    #[arg(long, default_value_t = 16)]
    ingesters: usize,
    /// Concurrent claim-then-complete loops.
    #[arg(long, default_value_t = 32)]
    claimers: usize,
    /// Total ingest rate limit per second (0: as fast as possible).
    #[arg(long, default_value_t = 200)]
    ingest_rate: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.command {
        Some(Command::Fill(fill_args)) => fill(fill_args).await,
        Some(Command::Soak(soak_args)) => soak(soak_args).await,
        Some(Command::Stores(stores_args)) => stores(stores_args).await,
        None => rpc(args.rpc).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("triage-loadgen: {err}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- checks --

/// Accepts `http://` URLs whose host is a loopback address or `localhost`.
fn loopback_target(target: &str) -> Result<Uri> {
    let uri: Uri = target
        .parse()
        .map_err(|err| format!("--target {target:?}: {err}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("--target {target:?}: only plain http:// on loopback is supported").into());
    }
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!("--target {target:?}: only loopback addresses are allowed").into());
    }
    Ok(uri)
}

fn bounded_secs(flag: &str, secs: u64, max: u64) -> Result<Duration> {
    if secs == 0 || secs > max {
        return Err(format!("--{flag}: {secs} is outside 1..={max}").into());
    }
    Ok(Duration::from_secs(secs))
}

fn check_in_flight(levels: &[usize]) -> Result<()> {
    match levels.iter().find(|&&n| n == 0 || n > MAX_IN_FLIGHT) {
        Some(bad) => Err(format!("--in-flight: {bad} is outside 1..={MAX_IN_FLIGHT}").into()),
        None if levels.is_empty() => Err("--in-flight: give at least one level".into()),
        None => Ok(()),
    }
}

// --------------------------------------------------------------- tickets --

/// The API form of a generated ticket, under a new external id.
fn api_ticket(input: &TicketInput, external_id: String) -> pb::TicketInput {
    pb::TicketInput {
        external_id,
        source: input.source.clone(),
        channel: api_channel(input.channel).into(),
        subject: input.subject.clone(),
        body: input.body.clone(),
        customer: Some(pb::Customer {
            id: input.customer.id.clone(),
            tier: input.customer.tier.clone(),
            email: input.customer.email.clone(),
            ..pb::Customer::default()
        }),
        language: input.language.clone(),
        tags: input.tags.clone(),
        ..pb::TicketInput::default()
    }
}

fn api_channel(channel: Channel) -> pb::Channel {
    let name = format!("CHANNEL_{}", channel.name().to_uppercase());
    pb::Channel::from_str_name(&name).unwrap_or(pb::Channel::Unspecified)
}

/// Hands out tickets with external ids unique to this run.
#[derive(Debug)]
struct TicketSource {
    pool: Vec<pb::TicketInput>,
    run: String,
    next: AtomicU64,
}

impl TicketSource {
    fn new() -> Arc<TicketSource> {
        let started = SystemClock.now().0;
        let pool = workload::tickets(TICKET_POOL, 3)
            .iter()
            .map(|ticket| api_ticket(ticket, String::new()))
            .collect();
        Arc::new(TicketSource {
            pool,
            run: format!("loadgen-{started:x}"),
            next: AtomicU64::new(0),
        })
    }

    fn request(&self) -> pb::IngestTicketRequest {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        let mut ticket = self.pool[index as usize % self.pool.len()].clone();
        ticket.external_id = format!("{}-{index}", self.run);
        pb::IngestTicketRequest { ticket: Some(ticket) }
    }
}

// ------------------------------------------------------------ connection --

async fn connect(uri: &Uri) -> Result<Client> {
    let channel = Endpoint::from(uri.clone())
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|err| format!("cannot connect to {uri}: {err}"))?;
    Ok(TriageServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024))
}

/// Enough connections for `in_flight` streams.
async fn connections(uri: &Uri, in_flight: usize) -> Result<Vec<Client>> {
    let count = in_flight.div_ceil(STREAMS_PER_CONNECTION).max(1);
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
        clients.push(connect(uri).await?);
    }
    Ok(clients)
}

/// A triage server running inside this process on a temp dir.
struct SpawnedServer {
    uri: Uri,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::result::Result<(), triage::server::ServerError>>,
    dir: ScratchDir,
}

impl SpawnedServer {
    async fn start() -> Result<SpawnedServer> {
        Self::start_with(|_, _| {}).await
    }

    /// A server with default settings adjusted by `adjust`.
    async fn start_with(adjust: impl FnOnce(&mut Config, &Path)) -> Result<SpawnedServer> {
        let dir = ScratchDir::create()?;
        let mut config = Config::for_data_dir(dir.path.join("data"));
        adjust(&mut config, &dir.path);
        let app = triage::server::build_app(&config, Arc::new(SystemClock)).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let stop_signal = async {
            let _ = stopped.await;
        };
        let task = tokio::spawn(triage::server::serve(
            app,
            listener,
            (&config).into(),
            stop_signal,
        ));
        let uri: Uri = format!("http://{address}").parse()?;
        eprintln!("spawned an in-process server on {address} ({})", config.location);
        Ok(SpawnedServer {
            uri,
            stop: Some(stop),
            task,
            dir,
        })
    }

    async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await??;
        self.dir.remove();
        Ok(())
    }
}

/// A fresh directory under the system temp dir, removed by [`ScratchDir::remove`].
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn create() -> Result<ScratchDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "triage-loadgen-{}-{:x}-{}",
            std::process::id(),
            SystemClock.now().0,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        Ok(ScratchDir { path })
    }

    fn remove(&self) {
        if let Err(err) = std::fs::remove_dir_all(&self.path) {
            eprintln!("could not remove {}: {err}", self.path.display());
        }
    }
}

// ------------------------------------------------------------ rpc points --

/// Latencies and failures of one measured point.
#[derive(Debug, Default)]
struct Sample {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Sample {
    fn merge(&mut self, other: Sample) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn record(&mut self, started: Instant, outcome: std::result::Result<(), tonic::Status>) {
        match outcome {
            Ok(()) => {
                let micros = started.elapsed().as_micros();
                self.latencies_us.push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Err(status) => {
                self.errors += 1;
                self.first_error.get_or_insert_with(|| status.to_string());
            }
        }
    }
}

/// Throughput and latency of one RPC at one in-flight level.
#[derive(Debug, Clone, Copy)]
struct Figures {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

impl Figures {
    fn of(mut sample: Sample, elapsed: Duration) -> Figures {
        sample.latencies_us.sort_unstable();
        if let Some(error) = &sample.first_error {
            eprintln!("  {} requests failed; first: {error}", sample.errors);
        }
        Figures {
            per_second: sample.latencies_us.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: percentile_ms(&sample.latencies_us, 0.50),
            p99_ms: percentile_ms(&sample.latencies_us, 0.99),
            errors: sample.errors,
        }
    }
}

fn percentile_ms(sorted_us: &[u32], quantile: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted_us.len() as f64 * quantile).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1e3
}

/// The RPC one loop sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    Ping,
    Ingest,
}

async fn call(
    client: &mut Client,
    rpc: Rpc,
    tickets: &TicketSource,
) -> std::result::Result<(), tonic::Status> {
    match rpc {
        Rpc::Ping => client.ping(pb::PingRequest {}).await.map(drop),
        Rpc::Ingest => client.ingest_ticket(tickets.request()).await.map(drop),
    }
}

/// One closed loop: send, wait, record, until `until`.
async fn rpc_loop(mut client: Client, rpc: Rpc, tickets: Arc<TicketSource>, until: Instant) -> Sample {
    let mut sample = Sample::default();
    while Instant::now() < until {
        let started = Instant::now();
        let outcome = call(&mut client, rpc, &tickets).await;
        sample.record(started, outcome);
    }
    sample
}

/// Runs `in_flight` closed loops of `rpc` for `duration` and measures them.
async fn measure(
    clients: &[Client],
    rpc: Rpc,
    in_flight: usize,
    duration: Duration,
    tickets: &Arc<TicketSource>,
) -> Result<Figures> {
    let start = Instant::now();
    let until = start + duration;
    let loops: Vec<_> = (0..in_flight)
        .map(|index| {
            let client = clients[index % clients.len()].clone();
            tokio::spawn(rpc_loop(client, rpc, Arc::clone(tickets), until))
        })
        .collect();
    let mut sample = Sample::default();
    for handle in loops {
        sample.merge(handle.await?);
    }
    Ok(Figures::of(sample, start.elapsed()))
}

/// Measures one in-flight level: a short warm-up, then each chosen RPC.
async fn measure_level(
    uri: &Uri,
    mode: Mode,
    in_flight: usize,
    duration: Duration,
    tickets: &Arc<TicketSource>,
) -> Result<(Option<Figures>, Option<Figures>)> {
    let clients = connections(uri, in_flight).await?;
    let warm_up = (duration / 5).min(Duration::from_secs(1));
    let first = if mode == Mode::Ingest {
        Rpc::Ingest
    } else {
        Rpc::Ping
    };
    measure(&clients, first, in_flight, warm_up, tickets).await?;
    let ping = match mode {
        Mode::Ingest => None,
        _ => Some(measure(&clients, Rpc::Ping, in_flight, duration, tickets).await?),
    };
    let ingest = match mode {
        Mode::Ping => None,
        _ => Some(measure(&clients, Rpc::Ingest, in_flight, duration, tickets).await?),
    };
    Ok((ping, ingest))
}

fn cells(figures: Option<Figures>) -> String {
    match figures {
        Some(f) => format!("{:>10.0} {:>8.2} {:>8.2}", f.per_second, f.p50_ms, f.p99_ms),
        None => format!("{:>10} {:>8} {:>8}", "-", "-", "-"),
    }
}

fn print_row(in_flight: usize, ping: Option<Figures>, ingest: Option<Figures>) {
    let ratio = match (ping, ingest) {
        (Some(ping), Some(ingest)) => {
            let ratio = ingest.per_second / ping.per_second;
            let verdict = if ratio >= 0.5 { "MET" } else { "MISSED" };
            format!("{:>7.1}%  {verdict}", ratio * 100.0)
        }
        _ => "-".to_string(),
    };
    let errors = ping.map_or(0, |f| f.errors) + ingest.map_or(0, |f| f.errors);
    println!(
        "{in_flight:>9} | {} | {} | {ratio} {}",
        cells(ping),
        cells(ingest),
        errors_note(errors)
    );
}

fn errors_note(errors: u64) -> String {
    if errors == 0 {
        String::new()
    } else {
        format!("({errors} errors)")
    }
}

async fn rpc(args: RpcArgs) -> Result<()> {
    check_in_flight(&args.in_flight)?;
    let duration = bounded_secs("duration-secs", args.duration_secs, MAX_POINT_SECS)?;
    let spawned = if args.spawn {
        Some(SpawnedServer::start().await?)
    } else {
        None
    };
    let uri = match &spawned {
        Some(server) => server.uri.clone(),
        None => loopback_target(&args.target)?,
    };
    let tickets = TicketSource::new();
    println!("ingest (1 KB tickets, default rules on the server) vs no-op Ping; {duration:?} per point");
    println!(
        "{:>9} | {:>10} {:>8} {:>8} | {:>10} {:>8} {:>8} | ingest/ping (target >= 50%)",
        "in-flight", "ping/s", "p50 ms", "p99 ms", "ingest/s", "p50 ms", "p99 ms"
    );
    for &in_flight in &args.in_flight {
        let (ping, ingest) = measure_level(&uri, args.mode, in_flight, duration, &tickets).await?;
        print_row(in_flight, ping, ingest);
    }
    if let Some(server) = spawned {
        server.stop().await?;
    }
    Ok(())
}

// ------------------------------------------------------------------ fill --

async fn fill(args: FillArgs) -> Result<()> {
    if args.concurrency == 0 || args.concurrency > MAX_IN_FLIGHT {
        return Err(format!(
            "--concurrency: {} is outside 1..={MAX_IN_FLIGHT}",
            args.concurrency
        )
        .into());
    }
    let store = Store::open(&args.data_dir, StoreOptions::default())?;
    let rules = Arc::new(RuleSet::default_rules()?);
    let before = store.ticket_count() as u64;
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let progress = tokio::spawn(report_fill_progress(Arc::clone(&next), args.tickets, start));
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|task| {
            let filler = Filler {
                store: store.clone(),
                rules: Arc::clone(&rules),
                next: Arc::clone(&next),
                total: args.tickets,
                run: format!("fill-{before}"),
            };
            tokio::spawn(filler.run(task as u64))
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    progress.abort();
    store.sync().await?;
    let elapsed = start.elapsed();
    println!(
        "filled {} with {} tickets in {:.1} s ({:.0}/s); {} tickets stored in all",
        args.data_dir.display(),
        args.tickets,
        elapsed.as_secs_f64(),
        args.tickets as f64 / elapsed.as_secs_f64(),
        before + args.tickets,
    );
    println!(
        "data dir size: {:.1} MiB",
        dir_bytes(&args.data_dir) as f64 / 1048576.0
    );
    Ok(())
}

/// One fill task: classifies generated tickets and stores them.
struct Filler {
    store: Store,
    rules: Arc<RuleSet>,
    next: Arc<AtomicU64>,
    total: u64,
    run: String,
}

impl Filler {
    async fn run(self, seed: u64) -> Result<()> {
        let mut rng: StdRng = workload::seeded(1_000 + seed);
        let history = CustomerHistory::default();
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.total {
                return Ok(());
            }
            let mut ticket = workload::ticket(&mut rng, index, 1000);
            ticket.external_id = format!("{}-{index}", self.run);
            let now = SystemClock.now();
            let classification = self.rules.classify(&ticket, &history, now);
            self.store.ingest(ticket, classification, now).await?;
        }
    }
}

async fn report_fill_progress(next: Arc<AtomicU64>, total: u64, start: Instant) {
    let mut ticks = tokio::time::interval(Duration::from_secs(10));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let done = next.load(Ordering::Relaxed).min(total);
        let rate = done as f64 / start.elapsed().as_secs_f64();
        eprintln!("  {done}/{total} tickets ({rate:.0}/s)");
    }
}

/// Total size of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_bytes(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |meta| meta.len()),
            Err(_) => 0,
        })
        .sum()
}

// ------------------------------------------------------------------ soak --

/// Counters the soak loops share with the sampler.
#[derive(Debug, Default)]
struct SoakCounters {
    ingested: AtomicU64,
    completed: AtomicU64,
    empty_claims: AtomicU64,
    errors: AtomicU64,
}

async fn soak(args: SoakArgs) -> Result<()> {
    let uri = loopback_target(&args.target)?;
    let duration = bounded_secs("duration-secs", args.duration_secs, MAX_SOAK_SECS)?;
    let period = bounded_secs("sample-secs", args.sample_secs, 3600)?;
    if args.ingesters == 0 || args.ingesters + args.claimers > MAX_IN_FLIGHT {
        return Err("--ingesters must be at least 1, and ingesters + claimers at most 4096".into());
    }
    let mut client = connect(&uri).await?;
    let queues: Vec<String> = client
        .list_queues(pb::ListQueuesRequest {})
        .await?
        .into_inner()
        .queues
        .into_iter()
        .map(|queue| queue.name)
        .collect();
    let counters = Arc::new(SoakCounters::default());
    let until = Instant::now() + duration;
    let tickets = TicketSource::new();
    let mut loops = Vec::new();
    for _ in 0..args.ingesters {
        let pace = ingest_pace(args.ingest_rate, args.ingesters);
        let job = ingest_loop(
            connect(&uri).await?,
            Arc::clone(&tickets),
            Arc::clone(&counters),
            pace,
            until,
        );
        loops.push(tokio::spawn(job));
    }
    for index in 0..args.claimers {
        let job = claim_loop(
            connect(&uri).await?,
            queues.clone(),
            index,
            Arc::clone(&counters),
            until,
        );
        loops.push(tokio::spawn(job));
    }
    let samples = sample_soak(client, &args, &counters, period, until).await?;
    for handle in loops {
        handle.await?;
    }
    print_soak_summary(&samples, &counters);
    Ok(())
}

/// Time between one ingest loop's requests for a total `rate` per second.
fn ingest_pace(rate: u64, loops: usize) -> Option<Duration> {
    (rate > 0).then(|| Duration::from_secs_f64(loops as f64 / rate as f64))
}

async fn ingest_loop(
    mut client: Client,
    tickets: Arc<TicketSource>,
    counters: Arc<SoakCounters>,
    pace: Option<Duration>,
    until: Instant,
) {
    let mut ticks = pace.map(|pace| {
        let mut ticks = tokio::time::interval(pace);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks
    });
    while Instant::now() < until {
        if let Some(ticks) = ticks.as_mut() {
            ticks.tick().await;
        }
        match client.ingest_ticket(tickets.request()).await {
            Ok(_) => counters.ingested.fetch_add(1, Ordering::Relaxed),
            Err(_) => counters.errors.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// Claims from each queue in turn and completes what it gets; after a
/// round of queues with nothing to claim it pauses briefly.
async fn claim_loop(
    mut client: Client,
    queues: Vec<String>,
    index: usize,
    counters: Arc<SoakCounters>,
    until: Instant,
) {
    let agent_id = format!("soak-agent-{index}");
    let mut turn = index;
    let mut empty_in_a_row = 0;
    while Instant::now() < until && !queues.is_empty() {
        turn = (turn + 1) % queues.len();
        match claim_and_complete(&mut client, &queues[turn], &agent_id, &counters).await {
            Some(true) => empty_in_a_row = 0,
            Some(false) => empty_in_a_row += 1,
            None => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        if empty_in_a_row >= queues.len() {
            empty_in_a_row = 0;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One claim (no waiting) and, if it got a ticket, its completion.
/// `Some(claimed?)`, or `None` when an RPC failed.
async fn claim_and_complete(
    client: &mut Client,
    queue: &str,
    agent_id: &str,
    counters: &SoakCounters,
) -> Option<bool> {
    let claim = pb::ClaimNextRequest {
        queue: queue.to_string(),
        agent_id: agent_id.to_string(),
        lease_seconds: 60,
        wait_seconds: 0,
        request_id: String::new(),
    };
    let Some(ticket) = client.claim_next(claim).await.ok()?.into_inner().ticket else {
        counters.empty_claims.fetch_add(1, Ordering::Relaxed);
        return Some(false);
    };
    let complete = pb::CompleteTicketRequest {
        ticket_id: ticket.id,
        lease_token: ticket.lease.map(|lease| lease.token).unwrap_or_default(),
        resolution: "resolved by soak test".to_string(),
        ..Default::default()
    };
    client.complete_ticket(complete).await.ok()?;
    counters.completed.fetch_add(1, Ordering::Relaxed);
    Some(true)
}

/// One sample line's figures.
#[derive(Debug, Clone, Copy)]
struct SoakSample {
    at: Duration,
    rss_kib: Option<u64>,
}

async fn sample_soak(
    mut client: Client,
    args: &SoakArgs,
    counters: &SoakCounters,
    period: Duration,
    until: Instant,
) -> Result<Vec<SoakSample>> {
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut last = (0, 0);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    while Instant::now() + period / 2 < until {
        ticks.tick().await;
        let ingested = counters.ingested.load(Ordering::Relaxed);
        let completed = counters.completed.load(Ordering::Relaxed);
        let (depth, leased) = queue_totals(&mut client).await?;
        let rss_kib = args.server_pid.and_then(|pid| proc_status_kib(pid, "VmRSS"));
        let at = start.elapsed();
        println!(
            "t={:>5}s ingested={ingested} (+{:.0}/s) completed={completed} (+{:.0}/s) depth={depth} leased={leased} rss={} errors={}",
            at.as_secs(),
            (ingested - last.0) as f64 / period.as_secs_f64(),
            (completed - last.1) as f64 / period.as_secs_f64(),
            rss_kib.map_or_else(|| "-".to_string(), |kib| format!("{:.1}MiB", kib as f64 / 1024.0)),
            counters.errors.load(Ordering::Relaxed),
        );
        last = (ingested, completed);
        samples.push(SoakSample { at, rss_kib });
    }
    Ok(samples)
}

async fn queue_totals(client: &mut Client) -> Result<(u64, u64)> {
    let queues = client
        .list_queues(pb::ListQueuesRequest {})
        .await?
        .into_inner()
        .queues;
    Ok(queues.iter().fold((0, 0), |(depth, leased), queue| {
        (depth + queue.depth, leased + queue.leased)
    }))
}

/// A `kB` line of /proc/PID/status, e.g. `VmRSS`.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Whether RSS levelled off: the last third's peak against the middle third's.
fn print_soak_summary(samples: &[SoakSample], counters: &SoakCounters) {
    println!(
        "soak done: ingested={} completed={} empty_claims={} errors={}",
        counters.ingested.load(Ordering::Relaxed),
        counters.completed.load(Ordering::Relaxed),
        counters.empty_claims.load(Ordering::Relaxed),
        counters.errors.load(Ordering::Relaxed),
    );
    let rss: Vec<(Duration, u64)> = samples
        .iter()
        .filter_map(|sample| Some((sample.at, sample.rss_kib?)))
        .collect();
    if rss.len() < 3 {
        println!("rss: too few samples to judge");
        return;
    }
    let third = rss.len() / 3;
    let peak = |part: &[(Duration, u64)]| part.iter().map(|(_, kib)| *kib).max().unwrap_or(0);
    let middle = peak(&rss[third..2 * third]);
    let last = peak(&rss[2 * third..]);
    let growth = last as f64 / middle.max(1) as f64 - 1.0;
    let verdict = if growth <= 0.10 {
        "levelled off"
    } else {
        "still growing"
    };
    println!(
        "rss: first {:.1} MiB, middle-third peak {:.1} MiB, last-third peak {:.1} MiB ({:+.1}%): {verdict}",
        rss[0].1 as f64 / 1024.0,
        middle as f64 / 1024.0,
        last as f64 / 1024.0,
        growth * 100.0,
    );
}

// ---------------------------------------------------------------- stores --

/// Rules for `stores`: every ticket waits in one queue.
const ONE_QUEUE_RULES: &str = "version = \"stores-1\"\ndefault_queue = \"inbox\"\n\n[[queue]]\nname = \"inbox\"\ndescription = \"Everything\"\n";

/// One setup of `stores`: a backend and how many replicas share it.
struct Setup {
    name: &'static str,
    replicas: usize,
    postgres: bool,
}

const SETUPS: [Setup; 3] = [
    Setup {
        name: "sled",
        replicas: 1,
        postgres: false,
    },
    Setup {
        name: "postgres",
        replicas: 1,
        postgres: true,
    },
    Setup {
        name: "postgres",
        replicas: 3,
        postgres: true,
    },
];

/// Runs `sql` on the PostgreSQL server at `url`.
async fn pg_execute(url: &str, sql: &str) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|err| format!("--pg-url: cannot connect: {err}"))?;
    let driver = tokio::spawn(connection);
    client.batch_execute(sql).await?;
    drop(client);
    let _ = driver.await;
    Ok(())
}

/// Claims from `inbox` until it is empty or `until`; a claim that finds the
/// queue empty ends the loop (and is counted as an error of the sample).
async fn claim_until_empty(mut client: Client, agent: usize, until: Instant) -> Sample {
    let mut sample = Sample::default();
    let request = pb::ClaimNextRequest {
        queue: "inbox".into(),
        agent_id: format!("bench-{agent}"),
        lease_seconds: 600,
        ..Default::default()
    };
    while Instant::now() < until {
        let started = Instant::now();
        let outcome = client.claim_next(request.clone()).await;
        let empty = matches!(&outcome, Ok(answer) if answer.get_ref().ticket.is_none());
        if empty {
            sample.record(started, Err(tonic::Status::not_found("queue empty")));
            break;
        }
        sample.record(started, outcome.map(drop));
    }
    sample
}

/// Measures one setup: ingest for `duration`, then claims.
async fn measure_setup(setup: &Setup, args: &StoresArgs, duration: Duration) -> Result<(Figures, Figures)> {
    let schema = format!("loadgen_{:x}", SystemClock.now().0);
    let location = if setup.postgres {
        pg_execute(&args.pg_url, &format!("CREATE SCHEMA {schema}")).await?;
        let joiner = if args.pg_url.contains('?') { '&' } else { '?' };
        Some(format!(
            "{}{joiner}options=-c%20search_path%3D{schema}",
            args.pg_url
        ))
    } else {
        None
    };
    let mut servers = Vec::new();
    for _ in 0..setup.replicas {
        let location = location.clone();
        let server = SpawnedServer::start_with(|config, dir| {
            let rules = dir.join("rules.toml");
            if std::fs::write(&rules, ONE_QUEUE_RULES).is_ok() {
                config.rules_path = Some(rules);
            }
            config.maintenance_interval = Duration::from_secs(3600);
            if let Some(location) = location.as_deref().and_then(|url| url.parse().ok()) {
                config.location = location;
            }
        })
        .await?;
        servers.push(server);
    }
    let mut clients = Vec::new();
    for server in &servers {
        clients.extend(connections(&server.uri, args.in_flight.div_ceil(setup.replicas)).await?);
    }
    let tickets = TicketSource::new();
    let ingest = measure(&clients, Rpc::Ingest, args.in_flight, duration, &tickets).await?;
    let start = Instant::now();
    let until = start + duration;
    let loops: Vec<_> = (0..args.in_flight)
        .map(|agent| {
            tokio::spawn(claim_until_empty(
                clients[agent % clients.len()].clone(),
                agent,
                until,
            ))
        })
        .collect();
    let mut sample = Sample::default();
    for handle in loops {
        sample.merge(handle.await?);
    }
    let claims = Figures::of(sample, start.elapsed());
    for server in servers {
        server.stop().await?;
    }
    if setup.postgres {
        pg_execute(&args.pg_url, &format!("DROP SCHEMA {schema} CASCADE")).await?;
    }
    Ok((ingest, claims))
}

async fn stores(args: StoresArgs) -> Result<()> {
    let duration = bounded_secs("duration-secs", args.duration_secs, MAX_POINT_SECS)?;
    check_in_flight(&[args.in_flight])?;
    let url: tokio_postgres::Config = args
        .pg_url
        .parse()
        .map_err(|_| "--pg-url: not a PostgreSQL URL")?;
    let loopback = url.get_hosts().iter().all(|host| match host {
        tokio_postgres::config::Host::Tcp(name) => {
            name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        tokio_postgres::config::Host::Unix(_) => true,
    });
    if !loopback {
        return Err("--pg-url: only a local PostgreSQL server is allowed".into());
    }
    println!(
        "ingest then claim, {} in flight, {duration:?} of ingest per setup; in-process servers on this machine",
        args.in_flight
    );
    println!(
        "{:<10} {:>8} | {:>9} {:>8} {:>8} | {:>9} {:>8} {:>8} | vs sled (ingest, claim)",
        "store", "replicas", "ingest/s", "p50 ms", "p99 ms", "claim/s", "p50 ms", "p99 ms"
    );
    let mut baseline: Option<(f64, f64)> = None;
    for setup in &SETUPS {
        let (ingest, claims) = measure_setup(setup, &args, duration).await?;
        let base = *baseline.get_or_insert((ingest.per_second, claims.per_second));
        println!(
            "{:<10} {:>8} | {:>9.0} {:>8.2} {:>8.2} | {:>9.0} {:>8.2} {:>8.2} | {:.2}x, {:.2}x",
            setup.name,
            setup.replicas,
            ingest.per_second,
            ingest.p50_ms,
            ingest.p99_ms,
            claims.per_second,
            claims.p50_ms,
            claims.p99_ms,
            ingest.per_second / base.0,
            claims.per_second / base.1
        );
    }
    Ok(())
}
