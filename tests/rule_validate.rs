//! Validating a candidate rule file: errors with line, column and reason;
//! warnings for rules that can never fire and queues nothing uses.

use triage::rules::{validate, Diagnostic, LexiconFiles, RuleLimits};

const QUEUES: &str = "default_queue = \"inbox\"\n[[queue]]\nname = \"inbox\"\n";

fn rule(id: &str, when: &str, stop: bool) -> String {
    format!("[[rule]]\nid = \"{id}\"\nstop = {stop}\nwhen = {when}\nthen = {{ queue = \"inbox\" }}\n")
}

fn warnings(text: &str) -> Vec<Diagnostic> {
    let validation = validate(
        "candidate.toml",
        text,
        &LexiconFiles::Embedded,
        &RuleLimits::default(),
    );
    assert!(validation.is_valid(), "{:?}", validation.errors);
    validation.warnings
}

/// (line, rule id, message) of each warning.
fn found(text: &str) -> Vec<(usize, Option<String>, String)> {
    warnings(text)
        .into_iter()
        .map(|warning| (warning.line, warning.rule_id, warning.message))
        .collect()
}

#[test]
fn an_error_has_line_column_and_reason() {
    let text = format!(
        "{QUEUES}{}",
        rule("x", "{ field = \"body\", regex = \"(\" }", false)
    );
    let validation = validate(
        "candidate.toml",
        &text,
        &LexiconFiles::Embedded,
        &RuleLimits::default(),
    );
    assert!(!validation.is_valid());
    assert!(validation.rules.is_none());
    let error = &validation.errors[0];
    assert_eq!(
        (error.file.as_str(), error.line, error.column),
        ("candidate.toml", 7, 34)
    );
    assert!(error.message.contains("bad regex"), "{}", error.message);
}

#[test]
fn a_clean_file_has_no_warnings() {
    let text = format!(
        "{QUEUES}{}{}",
        rule("a", "{ field = \"body\", contains = \"a\" }", true),
        rule("b", "{ field = \"body\", contains = \"b\" }", false)
    );
    assert_eq!(found(&text), vec![]);
}

#[test]
fn a_rule_after_an_unconditional_stop_rule_is_warned_about() {
    let text = format!(
        "{QUEUES}{}{}",
        rule("catch-all", "{ all = [] }", true),
        rule("late", "{ field = \"body\", contains = \"b\" }", false)
    );
    let warnings = found(&text);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let (line, id, message) = &warnings[0];
    assert_eq!((*line, id.as_deref()), (9, Some("late")));
    assert!(
        message.contains("\"catch-all\" (line 4) always fires and has stop = true"),
        "{message}"
    );
}

#[test]
fn a_rule_shadowed_by_a_stop_rule_with_the_same_condition_is_warned_about() {
    let when = "{ field = \"text\", any_of = [\"refund\", \"money back\"] }";
    let text = format!(
        "{QUEUES}{}{}",
        rule("first", when, true),
        rule("second", when, false)
    );
    let warnings = found(&text);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].1.as_deref(), Some("second"));
    assert!(
        warnings[0].2.contains("rule \"first\" (line 4)"),
        "{}",
        warnings[0].2
    );
}

#[test]
fn a_narrower_rule_after_a_broader_stop_rule_is_warned_about() {
    let broad = "{ field = \"body\", contains = \"refund\" }";
    let narrow = "{ all = [ { field = \"body\", contains = \"refund\" }, { field = \"channel\", equals = \"chat\" } ] }";
    let text = format!(
        "{QUEUES}{}{}",
        rule("broad", broad, true),
        rule("narrow", narrow, false)
    );
    assert_eq!(found(&text).len(), 1);
    // The other way round nothing is shadowed.
    let text = format!(
        "{QUEUES}{}{}",
        rule("narrow", narrow, true),
        rule("broad", broad, false)
    );
    assert_eq!(found(&text), vec![]);
}

#[test]
fn an_earlier_rule_without_stop_shadows_nothing() {
    let when = "{ field = \"body\", contains = \"a\" }";
    let text = format!(
        "{QUEUES}{}{}",
        rule("first", when, false),
        rule("second", when, false)
    );
    assert_eq!(found(&text), vec![]);
}

#[test]
fn contradictory_sentiment_bounds_are_warned_about() {
    for when in [
        "{ sentiment = { above = 0.5, below = 0.2 } }",
        "{ all = [ { sentiment = { above = 0.5 } }, { sentiment = { below = 0.2 } } ] }",
    ] {
        let warnings = found(&format!("{QUEUES}{}", rule("never", when, false)));
        assert_eq!(warnings.len(), 1, "{when}: {warnings:?}");
        assert!(
            warnings[0]
                .2
                .contains("cannot hold (sentiment above 0.5 and below 0.2)"),
            "{}",
            warnings[0].2
        );
    }
}

#[test]
fn contradictory_score_bounds_are_warned_about() {
    let text = format!(
        "{QUEUES}[lexicon.problem]\nbroken = 1.0\n{}",
        rule(
            "never",
            "{ score = \"problem\", at_least = 3, at_most = 1 }",
            false
        )
    );
    let warnings = found(&text);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].2.contains("score \"problem\" at_least 3 at_most 1"),
        "{}",
        warnings[0].2
    );
}

#[test]
fn an_unused_queue_is_warned_about_at_its_declaration() {
    let text = format!(
        "{QUEUES}[[queue]]\nname = \"forgotten\"\n[[queue]]\nname = \"escalations\"\n[[queue]]\nname = \"vip\"\nescalate_to = \"escalations\"\n{}",
        "[[rule]]\nid = \"v\"\nwhen = { field = \"tier\", equals = \"vip\" }\nthen = { queue = \"vip\" }\n"
    );
    let warnings = found(&text);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].0, 4);
    assert!(
        warnings[0].2.contains("queue \"forgotten\" is never used"),
        "{}",
        warnings[0].2
    );
}

#[test]
fn an_escalation_cycle_is_an_error() {
    let text = format!("{QUEUES}[[queue]]\nname = \"a\"\nescalate_to = \"a\"\n");
    let validation = validate(
        "candidate.toml",
        &text,
        &LexiconFiles::Embedded,
        &RuleLimits::default(),
    );
    assert_eq!(validation.errors.len(), 1);
    assert!(
        validation.errors[0].message.contains("escalation cycle"),
        "{:?}",
        validation.errors
    );
}

#[test]
fn the_shipped_rules_validate_without_errors() {
    let validation = validate(
        "default.toml",
        triage::rules::DEFAULT_RULES,
        &LexiconFiles::Embedded,
        &RuleLimits::default(),
    );
    assert!(validation.is_valid(), "{:?}", validation.errors);
}
