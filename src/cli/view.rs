//! The stable shape of every answer for `--json`: plain structs with
//! lower-case enum names and RFC 3339 times, converted from the protobuf
//! messages here and nowhere else. Scripts may rely on these field names;
//! new fields may be added, none renamed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::time::rfc3339;
use crate::pb;

/// `SIDE_REACTIVE` -> `reactive`: a protobuf enum name without its prefix,
/// in lower case; empty for the unspecified value.
pub fn enum_name(name: &str, prefix: &str) -> String {
    match name.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => String::new(),
        Some(rest) => rest.to_lowercase(),
    }
}

/// A side's name: reactive, proactive, unclassified (empty when unset).
pub fn side(side: pb::Side) -> String {
    enum_name(side.as_str_name(), "SIDE_")
}

/// A priority's name: urgent, high, normal, low.
pub fn priority(priority: pb::Priority) -> String {
    enum_name(priority.as_str_name(), "PRIORITY_")
}

/// A ticket as `get`, `claim`, `list` ... print it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// triage's id, e.g. `tkt_0`.
    pub id: String,
    /// queued, claimed or completed.
    pub state: String,
    /// The helpdesk's id.
    pub external_id: String,
    /// The integration that sent it.
    pub source: String,
    /// email, chat, phone, social, web, internal.
    pub channel: String,
    /// Subject line.
    pub subject: String,
    /// Message text; empty in one-line-a-ticket listings.
    pub body: String,
    /// Who wrote it.
    pub customer: Customer,
    /// Language tag.
    pub language: String,
    /// The helpdesk's tags.
    pub tags: Vec<String>,
    /// The helpdesk's other fields.
    pub attributes: BTreeMap<String, String>,
    /// When the customer raised it.
    pub created_at: Option<String>,
    /// When triage stored it.
    pub ingested_at: Option<String>,
    /// What the rules decided (queue and priority are the current ones).
    pub classification: Classification,
    /// The lease, when claimed.
    pub lease: Option<Lease>,
    /// How many times agents claimed it.
    pub claim_count: u32,
    /// First-response deadline, when one applies.
    pub first_response_due: Option<String>,
    /// Escalated for breaching its deadline.
    pub escalated: bool,
    /// State changes, oldest first; empty in listings.
    pub history: Vec<HistoryEntry>,
    /// The resolution note, once completed.
    pub resolution: String,
    /// An agent's correction of the rules' decision.
    pub correction: Option<Correction>,
}

/// Who wrote a ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The helpdesk's customer id.
    pub id: String,
    /// Service tier.
    pub tier: String,
    /// E-mail address.
    pub email: String,
    /// external or internal.
    pub kind: String,
}

/// What the rules decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// reactive, proactive or unclassified.
    pub side: String,
    /// E.g. billing, outage, feature_request.
    pub category: String,
    /// The queue.
    pub queue: String,
    /// urgent, high, normal or low.
    pub priority: String,
    /// Tags the rules added.
    pub tags: Vec<String>,
    /// Rules that fired, in order.
    pub rule_ids: Vec<String>,
    /// The rule set's version.
    pub rules_version: String,
    /// First-response target in seconds; 0 when none.
    pub first_response_seconds: u32,
    /// Sentiment from -1 (furious) to 1 (delighted).
    pub sentiment: f32,
    /// The words that moved the sentiment, with their weights.
    pub sentiment_terms: Vec<Weighted>,
    /// Each weighted lexicon's score.
    pub scores: Vec<Weighted>,
    /// Lexicon terms found, strongest first.
    pub evidence: Vec<Evidence>,
    /// The journey touchpoint, e.g. checkout.
    pub touchpoint: String,
    /// Whether the customer had contacted within the 7 days before.
    pub repeat_contact: bool,
}

/// A name with a weight (a sentiment term, a lexicon score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weighted {
    /// The term or lexicon.
    pub name: String,
    /// Its weight or score.
    pub weight: f32,
}

/// One lexicon term found in a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Its lexicon.
    pub lexicon: String,
    /// The term.
    pub term: String,
    /// subject, body, quoted, signature or full_body.
    pub part: String,
    /// What it added to the score.
    pub weight: f32,
    /// Whether a negation preceded it.
    pub negated: bool,
}

/// A claimed ticket's lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// The agent holding it.
    pub agent_id: String,
    /// The lease token: only in `claim`'s answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// When it ends unless extended.
    pub expires_at: Option<String>,
}

/// One state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When.
    pub at: Option<String>,
    /// An agent id, or `triage`.
    pub actor: String,
    /// ingested, claimed, released, completed, transferred ...
    pub action: String,
    /// The queue, reason or note.
    pub detail: String,
}

/// An agent's correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// The corrected side; empty when only the category was corrected.
    pub side: String,
    /// The corrected category; empty when only the side was corrected.
    pub category: String,
    /// Who corrected it.
    pub agent_id: String,
    /// When.
    pub at: Option<String>,
}

/// `ingest` of one ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    /// False when the ticket was already ingested (the original is shown).
    pub created: bool,
    /// The stored ticket.
    pub ticket: Ticket,
}

/// `claim`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claimed {
    /// The lease token to pass as `--lease`; `None` when the queue was empty.
    pub lease_token: Option<String>,
    /// The claimed ticket; `None` when the queue was empty.
    pub ticket: Option<Ticket>,
}

/// A page of tickets (`list`, `customer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The tickets.
    pub tickets: Vec<Ticket>,
    /// Pass as `--page-token` for the next page; empty on the last one.
    pub next_page_token: String,
}

/// One queue of `queues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    /// Queue name.
    pub name: String,
    /// The rule set's description.
    pub description: String,
    /// Tickets waiting.
    pub depth: u64,
    /// Tickets leased to agents.
    pub leased: u64,
    /// Age in seconds of the oldest waiting ticket.
    pub oldest_age_seconds: u64,
    /// Waiting tickets past their deadline.
    pub breached: u64,
    /// Waiting tickets close to their deadline.
    pub at_risk: u64,
}

/// `queues`' answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queues {
    /// Every queue, in the rule set's order.
    pub queues: Vec<Queue>,
}

/// One event of `watch` (one JSON line each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// added, claimed, released, completed, transferred_out, escalated,
    /// lease_expired, lagged.
    pub kind: String,
    /// The ticket; empty for lagged.
    pub ticket_id: String,
    /// The queue.
    pub queue: String,
    /// When.
    pub at: Option<String>,
    /// Events missed, for lagged.
    pub missed: u64,
}

/// The summary of `ingest FILE.jsonl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkSummary {
    /// Lines read (blank lines skipped).
    pub total: usize,
    /// New tickets stored.
    pub ingested: usize,
    /// Lines whose ticket was already stored.
    pub duplicates: usize,
    /// Lines that failed.
    pub failed: usize,
    /// Why each failed line failed, by line number.
    pub failures: Vec<Failure>,
}

/// One failed line of a bulk ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Line number, from 1.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// `ping`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pong {
    /// The address that answered.
    pub addr: String,
    /// Round trip in milliseconds.
    pub millis: f64,
}

/// One labelled example of `export-labels` (one JSON line each), the
/// format `triage export-labels` writes and `triage rules learn` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// triage's id of the ticket.
    pub id: String,
    /// Subject line.
    pub subject: String,
    /// Message text.
    pub text: String,
    /// The final side.
    pub side: String,
    /// The final category.
    pub category: String,
    /// corrected or classified.
    pub source: String,
}

impl From<&pb::LabelledTicket> for Label {
    fn from(label: &pb::LabelledTicket) -> Label {
        Label {
            id: label.id.clone(),
            subject: label.subject.clone(),
            text: label.text.clone(),
            side: side(label.side()),
            category: label.category.clone(),
            source: enum_name(label.source().as_str_name(), "LABEL_SOURCE_"),
        }
    }
}

impl From<&pb::Ticket> for Ticket {
    fn from(ticket: &pb::Ticket) -> Ticket {
        let input = ticket.input.clone().unwrap_or_default();
        let customer = input.customer.clone().unwrap_or_default();
        Ticket {
            id: ticket.id.clone(),
            state: enum_name(ticket.state().as_str_name(), "TICKET_STATE_"),
            external_id: input.external_id.clone(),
            source: input.source.clone(),
            channel: enum_name(input.channel().as_str_name(), "CHANNEL_"),
            subject: input.subject,
            body: input.body,
            customer: Customer {
                kind: enum_name(customer.kind().as_str_name(), "CUSTOMER_KIND_"),
                id: customer.id,
                tier: customer.tier,
                email: customer.email,
            },
            language: input.language,
            tags: input.tags,
            attributes: input.attributes.into_iter().collect(),
            created_at: rfc3339(input.created_at.as_ref()),
            ingested_at: rfc3339(ticket.ingested_at.as_ref()),
            classification: ticket
                .classification
                .as_ref()
                .map(Classification::from)
                .unwrap_or_default(),
            lease: ticket.lease.as_ref().map(Lease::from),
            claim_count: ticket.claim_count,
            first_response_due: rfc3339(ticket.first_response_due.as_ref()),
            escalated: ticket.escalated,
            history: ticket.history.iter().map(HistoryEntry::from).collect(),
            resolution: ticket.resolution.clone(),
            correction: ticket.correction.as_ref().map(Correction::from),
        }
    }
}

impl From<&pb::Classification> for Classification {
    fn from(classification: &pb::Classification) -> Classification {
        let sentiment = classification.sentiment.clone().unwrap_or_default();
        Classification {
            side: side(classification.side()),
            category: classification.category.clone(),
            queue: classification.queue.clone(),
            priority: priority(classification.priority()),
            tags: classification.tags.clone(),
            rule_ids: classification.rule_ids.clone(),
            rules_version: classification.rules_version.clone(),
            first_response_seconds: classification.first_response_seconds,
            touchpoint: classification.touchpoint.clone(),
            repeat_contact: classification.repeat_contact,
            sentiment: sentiment.compound,
            sentiment_terms: sentiment
                .terms
                .iter()
                .map(|term| Weighted {
                    name: term.term.clone(),
                    weight: term.weight,
                })
                .collect(),
            scores: classification
                .scores
                .iter()
                .map(|score| Weighted {
                    name: score.lexicon.clone(),
                    weight: score.score,
                })
                .collect(),
            evidence: classification.evidence.iter().map(Evidence::from).collect(),
        }
    }
}

impl From<&pb::Evidence> for Evidence {
    fn from(evidence: &pb::Evidence) -> Evidence {
        Evidence {
            lexicon: evidence.lexicon.clone(),
            term: evidence.term.clone(),
            part: enum_name(evidence.part().as_str_name(), "TEXT_PART_"),
            weight: evidence.weight,
            negated: evidence.negated,
        }
    }
}

impl From<&pb::Lease> for Lease {
    fn from(lease: &pb::Lease) -> Lease {
        Lease {
            agent_id: lease.agent_id.clone(),
            token: Some(lease.token.clone()).filter(|token| !token.is_empty()),
            expires_at: rfc3339(lease.expires_at.as_ref()),
        }
    }
}

impl From<&pb::HistoryEntry> for HistoryEntry {
    fn from(entry: &pb::HistoryEntry) -> HistoryEntry {
        HistoryEntry {
            at: rfc3339(entry.at.as_ref()),
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            detail: entry.detail.clone(),
        }
    }
}

impl From<&pb::Correction> for Correction {
    fn from(correction: &pb::Correction) -> Correction {
        Correction {
            side: side(correction.side()),
            category: correction.category.clone(),
            agent_id: correction.agent_id.clone(),
            at: rfc3339(correction.at.as_ref()),
        }
    }
}

impl From<&pb::QueueSummary> for Queue {
    fn from(queue: &pb::QueueSummary) -> Queue {
        Queue {
            name: queue.name.clone(),
            description: queue.description.clone(),
            depth: queue.depth,
            leased: queue.leased,
            oldest_age_seconds: queue.oldest_age_seconds,
            breached: queue.breached,
            at_risk: queue.at_risk,
        }
    }
}

impl From<&pb::WatchQueueResponse> for Event {
    fn from(event: &pb::WatchQueueResponse) -> Event {
        Event {
            kind: enum_name(event.kind().as_str_name(), "QUEUE_EVENT_KIND_"),
            ticket_id: event.ticket_id.clone(),
            queue: event.queue.clone(),
            at: rfc3339(event.at.as_ref()),
            missed: event.missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_lose_their_prefix() {
        assert_eq!(side(pb::Side::Reactive), "reactive");
        assert_eq!(side(pb::Side::Unspecified), "");
        assert_eq!(priority(pb::Priority::High), "high");
    }
}
