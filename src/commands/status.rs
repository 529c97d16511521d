//! `status [--json]`: one read-only snapshot of the release.

use super::{CmdResult, emit, environment, load_config, state_dir, usage};
use crate::cli::Common;
use crate::release::gates::{self, GateStatus};
use crate::release::store::parse_version;
use crate::report;

pub fn run(common: &Common, release: Option<&str>, json: bool) -> CmdResult {
    let config = load_config(common)?;
    let env_name = environment(common, &config)?;
    let env = config.environment(&env_name).expect("checked above");
    let state = state_dir(common, &config);
    let version = match release {
        Some(r) => parse_version(r).map_err(|e| usage(e.to_string()))?,
        None => state.current().ok_or_else(|| {
            usage(format!(
                "no release in {}; open one with --release VERSION",
                state.root().display()
            ))
        })?,
    };
    // A shared journal is read where it lives, with who drives; the mirror here only when
    // the cluster cannot be reached (and then it says so).
    let live = super::live_status::read(common, &config, &state, &version);
    let (verified, live_warning, driving) = match live {
        Some(Ok(live)) => (live.verified, None, Some(live.driving)),
        other => {
            let not_read = other.and_then(Result::err).map(|e| {
                format!(
                    "the journal in the cluster could not be read ({e}): this is the local mirror"
                )
            });
            if !state.journal_path(&version).is_file() {
                return Err(usage(not_read.unwrap_or_else(|| {
                    format!("no release {version} in {}", state.root().display())
                })));
            }
            let verified = state
                .verify(&config, &version)
                .map_err(|e| usage(e.to_string()))?;
            (verified, not_read, None)
        }
    };
    let release = &verified.state;
    let warning = [verified.torn_tail.clone(), live_warning]
        .into_iter()
        .flatten()
        .reduce(|a, b| format!("{a}; {b}"));
    let now = chrono::Utc::now();
    if json {
        let gauges = read_gauges(&config, env);
        let mut doc = report::status_json(
            &config,
            env,
            release,
            &verified.chain,
            now,
            warning,
            gauges.as_ref(),
        );
        if let Some(d) = &driving {
            doc["shared"] = d.to_json(now);
        }
        emit(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        return Ok(());
    }
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let mut text = format!(
        "release {} ({}) on {}\njournal: {}\n",
        release.version, release.release_type, env_name, verified
    );
    if let Some(d) = &driving {
        text.push_str(&d.describe(now));
    }
    let g = gates::evaluate(release, &config);
    for gate in [&g.staging, &g.production] {
        let label = match gate.status {
            GateStatus::Open => "OPEN",
            GateStatus::NotUsed => "not used",
            GateStatus::Blocked => "BLOCKED",
        };
        text.push_str(&format!("{}: {label}\n", gate.target));
        for b in &gate.blockers {
            text.push_str(&format!("  - {}\n", b.describe(&config)));
        }
    }
    text.push_str(&report::soak_summary(&config, release, now));
    emit(&text)?;
    Ok(())
}

/// One reading of the environment's gauges, if it has a metrics source: a scrape source
/// needs two scrapes for a rate, so it reads twice, two seconds apart.
fn read_gauges(
    config: &crate::config::Config,
    env: &crate::config::Environment,
) -> Option<crate::metrics::gauges::GaugeBoard> {
    let mut source = crate::metrics::source_for(config, env)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let readings = runtime.block_on(async {
        let scrape = matches!(
            env.metrics.as_ref().map(|m| m.kind),
            Some(crate::config::MetricsSourceKind::Scrape)
        );
        if scrape {
            source.poll(chrono::Utc::now()).await;
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
        source.poll(chrono::Utc::now()).await
    });
    let mut board = crate::metrics::gauges::GaugeBoard::new(config, source.describe());
    board.record(chrono::Utc::now(), &readings, false);
    Some(board)
}
