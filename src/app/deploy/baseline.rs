//! The yardstick of the soak window, taken as the production deploy starts: the gauges of
//! the environment being deployed, journaled before the deploy's own start.

use std::collections::BTreeMap;

use crate::app::{App, Command};
use crate::release::action::Action;
use crate::release::event::Event;
use crate::release::soak;

/// Before the production deploy starts: the gauges now are what "degraded" is measured
/// against. Taken once per release, from the environment being deployed.
pub fn capture(app: &mut App, env: &str, action: &Action) -> Vec<Command> {
    let Some(release) = &app.release else {
        return Vec::new();
    };
    let protected = app.config.environment(env).is_some_and(|e| e.protected);
    if !protected
        || !matches!(action, Action::Deploy { .. })
        || release.soak.baseline.is_some()
        || soak::window(release, &app.config).is_some()
    {
        return Vec::new();
    }
    let Some(board) = app.boards.get_mut(env) else {
        return Vec::new();
    };
    board.capture_baseline(app.now);
    let gauges: BTreeMap<String, f64> = board
        .gauges
        .values()
        .filter_map(|g| g.baseline.as_ref().map(|b| (g.name.to_string(), b.value)))
        .collect();
    vec![Command::Record(Event::BaselineCaptured {
        env: env.to_string(),
        gauges,
    })]
}
