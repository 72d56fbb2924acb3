//! Property: after any workload of ingests (sent and inferred touchpoints,
//! internal and external customers, repeat contacts), completions with and
//! without corrections, service-recovery follow-ups, restarts of the store
//! and retention purges, the friction map (`JourneyReport`, answered from
//! the rollups) counts exactly what a brute-force pass over the stored
//! tickets counts, for every window length, and the store's own
//! consistency check (which recounts the rollups) finds nothing.
//!
//! Runs on the store the suites run on (`TRIAGE_TEST_STORE=postgres`: a
//! schema of its own per case). 24 cases in CI; `PROPTEST_CASES=<n>` sets
//! the count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

mod common;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use triage::app::{App, AppSettings};
use triage::clock::{ManualClock, UnixMicros};
use triage::insights::report::Windows;
use triage::insights::{CustomerScope, GroupBy, ReportRequest};
use triage::rules::RuleSet;
use triage::store::rollup::Contribution;
use triage::store::{ClaimRequest, PgOptions, RollupCounts, StoreLocation, StoreOptions};
use triage::ticket::{Channel, Customer, CustomerKind, Relabel, Side, Ticket, TicketInput};

const CX_RULES: &str = include_str!("rules/cx.toml");
/// 2026-01-01T00:00:00Z.
const START: UnixMicros = UnixMicros(1_767_225_600_000_000);
/// Completed tickets are purged this long after completion.
const RETENTION_HOURS: u64 = 72;

const TEXTS: &[&str] = &[
    "I was charged twice on my invoice, furious",
    "the courier lost my parcel, awful",
    "parcel is late",
    "love the new checkout, thanks",
    "my basket crashed and is broken",
    "hello there",
    "vpn broken again",
    "my payslip is missing",
];
const QUEUES: &[&str] = &[
    "inbox",
    "billing",
    "orders",
    "cx",
    "it-helpdesk",
    "it-incidents",
    "hr",
];

#[derive(Debug, Clone)]
enum Op {
    Ingest {
        customer: u8,
        text: usize,
        touchpoint: Option<&'static str>,
        internal: bool,
    },
    Advance {
        hours: u64,
    },
    Complete {
        queue: usize,
        correct: Option<(Side, &'static str)>,
    },
    Maintenance,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let touchpoint = prop::option::of(prop::sample::select(&["checkout", "delivery", "product"][..]));
    let correction = prop::option::of((
        prop::sample::select(&[Side::Reactive, Side::Proactive][..]),
        prop::sample::select(&["billing", "praise", "other"][..]),
    ));
    prop_oneof![
        6 => (0u8..4, 0..TEXTS.len(), touchpoint, prop::bool::weighted(0.2)).prop_map(
            |(customer, text, touchpoint, internal)| Op::Ingest { customer, text, touchpoint, internal }
        ),
        3 => (1u64..40).prop_map(|hours| Op::Advance { hours }),
        3 => (0..QUEUES.len(), correction).prop_map(|(queue, correct)| Op::Complete { queue, correct }),
        1 => Just(Op::Maintenance),
        1 => Just(Op::Restart),
    ]
}

async fn open_app(location: &StoreLocation, clock: &Arc<ManualClock>) -> App {
    let rules = RuleSet::parse("cx.toml", CX_RULES).expect("rules compile");
    let store = triage::store::open(location, StoreOptions::default(), PgOptions::default())
        .await
        .expect("store opens");
    let settings = AppSettings {
        retention: Some(Duration::from_secs(RETENTION_HOURS * 3600)),
        ..AppSettings::default()
    };
    App::with_store(rules, store, clock.clone(), settings)
}

fn input(serial: usize, customer: u8, text: usize, touchpoint: Option<&str>, internal: bool) -> TicketInput {
    TicketInput {
        external_id: format!("e{serial}"),
        source: "prop".into(),
        channel: if internal {
            Channel::Internal
        } else {
            Channel::Email
        },
        body: TEXTS[text].into(),
        customer: Customer {
            id: format!("c{customer}"),
            tier: "pro".into(),
            ..Customer::default()
        },
        touchpoint: touchpoint.unwrap_or_default().into(),
        ..TicketInput::default()
    }
}

async fn apply(app: &mut App, clock: &Arc<ManualClock>, location: &StoreLocation, serial: usize, op: &Op) {
    match op {
        Op::Ingest {
            customer,
            text,
            touchpoint,
            internal,
        } => {
            app.ingest(input(serial, *customer, *text, *touchpoint, *internal))
                .await
                .expect("ingest");
        }
        Op::Advance { hours } => clock.advance_seconds(hours * 3600),
        Op::Complete { queue, correct } => {
            let claim = ClaimRequest {
                queue: QUEUES[*queue].into(),
                agent_id: "agent".into(),
                lease_seconds: 60,
                request_id: None,
            };
            let Some(claimed) = app.store().claim_next(&claim, app.now()).await.expect("claim") else {
                return;
            };
            let ticket = claimed.ticket;
            let token = ticket.lease().expect("lease").token.clone();
            let relabel = correct.map_or_else(Relabel::default, |(side, category)| Relabel {
                side: Some(side),
                category: Some(category.to_string()),
            });
            app.complete(ticket.id, &token, "done", &relabel)
                .await
                .expect("complete");
        }
        Op::Maintenance => {
            app.run_maintenance().await.expect("maintenance");
        }
        Op::Restart => {
            // The old store must be closed before the directory reopens: a
            // throwaway app on its own directory stands in meanwhile.
            let placeholder_dir = tempfile::tempdir().expect("temp dir");
            let placeholder_clock = Arc::new(ManualClock::new(START));
            let placeholder = open_app(
                &StoreLocation::Sled(placeholder_dir.path().to_path_buf()),
                &placeholder_clock,
            )
            .await;
            drop(std::mem::replace(app, placeholder));
            *app = open_app(location, clock).await;
        }
    }
}

/// Per (touchpoint, category): the sums a brute-force pass over the
/// stored tickets gives for `[from, until)`.
fn brute_force(
    tickets: &[Ticket],
    from: UnixMicros,
    until: UnixMicros,
) -> BTreeMap<(String, String), RollupCounts> {
    let mut cells: BTreeMap<(String, String), RollupCounts> = BTreeMap::new();
    for ticket in tickets {
        if ticket.is_follow_up() || ticket.ingested_at < from || ticket.ingested_at >= until {
            continue;
        }
        let mut counts = RollupCounts {
            tickets: 1,
            repeat_contacts: u64::from(ticket.classification.repeat_contact),
            sentiment_milli_sum: triage::store::rollup::sentiment_milli(
                ticket.classification.sentiment.compound,
            ),
            ..RollupCounts::default()
        };
        counts.sentiment_buckets
            [triage::store::rollup::sentiment_bucket(ticket.classification.sentiment.compound)] = 1;
        let key = (
            ticket.classification.touchpoint.clone(),
            ticket.final_category().to_string(),
        );
        cells.entry(key).or_default().add(&counts, 1);
    }
    cells
}

async fn check_reports(app: &App) -> Result<(), TestCaseError> {
    // A blocking iterator (the PostgreSQL store's pages wait on the runtime).
    let tickets: Vec<Ticket> =
        tokio::task::block_in_place(|| app.store().scan_tickets().collect::<Result<_, _>>())
            .map_err(|err| TestCaseError::fail(err.to_string()))?;
    for window_hours in [1, 24, 100, 1000] {
        let request = ReportRequest {
            window_hours,
            group_by: GroupBy::Category,
            scope: CustomerScope::All,
            top: 5,
        };
        let report = app.journey_report(request).await.expect("report");
        let windows = Windows::at(app.now(), window_hours);
        prop_assert_eq!(report.windows, windows);
        let current = brute_force(&tickets, windows.start, windows.end);
        let previous = brute_force(&tickets, windows.previous_start, windows.start);
        let from_report: BTreeMap<(String, String), (RollupCounts, RollupCounts)> = report
            .cells
            .iter()
            .map(|cell| {
                (
                    (cell.touchpoint.clone(), cell.group.clone()),
                    (cell.current, cell.previous),
                )
            })
            .collect();
        let mut keys: Vec<&(String, String)> = current.keys().chain(previous.keys()).collect();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(
            from_report.len(),
            keys.len(),
            "cells of {}h: {:?}",
            window_hours,
            from_report.keys()
        );
        for key in keys {
            let expected = (
                current.get(key).copied().unwrap_or_default(),
                previous.get(key).copied().unwrap_or_default(),
            );
            prop_assert_eq!(
                from_report.get(key),
                Some(&expected),
                "cell {:?}, {}h window",
                key,
                window_hours
            );
        }
    }
    // Internal customers can be left out: the rollups keep the kind.
    let internal = tickets
        .iter()
        .filter(|ticket| Contribution::of(ticket).is_some_and(|c| c.key.kind == CustomerKind::Internal))
        .filter(|ticket| ticket.ingested_at >= Windows::at(app.now(), 1000).start)
        .count() as u64;
    let request = ReportRequest {
        window_hours: 1000,
        scope: CustomerScope::Internal,
        ..ReportRequest::default()
    };
    prop_assert_eq!(
        app.journey_report(request).await.expect("report").total(),
        internal
    );
    Ok(())
}

#[test]
fn the_friction_map_counts_exactly_the_stored_tickets() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let workload = prop::collection::vec(op(), 1..60);
    common::check_property(file!(), common::property_cases(24), workload, |ops| {
        runtime.block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let schema = common::test_schema().await;
            let location = match &schema {
                Some(schema) => schema.url().parse().expect("a PostgreSQL URL"),
                None => StoreLocation::Sled(dir.path().to_path_buf()),
            };
            let clock = Arc::new(ManualClock::new(START));
            let mut app = open_app(&location, &clock).await;
            for (serial, op) in ops.iter().enumerate() {
                apply(&mut app, &clock, &location, serial, op).await;
            }
            check_reports(&app).await?;
            let consistency = app.store().verify().await.expect("verify");
            prop_assert!(consistency.is_consistent(), "{:?}", consistency.problems);
            Ok(())
        })
    });
}
