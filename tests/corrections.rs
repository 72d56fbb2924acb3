//! Agents correct the side and category when they complete or transfer a
//! ticket; corrections are stored, shown in the history, and exported as
//! labelled examples for `triage rules learn`.

mod common;

use std::process::Command;

use common::{connect, get, ingest, ticket, token, KillOnDrop, ServerProcess, TestServer};
use tonic::transport::Channel;
use tonic::Code;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;

type Client = TriageServiceClient<Channel>;

const TEST_RULES_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rules/test.toml");

/// Ingests one ticket into `inbox` (no rule matches it) and claims it.
async fn claimed(client: &mut Client, external_id: &str, body: &str) -> pb::Ticket {
    ingest(client, ticket(external_id, "Hello", body)).await;
    client
        .claim_next(pb::ClaimNextRequest {
            queue: "inbox".into(),
            agent_id: "alice".into(),
            lease_seconds: 600,
            wait_seconds: 0,
            ..Default::default()
        })
        .await
        .expect("claim")
        .into_inner()
        .ticket
        .expect("a ticket to claim")
}

fn complete_request(claimed: &pb::Ticket, side: pb::Side, category: &str) -> pb::CompleteTicketRequest {
    pb::CompleteTicketRequest {
        ticket_id: claimed.id.clone(),
        lease_token: token(claimed),
        resolution: "done".into(),
        corrected_side: side.into(),
        corrected_category: category.into(),
    }
}

fn transfer_request(claimed: &pb::Ticket, side: pb::Side, category: &str) -> pb::TransferTicketRequest {
    pb::TransferTicketRequest {
        ticket_id: claimed.id.clone(),
        lease_token: token(claimed),
        queue: "billing".into(),
        reason: "misrouted".into(),
        corrected_side: side.into(),
        corrected_category: category.into(),
    }
}

async fn complete(client: &mut Client, request: pb::CompleteTicketRequest) -> pb::Ticket {
    let response = client.complete_ticket(request).await.expect("complete");
    response.into_inner().ticket.expect("ticket")
}

fn corrected_entries(ticket: &pb::Ticket) -> Vec<(String, String)> {
    ticket
        .history
        .iter()
        .filter(|entry| entry.action == "corrected")
        .map(|entry| (entry.actor.clone(), entry.detail.clone()))
        .collect()
}

#[tokio::test]
async fn completing_with_a_correction_stores_it_and_the_history_shows_it() {
    let mut server = TestServer::start().await;
    let claimed = claimed(&mut server.client, "c-1", "my card was declined twice").await;
    complete(
        &mut server.client,
        complete_request(&claimed, pb::Side::Reactive, "billing"),
    )
    .await;
    let stored = get(&mut server.client, &claimed.id).await;
    let correction = stored.correction.as_ref().expect("correction stored");
    assert_eq!(correction.side(), pb::Side::Reactive);
    assert_eq!(correction.category, "billing");
    assert_eq!(correction.agent_id, "alice");
    assert_eq!(
        corrected_entries(&stored),
        [("alice".to_string(), "side=reactive category=billing".to_string())]
    );
    let classification = stored.classification.expect("classification");
    assert_eq!(
        classification.side(),
        pb::Side::Unclassified,
        "the rules' decision is kept"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn transferring_with_a_correction_stores_it_and_the_history_shows_it() {
    let mut server = TestServer::start().await;
    let claimed = claimed(&mut server.client, "t-1", "double payment on my statement").await;
    server
        .client
        .transfer_ticket(transfer_request(&claimed, pb::Side::Unspecified, "billing"))
        .await
        .expect("transfer");
    let stored = get(&mut server.client, &claimed.id).await;
    let correction = stored.correction.as_ref().expect("correction stored");
    assert_eq!(correction.side(), pb::Side::Unspecified, "side not corrected");
    assert_eq!(correction.category, "billing");
    assert_eq!(
        corrected_entries(&stored),
        [("alice".to_string(), "category=billing".to_string())]
    );
    let actions: Vec<&str> = stored.history.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["ingested", "claimed", "corrected", "transferred"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_later_correction_keeps_the_fields_it_does_not_set() {
    let mut server = TestServer::start().await;
    let claimed = claimed(&mut server.client, "l-1", "double payment on my statement").await;
    server
        .client
        .transfer_ticket(transfer_request(&claimed, pb::Side::Unspecified, "billing"))
        .await
        .expect("transfer");
    let again = server
        .client
        .claim_next(pb::ClaimNextRequest {
            queue: "billing".into(),
            agent_id: "bob".into(),
            lease_seconds: 600,
            wait_seconds: 0,
            ..Default::default()
        })
        .await
        .expect("claim")
        .into_inner()
        .ticket
        .expect("the transferred ticket");
    let done = complete(
        &mut server.client,
        complete_request(&again, pb::Side::Reactive, ""),
    )
    .await;
    let correction = done.correction.expect("correction");
    assert_eq!(correction.side(), pb::Side::Reactive);
    assert_eq!(correction.category, "billing");
    assert_eq!(correction.agent_id, "bob");
    server.shutdown().await;
}

#[tokio::test]
async fn completing_without_a_correction_stores_none() {
    let mut server = TestServer::start().await;
    let claimed = claimed(&mut server.client, "n-1", "just a question").await;
    let done = complete(
        &mut server.client,
        complete_request(&claimed, pb::Side::Unspecified, "  "),
    )
    .await;
    assert!(done.correction.is_none());
    assert!(corrected_entries(&done).is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_corrected_side_is_invalid_argument_naming_the_field() {
    let mut server = TestServer::start().await;
    let claimed = claimed(&mut server.client, "u-1", "hello").await;
    let mut request = complete_request(&claimed, pb::Side::Reactive, "");
    request.corrected_side = 42;
    let status = server
        .client
        .complete_ticket(request)
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("corrected_side"),
        "{}",
        status.message()
    );
    let mut transfer = transfer_request(&claimed, pb::Side::Reactive, "");
    transfer.corrected_side = 42;
    let status = server
        .client
        .transfer_ticket(transfer)
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("corrected_side"),
        "{}",
        status.message()
    );
    let unchanged = get(&mut server.client, &claimed.id).await;
    assert_eq!(unchanged.state(), pb::TicketState::Claimed, "nothing changed");
    server.shutdown().await;
}

#[tokio::test]
async fn correcting_to_unclassified_is_invalid_argument_naming_the_field() {
    let mut server = TestServer::start().await;
    let claimed = claimed(&mut server.client, "x-1", "hello").await;
    let request = complete_request(&claimed, pb::Side::Unclassified, "");
    let status = server
        .client
        .complete_ticket(request)
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("corrected_side"),
        "{}",
        status.message()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_corrected_category_with_control_characters_is_invalid_argument() {
    let mut server = TestServer::start().await;
    let claimed = claimed(&mut server.client, "cc-1", "hello").await;
    let request = complete_request(&claimed, pb::Side::Reactive, "bill\ning");
    let status = server
        .client
        .complete_ticket(request)
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("corrected_category"),
        "{}",
        status.message()
    );
    server.shutdown().await;
}

async fn export(client: &mut Client, include_uncorrected: bool) -> Vec<pb::LabelledTicket> {
    let request = pb::ExportLabelsRequest { include_uncorrected };
    let mut stream = client.export_labels(request).await.expect("export").into_inner();
    let mut labelled = Vec::new();
    while let Some(item) = stream.message().await.expect("stream item") {
        labelled.push(item);
    }
    labelled
}

#[tokio::test]
async fn export_labels_streams_corrected_tickets_and_with_uncorrected_completed_ones() {
    let mut server = TestServer::start().await;
    let corrected = claimed(&mut server.client, "e-1", "I would love a dark mode").await;
    complete(
        &mut server.client,
        complete_request(&corrected, pb::Side::Proactive, "feature_request"),
    )
    .await;
    ingest(&mut server.client, ticket("e-2", "Down", "the site is down")).await;
    let outage = server
        .client
        .claim_next(pb::ClaimNextRequest {
            queue: "incidents".into(),
            agent_id: "alice".into(),
            lease_seconds: 600,
            wait_seconds: 0,
            ..Default::default()
        })
        .await
        .expect("claim")
        .into_inner()
        .ticket
        .expect("outage ticket");
    complete(
        &mut server.client,
        complete_request(&outage, pb::Side::Unspecified, ""),
    )
    .await;
    ingest(
        &mut server.client,
        ticket("e-3", "Open", "the site is down again"),
    )
    .await;

    let only_corrected = export(&mut server.client, false).await;
    assert_eq!(only_corrected.len(), 1);
    assert_eq!(only_corrected[0].id, corrected.id);
    assert_eq!(only_corrected[0].side(), pb::Side::Proactive);
    assert_eq!(only_corrected[0].category, "feature_request");
    assert_eq!(only_corrected[0].text, "I would love a dark mode");
    assert_eq!(only_corrected[0].source(), pb::LabelSource::Corrected);

    let all = export(&mut server.client, true).await;
    let summary: Vec<(String, pb::Side, String, pb::LabelSource)> = all
        .iter()
        .map(|item| (item.id.clone(), item.side(), item.category.clone(), item.source()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                corrected.id.clone(),
                pb::Side::Proactive,
                "feature_request".into(),
                pb::LabelSource::Corrected
            ),
            (
                outage.id.clone(),
                pb::Side::Reactive,
                "outage".into(),
                pb::LabelSource::Classified
            ),
        ],
        "the open ticket is not exported"
    );
    server.shutdown().await;
}

fn export_labels_command(
    data_dir: &std::path::Path,
    out: &std::path::Path,
    all: bool,
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command
        .arg("export-labels")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--out")
        .arg(out);
    if all {
        command.arg("--all");
    }
    command
        .env("RUST_LOG", "warn")
        .output()
        .expect("export-labels runs")
}

#[tokio::test]
async fn export_labels_command_writes_corrected_tickets_as_jsonl_that_learn_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let mut server = KillOnDrop(Some(ServerProcess::start(
        &data_dir,
        &["--rules", TEST_RULES_PATH],
    )));
    let mut client = connect(server.server().address).await;
    let first = claimed(&mut client, "b-1", "my card was declined twice").await;
    complete(
        &mut client,
        complete_request(&first, pb::Side::Reactive, "billing"),
    )
    .await;
    let second = claimed(&mut client, "b-2", "love the app, keep going").await;
    client
        .transfer_ticket(pb::TransferTicketRequest {
            queue: "cx".into(),
            ..transfer_request(&second, pb::Side::Proactive, "")
        })
        .await
        .expect("transfer");
    let third = claimed(&mut client, "b-3", "nothing to correct").await;
    complete(&mut client, complete_request(&third, pb::Side::Unspecified, "")).await;
    drop(client);
    // Off the runtime: the server drains this test's connection before it exits.
    let running = server.0.take().expect("server running");
    let stopped = tokio::task::spawn_blocking(move || running.terminate());
    assert!(
        stopped.await.expect("terminate").success(),
        "server stops cleanly"
    );

    let out = dir.path().join("labels.jsonl");
    let output = export_labels_command(&data_dir, &out, false);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("labels written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["id"], first.id.as_str());
    assert_eq!(lines[0]["subject"], "Hello");
    assert_eq!(lines[0]["text"], "my card was declined twice");
    assert_eq!(lines[0]["side"], "reactive");
    assert_eq!(lines[0]["category"], "billing");
    assert_eq!(lines[0]["source"], "corrected");
    assert_eq!(lines[1]["id"], second.id.as_str());
    assert_eq!(lines[1]["side"], "proactive");

    let examples = triage::learn::read_jsonl(text.as_bytes(), None).expect("learn reads the export");
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[0].side, triage::ticket::Side::Reactive);
    assert_eq!(examples[0].subject.as_deref(), Some("Hello"));
    assert_eq!(examples[0].category.as_deref(), Some("billing"));
    assert_eq!(examples[1].side, triage::ticket::Side::Proactive);
    assert_eq!(examples[1].text, "love the app, keep going");

    let all = export_labels_command(&data_dir, &out, true);
    assert!(all.status.success(), "{}", String::from_utf8_lossy(&all.stderr));
    let text = std::fs::read_to_string(&out).expect("labels written");
    assert_eq!(
        text.lines().count(),
        2,
        "the uncorrected ticket is unclassified: no label\n{text}"
    );
}

#[test]
fn export_labels_command_fails_clearly_while_the_store_is_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let _server = KillOnDrop(Some(ServerProcess::start(&data_dir, &[])));
    let out = dir.path().join("labels.jsonl");
    let output = export_labels_command(&data_dir, &out, false);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is the server still running?"), "{stderr}");
}
