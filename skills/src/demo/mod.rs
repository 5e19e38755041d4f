//! The embedded default backend: a simulated estate, in-process, so pipilu runs and
//! its tests pass with no accounts and no network.
//!
//! Services, logs, metrics, dashboards and firewalls all read one shared state.
//! Values move with time (smooth functions of elapsed time plus seeded noise) and
//! actions have effects: a restart shows on the next health card, in the logs
//! and in the graphs. With a fixed clock and seed everything is repeatable.

mod catalog;
mod estate;
mod firewalls;
mod graphs;
mod logs;
mod metrics;
mod noise;
mod services;

use crate::backends::Backends;
use chrono::{DateTime, Utc};
use estate::Estate;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Backend name shown in error cards and footers.
pub const BACKEND_NAME: &str = "demo";

/// Where "now" comes from; tests pass a fixed or steerable clock.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The simulated estate. Share it in an `Arc` and hand out [`DemoEstate::backends`].
pub struct DemoEstate {
    seed: u64,
    start: DateTime<Utc>,
    clock: Clock,
    state: RwLock<Estate>,
}

impl DemoEstate {
    /// An estate that starts now and follows the wall clock.
    pub fn new(seed: u64) -> Self {
        Self::with_clock(seed, Utc::now(), Arc::new(Utc::now))
    }

    /// An estate with a given start and clock, for repeatable tests.
    pub fn with_clock(seed: u64, start: DateTime<Utc>, clock: Clock) -> Self {
        DemoEstate { seed, start, clock, state: RwLock::new(Estate::new(start)) }
    }

    /// The five backends, all reading and changing this one estate.
    pub fn backends(self: &Arc<Self>) -> Backends {
        Backends {
            services: Arc::new(services::DemoServices(Arc::clone(self))),
            metrics: Arc::new(metrics::DemoMetrics(Arc::clone(self))),
            logs: Arc::new(logs::DemoLogs(Arc::clone(self))),
            graphs: Arc::new(graphs::DemoGraphs(Arc::clone(self))),
            firewalls: Arc::new(firewalls::DemoFirewalls(Arc::clone(self))),
        }
    }

    /// The estate's current time.
    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Reads the state. A panic elsewhere while writing leaves it consistent
    /// (every write is a single push), so a poisoned lock is still usable.
    fn read(&self) -> RwLockReadGuard<'_, Estate> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the state; see [`DemoEstate::read`] on poisoning.
    fn write(&self) -> RwLockWriteGuard<'_, Estate> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for DemoEstate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoEstate").field("seed", &self.seed).field("start", &self.start).finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A demo estate on a clock the test moves by hand.

    use super::*;
    use chrono::{Duration, TimeZone};
    use std::sync::Mutex;

    /// An estate's backends and the hand-moved clock.
    pub(crate) struct Fixture {
        pub backends: Backends,
        time: Arc<Mutex<DateTime<Utc>>>,
    }

    /// Width and height from a PNG's IHDR, after checking the signature.
    pub(crate) fn png_size(png: &[u8]) -> Option<(u32, u32)> {
        const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if png.get(..8)? != SIGNATURE || png.get(12..16)? != b"IHDR" {
            return None;
        }
        let be = |r: std::ops::Range<usize>| png.get(r).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
        Some((be(16..20)?, be(20..24)?))
    }

    /// 2025-03-14 10:00:00 UTC, the start of every test estate.
    pub(crate) fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 10, 0, 0).single().unwrap()
    }

    impl Fixture {
        /// A fresh estate with seed 42 starting at [`t0`].
        pub(crate) fn new() -> Fixture {
            Fixture::with_seed(42)
        }

        /// A fresh estate with this seed starting at [`t0`].
        pub(crate) fn with_seed(seed: u64) -> Fixture {
            let time = Arc::new(Mutex::new(t0()));
            let reader = Arc::clone(&time);
            let clock: Clock = Arc::new(move || *reader.lock().unwrap());
            let estate = Arc::new(DemoEstate::with_clock(seed, t0(), clock));
            let backends = estate.backends();
            Fixture { backends, time }
        }

        /// The clock's time.
        pub(crate) fn now(&self) -> DateTime<Utc> {
            *self.time.lock().unwrap()
        }

        /// Moves the clock forward.
        pub(crate) fn advance(&self, by: Duration) {
            *self.time.lock().unwrap() += by;
        }
    }
}
