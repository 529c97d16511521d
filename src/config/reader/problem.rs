//! What the reader reports and how: the problem itself, the list `check-config` prints,
//! and the words for a wrong type, a missing key and an unknown one (with the key that was
//! likely meant).

use std::fmt;

use toml_edit::{Item, Value};

use super::{Cursor, item_span, join};

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

pub(super) fn type_name(item: &Item) -> &'static str {
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

impl Cursor<'_> {
    pub fn report(&self, key: &str, message: impl Into<String>) {
        self.src
            .report(&self.span_of(key), &join(&self.path, key), message);
    }

    pub(super) fn missing(&self, key: &str) {
        self.src
            .report(&self.span, &join(&self.path, key), "missing key");
    }

    pub(super) fn wrong_type(&self, key: &str, item: &Item, expected: &str) {
        self.report(
            key,
            format!("expected {expected}, found {}", type_name(item)),
        );
    }

    pub(super) fn required<T>(&self, key: &str, found: Option<T>) -> Option<T> {
        if found.is_none() && !self.table.contains_key(key) {
            self.missing(key);
        }
        found
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
        .map(|k| (strsim::levenshtein(key, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 3) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
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
