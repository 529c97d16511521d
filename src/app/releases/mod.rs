//! Which release is open: a new one (version, then type), another from the state dir, and
//! what follows when one opens.

use super::dialog::{Choice, Input, Pick};
use super::record::refuse_in_dialog;
use super::{Answer, App, Command, Level, Modal};
use crate::config::Config;
use crate::release::state::ReleaseState;
use crate::release::store::parse_version;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    NewRelease,
    OpenRelease,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReleaseAnswer {
    NewVersion,
    /// A new release of `version`, created as `release_type`.
    Create {
        version: String,
        release_type: String,
    },
    Open {
        version: String,
    },
}

/// The release types to choose from; `current` is shown but cannot be chosen again.
pub fn type_options(
    config: &Config,
    current: Option<&str>,
    then: impl Fn(String) -> Answer,
) -> Vec<Choice<Answer>> {
    config
        .release_types
        .iter()
        .map(|t| {
            Choice::new(
                t.id.clone(),
                format!("{}: {}", t.title, t.purpose),
                then(t.id.clone()),
            )
            .disabled((Some(t.id.as_str()) == current).then(|| "current type".into()))
        })
        .collect()
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    if !app.tasks.is_empty() {
        app.log(
            Level::Warn,
            "actions are running: let them finish or cancel them (X) before switching releases",
        );
        return Vec::new();
    }
    if !app.running_checks.is_empty() {
        let names: Vec<&str> = app.running_checks.keys().map(String::as_str).collect();
        app.log(
            Level::Warn,
            format!(
                "checks are running ({}): let them finish or cancel them (x) before switching releases",
                names.join(", ")
            ),
        );
        return Vec::new();
    }
    match intent {
        Intent::NewRelease => {
            app.modal = Some(Modal::Input(Input::new(
                "New release",
                "Version (semver, such as 1.2.3)",
                ReleaseAnswer::NewVersion,
            )));
        }
        Intent::OpenRelease => open_menu(app),
    }
    Vec::new()
}

fn open_menu(app: &mut App) {
    if app.releases.is_empty() {
        app.log(
            Level::Warn,
            "no other release in the state dir: press n to create one",
        );
        return;
    }
    let current = app.release.as_ref().map(|r| r.version.clone());
    let options = app
        .releases
        .iter()
        .map(|v| {
            Choice::new(
                v.clone(),
                v.clone(),
                ReleaseAnswer::Open { version: v.clone() },
            )
            .disabled((Some(v) == current.as_ref()).then(|| "open now".into()))
        })
        .collect();
    app.modal = Some(Modal::Pick(Pick::new("Open release", options)));
}

pub fn on_answer(app: &mut App, answer: ReleaseAnswer, text: String) -> Vec<Command> {
    match answer {
        ReleaseAnswer::NewVersion => match parse_version(&text) {
            Ok(v) => {
                let version = v.to_string();
                if app.releases.contains(&version) {
                    app.modal = None;
                    return vec![Command::OpenRelease {
                        version,
                        release_type: String::new(),
                    }];
                }
                let options = type_options(&app.config, None, |t| {
                    ReleaseAnswer::Create {
                        version: version.clone(),
                        release_type: t,
                    }
                    .into()
                });
                app.modal = Some(Modal::Pick(Pick::new(
                    format!("Release type of {version}"),
                    options,
                )));
                Vec::new()
            }
            Err(e) => {
                refuse_in_dialog(app, e.to_string());
                Vec::new()
            }
        },
        ReleaseAnswer::Create {
            version,
            release_type,
        } => {
            app.modal = None;
            vec![Command::OpenRelease {
                version,
                release_type,
            }]
        }
        ReleaseAnswer::Open { version } => {
            app.modal = None;
            vec![Command::OpenRelease {
                version,
                release_type: String::new(),
            }]
        }
    }
}

/// A release is open: its state replaces the last one's, and the panes start at the top.
pub fn on_opened(
    app: &mut App,
    state: ReleaseState,
    releases: Vec<String>,
    notice: Option<String>,
) {
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
}
