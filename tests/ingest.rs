//! Ingest, storage, listing and bad input, against a real server.

mod common;

use common::{ingest, queue_summary, ticket, TestServer};
use tonic::Code;
use triage::pb;

#[tokio::test]
async fn ingested_ticket_is_stored_and_listed_in_its_queue() {
    let mut server = TestServer::start().await;
    let response = ingest(
        &mut server.client,
        ticket("z-1", "Site is down", "Nothing loads since 9am"),
    )
    .await;
    assert!(response.created);
    let stored = response.ticket.expect("ticket returned");
    let classification = stored.classification.clone().expect("classified");
    assert_eq!(classification.queue, "incidents");
    assert_eq!(classification.side(), pb::Side::Reactive);
    assert_eq!(stored.state(), pb::TicketState::Queued);

    let fetched = server
        .client
        .get_ticket(pb::GetTicketRequest {
            ticket_id: stored.id.clone(),
        })
        .await
        .expect("get ticket")
        .into_inner()
        .ticket
        .expect("ticket");
    assert_eq!(fetched.input, stored.input);
    assert_eq!(
        fetched.history.first().map(|h| h.action.as_str()),
        Some("ingested")
    );

    let listed = server
        .client
        .list_tickets(pb::ListTicketsRequest {
            queue: "incidents".into(),
            ..Default::default()
        })
        .await
        .expect("list tickets")
        .into_inner();
    assert_eq!(
        listed.tickets.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        vec![stored.id]
    );
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 1);
    assert_eq!(queue_summary(&mut server.client, "billing").await.depth, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn retry_with_same_external_id_returns_original_ticket() {
    let mut server = TestServer::start().await;
    let first = ingest(&mut server.client, ticket("z-7", "Site is down", "help")).await;
    let mut retry_input = ticket("z-7", "Different subject on retry", "still the same ticket");
    retry_input.channel = pb::Channel::Chat.into();
    let retry = ingest(&mut server.client, retry_input).await;
    assert!(first.created);
    assert!(!retry.created);
    assert_eq!(
        retry.ticket, first.ticket,
        "a retry returns the original, unchanged"
    );
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 1);

    let mut other_source = ticket("z-7", "Site is down", "help");
    other_source.source = "zammad".into();
    assert!(
        ingest(&mut server.client, other_source).await.created,
        "the key is source + external id"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_retries_store_exactly_one_ticket() {
    let server = TestServer::start().await;
    let mut calls = Vec::new();
    for _ in 0..20 {
        let mut client = server.client.clone();
        calls.push(tokio::spawn(async move {
            ingest(&mut client, ticket("dup", "Site is down", "x")).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for call in calls {
        let response = call.await.expect("task");
        created += usize::from(response.created);
        ids.insert(response.ticket.expect("ticket").id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let mut client = server.client.clone();
    assert_eq!(queue_summary(&mut client, "incidents").await.depth, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn queue_pages_list_every_ticket_oldest_first_within_a_priority() {
    let mut server = TestServer::start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        server.clock.advance_seconds(10);
        let input = ticket(&format!("b-{n}"), "Wrong invoice", "I was charged twice");
        ids.push(ingest(&mut server.client, input).await.ticket.expect("ticket").id);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let request = pb::ListTicketsRequest {
            queue: "billing".into(),
            page_size: 2,
            page_token: token,
            ..Default::default()
        };
        let page = server
            .client
            .list_tickets(request)
            .await
            .expect("page")
            .into_inner();
        assert!(page.tickets.len() <= 2);
        seen.extend(page.tickets.into_iter().map(|t| t.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ids);
    server.shutdown().await;
}

#[tokio::test]
async fn higher_priority_ticket_is_listed_before_older_lower_priority_ones() {
    let mut server = TestServer::start().await;
    let mut normal = ticket("n-1", "Hello", "just saying hi");
    normal.customer.as_mut().expect("customer").tier = "free".into();
    let older = ingest(&mut server.client, normal).await.ticket.expect("ticket");
    server.clock.advance_seconds(60);
    let mut vip = ticket("n-2", "Hello", "just saying hi");
    vip.customer.as_mut().expect("customer").tier = "vip".into();
    let newer = ingest(&mut server.client, vip).await.ticket.expect("ticket");
    assert_eq!(
        newer.classification.as_ref().map(|c| c.priority()),
        Some(pb::Priority::High)
    );
    let inbox = server
        .client
        .list_tickets(pb::ListTicketsRequest {
            queue: "inbox".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .tickets;
    let order: Vec<_> = inbox.into_iter().map(|t| t.id).collect();
    assert_eq!(order, vec![newer.id, older.id]);
    server.shutdown().await;
}

async fn ingest_error(server: &mut TestServer, input: Option<pb::TicketInput>) -> tonic::Status {
    server
        .client
        .ingest_ticket(pb::IngestTicketRequest { ticket: input })
        .await
        .expect_err("request is rejected")
}

#[tokio::test]
async fn missing_required_fields_are_rejected_with_the_field_name() {
    let mut server = TestServer::start().await;
    let status = ingest_error(&mut server, None).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("ticket"), "{}", status.message());

    let status = ingest_error(&mut server, Some(ticket("", "Site is down", "x"))).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("ticket.external_id"),
        "{}",
        status.message()
    );

    let mut no_source = ticket("s-1", "Site is down", "x");
    no_source.source = "  ".into();
    let status = ingest_error(&mut server, Some(no_source)).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("ticket.source"), "{}", status.message());
    assert_eq!(
        queue_summary(&mut server.client, "incidents").await.depth,
        0,
        "nothing half-written"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_body_is_rejected_and_nothing_is_stored() {
    let mut server = TestServer::start_with(common::TEST_RULES, |config| {
        config.app.limits.max_body_bytes = 1024;
    })
    .await;
    let status = ingest_error(
        &mut server,
        Some(ticket("big", "Site is down", &"x".repeat(1025))),
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("ticket.body"), "{}", status.message());
    assert!(status.message().contains("1024"), "{}", status.message());
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 0);
    // The same external id is still free: nothing was recorded.
    assert!(
        ingest(&mut server.client, ticket("big", "Site is down", "short"))
            .await
            .created
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_enum_value_is_rejected_with_the_field_name() {
    let mut server = TestServer::start().await;
    let mut input = ticket("e-1", "Site is down", "x");
    input.channel = 42;
    let status = ingest_error(&mut server, Some(input)).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("ticket.channel"),
        "{}",
        status.message()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_timestamp_is_rejected_with_the_field_name() {
    let mut server = TestServer::start().await;
    let mut input = ticket("ts-1", "Site is down", "x");
    input.created_at = Some(prost_types::Timestamp {
        seconds: 0,
        nanos: -5,
    });
    let status = ingest_error(&mut server, Some(input)).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("ticket.created_at"),
        "{}",
        status.message()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_ticket_id_is_not_found_and_malformed_id_is_invalid() {
    let mut server = TestServer::start().await;
    let status = server
        .client
        .get_ticket(pb::GetTicketRequest {
            ticket_id: "tkt_999999".into(),
        })
        .await
        .expect_err("unknown id");
    assert_eq!(status.code(), Code::NotFound);
    let status = server
        .client
        .get_ticket(pb::GetTicketRequest {
            ticket_id: "not-an-id".into(),
        })
        .await
        .expect_err("malformed id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("ticket_id"), "{}", status.message());
    server.shutdown().await;
}

#[tokio::test]
async fn bad_page_token_and_unknown_queue_are_rejected() {
    let mut server = TestServer::start().await;
    let status = server
        .client
        .list_tickets(pb::ListTicketsRequest {
            queue: "inbox".into(),
            page_size: 10,
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad token");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("page_token"), "{}", status.message());
    let status = server
        .client
        .list_tickets(pb::ListTicketsRequest {
            queue: "nope".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown queue");
    assert_eq!(status.code(), Code::NotFound);
    server.shutdown().await;
}

#[tokio::test]
async fn ping_answers() {
    let mut server = TestServer::start().await;
    server.client.ping(pb::PingRequest {}).await.expect("ping");
    server.shutdown().await;
}

#[test]
fn restarted_server_still_has_every_acknowledged_ticket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = common::ServerProcess::start(dir.path(), &[]);
    let mut ids = Vec::new();
    runtime.block_on(async {
        let mut client = common::connect(server.address).await;
        for n in 0..10 {
            let input = ticket(&format!("r-{n}"), "Site is down", "nothing works");
            ids.push(ingest(&mut client, input).await.ticket.expect("ticket").id);
        }
    });
    assert!(server.terminate().success(), "clean shutdown on SIGTERM");

    let server = common::ServerProcess::start(dir.path(), &[]);
    runtime.block_on(async {
        let mut client = common::connect(server.address).await;
        for id in &ids {
            let found = client
                .get_ticket(pb::GetTicketRequest {
                    ticket_id: id.clone(),
                })
                .await;
            assert!(found.is_ok(), "{id} survived the restart");
        }
        let retry = ingest(&mut client, ticket("r-3", "Site is down", "nothing works")).await;
        assert!(!retry.created, "idempotency survives the restart");
        let depth: u64 = client
            .list_queues(pb::ListQueuesRequest {})
            .await
            .expect("queues")
            .into_inner()
            .queues
            .iter()
            .map(|q| q.depth)
            .sum();
        assert_eq!(depth, 10);
    });
    server.kill_hard();
}

#[test]
fn killed_server_keeps_every_acknowledged_ticket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = common::ServerProcess::start(dir.path(), &[]);
    let ids = runtime.block_on(async {
        let client = common::connect(server.address).await;
        let mut calls = Vec::new();
        for n in 0..50 {
            let mut client = client.clone();
            calls.push(tokio::spawn(async move {
                ingest(
                    &mut client,
                    ticket(&format!("k-{n}"), "Refund please", "charged twice"),
                )
                .await
            }));
        }
        let mut ids = Vec::new();
        for call in calls {
            ids.push(call.await.expect("task").ticket.expect("ticket").id);
        }
        ids
    });
    server.kill_hard();

    let server = common::ServerProcess::start(dir.path(), &[]);
    runtime.block_on(async {
        let mut client = common::connect(server.address).await;
        for id in &ids {
            let found = client
                .get_ticket(pb::GetTicketRequest {
                    ticket_id: id.clone(),
                })
                .await;
            assert!(found.is_ok(), "{id} survived kill -9");
        }
    });
    server.kill_hard();
}

#[tokio::test]
async fn message_over_the_transport_limit_is_refused_before_decoding() {
    let mut server = TestServer::start_with(common::TEST_RULES, |config| {
        config.app.limits.max_body_bytes = 1024;
    })
    .await;
    // The transport accepts the body limit plus 1 MiB of envelope; send 2 MiB.
    let huge = "x".repeat(2 * 1024 * 1024);
    let status = ingest_error(&mut server, Some(ticket("huge", "Site is down", &huge))).await;
    // Refused before decoding, with gRPC's code for it (tonic's own answer,
    // OUT_OF_RANGE, is rewritten: see service/status.rs).
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 0);
    server.shutdown().await;
}
