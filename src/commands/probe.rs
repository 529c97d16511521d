//! `probe URL...`: the health checks as a command, so a smoke test or a script gets the
//! same verdict the runbook's health step gives.

use std::time::Duration;

use super::{CmdResult, NegativeAnswer, usage};
use crate::cluster::health;

pub fn run(urls: &[String], timeout_secs: u64) -> CmdResult {
    for u in urls {
        let parsed = url::Url::parse(u).map_err(|e| usage(format!("{u:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(usage(format!("{u:?} is not an http(s) URL")));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcomes = runtime.block_on(async {
        let mut out = Vec::new();
        for u in urls {
            out.push(health::check(u, Duration::from_secs(timeout_secs.max(1))).await);
        }
        out
    });
    let mut unhealthy = 0;
    for h in &outcomes {
        println!("{}: {}", h.url, h.summary());
        for line in h.body.lines() {
            println!("  {line}");
        }
        if !h.healthy {
            unhealthy += 1;
        }
    }
    if unhealthy > 0 {
        return Err(
            NegativeAnswer(format!("{unhealthy} of {} URLs unhealthy", outcomes.len())).into(),
        );
    }
    Ok(())
}
