//! Time as the service sees it. Everything that depends on "now" (ages,
//! leases, SLA deadlines) asks a [`Clock`], so tests can move time by hand
//! instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct UnixMicros(pub i64);

impl UnixMicros {
    /// This instant plus whole seconds.
    pub fn plus_seconds(self, seconds: u64) -> UnixMicros {
        let micros = i64::try_from(seconds.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        UnixMicros(self.0.saturating_add(micros))
    }

    /// Whole seconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn seconds_since(self, earlier: UnixMicros) -> u64 {
        u64::try_from(self.0.saturating_sub(earlier.0) / 1_000_000).unwrap_or(0)
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> UnixMicros;
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMicros {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_micros())
            .unwrap_or(0);
        UnixMicros(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to: for tests of leases and deadlines.
#[derive(Debug, Default)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: UnixMicros) -> Self {
        Self {
            micros: AtomicI64::new(start.0),
        }
    }

    /// Moves the clock forward by whole seconds.
    pub fn advance_seconds(&self, seconds: u64) {
        let micros = i64::try_from(seconds.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }

    /// Sets the clock to `at`, backwards included (as NTP may step it).
    pub fn set(&self, at: UnixMicros) {
        self.micros.store(at.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMicros {
        UnixMicros(self.micros.load(Ordering::SeqCst))
    }
}
