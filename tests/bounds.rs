//! Every stored note and every response is bounded, so tickets and pages stay
//! readable by standard clients (4 MiB receive limit): agent ids, reasons and
//! resolutions have size limits (INVALID_ARGUMENT naming the field, nothing
//! stored); lists default to the BASIC view (no body, no history); and a
//! list page stops before MAX_PAGE_BYTES, resuming with its page token.

mod common;

use std::collections::HashSet;

use common::{claim, complete, get, ingest, queue_summary, release, ticket, transfer, TestServer};
use prost::Message;
use tonic::transport::Channel;
use tonic::Code;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;
use triage::service::MAX_PAGE_BYTES;
use triage::validate::Limits;

type Client = TriageServiceClient<Channel>;

/// Body size of the large tickets: under the 256 KiB body limit, large
/// enough that a default page of them is over 4 MiB.
const LARGE_BODY_BYTES: usize = 200 * 1024;

fn assert_invalid(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(field),
        "{field} not named: {}",
        status.message()
    );
}

/// Ingests an inbox ticket and claims it for `alice`.
async fn claimed(client: &mut Client, external_id: &str) -> pb::Ticket {
    ingest(client, ticket(external_id, "Hello", "just saying hi")).await;
    claim(client, "inbox", "alice", 600).await.expect("claimed")
}

/// Like [`claimed`], also returning the ticket as GetTicket shows it then.
async fn claimed_and_shown(client: &mut Client, external_id: &str) -> (pb::Ticket, pb::Ticket) {
    let claimed = claimed(client, external_id).await;
    let shown = get(client, &claimed.id).await;
    (claimed, shown)
}

/// Checks that `outcome` is INVALID_ARGUMENT naming `field` and that the
/// ticket is stored as `before` shows it.
async fn assert_refused_and_unchanged<T: std::fmt::Debug>(
    client: &mut Client,
    outcome: Result<T, tonic::Status>,
    field: &str,
    before: &pb::Ticket,
) {
    assert_invalid(&outcome.expect_err("refused"), field);
    assert_eq!(&get(client, &before.id).await, before, "nothing stored");
}

fn claim_request(agent_id: String) -> pb::ClaimNextRequest {
    pb::ClaimNextRequest {
        queue: "inbox".into(),
        agent_id,
        ..Default::default()
    }
}

#[tokio::test]
async fn oversize_agent_id_is_rejected_naming_agent_id_and_nothing_is_claimed() {
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("l-agent", "Hello", "hi")).await;
    let limit = Limits::default().max_agent_id_bytes;
    let refused = server
        .client
        .claim_next(claim_request("a".repeat(limit + 1)))
        .await
        .expect_err("oversize agent id");
    assert_invalid(&refused, "agent_id");
    let summary = queue_summary(&mut server.client, "inbox").await;
    assert_eq!((summary.depth, summary.leased), (1, 0), "nothing claimed");
    let at_limit = server.client.claim_next(claim_request("a".repeat(limit))).await;
    assert!(at_limit.expect("claim").into_inner().ticket.is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn agent_id_with_control_characters_is_rejected_naming_agent_id() {
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("l-ctrl", "Hello", "hi")).await;
    for agent_id in ["alice\nbob", "alice\u{1b}[2J", "alice\0"] {
        let refused = server
            .client
            .claim_next(claim_request(agent_id.into()))
            .await
            .expect_err("control characters");
        assert_invalid(&refused, "agent_id");
    }
    assert_eq!(queue_summary(&mut server.client, "inbox").await.depth, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_release_reason_is_rejected_naming_reason_and_nothing_is_stored() {
    let mut server = TestServer::start().await;
    let (claimed, before) = claimed_and_shown(&mut server.client, "l-release").await;
    let limit = Limits::default().max_reason_bytes;
    let outcome = release(&mut server.client, &claimed, &"r".repeat(limit + 1)).await;
    assert_refused_and_unchanged(&mut server.client, outcome, "reason", &before).await;
    let at_limit = release(&mut server.client, &claimed, &"r".repeat(limit)).await;
    assert!(at_limit.is_ok(), "{at_limit:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_transfer_reason_is_rejected_naming_reason_and_nothing_is_stored() {
    let mut server = TestServer::start().await;
    let (claimed, before) = claimed_and_shown(&mut server.client, "l-transfer").await;
    let reason = "r".repeat(Limits::default().max_reason_bytes + 1);
    let outcome = transfer(&mut server.client, &claimed, "billing", &reason).await;
    assert_refused_and_unchanged(&mut server.client, outcome, "reason", &before).await;
    assert_eq!(queue_summary(&mut server.client, "billing").await.depth, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_resolution_is_rejected_naming_resolution_and_nothing_is_stored() {
    let mut server = TestServer::start().await;
    let (claimed, before) = claimed_and_shown(&mut server.client, "l-complete").await;
    let limit = Limits::default().max_resolution_bytes;
    let outcome = complete(&mut server.client, &claimed, &"x".repeat(limit + 1)).await;
    assert_refused_and_unchanged(&mut server.client, outcome, "resolution", &before).await;
    let done = complete(&mut server.client, &claimed, &"x".repeat(limit)).await;
    assert_eq!(done.expect("complete").resolution.len(), limit);
    server.shutdown().await;
}

#[tokio::test]
async fn configured_note_limits_replace_the_defaults() {
    let mut server = TestServer::start_with(common::TEST_RULES, |config| {
        config.app.limits.max_reason_bytes = 8;
    })
    .await;
    let claimed = claimed(&mut server.client, "l-config").await;
    let refused = release(&mut server.client, &claimed, "nine byte").await;
    assert_invalid(&refused.expect_err("over the configured limit"), "reason");
    server.shutdown().await;
}

/// A ticket for the inbox (no rule matches it) with a large body and
/// customer `cust-large`.
fn large_ticket(n: usize) -> pb::TicketInput {
    let mut input = ticket(&format!("large-{n}"), &format!("Large {n}"), "");
    let line = format!("line {n} of a long message about nothing in particular\n");
    input.body = line.repeat(LARGE_BODY_BYTES / line.len());
    input.customer.as_mut().expect("customer").id = "cust-large".into();
    input
}

/// Ingests `count` large tickets; their ids in ingest (queue) order.
async fn ingest_large(server: &mut TestServer, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        server.clock.advance_seconds(1);
        let stored = ingest(&mut server.client, large_ticket(n)).await;
        ids.push(stored.ticket.expect("ticket").id);
    }
    ids
}

async fn list(client: &mut Client, view: pb::TicketView, page_token: String) -> pb::ListTicketsResponse {
    let request = pb::ListTicketsRequest {
        queue: "inbox".into(),
        page_token,
        view: view.into(),
        ..Default::default()
    };
    client.list_tickets(request).await.expect("list").into_inner()
}

#[tokio::test]
async fn full_pages_of_large_tickets_stay_under_the_byte_cap_and_paging_walks_every_ticket_once() {
    let mut server = TestServer::start().await;
    let ids = ingest_large(&mut server, 24).await;
    let (mut seen, mut pages, mut page_token) = (Vec::new(), 0, String::new());
    loop {
        let page = list(&mut server.client, pb::TicketView::Full, page_token).await;
        pages += 1;
        assert!(!page.tickets.is_empty(), "every page holds a ticket");
        assert!(
            page.encoded_len() <= MAX_PAGE_BYTES,
            "page of {} bytes",
            page.encoded_len()
        );
        for listed in &page.tickets {
            let body = listed.input.as_ref().map_or(0, |input| input.body.len());
            assert!(body > LARGE_BODY_BYTES - 100, "FULL lists the body");
        }
        seen.extend(page.tickets.into_iter().map(|listed| listed.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert!(pages > 2, "the byte cap, not the page size, cut the pages");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "no ticket twice"
    );
    assert_eq!(seen, ids, "every ticket, in queue order");
    server.shutdown().await;
}

#[tokio::test]
async fn default_list_of_large_tickets_fits_one_page_for_a_standard_client() {
    let mut server = TestServer::start().await;
    let ids = ingest_large(&mut server, 24).await;
    let page = list(&mut server.client, pb::TicketView::Unspecified, String::new()).await;
    let listed: Vec<_> = page.tickets.iter().map(|listed| listed.id.clone()).collect();
    assert_eq!(listed, ids);
    assert!(page.next_page_token.is_empty());
    assert!(
        page.encoded_len() < 64 * 1024,
        "BASIC page of {} bytes",
        page.encoded_len()
    );
    server.shutdown().await;
}

/// The body and the history of a listed ticket.
fn bulk(listed: &pb::Ticket) -> (usize, usize) {
    let body = listed.input.as_ref().map_or(0, |input| input.body.len());
    (body, listed.history.len())
}

#[tokio::test]
async fn queue_list_views_basic_omits_body_and_history_full_includes_them() {
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("v-1", "Hello", "a body to omit")).await;
    for view in [pb::TicketView::Unspecified, pb::TicketView::Basic] {
        let page = list(&mut server.client, view, String::new()).await;
        let listed = page.tickets.first().expect("listed");
        assert_eq!(bulk(listed), (0, 0), "{view:?} has no body and no history");
        assert_eq!(
            listed.input.as_ref().map(|input| input.subject.as_str()),
            Some("Hello")
        );
        assert!(listed.classification.is_some());
    }
    let page = list(&mut server.client, pb::TicketView::Full, String::new()).await;
    assert_eq!(
        bulk(page.tickets.first().expect("listed")),
        ("a body to omit".len(), 1)
    );
    server.shutdown().await;
}

async fn customer_list(client: &mut Client, view: pb::TicketView) -> pb::ListCustomerTicketsResponse {
    let request = pb::ListCustomerTicketsRequest {
        customer_id: "cust-large".into(),
        view: view.into(),
        ..Default::default()
    };
    client
        .list_customer_tickets(request)
        .await
        .expect("list")
        .into_inner()
}

#[tokio::test]
async fn customer_list_views_basic_omits_body_and_history_full_includes_them() {
    let mut server = TestServer::start().await;
    ingest_large(&mut server, 1).await;
    let basic = customer_list(&mut server.client, pb::TicketView::Unspecified).await;
    assert_eq!(bulk(basic.tickets.first().expect("listed")), (0, 0));
    let full = customer_list(&mut server.client, pb::TicketView::Full).await;
    let (body, history) = bulk(full.tickets.first().expect("listed"));
    assert!(body > LARGE_BODY_BYTES - 100 && history == 1);
    server.shutdown().await;
}

#[tokio::test]
async fn full_customer_list_of_large_tickets_stays_under_the_byte_cap_newest_first() {
    let mut server = TestServer::start().await;
    let mut ids = ingest_large(&mut server, 12).await;
    ids.reverse();
    let listed = customer_list(&mut server.client, pb::TicketView::Full).await;
    assert!(
        listed.encoded_len() <= MAX_PAGE_BYTES,
        "{} bytes",
        listed.encoded_len()
    );
    let shown: Vec<_> = listed.tickets.into_iter().map(|listed| listed.id).collect();
    assert!(!shown.is_empty() && shown.len() < ids.len());
    assert_eq!(shown, ids[..shown.len()], "the newest ones");
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_view_is_rejected_naming_view() {
    let mut server = TestServer::start().await;
    let request = pb::ListTicketsRequest {
        queue: "inbox".into(),
        view: 7,
        ..Default::default()
    };
    let refused = server
        .client
        .list_tickets(request)
        .await
        .expect_err("unknown view");
    assert_invalid(&refused, "view");
    server.shutdown().await;
}
