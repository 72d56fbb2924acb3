//! Service-recovery follow-ups are created exactly once, also when the
//! real server process is killed (SIGKILL) between the completion and the
//! follow-up's creation:
//!
//! - the plan is part of the completion's atomic write, so once the
//!   completion is acknowledged the follow-up is owed: after a kill -9 the
//!   store, opened in this process with the controllable clock moved past
//!   the due time, creates it once, and again nothing on later runs and
//!   restarts;
//! - with plans due at once (`due_after_days = 0`) the server's own
//!   maintenance loop races the kill: whenever the kill lands, after a
//!   restart there is exactly one follow-up per completed ticket.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{KillOnDrop, ServerProcess};
use triage::app::{App, AppSettings};
use triage::clock::{Clock, ManualClock, SystemClock};
use triage::pb;
use triage::rules::RuleSet;
use triage::store::{Store, StoreOptions};
use triage::ticket::{FollowUpState, TicketView};

const CX_RULES: &str = include_str!("rules/cx.toml");

fn rules_file(dir: &Path, text: &str) -> String {
    let path = dir.join("cx.toml");
    std::fs::write(&path, text).expect("write rules");
    path.display().to_string()
}

fn billing_ticket(n: usize) -> pb::TicketInput {
    pb::TicketInput {
        external_id: format!("bill-{n}"),
        source: "zendesk".into(),
        channel: pb::Channel::Email.into(),
        body: "I was charged twice on my invoice".into(),
        customer: Some(pb::Customer {
            id: format!("cust-{n}"),
            tier: "pro".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Ingests, claims and completes one billing ticket; its id once the
/// completion (with its scheduled follow-up) is acknowledged.
async fn complete_one(address: std::net::SocketAddr, n: usize) -> String {
    let mut client = common::connect(address).await;
    let ingested = common::ingest(&mut client, billing_ticket(n)).await;
    let id = ingested.ticket.expect("ticket").id;
    let claimed = common::claim(&mut client, "billing", "agent-1", 300)
        .await
        .expect("claimed");
    assert_eq!(claimed.id, id);
    let done = common::complete(&mut client, &claimed, "refunded")
        .await
        .expect("completed");
    let scheduled = done.follow_up.expect("the completion scheduled a follow-up");
    assert_eq!(scheduled.state(), pb::follow_up::State::Scheduled);
    id
}

/// The tickets of the follow-up queue and every follow-up link, read in
/// this process after maintenance at `at`.
async fn follow_ups_after_maintenance(dir: &Path, at: triage::clock::UnixMicros) -> Vec<String> {
    let rules = RuleSet::parse("cx.toml", CX_RULES).expect("rules");
    let store = Store::open(dir, StoreOptions::default()).expect("store opens");
    let app = App::new(
        rules,
        store,
        Arc::new(ManualClock::new(at)),
        AppSettings::default(),
    );
    app.run_maintenance().await.expect("maintenance");
    let page = app
        .list_queue("cx-recovery", 100, None, TicketView::Basic)
        .await
        .expect("list");
    let report = app.store().verify().await.expect("verify");
    assert!(report.is_consistent(), "{:?}", report.problems);
    page.tickets
        .into_iter()
        .map(|ticket| ticket.id.to_string())
        .collect()
}

/// The tests of this file take turns: each reopens its data directory in
/// this process right after closing it, and the other's stream of server
/// processes spawned from this process (each a fork of it) could briefly
/// hold the directory's lock.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn a_follow_up_owed_by_a_completion_survives_kill_9_and_is_created_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let rules = rules_file(dir.path(), CX_RULES);
    let mut server = KillOnDrop(Some(ServerProcess::start(&data, &["--rules", &rules])));
    let original = complete_one(server.server().address, 1).await;
    server.kill_hard();

    let due = SystemClock.now().plus_seconds(2 * 86_400 + 60);
    let first = follow_ups_after_maintenance(&data, due).await;
    assert_eq!(first.len(), 1, "the follow-up owed is created: {first:?}");
    let again = follow_ups_after_maintenance(&data, due.plus_seconds(3600)).await;
    assert_eq!(again, first, "and only once, across reopenings");

    let store = Store::open(&data, StoreOptions::default()).expect("store opens");
    let id = triage::ticket::TicketId::parse(&original).expect("id");
    let original = triage::store::TicketStore::get(&store, id)
        .await
        .expect("original");
    let link = original.follow_up.expect("link").state;
    assert_eq!(
        link,
        FollowUpState::Created(triage::ticket::TicketId::parse(&first[0]).expect("id"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn follow_ups_due_at_once_are_created_exactly_once_whenever_the_server_is_killed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let rules = rules_file(
        dir.path(),
        &CX_RULES.replace("due_after_days = 2", "due_after_days = 0"),
    );
    let args = ["--rules", rules.as_str(), "--maintenance-interval-ms", "5"];
    let rounds = 4;
    for round in 0..rounds {
        let mut server = KillOnDrop(Some(ServerProcess::start_patiently(
            &data,
            &args,
            Duration::from_secs(10),
        )));
        complete_one(server.server().address, round).await;
        // Kill at varied moments around the maintenance loop's next run.
        std::thread::sleep(Duration::from_millis([0, 2, 6, 15][round % 4]));
        server.kill_hard();
    }
    let mut server = KillOnDrop(Some(ServerProcess::start_patiently(
        &data,
        &args,
        Duration::from_secs(10),
    )));
    let mut client = common::connect(server.server().address).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let follow_ups = loop {
        let request = pb::ListTicketsRequest {
            queue: "cx-recovery".into(),
            page_size: 100,
            ..Default::default()
        };
        let listed = client
            .list_tickets(request)
            .await
            .expect("list")
            .into_inner()
            .tickets;
        if listed.len() >= rounds || std::time::Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut originals: Vec<String> = follow_ups
        .iter()
        .map(|ticket| ticket.follow_up_of.clone())
        .collect();
    originals.sort();
    originals.dedup();
    assert_eq!(
        follow_ups.len(),
        rounds,
        "one follow-up per completion: {follow_ups:?}"
    );
    assert_eq!(originals.len(), rounds, "none twice");
    server.kill_hard();
}
