//! Dialogs: help, confirmations, text prompts and pickers. This file owns their shape and
//! their keys; what an answer means is typed (`A`), decided by the feature that opened the
//! dialog and routed back to it by `update`. Nothing here knows any feature.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, PartialEq)]
pub enum Dialog<A> {
    Help { scroll: u16 },
    Confirm(Confirm<A>),
    Input(Input<A>),
    Pick(Pick<A>),
}

/// A yes/no question; `then` is what yes means.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm<A> {
    pub title: String,
    pub body: Vec<String>,
    pub error: Option<String>,
    pub then: A,
}

impl<A> Confirm<A> {
    pub fn new(title: impl Into<String>, body: Vec<String>, then: impl Into<A>) -> Self {
        Self {
            title: title.into(),
            body,
            error: None,
            then: then.into(),
        }
    }
}

/// A line of text to type; `then` is what the text is for.
#[derive(Debug, Clone, PartialEq)]
pub struct Input<A> {
    pub title: String,
    pub prompt: String,
    pub input: String,
    pub error: Option<String>,
    pub then: A,
}

impl<A> Input<A> {
    pub fn new(title: impl Into<String>, prompt: impl Into<String>, then: impl Into<A>) -> Self {
        Self {
            title: title.into(),
            prompt: prompt.into(),
            input: String::new(),
            error: None,
            then: then.into(),
        }
    }
}

/// One option of a picker: `then` is what choosing it means.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice<A> {
    /// A stable name for the option (scripts and tests find options by it).
    pub id: String,
    pub label: String,
    /// Why it cannot be chosen, shown beside it.
    pub disabled: Option<String>,
    pub then: A,
}

impl<A> Choice<A> {
    pub fn new(id: impl Into<String>, label: impl Into<String>, then: impl Into<A>) -> Self {
        Self {
            id: id.into(),
            label: label.into(),
            disabled: None,
            then: then.into(),
        }
    }

    pub fn disabled(mut self, why: Option<String>) -> Self {
        self.disabled = why;
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pick<A> {
    pub title: String,
    pub options: Vec<Choice<A>>,
    pub selected: usize,
    pub error: Option<String>,
}

impl<A> Pick<A> {
    /// The first option that can be chosen starts selected.
    pub fn new(title: impl Into<String>, options: Vec<Choice<A>>) -> Self {
        let selected = options
            .iter()
            .position(|o| o.disabled.is_none())
            .unwrap_or(0);
        Self {
            title: title.into(),
            options,
            selected,
            error: None,
        }
    }
}

impl<A> Dialog<A> {
    /// Shows why an answer was refused, in the dialog, so it can be corrected; false for
    /// a dialog with nowhere to show it.
    pub fn set_error(&mut self, why: String) -> bool {
        match self {
            Dialog::Input(i) => i.error = Some(why),
            Dialog::Pick(p) => p.error = Some(why),
            Dialog::Confirm(c) => c.error = Some(why),
            Dialog::Help { .. } => return false,
        }
        true
    }
}

/// What a key did to a dialog.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<A> {
    Stay,
    Cancel,
    /// Enter on a confirmation, a prompt or a picker: what the answer means, and the
    /// typed text (a prompt's; empty otherwise).
    Submit {
        then: A,
        text: String,
    },
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

pub fn handle_key<A: Clone>(dialog: &mut Dialog<A>, key: KeyEvent) -> Outcome<A> {
    if key.code == KeyCode::Esc
        || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
    {
        return Outcome::Cancel;
    }
    match dialog {
        Dialog::Help { scroll } => match key.code {
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
        Dialog::Confirm(c) => match key.code {
            KeyCode::Char('y') | KeyCode::Enter => Outcome::Submit {
                then: c.then.clone(),
                text: String::new(),
            },
            KeyCode::Char('n') => Outcome::Cancel,
            _ => Outcome::Stay,
        },
        Dialog::Input(i) => match key.code {
            KeyCode::Enter => Outcome::Submit {
                then: i.then.clone(),
                text: i.input.trim().to_string(),
            },
            _ => {
                if edit(&mut i.input, key) {
                    i.error = None;
                }
                Outcome::Stay
            }
        },
        Dialog::Pick(p) => {
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
                    Some(o) if o.disabled.is_none() => Outcome::Submit {
                        then: o.then.clone(),
                        text: String::new(),
                    },
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
