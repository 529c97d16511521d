//! Keys to actions. The same table drives the help overlay, so help cannot drift from what
//! the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
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
    Collapse,
    Expand,
    Toggle,
    Waive,
    RunCheck,
    CancelCheck,
    Approve,
    Revoke,
    Decide,
    ChangeType,
    ToggleCompliance,
    ValidateStaging,
    SetCommit,
    NewRelease,
    OpenRelease,
    SwitchEnv,
    ForcePanic,
}

pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    pub action: Action,
}

const fn bind(keys: &'static str, what: &'static str, action: Action) -> Binding {
    Binding { keys, what, action }
}

/// Grouped for the help overlay: (heading, bindings).
pub const HELP: &[(&str, &[Binding])] = &[
    (
        "Moving",
        &[
            bind("↑ k / ↓ j", "previous / next row", Action::Up),
            bind("PgUp / PgDn", "a page up / down", Action::PageUp),
            bind("g / G", "first / last row", Action::Top),
            bind("← h / → l", "fold / unfold a phase", Action::Collapse),
            bind("Tab / S-Tab", "next / previous pane", Action::FocusNext),
            bind(
                "1-4",
                "Checklist, Rollout, Timeline, Tasks",
                Action::FocusPane(0),
            ),
            bind("z", "zoom the focused pane", Action::Zoom),
            bind("mouse", "click a pane or row; wheel scrolls", Action::Down),
        ],
    ),
    (
        "Checklist",
        &[
            bind(
                "Space Enter",
                "tick the item (again: untick, confirmed)",
                Action::Toggle,
            ),
            bind("w", "waive the item, with a reason", Action::Waive),
            bind("c", "run the item's check command", Action::RunCheck),
            bind("x", "cancel the item's running check", Action::CancelCheck),
        ],
    ),
    (
        "Release",
        &[
            bind("a", "record an approval (role, name)", Action::Approve),
            bind("R", "revoke an approval", Action::Revoke),
            bind("d", "go/no-go decision", Action::Decide),
            bind(
                "t",
                "change the release type, with a reason",
                Action::ChangeType,
            ),
            bind("C", "compliance phase on / off", Action::ToggleCompliance),
            bind("V", "mark staging validated", Action::ValidateStaging),
            bind("s", "set the commit SHA", Action::SetCommit),
            bind("n", "new release (version, type)", Action::NewRelease),
            bind("o", "open another release", Action::OpenRelease),
            bind("e", "switch environment", Action::SwitchEnv),
        ],
    ),
    (
        "Anywhere",
        &[
            bind("?", "this help (Esc closes)", Action::Help),
            bind("q Ctrl-C", "quit", Action::Quit),
        ],
    ),
];

/// The action a key means outside any modal. `panic_key` enables the test-only trigger.
pub fn action_for(key: KeyEvent, panic_key: bool) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Action::Quit,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Char(c @ '1'..='4') => Action::FocusPane(c as usize - '1' as usize),
        KeyCode::Char('z') => Action::Zoom,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Left | KeyCode::Char('h') => Action::Collapse,
        KeyCode::Right | KeyCode::Char('l') => Action::Expand,
        KeyCode::Char(' ') | KeyCode::Enter => Action::Toggle,
        KeyCode::Char('w') => Action::Waive,
        KeyCode::Char('c') => Action::RunCheck,
        KeyCode::Char('x') => Action::CancelCheck,
        KeyCode::Char('a') => Action::Approve,
        KeyCode::Char('R') => Action::Revoke,
        KeyCode::Char('d') => Action::Decide,
        KeyCode::Char('t') => Action::ChangeType,
        KeyCode::Char('C') => Action::ToggleCompliance,
        KeyCode::Char('V') => Action::ValidateStaging,
        KeyCode::Char('s') => Action::SetCommit,
        KeyCode::Char('n') => Action::NewRelease,
        KeyCode::Char('o') => Action::OpenRelease,
        KeyCode::Char('e') => Action::SwitchEnv,
        KeyCode::F(12) if panic_key => Action::ForcePanic,
        _ => return None,
    })
}
