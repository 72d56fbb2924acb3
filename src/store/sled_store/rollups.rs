//! Reading the journey rollups (see [`crate::store::rollup`]), rebuilding
//! them from the tickets for stores written before they existed, and
//! checking them against the tickets.
//!
//! Each contribution is kept twice, in its hour's cell and in its UTC
//! day's, in the same transaction: a range reads day cells for the whole
//! days it covers and hour cells only at its ragged ends, so a month's
//! report reads about 30 x keys cells, not 720 x keys.

use std::collections::{BTreeMap, HashMap};

use super::keys::{self, Span, DAY_MICROS};
use super::tx::{decode_counts, encode_counts, storage};
use super::Inner;
use crate::clock::UnixMicros;
use crate::store::rollup::{hour_start, Contribution, HOUR_MICROS};
use crate::store::{RollupCounts, RollupRow, StoreError};

/// The meta key present once the rollups count every stored ticket.
const ROLLUPS_KEY: &[u8] = b"rollups";

impl Inner {
    /// Sums of the cells of the hours starting in `[from, until)`.
    pub(crate) fn rollup(&self, from: UnixMicros, until: UnixMicros) -> Result<Vec<RollupRow>, StoreError> {
        let (from, until) = (hour_start(from), hour_start(until));
        let mut sums: HashMap<Vec<u8>, RollupCounts> = HashMap::new();
        for (span, start, end) in pieces(from, until) {
            self.add_cells(span, start, end, &mut sums)?;
        }
        sums.into_iter()
            .filter(|(_, counts)| !counts.is_empty())
            .map(|(tail, counts)| {
                let key = keys::rollup_key_from(&tail)
                    .ok_or_else(|| super::records::corrupt("rollup cell", "bad key"))?;
                Ok(RollupRow { key, counts })
            })
            .collect()
    }

    /// Adds every cell of `span` starting in `[start, end)` to `sums`.
    fn add_cells(
        &self,
        span: Span,
        start: UnixMicros,
        end: UnixMicros,
        sums: &mut HashMap<Vec<u8>, RollupCounts>,
    ) -> Result<(), StoreError> {
        if start >= end {
            return Ok(());
        }
        let range = keys::rollup_prefix(span, start)..keys::rollup_prefix(span, end);
        for entry in self.trees.rollups.range(range) {
            let (key, value) = entry.map_err(storage)?;
            let tail = key.get(keys::ROLLUP_HEAD..).unwrap_or_default();
            let counts = decode_counts(&value);
            match sums.get_mut(tail) {
                Some(sum) => sum.add(&counts, 1),
                None => {
                    sums.insert(tail.to_vec(), counts);
                }
            }
        }
        Ok(())
    }

    /// Counts every stored ticket into fresh rollups, once: for stores
    /// written before rollups existed. Runs at open, before any write.
    pub(crate) fn ensure_rollups(&self) -> Result<(), StoreError> {
        if self.trees.meta.contains_key(ROLLUPS_KEY).map_err(storage)? {
            return Ok(());
        }
        self.trees.rollups.clear().map_err(storage)?;
        let cells = self.count_rollups()?;
        for (cell, counts) in &cells {
            self.trees
                .rollups
                .insert(cell.as_slice(), encode_counts(counts).as_slice())
                .map_err(storage)?;
        }
        if !cells.is_empty() {
            tracing::info!(
                cells = cells.len(),
                "journey rollups built from the stored tickets"
            );
        }
        self.trees.meta.insert(ROLLUPS_KEY, &[]).map_err(storage)?;
        Ok(())
    }

    /// The rollup cells the stored tickets add up to (reads every ticket).
    fn count_rollups(&self) -> Result<BTreeMap<Vec<u8>, RollupCounts>, StoreError> {
        let mut cells: BTreeMap<Vec<u8>, RollupCounts> = BTreeMap::new();
        for entry in self.trees.tickets.iter() {
            let (key, _) = entry.map_err(storage)?;
            let Some(id) = keys::ticket_id_from_head(&key) else {
                continue;
            };
            let ticket = match self.load(id) {
                Ok(ticket) => ticket,
                Err(err) if super::tx::is_unreadable(&err) => continue,
                Err(err) => return Err(err),
            };
            let Some(contribution) = Contribution::of(&ticket) else {
                continue;
            };
            let spans = [
                (Span::Hour, contribution.hour),
                (Span::Day, keys::day_start(contribution.hour)),
            ];
            for (span, at) in spans {
                let cell = keys::rollup_cell(span, at, &contribution.key);
                cells.entry(cell).or_default().add(&contribution.counts, 1);
            }
        }
        Ok(cells)
    }

    /// Problems where the stored rollups differ from what the tickets add up to.
    pub(crate) fn check_rollups(&self) -> Result<Vec<String>, StoreError> {
        let expected = self.count_rollups()?;
        let mut problems = Vec::new();
        let mut seen = 0;
        for entry in self.trees.rollups.iter() {
            let (cell, value) = entry.map_err(storage)?;
            seen += 1;
            let stored = decode_counts(&value);
            if expected.get(cell.as_ref()) != Some(&stored) {
                problems.push(format!(
                    "rollup cell {:?} counts {} tickets, the tickets say {}",
                    keys::rollup_key_from(cell.get(keys::ROLLUP_HEAD..).unwrap_or_default()),
                    stored.tickets,
                    expected.get(cell.as_ref()).map_or(0, |counts| counts.tickets)
                ));
            }
        }
        if seen != expected.len() {
            problems.push(format!(
                "{seen} rollup cells stored, the tickets fill {}",
                expected.len()
            ));
        }
        Ok(problems)
    }
}

/// Splits `[from, until)` (on the hour) into hour cells at the ragged ends
/// and day cells for the whole UTC days between.
fn pieces(from: UnixMicros, until: UnixMicros) -> [(Span, UnixMicros, UnixMicros); 3] {
    let first_day = UnixMicros(keys::day_start(UnixMicros(from.0 + DAY_MICROS - HOUR_MICROS)).0);
    let last_day = keys::day_start(until);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_reads_whole_days_and_hours_only_at_its_ends() {
        let day = |d: i64| UnixMicros(d * DAY_MICROS);
        let hour = |d: i64, h: i64| UnixMicros(d * DAY_MICROS + h * HOUR_MICROS);
        assert_eq!(
            pieces(hour(1, 5), hour(4, 2)),
            [
                (Span::Hour, hour(1, 5), day(2)),
                (Span::Day, day(2), day(4)),
                (Span::Hour, day(4), hour(4, 2)),
            ]
        );
        assert_eq!(
            pieces(day(1), day(3)),
            [
                (Span::Hour, day(1), day(1)),
                (Span::Day, day(1), day(3)),
                (Span::Hour, day(3), day(3))
            ]
        );
        let within = pieces(hour(1, 2), hour(1, 9));
        assert_eq!(within[0], (Span::Hour, hour(1, 2), hour(1, 9)));
    }
}
