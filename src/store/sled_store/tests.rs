//! Fault containment: an entry pointing at an unreadable ticket is set
//! aside and reported, never blocking its queue or the maintenance sweeps;
//! queue events are published once durable, never for a failed round.

use super::{keys, Store, StoreOptions};
use crate::clock::UnixMicros;
use crate::store::{ClaimRequest, EscalationPolicies, TicketStore};
use crate::ticket::{Classification, TicketInput};

fn input(external_id: &str) -> TicketInput {
    TicketInput {
        external_id: external_id.into(),
        source: "zendesk".into(),
        body: "hello".into(),
        ..TicketInput::default()
    }
}

fn classification() -> Classification {
    Classification {
        queue: "inbox".into(),
        first_response_seconds: Some(60),
        ..Classification::default()
    }
}

#[tokio::test]
async fn an_unreadable_ticket_is_set_aside_and_its_queue_keeps_working() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("opens");
    let now = UnixMicros(1_000_000);
    let broken = store
        .ingest(input("a"), classification(), now)
        .await
        .expect("ingest");
    let healthy = store
        .ingest(input("b"), classification(), now)
        .await
        .expect("ingest");
    let third = store
        .ingest(input("c"), classification(), now)
        .await
        .expect("ingest");
    store
        .inner()
        .expect("open")
        .trees
        .tickets
        .insert(keys::ticket(broken.ticket.id), b"not json".as_slice())
        .expect("corrupt a record");
    let claim = ClaimRequest {
        queue: "inbox".into(),
        agent_id: "ann".into(),
        lease_seconds: 600,
        request_id: None,
    };
    let claimed = store
        .claim_next(&claim, now)
        .await
        .expect("claims past the broken head entry")
        .expect("a ticket");
    assert_eq!(claimed.ticket.id, healthy.ticket.id);
    // The deadline sweep meets the broken ticket first and goes on.
    let later = now.plus_seconds(120);
    let escalated = store
        .escalate_breaches(later, &EscalationPolicies::new())
        .await
        .expect("the sweep survives the broken ticket");
    let escalated: Vec<_> = escalated.iter().map(|transition| transition.ticket.id).collect();
    assert_eq!(escalated, [third.ticket.id]);
    let stats = store
        .queues_stats(&["inbox".to_string()], later)
        .await
        .expect("stats");
    assert_eq!(
        (stats[0].depth, stats[0].leased),
        (1, 1),
        "the broken entry left the counts"
    );
    let report = store.verify().await.expect("verify runs");
    assert_eq!(
        report.quarantined, 2,
        "queue and deadline entries set aside: {report:?}"
    );
    assert!(!report.is_consistent(), "verify reports what was set aside");
}

#[tokio::test]
async fn queue_events_are_published_once_durable_and_never_for_a_failed_round() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("opens");
    let bus = crate::events::EventBus::new(64);
    assert!(store.publish_to(&bus), "sled publishes its own events");
    assert!(!store.publish_to(&bus), "only to the first bus");
    let mut heard = bus.subscribe();
    let now = UnixMicros(1_000_000);
    let kept = store
        .ingest(input("kept"), classification(), now)
        .await
        .expect("ingest");
    let added = heard
        .try_recv()
        .expect("published by the time the ingest is answered");
    assert_eq!(added.ticket_id, kept.ticket.id);
    assert_eq!(added.kind, crate::events::QueueEventKind::Added);
    // A durable round that fails: its change is not acknowledged, and
    // nobody hears of it.
    let blobs = dir.path().join("v2").join("blobs");
    std::fs::remove_dir_all(&blobs).expect("remove blobs dir");
    std::fs::write(&blobs, b"not a directory").expect("plant a file");
    store
        .ingest(input("lost"), classification(), now)
        .await
        .expect_err("not durable");
    assert!(
        heard.try_recv().is_err(),
        "no event for a change that was not made durable"
    );
}
