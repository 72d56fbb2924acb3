//! `triage-cli rules ...`: the rule-set RPCs (admin role) for people and
//! scripts: the running set, validation of a candidate with its errors
//! pointed at lines, reload, explanation of a decision, a backtest's move
//! matrix, and re-filing open tickets. The views here are `--json`'s stable
//! shape, as in [`view`](super::view).

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::args::{BacktestArgs, ExplainArgs, ReloadArgs, RulesCommand};
use super::commands::Session;
use super::error::CliError;
use super::human::table;
use super::input::TicketLine;
use super::time::{local_text, parse_rfc3339, rfc3339};
use super::view::{self, side, Classification};
use crate::pb;

/// The running (or a reloaded) rule set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Its version (the file's, or a content hash).
    pub version: String,
    /// Where it came from.
    pub source: String,
    /// How many rules.
    pub rule_count: u32,
    /// Declared queues, in order.
    pub queues: Vec<String>,
    /// Weighted lexicons.
    pub lexicons: Vec<String>,
    /// Whether any rule reads the customer's earlier tickets.
    pub reads_history: bool,
    /// When it was loaded.
    pub loaded_at: Option<String>,
    /// The rule file's text (`rules get --text` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl RuleSet {
    fn of(summary: Option<&pb::RuleSetSummary>, loaded_at: Option<&prost_types::Timestamp>) -> RuleSet {
        let summary = summary.cloned().unwrap_or_default();
        RuleSet {
            version: summary.version,
            source: summary.source,
            rule_count: summary.rule_count,
            queues: summary.queues,
            lexicons: summary.lexicons,
            reads_history: summary.reads_history,
            loaded_at: rfc3339(loaded_at),
            text: None,
        }
    }
}

/// A finding about a rule file, located in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The file, or the name the text went by.
    pub file: String,
    /// 1-based line; 0 for the file as a whole.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
    /// The rule it is about, if any.
    pub rule_id: String,
    /// What is wrong.
    pub message: String,
}

impl From<&pb::RuleDiagnostic> for Diagnostic {
    fn from(diagnostic: &pb::RuleDiagnostic) -> Self {
        Diagnostic {
            file: diagnostic.file.clone(),
            line: diagnostic.line,
            column: diagnostic.column,
            rule_id: diagnostic.rule_id.clone(),
            message: diagnostic.message.clone(),
        }
    }
}

/// `rules validate`: what the server found in a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Whether it compiles.
    pub valid: bool,
    /// Why not.
    pub errors: Vec<Diagnostic>,
    /// What compiles but cannot work as written.
    pub warnings: Vec<Diagnostic>,
    /// The compiled candidate, when valid.
    pub rules: Option<RuleSet>,
}

/// `rules reload`: the rules now running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reloaded {
    /// The new rule set.
    pub rules: RuleSet,
    /// The version it replaced.
    pub previous_version: String,
    /// Its warnings (it was activated regardless).
    pub warnings: Vec<Diagnostic>,
    /// Waiting tickets moved out of dropped queues.
    pub moved: u64,
}

/// One condition's outcome in an explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionTrace {
    /// The condition as written, with the value seen.
    pub description: String,
    /// Whether it held.
    pub held: bool,
    /// The texts it matched: `part: "text"`.
    pub matches: Vec<String>,
    /// The parts of all, any and not.
    pub parts: Vec<ConditionTrace>,
}

impl From<&pb::ConditionTrace> for ConditionTrace {
    fn from(trace: &pb::ConditionTrace) -> Self {
        ConditionTrace {
            description: trace.description.clone(),
            held: trace.held,
            matches: trace
                .matches
                .iter()
                .map(|found| {
                    let part = view::enum_name(found.part().as_str_name(), "TEXT_PART_");
                    format!("{part}: {:?}", found.text)
                })
                .collect(),
            parts: trace.parts.iter().map(ConditionTrace::from).collect(),
        }
    }
}

/// One rule's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleTrace {
    /// The rule's id.
    pub rule_id: String,
    /// Where it starts in the rule file.
    pub line: u32,
    /// Whether it fired.
    pub fired: bool,
    /// Whether it is a stop rule.
    pub stop: bool,
    /// Its condition.
    pub condition: Option<ConditionTrace>,
}

/// `rules explain`: how the running rules decide a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The decision.
    pub classification: Classification,
    /// Every rule evaluated, in file order.
    pub rules: Vec<RuleTrace>,
    /// Why evaluation ended.
    pub stop_reason: String,
}

/// Tickets that move (or would move) from one placement to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    /// `side/category@queue` now.
    pub from: String,
    /// `side/category@queue` after.
    pub to: String,
    /// How many.
    pub count: u64,
    /// The first few ticket ids.
    pub samples: Vec<String>,
}

impl From<&pb::BacktestMove> for Move {
    fn from(moved: &pb::BacktestMove) -> Self {
        Move {
            from: placement(moved.from_side(), &moved.from_category, &moved.from_queue),
            to: placement(moved.to_side(), &moved.to_category, &moved.to_queue),
            count: moved.count,
            samples: moved.sample_ticket_ids.clone(),
        }
    }
}

fn placement(side_of: pb::Side, category: &str, queue: &str) -> String {
    match category {
        "" => format!("{}@{queue}", side(side_of)),
        category => format!("{}/{category}@{queue}", side(side_of)),
    }
}

/// `rules backtest`: what a candidate would change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    /// The candidate's version.
    pub candidate_version: String,
    /// Tickets read.
    pub scanned: u64,
    /// Of those, re-classified (admitted by the filter).
    pub matched: u64,
    /// Of those, placed differently.
    pub changed: u64,
    /// Every move, most tickets first.
    pub moves: Vec<Move>,
}

/// `rules reclassify-open`: what moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reclassified {
    /// The rules applied.
    pub rules_version: String,
    /// Waiting tickets re-classified.
    pub examined: u64,
    /// Of those, re-filed.
    pub moved: u64,
    /// Every move made.
    pub moves: Vec<Move>,
}

fn read_file(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|err| CliError::Usage(format!("cannot read {}: {err}", path.display())))
}

/// The name a local file goes by on the server: its file name.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

impl Session {
    /// Runs one `rules` subcommand.
    pub(super) async fn rules(&mut self, command: RulesCommand) -> Result<(), CliError> {
        match command {
            RulesCommand::Get { text } => self.rules_get(text).await,
            RulesCommand::Validate { file } => self.rules_validate(&file).await,
            RulesCommand::Reload(args) => self.rules_reload(args).await,
            RulesCommand::Explain(args) => self.rules_explain(args).await,
            RulesCommand::Backtest(args) => self.rules_backtest(args).await,
            RulesCommand::ReclassifyOpen { queue, samples } => self.rules_reclassify(queue, samples).await,
        }
    }

    async fn rules_get(&mut self, with_text: bool) -> Result<(), CliError> {
        let answer = self
            .client
            .get_rule_set(pb::GetRuleSetRequest {})
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let mut rules = RuleSet::of(answer.summary.as_ref(), answer.loaded_at.as_ref());
        if with_text {
            rules.text = Some(match answer.text_omitted {
                true => format!("# ({} bytes: too large for one answer)\n", answer.text_bytes),
                false => answer.text,
            });
        }
        self.output.show(&rules, human_rule_set)
    }

    async fn rules_validate(&mut self, file: &Path) -> Result<(), CliError> {
        let request = pb::ValidateRuleSetRequest {
            text: read_file(file)?,
            name: file_name(file),
        };
        let answer = self
            .client
            .validate_rule_set(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let validation = Validation {
            valid: answer.valid,
            errors: answer.errors.iter().map(Diagnostic::from).collect(),
            warnings: answer.warnings.iter().map(Diagnostic::from).collect(),
            rules: answer
                .summary
                .as_ref()
                .map(|summary| RuleSet::of(Some(summary), None)),
        };
        self.output.show(&validation, human_validation)?;
        match validation.valid {
            true => Ok(()),
            false => Err(CliError::InvalidRules {
                errors: validation.errors.len(),
            }),
        }
    }

    async fn rules_reload(&mut self, args: ReloadArgs) -> Result<(), CliError> {
        let (source, name) = match (&args.file, &args.server_path) {
            (Some(file), None) => (
                pb::reload_rules_request::Source::Text(read_file(file)?),
                file_name(file),
            ),
            (None, Some(path)) => (
                pb::reload_rules_request::Source::Path(path.clone()),
                String::new(),
            ),
            _ => {
                return Err(CliError::Usage(
                    "rules reload needs a FILE to send, or --server-path for a file on the server".into(),
                ))
            }
        };
        let request = pb::ReloadRulesRequest {
            source: Some(source),
            name,
            move_dropped_to: args.move_dropped_to.unwrap_or_default(),
        };
        let answer = self
            .client
            .reload_rules(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let reloaded = Reloaded {
            rules: RuleSet::of(answer.summary.as_ref(), answer.loaded_at.as_ref()),
            previous_version: answer.previous_version,
            warnings: answer.warnings.iter().map(Diagnostic::from).collect(),
            moved: answer.moved,
        };
        self.output.show(&reloaded, human_reloaded)
    }

    async fn rules_explain(&mut self, args: ExplainArgs) -> Result<(), CliError> {
        let ticket = match (args.ticket_id, args.file) {
            (Some(id), None) => pb::explain_ticket_request::Ticket::TicketId(id),
            (None, Some(file)) => pb::explain_ticket_request::Ticket::Input(inline_ticket(&file)?),
            _ => {
                return Err(CliError::Usage(
                    "rules explain needs a stored TICKET_ID, or --file TICKET.json (- for stdin)".into(),
                ))
            }
        };
        let request = pb::ExplainTicketRequest { ticket: Some(ticket) };
        let answer = self
            .client
            .explain_ticket(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let explanation = Explanation {
            classification: answer
                .classification
                .as_ref()
                .map(Classification::from)
                .unwrap_or_default(),
            rules: answer
                .rules
                .iter()
                .map(|rule| RuleTrace {
                    rule_id: rule.rule_id.clone(),
                    line: rule.line,
                    fired: rule.fired,
                    stop: rule.stop,
                    condition: rule.condition.as_ref().map(ConditionTrace::from),
                })
                .collect(),
            stop_reason: answer.stop_reason,
        };
        self.output.show(&explanation, human_explanation)
    }

    async fn rules_backtest(&mut self, args: BacktestArgs) -> Result<(), CliError> {
        let side = match args.side.as_deref() {
            None => pb::Side::Unspecified,
            Some("reactive") => pb::Side::Reactive,
            Some("proactive") => pb::Side::Proactive,
            Some(_) => pb::Side::Unclassified,
        };
        let time = |text: &Option<String>| text.as_deref().map(parse_rfc3339).transpose();
        let request = pb::BacktestRuleSetRequest {
            text: read_file(&args.file)?,
            name: file_name(&args.file),
            ingested_from: time(&args.from).map_err(CliError::Usage)?,
            ingested_before: time(&args.before).map_err(CliError::Usage)?,
            queue: args.queue.unwrap_or_default(),
            side: side.into(),
            samples_per_move: args.samples,
        };
        let mut stream = self
            .client
            .backtest_rule_set(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let mut result = None;
        while let Some(event) = stream.message().await.map_err(|s| self.fail(s))? {
            match event.event {
                Some(pb::backtest_rule_set_response::Event::Progress(progress)) if !self.output.json => {
                    eprintln!(
                        "backtest: {} of {} tickets read",
                        progress.scanned, progress.total
                    );
                }
                Some(pb::backtest_rule_set_response::Event::Result(done)) => result = Some(done),
                _ => {}
            }
        }
        let done = result.ok_or_else(|| CliError::Server("the backtest ended without a result".into()))?;
        let counts = done.counts.unwrap_or_default();
        let backtest = Backtest {
            candidate_version: done.candidate_version,
            scanned: counts.scanned,
            matched: counts.matched,
            changed: counts.changed,
            moves: done.moves.iter().map(Move::from).collect(),
        };
        self.output.show(&backtest, human_backtest)
    }

    async fn rules_reclassify(&mut self, queue: Option<String>, samples: u32) -> Result<(), CliError> {
        let request = pb::ReclassifyOpenRequest {
            queue: queue.unwrap_or_default(),
            samples_per_move: samples,
        };
        let answer = self
            .client
            .reclassify_open(request)
            .await
            .map_err(|s| self.fail(s))?
            .into_inner();
        let reclassified = Reclassified {
            rules_version: answer.rules_version,
            examined: answer.examined,
            moved: answer.moved,
            moves: answer.moves.iter().map(Move::from).collect(),
        };
        self.output.show(&reclassified, human_reclassified)
    }
}

/// A ticket to explain from a JSON file (`-` for stdin), in the fields of
/// an `ingest` line; `external_id` may be left out.
fn inline_ticket(file: &Path) -> Result<pb::TicketInput, CliError> {
    let text = match file.to_str() {
        Some("-") => std::io::read_to_string(std::io::stdin())?,
        _ => read_file(file)?,
    };
    let mut line =
        TicketLine::parse(&text).map_err(|err| CliError::Usage(format!("{}: {err}", file.display())))?;
    if line.external_id.trim().is_empty() {
        line.external_id = "cli-explain".into();
    }
    line.into_input("cli")
        .map_err(|err| CliError::Usage(format!("{}: {err}", file.display())))
}

fn human_rule_set(rules: &RuleSet) -> String {
    let mut out = format!(
        "Rules {} ({} rules) from {}\n",
        rules.version, rules.rule_count, rules.source
    );
    if rules.loaded_at.is_some() {
        let _ = writeln!(out, "  loaded       {}", local_text(rules.loaded_at.as_deref()));
    }
    let _ = writeln!(out, "  queues       {}", rules.queues.join(", "));
    if !rules.lexicons.is_empty() {
        let _ = writeln!(out, "  lexicons     {}", rules.lexicons.join(", "));
    }
    if rules.reads_history {
        out.push_str("  history      some rules read the customer's earlier tickets\n");
    }
    if let Some(text) = &rules.text {
        out.push('\n');
        out.push_str(text);
    }
    out
}

fn diagnostics(out: &mut String, heading: &str, found: &[Diagnostic]) {
    if found.is_empty() {
        return;
    }
    let _ = writeln!(out, "{heading}:");
    for diagnostic in found {
        let rule = match diagnostic.rule_id.as_str() {
            "" => String::new(),
            id => format!(" [rule {id}]"),
        };
        let _ = writeln!(
            out,
            "  {}:{}:{}:{rule} {}",
            diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.message
        );
    }
}

fn human_validation(validation: &Validation) -> String {
    let mut out = match &validation.rules {
        Some(rules) => format!(
            "Valid: rules {} ({} rules, queues {})\n",
            rules.version,
            rules.rule_count,
            rules.queues.join(", ")
        ),
        None => "Invalid: the rule file does not compile\n".to_string(),
    };
    diagnostics(&mut out, "Errors", &validation.errors);
    diagnostics(&mut out, "Warnings", &validation.warnings);
    out
}

fn human_reloaded(reloaded: &Reloaded) -> String {
    let mut out = format!(
        "Reloaded: rules {} replace {}\n",
        reloaded.rules.version, reloaded.previous_version
    );
    if reloaded.moved > 0 {
        let _ = writeln!(
            out,
            "Moved {} waiting tickets out of dropped queues",
            reloaded.moved
        );
    }
    out.push('\n');
    out.push_str(&human_rule_set(&reloaded.rules));
    diagnostics(&mut out, "Warnings", &reloaded.warnings);
    out
}

fn condition_lines(out: &mut String, condition: &ConditionTrace, depth: usize) {
    let mark = if condition.held { "yes" } else { "no " };
    let _ = writeln!(
        out,
        "{:indent$}{mark} {}",
        "",
        condition.description,
        indent = 4 + 2 * depth
    );
    for found in &condition.matches {
        let _ = writeln!(out, "{:indent$}    matched {found}", "", indent = 4 + 2 * depth);
    }
    for part in &condition.parts {
        condition_lines(out, part, depth + 1);
    }
}

fn human_explanation(explanation: &Explanation) -> String {
    let decided = &explanation.classification;
    let class = match decided.category.as_str() {
        "" => decided.side.clone(),
        category => format!("{} / {category}", decided.side),
    };
    let mut out = format!(
        "Decision: {class}, queue {}, priority {} (rules {})\n",
        decided.queue, decided.priority, decided.rules_version
    );
    let _ = writeln!(out, "Stopped: {}\n", explanation.stop_reason);
    for rule in &explanation.rules {
        let verdict = match (rule.fired, rule.stop) {
            (true, true) => "FIRED (stop)",
            (true, false) => "FIRED",
            (false, _) => "no",
        };
        let _ = writeln!(out, "  {verdict:<12} {} (line {})", rule.rule_id, rule.line);
        if rule.fired {
            if let Some(condition) = &rule.condition {
                condition_lines(&mut out, condition, 0);
            }
        }
    }
    out
}

fn move_table(moves: &[Move]) -> String {
    let rows: Vec<Vec<String>> = moves
        .iter()
        .map(|moved| {
            vec![
                moved.count.to_string(),
                moved.from.clone(),
                moved.to.clone(),
                moved.samples.join(" "),
            ]
        })
        .collect();
    table(&["TICKETS", "FROM", "TO", "E.G."], &rows)
}

fn human_backtest(backtest: &Backtest) -> String {
    let mut out = format!(
        "Backtest of rules {}: {} tickets read, {} re-classified, {} would move\n",
        backtest.candidate_version, backtest.scanned, backtest.matched, backtest.changed
    );
    if !backtest.moves.is_empty() {
        out.push('\n');
        out.push_str(&move_table(&backtest.moves));
    }
    out
}

fn human_reclassified(reclassified: &Reclassified) -> String {
    let mut out = format!(
        "Re-classified {} waiting tickets with rules {}: {} moved\n",
        reclassified.examined, reclassified.rules_version, reclassified.moved
    );
    if !reclassified.moves.is_empty() {
        out.push('\n');
        out.push_str(&move_table(&reclassified.moves));
    }
    out
}
