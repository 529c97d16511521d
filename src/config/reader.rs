//! A TOML reader that collects every problem instead of stopping at the first.
//!
//! serde stops at the first type error; a release engineer fixing a config wants the whole
//! list at once, each with its key path and line. Each table cursor remembers which keys were
//! read, so a key nobody asked for is reported as unknown without a separate schema.

mod problem;
mod values;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;

use toml_edit::{Item, TableLike};

pub use problem::{Problem, describe_problems};

/// The source text of one file and the problems found in it so far.
pub struct Source {
    pub file: String,
    text: String,
    problems: RefCell<Vec<Problem>>,
    /// Every key path any cursor asked for, so the documentation test can check that
    /// config.example.toml mentions each of them.
    asked: RefCell<BTreeSet<String>>,
}

impl Source {
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            text: text.into(),
            problems: RefCell::new(Vec::new()),
            asked: RefCell::new(BTreeSet::new()),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn line_of(&self, span: &Option<Range<usize>>) -> Option<usize> {
        span.as_ref().map(|s| {
            let end = s.start.min(self.text.len());
            self.text.as_bytes()[..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        })
    }

    pub fn report(&self, span: &Option<Range<usize>>, path: &str, message: impl Into<String>) {
        self.problems.borrow_mut().push(Problem {
            file: self.file.clone(),
            line: self.line_of(span),
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub fn take_problems(&self) -> Vec<Problem> {
        std::mem::take(&mut *self.problems.borrow_mut())
    }

    pub fn asked_paths(&self) -> BTreeSet<String> {
        self.asked.borrow().clone()
    }
}

/// A table being read: its path, where it starts, and which keys have been read.
pub struct Cursor<'a> {
    src: &'a Source,
    table: &'a dyn TableLike,
    path: String,
    span: Option<Range<usize>>,
    seen: RefCell<BTreeSet<String>>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Path used in "asked" bookkeeping: array indices become `[]` so the example file only has
/// to show one element of each list.
fn generic(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    }
}

impl<'a> Cursor<'a> {
    pub fn root(src: &'a Source, doc: &'a toml_edit::Document<String>) -> Self {
        let table = doc.as_table();
        Self {
            src,
            table,
            path: String::new(),
            span: None,
            seen: RefCell::new(BTreeSet::new()),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn source(&self) -> &'a Source {
        self.src
    }

    /// The line this table starts on, for problems about the table as a whole.
    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    fn fetch(&self, key: &str) -> Option<&'a Item> {
        self.seen.borrow_mut().insert(key.to_string());
        self.src
            .asked
            .borrow_mut()
            .insert(generic(&join(&self.path, key)));
        self.table.get(key).filter(|i| !i.is_none())
    }

    /// Where a key's value is, or failing that where its table is.
    pub fn span_of(&self, key: &str) -> Option<Range<usize>> {
        self.table
            .get(key)
            .and_then(item_span)
            .or_else(|| self.span.clone())
    }

    /// Every entry of a table whose keys are names chosen by the user
    /// (`[environments.staging]`), each read as a table.
    pub fn named_tables(&self) -> Vec<(String, Cursor<'a>)> {
        let keys: Vec<String> = self.table.iter().map(|(k, _)| k.to_string()).collect();
        keys.into_iter()
            .filter_map(|k| {
                let c = self.opt_table(&k)?;
                // The example file documents a named table once, under `*`.
                self.src
                    .asked
                    .borrow_mut()
                    .remove(&generic(&join(&self.path, &k)));
                Some((k, c))
            })
            .collect()
    }

    /// Every entry of a table whose keys are chosen by the user, each read as a string.
    pub fn named_strings(&self) -> Vec<(String, String)> {
        let keys: Vec<String> = self.table.iter().map(|(k, _)| k.to_string()).collect();
        keys.into_iter()
            .filter_map(|k| {
                let v = self.opt_str(&k)?;
                self.src
                    .asked
                    .borrow_mut()
                    .remove(&generic(&join(&self.path, &k)));
                Some((k, v))
            })
            .collect()
    }

    /// Every entry of a table whose keys are chosen by the user, each read as a list of
    /// strings.
    pub fn named_str_lists(&self) -> Vec<(String, Vec<String>)> {
        let keys: Vec<String> = self.table.iter().map(|(k, _)| k.to_string()).collect();
        keys.into_iter()
            .filter_map(|k| {
                let v = self.opt_str_list(&k)?;
                self.src
                    .asked
                    .borrow_mut()
                    .remove(&generic(&join(&self.path, &k)));
                Some((k, v))
            })
            .collect()
    }

    /// Whether this table came from the given file (the user's, or the embedded default).
    pub fn is_from(&self, src: &Source) -> bool {
        std::ptr::eq(self.src, src)
    }
}
