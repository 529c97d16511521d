//! Time is injected so a two-hour soak window can be tested in milliseconds and the demo can
//! run faster than the wall clock.

use std::sync::{Arc, Mutex};

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

/// Simulated time running `speed` times faster than the wall clock from `start`.
pub struct ScaledClock {
    start_wall: DateTime<Utc>,
    start_sim: DateTime<Utc>,
    speed: f64,
}

impl ScaledClock {
    pub fn new(start_sim: DateTime<Utc>, speed: f64) -> Self {
        Self {
            start_wall: Utc::now(),
            start_sim,
            speed,
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Utc::now() - self.start_wall;
        let scaled = elapsed.num_microseconds().unwrap_or(i64::MAX) as f64 * self.speed;
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
