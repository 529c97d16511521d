//! The soak window in the cockpit: T+0 at the production deploy, checkpoints and their
//! acknowledgments, the rollback triggers (automatic and the procedure's human ones),
//! auto-rollback, and the verdict with its releases.log line.

mod verdict;
mod window;

pub use verdict::audit_record;
pub use window::{on_readings, on_tick, restore};

use super::dialog::{Choice, Confirm, Input, Pick};
use super::record::{no_release, record, record_from_dialog, refuse_in_dialog};
use super::{Answer, App, Command, Level, Modal};
use crate::release::event::{Entry, Event};
use crate::release::soak::{self, SoakVerdict, TriggerKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Acknowledge,
    ManualTrigger,
    AutoRollback,
    DeclareStable,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SoakAnswer {
    /// A human trigger chosen; what is broken is asked next.
    Trigger(TriggerKind),
    TriggerReason {
        kind: TriggerKind,
    },
    StableReason,
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    match intent {
        Intent::Acknowledge => return acknowledge(app),
        Intent::ManualTrigger => manual_trigger_menu(app),
        Intent::AutoRollback => toggle_auto_rollback(app),
        Intent::DeclareStable => verdict::declare_stable(app),
    }
    Vec::new()
}

pub fn on_answer(app: &mut App, answer: SoakAnswer, text: String) -> Vec<Command> {
    match answer {
        SoakAnswer::Trigger(kind) => {
            app.modal = Some(Modal::Input(Input::new(
                kind.title().to_string(),
                "What is broken? (journaled; the rollback is offered next)",
                SoakAnswer::TriggerReason { kind },
            )));
            Vec::new()
        }
        SoakAnswer::TriggerReason { kind } => {
            if text.trim().is_empty() {
                refuse_in_dialog(
                    app,
                    "say what is broken: it is the rollback's reason".into(),
                );
                return Vec::new();
            }
            app.modal = None;
            record(
                app,
                Event::TriggerFired {
                    trigger: kind,
                    detail: text.trim().to_string(),
                },
            )
        }
        SoakAnswer::StableReason => record_from_dialog(
            app,
            Event::Concluded {
                verdict: SoakVerdict::Stable {
                    reason: Some(text.trim().to_string()),
                },
            },
        ),
    }
}

/// What follows a journaled event: the alert or auto-rollback after a trigger, the
/// conclusion after a rollback in the window, releases.log after the conclusion.
pub fn after_recorded(app: &mut App, entry: &Entry) -> Vec<Command> {
    match &entry.event {
        Event::TriggerFired { trigger, detail } => window::on_trigger(app, *trigger, detail),
        Event::ActionFinished { task, outcome } if outcome.ok => {
            verdict::after_rollback(app, *task)
        }
        Event::Concluded { .. } => verdict::after_conclusion(app, entry),
        _ => Vec::new(),
    }
}

/// `T`: the procedure's human triggers, with a reason.
fn manual_trigger_menu(app: &mut App) {
    if app.release.is_none() {
        no_release(app);
        return;
    }
    if window::watched_window(app).is_none() {
        app.log(
            Level::Warn,
            "rollback triggers watch the soak window, which opens with the production deploy",
        );
        return;
    }
    let options = TriggerKind::MANUAL
        .iter()
        .map(|k| Choice::new(format!("{k:?}"), k.title(), SoakAnswer::Trigger(*k)))
        .collect();
    app.modal = Some(Modal::Pick(Pick::new("Manual rollback trigger", options)));
}

/// `A`: arms or disarms auto-rollback for this release.
fn toggle_auto_rollback(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    let armed = release.soak.auto_rollback.is_none();
    let body = if armed {
        vec![
            "When an automatic trigger fires in the soak window, roll back at once".into(),
            "(undo to the previous revision), without asking. At most once; never on".into(),
            "missing data.".into(),
        ]
    } else {
        vec!["Triggers will ask before rolling back.".into()]
    };
    app.modal = Some(Modal::Confirm(Confirm::new(
        if armed {
            "Arm auto-rollback?"
        } else {
            "Disarm auto-rollback?"
        },
        body,
        Answer::Record(Event::AutoRollbackSet { armed }),
    )));
}

/// `K`: acknowledges the latest checkpoint whose minute has come.
fn acknowledge(app: &mut App) -> Vec<Command> {
    let Some(release) = &app.release else {
        no_release(app);
        return Vec::new();
    };
    let Some(w) = soak::window(release, &app.config) else {
        app.log(
            Level::Warn,
            "no soak window yet: it opens with the production deploy",
        );
        return Vec::new();
    };
    let due = soak::checkpoints(release, &app.config)
        .into_iter()
        .rev()
        .find(|c| c.due(&w, app.now) && c.acknowledged.is_none());
    match due {
        Some(c) => record(
            app,
            Event::CheckpointAcknowledged {
                at_minutes: c.at_minutes,
                note: None,
            },
        ),
        None => {
            app.log(Level::Info, "no checkpoint waits for an acknowledgment");
            Vec::new()
        }
    }
}
