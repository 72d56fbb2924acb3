//! Compiled conditions and how they are evaluated against one ticket.

use regex::Regex;

use super::prepare::Prepared;
use super::scanner::Hits;
use super::text::{contains_word, fold};
use crate::clock::UnixMicros;
use crate::ticket::{Side, TextPart, TicketInput};

/// A ticket field a condition can test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    /// The subject, reply prefixes removed.
    Subject,
    /// The customer's new text.
    Body,
    /// Subject or new text.
    Text,
    /// The quoted earlier thread.
    Quoted,
    /// Signature and disclaimers.
    Signature,
    /// The whole body as sent.
    FullBody,
    Channel,
    Tier,
    Language,
    Source,
    CustomerId,
    /// Holds when any tag passes.
    Tags,
    /// `attributes.<key>`; absent attributes never pass.
    Attribute(String),
    /// The touchpoint the integration sent (empty when it sent none).
    Touchpoint,
    /// "external" or "internal".
    CustomerKind,
}

impl Field {
    /// Field names as rule files spell them.
    pub(crate) const NAMES: &'static str =
        "subject, body, text, quoted, signature, full_body, channel, tier, language, source, customer_id, tags, touchpoint, customer_kind, attributes.<key>";

    pub(crate) fn parse(name: &str) -> Option<Field> {
        let field = match name {
            "subject" => Field::Subject,
            "body" => Field::Body,
            "text" => Field::Text,
            "quoted" => Field::Quoted,
            "signature" => Field::Signature,
            "full_body" => Field::FullBody,
            "channel" => Field::Channel,
            "tier" | "customer.tier" => Field::Tier,
            "language" => Field::Language,
            "source" => Field::Source,
            "customer_id" | "customer.id" => Field::CustomerId,
            "tags" => Field::Tags,
            "touchpoint" => Field::Touchpoint,
            "customer_kind" | "customer.kind" => Field::CustomerKind,
            other => {
                let key = other.strip_prefix("attributes.")?;
                if key.is_empty() {
                    return None;
                }
                Field::Attribute(key.to_string())
            }
        };
        Some(field)
    }

    /// The text part a text field reads, if it is one (`text` reads two).
    /// The field's name as rule files spell it.
    pub(crate) fn name(&self) -> String {
        let name = match self {
            Field::Subject => "subject",
            Field::Body => "body",
            Field::Text => "text",
            Field::Quoted => "quoted",
            Field::Signature => "signature",
            Field::FullBody => "full_body",
            Field::Channel => "channel",
            Field::Tier => "tier",
            Field::Language => "language",
            Field::Source => "source",
            Field::CustomerId => "customer_id",
            Field::Tags => "tags",
            Field::Touchpoint => "touchpoint",
            Field::CustomerKind => "customer_kind",
            Field::Attribute(key) => return format!("attributes.{key}"),
        };
        name.to_string()
    }

    /// The text parts the field reads, for a text field.
    pub(crate) fn parts(&self) -> Vec<TextPart> {
        match (self, self.part()) {
            (Field::Text, _) => vec![TextPart::Subject, TextPart::Body],
            (_, Some(part)) => vec![part],
            (_, None) => Vec::new(),
        }
    }

    /// The field's values in `input`, for fields that are not text.
    pub(crate) fn values<'a>(&self, input: &'a TicketInput) -> Vec<&'a str> {
        match self {
            Field::Channel => vec![input.channel.name()],
            Field::Tier => vec![&input.customer.tier],
            Field::Language => vec![&input.language],
            Field::Source => vec![&input.source],
            Field::CustomerId => vec![&input.customer.id],
            Field::Tags => input.tags.iter().map(String::as_str).collect(),
            Field::Touchpoint => vec![&input.touchpoint],
            Field::CustomerKind => vec![input.customer.kind.name()],
            Field::Attribute(key) => input
                .attributes
                .get(key)
                .map(String::as_str)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(crate) fn part(&self) -> Option<TextPart> {
        match self {
            Field::Subject => Some(TextPart::Subject),
            Field::Body => Some(TextPart::Body),
            Field::Quoted => Some(TextPart::Quoted),
            Field::Signature => Some(TextPart::Signature),
            Field::FullBody => Some(TextPart::FullBody),
            _ => None,
        }
    }

    /// True when any of the field's values passes `test`. Text fields are
    /// read from the prepared (normalised, segmented) texts.
    pub(crate) fn any_value(
        &self,
        input: &TicketInput,
        prepared: &Prepared,
        test: impl Fn(&str) -> bool,
    ) -> bool {
        if let Some(part) = self.part() {
            return test(prepared.text(part));
        }
        match self {
            Field::Subject | Field::Body | Field::Quoted | Field::Signature | Field::FullBody => false,
            Field::Text => test(prepared.text(TextPart::Subject)) || test(prepared.text(TextPart::Body)),
            Field::Channel => test(input.channel.name()),
            Field::Tier => test(&input.customer.tier),
            Field::Language => test(&input.language),
            Field::Source => test(&input.source),
            Field::CustomerId => test(&input.customer.id),
            Field::Tags => input.tags.iter().any(|tag| test(tag)),
            Field::Touchpoint => test(&input.touchpoint),
            Field::CustomerKind => test(input.customer.kind.name()),
            Field::Attribute(key) => input.attributes.get(key).is_some_and(|value| test(value)),
        }
    }
}

/// A test on one value of a field. Literals are stored case-folded.
#[derive(Debug, Clone)]
pub(crate) enum ValueTest {
    Contains(String),
    AnyOf(Vec<String>),
    Regex(Regex),
    Equals(String),
    In(Vec<String>),
    /// Language tags: "en" also matches "en-GB".
    LanguageIn(Vec<String>),
}

impl ValueTest {
    /// Whether two tests pass the same values (regexes: the same pattern).
    pub(crate) fn same_as(&self, other: &ValueTest) -> bool {
        match (self, other) {
            (ValueTest::Contains(a), ValueTest::Contains(b))
            | (ValueTest::Equals(a), ValueTest::Equals(b)) => a == b,
            (ValueTest::AnyOf(a), ValueTest::AnyOf(b))
            | (ValueTest::In(a), ValueTest::In(b))
            | (ValueTest::LanguageIn(a), ValueTest::LanguageIn(b)) => a == b,
            (ValueTest::Regex(a), ValueTest::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }

    /// The rule-file operator and operand, e.g. `contains "x"`.
    pub(crate) fn describe(&self) -> String {
        match self {
            ValueTest::Contains(needle) => format!("contains {needle:?}"),
            ValueTest::AnyOf(words) => format!("any_of {words:?}"),
            ValueTest::Regex(regex) => format!("regex {:?}", regex.as_str()),
            ValueTest::Equals(value) => format!("equals {value:?}"),
            ValueTest::In(values) | ValueTest::LanguageIn(values) => format!("in {values:?}"),
        }
    }

    /// Where the test first matches `value`: the span and the term that
    /// matched, for text tests (`Contains` and `AnyOf` spans are in the
    /// case-folded value).
    pub(crate) fn find(&self, value: &str) -> Option<(std::ops::Range<usize>, String)> {
        match self {
            ValueTest::Contains(needle) => {
                let start = fold(value).find(needle.as_str())?;
                Some((start..start + needle.len(), needle.clone()))
            }
            ValueTest::AnyOf(words) => {
                let folded = fold(value);
                words.iter().find_map(|word| {
                    let start = super::text::find_word(&folded, word)?;
                    Some((start..start + word.len(), word.clone()))
                })
            }
            ValueTest::Regex(regex) => {
                let found = regex.find(value)?;
                Some((found.range(), regex.as_str().to_string()))
            }
            _ => None,
        }
    }

    pub(crate) fn holds(&self, value: &str) -> bool {
        match self {
            ValueTest::Contains(needle) => fold(value).contains(needle.as_str()),
            ValueTest::AnyOf(words) => {
                let folded = fold(value);
                words.iter().any(|word| contains_word(&folded, word))
            }
            ValueTest::Regex(regex) => regex.is_match(value),
            ValueTest::Equals(expected) => folds_to(value, expected),
            ValueTest::In(options) => options.iter().any(|option| folds_to(value, option)),
            ValueTest::LanguageIn(options) => {
                let folded = fold(value);
                let primary = folded.split(['-', '_']).next().unwrap_or("");
                options
                    .iter()
                    .any(|option| *option == folded || (!option.contains('-') && option == primary))
            }
        }
    }
}

/// Whether `fold(value) == folded`, without allocating for ASCII values.
fn folds_to(value: &str, folded: &str) -> bool {
    if value.is_ascii() {
        value.len() == folded.len()
            && value
                .bytes()
                .zip(folded.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b)
    } else {
        fold(value) == folded
    }
}

/// One of the customer's earlier tickets, as history conditions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorTicket {
    /// When it was ingested.
    pub ingested_at: UnixMicros,
    /// Its side.
    pub side: Side,
    /// Its category.
    pub category: String,
    /// Whether it is still open.
    pub open: bool,
}

/// The customer's earlier tickets, for history conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerHistory {
    /// Earlier tickets, any order.
    pub tickets: Vec<PriorTicket>,
}

/// A count of the customer's earlier tickets, compared with bounds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistoryTest {
    pub(crate) within_days: Option<u32>,
    pub(crate) side: Option<Side>,
    pub(crate) category: Option<String>,
    pub(crate) open: Option<bool>,
    pub(crate) at_least: Option<u32>,
    pub(crate) at_most: Option<u32>,
}

impl HistoryTest {
    fn holds(&self, history: &CustomerHistory, now: UnixMicros) -> bool {
        let count = self.count(history, now);
        self.at_least.is_none_or(|min| count >= min) && self.at_most.is_none_or(|max| count <= max)
    }

    /// How many of the earlier tickets pass the filters.
    pub(crate) fn count(&self, history: &CustomerHistory, now: UnixMicros) -> u32 {
        let since = self.within_days.map(|days| {
            UnixMicros(
                now.0
                    .saturating_sub(i64::from(days).saturating_mul(86_400_000_000)),
            )
        });
        let count = history
            .tickets
            .iter()
            .filter(|ticket| since.is_none_or(|since| ticket.ingested_at >= since))
            .filter(|ticket| self.side.is_none_or(|side| ticket.side == side))
            .filter(|ticket| self.category.as_ref().is_none_or(|c| ticket.category == *c))
            .filter(|ticket| self.open.is_none_or(|open| ticket.open == open))
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// A compiled condition tree.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// A text condition answered by the scanner (index into its hits).
    Scanned(usize),
    /// A test evaluated directly on the field's values.
    Value {
        field: Field,
        test: ValueTest,
    },
    History(HistoryTest),
    /// A lexicon's score (by index) within bounds.
    Score {
        lexicon: usize,
        at_least: Option<f32>,
        at_most: Option<f32>,
    },
    /// The sentiment's compound score strictly within bounds.
    Sentiment {
        above: Option<f32>,
        below: Option<f32>,
    },
}

/// Everything a condition may look at for one ticket.
pub(crate) struct Facts<'a> {
    pub(crate) input: &'a TicketInput,
    pub(crate) prepared: &'a Prepared,
    /// Score per lexicon, by index.
    pub(crate) scores: &'a [f32],
    /// The sentiment's compound score, -1 to 1.
    pub(crate) sentiment: f32,
    pub(crate) history: &'a CustomerHistory,
    pub(crate) now: UnixMicros,
    /// Answers `Scanned` conditions.
    pub(crate) scanned: &'a dyn Fn(usize) -> bool,
}

impl Condition {
    pub(crate) fn holds(&self, facts: &Facts<'_>) -> bool {
        match self {
            Condition::All(parts) => parts.iter().all(|part| part.holds(facts)),
            Condition::Any(parts) => parts.iter().any(|part| part.holds(facts)),
            Condition::Not(part) => !part.holds(facts),
            Condition::Scanned(index) => (facts.scanned)(*index),
            Condition::Value { field, test } => {
                field.any_value(facts.input, facts.prepared, |v| test.holds(v))
            }
            Condition::History(test) => test.holds(facts.history, facts.now),
            Condition::Score {
                lexicon,
                at_least,
                at_most,
            } => {
                let score = facts.scores.get(*lexicon).copied().unwrap_or(0.0);
                at_least.is_none_or(|min| score >= min) && at_most.is_none_or(|max| score <= max)
            }
            Condition::Sentiment { above, below } => {
                above.is_none_or(|min| facts.sentiment > min) && below.is_none_or(|max| facts.sentiment < max)
            }
        }
    }
}

/// Answers scanned conditions from the scanner's hits.
pub(crate) fn from_hits<'h>(hits: &'h Hits<'_>) -> impl Fn(usize) -> bool + 'h {
    move |index| hits.get(index)
}

/// Answers scanned conditions by testing each one directly: the reference
/// evaluator the scanner must agree with.
pub(crate) fn by_direct_test<'a>(
    tests: &'a [(Field, ValueTest)],
    input: &'a TicketInput,
    prepared: &'a Prepared,
) -> impl Fn(usize) -> bool + 'a {
    move |index| {
        tests
            .get(index)
            .is_some_and(|(field, test)| field.any_value(input, prepared, |v| test.holds(v)))
    }
}
