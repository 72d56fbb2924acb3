//! Rule files: bad ones are rejected with file, line and reason, and a
//! running server keeps its rules when a reload is rejected.

mod common;

use common::{ticket, TestServer};
use triage::rules::{RuleError, RuleSet};

const QUEUES: &str = "default_queue = \"inbox\"\n[[queue]]\nname = \"inbox\"\n";

fn rejection(text: &str) -> (String, usize, String) {
    match RuleSet::parse("rules/bad.toml", text) {
        Err(RuleError::Invalid {
            file, line, reason, ..
        }) => (file, line, reason),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("rule file was accepted"),
    }
}

#[test]
fn syntax_error_names_file_and_line() {
    let (file, line, reason) = rejection(&format!("{QUEUES}\n[[rule]\nid = \"x\"\n"));
    assert_eq!(file, "rules/bad.toml");
    assert_eq!(line, 5);
    assert!(!reason.is_empty());
}

#[test]
fn unknown_field_names_the_line_and_the_field() {
    let text = format!(
        "{QUEUES}[[rule]]\nid = \"x\"\nwhen = {{ field = \"text\", contains = \"a\" }}\nthen = {{ queue = \"inbox\" }}\npriorty = \"high\"\n"
    );
    let (_, line, reason) = rejection(&text);
    assert_eq!(line, 8);
    assert!(reason.contains("priorty"), "{reason}");
}

#[test]
fn bad_regex_names_the_line() {
    let text = format!(
        "{QUEUES}[[rule]]\nid = \"x\"\nwhen = {{ field = \"body\", regex = \"(unclosed\" }}\nthen = {{ queue = \"inbox\" }}\n"
    );
    let (_, line, reason) = rejection(&text);
    assert_eq!(line, 6);
    assert!(reason.contains("bad regex"), "{reason}");
}

#[test]
fn unknown_queue_names_the_line_and_the_queue() {
    let text = format!(
        "{QUEUES}[[rule]]\nid = \"x\"\nwhen = {{ field = \"body\", contains = \"a\" }}\nthen = {{ queue = \"nowhere\" }}\n"
    );
    let (_, line, reason) = rejection(&text);
    assert_eq!(line, 7);
    assert!(reason.contains("nowhere"), "{reason}");
}

#[test]
fn unknown_field_name_in_a_condition_is_rejected() {
    let text = format!(
        "{QUEUES}[[rule]]\nid = \"x\"\nwhen = {{ field = \"sender\", contains = \"a\" }}\nthen = {{ queue = \"inbox\" }}\n"
    );
    let (_, line, reason) = rejection(&text);
    assert_eq!(line, 6);
    assert!(reason.contains("sender"), "{reason}");
}

#[test]
fn condition_with_two_operators_is_rejected() {
    let text = format!(
        "{QUEUES}[[rule]]\nid = \"x\"\nwhen = {{ field = \"body\", contains = \"a\", regex = \"b\" }}\nthen = {{ queue = \"inbox\" }}\n"
    );
    let (_, _, reason) = rejection(&text);
    assert!(reason.contains("exactly one operator"), "{reason}");
}

#[test]
fn duplicate_rule_ids_are_rejected() {
    let rule =
        "[[rule]]\nid = \"x\"\nwhen = { field = \"body\", contains = \"a\" }\nthen = { queue = \"inbox\" }\n";
    let (_, line, reason) = rejection(&format!("{QUEUES}{rule}{rule}"));
    assert_eq!(line, 9, "the second rule's id");
    assert!(reason.contains("duplicate"), "{reason}");
}

#[test]
fn missing_file_is_a_read_error_naming_the_file() {
    let err = RuleSet::load(std::path::Path::new("/nonexistent/rules.toml")).expect_err("missing");
    assert!(err.to_string().contains("/nonexistent/rules.toml"), "{err}");
}

#[tokio::test]
async fn rejected_reload_keeps_the_running_rules() {
    let mut server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, "default_queue = \"inbox\"\n[[queue]\nname = \"inbox\"\n").expect("write");
    let err = server
        .app
        .reload_rules(&path)
        .await
        .expect_err("bad file rejected");
    let message = err.to_string();
    assert!(message.contains("rules.toml:2"), "{message}");
    let response = server
        .client
        .classify_ticket(triage::pb::ClassifyTicketRequest {
            ticket: Some(ticket("r", "Site is down", "x")),
        })
        .await
        .expect("classify")
        .into_inner();
    let classification = response.classification.expect("classification");
    assert_eq!(classification.rules_version, "test-1");
    assert_eq!(classification.category, "outage");
    server.shutdown().await;
}

#[tokio::test]
async fn reload_that_drops_a_queue_holding_tickets_is_refused() {
    let mut server = TestServer::start().await;
    common::ingest(&mut server.client, ticket("q", "Site is down", "x")).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, format!("version = \"v2\"\n{QUEUES}")).expect("write");
    let err = server.app.reload_rules(&path).await.expect_err("refused");
    assert!(err.to_string().contains("incidents"), "{err}");
    assert_eq!(server.app.rules().version(), "test-1");
    server.shutdown().await;
}

#[tokio::test]
async fn good_reload_swaps_the_rules_atomically() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.toml");
    let next = common::TEST_RULES.replace("version = \"test-1\"", "version = \"test-2\"");
    std::fs::write(&path, next).expect("write");
    let rules = server.app.reload_rules(&path).await.expect("accepted");
    assert_eq!(rules.version(), "test-2");
    server.shutdown().await;
}

#[test]
fn check_rules_flag_reports_file_line_and_reason() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "default_queue = \"inbox\"\n[[queue]]\nname = \"Inbox!\"\n").expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .arg("--check-rules")
        .arg("--rules")
        .arg(&path)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml:3:"), "{stderr}");
    assert!(stderr.contains("queue name"), "{stderr}");
}

#[test]
fn shipped_default_rules_pass_the_check() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args([
            "--check-rules",
            "--rules",
            concat!(env!("CARGO_MANIFEST_DIR"), "/rules/default.toml"),
        ])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn rule_set_reports_whether_it_reads_customer_history() {
    let without = format!(
        "{QUEUES}[[rule]]\nid = \"x\"\nwhen = {{ field = \"body\", contains = \"a\" }}\nthen = {{ queue = \"inbox\" }}\n"
    );
    assert!(!RuleSet::parse("a.toml", &without)
        .expect("compiles")
        .reads_history());
    assert!(RuleSet::parse("test.toml", common::TEST_RULES)
        .expect("compiles")
        .reads_history());
}

#[test]
fn an_unknown_special_lexicon_entry_names_the_line() {
    let text = format!("{QUEUES}\n[lexicon.tone]\n\"@sentiment\" = -1.0\n\"@mood\" = 2.0\n");
    let (_, line, reason) = rejection(&text);
    assert_eq!(line, 7);
    assert!(
        reason.contains("@mood") && reason.contains("@sentiment"),
        "{reason}"
    );
}

#[test]
fn an_empty_version_is_rejected_naming_the_line() {
    let (_, line, reason) = rejection(&format!("version = \"\"\n{QUEUES}"));
    assert_eq!(line, 1);
    assert!(reason.contains("version"), "{reason}");
}

#[test]
fn a_version_over_the_byte_limit_is_rejected_with_its_size() {
    let long = "v".repeat(triage::rules::MAX_VERSION_BYTES + 1);
    let (_, line, reason) = rejection(&format!("version = \"{long}\"\n{QUEUES}"));
    assert_eq!(line, 1);
    assert!(reason.contains("129 bytes") && reason.contains("128"), "{reason}");
    let longest = "v".repeat(triage::rules::MAX_VERSION_BYTES);
    assert!(RuleSet::parse("ok.toml", &format!("version = \"{longest}\"\n{QUEUES}")).is_ok());
}

#[test]
fn a_version_with_a_line_break_is_rejected() {
    let (_, line, reason) = rejection(&format!("version = \"v1\\nv2\"\n{QUEUES}"));
    assert_eq!(line, 1);
    assert!(reason.contains("control characters"), "{reason}");
}

fn escalating(queues: &[(&str, &str)]) -> String {
    let mut text = String::from("default_queue = \"inbox\"\n[[queue]]\nname = \"inbox\"\n");
    for (name, to) in queues {
        text.push_str(&format!("[[queue]]\nname = \"{name}\"\nescalate_to = \"{to}\"\n"));
    }
    text
}

#[test]
fn a_queue_escalating_to_itself_is_rejected_naming_the_line() {
    let (file, line, reason) = rejection(&escalating(&[("a", "a")]));
    assert_eq!((file.as_str(), line), ("rules/bad.toml", 6));
    assert!(reason.contains("escalation cycle: a -> a"), "{reason}");
}

#[test]
fn a_two_queue_escalation_cycle_is_rejected_naming_the_line() {
    let (_, line, reason) = rejection(&escalating(&[("a", "b"), ("b", "a")]));
    assert_eq!(line, 9, "b's escalate_to, which closes the cycle");
    assert!(reason.contains("escalation cycle: a -> b -> a"), "{reason}");
}

#[test]
fn an_escalation_chain_without_a_cycle_is_accepted() {
    let text = escalating(&[("a", "b"), ("b", "c"), ("c", "inbox")]);
    assert!(RuleSet::parse("chain.toml", &text).is_ok());
}

fn history_rule(within_days: u64) -> String {
    format!(
        "{QUEUES}[[rule]]\nid = \"h\"\nwhen = {{ history = {{ within_days = {within_days}, at_least = 1 }} }}\nthen = {{ add_tags = [\"repeat\"] }}\n"
    )
}

#[test]
fn within_days_at_its_maximum_counts_old_tickets_without_overflow() {
    use triage::rules::{CustomerHistory, PriorTicket};
    let rules = RuleSet::parse("h.toml", &history_rule(u64::from(triage::rules::MAX_WITHIN_DAYS)))
        .expect("the maximum is accepted");
    let prior = |ingested_at| PriorTicket {
        ingested_at,
        side: triage::ticket::Side::Reactive,
        category: String::new(),
        open: true,
    };
    let now = triage::clock::UnixMicros(i64::MAX);
    let recent = CustomerHistory {
        tickets: vec![prior(triage::clock::UnixMicros(i64::MAX - 1))],
    };
    let input = triage::ticket::TicketInput::default();
    assert_eq!(rules.classify(&input, &recent, now).tags, vec!["repeat"]);
    let ancient = CustomerHistory {
        tickets: vec![prior(triage::clock::UnixMicros(0))],
    };
    assert!(rules.classify(&input, &ancient, now).tags.is_empty());
    assert!(
        rules
            .classify(&input, &ancient, triage::clock::UnixMicros(0))
            .tags
            == vec!["repeat"]
    );
}

#[test]
fn within_days_over_its_maximum_is_rejected_with_the_limit() {
    for days in [u64::from(triage::rules::MAX_WITHIN_DAYS) + 1, u64::from(u32::MAX)] {
        let (_, line, reason) = rejection(&history_rule(days));
        assert_eq!(line, 6);
        assert!(
            reason.contains("within_days") && reason.contains("365000"),
            "{reason}"
        );
    }
}

/// `QUEUES` with a CX queue, then `tail`.
fn cx_file(tail: &str) -> String {
    format!("{QUEUES}[[queue]]\nname = \"cx\"\n{tail}")
}

#[test]
fn bad_recovery_blocks_are_rejected_with_line_and_reason() {
    let cases = [
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"nowhere\"\ndue_after_days = 1\n",
            8,
            "unknown queue \"nowhere\"",
        ),
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"cx\"\ndue_after_days = 400\n",
            9,
            "due_after_days is 400",
        ),
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"cx\"\ndue_after_days = 1\nsentiment_below = -3.0\n",
            10,
            "sentiment_below",
        ),
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"cx\"\ndue_after_days = 1\ncategories = []\n",
            10,
            "categories is empty",
        ),
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"cx\"\ndue_after_days = 1\ntouchpoints = [\"moon\"]\n",
            10,
            "unknown touchpoint \"moon\"",
        ),
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"cx\"\n",
            6,
            "due_after_days",
        ),
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"cx\"\ndue_after_days = 1\n[[recovery]]\nid = \"r\"\nqueue = \"cx\"\ndue_after_days = 2\n",
            11,
            "duplicate recovery id",
        ),
        (
            "[[recovery]]\nid = \"r\"\nqueue = \"cx\"\ndue_after_days = 1\nskip_if_contacted = \"yes\"\n",
            10,
            "invalid type",
        ),
    ];
    for (tail, expected_line, expected_reason) in cases {
        let (file, line, reason) = rejection(&cx_file(tail));
        assert_eq!(file, "rules/bad.toml");
        assert_eq!(line, expected_line, "{tail}: {reason}");
        assert!(reason.contains(expected_reason), "{tail}: {reason}");
    }
}

#[test]
fn touchpoints_must_be_listed_where_rules_name_them() {
    let then = "[[rule]]\nid = \"x\"\nwhen = { field = \"text\", contains = \"a\" }\nthen = { touchpoint = \"moon\" }\n";
    let (_, line, reason) = rejection(&cx_file(then));
    assert_eq!(line, 9);
    assert!(reason.contains("unknown touchpoint \"moon\""), "{reason}");
    let listed = format!("touchpoints = [\"moon\", \"earth\"]\n{}", cx_file(then));
    let rules = RuleSet::parse("rules/ok.toml", &listed).expect("a listed touchpoint compiles");
    assert_eq!(rules.touchpoints(), ["moon", "earth"]);
    let condition =
        "[[rule]]\nid = \"x\"\nwhen = { field = \"touchpoint\", equals = \"moon\" }\nthen = { queue = \"cx\" }\n";
    let (line, reason) = {
        let (_, line, reason) = rejection(&cx_file(condition));
        (line, reason)
    };
    assert_eq!(line, 8);
    assert!(reason.contains("unknown touchpoint"), "{reason}");
    let kind = "[[rule]]\nid = \"x\"\nwhen = { field = \"customer_kind\", equals = \"robot\" }\nthen = { queue = \"cx\" }\n";
    let (_, _, reason) = rejection(&cx_file(kind));
    assert!(reason.contains("unknown customer kind"), "{reason}");
    let internal = "[internal]\ndefault_queue = \"nowhere\"\n";
    let (_, line, reason) = rejection(&cx_file(internal));
    assert_eq!(line, 7);
    assert!(reason.contains("unknown queue"), "{reason}");
}
