//! `update`, and the features it routes to, are the only code that changes `App` once the
//! cockpit runs: each message, key intent and dialog answer goes to its feature. Pure: no I/O, no awaits; effects leave
//! as `Command`s.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::describe::{describe, event_name, level_of};
use super::dialog::{self, Outcome};
use super::keymap::{self, Intent};
use super::{
    Answer, App, Command, Level, Msg, Pane, approvals, checklist, deploy, navigation, record,
    releases, shared, soak,
};
use crate::release::journal::Followed;

pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) => Vec::new(),
        Msg::Mouse(m) => {
            navigation::on_mouse(app, m);
            Vec::new()
        }
        Msg::Shutdown(why) => {
            app.log(Level::Warn, format!("closing: {why}"));
            app.quit = true;
            Vec::new()
        }
        Msg::Continued => Vec::new(),
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
            let mut commands = deploy::after_recorded(app, &entry);
            commands.extend(soak::after_recorded(app, &entry));
            commands
        }
        Msg::Followed(Followed::Appended(entry)) => {
            // Another cockpit's decision: shown and folded. What it set off (an alert,
            // releases.log) is that cockpit's to do, not this one's.
            let line = describe(app, &entry);
            if let Some(release) = &mut app.release {
                release.apply(&entry);
            }
            app.log(
                level_of(&entry.event),
                format!("{line} (from another cockpit)"),
            );
            Vec::new()
        }
        Msg::Followed(Followed::Broken(why)) => {
            app.log(
                Level::Error,
                format!(
                    "the shared journal no longer checks out: {why}; this cockpit is read-only"
                ),
            );
            app.journal_broken = Some(why);
            Vec::new()
        }
        Msg::Followed(Followed::Repaired) => shared::on_repaired(app),
        Msg::RecordAgain(event) => record::record(app, event),
        Msg::Role { role, driver } => match shared::on_role(app, role, driver) {
            Some(takeover) => {
                // Who drives now, and why, in the journal; then the driver's cockpit
                // follows what the journal has in flight: this one now.
                let mut commands = record::record(app, takeover);
                commands.extend(deploy::resume_in_flight(app));
                commands
            }
            None => Vec::new(),
        },
        Msg::Presence { driver, present } => shared::on_presence(app, driver, present),
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
            releases::on_opened(app, state, releases, notice);
            soak::restore(app);
            deploy::resume_in_flight(app)
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
        Msg::Permissions { env, denied } => {
            if !denied.is_empty() {
                let what: Vec<String> = denied.iter().map(|r| r.describe()).collect();
                app.log(
                    Level::Warn,
                    format!(
                        "{} may not {} (the API server's answer)",
                        app.identity.author.name,
                        what.join(", or ")
                    ),
                );
            }
            app.denied.insert(env, denied);
            Vec::new()
        }
        Msg::Watching { env } => {
            deploy::on_watching(app, &env);
            Vec::new()
        }
        Msg::Cluster(u) => {
            deploy::on_cluster(app, u);
            Vec::new()
        }
        Msg::Task(t) => deploy::on_task(app, t),
        Msg::ActionRefused { task, why } => {
            deploy::on_refused(app, task, why);
            Vec::new()
        }
        Msg::CheckOutput { item, line } => {
            checklist::on_check_output(app, item, line);
            Vec::new()
        }
        Msg::CheckDone {
            version,
            item,
            outcome,
        } => checklist::on_check_done(app, version, item, outcome),
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    if let Some(modal) = &mut app.modal {
        return match dialog::handle_key(modal, key) {
            Outcome::Stay => Vec::new(),
            Outcome::Cancel => {
                app.modal = None;
                Vec::new()
            }
            Outcome::Submit { then, text } => on_answer(app, then, text),
        };
    }
    match keymap::intent_for(key, app.panic_key) {
        Some(intent) => on_intent(app, intent),
        None => Vec::new(),
    }
}

fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    match intent {
        Intent::Navigation(i) => navigation::on_intent(app, i),
        Intent::Checklist(i) => checklist::on_intent(app, i),
        Intent::Approvals(i) => approvals::on_intent(app, i),
        Intent::Releases(i) => releases::on_intent(app, i),
        Intent::Deploy(i) => deploy::on_intent(app, i),
        Intent::Soak(i) => soak::on_intent(app, i),
        Intent::Shared(i) => shared::on_intent(app, i),
        Intent::Activate => match app.focus {
            Pane::Checklist => checklist::on_intent(app, checklist::Intent::Toggle),
            Pane::Runbook => deploy::on_intent(app, deploy::Intent::RunSelected),
            _ => Vec::new(),
        },
        Intent::ForcePanic => vec![Command::ForcePanic],
    }
}

fn on_answer(app: &mut App, answer: Answer, text: String) -> Vec<Command> {
    match answer {
        Answer::Record(event) => record::record_from_dialog(app, event),
        Answer::Navigation(a) => navigation::on_answer(app, a),
        Answer::Checklist(a) => checklist::on_answer(app, a, text),
        Answer::Approvals(a) => approvals::on_answer(app, a, text),
        Answer::Releases(a) => releases::on_answer(app, a, text),
        Answer::Deploy(a) => deploy::on_answer(app, a, text),
        Answer::Soak(a) => soak::on_answer(app, a, text),
        Answer::Shared(a) => shared::on_answer(app, a),
    }
}
