//! Recording a decision: checked against the procedure's rules first, so a refusal is said
//! (in the log, or in the dialog that asked) and nothing reaches the journal.

use super::{App, Command, Level};
use crate::release::event::Event;
use crate::release::rules;

/// Records an event if the procedure allows it; otherwise says why not.
pub fn record(app: &mut App, event: Event) -> Vec<Command> {
    let Some(release) = &app.release else {
        no_release(app);
        return Vec::new();
    };
    match refusal(app, release, &event) {
        Ok(()) => vec![Command::Record(event)],
        Err(why) => {
            app.log(Level::Warn, why);
            Vec::new()
        }
    }
}

pub fn no_release(app: &mut App) {
    app.log(Level::Warn, "no release is open: press n to create one");
}

/// Like `record`, but a refusal stays in the open dialog so the operator can correct it.
pub fn record_from_dialog(app: &mut App, event: Event) -> Vec<Command> {
    let refusal = match &app.release {
        None => Some("no release is open".to_string()),
        Some(r) => refusal(app, r, &event).err(),
    };
    match refusal {
        None => {
            app.modal = None;
            record(app, event)
        }
        Some(why) => {
            refuse_in_dialog(app, why);
            Vec::new()
        }
    }
}

/// Says why in the open dialog (or the log, with none open), which stays open.
pub fn refuse_in_dialog(app: &mut App, why: String) {
    let shown = app.modal.as_mut().is_some_and(|m| m.set_error(why.clone()));
    if !shown {
        app.log(Level::Warn, why);
    }
}

/// The rules' answer, after the one refusal that is not theirs: a shared journal that no
/// longer checks out takes nothing until the driver decides.
fn refusal(
    app: &App,
    release: &crate::release::state::ReleaseState,
    event: &Event,
) -> Result<(), String> {
    if let Some(why) = super::shared::refusal(app, event) {
        return Err(why);
    }
    if let Some(why) = &app.journal_broken {
        return Err(format!(
            "refused: the shared journal no longer checks out ({why}); nothing is recorded until the driver decides"
        ));
    }
    rules::check(release, &app.config, &app.caller(), event)
}
