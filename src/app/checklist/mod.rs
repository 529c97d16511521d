//! The checklist: ticking, unticking (confirmed), waiving with a reason, folding phases,
//! and running an item's check command.

mod checks;
mod rows;

pub use checks::{on_check_done, on_check_output};
pub use rows::{ChecklistView, Row, row_count, rows, scroll_offset, selected_row};

use super::dialog::{Confirm, Input};
use super::record::{no_release, record, record_from_dialog};
use super::{Answer, App, Command, Level, Modal};
use crate::release::event::Event;

/// What a key asks of the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Tick the selected item (untick, confirmed, if it is settled), or fold its phase.
    Toggle,
    Waive,
    RunCheck,
    CancelCheck,
    Collapse,
    Expand,
}

/// What a checklist dialog's answer is for.
#[derive(Debug, Clone, PartialEq)]
pub enum ChecklistAnswer {
    WaiveReason { item: String },
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    match intent {
        Intent::Toggle => return toggle(app),
        Intent::Waive => {
            if let Some(item) = selected_item(app) {
                app.modal = Some(Modal::Input(Input::new(
                    format!("Waive {item}"),
                    "Why is it safe to skip? (recorded in the journal)",
                    ChecklistAnswer::WaiveReason { item },
                )));
            }
        }
        Intent::RunCheck => {
            return match selected_item(app) {
                Some(item) => checks::run(app, item),
                None => Vec::new(),
            };
        }
        Intent::CancelCheck => {
            if let Some(item) = selected_item(app) {
                return checks::cancel(app, item);
            }
        }
        Intent::Collapse => toggle_fold(app, Some(true)),
        Intent::Expand => toggle_fold(app, Some(false)),
    }
    Vec::new()
}

pub fn on_answer(app: &mut App, answer: ChecklistAnswer, text: String) -> Vec<Command> {
    match answer {
        ChecklistAnswer::WaiveReason { item } => {
            record_from_dialog(app, Event::ItemWaived { item, reason: text })
        }
    }
}

fn selected_item(app: &mut App) -> Option<String> {
    match selected_row(app) {
        Some(Row::Item { id, .. }) => Some(id),
        Some(Row::Phase { .. }) => {
            app.log(Level::Warn, "select a checklist item first (j/k to move)");
            None
        }
        None => {
            no_release(app);
            None
        }
    }
}

fn toggle(app: &mut App) -> Vec<Command> {
    match selected_row(app) {
        Some(Row::Phase { .. }) => {
            toggle_fold(app, None);
            Vec::new()
        }
        Some(Row::Item {
            id, state, text, ..
        }) => {
            if app.running_checks.contains_key(&id) {
                app.log(
                    Level::Warn,
                    format!("{id}: its check is still running (x cancels it)"),
                );
                Vec::new()
            } else if state.status.is_settled() {
                app.modal = Some(Modal::Confirm(Confirm::new(
                    format!("Untick {id}?"),
                    vec![
                        text,
                        "It will count as open again and may block a deploy.".into(),
                    ],
                    Answer::Record(Event::ItemUnticked { item: id }),
                )));
                Vec::new()
            } else {
                record(app, Event::ItemTicked { item: id })
            }
        }
        None => {
            no_release(app);
            Vec::new()
        }
    }
}

fn toggle_fold(app: &mut App, want_folded: Option<bool>) {
    let Some(row) = selected_row(app) else { return };
    let phase_id = match &row {
        Row::Phase { id, folded, .. } => {
            if want_folded.is_some_and(|w| w == *folded) {
                return;
            }
            id.clone()
        }
        Row::Item { id, .. } => {
            if want_folded == Some(false) {
                return;
            }
            app.config
                .procedure
                .item(id)
                .map(|(p, _)| p.id.clone())
                .unwrap_or_default()
        }
    };
    if !app.collapsed_phases.insert(phase_id.clone()) {
        app.collapsed_phases.remove(&phase_id);
    }
    // Keep the cursor on the phase header that was folded.
    if let Some(release) = &app.release {
        let rows = rows(&app.config, release, &app.collapsed_phases);
        if let Some(i) = rows
            .iter()
            .position(|r| matches!(r, Row::Phase { id, .. } if *id == phase_id))
            && (matches!(row, Row::Item { .. }) || want_folded.is_none())
        {
            app.checklist.selected = i;
        }
    }
}
