//! The rule engine: rule files (TOML) compiled into a [`RuleSet`] that
//! classifies tickets into a side, category, queue and priority.
//!
//! - `format`: the file as written, with source spans;
//! - `compile`: validation and compilation, errors with file:line:column;
//! - `prepare`: a ticket's texts as rules read them: normalised, the body
//!   split into new text, quoted thread and signature;
//! - `scanner`: one pass over each text for all text conditions and
//!   lexicon terms;
//! - `lexicon`: weighted lexicons and their scores; `negation` for them;
//! - `pattern`: what the scanner reads from a regex's source (triggers);
//! - `select`: which rules a ticket's scan could have made true;
//! - `condition`: compiled condition trees and their evaluation;
//! - `text`: case folding and whole-word matching shared by both paths;
//! - `limits`: bounds on a rule file ([`RuleLimits`]);
//! - `validate`: warnings about what compiles but cannot work (rules that
//!   can never fire, unused queues), for `ValidateRuleSet` and
//!   `triage rules validate`;
//! - `explain`: every rule and condition's outcome for one ticket.
//!
//! Rules run top to bottom, in one pass. Every rule whose condition holds
//! *fires*: it sets the side, category, queue, priority and deadline it
//! names (a later rule overrides an earlier one) and adds its tags.
//! Conditions read the ticket, never the classification so far. A rule with
//! `stop = true` ends evaluation when it fires. Nothing recurses.

mod bits;
mod compile;
mod condition;
mod error;
mod explain;
mod format;
mod journey;
mod lexicon;
mod limits;
mod negation;
mod pattern;
mod prepare;
mod scanner;
mod select;
mod text;
mod validate;

use std::path::{Path, PathBuf};

pub use compile::{MAX_VERSION_BYTES, MAX_WITHIN_DAYS};
pub use condition::{CustomerHistory, PriorTicket};
pub use error::RuleError;
pub use explain::{ConditionTrace, Explanation, RuleTrace, StopReason, TextMatch};
pub use journey::{
    InternalRouting, RecoveryCandidate, RecoveryRule, DEFAULT_INTERNAL_TOUCHPOINT, DEFAULT_RECOVERY_CATEGORY,
    DEFAULT_TOUCHPOINT, DEFAULT_TOUCHPOINTS, MAX_DUE_AFTER_DAYS,
};
pub(crate) use lexicon::NEGATED_FACTOR;
pub use lexicon::SENTIMENT_TERM;
pub use limits::RuleLimits;
pub(crate) use negation::is_negated_at;
pub use text::normalize;
pub use validate::{validate, Diagnostic, Validation};

use crate::clock::UnixMicros;
use crate::ticket::{Classification, CustomerKind, Priority, Side, TicketInput};
use condition::{Condition, Facts, Field, ValueTest};

/// The rule set shipped in the binary, used when no `--rules` file is given.
pub const DEFAULT_RULES: &str = include_str!("../../rules/default.toml");

/// The learned lexicon file the default rule set names in `lexicon_files`.
pub const DEFAULT_LEXICON_FILE: &str = "default-lexicon.toml";

/// The learned lexicon shipped with the default rules.
pub const DEFAULT_LEXICON: &str = include_str!("../../rules/default-lexicon.toml");

/// The name the embedded default rule set has in messages.
pub const DEFAULT_RULES_NAME: &str = "<embedded rules/default.toml>";

/// A queue declared by a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// Queue name.
    pub name: String,
    /// What the queue is for.
    pub description: String,
    /// First-response target for tickets routed here.
    pub first_response_minutes: Option<u32>,
    /// Where breaching tickets move.
    pub escalate_to: Option<String>,
    /// Priority breaching tickets are raised to (one step up when unset).
    pub escalate_priority: Option<Priority>,
}

/// What a rule does when it fires.
#[derive(Debug, Clone, Default)]
struct Actions {
    side: Option<Side>,
    category: Option<String>,
    queue: Option<String>,
    priority: Option<Priority>,
    add_tags: Vec<String>,
    first_response_minutes: Option<u32>,
    touchpoint: Option<String>,
}

impl Actions {
    fn is_empty(&self) -> bool {
        self.side.is_none()
            && self.category.is_none()
            && self.queue.is_none()
            && self.priority.is_none()
            && self.add_tags.is_empty()
            && self.first_response_minutes.is_none()
            && self.touchpoint.is_none()
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    id: String,
    /// Where its `[[rule]]` table starts in the file, 1-based.
    line: usize,
    #[allow(dead_code)] // kept for explain and listing tools
    description: String,
    condition: Condition,
    actions: Actions,
    stop: bool,
    /// Whether its condition tests `customer_kind`: only such rules route
    /// (set the queue and touchpoint of) internal customers' tickets when
    /// the file has an `[internal]` table.
    routes_internal: bool,
}

/// One ticket as both classification paths read it.
struct Reading<'a> {
    input: &'a TicketInput,
    history: &'a CustomerHistory,
    now: UnixMicros,
    prepared: &'a prepare::Prepared,
}

/// Where the files a rule file names in `lexicon_files` are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexiconFiles {
    /// From disk, relative to this directory (the rule file's).
    Dir(PathBuf),
    /// Only the lexicon shipped in the binary ([`DEFAULT_LEXICON_FILE`]).
    Embedded,
    /// From disk, only files in or under this directory named by a plain
    /// relative path: for rule text sent over the API, which must not read
    /// the server's other files.
    Beside(PathBuf),
}

impl LexiconFiles {
    /// The same place, confined as [`LexiconFiles::Beside`] is: for rule
    /// text sent over the API.
    pub fn confined(&self) -> LexiconFiles {
        match self {
            LexiconFiles::Dir(dir) | LexiconFiles::Beside(dir) => LexiconFiles::Beside(dir.clone()),
            LexiconFiles::Embedded => LexiconFiles::Embedded,
        }
    }
}

/// Reads the lexicon files embedded in the binary.
fn read_embedded(name: &str) -> std::io::Result<(String, String)> {
    match name {
        DEFAULT_LEXICON_FILE => Ok((format!("<embedded rules/{name}>"), DEFAULT_LEXICON.to_string())),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the embedded default rules ship only default-lexicon.toml",
        )),
    }
}

/// A compiled, validated rule set. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RuleSet {
    version: String,
    source: String,
    /// The rule file's text.
    text: String,
    lexicon_files: LexiconFiles,
    queues: Vec<QueueSpec>,
    /// The line each queue is declared on, in declaration order.
    queue_lines: Vec<usize>,
    default_queue: String,
    default_priority: Priority,
    rules: Vec<Rule>,
    scanner: scanner::Scanner,
    /// Rules indexed by the scanned conditions they need.
    selector: select::Selector,
    /// The direct test behind each scanned condition, for the reference path.
    text_tests: Vec<(Field, ValueTest)>,
    /// Whether any rule tests the customer's history.
    reads_history: bool,
    /// Weighted lexicons, scored from the scanner's term hits.
    lexicons: lexicon::Lexicons,
    /// The touchpoints tickets may carry.
    touchpoints: Vec<String>,
    /// Touchpoint of tickets nothing placed.
    default_touchpoint: String,
    /// Where internal customers' tickets go, if the file says.
    internal: Option<InternalRouting>,
    /// `[[recovery]]` blocks, in file order.
    recoveries: Vec<RecoveryRule>,
}

impl RuleSet {
    /// Compiles rule-file text with the default [`RuleLimits`]; `file` names
    /// it in error messages. `lexicon_files` it names are read relative to
    /// the current directory.
    pub fn parse(file: &str, text: &str) -> Result<RuleSet, RuleError> {
        Self::compile_text(
            file,
            text,
            &LexiconFiles::Dir(PathBuf::new()),
            &RuleLimits::default(),
        )
    }

    /// Compiles rule-file text within `limits`; `file` names it in error
    /// messages and `lexicon_files` tells where the files it names are.
    pub fn compile_text(
        file: &str,
        text: &str,
        lexicon_files: &LexiconFiles,
        limits: &RuleLimits,
    ) -> Result<RuleSet, RuleError> {
        match lexicon_files {
            LexiconFiles::Dir(dir) => {
                let mut rules = compile::compile(file, text, &compile::read_relative_to(dir), limits)?;
                rules.lexicon_files = lexicon_files.clone();
                Ok(rules)
            }
            LexiconFiles::Beside(dir) => {
                let read = compile::read_relative_to(dir);
                let beside = |name: &str| {
                    let path = Path::new(name);
                    let plain = path
                        .components()
                        .all(|part| matches!(part, std::path::Component::Normal(_)));
                    if !plain {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::PermissionDenied,
                            "rule text sent to the server may only name lexicon files beside the running rule file (no absolute path, no ..)",
                        ));
                    }
                    read(name)
                };
                let mut rules = compile::compile(file, text, &beside, limits)?;
                rules.lexicon_files = LexiconFiles::Dir(dir.clone());
                Ok(rules)
            }
            LexiconFiles::Embedded => compile::compile(file, text, &read_embedded, limits),
        }
    }

    /// Reads and compiles a rule file with the default [`RuleLimits`].
    pub fn load(path: &Path) -> Result<RuleSet, RuleError> {
        Self::load_within(path, &RuleLimits::default())
    }

    /// Reads and compiles a rule file within `limits`; a file over
    /// `max_file_bytes` is refused before it is read.
    pub fn load_within(path: &Path, limits: &RuleLimits) -> Result<RuleSet, RuleError> {
        let file = path.display().to_string();
        let read_error = |source| RuleError::Read {
            file: file.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if usize::try_from(size).map_or(true, |size| size > limits.max_file_bytes) {
            return Err(RuleError::Invalid {
                file: file.clone(),
                line: 1,
                column: 1,
                reason: format!(
                    "file is {size} bytes, over the limit of {} (max_file_bytes)",
                    limits.max_file_bytes
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let base_dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        Self::compile_text(&file, &text, &LexiconFiles::Dir(base_dir), limits)
    }

    /// The shipped default rule set, with its lexicon files embedded too.
    pub fn default_rules() -> Result<RuleSet, RuleError> {
        compile::compile(
            DEFAULT_RULES_NAME,
            DEFAULT_RULES,
            &read_embedded,
            &RuleLimits::default(),
        )
    }

    /// Where the `lexicon_files` of this set were read from: candidates
    /// given as text (validate, reload) read theirs from the same place.
    pub fn lexicon_files(&self) -> &LexiconFiles {
        &self.lexicon_files
    }

    /// The rule file's text, as compiled.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The version stamped on classifications.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Where the rules came from (a path, or the embedded name).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Declared queues, in declaration order.
    pub fn queues(&self) -> &[QueueSpec] {
        &self.queues
    }

    /// A declared queue by name.
    pub fn queue(&self, name: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|queue| queue.name == name)
    }

    /// Whether any rule tests the customer's earlier tickets; when not,
    /// callers need not read the history before classifying.
    pub fn reads_history(&self) -> bool {
        self.reads_history
    }

    /// The weighted lexicons' names.
    pub fn lexicon_names(&self) -> &[String] {
        &self.lexicons.names
    }

    /// How many rules the set has.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The touchpoints tickets may carry, in file order.
    pub fn touchpoints(&self) -> &[String] {
        &self.touchpoints
    }

    /// Whether `name` is one of the rule set's touchpoints.
    pub fn is_touchpoint(&self, name: &str) -> bool {
        self.touchpoints.iter().any(|touchpoint| touchpoint == name)
    }

    /// Where internal customers' tickets go, if the file has `[internal]`.
    pub fn internal_routing(&self) -> Option<&InternalRouting> {
        self.internal.as_ref()
    }

    /// The `[[recovery]]` blocks, in file order.
    pub fn recoveries(&self) -> &[RecoveryRule] {
        &self.recoveries
    }

    /// The first `[[recovery]]` block that applies to a ticket being completed.
    pub fn recovery_for(&self, candidate: &RecoveryCandidate<'_>) -> Option<&RecoveryRule> {
        self.recoveries.iter().find(|block| block.matches(candidate))
    }

    /// Classifies a ticket: scans its texts once, then runs, in order, the
    /// rules the scan could have made true.
    pub fn classify(
        &self,
        input: &TicketInput,
        history: &CustomerHistory,
        now: UnixMicros,
    ) -> Classification {
        let prepared = self.prepare(input);
        let hits = self.scanner.scan(&prepared);
        let candidates = self.selector.candidates(hits.possible());
        let scanned = condition::from_hits(&hits);
        let rules = candidates.ones().filter_map(|index| self.rules.get(index));
        let ticket = Reading {
            input,
            history,
            now,
            prepared: &prepared,
        };
        self.decide(rules, &ticket, hits.terms(), &scanned)
    }

    /// Classifies a ticket by testing every condition on its own, rule by
    /// rule: the slow reference the scanner is checked and benchmarked against.
    pub fn classify_reference(
        &self,
        input: &TicketInput,
        history: &CustomerHistory,
        now: UnixMicros,
    ) -> Classification {
        let prepared = self.prepare(input);
        let hits = self.lexicons.reference_hits(&prepared);
        let scanned = condition::by_direct_test(&self.text_tests, input, &prepared);
        let ticket = Reading {
            input,
            history,
            now,
            prepared: &prepared,
        };
        self.decide(self.rules.iter(), &ticket, &hits, &scanned)
    }

    /// The texts the rules and the sentiment read.
    fn prepare(&self, input: &TicketInput) -> prepare::Prepared {
        prepare::Prepared::new(input, self.scanner.reads().union(prepare::Parts::TEXT))
    }

    /// Scores the lexicons and the sentiment, runs `rules`, and records the
    /// evidence behind the decision. Shared by both paths.
    fn decide<'r>(
        &self,
        rules: impl Iterator<Item = &'r Rule>,
        ticket: &Reading<'_>,
        term_hits: &[scanner::TermHit],
        scanned: &dyn Fn(usize) -> bool,
    ) -> Classification {
        let sentiment = crate::sentiment::score(&ticket.prepared.customer_words());
        let scored = self
            .lexicons
            .score(term_hits, ticket.prepared.subject_is_reply, sentiment.compound);
        let facts = Facts {
            input: ticket.input,
            prepared: ticket.prepared,
            scores: &scored.scores,
            sentiment: sentiment.compound,
            history: ticket.history,
            now: ticket.now,
            scanned,
        };
        let mut result = self.run_rules(rules, &facts);
        result.sentiment = sentiment;
        result.scores = self.lexicons.named_scores(&scored.scores);
        result.evidence = scored.evidence;
        result
    }

    fn run_rules<'r>(&self, rules: impl Iterator<Item = &'r Rule>, facts: &Facts<'_>) -> Classification {
        self.outcome(rules.filter(|rule| rule.condition.holds(facts)), facts.input)
    }

    /// Applies the actions of the rules that fire, in order, up to and
    /// including the first with `stop` (`fired` is lazy: what follows it
    /// is never evaluated). The touchpoint the integration sent wins over
    /// the rules'; internal customers' tickets are routed as `[internal]` says.
    fn outcome<'r>(&self, fired: impl Iterator<Item = &'r Rule>, input: &TicketInput) -> Classification {
        let mut result = Classification {
            side: Side::Unclassified,
            queue: self.default_queue.clone(),
            priority: self.default_priority,
            rules_version: self.version.clone(),
            rule_ids: Vec::with_capacity(8),
            ..Classification::default()
        };
        let internal = self
            .internal
            .as_ref()
            .filter(|_| input.customer.kind == CustomerKind::Internal);
        let mut deadline_minutes = None;
        let mut routed = Routed::default();
        for rule in fired {
            let routes = internal.is_none() || rule.routes_internal;
            apply(&rule.actions, &mut result, &mut deadline_minutes);
            routed.note(&rule.actions, routes);
            result.rule_ids.push(rule.id.clone());
            if rule.stop {
                break;
            }
        }
        if let Some(internal) = internal {
            // Only rules that test customer_kind route internal tickets.
            result.queue = routed
                .queue
                .unwrap_or_else(|| internal.queue(result.side).to_string());
        }
        let fallback = internal.map_or(&self.default_touchpoint, |internal| &internal.touchpoint);
        result.touchpoint = match (input.touchpoint.as_str(), routed.touchpoint) {
            ("", Some(touchpoint)) => touchpoint,
            ("", None) => fallback.clone(),
            (sent, _) => sent.to_string(),
        };
        let queue_minutes = self
            .queue(&result.queue)
            .and_then(|queue| queue.first_response_minutes);
        result.first_response_seconds = deadline_minutes
            .or(queue_minutes)
            .map(|minutes| minutes.saturating_mul(60));
        result
    }
}

/// The queue and touchpoint the rules that may route a ticket set.
#[derive(Debug, Default)]
struct Routed {
    queue: Option<String>,
    touchpoint: Option<String>,
}

impl Routed {
    /// Notes a fired rule's routing, if it may route this ticket.
    fn note(&mut self, actions: &Actions, routes: bool) {
        if !routes {
            return;
        }
        if let Some(queue) = &actions.queue {
            self.queue = Some(queue.clone());
        }
        if let Some(touchpoint) = &actions.touchpoint {
            self.touchpoint = Some(touchpoint.clone());
        }
    }
}

fn apply(actions: &Actions, result: &mut Classification, deadline_minutes: &mut Option<u32>) {
    if let Some(side) = actions.side {
        result.side = side;
    }
    if let Some(category) = &actions.category {
        result.category.clone_from(category);
    }
    if let Some(queue) = &actions.queue {
        result.queue.clone_from(queue);
    }
    if let Some(priority) = actions.priority {
        result.priority = priority;
    }
    if let Some(minutes) = actions.first_response_minutes {
        *deadline_minutes = Some(minutes);
    }
    for tag in &actions.add_tags {
        if !result.tags.contains(tag) {
            result.tags.push(tag.clone());
        }
    }
}
