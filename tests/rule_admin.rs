//! The rule-set admin RPCs against a real server: ValidateRuleSet,
//! ExplainTicket, GetRuleSet and ReloadRules.

mod common;

use common::{ticket, TestServer, START};
use tonic::Code;
use triage::pb;

/// The test rules with another version, and "on fire" as an outage word.
fn next_rules(version: &str) -> String {
    common::TEST_RULES
        .replace("version = \"test-1\"", &format!("version = \"{version}\""))
        .replace("\"outage\", \"is down\"", "\"outage\", \"is down\", \"on fire\"")
}

async fn classify(server: &mut TestServer, subject: &str) -> pb::Classification {
    server
        .client
        .classify_ticket(pb::ClassifyTicketRequest {
            ticket: Some(ticket("c", subject, "x")),
        })
        .await
        .expect("classify")
        .into_inner()
        .classification
        .expect("classification")
}

async fn reload_text(server: &mut TestServer, text: &str) -> Result<pb::ReloadRulesResponse, tonic::Status> {
    let request = pb::ReloadRulesRequest {
        source: Some(pb::reload_rules_request::Source::Text(text.to_string())),
        name: "next.toml".into(),
        move_dropped_to: String::new(),
    };
    server
        .client
        .reload_rules(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn validate(server: &mut TestServer, text: &str) -> pb::ValidateRuleSetResponse {
    let request = pb::ValidateRuleSetRequest {
        text: text.to_string(),
        name: "candidate.toml".into(),
    };
    server
        .client
        .validate_rule_set(request)
        .await
        .expect("validate answers")
        .into_inner()
}

#[tokio::test]
async fn validate_reports_an_error_with_line_column_and_reason() {
    let mut server = TestServer::start().await;
    let answer = validate(
        &mut server,
        "default_queue = \"inbox\"\n[[queue]]\nname = \"Inbox!\"\n",
    )
    .await;
    assert!(!answer.valid);
    assert!(answer.summary.is_none());
    let error = &answer.errors[0];
    assert_eq!(
        (error.file.as_str(), error.line, error.column),
        ("candidate.toml", 3, 8)
    );
    assert!(error.message.contains("queue name"), "{}", error.message);
    server.shutdown().await;
}

#[tokio::test]
async fn validate_warns_about_a_shadowed_rule_without_activating_it() {
    let mut server = TestServer::start().await;
    let shadowed = format!(
        "{}\n[[rule]]\nid = \"late-outage\"\nwhen = {{ field = \"text\", any_of = [\"outage\", \"is down\"] }}\nthen = {{ priority = \"low\" }}\n",
        next_rules("candidate")
    );
    let answer = validate(&mut server, &shadowed).await;
    assert!(answer.valid, "{:?}", answer.errors);
    assert_eq!(answer.summary.expect("summary").version, "candidate");
    let warning = &answer.warnings[0];
    assert_eq!(warning.rule_id, "late-outage");
    assert!(warning.message.contains("rule \"outage\""), "{}", warning.message);
    assert_eq!(
        classify(&mut server, "Site is down").await.rules_version,
        "test-1"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn validate_reports_an_escalation_cycle_as_an_error() {
    let mut server = TestServer::start().await;
    let cycle = common::TEST_RULES.replace(
        "name = \"escalations\"\n",
        "name = \"escalations\"\nescalate_to = \"incidents\"\n",
    );
    let answer = validate(&mut server, &cycle).await;
    assert!(!answer.valid);
    assert!(
        answer.errors[0]
            .message
            .contains("escalation cycle: incidents -> escalations -> incidents"),
        "{:?}",
        answer.errors
    );
    server.shutdown().await;
}

#[tokio::test]
async fn explain_an_inline_ticket_says_which_rules_fired_and_why_it_stopped() {
    let mut server = TestServer::start().await;
    let request = pb::ExplainTicketRequest {
        ticket: Some(pb::explain_ticket_request::Ticket::Input(ticket(
            "e",
            "Site is down",
            "since 9am",
        ))),
    };
    let answer = server
        .client
        .explain_ticket(request)
        .await
        .expect("explain")
        .into_inner();
    assert_eq!(answer.stopped_by_rule_id, "outage");
    assert!(
        answer.stop_reason.contains("stop = true"),
        "{}",
        answer.stop_reason
    );
    let outage = &answer.rules[0];
    assert!(outage.fired && outage.stop);
    let condition = outage.condition.as_ref().expect("condition");
    assert_eq!(condition.matches[0].text, "is down");
    assert_eq!(condition.matches[0].part, i32::from(pb::TextPart::Subject));
    let classification = answer.classification.expect("classification");
    assert_eq!(classification.rule_ids, vec!["outage"]);
    server.shutdown().await;
}

#[tokio::test]
async fn explain_a_stored_ticket_agrees_with_its_classification() {
    let mut server = TestServer::start().await;
    let mut input = ticket(
        "s",
        "Invoice question",
        "I was charged twice, please add a refund button",
    );
    input.customer.as_mut().expect("customer").tier = "vip".into();
    let stored = common::ingest(&mut server.client, input)
        .await
        .ticket
        .expect("ticket");
    let request = pb::ExplainTicketRequest {
        ticket: Some(pb::explain_ticket_request::Ticket::TicketId(stored.id.clone())),
    };
    let answer = server
        .client
        .explain_ticket(request)
        .await
        .expect("explain")
        .into_inner();
    let fired: Vec<&str> = answer
        .rules
        .iter()
        .filter(|rule| rule.fired)
        .map(|rule| rule.rule_id.as_str())
        .collect();
    let recorded = stored.classification.expect("classification").rule_ids;
    assert_eq!(fired, recorded);
    assert_eq!(answer.stopped_by_rule_id, "");
    assert_eq!(answer.rules.len(), 5, "every rule evaluated");
    server.shutdown().await;
}

#[tokio::test]
async fn explain_an_unknown_ticket_is_not_found() {
    let mut server = TestServer::start().await;
    let request = pb::ExplainTicketRequest {
        ticket: Some(pb::explain_ticket_request::Ticket::TicketId("T-999999".into())),
    };
    let status = server.client.explain_ticket(request).await.expect_err("unknown");
    assert!(
        matches!(status.code(), Code::NotFound | Code::InvalidArgument),
        "{status:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn get_rule_set_returns_version_load_time_text_and_summary() {
    let mut server = TestServer::start().await;
    let answer = server
        .client
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("get")
        .into_inner();
    let summary = answer.summary.expect("summary");
    assert_eq!(summary.version, "test-1");
    assert_eq!(summary.rule_count, 5);
    assert_eq!(
        summary.queues,
        vec!["inbox", "incidents", "billing", "cx", "escalations"]
    );
    assert!(summary.reads_history);
    assert_eq!(answer.text, common::TEST_RULES);
    assert!(!answer.text_omitted);
    assert_eq!(answer.loaded_at.expect("loaded at").seconds, START.0 / 1_000_000);
    server.shutdown().await;
}

#[tokio::test]
async fn reload_from_text_swaps_the_rules_and_records_the_load_time() {
    let mut server = TestServer::start().await;
    assert_eq!(classify(&mut server, "Everything is on fire").await.category, "");
    server.clock.advance_seconds(60);
    let answer = reload_text(&mut server, &next_rules("test-2"))
        .await
        .expect("reloaded");
    assert_eq!(answer.previous_version, "test-1");
    assert_eq!(answer.summary.expect("summary").version, "test-2");
    let classified = classify(&mut server, "Everything is on fire").await;
    assert_eq!(
        (classified.rules_version.as_str(), classified.category.as_str()),
        ("test-2", "outage")
    );
    let active = server
        .client
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        active.loaded_at.expect("loaded at").seconds,
        START.0 / 1_000_000 + 60
    );
    assert_eq!(active.text, next_rules("test-2"));
    server.shutdown().await;
}

#[tokio::test]
async fn reload_from_a_path_swaps_the_rules() {
    let mut server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("next.toml");
    std::fs::write(&path, next_rules("from-disk")).expect("write");
    let request = pb::ReloadRulesRequest {
        source: Some(pb::reload_rules_request::Source::Path(path.display().to_string())),
        name: String::new(),
        move_dropped_to: String::new(),
    };
    let answer = server
        .client
        .reload_rules(request)
        .await
        .expect("reloaded")
        .into_inner();
    assert_eq!(
        answer.summary.expect("summary").source,
        path.display().to_string()
    );
    assert_eq!(
        classify(&mut server, "Everything is on fire").await.rules_version,
        "from-disk"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_bad_reload_is_refused_with_its_line_and_the_running_rules_keep_classifying() {
    let mut server = TestServer::start().await;
    let broken = next_rules("broken").replace("id = \"billing\"", "id = \"billing\"\npriorty = \"high\"");
    let status = reload_text(&mut server, &broken).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("next.toml:"), "{}", status.message());
    assert!(status.message().contains("priorty"), "{}", status.message());
    // Classified by the old rules: "on fire" is only an outage word in the
    // refused candidate; "is down" still is one.
    let fire = classify(&mut server, "Everything is on fire").await;
    assert_eq!(
        (fire.rules_version.as_str(), fire.category.as_str()),
        ("test-1", "")
    );
    let down = classify(&mut server, "Site is down").await;
    assert_eq!(
        (down.rules_version.as_str(), down.category.as_str()),
        ("test-1", "outage")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_reload_under_concurrent_ingest_gives_each_ticket_one_version() {
    let mut server = TestServer::start().await;
    let mut writers = Vec::new();
    for writer in 0..4 {
        let mut client = common::connect(server.address).await;
        writers.push(tokio::spawn(async move {
            let mut stored = Vec::new();
            for n in 0..40 {
                let input = ticket(&format!("w{writer}-{n}"), "Everything is on fire", "x");
                let answer = common::ingest(&mut client, input).await;
                stored.push(answer.ticket.expect("ticket"));
            }
            stored
        }));
    }
    reload_text(&mut server, &next_rules("test-2"))
        .await
        .expect("reloaded");
    let mut versions = std::collections::BTreeSet::new();
    let mut count = 0;
    for writer in writers {
        for stored in writer.await.expect("writer") {
            count += 1;
            let classification = stored.classification.expect("classification");
            let expected = match classification.rules_version.as_str() {
                "test-1" => "",
                "test-2" => "outage",
                other => panic!("unknown version {other}"),
            };
            assert_eq!(classification.category, expected, "{}", stored.id);
            versions.insert(classification.rules_version);
        }
    }
    assert_eq!(count, 160, "nothing lost");
    assert!(versions.contains("test-1") || versions.contains("test-2"));
    server.shutdown().await;
}

/// The test rules and `extra` more rules, each with its own regex.
fn many_rules(extra: usize) -> String {
    let mut text = common::TEST_RULES.replace("version = \"test-1\"", "version = \"many\"");
    for n in 0..extra {
        text.push_str(&format!(
            "\n[[rule]]\nid = \"extra-{n}\"\nwhen = {{ field = \"text\", regex = \"(?i)\\\\b(word{n}|other{n})\\\\s+\\\\w+ing\\\\b\" }}\nthen = {{ add_tags = [\"extra\"] }}\n"
        ));
    }
    text
}

#[tokio::test]
async fn a_reload_compiles_off_the_async_workers() {
    // One runtime thread: were the compilation on it, nothing else would
    // run until it finished.
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("many.toml");
    std::fs::write(&path, many_rules(3000)).expect("write");
    let mut client = common::connect(server.address).await;
    let app = std::sync::Arc::clone(&server.app);
    let started = std::time::Instant::now();
    let reload = tokio::spawn(async move {
        let reloaded = app.reload_rules(&path).await;
        (reloaded, started.elapsed())
    });
    // Let the reload start (on this one thread, it runs now), then ping.
    tokio::task::yield_now().await;
    client.ping(pb::PingRequest {}).await.expect("ping answered");
    let ping_took = started.elapsed();
    let (reloaded, reload_took) = reload.await.expect("task");
    assert_eq!(reloaded.expect("reloaded").version(), "many");
    // Inline, the compilation would hold the ping for all of its time.
    assert!(
        ping_took * 4 < reload_took,
        "ping took {ping_took:?} while the reload took {reload_took:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn rule_text_sent_to_the_server_reads_lexicon_files_only_beside_the_running_rules() {
    // The test server's rules were read relative to the crate root.
    let mut server = TestServer::start().await;
    let with_lexicon = |name: &str| format!("lexicon_files = [\"{name}\"]\n{}", common::TEST_RULES);
    let beside = validate(&mut server, &with_lexicon("rules/default-lexicon.toml")).await;
    assert!(beside.valid, "{:?}", beside.errors);
    for outside in ["/etc/hostname", "../outside.toml", "rules/../../outside.toml"] {
        let answer = validate(&mut server, &with_lexicon(outside)).await;
        assert!(!answer.valid, "{outside}");
        let message = &answer.errors[0].message;
        assert!(
            message.contains("only name lexicon files beside the running rule file"),
            "{message}"
        );
    }
    let status = reload_text(&mut server, &with_lexicon("/etc/hostname"))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    server.shutdown().await;
}

/// How many rule reloads ended with `outcome` (success or failure), from
/// the server's metrics.
fn reloads(server: &TestServer, outcome: &str) -> u64 {
    let wanted = format!("triage_rule_reloads_total{{outcome=\"{outcome}\"}} ");
    server
        .app
        .metrics()
        .encode()
        .lines()
        .find_map(|line| line.strip_prefix(&wanted))
        .map_or(0, |count| count.trim().parse().expect("a count"))
}

/// Polls (every few milliseconds, for up to ten seconds) until `done`.
async fn poll_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_watched_rule_file_reloads_when_it_changes_and_a_bad_change_keeps_the_rules() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, common::TEST_RULES).expect("write");
    let watched = path.clone();
    let mut server = TestServer::start_with(common::TEST_RULES, move |config| {
        config.rules_path = Some(watched);
        config.watch_rules = Some(std::time::Duration::from_millis(10));
    })
    .await;

    std::fs::write(&path, next_rules("watched-2")).expect("edit");
    poll_until("the edit is loaded", || reloads(&server, "success") == 1).await;
    let fire = classify(&mut server, "Everything is on fire").await;
    assert_eq!(
        (fire.rules_version.as_str(), fire.category.as_str()),
        ("watched-2", "outage")
    );

    std::fs::write(&path, "version = \"broken\"\n[[rule]]\nid = \n").expect("break");
    poll_until("the broken edit is refused", || reloads(&server, "failure") == 1).await;
    let still = classify(&mut server, "Everything is on fire").await;
    assert_eq!(
        (still.rules_version.as_str(), still.category.as_str()),
        ("watched-2", "outage")
    );

    std::fs::write(&path, next_rules("watched-3")).expect("fix");
    poll_until("the fix is loaded", || reloads(&server, "success") == 2).await;
    assert_eq!(classify(&mut server, "x").await.rules_version, "watched-3");
    server.shutdown().await;
}

#[tokio::test]
async fn validate_and_reload_report_every_broken_rule_not_only_the_first() {
    let mut server = TestServer::start().await;
    let broken = format!(
        "{}\n[[rule]]\nid = \"bad-priority\"\nwhen = {{ field = \"text\", contains = \"a\" }}\nthen = {{ priority = \"soon\" }}\n\n[[rule]]\nid = \"bad-regex\"\nwhen = {{ field = \"text\", regex = \"(unclosed\" }}\nthen = {{ priority = \"low\" }}\n",
        next_rules("two-errors")
    );
    let answer = validate(&mut server, &broken).await;
    assert!(!answer.valid);
    let found: Vec<(u32, bool)> = answer
        .errors
        .iter()
        .map(|error| {
            (
                error.line,
                error.message.contains("soon") || error.message.contains("regex"),
            )
        })
        .collect();
    assert_eq!(found.len(), 2, "{:?}", answer.errors);
    assert!(
        found[0].0 < found[1].0 && found.iter().all(|(_, named)| *named),
        "{:?}",
        answer.errors
    );

    let status = reload_text(&mut server, &broken).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let message = status.message();
    assert!(
        message.contains("soon") && message.contains("unclosed"),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
    assert_eq!(classify(&mut server, "x").await.rules_version, "test-1");
    server.shutdown().await;
}
