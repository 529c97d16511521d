//! Time is injected so a two-hour soak window can be tested in milliseconds and the demo can
//! run faster than the wall clock.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Simulated time running `speed` times faster than the wall clock from `start_sim`: the
/// present for a fresh demo, or the time a saved sandbox had reached, to resume from it.
pub struct ScaledClock {
    /// Monotonic, so simulated time never steps back when the system clock is set back.
    start_wall: Instant,
    start_sim: DateTime<Utc>,
    speed: f64,
}

impl ScaledClock {
    pub fn new(start_sim: DateTime<Utc>, speed: f64) -> Self {
        Self {
            start_wall: Instant::now(),
            start_sim,
            speed,
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.start_wall.elapsed();
        let scaled = elapsed.as_micros() as f64 * self.speed;
        self.start_sim + Duration::microseconds(scaled as i64)
    }
}

/// A clock tests move by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}
