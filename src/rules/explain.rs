//! Why a ticket was classified as it was: every rule in file order, whether
//! its condition held, each condition's outcome with what it saw (the text
//! that matched, the sentiment or lexicon score, the history count), and
//! why evaluation stopped.
//!
//! It walks the same compiled conditions as [`RuleSet::classify`] with the
//! same scan of the ticket's texts, but evaluates every rule and every part
//! of every condition (no candidate selection, no short cut), and finds
//! where each text condition that held matched by testing it on its own.

use super::condition::{self, Condition, Facts, Field, ValueTest};
use super::text::fold;
use super::{Rule, RuleSet};
use crate::clock::UnixMicros;
use crate::rules::CustomerHistory;
use crate::ticket::{Classification, TextPart, TicketInput};

/// How the rule set decided one ticket.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The decision, as `classify` makes it.
    pub classification: Classification,
    /// The compound sentiment of the customer's words (-1 to 1).
    pub sentiment: f32,
    /// Every rule evaluated, in file order (rules after a firing `stop`
    /// rule are not evaluated and not listed).
    pub rules: Vec<RuleTrace>,
    /// Why evaluation ended.
    pub stop: StopReason,
}

impl Explanation {
    /// The ids of the rules that fired, in order.
    pub fn fired(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|rule| rule.fired)
            .map(|rule| rule.rule_id.as_str())
            .collect()
    }
}

/// Why evaluation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A rule with `stop = true` fired.
    StopRule {
        /// Its id.
        rule_id: String,
        /// Its line in the rule file.
        line: usize,
    },
    /// Every rule was evaluated.
    EndOfRules,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::StopRule { rule_id, line } => write!(
                f,
                "rule {rule_id:?} (line {line}) fired and has stop = true: later rules were not evaluated"
            ),
            StopReason::EndOfRules => write!(f, "every rule was evaluated (no stop rule fired)"),
        }
    }
}

/// One rule's evaluation.
#[derive(Debug, Clone)]
pub struct RuleTrace {
    /// The rule's id.
    pub rule_id: String,
    /// Where it starts in the rule file.
    pub line: usize,
    /// What it is for.
    pub description: String,
    /// Whether its condition held (so it fired and applied its actions).
    pub fired: bool,
    /// Whether it has `stop = true`.
    pub stop: bool,
    /// Its condition's outcome.
    pub condition: ConditionTrace,
}

/// One condition's outcome, with its parts for `all`, `any` and `not`.
#[derive(Debug, Clone)]
pub struct ConditionTrace {
    /// The condition as the rule file writes it, e.g. `body contains "refund"`.
    pub description: String,
    /// Whether it held.
    pub held: bool,
    /// The parts of `all`, `any` or `not`, each evaluated.
    pub parts: Vec<ConditionTrace>,
    /// For text conditions: where each text read matched.
    pub matches: Vec<TextMatch>,
    /// For sentiment, score and history conditions: the value compared
    /// (the compound sentiment, the lexicon's score, the count of tickets).
    pub value: Option<f32>,
}

/// Where a text condition matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    /// The text part.
    pub part: TextPart,
    /// Byte offsets in the part's normalised text (for `contains` and
    /// `any_of`, in its case-folded form).
    pub start: usize,
    /// End of the match, exclusive.
    pub end: usize,
    /// The text matched.
    pub text: String,
    /// The keyword that matched (the pattern, for a regex).
    pub term: String,
}

impl RuleSet {
    /// Explains how this rule set classifies `input`.
    pub fn explain(&self, input: &TicketInput, history: &CustomerHistory, now: UnixMicros) -> Explanation {
        let prepared = self.prepare(input);
        let hits = self.scanner.scan(&prepared);
        let scanned = condition::from_hits(&hits);
        let sentiment = crate::sentiment::score(&prepared.customer_words());
        let scored = self
            .lexicons
            .score(hits.terms(), prepared.subject_is_reply, sentiment.compound);
        let facts = Facts {
            input,
            prepared: &prepared,
            scores: &scored.scores,
            sentiment: sentiment.compound,
            history,
            now,
            scanned: &scanned,
        };
        let mut rules = Vec::new();
        let mut fired = Vec::new();
        let mut stop = StopReason::EndOfRules;
        for rule in &self.rules {
            let trace = self.trace_rule(rule, &facts);
            let stops = trace.fired && rule.stop;
            if trace.fired {
                fired.push(rule);
            }
            rules.push(trace);
            if stops {
                stop = StopReason::StopRule {
                    rule_id: rule.id.clone(),
                    line: rule.line,
                };
                break;
            }
        }
        let mut classification = self.outcome(fired.into_iter(), input);
        classification.scores = self.lexicons.named_scores(&scored.scores);
        classification.evidence = scored.evidence;
        let compound = sentiment.compound;
        classification.sentiment = sentiment;
        Explanation {
            classification,
            sentiment: compound,
            rules,
            stop,
        }
    }

    fn trace_rule(&self, rule: &Rule, facts: &Facts<'_>) -> RuleTrace {
        let condition = self.trace(&rule.condition, facts);
        RuleTrace {
            rule_id: rule.id.clone(),
            line: rule.line,
            description: rule.description.clone(),
            fired: condition.held,
            stop: rule.stop,
            condition,
        }
    }

    /// Traces `condition`, every part of it (no short cut: a reader sees
    /// each outcome). Whether a test held is the evaluator's own answer;
    /// `all`, `any` and `not` combine their parts' as the evaluator does.
    fn trace(&self, condition: &Condition, facts: &Facts<'_>) -> ConditionTrace {
        let mut trace = ConditionTrace {
            description: String::new(),
            held: false,
            parts: Vec::new(),
            matches: Vec::new(),
            value: None,
        };
        match condition {
            Condition::All(parts) | Condition::Any(parts) => {
                let all = matches!(condition, Condition::All(_));
                trace.description = match (all, parts.is_empty()) {
                    (true, true) => "always (an empty all)".into(),
                    (false, true) => "never (an empty any)".into(),
                    (true, false) => "all of".into(),
                    (false, false) => "any of".into(),
                };
                trace.parts = parts.iter().map(|part| self.trace(part, facts)).collect();
                trace.held = if all {
                    trace.parts.iter().all(|part| part.held)
                } else {
                    trace.parts.iter().any(|part| part.held)
                };
                return trace;
            }
            Condition::Not(part) => {
                trace.description = "not".into();
                trace.parts = vec![self.trace(part, facts)];
                trace.held = !trace.parts.iter().all(|part| part.held);
                return trace;
            }
            Condition::Scanned(index) => {
                trace.held = condition.holds(facts);
                if let Some((field, test)) = self.text_tests.get(*index) {
                    trace.description = format!("{} {}", field.name(), test.describe());
                    if trace.held {
                        trace.matches = text_matches(field, test, facts);
                    }
                }
                return trace;
            }
            Condition::Value { field, test } => {
                let values = field.values(facts.input);
                trace.description =
                    format!("{} {} (the ticket has {values:?})", field.name(), test.describe());
            }
            Condition::History(test) => {
                let count = test.count(facts.history, facts.now);
                trace.description = describe_history(test, count);
                #[allow(clippy::cast_precision_loss)] // counts are small
                let value = count as f32;
                trace.value = Some(value);
            }
            Condition::Score {
                lexicon,
                at_least,
                at_most,
            } => {
                let score = facts.scores.get(*lexicon).copied().unwrap_or(0.0);
                let name = self.lexicons.names.get(*lexicon).map_or("?", String::as_str);
                trace.description = format!(
                    "score {name:?}{}{} (the score is {score})",
                    bound(" at_least", *at_least),
                    bound(" at_most", *at_most)
                );
                trace.value = Some(score);
            }
            Condition::Sentiment { above, below } => {
                trace.description = format!(
                    "sentiment{}{} (the sentiment is {})",
                    bound(" above", *above),
                    bound(" below", *below),
                    facts.sentiment
                );
                trace.value = Some(facts.sentiment);
            }
        }
        trace.held = condition.holds(facts);
        trace
    }
}

/// Where a text test matches each part its field reads.
fn text_matches(field: &Field, test: &ValueTest, facts: &Facts<'_>) -> Vec<TextMatch> {
    field
        .parts()
        .into_iter()
        .filter_map(|part| {
            let value = facts.prepared.text(part);
            let (span, term) = test.find(value)?;
            let seen = match test {
                ValueTest::Regex(_) => value.get(span.clone()).map(str::to_string),
                _ => fold(value).get(span.clone()).map(str::to_string),
            };
            Some(TextMatch {
                part,
                start: span.start,
                end: span.end,
                text: seen.unwrap_or_default(),
                term,
            })
        })
        .collect()
}

fn bound(name: &str, value: Option<f32>) -> String {
    value.map(|value| format!("{name} {value}")).unwrap_or_default()
}

fn describe_history(test: &condition::HistoryTest, count: u32) -> String {
    let mut filters = Vec::new();
    if let Some(days) = test.within_days {
        filters.push(format!("within {days} days"));
    }
    if let Some(side) = test.side {
        filters.push(format!("side {}", side.name()));
    }
    if let Some(category) = &test.category {
        filters.push(format!("category {category:?}"));
    }
    if let Some(open) = test.open {
        filters.push(if open { "open".into() } else { "completed".into() });
    }
    let filters = if filters.is_empty() {
        String::new()
    } else {
        format!(" ({})", filters.join(", "))
    };
    format!(
        "history: earlier tickets{filters}{}{} (the customer has {count})",
        test.at_least
            .map(|n| format!(" at_least {n}"))
            .unwrap_or_default(),
        test.at_most.map(|n| format!(" at_most {n}")).unwrap_or_default(),
    )
}
