//! The store against its own baselines, measured in the same run:
//! 1. durable ingest through `TicketStore::ingest` (64 concurrent writers,
//!    group commit) against a raw sled loop writing the same bytes (each
//!    ticket's encoded input and classification) in batches of the same
//!    size, each batch flushed and fdatasynced;
//! 2. `queues_stats` (what `ListQueues` asks the store) with 100 waiting
//!    tickets against 100,000 waiting tickets.
//!
//! Run: `cargo bench --bench store` (a plain timed `main`, ~2 minutes: the
//! fill of 100k tickets dominates). Without `--bench` (as under `cargo test
//! --all-targets`) it runs a short smoke pass whose figures are not
//! measurements.

#[path = "support/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use triage::clock::{Clock, SystemClock, UnixMicros};
use triage::rules::{CustomerHistory, RuleSet};
use triage::store::{Store, StoreOptions, TicketStore};
use triage::ticket::{Classification, TicketInput};

const WRITERS: usize = 64;
const POOL: usize = 256;

type Prepared = Arc<Vec<(TicketInput, Classification)>>;

fn prepared() -> Prepared {
    let rules = RuleSet::default_rules().expect("default rules compile");
    let history = CustomerHistory::default();
    let now = SystemClock.now();
    Arc::new(
        workload::tickets(POOL, 11)
            .into_iter()
            .map(|ticket| {
                let classification = rules.classify(&ticket, &history, now);
                (ticket, classification)
            })
            .collect(),
    )
}

/// Durable ingests per second through the store, `WRITERS` at a time.
async fn store_ingest(tickets: &Prepared, duration: Duration) -> (f64, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store opens");
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (store, tickets, next) = (store.clone(), Arc::clone(tickets), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let (input, classification) = &tickets[(n as usize) % tickets.len()];
                let mut input = input.clone();
                input.external_id = format!("bench-{n}");
                store
                    .ingest(input, classification.clone(), SystemClock.now())
                    .await
                    .expect("ingest");
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("writer");
    }
    (total as f64 / started.elapsed().as_secs_f64(), total)
}

/// Records per second of a raw sled loop: batches of `WRITERS` records of
/// the same bytes, each batch inserted, flushed and fdatasynced.
fn raw_sled(tickets: &Prepared, duration: Duration) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::Config::new()
        .path(dir.path())
        .segment_size(4 << 20)
        .flush_every_ms(None)
        .open()
        .expect("sled opens");
    let tree = db.open_tree("raw").expect("tree");
    let log = std::fs::File::open(dir.path().join("db")).expect("log file");
    let records: Vec<Vec<u8>> = tickets
        .iter()
        .map(|(input, classification)| serde_json::to_vec(&(input, classification)).expect("encodes"))
        .collect();
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut written = 0u64;
    while Instant::now() < deadline {
        for _ in 0..WRITERS {
            let record = &records[(written as usize) % records.len()];
            tree.insert(written.to_be_bytes(), record.as_slice())
                .expect("insert");
            written += 1;
        }
        db.flush().expect("flush");
        log.sync_data().expect("fdatasync");
    }
    written as f64 / started.elapsed().as_secs_f64()
}

/// Median times of `queues_stats` on `small` and on `large` over `rounds`
/// calls each, the two stores called in alternation.
async fn stats_times(small: &Store, large: &Store, queues: &[String], rounds: usize) -> (Duration, Duration) {
    let now = SystemClock.now();
    let mut times = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
    for _ in 0..rounds {
        for (store, times) in [small, large].into_iter().zip(times.iter_mut()) {
            let started = Instant::now();
            let stats = store.queues_stats(queues, now).await.expect("stats");
            std::hint::black_box(stats);
            times.push(started.elapsed());
        }
    }
    let [small_times, large_times] = times.map(|mut times| {
        times.sort();
        times[times.len() / 2]
    });
    (small_times, large_times)
}

/// Fills `store` to `waiting` tickets (all waiting, none breached).
async fn fill(store: &Store, tickets: &Prepared, from: u64, to: u64) {
    let next = Arc::new(AtomicU64::new(from));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (store, tickets, next) = (store.clone(), Arc::clone(tickets), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= to {
                    return;
                }
                let (input, classification) = &tickets[(n as usize) % tickets.len()];
                let mut input = input.clone();
                input.external_id = format!("fill-{n}");
                let mut classification = classification.clone();
                classification.queue = "bench".into();
                classification.first_response_seconds = Some(86_400);
                store
                    .ingest(input, classification, UnixMicros(SystemClock.now().0))
                    .await
                    .expect("ingest");
            }
        }));
    }
    for task in tasks {
        task.await.expect("filler");
    }
}

#[tokio::main]
async fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (duration, small, large) = if measuring {
        (Duration::from_secs(8), 100, 100_000)
    } else {
        (Duration::from_millis(200), 10, 200)
    };
    let tickets = prepared();
    println!(
        "store bench ({}):",
        if measuring {
            "measuring"
        } else {
            "smoke pass, not measurements"
        }
    );

    let raw = tokio::task::spawn_blocking({
        let tickets = Arc::clone(&tickets);
        move || raw_sled(&tickets, duration)
    })
    .await
    .expect("raw loop");
    let (ingest, ingested) = store_ingest(&tickets, duration).await;
    println!(
        "  ingest: store {ingest:.0}/s ({ingested} durable ingests, {WRITERS} writers) vs raw sled insert+flush+fdatasync \
         in batches of {WRITERS}: {raw:.0} records/s -> ratio {:.2}",
        ingest / raw
    );

    // Two stores side by side, measured in alternation, so that whatever
    // else the machine does at the time weighs on both alike.
    let small_dir = tempfile::tempdir().expect("temp dir");
    let small_store = Store::open(small_dir.path(), StoreOptions::default()).expect("store opens");
    let large_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(large_dir.path(), StoreOptions::default()).expect("store opens");
    let queues: Vec<String> = ["bench", "billing", "incidents", "cx"].map(String::from).to_vec();
    fill(&small_store, &tickets, 0, small).await;
    let started = Instant::now();
    fill(&store, &tickets, 0, large).await;
    let filled_in = started.elapsed();
    let (at_small, at_large) = stats_times(&small_store, &store, &queues, 400).await;
    let depth = store
        .queues_stats(&queues[..1], SystemClock.now())
        .await
        .expect("stats")[0]
        .depth;
    println!(
        "  queues_stats for {} queues: {at_small:?} at {small} waiting, {at_large:?} at {depth} waiting \
         (filled in {filled_in:.1?}) -> ratio {:.2}",
        queues.len(),
        at_large.as_secs_f64() / at_small.as_secs_f64()
    );
}
