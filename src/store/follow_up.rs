//! Service-recovery follow-ups as the store keeps them: the plan a
//! completion records in its own atomic write, and the ticket the plan
//! becomes once due. Backend-neutral: every backend stores the plan with
//! the completion and materialises it with [`FollowUpPlan::follow_up`].

use serde::{Deserialize, Serialize};

use crate::clock::UnixMicros;
use crate::ticket::{
    Classification, FollowUp, FollowUpState, HistoryEntry, Priority, Side, Ticket, TicketId, TicketInput,
    SYSTEM_ACTOR,
};

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

/// Why a plan with `skip_if_contacted` was skipped (the original's history
/// and its [`FollowUpState::Skipped`]).
pub const SKIPPED_CONTACTED: &str = "the customer contacted us again after the completion";

impl FollowUpPlan {
    /// What the original ticket keeps once the plan is scheduled.
    pub fn scheduled(&self) -> FollowUp {
        FollowUp {
            recovery_id: self.recovery_id.clone(),
            due_at: self.due_at,
            state: FollowUpState::Scheduled,
        }
    }

    /// The detail of the original's `follow_up_scheduled` history entry.
    pub fn scheduled_detail(&self) -> String {
        format!(
            "recovery {} to {} due at {} (unix seconds)",
            self.recovery_id,
            self.queue,
            self.due_at.0.div_euclid(1_000_000)
        )
    }

    /// The detail of the original's `follow_up_created` history entry.
    pub fn created_detail(&self, follow_up: TicketId) -> String {
        format!("{follow_up} in {}", self.queue)
    }

    /// The follow-up's first history entry, naming its original.
    pub fn origin_entry(&self, original: TicketId, at: UnixMicros) -> HistoryEntry {
        HistoryEntry {
            at,
            actor: SYSTEM_ACTOR.to_string(),
            action: "follow_up_of".to_string(),
            detail: format!("service recovery {} of {original}", self.recovery_id),
        }
    }

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
