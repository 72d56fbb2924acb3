//! CX insights through the real gRPC server: touchpoints (sent, inferred,
//! tested by rules), internal customers and their queues, the friction map
//! (`JourneyReport`), a customer's journey (`GetCustomerJourney`), and
//! service-recovery follow-ups driven by the controllable clock.

mod common;

use common::{claim, complete, ingest, TestServer};
use tonic::Code;
use triage::pb;

const CX_RULES: &str = include_str!("rules/cx.toml");
const DAY: u64 = 86_400;

async fn start() -> TestServer {
    TestServer::start_with(CX_RULES, |config| {
        config.app.internal_domains = vec!["staff.example".to_string()];
    })
    .await
}

/// A ticket from `customer` with `body`, on e-mail, tier pro.
fn ticket(external_id: &str, customer: &str, body: &str) -> pb::TicketInput {
    pb::TicketInput {
        external_id: external_id.into(),
        source: "zendesk".into(),
        channel: pb::Channel::Email.into(),
        subject: String::new(),
        body: body.into(),
        customer: Some(pb::Customer {
            id: customer.into(),
            tier: "pro".into(),
            email: format!("{customer}@example.com"),
            ..Default::default()
        }),
        language: "en".into(),
        ..Default::default()
    }
}

fn classification(answer: &pb::IngestTicketResponse) -> pb::Classification {
    answer
        .ticket
        .as_ref()
        .and_then(|ticket| ticket.classification.clone())
        .expect("classification")
}

fn id_of(answer: &pb::IngestTicketResponse) -> String {
    answer.ticket.as_ref().expect("ticket").id.clone()
}

#[tokio::test]
async fn a_touchpoint_the_integration_sends_is_kept_and_rules_can_test_it() {
    let mut server = start().await;
    let mut input = ticket("t1", "ann", "my card was declined twice");
    input.touchpoint = "checkout".into();
    let answer = ingest(&mut server.client, input).await;
    let decided = classification(&answer);
    assert_eq!(decided.touchpoint, "checkout");
    assert_eq!(
        decided.category, "payment_failed",
        "the rule tested the sent touchpoint"
    );
    let mut parcel = ticket("t2", "bob", "the courier says my parcel is late");
    parcel.touchpoint = "billing".into();
    let answer = ingest(&mut server.client, parcel).await;
    assert_eq!(
        classification(&answer).touchpoint,
        "billing",
        "the integration's touchpoint wins over the rules'"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_touchpoint_is_invalid_argument_naming_the_field() {
    let mut server = start().await;
    let mut input = ticket("t1", "ann", "hello");
    input.touchpoint = "moon-base".into();
    let status = server
        .client
        .ingest_ticket(pb::IngestTicketRequest { ticket: Some(input) })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("ticket.touchpoint"), "{status:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn rules_infer_the_touchpoint_and_the_default_applies_otherwise() {
    let mut server = start().await;
    let basket = ingest(
        &mut server.client,
        ticket("t1", "ann", "my basket was emptied, charged twice"),
    )
    .await;
    assert_eq!(classification(&basket).touchpoint, "checkout");
    let parcel = ingest(&mut server.client, ticket("t2", "bob", "the parcel is missing")).await;
    assert_eq!(classification(&parcel).touchpoint, "delivery");
    let plain = ingest(&mut server.client, ticket("t3", "cy", "hello there")).await;
    assert_eq!(classification(&plain).touchpoint, "support");
    server.shutdown().await;
}

#[tokio::test]
async fn internal_tickets_go_to_their_own_queues_with_their_touchpoint() {
    let mut server = start().await;
    let mut by_channel = ticket("t1", "emp-1", "the vpn is broken again");
    by_channel.channel = pb::Channel::Internal.into();
    let answer = ingest(&mut server.client, by_channel).await;
    let decided = classification(&answer);
    assert_eq!(
        (
            decided.queue.as_str(),
            decided.touchpoint.as_str(),
            decided.category.as_str()
        ),
        ("it-incidents", "internal-tools", "bug"),
        "reactive internal tickets go to the reactive internal queue"
    );
    let kind = answer
        .ticket
        .as_ref()
        .and_then(|t| t.input.as_ref())
        .and_then(|i| i.customer.as_ref());
    assert_eq!(kind.map(|c| c.kind()), Some(pb::CustomerKind::Internal));

    let mut by_domain = ticket("t2", "emp-2", "thanks, great new laptop");
    by_domain.customer.as_mut().expect("customer").email = "emp-2@Staff.Example".into();
    let decided = classification(&ingest(&mut server.client, by_domain).await);
    assert_eq!(
        (decided.queue.as_str(), decided.side()),
        ("it-helpdesk", pb::Side::Proactive),
        "internal by e-mail domain; no proactive internal queue, so the default one"
    );

    let mut sent_kind = ticket("t3", "emp-3", "my payslip is wrong");
    sent_kind.customer.as_mut().expect("customer").kind = pb::CustomerKind::Internal.into();
    let decided = classification(&ingest(&mut server.client, sent_kind).await);
    assert_eq!(
        decided.queue, "hr",
        "a rule testing customer_kind routes internal tickets"
    );

    let external =
        classification(&ingest(&mut server.client, ticket("t4", "ann", "the vpn is broken")).await);
    assert_eq!(
        (external.queue.as_str(), external.touchpoint.as_str()),
        ("inbox", "support")
    );
    server.shutdown().await;
}

async fn report(server: &mut TestServer, request: pb::JourneyReportRequest) -> pb::JourneyReportResponse {
    server
        .client
        .journey_report(request)
        .await
        .expect("report")
        .into_inner()
}

fn cell<'a>(report: &'a pb::JourneyReportResponse, touchpoint: &str, group: &str) -> &'a pb::JourneyCell {
    report
        .cells
        .iter()
        .find(|cell| cell.touchpoint == touchpoint && cell.group == group)
        .unwrap_or_else(|| panic!("no cell {touchpoint} x {group} in {:?}", report.cells))
}

#[tokio::test]
async fn the_friction_map_compares_the_window_with_the_one_before() {
    let mut server = start().await;
    // Previous week: one late parcel. This week: three, and one internal ticket.
    ingest(&mut server.client, ticket("p1", "a", "parcel late, angry")).await;
    server.clock.advance_seconds(7 * DAY);
    for (n, customer) in ["b", "c", "d"].iter().enumerate() {
        let body = "the courier lost my parcel, this is terrible";
        ingest(&mut server.client, ticket(&format!("n{n}"), customer, body)).await;
    }
    ingest(
        &mut server.client,
        ticket("n9", "b", "love the fast checkout, thanks"),
    )
    .await;
    let mut internal = ticket("i1", "emp", "vpn broken");
    internal.channel = pb::Channel::Internal.into();
    ingest(&mut server.client, internal).await;

    let week = report(&mut server, pb::JourneyReportRequest::default()).await;
    let late = cell(&week, "delivery", "delivery");
    assert_eq!((late.contacts, late.previous_contacts, late.change), (3, 1, 2));
    assert_eq!((late.reactive, late.reactive_change), (3, 2));
    assert!(late.sentiment.as_ref().expect("sentiment").mean < 0.0);
    assert_eq!(
        late.sentiment
            .as_ref()
            .expect("sentiment")
            .buckets
            .iter()
            .sum::<u64>(),
        3
    );
    assert_eq!(week.total_contacts, 5);
    assert_eq!(
        week.top_friction.first().map(|c| c.touchpoint.as_str()),
        Some("delivery")
    );
    assert_eq!(
        week.top_delight.first().map(|c| c.touchpoint.as_str()),
        Some("checkout")
    );
    let repeat = cell(&week, "checkout", "praise");
    assert!(
        (repeat.repeat_share - 1.0).abs() < 1e-9,
        "b wrote twice this week"
    );

    let external = pb::JourneyReportRequest {
        customers: pb::CustomerScope::External.into(),
        group_by: pb::JourneyGroupBy::Side.into(),
        ..Default::default()
    };
    let external = report(&mut server, external).await;
    assert_eq!(external.total_contacts, 4, "the internal ticket is left out");
    assert_eq!(cell(&external, "delivery", "reactive").contacts, 3);

    let bad = server
        .client
        .journey_report(pb::JourneyReportRequest {
            window_hours: 100_000,
            ..Default::default()
        })
        .await
        .expect_err("too long");
    assert!(bad.message().contains("window_hours"), "{bad:?}");
    server.shutdown().await;
}

async fn journey(server: &mut TestServer, customer_id: &str) -> pb::GetCustomerJourneyResponse {
    let request = pb::GetCustomerJourneyRequest {
        customer_id: customer_id.into(),
    };
    server
        .client
        .get_customer_journey(request)
        .await
        .expect("journey")
        .into_inner()
}

#[tokio::test]
async fn a_customer_journey_lists_contacts_in_time_order_with_a_summary() {
    let mut server = start().await;
    ingest(&mut server.client, ticket("j1", "ann", "love it, thanks")).await;
    ingest(&mut server.client, ticket("j1b", "ann", "great service, thanks")).await;
    server.clock.advance_seconds(40 * DAY);
    ingest(
        &mut server.client,
        ticket("j2", "ann", "I was charged twice, terrible"),
    )
    .await;
    server.clock.advance_seconds(DAY);
    ingest(
        &mut server.client,
        ticket("j3", "ann", "my parcel is lost, awful"),
    )
    .await;
    ingest(&mut server.client, ticket("other", "bob", "hello")).await;

    let journey = journey(&mut server, "ann").await;
    let categories: Vec<&str> = journey.contacts.iter().map(|c| c.category.as_str()).collect();
    assert_eq!(
        categories,
        vec!["praise", "praise", "billing", "delivery"],
        "oldest first"
    );
    let summary = journey.summary.expect("summary");
    assert_eq!(summary.contacts, 4);
    assert_eq!(
        summary.reactive_last_30_days, 2,
        "the praise is 41 days old and not reactive"
    );
    assert_eq!(summary.sentiment_trend, "worsening");
    assert_eq!(summary.open_contacts, 4);
    assert_eq!(summary.first_contact, journey.contacts.first().and_then(|c| c.at));
    let missing = server
        .client
        .get_customer_journey(pb::GetCustomerJourneyRequest::default())
        .await
        .expect_err("customer_id is required");
    assert!(missing.message().contains("customer_id"), "{missing:?}");
    server.shutdown().await;
}

/// Claims and completes the head of `queue`; the completed ticket.
async fn work(server: &mut TestServer, queue: &str) -> pb::Ticket {
    let claimed = claim(&mut server.client, queue, "agent-1", 300)
        .await
        .expect("a ticket");
    complete(&mut server.client, &claimed, "sorted")
        .await
        .expect("completes")
}

async fn queue_ids(server: &mut TestServer, queue: &str) -> Vec<String> {
    let request = pb::ListTicketsRequest {
        queue: queue.into(),
        ..Default::default()
    };
    let answer = server
        .client
        .list_tickets(request)
        .await
        .expect("list")
        .into_inner();
    answer.tickets.into_iter().map(|ticket| ticket.id).collect()
}

#[tokio::test]
async fn a_completed_billing_ticket_gets_one_follow_up_when_due_linked_both_ways() {
    let mut server = start().await;
    let original = id_of(
        &ingest(
            &mut server.client,
            ticket("b1", "ann", "charged twice on my invoice"),
        )
        .await,
    );
    let done = work(&mut server, "billing").await;
    let scheduled = done.follow_up.expect("scheduled in the completion");
    assert_eq!(scheduled.state(), pb::follow_up::State::Scheduled);
    assert_eq!(scheduled.recovery_id, "billing-check-in");

    server.clock.advance_seconds(DAY);
    server.app.run_maintenance().await.expect("maintenance");
    assert!(
        queue_ids(&mut server, "cx-recovery").await.is_empty(),
        "not due yet"
    );

    server.clock.advance_seconds(DAY + 1);
    server.app.run_maintenance().await.expect("maintenance");
    server
        .app
        .run_maintenance()
        .await
        .expect("a second run creates nothing more");
    let follow_ups = queue_ids(&mut server, "cx-recovery").await;
    assert_eq!(follow_ups.len(), 1, "exactly one follow-up");
    let follow_up = common::get(&mut server.client, &follow_ups[0]).await;
    assert_eq!(follow_up.follow_up_of, original);
    let decided = follow_up.classification.as_ref().expect("classification");
    assert_eq!(
        (decided.side(), decided.queue.as_str()),
        (pb::Side::Proactive, "cx-recovery")
    );
    assert!(follow_up
        .history
        .iter()
        .any(|entry| entry.detail.contains(&original)));

    let original_now = common::get(&mut server.client, &original).await;
    let link = original_now.follow_up.expect("link");
    assert_eq!(
        (link.state(), link.ticket_id.as_str()),
        (pb::follow_up::State::Created, follow_ups[0].as_str())
    );
    let actions: Vec<&str> = original_now
        .history
        .iter()
        .map(|entry| entry.action.as_str())
        .collect();
    assert!(
        actions.contains(&"follow_up_scheduled") && actions.contains(&"follow_up_created"),
        "{actions:?}"
    );

    let journey = journey(&mut server, "ann").await;
    assert_eq!(journey.contacts.len(), 2, "the follow-up shows in the journey");
    let summary = journey.summary.expect("summary");
    assert_eq!(
        (summary.contacts, summary.open_follow_ups),
        (1, 1),
        "a follow-up is no contact"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn no_follow_up_when_the_customer_wrote_again_in_between() {
    let mut server = start().await;
    let original = id_of(&ingest(&mut server.client, ticket("b1", "ann", "wrong invoice amount")).await);
    work(&mut server, "billing").await;
    server.clock.advance_seconds(DAY);
    ingest(&mut server.client, ticket("b2", "ann", "hello again")).await;
    server.clock.advance_seconds(2 * DAY);
    server.app.run_maintenance().await.expect("maintenance");
    assert!(queue_ids(&mut server, "cx-recovery").await.is_empty());
    let link = common::get(&mut server.client, &original)
        .await
        .follow_up
        .expect("link");
    assert_eq!(link.state(), pb::follow_up::State::Skipped);
    assert!(link.skip_reason.contains("contacted"), "{link:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_block_that_does_not_skip_follows_up_even_after_a_new_contact() {
    let mut server = start().await;
    ingest(
        &mut server.client,
        ticket("d1", "ann", "my parcel is lost, this is awful"),
    )
    .await;
    let done = work(&mut server, "orders").await;
    assert_eq!(done.follow_up.expect("scheduled").recovery_id, "angry-delivery");
    ingest(&mut server.client, ticket("d2", "ann", "hello again")).await;
    server.clock.advance_seconds(DAY + 1);
    server.app.run_maintenance().await.expect("maintenance");
    assert_eq!(queue_ids(&mut server, "cx-recovery").await.len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn only_matching_completions_schedule_a_follow_up() {
    let mut server = start().await;
    // Delivery, but calm: the angry-delivery block needs sentiment below -0.2.
    ingest(&mut server.client, ticket("d1", "ann", "the parcel is late")).await;
    let calm = work(&mut server, "orders").await;
    assert!(calm.follow_up.is_none(), "{calm:?}");
    // A billing ticket the agent corrects to proactive is not followed up.
    ingest(
        &mut server.client,
        ticket("b1", "bob", "a question about my invoice"),
    )
    .await;
    let claimed = claim(&mut server.client, "billing", "agent-1", 300)
        .await
        .expect("ticket");
    let request = pb::CompleteTicketRequest {
        ticket_id: claimed.id.clone(),
        lease_token: common::token(&claimed),
        resolution: "answered".into(),
        corrected_side: pb::Side::Proactive.into(),
        ..Default::default()
    };
    let done = server
        .client
        .complete_ticket(request)
        .await
        .expect("completes")
        .into_inner();
    assert!(done.ticket.expect("ticket").follow_up.is_none());
    server.shutdown().await;
}
