//! Measures the shipped default rule set (`rules/default.toml`) against a
//! hand-labelled corpus of customer messages (`tests/corpus/labelled.toml`).
//!
//! Run with `cargo test --test default_rules_accuracy -- --nocapture` to see
//! the report: accuracy figures and every misclassified message.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use triage::clock::UnixMicros;
use triage::rules::{CustomerHistory, RuleSet};
use triage::ticket::{Channel, Classification, Customer, Side, TicketInput};

const CORPUS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/labelled.toml");

/// Smallest corpus the accuracy figures are trusted on.
const MIN_CORPUS_SIZE: usize = 150;
/// Smallest share of messages that must land on the labelled side.
const MIN_SIDE_ACCURACY: f64 = 0.90;
/// Smallest share of messages that must get the labelled category.
const MIN_CATEGORY_ACCURACY: f64 = 0.80;
/// How many labelled examples every category needs.
const MIN_EXAMPLES_PER_CATEGORY: usize = 3;

/// Every category the default rules are expected to assign, by side.
const REACTIVE_CATEGORIES: [&str; 9] = [
    "outage",
    "bug",
    "billing",
    "refund",
    "account_access",
    "delivery",
    "cancellation",
    "complaint",
    "security",
];
const PROACTIVE_CATEGORIES: [&str; 7] = [
    "feature_request",
    "praise",
    "upgrade_interest",
    "onboarding",
    "feedback",
    "renewal",
    "churn_risk",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    message: Vec<LabelledMessage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelledMessage {
    subject: String,
    body: String,
    channel: String,
    side: String,
    category: String,
    /// Marks a mixed-signal message; reported separately.
    #[serde(default)]
    hard: bool,
}

impl LabelledMessage {
    fn expected_side(&self) -> Side {
        Side::parse(&self.side).unwrap_or_else(|| panic!("corpus message has unknown side {:?}", self.side))
    }

    fn channel(&self) -> Channel {
        Channel::ALL
            .iter()
            .find(|(_, name)| *name == self.channel)
            .map(|(channel, _)| *channel)
            .unwrap_or_else(|| panic!("corpus message has unknown channel {:?}", self.channel))
    }

    fn ticket(&self, index: usize) -> TicketInput {
        TicketInput {
            external_id: format!("corpus-{index}"),
            source: "corpus".to_string(),
            channel: self.channel(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            customer: Customer {
                id: format!("corpus-customer-{index}"),
                tier: "standard".to_string(),
                email: String::new(),
            },
            language: "en".to_string(),
            ..TicketInput::default()
        }
    }
}

fn load_corpus() -> Vec<LabelledMessage> {
    let text =
        std::fs::read_to_string(CORPUS_PATH).unwrap_or_else(|err| panic!("cannot read {CORPUS_PATH}: {err}"));
    let corpus: Corpus =
        toml::from_str(&text).unwrap_or_else(|err| panic!("cannot parse {CORPUS_PATH}: {err}"));
    corpus.message
}

fn default_rules() -> RuleSet {
    RuleSet::default_rules().unwrap_or_else(|err| panic!("default rules do not compile: {err}"))
}

/// One corpus message with what the rules made of it.
struct Outcome<'a> {
    index: usize,
    message: &'a LabelledMessage,
    actual: Classification,
}

impl Outcome<'_> {
    fn side_ok(&self) -> bool {
        self.actual.side == self.message.expected_side()
    }

    fn category_ok(&self) -> bool {
        self.side_ok() && self.actual.category == self.message.category
    }
}

fn classify_corpus<'a>(rules: &RuleSet, corpus: &'a [LabelledMessage]) -> Vec<Outcome<'a>> {
    let history = CustomerHistory::default();
    corpus
        .iter()
        .enumerate()
        .map(|(index, message)| Outcome {
            index,
            message,
            actual: rules.classify(&message.ticket(index), &history, UnixMicros(0)),
        })
        .collect()
}

fn share(outcomes: &[Outcome<'_>], ok: impl Fn(&Outcome<'_>) -> bool) -> f64 {
    if outcomes.is_empty() {
        return 0.0;
    }
    let hits = outcomes.iter().filter(|outcome| ok(outcome)).count();
    hits as f64 / outcomes.len() as f64
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Reactive => "reactive",
        Side::Proactive => "proactive",
        Side::Unclassified => "unclassified",
    }
}

fn print_report(rules: &RuleSet, outcomes: &[Outcome<'_>]) {
    let hard: Vec<&Outcome<'_>> = outcomes.iter().filter(|o| o.message.hard).collect();
    let hard_side = hard.iter().filter(|o| o.side_ok()).count();
    let hard_category = hard.iter().filter(|o| o.category_ok()).count();
    println!(
        "default rules {} on {} labelled messages ({} hard cases)",
        rules.version(),
        outcomes.len(),
        hard.len()
    );
    println!("side accuracy:     {:.3}", share(outcomes, Outcome::side_ok));
    println!("category accuracy: {:.3}", share(outcomes, Outcome::category_ok));
    println!(
        "hard cases: side {hard_side}/{}, category {hard_category}/{}",
        hard.len(),
        hard.len()
    );

    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for outcome in outcomes {
        let entry = per_category.entry(&outcome.message.category).or_default();
        entry.1 += 1;
        if outcome.category_ok() {
            entry.0 += 1;
        }
    }
    for (category, (right, total)) in &per_category {
        println!("  {category:<17} {right:>3}/{total:<3}");
    }

    for outcome in outcomes.iter().filter(|o| !o.category_ok()) {
        let message = outcome.message;
        println!(
            "MISS #{} [{}]{} expected {}/{} got {}/{} rules {:?}\n    subject: {:?}\n    body:    {:?}",
            outcome.index,
            message.channel,
            if message.hard { " (hard)" } else { "" },
            message.side,
            message.category,
            side_name(outcome.actual.side),
            outcome.actual.category,
            outcome.actual.rule_ids,
            message.subject,
            message.body,
        );
    }
}

#[test]
fn default_rules_compile_and_declare_every_routed_queue() {
    // Compiling checks that every queue a rule routes to, every escalation
    // target and the default queue are declared.
    let rules = default_rules();
    assert!(rules.rule_count() > 0, "the default rule set has no rules");
    assert!(
        rules.queue("triage").is_some(),
        "default rules must declare the triage queue for unmatched tickets"
    );
    for queue in rules.queues() {
        if let Some(target) = &queue.escalate_to {
            assert!(
                rules.queue(target).is_some(),
                "queue {} escalates to undeclared {target}",
                queue.name
            );
        }
    }
}

#[test]
fn corpus_covers_every_category_at_least_three_times() {
    let corpus = load_corpus();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for message in &corpus {
        *counts.entry(message.category.as_str()).or_default() += 1;
    }
    let expected: BTreeSet<&str> = REACTIVE_CATEGORIES
        .iter()
        .chain(PROACTIVE_CATEGORIES.iter())
        .copied()
        .collect();
    for category in &expected {
        let count = counts.get(category).copied().unwrap_or(0);
        assert!(
            count >= MIN_EXAMPLES_PER_CATEGORY,
            "category {category} has {count} labelled messages, want at least {MIN_EXAMPLES_PER_CATEGORY}"
        );
    }
    let unknown: Vec<_> = counts.keys().filter(|c| !expected.contains(*c)).collect();
    assert!(unknown.is_empty(), "corpus uses unknown categories {unknown:?}");
}

#[test]
fn corpus_labels_pair_each_category_with_its_side() {
    for (index, message) in load_corpus().iter().enumerate() {
        let expected_categories: &[&str] = match message.expected_side() {
            Side::Reactive => &REACTIVE_CATEGORIES,
            Side::Proactive => &PROACTIVE_CATEGORIES,
            Side::Unclassified => &[],
        };
        assert!(
            expected_categories.contains(&message.category.as_str()),
            "message #{index} is labelled {}/{}, a category of the other side",
            message.side,
            message.category
        );
    }
}

#[test]
fn default_rules_classify_labelled_corpus_accurately() {
    let rules = default_rules();
    let corpus = load_corpus();
    let outcomes = classify_corpus(&rules, &corpus);
    print_report(&rules, &outcomes);

    let side_accuracy = share(&outcomes, Outcome::side_ok);
    let category_accuracy = share(&outcomes, Outcome::category_ok);
    assert!(
        corpus.len() >= MIN_CORPUS_SIZE,
        "corpus has {} messages, want at least {MIN_CORPUS_SIZE}",
        corpus.len()
    );
    assert!(
        side_accuracy >= MIN_SIDE_ACCURACY,
        "side accuracy {side_accuracy:.3} is below {MIN_SIDE_ACCURACY}"
    );
    assert!(
        category_accuracy >= MIN_CATEGORY_ACCURACY,
        "category accuracy {category_accuracy:.3} is below {MIN_CATEGORY_ACCURACY}"
    );
}
