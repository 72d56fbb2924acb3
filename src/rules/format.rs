//! The rule file as written: TOML deserialized into plain structs that keep
//! source spans, so the compiler can point at the line of a bad value.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_spanned::Spanned;

/// A lexicon as written: term -> weight.
pub type LexiconDoc = BTreeMap<String, Spanned<f64>>;

/// A whole rule file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFileDoc {
    /// Version stamped on every classification; a content hash when absent.
    pub version: Option<Spanned<String>>,
    /// Queue for tickets no rule routed.
    pub default_queue: Spanned<String>,
    /// Priority for tickets no rule prioritised; "normal" when absent.
    pub default_priority: Option<Spanned<String>>,
    /// The queues rules may route to.
    #[serde(default, rename = "queue")]
    pub queues: Vec<Spanned<QueueDoc>>,
    /// The rules, evaluated in order.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Spanned<RuleDoc>>,
    /// Weighted lexicons by name (`[lexicon.problem]`).
    #[serde(default, rename = "lexicon")]
    pub lexicons: BTreeMap<String, Spanned<LexiconDoc>>,
    /// Files of further `[lexicon.<name>]` tables (e.g. written by `triage
    /// rules learn`), relative to this file's directory.
    #[serde(default)]
    pub lexicon_files: Vec<Spanned<String>>,
    /// The journey touchpoints tickets may carry; the default list when absent.
    pub touchpoints: Option<Spanned<Vec<String>>>,
    /// Touchpoint of tickets no rule and no integration gave one; "support"
    /// when absent.
    pub default_touchpoint: Option<Spanned<String>>,
    /// Where internal customers' tickets go.
    pub internal: Option<Spanned<InternalDoc>>,
    /// Service-recovery follow-ups (`[[recovery]]`), first match wins.
    #[serde(default, rename = "recovery")]
    pub recoveries: Vec<Spanned<RecoveryDoc>>,
}

/// The `[internal]` table: internal customers' own queues and touchpoint.
/// Only rules that test `customer_kind` route internal tickets (set their
/// queue or touchpoint); other rules still set side, category, priority
/// and tags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalDoc {
    /// Queue for internal tickets.
    pub default_queue: Spanned<String>,
    /// Queue for reactive internal tickets; `default_queue` when absent.
    pub reactive_queue: Option<Spanned<String>>,
    /// Queue for proactive internal tickets; `default_queue` when absent.
    pub proactive_queue: Option<Spanned<String>>,
    /// Touchpoint of internal tickets; "internal-tools" when absent.
    pub default_touchpoint: Option<Spanned<String>>,
}

/// A `[[recovery]]` table: when a completed reactive ticket gets a
/// proactive follow-up. Every filter given must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryDoc {
    /// Unique id, recorded on the follow-up.
    pub id: Spanned<String>,
    /// What the block is for.
    #[serde(default)]
    pub description: String,
    /// Only tickets of these categories (final, after corrections).
    pub categories: Option<Spanned<Vec<String>>>,
    /// Only customers of these tiers.
    pub tiers: Option<Spanned<Vec<String>>>,
    /// Only tickets at these touchpoints.
    pub touchpoints: Option<Spanned<Vec<String>>>,
    /// Only tickets whose sentiment is below this (-1 to 1).
    pub sentiment_below: Option<Spanned<f64>>,
    /// The CX queue the follow-up goes to; must be declared.
    pub queue: Spanned<String>,
    /// Days after the completion the follow-up is due (0 to 365).
    pub due_after_days: Spanned<i64>,
    /// The follow-up's priority; "normal" when absent.
    pub priority: Option<Spanned<String>>,
    /// The follow-up's category; "service_recovery" when absent.
    pub category: Option<Spanned<String>>,
    /// What the agent should do, written into the follow-up.
    #[serde(default)]
    pub action: String,
    /// Skip the follow-up if the customer wrote again in between; true when absent.
    pub skip_if_contacted: Option<bool>,
}

/// A lexicon file: only `[lexicon.<name>]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconFileDoc {
    /// What `triage rules learn` records about how it fitted the weights;
    /// accepted and left to the reader.
    #[serde(default)]
    #[allow(dead_code)]
    pub learned: Option<toml::Table>,
    /// Weighted lexicons by name.
    #[serde(default, rename = "lexicon")]
    pub lexicons: BTreeMap<String, Spanned<LexiconDoc>>,
}

/// A `[[queue]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueDoc {
    /// Queue name: lower-case letters, digits, `_` and `-`.
    pub name: Spanned<String>,
    /// What the queue is for.
    #[serde(default)]
    pub description: String,
    /// First-response target for tickets in this queue.
    pub first_response_minutes: Option<u32>,
    /// Where a ticket goes when it breaches its deadline.
    pub escalate_to: Option<Spanned<String>>,
    /// Priority a breaching ticket is raised to; one step up when absent.
    pub escalate_priority: Option<Spanned<String>>,
}

/// A `[[rule]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    /// Unique id, stamped on classifications it fires in.
    pub id: Spanned<String>,
    /// What the rule is for.
    #[serde(default)]
    pub description: String,
    /// When the rule fires.
    pub when: Spanned<ConditionDoc>,
    /// What it does when it fires.
    pub then: Spanned<ActionsDoc>,
    /// Stop evaluating later rules once this one fires.
    #[serde(default)]
    pub stop: bool,
}

/// A condition: a group (`all`, `any`, `not`), a field test (`field` plus
/// one operator), or a customer-history test (`history`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConditionDoc {
    /// Every sub-condition holds.
    pub all: Option<Vec<Spanned<ConditionDoc>>>,
    /// At least one sub-condition holds.
    pub any: Option<Vec<Spanned<ConditionDoc>>>,
    /// The sub-condition does not hold.
    pub not: Option<Box<Spanned<ConditionDoc>>>,
    /// The ticket field tested.
    pub field: Option<Spanned<String>>,
    /// Case-insensitive substring.
    pub contains: Option<Spanned<String>>,
    /// Case-insensitive whole-word keywords or phrases; any one suffices.
    pub any_of: Option<Spanned<Vec<String>>>,
    /// Regular expression (Rust `regex` syntax).
    pub regex: Option<Spanned<String>>,
    /// Case-insensitive equality with the whole value.
    pub equals: Option<Spanned<String>>,
    /// Case-insensitive equality with any of the values.
    #[serde(rename = "in")]
    pub one_of: Option<Spanned<Vec<String>>>,
    /// A test on the customer's earlier tickets.
    pub history: Option<Spanned<HistoryDoc>>,
    /// The lexicon whose score is tested (with `at_least` and/or `at_most`).
    pub score: Option<Spanned<String>>,
    /// With `score`: holds when the score is at least this.
    pub at_least: Option<f64>,
    /// With `score`: holds when the score is at most this.
    pub at_most: Option<f64>,
    /// A test on the sentiment of the customer's words.
    pub sentiment: Option<Spanned<SentimentDoc>>,
}

/// A `sentiment = { ... }` test on the compound score (-1 to 1).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SentimentDoc {
    /// Holds when the score is above this.
    pub above: Option<f64>,
    /// Holds when the score is below this.
    pub below: Option<f64>,
}

/// A `history = { ... }` test: counts the customer's earlier tickets that
/// pass the filters and compares the count.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HistoryDoc {
    /// Only tickets ingested within this many days.
    pub within_days: Option<u32>,
    /// Only tickets on this side.
    pub side: Option<Spanned<String>>,
    /// Only tickets with this category.
    pub category: Option<String>,
    /// Only open (true) or completed (false) tickets.
    pub open: Option<bool>,
    /// Holds when the count is at least this.
    pub at_least: Option<u32>,
    /// Holds when the count is at most this.
    pub at_most: Option<u32>,
}

/// A rule's `then` table.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActionsDoc {
    /// "reactive", "proactive" or "unclassified".
    pub side: Option<Spanned<String>>,
    /// Category name.
    pub category: Option<String>,
    /// Destination queue; must be declared.
    pub queue: Option<Spanned<String>>,
    /// "urgent", "high", "normal" or "low".
    pub priority: Option<Spanned<String>>,
    /// Tags to add.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// First-response deadline, overriding the queue's.
    pub first_response_minutes: Option<u32>,
    /// The journey touchpoint; must be one of the rule set's touchpoints.
    pub touchpoint: Option<Spanned<String>>,
}
