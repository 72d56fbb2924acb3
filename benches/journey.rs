//! The friction map (`App::journey_report`, what `JourneyReport` asks the
//! domain) against its own baseline, measured in the same run: the same
//! report over a store of 1,000 tickets and over a large store, both filled
//! through `TicketStore::ingest` (so with the rollups kept at ingest) with
//! tickets spread over the last 90 days across 10 touchpoints, 16
//! categories, three sides and both customer kinds.
//!
//! Run: `cargo bench --bench journey` (1k vs 100k tickets, ~1 minute).
//! Long mode: `TRIAGE_BENCH_JOURNEY_TICKETS=1000000 cargo bench --bench
//! journey` (fills 1M tickets: ~20 minutes and ~4 GB of disk). Without
//! `--bench` (as under `cargo test --all-targets`) it runs a short smoke
//! pass whose figures are not measurements.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use triage::app::{App, AppSettings};
use triage::clock::{ManualClock, UnixMicros};
use triage::insights::{CustomerScope, GroupBy, ReportRequest};
use triage::rules::{RuleSet, DEFAULT_TOUCHPOINTS};
use triage::sentiment::Sentiment;
use triage::store::{Store, StoreOptions, TicketStore};
use triage::ticket::{Classification, Customer, CustomerKind, Side, TicketInput};

const WRITERS: usize = 64;
/// 2026-04-01T00:00:00Z: "now" for the fill and the reports.
const NOW: UnixMicros = UnixMicros(1_775_001_600_000_000);
const SPREAD_DAYS: u64 = 90;
/// The shipped touchpoints (a rule file's default list).
const TOUCHPOINTS: [&str; 10] = DEFAULT_TOUCHPOINTS;
const CATEGORIES: [(&str, Side); 16] = [
    ("outage", Side::Reactive),
    ("bug", Side::Reactive),
    ("billing", Side::Reactive),
    ("refund", Side::Reactive),
    ("account_access", Side::Reactive),
    ("delivery", Side::Reactive),
    ("cancellation", Side::Reactive),
    ("complaint", Side::Reactive),
    ("security", Side::Reactive),
    ("feature_request", Side::Proactive),
    ("praise", Side::Proactive),
    ("upgrade_interest", Side::Proactive),
    ("onboarding", Side::Proactive),
    ("feedback", Side::Proactive),
    ("renewal", Side::Proactive),
    ("", Side::Unclassified),
];

/// A small deterministic mix (SplitMix64), so runs fill the same store.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Ticket `n` of the fill: its input, classification and ingest time.
fn ticket(n: u64) -> (TicketInput, Classification, UnixMicros) {
    let r = mix(n);
    let (category, side) = CATEGORIES[(r % 16) as usize];
    let touchpoint = TOUCHPOINTS[((r >> 8) % 10) as usize];
    let internal = (r >> 16).is_multiple_of(10);
    let compound = ((r >> 24) % 2001) as f32 / 1000.0 - 1.0;
    let age = (r >> 36) % (SPREAD_DAYS * 86_400_000_000);
    let input = TicketInput {
        external_id: format!("fill-{n}"),
        source: "bench".into(),
        subject: "A ticket".into(),
        body: "Something about the journey.".into(),
        customer: Customer {
            id: format!("c-{}", (r >> 44) % 50_000),
            kind: if internal {
                CustomerKind::Internal
            } else {
                CustomerKind::External
            },
            ..Customer::default()
        },
        ..TicketInput::default()
    };
    let classification = Classification {
        side,
        category: category.into(),
        queue: "triage".into(),
        touchpoint: touchpoint.into(),
        repeat_contact: (r >> 20).is_multiple_of(4),
        sentiment: Sentiment {
            compound,
            ..Sentiment::default()
        },
        ..Classification::default()
    };
    (input, classification, UnixMicros(NOW.0 - age as i64))
}

/// Fills `store` with tickets `from..to`, `WRITERS` at a time.
async fn fill(store: &Store, from: u64, to: u64) {
    let next = Arc::new(AtomicU64::new(from));
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (store, next) = (store.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= to {
                    return;
                }
                let (input, classification, at) = ticket(n);
                store.ingest(input, classification, at).await.expect("ingest");
            }
        }));
    }
    for task in tasks {
        task.await.expect("filler");
    }
}

/// Median time of `rounds` reports of `window_hours`.
async fn report_time(app: &App, window_hours: u32, rounds: usize) -> (Duration, usize) {
    let request = ReportRequest {
        window_hours,
        group_by: GroupBy::Category,
        scope: CustomerScope::External,
        top: 5,
    };
    let mut times = Vec::with_capacity(rounds);
    let mut cells = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let report = app.journey_report(request).await.expect("report");
        times.push(started.elapsed());
        cells = report.cells.len();
    }
    times.sort();
    (times[times.len() / 2], cells)
}

async fn app_over(store: Store) -> App {
    let rules = RuleSet::default_rules().expect("default rules");
    App::new(
        rules,
        store,
        Arc::new(ManualClock::new(NOW)),
        AppSettings::default(),
    )
}

#[tokio::main]
async fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let large: u64 = match std::env::var("TRIAGE_BENCH_JOURNEY_TICKETS") {
        Ok(count) => count.parse().expect("TRIAGE_BENCH_JOURNEY_TICKETS is a number"),
        Err(_) if measuring => 100_000,
        Err(_) => 2_000,
    };
    let small = 1_000;
    let rounds = if measuring { 50 } else { 3 };
    println!(
        "journey bench ({}):",
        if measuring {
            "measuring"
        } else {
            "smoke pass, not measurements"
        }
    );
    let small_dir = tempfile::tempdir().expect("temp dir");
    let small_store = Store::open(small_dir.path(), StoreOptions::default()).expect("store opens");
    fill(&small_store, 0, small).await;
    let small_app = app_over(small_store).await;

    let large_dir = tempfile::tempdir().expect("temp dir");
    let large_store = Store::open(large_dir.path(), StoreOptions::default()).expect("store opens");
    let started = Instant::now();
    fill(&large_store, 0, large).await;
    let filled_in = started.elapsed();
    let stored = large_store.ticket_count();
    let large_app = app_over(large_store).await;
    println!("  filled {stored} tickets in {filled_in:.1?} ({WRITERS} writers)");

    for window_hours in [168, 720, 2160] {
        let (at_small, small_cells) = report_time(&small_app, window_hours, rounds).await;
        let (at_large, large_cells) = report_time(&large_app, window_hours, rounds).await;
        println!(
            "  JourneyReport {window_hours}h window: {at_small:?} at {small} tickets ({small_cells} cells), \
             {at_large:?} at {stored} tickets ({large_cells} cells) -> ratio {:.2}",
            at_large.as_secs_f64() / at_small.as_secs_f64()
        );
    }
}
