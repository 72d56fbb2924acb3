//! The store contract: every `TicketStore` verb behaves the same on each
//! backend. Each test runs on the sled store and on the PostgreSQL store
//! (in a schema of its own); the PostgreSQL run is skipped, saying so, when
//! no server is reachable outside CI, and fails in CI. Where it matters,
//! a second PostgreSQL store on the same schema stands for a second replica.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::pg::PgSchema;
use tempfile::TempDir;
use triage::clock::UnixMicros;
use triage::store::{
    ClaimRequest, EscalationPolicies, EscalationPolicy, PgOptions, PgStore, StoreLocation, StoreOptions,
    TicketStore,
};
use triage::ticket::{Classification, Customer, Priority, Relabel, Side, TicketInput, TicketState};

const NOW: UnixMicros = UnixMicros(1_767_225_600_000_000);

/// A store under test and what keeps its data alive.
struct Subject {
    name: &'static str,
    store: Arc<dyn TicketStore>,
    /// For PostgreSQL: where a second replica connects.
    url: Option<String>,
    _dir: Option<TempDir>,
    _schema: Option<PgSchema>,
}

impl Subject {
    /// Another store on the same database (a second replica); the same
    /// store for sled, which one process owns.
    async fn replica(&self) -> Arc<dyn TicketStore> {
        match &self.url {
            Some(url) => open_pg(url).await,
            None => Arc::clone(&self.store),
        }
    }
}

async fn open_pg(url: &str) -> Arc<dyn TicketStore> {
    let Ok(StoreLocation::Postgres(url)) = url.parse::<StoreLocation>() else {
        panic!("a PostgreSQL URL");
    };
    Arc::new(
        PgStore::open(&url, PgOptions::default())
            .await
            .expect("PostgreSQL store opens"),
    )
}

/// The sled store, and the PostgreSQL store when a server is reachable.
async fn subjects() -> Vec<Subject> {
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = triage::store::Store::open(dir.path(), StoreOptions::default()).expect("sled opens");
    let mut subjects = vec![Subject {
        name: "sled",
        store: Arc::new(sled),
        url: None,
        _dir: Some(dir),
        _schema: None,
    }];
    if let Some(schema) = PgSchema::create().await {
        let url = schema.url();
        subjects.push(Subject {
            name: "postgres",
            store: open_pg(&url).await,
            url: Some(url),
            _dir: None,
            _schema: Some(schema),
        });
    }
    subjects
}

fn input(external_id: &str, customer: &str) -> TicketInput {
    TicketInput {
        external_id: external_id.into(),
        source: "zendesk".into(),
        body: format!("body of {external_id}"),
        customer: Customer {
            id: customer.into(),
            ..Customer::default()
        },
        ..TicketInput::default()
    }
}

fn classification(queue: &str, priority: Priority, first_response_seconds: Option<u32>) -> Classification {
    Classification {
        queue: queue.into(),
        priority,
        side: Side::Reactive,
        category: "outage".into(),
        first_response_seconds,
        ..Classification::default()
    }
}

fn claim(queue: &str, agent: &str, request_id: Option<&str>) -> ClaimRequest {
    ClaimRequest {
        queue: queue.into(),
        agent_id: agent.into(),
        lease_seconds: 60,
        request_id: request_id.map(str::to_string),
    }
}

async fn ingest(store: &dyn TicketStore, external_id: &str, priority: Priority) -> triage::ticket::TicketId {
    store
        .ingest(
            input(external_id, "c1"),
            classification("inbox", priority, Some(600)),
            NOW,
        )
        .await
        .expect("ingest")
        .ticket
        .id
}

/// (waiting, leased) in the inbox at `now`.
async fn inbox_counts(store: &dyn TicketStore, now: UnixMicros) -> (u64, u64) {
    let stats = store.queues_stats(&["inbox".into()], now).await.expect("stats");
    (stats[0].depth, stats[0].leased)
}

#[tokio::test]
async fn ingest_is_idempotent_by_source_and_external_id_even_when_concurrent() {
    for subject in subjects().await {
        let replica = subject.replica().await;
        let tries: Vec<_> = (0..8)
            .map(|n| {
                let store = if n % 2 == 0 {
                    Arc::clone(&subject.store)
                } else {
                    Arc::clone(&replica)
                };
                tokio::spawn(async move {
                    store
                        .ingest(
                            input("same", "c1"),
                            classification("inbox", Priority::Normal, None),
                            NOW,
                        )
                        .await
                        .expect("ingest")
                })
            })
            .collect();
        let mut ids = HashSet::new();
        let mut created = 0;
        for outcome in tries {
            let ingested = outcome.await.expect("task");
            ids.insert(ingested.ticket.id);
            created += usize::from(ingested.created);
        }
        assert_eq!(
            (ids.len(), created),
            (1, 1),
            "{}: one ticket, created once",
            subject.name
        );
        let stats = subject
            .store
            .queues_stats(&["inbox".into()], NOW)
            .await
            .expect("stats");
        assert_eq!(stats[0].depth, 1, "{}", subject.name);
        assert_eq!(
            subject.store.verify().await.expect("verify").problems,
            Vec::<String>::new()
        );
    }
}

#[tokio::test]
async fn claims_follow_priority_then_sequence() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let first_normal = ingest(store, "a", Priority::Normal).await;
        let second_normal = ingest(store, "b", Priority::Normal).await;
        let urgent = ingest(store, "c", Priority::Urgent).await;
        let low = ingest(store, "d", Priority::Low).await;
        let mut order = Vec::new();
        while let Some(claimed) = store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim")
        {
            assert!(matches!(claimed.ticket.state, TicketState::Claimed(_)));
            order.push(claimed.ticket.id);
        }
        assert_eq!(
            order,
            [urgent, first_normal, second_normal, low],
            "{}",
            subject.name
        );
    }
}

#[tokio::test]
async fn concurrent_claims_on_two_replicas_each_get_a_different_ticket() {
    for subject in subjects().await {
        let replica = subject.replica().await;
        for n in 0..40 {
            ingest(subject.store.as_ref(), &format!("t{n}"), Priority::Normal).await;
        }
        let claimers: Vec<_> = (0..10)
            .map(|agent| {
                let store = if agent % 2 == 0 {
                    Arc::clone(&subject.store)
                } else {
                    Arc::clone(&replica)
                };
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    let request = claim("inbox", &format!("agent-{agent}"), None);
                    while let Some(claimed) = store.claim_next(&request, NOW).await.expect("claim") {
                        mine.push(claimed.ticket.id);
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for claimer in claimers {
            all.extend(claimer.await.expect("task"));
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(
            (all.len(), distinct.len()),
            (40, 40),
            "{}: each ticket once",
            subject.name
        );
        assert_eq!(
            inbox_counts(subject.store.as_ref(), NOW).await,
            (0, 40),
            "{}",
            subject.name
        );
    }
}

#[tokio::test]
async fn a_claim_retried_with_its_request_id_through_another_replica_gets_the_same_lease() {
    for subject in subjects().await {
        let replica = subject.replica().await;
        ingest(subject.store.as_ref(), "a", Priority::Normal).await;
        ingest(subject.store.as_ref(), "b", Priority::Normal).await;
        let request = claim("inbox", "ann", Some("req-1"));
        let first = subject
            .store
            .claim_next(&request, NOW)
            .await
            .expect("claim")
            .expect("ticket");
        let retry = replica
            .claim_next(&request, NOW)
            .await
            .expect("retry")
            .expect("ticket");
        assert_eq!(retry.ticket.id, first.ticket.id, "{}", subject.name);
        assert_eq!(retry.ticket.lease(), first.ticket.lease(), "{}", subject.name);
        assert!(
            retry.events.is_empty(),
            "{}: a retry changes nothing",
            subject.name
        );
        assert_eq!(
            inbox_counts(subject.store.as_ref(), NOW).await,
            (1, 1),
            "{}",
            subject.name
        );
    }
}

#[tokio::test]
async fn finishing_verbs_repeat_safely_and_stale_tokens_are_refused() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let id = ingest(store, "a", Priority::Normal).await;
        let claimed = store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim")
            .expect("ticket");
        let token = claimed.ticket.lease().expect("lease").token.clone();
        let relabel = Relabel {
            side: Some(Side::Proactive),
            category: None,
        };
        let done = store
            .complete(id, &token, "fixed", &relabel, None, NOW)
            .await
            .expect("complete");
        assert_eq!(done.ticket.state, TicketState::Completed);
        assert_eq!(done.ticket.final_side(), Side::Proactive);
        let again = store
            .complete(id, &token, "fixed", &relabel, None, NOW)
            .await
            .expect("repeat");
        assert_eq!(again.ticket.state, TicketState::Completed, "{}", subject.name);
        assert!(again.events.is_empty(), "{}", subject.name);
        let stale = store
            .release(id, "0123456789abcdef0123456789abcdef", "no", NOW)
            .await;
        assert!(
            stale.is_err(),
            "{}: a token never issued is refused",
            subject.name
        );
        let history = store.customer_history("c1", 10).await.expect("history");
        assert_eq!(history.tickets.len(), 1);
        assert_eq!(
            (history.tickets[0].side, history.tickets[0].open),
            (Side::Proactive, false)
        );
        let ticket = store.get(id).await.expect("get");
        let actions: Vec<_> = ticket.history.iter().map(|entry| entry.action.as_str()).collect();
        assert_eq!(
            actions,
            ["ingested", "claimed", "corrected", "completed"],
            "{}",
            subject.name
        );
    }
}

#[tokio::test]
async fn release_and_transfer_move_the_ticket_and_the_counts() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let id = ingest(store, "a", Priority::Normal).await;
        let lease =
            |transition: &triage::store::Transition| transition.ticket.lease().expect("lease").token.clone();
        let claimed = store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim")
            .expect("ticket");
        let released = store
            .release(id, &lease(&claimed), "later", NOW)
            .await
            .expect("release");
        assert_eq!(released.ticket.state, TicketState::Queued);
        let claimed = store
            .claim_next(&claim("inbox", "bob", None), NOW)
            .await
            .expect("claim")
            .expect("ticket");
        assert_eq!(claimed.ticket.claim_count, 2);
        let moved = store
            .transfer(
                id,
                &lease(&claimed),
                "billing",
                "wrong queue",
                &Relabel::default(),
                NOW,
            )
            .await
            .expect("transfer");
        assert_eq!(moved.ticket.classification.queue, "billing");
        let queues = ["inbox".to_string(), "billing".to_string()];
        let stats = store.queues_stats(&queues, NOW).await.expect("stats");
        assert_eq!(
            (stats[0].depth, stats[0].leased, stats[1].depth),
            (0, 0, 1),
            "{}",
            subject.name
        );
        let (page, _) = store.list_queue("billing", 10, None).await.expect("list");
        assert_eq!(page.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
        assert!(
            store.verify().await.expect("verify").is_consistent(),
            "{}",
            subject.name
        );
    }
}

#[tokio::test]
async fn an_expired_lease_returns_once_with_sweeps_on_two_replicas_at_once() {
    for subject in subjects().await {
        let replica = subject.replica().await;
        for n in 0..30 {
            ingest(subject.store.as_ref(), &format!("t{n}"), Priority::Normal).await;
            subject
                .store
                .claim_next(&claim("inbox", "ann", None), NOW)
                .await
                .expect("claim");
        }
        let later = NOW.plus_seconds(61);
        let (mine, theirs) = tokio::join!(subject.store.expire_leases(later), replica.expire_leases(later));
        let expired = mine.expect("sweep").len() + theirs.expect("sweep").len();
        assert_eq!(expired, 30, "{}: each lease expired once", subject.name);
        assert_eq!(
            inbox_counts(subject.store.as_ref(), later).await,
            (30, 0),
            "{}",
            subject.name
        );
        assert!(subject.store.verify().await.expect("verify").is_consistent());
    }
}

#[tokio::test]
async fn a_breach_escalates_once_with_sweeps_on_two_replicas_at_once() {
    for subject in subjects().await {
        let replica = subject.replica().await;
        for n in 0..20 {
            ingest(subject.store.as_ref(), &format!("t{n}"), Priority::Normal).await;
        }
        let mut policies = EscalationPolicies::new();
        policies.insert(
            "inbox".into(),
            EscalationPolicy {
                move_to: Some("urgent".into()),
                priority: Some(Priority::Urgent),
            },
        );
        let later = NOW.plus_seconds(601);
        let (mine, theirs) = tokio::join!(
            subject.store.escalate_breaches(later, &policies),
            replica.escalate_breaches(later, &policies)
        );
        let escalated = mine.expect("sweep").len() + theirs.expect("sweep").len();
        assert_eq!(escalated, 20, "{}: each escalated once", subject.name);
        let again = subject
            .store
            .escalate_breaches(later.plus_seconds(60), &policies)
            .await
            .expect("sweep");
        assert!(again.is_empty(), "{}", subject.name);
        let (page, _) = subject.store.list_queue("urgent", 100, None).await.expect("list");
        assert_eq!(page.len(), 20);
        assert!(page
            .iter()
            .all(|t| t.escalated && t.classification.priority == Priority::Urgent));
    }
}

#[tokio::test]
async fn queue_statistics_count_waiting_leased_at_risk_and_breached() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        for (n, seconds) in [(0, 100), (1, 100), (2, 10_000)] {
            store
                .ingest(
                    input(&format!("t{n}"), "c1"),
                    classification("inbox", Priority::Normal, Some(seconds)),
                    NOW,
                )
                .await
                .expect("ingest");
        }
        store
            .ingest(
                input("later", "c1"),
                classification("inbox", Priority::Normal, None),
                NOW.plus_seconds(5),
            )
            .await
            .expect("ingest");
        store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim");
        // t1 breached (due +100), t2 not yet at risk, "later" has no deadline.
        let stats = store
            .queues_stats(&["inbox".into()], NOW.plus_seconds(101))
            .await
            .expect("stats");
        let stats = &stats[0];
        assert_eq!(
            (stats.depth, stats.leased, stats.breached, stats.at_risk),
            (3, 1, 1, 0),
            "{}",
            subject.name
        );
        assert_eq!(stats.oldest_enqueued_at, Some(NOW));
        let at_risk = store
            .queues_stats(&["inbox".into()], NOW.plus_seconds(80))
            .await
            .expect("stats");
        assert_eq!(
            (at_risk[0].breached, at_risk[0].at_risk),
            (0, 1),
            "{}",
            subject.name
        );
    }
}

#[tokio::test]
async fn listings_and_customer_pages_resume_at_their_cursor() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let mut ids = Vec::new();
        for n in 0..5 {
            let at = NOW.plus_seconds(n);
            let ticket = store
                .ingest(
                    input(&format!("t{n}"), "cust"),
                    classification("inbox", Priority::Normal, None),
                    at,
                )
                .await
                .expect("ingest")
                .ticket;
            ids.push(ticket.id);
        }
        let (first, next) = store.list_queue("inbox", 2, None).await.expect("list");
        let (second, _) = store.list_queue("inbox", 10, next).await.expect("list");
        let listed: Vec<_> = first.iter().chain(&second).map(|t| t.id).collect();
        assert_eq!(listed, ids, "{}", subject.name);
        let (newest, next) = store.customer_tickets("cust", 3, None).await.expect("page");
        let (older, end) = store.customer_tickets("cust", 3, next).await.expect("page");
        let pages: Vec<_> = newest.iter().chain(&older).map(|t| t.id).collect();
        assert_eq!(
            pages,
            ids.iter().rev().copied().collect::<Vec<_>>(),
            "{}",
            subject.name
        );
        assert_eq!(end, None);
        assert_eq!(
            store
                .customer_history("cust", 2)
                .await
                .expect("history")
                .tickets
                .len(),
            2
        );
        assert!(store
            .customer_tickets("", 5, None)
            .await
            .expect("page")
            .0
            .is_empty());
    }
}

#[tokio::test]
async fn purge_deletes_only_tickets_completed_before_the_cutoff() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let old = ingest(store, "old", Priority::Normal).await;
        let kept = ingest(store, "kept", Priority::Normal).await;
        let claimed = store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim")
            .expect("ticket");
        let token = claimed.ticket.lease().expect("lease").token.clone();
        store
            .complete(old, &token, "done", &Relabel::default(), None, NOW)
            .await
            .expect("complete");
        assert_eq!(
            store.purge_completed(NOW).await.expect("purge"),
            0,
            "{}",
            subject.name
        );
        assert_eq!(
            store.purge_completed(NOW.plus_seconds(1)).await.expect("purge"),
            1
        );
        assert!(store.get(old).await.is_err(), "{}", subject.name);
        assert!(store.get(kept).await.is_ok());
        let scanned: Vec<_> = {
            let store = Arc::clone(&subject.store);
            tokio::task::spawn_blocking(move || store.scan_tickets().map(|t| t.expect("read").id).collect())
                .await
                .expect("scan")
        };
        assert_eq!(scanned, [kept], "{}", subject.name);
        let again = ingest(store, "old", Priority::Normal).await;
        assert_ne!(again, old, "{}: a purged external id is new again", subject.name);
    }
}

#[tokio::test]
async fn extensions_update_one_history_entry_and_move_the_expiry() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let id = ingest(store, "a", Priority::Normal).await;
        let claimed = store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim")
            .expect("ticket");
        let token = claimed.ticket.lease().expect("lease").token.clone();
        for step in 1..=5 {
            store
                .extend_lease(id, &token, 60, NOW.plus_seconds(step * 50))
                .await
                .expect("extend");
        }
        let ticket = store.get(id).await.expect("get");
        assert_eq!(
            ticket.history.len(),
            3,
            "{}: ingested, claimed, one extension",
            subject.name
        );
        let expiry = ticket.lease().expect("lease").expires_at;
        assert_eq!(expiry, NOW.plus_seconds(310), "{}", subject.name);
        assert!(store
            .expire_leases(NOW.plus_seconds(300))
            .await
            .expect("sweep")
            .is_empty());
        assert_eq!(
            store
                .expire_leases(NOW.plus_seconds(310))
                .await
                .expect("sweep")
                .len(),
            1
        );
    }
}

/// A TCP relay to the database that the test can cut and restore, as a
/// network failure or a database restart would, without touching the
/// server other tests use.
struct Relay {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn start(target: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let (cut, watching) = tokio::sync::watch::channel(false);
        let target = target.to_string();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if *watching.borrow() {
                    continue; // refused: dropped at once
                }
                let mut cut = watching.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Relay { port, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

/// Polls `check` every 20 ms until it holds; panics after ten seconds.
async fn within_ten_seconds(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "not within 10 s: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_lost_database_connection_fails_requests_turns_health_and_reconnects() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let relay = Relay::start(&common::pg::admin_address()).await;
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/test?options=-c%20search_path%3D{}",
        relay.port,
        schema.name()
    );
    let store = open_pg(&url).await;
    let kept = ingest(store.as_ref(), "before", Priority::Normal).await;
    assert_eq!(store.health(), Ok(()));
    relay.set_cut(true);
    let failed = store
        .ingest(
            input("during", "c1"),
            classification("inbox", Priority::Normal, None),
            NOW,
        )
        .await;
    assert!(
        matches!(failed, Err(triage::store::StoreError::Storage(_))),
        "{failed:?}"
    );
    within_ten_seconds("health turns Err", || store.health().is_err()).await;
    relay.set_cut(false);
    within_ten_seconds("health turns Ok", || store.health().is_ok()).await;
    let after = ingest(store.as_ref(), "after", Priority::Normal).await;
    assert_ne!(after, kept);
    assert_eq!(store.get(kept).await.expect("kept").input.external_id, "before");
}

#[tokio::test]
async fn requeue_refiles_a_waiting_ticket_and_leaves_a_claimed_one() {
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let waiting = ingest(store, "a", Priority::Normal).await;
        let claimed = ingest(store, "b", Priority::Urgent).await;
        store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim");
        let billing = classification("billing", Priority::High, Some(600));
        let moved = store
            .requeue(waiting, &billing, "rules v2", NOW)
            .await
            .expect("requeue")
            .expect("a waiting ticket moves");
        assert_eq!(moved.ticket.classification.queue, "billing");
        assert_eq!(moved.events.len(), 2, "{}", subject.name);
        assert!(store
            .requeue(claimed, &billing, "rules v2", NOW)
            .await
            .expect("requeue")
            .is_none());
        let (page, _) = store.list_queue("billing", 10, None).await.expect("list");
        assert_eq!(page.iter().map(|t| t.id).collect::<Vec<_>>(), [waiting]);
        assert_eq!(page[0].classification.priority, Priority::High);
        let last = page[0].history.last().expect("history");
        assert_eq!(last.action, "reclassified", "{}", subject.name);
        assert_eq!(inbox_counts(store, NOW).await, (0, 1), "{}", subject.name);
        assert!(store.verify().await.expect("verify").is_consistent());
    }
}

#[tokio::test]
async fn upgrading_a_version_1_database_counts_its_tickets_into_the_journey_rollups() {
    let Some(schema) = PgSchema::create().await else {
        return;
    };
    let url = schema.url();
    let store = open_pg(&url).await;
    for n in 0..5 {
        ingest(store.as_ref(), &format!("t{n}"), Priority::Normal).await;
    }
    let hour = 3_600_000_000;
    let until = UnixMicros(NOW.0 + hour);
    let mut before = store.rollup(NOW, until).await.expect("rollup");
    assert_eq!(before.iter().map(|row| row.counts.tickets).sum::<u64>(), 5);
    drop(store);
    // Back to the version 1 schema, tickets kept: what a database that an
    // older build wrote looks like.
    common::pg::execute(&format!(
        "SET search_path TO {name};
         DROP TABLE triage_follow_ups;
         DROP TABLE triage_rollups;
         ALTER TABLE triage_state DROP COLUMN follow_up_of;
         DELETE FROM triage_schema_migrations WHERE version = 2;",
        name = schema.name()
    ))
    .await
    .expect("downgrade to version 1");

    let upgraded = open_pg(&url).await;
    let mut after = upgraded.rollup(NOW, until).await.expect("rollup");
    before.sort_by(|a, b| a.key.cmp(&b.key));
    after.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(after, before);
    assert!(upgraded.verify().await.expect("verify").is_consistent());
}

#[tokio::test]
async fn a_follow_up_already_stored_under_its_id_is_linked_and_announced_by_nobody() {
    use triage::store::FollowUpPlan;
    for subject in subjects().await {
        let store = subject.store.as_ref();
        let original = ingest(store, "a", Priority::Normal).await;
        let claimed = store
            .claim_next(&claim("inbox", "ann", None), NOW)
            .await
            .expect("claim")
            .expect("a ticket");
        let token = claimed.ticket.lease().expect("lease").token.clone();
        let plan = FollowUpPlan {
            recovery_id: "check-in".into(),
            due_at: NOW.plus_seconds(60),
            queue: "cx".into(),
            priority: Priority::Normal,
            category: "service_recovery".into(),
            action: "call".into(),
            skip_if_contacted: false,
            first_response_seconds: None,
            rules_version: "v1".into(),
        };
        store
            .complete(original, &token, "done", &Relabel::default(), Some(&plan), NOW)
            .await
            .expect("complete");
        // Something already stored under the follow-up's own id.
        let mut twin = input(&format!("recovery:{original}"), "c1");
        twin.source = triage::store::follow_up::FOLLOW_UP_SOURCE.into();
        let twin = store
            .ingest(twin, classification("cx", Priority::Normal, None), NOW)
            .await
            .expect("ingest")
            .ticket
            .id;
        let made = store
            .materialise_follow_ups(NOW.plus_seconds(120))
            .await
            .expect("materialise");
        let events: Vec<_> = made.iter().flat_map(|change| change.events.iter()).collect();
        assert!(
            events.is_empty(),
            "{}: nothing entered a queue: {events:?}",
            subject.name
        );
        let linked = store.get(original).await.expect("original");
        assert_eq!(
            linked.follow_up.map(|link| link.state),
            Some(triage::ticket::FollowUpState::Created(twin)),
            "{}",
            subject.name
        );
    }
}
