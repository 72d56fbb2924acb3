//! Several real triage processes on one PostgreSQL database, as a
//! deployment runs them: claims are never handed out twice, the same
//! external ids through another replica create nothing new, a lease taken
//! on one replica expires on another, escalation happens once with every
//! replica's maintenance loop running, watchers hear of other replicas'
//! changes, and nothing acknowledged is lost when a replica is killed or
//! the database restarts. Each test has a schema of its own; without a
//! reachable PostgreSQL the tests are skipped outside CI and fail in CI.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::cluster::{actions, check_ledger, claim_request, eventually, Cluster, LoadRun};
use common::{ingest, ticket, token};
use tonic::Code;
use triage::pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_agents_on_three_replicas_claim_a_thousand_tickets_each_exactly_once() {
    let Some(cluster) = Cluster::start(3).await else {
        return;
    };
    let mut ingests = Vec::new();
    for n in 0..1000 {
        let mut client = cluster.client(n % 3).await;
        ingests.push(tokio::spawn(async move {
            ingest(&mut client, ticket(&format!("load-{n}"), "Hello", "a question"))
                .await
                .ticket
                .expect("ticket")
                .id
        }));
        if ingests.len() == 100 {
            for call in ingests.drain(..) {
                call.await.expect("ingest");
            }
        }
    }
    for call in ingests {
        call.await.expect("ingest");
    }
    let mut agents = Vec::new();
    for agent in 0..100 {
        let mut client = cluster.client(agent % 3).await;
        agents.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let request = claim_request("inbox", &format!("agent-{agent}"), 600);
            while let Some(claimed) = client
                .claim_next(request.clone())
                .await
                .expect("claim")
                .into_inner()
                .ticket
            {
                mine.push(claimed.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for agent in agents {
        claimed.extend(agent.await.expect("agent"));
    }
    let distinct: HashSet<_> = claimed.iter().collect();
    assert_eq!(
        (claimed.len(), distinct.len()),
        (1000, 1000),
        "each ticket claimed exactly once"
    );
    let summary = common::queue_summary(&mut cluster.client(2).await, "inbox").await;
    assert_eq!((summary.depth, summary.leased), (0, 1000));
}

#[tokio::test]
async fn the_same_external_ids_through_other_replicas_create_no_duplicates() {
    let Some(cluster) = Cluster::start(3).await else {
        return;
    };
    let mut first = cluster.client(0).await;
    let mut ids = HashMap::new();
    for n in 0..30 {
        let stored = ingest(&mut first, ticket(&format!("dup-{n}"), "Hello", "hi")).await;
        assert!(stored.created);
        ids.insert(n, stored.ticket.expect("ticket").id);
    }
    let mut retries = Vec::new();
    for replica in [1, 2] {
        for n in 0..30 {
            let mut client = cluster.client(replica).await;
            retries.push(tokio::spawn(async move {
                (
                    n,
                    ingest(&mut client, ticket(&format!("dup-{n}"), "Hello", "hi")).await,
                )
            }));
        }
    }
    for retry in retries {
        let (n, answer) = retry.await.expect("retry");
        assert!(!answer.created, "dup-{n} was stored before");
        assert_eq!(answer.ticket.expect("ticket").id, ids[&n]);
    }
    let summary = common::queue_summary(&mut cluster.client(2).await, "inbox").await;
    assert_eq!(summary.depth, 30);
}

#[tokio::test]
async fn a_lease_taken_on_one_replica_expires_on_another() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    let mut first = cluster.client(0).await;
    ingest(&mut first, ticket("lease-1", "Hello", "hi")).await;
    let claimed = first
        .claim_next(claim_request("inbox", "ann", 1))
        .await
        .expect("claim")
        .into_inner()
        .ticket
        .expect("ticket");
    // Only the second replica is left to notice the lease ran out.
    let stopped = cluster.replicas[0].0.take().expect("running").terminate();
    assert!(stopped.success());
    let mut second = cluster.client(1).await;
    let id = claimed.id.clone();
    eventually(Duration::from_secs(20), "the lease expires", || {
        let mut client = second.clone();
        let id = id.clone();
        async move { common::get(&mut client, &id).await.state == pb::TicketState::Queued as i32 }
    })
    .await;
    let ticket = common::get(&mut second, &claimed.id).await;
    assert_eq!(actions(&ticket, "lease_expired"), 1);
    let stale = second
        .release_ticket(pb::ReleaseTicketRequest {
            ticket_id: claimed.id.clone(),
            lease_token: token(&claimed),
            reason: "too late".into(),
        })
        .await
        .expect_err("the expired lease is gone");
    assert_eq!(stale.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn escalation_happens_once_with_three_maintenance_loops() {
    let Some(cluster) = Cluster::start(3).await else {
        return;
    };
    let mut watch = cluster
        .client(2)
        .await
        .watch_queue(pb::WatchQueueRequest { queue: "due".into() })
        .await
        .expect("watch")
        .into_inner();
    let mut client = cluster.client(0).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let stored = ingest(&mut client, ticket(&format!("due-{n}"), "due now", "hi")).await;
        ids.push(stored.ticket.expect("ticket").id);
    }
    eventually(Duration::from_secs(20), "every ticket escalated", || {
        let mut client = client.clone();
        async move { common::queue_summary(&mut client, "escalations").await.depth == 20 }
    })
    .await;
    for id in &ids {
        let ticket = common::get(&mut client, id).await;
        assert_eq!(actions(&ticket, "escalated"), 1, "{id} escalated once");
        let classification = ticket.classification.expect("classification");
        assert_eq!(classification.queue, "escalations");
        assert_eq!(classification.priority, pb::Priority::Urgent as i32);
    }
    let mut escalated = Vec::new();
    while escalated.len() < 20 {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.message())
            .await
            .expect("event in time")
            .expect("stream")
            .expect("open");
        if event.kind == pb::QueueEventKind::Escalated as i32 {
            escalated.push(event.ticket_id);
        }
    }
    let distinct: HashSet<_> = escalated.iter().collect();
    assert_eq!(distinct.len(), 20, "one escalation event per ticket");
}

#[tokio::test]
async fn a_watcher_on_one_replica_hears_of_a_claim_made_on_another() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let mut watch = cluster
        .client(1)
        .await
        .watch_queue(pb::WatchQueueRequest {
            queue: "inbox".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let mut first = cluster.client(0).await;
    let id = ingest(&mut first, ticket("w-1", "Hello", "hi"))
        .await
        .ticket
        .expect("ticket")
        .id;
    first
        .claim_next(claim_request("inbox", "ann", 60))
        .await
        .expect("claim");
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), watch.message())
            .await
            .expect("event in time")
            .expect("stream")
            .expect("open");
        assert_eq!(event.ticket_id, id);
        kinds.push(event.kind);
    }
    assert_eq!(
        kinds,
        [
            pb::QueueEventKind::Added as i32,
            pb::QueueEventKind::Claimed as i32
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_mid_load_loses_nothing_acknowledged() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    let run = LoadRun::start(&cluster, &[0], 8).await;
    run.until("load under way", |ledger| ledger.claims.len() >= 100)
        .await;
    cluster.replicas[0].kill_hard();
    let ledger = run.stop().await;
    assert!(ledger.claims.len() >= 100);
    check_ledger(&mut cluster.client(1).await, &ledger).await;
}
