//! Backtesting a candidate rule set over stored tickets: the counts equal a
//! one-by-one re-classification, the filter is applied, nothing changes;
//! over the API (streamed) and offline on a stopped server's data dir.

mod common;

use std::collections::BTreeMap;

use common::{ticket, TestServer};
use tokio_stream::StreamExt;
use triage::pb;
use triage::rules::{CustomerHistory, RuleSet};

/// The test rules, with "on fire" as an outage word and billing routed to cx.
fn candidate() -> String {
    common::TEST_RULES
        .replace("version = \"test-1\"", "version = \"cand\"")
        .replace("\"outage\", \"is down\"", "\"outage\", \"is down\", \"on fire\"")
        .replace(
            "queue = \"billing\", priority = \"high\"",
            "queue = \"cx\", priority = \"high\"",
        )
}

const SUBJECTS: [&str; 6] = [
    "Site is down",
    "Everything is on fire",
    "I was charged twice",
    "Invoice copy please",
    "Would be great to have dark mode",
    "hello",
];

/// Stores two tickets per subject; their ids and inputs.
async fn store_tickets(server: &mut TestServer) -> Vec<(String, pb::Ticket)> {
    let mut stored = Vec::new();
    for round in 0..2 {
        for (n, subject) in SUBJECTS.iter().enumerate() {
            let answer =
                common::ingest(&mut server.client, ticket(&format!("b{round}-{n}"), subject, "x")).await;
            let ticket = answer.ticket.expect("ticket");
            stored.push((ticket.id.clone(), ticket));
        }
    }
    stored
}

type MoveKey = (i32, String, String, i32, String, String);

/// The moves a one-by-one re-classification with the candidate finds.
async fn expected_moves(
    server: &mut TestServer,
    stored: &[(String, pb::Ticket)],
    side: Option<pb::Side>,
) -> BTreeMap<MoveKey, u64> {
    let rules = RuleSet::parse("cand.toml", &candidate()).expect("candidate compiles");
    let mut moves = BTreeMap::new();
    for (id, _) in stored {
        let full = common::get(&mut server.client, id).await;
        let was = full.classification.expect("classification");
        if side.is_some_and(|side| was.side != i32::from(side)) {
            continue;
        }
        let input = full.input.expect("input");
        let domain = triage::ticket::TicketInput {
            subject: input.subject,
            body: input.body,
            ..Default::default()
        };
        let now = rules.classify(&domain, &CustomerHistory::default(), common::START);
        let to_side = match now.side {
            triage::ticket::Side::Reactive => pb::Side::Reactive,
            triage::ticket::Side::Proactive => pb::Side::Proactive,
            triage::ticket::Side::Unclassified => pb::Side::Unclassified,
        };
        let key = (
            was.side,
            was.category,
            was.queue,
            i32::from(to_side),
            now.category,
            now.queue,
        );
        if (key.0, &key.1, &key.2) != (key.3, &key.4, &key.5) {
            *moves.entry(key).or_default() += 1;
        }
    }
    moves
}

async fn backtest(
    server: &mut TestServer,
    side: pb::Side,
) -> (Vec<pb::BacktestProgress>, pb::BacktestResult) {
    let request = pb::BacktestRuleSetRequest {
        text: candidate(),
        side: side.into(),
        samples_per_move: 1,
        ..Default::default()
    };
    let mut stream = server
        .client
        .backtest_rule_set(request)
        .await
        .expect("backtest starts")
        .into_inner();
    let mut progress = Vec::new();
    let mut result = None;
    while let Some(message) = stream.next().await {
        match message.expect("stream message").event.expect("event") {
            pb::backtest_rule_set_response::Event::Progress(step) => progress.push(step),
            pb::backtest_rule_set_response::Event::Result(done) => result = Some(done),
        }
    }
    (progress, result.expect("a result ends the stream"))
}

fn found_moves(result: &pb::BacktestResult) -> BTreeMap<MoveKey, u64> {
    result
        .moves
        .iter()
        .map(|moved| {
            let key = (
                moved.from_side,
                moved.from_category.clone(),
                moved.from_queue.clone(),
                moved.to_side,
                moved.to_category.clone(),
                moved.to_queue.clone(),
            );
            (key, moved.count)
        })
        .collect()
}

#[tokio::test]
async fn backtest_counts_equal_a_one_by_one_reclassification() {
    let mut server = TestServer::start().await;
    let stored = store_tickets(&mut server).await;
    let expected = expected_moves(&mut server, &stored, None).await;
    assert!(expected.len() >= 2, "the candidate moves something: {expected:?}");
    let (_, result) = backtest(&mut server, pb::Side::Unspecified).await;
    assert_eq!(found_moves(&result), expected);
    assert_eq!(result.candidate_version, "cand");
    let counts = result.counts.expect("counts");
    assert_eq!((counts.scanned, counts.matched, counts.total), (12, 12, 12));
    assert_eq!(counts.changed, expected.values().sum::<u64>());
    for moved in &result.moves {
        assert_eq!(moved.sample_ticket_ids.len(), 1, "one sample asked for");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn backtest_reads_only_the_side_asked_for() {
    let mut server = TestServer::start().await;
    let stored = store_tickets(&mut server).await;
    let expected = expected_moves(&mut server, &stored, Some(pb::Side::Reactive)).await;
    let (_, result) = backtest(&mut server, pb::Side::Reactive).await;
    assert_eq!(found_moves(&result), expected);
    assert!(result
        .moves
        .iter()
        .all(|moved| moved.from_side == i32::from(pb::Side::Reactive)));
    server.shutdown().await;
}

#[tokio::test]
async fn backtest_changes_nothing() {
    let mut server = TestServer::start().await;
    let stored = store_tickets(&mut server).await;
    backtest(&mut server, pb::Side::Unspecified).await;
    for (id, before) in &stored {
        let after = common::get(&mut server.client, id).await;
        assert_eq!(after.classification, before.classification, "{id}");
    }
    let running = server
        .client
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("get")
        .into_inner();
    assert_eq!(running.summary.expect("summary").version, "test-1");
    server.shutdown().await;
}

#[tokio::test]
async fn backtest_of_a_bad_candidate_ends_the_stream_with_its_error() {
    let mut server = TestServer::start().await;
    let request = pb::BacktestRuleSetRequest {
        text: "default_queue = 3\n".into(),
        ..Default::default()
    };
    let mut stream = server
        .client
        .backtest_rule_set(request)
        .await
        .expect("starts")
        .into_inner();
    let status = stream.next().await.expect("a message").expect_err("an error");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("candidate.toml:1"),
        "{}",
        status.message()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn offline_backtest_reads_a_stopped_servers_data_dir() {
    if common::skip_unless_sled("the offline tool reads a sled data directory") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().join("data");
    let mut server =
        TestServer::start_with(common::TEST_RULES, |config| config.data_dir = data_dir.clone()).await;
    let stored = store_tickets(&mut server).await;
    let expected = expected_moves(&mut server, &stored, None).await;
    server.shutdown().await;
    let rules = dir.path().join("cand.toml");
    std::fs::write(&rules, candidate()).expect("write");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let output = loop {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(["rules", "backtest"])
            .arg(&rules)
            .arg("--data-dir")
            .arg(&data_dir)
            .env("RUST_LOG", "warn")
            .output()
            .expect("runs");
        // The store's lock may outlive the server task by a moment.
        if output.status.success() || std::time::Instant::now() >= deadline {
            break output;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let changed: u64 = expected.values().sum();
    assert!(
        report.starts_with(&format!(
            "candidate cand: 12 tickets read, 12 re-classified, {changed} would move"
        )),
        "{report}"
    );
    assert_eq!(report.lines().count(), 1 + expected.len(), "{report}");
}
