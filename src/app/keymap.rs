//! Keys to actions, and the help overlay's table of them. Tests hold the two together:
//! every action a key produces is in the help, and every action the help lists has a key.

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
    Deploy,
    Rollback,
    Migrations,
    Backup,
    Health,
    Smoke,
    RunNext,
    CancelAction,
    ManualTrigger,
    AutoRollback,
    Acknowledge,
    DeclareStable,
    ForcePanic,
}

pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    pub actions: &'static [Action],
}

const fn bind(keys: &'static str, what: &'static str, actions: &'static [Action]) -> Binding {
    Binding {
        keys,
        what,
        actions,
    }
}

use Action as A;

/// Grouped for the help overlay: (heading, bindings).
pub const HELP: &[(&str, &[Binding])] = &[
    (
        "Moving",
        &[
            bind("↑ k / ↓ j", "previous / next row", &[A::Up, A::Down]),
            bind("PgUp / PgDn", "a page up / down", &[A::PageUp, A::PageDown]),
            bind("g Home / G End", "first / last row", &[A::Top, A::Bottom]),
            bind(
                "← h / → l",
                "fold / unfold a phase",
                &[A::Collapse, A::Expand],
            ),
            bind(
                "Tab / S-Tab",
                "next / previous pane",
                &[A::FocusNext, A::FocusPrev],
            ),
            bind(
                "1-5",
                "Checklist, Runbook, Rollout, Timeline, Tasks",
                &[
                    A::FocusPane(0),
                    A::FocusPane(1),
                    A::FocusPane(2),
                    A::FocusPane(3),
                    A::FocusPane(4),
                ],
            ),
            bind("z", "zoom the focused pane", &[A::Zoom]),
            bind("mouse", "click a pane or row; wheel scrolls", &[]),
        ],
    ),
    (
        "Checklist",
        &[
            bind(
                "Space Enter",
                "tick the item (again: untick, confirmed)",
                &[A::Toggle],
            ),
            bind("w", "waive the item, with a reason", &[A::Waive]),
            bind("c", "run the item's check command", &[A::RunCheck]),
            bind("x", "cancel the item's running check", &[A::CancelCheck]),
        ],
    ),
    (
        "Release",
        &[
            bind("a", "record an approval (role, name)", &[A::Approve]),
            bind("R", "revoke an approval", &[A::Revoke]),
            bind("d", "go/no-go decision", &[A::Decide]),
            bind(
                "t",
                "change the release type, with a reason",
                &[A::ChangeType],
            ),
            bind("C", "compliance phase on / off", &[A::ToggleCompliance]),
            bind("V", "mark staging validated", &[A::ValidateStaging]),
            bind("s", "set the commit SHA", &[A::SetCommit]),
            bind("n", "new release (version, type)", &[A::NewRelease]),
            bind("o", "open another release", &[A::OpenRelease]),
            bind("e", "switch environment", &[A::SwitchEnv]),
        ],
    ),
    (
        "Deploy (current environment, each confirmed)",
        &[
            bind(
                "r",
                "next runbook step (Enter: the selected)",
                &[A::RunNext],
            ),
            bind(
                "D",
                "deploy the release and follow the rollout",
                &[A::Deploy],
            ),
            bind(
                "U",
                "roll back (revision, tag, DB downgrade)",
                &[A::Rollback],
            ),
            bind("M", "migrations: upgrade / downgrade Job", &[A::Migrations]),
            bind(
                "B H S",
                "backup / health checks / smoke tests",
                &[A::Backup, A::Health, A::Smoke],
            ),
            bind("X", "cancel the running action", &[A::CancelAction]),
        ],
    ),
    (
        "Soak window (after the production deploy)",
        &[
            bind("K", "acknowledge the latest checkpoint", &[A::Acknowledge]),
            bind(
                "T",
                "manual rollback trigger, with a reason",
                &[A::ManualTrigger],
            ),
            bind("A", "arm / disarm auto-rollback", &[A::AutoRollback]),
            bind(
                "Y",
                "declare the release stable (T+120)",
                &[A::DeclareStable],
            ),
        ],
    ),
    (
        "In a prompt or dialog",
        &[
            bind(
                "Enter / Esc",
                "submit / cancel; y / n answer a confirmation",
                &[],
            ),
            bind("Ctrl-U Ctrl-W", "clear the line / delete a word", &[]),
        ],
    ),
    (
        "Anywhere",
        &[
            bind("?", "this help (Esc closes)", &[A::Help]),
            bind("q Ctrl-C", "quit", &[A::Quit]),
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
        KeyCode::Char(c @ '1'..='5') => Action::FocusPane(c as usize - '1' as usize),
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
        KeyCode::Char('r') => Action::RunNext,
        KeyCode::Char('D') => Action::Deploy,
        KeyCode::Char('U') => Action::Rollback,
        KeyCode::Char('M') => Action::Migrations,
        KeyCode::Char('B') => Action::Backup,
        KeyCode::Char('H') => Action::Health,
        KeyCode::Char('S') => Action::Smoke,
        KeyCode::Char('X') => Action::CancelAction,
        KeyCode::Char('K') => Action::Acknowledge,
        KeyCode::Char('T') => Action::ManualTrigger,
        KeyCode::Char('A') => Action::AutoRollback,
        KeyCode::Char('Y') => Action::DeclareStable,
        KeyCode::F(12) if panic_key => Action::ForcePanic,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_key() -> Vec<KeyEvent> {
        let mut codes: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
        codes.extend([
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Enter,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Esc,
            KeyCode::Backspace,
        ]);
        codes.extend((1..=12).map(KeyCode::F));
        let mut keys: Vec<KeyEvent> = codes
            .iter()
            .map(|c| KeyEvent::new(*c, KeyModifiers::NONE))
            .collect();
        keys.push(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        keys
    }

    fn helped() -> Vec<Action> {
        HELP.iter()
            .flat_map(|(_, b)| b.iter())
            .flat_map(|b| b.actions.iter().copied())
            .collect()
    }

    #[test]
    fn every_action_a_key_produces_is_in_the_help() {
        let helped = helped();
        for key in every_key() {
            if let Some(action) = action_for(key, false) {
                assert!(
                    helped.contains(&action),
                    "{key:?} does {action:?}, which the help does not list"
                );
            }
        }
    }

    #[test]
    fn every_action_in_the_help_has_a_key() {
        let produced: Vec<Action> = every_key()
            .into_iter()
            .filter_map(|k| action_for(k, false))
            .collect();
        for action in helped() {
            assert!(
                produced.contains(&action),
                "the help lists {action:?} but no key does it"
            );
        }
    }

    #[test]
    fn the_panic_key_exists_only_when_enabled() {
        let f12 = KeyEvent::new(KeyCode::F(12), KeyModifiers::NONE);
        assert_eq!(action_for(f12, false), None);
        assert_eq!(action_for(f12, true), Some(Action::ForcePanic));
    }
}
