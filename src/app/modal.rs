//! Modals: help, confirmations, text prompts and pickers. This file owns their shape and
//! key handling; what a submitted modal means is decided in `update`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::release::action::{Action, RollbackMethod};
use crate::release::event::Event;
use crate::release::soak::TriggerKind;

#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    Help { scroll: u16 },
    Confirm(Confirm),
    Input(Input),
    Pick(Pick),
}

/// What a confirmation does once confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmThen {
    Record(Event),
    Quit,
    /// Start an action (journaled first).
    Start {
        env: String,
        action: Action,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub title: String,
    pub body: Vec<String>,
    pub error: Option<String>,
    pub then: ConfirmThen,
}

impl Confirm {
    pub fn new(title: impl Into<String>, body: Vec<String>, then: ConfirmThen) -> Self {
        Self {
            title: title.into(),
            body,
            error: None,
            then,
        }
    }
}

/// What a text prompt's answer is for.
#[derive(Debug, Clone, PartialEq)]
pub enum InputFor {
    WaiveReason {
        item: String,
    },
    NoGoReason,
    TypeChangeReason {
        to: String,
    },
    ApproverName {
        role: String,
    },
    NewVersion,
    CommitSha,
    /// A protected environment: the operator types "<env> <version>" to confirm.
    TypedConfirmation {
        env: String,
        action: Action,
        expect: String,
    },
    RollbackReason {
        method: RollbackMethod,
    },
    TriggerReason {
        kind: TriggerKind,
    },
    StableReason,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub title: String,
    pub prompt: String,
    pub input: String,
    pub error: Option<String>,
    pub purpose: InputFor,
}

impl Input {
    pub fn new(title: impl Into<String>, prompt: impl Into<String>, purpose: InputFor) -> Self {
        Self {
            title: title.into(),
            prompt: prompt.into(),
            input: String::new(),
            error: None,
            purpose,
        }
    }
}

/// What a picker's choice is for.
#[derive(Debug, Clone, PartialEq)]
pub enum PickFor {
    ApproveRole,
    RevokeRole,
    Decision,
    ChangeType,
    NewReleaseType { version: String },
    OpenRelease,
    Environment,
    RollbackMethod { previous_image: Option<String> },
    RollbackRevision,
    Migration,
    ManualTrigger,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PickOption {
    pub id: String,
    pub label: String,
    /// Why it cannot be chosen, shown beside it.
    pub disabled: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub title: String,
    pub options: Vec<PickOption>,
    pub selected: usize,
    pub error: Option<String>,
    pub purpose: PickFor,
}

impl Pick {
    pub fn new(title: impl Into<String>, options: Vec<PickOption>, purpose: PickFor) -> Self {
        let selected = options
            .iter()
            .position(|o| o.disabled.is_none())
            .unwrap_or(0);
        Self {
            title: title.into(),
            options,
            selected,
            error: None,
            purpose,
        }
    }
}

/// The release types to choose from; `current` is shown but cannot be chosen again.
pub fn release_type_options(
    config: &crate::config::Config,
    current: Option<&str>,
) -> Vec<PickOption> {
    config
        .release_types
        .iter()
        .map(|t| PickOption {
            id: t.id.clone(),
            label: format!("{}: {}", t.title, t.purpose),
            disabled: (Some(t.id.as_str()) == current).then(|| "current type".into()),
        })
        .collect()
}

/// What a key did to a modal.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Stay,
    Cancel,
    /// Enter on a confirm, a prompt (its text) or a picker (the chosen id).
    Submit(String),
}

/// Line editing shared by prompts and typed confirmations.
fn edit(text: &mut String, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char('w') if ctrl => {
            let trimmed = text.trim_end().len();
            let cut = text[..trimmed].rfind(' ').map(|i| i + 1).unwrap_or(0);
            text.truncate(cut);
        }
        KeyCode::Char(c) if !ctrl => {
            if text.chars().count() < 500 {
                text.push(c);
            }
        }
        KeyCode::Backspace => {
            text.pop();
        }
        _ => return false,
    }
    true
}

pub fn handle_key(modal: &mut Modal, key: KeyEvent) -> Outcome {
    if key.code == KeyCode::Esc
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
    {
        return Outcome::Cancel;
    }
    match modal {
        Modal::Help { scroll } => match key.code {
            KeyCode::Char('?') | KeyCode::Char('q') => Outcome::Cancel,
            KeyCode::Down | KeyCode::Char('j') => {
                *scroll = scroll.saturating_add(1);
                Outcome::Stay
            }
            KeyCode::Up | KeyCode::Char('k') => {
                *scroll = scroll.saturating_sub(1);
                Outcome::Stay
            }
            _ => Outcome::Stay,
        },
        Modal::Confirm(_) => match key.code {
            KeyCode::Char('y') | KeyCode::Enter => Outcome::Submit(String::new()),
            KeyCode::Char('n') => Outcome::Cancel,
            _ => Outcome::Stay,
        },
        Modal::Input(i) => match key.code {
            KeyCode::Enter => Outcome::Submit(i.input.trim().to_string()),
            _ => {
                if edit(&mut i.input, key) {
                    i.error = None;
                }
                Outcome::Stay
            }
        },
        Modal::Pick(p) => {
            let n = p.options.len();
            match key.code {
                KeyCode::Up | KeyCode::Char('k') if n > 0 => {
                    p.selected = (p.selected + n - 1) % n;
                    Outcome::Stay
                }
                KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                    p.selected = (p.selected + 1) % n;
                    Outcome::Stay
                }
                KeyCode::Enter | KeyCode::Char(' ') => match p.options.get(p.selected) {
                    Some(o) if o.disabled.is_none() => Outcome::Submit(o.id.clone()),
                    Some(o) => {
                        p.error = o.disabled.clone();
                        Outcome::Stay
                    }
                    None => Outcome::Cancel,
                },
                _ => Outcome::Stay,
            }
        }
    }
}
