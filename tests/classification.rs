//! Classification through the real gRPC API with the test rule set.

mod common;

use common::{ingest, queue_summary, ticket, TestServer};
use triage::pb;

async fn classify(server: &mut TestServer, input: pb::TicketInput) -> pb::Classification {
    server
        .client
        .classify_ticket(pb::ClassifyTicketRequest { ticket: Some(input) })
        .await
        .expect("classify")
        .into_inner()
        .classification
        .expect("classification")
}

#[tokio::test]
async fn outage_is_reactive_urgent_in_incidents() {
    let mut server = TestServer::start().await;
    let result = classify(
        &mut server,
        ticket("c-1", "Checkout is down", "Customers cannot pay"),
    )
    .await;
    assert_eq!(result.side(), pb::Side::Reactive);
    assert_eq!(result.category, "outage");
    assert_eq!(result.queue, "incidents");
    assert_eq!(result.priority(), pb::Priority::Urgent);
    assert_eq!(result.rules_version, "test-1");
    assert_eq!(
        result.first_response_seconds,
        30 * 60,
        "the queue's deadline applies"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn feature_request_is_proactive() {
    let mut server = TestServer::start().await;
    let result = classify(
        &mut server,
        ticket("c-2", "Dark mode", "It would be great to have a dark mode"),
    )
    .await;
    assert_eq!(result.side(), pb::Side::Proactive);
    assert_eq!(result.category, "feature_request");
    assert_eq!(result.queue, "cx");
    assert_eq!(result.tags, vec!["idea".to_string()]);
    server.shutdown().await;
}

#[tokio::test]
async fn unmatched_ticket_is_unclassified_in_the_default_queue() {
    let mut server = TestServer::start().await;
    let result = classify(&mut server, ticket("c-3", "Hello", "Just saying hi")).await;
    assert_eq!(result.side(), pb::Side::Unclassified);
    assert_eq!(result.category, "");
    assert_eq!(result.queue, "inbox");
    assert_eq!(result.priority(), pb::Priority::Normal);
    assert!(result.rule_ids.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn classify_is_a_dry_run_that_stores_nothing() {
    let mut server = TestServer::start().await;
    classify(&mut server, ticket("c-4", "Site is down", "x")).await;
    assert_eq!(queue_summary(&mut server.client, "incidents").await.depth, 0);
    assert!(
        ingest(&mut server.client, ticket("c-4", "Site is down", "x"))
            .await
            .created
    );
    server.shutdown().await;
}

#[tokio::test]
async fn later_rules_fire_after_earlier_ones_and_may_override() {
    let mut server = TestServer::start().await;
    let mut input = ticket("c-5", "Invoice wrong", "I was charged twice");
    input.customer.as_mut().expect("customer").tier = "enterprise".into();
    let result = classify(&mut server, input).await;
    assert_eq!(
        result.rule_ids,
        vec!["billing".to_string(), "vip-bump".to_string()]
    );
    assert_eq!(result.category, "billing");
    assert_eq!(result.tags, vec!["vip".to_string()]);
    server.shutdown().await;
}

#[tokio::test]
async fn stop_ends_evaluation_when_the_rule_fires() {
    let mut server = TestServer::start().await;
    let mut input = ticket("c-6", "Outage", "Everything is down and I was charged");
    input.customer.as_mut().expect("customer").tier = "enterprise".into();
    let result = classify(&mut server, input).await;
    assert_eq!(
        result.rule_ids,
        vec!["outage".to_string()],
        "billing and vip-bump never ran"
    );
    assert_eq!(result.priority(), pb::Priority::Urgent);
    assert!(!result.tags.contains(&"vip".to_string()));
    server.shutdown().await;
}

#[tokio::test]
async fn nested_all_inside_any_needs_every_part() {
    let mut server = TestServer::start().await;
    let mut web = ticket("c-7", "An idea for you", "Some thoughts");
    web.channel = pb::Channel::Web.into();
    assert_eq!(classify(&mut server, web).await.category, "feature_request");

    let email = ticket("c-8", "An idea for you", "Some thoughts");
    assert_eq!(
        classify(&mut server, email).await.category,
        "",
        "channel part of the all failed"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn not_condition_excludes_matching_tickets() {
    let mut server = TestServer::start().await;
    let thanks = ticket("c-9", "Thanks for the refund", "The refund arrived");
    assert_ne!(classify(&mut server, thanks).await.category, "billing");
    let refund = ticket("c-10", "Where is my refund", "The refund has not arrived");
    assert_eq!(classify(&mut server, refund).await.category, "billing");
    server.shutdown().await;
}

#[tokio::test]
async fn keywords_match_whole_words_case_insensitively() {
    let mut server = TestServer::start().await;
    let shouting = ticket("c-11", "OUTAGE!!!", "HELP");
    assert_eq!(classify(&mut server, shouting).await.category, "outage");
    let inside_word = ticket("c-12", "Outages report", "Monthly outages summary");
    assert_ne!(classify(&mut server, inside_word).await.category, "outage");
    server.shutdown().await;
}

#[tokio::test]
async fn third_reactive_contact_in_fourteen_days_is_flagged_as_churn_risk() {
    let mut server = TestServer::start().await;
    let from_same_customer = |n: u32| {
        let mut input = ticket(&format!("h-{n}"), "Invoice wrong", "charged twice");
        input.customer.as_mut().expect("customer").id = "cust-repeat".into();
        input
    };
    let first = ingest(&mut server.client, from_same_customer(1)).await;
    server.clock.advance_seconds(86_400);
    let second = ingest(&mut server.client, from_same_customer(2)).await;
    server.clock.advance_seconds(86_400);
    let third = ingest(&mut server.client, from_same_customer(3)).await;
    let tags = |response: &pb::IngestTicketResponse| {
        response
            .ticket
            .as_ref()
            .and_then(|t| t.classification.as_ref())
            .map(|c| c.tags.clone())
            .unwrap_or_default()
    };
    assert!(!tags(&first).contains(&"churn-risk".to_string()));
    assert!(
        !tags(&second).contains(&"churn-risk".to_string()),
        "second contact is not yet a pattern"
    );
    assert!(
        tags(&third).contains(&"churn-risk".to_string()),
        "third contact raises the signal"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn contacts_older_than_the_window_do_not_count() {
    let mut server = TestServer::start().await;
    for n in 0..2 {
        let mut input = ticket(&format!("old-{n}"), "Invoice wrong", "charged twice");
        input.customer.as_mut().expect("customer").id = "cust-old".into();
        ingest(&mut server.client, input).await;
    }
    server.clock.advance_seconds(15 * 86_400);
    let mut input = ticket("old-3", "Invoice wrong", "charged twice");
    input.customer.as_mut().expect("customer").id = "cust-old".into();
    let response = ingest(&mut server.client, input).await;
    let tags = response
        .ticket
        .and_then(|t| t.classification)
        .map(|c| c.tags)
        .unwrap_or_default();
    assert!(!tags.contains(&"churn-risk".to_string()));
    server.shutdown().await;
}

#[tokio::test]
async fn customer_tickets_are_listed_newest_first() {
    let mut server = TestServer::start().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut input = ticket(&format!("ct-{n}"), "Hello", "hi");
        input.customer.as_mut().expect("customer").id = "cust-list".into();
        server.clock.advance_seconds(5);
        ids.push(ingest(&mut server.client, input).await.ticket.expect("ticket").id);
    }
    ids.reverse();
    let listed = server
        .client
        .list_customer_tickets(pb::ListCustomerTicketsRequest {
            customer_id: "cust-list".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .tickets;
    assert_eq!(listed.into_iter().map(|t| t.id).collect::<Vec<_>>(), ids);
    server.shutdown().await;
}

/// A rule set with a sentiment rule, a weighted lexicon and a quoted-thread rule.
const EVIDENCE_RULES: &str = r#"
version = "evidence-1"
default_queue = "triage"

[[queue]]
name = "triage"

[lexicon.problem]
"not working" = 2.0
crash = 1.5
problem = 1.0

[[rule]]
id = "angry"
when = { sentiment = { below = -0.4 } }
then = { side = "reactive", category = "complaint", add_tags = ["angry"] }

[[rule]]
id = "delighted"
when = { sentiment = { above = 0.5 } }
then = { side = "proactive", category = "praise" }

[[rule]]
id = "problem-evidence"
when = { score = "problem", at_least = 2 }
then = { side = "reactive", add_tags = ["problem-evidence"] }

[[rule]]
id = "quoted-refund"
when = { field = "quoted", any_of = ["refund"] }
then = { add_tags = ["thread-mentions-refund"] }
"#;

#[tokio::test]
async fn classify_answer_carries_sentiment_and_the_words_behind_it() {
    let mut server = TestServer::start_with(EVIDENCE_RULES, |_| {}).await;
    let result = classify(&mut server, ticket("c-s1", "", "Horrible customer service!")).await;
    assert_eq!(result.side(), pb::Side::Reactive);
    assert_eq!(result.rule_ids, vec!["angry".to_string()]);
    let sentiment = result.sentiment.expect("sentiment in the answer");
    assert!(sentiment.compound < -0.4, "{sentiment:?}");
    let horrible = sentiment
        .terms
        .iter()
        .find(|term| term.term == "horrible")
        .expect("the explanation names the word");
    assert!(horrible.weight < 0.0);
    server.shutdown().await;
}

#[tokio::test]
async fn ingest_answer_carries_sentiment_and_lexicon_evidence_with_negation() {
    let mut server = TestServer::start_with(EVIDENCE_RULES, |_| {}).await;
    let response = server
        .client
        .ingest_ticket(pb::IngestTicketRequest {
            ticket: Some(ticket(
                "c-s2",
                "",
                "The export is not working and the app may crash. No problem with the rest.",
            )),
        })
        .await
        .expect("ingest")
        .into_inner();
    let classification = response
        .ticket
        .expect("ticket")
        .classification
        .expect("classification");
    assert!(classification.rule_ids.contains(&"problem-evidence".to_string()));
    let score = classification
        .scores
        .iter()
        .find(|s| s.lexicon == "problem")
        .expect("score");
    assert!(
        (score.score - 3.0).abs() < 1e-4,
        "2.0 + 1.5 - 0.5 (negated 'problem'): {score:?}"
    );
    let negated = classification
        .evidence
        .iter()
        .find(|e| e.term == "problem")
        .expect("negated term is evidence too");
    assert!(negated.negated && negated.weight < 0.0);
    assert_eq!(negated.part(), pb::TextPart::Body);
    assert!(classification.sentiment.is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn quoted_thread_is_read_only_by_rules_that_ask_for_it() {
    let mut server = TestServer::start_with(EVIDENCE_RULES, |_| {}).await;
    let body = "Thank you, it is all lovely and working now!\n\n\
                On Tue, 3 Mar 2026 at 10:14, Acme Support <support@example.com> wrote:\n\
                > Your refund is on its way. Sorry for the horrible crash, the app was not working.\n";
    let result = classify(&mut server, ticket("c-s3", "Re: Your request", body)).await;
    assert_eq!(result.side(), pb::Side::Proactive, "{result:?}");
    assert!(result.tags.contains(&"thread-mentions-refund".to_string()));
    assert!(
        result.scores.iter().all(|s| s.lexicon != "problem"),
        "quoted words are no evidence"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn typographic_apostrophes_and_hard_wraps_match_plain_rules() {
    let mut server = TestServer::start_with(EVIDENCE_RULES, |_| {}).await;
    let result = classify(
        &mut server,
        ticket("c-s4", "", "The sync is not\nworking, it doesn’t crash though"),
    )
    .await;
    let found = |term: &str| result.evidence.iter().find(|e| e.term == term).cloned();
    let wrapped = found("not working").expect("a phrase matches across a line wrap");
    assert!(!wrapped.negated && (wrapped.weight - 2.0).abs() < 1e-4);
    let crash = found("crash").expect("crash is evidence");
    assert!(crash.negated, "doesn’t (curly apostrophe) negates");
    let score = result
        .scores
        .iter()
        .find(|s| s.lexicon == "problem")
        .expect("score");
    assert!((score.score - 1.25).abs() < 1e-4, "2.0 - 0.5 * 1.5: {score:?}");
    server.shutdown().await;
}
