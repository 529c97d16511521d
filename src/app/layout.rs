//! Where each pane goes. Pure, so `update` can map a mouse click to the pane under it with
//! the very rectangles `draw` used.

use ratatui::layout::{Constraint, Layout, Rect};

use super::Pane;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Areas {
    pub status: Rect,
    pub gates: Option<Rect>,
    pub checklist: Option<Rect>,
    pub runbook: Option<Rect>,
    pub rollout: Option<Rect>,
    pub timeline: Option<Rect>,
    pub tasks: Option<Rect>,
    pub footer: Rect,
}

impl Areas {
    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        match pane {
            Pane::Checklist => self.checklist,
            Pane::Runbook => self.runbook,
            Pane::Rollout => self.rollout,
            Pane::Timeline => self.timeline,
            Pane::Tasks => self.tasks,
        }
    }
}

/// Steps and stage headings of the default runbook.
const RUNBOOK_ROWS: u16 = 14;

/// `zoom` gives the whole body to one pane; the gates stay visible either way.
pub fn areas(area: Rect, zoom: Option<Pane>) -> Areas {
    let [status, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut out = Areas {
        status,
        gates: None,
        checklist: None,
        runbook: None,
        rollout: None,
        timeline: None,
        tasks: None,
        footer,
    };
    let tall = area.height >= 40;
    let log_height = if tall { 10 } else { 5 };
    if let Some(pane) = zoom {
        let [gates, main] =
            Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(body);
        out.gates = Some(gates);
        match pane {
            Pane::Checklist => out.checklist = Some(main),
            Pane::Runbook => out.runbook = Some(main),
            Pane::Rollout => out.rollout = Some(main),
            Pane::Timeline => out.timeline = Some(main),
            Pane::Tasks => out.tasks = Some(main),
        }
        return out;
    }
    let [upper, tasks] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(log_height)]).areas(body);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(upper);
    let gate_height = if tall { 12 } else { 9 };
    let [gates, rollout, timeline] = Layout::vertical([
        Constraint::Length(gate_height),
        Constraint::Ratio(1, 2),
        Constraint::Ratio(1, 2),
    ])
    .areas(right);
    // The runbook's dozen steps under the checklist; the checklist keeps the rest.
    let runbook_height = if tall {
        (RUNBOOK_ROWS + 2).min(left.height / 2)
    } else {
        (left.height / 3).max(5)
    };
    let [checklist, runbook] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(runbook_height)]).areas(left);
    out.checklist = Some(checklist);
    out.runbook = Some(runbook);
    out.gates = Some(gates);
    out.rollout = Some(rollout);
    out.timeline = Some(timeline);
    out.tasks = Some(tasks);
    out
}
