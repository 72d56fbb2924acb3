//! Reading the journey rollups (see [`crate::store::rollup`]), rebuilding
//! them from the tickets for stores written before they existed, and
//! checking them against the tickets.
//!
//! Each contribution is kept twice, in its hour's cell and in its UTC
//! day's, in the same transaction: a range reads day cells for the whole
//! days it covers and hour cells only at its ragged ends, so a month's
//! report reads about 30 x keys cells, not 720 x keys.

use std::collections::{BTreeMap, HashMap};

use super::keys;
use super::tx::{decode_counts, encode_counts, storage};
use super::Inner;
use crate::clock::UnixMicros;
use crate::store::rollup::{hour_start, range_pieces, Contribution, Span};
use crate::store::{RollupCounts, RollupRow, StoreError};

/// The meta key present once the rollups count every stored ticket.
const ROLLUPS_KEY: &[u8] = b"rollups";

impl Inner {
    /// Sums of the cells of the hours starting in `[from, until)`.
    pub(crate) fn rollup(&self, from: UnixMicros, until: UnixMicros) -> Result<Vec<RollupRow>, StoreError> {
        let (from, until) = (hour_start(from), hour_start(until));
        let mut sums: HashMap<Vec<u8>, RollupCounts> = HashMap::new();
        for (span, start, end) in range_pieces(from, until) {
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
            for (span, at) in contribution.cells() {
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
