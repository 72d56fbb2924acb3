//! The offline rule tools, run as the real binary: `triage rules validate
//! FILE` and `triage rules explain FILE < ticket.json`.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn triage(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("finishes")
}

fn rule_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn validate_passes_a_good_file_with_a_summary() {
    let dir = tempfile::tempdir().expect("dir");
    let path = rule_file(&dir, common::TEST_RULES);
    let output = triage(&["rules", "validate", &path], "");
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).contains("ok, version test-1, 5 rules, 5 queues, 0 warnings"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn validate_fails_a_bad_file_naming_line_and_column() {
    let dir = tempfile::tempdir().expect("dir");
    let path = rule_file(
        &dir,
        "default_queue = \"inbox\"\n[[queue]]\nname = \"inbox\"\nescalate_to = \"inbox\"\n",
    );
    let output = triage(&["rules", "validate", &path], "");
    assert!(!output.status.success());
    let report = stdout(&output);
    assert!(
        report.contains("rules.toml:4:15: error: escalation cycle: inbox -> inbox"),
        "{report}"
    );
}

#[test]
fn validate_prints_warnings_and_still_passes() {
    let dir = tempfile::tempdir().expect("dir");
    let text = format!(
        "{}\n[[rule]]\nid = \"never\"\nwhen = {{ sentiment = {{ above = 0.5, below = 0.2 }} }}\nthen = {{ add_tags = [\"x\"] }}\n",
        common::TEST_RULES
    );
    let path = rule_file(&dir, &text);
    let output = triage(&["rules", "validate", &path], "");
    assert!(output.status.success(), "{output:?}");
    let report = stdout(&output);
    assert!(
        report.contains(": warning: rule \"never\" can never fire"),
        "{report}"
    );
    assert!(report.contains("1 warnings"), "{report}");
}

#[test]
fn explain_reads_a_ticket_from_standard_input() {
    let dir = tempfile::tempdir().expect("dir");
    let path = rule_file(&dir, common::TEST_RULES);
    let ticket = r#"{"subject": "Help", "body": "The site is down", "channel": "chat"}"#;
    let output = triage(&["rules", "explain", &path], ticket);
    assert!(output.status.success(), "{output:?}");
    let report = stdout(&output);
    assert!(
        report.contains("rule \"outage\" (line 30): FIRED (stop)"),
        "{report}"
    );
    assert!(
        report.contains("matched \"is down\" in body at 9..16"),
        "{report}"
    );
    assert!(
        report.contains("stopped: rule \"outage\" (line 30) fired"),
        "{report}"
    );
}

#[test]
fn explain_refuses_bad_json_with_the_reason() {
    let dir = tempfile::tempdir().expect("dir");
    let path = rule_file(&dir, common::TEST_RULES);
    let output = triage(&["rules", "explain", &path], "{\"subjet\": \"x\"}");
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("subjet"), "{errors}");
}
