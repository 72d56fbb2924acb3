//! Limits on rule files: each one beyond is refused naming the limit and
//! the value, and the defaults take ten thousand rules like the shipped ones.

use triage::rules::{LexiconFiles, RuleError, RuleLimits, RuleSet};

const QUEUES: &str = "default_queue = \"inbox\"\n[[queue]]\nname = \"inbox\"\n";

fn rule(id: usize, when: &str) -> String {
    format!("[[rule]]\nid = \"r{id}\"\nwhen = {when}\nthen = {{ queue = \"inbox\" }}\n")
}

fn compile(text: &str, limits: &RuleLimits) -> Result<RuleSet, RuleError> {
    RuleSet::compile_text("limits.toml", text, &LexiconFiles::Embedded, limits)
}

/// The reason and line of a refusal.
fn refusal(text: &str, limits: &RuleLimits) -> (usize, String) {
    match compile(text, limits) {
        Err(RuleError::Invalid { line, reason, .. }) => (line, reason),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_with_its_size() {
    let text = format!("{QUEUES}{}", rule(1, "{ field = \"body\", contains = \"x\" }"));
    let limits = RuleLimits {
        max_file_bytes: 64,
        ..RuleLimits::default()
    };
    let (_, reason) = refusal(&text, &limits);
    let expected = format!(
        "file is {} bytes, over the limit of 64 (max_file_bytes)",
        text.len()
    );
    assert_eq!(reason, expected);
}

#[test]
fn a_file_on_disk_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("big.toml");
    std::fs::write(&path, "x".repeat(1000)).expect("write");
    let limits = RuleLimits {
        max_file_bytes: 999,
        ..RuleLimits::default()
    };
    let err = RuleSet::load_within(&path, &limits).expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("big.toml:1:1: file is 1000 bytes, over the limit of 999 (max_file_bytes)"),
        "{message}"
    );
}

#[test]
fn more_rules_than_the_limit_are_refused_at_the_first_one_over() {
    let mut text = QUEUES.to_string();
    for id in 0..4 {
        text.push_str(&rule(id, "{ field = \"body\", contains = \"x\" }"));
    }
    let limits = RuleLimits {
        max_rules: 3,
        ..RuleLimits::default()
    };
    let (line, reason) = refusal(&text, &limits);
    assert_eq!(line, 4 + 3 * 4, "the fourth rule");
    assert_eq!(reason, "4 rules, over the limit of 3 (max_rules)");
    assert!(compile(
        &text,
        &RuleLimits {
            max_rules: 4,
            ..limits
        }
    )
    .is_ok());
}

#[test]
fn more_literals_than_the_limit_are_refused_naming_the_limit() {
    let text = format!(
        "{QUEUES}{}{}",
        rule(1, "{ field = \"body\", any_of = [\"a\", \"b\"] }"),
        rule(2, "{ field = \"body\", contains = \"c\" }")
    );
    let limits = RuleLimits {
        max_literals: 2,
        ..RuleLimits::default()
    };
    let (line, reason) = refusal(&text, &limits);
    assert_eq!(line, 10, "the condition that went over");
    assert!(
        reason.starts_with("more than 2 keyword literals (max_literals"),
        "{reason}"
    );
    assert!(compile(
        &text,
        &RuleLimits {
            max_literals: 3,
            ..limits
        }
    )
    .is_ok());
}

#[test]
fn lexicon_terms_count_as_literals() {
    let text = format!("{QUEUES}[lexicon.tone]\ngood = 1.0\nbad = -1.0\n");
    let limits = RuleLimits {
        max_literals: 1,
        ..RuleLimits::default()
    };
    let (_, reason) = refusal(&text, &limits);
    assert!(reason.contains("max_literals"), "{reason}");
}

#[test]
fn more_regexes_than_the_limit_are_refused_naming_the_limit() {
    let text = format!(
        "{QUEUES}{}{}",
        rule(1, "{ field = \"body\", regex = \"a+\" }"),
        rule(2, "{ field = \"body\", regex = \"b+\" }")
    );
    let limits = RuleLimits {
        max_regexes: 1,
        ..RuleLimits::default()
    };
    let (line, reason) = refusal(&text, &limits);
    assert_eq!(line, 10);
    assert_eq!(reason, "more than 1 regexes (max_regexes)");
}

#[test]
fn a_regex_compiling_over_the_size_limit_is_refused_naming_the_limit() {
    let text = format!(
        "{QUEUES}{}",
        rule(1, "{ field = \"body\", regex = \"(?i)\\\\w{3}\" }")
    );
    let limits = RuleLimits {
        max_regex_bytes: 10_000,
        ..RuleLimits::default()
    };
    let (line, reason) = refusal(&text, &limits);
    assert_eq!(line, 6);
    assert!(
        reason.contains("over the limit of 10000 (max_regex_bytes)"),
        "{reason}"
    );
    assert!(compile(&text, &RuleLimits::default()).is_ok(), "fits the default");
}

/// Ten thousand rules: the shipped rule set's rules, copied with new ids
/// until there are as many, with its lexicon beside it.
fn ten_thousand_rules(dir: &std::path::Path) -> std::path::PathBuf {
    let shipped = triage::rules::DEFAULT_RULES;
    let first = shipped.find("[[rule]]").expect("the default rules have rules");
    let (head, rules) = shipped.split_at(first);
    let rules: Vec<&str> = rules.split("[[rule]]").filter(|rule| !rule.is_empty()).collect();
    let mut text = head.to_string();
    for copy in 0..10_000usize.div_ceil(rules.len()) {
        for rule in &rules {
            let renamed = rule.replacen("\nid = \"", &format!("\nid = \"c{copy}-"), 1);
            text.push_str("[[rule]]");
            text.push_str(&renamed);
        }
    }
    std::fs::write(
        dir.join(triage::rules::DEFAULT_LEXICON_FILE),
        triage::rules::DEFAULT_LEXICON,
    )
    .expect("write lexicon");
    let path = dir.join("big.toml");
    std::fs::write(&path, text).expect("write rules");
    path
}

#[test]
fn the_default_limits_take_ten_thousand_rules_like_the_shipped_ones() {
    let dir = tempfile::tempdir().expect("dir");
    let path = ten_thousand_rules(dir.path());
    let rules = RuleSet::load(&path).unwrap_or_else(|err| panic!("{err}"));
    assert!(rules.rule_count() >= 10_000, "{}", rules.rule_count());
}
