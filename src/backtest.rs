//! Backtesting a candidate rule set: re-classify stored tickets with it and
//! count how many would move, from the side, category and queue they have to
//! the ones the candidate gives, with a few ticket ids per move. Nothing is
//! changed. Tickets are read one at a time from the store's scan, so memory
//! grows with the number of distinct moves, not of tickets.
//!
//! Blocking: run it off the async workers (it may read a million tickets).

use std::collections::HashMap;

use crate::clock::UnixMicros;
use crate::error::Error;
use crate::rules::{CustomerHistory, RuleSet};
use crate::store::TicketStore;
use crate::ticket::{Classification, Side, Ticket, TicketId};

/// How many ticket ids each move keeps by default.
pub const DEFAULT_SAMPLES_PER_MOVE: usize = 5;

/// Most ticket ids a move may keep.
pub const MAX_SAMPLES_PER_MOVE: usize = 100;

/// Progress is reported every this many tickets read.
pub const PROGRESS_EVERY: u64 = 1_000;

/// Which stored tickets to re-classify; every bound is optional.
#[derive(Debug, Clone, Default)]
pub struct BacktestFilter {
    /// Only tickets ingested at or after this.
    pub ingested_from: Option<UnixMicros>,
    /// Only tickets ingested before this.
    pub ingested_before: Option<UnixMicros>,
    /// Only tickets now in this queue.
    pub queue: Option<String>,
    /// Only tickets the rules put on this side.
    pub side: Option<Side>,
}

impl BacktestFilter {
    fn admits(&self, ticket: &Ticket) -> bool {
        self.ingested_from.is_none_or(|from| ticket.ingested_at >= from)
            && self
                .ingested_before
                .is_none_or(|before| ticket.ingested_at < before)
            && self
                .queue
                .as_ref()
                .is_none_or(|queue| ticket.classification.queue == *queue)
            && self.side.is_none_or(|side| ticket.classification.side == side)
    }
}

/// Where a ticket is routed: side, category and queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Placement {
    /// Reactive, proactive or unclassified.
    pub side: Side,
    /// The category (empty when none).
    pub category: String,
    /// The queue.
    pub queue: String,
}

impl Placement {
    /// Where `classification` routes a ticket.
    pub fn of(classification: &Classification) -> Placement {
        Placement {
            side: classification.side,
            category: classification.category.clone(),
            queue: classification.queue.clone(),
        }
    }
}

/// Tickets that move from one placement to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// Where they are now (the stored classification; the queue is the
    /// ticket's current one).
    pub from: Placement,
    /// Where the candidate puts them.
    pub to: Placement,
    /// How many.
    pub count: u64,
    /// The first few of them, in id order.
    pub samples: Vec<TicketId>,
}

/// Moves counted as they are found, each keeping its first few ticket ids.
#[derive(Debug, Default)]
pub struct MoveTally {
    samples_per_move: usize,
    moves: HashMap<(Placement, Placement), (u64, Vec<TicketId>)>,
}

impl MoveTally {
    /// An empty tally keeping up to `samples_per_move` ids per move.
    pub fn new(samples_per_move: usize) -> MoveTally {
        MoveTally {
            samples_per_move: samples_per_move.min(MAX_SAMPLES_PER_MOVE),
            moves: HashMap::new(),
        }
    }

    /// Counts ticket `id` moving from `from` to `to`.
    pub fn add(&mut self, from: Placement, to: Placement, id: TicketId) {
        let (count, samples) = self.moves.entry((from, to)).or_default();
        *count += 1;
        if samples.len() < self.samples_per_move {
            samples.push(id);
        }
    }

    /// Every move, most tickets first (then by their first ids).
    pub fn into_moves(self) -> Vec<Move> {
        let mut moves: Vec<Move> = self
            .moves
            .into_iter()
            .map(|((from, to), (count, samples))| Move {
                from,
                to,
                count,
                samples,
            })
            .collect();
        moves.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.samples.cmp(&b.samples)));
        moves
    }
}

/// How far a backtest has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Tickets read.
    pub scanned: u64,
    /// Of those, tickets the filter admitted and that were re-classified.
    pub matched: u64,
    /// Of those, tickets the candidate places differently.
    pub changed: u64,
}

/// What a backtest found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktestReport {
    /// The candidate's version.
    pub candidate_version: String,
    /// The final counts.
    pub progress: Progress,
    /// Every move, most tickets first (then by placement).
    pub moves: Vec<Move>,
}

/// Re-classifies the stored tickets `filter` admits with `candidate`, as of
/// each ticket's ingest (its text as ingested; the customer's tickets
/// ingested before it as history, read through `history`). `progress` is
/// called every [`PROGRESS_EVERY`] tickets; when it returns `false` the
/// backtest stops and answers `None`.
pub fn backtest(
    store: &dyn TicketStore,
    candidate: &RuleSet,
    filter: &BacktestFilter,
    samples_per_move: usize,
    history: &dyn Fn(&Ticket) -> Result<CustomerHistory, Error>,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Option<BacktestReport>, Error> {
    let mut counts = Progress {
        scanned: 0,
        matched: 0,
        changed: 0,
    };
    let mut moves = MoveTally::new(samples_per_move);
    for ticket in store.scan_tickets() {
        let ticket = ticket?;
        counts.scanned += 1;
        if counts.scanned.is_multiple_of(PROGRESS_EVERY) && !progress(counts) {
            return Ok(None);
        }
        if !filter.admits(&ticket) {
            continue;
        }
        counts.matched += 1;
        let prior = if candidate.reads_history() {
            history(&ticket)?
        } else {
            CustomerHistory::default()
        };
        let now = candidate.classify(&ticket.input, &prior, ticket.ingested_at);
        let from = Placement::of(&ticket.classification);
        let to = Placement::of(&now);
        if from == to {
            continue;
        }
        counts.changed += 1;
        moves.add(from, to, ticket.id);
    }
    Ok(Some(BacktestReport {
        candidate_version: candidate.version().to_string(),
        progress: counts,
        moves: moves.into_moves(),
    }))
}
