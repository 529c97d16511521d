//! Where each phase of the checklist stands for a release: what the checklist pane and
//! `status --json` both show, computed in one place.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::gates::{item_settled, phase_applies};
use super::procedure::{Blocks, Phase};
use super::schedule::next_window;
use super::state::ReleaseState;
use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseProgress<'a> {
    #[serde(skip)]
    pub phase: &'a Phase,
    pub id: &'a str,
    pub title: &'a str,
    pub blocks: Blocks,
    /// False for the compliance phase of a release that does not touch regulated features.
    pub applies: bool,
    /// The release's type waits for this phase before the deploy it blocks.
    pub gating: bool,
    pub due: DateTime<Utc>,
    pub done: usize,
    pub total: usize,
}

/// The release window a release is working towards: the first one from its creation, so
/// due dates do not move on to the next fortnight once release day has passed.
pub fn release_window(config: &Config, release: &ReleaseState) -> DateTime<Utc> {
    next_window(&config.schedule, release.created.at)
}

pub fn phases<'a>(config: &'a Config, release: &ReleaseState) -> Vec<PhaseProgress<'a>> {
    let window = release_window(config, release);
    let gating = config
        .release_type(&release.release_type)
        .map(|t| t.gating_phases.as_slice())
        .unwrap_or_default();
    config
        .procedure
        .phases
        .iter()
        .map(|phase| PhaseProgress {
            phase,
            id: &phase.id,
            title: &phase.title,
            blocks: phase.blocks,
            applies: phase_applies(release, phase.only_when),
            gating: gating.contains(&phase.id),
            due: window - Duration::days(phase.due_days_before),
            done: phase
                .items
                .iter()
                .filter(|i| item_settled(release, i))
                .count(),
            total: phase.items.len(),
        })
        .collect()
}
