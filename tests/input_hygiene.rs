//! Input hygiene: ids that look empty or display as something else are
//! refused naming the field; page tokens only resume their own listing;
//! ticket ids have one spelling; `created_at` defaults to the ingest time
//! and may not lie in the far future; `--verify` refuses a directory that
//! holds no store.

mod common;

use common::{claim, ingest, ticket, ServerProcess, TestServer, START};
use tonic::Code;
use triage::pb;

fn assert_invalid(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(field),
        "{field} not named: {}",
        status.message()
    );
}

async fn try_ingest(
    server: &mut TestServer,
    input: pb::TicketInput,
) -> Result<pb::IngestTicketResponse, tonic::Status> {
    let request = pb::IngestTicketRequest { ticket: Some(input) };
    Ok(server.client.ingest_ticket(request).await?.into_inner())
}

async fn try_claim(server: &mut TestServer, agent_id: &str) -> Result<pb::ClaimNextResponse, tonic::Status> {
    let request = pb::ClaimNextRequest {
        queue: "inbox".into(),
        agent_id: agent_id.into(),
        ..Default::default()
    };
    Ok(server.client.claim_next(request).await?.into_inner())
}

#[tokio::test]
async fn external_id_of_only_zero_width_characters_is_refused() {
    let mut server = TestServer::start().await;
    for id in ["\u{200B}", "\u{200B}\u{200C}\u{FEFF}", " \u{2060} "] {
        let refused = try_ingest(&mut server, ticket(id, "Hello", "hi")).await;
        assert_invalid(&refused.expect_err("refused"), "ticket.external_id");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn external_id_with_a_bidi_control_is_refused() {
    let mut server = TestServer::start().await;
    for id in ["abc\u{202E}fed", "\u{2066}id\u{2069}", "x\u{200F}"] {
        let refused = try_ingest(&mut server, ticket(id, "Hello", "hi")).await;
        assert_invalid(&refused.expect_err("refused"), "ticket.external_id");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn external_id_with_visible_non_ascii_text_is_accepted() {
    let mut server = TestServer::start().await;
    let accepted = try_ingest(&mut server, ticket("über-تذكرة-7", "Hello", "hi")).await;
    assert!(accepted.expect("accepted").created);
    server.shutdown().await;
}

#[tokio::test]
async fn agent_id_with_nul_control_or_bidi_characters_is_refused() {
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("a-1", "Hello", "hi")).await;
    for agent in ["ali\0ce", "bob\u{7}", "eve\u{202E}", "\u{200B}"] {
        let refused = try_claim(&mut server, agent).await;
        assert_invalid(&refused.expect_err("refused"), "agent_id");
    }
    let claimed = claim(&mut server.client, "inbox", "alice", 60).await;
    assert!(claimed.is_some(), "the ticket stayed queued for a valid agent");
    server.shutdown().await;
}

async fn list(
    server: &mut TestServer,
    queue: &str,
    page_token: String,
) -> Result<pb::ListTicketsResponse, tonic::Status> {
    let request = pb::ListTicketsRequest {
        queue: queue.into(),
        page_size: 1,
        page_token,
        ..Default::default()
    };
    Ok(server.client.list_tickets(request).await?.into_inner())
}

#[tokio::test]
async fn page_token_from_one_queue_is_refused_on_another() {
    let mut server = TestServer::start().await;
    for n in 0..2 {
        ingest(&mut server.client, ticket(&format!("in-{n}"), "Hello", "hi")).await;
        let outage = ticket(&format!("out-{n}"), "Checkout", "the site is down");
        ingest(&mut server.client, outage).await;
    }
    let first = list(&mut server, "inbox", String::new())
        .await
        .expect("first page");
    assert!(!first.next_page_token.is_empty(), "a second page exists");
    let foreign = list(&mut server, "incidents", first.next_page_token.clone()).await;
    assert_invalid(&foreign.expect_err("refused"), "page_token");
    let own = list(&mut server, "inbox", first.next_page_token)
        .await
        .expect("own queue");
    assert_eq!(own.tickets.len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn customer_page_token_is_refused_for_another_customer() {
    let mut server = TestServer::start().await;
    for n in 0..2 {
        let mut input = ticket(&format!("c-{n}"), "Hello", "hi");
        input.customer.get_or_insert_with(Default::default).id = "cust-a".into();
        ingest(&mut server.client, input).await;
    }
    let request = |customer_id: &str, page_token: String| pb::ListCustomerTicketsRequest {
        customer_id: customer_id.into(),
        page_size: 1,
        page_token,
        ..Default::default()
    };
    let first = server
        .client
        .list_customer_tickets(request("cust-a", String::new()))
        .await
        .expect("first page")
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let foreign = server
        .client
        .list_customer_tickets(request("cust-b", first.next_page_token))
        .await;
    assert_invalid(&foreign.expect_err("refused"), "page_token");
    server.shutdown().await;
}

#[tokio::test]
async fn ticket_id_with_leading_zeros_does_not_resolve() {
    let mut server = TestServer::start().await;
    let first = ingest(&mut server.client, ticket("z-1", "Hello", "hi")).await;
    let second = ingest(&mut server.client, ticket("z-2", "Hello", "hi")).await;
    let id = second.ticket.expect("ticket").id;
    assert_eq!(
        first.ticket.expect("ticket").id,
        "tkt_0",
        "the ids this test assumes"
    );
    let padded = id.replace("tkt_", "tkt_000");
    let refused = server
        .client
        .get_ticket(pb::GetTicketRequest { ticket_id: padded })
        .await;
    assert_invalid(&refused.expect_err("refused"), "ticket_id");
    let found = server
        .client
        .get_ticket(pb::GetTicketRequest { ticket_id: id })
        .await;
    assert!(found.is_ok(), "the canonical id resolves");
    let zero = server
        .client
        .get_ticket(pb::GetTicketRequest {
            ticket_id: "tkt_0".into(),
        })
        .await;
    assert!(zero.is_ok(), "tkt_0 is canonical");
    server.shutdown().await;
}

#[tokio::test]
async fn unset_created_at_defaults_to_the_ingest_time() {
    let mut server = TestServer::start().await;
    let answer = ingest(&mut server.client, ticket("t-1", "Hello", "hi")).await;
    let stored = answer.ticket.expect("ticket");
    let created = stored.input.expect("input").created_at.expect("created_at set");
    assert_eq!(Some(created), stored.ingested_at);
    assert_eq!(created.seconds, START.0 / 1_000_000);
    server.shutdown().await;
}

#[tokio::test]
async fn created_at_given_by_the_caller_is_kept() {
    let mut server = TestServer::start().await;
    let mut input = ticket("t-2", "Hello", "hi");
    let earlier = prost_types::Timestamp {
        seconds: START.0 / 1_000_000 - 86_400,
        nanos: 0,
    };
    input.created_at = Some(earlier);
    let answer = ingest(&mut server.client, input).await;
    let kept = answer.ticket.expect("ticket").input.expect("input").created_at;
    assert_eq!(kept, Some(earlier));
    server.shutdown().await;
}

#[tokio::test]
async fn created_at_in_year_9999_or_next_week_is_refused() {
    let mut server = TestServer::start().await;
    let year_9999 = 253_402_300_000;
    let next_week = START.0 / 1_000_000 + 7 * 86_400;
    for seconds in [year_9999, next_week] {
        let mut input = ticket(&format!("f-{seconds}"), "Hello", "hi");
        input.created_at = Some(prost_types::Timestamp { seconds, nanos: 0 });
        let refused = try_ingest(&mut server, input.clone()).await;
        assert_invalid(&refused.expect_err("refused"), "ticket.created_at");
        let classify = server
            .client
            .classify_ticket(pb::ClassifyTicketRequest { ticket: Some(input) })
            .await;
        assert_invalid(&classify.expect_err("refused"), "ticket.created_at");
    }
    server.shutdown().await;
}

#[test]
fn verify_refuses_a_directory_that_holds_no_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "not a store").expect("write");
    let (status, report) = ServerProcess::verify(dir.path());
    assert!(!status.success(), "{report}");
    assert!(report.contains("holds no triage store"), "{report}");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("read dir").collect();
    assert_eq!(entries.len(), 1, "nothing was created");
}
