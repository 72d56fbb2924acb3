//! Journey rollups: what the friction map reads instead of the tickets.
//!
//! Every stored contact adds one [`Contribution`] to the cell of its hour x
//! touchpoint x category x side x customer kind, in the same atomic write
//! that stores it; an agent's correction moves it to the corrected cell, and
//! a retention purge takes it out again, so the rollups always count exactly
//! the stored tickets (`verify` checks this). Service-recovery follow-ups are
//! triage's own work, not contacts, and are not counted.
//!
//! Backend-neutral: a backend keeps cells however suits it and answers
//! [`TicketStore::rollup`](super::TicketStore::rollup) with their sums.

use serde::{Deserialize, Serialize};

use crate::clock::UnixMicros;
use crate::ticket::{Classification, Correction, CustomerKind, Side, Ticket};

/// Microseconds in one hour: the finest time step of the rollups.
pub const HOUR_MICROS: i64 = 3_600_000_000;

/// Upper bounds of the sentiment buckets but the last: very negative
/// (below -0.6), negative, neutral (-0.2 to 0.2), positive, very positive
/// (above 0.6). A value on a bound belongs to the bucket nearer zero.
pub const SENTIMENT_BOUNDS: [f32; 4] = [-0.6, -0.2, 0.2, 0.6];

/// How many sentiment buckets a cell keeps.
pub const SENTIMENT_BUCKETS: usize = SENTIMENT_BOUNDS.len() + 1;

/// Microseconds in a day.
pub const DAY_MICROS: i64 = 24 * HOUR_MICROS;

/// Rollup cells by the hour, and by the UTC day (sums of its hours, so
/// long ranges read a day's cells instead of 24 hours').
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Span {
    /// One hour's contacts.
    Hour = 0,
    /// One UTC day's contacts.
    Day = 1,
}

/// The start of the UTC day `at` falls in.
pub fn day_start(at: UnixMicros) -> UnixMicros {
    UnixMicros(at.0.div_euclid(DAY_MICROS) * DAY_MICROS)
}

/// Splits `[from, until)` (on the hour) into hour cells at the ragged ends
/// and day cells for the whole UTC days between: what a backend reads to
/// sum a range (a month reads about 30 day cells per key, not 720 hours).
pub fn range_pieces(from: UnixMicros, until: UnixMicros) -> [(Span, UnixMicros, UnixMicros); 3] {
    let first_day = day_start(UnixMicros(from.0 + DAY_MICROS - HOUR_MICROS));
    let last_day = day_start(until);
    if first_day >= last_day {
        return [
            (Span::Hour, from, until),
            (Span::Day, from, from),
            (Span::Hour, until, until),
        ];
    }
    [
        (Span::Hour, from, first_day),
        (Span::Day, first_day, last_day),
        (Span::Hour, last_day, until),
    ]
}

/// The start of the hour `at` falls in.
pub fn hour_start(at: UnixMicros) -> UnixMicros {
    UnixMicros(at.0.div_euclid(HOUR_MICROS) * HOUR_MICROS)
}

/// The sentiment bucket of a compound score.
pub fn sentiment_bucket(compound: f32) -> usize {
    match compound {
        c if c < SENTIMENT_BOUNDS[0] => 0,
        c if c < SENTIMENT_BOUNDS[1] => 1,
        c if c <= SENTIMENT_BOUNDS[2] => 2,
        c if c <= SENTIMENT_BOUNDS[3] => 3,
        _ => 4,
    }
}

/// A compound score in thousandths, as the rollups sum it (integers, so
/// adding and taking away again is exact).
pub fn sentiment_milli(compound: f32) -> i64 {
    #[allow(clippy::cast_possible_truncation)] // |compound| <= 1
    let milli = (f64::from(compound) * 1000.0).round() as i64;
    milli
}

/// What a rollup cell is keyed by, beside its hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RollupKey {
    /// The ticket's touchpoint.
    pub touchpoint: String,
    /// Its category after any correction.
    pub category: String,
    /// Its side after any correction.
    pub side: Side,
    /// External or internal customer.
    pub kind: CustomerKind,
}

/// The sums one cell keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupCounts {
    /// Contacts.
    pub tickets: u64,
    /// Contacts that were repeat contacts.
    pub repeat_contacts: u64,
    /// Sum of the compound sentiment, in thousandths.
    pub sentiment_milli_sum: i64,
    /// Contacts per sentiment bucket (see [`SENTIMENT_BOUNDS`]).
    pub sentiment_buckets: [u64; SENTIMENT_BUCKETS],
}

impl RollupCounts {
    /// Adds `other` (`sign` 1) or takes it away (`sign` -1).
    pub fn add(&mut self, other: &RollupCounts, sign: i64) {
        let step = |total: &mut u64, by: u64| {
            *total = if sign < 0 {
                total.saturating_sub(by)
            } else {
                total.saturating_add(by)
            };
        };
        step(&mut self.tickets, other.tickets);
        step(&mut self.repeat_contacts, other.repeat_contacts);
        self.sentiment_milli_sum = self
            .sentiment_milli_sum
            .saturating_add(other.sentiment_milli_sum.saturating_mul(sign.signum()));
        for (total, by) in self.sentiment_buckets.iter_mut().zip(other.sentiment_buckets) {
            step(total, by);
        }
    }

    /// True when the cell counts nothing (it can be dropped).
    pub fn is_empty(&self) -> bool {
        self.tickets == 0
    }

    /// Mean compound sentiment, 0 for an empty cell.
    pub fn mean_sentiment(&self) -> f64 {
        if self.tickets == 0 {
            return 0.0;
        }
        self.sentiment_milli_sum as f64 / 1000.0 / self.tickets as f64
    }
}

/// The sums of every cell of one key over a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRow {
    /// The cell key.
    pub key: RollupKey,
    /// Its sums.
    pub counts: RollupCounts,
}

/// What one stored ticket adds to the rollups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// The hour of its ingest.
    pub hour: UnixMicros,
    /// Its cell.
    pub key: RollupKey,
    /// One contact with its sentiment and repeat flag.
    pub counts: RollupCounts,
}

impl Contribution {
    /// What `ticket` adds, or `None` for a follow-up (not a contact).
    pub fn of(ticket: &Ticket) -> Option<Contribution> {
        Self::from_parts(&Parts {
            ingested_at: ticket.ingested_at,
            classification: &ticket.classification,
            correction: ticket.correction.as_ref(),
            kind: ticket.input.customer.kind,
            follow_up: ticket.is_follow_up(),
        })
    }

    /// The two cells it counts in: its hour's and its UTC day's.
    pub fn cells(&self) -> [(Span, UnixMicros); 2] {
        [(Span::Hour, self.hour), (Span::Day, day_start(self.hour))]
    }

    /// What a ticket with these parts adds (for backends that keep a
    /// ticket's parts apart).
    pub fn from_parts(parts: &Parts<'_>) -> Option<Contribution> {
        if parts.follow_up {
            return None;
        }
        let classification = parts.classification;
        let side = parts
            .correction
            .and_then(|correction| correction.side)
            .unwrap_or(classification.side);
        let category = parts
            .correction
            .and_then(|correction| correction.category.clone())
            .unwrap_or_else(|| classification.category.clone());
        let compound = classification.sentiment.compound;
        let mut counts = RollupCounts {
            tickets: 1,
            repeat_contacts: u64::from(classification.repeat_contact),
            sentiment_milli_sum: sentiment_milli(compound),
            ..RollupCounts::default()
        };
        counts.sentiment_buckets[sentiment_bucket(compound)] = 1;
        Some(Contribution {
            hour: hour_start(parts.ingested_at),
            key: RollupKey {
                touchpoint: classification.touchpoint.clone(),
                category,
                side,
                kind: parts.kind,
            },
            counts,
        })
    }
}

/// The parts of a ticket a contribution depends on.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// When it was stored.
    pub ingested_at: UnixMicros,
    /// The rules' classification (touchpoint, sentiment, repeat flag).
    pub classification: &'a Classification,
    /// An agent's correction of side or category.
    pub correction: Option<&'a Correction>,
    /// The customer's kind.
    pub kind: CustomerKind,
    /// Whether it is a follow-up triage created.
    pub follow_up: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_split_at_their_bounds_toward_zero() {
        let buckets: Vec<usize> = [-1.0, -0.6, -0.3, -0.2, 0.0, 0.2, 0.5, 0.6, 0.61, 1.0]
            .into_iter()
            .map(sentiment_bucket)
            .collect();
        assert_eq!(buckets, vec![0, 1, 1, 2, 2, 2, 3, 3, 4, 4]);
    }

    #[test]
    fn adding_then_taking_away_leaves_nothing() {
        let mut cell = RollupCounts::default();
        let one = RollupCounts {
            tickets: 1,
            repeat_contacts: 1,
            sentiment_milli_sum: -437,
            sentiment_buckets: [0, 1, 0, 0, 0],
        };
        cell.add(&one, 1);
        cell.add(&one, 1);
        cell.add(&one, -1);
        assert_eq!(cell, one);
        cell.add(&one, -1);
        assert!(cell.is_empty());
        assert_eq!(cell, RollupCounts::default());
    }

    #[test]
    fn hours_start_on_the_hour_before_the_epoch_too() {
        assert_eq!(hour_start(UnixMicros(HOUR_MICROS + 5)), UnixMicros(HOUR_MICROS));
        assert_eq!(hour_start(UnixMicros(-1)), UnixMicros(-HOUR_MICROS));
    }

    #[test]
    fn a_range_reads_whole_days_and_hours_only_at_its_ends() {
        let day = |d: i64| UnixMicros(d * DAY_MICROS);
        let hour = |d: i64, h: i64| UnixMicros(d * DAY_MICROS + h * HOUR_MICROS);
        assert_eq!(
            range_pieces(hour(1, 5), hour(4, 2)),
            [
                (Span::Hour, hour(1, 5), day(2)),
                (Span::Day, day(2), day(4)),
                (Span::Hour, day(4), hour(4, 2)),
            ]
        );
        assert_eq!(
            range_pieces(day(1), day(3)),
            [
                (Span::Hour, day(1), day(1)),
                (Span::Day, day(1), day(3)),
                (Span::Hour, day(3), day(3))
            ]
        );
        let within = range_pieces(hour(1, 2), hour(1, 9));
        assert_eq!(within[0], (Span::Hour, hour(1, 2), hour(1, 9)));
    }
}
