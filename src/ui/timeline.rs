//! The Timeline pane: the T+0..T+120 soak window after the production deploy (an axis with
//! its checkpoints and a "now" marker, each checkpoint's state and acknowledgment, fired
//! and building triggers, the verdict) above the gauges, judged against the thresholds in
//! force. Before the deploy it shows what the config says will happen: no invented data.

use chrono::Duration;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane_block;
use super::theme::Theme;
use crate::app::{App, Pane};
use crate::release::schedule::human_duration;
use crate::release::soak::{self, SoakVerdict, Window};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = area.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    let window = app
        .release
        .as_ref()
        .and_then(|r| soak::window(r, &app.config));
    let mut gauges = Vec::new();
    match app.gauges() {
        Some(board) => {
            gauges.push(Line::styled(
                format!("{} gauges, from the {}:", app.env, board.source),
                theme.dim(),
            ));
            // Looking at another environment mid-window: what is drawn here is not what the
            // triggers and checkpoints judge.
            if let (Some(_), Some(watched)) = (
                window,
                app.release
                    .as_ref()
                    .and_then(|r| soak::opening_deploy(r, &app.config)),
            ) && watched.env != app.env
            {
                gauges.push(Line::styled(
                    format!(
                        "The soak window judges {}'s gauges, not these (e switches).",
                        watched.env
                    ),
                    theme.warn(),
                ));
            }
            // In the window the sparklines run from T-15 to now, as the procedure reads them.
            let span = window.map(|w| {
                let to = if app.now < w.end { app.now } else { w.end };
                (w.t0 - Duration::minutes(15), to)
            });
            gauges.extend(super::gauges::lines(board, width, span, theme));
        }
        None => gauges.push(Line::styled("No metrics source connected.", theme.warn())),
    }
    match (&app.release, window) {
        // In the window the on-call reads the window first, then the gauges.
        (Some(release), Some(w)) => {
            soak_lines(&mut lines, app, release, w, width, theme);
            lines.extend(gauges);
        }
        _ => {
            lines.extend(gauges);
            lines.push(Line::styled(
                "No production deploy yet. The soak window after it:",
                theme.dim(),
            ));
            let marks: Vec<String> = app
                .config
                .checkpoints
                .iter()
                .map(|c| format!("T+{} {}", c.at_minutes, c.title))
                .collect();
            lines.push(Line::styled(format!(" {}", marks.join(" · ")), theme.dim()));
        }
    }
    let block = pane_block(app, Pane::Timeline, None, theme);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn soak_lines(
    lines: &mut Vec<Line<'static>>,
    app: &App,
    release: &crate::release::state::ReleaseState,
    w: Window,
    width: usize,
    theme: &Theme,
) {
    let now = app.now;
    let minutes = w.minutes(now).floor() as i64;
    let total = (w.end - w.t0).num_minutes().max(1);
    let head = match &release.soak.verdict {
        Some(SoakVerdict::Stable { .. }) => Line::styled(
            format!("Release {} declared STABLE.", release.version),
            theme.ok(),
        ),
        Some(SoakVerdict::RolledBack { method, reason }) => Line::styled(
            format!(
                "Release {} ROLLED BACK ({method}): {reason}",
                release.version
            ),
            theme.bad(),
        ),
        None if w.is_open(now) => Line::from(vec![
            Span::styled(
                format!("Soak window T+{minutes}m of {total}"),
                theme.title(),
            ),
            Span::styled(
                " · release-window thresholds in force".to_string(),
                theme.dim(),
            ),
        ]),
        None => Line::styled(
            "Soak window over: Y declares the release stable.".to_string(),
            theme.warn(),
        ),
    };
    lines.push(head);
    lines.push(Line::styled(axis(w, now, app, width), theme.dim()));
    for fired in &release.soak.triggers {
        lines.push(Line::styled(
            format!(
                "⚠ TRIGGER {} ({}) at {}",
                fired.kind.title(),
                fired.detail,
                fired.at.format("%H:%M:%S")
            ),
            theme.bad(),
        ));
    }
    if release.soak.verdict.is_none() {
        let fired: Vec<_> = release.soak.triggers.iter().map(|t| t.kind).collect();
        for (kind, since) in app
            .trigger_watch
            .holding()
            .iter()
            .filter(|(k, _)| !fired.contains(k))
        {
            let held = (now - *since).num_seconds().max(0);
            lines.push(Line::styled(
                format!(
                    "… {} for {held} s (fires at {} s)",
                    kind.title(),
                    app.config.rollback_triggers.sustain_seconds
                ),
                theme.warn(),
            ));
        }
    }
    if let Some(by) = &release.soak.auto_rollback {
        let state = if release.soak.auto_rollback_fired {
            "FIRED"
        } else {
            "armed"
        };
        lines.push(Line::styled(
            format!("auto-rollback {state} (by {by})"),
            theme.warn(),
        ));
    }
    if let Some((at, _)) = &release.soak.baseline {
        lines.push(Line::styled(
            format!("baseline captured {}", at.format("%H:%M:%S")),
            theme.dim(),
        ));
    }
    for c in soak::checkpoints(release, &app.config) {
        let due_at = w.t0 + Duration::minutes(c.at_minutes);
        let (mark, style, note) = match &c.snapshot {
            Some(s) if s.passed => ("✓", theme.ok(), "passed".to_string()),
            Some(s) => ("✗", theme.bad(), s.failures.join(", ")),
            None if release.soak.verdict.is_some() => ("-", theme.dim(), "not reached".into()),
            None if now >= due_at => ("…", theme.warn(), "checking".into()),
            // What is still to come says what it will check (short: the whole screen's
            // pane is about 70 columns).
            None => (
                "○",
                theme.dim(),
                format!(
                    "in {} · {}",
                    human_duration(due_at - now),
                    c.checks
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ),
        };
        let ack = match &c.acknowledged {
            Some((by, _)) => format!(" · ack {by}"),
            None if c.snapshot.is_some() => " · K to acknowledge".into(),
            None => String::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} T+{:<4}", c.at_minutes), style),
            Span::raw(format!("{:<26}", c.title)),
            Span::styled(format!("{note}{ack}"), theme.dim()),
        ]));
    }
}

/// `T+0 ├──●──┼──▼──┼─────┤ T+120`: checkpoints on a line, with the moment now.
fn axis(w: Window, now: chrono::DateTime<chrono::Utc>, app: &App, width: usize) -> String {
    let total = (w.end - w.t0).num_seconds().max(1) as f64;
    let label_end = format!(" T+{}", (w.end - w.t0).num_minutes());
    let span = width.saturating_sub(4 + label_end.len()).max(10);
    let mut cells: Vec<char> = vec!['─'; span];
    for c in &app.config.checkpoints {
        let x = ((c.at_minutes * 60) as f64 / total * (span - 1) as f64).round() as usize;
        cells[x.min(span - 1)] = '┼';
    }
    if now >= w.t0 {
        let x = (((now - w.t0).num_seconds() as f64 / total).min(1.0) * (span - 1) as f64).round()
            as usize;
        cells[x.min(span - 1)] = '▼';
    }
    format!("T+0 {}{label_end}", cells.into_iter().collect::<String>())
}
