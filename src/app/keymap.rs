//! Keys to intents, and the help overlay's table of them. Tests hold the two together:
//! every intent a key produces is in the help, and every intent the help lists has a key.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{approvals, checklist, deploy, navigation, releases, shared, soak};

/// What a key asks for, outside any dialog: one feature's intent, or acting on the row
/// under the cursor, which the focused pane decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Navigation(navigation::Intent),
    Checklist(checklist::Intent),
    Approvals(approvals::Intent),
    Releases(releases::Intent),
    Deploy(deploy::Intent),
    Soak(soak::Intent),
    Shared(shared::Intent),
    /// Space / Enter: tick the checklist item, or run the runbook step, under the cursor.
    Activate,
    /// Test-only: proves the terminal is restored after a panic.
    ForcePanic,
}

pub struct Binding {
    pub keys: &'static str,
    pub what: &'static str,
    pub intents: &'static [Intent],
}

const fn bind(keys: &'static str, what: &'static str, intents: &'static [Intent]) -> Binding {
    Binding {
        keys,
        what,
        intents,
    }
}

use Intent::{Activate, Approvals as Ap, Checklist as Ck, Deploy as Dp, Navigation as Nv};
use Intent::{Releases as Rl, Soak as Sk};
use approvals::Intent as AI;
use checklist::Intent as CI;
use deploy::Intent as DI;
use navigation::Intent as NI;
use releases::Intent as RI;
use soak::Intent as SI;

/// Grouped for the help overlay: (heading, bindings).
pub const HELP: &[(&str, &[Binding])] = &[
    (
        "Moving",
        &[
            bind(
                "↑ k / ↓ j",
                "previous / next row",
                &[Nv(NI::Up), Nv(NI::Down)],
            ),
            bind(
                "PgUp / PgDn",
                "a page up / down",
                &[Nv(NI::PageUp), Nv(NI::PageDown)],
            ),
            bind(
                "g Home / G End",
                "first / last row",
                &[Nv(NI::Top), Nv(NI::Bottom)],
            ),
            bind(
                "← h / → l",
                "fold / unfold a phase",
                &[Ck(CI::Collapse), Ck(CI::Expand)],
            ),
            bind(
                "Tab / S-Tab",
                "next / previous pane",
                &[Nv(NI::FocusNext), Nv(NI::FocusPrev)],
            ),
            bind(
                "1-5",
                "Checklist, Runbook, Rollout, Timeline, Tasks",
                &[
                    Nv(NI::FocusPane(0)),
                    Nv(NI::FocusPane(1)),
                    Nv(NI::FocusPane(2)),
                    Nv(NI::FocusPane(3)),
                    Nv(NI::FocusPane(4)),
                ],
            ),
            bind("z", "zoom the focused pane", &[Nv(NI::Zoom)]),
            bind("mouse", "click a pane or row; wheel scrolls", &[]),
        ],
    ),
    (
        "Checklist",
        &[
            bind(
                "Space Enter",
                "tick the item (again: untick, confirmed)",
                &[Activate],
            ),
            bind("w", "waive the item, with a reason", &[Ck(CI::Waive)]),
            bind("c", "run the item's check command", &[Ck(CI::RunCheck)]),
            bind(
                "x",
                "cancel the item's running check",
                &[Ck(CI::CancelCheck)],
            ),
        ],
    ),
    (
        "Release",
        &[
            bind("a", "record an approval (role, name)", &[Ap(AI::Approve)]),
            bind("R", "revoke an approval", &[Ap(AI::Revoke)]),
            bind("d", "go/no-go decision", &[Ap(AI::Decide)]),
            bind(
                "t",
                "change the release type, with a reason",
                &[Ap(AI::ChangeType)],
            ),
            bind(
                "C",
                "compliance phase on / off",
                &[Ap(AI::ToggleCompliance)],
            ),
            bind("V", "mark staging validated", &[Ap(AI::ValidateStaging)]),
            bind("s", "set the commit SHA", &[Ap(AI::SetCommit)]),
            bind("n", "new release (version, type)", &[Rl(RI::NewRelease)]),
            bind("o", "open another release", &[Rl(RI::OpenRelease)]),
            bind("e", "switch environment", &[Nv(NI::SwitchEnv)]),
            bind(
                "J",
                "restore a broken shared journal (driver)",
                &[Intent::Shared(shared::Intent::RestoreJournal)],
            ),
        ],
    ),
    (
        "Deploy (current environment, each confirmed)",
        &[
            bind(
                "r",
                "next runbook step (Enter: the selected)",
                &[Dp(DI::RunNext)],
            ),
            bind(
                "D",
                "deploy the release and follow the rollout",
                &[Dp(DI::Deploy)],
            ),
            bind(
                "U",
                "roll back (revision, tag, DB downgrade)",
                &[Dp(DI::Rollback)],
            ),
            bind(
                "M",
                "migrations: upgrade / downgrade Job",
                &[Dp(DI::Migrations)],
            ),
            bind(
                "B H S",
                "backup / health checks / smoke tests",
                &[Dp(DI::Backup), Dp(DI::Health), Dp(DI::Smoke)],
            ),
            bind("X", "cancel the running action", &[Dp(DI::CancelAction)]),
        ],
    ),
    (
        "Soak window (after the production deploy)",
        &[
            bind(
                "K",
                "acknowledge the latest checkpoint",
                &[Sk(SI::Acknowledge)],
            ),
            bind(
                "T",
                "manual rollback trigger, with a reason",
                &[Sk(SI::ManualTrigger)],
            ),
            bind("A", "arm / disarm auto-rollback", &[Sk(SI::AutoRollback)]),
            bind(
                "Y",
                "declare the release stable (T+120)",
                &[Sk(SI::DeclareStable)],
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
            bind("?", "this help (Esc closes)", &[Nv(NI::Help)]),
            bind("q Ctrl-C", "quit", &[Nv(NI::Quit)]),
        ],
    ),
];

/// The intent a key means outside any dialog. `panic_key` enables the test-only trigger.
pub fn intent_for(key: KeyEvent, panic_key: bool) -> Option<Intent> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Nv(NI::Quit),
        KeyCode::Char('q') => Nv(NI::Quit),
        KeyCode::Char('?') => Nv(NI::Help),
        KeyCode::Tab => Nv(NI::FocusNext),
        KeyCode::BackTab => Nv(NI::FocusPrev),
        KeyCode::Char(c @ '1'..='5') => Nv(NI::FocusPane(c as usize - '1' as usize)),
        KeyCode::Char('z') => Nv(NI::Zoom),
        KeyCode::Up | KeyCode::Char('k') => Nv(NI::Up),
        KeyCode::Down | KeyCode::Char('j') => Nv(NI::Down),
        KeyCode::PageUp => Nv(NI::PageUp),
        KeyCode::PageDown => Nv(NI::PageDown),
        KeyCode::Home | KeyCode::Char('g') => Nv(NI::Top),
        KeyCode::End | KeyCode::Char('G') => Nv(NI::Bottom),
        KeyCode::Left | KeyCode::Char('h') => Ck(CI::Collapse),
        KeyCode::Right | KeyCode::Char('l') => Ck(CI::Expand),
        KeyCode::Char(' ') | KeyCode::Enter => Activate,
        KeyCode::Char('w') => Ck(CI::Waive),
        KeyCode::Char('c') => Ck(CI::RunCheck),
        KeyCode::Char('x') => Ck(CI::CancelCheck),
        KeyCode::Char('a') => Ap(AI::Approve),
        KeyCode::Char('R') => Ap(AI::Revoke),
        KeyCode::Char('d') => Ap(AI::Decide),
        KeyCode::Char('t') => Ap(AI::ChangeType),
        KeyCode::Char('C') => Ap(AI::ToggleCompliance),
        KeyCode::Char('V') => Ap(AI::ValidateStaging),
        KeyCode::Char('s') => Ap(AI::SetCommit),
        KeyCode::Char('n') => Rl(RI::NewRelease),
        KeyCode::Char('o') => Rl(RI::OpenRelease),
        KeyCode::Char('e') => Nv(NI::SwitchEnv),
        KeyCode::Char('r') => Dp(DI::RunNext),
        KeyCode::Char('D') => Dp(DI::Deploy),
        KeyCode::Char('U') => Dp(DI::Rollback),
        KeyCode::Char('M') => Dp(DI::Migrations),
        KeyCode::Char('B') => Dp(DI::Backup),
        KeyCode::Char('H') => Dp(DI::Health),
        KeyCode::Char('S') => Dp(DI::Smoke),
        KeyCode::Char('X') => Dp(DI::CancelAction),
        KeyCode::Char('K') => Sk(SI::Acknowledge),
        KeyCode::Char('T') => Sk(SI::ManualTrigger),
        KeyCode::Char('A') => Sk(SI::AutoRollback),
        KeyCode::Char('J') => Intent::Shared(shared::Intent::RestoreJournal),
        KeyCode::Char('Y') => Sk(SI::DeclareStable),
        KeyCode::F(12) if panic_key => Intent::ForcePanic,
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

    fn helped() -> Vec<Intent> {
        HELP.iter()
            .flat_map(|(_, b)| b.iter())
            .flat_map(|b| b.intents.iter().copied())
            .collect()
    }

    #[test]
    fn every_intent_a_key_produces_is_in_the_help() {
        let helped = helped();
        for key in every_key() {
            if let Some(intent) = intent_for(key, false) {
                assert!(
                    helped.contains(&intent),
                    "{key:?} does {intent:?}, which the help does not list"
                );
            }
        }
    }

    #[test]
    fn every_intent_in_the_help_has_a_key() {
        let produced: Vec<Intent> = every_key()
            .into_iter()
            .filter_map(|k| intent_for(k, false))
            .collect();
        for intent in helped() {
            assert!(
                produced.contains(&intent),
                "the help lists {intent:?} but no key does it"
            );
        }
    }

    #[test]
    fn the_panic_key_exists_only_when_enabled() {
        let f12 = KeyEvent::new(KeyCode::F(12), KeyModifiers::NONE);
        assert_eq!(intent_for(f12, false), None);
        assert_eq!(intent_for(f12, true), Some(Intent::ForcePanic));
    }
}
