//! Lease tokens go only to their holder: the ClaimNext answer is the one
//! response that carries a token. Every other view of a claimed ticket shows
//! who holds it and until when, so knowing a (sequential) ticket id is not
//! enough to work another agent's ticket.

mod common;

use std::time::Duration;

use common::{claim, complete, get, ingest, release, ticket, token, transfer, TestServer};
use prost::Message;
use tonic::transport::Channel;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;

type Client = TriageServiceClient<Channel>;

/// Fails if any of `tokens` appears anywhere in `message`'s encoding: in a
/// lease, a history detail, or any other field.
fn assert_no_token(what: &str, message: &impl Message, tokens: &[String]) {
    let bytes = message.encode_to_vec();
    for token in tokens {
        assert!(!token.is_empty(), "a claim answer carries its token");
        let found = bytes
            .windows(token.len())
            .any(|window| window == token.as_bytes());
        assert!(!found, "{what} reveals lease token {token}");
    }
}

/// Ingests an inbox ticket (no rule matches it) for customer `cust-<id>`
/// and claims it for `alice`.
async fn claimed_by_alice(client: &mut Client, external_id: &str) -> pb::Ticket {
    ingest(client, ticket(external_id, "Hello", "just saying hi")).await;
    claim(client, "inbox", "alice", 600).await.expect("claimed")
}

fn lease(ticket: &pb::Ticket) -> pb::Lease {
    ticket.lease.clone().expect("a lease")
}

#[tokio::test]
async fn get_ticket_shows_the_holder_and_expiry_but_not_the_token() {
    let mut server = TestServer::start().await;
    let claimed = claimed_by_alice(&mut server.client, "t-get").await;
    let shown = get(&mut server.client, &claimed.id).await;
    assert_eq!(shown.state(), pb::TicketState::Claimed);
    assert_eq!(lease(&shown).agent_id, "alice");
    assert_eq!(lease(&shown).expires_at, lease(&claimed).expires_at);
    assert_no_token("GetTicket", &shown, &[token(&claimed)]);
    server.shutdown().await;
}

#[tokio::test]
async fn customer_lists_show_the_holder_but_not_the_token() {
    let mut server = TestServer::start().await;
    let claimed = claimed_by_alice(&mut server.client, "t-cust").await;
    for view in [pb::TicketView::Basic, pb::TicketView::Full] {
        let request = pb::ListCustomerTicketsRequest {
            customer_id: "cust-t-cust".into(),
            view: view.into(),
            ..Default::default()
        };
        let listed = server
            .client
            .list_customer_tickets(request)
            .await
            .expect("list")
            .into_inner();
        let shown = listed.tickets.first().expect("the claimed ticket");
        assert_eq!(lease(shown).agent_id, "alice", "{view:?}");
        assert_no_token(
            &format!("ListCustomerTickets {view:?}"),
            &listed,
            &[token(&claimed)],
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn ingest_retry_of_a_claimed_ticket_does_not_reveal_its_token() {
    let mut server = TestServer::start().await;
    let claimed = claimed_by_alice(&mut server.client, "t-retry").await;
    let retry = ingest(&mut server.client, ticket("t-retry", "Hello", "just saying hi")).await;
    assert!(!retry.created);
    assert_eq!(lease(retry.ticket.as_ref().expect("ticket")).agent_id, "alice");
    assert_no_token("IngestTicket retry", &retry, &[token(&claimed)]);
    server.shutdown().await;
}

/// Extends the lease of a claimed ticket with the token from its claim.
async fn extend(client: &mut Client, claimed: &pb::Ticket, lease_seconds: u32) -> pb::ExtendLeaseResponse {
    let request = pb::ExtendLeaseRequest {
        ticket_id: claimed.id.clone(),
        lease_token: token(claimed),
        lease_seconds,
    };
    client.extend_lease(request).await.expect("extend").into_inner()
}

#[tokio::test]
async fn extend_lease_answer_shows_the_new_expiry_but_not_the_token() {
    let mut server = TestServer::start().await;
    let claimed = claimed_by_alice(&mut server.client, "t-extend").await;
    let extended = extend(&mut server.client, &claimed, 1200).await;
    let shown = lease(extended.ticket.as_ref().expect("ticket"));
    assert_eq!(shown.agent_id, "alice");
    assert!(shown.expires_at.map(|at| at.seconds) > lease(&claimed).expires_at.map(|at| at.seconds));
    assert_no_token("ExtendLease", &extended, &[token(&claimed)]);
    server.shutdown().await;
}

/// Reads `count` events from a watch stream.
async fn events(
    stream: &mut tonic::Streaming<pb::WatchQueueResponse>,
    count: usize,
) -> Vec<pb::WatchQueueResponse> {
    let mut events = Vec::new();
    while events.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.message()).await;
        events.push(next.expect("an event in time").expect("stream").expect("open"));
    }
    events
}

#[tokio::test]
async fn no_answer_or_event_after_the_claim_repeats_the_token() {
    let mut server = TestServer::start().await;
    let watch = pb::WatchQueueRequest {
        queue: "inbox".into(),
    };
    let mut watch = server
        .client
        .clone()
        .watch_queue(watch)
        .await
        .expect("watch")
        .into_inner();
    let client = &mut server.client;

    let first = claimed_by_alice(client, "t-life").await;
    let mut tokens = vec![token(&first)];
    assert_no_token("ExtendLease", &extend(client, &first, 900).await, &tokens);
    let released = release(client, &first, "lunch").await.expect("release");
    assert_no_token("ReleaseTicket", &released, &tokens);
    let list = pb::ListTicketsRequest {
        queue: "inbox".into(),
        view: pb::TicketView::Full.into(),
        ..Default::default()
    };
    let listed = client.list_tickets(list).await.expect("list").into_inner();
    assert_no_token("ListTickets", &listed, &tokens);

    let second = claim(client, "inbox", "bob", 600).await.expect("claimed again");
    tokens.push(token(&second));
    let moved = transfer(client, &second, "billing", "about an invoice")
        .await
        .expect("transfer");
    assert_no_token("TransferTicket", &moved, &tokens);

    let third = claim(client, "billing", "carol", 600)
        .await
        .expect("claimed in billing");
    tokens.push(token(&third));
    let done = complete(client, &third, "refunded").await.expect("complete");
    assert_no_token("CompleteTicket", &done, &tokens);
    assert_no_token("GetTicket", &get(client, &first.id).await, &tokens);

    // inbox: added, claimed, released, claimed, transferred out.
    for event in events(&mut watch, 5).await {
        assert_no_token("WatchQueue", &event, &tokens);
    }
    drop(watch);
    server.shutdown().await;
}
