//! The one-pass text scanner. Every `contains`/`any_of` literal of every rule
//! goes into one Aho-Corasick automaton and every `regex` into one `RegexSet`
//! per text field, so a ticket's subject and body are each scanned once, no
//! matter how many rules there are. The result is a bit per text condition.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{RegexSet, RegexSetBuilder};

/// Lazy-DFA cache per regex set (per search thread), in bytes.
const REGEX_DFA_BYTES: usize = 16 << 20;

use super::text::{fold, is_whole_word};

/// Which of a ticket's texts a condition reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextTarget {
    /// The subject line.
    Subject,
    /// The body.
    Body,
    /// Either (a match in the subject or in the body).
    Either,
}

impl TextTarget {
    fn reads_subject(self) -> bool {
        matches!(self, TextTarget::Subject | TextTarget::Either)
    }

    fn reads_body(self) -> bool {
        matches!(self, TextTarget::Body | TextTarget::Either)
    }
}

/// One condition's use of a literal.
#[derive(Debug, Clone, Copy)]
struct LiteralUse {
    condition: usize,
    whole_word: bool,
    target: TextTarget,
}

/// Collects text conditions while the rule set compiles.
#[derive(Debug, Default)]
pub(crate) struct ScannerBuilder {
    literals: Vec<String>,
    literal_uses: Vec<Vec<LiteralUse>>,
    literal_index: std::collections::HashMap<String, usize>,
    regexes: Vec<(String, TextTarget, usize)>,
    conditions: usize,
}

impl ScannerBuilder {
    /// Allocates a new text condition id.
    pub(crate) fn new_condition(&mut self) -> usize {
        self.conditions += 1;
        self.conditions - 1
    }

    /// Makes `condition` hold when folded `literal` occurs in `target`.
    pub(crate) fn add_literal(
        &mut self,
        condition: usize,
        literal: &str,
        whole_word: bool,
        target: TextTarget,
    ) {
        let folded = fold(literal);
        let index = match self.literal_index.get(&folded) {
            Some(&index) => index,
            None => {
                self.literals.push(folded.clone());
                self.literal_uses.push(Vec::new());
                self.literal_index.insert(folded, self.literals.len() - 1);
                self.literals.len() - 1
            }
        };
        self.literal_uses[index].push(LiteralUse {
            condition,
            whole_word,
            target,
        });
    }

    /// Makes `condition` hold when `pattern` (already validated) matches `target`.
    pub(crate) fn add_regex(&mut self, condition: usize, pattern: &str, target: TextTarget) {
        self.regexes.push((pattern.to_string(), target, condition));
    }

    /// Builds the automata.
    pub(crate) fn build(self) -> Result<Scanner, String> {
        let literals = if self.literals.is_empty() {
            None
        } else {
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&self.literals)
                .map_err(|err| format!("cannot build keyword automaton: {err}"))?;
            Some(automaton)
        };
        let subject = RegexTarget::build(&self.regexes, TextTarget::reads_subject)?;
        let body = RegexTarget::build(&self.regexes, TextTarget::reads_body)?;
        Ok(Scanner {
            literals,
            literal_uses: self.literal_uses,
            subject,
            body,
            conditions: self.conditions,
        })
    }
}

/// The regexes that read one text, as one set.
#[derive(Debug)]
struct RegexTarget {
    set: RegexSet,
    conditions: Vec<usize>,
}

impl RegexTarget {
    fn build(
        regexes: &[(String, TextTarget, usize)],
        reads: fn(TextTarget) -> bool,
    ) -> Result<RegexTarget, String> {
        let chosen: Vec<_> = regexes.iter().filter(|(_, target, _)| reads(*target)).collect();
        // A set of many case-insensitive patterns needs a bigger lazy-DFA
        // cache than the default, or it thrashes and falls back to the much
        // slower NFA (measured: ~20x per ticket on the default rules).
        let set = RegexSetBuilder::new(chosen.iter().map(|(pattern, _, _)| pattern.as_str()))
            .dfa_size_limit(REGEX_DFA_BYTES)
            .build()
            .map_err(|err| format!("cannot build regex set: {err}"))?;
        let conditions = chosen.iter().map(|(_, _, condition)| *condition).collect();
        Ok(RegexTarget { set, conditions })
    }

    fn scan(&self, text: &str, hits: &mut Hits) {
        if self.conditions.is_empty() {
            return;
        }
        for index in self.set.matches(text).iter() {
            hits.set(self.conditions[index]);
        }
    }
}

/// The compiled text automata of a rule set.
#[derive(Debug)]
pub(crate) struct Scanner {
    literals: Option<AhoCorasick>,
    literal_uses: Vec<Vec<LiteralUse>>,
    subject: RegexTarget,
    body: RegexTarget,
    conditions: usize,
}

impl Scanner {
    /// Scans a ticket's subject and body once each.
    pub(crate) fn scan(&self, subject: &str, body: &str) -> Hits {
        let mut hits = Hits::new(self.conditions);
        if let Some(automaton) = &self.literals {
            self.scan_literals(automaton, &fold(subject), TextTarget::reads_subject, &mut hits);
            self.scan_literals(automaton, &fold(body), TextTarget::reads_body, &mut hits);
        }
        self.subject.scan(subject, &mut hits);
        self.body.scan(body, &mut hits);
        hits
    }

    fn scan_literals(
        &self,
        automaton: &AhoCorasick,
        folded: &str,
        reads: fn(TextTarget) -> bool,
        hits: &mut Hits,
    ) {
        for found in automaton.find_overlapping_iter(folded) {
            for literal_use in &self.literal_uses[found.pattern().as_usize()] {
                if !reads(literal_use.target) || hits.get(literal_use.condition) {
                    continue;
                }
                if !literal_use.whole_word || is_whole_word(folded, found.start(), found.end()) {
                    hits.set(literal_use.condition);
                }
            }
        }
    }
}

/// Which text conditions held for one ticket.
#[derive(Debug, Clone)]
pub(crate) struct Hits {
    words: Vec<u64>,
}

impl Hits {
    fn new(conditions: usize) -> Self {
        Self {
            words: vec![0; conditions.div_ceil(64)],
        }
    }

    fn set(&mut self, condition: usize) {
        if let Some(word) = self.words.get_mut(condition / 64) {
            *word |= 1 << (condition % 64);
        }
    }

    /// Whether text condition `condition` held.
    pub(crate) fn get(&self, condition: usize) -> bool {
        self.words
            .get(condition / 64)
            .is_some_and(|word| word & (1 << (condition % 64)) != 0)
    }
}
