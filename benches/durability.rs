//! Durable ingest throughput through `Store::ingest` on a temp dir, with
//! group commit against the flush-per-write baseline measured in the same
//! run, at several numbers of concurrent writers. Prints the ratio.
//!
//! Run: `cargo bench --bench durability` (a plain timed `main`: every
//! ingest waits for its fsync, so a few seconds per point is plenty).
//! Without `--bench` (as under `cargo test --all-targets`) it runs a short
//! smoke pass.

#[path = "support/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use triage::clock::{Clock, SystemClock};
use triage::rules::{CustomerHistory, RuleSet};
use triage::store::{Durability, Store, StoreOptions, TicketStore};
use triage::ticket::{Classification, TicketInput};

/// Concurrent writers per measured point; the target is at 64.
const WRITERS: [usize; 3] = [1, 16, 64];
/// The point the >= 10x target is judged at.
const TARGET_WRITERS: usize = 64;
const POOL: usize = 256;

/// Tickets with their classification by the default rules, ready to store.
type Prepared = Arc<Vec<(TicketInput, Classification)>>;

/// One measured point.
struct Point {
    writers: usize,
    mode: Durability,
    ingests: u64,
    elapsed: Duration,
}

impl Point {
    fn per_second(&self) -> f64 {
        self.ingests as f64 / self.elapsed.as_secs_f64()
    }

    fn mean_latency_ms(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e3 * self.writers as f64 / self.ingests.max(1) as f64
    }
}

fn prepared() -> Prepared {
    let rules = RuleSet::default_rules().expect("default rules compile");
    let history = CustomerHistory::default();
    let now = SystemClock.now();
    let tickets = workload::tickets(POOL, 11)
        .into_iter()
        .map(|ticket| {
            let classification = rules.classify(&ticket, &history, now);
            (ticket, classification)
        })
        .collect();
    Arc::new(tickets)
}

/// Runs `writers` tasks that ingest unique tickets until `duration` ends.
async fn run_point(mode: Durability, writers: usize, duration: Duration, tickets: Prepared) -> Point {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = StoreOptions {
        durability: mode,
        cache_bytes: None,
    };
    let store = Store::open(dir.path(), options).expect("store opens");
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            tokio::spawn(writer(
                store.clone(),
                Arc::clone(&tickets),
                Arc::clone(&next),
                deadline,
            ))
        })
        .collect();
    let mut ingests = 0;
    for task in tasks {
        ingests += task.await.expect("writer task");
    }
    let elapsed = start.elapsed();
    drop(store);
    Point {
        writers,
        mode,
        ingests,
        elapsed,
    }
}

async fn writer(store: Store, tickets: Prepared, next: Arc<AtomicU64>, deadline: Instant) -> u64 {
    let mut done = 0;
    while Instant::now() < deadline {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let (ticket, classification) = &tickets[index as usize % tickets.len()];
        let mut input = ticket.clone();
        input.external_id = format!("durability-{index}");
        let ingested = store
            .ingest(input, classification.clone(), SystemClock.now())
            .await
            .expect("ingest succeeds");
        assert!(ingested.created, "every ticket is new");
        done += 1;
    }
    done
}

fn report(points: &[Point], measuring: bool) {
    println!("\ndurable ingest through Store::ingest (temp dir, 1 KB tickets)");
    if !measuring {
        println!("(smoke mode: short runs, figures are not measurements)");
    }
    println!(
        "{:>8} {:>18} {:>12} {:>18} {:>12} {:>10}",
        "writers", "group commit /s", "mean ms", "flush-per-write /s", "mean ms", "ratio"
    );
    for &writers in &WRITERS {
        let find = |mode| points.iter().find(|p| p.writers == writers && p.mode == mode);
        let (Some(group), Some(flush)) = (find(Durability::GroupCommit), find(Durability::FlushPerWrite))
        else {
            continue;
        };
        println!(
            "{:>8} {:>18.0} {:>12.2} {:>18.0} {:>12.2} {:>9.1}x",
            writers,
            group.per_second(),
            group.mean_latency_ms(),
            flush.per_second(),
            flush.mean_latency_ms(),
            group.per_second() / flush.per_second(),
        );
        if writers == TARGET_WRITERS {
            let ratio = group.per_second() / flush.per_second();
            let verdict = match (measuring, ratio >= 10.0) {
                (false, _) => "not judged in smoke mode",
                (true, true) => "MET",
                (true, false) => "MISSED",
            };
            println!(
                "target group commit >= 10x flush-per-write at {writers} writers: {verdict} ({ratio:.1}x)"
            );
        }
    }
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let duration = if measuring {
        Duration::from_secs(4)
    } else {
        Duration::from_millis(100)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let tickets = prepared();
    let mut points = Vec::new();
    for &writers in &WRITERS {
        for mode in [Durability::FlushPerWrite, Durability::GroupCommit] {
            let point = runtime.block_on(run_point(mode, writers, duration, Arc::clone(&tickets)));
            points.push(point);
        }
    }
    report(&points, measuring);
}
