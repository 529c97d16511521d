//! Reading the soak window's config: the timeline's checkpoints, the gauge thresholds, the
//! rollback triggers and the metric queries, with every problem reported at its key.

use std::collections::BTreeMap;

use super::names::list;
use super::reader::Cursor;
use super::{Checkpoint, CheckpointCheck, GAUGES, RollbackTriggers, Threshold};

pub(super) fn read_timeline(c: &Cursor) -> Option<Vec<Checkpoint>> {
    let cps = c.tables("checkpoints");
    c.finish();
    let mut out: Vec<Checkpoint> = Vec::new();
    let mut ok = true;
    for cp in cps? {
        let at = cp.int("at_minutes");
        let title = cp.str("title");
        let checks = match cp.opt_str_list("checks") {
            None => CheckpointCheck::DEFAULT.to_vec(),
            Some(names) => {
                let mut checks = Vec::new();
                for name in names {
                    match CheckpointCheck::parse(&name) {
                        Some(c) if !checks.contains(&c) => checks.push(c),
                        Some(_) => {}
                        None => {
                            cp.report(
                                "checks",
                                format!(
                                    "{name:?} is not one of {}",
                                    list(
                                        CheckpointCheck::ALL
                                            .iter()
                                            .map(|c| format!("{:?}", c.name()))
                                    )
                                ),
                            );
                            ok = false;
                        }
                    }
                }
                checks.sort();
                checks
            }
        };
        if let Some(at) = at {
            if !(0..=24 * 60).contains(&at) {
                cp.report("at_minutes", format!("{at} is out of range (0 to 1440)"));
                ok = false;
            } else if let Some(prev) = out.last()
                && at <= prev.at_minutes
            {
                cp.report(
                    "at_minutes",
                    format!(
                        "{at} must come after the previous checkpoint's {}",
                        prev.at_minutes
                    ),
                );
                ok = false;
            }
        }
        cp.finish();
        match (at, title) {
            (Some(at_minutes), Some(title)) => out.push(Checkpoint {
                at_minutes,
                title,
                checks,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

fn gauge_names() -> String {
    list(GAUGES.iter().map(|g| g.name))
}

pub(super) fn read_thresholds(c: &Cursor) -> Option<BTreeMap<String, Threshold>> {
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (name, t) in c.named_tables() {
        let Some(kind) = GAUGES.iter().find(|g| g.name == name) else {
            c.report(
                &name,
                format!("unknown gauge (gauges are: {})", gauge_names()),
            );
            ok = false;
            continue;
        };
        let normal = t.number("normal");
        let window = t.number("release_window");
        let mut in_range_both = true;
        for (key, v) in [("normal", normal), ("release_window", window)] {
            if let Some(v) = v {
                let in_range = if kind.ratio {
                    (0.0..=1.0).contains(&v)
                } else {
                    v > 0.0 && v.is_finite()
                };
                if !in_range {
                    let range = if kind.ratio {
                        "0 to 1, a ratio: 0.01 is 1%"
                    } else {
                        "above 0"
                    };
                    t.report(key, format!("{v} is out of range ({range})"));
                    ok = false;
                    in_range_both = false;
                }
            }
        }
        if let (Some(n), Some(w)) = (normal, window)
            && in_range_both
            && (if kind.higher_is_worse { w > n } else { w < n })
        {
            let stricter = if kind.higher_is_worse {
                "at most"
            } else {
                "at least"
            };
            t.report(
                "release_window",
                format!(
                    "{w:?} is looser than normal ({n:?}); during the release window the threshold must be {stricter} the normal one"
                ),
            );
            ok = false;
        }
        t.finish();
        match (normal, window) {
            (Some(normal), Some(release_window)) => {
                out.insert(
                    name,
                    Threshold {
                        normal,
                        release_window,
                    },
                );
            }
            _ => ok = false,
        }
    }
    c.finish();
    ok.then_some(out)
}

pub(super) fn read_triggers(c: &Cursor) -> Option<RollbackTriggers> {
    let err = c.number("error_rate_above");
    let deg = c.number("p95_degradation_above");
    let sustain = c.opt_int("sustain_seconds").unwrap_or(60);
    let mut ok = true;
    if let Some(v) = err
        && (!(0.0..=1.0).contains(&v) || v == 0.0)
    {
        c.report(
            "error_rate_above",
            format!("{v} is out of range (above 0, at most 1; 0.05 is 5%)"),
        );
        ok = false;
    }
    if let Some(v) = deg
        && !(v > 0.0 && v.is_finite())
    {
        c.report(
            "p95_degradation_above",
            format!("{v} is out of range (above 0; 0.5 is 50% slower than the baseline)"),
        );
        ok = false;
    }
    if !(0..=3600).contains(&sustain) {
        c.report(
            "sustain_seconds",
            format!("{sustain} is out of range (0 to 3600)"),
        );
        ok = false;
    }
    c.finish();
    if !ok {
        return None;
    }
    Some(RollbackTriggers {
        error_rate_above: err?,
        p95_degradation_above: deg?,
        sustain_seconds: sustain,
    })
}

pub(super) fn read_metrics(c: &Cursor) -> Option<BTreeMap<String, String>> {
    let q = c.table("queries");
    c.finish();
    let q = q?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (name, query) in q.named_strings() {
        if !GAUGES.iter().any(|g| g.name == name) {
            q.report(
                &name,
                format!("unknown gauge (gauges are: {})", gauge_names()),
            );
            ok = false;
        } else if query.trim().is_empty() {
            q.report(&name, "the query is empty");
            ok = false;
        } else {
            out.insert(name, query);
        }
    }
    q.finish();
    ok.then_some(out)
}
