//! Crash safety: the real server binary is killed with SIGKILL at a random
//! moment while clients ingest, claim, complete, release and transfer
//! tickets; after every kill the data directory must hold every
//! acknowledged ticket exactly once, every acknowledged completion, and
//! indexes that agree with the tickets.
//!
//! CI runs 20 rounds. Long mode: `TRIAGE_CRASH_ROUNDS=500 cargo test
//! --release --test crash -- --nocapture`. A failure prints its seed;
//! `TRIAGE_CRASH_SEED=<seed>` replays the same kill schedule (the traffic
//! interleaving itself still depends on timing).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{KillOnDrop, ServerProcess};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::transport::Channel;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;
use triage::store::{Store, StoreOptions, TicketStore};
use triage::ticket::{TicketId, TicketState};

type Client = TriageServiceClient<Channel>;

/// Rounds in CI; `TRIAGE_CRASH_ROUNDS` overrides.
const DEFAULT_ROUNDS: usize = 20;
/// Concurrent ingesting clients per round.
const INGESTERS: u64 = 12;
/// Concurrent claiming agents per round.
const AGENTS: u64 = 4;
/// Server flags: frequent maintenance, so lease expiry runs around crashes too.
const SERVER_ARGS: &[&str] = &["--maintenance-interval-ms", "100"];

/// Texts that the default rules route to different queues.
const TEXTS: &[(&str, &str)] = &[
    ("Site is down", "Nothing loads since this morning, total outage"),
    (
        "Charged twice",
        "I was charged twice this month, please refund me",
    ),
    ("Idea", "It would be great if you added a dark mode"),
    (
        "Cannot log in",
        "I forgot my password and the reset email never arrives",
    ),
    ("Where is my parcel?", "My order has not been delivered yet"),
    ("Thank you", "Your support team was fantastic, thanks a lot"),
    ("Cancel", "Please cancel my subscription"),
    ("Question", "How do I export my data?"),
    ("Hello", "Just checking in"),
];

fn rounds() -> usize {
    std::env::var("TRIAGE_CRASH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
}

fn seed() -> u64 {
    std::env::var("TRIAGE_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |elapsed| elapsed.as_nanos() as u64)
        })
}

/// What the clients of one round were told.
#[derive(Debug, Default)]
struct Traffic {
    /// Tickets whose IngestTicket returned OK: id and what was sent.
    ingested: Vec<(String, pb::TicketInput)>,
    /// Ingests that failed (the server died): stored or not, unknown.
    unanswered: Vec<pb::TicketInput>,
    /// Tickets whose CompleteTicket returned OK.
    completed: Vec<String>,
    /// Acknowledged claims, releases and transfers (for the report).
    other_writes: usize,
    /// Answers that break the API's promises even before any crash.
    problems: Vec<String>,
}

impl Traffic {
    fn absorb(&mut self, other: Traffic) {
        self.ingested.extend(other.ingested);
        self.unanswered.extend(other.unanswered);
        self.completed.extend(other.completed);
        self.other_writes += other.other_writes;
        self.problems.extend(other.problems);
    }
}

/// Everything acknowledged so far, over all rounds.
#[derive(Debug, Default)]
struct Ledger {
    /// Ticket id -> the input acknowledged for it.
    tickets: BTreeMap<String, pb::TicketInput>,
    /// Ids of tickets whose completion was acknowledged.
    completed: BTreeSet<String>,
}

impl Ledger {
    fn record_ingest(&mut self, id: String, input: pb::TicketInput, context: &str) {
        if let Some(earlier) = self.tickets.get(&id) {
            assert_eq!(
                earlier.external_id, input.external_id,
                "{context}: id {id} acknowledged for two different tickets"
            );
        }
        self.tickets.insert(id, input);
    }
}

async fn ingest_loop(mut client: Client, round: usize, worker: u64, stop: Arc<AtomicBool>) -> Traffic {
    let mut traffic = Traffic::default();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let (subject, body) = TEXTS[(n + worker as usize) % TEXTS.len()];
        let external_id = format!("crash-r{round}-w{worker}-{n}");
        let mut input = common::ticket(&external_id, subject, body);
        input.source = "crash-test".into();
        input.customer.as_mut().expect("customer").id = customer(round, n);
        n += 1;
        let request = pb::IngestTicketRequest {
            ticket: Some(input.clone()),
        };
        match client.ingest_ticket(request).await {
            Ok(response) => {
                let response = response.into_inner();
                let id = response.ticket.map(|ticket| ticket.id).unwrap_or_default();
                if !response.created {
                    traffic.problems.push(format!(
                        "first ingest of {external_id} answered created=false ({id})"
                    ));
                }
                traffic.ingested.push((id, input));
            }
            Err(_) => {
                traffic.unanswered.push(input);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    traffic
}

fn customer(round: usize, n: usize) -> String {
    format!("crash-r{round}-cust-{}", n % 5)
}

async fn agent_loop(
    mut client: Client,
    queues: Vec<String>,
    agent: String,
    mut rng: StdRng,
    stop: Arc<AtomicBool>,
) -> Traffic {
    let mut traffic = Traffic::default();
    // Like an agent: work one queue while it has tickets, then move on;
    // pause briefly after finding every queue empty.
    let mut next_queue = rng.random_range(0..queues.len());
    let mut empty_in_a_row = 0;
    while !stop.load(Ordering::Relaxed) {
        let queue = queues[next_queue % queues.len()].clone();
        // Now and then a one-second lease, which the server's maintenance
        // expires around the crashes.
        let lease_seconds = if rng.random_bool(0.1) { 1 } else { 300 };
        let claimed = client
            .claim_next(pb::ClaimNextRequest {
                queue: queue.clone(),
                agent_id: agent.clone(),
                lease_seconds,
                wait_seconds: 0,
                ..Default::default()
            })
            .await;
        let ticket = match claimed {
            Ok(response) => match response.into_inner().ticket {
                Some(ticket) => {
                    empty_in_a_row = 0;
                    ticket
                }
                None => {
                    next_queue += 1;
                    empty_in_a_row += 1;
                    if empty_in_a_row >= queues.len() {
                        empty_in_a_row = 0;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    continue;
                }
            },
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        traffic.other_writes += 1;
        // Some claims with one-second leases are abandoned, for the
        // server's maintenance to expire around the crashes.
        if lease_seconds == 1 && rng.random_bool(0.5) {
            continue;
        }
        let token = ticket
            .lease
            .as_ref()
            .map(|lease| lease.token.clone())
            .unwrap_or_default();
        let choice = rng.random_range(0..100);
        if choice < 70 {
            let done = client
                .complete_ticket(pb::CompleteTicketRequest {
                    ticket_id: ticket.id.clone(),
                    lease_token: token,
                    resolution: format!("resolved by {agent}"),
                    ..Default::default()
                })
                .await;
            if done.is_ok() {
                traffic.completed.push(ticket.id);
            }
        } else if choice < 85 {
            let released = client
                .release_ticket(pb::ReleaseTicketRequest {
                    ticket_id: ticket.id,
                    lease_token: token,
                    reason: "crash test".into(),
                })
                .await;
            traffic.other_writes += usize::from(released.is_ok());
        } else {
            let to = queues[rng.random_range(0..queues.len())].clone();
            let moved = client
                .transfer_ticket(pb::TransferTicketRequest {
                    ticket_id: ticket.id,
                    lease_token: token,
                    queue: to,
                    reason: "crash test".into(),
                    ..Default::default()
                })
                .await;
            traffic.other_writes += usize::from(moved.is_ok());
        }
    }
    traffic
}

async fn queue_names(client: &mut Client) -> Vec<String> {
    client
        .list_queues(pb::ListQueuesRequest {})
        .await
        .expect("list queues")
        .into_inner()
        .queues
        .into_iter()
        .map(|queue| queue.name)
        .collect()
}

/// Runs traffic against `server` and kills it with SIGKILL `delay` after
/// the traffic starts. Returns what the clients were told.
async fn traffic_until_killed(
    server: &mut KillOnDrop,
    round: usize,
    delay: Duration,
    rng: &mut StdRng,
) -> Traffic {
    let mut client = common::connect(server.server().address).await;
    let queues = queue_names(&mut client).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..INGESTERS {
        tasks.push(tokio::spawn(ingest_loop(
            client.clone(),
            round,
            worker,
            stop.clone(),
        )));
    }
    for agent in 0..AGENTS {
        let agent_rng = StdRng::seed_from_u64(rng.random());
        tasks.push(tokio::spawn(agent_loop(
            client.clone(),
            queues.clone(),
            format!("agent-{agent}"),
            agent_rng,
            stop.clone(),
        )));
    }
    // The kill comes from a thread of its own, so its timing does not
    // depend on when the runtime gets round to a timer.
    let process = server.0.take().expect("server running");
    let killer = std::thread::spawn(move || {
        std::thread::sleep(delay);
        process.kill_hard();
    });
    tokio::task::spawn_blocking(move || killer.join())
        .await
        .expect("killer thread joins")
        .expect("kill succeeds");
    stop.store(true, Ordering::Relaxed);
    let mut traffic = Traffic::default();
    for task in tasks {
        let finished = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("client task ends once the server is gone")
            .expect("client task does not panic");
        traffic.absorb(finished);
    }
    traffic
}

/// Opens the killed server's data directory in this process and checks it:
/// indexes consistent, every acknowledged ticket present with its input,
/// every acknowledged completion completed.
fn check_store_in_process(dir: &Path, ledger: &Ledger, context: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Store::open(dir, StoreOptions::default())
        .unwrap_or_else(|err| panic!("{context}: store reopens after kill -9: {err}"));
    let report = runtime
        .block_on(store.verify())
        .unwrap_or_else(|err| panic!("{context}: verify reads the store: {err}"));
    assert!(
        report.is_consistent(),
        "{context}: store inconsistent after kill -9 ({} tickets): {:#?}",
        report.tickets,
        report.problems
    );
    for (id, input) in &ledger.tickets {
        let parsed = TicketId::parse(id).unwrap_or_else(|| panic!("{context}: bad id {id:?}"));
        let ticket = runtime
            .block_on(store.get(parsed))
            .unwrap_or_else(|err| panic!("{context}: acknowledged ticket {id} lost: {err}"));
        assert_eq!(
            (&ticket.input.source, &ticket.input.external_id),
            (&input.source, &input.external_id),
            "{context}: ticket {id} holds another ticket's input"
        );
        let completed = ticket.state == TicketState::Completed;
        if ledger.completed.contains(id) {
            assert!(
                completed,
                "{context}: acknowledged completion of {id} lost: {:?}",
                ticket.state
            );
        }
    }
    assert!(
        store.ticket_count() >= ledger.tickets.len(),
        "{context}: fewer tickets stored than acknowledged"
    );
}

/// Runs `call` for every item concurrently (one request each, so group
/// commit and the transport can batch), answers in item order.
async fn each<T, R, F, Fut>(client: &Client, items: Vec<T>, call: F) -> Vec<(T, R)>
where
    T: Clone + Send + 'static,
    R: Send + 'static,
    F: Fn(Client, T) -> Fut,
    Fut: std::future::Future<Output = R> + Send + 'static,
{
    let tasks: Vec<_> = items
        .iter()
        .map(|item| tokio::spawn(call(client.clone(), item.clone())))
        .collect();
    let mut answers = Vec::with_capacity(items.len());
    for (item, task) in items.into_iter().zip(tasks) {
        answers.push((item, task.await.expect("request task")));
    }
    answers
}

async fn get_ticket(mut client: Client, id: String) -> Result<pb::Ticket, tonic::Status> {
    let response = client
        .get_ticket(pb::GetTicketRequest { ticket_id: id })
        .await?
        .into_inner();
    response
        .ticket
        .ok_or_else(|| tonic::Status::internal("GetTicket answered no ticket"))
}

async fn ingest_one(
    mut client: Client,
    input: pb::TicketInput,
) -> Result<pb::IngestTicketResponse, tonic::Status> {
    let request = pb::IngestTicketRequest { ticket: Some(input) };
    Ok(client.ingest_ticket(request).await?.into_inner())
}

/// Every waiting ticket of `queue`, page by page.
async fn list_queue(mut client: Client, queue: String) -> Result<Vec<pb::Ticket>, tonic::Status> {
    let mut tickets = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_tickets(pb::ListTicketsRequest {
                queue: queue.clone(),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await?
            .into_inner();
        tickets.extend(page.tickets);
        if page.next_page_token.is_empty() {
            return Ok(tickets);
        }
        page_token = page.next_page_token;
    }
}

async fn list_customer(mut client: Client, customer_id: String) -> Result<Vec<pb::Ticket>, tonic::Status> {
    let request = pb::ListCustomerTicketsRequest {
        customer_id,
        page_size: 500,
        ..Default::default()
    };
    Ok(client.list_customer_tickets(request).await?.into_inner().tickets)
}

fn id_of(answer: &pb::IngestTicketResponse) -> String {
    answer
        .ticket
        .as_ref()
        .map(|ticket| ticket.id.clone())
        .unwrap_or_default()
}

/// Checks the restarted server over gRPC: this round's tickets are there
/// exactly once (retries are recognised, listings hold no duplicates), and
/// ingests that were cut off by the crash can be retried safely.
async fn check_restarted_server(
    client: &Client,
    round: usize,
    traffic: &Traffic,
    ledger: &mut Ledger,
    context: &str,
) {
    // Acknowledged tickets and completions are there.
    let ids = traffic.ingested.iter().map(|(id, _)| id.clone()).collect();
    for ((id, input), (_, found)) in traffic.ingested.iter().zip(each(client, ids, get_ticket).await) {
        let ticket =
            found.unwrap_or_else(|status| panic!("{context}: GetTicket {id} after restart: {status}"));
        let stored = ticket.input.as_ref().map(|input| input.external_id.as_str());
        assert_eq!(stored, Some(input.external_id.as_str()), "{context}: {id} input");
    }
    for (id, found) in each(client, traffic.completed.clone(), get_ticket).await {
        let ticket =
            found.unwrap_or_else(|status| panic!("{context}: GetTicket {id} after restart: {status}"));
        assert_eq!(
            ticket.state,
            i32::from(pb::TicketState::Completed),
            "{context}: acknowledged completion of {id} lost"
        );
    }

    // Retrying an acknowledged ingest finds the original.
    let retries = traffic.ingested.iter().map(|(_, input)| input.clone()).collect();
    let originals: HashMap<&str, &str> = traffic
        .ingested
        .iter()
        .map(|(id, input)| (input.external_id.as_str(), id.as_str()))
        .collect();
    for (input, answer) in each(client, retries, ingest_one).await {
        let answer = answer.unwrap_or_else(|status| panic!("{context}: retry ingest: {status}"));
        let id = id_of(&answer);
        assert!(
            !answer.created,
            "{context}: retry of {} created a duplicate {id}",
            input.external_id
        );
        assert_eq!(
            Some(id.as_str()),
            originals.get(input.external_id.as_str()).copied(),
            "{context}: retry of {} found another ticket",
            input.external_id
        );
    }

    // Ingests cut off by the crash: a client retries them; the first retry
    // stores or finds the ticket, the second must find the same one.
    let first = each(client, traffic.unanswered.clone(), ingest_one).await;
    let second = each(client, traffic.unanswered.clone(), ingest_one).await;
    for ((input, first), (_, second)) in first.into_iter().zip(second) {
        let first = first.unwrap_or_else(|status| panic!("{context}: retry after crash: {status}"));
        let second = second.unwrap_or_else(|status| panic!("{context}: second retry: {status}"));
        let id = id_of(&second);
        assert!(
            !second.created,
            "{context}: second retry of {} created {id}",
            input.external_id
        );
        assert_eq!(
            id_of(&first),
            id,
            "{context}: retries of {} answered different tickets",
            input.external_id
        );
        ledger.record_ingest(id, input, context);
    }

    // Queue listings: each waiting ticket once, in the queue it says.
    let mut listed = HashSet::new();
    let mut queues = client.clone();
    for (queue, tickets) in each(client, queue_names(&mut queues).await, list_queue).await {
        let tickets = tickets.unwrap_or_else(|status| panic!("{context}: list {queue}: {status}"));
        for ticket in tickets {
            let in_queue = ticket.classification.as_ref().map(|c| c.queue.as_str());
            assert_eq!(
                in_queue,
                Some(queue.as_str()),
                "{context}: {} listed in {queue}",
                ticket.id
            );
            assert_eq!(
                ticket.state,
                i32::from(pb::TicketState::Queued),
                "{context}: {} listed in {queue} but not queued",
                ticket.id
            );
            assert!(
                !ledger.completed.contains(&ticket.id),
                "{context}: completed {} listed in {queue}",
                ticket.id
            );
            assert!(
                listed.insert(ticket.id.clone()),
                "{context}: {} listed twice",
                ticket.id
            );
        }
    }

    // Customer listings: each of the customer's tickets once.
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let this_round = format!("crash-r{round}-");
    for (id, input) in &ledger.tickets {
        if input.external_id.starts_with(&this_round) {
            let customer = input.customer.as_ref().map(|c| c.id.clone()).unwrap_or_default();
            expected.entry(customer).or_default().insert(id.clone());
        }
    }
    let customers = expected.keys().cloned().collect();
    for (customer, tickets) in each(client, customers, list_customer).await {
        let tickets = tickets.unwrap_or_else(|status| panic!("{context}: customer {customer}: {status}"));
        let mut seen = HashSet::new();
        for ticket in &tickets {
            assert!(
                seen.insert(ticket.id.clone()),
                "{context}: {} listed twice for {customer}",
                ticket.id
            );
        }
        if tickets.len() < 500 {
            let missing: Vec<_> = expected[&customer]
                .iter()
                .filter(|id| !seen.contains(*id))
                .collect();
            assert!(
                missing.is_empty(),
                "{context}: {customer}'s listing misses {missing:?}"
            );
        }
    }
}

#[test]
fn acknowledged_tickets_survive_kill_9_exactly_once() {
    let seed = seed();
    let rounds = rounds();
    println!("crash test: seed {seed}, {rounds} rounds (replay with TRIAGE_CRASH_SEED={seed})");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut ledger = Ledger::default();
    let mut server = KillOnDrop(Some(ServerProcess::start(&data, SERVER_ARGS)));
    let (mut acked_writes, mut acked_completions) = (0, 0);
    for round in 0..rounds {
        let delay = Duration::from_millis(rng.random_range(20..=300));
        let context = format!("seed {seed}, round {round}, kill after {delay:?}");
        let traffic = runtime.block_on(traffic_until_killed(&mut server, round, delay, &mut rng));
        assert!(traffic.problems.is_empty(), "{context}: {:#?}", traffic.problems);
        for (id, input) in &traffic.ingested {
            ledger.record_ingest(id.clone(), input.clone(), &context);
        }
        ledger.completed.extend(traffic.completed.iter().cloned());
        acked_writes += traffic.ingested.len() + traffic.completed.len() + traffic.other_writes;
        acked_completions += traffic.completed.len();

        let checking = Instant::now();
        check_store_in_process(&data, &ledger, &context);

        server = KillOnDrop(Some(ServerProcess::start_patiently(
            &data,
            SERVER_ARGS,
            Duration::from_secs(10),
        )));
        let address = server.server().address;
        runtime.block_on(async {
            let client = common::connect(address).await;
            check_restarted_server(&client, round, &traffic, &mut ledger, &context).await;
        });
        println!(
            "round {round}: killed after {delay:?}; acknowledged {} ingests, {} completions, {} other writes; \
             {} ingests cut off; checks took {:?}",
            traffic.ingested.len(),
            traffic.completed.len(),
            traffic.other_writes,
            traffic.unanswered.len(),
            checking.elapsed()
        );
    }
    server.kill_hard();
    check_store_in_process(&data, &ledger, &format!("seed {seed}, final"));
    // The operator's tool agrees (it opens the store in its own process,
    // once the store just closed here has let go of the directory's lock).
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, report) = loop {
        let (status, report) = ServerProcess::verify(&data);
        if status.success() || !report.contains("lock") || Instant::now() > deadline {
            break (status, report);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "seed {seed}: triage --verify failed: {report}");
    println!(
        "crash test: {rounds} rounds, {} tickets and {acked_completions} completions acknowledged \
         ({acked_writes} writes) in {:?}",
        ledger.tickets.len(),
        started.elapsed()
    );
    assert!(
        ledger.tickets.len() > rounds,
        "traffic actually reached the server"
    );
}
