//! Service recovery: which completions get a proactive follow-up, and the
//! plan the store keeps with the completion until it is due.

use crate::clock::UnixMicros;
use crate::rules::{RecoveryCandidate, RuleSet};
use crate::store::FollowUpPlan;
use crate::ticket::{Relabel, Ticket};

/// The follow-up plan for completing `ticket` at `now` with the agent's
/// `relabel`, when one of the rule set's `[[recovery]]` blocks applies to
/// it as it will be (corrected side and category).
pub fn follow_up_plan(
    rules: &RuleSet,
    ticket: &Ticket,
    relabel: &Relabel,
    now: UnixMicros,
) -> Option<FollowUpPlan> {
    let category = relabel.category.as_deref().unwrap_or(ticket.final_category());
    let candidate = RecoveryCandidate {
        side: relabel.side.unwrap_or(ticket.final_side()),
        category,
        tier: &ticket.input.customer.tier,
        touchpoint: &ticket.classification.touchpoint,
        sentiment: ticket.classification.sentiment.compound,
        follow_up: ticket.is_follow_up(),
    };
    let block = rules.recovery_for(&candidate)?;
    let first_response_seconds = rules
        .queue(&block.queue)
        .and_then(|queue| queue.first_response_minutes)
        .map(|minutes| minutes.saturating_mul(60));
    Some(FollowUpPlan {
        recovery_id: block.id.clone(),
        due_at: now.plus_seconds(u64::from(block.due_after_days) * 86_400),
        queue: block.queue.clone(),
        priority: block.priority,
        category: block.category.clone(),
        action: block.action.clone(),
        skip_if_contacted: block.skip_if_contacted,
        first_response_seconds,
        rules_version: rules.version().to_string(),
    })
}
