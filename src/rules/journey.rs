//! The customer-journey parts of a rule set: the touchpoints tickets may
//! carry, where internal customers' tickets go, and the `[[recovery]]`
//! blocks that turn a completed reactive ticket into a proactive follow-up.

use crate::ticket::{Priority, Side};

/// Touchpoints of a rule file that lists none.
pub const DEFAULT_TOUCHPOINTS: [&str; 10] = [
    "marketing",
    "website",
    "signup",
    "checkout",
    "product",
    "billing",
    "delivery",
    "onboarding",
    "support",
    "internal-tools",
];

/// Touchpoint of tickets nothing placed, unless the file says otherwise:
/// the customer reached support, and nothing says where the journey broke.
pub const DEFAULT_TOUCHPOINT: &str = "support";

/// Touchpoint of internal customers' tickets, unless the file says otherwise.
pub const DEFAULT_INTERNAL_TOUCHPOINT: &str = "internal-tools";

/// Category of follow-ups, unless a `[[recovery]]` block says otherwise.
pub const DEFAULT_RECOVERY_CATEGORY: &str = "service_recovery";

/// Longest `due_after_days` of a `[[recovery]]` block.
pub const MAX_DUE_AFTER_DAYS: i64 = 365;

/// Where internal customers' tickets go (the `[internal]` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalRouting {
    /// Queue for internal tickets of no other side.
    pub default_queue: String,
    /// Queue for reactive internal tickets.
    pub reactive_queue: Option<String>,
    /// Queue for proactive internal tickets.
    pub proactive_queue: Option<String>,
    /// Touchpoint of internal tickets.
    pub touchpoint: String,
}

impl InternalRouting {
    /// The queue of an internal ticket on `side`.
    pub fn queue(&self, side: Side) -> &str {
        let by_side = match side {
            Side::Reactive => self.reactive_queue.as_deref(),
            Side::Proactive => self.proactive_queue.as_deref(),
            Side::Unclassified => None,
        };
        by_side.unwrap_or(&self.default_queue)
    }
}

/// A compiled `[[recovery]]` block.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryRule {
    /// Its id.
    pub id: String,
    /// Where it starts in the file, 1-based.
    pub line: usize,
    /// What it is for.
    pub description: String,
    /// Categories it applies to; any when `None`.
    pub categories: Option<Vec<String>>,
    /// Customer tiers (case-folded) it applies to; any when `None`.
    pub tiers: Option<Vec<String>>,
    /// Touchpoints it applies to; any when `None`.
    pub touchpoints: Option<Vec<String>>,
    /// Applies only below this sentiment.
    pub sentiment_below: Option<f32>,
    /// The follow-up's queue.
    pub queue: String,
    /// Days from completion to the follow-up.
    pub due_after_days: u32,
    /// The follow-up's priority.
    pub priority: Priority,
    /// The follow-up's category.
    pub category: String,
    /// What the agent should do.
    pub action: String,
    /// Skip when the customer wrote again in between.
    pub skip_if_contacted: bool,
}

/// What a recovery block looks at in a ticket being completed.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryCandidate<'a> {
    /// Side after the agent's correction.
    pub side: Side,
    /// Category after the agent's correction.
    pub category: &'a str,
    /// The customer's tier.
    pub tier: &'a str,
    /// The ticket's touchpoint.
    pub touchpoint: &'a str,
    /// Compound sentiment of the customer's words.
    pub sentiment: f32,
    /// Whether the ticket is itself a follow-up (never followed up).
    pub follow_up: bool,
}

impl RecoveryRule {
    /// Whether the block applies: a reactive contact passing every filter.
    pub fn matches(&self, ticket: &RecoveryCandidate<'_>) -> bool {
        let listed = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|list| list.iter().any(|item| item == value))
        };
        ticket.side == Side::Reactive
            && !ticket.follow_up
            && listed(&self.categories, ticket.category)
            && listed(&self.tiers, &crate::rules::text::fold(ticket.tier))
            && listed(&self.touchpoints, ticket.touchpoint)
            && self.sentiment_below.is_none_or(|below| ticket.sentiment < below)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> RecoveryRule {
        RecoveryRule {
            id: "r".into(),
            line: 1,
            description: String::new(),
            categories: Some(vec!["billing".into()]),
            tiers: Some(vec!["pro".into()]),
            touchpoints: None,
            sentiment_below: Some(-0.2),
            queue: "cx".into(),
            due_after_days: 3,
            priority: Priority::Normal,
            category: DEFAULT_RECOVERY_CATEGORY.into(),
            action: String::new(),
            skip_if_contacted: true,
        }
    }

    fn candidate() -> RecoveryCandidate<'static> {
        RecoveryCandidate {
            side: Side::Reactive,
            category: "billing",
            tier: "Pro",
            touchpoint: "checkout",
            sentiment: -0.5,
            follow_up: false,
        }
    }

    #[test]
    fn every_filter_must_hold() {
        let block = block();
        assert!(block.matches(&candidate()));
        let proactive = RecoveryCandidate {
            side: Side::Proactive,
            ..candidate()
        };
        let calm = RecoveryCandidate {
            sentiment: 0.1,
            ..candidate()
        };
        let other = RecoveryCandidate {
            category: "bug",
            ..candidate()
        };
        let follow_up = RecoveryCandidate {
            follow_up: true,
            ..candidate()
        };
        for miss in [proactive, calm, other, follow_up] {
            assert!(!block.matches(&miss), "{miss:?}");
        }
    }

    #[test]
    fn internal_tickets_go_to_the_queue_of_their_side() {
        let routing = InternalRouting {
            default_queue: "it".into(),
            reactive_queue: Some("it-incidents".into()),
            proactive_queue: None,
            touchpoint: DEFAULT_INTERNAL_TOUCHPOINT.into(),
        };
        assert_eq!(routing.queue(Side::Reactive), "it-incidents");
        assert_eq!(routing.queue(Side::Proactive), "it");
        assert_eq!(routing.queue(Side::Unclassified), "it");
    }
}
