//! The domain's ticket types: what integrations send, what the rules decide,
//! and what the store keeps. Independent of gRPC and of sled.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::UnixMicros;

/// Where the customer reached the contact centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The integration did not say.
    #[default]
    Unspecified,
    /// E-mail.
    Email,
    /// Live chat or messaging.
    Chat,
    /// Phone or voice.
    Phone,
    /// Social media.
    Social,
    /// Web form.
    Web,
    /// An internal customer (another team).
    Internal,
}

impl Channel {
    /// Every channel with its name as rule files spell it.
    pub const ALL: [(Channel, &'static str); 7] = [
        (Channel::Unspecified, "unspecified"),
        (Channel::Email, "email"),
        (Channel::Chat, "chat"),
        (Channel::Phone, "phone"),
        (Channel::Social, "social"),
        (Channel::Web, "web"),
        (Channel::Internal, "internal"),
    ];

    /// The name rule files use for this channel.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(channel, _)| *channel == self)
            .map_or("unspecified", |(_, name)| name)
    }
}

/// The half of the contact centre a ticket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Something went wrong and the customer needs help now.
    Reactive,
    /// A customer-journey signal the business can act on ahead of time.
    Proactive,
    /// No rule decided; a person should look.
    #[default]
    Unclassified,
}

impl Side {
    /// The spelling used in rule files and labelled examples.
    pub fn name(self) -> &'static str {
        match self {
            Side::Reactive => "reactive",
            Side::Proactive => "proactive",
            Side::Unclassified => "unclassified",
        }
    }

    /// Parses the spelling used in rule files.
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "reactive" => Some(Side::Reactive),
            "proactive" => Some(Side::Proactive),
            "unclassified" => Some(Side::Unclassified),
            _ => None,
        }
    }
}

/// The order of work in a queue; `Urgent` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Drop everything.
    Urgent,
    /// Before normal work.
    High,
    /// The default.
    #[default]
    Normal,
    /// When there is time.
    Low,
}

impl Priority {
    /// Parses the spelling used in rule files.
    pub fn parse(text: &str) -> Option<Priority> {
        match text {
            "urgent" => Some(Priority::Urgent),
            "high" => Some(Priority::High),
            "normal" => Some(Priority::Normal),
            "low" => Some(Priority::Low),
            _ => None,
        }
    }

    /// Sort rank: 0 for urgent, 3 for low.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The priority from a sort rank, if valid.
    pub fn from_rank(rank: u8) -> Option<Priority> {
        [Priority::Urgent, Priority::High, Priority::Normal, Priority::Low]
            .get(usize::from(rank))
            .copied()
    }

    /// One step more urgent (urgent stays urgent).
    pub fn raised(self) -> Priority {
        Priority::from_rank(self.rank().saturating_sub(1)).unwrap_or(Priority::Urgent)
    }
}

/// Whether a customer is outside the business or one of its own people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A customer of the business (the default).
    #[default]
    External,
    /// An employee writing to an internal service desk (HR, IT, internal tools).
    Internal,
}

impl CustomerKind {
    /// The spelling used in rule files and reports.
    pub fn name(self) -> &'static str {
        match self {
            CustomerKind::External => "external",
            CustomerKind::Internal => "internal",
        }
    }
}

/// Who wrote the ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The helpdesk's customer id; keys the customer's journey.
    pub id: String,
    /// Service tier, e.g. "free", "pro", "enterprise".
    pub tier: String,
    /// Contact e-mail.
    pub email: String,
    /// External or internal; absent in records written before internal
    /// customers existed (they read as external).
    #[serde(default)]
    pub kind: CustomerKind,
}

impl Customer {
    /// The domain of the e-mail address, lower case (empty without one).
    pub fn email_domain(&self) -> String {
        self.email
            .rsplit_once('@')
            .map(|(_, domain)| domain.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// A ticket as a helpdesk integration sends it, already validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketInput {
    /// The helpdesk's id; with `source`, the idempotency key.
    pub external_id: String,
    /// The integration that sent it.
    pub source: String,
    /// Where the customer reached us.
    pub channel: Channel,
    /// Subject line.
    pub subject: String,
    /// Message text.
    pub body: String,
    /// Who wrote it.
    pub customer: Customer,
    /// Language tag, e.g. "en-GB".
    pub language: String,
    /// The helpdesk's tags.
    pub tags: Vec<String>,
    /// When the customer raised it, if the helpdesk said.
    pub created_at: Option<UnixMicros>,
    /// Other helpdesk fields.
    pub attributes: BTreeMap<String, String>,
    /// The journey touchpoint the integration says the ticket is about
    /// (one of the rule set's touchpoints); empty to let the rules infer it.
    #[serde(default)]
    pub touchpoint: String,
}

/// A part of a ticket's text that rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextPart {
    /// The subject line, reply and forward prefixes removed.
    Subject,
    /// What the customer wrote now: the body without quoted thread,
    /// signature and disclaimers.
    Body,
    /// The quoted earlier thread.
    Quoted,
    /// Signature, sign-off and disclaimers.
    Signature,
    /// The whole body as sent.
    FullBody,
}

impl TextPart {
    /// Every part, in the order the scanner indexes them.
    pub const ALL: [TextPart; 5] = [
        TextPart::Subject,
        TextPart::Body,
        TextPart::Quoted,
        TextPart::Signature,
        TextPart::FullBody,
    ];

    /// The name rule files and explanations use.
    pub fn name(self) -> &'static str {
        match self {
            TextPart::Subject => "subject",
            TextPart::Body => "body",
            TextPart::Quoted => "quoted",
            TextPart::Signature => "signature",
            TextPart::FullBody => "full_body",
        }
    }
}

/// One piece of weighted evidence behind a classification: a lexicon term
/// found in the ticket, with the weight it added to the lexicon's score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The lexicon the term belongs to.
    pub lexicon: String,
    /// The term as the lexicon spells it (normalised, lower case).
    pub term: String,
    /// Where it was found.
    pub part: Option<TextPart>,
    /// What it added to the score: the term's weight, scaled down for a
    /// reply's subject and reversed (halved) when negated.
    pub weight: f32,
    /// Whether a negation ("not", "never", "doesn't" ...) preceded it.
    pub negated: bool,
}

/// A lexicon's total score for one ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LexiconScore {
    /// The lexicon's name.
    pub lexicon: String,
    /// The sum of its evidence weights.
    pub score: f32,
}

/// What the rule set decided about a ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Reactive, proactive or unclassified.
    pub side: Side,
    /// E.g. "outage"; empty when no rule set one.
    pub category: String,
    /// Destination queue.
    pub queue: String,
    /// Priority in that queue.
    pub priority: Priority,
    /// Tags the rules added.
    pub tags: Vec<String>,
    /// Ids of the rules that fired, in order.
    pub rule_ids: Vec<String>,
    /// Version of the rule set that decided.
    pub rules_version: String,
    /// First-response deadline in seconds after ingest, if any.
    pub first_response_seconds: Option<u32>,
    /// How the customer's new words feel, and the words that moved it.
    #[serde(default)]
    pub sentiment: crate::sentiment::Sentiment,
    /// Each lexicon's score, for lexicons with any evidence.
    #[serde(default)]
    pub scores: Vec<LexiconScore>,
    /// The lexicon terms found, the strongest first.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// The step of the customer journey the ticket is about (e.g.
    /// "checkout"); empty only in records written before touchpoints existed.
    #[serde(default)]
    pub touchpoint: String,
    /// Whether the customer had contacted us within
    /// [`REPEAT_CONTACT_DAYS`] before this ticket (decided at ingest).
    #[serde(default)]
    pub repeat_contact: bool,
}

/// A contact counts as a repeat when the same customer had another one
/// within this many days before it.
pub const REPEAT_CONTACT_DAYS: u64 = 7;

/// triage's own id for a stored ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TicketId(pub u64);

impl TicketId {
    const PREFIX: &'static str = "tkt_";

    /// Parses the public form `tkt_<number>`, canonical only: `tkt_0001`
    /// is not `tkt_1`, so one ticket has one name (in logs, caches, links).
    pub fn parse(text: &str) -> Option<TicketId> {
        let digits = text.strip_prefix(Self::PREFIX)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        digits.parse().ok().map(TicketId)
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

/// Where a stored ticket is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Waiting in its queue.
    Queued,
    /// Leased to an agent.
    Claimed(Lease),
    /// Done.
    Completed,
}

/// An agent's temporary hold on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who holds it.
    pub agent_id: String,
    /// The secret that proves it.
    pub token: String,
    /// When it ends unless extended.
    pub expires_at: UnixMicros,
}

/// One state change of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When.
    pub at: UnixMicros,
    /// Agent id, or `triage` for the service.
    pub actor: String,
    /// What happened, e.g. "claimed".
    pub action: String,
    /// Queue, reason or note.
    pub detail: String,
}

/// What an agent says the side and category should have been. A field left
/// `None` is not corrected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relabel {
    /// The right side (reactive or proactive).
    pub side: Option<Side>,
    /// The right category.
    pub category: Option<String>,
}

impl Relabel {
    /// True when it corrects nothing.
    pub fn is_empty(&self) -> bool {
        self.side.is_none() && self.category.is_none()
    }

    /// The history detail, e.g. `side=reactive category=billing`.
    pub fn describe(&self) -> String {
        let side = self.side.map(|side| format!("side={}", side.name()));
        let category = self
            .category
            .as_ref()
            .map(|category| format!("category={category}"));
        side.into_iter().chain(category).collect::<Vec<_>>().join(" ")
    }
}

/// An agent's correction of the rules' classification, kept beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// The corrected side, if the side was corrected.
    pub side: Option<Side>,
    /// The corrected category, if the category was corrected.
    pub category: Option<String>,
    /// The agent who corrected it last.
    pub by: String,
    /// When.
    pub at: UnixMicros,
}

impl Correction {
    /// The correction after `relabel` by `by` at `at`, on top of `earlier`:
    /// the later one overrides the fields it sets and keeps the others.
    pub fn after(earlier: Option<Correction>, relabel: &Relabel, by: &str, at: UnixMicros) -> Correction {
        let (side, category) = earlier.map_or((None, None), |earlier| (earlier.side, earlier.category));
        Correction {
            side: relabel.side.or(side),
            category: relabel.category.clone().or(category),
            by: by.to_string(),
            at,
        }
    }
}

/// The actor name the service uses for its own changes.
pub const SYSTEM_ACTOR: &str = "triage";

/// How much of each ticket a listing shows. Lists default to [`Basic`](TicketView::Basic)
/// so that a page of tickets with large bodies stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketView {
    /// Everything but the bulky parts: no body, no history.
    #[default]
    Basic,
    /// The whole ticket.
    Full,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// triage's id.
    pub id: TicketId,
    /// As ingested.
    pub input: TicketInput,
    /// The current classification (queue and priority follow transfers and
    /// escalations).
    pub classification: Classification,
    /// Life-cycle state.
    pub state: TicketState,
    /// When triage stored it.
    pub ingested_at: UnixMicros,
    /// Position key time: when it entered its current queue.
    pub enqueued_at: UnixMicros,
    /// How many times agents claimed it.
    pub claim_count: u32,
    /// First-response deadline, if one applies.
    pub first_response_due: Option<UnixMicros>,
    /// Whether it has been escalated for breaching the deadline.
    pub escalated: bool,
    /// Every state change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Resolution note once completed.
    pub resolution: String,
    /// An agent's correction of the classification; absent in records
    /// written before corrections existed.
    #[serde(default)]
    pub correction: Option<Correction>,
    /// For a service-recovery follow-up: the completed ticket it follows up.
    #[serde(default)]
    pub follow_up_of: Option<TicketId>,
    /// For a completed ticket a recovery rule matched: its follow-up.
    #[serde(default)]
    pub follow_up: Option<FollowUp>,
}

/// The service-recovery follow-up of a completed ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The `[[recovery]]` block that scheduled it.
    pub recovery_id: String,
    /// When it is due to be created.
    pub due_at: UnixMicros,
    /// Where it stands.
    pub state: FollowUpState,
}

/// Where a scheduled follow-up stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpState {
    /// Waiting for its due time.
    Scheduled,
    /// Created as this ticket.
    Created(TicketId),
    /// Not created, for this reason (e.g. the customer wrote again).
    Skipped(String),
}

impl Ticket {
    /// True for a service-recovery follow-up triage created (not a
    /// contact from the customer).
    pub fn is_follow_up(&self) -> bool {
        self.follow_up_of.is_some()
    }

    /// True while the ticket is not completed.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, TicketState::Completed)
    }

    /// Records an agent's correction; a later correction overrides the
    /// fields it sets and keeps the others.
    pub fn correct(&mut self, relabel: &Relabel, by: &str, at: UnixMicros) {
        self.correction = Some(Correction::after(self.correction.take(), relabel, by, at));
    }

    /// The side after any correction.
    pub fn final_side(&self) -> Side {
        self.correction
            .as_ref()
            .and_then(|correction| correction.side)
            .unwrap_or(self.classification.side)
    }

    /// The category after any correction.
    pub fn final_category(&self) -> &str {
        self.correction
            .as_ref()
            .and_then(|correction| correction.category.as_deref())
            .unwrap_or(&self.classification.category)
    }

    /// The current lease, if claimed.
    pub fn lease(&self) -> Option<&Lease> {
        match &self.state {
            TicketState::Claimed(lease) => Some(lease),
            _ => None,
        }
    }

    /// The ticket as `view` shows it: [`TicketView::Basic`] drops the body
    /// and the history.
    pub fn in_view(mut self, view: TicketView) -> Ticket {
        if view == TicketView::Basic {
            self.input.body = String::new();
            self.history = Vec::new();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_ticket() -> Ticket {
        Ticket {
            id: TicketId(7),
            input: TicketInput::default(),
            classification: Classification {
                side: Side::Proactive,
                category: "feedback".into(),
                ..Classification::default()
            },
            state: TicketState::Queued,
            ingested_at: UnixMicros(1),
            enqueued_at: UnixMicros(1),
            claim_count: 0,
            first_response_due: None,
            escalated: false,
            history: Vec::new(),
            resolution: String::new(),
            correction: None,
            follow_up_of: None,
            follow_up: None,
        }
    }

    #[test]
    fn records_written_before_corrections_still_load() {
        let mut record = serde_json::to_value(stored_ticket()).expect("encodes");
        record.as_object_mut().expect("object").remove("correction");
        let ticket: Ticket = serde_json::from_value(record).expect("decodes");
        assert_eq!(ticket.correction, None);
    }

    #[test]
    fn records_written_before_touchpoints_and_follow_ups_still_load() {
        let mut record = serde_json::to_value(stored_ticket()).expect("encodes");
        let object = record.as_object_mut().expect("object");
        object.remove("follow_up_of");
        object.remove("follow_up");
        let classification = object["classification"].as_object_mut().expect("classification");
        classification.remove("touchpoint");
        classification.remove("repeat_contact");
        let input = object["input"].as_object_mut().expect("input");
        input.remove("touchpoint");
        input["customer"]
            .as_object_mut()
            .expect("customer")
            .remove("kind");
        let ticket: Ticket = serde_json::from_value(record).expect("decodes");
        assert_eq!(ticket.input.customer.kind, CustomerKind::External);
        assert_eq!(ticket.classification.touchpoint, "");
        assert!(!ticket.classification.repeat_contact);
        assert_eq!((ticket.follow_up_of, ticket.follow_up), (None, None));
    }

    #[test]
    fn a_later_correction_overrides_only_the_fields_it_sets() {
        let mut ticket = stored_ticket();
        let category = Relabel {
            side: None,
            category: Some("billing".into()),
        };
        ticket.correct(&category, "alice", UnixMicros(2));
        assert_eq!(
            (ticket.final_side(), ticket.final_category()),
            (Side::Proactive, "billing")
        );
        let side = Relabel {
            side: Some(Side::Reactive),
            category: None,
        };
        ticket.correct(&side, "bob", UnixMicros(3));
        assert_eq!(
            (ticket.final_side(), ticket.final_category()),
            (Side::Reactive, "billing")
        );
        assert_eq!(ticket.correction.as_ref().map(|c| c.by.as_str()), Some("bob"));
        assert_eq!(
            ticket.classification.side,
            Side::Proactive,
            "the rules' decision stays"
        );
    }

    #[test]
    fn relabel_describes_what_it_corrects() {
        let both = Relabel {
            side: Some(Side::Reactive),
            category: Some("billing".into()),
        };
        assert_eq!(both.describe(), "side=reactive category=billing");
        assert!(Relabel::default().is_empty());
    }
}
