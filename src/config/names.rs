//! The names a config gives things, checked where they are read: Kubernetes names, the ids
//! the procedure's phases and items are known by, and how a list of the names that may be
//! used is written in a message.

use super::reader::Cursor;

/// Kubernetes object and context names: lowercase DNS labels and subdomains.
pub(super) fn check_dns_name(c: &Cursor, key: &str, value: &str) -> bool {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.')
        && !value.starts_with(['-', '.'])
        && !value.ends_with(['-', '.']);
    if !ok {
        c.report(
            key,
            format!(
                "{value:?} is not a valid Kubernetes name (lowercase letters, digits, '-' and '.')"
            ),
        );
    }
    ok
}

pub(super) fn check_id(c: &Cursor, key: &str, value: &str) -> bool {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !ok {
        c.report(
            key,
            format!("{value:?} is not a valid id (letters, digits, '-' and '_')"),
        );
    }
    ok
}

/// `a, b, c`: the names that may be used, for a message that names them.
pub(super) fn list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> String {
    items
        .into_iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
