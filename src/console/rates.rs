//! Arrival and completion rates per queue, from the running totals the
//! event bus keeps ([`App::queue_totals`]): a sample every
//! [`SAMPLE_EVERY`], and the rate since the oldest sample of the last
//! [`WINDOW`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::app::App;
use crate::events::QueueTotals;
use crate::shutdown::Shutdown;

/// How far back a rate looks.
pub const WINDOW: Duration = Duration::from_secs(300);

/// How often the totals are sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// One queue's rates, per minute.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueRate {
    /// Tickets entering the queue.
    pub arrivals: f64,
    /// Tickets completed from it.
    pub completions: f64,
}

/// Rates of every queue, and the span they were measured over.
#[derive(Debug, Clone, Default)]
pub struct RateView {
    /// How long the rates average over; zero before the first sample.
    pub span: Duration,
    by_queue: HashMap<String, QueueRate>,
}

impl RateView {
    /// The rates of `queue` (zero when nothing happened in it).
    pub fn of(&self, queue: &str) -> Option<QueueRate> {
        if self.span.is_zero() {
            return None;
        }
        Some(self.by_queue.get(queue).copied().unwrap_or_default())
    }
}

#[derive(Debug)]
struct Sample {
    at: Instant,
    totals: HashMap<String, QueueTotals>,
}

/// The samples of the last [`WINDOW`] (and one before it, the baseline).
/// A std mutex: held for a push or a read, never across an await.
#[derive(Debug, Default)]
pub struct Rates {
    samples: Mutex<VecDeque<Sample>>,
}

impl Rates {
    /// Records `totals` as of `at`, dropping samples no rate needs.
    pub fn sample(&self, at: Instant, totals: HashMap<String, QueueTotals>) {
        let mut samples = self
            .samples
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        samples.push_back(Sample { at, totals });
        while samples
            .get(1)
            .is_some_and(|second| at.saturating_duration_since(second.at) >= WINDOW)
        {
            samples.pop_front();
        }
    }

    /// The rates from the oldest sample kept to `totals` at `now`.
    pub fn view(&self, now: Instant, totals: &HashMap<String, QueueTotals>) -> RateView {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(base) = samples.front() else {
            return RateView::default();
        };
        let span = now.saturating_duration_since(base.at);
        if span < Duration::from_secs(1) {
            return RateView::default();
        }
        let minutes = span.as_secs_f64() / 60.0;
        let by_queue = totals
            .iter()
            .map(|(queue, now)| {
                let before = base.totals.get(queue).copied().unwrap_or_default();
                let rate = QueueRate {
                    arrivals: now.added.saturating_sub(before.added) as f64 / minutes,
                    completions: now.completed.saturating_sub(before.completed) as f64 / minutes,
                };
                (queue.clone(), rate)
            })
            .collect();
        RateView { span, by_queue }
    }

    /// Samples `app`'s totals every [`SAMPLE_EVERY`] until `shutdown`.
    pub async fn run(self: Arc<Self>, app: Arc<App>, mut shutdown: Shutdown) {
        let mut ticks = tokio::time::interval(SAMPLE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                _ = ticks.tick() => self.sample(Instant::now(), app.queue_totals()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(added: u64, completed: u64) -> HashMap<String, QueueTotals> {
        HashMap::from([("billing".to_string(), QueueTotals { added, completed })])
    }

    #[test]
    fn rates_are_per_minute_since_the_oldest_sample_of_the_window() {
        let rates = Rates::default();
        let start = Instant::now();
        assert!(
            rates.view(start, &totals(0, 0)).of("billing").is_none(),
            "no sample yet"
        );
        rates.sample(start, totals(0, 0));
        let view = rates.view(start + Duration::from_secs(120), &totals(10, 4));
        assert_eq!(
            view.of("billing"),
            Some(QueueRate {
                arrivals: 5.0,
                completions: 2.0
            })
        );
        assert_eq!(view.of("other"), Some(QueueRate::default()));
        for minute in 1..=10 {
            rates.sample(start + Duration::from_secs(60 * minute), totals(minute * 6, 0));
        }
        let later = rates.view(start + Duration::from_secs(600), &totals(60, 0));
        assert_eq!(later.span, WINDOW, "older samples were dropped");
        assert_eq!(later.of("billing").map(|rate| rate.arrivals), Some(6.0));
    }
}
