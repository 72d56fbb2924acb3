//! Explain agrees with classify: on every message of the corpora under
//! `tests/corpus`, the rules explain says fired are the rules classify
//! records, and the side is the same. And an explanation says what a
//! person needs: each condition's outcome, the text that matched, the
//! values compared, and why evaluation stopped.

mod common;

use std::path::Path;

use serde::Deserialize;
use triage::clock::UnixMicros;
use triage::rules::{CustomerHistory, RuleSet, StopReason};
use triage::ticket::{Channel, TextPart, TicketInput};

const NOW: UnixMicros = common::START;

#[derive(Deserialize)]
struct Labelled {
    message: Vec<LabelledMessage>,
}

#[derive(Deserialize)]
struct LabelledMessage {
    subject: String,
    body: String,
    channel: String,
}

#[derive(Deserialize)]
struct RealMessage {
    id: String,
    text: String,
    #[serde(default)]
    subject: String,
}

fn corpus() -> Vec<(String, TicketInput)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let labelled: Labelled =
        toml::from_str(&std::fs::read_to_string(root.join("labelled.toml")).expect("read"))
            .expect("labelled.toml parses");
    let mut tickets: Vec<(String, TicketInput)> = labelled
        .message
        .into_iter()
        .enumerate()
        .map(|(at, message)| {
            let channel = Channel::ALL
                .iter()
                .find(|(_, name)| *name == message.channel)
                .map_or(Channel::Email, |(channel, _)| *channel);
            let input = TicketInput {
                subject: message.subject,
                body: message.body,
                channel,
                ..TicketInput::default()
            };
            (format!("labelled.toml #{at}"), input)
        })
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(root.join("real"))
        .expect("tests/corpus/real")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let message: RealMessage = serde_json::from_str(line).expect("a corpus line parses");
            let input = TicketInput {
                subject: message.subject,
                body: message.text,
                channel: Channel::Web,
                ..TicketInput::default()
            };
            tickets.push((message.id, input));
        }
    }
    tickets
}

#[test]
fn explain_fires_the_rules_classify_records_on_every_corpus_message() {
    let rules = RuleSet::default_rules().expect("default rules compile");
    let tickets = corpus();
    assert!(tickets.len() > 3000, "{} messages", tickets.len());
    let history = CustomerHistory::default();
    let mut disagreements = Vec::new();
    for (name, input) in &tickets {
        let classified = rules.classify(input, &history, NOW);
        let explained = rules.explain(input, &history, NOW);
        let fired: Vec<String> = explained.fired().into_iter().map(str::to_string).collect();
        if fired != classified.rule_ids || explained.classification.side != classified.side {
            disagreements.push(format!(
                "{name}: classify {:?} {:?}, explain {:?} {:?}",
                classified.side, classified.rule_ids, explained.classification.side, fired
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

fn test_rules() -> RuleSet {
    RuleSet::parse("test.toml", common::TEST_RULES).expect("test rules compile")
}

fn input(subject: &str, body: &str) -> TicketInput {
    TicketInput {
        subject: subject.into(),
        body: body.into(),
        ..TicketInput::default()
    }
}

#[test]
fn explain_names_the_stop_rule_and_the_matched_keyword() {
    let explained = test_rules().explain(
        &input("Help", "The site is down again"),
        &CustomerHistory::default(),
        NOW,
    );
    assert_eq!(
        explained.stop,
        StopReason::StopRule {
            rule_id: "outage".into(),
            line: 30
        }
    );
    assert_eq!(
        explained.rules.len(),
        1,
        "nothing after the stop rule is evaluated"
    );
    let outage = &explained.rules[0];
    assert!(outage.fired);
    assert_eq!(
        outage.condition.description,
        "text any_of [\"outage\", \"is down\"]"
    );
    let matched = &outage.condition.matches;
    assert_eq!(matched.len(), 1, "{matched:?}");
    assert_eq!(
        (matched[0].part, matched[0].text.as_str()),
        (TextPart::Body, "is down")
    );
    assert_eq!((matched[0].start, matched[0].end), (9, 16));
}

#[test]
fn explain_shows_every_condition_of_a_rule_that_did_not_fire() {
    let explained = test_rules().explain(
        &input("Thanks for the invoice", "all good"),
        &CustomerHistory::default(),
        NOW,
    );
    assert_eq!(explained.stop, StopReason::EndOfRules);
    assert_eq!(explained.rules.len(), 5, "every rule evaluated");
    let billing = &explained.rules[1];
    assert_eq!(billing.rule_id, "billing");
    assert!(!billing.fired);
    let parts: Vec<(&str, bool)> = billing
        .condition
        .parts
        .iter()
        .map(|part| (part.description.as_str(), part.held))
        .collect();
    assert_eq!(
        parts,
        vec![
            ("text any_of [\"charged\", \"invoice\", \"refund\"]", true),
            ("not", false)
        ]
    );
    let not = &billing.condition.parts[1].parts[0];
    assert_eq!(not.matches[0].text, "thank");
    let history = &explained.rules[4].condition;
    assert_eq!(history.value, Some(0.0));
    assert!(
        history.description.contains("the customer has 0"),
        "{}",
        history.description
    );
}

#[test]
fn explain_shows_the_sentiment_and_score_it_compared() {
    let text = "version = \"s\"\ndefault_queue = \"inbox\"\n[[queue]]\nname = \"inbox\"\n\
        [lexicon.problem]\nbroken = 2.0\n\
        [[rule]]\nid = \"angry\"\nwhen = { sentiment = { below = -0.3 } }\nthen = { add_tags = [\"angry\"] }\n\
        [[rule]]\nid = \"problem\"\nwhen = { score = \"problem\", at_least = 1.5 }\nthen = { add_tags = [\"problem\"] }\n";
    let rules = RuleSet::parse("s.toml", text).expect("compiles");
    let explained = rules.explain(
        &input("", "This is broken and I am furious, terrible service"),
        &CustomerHistory::default(),
        NOW,
    );
    let sentiment = &explained.rules[0].condition;
    assert!(sentiment.held);
    assert_eq!(sentiment.value, Some(explained.sentiment));
    assert!(explained.sentiment < -0.3, "{}", explained.sentiment);
    let score = &explained.rules[1].condition;
    assert_eq!(score.value, Some(2.0));
    assert!(
        score.description.contains("the score is 2"),
        "{}",
        score.description
    );
}
