//! One customer's journey: their contacts in time order and a summary an
//! agent reads at a glance.

use crate::clock::UnixMicros;
use crate::ticket::{FollowUpState, Side, Ticket};

/// Most contacts a journey shows (the latest ones).
pub const MAX_JOURNEY_CONTACTS: usize = 1000;

/// "Recent" reactive contacts are those of the last this many days.
pub const RECENT_DAYS: u64 = 30;

/// Contacts compared on each side of a sentiment trend.
const TREND_CONTACTS: usize = 3;

/// A change of mean sentiment smaller than this is steady.
const TREND_STEP: f64 = 0.15;

/// Whether the customer's mood is getting better or worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentimentTrend {
    /// The latest contacts read warmer than the ones before.
    Improving,
    /// The latest contacts read colder.
    Worsening,
    /// No clear change.
    Steady,
    /// Fewer than two contacts.
    Unknown,
}

impl SentimentTrend {
    /// The name shown to agents.
    pub fn name(self) -> &'static str {
        match self {
            SentimentTrend::Improving => "improving",
            SentimentTrend::Worsening => "worsening",
            SentimentTrend::Steady => "steady",
            SentimentTrend::Unknown => "unknown",
        }
    }
}

/// One entry of a journey: a ticket without its body and history.
pub type JourneyContact = Ticket;

/// The at-a-glance part of a journey.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneySummary {
    /// The first contact on record (follow-ups are not contacts).
    pub first_contact: Option<UnixMicros>,
    /// Contacts shown.
    pub contacts: u32,
    /// Reactive contacts in the last [`RECENT_DAYS`].
    pub reactive_recent: u32,
    /// The sentiment trend.
    pub trend: SentimentTrend,
    /// Mean sentiment of the latest contacts compared.
    pub recent_sentiment: f64,
    /// Mean sentiment of the contacts before them.
    pub earlier_sentiment: f64,
    /// Follow-ups scheduled, or created and still open.
    pub open_follow_ups: u32,
    /// Contacts still open.
    pub open_contacts: u32,
}

/// A customer's journey.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerJourney {
    /// The customer.
    pub customer_id: String,
    /// Contacts and follow-ups, oldest first.
    pub contacts: Vec<JourneyContact>,
    /// The summary.
    pub summary: JourneySummary,
    /// True when older contacts were left out.
    pub truncated: bool,
}

impl CustomerJourney {
    /// The journey from the customer's tickets (any order) at `now`.
    pub fn build(
        customer_id: &str,
        mut tickets: Vec<Ticket>,
        truncated: bool,
        now: UnixMicros,
    ) -> CustomerJourney {
        tickets.sort_by_key(|ticket| (ticket.ingested_at, ticket.id));
        let contacts: Vec<&Ticket> = tickets.iter().filter(|ticket| !ticket.is_follow_up()).collect();
        let recent_since = UnixMicros(
            now.0
                .saturating_sub(i64::try_from(RECENT_DAYS * 86_400 * 1_000_000).unwrap_or(i64::MAX)),
        );
        let count = |keep: &dyn Fn(&Ticket) -> bool| {
            u32::try_from(tickets.iter().filter(|ticket| keep(ticket)).count()).unwrap_or(u32::MAX)
        };
        let sentiments: Vec<f64> = contacts
            .iter()
            .map(|ticket| f64::from(ticket.classification.sentiment.compound))
            .collect();
        let (trend, recent_sentiment, earlier_sentiment) = trend(&sentiments);
        let summary = JourneySummary {
            first_contact: contacts.first().map(|ticket| ticket.ingested_at),
            contacts: u32::try_from(contacts.len()).unwrap_or(u32::MAX),
            reactive_recent: count(&|ticket| {
                !ticket.is_follow_up()
                    && ticket.final_side() == Side::Reactive
                    && ticket.ingested_at >= recent_since
            }),
            trend,
            recent_sentiment,
            earlier_sentiment,
            open_follow_ups: count(&|ticket| {
                let scheduled = matches!(&ticket.follow_up, Some(f) if f.state == FollowUpState::Scheduled);
                scheduled || (ticket.is_follow_up() && ticket.is_open())
            }),
            open_contacts: count(&|ticket| !ticket.is_follow_up() && ticket.is_open()),
        };
        CustomerJourney {
            customer_id: customer_id.to_string(),
            contacts: tickets,
            summary,
            truncated,
        }
    }
}

/// The trend of sentiments in time order: the mean of the latest few
/// against the mean of as many before them.
fn trend(sentiments: &[f64]) -> (SentimentTrend, f64, f64) {
    let compared = TREND_CONTACTS.min(sentiments.len() / 2);
    if compared == 0 {
        let only = sentiments.first().copied().unwrap_or(0.0);
        return (SentimentTrend::Unknown, only, only);
    }
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len() as f64;
    let split = sentiments.len() - compared;
    let recent = mean(&sentiments[split..]);
    let earlier = mean(&sentiments[split - compared..split]);
    let trend = match recent - earlier {
        step if step > TREND_STEP => SentimentTrend::Improving,
        step if step < -TREND_STEP => SentimentTrend::Worsening,
        _ => SentimentTrend::Steady,
    };
    (trend, recent, earlier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_compares_the_latest_contacts_with_those_before() {
        assert_eq!(trend(&[0.3]).0, SentimentTrend::Unknown);
        assert_eq!(trend(&[-0.8, -0.6, 0.4, 0.5]).0, SentimentTrend::Improving);
        assert_eq!(
            trend(&[0.5, 0.4, 0.6, -0.2, -0.5, -0.4]).0,
            SentimentTrend::Worsening
        );
        let (steady, recent, earlier) = trend(&[0.9, 0.1, 0.1, 0.1, 0.0, 0.1, 0.2]);
        assert_eq!(steady, SentimentTrend::Steady);
        assert!((recent - 0.1).abs() < 1e-9 && (earlier - 0.1).abs() < 1e-9);
    }
}
