//! Reading the config tables into typed values, with every problem reported at its key.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use toml_edit::Document;

use super::names::check_dns_name;
use super::procedure::{read_procedure, read_release_types};
use super::procedure_spec::Roles;
use super::reader::{Cursor, Problem, Source};
use super::soak::{read_metrics, read_thresholds, read_timeline, read_triggers};
use super::{
    Config, DEFAULT_ORIGIN, DEFAULT_TOML, Environment, MetricsSourceConfig, MetricsSourceKind,
    Schedule,
};

fn parse_doc(src: &Source) -> Result<Document<String>, Problem> {
    Document::parse(src.text().to_string()).map_err(|e| Problem {
        file: src.file.clone(),
        line: src.line_of(&e.span()),
        path: String::new(),
        message: format!("not valid TOML: {}", e.message().trim()),
    })
}

pub fn load(origin: &str, text: &str) -> Result<Config, Vec<Problem>> {
    let user_src = Source::new(origin, text);
    let default_src = Source::new(DEFAULT_ORIGIN, DEFAULT_TOML);
    let user_doc = parse_doc(&user_src).map_err(|p| vec![p])?;
    let default_doc = parse_doc(&default_src).map_err(|p| vec![p])?;
    let user = Cursor::root(&user_src, &user_doc);
    let default = Cursor::root(&default_src, &default_doc);
    let config = read_config(origin, &user, &default);
    user.finish();
    let mut problems = user_src.take_problems();
    problems.extend(default_src.take_problems());
    problems.sort_by_key(|p| (p.file.clone(), p.line));
    match config {
        Some(c) if problems.is_empty() => Ok(c),
        _ => {
            if problems.is_empty() {
                // Should not happen: every `None` above comes with a reported problem.
                problems.push(Problem {
                    file: origin.to_string(),
                    line: None,
                    path: String::new(),
                    message: "the config could not be read".into(),
                });
            }
            Err(problems)
        }
    }
}

/// Every key path the reader knows, for the test that keeps config.example.toml complete.
pub fn known_key_paths() -> BTreeSet<String> {
    let src = Source::new(DEFAULT_ORIGIN, DEFAULT_TOML);
    let doc = parse_doc(&src).expect("default parses");
    let root = Cursor::root(&src, &doc);
    let empty_src = Source::new("empty", "");
    let empty_doc = parse_doc(&empty_src).expect("empty parses");
    let empty = Cursor::root(&empty_src, &empty_doc);
    read_config(DEFAULT_ORIGIN, &root, &empty);
    src.asked_paths()
}

/// Picks each top-level table from the user file when it has it, else from the default.
fn read_config(origin: &str, user: &Cursor, default: &Cursor) -> Option<Config> {
    let pick = |key: &str| {
        let from = if user.has(key) { user } else { default };
        from.table(key)
    };
    // Read every section even when an earlier one failed, so all problems are reported.
    let service = pick("service").and_then(|c| {
        let name = c.str("name").filter(|n| check_dns_name(&c, "name", n));
        c.finish();
        name
    });
    let state_dir = user.opt_str("state_dir").map(|s| expand_home(&s));
    let schedule = pick("schedule").and_then(|c| read_schedule(&c));
    let roles_c = pick("roles");
    let roles = roles_c.as_ref().map(|c| {
        let roles = Roles(c.named_strings().into_iter().collect());
        c.finish();
        roles
    });
    let access = pick("access").and_then(|c| super::access::read_access(&c, roles.as_ref()));
    let environments = pick("environments").and_then(|c| read_environments(&c));
    let journal =
        pick("journal").and_then(|c| super::journal::read_journal(&c, environments.as_ref()));
    let procedure_c = pick("procedure");
    let procedure = procedure_c.as_ref().and_then(read_procedure);
    let release_types = pick("release_types").and_then(|c| {
        read_release_types(
            &c,
            roles.as_ref().zip(roles_c.as_ref()),
            procedure.as_ref().zip(procedure_c.as_ref()),
        )
    });
    let checkpoints = pick("timeline").and_then(|c| read_timeline(&c));
    let thresholds = pick("thresholds").and_then(|c| read_thresholds(&c));
    let rollback_triggers = pick("rollback_triggers").and_then(|c| read_triggers(&c));
    let metric_queries = pick("metrics").and_then(|c| read_metrics(&c));
    Some(Config {
        origin: origin.to_string(),
        service_name: service?,
        state_dir,
        schedule: schedule?,
        environments: environments?,
        roles: roles?,
        access: access?,
        journal: journal?,
        release_types: release_types?,
        procedure: procedure?,
        checkpoints: checkpoints?,
        thresholds: thresholds?,
        rollback_triggers: rollback_triggers?,
        metric_queries: metric_queries?,
    })
}

fn expand_home(s: &str) -> std::path::PathBuf {
    match (s.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => std::path::PathBuf::from(s),
    }
}

fn check_url(c: &Cursor, key: &str, value: &str) -> bool {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => return true,
        Ok(u) => c.report(
            key,
            format!(
                "{value:?} is not an http or https URL (scheme {:?})",
                u.scheme()
            ),
        ),
        Err(url::ParseError::RelativeUrlWithoutBase) => c.report(
            key,
            format!("{value:?} is not an absolute URL; write it in full, such as \"https://host/health\""),
        ),
        Err(e) => c.report(key, format!("{value:?} is not a valid URL: {e}")),
    }
    false
}

fn read_schedule(c: &Cursor) -> Option<Schedule> {
    let cadence_days = c.int("cadence_days");
    if let Some(d) = cadence_days
        && !(1..=366).contains(&d)
    {
        c.report("cadence_days", format!("{d} is out of range (1 to 366)"));
    }
    let anchor = c
        .str("anchor")
        .and_then(|s| match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                c.report(
                    "anchor",
                    format!("{s:?} is not an RFC 3339 time such as \"2024-10-29T10:00:00Z\": {e}"),
                );
                None
            }
        });
    let go = c.opt_int("go_no_go_before_minutes").unwrap_or(60);
    if !(0..=24 * 60).contains(&go) {
        c.report(
            "go_no_go_before_minutes",
            format!("{go} is out of range (0 to 1440)"),
        );
    }
    c.finish();
    Some(Schedule {
        cadence_days: cadence_days.filter(|d| (1..=366).contains(d))?,
        anchor: anchor?,
        go_no_go_before_minutes: go,
    })
}

fn read_environments(c: &Cursor) -> Option<BTreeMap<String, Environment>> {
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (name, e) in c.named_tables() {
        let env = read_environment(&name, &e);
        e.finish();
        match env {
            Some(env) => {
                out.insert(name, env);
            }
            None => ok = false,
        }
    }
    for required in ["staging", "production"] {
        if !c.has(required) {
            c.source().report(
                &c.span(),
                &format!("{}.{required}", c.path()),
                "missing key (the procedure deploys to staging, then production)",
            );
            ok = false;
        }
    }
    c.finish();
    ok.then_some(out)
}

fn read_environment(name: &str, e: &Cursor) -> Option<Environment> {
    let kube_context = e.str("kube_context");
    let namespace = e.str("namespace");
    let deployment = e.str("deployment");
    let container = e.str("container");
    let image_repository = e.str("image_repository");
    let health_url = e.str("health_url");
    let detailed_health_url = e.str("detailed_health_url");
    let protected = e.opt_bool("protected").unwrap_or(name == "production");
    let mut valid = true;
    let mut argv = |key: &str, default: Option<&[&str]>| -> Option<Vec<String>> {
        match e.opt_str_list(key) {
            Some(v) if v.is_empty() || v[0].is_empty() => {
                e.report(
                    key,
                    "must name a program to run (an argv such as [\"make\", \"test\"])",
                );
                valid = false;
                None
            }
            Some(v) => Some(v),
            None => default.map(|d| d.iter().map(|s| s.to_string()).collect()),
        }
    };
    let backup_command = argv("backup_command", None);
    let smoke_command = argv("smoke_command", None);
    let migrate_up = argv("migrate_up", Some(&["alembic", "upgrade", "head"]));
    let migrate_down = argv("migrate_down", Some(&["alembic", "downgrade", "-1"]));
    let mut secs = |key: &str, default: i64| -> u64 {
        let v = e.opt_int(key).unwrap_or(default);
        if !(1..=MAX_STEP_SECS).contains(&v) {
            e.report(key, format!("{v} is out of range (1 to {MAX_STEP_SECS})"));
            valid = false;
        }
        v.clamp(1, MAX_STEP_SECS) as u64
    };
    let rollout_timeout_secs = secs("rollout_timeout_secs", 900);
    let step_timeout_secs = secs("step_timeout_secs", 600);
    let metrics = match (e.opt_str("metrics_source"), e.opt_str("metrics_url")) {
        (None, None) => None,
        (Some(kind), url) => {
            let kind = match kind.as_str() {
                "prometheus" => Some(MetricsSourceKind::Prometheus),
                "scrape" => Some(MetricsSourceKind::Scrape),
                other => {
                    e.report(
                        "metrics_source",
                        format!("{other:?} is not one of \"prometheus\", \"scrape\""),
                    );
                    None
                }
            };
            let window = e.opt_str("metrics_window").map_or(Some(60), |w| {
                let secs = parse_duration_secs(&w);
                if secs.is_none() {
                    e.report(
                        "metrics_window",
                        format!("{w:?} is not a duration such as \"30s\", \"1m\" or \"2m30s\""),
                    );
                }
                secs
            });
            match (kind, url, window) {
                (Some(kind), Some(url), Some(window_secs)) if check_url(e, "metrics_url", &url) => {
                    Some(MetricsSourceConfig {
                        kind,
                        url,
                        window_secs,
                    })
                }
                (_, None, _) => {
                    e.report(
                        "metrics_url",
                        "missing key (metrics_source needs the URL to read)",
                    );
                    valid = false;
                    None
                }
                _ => {
                    valid = false;
                    None
                }
            }
        }
        (None, Some(_)) => {
            e.report(
                "metrics_source",
                "missing key (\"prometheus\" or \"scrape\", for metrics_url)",
            );
            valid = false;
            None
        }
    };
    for (key, v) in [("namespace", &namespace), ("deployment", &deployment)] {
        if let Some(v) = v {
            valid &= check_dns_name(e, key, v);
        }
    }
    if container.as_ref().is_some_and(|c| c.is_empty()) {
        e.report("container", "must not be empty");
        valid = false;
    }
    for (key, v) in [
        ("health_url", &health_url),
        ("detailed_health_url", &detailed_health_url),
    ] {
        if let Some(v) = v {
            valid &= check_url(e, key, v);
        }
    }
    if !valid {
        return None;
    }
    Some(Environment {
        name: name.to_string(),
        kube_context: kube_context?,
        namespace: namespace?,
        deployment: deployment?,
        container: container?,
        image_repository: image_repository?,
        health_url: health_url?,
        detailed_health_url: detailed_health_url?,
        protected,
        metrics,
        backup_command,
        smoke_command,
        migrate_up: migrate_up.unwrap_or_default(),
        migrate_down: migrate_down.unwrap_or_default(),
        rollout_timeout_secs,
        step_timeout_secs,
    })
}

/// The longest any one step may run: a day.
const MAX_STEP_SECS: i64 = 86_400;

/// "90s", "1m", "2m30s", "1h": a duration in whole seconds, above zero.
// Not humantime::parse_duration: it reads more than this, "1M" as a month (where a slip of
// the shift key meant a minute), "1d", "1y", "1.5m", "2m 30s", "1000ms", so a metrics_window
// that is refused with a message would load, some as a window of months.
fn parse_duration_secs(s: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut num = String::new();
    for ch in s.trim().chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
        // An absurd number of hours is not a duration either, not a panic or a wrap.
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (num.is_empty() && total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds_in_s_m_and_h() {
        for (text, secs) in [
            ("90s", 90),
            ("1m", 60),
            ("2m30s", 150),
            ("1h", 3600),
            (" 30s ", 30),
        ] {
            assert_eq!(parse_duration_secs(text), Some(secs), "{text:?}");
        }
        for text in [
            "0s",
            "30",
            "1M",
            "1d",
            "1.5m",
            "2m 30s",
            "1000ms",
            "1min",
            "",
            "9999999999999999h",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_duration_secs(text), None, "{text:?}");
        }
    }
}
