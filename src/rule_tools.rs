//! The offline rule tools behind `triage rules validate FILE` and `triage
//! rules explain FILE < ticket.json`: they need no server, and print for a
//! person at a terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::rules::{ConditionTrace, Explanation, LexiconFiles, RuleLimits, RuleSet, Validation};
use crate::ticket::{Channel, Customer, TicketInput};

/// Validates the rule file at `path`: the report to print, and whether the
/// file compiles (warnings do not make it fail).
pub fn validate_file(path: &Path, limits: &RuleLimits) -> (String, bool) {
    let file = path.display().to_string();
    let base_dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let validation = match std::fs::read_to_string(path) {
        Ok(text) => crate::rules::validate(&file, &text, &LexiconFiles::Dir(base_dir), limits),
        Err(err) => Validation {
            rules: None,
            errors: vec![crate::rules::Diagnostic::from(&crate::rules::RuleError::Read {
                file: file.clone(),
                source: err,
            })],
            warnings: Vec::new(),
        },
    };
    (validation_report(&file, &validation), validation.is_valid())
}

/// One line per error and warning, then a summary line.
pub fn validation_report(file: &str, validation: &Validation) -> String {
    let mut report = String::new();
    for error in &validation.errors {
        let _ = writeln!(
            report,
            "{}:{}:{}: error: {}",
            error.file, error.line, error.column, error.message
        );
    }
    for warning in &validation.warnings {
        let _ = writeln!(
            report,
            "{}:{}:{}: warning: {}",
            warning.file, warning.line, warning.column, warning.message
        );
    }
    let _ = match &validation.rules {
        Some(rules) => writeln!(
            report,
            "{file}: ok, version {}, {} rules, {} queues, {} warnings",
            rules.version(),
            rules.rule_count(),
            rules.queues().len(),
            validation.warnings.len()
        ),
        None => writeln!(report, "{file}: invalid, {} errors", validation.errors.len()),
    };
    report
}

/// A ticket as `triage rules explain` reads it from JSON: every field
/// optional; `text` is accepted for `body` (as in the labelled corpora).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TicketJson {
    /// Subject line.
    pub subject: String,
    /// Message text.
    pub body: String,
    /// Message text, when `body` is absent.
    pub text: String,
    /// email, chat, phone, social, web or internal.
    pub channel: Option<String>,
    /// The customer: `{ "id": ..., "tier": ..., "email": ... }`.
    pub customer: CustomerJson,
    /// Language tag.
    pub language: String,
    /// Source integration.
    pub source: String,
    /// Helpdesk tags.
    pub tags: Vec<String>,
    /// Other helpdesk fields.
    pub attributes: BTreeMap<String, String>,
    /// Ignored (accepted so corpus lines can be piped in).
    pub id: Option<serde_json::Value>,
    /// Ignored (a label of a corpus line).
    pub side: Option<serde_json::Value>,
    /// Ignored (a label of a corpus line).
    pub category: Option<serde_json::Value>,
    /// Ignored (a label of a corpus line).
    pub label: Option<serde_json::Value>,
    /// Ignored (a corpus line's split).
    pub split: Option<serde_json::Value>,
}

/// The customer of a [`TicketJson`]; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerJson {
    /// The helpdesk's customer id.
    pub id: String,
    /// Service tier.
    pub tier: String,
    /// Contact e-mail address.
    pub email: String,
}

impl TicketJson {
    /// Parses one ticket from JSON text.
    pub fn parse(json: &str) -> Result<TicketInput, String> {
        let ticket: TicketJson = serde_json::from_str(json).map_err(|err| format!("ticket JSON: {err}"))?;
        let channel = match ticket.channel.as_deref() {
            None | Some("") => Channel::default(),
            Some(name) => Channel::ALL
                .iter()
                .find(|(_, known)| known.eq_ignore_ascii_case(name))
                .map(|(channel, _)| *channel)
                .ok_or_else(|| format!("ticket JSON: unknown channel {name:?}"))?,
        };
        Ok(TicketInput {
            external_id: "explain".into(),
            source: ticket.source,
            channel,
            subject: ticket.subject,
            body: if ticket.body.is_empty() {
                ticket.text
            } else {
                ticket.body
            },
            customer: Customer {
                id: ticket.customer.id,
                tier: ticket.customer.tier,
                email: ticket.customer.email,
                kind: crate::ticket::CustomerKind::default(),
            },
            language: ticket.language,
            tags: ticket.tags,
            created_at: None,
            attributes: ticket.attributes,
            touchpoint: String::new(),
        })
    }
}

/// Explains how `rules` classify the ticket in `json` (no customer
/// history: the tool has no store), as text for a person.
pub fn explain_json(rules: &RuleSet, json: &str, now: crate::clock::UnixMicros) -> Result<String, String> {
    let input = TicketJson::parse(json)?;
    let explanation = rules.explain(&input, &crate::rules::CustomerHistory::default(), now);
    Ok(explanation_report(rules, &explanation))
}

/// An explanation as indented text.
pub fn explanation_report(rules: &RuleSet, explanation: &Explanation) -> String {
    let decided = &explanation.classification;
    let mut out = String::new();
    let _ = writeln!(out, "rules: {} (version {})", rules.source(), rules.version());
    let _ = writeln!(
        out,
        "decision: {} / {:?} -> queue {}, priority {:?}; tags {:?}; fired {:?}",
        decided.side.name(),
        decided.category,
        decided.queue,
        decided.priority,
        decided.tags,
        decided.rule_ids
    );
    let _ = writeln!(out, "sentiment: {}", explanation.sentiment);
    for score in &decided.scores {
        let _ = writeln!(out, "score {:?}: {}", score.lexicon, score.score);
    }
    for rule in &explanation.rules {
        let outcome = match (rule.fired, rule.stop) {
            (true, true) => "FIRED (stop)",
            (true, false) => "FIRED",
            (false, _) => "did not fire",
        };
        let _ = writeln!(out, "\nrule {:?} (line {}): {outcome}", rule.rule_id, rule.line);
        condition_lines(&rule.condition, 1, &mut out);
    }
    let _ = writeln!(out, "\nstopped: {}", explanation.stop);
    out
}

fn condition_lines(trace: &ConditionTrace, depth: usize, out: &mut String) {
    let mark = if trace.held { "yes" } else { "no " };
    let _ = write!(out, "{}[{mark}] {}", "  ".repeat(depth), trace.description);
    for found in &trace.matches {
        let _ = write!(
            out,
            "; matched {:?} in {} at {}..{}",
            found.text,
            found.part.name(),
            found.start,
            found.end
        );
    }
    out.push('\n');
    for part in &trace.parts {
        condition_lines(part, depth + 1, out);
    }
}

/// Backtests the rule file at `file` on the tickets stored in `data_dir`
/// (the server must be stopped: the store allows one process at a time),
/// as text for a person.
pub async fn backtest_data_dir(
    file: &Path,
    data_dir: &Path,
    filter: crate::backtest::BacktestFilter,
    samples_per_move: usize,
) -> Result<String, String> {
    let load = |file: &Path| {
        let file = file.to_path_buf();
        crate::app::compile_off_workers(move || RuleSet::load(&file))
    };
    let candidate = load(file).await.map_err(|err| err.to_string())?;
    // The app needs running rules; they play no part: moves start from the
    // stored classifications.
    let running = load(file).await.map_err(|err| err.to_string())?;
    let store = crate::store::Store::open(data_dir, crate::store::StoreOptions::default())
        .map_err(|err| format!("{}: {err} (is the server still running?)", data_dir.display()))?;
    let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
    let app = crate::app::App::new(running, store, clock, crate::app::AppSettings::default());
    let report = app
        .backtest(candidate, filter, samples_per_move, |_| true)
        .await
        .map_err(|err| err.to_string())?
        .ok_or("the backtest was stopped")?;
    Ok(backtest_report(&report))
}

/// A backtest's result as text: the counts, then one line per move.
pub fn backtest_report(report: &crate::backtest::BacktestReport) -> String {
    let counts = report.progress;
    let mut out = format!(
        "candidate {}: {} tickets read, {} re-classified, {} would move\n",
        report.candidate_version, counts.scanned, counts.matched, counts.changed
    );
    for moved in &report.moves {
        let samples: Vec<String> = moved.samples.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "{:>8}  {}/{:?}/{} -> {}/{:?}/{}  e.g. {}",
            moved.count,
            moved.from.side.name(),
            moved.from.category,
            moved.from.queue,
            moved.to.side.name(),
            moved.to.category,
            moved.to.queue,
            samples.join(", ")
        );
    }
    out
}
