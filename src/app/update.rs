//! The only code that changes `App`. Pure: no I/O, no awaits; effects leave as `Command`s.

use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::checklist::{self, Row};
use super::keymap::{self, Action};
use super::modal::{
    self, Confirm, ConfirmThen, Input, InputFor, Modal, Outcome, Pick, PickFor, PickOption,
};
use super::{App, Command, Level, Msg, Pane, RunningCheck};
use crate::release::event::{Entry, Event, Verdict};
use crate::release::rules;
use crate::release::store::parse_version;
use crate::ui::layout;

pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Key(_) => Vec::new(),
        Msg::Mouse(m) => {
            on_mouse(app, m);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Msg::Tick(now) => {
            app.now = now;
            Vec::new()
        }
        Msg::Recorded(entry) => {
            app.saving = app.saving.saturating_sub(1);
            let line = describe(app, &entry);
            if let Some(release) = &mut app.release {
                release.apply(&entry);
            }
            app.log(Level::Info, line);
            Vec::new()
        }
        Msg::RecordFailed { event, error } => {
            app.saving = app.saving.saturating_sub(1);
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
            app.checklist.selected = 0;
            app.running_checks.clear();
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
        Msg::CheckDone { item, outcome } => {
            app.running_checks.remove(&item);
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
            // A finished check is journaled even if the release moved on meanwhile.
            app.saving += 1;
            vec![Command::Record(Event::CheckFinished { item, outcome })]
        }
    }
}

/// Records an event if the procedure allows it; otherwise says why not.
fn record(app: &mut App, event: Event) -> Vec<Command> {
    let Some(release) = &app.release else {
        no_release(app);
        return Vec::new();
    };
    match rules::check(release, &app.config, &event) {
        Ok(()) => {
            app.saving += 1;
            vec![Command::Record(event)]
        }
        Err(why) => {
            app.log(Level::Warn, why);
            Vec::new()
        }
    }
}

fn no_release(app: &mut App) {
    app.log(Level::Warn, "no release is open: press n to create one");
}

/// Like `record`, but a refusal stays in the open modal so the operator can correct it.
fn record_from_modal(app: &mut App, event: Event) -> Vec<Command> {
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

fn set_modal_error(app: &mut App, why: String) {
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
                submit(app, modal, value)
            }
        };
    }
    match keymap::action_for(key, app.panic_key) {
        Some(action) => on_action(app, action),
        None => Vec::new(),
    }
}

fn selected_row(app: &App) -> Option<Row> {
    let release = app.release.as_ref()?;
    let rows = checklist::rows(&app.config, release, &app.collapsed_phases, app.now);
    rows.get(app.checklist.selected).cloned()
}

fn row_count(app: &App) -> usize {
    app.release.as_ref().map_or(0, |r| {
        checklist::rows(&app.config, r, &app.collapsed_phases, app.now).len()
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

fn move_selection(app: &mut App, delta: isize) {
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
        Pane::Rollout | Pane::Timeline => {}
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
        let rows = checklist::rows(&app.config, release, &app.collapsed_phases, app.now);
        if let Some(i) = rows
            .iter()
            .position(|r| matches!(r, Row::Phase { id, .. } if *id == phase_id))
            && (matches!(row, Row::Item { .. }) || want_folded.is_none())
        {
            app.checklist.selected = i;
        }
    }
}

fn on_action(app: &mut App, action: Action) -> Vec<Command> {
    match action {
        Action::Quit => {
            if app.running_checks.is_empty() {
                app.quit = true;
                return vec![Command::Quit];
            }
            let names: Vec<String> = app.running_checks.keys().cloned().collect();
            app.modal = Some(Modal::Confirm(Confirm::new(
                "Quit?",
                vec![
                    format!("Checks still running: {}", names.join(", ")),
                    "Quitting stops them; they will show as interrupted.".into(),
                ],
                ConfirmThen::Quit,
            )));
        }
        Action::Help => app.modal = Some(Modal::Help { scroll: 0 }),
        Action::FocusNext => app.focus = Pane::ALL[(app.focus.index() + 1) % 4],
        Action::FocusPrev => app.focus = Pane::ALL[(app.focus.index() + 3) % 4],
        Action::FocusPane(i) => app.focus = Pane::ALL[i.min(3)],
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
                let options = app
                    .config
                    .release_types
                    .iter()
                    .map(|t| PickOption {
                        id: t.id.clone(),
                        label: format!("{}: {}", t.title, t.purpose),
                        disabled: (t.id == release.release_type).then(|| "current type".into()),
                    })
                    .collect();
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

fn toggle(app: &mut App) -> Vec<Command> {
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

fn submit(app: &mut App, modal: Modal, value: String) -> Vec<Command> {
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
                vec![Command::Quit]
            }
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
                verdict: Verdict::NoGo,
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
                let options = app
                    .config
                    .release_types
                    .iter()
                    .map(|t| PickOption {
                        id: t.id.clone(),
                        label: format!("{}: {}", t.title, t.purpose),
                        disabled: None,
                    })
                    .collect();
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
                verdict: Verdict::Go,
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
        PickFor::Environment => {
            app.modal = None;
            app.log(Level::Info, format!("environment: {value}"));
            app.env = value;
            Vec::new()
        }
    }
}

fn on_mouse(app: &mut App, m: MouseEvent) {
    if app.modal.is_some() {
        return;
    }
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let areas = layout::areas(area, app.zoomed.then_some(app.focus));
    let pos = Position::new(m.column, m.row);
    let hit = Pane::ALL
        .iter()
        .copied()
        .find(|p| areas.pane(*p).is_some_and(|r| r.contains(pos)));
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            let Some(pane) = hit else { return };
            app.focus = pane;
            if pane == Pane::Checklist {
                let rect = areas.pane(pane).expect("hit pane has an area");
                let inner_top = rect.y + 1;
                let height = rect.height.saturating_sub(2) as usize;
                if m.row >= inner_top && (m.row - inner_top) < height as u16 {
                    let n = row_count(app);
                    let offset = checklist::scroll_offset(app.checklist.selected, n, height);
                    let row = offset + (m.row - inner_top) as usize;
                    if row < n {
                        app.checklist.selected = row;
                    }
                }
            }
        }
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            if let Some(pane) = hit {
                app.focus = pane;
            }
            let delta = if m.kind == MouseEventKind::ScrollDown {
                1
            } else {
                -1
            };
            move_selection(app, delta);
        }
        _ => {}
    }
}

fn event_name(event: &Event) -> &'static str {
    match event {
        Event::ReleaseCreated { .. } => "release creation",
        Event::ItemTicked { .. } => "tick",
        Event::ItemUnticked { .. } => "untick",
        Event::ItemWaived { .. } => "waiver",
        Event::CheckStarted { .. } => "check start",
        Event::CheckFinished { .. } => "check result",
        Event::Approved { .. } => "approval",
        Event::ApprovalRevoked { .. } => "approval revocation",
        Event::Decision { .. } => "go/no-go decision",
        Event::TypeChanged { .. } => "type change",
        Event::ComplianceSet { .. } => "compliance switch",
        Event::StagingValidated { .. } => "staging validation",
        Event::CommitSet { .. } => "commit SHA",
    }
}

/// The log line for a journaled event.
fn describe(app: &App, entry: &Entry) -> String {
    let by = &entry.by;
    match &entry.event {
        Event::ReleaseCreated {
            version,
            release_type,
            ..
        } => format!("{by} created release {version} ({release_type})"),
        Event::ItemTicked { item } => format!("{by} ticked {item}"),
        Event::ItemUnticked { item } => format!("{by} unticked {item}"),
        Event::ItemWaived { item, reason } => format!("{by} waived {item}: {reason}"),
        Event::CheckStarted { item, argv } => {
            format!("{by} started check {item}: {}", argv.join(" "))
        }
        Event::CheckFinished { item, outcome } => format!(
            "check {item} recorded ({})",
            if outcome.passed() {
                "ticked"
            } else {
                "not ticked"
            }
        ),
        Event::Approved { role, name } => format!(
            "{name} approved as {} (entered by {by})",
            app.config.roles.title(role)
        ),
        Event::ApprovalRevoked { role } => {
            format!("{by} revoked the {} approval", app.config.roles.title(role))
        }
        Event::Decision {
            verdict: Verdict::Go,
            ..
        } => format!("{by} decided GO"),
        Event::Decision {
            verdict: Verdict::NoGo,
            reason,
        } => format!("{by} decided NO-GO: {}", reason.as_deref().unwrap_or("")),
        Event::TypeChanged {
            release_type,
            reason,
        } => format!("{by} changed the type to {release_type}: {reason}"),
        Event::ComplianceSet { required } => format!(
            "{by} switched compliance {}",
            if *required { "on" } else { "off" }
        ),
        Event::StagingValidated { .. } => format!("{by} marked staging validated"),
        Event::CommitSet { commit_sha } => format!("{by} set the commit to {commit_sha}"),
    }
}
