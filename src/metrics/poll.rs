//! Reading an environment's metrics source on a steady beat, for as long as somebody
//! listens. Every environment has its own poller, so a slow source for one never delays
//! another, and the soak window's environment is read whichever one is on screen.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::source::{MetricSource, Reading, Readings};
use crate::sink::Sink;
use cockpit_clock::Clock;

/// How often a metrics source is read (wall time).
pub const METRICS_POLL: Duration = Duration::from_secs(1);

/// One poll: when (the cockpit's clock), and what each gauge read.
pub type Poll = (DateTime<Utc>, Readings);

/// Reads `source` every `METRICS_POLL` until `sink` says nobody listens. An environment
/// without a source still reports, every gauge as "no data", so the screen says why.
pub async fn poll_metrics(
    mut source: Option<Box<dyn MetricSource>>,
    env: String,
    clock: Arc<dyn Clock>,
    sink: Sink<Poll>,
) {
    let mut interval = tokio::time::interval(METRICS_POLL);
    // A poll that overran (a source timing out) is not made up for with a burst.
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let at = clock.now();
        let readings = match &mut source {
            Some(s) => s.poll(at).await,
            None => super::config_gauges()
                .map(|g| {
                    (
                        g.to_string(),
                        Reading::no_data(format!("no metrics source for {env}")),
                    )
                })
                .collect(),
        };
        if !sink((at, readings)) {
            return;
        }
    }
}
