//! The exposition parser against fixture files, and against arbitrary and mangled input.
//!
//! `tests/fixtures/exposition/NAME.prom` (text 0.0.4) and `NAME.om` (OpenMetrics) are valid
//! bodies (names unique across both); next to each, `NAME.expected.json` lists the families
//! and samples it must give, in order.
//! A value there is a JSON number or one of the strings "NaN", "+Inf", "-Inf"; a missing
//! `timestamp_ms` means none. The six inputs of reference/metrics.md §3 are `tricky_004`,
//! `python_004`, `python_openmetrics`, `rust_client_openmetrics`, `no_final_newline` and
//! `unsigned_inf`; `escaping` and `escaping_openmetrics` hold the escaping edge cases.
//! `invalid/NAME.prom|.om` are refused; `invalid/NAME.expected` holds the error exactly as
//! `ParseError`'s Display prints it, naming the line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use proptest::prelude::*;
use release_cockpit::metrics::exposition::{ACCEPT, Family, Format, MetricType, parse};
use serde::Deserialize;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/exposition");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFamily {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    help: Option<String>,
    samples: Vec<ExpectedSample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedSample {
    name: String,
    labels: BTreeMap<String, String>,
    value: serde_json::Value,
    timestamp_ms: Option<i64>,
}

fn format_of(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("om") => Format::OpenMetrics,
        Some("prom") => Format::Text004,
        _ => panic!("{}: fixtures end in .prom or .om", path.display()),
    }
}

/// The bodies in `dir`, sorted.
fn bodies(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("prom" | "om")))
        .collect();
    paths.sort();
    paths
}

fn kind_name(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::Summary => "summary",
        MetricType::Untyped => "untyped",
        MetricType::GaugeHistogram => "gaugehistogram",
        MetricType::StateSet => "stateset",
        MetricType::Info => "info",
        MetricType::Unknown => "unknown",
    }
}

fn expected_value(value: &serde_json::Value, at: &str) -> f64 {
    match value {
        serde_json::Value::Number(n) => n.as_f64().unwrap(),
        serde_json::Value::String(s) if matches!(s.as_str(), "NaN" | "+Inf" | "-Inf") => {
            s.parse().unwrap()
        }
        other => panic!("{at}: a value is a number, \"NaN\", \"+Inf\" or \"-Inf\", not {other}"),
    }
}

/// Equal, both NaN, or within a relative 1e-12 (the JSON reader may round differently).
fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn check_against_expectation(body: &Path, families: &[Family]) {
    let json = body.with_extension("expected.json");
    let text = fs::read_to_string(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
    let expected: Vec<ExpectedFamily> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
    let names = |it: &mut dyn Iterator<Item = &str>| it.collect::<Vec<_>>().join(", ");
    assert_eq!(
        names(&mut families.iter().map(|f| f.name.as_str())),
        names(&mut expected.iter().map(|f| f.name.as_str())),
        "{}: the families, in order",
        body.display()
    );
    for (got, want) in families.iter().zip(&expected) {
        let at = format!("{} family {}", body.display(), want.name);
        assert_eq!(kind_name(got.kind), want.kind, "{at}: type");
        assert_eq!(got.help, want.help, "{at}: help");
        assert_eq!(
            got.samples.len(),
            want.samples.len(),
            "{at}: number of samples"
        );
        for (i, (s, w)) in got.samples.iter().zip(&want.samples).enumerate() {
            let at = format!("{at} sample {i} ({})", w.name);
            assert_eq!(s.name, w.name, "{at}: name");
            let sorted = s.labels.windows(2).all(|pair| pair[0].0 < pair[1].0);
            assert!(sorted, "{at}: labels sorted by name: {:?}", s.labels);
            let labels: BTreeMap<String, String> = s.labels.iter().cloned().collect();
            assert_eq!(labels, w.labels, "{at}: labels");
            let value = expected_value(&w.value, &at);
            assert!(
                same_value(s.value, value),
                "{at}: value {} != {value}",
                s.value
            );
            assert_eq!(s.timestamp_ms, w.timestamp_ms, "{at}: timestamp");
        }
    }
}

#[test]
fn valid_fixtures_give_their_expected_families() {
    let paths = bodies(Path::new(FIXTURES));
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap())
        .collect();
    for name in [
        "tricky_004",
        "python_004",
        "python_openmetrics",
        "rust_client_openmetrics",
    ] {
        assert!(
            names.contains(&name),
            "{name} is one of reference §3's six inputs"
        );
    }
    for name in [
        "no_final_newline",
        "unsigned_inf",
        "escaping",
        "escaping_openmetrics",
    ] {
        assert!(names.contains(&name), "{name} is a fixture");
    }
    let unique: BTreeSet<_> = names.iter().collect();
    assert_eq!(
        unique.len(),
        names.len(),
        "one expectation per name: {names:?}"
    );
    for path in &paths {
        let text = fs::read_to_string(path).unwrap();
        let families =
            parse(&text, format_of(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_against_expectation(path, &families);
    }
}

#[test]
fn no_final_newline_fixtures_really_lack_one() {
    for file in ["no_final_newline.prom", "no_final_newline_openmetrics.om"] {
        let text = fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
        assert!(!text.ends_with('\n'), "{file}");
    }
}

#[test]
fn invalid_fixtures_are_refused_naming_their_line() {
    let paths = bodies(&Path::new(FIXTURES).join("invalid"));
    assert!(paths.len() >= 20, "only {} invalid fixtures", paths.len());
    for path in &paths {
        let text = fs::read_to_string(path).unwrap();
        let want_file = path.with_extension("expected");
        let want = fs::read_to_string(&want_file)
            .unwrap_or_else(|e| panic!("{}: {e}", want_file.display()));
        let error = match parse(&text, format_of(path)) {
            Ok(families) => panic!("{}: accepted, giving {families:?}", path.display()),
            Err(error) => error,
        };
        assert_eq!(format!("{error}\n"), want, "{}", path.display());
        assert!(error.line >= 1 && error.line <= text.lines().count().max(1));
    }
}

#[test]
fn a_histogram_whose_inf_bucket_disagrees_with_its_count_is_left_to_the_caller() {
    let text = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 5\nh_count 4\n";
    let families = parse(text, Format::Text004).unwrap();
    let values: Vec<f64> = families[0].samples.iter().map(|s| s.value).collect();
    assert_eq!(values, [1.0, 5.0, 4.0]);
}

#[test]
fn format_from_content_type_and_the_accept_header() {
    let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    assert_eq!(Format::from_content_type(om), Format::OpenMetrics);
    assert_eq!(
        Format::from_content_type("Application/OpenMetrics-Text"),
        Format::OpenMetrics
    );
    for other in [
        "text/plain; version=0.0.4; charset=utf-8",
        "text/plain",
        "",
        "é",
        "json",
    ] {
        assert_eq!(
            Format::from_content_type(other),
            Format::Text004,
            "{other:?}"
        );
    }
    assert!(ACCEPT.starts_with("text/plain;version=0.0.4;q=1.0,"));
    assert!(ACCEPT.ends_with(",application/openmetrics-text;version=1.0.0;q=0.5"));
}

/// Parses `text` both ways: whatever happens, no panic, and an error names a line that
/// exists (or the one after the last, for a body that stops short).
fn parses_or_names_a_line(text: &str) -> Result<(), TestCaseError> {
    let lines = text.lines().count();
    for format in [Format::Text004, Format::OpenMetrics] {
        match parse(text, format) {
            Err(e) => {
                prop_assert!(e.line >= 1 && e.line <= lines + 1, "{e} in {lines} lines");
                prop_assert!(!e.message.is_empty());
                prop_assert_eq!(e.to_string(), format!("line {}: {}", e.line, e.message));
            }
            Ok(families) => {
                for sample in families.iter().flat_map(|f| &f.samples) {
                    prop_assert!(sample.labels.windows(2).all(|p| p[0].0 < p[1].0));
                }
            }
        }
    }
    Ok(())
}

/// The characters that matter to the grammar, plus a few that must not confuse it.
const ALPHABET: &[char] = &[
    '#', ' ', '\t', '\n', '\r', '{', '}', '"', '\\', '=', ',', '.', '+', '-', 'e', 'E', 'I', 'n',
    'f', 'N', 'a', '_', ':', 'l', 'x', '0', '1', '9', 'H', 'T', 'Y', 'P', 'O', 'F', 'é', '✓',
    '\u{0}', '\u{feff}',
];

/// Every fixture body, valid or not, read once for all the cases that mangle them.
static FIXTURE_TEXTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut paths = bodies(Path::new(FIXTURES));
    paths.extend(bodies(&Path::new(FIXTURES).join("invalid")));
    paths
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect()
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "[\\PC\\n\\t\\r]{0,300}") {
        parses_or_names_a_line(&text)?;
    }

    #[test]
    fn text_from_the_grammar_s_alphabet_never_panics(
        chars in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..300),
    ) {
        parses_or_names_a_line(&chars.into_iter().collect::<String>())?;
    }

    /// Almost-valid bodies: a fixture with a few characters dropped, doubled, swapped or
    /// replaced.
    #[test]
    fn mangled_fixtures_never_panic(
        which in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(
            (any::<proptest::sample::Index>(), 0u8..4, proptest::sample::select(ALPHABET)),
            1..6,
        ),
    ) {
        let mut chars: Vec<char> = which.get(&FIXTURE_TEXTS).chars().collect();
        for (at, edit, ch) in edits {
            if chars.is_empty() {
                chars.push(ch);
                continue;
            }
            let i = at.index(chars.len());
            match edit {
                0 => drop(chars.remove(i)),
                1 => chars.insert(i, chars[i]),
                2 => {
                    let next = (i + 1) % chars.len();
                    chars.swap(i, next);
                }
                _ => chars[i] = ch,
            }
        }
        parses_or_names_a_line(&chars.into_iter().collect::<String>())?;
    }
}
