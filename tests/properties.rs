//! Property tests:
//!
//! - the rule-file parser never panics, on random text, on mutated copies
//!   of the test and shipped rule files, or on absurd nesting, and every
//!   error it returns points at a real line and column;
//! - the fast classifier (keyword automaton, regex triggers, rule
//!   selection) decides exactly like the per-condition reference
//!   evaluator, on generated rule sets and on the shipped rules;
//! - no ticket, however malformed, makes ClassifyTicket or IngestTicket
//!   answer anything but OK or INVALID_ARGUMENT, and both agree.
//!
//! Cases are bounded for CI: 256 per property (1000 for the cheap
//! generated-rules equivalence, 64 for the mutated shipped rules and for
//! the RPC property). `PROPTEST_CASES=<n>` sets every property's count, e.g.
//! `PROPTEST_CASES=20000 cargo test --release --test properties`. Failures
//! are saved in `tests/properties.proptest-regressions` and replayed first.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence, TestCaseError, TestRunner};
use tonic::Code;
use triage::clock::UnixMicros;
use triage::pb;
use triage::rules::{CustomerHistory, PriorTicket, RuleError, RuleSet};
use triage::ticket::{Channel, Customer, Side, TicketInput};

// ---------------------------------------------------------------------------
// Running properties
// ---------------------------------------------------------------------------

/// Cases for one property: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// Checks `test` on `cases` values of `strategy`; panics with the minimal
/// failing input. Failures are saved beside this file for replay.
fn check<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = ProptestConfig {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(failure) = runner.run(&strategy, test) {
        panic!("{failure}");
    }
}

// ---------------------------------------------------------------------------
// a. RuleSet::parse never panics, and its errors point into the file
// ---------------------------------------------------------------------------

/// Every error must name a line and column in the text (1-based); a
/// report of several errors must hold only such errors.
fn error_points_into(text: &str, result: Result<RuleSet, RuleError>) -> Result<(), TestCaseError> {
    let Err(err) = result else {
        return Ok(());
    };
    let errors = err.each();
    prop_assert!(!errors.is_empty(), "an error report without errors");
    for error in errors {
        let RuleError::Invalid {
            line, column, reason, ..
        } = error
        else {
            return Err(TestCaseError::fail(format!(
                "parse gave a non-parse error: {error}"
            )));
        };
        let lines = text.split('\n').count();
        prop_assert!(*line >= 1, "line {} < 1: {}", line, reason);
        prop_assert!(*column >= 1, "column {} < 1: {}", column, reason);
        prop_assert!(
            *line <= lines,
            "line {} past the end ({} lines): {}",
            line,
            lines,
            reason
        );
        prop_assert!(!reason.is_empty(), "error without a reason");
    }
    Ok(())
}

/// Pieces of rule files, so random text often gets past the TOML parser
/// into the compiler.
const TOML_PIECES: &[&str] = &[
    "[[rule]]\n",
    "[[queue]]\n",
    "default_queue = \"inbox\"\n",
    "default_priority = \"urgent\"\n",
    "name = \"inbox\"\n",
    "id = \"r1\"\n",
    "stop = true\n",
    "when = ",
    "then = ",
    "{ field = \"text\", any_of = [\"down\"] }",
    "{ field = \"subject\", regex = \"(?i)\\\\bx\" }",
    "{ field = \"channel\", equals = \"fax\" }",
    "{ history = { at_least = 2 } }",
    "{ not = ",
    "{ all = [",
    "{ any = [",
    "{ queue = \"nowhere\" }",
    "{ priority = \"high\" }",
    "{ add_tags = [] }",
    "escalate_to = \"inbox\"\n",
    "first_response_minutes = -1\n",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "'''",
    "=",
    ",",
    "\n",
    " ",
    "#",
    "\\",
    "é",
    "\u{0}",
    "regex = \"(\"",
    "regex = \"a{99999}{99999}\"",
];

fn toml_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![4 => select(TOML_PIECES).prop_map(str::to_string), 1 => any::<String>()],
        0..40,
    )
    .prop_map(|pieces| pieces.concat())
}

#[test]
fn rule_parser_never_panics_on_arbitrary_text() {
    let text = prop_oneof![any::<String>(), toml_soup()];
    check(cases(256), text, |text| {
        error_points_into(&text, RuleSet::parse("random.toml", &text))
    });
}

/// One edit of a rule file.
#[derive(Debug, Clone)]
enum Edit {
    DeleteBytes(Index, usize),
    Insert(Index, String),
    ReplaceByte(Index, u8),
    Truncate(Index),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let text = prop_oneof![select(TOML_PIECES).prop_map(str::to_string), any::<String>()];
    prop_oneof![
        (any::<Index>(), 1..20usize).prop_map(|(at, len)| Edit::DeleteBytes(at, len)),
        (any::<Index>(), text).prop_map(|(at, text)| Edit::Insert(at, text)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Edit::ReplaceByte(at, byte)),
        any::<Index>().prop_map(Edit::Truncate),
        any::<Index>().prop_map(Edit::DeleteLine),
        any::<Index>().prop_map(Edit::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::DeleteBytes(at, count) => {
                let at = at.index(len).min(bytes.len());
                let end = (at + count).min(bytes.len());
                bytes.drain(at..end);
            }
            Edit::Insert(at, text) => {
                let at = at.index(len + 1).min(bytes.len());
                bytes.splice(at..at, text.bytes());
            }
            Edit::ReplaceByte(at, byte) => {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes[at] = *byte;
                }
            }
            Edit::Truncate(at) => bytes.truncate(at.index(len)),
            Edit::DeleteLine(_) | Edit::DuplicateLine(_) | Edit::SwapLines(..) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = text.split('\n').collect();
                let n = lines.len();
                match edit {
                    Edit::DeleteLine(at) => {
                        lines.remove(at.index(n));
                    }
                    Edit::DuplicateLine(at) => {
                        let at = at.index(n);
                        lines.insert(at, lines[at]);
                    }
                    Edit::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
                    _ => unreachable!(),
                }
                bytes = lines.join("\n").into_bytes();
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn rule_parser_never_panics_on_mutated_rule_files() {
    let edits = prop::collection::vec(edit(), 1..6);
    check(cases(256), edits, |edits| {
        let text = apply(common::TEST_RULES, &edits);
        error_points_into(&text, RuleSet::parse("mutated.toml", &text))
    });
}

#[test]
fn rule_parser_never_panics_on_mutated_default_rules() {
    // The shipped rules are large (every edit recompiles all of them), so
    // fewer cases.
    let edits = prop::collection::vec(edit(), 1..4);
    check(cases(64), edits, |edits| {
        let text = apply(triage::rules::DEFAULT_RULES, &edits);
        error_points_into(&text, RuleSet::parse("mutated-default.toml", &text))
    });
}

#[test]
fn deeply_nested_rule_files_are_rejected_with_a_line() {
    for depth in [33, 1_000, 100_000] {
        let condition = format!(
            "{}{{ field = \"text\", contains = \"x\" }}{}",
            "{ not = ".repeat(depth),
            " }".repeat(depth)
        );
        let text = format!(
            "default_queue = \"q\"\n[[queue]]\nname = \"q\"\n[[rule]]\nid = \"r\"\n\
             then = {{ priority = \"high\" }}\nwhen = {condition}\n"
        );
        let arrays = format!("default_queue = {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        for text in [text, arrays] {
            // A 2 MiB stack, like a tokio worker reloading rules on SIGHUP.
            let parsed = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || match RuleSet::parse("deep.toml", &text) {
                    Ok(_) => Err("accepted".to_string()),
                    Err(RuleError::Invalid { line, .. }) if line >= 1 => Ok(()),
                    Err(other) => Err(other.to_string()),
                })
                .expect("thread")
                .join()
                .expect("parsing deep nesting does not panic");
            assert_eq!(parsed, Ok(()), "depth {depth}");
        }
    }
}

// ---------------------------------------------------------------------------
// b. The scanner agrees with the reference evaluator
// ---------------------------------------------------------------------------

/// Words and phrases both rules and tickets are made of: overlapping
/// keywords, phrases, punctuation inside words, and non-ASCII letters
/// whose case folding changes their length or depends on context.
const WORDS: &[&str] = &[
    "down",
    "download",
    "shutdown",
    "is down",
    "outage",
    "refund",
    "refunded",
    "charged",
    "invoice",
    "thank",
    "thanks",
    "log in",
    "login",
    "café",
    "cafe",
    "über",
    "ÄRGER",
    "ärger",
    "can't",
    "can’t",
    "e-mail",
    "c++",
    ":500",
    "#1",
    "100%",
    "wi-fi",
    "_id",
    "x",
    "déjà vu",
    "naïve",
    "İstanbul",
    "straße",
    "STRASSE",
    "ΟΔΟΣ",
    "σας",
    "日本",
    "ǅemal",
    "password",
    "paſſword",
    "ſhutdown",
    "kelvin",
    "\u{212A}elvin",
    "ΣΑΣ",
    "ﬁle",
    "file",
    "🙂",
    "—",
    "e\u{301}",
    "a\u{a0}b",
    "error 500",
    "order #42",
    "not working",
    "no problem",
    "doesn’t work",
    "can not",
];

const SEPARATORS: &[&str] = &[
    " ", " ", " ", "  ", ", ", ". ", "! ", "?", "-", "_", "\n", "", "'", "’", "(", ")", "é", "\t", "\u{a0}",
    "\r\n", "\u{ad}", "“", "–", " not ", " never ", " no ",
];

/// How a word is written in a ticket or a rule: as is, upper, lower or
/// title case, or with look-alikes that case-insensitive regexes equate
/// with ASCII letters (long s for `s`, the Kelvin sign for `k`).
fn cased(word: &str, case: u8) -> String {
    match case % 6 {
        0 => word.to_string(),
        1 => word.to_uppercase(),
        2 => word.to_lowercase(),
        3 => {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        4 => word.replace('s', "\u{17F}"),
        _ => word.replace(['k', 'K'], "\u{212A}"),
    }
}

fn word() -> impl Strategy<Value = String> {
    (select(WORDS), any::<u8>()).prop_map(|(word, case)| cased(word, case))
}

/// Ticket text: vocabulary words with random case and punctuation.
/// A vocabulary word as written, or a near miss: cut short, with a
/// letter doubled or dropped, or with an ending added.
fn word_or_near_miss() -> impl Strategy<Value = String> {
    (
        word(),
        0..8u8,
        any::<Index>(),
        select(&["s", "ed", "-", "e", "ſ", "\u{301}"][..]),
    )
        .prop_map(|(word, change, at, ending)| {
            let mut chars: Vec<char> = word.chars().collect();
            let at = at.index(chars.len());
            match change {
                0 => chars.truncate(at.max(1)),
                1 => chars.insert(at, chars[at]),
                2 if chars.len() > 1 => {
                    chars.remove(at);
                }
                3 => chars.extend(ending.chars()),
                _ => {}
            }
            chars.into_iter().collect()
        })
}

/// Ticket text: vocabulary words (and near misses) with random case and
/// punctuation.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec((word_or_near_miss(), select(SEPARATORS)), 0..16).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(word, separator)| format!("{word}{separator}"))
            .collect()
    })
}

/// A part of a word, cut at character boundaries (for `contains`).
fn fragment() -> impl Strategy<Value = String> {
    (word(), any::<Index>(), any::<Index>()).prop_map(|(word, a, b)| {
        let chars: Vec<char> = word.chars().collect();
        let (a, b) = (a.index(chars.len()), b.index(chars.len()));
        let (from, to) = (a.min(b), a.max(b) + 1);
        let part: String = chars[from..to].iter().collect();
        if part.trim().is_empty() {
            word
        } else {
            part
        }
    })
}

/// A generated regular expression, rendered to pattern text.
#[derive(Debug, Clone)]
enum Re {
    /// A vocabulary word, escaped or (when it needs no escaping) raw.
    Word(String, bool),
    /// A fixed piece: class, escape, anchor, boundary or flag setting.
    Piece(&'static str),
    /// A group of alternatives.
    Group(&'static str, Vec<Vec<Re>>),
    /// A quantified item; when `bare`, the quantifier follows it directly
    /// (on a word, it applies to the last character only: `refunds?`).
    Repeat(Box<Re>, &'static str, bool),
}

/// Classes, escapes, anchors, word boundaries and flags, including ones
/// that are easy to misread (`[]a]`, `\\b`, `\x{212A}`, braced boundaries).
const REGEX_PIECES: &[&str] = &[
    ".",
    "\\d",
    "\\w",
    "\\W",
    "\\s",
    "\\S",
    "\\pL",
    "\\p{Greek}",
    "\\PL",
    "[eé]",
    "[a-z]",
    "[^a-z]",
    "[]a]",
    "[^]a]",
    "[\\]x]",
    "[[:alpha:]]",
    "[a-z&&[^aeiou]]",
    "[ſs]",
    "\\x41",
    "\\u00e9",
    "\\x{212A}",
    "\\.",
    "\\-",
    "\\#",
    "\\ ",
    "\\\\b",
    "\\t",
    "\\n",
    "#",
    " ",
    "'",
    "’",
    "^",
    "$",
    "\\A",
    "\\z",
    "\\b",
    "\\B",
    "\\b{start}",
    "\\b{end}",
    "\\b{start-half}",
    "\\b{end-half}",
    "\\<",
    "\\>",
    "(?i)",
    "(?-i)",
    "(?x)",
    "(?m)",
    "(?s)",
    "(?U)",
    "(?R)",
    "(?i-u)",
];

const GROUPS: &[&str] = &[
    "(", "(?:", "(?i:", "(?-i:", "(?P<n>", "(?<m>", "(?s:", "(?u:", "(?x:", "(?U:",
];
const REPEATS: &[&str] = &[
    "?",
    "*",
    "+",
    "{2}",
    "{0,2}",
    "{1,}",
    "{ 1 , 3 }",
    "??",
    "+?",
    "{0}",
    "{3,}?",
];

fn regex_tree() -> impl Strategy<Value = Re> {
    let leaf = prop_oneof![
        4 => (word(), any::<bool>()).prop_map(|(word, raw)| Re::Word(word, raw)),
        3 => select(REGEX_PIECES).prop_map(Re::Piece),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            (
                select(GROUPS),
                prop::collection::vec(prop::collection::vec(inner.clone(), 0..4), 1..4),
            )
                .prop_map(|(open, branches)| Re::Group(open, branches)),
            (inner, select(REPEATS), any::<bool>()).prop_map(|(item, repeat, bare)| Re::Repeat(
                Box::new(item),
                repeat,
                bare
            )),
        ]
    })
}

fn render_regex(re: &Re, out: &mut String) {
    match re {
        Re::Word(word, raw) => {
            let escaped = regex::escape(word);
            out.push_str(if *raw && escaped == *word { word } else { &escaped });
        }
        Re::Piece(piece) => out.push_str(piece),
        Re::Group(open, branches) => {
            out.push_str(open);
            for (index, branch) in branches.iter().enumerate() {
                if index > 0 {
                    out.push('|');
                }
                for item in branch {
                    render_regex(item, out);
                }
            }
            out.push(')');
        }
        Re::Repeat(item, repeat, bare) => {
            // A quantifier after a piece that cannot take one makes the
            // pattern invalid, and `pattern` falls back to plain words.
            if *bare {
                render_regex(item, out);
            } else {
                out.push_str("(?:");
                render_regex(item, out);
                out.push(')');
            }
            out.push_str(repeat);
        }
    }
}

/// A pattern of the kind rule authors write: a word with one character
/// quantified (`refunds?`, `colou?r`), optionally case-insensitive, within
/// word boundaries, followed by a second word.
fn simple_pattern() -> impl Strategy<Value = String> {
    let quantifiers = select(&["", "?", "*", "+", "{0,1}", "{2}", "??", "{1,}"][..]);
    let joins = select(&["", " ", "\\s+", "\\W*", ".*", "|", "\\b.+\\b"][..]);
    (
        (any::<bool>(), any::<bool>()),
        (select(WORDS), any::<Index>(), quantifiers),
        prop::option::of((joins, select(WORDS))),
    )
        .prop_map(|((insensitive, bounded), (first, at, quantifier), second)| {
            let chars: Vec<char> = first.chars().collect();
            let at = at.index(chars.len());
            let mut pattern = String::from(if insensitive { "(?i)" } else { "" });
            if bounded {
                pattern.push_str("\\b");
            }
            for (index, c) in chars.iter().enumerate() {
                pattern.push_str(&regex::escape(&c.to_string()));
                if index == at {
                    pattern.push_str(quantifier);
                }
            }
            if let Some((join, second)) = second {
                pattern.push_str(join);
                pattern.push_str(&regex::escape(second));
            }
            if bounded {
                pattern.push_str("\\b");
            }
            pattern
        })
}

/// A valid pattern: simple, or generated alternatives; when the regex crate
/// rejects those, the first alternative's words, escaped.
fn pattern() -> impl Strategy<Value = String> {
    let branch = prop::collection::vec(regex_tree(), 1..5);
    let generated =
        (prop::collection::vec(branch, 1..3), any::<bool>()).prop_map(|(branches, insensitive)| {
            let mut pattern = String::from(if insensitive { "(?i)" } else { "" });
            for (index, branch) in branches.iter().enumerate() {
                if index > 0 {
                    pattern.push('|');
                }
                for item in branch {
                    render_regex(item, &mut pattern);
                }
            }
            if regex::Regex::new(&pattern).is_ok() {
                return pattern;
            }
            let words: String = branches[0]
                .iter()
                .filter_map(|item| match item {
                    Re::Word(word, _) => Some(regex::escape(word)),
                    _ => None,
                })
                .collect();
            if words.is_empty() {
                "down".to_string()
            } else {
                words
            }
        });
    prop_oneof![simple_pattern(), generated]
}

/// A field test as a rule file writes it.
#[derive(Debug, Clone)]
enum Op {
    AnyOf(Vec<String>),
    Contains(String),
    Regex(String),
    Equals(String),
    In(Vec<String>),
}

/// A generated condition.
#[derive(Debug, Clone)]
enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Field(String, Op),
    History {
        within_days: Option<u32>,
        side: Option<&'static str>,
        open: Option<bool>,
        at_least: Option<u32>,
        at_most: Option<u32>,
    },
    /// A weighted lexicon's score (see [`LEXICONS`]) within bounds.
    Score {
        lexicon: usize,
        at_least: Option<i8>,
        at_most: Option<i8>,
    },
}

impl Cond {
    /// True for a text match made of regexes only.
    fn is_regex_match(&self) -> bool {
        match self {
            Cond::All(parts) | Cond::Any(parts) => {
                !parts.is_empty() && parts.iter().all(Cond::is_regex_match)
            }
            Cond::Field(field, Op::Regex(_)) => matches!(
                field.as_str(),
                "subject" | "body" | "text" | "quoted" | "signature" | "full_body"
            ),
            _ => false,
        }
    }

    /// True for a condition that can only hold through text matches in
    /// subject or body (no negation, no other fields).
    fn is_text_match(&self) -> bool {
        match self {
            Cond::All(parts) | Cond::Any(parts) => !parts.is_empty() && parts.iter().all(Cond::is_text_match),
            Cond::Field(field, Op::AnyOf(_) | Op::Contains(_) | Op::Regex(_)) => matches!(
                field.as_str(),
                "subject" | "body" | "text" | "quoted" | "signature" | "full_body"
            ),
            _ => false,
        }
    }
}

const CHANNELS: &[&str] = &[
    "email",
    "chat",
    "phone",
    "social",
    "web",
    "internal",
    "unspecified",
    "WEB",
];
const TIERS: &[&str] = &["free", "pro", "enterprise", "VIP", "Überpremium"];
/// Ticket languages; rules test the non-empty ones.
const LANGUAGES: &[&str] = &["en", "en-GB", "de", "DE-ch", "fr", "pt_BR", ""];
const TAGS: &[&str] = &["vip", "Billing", "outage", "ärger", "urgent!", "is down"];

fn words(pool: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(select(pool).prop_map(str::to_string), 1..4)
}

fn text_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec(word(), 1..5).prop_map(Op::AnyOf),
        2 => prop_oneof![word(), fragment()].prop_map(Op::Contains),
        2 => pattern().prop_map(Op::Regex),
        1 => word().prop_map(Op::Equals),
    ]
}

fn value_op(pool: &'static [&'static str]) -> impl Strategy<Value = Op> {
    prop_oneof![
        select(pool).prop_map(|value| Op::Equals(value.to_string())),
        words(pool).prop_map(Op::In),
        select(pool).prop_map(|value| Op::Contains(value.to_string())),
        words(pool).prop_map(Op::AnyOf),
        pattern().prop_map(Op::Regex),
    ]
}

fn leaf() -> BoxedStrategy<Cond> {
    let text_fields = select(&["subject", "body", "text", "quoted", "signature", "full_body"][..]);
    let in_or_equals = |pool: &'static [&'static str]| {
        prop_oneof![
            select(pool).prop_map(|value| Op::Equals(value.to_string())),
            words(pool).prop_map(Op::In),
        ]
    };
    prop_oneof![
        8 => (text_fields, text_op()).prop_map(|(field, op)| Cond::Field(field.to_string(), op)),
        1 => in_or_equals(CHANNELS).prop_map(|op| Cond::Field("channel".into(), op)),
        1 => value_op(TIERS).prop_map(|op| Cond::Field("tier".into(), op)),
        1 => value_op(TAGS).prop_map(|op| Cond::Field("tags".into(), op)),
        1 => value_op(&LANGUAGES[..LANGUAGES.len() - 1]).prop_map(|op| Cond::Field("language".into(), op)),
        1 => text_op().prop_map(|op| Cond::Field("attributes.x".into(), op)),
        1 => (
            prop::option::of(0..40u32),
            prop::option::of(select(&["reactive", "proactive", "unclassified"][..])),
            prop::option::of(any::<bool>()),
            0..4u32,
            0..3u8,
        )
            .prop_map(|(within_days, side, open, count, bounds)| Cond::History {
                within_days,
                side,
                open,
                at_least: (bounds != 1).then_some(count),
                at_most: (bounds != 0).then_some(count + 1),
            }),
        2 => (0..LEXICONS.len(), -2..4i8, 0..3u8).prop_map(|(lexicon, bound, which)| Cond::Score {
            lexicon,
            at_least: (which != 1).then_some(bound),
            at_most: (which != 0).then_some(bound + 1),
        }),
    ]
    .boxed()
}

fn condition() -> impl Strategy<Value = Cond> {
    let nested = leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Cond::All),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Cond::Any),
            inner.prop_map(|part| Cond::Not(Box::new(part))),
        ]
    });
    prop_oneof![leaf(), nested]
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| quoted(item)).collect();
    format!("[{}]", items.join(", "))
}

fn render(cond: &Cond) -> String {
    let list = |parts: &[Cond]| parts.iter().map(render).collect::<Vec<_>>().join(", ");
    match cond {
        Cond::All(parts) => format!("{{ all = [{}] }}", list(parts)),
        Cond::Any(parts) => format!("{{ any = [{}] }}", list(parts)),
        Cond::Not(part) => format!("{{ not = {} }}", render(part)),
        Cond::Field(field, op) => {
            let op = match op {
                Op::AnyOf(words) => format!("any_of = {}", quoted_list(words)),
                Op::Contains(text) => format!("contains = {}", quoted(text)),
                Op::Regex(pattern) => format!("regex = {}", quoted(pattern)),
                Op::Equals(text) => format!("equals = {}", quoted(text)),
                Op::In(values) => format!("in = {}", quoted_list(values)),
            };
            format!("{{ field = {}, {op} }}", quoted(field))
        }
        Cond::History {
            within_days,
            side,
            open,
            at_least,
            at_most,
        } => {
            let mut parts = Vec::new();
            if let Some(days) = within_days {
                parts.push(format!("within_days = {days}"));
            }
            if let Some(side) = side {
                parts.push(format!("side = {}", quoted(side)));
            }
            if let Some(open) = open {
                parts.push(format!("open = {open}"));
            }
            if let Some(n) = at_least {
                parts.push(format!("at_least = {n}"));
            }
            if let Some(n) = at_most {
                parts.push(format!("at_most = {n}"));
            }
            format!("{{ history = {{ {} }} }}", parts.join(", "))
        }
        Cond::Score {
            lexicon,
            at_least,
            at_most,
        } => {
            let mut parts = vec![format!("score = \"l{lexicon}\"")];
            if let Some(n) = at_least {
                parts.push(format!("at_least = {n}"));
            }
            if let Some(n) = at_most {
                parts.push(format!("at_most = {n}"));
            }
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

/// The weighted lexicons every generated rule file declares: vocabulary
/// words and phrases (some with typographic apostrophes or a negation in
/// them), positive and negative weights.
const LEXICONS: &[&[(&str, f32)]] = &[
    &[
        ("outage", 2.0),
        ("is down", 1.5),
        ("refund", 1.0),
        ("not working", 2.5),
        ("can’t", 0.75),
        ("thanks", -1.0),
        ("no problem", -0.5),
    ],
    &[
        ("thank", 1.0),
        ("café", 0.5),
        ("doesn't work", -2.0),
        ("wi-fi", 1.25),
        ("🙂", 1.0),
        ("log in", -0.25),
    ],
];

fn render_lexicons() -> String {
    let mut out = String::new();
    for (index, terms) in LEXICONS.iter().enumerate() {
        out.push_str(&format!("\n[lexicon.l{index}]\n"));
        for (term, weight) in *terms {
            out.push_str(&format!("{} = {weight}\n", quoted(term)));
        }
    }
    out
}

/// A generated rule.
#[derive(Debug, Clone)]
struct GenRule {
    when: Cond,
    stop: bool,
    queue: Option<u8>,
    priority: Option<&'static str>,
    side: Option<&'static str>,
    minutes: Option<u32>,
}

fn rule() -> impl Strategy<Value = GenRule> {
    (
        condition(),
        prop::bool::weighted(0.2),
        prop::option::of(0..4u8),
        prop::option::of(select(&["urgent", "high", "normal", "low"][..])),
        prop::option::of(select(&["reactive", "proactive", "unclassified"][..])),
        prop::option::of(1..500u32),
    )
        .prop_map(|(when, stop, queue, priority, side, minutes)| GenRule {
            when,
            stop,
            queue,
            priority,
            side,
            minutes,
        })
}

fn rule_file(rules: &[GenRule]) -> String {
    let mut file = String::from("version = \"prop\"\ndefault_queue = \"q0\"\n");
    file.push_str(&render_lexicons());
    for queue in 0..4 {
        file.push_str(&format!("\n[[queue]]\nname = \"q{queue}\"\n"));
        if queue % 2 == 1 {
            file.push_str(&format!("first_response_minutes = {}\n", 30 * queue));
        }
    }
    for (index, rule) in rules.iter().enumerate() {
        let mut then = vec![
            format!("category = \"c{index}\""),
            format!("add_tags = [\"t{}\"]", index % 3),
        ];
        if let Some(queue) = rule.queue {
            then.push(format!("queue = \"q{queue}\""));
        }
        if let Some(priority) = rule.priority {
            then.push(format!("priority = \"{priority}\""));
        }
        if let Some(side) = rule.side {
            then.push(format!("side = \"{side}\""));
        }
        if let Some(minutes) = rule.minutes {
            then.push(format!("first_response_minutes = {minutes}"));
        }
        file.push_str(&format!(
            "\n[[rule]]\nid = \"r{index}\"\nstop = {}\nwhen = {}\nthen = {{ {} }}\n",
            rule.stop,
            render(&rule.when),
            then.join(", ")
        ));
    }
    file
}

const NOW: UnixMicros = common::START;

fn ticket_input() -> impl Strategy<Value = TicketInput> {
    (
        (text(), text()),
        select(&Channel::ALL[..]),
        select(TIERS),
        select(LANGUAGES),
        prop::collection::vec(select(TAGS).prop_map(str::to_string), 0..3),
        prop::option::of(text()),
    )
        .prop_map(
            |((subject, body), (channel, _), tier, language, tags, x)| TicketInput {
                external_id: "prop".into(),
                source: "zendesk".into(),
                channel,
                subject,
                body,
                customer: Customer {
                    id: "c".into(),
                    tier: tier.into(),
                    email: String::new(),
                },
                language: language.into(),
                tags,
                created_at: None,
                attributes: x
                    .map(|x| BTreeMap::from([("x".to_string(), x)]))
                    .unwrap_or_default(),
            },
        )
}

fn history() -> impl Strategy<Value = CustomerHistory> {
    let side = select(&[Side::Reactive, Side::Proactive, Side::Unclassified][..]);
    let prior = (0..40i64, side, select(&["c0", "c1", ""][..]), any::<bool>()).prop_map(
        |(days_ago, side, category, open)| PriorTicket {
            ingested_at: UnixMicros(NOW.0 - days_ago * 86_400_000_000),
            side,
            category: category.into(),
            open,
        },
    );
    prop::collection::vec(prior, 0..5).prop_map(|tickets| CustomerHistory { tickets })
}

#[test]
fn scanner_classifies_exactly_like_the_reference_evaluator() {
    let tickets = AtomicUsize::new(0);
    let any_fired = AtomicUsize::new(0);
    let text_fired = AtomicUsize::new(0);
    let regex_fired = AtomicUsize::new(0);
    let some_held_back = AtomicUsize::new(0);
    let strategy = (
        prop::collection::vec(rule(), 1..8),
        prop::collection::vec((ticket_input(), history()), 1..8),
    );
    check(cases(1000), strategy, |(rules, inputs)| {
        let file = rule_file(&rules);
        let rule_set = RuleSet::parse("generated.toml", &file)
            .map_err(|err| TestCaseError::fail(format!("generated rule file rejected: {err}\n{file}")))?;
        for (input, history) in &inputs {
            let fast = rule_set.classify(input, history, NOW);
            let reference = rule_set.classify_reference(input, history, NOW);
            prop_assert_eq!(&fast, &reference, "rule file:\n{}\nticket: {:?}", file, input);
            tickets.fetch_add(1, Ordering::Relaxed);
            if !fast.rule_ids.is_empty() {
                any_fired.fetch_add(1, Ordering::Relaxed);
            }
            if fast.rule_ids.len() < rules.len() {
                some_held_back.fetch_add(1, Ordering::Relaxed);
            }
            let fired = |test: fn(&Cond) -> bool| {
                fast.rule_ids.iter().any(|id| {
                    id.strip_prefix('r')
                        .and_then(|index| index.parse::<usize>().ok())
                        .is_some_and(|index| test(&rules[index].when))
                })
            };
            if fired(Cond::is_text_match) {
                text_fired.fetch_add(1, Ordering::Relaxed);
            }
            if fired(Cond::is_regex_match) {
                regex_fired.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    });
    let tickets = tickets.load(Ordering::Relaxed);
    let share = |count: &AtomicUsize| count.load(Ordering::Relaxed) as f64 / tickets.max(1) as f64;
    println!(
        "{tickets} tickets: some rule fired for {:.0}%, a text-only rule for {:.0}%, a regex-only rule \
         for {:.0}%, some rule did not fire for {:.0}%",
        100.0 * share(&any_fired),
        100.0 * share(&text_fired),
        100.0 * share(&regex_fired),
        100.0 * share(&some_held_back)
    );
    // Not vacuous: rules, and text matches in particular, fire often, and
    // not everything fires always.
    assert!(share(&any_fired) > 0.3, "rules fire too rarely to test anything");
    assert!(share(&text_fired) > 0.05, "text matches happen too rarely");
    assert!(share(&regex_fired) > 0.02, "regex matches happen too rarely");
    assert!(share(&some_held_back) > 0.3, "rules fire too indiscriminately");
}

/// Words and phrases of the shipped rules: their quoted keywords, and the
/// words inside their regexes.
fn default_rules_vocabulary() -> Vec<String> {
    let quoted = regex::Regex::new(r#""([^"\\\n]{2,40})""#).expect("valid");
    let word = regex::Regex::new(r"[a-z]{3,}").expect("valid");
    let mut vocabulary = std::collections::BTreeSet::new();
    for line in triage::rules::DEFAULT_RULES.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for found in quoted.captures_iter(line) {
            vocabulary.insert(found[1].to_string());
        }
        if line.contains("regex") {
            for found in word.find_iter(line) {
                vocabulary.insert(found.as_str().to_string());
            }
        }
    }
    vocabulary.into_iter().collect()
}

#[test]
fn scanner_classifies_like_the_reference_with_the_shipped_rules() {
    let rules = RuleSet::default_rules().expect("shipped rules compile");
    let vocabulary = default_rules_vocabulary();
    assert!(vocabulary.len() > 500, "vocabulary found: {}", vocabulary.len());
    let text = prop::collection::vec(
        (select(vocabulary), any::<u8>(), select(SEPARATORS), any::<bool>()),
        0..12,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(word, case, separator, apostrophe)| {
                let word = cased(&word, case);
                let word = if apostrophe {
                    word.replace('\'', "’")
                } else {
                    word
                };
                format!("{word}{separator}")
            })
            .collect::<String>()
    });
    let ticket = (ticket_input(), text.clone(), text, history());
    let (tickets, fired) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let rule_ids = std::sync::Mutex::new(std::collections::BTreeSet::new());
    check(
        cases(256),
        prop::collection::vec(ticket, 1..6),
        |tickets_of_case| {
            for (mut input, subject, body, history) in tickets_of_case {
                input.subject = subject;
                input.body = body;
                let fast = rules.classify(&input, &history, NOW);
                let reference = rules.classify_reference(&input, &history, NOW);
                prop_assert_eq!(&fast, &reference, "ticket: {:?}", input);
                tickets.fetch_add(1, Ordering::Relaxed);
                if !fast.rule_ids.is_empty() {
                    fired.fetch_add(1, Ordering::Relaxed);
                }
                rule_ids.lock().expect("not poisoned").extend(fast.rule_ids);
            }
            Ok(())
        },
    );
    let (tickets, fired) = (tickets.into_inner(), fired.into_inner());
    let distinct = rule_ids.into_inner().expect("not poisoned").len();
    println!("{tickets} tickets, {fired} with a rule firing, {distinct} distinct rules fired");
    assert!(
        fired * 2 > tickets,
        "the shipped rules fire too rarely to test anything"
    );
    assert!(
        distinct > rules.rule_count() / 2,
        "only {distinct} rules ever fired"
    );
}

// ---------------------------------------------------------------------------
// c. Request validation: OK or INVALID_ARGUMENT, nothing else
// ---------------------------------------------------------------------------

/// Sizes around every limit (ids 256, values 1024, subject 4096, body 256 KiB).
const SIZES: &[usize] = &[255, 256, 257, 1_023, 1_024, 1_025, 4_095, 4_096, 4_097];
const BODY_SIZES: &[usize] = &[262_143, 262_144, 262_145, 300_000];

/// `seed` repeated up to about `size` bytes, cut at a character boundary.
fn sized(seed: &str, size: usize) -> String {
    let mut text = seed.repeat(size / seed.len().max(1) + 1);
    let mut cut = size.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

fn wild_string(sizes: &'static [usize]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => any::<String>(),
        2 => prop::collection::vec(any::<char>(), 0..16).prop_map(String::from_iter),
        2 => "[a-z0-9 ]{0,12}",
        1 => Just(String::new()),
        1 => "[ \t\r\n]{1,4}",
        1 => "[a-z]{0,3}[\u{0}-\u{1f}\u{7f}\u{80}-\u{9f}][a-z]{0,3}",
        1 => ("[a-zé日 ]{1,3}", select(sizes)).prop_map(|(seed, size)| sized(&seed, size)),
    ]
    .boxed()
}

fn wild_timestamp() -> impl Strategy<Value = prost_types::Timestamp> {
    const MIN: i64 = -62_135_596_800;
    const MAX: i64 = 253_402_300_799;
    let seconds = prop_oneof![
        4 => MIN..=MAX,
        1 => any::<i64>(),
        1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), MIN - 1..=MIN + 1, MAX - 1..=MAX + 1, -5..5i64],
    ];
    let nanos = prop_oneof![
        4 => 0..1_000_000_000i32,
        1 => any::<i32>(),
        1 => prop_oneof![-1..=1i32, 999_999_998..=1_000_000_001i32, Just(i32::MIN), Just(i32::MAX)],
    ];
    (seconds, nanos).prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos })
}

/// Mostly a plausible value, sometimes a wild one, so that both accepted
/// and rejected tickets are common.
fn mostly(
    plausible: impl Strategy<Value = String> + 'static,
    sizes: &'static [usize],
) -> BoxedStrategy<String> {
    prop_oneof![3 => plausible, 1 => wild_string(sizes)].boxed()
}

fn wild_ticket() -> impl Strategy<Value = pb::TicketInput> {
    let id = || mostly("[a-z0-9-]{1,20}", SIZES);
    let short = || mostly("[a-zA-Z]{0,10}", SIZES);
    let enum_value = prop_oneof![3 => 0..8i32, 1 => any::<i32>()];
    let customer = prop::option::of(
        (id(), short(), short()).prop_map(|(id, tier, email)| pb::Customer { id, tier, email }),
    );
    let counts = || prop_oneof![3 => 0..4usize, 1 => 63..=66usize];
    let tags = counts().prop_flat_map(move |n| prop::collection::vec(mostly("[a-z]{1,8}", SIZES), n));
    let attributes = counts().prop_flat_map(move |n| {
        prop::collection::hash_map(mostly("[a-z]{1,8}", SIZES), mostly(text(), SIZES), n / 2..=n)
    });
    let body = prop_oneof![3 => text(), 1 => wild_string(SIZES), 1 => wild_string(BODY_SIZES)];
    (
        (id(), id(), enum_value),
        (mostly(text(), SIZES), body),
        (customer, short(), tags),
        (prop::option::of(wild_timestamp()), attributes),
    )
        .prop_map(
            |(
                (external_id, source, channel),
                (subject, body),
                (customer, language, tags),
                (created_at, attributes),
            )| {
                pb::TicketInput {
                    external_id,
                    source,
                    channel,
                    subject,
                    body,
                    customer,
                    language,
                    tags,
                    created_at,
                    attributes: attributes.into_iter().collect::<HashMap<_, _>>(),
                }
            },
        )
}

/// Keeps a long description of a large ticket short.
#[derive(Clone)]
struct Wild(pb::TicketInput);

impl std::fmt::Debug for Wild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = format!("{:?}", self.0);
        if text.len() > 4000 {
            let mut cut = 4000;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("...");
        }
        f.write_str(&text)
    }
}

#[test]
fn any_ticket_is_either_classified_or_rejected_as_invalid() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(common::TestServer::start());
    let client = server.client.clone();
    let (accepted, rejected) = (AtomicUsize::new(0), AtomicUsize::new(0));
    check(cases(64), wild_ticket().prop_map(Wild), |Wild(input)| {
        let (classified, ingested) = runtime.block_on(async {
            let mut client = client.clone();
            let classified = client
                .classify_ticket(pb::ClassifyTicketRequest {
                    ticket: Some(input.clone()),
                })
                .await;
            let ingested = client
                .ingest_ticket(pb::IngestTicketRequest {
                    ticket: Some(input.clone()),
                })
                .await;
            (classified, ingested)
        });
        match (&classified, &ingested) {
            (Ok(classified), Ok(ingested)) => {
                prop_assert!(classified.get_ref().classification.is_some(), "no classification");
                prop_assert!(ingested.get_ref().ticket.is_some(), "no ticket");
                accepted.fetch_add(1, Ordering::Relaxed);
            }
            (Err(classify), Err(ingest))
                if classify.code() == Code::InvalidArgument && ingest.code() == Code::InvalidArgument =>
            {
                prop_assert_eq!(classify.message(), ingest.message());
                rejected.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                let describe = |result: Result<(), &tonic::Status>| match result {
                    Ok(()) => "OK".to_string(),
                    Err(status) => format!("{:?}: {}", status.code(), status.message()),
                };
                return Err(TestCaseError::fail(format!(
                    "classify answered {}, ingest answered {}",
                    describe(classified.as_ref().map(drop)),
                    describe(ingested.as_ref().map(drop))
                )));
            }
        }
        Ok(())
    });
    let (accepted, rejected) = (accepted.into_inner(), rejected.into_inner());
    println!("{accepted} tickets accepted, {rejected} rejected as invalid");
    runtime.block_on(async {
        let mut client = client.clone();
        client
            .ping(pb::PingRequest {})
            .await
            .expect("server still answers");
        server.shutdown().await;
    });
    assert!(accepted > 0 && rejected > 0, "both outcomes exercised");
}
