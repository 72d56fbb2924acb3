//! The one-pass text scanner. Every `contains`/`any_of` literal of every rule
//! goes into one Aho-Corasick automaton, so a ticket's subject and body are
//! each scanned once, no matter how many rules there are.
//!
//! Regexes cost far more per text than the automaton, so they run only when
//! they might match, and at most once per ticket:
//!
//! - each regex's *trigger groups* (sets of ASCII literals such that every
//!   match contains one literal of each set, see
//!   [`pattern::required_literals`]) join the automaton; a regex with a
//!   group none of whose literals occurs in a text cannot match it;
//! - regexes that may match a text (each group seen there, or no triggers
//!   at all) are *pending*: they run on demand, when the evaluator reaches a
//!   condition that reads one, and the result is remembered for the ticket;
//! - on a text without non-ASCII word characters a regex runs in its
//!   ASCII-word-boundary form, which decides the same and stays in the
//!   regex crate's fast DFA (see [`pattern::ascii_word_boundaries`]).
//!
//! Identical regexes on the same field are compiled and run once.
//!
//! Lexicon terms that are one word (only word characters) are not in the
//! automaton: they are looked up word by word in a hash map. A learned
//! lexicon holds short common words ("i", "in", "my"); as automaton
//! literals they matched inside every longer word and each such match paid
//! a whole-word check, about a fifth of a ticket's classification.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use super::bits::Bits;
use super::lexicon;
use super::negation::is_negated_at;
use super::pattern;
use super::prepare::{Parts, Prepared, PART_COUNT};
use super::text::{fold, fold_into, is_whole_word, is_word_char};
use crate::ticket::TextPart;

/// Which of a ticket's texts a condition reads.
pub(crate) type TextTarget = Parts;

/// Every text part, in index order.
const TEXTS: [TextPart; PART_COUNT] = TextPart::ALL;

/// Automata up to this many literals use a full DFA (fastest to search;
/// memory grows with the literals), larger sets a contiguous NFA. Neither
/// uses a prefilter: in support text the literals' first bytes are
/// everywhere, and an overlapping search with one runs about half as fast.
const DFA_LITERAL_LIMIT: usize = 5_000;

/// Term hits room is made for up front (a 1 KB ticket has ~40 with the
/// default lexicon; growing there cost ~5 reallocations a ticket).
const TERM_HITS_RESERVED: usize = 64;

/// Any word character outside ASCII: where Unicode and ASCII word
/// boundaries can disagree.
static NON_ASCII_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w&&[^\x00-\x7F]]").expect("valid class"));

/// What an automaton match means to one condition or regex.
#[derive(Debug, Clone, Copy)]
enum Use {
    /// A `contains` (`whole_word = false`) or `any_of` literal of a condition.
    Literal { condition: usize, whole_word: bool },
    /// A literal of trigger group `group` of some regex.
    Trigger { group: usize },
    /// Term `term` of a weighted lexicon (always whole words).
    Term { term: usize },
}

/// One use of a literal, for the texts `target` names.
#[derive(Debug, Clone, Copy)]
struct LiteralUse {
    meaning: Use,
    target: TextTarget,
}

/// How a scanned condition is answered.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// By the automaton's literal hits.
    Literal,
    /// By running regex slot `slot` (when triggered).
    Regex(usize),
}

/// A distinct (pattern, target) regex.
#[derive(Debug)]
struct RegexSlot {
    exact: Regex,
    /// The same pattern with ASCII word boundaries, when it differs.
    ascii: Option<Regex>,
    target: TextTarget,
    /// Its trigger groups (ids, shared by regexes with the same group); it
    /// may match a text only if each has a literal there. Empty: it may
    /// always match.
    groups: Vec<usize>,
    /// Conditions answered by this regex.
    conditions: Vec<usize>,
}

/// Collects text conditions while the rule set compiles.
#[derive(Debug, Default)]
pub(crate) struct ScannerBuilder {
    literals: Vec<String>,
    literal_uses: Vec<Vec<LiteralUse>>,
    literal_index: HashMap<String, usize>,
    slots: Vec<RegexSlot>,
    slot_index: HashMap<(String, TextTarget), usize>,
    group_index: HashMap<(Vec<String>, TextTarget), usize>,
    kinds: Vec<Kind>,
    terms: usize,
    /// One-word lexicon terms: folded word -> term ids.
    word_terms: WordTerms,
    /// The compiled-size limit of the regexes the scanner derives.
    regex_size_limit: Option<usize>,
}

/// One-word lexicon terms by their folded text.
type WordTerms = HashMap<Box<str>, Vec<usize>, foldhash::fast::FixedState>;

/// True when folded `literal` is one word: only word characters, so its
/// whole-word occurrences are exactly the text's words equal to it.
fn is_one_word(literal: &str) -> bool {
    !literal.is_empty() && literal.chars().all(is_word_char)
}

impl ScannerBuilder {
    /// A builder whose derived regexes compile within `limit` bytes each
    /// (one that would not is left out: the original pattern runs instead).
    pub(crate) fn with_regex_size_limit(limit: usize) -> Self {
        Self {
            regex_size_limit: Some(limit),
            ..Self::default()
        }
    }

    /// Allocates a new text condition id.
    pub(crate) fn new_condition(&mut self) -> usize {
        self.kinds.push(Kind::Literal);
        self.kinds.len() - 1
    }

    /// Makes `condition` hold when folded `literal` occurs in `target`.
    pub(crate) fn add_literal(
        &mut self,
        condition: usize,
        literal: &str,
        whole_word: bool,
        target: TextTarget,
    ) {
        let meaning = Use::Literal {
            condition,
            whole_word,
        };
        self.add_use(&fold(literal), LiteralUse { meaning, target });
    }

    /// Reports term `term` of a lexicon where folded `literal` occurs, as a
    /// whole word, in the subject or the customer's new text.
    pub(crate) fn add_term(&mut self, term: usize, literal: &str) {
        let meaning = Use::Term { term };
        self.terms = self.terms.max(term + 1);
        let folded = fold(literal);
        if is_one_word(&folded) {
            self.word_terms
                .entry(folded.into_boxed_str())
                .or_default()
                .push(term);
            return;
        }
        let target = Parts::TEXT;
        self.add_use(&folded, LiteralUse { meaning, target });
    }

    fn add_use(&mut self, folded: &str, literal_use: LiteralUse) {
        let index = match self.literal_index.get(folded) {
            Some(&index) => index,
            None => {
                self.literals.push(folded.to_string());
                self.literal_uses.push(Vec::new());
                self.literal_index
                    .insert(folded.to_string(), self.literals.len() - 1);
                self.literals.len() - 1
            }
        };
        self.literal_uses[index].push(literal_use);
    }

    /// Makes `condition` hold when `regex` (already validated) matches `target`.
    pub(crate) fn add_regex(&mut self, condition: usize, regex: &Regex, target: TextTarget) {
        let key = (regex.as_str().to_string(), target);
        let slot = match self.slot_index.get(&key) {
            Some(&slot) => slot,
            None => {
                let slot = self.new_slot(regex, target);
                self.slot_index.insert(key, slot);
                slot
            }
        };
        self.slots[slot].conditions.push(condition);
        if let Some(kind) = self.kinds.get_mut(condition) {
            *kind = Kind::Regex(slot);
        }
    }

    fn new_slot(&mut self, regex: &Regex, target: TextTarget) -> usize {
        let slot = self.slots.len();
        let ascii = pattern::ascii_word_boundaries(regex.as_str()).and_then(|ascii| {
            let mut builder = regex::RegexBuilder::new(&ascii);
            if let Some(limit) = self.regex_size_limit {
                builder.size_limit(limit);
            }
            builder.build().ok()
        });
        let groups = pattern::required_literals(regex.as_str())
            .into_iter()
            .map(|literals| self.group(literals, target))
            .collect();
        self.slots.push(RegexSlot {
            exact: regex.clone(),
            ascii,
            target,
            groups,
            conditions: Vec::new(),
        });
        slot
    }

    /// The id of a trigger group, adding its literals on first sight.
    fn group(&mut self, literals: Vec<String>, target: TextTarget) -> usize {
        let next = self.group_index.len();
        let key = (literals, target);
        if let Some(&group) = self.group_index.get(&key) {
            return group;
        }
        let meaning = Use::Trigger { group: next };
        for literal in &key.0 {
            self.add_use(literal, LiteralUse { meaning, target });
        }
        self.group_index.insert(key, next);
        next
    }

    /// Builds the automaton.
    pub(crate) fn build(self) -> Result<Scanner, String> {
        let literals = if self.literals.is_empty() {
            None
        } else {
            let kind = (self.literals.len() <= DFA_LITERAL_LIMIT).then_some(AhoCorasickKind::DFA);
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(kind)
                .prefilter(false)
                .build(&self.literals)
                .map_err(|err| format!("cannot build keyword automaton: {err}"))?;
            Some(automaton)
        };
        let mut untriggered: [Bits; PART_COUNT] = std::array::from_fn(|_| Bits::new(self.slots.len()));
        let mut readers = untriggered.clone();
        let mut reads = Parts::NONE;
        for (slot, regex) in self.slots.iter().enumerate() {
            reads = reads.union(regex.target);
            for text in TEXTS {
                if regex.target.reads(text) {
                    readers[text as usize].set(slot);
                    if regex.groups.is_empty() {
                        untriggered[text as usize].set(slot);
                    }
                }
            }
        }
        for literal_use in self.literal_uses.iter().flatten() {
            reads = reads.union(literal_use.target);
        }
        if !self.word_terms.is_empty() {
            reads = reads.union(Parts::TEXT);
        }
        Ok(Scanner {
            word_terms: self.word_terms,
            literals,
            literal_uses: self.literal_uses,
            slots: self.slots,
            kinds: self.kinds,
            terms: self.terms,
            groups: self.group_index.len(),
            untriggered,
            readers,
            reads,
        })
    }
}

/// The compiled text automaton and regexes of a rule set.
#[derive(Debug)]
pub(crate) struct Scanner {
    literals: Option<AhoCorasick>,
    /// One-word lexicon terms, looked up word by word (in the subject and
    /// the customer's new text, as every lexicon term).
    word_terms: WordTerms,
    literal_uses: Vec<Vec<LiteralUse>>,
    slots: Vec<RegexSlot>,
    kinds: Vec<Kind>,
    /// How many lexicon terms there are.
    terms: usize,
    /// How many trigger groups there are.
    groups: usize,
    /// Per text: slots with no triggers, which are always pending.
    untriggered: [Bits; PART_COUNT],
    /// Per text: slots that read it.
    readers: [Bits; PART_COUNT],
    /// The texts any condition or lexicon reads.
    reads: Parts,
}

impl Scanner {
    /// The texts any condition or lexicon reads: the ones to prepare.
    pub(crate) fn reads(&self) -> Parts {
        self.reads
    }

    /// Scans each text a condition reads once with the automaton.
    pub(crate) fn scan<'a>(&'a self, prepared: &'a Prepared) -> Hits<'a> {
        let mut hits = Hits {
            scanner: self,
            texts: TEXTS.map(|text| prepared.text(text)),
            literal: Bits::new(self.kinds.len()),
            terms: Vec::with_capacity(self.terms.min(TERM_HITS_RESERVED)),
            settled: Bits::new(self.terms),
            subject_is_reply: prepared.subject_is_reply,
            pending: self.untriggered.clone(),
            ascii_boundaries: [const { std::cell::OnceCell::new() }; PART_COUNT],
            memo: RefCell::new(Memo {
                bits: Bits::new(self.slots.len() * PART_COUNT * 2),
                slots: self.slots.len(),
            }),
        };
        let mut groups = Bits::new(self.groups);
        for text in TEXTS {
            if !self.reads.reads(text) {
                continue;
            }
            let original = hits.texts[text as usize];
            let words = !self.word_terms.is_empty() && Parts::TEXT.reads(text);
            if self.literals.is_some() || words {
                with_folded(original, |folded| {
                    if let Some(automaton) = &self.literals {
                        self.scan_literals(automaton, folded, text, &mut hits, &mut groups);
                    }
                    if words {
                        self.scan_words(folded, text, &mut hits);
                    }
                });
            }
            if !self.slots.is_empty() {
                self.mark_triggered(text, &groups, &mut hits.pending[text as usize]);
                // Triggers cannot vouch for such a text: every regex may
                // match it. (One `contains` per character: a one-character
                // search runs on memchr, a set of them decodes every one.)
                let fold_exception = pattern::FOLD_EXCEPTIONS.iter().any(|&c| original.contains(c));
                if fold_exception || !pattern::is_space_normal(original) {
                    hits.pending[text as usize].union_with(&self.readers[text as usize]);
                }
            }
            groups.clear_all();
        }
        hits
    }

    /// Marks pending the regexes reading `text` all of whose trigger groups
    /// were seen in it.
    fn mark_triggered(&self, text: TextPart, groups: &Bits, pending: &mut Bits) {
        for (slot, regex) in self.slots.iter().enumerate() {
            let seen = !regex.groups.is_empty() && regex.groups.iter().all(|&group| groups.get(group));
            if seen && regex.target.reads(text) {
                pending.set(slot);
            }
        }
    }

    /// Looks up every word of `folded` among the one-word lexicon terms.
    fn scan_words(&self, folded: &str, text: TextPart, hits: &mut Hits<'_>) {
        let mut start = None;
        for (at, c) in folded.char_indices().chain(std::iter::once((folded.len(), ' '))) {
            match (start, is_word_char(c)) {
                (None, true) => start = Some(at),
                (Some(from), false) => {
                    start = None;
                    let Some(terms) = folded.get(from..at).and_then(|word| self.word_terms.get(word)) else {
                        continue;
                    };
                    for &term in terms {
                        if !hits.settled.get(term) {
                            let negated = is_negated_at(folded, from);
                            hits.add_term(TermHit {
                                term,
                                part: text,
                                negated,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn scan_literals(
        &self,
        automaton: &AhoCorasick,
        folded: &str,
        text: TextPart,
        hits: &mut Hits<'_>,
        groups: &mut Bits,
    ) {
        for found in automaton.find_overlapping_iter(folded) {
            for literal_use in &self.literal_uses[found.pattern().as_usize()] {
                if !literal_use.target.reads(text) {
                    continue;
                }
                match literal_use.meaning {
                    Use::Literal {
                        condition,
                        whole_word,
                    } => {
                        if !hits.literal.get(condition)
                            && (!whole_word || is_whole_word(folded, found.start(), found.end()))
                        {
                            hits.literal.set(condition);
                        }
                    }
                    Use::Trigger { group } => groups.set(group),
                    Use::Term { term } => {
                        if !hits.settled.get(term) && is_whole_word(folded, found.start(), found.end()) {
                            hits.add_term(TermHit {
                                term,
                                part: text,
                                negated: is_negated_at(folded, found.start()),
                            });
                        }
                    }
                }
            }
        }
    }
}

/// Regex results worked out so far for one ticket, keyed
/// `slot * PART_COUNT + text`:
/// bit `key` says it ran, bit `PART_COUNT * slots + key` that it matched.
#[derive(Debug)]
struct Memo {
    bits: Bits,
    slots: usize,
}

impl Memo {
    fn known(&self, key: usize) -> Option<bool> {
        self.bits
            .get(key)
            .then(|| self.bits.get(PART_COUNT * self.slots + key))
    }

    fn remember(&mut self, key: usize, matched: bool) {
        self.bits.set(key);
        if matched {
            self.bits.set(PART_COUNT * self.slots + key);
        }
    }
}

thread_local! {
    /// A reusable buffer for folded texts.
    static FOLDED: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Calls `scan` with `fold(text)`, folded into a reused buffer.
fn with_folded(text: &str, scan: impl FnOnce(&str)) {
    FOLDED.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut folded) => {
            folded.clear();
            fold_into(text, &mut folded);
            scan(&folded);
        }
        Err(_) => scan(&fold(text)),
    });
}

/// One occurrence of a lexicon term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TermHit {
    /// The term's id.
    pub(crate) term: usize,
    /// Where it was found.
    pub(crate) part: TextPart,
    /// Whether a negation precedes it.
    pub(crate) negated: bool,
}

/// What the scan learnt about one ticket's texts; answers text conditions,
/// running pending regexes on first use.
#[derive(Debug)]
pub(crate) struct Hits<'a> {
    scanner: &'a Scanner,
    texts: [&'a str; PART_COUNT],
    /// Literal conditions that hold.
    literal: Bits,
    /// Lexicon terms found, each term's in text order, up to its first hit
    /// at full weight (later ones cannot change its score).
    terms: Vec<TermHit>,
    /// Terms with a hit at full weight.
    settled: Bits,
    /// The subject is a reply's: its hits never count at full weight.
    subject_is_reply: bool,
    /// Per text: regex slots that may match it (triggered or untriggerable).
    pending: [Bits; PART_COUNT],
    /// Per text, once a regex needs it: whether the ASCII-word-boundary
    /// regexes decide alike (the text has no non-ASCII word character).
    ascii_boundaries: [std::cell::OnceCell<bool>; PART_COUNT],
    memo: RefCell<Memo>,
}

impl Hits<'_> {
    /// Whether text condition `condition` holds.
    pub(crate) fn get(&self, condition: usize) -> bool {
        match self.scanner.kinds.get(condition) {
            Some(Kind::Literal) => self.literal.get(condition),
            Some(&Kind::Regex(slot)) => TEXTS.iter().any(|&text| self.regex_matches(slot, text)),
            None => false,
        }
    }

    /// Conditions that may hold: literal hits and every condition of a
    /// pending regex. A condition not listed does not hold.
    pub(crate) fn possible(&self) -> impl Iterator<Item = usize> + '_ {
        let regex_conditions = TEXTS
            .iter()
            .flat_map(|&text| self.pending[text as usize].ones())
            .flat_map(|slot| self.scanner.slots[slot].conditions.iter().copied());
        self.literal.ones().chain(regex_conditions)
    }

    /// The lexicon terms found: each term's hits in text order, up to its
    /// first at full weight.
    pub(crate) fn terms(&self) -> &[TermHit] {
        &self.terms
    }

    fn add_term(&mut self, hit: TermHit) {
        if lexicon::at_full_weight(&hit, self.subject_is_reply) {
            self.settled.set(hit.term);
        }
        self.terms.push(hit);
    }

    fn regex_matches(&self, slot: usize, text: TextPart) -> bool {
        if !self.pending[text as usize].get(slot) {
            return false;
        }
        let key = slot * PART_COUNT + text as usize;
        if let Some(known) = self.memo.borrow().known(key) {
            return known;
        }
        let regex = &self.scanner.slots[slot];
        let haystack = self.texts[text as usize];
        let ascii_alike = || {
            *self.ascii_boundaries[text as usize]
                .get_or_init(|| haystack.is_ascii() || !NON_ASCII_WORD.is_match(haystack))
        };
        let matched = match &regex.ascii {
            Some(ascii) if ascii_alike() => ascii.is_match(haystack),
            _ => regex.exact.is_match(haystack),
        };
        self.memo.borrow_mut().remember(key, matched);
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(subject: &str, body: &str) -> Prepared {
        let input = crate::ticket::TicketInput {
            subject: subject.to_string(),
            body: body.to_string(),
            ..Default::default()
        };
        Prepared::new(&input, Parts::TEXT)
    }

    fn scanner(regexes: &[(&str, TextTarget)]) -> Scanner {
        let mut builder = ScannerBuilder::default();
        for (pattern, target) in regexes {
            let condition = builder.new_condition();
            builder.add_regex(condition, &Regex::new(pattern).expect("valid"), *target);
        }
        builder.build().expect("builds")
    }

    #[test]
    fn regex_runs_only_when_triggered_and_reads_its_text() {
        let scanner = scanner(&[
            (r"(?i)\berror\s+\d+", Parts::of(TextPart::Body)),
            (r"\d{3}", Parts::TEXT),
        ]);
        let prepared_text = prepared("Error 500", "all good 123");
        let hits = scanner.scan(&prepared_text);
        assert!(!hits.get(0), "the subject is not read by condition 0");
        assert!(hits.get(1), "untriggered regexes always run");
        let possible: std::collections::BTreeSet<usize> = hits.possible().collect();
        assert_eq!(possible.into_iter().collect::<Vec<_>>(), vec![1]);
        let prepared_text = prepared("", "an ERROR 42 here");
        assert!(scanner.scan(&prepared_text).get(0));
    }

    #[test]
    fn unicode_word_boundaries_still_decide_on_non_ascii_words() {
        let scanner = scanner(&[
            (r"(?i)\bcafe\b", Parts::of(TextPart::Body)),
            (r"\bcan't\b", Parts::of(TextPart::Body)),
        ]);
        assert!(
            !scanner.scan(&prepared("", "cafeé")).get(0),
            "é is a word character"
        );
        assert!(scanner.scan(&prepared("", "the cafe’s")).get(0), "’ is not");
        assert!(scanner.scan(&prepared("", "I can’t log in")).get(1));
    }

    #[test]
    fn two_spaces_left_by_joining_parts_still_run_regexes() {
        let scanner = scanner(&[(r"hello\s+world", Parts::of(TextPart::Body))]);
        let text = prepared("", "hello\n> quoted\n\u{ad}\n> more\nworld");
        assert_eq!(text.text(TextPart::Body), "hello  world");
        assert!(scanner.scan(&text).get(0));
    }

    #[test]
    fn term_hits_stop_at_the_first_at_full_weight() {
        let mut builder = ScannerBuilder::default();
        builder.add_term(0, "crash");
        let scanner = builder.build().expect("builds");
        let text = prepared("Re: crash", "no crash here, a crash there and a crash again");
        let hits = scanner.scan(&text);
        let found: Vec<(TextPart, bool)> = hits.terms().iter().map(|hit| (hit.part, hit.negated)).collect();
        assert_eq!(
            found,
            vec![
                (TextPart::Subject, false),
                (TextPart::Body, true),
                (TextPart::Body, false)
            ]
        );
    }

    #[test]
    fn one_word_terms_match_whole_words_only_and_phrases_still_match() {
        let mut builder = ScannerBuilder::default();
        builder.add_term(0, "in");
        builder.add_term(1, "log in");
        builder.add_term(2, "can't");
        let scanner = builder.build().expect("builds");
        assert!(scanner.word_terms.contains_key("in") && !scanner.word_terms.contains_key("log in"));
        let text = prepared(
            "",
            "Inside the login page I can't log in, not in_progress. We live in Leeds",
        );
        let hits = scanner.scan(&text);
        let found: Vec<(usize, bool)> = hits.terms().iter().map(|hit| (hit.term, hit.negated)).collect();
        // Automaton hits first (text order), then word hits (text order);
        // "in" inside "Inside", "login" and "in_progress" is no hit.
        assert_eq!(found, vec![(2, false), (1, true), (0, true), (0, false)]);
    }

    #[test]
    fn long_s_matches_case_insensitive_s_without_a_trigger() {
        let scanner = scanner(&[(r"(?i)password", Parts::of(TextPart::Subject))]);
        assert!(scanner.scan(&prepared("PAſſWORD reset", "")).get(0));
    }
}
