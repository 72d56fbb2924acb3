//! Checking a candidate rule file without running it: the compiler's error
//! (with line, column and reason) and warnings about what compiles but
//! cannot work as written: rules that can never fire and queues nothing
//! uses. Escalation cycles are errors of the compiler itself.

use std::fmt;

use super::condition::{Condition, Field, ValueTest};
use super::limits::RuleLimits;
use super::{LexiconFiles, Rule, RuleError, RuleSet};

/// One finding about a rule file, located in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or the name text was given under).
    pub file: String,
    /// 1-based line; 0 when the finding is about the file as a whole.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// The rule it is about, if it is about one.
    pub rule_id: Option<String>,
    /// What is wrong, in words a rule author can act on.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl From<&RuleError> for Diagnostic {
    fn from(err: &RuleError) -> Self {
        match err {
            RuleError::Invalid {
                file,
                line,
                column,
                reason,
            } => Diagnostic {
                file: file.clone(),
                line: *line,
                column: *column,
                rule_id: None,
                message: reason.clone(),
            },
            RuleError::Read { file, source } => Diagnostic {
                file: file.clone(),
                line: 0,
                column: 0,
                rule_id: None,
                message: format!("cannot read rule file: {source}"),
            },
            RuleError::Several(errors) => match errors.first() {
                Some(first) => Diagnostic::from(first),
                None => Diagnostic {
                    file: String::new(),
                    line: 0,
                    column: 0,
                    rule_id: None,
                    message: err.to_string(),
                },
            },
        }
    }
}

/// What validating a candidate found. It is valid when `errors` is empty.
#[derive(Debug)]
pub struct Validation {
    /// The compiled candidate, when it compiles (never activated here).
    pub rules: Option<RuleSet>,
    /// Why it does not compile: every broken queue and rule (up to
    /// [`MAX_REPORTED_ERRORS`](super::error::MAX_REPORTED_ERRORS)); a
    /// file that is not valid TOML stops at its first syntax error.
    pub errors: Vec<Diagnostic>,
    /// What compiles but cannot work as written.
    pub warnings: Vec<Diagnostic>,
}

impl Validation {
    /// Whether the candidate compiles.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Compiles `text` (named `file`) within `limits`, and checks what it compiled to.
pub fn validate(file: &str, text: &str, lexicon_files: &LexiconFiles, limits: &RuleLimits) -> Validation {
    match RuleSet::compile_text(file, text, lexicon_files, limits) {
        Ok(rules) => Validation {
            warnings: rules.warnings(),
            rules: Some(rules),
            errors: Vec::new(),
        },
        Err(err) => Validation {
            rules: None,
            errors: err.each().into_iter().map(Diagnostic::from).collect(),
            warnings: Vec::new(),
        },
    }
}

impl RuleSet {
    /// Warnings about this rule set: rules that can never fire (after a
    /// `stop` rule that holds whenever they do, or with a condition that
    /// cannot hold) and declared queues nothing uses. In file order.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        let mut warnings = Vec::new();
        for (at, rule) in self.rules.iter().enumerate() {
            let reason = match self.never_holds(&rule.condition) {
                Some(contradiction) => Some(format!(
                    "rule {:?} can never fire: its condition cannot hold ({contradiction})",
                    rule.id
                )),
                None => self
                    .shadowing_rule(at)
                    .map(|earlier| self.shadowed(rule, earlier)),
            };
            if let Some(message) = reason {
                warnings.push(self.diagnostic(rule.line, Some(&rule.id), message));
            }
        }
        for (queue, line) in self.queues.iter().zip(&self.queue_lines) {
            if !self.queue_is_used(&queue.name) {
                let message = format!(
                    "queue {:?} is never used: no rule routes to it, it is not the default queue and no queue escalates to it",
                    queue.name
                );
                warnings.push(self.diagnostic(*line, None, message));
            }
        }
        warnings.sort_by_key(|warning| warning.line);
        warnings
    }

    fn diagnostic(&self, line: usize, rule_id: Option<&str>, message: String) -> Diagnostic {
        Diagnostic {
            file: self.source.clone(),
            line,
            column: 1,
            rule_id: rule_id.map(str::to_string),
            message,
        }
    }

    fn shadowed(&self, rule: &Rule, earlier: &Rule) -> String {
        let how = if always_holds(&earlier.condition) {
            "always fires and has stop = true"
        } else {
            "has stop = true and holds whenever this rule's condition does"
        };
        format!(
            "rule {:?} can never fire: rule {:?} (line {}) {how}",
            rule.id, earlier.id, earlier.line
        )
    }

    /// The first earlier `stop` rule that holds whenever rule `at` does.
    fn shadowing_rule(&self, at: usize) -> Option<&Rule> {
        let rule = self.rules.get(at)?;
        self.rules
            .get(..at)?
            .iter()
            .filter(|earlier| earlier.stop)
            .find(|earlier| self.implies(&rule.condition, &earlier.condition))
    }

    fn queue_is_used(&self, name: &str) -> bool {
        self.default_queue == name
            || self
                .rules
                .iter()
                .any(|rule| rule.actions.queue.as_deref() == Some(name))
            || self
                .queues
                .iter()
                .any(|queue| queue.escalate_to.as_deref() == Some(name))
    }

    /// Whether `a` holding means `b` holds too. Conservative: `false` when
    /// unsure, so a warning is never wrong, only sometimes missing.
    fn implies(&self, a: &Condition, b: &Condition) -> bool {
        match (a, b) {
            _ if self.same(a, b) => true,
            (Condition::Scanned(a), Condition::Scanned(b)) => self.keywords_within(*a, *b),
            (_, Condition::All(parts)) => parts.iter().all(|part| self.implies(a, part)),
            (Condition::Any(parts), _) => parts.iter().all(|part| self.implies(part, b)),
            (Condition::All(parts), _) => parts.iter().any(|part| self.implies(part, b)),
            (_, Condition::Any(parts)) => parts.iter().any(|part| self.implies(a, part)),
            (
                Condition::Sentiment { above, below },
                Condition::Sentiment {
                    above: b_above,
                    below: b_below,
                },
            ) => at_least_as_tight(*above, *b_above, true) && at_least_as_tight(*below, *b_below, false),
            (
                Condition::Score {
                    lexicon,
                    at_least,
                    at_most,
                },
                Condition::Score {
                    lexicon: b_lexicon,
                    at_least: b_least,
                    at_most: b_most,
                },
            ) => {
                lexicon == b_lexicon
                    && at_least_as_tight(*at_least, *b_least, true)
                    && at_least_as_tight(*at_most, *b_most, false)
            }
            _ => false,
        }
    }

    /// Whether text condition `a` is an `any_of` on the same field as `b`'s
    /// with only keywords `b` has too (so `a` holding means `b` holds).
    fn keywords_within(&self, a: usize, b: usize) -> bool {
        match (self.text_tests.get(a), self.text_tests.get(b)) {
            (Some((a_field, ValueTest::AnyOf(a_words))), Some((b_field, ValueTest::AnyOf(b_words)))) => {
                a_field == b_field && a_words.iter().all(|word| b_words.contains(word))
            }
            _ => false,
        }
    }

    /// Whether two conditions are written alike (text tests compared by
    /// field and test, not by scanner slot).
    fn same(&self, a: &Condition, b: &Condition) -> bool {
        match (a, b) {
            (Condition::All(a), Condition::All(b)) | (Condition::Any(a), Condition::Any(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| self.same(a, b))
            }
            (Condition::Not(a), Condition::Not(b)) => self.same(a, b),
            (Condition::Scanned(a), Condition::Scanned(b)) => {
                a == b
                    || match (self.text_tests.get(*a), self.text_tests.get(*b)) {
                        (Some(a), Some(b)) => same_test(a, b),
                        _ => false,
                    }
            }
            (
                Condition::Value { field, test },
                Condition::Value {
                    field: b_field,
                    test: b_test,
                },
            ) => field == b_field && test.same_as(b_test),
            (Condition::History(a), Condition::History(b)) => a == b,
            (
                Condition::Score {
                    lexicon,
                    at_least,
                    at_most,
                },
                Condition::Score {
                    lexicon: b_lexicon,
                    at_least: b_least,
                    at_most: b_most,
                },
            ) => lexicon == b_lexicon && at_least == b_least && at_most == b_most,
            (
                Condition::Sentiment { above, below },
                Condition::Sentiment {
                    above: b_above,
                    below: b_below,
                },
            ) => above == b_above && below == b_below,
            _ => false,
        }
    }

    /// Why `condition` can never hold, when it plainly cannot.
    fn never_holds(&self, condition: &Condition) -> Option<String> {
        match condition {
            Condition::Any(parts) if !parts.is_empty() => {
                let reasons: Option<Vec<String>> = parts.iter().map(|part| self.never_holds(part)).collect();
                reasons.map(|reasons| reasons.join("; nor "))
            }
            Condition::Any(_) => Some("an empty any never holds".into()),
            Condition::All(parts) => parts
                .iter()
                .find_map(|part| self.never_holds(part))
                .or_else(|| self.bounds_clash(parts)),
            Condition::Not(part) if always_holds(part) => Some("not of a condition that always holds".into()),
            Condition::Sentiment { .. } | Condition::Score { .. } => {
                self.bounds_clash(std::slice::from_ref(condition))
            }
            Condition::History(test) => match (test.at_least, test.at_most) {
                (Some(least), Some(most)) if least > most => {
                    Some(format!("history at_least {least} at_most {most}"))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Sentiment or score bounds among `parts` (all of which must hold)
    /// that no value meets.
    fn bounds_clash(&self, parts: &[Condition]) -> Option<String> {
        let mut above: Option<f32> = None;
        let mut below: Option<f32> = None;
        let mut scores: Vec<(usize, Option<f32>, Option<f32>)> = Vec::new();
        for part in parts {
            match part {
                Condition::Sentiment { above: a, below: b } => {
                    above = max(above, *a);
                    below = min(below, *b);
                }
                Condition::Score {
                    lexicon,
                    at_least,
                    at_most,
                } => match scores.iter_mut().find(|(index, _, _)| index == lexicon) {
                    Some((_, least, most)) => {
                        *least = max(*least, *at_least);
                        *most = min(*most, *at_most);
                    }
                    None => scores.push((*lexicon, *at_least, *at_most)),
                },
                _ => {}
            }
        }
        if let (Some(above), Some(below)) = (above, below) {
            if above >= below {
                return Some(format!("sentiment above {above} and below {below}"));
            }
        }
        scores
            .into_iter()
            .find_map(|(lexicon, least, most)| match (least, most) {
                (Some(least), Some(most)) if least > most => {
                    let name = self.lexicons.names.get(lexicon).map_or("?", String::as_str);
                    Some(format!("score {name:?} at_least {least} at_most {most}"))
                }
                _ => None,
            })
    }
}

/// Whether a condition holds for every ticket (`all = []` and the like).
pub(crate) fn always_holds(condition: &Condition) -> bool {
    match condition {
        Condition::All(parts) => parts.iter().all(always_holds),
        Condition::Any(parts) => parts.iter().any(always_holds),
        _ => false,
    }
}

fn same_test(a: &(Field, ValueTest), b: &(Field, ValueTest)) -> bool {
    a.0 == b.0 && a.1.same_as(&b.1)
}

/// Whether bound `a` is at least as tight as `b` (`b` absent: always):
/// for lower bounds (`lower`) `a >= b`, for upper bounds `a <= b`.
fn at_least_as_tight(a: Option<f32>, b: Option<f32>, lower: bool) -> bool {
    match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(b)) => {
            if lower {
                a >= b
            } else {
                a <= b
            }
        }
    }
}

fn max(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
