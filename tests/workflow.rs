//! The agent workflow: claims with leases, release, complete, transfer,
//! lease expiry, SLA escalation and live queue watching.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{claim, complete, get, ingest, queue_summary, release, ticket, token, transfer, TestServer};
use tonic::Code;
use triage::pb;

fn actions(ticket: &pb::Ticket) -> Vec<String> {
    ticket.history.iter().map(|entry| entry.action.clone()).collect()
}

#[tokio::test]
async fn hundred_concurrent_claimers_take_each_of_a_thousand_tickets_exactly_once() {
    let server = TestServer::start().await;
    let mut order = HashMap::new();
    let mut ingests = Vec::new();
    for n in 0..1000u32 {
        let mut client = server.client.clone();
        // A third are VIP (high priority); the rest normal, all in the inbox.
        let tier = if n % 3 == 0 { "vip" } else { "free" };
        ingests.push(tokio::spawn(async move {
            let mut input = ticket(&format!("load-{n}"), "Hello", "question");
            input.customer.as_mut().expect("customer").tier = tier.into();
            ingest(&mut client, input).await.ticket.expect("ticket")
        }));
        if ingests.len() == 50 {
            for call in ingests.drain(..) {
                let ticket = call.await.expect("ingest");
                order.insert(ticket.id.clone(), ticket);
            }
            server.clock.advance_seconds(1);
        }
    }
    let sort_key = |t: &pb::Ticket| {
        let priority = t.classification.as_ref().map(|c| c.priority).unwrap_or_default();
        let at = t.ingested_at.unwrap_or_default();
        let id: u64 = t.id.trim_start_matches("tkt_").parse().unwrap_or_default();
        (priority, at.seconds, at.nanos, id)
    };
    let mut claimers = Vec::new();
    for agent in 0..100 {
        let mut client = server.client.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(claimed) = claim(&mut client, "inbox", &format!("agent-{agent}"), 600).await {
                mine.push(claimed);
            }
            mine
        }));
    }
    let mut claimed_ids = HashSet::new();
    let mut total = 0;
    for claimer in claimers {
        let mine = claimer.await.expect("claimer");
        for pair in mine.windows(2) {
            assert!(
                sort_key(&pair[0]) <= sort_key(&pair[1]),
                "an agent never gets a later ticket first"
            );
        }
        total += mine.len();
        claimed_ids.extend(mine.into_iter().map(|t| t.id));
    }
    assert_eq!(total, 1000, "every ticket claimed once, none twice");
    assert_eq!(claimed_ids.len(), 1000);
    assert_eq!(claimed_ids, order.keys().cloned().collect());
    let mut client = server.client.clone();
    let inbox = queue_summary(&mut client, "inbox").await;
    assert_eq!((inbox.depth, inbox.leased), (0, 1000));
    server.shutdown().await;
}

#[tokio::test]
async fn empty_queue_claim_returns_no_ticket() {
    let mut server = TestServer::start().await;
    assert!(claim(&mut server.client, "inbox", "a", 60).await.is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn waiting_claim_is_woken_by_an_arriving_ticket() {
    let server = TestServer::start().await;
    let mut waiter = server.client.clone();
    let waiting = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let response = waiter
            .claim_next(pb::ClaimNextRequest {
                queue: "incidents".into(),
                agent_id: "a".into(),
                lease_seconds: 60,
                wait_seconds: 30,
                ..Default::default()
            })
            .await
            .expect("claim")
            .into_inner();
        (response.ticket, started.elapsed())
    });
    // Poll until the claim is waiting on the empty queue, so the ingest
    // below must wake it.
    while server.app.watchers() == 0 {
        tokio::task::yield_now().await;
    }
    let mut client = server.client.clone();
    let ingested = ingest(&mut client, ticket("w-1", "Site is down", "x"))
        .await
        .ticket
        .expect("ticket");
    let (claimed, waited) = waiting.await.expect("waiter");
    assert_eq!(claimed.map(|t| t.id), Some(ingested.id));
    assert!(
        waited < Duration::from_secs(30),
        "woken by the event, not the timeout"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn expired_lease_returns_the_ticket_and_counts_claims() {
    let mut server = TestServer::start().await;
    let id = ingest(&mut server.client, ticket("l-1", "Site is down", "x"))
        .await
        .ticket
        .expect("t")
        .id;
    let first = claim(&mut server.client, "incidents", "crashed-agent", 30)
        .await
        .expect("claimed");
    server.clock.advance_seconds(31);
    server.app.run_maintenance().await.expect("maintenance");
    let back = get(&mut server.client, &id).await;
    assert_eq!(back.state(), pb::TicketState::Queued);
    assert!(actions(&back).contains(&"lease_expired".to_string()));

    let second = claim(&mut server.client, "incidents", "agent-2", 30)
        .await
        .expect("claimed again");
    assert_eq!(second.id, id);
    assert_eq!(second.claim_count, 2);
    let stale = complete(&mut server.client, &first, "done")
        .await
        .expect_err("expired token");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_token_is_rejected_and_changes_nothing() {
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("t-1", "Site is down", "x")).await;
    let claimed = claim(&mut server.client, "incidents", "a", 60)
        .await
        .expect("claimed");
    let before = get(&mut server.client, &claimed.id).await;
    for status in [
        server
            .client
            .release_ticket(pb::ReleaseTicketRequest {
                ticket_id: claimed.id.clone(),
                lease_token: "0".repeat(32),
                reason: "x".into(),
            })
            .await
            .expect_err("wrong token"),
        server
            .client
            .transfer_ticket(pb::TransferTicketRequest {
                ticket_id: claimed.id.clone(),
                lease_token: "nope".into(),
                queue: "billing".into(),
                reason: "x".into(),
                ..Default::default()
            })
            .await
            .expect_err("wrong token"),
        server
            .client
            .extend_lease(pb::ExtendLeaseRequest {
                ticket_id: claimed.id.clone(),
                lease_token: "nope".into(),
                lease_seconds: 60,
            })
            .await
            .expect_err("wrong token"),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    }
    assert_eq!(get(&mut server.client, &claimed.id).await, before);
    server.shutdown().await;
}

#[tokio::test]
async fn released_ticket_goes_back_to_its_place() {
    let mut server = TestServer::start().await;
    let first = ingest(&mut server.client, ticket("p-1", "Site is down", "x"))
        .await
        .ticket
        .expect("t");
    server.clock.advance_seconds(5);
    ingest(&mut server.client, ticket("p-2", "Site is down", "y")).await;
    let claimed = claim(&mut server.client, "incidents", "a", 60)
        .await
        .expect("claimed");
    assert_eq!(claimed.id, first.id);
    let released = release(&mut server.client, &claimed, "need a specialist")
        .await
        .expect("release");
    assert_eq!(released.state(), pb::TicketState::Queued);
    let again = claim(&mut server.client, "incidents", "b", 60)
        .await
        .expect("claimed");
    assert_eq!(again.id, first.id, "released ticket kept its place at the head");
    server.shutdown().await;
}

#[tokio::test]
async fn completed_ticket_leaves_the_queue_and_keeps_its_history() {
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("d-1", "Site is down", "x")).await;
    let claimed = claim(&mut server.client, "incidents", "agent-7", 60)
        .await
        .expect("claimed");
    let done = complete(&mut server.client, &claimed, "restarted the load balancer")
        .await
        .expect("complete");
    assert_eq!(done.state(), pb::TicketState::Completed);
    assert_eq!(done.resolution, "restarted the load balancer");
    assert_eq!(actions(&done), vec!["ingested", "claimed", "completed"]);
    assert_eq!(done.history.last().map(|h| h.actor.as_str()), Some("agent-7"));
    let summary = queue_summary(&mut server.client, "incidents").await;
    assert_eq!((summary.depth, summary.leased), (0, 0));
    server.shutdown().await;
}

#[tokio::test]
async fn transferred_ticket_waits_in_the_new_queue() {
    let mut server = TestServer::start().await;
    ingest(
        &mut server.client,
        ticket("x-1", "Site is down", "and my invoice is wrong"),
    )
    .await;
    let claimed = claim(&mut server.client, "incidents", "a", 60)
        .await
        .expect("claimed");
    let unknown = server
        .client
        .transfer_ticket(pb::TransferTicketRequest {
            ticket_id: claimed.id.clone(),
            lease_token: token(&claimed),
            queue: "nowhere".into(),
            reason: "x".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown queue");
    assert_eq!(unknown.code(), Code::NotFound);
    let moved = transfer(&mut server.client, &claimed, "billing", "it is a billing problem")
        .await
        .expect("transfer");
    assert_eq!(
        moved.classification.as_ref().map(|c| c.queue.as_str()),
        Some("billing")
    );
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 0);
    let next = claim(&mut server.client, "billing", "b", 60)
        .await
        .expect("in billing");
    assert_eq!(next.id, claimed.id);
    assert!(next
        .history
        .iter()
        .any(|h| h.action == "transferred" && h.detail.contains("billing problem")));
    server.shutdown().await;
}

#[tokio::test]
async fn breached_deadline_escalates_exactly_once() {
    let mut server = TestServer::start().await;
    let id = ingest(&mut server.client, ticket("s-1", "Site is down", "x"))
        .await
        .ticket
        .expect("t")
        .id;
    server.clock.advance_seconds(29 * 60);
    server.app.run_maintenance().await.expect("maintenance");
    assert!(!get(&mut server.client, &id).await.escalated, "not yet due");
    assert_eq!(queue_summary(&mut server.client, "incidents").await.at_risk, 1);

    server.clock.advance_seconds(2 * 60);
    assert_eq!(queue_summary(&mut server.client, "incidents").await.breached, 1);
    server.app.run_maintenance().await.expect("maintenance");
    server.clock.advance_seconds(3600);
    server.app.run_maintenance().await.expect("maintenance again");
    let escalated = get(&mut server.client, &id).await;
    assert!(escalated.escalated);
    let classification = escalated.classification.clone().expect("classification");
    assert_eq!(classification.queue, "escalations");
    assert_eq!(classification.priority(), pb::Priority::Urgent);
    let escalations = actions(&escalated).iter().filter(|a| *a == "escalated").count();
    assert_eq!(escalations, 1);
    assert_eq!(queue_summary(&mut server.client, "escalations").await.depth, 1);
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn claimed_ticket_meets_its_deadline_and_is_not_escalated() {
    let mut server = TestServer::start().await;
    let id = ingest(&mut server.client, ticket("s-2", "Site is down", "x"))
        .await
        .ticket
        .expect("t")
        .id;
    claim(&mut server.client, "incidents", "a", 7200)
        .await
        .expect("claimed");
    server.clock.advance_seconds(3600);
    server.app.run_maintenance().await.expect("maintenance");
    assert!(!get(&mut server.client, &id).await.escalated);
    server.shutdown().await;
}

#[tokio::test]
async fn default_deadline_per_priority_applies_when_rules_set_none() {
    let mut server = TestServer::start_with(common::TEST_RULES, |config| {
        config
            .app
            .default_first_response_minutes
            .insert(triage::ticket::Priority::Normal, 240);
    })
    .await;
    let stored = ingest(&mut server.client, ticket("sla-1", "Hello", "hi"))
        .await
        .ticket
        .expect("t");
    let classification = stored.classification.expect("classification");
    assert_eq!(classification.first_response_seconds, 240 * 60);
    server.shutdown().await;
}

async fn watch(
    client: &mut pb::triage_service_client::TriageServiceClient<tonic::transport::Channel>,
    queue: &str,
) -> tonic::Streaming<pb::WatchQueueResponse> {
    client
        .watch_queue(pb::WatchQueueRequest { queue: queue.into() })
        .await
        .expect("watch")
        .into_inner()
}

async fn next_event(stream: &mut tonic::Streaming<pb::WatchQueueResponse>) -> pb::WatchQueueResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("event arrives")
        .expect("stream ok")
        .expect("stream open")
}

#[tokio::test]
async fn watcher_sees_queue_events_in_order() {
    let mut server = TestServer::start().await;
    let mut stream = watch(&mut server.client, "incidents").await;
    let id = ingest(&mut server.client, ticket("ev-1", "Site is down", "x"))
        .await
        .ticket
        .expect("t")
        .id;
    ingest(&mut server.client, ticket("ev-other", "Invoice", "charged twice")).await; // billing: not seen
    let claimed = claim(&mut server.client, "incidents", "a", 60)
        .await
        .expect("claimed");
    release(&mut server.client, &claimed, "later")
        .await
        .expect("release");
    let again = claim(&mut server.client, "incidents", "b", 60)
        .await
        .expect("claimed");
    complete(&mut server.client, &again, "fixed")
        .await
        .expect("complete");
    let mut kinds = Vec::new();
    for _ in 0..5 {
        let event = next_event(&mut stream).await;
        assert_eq!(event.ticket_id, id);
        assert_eq!(event.queue, "incidents");
        kinds.push(event.kind());
    }
    use pb::QueueEventKind as K;
    assert_eq!(
        kinds,
        vec![K::Added, K::Claimed, K::Released, K::Claimed, K::Completed]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_claims_reach_watchers_in_commit_order() {
    if common::skip_unless_sled(
        "sled publishes in commit order; PostgreSQL in the order its events table assigns",
    ) {
        return;
    }
    let mut server = TestServer::start().await;
    let mut queue_order = Vec::new();
    for n in 0..120 {
        let stored = ingest(
            &mut server.client,
            ticket(&format!("co-{n}"), "Site is down", "x"),
        )
        .await;
        queue_order.push(stored.ticket.expect("ticket").id);
    }
    let mut stream = watch(&mut server.client, "incidents").await;
    // Sixteen agents race for the queue's head: each claim commits on the
    // head of its moment, so in commit order the claims take the tickets in
    // queue order, and so must the watcher hear of them.
    let claimers: Vec<_> = (0..16)
        .map(|agent| {
            let mut client = server.client.clone();
            tokio::spawn(async move {
                while claim(&mut client, "incidents", &format!("agent-{agent}"), 60)
                    .await
                    .is_some()
                {}
            })
        })
        .collect();
    for claimer in claimers {
        claimer.await.expect("claimer ends");
    }
    let mut heard = Vec::new();
    while heard.len() < queue_order.len() {
        let event = next_event(&mut stream).await;
        if event.kind() == pb::QueueEventKind::Claimed {
            heard.push(event.ticket_id);
        }
    }
    assert_eq!(heard, queue_order);
    server.shutdown().await;
}

#[tokio::test]
async fn stalled_watcher_does_not_block_ingest_and_is_told_it_lagged() {
    let mut server = TestServer::start_with(common::TEST_RULES, |config| config.app.watch_buffer = 8).await;
    // The watcher's connection grants the server a tiny HTTP/2 window, so
    // its unread events back up in the server instead of in socket buffers.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address))
        .expect("endpoint")
        .initial_stream_window_size(Some(256))
        .initial_connection_window_size(Some(256))
        .connect()
        .await
        .expect("watcher connects");
    let mut stalled = pb::triage_service_client::TriageServiceClient::new(channel)
        .watch_queue(pb::WatchQueueRequest {
            queue: "incidents".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let mut calls = Vec::new();
    for n in 0..400 {
        let mut client = server.client.clone();
        calls.push(tokio::spawn(async move {
            ingest(
                &mut client,
                ticket(&format!("lag-{n}"), "Site is down", &"x".repeat(2000)),
            )
            .await
        }));
    }
    for call in calls {
        call.await
            .expect("ingest finished while the watcher read nothing");
    }
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 400);
    let mut lagged = false;
    for _ in 0..400 {
        let event = next_event(&mut stalled).await;
        if event.kind() == pb::QueueEventKind::Lagged {
            assert!(event.missed > 0);
            lagged = true;
            break;
        }
    }
    assert!(lagged, "the watcher was told it missed events");
    server.shutdown().await;
}

#[tokio::test]
async fn watching_an_unknown_queue_is_not_found() {
    let mut server = TestServer::start().await;
    let status = server
        .client
        .watch_queue(pb::WatchQueueRequest { queue: "nope".into() })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn claim_arguments_are_validated() {
    let mut server = TestServer::start().await;
    let status = server
        .client
        .claim_next(pb::ClaimNextRequest {
            queue: "inbox".into(),
            agent_id: "".into(),
            ..Default::default()
        })
        .await
        .expect_err("no agent");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("agent_id"));
    let status = server
        .client
        .claim_next(pb::ClaimNextRequest {
            queue: "inbox".into(),
            agent_id: "a".into(),
            lease_seconds: 999_999,
            wait_seconds: 0,
            ..Default::default()
        })
        .await
        .expect_err("lease too long");
    assert!(status.message().contains("lease_seconds"));
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_a_waiting_claim_promptly() {
    let server = TestServer::start().await;
    let mut waiter = server.client.clone();
    let waiting = tokio::spawn(async move {
        waiter
            .claim_next(pb::ClaimNextRequest {
                queue: "inbox".into(),
                agent_id: "a".into(),
                lease_seconds: 60,
                wait_seconds: 60,
                ..Default::default()
            })
            .await
    });
    while server.app.watchers() == 0 {
        tokio::task::yield_now().await;
    }
    let started = std::time::Instant::now();
    server.shutdown().await;
    let answer = waiting.await.expect("waiter task");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "drain did not wait out the claim"
    );
    assert!(answer.map(|r| r.into_inner().ticket.is_none()).unwrap_or(true));
}

#[tokio::test]
async fn extended_lease_outlives_the_original_expiry() {
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("ext-1", "Site is down", "x")).await;
    let claimed = claim(&mut server.client, "incidents", "a", 30)
        .await
        .expect("claimed");
    let extended = server
        .client
        .extend_lease(pb::ExtendLeaseRequest {
            ticket_id: claimed.id.clone(),
            lease_token: token(&claimed),
            lease_seconds: 600,
        })
        .await
        .expect("extend")
        .into_inner()
        .ticket
        .expect("ticket");
    let (before, after) = (
        claimed.lease.clone().expect("lease"),
        extended.lease.expect("lease"),
    );
    assert_eq!(after.agent_id, "a", "the holder stays the same");
    assert!(after.expires_at.map(|at| at.seconds) > before.expires_at.map(|at| at.seconds));
    assert!(after.token.is_empty(), "the token is not repeated");
    server.clock.advance_seconds(60);
    server.app.run_maintenance().await.expect("maintenance");
    let still = get(&mut server.client, &claimed.id).await;
    assert_eq!(
        still.state(),
        pb::TicketState::Claimed,
        "the extension kept the lease"
    );
    complete(&mut server.client, &claimed, "done")
        .await
        .expect("complete with the extended lease");
    server.shutdown().await;
}

#[tokio::test]
async fn breach_without_escalation_queue_raises_priority_in_place() {
    let mut server = TestServer::start().await;
    let id = ingest(
        &mut server.client,
        ticket("s-3", "Invoice", "I was charged twice"),
    )
    .await
    .ticket
    .expect("t")
    .id;
    server.clock.advance_seconds(121 * 60);
    server.app.run_maintenance().await.expect("maintenance");
    let escalated = get(&mut server.client, &id).await;
    let classification = escalated.classification.clone().expect("classification");
    assert!(escalated.escalated);
    assert_eq!(classification.queue, "billing");
    assert_eq!(
        classification.priority(),
        pb::Priority::Urgent,
        "high raised one step"
    );
    server.shutdown().await;
}
