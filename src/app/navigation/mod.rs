//! Moving around: panes, rows, pages, zoom, the help, the environment on screen, quitting.

mod mouse;

pub use mouse::on_mouse;

use super::dialog::{Choice, Confirm, Pick};
use super::{App, Command, Level, Modal, Pane, checklist};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    FocusPane(usize),
    Zoom,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    SwitchEnv,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NavigationAnswer {
    Quit,
    Environment(String),
}

pub fn on_intent(app: &mut App, intent: Intent) -> Vec<Command> {
    match intent {
        Intent::Quit => quit(app),
        Intent::Help => app.modal = Some(Modal::Help { scroll: 0 }),
        Intent::FocusNext => app.focus = Pane::ALL[(app.focus.index() + 1) % Pane::ALL.len()],
        Intent::FocusPrev => {
            app.focus = Pane::ALL[(app.focus.index() + Pane::ALL.len() - 1) % Pane::ALL.len()];
        }
        Intent::FocusPane(i) => app.focus = Pane::ALL[i.min(Pane::ALL.len() - 1)],
        Intent::Zoom => app.zoomed = !app.zoomed,
        Intent::Up => move_selection(app, -1),
        Intent::Down => move_selection(app, 1),
        Intent::PageUp => move_selection(app, -(page(app) as isize)),
        Intent::PageDown => move_selection(app, page(app) as isize),
        Intent::Top => move_selection(app, isize::MIN / 2),
        Intent::Bottom => move_selection(app, isize::MAX / 2),
        Intent::SwitchEnv => switch_env(app),
    }
    Vec::new()
}

pub fn on_answer(app: &mut App, answer: NavigationAnswer) -> Vec<Command> {
    app.modal = None;
    match answer {
        NavigationAnswer::Quit => app.quit = true,
        NavigationAnswer::Environment(env) => {
            app.log(Level::Info, format!("environment: {env}"));
            // Every environment is watched and read all along: switching only changes
            // which one the panes show.
            app.env = env;
            app.pod_scroll = 0;
        }
    }
    Vec::new()
}

fn quit(app: &mut App) {
    if app.running_checks.is_empty() && app.tasks.is_empty() {
        app.quit = true;
        return;
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
            "What was sent stays sent; the next start reconciles them with the cluster.".into(),
        );
    }
    app.modal = Some(Modal::Confirm(Confirm::new(
        "Quit?",
        body,
        NavigationAnswer::Quit,
    )));
}

fn switch_env(app: &mut App) {
    let options = app
        .config
        .environments
        .values()
        .map(|e| {
            Choice::new(
                e.name.clone(),
                format!(
                    "{}  (context {}, namespace {}{})",
                    e.name,
                    e.kube_context,
                    e.namespace,
                    if e.protected { ", protected" } else { "" }
                ),
                NavigationAnswer::Environment(e.name.clone()),
            )
            .disabled((e.name == app.env).then(|| "current".into()))
        })
        .collect();
    app.modal = Some(Modal::Pick(Pick::new("Environment", options)));
}

fn page(app: &App) -> usize {
    (app.size.1 as usize).saturating_sub(10).max(1)
}

/// Moves the focused pane's cursor (or scrolls it) by `delta` rows.
pub fn move_selection(app: &mut App, delta: isize) {
    match app.focus {
        Pane::Checklist => {
            let n = checklist::row_count(app);
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
