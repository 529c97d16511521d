//! What each key does outside a modal.

use super::checklist::{self, Row};
use super::keymap::Action;
use super::modal::{
    Confirm, ConfirmThen, Input, InputFor, Modal, Pick, PickFor, PickOption, release_type_options,
};
use super::update::{no_release, record};
use super::{App, Command, Level, Pane, RunningCheck, menus, operations, soak};
use crate::release::event::Event;
use crate::release::rules;
use crate::release::runbook::StepKind;

pub(super) fn selected_row(app: &App) -> Option<Row> {
    let release = app.release.as_ref()?;
    let rows = checklist::rows(&app.config, release, &app.collapsed_phases);
    rows.get(app.checklist.selected).cloned()
}

pub(super) fn row_count(app: &App) -> usize {
    app.release.as_ref().map_or(0, |r| {
        checklist::rows(&app.config, r, &app.collapsed_phases).len()
    })
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

fn page(app: &App) -> usize {
    (app.size.1 as usize).saturating_sub(10).max(1)
}

pub(super) fn move_selection(app: &mut App, delta: isize) {
    match app.focus {
        Pane::Checklist => {
            let n = row_count(app);
            if n > 0 {
                let next = (app.checklist.selected as isize + delta).clamp(0, n as isize - 1);
                app.checklist.selected = next as usize;
            }
        }
        Pane::Tasks => {
            // The log scrolls back from the newest line.
            let max = app.log.len().saturating_sub(1) as isize;
            app.log_scroll = (app.log_scroll as isize - delta).clamp(0, max) as usize;
        }
        Pane::Runbook => {
            let n = crate::release::runbook::steps(&app.config).len();
            if n > 0 {
                let next = (app.runbook_selected as isize + delta).clamp(0, n as isize - 1);
                app.runbook_selected = next as usize;
            }
        }
        Pane::Rollout => {
            let n = app.view().map_or(0, |v| v.pod_count());
            let max = n.saturating_sub(1) as isize;
            app.pod_scroll = (app.pod_scroll as isize + delta).clamp(0, max) as usize;
        }
        Pane::Timeline => {}
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
        let rows = checklist::rows(&app.config, release, &app.collapsed_phases);
        if let Some(i) = rows
            .iter()
            .position(|r| matches!(r, Row::Phase { id, .. } if *id == phase_id))
            && (matches!(row, Row::Item { .. }) || want_folded.is_none())
        {
            app.checklist.selected = i;
        }
    }
}

pub(super) fn on_action(app: &mut App, action: Action) -> Vec<Command> {
    match action {
        Action::Quit => {
            if app.running_checks.is_empty() && app.tasks.is_empty() {
                app.quit = true;
                return Vec::new();
            }
            let mut body = Vec::new();
            if !app.running_checks.is_empty() {
                let names: Vec<String> = app.running_checks.keys().cloned().collect();
                body.push(format!("Checks still running: {}", names.join(", ")));
                body.push("Quitting stops them; they will show as interrupted.".into());
            }
            if !app.tasks.is_empty() {
                let names: Vec<String> = app
                    .tasks
                    .iter()
                    .map(|(t, a)| format!("#{t} {} in {}", a.action.describe(), a.env))
                    .collect();
                body.push(format!("Actions still running: {}", names.join(", ")));
                body.push(
                    "What was sent stays sent; the next start reconciles them with the cluster."
                        .into(),
                );
            }
            app.modal = Some(Modal::Confirm(Confirm::new(
                "Quit?",
                body,
                ConfirmThen::Quit,
            )));
        }
        Action::Help => app.modal = Some(Modal::Help { scroll: 0 }),
        Action::FocusNext => app.focus = Pane::ALL[(app.focus.index() + 1) % Pane::ALL.len()],
        Action::FocusPrev => {
            app.focus = Pane::ALL[(app.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
        }
        Action::FocusPane(i) => app.focus = Pane::ALL[i.min(Pane::ALL.len() - 1)],
        Action::Deploy => return operations::deploy(app),
        Action::Rollback => return menus::rollback_menu(app),
        Action::Migrations => return menus::migrations_menu(app),
        Action::Backup => return probe(app, StepKind::Backup),
        Action::Health => return probe(app, StepKind::Health),
        Action::Smoke => return probe(app, StepKind::Smoke),
        Action::RunNext => return operations::run_next(app),
        Action::CancelAction => return operations::cancel_running(app),
        Action::Acknowledge => return soak::acknowledge(app),
        Action::ManualTrigger => soak::manual_trigger_menu(app),
        Action::AutoRollback => soak::toggle_auto_rollback(app),
        Action::DeclareStable => soak::declare_stable(app),
        Action::Zoom => app.zoomed = !app.zoomed,
        Action::Up => move_selection(app, -1),
        Action::Down => move_selection(app, 1),
        Action::PageUp => move_selection(app, -(page(app) as isize)),
        Action::PageDown => move_selection(app, page(app) as isize),
        Action::Top => move_selection(app, isize::MIN / 2),
        Action::Bottom => move_selection(app, isize::MAX / 2),
        Action::Collapse => toggle_fold(app, Some(true)),
        Action::Expand => toggle_fold(app, Some(false)),
        Action::Toggle => return toggle(app),
        Action::Waive => {
            if let Some(item) = selected_item(app) {
                app.modal = Some(Modal::Input(Input::new(
                    format!("Waive {item}"),
                    "Why is it safe to skip? (recorded in the journal)",
                    InputFor::WaiveReason { item },
                )));
            }
        }
        Action::RunCheck => {
            let Some(item) = selected_item(app) else {
                return Vec::new();
            };
            if app.running_checks.contains_key(&item) {
                app.log(Level::Warn, format!("{item}: its check is already running"));
                return Vec::new();
            }
            let Some((_, spec)) = app.config.procedure.item(&item) else {
                return Vec::new();
            };
            let (argv, timeout_secs) = match &spec.check {
                Some(argv) => (argv.clone(), spec.check_timeout_secs),
                None => {
                    app.log(
                        Level::Warn,
                        format!(
                            "{item} has no check command; add `check = [...]` to it in the config"
                        ),
                    );
                    return Vec::new();
                }
            };
            let Some(version) = app.release.as_ref().map(|r| r.version.clone()) else {
                no_release(app);
                return Vec::new();
            };
            let mut cmds = record(
                app,
                Event::CheckStarted {
                    item: item.clone(),
                    argv: argv.clone(),
                },
            );
            if !cmds.is_empty() {
                app.running_checks.insert(
                    item.clone(),
                    RunningCheck {
                        started: app.now,
                        argv: argv.clone(),
                        last_line: None,
                    },
                );
                cmds.push(Command::RunCheck {
                    version,
                    item,
                    argv,
                    timeout_secs,
                });
            }
            return cmds;
        }
        Action::CancelCheck => {
            if let Some(item) = selected_item(app) {
                if app.running_checks.contains_key(&item) {
                    return vec![Command::CancelCheck { item }];
                }
                app.log(Level::Warn, format!("no check of {item} is running"));
            }
        }
        Action::Approve => open_approve(app),
        Action::Revoke => open_revoke(app),
        Action::Decide => {
            if app.release.is_some() {
                let options = vec![
                    PickOption {
                        id: "go".into(),
                        label: "GO: proceed with the release".into(),
                        disabled: None,
                    },
                    PickOption {
                        id: "no-go".into(),
                        label: "NO-GO: hold the release (reason required)".into(),
                        disabled: None,
                    },
                ];
                app.modal = Some(Modal::Pick(Pick::new(
                    "Go/no-go decision",
                    options,
                    PickFor::Decision,
                )));
            } else {
                no_release(app);
            }
        }
        Action::ChangeType => {
            if let Some(release) = &app.release {
                let options =
                    release_type_options(&app.config, Some(release.release_type.as_str()));
                app.modal = Some(Modal::Pick(Pick::new(
                    "Change release type",
                    options,
                    PickFor::ChangeType,
                )));
            } else {
                no_release(app);
            }
        }
        Action::ToggleCompliance => {
            if let Some(release) = &app.release {
                let required = !release.compliance;
                let body = if required {
                    vec![
                        "This release touches regulated features (payments, user data).".into(),
                        "The compliance items will block the production deploy.".into(),
                    ]
                } else {
                    vec!["The compliance items will no longer be asked of this release.".into()]
                };
                app.modal = Some(Modal::Confirm(Confirm::new(
                    if required {
                        "Switch compliance on?"
                    } else {
                        "Switch compliance off?"
                    },
                    body,
                    ConfirmThen::Record(Event::ComplianceSet { required }),
                )));
            } else {
                no_release(app);
            }
        }
        Action::ValidateStaging => {
            let event = Event::StagingValidated { note: None };
            if let Some(release) = &app.release {
                if let Err(why) = rules::check(release, &app.config, &event) {
                    app.log(Level::Warn, why);
                    return Vec::new();
                }
                app.modal = Some(Modal::Confirm(Confirm::new(
                    "Mark staging validated?",
                    vec![
                        format!(
                            "Smoke and performance tests of {} on staging passed.",
                            release.version
                        ),
                        "This opens the production gate's staging check.".into(),
                    ],
                    ConfirmThen::Record(event),
                )));
            } else {
                no_release(app);
            }
        }
        Action::SetCommit => {
            app.modal = Some(Modal::Input(Input::new(
                "Commit SHA",
                "The git commit this release is built from",
                InputFor::CommitSha,
            )));
        }
        Action::OpenRelease | Action::NewRelease if !app.tasks.is_empty() => {
            app.log(
                Level::Warn,
                "actions are running: let them finish or cancel them (X) before switching releases",
            );
        }
        Action::OpenRelease | Action::NewRelease if !app.running_checks.is_empty() => {
            let names: Vec<&str> = app.running_checks.keys().map(String::as_str).collect();
            app.log(
                Level::Warn,
                format!(
                    "checks are running ({}): let them finish or cancel them (x) before switching releases",
                    names.join(", ")
                ),
            );
        }
        Action::NewRelease => {
            app.modal = Some(Modal::Input(Input::new(
                "New release",
                "Version (semver, such as 1.2.3)",
                InputFor::NewVersion,
            )));
        }
        Action::OpenRelease => {
            if app.releases.is_empty() {
                app.log(
                    Level::Warn,
                    "no other release in the state dir: press n to create one",
                );
            } else {
                let current = app.release.as_ref().map(|r| r.version.clone());
                let options = app
                    .releases
                    .iter()
                    .map(|v| PickOption {
                        id: v.clone(),
                        label: v.clone(),
                        disabled: (Some(v) == current.as_ref()).then(|| "open now".into()),
                    })
                    .collect();
                app.modal = Some(Modal::Pick(Pick::new(
                    "Open release",
                    options,
                    PickFor::OpenRelease,
                )));
            }
        }
        Action::SwitchEnv => {
            let options = app
                .config
                .environments
                .values()
                .map(|e| PickOption {
                    id: e.name.clone(),
                    label: format!(
                        "{}  (context {}, namespace {}{})",
                        e.name,
                        e.kube_context,
                        e.namespace,
                        if e.protected { ", protected" } else { "" }
                    ),
                    disabled: (e.name == app.env).then(|| "current".into()),
                })
                .collect();
            app.modal = Some(Modal::Pick(Pick::new(
                "Environment",
                options,
                PickFor::Environment,
            )));
        }
        Action::ForcePanic => return vec![Command::ForcePanic],
    }
    Vec::new()
}

fn probe(app: &mut App, kind: StepKind) -> Vec<Command> {
    let env = app.env.clone();
    match operations::probe_action(app, &env, kind) {
        Some(a) => operations::request(app, &env, a),
        None => Vec::new(),
    }
}

fn toggle(app: &mut App) -> Vec<Command> {
    if app.focus == Pane::Runbook {
        return operations::run_step(app, app.runbook_selected);
    }
    if app.focus != Pane::Checklist {
        return Vec::new();
    }
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
                    ConfirmThen::Record(Event::ItemUnticked { item: id }),
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

fn role_label(app: &App, role: &str) -> String {
    format!("{} ({role})", app.config.roles.title(role))
}

fn open_approve(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    let Some(spec) = app.config.release_type(&release.release_type) else {
        return;
    };
    let mut options = Vec::new();
    for req in &spec.approvals {
        let met = req
            .any_of
            .iter()
            .find_map(|r| release.approvals.get(r).map(|a| (r, a)));
        for role in &req.any_of {
            options.push(PickOption {
                id: role.clone(),
                label: role_label(app, role),
                disabled: met
                    .map(|(r, a)| format!("met by {} as {}", a.name, app.config.roles.title(r))),
            });
        }
    }
    app.modal = Some(Modal::Pick(Pick::new(
        format!("Approve {} as", release.version),
        options,
        PickFor::ApproveRole,
    )));
}

fn open_revoke(app: &mut App) {
    let Some(release) = &app.release else {
        no_release(app);
        return;
    };
    if release.approvals.is_empty() {
        app.log(Level::Warn, "no approvals to revoke");
        return;
    }
    let options = release
        .approvals
        .iter()
        .map(|(role, a)| PickOption {
            id: role.clone(),
            label: format!("{}: {}", role_label(app, role), a.name),
            disabled: None,
        })
        .collect();
    app.modal = Some(Modal::Pick(Pick::new(
        "Revoke approval",
        options,
        PickFor::RevokeRole,
    )));
}
