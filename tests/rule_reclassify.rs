//! Rule changes applied to open work, against a real server: a reload that
//! drops a queue moves its waiting tickets in the same operation (and
//! refuses when it cannot), and ReclassifyOpen re-files waiting tickets
//! with the running rules.

mod common;

use common::{ticket, TestServer};
use tonic::Code;
use triage::pb;

/// The test rules without the billing queue: billing problems go to the inbox.
fn rules_without_billing(version: &str) -> String {
    common::TEST_RULES
        .replace("version = \"test-1\"", &format!("version = \"{version}\""))
        .replace(
            "[[queue]]\nname = \"billing\"\ndescription = \"Billing problems\"\nfirst_response_minutes = 120\n",
            "",
        )
        .replace("queue = \"billing\"", "queue = \"inbox\"")
}

/// The test rules with "on fire" as an outage word.
fn rules_with_fire(version: &str) -> String {
    common::TEST_RULES
        .replace("version = \"test-1\"", &format!("version = \"{version}\""))
        .replace("\"outage\", \"is down\"", "\"outage\", \"is down\", \"on fire\"")
}

async fn reload(
    server: &mut TestServer,
    text: &str,
    move_dropped_to: &str,
) -> Result<pb::ReloadRulesResponse, tonic::Status> {
    let request = pb::ReloadRulesRequest {
        source: Some(pb::reload_rules_request::Source::Text(text.to_string())),
        name: "next.toml".into(),
        move_dropped_to: move_dropped_to.into(),
    };
    server
        .client
        .reload_rules(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn reclassify(
    server: &mut TestServer,
    queue: &str,
) -> Result<pb::ReclassifyOpenResponse, tonic::Status> {
    let request = pb::ReclassifyOpenRequest {
        queue: queue.into(),
        samples_per_move: 0,
    };
    server
        .client
        .reclassify_open(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn version(server: &mut TestServer) -> String {
    let active = server
        .client
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("rule set")
        .into_inner();
    active.summary.expect("summary").version
}

fn actions(ticket: &pb::Ticket) -> Vec<&str> {
    ticket.history.iter().map(|entry| entry.action.as_str()).collect()
}

#[tokio::test]
async fn dropping_a_queue_under_concurrent_ingest_moves_every_ticket_and_strands_none() {
    let mut server = TestServer::start().await;
    // Long bodies take milliseconds to classify, on the classification
    // pool: a reload always finds ingests classified by the old rules and
    // not yet stored, the window in which a ticket could be filed into
    // the queue the reload drops.
    let body = "The invoice shows the same line twice and I was charged twice for it. ".repeat(1_000);
    let mut writers = Vec::new();
    for writer in 0..4 {
        let mut client = common::connect(server.address).await;
        let body = body.clone();
        writers.push(tokio::spawn(async move {
            let mut stored = Vec::new();
            for n in 0..50 {
                let input = ticket(&format!("w{writer}-{n}"), "I was charged twice", &body);
                let answer = common::ingest(&mut client, input).await;
                stored.push(answer.ticket.expect("ticket").id);
            }
            stored
        }));
    }
    // Reload while the writers are still filing into the billing queue.
    while common::queue_summary(&mut server.client, "billing").await.depth < 10 {
        tokio::task::yield_now().await;
    }
    let answer = reload(&mut server, &rules_without_billing("no-billing"), "inbox")
        .await
        .expect("reloaded, moving the billing queue's tickets");
    assert!(answer.moved >= 10, "moved {}", answer.moved);
    let mut ids = Vec::new();
    for writer in writers {
        ids.extend(writer.await.expect("writer"));
    }
    assert_eq!(ids.len(), 200);
    let stranded = server
        .app
        .store()
        .queues_stats(&["billing".to_string()], server.app.now())
        .await
        .expect("stats");
    assert_eq!(
        stranded[0].depth + stranded[0].leased,
        0,
        "tickets stranded in the dropped queue"
    );
    for id in &ids {
        let stored = common::get(&mut server.client, id).await;
        let classification = stored.classification.as_ref().expect("classification");
        assert_eq!(classification.queue, "inbox", "{id}");
        assert_eq!(stored.state(), pb::TicketState::Queued, "{id}");
    }
    assert_eq!(
        common::queue_summary(&mut server.client, "inbox").await.depth,
        200
    );
    assert!(server.app.store().verify().await.expect("verify").is_consistent());
    server.shutdown().await;
}

#[tokio::test]
async fn a_moved_ticket_records_the_move_in_its_history() {
    let mut server = TestServer::start().await;
    let stored = common::ingest(&mut server.client, ticket("m1", "Refund please", "x")).await;
    let id = stored.ticket.expect("ticket").id;
    reload(&mut server, &rules_without_billing("no-billing"), "inbox")
        .await
        .expect("reloaded");
    let moved = common::get(&mut server.client, &id).await;
    assert_eq!(actions(&moved), ["ingested", "reclassified"]);
    let detail = &moved.history[1].detail;
    assert!(
        detail.contains("billing -> inbox") && detail.contains("no-billing"),
        "{detail}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn dropping_a_queue_that_holds_tickets_is_refused_without_a_destination() {
    let mut server = TestServer::start().await;
    common::ingest(&mut server.client, ticket("r1", "Refund please", "x")).await;
    let status = reload(&mut server, &rules_without_billing("no-billing"), "")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("move_dropped_to"),
        "{}",
        status.message()
    );
    assert_eq!(version(&mut server).await, "test-1");
    assert_eq!(
        common::queue_summary(&mut server.client, "billing").await.depth,
        1
    );
    server.shutdown().await;
}

#[tokio::test]
async fn dropping_a_queue_whose_tickets_agents_hold_is_refused_even_with_a_destination() {
    let mut server = TestServer::start().await;
    common::ingest(&mut server.client, ticket("h1", "Refund please", "x")).await;
    common::claim(&mut server.client, "billing", "agent-1", 300)
        .await
        .expect("claimed");
    let status = reload(&mut server, &rules_without_billing("no-billing"), "inbox")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("claimed"), "{}", status.message());
    assert_eq!(version(&mut server).await, "test-1");
    server.shutdown().await;
}

#[tokio::test]
async fn the_destination_must_be_a_queue_of_the_new_rules() {
    let mut server = TestServer::start().await;
    let status = reload(&mut server, &rules_without_billing("no-billing"), "billing")
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("move_dropped_to"),
        "{}",
        status.message()
    );
    assert_eq!(version(&mut server).await, "test-1");
    server.shutdown().await;
}

#[tokio::test]
async fn reclassify_open_refiles_waiting_tickets_and_leaves_claimed_ones() {
    let mut server = TestServer::start().await;
    let mut waiting = Vec::new();
    for n in 0..3 {
        let stored = common::ingest(
            &mut server.client,
            ticket(&format!("f{n}"), "Everything is on fire", "x"),
        )
        .await;
        waiting.push(stored.ticket.expect("ticket").id);
    }
    let claimed = common::claim(&mut server.client, "inbox", "agent-1", 300)
        .await
        .expect("claimed");
    waiting.retain(|id| *id != claimed.id);
    reload(&mut server, &rules_with_fire("fire"), "")
        .await
        .expect("reloaded");

    let report = reclassify(&mut server, "").await.expect("reclassified");
    assert_eq!(
        (report.rules_version.as_str(), report.examined, report.moved),
        ("fire", 2, 2)
    );
    let moved = &report.moves[0];
    assert_eq!(
        (
            moved.from_queue.as_str(),
            moved.to_queue.as_str(),
            moved.to_category.as_str(),
            moved.count
        ),
        ("inbox", "incidents", "outage", 2)
    );
    for id in &waiting {
        let ticket = common::get(&mut server.client, id).await;
        let classification = ticket.classification.as_ref().expect("classification");
        assert_eq!(
            (
                classification.queue.as_str(),
                classification.rules_version.as_str()
            ),
            ("incidents", "fire"),
            "{id}"
        );
        assert_eq!(actions(&ticket).last(), Some(&"reclassified"));
    }
    let held = common::get(&mut server.client, &claimed.id).await;
    assert_eq!(held.classification.expect("classification").queue, "inbox");
    assert_eq!(
        common::queue_summary(&mut server.client, "incidents").await.depth,
        2
    );

    let again = reclassify(&mut server, "").await.expect("reclassified again");
    assert_eq!(
        (again.examined, again.moved),
        (0, 0),
        "placed by these rules already"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn reclassify_open_of_one_queue_leaves_the_others() {
    let mut server = TestServer::start().await;
    common::ingest(&mut server.client, ticket("a", "Everything is on fire", "x")).await;
    reload(&mut server, &rules_with_fire("fire"), "")
        .await
        .expect("reloaded");
    let report = reclassify(&mut server, "billing").await.expect("reclassified");
    assert_eq!((report.examined, report.moved), (0, 0));
    assert_eq!(common::queue_summary(&mut server.client, "inbox").await.depth, 1);
    let status = reclassify(&mut server, "nowhere")
        .await
        .expect_err("unknown queue");
    assert_eq!(status.code(), Code::NotFound);
    server.shutdown().await;
}
