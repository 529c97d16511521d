//! A TOML reader that collects every problem instead of stopping at the first.
//!
//! serde stops at the first type error; a release engineer fixing a config wants the whole
//! list at once, each with its key path and line. Each table cursor remembers which keys were
//! read, so a key nobody asked for is reported as unknown without a separate schema.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

/// One thing wrong with a config file, located by key path and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: ", self.file, line)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem, one per line, then how many: what `check-config` and every command that
/// loads a config print.
pub fn describe_problems(problems: &[Problem]) -> String {
    let mut out: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    out.push(format!(
        "{} problem{} found",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    ));
    out.join("\n")
}

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

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a datetime",
        Item::Value(Value::Array(_)) => "an array",
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
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

    pub fn report(&self, key: &str, message: impl Into<String>) {
        self.src
            .report(&self.span_of(key), &join(&self.path, key), message);
    }

    fn missing(&self, key: &str) {
        self.src
            .report(&self.span, &join(&self.path, key), "missing key");
    }

    fn wrong_type(&self, key: &str, item: &Item, expected: &str) {
        self.report(
            key,
            format!("expected {expected}, found {}", type_name(item)),
        );
    }

    fn required<T>(&self, key: &str, found: Option<T>) -> Option<T> {
        if found.is_none() && !self.table.contains_key(key) {
            self.missing(key);
        }
        found
    }

    pub fn opt_str(&self, key: &str) -> Option<String> {
        let item = self.fetch(key)?;
        match item.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.wrong_type(key, item, "a string");
                None
            }
        }
    }

    pub fn str(&self, key: &str) -> Option<String> {
        let v = self.opt_str(key);
        self.required(key, v)
    }

    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        let item = self.fetch(key)?;
        match item.as_bool() {
            Some(b) => Some(b),
            None => {
                self.wrong_type(key, item, "a boolean (true or false)");
                None
            }
        }
    }

    pub fn opt_int(&self, key: &str) -> Option<i64> {
        let item = self.fetch(key)?;
        match item.as_integer() {
            Some(n) => Some(n),
            None => {
                self.wrong_type(key, item, "an integer");
                None
            }
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        let v = self.opt_int(key);
        self.required(key, v)
    }

    /// A number; integers are accepted where a float is meant (`normal = 1000`).
    pub fn opt_number(&self, key: &str) -> Option<f64> {
        let item = self.fetch(key)?;
        match (item.as_float(), item.as_integer()) {
            (Some(f), _) => Some(f),
            (None, Some(i)) => Some(i as f64),
            _ => {
                self.wrong_type(key, item, "a number");
                None
            }
        }
    }

    pub fn number(&self, key: &str) -> Option<f64> {
        let v = self.opt_number(key);
        self.required(key, v)
    }

    pub fn opt_str_list(&self, key: &str) -> Option<Vec<String>> {
        let item = self.fetch(key)?;
        let Some(array) = item.as_array() else {
            self.wrong_type(key, item, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(array.len());
        for (i, v) in array.iter().enumerate() {
            match v.as_str() {
                Some(s) => out.push(s.to_string()),
                None => {
                    self.src.report(
                        &v.span(),
                        &format!("{}[{i}]", join(&self.path, key)),
                        format!(
                            "expected a string, found {}",
                            type_name(&Item::Value(v.clone()))
                        ),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    pub fn str_list(&self, key: &str) -> Option<Vec<String>> {
        let v = self.opt_str_list(key);
        self.required(key, v)
    }

    /// An array whose elements are arrays of strings (`approvals = [["a"], ["b", "c"]]`).
    pub fn str_list_list(&self, key: &str) -> Option<Vec<Vec<String>>> {
        let item = self.fetch(key);
        let Some(item) = item else {
            self.required::<()>(key, None);
            return None;
        };
        let expected = "an array of arrays of strings";
        let Some(array) = item.as_array() else {
            self.wrong_type(key, item, expected);
            return None;
        };
        let mut out = Vec::new();
        for (i, v) in array.iter().enumerate() {
            let inner: Option<Vec<String>> = v
                .as_array()
                .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect());
            match inner {
                Some(list) => out.push(list),
                None => {
                    self.src.report(
                        &v.span(),
                        &format!("{}[{i}]", join(&self.path, key)),
                        format!(
                            "expected an array of strings, found {}",
                            type_name(&Item::Value(v.clone()))
                        ),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    fn child(&self, key: &str, table: &'a dyn TableLike, span: Option<Range<usize>>) -> Self {
        Self {
            src: self.src,
            table,
            path: join(&self.path, key),
            span,
            seen: RefCell::new(BTreeSet::new()),
        }
    }

    pub fn opt_table(&self, key: &str) -> Option<Cursor<'a>> {
        let item = self.fetch(key)?;
        match item.as_table_like() {
            Some(t) => Some(self.child(key, t, item_span(item))),
            None => {
                self.wrong_type(key, item, "a table");
                None
            }
        }
    }

    pub fn table(&self, key: &str) -> Option<Cursor<'a>> {
        let v = self.opt_table(key);
        self.required(key, v)
    }

    /// `[[key]]` or `key = [ {..}, {..} ]`: both spellings are a list of tables.
    pub fn opt_tables(&self, key: &str) -> Option<Vec<Cursor<'a>>> {
        let item = self.fetch(key)?;
        let base = join(&self.path, key);
        let mut out = Vec::new();
        if let Some(aot) = item.as_array_of_tables() {
            for (i, t) in aot.iter().enumerate() {
                out.push(Cursor {
                    src: self.src,
                    table: t,
                    path: format!("{base}[{i}]"),
                    span: t.span(),
                    seen: RefCell::new(BTreeSet::new()),
                });
            }
            return Some(out);
        }
        let Some(array) = item.as_array() else {
            self.wrong_type(key, item, "an array of tables");
            return None;
        };
        for (i, v) in array.iter().enumerate() {
            match v.as_inline_table() {
                Some(t) => out.push(Cursor {
                    src: self.src,
                    table: t,
                    path: format!("{base}[{i}]"),
                    span: t.span(),
                    seen: RefCell::new(BTreeSet::new()),
                }),
                None => {
                    self.src.report(
                        &v.span(),
                        &format!("{base}[{i}]"),
                        format!(
                            "expected a table, found {}",
                            type_name(&Item::Value(v.clone()))
                        ),
                    );
                }
            }
        }
        Some(out)
    }

    pub fn tables(&self, key: &str) -> Option<Vec<Cursor<'a>>> {
        let v = self.opt_tables(key);
        self.required(key, v)
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

    /// Whether this table came from the given file (the user's, or the embedded default).
    pub fn is_from(&self, src: &Source) -> bool {
        std::ptr::eq(self.src, src)
    }

    /// A string, or a TOML datetime written without quotes (`anchor = 2024-10-29T10:00:00Z`).
    pub fn str_or_datetime(&self, key: &str) -> Option<String> {
        let found = match self.fetch(key) {
            Some(item) => match (item.as_str(), item.as_datetime()) {
                (Some(s), _) => Some(s.to_string()),
                (None, Some(d)) => Some(d.to_string()),
                _ => {
                    self.wrong_type(key, item, "a string");
                    None
                }
            },
            None => None,
        };
        self.required(key, found)
    }

    /// Reports every key in this table that nothing read, with the likeliest meant key.
    pub fn finish(&self) {
        let seen = self.seen.borrow();
        for (key, item) in self.table.iter() {
            if !seen.contains(key) {
                let span = self
                    .table
                    .key(key)
                    .and_then(|k| k.span())
                    .or_else(|| item_span(item));
                let message = match closest(key, seen.iter().map(String::as_str)) {
                    Some(known) => format!("unknown key (did you mean {known:?}?)"),
                    None => "unknown key".to_string(),
                };
                self.src.report(&span, &join(&self.path, key), message);
            }
        }
    }
}

/// The known key nearest to a misspelt one, if it is near enough to be a likely typo.
fn closest<'k>(key: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    known
        .map(|k| (edit_distance(key, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 3) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_key_that_was_meant() {
        let known = [
            "rollback_triggers",
            "thresholds",
            "sustain_seconds",
            "check",
        ];
        assert_eq!(
            closest("rollback_trigger", known.into_iter()),
            Some("rollback_triggers")
        );
        assert_eq!(
            closest("sustain_secs", known.into_iter()),
            Some("sustain_seconds")
        );
        assert_eq!(closest("colour", known.into_iter()), None);
    }
}
