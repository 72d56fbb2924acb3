//! Service-recovery follow-ups as the store keeps them: the plan a
//! completion records in its own atomic write, and the ticket the plan
//! becomes once due. Backend-neutral: every backend stores the plan with
//! the completion and materialises it with [`FollowUpPlan::follow_up`].

use serde::{Deserialize, Serialize};

use crate::clock::UnixMicros;
use crate::ticket::{Classification, Priority, Side, Ticket, TicketInput};

/// The `source` of follow-up tickets: triage itself.
pub const FOLLOW_UP_SOURCE: &str = "triage";

/// What a completion schedules when a `[[recovery]]` block matched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpPlan {
    /// The `[[recovery]]` block's id.
    pub recovery_id: String,
    /// When the follow-up is due to be created.
    pub due_at: UnixMicros,
    /// The CX queue it goes to.
    pub queue: String,
    /// Its priority there.
    pub priority: Priority,
    /// Its category (e.g. "service_recovery").
    pub category: String,
    /// What the agent should do (a check-in, a goodwill gesture).
    pub action: String,
    /// Skip it when the customer contacted us again between the completion
    /// and the due time.
    pub skip_if_contacted: bool,
    /// First-response deadline of the follow-up, in seconds, if any.
    pub first_response_seconds: Option<u32>,
    /// Version of the rule set that scheduled it.
    pub rules_version: String,
}

/// The idempotency key (`external_id` under [`FOLLOW_UP_SOURCE`]) of the
/// follow-up of `original`: one follow-up per original ticket.
pub fn follow_up_external_id(original: &Ticket) -> String {
    format!("recovery:{}", original.id)
}

impl FollowUpPlan {
    /// The follow-up ticket of `original`, created at `now`: proactive, for
    /// the same customer and touchpoint, in the plan's queue.
    pub fn follow_up(&self, original: &Ticket, now: UnixMicros) -> (TicketInput, Classification) {
        let subject = format!("Follow-up: {}", original.input.subject)
            .chars()
            .take(200)
            .collect();
        let body = format!(
            "{}\n\nService recovery ({}) after {} ({}, {}), resolved: {}",
            self.action,
            self.recovery_id,
            original.id,
            original.final_side().name(),
            original.final_category(),
            original.resolution
        );
        let input = TicketInput {
            external_id: follow_up_external_id(original),
            source: FOLLOW_UP_SOURCE.to_string(),
            channel: original.input.channel,
            subject,
            body,
            customer: original.input.customer.clone(),
            language: original.input.language.clone(),
            tags: Vec::new(),
            created_at: Some(now),
            attributes: [("follow_up_of".to_string(), original.id.to_string())].into(),
            touchpoint: original.classification.touchpoint.clone(),
        };
        let classification = Classification {
            side: Side::Proactive,
            category: self.category.clone(),
            queue: self.queue.clone(),
            priority: self.priority,
            tags: vec!["service-recovery".to_string()],
            rule_ids: vec![format!("recovery:{}", self.recovery_id)],
            rules_version: self.rules_version.clone(),
            first_response_seconds: self.first_response_seconds,
            touchpoint: original.classification.touchpoint.clone(),
            ..Classification::default()
        };
        (input, classification)
    }
}
