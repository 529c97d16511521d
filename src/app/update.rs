//! The only code that changes `App`. Pure: no I/O, no awaits; effects leave as `Command`s.
//! Key actions, modal answers and the mouse each have a file of their own beside this one.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::describe::{describe, event_name, level_of};
use super::keymap;
use super::modal::{self, Modal, Outcome};
use super::{App, Command, Level, Msg, actions, mouse, operations, soak, submit};
use crate::release::event::Event;
use crate::release::rules;

pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) => Vec::new(),
        Msg::Mouse(m) => {
            mouse::on_mouse(app, m);
            Vec::new()
        }
        Msg::Shutdown(why) => {
            app.log(Level::Warn, format!("closing: {why}"));
            app.quit = true;
            Vec::new()
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Msg::Tick(now) => {
            app.now = now;
            soak::on_tick(app)
        }
        Msg::Readings { env, at, readings } => soak::on_readings(app, &env, at, &readings),
        Msg::AuditFailed(e) => {
            app.log(Level::Error, format!("releases.log NOT written: {e}"));
            Vec::new()
        }
        Msg::Recorded(entry) => {
            let line = describe(app, &entry);
            if let Some(release) = &mut app.release {
                release.apply(&entry);
            }
            app.log(level_of(&entry.event), line);
            soak::after_recorded(app, &entry)
        }
        Msg::RecordFailed { event, error } => {
            app.log(
                Level::Error,
                format!("NOT SAVED: {} ({error})", event_name(&event)),
            );
            Vec::new()
        }
        Msg::ReleaseOpened {
            state,
            releases,
            notice,
        } => {
            app.log(
                Level::Info,
                format!(
                    "release {} ({}) open, {} event{} in its journal",
                    state.version,
                    state.release_type,
                    state.events,
                    if state.events == 1 { "" } else { "s" }
                ),
            );
            if let Some(n) = notice {
                app.log(Level::Warn, n);
            }
            app.release = Some(state);
            app.releases = releases;
            app.collapsed_phases.clear();
            app.checklist.selected = 0;
            app.running_checks.clear();
            app.runbook_selected = 0;
            soak::restore(app);
            operations::resume_in_flight(app)
        }
        Msg::Connected { env, error } => {
            match error {
                Some(e) => {
                    app.log(Level::Warn, format!("no cluster for {env}: {e}"));
                    app.unreachable.insert(env, e);
                }
                None => {
                    app.unreachable.remove(&env);
                }
            }
            Vec::new()
        }
        Msg::Cluster(u) => {
            operations::on_cluster(app, u);
            Vec::new()
        }
        Msg::Task(t) => operations::on_task(app, t),
        Msg::ActionRefused { task, why } => {
            operations::on_refused(app, task, why);
            Vec::new()
        }
        Msg::NoRelease { releases } => {
            app.releases = releases;
            Vec::new()
        }
        Msg::Notice { level, text } => {
            app.log(level, text);
            Vec::new()
        }
        Msg::OpenFailed(e) => {
            app.log(Level::Error, e);
            Vec::new()
        }
        Msg::CheckOutput { item, line } => {
            if let Some(c) = app.running_checks.get_mut(&item) {
                c.last_line = Some(line.clone());
            }
            app.log(Level::Info, format!("[{item}] {line}"));
            Vec::new()
        }
        Msg::CheckDone {
            version,
            item,
            outcome,
        } => {
            app.running_checks.remove(&item);
            if app.release.as_ref().is_none_or(|r| r.version != version) {
                // Switching releases is refused while checks run; this is the guard if not.
                app.log(
                    Level::Warn,
                    format!("check {item} of release {version} finished after it was closed; not recorded"),
                );
                return Vec::new();
            }
            let verdict = match (outcome.exit_code, &outcome.error) {
                (Some(0), _) => "passed".to_string(),
                (Some(code), _) => format!("failed with exit status {code}"),
                (None, Some(e)) => format!("did not finish: {e}"),
                (None, None) => "did not finish".to_string(),
            };
            let level = if outcome.passed() {
                Level::Info
            } else {
                Level::Warn
            };
            app.log(level, format!("check {item} {verdict}"));
            record(app, Event::CheckFinished { item, outcome })
        }
    }
}

/// Records an event if the procedure allows it; otherwise says why not.
pub(super) fn record(app: &mut App, event: Event) -> Vec<Command> {
    let Some(release) = &app.release else {
        no_release(app);
        return Vec::new();
    };
    match rules::check(release, &app.config, &event) {
        Ok(()) => vec![Command::Record(event)],
        Err(why) => {
            app.log(Level::Warn, why);
            Vec::new()
        }
    }
}

pub(super) fn no_release(app: &mut App) {
    app.log(Level::Warn, "no release is open: press n to create one");
}

/// Like `record`, but a refusal stays in the open modal so the operator can correct it.
pub(super) fn record_from_modal(app: &mut App, event: Event) -> Vec<Command> {
    let refusal = match &app.release {
        None => Some("no release is open".to_string()),
        Some(r) => rules::check(r, &app.config, &event).err(),
    };
    match refusal {
        None => {
            app.modal = None;
            record(app, event)
        }
        Some(why) => {
            set_modal_error(app, why);
            Vec::new()
        }
    }
}

pub(super) fn set_modal_error(app: &mut App, why: String) {
    match &mut app.modal {
        Some(Modal::Input(i)) => i.error = Some(why),
        Some(Modal::Pick(p)) => p.error = Some(why),
        Some(Modal::Confirm(c)) => c.error = Some(why),
        _ => app.log(Level::Warn, why),
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    if let Some(modal) = &mut app.modal {
        return match modal::handle_key(modal, key) {
            Outcome::Stay => Vec::new(),
            Outcome::Cancel => {
                app.modal = None;
                Vec::new()
            }
            Outcome::Submit(value) => {
                let modal = app.modal.clone().expect("modal is open");
                submit::submit(app, modal, value)
            }
        };
    }
    match keymap::action_for(key, app.panic_key) {
        Some(action) => actions::on_action(app, action),
        None => Vec::new(),
    }
}
