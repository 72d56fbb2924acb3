//! Fault containment: an entry pointing at an unreadable ticket is set
//! aside and reported, never blocking its queue or the maintenance sweeps.

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
        .inner
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
