//! What an answered modal means: the prompt's text or the picker's choice becomes an event
//! to record, a follow-up modal, or a command.

use super::modal::{
    Confirm, ConfirmThen, Input, InputFor, Modal, Pick, PickFor, release_type_options,
};
use super::update::record;
use super::update::{record_from_modal, set_modal_error};
use super::{App, Command, Level, menus, operations, soak};
use crate::release::action::{Action, MigrationDirection, RollbackMethod};
use crate::release::event::{Event, GoNoGo};
use crate::release::rules;
use crate::release::store::parse_version;

pub(super) fn submit(app: &mut App, modal: Modal, value: String) -> Vec<Command> {
    match modal {
        Modal::Help { .. } => {
            app.modal = None;
            Vec::new()
        }
        Modal::Confirm(c) => match c.then {
            ConfirmThen::Record(event) => record_from_modal(app, event),
            ConfirmThen::Quit => {
                app.modal = None;
                app.quit = true;
                Vec::new()
            }
            ConfirmThen::Start { env, action } => operations::start(app, env, action),
        },
        Modal::Input(i) => submit_input(app, i.purpose, value),
        Modal::Pick(p) => submit_pick(app, p.purpose, value),
    }
}

fn submit_input(app: &mut App, purpose: InputFor, value: String) -> Vec<Command> {
    match purpose {
        InputFor::WaiveReason { item } => record_from_modal(
            app,
            Event::ItemWaived {
                item,
                reason: value,
            },
        ),
        InputFor::NoGoReason => record_from_modal(
            app,
            Event::Decision {
                verdict: GoNoGo::NoGo,
                reason: Some(value),
            },
        ),
        InputFor::TypeChangeReason { to } => record_from_modal(
            app,
            Event::TypeChanged {
                release_type: to,
                reason: value,
            },
        ),
        InputFor::ApproverName { role } => {
            record_from_modal(app, Event::Approved { role, name: value })
        }
        InputFor::CommitSha => record_from_modal(app, Event::CommitSet { commit_sha: value }),
        InputFor::TypedConfirmation {
            env,
            action,
            expect,
        } => {
            if value.split_whitespace().collect::<Vec<_>>().join(" ") == expect {
                operations::start(app, env, action)
            } else {
                set_modal_error(app, format!("type \"{expect}\" exactly, or Esc to cancel"));
                Vec::new()
            }
        }
        InputFor::TriggerReason { kind } => {
            if value.trim().is_empty() {
                set_modal_error(
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
                    detail: value.trim().to_string(),
                },
            )
        }
        InputFor::StableReason => record_from_modal(
            app,
            Event::Concluded {
                verdict: crate::release::soak::SoakVerdict::Stable {
                    reason: Some(value.trim().to_string()),
                },
            },
        ),
        InputFor::RollbackReason { method } => {
            if value.trim().is_empty() {
                set_modal_error(app, "a rollback needs a reason".into());
                return Vec::new();
            }
            app.modal = None;
            let env = app.env.clone();
            operations::request(
                app,
                &env,
                Action::Rollback {
                    method,
                    reason: value.trim().to_string(),
                },
            )
        }
        InputFor::NewVersion => match parse_version(&value) {
            Ok(v) => {
                let version = v.to_string();
                if app.releases.contains(&version) {
                    app.modal = None;
                    return vec![Command::OpenRelease {
                        version,
                        release_type: String::new(),
                    }];
                }
                let options = release_type_options(&app.config, None);
                app.modal = Some(Modal::Pick(Pick::new(
                    format!("Release type of {version}"),
                    options,
                    PickFor::NewReleaseType { version },
                )));
                Vec::new()
            }
            Err(e) => {
                set_modal_error(app, e.to_string());
                Vec::new()
            }
        },
    }
}

fn submit_pick(app: &mut App, purpose: PickFor, value: String) -> Vec<Command> {
    match purpose {
        PickFor::ApproveRole => {
            app.modal = Some(Modal::Input(Input::new(
                format!("Approval as {}", app.config.roles.title(&value)),
                "Approver's name",
                InputFor::ApproverName { role: value },
            )));
            Vec::new()
        }
        PickFor::RevokeRole => {
            let title = app.config.roles.title(&value).to_string();
            app.modal = Some(Modal::Confirm(Confirm::new(
                format!("Revoke the {title} approval?"),
                vec!["The production gate will need it again.".into()],
                ConfirmThen::Record(Event::ApprovalRevoked { role: value }),
            )));
            Vec::new()
        }
        PickFor::Decision if value == "go" => {
            let event = Event::Decision {
                verdict: GoNoGo::Go,
                reason: None,
            };
            if let Some(Err(why)) = app
                .release
                .as_ref()
                .map(|r| rules::check(r, &app.config, &event))
            {
                set_modal_error(app, why);
                return Vec::new();
            }
            let version = app
                .release
                .as_ref()
                .map(|r| r.version.clone())
                .unwrap_or_default();
            app.modal = Some(Modal::Confirm(Confirm::new(
                format!("Record GO for {version}?"),
                vec![
                    format!(
                        "Decided by {} at {}.",
                        app.operator,
                        app.now.format("%H:%M UTC")
                    ),
                    "Production still waits for its other gates.".into(),
                ],
                ConfirmThen::Record(event),
            )));
            Vec::new()
        }
        PickFor::Decision => {
            app.modal = Some(Modal::Input(Input::new(
                "NO-GO",
                "Why is the release held? (recorded in the journal)",
                InputFor::NoGoReason,
            )));
            Vec::new()
        }
        PickFor::ChangeType => {
            app.modal = Some(Modal::Input(Input::new(
                format!("Change type to {value}"),
                "Why? (recorded in the journal)",
                InputFor::TypeChangeReason { to: value },
            )));
            Vec::new()
        }
        PickFor::NewReleaseType { version } => {
            app.modal = None;
            vec![Command::OpenRelease {
                version,
                release_type: value,
            }]
        }
        PickFor::OpenRelease => {
            app.modal = None;
            vec![Command::OpenRelease {
                version: value,
                release_type: String::new(),
            }]
        }
        PickFor::RollbackMethod { previous_image } => match value.as_str() {
            "previous" => {
                menus::ask_rollback_reason(app, RollbackMethod::Previous);
                Vec::new()
            }
            "revision" => {
                menus::revision_menu(app);
                Vec::new()
            }
            "image" => match previous_image {
                Some(image) => {
                    menus::ask_rollback_reason(app, RollbackMethod::Image { image });
                    Vec::new()
                }
                None => Vec::new(),
            },
            _ => {
                app.modal = None;
                let env = app.env.clone();
                match operations::migrate_action(app, &env, MigrationDirection::Down) {
                    Some(a) => operations::request(app, &env, a),
                    None => Vec::new(),
                }
            }
        },
        PickFor::RollbackRevision => {
            match value.parse() {
                Ok(revision) => {
                    menus::ask_rollback_reason(app, RollbackMethod::ToRevision { revision })
                }
                Err(_) => app.modal = None,
            }
            Vec::new()
        }
        PickFor::ManualTrigger => {
            soak::manual_trigger_chosen(app, &value);
            Vec::new()
        }
        PickFor::Migration => {
            app.modal = None;
            let env = app.env.clone();
            let direction = if value == "down" {
                MigrationDirection::Down
            } else {
                MigrationDirection::Up
            };
            match operations::migrate_action(app, &env, direction) {
                Some(a) => operations::request(app, &env, a),
                None => Vec::new(),
            }
        }
        PickFor::Environment => {
            app.modal = None;
            app.log(Level::Info, format!("environment: {value}"));
            // Every environment is watched and read all along: switching only changes
            // which one the panes show.
            app.env = value;
            app.pod_scroll = 0;
            Vec::new()
        }
    }
}
