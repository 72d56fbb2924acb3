//! The friction map: per touchpoint x category (or side), a window's
//! contacts against the previous window of the same length, from the
//! store's rollups.

use std::collections::BTreeMap;

use crate::clock::UnixMicros;
use crate::store::rollup::{hour_start, HOUR_MICROS, SENTIMENT_BUCKETS};
use crate::store::{RollupCounts, RollupRow};
use crate::ticket::{CustomerKind, Side};

/// Default window: a week.
pub const DEFAULT_WINDOW_HOURS: u32 = 168;
/// Longest window: 400 days, the default retention.
pub const MAX_WINDOW_HOURS: u32 = 9_600;
/// Default number of rising cells listed.
pub const DEFAULT_TOP: usize = 5;
/// Most rising cells listed.
pub const MAX_TOP: usize = 50;

/// What each touchpoint's contacts are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// By category (after corrections).
    #[default]
    Category,
    /// By side (after corrections).
    Side,
}

/// Which customers a report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerScope {
    /// Everyone.
    #[default]
    All,
    /// External customers only.
    External,
    /// Internal customers (employees) only.
    Internal,
}

impl CustomerScope {
    fn admits(self, kind: CustomerKind) -> bool {
        match self {
            CustomerScope::All => true,
            CustomerScope::External => kind == CustomerKind::External,
            CustomerScope::Internal => kind == CustomerKind::Internal,
        }
    }
}

/// A report request, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRequest {
    /// Window length in hours (1 to [`MAX_WINDOW_HOURS`]).
    pub window_hours: u32,
    /// Grouping within a touchpoint.
    pub group_by: GroupBy,
    /// Which customers count.
    pub scope: CustomerScope,
    /// Rising cells listed for friction and for delight.
    pub top: usize,
}

impl Default for ReportRequest {
    fn default() -> Self {
        Self {
            window_hours: DEFAULT_WINDOW_HOURS,
            group_by: GroupBy::default(),
            scope: CustomerScope::default(),
            top: DEFAULT_TOP,
        }
    }
}

/// The hours a report at `now` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Start of the previous window.
    pub previous_start: UnixMicros,
    /// Start of the window (end of the previous one).
    pub start: UnixMicros,
    /// End of the window: the end of the current hour.
    pub end: UnixMicros,
}

impl Windows {
    /// The window of `hours` ending with the hour `now` is in, and the one before.
    pub fn at(now: UnixMicros, hours: u32) -> Windows {
        let length = i64::from(hours) * HOUR_MICROS;
        let end = UnixMicros(hour_start(now).0 + HOUR_MICROS);
        let start = UnixMicros(end.0 - length);
        Windows {
            previous_start: UnixMicros(start.0 - length),
            start,
            end,
        }
    }
}

/// One touchpoint x group of the friction map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JourneyCell {
    /// The touchpoint.
    pub touchpoint: String,
    /// The category, or the side's name.
    pub group: String,
    /// The window's contacts, all sides.
    pub current: RollupCounts,
    /// The previous window's contacts, all sides.
    pub previous: RollupCounts,
    /// The window's contacts by side: reactive, proactive, unclassified.
    pub by_side: [u64; 3],
    /// The previous window's reactive contacts.
    pub previous_reactive: u64,
}

impl JourneyCell {
    /// Contacts now minus contacts in the previous window.
    pub fn change(&self) -> i64 {
        difference(self.current.tickets, self.previous.tickets)
    }

    /// Reactive contacts now minus in the previous window: rising friction.
    pub fn reactive_change(&self) -> i64 {
        difference(self.by_side[0], self.previous_reactive)
    }

    /// Positive contacts (sentiment above 0.2) now.
    pub fn positive(&self) -> u64 {
        positive(&self.current)
    }

    /// Positive contacts in the previous window.
    pub fn previous_positive(&self) -> u64 {
        positive(&self.previous)
    }

    /// Positive contacts now minus in the previous window: rising delight.
    pub fn positive_change(&self) -> i64 {
        difference(self.positive(), self.previous_positive())
    }

    /// Share of the window's contacts that were repeat contacts.
    pub fn repeat_share(&self) -> f64 {
        if self.current.tickets == 0 {
            return 0.0;
        }
        self.current.repeat_contacts as f64 / self.current.tickets as f64
    }
}

fn positive(counts: &RollupCounts) -> u64 {
    counts.sentiment_buckets[SENTIMENT_BUCKETS - 2..].iter().sum()
}

fn difference(now: u64, before: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX)
}

/// The friction map.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyReport {
    /// The hours covered.
    pub windows: Windows,
    /// Every cell with contacts in either window, by touchpoint then group.
    pub cells: Vec<JourneyCell>,
    /// Cells where reactive contacts rose most (rise > 0), most first.
    pub top_friction: Vec<JourneyCell>,
    /// Cells where positive contacts rose most (rise > 0), most first.
    pub top_delight: Vec<JourneyCell>,
}

impl JourneyReport {
    /// Builds the report from the rollup rows of the window (`current`)
    /// and of the previous one.
    pub fn build(
        request: &ReportRequest,
        windows: Windows,
        current: &[RollupRow],
        previous: &[RollupRow],
    ) -> JourneyReport {
        let mut cells: BTreeMap<(String, String), JourneyCell> = BTreeMap::new();
        for (rows, is_current) in [(current, true), (previous, false)] {
            for row in rows.iter().filter(|row| request.scope.admits(row.key.kind)) {
                let group = match request.group_by {
                    GroupBy::Category => row.key.category.clone(),
                    GroupBy::Side => row.key.side.name().to_string(),
                };
                let cell = cells
                    .entry((row.key.touchpoint.clone(), group.clone()))
                    .or_insert_with(|| JourneyCell {
                        touchpoint: row.key.touchpoint.clone(),
                        group,
                        ..JourneyCell::default()
                    });
                let side = match row.key.side {
                    Side::Reactive => 0,
                    Side::Proactive => 1,
                    Side::Unclassified => 2,
                };
                if is_current {
                    cell.current.add(&row.counts, 1);
                    cell.by_side[side] += row.counts.tickets;
                } else {
                    cell.previous.add(&row.counts, 1);
                    if side == 0 {
                        cell.previous_reactive += row.counts.tickets;
                    }
                }
            }
        }
        let cells: Vec<JourneyCell> = cells.into_values().collect();
        let top = |rise: fn(&JourneyCell) -> i64| {
            let mut rising: Vec<JourneyCell> = cells.iter().filter(|cell| rise(cell) > 0).cloned().collect();
            rising.sort_by(|a, b| {
                rise(b)
                    .cmp(&rise(a))
                    .then(b.current.tickets.cmp(&a.current.tickets))
                    .then_with(|| (&a.touchpoint, &a.group).cmp(&(&b.touchpoint, &b.group)))
            });
            rising.truncate(request.top);
            rising
        };
        JourneyReport {
            windows,
            top_friction: top(JourneyCell::reactive_change),
            top_delight: top(JourneyCell::positive_change),
            cells,
        }
    }

    /// The window's contacts, all cells together.
    pub fn total(&self) -> u64 {
        self.cells.iter().map(|cell| cell.current.tickets).sum()
    }

    /// The previous window's contacts, all cells together.
    pub fn previous_total(&self) -> u64 {
        self.cells.iter().map(|cell| cell.previous.tickets).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RollupKey;

    fn row(
        touchpoint: &str,
        category: &str,
        side: Side,
        kind: CustomerKind,
        tickets: u64,
        bucket: usize,
    ) -> RollupRow {
        let mut counts = RollupCounts {
            tickets,
            ..RollupCounts::default()
        };
        counts.sentiment_buckets[bucket] = tickets;
        RollupRow {
            key: RollupKey {
                touchpoint: touchpoint.into(),
                category: category.into(),
                side,
                kind,
            },
            counts,
        }
    }

    #[test]
    fn windows_end_with_the_current_hour() {
        let now = UnixMicros(10 * HOUR_MICROS + 5);
        let windows = Windows::at(now, 2);
        assert_eq!(windows.end, UnixMicros(11 * HOUR_MICROS));
        assert_eq!(windows.start, UnixMicros(9 * HOUR_MICROS));
        assert_eq!(windows.previous_start, UnixMicros(7 * HOUR_MICROS));
    }

    #[test]
    fn rising_friction_and_delight_are_ranked_and_internal_customers_can_be_left_out() {
        use CustomerKind::{External, Internal};
        let rows = |cells: &[(&str, &str, Side, CustomerKind, u64, usize)]| -> Vec<RollupRow> {
            cells
                .iter()
                .map(|&(touchpoint, category, side, kind, tickets, bucket)| {
                    row(touchpoint, category, side, kind, tickets, bucket)
                })
                .collect()
        };
        let current = rows(&[
            ("checkout", "billing", Side::Reactive, External, 9, 0),
            ("delivery", "delivery", Side::Reactive, External, 4, 1),
            ("product", "praise", Side::Proactive, External, 6, 4),
            ("internal-tools", "bug", Side::Reactive, Internal, 50, 0),
        ]);
        let previous = rows(&[
            ("checkout", "billing", Side::Reactive, External, 2, 0),
            ("delivery", "delivery", Side::Reactive, External, 5, 1),
            ("product", "praise", Side::Proactive, External, 1, 4),
        ]);
        let request = ReportRequest {
            scope: CustomerScope::External,
            ..ReportRequest::default()
        };
        let report = JourneyReport::build(&request, Windows::at(UnixMicros(0), 1), &current, &previous);
        assert_eq!(report.total(), 19);
        assert_eq!(report.previous_total(), 8);
        let friction: Vec<_> = report
            .top_friction
            .iter()
            .map(|c| c.touchpoint.as_str())
            .collect();
        assert_eq!(friction, vec!["checkout"], "delivery fell, internal left out");
        assert_eq!(report.top_friction[0].reactive_change(), 7);
        let delight: Vec<_> = report.top_delight.iter().map(|c| c.touchpoint.as_str()).collect();
        assert_eq!(delight, vec!["product"]);
        let by_side = ReportRequest {
            group_by: GroupBy::Side,
            ..ReportRequest::default()
        };
        let report = JourneyReport::build(&by_side, Windows::at(UnixMicros(0), 1), &current, &previous);
        let groups: Vec<_> = report
            .cells
            .iter()
            .map(|c| (c.touchpoint.as_str(), c.group.as_str()))
            .collect();
        assert!(groups.contains(&("internal-tools", "reactive")));
        assert!(groups.contains(&("product", "proactive")));
    }
}
