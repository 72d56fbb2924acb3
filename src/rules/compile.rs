//! Turns a parsed rule file into a [`RuleSet`]: checks every name, value and
//! pattern, and gathers text conditions into the scanner.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use regex::RegexBuilder;
use serde_spanned::Spanned;

use super::condition::{Condition, Field, HistoryTest, ValueTest};
use super::error::{RuleError, SourceMap, MAX_REPORTED_ERRORS};
use super::format::{
    ActionsDoc, ConditionDoc, HistoryDoc, LexiconDoc, LexiconFileDoc, QueueDoc, RuleDoc, RuleFileDoc,
    SentimentDoc,
};
use super::lexicon::{Lexicons, Term, SENTIMENT_TERM};
use super::limits::RuleLimits;
use super::prepare::Parts;
use super::scanner::{ScannerBuilder, TextTarget};
use super::select::Selector;
use super::text::{fold, map_mark, normalize};
use super::{Actions, QueueSpec, Rule, RuleSet};
use crate::ticket::{Channel, Priority, Side};

/// Deepest nesting of `all`/`any`/`not` accepted (guards the evaluator's stack).
const MAX_DEPTH: usize = 32;

/// Longest `version`, in bytes: it is stamped on every stored classification.
pub const MAX_VERSION_BYTES: usize = 128;

/// Largest `within_days` of a history test: a thousand years, far beyond any
/// retention, and small enough that its microseconds fit an `i64` many times.
pub const MAX_WITHIN_DAYS: u32 = 365_000;

/// Reads a file a rule file names (`lexicon_files`), by its path as written.
pub(crate) type ReadFile<'a> = &'a dyn Fn(&str) -> std::io::Result<(String, String)>;

/// Reads named files from disk, relative to `base_dir`; returns the path
/// shown in messages and the text.
pub(crate) fn read_relative_to(base_dir: &Path) -> impl Fn(&str) -> std::io::Result<(String, String)> + '_ {
    move |name| {
        let path = base_dir.join(name);
        let text = std::fs::read_to_string(&path)?;
        Ok((path.display().to_string(), text))
    }
}

/// Parses and compiles rule-file text; `file` names it in errors and
/// `read_file` reads the `lexicon_files` it names.
pub(crate) fn compile(
    file: &str,
    text: &str,
    read_file: ReadFile<'_>,
    limits: &RuleLimits,
) -> std::result::Result<RuleSet, RuleError> {
    let source = SourceMap::new(file, text);
    check_file_size(&source, text, limits)?;
    let doc: RuleFileDoc = parse_toml(&source, text)?;
    if let Some(over) = doc.rules.get(limits.max_rules) {
        let reason = format!(
            "{} rules, over the limit of {} (max_rules)",
            doc.rules.len(),
            limits.max_rules
        );
        return Err(source.error(over.span(), reason));
    }
    Compiler {
        source,
        file: file.to_string(),
        scanner: ScannerBuilder::with_regex_size_limit(limits.max_regex_bytes),
        text_tests: Vec::new(),
        queue_names: HashSet::new(),
        reads_history: false,
        lexicons: Lexicons::default(),
        limits: *limits,
        literals: 0,
        regexes: 0,
        errors: Vec::new(),
    }
    .compile(doc, text, read_file)
}

/// Refuses a file over [`RuleLimits::max_file_bytes`] before parsing it.
fn check_file_size(source: &SourceMap<'_>, text: &str, limits: &RuleLimits) -> Result<()> {
    if text.len() <= limits.max_file_bytes {
        return Ok(());
    }
    let reason = format!(
        "file is {} bytes, over the limit of {} (max_file_bytes)",
        text.len(),
        limits.max_file_bytes
    );
    Err(source.error(0..0, reason))
}

fn parse_toml<T: serde::de::DeserializeOwned>(source: &SourceMap<'_>, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        source.error(span, err.message().to_string())
    })
}

struct Compiler<'a> {
    source: SourceMap<'a>,
    file: String,
    scanner: ScannerBuilder,
    text_tests: Vec<(Field, ValueTest)>,
    queue_names: HashSet<String>,
    /// Whether any condition tests the customer's history.
    reads_history: bool,
    lexicons: Lexicons,
    limits: RuleLimits,
    /// Keyword literals so far (lexicon terms included).
    literals: usize,
    /// Regex conditions so far.
    regexes: usize,
    /// Errors found so far in queues and rules: compilation goes on past
    /// them, so that one run reports every broken rule.
    errors: Vec<RuleError>,
}

type Result<T> = std::result::Result<T, RuleError>;

impl Compiler<'_> {
    fn compile(mut self, doc: RuleFileDoc, text: &str, read_file: ReadFile<'_>) -> Result<RuleSet> {
        for file in &doc.lexicon_files {
            self.lexicon_file(file, read_file)?;
        }
        let source = self.source;
        self.add_lexicons(&source, &doc.lexicons)?;
        let mut queues = Vec::with_capacity(doc.queues.len());
        for queue in &doc.queues {
            let compiled = self.queue(queue);
            queues.extend(self.keep(compiled));
        }
        for queue in &doc.queues {
            if let Some(target) = &queue.get_ref().escalate_to {
                let known = self.known_queue(target);
                self.keep(known);
            }
        }
        if self.errors.is_empty() {
            let cycles = self.check_escalation_cycles(&doc.queues);
            self.keep(cycles);
        }
        let version = match &doc.version {
            Some(version) => self.version(version),
            None => Ok(content_version(text)),
        };
        let version = self.keep(version).unwrap_or_default();
        let default_queue = self.known_queue(&doc.default_queue);
        let default_queue = self.keep(default_queue).unwrap_or_default();
        let default_priority = match &doc.default_priority {
            Some(priority) => self.priority(priority),
            None => Ok(Priority::Normal),
        };
        let default_priority = self.keep(default_priority).unwrap_or_default();
        let mut ids = HashSet::new();
        let mut rules = Vec::with_capacity(doc.rules.len());
        for rule in &doc.rules {
            if self.errors.len() >= MAX_REPORTED_ERRORS {
                break;
            }
            let compiled = self.rule(rule);
            let Some(compiled) = self.keep(compiled) else {
                continue;
            };
            if !ids.insert(compiled.id.clone()) {
                let reason = format!("duplicate rule id {:?}", compiled.id);
                self.errors
                    .push(self.source.error(rule.get_ref().id.span(), reason));
            }
            rules.push(compiled);
        }
        if let Some(errors) = RuleError::from_all(std::mem::take(&mut self.errors)) {
            return Err(errors);
        }
        let scanner = self
            .scanner
            .build()
            .map_err(|reason| self.source.error(0..0, reason))?;
        let selector = Selector::new(rules.iter().map(|rule| &rule.condition));
        Ok(RuleSet {
            version,
            source: self.file,
            text: text.to_string(),
            lexicon_files: super::LexiconFiles::Embedded,
            queue_lines: doc
                .queues
                .iter()
                .map(|queue| self.source.position(queue.span().start).0)
                .collect(),
            queues,
            default_queue,
            default_priority,
            rules,
            scanner,
            selector,
            text_tests: self.text_tests,
            reads_history: self.reads_history,
            lexicons: self.lexicons,
        })
    }

    /// The value of `outcome`, or `None` with its error kept for the report.
    fn keep<T>(&mut self, outcome: Result<T>) -> Option<T> {
        match outcome {
            Ok(value) => Some(value),
            Err(err) => {
                self.errors.push(err);
                None
            }
        }
    }

    /// Checks the declared `version`: it is stamped on every classification
    /// and shown in logs and metrics, so it must be short and printable.
    fn version(&self, version: &Spanned<String>) -> Result<String> {
        let text = version.get_ref();
        let reason = if text.trim().is_empty() {
            "version must not be empty (leave it out to get a content hash)".to_string()
        } else if text.len() > MAX_VERSION_BYTES {
            format!(
                "version is {} bytes, over the limit of {MAX_VERSION_BYTES}",
                text.len()
            )
        } else if text.chars().any(char::is_control) {
            "version must not contain control characters (line breaks, tabs ...)".to_string()
        } else {
            return Ok(text.clone());
        };
        Err(self.source.error(version.span(), reason))
    }

    /// Refuses escalations that lead back to where they started (`a -> a`,
    /// `a -> b -> a`): a breaching ticket would move round them for ever.
    fn check_escalation_cycles(&self, queues: &[Spanned<QueueDoc>]) -> Result<()> {
        let next: BTreeMap<&str, &Spanned<String>> = queues
            .iter()
            .filter_map(|queue| {
                let queue = queue.get_ref();
                Some((queue.name.get_ref().as_str(), queue.escalate_to.as_ref()?))
            })
            .collect();
        for queue in queues {
            let start = queue.get_ref().name.get_ref().as_str();
            let mut path = vec![start];
            let mut at = start;
            while let Some(target) = next.get(at) {
                at = target.get_ref().as_str();
                path.push(at);
                if at == start {
                    let reason = format!("escalation cycle: {}", path.join(" -> "));
                    return Err(self.source.error(target.span(), reason));
                }
                if path.len() > next.len() + 1 {
                    break; // a cycle that does not pass through `start`
                }
            }
        }
        Ok(())
    }

    /// Reads the `[lexicon.*]` tables of a lexicon file.
    fn lexicon_file(&mut self, name: &Spanned<String>, read_file: ReadFile<'_>) -> Result<()> {
        let (file, text) = read_file(name.get_ref()).map_err(|err| {
            let reason = format!("cannot read lexicon file {:?}: {err}", name.get_ref());
            self.source.error(name.span(), reason)
        })?;
        let source = SourceMap::new(&file, &text);
        check_file_size(&source, &text, &self.limits)?;
        let doc: LexiconFileDoc = parse_toml(&source, &text)?;
        self.add_lexicons(&source, &doc.lexicons)
    }

    /// Adds lexicons, each term as a whole-word literal of the scanner.
    fn add_lexicons(
        &mut self,
        source: &SourceMap<'_>,
        docs: &BTreeMap<String, Spanned<LexiconDoc>>,
    ) -> Result<()> {
        for (name, doc) in docs {
            if !is_valid_lexicon_name(name) {
                let reason = format!("lexicon name {name:?} must be 1-64 characters of a-z, 0-9 or '_'");
                return Err(source.error(doc.span(), reason));
            }
            if self.lexicons.index(name).is_some() {
                return Err(source.error(doc.span(), format!("lexicon {name:?} is defined twice")));
            }
            let lexicon = self.lexicons.names.len();
            self.lexicons.names.push(name.clone());
            self.lexicons.sentiment_weights.push(0.0);
            for (term, weight) in doc.get_ref() {
                let text = fold(&normalize(term));
                let value = *weight.get_ref();
                if text.is_empty() {
                    return Err(source.error(weight.span(), "empty lexicon term"));
                }
                if !value.is_finite() || value.abs() > 1_000.0 {
                    let reason = format!("weight of {term:?} must be a number between -1000 and 1000");
                    return Err(source.error(weight.span(), reason));
                }
                #[allow(clippy::cast_possible_truncation)] // bounded above
                let value = value as f32;
                if term.starts_with('@') {
                    if term != SENTIMENT_TERM {
                        let reason = format!(
                            "unknown special entry {term:?}; the only one is {SENTIMENT_TERM:?} (a weight on the compound sentiment)"
                        );
                        return Err(source.error(weight.span(), reason));
                    }
                    self.lexicons.sentiment_weights[lexicon] = value;
                    continue;
                }
                self.count_literals(1, source, weight.span())?;
                let index = self.lexicons.terms.len();
                self.scanner.add_term(index, &text);
                self.lexicons.terms.push(Term {
                    lexicon,
                    text,
                    weight: value,
                });
            }
        }
        Ok(())
    }

    fn queue(&mut self, doc: &Spanned<QueueDoc>) -> Result<QueueSpec> {
        let queue = doc.get_ref();
        let name = queue.name.get_ref();
        if !is_valid_queue_name(name) {
            let reason = format!(
                "queue name {name:?} must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"
            );
            return Err(self.source.error(queue.name.span(), reason));
        }
        if !self.queue_names.insert(name.clone()) {
            return Err(self
                .source
                .error(queue.name.span(), format!("queue {name:?} is declared twice")));
        }
        let escalate_priority = match &queue.escalate_priority {
            Some(priority) => Some(self.priority(priority)?),
            None => None,
        };
        Ok(QueueSpec {
            name: name.clone(),
            description: queue.description.clone(),
            first_response_minutes: queue.first_response_minutes,
            escalate_to: queue.escalate_to.as_ref().map(|q| q.get_ref().clone()),
            escalate_priority,
        })
    }

    fn known_queue(&self, name: &Spanned<String>) -> Result<String> {
        if self.queue_names.contains(name.get_ref()) {
            return Ok(name.get_ref().clone());
        }
        let mut known: Vec<_> = self.queue_names.iter().cloned().collect();
        known.sort();
        let reason = format!(
            "unknown queue {:?}; declare it with [[queue]] (declared: {})",
            name.get_ref(),
            known.join(", ")
        );
        Err(self.source.error(name.span(), reason))
    }

    fn priority(&self, text: &Spanned<String>) -> Result<Priority> {
        Priority::parse(text.get_ref()).ok_or_else(|| {
            let reason = format!(
                "unknown priority {:?}; expected urgent, high, normal or low",
                text.get_ref()
            );
            self.source.error(text.span(), reason)
        })
    }

    fn side(&self, text: &Spanned<String>) -> Result<Side> {
        Side::parse(text.get_ref()).ok_or_else(|| {
            let reason = format!(
                "unknown side {:?}; expected reactive, proactive or unclassified",
                text.get_ref()
            );
            self.source.error(text.span(), reason)
        })
    }

    fn rule(&mut self, doc: &Spanned<RuleDoc>) -> Result<Rule> {
        let rule = doc.get_ref();
        let id = rule.id.get_ref().trim();
        if id.is_empty() {
            return Err(self.source.error(rule.id.span(), "rule id must not be empty"));
        }
        let condition = self.condition(&rule.when, 0)?;
        let actions = self.actions(&rule.then)?;
        Ok(Rule {
            id: id.to_string(),
            line: self.source.position(doc.span().start).0,
            description: rule.description.clone(),
            condition,
            actions,
            stop: rule.stop,
        })
    }

    fn actions(&self, doc: &Spanned<ActionsDoc>) -> Result<Actions> {
        let then = doc.get_ref();
        let actions = Actions {
            side: then.side.as_ref().map(|s| self.side(s)).transpose()?,
            category: then.category.clone(),
            queue: then.queue.as_ref().map(|q| self.known_queue(q)).transpose()?,
            priority: then.priority.as_ref().map(|p| self.priority(p)).transpose()?,
            add_tags: then.add_tags.clone(),
            first_response_minutes: then.first_response_minutes,
        };
        if actions.is_empty() {
            let reason =
                "rule has no action; set side, category, queue, priority, add_tags or first_response_minutes";
            return Err(self.source.error(doc.span(), reason));
        }
        Ok(actions)
    }

    fn condition(&mut self, doc: &Spanned<ConditionDoc>, depth: usize) -> Result<Condition> {
        let span = doc.span();
        if depth > MAX_DEPTH {
            return Err(self
                .source
                .error(span, format!("conditions nest deeper than {MAX_DEPTH} levels")));
        }
        let cond = doc.get_ref();
        let kinds = [
            cond.all.is_some(),
            cond.any.is_some(),
            cond.not.is_some(),
            cond.field.is_some(),
            cond.history.is_some(),
            cond.score.is_some(),
            cond.sentiment.is_some(),
        ];
        if kinds.iter().filter(|present| **present).count() != 1 {
            let reason = "a condition needs exactly one of: all, any, not, field (with an operator), history, score, sentiment";
            return Err(self.source.error(span, reason));
        }
        if (cond.at_least.is_some() || cond.at_most.is_some()) && cond.score.is_none() {
            return Err(self.source.error(span, "at_least and at_most go with score"));
        }
        if let Some(lexicon) = &cond.score {
            return self.score(lexicon, cond.at_least, cond.at_most, span);
        }
        if let Some(sentiment) = &cond.sentiment {
            return self.sentiment(sentiment);
        }
        if let Some(parts) = &cond.all {
            return Ok(Condition::All(self.conditions(parts, depth)?));
        }
        if let Some(parts) = &cond.any {
            return Ok(Condition::Any(self.conditions(parts, depth)?));
        }
        if let Some(part) = &cond.not {
            return Ok(Condition::Not(Box::new(self.condition(part, depth + 1)?)));
        }
        if let Some(history) = &cond.history {
            return self.history(history);
        }
        match &cond.field {
            Some(field) => self.field_condition(field, cond, span),
            None => Err(self.source.error(span, "condition has no field")),
        }
    }

    fn conditions(&mut self, parts: &[Spanned<ConditionDoc>], depth: usize) -> Result<Vec<Condition>> {
        parts.iter().map(|part| self.condition(part, depth + 1)).collect()
    }

    fn field_condition(
        &mut self,
        field_name: &Spanned<String>,
        cond: &ConditionDoc,
        span: std::ops::Range<usize>,
    ) -> Result<Condition> {
        let field = Field::parse(field_name.get_ref()).ok_or_else(|| {
            let reason = format!(
                "unknown field {:?}; expected one of {}",
                field_name.get_ref(),
                Field::NAMES
            );
            self.source.error(field_name.span(), reason)
        })?;
        let test = self.value_test(&field, cond, span.clone())?;
        let target = match (&field, field.part()) {
            (Field::Text, _) => Some(Parts::TEXT),
            (_, Some(part)) => Some(Parts::of(part)),
            (_, None) => None,
        };
        match (target, &test) {
            (Some(target), ValueTest::Contains(_) | ValueTest::AnyOf(_) | ValueTest::Regex(_)) => {
                self.scanned(field, test, target, span)
            }
            _ => Ok(Condition::Value { field, test }),
        }
    }

    /// Registers a text condition with the scanner.
    fn scanned(
        &mut self,
        field: Field,
        test: ValueTest,
        target: TextTarget,
        span: std::ops::Range<usize>,
    ) -> Result<Condition> {
        let source = self.source;
        match &test {
            ValueTest::Contains(_) => self.count_literals(1, &source, span)?,
            ValueTest::AnyOf(words) => self.count_literals(words.len(), &source, span)?,
            ValueTest::Regex(_) => {
                self.regexes += 1;
                if self.regexes > self.limits.max_regexes {
                    let reason = format!("more than {} regexes (max_regexes)", self.limits.max_regexes);
                    return Err(source.error(span, reason));
                }
            }
            _ => {}
        }
        let index = self.scanner.new_condition();
        match &test {
            ValueTest::Contains(needle) => self.scanner.add_literal(index, needle, false, target),
            ValueTest::AnyOf(words) => {
                for word in words {
                    self.scanner.add_literal(index, word, true, target);
                }
            }
            ValueTest::Regex(regex) => self.scanner.add_regex(index, regex, target),
            _ => {}
        }
        self.text_tests.push((field, test));
        Ok(Condition::Scanned(index))
    }

    /// Counts `added` keyword literals against [`RuleLimits::max_literals`].
    fn count_literals(
        &mut self,
        added: usize,
        source: &SourceMap<'_>,
        span: std::ops::Range<usize>,
    ) -> Result<()> {
        self.literals += added;
        if self.literals <= self.limits.max_literals {
            return Ok(());
        }
        let reason = format!(
            "more than {} keyword literals (max_literals; contains and any_of entries and lexicon terms count)",
            self.limits.max_literals
        );
        Err(source.error(span, reason))
    }

    fn value_test(
        &self,
        field: &Field,
        cond: &ConditionDoc,
        span: std::ops::Range<usize>,
    ) -> Result<ValueTest> {
        let operators = [
            cond.contains.is_some(),
            cond.any_of.is_some(),
            cond.regex.is_some(),
            cond.equals.is_some(),
            cond.one_of.is_some(),
        ];
        if operators.iter().filter(|present| **present).count() != 1 {
            let reason =
                "a field condition needs exactly one operator: contains, any_of, regex, equals or in";
            return Err(self.source.error(span, reason));
        }
        if let Some(needle) = &cond.contains {
            return Ok(ValueTest::Contains(
                self.literal(needle.get_ref(), needle.span())?,
            ));
        }
        if let Some(words) = &cond.any_of {
            return Ok(ValueTest::AnyOf(self.literals(words)?));
        }
        if let Some(pattern) = &cond.regex {
            let marks_mapped: String = pattern.get_ref().chars().filter_map(map_mark).collect();
            let regex = RegexBuilder::new(&marks_mapped)
                .size_limit(self.limits.max_regex_bytes)
                .build()
                .map_err(|err| self.source.error(pattern.span(), regex_error(&err, &self.limits)))?;
            return Ok(ValueTest::Regex(regex));
        }
        let (values, span) = match (&cond.equals, &cond.one_of) {
            (Some(value), _) => (vec![value.get_ref().clone()], value.span()),
            (None, Some(values)) => (values.get_ref().clone(), values.span()),
            (None, None) => return Err(self.source.error(span, "missing operator")),
        };
        if *field == Field::Channel {
            self.check_channels(&values, span.clone())?;
        }
        let folded: Vec<String> = values.iter().map(|value| fold(value)).collect();
        Ok(match (field, cond.equals.is_some()) {
            (Field::Language, _) => ValueTest::LanguageIn(folded),
            (_, true) => ValueTest::Equals(folded.into_iter().next().unwrap_or_default()),
            (_, false) => ValueTest::In(folded),
        })
    }

    fn literal(&self, text: &str, span: std::ops::Range<usize>) -> Result<String> {
        let normalized = normalize(text);
        if normalized.is_empty() {
            return Err(self.source.error(span, "empty text to match"));
        }
        Ok(fold(&normalized))
    }

    fn literals(&self, words: &Spanned<Vec<String>>) -> Result<Vec<String>> {
        if words.get_ref().is_empty() {
            return Err(self
                .source
                .error(words.span(), "any_of needs at least one keyword"));
        }
        words
            .get_ref()
            .iter()
            .map(|word| self.literal(word, words.span()))
            .collect()
    }

    fn check_channels(&self, values: &[String], span: std::ops::Range<usize>) -> Result<()> {
        for value in values {
            if !Channel::ALL
                .iter()
                .any(|(_, name)| name.eq_ignore_ascii_case(value))
            {
                let names: Vec<_> = Channel::ALL.iter().map(|(_, name)| *name).collect();
                let reason = format!("unknown channel {value:?}; expected one of {}", names.join(", "));
                return Err(self.source.error(span, reason));
            }
        }
        Ok(())
    }

    fn history(&mut self, doc: &Spanned<HistoryDoc>) -> Result<Condition> {
        self.reads_history = true;
        let history = doc.get_ref();
        if history.at_least.is_none() && history.at_most.is_none() {
            return Err(self.source.error(doc.span(), "history needs at_least or at_most"));
        }
        if let Some(days) = history.within_days.filter(|days| *days > MAX_WITHIN_DAYS) {
            let reason = format!("within_days is {days}, over the limit of {MAX_WITHIN_DAYS}");
            return Err(self.source.error(doc.span(), reason));
        }
        Ok(Condition::History(HistoryTest {
            within_days: history.within_days,
            side: history.side.as_ref().map(|s| self.side(s)).transpose()?,
            category: history.category.clone(),
            open: history.open,
            at_least: history.at_least,
            at_most: history.at_most,
        }))
    }
}

impl Compiler<'_> {
    fn score(
        &self,
        lexicon: &Spanned<String>,
        at_least: Option<f64>,
        at_most: Option<f64>,
        span: std::ops::Range<usize>,
    ) -> Result<Condition> {
        let Some(index) = self.lexicons.index(lexicon.get_ref()) else {
            let reason = format!(
                "unknown lexicon {:?}; define it with [lexicon.{}] or in a lexicon_files file (defined: {})",
                lexicon.get_ref(),
                lexicon.get_ref(),
                self.lexicons.names.join(", ")
            );
            return Err(self.source.error(lexicon.span(), reason));
        };
        if at_least.is_none() && at_most.is_none() {
            return Err(self.source.error(span, "score needs at_least or at_most"));
        }
        #[allow(clippy::cast_possible_truncation)] // scores are f32
        Ok(Condition::Score {
            lexicon: index,
            at_least: at_least.map(|value| value as f32),
            at_most: at_most.map(|value| value as f32),
        })
    }

    fn sentiment(&self, doc: &Spanned<SentimentDoc>) -> Result<Condition> {
        let bounds = doc.get_ref();
        if bounds.above.is_none() && bounds.below.is_none() {
            return Err(self.source.error(doc.span(), "sentiment needs above or below"));
        }
        let in_range = |value: Option<f64>| value.is_none_or(|v| (-1.0..=1.0).contains(&v));
        if !in_range(bounds.above) || !in_range(bounds.below) {
            return Err(self
                .source
                .error(doc.span(), "sentiment bounds are between -1 and 1"));
        }
        #[allow(clippy::cast_possible_truncation)] // scores are f32
        Ok(Condition::Sentiment {
            above: bounds.above.map(|value| value as f32),
            below: bounds.below.map(|value| value as f32),
        })
    }
}

/// Why a regex was refused, naming the size limit when that is the reason.
fn regex_error(err: &regex::Error, limits: &RuleLimits) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => format!(
            "regex compiles to more than {limit} bytes, over the limit of {} (max_regex_bytes); simplify it or split it into several conditions",
            limits.max_regex_bytes
        ),
        other => format!("bad regex: {}", one_line_regex_error(&other.to_string())),
    }
}

/// The regex crate's multi-line syntax error (the pattern, a caret line,
/// `error: reason`) as one line: the reason and where in the pattern.
fn one_line_regex_error(text: &str) -> String {
    let reason = text.lines().rev().find_map(|line| line.strip_prefix("error: "));
    let caret = text
        .lines()
        .find(|line| line.trim_start().starts_with('^'))
        .and_then(|line| line.find('^'));
    match (reason, caret) {
        // The pattern and its caret line are indented by four spaces.
        (Some(reason), Some(at)) => format!(
            "{reason} (at character {} of the pattern)",
            at.saturating_sub(4) + 1
        ),
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn is_valid_lexicon_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_valid_queue_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    first_ok
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A version derived from the file's content, for files that declare none.
fn content_version(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod regex_error_tests {
    use super::*;

    #[test]
    fn a_syntax_error_reads_on_one_line_with_its_position() {
        // Built at run time: a literal broken pattern trips a lint.
        let pattern = String::from("ab(") + "unclosed";
        let Err(err) = regex::Regex::new(&pattern) else {
            panic!("the pattern is broken");
        };
        let message = regex_error(&err, &RuleLimits::default());
        assert_eq!(
            message,
            "bad regex: unclosed group (at character 3 of the pattern)"
        );
    }
}
