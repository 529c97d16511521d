//! Golden tests: src/metrics/promql.rs against Prometheus itself, via `promtool test rules`
//! (Debian 12's prometheus 2.42) over the same synthetic series.
//!
//! tests/fixtures/promtool/cases.json is the single source: series in promtool's
//! `input_series` notation, the expressions, and the values promtool printed for them
//! (verbatim, e.g. `1.3333333333333333E+00`; `NaN`, `+Inf`; an empty `want` is "no
//! output"). golden.test.yml is generated from it; one test checks it is current and
//! another runs promtool on it, so promtool passing proves the stored values are its own.
//!
//! To add a case: add it to cases.json with `"want": {}`, run this test with
//! UPDATE_PROMTOOL_FIXTURES=1 to regenerate the YAML, run
//! `promtool test rules tests/fixtures/promtool/golden.test.yml`, copy the `got:` values
//! into `want`, and regenerate again.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use release_cockpit::metrics::promql::{self, Point, Window};
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    interval_s: i64,
    series: Vec<SeriesSpec>,
    evals: Vec<Eval>,
}

#[derive(Deserialize)]
struct SeriesSpec {
    name: String,
    labels: BTreeMap<String, String>,
    values: String,
}

#[derive(Deserialize)]
struct Eval {
    expr: Expr,
    at_s: i64,
    /// Output label set as promtool prints it -> value as promtool prints it.
    want: BTreeMap<String, String>,
}

/// `fn(metric[range])`, or for histogram_quantile
/// `histogram_quantile(q, sum by (le) (rate(metric{case="case"}[range])))`.
#[derive(Deserialize)]
struct Expr {
    #[serde(rename = "fn")]
    func: Func,
    metric: String,
    range_s: i64,
    #[serde(default)]
    q: f64,
    #[serde(default)]
    case: String,
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Func {
    Rate,
    Increase,
    Irate,
    HistogramQuantile,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/promtool")
}

fn load() -> Cases {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Expands promtool's series notation: `v`, `_` (no sample), `_xN` (N gaps), `vxN`
/// (N+1 copies), `a+bxN` / `a-bxN` (N+1 values, stepped by repeated addition as
/// promtool does).
fn expand(notation: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for item in notation.split_whitespace() {
        let (head, times) = match item.split_once('x') {
            Some((h, n)) => (h, Some(n.parse::<usize>().unwrap())),
            None => (item, None),
        };
        if head == "_" {
            out.extend(std::iter::repeat_n(None, times.unwrap_or(1)));
            continue;
        }
        // The step's sign, not an exponent's and not a leading sign.
        let split = (1..head.len()).find(|&i| {
            matches!(head.as_bytes()[i], b'+' | b'-')
                && !matches!(head.as_bytes()[i - 1], b'e' | b'E')
        });
        let num = |s: &str| s.parse::<f64>().unwrap();
        let (mut v, step) = match split {
            Some(i) => (num(&head[..i]), num(&head[i..])),
            None => (num(head), 0.0),
        };
        out.push(Some(v));
        for _ in 0..times.unwrap_or(0) {
            v += step;
            out.push(Some(v));
        }
    }
    out
}

fn points(spec: &SeriesSpec, interval_s: i64) -> Vec<Point> {
    let at = |i: usize| i as i64 * interval_s * 1000;
    let vals = expand(&spec.values);
    vals.iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| Point { t_ms: at(i), v }))
        .collect()
}

fn label_set(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// What Prometheus would output, keyed like `want`, computed with src/metrics/promql.rs.
fn evaluate(group: &Group, eval: &Eval) -> BTreeMap<String, f64> {
    // promtool is 2.42: the closed window [t - w, t].
    let (t, w) = (eval.at_s * 1000, Window::Closed);
    let e = &eval.expr;
    let range_ms = e.range_s * 1000;
    let metric = group.series.iter().filter(|s| s.name == e.metric);
    let mut out = BTreeMap::new();
    let f: fn(&[Point], i64, i64, Window) -> Option<f64> = match e.func {
        Func::Increase => promql::increase,
        Func::Irate => promql::irate,
        Func::Rate | Func::HistogramQuantile => promql::rate,
    };
    if e.func != Func::HistogramQuantile {
        for s in metric {
            if let Some(v) = f(&points(s, group.interval_s), t, range_ms, w) {
                out.insert(label_set(&s.labels), v);
            }
        }
        return out;
    }
    // sum by (le) groups by the label text, so le="0.5" and le="0.50" stay apart until
    // histogram_quantile merges equal bounds.
    let mut by_le: BTreeMap<&str, f64> = BTreeMap::new();
    for s in metric.filter(|s| s.labels["case"] == e.case) {
        if let Some(r) = f(&points(s, group.interval_s), t, range_ms, w) {
            *by_le.entry(s.labels["le"].as_str()).or_default() += r;
        }
    }
    if !by_le.is_empty() {
        let buckets: Vec<(f64, f64)> = by_le
            .iter()
            .map(|(le, c)| (le.parse().unwrap(), *c))
            .collect();
        out.insert("{}".to_string(), promql::histogram_quantile(e.q, &buckets));
    }
    out
}

/// Relative tolerance 1e-9; NaN, infinities and zero exactly.
fn same(got: f64, want: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() || want == 0.0 {
        return got == want;
    }
    (got - want).abs() <= 1e-9 * want.abs()
}

#[test]
fn rate_and_histogram_quantile_match_promtool() {
    let cases = load();
    let mut failures = Vec::new();
    let mut checked = 0;
    for group in &cases.groups {
        for eval in &group.evals {
            let got = evaluate(group, eval);
            let want: BTreeMap<String, f64> = eval
                .want
                .iter()
                .map(|(k, v)| (k.clone(), v.parse().unwrap()))
                .collect();
            let ok = got.len() == want.len()
                && want
                    .iter()
                    .all(|(k, w)| got.get(k).is_some_and(|g| same(*g, *w)));
            if !ok {
                failures.push(format!(
                    "{} @ {}s\n  want {want:?}\n  got  {got:?}",
                    promql_text(&eval.expr),
                    eval.at_s
                ));
            }
            checked += want.len().max(1);
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 100, "only {checked} values checked");
}

fn duration(s: i64) -> String {
    if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn promql_text(e: &Expr) -> String {
    let (m, r) = (&e.metric, duration(e.range_s));
    match e.func {
        Func::Rate => format!("rate({m}[{r}])"),
        Func::Increase => format!("increase({m}[{r}])"),
        Func::Irate => format!("irate({m}[{r}])"),
        Func::HistogramQuantile => format!(
            "histogram_quantile({:?}, sum by (le) (rate({m}{{case=\"{}\"}}[{r}])))",
            e.q, e.case
        ),
    }
}

fn yaml_value(v: &str) -> &str {
    match v {
        "+Inf" => "+.inf",
        "-Inf" => "-.inf",
        v => v,
    }
}

fn push_test<'a>(
    y: &mut String,
    expr: &str,
    at_s: i64,
    want: impl Iterator<Item = (&'a String, &'a str)>,
) {
    let samples: Vec<String> = want
        .map(|(labels, v)| {
            format!(
                "          - labels: '{labels}'\n            value: {}\n",
                yaml_value(v)
            )
        })
        .collect();
    let _ = write!(
        y,
        "      - expr: '{expr}'\n        eval_time: {}\n",
        duration(at_s)
    );
    if samples.is_empty() {
        y.push_str("        exp_samples: []\n");
    } else {
        y.push_str("        exp_samples:\n");
        samples.iter().for_each(|s| y.push_str(s));
    }
}

/// The promtool rule-test file for `cases`.
fn promtool_yaml(cases: &Cases) -> String {
    let mut y = String::from(
        "# Generated from cases.json by tests/promql_golden.rs (UPDATE_PROMTOOL_FIXTURES=1).\n\
         # Check with: promtool test rules tests/fixtures/promtool/golden.test.yml\n\
         rule_files: []\nevaluation_interval: 1m\ntests:\n",
    );
    for group in &cases.groups {
        let _ = writeln!(
            y,
            "  - interval: {}\n    input_series:",
            duration(group.interval_s)
        );
        for s in &group.series {
            let _ = writeln!(
                y,
                "      - series: '{}{}'\n        values: '{}'",
                s.name,
                label_set(&s.labels),
                s.values
            );
        }
        y.push_str("    promql_expr_test:\n");
        for eval in &group.evals {
            let expr = promql_text(&eval.expr);
            let want = eval.want.iter().map(|(k, v)| (k, v.as_str()));
            if !eval.want.values().any(|v| v == "NaN") {
                push_test(&mut y, &expr, eval.at_s, want);
                continue;
            }
            // promtool 2.42 compares values with ==, and NaN != NaN. So check which
            // outputs are NaN (`!= bool` gives 1 exactly for those), then the others (an
            // `==` filter drops the NaN ones).
            let is_nan = want
                .clone()
                .map(|(k, v)| (k, if v == "NaN" { "1" } else { "0" }));
            push_test(
                &mut y,
                &format!("({expr}) != bool ({expr})"),
                eval.at_s,
                is_nan,
            );
            let numbers = want.filter(|(_, v)| *v != "NaN");
            push_test(&mut y, &format!("({expr}) == ({expr})"), eval.at_s, numbers);
        }
    }
    y
}

#[test]
fn promtool_file_is_generated_from_cases() {
    let path = fixtures().join("golden.test.yml");
    let generated = promtool_yaml(&load());
    if std::env::var_os("UPDATE_PROMTOOL_FIXTURES").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == generated,
        "{} is stale: rerun this test with UPDATE_PROMTOOL_FIXTURES=1",
        path.display()
    );
}

/// Proves the stored expectations are promtool's own numbers.
#[test]
fn promtool_agrees_with_stored_values() {
    let path = fixtures().join("golden.test.yml");
    let out = match Command::new("promtool")
        .arg("test")
        .arg("rules")
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "promtool not found on PATH ({e}): run tests/run.sh, which installs Debian's \
             prometheus package (it ships promtool)"
        ),
    };
    assert!(
        out.status.success(),
        "promtool test rules {} failed (the stored values are Prometheus 2.42's, as in \
         Debian 12; 3.x differs in window and extrapolation):\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn series_notation_expands_like_promtool() {
    // Spot-checked against promtool 2.42 with timestamp(y) and y: `1 _x3 5` puts 5 at
    // the fifth step, `vxN` repeats N+1 times, steps add up like 0.1+0.1+0.1.
    let got = expand("1 _x3 5 4x2 7-1x2 0.1+0.1x3 1e1+1x1");
    let want = [
        Some(1.0),
        None,
        None,
        None,
        Some(5.0),
        Some(4.0),
        Some(4.0),
        Some(4.0),
        Some(7.0),
        Some(6.0),
        Some(5.0),
        Some(0.1),
        Some(0.2),
        Some(0.1 + 0.1 + 0.1),
        Some(0.1 + 0.1 + 0.1 + 0.1),
        Some(10.0),
        Some(11.0),
    ];
    assert_eq!(got, want);
}
