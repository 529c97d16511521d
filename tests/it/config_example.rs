//! config.example.toml documents every key the reader knows, and means exactly the
//! embedded default.

use std::collections::BTreeSet;
use std::path::Path;

use release_cockpit::config::{Config, known_key_paths};
use toml_edit::{Document, Item, TableLike};

fn walk(prefix: &str, table: &dyn TableLike, out: &mut BTreeSet<String>) {
    for (key, item) in table.iter() {
        let path = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        out.insert(path.clone());
        match item {
            Item::Table(t) => walk(&path, t, out),
            Item::ArrayOfTables(a) => {
                for t in a {
                    walk(&format!("{path}[]"), t, out);
                }
            }
            Item::Value(v) => {
                if let Some(t) = v.as_inline_table() {
                    walk(&path, t, out);
                }
                if let Some(a) = v.as_array() {
                    for t in a.iter().filter_map(|x| x.as_inline_table()) {
                        walk(&format!("{path}[]"), t, out);
                    }
                }
            }
            Item::None => {}
        }
    }
}

#[test]
fn the_example_mentions_every_key_the_reader_knows() {
    let text = std::fs::read_to_string("config.example.toml").unwrap();
    let doc = Document::parse(text.clone()).unwrap();
    let mut written = BTreeSet::new();
    walk("", doc.as_table(), &mut written);
    // Keys documented only in comments (optional keys the default does not use).
    for optional in [
        "check",
        "check_timeout_secs",
        "only_when",
        "metrics_source",
        "metrics_url",
        "metrics_window",
    ] {
        assert!(
            text.contains(&format!("#   {optional}"))
                || text.contains(&format!("#     {optional}")),
            "{optional} is not documented"
        );
    }
    let missing: Vec<String> = known_key_paths()
        .into_iter()
        .filter(|k| !written.contains(k))
        .filter(|k| {
            ![
                ".check",
                ".check_timeout_secs",
                ".only_when",
                ".metrics_source",
                ".metrics_url",
                ".metrics_window",
                ".backup_command",
            ]
            .iter()
            .any(|s| k.ends_with(s))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "config.example.toml does not show: {missing:?}"
    );
}

#[test]
fn the_example_is_the_embedded_default() {
    let example =
        Config::from_file(Path::new("config.example.toml")).expect("the example is valid");
    let mut default = Config::embedded();
    default.origin = example.origin.clone();
    default.state_dir = example.state_dir.clone();
    assert!(
        example
            .state_dir
            .as_ref()
            .is_some_and(|d| d.ends_with(".local/state/release-cockpit"))
    );
    assert_eq!(example, default);
}
