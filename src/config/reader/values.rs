//! The typed accessors: each reads one key as the type it should have, reporting a wrong
//! type (and, for a required key, a missing one) at the key instead of stopping there.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;

use toml_edit::{Item, TableLike};

use super::problem::type_name;
use super::{Cursor, item_span, join};

impl<'a> Cursor<'a> {
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
}
